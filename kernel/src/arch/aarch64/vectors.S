/*
 * EL2 exception vectors and the user register save/restore.
 *
 * While a user thread runs, SP_EL2 points at its UserContext (kernel
 * core's layout: x0-x30 at 0, SP_EL0 at 248, ELR at 256, SPSR at 264,
 * TPIDR_EL0 at 272, TPIDRRO_EL0 at 280), as seL4 does: an exception from
 * EL0 stores the registers straight there, switches to a fresh kernel
 * stack and calls into Rust (a synchronous one with ESR_EL2 and the
 * syscall number in x0 and x1). Rust leaves by `restore_user`, which loads
 * the (possibly different) thread's registers, points SP_EL2 at them and
 * returns with eret; `restore_user_same` does so for the thread that
 * entered, whose EL0 system registers the kernel left alone. The kernel
 * never runs with interrupts unmasked except in the idle loop, whose
 * interrupts arrive on the current-EL vector and restart from a fresh
 * stack too.
 */

.macro SAVE_USER
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x1, sp_el0
    stp x30, x1, [sp, #240]
    mrs x1, elr_el2
    mrs x2, spsr_el2
    stp x1, x2, [sp, #256]
    mrs x1, tpidr_el0
    str x1, [sp, #272]
    /* TPIDRRO_EL0 is read-only at EL0: the context's copy is current. */
    ldr x1, =__stack_top
    mov sp, x1
.endm

.macro ENTRY_FROM_USER handler
    .balign 0x80
    SAVE_USER
    bl \handler
    b .
.endm

/* A synchronous exception: the handler gets ESR_EL2 and x7 (the syscall
 * number, still in its register). */
.macro ENTRY_FROM_USER_SYNC handler
    .balign 0x80
    SAVE_USER
    mrs x0, esr_el2
    mov x1, x7
    bl \handler
    b .
.endm

.macro ENTRY_FROM_KERNEL handler
    .balign 0x80
    ldr x9, =__stack_top
    mov sp, x9
    bl \handler
    b .
.endm

.section .text.vectors, "ax"
.balign 0x800
.global el2_vectors
el2_vectors:
    /* Current EL with SP_EL0: never used. */
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    /* Current EL with SP_ELx: the kernel itself; IRQs only while idle. */
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL idle_irq
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    /* Lower EL, AArch64: user threads. */
    ENTRY_FROM_USER_SYNC user_sync
    ENTRY_FROM_USER user_irq
    ENTRY_FROM_USER user_irq
    ENTRY_FROM_USER user_serror
    /* Lower EL, AArch32: not supported (HCR_EL2.RW = 1). */
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception
    ENTRY_FROM_KERNEL kernel_exception

/* restore_user(ctx: *const UserContext) -> ! */
.section .text
.global restore_user
restore_user:
    mov sp, x0
    ldp x1, x2, [sp, #248]
    msr sp_el0, x1
    msr elr_el2, x2
    ldp x1, x2, [sp, #264]
    msr spsr_el2, x1
    msr tpidr_el0, x2
    ldr x1, [sp, #280]
    msr tpidrro_el0, x1
    b 1f

/* restore_user_same(ctx: *const UserContext) -> !: the thread that entered
 * the kernel; SP_EL0, TPIDR_EL0 and TPIDRRO_EL0 still hold its values. */
.global restore_user_same
restore_user_same:
    mov sp, x0
    ldp x1, x2, [sp, #256]
    msr elr_el2, x1
    msr spsr_el2, x2
1:  ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    ldr x30, [sp, #240]
    ldp x0, x1, [sp, #0]
    eret

/* fpu_save(state: *mut FpuState), fpu_restore(state: *const FpuState): the
 * kernel is built soft-float, so these are the only FP instructions in it. */
.arch_extension fp
.arch_extension simd
.global fpu_save
fpu_save:
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    mrs x1, fpsr
    mrs x2, fpcr
    add x0, x0, #512
    stp x1, x2, [x0]
    ret

.global fpu_restore
fpu_restore:
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    add x0, x0, #512
    ldp x1, x2, [x0]
    msr fpsr, x1
    msr fpcr, x2
    ret

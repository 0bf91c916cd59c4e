/*
 * EL2 exception vectors and the user register save/restore.
 *
 * TPIDR_EL2 holds the address of the running thread's UserContext (kernel
 * core's layout: x0-x30 at 0, SP_EL0 at 248, ELR at 256, SPSR at 264,
 * TPIDR_EL0 at 272, TPIDRRO_EL0 at 280). An exception from EL0 saves the
 * registers there, switches to a fresh kernel stack and calls into Rust;
 * Rust leaves by `restore_user`, which loads the (possibly different)
 * thread's registers and returns with eret. The kernel never runs with
 * interrupts unmasked except in the idle loop, whose interrupts arrive on the
 * current-EL vector and restart from a fresh stack too.
 */

.macro SAVE_USER
    str x0, [sp, #-16]!
    mrs x0, tpidr_el2
    stp x1, x2, [x0, #8]
    stp x3, x4, [x0, #24]
    stp x5, x6, [x0, #40]
    stp x7, x8, [x0, #56]
    stp x9, x10, [x0, #72]
    stp x11, x12, [x0, #88]
    stp x13, x14, [x0, #104]
    stp x15, x16, [x0, #120]
    stp x17, x18, [x0, #136]
    stp x19, x20, [x0, #152]
    stp x21, x22, [x0, #168]
    stp x23, x24, [x0, #184]
    stp x25, x26, [x0, #200]
    stp x27, x28, [x0, #216]
    stp x29, x30, [x0, #232]
    ldr x1, [sp], #16
    str x1, [x0, #0]
    mrs x1, sp_el0
    mrs x2, elr_el2
    stp x1, x2, [x0, #248]
    mrs x1, spsr_el2
    mrs x2, tpidr_el0
    stp x1, x2, [x0, #264]
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
    ENTRY_FROM_USER user_sync
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
    msr tpidr_el2, x0
    ldp x1, x2, [x0, #248]
    msr sp_el0, x1
    msr elr_el2, x2
    ldp x1, x2, [x0, #264]
    msr spsr_el2, x1
    msr tpidr_el0, x2
    ldr x1, [x0, #280]
    msr tpidrro_el0, x1
    ldp x2, x3, [x0, #16]
    ldp x4, x5, [x0, #32]
    ldp x6, x7, [x0, #48]
    ldp x8, x9, [x0, #64]
    ldp x10, x11, [x0, #80]
    ldp x12, x13, [x0, #96]
    ldp x14, x15, [x0, #112]
    ldp x16, x17, [x0, #128]
    ldp x18, x19, [x0, #144]
    ldp x20, x21, [x0, #160]
    ldp x22, x23, [x0, #176]
    ldp x24, x25, [x0, #192]
    ldp x26, x27, [x0, #208]
    ldp x28, x29, [x0, #224]
    ldr x30, [x0, #240]
    ldp x0, x1, [x0, #0]
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

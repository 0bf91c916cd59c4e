//! aarch64 at EL2 (no VHE): entry, exception level, power control.

use core::arch::asm;

core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    msr daifset, #0xf",
    "    ldr x1, =__stack_top",
    "    mov sp, x1",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "0:  cmp x1, x2",
    "    b.hs 1f",
    "    str xzr, [x1], #8",
    "    b 0b",
    "1:  bl kernel_entry",
    "2:  wfe",
    "    b 2b",
);

/// Entered from `_start` with the boot-info address bootstrap passed in x0.
#[unsafe(no_mangle)]
extern "C" fn kernel_entry(bootinfo: u64) -> ! {
    if bootinfo == 0 || !bootinfo.is_multiple_of(8) {
        power_off();
    }
    // SAFETY: bootstrap passes the address of a boot-info record it wrote
    // into reserved RAM and never touches again; `boot` checks its magic,
    // version and size before using it.
    let bi = unsafe { &*(bootinfo as *const bootimage::handoff::BootInfo) };
    crate::boot(bi)
}

/// The exception level the kernel runs at.
pub fn current_el() -> u64 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) el) };
    (el >> 2) & 3
}

/// PSCI function ID of `SYSTEM_OFF` (SMCCC, 32-bit).
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

/// Powers the machine off through PSCI.
pub fn power_off() -> ! {
    // SAFETY: an SMC to the PSCI firmware with a function it defines; it
    // does not return.
    unsafe { asm!("smc #0", in("x0") PSCI_SYSTEM_OFF, options(noreturn)) }
}

//! The kernel's tick: the EL2 physical timer (CNTHP), one interrupt per time
//! slice tick.

use core::arch::asm;

/// Ticks per second.
pub const HZ: u64 = 100;

fn frequency() -> u64 {
    let f: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) f) };
    f
}

/// Arms the timer for the next tick.
pub fn rearm() {
    let ticks = frequency() / HZ;
    // SAFETY: programs the EL2 physical timer, which only the kernel uses.
    unsafe {
        asm!("msr cnthp_tval_el2, {}", "msr cnthp_ctl_el2, {}", "isb", in(reg) ticks, in(reg) 1u64)
    };
}

/// Lets user threads read the counters (CNTPCT/CNTVCT) directly.
pub fn init() {
    // SAFETY: CNTHCTL_EL2.EL1PCTEN|EL1PCEN let EL1/EL0 use the physical
    // counter; CNTKCTL_EL1.EL0PCTEN|EL0VCTEN let EL0 read both counters.
    unsafe {
        asm!(
            "msr cnthctl_el2, {h}",
            "msr cntkctl_el1, {k}",
            "msr cntvoff_el2, xzr",
            "isb",
            h = in(reg) 0b11u64,
            k = in(reg) 0b11u64,
        )
    };
    rearm();
}

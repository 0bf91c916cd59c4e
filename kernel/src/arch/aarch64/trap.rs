//! Exceptions, as the vectors deliver them to Rust, turned into kernel core
//! events. Each handler finishes with `leave`, which runs whatever thread
//! the core made current.

use super::{kernel, leave};
use core::arch::asm;
use sel4_sys::Syscall;
use sel4_sys::vcpu::{MAINTENANCE_IRQ, VTIMER_IRQ};

/// ESR_EL2 exception classes taken from EL0.
const EC_FP: u64 = 0x07;
const EC_SVC64: u64 = 0x15;
const EC_IABT_LOWER: u64 = 0x20;
const EC_DABT_LOWER: u64 = 0x24;

fn esr() -> u64 {
    let v: u64;
    // SAFETY: reading a syndrome register has no side effects.
    unsafe { asm!("mrs {}, esr_el2", out(reg) v) };
    v
}

fn far() -> u64 {
    let v: u64;
    // SAFETY: as above.
    unsafe { asm!("mrs {}, far_el2", out(reg) v) };
    v
}

/// The guest-physical address of a stage-2 fault: HPFAR_EL2's page and
/// FAR_EL2's offset in it.
fn fault_ipa() -> u64 {
    let hpfar: u64;
    // SAFETY: reading a syndrome register has no side effects.
    unsafe { asm!("mrs {}, hpfar_el2", out(reg) hpfar) };
    ((hpfar & 0x0000_0fff_ffff_fff0) << 8) | (far() & 0xfff)
}

/// A synchronous exception from a user thread.
#[unsafe(no_mangle)]
extern "C" fn user_sync(esr: u64, number: u64) -> ! {
    let k = kernel();
    let ec = esr >> 26;
    // System calls first: they are most of the entries.
    if ec == EC_SVC64 {
        let fast = match number as i64 {
            n if n == Syscall::Call as i64 => k.fastpath_call(),
            n if n == Syscall::ReplyRecv as i64 => k.fastpath_reply_recv(),
            _ => false,
        };
        if !fast {
            k.handle_syscall(number)
        }
        leave()
    }
    match ec {
        EC_FP => {
            // The thread's first FP use since another thread's: load its state.
            let fpu = k.current_fpu();
            k.arch().fpu_take(fpu);
        }
        EC_IABT_LOWER | EC_DABT_LOWER => {
            // A guest's fault is reported at its guest-physical address;
            // a native thread's stage 1 is off, so its FAR is one already.
            let addr = if k.current_vcpu().is_null() { far() } else { fault_ipa() };
            k.handle_vm_fault(addr, ec == EC_IABT_LOWER, esr)
        }
        _ if !k.current_vcpu().is_null() => k.handle_vcpu_fault(esr),
        _ => k.handle_user_exception(ec, esr & 0x1ff_ffff),
    }
    leave()
}

/// Handles every pending interrupt: the tick here, the rest in the core.
fn irqs() {
    let k = kernel();
    while let Some(irq) = k.arch().gic.acknowledge() {
        if irq == k.arch().timer_irq {
            super::timer::rearm();
            k.handle_timer_tick();
        } else if irq == MAINTENANCE_IRQ && k.arch().vcpu.list_regs() > 0 {
            let index = k.arch().vcpu.maintenance();
            k.handle_vgic_maintenance(index);
        } else if irq == VTIMER_IRQ && k.arch().vcpu.list_regs() > 0 {
            // Masked until the VMM's AckVPPI: it stays raised until the
            // guest handles the timer.
            k.arch().gic.set_enabled(VTIMER_IRQ, false);
            k.handle_vppi_event(VTIMER_IRQ);
        } else {
            k.handle_irq(irq);
        }
        k.arch().gic.end_of_interrupt(irq);
    }
}

/// An interrupt while a user thread ran.
#[unsafe(no_mangle)]
extern "C" fn user_irq() -> ! {
    irqs();
    leave()
}

/// An interrupt while idle.
#[unsafe(no_mangle)]
extern "C" fn idle_irq() -> ! {
    irqs();
    leave()
}

/// An SError from a user thread: an asynchronous external abort, reported
/// as a user exception of that thread.
#[unsafe(no_mangle)]
extern "C" fn user_serror() -> ! {
    let k = kernel();
    let esr = esr();
    if k.current_vcpu().is_null() {
        k.handle_user_exception(esr >> 26, esr & 0x1ff_ffff);
    } else {
        k.handle_vcpu_fault(esr);
    }
    leave()
}

/// An exception taken from the kernel itself: a kernel bug. Report and stop.
#[unsafe(no_mangle)]
extern "C" fn kernel_exception() -> ! {
    let (esr, elr): (u64, u64);
    // SAFETY: reading syndrome registers has no side effects.
    unsafe { asm!("mrs {}, esr_el2", "mrs {}, elr_el2", out(reg) esr, out(reg) elr) };
    crate::kprintln!(
        "kernel: fatal exception in the kernel: ESR {esr:#x} at {elr:#x}, FAR {:#x}",
        far()
    );
    super::power_off()
}

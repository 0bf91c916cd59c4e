//! `svc #0` with the register convention of `sel4_sys::syscall`: number in
//! `x7`, capability in `x0`, message info in `x1`, message registers 0-3 in
//! `x2`-`x5`; the kernel answers in the same registers.
//!
//! The table leaves `x6` and `x7` unspecified on the way out, so they are
//! declared clobbered. Every other register, FP/SIMD included, is kept by
//! the kernel.

use super::Regs;
use crate::{IpcBuffer, sys::Syscall};

/// Enters the kernel.
///
/// # Safety
///
/// `ipc_buffer` is null or this thread's IPC buffer, which the kernel may
/// read and write during the call and which nothing else borrows meanwhile.
/// Syscalls that transfer a message past the fourth word, or caps, need it.
#[inline(always)]
pub(crate) unsafe fn syscall(number: Syscall, regs: Regs, ipc_buffer: *mut IpcBuffer) -> Regs {
    let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5] = regs;
    // SAFETY: the kernel changes only x0-x7 (declared) and the IPC buffer,
    // whose pointer is passed in x8 so that the compiler sees the access
    // (the kernel ignores x8); the caller guarantees that buffer is ours
    // alone. The kernel does not touch this thread's stack.
    unsafe {
        core::arch::asm!(
            "svc #0",
            inout("x0") x0,
            inout("x1") x1,
            inout("x2") x2,
            inout("x3") x3,
            inout("x4") x4,
            inout("x5") x5,
            lateout("x6") _,
            inout("x7") number as i64 => _,
            in("x8") ipc_buffer,
            options(nostack),
        );
    }
    [x0, x1, x2, x3, x4, x5]
}

/// TPIDR_EL0, the thread pointer (see `crate::state`).
#[inline(always)]
pub(crate) fn thread_pointer() -> crate::Word {
    let tp: crate::Word;
    // SAFETY: reading TPIDR_EL0 has no side effects and is allowed at EL0.
    unsafe { core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nomem, nostack)) };
    tp
}

//! The one seam between the portable API and the machine: [`syscall`]
//! enters the kernel with registers `x0`-`x5` and returns them as the
//! kernel left them.
//!
//! On aarch64 it is `svc #0` (the `aarch64` module). Elsewhere there is no
//! kernel: host builds compile the whole API so the portable parts can be
//! unit-tested, and under `cargo test` syscalls go to a handler the test
//! installs (the `host` module), which is how the invocation stubs' argument
//! layouts are checked against the ABI.

use crate::{Word, sys::Syscall};

/// Registers `x0`-`x5` on the way into and out of the kernel.
pub(crate) type Regs = [Word; 6];

#[cfg(all(target_arch = "aarch64", not(test)))]
mod aarch64;
#[cfg(all(target_arch = "aarch64", not(test)))]
pub(crate) use aarch64::{syscall, thread_pointer};

#[cfg(any(not(target_arch = "aarch64"), test))]
mod host;
#[cfg(test)]
pub(crate) use host::mock;
#[cfg(any(not(target_arch = "aarch64"), test))]
pub(crate) use host::syscall;

/// The thread pointer: no threads but the first on the host.
#[cfg(all(not(target_arch = "aarch64"), not(test)))]
pub(crate) fn thread_pointer() -> Word {
    0
}

/// Checks, at compile time, that `syscall` has the signature the rest of
/// the crate expects on every architecture.
const _: unsafe fn(Syscall, Regs, *mut crate::IpcBuffer) -> Regs = syscall;

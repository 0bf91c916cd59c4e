//! Syscalls where there is no kernel. Outside tests they panic; under
//! `cargo test` they go to the handler the current test thread installed
//! with [`mock::install`], which sees the registers and the IPC buffer as
//! the kernel would and answers with the registers to return.

use super::Regs;
use crate::{IpcBuffer, sys::Syscall};

/// Enters the (absent) kernel.
///
/// # Safety
///
/// As on aarch64: `ipc_buffer` is null or this thread's IPC buffer, not
/// borrowed elsewhere during the call.
#[cfg_attr(not(test), allow(unused_variables))]
pub(crate) unsafe fn syscall(number: Syscall, regs: Regs, ipc_buffer: *mut IpcBuffer) -> Regs {
    #[cfg(test)]
    {
        // SAFETY: the caller guarantees the buffer is null or ours alone.
        mock::dispatch(number, regs, unsafe { ipc_buffer.as_mut() })
    }
    #[cfg(not(test))]
    panic!("{number:?}: no kernel here (build for aarch64-unknown-none)")
}

#[cfg(test)]
pub(crate) mod mock {
    //! A stand-in kernel for unit tests.

    use std::boxed::Box;
    use std::cell::RefCell;

    use super::Regs;
    use crate::{IpcBuffer, sys::Syscall};

    type Handler = Box<dyn FnMut(Syscall, Regs, Option<&mut IpcBuffer>) -> Regs>;

    std::thread_local! {
        static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
    }

    /// Makes `handler` the kernel of the current thread.
    pub(crate) fn install(
        handler: impl FnMut(Syscall, Regs, Option<&mut IpcBuffer>) -> Regs + 'static,
    ) {
        HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
    }

    pub(super) fn dispatch(number: Syscall, regs: Regs, buf: Option<&mut IpcBuffer>) -> Regs {
        HANDLER.with(|h| {
            let mut h = h.borrow_mut();
            let handler = h.as_mut().expect("syscall without a mock kernel installed");
            handler(number, regs, buf)
        })
    }
}

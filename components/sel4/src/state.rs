//! Where the current thread's IPC buffer is.
//!
//! The runtime names it once ([`set_ipc_buffer`]); every syscall that
//! carries a message then borrows it through [`with_ipc_buffer_mut`]. The
//! borrows are counted like a `RefCell`'s, so a nested mutable borrow (a
//! syscall made inside `with_ipc_buffer_mut`) panics instead of aliasing.
//!
//! One slot serves the program's first thread. A program that starts more
//! threads gives each a [`ThreadSlot`] of its own, named by the thread's
//! TPIDR_EL0 (the aarch64 thread pointer; rust-sel4 keeps the buffer in a
//! `#[thread_local]`, which lives there too): a thread whose TPIDR_EL0 is
//! not 0 uses the slot it points at. (Under `cargo test` the slot is per
//! test thread, so tests can run in parallel.)

use core::ptr;
use core::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

use crate::IpcBuffer;

/// The buffer and its borrow count: `n > 0` shared borrows, `-1` one
/// mutable borrow.
struct IpcBufferSlot {
    ptr: AtomicPtr<IpcBuffer>,
    borrows: AtomicIsize,
}

impl IpcBufferSlot {
    const fn new() -> Self {
        IpcBufferSlot { ptr: AtomicPtr::new(ptr::null_mut()), borrows: AtomicIsize::new(0) }
    }
}

/// The IPC-buffer slot of a thread other than the program's first: put
/// its address ([`ThreadSlot::thread_pointer`]) in the thread's TPIDR_EL0
/// when starting it (`UserContext::tpidr_el0_mut`), then the thread calls
/// [`set_ipc_buffer`] as the first thread does.
// Under `cargo test` slots are thread-locals and this one goes unread.
#[cfg_attr(test, allow(dead_code))]
pub struct ThreadSlot(IpcBufferSlot);

impl ThreadSlot {
    pub const fn new() -> Self {
        ThreadSlot(IpcBufferSlot::new())
    }

    /// The value for the thread's TPIDR_EL0.
    pub fn thread_pointer(&'static self) -> crate::Word {
        self as *const ThreadSlot as crate::Word
    }
}

impl Default for ThreadSlot {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(not(test))]
static SLOT: IpcBufferSlot = IpcBufferSlot::new();

#[cfg(not(test))]
fn with_slot<R>(f: impl FnOnce(&IpcBufferSlot) -> R) -> R {
    let tp = crate::arch::thread_pointer();
    if tp == 0 {
        return f(&SLOT);
    }
    // SAFETY: a thread's TPIDR_EL0 is 0 unless whoever started it set it
    // to `ThreadSlot::thread_pointer` of a `'static` slot (see ThreadSlot);
    // the kernel keeps the register per thread.
    f(unsafe { &(*(tp as *const ThreadSlot)).0 })
}

#[cfg(test)]
std::thread_local! {
    static SLOT: IpcBufferSlot = const { IpcBufferSlot::new() };
}

#[cfg(test)]
fn with_slot<R>(f: impl FnOnce(&IpcBufferSlot) -> R) -> R {
    SLOT.with(f)
}

/// Names the current thread's IPC buffer.
///
/// # Panics
///
/// While the previous buffer is borrowed.
pub fn set_ipc_buffer(ipc_buffer: &'static mut IpcBuffer) {
    with_slot(|slot| {
        assert_eq!(slot.borrows.load(Ordering::Acquire), 0, "IPC buffer in use");
        slot.ptr.store(ipc_buffer, Ordering::Release);
    });
}

/// Whether [`set_ipc_buffer`] was called.
pub fn ipc_buffer_is_set() -> bool {
    with_slot(|slot| !slot.ptr.load(Ordering::Acquire).is_null())
}

/// Undoes one borrow when dropped.
struct Release<'a>(&'a AtomicIsize, isize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::Release);
    }
}

fn buffer(slot: &IpcBufferSlot) -> *mut IpcBuffer {
    let p = slot.ptr.load(Ordering::Acquire);
    assert!(!p.is_null(), "no IPC buffer: call sel4::set_ipc_buffer first");
    p
}

/// Runs `f` on the current thread's IPC buffer.
///
/// # Panics
///
/// If no buffer is set, or it is borrowed mutably.
pub fn with_ipc_buffer<T>(f: impl FnOnce(&IpcBuffer) -> T) -> T {
    with_slot(|slot| {
        let p = buffer(slot);
        let n = slot.borrows.fetch_add(1, Ordering::Acquire);
        let _release = Release(&slot.borrows, 1);
        assert!(n >= 0, "IPC buffer already borrowed mutably");
        // SAFETY: `p` came from the `&'static mut` given to
        // `set_ipc_buffer`; the count guarantees no mutable borrow is live.
        f(unsafe { &*p })
    })
}

/// Runs `f` on the current thread's IPC buffer, mutably.
///
/// # Panics
///
/// If no buffer is set, or it is borrowed.
pub fn with_ipc_buffer_mut<T>(f: impl FnOnce(&mut IpcBuffer) -> T) -> T {
    with_slot(|slot| {
        let p = buffer(slot);
        let taken = slot.borrows.compare_exchange(0, -1, Ordering::Acquire, Ordering::Relaxed);
        assert!(taken.is_ok(), "IPC buffer already borrowed");
        let _release = Release(&slot.borrows, -1);
        // SAFETY: `p` came from the `&'static mut` given to
        // `set_ipc_buffer`; the count guarantees this is the only borrow.
        f(unsafe { &mut *p })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_are_counted() {
        set_ipc_buffer(Box::leak(Box::default()));
        assert!(ipc_buffer_is_set());
        with_ipc_buffer_mut(|b| b.set_user_data(3));
        let n = with_ipc_buffer(|a| with_ipc_buffer(|b| a.user_data() + b.user_data()));
        assert_eq!(n, 6);
        with_slot(|s| assert_eq!(s.borrows.load(Ordering::Relaxed), 0));
    }

    #[test]
    #[should_panic(expected = "already borrowed")]
    fn nested_mutable_borrow_panics() {
        set_ipc_buffer(Box::leak(Box::default()));
        with_ipc_buffer(|_| with_ipc_buffer_mut(|_| ()));
    }

    #[test]
    #[should_panic(expected = "no IPC buffer")]
    fn unset_buffer_panics() {
        with_ipc_buffer(|_| ());
    }
}

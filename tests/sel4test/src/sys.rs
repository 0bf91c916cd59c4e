//! System calls on an explicit IPC buffer.
//!
//! The `sel4` crate keeps one IPC buffer per program, which suits the root
//! task but not the helper threads the tests start in its address space:
//! each has its own buffer, and a helper may run while the root task is in
//! the middle of a syscall. An [`Ipc`] names one thread's buffer and makes
//! the IPC syscalls with it, libsel4 style: message registers 0-3 travel in
//! `x2`-`x5` and are copied from and back into the buffer, the rest stay in
//! the buffer. Every thread of the suite does its endpoint IPC through an
//! `Ipc` (the root task too, so that it never blocks while holding a borrow
//! of the `sel4` crate's buffer); object invocations of the root task go
//! through the `sel4` crate.

use core::arch::asm;
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

use sel4_sys::{InvocationLabel, IpcBuffer, MessageInfo, Syscall};

/// Registers x0-x5 in and out of a syscall.
pub type Regs = [u64; 6];

/// Enters the kernel with syscall `number` (any value: unknown numbers are
/// how the suite raises UnknownSyscall faults).
///
/// # Safety
///
/// The kernel may write the calling thread's IPC buffer; nothing may hold a
/// Rust reference into that buffer across the call.
#[inline(always)]
pub unsafe fn raw_syscall(number: i64, regs: Regs) -> Regs {
    let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5] = regs;
    // SAFETY: the kernel changes x0-x7 (declared) and possibly the IPC
    // buffer, which is ordinary memory the caller vouches for; the asm is
    // not marked `nomem`, so the compiler assumes memory may change.
    unsafe {
        asm!(
            "svc #0",
            inout("x0") x0,
            inout("x1") x1,
            inout("x2") x2,
            inout("x3") x3,
            inout("x4") x4,
            inout("x5") x5,
            lateout("x6") _,
            inout("x7") number => _,
            options(nostack),
        );
    }
    [x0, x1, x2, x3, x4, x5]
}

/// A received message: the sender's badge and the message info.
#[derive(Clone, Copy, Debug)]
pub struct Msg {
    pub badge: u64,
    pub info: MessageInfo,
}

impl Msg {
    pub fn label(&self) -> u64 {
        self.info.label()
    }

    pub fn length(&self) -> u64 {
        self.info.length()
    }

    pub fn extra_caps(&self) -> u64 {
        self.info.extra_caps()
    }

    pub fn caps_unwrapped(&self) -> u64 {
        self.info.caps_unwrapped()
    }
}

/// One thread's IPC buffer and the syscalls made with it.
#[derive(Clone, Copy, Debug)]
pub struct Ipc {
    buf: *mut IpcBuffer,
}

impl Ipc {
    /// # Safety
    ///
    /// `buf` is the IPC buffer of every thread that uses this value (as
    /// configured in its TCB), mapped for as long as the value is used, and
    /// only ever accessed through `Ipc` values (and by the kernel).
    pub const unsafe fn new(buf: *mut IpcBuffer) -> Ipc {
        Ipc { buf }
    }

    pub fn addr(&self) -> u64 {
        self.buf as u64
    }

    /// Message register `i` (< 120).
    pub fn mr(&self, i: usize) -> u64 {
        let i = i.min(sel4_sys::message::MSG_MAX_LENGTH - 1);
        // SAFETY: `new`'s caller vouched for the buffer; volatile because
        // the kernel writes it behind the compiler's back.
        unsafe { read_volatile(addr_of!((*self.buf).msg[i])) }
    }

    pub fn set_mr(&self, i: usize, value: u64) {
        let i = i.min(sel4_sys::message::MSG_MAX_LENGTH - 1);
        // SAFETY: as for `mr`.
        unsafe { write_volatile(addr_of_mut!((*self.buf).msg[i]), value) }
    }

    /// Sets message registers 0.. to `values`.
    pub fn set_mrs(&self, values: &[u64]) {
        for (i, v) in values.iter().enumerate() {
            self.set_mr(i, *v);
        }
    }

    /// Extra cap `i` (< 3) to send.
    pub fn set_cap(&self, i: usize, cptr: u64) {
        let i = i.min(sel4_sys::message::MSG_MAX_EXTRA_CAPS - 1);
        // SAFETY: as for `mr`.
        unsafe { write_volatile(addr_of_mut!((*self.buf).caps_or_badges[i]), cptr) }
    }

    /// The badge of unwrapped cap `i` of the last message received.
    pub fn badge(&self, i: usize) -> u64 {
        let i = i.min(sel4_sys::message::MSG_MAX_EXTRA_CAPS - 1);
        // SAFETY: as for `mr`.
        unsafe { read_volatile(addr_of!((*self.buf).caps_or_badges[i])) }
    }

    /// Where a received cap goes: `index` resolved through `depth` bits of
    /// the CNode `cnode` (a cptr in the receiver's CSpace).
    pub fn set_recv_slot(&self, cnode: u64, index: u64, depth: u64) {
        // SAFETY: as for `mr`.
        unsafe {
            write_volatile(addr_of_mut!((*self.buf).receive_cnode), cnode);
            write_volatile(addr_of_mut!((*self.buf).receive_index), index);
            write_volatile(addr_of_mut!((*self.buf).receive_depth), depth);
        }
    }

    /// Enters the kernel with the message in the buffer; for the syscalls
    /// that receive, the message registers that come back in x2-x5 are
    /// stored into the buffer.
    fn enter(&self, number: Syscall, cptr: u64, info: MessageInfo) -> Msg {
        let regs = [cptr, info.0, self.mr(0), self.mr(1), self.mr(2), self.mr(3)];
        // SAFETY: the buffer is this thread's (`new`'s contract) and no
        // reference into it exists.
        let [x0, x1, out @ ..] = unsafe { raw_syscall(number as i64, regs) };
        let receives =
            matches!(number, Syscall::Call | Syscall::Recv | Syscall::NBRecv | Syscall::ReplyRecv);
        if receives {
            for (i, v) in out.iter().enumerate() {
                self.set_mr(i, *v);
            }
        }
        Msg { badge: x0, info: MessageInfo(x1) }
    }

    pub fn send(&self, cptr: u64, info: MessageInfo) {
        self.enter(Syscall::Send, cptr, info);
    }

    pub fn nb_send(&self, cptr: u64, info: MessageInfo) {
        self.enter(Syscall::NBSend, cptr, info);
    }

    pub fn call(&self, cptr: u64, info: MessageInfo) -> Msg {
        self.enter(Syscall::Call, cptr, info)
    }

    pub fn recv(&self, cptr: u64) -> Msg {
        self.enter(Syscall::Recv, cptr, MessageInfo(0))
    }

    pub fn nb_recv(&self, cptr: u64) -> Msg {
        self.enter(Syscall::NBRecv, cptr, MessageInfo(0))
    }

    pub fn reply(&self, info: MessageInfo) {
        self.enter(Syscall::Reply, 0, info);
    }

    pub fn reply_recv(&self, cptr: u64, info: MessageInfo) -> Msg {
        self.enter(Syscall::ReplyRecv, cptr, info)
    }

    /// Invokes a kernel object: a `Call` with `args` as the message and
    /// `caps` as extra caps. The reply's label is 0 or an error code, its
    /// details in the message registers.
    pub fn invoke(&self, cptr: u64, label: InvocationLabel, args: &[u64], caps: &[u64]) -> Msg {
        self.invoke_len(cptr, label as u64, args, args.len() as u64, caps)
    }

    /// [`invoke`](Self::invoke) with any label and a length that may differ
    /// from the number of arguments written (for truncated messages).
    pub fn invoke_len(&self, cptr: u64, label: u64, args: &[u64], len: u64, caps: &[u64]) -> Msg {
        self.set_mrs(args);
        for (i, c) in caps.iter().enumerate() {
            self.set_cap(i, *c);
        }
        self.call(cptr, MessageInfo::new(label, 0, caps.len() as u64, len))
    }
}

/// `seL4_Signal`.
pub fn signal(cptr: u64) {
    // SAFETY: Send on a notification transfers no message.
    unsafe { raw_syscall(Syscall::Send as i64, [cptr, 0, 0, 0, 0, 0]) };
}

/// `seL4_Wait`: the badge bits received.
pub fn wait(cptr: u64) -> u64 {
    // SAFETY: as for `signal`; a Recv on a notification writes no buffer.
    unsafe { raw_syscall(Syscall::Recv as i64, [cptr, 0, 0, 0, 0, 0])[0] }
}

/// `seL4_Poll`: the badge bits pending (0 for none).
pub fn poll(cptr: u64) -> u64 {
    // SAFETY: as for `wait`.
    unsafe { raw_syscall(Syscall::NBRecv as i64, [cptr, 0, 0, 0, 0, 0])[0] }
}

/// `seL4_Yield`.
pub fn yield_now() {
    // SAFETY: Yield transfers nothing.
    unsafe { raw_syscall(Syscall::Yield as i64, [0; 6]) };
}

/// The virtual counter (`CNTVCT_EL0`), which EL0 may read.
pub fn now() -> u64 {
    let t: u64;
    // SAFETY: reads a system register the kernel lets EL0 read.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) t, options(nomem, nostack)) };
    t
}

/// Counter ticks per second (`CNTFRQ_EL0`).
pub fn frequency() -> u64 {
    let f: u64;
    // SAFETY: as for `now`.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) f, options(nomem, nostack)) };
    f.max(1)
}

/// Counter ticks in `ms` milliseconds.
pub fn ticks_ms(ms: u64) -> u64 {
    frequency() / 1000 * ms
}

//! Threads: the TCB object, its saved registers, its states, and the
//! endpoint/notification queues threads wait in (seL4's `tcb_t`,
//! `thread_state_t`, `tcbEPAppend`/`tcbEPDequeue`).
//!
//! A TCB object is 2 KiB: its own slots first (CSpace root, VSpace root,
//! IPC buffer frame, reply master, caller), 64 bytes each, then the [`Tcb`]
//! at [`TCB_OFFSET`]. A thread cap holds the `Tcb`'s address; the slots are
//! found by subtracting the offset.
//!
//! The exception entry and exit code saves and restores [`UserContext`]
//! (layout fixed, checked below) and [`FpuState`] directly.

use crate::cap::SlotRef;
use crate::fault::Fault;
use sel4_sys::object::{SLOT_BITS, TCB_BITS};

/// A thread's integer registers as the exception entry code saves them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    /// x0-x30.
    pub regs: [u64; 31],
    /// SP_EL0.
    pub sp: u64,
    /// The address the thread resumes at (ELR): after a `svc`, the
    /// instruction following it.
    pub pc: u64,
    /// SPSR: the thread's PSTATE (EL0t, DAIF clear, plus NZCV).
    pub spsr: u64,
    /// The thread-local storage base.
    pub tpidr_el0: u64,
    /// The read-only thread ID register.
    pub tpidrro_el0: u64,
}

const _: () = {
    assert!(core::mem::offset_of!(UserContext, regs) == 0);
    assert!(core::mem::offset_of!(UserContext, sp) == 248);
    assert!(core::mem::offset_of!(UserContext, pc) == 256);
    assert!(core::mem::offset_of!(UserContext, spsr) == 264);
    assert!(core::mem::offset_of!(UserContext, tpidr_el0) == 272);
    assert!(core::mem::offset_of!(UserContext, tpidrro_el0) == 280);
};

/// A thread's FP/SIMD registers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpuState {
    /// q0-q31.
    pub q: [u128; 32],
    /// Status register.
    pub fpsr: u64,
    /// Control register.
    pub fpcr: u64,
}

/// Thread states (seL4's `_thread_state`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreadState {
    /// Not running and not waiting; resumed only by `TCB Resume`.
    #[default]
    Inactive = 0,
    /// Runnable; continues at its saved `pc`.
    Running = 1,
    /// Runnable; redoes the system call it was in (continues at its
    /// restart address).
    Restart = 2,
    /// Waiting in an endpoint's queue to receive.
    BlockedOnReceive = 3,
    /// Waiting in an endpoint's queue to send (or call).
    BlockedOnSend = 4,
    /// Waiting for the reply to a call or a fault message.
    BlockedOnReply = 5,
    /// Waiting on a notification.
    BlockedOnNotification = 6,
    /// The idle thread.
    Idle = 7,
}

/// Slots of a TCB object, in order.
pub(crate) const TCB_CTABLE: u64 = 0;
pub(crate) const TCB_VTABLE: u64 = 1;
pub(crate) const TCB_BUFFER: u64 = 2;
pub(crate) const TCB_REPLY: u64 = 3;
pub(crate) const TCB_CALLER: u64 = 4;
/// Number of slots of a TCB object.
pub(crate) const TCB_CNODE_ENTRIES: u64 = 5;
/// Offset of the [`Tcb`] in a TCB object: right after its slots.
pub const TCB_OFFSET: u64 = TCB_CNODE_ENTRIES << SLOT_BITS;
/// Length of a thread's diagnostic name.
pub const TCB_NAME_LENGTH: usize = 16;

/// A thread control block.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Tcb {
    /// Saved integer registers.
    pub context: UserContext,
    /// Saved FP/SIMD registers.
    pub fpu: FpuState,
    /// Scheduling state.
    pub state: ThreadState,
    /// Whether the thread is in a ready queue.
    pub queued: bool,
    /// Scheduling priority, 0-255.
    pub priority: u8,
    /// Maximum controlled priority: the highest priority this thread may
    /// give itself or others.
    pub mcp: u8,
    /// Scheduling domain (always 0).
    pub domain: u8,
    /// Blocking details: what it waits on, and for a sender the badge and
    /// rights of the cap it sent through, and whether it called.
    pub blocking_can_grant: bool,
    /// See `blocking_can_grant`.
    pub blocking_can_grant_reply: bool,
    /// See `blocking_can_grant`.
    pub blocking_is_call: bool,
    /// The endpoint or notification waited on.
    pub blocking_object: u64,
    /// The badge of the cap a waiting sender sent through.
    pub blocking_badge: u64,
    /// The address the thread restarts at (seL4's `FaultIP`): the `svc`
    /// itself for a system call, the faulting instruction for a fault.
    pub fault_ip: u64,
    /// Fault endpoint, as a cptr in the thread's own CSpace.
    pub fault_handler: u64,
    /// Virtual address of the IPC buffer.
    pub ipc_buffer: u64,
    /// Address of the bound notification (0: none).
    pub bound_notification: u64,
    /// The fault being delivered (set while the fault message is pending or
    /// awaiting its reply).
    pub fault: Option<Fault>,
    /// Ticks left in the current time slice.
    pub time_slice: u64,
    /// Ready-queue links.
    pub sched_next: u64,
    /// See `sched_next`.
    pub sched_prev: u64,
    /// Endpoint or notification queue links.
    pub ep_next: u64,
    /// See `ep_next`.
    pub ep_prev: u64,
    /// Links of the list of all threads (diagnostics).
    pub debug_next: u64,
    /// See `debug_next`.
    pub debug_prev: u64,
    /// Bound VCPU (0: none).
    pub vcpu: u64,
    /// Name for diagnostics, NUL padded.
    pub name: [u8; TCB_NAME_LENGTH],
}

const _: () = assert!(TCB_OFFSET as usize + core::mem::size_of::<Tcb>() <= 1 << TCB_BITS);
const _: () = assert!(TCB_OFFSET.is_multiple_of(core::mem::align_of::<Tcb>() as u64));

impl Tcb {
    /// A fresh thread: inactive, priority 0, named `name`.
    pub fn new(name: &[u8], time_slice: u64) -> Tcb {
        let mut n = [0; TCB_NAME_LENGTH];
        let len = name.len().min(TCB_NAME_LENGTH);
        n[..len].copy_from_slice(&name[..len]);
        Tcb {
            context: UserContext::default(),
            fpu: FpuState::default(),
            state: ThreadState::Inactive,
            queued: false,
            priority: 0,
            mcp: 0,
            domain: 0,
            blocking_can_grant: false,
            blocking_can_grant_reply: false,
            blocking_is_call: false,
            blocking_object: 0,
            blocking_badge: 0,
            fault_ip: 0,
            fault_handler: 0,
            ipc_buffer: 0,
            bound_notification: 0,
            fault: None,
            time_slice,
            sched_next: 0,
            sched_prev: 0,
            ep_next: 0,
            ep_prev: 0,
            debug_next: 0,
            debug_prev: 0,
            vcpu: 0,
            name: n,
        }
    }
}

/// The address of a live [`Tcb`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcbRef(pub(crate) u64);

impl TcbRef {
    /// The thread at a queue or binding link, if any.
    pub(crate) fn link(addr: u64) -> Option<TcbRef> {
        (addr != 0).then_some(TcbRef(addr))
    }

    /// The thread.
    pub(crate) fn get(self) -> &'static mut Tcb {
        // SAFETY: a `TcbRef` is only made from a thread cap's address, the
        // kernel's own current/idle threads, or a queue, binding or reply
        // link, all of which point at a live, initialised `Tcb` (links are
        // removed when a thread is finalised, before its memory can be
        // reused). The kernel is single-threaded and never keeps two
        // references to one TCB alive.
        unsafe { &mut *(self.0 as *mut Tcb) }
    }

    /// One of the thread's own slots (`TCB_CTABLE` ...).
    pub(crate) fn slot(self, i: u64) -> SlotRef {
        SlotRef::at(self.0 - TCB_OFFSET, i)
    }

    pub(crate) fn state(self) -> ThreadState {
        self.get().state
    }

    /// Whether the thread can run (seL4's `isRunnable`).
    pub(crate) fn is_runnable(self) -> bool {
        matches!(self.state(), ThreadState::Running | ThreadState::Restart)
    }

    /// Whether the thread is not running and `TCB Resume` (or a register
    /// write with resume) restarts it, cancelling any IPC it waits in
    /// (seL4's `isStopped`).
    pub(crate) fn is_stopped(self) -> bool {
        matches!(
            self.state(),
            ThreadState::Inactive
                | ThreadState::BlockedOnReceive
                | ThreadState::BlockedOnSend
                | ThreadState::BlockedOnReply
                | ThreadState::BlockedOnNotification
        )
    }
}

/// A queue of threads linked through `ep_next`/`ep_prev` (endpoint and
/// notification wait queues) or `sched_next`/`sched_prev` (ready queues).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcbQueue {
    pub head: u64,
    pub tail: u64,
}

impl TcbQueue {
    /// Appends `t` to an endpoint queue (seL4's `tcbEPAppend`).
    pub(crate) fn ep_append(mut self, t: TcbRef) -> TcbQueue {
        if self.head == 0 {
            self.head = t.0;
        } else {
            TcbRef(self.tail).get().ep_next = t.0;
        }
        let tcb = t.get();
        tcb.ep_prev = self.tail;
        tcb.ep_next = 0;
        self.tail = t.0;
        self
    }

    /// Removes `t` from an endpoint queue (seL4's `tcbEPDequeue`).
    pub(crate) fn ep_dequeue(mut self, t: TcbRef) -> TcbQueue {
        let (prev, next) = (t.get().ep_prev, t.get().ep_next);
        match TcbRef::link(prev) {
            Some(p) => p.get().ep_next = next,
            None => self.head = next,
        }
        match TcbRef::link(next) {
            Some(n) => n.get().ep_prev = prev,
            None => self.tail = prev,
        }
        let tcb = t.get();
        tcb.ep_prev = 0;
        tcb.ep_next = 0;
        self
    }
}

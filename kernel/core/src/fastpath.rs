//! The IPC fast path (seL4's `fastpath_call` and `fastpath_reply_recv`):
//! `Call` to a server already waiting, and `ReplyRecv` answering a caller
//! and waiting again, in the common case: a message of at most four words
//! in registers, no caps, the other thread ready to run at once with no
//! more urgent thread waiting. Each function checks every condition first
//! and changes nothing when one fails (the slow path then does the whole
//! job), else does exactly what the slow path would, without the general
//! machinery: the message is copied register to register and the kernel
//! switches straight to the other thread.

use crate::cap::{Cap, Cte, Mdb, SlotRef, mask};
use crate::cdt::{setup_reply_master, unlink_and_clear};
use crate::object::{EpRef, EpState, NtfnRef, NtfnState};
use crate::registers::{CAP_REGISTER, MSG_INFO_REGISTER, MSG_REGISTER_BASE, N_MSG_REGISTERS};
use crate::sched::SchedulerAction;
use crate::tcb::{TCB_CALLER, TCB_CTABLE, TCB_REPLY, TCB_VTABLE, TcbRef, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::MessageInfo;

/// The slot `cptr` names in `thread`'s CSpace, as `lookup_slot` finds it,
/// or `None` where that would fail. Caps are matched in place: copying
/// them whole costs more than the rest of the lookup.
#[inline(always)]
fn lookup_fast(thread: TcbRef, cptr: u64) -> Option<SlotRef> {
    let mut node = thread.slot(TCB_CTABLE);
    let mut n_bits = 64u64;
    loop {
        let Cap::CNode { radix, guard_size, ptr, guard } = &node.get().cap else { return None };
        let (radix, guard_size) = (*radix as u64, *guard_size as u64);
        let level = radix + guard_size;
        if level == 0 || level > n_bits {
            return None;
        }
        let found =
            if guard_size == 0 { 0 } else { (cptr >> (n_bits - guard_size)) & mask(guard_size) };
        if found != *guard {
            return None;
        }
        let slot = SlotRef::at(*ptr, (cptr >> (n_bits - level)) & mask(radix));
        n_bits -= level;
        if n_bits == 0 || !matches!(&slot.get().cap, Cap::CNode { .. }) {
            return Some(slot);
        }
        node = slot;
    }
}

/// Copies `len` message registers and the message info from `from`'s
/// registers to `to`'s, with `badge`.
fn copy_message(from: TcbRef, to: TcbRef, info: MessageInfo, badge: u64) {
    let len = info.length() as usize;
    // Register by register: the sender's array is never copied whole.
    for i in MSG_REGISTER_BASE..MSG_REGISTER_BASE + len {
        let v = from.get().context.regs[i];
        to.get().context.regs[i] = v;
    }
    let dst = &mut to.get().context.regs;
    dst[MSG_INFO_REGISTER] = MessageInfo::new(info.label(), 0, 0, len as u64).0;
    dst[CAP_REGISTER] = badge;
}

impl<A: Arch> Kernel<A> {
    /// Whether `t`'s VSpace is valid (`thread_vspace(t).is_some()`); if so,
    /// remembers it for the exit to `t`.
    fn vspace_ok(&mut self, t: TcbRef) -> bool {
        let Cap::VSpace { asid: Some(asid), ptr } = &t.slot(TCB_VTABLE).get().cap else {
            return false;
        };
        let (asid, ptr) = (*asid, *ptr);
        let ok = self.find_vspace_for_asid(asid) == Ok(ptr);
        if ok {
            self.vspace_hint = (t.0, self.space_epoch, ptr, asid);
        }
        ok
    }

    /// The message info of the current thread's syscall, if it suits the
    /// fast path (no caps, registers only).
    #[inline(always)]
    fn fast_message(&self) -> Option<MessageInfo> {
        // The raw word: a length that fits the registers needs no clamping.
        let info = MessageInfo(self.cur.get().context.regs[MSG_INFO_REGISTER]);
        (info.extra_caps() == 0 && info.length() <= N_MSG_REGISTERS).then_some(info)
    }

    /// `Call` on the fast path; `false` if the slow path must run (nothing
    /// was changed then).
    #[inline(always)]
    pub fn fastpath_call(&mut self) -> bool {
        let cur = self.cur;
        if cur == self.idle || self.action != SchedulerAction::ResumeCurrent {
            return false;
        }
        let Some(info) = self.fast_message() else { return false };
        let cptr = cur.get().context.regs[CAP_REGISTER];
        let Some(slot) = lookup_fast(cur, cptr) else { return false };
        let Cap::Endpoint { ptr, badge, rights } = &slot.get().cap else { return false };
        let (ptr, badge, rights) = (*ptr, *badge, *rights);
        if !rights.can_write() || !(rights.can_grant() || rights.can_grant_reply()) {
            return false;
        }
        let ep = EpRef(ptr);
        if ep.get().state() != EpState::Recv {
            return false;
        }
        let dest = TcbRef(ep.get().queue().head);
        if dest.get().priority < cur.get().priority
            || !matches!(&dest.slot(TCB_CALLER).get().cap, Cap::Null)
            || !self.vspace_ok(dest)
        {
            return false;
        }

        // The receiver leaves the endpoint's queue and gets the message.
        let q = ep.get().queue().ep_dequeue(dest);
        let e = ep.get();
        e.set_queue(q);
        if q.head == 0 {
            e.set_state(EpState::Idle);
        }
        copy_message(cur, dest, info, badge);
        // The caller waits for the reply; the receiver holds the reply cap.
        let reply_can_grant = dest.get().blocking_can_grant;
        let c = cur.get();
        c.fault_ip = c.context.pc.wrapping_sub(4);
        c.state = ThreadState::BlockedOnReply;
        let (master, caller_slot) = (cur.slot(TCB_REPLY), dest.slot(TCB_CALLER));
        if matches!(&master.get().cap, Cap::Null) {
            setup_reply_master(cur);
        }
        // cte_insert of a reply cap after its master (never revocable).
        let next = master.get().mdb.next;
        *caller_slot.get() = Cte {
            cap: Cap::Reply { master: false, can_grant: reply_can_grant, tcb: cur.0 },
            mdb: Mdb { prev: master.0, next, revocable: false, first_badged: false },
        };
        master.get().mdb.next = caller_slot.0;
        if let Some(n) = SlotRef::link(next) {
            n.get().mdb.prev = caller_slot.0;
        }
        dest.get().state = ThreadState::Running;
        self.cur = dest;
        true
    }

    /// `ReplyRecv` on the fast path; `false` if the slow path must run
    /// (nothing was changed then).
    #[inline(always)]
    pub fn fastpath_reply_recv(&mut self) -> bool {
        let cur = self.cur;
        if cur == self.idle || self.action != SchedulerAction::ResumeCurrent {
            return false;
        }
        let Some(info) = self.fast_message() else { return false };
        // The caller first: a reply to a fault leaves here cheaply.
        let caller_slot = cur.slot(TCB_CALLER);
        let Cap::Reply { master: false, tcb, .. } = &caller_slot.get().cap else { return false };
        let caller = TcbRef(*tcb);
        if caller.state() != ThreadState::BlockedOnReply
            || caller.get().fault.is_some()
            || self.highest_prio().is_some_and(|p| p > caller.get().priority)
        {
            return false;
        }
        let cptr = cur.get().context.regs[CAP_REGISTER];
        let Some(slot) = lookup_fast(cur, cptr) else { return false };
        let Cap::Endpoint { ptr, rights, .. } = &slot.get().cap else { return false };
        let (ep, rights) = (EpRef(*ptr), *rights);
        if !rights.can_read() || ep.get().state() == EpState::Send {
            return false;
        }
        if let Some(n) = NtfnRef::link(cur.get().bound_notification)
            && n.get().state() == NtfnState::Active
        {
            return false;
        }
        if !self.vspace_ok(caller) {
            return false;
        }

        // The server waits on the endpoint.
        let c = cur.get();
        c.fault_ip = c.context.pc.wrapping_sub(4);
        c.state = ThreadState::BlockedOnReceive;
        c.blocking_object = ep.0;
        c.blocking_can_grant = rights.can_grant();
        let q = ep.get().queue().ep_append(cur);
        let e = ep.get();
        e.set_queue(q);
        e.set_state(EpState::Recv);
        // The reply cap is used up (a non-master reply cap has nothing to
        // finalise); the caller gets the message and runs.
        unlink_and_clear(caller_slot);
        copy_message(cur, caller, info, 0);
        caller.get().state = ThreadState::Running;
        self.cur = caller;
        true
    }
}

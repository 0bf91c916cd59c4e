//! Endpoint IPC (seL4's `endpoint.c` and the transfer half of `thread.c`):
//! rendezvous of a sender and a receiver, message and cap transfer, calls
//! and reply caps, and cancelling a thread's IPC.
//!
//! The rights rules (sel4test's IPCRIGHTS): sending needs Write on the
//! endpoint cap, receiving Read; caps travel only when the sender's cap has
//! Grant; a call gets a reply cap only when the sender's cap has Grant or
//! GrantReply (otherwise the caller is left inactive); the reply cap may
//! carry caps back only when the receiver's endpoint cap has Grant.
//! Non-MCS reply caps: a `Call` puts a reply cap to the caller in the
//! receiver's caller slot, as a child of the caller's master reply cap.

use crate::cap::{Cap, SlotRef};
use crate::cdt::{cte_insert, derive_cap, setup_reply_master};
use crate::cspace::{lookup_cap, lookup_target_slot};
use crate::object::{EpRef, EpState};
use crate::registers::{BufRef, CAP_REGISTER, MSG_INFO_REGISTER, copy_mrs, message_info};
use crate::syscall::lookup_extra_caps;
use crate::tcb::{TCB_CALLER, TCB_REPLY, TcbRef, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::MessageInfo;
use sel4_sys::message::MSG_MAX_EXTRA_CAPS;

impl<A: Arch> Kernel<A> {
    /// `thread` sends on `ep` (seL4's `sendIPC`): to a waiting receiver at
    /// once, else it queues when blocking.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_ipc(
        &mut self,
        blocking: bool,
        do_call: bool,
        badge: u64,
        can_grant: bool,
        can_grant_reply: bool,
        thread: TcbRef,
        ep: EpRef,
    ) {
        match ep.get().state() {
            EpState::Idle | EpState::Send => {
                if blocking {
                    let t = thread.get();
                    t.state = ThreadState::BlockedOnSend;
                    t.blocking_object = ep.0;
                    t.blocking_badge = badge;
                    t.blocking_can_grant = can_grant;
                    t.blocking_can_grant_reply = can_grant_reply;
                    t.blocking_is_call = do_call;
                    self.schedule_tcb(thread);
                    let q = ep.get().queue().ep_append(thread);
                    let e = ep.get();
                    e.set_queue(q);
                    e.set_state(EpState::Send);
                }
            }
            EpState::Recv => {
                let q = ep.get().queue();
                let dest = TcbRef(q.head);
                let q = q.ep_dequeue(dest);
                let e = ep.get();
                e.set_queue(q);
                if q.head == 0 {
                    e.set_state(EpState::Idle);
                }
                self.do_ipc_transfer(thread, Some(ep), badge, can_grant, dest);
                let reply_can_grant = dest.get().blocking_can_grant;
                self.set_thread_state(dest, ThreadState::Running);
                self.possible_switch_to(dest);
                if do_call {
                    if can_grant || can_grant_reply {
                        self.setup_caller_cap(thread, dest, reply_can_grant);
                    } else {
                        self.set_thread_state(thread, ThreadState::Inactive);
                    }
                }
            }
        }
    }

    /// `thread` receives on the endpoint `cap` (seL4's `receiveIPC`): a
    /// pending signal on its bound notification comes first; then a
    /// waiting sender; else it queues when blocking.
    pub(crate) fn receive_ipc(&mut self, thread: TcbRef, cap: Cap, blocking: bool) {
        let Cap::Endpoint { ptr, rights, .. } = cap else {
            return;
        };
        let ep = EpRef(ptr);
        if let Some(n) = crate::object::NtfnRef::link(thread.get().bound_notification)
            && n.get().state() == crate::object::NtfnState::Active
        {
            self.complete_signal(n, thread);
            return;
        }
        match ep.get().state() {
            EpState::Idle | EpState::Recv => {
                if blocking {
                    let t = thread.get();
                    t.state = ThreadState::BlockedOnReceive;
                    t.blocking_object = ep.0;
                    t.blocking_can_grant = rights.can_grant();
                    self.schedule_tcb(thread);
                    let q = ep.get().queue().ep_append(thread);
                    let e = ep.get();
                    e.set_queue(q);
                    e.set_state(EpState::Recv);
                } else {
                    thread.get().context.regs[CAP_REGISTER] = 0;
                }
            }
            EpState::Send => {
                let q = ep.get().queue();
                let sender = TcbRef(q.head);
                let q = q.ep_dequeue(sender);
                let e = ep.get();
                e.set_queue(q);
                if q.head == 0 {
                    e.set_state(EpState::Idle);
                }
                let (badge, can_grant, can_grant_reply, do_call) = {
                    let s = sender.get();
                    (
                        s.blocking_badge,
                        s.blocking_can_grant,
                        s.blocking_can_grant_reply,
                        s.blocking_is_call,
                    )
                };
                self.do_ipc_transfer(sender, Some(ep), badge, can_grant, thread);
                if do_call {
                    if can_grant || can_grant_reply {
                        self.setup_caller_cap(sender, thread, rights.can_grant());
                    } else {
                        self.set_thread_state(sender, ThreadState::Inactive);
                    }
                } else {
                    self.set_thread_state(sender, ThreadState::Running);
                    self.possible_switch_to(sender);
                }
            }
        }
    }

    /// Transfers a message from `sender` to `receiver`: the sender's fault
    /// message if it faulted, else its message registers and caps (seL4's
    /// `doIPCTransfer`). `ep` is the endpoint used (`None` for replies).
    pub(crate) fn do_ipc_transfer(
        &mut self,
        sender: TcbRef,
        ep: Option<EpRef>,
        badge: u64,
        grant: bool,
        receiver: TcbRef,
    ) {
        let recv_buf = self.lookup_ipc_buffer(true, receiver);
        if sender.get().fault.is_none() {
            let send_buf = self.lookup_ipc_buffer(false, sender);
            self.do_normal_transfer(sender, send_buf, ep, badge, grant, receiver, recv_buf);
        } else {
            self.do_fault_transfer(badge, sender, receiver, recv_buf);
        }
    }

    /// seL4's `doNormalTransfer`.
    #[allow(clippy::too_many_arguments)]
    fn do_normal_transfer(
        &mut self,
        sender: TcbRef,
        send_buf: Option<BufRef>,
        ep: Option<EpRef>,
        badge: u64,
        can_grant: bool,
        receiver: TcbRef,
        recv_buf: Option<BufRef>,
    ) {
        let tag = message_info(sender.get().context.regs[MSG_INFO_REGISTER]);
        let caps = if can_grant {
            lookup_extra_caps(sender, send_buf, tag).unwrap_or([None; MSG_MAX_EXTRA_CAPS])
        } else {
            [None; MSG_MAX_EXTRA_CAPS]
        };
        let sent = copy_mrs(sender, send_buf, receiver, recv_buf, tag.length());
        let tag = transfer_caps(tag, &caps, ep, receiver, recv_buf);
        let tag = MessageInfo::new(tag.label(), tag.caps_unwrapped(), tag.extra_caps(), sent);
        let ctx = &mut receiver.get().context;
        ctx.regs[MSG_INFO_REGISTER] = tag.0;
        ctx.regs[CAP_REGISTER] = badge;
    }

    /// Answers `receiver`, blocked on reply, with `sender`'s message, using
    /// the reply cap in `slot` (seL4's `doReplyTransfer`). A reply to a
    /// fault resumes (or leaves inactive) the faulted thread.
    pub(crate) fn do_reply_transfer(
        &mut self,
        sender: TcbRef,
        receiver: TcbRef,
        slot: SlotRef,
        grant: bool,
    ) {
        if receiver.state() != ThreadState::BlockedOnReply {
            self.cte_delete_one(slot);
            return;
        }
        if receiver.get().fault.is_none() {
            self.do_ipc_transfer(sender, None, 0, grant, receiver);
            self.cte_delete_one(slot);
            self.set_thread_state(receiver, ThreadState::Running);
            self.possible_switch_to(receiver);
        } else {
            self.cte_delete_one(slot);
            let restart = self.handle_fault_reply(receiver, sender);
            receiver.get().fault = None;
            if restart {
                self.set_thread_state(receiver, ThreadState::Restart);
                self.possible_switch_to(receiver);
            } else {
                self.set_thread_state(receiver, ThreadState::Inactive);
            }
        }
    }

    /// Blocks `sender` on reply and gives `receiver` a reply cap to it
    /// (seL4's `setupCallerCap`).
    fn setup_caller_cap(&mut self, sender: TcbRef, receiver: TcbRef, can_grant: bool) {
        self.set_thread_state(sender, ThreadState::BlockedOnReply);
        let reply_slot = sender.slot(TCB_REPLY);
        setup_reply_master(sender);
        let caller_slot = receiver.slot(TCB_CALLER);
        if !matches!(&caller_slot.get().cap, Cap::Null) {
            self.cte_delete_one(caller_slot);
        }
        cte_insert(Cap::Reply { master: false, can_grant, tcb: sender.0 }, reply_slot, caller_slot);
    }

    /// Drops a reply cap left in `receiver`'s caller slot (seL4's
    /// `deleteCallerCap`).
    pub(crate) fn delete_caller_cap(&mut self, receiver: TcbRef) {
        self.cte_delete_one(receiver.slot(TCB_CALLER));
    }

    /// Stops whatever IPC `t` is blocked in (seL4's `cancelIPC`). A fault
    /// message being sent is dropped too (as in seL4's MCS kernel): the
    /// thread redoes the faulting instruction when restarted.
    pub(crate) fn cancel_ipc(&mut self, t: TcbRef) {
        if t.state() != ThreadState::Running {
            t.get().fault = None;
        }
        match t.state() {
            ThreadState::BlockedOnSend | ThreadState::BlockedOnReceive => {
                let ep = EpRef(t.get().blocking_object);
                let q = ep.get().queue().ep_dequeue(t);
                let e = ep.get();
                e.set_queue(q);
                if q.head == 0 {
                    e.set_state(EpState::Idle);
                }
                self.set_thread_state(t, ThreadState::Inactive);
            }
            ThreadState::BlockedOnNotification => {
                let n = crate::object::NtfnRef(t.get().blocking_object);
                self.cancel_signal(t, n);
            }
            ThreadState::BlockedOnReply => {
                let reply = t.slot(TCB_REPLY);
                if let Some(caller_cap) = SlotRef::link(reply.mdb().next)
                    && matches!(caller_cap.cap(), Cap::Reply { master: false, tcb, .. } if tcb == t.0)
                {
                    self.cte_delete_one(caller_cap);
                }
            }
            _ => {}
        }
    }

    /// Wakes every thread queued on `ep` to redo its call (seL4's
    /// `cancelAllIPC`; the endpoint is being destroyed).
    pub(crate) fn cancel_all_ipc(&mut self, ep: EpRef) {
        if ep.get().state() == EpState::Idle {
            return;
        }
        let mut t = TcbRef::link(ep.get().queue().head);
        *ep.get() = crate::object::Endpoint::default();
        while let Some(tcb) = t {
            let next = tcb.get().ep_next;
            {
                let r = tcb.get();
                r.ep_next = 0;
                r.ep_prev = 0;
                r.fault = None;
            }
            self.set_thread_state(tcb, ThreadState::Restart);
            self.sched_enqueue(tcb);
            t = TcbRef::link(next);
        }
        self.reschedule_required();
    }

    /// Wakes the senders queued on `ep` with `badge` to redo their send
    /// (seL4's `cancelBadgedSends`).
    pub(crate) fn cancel_badged_sends(&mut self, ep: EpRef, badge: u64) {
        if ep.get().state() != EpState::Send {
            return;
        }
        let mut q = ep.get().queue();
        let mut t = TcbRef::link(q.head);
        *ep.get() = crate::object::Endpoint::default();
        while let Some(tcb) = t {
            let next = tcb.get().ep_next;
            if tcb.get().blocking_badge == badge {
                tcb.get().fault = None;
                self.set_thread_state(tcb, ThreadState::Restart);
                self.sched_enqueue(tcb);
                q = q.ep_dequeue(tcb);
            }
            t = TcbRef::link(next);
        }
        let e = ep.get();
        e.set_queue(q);
        if q.head != 0 {
            e.set_state(EpState::Send);
        }
        self.reschedule_required();
    }

    /// Stops `t` (seL4's `suspend`).
    pub(crate) fn suspend(&mut self, t: TcbRef) {
        self.cancel_ipc(t);
        if t.state() == ThreadState::Running {
            let tcb = t.get();
            tcb.fault_ip = tcb.context.pc;
        }
        self.sched_dequeue(t);
        self.set_thread_state(t, ThreadState::Inactive);
    }

    /// Starts a stopped `t` again, redoing its system call (seL4's
    /// `restart`).
    pub(crate) fn restart(&mut self, t: TcbRef) {
        if t.is_stopped() {
            self.cancel_ipc(t);
            setup_reply_master(t);
            self.set_thread_state(t, ThreadState::Restart);
            self.sched_enqueue(t);
            self.possible_switch_to(t);
        }
    }
}

/// Transfers the extra caps (seL4's `transferCaps`): a cap to the endpoint
/// the message came through is unwrapped (its badge delivered instead);
/// other caps go, derived, into the receiver's one receive slot. The first
/// failure ends the transfer; `extra_caps` says how many were handled.
fn transfer_caps(
    info: MessageInfo,
    caps: &[Option<SlotRef>; MSG_MAX_EXTRA_CAPS],
    ep: Option<EpRef>,
    receiver: TcbRef,
    recv_buf: Option<BufRef>,
) -> MessageInfo {
    let mut unwrapped = 0;
    let Some(buf) = recv_buf.filter(|_| caps[0].is_some()) else {
        return MessageInfo::new(info.label(), 0, 0, info.length());
    };
    let mut dest = get_receive_slot(receiver, buf);
    let mut i = 0;
    while i < MSG_MAX_EXTRA_CAPS {
        let Some(slot) = caps[i] else { break };
        let cap = slot.cap();
        if let (Cap::Endpoint { ptr, badge, .. }, Some(e)) = (cap, ep)
            && ptr == e.0
        {
            buf.set_cap_or_badge(i, badge);
            unwrapped |= 1 << i;
        } else {
            let Some(d) = dest else { break };
            match derive_cap(slot, cap) {
                Ok(Cap::Null) | Err(_) => break,
                Ok(c) => {
                    cte_insert(c, slot, d);
                    dest = None;
                }
            }
        }
        i += 1;
    }
    MessageInfo::new(info.label(), unwrapped, i as u64, info.length())
}

/// The empty slot the receiver's buffer names for a received cap, if valid
/// (seL4's `getReceiveSlots`).
fn get_receive_slot(receiver: TcbRef, buf: BufRef) -> Option<SlotRef> {
    let (cnode, index, depth) = buf.receive_slot();
    let root = lookup_cap(receiver, cnode).ok()?;
    let slot = lookup_target_slot(root, index, depth).ok()?;
    (slot.cap() == Cap::Null).then_some(slot)
}

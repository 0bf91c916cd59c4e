//! Notifications (seL4's `notification.c`): a word of badge bits that
//! signals OR into, and a queue of waiting threads.
//!
//! A signal wakes the first waiter with the badge; with no waiter it is
//! kept (OR-ed with earlier ones) until the next wait. A notification bound
//! to a thread also wakes that thread when it waits on an endpoint, the
//! badge arriving in x0 as if the notification had been waited on.

use crate::object::{NtfnRef, NtfnState};
use crate::registers::CAP_REGISTER;
use crate::tcb::{TcbRef, ThreadState};
use crate::{Arch, Kernel};

impl<A: Arch> Kernel<A> {
    /// Signals `n` with `badge` (seL4's `sendSignal`).
    pub(crate) fn send_signal(&mut self, n: NtfnRef, badge: u64) {
        match n.get().state() {
            NtfnState::Idle => match TcbRef::link(n.get().bound_tcb) {
                Some(t) if t.state() == ThreadState::BlockedOnReceive => {
                    self.cancel_ipc(t);
                    self.set_thread_state(t, ThreadState::Running);
                    t.get().context.regs[CAP_REGISTER] = badge;
                    self.possible_switch_to(t);
                }
                _ => set_active(n, badge),
            },
            NtfnState::Waiting => {
                let q = n.get().queue();
                let dest = TcbRef(q.head);
                let q = q.ep_dequeue(dest);
                let ntfn = n.get();
                ntfn.set_queue(q);
                if q.head == 0 {
                    ntfn.set_state(NtfnState::Idle);
                }
                self.set_thread_state(dest, ThreadState::Running);
                dest.get().context.regs[CAP_REGISTER] = badge;
                self.possible_switch_to(dest);
            }
            NtfnState::Active => n.get().msg_identifier |= badge,
        }
    }

    /// `thread` waits on (or polls) `n` (seL4's `receiveSignal`).
    pub(crate) fn receive_signal(&mut self, thread: TcbRef, n: NtfnRef, blocking: bool) {
        match n.get().state() {
            NtfnState::Idle | NtfnState::Waiting => {
                if blocking {
                    let t = thread.get();
                    t.state = ThreadState::BlockedOnNotification;
                    t.blocking_object = n.0;
                    self.schedule_tcb(thread);
                    let q = n.get().queue().ep_append(thread);
                    let ntfn = n.get();
                    ntfn.set_queue(q);
                    ntfn.set_state(NtfnState::Waiting);
                } else {
                    thread.get().context.regs[CAP_REGISTER] = 0;
                }
            }
            NtfnState::Active => {
                let ntfn = n.get();
                thread.get().context.regs[CAP_REGISTER] = ntfn.msg_identifier;
                ntfn.msg_identifier = 0;
                ntfn.set_state(NtfnState::Idle);
            }
        }
    }

    /// Wakes every waiter of `n` to redo its wait (seL4's
    /// `cancelAllSignals`; the notification is being destroyed).
    pub(crate) fn cancel_all_signals(&mut self, n: NtfnRef) {
        if n.get().state() != NtfnState::Waiting {
            return;
        }
        let mut t = TcbRef::link(n.get().queue().head);
        let ntfn = n.get();
        ntfn.set_queue(Default::default());
        ntfn.set_state(NtfnState::Idle);
        while let Some(tcb) = t {
            let next = tcb.get().ep_next;
            {
                let r = tcb.get();
                r.ep_next = 0;
                r.ep_prev = 0;
            }
            self.set_thread_state(tcb, ThreadState::Restart);
            self.sched_enqueue(tcb);
            t = TcbRef::link(next);
        }
        self.reschedule_required();
    }

    /// Takes waiting `t` off `n`'s queue (seL4's `cancelSignal`).
    pub(crate) fn cancel_signal(&mut self, t: TcbRef, n: NtfnRef) {
        let q = n.get().queue().ep_dequeue(t);
        let ntfn = n.get();
        ntfn.set_queue(q);
        if q.head == 0 {
            ntfn.set_state(NtfnState::Idle);
        }
        self.set_thread_state(t, ThreadState::Inactive);
    }

    /// Delivers `n`'s pending badge to `t`, waiting on an endpoint with `n`
    /// bound (seL4's `completeSignal`).
    pub(crate) fn complete_signal(&mut self, n: NtfnRef, t: TcbRef) {
        let ntfn = n.get();
        if ntfn.state() == NtfnState::Active {
            t.get().context.regs[CAP_REGISTER] = ntfn.msg_identifier;
            ntfn.msg_identifier = 0;
            ntfn.set_state(NtfnState::Idle);
        }
    }

    /// Binds `n` to `t` (seL4's `bindNotification`).
    pub(crate) fn bind_notification(&mut self, t: TcbRef, n: NtfnRef) {
        n.get().bound_tcb = t.0;
        t.get().bound_notification = n.0;
    }

    /// Unbinds `t`'s notification, if any (seL4's `unbindNotification`).
    pub(crate) fn unbind_notification(&mut self, t: TcbRef) {
        if let Some(n) = NtfnRef::link(t.get().bound_notification) {
            n.get().bound_tcb = 0;
            t.get().bound_notification = 0;
        }
    }

    /// Unbinds `n`'s thread, if any (seL4's `unbindMaybeNotification`).
    pub(crate) fn unbind_maybe_notification(&mut self, n: NtfnRef) {
        if let Some(t) = TcbRef::link(n.get().bound_tcb) {
            n.get().bound_tcb = 0;
            t.get().bound_notification = 0;
        }
    }
}

/// Records a signal no one was waiting for (seL4's `ntfn_set_active`).
fn set_active(n: NtfnRef, badge: u64) {
    let ntfn = n.get();
    ntfn.set_state(NtfnState::Active);
    ntfn.msg_identifier = badge;
}

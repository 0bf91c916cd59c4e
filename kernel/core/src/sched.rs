//! The scheduler (seL4's `thread.c` and the ready queues of `tcb.c`):
//! 256 priorities, one FIFO ready queue each, a two-level bitmap to find
//! the highest non-empty one, round robin by time slices, and seL4's
//! scheduler action: a thread woken by this kernel entry runs at once when
//! it has a higher priority than the current thread; at the same priority
//! the current thread keeps running.
//!
//! The running thread is not in its ready queue; it is put back when it
//! stops running (at the front if preempted, at the back when its slice
//! ended or it yielded).

use crate::print::{Name, kprint};
use crate::tcb::{TcbQueue, TcbRef, ThreadState};
use crate::{Arch, Kernel};

/// Timer ticks in a time slice.
pub const TIME_SLICE_TICKS: u64 = 5;

/// What the scheduler does at the end of the kernel entry (seL4's
/// `ksSchedulerAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SchedulerAction {
    /// Keep running the current thread.
    ResumeCurrent,
    /// Pick the highest-priority ready thread.
    ChooseNew,
    /// Switch to this thread if it is the best choice.
    SwitchTo(TcbRef),
}

impl<A: Arch> Kernel<A> {
    fn add_to_bitmap(&mut self, prio: u8) {
        let l1 = (prio >> 6) as usize;
        self.ready_l1 |= 1 << l1;
        self.ready_l2[l1] |= 1 << (prio & 63);
    }

    fn remove_from_bitmap(&mut self, prio: u8) {
        let l1 = (prio >> 6) as usize;
        self.ready_l2[l1] &= !(1 << (prio & 63));
        if self.ready_l2[l1] == 0 {
            self.ready_l1 &= !(1 << l1);
        }
    }

    /// The highest priority with a ready thread, if any.
    pub(crate) fn highest_prio(&self) -> Option<u8> {
        if self.ready_l1 == 0 {
            return None;
        }
        let l1 = 63 - self.ready_l1.leading_zeros();
        let l2 = 63 - self.ready_l2[l1 as usize].leading_zeros();
        Some((l1 << 6 | l2) as u8)
    }

    /// Puts `t` at the front of its ready queue (seL4's `tcbSchedEnqueue`).
    pub(crate) fn sched_enqueue(&mut self, t: TcbRef) {
        self.sched_insert(t, true);
    }

    /// Puts `t` at the back of its ready queue (seL4's `tcbSchedAppend`).
    pub(crate) fn sched_append(&mut self, t: TcbRef) {
        self.sched_insert(t, false);
    }

    /// Links `t` into its priority's ready queue at the front or the back;
    /// nothing if it is queued already.
    fn sched_insert(&mut self, t: TcbRef, front: bool) {
        if t.get().queued {
            return;
        }
        let prio = t.get().priority;
        let q = self.ready[prio as usize];
        let tcb = t.get();
        if q.head == 0 {
            self.add_to_bitmap(prio);
            self.ready[prio as usize] = TcbQueue { head: t.0, tail: t.0 };
            tcb.sched_next = 0;
            tcb.sched_prev = 0;
        } else if front {
            TcbRef(q.head).get().sched_prev = t.0;
            tcb.sched_next = q.head;
            tcb.sched_prev = 0;
            self.ready[prio as usize].head = t.0;
        } else {
            TcbRef(q.tail).get().sched_next = t.0;
            tcb.sched_prev = q.tail;
            tcb.sched_next = 0;
            self.ready[prio as usize].tail = t.0;
        }
        t.get().queued = true;
    }

    /// Takes `t` out of its ready queue (seL4's `tcbSchedDequeue`).
    pub(crate) fn sched_dequeue(&mut self, t: TcbRef) {
        if !t.get().queued {
            return;
        }
        let prio = t.get().priority as usize;
        let (prev, next) = (t.get().sched_prev, t.get().sched_next);
        match TcbRef::link(prev) {
            Some(p) => p.get().sched_next = next,
            None => self.ready[prio].head = next,
        }
        match TcbRef::link(next) {
            Some(n) => n.get().sched_prev = prev,
            None => self.ready[prio].tail = prev,
        }
        let tcb = t.get();
        tcb.sched_next = 0;
        tcb.sched_prev = 0;
        tcb.queued = false;
        if self.ready[prio].head == 0 {
            self.remove_from_bitmap(prio as u8);
        }
    }

    /// Sets `t`'s state; if the current thread stops being runnable, a new
    /// one must be chosen (seL4's `setThreadState` and `scheduleTCB`).
    pub(crate) fn set_thread_state(&mut self, t: TcbRef, s: ThreadState) {
        t.get().state = s;
        self.schedule_tcb(t);
    }

    /// seL4's `scheduleTCB`.
    pub(crate) fn schedule_tcb(&mut self, t: TcbRef) {
        if t == self.cur && self.action == SchedulerAction::ResumeCurrent && !t.is_runnable() {
            self.action = SchedulerAction::ChooseNew;
        }
    }

    /// Forces a new choice at the end of this entry (seL4's
    /// `rescheduleRequired`).
    pub(crate) fn reschedule_required(&mut self) {
        if let SchedulerAction::SwitchTo(t) = self.action {
            self.sched_enqueue(t);
        }
        self.action = SchedulerAction::ChooseNew;
    }

    /// `target` was woken: run it at the end of this entry if it is the
    /// best choice, else queue it (seL4's `possibleSwitchTo`).
    pub(crate) fn possible_switch_to(&mut self, target: TcbRef) {
        if self.action != SchedulerAction::ResumeCurrent {
            self.reschedule_required();
            self.sched_enqueue(target);
        } else {
            self.action = SchedulerAction::SwitchTo(target);
        }
    }

    /// Decides the thread that runs next (seL4's `schedule`).
    pub(crate) fn schedule(&mut self) {
        if self.action != SchedulerAction::ResumeCurrent {
            let was_runnable = self.cur != self.idle && self.cur.is_runnable();
            if was_runnable {
                self.sched_enqueue(self.cur);
            }
            match self.action {
                SchedulerAction::SwitchTo(candidate) if candidate.is_runnable() => {
                    let cand_prio = candidate.get().priority;
                    let fastfail = self.cur == self.idle || cand_prio < self.cur.get().priority;
                    if fastfail && self.highest_prio().is_some_and(|p| p > cand_prio) {
                        self.sched_enqueue(candidate);
                        self.choose_thread();
                    } else if was_runnable && cand_prio == self.cur.get().priority {
                        self.sched_append(candidate);
                        self.choose_thread();
                    } else {
                        self.switch_to_thread(candidate);
                    }
                }
                _ => self.choose_thread(),
            }
        }
        self.action = SchedulerAction::ResumeCurrent;
    }

    /// Switches to the highest-priority ready thread, or idles (seL4's
    /// `chooseThread`).
    fn choose_thread(&mut self) {
        match self.highest_prio() {
            Some(p) => {
                let t = TcbRef(self.ready[p as usize].head);
                self.switch_to_thread(t);
            }
            None => self.cur = self.idle,
        }
    }

    fn switch_to_thread(&mut self, t: TcbRef) {
        self.sched_dequeue(t);
        self.cur = t;
    }

    /// Prepares the current thread to run (seL4's `activateThread`): a
    /// thread in `Restart` resumes at its restart address.
    pub(crate) fn activate_thread(&mut self) {
        let t = self.cur;
        match t.state() {
            ThreadState::Running | ThreadState::Idle => {}
            ThreadState::Restart => {
                let tcb = t.get();
                tcb.context.pc = tcb.fault_ip;
                tcb.state = ThreadState::Running;
            }
            s => {
                kprint!(
                    self.arch,
                    "kernel: bug: blocked thread \"{}\" ({:?}) chosen to run\n",
                    Name(&t.get().name),
                    s
                );
                self.cur = self.idle;
            }
        }
    }

    /// One timer tick: the running thread's slice shrinks; when it ends, the
    /// thread goes to the back of its queue with a new slice (seL4's
    /// `timerTick`).
    pub(crate) fn timer_tick(&mut self) {
        let t = self.cur;
        if t != self.idle && t.state() == ThreadState::Running {
            let tcb = t.get();
            if tcb.time_slice > 1 {
                tcb.time_slice -= 1;
            } else {
                tcb.time_slice = TIME_SLICE_TICKS;
                self.sched_append(t);
                self.reschedule_required();
            }
        }
    }

    /// `Yield`: to the back of the queue (seL4's `handleYield`).
    #[inline(never)] // keeps the syscall dispatcher small (its prologue is on every path)
    pub(crate) fn handle_yield(&mut self) {
        let t = self.cur;
        self.sched_dequeue(t);
        self.sched_append(t);
        self.reschedule_required();
    }

    /// Adds `t` to the list of all threads.
    pub(crate) fn debug_link(&mut self, t: TcbRef) {
        let head = self.debug_tcbs;
        if let Some(h) = TcbRef::link(head) {
            h.get().debug_prev = t.0;
        }
        let tcb = t.get();
        tcb.debug_next = head;
        tcb.debug_prev = 0;
        self.debug_tcbs = t.0;
    }

    /// Removes `t` from the list of all threads.
    pub(crate) fn debug_unlink(&mut self, t: TcbRef) {
        let (prev, next) = (t.get().debug_prev, t.get().debug_next);
        match TcbRef::link(prev) {
            Some(p) => p.get().debug_next = next,
            None if self.debug_tcbs == t.0 => self.debug_tcbs = next,
            None => {}
        }
        if let Some(n) = TcbRef::link(next) {
            n.get().debug_prev = prev;
        }
        let tcb = t.get();
        tcb.debug_next = 0;
        tcb.debug_prev = 0;
    }
}

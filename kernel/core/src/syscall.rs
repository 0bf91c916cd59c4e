//! Kernel entry points and system call dispatch (seL4's `syscall.c` and
//! `decodeInvocation`).
//!
//! Every entry ends the same way: the scheduler picks the thread to run
//! ([`Kernel::schedule`]) and makes it ready to run
//! ([`Kernel::activate_thread`]). An invocation follows seL4's protocol:
//! looking up the invoked cap or an extra cap may fail, which is a cap fault
//! (delivered only for blocking calls); decoding may fail, which is an
//! error reply (only for `Call`); a decoder that accepts sets the caller to
//! `Restart` and performs the operation; if the caller is still `Restart`
//! afterwards the operation finished at once, and a `Call` gets an empty
//! success reply.

use crate::cap::{Cap, SlotRef};
use crate::cspace::{lookup_cap, lookup_slot};
use crate::error::{SysResult, SyscallError};
use crate::fault::Fault;
use crate::object::{EpRef, NtfnRef};
use crate::print::{Name, kprint};
use crate::registers::{
    BufRef, CAP_REGISTER, MSG_INFO_REGISTER, N_MSG_REGISTERS, get_mr, message_info, set_mr,
};
use crate::sched::SchedulerAction;
use crate::tcb::{TCB_CALLER, TcbRef, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::message::MSG_MAX_EXTRA_CAPS;
use sel4_sys::{InvocationLabel, MessageInfo, Syscall};

/// An invocation being decoded: the invoked cap and where it came from, the
/// message, the extra caps and the caller's buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Invocation {
    pub(crate) label: InvocationLabel,
    /// Message length, truncated to 4 when the caller has no IPC buffer.
    pub(crate) length: u64,
    pub(crate) slot: SlotRef,
    pub(crate) cap: Cap,
    pub(crate) extra: [Option<SlotRef>; MSG_MAX_EXTRA_CAPS],
    pub(crate) buffer: Option<BufRef>,
    pub(crate) thread: TcbRef,
    pub(crate) block: bool,
    pub(crate) call: bool,
}

impl Invocation {
    /// Argument (message register) `i`.
    pub(crate) fn arg(&self, i: u64) -> u64 {
        get_mr(self.thread, self.buffer, i)
    }

    /// Extra cap `i`'s slot.
    pub(crate) fn extra(&self, i: usize) -> Option<SlotRef> {
        self.extra.get(i).copied().flatten()
    }

    /// `TruncatedMessage` unless there are `n` arguments and `caps` extra
    /// caps.
    pub(crate) fn need(&self, n: u64, caps: usize) -> SysResult {
        if self.length < n || (caps > 0 && self.extra(caps - 1).is_none()) {
            Err(SyscallError::TruncatedMessage)
        } else {
            Ok(())
        }
    }
}

impl<A: Arch> Kernel<A> {
    /// A system call: `number` is the value the thread put in x7; the
    /// context holds its other registers, `pc` the instruction after the
    /// `svc`.
    #[inline(always)]
    pub fn handle_syscall(&mut self, number: u64) {
        if self.cur != self.idle {
            let t = self.cur.get();
            t.fault_ip = t.context.pc.wrapping_sub(4);
            match Syscall::from_word(number) {
                Some(Syscall::Send) => self.handle_invocation(false, true),
                Some(Syscall::NBSend) => self.handle_invocation(false, false),
                Some(Syscall::Call) => self.handle_invocation(true, true),
                Some(Syscall::Recv) => self.handle_recv(true),
                Some(Syscall::NBRecv) => self.handle_recv(false),
                Some(Syscall::Reply) => self.handle_reply(),
                Some(Syscall::ReplyRecv) => {
                    self.handle_reply();
                    self.handle_recv(true);
                }
                Some(Syscall::Yield) => self.handle_yield(),
                Some(Syscall::DebugPutChar) => {
                    let c = self.cur.get().context.regs[CAP_REGISTER] as u8;
                    self.arch.putchar(c);
                }
                Some(Syscall::DebugDumpScheduler) => self.dump_scheduler(),
                Some(Syscall::BenchmarkNullSyscall) => {}
                Some(Syscall::DebugHalt) => {
                    let t = self.cur;
                    kprint!(
                        self.arch,
                        "kernel: debug halt from thread \"{}\" (tcb {:#x})\n",
                        Name(&t.get().name),
                        t.0
                    );
                    self.arch.halt()
                }
                None => self.handle_fault(self.cur, Fault::UnknownSyscall { number }),
            }
        }
        if self.action != SchedulerAction::ResumeCurrent {
            self.schedule();
        }
        self.activate_thread();
    }

    /// A send phase: `Send`, `NBSend` or `Call` on the cap in x0 (seL4's
    /// `handleInvocation`).
    #[inline(never)] // keeps the syscall dispatcher small (its prologue is on every path)
    fn handle_invocation(&mut self, call: bool, block: bool) {
        let thread = self.cur;
        let info = message_info(thread.get().context.regs[MSG_INFO_REGISTER]);
        let cptr = thread.get().context.regs[CAP_REGISTER];
        let slot = match lookup_slot(thread, cptr) {
            Ok(s) => s,
            Err(lookup) => {
                if block {
                    self.handle_fault(thread, Fault::Cap { addr: cptr, in_receive: false, lookup });
                }
                return;
            }
        };
        let buffer = self.lookup_ipc_buffer(false, thread);
        let extra = match lookup_extra_caps(thread, buffer, info) {
            Ok(e) => e,
            Err(fault) => {
                if block {
                    self.handle_fault(thread, fault);
                }
                return;
            }
        };
        let mut length = info.length();
        if length > N_MSG_REGISTERS && buffer.is_none() {
            length = N_MSG_REGISTERS;
        }
        let inv = Invocation {
            label: InvocationLabel::from_word(info.label()),
            length,
            slot,
            cap: slot.cap(),
            extra,
            buffer,
            thread,
            block,
            call,
        };
        match self.decode_invocation(&inv) {
            Err(e) => {
                if call {
                    self.reply_from_kernel_error(thread, e);
                }
            }
            Ok(()) => {
                if thread.state() == ThreadState::Restart {
                    if call {
                        reply_from_kernel_success_empty(thread);
                    }
                    self.set_thread_state(thread, ThreadState::Running);
                }
            }
        }
    }

    /// Dispatches an invocation by the invoked cap's type.
    fn decode_invocation(&mut self, inv: &Invocation) -> SysResult {
        match inv.cap {
            Cap::Null | Cap::Zombie { .. } => Err(SyscallError::InvalidCapability(0)),
            Cap::Endpoint { ptr, badge, rights } => {
                if !rights.can_write() {
                    return Err(SyscallError::InvalidCapability(0));
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.send_ipc(
                    inv.block,
                    inv.call,
                    badge,
                    rights.can_grant(),
                    rights.can_grant_reply(),
                    inv.thread,
                    EpRef(ptr),
                );
                Ok(())
            }
            Cap::Notification { ptr, badge, rights } => {
                if !rights.can_write() {
                    return Err(SyscallError::InvalidCapability(0));
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.send_signal(NtfnRef(ptr), badge);
                Ok(())
            }
            Cap::Reply { master: true, .. } => Err(SyscallError::InvalidCapability(0)),
            Cap::Reply { tcb, can_grant, .. } => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.do_reply_transfer(inv.thread, TcbRef(tcb), inv.slot, can_grant);
                Ok(())
            }
            Cap::Tcb { .. } => self.decode_tcb_invocation(inv),
            Cap::Domain => self.decode_domain_invocation(inv),
            Cap::CNode { .. } => self.decode_cnode_invocation(inv),
            Cap::Untyped { .. } => self.decode_untyped_invocation(inv),
            Cap::IrqControl => self.decode_irq_control_invocation(inv),
            Cap::IrqHandler { irq } => self.decode_irq_handler_invocation(inv, irq),
            Cap::Frame { .. }
            | Cap::PageTable { .. }
            | Cap::VSpace { .. }
            | Cap::AsidControl
            | Cap::AsidPool { .. } => self.decode_mmu_invocation(inv),
            Cap::Vcpu { ptr } => self.decode_vcpu_invocation(inv, ptr),
        }
    }

    /// A receive phase: `Recv` or `NBRecv` on the cap in x0 (seL4's
    /// `handleRecv`). An endpoint needs Read; a notification needs Read and
    /// must not be bound to another thread.
    #[inline(never)] // keeps the syscall dispatcher small (its prologue is on every path)
    fn handle_recv(&mut self, block: bool) {
        let thread = self.cur;
        let cptr = thread.get().context.regs[CAP_REGISTER];
        let missing = Fault::Cap {
            addr: cptr,
            in_receive: true,
            lookup: crate::error::LookupFault::MissingCapability { bits_left: 0 },
        };
        match lookup_cap(thread, cptr) {
            Err(lookup) => {
                self.handle_fault(thread, Fault::Cap { addr: cptr, in_receive: true, lookup })
            }
            Ok(cap @ Cap::Endpoint { rights, .. }) => {
                if !rights.can_read() {
                    self.handle_fault(thread, missing);
                    return;
                }
                self.delete_caller_cap(thread);
                self.receive_ipc(thread, cap, block);
            }
            Ok(Cap::Notification { ptr, rights, .. }) => {
                let bound = NtfnRef(ptr).get().bound_tcb;
                if !rights.can_read() || (bound != 0 && bound != thread.0) {
                    self.handle_fault(thread, missing);
                    return;
                }
                self.receive_signal(thread, NtfnRef(ptr), block);
            }
            Ok(_) => self.handle_fault(thread, missing),
        }
    }

    /// `Reply`: answers the thread whose reply cap is in the caller slot
    /// (seL4's `handleReply`); nothing when there is none.
    #[inline(never)] // keeps the syscall dispatcher small (its prologue is on every path)
    fn handle_reply(&mut self) {
        let thread = self.cur;
        let slot = thread.slot(TCB_CALLER);
        if let &Cap::Reply { master: false, tcb, can_grant } = &slot.get().cap
            && tcb != thread.0
        {
            self.do_reply_transfer(thread, TcbRef(tcb), slot, can_grant);
        }
    }

    /// The error reply to a failed `Call` (seL4's `replyFromKernel_error`).
    pub(crate) fn reply_from_kernel_error(&mut self, thread: TcbRef, e: SyscallError) {
        let buffer = self.lookup_ipc_buffer(true, thread);
        thread.get().context.regs[CAP_REGISTER] = 0;
        let (words, n) = e.words();
        let mut len = 0;
        for (i, &w) in words[..n].iter().enumerate() {
            len = set_mr(thread, buffer, i as u64, w);
        }
        thread.get().context.regs[MSG_INFO_REGISTER] =
            MessageInfo::new(e.code() as u64, 0, 0, len).0;
    }

    /// Prints every thread with its state and priority, the current one
    /// first (seL4's `debug_dumpScheduler`).
    #[inline(never)] // keeps the syscall dispatcher small (its prologue is on every path)
    pub(crate) fn dump_scheduler(&mut self) {
        kprint!(self.arch, "kernel: threads:\n");
        self.print_thread(self.cur);
        let mut t = TcbRef::link(self.debug_tcbs);
        while let Some(tcb) = t {
            if tcb != self.cur {
                self.print_thread(tcb);
            }
            t = TcbRef::link(tcb.get().debug_next);
        }
    }

    fn print_thread(&mut self, t: TcbRef) {
        let (name, state, prio, queued) = {
            let r = t.get();
            (r.name, r.state, r.priority, r.queued)
        };
        let what = if t == self.cur {
            " current"
        } else if queued {
            " ready"
        } else {
            ""
        };
        kprint!(
            self.arch,
            "  {:#014x} \"{}\" {:?} prio {}{}\n",
            t.0,
            Name(&name),
            state,
            prio,
            what
        );
    }
}

/// An empty success reply (seL4's `replyFromKernel_success_empty`).
pub(crate) fn reply_from_kernel_success_empty(thread: TcbRef) {
    let ctx = &mut thread.get().context;
    ctx.regs[CAP_REGISTER] = 0;
    ctx.regs[MSG_INFO_REGISTER] = MessageInfo::new(0, 0, 0, 0).0;
}

/// The slots of the extra caps named in the sender's buffer (seL4's
/// `lookupExtraCaps`); a failed lookup is a cap fault.
pub(crate) fn lookup_extra_caps(
    thread: TcbRef,
    buffer: Option<BufRef>,
    info: MessageInfo,
) -> Result<[Option<SlotRef>; MSG_MAX_EXTRA_CAPS], Fault> {
    let mut extra = [None; MSG_MAX_EXTRA_CAPS];
    let Some(b) = buffer else {
        return Ok(extra);
    };
    for (i, e) in extra.iter_mut().enumerate().take(info.extra_caps() as usize) {
        let cptr = b.cap_or_badge(i);
        match lookup_slot(thread, cptr) {
            Ok(s) => *e = Some(s),
            Err(lookup) => return Err(Fault::Cap { addr: cptr, in_receive: false, lookup }),
        }
    }
    Ok(extra)
}

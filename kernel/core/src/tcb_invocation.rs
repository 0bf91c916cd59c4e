//! TCB and domain invocations (seL4's `decodeTCBInvocation` and
//! `invokeTCB_*` in `tcb.c`, `decodeDomainInvocation`).
//!
//! Priorities are checked against the maximum controlled priority (MCP) of
//! an authority TCB given as extra cap. Register transfers use seL4's
//! aarch64 `seL4_UserContext` order ([`sel4_sys::UserContext`]): pc, sp,
//! spsr, x0-x8, x16-x18, x29, x30, x9-x15, x19-x28, tpidr_el0, tpidrro_el0.

use crate::cap::{Cap, SlotRef};
use crate::cdt::{cte_insert, derive_cap, is_final_capability};
use crate::error::{SysResult, SyscallError};
use crate::object::NtfnRef;
use crate::registers::{CAP_REGISTER, MSG_INFO_REGISTER, USER_REGS, get_reg, set_mr, set_reg};
use crate::syscall::Invocation;
use crate::tcb::{TCB_BUFFER, TCB_CTABLE, TCB_VTABLE, TcbRef, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::context::{USER_CONTEXT_FRAME_WORDS, USER_CONTEXT_WORDS};
use sel4_sys::message::IPC_BUFFER_SIZE_BITS;
use sel4_sys::{InvocationLabel as L, MessageInfo};

/// The new CSpace/VSpace roots of a `Configure`/`SetSpace`: each derived
/// cap with the slot it came from.
struct Space {
    fault_ep: u64,
    croot: (Cap, SlotRef),
    vroot: (Cap, SlotRef),
}

/// What `invoke_thread_control` changes.
#[derive(Default)]
struct ThreadControl {
    space: Option<Space>,
    /// New IPC buffer address, with the derived frame cap and its slot
    /// (none when the address is 0).
    buffer: Option<(u64, Option<(Cap, SlotRef)>)>,
    mcp: Option<u8>,
    priority: Option<u8>,
}

/// Whether deleting the cap in `slot` would destroy a CNode or TCB (seL4's
/// `slotCapLongRunningDelete`).
fn slot_cap_long_running_delete(slot: SlotRef) -> bool {
    matches!(slot.cap(), Cap::Tcb { .. } | Cap::Zombie { .. } | Cap::CNode { .. })
        && is_final_capability(slot)
}

/// seL4's `checkValidIPCBuffer`: a non-device frame, 1 KiB alignment.
fn check_valid_ipc_buffer(vaddr: u64, cap: Cap) -> SysResult {
    match cap {
        Cap::Frame { device: false, .. } => {}
        _ => return Err(SyscallError::IllegalOperation),
    }
    if vaddr & ((1 << IPC_BUFFER_SIZE_BITS) - 1) != 0 {
        return Err(SyscallError::AlignmentError);
    }
    Ok(())
}

/// seL4's `checkPrio`: at most the authority's MCP.
fn check_prio(prio: u64, auth: TcbRef) -> SysResult<u8> {
    let mcp = auth.get().mcp;
    if prio > mcp as u64 {
        return Err(SyscallError::RangeError { min: 0, max: mcp as u64 });
    }
    Ok(prio as u8)
}

impl<A: Arch> Kernel<A> {
    pub(crate) fn decode_tcb_invocation(&mut self, inv: &Invocation) -> SysResult {
        let Cap::Tcb { ptr } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        let target = TcbRef(ptr);
        match inv.label {
            L::TcbReadRegisters => self.decode_read_registers(inv, target),
            L::TcbWriteRegisters => self.decode_write_registers(inv, target),
            L::TcbCopyRegisters => self.decode_copy_registers(inv, target),
            L::TcbSuspend => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.suspend(target);
                Ok(())
            }
            L::TcbResume => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.restart(target);
                Ok(())
            }
            L::TcbConfigure => self.decode_configure(inv, target),
            L::TcbSetPriority => {
                inv.need(1, 1)?;
                let auth = self.authority(inv)?;
                let prio = check_prio(inv.arg(0), auth)?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let tc = ThreadControl { priority: Some(prio), ..Default::default() };
                self.invoke_thread_control(target, None, tc);
                Ok(())
            }
            L::TcbSetMcPriority => {
                inv.need(1, 1)?;
                let auth = self.authority(inv)?;
                let mcp = check_prio(inv.arg(0), auth)?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let tc = ThreadControl { mcp: Some(mcp), ..Default::default() };
                self.invoke_thread_control(target, None, tc);
                Ok(())
            }
            L::TcbSetSchedParams => {
                inv.need(2, 1)?;
                let auth = self.authority(inv)?;
                let mcp = check_prio(inv.arg(0), auth)?;
                let prio = check_prio(inv.arg(1), auth)?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let tc =
                    ThreadControl { mcp: Some(mcp), priority: Some(prio), ..Default::default() };
                self.invoke_thread_control(target, None, tc);
                Ok(())
            }
            L::TcbSetIpcBuffer => {
                inv.need(1, 1)?;
                let addr = inv.arg(0);
                let buffer = self.buffer_arg(inv, 0, addr)?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let tc = ThreadControl { buffer: Some((addr, buffer)), ..Default::default() };
                self.invoke_thread_control(target, Some(inv.slot), tc);
                Ok(())
            }
            L::TcbSetSpace => {
                inv.need(3, 2)?;
                let space = self.space_args(inv, target, inv.arg(0), inv.arg(1), inv.arg(2))?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let tc = ThreadControl { space: Some(space), ..Default::default() };
                self.invoke_thread_control(target, Some(inv.slot), tc);
                Ok(())
            }
            L::TcbBindNotification => self.decode_bind_notification(inv, target),
            L::TcbUnbindNotification => {
                if target.get().bound_notification == 0 {
                    return Err(SyscallError::IllegalOperation);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.unbind_notification(target);
                Ok(())
            }
            L::TcbSetTlsBase => {
                inv.need(1, 0)?;
                let base = inv.arg(0);
                self.set_thread_state(inv.thread, ThreadState::Restart);
                target.get().context.tpidr_el0 = base;
                if target == self.cur {
                    // The exit must load TPIDR_EL0 again (see space_epoch).
                    self.space_changed();
                    self.reschedule_required();
                }
                Ok(())
            }
            _ => Err(SyscallError::IllegalOperation),
        }
    }

    /// The authority TCB of a priority change (extra cap 0).
    fn authority(&self, inv: &Invocation) -> SysResult<TcbRef> {
        match inv.extra(0).map(|s| s.cap()) {
            Some(Cap::Tcb { ptr }) => Ok(TcbRef(ptr)),
            _ => Err(SyscallError::InvalidCapability(1)),
        }
    }

    /// The IPC buffer frame (extra cap `i`) for buffer address `addr`.
    fn buffer_arg(
        &self,
        inv: &Invocation,
        i: usize,
        addr: u64,
    ) -> SysResult<Option<(Cap, SlotRef)>> {
        if addr == 0 {
            return Ok(None);
        }
        let slot = inv.extra(i).ok_or(SyscallError::TruncatedMessage)?;
        let cap = derive_cap(slot, slot.cap())?;
        check_valid_ipc_buffer(addr, cap)?;
        Ok(Some((cap, slot)))
    }

    /// The new roots of `Configure`/`SetSpace` (extra caps 0 and 1).
    fn space_args(
        &self,
        inv: &Invocation,
        target: TcbRef,
        fault_ep: u64,
        croot_data: u64,
        vroot_data: u64,
    ) -> SysResult<Space> {
        let (Some(cslot), Some(vslot)) = (inv.extra(0), inv.extra(1)) else {
            return Err(SyscallError::TruncatedMessage);
        };
        if slot_cap_long_running_delete(target.slot(TCB_CTABLE))
            || slot_cap_long_running_delete(target.slot(TCB_VTABLE))
        {
            return Err(SyscallError::IllegalOperation);
        }
        let mut ccap = cslot.cap();
        if croot_data != 0 {
            ccap = ccap.update_data(false, croot_data);
        }
        let ccap = derive_cap(cslot, ccap)?;
        if !matches!(ccap, Cap::CNode { .. }) {
            return Err(SyscallError::IllegalOperation);
        }
        let mut vcap = vslot.cap();
        if vroot_data != 0 {
            vcap = vcap.update_data(false, vroot_data);
        }
        let vcap = derive_cap(vslot, vcap)?;
        if !matches!(vcap, Cap::VSpace { asid: Some(_), .. }) {
            return Err(SyscallError::IllegalOperation);
        }
        Ok(Space { fault_ep, croot: (ccap, cslot), vroot: (vcap, vslot) })
    }

    fn decode_configure(&mut self, inv: &Invocation, target: TcbRef) -> SysResult {
        inv.need(4, 3)?;
        let (fault_ep, croot_data, vroot_data, addr) =
            (inv.arg(0), inv.arg(1), inv.arg(2), inv.arg(3));
        let buffer = self.buffer_arg(inv, 2, addr)?;
        let space = self.space_args(inv, target, fault_ep, croot_data, vroot_data)?;
        self.set_thread_state(inv.thread, ThreadState::Restart);
        let tc = ThreadControl {
            space: Some(space),
            buffer: Some((addr, buffer)),
            ..Default::default()
        };
        self.invoke_thread_control(target, Some(inv.slot), tc);
        Ok(())
    }

    /// seL4's `invokeTCB_ThreadControl`. New caps are only installed if
    /// their source caps and the invoked TCB cap survived the deletion of
    /// the old ones.
    fn invoke_thread_control(&mut self, target: TcbRef, slot: Option<SlotRef>, tc: ThreadControl) {
        let tcap = Cap::Tcb { ptr: target.0 };
        let tcb_alive = |s: Option<SlotRef>| s.is_some_and(|s| tcap.same_object_as(&s.cap()));
        if let Some(space) = &tc.space {
            target.get().fault_handler = space.fault_ep;
        }
        if let Some(mcp) = tc.mcp {
            target.get().mcp = mcp;
        }
        if let Some(space) = tc.space {
            self.space_changed();
            for (i, (cap, src)) in [(TCB_CTABLE, space.croot), (TCB_VTABLE, space.vroot)] {
                let root = target.slot(i);
                self.cte_delete(root);
                if cap.same_object_as(&src.cap()) && tcb_alive(slot) {
                    cte_insert(cap, src, root);
                }
            }
        }
        if let Some((addr, frame)) = tc.buffer {
            let bslot = target.slot(TCB_BUFFER);
            self.cte_delete(bslot);
            target.get().ipc_buffer = addr;
            if let Some((cap, src)) = frame
                && cap.same_object_as(&src.cap())
                && tcb_alive(slot)
            {
                cte_insert(cap, src, bslot);
            }
            if target == self.cur {
                self.reschedule_required();
            }
        }
        if let Some(prio) = tc.priority {
            self.set_priority(target, prio);
        }
    }

    /// seL4's `setPriority`.
    pub(crate) fn set_priority(&mut self, t: TcbRef, prio: u8) {
        self.sched_dequeue(t);
        t.get().priority = prio;
        if t.is_runnable() {
            if t == self.cur {
                self.reschedule_required();
            } else {
                self.possible_switch_to(t);
            }
        }
    }

    fn decode_bind_notification(&mut self, inv: &Invocation, target: TcbRef) -> SysResult {
        let slot = inv.extra(0).ok_or(SyscallError::TruncatedMessage)?;
        if target.get().bound_notification != 0 {
            return Err(SyscallError::IllegalOperation);
        }
        let Cap::Notification { ptr, rights, .. } = slot.cap() else {
            return Err(SyscallError::IllegalOperation);
        };
        if !rights.can_read() {
            return Err(SyscallError::IllegalOperation);
        }
        let n = NtfnRef(ptr);
        if n.get().queue().head != 0 || n.get().bound_tcb != 0 {
            return Err(SyscallError::IllegalOperation);
        }
        self.set_thread_state(inv.thread, ThreadState::Restart);
        self.bind_notification(target, n);
        Ok(())
    }

    /// MR0 bit 0: suspend first; MR1: how many registers. The reply holds
    /// them in order.
    fn decode_read_registers(&mut self, inv: &Invocation, target: TcbRef) -> SysResult {
        inv.need(2, 0)?;
        let (flags, n) = (inv.arg(0), inv.arg(1));
        if !(1..=USER_CONTEXT_WORDS as u64).contains(&n) {
            return Err(SyscallError::RangeError { min: 1, max: USER_CONTEXT_WORDS as u64 });
        }
        if target == self.cur {
            return Err(SyscallError::IllegalOperation);
        }
        let thread = inv.thread;
        self.set_thread_state(thread, ThreadState::Restart);
        if flags & 1 != 0 {
            self.suspend(target);
        }
        if inv.call {
            let buffer = self.lookup_ipc_buffer(true, thread);
            thread.get().context.regs[CAP_REGISTER] = 0;
            let mut len = 0;
            for (i, &r) in USER_REGS[..n as usize].iter().enumerate() {
                len = set_mr(thread, buffer, i as u64, get_reg(target, r));
            }
            thread.get().context.regs[MSG_INFO_REGISTER] = MessageInfo::new(0, 0, 0, len).0;
        }
        self.set_thread_state(thread, ThreadState::Running);
        Ok(())
    }

    /// MR0 bit 0: resume the target; MR1: how many registers; MR2..: the
    /// registers in order.
    fn decode_write_registers(&mut self, inv: &Invocation, target: TcbRef) -> SysResult {
        inv.need(2, 0)?;
        let (flags, w) = (inv.arg(0), inv.arg(1));
        if inv.length - 2 < w {
            return Err(SyscallError::TruncatedMessage);
        }
        if target == self.cur {
            return Err(SyscallError::IllegalOperation);
        }
        self.set_thread_state(inv.thread, ThreadState::Restart);
        let n = (w as usize).min(USER_CONTEXT_WORDS);
        for (i, &r) in USER_REGS[..n].iter().enumerate() {
            set_reg(target, r, inv.arg(i as u64 + 2));
        }
        let t = target.get();
        t.context.pc = t.fault_ip;
        if flags & 1 != 0 {
            self.restart(target);
        }
        if target == self.cur {
            self.reschedule_required();
        }
        Ok(())
    }

    /// MR0 flags (bit 0 suspend source, 1 resume target, 2 frame registers,
    /// 3 the other integer registers); extra cap 0 the source TCB.
    fn decode_copy_registers(&mut self, inv: &Invocation, target: TcbRef) -> SysResult {
        inv.need(1, 1)?;
        let flags = inv.arg(0);
        let Some(Cap::Tcb { ptr }) = inv.extra(0).map(|s| s.cap()) else {
            return Err(SyscallError::InvalidCapability(1));
        };
        let src = TcbRef(ptr);
        self.set_thread_state(inv.thread, ThreadState::Restart);
        if flags & 1 != 0 {
            self.suspend(src);
        }
        if flags & 2 != 0 {
            self.restart(target);
        }
        if flags & 4 != 0 {
            for &r in &USER_REGS[..USER_CONTEXT_FRAME_WORDS] {
                set_reg(target, r, get_reg(src, r));
            }
            let t = target.get();
            t.context.pc = t.fault_ip;
        }
        if flags & 8 != 0 {
            for &r in &USER_REGS[USER_CONTEXT_FRAME_WORDS..] {
                set_reg(target, r, get_reg(src, r));
            }
        }
        if target == self.cur {
            self.reschedule_required();
        }
        Ok(())
    }

    /// `DomainSetSet`: MR0 the domain (only 0 exists); extra cap 0 the TCB.
    pub(crate) fn decode_domain_invocation(&mut self, inv: &Invocation) -> SysResult {
        if inv.label != L::DomainSetSet {
            return Err(SyscallError::IllegalOperation);
        }
        inv.need(1, 0)?;
        if inv.arg(0) >= 1 {
            return Err(SyscallError::InvalidArgument(0));
        }
        let slot = inv.extra(0).ok_or(SyscallError::TruncatedMessage)?;
        let Cap::Tcb { ptr } = slot.cap() else {
            return Err(SyscallError::InvalidArgument(1));
        };
        self.set_thread_state(inv.thread, ThreadState::Restart);
        let t = TcbRef(ptr);
        self.sched_dequeue(t);
        t.get().domain = 0;
        if t.is_runnable() && t != self.cur {
            self.sched_enqueue(t);
        }
        if t == self.cur {
            self.reschedule_required();
        }
        Ok(())
    }
}

//! The TCB invocations.

use super::{invoke, invoke_with_reply};
use crate::sys::InvocationLabel;
use crate::user_context::USER_CONTEXT_NUM_REGS;
use crate::{CNodeCapData, CPtr, Result, UserContext, Word, cap};

impl cap::Tcb {
    fn tcb_invoke(self, label: InvocationLabel, args: &[Word], caps: &[CPtr]) -> Result<()> {
        invoke(self.cptr(), label, args, caps)
    }

    /// `seL4_TCB_Configure`: fault endpoint (a cptr in the thread's own
    /// CSpace), CSpace root and its guard, VSpace root, IPC buffer address
    /// and frame, in one call.
    pub fn tcb_configure(
        self,
        fault_ep: CPtr,
        cspace_root: cap::CNode,
        cspace_root_data: CNodeCapData,
        vspace_root: cap::VSpace,
        ipc_buffer: Word,
        ipc_buffer_frame: cap::Granule,
    ) -> Result<()> {
        let args = [fault_ep.bits(), cspace_root_data.into_word(), 0, ipc_buffer];
        let caps = [cspace_root.cptr(), vspace_root.cptr(), ipc_buffer_frame.cptr()];
        self.tcb_invoke(InvocationLabel::TcbConfigure, &args, &caps)
    }

    /// `seL4_TCB_SetSpace`: fault endpoint, CSpace root and guard, VSpace root.
    pub fn tcb_set_space(
        self,
        fault_ep: CPtr,
        cspace_root: cap::CNode,
        cspace_root_data: CNodeCapData,
        vspace_root: cap::VSpace,
    ) -> Result<()> {
        let args = [fault_ep.bits(), cspace_root_data.into_word(), 0];
        let caps = [cspace_root.cptr(), vspace_root.cptr()];
        self.tcb_invoke(InvocationLabel::TcbSetSpace, &args, &caps)
    }

    /// `seL4_TCB_SetIPCBuffer`: the buffer's address and frame.
    pub fn tcb_set_ipc_buffer(
        self,
        ipc_buffer: Word,
        ipc_buffer_frame: cap::Granule,
    ) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbSetIpcBuffer, &[ipc_buffer], &[ipc_buffer_frame.cptr()])
    }

    /// `seL4_TCB_SetPriority`, bounded by `authority`'s maximum controlled
    /// priority.
    pub fn tcb_set_priority(self, authority: cap::Tcb, priority: Word) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbSetPriority, &[priority], &[authority.cptr()])
    }

    /// `seL4_TCB_SetMCPriority`, bounded by `authority`'s.
    pub fn tcb_set_mc_priority(self, authority: cap::Tcb, mcp: Word) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbSetMcPriority, &[mcp], &[authority.cptr()])
    }

    /// `seL4_TCB_ReadRegisters`: the first `count` registers (in
    /// [`UserContext`] order; the rest are 0), suspending the thread first
    /// if `suspend`.
    pub fn tcb_read_registers(self, suspend: bool, count: Word) -> Result<UserContext> {
        let args = [suspend.into(), count];
        let label = InvocationLabel::TcbReadRegisters;
        invoke_with_reply(self.cptr(), label, &args, &[], |buf, info| {
            let n = info.length().min(count as usize).min(USER_CONTEXT_NUM_REGS);
            let mut words = [0; USER_CONTEXT_NUM_REGS];
            words[..n].copy_from_slice(&buf.msg_regs()[..n]);
            UserContext::from_words(&words)
        })
    }

    /// [`tcb_read_registers`](Self::tcb_read_registers) of all registers.
    pub fn tcb_read_all_registers(self, suspend: bool) -> Result<UserContext> {
        self.tcb_read_registers(suspend, USER_CONTEXT_NUM_REGS as Word)
    }

    /// `seL4_TCB_WriteRegisters`: sets the first `count` registers of
    /// `regs`, then resumes the thread if `resume`.
    ///
    /// # Panics
    ///
    /// If `count` is more than [`USER_CONTEXT_NUM_REGS`].
    pub fn tcb_write_registers(self, resume: bool, count: Word, regs: &UserContext) -> Result<()> {
        let n = count as usize;
        assert!(n <= USER_CONTEXT_NUM_REGS, "{n} registers > {USER_CONTEXT_NUM_REGS}");
        let mut args = [0; 2 + USER_CONTEXT_NUM_REGS];
        args[0] = resume.into();
        args[1] = count;
        args[2..2 + n].copy_from_slice(&regs.to_words()[..n]);
        self.tcb_invoke(InvocationLabel::TcbWriteRegisters, &args[..2 + n], &[])
    }

    /// [`tcb_write_registers`](Self::tcb_write_registers) of all registers.
    pub fn tcb_write_all_registers(self, resume: bool, regs: &UserContext) -> Result<()> {
        self.tcb_write_registers(resume, USER_CONTEXT_NUM_REGS as Word, regs)
    }

    /// `seL4_TCB_Resume`.
    pub fn tcb_resume(self) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbResume, &[], &[])
    }

    /// `seL4_TCB_Suspend`.
    pub fn tcb_suspend(self) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbSuspend, &[], &[])
    }

    /// `seL4_TCB_BindNotification`: signals to `notification` then also
    /// end a `Recv` of this thread on any endpoint.
    pub fn tcb_bind_notification(self, notification: cap::Notification) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbBindNotification, &[], &[notification.cptr()])
    }

    /// `seL4_TCB_UnbindNotification`.
    pub fn tcb_unbind_notification(self) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbUnbindNotification, &[], &[])
    }

    /// `seL4_TCB_SetTLSBase`: the thread's `TPIDR_EL0`.
    pub fn tcb_set_tls_base(self, tls_base: Word) -> Result<()> {
        self.tcb_invoke(InvocationLabel::TcbSetTlsBase, &[tls_base], &[])
    }
}

//! The IRQControl and IRQHandler invocations.

use super::invoke;
use crate::sys::InvocationLabel;
use crate::{AbsoluteCPtr, Result, Word, cap};

impl cap::IrqControl {
    /// `seL4_IRQControl_Get`: a handler cap for `irq` (default trigger)
    /// into the slot `dst`.
    pub fn irq_control_get(self, irq: Word, dst: &AbsoluteCPtr) -> Result<()> {
        let args = [irq, dst.path().bits(), dst.path().depth() as Word];
        invoke(self.cptr(), InvocationLabel::IrqIssueIrqHandler, &args, &[dst.root().cptr()])
    }

    /// `seL4_IRQControl_GetTrigger`: a handler cap for `irq`, edge- or
    /// level-triggered, into the slot `dst`.
    pub fn irq_control_get_trigger(
        self,
        irq: Word,
        edge_triggered: bool,
        dst: &AbsoluteCPtr,
    ) -> Result<()> {
        let args = [irq, edge_triggered.into(), dst.path().bits(), dst.path().depth() as Word];
        let label = InvocationLabel::ArmIrqIssueIrqHandlerTrigger;
        invoke(self.cptr(), label, &args, &[dst.root().cptr()])
    }
}

impl cap::IrqHandler {
    /// `seL4_IRQHandler_Ack`: unmasks the interrupt after it was handled.
    pub fn irq_handler_ack(self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IrqAckIrq, &[], &[])
    }

    /// `seL4_IRQHandler_SetNotification`: the interrupt signals `notification`.
    pub fn irq_handler_set_notification(self, notification: cap::Notification) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IrqSetIrqHandler, &[], &[notification.cptr()])
    }

    /// `seL4_IRQHandler_Clear`: the interrupt signals nothing.
    pub fn irq_handler_clear(self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IrqClearIrqHandler, &[], &[])
    }
}

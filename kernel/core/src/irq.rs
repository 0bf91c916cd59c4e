//! Interrupts (seL4's `interrupt.c` and its ARM part): IRQ control hands
//! out one handler cap per IRQ; a handler binds a notification to its IRQ
//! and acknowledges it; the kernel signals the notification when the IRQ
//! fires, masking it until the handler's `Ack`.
//!
//! Each IRQ is inactive (no handler, masked), signalling (a handler cap
//! exists), the kernel's timer, or reserved by the kernel. The IRQ node
//! holds, per IRQ, the notification cap the handler set.

use crate::cap::{Cap, SlotRef};
use crate::cdt::{cte_insert, ensure_empty_slot};
use crate::cspace::lookup_target_slot;
use crate::error::{SysResult, SyscallError};
use crate::object::NtfnRef;
use crate::syscall::Invocation;
use crate::tcb::ThreadState;
use crate::{Arch, Kernel};
use sel4_sys::InvocationLabel as L;

/// Most IRQs the kernel tracks (GICv2: 1020 lines).
pub const MAX_IRQS: usize = 1024;

/// What an IRQ is used for (seL4's `irq_state_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IrqState {
    /// No handler: masked.
    #[default]
    Inactive,
    /// A handler cap exists: the IRQ signals its notification.
    Signal,
    /// The kernel's timer.
    Timer,
    /// Used by the kernel itself.
    Reserved,
}

impl<A: Arch> Kernel<A> {
    /// An interrupt other than the timer tick arrived (the timer's IRQ number
    /// ticks too). The architecture layer acknowledges it at the controller.
    pub fn handle_irq(&mut self, irq: u32) {
        if self.cur != self.idle {
            let t = self.cur.get();
            t.fault_ip = t.context.pc;
        }
        self.handle_interrupt(irq);
        self.schedule();
        self.activate_thread();
    }

    /// The kernel's timer ticked.
    pub fn handle_timer_tick(&mut self) {
        if self.cur != self.idle {
            let t = self.cur.get();
            t.fault_ip = t.context.pc;
        }
        self.timer_tick();
        self.schedule();
        self.activate_thread();
    }

    /// seL4's `handleInterrupt`.
    fn handle_interrupt(&mut self, irq: u32) {
        if irq >= self.num_irqs {
            self.arch.irq_set_masked(irq, true);
            return;
        }
        match self.irq_state[irq as usize] {
            IrqState::Signal => {
                if let Cap::Notification { ptr, badge, rights } = self.irq_slot(irq).cap()
                    && rights.can_write()
                {
                    self.send_signal(NtfnRef(ptr), badge);
                }
                self.arch.irq_set_masked(irq, true);
            }
            IrqState::Timer => self.timer_tick(),
            IrqState::Reserved => {}
            IrqState::Inactive => self.arch.irq_set_masked(irq, true),
        }
    }

    /// The IRQ node slot of `irq`.
    fn irq_slot(&self, irq: u32) -> SlotRef {
        SlotRef::at(self.irq_node, irq as u64)
    }

    /// Sets `irq`'s state, masking it when inactive and unmasking it
    /// otherwise (seL4's `setIRQState`).
    pub(crate) fn set_irq_state(&mut self, irq: u32, s: IrqState) {
        if let Some(st) = self.irq_state.get_mut(irq as usize) {
            *st = s;
            self.arch.irq_set_masked(irq, s == IrqState::Inactive);
        }
    }

    /// The handler cap of `irq` is being deleted: drop its notification
    /// (seL4's `deletingIRQHandler`).
    pub(crate) fn deleting_irq_handler(&mut self, irq: u32) {
        if (irq as usize) < MAX_IRQS && self.irq_node != 0 {
            self.cte_delete_one(self.irq_slot(irq));
        }
    }

    /// IssueIRQHandler (MR0 IRQ, MR1 index, MR2 depth) and
    /// IssueIRQHandlerTrigger (MR0 IRQ, MR1 trigger, MR2 index, MR3 depth);
    /// extra cap 0 the destination CNode.
    pub(crate) fn decode_irq_control_invocation(&mut self, inv: &Invocation) -> SysResult {
        let (irq_w, edge, index, depth) = match inv.label {
            L::IrqIssueIrqHandler => {
                inv.need(3, 1)?;
                (inv.arg(0), false, inv.arg(1), inv.arg(2))
            }
            L::ArmIrqIssueIrqHandlerTrigger => {
                inv.need(4, 1)?;
                (inv.arg(0), inv.arg(1) != 0, inv.arg(2), inv.arg(3))
            }
            _ => return Err(SyscallError::IllegalOperation),
        };
        let root = inv.extra(0).map(|s| s.cap()).unwrap_or_default();
        if irq_w >= self.num_irqs as u64 {
            return Err(SyscallError::RangeError {
                min: 0,
                max: (self.num_irqs as u64).saturating_sub(1),
            });
        }
        let irq = irq_w as u32;
        if self.irq_state[irq as usize] != IrqState::Inactive {
            return Err(SyscallError::RevokeFirst);
        }
        let dest = lookup_target_slot(root, index, depth)?;
        ensure_empty_slot(dest)?;
        self.set_thread_state(inv.thread, ThreadState::Restart);
        self.arch.irq_set_edge(irq, edge);
        self.set_irq_state(irq, IrqState::Signal);
        cte_insert(Cap::IrqHandler { irq }, inv.slot, dest);
        Ok(())
    }

    /// Ack (unmask), SetIRQHandler (extra cap 0 a notification with Write),
    /// ClearIRQHandler.
    pub(crate) fn decode_irq_handler_invocation(
        &mut self,
        inv: &Invocation,
        irq: u32,
    ) -> SysResult {
        match inv.label {
            L::IrqAckIrq => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.arch.irq_set_masked(irq, false);
                Ok(())
            }
            L::IrqSetIrqHandler => {
                let slot = inv.extra(0).ok_or(SyscallError::TruncatedMessage)?;
                let cap = slot.cap();
                match cap {
                    Cap::Notification { rights, .. } if rights.can_write() => {}
                    _ => return Err(SyscallError::InvalidCapability(0)),
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let irq_slot = self.irq_slot(irq);
                self.cte_delete_one(irq_slot);
                cte_insert(cap, slot, irq_slot);
                Ok(())
            }
            L::IrqClearIrqHandler => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.cte_delete_one(self.irq_slot(irq));
                Ok(())
            }
            _ => Err(SyscallError::IllegalOperation),
        }
    }
}

//! The VCPU invocations.
//!
//! Register numbers of `ReadRegs`/`WriteRegs` are seL4's `seL4_VCPUReg`
//! (`sel4_sys::vcpu`: `SCTLR` .. `CNTKCTL_EL1`), plus this kernel's
//! `WFX_TRAPS`.

use super::{invoke, invoke_with_reply};
use crate::sys::InvocationLabel;
use crate::{Result, Word, cap};

impl cap::Vcpu {
    /// `seL4_ARM_VCPU_SetTCB`: the thread that runs this VCPU.
    pub fn vcpu_set_tcb(self, tcb: cap::Tcb) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmVcpuSetTcb, &[], &[tcb.cptr()])
    }

    /// `seL4_ARM_VCPU_InjectIRQ`: puts virtual IRQ `virq` with `priority`
    /// and `group` in list register `index`.
    pub fn vcpu_inject_irq(self, virq: u16, priority: u8, group: u8, index: u8) -> Result<()> {
        let word = crate::sys::vcpu::inject_irq_word(virq, priority, group, index);
        invoke(self.cptr(), InvocationLabel::ArmVcpuInjectIrq, &[word], &[])
    }

    /// `seL4_ARM_VCPU_ReadRegs`: the VCPU register numbered `field`.
    pub fn vcpu_read_regs(self, field: Word) -> Result<Word> {
        let label = InvocationLabel::ArmVcpuReadReg;
        invoke_with_reply(self.cptr(), label, &[field], &[], |buf, _| buf.msg_regs()[0])
    }

    /// `seL4_ARM_VCPU_WriteRegs`: sets the VCPU register numbered `field`.
    pub fn vcpu_write_regs(self, field: Word, value: Word) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmVcpuWriteReg, &[field, value], &[])
    }

    /// `seL4_ARM_VCPU_AckVPPI`: unmasks virtual PPI `irq` after the guest
    /// handled it.
    pub fn vcpu_ack_vppi(self, irq: Word) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmVcpuAckVppi, &[irq], &[])
    }
}

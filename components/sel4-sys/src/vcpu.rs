//! The VCPU's register numbers (`seL4_VCPUReg`, aarch64) for
//! `ARMVCPUReadReg`/`ARMVCPUWriteReg`, the layout of `ARMVCPUInjectIRQ`'s
//! argument, and the GIC interrupt numbers the VCPU uses.
//!
//! Numbers 0-23 are seL4's. [`WFX_TRAPS`] is this kernel's addition: whether
//! the guest's WFI and WFE reach the VMM as VCPU faults (seL4's default and
//! this one's) or execute natively (seL4's `DISABLE_WFI_WFE_TRAPS` build
//! option, here chosen per VCPU).

pub const SCTLR: u64 = 0;
pub const TTBR0: u64 = 1;
pub const TTBR1: u64 = 2;
pub const TCR: u64 = 3;
pub const MAIR: u64 = 4;
pub const AMAIR: u64 = 5;
pub const CIDR: u64 = 6;
pub const ACTLR: u64 = 7;
pub const CPACR: u64 = 8;
pub const AFSR0: u64 = 9;
pub const AFSR1: u64 = 10;
pub const ESR: u64 = 11;
pub const FAR: u64 = 12;
pub const ISR: u64 = 13;
pub const VBAR: u64 = 14;
pub const TPIDR_EL1: u64 = 15;
pub const VMPIDR_EL2: u64 = 16;
pub const SP_EL1: u64 = 17;
pub const ELR_EL1: u64 = 18;
pub const SPSR_EL1: u64 = 19;
pub const CNTV_CTL: u64 = 20;
pub const CNTV_CVAL: u64 = 21;
pub const CNTVOFF: u64 = 22;
pub const CNTKCTL_EL1: u64 = 23;
/// Bit 0: trap WFI, bit 1: trap WFE (both set on a new VCPU).
pub const WFX_TRAPS: u64 = 24;
/// Number of VCPU registers.
pub const NUM_REGS: usize = 25;

/// A new VCPU's SCTLR_EL1: MMU and caches off, the RES1 bits set.
pub const SCTLR_DEFAULT: u64 = 0x30d0_0800;
/// A new VCPU's VMPIDR_EL2: affinity 0, the RES1 bit 31.
pub const VMPIDR_DEFAULT: u64 = 0x8000_0000;

/// `ARMVCPUInjectIRQ`'s message word: virtual IRQ in bits 0-15, priority
/// (0-31) in 16-23, group (0-1) in 24-31, list register index in 32-39.
pub const fn inject_irq_word(virq: u16, priority: u8, group: u8, index: u8) -> u64 {
    virq as u64 | (priority as u64) << 16 | (group as u64) << 24 | (index as u64) << 32
}

/// GICv2 maintenance interrupt (PPI 9).
pub const MAINTENANCE_IRQ: u32 = 25;
/// The EL1 virtual timer's interrupt (PPI 11): delivered as a VPPIEvent.
pub const VTIMER_IRQ: u32 = 27;

/// The VGICMaintenance fault's index word when no list register completed.
pub const MAINTENANCE_NO_INDEX: u64 = u64::MAX;

//! The VCPU object (seL4's `vcpu.c`, aarch64 with hypervisor support): the
//! guest's EL1 system registers, its part of the GIC virtual interface and
//! its virtual timer, bound to one thread that runs the guest at EL1.
//!
//! The architecture layer keeps at most one VCPU's state in the hardware
//! (the *loaded* one) and switches it lazily: a native thread running in
//! between only turns the virtual interface off. Before the core reads or
//! writes a VCPU's saved state it asks the layer to [`Arch::vcpu_unload`]
//! it, so the memory copy here is then the whole truth.
//!
//! Invocations: `SetTCB`, `InjectIRQ`, `ReadReg`, `WriteReg`, `AckVPPI`.
//! Events: the GIC maintenance interrupt (the guest completed an IRQ that
//! was injected with an EOI request) becomes a VGICMaintenance fault of the
//! running VCPU thread, the virtual timer's interrupt a VPPIEvent (masked
//! until `AckVPPI`), and the guest's traps the kernel does not handle
//! (HVC, SMC, WFI/WFE, system registers) VCPUFaults.

use crate::cap::Cap;
use crate::error::{SysResult, SyscallError};
use crate::fault::Fault;
use crate::print::kprint;
use crate::registers::{CAP_REGISTER, MSG_INFO_REGISTER, set_mr};
use crate::syscall::Invocation;
use crate::tcb::{TcbRef, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::vcpu as reg;
use sel4_sys::{InvocationLabel as L, MessageInfo};

/// Most list registers a GICv2 virtual interface has.
pub const MAX_LIST_REGS: usize = 64;

/// The GIC virtual interface state of a VCPU (GICH_HCR, GICH_VMCR,
/// GICH_APR and the list registers).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VgicState {
    pub hcr: u32,
    pub vmcr: u32,
    pub apr: u32,
    pub lr: [u32; MAX_LIST_REGS],
}

/// A VCPU.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Vcpu {
    /// The bound thread's [`crate::Tcb`] address (0: none).
    pub tcb: u64,
    /// EL1 system registers and the timer, by [`sel4_sys::vcpu`] number.
    pub regs: [u64; reg::NUM_REGS],
    pub vgic: VgicState,
    /// The virtual timer's IRQ is masked until the VMM's `AckVPPI`.
    pub vtimer_masked: bool,
}

const _: () = assert!(core::mem::size_of::<Vcpu>() <= 1 << sel4_sys::object::VCPU_BITS);

/// GICH_HCR.En: the virtual CPU interface forwards interrupts.
pub const VGIC_HCR_EN: u32 = 1;

/// List register fields (GICv2).
pub mod lr {
    /// Pending.
    pub const STATE_PENDING: u32 = 1 << 28;
    /// Active.
    pub const STATE_ACTIVE: u32 = 2 << 28;
    /// Both state bits.
    pub const STATE_MASK: u32 = 3 << 28;
    /// Raise a maintenance interrupt when the guest completes it.
    pub const EOI: u32 = 1 << 19;
    /// A pending virtual interrupt, with an EOI maintenance request (seL4's
    /// `virq_virq_pending_new`).
    pub const fn pending(virq: u32, priority: u32, group: u32) -> u32 {
        (virq & 0x3ff) | EOI | (priority & 0x1f) << 23 | STATE_PENDING | (group & 1) << 30
    }
}

impl Vcpu {
    /// A fresh VCPU: no thread, MMU off, the virtual interface enabled,
    /// WFI/WFE trapped.
    pub fn new() -> Vcpu {
        let mut regs = [0; reg::NUM_REGS];
        regs[reg::SCTLR as usize] = reg::SCTLR_DEFAULT;
        regs[reg::VMPIDR_EL2 as usize] = reg::VMPIDR_DEFAULT;
        regs[reg::WFX_TRAPS as usize] = 3;
        Vcpu {
            tcb: 0,
            regs,
            vgic: VgicState { hcr: VGIC_HCR_EN, vmcr: 0, apr: 0, lr: [0; MAX_LIST_REGS] },
            vtimer_masked: false,
        }
    }
}

impl Default for Vcpu {
    fn default() -> Self {
        Vcpu::new()
    }
}

/// The address of a live [`Vcpu`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VcpuRef(pub(crate) u64);

impl VcpuRef {
    pub(crate) fn get(self) -> &'static mut Vcpu {
        // SAFETY: made only from a VCPU cap's address or a thread's VCPU
        // link, which point at a live VCPU (finalisation unlinks both);
        // single-threaded, used within a statement.
        unsafe { &mut *(self.0 as *mut Vcpu) }
    }
}

/// The SPSR a VCPU thread may have: EL0t, EL1t or EL1h (AArch64), with the
/// condition flags and interrupt masks it chooses; anything else becomes
/// the native value (seL4's `sanitiseRegister` with a VCPU).
pub(crate) fn sanitise_guest_spsr(v: u64) -> u64 {
    match v & 0x1f {
        0b00000 | 0b00100 | 0b00101 => v & (0xf000_0000 | 0x3c0 | 0x1f),
        _ => v & crate::registers::SPSR_USER_MASK,
    }
}

impl<A: Arch> Kernel<A> {
    /// The VCPU bound to the current thread, if any (for the exit path).
    #[inline(always)]
    pub fn current_vcpu(&mut self) -> *mut Vcpu {
        if self.cur == self.idle {
            return core::ptr::null_mut();
        }
        self.cur.get().vcpu as *mut Vcpu
    }

    /// The VCPU bound to the current thread, which is not the idle thread.
    #[inline(always)]
    pub fn current_vcpu_of_thread(&mut self) -> *mut Vcpu {
        self.cur.get().vcpu as *mut Vcpu
    }

    /// VCPU invocations (seL4's `decodeARMVCPUInvocation`).
    pub(crate) fn decode_vcpu_invocation(&mut self, inv: &Invocation, ptr: u64) -> SysResult {
        if self.arch.vcpu_list_regs() == 0 {
            // No virtualization support in the interrupt controller.
            return Err(SyscallError::IllegalOperation);
        }
        let v = VcpuRef(ptr);
        match inv.label {
            L::ArmVcpuSetTcb => {
                inv.need(0, 1)?;
                let Some(slot) = inv.extra(0) else {
                    return Err(SyscallError::TruncatedMessage);
                };
                let Cap::Tcb { ptr: tcb } = slot.cap() else {
                    return Err(SyscallError::InvalidCapability(1));
                };
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.associate_vcpu_tcb(v, TcbRef(tcb));
                Ok(())
            }
            L::ArmVcpuInjectIrq => {
                inv.need(1, 0)?;
                let w = inv.arg(0);
                let (virq, prio, group, index) =
                    (w & 0xffff, (w >> 16) & 0xff, (w >> 24) & 0xff, (w >> 32) & 0xff);
                let lrs = self.arch.vcpu_list_regs() as u64;
                if virq >= 1020 {
                    return Err(SyscallError::RangeError { min: 0, max: 1019 });
                }
                if prio >= 32 {
                    return Err(SyscallError::RangeError { min: 0, max: 31 });
                }
                if group >= 2 {
                    return Err(SyscallError::RangeError { min: 0, max: 1 });
                }
                if index >= lrs {
                    return Err(SyscallError::RangeError { min: 0, max: lrs - 1 });
                }
                self.arch.vcpu_unload(v.0 as *mut Vcpu);
                if v.get().vgic.lr[index as usize] & lr::STATE_ACTIVE != 0 {
                    // The guest is still handling what this register holds.
                    return Err(SyscallError::DeleteFirst);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                v.get().vgic.lr[index as usize] =
                    lr::pending(virq as u32, prio as u32, group as u32);
                Ok(())
            }
            L::ArmVcpuReadReg => {
                inv.need(1, 0)?;
                let field = inv.arg(0);
                if field >= reg::NUM_REGS as u64 {
                    return Err(SyscallError::InvalidArgument(1));
                }
                self.arch.vcpu_unload(v.0 as *mut Vcpu);
                let value = v.get().regs[field as usize];
                self.set_thread_state(inv.thread, ThreadState::Restart);
                if inv.call {
                    let thread = inv.thread;
                    let buffer = self.lookup_ipc_buffer(true, thread);
                    let len = set_mr(thread, buffer, 0, value);
                    let ctx = &mut thread.get().context;
                    ctx.regs[CAP_REGISTER] = 0;
                    ctx.regs[MSG_INFO_REGISTER] = MessageInfo::new(0, 0, 0, len).0;
                }
                self.set_thread_state(inv.thread, ThreadState::Running);
                Ok(())
            }
            L::ArmVcpuWriteReg => {
                inv.need(2, 0)?;
                let (field, value) = (inv.arg(0), inv.arg(1));
                if field >= reg::NUM_REGS as u64 || field == reg::ISR {
                    return Err(SyscallError::InvalidArgument(1));
                }
                self.arch.vcpu_unload(v.0 as *mut Vcpu);
                self.set_thread_state(inv.thread, ThreadState::Restart);
                v.get().regs[field as usize] = value;
                Ok(())
            }
            L::ArmVcpuAckVppi => {
                inv.need(1, 0)?;
                if inv.arg(0) != sel4_sys::vcpu::VTIMER_IRQ as u64 {
                    return Err(SyscallError::InvalidArgument(0));
                }
                self.arch.vcpu_unload(v.0 as *mut Vcpu);
                self.set_thread_state(inv.thread, ThreadState::Restart);
                v.get().vtimer_masked = false;
                Ok(())
            }
            _ => Err(SyscallError::IllegalOperation),
        }
    }

    /// Binds `v` and `t` to each other, ending their other bindings
    /// (seL4's `associateVCPUTCB`).
    pub(crate) fn associate_vcpu_tcb(&mut self, v: VcpuRef, t: TcbRef) {
        let old = t.get().vcpu;
        if old != 0 {
            self.dissociate_vcpu(VcpuRef(old));
        }
        if v.get().tcb != 0 {
            self.dissociate_vcpu(v);
        }
        self.arch.vcpu_unload(v.0 as *mut Vcpu);
        v.get().tcb = t.0;
        t.get().vcpu = v.0;
        self.space_changed();
    }

    /// Unbinds `v` from its thread, whose SPSR becomes a native thread's
    /// (seL4's `dissociateVCPUTCB`).
    pub(crate) fn dissociate_vcpu(&mut self, v: VcpuRef) {
        self.arch.vcpu_unload(v.0 as *mut Vcpu);
        let t = v.get().tcb;
        if t != 0 {
            let tcb = TcbRef(t).get();
            tcb.vcpu = 0;
            tcb.context.spsr &= crate::registers::SPSR_USER_MASK;
        }
        v.get().tcb = 0;
        self.space_changed();
    }

    /// The last cap to a VCPU goes (seL4's `vcpu_finalise`).
    pub(crate) fn finalise_vcpu(&mut self, v: VcpuRef) {
        self.dissociate_vcpu(v);
        self.arch.vcpu_forget(v.0 as *mut Vcpu);
    }

    /// A trap of the current VCPU thread the kernel does not handle
    /// itself: a VCPUFault with its syndrome.
    pub fn handle_vcpu_fault(&mut self, esr: u64) {
        self.vcpu_event(Fault::VcpuFault { hsr: esr });
    }

    /// The guest completed the IRQ in list register `index` (the layer
    /// cleared it), or a maintenance interrupt with no such register.
    pub fn handle_vgic_maintenance(&mut self, index: Option<u64>) {
        self.vcpu_event(Fault::VgicMaintenance { index });
    }

    /// The virtual timer fired while the current VCPU ran; the layer
    /// masked its IRQ, which stays masked until `AckVPPI`.
    pub fn handle_vppi_event(&mut self, irq: u32) {
        let v = self.current_vcpu();
        if !v.is_null() {
            VcpuRef(v as u64).get().vtimer_masked = true;
        }
        self.vcpu_event(Fault::VppiEvent { irq: irq as u64 });
    }

    /// Delivers a VCPU event as a fault of the current thread, if it runs a
    /// VCPU (the layer enables these interrupts only then).
    fn vcpu_event(&mut self, fault: Fault) {
        if self.cur != self.idle && self.cur.get().vcpu != 0 {
            let t = self.cur.get();
            t.fault_ip = t.context.pc;
            self.handle_fault(self.cur, fault);
        } else {
            kprint!(self.arch, "kernel: {} without a running VCPU; ignored\n", fault);
        }
        self.schedule();
        self.activate_thread();
    }
}

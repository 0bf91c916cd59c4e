//! The VCPU switch (seL4's `vcpu_switch`, `vcpu_enable`/`vcpu_disable`,
//! `vcpu_save`/`vcpu_restore`) and the GICv2 virtual interface (GICH).
//!
//! At most one VCPU is *loaded*: its EL1 registers, virtual timer and list
//! registers are in the hardware. While its thread runs it is also
//! *enabled*: HCR_EL2 runs EL1 as the guest (no TGE), the virtual interface
//! forwards interrupts and the virtual timer's IRQ is unmasked (unless it
//! waits for the VMM's `AckVPPI`). A native thread in between only disables
//! it (its EL1 registers do not matter while TGE is set), so the common
//! switch guest -> VMM -> same guest saves and loads nothing but a few
//! registers. Another VCPU, or the core wanting to read or change the
//! loaded one, saves it whole first.

use super::gic::Gic;
use core::arch::asm;
use core::ptr::{read_volatile, write_volatile};
use kernel_core::Vcpu;
use sel4_sys::vcpu as reg;

const GICH_HCR: usize = 0x000;
const GICH_VTR: usize = 0x004;
const GICH_VMCR: usize = 0x008;
const GICH_MISR: usize = 0x010;
const GICH_EISR0: usize = 0x020;
const GICH_EISR1: usize = 0x024;
const GICH_APR: usize = 0x0f0;
const GICH_LR0: usize = 0x100;

/// HCR_EL2 for a guest: VM, SWIO, FMO, IMO, AMO, TSC, TACR (ACTLR_EL1 is
/// the physical core's), RW (+ TWI, TWE as
/// the VCPU chooses).
const HCR_VCPU: u64 =
    (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 19) | (1 << 21) | (1 << 31);
const HCR_TWI: u64 = 1 << 13;
const HCR_TWE: u64 = 1 << 14;

/// CPACR_EL1 and CNTKCTL_EL1 for native threads (FP at EL0; EL0 reads
/// both counters).
const CPACR_NATIVE: u64 = 3 << 20;
const CNTKCTL_NATIVE: u64 = 0b11;

/// The guest's EL1 registers the switch saves and loads (the timer's and
/// the ones swapped on enable/disable apart): VCPU register number, system
/// register. `$m!(field, register)` for each.
macro_rules! guest_registers {
    ($m:ident) => {
        $m!(SCTLR, sctlr_el1);
        $m!(TTBR0, ttbr0_el1);
        $m!(TTBR1, ttbr1_el1);
        $m!(TCR, tcr_el1);
        $m!(MAIR, mair_el1);
        $m!(AMAIR, amair_el1);
        $m!(CIDR, contextidr_el1);
        $m!(ACTLR, actlr_el1);
        $m!(AFSR0, afsr0_el1);
        $m!(AFSR1, afsr1_el1);
        $m!(ESR, esr_el1);
        $m!(FAR, far_el1);
        $m!(VBAR, vbar_el1);
        $m!(TPIDR_EL1, tpidr_el1);
        $m!(VMPIDR_EL2, vmpidr_el2);
        $m!(SP_EL1, sp_el1);
        $m!(ELR_EL1, elr_el1);
        $m!(SPSR_EL1, spsr_el1);
    };
}

pub struct VcpuHw {
    gich: usize,
    lrs: usize,
    loaded: *mut Vcpu,
    enabled: bool,
}

impl VcpuHw {
    /// The virtual interface at `gich` (0: none; VCPUs are then refused).
    ///
    /// # Safety
    /// `gich` must be the GICv2 hypervisor interface, identity mapped as
    /// device memory, or 0.
    pub unsafe fn new(gich: u64) -> VcpuHw {
        let mut hw =
            VcpuHw { gich: gich as usize, lrs: 0, loaded: core::ptr::null_mut(), enabled: false };
        if gich != 0 {
            hw.lrs = ((hw.read(GICH_VTR) & 0x3f) + 1) as usize;
            hw.lrs = hw.lrs.min(kernel_core::MAX_LIST_REGS);
            hw.write(GICH_HCR, 0);
        }
        hw
    }

    pub fn list_regs(&self) -> usize {
        self.lrs
    }

    /// Whether a VCPU is enabled (its thread was the last to run).
    #[inline(always)]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn read(&self, off: usize) -> u32 {
        // SAFETY: `new`'s contract: a GICH register.
        unsafe { read_volatile((self.gich + off) as *const u32) }
    }
    fn write(&self, off: usize, v: u32) {
        // SAFETY: as in read.
        unsafe { write_volatile((self.gich + off) as *mut u32, v) }
    }

    /// Runs `v`'s thread next: loads and enables it.
    pub fn switch_to(&mut self, v: *mut Vcpu, gic: &mut Gic) {
        if self.loaded != v {
            self.unload(self.loaded, gic);
            // SAFETY: the core passes the current thread's live VCPU.
            self.restore(unsafe { &*v });
            self.loaded = v;
        }
        if !self.enabled {
            // SAFETY: as above.
            self.enable(unsafe { &*v }, gic);
        }
    }

    /// A native thread (or idle) runs next: the loaded VCPU, if enabled,
    /// stops forwarding interrupts.
    #[inline(always)]
    pub fn native(&mut self, gic: &mut Gic) {
        if self.enabled {
            let v = self.loaded;
            // SAFETY: `enabled` implies a loaded, live VCPU.
            self.disable(unsafe { &mut *v }, gic);
        }
    }

    /// Saves `v` into memory and unloads it, if it is the loaded one.
    pub fn unload(&mut self, v: *mut Vcpu, gic: &mut Gic) {
        if v.is_null() || self.loaded != v {
            return;
        }
        // SAFETY: the loaded VCPU is live (the core unloads it before
        // destroying it).
        let vcpu = unsafe { &mut *v };
        if self.enabled {
            self.disable(vcpu, gic);
        }
        self.save(vcpu);
        self.loaded = core::ptr::null_mut();
    }

    fn enable(&mut self, v: &Vcpu, gic: &mut Gic) {
        let traps = v.regs[reg::WFX_TRAPS as usize];
        let hcr = HCR_VCPU
            | if traps & 1 != 0 { HCR_TWI } else { 0 }
            | if traps & 2 != 0 { HCR_TWE } else { 0 };
        // SAFETY: EL1 becomes the guest's; the exception return that runs
        // the thread synchronizes these writes.
        unsafe {
            asm!(
                "msr hcr_el2, {hcr}",
                "msr cpacr_el1, {cpacr}",
                "msr cntkctl_el1, {cntkctl}",
                hcr = in(reg) hcr,
                cpacr = in(reg) v.regs[reg::CPACR as usize],
                cntkctl = in(reg) v.regs[reg::CNTKCTL_EL1 as usize],
            )
        };
        self.write(GICH_HCR, v.vgic.hcr);
        if !v.vtimer_masked {
            gic.set_enabled(reg::VTIMER_IRQ, true);
        }
        self.enabled = true;
    }

    fn disable(&mut self, v: &mut Vcpu, gic: &mut Gic) {
        // TPIDRRO_EL0 is the guest's to write at EL1 (native threads
        // cannot), so the exception entry does not save it: keep it now.
        if v.tcb != 0 {
            let tp: u64;
            // SAFETY: reading a system register has no side effects.
            unsafe { asm!("mrs {}, tpidrro_el0", out(reg) tp) };
            // SAFETY: `tcb` is the bound thread's live TCB (dissociation
            // clears it before the TCB goes).
            unsafe { (*(v.tcb as *mut kernel_core::Tcb)).context.tpidrro_el0 = tp };
        }
        v.vgic.hcr = self.read(GICH_HCR);
        self.write(GICH_HCR, 0);
        gic.set_enabled(reg::VTIMER_IRQ, false);
        let (cpacr, cntkctl): (u64, u64);
        // SAFETY: back to native threads: TGE on, FP and counters for EL0;
        // the guest's values are kept in the VCPU.
        unsafe {
            asm!(
                "mrs {cpacr}, cpacr_el1",
                "mrs {cntkctl}, cntkctl_el1",
                "msr hcr_el2, {hcr}",
                "msr cpacr_el1, {cpacr_native}",
                "msr cntkctl_el1, {cntkctl_native}",
                cpacr = out(reg) cpacr,
                cntkctl = out(reg) cntkctl,
                hcr = in(reg) super::vm::HCR_NATIVE,
                cpacr_native = in(reg) CPACR_NATIVE,
                cntkctl_native = in(reg) CNTKCTL_NATIVE,
            )
        };
        v.regs[reg::CPACR as usize] = cpacr;
        v.regs[reg::CNTKCTL_EL1 as usize] = cntkctl;
        self.enabled = false;
    }

    /// The registers of a disabled, loaded VCPU into memory (CPACR and
    /// CNTKCTL were saved when it was disabled).
    fn save(&mut self, v: &mut Vcpu) {
        let r = &mut v.regs;
        macro_rules! save {
            ($field:ident, $reg:ident) => {
                // SAFETY: reading a system register has no side effects.
                unsafe {
                    asm!(concat!("mrs {}, ", stringify!($reg)), out(reg) r[reg::$field as usize])
                }
            };
        }
        guest_registers!(save);
        save!(ISR, isr_el1);
        // SAFETY: as above; then the virtual timer stops, its state saved.
        unsafe {
            asm!(
                "mrs {0}, cntv_ctl_el0", "mrs {1}, cntv_cval_el0", "mrs {2}, cntvoff_el2",
                "msr cntv_ctl_el0, xzr",
                out(reg) r[reg::CNTV_CTL as usize], out(reg) r[reg::CNTV_CVAL as usize],
                out(reg) r[reg::CNTVOFF as usize],
            );
        }
        v.vgic.vmcr = self.read(GICH_VMCR);
        v.vgic.apr = self.read(GICH_APR);
        for i in 0..self.lrs {
            v.vgic.lr[i] = self.read(GICH_LR0 + 4 * i);
        }
    }

    /// Loads a VCPU's registers (it is enabled separately).
    fn restore(&mut self, v: &Vcpu) {
        let r = &v.regs;
        macro_rules! restore {
            ($field:ident, $reg:ident) => {
                // SAFETY: an EL1 register becomes the guest's; it affects
                // only lower ELs while TGE is clear, which the exception
                // return synchronizes.
                unsafe {
                    asm!(concat!("msr ", stringify!($reg), ", {}"), in(reg) r[reg::$field as usize])
                }
            };
        }
        guest_registers!(restore);
        // SAFETY: the guest's virtual timer, its offset first.
        unsafe {
            asm!(
                "msr cntvoff_el2, {2}", "msr cntv_cval_el0, {1}", "msr cntv_ctl_el0, {0}",
                in(reg) r[reg::CNTV_CTL as usize], in(reg) r[reg::CNTV_CVAL as usize],
                in(reg) r[reg::CNTVOFF as usize],
            );
        }
        self.write(GICH_VMCR, v.vgic.vmcr);
        self.write(GICH_APR, v.vgic.apr);
        for i in 0..self.lrs {
            self.write(GICH_LR0 + 4 * i, v.vgic.lr[i]);
        }
    }

    /// The maintenance interrupt: the list register whose IRQ the guest
    /// completed (EOI with the maintenance request), cleared; None if
    /// none did (or no VCPU is enabled).
    pub fn maintenance(&mut self) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let _ = self.read(GICH_MISR);
        let eisr = self.read(GICH_EISR0) as u64 | (self.read(GICH_EISR1) as u64) << 32;
        if eisr == 0 {
            return None;
        }
        let i = eisr.trailing_zeros() as usize;
        if i >= self.lrs {
            return None;
        }
        self.write(GICH_LR0 + 4 * i, 0);
        Some(i as u64)
    }
}

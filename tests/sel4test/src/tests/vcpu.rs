//! VCPU: threads bound to a VCPU run at EL1 as guests. Their traps reach
//! the fault endpoint as VCPUFaults (HVC, SMC, WFI/WFE, system registers)
//! or VMFaults (stage-2 aborts, at the guest-physical address); the VCPU's
//! registers are saved and restored around them; injected virtual IRQs
//! reach the guest through the GIC's virtual CPU interface and its EOI
//! comes back as a VGICMaintenance fault; the virtual timer's IRQ is a
//! VPPIEvent, masked until AckVPPI; deleting either side of a binding
//! leaves the other usable.
//!
//! Guests are hand-assembled AArch64 code (each word checked with
//! `llvm-mc --triple=aarch64 -show-encoding`) in one page mapped at
//! [`CODE_IPA`] of a VSpace of their own; stage 1 is off in the guest, so
//! they run from that address. Every guest program ends in bounded loops
//! and a final `hvc #0xffff` loop, so a guest that goes astray faults
//! instead of spinning (it runs above the watchdog's priority).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sel4::init_thread::slot;
use sel4::{
    CNodeCapData, CPtr, CapRights, Error, ObjectBlueprint, UserContext, VmAttributes, cap, cap_type,
};
use sel4_sys::vcpu as reg;
use sel4_sys::{FaultLabel, InvocationLabel as L};

use super::common::{err_mr, info};
use crate::Test;
use crate::check::{Context, Fail, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, PAGE, cap_at, path, root_cnode};
use crate::thread::FaultMsg;

pub const TESTS: &[Test] = &[
    Test {
        id: "VCPU0001",
        desc: "HVC: VCPUFault with the syndrome; the reply resumes after it",
        run: hvc,
    },
    Test { id: "VCPU0002", desc: "SMC: VCPUFault; the reply retries it unless pc moves", run: smc },
    Test {
        id: "VCPU0003",
        desc: "WFI (and WFE where the CPU traps it) fault by default; WFX_TRAPS 0 runs WFI",
        run: wfx,
    },
    Test {
        id: "VCPU0004",
        desc: "Stage-2 data and instruction aborts: VMFault at the IPA, emulated loads",
        run: stage2_aborts,
    },
    Test { id: "VCPU0005", desc: "A trapped system register access: VCPUFault", run: sysreg },
    Test {
        id: "VCPU0006",
        desc: "VCPU registers: defaults, round trip, the guest sees and sets them",
        run: registers,
    },
    Test { id: "VCPU0007", desc: "VCPU invocation errors", run: invocation_errors },
    Test {
        id: "VCPU0008",
        desc: "An injected virtual IRQ reaches the guest; its EOI is a VGICMaintenance",
        run: vgic,
    },
    Test { id: "VCPU0009", desc: "The virtual timer: VPPIEvent, masked until AckVPPI", run: vppi },
    Test {
        id: "VCPU0010",
        desc: "Deleting the VCPU or the TCB of a binding leaves the other usable",
        run: delete_binding,
    },
    Test {
        id: "VCPU0011",
        desc: "TPIDRRO_EL0 a guest wrote outlives another guest; WriteRegisters sets it",
        run: tpidrro,
    },
];

/// Where guest code is mapped (guest-physical).
pub const CODE_IPA: u64 = 0x4000_0000;
/// Guest-physical addresses nothing is mapped at.
pub const UNMAPPED_DATA_IPA: u64 = 0x0901_0010;
const UNMAPPED_CODE_IPA: u64 = 0x5000_0000;
/// The GIC's virtual CPU interface (QEMU virt) and where guests see it.
const GICV_PADDR: u64 = 0x0804_0000;
const GICV_IPA: u64 = 0x0801_0000;
/// Guests run below the root task and above the watchdog.
const GUEST_PRIO: u64 = 100;
/// EL1h with D, A, I and F masked.
const SPSR_EL1H: u64 = 0x3c5;
/// List registers of QEMU's GICv2 virtual interface.
const QEMU_LIST_REGS: u64 = 4;

/// ESR_EL2: exception classes, the instruction-length bit, fields.
const EC_WFX: u64 = 0x01;
const EC_HVC: u64 = 0x16;
const EC_SMC: u64 = 0x17;
const EC_SYSREG: u64 = 0x18;
const EC_IABT_LOWER: u64 = 0x20;
const EC_DABT_LOWER: u64 = 0x24;
const ESR_IL: u64 = 1 << 25;

const fn esr_ec(esr: u64) -> u64 {
    (esr >> 26) & 0x3f
}

const fn esr_iss(esr: u64) -> u64 {
    esr & 0x1ff_ffff
}

/// The syndrome of `hvc #imm` (and of `smc #imm` trapped by HCR_EL2.TSC).
pub const fn hvc_esr(imm: u64) -> u64 {
    EC_HVC << 26 | ESR_IL | imm
}

const fn smc_esr(imm: u64) -> u64 {
    EC_SMC << 26 | ESR_IL | imm
}

/// `hvc #imm`: 0xd4000002 | imm16 << 5.
const fn hvc_insn(imm: u32) -> u32 {
    0xd400_0002 | (imm & 0xffff) << 5
}
const _: () = assert!(hvc_insn(0x1234) == 0xd402_4682 && hvc_insn(0xffff) == 0xd41f_ffe2);

/// The ISS of a trapped MRS/MSR (EC 0x18): Op0, Op2, Op1, CRn, Rt, CRm,
/// direction (1: read).
const fn sysreg_iss(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64, rt: u64, read: bool) -> u64 {
    op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1 | read as u64
}

/// `hvc #0x1234; add x0, x0, #1; hvc #2`.
const HVC_CODE: [u32; 5] = [
    0xd402_4682, // 0x00: hvc #0x1234
    0x9100_0400, // 0x04: add x0, x0, #1
    0xd400_0042, // 0x08: hvc #2
    0xd41f_ffe2, // 0x0c: hvc #0xffff
    0x17ff_ffff, // 0x10: b 0x0c
];

/// `smc #0x55; add x0, x0, #1; hvc #2`.
const SMC_CODE: [u32; 5] = [
    0xd400_0aa3, // 0x00: smc #0x55
    0x9100_0400, // 0x04: add x0, x0, #1
    0xd400_0042, // 0x08: hvc #2
    0xd41f_ffe2, // 0x0c: hvc #0xffff
    0x17ff_ffff, // 0x10: b 0x0c
];

const WFX_CODE: [u32; 7] = [
    0xd503_207f, // 0x00: wfi
    0xd503_205f, // 0x04: wfe
    0xd400_0022, // 0x08: hvc #1
    0xd503_207f, // 0x0c: wfi
    0xd400_0042, // 0x10: hvc #2
    0xd41f_ffe2, // 0x14: hvc #0xffff
    0x17ff_ffff, // 0x18: b 0x14
];

const ABORT_CODE: [u32; 7] = [
    0xb940_0041, // 0x00: ldr w1, [x2]
    0xd400_0022, // 0x04: hvc #1
    0xb900_0043, // 0x08: str w3, [x2]
    0xd400_0042, // 0x0c: hvc #2
    0xd61f_0080, // 0x10: br x4
    0xd41f_ffe2, // 0x14: hvc #0xffff
    0x17ff_ffff, // 0x18: b 0x14
];

const SYSREG_CODE: [u32; 6] = [
    0xd538_1020, // 0x00: mrs x0, actlr_el1
    0xd400_0022, // 0x04: hvc #1
    0xd518_1023, // 0x08: msr actlr_el1, x3
    0xd400_0042, // 0x0c: hvc #2
    0xd41f_ffe2, // 0x10: hvc #0xffff
    0x17ff_ffff, // 0x14: b 0x10
];

const REGS_CODE: [u32; 13] = [
    0xd538_d080, // 0x00: mrs x0, tpidr_el1
    0xd538_d025, // 0x04: mrs x5, contextidr_el1
    0xd538_c006, // 0x08: mrs x6, vbar_el1
    0xd538_00a9, // 0x0c: mrs x9, mpidr_el1
    0xd400_0002, // 0x10: hvc #0
    0xd518_d081, // 0x14: msr tpidr_el1, x1
    0xd518_d027, // 0x18: msr contextidr_el1, x7
    0xd400_0022, // 0x1c: hvc #1
    0xd538_d080, // 0x20: mrs x0, tpidr_el1
    0xd538_d025, // 0x24: mrs x5, contextidr_el1
    0xd400_0042, // 0x28: hvc #2
    0xd41f_ffe2, // 0x2c: hvc #0xffff
    0x17ff_ffff, // 0x30: b 0x2c
];

/// The IRQ vector ("current EL with SP_ELx, IRQ", VBAR + 0x280): x1 is the
/// GICV base.
const VGIC_IRQ_OFFSET: u64 = 0x280;
const VGIC_IRQ_CODE: [u32; 5] = [
    0xb940_0c25, // 0x280: ldr w5, [x1, #0xc]    (GICV_IAR)
    0xd400_0062, // 0x284: hvc #3
    0xb900_1025, // 0x288: str w5, [x1, #0x10]   (GICV_EOIR)
    0xd400_0042, // 0x28c: hvc #2
    0xd69f_03e0, // 0x290: eret
];

/// The main program: x0 = the vector table (the page start), x1 = GICV.
const VGIC_MAIN_OFFSET: u64 = 0x800;
const VGIC_MAIN_CODE: [u32; 15] = [
    0xd518_c000, // 0x800: msr vbar_el1, x0
    0xd503_3fdf, // 0x804: isb
    0x5280_0022, // 0x808: mov w2, #1
    0xb900_0022, // 0x80c: str w2, [x1]          (GICV_CTLR: EnableGrp0)
    0x5280_1f02, // 0x810: mov w2, #0xf8
    0xb900_0422, // 0x814: str w2, [x1, #4]      (GICV_PMR)
    0xd503_42ff, // 0x818: msr daifclr, #2
    0xd400_0022, // 0x81c: hvc #1                (ready)
    0xd280_1907, // 0x820: mov x7, #200
    0xd503_207f, // 0x824: wfi
    0xf100_04e7, // 0x828: subs x7, x7, #1
    0x54ff_ffc1, // 0x82c: b.ne 0x824
    0xd41b_d5a2, // 0x830: hvc #0xdead            (no IRQ came)
    0xd41f_ffe2, // 0x834: hvc #0xffff
    0x17ff_ffff, // 0x838: b 0x834
];

/// x20 = delay loop iterations.
const VPPI_CODE: [u32; 15] = [
    0xd53b_e041, // 0x00: mrs x1, cntvct_el0
    0xd51b_e341, // 0x04: msr cntv_cval_el0, x1
    0xd280_0022, // 0x08: mov x2, #1
    0xd51b_e322, // 0x0c: msr cntv_ctl_el0, x2   (enabled, not masked)
    0xd503_3fdf, // 0x10: isb
    0xaa14_03e3, // 0x14: mov x3, x20
    0xf100_0463, // 0x18: subs x3, x3, #1
    0x54ff_ffe1, // 0x1c: b.ne 0x18
    0xd400_0122, // 0x20: hvc #9
    0xaa14_03e3, // 0x24: mov x3, x20
    0xf100_0463, // 0x28: subs x3, x3, #1
    0x54ff_ffe1, // 0x2c: b.ne 0x28
    0xd400_0142, // 0x30: hvc #10
    0xd41f_ffe2, // 0x34: hvc #0xffff
    0x17ff_ffff, // 0x38: b 0x34
];
const VPPI_DELAY: u64 = 0x40_0000;

const DELETE_CODE: [u32; 4] = [
    0xd400_0022, // 0x00: hvc #1
    0xd400_0042, // 0x04: hvc #2
    0xd41f_ffe2, // 0x08: hvc #0xffff
    0x17ff_ffff, // 0x0c: b 0x08
];

/// x1 = the value to write.
const TPIDRRO_CODE: [u32; 8] = [
    0xd51b_d061, // 0x00: msr tpidrro_el0, x1
    0xd400_0022, // 0x04: hvc #1
    0xd53b_d060, // 0x08: mrs x0, tpidrro_el0
    0xd400_0042, // 0x0c: hvc #2
    0xd53b_d060, // 0x10: mrs x0, tpidrro_el0
    0xd400_0062, // 0x14: hvc #3
    0xd41f_ffe2, // 0x18: hvc #0xffff
    0x17ff_ffff, // 0x1c: b 0x18
];

/// A fault message for failure texts.
fn show(f: &FaultMsg) -> String {
    let m = &f.mr;
    match f.label {
        l if l == FaultLabel::VcpuFault as u64 => {
            format!("a VCPU fault with syndrome {:#x} (class {:#x})", m[0], esr_ec(m[0]))
        }
        l if l == FaultLabel::VmFault as u64 => format!(
            "a VM fault at pc {:#x} on {:#x} (instruction {}, syndrome {:#x})",
            m[0], m[1], m[2], m[3]
        ),
        l if l == FaultLabel::VgicMaintenance as u64 => {
            format!("a VGIC maintenance fault (list register {:#x})", m[0])
        }
        l if l == FaultLabel::VppiEvent as u64 => format!("a VPPI event (IRQ {})", m[0]),
        l if l == FaultLabel::UserException as u64 => {
            format!("a user exception class {:#x} at pc {:#x}", m[3], m[0])
        }
        l => format!("a message with label {l} ({:#x} {:#x} {:#x} {:#x})", m[0], m[1], m[2], m[3]),
    }
}

/// A guest: a TCB bound to a VCPU, in a VSpace of its own with its code
/// page at [`CODE_IPA`], faulting to `ep`.
#[derive(Clone, Copy)]
pub struct Guest {
    pub tcb: cap::Tcb,
    pub vcpu: cap::Vcpu,
    pub vspace: cap::VSpace,
    pub ep: u64,
}

impl Guest {
    /// Writes `code` (pieces at page offsets) into a fresh page, maps it,
    /// and binds a new TCB to a new VCPU; the thread is not started.
    pub fn new(env: &mut Env, code: &[(u64, &[u32])]) -> TestResult<Guest> {
        let ep = env.endpoint()?.bits();
        let vspace = env.vspace()?;
        let frame: cap::Granule = env.obj()?;
        let mine: cap::Granule = cap_at(env.copy(frame.bits(), CapRights::all())?);
        let v = env.scratch(PAGE, PAGE);
        env.map(slot::VSPACE.cap(), mine, v, CapRights::read_write(), VmAttributes::DEFAULT)?;
        for &(offset, words) in code {
            for (i, w) in words.iter().enumerate() {
                let a = v + offset + 4 * i as u64;
                // SAFETY: the page was just mapped read-write at `v`, and
                // nothing else refers to it; `a` is inside it.
                unsafe { (a as *mut u32).write_volatile(*w) };
            }
        }
        // The guest fetches with its MMU off (non-cacheable): clean to the
        // point of coherency, then make instruction fetches see the words.
        mine.frame_clean_data(0, PAGE as usize).ctx("cleaning the code page")?;
        mine.frame_unify_instruction(0, PAGE as usize).ctx("unifying the code page")?;
        env.map(vspace, frame, CODE_IPA, CapRights::read_only(), VmAttributes::DEFAULT)?;
        let vcpu: cap::Vcpu = env.obj::<cap_type::Vcpu>()?;
        let tcb = Self::tcb(env, ep, vspace)?;
        vcpu.vcpu_set_tcb(tcb).ctx("binding the VCPU")?;
        Ok(Guest { tcb, vcpu, vspace, ep })
    }

    /// A TCB in `vspace` faulting to `ep`, at the guests' priority.
    fn tcb(env: &mut Env, ep: u64, vspace: cap::VSpace) -> TestResult<cap::Tcb> {
        let tcb = env.tcb()?;
        env.tcbs.push(tcb);
        let data = CNodeCapData::skip(64 - env.cnode_bits);
        tcb.tcb_set_space(CPtr::from_bits(ep), root_cnode(), data, vspace)
            .ctx("setting the guest's spaces")?;
        tcb.tcb_set_priority(slot::TCB.cap(), GUEST_PRIO).ctx("the guest's priority")?;
        Ok(tcb)
    }

    /// Starts the guest at EL1h at `offset` of its code page with `regs`.
    pub fn start(&self, offset: u64, regs: &[(usize, u64)]) -> TestResult {
        start_at(self.tcb, CODE_IPA + offset, regs)
    }

    fn regs(&self) -> TestResult<UserContext> {
        self.tcb.tcb_read_all_registers(false).ctx("reading the guest's registers")
    }

    fn x(&self, n: usize) -> TestResult<u64> {
        Ok(*self.regs()?.gpr(n))
    }

    fn pc(&self) -> TestResult<u64> {
        Ok(*self.regs()?.pc())
    }

    /// Changes the waiting guest's registers (it is not resumed).
    fn edit(&self, f: impl FnOnce(&mut UserContext)) -> TestResult {
        let mut r = self.regs()?;
        f(&mut r);
        self.tcb.tcb_write_all_registers(false, &r).ctx("writing the guest's registers")
    }

    /// Moves the waiting guest's pc past the instruction it faulted on.
    fn skip(&self) -> TestResult {
        self.edit(|r| *r.pc_mut() += 4)
    }

    fn read(&self, field: u64) -> TestResult<u64> {
        self.vcpu.vcpu_read_regs(field).ctx(&format!("ReadReg({field})"))
    }

    fn write(&self, field: u64, value: u64) -> TestResult {
        self.vcpu.vcpu_write_regs(field, value).ctx(&format!("WriteReg({field})"))
    }

    /// The next message on the guest's fault endpoint.
    fn next(&self, env: &mut Env) -> FaultMsg {
        env.recv_fault(self.ep)
    }

    /// The next fault, which must be a VCPUFault; its syndrome.
    fn vcpu_fault(&self, env: &mut Env, what: &str) -> TestResult<u64> {
        let f = self.next(env);
        ensure(f.label == FaultLabel::VcpuFault as u64, || {
            format!("{what}: expected a VCPU fault, got {}", show(&f))
        })?;
        ensure_eq(f.length, 1, &format!("{what}: message length"))?;
        Ok(f.mr[0])
    }

    /// The next fault, which must be `hvc #imm`.
    fn hvc(&self, env: &mut Env, imm: u64, what: &str) -> TestResult {
        let f = self.next(env);
        ensure(f.label == FaultLabel::VcpuFault as u64 && f.mr[0] == hvc_esr(imm), || {
            format!("{what}: expected the VCPU fault of hvc #{imm:#x}, got {}", show(&f))
        })
    }

    /// The next fault, which must be a VMFault; its message.
    fn vm_fault(&self, env: &mut Env, what: &str) -> TestResult<FaultMsg> {
        let f = self.next(env);
        ensure(f.label == FaultLabel::VmFault as u64, || {
            format!("{what}: expected a VM fault, got {}", show(&f))
        })?;
        ensure_eq(f.length, 4, &format!("{what}: message length"))?;
        Ok(f)
    }

    /// Replies to the guest's fault: it resumes at its pc.
    fn resume(&self, env: &mut Env) {
        env.ipc.reply(info(0, 0));
    }
}

/// Starts `tcb` at `pc` in EL1h with `regs` set.
fn start_at(tcb: cap::Tcb, pc: u64, regs: &[(usize, u64)]) -> TestResult {
    let mut r = UserContext::default();
    *r.pc_mut() = pc;
    *r.spsr_mut() = SPSR_EL1H;
    for &(n, v) in regs {
        *r.gpr_mut(n) = v;
    }
    tcb.tcb_write_all_registers(true, &r).ctx("starting the guest")
}

fn hvc(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &HVC_CODE)])?;
    g.start(0, &[(0, 0x1000)])?;
    let esr = g.vcpu_fault(env, "hvc #0x1234")?;
    ensure_eq(esr_ec(esr), EC_HVC, "exception class")?;
    ensure_eq(esr & 0xffff, 0x1234, "the HVC immediate in the ISS")?;
    ensure_eq(esr, hvc_esr(0x1234), "the whole syndrome")?;
    let r = g.regs()?;
    ensure_eq(*r.gpr(0), 0x1000, "x0 of the waiting guest")?;
    ensure_eq(*r.pc(), CODE_IPA + 4, "pc (an HVC returns to the next instruction)")?;
    ensure_eq(*r.spsr() & 0x3ff, SPSR_EL1H, "SPSR (EL1h, DAIF masked)")?;
    g.resume(env);
    g.hvc(env, 2, "the second hvc")?;
    ensure_eq(g.x(0)?, 0x1001, "x0 after the add between the HVCs")?;
    ensure_eq(g.pc()?, CODE_IPA + 0xc, "pc after the second hvc")
}

fn smc(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &SMC_CODE)])?;
    g.start(0, &[(0, 7)])?;
    let esr = g.vcpu_fault(env, "smc #0x55")?;
    ensure_eq(esr_ec(esr), EC_SMC, "exception class")?;
    ensure_eq(esr, smc_esr(0x55), "the whole syndrome")?;
    ensure_eq(g.pc()?, CODE_IPA, "pc (a trapped SMC returns to itself)")?;
    g.skip()?;
    g.resume(env);
    g.hvc(env, 2, "the hvc after the smc")?;
    ensure_eq(g.x(0)?, 8, "x0 (the add after the smc ran once)")
}

fn wfx(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &WFX_CODE)])?;
    ensure_eq(g.read(reg::WFX_TRAPS)?, 3, "WFX_TRAPS of a new VCPU")?;
    g.start(0, &[])?;
    let esr = g.vcpu_fault(env, "wfi")?;
    ensure_eq(esr_ec(esr), EC_WFX, "exception class of the WFI")?;
    ensure_eq(esr_iss(esr) & 1, 0, "ISS.TI (0: WFI)")?;
    ensure_eq(g.pc()?, CODE_IPA, "pc (a trapped WFI returns to itself)")?;
    g.skip()?;
    g.resume(env);
    // QEMU's WFE is a hint it never traps; a CPU that traps it must say
    // it was a WFE.
    let f = g.next(env);
    if f.label == FaultLabel::VcpuFault as u64 && esr_ec(f.mr[0]) == EC_WFX {
        ensure_eq(esr_iss(f.mr[0]) & 1, 1, "ISS.TI (1: WFE)")?;
        ensure_eq(g.pc()?, CODE_IPA + 4, "pc of the trapped WFE")?;
        g.skip()?;
        g.resume(env);
        g.hvc(env, 1, "the hvc after the wfe")?;
    } else {
        ensure(f.label == FaultLabel::VcpuFault as u64 && f.mr[0] == hvc_esr(1), || {
            format!("after the wfe: expected a WFE trap or hvc #1, got {}", show(&f))
        })?;
    }
    g.write(reg::WFX_TRAPS, 0)?;
    ensure_eq(g.read(reg::WFX_TRAPS)?, 0, "WFX_TRAPS written")?;
    g.resume(env);
    // The WFI now waits for the next interrupt (the kernel's tick).
    g.hvc(env, 2, "the hvc after the untrapped wfi")?;
    ensure_eq(g.pc()?, CODE_IPA + 0x14, "pc after the second hvc")
}

fn stage2_aborts(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &ABORT_CODE)])?;
    let regs = [(2, UNMAPPED_DATA_IPA), (3, 0xc0ffee), (4, UNMAPPED_CODE_IPA)];
    g.start(0, &regs)?;
    // The load.
    let f = g.vm_fault(env, "ldr w1, [x2]")?;
    ensure_eq(f.mr[0], CODE_IPA, "fault pc")?;
    ensure_eq(f.mr[1], UNMAPPED_DATA_IPA, "fault address (the IPA)")?;
    ensure_eq(f.mr[2], 0, "instruction flag")?;
    let esr = f.mr[3];
    ensure_eq(esr_ec(esr), EC_DABT_LOWER, "exception class")?;
    ensure_eq((esr >> 24) & 1, 1, "ISV")?;
    ensure_eq((esr >> 22) & 3, 2, "SAS (word)")?;
    ensure_eq((esr >> 16) & 0x1f, 1, "SRT (w1)")?;
    ensure_eq((esr >> 15) & 1, 0, "SF (32-bit register)")?;
    ensure_eq((esr >> 7) & 1, 0, "S1PTW")?;
    ensure_eq((esr >> 6) & 1, 0, "WnR (read)")?;
    ensure_eq(esr & 0x3c, 0x04, "DFSC (translation fault)")?;
    // Emulate it.
    g.edit(|r| {
        *r.gpr_mut(1) = 0xfeed;
        *r.pc_mut() += 4;
    })?;
    g.resume(env);
    g.hvc(env, 1, "the hvc after the emulated load")?;
    ensure_eq(g.x(1)?, 0xfeed, "w1 as the handler emulated it")?;
    g.resume(env);
    // The store.
    let f = g.vm_fault(env, "str w3, [x2]")?;
    ensure_eq(f.mr[0], CODE_IPA + 8, "fault pc")?;
    ensure_eq(f.mr[1], UNMAPPED_DATA_IPA, "fault address (the IPA)")?;
    let esr = f.mr[3];
    ensure_eq(esr_ec(esr), EC_DABT_LOWER, "exception class")?;
    ensure_eq((esr >> 24) & 1, 1, "ISV")?;
    ensure_eq((esr >> 22) & 3, 2, "SAS (word)")?;
    ensure_eq((esr >> 6) & 1, 1, "WnR (write)")?;
    let srt = ((esr >> 16) & 0x1f) as usize;
    ensure_eq(srt, 3, "SRT (w3)")?;
    ensure_eq(g.x(srt)?, 0xc0ffee, "the register to store")?;
    g.skip()?;
    g.resume(env);
    g.hvc(env, 2, "the hvc after the emulated store")?;
    g.resume(env);
    // The branch to nowhere.
    let f = g.vm_fault(env, "br x4")?;
    ensure_eq(f.mr[2], 1, "instruction flag")?;
    ensure_eq(f.mr[1], UNMAPPED_CODE_IPA, "fault address (the IPA)")?;
    ensure_eq(f.mr[0], UNMAPPED_CODE_IPA, "fault pc")?;
    ensure_eq(esr_ec(f.mr[3]), EC_IABT_LOWER, "exception class")
}

fn sysreg(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &SYSREG_CODE)])?;
    g.start(0, &[(3, 0x77)])?;
    // ACTLR_EL1 is S3_0_C1_C0_1; HCR_EL2.TACR traps it.
    let esr = g.vcpu_fault(env, "mrs x0, actlr_el1")?;
    ensure_eq(esr_ec(esr), EC_SYSREG, "exception class")?;
    ensure_eq(esr_iss(esr), sysreg_iss(3, 0, 1, 0, 1, 0, true), "ISS (ACTLR_EL1, x0, read)")?;
    ensure_eq(g.pc()?, CODE_IPA, "pc (a trapped MRS returns to itself)")?;
    g.edit(|r| {
        *r.gpr_mut(0) = 0xac71;
        *r.pc_mut() += 4;
    })?;
    g.resume(env);
    g.hvc(env, 1, "the hvc after the emulated mrs")?;
    ensure_eq(g.x(0)?, 0xac71, "x0 as the handler emulated it")?;
    g.resume(env);
    let esr = g.vcpu_fault(env, "msr actlr_el1, x3")?;
    ensure_eq(esr_ec(esr), EC_SYSREG, "exception class")?;
    ensure_eq(esr_iss(esr), sysreg_iss(3, 0, 1, 0, 1, 3, false), "ISS (ACTLR_EL1, x3, write)")?;
    ensure_eq(g.pc()?, CODE_IPA + 8, "pc of the msr")?;
    ensure_eq(g.x(3)?, 0x77, "the register to write")?;
    g.skip()?;
    g.resume(env);
    g.hvc(env, 2, "the hvc after the emulated msr")
}

fn registers(env: &mut Env) -> TestResult {
    // A VCPU of its own: defaults and a round trip of every register.
    let v: cap::Vcpu = env.obj::<cap_type::Vcpu>()?;
    let read = |f: u64| v.vcpu_read_regs(f).ctx(&format!("ReadReg({f})"));
    ensure_eq(read(reg::SCTLR)?, 0x30d0_0800, "SCTLR of a new VCPU")?;
    ensure_eq(read(reg::VMPIDR_EL2)?, 0x8000_0000, "VMPIDR of a new VCPU")?;
    ensure_eq(read(reg::WFX_TRAPS)?, 3, "WFX_TRAPS of a new VCPU")?;
    ensure_eq(read(reg::TPIDR_EL1)?, 0, "TPIDR_EL1 of a new VCPU")?;
    ensure_eq(read(reg::VBAR)?, 0, "VBAR of a new VCPU")?;
    for f in 0..reg::NUM_REGS as u64 {
        if f != reg::ISR {
            let value = 0x5a00_0000_0000_0000 | f << 32 | 0x1234_5600 | f;
            v.vcpu_write_regs(f, value).ctx(&format!("WriteReg({f})"))?;
        }
    }
    for f in 0..reg::NUM_REGS as u64 {
        if f != reg::ISR {
            let value = 0x5a00_0000_0000_0000 | f << 32 | 0x1234_5600 | f;
            ensure_eq(read(f)?, value, &format!("register {f} read back"))?;
        }
    }
    read(reg::ISR)?;
    expect_err(v.vcpu_read_regs(reg::NUM_REGS as u64), Error::InvalidArgument, "ReadReg(25)")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    expect_err(v.vcpu_write_regs(reg::NUM_REGS as u64, 0), Error::InvalidArgument, "WriteReg(25)")?;
    expect_err(v.vcpu_write_regs(reg::ISR, 1), Error::InvalidArgument, "WriteReg(ISR)")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;

    // A guest reads what the VMM wrote and writes what it reads.
    let g = Guest::new(env, &[(0, &REGS_CODE)])?;
    let (a, b, c) = (0x1122_3344_5566_7788, 0x00ab_cdef, UNMAPPED_CODE_IPA);
    g.write(reg::TPIDR_EL1, a)?;
    g.write(reg::CIDR, b)?;
    // (No vectors there: a stray exception faults on the fetch.)
    g.write(reg::VBAR, c)?;
    let (d, e) = (0x8877_6655_4433_2211, 0x0012_3456);
    g.start(0, &[(1, d), (7, e)])?;
    g.hvc(env, 0, "the hvc after reading the registers")?;
    let r = g.regs()?;
    ensure_eq(*r.gpr(0), a, "TPIDR_EL1 as the guest read it")?;
    ensure_eq(*r.gpr(5), b, "CONTEXTIDR_EL1 as the guest read it")?;
    ensure_eq(*r.gpr(6), c, "VBAR_EL1 as the guest read it")?;
    ensure_eq(*r.gpr(9), 0x8000_0000, "MPIDR_EL1 as the guest read it (VMPIDR)")?;
    g.resume(env);
    g.hvc(env, 1, "the hvc after writing the registers")?;
    ensure_eq(g.read(reg::TPIDR_EL1)?, d, "TPIDR_EL1 the guest wrote")?;
    ensure_eq(g.read(reg::CIDR)?, e, "CONTEXTIDR_EL1 the guest wrote")?;
    let (f, h) = (0x0f0f_0f0f_f0f0_f0f0, 0x0065_4321);
    g.write(reg::TPIDR_EL1, f)?;
    g.write(reg::CIDR, h)?;
    g.resume(env);
    g.hvc(env, 2, "the hvc after reading them again")?;
    ensure_eq(g.x(0)?, f, "TPIDR_EL1 written while the guest waited")?;
    ensure_eq(g.x(5)?, h, "CONTEXTIDR_EL1 written while the guest waited")
}

fn invocation_errors(env: &mut Env) -> TestResult {
    let v: cap::Vcpu = env.obj::<cap_type::Vcpu>()?;
    let range = |env: &Env, r: sel4::Result<()>, max: u64, what: &str| -> TestResult {
        expect_err(r, Error::RangeError, what)?;
        ensure_eq((err_mr(env, 0), err_mr(env, 1)), (0, max), &format!("{what}: the range"))
    };
    let lrs = QEMU_LIST_REGS as u8;
    range(env, v.vcpu_inject_irq(45, 0, 0, lrs), QEMU_LIST_REGS - 1, "list register 4")?;
    range(env, v.vcpu_inject_irq(45, 0, 0, 0xff), QEMU_LIST_REGS - 1, "list register 255")?;
    range(env, v.vcpu_inject_irq(45, 32, 0, 0), 31, "priority 32")?;
    range(env, v.vcpu_inject_irq(45, 0, 2, 0), 1, "group 2")?;
    range(env, v.vcpu_inject_irq(1020, 0, 0, 0), 1019, "virtual IRQ 1020")?;
    v.vcpu_inject_irq(1019, 31, 1, lrs - 1).ctx("the largest values")?;
    expect_err(v.vcpu_ack_vppi(26), Error::InvalidArgument, "AckVPPI(26)")?;
    ensure_eq(err_mr(env, 0), 0, "the invalid argument's index")?;
    v.vcpu_ack_vppi(u64::from(reg::VTIMER_IRQ)).ctx("AckVPPI(27)")?;
    let ep = env.endpoint()?;
    expect_err(v.vcpu_set_tcb(cap_at(ep.bits())), Error::InvalidCapability, "SetTCB(endpoint)")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid cap's index")?;
    let m = env.invoke(v.bits(), L::ArmVcpuSetTcb, &[], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "SetTCB without a cap")?;
    let m = env.invoke(v.bits(), L::ArmVcpuInjectIrq, &[], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "InjectIRQ without its word")?;
    let m = env.invoke(v.bits(), L::ArmVcpuWriteReg, &[reg::TPIDR_EL1], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "WriteReg without the value")?;
    let m = env.invoke(v.bits(), L::CNodeCopy, &[], &[]);
    expect_label(m.label(), Error::IllegalOperation, "another label")?;
    let t = env.tcb()?;
    v.vcpu_set_tcb(t).ctx("SetTCB(tcb)")
}

/// Takes the guest's EOI of `virq` from list register `lr`: a
/// VGICMaintenance fault and the vector's `hvc #2`, in either order (the
/// maintenance interrupt may come before or after the guest's next
/// instruction), replying to each.
fn eoi_and_hvc(env: &mut Env, g: &Guest, lr: u64, virq: u64) -> TestResult {
    let (mut maintenance, mut hvc) = (false, false);
    while !(maintenance && hvc) {
        let f = g.next(env);
        if f.label == FaultLabel::VgicMaintenance as u64 && !maintenance {
            ensure_eq(f.mr[0], lr, "the maintenance fault's list register")?;
            maintenance = true;
        } else if f.label == FaultLabel::VcpuFault as u64 && f.mr[0] == hvc_esr(2) && !hvc {
            ensure_eq(g.pc()?, CODE_IPA + VGIC_IRQ_OFFSET + 0x10, "pc after the vector's hvc #2")?;
            ensure_eq(g.x(5)? & 0x3ff, virq, "the IRQ number the guest acknowledged")?;
            hvc = true;
        } else {
            return Err(Fail(format!(
                "expected the maintenance fault and the vector's hvc #2 (had {}, {}), got {}",
                maintenance,
                hvc,
                show(&f)
            )));
        }
        g.resume(env);
    }
    Ok(())
}

fn vgic(env: &mut Env) -> TestResult {
    // The vector table at the page start: the IRQ vector, and in each
    // other vector `hvc #0xe0nn`, nn its number (a stray exception faults).
    let stray: [[u32; 1]; 16] = core::array::from_fn(|i| [hvc_insn(0xe000 | i as u32)]);
    let mut code: Vec<(u64, &[u32])> = stray
        .iter()
        .enumerate()
        .map(|(i, w)| (0x80 * i as u64, &w[..]))
        .filter(|(offset, _)| *offset != VGIC_IRQ_OFFSET)
        .collect();
    code.push((VGIC_IRQ_OFFSET, &VGIC_IRQ_CODE));
    code.push((VGIC_MAIN_OFFSET, &VGIC_MAIN_CODE));
    let g = Guest::new(env, &code)?;
    let (ut, _) = env.device_untyped_at(GICV_PADDR)?;
    let gicv: cap::Granule = cap_at(env.retype_from(ut, ObjectBlueprint::SmallPage, 1)?);
    let paddr = gicv.frame_get_address().ctx("the GICV frame's address")? as u64;
    ensure_eq(paddr, GICV_PADDR, "the GICV frame's address")?;
    let device = VmAttributes::NONE | VmAttributes::EXECUTE_NEVER;
    env.map(g.vspace, gicv, GICV_IPA, CapRights::read_write(), device)?;
    g.write(reg::WFX_TRAPS, 0)?;
    g.start(VGIC_MAIN_OFFSET, &[(0, CODE_IPA), (1, GICV_IPA)])?;
    g.hvc(env, 1, "ready (GICV enabled, IRQs unmasked)")?;

    // Injected while the guest waits in its fault.
    g.vcpu.vcpu_inject_irq(45, 5, 0, 0).ctx("InjectIRQ(45, list register 0)")?;
    g.resume(env);
    g.hvc(env, 3, "the IRQ vector after reading GICV_IAR")?;
    ensure_eq(g.x(5)? & 0x3ff, 45, "the IRQ number the guest acknowledged")?;
    // Acknowledged but not completed: the list register is active.
    expect_err(
        g.vcpu.vcpu_inject_irq(45, 5, 0, 0),
        Error::DeleteFirst,
        "InjectIRQ into an active LR",
    )?;
    g.resume(env);
    eoi_and_hvc(env, &g, 0, 45)?;

    // Injected while the guest runs its WFI loop (it runs below us).
    g.vcpu.vcpu_inject_irq(46, 0, 0, 2).ctx("InjectIRQ(46, list register 2)")?;
    g.hvc(env, 3, "the IRQ vector after reading GICV_IAR")?;
    ensure_eq(g.x(5)? & 0x3ff, 46, "the IRQ number the guest acknowledged")?;
    g.resume(env);
    eoi_and_hvc(env, &g, 2, 46)
}

fn vppi(env: &mut Env) -> TestResult {
    let g = Guest::new(env, &[(0, &VPPI_CODE)])?;
    g.start(0, &[(20, VPPI_DELAY)])?;
    let f = g.next(env);
    ensure(f.label == FaultLabel::VppiEvent as u64, || {
        format!("the virtual timer: expected a VPPI event, got {}", show(&f))
    })?;
    ensure_eq((f.length, f.mr[0]), (1, u64::from(reg::VTIMER_IRQ)), "length and IRQ")?;
    let pc = g.pc()?;
    ensure((CODE_IPA + 0x10..=CODE_IPA + 0x20).contains(&pc), || {
        format!("pc {pc:#x} of the VPPI event is not in the delay loop")
    })?;
    // Without AckVPPI the timer's IRQ stays masked: the hvc comes next.
    g.resume(env);
    g.hvc(env, 9, "the hvc after the delay (the timer masked)")?;
    g.vcpu.vcpu_ack_vppi(u64::from(reg::VTIMER_IRQ)).ctx("AckVPPI")?;
    g.resume(env);
    let f = g.next(env);
    ensure(f.label == FaultLabel::VppiEvent as u64, || {
        format!("after AckVPPI: expected a VPPI event, got {}", show(&f))
    })?;
    ensure_eq(f.mr[0], u64::from(reg::VTIMER_IRQ), "the IRQ after AckVPPI")?;
    let pc = g.pc()?;
    ensure((CODE_IPA + 0x24..=CODE_IPA + 0x30).contains(&pc), || {
        format!("pc {pc:#x} of the second VPPI event is not in the second delay loop")
    })
}

fn delete_binding(env: &mut Env) -> TestResult {
    // The VCPU goes while its thread waits in a fault.
    let g = Guest::new(env, &[(0, &DELETE_CODE)])?;
    g.start(0, &[])?;
    g.hvc(env, 1, "hvc #1")?;
    let r = g.regs()?;
    ensure_eq(*r.spsr() & 0x3ff, SPSR_EL1H, "SPSR of the guest")?;
    path(g.vcpu.bits()).delete().ctx("deleting the VCPU")?;
    let r = g.regs()?;
    ensure_eq(*r.spsr() & !0xf000_0000, 0, "SPSR without the VCPU (EL0t, condition flags only)")?;
    ensure_eq(*r.pc(), CODE_IPA + 4, "pc")?;
    // It runs natively now, at EL0, where HVC is undefined.
    g.resume(env);
    let f = g.next(env);
    ensure(f.label == FaultLabel::UserException as u64, || {
        format!("the hvc #2 at EL0: expected a user exception, got {}", show(&f))
    })?;
    ensure_eq((f.mr[0], f.mr[3]), (CODE_IPA + 4, 0), "pc and class (unknown instruction)")?;
    g.tcb.tcb_suspend().ctx("suspending the former guest")?;

    // The TCB goes; the VCPU takes another.
    let g = Guest::new(env, &[(0, &DELETE_CODE)])?;
    g.start(0, &[])?;
    g.hvc(env, 1, "hvc #1 of the first thread")?;
    path(g.tcb.bits()).delete().ctx("deleting the TCB")?;
    let t = Guest::tcb(env, g.ep, g.vspace)?;
    let mut r = UserContext::default();
    *r.pc_mut() = CODE_IPA;
    *r.spsr_mut() = SPSR_EL1H | 0x6000_0000;
    t.tcb_write_all_registers(false, &r).ctx("writing an unbound thread's registers")?;
    let spsr = *t.tcb_read_all_registers(false).ctx("reading them")?.spsr();
    ensure_eq(spsr, 0x6000_0000, "SPSR of a thread without a VCPU (condition flags only)")?;
    g.vcpu.vcpu_set_tcb(t).ctx("binding the VCPU to another thread")?;
    start_at(t, CODE_IPA, &[])?;
    g.hvc(env, 1, "hvc #1 of the second thread")?;
    let r = t.tcb_read_all_registers(false).ctx("reading the second thread's registers")?;
    ensure_eq((*r.pc(), *r.spsr() & 0x3ff), (CODE_IPA + 4, SPSR_EL1H), "its pc and SPSR")?;
    g.resume(env);
    g.hvc(env, 2, "hvc #2 of the second thread")
}

fn tpidrro(env: &mut Env) -> TestResult {
    let (a, b, c) = (0x7a11_2233_4455_6601, 0x7b66_5544_3322_1102, 0x7c0f_1e2d_3c4b_5a03);
    let tp = |g: &Guest| -> TestResult<u64> { Ok(*g.regs()?.tpidrro_el0()) };
    let g = Guest::new(env, &[(0, &TPIDRRO_CODE)])?;
    g.start(0, &[(1, a)])?;
    g.hvc(env, 1, "the first guest's hvc after its msr")?;
    // Written in the hardware only; the fault switched its VCPU out.
    ensure_eq(tp(&g)?, a, "TPIDRRO_EL0 the first guest wrote")?;
    let reply = env.slot()?;
    let m = env.invoke(root_cnode().bits(), L::CNodeSaveCaller, &[reply, 64], &[]);
    ensure_eq(m.label(), 0, "SaveCaller (the first guest's reply cap)")?;
    // A second guest writes the register in between (and stays in its
    // fault).
    let h = Guest::new(env, &[(0, &TPIDRRO_CODE)])?;
    h.start(0, &[(1, b)])?;
    h.hvc(env, 1, "the second guest's hvc after its msr")?;
    ensure_eq(tp(&h)?, b, "TPIDRRO_EL0 the second guest wrote")?;
    ensure_eq(tp(&g)?, a, "the first guest's TPIDRRO_EL0 after the second guest ran")?;
    env.ipc.send(reply, info(0, 0));
    g.hvc(env, 2, "the first guest's hvc after its mrs")?;
    ensure_eq(g.x(0)?, a, "TPIDRRO_EL0 the first guest read back")?;
    ensure_eq(tp(&g)?, a, "the first guest's TPIDRRO_EL0 at its second hvc")?;
    // Written by the handler while the guest waits.
    g.edit(|r| *r.tpidrro_el0_mut() = c)?;
    ensure_eq(tp(&g)?, c, "TPIDRRO_EL0 after WriteRegisters")?;
    g.resume(env);
    g.hvc(env, 3, "the first guest's hvc after its second mrs")?;
    ensure_eq(g.x(0)?, c, "TPIDRRO_EL0 written while the guest waited, as the guest read it")?;
    ensure_eq(tp(&h)?, b, "the second guest's TPIDRRO_EL0 at the end")
}

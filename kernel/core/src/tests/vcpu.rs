//! VCPUs: a new VCPU's state, SetTCB binding both ways, InjectIRQ's list
//! register word and its errors, ReadReg/WriteReg, AckVPPI, what deleting
//! either side of a binding does, the SPSR a bound thread may have, and the
//! three VCPU events delivered as faults. The recording arch has a virtual
//! interface with 4 list registers and records every unload.

use super::ipc::park;
use super::*;
use crate::vcpu::{VGIC_HCR_EN, Vcpu, lr};
use InvocationLabel::*;
use Syscall::*;
use sel4_sys::FaultLabel;
use sel4_sys::vcpu as reg;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;
const VSPACE: u64 = InitialCap::InitThreadVSpace as u64;

/// A new VCPU: its cptr and address.
fn new_vcpu(s: &mut Sys) -> (u64, u64) {
    let v = s.retype(ObjectType::Vcpu, 0, 1);
    let Cap::Vcpu { ptr } = s.cap(v) else { panic!("no VCPU cap") };
    (v, ptr)
}

/// A copy of the VCPU at `ptr`.
fn vcpu(ptr: u64) -> Vcpu {
    // SAFETY: a live VCPU in the arena; read between kernel entries.
    unsafe { *(ptr as *const Vcpu) }
}

/// The VCPU at `ptr`, to change as the hardware would.
fn vcpu_mut(ptr: u64) -> &'static mut Vcpu {
    // SAFETY: as in `vcpu`; used within one statement.
    unsafe { &mut *(ptr as *mut Vcpu) }
}

fn unloaded(s: &Sys, ptr: u64) -> bool {
    s.k.arch.events.contains(&Event::VcpuUnload(ptr))
}

/// Writes pc, sp and spsr of thread `tt`; returns the SPSR it got.
fn write_spsr(s: &mut Sys, tt: u64, t: TcbRef, spsr: u64) -> u64 {
    s.ok(tt, TcbWriteRegisters, &[0, 3, 0x4000_0000, 0, spsr], &[]);
    t.get().context.spsr
}

#[test]
fn new_vcpu_state() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    let st = vcpu(ptr);
    assert_eq!(st.tcb, 0);
    assert_eq!(st.regs[reg::SCTLR as usize], 0x30d0_0800);
    assert_eq!(st.regs[reg::VMPIDR_EL2 as usize], 0x8000_0000);
    assert_eq!(st.regs[reg::WFX_TRAPS as usize], 3);
    for f in [reg::TTBR0, reg::VBAR, reg::TPIDR_EL1, reg::CNTV_CTL, reg::CNTVOFF] {
        assert_eq!(st.regs[f as usize], 0, "register {f}");
    }
    assert_eq!((st.vgic.hcr, st.vgic.vmcr, st.vgic.apr), (VGIC_HCR_EN, 0, 0));
    assert_eq!(VGIC_HCR_EN, 1);
    assert!(st.vgic.lr.iter().all(|&w| w == 0));
    assert!(!st.vtimer_masked);
    assert_eq!(s.ok(v, ArmVcpuReadReg, &[reg::SCTLR], &[]), vec![0x30d0_0800]);
    assert_eq!(s.ok(v, ArmVcpuReadReg, &[reg::WFX_TRAPS], &[]), vec![3]);
}

#[test]
fn set_tcb_binds_both_ways_and_moves() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    let (tt1, t1) = s.new_thread(10);
    let (tt2, t2) = s.new_thread(10);
    s.ok(v, ArmVcpuSetTcb, &[], &[tt1]);
    assert_eq!((vcpu(ptr).tcb, t1.get().vcpu), (t1.0, ptr));
    assert!(unloaded(&s, ptr));
    // To another thread: the first is unbound.
    s.ok(v, ArmVcpuSetTcb, &[], &[tt2]);
    assert_eq!((vcpu(ptr).tcb, t2.get().vcpu, t1.get().vcpu), (t2.0, ptr, 0));
    // Another VCPU for the second thread: the first VCPU is unbound.
    let (w, wptr) = new_vcpu(&mut s);
    s.ok(w, ArmVcpuSetTcb, &[], &[tt2]);
    assert_eq!((vcpu(wptr).tcb, t2.get().vcpu, vcpu(ptr).tcb), (t2.0, wptr, 0));
    // Errors.
    assert_eq!(s.err(v, ArmVcpuSetTcb, &[], &[]), Error::TruncatedMessage);
    let ep = s.endpoint();
    assert_eq!(s.invoke(v, ArmVcpuSetTcb, &[], &[ep]), Err((Error::InvalidCapability, vec![1])));
    assert_eq!(s.err(v, CNodeCopy, &[], &[]), Error::IllegalOperation);
    assert_eq!(vcpu(ptr).tcb, 0);
}

#[test]
fn inject_irq_fills_the_list_register() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    let word = |virq: u64, prio: u64, group: u64, index: u64| {
        virq | prio << 16 | group << 24 | index << 32
    };
    s.k.arch.events.clear();
    s.ok(v, ArmVcpuInjectIrq, &[word(45, 5, 1, 2)], &[]);
    assert!(unloaded(&s, ptr));
    // Pending (28), group 1 (30), priority 5 (23-27), EOI request (19).
    assert_eq!(vcpu(ptr).vgic.lr[2], 0x5288_002d);
    assert_eq!(lr::pending(45, 5, 1), 0x5288_002d);
    assert_eq!(vcpu(ptr).vgic.lr[..2], [0, 0]);
    // The largest values.
    s.ok(v, ArmVcpuInjectIrq, &[word(1019, 31, 0, 3)], &[]);
    assert_eq!(vcpu(ptr).vgic.lr[3], 1019 | 1 << 19 | 31 << 23 | 1 << 28);
    // Out of range: the list register, priority, group, IRQ.
    for (w, max) in [
        (word(45, 5, 0, 4), 3),
        (word(45, 5, 0, 0xff), 3),
        (word(45, 32, 0, 0), 31),
        (word(45, 0, 2, 0), 1),
        (word(1020, 0, 0, 0), 1019),
        (word(0xffff, 0, 0, 0), 1019),
    ] {
        assert_eq!(
            s.invoke(v, ArmVcpuInjectIrq, &[w], &[]),
            Err((Error::RangeError, vec![0, max])),
            "word {w:#x}"
        );
    }
    assert_eq!(s.err(v, ArmVcpuInjectIrq, &[], &[]), Error::TruncatedMessage);
    // A pending IRQ can be replaced; an active one not.
    s.ok(v, ArmVcpuInjectIrq, &[word(46, 0, 0, 2)], &[]);
    assert_eq!(vcpu(ptr).vgic.lr[2], lr::pending(46, 0, 0));
    vcpu_mut(ptr).vgic.lr[1] = lr::STATE_ACTIVE | 33;
    assert_eq!(s.err(v, ArmVcpuInjectIrq, &[word(47, 0, 0, 1)], &[]), Error::DeleteFirst);
    assert_eq!(vcpu(ptr).vgic.lr[1], lr::STATE_ACTIVE | 33);
}

#[test]
fn read_and_write_registers() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    for f in 0..reg::NUM_REGS as u64 {
        if f != reg::ISR {
            s.ok(v, ArmVcpuWriteReg, &[f, 0xabc0_0000 + f], &[]);
        }
    }
    for f in 0..reg::NUM_REGS as u64 {
        let want = if f == reg::ISR { 0 } else { 0xabc0_0000 + f };
        assert_eq!(vcpu(ptr).regs[f as usize], want, "register {f}");
        assert_eq!(s.ok(v, ArmVcpuReadReg, &[f], &[]), vec![want], "register {f}");
    }
    // The core reads and writes the memory copy only after an unload.
    s.k.arch.events.clear();
    s.ok(v, ArmVcpuReadReg, &[reg::TPIDR_EL1], &[]);
    assert_eq!(s.k.arch.events, vec![Event::VcpuUnload(ptr)]);
    s.k.arch.events.clear();
    s.ok(v, ArmVcpuWriteReg, &[reg::TPIDR_EL1, 7], &[]);
    assert_eq!(s.k.arch.events, vec![Event::VcpuUnload(ptr)]);
    let n = reg::NUM_REGS as u64;
    assert_eq!(s.invoke(v, ArmVcpuReadReg, &[n], &[]), Err((Error::InvalidArgument, vec![1])));
    assert_eq!(s.invoke(v, ArmVcpuWriteReg, &[n, 1], &[]), Err((Error::InvalidArgument, vec![1])));
    assert_eq!(
        s.invoke(v, ArmVcpuWriteReg, &[reg::ISR, 1], &[]),
        Err((Error::InvalidArgument, vec![1]))
    );
    assert_eq!(s.err(v, ArmVcpuReadReg, &[], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(v, ArmVcpuWriteReg, &[reg::TPIDR_EL1], &[]), Error::TruncatedMessage);
    assert_eq!(vcpu(ptr).regs[reg::TPIDR_EL1 as usize], 7);
}

#[test]
fn ack_vppi_unmasks_the_timer() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    vcpu_mut(ptr).vtimer_masked = true;
    assert_eq!(s.invoke(v, ArmVcpuAckVppi, &[26], &[]), Err((Error::InvalidArgument, vec![0])));
    assert!(vcpu(ptr).vtimer_masked);
    s.k.arch.events.clear();
    s.ok(v, ArmVcpuAckVppi, &[27], &[]);
    assert!(!vcpu(ptr).vtimer_masked);
    assert!(unloaded(&s, ptr));
    assert_eq!(s.err(v, ArmVcpuAckVppi, &[], &[]), Error::TruncatedMessage);
}

#[test]
fn deleting_the_tcb_unbinds_the_vcpu() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    let (tt, t) = s.new_thread(10);
    s.ok(v, ArmVcpuSetTcb, &[], &[tt]);
    assert_eq!(vcpu(ptr).tcb, t.0);
    s.ok(CNODE, CNodeDelete, &[tt, 64], &[]);
    assert_eq!(vcpu(ptr).tcb, 0);
    // The VCPU takes another thread.
    let (tt2, t2) = s.new_thread(10);
    s.ok(v, ArmVcpuSetTcb, &[], &[tt2]);
    assert_eq!((vcpu(ptr).tcb, t2.get().vcpu), (t2.0, ptr));
}

#[test]
fn deleting_the_vcpu_makes_the_thread_native() {
    let mut s = Sys::boot();
    let (v, ptr) = new_vcpu(&mut s);
    let (tt, t) = s.new_thread(10);
    s.ok(v, ArmVcpuSetTcb, &[], &[tt]);
    assert_eq!(write_spsr(&mut s, tt, t, 0x6000_03c5), 0x6000_03c5);
    s.k.arch.events.clear();
    s.ok(CNODE, CNodeDelete, &[v, 64], &[]);
    assert_eq!(t.get().vcpu, 0);
    assert_eq!(t.get().context.spsr, 0x6000_0000, "only the condition flags stay");
    assert!(unloaded(&s, ptr));
    assert!(s.k.arch.events.contains(&Event::VcpuForget(ptr)));
    assert_eq!(write_spsr(&mut s, tt, t, 0x3c5), 0);
}

#[test]
fn spsr_of_a_vcpu_thread() {
    let mut s = Sys::boot();
    let (v, _) = new_vcpu(&mut s);
    let (tt, t) = s.new_thread(10);
    // Native: condition flags only.
    assert_eq!(write_spsr(&mut s, tt, t, 0x3c5), 0);
    assert_eq!(write_spsr(&mut s, tt, t, 0xf000_03c5), 0xf000_0000);
    s.ok(v, ArmVcpuSetTcb, &[], &[tt]);
    // With a VCPU: EL0t, EL1t, EL1h with flags and DAIF; nothing else.
    for (spsr, got) in [
        (0x3c5, 0x3c5),
        (0x5, 0x5),
        (0x3c4, 0x3c4),
        (0x3c0, 0x3c0),
        (0xf000_03c5, 0xf000_03c5),
        (0x3c5 | 1 << 21 | 1 << 22, 0x3c5),
        (0x6000_03c9, 0x6000_0000),
        (0x3c8, 0),
        (0x3d0, 0),
        (0x3c1, 0),
    ] {
        assert_eq!(write_spsr(&mut s, tt, t, spsr), got, "SPSR {spsr:#x}");
    }
}

/// A handler (prio 100) waiting on `ep`, and a guest (prio 50) bound to a
/// new VCPU whose fault endpoint is a cap to `ep` badged 0xfa; the guest
/// is current. Returns the handler, the guest, `ep` and the VCPU's address.
fn guest(s: &mut Sys) -> (TcbRef, TcbRef, u64, u64) {
    let ep = s.endpoint();
    let fep = s.mint(ep, CapRights::all(), 0xfa);
    let (ht, handler) = s.new_thread(100);
    let (gt, g) = s.new_thread(50);
    s.ok(gt, TcbSetSpace, &[fep, 0, 0], &[CNODE, VSPACE]);
    let (v, ptr) = new_vcpu(s);
    s.ok(v, ArmVcpuSetTcb, &[], &[gt]);
    assert_eq!(write_spsr(s, gt, g, 0x3c5), 0x3c5);
    s.resume(ht);
    s.resume(gt);
    park(s);
    s.expect_current(handler);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(g);
    assert_eq!(s.k.current_vcpu() as u64, ptr);
    (handler, g, ep, ptr)
}

#[test]
fn vcpu_events_are_faults() {
    let mut s = Sys::boot();
    let (handler, g, ep, ptr) = guest(&mut s);
    let badge = 0xfa;
    // A trap: the syndrome.
    g.get().context.pc = 0x4000_0004;
    s.k.handle_vcpu_fault(0x5a00_1234);
    s.expect_current(handler);
    assert_eq!(s.state(g), ThreadState::BlockedOnReply);
    assert_eq!(g.get().fault_ip, 0x4000_0004);
    assert_eq!(s.reply(), (FaultLabel::VcpuFault as u64, badge, vec![0x5a00_1234]));
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    s.expect_current(g);
    assert_eq!(g.get().context.pc, 0x4000_0004, "resumes where it was");
    // The virtual timer: masked until AckVPPI.
    s.k.handle_vppi_event(27);
    s.expect_current(handler);
    assert_eq!(s.reply(), (FaultLabel::VppiEvent as u64, badge, vec![27]));
    assert!(vcpu(ptr).vtimer_masked);
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    s.expect_current(g);
    // Maintenance, with and without a list register.
    s.k.handle_vgic_maintenance(Some(2));
    s.expect_current(handler);
    assert_eq!(s.reply(), (FaultLabel::VgicMaintenance as u64, badge, vec![2]));
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    s.expect_current(g);
    s.k.handle_vgic_maintenance(None);
    s.expect_current(handler);
    assert_eq!(s.reply(), (FaultLabel::VgicMaintenance as u64, badge, vec![u64::MAX]));
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    s.expect_current(g);
    assert_eq!(s.state(g), ThreadState::Running);
}

#[test]
fn vcpu_events_without_a_vcpu_are_ignored() {
    let mut s = Sys::boot();
    let root = s.root;
    s.k.handle_vcpu_fault(0x5a00_0000);
    s.k.handle_vppi_event(27);
    s.k.handle_vgic_maintenance(Some(0));
    s.expect_current(root);
    assert_eq!(s.state(root), ThreadState::Running);
    assert_eq!(s.k.arch.out.matches("without a running VCPU; ignored").count(), 3);
}

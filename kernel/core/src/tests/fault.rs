//! Faults: delivery to a fault endpoint with seL4's message layouts,
//! replies that resume or write registers back, and the diagnostic when
//! there is no handler.

use super::ipc::park;
use super::*;
use InvocationLabel::*;
use Syscall::*;
use sel4_sys::FaultLabel;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;

/// A handler (prio 100) waiting on `ep`, and a faulter (prio 50) whose
/// fault endpoint is a badged cap to it; the faulter is current.
fn setup(s: &mut Sys) -> (TcbRef, TcbRef, u64, u64) {
    let ep = s.endpoint();
    let fep = s.mint(ep, CapRights::all(), 0xfa);
    let (ht, handler) = s.new_thread(100);
    let (ft, faulter) = s.new_thread(50);
    s.ok(ft, TcbSetSpace, &[fep, 0, 0], &[CNODE, InitialCap::InitThreadVSpace as u64]);
    s.resume(ht);
    s.resume(ft);
    park(s);
    s.expect_current(handler);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(faulter);
    (handler, faulter, ep, ft)
}

#[test]
fn vm_fault_round_trip() {
    let mut s = Sys::boot();
    let (handler, faulter, ep, _) = setup(&mut s);
    faulter.get().context.pc = 0x40_2000;
    s.k.handle_vm_fault(0xdead_0000, false, 0x93);
    s.expect_current(handler);
    assert_eq!(s.state(faulter), ThreadState::BlockedOnReply);
    assert_eq!(
        s.reply(),
        (FaultLabel::VmFault as u64, 0xfa, vec![0x40_2000, 0xdead_0000, 0, 0x93])
    );
    // An instruction fault.
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    assert_eq!(s.state(faulter), ThreadState::Running);
    s.expect_current(faulter);
    assert_eq!(faulter.get().context.pc, 0x40_2000, "restarts the faulting instruction");
    s.k.handle_vm_fault(0x40_2000, true, 0x86);
    s.expect_current(handler);
    assert_eq!(s.reply().2, vec![0x40_2000, 0x40_2000, 1, 0x86]);
}

#[test]
fn unknown_syscall_and_register_write_back() {
    let mut s = Sys::boot();
    let (handler, faulter, ep, _) = setup(&mut s);
    {
        let c = &mut faulter.get().context;
        for i in 0..31 {
            c.regs[i] = 100 + i as u64;
        }
        c.sp = 0x7000;
        c.spsr = 0x2000_0000;
        c.pc = 0x40_3004;
    }
    s.k.handle_syscall(42);
    s.expect_current(handler);
    let (label, badge, mrs) = s.reply();
    assert_eq!((label, badge), (FaultLabel::UnknownSyscall as u64, 0xfa));
    assert_eq!(mrs.len(), 13);
    assert_eq!(&mrs[..8], &[100, 101, 102, 103, 104, 105, 106, 107]);
    assert_eq!(&mrs[8..], &[0x40_3000, 0x7000, 130, 0x2000_0000, 42]);
    // Reply with label 0 and new x0-x7, pc (past the svc), sp, lr, spsr.
    let regs = [1, 2, 3, 4, 5, 6, 7, 8, 0x40_3004, 0x8000, 0x99, 0x4000_0000];
    s.syscall(ReplyRecv, ep, 0, &regs, &[]);
    s.expect_current(faulter);
    let c = faulter.get().context;
    assert_eq!(&c.regs[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!((c.pc, c.sp, c.regs[30], c.spsr), (0x40_3004, 0x8000, 0x99, 0x4000_0000));
    assert_eq!(s.state(faulter), ThreadState::Running);
    // A reply with a non-zero label leaves the thread stopped.
    s.k.handle_syscall(43);
    s.expect_current(handler);
    s.syscall(ReplyRecv, ep, 1, &[], &[]);
    assert_eq!(s.state(faulter), ThreadState::Inactive);
}

#[test]
fn user_exception() {
    let mut s = Sys::boot();
    let (handler, faulter, ep, _) = setup(&mut s);
    {
        let c = &mut faulter.get().context;
        c.pc = 0x40_1000;
        c.sp = 0x9000;
        c.spsr = 0x6000_0000;
    }
    s.k.handle_user_exception(0x22, 0x1f);
    s.expect_current(handler);
    assert_eq!(
        s.reply(),
        (FaultLabel::UserException as u64, 0xfa, vec![0x40_1000, 0x9000, 0x6000_0000, 0x22, 0x1f])
    );
    // Write back pc and sp (a short reply writes fewer registers).
    s.syscall(ReplyRecv, ep, 0, &[0x40_1004, 0xa000], &[]);
    s.expect_current(faulter);
    let c = faulter.get().context;
    assert_eq!((c.pc, c.sp, c.spsr), (0x40_1004, 0xa000, 0x6000_0000));
}

#[test]
fn cap_fault_message() {
    let mut s = Sys::boot();
    let (handler, faulter, ep, _) = setup(&mut s);
    faulter.get().context.pc = 0x40_5000;
    // A cptr with non-zero guard bits: guard mismatch at the root CNode.
    s.pc = 0x40_5000 - 8;
    s.syscall(Call, 1 << 60, 0, &[], &[]);
    s.expect_current(handler);
    let (label, badge, mrs) = s.reply();
    assert_eq!((label, badge), (FaultLabel::CapFault as u64, 0xfa));
    assert_eq!(mrs, vec![0x40_4ffc, 1 << 60, 0, 4, 64, 0, 51]);
    // The reply makes it redo the call: the same fault again.
    s.syscall(ReplyRecv, ep, 0, &[], &[]);
    s.expect_current(faulter);
    assert_eq!(faulter.get().context.pc, 0x40_4ffc);
    // A receive-phase fault on an empty slot.
    let empty = s.alloc_slot();
    s.syscall(Recv, empty, 0, &[], &[]);
    s.expect_current(handler);
    let (label, _, mrs) = s.reply();
    assert_eq!(label, FaultLabel::CapFault as u64);
    assert_eq!(&mrs[1..], &[empty, 1, 2, 0]);
}

#[test]
fn no_handler_prints_and_stops() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(100);
    s.resume(tt);
    park(&mut s);
    s.expect_current(t);
    t.get().context.pc = 0x40_0040;
    s.k.handle_vm_fault(0x1234, false, 0x7);
    assert_eq!(s.state(t), ThreadState::Inactive);
    let out = &s.k.arch.out;
    assert!(out.contains("thread \"root.t\""), "{out}");
    assert!(out.contains(&format!("(tcb {:#x})", t.0)), "{out}");
    assert!(out.contains("vm fault on data at address 0x1234 with status 0x7"), "{out}");
    assert!(out.contains("at pc 0x400040"), "{out}");
    assert!(out.contains("no fault handler (cap fault in send phase at address 0x0"), "{out}");
    assert!(s.k.current_is_idle());
}

#[test]
fn fault_endpoint_needs_grant_or_grant_reply() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let wo = s.copy(ep, CapRights::write_only());
    let (tt, t) = s.new_thread(100);
    s.ok(tt, TcbSetSpace, &[wo, 0, 0], &[CNODE, InitialCap::InitThreadVSpace as u64]);
    s.resume(tt);
    park(&mut s);
    s.expect_current(t);
    s.k.handle_user_exception(1, 2);
    assert_eq!(s.state(t), ThreadState::Inactive);
    assert!(s.k.arch.out.contains(&format!("cap fault in send phase at address {wo:#x}")));
}

#[test]
fn dropped_reply_cap_leaves_faulter_waiting() {
    let mut s = Sys::boot();
    let (handler, faulter, _, _) = setup(&mut s);
    s.k.handle_vm_fault(0x10, false, 0);
    s.expect_current(handler);
    // The handler saves and drops the reply cap: the faulter stays blocked
    // on reply; Resume restarts it and clears the fault.
    let saved = s.alloc_slot();
    s.ok(CNODE, CNodeSaveCaller, &[saved, 64], &[]);
    s.ok(CNODE, CNodeDelete, &[saved, 64], &[]);
    assert_eq!(s.state(faulter), ThreadState::BlockedOnReply);
    s.k.restart(faulter);
    assert_eq!(s.state(faulter), ThreadState::Restart);
    assert!(faulter.get().fault.is_none());
    assert_eq!(handler.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
}

#[test]
fn grant_reply_fault_endpoint() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let gr = s.mint(ep, CapRights(CapRights::WRITE | CapRights::GRANT_REPLY), 3);
    let (ht, handler) = s.new_thread(100);
    let (ft, faulter) = s.new_thread(50);
    s.ok(ft, TcbSetSpace, &[gr, 0, 0], &[CNODE, InitialCap::InitThreadVSpace as u64]);
    s.resume(ht);
    s.resume(ft);
    park(&mut s);
    s.expect_current(handler);
    // The handler is not waiting yet: the fault message queues.
    let n = s.notification();
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(faulter);
    s.k.handle_user_exception(0x18, 5);
    assert_eq!(s.state(faulter), ThreadState::BlockedOnSend);
    assert!(s.k.current_is_idle());
    s.kernel_signal(n);
    s.expect_current(handler);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(handler);
    assert_eq!(s.reply().0, FaultLabel::UserException as u64);
    assert_eq!(s.reply().1, 3);
    assert_eq!(s.state(faulter), ThreadState::BlockedOnReply);
    // Suspending the faulter drops the pending fault and the reply cap.
    s.k.suspend(faulter);
    assert!(faulter.get().fault.is_none());
    assert_eq!(handler.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
}

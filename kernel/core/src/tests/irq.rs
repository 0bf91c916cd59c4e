//! Interrupts: issuing handlers, their errors, delivery to notifications,
//! acknowledgement, clearing and deletion.

use super::ipc::park;
use super::*;
use crate::IrqState;
use InvocationLabel::*;
use Syscall::*;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;
const IRQ_CONTROL: u64 = InitialCap::IrqControl as u64;

fn issue(s: &mut Sys, irq: u64, edge: bool) -> u64 {
    let d = s.alloc_slot();
    s.ok(IRQ_CONTROL, ArmIrqIssueIrqHandlerTrigger, &[irq, edge as u64, d, 64], &[CNODE]);
    d
}

#[test]
fn issue_handlers() {
    let mut s = Sys::boot();
    let h = issue(&mut s, 33, true);
    assert_eq!(s.cap(h), Cap::IrqHandler { irq: 33 });
    assert_eq!(s.k.irq_state[33], IrqState::Signal);
    assert_eq!(s.k.arch.events, vec![Event::Edge(33, true), Event::Mask(33, false)]);
    assert!(crate::cdt::is_mdb_parent_of(s.slot(IRQ_CONTROL), s.slot(h)));
    // The plain variant is level triggered.
    let d = s.alloc_slot();
    s.ok(IRQ_CONTROL, IrqIssueIrqHandler, &[34, d, 64], &[CNODE]);
    assert!(s.k.arch.events.contains(&Event::Edge(34, false)));
    // Errors.
    let d = s.alloc_slot();
    let e = |s: &mut Sys, irq: u64| {
        s.invoke(IRQ_CONTROL, ArmIrqIssueIrqHandlerTrigger, &[irq, 0, d, 64], &[CNODE]).unwrap_err()
    };
    assert_eq!(e(&mut s, 33).0, Error::RevokeFirst);
    assert_eq!(e(&mut s, TIMER_IRQ as u64).0, Error::RevokeFirst);
    assert_eq!(e(&mut s, RESERVED_IRQ as u64).0, Error::RevokeFirst);
    assert_eq!(e(&mut s, 64), (Error::RangeError, vec![0, 63]));
    assert_eq!(e(&mut s, u64::MAX), (Error::RangeError, vec![0, 63]));
    let r = s.invoke(IRQ_CONTROL, ArmIrqIssueIrqHandlerTrigger, &[40, 0, h, 64], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::DeleteFirst);
    assert_eq!(
        s.err(IRQ_CONTROL, ArmIrqIssueIrqHandlerTrigger, &[40, 0, d], &[CNODE]),
        Error::TruncatedMessage
    );
    assert_eq!(s.err(IRQ_CONTROL, IrqIssueIrqHandler, &[40, d, 64], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(IRQ_CONTROL, IrqAckIrq, &[], &[]), Error::IllegalOperation);
    let r = s.invoke(IRQ_CONTROL, IrqIssueIrqHandler, &[40, d, 0], &[CNODE]);
    assert_eq!(r.unwrap_err(), (Error::RangeError, vec![1, 64]));
    assert_eq!(s.k.irq_state[40], IrqState::Inactive);
}

#[test]
fn delivery_ack_and_clear() {
    let mut s = Sys::boot();
    let h = issue(&mut s, 40, false);
    let n = s.notification();
    let badged = s.mint(n, CapRights::all(), 0x100);
    s.ok(h, IrqSetIrqHandler, &[], &[badged]);
    let (tt, t) = s.new_thread(100);
    s.resume(tt);
    park(&mut s);
    s.expect_current(t);
    s.syscall(Recv, n, 0, &[], &[]);
    assert!(s.k.current_is_idle());
    s.k.arch.events.clear();
    s.k.handle_irq(40);
    s.expect_current(t);
    assert_eq!(t.get().context.regs[0], 0x100);
    assert_eq!(s.k.arch.events, vec![Event::Mask(40, true)]);
    // Ack unmasks.
    s.k.arch.events.clear();
    s.ok(h, IrqAckIrq, &[], &[]);
    assert_eq!(s.k.arch.events, vec![Event::Mask(40, false)]);
    // Another IRQ while nobody waits: the notification keeps it.
    s.k.handle_irq(40);
    let ntfn = crate::object::NtfnRef(s.cap(n).obj_ptr());
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Active);
    s.syscall(NBRecv, n, 0, &[], &[]);
    assert_eq!(t.get().context.regs[0], 0x100);
    // Clear: the IRQ no longer signals, but is still masked on arrival.
    s.ok(h, IrqClearIrqHandler, &[], &[]);
    s.k.arch.events.clear();
    s.k.handle_irq(40);
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Idle);
    assert_eq!(s.k.arch.events, vec![Event::Mask(40, true)]);
    // Handler invocation errors.
    assert_eq!(s.err(h, IrqSetIrqHandler, &[], &[]), Error::TruncatedMessage);
    let ro = s.copy(n, CapRights::read_only());
    assert_eq!(
        s.invoke(h, IrqSetIrqHandler, &[], &[ro]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
    assert_eq!(s.err(h, IrqSetIrqHandler, &[], &[CNODE]), Error::InvalidCapability);
    assert_eq!(s.err(h, CNodeCopy, &[], &[]), Error::IllegalOperation);
}

#[test]
fn deleting_the_handler_deactivates_the_irq() {
    let mut s = Sys::boot();
    let h = issue(&mut s, 41, false);
    let n = s.notification();
    s.ok(h, IrqSetIrqHandler, &[], &[n]);
    let copy = s.copy(h, CapRights::all());
    // Not the last handler cap: still active.
    s.ok(CNODE, InvocationLabel::CNodeDelete, &[copy, 64], &[]);
    assert_eq!(s.k.irq_state[41], IrqState::Signal);
    s.k.arch.events.clear();
    s.ok(CNODE, InvocationLabel::CNodeDelete, &[h, 64], &[]);
    assert_eq!(s.k.irq_state[41], IrqState::Inactive);
    assert_eq!(s.k.arch.events, vec![Event::Mask(41, true)]);
    assert_eq!(SlotRef::at(s.k.irq_node, 41).cap(), Cap::Null);
    // It can be issued again; revoking IRQ control deletes every handler.
    let h2 = issue(&mut s, 41, false);
    let h3 = issue(&mut s, 42, false);
    s.ok(CNODE, InvocationLabel::CNodeRevoke, &[IRQ_CONTROL, 64], &[]);
    assert_eq!((s.cap(h2), s.cap(h3)), (Cap::Null, Cap::Null));
    assert_eq!(s.k.irq_state[42], IrqState::Inactive);
    assert_eq!(s.cap(IRQ_CONTROL), Cap::IrqControl);
}

#[test]
fn spurious_and_inactive_irqs_are_masked() {
    let mut s = Sys::boot();
    s.k.handle_irq(50);
    s.k.handle_irq(1000);
    s.k.handle_irq(RESERVED_IRQ);
    assert_eq!(s.k.arch.events, vec![Event::Mask(50, true), Event::Mask(1000, true)]);
    s.expect_current(s.root);
}

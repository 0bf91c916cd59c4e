//! Notifications: signal, wait, poll, badges OR-ing, bound notifications.

use super::ipc::{park, unpark, waker};
use super::*;
use InvocationLabel::*;
use Syscall::*;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;

#[test]
fn signals_accumulate_until_waited_for() {
    let mut s = Sys::boot();
    let n = s.notification();
    let b1 = s.mint(n, CapRights::all(), 0b01);
    let b2 = s.mint(n, CapRights::all(), 0b10);
    s.syscall(Send, b1, 0, &[], &[]);
    s.syscall(Send, b2, 0, &[], &[]);
    let root = s.root;
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(root);
    assert_eq!(root.get().context.regs[0], 0b11);
    // Nothing pending now: a poll gets 0.
    s.syscall(NBRecv, n, 0, &[], &[]);
    assert_eq!(root.get().context.regs[0], 0);
    s.syscall(Send, b2, 0, &[], &[]);
    s.syscall(NBRecv, n, 0, &[], &[]);
    assert_eq!(root.get().context.regs[0], 0b10);
}

#[test]
fn signal_wakes_waiter_and_preempts_by_priority() {
    let mut s = Sys::boot();
    let n = s.notification();
    let (ht, high) = s.new_thread(100);
    let (lt, low) = s.new_thread(50);
    s.resume(ht);
    s.resume(lt);
    let park = park(&mut s);
    s.expect_current(high);
    s.syscall(Recv, n, 0, &[], &[]);
    assert_eq!(s.state(high), ThreadState::BlockedOnNotification);
    s.expect_current(low);
    let b = s.mint(n, CapRights::all(), 5);
    // The low thread signals: the high one runs at once.
    s.syscall(Send, n, 0, &[], &[]);
    s.expect_current(high);
    assert_eq!(high.get().context.regs[0], 0);
    assert_eq!(s.state(low), ThreadState::Running);
    // The high thread waits again; the low signals with a badge through a
    // minted cap.
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(low);
    let Cap::Notification { .. } = s.cap(b) else { panic!() };
    s.syscall(Send, b, 0, &[], &[]);
    s.expect_current(high);
    assert_eq!(high.get().context.regs[0], 5);
    unpark(&mut s, park);
}

#[test]
fn same_priority_signaller_keeps_running() {
    let mut s = Sys::boot();
    let n = s.notification();
    let (at, a) = s.new_thread(100);
    let (bt, b) = s.new_thread(100);
    s.resume(bt);
    s.resume(at);
    park(&mut s);
    s.expect_current(a);
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(b);
    s.syscall(Send, n, 0, &[], &[]);
    s.expect_current(b);
    assert_eq!(s.state(a), ThreadState::Running);
    assert!(a.get().queued);
}

#[test]
fn rights_for_signal_and_wait() {
    let mut s = Sys::boot();
    let n = s.notification();
    let ro = s.copy(n, CapRights::read_only());
    let wo = s.copy(n, CapRights::write_only());
    assert_eq!(
        s.invoke(ro, TcbSuspend, &[], &[]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
    let (tt, t) = s.new_thread(100);
    s.resume(tt);
    park(&mut s);
    s.expect_current(t);
    s.syscall(Recv, wo, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::Inactive);
    assert!(s.k.arch.out.contains("cap fault in receive phase"));
}

#[test]
fn bound_notification_wakes_endpoint_receiver() {
    let mut s = Sys::boot();
    let n = s.notification();
    let ep = s.endpoint();
    let (tt, t) = s.new_thread(100);
    s.ok(tt, TcbBindNotification, &[], &[n]);
    assert_eq!(t.get().bound_notification, s.cap(n).obj_ptr());
    s.resume(tt);
    waker(&mut s);
    let park = park(&mut s);
    s.expect_current(t);
    s.syscall(Recv, ep, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::BlockedOnReceive);
    // The waker signals the bound notification: the receiver wakes with
    // the badge and leaves the endpoint queue.
    let b = s.mint(n, CapRights::all(), 0x40);
    s.syscall(Send, b, 0, &[], &[]);
    s.expect_current(t);
    assert_eq!(t.get().context.regs[0], 0x40);
    let e = crate::object::EpRef(s.cap(ep).obj_ptr());
    assert_eq!(e.get().state(), crate::object::EpState::Idle);
    // A pending signal is taken by the next endpoint receive at once.
    let b2 = s.mint(n, CapRights::all(), 0x2);
    s.syscall(Send, b2, 0, &[], &[]);
    let ntfn = crate::object::NtfnRef(s.cap(n).obj_ptr());
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Active);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(t);
    assert_eq!(t.get().context.regs[0], 0x2);
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Idle);
    s.syscall(Send, park, 0, &[], &[]);
    s.expect_current(s.root);
}

#[test]
fn bind_errors() {
    let mut s = Sys::boot();
    let n = s.notification();
    let n2 = s.notification();
    let (tt, _t) = s.new_thread(100);
    let (t2, _) = s.new_thread(100);
    assert_eq!(s.err(tt, TcbBindNotification, &[], &[]), Error::TruncatedMessage);
    let ep = s.endpoint();
    assert_eq!(s.err(tt, TcbBindNotification, &[], &[ep]), Error::IllegalOperation);
    let wo = s.copy(n, CapRights::write_only());
    assert_eq!(s.err(tt, TcbBindNotification, &[], &[wo]), Error::IllegalOperation);
    assert_eq!(s.err(tt, TcbUnbindNotification, &[], &[]), Error::IllegalOperation);
    s.ok(tt, TcbBindNotification, &[], &[n]);
    assert_eq!(s.err(tt, TcbBindNotification, &[], &[n2]), Error::IllegalOperation);
    assert_eq!(s.err(t2, TcbBindNotification, &[], &[n]), Error::IllegalOperation);
    // The root may not wait on n: it is bound to tt's thread.
    let root = s.root;
    s.syscall(Recv, n, 0, &[], &[]);
    assert_eq!(s.state(root), ThreadState::Inactive);
    assert!(s.k.arch.out.contains("cap fault in receive phase"));
}

#[test]
fn unbind_and_delete() {
    let mut s = Sys::boot();
    let n = s.notification();
    let (tt, t) = s.new_thread(100);
    s.ok(tt, TcbBindNotification, &[], &[n]);
    s.ok(tt, TcbUnbindNotification, &[], &[]);
    assert_eq!(t.get().bound_notification, 0);
    s.ok(tt, TcbBindNotification, &[], &[n]);
    // Deleting the notification unbinds it.
    s.ok(CNODE, CNodeDelete, &[n, 64], &[]);
    assert_eq!(t.get().bound_notification, 0);
    // A notification with a waiter cannot be bound; deleting it restarts
    // the waiter.
    let n2 = s.notification();
    let (wt, w) = s.new_thread(100);
    s.resume(wt);
    let park = park(&mut s);
    s.expect_current(w);
    s.syscall(Recv, n2, 0, &[], &[]);
    assert_eq!(s.state(w), ThreadState::BlockedOnNotification);
    // Idle now; bring the root back by signalling from the kernel side.
    assert!(s.k.current_is_idle());
    s.kernel_signal(park);
    s.expect_current(s.root);
    assert_eq!(s.err(tt, TcbBindNotification, &[], &[n2]), Error::IllegalOperation);
    s.ok(CNODE, CNodeDelete, &[n2, 64], &[]);
    assert_eq!(s.state(w), ThreadState::Restart);
}

#[test]
fn bound_thread_in_call_is_not_woken() {
    let mut s = Sys::boot();
    let n = s.notification();
    let ep = s.endpoint();
    let (tt, t) = s.new_thread(100);
    s.ok(tt, TcbBindNotification, &[], &[n]);
    s.resume(tt);
    waker(&mut s);
    park(&mut s);
    s.expect_current(t);
    s.syscall(Call, ep, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::BlockedOnSend);
    s.syscall(Send, n, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::BlockedOnSend);
    let ntfn = crate::object::NtfnRef(s.cap(n).obj_ptr());
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Active);
}

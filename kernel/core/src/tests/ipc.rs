//! Endpoint IPC between threads: messages, badges, rights, cap transfer,
//! call and reply, cancellation.

use super::*;
use InvocationLabel::*;
use Syscall::*;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;

/// The root waits on a fresh notification so that other threads run; a
/// signal on it brings the root back at once (it has the top priority).
pub(crate) fn park(s: &mut Sys) -> u64 {
    let park = s.notification();
    s.syscall(Recv, park, 0, &[], &[]);
    assert_eq!(s.root.state(), ThreadState::BlockedOnNotification);
    park
}

/// The current thread signals the root's parking notification.
pub(crate) fn unpark(s: &mut Sys, park: u64) {
    s.syscall(Send, park, 0, &[], &[]);
    s.expect_current(s.root);
}

/// A runnable thread at priority 1 that runs when everything else waits.
pub(crate) fn waker(s: &mut Sys) -> TcbRef {
    let (wt, w) = s.new_thread(1);
    s.resume(wt);
    w
}

/// A server at 100 and a client at 90, both resumed; the root parked; the
/// server current.
pub(crate) fn pair(s: &mut Sys) -> (TcbRef, TcbRef, u64) {
    let ep = s.endpoint();
    let (st, server) = s.new_thread(100);
    let (ct, client) = s.new_thread(90);
    s.resume(st);
    s.resume(ct);
    park(s);
    s.expect_current(server);
    (server, client, ep)
}

#[test]
fn send_then_receive() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    assert_eq!(s.state(server), ThreadState::BlockedOnReceive);
    s.expect_current(client);
    s.syscall(Send, ep, 7, &[1, 2, 3, 4, 5, 6], &[]);
    // The server has the higher priority: it runs at once.
    s.expect_current(server);
    assert_eq!(s.reply(), (7, 0, vec![1, 2, 3, 4, 5, 6]));
    assert_eq!(s.state(client), ThreadState::Running);
    assert!(client.get().queued);
}

#[test]
fn receive_finds_queued_sender() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let (st, server) = s.new_thread(90);
    let (ct, client) = s.new_thread(100);
    s.resume(st);
    s.resume(ct);
    park(&mut s);
    s.expect_current(client);
    let badged = s.mint(ep, CapRights::write_only(), 0x55);
    s.syscall(Send, badged, 3, &[9, 8], &[]);
    assert_eq!(s.state(client), ThreadState::BlockedOnSend);
    s.expect_current(server);
    s.syscall(Recv, ep, 0, &[], &[]);
    // The woken client has the higher priority: it runs at once.
    s.expect_current(client);
    assert_eq!(s.state(server), ThreadState::Running);
    // The client blocks again; the server has the message.
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (3, 0x55, vec![9, 8]));
}

#[test]
fn rights_rules() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let ro = s.copy(ep, CapRights::read_only());
    let wo = s.copy(ep, CapRights::write_only());
    // Receiving on a write-only cap is a cap fault (no handler: stopped).
    s.syscall(Recv, wo, 0, &[], &[]);
    assert_eq!(s.state(server), ThreadState::Inactive);
    assert!(s.k.arch.out.contains("cap fault in receive phase"), "{}", s.k.arch.out);
    s.expect_current(client);
    // Calling through a read-only cap: InvalidCapability.
    assert_eq!(
        s.invoke(ro, TcbSuspend, &[], &[]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
    // Sending through it (no reply) does nothing.
    s.syscall(Send, ro, 0, &[], &[]);
    s.expect_current(client);
    assert_eq!(s.state(client), ThreadState::Running);
}

#[test]
fn call_and_reply() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Call, ep, 11, &[100, 200], &[]);
    assert_eq!(s.state(client), ThreadState::BlockedOnReply);
    s.expect_current(server);
    assert_eq!(s.reply(), (11, 0, vec![100, 200]));
    assert!(matches!(
        server.slot(crate::tcb::TCB_CALLER).cap(),
        Cap::Reply { master: false, tcb, can_grant: true } if tcb == client.0
    ));
    // ReplyRecv: the reply goes out, the server waits again.
    s.syscall(ReplyRecv, ep, 12, &[300, 301, 302, 303, 304], &[]);
    assert_eq!(s.state(server), ThreadState::BlockedOnReceive);
    assert_eq!(server.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
    s.expect_current(client);
    assert_eq!(s.reply(), (12, 0, vec![300, 301, 302, 303, 304]));
    // A second call: reply with Reply.
    s.syscall(Call, ep, 13, &[], &[]);
    s.expect_current(server);
    s.syscall(Reply, 0, 14, &[1], &[]);
    assert_eq!(s.state(client), ThreadState::Running);
    s.expect_current(server);
    // Reply with no caller: nothing happens.
    s.syscall(Reply, 0, 15, &[], &[]);
    s.expect_current(server);
}

#[test]
fn call_without_grant_rights() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let wo = s.copy(ep, CapRights::write_only());
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    // Write only: the message goes, the caller gets no reply cap and stops.
    s.syscall(Call, wo, 1, &[5], &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (1, 0, vec![5]));
    assert_eq!(s.state(client), ThreadState::Inactive);
    assert_eq!(server.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
}

#[test]
fn grant_reply_gives_reply_cap() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let wr = s.copy(ep, CapRights(CapRights::WRITE | CapRights::GRANT_REPLY));
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Call, wr, 1, &[], &[]);
    s.expect_current(server);
    assert_eq!(s.state(client), ThreadState::BlockedOnReply);
    assert!(matches!(server.slot(crate::tcb::TCB_CALLER).cap(), Cap::Reply { master: false, .. }));
}

/// The current thread's IPC buffer, for extra caps and receive slots.
fn buf(s: &Sys) -> BufRef {
    s.buffer().expect("buffer")
}

#[test]
fn cap_transfer() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let ntfn = s.notification();
    let recv_slot = s.alloc_slot();
    buf(&s).set_receive_slot(CNODE, recv_slot, 64);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Send, ep, 2, &[1], &[ntfn]);
    s.expect_current(server);
    let info = MessageInfo(server.get().context.regs[1]);
    assert_eq!((info.extra_caps(), info.caps_unwrapped(), info.length()), (1, 0, 1));
    assert!(matches!(s.cap(recv_slot), Cap::Notification { .. }));
    assert!(crate::cdt::is_mdb_parent_of(s.slot(ntfn), s.slot(recv_slot)));
    // The slot is now full: a second cap is not transferred.
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Send, ep, 2, &[], &[ntfn]);
    s.expect_current(server);
    let info = MessageInfo(server.get().context.regs[1]);
    assert_eq!(info.extra_caps(), 0);
}

#[test]
fn cap_transfer_needs_grant() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let ntfn = s.notification();
    let no_grant = s.copy(ep, CapRights::write_only());
    let recv_slot = s.alloc_slot();
    buf(&s).set_receive_slot(CNODE, recv_slot, 64);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Send, no_grant, 2, &[], &[ntfn]);
    s.expect_current(server);
    assert_eq!(MessageInfo(server.get().context.regs[1]).extra_caps(), 0);
    assert_eq!(s.cap(recv_slot), Cap::Null);
}

#[test]
fn unwrapped_badges_and_derive_failures() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    let b1 = s.mint(ep, CapRights::all(), 0x11);
    let b2 = s.mint(ep, CapRights::all(), 0x22);
    let recv_slot = s.alloc_slot();
    buf(&s).set_receive_slot(CNODE, recv_slot, 64);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    // Two caps to the endpoint itself: both unwrapped to their badges; an
    // IRQ control cap cannot be derived: the transfer stops there.
    s.syscall(Send, b1, 2, &[], &[b2, ep, InitialCap::IrqControl as u64]);
    s.expect_current(server);
    let info = MessageInfo(server.get().context.regs[1]);
    assert_eq!((info.extra_caps(), info.caps_unwrapped()), (2, 0b11));
    assert_eq!(server.get().context.regs[0], 0x11);
    let b = buf(&s);
    assert_eq!((b.cap_or_badge(0), b.cap_or_badge(1)), (0x22, 0));
    assert_eq!(s.cap(recv_slot), Cap::Null);
}

#[test]
fn bad_extra_cap_is_a_cap_fault() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    // An extra cap address that does not resolve (guard mismatch).
    s.syscall(Send, ep, 2, &[], &[1 << 40]);
    assert_eq!(s.state(client), ThreadState::Inactive);
    assert!(s.k.arch.out.contains("cap fault in send phase at address 0x10000000000"));
    assert_eq!(s.state(server), ThreadState::BlockedOnReceive);
}

#[test]
fn messages_without_buffers_are_truncated() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let (st, server) = s.new_thread(100);
    // A client without an IPC buffer.
    let ct = s.retype(ObjectType::Tcb, 0, 1);
    let vs = InitialCap::InitThreadVSpace as u64;
    let buffer = InitialCap::InitThreadIpcBuffer as u64;
    s.ok(ct, TcbConfigure, &[0, 0, 0, 0], &[CNODE, vs, buffer]);
    s.ok(ct, TcbSetPriority, &[90], &[InitialCap::InitThreadTcb as u64]);
    let Cap::Tcb { ptr } = s.cap(ct) else { panic!() };
    let client = TcbRef(ptr);
    s.resume(st);
    s.resume(ct);
    park(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    assert!(s.buffer().is_none());
    s.syscall(Send, ep, 4, &[1, 2, 3, 4, 5, 6, 7], &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (4, 0, vec![1, 2, 3, 4]));
    // Invocations from it see at most four words.
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    let d = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeMint, &[d, 64, ep, 64, 0xf, 5], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::TruncatedMessage);
}

#[test]
fn non_blocking_variants() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.k.cur.get().context.regs[0] = 77;
    s.syscall(NBRecv, ep, 0, &[], &[]);
    s.expect_current(server);
    assert_eq!(server.get().context.regs[0], 0);
    s.syscall(NBSend, ep, 0, &[1], &[]);
    s.expect_current(server);
    assert_eq!(s.state(server), ThreadState::Running);
    // NBSend to a waiting receiver delivers.
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(NBSend, ep, 9, &[1], &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (9, 0, vec![1]));
    // NBSend on an invalid cap: nothing, no fault.
    s.syscall(NBSend, 1 << 30, 0, &[], &[]);
    s.expect_current(server);
    assert_eq!(s.state(server), ThreadState::Running);
}

#[test]
fn cancel_on_suspend_and_delete() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let (at, a) = s.new_thread(100);
    let (bt, b) = s.new_thread(100);
    // Woken threads that do not run at once go to the front of their
    // queue (seL4's tcbSchedEnqueue): resume in reverse order.
    s.resume(bt);
    s.resume(at);
    waker(&mut s);
    let park = park(&mut s);
    s.expect_current(a);
    s.syscall(Send, ep, 1, &[], &[]);
    s.expect_current(b);
    s.syscall(Send, ep, 2, &[], &[]);
    assert_eq!(s.state(a), ThreadState::BlockedOnSend);
    assert_eq!(s.state(b), ThreadState::BlockedOnSend);
    unpark(&mut s, park);
    s.ok(at, TcbSuspend, &[], &[]);
    assert_eq!(s.state(a), ThreadState::Inactive);
    let e = crate::object::EpRef(s.cap(ep).obj_ptr());
    assert_eq!(e.get().queue().head, b.0);
    assert_eq!(e.get().queue().tail, b.0);
    // Deleting the endpoint's last cap restarts the waiters.
    s.ok(CNODE, CNodeDelete, &[ep, 64], &[]);
    assert_eq!(s.state(b), ThreadState::Restart);
    assert!(b.get().queued);
    assert_eq!(e.get().state(), crate::object::EpState::Idle);
    // Resuming the suspended thread makes it redo its send.
    s.resume(at);
    assert_eq!(s.state(a), ThreadState::Restart);
}

#[test]
fn cancel_badged_sends() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let b1 = s.mint(ep, CapRights::all(), 1);
    let b2 = s.mint(ep, CapRights::all(), 2);
    let (at, a) = s.new_thread(100);
    let (bt, b) = s.new_thread(100);
    let (ct, c) = s.new_thread(100);
    for t in [ct, bt, at] {
        s.resume(t);
    }
    waker(&mut s);
    let park = park(&mut s);
    s.expect_current(a);
    s.syscall(Send, b1, 0, &[], &[]);
    s.expect_current(b);
    s.syscall(Send, b2, 0, &[], &[]);
    s.expect_current(c);
    s.syscall(Send, b1, 0, &[], &[]);
    unpark(&mut s, park);
    // Badge 1 senders restart; the badge 2 sender stays queued.
    s.ok(CNODE, CNodeCancelBadgedSends, &[b1, 64], &[]);
    assert_eq!(s.state(a), ThreadState::Restart);
    assert_eq!(s.state(c), ThreadState::Restart);
    assert_eq!(s.state(b), ThreadState::BlockedOnSend);
    let e = crate::object::EpRef(s.cap(ep).obj_ptr());
    assert_eq!((e.get().queue().head, e.get().queue().tail), (b.0, b.0));
    assert_eq!(e.get().state(), crate::object::EpState::Send);
    // An unbadged cap cancels nothing.
    s.ok(CNODE, CNodeCancelBadgedSends, &[ep, 64], &[]);
    assert_eq!(s.state(b), ThreadState::BlockedOnSend);
}

#[test]
fn save_caller_and_reply_through_it() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Call, ep, 1, &[], &[]);
    s.expect_current(server);
    let saved = s.alloc_slot();
    s.ok(CNODE, CNodeSaveCaller, &[saved, 64], &[]);
    assert!(matches!(s.cap(saved), Cap::Reply { master: false, .. }));
    assert_eq!(server.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
    // Reply caps cannot be copied.
    let d = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, saved, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    // A master reply cap cannot be invoked; a saved one replies.
    s.syscall(Send, saved, 5, &[42], &[]);
    assert_eq!(s.cap(saved), Cap::Null);
    assert_eq!(s.state(client), ThreadState::Running);
    s.expect_current(server);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    assert_eq!(s.reply(), (5, 0, vec![42]));
}

#[test]
fn suspending_a_caller_drops_the_reply_cap() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Call, ep, 1, &[], &[]);
    s.expect_current(server);
    // Suspending the client removes the reply cap in the server's caller
    // slot.
    s.k.suspend(client);
    assert_eq!(server.slot(crate::tcb::TCB_CALLER).cap(), Cap::Null);
    s.syscall(Reply, 0, 0, &[], &[]);
    assert_eq!(s.state(client), ThreadState::Inactive);
}

#[test]
fn long_messages_and_receivers_without_buffers() {
    let mut s = Sys::boot();
    let (server, client, ep) = pair(&mut s);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    let words: Vec<u64> = (0..120).map(|i| i * 3).collect();
    s.syscall(Send, ep, 1, &words, &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (1, 0, words.clone()));
    // The server drops its buffer: messages to it stop at four words.
    s.k.cte_delete(server.slot(crate::tcb::TCB_BUFFER));
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(client);
    s.syscall(Send, ep, 1, &words, &[]);
    s.expect_current(server);
    assert_eq!(s.reply(), (1, 0, words[..4].to_vec()));
}

#[test]
fn send_performs_invocations_without_reply() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let root = s.root;
    s.syscall(Send, CNODE, CNodeDelete as u64, &[ep, 64], &[]);
    assert_eq!(s.cap(ep), Cap::Null);
    // Errors are silent for Send.
    s.syscall(Send, CNODE, CNodeDelete as u64, &[ep, 0], &[]);
    assert_eq!(MessageInfo(root.get().context.regs[1]).label(), CNodeDelete as u64);
    // Call on a notification signals it and replies empty.
    let n = s.notification();
    assert_eq!(s.ok(n, InvalidInvocation, &[], &[]), Vec::<u64>::new());
    let ntfn = crate::object::NtfnRef(s.cap(n).obj_ptr());
    assert_eq!(ntfn.get().state(), crate::object::NtfnState::Active);
}

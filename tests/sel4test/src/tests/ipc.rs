//! IPC: Send, NBSend, Call, Recv, NBRecv, Reply, ReplyRecv with messages
//! of every length, within and across address spaces; queueing; cap
//! transfer and unwrapping; notifications, bound notifications and their
//! errors.

use sel4::CapRights;
use sel4::init_thread::slot;
use sel4_sys::error::LookupFailure;
use sel4_sys::{FaultLabel, MessageInfo};

use super::common::{MAGIC1, MAGIC2, h_call, h_send, h_wait, info};
use crate::Test;
use crate::check::{Context, Fail, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, path};
use crate::sys::{self, Ipc};
use crate::thread::{PROCESS_CNODE_BITS, Spawn, Thread, fail};

pub const TESTS: &[Test] = &[
    Test { id: "IPC0001", desc: "Test seL4_Send + seL4_Recv", run: send_recv },
    Test { id: "IPC0002", desc: "Test seL4_Call + seL4_ReplyRecv", run: call_reply_recv },
    Test {
        id: "IPC0003",
        desc: "Test seL4_Call + seL4_Reply + seL4_Recv",
        run: call_reply_and_recv,
    },
    Test { id: "IPC0004", desc: "Test seL4_NBSend + seL4_Recv", run: nbsend_recv },
    Test { id: "IPC1001", desc: "Test inter-AS seL4_Send + seL4_Recv", run: send_recv_interas },
    Test {
        id: "IPC1002",
        desc: "Test inter-AS seL4_Call + seL4_ReplyRecv",
        run: call_reply_recv_interas,
    },
    Test {
        id: "IPC1003",
        desc: "Test inter-AS seL4_Call + seL4_Reply + seL4_Recv",
        run: call_reply_and_recv_interas,
    },
    Test { id: "IPC1004", desc: "Test inter-AS seL4_NBSend + seL4_Recv", run: nbsend_recv_interas },
    Test {
        id: "IPC1005",
        desc: "A cap transferred into another CSpace works there",
        run: cap_to_process,
    },
    Test { id: "IPC0005", desc: "seL4_NBSend without a receiver is dropped", run: nbsend_dropped },
    Test { id: "IPC0006", desc: "Test seL4_NBRecv", run: nbrecv },
    Test { id: "IPC0007", desc: "Senders are received in the order they queued", run: fifo },
    Test { id: "IPC0008", desc: "A message longer than 120 words is cut to 120", run: too_long },
    Test {
        id: "IPC0009",
        desc: "A cap sent with grant arrives in the receive slot",
        run: cap_transfer,
    },
    Test { id: "IPC0010", desc: "Test suspending an IPC mid-Call()", run: abort_in_call },
    Test {
        id: "IPC0011",
        desc: "A badged cap of the receiving endpoint is unwrapped to its badge",
        run: unwrap,
    },
    Test {
        id: "IPC0012",
        desc: "No cap arrives without an empty receive slot or a sent cap",
        run: no_receive_slot,
    },
    Test {
        id: "IPC0013",
        desc: "An extra cap that fails lookup is a cap fault of a blocking send",
        run: extra_cap_fault,
    },
    Test {
        id: "IPC0014",
        desc: "Notification badges accumulate until a wait or poll takes them",
        run: ntfn_badges,
    },
    Test { id: "IPC0015", desc: "A signal wakes one waiter, in FIFO order", run: ntfn_waiters },
    Test {
        id: "IPC0016",
        desc: "A bound TCB waiting on an endpoint receives IPC and signals",
        run: bound_recv,
    },
    Test {
        id: "IPC0017",
        desc: "A bound TCB waiting on its notification receives signals",
        run: bound_wait,
    },
    Test {
        id: "IPC0018",
        desc: "A pending signal is received before a queued message",
        run: bound_order,
    },
    Test { id: "IPC0019", desc: "Bind and unbind notification errors", run: bind_errors },
    Test {
        id: "IPC0020",
        desc: "Invoking an empty slot: Call gets InvalidCapability",
        run: call_empty_slot,
    },
    Test {
        id: "IPC0021",
        desc: "Call on a notification signals it and returns at once",
        run: call_notification,
    },
    Test { id: "IPC0022", desc: "A reply without a caller goes nowhere", run: reply_nobody },
    Test {
        id: "IPC0023",
        desc: "Suspending a queued sender takes it off the queue",
        run: suspend_queued_sender,
    },
    Test {
        id: "IPC0024",
        desc: "One receive slot: one cap transferred, the endpoint's own caps unwrapped",
        run: three_caps,
    },
];

/// The label and words of the message of length `len` from `seed`.
fn word(seed: u64, i: u64) -> u64 {
    seed.wrapping_mul(31).wrapping_add(i)
}

/// Sends a message of each length 0..=120 on `[ep, seed, nb]`, label the
/// length (NBSend if `nb`).
fn h_send_lengths(ipc: &Ipc, a: [u64; 4]) -> u64 {
    for len in 0..=120 {
        for i in 0..len {
            ipc.set_mr(i as usize, word(a[1] + len, i));
        }
        if a[2] != 0 {
            ipc.nb_send(a[0], info(len, len));
        } else {
            ipc.send(a[0], info(len, len));
        }
    }
    0
}

/// Calls `[ep, seed]` with each length; checks each reply has the same
/// length and every word one more.
fn h_call_lengths(ipc: &Ipc, a: [u64; 4]) -> u64 {
    for len in 0..=120 {
        for i in 0..len {
            ipc.set_mr(i as usize, word(a[1] + len, i));
        }
        let m = ipc.call(a[0], info(len, len));
        if m.length() != len || m.label() != len + 1 {
            return fail(len);
        }
        for i in 0..len {
            if ipc.mr(i as usize) != word(a[1] + len, i).wrapping_add(1) {
                return fail(0x100 | len);
            }
        }
    }
    0
}

/// Checks the message of length `len` just received by the root task.
fn check_msg(env: &Env, m: &crate::sys::Msg, seed: u64, len: u64) -> TestResult {
    let what = alloc::format!("message of {len} words");
    ensure_eq((m.label(), m.length()), (len, len), &alloc::format!("{what}: label and length"))?;
    for i in 0..len {
        ensure_eq(
            env.ipc.mr(i as usize),
            word(seed + len, i),
            &alloc::format!("{what}: word {i}"),
        )?;
    }
    Ok(())
}

const SEED: u64 = 0x5eed;

fn recv_lengths(env: &mut Env, ep: u64) -> TestResult {
    for len in 0..=120 {
        let m = env.ipc.recv(ep);
        check_msg(env, &m, SEED, len)?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Serve {
    ReplyRecv,
    ReplyThenRecv,
}

/// Serves the 121 calls of `h_call_lengths`.
fn serve_lengths(env: &mut Env, ep: u64, how: Serve) -> TestResult {
    let mut m = env.ipc.recv(ep);
    for len in 0..=120u64 {
        check_msg(env, &m, SEED, len)?;
        for i in 0..len as usize {
            env.ipc.set_mr(i, env.ipc.mr(i).wrapping_add(1));
        }
        let reply = info(len + 1, len);
        if len == 120 {
            env.ipc.reply(reply);
        } else if how == Serve::ReplyRecv {
            m = env.ipc.reply_recv(ep, reply);
        } else {
            env.ipc.reply(reply);
            m = env.ipc.recv(ep);
        }
    }
    Ok(())
}

/// Starts `f` with `[ep, SEED, nb]` in this address space or in a process
/// (which gets the endpoint in its slot 2).
fn start(
    env: &mut Env,
    f: crate::thread::HelperFn,
    nb: u64,
    prio: u64,
    inter_as: bool,
) -> TestResult<(u64, Thread)> {
    let ep = env.endpoint()?.bits();
    let t = if inter_as {
        let s = Spawn::new(f).args([2, SEED, nb, 0]).prio(prio);
        env.spawn_process(s, &[(2, ep, CapRights::all(), 0)])?.thread
    } else {
        env.spawn(Spawn::new(f).args([ep, SEED, nb, 0]).prio(prio))?
    };
    Ok((ep, t))
}

fn send_recv_in(env: &mut Env, inter_as: bool) -> TestResult {
    let (ep, t) = start(env, h_send_lengths, 0, crate::env::HELPER_PRIO, inter_as)?;
    recv_lengths(env, ep)?;
    env.join_expect(&t, 0, "the sender")
}

fn call_in(env: &mut Env, how: Serve, inter_as: bool) -> TestResult {
    let (ep, t) = start(env, h_call_lengths, 0, crate::env::HELPER_PRIO, inter_as)?;
    serve_lengths(env, ep, how)?;
    let r = env.join(&t)?;
    ensure(r == 0, || alloc::format!("the caller's check of the reply failed ({r:#x})"))
}

fn nbsend_in(env: &mut Env, inter_as: bool) -> TestResult {
    // Below the root task, so the root task is waiting before each NBSend.
    let (ep, t) = start(env, h_send_lengths, 1, crate::env::ROOT_PRIO - 50, inter_as)?;
    recv_lengths(env, ep)?;
    env.join_expect(&t, 0, "the sender")
}

fn send_recv(env: &mut Env) -> TestResult {
    send_recv_in(env, false)
}

fn call_reply_recv(env: &mut Env) -> TestResult {
    call_in(env, Serve::ReplyRecv, false)
}

fn call_reply_and_recv(env: &mut Env) -> TestResult {
    call_in(env, Serve::ReplyThenRecv, false)
}

fn nbsend_recv(env: &mut Env) -> TestResult {
    nbsend_in(env, false)
}

fn send_recv_interas(env: &mut Env) -> TestResult {
    send_recv_in(env, true)
}

fn call_reply_recv_interas(env: &mut Env) -> TestResult {
    call_in(env, Serve::ReplyRecv, true)
}

fn call_reply_and_recv_interas(env: &mut Env) -> TestResult {
    call_in(env, Serve::ReplyThenRecv, true)
}

fn nbsend_recv_interas(env: &mut Env) -> TestResult {
    nbsend_in(env, true)
}

/// Receives a cap on `[ep]` into slot 3 of its CNode, whose cap it has in
/// slot `[_, cnode]`, then signals through it; returns the message's extra
/// cap count.
fn h_recv_cap_and_signal(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_recv_slot(a[1], 3, PROCESS_CNODE_BITS as u64);
    let m = ipc.recv(a[0]);
    sys::signal(3);
    m.extra_caps()
}

fn cap_to_process(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 0x99)?;
    let s = Spawn::new(h_recv_cap_and_signal).args([2, 4, 0, 0]).suspended();
    let p = env.spawn_process(s, &[(2, ep, CapRights::all(), 0)])?;
    // The process's own CNode, in its slot 4.
    p.give(4, p.cnode.bits(), CapRights::all(), 0)?;
    p.thread.start()?;
    env.ipc.set_cap(0, nb);
    env.ipc.send(ep, MessageInfo::new(0, 0, 1, 0));
    env.join_expect(&p.thread, 1, "caps received")?;
    ensure_eq(sys::poll(n), 0x99, "signal through the transferred cap")?;
    let out = env.slot()?;
    path(out)
        .copy(&p.cnode.absolute_cptr_from_bits_with_depth(3, PROCESS_CNODE_BITS), CapRights::all())
        .ctx("the cap in the process's CNode")
}

fn nbsend_dropped(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    env.ipc.set_mr(0, MAGIC2);
    env.ipc.nb_send(ep, info(0, 1));
    let t = env.spawn(Spawn::new(h_send).args([ep, MAGIC1, 0, 0]))?;
    env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the first message received")?;
    env.join(&t)?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq((m.badge, m.label()), (0, 0), "nothing more queued")
}

fn nbrecv(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let badged = env.mint(ep, CapRights::all(), 0x31)?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq((m.badge, m.label()), (0, 0), "with no sender")?;
    let t = env.spawn(Spawn::new(h_send).args([badged, MAGIC1, 7, 0]))?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq((m.badge, m.label(), env.ipc.mr(0)), (0x31, 7, MAGIC1), "with a queued sender")?;
    env.join(&t)?;
    Ok(())
}

fn fifo(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let mut threads = alloc::vec::Vec::new();
    for b in 1..=5 {
        let c = env.mint(ep, CapRights::all(), b)?;
        threads.push(env.spawn(Spawn::new(h_send).args([c, 100 + b, 0, 0]))?);
    }
    for b in 1..=5 {
        let m = env.ipc.recv(ep);
        ensure_eq((m.badge, env.ipc.mr(0)), (b, 100 + b), "sender in queue order")?;
    }
    for t in &threads {
        env.join(t)?;
    }
    Ok(())
}

/// Sends `[ep]` a message whose info claims 127 words.
fn h_send_127(ipc: &Ipc, a: [u64; 4]) -> u64 {
    for i in 0..120 {
        ipc.set_mr(i, i as u64 + 1);
    }
    ipc.send(a[0], MessageInfo(0x7f));
    0
}

fn too_long(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_send_127).args([ep, 0, 0, 0]))?;
    let m = env.ipc.recv(ep);
    ensure_eq(m.length(), 120, "length received")?;
    ensure_eq(env.ipc.mr(119), 120, "last word")?;
    env.join(&t)?;
    Ok(())
}

/// Sends `[ep]` one word and the cap `[_, cap]` (and `[_, _, cap2]`,
/// `[.., cap3]` when not 0).
fn h_send_caps(ipc: &Ipc, a: [u64; 4]) -> u64 {
    let mut n = 0;
    for c in a[1..].iter().copied().filter(|c| *c != 0) {
        ipc.set_cap(n, c);
        n += 1;
    }
    ipc.set_mr(0, MAGIC1);
    ipc.send(a[0], MessageInfo::new(0, 0, n as u64, 1));
    0
}

fn cap_transfer(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 0x42)?;
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, nb, 0, 0]))?;
    let r = env.slot()?;
    env.ipc.set_recv_slot(slot::CNODE.cptr_bits(), r, 64);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), m.caps_unwrapped()), (1, 0), "extra caps and unwrapped")?;
    ensure_eq(env.ipc.mr(0), MAGIC1, "the message")?;
    env.expect_slot(r, false, "the receive slot")?;
    sys::signal(r);
    ensure_eq(sys::poll(n), 0x42, "signal through the received cap")?;
    env.expect_slot(nb, false, "the sender's cap (a copy was sent)")?;
    env.join(&t)?;
    Ok(())
}

fn abort_in_call(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_call).args([ep, MAGIC1, 0, 0]))?;
    env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the call")?;
    t.tcb.tcb_suspend().ctx("suspend")?;
    env.ipc.set_mr(0, 1);
    env.ipc.reply(info(0, 1));
    t.tcb.tcb_resume().ctx("resume")?;
    // Resumed, the caller makes its call again.
    env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the repeated call")?;
    env.ipc.set_mr(0, MAGIC2);
    env.ipc.reply(info(0, 1));
    env.join_expect(&t, MAGIC2, "the reply to the repeated call")
}

fn unwrap(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let badged = env.mint(ep, CapRights::all(), 0x1357)?;
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, badged, 0, 0]))?;
    let r = env.slot()?;
    env.ipc.set_recv_slot(slot::CNODE.cptr_bits(), r, 64);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), m.caps_unwrapped()), (1, 1), "extra caps and unwrapped")?;
    ensure_eq(env.ipc.badge(0), 0x1357, "the unwrapped badge")?;
    env.expect_slot(r, true, "the receive slot")?;
    env.join(&t)?;
    Ok(())
}

fn no_receive_slot(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?.bits();
    let full = env.notification()?.bits();
    // An occupied receive slot.
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, n, 0, 0]))?;
    env.ipc.set_recv_slot(slot::CNODE.cptr_bits(), full, 64);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), env.ipc.mr(0)), (0, MAGIC1), "occupied receive slot")?;
    env.join(&t)?;
    // No receive CNode.
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, n, 0, 0]))?;
    env.ipc.set_recv_slot(0, 0, 0);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), env.ipc.mr(0)), (0, MAGIC1), "no receive slot")?;
    env.join(&t)?;
    // An empty slot as the cap to send.
    let (e, r) = (env.slot()?, env.slot()?);
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, e, 0, 0]))?;
    env.ipc.set_recv_slot(slot::CNODE.cptr_bits(), r, 64);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), env.ipc.mr(0)), (0, MAGIC1), "an empty slot sent")?;
    env.expect_slot(r, true, "the receive slot")?;
    env.join(&t)?;
    Ok(())
}

fn extra_cap_fault(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let fault_ep = env.endpoint()?.bits();
    let bad = 1 << 62 | 5;
    let s = Spawn::new(h_send_caps).args([ep, bad, 0, 0]).fault_ep(fault_ep);
    let t = env.spawn(s)?;
    let f = env.expect_fault(fault_ep, FaultLabel::CapFault, "the send")?;
    ensure_eq((f.mr[1], f.mr[2]), (bad, 0), "cptr and receive phase")?;
    ensure_eq(f.mr[3], LookupFailure::GuardMismatch as u64, "lookup failure")?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq(m.label(), 0, "no message delivered")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

fn ntfn_badges(env: &mut Env) -> TestResult {
    let n = env.notification()?.bits();
    let a = env.mint(n, CapRights::all(), 0b0001)?;
    let b = env.mint(n, CapRights::all(), 0b0110)?;
    ensure_eq(sys::poll(n), 0, "poll with nothing pending")?;
    sys::signal(a);
    sys::signal(b);
    sys::signal(a);
    ensure_eq(sys::poll(n), 0b0111, "poll after three signals")?;
    ensure_eq(sys::poll(n), 0, "poll again")?;
    sys::signal(b);
    ensure_eq(sys::wait(n), 0b0110, "wait with a signal pending")
}

fn ntfn_waiters(env: &mut Env) -> TestResult {
    let n = env.notification()?.bits();
    let (a, b) = (env.mint(n, CapRights::all(), 1)?, env.mint(n, CapRights::all(), 2)?);
    let t1 = env.spawn(Spawn::new(h_wait).args([n, 0, 0, 0]))?;
    let t2 = env.spawn(Spawn::new(h_wait).args([n, 0, 0, 0]))?;
    sys::signal(a);
    env.join_expect(&t1, 1, "the first waiter")?;
    let done = env_done(env)?;
    let m = env.ipc.nb_recv(done);
    ensure_eq(m.label(), 0, "the second waiter still waiting")?;
    sys::signal(b);
    env.join_expect(&t2, 2, "the second waiter")
}

/// The done endpoint (helpers of this test exist, so it does).
fn env_done(env: &mut Env) -> TestResult<u64> {
    env.done_endpoint().ok_or_else(|| Fail("no done endpoint".into()))
}

/// Receives twice on `[ep]`: returns MR0 of the first and badge of the
/// second, in the low and high halves.
fn h_recv_twice(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.recv(a[0]);
    let first = ipc.mr(0);
    let second = ipc.recv(a[0]).badge;
    first & 0xffff_ffff | second << 32
}

fn bound_recv(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?;
    let nb = env.mint(n.bits(), CapRights::all(), 0x10)?;
    let t = env.spawn(Spawn::new(h_recv_twice).args([ep, 0, 0, 0]).suspended())?;
    t.tcb.tcb_bind_notification(n).ctx("bind")?;
    t.start()?;
    env.ipc.set_mr(0, MAGIC1);
    env.ipc.send(ep, info(0, 1));
    sys::signal(nb);
    env.join_expect(&t, MAGIC1 | 0x10 << 32, "message then signal")
}

fn bound_wait(env: &mut Env) -> TestResult {
    let n = env.notification()?;
    let nb = env.mint(n.bits(), CapRights::all(), 0x20)?;
    let t = env.spawn(Spawn::new(h_wait).args([n.bits(), 0, 0, 0]).suspended())?;
    t.tcb.tcb_bind_notification(n).ctx("bind")?;
    t.start()?;
    sys::signal(nb);
    env.join_expect(&t, 0x20, "the signal")
}

/// Receives twice on `[ep]`: returns the first badge and the second MR0,
/// in the low and high halves.
fn h_recv_badge_then_msg(ipc: &Ipc, a: [u64; 4]) -> u64 {
    let first = ipc.recv(a[0]).badge;
    ipc.recv(a[0]);
    first & 0xffff_ffff | ipc.mr(0) << 32
}

fn bound_order(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?;
    let nb = env.mint(n.bits(), CapRights::all(), 0x40)?;
    let sender = env.spawn(Spawn::new(h_send).args([ep, MAGIC1, 0, 0]))?;
    sys::signal(nb);
    let t = env.spawn(Spawn::new(h_recv_badge_then_msg).args([ep, 0, 0, 0]).suspended())?;
    t.tcb.tcb_bind_notification(n).ctx("bind")?;
    t.start()?;
    env.join_expect(&t, 0x40 | MAGIC1 << 32, "the signal's badge, then the message")?;
    env.join(&sender)?;
    Ok(())
}

fn bind_errors(env: &mut Env) -> TestResult {
    let (t1, t2) = (env.tcb()?, env.tcb()?);
    let (n1, n2) = (env.notification()?, env.notification()?);
    let ep = env.endpoint()?;
    expect_err(t1.tcb_unbind_notification(), sel4::Error::IllegalOperation, "unbind when unbound")?;
    t1.tcb_bind_notification(n1).ctx("bind")?;
    expect_err(t1.tcb_bind_notification(n2), sel4::Error::IllegalOperation, "bind a bound TCB")?;
    expect_err(
        t2.tcb_bind_notification(n1),
        sel4::Error::IllegalOperation,
        "bind a bound notification",
    )?;
    let not_ntfn: sel4::cap::Notification = crate::env::cap_at(ep.bits());
    expect_err(
        t2.tcb_bind_notification(not_ntfn),
        sel4::Error::IllegalOperation,
        "bind an endpoint",
    )?;
    let wo = env.copy(n2.bits(), CapRights::write_only())?;
    expect_err(
        t2.tcb_bind_notification(crate::env::cap_at(wo)),
        sel4::Error::IllegalOperation,
        "bind a notification without read",
    )?;
    t1.tcb_unbind_notification().ctx("unbind")?;
    t2.tcb_bind_notification(n1).ctx("bind after unbind")?;
    let m = env.invoke(t1.bits(), sel4_sys::InvocationLabel::TcbBindNotification, &[], &[]);
    expect_label(m.label(), sel4::Error::TruncatedMessage, "bind without a cap")
}

fn call_empty_slot(env: &mut Env) -> TestResult {
    let e = env.slot()?;
    let m = env.ipc.call(e, info(0, 0));
    expect_label(m.label(), sel4::Error::InvalidCapability, "call on an empty slot")?;
    ensure_eq(env.ipc.mr(0), 0, "the invalid cap's index")?;
    env.ipc.send(e, info(0, 0));
    env.ipc.nb_send(e, info(0, 0));
    Ok(())
}

fn call_notification(env: &mut Env) -> TestResult {
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 0x8)?;
    let m = env.ipc.call(nb, info(0, 0));
    ensure_eq((m.label(), m.length()), (0, 0), "the reply")?;
    ensure_eq(sys::poll(n), 0x8, "the signal")?;
    let ro = env.copy(nb, CapRights::read_only())?;
    let m = env.ipc.call(ro, info(0, 0));
    expect_label(m.label(), sel4::Error::InvalidCapability, "call through a read-only cap")
}

fn reply_nobody(env: &mut Env) -> TestResult {
    env.ipc.set_mr(0, 1);
    env.ipc.reply(info(0, 1));
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_call).args([ep, MAGIC1, 0, 0]))?;
    env.ipc.recv(ep);
    env.ipc.set_mr(0, MAGIC2);
    env.ipc.reply(info(0, 1));
    env.ipc.set_mr(0, 3);
    env.ipc.reply(info(0, 1));
    env.join_expect(&t, MAGIC2, "the first reply")
}

fn suspend_queued_sender(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let a = env.mint(ep, CapRights::all(), 0xa)?;
    let b = env.mint(ep, CapRights::all(), 0xb)?;
    let ta = env.spawn(Spawn::new(h_send).args([a, 1, 0, 0]))?;
    let tb = env.spawn(Spawn::new(h_send).args([b, 2, 0, 0]))?;
    ta.tcb.tcb_suspend().ctx("suspend")?;
    let m = env.ipc.recv(ep);
    ensure_eq(m.badge, 0xb, "the first sender received")?;
    env.join(&tb)?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq(m.badge, 0, "the suspended sender is not queued")?;
    ta.tcb.tcb_resume().ctx("resume")?;
    let m = env.ipc.recv(ep);
    ensure_eq((m.badge, env.ipc.mr(0)), (0xa, 1), "the resumed sender's message")?;
    env.join(&ta)?;
    Ok(())
}

fn three_caps(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 3)?;
    let own = env.mint(ep, CapRights::all(), 0x77)?;
    let other = env.notification()?.bits();
    let t = env.spawn(Spawn::new(h_send_caps).args([ep, nb, own, other]))?;
    let r = env.slot()?;
    env.ipc.set_recv_slot(slot::CNODE.cptr_bits(), r, 64);
    let m = env.ipc.recv(ep);
    ensure_eq((m.extra_caps(), m.caps_unwrapped()), (2, 0b10), "extra caps and unwrapped")?;
    ensure_eq(env.ipc.badge(1), 0x77, "the unwrapped badge")?;
    env.expect_slot(r, false, "the receive slot")?;
    sys::signal(r);
    ensure_eq(sys::poll(n), 3, "the transferred cap is the first one")?;
    env.join(&t)?;
    Ok(())
}

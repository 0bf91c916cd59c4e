//! CANCEL_BADGED_SENDS: `CNode CancelBadgedSends` on a badged endpoint cap
//! releases exactly the senders queued with that badge, which restart their
//! send (so a sender whose cap is gone gets an error, and one whose cap
//! remains queues again at the back); unbadged caps cancel nothing, and
//! the call needs a cap with every right.

use alloc::vec::Vec;

use sel4::{CapRights, Error};

use super::common::{h_send, info};
use crate::Test;
use crate::check::{Context, TestResult, ensure_eq, expect_err};
use crate::env::{Env, path};
use crate::sys::Ipc;
use crate::thread::{Spawn, fail};

pub const TESTS: &[Test] = &[
    Test {
        id: "CANCEL_BADGED_SENDS_0001",
        desc: "Basic endpoint cancelBadgedSends testing.",
        run: basic,
    },
    Test {
        id: "CANCEL_BADGED_SENDS_0002",
        desc: "Released senders with a cap left queue again at the back",
        run: requeue,
    },
    Test { id: "CANCEL_BADGED_SENDS_0003", desc: "An unbadged cap cancels nothing", run: unbadged },
    Test {
        id: "CANCEL_BADGED_SENDS_0004",
        desc: "cancelBadgedSends needs a cap with all rights",
        run: needs_all_rights,
    },
    Test {
        id: "CANCEL_BADGED_SENDS_0005",
        desc: "Receivers waiting on the endpoint are not released",
        run: receivers_stay,
    },
];

const SENDERS: u64 = 8;

/// Calls `[ep]` with `[_, msg]` and checks the reply is its complement,
/// then calls again; returns the second reply's label.
fn h_call_twice(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_mr(0, a[1]);
    let m = ipc.call(a[0], info(0, 1));
    if m.length() != 1 || ipc.mr(0) != !a[1] {
        return fail(1);
    }
    ipc.set_mr(0, a[1]);
    ipc.call(a[0], info(0, 1)).label()
}

fn basic(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let badged = env.mint(ep, CapRights::all(), 200 + i)?;
        let derived = env.copy(badged, CapRights::all())?;
        let t = env.spawn(Spawn::new(h_call_twice).args([derived, 100 + i, 0, 0]))?;
        senders.push((badged, t));
    }
    for _ in 0..SENDERS {
        let m = env.ipc.recv(ep);
        let k = m.badge.wrapping_sub(200);
        ensure_eq(env.ipc.mr(0), 100 + k, "the message of the sender with that badge")?;
        env.ipc.set_mr(0, !env.ipc.mr(0));
        env.ipc.reply(info(0, 1));
    }
    ensure_eq(env.poll_done().map(|d| d.0), None, "a sender finished early")?;
    for (i, (badged, t)) in senders.iter().enumerate() {
        path(*badged).revoke().ctx("revoke of the badged cap")?;
        path(*badged).cancel_badged_sends().ctx("cancelBadgedSends")?;
        match env.poll_done() {
            Some((id, r)) => {
                ensure_eq(id, t.id, &alloc::format!("the sender released by badge {}", 200 + i))?;
                let label = r.map_err(crate::check::Fail)?;
                ensure_eq(
                    label,
                    Error::InvalidCapability.code(),
                    "the restarted call's reply label",
                )?;
            }
            None => return Err(alloc::format!("no sender released by badge {}", 200 + i).into()),
        }
        ensure_eq(env.poll_done().map(|d| d.0), None, "another sender released")?;
    }
    Ok(())
}

fn requeue(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let (b1, b2) = (env.mint(ep, CapRights::all(), 1)?, env.mint(ep, CapRights::all(), 2)?);
    let a = env.spawn(Spawn::new(h_send).args([b1, 0xa, 0, 0]))?;
    let b = env.spawn(Spawn::new(h_send).args([b2, 0xb, 0, 0]))?;
    let c = env.spawn(Spawn::new(h_send).args([b1, 0xc, 0, 0]))?;
    path(b1).cancel_badged_sends().ctx("cancelBadgedSends")?;
    let m = env.ipc.recv(ep);
    ensure_eq((m.badge, env.ipc.mr(0)), (2, 0xb), "the first message: the sender left queued")?;
    // The two released senders sent again, in the order they ran.
    let mut rest = Vec::new();
    for _ in 0..2 {
        let m = env.ipc.recv(ep);
        rest.push((m.badge, env.ipc.mr(0)));
    }
    rest.sort_unstable();
    ensure_eq(rest, alloc::vec![(1, 0xa), (1, 0xc)], "the released senders' messages")?;
    for t in [a, b, c] {
        env.join(&t)?;
    }
    Ok(())
}

fn unbadged(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let b1 = env.mint(ep, CapRights::all(), 1)?;
    let a = env.spawn(Spawn::new(h_send).args([b1, 0xa, 0, 0]))?;
    let b = env.spawn(Spawn::new(h_send).args([ep, 0xb, 0, 0]))?;
    path(ep).cancel_badged_sends().ctx("cancelBadgedSends with the unbadged cap")?;
    for want in [(1, 0xa), (0, 0xb)] {
        let m = env.ipc.recv(ep);
        ensure_eq((m.badge, env.ipc.mr(0)), want, "badge and message in the original order")?;
    }
    env.join(&a)?;
    env.join(&b)?;
    Ok(())
}

fn needs_all_rights(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    for (i, r) in [
        CapRights::read_write(),
        CapRights::new(false, true, true, true),
        CapRights::new(true, false, true, true),
        CapRights::new(true, true, false, true),
        CapRights::new(true, true, true, false),
    ]
    .into_iter()
    .enumerate()
    {
        let c = env.mint(ep, r, 5 + i as u64)?;
        expect_err(
            path(c).cancel_badged_sends(),
            Error::IllegalOperation,
            &alloc::format!("rights {r:?}"),
        )?;
    }
    let full = env.mint(ep, CapRights::all(), 9)?;
    path(full).cancel_badged_sends().ctx("with all rights")
}

/// Receives on `[ep]`; returns the badge.
fn h_recv_badge(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.recv(a[0]).badge
}

fn receivers_stay(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let b = env.mint(ep, CapRights::all(), 0x33)?;
    let t = env.spawn(Spawn::new(h_recv_badge).args([ep, 0, 0, 0]))?;
    path(b).cancel_badged_sends().ctx("cancelBadgedSends")?;
    ensure_eq(env.poll_done().map(|d| d.0), None, "a receiver released")?;
    env.ipc.send(b, info(0, 0));
    env.join_expect(&t, 0x33, "the badge the receiver got")
}

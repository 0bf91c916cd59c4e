//! CNODEOP: the CNode invocations (Copy, Mint, Move, Mutate, Rotate,
//! Delete, Revoke, SaveCaller, CancelBadgedSends), their errors and what
//! they do to badges, rights, guards and the derivation tree.

use sel4::{CNodeCapData, CapRights, Error, ObjectBlueprint, cap, cap_type};
use sel4_sys::error::LookupFailure;
use sel4_sys::{FaultLabel, InvocationLabel as L};

use super::common::{MAGIC1, MAGIC2, err_mr, h_call, h_recv, h_send, info};
use crate::Test;
use crate::check::{Context, TestResult, ensure_eq, expect_err, expect_label};
use crate::env::{Env, cap_at, path, root_cnode};
use crate::thread::Spawn;

pub const TESTS: &[Test] = &[
    Test { id: "CNODEOP0001", desc: "Basic seL4_CNode_Copy() testing", run: copy },
    Test { id: "CNODEOP0002", desc: "Basic seL4_CNode_Delete() testing", run: delete },
    Test { id: "CNODEOP0003", desc: "Basic seL4_CNode_Mint() testing", run: mint },
    Test { id: "CNODEOP0004", desc: "Basic seL4_CNode_Move() testing", run: move_ },
    Test { id: "CNODEOP0005", desc: "Basic seL4_CNode_Mutate() testing", run: mutate },
    Test {
        id: "CNODEOP0006",
        desc: "Basic seL4_CNode_CancelBadgedSends() testing",
        run: cancel_badged_sends,
    },
    Test { id: "CNODEOP0007", desc: "Basic seL4_CNode_Revoke() testing", run: revoke },
    Test { id: "CNODEOP0008", desc: "Basic seL4_CNode_Rotate() testing", run: rotate },
    Test { id: "CNODEOP0009", desc: "Basic seL4_CNode_SaveCaller() testing", run: save_caller },
    Test { id: "CNODEOP0010", desc: "Copy keeps an endpoint's badge", run: copy_keeps_badge },
    Test { id: "CNODEOP0011", desc: "Mint sets the badge a receiver sees", run: mint_badge },
    Test {
        id: "CNODEOP0012",
        desc: "Mint of an already badged cap is refused",
        run: mint_badged_refused,
    },
    Test {
        id: "CNODEOP0013",
        desc: "Mutate cannot badge endpoints but sets a CNode's guard",
        run: mutate_data,
    },
    Test { id: "CNODEOP0014", desc: "Copy and Mint only ever reduce rights", run: rights_reduce },
    Test {
        id: "CNODEOP0015",
        desc: "Revoke deletes every derived cap and keeps the original",
        run: revoke_tree,
    },
    Test {
        id: "CNODEOP0016",
        desc: "Move keeps a cap's place in the derivation tree",
        run: move_keeps_derivation,
    },
    Test {
        id: "CNODEOP0017",
        desc: "Deleting the last cap destroys an endpoint and restarts its receiver",
        run: delete_last_cap,
    },
    Test {
        id: "CNODEOP0018",
        desc: "Lookup depth outside 1..64 is a RangeError",
        run: depth_range,
    },
    Test {
        id: "CNODEOP0019",
        desc: "FailedLookup reports the side and the lookup failure",
        run: failed_lookup_details,
    },
    Test {
        id: "CNODEOP0020",
        desc: "CNode calls on caps of the wrong type",
        run: wrong_object_types,
    },
    Test { id: "CNODEOP0021", desc: "The IRQControl cap cannot be copied", run: irq_control_copy },
    Test {
        id: "CNODEOP0022",
        desc: "An untyped with children cannot be copied (RevokeFirst)",
        run: untyped_copy_revoke_first,
    },
    Test { id: "CNODEOP0023", desc: "Truncated CNode messages", run: truncated },
    Test { id: "CNODEOP0024", desc: "Mint sets a CNode's guard for lookups", run: mint_guard },
];

/// A cap to use in slot tests: a fresh TCB's.
fn get_cap(env: &mut Env) -> TestResult<u64> {
    Ok(env.tcb()?.bits())
}

/// Checks that `slot` holds a TCB cap (ReadRegisters works through it).
fn is_tcb(slot: u64) -> TestResult {
    cap_at::<cap_type::Tcb>(slot).tcb_read_registers(false, 1).map(|_| ()).ctx("reading registers")
}

fn copy(env: &mut Env) -> TestResult {
    let all = CapRights::all();
    let (src, dest) = (get_cap(env)?, env.slot()?);
    env.expect_slot(dest, true, "a fresh slot")?;
    path(dest).copy(&path(src), all).ctx("copy")?;
    is_tcb(dest).ctx("the copy")?;
    let (src, dest) = (get_cap(env)?, get_cap(env)?);
    expect_err(path(dest).copy(&path(src), all), Error::DeleteFirst, "copy to an occupied slot")?;
    let (src, dest) = (env.slot()?, get_cap(env)?);
    expect_err(
        path(dest).copy(&path(src), all),
        Error::DeleteFirst,
        "copy from an empty slot to an occupied one",
    )?;
    let (src, dest) = (env.slot()?, env.slot()?);
    expect_err(path(dest).copy(&path(src), all), Error::FailedLookup, "copy from an empty slot")?;
    env.expect_slot(dest, true, "after the failed copy")
}

fn delete(env: &mut Env) -> TestResult {
    let s = get_cap(env)?;
    path(s).delete().ctx("delete")?;
    env.expect_slot(s, true, "after delete")?;
    let e = env.slot()?;
    path(e).delete().ctx("delete of an empty slot")?;
    env.expect_slot(e, true, "after deleting an empty slot")
}

fn mint(env: &mut Env) -> TestResult {
    let all = CapRights::all();
    let (src, dest) = (get_cap(env)?, env.slot()?);
    path(dest).mint(&path(src), all, 0).ctx("mint")?;
    is_tcb(dest).ctx("the minted cap")?;
    let (src, dest) = (get_cap(env)?, get_cap(env)?);
    expect_err(
        path(dest).mint(&path(src), all, 0),
        Error::DeleteFirst,
        "mint to an occupied slot",
    )?;
    let (src, dest) = (env.slot()?, env.slot()?);
    expect_err(path(dest).mint(&path(src), all, 0), Error::FailedLookup, "mint from an empty slot")
}

fn move_(env: &mut Env) -> TestResult {
    let (src, dest) = (get_cap(env)?, env.slot()?);
    path(dest).move_(&path(src)).ctx("move")?;
    env.expect_slot(src, true, "the source after move")?;
    is_tcb(dest).ctx("the moved cap")?;
    let (src, dest) = (env.slot()?, env.slot()?);
    expect_err(path(dest).move_(&path(src)), Error::FailedLookup, "move from an empty slot")?;
    env.expect_slot(dest, true, "the destination after a failed move")?;
    let (src, dest) = (get_cap(env)?, get_cap(env)?);
    expect_err(path(dest).move_(&path(src)), Error::DeleteFirst, "move to an occupied slot")?;
    is_tcb(src).ctx("the source after a failed move")?;
    is_tcb(dest).ctx("the destination after a failed move")
}

fn mutate(env: &mut Env) -> TestResult {
    let (src, dest) = (get_cap(env)?, env.slot()?);
    path(dest).mutate(&path(src), 0).ctx("mutate")?;
    env.expect_slot(src, true, "the source after mutate")?;
    is_tcb(dest).ctx("the mutated cap")?;
    let (src, dest) = (get_cap(env)?, get_cap(env)?);
    expect_err(path(dest).mutate(&path(src), 0), Error::DeleteFirst, "mutate to an occupied slot")?;
    env.expect_slot(src, false, "the source after a failed mutate")?;
    let (src, dest) = (env.slot()?, env.slot()?);
    expect_err(path(dest).mutate(&path(src), 0), Error::FailedLookup, "mutate from an empty slot")?;
    env.expect_slot(dest, true, "the destination after a failed mutate")
}

fn cancel_badged_sends(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    path(ep).cancel_badged_sends().ctx("on an endpoint")?;
    env.expect_slot(ep, false, "the endpoint after the call")?;
    let e = env.slot()?;
    expect_err(path(e).cancel_badged_sends(), Error::IllegalOperation, "on an empty slot")
}

fn revoke(env: &mut Env) -> TestResult {
    let s = get_cap(env)?;
    path(s).revoke().ctx("revoke")?;
    is_tcb(s).ctx("the revoked cap")?;
    let e = env.slot()?;
    path(e).revoke().ctx("revoke of an empty slot")?;
    env.expect_slot(e, true, "after revoking an empty slot")
}

/// `seL4_CNode_Rotate(dest, pivot, src)` in the root CNode, no badges.
fn rotate_raw(env: &Env, src: u64, pivot: u64, dest: u64) -> u64 {
    let args = [dest, 64, 0, pivot, 64, 0, src, 64];
    let root = root_cnode().bits();
    env.invoke(root, L::CNodeRotate, &args, &[root, root]).label()
}

fn rotate(env: &mut Env) -> TestResult {
    let (src, pivot, dest) = (get_cap(env)?, get_cap(env)?, env.slot()?);
    expect_ok(rotate_raw(env, src, pivot, dest), "rotate")?;
    env.expect_slot(src, true, "the source after rotate")?;
    is_tcb(pivot).ctx("the pivot after rotate")?;
    is_tcb(dest).ctx("the destination after rotate")?;
    let (src, pivot, dest) = (get_cap(env)?, get_cap(env)?, get_cap(env)?);
    expect_label(rotate_raw(env, src, pivot, dest), Error::DeleteFirst, "destination occupied")?;
    let (src, pivot) = (get_cap(env)?, get_cap(env)?);
    expect_ok(rotate_raw(env, src, pivot, src), "swapping two caps")?;
    is_tcb(src).ctx("swapped source")?;
    is_tcb(pivot).ctx("swapped pivot")?;
    let (src, dest) = (get_cap(env)?, env.slot()?);
    expect_label(rotate_raw(env, src, src, dest), Error::IllegalOperation, "pivot = source")?;
    env.expect_slot(dest, true, "the destination after a refused rotate")?;
    let (src, pivot, dest) = (env.slot()?, env.slot()?, env.slot()?);
    expect_label(rotate_raw(env, src, pivot, dest), Error::FailedLookup, "empty slots")
}

fn expect_ok(label: u64, what: &str) -> TestResult {
    ensure_eq(label, 0, what)
}

fn save_caller_raw(env: &Env, slot: u64) -> u64 {
    let root = root_cnode().bits();
    env.invoke(root, L::CNodeSaveCaller, &[slot, 64], &[]).label()
}

fn save_caller(env: &mut Env) -> TestResult {
    let s = env.slot()?;
    expect_ok(save_caller_raw(env, s), "save with no caller")?;
    env.expect_slot(s, true, "nothing to save")?;
    let full = get_cap(env)?;
    expect_label(save_caller_raw(env, full), Error::DeleteFirst, "save to an occupied slot")?;
    // A real caller: save its reply cap, reply through it.
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_call).args([ep, MAGIC1, 0, 0]))?;
    env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the call's message")?;
    let reply = env.slot()?;
    expect_ok(save_caller_raw(env, reply), "save with a caller")?;
    env.expect_slot(reply, false, "the saved reply cap")?;
    env.ipc.set_mr(0, MAGIC2);
    env.ipc.send(reply, info(0, 1));
    env.expect_slot(reply, true, "the reply cap after use")?;
    env.join_expect(&t, MAGIC2, "the reply through the saved cap")
}

/// Sends one word from a helper through `cptr`; returns the badge the
/// root task receives on `ep`.
fn badge_through(env: &mut Env, ep: u64, cptr: u64) -> TestResult<u64> {
    let t = env.spawn(Spawn::new(h_send).args([cptr, MAGIC1, 0, 0]))?;
    let m = env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the message")?;
    env.join(&t)?;
    Ok(m.badge)
}

fn copy_keeps_badge(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let badged = env.mint(ep, CapRights::all(), 0x55)?;
    let copied = env.copy(badged, CapRights::all())?;
    ensure_eq(badge_through(env, ep, copied)?, 0x55, "badge through the copy")
}

fn mint_badge(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let badged = env.mint(ep, CapRights::all(), 0x1234)?;
    ensure_eq(badge_through(env, ep, badged)?, 0x1234, "badge through the minted cap")?;
    ensure_eq(badge_through(env, ep, ep)?, 0, "badge through the original")
}

fn mint_badged_refused(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let badged = env.mint(ep, CapRights::all(), 7)?;
    let d = env.slot()?;
    expect_err(
        path(d).mint(&path(badged), CapRights::all(), 9),
        Error::IllegalOperation,
        "re-badging an endpoint",
    )?;
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 1)?;
    expect_err(
        path(d).mint(&path(nb), CapRights::all(), 2),
        Error::IllegalOperation,
        "re-badging a notification",
    )?;
    env.expect_slot(d, true, "after the refused mints")
}

fn mutate_data(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let d = env.slot()?;
    expect_err(path(d).mutate(&path(ep), 5), Error::IllegalOperation, "mutate of an endpoint")?;
    env.expect_slot(ep, false, "the endpoint after the refused mutate")?;
    // A CNode of 16 slots holding a TCB cap in slot 3, given a 3-bit guard.
    let sub = env.cnode(4)?;
    let tcb = get_cap(env)?;
    sub.absolute_cptr_from_bits_with_depth(3, 4)
        .copy(&path(tcb), CapRights::all())
        .ctx("copy in")?;
    let data = CNodeCapData::new(0b101, 3).into_word();
    path(d).mutate(&path(sub.bits()), data).ctx("mutate of a CNode")?;
    env.expect_slot(sub.bits(), true, "the CNode's old slot")?;
    let guarded: cap::CNode = cap_at(d);
    let out = env.slot()?;
    path(out)
        .copy(&guarded.absolute_cptr_from_bits_with_depth(0b101 << 4 | 3, 7), CapRights::all())
        .ctx("lookup through the guard")?;
    is_tcb(out)
}

fn rights_reduce(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let ro = env.copy(ep, CapRights::read_only())?;
    let m = env.ipc.call(ro, info(0, 0));
    expect_label(m.label(), Error::InvalidCapability, "call through a read-only copy")?;
    ensure_eq(env.ipc.mr(0), 0, "the invalid cap's index")?;
    let back = env.mint(ro, CapRights::all(), 0)?;
    let m = env.ipc.call(back, info(0, 0));
    expect_label(
        m.label(),
        Error::InvalidCapability,
        "call through a mint of the copy with all rights",
    )?;
    let wo = env.mint(ep, CapRights::write_only(), 3)?;
    let again = env.copy(wo, CapRights::all())?;
    // Write survives, so a helper can send through it.
    ensure_eq(badge_through(env, ep, again)?, 3, "send through a copy of a write-only cap")
}

fn revoke_tree(env: &mut Env) -> TestResult {
    let o = env.endpoint()?.bits();
    let c1 = env.copy(o, CapRights::all())?;
    let m1 = env.mint(o, CapRights::all(), 1)?;
    let c2 = env.copy(c1, CapRights::all())?;
    let m2 = env.copy(m1, CapRights::all())?;
    let m3 = env.copy(m2, CapRights::read_only())?;
    path(m1).revoke().ctx("revoke of the badged cap")?;
    env.expect_slot(m2, true, "a copy of the badged cap")?;
    env.expect_slot(m3, true, "a copy of that copy")?;
    env.expect_slot(c1, false, "an unrelated copy")?;
    path(o).revoke().ctx("revoke of the original")?;
    for (s, what) in [(c1, "copy"), (c2, "copy of the copy"), (m1, "badged cap")] {
        env.expect_slot(s, true, what)?;
    }
    let m = env.ipc.call(c1, info(0, 0));
    expect_label(m.label(), Error::InvalidCapability, "a call through a revoked copy")?;
    env.expect_slot(o, false, "the original")
}

fn move_keeps_derivation(env: &mut Env) -> TestResult {
    let o = env.endpoint()?.bits();
    let c = env.copy(o, CapRights::all())?;
    let d = env.slot()?;
    path(d).move_(&path(c)).ctx("move")?;
    path(o).revoke().ctx("revoke")?;
    env.expect_slot(d, true, "the moved copy after revoking its parent")
}

fn delete_last_cap(env: &mut Env) -> TestResult {
    let e = env.endpoint()?.bits();
    let c = env.copy(e, CapRights::all())?;
    let fault_ep = env.endpoint()?.bits();
    let f = env.mint(fault_ep, CapRights::all(), 0x77)?;
    let t = env.spawn(Spawn::new(h_recv).args([c, 0, 0, 0]).fault_ep(f))?;
    path(c).delete().ctx("delete of the copy")?;
    path(e).delete().ctx("delete of the last cap")?;
    let fault = env.expect_fault(fault_ep, FaultLabel::CapFault, "the restarted receive")?;
    ensure_eq(fault.badge, 0x77, "the fault endpoint's badge")?;
    ensure_eq(fault.mr[1], c, "the cptr of the cap fault")?;
    ensure_eq(fault.mr[2], 1, "cap fault in the receive phase")?;
    ensure_eq(fault.mr[3], LookupFailure::MissingCapability as u64, "lookup failure")?;
    let _ = t;
    Ok(())
}

fn depth_range(env: &mut Env) -> TestResult {
    let src = get_cap(env)?;
    let d = env.slot()?;
    for depth in [0, 65] {
        let dest = root_cnode().absolute_cptr_from_bits_with_depth(d, depth);
        expect_err(
            dest.copy(&path(src), CapRights::all()),
            Error::RangeError,
            "destination depth",
        )?;
        ensure_eq((err_mr(env, 0), err_mr(env, 1)), (1, 64), "range of the destination depth")?;
        let from = root_cnode().absolute_cptr_from_bits_with_depth(src, depth);
        expect_err(path(d).copy(&from, CapRights::all()), Error::RangeError, "source depth")?;
    }
    Ok(())
}

fn failed_lookup_details(env: &mut Env) -> TestResult {
    let (e, d) = (env.slot()?, env.slot()?);
    expect_err(path(d).copy(&path(e), CapRights::all()), Error::FailedLookup, "empty source")?;
    ensure_eq(err_mr(env, 0), 1, "failed lookup was the source")?;
    ensure_eq(err_mr(env, 1), LookupFailure::MissingCapability as u64, "lookup failure")?;
    let src = get_cap(env)?;
    let bad = root_cnode().absolute_cptr_from_bits_with_depth(1 << 63 | d, 64);
    expect_err(bad.copy(&path(src), CapRights::all()), Error::FailedLookup, "guard mismatch")?;
    ensure_eq(err_mr(env, 0), 0, "failed lookup was the destination")?;
    ensure_eq(err_mr(env, 1), LookupFailure::GuardMismatch as u64, "lookup failure")?;
    let short = root_cnode().absolute_cptr_from_bits_with_depth(5, 60);
    expect_err(short.copy(&path(src), CapRights::all()), Error::FailedLookup, "depth mismatch")?;
    ensure_eq(err_mr(env, 1), LookupFailure::DepthMismatch as u64, "lookup failure")
}

fn wrong_object_types(env: &mut Env) -> TestResult {
    let tcb = get_cap(env)?;
    let ep = env.endpoint()?.bits();
    let d = env.slot()?;
    let not_a_cnode: cap::CNode = cap_at(tcb);
    let dest = not_a_cnode.absolute_cptr_from_bits_with_depth(d, 64);
    expect_err(dest.copy(&path(ep), CapRights::all()), Error::IllegalOperation, "copy on a TCB")?;
    let from: cap::CNode = cap_at(ep);
    let src = from.absolute_cptr_from_bits_with_depth(tcb, 64);
    expect_err(
        path(d).copy(&src, CapRights::all()),
        Error::FailedLookup,
        "source root an endpoint",
    )?;
    ensure_eq(err_mr(env, 0), 1, "failed lookup was the source")?;
    ensure_eq(err_mr(env, 1), LookupFailure::InvalidRoot as u64, "lookup failure")?;
    let n = env.notification()?.bits();
    expect_err(path(n).cancel_badged_sends(), Error::IllegalOperation, "cancel on a notification")
}

fn irq_control_copy(env: &mut Env) -> TestResult {
    let d = env.slot()?;
    let ctl = sel4::init_thread::slot::IRQ_CONTROL.cptr_bits();
    expect_err(path(d).copy(&path(ctl), CapRights::all()), Error::IllegalOperation, "copy")?;
    expect_err(path(d).mint(&path(ctl), CapRights::all(), 1), Error::IllegalOperation, "mint")?;
    env.expect_slot(d, true, "the destination")?;
    env.expect_slot(ctl, false, "IRQControl's slot")
}

fn untyped_copy_revoke_first(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let d = env.copy(ut.bits(), CapRights::all()).ctx("copy of an untyped without children")?;
    path(d).delete().ctx("delete of the copy")?;
    env.retype_from(ut, ObjectBlueprint::Endpoint, 1)?;
    expect_err(path(d).copy(&path(ut.bits()), CapRights::all()), Error::RevokeFirst, "copy")
}

fn truncated(env: &mut Env) -> TestResult {
    let root = root_cnode().bits();
    let (src, d) = (get_cap(env)?, env.slot()?);
    let cases: [(L, &[u64], &[u64], &str); 5] = [
        (L::CNodeCopy, &[d, 64, src, 64], &[root], "copy without rights"),
        (L::CNodeCopy, &[d, 64, src, 64, 0xf], &[], "copy without the source root"),
        (L::CNodeMint, &[d, 64, src, 64, 0xf], &[root], "mint without a badge"),
        (L::CNodeMutate, &[d, 64, src, 64], &[root], "mutate without data"),
        (L::CNodeDelete, &[src], &[], "delete with one word"),
    ];
    for (label, args, caps, what) in cases {
        let m = env.invoke(root, label, args, caps);
        expect_label(m.label(), Error::TruncatedMessage, what)?;
    }
    env.expect_slot(src, false, "the source after the refused calls")?;
    env.expect_slot(d, true, "the destination after the refused calls")
}

fn mint_guard(env: &mut Env) -> TestResult {
    let sub = env.cnode(4)?;
    let tcb = get_cap(env)?;
    sub.absolute_cptr_from_bits_with_depth(3, 4)
        .copy(&path(tcb), CapRights::all())
        .ctx("copy in")?;
    let g = env.mint(sub.bits(), CapRights::all(), CNodeCapData::new(0b101, 3).into_word())?;
    let guarded: cap::CNode = cap_at(g);
    let out = env.slot()?;
    path(out)
        .copy(&guarded.absolute_cptr_from_bits_with_depth(0b101 << 4 | 3, 7), CapRights::all())
        .ctx("lookup with the right guard")?;
    is_tcb(out)?;
    let bad = guarded.absolute_cptr_from_bits_with_depth(0b100 << 4 | 3, 7);
    let out2 = env.slot()?;
    expect_err(path(out2).copy(&bad, CapRights::all()), Error::FailedLookup, "a wrong guard")?;
    ensure_eq(err_mr(env, 1), LookupFailure::GuardMismatch as u64, "lookup failure")?;
    let plain = sub.absolute_cptr_from_bits_with_depth(3, 4);
    path(out2).copy(&plain, CapRights::all()).ctx("lookup through the unguarded cap")?;
    Ok(())
}

//! RETYPE: Untyped Retype: every object type, objects carved in order and
//! aligned, the untyped reset once its children are gone, and every error
//! (type, size, destination window, memory, device memory, truncation).

use sel4::init_thread::slot;
use sel4::{CapRights, Error, ObjectBlueprint, VmAttributes, cap, cap_type};
use sel4_sys::InvocationLabel as L;
use sel4_sys::object::MAX_UNTYPED_BITS;

use super::common::err_mr;
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, PAGE, cap_at, path, root_cnode};
use crate::sys;

pub const TESTS: &[Test] = &[
    Test { id: "RETYPE0000", desc: "Retype test", run: retype_all_types },
    Test { id: "RETYPE0001", desc: "Incremental retype test", run: incremental },
    Test { id: "RETYPE0002", desc: "Incremental retype test #2", run: incremental_split },
    Test {
        id: "RETYPE0003",
        desc: "Objects are carved in order, each aligned to its size",
        run: in_order,
    },
    Test { id: "RETYPE0004", desc: "An untyped without children starts over", run: reset },
    Test { id: "RETYPE0005", desc: "An invalid object type is an InvalidArgument", run: bad_type },
    Test { id: "RETYPE0006", desc: "Object size errors", run: bad_size },
    Test { id: "RETYPE0007", desc: "Destination window errors", run: bad_window },
    Test {
        id: "RETYPE0008",
        desc: "NotEnoughMemory reports the bytes left",
        run: not_enough_memory,
    },
    Test { id: "RETYPE0009", desc: "Device untypeds make only frames and untypeds", run: device },
    Test {
        id: "RETYPE0010",
        desc: "Retype into a CNode other than the root",
        run: into_other_cnode,
    },
    Test { id: "RETYPE0011", desc: "Retype on other caps and truncated retypes", run: not_untyped },
    Test { id: "RETYPE0012", desc: "Many objects in one retype", run: many_at_once },
];

/// Retypes one `bp` from `ut` and returns its slot.
fn one(env: &mut Env, ut: cap::Untyped, bp: ObjectBlueprint) -> TestResult<u64> {
    env.retype_from(ut, bp, 1)
}

/// The physical address of a fresh frame retyped from `ut`.
fn frame_addr(env: &mut Env, ut: cap::Untyped) -> TestResult<u64> {
    let f: cap::Granule = cap_at(one(env, ut, ObjectBlueprint::SmallPage)?);
    Ok(f.frame_get_address().ctx("GetAddress")? as u64)
}

fn retype_all_types(env: &mut Env) -> TestResult {
    let ut = env.untyped(22)?;
    let lp: cap::LargePage = cap_at(one(env, ut, ObjectBlueprint::LargePage)?);
    ensure_eq(lp.frame_get_address().ctx("large page")? % (2 << 20), 0, "large page alignment")?;
    let child: cap::Untyped = cap_at(one(env, ut, ObjectBlueprint::Untyped { size_bits: 12 })?);
    one(env, child, ObjectBlueprint::Endpoint).ctx("retype from the child untyped")?;
    let tcb: cap::Tcb = cap_at(one(env, ut, ObjectBlueprint::Tcb)?);
    tcb.tcb_read_registers(false, 1).ctx("the TCB")?;
    let ep = one(env, ut, ObjectBlueprint::Endpoint)?;
    let m = env.ipc.nb_recv(ep);
    ensure_eq(m.label(), 0, "the endpoint")?;
    let n = one(env, ut, ObjectBlueprint::Notification)?;
    sys::signal(n);
    let cn: cap::CNode = cap_at(one(env, ut, ObjectBlueprint::CNode { size_bits: 4 })?);
    cn.absolute_cptr_from_bits_with_depth(2, 4)
        .copy(&path(n), CapRights::all())
        .ctx("the CNode")?;
    let v: cap::VSpace = cap_at(one(env, ut, ObjectBlueprint::VSpace)?);
    slot::ASID_POOL.cap().asid_pool_assign(v).ctx("the VSpace")?;
    let pt: cap::PageTable = cap_at(one(env, ut, ObjectBlueprint::PageTable)?);
    pt.page_table_map(v, 0x1000_0000, VmAttributes::DEFAULT).ctx("the page table")?;
    let f: cap::Granule = cap_at(one(env, ut, ObjectBlueprint::SmallPage)?);
    ensure_eq(f.frame_get_address().ctx("the frame")? % PAGE as usize, 0, "frame alignment")?;
    one(env, ut, ObjectBlueprint::Vcpu).ctx("a VCPU")?;
    Ok(())
}

fn incremental(env: &mut Env) -> TestResult {
    let ut = env.untyped(10)?;
    for i in 0..64 {
        one(env, ut, ObjectBlueprint::Endpoint).ctx(&alloc::format!("endpoint {i}"))?;
    }
    let d = env.slot()?;
    let r = ut.untyped_retype(
        &ObjectBlueprint::Endpoint,
        &root_cnode().absolute_cptr_for_self(),
        d as usize,
        1,
    );
    expect_err(r, Error::NotEnoughMemory, "the 65th endpoint")?;
    ensure_eq(err_mr(env, 0), 0, "bytes left")
}

fn incremental_split(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let a: cap::Untyped = cap_at(one(env, ut, ObjectBlueprint::Untyped { size_bits: 15 })?);
    let b: cap::Untyped = cap_at(one(env, ut, ObjectBlueprint::Untyped { size_bits: 15 })?);
    let d = env.slot()?;
    let r = ut.untyped_retype(
        &ObjectBlueprint::Endpoint,
        &root_cnode().absolute_cptr_for_self(),
        d as usize,
        1,
    );
    expect_err(r, Error::NotEnoughMemory, "a third object")?;
    let base = frame_addr(env, a)?;
    for _ in 1..8 {
        frame_addr(env, a)?;
    }
    ensure_eq(frame_addr(env, b)?, base + (1 << 15), "the second half's first frame")
}

fn in_order(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let base = frame_addr(env, ut)?;
    ensure_eq(base % (1 << 16), 0, "the first frame is at the untyped's start")?;
    one(env, ut, ObjectBlueprint::Endpoint)?;
    ensure_eq(frame_addr(env, ut)?, base + 2 * PAGE, "a frame after an endpoint")?;
    ensure_eq(frame_addr(env, ut)?, base + 3 * PAGE, "the next frame")
}

fn reset(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let frame = |env: &mut Env| -> TestResult<(u64, u64)> {
        let s = one(env, ut, ObjectBlueprint::SmallPage)?;
        let a = cap_at::<cap_type::Granule>(s).frame_get_address().ctx("GetAddress")?;
        Ok((s, a as u64))
    };
    let (_, base) = frame(env)?;
    let (second, _) = frame(env)?;
    path(ut.bits()).revoke().ctx("revoke")?;
    env.expect_slot(second, true, "a child after the revoke")?;
    let (s3, a3) = frame(env)?;
    ensure_eq(a3, base, "a frame after the revoke")?;
    let (s4, _) = frame(env)?;
    path(s3).delete().ctx("delete")?;
    // One child remains: the next object goes after it.
    ensure_eq(frame(env)?.1, base + 2 * PAGE, "a frame while a child remains")?;
    path(s4).delete().ctx("delete")?;
    path(s4 + 1).delete().ctx("delete")?;
    // No children left: it starts over.
    ensure_eq(frame(env)?.1, base, "a frame once every child is deleted")
}

/// A raw Retype of `ty` with size `bits`, one object, into root slot `d`.
fn raw_retype(env: &Env, ut: cap::Untyped, ty: u64, bits: u64, d: u64) -> u64 {
    let root = root_cnode().bits();
    env.invoke(ut.bits(), L::UntypedRetype, &[ty, bits, 0, 0, d, 1], &[root]).label()
}

fn bad_type(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let d = env.slot()?;
    for ty in [11, 99, u64::MAX, sel4_sys::ObjectType::HugePage as u64] {
        expect_label(
            raw_retype(env, ut, ty, 0, d),
            Error::InvalidArgument,
            &alloc::format!("type {ty}"),
        )?;
        ensure_eq(err_mr(env, 0), 0, "the invalid argument's index")?;
    }
    env.expect_slot(d, true, "the destination")
}

fn bad_size(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let d = env.slot()?;
    let cnode = sel4_sys::ObjectType::CapTable as u64;
    let untyped = sel4_sys::ObjectType::Untyped as u64;
    expect_label(raw_retype(env, ut, cnode, 0, d), Error::InvalidArgument, "a CNode of one slot")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    expect_label(raw_retype(env, ut, untyped, 3, d), Error::InvalidArgument, "an 8-byte untyped")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    let max = MAX_UNTYPED_BITS as u64;
    for (ty, bits, what) in
        [(untyped, max + 1, "untyped"), (untyped, 64, "untyped"), (cnode, max, "CNode")]
    {
        let what = alloc::format!("{what} of size {bits}");
        expect_label(raw_retype(env, ut, ty, bits, d), Error::RangeError, &what)?;
        ensure_eq((err_mr(env, 0), err_mr(env, 1)), (0, max), "the range")?;
    }
    env.expect_slot(d, true, "the destination")
}

fn bad_window(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let sub = env.cnode(4)?;
    let node = path(sub.bits());
    let ep = ObjectBlueprint::Endpoint;
    expect_err(ut.untyped_retype(&ep, &node, 16, 1), Error::RangeError, "offset past the CNode")?;
    ensure_eq((err_mr(env, 0), err_mr(env, 1)), (0, 15), "the offset range")?;
    expect_err(ut.untyped_retype(&ep, &node, 10, 7), Error::RangeError, "window past the CNode")?;
    ensure_eq((err_mr(env, 0), err_mr(env, 1)), (1, 6), "the window range")?;
    expect_err(ut.untyped_retype(&ep, &node, 0, 0), Error::RangeError, "no objects")?;
    ensure_eq(err_mr(env, 0), 1, "the window minimum")?;
    let s = env.slots(300)?;
    let root = root_cnode().absolute_cptr_for_self();
    expect_err(ut.untyped_retype(&ep, &root, s as usize, 300), Error::RangeError, "300 objects")?;
    ensure_eq(err_mr(env, 0), 1, "the fan-out minimum")?;
    ensure(err_mr(env, 1) < 300, || alloc::format!("fan-out limit {}", err_mr(env, 1)))?;
    let n = env.notification()?.bits();
    sub.absolute_cptr_from_bits_with_depth(5, 4).copy(&path(n), CapRights::all()).ctx("copy")?;
    expect_err(
        ut.untyped_retype(&ep, &node, 4, 3),
        Error::DeleteFirst,
        "an occupied slot in the window",
    )?;
    let not_cnode = path(n);
    expect_err(
        ut.untyped_retype(&ep, &not_cnode, 0, 1),
        Error::FailedLookup,
        "a notification as the CNode",
    )?;
    ut.untyped_retype(&ep, &node, 6, 10).ctx("the valid window")
}

fn not_enough_memory(env: &mut Env) -> TestResult {
    let ut = env.untyped(12)?;
    one(env, ut, ObjectBlueprint::Endpoint)?;
    let d = env.slot()?;
    let r = ut.untyped_retype(
        &ObjectBlueprint::SmallPage,
        &root_cnode().absolute_cptr_for_self(),
        d as usize,
        1,
    );
    expect_err(r, Error::NotEnoughMemory, "a frame after an endpoint")?;
    ensure_eq(err_mr(env, 0), PAGE - 16, "bytes left")?;
    let s = env.slots(256)?;
    let root = root_cnode().absolute_cptr_for_self();
    let r = ut.untyped_retype(&ObjectBlueprint::Endpoint, &root, s as usize, 256);
    expect_err(r, Error::NotEnoughMemory, "256 more endpoints")?;
    ut.untyped_retype(&ObjectBlueprint::Endpoint, &root, s as usize, 255).ctx("255 more endpoints")
}

fn device(env: &mut Env) -> TestResult {
    // A virtio-mmio transport's registers on QEMU's virt machine.
    let paddr = 0xa00_1000;
    let ut = env.device_untyped(paddr)?;
    let d = env.slot()?;
    let root = root_cnode().absolute_cptr_for_self();
    for bp in
        [ObjectBlueprint::Tcb, ObjectBlueprint::Endpoint, ObjectBlueprint::CNode { size_bits: 2 }]
    {
        expect_err(
            ut.untyped_retype(&bp, &root, d as usize, 1),
            Error::InvalidArgument,
            &alloc::format!("{bp:?}"),
        )?;
        ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    }
    let f: cap::Granule = cap_at(env.retype_from(ut, ObjectBlueprint::SmallPage, 1)?);
    ensure_eq(
        f.frame_get_address().ctx("GetAddress")? as u64,
        paddr,
        "the device frame's address",
    )?;
    path(f.bits()).delete().ctx("delete")?;
    let u = env.retype_from(ut, ObjectBlueprint::Untyped { size_bits: 12 }, 1)?;
    let g: cap::Granule = cap_at(env.retype_from(cap_at(u), ObjectBlueprint::SmallPage, 1)?);
    ensure_eq(
        g.frame_get_address().ctx("GetAddress")? as u64,
        paddr,
        "a frame of the child untyped",
    )
}

fn into_other_cnode(env: &mut Env) -> TestResult {
    let ut = env.untyped(16)?;
    let sub = env.cnode(4)?;
    ut.untyped_retype(&ObjectBlueprint::Notification, &path(sub.bits()), 5, 3).ctx("retype")?;
    for i in 0..16 {
        let d = env.slot()?;
        let r = path(d).copy(&sub.absolute_cptr_from_bits_with_depth(i, 4), CapRights::all());
        let full = (5..8).contains(&i);
        ensure_eq(r.is_ok(), full, &alloc::format!("slot {i} of the CNode"))?;
        if full {
            sys::signal(d);
            ensure_eq(sys::poll(d), 0, "the notification (unbadged)")?;
        }
    }
    Ok(())
}

fn not_untyped(env: &mut Env) -> TestResult {
    let root = root_cnode().bits();
    let tcb = env.tcb()?.bits();
    let d = env.slot()?;
    let args = [sel4_sys::ObjectType::Endpoint as u64, 0, 0, 0, d, 1];
    let m = env.invoke(tcb, L::UntypedRetype, &args, &[root]);
    expect_label(m.label(), Error::IllegalOperation, "retype on a TCB")?;
    let m = env.invoke(root, L::UntypedRetype, &args, &[root]);
    expect_label(m.label(), Error::IllegalOperation, "retype on a CNode")?;
    let ut = env.untyped(12)?;
    let m = env.invoke(ut.bits(), L::UntypedRetype, &args[..5], &[root]);
    expect_label(m.label(), Error::TruncatedMessage, "five words")?;
    let m = env.invoke(ut.bits(), L::UntypedRetype, &args, &[]);
    expect_label(m.label(), Error::TruncatedMessage, "no destination CNode")?;
    let m = env.invoke(ut.bits(), L::CNodeCopy, &args, &[root]);
    expect_label(m.label(), Error::IllegalOperation, "another label on an untyped")?;
    env.expect_slot(d, true, "the destination")
}

fn many_at_once(env: &mut Env) -> TestResult {
    let s = env.retype_from(env.test_ut, ObjectBlueprint::Notification, 256)?;
    for i in [0, 1, 100, 255] {
        let b = env.mint(s + i, CapRights::all(), 1 << (i % 60))?;
        sys::signal(b);
        ensure_eq(sys::poll(s + i), 1 << (i % 60), &alloc::format!("notification {i}"))?;
    }
    Ok(())
}

//! VSPACE and FRAMEXN: address spaces, ASID pools, page tables and
//! frames: map, unmap, remap, GetAddress, cache maintenance, rights and
//! execute-never, and the errors of each.

use sel4::init_thread::slot;
use sel4::{CNodeCapData, CPtr, CapRights, Error, ObjectBlueprint, VmAttributes, cap, cap_type};
use sel4_sys::object::{ASID_HIGH_BITS, ASID_POOL_INDEX_BITS, USER_VADDR_BITS};
use sel4_sys::{FaultLabel, InvocationLabel as L};

use super::common::{MAGIC1, MAGIC2, err_mr, h_call, info};
use super::probes::{h_exec, h_read, h_write};
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, LARGE_PAGE, PAGE, cap_at, path};
use crate::thread::Spawn;

pub const TESTS: &[Test] = &[
    Test {
        id: "VSPACE0000",
        desc: "Test threads in different cspace/vspace",
        run: interas_diffcspace,
    },
    Test {
        id: "VSPACE0001",
        desc: "Test unmapping a page after deleting the PD",
        run: unmap_after_delete,
    },
    Test { id: "VSPACE0002", desc: "Test create ASID pool", run: asid_pool_make },
    Test { id: "VSPACE0003", desc: "Test create multiple ASID pools", run: multi_asid_pools },
    Test { id: "VSPACE0004", desc: "Test running out of ASID pools", run: run_out_asid_pools },
    Test { id: "VSPACE0005", desc: "Test overassigning ASID pool", run: overassign_asid_pool },
    Test { id: "VSPACE0006", desc: "ASIDControl MakePool errors", run: make_pool_errors },
    Test { id: "VSPACE0007", desc: "ASIDPool Assign errors", run: assign_errors },
    Test {
        id: "VSPACE0008",
        desc: "Map, unmap and remap a frame; GetAddress",
        run: map_unmap_remap,
    },
    Test { id: "VSPACE0009", desc: "Frame map errors", run: map_errors },
    Test {
        id: "VSPACE0010",
        desc: "A mapped frame can only be remapped in place",
        run: remap_rules,
    },
    Test { id: "VSPACE0011", desc: "Page table map and unmap errors", run: page_table_errors },
    Test { id: "VSPACE0012", desc: "Deleting a frame cap unmaps the frame", run: unmap_on_delete },
    Test {
        id: "VSPACE0013",
        desc: "Unmapping a page table unmaps the pages below it",
        run: unmap_page_table,
    },
    Test {
        id: "VSPACE0014",
        desc: "Large pages: map, alignment, no table below",
        run: large_pages,
    },
    Test { id: "VSPACE0015", desc: "Frame cache maintenance and its errors", run: frame_cache_ops },
    Test {
        id: "VSPACE0016",
        desc: "VSpace cache maintenance and its errors",
        run: vspace_cache_ops,
    },
    Test {
        id: "VSPACE0017",
        desc: "Device frames: physical address; not an IPC buffer",
        run: device_frames,
    },
    Test {
        id: "VSPACE0018",
        desc: "A mapping has at most the rights of the frame cap",
        run: rights_masked,
    },
    Test {
        id: "VSPACE0019",
        desc: "A frame mapped in two address spaces is shared",
        run: shared_frame,
    },
    Test {
        id: "VSPACE0020",
        desc: "Deleting an ASID pool invalidates its VSpaces",
        run: delete_asid_pool,
    },
    Test { id: "FRAMEXN0001", desc: "Test that we can map a small frame XN", run: xn_small_frame },
    Test { id: "FRAMEXN0002", desc: "Test that we can map a large frame XN", run: xn_large_frame },
];

const RW: CapRights = CapRights::read_write();
const DEFAULT: VmAttributes = VmAttributes::DEFAULT;
/// A virtio-mmio transport's registers on QEMU's virt machine: a 4 KiB
/// device untyped no other test uses.
const VIRTIO_PADDR: u64 = 0xa00_0000;
/// One past the highest user address.
const USER_TOP: u64 = 1 << USER_VADDR_BITS;

fn root_vspace() -> cap::VSpace {
    slot::VSPACE.cap()
}

/// Expects a VM fault on `addr` of a helper whose fault endpoint is `ep`.
fn expect_vm_fault(env: &mut Env, ep: u64, addr: u64, what: &str) -> TestResult {
    let f = env.expect_fault(ep, FaultLabel::VmFault, what)?;
    ensure_eq(f.mr[1], addr, &alloc::format!("{what}: fault address"))
}

/// Reads `addr` in a helper; its result or the fault it got.
fn read_in_helper(env: &mut Env, addr: u64) -> TestResult<Result<u64, ()>> {
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_read).args([addr, 0, 0, 0]).fault_ep(ep))?;
    let m = env.ipc.nb_recv(ep);
    if m.label() == FaultLabel::VmFault as u64 {
        ensure_eq(env.ipc.mr(1), addr, "fault address")?;
        t.tcb.tcb_suspend().ctx("suspend")?;
        return Ok(Err(()));
    }
    Ok(Ok(env.join(&t)?))
}

/// Writes through `v` in the root task's address space.
fn poke(v: u64, value: u64) {
    // SAFETY: the tests pass addresses of pages they mapped read-write in
    // the scratch area, where no Rust object lives.
    unsafe { (v as *mut u64).write_volatile(value) }
}

fn peek(v: u64) -> u64 {
    // SAFETY: as for `poke`, for mapped readable pages.
    unsafe { (v as *const u64).read_volatile() }
}

fn interas_diffcspace(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let fault_ep = env.endpoint()?.bits();
    let caps = [(2, ep, CapRights::all(), 0), (5, fault_ep, CapRights::all(), 0)];
    // IPC with a thread in another CSpace and VSpace.
    let p = env.spawn_process(Spawn::new(h_call).args([2, MAGIC1, 0, 0]), &caps)?;
    env.ipc.recv(ep);
    ensure_eq(env.ipc.mr(0), MAGIC1, "the call from the process")?;
    env.ipc.set_mr(0, MAGIC2);
    env.ipc.reply(info(0, 1));
    env.join_expect(&p.thread, MAGIC2, "the reply in the process")?;
    // Memory of the root task is not mapped there.
    let (_, v) = env.page(RW, DEFAULT)?;
    poke(v, 5);
    let p = env.spawn_process(Spawn::new(h_read).args([v, 0, 0, 0]).fault_ep(5), &caps)?;
    expect_vm_fault(env, fault_ep, v, "reading the root task's page")?;
    p.thread.tcb.tcb_suspend().ctx("suspend")?;
    // Nor are its caps.
    let p = env.spawn_process(Spawn::new(h_call).args([ep, 0, 0, 0]).fault_ep(5), &caps)?;
    let f = env.expect_fault(fault_ep, FaultLabel::CapFault, "calling the root task's cptr")?;
    ensure_eq(f.mr[1], ep, "the cptr")?;
    p.thread.tcb.tcb_suspend().ctx("suspend")
}

fn unmap_after_delete(env: &mut Env) -> TestResult {
    let v = env.vspace()?;
    let f: cap::Granule = env.obj()?;
    env.map(v, f, 0x1000_0000, RW, DEFAULT)?;
    path(v.bits()).delete().ctx("delete of the VSpace")?;
    f.frame_unmap().ctx("unmap after the VSpace is gone")?;
    let a = env.scratch(PAGE, PAGE);
    env.map(root_vspace(), f, a, RW, DEFAULT).ctx("mapping it again")?;
    poke(a, 9);
    ensure_eq(peek(a), 9, "the frame mapped again")
}

fn make_pool(env: &mut Env) -> TestResult<cap::AsidPool> {
    let ut = env.untyped(12)?;
    let d = env.slot()?;
    slot::ASID_CONTROL.cap().asid_control_make_pool(ut, &path(d)).ctx("MakePool")?;
    Ok(cap_at(d))
}

/// A VSpace assigned from `pool`, with a frame mapped and written.
fn use_pool(env: &mut Env, pool: cap::AsidPool) -> TestResult {
    let v: cap::VSpace = env.obj()?;
    pool.asid_pool_assign(v).ctx("assign")?;
    let f: cap::Granule = env.obj()?;
    env.map(v, f, 0x2000_0000, RW, DEFAULT).ctx("mapping in the new VSpace")
}

fn asid_pool_make(env: &mut Env) -> TestResult {
    let pool = make_pool(env)?;
    use_pool(env, pool)
}

fn multi_asid_pools(env: &mut Env) -> TestResult {
    for _ in 0..8 {
        let pool = make_pool(env)?;
        use_pool(env, pool)?;
    }
    Ok(())
}

fn run_out_asid_pools(env: &mut Env) -> TestResult {
    let pools = 1u64 << ASID_HIGH_BITS;
    let mut made = alloc::vec::Vec::new();
    loop {
        let ut = env.untyped(12)?;
        let d = env.slot()?;
        match slot::ASID_CONTROL.cap().asid_control_make_pool(ut, &path(d)) {
            Ok(()) => made.push(d),
            Err(Error::DeleteFirst) => break,
            Err(e) => return Err(alloc::format!("pool {}: {e:?}", made.len() + 1).into()),
        }
        ensure(made.len() as u64 <= pools, || "more pools than ASIDs allow".into())?;
    }
    // The root task's pool is the first.
    ensure_eq(made.len() as u64, pools - 1, "pools made")?;
    for &p in made.iter().step_by(16) {
        use_pool(env, cap_at(p))?;
    }
    path(made[3]).delete().ctx("delete of a pool")?;
    make_pool(env).ctx("a pool after deleting one").map(|_| ())
}

fn overassign_asid_pool(env: &mut Env) -> TestResult {
    let pool = make_pool(env)?;
    let n = 1u64 << ASID_POOL_INDEX_BITS;
    let mut first = 0;
    for chunk in 0..n.div_ceil(256) {
        let k = (n - chunk * 256).min(256);
        let s = env.retype_from(env.test_ut, ObjectBlueprint::VSpace, k)?;
        if chunk == 0 {
            first = s;
        }
    }
    for i in 0..n {
        pool.asid_pool_assign(cap_at(first + i))
            .map_err(|e| alloc::format!("assign {i}: {e:?}"))?;
    }
    let extra: cap::VSpace = env.obj()?;
    expect_err(pool.asid_pool_assign(extra), Error::DeleteFirst, "one VSpace too many")?;
    path(first + 7).delete().ctx("delete of a VSpace")?;
    pool.asid_pool_assign(extra).ctx("assign after freeing an ASID")
}

fn make_pool_errors(env: &mut Env) -> TestResult {
    let ctl = slot::ASID_CONTROL.cap();
    let d = env.slot()?;
    let big = env.untyped(13)?;
    expect_err(
        ctl.asid_control_make_pool(big, &path(d)),
        Error::InvalidCapability,
        "8 KiB untyped",
    )?;
    ensure_eq(err_mr(env, 0), 1, "the invalid cap's index")?;
    let frame: cap::Untyped = cap_at(env.obj::<cap_type::Granule>()?.bits());
    expect_err(ctl.asid_control_make_pool(frame, &path(d)), Error::InvalidCapability, "a frame")?;
    let dev = env.device_untyped(VIRTIO_PADDR)?;
    expect_err(ctl.asid_control_make_pool(dev, &path(d)), Error::InvalidCapability, "device")?;
    let parent = env.untyped(12)?;
    env.retype_from(parent, ObjectBlueprint::Endpoint, 1)?;
    expect_err(ctl.asid_control_make_pool(parent, &path(d)), Error::RevokeFirst, "with children")?;
    let ut = env.untyped(12)?;
    let full = env.endpoint()?.bits();
    expect_err(ctl.asid_control_make_pool(ut, &path(full)), Error::DeleteFirst, "occupied slot")?;
    let m = env.invoke(ctl.bits(), L::ArmAsidControlMakePool, &[d, 64], &[ut.bits()]);
    expect_label(m.label(), Error::TruncatedMessage, "without the destination CNode")?;
    env.expect_slot(d, true, "the destination after the refused calls")
}

fn assign_errors(env: &mut Env) -> TestResult {
    let pool = slot::ASID_POOL.cap();
    let v = env.vspace()?;
    expect_err(pool.asid_pool_assign(v), Error::InvalidCapability, "an assigned VSpace")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid cap's index")?;
    let f = env.obj::<cap_type::Granule>()?;
    expect_err(pool.asid_pool_assign(cap_at(f.bits())), Error::InvalidCapability, "a frame")?;
    let m = env.invoke(pool.bits(), L::ArmAsidPoolAssign, &[], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "no VSpace")?;
    let m = env.invoke(pool.bits(), L::ArmPageUnmap, &[], &[]);
    expect_label(m.label(), Error::IllegalOperation, "another label")
}

fn map_unmap_remap(env: &mut Env) -> TestResult {
    let (f, a) = env.page(RW, DEFAULT)?;
    let paddr = f.frame_get_address().ctx("GetAddress")?;
    ensure_eq(paddr % PAGE as usize, 0, "GetAddress alignment")?;
    poke(a + 8, 0x1234);
    ensure_eq(read_in_helper(env, a + 8)?, Ok(0x1234), "a helper reading the page")?;
    f.frame_unmap().ctx("unmap")?;
    ensure_eq(read_in_helper(env, a + 8)?, Err(()), "a helper reading the unmapped page")?;
    f.frame_unmap().ctx("unmap of an unmapped frame")?;
    let b = env.scratch(PAGE, PAGE);
    env.map(root_vspace(), f, b, RW, DEFAULT)?;
    ensure_eq(peek(b + 8), 0x1234, "the contents at the new address")?;
    ensure_eq(f.frame_get_address().ctx("GetAddress")?, paddr, "GetAddress after the remap")
}

fn map_errors(env: &mut Env) -> TestResult {
    let f: cap::Granule = env.obj()?;
    let (_, a) = env.page(RW, DEFAULT)?;
    let next = a + PAGE;
    let r = f.frame_map(root_vspace(), (next + 8) as usize, RW, DEFAULT);
    expect_err(r, Error::AlignmentError, "an unaligned address")?;
    let r = f.frame_map(root_vspace(), USER_TOP as usize, RW, DEFAULT);
    expect_err(r, Error::InvalidArgument, "an address past the user range")?;
    ensure_eq(err_mr(env, 0), 0, "the invalid argument's index")?;
    let far = env.scratch(PAGE, 1 << 30);
    expect_err(
        f.frame_map(root_vspace(), far as usize, RW, DEFAULT),
        Error::FailedLookup,
        "no page table",
    )?;
    ensure_eq(err_mr(env, 0), 0, "failed lookup was not the source")?;
    let unassigned: cap::VSpace = env.obj()?;
    expect_err(
        f.frame_map(unassigned, 0x1000, RW, DEFAULT),
        Error::InvalidCapability,
        "a VSpace without ASID",
    )?;
    ensure_eq(err_mr(env, 0), 1, "the invalid cap's index")?;
    let ep = env.endpoint()?.bits();
    expect_err(
        f.frame_map(cap_at(ep), 0x1000, RW, DEFAULT),
        Error::InvalidCapability,
        "an endpoint",
    )?;
    let m = env.invoke(f.bits(), L::ArmPageMap, &[next, RW.into_word()], &[root_vspace().bits()]);
    expect_label(m.label(), Error::TruncatedMessage, "two words")?;
    f.frame_map(root_vspace(), next as usize, RW, DEFAULT).ctx("the valid map")
}

fn remap_rules(env: &mut Env) -> TestResult {
    let (f, a) = env.page(RW, DEFAULT)?;
    let b = env.scratch(PAGE, PAGE);
    let other: cap::Granule = env.obj()?;
    env.map(root_vspace(), other, b, RW, DEFAULT)?;
    expect_err(
        f.frame_map(root_vspace(), (b + PAGE) as usize, RW, DEFAULT),
        Error::InvalidArgument,
        "another address",
    )?;
    ensure_eq(err_mr(env, 0), 0, "the invalid argument's index")?;
    let v = env.vspace()?;
    expect_err(
        f.frame_map(v, a as usize, RW, DEFAULT),
        Error::InvalidCapability,
        "another VSpace",
    )?;
    ensure_eq(err_mr(env, 0), 1, "the invalid cap's index")?;
    f.frame_map(root_vspace(), a as usize, CapRights::read_only(), DEFAULT)
        .ctx("remap read-only")?;
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_write).args([a, 1, 0, 0]).fault_ep(ep))?;
    expect_vm_fault(env, ep, a, "writing the read-only mapping")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

fn page_table_errors(env: &mut Env) -> TestResult {
    let v = env.vspace()?;
    let vaddr = 0x4000_0000;
    let (p1, p2, p3): (cap::PageTable, cap::PageTable, cap::PageTable) =
        (env.obj()?, env.obj()?, env.obj()?);
    let f: cap::Granule = env.obj()?;
    expect_err(f.frame_map(v, vaddr, RW, DEFAULT), Error::FailedLookup, "a frame with no tables")?;
    p1.page_table_map(v, vaddr, DEFAULT).ctx("the first table")?;
    expect_err(f.frame_map(v, vaddr, RW, DEFAULT), Error::FailedLookup, "a frame with one table")?;
    p2.page_table_map(v, vaddr, DEFAULT).ctx("the second table")?;
    f.frame_map(v, vaddr, RW, DEFAULT).ctx("a frame with both tables")?;
    expect_err(p3.page_table_map(v, vaddr, DEFAULT), Error::DeleteFirst, "a third table")?;
    let r = p2.page_table_map(v, vaddr + (4 << 30), DEFAULT);
    expect_err(r, Error::InvalidCapability, "a mapped table again")?;
    ensure_eq(err_mr(env, 0), 0, "the invalid cap's index")?;
    let r = p3.page_table_map(v, USER_TOP as usize + (1 << 30), DEFAULT);
    expect_err(r, Error::InvalidArgument, "past the user range")?;
    let d = env.slot()?;
    expect_err(
        path(d).copy(&path(p3.bits()), CapRights::all()),
        Error::IllegalOperation,
        "copy of an unmapped table",
    )?;
    let c = env.copy(p2.bits(), CapRights::all()).ctx("copy of a mapped table")?;
    expect_err(p2.page_table_unmap(), Error::RevokeFirst, "unmap with a copy")?;
    path(c).delete().ctx("delete of the copy")?;
    p2.page_table_unmap().ctx("unmap")?;
    p2.page_table_map(v, vaddr, DEFAULT).ctx("map again")
}

fn unmap_on_delete(env: &mut Env) -> TestResult {
    let (f, a) = env.page(RW, DEFAULT)?;
    poke(a, 77);
    ensure_eq(read_in_helper(env, a)?, Ok(77), "reading the mapped page")?;
    path(f.bits()).delete().ctx("delete")?;
    ensure_eq(read_in_helper(env, a)?, Err(()), "reading after the delete")
}

fn unmap_page_table(env: &mut Env) -> TestResult {
    let a = env.scratch(PAGE, 1 << 30);
    let (l2, l3): (cap::PageTable, cap::PageTable) = (env.obj()?, env.obj()?);
    l2.page_table_map(root_vspace(), a as usize, DEFAULT).ctx("level 2 table")?;
    l3.page_table_map(root_vspace(), a as usize, DEFAULT).ctx("level 3 table")?;
    let f: cap::Granule = env.obj()?;
    f.frame_map(root_vspace(), a as usize, RW, DEFAULT).ctx("frame")?;
    poke(a, 3);
    ensure_eq(read_in_helper(env, a)?, Ok(3), "reading the page")?;
    l3.page_table_unmap().ctx("unmap of the level 3 table")?;
    ensure_eq(read_in_helper(env, a)?, Err(()), "reading after the table is unmapped")?;
    f.frame_unmap().ctx("unmap of the frame")?;
    l3.page_table_map(root_vspace(), a as usize, DEFAULT).ctx("the table again")?;
    f.frame_map(root_vspace(), a as usize, RW, DEFAULT).ctx("the frame again")?;
    ensure_eq(read_in_helper(env, a)?, Ok(3), "reading the page mapped again")
}

fn large_pages(env: &mut Env) -> TestResult {
    let f: cap::LargePage = env.obj()?;
    let paddr = f.frame_get_address().ctx("GetAddress")?;
    ensure_eq(paddr as u64 % LARGE_PAGE, 0, "physical alignment")?;
    let a = env.scratch(LARGE_PAGE, LARGE_PAGE);
    // A page table for the level that holds large pages.
    let _ = env.page(RW, DEFAULT)?;
    expect_err(
        f.frame_map(root_vspace(), (a + PAGE) as usize, RW, DEFAULT),
        Error::AlignmentError,
        "4 KiB aligned",
    )?;
    env.map(root_vspace(), f, a, RW, DEFAULT).ctx("map")?;
    poke(a + (1 << 20), 0x66);
    ensure_eq(read_in_helper(env, a + (1 << 20))?, Ok(0x66), "a helper reading the large page")?;
    // Where a level 3 table exists a large page does not fit.
    let (_, small) = env.page(RW, DEFAULT)?;
    let g: cap::LargePage = env.obj()?;
    let r = g.frame_map(root_vspace(), (small & !(LARGE_PAGE - 1)) as usize, RW, DEFAULT);
    expect_err(r, Error::FailedLookup, "over a level 3 table")
}

fn frame_cache_ops(env: &mut Env) -> TestResult {
    let (f, _) = env.page(RW, DEFAULT)?;
    f.frame_clean_data(0, 4096).ctx("clean")?;
    f.frame_clean_invalidate_data(0, 64).ctx("clean and invalidate")?;
    f.frame_invalidate_data(0, 4096).ctx("invalidate")?;
    f.frame_unify_instruction(128, 256).ctx("unify")?;
    expect_err(f.frame_clean_data(64, 64), Error::InvalidArgument, "end = start")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    expect_err(f.frame_clean_data(0, 4097), Error::InvalidArgument, "past the page")?;
    ensure_eq(err_mr(env, 0), 0, "the invalid argument's index")?;
    let unmapped: cap::Granule = env.obj()?;
    expect_err(unmapped.frame_clean_data(0, 64), Error::IllegalOperation, "an unmapped frame")?;
    let m = env.invoke(f.bits(), L::ArmPageCleanData, &[0], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "one word")
}

fn vspace_cache_ops(env: &mut Env) -> TestResult {
    let (_, a) = env.page(RW, DEFAULT)?;
    let (a, v) = (a as usize, root_vspace());
    v.vspace_clean_data(a, a + 4096).ctx("clean")?;
    v.vspace_clean_invalidate_data(a, a + 64).ctx("clean and invalidate")?;
    v.vspace_invalidate_data(a + 128, a + 256).ctx("invalidate")?;
    v.vspace_unify_instruction(a, a + 4096).ctx("unify")?;
    expect_err(v.vspace_clean_data(a + 8, a + 8), Error::InvalidArgument, "end = start")?;
    ensure_eq(err_mr(env, 0), 1, "the invalid argument's index")?;
    expect_err(v.vspace_clean_data(a, a + 4097), Error::RangeError, "across a page boundary")?;
    expect_err(
        v.vspace_clean_data(a, (USER_TOP << 1) as usize),
        Error::IllegalOperation,
        "past the user range",
    )?;
    let far = env.scratch(PAGE, 1 << 30) as usize;
    v.vspace_clean_data(far, far + 64).ctx("an unmapped range")?;
    let unassigned: cap::VSpace = env.obj()?;
    expect_err(
        unassigned.vspace_clean_data(a, a + 64),
        Error::InvalidCapability,
        "a VSpace without ASID",
    )
}

fn device_frames(env: &mut Env) -> TestResult {
    let ut = env.device_untyped(VIRTIO_PADDR)?;
    let f: cap::Granule = cap_at(env.retype_from(ut, ObjectBlueprint::SmallPage, 1)?);
    let paddr = f.frame_get_address().ctx("GetAddress")? as u64;
    ensure_eq(paddr, VIRTIO_PADDR, "device frame address")?;
    let a = env.scratch(PAGE, PAGE);
    env.map(root_vspace(), f, a, RW, VmAttributes::NONE | VmAttributes::EXECUTE_NEVER)?;
    let tcb = env.tcb()?;
    let r = tcb.tcb_configure(
        CPtr::from_bits(0),
        slot::CNODE.cap(),
        CNodeCapData::skip(64 - env.cnode_bits),
        root_vspace(),
        a,
        f,
    );
    expect_err(r, Error::IllegalOperation, "Configure with a device frame as IPC buffer")?;
    expect_err(
        tcb.tcb_set_ipc_buffer(a, f),
        Error::IllegalOperation,
        "SetIPCBuffer with a device frame",
    )?;
    let (g, b) = env.page(RW, DEFAULT)?;
    tcb.tcb_set_ipc_buffer(b, g).ctx("SetIPCBuffer with a RAM frame")
}

fn rights_masked(env: &mut Env) -> TestResult {
    let f: cap::Granule = env.obj()?;
    let ro = env.copy(f.bits(), CapRights::read_only())?;
    let a = env.scratch(PAGE, PAGE);
    env.map(root_vspace(), cap_at::<cap_type::Granule>(ro), a, RW, DEFAULT)?;
    ensure_eq(read_in_helper(env, a)?, Ok(0), "reading")?;
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_write).args([a, 1, 0, 0]).fault_ep(ep))?;
    expect_vm_fault(env, ep, a, "writing through a mapping of a read-only cap")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

fn shared_frame(env: &mut Env) -> TestResult {
    let (f, a) = env.page(RW, DEFAULT)?;
    poke(a + 24, MAGIC2);
    let s = Spawn::new(h_read).args([0x3000_0018, 0, 0, 0]).suspended();
    let p = env.spawn_process(s, &[])?;
    let copy = env.copy(f.bits(), CapRights::all())?;
    env.map(p.vspace, cap_at::<cap_type::Granule>(copy), 0x3000_0000, RW, DEFAULT)?;
    p.thread.start()?;
    env.join_expect(&p.thread, MAGIC2, "the word read in the other address space")
}

fn delete_asid_pool(env: &mut Env) -> TestResult {
    let pool = make_pool(env)?;
    let v: cap::VSpace = env.obj()?;
    pool.asid_pool_assign(v).ctx("assign")?;
    let f: cap::Granule = env.obj()?;
    env.map(v, f, 0x2000_0000, RW, DEFAULT)?;
    path(pool.bits()).delete().ctx("delete of the pool")?;
    let g: cap::Granule = env.obj()?;
    expect_err(
        g.frame_map(v, 0x2000_1000, RW, DEFAULT),
        Error::FailedLookup,
        "map into the orphaned VSpace",
    )?;
    f.frame_unmap().ctx("unmap from the orphaned VSpace")
}

/// `mov x0, #42; ret`.
const CODE: [u32; 2] = [0xd280_0540, 0xd65f_03c0];

/// Writes CODE at the start of `frame` (mapped read-write at `rw`), maps
/// copies executable and execute-never, and checks a helper can run the
/// first and faults on the second.
fn xn(env: &mut Env, frame_bits: usize, align: u64) -> TestResult {
    let bp = if frame_bits == 21 { ObjectBlueprint::LargePage } else { ObjectBlueprint::SmallPage };
    let f = env.retype(bp)?;
    let map = |env: &mut Env, slot: u64, vaddr: u64, rights, attrs| {
        if frame_bits == 21 {
            env.map(root_vspace(), cap_at::<cap_type::LargePage>(slot), vaddr, rights, attrs)
        } else {
            env.map(root_vspace(), cap_at::<cap_type::Granule>(slot), vaddr, rights, attrs)
        }
    };
    let rw = env.scratch(align, align);
    map(env, f, rw, RW, DEFAULT | VmAttributes::EXECUTE_NEVER)?;
    for (i, w) in CODE.iter().enumerate() {
        // SAFETY: the frame is mapped read-write at `rw`; nothing else uses it.
        unsafe { ((rw + 4 * i as u64) as *mut u32).write_volatile(*w) };
    }
    let g: cap::Granule = cap_at(f);
    g.frame_clean_data(0, 64).ctx("clean")?;
    g.frame_unify_instruction(0, 64).ctx("unify")?;
    let exec = env.copy(f, CapRights::all())?;
    let x = env.scratch(align, align);
    map(env, exec, x, CapRights::read_only(), DEFAULT)?;
    let nx = env.copy(f, CapRights::all())?;
    let y = env.scratch(align, align);
    map(env, nx, y, CapRights::read_only(), DEFAULT | VmAttributes::EXECUTE_NEVER)?;
    let t = env.spawn(Spawn::new(h_exec).args([x, 0, 0, 0]))?;
    env.join_expect(&t, 42, "running the code")?;
    ensure_eq(
        read_in_helper(env, y)?,
        Ok(u64::from(CODE[0]) | u64::from(CODE[1]) << 32),
        "reading the XN mapping",
    )?;
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_exec).args([y, 0, 0, 0]).fault_ep(ep))?;
    let flt = env.expect_fault(ep, FaultLabel::VmFault, "executing from the XN mapping")?;
    ensure_eq((flt.mr[0], flt.mr[1], flt.mr[2]), (y, y, 1), "fault IP, address, instruction flag")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

fn xn_small_frame(env: &mut Env) -> TestResult {
    xn(env, 12, PAGE)
}

fn xn_large_frame(env: &mut Env) -> TestResult {
    xn(env, 21, LARGE_PAGE)
}

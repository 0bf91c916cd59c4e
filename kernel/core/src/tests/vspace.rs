//! Stage-2 VSpaces: frame and page table mapping with the descriptors
//! checked, unmapping, cache operations, ASID pools.

use super::*;
use crate::vspace::{desc, lookup_pt_slot};
use InvocationLabel::*;
use sel4_sys::object::{VM_ATTR_EXECUTE_NEVER, VM_ATTR_PAGE_CACHEABLE};

const CNODE: u64 = InitialCap::InitThreadCNode as u64;
const VSPACE: u64 = InitialCap::InitThreadVSpace as u64;
const RW: u64 = CapRights::READ | CapRights::WRITE;
const RO: u64 = CapRights::READ;

fn root_vspace(s: &Sys) -> u64 {
    s.cap(VSPACE).obj_ptr()
}

/// The descriptor and size bits mapping `vaddr` in the VSpace `vs`.
fn walk(vs: u64, vaddr: u64) -> (u64, u64) {
    let slot = lookup_pt_slot(vs, vaddr);
    (slot.entry(), slot.bits_left)
}

const S2AP: u64 = desc::S2AP_READ | desc::S2AP_WRITE;
const MEMATTR: u64 = 0b1111 << 2;

#[test]
fn map_frame_descriptors() {
    let mut s = Sys::boot();
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    let Cap::Frame { paddr, .. } = s.cap(f) else { panic!() };
    let v = BUFFER_VADDR + 0x10_0000;
    s.map(f, v, RW, VM_ATTR_PAGE_CACHEABLE);
    let (e, bits) = walk(root_vspace(&s), v);
    assert_eq!(bits, 12);
    assert_eq!(e & desc::ADDR_MASK, paddr);
    assert_eq!(e & 3, 3);
    assert_eq!(e & S2AP, S2AP);
    assert_eq!(e & MEMATTR, desc::MEMATTR_NORMAL_WB);
    assert_eq!(e & desc::SH_INNER, desc::SH_INNER);
    assert_ne!(e & desc::AF, 0);
    assert_eq!(e & desc::XN, 0);
    assert_eq!(
        s.cap(f),
        Cap::Frame {
            size_bits: 12,
            rights: crate::VmRights::ReadWrite,
            device: false,
            paddr,
            mapped: Some((1, v)),
        }
    );
    assert_eq!(s.k.arch.events.last(), Some(&Event::FlushPage(1, v)));
    // Remap at the same address: read only, execute never, uncached.
    s.map(f, v, RO, VM_ATTR_EXECUTE_NEVER);
    let (e, _) = walk(root_vspace(&s), v);
    assert_eq!(e & S2AP, desc::S2AP_READ);
    assert_ne!(e & desc::XN, 0);
    assert_eq!(e & MEMATTR, desc::MEMATTR_DEVICE_NGNRE);
    // Write-only rights: no access at all.
    s.map(f, v, CapRights::WRITE, 0);
    let (e, _) = walk(root_vspace(&s), v);
    assert_eq!(e & S2AP, 0);
    // A read-only cap never maps writable.
    let ro = s.copy(f, CapRights::read_only());
    s.map(ro, v + 0x1000, RW, 1);
    let (e, _) = walk(root_vspace(&s), v + 0x1000);
    assert_eq!(e & S2AP, desc::S2AP_READ);
}

#[test]
fn device_frames_map_as_device_memory() {
    let mut s = Sys::boot();
    let bi = s.bootinfo();
    let i = bi.untypeds().iter().position(|u| u.is_device != 0).unwrap();
    let dev = bi.untyped.start + i as u64;
    let f = s.alloc_slot();
    s.ok(dev, UntypedRetype, &[ObjectType::SmallPage as u64, 0, 0, 0, f, 1], &[CNODE]);
    let v = BUFFER_VADDR + 0x11_0000;
    s.map(f, v, RW, VM_ATTR_PAGE_CACHEABLE);
    let (e, _) = walk(root_vspace(&s), v);
    assert_eq!(e & MEMATTR, desc::MEMATTR_DEVICE_NGNRE);
    assert_eq!(e & desc::ADDR_MASK, 0x0900_0000);
}

#[test]
fn map_errors() {
    let mut s = Sys::boot();
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    let v = BUFFER_VADDR + 0x12_0000;
    let e = |s: &mut Sys, vaddr: u64, caps: &[u64]| {
        s.invoke(f, ArmPageMap, &[vaddr, RW, 0], caps).unwrap_err()
    };
    assert_eq!(e(&mut s, v + 0x800, &[VSPACE]).0, Error::AlignmentError);
    assert_eq!(e(&mut s, 1 << 39, &[VSPACE]), (Error::InvalidArgument, vec![0]));
    assert_eq!(e(&mut s, !0xfff, &[VSPACE]), (Error::InvalidArgument, vec![0]));
    // No page table for the address: 30 bits (a level-1 slot) left.
    assert_eq!(e(&mut s, 0x40_0000_0000, &[VSPACE]), (Error::FailedLookup, vec![0, 2, 30]));
    // A level-2 slot without a level-3 table: 21 bits left.
    assert_eq!(e(&mut s, 0x3000_0000, &[VSPACE]), (Error::FailedLookup, vec![0, 2, 21]));
    // Not a VSpace; a VSpace without an ASID.
    assert_eq!(e(&mut s, v, &[CNODE]), (Error::InvalidCapability, vec![1]));
    let vs = s.retype(ObjectType::VSpace, 0, 1);
    assert_eq!(e(&mut s, v, &[vs]), (Error::InvalidCapability, vec![1]));
    assert_eq!(s.err(f, ArmPageMap, &[v, RW], &[VSPACE]), Error::TruncatedMessage);
    assert_eq!(s.err(f, ArmPageMap, &[v, RW, 0], &[]), Error::TruncatedMessage);
    // The slot holds another mapping.
    let image_va = IMAGE_VADDR;
    assert_eq!(e(&mut s, image_va, &[VSPACE]).0, Error::DeleteFirst);
    // A mapped cap only remaps at its own address and VSpace.
    s.map(f, v, RW, 0);
    assert_eq!(e(&mut s, v + 0x1000, &[VSPACE]), (Error::InvalidArgument, vec![0]));
    let asid_pool = InitialCap::InitThreadAsidPool as u64;
    s.ok(asid_pool, ArmAsidPoolAssign, &[], &[vs]);
    assert_eq!(e(&mut s, v, &[vs]), (Error::InvalidCapability, vec![1]));
    // Large pages need 2 MiB alignment and a level-2 slot.
    let lp = s.retype(ObjectType::LargePage, 0, 1);
    let r = s.invoke(lp, ArmPageMap, &[0x20_1000, RW, 0], &[VSPACE]);
    assert_eq!(r.unwrap_err().0, Error::AlignmentError);
    // 0x1000_0000 has a level-3 table: a large page does not fit there.
    let r = s.invoke(lp, ArmPageMap, &[BUFFER_VADDR, RW, 0], &[VSPACE]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 2, 12]));
    assert_eq!(s.err(f, UntypedRetype, &[], &[]), Error::IllegalOperation);
}

#[test]
fn large_page_block_and_unmap() {
    let mut s = Sys::boot();
    let lp = s.retype(ObjectType::LargePage, 0, 1);
    let Cap::Frame { paddr, .. } = s.cap(lp) else { panic!() };
    s.map(lp, 0x3000_0000, RW, 1);
    let (e, bits) = walk(root_vspace(&s), 0x3000_0000);
    assert_eq!(bits, 21);
    assert_eq!(e & 3, 1, "block");
    assert_eq!(e & desc::ADDR_MASK, paddr);
    s.k.arch.events.clear();
    s.ok(lp, ArmPageUnmap, &[], &[]);
    assert_eq!(walk(root_vspace(&s), 0x3000_0000).0, 0);
    assert_eq!(s.k.arch.events, vec![Event::FlushPage(1, 0x3000_0000)]);
    assert!(matches!(s.cap(lp), Cap::Frame { mapped: None, .. }));
    // Unmapping an unmapped frame is fine.
    s.ok(lp, ArmPageUnmap, &[], &[]);
    // Deleting a mapped frame cap unmaps it.
    s.map(lp, 0x3020_0000, RW, 1);
    s.ok(CNODE, CNodeDelete, &[lp, 64], &[]);
    assert_eq!(walk(root_vspace(&s), 0x3020_0000).0, 0);
}

#[test]
fn page_tables_map_at_the_first_missing_level() {
    let mut s = Sys::boot();
    let pts = s.retype(ObjectType::PageTable, 0, 3);
    let va = 0x80_0000_0000 - 0x4000_0000 + 0x1234_5000;
    // Level 1 has no table for this GiB: the first becomes level 2.
    s.ok(pts, ArmPageTableMap, &[va, 0], &[VSPACE]);
    assert_eq!(
        s.cap(pts),
        Cap::PageTable { ptr: s.cap(pts).obj_ptr(), mapped: Some((1, va & !((1 << 30) - 1))) }
    );
    let (e, bits) = walk(root_vspace(&s), va);
    assert_eq!(bits, 21);
    assert_eq!(e, 0);
    // The second becomes level 3.
    s.ok(pts + 1, ArmPageTableMap, &[va, 0], &[VSPACE]);
    assert!(
        matches!(s.cap(pts + 1), Cap::PageTable { mapped: Some((1, m)), .. } if m == va & !0x1f_ffff)
    );
    let (_, bits) = walk(root_vspace(&s), va);
    assert_eq!(bits, 12);
    // A third one has nowhere to go.
    assert_eq!(s.err(pts + 2, ArmPageTableMap, &[va, 0], &[VSPACE]), Error::DeleteFirst);
    // A mapped page table cannot be mapped again.
    assert_eq!(
        s.invoke(pts, ArmPageTableMap, &[va, 0], &[VSPACE]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
    assert_eq!(
        s.invoke(pts + 2, ArmPageTableMap, &[1 << 39, 0], &[VSPACE]).unwrap_err(),
        (Error::InvalidArgument, vec![0])
    );
    assert_eq!(
        s.invoke(pts + 2, ArmPageTableMap, &[va, 0], &[CNODE]).unwrap_err(),
        (Error::InvalidCapability, vec![1])
    );
    assert_eq!(s.err(pts + 2, ArmPageTableMap, &[va], &[VSPACE]), Error::TruncatedMessage);
    // A frame in it, then unmap the level-3 table: the entry and the
    // table's contents go.
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    s.map(f, va, RW, 1);
    let copy = s.copy(pts + 1, CapRights::all());
    assert_eq!(s.err(pts + 1, ArmPageTableUnmap, &[], &[]), Error::RevokeFirst);
    s.ok(CNODE, CNodeDelete, &[copy, 64], &[]);
    s.k.arch.events.clear();
    s.ok(pts + 1, ArmPageTableUnmap, &[], &[]);
    assert_eq!(s.k.arch.events, vec![Event::FlushAsid(1)]);
    assert_eq!(walk(root_vspace(&s), va).1, 21);
    let table = crate::object::TableRef(s.cap(pts + 1).obj_ptr());
    assert!(table.get().iter().all(|&e| e == 0));
    // The frame's cap still says mapped, but unmapping it finds nothing.
    s.ok(f, ArmPageUnmap, &[], &[]);
    // Deleting the last cap of a mapped level-2 table unmaps it.
    s.ok(CNODE, CNodeDelete, &[pts, 64], &[]);
    assert_eq!(walk(root_vspace(&s), va).1, 30);
}

#[test]
fn get_address_and_cache_ops() {
    let mut s = Sys::boot();
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    let Cap::Frame { paddr, .. } = s.cap(f) else { panic!() };
    assert_eq!(s.ok(f, ArmPageGetAddress, &[], &[]), vec![paddr]);
    assert_eq!(s.err(f, ArmPageCleanData, &[0, 64], &[]), Error::IllegalOperation);
    s.map(f, BUFFER_VADDR + 0x13_0000, RW, 1);
    s.k.arch.events.clear();
    s.ok(f, ArmPageCleanData, &[0x40, 0x80], &[]);
    s.ok(f, ArmPageInvalidateData, &[0, 0x1000], &[]);
    s.ok(f, ArmPageCleanInvalidateData, &[0x10, 0x20], &[]);
    s.ok(f, ArmPageUnifyInstruction, &[0x100, 0x200], &[]);
    assert_eq!(
        s.k.arch.events,
        vec![
            Event::Clean(paddr + 0x40, 0x40),
            Event::Invalidate(paddr, 0x1000),
            Event::CleanInvalidate(paddr + 0x10, 0x10),
            Event::Unify(paddr + 0x100, 0x100),
        ]
    );
    assert_eq!(
        s.invoke(f, ArmPageCleanData, &[0x80, 0x80], &[]).unwrap_err(),
        (Error::InvalidArgument, vec![1])
    );
    assert_eq!(
        s.invoke(f, ArmPageCleanData, &[0, 0x1001], &[]).unwrap_err(),
        (Error::InvalidArgument, vec![0])
    );
    assert_eq!(
        s.invoke(f, ArmPageCleanData, &[0x1000, 0x1001], &[]).unwrap_err(),
        (Error::InvalidArgument, vec![0])
    );
    assert_eq!(s.err(f, ArmPageCleanData, &[0], &[]), Error::TruncatedMessage);
    // VSpace cache ops work on virtual ranges within one page.
    s.k.arch.events.clear();
    let v = BUFFER_VADDR + 0x13_0000;
    s.ok(VSPACE, ArmVSpaceCleanData, &[v + 8, v + 16], &[]);
    assert_eq!(s.k.arch.events, vec![Event::Clean(paddr + 8, 8)]);
    let r = s.invoke(VSPACE, ArmVSpaceCleanData, &[v + 8, v + 0x1008], &[]);
    assert_eq!(r.unwrap_err(), (Error::RangeError, vec![v + 8, v + 0xfff]));
    assert_eq!(
        s.invoke(VSPACE, ArmVSpaceUnifyInstruction, &[v, v], &[]).unwrap_err(),
        (Error::InvalidArgument, vec![1])
    );
    assert_eq!(
        s.err(VSPACE, ArmVSpaceInvalidateData, &[0, (1 << 39) + 1], &[]),
        Error::IllegalOperation
    );
    // Nothing mapped: nothing to do, no error.
    s.k.arch.events.clear();
    s.ok(VSPACE, ArmVSpaceCleanInvalidateData, &[0x3000_0000, 0x3000_0010], &[]);
    assert!(s.k.arch.events.is_empty());
    assert_eq!(s.err(VSPACE, ArmPageMap, &[], &[]), Error::IllegalOperation);
    let vs = s.retype(ObjectType::VSpace, 0, 1);
    assert_eq!(
        s.invoke(vs, ArmVSpaceCleanData, &[0, 8], &[]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
}

#[test]
fn asid_pools_and_new_vspaces() {
    let mut s = Sys::boot();
    let control = InitialCap::AsidControl as u64;
    let ut = s.retype(ObjectType::Untyped, 12, 1);
    let big = s.retype(ObjectType::Untyped, 13, 1);
    let pool = s.alloc_slot();
    assert_eq!(
        s.invoke(control, ArmAsidControlMakePool, &[pool, 64], &[big, CNODE]).unwrap_err(),
        (Error::InvalidCapability, vec![1])
    );
    assert_eq!(s.err(control, ArmAsidControlMakePool, &[pool, 64], &[ut]), Error::TruncatedMessage);
    assert_eq!(
        s.err(control, ArmAsidPoolAssign, &[pool, 64], &[ut, CNODE]),
        Error::IllegalOperation
    );
    s.ok(control, ArmAsidControlMakePool, &[pool, 64], &[ut, CNODE]);
    assert!(matches!(s.cap(pool), Cap::AsidPool { asid_base: 512, .. }));
    assert!(matches!(s.cap(ut), Cap::Untyped { free_index: 4096, .. }));
    assert!(crate::cdt::is_mdb_parent_of(s.slot(ut), s.slot(pool)));
    // The untyped now has a child.
    let p2 = s.alloc_slot();
    assert_eq!(s.err(control, ArmAsidControlMakePool, &[p2, 64], &[ut, CNODE]), Error::RevokeFirst);
    // Assign ASIDs.
    let vs = s.retype(ObjectType::VSpace, 0, 2);
    s.ok(pool, ArmAsidPoolAssign, &[], &[vs]);
    assert_eq!(s.cap(vs), Cap::VSpace { asid: Some(512), ptr: s.cap(vs).obj_ptr() });
    s.ok(pool, ArmAsidPoolAssign, &[], &[vs + 1]);
    assert!(matches!(s.cap(vs + 1), Cap::VSpace { asid: Some(513), .. }));
    assert_eq!(
        s.invoke(pool, ArmAsidPoolAssign, &[], &[vs]).unwrap_err(),
        (Error::InvalidCapability, vec![1])
    );
    assert_eq!(s.err(pool, ArmAsidPoolAssign, &[], &[]), Error::TruncatedMessage);
    // The root pool skips ASID 0 and 1 (the root's).
    let vs3 = s.retype(ObjectType::VSpace, 0, 1);
    s.ok(InitialCap::InitThreadAsidPool as u64, ArmAsidPoolAssign, &[], &[vs3]);
    assert!(matches!(s.cap(vs3), Cap::VSpace { asid: Some(2), .. }));
    // A thread in the new VSpace: the arch sees it as current.
    let (tt, t) = s.new_thread(10);
    s.ok(tt, TcbSetSpace, &[0, 0, 0], &[CNODE, vs]);
    assert_eq!(s.k.thread_vspace(t), Some((s.cap(vs).obj_ptr(), 512)));
    // Deleting the VSpace's last cap invalidates the ASID (the thread's copy
    // is one of two caps: delete both).
    s.ok(tt, TcbSetSpace, &[0, 0, 0], &[CNODE, VSPACE]);
    s.k.arch.events.clear();
    s.ok(CNODE, CNodeDelete, &[vs, 64], &[]);
    assert_eq!(s.k.arch.events, vec![Event::FlushAsid(512)]);
    assert!(s.k.find_vspace_for_asid(512).is_err());
    // Deleting the pool: ASID 513 goes.
    s.ok(CNODE, CNodeDelete, &[pool, 64], &[]);
    assert!(s.k.find_vspace_for_asid(513).is_err());
    assert_eq!(s.k.asid_table[1], 0);
    // A VSpace cap whose pool is gone maps nothing.
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    let r = s.invoke(f, ArmPageMap, &[0, RW, 0], &[vs + 1]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 1]));
    // Pool creation fails once all 128 pools exist.
    for _ in 1..128 {
        let u = s.retype(ObjectType::Untyped, 12, 1);
        let p = s.alloc_slot();
        s.ok(control, ArmAsidControlMakePool, &[p, 64], &[u, CNODE]);
    }
    let u = s.retype(ObjectType::Untyped, 12, 1);
    let p = s.alloc_slot();
    assert_eq!(s.err(control, ArmAsidControlMakePool, &[p, 64], &[u, CNODE]), Error::DeleteFirst);
}

//! CNode invocations and CSpace addressing, with their error paths.

use super::*;
use crate::cdt::is_mdb_parent_of;
use InvocationLabel::*;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;

fn ep_rights(s: &Sys, i: u64) -> (u64, CapRights) {
    match s.cap(i) {
        Cap::Endpoint { badge, rights, .. } => (badge, rights),
        c => panic!("not an endpoint: {c:?}"),
    }
}

#[test]
fn copy_reduces_rights_only() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let ro = s.copy(ep, CapRights::read_only());
    assert_eq!(ep_rights(&s, ro), (0, CapRights::read_only()));
    let again = s.copy(ro, CapRights::all());
    assert_eq!(ep_rights(&s, again), (0, CapRights::read_only()));
    // Copies of the original cap are its children; copies of a copy are
    // siblings.
    assert!(is_mdb_parent_of(s.slot(ep), s.slot(ro)));
    assert!(!is_mdb_parent_of(s.slot(ro), s.slot(again)));
    let n = s.notification();
    let nc = s.copy(n, CapRights::all());
    assert!(
        matches!(s.cap(nc), Cap::Notification { rights, .. } if rights == CapRights::read_write())
    );
}

#[test]
fn mint_badges_once() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let b = s.mint(ep, CapRights::all(), 42);
    assert_eq!(ep_rights(&s, b), (42, CapRights::all()));
    assert!(is_mdb_parent_of(s.slot(ep), s.slot(b)));
    assert!(s.slot(b).mdb().first_badged);
    // A copy of the badged cap is its child and the endpoint's.
    let bc = s.copy(b, CapRights::write_only());
    assert_eq!(ep_rights(&s, bc), (42, CapRights::write_only()));
    assert!(is_mdb_parent_of(s.slot(ep), s.slot(bc)));
    assert!(is_mdb_parent_of(s.slot(b), s.slot(bc)));
    assert!(!s.slot(bc).mdb().first_badged);
    // A second cap with the same badge minted from the original is not a
    // child of the first.
    let b_again = s.mint(ep, CapRights::all(), 42);
    assert!(!is_mdb_parent_of(s.slot(b), s.slot(b_again)));
    // Badging a badged cap is refused, whatever the new badge.
    let d = s.alloc_slot();
    for badge in [7, 0] {
        let r = s.invoke(CNODE, CNodeMint, &[d, 64, b, 64, 0xf, badge], &[CNODE]);
        assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    }
    // Mint with fewer rights.
    let m = s.mint(ep, CapRights::read_only(), 5);
    assert_eq!(ep_rights(&s, m), (5, CapRights::read_only()));
    // Mint of a CNode sets its guard.
    let cn = s.retype(ObjectType::CapTable, 4, 1);
    let g = s.mint(cn, CapRights::all(), (3 << 6) | 2);
    assert!(matches!(s.cap(g), Cap::CNode { radix: 4, guard_size: 2, guard: 3, .. }));
    // A guard too long for the radix.
    let r = s.invoke(CNODE, CNodeMint, &[d, 64, cn, 64, 0xf, 61], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
}

#[test]
fn move_and_mutate_keep_tree_position() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let b = s.mint(ep, CapRights::all(), 9);
    let dest = s.alloc_slot();
    s.ok(CNODE, CNodeMove, &[dest, 64, ep, 64], &[CNODE]);
    assert_eq!(s.cap(ep), Cap::Null);
    assert_eq!(s.slot(ep).mdb(), crate::Mdb::default());
    assert!(is_mdb_parent_of(s.slot(dest), s.slot(b)));
    // Mutate: moves with new data; endpoints cannot be rebadged.
    let d2 = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeMutate, &[d2, 64, b, 64, 3], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    let cn = s.retype(ObjectType::CapTable, 3, 1);
    s.ok(CNODE, CNodeMutate, &[d2, 64, cn, 64, (1 << 6) | 1], &[CNODE]);
    assert!(matches!(s.cap(d2), Cap::CNode { radix: 3, guard_size: 1, guard: 1, .. }));
    assert_eq!(s.cap(cn), Cap::Null);
    assert!(is_mdb_parent_of(s.slot(s.ut), s.slot(d2)));
}

#[test]
fn delete_and_revoke() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let b1 = s.mint(ep, CapRights::all(), 1);
    let b1c = s.copy(b1, CapRights::all());
    let b2 = s.mint(ep, CapRights::all(), 2);
    let plain = s.copy(ep, CapRights::all());
    // Revoking a badged cap deletes its copies only.
    s.ok(CNODE, CNodeRevoke, &[b1, 64], &[]);
    assert_eq!(s.cap(b1c), Cap::Null);
    assert!(matches!(s.cap(b1), Cap::Endpoint { badge: 1, .. }));
    assert!(matches!(s.cap(b2), Cap::Endpoint { badge: 2, .. }));
    // Revoking the original deletes every cap derived from it; copies of
    // a non-original cap are siblings and stay.
    let sibling = s.copy(plain, CapRights::all());
    s.ok(CNODE, CNodeRevoke, &[plain, 64], &[]);
    assert!(matches!(s.cap(sibling), Cap::Endpoint { .. }));
    s.ok(CNODE, CNodeRevoke, &[ep, 64], &[]);
    assert_eq!(s.cap(b1), Cap::Null);
    assert_eq!(s.cap(b2), Cap::Null);
    assert_eq!(s.cap(plain), Cap::Null);
    assert_eq!(s.cap(sibling), Cap::Null);
    assert!(matches!(s.cap(ep), Cap::Endpoint { .. }));
    s.ok(CNODE, CNodeDelete, &[ep, 64], &[]);
    assert_eq!(s.cap(ep), Cap::Null);
    // Deleting an empty slot is fine; revoking one too.
    s.ok(CNODE, CNodeDelete, &[ep, 64], &[]);
    s.ok(CNODE, CNodeRevoke, &[ep, 64], &[]);
    // Invoking the deleted cap: InvalidCapability.
    assert_eq!(
        s.invoke(ep, CNodeDelete, &[0, 64], &[]).unwrap_err(),
        (Error::InvalidCapability, vec![0])
    );
}

#[test]
fn rotate() {
    let mut s = Sys::boot();
    // Rotate moves caps with new data (preserving badges): endpoints and
    // notifications cannot take new data that way, frames and CNodes can.
    let a = s.retype(ObjectType::SmallPage, 0, 1);
    let b = s.retype(ObjectType::CapTable, 2, 1);
    let dest = s.alloc_slot();
    // pivot b -> dest (with guard data), source a -> pivot.
    s.ok(CNODE, CNodeRotate, &[dest, 64, (1 << 6) | 1, b, 64, 0, a, 64], &[CNODE, CNODE]);
    assert!(matches!(s.cap(dest), Cap::CNode { guard_size: 1, guard: 1, .. }));
    assert!(matches!(s.cap(b), Cap::Frame { .. }));
    assert_eq!(s.cap(a), Cap::Null);
    // Swap: source == destination.
    s.ok(CNODE, CNodeRotate, &[dest, 64, 0, b, 64, 0, dest, 64], &[CNODE, CNODE]);
    assert!(matches!(s.cap(dest), Cap::Frame { .. }));
    assert!(matches!(s.cap(b), Cap::CNode { guard_size: 0, .. }));
    assert!(is_mdb_parent_of(s.slot(s.ut), s.slot(b)));
    // Pivot may not be the source or destination.
    let r = s.invoke(CNODE, CNodeRotate, &[dest, 64, 0, dest, 64, 0, b, 64], &[CNODE, CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    // An empty pivot.
    let e = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeRotate, &[dest, 64, 0, e, 64, 0, dest, 64], &[CNODE, CNODE]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 2, 64]));
    // Endpoints refuse new data.
    let ep = s.endpoint();
    let r = s.invoke(CNODE, CNodeRotate, &[dest, 64, 0, b, 64, 0, ep, 64], &[CNODE, CNODE]);
    assert_eq!(r.unwrap_err().0, Error::DeleteFirst);
    let d2 = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeRotate, &[d2, 64, 0, b, 64, 0, ep, 64], &[CNODE, CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    assert_eq!(
        s.err(CNODE, CNodeRotate, &[dest, 64, 0, b, 64, 0, dest], &[CNODE, CNODE]),
        Error::TruncatedMessage
    );
    assert_eq!(
        s.err(CNODE, CNodeRotate, &[dest, 64, 0, b, 64, 0, dest, 64], &[CNODE]),
        Error::TruncatedMessage
    );
}

#[test]
fn cnode_error_paths() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let d = s.alloc_slot();
    // Labels of other objects.
    assert_eq!(s.err(CNODE, TcbSuspend, &[d, 64], &[]), Error::IllegalOperation);
    assert_eq!(s.err(CNODE, UntypedRetype, &[d, 64], &[]), Error::IllegalOperation);
    // Truncated messages.
    assert_eq!(s.err(CNODE, CNodeDelete, &[d], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(CNODE, CNodeCopy, &[d, 64, ep, 64], &[CNODE]), Error::TruncatedMessage);
    assert_eq!(s.err(CNODE, CNodeCopy, &[d, 64, ep, 64, 0xf], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(CNODE, CNodeMint, &[d, 64, ep, 64, 0xf], &[CNODE]), Error::TruncatedMessage);
    assert_eq!(s.err(CNODE, CNodeMutate, &[d, 64, ep, 64], &[CNODE]), Error::TruncatedMessage);
    // Depth out of range.
    let r = s.invoke(CNODE, CNodeDelete, &[d, 0], &[]);
    assert_eq!(r.unwrap_err(), (Error::RangeError, vec![1, 64]));
    let r = s.invoke(CNODE, CNodeDelete, &[d, 65], &[]);
    assert_eq!(r.unwrap_err(), (Error::RangeError, vec![1, 64]));
    // Guard mismatch: index bits above the radix must be 0.
    let r = s.invoke(CNODE, CNodeDelete, &[d | 1 << 20, 64], &[]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 4, 64, 0, 51]));
    // Depth too small for the guard.
    let r = s.invoke(CNODE, CNodeDelete, &[d, 13], &[]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 4, 13, 0, 51]));
    // Destination not empty.
    let r = s.invoke(CNODE, CNodeCopy, &[ep, 64, ep, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::DeleteFirst);
    // Source empty.
    let empty = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, empty, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![1, 2, 64]));
    // Source root not a CNode.
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, ep, 64, 0xf], &[ep]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![1, 1]));
    // Uncopyable caps.
    let irqc = InitialCap::IrqControl as u64;
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, irqc, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    // A reply cap (the root's own master, via a CNode on the TCB? no: a
    // saved caller) is checked in the IPC tests. An unassigned VSpace and
    // an unmapped page table cannot be copied.
    let vs = s.retype(ObjectType::VSpace, 0, 1);
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, vs, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    let pt = s.retype(ObjectType::PageTable, 0, 1);
    let r = s.invoke(CNODE, CNodeCopy, &[d, 64, pt, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::IllegalOperation);
    // CancelBadgedSends needs a full-rights endpoint cap.
    let ro = s.copy(ep, CapRights::read_only());
    assert_eq!(s.err(CNODE, CNodeCancelBadgedSends, &[ro, 64], &[]), Error::IllegalOperation);
    assert_eq!(s.err(CNODE, CNodeCancelBadgedSends, &[d, 64], &[]), Error::IllegalOperation);
    s.ok(CNODE, CNodeCancelBadgedSends, &[ep, 64], &[]);
    assert_eq!(s.cap(d), Cap::Null);
}

#[test]
fn mapped_frame_copies_are_unmapped() {
    let mut s = Sys::boot();
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    s.map(f, BUFFER_VADDR + 0x8_0000, 0xf, 1);
    let c = s.copy(f, CapRights::read_only());
    assert!(matches!(s.cap(c), Cap::Frame { mapped: None, rights: crate::VmRights::ReadOnly, .. }));
    let w = s.copy(f, CapRights::write_only());
    assert!(matches!(s.cap(w), Cap::Frame { rights: crate::VmRights::KernelOnly, .. }));
}

#[test]
fn guarded_cnode_addressing() {
    let mut s = Sys::boot();
    // A 16-slot CNode with a 3-bit guard 0b101: as a root, a 7-bit address
    // is the guard then the index.
    let cn = s.retype(ObjectType::CapTable, 4, 1);
    let g = s.mint(cn, CapRights::all(), (0b101 << 6) | 3);
    let ep = s.endpoint();
    s.ok(g, CNodeCopy, &[(0b101 << 4) | 6, 7, ep, 64, 0xf], &[CNODE]);
    let Cap::CNode { ptr, .. } = s.cap(cn) else { panic!() };
    assert!(matches!(SlotRef::at(ptr, 6).cap(), Cap::Endpoint { .. }));
    // A wrong guard.
    let r = s.invoke(g, CNodeDelete, &[(0b100 << 4) | 6, 7], &[]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 4, 7, 0b101, 3]));
    // A depth that does not reach the end of the level.
    let r = s.invoke(g, CNodeDelete, &[(0b101 << 4) | 6, 5], &[]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 3, 5, 7]));
    // One bit more than the level: slot 6 holds no CNode, one bit is left.
    let r = s.invoke(g, CNodeDelete, &[((0b101 << 4) | 6) << 1, 8], &[]);
    assert_eq!(r.unwrap_err(), (Error::FailedLookup, vec![0, 3, 1, 0]));
    // A full 64-bit lookup stops at the first slot without a CNode.
    let cptr = ((0b101 << 4) | 6) << 57;
    let r = crate::cspace::resolve_address_bits(&s.cap(g), cptr, 64).expect("resolves");
    assert_eq!(r.slot, SlotRef::at(ptr, 6));
    assert_eq!(r.bits_remaining, 57);
}

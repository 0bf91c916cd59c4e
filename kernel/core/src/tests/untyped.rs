//! Untyped Retype: every object type, the argument checks, carving order,
//! reset, device untypeds.

use super::*;
use crate::Tcb;
use InvocationLabel::{CNodeCopy, CNodeDelete, CNodeRevoke, UntypedRetype};

const CNODE: u64 = InitialCap::InitThreadCNode as u64;

/// Retype args into slot `dest` (depth 0: the root CNode itself).
fn args(t: u64, bits: u64, dest: u64, n: u64) -> [u64; 6] {
    [t, bits, 0, 0, dest, n]
}

/// A fresh untyped of 2^bits carved from the test untyped.
fn small_untyped(s: &mut Sys, bits: u64) -> u64 {
    s.retype(ObjectType::Untyped, bits, 1)
}

#[test]
fn retype_every_type() {
    let mut s = Sys::boot();
    let cases: &[(ObjectType, u64, u64)] = &[
        (ObjectType::Untyped, 12, 12),
        (ObjectType::Tcb, 0, 11),
        (ObjectType::Endpoint, 0, 4),
        (ObjectType::Notification, 0, 5),
        (ObjectType::CapTable, 4, 10),
        (ObjectType::VSpace, 0, 12),
        (ObjectType::SmallPage, 0, 12),
        (ObjectType::LargePage, 0, 21),
        (ObjectType::PageTable, 0, 12),
        (ObjectType::Vcpu, 0, 12),
    ];
    for &(t, bits, obj_bits) in cases {
        let i = s.retype(t, bits, 1);
        let cap = s.cap(i);
        assert_eq!(cap.obj_size_bits(), obj_bits, "{t:?}");
        assert_eq!(cap.obj_ptr() % (1 << obj_bits), 0, "{t:?} aligned");
        match (t, cap) {
            (ObjectType::Untyped, Cap::Untyped { free_index: 0, device: false, .. })
            | (ObjectType::Endpoint, Cap::Endpoint { badge: 0, .. })
            | (ObjectType::Notification, Cap::Notification { badge: 0, .. })
            | (ObjectType::CapTable, Cap::CNode { radix: 4, guard_size: 0, .. })
            | (ObjectType::VSpace, Cap::VSpace { asid: None, .. })
            | (ObjectType::SmallPage, Cap::Frame { size_bits: 12, mapped: None, .. })
            | (ObjectType::LargePage, Cap::Frame { size_bits: 21, mapped: None, .. })
            | (ObjectType::PageTable, Cap::PageTable { mapped: None, .. })
            | (ObjectType::Vcpu, Cap::Vcpu { .. }) => {}
            (ObjectType::Tcb, Cap::Tcb { ptr }) => {
                let t: &Tcb = TcbRef(ptr).get();
                assert_eq!(t.state, ThreadState::Inactive);
                assert_eq!((t.priority, t.mcp), (0, 0));
                assert_eq!(t.time_slice, crate::TIME_SLICE_TICKS);
                for j in 0..5 {
                    assert_eq!(TcbRef(ptr).slot(j).cap(), Cap::Null);
                }
            }
            _ => panic!("{t:?} made {cap:?}"),
        }
        // Every child is in the derivation tree under the untyped.
        assert!(crate::cdt::is_mdb_parent_of(s.slot(s.ut), s.slot(i)));
    }
    assert_eq!(
        s.err(s.ut, UntypedRetype, &args(ObjectType::HugePage as u64, 0, 900, 1), &[CNODE]),
        Error::InvalidArgument
    );
}

#[test]
fn objects_are_zeroed() {
    let mut s = Sys::boot();
    let ut = small_untyped(&mut s, 14);
    let f = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(ObjectType::Endpoint as u64, 0, f, 1), &[CNODE]);
    s.ok(CNODE, CNodeDelete, &[f, 64], &[]);
    s.ok(ut, UntypedRetype, &args(ObjectType::SmallPage as u64, 0, f, 1), &[CNODE]);
    let Cap::Frame { paddr, .. } = s.cap(f) else { panic!() };
    // SAFETY: the frame is in the arena.
    unsafe { (paddr as *mut u64).write(0xdead) };
    s.ok(CNODE, CNodeRevoke, &[ut, 64], &[]);
    let again = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(ObjectType::SmallPage as u64, 0, again, 1), &[CNODE]);
    let Cap::Frame { paddr: p2, .. } = s.cap(again) else { panic!() };
    assert_eq!(p2, paddr, "reset starts from the beginning");
    // SAFETY: as above.
    assert_eq!(unsafe { (p2 as *const u64).read() }, 0);
}

#[test]
fn argument_errors() {
    let mut s = Sys::boot();
    let ut = s.ut;
    let dest = s.next_slot;
    let e = |s: &mut Sys, a: [u64; 6]| s.invoke(ut, UntypedRetype, &a, &[CNODE]).unwrap_err();
    assert_eq!(e(&mut s, args(11, 0, dest, 1)), (Error::InvalidArgument, vec![0]));
    assert_eq!(e(&mut s, args(0, 64, dest, 1)), (Error::RangeError, vec![0, 47]));
    assert_eq!(e(&mut s, args(0, 48, dest, 1)), (Error::RangeError, vec![0, 47]));
    assert_eq!(e(&mut s, args(4, 42, dest, 1)), (Error::RangeError, vec![0, 47]));
    assert_eq!(e(&mut s, args(4, 0, dest, 1)), (Error::InvalidArgument, vec![1]));
    assert_eq!(e(&mut s, args(0, 3, dest, 1)), (Error::InvalidArgument, vec![1]));
    assert_eq!(e(&mut s, args(2, 0, 8192, 1)), (Error::RangeError, vec![0, 8191]));
    assert_eq!(e(&mut s, args(2, 0, dest, 0)), (Error::RangeError, vec![1, 256]));
    assert_eq!(e(&mut s, args(2, 0, dest, 257)), (Error::RangeError, vec![1, 256]));
    assert_eq!(e(&mut s, args(2, 0, 8190, 3)), (Error::RangeError, vec![1, 2]));
    // Destination slots must be empty.
    assert_eq!(e(&mut s, args(2, 0, 1, 1)).0, Error::DeleteFirst);
    // A node path that is not a CNode: depth 64 to the TCB cap.
    let bad = [2, 0, InitialCap::InitThreadTcb as u64, 64, 0, 1];
    assert_eq!(e(&mut s, bad), (Error::FailedLookup, vec![0, 2, 64]));
    // A bad depth for the node path.
    let bad = [2, 0, InitialCap::InitThreadCNode as u64, 65, 0, 1];
    assert_eq!(e(&mut s, bad), (Error::RangeError, vec![1, 64]));
    // Truncated: five words, or no root cap.
    assert_eq!(s.err(ut, UntypedRetype, &[2, 0, 0, 0, dest], &[CNODE]), Error::TruncatedMessage);
    assert_eq!(s.err(ut, UntypedRetype, &args(2, 0, dest, 1), &[]), Error::TruncatedMessage);
    // The root cap is not a CNode.
    let e2 = s.invoke(ut, UntypedRetype, &args(2, 0, dest, 1), &[InitialCap::InitThreadTcb as u64]);
    assert_eq!(e2.unwrap_err(), (Error::FailedLookup, vec![0, 2, 0]));
    // Another label.
    assert_eq!(s.err(ut, CNodeCopy, &args(2, 0, dest, 1), &[CNODE]), Error::IllegalOperation);
    // Nothing was created.
    assert_eq!(s.cap(dest), Cap::Null);
}

#[test]
fn not_enough_memory_reports_bytes_left() {
    let mut s = Sys::boot();
    let ut = small_untyped(&mut s, 13);
    let dest = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(ObjectType::Endpoint as u64, 0, dest, 1), &[CNODE]);
    let d2 = s.alloc_slot();
    let r = s.invoke(ut, UntypedRetype, &args(ObjectType::SmallPage as u64, 0, d2, 2), &[CNODE]);
    assert_eq!(r.unwrap_err(), (Error::NotEnoughMemory, vec![8192 - 16]));
    // One page still fits, aligned after the endpoint.
    s.ok(ut, UntypedRetype, &args(ObjectType::SmallPage as u64, 0, d2, 1), &[CNODE]);
    let Cap::Untyped { base, .. } = s.cap(ut) else { panic!() };
    assert_eq!(s.cap(d2).obj_ptr(), base + 4096);
    assert!(matches!(s.cap(ut), Cap::Untyped { free_index: 8192, .. }));
}

#[test]
fn carving_order_and_alignment() {
    let mut s = Sys::boot();
    let ut = small_untyped(&mut s, 16);
    let Cap::Untyped { base, .. } = s.cap(ut) else { panic!() };
    let mut last_end = base;
    for (t, bits) in [(2, 0), (1, 0), (3, 0), (7, 0), (2, 0), (4, 3), (9, 0)] {
        let d = s.alloc_slot();
        s.ok(ut, UntypedRetype, &args(t, bits, d, 1), &[CNODE]);
        let c = s.cap(d);
        let (p, size) = (c.obj_ptr(), 1u64 << c.obj_size_bits());
        assert!(p >= last_end, "objects in order");
        assert_eq!(p % size, 0);
        last_end = p + size;
        assert!(
            matches!(s.cap(ut), Cap::Untyped { free_index, .. } if free_index == last_end - base)
        );
    }
    // Many at once, in consecutive slots.
    let d = s.next_slot;
    s.next_slot += 4;
    s.ok(ut, UntypedRetype, &args(2, 0, d, 4), &[CNODE]);
    for i in 0..4 {
        assert_eq!(s.cap(d + i).obj_ptr(), last_end + 16 * i);
    }
}

#[test]
fn retype_into_another_cnode() {
    let mut s = Sys::boot();
    let cn = s.retype(ObjectType::CapTable, 4, 1);
    // The CNode at slot `cn`, depth 64: objects go into it.
    s.ok(s.ut, UntypedRetype, &[2, 0, cn, 64, 3, 2], &[CNODE]);
    let Cap::CNode { ptr, .. } = s.cap(cn) else { panic!() };
    assert!(matches!(SlotRef::at(ptr, 3).cap(), Cap::Endpoint { .. }));
    assert!(matches!(SlotRef::at(ptr, 4).cap(), Cap::Endpoint { .. }));
    let r = s.invoke(s.ut, UntypedRetype, &[2, 0, cn, 64, 15, 2], &[CNODE]);
    assert_eq!(r.unwrap_err(), (Error::RangeError, vec![1, 1]));
}

#[test]
fn reset_only_without_children() {
    let mut s = Sys::boot();
    let ut = small_untyped(&mut s, 12);
    let a = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(2, 0, a, 1), &[CNODE]);
    let b = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(2, 0, b, 1), &[CNODE]);
    let (pa, pb) = (s.cap(a).obj_ptr(), s.cap(b).obj_ptr());
    assert_eq!(pb, pa + 16);
    // Deleting one child: the next retype continues after the free index.
    s.ok(CNODE, CNodeDelete, &[a, 64], &[]);
    let c = s.alloc_slot();
    s.ok(ut, UntypedRetype, &args(2, 0, c, 1), &[CNODE]);
    assert_eq!(s.cap(c).obj_ptr(), pb + 16);
    // Revoke deletes every child; the next retype starts over.
    s.ok(CNODE, CNodeRevoke, &[ut, 64], &[]);
    assert_eq!(s.cap(b), Cap::Null);
    assert_eq!(s.cap(c), Cap::Null);
    s.ok(ut, UntypedRetype, &args(2, 0, a, 1), &[CNODE]);
    assert_eq!(s.cap(a).obj_ptr(), pa);
}

#[test]
fn untyped_copies() {
    let mut s = Sys::boot();
    let ut = small_untyped(&mut s, 12);
    // A copy of an untyped without children is its child, and the
    // original becomes full.
    let copy = s.copy(ut, CapRights::all());
    assert!(crate::cdt::is_mdb_parent_of(s.slot(ut), s.slot(copy)));
    let d = s.alloc_slot();
    let r = s.invoke(ut, UntypedRetype, &args(2, 0, d, 1), &[CNODE]);
    assert_eq!(r.unwrap_err(), (Error::NotEnoughMemory, vec![0]));
    s.ok(copy, UntypedRetype, &args(2, 0, d, 1), &[CNODE]);
    // Copying an untyped with children is refused.
    let dest = s.alloc_slot();
    let r = s.invoke(CNODE, CNodeCopy, &[dest, 64, copy, 64, 0xf], &[CNODE]);
    assert_eq!(r.unwrap_err().0, Error::RevokeFirst);
}

#[test]
fn device_untypeds() {
    let mut s = Sys::boot();
    let bi = s.bootinfo();
    let i = bi.untypeds().iter().position(|u| u.is_device != 0 && u.size_bits == 21).unwrap();
    let dev = bi.untyped.start + i as u64;
    let d = s.alloc_slot();
    assert_eq!(
        s.invoke(dev, UntypedRetype, &args(2, 0, d, 1), &[CNODE]).unwrap_err(),
        (Error::InvalidArgument, vec![1])
    );
    assert_eq!(s.err(dev, UntypedRetype, &args(1, 0, d, 1), &[CNODE]), Error::InvalidArgument);
    s.ok(dev, UntypedRetype, &args(ObjectType::SmallPage as u64, 0, d, 1), &[CNODE]);
    assert!(matches!(s.cap(d), Cap::Frame { device: true, paddr: 0x1000_0000, .. }));
    let d2 = s.alloc_slot();
    s.ok(dev, UntypedRetype, &args(0, 12, d2, 1), &[CNODE]);
    assert!(matches!(s.cap(d2), Cap::Untyped { device: true, base: 0x1000_1000, .. }));
}

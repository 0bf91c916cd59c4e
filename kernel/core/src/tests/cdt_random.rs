//! Derivation-tree invariants: random sequences of CNode and Retype
//! operations, CNodes that hold caps to themselves, deep chains of CNodes.
//!
//! After every step: the tree's links are consistent, every cap to an
//! object in the test untyped is its descendant (no dangling caps), objects
//! never overlap, rights never grow; after revoking the untyped nothing
//! refers to its memory.

use super::*;
use crate::cdt::is_mdb_parent_of;
use crate::{Cte, Mdb};
use InvocationLabel::*;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;
/// The window of root slots the random test works in.
const WINDOW: u64 = 48;

/// Every slot reachable from the root CNode window, and the slots of the
/// CNodes named there (one level), deduplicated.
fn tracked_slots(s: &Sys, first: u64) -> Vec<SlotRef> {
    let mut v: Vec<SlotRef> = (first..first + WINDOW).map(|i| s.slot(i)).collect();
    v.push(s.slot(s.ut));
    let mut extra = vec![];
    for sl in &v {
        if let Cap::CNode { ptr, radix, .. } = sl.cap() {
            for i in 0..1u64 << radix {
                extra.push(SlotRef::at(ptr, i));
            }
        }
    }
    v.extend(extra);
    v.sort_by_key(|s| s.0);
    v.dedup();
    v
}

fn check_links(slots: &[SlotRef]) {
    for &sl in slots {
        let Cte { cap, mdb } = *sl.get();
        if cap == Cap::Null {
            assert_eq!(mdb, Mdb::default(), "empty slot {:#x} has links", sl.0);
            continue;
        }
        if let Some(p) = SlotRef::link(mdb.prev) {
            assert_eq!(p.mdb().next, sl.0, "prev link");
            assert_ne!(p.cap(), Cap::Null);
        }
        if let Some(n) = SlotRef::link(mdb.next) {
            assert_eq!(n.mdb().prev, sl.0, "next link");
            assert_ne!(n.cap(), Cap::Null);
        }
    }
}

/// The slots of the untyped's descendants.
fn descendants(ut: SlotRef) -> Vec<SlotRef> {
    let mut v = vec![];
    let mut n = SlotRef::link(ut.mdb().next);
    while let Some(sl) = n {
        if !is_mdb_parent_of(ut, sl) {
            break;
        }
        v.push(sl);
        n = SlotRef::link(sl.mdb().next);
    }
    v
}

fn region(c: &Cap) -> (u64, u64) {
    (c.obj_ptr(), c.obj_ptr() + (1 << c.obj_size_bits()))
}

fn check_objects(s: &Sys, slots: &[SlotRef]) {
    let ut = s.slot(s.ut);
    let (lo, hi) = region(&ut.cap());
    let desc = descendants(ut);
    let mut objects = vec![];
    for &sl in slots {
        let cap = sl.cap();
        if sl == ut || !cap.is_physical() {
            continue;
        }
        let (a, b) = region(&cap);
        if a >= lo && b <= hi {
            assert!(desc.contains(&sl), "cap {cap:?} in {:#x} is not under the untyped", sl.0);
            if !matches!(cap, Cap::Untyped { .. }) {
                objects.push(cap);
            }
        }
    }
    for (i, a) in objects.iter().enumerate() {
        for b in &objects[i + 1..] {
            let (ra, rb) = (region(a), region(b));
            assert!(!matches!(a, Cap::Zombie { .. }), "a zombie outlived its deletion");
            let same = ra == rb && a.same_object_as(b);
            assert!(same || ra.1 <= rb.0 || rb.1 <= ra.0, "{a:?} overlaps {b:?}");
        }
    }
}

fn rights_of(c: &Cap) -> Option<u64> {
    match c {
        Cap::Endpoint { rights, .. } | Cap::Notification { rights, .. } => Some(rights.0),
        _ => None,
    }
}

#[test]
fn random_operations_keep_the_tree_sound() {
    for seed in 1..=6u64 {
        let mut s = Sys::boot();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let first = s.next_slot;
        s.next_slot += WINDOW;
        // Work in a 1 MiB untyped of our own.
        s.ok(s.ut, UntypedRetype, &[0, 20, 0, 0, first, 1], &[CNODE]);
        s.ut = first;
        let slot = |rng: &mut Rng| first + 1 + rng.below(WINDOW - 1);
        for _step in 0..300 {
            let (a, b) = (slot(&mut rng), slot(&mut rng));
            let src_cap = s.cap(b);
            match rng.below(9) {
                0 | 1 => {
                    let types = [2u64, 3, 4, 7, 0, 1, 9];
                    let t = types[rng.below(types.len() as u64) as usize];
                    let bits = match t {
                        4 => 1 + rng.below(3),
                        0 => 4 + rng.below(9),
                        _ => 0,
                    };
                    let _ = s.invoke(s.ut, UntypedRetype, &[t, bits, 0, 0, a, 1], &[CNODE]);
                }
                2 => {
                    let r = rng.below(16);
                    if s.invoke(CNODE, CNodeCopy, &[a, 64, b, 64, r], &[CNODE]).is_ok()
                        && let (Some(old), Some(new)) = (rights_of(&src_cap), rights_of(&s.cap(a)))
                    {
                        assert_eq!(new & !old, 0, "rights grew");
                        assert_eq!(new, old & r);
                    }
                }
                3 => {
                    let (r, badge) = (rng.below(16), rng.below(4));
                    if s.invoke(CNODE, CNodeMint, &[a, 64, b, 64, r, badge], &[CNODE]).is_ok()
                        && let (Some(old), Some(new)) = (rights_of(&src_cap), rights_of(&s.cap(a)))
                    {
                        assert_eq!(new & !old, 0, "rights grew");
                    }
                }
                4 => {
                    let _ = s.invoke(CNODE, CNodeMove, &[a, 64, b, 64], &[CNODE]);
                }
                5 => {
                    let _ = s.invoke(CNODE, CNodeMutate, &[a, 64, b, 64, rng.below(3)], &[CNODE]);
                }
                6 => {
                    s.ok(CNODE, CNodeDelete, &[a, 64], &[]);
                }
                7 => {
                    s.ok(CNODE, CNodeRevoke, &[a, 64], &[]);
                }
                _ => {
                    // Copy a cap into a CNode in the window, if one is there.
                    if let Cap::CNode { radix, .. } = s.cap(a) {
                        let idx = rng.below(1 << radix);
                        let _ = s.invoke(a, CNodeCopy, &[idx, radix as u64, b, 64, 0xf], &[CNODE]);
                    }
                }
            }
            let slots = tracked_slots(&s, first);
            check_links(&slots);
            check_objects(&s, &slots);
        }
        // Revoking the untyped leaves nothing that refers to its memory.
        let (lo, hi) = region(&s.cap(s.ut));
        s.ok(CNODE, CNodeRevoke, &[s.ut, 64], &[]);
        for i in first + 1..first + WINDOW {
            let c = s.cap(i);
            if c.is_physical() {
                let (a, b) = region(&c);
                assert!(b <= lo || a >= hi, "dangling {c:?}");
            }
        }
        check_links(&tracked_slots(&s, first));
        // And the whole untyped is usable again.
        s.ok(s.ut, UntypedRetype, &[0, 19, 0, 0, first + 1, 2], &[CNODE]);
    }
}

#[test]
fn cnode_holding_its_own_cap() {
    let mut s = Sys::boot();
    let ut = s.retype(ObjectType::Untyped, 16, 1);
    let x = s.alloc_slot();
    s.ok(ut, UntypedRetype, &[ObjectType::CapTable as u64, 2, 0, 0, x, 1], &[CNODE]);
    let ep = s.alloc_slot();
    s.ok(ut, UntypedRetype, &[ObjectType::Endpoint as u64, 0, 0, 0, ep, 1], &[CNODE]);
    // X[1] = a copy of X; X[2] = the endpoint (moved in); then the root's
    // cap to X moves into X[3]: X is reachable only through itself.
    s.ok(x, CNodeCopy, &[1, 2, x, 64, 0xf], &[CNODE]);
    s.ok(x, CNodeMove, &[2, 2, ep, 64], &[CNODE]);
    s.ok(x, CNodeMove, &[3, 2, x, 64], &[CNODE]);
    assert_eq!(s.cap(x), Cap::Null);
    // Revoking the untyped destroys X, its self caps and the endpoint.
    s.ok(CNODE, CNodeRevoke, &[ut, 64], &[]);
    let d = descendants(s.slot(ut));
    assert!(d.is_empty(), "left: {:?}", d.iter().map(|x| (x.0, x.cap())).collect::<Vec<_>>());
    let Cap::Untyped { base, .. } = s.cap(ut) else { panic!() };
    for i in 0..4 {
        assert_eq!(SlotRef::at(base, i).cap(), Cap::Null);
    }
    // A CNode whose only cap is in its own first slot, deleted by the
    // user through another path.
    let y = s.alloc_slot();
    s.ok(ut, UntypedRetype, &[ObjectType::CapTable as u64, 2, 0, 0, y, 1], &[CNODE]);
    let y2 = s.copy(y, CapRights::all());
    s.ok(y, CNodeMove, &[0, 2, y2, 64], &[CNODE]);
    s.ok(CNODE, CNodeDelete, &[y, 64], &[]);
    s.ok(CNODE, CNodeRevoke, &[ut, 64], &[]);
    assert!(descendants(s.slot(ut)).is_empty());
}

#[test]
fn deleting_a_cnode_with_its_final_cap_inside_another() {
    let mut s = Sys::boot();
    let a = s.retype(ObjectType::CapTable, 2, 1);
    let b = s.retype(ObjectType::CapTable, 2, 1);
    let ep = s.endpoint();
    s.ok(b, CNodeMove, &[0, 2, ep, 64], &[CNODE]);
    s.ok(a, CNodeMove, &[3, 2, b, 64], &[CNODE]);
    let Cap::CNode { ptr: pa, .. } = s.cap(a) else { panic!() };
    let Cap::CNode { ptr: pb, .. } = SlotRef::at(pa, 3).cap() else { panic!() };
    s.ok(CNODE, CNodeDelete, &[a, 64], &[]);
    assert_eq!(s.cap(a), Cap::Null);
    for i in 0..4 {
        assert_eq!(SlotRef::at(pa, i).cap(), Cap::Null);
        assert_eq!(SlotRef::at(pb, i).cap(), Cap::Null);
    }
}

#[test]
fn deep_cnode_chain() {
    let mut s = Sys::boot();
    const N: u64 = 500;
    // C0 .. C(N-1) in root slots; then C(i)'s cap moves into C(i-1)[0],
    // from the end: only C0 stays in the root, each holding the final cap
    // of the next. Deleting C0 destroys the whole chain without deep
    // recursion.
    let first = s.retype(ObjectType::CapTable, 1, 250);
    s.retype(ObjectType::CapTable, 1, N - 250);
    let ptrs: Vec<u64> = (0..N).map(|i| s.cap(first + i).obj_ptr()).collect();
    for i in (1..N).rev() {
        s.ok(first + i - 1, CNodeMove, &[0, 1, first + i, 64], &[CNODE]);
    }
    for &p in &ptrs[..N as usize - 1] {
        assert!(matches!(SlotRef::at(p, 0).cap(), Cap::CNode { .. }));
    }
    s.ok(CNODE, CNodeDelete, &[first, 64], &[]);
    for &p in &ptrs {
        assert_eq!(SlotRef::at(p, 0).cap(), Cap::Null);
    }
    // Only the test's page table is left under the untyped.
    let d = descendants(s.slot(s.ut));
    assert_eq!(d.len(), 1, "{:?}", d.iter().map(|x| x.cap()).collect::<Vec<_>>());
}

#[test]
fn nested_objects_are_finalised() {
    let mut s = Sys::boot();
    let e = s.endpoint();
    let (tt, t) = s.new_thread(100);
    s.resume(tt);
    super::ipc::waker(&mut s);
    let park = super::ipc::park(&mut s);
    s.expect_current(t);
    s.syscall(Syscall::Recv, e, 0, &[], &[]);
    assert_eq!(t.state(), ThreadState::BlockedOnReceive);
    super::ipc::unpark(&mut s, park);
    // A holds B's only cap, B holds the endpoint's only cap.
    let a = s.retype(ObjectType::CapTable, 2, 1);
    let b = s.retype(ObjectType::CapTable, 2, 1);
    s.ok(b, CNodeMove, &[1, 2, e, 64], &[CNODE]);
    s.ok(a, CNodeMove, &[2, 2, b, 64], &[CNODE]);
    s.ok(CNODE, CNodeDelete, &[a, 64], &[]);
    assert_eq!(t.state(), ThreadState::Restart, "the waiter was woken");
    assert!(descendants(s.slot(s.ut)).iter().all(|sl| !matches!(sl.cap(), Cap::Zombie { .. })));
}

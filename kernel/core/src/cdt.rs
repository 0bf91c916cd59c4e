//! The capability derivation tree (seL4's mapping database, `cnode.c`).
//!
//! Every slot holding a cap is on one doubly linked list in which each
//! cap's descendants directly follow it. Whether `b` (after `a`) is a child
//! of `a` is decided by [`is_mdb_parent_of`]: `a` must be revocable
//! (original), name the same region, and for badged endpoints and
//! notifications carry the same badge with `b` not the first of its badge.
//! The rule this module keeps: a cap is inserted directly after the cap it
//! was derived from, so revoking a cap deletes exactly the run of its
//! descendants that follows it.

use crate::cap::{Cap, Cte, Mdb, SlotRef};
use crate::error::{SysResult, SyscallError};
use crate::tcb::{TCB_REPLY, TcbRef};

/// Whether the cap in `b` is a child of the cap in `a` (seL4's
/// `isMDBParentOf`); `b` must directly or transitively follow `a`.
pub(crate) fn is_mdb_parent_of(a: SlotRef, b: SlotRef) -> bool {
    let (ca, ma) = (a.cap(), a.mdb());
    let (cb, mb) = (b.cap(), b.mdb());
    if !ma.revocable || !ca.same_region_as(&cb) {
        return false;
    }
    match ca {
        Cap::Endpoint { badge, .. } | Cap::Notification { badge, .. } => {
            badge == 0 || (badge == cb.badge() && !mb.first_badged)
        }
        _ => true,
    }
}

/// `RevokeFirst` if the cap in `slot` has children (seL4's
/// `ensureNoChildren`).
pub(crate) fn ensure_no_children(slot: SlotRef) -> SysResult {
    match SlotRef::link(slot.mdb().next) {
        Some(next) if is_mdb_parent_of(slot, next) => Err(SyscallError::RevokeFirst),
        _ => Ok(()),
    }
}

/// `DeleteFirst` unless `slot` is empty (seL4's `ensureEmptySlot`).
pub(crate) fn ensure_empty_slot(slot: SlotRef) -> SysResult {
    if slot.cap() == Cap::Null { Ok(()) } else { Err(SyscallError::DeleteFirst) }
}

/// Whether no other cap names the object of the cap in `slot` (seL4's
/// `isFinalCapability`): caps to one object are always adjacent.
pub(crate) fn is_final_capability(slot: SlotRef) -> bool {
    // By reference throughout: a whole-cap copy costs a memcpy.
    let cte = slot.get();
    let (cap, mdb) = (&cte.cap, cte.mdb);
    if let Some(prev) = SlotRef::link(mdb.prev)
        && prev.get().cap.same_object_as(cap)
    {
        return false;
    }
    match SlotRef::link(mdb.next) {
        Some(next) => !cap.same_object_as(&next.get().cap),
        None => true,
    }
}

/// The cap a copy of `cap` (from `slot`) becomes, or an error (seL4's
/// `deriveCap`): `Null` for caps that cannot be copied (IRQ control,
/// reply caps, zombies), an unmapped copy of a frame, an untyped only when
/// it has no children, page tables and VSpaces only once mapped/assigned.
pub(crate) fn derive_cap(slot: SlotRef, cap: Cap) -> SysResult<Cap> {
    match cap {
        Cap::Zombie { .. } | Cap::IrqControl | Cap::Reply { .. } => Ok(Cap::Null),
        Cap::Untyped { .. } => ensure_no_children(slot).map(|()| cap),
        Cap::VSpace { asid: None, .. } | Cap::PageTable { mapped: None, .. } => {
            Err(SyscallError::IllegalOperation)
        }
        Cap::Frame { size_bits, rights, device, paddr, .. } => {
            Ok(Cap::Frame { size_bits, rights, device, paddr, mapped: None })
        }
        c => Ok(c),
    }
}

/// Puts `new` into the empty slot `dest` as a child (or sibling) of the cap
/// in `src` (seL4's `cteInsert`). Copying an untyped with no children makes
/// the original full, so that only the copy can be retyped.
pub(crate) fn cte_insert(new: Cap, src: SlotRef, dest: SlotRef) {
    // Caps compared in place: whole-cap copies cost a memcpy each.
    let src_mdb = src.mdb();
    let revocable = Cap::is_revocable(&new, &src.get().cap);
    if let (
        &Cap::Untyped { base: sb, size_bits: ss, device, .. },
        &Cap::Untyped { base: nb, size_bits: ns, .. },
    ) = (&src.get().cap, &new)
        && sb == nb
        && ss == ns
    {
        src.set_cap(Cap::Untyped { base: sb, size_bits: ss, device, free_index: 1 << ss });
    }
    *dest.get() = Cte {
        cap: new,
        mdb: Mdb { prev: src.0, next: src_mdb.next, revocable, first_badged: revocable },
    };
    src.get().mdb.next = dest.0;
    if let Some(next) = SlotRef::link(src_mdb.next) {
        next.get().mdb.prev = dest.0;
    }
}

/// Puts a newly created object's cap into `slot` as a child of the untyped
/// in `parent` (seL4's `insertNewCap`).
pub(crate) fn insert_new_cap(parent: SlotRef, slot: SlotRef, cap: Cap) {
    let next = parent.mdb().next;
    *slot.get() =
        Cte { cap, mdb: Mdb { prev: parent.0, next, revocable: true, first_badged: true } };
    if let Some(n) = SlotRef::link(next) {
        n.get().mdb.prev = slot.0;
    }
    parent.get().mdb.next = slot.0;
}

/// Moves the cap in `src` (as `new`) to the empty slot `dest`, keeping its
/// place in the tree (seL4's `cteMove`).
pub(crate) fn cte_move(new: Cap, src: SlotRef, dest: SlotRef) {
    let mdb = src.mdb();
    *dest.get() = Cte { cap: new, mdb };
    *src.get() = Cte::NULL;
    if let Some(p) = SlotRef::link(mdb.prev) {
        p.get().mdb.next = dest.0;
    }
    if let Some(n) = SlotRef::link(mdb.next) {
        n.get().mdb.prev = dest.0;
    }
}

/// Exchanges two slots' caps (as `cap1` going to `slot2` and `cap2` to
/// `slot1`) and their places in the tree (seL4's `cteSwap`).
pub(crate) fn cte_swap(cap1: Cap, slot1: SlotRef, cap2: Cap, slot2: SlotRef) {
    slot1.set_cap(cap2);
    slot2.set_cap(cap1);
    let mdb1 = slot1.mdb();
    if let Some(p) = SlotRef::link(mdb1.prev) {
        p.get().mdb.next = slot2.0;
    }
    if let Some(n) = SlotRef::link(mdb1.next) {
        n.get().mdb.prev = slot2.0;
    }
    let mdb2 = slot2.mdb();
    slot1.get().mdb = mdb2;
    slot2.get().mdb = mdb1;
    if let Some(p) = SlotRef::link(mdb2.prev) {
        p.get().mdb.next = slot1.0;
    }
    if let Some(n) = SlotRef::link(mdb2.next) {
        n.get().mdb.prev = slot1.0;
    }
}

/// Unlinks `slot` from the tree and empties it; its children become its
/// parent's (seL4's `emptySlot`, without the post-deletion step).
#[inline]
pub(crate) fn unlink_and_clear(slot: SlotRef) {
    let mdb = slot.mdb();
    if let Some(p) = SlotRef::link(mdb.prev) {
        p.get().mdb.next = mdb.next;
    }
    if let Some(n) = SlotRef::link(mdb.next) {
        let nm = &mut n.get().mdb;
        nm.prev = mdb.prev;
        nm.first_badged |= mdb.first_badged;
    }
    *slot.get() = Cte::NULL;
}

/// Gives `t` its master reply cap if it has none (seL4's
/// `setupReplyMaster`).
pub(crate) fn setup_reply_master(t: TcbRef) {
    let slot = t.slot(TCB_REPLY);
    if matches!(&slot.get().cap, Cap::Null) {
        *slot.get() = Cte {
            cap: Cap::Reply { master: true, can_grant: true, tcb: t.0 },
            mdb: Mdb { prev: 0, next: 0, revocable: true, first_badged: true },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sel4_sys::CapRights;

    fn ep(badge: u64) -> Cap {
        Cap::Endpoint { ptr: 0x1000, badge, rights: CapRights::all() }
    }

    /// Follows `next` links from `s`, collecting slot indices in `table`.
    fn chain(table: &[Cte], s: usize) -> Vec<usize> {
        let base = table.as_ptr() as u64;
        let mut v = vec![s];
        let mut n = table[s].mdb.next;
        while n != 0 {
            v.push(((n - base) / 64) as usize);
            n = SlotRef(n).mdb().next;
        }
        v
    }

    #[test]
    fn insert_move_swap_unlink() {
        let mut t = vec![Cte::NULL; 8];
        let base = t.as_mut_ptr() as u64;
        let s = |i: u64| SlotRef::at(base, i);
        *s(0).get() =
            Cte { cap: ep(0), mdb: Mdb { revocable: true, first_badged: true, ..Mdb::default() } };
        cte_insert(ep(5), s(0), s(1));
        cte_insert(ep(0), s(0), s(2));
        assert_eq!(chain(&t, 0), vec![0, 2, 1]);
        assert!(is_mdb_parent_of(s(0), s(1)) && is_mdb_parent_of(s(0), s(2)));
        assert!(s(1).mdb().revocable && s(1).mdb().first_badged);
        assert!(!s(2).mdb().revocable);
        assert!(!is_final_capability(s(1)));
        assert_eq!(ensure_no_children(s(0)), Err(SyscallError::RevokeFirst));
        assert_eq!(ensure_no_children(s(1)), Ok(()));
        cte_move(ep(5), s(1), s(3));
        assert_eq!(chain(&t, 0), vec![0, 2, 3]);
        assert_eq!(t[1], Cte::NULL);
        cte_swap(ep(0), s(2), ep(5), s(3));
        assert_eq!(chain(&t, 0), vec![0, 3, 2]);
        assert_eq!(s(3).cap(), ep(0));
        unlink_and_clear(s(3));
        assert_eq!(chain(&t, 0), vec![0, 2]);
        assert_eq!(ensure_empty_slot(s(3)), Ok(()));
        assert_eq!(ensure_empty_slot(s(2)), Err(SyscallError::DeleteFirst));
    }

    #[test]
    fn derive_rules() {
        let mut t = vec![Cte::NULL; 2];
        let s = SlotRef(t.as_mut_ptr() as u64);
        assert_eq!(derive_cap(s, Cap::IrqControl), Ok(Cap::Null));
        assert_eq!(
            derive_cap(s, Cap::Reply { master: false, can_grant: true, tcb: 8 }),
            Ok(Cap::Null)
        );
        assert_eq!(
            derive_cap(s, Cap::VSpace { asid: None, ptr: 0 }),
            Err(SyscallError::IllegalOperation)
        );
        let vs = Cap::VSpace { asid: Some(3), ptr: 0 };
        assert_eq!(derive_cap(s, vs), Ok(vs));
        let f = Cap::Frame {
            size_bits: 12,
            rights: crate::VmRights::ReadOnly,
            device: false,
            paddr: 0x1000,
            mapped: Some((1, 0x2000)),
        };
        assert!(matches!(derive_cap(s, f), Ok(Cap::Frame { mapped: None, .. })));
        assert_eq!(derive_cap(s, Cap::IrqHandler { irq: 4 }), Ok(Cap::IrqHandler { irq: 4 }));
    }
}

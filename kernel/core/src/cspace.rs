//! Capability addresses (seL4's `cspace.c`): resolving a cptr through a
//! tree of guarded CNodes to a slot, for system calls (all 64 bits, from
//! the thread's CSpace root) and for invocation arguments (an index and a
//! depth, from a CNode cap given as argument).
//!
//! Each CNode level consumes its guard bits, which must equal the guard,
//! then its radix bits, which index the slot. Resolution stops when the
//! bits are used up, or at a slot that does not hold a CNode cap.

use crate::cap::{Cap, SlotRef, mask};
use crate::error::{LookupFault, SysResult, SyscallError};
use crate::tcb::{TCB_CTABLE, TcbRef};

/// A resolved slot and the address bits left unresolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resolved {
    pub(crate) slot: SlotRef,
    pub(crate) bits_remaining: u64,
}

/// Resolves the top `n_bits` of `cptr` starting at the CNode `node`
/// (seL4's `resolveAddressBits`).
pub(crate) fn resolve_address_bits(
    node: &Cap,
    cptr: u64,
    n_bits: u64,
) -> Result<Resolved, LookupFault> {
    // Caps are read in place: copying them whole costs a memcpy each.
    let mut node = node;
    let mut n_bits = n_bits.min(64);
    loop {
        let &Cap::CNode { radix, guard_size, ptr, guard } = node else {
            return Err(LookupFault::InvalidRoot);
        };
        let (radix, guard_size) = (radix as u64, guard_size as u64);
        let level_bits = radix + guard_size;
        if guard_size > n_bits {
            return Err(LookupFault::GuardMismatch {
                bits_left: n_bits,
                guard_found: guard,
                bits_found: guard_size,
            });
        }
        let found = cptr.checked_shr((n_bits - guard_size) as u32).unwrap_or(0) & mask(guard_size);
        if found != guard {
            return Err(LookupFault::GuardMismatch {
                bits_left: n_bits,
                guard_found: guard,
                bits_found: guard_size,
            });
        }
        if level_bits > n_bits || level_bits == 0 {
            return Err(LookupFault::DepthMismatch { bits_left: n_bits, bits_found: level_bits });
        }
        let offset = (cptr >> (n_bits - level_bits)) & mask(radix);
        let slot = SlotRef::at(ptr, offset);
        if n_bits == level_bits {
            return Ok(Resolved { slot, bits_remaining: 0 });
        }
        n_bits -= level_bits;
        node = &slot.get().cap;
        if !matches!(node, Cap::CNode { .. }) {
            return Ok(Resolved { slot, bits_remaining: n_bits });
        }
    }
}

/// The slot `cptr` names in `thread`'s CSpace (seL4's `lookupSlot`).
pub(crate) fn lookup_slot(thread: TcbRef, cptr: u64) -> Result<SlotRef, LookupFault> {
    resolve_address_bits(&thread.slot(TCB_CTABLE).get().cap, cptr, 64).map(|r| r.slot)
}

/// The cap `cptr` names in `thread`'s CSpace (seL4's `lookupCap`).
pub(crate) fn lookup_cap(thread: TcbRef, cptr: u64) -> Result<Cap, LookupFault> {
    lookup_slot(thread, cptr).map(|s| s.cap())
}

/// The slot `(index, depth)` names below the CNode cap `root`, for an
/// invocation argument (seL4's `lookupSlotForCNodeOp`): `depth` must be
/// 1..=64 and use up exactly.
pub(crate) fn lookup_slot_for_cnode_op(
    is_source: bool,
    root: Cap,
    index: u64,
    depth: u64,
) -> SysResult<SlotRef> {
    if !matches!(root, Cap::CNode { .. }) {
        return Err(SyscallError::FailedLookup {
            source: is_source,
            lookup: LookupFault::InvalidRoot,
        });
    }
    if !(1..=64).contains(&depth) {
        return Err(SyscallError::RangeError { min: 1, max: 64 });
    }
    match resolve_address_bits(&root, index, depth) {
        Err(lookup) => Err(SyscallError::FailedLookup { source: is_source, lookup }),
        Ok(Resolved { bits_remaining: 0, slot }) => Ok(slot),
        Ok(Resolved { bits_remaining, .. }) => Err(SyscallError::FailedLookup {
            source: is_source,
            lookup: LookupFault::DepthMismatch { bits_left: bits_remaining, bits_found: 0 },
        }),
    }
}

/// [`lookup_slot_for_cnode_op`] for a destination slot.
pub(crate) fn lookup_target_slot(root: Cap, index: u64, depth: u64) -> SysResult<SlotRef> {
    lookup_slot_for_cnode_op(false, root, index, depth)
}

/// [`lookup_slot_for_cnode_op`] for a source slot.
pub(crate) fn lookup_source_slot(root: Cap, index: u64, depth: u64) -> SysResult<SlotRef> {
    lookup_slot_for_cnode_op(true, root, index, depth)
}

// Address literals are grouped by CNode level: guard, index, index.
#[cfg(test)]
#[allow(clippy::unusual_byte_groupings)]
mod tests {
    use super::*;
    use crate::cap::Cte;

    /// Two CNodes on the heap: a root of 16 slots with a 2-bit guard 0b10,
    /// whose slot 3 holds a 4-slot CNode without guard.
    fn tables() -> (Vec<Cte>, Vec<Cte>, Cap) {
        let mut root = vec![Cte::NULL; 16];
        let inner = vec![Cte::NULL; 4];
        let inner_cap =
            Cap::CNode { radix: 2, guard_size: 0, ptr: inner.as_ptr() as u64, guard: 0 };
        root[3].cap = inner_cap;
        let root_cap =
            Cap::CNode { radix: 4, guard_size: 2, ptr: root.as_ptr() as u64, guard: 0b10 };
        (root, inner, root_cap)
    }

    #[test]
    fn resolves_through_levels() {
        let (root, inner, cap) = tables();
        let r = resolve_address_bits(&cap, 0b10_0101, 6).expect("one level");
        assert_eq!((r.slot.0, r.bits_remaining), (root.as_ptr() as u64 + 5 * 64, 0));
        let r = resolve_address_bits(&cap, 0b10_0011_01, 8).expect("two levels");
        assert_eq!((r.slot.0, r.bits_remaining), (inner.as_ptr() as u64 + 64, 0));
        // Stops at a slot without a CNode, bits left over.
        let r = resolve_address_bits(&cap, 0b10_0101_11, 8).expect("stops");
        assert_eq!(r.bits_remaining, 2);
    }

    #[test]
    fn lookup_failures() {
        let (_root, _inner, cap) = tables();
        assert_eq!(resolve_address_bits(&Cap::Null, 0, 64).unwrap_err(), LookupFault::InvalidRoot);
        assert_eq!(
            resolve_address_bits(&cap, 0b01_0101, 6).unwrap_err(),
            LookupFault::GuardMismatch { bits_left: 6, guard_found: 0b10, bits_found: 2 }
        );
        assert_eq!(
            resolve_address_bits(&cap, 0b1, 1).unwrap_err(),
            LookupFault::GuardMismatch { bits_left: 1, guard_found: 0b10, bits_found: 2 }
        );
        assert_eq!(
            resolve_address_bits(&cap, 0b10_01, 4).unwrap_err(),
            LookupFault::DepthMismatch { bits_left: 4, bits_found: 6 }
        );
        assert_eq!(
            lookup_slot_for_cnode_op(true, cap, 0b10_0011_0, 7).unwrap_err(),
            SyscallError::FailedLookup {
                source: true,
                lookup: LookupFault::DepthMismatch { bits_left: 1, bits_found: 2 }
            }
        );
        assert_eq!(
            lookup_target_slot(cap, 0b10_0101_11, 8).unwrap_err(),
            SyscallError::FailedLookup {
                source: false,
                lookup: LookupFault::DepthMismatch { bits_left: 2, bits_found: 0 }
            }
        );
        assert_eq!(
            lookup_source_slot(Cap::Null, 0, 8).unwrap_err(),
            SyscallError::FailedLookup { source: true, lookup: LookupFault::InvalidRoot }
        );
        assert_eq!(
            lookup_target_slot(cap, 0, 0).unwrap_err(),
            SyscallError::RangeError { min: 1, max: 64 }
        );
    }
}

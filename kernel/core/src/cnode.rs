//! CNode invocations (seL4's `decodeCNodeInvocation`): Copy, Mint, Move,
//! Mutate, Rotate, Delete, Revoke, SaveCaller, CancelBadgedSends.
//!
//! Every operation first resolves its destination slot `(MR0 index, MR1
//! depth)` below the invoked CNode. Copy and Mint derive a new cap that may
//! only have fewer rights (and, for Mint, a badge or guard: badging an
//! already badged cap is refused); Move and Mutate move the cap with its
//! place in the derivation tree.

use crate::cap::Cap;
use crate::cdt::{cte_insert, cte_move, cte_swap, derive_cap, ensure_empty_slot};
use crate::cspace::{lookup_slot_for_cnode_op, lookup_source_slot, lookup_target_slot};
use crate::error::{LookupFault, SysResult, SyscallError};
use crate::object::EpRef;
use crate::syscall::Invocation;
use crate::tcb::{TCB_CALLER, ThreadState};
use crate::{Arch, Kernel};
use sel4_sys::{CapRights, InvocationLabel as L};

impl<A: Arch> Kernel<A> {
    pub(crate) fn decode_cnode_invocation(&mut self, inv: &Invocation) -> SysResult {
        let label = inv.label as u64;
        if label < L::CNodeRevoke as u64 || label > L::CNodeSaveCaller as u64 {
            return Err(SyscallError::IllegalOperation);
        }
        inv.need(2, 0)?;
        let dest = lookup_target_slot(inv.cap, inv.arg(0), inv.arg(1))?;
        match inv.label {
            L::CNodeCopy | L::CNodeMint | L::CNodeMove | L::CNodeMutate => {
                if inv.length < 4 || inv.extra(0).is_none() {
                    return Err(SyscallError::TruncatedMessage);
                }
                let (src_index, src_depth) = (inv.arg(2), inv.arg(3));
                let src_root = inv.extra(0).map(|s| s.cap()).unwrap_or_default();
                ensure_empty_slot(dest)?;
                let src = lookup_source_slot(src_root, src_index, src_depth)?;
                if src.cap() == Cap::Null {
                    return Err(SyscallError::FailedLookup {
                        source: true,
                        lookup: LookupFault::MissingCapability { bits_left: src_depth },
                    });
                }
                let (new, is_move) = match inv.label {
                    L::CNodeCopy => {
                        inv.need(5, 0)?;
                        let masked = src.cap().mask_rights(CapRights(inv.arg(4)));
                        (derive_cap(src, masked)?, false)
                    }
                    L::CNodeMint => {
                        inv.need(6, 0)?;
                        let masked = src.cap().mask_rights(CapRights(inv.arg(4)));
                        (derive_cap(src, masked.update_data(false, inv.arg(5)))?, false)
                    }
                    L::CNodeMove => (src.cap(), true),
                    _ => {
                        inv.need(5, 0)?;
                        (src.cap().update_data(true, inv.arg(4)), true)
                    }
                };
                if new == Cap::Null {
                    return Err(SyscallError::IllegalOperation);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                if is_move {
                    cte_move(new, src, dest);
                } else {
                    cte_insert(new, src, dest);
                }
                Ok(())
            }
            L::CNodeRevoke => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.cte_revoke(dest);
                Ok(())
            }
            L::CNodeDelete => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.cte_delete(dest);
                Ok(())
            }
            L::CNodeSaveCaller => {
                ensure_empty_slot(dest)?;
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let src = inv.thread.slot(TCB_CALLER);
                if let cap @ Cap::Reply { master: false, .. } = src.cap() {
                    cte_move(cap, src, dest);
                }
                Ok(())
            }
            L::CNodeCancelBadgedSends => {
                let cap = dest.cap();
                let Cap::Endpoint { ptr, badge, rights } = cap else {
                    return Err(SyscallError::IllegalOperation);
                };
                if rights != CapRights::all() {
                    return Err(SyscallError::IllegalOperation);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                if badge != 0 {
                    self.cancel_badged_sends(EpRef(ptr), badge);
                }
                Ok(())
            }
            _ => self.decode_cnode_rotate(inv, dest),
        }
    }

    /// Rotate: MR2 pivot badge, MR3 pivot index, MR4 pivot depth, MR5 source
    /// badge, MR6 source index, MR7 source depth; extra caps: pivot root,
    /// source root. Moves pivot to destination and source to pivot.
    fn decode_cnode_rotate(&mut self, inv: &Invocation, dest: crate::cap::SlotRef) -> SysResult {
        let (Some(pivot_root), Some(src_root)) = (inv.extra(0), inv.extra(1)) else {
            return Err(SyscallError::TruncatedMessage);
        };
        if inv.length < 8 {
            return Err(SyscallError::TruncatedMessage);
        }
        let (pivot_data, pivot_index, pivot_depth) = (inv.arg(2), inv.arg(3), inv.arg(4));
        let (src_data, src_index, src_depth) = (inv.arg(5), inv.arg(6), inv.arg(7));
        let src = lookup_source_slot(src_root.cap(), src_index, src_depth)?;
        let pivot = lookup_slot_for_cnode_op(true, pivot_root.cap(), pivot_index, pivot_depth)?;
        if pivot == src || pivot == dest {
            return Err(SyscallError::IllegalOperation);
        }
        if src != dest {
            ensure_empty_slot(dest)?;
        }
        if src.cap() == Cap::Null {
            return Err(SyscallError::FailedLookup {
                source: true,
                lookup: LookupFault::MissingCapability { bits_left: src_depth },
            });
        }
        if pivot.cap() == Cap::Null {
            return Err(SyscallError::FailedLookup {
                source: false,
                lookup: LookupFault::MissingCapability { bits_left: pivot_depth },
            });
        }
        let new_src = src.cap().update_data(true, src_data);
        let new_pivot = pivot.cap().update_data(true, pivot_data);
        if new_src == Cap::Null || new_pivot == Cap::Null {
            return Err(SyscallError::IllegalOperation);
        }
        self.set_thread_state(inv.thread, ThreadState::Restart);
        if src == dest {
            cte_swap(new_src, src, new_pivot, pivot);
        } else {
            cte_move(new_pivot, pivot, dest);
            cte_move(new_src, src, pivot);
        }
        Ok(())
    }
}

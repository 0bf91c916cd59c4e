//! Deleting caps and destroying objects (seL4's `cteDelete`,
//! `finaliseSlot`, `reduceZombie`, `finaliseCap`, `cteRevoke`,
//! `cteDeleteOne`).
//!
//! Deleting the last cap to an object finalises the object: threads
//! blocked on an endpoint or notification are woken to redo their call, a
//! TCB is suspended and unbound, mappings are removed, ASIDs invalidated, an
//! IRQ's notification cleared and the IRQ masked.
//!
//! CNodes and TCBs contain slots whose caps must be deleted too, and those
//! may be the last caps to further CNodes and TCBs, to any depth, in cycles
//! (a CNode holding its own cap). As in seL4, the last cap to such an
//! object becomes a *zombie* in its slot, recording how many of the
//! object's slots are left to clear; slots are cleared from the last to the
//! first. Unlike seL4, which moves a nested zombie aside into its own first
//! slot and leaves it there until its untyped is revoked, a nested zombie
//! here records the slot of the zombie whose clearing found it (`parent`)
//! and is cleared at once: the zombies form an explicit stack threaded
//! through the objects being destroyed, so the deletion is complete and
//! iterative, with no recursion whatever the shape of the CSpace. A slot
//! already holding a zombie is being cleared further down that stack (the
//! object contains a cap to an object being destroyed, itself included)
//! and is skipped. Deletions are not preemptible: one runs to completion.

use crate::cap::{Cap, SlotRef, ZombieKind};
use crate::cdt::{is_final_capability, is_mdb_parent_of, unlink_and_clear};
use crate::object::{EpRef, NtfnRef};
use crate::tcb::{TCB_CNODE_ENTRIES, TCB_OFFSET, TcbRef};
use crate::{Arch, Kernel};

/// What finalising a cap left to do (seL4's `finaliseCap_ret_t`).
enum Finalised {
    /// The slot can be emptied; then `cleanup` (an IRQ handler whose IRQ
    /// becomes inactive, or `Null`).
    Done { cleanup: Cap },
    /// The object's slots must be cleared first: this zombie replaces the
    /// cap.
    Zombie(Cap),
}

const DONE: Finalised = Finalised::Done { cleanup: Cap::Null };

impl<A: Arch> Kernel<A> {
    /// Deletes the cap in `slot`, destroying its object if it was the last
    /// cap to it (seL4's `cteDelete` with `exposed`).
    pub(crate) fn cte_delete(&mut self, slot: SlotRef) {
        // A reply cap has nothing to finalise (the common case, on every
        // reply): straight out of the tree.
        if matches!(&slot.get().cap, Cap::Reply { master: false, .. }) {
            unlink_and_clear(slot);
            return;
        }
        let cap = slot.cap();
        if matches!(cap, Cap::Null | Cap::Zombie { .. }) {
            return;
        }
        match self.finalise_cap(cap, is_final_capability(slot), 0) {
            Finalised::Done { cleanup } => self.empty_slot(slot, cleanup),
            Finalised::Zombie(z) => {
                slot.set_cap(z);
                self.clear_zombies(slot);
            }
        }
    }

    /// Clears the zombie in `top` and every zombie its clearing finds
    /// (seL4's `reduceZombie` loop, made iterative).
    fn clear_zombies(&mut self, top: SlotRef) {
        let mut current = top;
        loop {
            let Cap::Zombie { kind, radix, ptr, number, parent } = current.cap() else {
                return;
            };
            if number == 0 {
                self.empty_slot(current, Cap::Null);
                match SlotRef::link(parent) {
                    Some(p) if current != top => current = p,
                    _ => return,
                }
                continue;
            }
            current.set_cap(Cap::Zombie { kind, radix, ptr, number: number - 1, parent });
            let end = SlotRef::at(ptr, number - 1);
            let cap = end.cap();
            if matches!(cap, Cap::Null | Cap::Zombie { .. }) {
                continue;
            }
            match self.finalise_cap(cap, is_final_capability(end), current.0) {
                Finalised::Done { cleanup } => self.empty_slot(end, cleanup),
                Finalised::Zombie(z) => {
                    end.set_cap(z);
                    current = end;
                }
            }
        }
    }

    /// Deletes every descendant of the cap in `slot` (seL4's `cteRevoke`).
    pub(crate) fn cte_revoke(&mut self, slot: SlotRef) {
        while let Some(next) = SlotRef::link(slot.mdb().next) {
            if slot.cap() == Cap::Null || !is_mdb_parent_of(slot, next) {
                break;
            }
            self.cte_delete(next);
        }
    }

    /// Deletes a cap whose finalisation needs no clearing of slots: a reply
    /// cap, an endpoint or notification (seL4's `cteDeleteOne`).
    pub(crate) fn cte_delete_one(&mut self, slot: SlotRef) {
        self.cte_delete(slot);
    }

    /// Empties `slot` and does what the deletion of its cap leaves to do
    /// (seL4's `emptySlot` and `postCapDeletion`).
    fn empty_slot(&mut self, slot: SlotRef, cleanup: Cap) {
        if slot.cap() == Cap::Null {
            return;
        }
        unlink_and_clear(slot);
        if let Cap::IrqHandler { irq } = cleanup {
            self.set_irq_state(irq, crate::irq::IrqState::Inactive);
        }
    }

    /// Finalises `cap` (seL4's `finaliseCap` and `Arch_finaliseCap`);
    /// `is_final`: no other cap names the object. The last cap to a CNode
    /// or TCB becomes a zombie whose parent is the slot `parent`.
    fn finalise_cap(&mut self, cap: Cap, is_final: bool, parent: u64) -> Finalised {
        if matches!(
            cap,
            Cap::VSpace { .. } | Cap::AsidPool { .. } | Cap::Tcb { .. } | Cap::Zombie { .. }
        ) {
            self.space_changed();
        }
        match cap {
            Cap::Endpoint { ptr, .. } => {
                if is_final {
                    self.cancel_all_ipc(EpRef(ptr));
                }
                DONE
            }
            Cap::Notification { ptr, .. } => {
                if is_final {
                    self.unbind_maybe_notification(NtfnRef(ptr));
                    self.cancel_all_signals(NtfnRef(ptr));
                }
                DONE
            }
            Cap::Frame { size_bits, paddr, mapped: Some((asid, vaddr)), .. } => {
                self.unmap_page(size_bits as u64, asid, vaddr, paddr);
                DONE
            }
            Cap::PageTable { ptr, mapped: Some((asid, vaddr)) } if is_final => {
                self.unmap_page_table(asid, vaddr, ptr);
                DONE
            }
            Cap::VSpace { asid: Some(asid), ptr } if is_final => {
                self.delete_asid(asid, ptr);
                DONE
            }
            Cap::AsidPool { asid_base, ptr } if is_final => {
                self.delete_asid_pool(asid_base, ptr);
                DONE
            }
            Cap::CNode { radix, ptr, .. } if is_final => Finalised::Zombie(Cap::Zombie {
                kind: ZombieKind::CNode,
                radix,
                ptr,
                number: 1 << radix,
                parent,
            }),
            Cap::Vcpu { ptr } if is_final => {
                self.finalise_vcpu(crate::vcpu::VcpuRef(ptr));
                DONE
            }
            Cap::Tcb { ptr } if is_final => {
                let t = TcbRef(ptr);
                let vcpu = t.get().vcpu;
                if vcpu != 0 {
                    self.dissociate_vcpu(crate::vcpu::VcpuRef(vcpu));
                }
                self.unbind_notification(t);
                self.suspend(t);
                self.debug_unlink(t);
                self.arch.fpu_forget(&raw mut t.get().fpu);
                Finalised::Zombie(Cap::Zombie {
                    kind: ZombieKind::Tcb,
                    radix: 0,
                    ptr: ptr - TCB_OFFSET,
                    number: TCB_CNODE_ENTRIES,
                    parent,
                })
            }
            Cap::IrqHandler { irq } if is_final => {
                self.deleting_irq_handler(irq);
                Finalised::Done { cleanup: cap }
            }
            _ => DONE,
        }
    }
}

//! Carving the kernel's boot objects out of free RAM and building the root
//! task's capabilities and mappings (the helpers of seL4's `boot.c`:
//! `alloc_region`, `provide_cap`, `create_it_pt_cap`, `map_it_frame_cap`,
//! `create_untypeds_for_region`).
//!
//! Free memory is a list of fragments; an allocation takes the first
//! fragment that holds an aligned block and splits it around the block.
//! What is left in the end becomes untyped memory, cut into the largest
//! naturally aligned power-of-two blocks.

use crate::boot::{BootError, MemRegion};
use crate::cap::{Cap, Cte, Mdb, SlotRef, VmRights, mask};
use crate::object::zero_memory;
use crate::sched::TIME_SLICE_TICKS;
use crate::tcb::{TCB_CNODE_ENTRIES, TCB_OFFSET, Tcb, TcbRef};
use crate::vspace::{is_page, lookup_pt_slot, make_table_pte, make_user_pte};
use sel4_sys::bootinfo::ROOT_CNODE_SIZE_BITS;
use sel4_sys::object::{LARGE_PAGE_BITS, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, PAGE_BITS};

/// Most free-memory fragments tracked while carving.
pub(crate) const MAX_FREE: usize = 128;
pub(crate) const PAGE: u64 = 1 << PAGE_BITS;
pub(crate) const LARGE: u64 = 1 << LARGE_PAGE_BITS;
/// The root task's ASID.
pub(crate) const ROOT_ASID: u16 = 1;

/// Free memory during boot: carving aligned blocks out of it.
pub(crate) struct FreeMem {
    pub(crate) regions: [MemRegion; MAX_FREE],
    pub(crate) n: usize,
}

impl FreeMem {
    pub(crate) fn new(ram: &[MemRegion]) -> Result<FreeMem, BootError> {
        let mut f = FreeMem { regions: [MemRegion::default(); MAX_FREE], n: 0 };
        for r in ram.iter().filter(|r| r.size != 0) {
            f.push(*r)?;
        }
        Ok(f)
    }

    fn push(&mut self, r: MemRegion) -> Result<(), BootError> {
        if r.size == 0 {
            return Ok(());
        }
        *self.regions.get_mut(self.n).ok_or(BootError::TooManyRegions)? = r;
        self.n += 1;
        Ok(())
    }

    /// Carves `size` bytes aligned to 2^`align_bits`, zeroed.
    pub(crate) fn alloc(
        &mut self,
        size: u64,
        align_bits: u64,
        what: &'static str,
    ) -> Result<u64, BootError> {
        for i in 0..self.n {
            let r = self.regions[i];
            let at = r.base.next_multiple_of(1 << align_bits);
            if at.checked_add(size).is_some_and(|e| e <= r.end()) {
                self.regions[i] = MemRegion::new(r.base, at - r.base);
                self.push(MemRegion::new(at + size, r.end() - (at + size)))?;
                zero_memory(at, size);
                return Ok(at);
            }
        }
        Err(BootError::OutOfMemory { what })
    }
}

/// The state of the root task's world while it is built.
pub(crate) struct Builder {
    pub(crate) free: FreeMem,
    pub(crate) cnode: u64,
    pub(crate) next_slot: u64,
    pub(crate) vspace: u64,
}

impl Builder {
    /// Puts `cap` into the next free slot of the root CNode as an original
    /// cap; returns the slot index.
    pub(crate) fn provide(&mut self, cap: Cap) -> Result<u64, BootError> {
        if self.next_slot >= 1 << ROOT_CNODE_SIZE_BITS {
            return Err(BootError::CNodeFull);
        }
        let i = self.next_slot;
        write_slot(SlotRef::at(self.cnode, i), cap);
        self.next_slot += 1;
        Ok(i)
    }

    /// Makes sure the tables down to the level mapping `size_bits` pages
    /// exist for `vaddr`, creating page tables (and their caps).
    pub(crate) fn ensure_tables(&mut self, vaddr: u64, size_bits: u64) -> Result<(), BootError> {
        loop {
            let slot = lookup_pt_slot(self.vspace, vaddr);
            if slot.bits_left <= size_bits {
                return Ok(());
            }
            let pt = self.free.alloc(PAGE, PAGE_BITS as u64, "page tables")?;
            slot.set(make_table_pte(pt));
            let at = vaddr & !mask(slot.bits_left);
            self.provide(Cap::PageTable { ptr: pt, mapped: Some((ROOT_ASID, at)) })?;
        }
    }

    /// Maps the frame at `paddr` at `vaddr` (its tables exist) and returns
    /// its cap.
    pub(crate) fn map_frame(
        &mut self,
        paddr: u64,
        vaddr: u64,
        size_bits: u64,
        rights: VmRights,
        xn: bool,
    ) -> Cap {
        let slot = lookup_pt_slot(self.vspace, vaddr);
        debug_assert!(slot.bits_left == size_bits && !is_page(slot.entry(), slot.bits_left));
        slot.set(make_user_pte(paddr, rights, true, xn, size_bits));
        Cap::Frame {
            size_bits: size_bits as u8,
            rights: VmRights::ReadWrite,
            device: false,
            paddr,
            mapped: Some((ROOT_ASID, vaddr)),
        }
    }
}

/// The frames covering `[vaddr, vaddr + size)` mapped from `paddr`: 2 MiB
/// where both addresses are aligned and a whole one fits, else 4 KiB.
pub(crate) fn frames(paddr: u64, vaddr: u64, size: u64) -> impl Iterator<Item = (u64, u64, u64)> {
    let mut off = 0;
    core::iter::from_fn(move || {
        if off >= size {
            return None;
        }
        let (p, v) = (paddr + off, vaddr + off);
        let bits = if p % LARGE == 0 && v % LARGE == 0 && size - off >= LARGE {
            LARGE_PAGE_BITS as u64
        } else {
            PAGE_BITS as u64
        };
        off += 1 << bits;
        Some((p, v, bits))
    })
}

/// Writes an original cap into a fresh slot (seL4's `write_slot`).
pub(crate) fn write_slot(slot: SlotRef, cap: Cap) {
    *slot.get() = Cte { cap, mdb: Mdb { prev: 0, next: 0, revocable: true, first_badged: true } };
}

/// Splits `[base, end)` into the largest naturally aligned blocks of at
/// least 2^`MIN_UNTYPED_BITS` bytes.
pub(crate) fn untyped_blocks(base: u64, end: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut at = base.next_multiple_of(1 << MIN_UNTYPED_BITS);
    core::iter::from_fn(move || {
        if at >= end || end - at < 1 << MIN_UNTYPED_BITS {
            return None;
        }
        let align = if at == 0 { 63 } else { at.trailing_zeros() as u64 };
        let fit = 63 - (end - at).leading_zeros() as u64;
        let bits = align.min(fit).min(MAX_UNTYPED_BITS as u64);
        let block = (at, bits);
        at += 1 << bits;
        Some(block)
    })
}

/// Writes a slot of freshly carved memory.
pub(crate) fn write_cte(slot: SlotRef, c: Cte) {
    // SAFETY: the slot lies in a table the boot code just carved (and
    // zeroed); nothing else refers to it yet.
    unsafe { (slot.0 as *mut Cte).write(c) };
}

/// Initialises a TCB object at `base` (zeroed memory) named `name`.
pub(crate) fn init_tcb(base: u64, name: &[u8]) -> TcbRef {
    for i in 0..TCB_CNODE_ENTRIES {
        write_cte(SlotRef::at(base, i), Cte::NULL);
    }
    let t = base + TCB_OFFSET;
    // SAFETY: `base` is a 2 KiB TCB object just carved from free RAM; the
    // `Tcb` fits at `TCB_OFFSET` with its alignment (checked in tcb.rs).
    unsafe { (t as *mut Tcb).write(Tcb::new(name, TIME_SLICE_TICKS)) };
    TcbRef(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_blocks_are_maximal_and_aligned() {
        let b: Vec<_> = untyped_blocks(0x1000, 0x9000).collect();
        assert_eq!(b, vec![(0x1000, 12), (0x2000, 13), (0x4000, 14), (0x8000, 12)]);
        assert_eq!(untyped_blocks(0x8, 0x10).count(), 0);
        assert_eq!(untyped_blocks(0, 1 << 48).next(), Some((0, MAX_UNTYPED_BITS as u64)));
        let odd: Vec<_> = untyped_blocks(0x10, 0x38).collect();
        assert_eq!(odd, vec![(0x10, 4), (0x20, 4)]);
    }

    #[test]
    fn frames_use_large_pages_where_aligned() {
        let f: Vec<_> = frames(0x1ff000, 0x3ff000, 0x202000).map(|(_, _, b)| b).collect();
        assert_eq!(f, vec![12, 21, 12]);
        let f: Vec<_> = frames(0x1ff000, 0x400000, 0x202000).map(|(_, _, b)| b).collect();
        assert!(f.iter().all(|&b| b == 12));
        assert_eq!(f.len(), 0x202);
    }

    #[test]
    fn free_memory_splits_around_allocations() {
        let base = crate::tests::arena(1 << 21);
        let mut f = FreeMem::new(&[MemRegion::new(base + 0x1000, 0x10000)]).expect("free");
        let a = f.alloc(0x4000, 14, "a").expect("a");
        assert_eq!(a, base + 0x4000);
        assert_eq!(f.n, 2);
        let b = f.alloc(0x1000, 12, "b").expect("b");
        assert_eq!(b, base + 0x1000);
        assert_eq!(f.alloc(0x10000, 12, "c"), Err(BootError::OutOfMemory { what: "c" }));
        let total: u64 = f.regions[..f.n].iter().map(|r| r.size).sum();
        assert_eq!(total, 0x10000 - 0x5000);
    }
}

//! Stage-2 address spaces (seL4's `arch/arm/64/kernel/vspace.c` with
//! hypervisor support): every VSpace is a stage-2 translation table for a
//! 39-bit IPA space with a 4 KiB granule.
//!
//! ```text
//!  IPA bit  38       30 29       21 20       12 11        0
//!          +-----------+-----------+-----------+-----------+
//!          | level 1   | level 2   | level 3   | offset    |
//!          +-----------+-----------+-----------+-----------+
//!  VSpace object = level-1 table (512 x 1 GiB)
//!  PageTable objects = level-2 tables (512 x 2 MiB blocks or tables)
//!                      or level-3 tables (512 x 4 KiB pages)
//! ```
//!
//! A page table becomes level 2 or 3 depending on where it is mapped: at
//! the first level with no table for the address. Descriptors: bits [1:0]
//! 0b11 for tables and pages, 0b01 for blocks; MemAttr [5:2] (0b1111 normal
//! write-back, 0b0001 device nGnRE); S2AP [7:6] (01 read, 10 write, 11
//! both); SH [9:8] (0b11 inner shareable); AF [10]; XN [54]. Every change
//! to a live table is followed by TLB maintenance through [`crate::Arch`].
//!
//! ASIDs are 16 bits: 7 bits select an ASID pool in the kernel's ASID
//! table, 9 bits the VSpace in the pool; ASID 0 is never used. The ASID is
//! also the VMID the architecture layer tags translations with.

use crate::cap::{Cap, VmRights, mask};
use crate::error::LookupFault;
use crate::object::{TableRef, zero_memory};
use crate::tcb::{TCB_VTABLE, TcbRef};
use crate::{Arch, Kernel};
use sel4_sys::object::{ASID_POOL_INDEX_BITS, PAGE_BITS, PAGE_TABLE_BITS, USER_VADDR_BITS};

/// Highest user address (seL4's `USER_TOP`).
pub(crate) const USER_TOP: u64 = (1 << USER_VADDR_BITS) - 1;
/// Bits one table level translates.
const PT_INDEX_BITS: u64 = 9;
/// Bits left below a level-1 entry (1 GiB).
pub(crate) const LEVEL1_BITS: u64 = PAGE_BITS as u64 + 2 * PT_INDEX_BITS;

/// Stage-2 descriptor fields (exported as `kernel_core::stage2`).
pub mod desc {
    /// Valid.
    pub const VALID: u64 = 1 << 0;
    /// Table (levels 1-2) or page (level 3), as opposed to block.
    pub const TABLE_OR_PAGE: u64 = 1 << 1;
    /// MemAttr: normal memory, inner and outer write-back cacheable.
    pub const MEMATTR_NORMAL_WB: u64 = 0b1111 << 2;
    /// MemAttr: device nGnRE.
    pub const MEMATTR_DEVICE_NGNRE: u64 = 0b0001 << 2;
    /// S2AP: read.
    pub const S2AP_READ: u64 = 1 << 6;
    /// S2AP: write.
    pub const S2AP_WRITE: u64 = 1 << 7;
    /// SH: inner shareable.
    pub const SH_INNER: u64 = 0b11 << 8;
    /// Access flag.
    pub const AF: u64 = 1 << 10;
    /// Execute never.
    pub const XN: u64 = 1 << 54;
    /// Output (or next-level table) address bits [47:12].
    pub const ADDR_MASK: u64 = ((1 << 48) - 1) & !((1 << 12) - 1);
}

/// The slot a walk for `vaddr` ended in and the size the entry there maps,
/// log2 (seL4's `lookupPTSlot_ret_t`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PtSlot {
    pub(crate) table: TableRef,
    pub(crate) index: usize,
    pub(crate) bits_left: u64,
}

impl PtSlot {
    pub(crate) fn entry(&self) -> u64 {
        self.table.get()[self.index]
    }

    pub(crate) fn set(&self, v: u64) {
        self.table.get()[self.index] = v;
    }
}

/// Whether `e`, found `bits_left` above a page, points at a next-level
/// table.
fn is_table(e: u64, bits_left: u64) -> bool {
    bits_left > PAGE_BITS as u64 && e & 3 == 3
}

/// Whether `e`, found `bits_left` above a page, maps a page or block.
pub(crate) fn is_page(e: u64, bits_left: u64) -> bool {
    if bits_left == PAGE_BITS as u64 { e & 3 == 3 } else { e & 3 == 1 }
}

/// Walks from the root `vspace` towards `vaddr` through the tables present
/// (seL4's `lookupPTSlot`).
pub(crate) fn lookup_pt_slot(vspace: u64, vaddr: u64) -> PtSlot {
    let mut bits_left = LEVEL1_BITS;
    let mut table = TableRef(vspace);
    loop {
        let index = ((vaddr >> bits_left) & mask(PT_INDEX_BITS)) as usize;
        let e = table.get()[index];
        if !is_table(e, bits_left) {
            return PtSlot { table, index, bits_left };
        }
        bits_left -= PT_INDEX_BITS;
        table = TableRef(e & desc::ADDR_MASK);
    }
}

/// The descriptor mapping the frame at `paddr` (seL4's `makeUserPagePTE`).
pub(crate) fn make_user_pte(
    paddr: u64,
    rights: VmRights,
    cacheable: bool,
    execute_never: bool,
    size_bits: u64,
) -> u64 {
    let mut e = paddr & desc::ADDR_MASK | desc::VALID | desc::AF;
    e |= if size_bits == PAGE_BITS as u64 { desc::TABLE_OR_PAGE } else { 0 };
    e |= if cacheable {
        desc::MEMATTR_NORMAL_WB | desc::SH_INNER
    } else {
        desc::MEMATTR_DEVICE_NGNRE
    };
    e |= match rights {
        VmRights::KernelOnly => 0,
        VmRights::ReadOnly => desc::S2AP_READ,
        VmRights::ReadWrite => desc::S2AP_READ | desc::S2AP_WRITE,
    };
    if execute_never {
        e |= desc::XN;
    }
    e
}

/// A table descriptor pointing at the table at `paddr`.
pub(crate) fn make_table_pte(paddr: u64) -> u64 {
    paddr & desc::ADDR_MASK | desc::VALID | desc::TABLE_OR_PAGE
}

impl<A: Arch> Kernel<A> {
    /// The VSpace assigned `asid` (seL4's `findVSpaceForASID`).
    pub(crate) fn find_vspace_for_asid(&self, asid: u16) -> Result<u64, LookupFault> {
        let pool = self.asid_table[(asid >> ASID_POOL_INDEX_BITS) as usize];
        if pool == 0 {
            return Err(LookupFault::InvalidRoot);
        }
        match TableRef(pool).get()[(asid as u64 & mask(ASID_POOL_INDEX_BITS as u64)) as usize] {
            0 => Err(LookupFault::InvalidRoot),
            v => Ok(v),
        }
    }

    /// `t`'s VSpace root and ASID, if its VSpace cap is valid and the ASID
    /// still names it (seL4's `setVMRoot` check).
    pub(crate) fn thread_vspace(&self, t: TcbRef) -> Option<(u64, u16)> {
        // Matched in place: copying the cap whole costs a memcpy.
        let Cap::VSpace { asid: Some(asid), ptr } = &t.slot(TCB_VTABLE).get().cap else {
            return None;
        };
        (self.find_vspace_for_asid(*asid) == Ok(*ptr)).then_some((*ptr, *asid))
    }

    /// Removes the mapping of the frame at `paddr` at `vaddr` in `asid`'s
    /// VSpace, if it is still there (seL4's `unmapPage`).
    pub(crate) fn unmap_page(&mut self, size_bits: u64, asid: u16, vaddr: u64, paddr: u64) {
        let Ok(vspace) = self.find_vspace_for_asid(asid) else { return };
        let slot = lookup_pt_slot(vspace, vaddr);
        let e = slot.entry();
        if slot.bits_left != size_bits || !is_page(e, slot.bits_left) {
            return;
        }
        if e & desc::ADDR_MASK != paddr {
            return;
        }
        slot.set(0);
        self.arch.tlb_flush_page(asid, vaddr);
    }

    /// Removes the table entry pointing at the page table `pt`, mapped for
    /// `vaddr` in `asid`'s VSpace (seL4's `unmapPageTable`).
    pub(crate) fn unmap_page_table(&mut self, asid: u16, vaddr: u64, pt: u64) {
        let Ok(vspace) = self.find_vspace_for_asid(asid) else { return };
        let mut table = TableRef(vspace);
        let mut bits_left = LEVEL1_BITS;
        while bits_left > PAGE_BITS as u64 {
            let index = ((vaddr >> bits_left) & mask(PT_INDEX_BITS)) as usize;
            let e = table.get()[index];
            if !is_table(e, bits_left) {
                return;
            }
            if e & desc::ADDR_MASK == pt {
                table.get()[index] = 0;
                self.arch.tlb_flush_asid(asid);
                return;
            }
            table = TableRef(e & desc::ADDR_MASK);
            bits_left -= PT_INDEX_BITS;
        }
    }

    /// Clears a page table's entries (seL4's `clearMemory_PT`).
    pub(crate) fn clear_page_table(&mut self, pt: u64) {
        zero_memory(pt, 1 << PAGE_TABLE_BITS);
    }

    /// The VSpace `vspace` loses `asid` (seL4's `deleteASID`).
    pub(crate) fn delete_asid(&mut self, asid: u16, vspace: u64) {
        let pool = self.asid_table[(asid >> ASID_POOL_INDEX_BITS) as usize];
        if pool == 0 {
            return;
        }
        let i = (asid as u64 & mask(ASID_POOL_INDEX_BITS as u64)) as usize;
        if TableRef(pool).get()[i] == vspace {
            self.arch.tlb_flush_asid(asid);
            TableRef(pool).get()[i] = 0;
        }
    }

    /// The ASID pool `pool` for ASIDs from `asid_base` is destroyed (seL4's
    /// `deleteASIDPool`).
    pub(crate) fn delete_asid_pool(&mut self, asid_base: u16, pool: u64) {
        let hi = (asid_base >> ASID_POOL_INDEX_BITS) as usize;
        if self.asid_table.get(hi) != Some(&pool) {
            return;
        }
        for i in 0..1u16 << ASID_POOL_INDEX_BITS {
            if TableRef(pool).get()[i as usize] != 0 {
                self.arch.tlb_flush_asid(asid_base + i);
            }
        }
        self.asid_table[hi] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors() {
        let e = make_user_pte(0x4000_1000, VmRights::ReadWrite, true, false, 12);
        assert_eq!(
            e,
            0x4000_1000 | 0b11 | desc::AF | desc::SH_INNER | desc::MEMATTR_NORMAL_WB | 0b11 << 6
        );
        assert!(is_page(e, 12) && !is_table(e, 12));
        let b = make_user_pte(0x4020_0000, VmRights::ReadOnly, false, true, 21);
        assert_eq!(
            b,
            0x4020_0000 | 0b01 | desc::AF | desc::MEMATTR_DEVICE_NGNRE | 1 << 6 | 1 << 54
        );
        assert!(is_page(b, 21) && !is_table(b, 21));
        assert_eq!(make_user_pte(0, VmRights::KernelOnly, true, false, 12) & (3 << 6), 0);
        let t = make_table_pte(0x4000_3000);
        assert_eq!(t, 0x4000_3003);
        assert!(is_table(t, 21) && is_table(t, 30) && !is_page(t, 21));
    }

    #[test]
    fn walks_stop_at_the_first_missing_level() {
        #[repr(C, align(4096))]
        struct Page([u64; 512]);
        let (mut l1, mut l2) = (Box::new(Page([0; 512])), Box::new(Page([0; 512])));
        let (l1, l2) = (&mut l1.0, &mut l2.0);
        let l1a = l1.as_mut_ptr() as u64;
        l1[1] = make_table_pte(l2.as_mut_ptr() as u64);
        let s = lookup_pt_slot(l1a, 0x4000_0000 + 0x60_0000);
        assert_eq!((s.bits_left, s.index), (21, 3));
        let s = lookup_pt_slot(l1a, 0x8000_0000);
        assert_eq!((s.bits_left, s.index), (30, 2));
        l2[3] = make_user_pte(0x20_0000, VmRights::ReadWrite, true, false, 21);
        let s = lookup_pt_slot(l1a, 0x4000_0000 + 0x60_1000);
        assert_eq!(s.bits_left, 21);
        assert!(is_page(s.entry(), 21));
    }
}

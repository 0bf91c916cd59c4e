//! Invocations of frames, page tables, VSpaces, ASID control and ASID
//! pools (seL4's `decodeARMMMUInvocation` and its helpers, aarch64 with
//! hypervisor support).
//!
//! A frame cap maps its frame once: a second Map of a mapped cap may only
//! change the rights at the same address. A mapping needs the page table
//! for its level to be there (`FailedLookup` otherwise) and its slot to be
//! free (`DeleteFirst`). Cache maintenance works on the frame's physical
//! addresses.

use crate::cap::{Cap, SlotRef, mask};
use crate::cdt::{cte_insert, ensure_empty_slot, ensure_no_children, is_final_capability};
use crate::cspace::lookup_target_slot;
use crate::error::{LookupFault, SysResult, SyscallError};
use crate::object::{TableRef, zero_memory};
use crate::registers::{CAP_REGISTER, MSG_INFO_REGISTER, set_mr};
use crate::syscall::Invocation;
use crate::tcb::ThreadState;
use crate::vspace::{USER_TOP, desc, is_page, lookup_pt_slot, make_table_pte, make_user_pte};
use crate::{Arch, Kernel};
use sel4_sys::object::{
    ASID_HIGH_BITS, ASID_POOL_BITS, ASID_POOL_INDEX_BITS, PAGE_BITS, VM_ATTR_EXECUTE_NEVER,
    VM_ATTR_PAGE_CACHEABLE,
};
use sel4_sys::{CapRights, InvocationLabel as L, MessageInfo};

/// Which cache operation a label asks for.
#[derive(Clone, Copy)]
enum CacheOp {
    Clean,
    Invalidate,
    CleanInvalidate,
    Unify,
}

impl<A: Arch> Kernel<A> {
    pub(crate) fn decode_mmu_invocation(&mut self, inv: &Invocation) -> SysResult {
        match inv.cap {
            Cap::Frame { .. } => self.decode_frame(inv),
            Cap::PageTable { .. } => self.decode_page_table(inv),
            Cap::VSpace { .. } => self.decode_vspace(inv),
            Cap::AsidControl => self.decode_asid_control(inv),
            Cap::AsidPool { .. } => self.decode_asid_pool(inv),
            _ => Err(SyscallError::IllegalOperation),
        }
    }

    fn do_cache_op(&mut self, op: CacheOp, paddr: u64, len: u64) {
        match op {
            CacheOp::Clean => self.arch.cache_clean(paddr, len),
            CacheOp::Invalidate => self.arch.cache_invalidate(paddr, len),
            CacheOp::CleanInvalidate => self.arch.cache_clean_invalidate(paddr, len),
            CacheOp::Unify => self.arch.cache_unify(paddr, len),
        }
    }

    /// The VSpace root and ASID of the VSpace cap in extra cap 0, checked
    /// (invalid: `InvalidCapability(1)`; ASID lost: `FailedLookup`).
    fn vspace_arg(&self, inv: &Invocation) -> SysResult<(u64, u16)> {
        let Some(Cap::VSpace { asid: Some(asid), ptr }) = inv.extra(0).map(|s| s.cap()) else {
            return Err(SyscallError::InvalidCapability(1));
        };
        let found = self
            .find_vspace_for_asid(asid)
            .map_err(|lookup| SyscallError::FailedLookup { source: false, lookup })?;
        if found != ptr {
            return Err(SyscallError::InvalidCapability(1));
        }
        Ok((ptr, asid))
    }

    fn decode_frame(&mut self, inv: &Invocation) -> SysResult {
        let Cap::Frame { size_bits, rights, device, paddr, mapped } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        let size_bits = size_bits as u64;
        match inv.label {
            L::ArmPageMap => {
                inv.need(3, 1)?;
                let vaddr = inv.arg(0);
                let vm_rights = rights.mask(CapRights(inv.arg(1)));
                let attr = inv.arg(2);
                let (vspace, asid) = self.vspace_arg(inv)?;
                if vaddr & mask(size_bits) != 0 {
                    return Err(SyscallError::AlignmentError);
                }
                match mapped {
                    Some((a, _)) if a != asid => return Err(SyscallError::InvalidCapability(1)),
                    Some((_, v)) if v != vaddr => return Err(SyscallError::InvalidArgument(0)),
                    Some(_) => {}
                    None => {
                        if vaddr.checked_add(mask(size_bits)).is_none_or(|top| top > USER_TOP) {
                            return Err(SyscallError::InvalidArgument(0));
                        }
                    }
                }
                let slot = lookup_pt_slot(vspace, vaddr);
                if slot.bits_left != size_bits {
                    return Err(SyscallError::FailedLookup {
                        source: false,
                        lookup: LookupFault::MissingCapability { bits_left: slot.bits_left },
                    });
                }
                let old = slot.entry();
                let ours = is_page(old, slot.bits_left) && old & desc::ADDR_MASK == paddr;
                if old & desc::VALID != 0 && !(mapped.is_some() && ours) {
                    return Err(SyscallError::DeleteFirst);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let cacheable = attr & VM_ATTR_PAGE_CACHEABLE != 0 && !device;
                let xn = attr & VM_ATTR_EXECUTE_NEVER != 0;
                let pte = make_user_pte(paddr, vm_rights, cacheable, xn, size_bits);
                inv.slot.set_cap(Cap::Frame {
                    size_bits: size_bits as u8,
                    rights,
                    device,
                    paddr,
                    mapped: Some((asid, vaddr)),
                });
                slot.set(pte);
                self.arch.tlb_flush_page(asid, vaddr);
                Ok(())
            }
            L::ArmPageUnmap => {
                self.set_thread_state(inv.thread, ThreadState::Restart);
                if let Some((asid, vaddr)) = mapped {
                    self.unmap_page(size_bits, asid, vaddr, paddr);
                }
                inv.slot.set_cap(Cap::Frame {
                    size_bits: size_bits as u8,
                    rights,
                    device,
                    paddr,
                    mapped: None,
                });
                Ok(())
            }
            L::ArmPageCleanData
            | L::ArmPageInvalidateData
            | L::ArmPageCleanInvalidateData
            | L::ArmPageUnifyInstruction => {
                inv.need(2, 0)?;
                let Some((asid, _)) = mapped else {
                    return Err(SyscallError::IllegalOperation);
                };
                self.find_vspace_for_asid(asid)
                    .map_err(|lookup| SyscallError::FailedLookup { source: false, lookup })?;
                let (start, end) = (inv.arg(0), inv.arg(1));
                if end <= start {
                    return Err(SyscallError::InvalidArgument(1));
                }
                let size = 1u64 << size_bits;
                if start >= size || end > size {
                    return Err(SyscallError::InvalidArgument(0));
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                self.do_cache_op(cache_op(inv.label), paddr + start, end - start);
                Ok(())
            }
            L::ArmPageGetAddress => {
                let thread = inv.thread;
                self.set_thread_state(thread, ThreadState::Restart);
                if inv.call {
                    let buffer = self.lookup_ipc_buffer(true, thread);
                    thread.get().context.regs[CAP_REGISTER] = 0;
                    let len = set_mr(thread, buffer, 0, paddr);
                    thread.get().context.regs[MSG_INFO_REGISTER] = MessageInfo::new(0, 0, 0, len).0;
                }
                self.set_thread_state(thread, ThreadState::Running);
                Ok(())
            }
            _ => Err(SyscallError::IllegalOperation),
        }
    }

    fn decode_page_table(&mut self, inv: &Invocation) -> SysResult {
        let Cap::PageTable { ptr, mapped } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        match inv.label {
            L::ArmPageTableUnmap => {
                if !is_final_capability(inv.slot) {
                    return Err(SyscallError::RevokeFirst);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                if let Some((asid, vaddr)) = mapped {
                    self.unmap_page_table(asid, vaddr, ptr);
                    self.clear_page_table(ptr);
                }
                inv.slot.set_cap(Cap::PageTable { ptr, mapped: None });
                Ok(())
            }
            L::ArmPageTableMap => {
                inv.need(2, 1)?;
                if mapped.is_some() {
                    return Err(SyscallError::InvalidCapability(0));
                }
                let vaddr = inv.arg(0);
                let Some(Cap::VSpace { asid: Some(_), .. }) = inv.extra(0).map(|s| s.cap()) else {
                    return Err(SyscallError::InvalidCapability(1));
                };
                if vaddr > USER_TOP {
                    return Err(SyscallError::InvalidArgument(0));
                }
                let (vspace, asid) = self.vspace_arg(inv)?;
                let slot = lookup_pt_slot(vspace, vaddr);
                if slot.bits_left == PAGE_BITS as u64 || slot.entry() & desc::VALID != 0 {
                    return Err(SyscallError::DeleteFirst);
                }
                self.set_thread_state(inv.thread, ThreadState::Restart);
                let at = vaddr & !mask(slot.bits_left);
                inv.slot.set_cap(Cap::PageTable { ptr, mapped: Some((asid, at)) });
                slot.set(make_table_pte(ptr));
                self.arch.tlb_flush_page(asid, at);
                Ok(())
            }
            _ => Err(SyscallError::IllegalOperation),
        }
    }

    /// The VSpace cache operations: MR0 start, MR1 end (virtual), within
    /// one mapped page.
    fn decode_vspace(&mut self, inv: &Invocation) -> SysResult {
        let op = match inv.label {
            L::ArmVSpaceCleanData
            | L::ArmVSpaceInvalidateData
            | L::ArmVSpaceCleanInvalidateData
            | L::ArmVSpaceUnifyInstruction => cache_op(inv.label),
            _ => return Err(SyscallError::IllegalOperation),
        };
        inv.need(2, 0)?;
        let (start, end) = (inv.arg(0), inv.arg(1));
        if end <= start {
            return Err(SyscallError::InvalidArgument(1));
        }
        if end > USER_TOP + 1 {
            return Err(SyscallError::IllegalOperation);
        }
        let Cap::VSpace { asid: Some(asid), ptr } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        let found = self
            .find_vspace_for_asid(asid)
            .map_err(|lookup| SyscallError::FailedLookup { source: false, lookup })?;
        if found != ptr {
            return Err(SyscallError::InvalidCapability(0));
        }
        let slot = lookup_pt_slot(ptr, start);
        let e = slot.entry();
        if !is_page(e, slot.bits_left) {
            self.set_thread_state(inv.thread, ThreadState::Restart);
            return Ok(());
        }
        let page_mask = mask(slot.bits_left);
        if start & !page_mask != (end - 1) & !page_mask {
            return Err(SyscallError::RangeError {
                min: start,
                max: (start & !page_mask) + page_mask,
            });
        }
        self.set_thread_state(inv.thread, ThreadState::Restart);
        let pstart = (e & desc::ADDR_MASK) + (start & page_mask);
        self.do_cache_op(op, pstart, end - start);
        Ok(())
    }

    /// MakePool: MR0 index, MR1 depth; extra caps: a 4 KiB untyped without
    /// children, the destination CNode.
    fn decode_asid_control(&mut self, inv: &Invocation) -> SysResult {
        if inv.label != L::ArmAsidControlMakePool {
            return Err(SyscallError::IllegalOperation);
        }
        inv.need(2, 2)?;
        let (index, depth) = (inv.arg(0), inv.arg(1));
        let (Some(parent), Some(root)) = (inv.extra(0), inv.extra(1)) else {
            return Err(SyscallError::TruncatedMessage);
        };
        let Some(hi) = self.asid_table.iter().position(|&p| p == 0) else {
            return Err(SyscallError::DeleteFirst);
        };
        let Cap::Untyped { size_bits, device: false, base, .. } = parent.cap() else {
            return Err(SyscallError::InvalidCapability(1));
        };
        if size_bits as usize != ASID_POOL_BITS {
            return Err(SyscallError::InvalidCapability(1));
        }
        ensure_no_children(parent)?;
        let dest = lookup_target_slot(root.cap(), index, depth)?;
        ensure_empty_slot(dest)?;
        self.set_thread_state(inv.thread, ThreadState::Restart);
        parent.set_cap(Cap::Untyped { size_bits, device: false, base, free_index: 1 << size_bits });
        zero_memory(base, 1 << ASID_POOL_BITS);
        let asid_base = (hi as u16) << ASID_POOL_INDEX_BITS;
        cte_insert(Cap::AsidPool { asid_base, ptr: base }, parent, dest);
        self.asid_table[hi] = base;
        Ok(())
    }

    /// Assign: extra cap 0 a VSpace without an ASID; it gets the pool's
    /// first free ASID.
    fn decode_asid_pool(&mut self, inv: &Invocation) -> SysResult {
        if inv.label != L::ArmAsidPoolAssign {
            return Err(SyscallError::IllegalOperation);
        }
        let Cap::AsidPool { asid_base, ptr: pool } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        let vslot: SlotRef = inv.extra(0).ok_or(SyscallError::TruncatedMessage)?;
        let Cap::VSpace { asid: None, ptr: vspace } = vslot.cap() else {
            return Err(SyscallError::InvalidCapability(1));
        };
        let hi = (asid_base >> ASID_POOL_INDEX_BITS) as usize;
        match self.asid_table.get(hi).copied() {
            None | Some(0) => {
                return Err(SyscallError::FailedLookup {
                    source: false,
                    lookup: LookupFault::InvalidRoot,
                });
            }
            Some(p) if p != pool => return Err(SyscallError::InvalidCapability(0)),
            Some(_) => {}
        }
        let table = TableRef(pool);
        let Some(i) = (0..1u16 << ASID_POOL_INDEX_BITS)
            .find(|&i| asid_base + i != 0 && table.get()[i as usize] == 0)
        else {
            return Err(SyscallError::DeleteFirst);
        };
        self.set_thread_state(inv.thread, ThreadState::Restart);
        self.space_changed();
        let asid = asid_base + i;
        vslot.set_cap(Cap::VSpace { asid: Some(asid), ptr: vspace });
        table.get()[i as usize] = vspace;
        Ok(())
    }
}

/// The cache operation of a frame or VSpace cache label.
fn cache_op(label: L) -> CacheOp {
    match label {
        L::ArmPageCleanData | L::ArmVSpaceCleanData => CacheOp::Clean,
        L::ArmPageInvalidateData | L::ArmVSpaceInvalidateData => CacheOp::Invalidate,
        L::ArmPageCleanInvalidateData | L::ArmVSpaceCleanInvalidateData => CacheOp::CleanInvalidate,
        _ => CacheOp::Unify,
    }
}

const _: () = assert!(ASID_HIGH_BITS + ASID_POOL_INDEX_BITS == 16);

//! Mapping frames: into a program's VSpace (making the page tables the
//! mapping needs), and briefly into the root task's own scratch window to
//! fill a frame before it is handed over.
//!
//! Root task addresses (its image at 0x400000, then its IPC buffer, boot
//! info and the boot modules, mapped by the kernel):
//!
//! ```text
//!  SCRATCH  one page: the frame being filled (mapped, written, unmapped)
//! ```

use alloc::format;
use alloc::string::String;

use sel4::init_thread::slot;
use sel4::{CapRights, Error, ObjectBlueprint, VmAttributes, cap};

use crate::mem::{Slots, cap_at};

/// Where the root task maps a frame it fills.
pub const SCRATCH: u64 = 0x10_0000_0000;
pub const PAGE: u64 = 4096;

/// Something that makes page tables (into a root slot it returns).
pub trait TableSource {
    fn page_table(&mut self) -> Result<u64, String>;
}

/// Maps the frame in root slot `frame` at `vaddr` of `vspace`, making page
/// tables from `tables` until the mapping finds its level.
pub fn map(
    vspace: cap::VSpace,
    frame: u64,
    vaddr: u64,
    rights: CapRights,
    attrs: VmAttributes,
    tables: &mut dyn TableSource,
) -> Result<(), String> {
    let f: cap::Granule = cap_at(frame);
    for _ in 0..4 {
        match f.frame_map(vspace, vaddr as usize, rights, attrs) {
            Ok(()) => return Ok(()),
            Err(Error::FailedLookup) => {
                let pt: cap::PageTable = cap_at(tables.page_table()?);
                pt.page_table_map(vspace, vaddr as usize, VmAttributes::DEFAULT)
                    .map_err(|e| format!("mapping a page table at {vaddr:#x}: {e:?}"))?;
            }
            Err(e) => return Err(format!("mapping a frame at {vaddr:#x}: {e:?}")),
        }
    }
    Err(format!("mapping a frame at {vaddr:#x}: no page table level took it"))
}

/// Page tables for the root task's own scratch window, from the pool.
pub struct RootTables<'a> {
    pub pool: &'a mut crate::mem::Pool,
    pub slots: &'a mut Slots,
}

impl TableSource for RootTables<'_> {
    fn page_table(&mut self) -> Result<u64, String> {
        let s = self.slots.take()?;
        self.pool.retype(&ObjectBlueprint::PageTable, s)?;
        Ok(s)
    }
}

/// Makes the page tables of the scratch window (once, at start), by
/// mapping and unmapping the frame in root slot `frame` there.
pub fn prepare_scratch(frame: u64, tables: &mut RootTables<'_>) -> Result<(), String> {
    map(
        slot::VSPACE.cap(),
        frame,
        SCRATCH,
        CapRights::read_write(),
        VmAttributes::DEFAULT,
        tables,
    )?;
    let f: cap::Granule = cap_at(frame);
    f.frame_unmap().map_err(|e| format!("unmapping the scratch page: {e:?}"))
}

/// A table source for mappings whose tables exist already.
struct NoTables;

impl TableSource for NoTables {
    fn page_table(&mut self) -> Result<u64, String> {
        Err("the scratch window has no page table".into())
    }
}

/// Fills the 4 KiB frame in root slot `frame` through the scratch window:
/// zeroes it, then lets `fill` write it; cleans the data cache and, for
/// code, invalidates the instruction cache over it.
pub fn fill(frame: u64, code: bool, fill: impl FnOnce(&mut [u8])) -> Result<(), String> {
    let vspace = slot::VSPACE.cap();
    map(vspace, frame, SCRATCH, CapRights::read_write(), VmAttributes::DEFAULT, &mut NoTables)?;
    // SAFETY: the frame is mapped read-write at SCRATCH, a page nothing
    // else in the root task uses, until the unmap below; the slice does not
    // outlive this block.
    let page = unsafe { core::slice::from_raw_parts_mut(SCRATCH as *mut u8, PAGE as usize) };
    page.fill(0);
    fill(page);
    let f: cap::Granule = cap_at(frame);
    let r = if code {
        f.frame_unify_instruction(0, PAGE as usize)
    } else {
        f.frame_clean_data(0, PAGE as usize)
    };
    let unmapped = f.frame_unmap();
    r.map_err(|e| format!("cache maintenance of a loaded page: {e:?}"))?;
    unmapped.map_err(|e| format!("unmapping the scratch page: {e:?}"))
}

//! What bootstrap reads from the firmware's device tree: RAM banks, MMIO
//! regions, and the console UART (`/chosen/stdout-path`).

use bootimage::handoff::{BootInfo, Full, Region};
use fdt::Fdt;

const PAGE: u64 = 4096;

/// The parts of the device tree bootstrap needs before boot info exists.
pub struct Machine<'a> {
    pub fdt: Fdt<'a>,
    pub uart: Option<u64>,
}

/// Parses the device tree at `addr`.
///
/// # Safety
/// `addr` must be readable for at least the 40-byte FDT header and, if that
/// header is valid, for the size it announces.
pub unsafe fn parse(addr: u64) -> Result<Machine<'static>, &'static str> {
    // SAFETY: the caller guarantees the header is readable.
    let header = unsafe { core::slice::from_raw_parts(addr as *const u8, 40) };
    if header[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
        return Err("no device tree at the start of RAM (bad magic)");
    }
    let total = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    // SAFETY: the header is valid, so the caller guarantees `total` bytes.
    let blob = unsafe { core::slice::from_raw_parts(addr as *const u8, total) };
    let fdt = Fdt::new(blob).map_err(|_| "device tree is malformed")?;
    if fdt.find_node("/memory").is_none() {
        return Err("device tree has no /memory node");
    }
    let uart = fdt
        .chosen()
        .stdout()
        .and_then(|n| n.reg())
        .and_then(|mut r| r.next())
        .map(|r| r.starting_address as u64);
    Ok(Machine { fdt, uart })
}

impl Machine<'_> {
    /// Total size of the device tree blob.
    pub fn size(&self) -> u64 {
        self.fdt.total_size() as u64
    }

    /// Records RAM banks and device regions in `bi`. Device regions are every
    /// `reg` of every node outside RAM, page aligned and merged.
    pub fn describe(&self, bi: &mut BootInfo) -> Result<(), Full> {
        for r in self.fdt.memory().regions() {
            let size = r.size.unwrap_or(0) as u64;
            if size != 0 {
                bi.add_ram(Region::new(r.starting_address as u64, size))?;
            }
        }
        for node in self.fdt.all_nodes() {
            if node.name.starts_with("memory") || node.name.starts_with("cpu") {
                continue;
            }
            let Some(regs) = node.reg() else { continue };
            for r in regs {
                let base = r.starting_address as u64;
                let size = r.size.unwrap_or(0) as u64;
                if size == 0 {
                    continue;
                }
                let start = base & !(PAGE - 1);
                let end = (base + size + PAGE - 1) & !(PAGE - 1);
                let region = Region::new(start, end - start);
                if bi.ram().iter().any(|m| m.overlaps(&region)) {
                    continue;
                }
                bi.add_device(region)?;
            }
        }
        Ok(())
    }
}

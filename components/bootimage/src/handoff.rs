//! The boot-info record bootstrap hands to the kernel in `x0`.
//!
//! One `repr(C)` structure of fixed size, written by bootstrap into a
//! page-aligned area it reserves, read by the kernel's early boot code. It
//! describes everything the kernel needs to turn the machine into untyped
//! memory and start the root task:
//!
//! - `ram`: every RAM bank the firmware's device tree names;
//! - `reserved`: RAM already in use (kernel, bootstrap's image, the inflated
//!   modules, the root task, this record); everything else in `ram` is free;
//! - `devices`: every MMIO region the device tree names outside RAM, page
//!   aligned and merged;
//! - `modules`: each boot module with its name, command line, physical
//!   address and size, in modules.list order;
//! - `root`: where the root task's image lies, physically contiguous, and
//!   where it wants to run, as seL4's elfloader passes it.
//!
//! - `dtb`: a copy of the firmware's device tree.
//!
//! Names and command lines live in `strings`, referenced by offset and length.

use core::fmt;

/// Identifies a boot-info record.
pub const MAGIC: u64 = u64::from_le_bytes(*b"BOOTINFO");
/// Layout version.
pub const VERSION: u32 = 1;
/// Capacity of each table; bootstrap stops with an error when one is full.
pub const MAX_RAM: usize = 8;
pub const MAX_RESERVED: usize = 80;
pub const MAX_DEVICES: usize = 64;
pub const MAX_MODULES: usize = 64;
pub const STRINGS_SIZE: usize = 8192;

/// A physical address range.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

impl Region {
    pub const fn new(base: u64, size: u64) -> Self {
        Region { base, size }
    }
    /// First address past the region.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }
    /// Whether the two regions share an address.
    pub const fn overlaps(&self, other: &Region) -> bool {
        self.size != 0 && other.size != 0 && self.base < other.end() && other.base < self.end()
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#012x}-{:#012x})", self.base, self.end())
    }
}

/// A boot module as placed in memory by bootstrap.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct ModuleDesc {
    pub name_off: u32,
    pub name_len: u32,
    pub cmdline_off: u32,
    pub cmdline_len: u32,
    /// [`crate::Flags`] bits from the module table.
    pub flags: u32,
    pub _pad: u32,
    /// Physical address (page aligned) and size in bytes, after inflating.
    pub region: Region,
}

/// The root task's image: `size` bytes at physical `paddr`, to be mapped at
/// virtual `vaddr` (both page aligned); execution starts at `entry`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct RootImage {
    pub paddr: u64,
    pub vaddr: u64,
    pub size: u64,
    pub entry: u64,
    /// Index of the root task in `modules`.
    pub module: u32,
    /// Whether a root task was loaded at all.
    pub present: u32,
}

/// The boot-info record.
#[repr(C)]
pub struct BootInfo {
    pub magic: u64,
    pub version: u32,
    /// `size_of::<BootInfo>()`, so a reader can check it matches its own.
    pub size: u32,
    /// Base of the PL011 named by the device tree's `/chosen/stdout-path`;
    /// 0 when there is none.
    pub uart_base: u64,
    /// The physical range the kernel was loaded to, and its entry point.
    pub kernel: Region,
    pub kernel_entry: u64,
    /// A copy of the firmware's device tree.
    pub dtb: Region,
    pub root: RootImage,
    pub n_ram: u32,
    pub n_reserved: u32,
    pub n_devices: u32,
    pub n_modules: u32,
    pub strings_used: u32,
    pub _pad: u32,
    pub ram: [Region; MAX_RAM],
    pub reserved: [Region; MAX_RESERVED],
    pub devices: [Region; MAX_DEVICES],
    pub modules: [ModuleDesc; MAX_MODULES],
    pub strings: [u8; STRINGS_SIZE],
}

/// A table of the record is full, or a string does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Ram,
    Reserved,
    Devices,
    Modules,
    Strings,
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Full::Ram => "RAM banks",
            Full::Reserved => "reserved regions",
            Full::Devices => "device regions",
            Full::Modules => "modules",
            Full::Strings => "module names and command lines",
        };
        write!(f, "boot info has no room for more {what}")
    }
}

fn push<T: Copy>(arr: &mut [T], n: &mut u32, v: T, err: Full) -> Result<(), Full> {
    let slot = arr.get_mut(*n as usize).ok_or(err)?;
    *slot = v;
    *n += 1;
    Ok(())
}

impl BootInfo {
    /// Fills `self` in as an empty record.
    pub fn init(&mut self) {
        self.magic = MAGIC;
        self.version = VERSION;
        self.size = core::mem::size_of::<BootInfo>() as u32;
        self.uart_base = 0;
        self.kernel = Region::default();
        self.kernel_entry = 0;
        self.dtb = Region::default();
        self.root = RootImage::default();
        self.n_ram = 0;
        self.n_reserved = 0;
        self.n_devices = 0;
        self.n_modules = 0;
        self.strings_used = 0;
        self._pad = 0;
    }

    /// Whether magic, version and size match this reader.
    pub fn is_valid(&self) -> bool {
        self.magic == MAGIC
            && self.version == VERSION
            && self.size as usize == core::mem::size_of::<BootInfo>()
            && self.n_ram as usize <= MAX_RAM
            && self.n_reserved as usize <= MAX_RESERVED
            && self.n_devices as usize <= MAX_DEVICES
            && self.n_modules as usize <= MAX_MODULES
            && self.strings_used as usize <= STRINGS_SIZE
    }

    pub fn add_ram(&mut self, r: Region) -> Result<(), Full> {
        push(&mut self.ram, &mut self.n_ram, r, Full::Ram)
    }

    pub fn add_reserved(&mut self, r: Region) -> Result<(), Full> {
        push(&mut self.reserved, &mut self.n_reserved, r, Full::Reserved)
    }

    /// Adds a device region, keeping the list sorted by address and merging
    /// regions that overlap (two devices that merely touch stay apart).
    pub fn add_device(&mut self, r: Region) -> Result<(), Full> {
        if r.size == 0 {
            return Ok(());
        }
        let n = self.n_devices as usize;
        let mut merged = r;
        let mut keep = 0;
        let mut out = [Region::default(); MAX_DEVICES];
        for d in &self.devices[..n] {
            if d.overlaps(&merged) {
                let base = d.base.min(merged.base);
                merged = Region::new(base, d.end().max(merged.end()) - base);
            } else {
                out[keep] = *d;
                keep += 1;
            }
        }
        if keep == MAX_DEVICES {
            return Err(Full::Devices);
        }
        let at = out[..keep].iter().position(|d| d.base > merged.base).unwrap_or(keep);
        out.copy_within(at..keep, at + 1);
        out[at] = merged;
        self.devices = out;
        self.n_devices = keep as u32 + 1;
        Ok(())
    }

    fn add_string(&mut self, s: &str) -> Result<(u32, u32), Full> {
        let off = self.strings_used as usize;
        let end = off + s.len();
        if end > STRINGS_SIZE {
            return Err(Full::Strings);
        }
        self.strings[off..end].copy_from_slice(s.as_bytes());
        self.strings_used = end as u32;
        Ok((off as u32, s.len() as u32))
    }

    /// Records a module; returns its index.
    pub fn add_module(
        &mut self,
        name: &str,
        cmdline: &str,
        flags: u32,
        region: Region,
    ) -> Result<usize, Full> {
        if self.n_modules as usize >= MAX_MODULES {
            return Err(Full::Modules);
        }
        let (name_off, name_len) = self.add_string(name)?;
        let (cmdline_off, cmdline_len) = self.add_string(cmdline)?;
        let idx = self.n_modules as usize;
        let d = ModuleDesc { name_off, name_len, cmdline_off, cmdline_len, flags, _pad: 0, region };
        push(&mut self.modules, &mut self.n_modules, d, Full::Modules)?;
        Ok(idx)
    }

    fn str_at(&self, off: u32, len: u32) -> &str {
        let end = (off as usize + len as usize).min(self.strings_used as usize);
        let start = (off as usize).min(end);
        core::str::from_utf8(&self.strings[start..end]).unwrap_or("<invalid>")
    }

    pub fn ram(&self) -> &[Region] {
        &self.ram[..(self.n_ram as usize).min(MAX_RAM)]
    }
    pub fn reserved(&self) -> &[Region] {
        &self.reserved[..(self.n_reserved as usize).min(MAX_RESERVED)]
    }
    pub fn devices(&self) -> &[Region] {
        &self.devices[..(self.n_devices as usize).min(MAX_DEVICES)]
    }

    /// RAM not covered by any reserved region, page aligned inwards, in
    /// address order; fills `out` and returns how many regions it holds
    /// (regions past its capacity are left out).
    pub fn free_ram(&self, out: &mut [Region]) -> usize {
        const PAGE: u64 = 4096;
        let mut n = 0;
        for bank in self.ram() {
            let mut at = bank.base;
            while at < bank.end() {
                // The reserved region covering `at`, or the next one above it.
                let cover = self
                    .reserved()
                    .iter()
                    .filter(|r| r.base <= at && at < r.end())
                    .map(|r| r.end())
                    .max();
                if let Some(end) = cover {
                    at = end;
                    continue;
                }
                let next = self
                    .reserved()
                    .iter()
                    .map(|r| r.base)
                    .filter(|&b| b > at)
                    .min()
                    .unwrap_or(u64::MAX);
                let end = next.min(bank.end());
                let (b, e) = ((at + PAGE - 1) & !(PAGE - 1), end & !(PAGE - 1));
                if e > b && n < out.len() {
                    out[n] = Region::new(b, e - b);
                    n += 1;
                }
                at = end;
            }
        }
        n
    }

    /// The modules as (name, command line, descriptor).
    pub fn modules(&self) -> impl Iterator<Item = (&str, &str, &ModuleDesc)> {
        self.modules[..(self.n_modules as usize).min(MAX_MODULES)].iter().map(|m| {
            (self.str_at(m.name_off, m.name_len), self.str_at(m.cmdline_off, m.cmdline_len), m)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Box<BootInfo> {
        // SAFETY: BootInfo is plain old data (integers and arrays of them);
        // the all-zero bit pattern is a valid value.
        let mut b: Box<BootInfo> = unsafe { Box::new_zeroed().assume_init() };
        b.init();
        b
    }

    #[test]
    fn records_modules_and_strings() {
        let mut b = fresh();
        assert!(b.is_valid());
        let i = b.add_module("kernel", "kernel -v", 1, Region::new(0x4000_0000, 0x1000)).unwrap();
        assert_eq!(i, 0);
        b.add_module("io.cfg", "io.cfg", 0, Region::new(0x4100_0000, 77)).unwrap();
        let ms: Vec<_> =
            b.modules().map(|(n, c, d)| (n.to_owned(), c.to_owned(), d.region)).collect();
        assert_eq!(ms[0].0, "kernel");
        assert_eq!(ms[0].1, "kernel -v");
        assert_eq!(ms[1].2, Region::new(0x4100_0000, 77));
    }

    #[test]
    fn devices_sorted_and_merged_when_overlapping() {
        let mut b = fresh();
        b.add_device(Region::new(0x0900_0000, 0x1000)).unwrap();
        b.add_device(Region::new(0x0800_0000, 0x1_0000)).unwrap();
        b.add_device(Region::new(0x0801_0000, 0x1_0000)).unwrap();
        assert_eq!(
            b.devices(),
            &[
                Region::new(0x0800_0000, 0x1_0000),
                Region::new(0x0801_0000, 0x1_0000),
                Region::new(0x0900_0000, 0x1000)
            ]
        );
        // One region spanning two others swallows both.
        b.add_device(Region::new(0x0800_8000, 0x1_0000)).unwrap();
        assert_eq!(
            b.devices(),
            &[Region::new(0x0800_0000, 0x2_0000), Region::new(0x0900_0000, 0x1000)]
        );
        b.add_device(Region::new(0x0900_0000, 0)).unwrap();
        assert_eq!(b.devices().len(), 2);
    }

    #[test]
    fn full_tables_report_errors() {
        let mut b = fresh();
        for _ in 0..MAX_RAM {
            b.add_ram(Region::new(0, 1)).unwrap();
        }
        assert_eq!(b.add_ram(Region::new(0, 1)), Err(Full::Ram));
        let long = "x".repeat(STRINGS_SIZE);
        assert_eq!(b.add_module(&long, "y", 0, Region::default()), Err(Full::Strings));
        assert_eq!(b.n_modules, 0);
    }

    #[test]
    fn free_ram_subtracts_reserved() {
        let mut b = fresh();
        b.add_ram(Region::new(0x4000_0000, 0x100_0000)).unwrap();
        b.add_reserved(Region::new(0x4000_0000, 0x2_0000)).unwrap();
        b.add_reserved(Region::new(0x4080_0000, 0x1800)).unwrap();
        b.add_reserved(Region::new(0x4010_0000, 0x1000)).unwrap();
        b.add_reserved(Region::new(0x4010_0800, 0x1000)).unwrap();
        let mut out = [Region::default(); 8];
        let n = b.free_ram(&mut out);
        assert_eq!(
            &out[..n],
            &[
                Region::new(0x4002_0000, 0x4010_0000 - 0x4002_0000),
                Region::new(0x4010_2000, 0x4080_0000 - 0x4010_2000),
                Region::new(0x4080_2000, 0x4100_0000 - 0x4080_2000),
            ]
        );
        let mut small = [Region::default(); 1];
        assert_eq!(b.free_ram(&mut small), 1);
    }

    #[test]
    fn region_overlap() {
        let a = Region::new(0x1000, 0x1000);
        assert!(a.overlaps(&Region::new(0x1fff, 1)));
        assert!(!a.overlaps(&Region::new(0x2000, 1)));
        assert!(!a.overlaps(&Region::new(0x1000, 0)));
    }
}

//! Placing the guest's kernel, device tree and initrd in its RAM, as Linux's
//! arm64 `booting.rst` asks: the kernel `text_offset` bytes above a 2 MiB
//! aligned base with `image_size` bytes free from there; the device tree
//! 8-byte aligned, at most 2 MiB, apart from the kernel; the initrd
//! anywhere else in RAM.
//!
//! The kernel goes as low as it can, the device tree at the top of RAM and
//! the initrd (page aligned) just below the device tree, leaving the rest
//! between them to the kernel's allocator.

use alloc::string::String;
use core::fmt;

use crate::dt::Device;

/// Alignment of the kernel's base.
pub const KERNEL_ALIGN: u64 = 2 << 20;
/// Largest device tree Linux takes.
pub const DTB_MAX: u64 = 2 << 20;
/// Alignment of the device tree.
pub const DTB_ALIGN: u64 = 8;
/// Alignment of the initrd.
pub const PAGE_SIZE: u64 = 4096;

/// Where everything goes, as guest physical addresses; ranges are
/// half-open `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The kernel's load address, its entry point.
    pub kernel: u64,
    /// End of the kernel's `image_size` bytes.
    pub kernel_end: u64,
    /// The device tree's address (the entry `x0`).
    pub dtb: u64,
    /// The initrd's start, for `/chosen` `linux,initrd-start`.
    pub initrd: u64,
    /// The initrd's end (`initrd` + its size; equal to `initrd` without
    /// an initrd), for `linux,initrd-end`.
    pub initrd_end: u64,
}

/// Why the guest does not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `base + size` overflows.
    RamWraps { base: u64, size: u64 },
    /// The kernel's range runs past the end of RAM.
    KernelDoesNotFit { kernel: u64, image_size: u64, ram_end: u64 },
    /// The device tree is larger than Linux takes.
    DtbTooLarge { size: u64 },
    /// Two of the kernel, the device tree and the initrd overlap, or one
    /// does not fit in RAM below another.
    Overlap { what: &'static str, range: (u64, u64), other: &'static str, other_range: (u64, u64) },
    /// Guest RAM covers a device's MMIO region.
    RamOverlapsDevice { ram: (u64, u64), path: String, reg: (u64, u64) },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::RamWraps { base, size } => {
                write!(f, "guest RAM at {base:#x} of {size:#x} bytes runs past the address space")
            }
            LayoutError::KernelDoesNotFit { kernel, image_size, ram_end } => write!(
                f,
                "the kernel needs [{kernel:#x}, {:#x}) ({image_size:#x} bytes from its load \
                 address) but guest RAM ends at {ram_end:#x}",
                kernel.saturating_add(*image_size)
            ),
            LayoutError::DtbTooLarge { size } => write!(
                f,
                "the device tree is {size:#x} bytes; Linux takes at most {DTB_MAX:#x} (2 MiB)"
            ),
            LayoutError::Overlap { what, range, other, other_range } => write!(
                f,
                "the {what} [{:#x}, {:#x}) overlaps the {other} [{:#x}, {:#x})",
                range.0, range.1, other_range.0, other_range.1
            ),
            LayoutError::RamOverlapsDevice { ram, path, reg } => write!(
                f,
                "guest RAM [{:#x}, {:#x}) overlaps {path} reg [{:#x}, {:#x})",
                ram.0, ram.1, reg.0, reg.1
            ),
        }
    }
}

const fn align_down(x: u64, a: u64) -> u64 {
    x & !(a - 1)
}

/// Places kernel, device tree and initrd (`initrd_size` 0: none) in guest
/// RAM `[ram_base, ram_base + ram_size)`.
pub fn place(
    ram_base: u64,
    ram_size: u64,
    image_size: u64,
    text_offset: u64,
    dtb_size: u64,
    initrd_size: u64,
) -> Result<Placement, LayoutError> {
    let wraps = LayoutError::RamWraps { base: ram_base, size: ram_size };
    let ram_end = ram_base.checked_add(ram_size).ok_or(wraps.clone())?;
    let base = ram_base.checked_next_multiple_of(KERNEL_ALIGN).ok_or(wraps)?;
    let kernel = base.saturating_add(text_offset);
    let kernel_end = kernel.saturating_add(image_size);
    if kernel_end > ram_end {
        return Err(LayoutError::KernelDoesNotFit { kernel, image_size, ram_end });
    }
    if dtb_size > DTB_MAX {
        return Err(LayoutError::DtbTooLarge { size: dtb_size });
    }
    let kernel_range = (kernel, kernel_end);
    let overlap = |what, range: (u64, u64), other, other_range| LayoutError::Overlap {
        what,
        range,
        other,
        other_range,
    };
    let dtb = align_down(ram_end.saturating_sub(dtb_size), DTB_ALIGN);
    if dtb < kernel_end {
        return Err(overlap("device tree", (dtb, dtb + dtb_size), "kernel", kernel_range));
    }
    let initrd =
        if initrd_size == 0 { dtb } else { align_down(dtb.saturating_sub(initrd_size), PAGE_SIZE) };
    let initrd_end = initrd + initrd_size;
    if initrd_size > dtb || initrd < kernel_end {
        return Err(overlap("initrd", (initrd, initrd_end), "kernel", kernel_range));
    }
    Ok(Placement { kernel, kernel_end, dtb, initrd, initrd_end })
}

/// Checks that guest RAM `(base, size)` covers no MMIO region of the
/// memory-mapped devices.
pub fn check_ram_against_devices(ram: (u64, u64), devices: &[Device]) -> Result<(), LayoutError> {
    let ram = (ram.0, ram.0.saturating_add(ram.1));
    for d in devices.iter().filter(|d| d.mapped) {
        for &(base, size) in &d.regs {
            let reg = (base, base.saturating_add(size));
            if size != 0 && reg.0 < ram.1 && ram.0 < reg.1 {
                return Err(LayoutError::RamOverlapsDevice { ram, path: d.path.clone(), reg });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const MIB: u64 = 1 << 20;

    #[test]
    fn typical_guest() {
        // 128 MiB at 0x40000000, a 33.6 MB kernel, a 4 KiB tree, an 8 MiB initrd.
        let p = place(0x4000_0000, 128 * MIB, 33_600_000, 0, 4096, 8 * MIB + 5).unwrap();
        assert_eq!(p.kernel, 0x4000_0000);
        assert_eq!(p.kernel_end, 0x4000_0000 + 33_600_000);
        assert_eq!(p.dtb, 0x4800_0000 - 4096);
        let (start, end) = (p.initrd, p.initrd_end);
        assert_eq!(start % PAGE_SIZE, 0);
        assert_eq!(end - start, 8 * MIB + 5);
        assert!(end <= p.dtb && start >= p.kernel_end);
    }

    #[test]
    fn alignment() {
        // An unaligned RAM base: the kernel's base rounds up to 2 MiB.
        let p = place(0x4010_0000, 64 * MIB, MIB, 0x8_0000, 1001, 0).unwrap();
        assert_eq!(p.kernel, 0x4020_0000 + 0x8_0000);
        assert_eq!(p.dtb % 8, 0);
        assert_eq!(p.dtb, (0x4410_0000 - 1001) & !7);
        assert_eq!((p.initrd, p.initrd_end), (p.dtb, p.dtb), "no initrd: an empty range");
        // No initrd, and the tree right after the kernel in the same page.
        let p = place(0, 4 * MIB, 4 * MIB - 0x800, 0, 0x400, 0).unwrap();
        assert_eq!((p.dtb, p.initrd), (4 * MIB - 0x400, 4 * MIB - 0x400));
    }

    #[test]
    fn does_not_fit() {
        let e = place(0x4000_0000, 32 * MIB, 40 * MIB, 0, 4096, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the kernel needs [0x40000000, 0x42800000) (0x2800000 bytes from its load address) \
             but guest RAM ends at 0x42000000"
        );
        let e = place(0x4000_0000, 64 * MIB, 32 * MIB, 0, 3 * MIB, 0).unwrap_err();
        assert_eq!(e, LayoutError::DtbTooLarge { size: 3 * MIB });
        let e = place(0x4000_0000, 32 * MIB, 32 * MIB, 0, 4096, 0).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the device tree [0x41fff000, 0x42000000) overlaps the kernel"),
            "{e}"
        );
        let e = place(0x4000_0000, 64 * MIB, 32 * MIB, 0, 4096, 32 * MIB).unwrap_err();
        assert!(matches!(e, LayoutError::Overlap { what: "initrd", other: "kernel", .. }), "{e}");
        assert!(matches!(
            place(u64::MAX - MIB, 2 * MIB, 0, 0, 0, 0),
            Err(LayoutError::RamWraps { .. })
        ));
        // An initrd larger than everything below the tree.
        let e = place(0, 64 * MIB, 0, 0, 4096, 128 * MIB).unwrap_err();
        assert!(matches!(e, LayoutError::Overlap { what: "initrd", .. }));
    }

    fn dev(path: &str, regs: Vec<(u64, u64)>, mapped: bool) -> Device {
        Device { path: path.into(), compatible: vec![], regs, irqs: vec![], enabled: true, mapped }
    }

    #[test]
    fn ram_against_devices() {
        let devs = vec![
            dev("/pl011@9000000", vec![(0x900_0000, 0x1000)], true),
            dev("/pl031@9010000", vec![(0x901_0000, 0x1000)], true),
            dev("/i2c/rtc@68", vec![], false),
        ];
        check_ram_against_devices((0x4000_0000, 0x800_0000), &devs).unwrap();
        check_ram_against_devices((0x900_1000, 0xf000), &devs).unwrap();
        let e = check_ram_against_devices((0x800_0000, 0x800_0000), &devs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "guest RAM [0x8000000, 0x10000000) overlaps /pl011@9000000 reg [0x9000000, 0x9001000)"
        );
        let e = check_ram_against_devices((0x900_1000, 0x1_0000), &devs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "guest RAM [0x9001000, 0x9011000) overlaps /pl031@9010000 reg [0x9010000, 0x9011000)"
        );
    }
}

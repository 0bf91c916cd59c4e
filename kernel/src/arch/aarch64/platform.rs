//! What the kernel reads from the machine's device tree (bootstrap's copy):
//! where the GIC is and which interrupt the EL2 timer raises.

use fdt::Fdt;

pub struct Platform {
    pub gicd: u64,
    pub gicc: u64,
    /// The GIC regions the kernel keeps for itself: distributor, CPU
    /// interface, hypervisor interface (each 64 KiB on QEMU virt).
    pub gic_regions: [(u64, u64); 3],
    /// The GIC's virtual CPU interface (GICV), which VMMs map into guests
    /// ((0, 0): none).
    pub gicv: (u64, u64),
    /// INTID of the EL2 physical timer.
    pub hyp_timer_irq: u32,
}

/// Reads the device tree blob at `addr`.
///
/// # Safety
/// `[addr, addr + size)` must be readable and hold a device tree.
pub unsafe fn discover(addr: u64, size: u64) -> Result<Platform, &'static str> {
    // SAFETY: the caller's guarantee.
    let blob = unsafe { core::slice::from_raw_parts(addr as *const u8, size as usize) };
    let fdt = Fdt::new(blob).map_err(|_| "the device tree is malformed")?;
    let gic = fdt
        .find_compatible(&["arm,cortex-a15-gic", "arm,gic-400"])
        .ok_or("no GICv2 in the device tree")?;
    let mut regs = gic.reg().ok_or("the GIC node has no reg")?;
    let mut region = |what| -> Result<(u64, u64), &'static str> {
        let r = regs.next().ok_or(what)?;
        Ok((r.starting_address as u64, r.size.unwrap_or(0) as u64))
    };
    let d = region("the GIC node has no distributor")?;
    let c = region("the GIC node has no CPU interface")?;
    let h = region("the GIC node has no hypervisor interface").unwrap_or((0, 0));
    let v = region("the GIC node has no virtual CPU interface").unwrap_or((0, 0));
    let (gicd, gicc) = (d.0, c.0);
    let timer = fdt
        .find_compatible(&["arm,armv8-timer", "arm,armv7-timer"])
        .ok_or("no architected timer in the device tree")?;
    // Four interrupts of three cells: secure, non-secure, virtual, hyp. The
    // GIC's three-cell format is read raw (the fdt crate does not decode it).
    let prop = timer.property("interrupts").ok_or("the timer has no interrupts")?;
    let cell = |i: usize| -> Option<u32> {
        prop.value.get(i * 4..i * 4 + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (kind, num) = (cell(9).ok_or("the timer lacks a hyp interrupt")?, cell(10).unwrap_or(0));
    let hyp_timer_irq = if kind == 1 { 16 + num } else { 32 + num };
    Ok(Platform { gicd, gicc, gic_regions: [d, c, h], gicv: v, hyp_timer_irq })
}

impl Platform {
    /// Whether `[base, base + size)` touches a region the kernel keeps.
    pub fn kernel_owned(&self, base: u64, size: u64) -> bool {
        self.gic_regions.iter().any(|&(b, s)| s != 0 && base < b + s && b < base + size)
    }
}

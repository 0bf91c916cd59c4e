//! GICv2: the distributor and this CPU's interface, as found in the device
//! tree (`arm,cortex-a15-gic` / `arm,gic-400`).
//!
//! Interrupts are group 0 (IRQ), priority 0xa0, routed to CPU 0, taken at
//! EL2 (HCR_EL2.IMO). EOI mode 0: writing EOIR drops priority and
//! deactivates, so an IRQ handed to a user handler is masked in the
//! distributor until the handler acknowledges it.
//! (`arm-gic` on crates.io targets GICv3 and has no virtual interface; this
//! driver is small enough to keep here.)

use core::ptr::{read_volatile, write_volatile};

const GICD_CTLR: usize = 0x000;
const GICD_TYPER: usize = 0x004;
const GICD_ISENABLER: usize = 0x100;
const GICD_ICENABLER: usize = 0x180;
const GICD_ICPENDR: usize = 0x280;
const GICD_IPRIORITYR: usize = 0x400;
const GICD_ITARGETSR: usize = 0x800;
const GICD_ICFGR: usize = 0xc00;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;

/// The first shared peripheral interrupt.
pub const SPI_BASE: u32 = 32;
/// INTIDs at or above this are special (1023: spurious).
pub const SPECIAL: u32 = 1020;

pub struct Gic {
    dist: usize,
    cpu: usize,
    lines: u32,
}

impl Gic {
    /// # Safety
    /// `dist` and `cpu` must be the GICv2 distributor and CPU interface,
    /// identity mapped as device memory.
    pub unsafe fn new(dist: u64, cpu: u64) -> Gic {
        let mut g = Gic { dist: dist as usize, cpu: cpu as usize, lines: 0 };
        g.lines = ((g.dread(GICD_TYPER) & 0x1f) + 1) * 32;
        g.lines = g.lines.min(SPECIAL);
        g
    }

    fn dread(&self, off: usize) -> u32 {
        // SAFETY: `new`'s contract: a distributor register.
        unsafe { read_volatile((self.dist + off) as *const u32) }
    }
    fn dwrite(&self, off: usize, v: u32) {
        // SAFETY: as in dread.
        unsafe { write_volatile((self.dist + off) as *mut u32, v) }
    }
    fn cwrite(&self, off: usize, v: u32) {
        // SAFETY: `new`'s contract: a CPU interface register.
        unsafe { write_volatile((self.cpu + off) as *mut u32, v) }
    }
    fn cread(&self, off: usize) -> u32 {
        // SAFETY: as in cwrite.
        unsafe { read_volatile((self.cpu + off) as *const u32) }
    }

    /// Number of interrupt lines (INTIDs 0..lines).
    pub fn lines(&self) -> u32 {
        self.lines
    }

    /// Everything masked and cleared, SPIs to CPU 0, then both parts on.
    pub fn init(&mut self) {
        self.dwrite(GICD_CTLR, 0);
        for i in (0..self.lines).step_by(32) {
            self.dwrite(GICD_ICENABLER + (i / 8) as usize, u32::MAX);
            self.dwrite(GICD_ICPENDR + (i / 8) as usize, u32::MAX);
        }
        for i in (0..self.lines).step_by(4) {
            self.dwrite(GICD_IPRIORITYR + i as usize, 0xa0a0_a0a0);
            if i >= SPI_BASE {
                self.dwrite(GICD_ITARGETSR + i as usize, 0x0101_0101);
            }
        }
        self.dwrite(GICD_CTLR, 1);
        self.cwrite(GICC_PMR, 0xff);
        self.cwrite(GICC_CTLR, 1);
    }

    pub fn set_enabled(&mut self, irq: u32, on: bool) {
        if irq >= self.lines {
            return;
        }
        let reg = if on { GICD_ISENABLER } else { GICD_ICENABLER };
        self.dwrite(reg + (irq / 32) as usize * 4, 1 << (irq % 32));
    }

    /// Level (false) or edge (true) triggered; SGIs and PPIs keep theirs.
    pub fn set_edge(&mut self, irq: u32, edge: bool) {
        if irq < SPI_BASE || irq >= self.lines {
            return;
        }
        let off = GICD_ICFGR + (irq / 16) as usize * 4;
        let bit = 2 * (irq % 16) + 1;
        let v = self.dread(off);
        self.dwrite(off, if edge { v | 1 << bit } else { v & !(1 << bit) });
    }

    /// The highest-priority pending interrupt, acknowledged; None if spurious.
    pub fn acknowledge(&mut self) -> Option<u32> {
        let iar = self.cread(GICC_IAR);
        let id = iar & 0x3ff;
        if id >= SPECIAL { None } else { Some(id) }
    }

    pub fn end_of_interrupt(&mut self, irq: u32) {
        self.cwrite(GICC_EOIR, irq);
    }
}

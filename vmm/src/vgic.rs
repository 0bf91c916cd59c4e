//! The guest's GICv2 distributor, emulated for one VCPU, and the list
//! registers' bookkeeping.
//!
//! The guest's GIC CPU interface is the hardware's virtual CPU interface
//! (GICV), mapped into its stage-2; its distributor (GICD) is this model,
//! reached through stage-2 faults. Interrupts reach the guest through the
//! list registers, which only the kernel writes: the VMM asks it to put an
//! interrupt into list register `lr` (seL4's VCPU `InjectIRQ`, which also
//! requests an EOI maintenance interrupt), and when the guest EOIs it the
//! kernel reports a `VGICMaintenance` fault naming that list register, now
//! empty. So:
//!
//! - sources raise interrupts: [`Distributor::set_level`] for
//!   level-sensitive lines (a passed-through SPI, the virtual UART),
//!   [`Distributor::pulse`] for edges (and the virtual timer's PPI 27,
//!   whose `VPPIEvent` means "fire now");
//! - after any change the VMM asks [`Distributor::next_injection`] until it
//!   answers `None`, and injects each answer;
//! - on a maintenance fault it calls [`Distributor::complete`], which frees
//!   the list register and names the INTID to acknowledge at its source.
//!
//! The pending state moves into the list register on injection: an edge
//! interrupt is pending again only if pulsed again, a level interrupt only
//! if its line is still asserted when the guest completes it.
//!
//! An interrupt that sits in a list register stays there whatever the guest
//! writes to the distributor (ICPENDR, ICENABLER, ICACTIVER): the kernel
//! offers no way to withdraw it, and the guest's handler completes it
//! normally. Since the VMM cannot see whether the guest has acknowledged an
//! injected interrupt, it is not reported in ISACTIVER (which reads the
//! active state the guest set there itself).
//!
//! Register map (GICv2 architecture specification, 4.1.2), one CPU
//! interface, no Security Extensions:
//!
//! ```text
//! 0x000 CTLR  0x004 TYPER  0x008 IIDR  0x080 IGROUPR   0x100 ISENABLER
//! 0x180 ICENABLER  0x200 ISPENDR  0x280 ICPENDR  0x300 ISACTIVER
//! 0x380 ICACTIVER  0x400 IPRIORITYR  0x800 ITARGETSR  0xC00 ICFGR
//! 0xF00 SGIR  0xF10 CPENDSGIR  0xF20 SPENDSGIR  0xFD0-0xFFC ID registers
//! ```
//!
//! Every register is accessed as bytes (a 2- or 4-byte access is its bytes
//! in little-endian order), except SGIR, which takes 4-byte writes only.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// Size of the distributor's register frame.
pub const GICD_SIZE: u64 = 0x1000;
/// The most interrupt lines a GICv2 has (INTIDs 0-1019).
pub const MAX_LINES: u32 = 1020;
/// INTIDs below this are SGIs.
pub const SGI_COUNT: u32 = 16;
/// INTIDs below this are SGIs and PPIs; SPIs start here.
pub const SPI_BASE: u32 = 32;
/// IIDR: ARM (JEP106 0x43B), product GIC-400.
pub const IIDR: u32 = 0x0200_143b;
/// The ID registers at 0xFD0-0xFFC (PIDR4-7, PIDR0-3, CIDR0-3), as a
/// GIC-400 has them: PIDR2 bits [7:4] = 2 say GICv2.
const ID_REGS: [u8; 12] = [0x04, 0, 0, 0, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
/// Priority bits implemented (the five a list register holds).
const PRIORITY_MASK: u8 = 0xf8;

/// An access the distributor model refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicdError {
    /// Not 1, 2 or 4 bytes.
    Width { offset: u64, width: u8 },
    /// Not aligned to its width.
    Unaligned { offset: u64, width: u8 },
}

impl fmt::Display for GicdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GicdError::Width { offset, width } => {
                write!(f, "GICD access of {width} bytes at {offset:#x}: only 1, 2 or 4 bytes")
            }
            GicdError::Unaligned { offset, width } => {
                write!(f, "GICD access of {width} bytes at {offset:#x} is not aligned")
            }
        }
    }
}

/// What a register write changed that the VMM must act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteEffect {
    /// Interrupts whose enable changed: `(intid, enabled)`, so the VMM can
    /// unmask or mask a passed-through interrupt at its source.
    pub enables: Vec<(u32, bool)>,
    /// Some byte written is no register or a read-only one (it was
    /// ignored): worth a debug log line.
    pub unhandled: bool,
}

/// An interrupt to put into a list register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Injection {
    pub intid: u32,
    /// The list register's 5-bit priority (the IPRIORITYR byte >> 3).
    pub priority: u8,
    /// The IGROUPR bit.
    pub group: u8,
    /// The free list register to use.
    pub lr: usize,
}

/// The state of one interrupt.
#[derive(Clone, Copy, Debug, Default)]
struct Line {
    enabled: bool,
    /// Pending latch: an edge, an ISPENDR/SPENDSGIR write, an SGI.
    latch: bool,
    /// A level-sensitive source holds the line asserted.
    level: bool,
    /// Active state the guest set through ISACTIVER.
    active: bool,
    group1: bool,
    priority: u8,
    /// ITARGETSR bit 0 (SPIs only: CPU interface 0 is the only one).
    target: bool,
    /// ICFGR Int_config[1]: edge-triggered.
    edge: bool,
    /// Sits in a list register.
    in_lr: bool,
}

impl Line {
    fn pending(&self) -> bool {
        self.latch || self.level
    }
}

/// The emulated distributor.
#[derive(Clone, Debug)]
pub struct Distributor {
    lines: u32,
    ctlr: u32,
    irqs: Vec<Line>,
    lrs: Vec<Option<u32>>,
    last_sgir: Option<u32>,
    /// Nothing changed since [`Distributor::next_injection`] last found
    /// nothing to inject: the next call need not look (it runs after every
    /// guest exit).
    settled: bool,
}

/// The bit-per-interrupt register banks: base offset and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bank {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
}

const BANKS: [(u64, Bank); 7] = [
    (0x080, Bank::Group),
    (0x100, Bank::SetEnable),
    (0x180, Bank::ClearEnable),
    (0x200, Bank::SetPending),
    (0x280, Bank::ClearPending),
    (0x300, Bank::SetActive),
    (0x380, Bank::ClearActive),
];

/// A register byte.
enum Reg {
    Ctlr(u32),
    Typer(u32),
    Iidr(u32),
    Bits(Bank, u32),
    Priority(u32),
    Target(u32),
    Config(u32),
    Sgir,
    ClearSgiPending(u32),
    SetSgiPending(u32),
    Id(usize),
    None,
}

fn decode(offset: u64) -> Reg {
    let byte = (offset & 3) as u32;
    match offset {
        0x000..=0x003 => Reg::Ctlr(byte),
        0x004..=0x007 => Reg::Typer(byte),
        0x008..=0x00b => Reg::Iidr(byte),
        0x080..=0x3ff => {
            let (base, bank) = BANKS[((offset - 0x080) / 0x80) as usize];
            Reg::Bits(bank, ((offset - base) * 8) as u32)
        }
        0x400..=0x7fb => Reg::Priority((offset - 0x400) as u32),
        0x800..=0xbfb => Reg::Target((offset - 0x800) as u32),
        0xc00..=0xcff => Reg::Config(((offset - 0xc00) * 4) as u32),
        0xf00..=0xf03 => Reg::Sgir,
        0xf10..=0xf1f => Reg::ClearSgiPending((offset - 0xf10) as u32),
        0xf20..=0xf2f => Reg::SetSgiPending((offset - 0xf20) as u32),
        0xfd0..=0xfff if byte == 0 => Reg::Id(((offset - 0xfd0) / 4) as usize),
        0xfd0..=0xfff => Reg::Id(usize::MAX),
        _ => Reg::None,
    }
}

impl Distributor {
    /// A distributor with `lines` interrupt lines (rounded up to a multiple
    /// of 32, at most 1020) and `list_registers` list registers (GICH_VTR
    /// ListRegs + 1), in its reset state.
    pub fn new(lines: u32, list_registers: usize) -> Distributor {
        let lines = lines.clamp(SPI_BASE, MAX_LINES).div_ceil(32) * 32;
        let lines = lines.min(MAX_LINES);
        let mut d = Distributor {
            lines,
            ctlr: 0,
            irqs: vec![Line::default(); lines as usize],
            lrs: vec![None; list_registers],
            last_sgir: None,
            settled: false,
        };
        d.reset();
        d
    }

    /// Back to the reset state (for a guest reboot): everything disabled,
    /// nothing pending, the list registers free, SPIs targeted at CPU 0.
    /// The levels of the sources are forgotten too.
    pub fn reset(&mut self) {
        self.ctlr = 0;
        for (i, l) in self.irqs.iter_mut().enumerate() {
            *l = Line {
                enabled: (i as u32) < SGI_COUNT,
                target: true,
                edge: (i as u32) < SGI_COUNT,
                ..Line::default()
            };
        }
        self.lrs.fill(None);
        self.last_sgir = None;
        self.settled = false;
    }

    /// The number of interrupt lines (INTIDs `0..lines`).
    pub fn lines(&self) -> u32 {
        self.lines
    }

    /// The number of list registers.
    pub fn list_registers(&self) -> usize {
        self.lrs.len()
    }

    /// The last value the guest wrote to GICD_SGIR.
    pub fn last_sgir(&self) -> Option<u32> {
        self.last_sgir
    }

    /// The INTID in list register `lr`.
    pub fn lr(&self, lr: usize) -> Option<u32> {
        self.lrs.get(lr).copied().flatten()
    }

    /// Whether `intid` is enabled.
    pub fn is_enabled(&self, intid: u32) -> bool {
        self.irqs.get(intid as usize).is_some_and(|l| l.enabled)
    }

    /// Whether `intid` is pending in the distributor (not counting a list
    /// register).
    pub fn is_pending(&self, intid: u32) -> bool {
        self.irqs.get(intid as usize).is_some_and(|l| l.pending())
    }

    fn check_access(offset: u64, width: u8) -> Result<(), GicdError> {
        if !matches!(width, 1 | 2 | 4) {
            return Err(GicdError::Width { offset, width });
        }
        if !offset.is_multiple_of(width as u64) {
            return Err(GicdError::Unaligned { offset, width });
        }
        Ok(())
    }

    /// Reads `width` bytes at `offset` in the register frame. Offsets that
    /// are no register, and the write-only SGIR, read as 0 (see
    /// [`Distributor::is_readable`] to log them).
    pub fn read(&self, offset: u64, width: u8) -> Result<u32, GicdError> {
        Self::check_access(offset, width)?;
        let mut value = 0u32;
        for i in 0..width as u64 {
            value |= (self.read_byte(offset + i).0 as u32) << (8 * i);
        }
        Ok(value)
    }

    /// Whether every byte of a `width`-byte read at `offset` is a readable
    /// register (else the read is worth a debug log line).
    pub fn is_readable(&self, offset: u64, width: u8) -> bool {
        (0..width as u64).all(|i| self.read_byte(offset + i).1)
    }

    fn line(&self, intid: u32) -> Option<&Line> {
        self.irqs.get(intid as usize)
    }

    fn read_byte(&self, offset: u64) -> (u8, bool) {
        let word_byte = |w: u32, b: u32| (w >> (8 * b)) as u8;
        match decode(offset) {
            Reg::Ctlr(b) => (word_byte(self.ctlr, b), true),
            Reg::Typer(b) => (word_byte(self.lines.div_ceil(32) - 1, b), true),
            Reg::Iidr(b) => (word_byte(IIDR, b), true),
            Reg::Bits(bank, first) => {
                let mut v = 0u8;
                for bit in 0..8 {
                    let Some(l) = self.line(first + bit) else { continue };
                    let set = match bank {
                        Bank::Group => l.group1,
                        Bank::SetEnable | Bank::ClearEnable => l.enabled,
                        Bank::SetPending | Bank::ClearPending => l.pending(),
                        Bank::SetActive | Bank::ClearActive => l.active,
                    };
                    v |= (set as u8) << bit;
                }
                (v, true)
            }
            Reg::Priority(i) => (self.line(i).map_or(0, |l| l.priority), true),
            Reg::Target(i) if i < SPI_BASE => (0x01, true),
            Reg::Target(i) => (self.line(i).map_or(0, |l| l.target as u8), true),
            Reg::Config(first) => {
                let mut v = 0u8;
                for k in 0..4 {
                    if let Some(l) = self.line(first + k) {
                        v |= (l.edge as u8) << (2 * k + 1);
                    }
                }
                (v, true)
            }
            Reg::Sgir => (0, false),
            Reg::ClearSgiPending(i) | Reg::SetSgiPending(i) => {
                (self.irqs[i as usize].latch as u8, true)
            }
            Reg::Id(i) => (ID_REGS.get(i).copied().unwrap_or(0), true),
            Reg::None => (0, false),
        }
    }

    /// Writes the low `width` bytes of `value` at `offset` in the register
    /// frame.
    pub fn write(&mut self, offset: u64, width: u8, value: u32) -> Result<WriteEffect, GicdError> {
        self.settled = false;
        Self::check_access(offset, width)?;
        let mut effect = WriteEffect::default();
        if matches!(decode(offset), Reg::Sgir) {
            if width == 4 {
                self.write_sgir(value);
            } else {
                effect.unhandled = true;
            }
            return Ok(effect);
        }
        for i in 0..width as u64 {
            let b = (value >> (8 * i)) as u8;
            if !self.write_byte(offset + i, b, &mut effect.enables) {
                effect.unhandled = true;
            }
        }
        Ok(effect)
    }

    fn write_byte(&mut self, offset: u64, b: u8, enables: &mut Vec<(u32, bool)>) -> bool {
        match decode(offset) {
            Reg::Ctlr(0) => self.ctlr = (b & 0x3) as u32,
            Reg::Ctlr(_) => {}
            Reg::Bits(Bank::Group, first) => {
                for bit in 0..8 {
                    if let Some(l) = self.irqs.get_mut((first + bit) as usize) {
                        l.group1 = b & (1 << bit) != 0;
                    }
                }
            }
            Reg::Bits(bank, first) => {
                for bit in 0..8 {
                    let intid = first + bit;
                    if b & (1 << bit) == 0 || intid >= self.lines {
                        continue;
                    }
                    let sgi = intid < SGI_COUNT;
                    let l = &mut self.irqs[intid as usize];
                    match bank {
                        Bank::SetEnable if !l.enabled => {
                            l.enabled = true;
                            enables.push((intid, true));
                        }
                        Bank::ClearEnable if l.enabled && !sgi => {
                            l.enabled = false;
                            enables.push((intid, false));
                        }
                        Bank::SetPending if !sgi => l.latch = true,
                        Bank::ClearPending if !sgi => l.latch = false,
                        Bank::SetActive => l.active = true,
                        Bank::ClearActive => l.active = false,
                        _ => {}
                    }
                }
            }
            Reg::Priority(i) => {
                if let Some(l) = self.irqs.get_mut(i as usize) {
                    l.priority = b & PRIORITY_MASK;
                }
            }
            Reg::Target(i) if i < SPI_BASE => return false,
            Reg::Target(i) => {
                if let Some(l) = self.irqs.get_mut(i as usize) {
                    l.target = b & 1 != 0;
                }
            }
            Reg::Config(first) => {
                for k in 0..4 {
                    let intid = first + k;
                    if intid < SGI_COUNT {
                        continue;
                    }
                    if let Some(l) = self.irqs.get_mut(intid as usize) {
                        l.edge = b & (1 << (2 * k + 1)) != 0;
                    }
                }
            }
            Reg::ClearSgiPending(i) => {
                if b & 1 != 0 {
                    self.irqs[i as usize].latch = false;
                }
            }
            Reg::SetSgiPending(i) => {
                if b & 1 != 0 {
                    self.irqs[i as usize].latch = true;
                }
            }
            Reg::Typer(_) | Reg::Iidr(_) | Reg::Id(_) | Reg::Sgir | Reg::None => return false,
        }
        true
    }

    /// GICD_SGIR: TargetListFilter [25:24], CPUTargetList [23:16],
    /// SGIINTID [3:0]. With one CPU interface an SGI reaches it when the
    /// filter is "the list" with bit 0 set, or "the requesting CPU".
    fn write_sgir(&mut self, value: u32) {
        self.last_sgir = Some(value);
        let sgi = (value & 0xf) as usize;
        let to_self = match (value >> 24) & 3 {
            0 => (value >> 16) & 1 != 0,
            2 => true,
            _ => false,
        };
        if to_self {
            self.irqs[sgi].latch = true;
        }
    }

    /// A level-sensitive source's line is now `asserted` or not. The
    /// interrupt is pending while the line is asserted. False (and
    /// nothing changes) when `intid` is beyond the distributor's lines.
    pub fn set_level(&mut self, intid: u32, asserted: bool) -> bool {
        let Some(l) = self.irqs.get_mut(intid as usize) else { return false };
        if l.level != asserted {
            l.level = asserted;
            self.settled = false;
        }
        true
    }

    /// An edge on `intid`: pending until injected. False (and nothing
    /// changes) when `intid` is beyond the distributor's lines.
    pub fn pulse(&mut self, intid: u32) -> bool {
        let Some(l) = self.irqs.get_mut(intid as usize) else { return false };
        l.latch = true;
        self.settled = false;
        true
    }

    /// The next interrupt to inject, if one can be: the pending, enabled
    /// interrupt (group enabled in CTLR, SPIs targeted at CPU 0) that is not
    /// in a list register with the highest priority (lowest value; the
    /// lowest INTID of equals), when a list register is free. It is marked
    /// as sitting in that list register and its pending latch cleared.
    pub fn next_injection(&mut self) -> Option<Injection> {
        if self.settled {
            return None;
        }
        let next = self.find_injection();
        self.settled = next.is_none();
        next
    }

    fn find_injection(&mut self) -> Option<Injection> {
        if self.ctlr & 3 == 0 {
            return None;
        }
        let lr = self.lrs.iter().position(Option::is_none)?;
        let ctlr = self.ctlr;
        let (intid, line) = self
            .irqs
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                l.enabled
                    && l.pending()
                    && !l.in_lr
                    && ctlr & (1 << l.group1 as u32) != 0
                    && ((*i as u32) < SPI_BASE || l.target)
            })
            .min_by_key(|(i, l)| (l.priority, *i))?;
        let injection = Injection {
            intid: intid as u32,
            priority: line.priority >> 3,
            group: line.group1 as u8,
            lr,
        };
        let l = &mut self.irqs[intid];
        l.in_lr = true;
        l.latch = false;
        self.lrs[lr] = Some(intid as u32);
        Some(injection)
    }

    /// The guest completed (EOI'd) the interrupt in list register `lr`:
    /// frees it and returns its INTID, for the VMM to acknowledge at the
    /// source (the vbus ICU for a passed-through interrupt, `AckVPPI` for
    /// the timer). A level source whose line is still asserted is pending
    /// again at once; a passed-through line is normally deasserted with
    /// [`Distributor::set_level`] before its source is acknowledged, so a
    /// new physical interrupt asserts it again.
    pub fn complete(&mut self, lr: usize) -> Option<u32> {
        let intid = self.lrs.get_mut(lr)?.take()?;
        self.settled = false;
        self.irqs[intid as usize].in_lr = false;
        Some(intid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTLR: u64 = 0x000;
    const ISENABLER: u64 = 0x100;
    const ICENABLER: u64 = 0x180;
    const ISPENDR: u64 = 0x200;
    const ICPENDR: u64 = 0x280;
    const IPRIORITYR: u64 = 0x400;
    const ITARGETSR: u64 = 0x800;
    const ICFGR: u64 = 0xc00;

    fn rd(d: &Distributor, off: u64, w: u8) -> u32 {
        d.read(off, w).unwrap()
    }

    fn wr(d: &mut Distributor, off: u64, w: u8, v: u32) -> WriteEffect {
        d.write(off, w, v).unwrap()
    }

    /// A distributor with 4 list registers, CTLR enabled and the given
    /// INTIDs enabled.
    fn enabled(ids: &[u32]) -> Distributor {
        enabled_with(ids, 4)
    }

    fn enabled_with(ids: &[u32], list_registers: usize) -> Distributor {
        let mut d = Distributor::new(64, list_registers);
        wr(&mut d, CTLR, 4, 1);
        for &i in ids {
            wr(&mut d, ISENABLER + (i / 32) as u64 * 4, 4, 1 << (i % 32));
        }
        d
    }

    #[test]
    fn id_registers() {
        let d = Distributor::new(100, 4);
        assert_eq!(d.lines(), 128);
        assert_eq!(rd(&d, 0x004, 4), 3);
        assert_eq!(Distributor::new(2000, 4).lines(), 1020);
        assert_eq!(rd(&Distributor::new(2000, 4), 0x004, 4), 31);
        assert_eq!(rd(&d, 0x008, 4), IIDR);
        assert_eq!((rd(&d, 0xfe8, 4) >> 4) & 0xf, 2, "ArchRev");
        assert_eq!(rd(&d, 0xff0, 4), 0x0d);
        assert_eq!(rd(&d, 0xffc, 4), 0xb1);
        assert_eq!(rd(&d, 0x009, 1), 0x14);
        // Unknown offsets read 0 and say so.
        assert_eq!(rd(&d, 0x010, 4), 0);
        assert!(!d.is_readable(0x010, 4));
        assert_eq!(rd(&d, 0xf00, 4), 0);
        assert!(!d.is_readable(0xf00, 4), "SGIR is write-only");
        assert!(!d.is_readable(0x00c, 1));
        assert!(d.is_readable(0x100, 4) && d.is_readable(0x7f8, 4) && d.is_readable(0xfe8, 4));
    }

    #[test]
    fn access_checks() {
        let mut d = Distributor::new(64, 4);
        assert_eq!(d.read(0x100, 8), Err(GicdError::Width { offset: 0x100, width: 8 }));
        assert_eq!(d.write(0x102, 4, 0), Err(GicdError::Unaligned { offset: 0x102, width: 4 }));
        assert_eq!(d.read(0x401, 2), Err(GicdError::Unaligned { offset: 0x401, width: 2 }));
        assert!(wr(&mut d, 0x004, 4, 0xff).unhandled, "TYPER is read-only");
        assert!(wr(&mut d, 0x020, 4, 0xff).unhandled);
        assert_eq!(rd(&d, 0x004, 4), 1);
        assert!(d.read(0x100, 3).unwrap_err().to_string().contains("only 1, 2 or 4 bytes"));
        assert!(!d.pulse(64), "no such line");
        assert!(!d.set_level(1020, true));
        assert!(d.pulse(63));
    }

    #[test]
    fn enable_registers_and_effects() {
        let mut d = Distributor::new(64, 4);
        // SGIs are always enabled.
        assert_eq!(rd(&d, ISENABLER, 4), 0x0000_ffff);
        let e = wr(&mut d, ISENABLER + 4, 4, 0b101);
        assert_eq!(e.enables, [(32, true), (34, true)]);
        assert!(!e.unhandled);
        // Setting again changes nothing.
        assert!(wr(&mut d, ISENABLER + 4, 4, 0b1).enables.is_empty());
        assert_eq!(rd(&d, ISENABLER + 4, 4), 0b101);
        assert_eq!(rd(&d, ICENABLER + 4, 4), 0b101);
        let e = wr(&mut d, ICENABLER + 4, 4, 0b111);
        assert_eq!(e.enables, [(32, false), (34, false)]);
        // PPI 27 and an SGI: the SGI cannot be disabled.
        let e = wr(&mut d, ISENABLER, 4, 1 << 27);
        assert_eq!(e.enables, [(27, true)]);
        let e = wr(&mut d, ICENABLER, 4, (1 << 27) | 1);
        assert_eq!(e.enables, [(27, false)]);
        assert!(d.is_enabled(0));
        // Byte access: byte 1 of ISENABLER1 is INTIDs 40-47.
        let e = wr(&mut d, ISENABLER + 5, 1, 0x80);
        assert_eq!(e.enables, [(47, true)]);
        assert_eq!(rd(&d, ISENABLER + 4, 4), 0x8000);
        // Lines beyond the distributor read as zero and ignore writes.
        assert!(wr(&mut d, ISENABLER + 8, 4, !0).enables.is_empty());
        assert_eq!(rd(&d, ISENABLER + 8, 4), 0);
    }

    #[test]
    fn priority_target_config_group() {
        let mut d = Distributor::new(64, 4);
        wr(&mut d, IPRIORITYR + 32, 4, 0x1234_56ff);
        assert_eq!(rd(&d, IPRIORITYR + 32, 4), 0x1030_50f8, "low 3 bits not implemented");
        assert_eq!(rd(&d, IPRIORITYR + 33, 1), 0x50);
        wr(&mut d, IPRIORITYR + 34, 2, 0xa0a0);
        assert_eq!(rd(&d, IPRIORITYR + 32, 4), 0xa0a0_50f8);
        // SGI/PPI targets read as CPU 0 and ignore writes.
        assert_eq!(rd(&d, ITARGETSR, 4), 0x0101_0101);
        assert!(wr(&mut d, ITARGETSR + 28, 4, 0).unhandled);
        assert_eq!(rd(&d, ITARGETSR + 28, 4), 0x0101_0101);
        // SPI targets: CPU 0 at reset, bit 0 writable.
        assert_eq!(rd(&d, ITARGETSR + 32, 4), 0x0101_0101);
        wr(&mut d, ITARGETSR + 33, 1, 0xfe);
        assert_eq!(rd(&d, ITARGETSR + 32, 4), 0x0101_0001);
        // SGIs are edge and fixed; others take bit 1 of their field.
        assert_eq!(rd(&d, ICFGR, 4), 0xaaaa_aaaa);
        wr(&mut d, ICFGR, 4, 0);
        assert_eq!(rd(&d, ICFGR, 4), 0xaaaa_aaaa);
        wr(&mut d, ICFGR + 8, 4, 0xffff_ffff);
        assert_eq!(rd(&d, ICFGR + 8, 4), 0xaaaa_aaaa);
        wr(&mut d, ICFGR + 8, 1, 0x08);
        assert_eq!(rd(&d, ICFGR + 8, 4), 0xaaaa_aa08);
        // Groups.
        wr(&mut d, 0x084, 4, 0x10);
        assert_eq!(rd(&d, 0x084, 4), 0x10);
    }

    #[test]
    fn pending_registers() {
        let mut d = Distributor::new(64, 4);
        wr(&mut d, ISPENDR + 4, 4, 0b11);
        assert_eq!(rd(&d, ISPENDR + 4, 4), 0b11);
        wr(&mut d, ICPENDR + 4, 4, 0b01);
        assert_eq!(rd(&d, ICPENDR + 4, 4), 0b10);
        // A level line stays pending whatever ICPENDR says.
        assert!(d.set_level(40, true));
        wr(&mut d, ICPENDR + 4, 4, 1 << 8);
        assert!(d.is_pending(40));
        // SGI pending bits: not through ISPENDR, through SPENDSGIR.
        wr(&mut d, ISPENDR, 4, 1);
        assert_eq!(rd(&d, ISPENDR, 4), 0);
        wr(&mut d, 0xf20, 1, 1);
        assert_eq!(rd(&d, ISPENDR, 4), 1);
        assert_eq!(rd(&d, 0xf10, 4), 1);
        wr(&mut d, 0xf10, 1, 1);
        assert_eq!(rd(&d, ISPENDR, 4), 0);
        // Active bits are the guest's own.
        wr(&mut d, 0x300 + 4, 4, 0b100);
        assert_eq!(rd(&d, 0x380 + 4, 4), 0b100);
        wr(&mut d, 0x380 + 4, 4, 0b100);
        assert_eq!(rd(&d, 0x300 + 4, 4), 0);
    }

    #[test]
    fn injection_order() {
        let mut d = enabled(&[27, 33, 34, 35]);
        wr(&mut d, IPRIORITYR + 32, 4, 0xa0a0_a0a0);
        wr(&mut d, IPRIORITYR + 24, 4, 0xa000_0000); // 27
        wr(&mut d, IPRIORITYR + 35, 1, 0x80);
        assert!(d.pulse(34));
        assert!(d.pulse(33));
        assert!(d.pulse(27));
        assert!(d.set_level(35, true));
        let mut order = vec![];
        while let Some(i) = d.next_injection() {
            order.push(i);
        }
        assert_eq!(
            order,
            [
                Injection { intid: 35, priority: 0x10, group: 0, lr: 0 },
                Injection { intid: 27, priority: 0x14, group: 0, lr: 1 },
                Injection { intid: 33, priority: 0x14, group: 0, lr: 2 },
                Injection { intid: 34, priority: 0x14, group: 0, lr: 3 },
            ]
        );
        assert_eq!(d.lr(1), Some(27));
    }

    #[test]
    fn list_registers_run_out() {
        let mut d = enabled_with(&[32, 33, 34], 2);
        assert_eq!(d.list_registers(), 2);
        for i in [32, 33, 34] {
            assert!(d.pulse(i));
        }
        assert_eq!(d.next_injection().unwrap().intid, 32);
        assert_eq!(d.next_injection().unwrap().intid, 33);
        assert_eq!(d.next_injection(), None);
        assert!(d.is_pending(34));
        assert_eq!(d.complete(0), Some(32));
        assert_eq!(d.complete(0), None, "already free");
        assert_eq!(d.complete(7), None, "no such list register");
        assert_eq!(d.next_injection(), Some(Injection { intid: 34, priority: 0, group: 0, lr: 0 }));
    }

    #[test]
    fn level_repends_edge_does_not() {
        let mut d = enabled(&[40, 41]);
        assert!(d.set_level(40, true));
        assert!(d.pulse(41));
        let a = d.next_injection().unwrap();
        let b = d.next_injection().unwrap();
        assert_eq!((a.intid, b.intid), (40, 41));
        // In a list register: not injected twice, though the line is high.
        assert_eq!(d.next_injection(), None);
        assert!(!d.is_pending(41));
        assert_eq!(d.complete(b.lr), Some(41));
        assert_eq!(d.next_injection(), None, "an edge does not re-pend");
        assert_eq!(d.complete(a.lr), Some(40));
        assert_eq!(d.next_injection().map(|i| i.intid), Some(40), "still asserted");
        assert_eq!(d.complete(a.lr), Some(40));
        assert!(d.set_level(40, false));
        assert_eq!(d.next_injection(), None);
        // An edge while in a list register is injected after completion.
        assert!(d.pulse(41));
        let c = d.next_injection().unwrap();
        assert!(d.pulse(41));
        assert_eq!(d.next_injection(), None);
        d.complete(c.lr);
        assert_eq!(d.next_injection().map(|i| i.intid), Some(41));
    }

    #[test]
    fn disabled_is_not_injected() {
        let mut d = Distributor::new(64, 4);
        assert!(d.pulse(32));
        wr(&mut d, CTLR, 4, 1);
        assert_eq!(d.next_injection(), None, "32 is disabled");
        let e = wr(&mut d, ISENABLER + 4, 4, 1);
        assert_eq!(e.enables, [(32, true)]);
        wr(&mut d, CTLR, 4, 0);
        assert_eq!(d.next_injection(), None, "the distributor is disabled");
        wr(&mut d, CTLR, 4, 1);
        // Not targeted at CPU 0.
        wr(&mut d, ITARGETSR + 32, 1, 0);
        assert_eq!(d.next_injection(), None);
        wr(&mut d, ITARGETSR + 32, 1, 1);
        // Group 1 needs EnableGrp1.
        wr(&mut d, 0x084, 4, 1);
        assert_eq!(d.next_injection(), None);
        wr(&mut d, CTLR, 4, 3);
        assert_eq!(rd(&d, CTLR, 4), 3);
        let i = d.next_injection().unwrap();
        assert_eq!((i.intid, i.group), (32, 1));
    }

    #[test]
    fn clearing_an_injected_interrupt_leaves_its_list_register() {
        let mut d = enabled(&[32]);
        assert!(d.pulse(32));
        let i = d.next_injection().unwrap();
        wr(&mut d, ICPENDR + 4, 4, 1);
        let e = wr(&mut d, ICENABLER + 4, 4, 1);
        assert_eq!(e.enables, [(32, false)]);
        assert_eq!(d.lr(i.lr), Some(32));
        assert_eq!(d.complete(i.lr), Some(32));
        assert_eq!(d.next_injection(), None);
    }

    #[test]
    fn sgir() {
        let mut d = enabled(&[]);
        // To CPU 0 by list, SGI 3.
        wr(&mut d, 0xf00, 4, (1 << 16) | 3);
        assert_eq!(d.last_sgir(), Some((1 << 16) | 3));
        // To others only: nobody.
        wr(&mut d, 0xf00, 4, (1 << 24) | 4);
        // To self, SGI 5.
        wr(&mut d, 0xf00, 4, (2 << 24) | 5);
        assert!(wr(&mut d, 0xf00, 1, 6).unhandled, "SGIR takes words only");
        assert_eq!(rd(&d, ISPENDR, 4), (1 << 3) | (1 << 5));
        assert_eq!(d.next_injection().map(|i| i.intid), Some(3));
        assert_eq!(d.next_injection().map(|i| i.intid), Some(5));
        assert_eq!(d.next_injection(), None);
    }

    #[test]
    fn reset_clears_state() {
        let mut d = enabled(&[32]);
        assert!(d.pulse(32));
        d.next_injection().unwrap();
        d.reset();
        assert_eq!(d.lr(0), None);
        assert!(!d.is_enabled(32) && !d.is_pending(32));
        assert_eq!(rd(&d, CTLR, 4), 0);
    }

    #[test]
    fn nothing_to_inject_until_something_changes() {
        let mut d = enabled(&[40, 41]);
        assert_eq!(d.next_injection(), None);
        // The same level again changes nothing; a new one does.
        d.set_level(40, false);
        assert_eq!(d.next_injection(), None);
        d.set_level(40, true);
        assert_eq!(d.next_injection().map(|i| i.intid), Some(40));
        assert_eq!(d.next_injection(), None);
        d.pulse(41);
        assert_eq!(d.next_injection().map(|i| i.intid), Some(41));
    }
}

//! The guest's PL011 UART, emulated (Arm PrimeCell UART PL011 TRM,
//! DDI 0183): enough for Linux's `amba-pl011` driver and its earlycon.
//!
//! Output is immediate: a write to DR hands the byte to the caller, the
//! transmit FIFO is always empty (FR.TXFE set, TXFF and BUSY clear), and
//! the transmit interrupt (RIS.TXIS) is raised by every write to DR and
//! stays raised until cleared through ICR, as QEMU's model does: Linux's
//! interrupt handler refills the FIFO while TXIS and IMSC.TXIM are set and
//! clears TXIM when it has nothing more to send.
//!
//! Input is queued with [`Pl011::push_input`]: the receive FIFO (16 bytes,
//! or 1 with LCR_H.FEN clear) is filled from a backlog as the guest reads
//! DR. RIS.RXIS is raised when the FIFO reaches the trigger level of
//! IFLS.RXIFLSEL (1 byte with the FIFO off) and cleared when reading takes
//! it below; RIS.RTIS (receive timeout) is raised whenever bytes arrive,
//! since input comes in bursts, and cleared when the FIFO is empty. ICR
//! clears both.
//!
//! The interrupt line is [`Pl011::irq_level`]: the VMM reads it after every
//! access and every [`Pl011::push_input`] and passes it to the distributor
//! (a level-sensitive SPI).
//!
//! The enable bits of CR are kept but not obeyed (bytes go out and come in
//! regardless), except the loopback bit LBE: with it set, written bytes
//! arrive in the receive FIFO instead of going out.

use alloc::collections::VecDeque;

/// Size of the register frame.
pub const PL011_SIZE: u64 = 0x1000;
/// Depth of the receive FIFO with LCR_H.FEN set.
pub const FIFO_DEPTH: usize = 16;
/// Most bytes of input kept beyond the FIFO.
pub const BACKLOG: usize = 4096;

const DR: u64 = 0x000;
const RSR: u64 = 0x004;
const FR: u64 = 0x018;
const ILPR: u64 = 0x020;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02c;
const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03c;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
const DMACR: u64 = 0x048;
const ID_BASE: u64 = 0xfe0;

/// PeriphID0-3 and PCellID0-3 at 0xFE0-0xFFC: an ARM PL011 r1p5.
const ID: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// FR bits.
pub const FR_TXFE: u32 = 1 << 7;
pub const FR_RXFF: u32 = 1 << 6;
pub const FR_TXFF: u32 = 1 << 5;
pub const FR_RXFE: u32 = 1 << 4;
pub const FR_BUSY: u32 = 1 << 3;
/// Interrupt bits of RIS, MIS, IMSC and ICR.
pub const INT_RT: u32 = 1 << 6;
pub const INT_TX: u32 = 1 << 5;
pub const INT_RX: u32 = 1 << 4;
const INT_ALL: u32 = 0x7ff;
/// LCR_H.FEN: FIFOs enabled.
const LCR_FEN: u32 = 1 << 4;
/// CR.LBE: loopback.
const CR_LBE: u32 = 1 << 7;

/// The emulated UART.
#[derive(Clone, Debug)]
pub struct Pl011 {
    fifo: VecDeque<u8>,
    backlog: VecDeque<u8>,
    ris: u32,
    imsc: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    ilpr: u32,
    ibrd: u32,
    fbrd: u32,
    dmacr: u32,
}

impl Default for Pl011 {
    fn default() -> Self {
        Pl011::new()
    }
}

impl Pl011 {
    /// A UART in its reset state: FIFOs off, TX and RX enabled in CR
    /// (0x300), IFLS at half-full (0x12), no interrupts.
    pub fn new() -> Pl011 {
        Pl011 {
            fifo: VecDeque::with_capacity(FIFO_DEPTH),
            backlog: VecDeque::new(),
            ris: 0,
            imsc: 0,
            lcr_h: 0,
            cr: 0x300,
            ifls: 0x12,
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            dmacr: 0,
        }
    }

    /// Whether `offset` is one of the registers.
    pub fn is_register(offset: u64) -> bool {
        matches!(
            offset & !3,
            DR | RSR | FR | ILPR | IBRD | FBRD | LCR_H | CR | IFLS | IMSC | RIS | MIS | ICR | DMACR
        ) || (ID_BASE..PL011_SIZE).contains(&offset)
    }

    fn depth(&self) -> usize {
        if self.lcr_h & LCR_FEN != 0 { FIFO_DEPTH } else { 1 }
    }

    /// Bytes in the receive FIFO at which RXIS is raised.
    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCR_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 7 {
            0 => 2,
            1 => 4,
            2 => 8,
            3 => 12,
            _ => 14,
        }
    }

    /// Moves backlog bytes into the FIFO; when some arrive, raises RTIS
    /// and (at the trigger level) RXIS.
    fn refill(&mut self) {
        let mut arrived = false;
        while self.fifo.len() < self.depth() {
            let Some(b) = self.backlog.pop_front() else { break };
            self.fifo.push_back(b);
            arrived = true;
        }
        if arrived {
            self.ris |= INT_RT;
            if self.fifo.len() >= self.rx_trigger() {
                self.ris |= INT_RX;
            }
        }
    }

    /// Queues typed bytes for the guest; returns how many were taken (the
    /// FIFO and backlog hold at most [`FIFO_DEPTH`] + [`BACKLOG`]).
    pub fn push_input(&mut self, bytes: &[u8]) -> usize {
        let room = BACKLOG - self.backlog.len() + (self.depth() - self.fifo.len());
        let n = bytes.len().min(room);
        self.backlog.extend(&bytes[..n]);
        self.refill();
        n
    }

    /// Bytes of input not yet read by the guest.
    pub fn input_len(&self) -> usize {
        self.fifo.len() + self.backlog.len()
    }

    /// The interrupt line: some raw interrupt is unmasked.
    pub fn irq_level(&self) -> bool {
        self.ris & self.imsc != 0
    }

    /// Reads the register at `offset`; other offsets read 0. A read of DR
    /// takes a byte from the receive FIFO.
    pub fn read(&mut self, offset: u64) -> u32 {
        let shift = 8 * (offset & 3);
        let value = match offset & !3 {
            DR => {
                let v = self.fifo.pop_front().map_or(0, u32::from);
                self.refill();
                if self.fifo.len() < self.rx_trigger() {
                    self.ris &= !INT_RX;
                }
                if self.fifo.is_empty() {
                    self.ris &= !INT_RT;
                }
                v
            }
            FR => self.flags(),
            ILPR => self.ilpr,
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.ris,
            MIS => self.ris & self.imsc,
            DMACR => self.dmacr,
            o if (ID_BASE..PL011_SIZE).contains(&o) => ID[((o - ID_BASE) / 4) as usize] as u32,
            _ => 0,
        };
        value >> shift
    }

    /// FR: transmit FIFO always empty, receive FIFO as it is.
    fn flags(&self) -> u32 {
        let mut fr = FR_TXFE;
        if self.fifo.is_empty() {
            fr |= FR_RXFE;
        }
        if self.fifo.len() >= self.depth() {
            fr |= FR_RXFF;
        }
        fr
    }

    /// Writes `value` to the register at `offset`; returns the byte to
    /// send when it is a write to DR. Other offsets and the read-only
    /// registers ignore writes.
    pub fn write(&mut self, offset: u64, value: u32) -> Option<u8> {
        if offset & 3 != 0 {
            return None;
        }
        match offset {
            DR => {
                let b = value as u8;
                self.ris |= INT_TX;
                if self.cr & CR_LBE != 0 {
                    if self.backlog.len() < BACKLOG {
                        self.backlog.push_back(b);
                        self.refill();
                    }
                    return None;
                }
                return Some(b);
            }
            RSR => {}
            ILPR => self.ilpr = value & 0xff,
            IBRD => self.ibrd = value & 0xffff,
            FBRD => self.fbrd = value & 0x3f,
            LCR_H => {
                let fen_changed = (self.lcr_h ^ value) & LCR_FEN != 0;
                self.lcr_h = value & 0xff;
                if fen_changed {
                    // Bytes beyond the new depth go back to the backlog.
                    while self.fifo.len() > self.depth() {
                        let b = self.fifo.pop_back().expect("longer than the depth");
                        self.backlog.push_front(b);
                    }
                    self.refill();
                }
            }
            CR => self.cr = value & 0xff87,
            IFLS => self.ifls = value & 0x3f,
            IMSC => self.imsc = value & INT_ALL,
            ICR => self.ris &= !(value & INT_ALL),
            DMACR => self.dmacr = value & 0x7,
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux's setup: FIFOs on, RX/RT interrupts unmasked.
    fn linux_uart() -> Pl011 {
        let mut u = Pl011::new();
        u.write(LCR_H, 0x70);
        u.write(CR, 0x301);
        u.write(IMSC, INT_RX | INT_RT);
        u
    }

    #[test]
    fn id_registers() {
        let mut u = Pl011::new();
        let ids: Vec<u32> = (0..8).map(|i| u.read(0xfe0 + 4 * i)).collect();
        assert_eq!(ids, [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
        // AMBA reads the cell ID and peripheral ID as words from the bytes.
        let pid = ids[..4].iter().enumerate().fold(0, |a, (i, b)| a | b << (8 * i));
        let cid = ids[4..].iter().enumerate().fold(0, |a, (i, b)| a | b << (8 * i));
        assert_eq!((pid, cid), (0x0014_1011, 0xb105_f00d));
        u.write(0xfe0, 0);
        assert_eq!(u.read(0xfe0), 0x11);
        assert!(Pl011::is_register(0xffc) && Pl011::is_register(0x44));
        assert!(!Pl011::is_register(0x8) && !Pl011::is_register(0x4c));
        assert_eq!(u.read(0x8), 0);
    }

    #[test]
    fn reset_state() {
        let mut u = Pl011::new();
        assert_eq!(u.read(FR), FR_TXFE | FR_RXFE);
        assert_eq!(u.read(CR), 0x300);
        assert_eq!(u.read(IFLS), 0x12);
        assert_eq!(u.read(RIS), 0);
        assert!(!u.irq_level());
    }

    #[test]
    fn output() {
        let mut u = Pl011::new();
        assert_eq!(u.write(DR, 'h' as u32), Some(b'h'));
        assert_eq!(u.write(DR, 0x1_0069), Some(b'i'));
        assert_eq!(u.write(CR, 0x301), None);
        assert_eq!(u.write(DR + 1, 0x41), None);
        assert_eq!(u.read(FR) & (FR_TXFF | FR_BUSY), 0);
    }

    #[test]
    fn tx_interrupt() {
        let mut u = linux_uart();
        assert!(!u.irq_level());
        u.write(DR, b'a' as u32);
        assert_eq!(u.read(RIS) & INT_TX, INT_TX);
        assert!(!u.irq_level(), "TXIM clear");
        u.write(IMSC, INT_RX | INT_RT | INT_TX);
        assert!(u.irq_level());
        assert_eq!(u.read(MIS), INT_TX);
        // Stays raised while the driver sends.
        u.write(DR, b'b' as u32);
        assert!(u.irq_level());
        // The driver masks it when done.
        u.write(IMSC, INT_RX | INT_RT);
        assert!(!u.irq_level());
        u.write(ICR, INT_TX);
        assert_eq!(u.read(RIS), 0);
    }

    #[test]
    fn input() {
        let mut u = linux_uart();
        assert_eq!(u.push_input(b"hi"), 2);
        assert_eq!(u.read(FR) & FR_RXFE, 0);
        assert!(u.irq_level());
        // Two bytes reach the 1/8 trigger (IFLS 0 after a write of 0).
        assert_eq!(u.read(RIS) & (INT_RX | INT_RT), INT_RT);
        u.write(IFLS, 0);
        u.push_input(b"!");
        assert_eq!(u.read(RIS) & (INT_RX | INT_RT), INT_RX | INT_RT);
        assert_eq!(u.read(DR), b'h' as u32);
        assert_eq!(u.read(RIS) & INT_RX, INT_RX, "2 left, at the trigger");
        assert_eq!(u.read(DR), b'i' as u32);
        assert_eq!(u.read(RIS) & INT_RX, 0, "below the trigger");
        assert!(u.irq_level(), "timeout while bytes remain");
        assert_eq!(u.read(DR), b'!' as u32);
        assert_eq!(u.read(FR) & FR_RXFE, FR_RXFE);
        assert!(!u.irq_level());
        assert_eq!(u.read(DR), 0, "empty");
    }

    #[test]
    fn fifo_and_backlog() {
        let mut u = linux_uart();
        let data: Vec<u8> = (0..40).collect();
        assert_eq!(u.push_input(&data), 40);
        assert_eq!(u.read(FR) & FR_RXFF, FR_RXFF);
        assert_eq!(u.input_len(), 40);
        let got: Vec<u8> = (0..40).map(|_| u.read(DR) as u8).collect();
        assert_eq!(got, data);
        assert_eq!(u.read(FR) & FR_RXFE, FR_RXFE);
        // The backlog is bounded.
        let big = vec![b'x'; BACKLOG + 100];
        assert_eq!(u.push_input(&big), BACKLOG + FIFO_DEPTH);
        // FIFO off: one byte at a time; the rest waits.
        let mut u = Pl011::new();
        u.push_input(b"ab");
        assert_eq!(u.read(FR) & FR_RXFF, FR_RXFF);
        u.write(LCR_H, LCR_FEN);
        assert_eq!(u.read(FR) & FR_RXFF, 0);
        u.write(LCR_H, 0);
        assert_eq!(u.read(DR), b'a' as u32);
        assert_eq!(u.read(DR), b'b' as u32);
    }

    #[test]
    fn icr_clears() {
        let mut u = linux_uart();
        u.write(IFLS, 0);
        u.push_input(b"abc");
        assert!(u.irq_level());
        u.write(ICR, INT_RX | INT_RT);
        assert!(!u.irq_level());
        assert_eq!(u.read(RIS), 0);
        // New input raises them again.
        u.push_input(b"d");
        assert!(u.irq_level());
    }

    #[test]
    fn loopback() {
        let mut u = linux_uart();
        u.write(CR, 0x381);
        assert_eq!(u.write(DR, b'z' as u32), None);
        assert_eq!(u.read(DR), b'z' as u32);
    }

    #[test]
    fn plain_registers() {
        let mut u = Pl011::new();
        u.write(IBRD, 0x1_0027);
        u.write(FBRD, 0xff);
        u.write(DMACR, 0xff);
        u.write(ILPR, 0x1ff);
        assert_eq!(
            (u.read(IBRD), u.read(FBRD), u.read(DMACR), u.read(ILPR)),
            (0x27, 0x3f, 7, 0xff)
        );
        u.write(FR, 0);
        assert_eq!(u.read(FR), FR_TXFE | FR_RXFE);
        // Sub-word reads see the register's bytes.
        assert_eq!(u.read(CR + 1), 0x3);
    }
}

//! A PL011 UART: polled transmit, as early boot code (bootstrap, the
//! kernel's console) needs it (`\n` goes out as `\r\n` through
//! `fmt::Write`), and interrupt-driven receive for cons.

#![no_std]

use core::fmt;

/// Data register and flag register offsets, and the transmit-FIFO-full flag.
const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;
const FR_RXFE: u32 = 1 << 4;
/// Interrupt mask set/clear and clear registers; the receive and receive
/// timeout interrupts.
const IMSC: usize = 0x38;
const ICR: usize = 0x44;
const INT_RX: u32 = 1 << 4;
const INT_RT: u32 = 1 << 6;

/// A PL011 at a physical (identity-mapped) address.
pub struct Pl011 {
    base: usize,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the address of a PL011's registers, accessible now and
    /// whenever the returned value is used.
    pub const unsafe fn new(base: usize) -> Self {
        Pl011 { base }
    }

    /// Sends one byte as it is.
    pub fn write_byte(&mut self, b: u8) {
        // SAFETY: `new`'s contract: base addresses a PL011, so FR and DR
        // are its registers; volatile accesses of the register width.
        unsafe {
            while core::ptr::read_volatile((self.base + FR) as *const u32) & FR_TXFF != 0 {}
            core::ptr::write_volatile((self.base + DR) as *mut u32, b as u32);
        }
    }
}

impl Pl011 {
    fn read_reg(&self, off: usize) -> u32 {
        // SAFETY: `new`'s contract: `base` addresses a PL011; `off` is one
        // of its registers; a volatile access of the register width.
        unsafe { core::ptr::read_volatile((self.base + off) as *const u32) }
    }

    fn write_reg(&mut self, off: usize, v: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { core::ptr::write_volatile((self.base + off) as *mut u32, v) }
    }

    /// A received byte, if the receive FIFO holds one.
    pub fn read_byte(&mut self) -> Option<u8> {
        if self.read_reg(FR) & FR_RXFE != 0 { None } else { Some(self.read_reg(DR) as u8) }
    }

    /// Raises the UART's interrupt when bytes arrive (and when received
    /// bytes wait in the FIFO a while).
    pub fn enable_rx_interrupt(&mut self) {
        let m = self.read_reg(IMSC);
        self.write_reg(IMSC, m | INT_RX | INT_RT);
    }

    /// Clears the receive interrupts (after the FIFO was drained).
    pub fn clear_rx_interrupt(&mut self) {
        self.write_reg(ICR, INT_RX | INT_RT);
    }
}

impl fmt::Write for Pl011 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}

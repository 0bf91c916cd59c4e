//! Output through a PL011 UART: transmit only, polled, as early boot code
//! (bootstrap, the kernel's console) needs it. `\n` goes out as `\r\n`.

#![no_std]

use core::fmt;

/// Data register and flag register offsets, and the transmit-FIFO-full flag.
const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;

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

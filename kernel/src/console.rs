//! The kernel's debug console: the PL011 bootstrap found in the device tree,
//! written by polling. Used for the kernel's own messages.

use core::fmt::{self, Write};

static mut UART: Option<pl011::Pl011> = None;

/// Selects the UART at `base` (0: none, output is dropped).
pub fn init(base: u64) {
    if base != 0 {
        // SAFETY: boot runs on one core with interrupts masked; `base` is the
        // console PL011 named by the device tree and identity mapped.
        unsafe { *core::ptr::addr_of_mut!(UART) = Some(pl011::Pl011::new(base as usize)) };
    }
}

/// Writes one byte (the DebugPutChar syscall).
pub fn putchar(c: u8) {
    // SAFETY: single core, interrupts masked in the kernel: no concurrent
    // user of UART.
    if let Some(u) = unsafe { (*core::ptr::addr_of_mut!(UART)).as_mut() } {
        if c == b'\n' {
            u.write_byte(b'\r');
        }
        u.write_byte(c);
    }
}

#[doc(hidden)]
pub fn print(args: fmt::Arguments) {
    // SAFETY: single core, interrupts masked: no concurrent user of UART.
    if let Some(u) = unsafe { (*core::ptr::addr_of_mut!(UART)).as_mut() } {
        let _ = u.write_fmt(args);
    }
}

/// Prints a line on the kernel console.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

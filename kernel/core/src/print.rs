//! Kernel diagnostics on the debug console: a `core::fmt::Write` over
//! [`Arch::putchar`], and the `kprint!` macro that formats into it.

use crate::arch::Arch;
use core::fmt;

/// The debug console, borrowed from the architecture layer.
pub(crate) struct Console<'a, A: Arch>(pub(crate) &'a mut A);

impl<A: Arch> fmt::Write for Console<'_, A> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            self.0.putchar(b);
        }
        Ok(())
    }
}

/// Prints to the kernel's debug console: `kprint!(self.arch, "...", ...)`.
macro_rules! kprint {
    ($arch:expr, $($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::print::Console(&mut $arch), $($arg)*);
    }};
}
pub(crate) use kprint;

/// A thread name (NUL-padded bytes) as printable text.
pub(crate) struct Name<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0.iter().take_while(|&&b| b != 0) {
            let c = if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' };
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

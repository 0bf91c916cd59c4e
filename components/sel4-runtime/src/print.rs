//! `print!` and `println!`: to the program's `log` channel when the root
//! task gave it one (program-env's log protocol: the server tags each line
//! and makes a fast writer wait rather than lose output), else to the
//! kernel's debug console.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use program_env::log;
use sel4::{MessageInfo, cap};

static USE_LOG: AtomicBool = AtomicBool::new(false);

pub(crate) fn use_log_channel() {
    USE_LOG.store(true, Ordering::Relaxed);
}

/// Buffers a print's bytes into log writes of at most `MAX_WRITE` bytes.
struct LogWriter {
    ep: cap::Endpoint,
    buf: [u8; log::MAX_WRITE],
    len: usize,
}

impl LogWriter {
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let words = sel4::with_ipc_buffer_mut(|b| {
            let mr = b.msg_regs_mut();
            mr[0] = self.len as u64;
            1 + program_env::pack_bytes(&self.buf[..self.len], &mut mr[1..])
        });
        self.ep.call(MessageInfo::new(log::WRITE, 0, 0, words));
        self.len = 0;
    }
}

impl fmt::Write for LogWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Reads typed input from the program's `log` channel into `buf` (program-env's
/// log `READ`): blocks until the console has some for this program; returns
/// how many bytes came, `None` without a log channel or if the server
/// refused.
pub fn read_input(buf: &mut [u8]) -> Option<usize> {
    let ep: cap::Endpoint = crate::env::get_cap_raw("log")?.cast();
    let max = buf.len().min(log::MAX_WRITE);
    sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = max as u64);
    let r = ep.call(MessageInfo::new(log::READ, 0, 0, 1));
    if r.label() != 0 {
        return None;
    }
    sel4::with_ipc_buffer(|b| {
        let mr = &b.msg_regs()[..r.length().min(b.msg_regs().len())];
        let n = (*mr.first()? as usize).min(max);
        program_env::unpack_bytes(mr.get(1..)?, n, buf).map(|s| s.len())
    })
}

#[doc(hidden)]
pub fn print_helper(args: fmt::Arguments<'_>) {
    if USE_LOG.load(Ordering::Relaxed)
        && let Some(ep) = crate::env::get_cap_raw("log")
    {
        let mut w = LogWriter { ep: ep.cast(), buf: [0; log::MAX_WRITE], len: 0 };
        let _ = fmt::Write::write_fmt(&mut w, args);
        w.flush();
    } else {
        sel4::_private::debug_print_helper(args);
    }
}

/// Prints to the program's log (or the debug console).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::_private::print_helper(::core::format_args!($($arg)*))
    };
}

/// Prints a line to the program's log (or the debug console).
#[macro_export]
macro_rules! println {
    () => {
        $crate::print!("\n")
    };
    ($($arg:tt)*) => {
        $crate::_private::print_helper(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

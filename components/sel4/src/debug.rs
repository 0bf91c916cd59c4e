//! The debug syscalls: a character to the kernel's console, a scheduler
//! dump, and halting the machine; and formatted printing on top of them
//! ([`debug_print!`](crate::debug_print), [`debug_println!`](crate::debug_println)).

use core::fmt;

use crate::sys::Syscall;

fn debug_syscall(number: Syscall, x0: crate::Word) {
    // SAFETY: the debug calls take no message and no IPC buffer.
    unsafe { crate::arch::syscall(number, [x0, 0, 0, 0, 0, 0], core::ptr::null_mut()) };
}

/// `seL4_DebugPutChar`: writes one byte to the kernel's console.
pub fn debug_put_char(c: u8) {
    debug_syscall(Syscall::DebugPutChar, c.into());
}

/// `seL4_DebugDumpScheduler`: the kernel prints its scheduler queues.
pub fn debug_dump_scheduler() {
    debug_syscall(Syscall::DebugDumpScheduler, 0);
}

/// `seL4_BenchmarkNullSyscall`: enters the kernel and returns.
pub fn benchmark_null_syscall() {
    debug_syscall(Syscall::BenchmarkNullSyscall, 0);
}

/// `seL4_DebugHalt`: stops the system (on QEMU, powers the machine off).
/// Does not return; should the kernel ever come back, it asks again.
pub fn debug_halt() -> ! {
    loop {
        debug_syscall(Syscall::DebugHalt, 0);
    }
}

/// [`fmt::Write`] to the kernel's console.
#[derive(Copy, Clone, Debug, Default)]
pub struct DebugWrite;

impl fmt::Write for DebugWrite {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(debug_put_char);
        Ok(())
    }
}

#[doc(hidden)]
pub fn debug_print_helper(args: fmt::Arguments<'_>) {
    // Writing to DebugWrite cannot fail.
    let _ = fmt::Write::write_fmt(&mut DebugWrite, args);
}

/// Prints to the kernel's console, like `print!`.
#[macro_export]
macro_rules! debug_print {
    ($($arg:tt)*) => {
        $crate::_private::debug_print_helper(::core::format_args!($($arg)*))
    };
}

/// Prints a line to the kernel's console, like `println!`.
#[macro_export]
macro_rules! debug_println {
    () => {
        $crate::debug_print!("\n")
    };
    ($($arg:tt)*) => {
        $crate::_private::debug_print_helper(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use crate::arch::mock;
    use crate::sys::Syscall;

    #[test]
    fn printing_is_one_put_char_per_byte() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        mock::install(move |n, regs, buf| {
            assert!(n == Syscall::DebugPutChar && buf.is_none());
            o.lock().unwrap().push(regs[0] as u8);
            regs
        });
        crate::debug_println!("x={}", 42);
        crate::debug_print!("é");
        assert_eq!(&out.lock().unwrap()[..], "x=42\né".as_bytes());
    }
}

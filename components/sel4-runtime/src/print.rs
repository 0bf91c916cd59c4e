//! `print!` and `println!` to the kernel's debug console
//! (`sel4::debug_print!` under the usual names).

/// Prints to the debug console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::_private::sel4::debug_print!($($arg)*)
    };
}

/// Prints a line to the debug console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::_private::sel4::debug_println!($($arg)*)
    };
}

//! The entry macros and what runs between `_start` and `main`.
//!
//! A macro rather than an attribute (rust-sel4's `#[root_task]`) keeps the
//! runtime free of a proc-macro crate. Each macro defines
//! `__sel4_runtime_main`, which `_start` jumps to, in the program's crate,
//! so the program's name and `main` are known there.

use sel4::{BootInfo, BootInfoPtr, IpcBuffer, Word};

use crate::{Logger, abort};

/// Sets up the root task and runs `main`; halts the system when it returns.
///
/// # Safety
///
/// `bootinfo` is the address the kernel started the root task with, and
/// this is the first and only call.
pub unsafe fn run_root_task(bootinfo: usize, logger: &'static Logger, main: fn(&BootInfo)) -> ! {
    crate::panic::set_root_task();
    // SAFETY: the caller passes the kernel's boot-info address; the kernel
    // keeps the boot info and the module mappings in place.
    let bootinfo = unsafe { BootInfoPtr::new(bootinfo as *const BootInfo) };
    // SAFETY: the kernel maps the root task's IPC buffer where the boot
    // info says, for the task's lifetime, and nothing else refers to it.
    sel4::set_ipc_buffer(unsafe { &mut *bootinfo.ipc_buffer() });
    logger.install();
    main(&bootinfo);
    abort()
}

/// Sets up a program the root task started and runs `main(arg)`; stops the
/// program ([`exit`](crate::exit) with code 0) when it returns.
///
/// # Safety
///
/// `ipc_buffer` is 0 or the address of this thread's IPC buffer, mapped
/// for the program's lifetime and used by nothing else; this is the first
/// and only call.
pub unsafe fn run_program(
    arg: Word,
    ipc_buffer: usize,
    logger: &'static Logger,
    main: fn(Word),
) -> ! {
    if ipc_buffer != 0 {
        // SAFETY: the caller vouches for the address.
        sel4::set_ipc_buffer(unsafe { &mut *(ipc_buffer as *mut IpcBuffer) });
    }
    crate::env::init(arg as usize);
    logger.install();
    main(arg);
    crate::exit(0)
}

/// The program's name for log lines: the binary's, else the package's.
#[doc(hidden)]
#[macro_export]
macro_rules! __program_name {
    () => {
        match ::core::option_env!("CARGO_BIN_NAME") {
            ::core::option::Option::Some(name) => name,
            ::core::option::Option::None => ::core::env!("CARGO_PKG_NAME"),
        }
    };
}

/// Declares the root task's `main`, a `fn(&sel4::BootInfo)` returning
/// `!` or `()` (then the system halts when it returns).
///
/// `declare_root_task!(main, heap_size = N)` sets the heap (feature
/// `alloc`; [`DEFAULT_HEAP_SIZE`](crate::DEFAULT_HEAP_SIZE) otherwise).
#[macro_export]
macro_rules! declare_root_task {
    ($main:path $(,)?) => {
        $crate::__declare_default_heap!();
        $crate::__declare_root_task_entry!($main);
    };
    ($main:path, heap_size = $size:expr $(,)?) => {
        $crate::__declare_heap!($size);
        $crate::__declare_root_task_entry!($main);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __declare_root_task_entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        unsafe extern "C" fn __sel4_runtime_main(x0: usize, _x1: usize) -> ! {
            #[allow(unreachable_code, clippy::diverging_sub_expression)]
            fn main_returning_unit(bootinfo: &$crate::_private::sel4::BootInfo) {
                let () = $main(bootinfo);
            }
            static LOGGER: $crate::Logger = $crate::Logger::new($crate::__program_name!());
            // SAFETY: `_start` passes x0 on untouched, where the kernel put
            // the boot-info address, and runs this once.
            unsafe { $crate::_private::run_root_task(x0, &LOGGER, main_returning_unit) }
        }
    };
}

/// Declares the `main` of a program started by the root task (or by
/// another program), a `fn(sel4::Word)` taking the argument word passed in
/// `x0` and returning `!` or `()` (then the program stops with a fault).
///
/// `x1` names the IPC buffer (0: none is set). `heap_size = N` as for
/// [`declare_root_task!`].
#[macro_export]
macro_rules! declare_program {
    ($main:path $(,)?) => {
        $crate::__declare_default_heap!();
        $crate::__declare_program_entry!($main);
    };
    ($main:path, heap_size = $size:expr $(,)?) => {
        $crate::__declare_heap!($size);
        $crate::__declare_program_entry!($main);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __declare_program_entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        unsafe extern "C" fn __sel4_runtime_main(x0: usize, x1: usize) -> ! {
            #[allow(unreachable_code, clippy::diverging_sub_expression)]
            fn main_returning_unit(arg: $crate::_private::sel4::Word) {
                let () = $main(arg);
            }
            static LOGGER: $crate::Logger = $crate::Logger::new($crate::__program_name!());
            // SAFETY: `_start` passes x0 and x1 on untouched; by this
            // runtime's convention x1 is 0 or this thread's IPC buffer.
            unsafe { $crate::_private::run_program(x0 as _, x1, &LOGGER, main_returning_unit) }
        }
    };
}

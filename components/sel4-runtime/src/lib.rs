//! The runtime of user programs: everything between the kernel starting a
//! thread at `_start` and the program's `main`, and what `main` leans on
//! (panics, printing, logging, the heap).
//!
//! A program is `#![no_std]`, `#![no_main]`, depends on `sel4` and
//! `sel4-runtime`, links with this crate's `link.ld` (see "Linking"), and
//! names its `main` once:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! fn main(bootinfo: &sel4::BootInfo) -> ! {
//!     sel4_runtime::println!("{} untypeds", bootinfo.untyped().len());
//!     sel4::debug_halt()
//! }
//!
//! sel4_runtime::declare_root_task!(main);
//! ```
//!
//! [`declare_root_task!`] mirrors rust-sel4's `#[root_task]`; programs the
//! root task starts use [`declare_program!`] instead. Either `main` may
//! return `!` or `()`.
//!
//! # From `_start` to `main`
//!
//! 1. `_start` (assembly) points `sp` at the top of the stack `link.ld`
//!    reserves (64 KiB by default) and jumps to the entry the macro
//!    defined. No Rust runs before `sp` is set. `.bss` and the stack are
//!    not cleared here: the loader zero-fills every segment past its file
//!    contents. The FP/SIMD unit is already on (the kernel's job), which
//!    `aarch64-unknown-none` code needs since it uses NEON registers.
//! 2. Root task: `x0` is the boot-info address; the IPC buffer is the one
//!    the boot info names. Other programs: `x0` is an argument word from
//!    whoever started them, and `x1`, if not 0, the address of their IPC
//!    buffer (as given to `TCB Configure`).
//! 3. The IPC buffer is set ([`sel4::set_ipc_buffer`]) and the `log`
//!    backend installed (level [`DEFAULT_LOG_LEVEL`]), then `main` runs.
//!
//! # When it ends
//!
//! A panic prints `panic: <message>` (and its location), then [`abort`]
//! stops the program: the root task halts the system (`debug_halt`), which
//! is the only useful thing left to do; another program raises a fault
//! (`udf #0`, a UserException) so that its fault handler learns of it (the
//! root task reports the crash with the program's name). When `main`
//! returns, a program the root task started [`exit`]s with code 0 (its
//! parent learns the code); the root task halts the system.
//!
//! # Started programs
//!
//! A program the root task starts from a boot script gets an environment
//! page ([`env`]): its command line ([`env::args`]) and named caps, looked
//! up with [`get_cap!`]. `print!` then goes to its `log` channel, tagged by
//! the server; [`rom::open`] maps a boot module.
//!
//! # Linking
//!
//! `link.ld` places programs at 0x400000: text, read-only data, an unmapped
//! guard page, the stack, data and bss, each its own segment (the diagram
//! is in the script). Cargo hands link arguments only to the package whose
//! build script prints them, so each program has this `build.rs`, which
//! takes the script's path from this crate (`links = "sel4_runtime"`):
//!
//! ```text
//! fn main() {
//!     if let Ok(script) = std::env::var("DEP_SEL4_RUNTIME_LINKER_SCRIPT") {
//!         println!("cargo::rustc-link-arg-bins=-T{script}");
//!     }
//! }
//! ```
//!
//! The variable is set only for `aarch64-unknown-none*` builds, so host
//! builds are untouched. A program that needs more than
//! [`DEFAULT_STACK_SIZE`] adds
//! `println!("cargo::rustc-link-arg-bins=--defsym=__sel4_runtime_stack_size=0x40000")`.
//!
//! # Features
//!
//! `alloc`: a heap for `alloc` (`talc` over a static arena, 1 MiB unless
//! `heap_size = N` is given to the entry macro), as the global allocator.

#![no_std]

mod entry;
pub mod env;
mod heap;
mod logging;
mod panic;
mod print;
pub mod rom;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod start;

pub use logging::{DEFAULT_LOG_LEVEL, Logger};
pub use panic::{abort, exit};
pub use print::read_input;

/// Bytes of heap when the entry macro names no `heap_size` (feature `alloc`).
pub const DEFAULT_HEAP_SIZE: usize = 1 << 20;

/// Bytes of stack `link.ld` reserves unless the program defines
/// `__sel4_runtime_stack_size` (`-C link-arg=--defsym=__sel4_runtime_stack_size=N`).
pub const DEFAULT_STACK_SIZE: usize = 64 << 10;

#[doc(hidden)]
pub mod _private {
    pub use crate::entry::{run_program, run_root_task};
    #[cfg(feature = "alloc")]
    pub use crate::heap::{Heap, heap};
    pub use crate::print::print_helper;
    pub use sel4;
}

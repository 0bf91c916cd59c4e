//! The boot image format, shared by the host image builder (`build`, with the
//! `std` feature) and the programs that read it on the target (bootstrap, the
//! kernel, the root task; `no_std`).
//!
//! Two records live here:
//!
//! - [`table`]: the module table that `build` packs after bootstrap in the
//!   image and that bootstrap validates before it trusts a single byte of it.
//! - [`handoff`]: the boot-info record bootstrap fills in for the kernel
//!   (memory map, device regions, loaded modules and their command lines).
//!
//! Both are plain little-endian/`repr(C)` layouts with explicit versions, so a
//! reader built from another revision fails with a clear error instead of
//! misreading.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod handoff;
pub mod table;

pub use table::{Error, Flags, Module, Table};

/// Page size the image builder aligns module payloads to; bootstrap relies on
/// it to hand modules that need no inflating to the kernel in place.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds `v` up to the next multiple of `align` (a power of two).
pub const fn align_up(v: u64, align: u64) -> u64 {
    (v + align - 1) & !(align - 1)
}

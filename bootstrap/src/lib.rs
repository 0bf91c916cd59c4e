//! The parts of bootstrap that do not touch hardware, kept apart so they build
//! and are tested on the host: physical memory placement, gzip inflation and
//! ELF load plans. `main.rs` holds the bare-metal program that uses them.

#![cfg_attr(not(test), no_std)]

pub mod elfload;
pub mod gzip;
pub mod mem;

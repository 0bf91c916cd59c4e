//! vmm, the virtual machine monitor: the parts free of kernel objects as a
//! library, tested on the host; the program (`src/main.rs`) drives a VCPU
//! with them.
//!
//! - [`image`]: loading a Linux arm64 `Image` (raw, gzip or EFI zboot);
//! - [`dt`]: reading and rewriting the guest's device tree;
//! - [`layout`]: placing kernel, device tree and initrd in guest RAM;
//! - [`vgic`]: the emulated GICv2 distributor and the list registers;
//! - [`pl011`]: the emulated PL011 UART;
//! - [`psci`]: answering the guest's PSCI and SMCCC calls;
//! - [`mmio`]: decoding the syndrome of a trapped MMIO access;
//! - [`args`]: the command line.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod args;
pub mod dt;
pub mod image;
pub mod layout;
pub mod mmio;
pub mod pl011;
pub mod psci;
pub mod vgic;

//! The vbus protocol: what a client of io may do with its vbus channel
//! (L4Re's `L4vbus` and the vbus ICU), shared by the client stubs
//! ([`Vbus`]) and io's server ([`server::Handler`], [`server::dispatch`]).
//!
//! Every operation is an seL4 `Call` on the vbus channel with the label
//! and words below; the reply's label is 0 on success, else an [`Error`]
//! code (with [`Error::Kernel`] the kernel's error number in word 0).
//!
//! ```text
//!  label            request words               reply
//!  DEVICE       1   index                       count, depth, resources, blob length,
//!                                               blob: name NUL hid NUL compatible NUL ...
//!  RESOURCE     2   device, resource            type, start, end, flags, name length, name
//!  MAP_MMIO     3   device, resource, page      cap: the page's frame; paddr, rights, flags
//!  MAP_MMIO_AT  4   physical address            cap: the frame of that page; paddr, rights, flags
//!  ICU_BIND     5   irq; cap: a notification    -
//!  ICU_UNBIND   6   irq                         -
//!  ICU_MASK     7   irq                         -
//!  ICU_UNMASK   8   irq                         -
//!  ICU_SET_MODE 9   irq, mode (`mode::*`)       -
//!  ICU_ACK     10   irq                         -
//!  NAME        11   -                           name length, name (the vbus's)
//! ```
//!
//! Devices are numbered in the order a depth-first walk of the vbus meets
//! them: the vbus's interrupt controller (`L4ICU`) first, then the devices
//! the `.vbus` file placed there. Strings are packed 8 bytes per word
//! (`program_env::pack_bytes`). Resource types and flags are L4Re's
//! (`io_config::flags`): type in the low byte, 1 IRQ and 2 MMIO.
//!
//! MMIO is handed out one 4 KiB frame per call, since an seL4 message
//! delivers at most one cap to its receiver: the client names the slot the
//! frame goes to, and io answers with a cap for exactly that page of that
//! resource, with the resource's rights (read-only resources come without
//! the write right). A page outside every MMIO resource of the vbus's
//! devices is refused with [`Error::NoMmioResource`]. IRQs are numbered as
//! in the resources (GIC interrupt IDs); the ICU accepts only those of the
//! vbus's devices. A bound IRQ signals the client's notification directly;
//! the kernel masks the line until the client acknowledges it (`ICU_ACK`).
//! `ICU_MASK` holds deliveries back (one that arrives meanwhile is
//! delivered at `ICU_UNMASK`).

#![cfg_attr(not(test), no_std)]

mod client;
pub mod server;
mod wire;

pub use client::{Transport, Vbus};
pub use wire::{DeviceInfo, Frame, MAX_BLOB, MAX_NAME, Request, ResourceInfo};

/// Operation labels.
pub mod label {
    pub const DEVICE: u64 = 1;
    pub const RESOURCE: u64 = 2;
    pub const MAP_MMIO: u64 = 3;
    pub const MAP_MMIO_AT: u64 = 4;
    pub const ICU_BIND: u64 = 5;
    pub const ICU_UNBIND: u64 = 6;
    pub const ICU_MASK: u64 = 7;
    pub const ICU_UNMASK: u64 = 8;
    pub const ICU_SET_MODE: u64 = 9;
    pub const ICU_ACK: u64 = 10;
    pub const NAME: u64 = 11;
}

/// Resource types (L4Re's numbers).
pub mod res_type {
    pub const IRQ: u64 = 1;
    pub const MMIO: u64 = 2;
}

/// IRQ trigger modes for `ICU_SET_MODE` (L4Re's `L4_IRQ_F_*`).
pub mod mode {
    pub const NONE: u64 = 0;
    pub const RAISING_EDGE: u64 = 1;
    pub const LEVEL_HIGH: u64 = 3;
    pub const FALLING_EDGE: u64 = 5;
    pub const LEVEL_LOW: u64 = 7;
    pub const BOTH_EDGES: u64 = 9;
}

/// Rights bits of a frame in a `MAP_MMIO` reply.
pub mod rights {
    pub const READ: u64 = 1;
    pub const WRITE: u64 = 2;
}

/// Size of the frames MMIO is handed out in.
pub const PAGE: u64 = 4096;

/// Why io refused an operation (the reply label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Unknown label or too few words.
    BadRequest,
    /// No device with that index on this vbus.
    NoDevice,
    /// The device has no resource with that index.
    NoResource,
    /// Not a page of an MMIO resource of a device on this vbus.
    NoMmioResource,
    /// Not an IRQ of a device on this vbus.
    NoIrqResource,
    /// The IRQ is not bound through this vbus.
    NotBound,
    /// The IRQ is bound through another vbus.
    Busy,
    /// A bind without a notification cap.
    NoCap,
    /// A trigger mode the interrupt controller cannot do.
    Unsupported,
    /// The kernel refused io's invocation (its error number).
    Kernel(u64),
    /// io ran out of slots or memory for the request.
    NoMemory,
    /// A reply label this crate does not know.
    Unknown(u64),
}

impl Error {
    /// The reply label, and word 0.
    pub fn encode(self) -> (u64, u64) {
        match self {
            Error::BadRequest => (1, 0),
            Error::NoDevice => (2, 0),
            Error::NoResource => (3, 0),
            Error::NoMmioResource => (4, 0),
            Error::NoIrqResource => (5, 0),
            Error::NotBound => (6, 0),
            Error::Busy => (7, 0),
            Error::NoCap => (8, 0),
            Error::Unsupported => (9, 0),
            Error::Kernel(e) => (10, e),
            Error::NoMemory => (11, 0),
            Error::Unknown(l) => (l, 0),
        }
    }

    /// The error a reply label (with word 0) stands for; `None` for 0.
    pub fn decode(label: u64, w0: u64) -> Option<Error> {
        Some(match label {
            0 => return None,
            1 => Error::BadRequest,
            2 => Error::NoDevice,
            3 => Error::NoResource,
            4 => Error::NoMmioResource,
            5 => Error::NoIrqResource,
            6 => Error::NotBound,
            7 => Error::Busy,
            8 => Error::NoCap,
            9 => Error::Unsupported,
            10 => Error::Kernel(w0),
            11 => Error::NoMemory,
            l => Error::Unknown(l),
        })
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::BadRequest => f.write_str("bad request"),
            Error::NoDevice => f.write_str("no such device on this vbus"),
            Error::NoResource => f.write_str("no such resource"),
            Error::NoMmioResource => f.write_str("no MMIO resource"),
            Error::NoIrqResource => f.write_str("no IRQ resource"),
            Error::NotBound => f.write_str("IRQ not bound through this vbus"),
            Error::Busy => f.write_str("IRQ bound through another vbus"),
            Error::NoCap => f.write_str("no notification cap sent"),
            Error::Unsupported => f.write_str("trigger mode not supported"),
            Error::Kernel(e) => write!(f, "the kernel refused (error {e})"),
            Error::NoMemory => f.write_str("io is out of slots or memory"),
            Error::Unknown(l) => write!(f, "unknown reply label {l}"),
        }
    }
}

#[cfg(test)]
mod tests;

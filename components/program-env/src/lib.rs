//! The contract between the root task (the loader) and the programs it
//! starts, shared by both sides and host-tested here.
//!
//! A started program finds:
//!
//! - in `x0` the address of its **environment page** ([`ENV_VADDR`]), in
//!   `x1` its IPC buffer ([`IPC_BUFFER_VADDR`]);
//! - in its **CSpace** (one CNode of 2^[`CNODE_BITS`] slots, guard so that
//!   a cptr is the slot number) the fixed caps of [`slot`], then its named
//!   caps from [`slot::FIRST_NAMED`] on, listed by name in the environment
//!   page (L4Re's `L4Re::Env::get_cap`), up to [`slot::NAMED_END`]; the
//!   slots above are the program's own to use;
//! - in its **address space**:
//!
//! ```text
//!  0x0                    unmapped (null pointers fault)
//!  IPC_BUFFER_VADDR       the IPC buffer, RW (one page)
//!  ENV_VADDR              the environment page(s), RO
//!  0x40_0000              the program image (sel4-runtime's link.ld)
//!  ROM_VADDR_BASE + v     a rom/ module the program opened, RO, where v is
//!                         the module's address in the root task (so 2 MiB
//!                         frames stay aligned)
//! ```
//!
//! Its command line is split into arguments by [`split_args`]
//! (whitespace, and quotes for an argument with spaces in it).
//!
//! The protocols on the root task's endpoints ([`parent`], [`rom`],
//! [`log`]) are seL4 `Call`s with the label and words given there.

#![cfg_attr(not(test), no_std)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod args;
mod envpage;
pub mod log;
pub mod parent;
pub mod rom;

pub use args::{SplitArgs, split_args};
#[cfg(feature = "alloc")]
pub use envpage::EnvPageBuilder;
pub use envpage::{CapEntry, CapKind, EnvError, EnvPage, MAGIC};

/// Page size of every mapping the loader makes.
pub const PAGE: u64 = 4096;
/// Where a program's IPC buffer is mapped.
pub const IPC_BUFFER_VADDR: u64 = 0x20_0000;
/// Where a program's environment page is mapped.
pub const ENV_VADDR: u64 = 0x30_0000;
/// Largest environment, in pages.
pub const ENV_MAX_PAGES: u64 = 16;
/// Lowest address a program image may use.
pub const IMAGE_MIN_VADDR: u64 = ENV_VADDR + ENV_MAX_PAGES * PAGE;
/// Base of the window where opened rom/ modules are mapped.
pub const ROM_VADDR_BASE: u64 = 0x40_0000_0000;
/// End of the address space programs can use (39-bit addresses).
pub const VADDR_END: u64 = 1 << 39;
/// Size of a program's CNode, log2 slots.
pub const CNODE_BITS: usize = 12;

/// Fixed slots of a program's CNode.
pub mod slot {
    /// The program's own TCB.
    pub const TCB: u64 = 1;
    /// The program's own CNode.
    pub const CNODE: u64 = 2;
    /// The program's own VSpace.
    pub const VSPACE: u64 = 3;
    /// The parent endpoint: exit (see [`crate::parent`]).
    pub const PARENT: u64 = 4;
    /// The frame of the IPC buffer.
    pub const IPC_BUFFER: u64 = 5;
    /// The fault endpoint (looked up in the program's own CSpace, as in
    /// seL4); faults go to the root task, which reports a crash.
    pub const FAULT: u64 = 6;
    /// First slot of the named caps.
    pub const FIRST_NAMED: u64 = 16;
    /// One past the last named cap; the program may use the slots from
    /// here on as it likes.
    pub const NAMED_END: u64 = 1024;
    /// One past the last slot.
    pub const END: u64 = 1 << super::CNODE_BITS;
}

/// Copies `bytes` into message words, 8 bytes per word, little endian
/// (the last word zero-padded); returns the words used.
pub fn pack_bytes(bytes: &[u8], words: &mut [u64]) -> usize {
    let n = bytes.len().div_ceil(8).min(words.len());
    for (i, w) in words[..n].iter_mut().enumerate() {
        let mut b = [0u8; 8];
        let chunk = &bytes[i * 8..(i * 8 + 8).min(bytes.len())];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_le_bytes(b);
    }
    n
}

/// The inverse of [`pack_bytes`]: `len` bytes from `words` into `out`;
/// `None` if the words cannot hold `len` bytes or `out` is too small.
pub fn unpack_bytes<'a>(words: &[u64], len: usize, out: &'a mut [u8]) -> Option<&'a [u8]> {
    if len > words.len() * 8 || len > out.len() {
        return None;
    }
    for (i, w) in words.iter().take(len.div_ceil(8)).enumerate() {
        let b = w.to_le_bytes();
        let n = (len - i * 8).min(8);
        out[i * 8..i * 8 + n].copy_from_slice(&b[..n]);
    }
    Some(&out[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_words() {
        for len in [0usize, 1, 7, 8, 9, 100] {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut words = [0u64; 16];
            let n = pack_bytes(&data, &mut words);
            assert_eq!(n, len.div_ceil(8));
            let mut out = [0u8; 128];
            assert_eq!(unpack_bytes(&words[..n], len, &mut out), Some(&data[..]));
        }
        let mut out = [0u8; 4];
        assert_eq!(unpack_bytes(&[0; 1], 9, &mut [0u8; 16]), None);
        assert_eq!(unpack_bytes(&[0; 2], 9, &mut out), None);
    }

    #[test]
    fn layout_is_consistent() {
        const { assert!(slot::FIRST_NAMED < slot::NAMED_END && slot::NAMED_END < slot::END) };
        const { assert!(IMAGE_MIN_VADDR <= 0x40_0000) };
        const { assert!(ROM_VADDR_BASE < VADDR_END) };
    }
}

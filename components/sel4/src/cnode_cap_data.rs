//! The CSpace root data of `TCB Configure` and `SetSpace`: the guard the
//! thread's root CNode cap gets, so that a lookup through it consumes
//! `guard_size` bits before indexing the CNode.
//!
//! The layout is seL4's `seL4_CNode_CapData` (guard size in bits 0-5, the
//! guard from bit 6); `sel4_sys` names the argument without a layout.

use crate::{WORD_SIZE, Word};

/// A guard and its size, in bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CNodeCapData(Word);

impl CNodeCapData {
    /// # Panics
    ///
    /// If `guard_size` is 64 or more, or `guard` needs more than 58 bits.
    pub fn new(guard: Word, guard_size: usize) -> Self {
        assert!(guard_size < 64, "guard size {guard_size} > 63");
        assert!(guard >> 58 == 0, "guard {guard:#x} wider than 58 bits");
        CNodeCapData(guard << 6 | guard_size as Word)
    }

    /// A zero guard of `num_bits` bits.
    pub fn skip(num_bits: usize) -> Self {
        Self::new(0, num_bits)
    }

    /// The guard that lets a CNode of 2^`cnode_size_bits` slots resolve
    /// full-length cptrs: the high bits must be 0.
    pub fn skip_high_bits(cnode_size_bits: usize) -> Self {
        Self::skip(WORD_SIZE - cnode_size_bits)
    }

    pub const fn into_word(self) -> Word {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(CNodeCapData::new(0b101, 4).into_word(), 0b101 << 6 | 4);
        assert_eq!(CNodeCapData::skip_high_bits(13).into_word(), 51);
    }
}

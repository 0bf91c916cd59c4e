//! Attributes of a mapping (`Page Map` and `PageTable Map` argument):
//! cacheable, execute-never.

use core::ops::{BitAnd, BitOr, Not};

use crate::{Word, sys};

/// Mapping attribute bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VmAttributes(Word);

impl VmAttributes {
    /// Uncached, executable: device memory.
    pub const NONE: Self = Self(0);
    pub const PAGE_CACHEABLE: Self = Self(sys::object::VM_ATTR_PAGE_CACHEABLE);
    pub const EXECUTE_NEVER: Self = Self(sys::object::VM_ATTR_EXECUTE_NEVER);
    /// Cacheable, executable: normal memory.
    pub const DEFAULT: Self = Self::PAGE_CACHEABLE;

    pub const fn from_inner(bits: Word) -> Self {
        Self(bits)
    }

    pub const fn into_inner(self) -> Word {
        self.0
    }

    /// Whether any bit of `rhs` is set.
    pub const fn has(self, rhs: Self) -> bool {
        self.0 & rhs.0 != 0
    }
}

impl Default for VmAttributes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl BitOr for VmAttributes {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitAnd for VmAttributes {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for VmAttributes {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let a = VmAttributes::default() | VmAttributes::EXECUTE_NEVER;
        assert_eq!(a.into_inner(), 0b101);
        assert!(a.has(VmAttributes::PAGE_CACHEABLE));
        assert!(!(a & !VmAttributes::EXECUTE_NEVER).has(VmAttributes::EXECUTE_NEVER));
    }
}

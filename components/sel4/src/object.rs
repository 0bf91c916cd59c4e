//! What `Untyped Retype` makes: an [`ObjectBlueprint`] is an object type
//! together with the size the caller chooses where it has one, so the
//! footprint in the untyped is known before the call.

use crate::sys;

pub use sys::ObjectType;

/// An object type and, where the caller chooses it, its size.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectBlueprint {
    /// An untyped of 2^`size_bits` bytes.
    Untyped {
        size_bits: usize,
    },
    Endpoint,
    Notification,
    /// A CNode of 2^`size_bits` slots.
    CNode {
        size_bits: usize,
    },
    Tcb,
    VSpace,
    SmallPage,
    LargePage,
    PageTable,
    Vcpu,
}

impl ObjectBlueprint {
    /// The type number `Untyped Retype` takes.
    pub const fn ty(self) -> ObjectType {
        match self {
            Self::Untyped { .. } => ObjectType::Untyped,
            Self::Endpoint => ObjectType::Endpoint,
            Self::Notification => ObjectType::Notification,
            Self::CNode { .. } => ObjectType::CapTable,
            Self::Tcb => ObjectType::Tcb,
            Self::VSpace => ObjectType::VSpace,
            Self::SmallPage => ObjectType::SmallPage,
            Self::LargePage => ObjectType::LargePage,
            Self::PageTable => ObjectType::PageTable,
            Self::Vcpu => ObjectType::Vcpu,
        }
    }

    /// The size argument of `Untyped Retype` (`None` means 0 is passed).
    pub const fn api_size_bits(self) -> Option<usize> {
        match self {
            Self::Untyped { size_bits } | Self::CNode { size_bits } => Some(size_bits),
            _ => None,
        }
    }

    /// Bytes the object takes in its untyped, log2.
    pub const fn physical_size_bits(self) -> usize {
        match self {
            Self::Untyped { size_bits } => size_bits,
            Self::CNode { size_bits } => size_bits + sys::object::SLOT_BITS,
            _ => match self.ty().fixed_size_bits() {
                Some(bits) => bits,
                None => unreachable!(),
            },
        }
    }

    /// The untyped that `AsidControl MakePool` turns into an ASID pool.
    pub const fn asid_pool() -> Self {
        Self::Untyped { size_bits: sys::object::ASID_POOL_BITS }
    }
}

/// The frame sizes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FrameObjectType {
    SmallPage,
    LargePage,
}

impl FrameObjectType {
    /// The smallest frame.
    pub const GRANULE: Self = Self::SmallPage;

    pub const fn blueprint(self) -> ObjectBlueprint {
        match self {
            Self::SmallPage => ObjectBlueprint::SmallPage,
            Self::LargePage => ObjectBlueprint::LargePage,
        }
    }

    /// Size, log2 bytes.
    pub const fn bits(self) -> usize {
        self.blueprint().physical_size_bits()
    }

    pub const fn bytes(self) -> usize {
        1 << self.bits()
    }

    pub const fn from_bits(bits: usize) -> Option<Self> {
        match bits {
            sys::object::PAGE_BITS => Some(Self::SmallPage),
            sys::object::LARGE_PAGE_BITS => Some(Self::LargePage),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ObjectBlueprint::CNode { size_bits: 8 }.physical_size_bits(), 14);
        assert_eq!(ObjectBlueprint::CNode { size_bits: 8 }.api_size_bits(), Some(8));
        assert_eq!(ObjectBlueprint::Tcb.physical_size_bits(), sys::object::TCB_BITS);
        assert_eq!(ObjectBlueprint::Endpoint.api_size_bits(), None);
        assert_eq!(ObjectBlueprint::asid_pool().physical_size_bits(), 12);
        assert_eq!(FrameObjectType::GRANULE.bytes(), 4096);
        assert_eq!(FrameObjectType::from_bits(21), Some(FrameObjectType::LargePage));
        assert_eq!(FrameObjectType::from_bits(30), None);
    }

    #[test]
    fn type_numbers_are_the_abis() {
        assert_eq!(ObjectBlueprint::CNode { size_bits: 1 }.ty() as u64, 4);
        assert_eq!(ObjectBlueprint::Vcpu.ty() as u64, 10);
    }
}

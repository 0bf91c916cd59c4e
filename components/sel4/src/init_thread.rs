//! The root task's CSpace: the fixed slots of its initial caps
//! ([`slot`]), and typed slots and slot ranges for the ones the boot info
//! lists.

use core::marker::PhantomData;
use core::ops::Range;

use crate::{CPtr, CPtrBits, Cap, CapType, cap_type, sys};

/// A slot of the root task's CNode, marked with what it holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot<T: CapType = cap_type::Unspecified> {
    index: usize,
    _phantom: PhantomData<T>,
}

impl<T: CapType> Slot<T> {
    pub const fn from_index(index: usize) -> Self {
        Slot { index, _phantom: PhantomData }
    }

    pub const fn index(&self) -> usize {
        self.index
    }

    pub const fn cptr_bits(&self) -> CPtrBits {
        self.index as CPtrBits
    }

    pub const fn cptr(&self) -> CPtr {
        CPtr::from_bits(self.cptr_bits())
    }

    /// The cap in this slot.
    pub const fn cap(&self) -> Cap<T> {
        self.cptr().cast()
    }

    pub const fn cast<T1: CapType>(&self) -> Slot<T1> {
        Slot::from_index(self.index)
    }

    pub const fn upcast(&self) -> Slot {
        self.cast()
    }
}

impl Slot {
    pub const fn downcast<T: CapType>(&self) -> Slot<T> {
        self.cast()
    }
}

/// Consecutive slots holding caps of one type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotRegion<T: CapType> {
    range: Range<usize>,
    _phantom: PhantomData<T>,
}

impl<T: CapType> SlotRegion<T> {
    pub const fn from_range(range: Range<usize>) -> Self {
        SlotRegion { range, _phantom: PhantomData }
    }

    pub(crate) const fn from_sys(region: sys::SlotRegion) -> Self {
        Self::from_range(region.start as usize..region.end as usize)
    }

    pub const fn start(&self) -> usize {
        self.range.start
    }

    pub const fn end(&self) -> usize {
        self.range.end
    }

    pub const fn range(&self) -> Range<usize> {
        self.range.start..self.range.end
    }

    pub const fn len(&self) -> usize {
        self.range.end - self.range.start
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th slot.
    ///
    /// # Panics
    ///
    /// If `i` is out of the region.
    pub fn index(&self, i: usize) -> Slot<T> {
        assert!(i < self.len(), "slot {i} out of a region of {}", self.len());
        Slot::from_index(self.range.start + i)
    }

    /// Each slot in order.
    pub fn iter(&self) -> impl Iterator<Item = Slot<T>> + use<T> {
        self.range().map(Slot::from_index)
    }
}

/// The fixed slots of the root task's CNode (`seL4_RootCNodeCapSlots`).
pub mod slot {
    use super::Slot;
    use crate::cap_type;
    use crate::sys::InitialCap;

    macro_rules! slots {
        ($($(#[$attr:meta])* $name:ident: $ty:ident = $sys:ident,)*) => {
            $(
                $(#[$attr])*
                pub const $name: Slot<cap_type::$ty> = Slot::from_index(InitialCap::$sys as usize);
            )*
        };
    }

    slots! {
        /// Always empty.
        NULL: Null = Null,
        /// The root task's thread.
        TCB: Tcb = InitThreadTcb,
        /// The root task's CNode (its CSpace root).
        CNODE: CNode = InitThreadCNode,
        /// The root task's VSpace.
        VSPACE: VSpace = InitThreadVSpace,
        IRQ_CONTROL: IrqControl = IrqControl,
        ASID_CONTROL: AsidControl = AsidControl,
        /// The pool the root task's VSpace has its ASID from.
        ASID_POOL: AsidPool = InitThreadAsidPool,
        /// The frame holding the boot info.
        BOOT_INFO_FRAME: Granule = BootInfoFrame,
        /// The frame holding the root task's IPC buffer.
        IPC_BUFFER: Granule = InitThreadIpcBuffer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_slots() {
        assert_eq!(slot::CNODE.cap().bits(), 2);
        assert_eq!(slot::IPC_BUFFER.index(), 10);
        assert_eq!(slot::TCB.upcast().downcast::<cap_type::Tcb>(), slot::TCB);
    }

    #[test]
    fn regions() {
        let r = SlotRegion::<cap_type::Untyped>::from_range(20..23);
        assert_eq!((r.len(), r.index(2).cptr_bits()), (3, 22));
        assert_eq!(r.iter().map(|s| s.index()).collect::<std::vec::Vec<_>>(), [20, 21, 22]);
        assert!(SlotRegion::<cap_type::Null>::from_range(5..5).is_empty());
    }

    #[test]
    #[should_panic(expected = "out of a region")]
    fn index_past_the_end_panics() {
        SlotRegion::<cap_type::Null>::from_range(5..6).index(1);
    }
}

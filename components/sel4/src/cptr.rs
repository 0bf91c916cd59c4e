//! Capability pointers: untyped [`CPtr`]s, typed [`Cap`]s and the
//! [`AbsoluteCPtr`]s that CNode invocations take.
//!
//! A [`Cap<T>`] is a [`CPtr`] with a phantom marker saying what the slot
//! holds; nothing checks it, the kernel answers an invocation on the wrong
//! type with `InvalidCapability`. Cast where a slot is read (`cptr.cast()`),
//! then the methods of that type are the ones available.

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;

use crate::{Word, cap::CNode, cap_type};

/// The bits of a capability pointer.
pub type CPtrBits = Word;

/// Bits in a word, and so the depth of a full-length capability pointer.
pub const WORD_SIZE: usize = Word::BITS as usize;

/// A capability pointer: an address in the current thread's CSpace,
/// resolved through all [`WORD_SIZE`] bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct CPtr(CPtrBits);

impl CPtr {
    pub const fn from_bits(bits: CPtrBits) -> Self {
        CPtr(bits)
    }

    pub const fn bits(self) -> CPtrBits {
        self.0
    }

    /// The same pointer, marked as pointing at a `T`.
    pub const fn cast<T: CapType>(self) -> Cap<T> {
        Cap::from_cptr(self)
    }
}

/// A capability pointer resolved through `depth` bits only: how a slot
/// holding a CNode is named without descending into that CNode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CPtrWithDepth {
    bits: CPtrBits,
    depth: usize,
}

impl CPtrWithDepth {
    pub const fn from_bits_with_depth(bits: CPtrBits, depth: usize) -> Self {
        CPtrWithDepth { bits, depth }
    }

    /// Depth 0: the CNode the lookup starts from, itself.
    pub const fn empty() -> Self {
        Self::from_bits_with_depth(0, 0)
    }

    pub const fn bits(&self) -> CPtrBits {
        self.bits
    }

    pub const fn depth(&self) -> usize {
        self.depth
    }
}

impl From<CPtr> for CPtrWithDepth {
    fn from(cptr: CPtr) -> Self {
        Self::from_bits_with_depth(cptr.bits(), WORD_SIZE)
    }
}

/// A marker for what a capability slot holds (see [`cap_type`]).
pub trait CapType: Copy + Clone + Eq + PartialEq + Ord + PartialOrd + Hash {
    /// The type's name, for debug output.
    const NAME: &'static str;
}

/// A capability pointer marked with the type of the capability it names.
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cap<T: CapType> {
    cptr: CPtr,
    _phantom: PhantomData<T>,
}

impl<T: CapType> Cap<T> {
    pub const fn from_cptr(cptr: CPtr) -> Self {
        Cap { cptr, _phantom: PhantomData }
    }

    pub const fn from_bits(bits: CPtrBits) -> Self {
        Self::from_cptr(CPtr::from_bits(bits))
    }

    pub const fn cptr(&self) -> CPtr {
        self.cptr
    }

    pub const fn bits(&self) -> CPtrBits {
        self.cptr.bits()
    }

    /// The same slot, marked as holding a `T1`.
    pub const fn cast<T1: CapType>(self) -> Cap<T1> {
        Cap::from_cptr(self.cptr)
    }

    /// The same slot, marked as holding any capability.
    pub const fn upcast(self) -> Cap<cap_type::Unspecified> {
        self.cast()
    }
}

impl Cap<cap_type::Unspecified> {
    /// The same slot, marked as holding a `T`.
    pub const fn downcast<T: CapType>(self) -> Cap<T> {
        self.cast()
    }
}

impl<T: CapType> fmt::Debug for Cap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cap<{}>({:#x})", T::NAME, self.bits())
    }
}

/// Types that name a slot through a [`CPtrWithDepth`]: [`CPtr`] and
/// [`Cap`] at full depth, and [`CPtrWithDepth`] itself.
pub trait HasCPtrWithDepth {
    fn cptr_with_depth(self) -> CPtrWithDepth;
}

impl HasCPtrWithDepth for CPtr {
    fn cptr_with_depth(self) -> CPtrWithDepth {
        self.into()
    }
}

impl<T: CapType> HasCPtrWithDepth for Cap<T> {
    fn cptr_with_depth(self) -> CPtrWithDepth {
        self.cptr().into()
    }
}

impl HasCPtrWithDepth for CPtrWithDepth {
    fn cptr_with_depth(self) -> CPtrWithDepth {
        self
    }
}

/// A slot named by a CNode (in the current CSpace) and a path from it.
///
/// It can name slots that a [`Cap`] cannot: those in a CNode that is not
/// the thread's CSpace root, and slots holding CNodes (by stopping the
/// lookup at the right depth). The CNode invocations (copy, mint, move,
/// mutate, delete, revoke, cancel badged sends) are its methods, and
/// destinations of retype and of the invocations that create caps are
/// given as one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AbsoluteCPtr {
    root: CNode,
    path: CPtrWithDepth,
}

impl AbsoluteCPtr {
    pub const fn new(root: CNode, path: CPtrWithDepth) -> Self {
        AbsoluteCPtr { root, path }
    }

    pub const fn root(&self) -> &CNode {
        &self.root
    }

    pub const fn into_root(self) -> CNode {
        self.root
    }

    pub const fn path(&self) -> &CPtrWithDepth {
        &self.path
    }
}

impl CNode {
    /// `path` looked up from this CNode.
    pub fn absolute_cptr<P: HasCPtrWithDepth>(self, path: P) -> AbsoluteCPtr {
        AbsoluteCPtr::new(self, path.cptr_with_depth())
    }

    /// `bits` looked up from this CNode through `depth` bits.
    pub fn absolute_cptr_from_bits_with_depth(self, bits: CPtrBits, depth: usize) -> AbsoluteCPtr {
        self.absolute_cptr(CPtrWithDepth::from_bits_with_depth(bits, depth))
    }

    /// This CNode itself (depth 0): the destination of a retype into it.
    pub fn absolute_cptr_for_self(self) -> AbsoluteCPtr {
        self.absolute_cptr(CPtrWithDepth::empty())
    }

    /// The older rust-sel4 name of [`CNode::absolute_cptr`].
    pub fn relative<P: HasCPtrWithDepth>(self, path: P) -> AbsoluteCPtr {
        self.absolute_cptr(path)
    }

    /// The older rust-sel4 name of [`CNode::absolute_cptr_from_bits_with_depth`].
    pub fn relative_bits_with_depth(self, bits: CPtrBits, depth: usize) -> AbsoluteCPtr {
        self.absolute_cptr_from_bits_with_depth(bits, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap;

    #[test]
    fn casts_keep_the_bits() {
        let ep: cap::Endpoint = CPtr::from_bits(7).cast();
        assert_eq!(ep.bits(), 7);
        let any = ep.upcast();
        let ntfn: cap::Notification = any.downcast();
        assert_eq!(ntfn.cptr(), CPtr::from_bits(7));
        assert_eq!(ntfn.cast::<cap_type::Tcb>().bits(), 7);
        assert_eq!(format!("{ep:?}"), "Cap<Endpoint>(0x7)");
    }

    #[test]
    fn absolute_cptrs() {
        let root = cap::CNode::from_bits(2);
        let a = root.absolute_cptr(cap::Tcb::from_bits(9));
        assert_eq!((a.root().bits(), a.path().bits(), a.path().depth()), (2, 9, 64));
        let s = root.absolute_cptr_for_self();
        assert_eq!((s.path().bits(), s.path().depth()), (0, 0));
        let r = root.relative_bits_with_depth(0x30, 13);
        assert_eq!(r, root.absolute_cptr(CPtrWithDepth::from_bits_with_depth(0x30, 13)));
        assert_eq!(r.into_root(), root);
    }
}

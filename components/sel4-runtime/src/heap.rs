//! The heap (feature `alloc`): `talc` over a static arena in the program's
//! `.bss`, as the `#[global_allocator]`, behind a spin lock (uncontended
//! in a single-threaded program, correct if threads come).
//!
//! The entry macros declare it in the program's crate, so the program
//! chooses the size; without the feature they declare nothing, and asking
//! for a `heap_size` is a compile error.

/// The allocator type the entry macros declare.
#[cfg(feature = "alloc")]
pub type Heap = talc::TalcLock<spinning_top::RawSpinlock, talc::source::Claim>;

/// A [`Heap`] over `arena`, which it claims on its first allocation.
///
/// # Safety
///
/// Nothing else uses `arena`, which lives as long as the program.
#[cfg(feature = "alloc")]
pub const unsafe fn heap<const N: usize>(arena: *mut [u8; N]) -> Heap {
    // SAFETY: the caller hands over the arena for good.
    Heap::new(unsafe { talc::source::Claim::array(arena) })
}

#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_heap {
    ($size:expr) => {
        #[global_allocator]
        static __SEL4_RUNTIME_HEAP: $crate::_private::Heap = {
            static mut ARENA: [u8; $size] = [0; $size];
            // SAFETY: the arena is named only here, and static.
            unsafe { $crate::_private::heap(&raw mut ARENA) }
        };
    };
}

#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_default_heap {
    () => {
        $crate::__declare_heap!($crate::DEFAULT_HEAP_SIZE);
    };
}

#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_heap {
    ($size:expr) => {
        ::core::compile_error!("`heap_size` needs the `alloc` feature of sel4-runtime");
    };
}

#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_default_heap {
    () => {};
}

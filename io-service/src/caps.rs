//! io's own CSpace: paths to its slots, and the slots above the named caps
//! it hands to the objects it makes (frames, IRQ handlers, notifications).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use program_env::slot;
use sel4::{AbsoluteCPtr, CPtr, cap};

/// io's CNode.
pub fn own_cnode() -> cap::CNode {
    CPtr::from_bits(slot::CNODE).cast()
}

/// The path of slot `s` of io's CNode, for CNode invocations.
pub fn at(s: u64) -> AbsoluteCPtr {
    own_cnode().absolute_cptr_from_bits_with_depth(s, program_env::CNODE_BITS)
}

/// The cap in slot `s`.
pub fn cap_at<T: sel4::CapType>(s: u64) -> sel4::Cap<T> {
    CPtr::from_bits(s).cast()
}

/// The free slots: a run from [`slot::NAMED_END`] up, and the ones given
/// back.
pub struct Slots {
    next: u64,
    free: Vec<u64>,
}

impl Slots {
    pub const fn new() -> Self {
        Slots { next: slot::NAMED_END, free: Vec::new() }
    }

    /// One free slot.
    pub fn take(&mut self) -> Result<u64, String> {
        match self.free.pop() {
            Some(s) => Ok(s),
            None => self.run(1),
        }
    }

    /// `n` consecutive free slots (for one retype of `n` objects); the first.
    pub fn run(&mut self, n: u64) -> Result<u64, String> {
        if self.next + n > slot::END {
            return Err(format!(
                "io's CNode is full ({} slots; {n} more wanted)",
                slot::END - slot::NAMED_END
            ));
        }
        self.next += n;
        Ok(self.next - n)
    }

    /// Slot `s` is empty again.
    pub fn give_back(&mut self, s: u64) {
        self.free.push(s);
    }
}

//! Where the root task's objects come from: the empty slots of its CNode
//! and the RAM untypeds of the boot info.
//!
//! Each program gets an untyped of its own, carved from the pool, and every
//! object it is made of (CNode, VSpace, TCB, frames, page tables) is
//! retyped from that one. Killing the program revokes it, which destroys
//! them all at once; the emptied untyped goes back to a free list and is
//! reused for the next program that fits. An untyped tracks its own fill
//! level, since seL4 places each new object at the next index aligned to
//! its size.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sel4::init_thread::slot;
use sel4::{AbsoluteCPtr, CPtr, Cap, Error, ObjectBlueprint, cap};

/// A path to slot `s` of the root CNode.
pub fn path(s: u64) -> AbsoluteCPtr {
    slot::CNODE.cap().absolute_cptr_from_bits_with_depth(s, 64)
}

/// The cap in root slot `s`, typed.
pub fn cap_at<T: sel4::CapType>(s: u64) -> Cap<T> {
    CPtr::from_bits(s).cast()
}

/// The empty slots of the root CNode.
pub struct Slots {
    next: u64,
    end: u64,
    free: Vec<u64>,
}

impl Slots {
    pub fn new(start: u64, end: u64) -> Self {
        Slots { next: start, end, free: Vec::new() }
    }

    pub fn take(&mut self) -> Result<u64, String> {
        if let Some(s) = self.free.pop() {
            return Ok(s);
        }
        if self.next == self.end {
            return Err("the root task's CNode is full".into());
        }
        self.next += 1;
        Ok(self.next - 1)
    }

    /// Returns an emptied slot.
    pub fn give_back(&mut self, s: u64) {
        self.free.push(s);
    }
}

/// An untyped with its fill level.
#[derive(Clone, Copy, Debug)]
pub struct Untyped {
    pub slot: u64,
    pub bits: usize,
    used: u64,
}

impl Untyped {
    pub fn new(slot: u64, bits: usize) -> Self {
        Untyped { slot, bits, used: 0 }
    }

    /// Retypes one object into root slot `dst` if it fits.
    pub fn retype(&mut self, bp: &ObjectBlueprint, dst: u64) -> Result<(), Error> {
        let size = 1u64 << bp.physical_size_bits();
        let at = self.used.next_multiple_of(size);
        if at + size > 1 << self.bits {
            return Err(Error::NotEnoughMemory);
        }
        let ut: cap::Untyped = cap_at(self.slot);
        ut.untyped_retype(bp, &slot::CNODE.cap().absolute_cptr_for_self(), dst as usize, 1)?;
        self.used = at + size;
        Ok(())
    }

    /// Forgets the fill level (after a revoke emptied it).
    pub fn reset(&mut self) {
        self.used = 0;
    }
}

/// Every RAM untyped, and the program untypeds freed for reuse.
pub struct Pool {
    untypeds: Vec<Untyped>,
    spare: Vec<Untyped>,
}

impl Pool {
    pub fn new(bi: &sel4::BootInfo) -> Self {
        let mut untypeds: Vec<Untyped> = bi
            .untyped()
            .range()
            .zip(bi.untyped_list())
            .filter(|(_, d)| !d.is_device())
            .map(|(s, d)| Untyped::new(s as u64, d.size_bits()))
            .collect();
        // Small objects from small untypeds first, keeping large ones whole.
        untypeds.sort_by_key(|u| u.bits);
        Pool { untypeds, spare: Vec::new() }
    }

    /// Retypes `bp` into root slot `dst` from the first untyped with room.
    pub fn retype(&mut self, bp: &ObjectBlueprint, dst: u64) -> Result<(), String> {
        for u in self.untypeds.iter_mut().filter(|u| u.bits >= bp.physical_size_bits()) {
            match u.retype(bp, dst) {
                Ok(()) => return Ok(()),
                Err(Error::NotEnoughMemory) => continue,
                Err(e) => return Err(format!("retype of {bp:?}: {e:?}")),
            }
        }
        Err(format!("out of memory for {bp:?}"))
    }

    /// An empty untyped of 2^`bits` bytes in a fresh root slot: a spare
    /// one if there is one of that size, else a new one.
    pub fn untyped(&mut self, slots: &mut Slots, bits: usize) -> Result<Untyped, String> {
        if let Some(i) = self.spare.iter().position(|u| u.bits == bits) {
            return Ok(self.spare.swap_remove(i));
        }
        let s = slots.take()?;
        if let Err(e) = self.retype(&ObjectBlueprint::Untyped { size_bits: bits }, s) {
            slots.give_back(s);
            return Err(format!("no untyped of 2^{bits} bytes left ({e})"));
        }
        Ok(Untyped::new(s, bits))
    }

    /// Takes back an untyped whose children are all gone.
    pub fn give_back(&mut self, mut u: Untyped) {
        u.reset();
        self.spare.push(u);
    }
}

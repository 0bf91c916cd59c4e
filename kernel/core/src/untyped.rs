//! Untyped Retype (seL4's `decodeUntypedInvocation` and
//! `invokeUntyped_Retype`): carving new objects out of untyped memory.
//!
//! Objects are carved in order from the untyped's free index, each aligned
//! to its size, and never overlap: the free index only moves forward while
//! the untyped has children, and goes back to 0 (seL4's "reset") only when
//! a retype finds that every child is gone. Device untypeds only make
//! frames and smaller untypeds, and their memory is never written.

use crate::cap::{Cap, SlotRef};
use crate::cdt::{ensure_empty_slot, ensure_no_children, insert_new_cap};
use crate::cspace::lookup_target_slot;
use crate::error::{LookupFault, SysResult, SyscallError};
use crate::syscall::Invocation;
use crate::tcb::ThreadState;
use crate::{Arch, Kernel};
use sel4_sys::InvocationLabel;
use sel4_sys::object::{MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, ObjectType, SLOT_BITS};

/// Most objects one Retype may create (seL4's
/// `CONFIG_RETYPE_FAN_OUT_LIMIT`).
pub const RETYPE_FAN_OUT_LIMIT: u64 = 256;

/// Size of one object of type `t`, log2 (seL4's `getObjectSize`).
pub(crate) fn object_size_bits(t: ObjectType, user_size: u64) -> u64 {
    match t {
        ObjectType::Untyped => user_size,
        ObjectType::CapTable => user_size + SLOT_BITS as u64,
        t => t.fixed_size_bits().unwrap_or(0) as u64,
    }
}

impl<A: Arch> Kernel<A> {
    /// Retype: MR0 type, MR1 size bits, MR2 node index, MR3 node depth, MR4
    /// node offset, MR5 number of objects; extra cap 0 the root CNode.
    pub(crate) fn decode_untyped_invocation(&mut self, inv: &Invocation) -> SysResult {
        if inv.label != InvocationLabel::UntypedRetype {
            return Err(SyscallError::IllegalOperation);
        }
        inv.need(6, 1)?;
        let Cap::Untyped { size_bits, device, base, free_index } = inv.cap else {
            return Err(SyscallError::InvalidCapability(0));
        };
        let (type_w, user_size) = (inv.arg(0), inv.arg(1));
        let (node_index, node_depth) = (inv.arg(2), inv.arg(3));
        let (node_offset, num) = (inv.arg(4), inv.arg(5));
        let root = inv.extra(0).map(|s| s.cap()).unwrap_or_default();

        let t = match ObjectType::from_word(type_w) {
            Some(ObjectType::HugePage) | None => return Err(SyscallError::InvalidArgument(0)),
            Some(t) => t,
        };
        if user_size >= 64 || object_size_bits(t, user_size) > MAX_UNTYPED_BITS as u64 {
            return Err(SyscallError::RangeError { min: 0, max: MAX_UNTYPED_BITS as u64 });
        }
        let obj_bits = object_size_bits(t, user_size);
        if t == ObjectType::CapTable && user_size == 0 {
            return Err(SyscallError::InvalidArgument(1));
        }
        if t == ObjectType::Untyped && user_size < MIN_UNTYPED_BITS as u64 {
            return Err(SyscallError::InvalidArgument(1));
        }

        let node = if node_depth == 0 {
            root
        } else {
            lookup_target_slot(root, node_index, node_depth)?.cap()
        };
        let Cap::CNode { radix, ptr: node_ptr, .. } = node else {
            return Err(SyscallError::FailedLookup {
                source: false,
                lookup: LookupFault::MissingCapability { bits_left: node_depth },
            });
        };
        let node_size = 1u64 << radix;
        if node_offset > node_size - 1 {
            return Err(SyscallError::RangeError { min: 0, max: node_size - 1 });
        }
        if !(1..=RETYPE_FAN_OUT_LIMIT).contains(&num) {
            return Err(SyscallError::RangeError { min: 1, max: RETYPE_FAN_OUT_LIMIT });
        }
        if num > node_size - node_offset {
            return Err(SyscallError::RangeError { min: 1, max: node_size - node_offset });
        }
        for i in node_offset..node_offset + num {
            ensure_empty_slot(SlotRef::at(node_ptr, i))?;
        }

        let reset = ensure_no_children(inv.slot).is_ok();
        let free = if reset { 0 } else { free_index };
        let free_bytes = (1u64 << size_bits) - free;
        if (free_bytes >> obj_bits) < num {
            return Err(SyscallError::NotEnoughMemory(free_bytes));
        }
        let is_frame = matches!(t, ObjectType::SmallPage | ObjectType::LargePage);
        if device && !is_frame && t != ObjectType::Untyped {
            return Err(SyscallError::InvalidArgument(1));
        }
        let aligned = (base + free).next_multiple_of(1 << obj_bits);

        self.set_thread_state(inv.thread, ThreadState::Restart);
        let end = aligned + (num << obj_bits);
        inv.slot.set_cap(Cap::Untyped { size_bits, device, base, free_index: end - base });
        for i in 0..num {
            let cap = self.create_object(t, aligned + (i << obj_bits), user_size, device);
            insert_new_cap(inv.slot, SlotRef::at(node_ptr, node_offset + i), cap);
        }
        Ok(())
    }
}

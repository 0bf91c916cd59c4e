//! Capabilities and capability table entries.
//!
//! A [`Cap`] names one kernel object (or a kernel service) with the rights
//! and data its holder has; a [`Cte`] is one CNode slot: a cap and its node
//! in the capability derivation tree ([`Mdb`]). The predicates here are
//! seL4's `sameRegionAs`, `sameObjectAs`, `maskCapRights`, `updateCapData`,
//! `isCapRevocable`, `cap_get_capPtr` and `cap_get_capSizeBits`
//! (`objecttype.c` and its aarch64 counterpart).
//!
//! A zeroed `Cte` is a null cap with an empty derivation node: `Cap` is
//! `repr(u8)` with `Null = 0`, so fresh CNode memory is a valid table.

use crate::tcb::TCB_OFFSET;
use sel4_sys::CapRights;
use sel4_sys::object::{
    ASID_POOL_BITS, ENDPOINT_BITS, NOTIFICATION_BITS, PAGE_TABLE_BITS, SLOT_BITS, TCB_BITS,
    VCPU_BITS, VSPACE_BITS,
};

/// Access rights of a frame mapping (seL4's `vm_rights_t`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VmRights {
    /// No user access.
    #[default]
    KernelOnly = 0,
    /// Read (and execute) only.
    ReadOnly = 1,
    /// Read and write.
    ReadWrite = 2,
}

impl VmRights {
    /// The rights left after masking with `mask` (seL4's `maskVMRights`):
    /// read is needed to keep anything, write to keep write.
    pub fn mask(self, mask: CapRights) -> VmRights {
        match self {
            VmRights::ReadOnly if mask.can_read() => VmRights::ReadOnly,
            VmRights::ReadWrite if mask.can_read() => {
                if mask.can_write() {
                    VmRights::ReadWrite
                } else {
                    VmRights::ReadOnly
                }
            }
            _ => VmRights::KernelOnly,
        }
    }
}

/// What a zombie is the remains of.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZombieKind {
    /// A TCB: its five slots are being cleared.
    Tcb = 0,
    /// A CNode: its slots are being cleared.
    CNode = 1,
}

/// A capability. Field order within variants keeps the enum at 40 bytes.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cap {
    /// An empty slot.
    #[default]
    Null = 0,
    /// Untyped memory `[base, base + 2^size_bits)`; objects are carved from
    /// `base + free_index` (a byte offset) on.
    Untyped { size_bits: u8, device: bool, base: u64, free_index: u64 } = 1,
    /// An endpoint; rights: Write to send, Read to receive, Grant to
    /// pass caps, GrantReply to receive reply caps on calls.
    Endpoint { ptr: u64, badge: u64, rights: CapRights } = 2,
    /// Rights: only read (wait) and write (signal) mean anything.
    Notification { ptr: u64, badge: u64, rights: CapRights } = 3,
    /// A reply cap to thread `tcb`; the master one lives in the thread's own
    /// reply slot and is the parent of every reply cap to it.
    Reply { master: bool, can_grant: bool, tcb: u64 } = 4,
    /// A CNode of 2^radix slots at `ptr`; addresses resolve `guard_size` bits
    /// of guard, then `radix` bits of index.
    CNode { radix: u8, guard_size: u8, ptr: u64, guard: u64 } = 5,
    /// A thread; `ptr` is the address of its [`crate::Tcb`].
    Tcb { ptr: u64 } = 6,
    /// The remains of a CNode or TCB whose last cap is being deleted:
    /// `number` of its slots, from `ptr` on, are still to be cleared;
    /// `parent` is the slot of the zombie whose clearing found this one (0:
    /// none). Zombies exist only during a deletion.
    Zombie { kind: ZombieKind, radix: u8, ptr: u64, number: u64, parent: u64 } = 7,
    /// A 4 KiB or 2 MiB frame, mapped at `(asid, vaddr)` when `mapped`.
    Frame { size_bits: u8, rights: VmRights, device: bool, paddr: u64, mapped: Option<(u16, u64)> } =
        8,
    /// A stage-2 page table (level 2 or 3), mapped at `(asid, vaddr)`.
    PageTable { ptr: u64, mapped: Option<(u16, u64)> } = 9,
    /// A stage-2 root table (level 1); usable once it has an ASID.
    VSpace { asid: Option<u16>, ptr: u64 } = 10,
    /// The authority to create ASID pools.
    AsidControl = 11,
    /// An ASID pool handing out the ASIDs from `asid_base` on.
    AsidPool { asid_base: u16, ptr: u64 } = 12,
    /// The authority to create IRQ handler caps.
    IrqControl = 13,
    /// The authority over one IRQ.
    IrqHandler { irq: u32 } = 14,
    /// A virtual CPU (4 KiB object).
    Vcpu { ptr: u64 } = 15,
    /// The authority to set threads' scheduling domains.
    Domain = 16,
}

const _: () = assert!(core::mem::size_of::<Cap>() <= 48);

/// A slot's node in the capability derivation tree (seL4's `mdb_node_t`):
/// a doubly linked list in which every cap's descendants directly follow it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mdb {
    /// Address of the previous slot (0: none).
    pub prev: u64,
    /// Address of the next slot (0: none).
    pub next: u64,
    /// Whether this cap may have children (it is an "original" cap).
    pub revocable: bool,
    /// Whether this is the first cap with its badge (badged endpoints and
    /// notifications).
    pub first_badged: bool,
}

/// A capability table entry: one CNode slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cte {
    /// The cap.
    pub cap: Cap,
    /// Its derivation-tree node.
    pub mdb: Mdb,
}

const _: () = assert!(core::mem::size_of::<Cte>() == 1 << SLOT_BITS);

impl Cte {
    /// An empty slot.
    pub const NULL: Cte = Cte {
        cap: Cap::Null,
        mdb: Mdb { prev: 0, next: 0, revocable: false, first_badged: false },
    };
}

/// The address of a slot (a [`Cte`]) in a CNode, a TCB or the IRQ node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotRef(pub(crate) u64);

impl SlotRef {
    /// Slot `index` of the table at `base`.
    pub(crate) fn at(base: u64, index: u64) -> SlotRef {
        SlotRef(base + (index << SLOT_BITS))
    }

    /// The slot at a derivation-tree link, if any.
    pub(crate) fn link(addr: u64) -> Option<SlotRef> {
        (addr != 0).then_some(SlotRef(addr))
    }

    /// The slot's contents.
    pub(crate) fn get(self) -> &'static mut Cte {
        // SAFETY: a `SlotRef` is only made from the address of a slot of a
        // live CNode (from a CNode cap), of a live TCB, or of the IRQ node,
        // or from a derivation-tree link between such slots; the kernel is
        // single-threaded and uses the reference within one statement.
        unsafe { &mut *(self.0 as *mut Cte) }
    }

    pub(crate) fn cap(self) -> Cap {
        self.get().cap
    }

    pub(crate) fn set_cap(self, cap: Cap) {
        self.get().cap = cap;
    }

    pub(crate) fn mdb(self) -> Mdb {
        self.get().mdb
    }
}

/// A mask of the low `bits` bits.
pub(crate) const fn mask(bits: u64) -> u64 {
    if bits >= 64 { u64::MAX } else { (1 << bits) - 1 }
}

impl Cap {
    /// Whether the cap names memory (seL4's `cap_get_capIsPhysical`).
    pub fn is_physical(&self) -> bool {
        matches!(
            self,
            Cap::Untyped { .. }
                | Cap::Endpoint { .. }
                | Cap::Notification { .. }
                | Cap::CNode { .. }
                | Cap::Tcb { .. }
                | Cap::Zombie { .. }
                | Cap::Frame { .. }
                | Cap::PageTable { .. }
                | Cap::VSpace { .. }
                | Cap::AsidPool { .. }
                | Cap::Vcpu { .. }
        )
    }

    /// Start of the memory the cap names (seL4's `cap_get_capPtr`); 0 when
    /// none.
    pub fn obj_ptr(&self) -> u64 {
        match *self {
            Cap::Untyped { base, .. } => base,
            Cap::Endpoint { ptr, .. } | Cap::Notification { ptr, .. } | Cap::CNode { ptr, .. } => {
                ptr
            }
            Cap::Tcb { ptr } => ptr - TCB_OFFSET,
            Cap::Zombie { ptr, .. } => ptr,
            Cap::Frame { paddr, .. } => paddr,
            Cap::PageTable { ptr, .. } | Cap::VSpace { ptr, .. } | Cap::AsidPool { ptr, .. } => ptr,
            Cap::Vcpu { ptr } => ptr,
            _ => 0,
        }
    }

    /// Size of the memory the cap names, log2 (seL4's `cap_get_capSizeBits`).
    pub fn obj_size_bits(&self) -> u64 {
        (match *self {
            Cap::Untyped { size_bits, .. } => size_bits as usize,
            Cap::Endpoint { .. } => ENDPOINT_BITS,
            Cap::Notification { .. } => NOTIFICATION_BITS,
            Cap::CNode { radix, .. } => radix as usize + SLOT_BITS,
            Cap::Tcb { .. } => TCB_BITS,
            Cap::Zombie { kind: ZombieKind::Tcb, .. } => TCB_BITS,
            Cap::Zombie { kind: ZombieKind::CNode, radix, .. } => radix as usize + SLOT_BITS,
            Cap::Frame { size_bits, .. } => size_bits as usize,
            Cap::PageTable { .. } => PAGE_TABLE_BITS,
            Cap::VSpace { .. } => VSPACE_BITS,
            Cap::AsidPool { .. } => ASID_POOL_BITS,
            Cap::Vcpu { .. } => VCPU_BITS,
            _ => 0,
        }) as u64
    }

    /// Whether `b` names the same object as `self`, or (for untyped memory,
    /// frames and IRQ control) something inside it (seL4's `sameRegionAs`).
    pub fn same_region_as(&self, b: &Cap) -> bool {
        // Matched by reference: copying two caps costs more than comparing.
        match (self, b) {
            (Cap::Untyped { base, size_bits, .. }, b) if b.is_physical() => {
                let a_top = *base + mask(*size_bits as u64);
                let b_base = b.obj_ptr();
                let b_top = b_base.wrapping_add(mask(b.obj_size_bits()));
                *base <= b_base && b_top <= a_top && b_base <= b_top
            }
            (Cap::Endpoint { ptr: a, .. }, Cap::Endpoint { ptr: b, .. }) => a == b,
            (Cap::Notification { ptr: a, .. }, Cap::Notification { ptr: b, .. }) => a == b,
            (Cap::CNode { ptr: a, radix: ra, .. }, Cap::CNode { ptr: b, radix: rb, .. }) => {
                a == b && ra == rb
            }
            (Cap::Tcb { ptr: a }, Cap::Tcb { ptr: b }) => a == b,
            (Cap::Reply { tcb: a, .. }, Cap::Reply { tcb: b, .. }) => a == b,
            (Cap::Domain, Cap::Domain) => true,
            (Cap::IrqControl, Cap::IrqControl | Cap::IrqHandler { .. }) => true,
            (Cap::IrqHandler { irq: a }, Cap::IrqHandler { irq: b }) => a == b,
            (
                Cap::Frame { paddr: bot_a, size_bits: sa, .. },
                Cap::Frame { paddr: bot_b, size_bits: sb, .. },
            ) => {
                let top_a = *bot_a + mask(*sa as u64);
                let top_b = *bot_b + mask(*sb as u64);
                bot_a <= bot_b && top_a >= top_b && *bot_b <= top_b
            }
            (Cap::PageTable { ptr: a, .. }, Cap::PageTable { ptr: b, .. }) => a == b,
            (Cap::VSpace { ptr: a, .. }, Cap::VSpace { ptr: b, .. }) => a == b,
            (Cap::AsidControl, Cap::AsidControl) => true,
            (Cap::AsidPool { ptr: a, .. }, Cap::AsidPool { ptr: b, .. }) => a == b,
            (Cap::Vcpu { ptr: a }, Cap::Vcpu { ptr: b }) => a == b,
            _ => false,
        }
    }

    /// Whether `b` names exactly the object `self` names (seL4's
    /// `sameObjectAs`): never for untyped memory or IRQ control.
    pub fn same_object_as(&self, b: &Cap) -> bool {
        match (self, b) {
            (Cap::Untyped { .. } | Cap::IrqControl, _) => false,
            (
                Cap::Frame { paddr: pa, size_bits: sa, device: da, .. },
                Cap::Frame { paddr: pb, size_bits: sb, device: db, .. },
            ) => pa == pb && sa == sb && da == db,
            _ => self.same_region_as(b),
        }
    }

    /// The cap with its rights reduced to those in `rights` (seL4's
    /// `maskCapRights`); rights never grow.
    pub fn mask_rights(self, rights: CapRights) -> Cap {
        match self {
            Cap::Endpoint { ptr, badge, rights: r } => {
                Cap::Endpoint { ptr, badge, rights: r.intersect(rights) }
            }
            Cap::Notification { ptr, badge, rights: r } => Cap::Notification {
                ptr,
                badge,
                rights: r.intersect(rights).intersect(CapRights::read_write()),
            },
            Cap::Reply { master, can_grant, tcb } => {
                Cap::Reply { master, can_grant: can_grant && rights.can_grant(), tcb }
            }
            Cap::Frame { size_bits, rights: r, device, paddr, mapped } => {
                Cap::Frame { size_bits, rights: r.mask(rights), device, paddr, mapped }
            }
            c => c,
        }
    }

    /// The cap with new data (seL4's `updateCapData`): a badge for an
    /// unbadged endpoint or notification (not when `preserve`), a guard for
    /// a CNode (`data` = guard << 6 | guard size). `Null` when not allowed.
    pub fn update_data(self, preserve: bool, data: u64) -> Cap {
        match self {
            Cap::Endpoint { ptr, badge: 0, rights } if !preserve => {
                Cap::Endpoint { ptr, badge: data, rights }
            }
            Cap::Endpoint { .. } => Cap::Null,
            Cap::Notification { ptr, badge: 0, rights } if !preserve => {
                Cap::Notification { ptr, badge: data, rights }
            }
            Cap::Notification { .. } => Cap::Null,
            Cap::CNode { radix, ptr, .. } => {
                let guard_size = data & 0x3f;
                if guard_size + radix as u64 > 64 {
                    Cap::Null
                } else {
                    let guard = (data >> 6) & mask(guard_size);
                    Cap::CNode { radix, guard_size: guard_size as u8, ptr, guard }
                }
            }
            c => c,
        }
    }

    /// Whether `derived`, made from `src`, is an original cap (seL4's
    /// `isCapRevocable`): a newly badged endpoint or notification, an IRQ
    /// handler made by IRQ control, an untyped.
    pub fn is_revocable(derived: &Cap, src: &Cap) -> bool {
        match (derived, src) {
            (Cap::Endpoint { badge: a, .. }, Cap::Endpoint { badge: b, .. }) => a != b,
            (Cap::Endpoint { .. }, _) => true,
            (Cap::Notification { badge: a, .. }, Cap::Notification { badge: b, .. }) => a != b,
            (Cap::Notification { .. }, _) => true,
            (Cap::IrqHandler { .. }, src) => matches!(src, Cap::IrqControl),
            (Cap::Untyped { .. }, _) => true,
            _ => false,
        }
    }

    /// The badge of an endpoint or notification cap, 0 otherwise.
    pub fn badge(&self) -> u64 {
        match *self {
            Cap::Endpoint { badge, .. } | Cap::Notification { badge, .. } => badge,
            _ => 0,
        }
    }

    /// Whether the cap is an architecture cap (seL4's `isArchCap`).
    pub fn is_arch(&self) -> bool {
        matches!(
            self,
            Cap::Frame { .. }
                | Cap::PageTable { .. }
                | Cap::VSpace { .. }
                | Cap::AsidControl
                | Cap::AsidPool { .. }
                | Cap::Vcpu { .. }
        )
    }

    /// A short name of the cap's type, for diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            Cap::Null => "null",
            Cap::Untyped { .. } => "untyped",
            Cap::Endpoint { .. } => "endpoint",
            Cap::Notification { .. } => "notification",
            Cap::Reply { .. } => "reply",
            Cap::CNode { .. } => "cnode",
            Cap::Tcb { .. } => "tcb",
            Cap::Zombie { .. } => "zombie",
            Cap::Frame { .. } => "frame",
            Cap::PageTable { .. } => "page table",
            Cap::VSpace { .. } => "vspace",
            Cap::AsidControl => "asid control",
            Cap::AsidPool { .. } => "asid pool",
            Cap::IrqControl => "irq control",
            Cap::IrqHandler { .. } => "irq handler",
            Cap::Vcpu { .. } => "vcpu",
            Cap::Domain => "domain",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ptr: u64, badge: u64) -> Cap {
        Cap::Endpoint { ptr, badge, rights: CapRights::all() }
    }

    #[test]
    fn zeroed_slot_is_null() {
        let bytes = [0u8; 64];
        // SAFETY: `Cte` is 64 bytes; a zero tag is `Cap::Null`, zero links
        // and flags are a valid `Mdb`.
        let cte: Cte = unsafe { core::mem::transmute(bytes) };
        assert_eq!(cte, Cte::NULL);
    }

    #[test]
    fn regions() {
        let ut = Cap::Untyped { size_bits: 12, device: false, base: 0x1000, free_index: 0 };
        assert!(ut.same_region_as(&ep(0x1ff0, 0)));
        assert!(!ut.same_region_as(&ep(0x2000, 0)));
        assert!(!ut.same_region_as(&Cap::IrqControl));
        assert!(!ut.same_object_as(&ut));
        let f4 = Cap::Frame {
            size_bits: 12,
            rights: VmRights::ReadWrite,
            device: false,
            paddr: 0x20_0000,
            mapped: None,
        };
        let f2m = Cap::Frame {
            size_bits: 21,
            rights: VmRights::ReadWrite,
            device: false,
            paddr: 0x20_0000,
            mapped: None,
        };
        assert!(f2m.same_region_as(&f4));
        assert!(!f4.same_region_as(&f2m));
        assert!(!f2m.same_object_as(&f4));
        assert!(Cap::IrqControl.same_region_as(&Cap::IrqHandler { irq: 3 }));
        assert!(!Cap::IrqControl.same_object_as(&Cap::IrqHandler { irq: 3 }));
    }

    #[test]
    fn rights_only_shrink() {
        let c = ep(0x100, 0).mask_rights(CapRights::read_only());
        assert_eq!(c, Cap::Endpoint { ptr: 0x100, badge: 0, rights: CapRights::read_only() });
        assert_eq!(c.mask_rights(CapRights::all()), c);
        let n = Cap::Notification { ptr: 0x100, badge: 0, rights: CapRights::all() };
        assert_eq!(
            n.mask_rights(CapRights::all()),
            Cap::Notification { ptr: 0x100, badge: 0, rights: CapRights::read_write() }
        );
        assert_eq!(VmRights::ReadWrite.mask(CapRights::read_only()), VmRights::ReadOnly);
        assert_eq!(VmRights::ReadWrite.mask(CapRights::write_only()), VmRights::KernelOnly);
        assert_eq!(VmRights::ReadOnly.mask(CapRights::all()), VmRights::ReadOnly);
    }

    #[test]
    fn cap_data() {
        assert_eq!(ep(1, 0).update_data(false, 7), ep(1, 7));
        assert_eq!(ep(1, 7).update_data(false, 8), Cap::Null);
        assert_eq!(ep(1, 0).update_data(true, 8), Cap::Null);
        let cn = Cap::CNode { radix: 4, guard_size: 0, ptr: 0x4000, guard: 0 };
        assert_eq!(
            cn.update_data(true, (5 << 6) | 3),
            Cap::CNode { radix: 4, guard_size: 3, ptr: 0x4000, guard: 5 }
        );
        assert_eq!(cn.update_data(false, 61), Cap::Null);
        assert!(Cap::is_revocable(&ep(1, 3), &ep(1, 0)));
        assert!(!Cap::is_revocable(&ep(1, 3), &ep(1, 3)));
        assert!(Cap::is_revocable(&Cap::IrqHandler { irq: 1 }, &Cap::IrqControl));
    }
}

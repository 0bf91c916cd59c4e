//! Object types and their sizes.

/// Object types for `Untyped Retype` (seL4's aarch64 numbering).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    Untyped = 0,
    Tcb = 1,
    Endpoint = 2,
    Notification = 3,
    CapTable = 4,
    /// 1 GiB page: not supported by this kernel (Retype answers InvalidArgument).
    HugePage = 5,
    VSpace = 6,
    SmallPage = 7,
    LargePage = 8,
    PageTable = 9,
    Vcpu = 10,
}

impl ObjectType {
    pub const fn from_word(w: u64) -> Option<ObjectType> {
        Some(match w {
            0 => ObjectType::Untyped,
            1 => ObjectType::Tcb,
            2 => ObjectType::Endpoint,
            3 => ObjectType::Notification,
            4 => ObjectType::CapTable,
            5 => ObjectType::HugePage,
            6 => ObjectType::VSpace,
            7 => ObjectType::SmallPage,
            8 => ObjectType::LargePage,
            9 => ObjectType::PageTable,
            10 => ObjectType::Vcpu,
            _ => return None,
        })
    }

    /// Size of one object, log2 bytes. For `Untyped` and `CapTable` the
    /// caller chooses: untyped `size_bits`, CNode `radix + SLOT_BITS`.
    pub const fn fixed_size_bits(self) -> Option<usize> {
        Some(match self {
            ObjectType::Tcb => TCB_BITS,
            ObjectType::Endpoint => ENDPOINT_BITS,
            ObjectType::Notification => NOTIFICATION_BITS,
            ObjectType::HugePage => HUGE_PAGE_BITS,
            ObjectType::VSpace => VSPACE_BITS,
            ObjectType::SmallPage => PAGE_BITS,
            ObjectType::LargePage => LARGE_PAGE_BITS,
            ObjectType::PageTable => PAGE_TABLE_BITS,
            ObjectType::Vcpu => VCPU_BITS,
            ObjectType::Untyped | ObjectType::CapTable => return None,
        })
    }
}

/// A CNode slot, log2 bytes.
pub const SLOT_BITS: usize = 6;
pub const TCB_BITS: usize = 11;
pub const ENDPOINT_BITS: usize = 4;
pub const NOTIFICATION_BITS: usize = 5;
pub const PAGE_BITS: usize = 12;
pub const LARGE_PAGE_BITS: usize = 21;
pub const HUGE_PAGE_BITS: usize = 30;
pub const PAGE_TABLE_BITS: usize = 12;
/// The VSpace is the root of a stage-2 table for a 39-bit address space
/// (level 1, 512 entries of 1 GiB).
pub const VSPACE_BITS: usize = 12;
pub const VCPU_BITS: usize = 12;
pub const ASID_POOL_BITS: usize = 12;
/// Smallest and largest untyped.
pub const MIN_UNTYPED_BITS: usize = 4;
pub const MAX_UNTYPED_BITS: usize = 47;
/// Virtual addresses user programs may use: [0, 2^39).
pub const USER_VADDR_BITS: usize = 39;
/// ASIDs per pool, and pools.
pub const ASID_POOL_INDEX_BITS: usize = 9;
pub const ASID_HIGH_BITS: usize = 7;
/// Priorities: 0 (lowest) to 255.
pub const NUM_PRIORITIES: usize = 256;
/// Rights for frame mappings (`ArmPageMap` MR1) use [`crate::CapRights`];
/// attribute bits (MR2): cacheable, execute never.
pub const VM_ATTR_PAGE_CACHEABLE: u64 = 1 << 0;
pub const VM_ATTR_EXECUTE_NEVER: u64 = 1 << 2;

//! Markers for what a capability slot holds, used as the `T` of
//! [`Cap<T>`](crate::Cap), and which object each one stands for when it is
//! made by `Untyped Retype`.

use crate::{CapType, ObjectBlueprint};

macro_rules! declare_cap_types {
    ($($(#[$attr:meta])* $name:ident,)*) => {
        $(
            $(#[$attr])*
            #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
            pub struct $name;

            impl CapType for $name {
                const NAME: &'static str = stringify!($name);
            }
        )*
    };
}

declare_cap_types! {
    /// An untyped memory region, from which objects are retyped.
    Untyped,
    /// An IPC endpoint.
    Endpoint,
    /// A notification: a word of signal bits.
    Notification,
    /// A CNode: a table of capability slots (`CapTable` object).
    CNode,
    /// A thread control block.
    Tcb,
    /// The root translation table of an address space.
    VSpace,
    /// A 4 KiB frame.
    SmallPage,
    /// A 2 MiB frame.
    LargePage,
    /// A translation table below the VSpace root.
    PageTable,
    /// The authority to make ASID pools.
    AsidControl,
    /// An ASID pool: VSpaces assigned to it get an ASID.
    AsidPool,
    /// The authority to make IRQ handler caps.
    IrqControl,
    /// The authority over one interrupt line.
    IrqHandler,
    /// A virtual CPU: a thread's EL1 state for running a guest.
    Vcpu,
    /// An empty slot.
    Null,
    /// Any capability.
    Unspecified,
}

/// The smallest frame (rust-sel4's name for the 4 KiB page).
pub type Granule = SmallPage;
/// rust-sel4's name for [`PageTable`].
pub type PT = PageTable;
/// rust-sel4's name for [`Vcpu`].
pub type VCpu = Vcpu;

/// Cap types of objects `Untyped Retype` makes.
pub trait CapTypeForObject: CapType {
    fn object_type() -> crate::ObjectType;
}

/// Cap types of objects whose size is fixed.
pub trait CapTypeForObjectOfFixedSize: CapTypeForObject {
    fn object_blueprint() -> ObjectBlueprint;
}

/// Cap types of objects whose size the caller chooses (log2 bytes for an
/// untyped, log2 slots for a CNode).
pub trait CapTypeForObjectOfVariableSize: CapTypeForObject {
    fn object_blueprint(size_bits: usize) -> ObjectBlueprint;
}

/// Cap types of frames: what `frame_map` and friends work on.
pub trait CapTypeForFrameObject: CapType {}

impl CapTypeForFrameObject for SmallPage {}
impl CapTypeForFrameObject for LargePage {}

macro_rules! fixed_size {
    ($($name:ident,)*) => {
        $(
            impl CapTypeForObject for $name {
                fn object_type() -> crate::ObjectType {
                    ObjectBlueprint::$name.ty()
                }
            }

            impl CapTypeForObjectOfFixedSize for $name {
                fn object_blueprint() -> ObjectBlueprint {
                    ObjectBlueprint::$name
                }
            }
        )*
    };
}

fixed_size! {
    Endpoint, Notification, Tcb, VSpace, SmallPage, LargePage, PageTable, Vcpu,
}

macro_rules! variable_size {
    ($($name:ident,)*) => {
        $(
            impl CapTypeForObject for $name {
                fn object_type() -> crate::ObjectType {
                    ObjectBlueprint::$name { size_bits: 0 }.ty()
                }
            }

            impl CapTypeForObjectOfVariableSize for $name {
                fn object_blueprint(size_bits: usize) -> ObjectBlueprint {
                    ObjectBlueprint::$name { size_bits }
                }
            }
        )*
    };
}

variable_size! {
    Untyped, CNode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectType;

    #[test]
    fn object_types() {
        assert_eq!(Tcb::object_type(), ObjectType::Tcb);
        assert_eq!(CNode::object_type(), ObjectType::CapTable);
        assert_eq!(Granule::object_blueprint(), ObjectBlueprint::SmallPage);
        assert_eq!(PT::object_type(), ObjectType::PageTable);
        assert_eq!(Untyped::object_blueprint(12), ObjectBlueprint::Untyped { size_bits: 12 });
        assert_eq!(Vcpu::NAME, "Vcpu");
    }
}

//! Aliases of [`Cap`] for each marker of [`cap_type`]:
//! `cap::Endpoint` is `Cap<cap_type::Endpoint>`, and so on.

use crate::{Cap, cap_type};

macro_rules! declare_cap_aliases {
    ($($name:ident,)*) => {
        $(
            #[doc = concat!("`Cap<cap_type::", stringify!($name), ">`.")]
            pub type $name = Cap<cap_type::$name>;
        )*
    };
}

declare_cap_aliases! {
    Untyped, Endpoint, Notification, CNode, Tcb, VSpace, SmallPage, LargePage, PageTable,
    AsidControl, AsidPool, IrqControl, IrqHandler, Vcpu, Null, Unspecified,
    Granule, PT, VCpu,
}

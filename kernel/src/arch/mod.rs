//! The architecture seam: everything that touches the CPU goes through the
//! names re-exported here.

mod aarch64;
pub use aarch64::*;

//! The kernel's ABI, shared by the kernel and every user program: what goes
//! in which register, what the numbers mean. Names follow seL4's
//! (`seL4_Call`, `seL4_MessageInfo`, `seL4_UntypedObject`, ...) written the
//! Rust way, so that code reads the same as code for seL4; values are ours
//! where seL4's depend on configuration this kernel does not have.
//!
//! Builds `no_std` for the target and on the host (kernel unit tests).

#![cfg_attr(not(test), no_std)]

pub mod bootinfo;
pub mod context;
pub mod error;
pub mod fault;
pub mod invocation;
pub mod message;
pub mod object;
pub mod syscall;
pub mod vcpu;

pub use bootinfo::*;
pub use context::UserContext;
pub use error::Error;
pub use fault::FaultLabel;
pub use invocation::InvocationLabel;
pub use message::{CapRights, IpcBuffer, MessageInfo};
pub use object::ObjectType;
pub use syscall::Syscall;

/// A capability pointer: an address in a thread's CSpace.
pub type CPtr = u64;
/// A badge: the value an endpoint or notification cap carries to the receiver.
pub type Badge = u64;
/// A word.
pub type Word = u64;

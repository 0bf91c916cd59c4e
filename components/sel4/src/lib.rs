//! The user API to the kernel: typed capabilities, IPC syscalls, object
//! invocations, the IPC buffer and the root task's boot info.
//!
//! Names follow rust-sel4's `sel4` crate (`Cap<T>`, `cap::Endpoint`,
//! `tcb_resume`, `frame_map`, `AbsoluteCPtr::mint`, `with_ipc_buffer`, ...)
//! so that code reads the same as code for seL4. Values come from
//! `sel4_sys`, the ABI shared with the kernel. Each invocation returns
//! [`Result`]: the reply label is 0 or an [`Error`] code.
//!
//! ```no_run
//! use sel4::init_thread::{Slot, slot};
//! use sel4::{ObjectBlueprint, cap_type};
//!
//! /// Makes an endpoint from the first untyped, in the first empty slot.
//! fn make_endpoint(bootinfo: &sel4::BootInfo) -> sel4::Result<sel4::cap::Endpoint> {
//!     let cnode = slot::CNODE.cap();
//!     let untyped = bootinfo.untyped().index(0).cap();
//!     let free = bootinfo.empty().start();
//!     untyped.untyped_retype(&ObjectBlueprint::Endpoint, &cnode.absolute_cptr_for_self(), free, 1)?;
//!     Ok(Slot::<cap_type::Endpoint>::from_index(free).cap())
//! }
//! ```
//!
//! The syscall stubs are the only machine code (module `arch`, aarch64
//! `svc #0`). On the host the crate builds too, and under `cargo test`
//! syscalls reach a mock kernel, so message layouts are unit-tested there.
//! The IPC buffer is a per-thread value that the runtime sets with
//! [`set_ipc_buffer`] (a program's further threads each have a
//! [`ThreadSlot`] for it).

#![cfg_attr(not(test), no_std)]

pub use sel4_sys as sys;

mod arch;
mod bootinfo;
pub mod cap;
mod cap_rights;
pub mod cap_type;
mod cnode_cap_data;
mod cptr;
mod debug;
mod error;
mod fault;
pub mod init_thread;
mod invocations;
mod ipc_buffer;
mod message_info;
mod object;
mod state;
mod syscalls;
mod user_context;
mod vm_attributes;

pub use bootinfo::{BootInfo, BootInfoPtr, Module, UntypedDesc};
pub use cap_rights::{CapRights, CapRightsBuilder};
pub use cap_type::{
    CapTypeForFrameObject, CapTypeForObject, CapTypeForObjectOfFixedSize,
    CapTypeForObjectOfVariableSize,
};
pub use cnode_cap_data::CNodeCapData;
pub use cptr::{
    AbsoluteCPtr, CPtr, CPtrBits, CPtrWithDepth, Cap, CapType, HasCPtrWithDepth, WORD_SIZE,
};
pub use debug::{
    DebugWrite, benchmark_null_syscall, debug_dump_scheduler, debug_halt, debug_put_char,
};
pub use error::{Error, Result};
pub use fault::{CapFault, Fault, UnknownSyscall, UserException, VmFault};
pub use ipc_buffer::IpcBuffer;
pub use message_info::{MessageInfo, MessageInfoBuilder};
pub use object::{FrameObjectType, ObjectBlueprint, ObjectType};
pub use state::{
    ThreadSlot, ipc_buffer_is_set, set_ipc_buffer, with_ipc_buffer, with_ipc_buffer_mut,
};
pub use syscalls::{
    Badge, NUM_FAST_MESSAGE_REGISTERS, NUM_MESSAGE_REGISTERS, ReplyAuthority, WaitMessageInfo,
    reply, r#yield,
};
pub use user_context::{USER_CONTEXT_NUM_REGS, UserContext};
pub use vm_attributes::VmAttributes;

/// A machine word.
pub type Word = sys::Word;

#[doc(hidden)]
pub mod _private {
    pub use crate::debug::debug_print_helper;
}

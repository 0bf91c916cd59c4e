//! The portable core of the microkernel: seL4's object model and API
//! (non-MCS, single core) written in Rust, with the hardware behind the
//! [`Arch`] trait so that the same code runs on the target and in host
//! tests.
//!
//! # Memory model
//!
//! Physical memory is identity-mapped, so a kernel object's address is its
//! physical address. Objects are `#[repr(C)]` structures placed at addresses
//! carved out of untyped memory; capabilities hold those addresses; the code
//! dereferences them as raw pointers. The invariant every `unsafe` block
//! relies on: *a capability's object address points at an initialised object
//! of that type, which stays alive while any capability to it exists* (the
//! derivation tree guarantees that untyped memory is only reused after every
//! capability to the objects in it is gone). Kernel-maintained links (queue
//! pointers, bound notifications, the ASID table, reply caps) only ever point
//! at live objects: finalisation unlinks an object before its last cap goes.
//!
//! The kernel is single-threaded: one event (syscall, fault, interrupt) is
//! handled at a time, and references to objects are only held for the
//! duration of one statement, never two to the same object at once.
//!
//! # Map of the crate
//!
//! | file | seL4 counterpart | what |
//! |---|---|---|
//! | `cap.rs` | `structures.bf`, `objecttype.c` | [`Cap`], [`Cte`], cap predicates |
//! | `cdt.rs` | `cnode.c` (MDB) | derivation tree: insert, move, parent, final |
//! | `cspace.rs` | `cspace.c` | address resolution, slot lookups |
//! | `untyped.rs`, `object.rs` | `untyped.c`, `objecttype.c` | Retype, object creation |
//! | `cnode.rs`, `delete.rs` | `cnode.c` | CNode invocations, delete, revoke, finalise |
//! | `tcb.rs`, `tcb_invocation.rs` | `tcb.c`, `thread.c` | threads and their invocations |
//! | `sched.rs` | `thread.c` | ready queues, schedule, tick |
//! | `ipc.rs`, `notification.rs` | `endpoint.c`, `notification.c` | IPC |
//! | `fault.rs` | `faulthandler.c`, `faults.c` | fault delivery and replies |
//! | `syscall.rs` | `syscall.c` | entry points and invocation dispatch |
//! | `irq.rs` | `interrupt.c` | IRQ control and handlers |
//! | `vspace.rs`, `vspace_invocation.rs` | `arch/arm/64/kernel/vspace.c` | stage-2 tables, ASIDs |
//! | `boot.rs`, `bootmem.rs` | `kernel/boot.c` | the root task's world |
//! | `registers.rs`, `error.rs` | `setMR`, `setMRs_syscall_error` | message registers, errors |

#![cfg_attr(not(test), no_std)]

mod arch;
mod boot;
mod bootmem;
mod cap;
mod cdt;
mod cnode;
mod cspace;
mod delete;
mod error;
mod fastpath;
mod fault;
mod ipc;
mod irq;
mod notification;
mod object;
mod print;
mod registers;
mod sched;
mod syscall;
mod tcb;
mod tcb_invocation;
mod untyped;
mod vcpu;
mod vspace;
mod vspace_invocation;

#[cfg(test)]
mod tests;

pub use arch::Arch;
pub use boot::{BootConfig, BootError, BootModule, MemRegion, RootImage};
pub use cap::{Cap, Cte, Mdb, VmRights, ZombieKind};
pub use error::{LookupFault, SyscallError};
pub use fault::Fault;
pub use irq::{IrqState, MAX_IRQS};
pub use object::{Endpoint, Notification};
pub use sched::TIME_SLICE_TICKS;
pub use tcb::{FpuState, TCB_OFFSET, Tcb, ThreadState, UserContext};
pub use untyped::RETYPE_FAN_OUT_LIMIT;
pub use vcpu::{MAX_LIST_REGS, VGIC_HCR_EN, Vcpu, VgicState, lr as vgic_lr};
pub use vspace::desc as stage2;

use sched::SchedulerAction;
use sel4_sys::object::{ASID_HIGH_BITS, NUM_PRIORITIES};
use tcb::{TcbQueue, TcbRef};

/// The whole kernel state: the architecture, the scheduler, the ASID table,
/// the interrupt table. Kernel objects live in memory the state points at.
pub struct Kernel<A: Arch> {
    arch: A,
    /// The running thread (the idle thread when nothing else runs).
    cur: TcbRef,
    idle: TcbRef,
    action: SchedulerAction,
    ready: [TcbQueue; NUM_PRIORITIES],
    /// Bit `i` set: `ready_l2[i]` is non-zero.
    ready_l1: u64,
    /// Bit `p % 64` of word `p / 64` set: the queue of priority `p` is
    /// non-empty.
    ready_l2: [u64; NUM_PRIORITIES / 64],
    /// ASID pool addresses by the ASID's high bits (0: none).
    asid_table: [u64; 1 << ASID_HIGH_BITS],
    /// Address of the IRQ node: one CTE per IRQ holding its notification.
    irq_node: u64,
    irq_state: [IrqState; MAX_IRQS],
    num_irqs: u32,
    /// Head of the list of every TCB (for diagnostics).
    debug_tcbs: u64,
    /// Bumped whenever a thread's address space may have changed (a cap
    /// finalised, a TCB's space set, an ASID assigned) or the running
    /// thread's EL0 system registers did (its TLS base set), so the exit
    /// path can skip looking the VSpace up and reloading those registers
    /// for the thread it just ran.
    space_epoch: u64,
    /// The last VSpace found valid: thread, space epoch then, root, ASID.
    /// The fast path fills it for the thread it switches to, so the exit
    /// need not look it up again.
    vspace_hint: (u64, u64, u64, u16),
}

impl<A: Arch> Kernel<A> {
    /// The architecture layer.
    pub fn arch(&mut self) -> &mut A {
        &mut self.arch
    }

    /// Where the current thread's user registers are saved and restored by
    /// the exception entry and exit code.
    pub fn current_context(&mut self) -> *mut UserContext {
        &raw mut self.cur.get().context
    }

    /// Where the current thread's FP/SIMD state is saved and restored.
    pub fn current_fpu(&mut self) -> *mut FpuState {
        &raw mut self.cur.get().fpu
    }

    /// The stage-2 root table (physical address) and ASID of the current
    /// thread's VSpace; `None` for the idle thread or a thread without a
    /// valid VSpace.
    #[inline(always)]
    pub fn current_vspace(&mut self) -> Option<(u64, u16)> {
        if self.cur == self.idle {
            return None;
        }
        let h = self.vspace_hint;
        if h.0 == self.cur.0 && h.1 == self.space_epoch {
            return Some((h.2, h.3));
        }
        let v = self.thread_vspace(self.cur);
        if let Some((root, asid)) = v {
            self.vspace_hint = (self.cur.0, self.space_epoch, root, asid);
        }
        v
    }

    /// An identifier of the current thread (its TCB's address).
    pub fn current_id(&self) -> u64 {
        self.cur.0
    }

    /// See the `space_epoch` field: equal values mean no thread's VSpace
    /// changed in between.
    pub fn space_epoch(&self) -> u64 {
        self.space_epoch
    }

    pub(crate) fn space_changed(&mut self) {
        self.space_epoch = self.space_epoch.wrapping_add(1);
    }

    /// Whether the idle thread is current.
    pub fn current_is_idle(&self) -> bool {
        self.cur == self.idle
    }
}

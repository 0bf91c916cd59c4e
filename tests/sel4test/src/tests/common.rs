//! Helper-thread bodies shared by several groups, and small conveniences.
//!
//! Bodies take their arguments as words: cptrs are slots of the root CNode
//! (or of a process's CNode), and a result of 0 means every check inside
//! passed ([`crate::thread::fail`] marks the one that did not).

use sel4::init_thread::slot;
use sel4_sys::MessageInfo;

use crate::check::TestResult;
use crate::env::Env;
use crate::sys::{self, Ipc};

/// Magic words, as in sel4test.
pub const MAGIC1: u64 = 42;
pub const MAGIC2: u64 = 0xdead_beef;

/// A message of `len` words with `label`.
pub fn info(label: u64, len: u64) -> MessageInfo {
    MessageInfo::new(label, 0, 0, len)
}

/// Sends `[cptr, mr0, label]`: one word with `label`; returns 0.
pub fn h_send(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_mr(0, a[1]);
    ipc.send(a[0], info(a[2], 1));
    0
}

/// Calls `[cptr, mr0]` with one word; returns the reply's MR0.
pub fn h_call(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_mr(0, a[1]);
    ipc.call(a[0], info(0, 1));
    ipc.mr(0)
}

/// Receives on `[cptr]`; returns MR0.
pub fn h_recv(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.recv(a[0]);
    ipc.mr(0)
}

/// Waits on the notification `[cptr]`; returns the badge bits.
pub fn h_wait(_: &Ipc, a: [u64; 4]) -> u64 {
    sys::wait(a[0])
}

/// Sets the root task's own priority.
pub fn set_root_prio(prio: u64) -> TestResult {
    let me = slot::TCB.cap();
    me.tcb_set_priority(me, prio).map_err(Into::into)
}

/// Word `i` of the root task's message after an invocation error (the
/// error's details).
pub fn err_mr(env: &Env, i: usize) -> u64 {
    env.ipc.mr(i)
}

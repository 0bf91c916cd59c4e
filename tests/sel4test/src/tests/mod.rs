//! The test groups, in the order they run.

pub mod cancel_badged_sends;
pub mod cnode;
pub mod common;
pub mod faults;
pub mod interrupt;
pub mod ipc;
pub mod ipcrights;
pub mod probes;
pub mod retype;
pub mod sched;
pub mod syscall;
pub mod vcpu;
pub mod vspace;

use crate::Test;

pub const GROUPS: &[&[Test]] = &[
    cnode::TESTS,
    ipcrights::TESTS,
    retype::TESTS,
    ipc::TESTS,
    faults::TESTS,
    syscall::TESTS,
    vspace::TESTS,
    interrupt::TESTS,
    sched::TESTS,
    cancel_badged_sends::TESTS,
    vcpu::TESTS,
];

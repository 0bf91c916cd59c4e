//! UNKNOWN_SYSCALL: an `svc` with a number the kernel does not know is an
//! UnknownSyscall fault carrying x0-x7, IP, SP, LR, SPSR and the number; the
//! handler's reply (label 0) writes the registers it carries back and
//! resumes the thread, a reply with another label leaves it stopped.

use sel4_sys::FaultLabel;
use sel4_sys::fault::UNKNOWN_SYSCALL_LENGTH;

use super::common::info;
use super::probes;
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq};
use crate::env::{Env, HELPER_STACK_PAGES, PAGE};
use crate::sys::Ipc;
use crate::thread::{FaultMsg, Spawn, Thread, fail};

pub const TESTS: &[Test] = &[
    Test {
        id: "UNKNOWN_SYSCALL0001",
        desc: "The fault carries x0-x7, IP, SP, LR, SPSR and the number",
        run: message_layout,
    },
    Test {
        id: "UNKNOWN_SYSCALL0002",
        desc: "The reply writes x0-x7 and the IP back",
        run: reply_writes_registers,
    },
    Test {
        id: "UNKNOWN_SYSCALL0003",
        desc: "A reply with a non-zero label leaves the thread stopped",
        run: reply_label_stops,
    },
    Test {
        id: "UNKNOWN_SYSCALL0004",
        desc: "A short reply writes only the registers it carries",
        run: short_reply,
    },
    Test {
        id: "UNKNOWN_SYSCALL0005",
        desc: "Every number that is no syscall faults with that number",
        run: numbers,
    },
    Test {
        id: "UNKNOWN_SYSCALL0006",
        desc: "Without a fault endpoint the thread stops and the rest run on",
        run: no_handler,
    },
];

/// Makes the unknown syscall `[number]` with x0-x6 = 0x1000 + i; returns 0
/// if afterwards x0-x7 hold `[_, base]` + i, else the first that differs.
fn h_syscall(_: &Ipc, a: [u64; 4]) -> u64 {
    let mut regs = [0x1000, 0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, a[0]];
    probes::syscall(&mut regs);
    for (i, r) in regs.iter().enumerate() {
        if *r != a[1].wrapping_add(i as u64) {
            return fail(i as u64);
        }
    }
    0
}

/// Makes the unknown syscalls `a[0..4]` one after the other; returns 0.
fn h_syscalls(_: &Ipc, a: [u64; 4]) -> u64 {
    for n in a {
        let mut regs = [0, 0, 0, 0, 0, 0, 0, n];
        probes::syscall(&mut regs);
    }
    0
}

const NUMBER: u64 = 0x4321;

fn start(env: &mut Env, base: u64) -> TestResult<(u64, Thread)> {
    let fault_ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_syscall).args([NUMBER, base, 0, 0]).fault_ep(fault_ep))?;
    Ok((fault_ep, t))
}

fn fault(env: &mut Env, ep: u64) -> TestResult<FaultMsg> {
    let f = env.expect_fault(ep, FaultLabel::UnknownSyscall, "the syscall")?;
    ensure_eq(f.length, UNKNOWN_SYSCALL_LENGTH, "message length")?;
    Ok(f)
}

/// Replies resuming past the `svc` with x0-x7 = `base` + i.
fn resume(env: &Env, f: &FaultMsg, base: u64) {
    for (i, w) in f.mr[..12].iter().enumerate() {
        env.ipc.set_mr(i, *w);
    }
    for i in 0..8 {
        env.ipc.set_mr(i, base + i as u64);
    }
    env.ipc.set_mr(8, probes::syscall_restart());
    env.ipc.reply(info(0, 12));
}

fn message_layout(env: &mut Env) -> TestResult {
    let (ep, t) = start(env, 0x2000)?;
    let f = fault(env, ep)?;
    for i in 0..7 {
        ensure_eq(f.mr[i], 0x1000 + i as u64, &alloc::format!("x{i}"))?;
    }
    ensure_eq(f.mr[7], NUMBER, "x7")?;
    ensure_eq(f.mr[8], probes::syscall_insn(), "IP")?;
    let stack = t.stack_top - HELPER_STACK_PAGES * PAGE..t.stack_top;
    ensure(stack.contains(&f.mr[9]), || alloc::format!("SP {:#x} outside the stack", f.mr[9]))?;
    ensure(f.mr[10] != 0, || "LR is 0".into())?;
    ensure_eq(f.mr[11] & 0xf, 0, "SPSR mode (EL0t)")?;
    ensure_eq(f.mr[12], NUMBER, "syscall number")?;
    resume(env, &f, 0x2000);
    env.join_expect(&t, 0, "registers after the reply")
}

fn reply_writes_registers(env: &mut Env) -> TestResult {
    let (ep, t) = start(env, 0x7700)?;
    let f = fault(env, ep)?;
    resume(env, &f, 0x7700);
    let r = env.join(&t)?;
    ensure(r == 0, || alloc::format!("register x{} not written by the reply", r & 0xff))
}

fn reply_label_stops(env: &mut Env) -> TestResult {
    let (ep, t) = start(env, 0)?;
    fault(env, ep)?;
    env.ipc.reply(info(1, 0));
    let regs = t.tcb.tcb_read_all_registers(false).ctx("read registers")?;
    ensure_eq(*regs.pc(), probes::syscall_insn(), "pc of the stopped thread")?;
    ensure_eq(env.poll_done().map(|d| d.0), None, "a report from the stopped thread")?;
    ensure_eq(env.ipc.nb_recv(ep).label(), 0, "another fault")
}

fn short_reply(env: &mut Env) -> TestResult {
    let (ep, t) = start(env, 0x3000)?;
    let f = fault(env, ep)?;
    // Only x0: the thread stays at the svc and faults again.
    env.ipc.set_mr(0, 0x77);
    env.ipc.reply(info(0, 1));
    let g = fault(env, ep)?;
    ensure_eq(g.mr[0], 0x77, "x0 written by the short reply")?;
    ensure_eq(g.mr[1], 0x1001, "x1 left alone")?;
    ensure_eq(g.mr[8], f.mr[8], "IP left alone")?;
    resume(env, &g, 0x3000);
    env.join_expect(&t, 0, "registers after the full reply")
}

fn numbers(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let list = [0, 1, (-13i64) as u64, i64::MIN as u64];
    let t = env.spawn(Spawn::new(h_syscalls).args(list).fault_ep(fault_ep))?;
    for n in list {
        let f = fault(env, fault_ep)?;
        ensure_eq((f.mr[7], f.mr[12]), (n, n), "x7 and the number")?;
        resume(env, &f, 0);
    }
    env.join_expect(&t, 0, "the helper")
}

fn no_handler(env: &mut Env) -> TestResult {
    let s = Spawn::new(h_syscall).args([NUMBER, 0, 0, 0]).fault_ep(0);
    let t = env.spawn(s)?;
    let regs = t.tcb.tcb_read_all_registers(false).ctx("read registers")?;
    ensure_eq(*regs.pc(), probes::syscall_insn(), "pc of the stopped thread")?;
    ensure_eq(env.poll_done().map(|d| d.0), None, "a report from the stopped thread")
}

//! SCHED: suspend and resume, priorities and maximum controlled
//! priorities, preemption on IPC and on priority changes, yield and time
//! slices among equal priorities; and the TCB calls around them (register
//! transfer, Configure and SetSpace errors, the TLS base).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sel4::init_thread::slot;
use sel4::{CNodeCapData, CPtr, CapRights, Error, UserContext, cap};
use sel4_sys::InvocationLabel as L;

use super::common::{MAGIC1, h_recv, info, set_root_prio};
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, ROOT_PRIO, cap_at, path};
use crate::sys::{self, Ipc};
use crate::thread::{Spawn, fail};

pub const TESTS: &[Test] = &[
    Test { id: "SCHED0000", desc: "Test suspending and resuming a thread", run: suspend_resume },
    Test { id: "SCHED0002", desc: "Test resuming ourselves", run: resume_self },
    Test {
        id: "SCHED0003",
        desc: "A blocked thread suspended and resumed restarts its syscall",
        run: suspend_blocked,
    },
    Test { id: "SCHED0004", desc: "Test threads at all priorities", run: all_priorities },
    Test { id: "SCHED0005", desc: "Test set priority and MCP limits", run: set_priority },
    Test { id: "SCHED0006", desc: "Test IPC priorities for Send", run: ipc_prios },
    Test { id: "SCHED0007", desc: "Yield takes turns among equal priorities", run: yield_turns },
    Test {
        id: "SCHED0008",
        desc: "Threads of equal priority that never yield share the CPU",
        run: time_slices,
    },
    Test {
        id: "SCHED0009",
        desc: "Raising a thread above the caller runs it at once",
        run: raise_runs_now,
    },
    Test {
        id: "SCHED0010",
        desc: "Lowering oneself below a runnable thread runs it at once",
        run: lower_self_runs_other,
    },
    Test {
        id: "SCHED0011",
        desc: "Ensure WriteRegisters functions correctly",
        run: write_registers,
    },
    Test { id: "SCHED0012", desc: "Read/WriteRegisters errors", run: register_errors },
    Test { id: "SCHED0013", desc: "Configure and SetSpace errors", run: configure_errors },
    Test {
        id: "SCHED0014",
        desc: "Suspend and resume twice, and resume of a blocked thread",
        run: suspend_twice,
    },
    Test { id: "SCHED0015", desc: "Yield with nothing else to run returns", run: yield_alone },
    Test { id: "SCHED0016", desc: "SetTLSBase sets TPIDR_EL0", run: tls_base },
    Test {
        id: "SCHED0017",
        desc: "A lower-priority thread waits while a higher one runs",
        run: lower_waits,
    },
    Test { id: "SCHED0018", desc: "Deleting a TCB stops its thread", run: delete_tcb },
];

/// Counters and a log that helpers write and the root task reads.
static COUNTERS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static LOG: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
static LOG_LEN: AtomicUsize = AtomicUsize::new(0);

fn reset_shared() {
    for c in &COUNTERS {
        c.store(0, Ordering::SeqCst);
    }
    LOG_LEN.store(0, Ordering::SeqCst);
}

fn log(v: u64) {
    let i = LOG_LEN.fetch_add(1, Ordering::SeqCst);
    if let Some(slot) = LOG.get(i) {
        slot.store(v, Ordering::SeqCst);
    }
}

fn logged() -> alloc::vec::Vec<u64> {
    let n = LOG_LEN.load(Ordering::SeqCst).min(LOG.len());
    LOG[..n].iter().map(|v| v.load(Ordering::SeqCst)).collect()
}

fn counter(i: usize) -> u64 {
    COUNTERS[i].load(Ordering::SeqCst)
}

/// Counts in `COUNTERS[i]` forever.
fn h_count(_: &Ipc, a: [u64; 4]) -> u64 {
    let c = &COUNTERS[a[0] as usize % COUNTERS.len()];
    loop {
        c.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sets `COUNTERS[i]` to 1; returns 0.
fn h_flag(_: &Ipc, a: [u64; 4]) -> u64 {
    COUNTERS[a[0] as usize % COUNTERS.len()].store(1, Ordering::SeqCst);
    0
}

/// Spins for `ms` milliseconds.
fn spin_ms(ms: u64) {
    let end = sys::now() + sys::ticks_ms(ms);
    while sys::now() < end {
        core::hint::spin_loop();
    }
}

/// Lets threads of the root task's priority run for a few time slices.
fn let_peers_run() {
    for _ in 0..4 {
        sys::yield_now();
        spin_ms(5);
    }
}

fn suspend_resume(env: &mut Env) -> TestResult {
    reset_shared();
    let t = env.spawn(Spawn::new(h_count).args([0, 0, 0, 0]).prio(ROOT_PRIO))?;
    let_peers_run();
    ensure(counter(0) > 0, || "the thread did not run".into())?;
    t.tcb.tcb_suspend().ctx("suspend")?;
    let c = counter(0);
    let_peers_run();
    ensure_eq(counter(0), c, "the counter while suspended")?;
    t.tcb.tcb_resume().ctx("resume")?;
    let_peers_run();
    ensure(counter(0) > c, || "the thread did not run after resume".into())
}

fn resume_self(_: &mut Env) -> TestResult {
    let me = slot::TCB.cap();
    me.tcb_resume().ctx("resume of the running thread")
}

fn suspend_blocked(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_recv).args([ep, 0, 0, 0]))?;
    t.tcb.tcb_suspend().ctx("suspend")?;
    env.ipc.set_mr(0, 1);
    env.ipc.nb_send(ep, info(0, 1));
    t.tcb.tcb_resume().ctx("resume")?;
    env.ipc.set_mr(0, MAGIC1);
    env.ipc.send(ep, info(0, 1));
    env.join_expect(&t, MAGIC1, "the message received after the resume")
}

/// Logs its priority `[prio]`; returns 0.
fn h_log(_: &Ipc, a: [u64; 4]) -> u64 {
    log(a[0]);
    0
}

fn all_priorities(env: &mut Env) -> TestResult {
    reset_shared();
    let prios: alloc::vec::Vec<u64> = (0..ROOT_PRIO).step_by(13).chain([ROOT_PRIO - 1]).collect();
    let mut threads = alloc::vec::Vec::new();
    for &p in prios.iter().rev().skip(1).chain(prios.last()) {
        threads.push(env.spawn(Spawn::new(h_log).args([p, 0, 0, 0]).prio(p))?);
    }
    for t in &threads {
        env.join(t)?;
    }
    let mut want = prios.clone();
    want.sort_unstable_by(|a, b| b.cmp(a));
    ensure_eq(logged(), want, "the order the threads ran in")
}

fn set_priority(env: &mut Env) -> TestResult {
    let root = slot::TCB.cap();
    let (auth, other) = (env.tcb()?, env.tcb()?);
    auth.tcb_set_mc_priority(root, 100).ctx("set the authority's MCP")?;
    expect_err(other.tcb_set_priority(auth, 101), Error::RangeError, "priority above the MCP")?;
    ensure_eq((env.ipc.mr(0), env.ipc.mr(1)), (0, 100), "the range")?;
    other.tcb_set_priority(auth, 100).ctx("priority at the MCP")?;
    expect_err(other.tcb_set_mc_priority(auth, 101), Error::RangeError, "MCP above the MCP")?;
    other.tcb_set_mc_priority(auth, 50).ctx("MCP below the MCP")?;
    expect_err(other.tcb_set_priority(root, 256), Error::RangeError, "priority 256")?;
    ensure_eq((env.ipc.mr(0), env.ipc.mr(1)), (0, 255), "the range")?;
    let m = env.invoke(other.bits(), L::TcbSetPriority, &[10], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "no authority")?;
    let ep = env.endpoint()?;
    let r = other.tcb_set_priority(cap_at(ep.bits()), 10);
    ensure(r.is_err(), || "an endpoint accepted as authority".into())
}

fn ipc_prios(env: &mut Env) -> TestResult {
    reset_shared();
    let ep = env.endpoint()?.bits();
    let high = env.spawn(Spawn::new(h_recv_flag).args([ep, 0, 0, 0]))?;
    env.ipc.send(ep, info(0, 0));
    ensure_eq(counter(0), 1, "the higher-priority receiver ran before the send returned")?;
    env.join(&high)?;
    let low = env.spawn(Spawn::new(h_recv_flag).args([ep, 1, 0, 0]).prio(ROOT_PRIO - 50))?;
    env.ipc.send(ep, info(0, 0));
    ensure_eq(counter(1), 0, "the lower-priority receiver ran before the send returned")?;
    env.join(&low)?;
    ensure_eq(counter(1), 1, "the lower-priority receiver")
}

/// Receives on `[ep]`, then sets `COUNTERS[i]`; returns 0.
fn h_recv_flag(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.recv(a[0]);
    COUNTERS[a[1] as usize % COUNTERS.len()].store(1, Ordering::SeqCst);
    0
}

/// Logs `[id]` and yields, 5 times.
fn h_log_yield(_: &Ipc, a: [u64; 4]) -> u64 {
    for _ in 0..5 {
        log(a[0]);
        sys::yield_now();
    }
    0
}

fn yield_turns(env: &mut Env) -> TestResult {
    reset_shared();
    let p = ROOT_PRIO - 20;
    let a = env.spawn(Spawn::new(h_log_yield).args([1, 0, 0, 0]).prio(p))?;
    let b = env.spawn(Spawn::new(h_log_yield).args([2, 0, 0, 0]).prio(p))?;
    env.join(&a)?;
    env.join(&b)?;
    // Which starts depends on the scheduler's queueing; then they alternate.
    let log = logged();
    let alternate = log.len() == 10 && log.windows(2).all(|w| w[0] != w[1]);
    ensure(alternate, || alloc::format!("the turns: {log:?}"))
}

/// Counts in `COUNTERS[me]`, noting in `COUNTERS[2 + me]` once
/// `COUNTERS[other]` moved while it ran, until both noted it or 3 seconds
/// passed; returns 0 if it saw the other move.
fn h_spin_watch(_: &Ipc, a: [u64; 4]) -> u64 {
    let (me, other) = (a[0] as usize % 2, a[1] as usize % 2);
    let start = COUNTERS[other].load(Ordering::SeqCst);
    let end = sys::now() + sys::ticks_ms(3000);
    while sys::now() < end {
        COUNTERS[me].fetch_add(1, Ordering::SeqCst);
        if COUNTERS[other].load(Ordering::SeqCst) > start + 1000 {
            COUNTERS[2 + me].store(1, Ordering::SeqCst);
        }
        if COUNTERS[2].load(Ordering::SeqCst) == 1 && COUNTERS[3].load(Ordering::SeqCst) == 1 {
            return 0;
        }
    }
    if COUNTERS[2 + me].load(Ordering::SeqCst) == 1 { 0 } else { fail(1) }
}

fn time_slices(env: &mut Env) -> TestResult {
    reset_shared();
    let p = ROOT_PRIO - 20;
    let a = env.spawn(Spawn::new(h_spin_watch).args([0, 1, 0, 0]).prio(p))?;
    let b = env.spawn(Spawn::new(h_spin_watch).args([1, 0, 0, 0]).prio(p))?;
    env.join_expect(&a, 0, "the first thread saw the second progress")?;
    env.join_expect(&b, 0, "the second thread saw the first progress")
}

fn raise_runs_now(env: &mut Env) -> TestResult {
    reset_shared();
    let t = env.spawn(Spawn::new(h_flag).args([0, 0, 0, 0]).prio(ROOT_PRIO - 50))?;
    ensure_eq(counter(0), 0, "the lower-priority thread before the change")?;
    t.tcb.tcb_set_priority(slot::TCB.cap(), ROOT_PRIO + 10).ctx("raise")?;
    ensure_eq(counter(0), 1, "the raised thread ran before SetPriority returned")?;
    env.join(&t).map(|_| ())
}

fn lower_self_runs_other(env: &mut Env) -> TestResult {
    reset_shared();
    let t = env.spawn(Spawn::new(h_flag).args([0, 0, 0, 0]).prio(ROOT_PRIO - 50))?;
    set_root_prio(ROOT_PRIO - 100)?;
    ensure_eq(counter(0), 1, "the other thread ran once the root task was lower")?;
    set_root_prio(ROOT_PRIO)?;
    env.join(&t).map(|_| ())
}

fn write_registers(env: &mut Env) -> TestResult {
    let t = env.tcb()?;
    let mut w = [0u64; sel4::USER_CONTEXT_NUM_REGS];
    for (i, v) in w.iter_mut().enumerate() {
        *v = 0x1000_0000 + i as u64 * 0x111;
    }
    w[2] = 0xf000_03c5;
    let regs = UserContext::from_inner(sel4_sys::UserContext::from_words(&w));
    t.tcb_write_all_registers(false, &regs).ctx("write")?;
    let back = t.tcb_read_all_registers(false).ctx("read")?.inner().to_words();
    for i in (0..w.len()).filter(|i| *i != 2) {
        ensure_eq(back[i], w[i], &alloc::format!("register word {i}"))?;
    }
    ensure_eq(back[2], 0xf000_0000, "SPSR (only NZCV kept)")?;
    let few = t.tcb_read_registers(false, 3).ctx("read 3")?.inner().to_words();
    ensure_eq((few[0], few[1], few[3]), (w[0], w[1], 0), "the first 3 registers only")
}

/// Invokes ReadRegisters and WriteRegisters on its own TCB `[tcb]`;
/// returns both reply labels (bits 0-15, 16-31).
fn h_self_registers(ipc: &Ipc, a: [u64; 4]) -> u64 {
    let r = ipc.invoke(a[0], L::TcbReadRegisters, &[0, 1], &[]).label();
    let w = ipc.invoke(a[0], L::TcbWriteRegisters, &[0, 1, 0], &[]).label();
    r | w << 16
}

fn register_errors(env: &mut Env) -> TestResult {
    let t = env.tcb()?;
    for n in [0, sel4::USER_CONTEXT_NUM_REGS as u64 + 1] {
        expect_err(
            t.tcb_read_registers(false, n),
            Error::RangeError,
            &alloc::format!("reading {n}"),
        )?;
        ensure_eq((env.ipc.mr(0), env.ipc.mr(1)), (1, 36), "the range")?;
    }
    let m = env.invoke(t.bits(), L::TcbWriteRegisters, &[0, 5, 1, 2, 3], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "writing 5 with 3 given")?;
    let m = env.invoke(t.bits(), L::TcbReadRegisters, &[0], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "read with one word")?;
    let h = env.spawn(Spawn::new(h_self_registers).suspended())?;
    let mut regs = h.regs;
    *regs.gpr_mut(1) = h.tcb.bits();
    h.tcb.tcb_write_all_registers(true, &regs).ctx("start")?;
    let r = env.join(&h)?;
    expect_label(r & 0xffff, Error::IllegalOperation, "ReadRegisters of oneself")?;
    expect_label(r >> 16, Error::IllegalOperation, "WriteRegisters of oneself")
}

fn configure_errors(env: &mut Env) -> TestResult {
    let t = env.tcb()?;
    let (buf, a) = env.page(CapRights::read_write(), sel4::VmAttributes::DEFAULT)?;
    let cnode = slot::CNODE.cap();
    let data = CNodeCapData::skip(64 - env.cnode_bits);
    let vspace = slot::VSPACE.cap();
    let null: cap::CNode = cap_at(env.slot()?);
    let r = t.tcb_configure(CPtr::from_bits(0), null, data, vspace, a, buf);
    expect_err(r, Error::IllegalOperation, "Configure with a null CSpace")?;
    expect_err(
        t.tcb_set_space(CPtr::from_bits(0), null, data, vspace),
        Error::IllegalOperation,
        "SetSpace with a null CSpace",
    )?;
    let ep: cap::CNode = cap_at(env.endpoint()?.bits());
    expect_err(
        t.tcb_set_space(CPtr::from_bits(0), ep, data, vspace),
        Error::IllegalOperation,
        "SetSpace with an endpoint as CSpace",
    )?;
    let unassigned: cap::VSpace = env.obj()?;
    let r = t.tcb_configure(CPtr::from_bits(0), cnode, data, unassigned, a, buf);
    expect_err(r, Error::IllegalOperation, "Configure with a VSpace without ASID")?;
    let r = t.tcb_configure(CPtr::from_bits(0), cnode, data, vspace, a + 8, buf);
    expect_err(r, Error::AlignmentError, "Configure with a misaligned IPC buffer")?;
    let not_frame: cap::Granule = cap_at(env.notification()?.bits());
    let r = t.tcb_configure(CPtr::from_bits(0), cnode, data, vspace, a, not_frame);
    expect_err(r, Error::IllegalOperation, "Configure with a notification as IPC buffer")?;
    let m = env.invoke(
        t.bits(),
        L::TcbConfigure,
        &[0, 0, 0],
        &[cnode.bits(), vspace.bits(), buf.bits()],
    );
    expect_label(m.label(), Error::TruncatedMessage, "Configure with three words")?;
    t.tcb_configure(CPtr::from_bits(0), cnode, data, vspace, a + 1024, buf)
        .ctx("the valid Configure")
}

fn suspend_twice(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let t = env.spawn(Spawn::new(h_recv).args([ep, 0, 0, 0]))?;
    t.tcb.tcb_resume().ctx("resume of a blocked thread")?;
    t.tcb.tcb_suspend().ctx("suspend")?;
    t.tcb.tcb_suspend().ctx("suspend again")?;
    t.tcb.tcb_resume().ctx("resume")?;
    t.tcb.tcb_resume().ctx("resume again")?;
    env.ipc.set_mr(0, MAGIC1);
    env.ipc.send(ep, info(0, 1));
    env.join_expect(&t, MAGIC1, "the message")
}

fn yield_alone(_: &mut Env) -> TestResult {
    for _ in 0..100 {
        sys::yield_now();
    }
    Ok(())
}

/// Returns its TPIDR_EL0.
fn h_tpidr(_: &Ipc, _: [u64; 4]) -> u64 {
    let v: u64;
    // SAFETY: reads a register EL0 may read.
    unsafe { asm!("mrs {}, tpidr_el0", out(reg) v, options(nomem, nostack)) };
    v
}

fn tls_base(env: &mut Env) -> TestResult {
    let t = env.spawn(Spawn::new(h_tpidr).suspended())?;
    t.tcb.tcb_set_tls_base(0x1234_5670).ctx("SetTLSBase")?;
    let regs = t.tcb.tcb_read_all_registers(false).ctx("read")?;
    ensure_eq(*regs.tpidr_el0(), 0x1234_5670, "TPIDR_EL0 read back")?;
    // Start it with pc, sp, spsr and x0-x6 only, keeping TPIDR_EL0.
    t.tcb.tcb_write_registers(true, 10, &t.regs).ctx("start")?;
    env.join_expect(&t, 0x1234_5670, "TPIDR_EL0 in the thread")
}

fn lower_waits(env: &mut Env) -> TestResult {
    reset_shared();
    let t = env.spawn(Spawn::new(h_flag).args([0, 0, 0, 0]).prio(ROOT_PRIO - 1))?;
    spin_ms(30);
    ensure_eq(counter(0), 0, "the lower-priority thread ran while the root task spun")?;
    env.join(&t)?;
    ensure_eq(counter(0), 1, "the lower-priority thread once the root task blocked")
}

fn delete_tcb(env: &mut Env) -> TestResult {
    reset_shared();
    let t = env.spawn(Spawn::new(h_count).args([2, 0, 0, 0]).prio(ROOT_PRIO))?;
    let_peers_run();
    ensure(counter(2) > 0, || "the thread did not run".into())?;
    path(t.tcb.bits()).delete().ctx("delete")?;
    let c = counter(2);
    let_peers_run();
    ensure_eq(counter(2), c, "the counter after the TCB is deleted")?;
    Ok(())
}

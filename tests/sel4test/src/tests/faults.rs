//! PAGEFAULT: faults delivered to a fault endpoint (VM faults on read,
//! write and execute, unknown syscalls, undefined instructions, cap
//! faults), the message layout of each, and the handler's reply resuming
//! the thread, within one address space and across two.

use sel4::init_thread::slot;
use sel4::{CapRights, VmAttributes};
use sel4_sys::FaultLabel;
use sel4_sys::error::LookupFailure;
use sel4_sys::fault::{UNKNOWN_SYSCALL_LENGTH, USER_EXCEPTION_LENGTH, VM_FAULT_LENGTH};

use super::common::{MAGIC1, h_call, h_recv, info};
use super::probes::{self, h_read, h_write};
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq};
use crate::env::{Env, PAGE, path};
use crate::sys::Ipc;
use crate::thread::{FaultMsg, Spawn, Thread};

pub const TESTS: &[Test] = &[
    Test { id: "PAGEFAULT0001", desc: "Test read page fault", run: read_fault },
    Test { id: "PAGEFAULT0002", desc: "Test write page fault", run: write_fault },
    Test { id: "PAGEFAULT0003", desc: "Test execute page fault", run: execute_fault },
    Test { id: "PAGEFAULT0004", desc: "Test unknown system call", run: bad_syscall },
    Test { id: "PAGEFAULT0005", desc: "Test undefined instruction", run: bad_instruction },
    Test { id: "PAGEFAULT1001", desc: "Test read page fault (inter-AS)", run: read_fault_interas },
    Test {
        id: "PAGEFAULT1002",
        desc: "Test write page fault (inter-AS)",
        run: write_fault_interas,
    },
    Test {
        id: "PAGEFAULT1003",
        desc: "Test execute page fault (inter-AS)",
        run: execute_fault_interas,
    },
    Test {
        id: "PAGEFAULT1004",
        desc: "Test unknown system call (inter-AS)",
        run: bad_syscall_interas,
    },
    Test {
        id: "PAGEFAULT1005",
        desc: "Test undefined instruction (inter-AS)",
        run: bad_instruction_interas,
    },
    Test {
        id: "PAGEFAULT0006",
        desc: "The faulting access is retried after the handler maps the page",
        run: retry_after_map,
    },
    Test {
        id: "PAGEFAULT0007",
        desc: "A write to a read-only page faults; remapped writable it is retried",
        run: write_read_only,
    },
    Test {
        id: "PAGEFAULT0008",
        desc: "Cap fault on receive: layout, fix and restart",
        run: cap_fault_recv,
    },
    Test {
        id: "PAGEFAULT0009",
        desc: "Cap fault on a call through a bad cptr",
        run: cap_fault_call,
    },
    Test {
        id: "PAGEFAULT0010",
        desc: "A fault without a fault endpoint stops only that thread",
        run: no_handler,
    },
    Test {
        id: "PAGEFAULT0011",
        desc: "A reply with a non-zero label leaves the faulted thread stopped",
        run: reply_label_stops,
    },
];

/// An address no test maps, below 2^39.
pub const BAD_VADDR: u64 = 0x3c_ba98_7650;
const GOOD_MAGIC: u64 = 0x1583_1851;
const EXPECTED_BADGE: u64 = 0xabababa;
/// Where a process finds its fault endpoint.
const PROCESS_FAULT_SLOT: u64 = 5;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Read,
    Write,
    Execute,
    Syscall,
    Instruction,
}

/// The faulting helper: `[kind, arg]`.
fn h_fault(_: &Ipc, a: [u64; 4]) -> u64 {
    match a[0] {
        0 => probes::read(BAD_VADDR),
        1 => probes::write(BAD_VADDR, a[1]),
        2 => probes::exec(BAD_VADDR),
        3 => {
            let mut regs = [a[1], 0, 0, 0, 0, 0, 0, 0xc1];
            probes::syscall(&mut regs);
            regs[0]
        }
        _ => probes::udf(a[1]),
    }
}

/// A 16-byte aligned SP value for the undefined-instruction probe.
const FAKE_SP: u64 = 0x3c_0000_1000;

/// Starts the faulter for `kind`, in this address space or a process; its
/// fault endpoint is `fault_ep` badged EXPECTED_BADGE.
fn start_faulter(env: &mut Env, kind: Kind, fault_ep: u64, inter_as: bool) -> TestResult<Thread> {
    let arg = if kind == Kind::Instruction { FAKE_SP } else { !GOOD_MAGIC };
    let s = Spawn::new(h_fault).args([kind as u64, arg, 0, 0]);
    if inter_as {
        let caps = [(PROCESS_FAULT_SLOT, fault_ep, CapRights::all(), EXPECTED_BADGE)];
        Ok(env.spawn_process(s.fault_ep(PROCESS_FAULT_SLOT), &caps)?.thread)
    } else {
        let f = env.mint(fault_ep, CapRights::all(), EXPECTED_BADGE)?;
        env.spawn(s.fault_ep(f))
    }
}

/// Points the faulted thread at `pc` with x0 = GOOD_MAGIC.
fn set_good_magic_and_pc(t: &Thread, pc: u64) -> TestResult {
    let mut regs = t.tcb.tcb_read_all_registers(false).ctx("reading the faulter's registers")?;
    *regs.pc_mut() = pc;
    *regs.gpr_mut(0) = GOOD_MAGIC;
    t.tcb.tcb_write_all_registers(false, &regs).ctx("writing the faulter's registers")
}

fn check_common(f: &FaultMsg, len: u64) -> TestResult {
    ensure_eq(f.badge, EXPECTED_BADGE, "badge of the fault endpoint")?;
    ensure_eq(f.length, len, "message length")
}

fn run_fault(env: &mut Env, kind: Kind, inter_as: bool) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let t = start_faulter(env, kind, fault_ep, inter_as)?;
    match kind {
        Kind::Read | Kind::Write | Kind::Execute => {
            let f = env.expect_fault(fault_ep, FaultLabel::VmFault, "the faulter")?;
            check_common(&f, VM_FAULT_LENGTH)?;
            let (ip, prefetch, restart) = match kind {
                Kind::Read => (probes::read_insn(), 0, probes::read_restart()),
                Kind::Write => (probes::write_insn(), 0, probes::write_restart()),
                _ => (BAD_VADDR, 1, probes::exec_restart()),
            };
            ensure_eq(f.mr[0], ip, "fault IP")?;
            ensure_eq(f.mr[1], BAD_VADDR, "fault address")?;
            ensure_eq(f.mr[2], prefetch, "instruction fault flag")?;
            if kind != Kind::Execute {
                // ESR.ISS.WnR: set for a write.
                let wnr = (f.mr[3] >> 6) & 1;
                ensure_eq(wnr, (kind == Kind::Write) as u64, "write bit of the fault status")?;
            }
            set_good_magic_and_pc(&t, restart)?;
            env.ipc.reply(info(0, 0));
        }
        Kind::Syscall => {
            let f = env.expect_fault(fault_ep, FaultLabel::UnknownSyscall, "the faulter")?;
            check_common(&f, UNKNOWN_SYSCALL_LENGTH)?;
            ensure_eq(f.mr[0], !GOOD_MAGIC, "x0")?;
            ensure_eq((f.mr[7], f.mr[12]), (0xc1, 0xc1), "x7 and the syscall number")?;
            ensure_eq(f.mr[8], probes::syscall_insn(), "fault IP")?;
            for (i, w) in f.mr[..12].iter().enumerate() {
                env.ipc.set_mr(i, *w);
            }
            env.ipc.set_mr(0, GOOD_MAGIC);
            env.ipc.set_mr(8, probes::syscall_restart());
            env.ipc.reply(info(0, 12));
        }
        Kind::Instruction => {
            let f = env.expect_fault(fault_ep, FaultLabel::UserException, "the faulter")?;
            check_common(&f, USER_EXCEPTION_LENGTH)?;
            ensure_eq(f.mr[0], probes::udf_insn(), "fault IP")?;
            ensure_eq(f.mr[1], FAKE_SP, "SP")?;
            ensure_eq(f.mr[3], 0, "exception class (unknown instruction)")?;
            env.ipc.set_mrs(&[probes::udf_restart(), FAKE_SP + 16, f.mr[2]]);
            env.ipc.reply(info(0, 3));
            return env.join_expect(&t, FAKE_SP + 16, "the SP the thread resumed with");
        }
    }
    env.join_expect(&t, GOOD_MAGIC, "x0 after the resumed access")
}

fn read_fault(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Read, false)
}

fn write_fault(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Write, false)
}

fn execute_fault(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Execute, false)
}

fn bad_syscall(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Syscall, false)
}

fn bad_instruction(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Instruction, false)
}

fn read_fault_interas(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Read, true)
}

fn write_fault_interas(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Write, true)
}

fn execute_fault_interas(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Execute, true)
}

fn bad_syscall_interas(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Syscall, true)
}

fn bad_instruction_interas(env: &mut Env) -> TestResult {
    run_fault(env, Kind::Instruction, true)
}

fn retry_after_map(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let v = env.scratch(PAGE, PAGE);
    let t = env.spawn(Spawn::new(h_read).args([v + 8, 0, 0, 0]).fault_ep(fault_ep))?;
    let f = env.expect_fault(fault_ep, FaultLabel::VmFault, "the read")?;
    ensure_eq((f.mr[0], f.mr[1]), (probes::read_insn(), v + 8), "fault IP and address")?;
    let frame: sel4::cap::Granule = env.obj()?;
    env.map(slot::VSPACE.cap(), frame, v, CapRights::read_write(), VmAttributes::DEFAULT)?;
    // SAFETY: the page was just mapped here, read-write, and nothing else
    // refers to it.
    unsafe { ((v + 8) as *mut u64).write_volatile(GOOD_MAGIC) };
    env.ipc.reply(info(0, 0));
    env.join_expect(&t, GOOD_MAGIC, "the retried read")
}

fn write_read_only(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let (frame, v) = env.page(CapRights::read_only(), VmAttributes::DEFAULT)?;
    let t = env.spawn(Spawn::new(h_write).args([v + 16, GOOD_MAGIC, 0, 0]).fault_ep(fault_ep))?;
    let f = env.expect_fault(fault_ep, FaultLabel::VmFault, "the write")?;
    ensure_eq((f.mr[0], f.mr[1]), (probes::write_insn(), v + 16), "fault IP and address")?;
    ensure_eq((f.mr[3] >> 6) & 1, 1, "write bit of the fault status")?;
    frame
        .frame_map(slot::VSPACE.cap(), v as usize, CapRights::read_write(), VmAttributes::DEFAULT)
        .ctx("remapping read-write")?;
    env.ipc.reply(info(0, 0));
    env.join_expect(&t, 0, "the retried write")?;
    // SAFETY: the page is mapped read-write at `v`.
    let got = unsafe { ((v + 16) as *const u64).read_volatile() };
    ensure_eq(got, GOOD_MAGIC, "the word written")
}

fn cap_fault_recv(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let ep = env.endpoint()?.bits();
    let s = env.slot()?;
    let t = env.spawn(Spawn::new(h_recv).args([s, 0, 0, 0]).fault_ep(fault_ep))?;
    let f = env.expect_fault(fault_ep, FaultLabel::CapFault, "the receive")?;
    // IP, cptr, receive phase, then the lookup failure: its type and, for a
    // missing capability, the bits left.
    ensure_eq(f.length, 5, "message length")?;
    ensure_eq(f.mr[4], 0, "bits left")?;
    ensure_eq((f.mr[1], f.mr[2]), (s, 1), "cptr and receive phase")?;
    ensure_eq(f.mr[3], LookupFailure::MissingCapability as u64, "lookup failure")?;
    ensure(f.mr[0] != 0, || "fault IP is 0".into())?;
    path(s).copy(&path(ep), CapRights::all()).ctx("copy")?;
    env.ipc.reply(info(0, 0));
    env.ipc.set_mr(0, MAGIC1);
    env.ipc.send(ep, info(0, 1));
    env.join_expect(&t, MAGIC1, "the restarted receive")
}

fn cap_fault_call(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let bad = 1 << 62 | 3;
    let t = env.spawn(Spawn::new(h_call).args([bad, 0, 0, 0]).fault_ep(fault_ep))?;
    let f = env.expect_fault(fault_ep, FaultLabel::CapFault, "the call")?;
    ensure_eq((f.mr[1], f.mr[2]), (bad, 0), "cptr and receive phase")?;
    ensure_eq(f.mr[3], LookupFailure::GuardMismatch as u64, "lookup failure")?;
    ensure_eq(f.mr[4], 64, "bits left")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

fn no_handler(env: &mut Env) -> TestResult {
    let t =
        env.spawn(Spawn::new(h_fault).args([Kind::Instruction as u64, FAKE_SP, 0, 0]).fault_ep(0))?;
    let regs = t.tcb.tcb_read_all_registers(false).ctx("read registers")?;
    ensure_eq(*regs.pc(), probes::udf_insn(), "pc of the stopped thread")?;
    let done = env.poll_done().map(|d| d.0);
    ensure_eq(done, None, "a report from the stopped thread")
}

fn reply_label_stops(env: &mut Env) -> TestResult {
    let fault_ep = env.endpoint()?.bits();
    let t = start_faulter(env, Kind::Instruction, fault_ep, false)?;
    env.expect_fault(fault_ep, FaultLabel::UserException, "the faulter")?;
    env.ipc.reply(info(1, 0));
    let regs = t.tcb.tcb_read_all_registers(false).ctx("read registers")?;
    ensure_eq(*regs.pc(), probes::udf_insn(), "pc of the stopped thread")?;
    ensure_eq(env.poll_done().map(|d| d.0), None, "a report from the stopped thread")?;
    let m = env.ipc.nb_recv(fault_ep);
    ensure_eq(m.label(), 0, "another fault")?;
    // Resumed, it runs the instruction again.
    t.tcb.tcb_resume().ctx("resume")?;
    env.expect_fault(fault_ep, FaultLabel::UserException, "the resumed thread")?;
    t.tcb.tcb_suspend().ctx("suspend")
}

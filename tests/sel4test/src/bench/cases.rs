//! The benchmarks. Threads in the root task's address space share samples
//! through statics; the IPC server runs in an address space of its own and
//! passes its counter readings back in its replies; the VCPU guests run in
//! VSpaces of their own, the root task their VMM taking the samples.

use alloc::vec::Vec;
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use sel4::init_thread::slot;
use sel4::{CapRights, VmAttributes, cap};
use sel4_sys::{FaultLabel, InvocationLabel, MessageInfo, Syscall};

use super::{Bench, SAMPLES, WARMUP, pmu};
use crate::check::{Context, Fail, TestResult};
use crate::env::{Env, HELPER_PRIO, PAGE, ROOT_PRIO, cap_at};
use crate::sys::{self, Ipc};
use crate::thread::Spawn;

const N: usize = SAMPLES + WARMUP;

pub const ALL: &[Bench] = &[
    Bench { name: "null_syscall", desc: "BenchmarkNullSyscall, entry to exit", run: null_syscall },
    Bench {
        name: "ipc_call",
        desc: "Call to a waiting server in another address space, one way",
        run: ipc_call,
    },
    Bench {
        name: "ipc_reply_recv",
        desc: "ReplyRecv back to the caller in another address space, one way",
        run: ipc_reply_recv,
    },
    Bench {
        name: "signal_high_prio",
        desc: "Signal waking a higher-priority thread, until it runs",
        run: signal_high_prio,
    },
    Bench {
        name: "yield",
        desc: "Yield to another thread of the same priority",
        run: yield_switch,
    },
    Bench {
        name: "fault_round_trip",
        desc: "User exception to the handler and back (reply resumes past it)",
        run: fault_round_trip,
    },
    Bench {
        name: "irq_user",
        desc: "Device interrupt to a waiting user handler thread",
        run: irq_user,
    },
    Bench { name: "map_1_page", desc: "Map one 4 KiB frame (tables present)", run: map_1 },
    Bench {
        name: "map_512_pages",
        desc: "Map 512 4 KiB frames, one call each (tables present)",
        run: map_512,
    },
    Bench {
        name: "vcpu_hvc_round_trip",
        desc: "Guest HVC to the VMM's VCPUFault, ReplyRecv, until the next HVC arrives",
        run: vcpu_hvc,
    },
    Bench {
        name: "vcpu_mmio_round_trip",
        desc: "Guest stage-2 load abort to the VMM, Read/WriteRegisters (pc += 4), ReplyRecv, \
               until the next abort arrives",
        run: vcpu_mmio,
    },
];

fn null_syscall(_: &mut Env) -> TestResult<Vec<u64>> {
    Ok((0..N)
        .map(|_| {
            let t0 = pmu();
            sel4::benchmark_null_syscall();
            pmu() - t0
        })
        .collect())
}

/// The server: answers each call with the counter as it saw the call
/// arrive (MR0) and just before its reply (MR1). Messages travel in
/// registers only (as sel4bench's do), so the figures are the kernel's and
/// not a wrapper's copying through the IPC buffer.
fn h_ipc_server(ipc: &Ipc, a: [u64; 4]) -> u64 {
    let ep = a[0];
    ipc.recv(ep);
    let info = MessageInfo::new(0, 0, 0, 2).0;
    loop {
        let arrived = pmu();
        let sent = pmu();
        // SAFETY: a message of two words in registers; no buffer is used.
        unsafe { sys::raw_syscall(Syscall::ReplyRecv as i64, [ep, info, arrived, sent, 0, 0]) };
    }
}

/// Call and reply one-way samples against a server in its own VSpace.
fn ipc_samples(env: &mut Env) -> TestResult<(Vec<u64>, Vec<u64>)> {
    let ep = env.endpoint()?.bits();
    let s = Spawn::new(h_ipc_server).args([2, 0, 0, 0]).prio(ROOT_PRIO);
    env.spawn_process(s, &[(2, ep, CapRights::all(), 0)])?;
    // Let the server reach its Recv.
    sys::yield_now();
    let (mut call, mut reply) = (Vec::with_capacity(N), Vec::with_capacity(N));
    for _ in 0..N {
        let t0 = pmu();
        // SAFETY: an empty message in registers; the reply comes in x2, x3.
        let r = unsafe { sys::raw_syscall(Syscall::Call as i64, [ep, 0, 0, 0, 0, 0]) };
        let t3 = pmu();
        call.push(r[2].wrapping_sub(t0));
        reply.push(t3.wrapping_sub(r[3]));
    }
    Ok((call, reply))
}

fn ipc_call(env: &mut Env) -> TestResult<Vec<u64>> {
    ipc_samples(env).map(|s| s.0)
}

fn ipc_reply_recv(env: &mut Env) -> TestResult<Vec<u64>> {
    ipc_samples(env).map(|s| s.1)
}

static WOKE: AtomicU64 = AtomicU64::new(0);

fn h_waiter(_: &Ipc, a: [u64; 4]) -> u64 {
    loop {
        sys::wait(a[0]);
        WOKE.store(pmu(), Ordering::SeqCst);
    }
}

fn signal_high_prio(env: &mut Env) -> TestResult<Vec<u64>> {
    let n = env.notification()?.bits();
    env.spawn(Spawn::new(h_waiter).args([n, 0, 0, 0]).prio(HELPER_PRIO))?;
    Ok((0..N)
        .map(|_| {
            let t0 = pmu();
            sys::signal(n);
            WOKE.load(Ordering::SeqCst).wrapping_sub(t0)
        })
        .collect())
}

static YIELDED: AtomicU64 = AtomicU64::new(0);

fn h_yielder(_: &Ipc, _: [u64; 4]) -> u64 {
    loop {
        YIELDED.store(pmu(), Ordering::SeqCst);
        sys::yield_now();
    }
}

fn yield_switch(env: &mut Env) -> TestResult<Vec<u64>> {
    env.spawn(Spawn::new(h_yielder).prio(ROOT_PRIO))?;
    sys::yield_now();
    Ok((0..N)
        .map(|_| {
            let t0 = pmu();
            sys::yield_now();
            YIELDED.load(Ordering::SeqCst).wrapping_sub(t0)
        })
        .collect())
}

static FAULTS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

fn h_faulter(_: &Ipc, _: [u64; 4]) -> u64 {
    for s in &FAULTS {
        let t0 = pmu();
        // SAFETY: raises an undefined-instruction exception; the handler
        // resumes this thread at the next instruction.
        unsafe { asm!("udf #0", options(nomem, nostack)) };
        s.store(pmu().wrapping_sub(t0), Ordering::SeqCst);
    }
    0
}

fn fault_round_trip(env: &mut Env) -> TestResult<Vec<u64>> {
    let ep = env.endpoint()?.bits();
    let fault_ep = env.mint(ep, CapRights::all(), 1)?;
    env.spawn(Spawn::new(h_faulter).prio(ROOT_PRIO).fault_ep(fault_ep))?;
    let mut m = env.ipc.recv(ep);
    for i in 0..N {
        if m.label() != FaultLabel::UserException as u64 {
            return Err(Fail(alloc::format!("fault {i}: label {}", m.label())));
        }
        let ip = env.ipc.mr(0);
        env.ipc.set_mr(0, ip + 4);
        if i + 1 == N {
            env.ipc.reply(MessageInfo::new(0, 0, 0, 1));
            break;
        }
        m = env.ipc.reply_recv(ep, MessageInfo::new(0, 0, 0, 1));
    }
    sys::yield_now();
    Ok(FAULTS.iter().map(|s| s.load(Ordering::SeqCst)).collect())
}

/// PL031 registers (see tests::interrupt).
const RTCDR: u64 = 0x00;
const RTCMR: u64 = 0x04;
const RTCIMSC: u64 = 0x10;
const RTCRIS: u64 = 0x14;

fn rtc_write(base: u64, reg: u64, v: u32) {
    // SAFETY: the RTC's page is mapped device memory at `base` for the
    // suite's lifetime; its registers are 32 bits wide.
    unsafe { ((base + reg) as *mut u32).write_volatile(v) }
}

fn rtc_read(base: u64, reg: u64) -> u32 {
    // SAFETY: as for `rtc_write`.
    unsafe { ((base + reg) as *const u32).read_volatile() }
}

static IRQ_SEEN: AtomicU64 = AtomicU64::new(0);

/// The handler thread: on each interrupt, takes the time, masks the
/// RTC's interrupt at the device and acknowledges the IRQ.
fn h_irq(ipc: &Ipc, a: [u64; 4]) -> u64 {
    let (n, rtc, handler) = (a[0], a[1], a[2]);
    loop {
        sys::wait(n);
        IRQ_SEEN.store(pmu(), Ordering::SeqCst);
        rtc_write(rtc, RTCIMSC, 0);
        ipc.invoke(handler, InvocationLabel::IrqAckIrq, &[], &[]);
    }
}

/// The RTC's match interrupt stays raised (RIS) while the benchmark
/// unmasks it at the device (IMSC) to fire it; the handler masks it again.
fn irq_user(env: &mut Env) -> TestResult<Vec<u64>> {
    let rtc = env.rtc()?;
    rtc_write(rtc, RTCIMSC, 0);
    let raised = (0..3).any(|_| {
        rtc_write(rtc, RTCMR, rtc_read(rtc, RTCDR));
        rtc_read(rtc, RTCRIS) & 1 != 0
    });
    if !raised {
        return Err(Fail("the RTC did not raise its match interrupt".into()));
    }
    let h = env.slot()?;
    slot::IRQ_CONTROL
        .cap()
        .irq_control_get(crate::tests::interrupt::RTC_IRQ, &crate::env::path(h))
        .ctx("issuing the RTC's IRQ")?;
    let n = env.notification()?.bits();
    cap_at::<sel4::cap_type::IrqHandler>(h)
        .irq_handler_set_notification(cap_at(n))
        .ctx("SetNotification")?;
    env.spawn(Spawn::new(h_irq).args([n, rtc, h, 0]).prio(HELPER_PRIO))?;
    let samples = (0..N)
        .map(|_| {
            let t0 = pmu();
            rtc_write(rtc, RTCIMSC, 1);
            IRQ_SEEN.load(Ordering::SeqCst).wrapping_sub(t0)
        })
        .collect();
    rtc_write(rtc, RTCIMSC, 0);
    Ok(samples)
}

/// Guest code of the VCPU benchmarks (words checked with llvm-mc): an
/// endless `hvc #0`, and an endless load from x2 (left unmapped).
const HVC_LOOP: [u32; 2] = [
    0xd400_0002, // 0x00: hvc #0
    0x17ff_ffff, // 0x04: b 0x00
];
const MMIO_LOOP: [u32; 2] = [
    0xb940_0041, // 0x00: ldr w1, [x2]
    0x17ff_ffff, // 0x04: b 0x00
];

/// The root task as the VMM of a guest at EL1 (its own VSpace and ASID,
/// below the root task's priority) that traps in a loop: one sample per
/// trap, the counter read after each ReplyRecv returns with the next trap,
/// so a sample is the whole round trip: the exit, the fault message to the
/// VMM, its handling, the reply and the guest's resumption to its next
/// trap. Messages travel in registers only. With `mmio` the guest's trap is
/// a stage-2 data abort (a VMFault) which the VMM emulates the way an MMIO
/// read is: it reads the guest's registers pc..x1, writes the value into x1
/// and moves pc past the load.
fn vcpu_round_trip(env: &mut Env, mmio: bool) -> TestResult<Vec<u64>> {
    use crate::tests::vcpu::{Guest, UNMAPPED_DATA_IPA, hvc_esr};
    /// pc, sp, spsr, x0, x1: the first five registers in UserContext order.
    const REGS: u64 = 5;
    let code: &[u32] = if mmio { &MMIO_LOOP } else { &HVC_LOOP };
    let g = Guest::new(env, &[(0, code)])?;
    g.start(0, &[(2, UNMAPPED_DATA_IPA)])?;
    let trapped = |r: &[u64; 6]| {
        let label = MessageInfo(r[1]).label();
        if mmio {
            label == FaultLabel::VmFault as u64 && r[3] == UNMAPPED_DATA_IPA
        } else {
            label == FaultLabel::VcpuFault as u64 && r[2] == hvc_esr(0)
        }
    };
    // SAFETY: the message comes in registers; no buffer is used.
    let mut r = unsafe { sys::raw_syscall(Syscall::Recv as i64, [g.ep, 0, 0, 0, 0, 0]) };
    let mut t0 = pmu();
    let mut out = Vec::with_capacity(N);
    for i in 0..N {
        if !trapped(&r) {
            return Err(Fail(alloc::format!(
                "trap {i}: label {} ({:#x} {:#x})",
                MessageInfo(r[1]).label(),
                r[2],
                r[3]
            )));
        }
        if mmio {
            let mut c = g.tcb.tcb_read_registers(false, REGS).ctx("ReadRegisters")?;
            *c.gpr_mut(1) = 0x1234_5678;
            *c.pc_mut() += 4;
            g.tcb.tcb_write_registers(false, REGS, &c).ctx("WriteRegisters")?;
        }
        // SAFETY: an empty reply; the next message comes in registers.
        r = unsafe { sys::raw_syscall(Syscall::ReplyRecv as i64, [g.ep, 0, 0, 0, 0, 0]) };
        let t = pmu();
        out.push(t.wrapping_sub(t0));
        t0 = t;
    }
    Ok(out)
}

fn vcpu_hvc(env: &mut Env) -> TestResult<Vec<u64>> {
    vcpu_round_trip(env, false)
}

fn vcpu_mmio(env: &mut Env) -> TestResult<Vec<u64>> {
    vcpu_round_trip(env, true)
}

/// `count` frames and where to map them: a scratch region whose page
/// tables exist (made by mapping and unmapping the first frame).
fn frames(env: &mut Env, count: usize) -> TestResult<(Vec<cap::Granule>, u64)> {
    let fs: Vec<cap::Granule> = (0..count).map(|_| env.obj()).collect::<TestResult<_>>()?;
    let v = env.scratch(count as u64 * PAGE, 2 << 20);
    for (i, f) in fs.iter().enumerate() {
        env.map(
            slot::VSPACE.cap(),
            *f,
            v + i as u64 * PAGE,
            CapRights::read_write(),
            VmAttributes::DEFAULT,
        )?;
    }
    for f in &fs {
        f.frame_unmap().ctx("unmap")?;
    }
    Ok((fs, v))
}

fn map_n(env: &mut Env, count: usize, rounds: usize) -> TestResult<Vec<u64>> {
    let (fs, v) = frames(env, count)?;
    let vspace = slot::VSPACE.cap();
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t0 = pmu();
        for (i, f) in fs.iter().enumerate() {
            let r = f.frame_map(
                vspace,
                (v + i as u64 * PAGE) as usize,
                CapRights::read_write(),
                VmAttributes::DEFAULT,
            );
            r.ctx("map")?;
        }
        out.push(pmu() - t0);
        for f in &fs {
            f.frame_unmap().ctx("unmap")?;
        }
    }
    Ok(out)
}

fn map_1(env: &mut Env) -> TestResult<Vec<u64>> {
    map_n(env, 1, N)
}

fn map_512(env: &mut Env) -> TestResult<Vec<u64>> {
    map_n(env, 512, WARMUP + 40)
}

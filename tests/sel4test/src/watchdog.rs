//! The watchdog: a thread at priority 0, below every thread of the suite,
//! so it runs only when all of them are blocked. If that lasts past a
//! test's time limit, the test has deadlocked (a message that never came,
//! a wake-up the kernel lost); if the root task faulted, its fault is
//! waiting on the root task's fault endpoint, which the watchdog polls.
//! Either way the watchdog reports the test as failed and restarts the root
//! task, on a fresh stack, at the runner's entry for the next test, which
//! first cleans up what the stuck test left.
//!
//! The restart is sound because the root task blocks only in syscalls made
//! through its [`Ipc`] and touches test memory (which may fault) only
//! outside the `sel4` crate's calls, so it never stops while it borrows that
//! crate's IPC buffer; and the runner keeps its state in statics.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sel4::init_thread::slot;
use sel4::{CNodeCapData, CPtr, VmAttributes, cap};
use sel4_sys::InvocationLabel;

use crate::check::{Context, TestResult};
use crate::env::{Env, PAGE, cap_at};
use crate::sys::{self, Ipc};
use crate::thread::FaultText;

/// Whether a test is running, since when (counter ticks), and its limit.
pub static RUNNING: AtomicBool = AtomicBool::new(false);
pub static STARTED: AtomicU64 = AtomicU64::new(0);
pub static LIMIT: AtomicU64 = AtomicU64::new(0);

/// How long every thread may stay blocked during one test.
pub const LIMIT_MS: u64 = 15_000;

const STACK_PAGES: u64 = 4;

/// Arms the watchdog for a test starting now.
pub fn arm() {
    STARTED.store(sys::now(), Ordering::SeqCst);
    LIMIT.store(sys::ticks_ms(LIMIT_MS), Ordering::SeqCst);
    RUNNING.store(true, Ordering::SeqCst);
}

pub fn disarm() {
    RUNNING.store(false, Ordering::SeqCst);
}

/// The root task's fault endpoint (0: none).
static ROOT_FAULT_EP: AtomicU64 = AtomicU64::new(0);

/// Starts the watchdog thread and makes it the root task's fault handler.
pub fn start(env: &mut Env) -> TestResult {
    let ep: cap::Endpoint = env.persist_obj()?;
    let root = slot::TCB.cap();
    let data = CNodeCapData::skip(64 - env.cnode_bits);
    // Without it a fault of the root task is noticed as a timeout only.
    if root.tcb_set_space(ep.cptr(), slot::CNODE.cap(), data, slot::VSPACE.cap()).is_ok() {
        ROOT_FAULT_EP.store(ep.bits(), Ordering::SeqCst);
    }
    let (_, stack) = env.persist_pages(None, STACK_PAGES, VmAttributes::DEFAULT)?;
    let (buf, buf_vaddr) = env.persist_pages(None, 1, VmAttributes::DEFAULT)?;
    let tcb: cap::Tcb = env.persist_obj()?;
    tcb.tcb_configure(
        CPtr::from_bits(0),
        slot::CNODE.cap(),
        data,
        slot::VSPACE.cap(),
        buf_vaddr,
        buf,
    )
    .ctx("configuring the watchdog")?;
    tcb.tcb_set_priority(slot::TCB.cap(), 0).ctx("watchdog priority")?;
    let mut regs = sel4::UserContext::default();
    *regs.pc_mut() = watchdog_main as *const () as u64;
    *regs.sp_mut() = stack + STACK_PAGES * PAGE;
    *regs.gpr_mut(0) = buf_vaddr;
    tcb.tcb_write_all_registers(true, &regs).ctx("starting the watchdog")
}

extern "C" fn watchdog_main(buf: u64) -> ! {
    // SAFETY: `start` passes this thread's IPC buffer, used by it alone.
    let ipc = unsafe { Ipc::new(buf as *mut sel4_sys::IpcBuffer) };
    loop {
        let fault_ep = ROOT_FAULT_EP.load(Ordering::SeqCst);
        if fault_ep != 0 {
            let m = ipc.nb_recv(fault_ep);
            if m.label() != 0 {
                RUNNING.store(false, Ordering::SeqCst);
                let text = FaultText(&ipc, m.label());
                crate::abandon_test(format_args!("the root task faulted: {text}"));
                restart_root(&ipc);
                continue;
            }
        }
        let elapsed = sys::now().wrapping_sub(STARTED.load(Ordering::SeqCst));
        if RUNNING.load(Ordering::SeqCst) && elapsed > LIMIT.load(Ordering::SeqCst) {
            RUNNING.store(false, Ordering::SeqCst);
            let secs = LIMIT_MS / 1000;
            crate::abandon_test(format_args!("timed out (every thread blocked for {secs} s)"));
            restart_root(&ipc);
        }
    }
}

/// Suspends the root task and resumes it at the runner's restart entry.
fn restart_root(ipc: &Ipc) {
    unsafe extern "C" {
        static __sel4_runtime_stack_top: u8;
    }
    let root: cap::Tcb = cap_at(slot::TCB.cptr_bits());
    let sp = (&raw const __sel4_runtime_stack_top) as u64;
    let pc = crate::restart_after_timeout as *const () as u64;
    ipc.invoke(root.bits(), InvocationLabel::TcbSuspend, &[], &[]);
    // Resume, 4 registers: pc, sp, spsr, x0.
    ipc.invoke(root.bits(), InvocationLabel::TcbWriteRegisters, &[1, 4, pc, sp, 0, 0], &[]);
}

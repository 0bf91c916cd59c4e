//! The `sel4test` root task: a conformance suite for the kernel's seL4 API,
//! in the manner of seL4's sel4test (same groups and, where a test has a
//! counterpart there, the same ID).
//!
//! Each test gets a clean environment (see `env`), prints
//! `<ID> <description> ... ok` or `... FAILED: <what>`, and the suite ends
//! with `N passed, M failed` and halts the machine. Operations that could
//! fault run in helper threads with a fault endpoint, so a failing check
//! never takes the suite down; a test that deadlocks is ended by the
//! watchdog, and the suite goes on with the next one.

#![no_std]
#![no_main]

extern crate alloc;

mod bench;
mod check;
mod env;
mod sys;
mod tests;
mod thread;
mod watchdog;

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use sel4::init_thread::slot;
use sel4_runtime::println;

use crate::check::{Fail, TestResult};
use crate::env::{Env, ROOT_PRIO};

/// Boot-module flag of the root task's own module.
const ROOTTASK: u32 = 1 << 1;

/// One test.
pub struct Test {
    pub id: &'static str,
    pub desc: &'static str,
    pub run: fn(&mut Env) -> TestResult,
}

/// The environment, shared by the runner and its restart entry.
struct EnvCell(UnsafeCell<Option<Env>>);

// SAFETY: only the root task's thread touches the environment (the
// watchdog restarts that thread but never uses the environment itself).
unsafe impl Sync for EnvCell {}

static ENV: EnvCell = EnvCell(UnsafeCell::new(None));

static NEXT: AtomicUsize = AtomicUsize::new(0);
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Every test, in order.
fn all_tests() -> impl Iterator<Item = &'static Test> {
    tests::GROUPS.iter().flat_map(|g| g.iter())
}

fn main(bootinfo: &sel4::BootInfo) -> ! {
    let bench = bootinfo
        .modules()
        .find(|m| m.flags() & ROOTTASK != 0)
        .is_some_and(|m| m.cmdline().split_whitespace().any(|w| w == "bench"));
    if !bench {
        println!("sel4test: {} tests", all_tests().count());
    }
    let me = slot::TCB.cap();
    let env = me
        .tcb_set_priority(me, ROOT_PRIO)
        .map_err(Fail::from)
        .and_then(|()| Env::init(bootinfo))
        .and_then(|mut env| if bench { Ok(env) } else { watchdog::start(&mut env).map(|()| env) });
    match env {
        Ok(mut env) if bench => bench::run(&mut env),
        // SAFETY: nothing else refers to the cell yet.
        Ok(env) => unsafe { *ENV.0.get() = Some(env) },
        Err(e) => {
            println!("sel4test: setting up the environment failed: {}", e.0);
            println!("0 passed, 1 failed");
            sel4::debug_halt()
        }
    }
    run()
}

/// Runs the tests from `NEXT` on, then prints the summary and halts.
fn run() -> ! {
    // SAFETY: the cell was filled before `run` is first called; every
    // earlier borrow belonged to a stack frame that has been abandoned (the
    // watchdog restarts the root task on a fresh stack) or has ended.
    let env = unsafe { (*ENV.0.get()).as_mut() };
    let Some(env) = env else { sel4::debug_halt() };
    loop {
        let i = NEXT.fetch_add(1, Ordering::SeqCst);
        let Some(t) = all_tests().nth(i) else { break };
        watchdog::arm();
        let r = (t.run)(env);
        watchdog::disarm();
        let c = env.cleanup();
        match r.and(c) {
            Ok(()) => {
                PASSED.fetch_add(1, Ordering::SeqCst);
                println!("{} {} ... ok", t.id, t.desc);
            }
            Err(e) => {
                FAILED.fetch_add(1, Ordering::SeqCst);
                println!("{} {} ... FAILED: {}", t.id, t.desc, e.0);
            }
        }
    }
    println!("{} passed, {} failed", PASSED.load(Ordering::SeqCst), FAILED.load(Ordering::SeqCst));
    sel4::debug_halt()
}

/// Called by the watchdog when it gives up on the running test: reports it
/// as failed for `why`.
pub fn abandon_test(why: core::fmt::Arguments<'_>) {
    let i = NEXT.load(Ordering::SeqCst).saturating_sub(1);
    if let Some(t) = all_tests().nth(i) {
        FAILED.fetch_add(1, Ordering::SeqCst);
        println!("{} {} ... FAILED: {why}", t.id, t.desc);
    }
}

/// Where the watchdog restarts the root task after a timeout.
pub extern "C" fn restart_after_timeout() -> ! {
    // SAFETY: as in `run`.
    if let Some(env) = unsafe { (*ENV.0.get()).as_mut() }
        && let Err(e) = env.cleanup()
    {
        println!("sel4test: after the timeout, {}", e.0);
    }
    run()
}

sel4_runtime::declare_root_task!(main, heap_size = 256 << 10);

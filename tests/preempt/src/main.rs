//! The `preempt` root task: checks that threads of equal priority share the
//! CPU by time slices (the kernel's tick preempts a thread that never
//! yields) and that each keeps its own FP/SIMD registers across the
//! switches (the kernel switches FP state lazily).
//!
//! Two threads at priority 100 each load a distinct pattern into v0-v31,
//! spin (recording progress in memory) without any syscall, then store
//! v0-v31 back. Without preemption the first would finish before the second
//! starts; with it, each sees the other progress during its own spin. The
//! root task (priority 255) waits on a notification for both.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use sel4::init_thread::slot;
use sel4::{CNodeCapData, CapRights, ObjectBlueprint, UserContext, cap};
use sel4_runtime::println;

const THREADS: usize = 2;
const SPIN: u64 = 40_000_000;
const STACK: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK]);

static mut STACKS: [Stack; THREADS] = [const { Stack([0; STACK]) }; THREADS];
static PROGRESS: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];
/// Per thread: the other's progress when this one started and ended its spin.
static SEEN: [[AtomicU64; 2]; THREADS] = [const { [const { AtomicU64::new(0) }; 2] }; THREADS];
static FP_OK: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];
/// Slots of the threads' badged notification caps, and their TCBs.
static NTFN_SLOT: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];
static TCB_SLOT: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];

/// Loads `pattern` into v0-v31, spins `SPIN` times bumping `progress`, then
/// stores v0-v31 into `out`; all in one block so nothing else touches the
/// registers in between.
fn fp_spin(pattern: &[u128; 32], out: &mut [u128; 32], progress: &AtomicU64) {
    // SAFETY: reads 512 bytes at `pattern`, writes 512 at `out` (both valid
    // arrays), writes one word of `progress`; every vector register used is
    // declared clobbered.
    unsafe {
        core::arch::asm!(
            "ldp q0, q1, [{p}, #0]",
            "ldp q2, q3, [{p}, #32]",
            "ldp q4, q5, [{p}, #64]",
            "ldp q6, q7, [{p}, #96]",
            "ldp q8, q9, [{p}, #128]",
            "ldp q10, q11, [{p}, #160]",
            "ldp q12, q13, [{p}, #192]",
            "ldp q14, q15, [{p}, #224]",
            "ldp q16, q17, [{p}, #256]",
            "ldp q18, q19, [{p}, #288]",
            "ldp q20, q21, [{p}, #320]",
            "ldp q22, q23, [{p}, #352]",
            "ldp q24, q25, [{p}, #384]",
            "ldp q26, q27, [{p}, #416]",
            "ldp q28, q29, [{p}, #448]",
            "ldp q30, q31, [{p}, #480]",
            "2:",
            "add {c}, {c}, #1",
            "str {c}, [{m}]",
            "subs {n}, {n}, #1",
            "b.ne 2b",
            "stp q0, q1, [{o}, #0]",
            "stp q2, q3, [{o}, #32]",
            "stp q4, q5, [{o}, #64]",
            "stp q6, q7, [{o}, #96]",
            "stp q8, q9, [{o}, #128]",
            "stp q10, q11, [{o}, #160]",
            "stp q12, q13, [{o}, #192]",
            "stp q14, q15, [{o}, #224]",
            "stp q16, q17, [{o}, #256]",
            "stp q18, q19, [{o}, #288]",
            "stp q20, q21, [{o}, #320]",
            "stp q22, q23, [{o}, #352]",
            "stp q24, q25, [{o}, #384]",
            "stp q26, q27, [{o}, #416]",
            "stp q28, q29, [{o}, #448]",
            "stp q30, q31, [{o}, #480]",
            p = in(reg) pattern.as_ptr(),
            o = in(reg) out.as_mut_ptr(),
            m = in(reg) progress.as_ptr(),
            n = inout(reg) SPIN => _,
            c = inout(reg) 0u64 => _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _, out("v6") _, out("v7") _, out("v8") _, out("v9") _, out("v10") _, out("v11") _, out("v12") _, out("v13") _, out("v14") _, out("v15") _, out("v16") _, out("v17") _, out("v18") _, out("v19") _, out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _, out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
        );
    }
}

extern "C" fn thread_main(id: u64) -> ! {
    let id = id as usize;
    let other = &PROGRESS[1 - id];
    let pattern: [u128; 32] = core::array::from_fn(|r| {
        ((id as u128 + 1) << 120) | ((r as u128) << 64) | (0x5a5a_0000 + r as u128)
    });
    let mut out = [0u128; 32];
    SEEN[id][0].store(other.load(Ordering::SeqCst), Ordering::SeqCst);
    fp_spin(&pattern, &mut out, &PROGRESS[id]);
    SEEN[id][1].store(other.load(Ordering::SeqCst), Ordering::SeqCst);
    FP_OK[id].store((out == pattern) as u64, Ordering::SeqCst);
    let ntfn: cap::Notification =
        sel4::CPtr::from_bits(NTFN_SLOT[id].load(Ordering::SeqCst)).cast();
    ntfn.signal();
    let me: cap::Tcb = sel4::CPtr::from_bits(TCB_SLOT[id].load(Ordering::SeqCst)).cast();
    let _ = me.tcb_suspend();
    loop {
        sel4::r#yield();
    }
}

fn check(id: &str, what: &str, ok: bool, detail: core::fmt::Arguments) -> bool {
    if ok {
        println!("{id} {what} ... ok");
    } else {
        println!("{id} {what} ... FAILED: {detail}");
    }
    ok
}

fn main(bootinfo: &sel4::BootInfo) {
    let cnode = slot::CNODE.cap();
    let root = cnode.absolute_cptr_for_self();
    let mut next = bootinfo.empty().range().start;
    let Some(ut) = bootinfo
        .untyped()
        .iter()
        .zip(bootinfo.untyped_list())
        .find(|(_, d)| !d.is_device() && d.size_bits() >= 16)
        .map(|(s, _)| s.cap())
    else {
        println!("preempt: no untyped of 64 KiB; 0 passed, 1 failed");
        sel4::debug_halt()
    };
    let ntfn_slot = next;
    ut.untyped_retype(&ObjectBlueprint::Notification, &root, ntfn_slot, 1)
        .expect("retype notification");
    let tcb_slot = next + 1;
    ut.untyped_retype(&ObjectBlueprint::Tcb, &root, tcb_slot, THREADS).expect("retype TCBs");
    next += 1 + THREADS;
    let ntfn = sel4::CPtr::from_bits(ntfn_slot as u64);
    for id in 0..THREADS {
        let badged = next + id;
        cnode
            .absolute_cptr_from_bits_with_depth(badged as u64, 64)
            .mint(
                &cnode.absolute_cptr_from_bits_with_depth(ntfn.bits(), 64),
                CapRights::write_only(),
                1 << id,
            )
            .expect("mint");
        NTFN_SLOT[id].store(badged as u64, Ordering::SeqCst);
        TCB_SLOT[id].store((tcb_slot + id) as u64, Ordering::SeqCst);
    }
    #[allow(clippy::needless_range_loop)] // `id` is also the thread's argument
    for id in 0..THREADS {
        let tcb: cap::Tcb = sel4::CPtr::from_bits((tcb_slot + id) as u64).cast();
        tcb.tcb_configure(
            sel4::CPtr::from_bits(0),
            cnode,
            CNodeCapData::skip(64 - bootinfo.init_thread_cnode_size_bits()),
            slot::VSPACE.cap(),
            0,
            sel4::CPtr::from_bits(0).cast(),
        )
        .expect("configure");
        tcb.tcb_set_priority(slot::TCB.cap(), 100).expect("priority");
        // SAFETY: each thread gets its own stack; only its address is taken.
        let top = unsafe { core::ptr::addr_of!(STACKS[id]) as u64 + STACK as u64 };
        let mut regs = UserContext::default();
        *regs.pc_mut() = thread_main as *const () as u64;
        *regs.sp_mut() = top;
        *regs.gpr_mut(0) = id as u64;
        tcb.tcb_write_all_registers(true, &regs).expect("start thread");
    }
    let ntfn: cap::Notification = ntfn.cast();
    let mut got = 0;
    while got != (1 << THREADS) - 1 {
        let (_, badge) = ntfn.wait();
        got |= badge;
    }
    let mut passed = 0;
    for id in 0..THREADS {
        let (start, end) = (SEEN[id][0].load(Ordering::SeqCst), SEEN[id][1].load(Ordering::SeqCst));
        let n = id + 1;
        passed += check(
            &format_id("PREEMPT", n),
            "a thread that never yields is preempted for an equal-priority one",
            end > start,
            format_args!(
                "the other thread made no progress during this one's spin ({start} -> {end})"
            ),
        ) as usize;
        passed += check(
            &format_id("FPU", n),
            "FP/SIMD registers survive preemption",
            FP_OK[id].load(Ordering::SeqCst) == 1,
            format_args!("v0-v31 changed while the thread was switched out"),
        ) as usize;
    }
    println!("{} passed, {} failed", passed, 2 * THREADS - passed);
}

fn format_id(group: &str, n: usize) -> heapless_id::Id {
    heapless_id::Id::new(group, n)
}

/// Test IDs like `PREEMPT0001` without a heap.
mod heapless_id {
    pub struct Id {
        buf: [u8; 16],
        len: usize,
    }
    impl Id {
        pub fn new(group: &str, n: usize) -> Id {
            let mut buf = [0u8; 16];
            let g = group.as_bytes();
            buf[..g.len()].copy_from_slice(g);
            for (i, d) in [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10].iter().enumerate() {
                buf[g.len() + i] = b'0' + *d as u8;
            }
            Id { buf, len: g.len() + 4 }
        }
    }
    impl core::ops::Deref for Id {
        type Target = str;
        fn deref(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
        }
    }
}

sel4_runtime::declare_root_task!(main);

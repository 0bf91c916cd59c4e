//! The `sysfuzz` root task: a thread with a CSpace of its own makes a
//! seeded pseudo-random sequence of syscalls (every syscall number, invalid
//! ones too, with random cptrs, labels, message registers, lengths, extra
//! caps and receive slots) while a checker thread verifies that memory and
//! caps the fuzzer has no authority over stay intact.
//!
//! The fuzzer runs in the root task's VSpace but holds none of the root
//! task's caps: its CNode holds fresh endpoints, notifications, an untyped,
//! frames and page tables (none mapped; it has no VSpace cap), the TCB of an
//! unconfigured third thread, a copy of its own CNode, a badged send-only
//! copy of the checker's notification, its fault endpoint and empty slots.
//! Its fault endpoint is served by the root task, which counts the faults
//! and restarts the fuzzer at a fresh pc and sp; a fuzzer blocked for good
//! (in a receive nobody answers, or after deleting its fault endpoint cap)
//! is restarted the same way, and its lost caps are copied back from time
//! to time. The root task's command line is `sysfuzz [CALLS [SEED]]`.
//!
//! Call `n` depends only on the seed and `n`, so a failing call can be
//! replayed from the two numbers printed.

#![no_std]
#![no_main]

use core::ptr::{addr_of, addr_of_mut, write_volatile};
use core::sync::atomic::{AtomicU64, Ordering};
use sel4::init_thread::slot;
use sel4::{CNodeCapData, CapRights, ObjectBlueprint, UserContext, cap};
use sel4_runtime::println;
use sel4_sys::{IpcBuffer, MessageInfo, Syscall};

const DEFAULT_CALLS: u64 = 200_000;
const DEFAULT_SEED: u64 = 0x5eed_f00d_1234_abcd;
const STACK: usize = 16 * 1024;
const PRIO: u64 = 100;
/// The fuzzer's CNode: 2^6 slots, resolved with all 64 bits of a cptr.
const FUZZ_CNODE_BITS: usize = 6;
const FUZZ_SLOTS: u64 = 1 << FUZZ_CNODE_BITS;
/// Slot of the fuzzer's fault endpoint in its CNode.
const FUZZ_FAULT_SLOT: u64 = 2;
/// Badges: the fuzzer's fault endpoint; the checker's and fuzzer's
/// notification copies.
const FAULT_BADGE: u64 = 1;
const CHECKER_BIT: u64 = 1;
const FUZZER_BIT: u64 = 2;
/// Root task iterations without fuzzer progress after which it is restarted.
const STALL_ROUNDS: u32 = 3;
/// Every this many restarts, the fuzzer's lost caps are copied back.
const REFILL_EVERY: u64 = 64;
/// The run is reported as stuck after this many seconds without a call.
const TIME_LIMIT_S: u64 = 10;
/// Words of checksummed memory the checker owns.
const CHECK_WORDS: usize = 512;

#[repr(C, align(16))]
struct Stack([u8; STACK]);

#[repr(C, align(4096))]
struct IpcPage(IpcBuffer);

static mut FUZZ_STACK: Stack = Stack([0; STACK]);
static mut CHECK_STACK: Stack = Stack([0; STACK]);
static mut FUZZ_IPC: IpcPage = IpcPage(IpcBuffer {
    tag: MessageInfo(0),
    msg: [0; sel4_sys::message::MSG_MAX_LENGTH],
    user_data: 0,
    caps_or_badges: [0; sel4_sys::message::MSG_MAX_EXTRA_CAPS],
    receive_cnode: 0,
    receive_index: 0,
    receive_depth: 0,
});
static mut CHECK_MEM: [u64; CHECK_WORDS] = [0; CHECK_WORDS];

/// The fuzzer's parameters and progress: the next call's number, the total.
static SEED: AtomicU64 = AtomicU64::new(DEFAULT_SEED);
static NEXT: AtomicU64 = AtomicU64::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(DEFAULT_CALLS);
/// The checker's cptrs (in the root CSpace) and results.
static CHECK_SIGNAL: AtomicU64 = AtomicU64::new(0);
static CHECK_WAIT: AtomicU64 = AtomicU64::new(0);
static CHECK_SUM: AtomicU64 = AtomicU64::new(0);
static CHECKS_OK: AtomicU64 = AtomicU64::new(0);
static CHECKS_BAD: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicU64 = AtomicU64::new(0);

/// Enters the kernel with any syscall number.
///
/// # Safety
///
/// The kernel may write the calling thread's IPC buffer; nothing may hold a
/// reference into it across the call.
#[inline(always)]
unsafe fn raw_syscall(number: i64, regs: [u64; 6]) -> [u64; 6] {
    let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5] = regs;
    // SAFETY: the kernel changes x0-x7 (declared) and possibly the IPC
    // buffer; the asm is not `nomem`, so memory is assumed to change.
    unsafe {
        core::arch::asm!(
            "svc #0",
            inout("x0") x0,
            inout("x1") x1,
            inout("x2") x2,
            inout("x3") x3,
            inout("x4") x4,
            inout("x5") x5,
            lateout("x6") _,
            inout("x7") number => _,
            options(nostack),
        );
    }
    [x0, x1, x2, x3, x4, x5]
}

fn yield_now() {
    // SAFETY: Yield transfers nothing.
    unsafe { raw_syscall(Syscall::Yield as i64, [0; 6]) };
}

/// The virtual counter and its frequency.
fn now() -> u64 {
    let t: u64;
    // SAFETY: reads a counter EL0 may read.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) t, options(nomem, nostack)) };
    t
}

fn frequency() -> u64 {
    let f: u64;
    // SAFETY: as for `now`.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) f, options(nomem, nostack)) };
    f.max(1)
}

/// splitmix64 of `seed` and `n`, then xorshift64 steps.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, n: u64) -> Rng {
        let mut z = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Mostly a slot of the fuzzer's CNode, sometimes anything.
    fn cptr(&mut self) -> u64 {
        match self.below(10) {
            0 => self.next(),
            1 => self.below(FUZZ_SLOTS) | (1 << self.below(64)),
            _ => self.below(FUZZ_SLOTS),
        }
    }

    /// A message word: small numbers, cptrs, depths, sizes, addresses or
    /// anything.
    fn word(&mut self) -> u64 {
        match self.below(8) {
            0 => self.next(),
            1 => [0, 1, 6, 12, 21, 32, 58, 63, 64, 65][self.below(10) as usize],
            2 => self.below(12),
            3 => self.below(1 << 39) & !0xfff,
            4 => u64::MAX - self.below(4),
            _ => self.cptr(),
        }
    }
}

/// One syscall of the sequence: what goes into registers and IPC buffer.
struct Call {
    number: i64,
    cptr: u64,
    info: u64,
    len: usize,
    msg: [u64; sel4_sys::message::MSG_MAX_LENGTH],
    caps: [u64; sel4_sys::message::MSG_MAX_EXTRA_CAPS],
    /// Receive CNode, index and depth, when set by this call.
    recv: Option<(u64, u64, u64)>,
}

/// Call `n` of the sequence for `seed`.
fn plan(seed: u64, n: u64) -> Call {
    let mut r = Rng::new(seed, n);
    let number: i64 = match r.below(20) {
        // Invalid numbers and the null syscall (the debug syscalls -9 to
        // -11 are left out: they print or stop the machine).
        0 => [0, 1, 2, -12, -13, -100, i64::MIN, i64::MAX][r.below(8) as usize],
        1 => {
            let w = r.next() as i64;
            if (-11..=-9).contains(&w) { -13 } else { w }
        }
        _ => -1 - r.below(8) as i64,
    };
    let len = if r.below(8) == 0 { r.below(128) } else { r.below(8) };
    let info = if r.below(16) == 0 {
        r.next()
    } else {
        let label = if r.below(8) == 0 { r.next() } else { r.below(56) };
        MessageInfo::new(label, r.below(8), r.below(4), len).0
    };
    let len = (len as usize).min(sel4_sys::message::MSG_MAX_LENGTH);
    let mut msg = [0u64; sel4_sys::message::MSG_MAX_LENGTH];
    for m in msg.iter_mut().take(len) {
        *m = r.word();
    }
    let caps = core::array::from_fn(|_| r.cptr());
    let recv = if r.below(4) == 0 { Some((r.cptr(), r.cptr(), r.word())) } else { None };
    let cptr = r.cptr();
    Call { number, cptr, info, len, msg, caps, recv }
}

/// Makes call `n` of the sequence for `seed`.
fn fuzz_one(seed: u64, n: u64) {
    let c = plan(seed, n);
    // `IpcPage` is `repr(C)` with the buffer its only field.
    let buf = addr_of_mut!(FUZZ_IPC) as *mut IpcBuffer;
    // SAFETY: the fuzzer's own IPC buffer, only ever accessed through raw
    // pointers here and by the kernel.
    unsafe {
        for (i, w) in c.msg.iter().enumerate().take(c.len) {
            write_volatile(addr_of_mut!((*buf).msg[i]), *w);
        }
        for (i, w) in c.caps.iter().enumerate() {
            write_volatile(addr_of_mut!((*buf).caps_or_badges[i]), *w);
        }
        if let Some((cn, i, d)) = c.recv {
            write_volatile(addr_of_mut!((*buf).receive_cnode), cn);
            write_volatile(addr_of_mut!((*buf).receive_index), i);
            write_volatile(addr_of_mut!((*buf).receive_depth), d);
        }
    }
    let m = &c.msg;
    // SAFETY: the kernel writes only this thread's IPC buffer, to which no
    // reference exists.
    unsafe { raw_syscall(c.number, [c.cptr, c.info, m[0], m[1], m[2], m[3]]) };
}

/// Prints call `n` of the sequence for `seed`.
fn describe(seed: u64, n: u64) {
    let c = plan(seed, n);
    let i = MessageInfo(c.info);
    println!(
        "  call {n}: syscall {} cptr {:#x} info {:#x} (label {} len {} extra {}) mrs {:x?} \
         caps {:x?} recv {:x?}",
        c.number,
        c.cptr,
        c.info,
        i.label(),
        i.length(),
        i.extra_caps(),
        &c.msg[..c.len.min(8)],
        c.caps,
        c.recv
    );
}

/// The fuzzer: makes calls until the total is reached, continuing after
/// each restart where it stopped.
extern "C" fn fuzz_main() -> ! {
    let seed = SEED.load(Ordering::SeqCst);
    let total = TOTAL.load(Ordering::SeqCst);
    loop {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        if n >= total {
            NEXT.store(total, Ordering::SeqCst);
            loop {
                yield_now();
            }
        }
        fuzz_one(seed, n);
    }
}

fn checksum() -> u64 {
    let mut sum = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..CHECK_WORDS {
        // SAFETY: only the checker writes (once, before it starts) this
        // memory; reading it volatile keeps each check a real read.
        let w = unsafe { core::ptr::read_volatile((addr_of!(CHECK_MEM) as *const u64).add(i)) };
        sum = (sum ^ w).wrapping_mul(0x0100_0000_01b3);
    }
    sum
}

/// The checker: verifies its memory's checksum and that its notification
/// still works (a signal through its badged cap arrives), then yields.
extern "C" fn check_main() -> ! {
    let signal = CHECK_SIGNAL.load(Ordering::SeqCst);
    let wait = CHECK_WAIT.load(Ordering::SeqCst);
    let want = CHECK_SUM.load(Ordering::SeqCst);
    while STOP.load(Ordering::SeqCst) == 0 {
        // SAFETY: Send and NBRecv on notifications transfer no message.
        let bits = unsafe {
            raw_syscall(Syscall::Send as i64, [signal, 0, 0, 0, 0, 0]);
            raw_syscall(Syscall::NBRecv as i64, [wait, 0, 0, 0, 0, 0])[0]
        };
        let ok = checksum() == want && bits & CHECKER_BIT != 0;
        if ok { &CHECKS_OK } else { &CHECKS_BAD }.fetch_add(1, Ordering::SeqCst);
        yield_now();
    }
    loop {
        yield_now();
    }
}

/// The root task's slot allocator over its empty slots.
struct Slots {
    next: usize,
}

impl Slots {
    fn take(&mut self, n: usize) -> usize {
        let s = self.next;
        self.next += n;
        s
    }
}

/// `CALLS` and `SEED` from the root task's command line, if given.
fn parse_cmdline(bootinfo: &sel4::BootInfo) {
    const ROOTTASK: u32 = 1 << 1;
    let Some(m) = bootinfo.modules().find(|m| m.flags() & ROOTTASK != 0) else {
        return;
    };
    let mut nums = m.cmdline().split_whitespace().filter_map(|w| {
        w.strip_prefix("0x")
            .map_or_else(|| w.parse::<u64>().ok(), |h| u64::from_str_radix(h, 16).ok())
    });
    if let Some(n) = nums.next() {
        TOTAL.store(n, Ordering::SeqCst);
    }
    if let Some(s) = nums.next() {
        SEED.store(s, Ordering::SeqCst);
    }
}

/// The image frame (as a 4 KiB frame cap) backing the root task's address
/// `vaddr`: the kernel maps the image physically contiguous from
/// `__sel4_runtime_image_start`.
fn image_frame_of(bootinfo: &sel4::BootInfo, vaddr: u64) -> cap::Granule {
    unsafe extern "C" {
        static __sel4_runtime_image_start: u8;
    }
    let start = (&raw const __sel4_runtime_image_start) as u64;
    let mut base = None;
    let mut found = None;
    for s in bootinfo.user_image_frames().iter() {
        let p = s.cap().frame_get_address().expect("frame address") as u64;
        let b = *base.get_or_insert(p);
        if start + (p - b) <= vaddr {
            found = Some(s.cap());
        }
    }
    found.expect("no image frame for the IPC buffer")
}

fn main(bootinfo: &sel4::BootInfo) {
    parse_cmdline(bootinfo);
    let (seed, total) = (SEED.load(Ordering::SeqCst), TOTAL.load(Ordering::SeqCst));
    println!("sysfuzz: {total} calls, seed {seed:#x}");
    let cnode = slot::CNODE.cap();
    let root = cnode.absolute_cptr_for_self();
    let at = |s: usize| cnode.absolute_cptr_from_bits_with_depth(s as u64, 64);
    let mut slots = Slots { next: bootinfo.empty().range().start };
    let Some(ut) = bootinfo
        .untyped()
        .iter()
        .zip(bootinfo.untyped_list())
        .find(|(_, d)| !d.is_device() && d.size_bits() >= 20)
        .map(|(s, _)| s.cap())
    else {
        println!("sysfuzz: no untyped of 1 MiB; 0 passed, 2 failed");
        sel4::debug_halt()
    };
    let retype = |bp: ObjectBlueprint, dst: usize, n: usize| {
        ut.untyped_retype(&bp, &root, dst, n).expect("retype");
    };

    // The objects: the root task keeps the originals.
    let fault_ep = slots.take(1);
    retype(ObjectBlueprint::Endpoint, fault_ep, 1);
    let tcbs = slots.take(3);
    retype(ObjectBlueprint::Tcb, tcbs, 3);
    let (fuzz_tcb, check_tcb, victim_tcb) = (tcbs, tcbs + 1, tcbs + 2);
    let fuzz_cnode = slots.take(1);
    retype(ObjectBlueprint::CNode { size_bits: FUZZ_CNODE_BITS }, fuzz_cnode, 1);
    let ntfn = slots.take(1);
    retype(ObjectBlueprint::Notification, ntfn, 1);
    let eps = slots.take(3);
    retype(ObjectBlueprint::Endpoint, eps, 3);
    let ntfns = slots.take(2);
    retype(ObjectBlueprint::Notification, ntfns, 2);
    let small_ut = slots.take(1);
    retype(ObjectBlueprint::Untyped { size_bits: 16 }, small_ut, 1);
    let frames = slots.take(3);
    retype(ObjectBlueprint::SmallPage, frames, 3);
    let pts = slots.take(2);
    retype(ObjectBlueprint::PageTable, pts, 2);

    // The checker's caps: a badged signal cap; the original to poll.
    let check_signal = slots.take(1);
    at(check_signal).mint(&at(ntfn), CapRights::write_only(), CHECKER_BIT).expect("mint");
    CHECK_SIGNAL.store(check_signal as u64, Ordering::SeqCst);
    CHECK_WAIT.store(ntfn as u64, Ordering::SeqCst);
    for i in 0..CHECK_WORDS {
        let w = Rng::new(seed, i as u64).next();
        // SAFETY: no thread but the root task runs yet.
        unsafe { write_volatile((addr_of_mut!(CHECK_MEM) as *mut u64).add(i), w) };
    }
    CHECK_SUM.store(checksum(), Ordering::SeqCst);

    // The fuzzer's CSpace: (slot, source, rights, badge); the rest empty.
    let fault_rights = CapRights::new(true, true, false, true);
    let mut gifts: [(u64, usize, CapRights, u64); 15] = [
        (1, fuzz_cnode, CapRights::all(), 0),
        (FUZZ_FAULT_SLOT, fault_ep, fault_rights, FAULT_BADGE),
        (0, eps, CapRights::all(), 0),
        (0, eps + 1, CapRights::all(), 5),
        (0, eps + 2, CapRights::read_only(), 0),
        (0, ntfns, CapRights::all(), 0),
        (0, ntfns + 1, CapRights::all(), 3),
        (0, small_ut, CapRights::all(), 0),
        (0, frames, CapRights::all(), 0),
        (0, frames + 1, CapRights::read_only(), 0),
        (0, frames + 2, CapRights::all(), 0),
        (0, pts, CapRights::all(), 0),
        (0, pts + 1, CapRights::all(), 0),
        (0, victim_tcb, CapRights::all(), 0),
        (0, ntfn, CapRights::write_only(), FUZZER_BIT),
    ];
    // Places the rest at distinct random slots from 3 up.
    let mut used = 0b111u64;
    let mut r = Rng::new(seed, u64::MAX);
    for g in gifts.iter_mut().skip(2) {
        let mut s = 3 + r.below(FUZZ_SLOTS - 3);
        while used & (1 << s) != 0 {
            s = 3 + r.below(FUZZ_SLOTS - 3);
        }
        used |= 1 << s;
        g.0 = s;
    }
    let fuzz_cn: cap::CNode = sel4::CPtr::from_bits(fuzz_cnode as u64).cast();
    let refill = || {
        for &(dst, src, rights, badge) in &gifts {
            let d = fuzz_cn.absolute_cptr_from_bits_with_depth(dst, FUZZ_CNODE_BITS);
            // An occupied slot refuses the copy; that is fine.
            let _ =
                if badge != 0 { d.mint(&at(src), rights, badge) } else { d.copy(&at(src), rights) };
        }
    };
    refill();

    // The threads, all at one priority with the root task, which from now
    // on only polls and yields.
    let ipc_addr = addr_of!(FUZZ_IPC) as u64;
    let ipc_frame = image_frame_of(bootinfo, ipc_addr);
    let fuzz: cap::Tcb = sel4::CPtr::from_bits(fuzz_tcb as u64).cast();
    fuzz.tcb_configure(
        sel4::CPtr::from_bits(FUZZ_FAULT_SLOT),
        fuzz_cn,
        CNodeCapData::skip(64 - FUZZ_CNODE_BITS),
        slot::VSPACE.cap(),
        ipc_addr,
        ipc_frame,
    )
    .expect("configure the fuzzer");
    let check: cap::Tcb = sel4::CPtr::from_bits(check_tcb as u64).cast();
    check
        .tcb_configure(
            sel4::CPtr::from_bits(0),
            cnode,
            CNodeCapData::skip(64 - bootinfo.init_thread_cnode_size_bits()),
            slot::VSPACE.cap(),
            0,
            sel4::CPtr::from_bits(0).cast(),
        )
        .expect("configure the checker");
    for t in [fuzz, check] {
        t.tcb_set_priority(slot::TCB.cap(), PRIO).expect("priority");
    }
    slot::TCB.cap().tcb_set_priority(slot::TCB.cap(), PRIO).expect("own priority");
    let start = |t: cap::Tcb, f: extern "C" fn() -> !, stack: u64| {
        let mut regs = UserContext::default();
        *regs.pc_mut() = f as *const () as u64;
        *regs.sp_mut() = stack + STACK as u64;
        t.tcb_write_all_registers(true, &regs).expect("start a thread");
    };
    let fuzz_stack = addr_of!(FUZZ_STACK) as u64;
    start(check, check_main, addr_of!(CHECK_STACK) as u64);
    start(fuzz, fuzz_main, fuzz_stack);

    let t0 = now();
    let limit = frequency() * TIME_LIMIT_S;
    let mut moved = t0;
    let ep: cap::Endpoint = sel4::CPtr::from_bits(fault_ep as u64).cast();
    let (mut faults, mut stalls, mut restarts) = (0u64, 0u64, 0u64);
    let (mut last, mut idle) = (u64::MAX, 0u32);
    let mut hung = false;
    loop {
        let (_, badge) = ep.nb_recv(());
        let progress = NEXT.load(Ordering::SeqCst);
        if progress >= total {
            break;
        }
        if progress != last {
            idle = 0;
            moved = now();
        }
        let mut restart = false;
        if badge != 0 {
            faults += 1;
            restart = true;
        } else if progress == last {
            idle += 1;
            if idle >= STALL_ROUNDS {
                stalls += 1;
                restart = true;
            }
        }
        last = progress;
        if restart {
            idle = 0;
            restarts += 1;
            if restarts.is_multiple_of(REFILL_EVERY) {
                refill();
            }
            // A register write with resume restarts the fuzzer wherever it
            // waits, cancelling any IPC it is blocked in (as seL4's).
            start(fuzz, fuzz_main, fuzz_stack);
        }
        if now() - moved > limit {
            hung = true;
            break;
        }
        yield_now();
    }
    let _ = fuzz.tcb_suspend();
    STOP.store(1, Ordering::SeqCst);
    let ms = (now() - t0) * 1000 / frequency();
    let made = NEXT.load(Ordering::SeqCst).min(total);
    let mut passed = 0;
    if hung {
        println!(
            "SYSFUZZ0001 kernel survived {total} random syscalls ... FAILED: stuck after {made} \
             for {TIME_LIMIT_S} s ({faults} faults, {stalls} stalls; seed {seed:#x}, last call {})",
            made.saturating_sub(1)
        );
        for n in made.saturating_sub(4)..made {
            describe(seed, n);
        }
    } else {
        println!(
            "SYSFUZZ0001 kernel survived {made} random syscalls ({faults} faults, {stalls} \
             stalls restarted, {ms} ms, seed {seed:#x}) ... ok"
        );
        passed += 1;
    }
    // Let the checker finish a last round (within a second).
    let before = CHECKS_OK.load(Ordering::SeqCst) + CHECKS_BAD.load(Ordering::SeqCst);
    let t1 = now();
    while CHECKS_OK.load(Ordering::SeqCst) + CHECKS_BAD.load(Ordering::SeqCst) < before + 2
        && now() - t1 < frequency()
    {
        yield_now();
    }
    let _ = check.tcb_suspend();
    let (ok, bad) = (CHECKS_OK.load(Ordering::SeqCst), CHECKS_BAD.load(Ordering::SeqCst));
    if bad == 0 && ok > 0 {
        println!("SYSFUZZ0002 checker's memory and caps intact ({ok} checks) ... ok");
        passed += 1;
    } else {
        println!(
            "SYSFUZZ0002 checker's memory and caps intact ... FAILED: {bad} of {} checks failed",
            ok + bad
        );
    }
    println!("{} passed, {} failed", passed, 2 - passed);
}

sel4_runtime::declare_root_task!(main);

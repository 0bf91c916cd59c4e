//! The threads that serve the vbusses. Each vbus is its own channel (one
//! endpoint per bus, as `start_io` makes them), and an seL4 thread waits on
//! one endpoint at a time, so io runs one thread per vbus: the first
//! thread serves the first bus, a thread it starts serves each other.
//!
//! The threads share io's state behind one lock, a notification that holds
//! one signal while the lock is free: a thread waiting for it blocks
//! rather than spins, so a lower-priority holder always gets to finish.
//! Each thread has its own IPC buffer (a frame mapped at [`IPC_BASE`]),
//! stack, receive and scratch slots, and its own IPC-buffer slot in the
//! sel4 crate ([`sel4::ThreadSlot`], named by its TPIDR_EL0).
//!
//! A thread's priority is the highest io's own TCB lets it set: the
//! kernel allows up to the TCB's maximum controlled priority.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

use alloc::format;
use alloc::string::String;

use program_env::slot;
use sel4::{CNodeCapData, CPtr, CapRights, Error, ObjectBlueprint, UserContext, VmAttributes, cap};

use crate::bus::{BusServer, Io};
use crate::caps::{at, cap_at, own_cnode};

/// Most vbusses io serves.
pub const MAX_BUSES: usize = 16;
/// Where the other threads' IPC buffers are mapped, one page per bus.
pub const IPC_BASE: u64 = 0x2000_0000;
const STACK: usize = 32 << 10;

/// io's state and the notification guarding it.
struct BigLock {
    ntfn: AtomicU64,
    io: UnsafeCell<Option<Io>>,
}

// SAFETY: `io` is only reached through `with`, between a wait for the
// lock's single signal and the signal that gives it back, so one thread at
// a time; `init` runs before a second thread exists.
unsafe impl Sync for BigLock {}

static LOCK: BigLock = BigLock { ntfn: AtomicU64::new(0), io: UnsafeCell::new(None) };

/// Each bus's endpoint, receive slot and scratch slot.
static BUS_SLOTS: [[AtomicU64; 3]; MAX_BUSES] =
    [const { [const { AtomicU64::new(0) }; 3] }; MAX_BUSES];

/// The other threads' IPC-buffer slots.
static THREAD_SLOTS: [sel4::ThreadSlot; MAX_BUSES] = [const { sel4::ThreadSlot::new() }; MAX_BUSES];

#[repr(C, align(16))]
struct Stack([u8; STACK]);

/// The other threads' stacks: bus `b`'s is `STACKS[b - 1]` (bus 0 runs on
/// the program's own).
static mut STACKS: [Stack; MAX_BUSES - 1] = [const { Stack([0; STACK]) }; MAX_BUSES - 1];

/// Hands `io` to the lock, whose notification is made in slot `ntfn`
/// from `io.mem`. Runs before any other thread exists.
pub fn init(io: Io, ntfn: u64) -> Result<(), String> {
    let me = own_cnode().absolute_cptr_for_self();
    io.mem
        .untyped_retype(&ObjectBlueprint::Notification, &me, ntfn as usize, 1)
        .map_err(|e| format!("making the lock's notification: {e:?} (io's `mem` is used up)"))?;
    // SAFETY: no other thread runs yet, so nothing else touches `io`.
    unsafe { *LOCK.io.get() = Some(io) };
    LOCK.ntfn.store(ntfn, Ordering::Release);
    cap_at::<sel4::cap_type::Notification>(ntfn).signal();
    Ok(())
}

/// Runs `f` on io's state, holding the lock.
pub fn with<R>(f: impl FnOnce(&mut Io) -> R) -> R {
    let n: cap::Notification = cap_at(LOCK.ntfn.load(Ordering::Acquire));
    n.wait();
    // SAFETY: the wait took the lock's one signal; until it is given back
    // below no other thread passes its wait, so this borrow is the only one.
    let io = unsafe { (*LOCK.io.get()).as_mut() };
    let r = f(io.expect("io's state is set before any thread serves"));
    n.signal();
    r
}

/// Records bus `bus`'s endpoint, receive and scratch slots.
pub fn set_bus(bus: usize, ep: u64, recv: u64, scratch: u64) {
    for (a, v) in BUS_SLOTS[bus].iter().zip([ep, recv, scratch]) {
        a.store(v, Ordering::Release);
    }
}

/// Serves bus `bus` for good.
pub fn serve(bus: usize) -> ! {
    let [ep, recv, scratch] = BUS_SLOTS[bus].each_ref().map(|a| a.load(Ordering::Acquire));
    let ep: cap::Endpoint = cap_at(ep);
    sel4::with_ipc_buffer_mut(|b| b.set_recv_slot(&at(recv)));
    let (mut info, _) = ep.recv(());
    loop {
        let reply = with(|io| {
            let mut s = BusServer { io, bus, recv, scratch };
            vbus_api::server::serve(&mut s, &info)
        });
        (info, _) = ep.reply_recv(reply, ());
    }
}

extern "C" fn thread_main(bus: u64, ipc_buffer: u64) -> ! {
    // SAFETY: `start` mapped this thread's IPC buffer at `ipc_buffer` for
    // good and gave it to no one else; this thread's TPIDR_EL0 names its
    // own ThreadSlot, so this sets no other thread's buffer.
    sel4::set_ipc_buffer(unsafe { &mut *(ipc_buffer as *mut sel4::IpcBuffer) });
    serve(bus as usize)
}

/// Starts the thread of bus `bus` (not 0), its objects made from io's
/// `mem`.
pub fn start(io: &mut Io, bus: usize) -> Result<(), String> {
    let fail = |what: &str, e: Error| format!("starting the thread of vbus {bus}: {what}: {e:?}");
    let me = own_cnode().absolute_cptr_for_self();
    let make = |io: &mut Io, bp: ObjectBlueprint| -> Result<u64, String> {
        let s = io.slots.take()?;
        io.mem.untyped_retype(&bp, &me, s as usize, 1).map_err(|e| {
            io.slots.give_back(s);
            fail("io's `mem` is used up", e)
        })?;
        Ok(s)
    };
    let tcb_s = make(io, ObjectBlueprint::Tcb)?;
    let frame_s = make(io, ObjectBlueprint::SmallPage)?;
    let vaddr = IPC_BASE + bus as u64 * program_env::PAGE;
    let vspace: cap::VSpace = cap_at(slot::VSPACE);
    let frame: cap::Granule = cap_at(frame_s);
    let attrs = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
    let mut tables = 0;
    loop {
        match frame.frame_map(vspace, vaddr as usize, CapRights::read_write(), attrs) {
            Ok(()) => break,
            Err(Error::FailedLookup) if tables < 3 => {
                let pt = make(io, ObjectBlueprint::PageTable)?;
                let pt: cap::PageTable = cap_at(pt);
                pt.page_table_map(vspace, vaddr as usize, VmAttributes::DEFAULT)
                    .map_err(|e| fail("mapping a page table", e))?;
                tables += 1;
            }
            Err(e) => return Err(fail("mapping its IPC buffer", e)),
        }
    }
    let tcb: cap::Tcb = cap_at(tcb_s);
    tcb.tcb_configure(
        CPtr::from_bits(slot::FAULT),
        own_cnode(),
        CNodeCapData::skip(64 - program_env::CNODE_BITS),
        vspace,
        vaddr,
        frame,
    )
    .map_err(|e| fail("configuring its TCB", e))?;
    // The highest priority io's TCB may give it.
    let own: cap::Tcb = cap_at(slot::TCB);
    let (mut lo, mut hi) = (0u64, 254u64);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if tcb.tcb_set_priority(own, mid).is_ok() { lo = mid } else { hi = mid - 1 }
    }
    let _ = tcb.tcb_set_priority(own, lo);
    // SAFETY: each bus's stack is used by that bus's thread alone; only
    // its address is taken here.
    let top = unsafe { &raw const STACKS[bus - 1] } as u64 + STACK as u64;
    let mut regs = UserContext::default();
    *regs.pc_mut() = thread_main as *const () as u64;
    *regs.sp_mut() = top;
    *regs.gpr_mut(0) = bus as u64;
    *regs.gpr_mut(1) = vaddr;
    *regs.tpidr_el0_mut() = THREAD_SLOTS[bus].thread_pointer();
    tcb.tcb_write_all_registers(true, &regs).map_err(|e| fail("starting it", e))
}

//! The guest console's input: a thread that waits for typed bytes on the
//! vmm's log channel (cons's READ) and hands them to the main thread
//! through a small queue and a signal on its notification.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use alloc::format;
use alloc::string::String;

use program_env::slot;
use sel4::{CNodeCapData, CPtr, CapRights, ObjectBlueprint, UserContext, VmAttributes, cap};

use crate::space::{Space, cap_at, own_cnode};

/// Where the input thread's IPC buffer is mapped.
const IPC_VADDR: u64 = 0x1f00_0000;
const STACK: usize = 16 << 10;
const QUEUE: usize = 4096;

#[repr(C, align(16))]
struct Stack([u8; STACK]);
static mut STACK_MEM: Stack = Stack([0; STACK]);
static SLOT: sel4::ThreadSlot = sel4::ThreadSlot::new();

/// A single-producer, single-consumer byte ring.
struct Ring {
    buf: UnsafeCell<[u8; QUEUE]>,
    head: AtomicUsize,
    tail: AtomicUsize,
}

// SAFETY: the input thread only writes at `tail` and advances it; the main
// thread only reads at `head` and advances it; the atomics order the bytes.
unsafe impl Sync for Ring {}

static RING: Ring =
    Ring { buf: UnsafeCell::new([0; QUEUE]), head: AtomicUsize::new(0), tail: AtomicUsize::new(0) };
static NTFN: AtomicU64 = AtomicU64::new(0);

/// Takes the bytes typed so far.
pub fn take(out: &mut alloc::vec::Vec<u8>) {
    let (h, t) = (RING.head.load(Ordering::Relaxed), RING.tail.load(Ordering::Acquire));
    let mut i = h;
    while i != t {
        // SAFETY: bytes between head and tail are written and not changed
        // until head passes them.
        out.push(unsafe { (*RING.buf.get())[i % QUEUE] });
        i = i.wrapping_add(1);
    }
    RING.head.store(t, Ordering::Release);
}

fn put(bytes: &[u8]) {
    for &b in bytes {
        let t = RING.tail.load(Ordering::Relaxed);
        if t.wrapping_sub(RING.head.load(Ordering::Acquire)) >= QUEUE {
            break; // full: the guest is not reading; drop the rest
        }
        // SAFETY: the slot at tail is not between head and tail, so the
        // reader does not look at it.
        unsafe { (*RING.buf.get())[t % QUEUE] = b };
        RING.tail.store(t.wrapping_add(1), Ordering::Release);
    }
}

extern "C" fn thread_main(ipc: u64) -> ! {
    // SAFETY: `start` mapped this thread's IPC buffer at `ipc` for it
    // alone; its TPIDR_EL0 names its own slot.
    sel4::set_ipc_buffer(unsafe { &mut *(ipc as *mut sel4::IpcBuffer) });
    let n: cap::Notification = cap_at(NTFN.load(Ordering::Acquire));
    let mut buf = [0u8; 64];
    loop {
        match sel4_runtime::read_input(&mut buf) {
            Some(k) if k > 0 => {
                put(&buf[..k]);
                n.signal();
            }
            Some(_) => {}
            // No console to read from: nothing will ever come.
            None => loop {
                let _ = cap::Notification::from_bits(0).wait();
            },
        }
    }
}

/// Starts the input thread at `prio`; it signals `ntfn` (a badged copy)
/// when bytes arrive.
pub fn start(sp: &mut Space, ntfn: u64, prio: u64) -> Result<(), String> {
    NTFN.store(ntfn, Ordering::Release);
    let fail = |what: &str, e: sel4::Error| format!("starting the input thread: {what}: {e:?}");
    let tcb: cap::Tcb = cap_at(sp.make(ObjectBlueprint::Tcb)?);
    let frame: cap::Granule = cap_at(sp.make(ObjectBlueprint::SmallPage)?);
    let vspace: cap::VSpace = cap_at(slot::VSPACE);
    let attrs = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
    sp.map(vspace, frame, IPC_VADDR, CapRights::read_write(), attrs)?;
    tcb.tcb_configure(
        CPtr::from_bits(slot::FAULT),
        own_cnode(),
        CNodeCapData::skip(64 - program_env::CNODE_BITS),
        vspace,
        IPC_VADDR,
        frame,
    )
    .map_err(|e| fail("configuring its TCB", e))?;
    let own: cap::Tcb = cap_at(slot::TCB);
    tcb.tcb_set_priority(own, prio).map_err(|e| fail("its priority", e))?;
    // SAFETY: the stack is this thread's alone; only its address is taken.
    let top = &raw const STACK_MEM as u64 + STACK as u64;
    let mut regs = UserContext::default();
    *regs.pc_mut() = thread_main as *const () as u64;
    *regs.sp_mut() = top;
    *regs.gpr_mut(0) = IPC_VADDR;
    *regs.tpidr_el0_mut() = SLOT.thread_pointer();
    tcb.tcb_write_all_registers(true, &regs).map_err(|e| fail("starting it", e))
}

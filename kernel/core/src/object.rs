//! Kernel objects other than TCBs and CNodes, and the creation of every
//! object type out of untyped memory (seL4's `createObject`).
//!
//! An endpoint is 16 bytes: its queue of waiting threads, all senders or all
//! receivers, with the state in the low bits of the tail word (TCB
//! addresses are 64-byte aligned). A notification is 32 bytes: bound
//! thread, pending badge bits, queue of waiters and state.

use crate::cap::{Cap, VmRights};
use crate::tcb::{TCB_OFFSET, Tcb, TcbQueue, TcbRef};
use crate::{Arch, Kernel, sched::TIME_SLICE_TICKS};
use sel4_sys::object::{ENDPOINT_BITS, NOTIFICATION_BITS, ObjectType, SLOT_BITS};
use sel4_sys::{CapRights, object};

/// An endpoint's state (seL4's `EPState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpState {
    Idle = 0,
    Send = 1,
    Recv = 2,
}

/// An endpoint object.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    head: u64,
    tail_state: u64,
}

const _: () = assert!(core::mem::size_of::<Endpoint>() == 1 << ENDPOINT_BITS);

impl Endpoint {
    pub(crate) fn state(&self) -> EpState {
        match self.tail_state & 3 {
            1 => EpState::Send,
            2 => EpState::Recv,
            _ => EpState::Idle,
        }
    }

    pub(crate) fn set_state(&mut self, s: EpState) {
        self.tail_state = (self.tail_state & !3) | s as u64;
    }

    pub(crate) fn queue(&self) -> TcbQueue {
        TcbQueue { head: self.head, tail: self.tail_state & !3 }
    }

    pub(crate) fn set_queue(&mut self, q: TcbQueue) {
        self.head = q.head;
        self.tail_state = q.tail | (self.tail_state & 3);
    }
}

/// A notification's state (seL4's `NtfnState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NtfnState {
    Idle = 0,
    Waiting = 1,
    Active = 2,
}

/// A notification object.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notification {
    /// The thread bound to it (0: none).
    pub(crate) bound_tcb: u64,
    /// The badge bits signalled and not yet received.
    pub(crate) msg_identifier: u64,
    head: u64,
    tail_state: u64,
}

const _: () = assert!(core::mem::size_of::<Notification>() == 1 << NOTIFICATION_BITS);

impl Notification {
    pub(crate) fn state(&self) -> NtfnState {
        match self.tail_state & 3 {
            1 => NtfnState::Waiting,
            2 => NtfnState::Active,
            _ => NtfnState::Idle,
        }
    }

    pub(crate) fn set_state(&mut self, s: NtfnState) {
        self.tail_state = (self.tail_state & !3) | s as u64;
    }

    pub(crate) fn queue(&self) -> TcbQueue {
        TcbQueue { head: self.head, tail: self.tail_state & !3 }
    }

    pub(crate) fn set_queue(&mut self, q: TcbQueue) {
        self.head = q.head;
        self.tail_state = q.tail | (self.tail_state & 3);
    }
}

/// The address of a live endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EpRef(pub(crate) u64);

impl EpRef {
    pub(crate) fn get(self) -> &'static mut Endpoint {
        // SAFETY: made only from an endpoint cap's address or a thread's
        // blocking-object link, which point at a live endpoint (see the
        // crate's memory model); single-threaded, used within a statement.
        unsafe { &mut *(self.0 as *mut Endpoint) }
    }
}

/// The address of a live notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NtfnRef(pub(crate) u64);

impl NtfnRef {
    pub(crate) fn get(self) -> &'static mut Notification {
        // SAFETY: made only from a notification cap's address or a thread's
        // binding or blocking-object link, which point at a live
        // notification; single-threaded, used within a statement.
        unsafe { &mut *(self.0 as *mut Notification) }
    }

    pub(crate) fn link(addr: u64) -> Option<NtfnRef> {
        (addr != 0).then_some(NtfnRef(addr))
    }
}

/// A table of 512 words: a stage-2 translation table or an ASID pool.
pub(crate) type Table = [u64; 512];

/// The address of a live translation table or ASID pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableRef(pub(crate) u64);

impl TableRef {
    pub(crate) fn get(self) -> &'static mut Table {
        // SAFETY: made only from a page table, VSpace or ASID pool cap's
        // address, an ASID table entry, or a table descriptor the kernel
        // wrote, all of which point at a live 4 KiB table.
        unsafe { &mut *(self.0 as *mut Table) }
    }
}

/// Zeroes `len` bytes at `addr`.
pub(crate) fn zero_memory(addr: u64, len: u64) {
    // SAFETY: callers pass memory they own: an object just carved out of
    // untyped memory (no cap names it yet) or a table the kernel is
    // clearing.
    unsafe { core::ptr::write_bytes(addr as *mut u8, 0, len as usize) };
}

impl<A: Arch> Kernel<A> {
    /// Initialises an object of type `t` at `base` (size chosen by
    /// `user_size` for untypeds and CNodes) and returns its cap (seL4's
    /// `createObject`). Everything except device memory and untypeds is
    /// zeroed; a TCB gets its defaults and joins the list of threads.
    pub(crate) fn create_object(
        &mut self,
        t: ObjectType,
        base: u64,
        user_size: u64,
        device: bool,
    ) -> Cap {
        match t {
            ObjectType::Tcb => {
                // Zeroed slots are empty (`Cap::Null` is 0).
                zero_memory(base, 1 << object::TCB_BITS);
                let tcb = base + TCB_OFFSET;
                let name = self.cur.get().name;
                let mut t = Tcb::new(b"", TIME_SLICE_TICKS);
                let n = name.iter().position(|&b| b == 0).unwrap_or(name.len()).min(12);
                t.name[..n].copy_from_slice(&name[..n]);
                t.name[n..n + 2].copy_from_slice(b".t");
                // SAFETY: `base + TCB_OFFSET` is inside the 2 KiB object just
                // zeroed and suitably aligned (checked in tcb.rs).
                unsafe { (tcb as *mut Tcb).write(t) };
                self.debug_link(TcbRef(tcb));
                Cap::Tcb { ptr: tcb }
            }
            ObjectType::Endpoint => {
                zero_memory(base, 1 << ENDPOINT_BITS);
                Cap::Endpoint { ptr: base, badge: 0, rights: CapRights::all() }
            }
            ObjectType::Notification => {
                zero_memory(base, 1 << NOTIFICATION_BITS);
                Cap::Notification { ptr: base, badge: 0, rights: CapRights::read_write() }
            }
            ObjectType::CapTable => {
                // Zeroed slots are empty (`Cap::Null` is 0).
                zero_memory(base, 1 << (user_size + SLOT_BITS as u64));
                Cap::CNode { radix: user_size as u8, guard_size: 0, ptr: base, guard: 0 }
            }
            ObjectType::Untyped => {
                Cap::Untyped { size_bits: user_size as u8, device, base, free_index: 0 }
            }
            ObjectType::SmallPage | ObjectType::LargePage | ObjectType::HugePage => {
                let bits = t.fixed_size_bits().unwrap_or(object::PAGE_BITS) as u64;
                if !device {
                    zero_memory(base, 1 << bits);
                }
                Cap::Frame {
                    size_bits: bits as u8,
                    rights: VmRights::ReadWrite,
                    device,
                    paddr: base,
                    mapped: None,
                }
            }
            ObjectType::VSpace => {
                zero_memory(base, 1 << object::VSPACE_BITS);
                Cap::VSpace { asid: None, ptr: base }
            }
            ObjectType::PageTable => {
                zero_memory(base, 1 << object::PAGE_TABLE_BITS);
                Cap::PageTable { ptr: base, mapped: None }
            }
            ObjectType::Vcpu => {
                zero_memory(base, 1 << object::VCPU_BITS);
                // SAFETY: `base` is fresh, zeroed, suitably aligned memory of
                // the VCPU's size, which no cap names yet.
                unsafe {
                    core::ptr::write(base as *mut crate::vcpu::Vcpu, crate::vcpu::Vcpu::new())
                };
                Cap::Vcpu { ptr: base }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_queue_share_a_word() {
        let mut e = Endpoint::default();
        assert_eq!(e.state(), EpState::Idle);
        e.set_queue(TcbQueue { head: 0x1140, tail: 0x2140 });
        e.set_state(EpState::Recv);
        assert_eq!(e.queue(), TcbQueue { head: 0x1140, tail: 0x2140 });
        assert_eq!(e.state(), EpState::Recv);
        e.set_queue(TcbQueue::default());
        assert_eq!(e.state(), EpState::Recv);
        let mut n = Notification::default();
        n.set_state(NtfnState::Active);
        n.set_queue(TcbQueue { head: 0x40, tail: 0x80 });
        assert_eq!((n.state(), n.queue().tail), (NtfnState::Active, 0x80));
    }
}

//! Message registers and the IPC buffer (seL4's `setMR`, `getSyscallArg`,
//! `lookupIPCBuffer`, `copyMRs`), and the register order of
//! `TCB Read/WriteRegisters`.
//!
//! Message registers 0-3 travel in x2-x5; the rest in the IPC buffer, which
//! the kernel reaches through the frame cap in the thread's buffer slot
//! (identity-mapped physical memory), only when that cap is a non-device
//! frame the thread may write (or, when sending, at least read).

use crate::Kernel;
use crate::arch::Arch;
use crate::cap::{Cap, VmRights, mask};
use crate::tcb::{TCB_BUFFER, TcbRef};
use sel4_sys::context::{USER_CONTEXT_FRAME_WORDS, USER_CONTEXT_WORDS};
use sel4_sys::message::{MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH};
use sel4_sys::syscall::MSG_REGISTERS_IN_CPU;
use sel4_sys::{IpcBuffer, MessageInfo};

/// The register holding the invoked cap / the received badge (x0).
pub(crate) const CAP_REGISTER: usize = 0;
/// The register holding the message info (x1).
pub(crate) const MSG_INFO_REGISTER: usize = 1;
/// The first message register (x2); MRs 0-3 are x2-x5.
pub(crate) const MSG_REGISTER_BASE: usize = 2;
/// Message registers passed in CPU registers.
pub(crate) const N_MSG_REGISTERS: u64 = MSG_REGISTERS_IN_CPU as u64;

/// A message info word as the kernel reads it: the length is at most
/// `MSG_MAX_LENGTH` (seL4's `messageInfoFromWord`).
pub(crate) fn message_info(w: u64) -> MessageInfo {
    let m = MessageInfo(w);
    if m.length() > MSG_MAX_LENGTH as u64 {
        MessageInfo::new(m.label(), m.caps_unwrapped(), m.extra_caps(), MSG_MAX_LENGTH as u64)
    } else {
        m
    }
}

/// The address of a thread's IPC buffer, usable by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BufRef(pub(crate) u64);

impl BufRef {
    fn get(self) -> &'static mut IpcBuffer {
        // SAFETY: made only by `lookup_ipc_buffer` from the frame cap in a
        // thread's buffer slot: a live, non-device frame, with the buffer
        // 1 KiB aligned inside it (checked when the buffer was set), so the
        // whole `IpcBuffer` lies in the frame. User code does not run while
        // the kernel does.
        unsafe { &mut *(self.0 as *mut IpcBuffer) }
    }

    /// Message word `i` (0 when out of range).
    pub(crate) fn msg(self, i: u64) -> u64 {
        self.get().msg.get(i as usize).copied().unwrap_or(0)
    }

    pub(crate) fn set_msg(self, i: u64, v: u64) {
        if let Some(w) = self.get().msg.get_mut(i as usize) {
            *w = v;
        }
    }

    /// Extra cap cptr or received badge `i`.
    pub(crate) fn cap_or_badge(self, i: usize) -> u64 {
        self.get().caps_or_badges.get(i).copied().unwrap_or(0)
    }

    pub(crate) fn set_cap_or_badge(self, i: usize, v: u64) {
        if i < MSG_MAX_EXTRA_CAPS {
            self.get().caps_or_badges[i] = v;
        }
    }

    /// Sets the receive slot (tests act as user threads).
    #[cfg(test)]
    pub(crate) fn set_receive_slot(self, cnode: u64, index: u64, depth: u64) {
        let b = self.get();
        (b.receive_cnode, b.receive_index, b.receive_depth) = (cnode, index, depth);
    }

    /// The receive slot the buffer names: (CNode cptr, index, depth).
    pub(crate) fn receive_slot(self) -> (u64, u64, u64) {
        let b = self.get();
        (b.receive_cnode, b.receive_index, b.receive_depth)
    }
}

impl<A: Arch> Kernel<A> {
    /// `thread`'s IPC buffer, if it has a usable one (seL4's
    /// `lookupIPCBuffer`): receivers need a writable frame.
    pub(crate) fn lookup_ipc_buffer(&self, is_receiver: bool, thread: TcbRef) -> Option<BufRef> {
        let Cap::Frame { size_bits, rights, device: false, paddr, .. } =
            thread.slot(TCB_BUFFER).cap()
        else {
            return None;
        };
        if rights == VmRights::ReadWrite || (!is_receiver && rights == VmRights::ReadOnly) {
            Some(BufRef(paddr + (thread.get().ipc_buffer & mask(size_bits as u64))))
        } else {
            None
        }
    }
}

/// Sets message register `i` of `thread` (register or IPC buffer) and
/// returns the message length so far (seL4's `setMR`): without a buffer,
/// registers past the fourth are dropped and the length stays 4.
pub(crate) fn set_mr(thread: TcbRef, buffer: Option<BufRef>, i: u64, v: u64) -> u64 {
    if i < N_MSG_REGISTERS {
        thread.get().context.regs[MSG_REGISTER_BASE + i as usize] = v;
        i + 1
    } else if let Some(b) = buffer {
        b.set_msg(i, v);
        i + 1
    } else {
        N_MSG_REGISTERS
    }
}

/// Message register `i` of `thread` (seL4's `getSyscallArg`).
pub(crate) fn get_mr(thread: TcbRef, buffer: Option<BufRef>, i: u64) -> u64 {
    if i < N_MSG_REGISTERS {
        thread.get().context.regs[MSG_REGISTER_BASE + i as usize]
    } else {
        buffer.map_or(0, |b| b.msg(i))
    }
}

/// Copies `n` message registers from `sender` to `receiver` and returns how
/// many arrived (seL4's `copyMRs`): past the fourth only if both have
/// buffers.
pub(crate) fn copy_mrs(
    sender: TcbRef,
    send_buf: Option<BufRef>,
    receiver: TcbRef,
    recv_buf: Option<BufRef>,
    n: u64,
) -> u64 {
    let n = n.min(MSG_MAX_LENGTH as u64);
    let mut i = 0;
    while i < n && i < N_MSG_REGISTERS {
        let v = sender.get().context.regs[MSG_REGISTER_BASE + i as usize];
        receiver.get().context.regs[MSG_REGISTER_BASE + i as usize] = v;
        i += 1;
    }
    let (Some(s), Some(r)) = (send_buf, recv_buf) else {
        return i;
    };
    while i < n {
        r.set_msg(i, s.msg(i));
        i += 1;
    }
    i
}

/// Registers in `TCB Read/WriteRegisters` order (see
/// [`sel4_sys::UserContext`]): `Pc` is the restart address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reg {
    Pc,
    Sp,
    Spsr,
    X(u8),
    TpidrEl0,
    TpidrroEl0,
}

/// seL4's aarch64 `frameRegisters` then `gpRegisters`.
pub(crate) const USER_REGS: [Reg; USER_CONTEXT_WORDS] = {
    let mut r = [Reg::Pc; USER_CONTEXT_WORDS];
    r[1] = Reg::Sp;
    r[2] = Reg::Spsr;
    let frame_x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 29, 30];
    let mut i = 0;
    while i < frame_x.len() {
        r[3 + i] = Reg::X(frame_x[i]);
        i += 1;
    }
    let gp_x = [9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
    let mut j = 0;
    while j < gp_x.len() {
        r[USER_CONTEXT_FRAME_WORDS + j] = Reg::X(gp_x[j]);
        j += 1;
    }
    r[USER_CONTEXT_WORDS - 2] = Reg::TpidrEl0;
    r[USER_CONTEXT_WORDS - 1] = Reg::TpidrroEl0;
    r
};

/// The only SPSR bits a thread may set: the condition flags (the rest is
/// EL0t with interrupts enabled).
pub(crate) const SPSR_USER_MASK: u64 = 0xf000_0000;

/// Reads register `r` of `t`.
pub(crate) fn get_reg(t: TcbRef, r: Reg) -> u64 {
    let tcb = t.get();
    match r {
        Reg::Pc => tcb.fault_ip,
        Reg::Sp => tcb.context.sp,
        Reg::Spsr => tcb.context.spsr,
        Reg::X(n) => tcb.context.regs[n as usize],
        Reg::TpidrEl0 => tcb.context.tpidr_el0,
        Reg::TpidrroEl0 => tcb.context.tpidrro_el0,
    }
}

/// Writes register `r` of `t`, sanitising the SPSR (seL4's
/// `sanitiseRegister`). Writing `Pc` sets the restart address; callers then
/// make it the resume address too.
pub(crate) fn set_reg(t: TcbRef, r: Reg, v: u64) {
    let tcb = t.get();
    match r {
        Reg::Pc => tcb.fault_ip = v,
        Reg::Sp => tcb.context.sp = v,
        Reg::Spsr if tcb.vcpu != 0 => tcb.context.spsr = crate::vcpu::sanitise_guest_spsr(v),
        Reg::Spsr => tcb.context.spsr = v & SPSR_USER_MASK,
        Reg::X(n) => tcb.context.regs[n as usize] = v,
        Reg::TpidrEl0 => tcb.context.tpidr_el0 = v,
        Reg::TpidrroEl0 => tcb.context.tpidrro_el0 = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcb::Tcb;
    use sel4_sys::UserContext;

    #[test]
    fn register_order_matches_the_abi() {
        let mut tcb = Tcb::new(b"t", 1);
        let t = TcbRef(&raw mut tcb as u64);
        let words: [u64; USER_CONTEXT_WORDS] = core::array::from_fn(|i| 0x10 * (i as u64 + 1));
        for (i, &r) in USER_REGS.iter().enumerate() {
            set_reg(t, r, words[i]);
        }
        let uc = UserContext::from_words(&words);
        let c = tcb.context;
        assert_eq!(tcb.fault_ip, uc.pc);
        assert_eq!((c.sp, c.spsr), (uc.sp, uc.spsr & SPSR_USER_MASK));
        let xs = [
            uc.x0, uc.x1, uc.x2, uc.x3, uc.x4, uc.x5, uc.x6, uc.x7, uc.x8, uc.x9, uc.x10, uc.x11,
            uc.x12, uc.x13, uc.x14, uc.x15, uc.x16, uc.x17, uc.x18, uc.x19, uc.x20, uc.x21, uc.x22,
            uc.x23, uc.x24, uc.x25, uc.x26, uc.x27, uc.x28, uc.x29, uc.x30,
        ];
        assert_eq!(c.regs, xs);
        assert_eq!((c.tpidr_el0, c.tpidrro_el0), (uc.tpidr_el0, uc.tpidrro_el0));
    }

    #[test]
    fn message_info_length_is_capped() {
        assert_eq!(message_info(MessageInfo::new(1, 0, 0, 127).0).length(), 120);
        assert_eq!(message_info(MessageInfo::new(1, 0, 2, 7).0).extra_caps(), 2);
    }
}

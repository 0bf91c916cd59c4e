//! Faults (seL4's `faulthandler.c` and `faults.c`): what happens when a
//! thread does something the kernel cannot complete for it.
//!
//! The fault is sent as a `Call` to the thread's fault endpoint (a cptr in
//! its own CSpace, looked up when the fault happens; the cap needs Write and
//! Grant or GrantReply). The message label is the fault type and the
//! message layout is [`sel4_sys::fault`]'s. The handler's reply resumes the
//! thread; for unknown syscalls and user exceptions a reply with label 0
//! also writes back the registers it carries, and a non-zero label leaves
//! the thread inactive. Without a usable fault endpoint the thread is made
//! inactive and the kernel prints a diagnostic naming it.

use crate::cap::Cap;
use crate::cspace::lookup_slot;
use crate::error::LookupFault;
use crate::object::EpRef;
use crate::print::{Name, kprint};
use crate::registers::{
    BufRef, CAP_REGISTER, MSG_INFO_REGISTER, MSG_REGISTER_BASE, N_MSG_REGISTERS, Reg, get_mr,
    get_reg, message_info, set_mr, set_reg,
};
use crate::tcb::{TcbRef, ThreadState};
use crate::{Arch, Kernel};
use core::fmt;
use sel4_sys::{FaultLabel, MessageInfo};

/// A fault (seL4's `seL4_Fault_t`, with the lookup failure of a cap fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A cap lookup failed: in a send phase (the invoked cap, an extra cap,
    /// the fault endpoint) or a receive phase.
    Cap { addr: u64, in_receive: bool, lookup: LookupFault },
    /// A system call number the kernel does not know.
    UnknownSyscall { number: u64 },
    /// Any other synchronous exception: `number` is ESR.EC, `code` ESR.ISS.
    UserException { number: u64, code: u64 },
    /// A translation or permission fault on `addr`.
    Vm { addr: u64, fsr: u64, instruction: bool },
    /// The guest completed the IRQ in list register `index` (None: a
    /// maintenance interrupt without one).
    VgicMaintenance { index: Option<u64> },
    /// A guest trap the kernel does not handle: its syndrome (ESR_EL2).
    VcpuFault { hsr: u64 },
    /// A virtual PPI (the virtual timer) fired.
    VppiEvent { irq: u64 },
}

impl Fault {
    /// The fault message's label.
    pub fn label(&self) -> FaultLabel {
        match self {
            Fault::Cap { .. } => FaultLabel::CapFault,
            Fault::UnknownSyscall { .. } => FaultLabel::UnknownSyscall,
            Fault::UserException { .. } => FaultLabel::UserException,
            Fault::Vm { .. } => FaultLabel::VmFault,
            Fault::VgicMaintenance { .. } => FaultLabel::VgicMaintenance,
            Fault::VcpuFault { .. } => FaultLabel::VcpuFault,
            Fault::VppiEvent { .. } => FaultLabel::VppiEvent,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::Cap { addr, in_receive, lookup } => write!(
                f,
                "cap fault in {} phase at address {:#x} ({:?})",
                if in_receive { "receive" } else { "send" },
                addr,
                lookup
            ),
            Fault::UnknownSyscall { number } => write!(f, "unknown syscall {}", number as i64),
            Fault::UserException { number, code } => {
                write!(f, "user exception class {number:#x} syndrome {code:#x}")
            }
            Fault::Vm { addr, fsr, instruction } => write!(
                f,
                "vm fault on {} at address {:#x} with status {:#x}",
                if instruction { "code" } else { "data" },
                addr,
                fsr
            ),
            Fault::VgicMaintenance { index: Some(i) } => {
                write!(f, "VGIC maintenance (list register {i})")
            }
            Fault::VgicMaintenance { index: None } => write!(f, "VGIC maintenance"),
            Fault::VcpuFault { hsr } => {
                write!(f, "VCPU fault class {:#x} syndrome {:#x}", hsr >> 26, hsr & 0x1ff_ffff)
            }
            Fault::VppiEvent { irq } => write!(f, "VPPI event (IRQ {irq})"),
        }
    }
}

/// Registers an unknown-syscall fault message carries (MR0-11) and its
/// reply writes back.
const SYSCALL_MESSAGE: [Reg; 12] = [
    Reg::X(0),
    Reg::X(1),
    Reg::X(2),
    Reg::X(3),
    Reg::X(4),
    Reg::X(5),
    Reg::X(6),
    Reg::X(7),
    Reg::Pc,
    Reg::Sp,
    Reg::X(30),
    Reg::Spsr,
];

/// Registers a user-exception fault message carries (MR0-2) and its reply
/// writes back.
const EXCEPTION_MESSAGE: [Reg; 3] = [Reg::Pc, Reg::Sp, Reg::Spsr];

impl<A: Arch> Kernel<A> {
    /// A VM fault of the current thread: `addr` the faulting address
    /// (IPA), `instruction` for a fetch, `fsr` the syndrome. The context's
    /// `pc` is the faulting instruction.
    pub fn handle_vm_fault(&mut self, addr: u64, instruction: bool, fsr: u64) {
        self.fault_entry(Fault::Vm { addr, fsr, instruction });
    }

    /// Any other exception of the current thread (ESR class and syndrome).
    pub fn handle_user_exception(&mut self, ec: u64, iss: u64) {
        self.fault_entry(Fault::UserException { number: ec, code: iss });
    }

    fn fault_entry(&mut self, fault: Fault) {
        if self.cur != self.idle {
            let t = self.cur.get();
            t.fault_ip = t.context.pc;
            self.handle_fault(self.cur, fault);
        }
        self.schedule();
        self.activate_thread();
    }

    /// Delivers `fault` of `t` to its fault endpoint, or reports it and
    /// stops the thread (seL4's `handleFault`).
    pub(crate) fn handle_fault(&mut self, t: TcbRef, fault: Fault) {
        if let Err(second) = self.send_fault_ipc(t, fault) {
            self.handle_double_fault(t, fault, second);
        }
    }

    /// seL4's `sendFaultIPC`: the error is the fault of the lookup of the
    /// fault endpoint.
    fn send_fault_ipc(&mut self, t: TcbRef, fault: Fault) -> Result<(), Fault> {
        let handler = t.get().fault_handler;
        let slot = lookup_slot(t, handler).map_err(|lookup| Fault::Cap {
            addr: handler,
            in_receive: false,
            lookup,
        })?;
        // Matched in place: a whole-cap copy costs a memcpy.
        match slot.get().cap {
            Cap::Endpoint { ptr, badge, rights }
                if rights.can_write() && (rights.can_grant() || rights.can_grant_reply()) =>
            {
                t.get().fault = Some(fault);
                self.send_ipc(true, true, badge, rights.can_grant(), true, t, EpRef(ptr));
                Ok(())
            }
            _ => Err(Fault::Cap {
                addr: handler,
                in_receive: false,
                lookup: LookupFault::MissingCapability { bits_left: 0 },
            }),
        }
    }

    /// The thread faulted and its fault could not be delivered: report and
    /// stop it (seL4's `handleDoubleFault`).
    fn handle_double_fault(&mut self, t: TcbRef, first: Fault, second: Fault) {
        let (name, pc) = (t.get().name, t.get().fault_ip);
        kprint!(
            self.arch,
            "kernel: thread \"{}\" (tcb {:#x}) at pc {:#x}: {}\nkernel: no fault handler ({}); thread stopped\n",
            Name(&name),
            t.0,
            pc,
            first,
            second
        );
        self.set_thread_state(t, ThreadState::Inactive);
    }

    /// Writes `sender`'s fault message to `receiver` (seL4's
    /// `doFaultTransfer` and `setMRs_fault`).
    pub(crate) fn do_fault_transfer(
        &mut self,
        badge: u64,
        sender: TcbRef,
        receiver: TcbRef,
        buf: Option<BufRef>,
    ) {
        let Some(fault) = sender.get().fault else { return };
        let mut sent = 0;
        let mut put = |i: u64, v: u64| sent = set_mr(receiver, buf, i, v);
        match fault {
            Fault::Cap { addr, in_receive, lookup } => {
                put(0, get_reg(sender, Reg::Pc));
                put(1, addr);
                put(2, in_receive as u64);
                let (w, n) = lookup.words();
                for (i, &v) in w[..n].iter().enumerate() {
                    put(3 + i as u64, v);
                }
            }
            Fault::UnknownSyscall { number } => {
                for (i, &r) in SYSCALL_MESSAGE.iter().enumerate() {
                    put(i as u64, get_reg(sender, r));
                }
                put(SYSCALL_MESSAGE.len() as u64, number);
            }
            Fault::UserException { number, code } => {
                for (i, &r) in EXCEPTION_MESSAGE.iter().enumerate() {
                    put(i as u64, get_reg(sender, r));
                }
                put(3, number);
                put(4, code);
            }
            Fault::Vm { addr, fsr, instruction } => {
                put(0, get_reg(sender, Reg::Pc));
                put(1, addr);
                put(2, instruction as u64);
                put(3, fsr);
            }
            Fault::VgicMaintenance { index } => {
                put(0, index.unwrap_or(sel4_sys::vcpu::MAINTENANCE_NO_INDEX));
            }
            Fault::VcpuFault { hsr } => put(0, hsr),
            Fault::VppiEvent { irq } => put(0, irq),
        }
        let ctx = &mut receiver.get().context;
        ctx.regs[MSG_INFO_REGISTER] = MessageInfo::new(fault.label() as u64, 0, 0, sent).0;
        ctx.regs[CAP_REGISTER] = badge;
    }

    /// Applies `sender`'s reply to the fault of `receiver`; whether the
    /// receiver restarts (seL4's `handleFaultReply`).
    pub(crate) fn handle_fault_reply(&mut self, receiver: TcbRef, sender: TcbRef) -> bool {
        let tag = message_info(sender.get().context.regs[MSG_INFO_REGISTER]);
        let (label, length) = (tag.label(), tag.length());
        let regs: &[Reg] = match receiver.get().fault {
            Some(Fault::UnknownSyscall { .. }) => &SYSCALL_MESSAGE,
            Some(Fault::UserException { .. }) => &EXCEPTION_MESSAGE,
            _ => return true,
        };
        let n = (length as usize).min(regs.len());
        let send_buf =
            if n as u64 > N_MSG_REGISTERS { self.lookup_ipc_buffer(false, sender) } else { None };
        for (i, &r) in regs[..n].iter().enumerate() {
            let v = if (i as u64) < N_MSG_REGISTERS {
                sender.get().context.regs[MSG_REGISTER_BASE + i]
            } else if let Some(b) = send_buf {
                get_mr(sender, Some(b), i as u64)
            } else {
                break;
            };
            set_reg(receiver, r, v);
            if r == Reg::Pc {
                receiver.get().context.pc = v;
            }
        }
        label == 0
    }
}

//! Faults as a fault handler receives them: the message label says which,
//! the message registers say where (layouts in `sel4_sys::fault`).
//!
//! The three VCPU faults are kept as their first message word; `sel4_sys`
//! documents no layout for them yet.

use crate::sys::FaultLabel;
use crate::{IpcBuffer, MessageInfo, Word};

/// A fault message, decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    NullFault,
    CapFault(CapFault),
    UnknownSyscall(UnknownSyscall),
    UserException(UserException),
    VmFault(VmFault),
    /// A virtual GIC maintenance interrupt (first message word).
    VGicMaintenance(Word),
    /// A VCPU trap the kernel does not handle (first message word).
    VCpuFault(Word),
    /// A virtual PPI fired (first message word).
    VPpiEvent(Word),
}

impl Fault {
    /// Decodes the message `info` just received into `ipc_buffer`.
    ///
    /// # Panics
    ///
    /// If the label is no fault's.
    pub fn new(ipc_buffer: &IpcBuffer, info: &MessageInfo) -> Self {
        let mr = ipc_buffer.msg_regs();
        let words = |n: usize| {
            let mut w = [0; 13];
            let n = n.min(info.length());
            w[..n].copy_from_slice(&mr[..n]);
            w
        };
        match info.label() {
            l if l == FaultLabel::NullFault as Word => Fault::NullFault,
            l if l == FaultLabel::CapFault as Word => Fault::CapFault(CapFault(words(6))),
            l if l == FaultLabel::UnknownSyscall as Word => {
                Fault::UnknownSyscall(UnknownSyscall(words(13)))
            }
            l if l == FaultLabel::UserException as Word => {
                Fault::UserException(UserException(words(5)))
            }
            l if l == FaultLabel::VmFault as Word => Fault::VmFault(VmFault(words(4))),
            l if l == FaultLabel::VgicMaintenance as Word => Fault::VGicMaintenance(words(1)[0]),
            l if l == FaultLabel::VcpuFault as Word => Fault::VCpuFault(words(1)[0]),
            l if l == FaultLabel::VppiEvent as Word => Fault::VPpiEvent(words(1)[0]),
            l => panic!("message label {l} is no fault"),
        }
    }
}

macro_rules! fault_fields {
    ($ty:ident { $($(#[$attr:meta])* $field:ident = $ix:expr,)* }) => {
        impl $ty {
            $(
                $(#[$attr])*
                pub fn $field(&self) -> Word {
                    self.0[$ix]
                }
            )*
        }
    };
}

/// A capability lookup failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CapFault([Word; 13]);

fault_fields!(CapFault {
    ip = 0,
    /// The cptr that failed.
    addr = 1,
    /// 1 if the failure was in the receive phase of the syscall.
    in_recv_phase = 2,
    /// A `sel4_sys::error::LookupFailure`.
    lookup_failure_type = 3,
    bits_left = 4,
    /// The guard found, or the depth bits, depending on the failure type.
    guard_found_or_depth_bits = 5,
});

/// An `svc` with a number that is no syscall.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UnknownSyscall([Word; 13]);

impl UnknownSyscall {
    /// Register `x<ix>`, `ix` < 8.
    ///
    /// # Panics
    ///
    /// If `ix` >= 8.
    pub fn gpr(&self, ix: usize) -> Word {
        assert!(ix < 8, "x{ix} is not in the fault message");
        self.0[ix]
    }
}

fault_fields!(UnknownSyscall {
    fault_ip = 8,
    sp = 9,
    lr = 10,
    spsr = 11,
    syscall = 12,
});

/// An exception the kernel does not handle (undefined instruction,
/// alignment, ...).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UserException([Word; 13]);

fault_fields!(UserException {
    fault_ip = 0,
    sp = 1,
    spsr = 2,
    /// ESR.EC.
    number = 3,
    /// ESR.ISS.
    code = 4,
});

/// An access to an address with no (or a too weak) mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VmFault([Word; 13]);

fault_fields!(VmFault {
    ip = 0,
    addr = 1,
    /// 1 for an instruction fetch.
    is_prefetch = 2,
    /// The fault status (ESR).
    fsr = 3,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(label: FaultLabel, mrs: &[Word]) -> Fault {
        let mut b = IpcBuffer::default();
        b.msg_regs_mut()[..mrs.len()].copy_from_slice(mrs);
        Fault::new(&b, &MessageInfo::new(label as Word, 0, 0, mrs.len()))
    }

    #[test]
    fn decodes_each_layout() {
        let Fault::VmFault(f) = fault(FaultLabel::VmFault, &[0x40_1000, 0xdead, 0, 0x92]) else {
            panic!()
        };
        assert_eq!((f.ip(), f.addr(), f.is_prefetch(), f.fsr()), (0x40_1000, 0xdead, 0, 0x92));
        let Fault::CapFault(f) = fault(FaultLabel::CapFault, &[1, 2, 3, 4, 5, 6]) else { panic!() };
        assert_eq!((f.addr(), f.lookup_failure_type(), f.guard_found_or_depth_bits()), (2, 4, 6));
        let mrs: [Word; 13] = core::array::from_fn(|i| i as Word);
        let Fault::UnknownSyscall(f) = fault(FaultLabel::UnknownSyscall, &mrs) else { panic!() };
        assert_eq!((f.gpr(7), f.fault_ip(), f.syscall()), (7, 8, 12));
        let Fault::UserException(f) = fault(FaultLabel::UserException, &[1, 2, 3, 0, 9]) else {
            panic!()
        };
        assert_eq!((f.number(), f.code()), (0, 9));
        assert_eq!(fault(FaultLabel::VppiEvent, &[27]), Fault::VPpiEvent(27));
        assert_eq!(fault(FaultLabel::NullFault, &[]), Fault::NullFault);
    }

    #[test]
    fn short_messages_read_as_zero() {
        let Fault::VmFault(f) = fault(FaultLabel::VmFault, &[5]) else { panic!() };
        assert_eq!((f.ip(), f.addr()), (5, 0));
    }
}

//! Faults: what the kernel sends to a thread's fault endpoint when the thread
//! faults, as the label and message of an IPC (seL4's layouts).
//!
//! | fault | message registers |
//! |---|---|
//! | CapFault | 0 IP, 1 address (cptr), 2 in receive phase, 3 lookup failure type, then by type: nothing (invalid root); bits left (missing capability); bits left, bits found (depth mismatch); bits left, guard found, bits found (guard mismatch) |
//! | UnknownSyscall | 0-7 x0-x7, 8 IP, 9 SP, 10 LR (x30), 11 SPSR, 12 syscall number |
//! | UserException | 0 IP, 1 SP, 2 SPSR, 3 exception class (ESR.EC), 4 syndrome (ESR.ISS) |
//! | VMFault | 0 IP, 1 address, 2 1 for an instruction fetch, 3 fault status (ESR) |
//! | VGICMaintenance | 0 index of the list register whose IRQ the guest completed (all ones: none) |
//! | VCPUFault | 0 the syndrome (ESR_EL2) of the guest's trap: HVC, SMC, WFI/WFE, system register |
//! | VPPIEvent | 0 the IRQ (the virtual timer's, 27) |
//!
//! A VCPU thread's VMFault address is the guest-physical address (IPA).
//!
//! A reply to an UnknownSyscall or UserException fault with a non-zero
//! length writes registers back (x0-x7, IP, SP, LR, SPSR for the former;
//! IP, SP, SPSR for the latter) and resumes the thread; a reply to the
//! others resumes it to retry.

#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultLabel {
    NullFault = 0,
    CapFault = 1,
    UnknownSyscall = 2,
    UserException = 3,
    VmFault = 5,
    VgicMaintenance = 6,
    VcpuFault = 7,
    VppiEvent = 8,
}

/// Longest cap fault message; its length depends on the lookup failure
/// (4 words for an invalid root, 5 for a missing capability, 6 for a
/// depth mismatch, 7 for a guard mismatch), as in seL4.
pub const CAP_FAULT_LENGTH: u64 = 7;
pub const UNKNOWN_SYSCALL_LENGTH: u64 = 13;
pub const USER_EXCEPTION_LENGTH: u64 = 5;
pub const VM_FAULT_LENGTH: u64 = 4;
pub const VGIC_MAINTENANCE_LENGTH: u64 = 1;
pub const VCPU_FAULT_LENGTH: u64 = 1;
pub const VPPI_EVENT_LENGTH: u64 = 1;

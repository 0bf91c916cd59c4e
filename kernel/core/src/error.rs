//! Invocation errors and lookup failures as values (seL4's
//! `syscall_error_t` and `lookup_fault_t`), and how they are written into a
//! reply's message registers (`setMRs_syscall_error`,
//! `setMRs_lookup_failure`). Returning an error is kept apart from faulting
//! the caller: an error is a reply to the invocation; a fault (see
//! `fault.rs`) is a message to the thread's fault handler.

use sel4_sys::Error;
use sel4_sys::error::LookupFailure;

/// Why an address did not resolve to a slot (seL4's `lookup_fault_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFault {
    /// The root is not a CNode cap.
    InvalidRoot,
    /// The slot the address ends in (or a slot on the way) holds no cap of
    /// the needed kind; `bits_left` bits were left to resolve.
    MissingCapability { bits_left: u64 },
    /// A CNode level needed `bits_found` bits with only `bits_left` left.
    DepthMismatch { bits_left: u64, bits_found: u64 },
    /// The address's guard bits differ from the CNode's guard
    /// (`guard_found`, `bits_found` bits long).
    GuardMismatch { bits_left: u64, guard_found: u64, bits_found: u64 },
}

impl LookupFault {
    /// The failure type word (MR1 of `FailedLookup`, MR3 of a cap fault).
    pub fn kind(&self) -> LookupFailure {
        match self {
            LookupFault::InvalidRoot => LookupFailure::InvalidRoot,
            LookupFault::MissingCapability { .. } => LookupFailure::MissingCapability,
            LookupFault::DepthMismatch { .. } => LookupFailure::DepthMismatch,
            LookupFault::GuardMismatch { .. } => LookupFailure::GuardMismatch,
        }
    }

    /// The words describing the failure: type, then bits left, then the
    /// type's details (bits found, or guard found and guard size).
    pub fn words(&self) -> ([u64; 4], usize) {
        let t = self.kind() as u64;
        match *self {
            LookupFault::InvalidRoot => ([t, 0, 0, 0], 1),
            LookupFault::MissingCapability { bits_left } => ([t, bits_left, 0, 0], 2),
            LookupFault::DepthMismatch { bits_left, bits_found } => {
                ([t, bits_left, bits_found, 0], 3)
            }
            LookupFault::GuardMismatch { bits_left, guard_found, bits_found } => {
                ([t, bits_left, guard_found, bits_found], 4)
            }
        }
    }
}

/// An invocation error: the reply's label and message registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallError {
    /// MR0: the index of the invalid argument.
    InvalidArgument(u64),
    /// MR0: which cap (0 the invoked one, n the n-th extra cap).
    InvalidCapability(u64),
    IllegalOperation,
    /// MR0, MR1: the allowed range.
    RangeError {
        min: u64,
        max: u64,
    },
    AlignmentError,
    /// MR0: 1 if the source slot's lookup failed; MR1..: the failure.
    FailedLookup {
        source: bool,
        lookup: LookupFault,
    },
    TruncatedMessage,
    DeleteFirst,
    RevokeFirst,
    /// MR0: bytes left in the untyped.
    NotEnoughMemory(u64),
}

impl SyscallError {
    /// The error code (the reply's label).
    pub fn code(&self) -> Error {
        match self {
            SyscallError::InvalidArgument(_) => Error::InvalidArgument,
            SyscallError::InvalidCapability(_) => Error::InvalidCapability,
            SyscallError::IllegalOperation => Error::IllegalOperation,
            SyscallError::RangeError { .. } => Error::RangeError,
            SyscallError::AlignmentError => Error::AlignmentError,
            SyscallError::FailedLookup { .. } => Error::FailedLookup,
            SyscallError::TruncatedMessage => Error::TruncatedMessage,
            SyscallError::DeleteFirst => Error::DeleteFirst,
            SyscallError::RevokeFirst => Error::RevokeFirst,
            SyscallError::NotEnoughMemory(_) => Error::NotEnoughMemory,
        }
    }

    /// The reply's message words.
    pub fn words(&self) -> ([u64; 5], usize) {
        match *self {
            SyscallError::InvalidArgument(n) | SyscallError::InvalidCapability(n) => {
                ([n, 0, 0, 0, 0], 1)
            }
            SyscallError::RangeError { min, max } => ([min, max, 0, 0, 0], 2),
            SyscallError::FailedLookup { source, lookup } => {
                let (w, n) = lookup.words();
                ([source as u64, w[0], w[1], w[2], w[3]], n + 1)
            }
            SyscallError::NotEnoughMemory(n) => ([n, 0, 0, 0, 0], 1),
            _ => ([0; 5], 0),
        }
    }
}

/// Shorthand for invocation results.
pub(crate) type SysResult<T = ()> = Result<T, SyscallError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let e = SyscallError::FailedLookup {
            source: true,
            lookup: LookupFault::GuardMismatch { bits_left: 64, guard_found: 3, bits_found: 2 },
        };
        assert_eq!(e.code(), Error::FailedLookup);
        assert_eq!(e.words(), ([1, 4, 64, 3, 2], 5));
        assert_eq!(SyscallError::RangeError { min: 1, max: 64 }.words().1, 2);
        assert_eq!(SyscallError::DeleteFirst.words().1, 0);
        assert_eq!(LookupFault::InvalidRoot.words(), ([1, 0, 0, 0], 1));
    }
}

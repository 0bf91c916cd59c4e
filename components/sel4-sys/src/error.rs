//! Invocation errors: the label of the reply to a failed invocation, with
//! details in the message registers (as `seL4_Error`).
//!
//! | error | MR0 | MR1 | MR2 |
//! |---|---|---|---|
//! | InvalidArgument | argument index | | |
//! | InvalidCapability | extra cap index (0 = the invoked cap) | | |
//! | RangeError | minimum | maximum | |
//! | FailedLookup | 1 if the source lookup failed | lookup failure type | bits left |
//! | NotEnoughMemory | bytes available | | |

#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    InvalidArgument = 1,
    InvalidCapability = 2,
    IllegalOperation = 3,
    RangeError = 4,
    AlignmentError = 5,
    FailedLookup = 6,
    TruncatedMessage = 7,
    DeleteFirst = 8,
    RevokeFirst = 9,
    NotEnoughMemory = 10,
}

/// Number of error codes, `NoError` (0) included.
pub const NUM_ERRORS: usize = 11;

impl Error {
    pub const ALL: [Error; NUM_ERRORS - 1] = [
        Error::InvalidArgument,
        Error::InvalidCapability,
        Error::IllegalOperation,
        Error::RangeError,
        Error::AlignmentError,
        Error::FailedLookup,
        Error::TruncatedMessage,
        Error::DeleteFirst,
        Error::RevokeFirst,
        Error::NotEnoughMemory,
    ];

    pub const fn from_word(w: u64) -> Option<Error> {
        if w >= 1 && (w as usize) < NUM_ERRORS { Some(Error::ALL[w as usize - 1]) } else { None }
    }
}

/// Lookup failure types (MR1 of `FailedLookup`, and of a cap fault).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    NoFailure = 0,
    InvalidRoot = 1,
    MissingCapability = 2,
    DepthMismatch = 3,
    GuardMismatch = 4,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for e in Error::ALL {
            assert_eq!(Error::from_word(e as u64), Some(e));
        }
        assert_eq!(Error::from_word(0), None);
        assert_eq!(Error::from_word(NUM_ERRORS as u64), None);
    }
}

//! Invocation errors: the label of the kernel's reply is 0 for success or
//! one of these codes (`seL4_Error`). Each variant is checked at compile time
//! against the ABI's number for it.

use core::fmt;

use crate::{Word, sys};

/// The result of an invocation.
pub type Result<T> = core::result::Result<T, Error>;

macro_rules! declare_errors {
    ($($name:ident,)*) => {
        /// An error the kernel answered an invocation with.
        #[repr(u64)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        pub enum Error {
            $($name = sys::Error::$name as u64,)*
        }

        impl Error {
            /// Every error, in code order.
            pub const ALL: [Error; sys::error::NUM_ERRORS - 1] = [$(Error::$name,)*];

            pub const fn from_sys(err: sys::Error) -> Self {
                match err {
                    $(sys::Error::$name => Error::$name,)*
                }
            }

            pub const fn into_sys(self) -> sys::Error {
                match self {
                    $(Error::$name => sys::Error::$name,)*
                }
            }
        }
    };
}

declare_errors! {
    InvalidArgument,
    InvalidCapability,
    IllegalOperation,
    RangeError,
    AlignmentError,
    FailedLookup,
    TruncatedMessage,
    DeleteFirst,
    RevokeFirst,
    NotEnoughMemory,
}

// Ten errors besides NoError: a new code in the ABI must be added above.
const _: () = assert!(sys::error::NUM_ERRORS == 11);

impl Error {
    /// The error of a reply label: `Ok(())` for 0, `Err` for a code.
    ///
    /// # Panics
    ///
    /// On a label that is no error code: the kernel and this crate disagree
    /// about the ABI, and no result would be right.
    pub fn from_reply_label(label: Word) -> Result<()> {
        match label {
            0 => Ok(()),
            _ => match sys::Error::from_word(label) {
                Some(err) => Err(Error::from_sys(err)),
                None => panic!("invocation reply with unknown error code {label}"),
            },
        }
    }

    /// The code the kernel uses.
    pub const fn code(self) -> Word {
        self as Word
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seL4_Error: {self:?}")
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_abi() {
        for (i, e) in Error::ALL.into_iter().enumerate() {
            assert_eq!(e.code(), i as Word + 1);
            assert_eq!(Error::from_sys(e.into_sys()), e);
            assert_eq!(e.into_sys() as Word, e.code());
        }
    }

    #[test]
    fn reply_labels() {
        assert_eq!(Error::from_reply_label(0), Ok(()));
        assert_eq!(Error::from_reply_label(1), Err(Error::InvalidArgument));
        assert_eq!(Error::from_reply_label(6), Err(Error::FailedLookup));
        assert_eq!(Error::from_reply_label(10), Err(Error::NotEnoughMemory));
        assert_eq!(Error::RevokeFirst.to_string(), "seL4_Error: RevokeFirst");
    }

    #[test]
    #[should_panic(expected = "unknown error code 11")]
    fn unknown_code_panics() {
        let _ = Error::from_reply_label(11);
    }
}

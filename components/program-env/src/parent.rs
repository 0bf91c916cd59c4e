//! The parent protocol, on the cap in [`crate::slot::PARENT`].
//!
//! `Call` with label [`EXIT`] and one word, the exit code: the program has
//! finished. No reply comes; the root task stops the program, frees what
//! it was given and records the code (a script's `task.exit_code()`).

/// Label of the exit message.
pub const EXIT: u64 = 1;

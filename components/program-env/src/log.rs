//! The log protocol, on a program's `log` cap (a log channel).
//!
//! A log server (the root task's own, or cons) answers these `Call`s.
//!
//! `Call` with label [`WRITE`], word 0 the byte count (at most
//! [`MAX_WRITE`]), then the bytes packed 8 per word
//! ([`crate::pack_bytes`]). The reply (label 0, word 0 the bytes taken)
//! comes once the server has taken the bytes, so a writer that outpaces
//! the console waits (back-pressure) rather than losing output. The server
//! prefixes every line with the channel's tag (`tag | `) in its colour.

/// Label of a write.
pub const WRITE: u64 = 1;
/// Label of a channel request to a log server's factory end (L4Re's
/// `log_fab:create`): word 0 the tag's length, word 1 the tag (packed),
/// word 2 the colour's ANSI code as a number (0: none). The reply carries
/// the new channel as its one cap.
pub const CREATE: u64 = 2;
/// Label of a read of typed input: word 0 the most bytes wanted (at most
/// [`MAX_WRITE`]). The reply comes when there is input: word 0 the count,
/// then the bytes packed.
pub const READ: u64 = 3;
/// Most bytes in one write (the message registers after the count).
pub const MAX_WRITE: usize = 8 * 100;

/// ANSI colours a log channel can have, by the names L4Re's ned uses.
/// Capitalised names are the bright variants.
pub const COLOURS: [(&str, &str); 16] = [
    ("black", "30"),
    ("red", "31"),
    ("green", "32"),
    ("yellow", "33"),
    ("blue", "34"),
    ("magenta", "35"),
    ("cyan", "36"),
    ("white", "37"),
    ("Black", "90"),
    ("Red", "91"),
    ("Green", "92"),
    ("Yellow", "93"),
    ("Blue", "94"),
    ("Magenta", "95"),
    ("Cyan", "96"),
    ("White", "97"),
];

/// The ANSI code of colour `name`, if it is one.
pub fn colour_code(name: &str) -> Option<&'static str> {
    COLOURS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Longest tag, in characters.
pub const MAX_TAG: usize = 8;

//! The rom protocol, on a program's `rom` cap: read-only access to the boot
//! modules (L4Re's `rom/` namespace).
//!
//! `Call` with label [`OPEN`], word 0 the name's length in bytes, then the
//! name packed 8 bytes per word ([`crate::pack_bytes`]); `rom/` in front is
//! optional. Reply label 0: word 0 where the module is mapped in the
//! caller's address space (read-only, at [`crate::ROM_VADDR_BASE`] plus the
//! module's address in the root task), word 1 its size in bytes. Opening a
//! module again answers the same mapping. Reply label [`NOT_FOUND`]: no such
//! module; [`NO_ROOM`]: the root task ran out of slots or page tables for
//! the mapping; [`BAD_REQUEST`]: the message was malformed.

/// Label of an open request.
pub const OPEN: u64 = 1;
/// Reply label: no module of that name.
pub const NOT_FOUND: u64 = 1;
/// Reply label: no slots or address space left for the mapping.
pub const NO_ROOM: u64 = 2;
/// Reply label: malformed request.
pub const BAD_REQUEST: u64 = 3;
/// Longest module name in a request, in bytes.
pub const MAX_NAME: usize = 256;

//! The environment page: a program's name, command line and named caps.
//!
//! Layout (little endian):
//!
//! ```text
//!  0   magic "NEDENV01"           u64
//!  8   total size in bytes        u32
//!  12  number of caps             u32
//!  16  program name  (off, len)   u32, u32   strings are offsets from
//!  24  command line  (off, len)   u32, u32   the start of the page
//!  32  cap entries, 32 bytes each:
//!        name (off, len) u32 u32, slot u64, kind u32, rights u32, arg u64
//!  ... strings
//! ```
//!
//! The root task builds it ([`EnvPageBuilder`]); the runtime reads it with
//! [`EnvPage::parse`], which checks every offset, so a damaged page gives
//! an error, never an out-of-bounds read.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::fmt;

/// The first eight bytes of an environment page.
pub const MAGIC: [u8; 8] = *b"NEDENV01";
const HEADER: usize = 32;
const ENTRY: usize = 32;

/// What kind of object a named cap refers to (for diagnostics; the
/// program decides how to use it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum CapKind {
    /// An IPC channel (endpoint).
    Channel = 1,
    /// The root task's rom/ namespace.
    Rom = 2,
    /// A log channel.
    Log = 3,
    /// A notification.
    Notification = 4,
    /// IRQ control.
    IrqControl = 5,
    /// An untyped memory region.
    Untyped = 6,
    /// A frame.
    Frame = 7,
    /// Something else.
    Other = 8,
    /// An IRQ handler.
    IrqHandler = 9,
}

impl CapKind {
    fn from_u32(v: u32) -> CapKind {
        match v {
            1 => CapKind::Channel,
            2 => CapKind::Rom,
            3 => CapKind::Log,
            4 => CapKind::Notification,
            5 => CapKind::IrqControl,
            6 => CapKind::Untyped,
            7 => CapKind::Frame,
            9 => CapKind::IrqHandler,
            _ => CapKind::Other,
        }
    }
}

/// One named cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapEntry<'a> {
    pub name: &'a str,
    pub slot: u64,
    pub kind: CapKind,
    /// Rights as letters bits: 1 read, 2 write, 4 grant (`r`, `w`, `s`).
    pub rights: u32,
    /// What else the kind needs said: for an untyped, its physical address
    /// (0 for RAM) or-ed with its size in bits; for an IRQ handler, the IRQ.
    pub arg: u64,
}

/// A parsed environment page (checked whole by [`EnvPage::parse`]; reading
/// it needs no allocation).
#[derive(Clone, Copy, Debug)]
pub struct EnvPage<'a> {
    bytes: &'a [u8],
    count: usize,
    name: &'a str,
    cmdline: &'a str,
}

/// Why a page could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvError {
    BadMagic,
    Truncated,
    BadString,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvError::BadMagic => "environment page: bad magic",
            EnvError::Truncated => "environment page: an offset or count lies past its end",
            EnvError::BadString => "environment page: a string is not UTF-8",
        })
    }
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, EnvError> {
    let s = b.get(off..off + 4).ok_or(EnvError::Truncated)?;
    Ok(u32::from_le_bytes(s.try_into().unwrap_or_default()))
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, EnvError> {
    let s = b.get(off..off + 8).ok_or(EnvError::Truncated)?;
    Ok(u64::from_le_bytes(s.try_into().unwrap_or_default()))
}

fn str_at(b: &[u8], off: usize) -> Result<&str, EnvError> {
    let (o, l) = (u32_at(b, off)? as usize, u32_at(b, off + 4)? as usize);
    let s = b.get(o..o.checked_add(l).ok_or(EnvError::Truncated)?).ok_or(EnvError::Truncated)?;
    core::str::from_utf8(s).map_err(|_| EnvError::BadString)
}

fn entry(b: &[u8], i: usize) -> Result<CapEntry<'_>, EnvError> {
    let e = HEADER + i * ENTRY;
    Ok(CapEntry {
        name: str_at(b, e)?,
        slot: u64_at(b, e + 8)?,
        kind: CapKind::from_u32(u32_at(b, e + 16)?),
        rights: u32_at(b, e + 20)?,
        arg: u64_at(b, e + 24)?,
    })
}

impl<'a> EnvPage<'a> {
    /// Parses `page` (the bytes from the page's start; more is fine).
    pub fn parse(page: &'a [u8]) -> Result<EnvPage<'a>, EnvError> {
        if page.get(..8) != Some(&MAGIC[..]) {
            return Err(EnvError::BadMagic);
        }
        let size = u32_at(page, 8)? as usize;
        let b = page.get(..size).ok_or(EnvError::Truncated)?;
        let count = u32_at(b, 12)? as usize;
        let end = count.checked_mul(ENTRY).and_then(|n| n.checked_add(HEADER));
        if end.is_none_or(|e| e > b.len()) {
            return Err(EnvError::Truncated);
        }
        for i in 0..count {
            entry(b, i)?;
        }
        Ok(EnvPage { bytes: b, count, name: str_at(b, 16)?, cmdline: str_at(b, 24)? })
    }

    /// The program's name (its rom/ path without `rom/`).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The whole command line, program name first, as the script wrote it.
    pub fn cmdline(&self) -> &'a str {
        self.cmdline
    }

    /// The arguments after the program name, split by
    /// [`split_args`](crate::split_args) (whitespace separates, quotes
    /// group).
    pub fn args(&self) -> impl Iterator<Item = &'a str> + 'a {
        crate::split_args(self.cmdline).skip(1)
    }

    /// Every named cap.
    pub fn caps(&self) -> impl Iterator<Item = CapEntry<'a>> + 'a {
        let b = self.bytes;
        (0..self.count).filter_map(move |i| entry(b, i).ok())
    }

    /// The named cap `name`.
    pub fn cap(&self, name: &str) -> Option<CapEntry<'a>> {
        self.caps().find(|c| c.name == name)
    }
}

/// Builds an environment page.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default)]
pub struct EnvPageBuilder {
    name: String,
    cmdline: String,
    caps: Vec<(String, u64, CapKind, u32, u64)>,
}

#[cfg(feature = "alloc")]
impl EnvPageBuilder {
    pub fn new(name: &str, cmdline: &str) -> Self {
        EnvPageBuilder { name: name.into(), cmdline: cmdline.into(), caps: Vec::new() }
    }

    /// Adds a named cap in `slot`.
    pub fn cap(&mut self, name: &str, slot: u64, kind: CapKind, rights: u32) -> &mut Self {
        self.cap_with_arg(name, slot, kind, rights, 0)
    }

    /// Adds a named cap in `slot` with its [`CapEntry::arg`].
    pub fn cap_with_arg(
        &mut self,
        name: &str,
        slot: u64,
        kind: CapKind,
        rights: u32,
        arg: u64,
    ) -> &mut Self {
        self.caps.push((name.into(), slot, kind, rights, arg));
        self
    }

    /// The page's bytes.
    pub fn build(&self) -> Vec<u8> {
        let strings_at = HEADER + ENTRY * self.caps.len();
        let mut out = alloc::vec![0u8; strings_at];
        let put_str = |out: &mut Vec<u8>, at: usize, s: &str| {
            let off = out.len() as u32;
            out.extend_from_slice(s.as_bytes());
            out[at..at + 4].copy_from_slice(&off.to_le_bytes());
            out[at + 4..at + 8].copy_from_slice(&(s.len() as u32).to_le_bytes());
        };
        put_str(&mut out, 16, &self.name);
        put_str(&mut out, 24, &self.cmdline);
        for (i, (name, slot, kind, rights, arg)) in self.caps.iter().enumerate() {
            let e = HEADER + i * ENTRY;
            put_str(&mut out, e, name);
            out[e + 8..e + 16].copy_from_slice(&slot.to_le_bytes());
            out[e + 16..e + 20].copy_from_slice(&(*kind as u32).to_le_bytes());
            out[e + 20..e + 24].copy_from_slice(&rights.to_le_bytes());
            out[e + 24..e + 32].copy_from_slice(&arg.to_le_bytes());
        }
        out[..8].copy_from_slice(&MAGIC);
        let size = out.len() as u32;
        out[8..12].copy_from_slice(&size.to_le_bytes());
        out[12..16].copy_from_slice(&(self.caps.len() as u32).to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let page = EnvPageBuilder::new("pong", "rom/pong -v  fast 'a b'")
            .cap("chan", 16, CapKind::Channel, 3)
            .cap("rom", 17, CapKind::Rom, 1)
            .cap_with_arg("uart", 18, CapKind::Untyped, 7, 0x900_0000 | 12)
            .build();
        let env = EnvPage::parse(&page).unwrap();
        assert_eq!(env.name(), "pong");
        assert_eq!(env.args().collect::<Vec<_>>(), ["-v", "fast", "a b"]);
        assert_eq!(
            env.cap("chan").map(|c| (c.slot, c.kind, c.rights)),
            Some((16, CapKind::Channel, 3))
        );
        assert_eq!(env.cap("rom").map(|c| c.slot), Some(17));
        assert_eq!(env.cap("uart").map(|c| (c.kind, c.arg)), Some((CapKind::Untyped, 0x900_000c)));
        assert_eq!(env.caps().count(), 3);
        assert!(env.cap("nothere").is_none());
    }

    #[test]
    fn damaged_pages_are_errors() {
        let page = EnvPageBuilder::new("p", "rom/p").cap("c", 16, CapKind::Channel, 3).build();
        assert_eq!(EnvPage::parse(&page[..20]).unwrap_err(), EnvError::Truncated);
        assert_eq!(EnvPage::parse(&[0; 64]).unwrap_err(), EnvError::BadMagic);
        // Every single-byte corruption either parses or is an error.
        for i in 8..page.len() {
            for v in [0u8, 0x7f, 0xff] {
                let mut p = page.clone();
                p[i] = v;
                let _ = EnvPage::parse(&p);
            }
        }
        let mut huge = page.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(EnvPage::parse(&huge).unwrap_err(), EnvError::Truncated);
    }
}

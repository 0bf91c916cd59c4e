//! The module table: a header, one fixed-size entry per module, a string area
//! for names and command lines, then the module payloads.
//!
//! ```text
//!  offset 0                 64            64 + 48*n        table_size (page aligned)
//!  +-----------------------+-------------+---------------+---------+----------+----------+--
//!  | header                | entries     | strings       | padding | module 0 | module 1 | ...
//!  +-----------------------+-------------+---------------+---------+----------+----------+--
//! ```
//!
//! Header (little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0  | 8 | magic `b"BIMGMODS"` |
//! | 8  | 4 | version, [`VERSION`] |
//! | 12 | 4 | number of entries |
//! | 16 | 4 | entry size, [`ENTRY_SIZE`] |
//! | 20 | 4 | size of the string area |
//! | 24 | 4 | table size: header, entries and strings, rounded up to a page |
//! | 28 | 4 | CRC-32 of the first `table size` bytes, this field read as zero |
//! | 32 | 8 | total size: table plus every payload with its padding |
//! | 40 | 24 | reserved, zero |
//!
//! Entry:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0  | 4 | name: offset in the string area |
//! | 4  | 4 | name: length |
//! | 8  | 4 | command line: offset in the string area |
//! | 12 | 4 | command line: length |
//! | 16 | 4 | [`Flags`] |
//! | 20 | 4 | CRC-32 of the payload as stored |
//! | 24 | 8 | payload offset from the start of the table (page aligned, past the table) |
//! | 32 | 8 | payload size as stored |
//! | 40 | 8 | size after inflating (for [`Flags::UNCOMPRESS`]; else the stored size) |
//!
//! Payloads never overlap and lie inside the total size. Names and command
//! lines are UTF-8. [`Table::parse`] checks all of this; payload checksums are
//! checked separately by [`Module::verify`], since reading every payload costs
//! time the reader may want to spend only once.

use crate::{PAGE_SIZE, align_up};
use core::fmt;

/// Identifies a module table.
pub const MAGIC: [u8; 8] = *b"BIMGMODS";
/// The layout version this crate reads and writes.
pub const VERSION: u32 = 1;
/// Size of the header in bytes.
pub const HEADER_SIZE: usize = 64;
/// Size of one entry in bytes.
pub const ENTRY_SIZE: usize = 48;
/// Upper bound on entries, so that a corrupt count cannot make a reader loop
/// for long before it notices.
pub const MAX_MODULES: usize = 1024;

/// What a module is and how bootstrap treats it.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u32);

impl Flags {
    /// The kernel (exactly one per image).
    pub const KERNEL: Flags = Flags(1 << 0);
    /// The root task (at most one per image).
    pub const ROOTTASK: Flags = Flags(1 << 1);
    /// A gzip stream that bootstrap inflates before handing it on.
    pub const UNCOMPRESS: Flags = Flags(1 << 2);
    /// Listed with `data` rather than `module`: never treated as a program.
    pub const DATA: Flags = Flags(1 << 3);
    const ALL: u32 = 0xf;

    /// Whether every flag in `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Flags::KERNEL, "kernel"),
            (Flags::ROOTTASK, "roottask"),
            (Flags::UNCOMPRESS, "uncompress"),
            (Flags::DATA, "data"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("module")?;
        }
        Ok(())
    }
}

/// Why a module table was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the header or the table claims.
    Truncated { needed: u64, available: u64 },
    /// The magic number is wrong: this is not a module table.
    BadMagic,
    /// A table written by an incompatible builder.
    UnsupportedVersion(u32),
    /// The entry size does not match this reader's.
    BadEntrySize(u32),
    /// More entries than [`MAX_MODULES`].
    TooManyModules(u32),
    /// The table size disagrees with the header, entries and strings.
    BadTableSize(u32),
    /// The header and entries do not match their checksum.
    TableChecksum { stored: u32, computed: u32 },
    /// A name or command line lies outside the string area.
    StringOutOfRange { module: usize },
    /// A name or command line is not UTF-8.
    StringNotUtf8 { module: usize },
    /// A module has no name.
    EmptyName { module: usize },
    /// Unknown flag bits are set.
    UnknownFlags { module: usize, flags: u32 },
    /// A payload does not start on a page boundary past the table.
    Misaligned { module: usize, offset: u64 },
    /// A payload reaches beyond the total size.
    OutOfBounds { module: usize, end: u64, total: u64 },
    /// Two payloads share bytes.
    Overlap { first: usize, second: usize },
    /// A payload does not match its checksum.
    ModuleChecksum { module: usize, stored: u32, computed: u32 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, available } => {
                write!(f, "module table truncated: needs {needed} bytes, only {available} present")
            }
            Error::BadMagic => write!(f, "no module table here (bad magic)"),
            Error::UnsupportedVersion(v) => {
                write!(f, "module table version {v} is not supported (this reader knows {VERSION})")
            }
            Error::BadEntrySize(s) => {
                write!(f, "module table entry size {s}, expected {ENTRY_SIZE}")
            }
            Error::TooManyModules(n) => {
                write!(f, "module table claims {n} modules (at most {MAX_MODULES})")
            }
            Error::BadTableSize(s) => write!(f, "module table size {s} does not fit its contents"),
            Error::TableChecksum { stored, computed } => {
                write!(f, "module table corrupt: checksum {computed:#010x}, stored {stored:#010x}")
            }
            Error::StringOutOfRange { module } => {
                write!(f, "module {module}: name or command line outside the string area")
            }
            Error::StringNotUtf8 { module } => {
                write!(f, "module {module}: name or command line is not UTF-8")
            }
            Error::EmptyName { module } => write!(f, "module {module} has no name"),
            Error::UnknownFlags { module, flags } => {
                write!(f, "module {module}: unknown flags {flags:#x}")
            }
            Error::Misaligned { module, offset } => {
                write!(
                    f,
                    "module {module}: payload offset {offset:#x} is not page aligned past the table"
                )
            }
            Error::OutOfBounds { module, end, total } => write!(
                f,
                "module {module}: payload ends at {end:#x}, beyond the image's {total:#x} bytes"
            ),
            Error::Overlap { first, second } => {
                write!(f, "modules {first} and {second} overlap")
            }
            Error::ModuleChecksum { module, stored, computed } => write!(
                f,
                "module {module} corrupt: checksum {computed:#010x}, stored {stored:#010x}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn rd64(b: &[u8], off: usize) -> u64 {
    rd32(b, off) as u64 | (rd32(b, off + 4) as u64) << 32
}

/// CRC-32 of the table bytes with the checksum field (header offset 28) read
/// as zero.
fn table_crc(table: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&table[..28]);
    h.update(&[0; 4]);
    h.update(&table[32..]);
    h.finalize()
}

/// One module as recorded in a validated table.
#[derive(Clone, Copy)]
pub struct Module<'a> {
    /// Position in the table.
    pub index: usize,
    /// Name under which the module appears (in `rom/`).
    pub name: &'a str,
    /// Command line: the program name followed by its arguments, as written
    /// in the modules.list.
    pub cmdline: &'a str,
    /// Kind and treatment.
    pub flags: Flags,
    /// Payload as stored (still compressed for [`Flags::UNCOMPRESS`]).
    pub data: &'a [u8],
    /// Payload offset from the start of the table.
    pub offset: u64,
    /// Size once inflated (equal to `data.len()` unless compressed).
    pub inflated_size: u64,
    checksum: u32,
}

impl<'a> Module<'a> {
    /// Checks the payload against its recorded CRC-32.
    pub fn verify(&self) -> Result<(), Error> {
        let computed = crc32fast::hash(self.data);
        if computed == self.checksum {
            Ok(())
        } else {
            Err(Error::ModuleChecksum { module: self.index, stored: self.checksum, computed })
        }
    }
}

/// A module table whose header, entries and strings have been validated.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    bytes: &'a [u8],
    count: usize,
    strings: &'a [u8],
    total: u64,
}

impl<'a> Table<'a> {
    /// Reads the table at the start of `bytes`, which must also hold every
    /// payload, and checks its structure: magic, version, sizes, checksum,
    /// strings, flags, alignment, bounds and overlap.
    pub fn parse(bytes: &'a [u8]) -> Result<Table<'a>, Error> {
        let avail = bytes.len() as u64;
        if bytes.len() < HEADER_SIZE {
            return Err(Error::Truncated { needed: HEADER_SIZE as u64, available: avail });
        }
        if bytes[..8] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = rd32(bytes, 8);
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let count = rd32(bytes, 12);
        let entry_size = rd32(bytes, 16);
        let strings_size = rd32(bytes, 20) as u64;
        let table_size = rd32(bytes, 24);
        let stored_crc = rd32(bytes, 28);
        let total = rd64(bytes, 32);
        if entry_size as usize != ENTRY_SIZE {
            return Err(Error::BadEntrySize(entry_size));
        }
        if count as usize > MAX_MODULES {
            return Err(Error::TooManyModules(count));
        }
        let content = HEADER_SIZE as u64 + count as u64 * ENTRY_SIZE as u64 + strings_size;
        if table_size as u64 != align_up(content, PAGE_SIZE) {
            return Err(Error::BadTableSize(table_size));
        }
        if (table_size as u64) > avail {
            return Err(Error::Truncated { needed: table_size as u64, available: avail });
        }
        let table = &bytes[..table_size as usize];
        let computed = table_crc(table);
        if computed != stored_crc {
            return Err(Error::TableChecksum { stored: stored_crc, computed });
        }
        if total < table_size as u64 {
            return Err(Error::BadTableSize(table_size));
        }
        if total > avail {
            return Err(Error::Truncated { needed: total, available: avail });
        }
        let sbase = HEADER_SIZE + count as usize * ENTRY_SIZE;
        let t = Table {
            bytes,
            count: count as usize,
            strings: &bytes[sbase..sbase + strings_size as usize],
            total,
        };
        // Per-entry checks; overlap is checked pairwise on the sorted order
        // without allocating: for each module, the nearest start at or after
        // its own start must not lie inside it.
        for i in 0..t.count {
            let m = t.entry(i)?;
            if m.offset % PAGE_SIZE != 0 || m.offset < table_size as u64 {
                return Err(Error::Misaligned { module: i, offset: m.offset });
            }
            let end = m.offset.saturating_add(m.data.len() as u64);
            if end > total {
                return Err(Error::OutOfBounds { module: i, end, total });
            }
        }
        for i in 0..t.count {
            let a = t.raw_range(i);
            for j in i + 1..t.count {
                let b = t.raw_range(j);
                let empty = a.0 == a.1 || b.0 == b.1;
                if !empty && a.0 < b.1 && b.0 < a.1 {
                    return Err(Error::Overlap { first: i, second: j });
                }
            }
        }
        Ok(t)
    }

    fn ent(&self, i: usize) -> &'a [u8] {
        let off = HEADER_SIZE + i * ENTRY_SIZE;
        &self.bytes[off..off + ENTRY_SIZE]
    }

    fn raw_range(&self, i: usize) -> (u64, u64) {
        let e = self.ent(i);
        let off = rd64(e, 24);
        (off, off.saturating_add(rd64(e, 32)))
    }

    fn string(&self, i: usize, off: u32, len: u32) -> Result<&'a str, Error> {
        let (off, len) = (off as usize, len as usize);
        let s = off
            .checked_add(len)
            .and_then(|end| self.strings.get(off..end))
            .ok_or(Error::StringOutOfRange { module: i })?;
        core::str::from_utf8(s).map_err(|_| Error::StringNotUtf8 { module: i })
    }

    fn entry(&self, i: usize) -> Result<Module<'a>, Error> {
        let e = self.ent(i);
        let name = self.string(i, rd32(e, 0), rd32(e, 4))?;
        if name.is_empty() {
            return Err(Error::EmptyName { module: i });
        }
        let cmdline = self.string(i, rd32(e, 8), rd32(e, 12))?;
        let flags = rd32(e, 16);
        if flags & !Flags::ALL != 0 {
            return Err(Error::UnknownFlags { module: i, flags });
        }
        let offset = rd64(e, 24);
        let size = rd64(e, 32);
        let end = offset.checked_add(size).filter(|&end| end <= self.bytes.len() as u64);
        let Some(end) = end else {
            return Err(Error::OutOfBounds {
                module: i,
                end: offset.saturating_add(size),
                total: self.total,
            });
        };
        Ok(Module {
            index: i,
            name,
            cmdline,
            flags: Flags(flags),
            data: &self.bytes[offset as usize..end as usize],
            offset,
            inflated_size: rd64(e, 40),
            checksum: rd32(e, 20),
        })
    }

    /// Number of modules.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table lists no module.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Total size of table and payloads.
    pub fn total_size(&self) -> u64 {
        self.total
    }

    /// Module `i` (already validated by [`Table::parse`]).
    pub fn get(&self, i: usize) -> Option<Module<'a>> {
        if i < self.count { self.entry(i).ok() } else { None }
    }

    /// The modules in table order.
    pub fn modules(&self) -> impl Iterator<Item = Module<'a>> + '_ {
        (0..self.count).filter_map(|i| self.get(i))
    }

    /// The first module carrying `flag`.
    pub fn find(&self, flag: Flags) -> Option<Module<'a>> {
        self.modules().find(|m| m.flags.contains(flag))
    }

    /// The module called `name`.
    pub fn by_name(&self, name: &str) -> Option<Module<'a>> {
        self.modules().find(|m| m.name == name)
    }
}

/// One module handed to the [`Builder`].
#[cfg(feature = "std")]
pub struct Input<'d> {
    pub name: String,
    pub cmdline: String,
    pub flags: Flags,
    pub data: std::borrow::Cow<'d, [u8]>,
    /// Size after inflating, for [`Flags::UNCOMPRESS`].
    pub inflated_size: u64,
}

/// Writes a module table and its payloads.
#[cfg(feature = "std")]
#[derive(Default)]
pub struct Builder<'d> {
    inputs: Vec<Input<'d>>,
}

#[cfg(feature = "std")]
impl<'d> Builder<'d> {
    pub fn new() -> Self {
        Builder { inputs: Vec::new() }
    }

    /// Appends a module; table order is insertion order.
    pub fn push(&mut self, input: Input<'d>) {
        self.inputs.push(input);
    }

    /// Lays out table and payloads; the result starts with the table.
    pub fn build(&self) -> Vec<u8> {
        let mut strings = Vec::new();
        let mut spans = Vec::new();
        for m in &self.inputs {
            let name = (strings.len() as u32, m.name.len() as u32);
            strings.extend_from_slice(m.name.as_bytes());
            let cmd = (strings.len() as u32, m.cmdline.len() as u32);
            strings.extend_from_slice(m.cmdline.as_bytes());
            spans.push((name, cmd));
        }
        let count = self.inputs.len();
        let content = HEADER_SIZE + count * ENTRY_SIZE + strings.len();
        let table_size = align_up(content as u64, PAGE_SIZE);
        let mut offset = table_size;
        let mut offsets = Vec::new();
        for m in &self.inputs {
            offsets.push(offset);
            offset = align_up(offset + m.data.len() as u64, PAGE_SIZE);
        }
        let total = offset;
        let mut out = vec![0u8; total as usize];
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(count as u32).to_le_bytes());
        out[16..20].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
        out[20..24].copy_from_slice(&(strings.len() as u32).to_le_bytes());
        out[24..28].copy_from_slice(&(table_size as u32).to_le_bytes());
        out[32..40].copy_from_slice(&total.to_le_bytes());
        for (i, m) in self.inputs.iter().enumerate() {
            let e = HEADER_SIZE + i * ENTRY_SIZE;
            let ((no, nl), (co, cl)) = spans[i];
            let put32 = |out: &mut [u8], at: usize, v: u32| {
                out[e + at..e + at + 4].copy_from_slice(&v.to_le_bytes())
            };
            put32(&mut out, 0, no);
            put32(&mut out, 4, nl);
            put32(&mut out, 8, co);
            put32(&mut out, 12, cl);
            put32(&mut out, 16, m.flags.0);
            put32(&mut out, 20, crc32fast::hash(&m.data));
            out[e + 24..e + 32].copy_from_slice(&offsets[i].to_le_bytes());
            out[e + 32..e + 40].copy_from_slice(&(m.data.len() as u64).to_le_bytes());
            let inflated = if m.flags.contains(Flags::UNCOMPRESS) {
                m.inflated_size
            } else {
                m.data.len() as u64
            };
            out[e + 40..e + 48].copy_from_slice(&inflated.to_le_bytes());
            let at = offsets[i] as usize;
            out[at..at + m.data.len()].copy_from_slice(&m.data);
        }
        let sbase = HEADER_SIZE + count * ENTRY_SIZE;
        out[sbase..sbase + strings.len()].copy_from_slice(&strings);
        let crc = table_crc(&out[..table_size as usize]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn sample() -> Vec<u8> {
        let mut b = Builder::new();
        b.push(Input {
            name: "kernel".into(),
            cmdline: "kernel -v".into(),
            flags: Flags::KERNEL,
            data: Cow::Owned(vec![0x7f; 5000]),
            inflated_size: 0,
        });
        b.push(Input {
            name: "Image.gz".into(),
            cmdline: "Image.gz".into(),
            flags: Flags::UNCOMPRESS,
            data: Cow::Borrowed(b"\x1f\x8b compressed"),
            inflated_size: 123_456,
        });
        b.push(Input {
            name: "empty".into(),
            cmdline: String::new(),
            flags: Flags::DATA,
            data: Cow::Borrowed(b""),
            inflated_size: 0,
        });
        b.build()
    }

    fn patch_crc(bytes: &mut [u8]) {
        let ts = rd32(bytes, 24) as usize;
        let crc = table_crc(&bytes[..ts]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let t = Table::parse(&bytes).unwrap();
        assert_eq!(t.len(), 3);
        let ms: Vec<_> = t.modules().collect();
        assert_eq!(ms[0].name, "kernel");
        assert_eq!(ms[0].cmdline, "kernel -v");
        assert_eq!(ms[0].flags, Flags::KERNEL);
        assert_eq!(ms[0].data, &[0x7f; 5000][..]);
        assert_eq!(ms[0].inflated_size, 5000);
        assert_eq!(ms[1].name, "Image.gz");
        assert_eq!(ms[1].inflated_size, 123_456);
        assert!(ms[1].flags.contains(Flags::UNCOMPRESS));
        assert_eq!(ms[2].data.len(), 0);
        for m in &ms {
            m.verify().unwrap();
            assert_eq!(m.offset % PAGE_SIZE, 0);
        }
        assert_eq!(t.find(Flags::KERNEL).unwrap().name, "kernel");
        assert_eq!(t.by_name("empty").unwrap().index, 2);
        assert_eq!(t.total_size(), bytes.len() as u64);
    }

    #[test]
    fn empty_table() {
        let bytes = Builder::new().build();
        let t = Table::parse(&bytes).unwrap();
        assert!(t.is_empty());
    }

    #[test]
    fn truncated() {
        let bytes = sample();
        assert!(matches!(Table::parse(&bytes[..10]), Err(Error::Truncated { .. })));
        assert!(matches!(Table::parse(&bytes[..200]), Err(Error::Truncated { .. })));
        let short = &bytes[..bytes.len() - 1];
        assert_eq!(
            Table::parse(short).err(),
            Some(Error::Truncated { needed: bytes.len() as u64, available: short.len() as u64 })
        );
    }

    #[test]
    fn bad_magic_and_version() {
        let mut bytes = sample();
        bytes[0] = b'X';
        assert_eq!(Table::parse(&bytes).err(), Some(Error::BadMagic));
        let mut bytes = sample();
        bytes[8] = 9;
        assert_eq!(Table::parse(&bytes).err(), Some(Error::UnsupportedVersion(9)));
    }

    #[test]
    fn corrupt_table_detected_by_checksum() {
        let mut bytes = sample();
        bytes[HEADER_SIZE + 33] ^= 0x40; // a size byte of entry 0
        assert!(matches!(Table::parse(&bytes), Err(Error::TableChecksum { .. })));
    }

    #[test]
    fn corrupt_payload_detected_by_verify() {
        let mut bytes = sample();
        let off = rd64(&bytes, HEADER_SIZE + 24) as usize;
        bytes[off + 17] ^= 1;
        let t = Table::parse(&bytes).unwrap();
        assert!(matches!(t.get(0).unwrap().verify(), Err(Error::ModuleChecksum { module: 0, .. })));
        t.get(1).unwrap().verify().unwrap();
    }

    #[test]
    fn overlapping_payloads_rejected() {
        let mut bytes = sample();
        // Point module 1 into module 0's payload.
        let off0 = rd64(&bytes, HEADER_SIZE + 24);
        let e1 = HEADER_SIZE + ENTRY_SIZE;
        bytes[e1 + 24..e1 + 32].copy_from_slice(&off0.to_le_bytes());
        patch_crc(&mut bytes);
        assert_eq!(Table::parse(&bytes).err(), Some(Error::Overlap { first: 0, second: 1 }));
    }

    #[test]
    fn out_of_bounds_and_misaligned_rejected() {
        let mut bytes = sample();
        let e1 = HEADER_SIZE + ENTRY_SIZE;
        bytes[e1 + 32..e1 + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        patch_crc(&mut bytes);
        assert!(matches!(Table::parse(&bytes), Err(Error::OutOfBounds { module: 1, .. })));

        let mut bytes = sample();
        bytes[e1 + 24..e1 + 32].copy_from_slice(&0x1001u64.to_le_bytes());
        patch_crc(&mut bytes);
        assert!(matches!(Table::parse(&bytes), Err(Error::Misaligned { module: 1, .. })));

        let mut bytes = sample();
        bytes[HEADER_SIZE + 24..HEADER_SIZE + 32].copy_from_slice(&0u64.to_le_bytes());
        patch_crc(&mut bytes);
        assert!(matches!(Table::parse(&bytes), Err(Error::Misaligned { module: 0, .. })));
    }

    #[test]
    fn bad_strings_and_flags_rejected() {
        let mut bytes = sample();
        bytes[HEADER_SIZE + 4..HEADER_SIZE + 8].copy_from_slice(&10_000u32.to_le_bytes());
        patch_crc(&mut bytes);
        assert_eq!(Table::parse(&bytes).err(), Some(Error::StringOutOfRange { module: 0 }));

        let mut bytes = sample();
        let sbase = HEADER_SIZE + 3 * ENTRY_SIZE;
        bytes[sbase] = 0xff;
        patch_crc(&mut bytes);
        assert_eq!(Table::parse(&bytes).err(), Some(Error::StringNotUtf8 { module: 0 }));

        let mut bytes = sample();
        bytes[HEADER_SIZE + 16] = 0x80;
        patch_crc(&mut bytes);
        assert!(matches!(Table::parse(&bytes), Err(Error::UnknownFlags { module: 0, .. })));
    }

    #[test]
    fn absurd_counts_rejected() {
        let mut bytes = sample();
        bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Table::parse(&bytes).err(), Some(Error::TooManyModules(u32::MAX)));
        let mut bytes = sample();
        bytes[12..16].copy_from_slice(&200u32.to_le_bytes());
        assert!(matches!(Table::parse(&bytes), Err(Error::BadTableSize(_))));
        let mut bytes = sample();
        bytes[12..16].copy_from_slice(&4u32.to_le_bytes());
        assert!(matches!(Table::parse(&bytes), Err(Error::TableChecksum { .. })));
    }

    #[test]
    fn errors_read_well() {
        let e = Error::Overlap { first: 1, second: 2 };
        assert_eq!(e.to_string(), "modules 1 and 2 overlap");
    }
}

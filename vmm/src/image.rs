//! Loading a Linux arm64 kernel `Image` into guest RAM.
//!
//! Three containers are accepted: the raw `Image`, a gzip file of it (what
//! distributions ship as `vmlinuz`) and an EFI zboot image whose payload is
//! gzip (`MZ` ... `zimg`, `CONFIG_EFI_ZBOOT`). A compressed kernel is
//! inflated straight into the destination, so no second copy of the about
//! 30 MiB image is made. The gzip trailer's CRC-32 and length are checked,
//! then the 64-byte `Image` header (Linux's `booting.rst`):
//!
//! ```text
//! 0x00 code0, code1   0x08 text_offset (u64 LE)   0x10 image_size (u64 LE)
//! 0x18 flags (u64 LE) 0x20 res2, res3, res4       0x38 magic "ARM\x64"
//! 0x3c res5 (PE header offset)
//! ```
//!
//! `image_size` covers the BSS too: the kernel needs that many bytes from
//! its load address, more than the file holds. The BSS is left as the
//! destination had it (guest RAM is handed over zeroed, and the kernel
//! clears its BSS itself).

use alloc::boxed::Box;
use core::fmt;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// Length of the `Image` header.
pub const HEADER_SIZE: usize = 64;
/// Offset of the magic in the header.
pub const MAGIC_OFFSET: usize = 0x38;
/// The header's magic, `ARM\x64`.
pub const MAGIC: [u8; 4] = *b"ARM\x64";

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const GZIP_DEFLATE: u8 = 8;
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;

/// What container a kernel file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An uncompressed `Image`.
    Raw,
    /// A gzip file of an `Image`.
    Gzip,
    /// An EFI zboot image; its gzip payload is `len` bytes at `offset`.
    ZbootGzip { offset: usize, len: usize },
}

/// What the `Image` header says, with the sizes that matter for placing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Offset of the image from a 2 MiB-aligned base (0 on modern kernels).
    pub text_offset: u64,
    /// Bytes the kernel needs from its load address, BSS included (the
    /// header's `image_size`, or the file size when that is 0, as Linux
    /// does for kernels before 3.17).
    pub image_size: u64,
    /// Length of the uncompressed `Image` file.
    pub file_size: u64,
    /// The header's flags (bit 0: big-endian kernel; bits 1-2: page size;
    /// bit 3: physical placement).
    pub flags: u64,
    /// Whether the file was compressed.
    pub compressed: bool,
}

/// Why a kernel could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Fewer bytes than an `Image` header.
    TooShort { len: u64 },
    /// No `ARM\x64` magic at 0x38.
    BadMagic { found: [u8; 4] },
    /// An ELF file (a `vmlinux`) instead of an `Image`.
    Elf,
    /// A compression other than gzip.
    UnsupportedCompression(&'static str),
    /// A gzip header with reserved flags or a method other than deflate.
    BadGzipHeader { offset: usize, reason: &'static str },
    /// The gzip header's own CRC-16 does not match.
    GzipHeaderCrc { stored: u16, computed: u16 },
    /// The file ends inside the named part of the gzip stream.
    TruncatedGzip { part: &'static str },
    /// The deflate data is invalid near this offset of the file.
    CorruptDeflate { offset: usize },
    /// The inflated data does not match the trailer's CRC-32.
    CrcMismatch { stored: u32, computed: u32 },
    /// The inflated length (mod 2^32) does not match the trailer's.
    SizeMismatch { stored: u32, inflated: u64 },
    /// The destination is smaller than the kernel needs.
    DestTooSmall { needed: u64, available: u64 },
    /// An EFI zboot header whose payload lies outside the file.
    BadZboot { offset: u64, len: u64, file: u64 },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooShort { len } => {
                write!(f, "not a kernel Image: {len} bytes, shorter than the 64-byte header")
            }
            ImageError::BadMagic { found } => write!(
                f,
                "not a kernel Image: magic at 0x38 is {:02x} {:02x} {:02x} {:02x}, \
                 expected 41 52 4d 64 (\"ARM\\x64\")",
                found[0], found[1], found[2], found[3]
            ),
            ImageError::Elf => {
                write!(f, "an ELF file (vmlinux?), not a kernel Image (arch/arm64/boot/Image)")
            }
            ImageError::UnsupportedCompression(c) => {
                write!(f, "kernel compressed with {c}; only gzip is supported")
            }
            ImageError::BadGzipHeader { offset, reason } => {
                write!(f, "bad gzip header at offset {offset:#x}: {reason}")
            }
            ImageError::GzipHeaderCrc { stored, computed } => {
                write!(f, "gzip header checksum {computed:#06x}, header says {stored:#06x}")
            }
            ImageError::TruncatedGzip { part } => write!(f, "gzip file truncated in its {part}"),
            ImageError::CorruptDeflate { offset } => {
                write!(f, "corrupt deflate data near offset {offset:#x} of the gzip file")
            }
            ImageError::CrcMismatch { stored, computed } => write!(
                f,
                "inflated kernel has CRC-32 {computed:#010x}, gzip trailer says {stored:#010x}"
            ),
            ImageError::SizeMismatch { stored, inflated } => {
                write!(f, "inflated {inflated} bytes, gzip trailer says {stored} (mod 2^32)")
            }
            ImageError::DestTooSmall { needed, available } => write!(
                f,
                "the kernel needs {needed} bytes from its load address; only {available} are there"
            ),
            ImageError::BadZboot { offset, len, file } => write!(
                f,
                "EFI zboot payload [{offset:#x}, +{len:#x}) lies outside the {file}-byte file"
            ),
        }
    }
}

/// Recognises the container of `data` without inflating it.
pub fn probe(data: &[u8]) -> Result<Kind, ImageError> {
    if data.starts_with(&GZIP_MAGIC) {
        return Ok(Kind::Gzip);
    }
    if data.len() >= 0x38 && data.starts_with(b"MZ") && &data[4..8] == b"zimg" {
        let offset = u32_le(data, 8) as usize;
        let len = u32_le(data, 12) as usize;
        let comp = &data[0x18..0x38];
        let comp = &comp[..comp.iter().position(|&b| b == 0).unwrap_or(comp.len())];
        if comp != b"gzip" {
            return Err(ImageError::UnsupportedCompression(compression_name(comp)));
        }
        if offset.checked_add(len).is_none_or(|end| end > data.len()) {
            return Err(ImageError::BadZboot {
                offset: offset as u64,
                len: len as u64,
                file: data.len() as u64,
            });
        }
        return Ok(Kind::ZbootGzip { offset, len });
    }
    const OTHERS: [(&[u8], &str); 6] = [
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
        (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
        (&[0x02, 0x21, 0x4c, 0x18], "lz4 (legacy)"),
        (b"BZh", "bzip2"),
        (&[0x89, b'L', b'Z', b'O'], "lzo"),
    ];
    for (magic, name) in OTHERS {
        if data.starts_with(magic) {
            return Err(ImageError::UnsupportedCompression(name));
        }
    }
    if data.starts_with(b"\x7fELF") {
        return Err(ImageError::Elf);
    }
    check_header(data)?;
    Ok(Kind::Raw)
}

fn compression_name(comp: &[u8]) -> &'static str {
    match comp {
        b"zstd" | b"zstd22" => "zstd",
        b"xzkern" | b"xz" => "xz",
        b"lzma" => "lzma",
        b"lz4" => "lz4",
        b"lzo" => "lzo",
        b"bzip2" => "bzip2",
        _ => "an unknown method (EFI zboot)",
    }
}

/// Reads the header of a kernel file without loading it: for a compressed
/// file only the first 64 bytes are inflated, and `file_size` is the gzip
/// trailer's length (mod 2^32). Lets the caller place the kernel before
/// loading it.
pub fn inspect(data: &[u8]) -> Result<Loaded, ImageError> {
    match probe(data)? {
        Kind::Raw => {
            let h = check_header(data)?;
            Ok(h.loaded(data.len() as u64, false))
        }
        Kind::Gzip => inspect_gzip(data),
        Kind::ZbootGzip { offset, len } => inspect_gzip(&data[offset..offset + len]),
    }
}

fn inspect_gzip(gz: &[u8]) -> Result<Loaded, ImageError> {
    let start = gzip_header_len(gz)?;
    let size = trailer_isize(gz)?;
    let mut first = [0u8; HEADER_SIZE];
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, consumed, written) = decompress(&mut state, &gz[start..], &mut first, 0, flags);
    match status {
        TINFLStatus::Done | TINFLStatus::HasMoreOutput => {}
        s => return Err(inflate_error(s, start + consumed)),
    }
    let h = check_header(&first[..written])?;
    Ok(h.loaded(size as u64, true))
}

/// Loads the kernel in `data` (raw, gzip or EFI zboot) into `dest`, which
/// starts at the kernel's load address and runs to the end of guest RAM.
pub fn load(data: &[u8], dest: &mut [u8]) -> Result<Loaded, ImageError> {
    match probe(data)? {
        Kind::Raw => {
            let h = check_header(data)?;
            let loaded = h.loaded(data.len() as u64, false);
            fits(&loaded, dest.len())?;
            dest[..data.len()].copy_from_slice(data);
            Ok(loaded)
        }
        Kind::Gzip => load_gzip(data, dest),
        Kind::ZbootGzip { offset, len } => load_gzip(&data[offset..offset + len], dest),
    }
}

fn fits(loaded: &Loaded, available: usize) -> Result<(), ImageError> {
    let needed = loaded.image_size.max(loaded.file_size);
    if needed > available as u64 {
        return Err(ImageError::DestTooSmall { needed, available: available as u64 });
    }
    Ok(())
}

fn load_gzip(gz: &[u8], dest: &mut [u8]) -> Result<Loaded, ImageError> {
    let start = gzip_header_len(gz)?;
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, consumed, written) = decompress(&mut state, &gz[start..], dest, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => {
            // Say how much is needed: the trailer's length, or the header's
            // image_size when the header came out already.
            let mut needed = trailer_isize(gz).map(u64::from).unwrap_or(0);
            if let Ok(h) = check_header(&dest[..written.min(dest.len())]) {
                needed = needed.max(h.image_size);
            }
            let available = dest.len() as u64;
            return Err(ImageError::DestTooSmall { needed: needed.max(available + 1), available });
        }
        s => return Err(inflate_error(s, start + consumed)),
    }
    let end = start + consumed;
    let trailer = gz.get(end..end + 8).ok_or(ImageError::TruncatedGzip { part: "trailer" })?;
    let stored_crc = u32_le(trailer, 0);
    let stored_size = u32_le(trailer, 4);
    let out = &dest[..written];
    if stored_size != written as u32 {
        return Err(ImageError::SizeMismatch { stored: stored_size, inflated: written as u64 });
    }
    let computed = crc32(out);
    if computed != stored_crc {
        return Err(ImageError::CrcMismatch { stored: stored_crc, computed });
    }
    let h = check_header(out)?;
    let loaded = h.loaded(written as u64, true);
    fits(&loaded, dest.len())?;
    Ok(loaded)
}

fn inflate_error(status: TINFLStatus, offset: usize) -> ImageError {
    match status {
        TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
            ImageError::TruncatedGzip { part: "deflate stream" }
        }
        _ => ImageError::CorruptDeflate { offset },
    }
}

/// The raw header fields.
struct Header {
    text_offset: u64,
    image_size: u64,
    flags: u64,
}

impl Header {
    fn loaded(&self, file_size: u64, compressed: bool) -> Loaded {
        Loaded {
            text_offset: self.text_offset,
            image_size: if self.image_size == 0 { file_size } else { self.image_size },
            file_size,
            flags: self.flags,
            compressed,
        }
    }
}

fn check_header(image: &[u8]) -> Result<Header, ImageError> {
    if image.len() < HEADER_SIZE {
        return Err(ImageError::TooShort { len: image.len() as u64 });
    }
    let found: [u8; 4] = image[MAGIC_OFFSET..MAGIC_OFFSET + 4].try_into().unwrap();
    if found != MAGIC {
        return Err(ImageError::BadMagic { found });
    }
    Ok(Header {
        text_offset: u64_le(image, 0x08),
        image_size: u64_le(image, 0x10),
        flags: u64_le(image, 0x18),
    })
}

/// Length of the gzip member header (RFC 1952), where the deflate data
/// starts; checks the header CRC when FHCRC is set.
fn gzip_header_len(gz: &[u8]) -> Result<usize, ImageError> {
    const TRUNCATED: ImageError = ImageError::TruncatedGzip { part: "header" };
    if gz.len() < 10 {
        return Err(TRUNCATED);
    }
    if gz[2] != GZIP_DEFLATE {
        return Err(ImageError::BadGzipHeader {
            offset: 2,
            reason: "compression method is not deflate (8)",
        });
    }
    let flags = gz[3];
    if flags & FRESERVED != 0 {
        return Err(ImageError::BadGzipHeader { offset: 3, reason: "reserved flag bits set" });
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = gz.get(at..at + 2).ok_or(TRUNCATED)?;
        at += 2 + u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = gz.get(at..).ok_or(TRUNCATED)?;
            let nul = rest.iter().position(|&b| b == 0).ok_or(TRUNCATED)?;
            at += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = gz.get(at..at + 2).ok_or(TRUNCATED)?;
        let stored = u16::from_le_bytes([stored[0], stored[1]]);
        let computed = crc32(&gz[..at]) as u16;
        if stored != computed {
            return Err(ImageError::GzipHeaderCrc { stored, computed });
        }
        at += 2;
    }
    if at > gz.len() {
        return Err(TRUNCATED);
    }
    Ok(at)
}

/// The trailer's ISIZE, taken from the end of the file.
fn trailer_isize(gz: &[u8]) -> Result<u32, ImageError> {
    if gz.len() < 18 {
        return Err(ImageError::TruncatedGzip { part: "trailer" });
    }
    Ok(u32_le(gz, gz.len() - 4))
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, as in gzip and zip) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continues the CRC-32 `crc` of earlier data over `data`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::compress_to_vec;

    /// A fake Image: header with the given fields, then a patterned payload.
    fn fake_image(len: usize, text_offset: u64, image_size: u64) -> Vec<u8> {
        let mut v: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        v[..HEADER_SIZE].fill(0);
        v[0..4].copy_from_slice(b"MZ@\xfa");
        v[0x08..0x10].copy_from_slice(&text_offset.to_le_bytes());
        v[0x10..0x18].copy_from_slice(&image_size.to_le_bytes());
        v[0x18..0x20].copy_from_slice(&0xau64.to_le_bytes());
        v[MAGIC_OFFSET..MAGIC_OFFSET + 4].copy_from_slice(&MAGIC);
        v
    }

    /// A gzip file with the given header flags' optional fields.
    fn gzip(data: &[u8], flags: u8) -> Vec<u8> {
        let mut g = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
        if flags & FEXTRA != 0 {
            g.extend_from_slice(&[4, 0, b'a', b'b', 2, 0]);
        }
        if flags & FNAME != 0 {
            g.extend_from_slice(b"Image\0");
        }
        if flags & FCOMMENT != 0 {
            g.extend_from_slice(b"a comment\0");
        }
        if flags & FHCRC != 0 {
            let c = crc32(&g) as u16;
            g.extend_from_slice(&c.to_le_bytes());
        }
        g.extend_from_slice(&compress_to_vec(data, 6));
        g.extend_from_slice(&crc32(data).to_le_bytes());
        g.extend_from_slice(&(data.len() as u32).to_le_bytes());
        g
    }

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32_update(crc32(b"12345"), b"6789"), 0xcbf4_3926);
    }

    #[test]
    fn loads_raw() {
        let img = fake_image(10_000, 0x80000, 20_000);
        assert_eq!(probe(&img), Ok(Kind::Raw));
        let mut dest = vec![0u8; 20_000];
        let l = load(&img, &mut dest).unwrap();
        assert_eq!(
            l,
            Loaded {
                text_offset: 0x80000,
                image_size: 20_000,
                file_size: 10_000,
                flags: 0xa,
                compressed: false
            }
        );
        assert_eq!(&dest[..10_000], &img[..]);
        assert_eq!(inspect(&img).unwrap(), l);
    }

    #[test]
    fn zero_image_size_means_file_size() {
        let img = fake_image(4096, 0, 0);
        let mut dest = vec![0u8; 4096];
        let l = load(&img, &mut dest).unwrap();
        assert_eq!(l.image_size, 4096);
        let l = load(&gzip(&img, 0), &mut dest).unwrap();
        assert_eq!(l.image_size, 4096);
    }

    #[test]
    fn loads_gzip_with_every_header_field() {
        let img = fake_image(300_000, 0, 400_000);
        for flags in [0, FEXTRA, FNAME, FCOMMENT, FHCRC, FEXTRA | FNAME | FCOMMENT | FHCRC] {
            let gz = gzip(&img, flags);
            assert_eq!(probe(&gz), Ok(Kind::Gzip));
            let mut dest = vec![0u8; 400_000];
            let l = load(&gz, &mut dest).unwrap();
            assert!(l.compressed);
            assert_eq!((l.file_size, l.image_size, l.text_offset), (300_000, 400_000, 0));
            assert_eq!(&dest[..img.len()], &img[..], "flags {flags:#x}");
            assert_eq!(inspect(&gz).unwrap(), l);
        }
    }

    #[test]
    fn trailing_bytes_after_gzip_member_are_ignored() {
        let img = fake_image(5000, 0, 0);
        let mut gz = gzip(&img, 0);
        gz.extend_from_slice(&[0; 512]);
        let mut dest = vec![0u8; 5000];
        assert_eq!(load(&gz, &mut dest).unwrap().file_size, 5000);
        assert_eq!(dest, img);
    }

    #[test]
    fn loads_efi_zboot() {
        let img = fake_image(50_000, 0, 60_000);
        let gz = gzip(&img, FNAME);
        let mut z = vec![0u8; 0x100];
        z[0..2].copy_from_slice(b"MZ");
        z[4..8].copy_from_slice(b"zimg");
        z[8..12].copy_from_slice(&0x100u32.to_le_bytes());
        z[12..16].copy_from_slice(&(gz.len() as u32).to_le_bytes());
        z[0x18..0x1c].copy_from_slice(b"gzip");
        z.extend_from_slice(&gz);
        z.extend_from_slice(&[0xaa; 64]);
        assert_eq!(probe(&z), Ok(Kind::ZbootGzip { offset: 0x100, len: gz.len() }));
        let mut dest = vec![0u8; 60_000];
        let l = load(&z, &mut dest).unwrap();
        assert_eq!(l.image_size, 60_000);
        assert_eq!(&dest[..50_000], &img[..]);

        let mut bad = z.clone();
        bad[0x18..0x1c].copy_from_slice(b"zstd");
        assert_eq!(probe(&bad), Err(ImageError::UnsupportedCompression("zstd")));
        let mut bad = z.clone();
        bad[12..16].copy_from_slice(&(z.len() as u32).to_le_bytes());
        assert!(matches!(probe(&bad), Err(ImageError::BadZboot { .. })));
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        let mut img = fake_image(1000, 0, 0);
        img[MAGIC_OFFSET] = b'X';
        let mut dest = vec![0u8; 1000];
        let e = load(&img, &mut dest).unwrap_err();
        assert_eq!(e, ImageError::BadMagic { found: *b"XRM\x64" });
        assert!(e.to_string().contains("58 52 4d 64"), "{e}");
        assert_eq!(load(&img[..10], &mut dest), Err(ImageError::TooShort { len: 10 }));
        assert_eq!(probe(b"\x7fELF\x02\x01\x01"), Err(ImageError::Elf));
        assert_eq!(
            probe(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]),
            Err(ImageError::UnsupportedCompression("zstd"))
        );
        // A gzip file of something that is not an Image.
        let gz = gzip(&[0x55; 200], 0);
        assert!(matches!(load(&gz, &mut dest), Err(ImageError::BadMagic { .. })));
    }

    #[test]
    fn dest_too_small() {
        let img = fake_image(10_000, 0, 30_000);
        let mut dest = vec![0u8; 20_000];
        let e = load(&img, &mut dest).unwrap_err();
        assert_eq!(e, ImageError::DestTooSmall { needed: 30_000, available: 20_000 });
        assert_eq!(
            e.to_string(),
            "the kernel needs 30000 bytes from its load address; only 20000 are there"
        );
        // Compressed: the file fits but the BSS does not.
        assert_eq!(load(&gzip(&img, 0), &mut dest), Err(e));
        // Compressed: not even the file fits.
        let mut tiny = vec![0u8; 5000];
        assert_eq!(
            load(&gzip(&img, 0), &mut tiny),
            Err(ImageError::DestTooSmall { needed: 30_000, available: 5000 })
        );
    }

    #[test]
    fn damaged_gzip() {
        let img = fake_image(100_000, 0, 0);
        let gz = gzip(&img, FNAME);
        let mut dest = vec![0u8; 100_000];
        let n = gz.len();

        let mut bad = gz.clone();
        bad[n - 8] ^= 1;
        assert!(matches!(load(&bad, &mut dest), Err(ImageError::CrcMismatch { .. })));

        let mut bad = gz.clone();
        bad[n - 4] ^= 1;
        assert!(matches!(load(&bad, &mut dest), Err(ImageError::SizeMismatch { .. })));

        assert_eq!(
            load(&gz[..n - 3], &mut dest),
            Err(ImageError::TruncatedGzip { part: "trailer" })
        );
        assert_eq!(
            load(&gz[..n / 2], &mut dest),
            Err(ImageError::TruncatedGzip { part: "deflate stream" })
        );
        assert_eq!(load(&gz[..12], &mut dest), Err(ImageError::TruncatedGzip { part: "header" }));

        let mut bad = gz.clone();
        bad[2] = 7;
        assert!(matches!(load(&bad, &mut dest), Err(ImageError::BadGzipHeader { offset: 2, .. })));
        let mut bad = gz.clone();
        bad[3] |= 0x80;
        assert!(matches!(load(&bad, &mut dest), Err(ImageError::BadGzipHeader { offset: 3, .. })));

        let mut bad = gzip(&img, FHCRC);
        bad[5] ^= 1; // mtime, covered by the header CRC
        assert!(matches!(load(&bad, &mut dest), Err(ImageError::GzipHeaderCrc { .. })));

        // Block type 3 is invalid: the error names the offset of the
        // block header's byte (or just past it).
        let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07];
        bad.extend_from_slice(&[0; 20]);
        let e = load(&bad, &mut dest).unwrap_err();
        assert!(matches!(e, ImageError::CorruptDeflate { offset: 10 | 11 }), "{e:?}");
        assert!(e.to_string().starts_with("corrupt deflate data near offset 0x"), "{e}");
    }
}

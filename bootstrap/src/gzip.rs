//! gzip (RFC 1952) inflation for `module[uncompress]`: the header is parsed
//! here, the deflate stream is inflated by `miniz_oxide` straight into the
//! destination, and the trailer's CRC-32 and length are checked, so a damaged
//! module is refused rather than handed on.

use core::fmt;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// Why a gzip stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzError {
    NotGzip,
    UnsupportedMethod(u8),
    TruncatedHeader,
    TruncatedTrailer,
    /// The deflate stream is damaged or ends early.
    Corrupt,
    /// The output does not fit the destination.
    TooLarge,
    /// The inflated length differs from the trailer's.
    LengthMismatch {
        trailer: u32,
        inflated: u64,
    },
    /// The inflated data does not match the trailer's CRC-32.
    CrcMismatch {
        trailer: u32,
        computed: u32,
    },
}

impl fmt::Display for GzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GzError::NotGzip => write!(f, "not a gzip stream (bad magic)"),
            GzError::UnsupportedMethod(m) => {
                write!(f, "gzip compression method {m} is not deflate")
            }
            GzError::TruncatedHeader => write!(f, "gzip header truncated"),
            GzError::TruncatedTrailer => write!(f, "gzip trailer missing"),
            GzError::Corrupt => write!(f, "deflate stream corrupt or truncated"),
            GzError::TooLarge => write!(f, "inflated data larger than announced"),
            GzError::LengthMismatch { trailer, inflated } => {
                write!(f, "inflated {inflated} bytes, gzip trailer says {trailer}")
            }
            GzError::CrcMismatch { trailer, computed } => {
                write!(
                    f,
                    "inflated data checksum {computed:#010x}, gzip trailer says {trailer:#010x}"
                )
            }
        }
    }
}

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

/// Offset of the deflate stream in a gzip member.
fn header_len(gz: &[u8]) -> Result<usize, GzError> {
    if gz.len() < 10 {
        return Err(if gz.starts_with(&[0x1f, 0x8b]) || gz.len() < 2 {
            GzError::TruncatedHeader
        } else {
            GzError::NotGzip
        });
    }
    if gz[0] != 0x1f || gz[1] != 0x8b {
        return Err(GzError::NotGzip);
    }
    if gz[2] != 8 {
        return Err(GzError::UnsupportedMethod(gz[2]));
    }
    let flags = gz[3];
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = gz.get(at..at + 2).ok_or(GzError::TruncatedHeader)?;
        at += 2 + u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = gz.get(at..).ok_or(GzError::TruncatedHeader)?;
            let nul = rest.iter().position(|&b| b == 0).ok_or(GzError::TruncatedHeader)?;
            at += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > gz.len() {
        return Err(GzError::TruncatedHeader);
    }
    Ok(at)
}

/// The uncompressed length the trailer announces (modulo 2^32).
pub fn trailer_len(gz: &[u8]) -> Result<u32, GzError> {
    header_len(gz)?;
    if gz.len() < 18 {
        return Err(GzError::TruncatedTrailer);
    }
    let t = &gz[gz.len() - 4..];
    Ok(u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
}

/// Inflates the gzip member `gz` into `out`, which must be exactly as long as
/// the inflated data; checks length and CRC-32 against the trailer.
pub fn inflate(gz: &[u8], out: &mut [u8]) -> Result<(), GzError> {
    let start = header_len(gz)?;
    if gz.len() < start + 8 {
        return Err(GzError::TruncatedTrailer);
    }
    let t = &gz[gz.len() - 8..];
    let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    if out.len() as u32 != isize {
        return Err(GzError::LengthMismatch { trailer: isize, inflated: out.len() as u64 });
    }
    let mut state = DecompressorOxide::new();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, _, written) = decompress(&mut state, &gz[start..gz.len() - 8], out, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => return Err(GzError::TooLarge),
        _ => return Err(GzError::Corrupt),
    }
    if written != out.len() {
        return Err(GzError::LengthMismatch { trailer: isize, inflated: written as u64 });
    }
    let computed = crc32fast::hash(out);
    if computed != crc {
        return Err(GzError::CrcMismatch { trailer: crc, computed });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n).comment("c");
        }
        let mut e = b.write(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_with_and_without_optional_fields() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for name in [None, Some("Image")] {
            let z = gz(&data, name);
            assert_eq!(trailer_len(&z).unwrap() as usize, data.len());
            let mut out = vec![0; data.len()];
            inflate(&z, &mut out).unwrap();
            assert_eq!(out, data);
        }
    }

    #[test]
    fn rejects_damage() {
        let data = b"hello hello hello hello".repeat(50);
        let z = gz(&data, None);
        let mut out = vec![0; data.len()];
        assert_eq!(inflate(b"PK\x03\x04xxxxxxxxxxxxxxxx", &mut out), Err(GzError::NotGzip));
        assert_eq!(inflate(&z[..5], &mut out), Err(GzError::TruncatedHeader));
        let mut bad = z.clone();
        bad[2] = 7;
        assert_eq!(inflate(&bad, &mut out), Err(GzError::UnsupportedMethod(7)));
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 8] ^= 1; // CRC
        assert!(matches!(inflate(&bad, &mut out), Err(GzError::CrcMismatch { .. })));
        let mut short = vec![0; data.len() - 1];
        assert!(matches!(inflate(&z, &mut short), Err(GzError::LengthMismatch { .. })));
        let cut = [&z[..z.len() / 2], &z[z.len() - 8..]].concat();
        assert!(inflate(&cut, &mut out).is_err());
    }
}

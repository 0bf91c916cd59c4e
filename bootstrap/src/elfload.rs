//! ELF load plans: which bytes of a program go where. The kernel is loaded at
//! its segments' physical addresses; the root task's segments are laid out
//! contiguously (seL4's elfloader does the same) at a physical address
//! bootstrap chooses, keeping their virtual offsets.

use core::fmt;
use elf::ElfBytes;
use elf::abi::{EM_AARCH64, ET_EXEC, PT_LOAD};
use elf::endian::LittleEndian;

/// At most this many loadable segments per program.
pub const MAX_SEGMENTS: usize = 16;
const PAGE: u64 = 4096;

/// Why a program cannot be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// Not a parseable 64-bit little-endian ELF.
    Malformed,
    /// Not built for aarch64.
    WrongMachine(u16),
    /// Not an executable (a shared object or relocatable file).
    NotExecutable(u16),
    NoSegments,
    TooManySegments,
    /// A segment's file bytes lie outside the file, or memsz < filesz.
    BadSegment(usize),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::Malformed => write!(f, "not a 64-bit little-endian ELF file"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine {m} is not aarch64 ({EM_AARCH64})"),
            ElfError::NotExecutable(t) => write!(f, "ELF type {t} is not an executable"),
            ElfError::NoSegments => write!(f, "ELF file has no loadable segment"),
            ElfError::TooManySegments => {
                write!(f, "ELF file has more than {MAX_SEGMENTS} loadable segments")
            }
            ElfError::BadSegment(i) => {
                write!(f, "ELF segment {i} is inconsistent or outside the file")
            }
        }
    }
}

/// One loadable segment.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub paddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// The loadable segments of a program and its entry point.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub entry: u64,
    pub segments: [Segment; MAX_SEGMENTS],
    pub count: usize,
}

impl Plan {
    /// Reads and checks the program headers of `file`.
    pub fn parse(file: &[u8]) -> Result<Plan, ElfError> {
        let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(|_| ElfError::Malformed)?;
        if elf.ehdr.e_machine != EM_AARCH64 {
            return Err(ElfError::WrongMachine(elf.ehdr.e_machine));
        }
        if elf.ehdr.e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(elf.ehdr.e_type));
        }
        let phdrs = elf.segments().ok_or(ElfError::NoSegments)?;
        let mut plan = Plan {
            entry: elf.ehdr.e_entry,
            segments: [Segment::default(); MAX_SEGMENTS],
            count: 0,
        };
        for (i, ph) in phdrs.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0).enumerate() {
            let in_file =
                ph.p_offset.checked_add(ph.p_filesz).is_some_and(|e| e <= file.len() as u64);
            if !in_file || ph.p_memsz < ph.p_filesz || ph.p_vaddr.checked_add(ph.p_memsz).is_none()
            {
                return Err(ElfError::BadSegment(i));
            }
            let slot = plan.segments.get_mut(i).ok_or(ElfError::TooManySegments)?;
            *slot = Segment {
                vaddr: ph.p_vaddr,
                paddr: ph.p_paddr,
                offset: ph.p_offset,
                filesz: ph.p_filesz,
                memsz: ph.p_memsz,
            };
            plan.count = i + 1;
        }
        if plan.count == 0 {
            return Err(ElfError::NoSegments);
        }
        Ok(plan)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// Page-aligned span of the segments' physical addresses: (start, end).
    pub fn phys_span(&self) -> (u64, u64) {
        span(self.segments().iter().map(|s| (s.paddr, s.memsz)))
    }

    /// Page-aligned span of the segments' virtual addresses: (start, end).
    pub fn virt_span(&self) -> (u64, u64) {
        span(self.segments().iter().map(|s| (s.vaddr, s.memsz)))
    }

    /// Copies the segments into `dest`, which stands for the physical span
    /// (`at_phys = true`) or the virtual span; bytes past each segment's file
    /// size, and gaps between segments, are zeroed.
    pub fn load_into(&self, file: &[u8], dest: &mut [u8], at_phys: bool) {
        let (base, _) = if at_phys { self.phys_span() } else { self.virt_span() };
        dest.fill(0);
        for s in self.segments() {
            let addr = if at_phys { s.paddr } else { s.vaddr };
            let at = (addr - base) as usize;
            let src = &file[s.offset as usize..(s.offset + s.filesz) as usize];
            dest[at..at + src.len()].copy_from_slice(src);
        }
    }
}

fn span(it: impl Iterator<Item = (u64, u64)>) -> (u64, u64) {
    let (mut lo, mut hi) = (u64::MAX, 0);
    for (a, len) in it {
        lo = lo.min(a);
        hi = hi.max(a + len);
    }
    (lo & !(PAGE - 1), (hi + PAGE - 1) & !(PAGE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal aarch64 executable with the given (vaddr, paddr, data, memsz) segments.
    fn elf(segs: &[(u64, u64, &[u8], u64)], machine: u16) -> Vec<u8> {
        let phoff = 64u64;
        let mut data_off = phoff + 56 * segs.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little endian
        out[6] = 1;
        out[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        out[18..20].copy_from_slice(&machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..32].copy_from_slice(&0x40_1234u64.to_le_bytes());
        out[32..40].copy_from_slice(&phoff.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        let mut payload = Vec::new();
        for (v, p, d, memsz) in segs {
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
            ph[8..16].copy_from_slice(&data_off.to_le_bytes());
            ph[16..24].copy_from_slice(&v.to_le_bytes());
            ph[24..32].copy_from_slice(&p.to_le_bytes());
            ph[32..40].copy_from_slice(&(d.len() as u64).to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
            out.extend_from_slice(&ph);
            payload.extend_from_slice(d);
            data_off += d.len() as u64;
        }
        out.extend_from_slice(&payload);
        out
    }

    #[test]
    fn plans_and_loads_segments() {
        let f = elf(
            &[(0x40_0000, 0x4000_0000, b"code", 4), (0x40_2010, 0x4000_2010, b"data", 0x100)],
            EM_AARCH64,
        );
        let p = Plan::parse(&f).unwrap();
        assert_eq!(p.entry, 0x40_1234);
        assert_eq!(p.count, 2);
        assert_eq!(p.virt_span(), (0x40_0000, 0x40_3000));
        assert_eq!(p.phys_span(), (0x4000_0000, 0x4000_3000));
        let mut mem = vec![0xaa; 0x3000];
        p.load_into(&f, &mut mem, false);
        assert_eq!(&mem[..4], b"code");
        assert_eq!(&mem[0x2010..0x2014], b"data");
        assert!(mem[0x2014..0x2110].iter().all(|&b| b == 0));
        assert!(mem[4..0x2010].iter().all(|&b| b == 0));
    }

    #[test]
    fn rejects_bad_programs() {
        assert_eq!(Plan::parse(b"not an elf").err(), Some(ElfError::Malformed));
        let f = elf(&[(0, 0, b"x", 1)], 62);
        assert_eq!(Plan::parse(&f).err(), Some(ElfError::WrongMachine(62)));
        let f = elf(&[], EM_AARCH64);
        assert_eq!(Plan::parse(&f).err(), Some(ElfError::NoSegments));
        let mut f = elf(&[(0, 0, b"abc", 1)], EM_AARCH64);
        assert_eq!(Plan::parse(&f).err(), Some(ElfError::BadSegment(0)));
        f.truncate(f.len() - 1);
        let f2 = elf(&[(0, 0, b"abc", 3)], EM_AARCH64);
        assert_eq!(Plan::parse(&f2[..f2.len() - 1]).err(), Some(ElfError::BadSegment(0)));
    }
}

//! Reading a program's ELF file: checked before anything is allocated, so
//! a bad file is refused with a message naming the module and the fault.
//!
//! Accepted: 64-bit little-endian AArch64 executables whose loadable
//! segments lie between program-env's `IMAGE_MIN_VADDR` and the rom/
//! window, with file contents inside the file. Segments may share pages;
//! a shared page gets the union of their permissions.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use elf::ElfBytes;
use elf::abi::{EM_AARCH64, ET_EXEC, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;

use crate::space::PAGE;

/// A loadable segment.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub vaddr: u64,
    pub offset: usize,
    pub filesz: usize,
    pub memsz: u64,
    pub flags: u32,
}

/// A checked program image.
#[derive(Debug)]
pub struct Image {
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Every page the image covers, with its permissions (`PF_*` bits).
    pub pages: BTreeMap<u64, u32>,
}

/// Checks `data` as a program image.
pub fn parse(data: &[u8]) -> Result<Image, String> {
    let file = ElfBytes::<LittleEndian>::minimal_parse(data)
        .map_err(|e| format!("not an ELF file ({e})"))?;
    let h = &file.ehdr;
    if h.class != elf::file::Class::ELF64 || h.e_machine != EM_AARCH64 || h.e_type != ET_EXEC {
        return Err(format!(
            "not a 64-bit AArch64 executable (class {:?}, machine {}, type {})",
            h.class, h.e_machine, h.e_type
        ));
    }
    let phdrs = file.segments().ok_or("no program headers")?;
    let (lo, hi) = (program_env::IMAGE_MIN_VADDR, program_env::ROM_VADDR_BASE);
    let mut segments = Vec::new();
    let mut pages = BTreeMap::new();
    for (i, p) in phdrs.iter().enumerate().filter(|(_, p)| p.p_type == PT_LOAD) {
        if p.p_memsz == 0 {
            continue;
        }
        let end = p.p_vaddr.checked_add(p.p_memsz).filter(|&e| p.p_vaddr >= lo && e <= hi);
        let Some(end) = end else {
            return Err(format!(
                "segment {i} at {:#x} (+{:#x}) lies outside {lo:#x}..{hi:#x}",
                p.p_vaddr, p.p_memsz
            ));
        };
        let file_end = p.p_offset.checked_add(p.p_filesz);
        if p.p_filesz > p.p_memsz || file_end.is_none_or(|e| e > data.len() as u64) {
            return Err(format!(
                "segment {i}: its {:#x} file bytes at offset {:#x} are not in the file \
                 ({:#x} bytes) or exceed its size in memory",
                p.p_filesz,
                p.p_offset,
                data.len()
            ));
        }
        let mut v = p.p_vaddr & !(PAGE - 1);
        while v < end {
            *pages.entry(v).or_insert(0) |= p.p_flags;
            v += PAGE;
        }
        segments.push(Segment {
            vaddr: p.p_vaddr,
            offset: p.p_offset as usize,
            filesz: p.p_filesz as usize,
            memsz: p.p_memsz,
            flags: p.p_flags,
        });
    }
    if segments.is_empty() {
        return Err("no loadable segment".into());
    }
    if !segments
        .iter()
        .any(|s| s.flags & PF_X != 0 && (s.vaddr..s.vaddr + s.memsz).contains(&h.e_entry))
    {
        return Err(format!("the entry point {:#x} is in no executable segment", h.e_entry));
    }
    Ok(Image { entry: h.e_entry, segments, pages })
}

impl Image {
    /// Writes the image's bytes for the page at `vaddr` into `page`
    /// (zero-filled by the caller).
    pub fn fill_page(&self, data: &[u8], vaddr: u64, page: &mut [u8]) {
        for s in &self.segments {
            let (from, to) = (s.vaddr.max(vaddr), (s.vaddr + s.filesz as u64).min(vaddr + PAGE));
            if from < to {
                let src = s.offset + (from - s.vaddr) as usize;
                let dst = (from - vaddr) as usize;
                let n = (to - from) as usize;
                page[dst..dst + n].copy_from_slice(&data[src..src + n]);
            }
        }
    }

    /// Whether pages with `flags` are writable / executable.
    pub fn writable(flags: u32) -> bool {
        flags & PF_W != 0
    }

    pub fn executable(flags: u32) -> bool {
        flags & PF_X != 0
    }
}

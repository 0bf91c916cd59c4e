//! Stripping program modules, as L4Re's image tools do unless a module is
//! marked `[nostrip]`: what bootstrap and the root task load of an ELF file
//! is its program headers and the file contents of its loadable segments,
//! so the packed copy keeps just those (no section headers, symbols or
//! debug information). Each segment keeps its offset modulo the page size.

use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::{Endianness, U16, U32, U64};

const PAGE: u64 = 4096;

/// The stripped copy of the 64-bit ELF file `data`, or `None` if it is not
/// one (or is malformed: then it is packed as it is and checked elsewhere).
pub fn strip(data: &[u8]) -> Option<Vec<u8>> {
    let hdr = FileHeader64::<Endianness>::parse(data).ok()?;
    let e = hdr.endian().ok()?;
    let phdrs = hdr.program_headers(e, data).ok()?;
    let ehsize = size_of::<FileHeader64<Endianness>>();
    let phsize = size_of::<ProgramHeader64<Endianness>>();
    let mut out = vec![0u8; ehsize + size_of_val(phdrs)];
    let mut new_phdrs = Vec::with_capacity(phdrs.len());
    // Where each old file offset range went: (old start, old end, new start).
    let mut moved: Vec<(u64, u64, u64)> = Vec::new();
    for p in phdrs {
        let mut q = *p;
        let (off, size) = (p.p_offset(e), p.p_filesz(e));
        if p.p_type(e) == elf::PT_LOAD && size > 0 {
            let bytes = data.get(off as usize..(off + size) as usize)?;
            // The first place at or after the end with the old offset's
            // remainder modulo the page size.
            let end = out.len() as u64;
            let mut at = end - end % PAGE + off % PAGE;
            if at < end {
                at += PAGE;
            }
            out.resize(at as usize, 0);
            out.extend_from_slice(bytes);
            q.p_offset = U64::new(e, at);
            moved.push((off, off + size, at));
        } else if p.p_type(e) == elf::PT_LOAD {
            // No file bytes (a stack, a bss): nothing to point at.
            q.p_offset = U64::new(e, 0);
        }
        new_phdrs.push(q);
    }
    // Other headers that point into a loadable segment's bytes follow it;
    // the rest keep no file contents.
    for (q, p) in new_phdrs.iter_mut().zip(phdrs) {
        if p.p_type(e) == elf::PT_LOAD {
            continue;
        }
        let (off, size) = (p.p_offset(e), p.p_filesz(e));
        match moved.iter().find(|m| m.0 <= off && off + size <= m.1) {
            Some(m) if size > 0 => q.p_offset = U64::new(e, m.2 + (off - m.0)),
            _ => {
                q.p_offset = U64::new(e, 0);
                q.p_filesz = U64::new(e, 0);
            }
        }
    }
    let mut h = *hdr;
    h.e_phoff = U64::new(e, ehsize as u64);
    h.e_shoff = U64::new(e, 0);
    h.e_shnum = U16::new(e, 0);
    h.e_shstrndx = U16::new(e, 0);
    h.e_shentsize = U16::new(e, 0);
    h.e_flags = U32::new(e, hdr.e_flags(e));
    out[..ehsize].copy_from_slice(object::bytes_of(&h));
    for (i, q) in new_phdrs.iter().enumerate() {
        let at = ehsize + i * phsize;
        out[at..at + phsize].copy_from_slice(object::bytes_of(q));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::Object;
    use object::read::elf::ElfFile64;

    /// A small ELF with one code segment, a symbol table and sections.
    fn elf() -> Vec<u8> {
        let mut obj = object::write::Object::new(
            object::BinaryFormat::Elf,
            object::Architecture::Aarch64,
            object::Endianness::Little,
        );
        let text = obj.section_id(object::write::StandardSection::Text);
        obj.append_section_data(text, &[0x1f, 0x20, 0x03, 0xd5], 4);
        let mut out = Vec::new();
        obj.emit(&mut out).expect("emit");
        out
    }

    #[test]
    fn keeps_segments_and_drops_sections() {
        let data = elf();
        // A relocatable file has no segments: stripping keeps nothing of it
        // but its header, and it still parses.
        let s = strip(&data).expect("an ELF file");
        assert!(s.len() < data.len());
        let f = ElfFile64::<Endianness>::parse(&s[..]).expect("parses");
        assert_eq!(f.segments().count(), 0);
        assert!(strip(b"not an elf").is_none());
    }

    /// An executable by hand: two loadable segments at page offsets 0x10
    /// and 0x8, then 4 KiB of bytes no segment covers (as debug data is).
    fn executable() -> Vec<u8> {
        let e = Endianness::Little;
        let (ehsize, phsize) = (64usize, 56usize);
        let mut out = vec![0u8; 0x3000];
        let segs = [(0x1010u64, 0x40_0010u64, 16u64, 16u64, 5u32), (0x2008, 0x40_1008, 8, 64, 6)];
        for (i, &(off, vaddr, filesz, memsz, flags)) in segs.iter().enumerate() {
            let p = ProgramHeader64::<Endianness> {
                p_type: U32::new(e, elf::PT_LOAD),
                p_flags: U32::new(e, flags),
                p_offset: U64::new(e, off),
                p_vaddr: U64::new(e, vaddr),
                p_paddr: U64::new(e, vaddr),
                p_filesz: U64::new(e, filesz),
                p_memsz: U64::new(e, memsz),
                p_align: U64::new(e, PAGE),
            };
            let at = ehsize + i * phsize;
            out[at..at + phsize].copy_from_slice(object::bytes_of(&p));
            for b in 0..filesz {
                out[(off + b) as usize] = (i as u8 + 1) * 0x10 + b as u8;
            }
        }
        let h = FileHeader64::<Endianness> {
            e_ident: object::elf::Ident {
                magic: elf::ELFMAG,
                class: elf::ELFCLASS64,
                data: elf::ELFDATA2LSB,
                version: elf::EV_CURRENT,
                os_abi: 0,
                abi_version: 0,
                padding: [0; 7],
            },
            e_type: U16::new(e, elf::ET_EXEC),
            e_machine: U16::new(e, elf::EM_AARCH64),
            e_version: U32::new(e, 1),
            e_entry: U64::new(e, 0x40_0010),
            e_phoff: U64::new(e, ehsize as u64),
            e_shoff: U64::new(e, 0),
            e_flags: U32::new(e, 0),
            e_ehsize: U16::new(e, ehsize as u16),
            e_phentsize: U16::new(e, phsize as u16),
            e_phnum: U16::new(e, segs.len() as u16),
            e_shentsize: U16::new(e, 0),
            e_shnum: U16::new(e, 0),
            e_shstrndx: U16::new(e, 0),
        };
        out[..ehsize].copy_from_slice(object::bytes_of(&h));
        out.extend(std::iter::repeat_n(0xdb, 4096));
        out
    }

    #[test]
    fn a_program_keeps_its_loadable_bytes() {
        let data = executable();
        let s = strip(&data).expect("an ELF file");
        assert!(s.len() < data.len(), "{} !< {}", s.len(), data.len());
        let segs = |d: &[u8]| -> Vec<(u64, u64, Vec<u8>)> {
            let f = ElfFile64::<Endianness>::parse(d).expect("parses");
            let e = f.endian();
            f.elf_program_headers()
                .iter()
                .map(|p| {
                    let (off, n) = (p.p_offset(e) as usize, p.p_filesz(e) as usize);
                    (p.p_vaddr(e), p.p_offset(e) % PAGE, d[off..off + n].to_vec())
                })
                .collect()
        };
        assert_eq!(segs(&data), segs(&s));
        let f = ElfFile64::<Endianness>::parse(&s[..]).expect("parses");
        assert_eq!(f.entry(), 0x40_0010);
        assert!(!s.contains(&0xdb));
    }
}

//! Packing and reading boot images.
//!
//! An image is one ELF file for QEMU's `-kernel`: bootstrap's loadable
//! segments, then one more segment holding the module table and the modules
//! (format: the `bootimage` crate), placed at the first page boundary past
//! bootstrap's `__bootstrap_end` symbol, where bootstrap looks for it. The
//! entry point is bootstrap's.

mod strip;

use crate::modlist::{Kind, Resolved};
use anyhow::{Context, Result, anyhow, bail};
use bootimage::table::{Builder, Input};
use bootimage::{Flags, PAGE_SIZE, Table, align_up};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader as _, ProgramHeader as _};
use object::{Endianness, Object, ObjectSymbol};
use std::borrow::Cow;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A module ready to pack: what the modules.list said and what the file holds.
pub struct Prepared {
    pub resolved: Resolved,
    pub data: Vec<u8>,
    /// Size the program sees at boot (after inflating).
    pub boot_size: u64,
}

impl Prepared {
    /// The module's bytes as the target sees them (inflated for
    /// `[uncompress]`).
    pub fn boot_data(&self) -> Result<Vec<u8>> {
        if !self.resolved.uncompress {
            return Ok(self.data.clone());
        }
        let mut v = Vec::new();
        flate2::read::GzDecoder::new(&self.data[..]).read_to_end(&mut v)?;
        Ok(v)
    }

    fn at(&self) -> String {
        format!("{}:{}", self.resolved.file.display(), self.resolved.line)
    }
}

/// Reads every module and checks it is what its directive says: a gzip
/// stream for `[uncompress]`, an aarch64 executable for `kernel` and
/// `roottask`.
pub fn prepare(resolved: &[Resolved]) -> Result<Vec<Prepared>> {
    let mut out = Vec::new();
    for r in resolved {
        let at = format!("{}:{}", r.file.display(), r.line);
        let mut data = fs::read(&r.path).with_context(|| {
            format!("{at}: reading module '{}' from {}", r.name, r.path.display())
        })?;
        // Programs are packed stripped unless `[nostrip]` (as in L4Re).
        if !r.nostrip
            && !r.uncompress
            && data.starts_with(b"\x7fELF")
            && let Some(s) = strip::strip(&data)
        {
            data = s;
        }
        let boot_size = if r.uncompress {
            let mut dec = flate2::read::GzDecoder::new(&data[..]);
            std::io::copy(&mut dec, &mut std::io::sink()).map_err(|e| {
                anyhow!(
                    "{at}: module '{}' is marked [uncompress] but {} is not a valid gzip file: {e}",
                    r.name,
                    r.path.display()
                )
            })?
        } else {
            data.len() as u64
        };
        if matches!(r.kind, Kind::Kernel | Kind::Roottask) {
            let what = if r.kind == Kind::Kernel { "kernel" } else { "roottask" };
            check_program(&data)
                .map_err(|e| anyhow!("{at}: {what} '{}' ({}): {e}", r.name, r.path.display()))?;
        }
        out.push(Prepared { resolved: r.clone(), data, boot_size });
    }
    Ok(out)
}

fn check_program(data: &[u8]) -> Result<()> {
    let file =
        ElfFile64::<Endianness>::parse(data).map_err(|e| anyhow!("not a 64-bit ELF file ({e})"))?;
    let hdr = file.elf_header();
    let e = file.endian();
    if hdr.e_machine(e) != elf::EM_AARCH64 {
        bail!("built for ELF machine {}, not aarch64", hdr.e_machine(e));
    }
    if hdr.e_type(e) != elf::ET_EXEC {
        bail!("not a static executable (ELF type {})", hdr.e_type(e));
    }
    Ok(())
}

/// A loadable segment of an ELF file.
struct Segment {
    vaddr: u64,
    paddr: u64,
    flags: u32,
    data: Vec<u8>,
    memsz: u64,
}

/// Physical span (start, end) of a program's loadable segments.
fn load_segments(data: &[u8]) -> Result<Vec<Segment>> {
    let file = ElfFile64::<Endianness>::parse(data)?;
    let e = file.endian();
    let mut segs = Vec::new();
    for ph in file.elf_program_headers() {
        if ph.p_type(e) != elf::PT_LOAD || ph.p_memsz(e) == 0 {
            continue;
        }
        let bytes = ph.data(e, data).map_err(|_| anyhow!("segment outside the file"))?;
        segs.push(Segment {
            vaddr: ph.p_vaddr(e),
            paddr: ph.p_paddr(e),
            flags: ph.p_flags(e),
            data: bytes.to_vec(),
            memsz: ph.p_memsz(e),
        });
    }
    Ok(segs)
}

fn phys_span(segs: &[Segment]) -> (u64, u64) {
    let lo = segs.iter().map(|s| s.paddr).min().unwrap_or(0);
    let hi = segs.iter().map(|s| s.paddr + s.memsz).max().unwrap_or(0);
    (lo, hi)
}

/// Writes the image for `modules` with the bootstrap program at `bootstrap`
/// to `out`, atomically: on any error no file is left at `out`.
/// Where `[uncompress]` modules are inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inflate {
    /// Here, as L4Re's image tools do: the image carries the inflated bytes.
    /// The default: loading them costs the target nothing, while bootstrap
    /// spends about 22 instructions per inflated byte (0.7 s of QEMU time
    /// for the 32 MiB guest kernel, measured with `-icount shift=0`).
    AtBuild,
    /// By bootstrap at boot: a smaller image (`UNCOMPRESS=boot`).
    AtBoot,
}

impl Inflate {
    /// From the environment: `UNCOMPRESS=boot` or `UNCOMPRESS=build`.
    pub fn from_env() -> Result<Inflate> {
        match std::env::var("UNCOMPRESS").as_deref() {
            Err(_) | Ok("") | Ok("build") => Ok(Inflate::AtBuild),
            Ok("boot") => Ok(Inflate::AtBoot),
            Ok(other) => bail!("UNCOMPRESS={other}: expected `build` or `boot`"),
        }
    }
}

pub fn pack(modules: &[Prepared], bootstrap: &Path, out: &Path, inflate: Inflate) -> Result<()> {
    let boot = fs::read(bootstrap)
        .with_context(|| format!("reading bootstrap from {}", bootstrap.display()))?;
    let file = ElfFile64::<Endianness>::parse(&*boot).context("bootstrap is not an ELF file")?;
    let entry = file.entry();
    let end = file
        .symbols()
        .find(|s| s.name() == Ok("__bootstrap_end"))
        .ok_or_else(|| anyhow!("bootstrap has no __bootstrap_end symbol"))?
        .address();
    let segs = load_segments(&boot)?;
    let blob_at = align_up(end, PAGE_SIZE);
    let (boot_lo, _) = phys_span(&segs);

    let mut builder = Builder::new();
    let inflated: Vec<Option<Vec<u8>>> = modules
        .iter()
        .map(|m| {
            (m.resolved.uncompress && inflate == Inflate::AtBuild)
                .then(|| m.boot_data())
                .transpose()
        })
        .collect::<Result<_>>()?;
    for (m, raw) in modules.iter().zip(&inflated) {
        let r = &m.resolved;
        let at_boot = m.resolved.uncompress && raw.is_none();
        let mut flags = if at_boot { Flags::UNCOMPRESS } else { Flags(0) };
        flags = flags
            | match r.kind {
                Kind::Kernel => Flags::KERNEL,
                Kind::Roottask => Flags::ROOTTASK,
                Kind::Data => Flags::DATA,
                Kind::Module => Flags(0),
            };
        builder.push(Input {
            name: r.name.clone(),
            cmdline: r.cmdline.clone(),
            flags,
            data: Cow::Borrowed(raw.as_deref().unwrap_or(&m.data)),
            inflated_size: m.boot_size,
        });
    }
    let blob = builder.build();
    let image_end = blob_at + blob.len() as u64;

    // The kernel is loaded at its own physical addresses; it must not land
    // on the image that carries it.
    if let Some(k) = modules.iter().find(|m| m.resolved.kind == Kind::Kernel) {
        let (klo, khi) = phys_span(&load_segments(&k.data)?);
        if klo < image_end && boot_lo < khi {
            bail!(
                "{}: kernel '{}' occupies {klo:#x}..{khi:#x}, which overlaps the boot image at {boot_lo:#x}..{image_end:#x}",
                k.at(),
                k.resolved.name
            );
        }
    }

    let mut buf = Vec::new();
    let mut w = object::write::elf::Writer::new(Endianness::Little, true, &mut buf);
    w.reserve_file_header();
    w.reserve_program_headers(segs.len() as u32 + 1);
    let offsets: Vec<usize> =
        segs.iter().map(|s| w.reserve(s.data.len(), PAGE_SIZE as usize)).collect();
    let blob_off = w.reserve(blob.len(), PAGE_SIZE as usize);
    w.write_file_header(&object::write::elf::FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_EXEC,
        e_machine: elf::EM_AARCH64,
        e_entry: entry,
        e_flags: 0,
    })?;
    w.write_align_program_headers();
    let phdr = |p_offset: usize, vaddr: u64, paddr: u64, filesz: usize, memsz: u64, flags: u32| {
        object::write::elf::ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: flags,
            p_offset: p_offset as u64,
            p_vaddr: vaddr,
            p_paddr: paddr,
            p_filesz: filesz as u64,
            p_memsz: memsz,
            p_align: PAGE_SIZE,
        }
    };
    for (s, &off) in segs.iter().zip(&offsets) {
        w.write_program_header(&phdr(off, s.vaddr, s.paddr, s.data.len(), s.memsz, s.flags));
    }
    w.write_program_header(&phdr(
        blob_off,
        blob_at,
        blob_at,
        blob.len(),
        blob.len() as u64,
        elf::PF_R,
    ));
    for (s, &off) in segs.iter().zip(&offsets) {
        w.pad_until(off);
        w.write(&s.data);
    }
    w.pad_until(blob_off);
    w.write(&blob);

    write_atomically(out, &buf)
}

/// Writes `data` to a temporary file beside `path`, then renames it.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("partial");
    let res = fs::write(&tmp, data).and_then(|_| fs::rename(&tmp, path));
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// A built image: the bytes of the file and where the module table starts.
pub struct Image {
    pub bytes: Vec<u8>,
    pub table_offset: usize,
}

impl Image {
    /// Reads an image and finds its module table (the loadable segment that
    /// starts with the table's magic).
    pub fn read(path: &Path) -> Result<Image> {
        let mut bytes = Vec::new();
        fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", path.display()))?;
        let file = ElfFile64::<Endianness>::parse(&*bytes)
            .with_context(|| format!("{}: not a boot image (not an ELF file)", path.display()))?;
        let e = file.endian();
        let table_offset = file
            .elf_program_headers()
            .iter()
            .filter(|ph| ph.p_type(e) == elf::PT_LOAD)
            .map(|ph| ph.p_offset(e) as usize)
            .find(|&off| bytes.get(off..off + 8) == Some(&bootimage::table::MAGIC[..]))
            .ok_or_else(|| anyhow!("{}: no module table in this ELF file", path.display()))?;
        Ok(Image { bytes, table_offset })
    }

    /// The validated module table.
    pub fn table(&self) -> Result<Table<'_>> {
        Table::parse(&self.bytes[self.table_offset..]).map_err(|e| anyhow!("{e}"))
    }
}

/// Prints the modules of the image at `path`; with `extract`, also writes
/// each module (inflated where bootstrap would inflate it) into that folder.
pub fn inspect(path: &Path, extract: Option<&Path>) -> Result<()> {
    let img = Image::read(path)?;
    let table = img.table().with_context(|| format!("{}", path.display()))?;
    println!(
        "{:>3}  {:<12} {:>10} {:>10}  {:<32} command line",
        "#", "flags", "stored", "at boot", "name"
    );
    for m in table.modules() {
        let ok = if m.verify().is_ok() { "" } else { "  (CORRUPT: checksum mismatch)" };
        println!(
            "{:>3}  {:<12} {:>10} {:>10}  {:<32} {}{ok}",
            m.index,
            format!("{:?}", m.flags),
            m.data.len(),
            m.inflated_size,
            m.name,
            m.cmdline
        );
        if let Some(dir) = extract {
            let dest: PathBuf = dir.join(m.name);
            let data = if m.flags.contains(Flags::UNCOMPRESS) {
                let mut v = Vec::new();
                flate2::read::GzDecoder::new(m.data).read_to_end(&mut v)?;
                v
            } else {
                m.data.to_vec()
            };
            write_atomically(&dest, &data)?;
        }
    }
    if let Some(dir) = extract {
        println!("extracted {} modules to {}", table.len(), dir.display());
    }
    Ok(())
}

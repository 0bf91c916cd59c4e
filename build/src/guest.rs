//! Fetches and prepares the arm64 Linux guest the VMM boots: Debian's arm64 kernel and a
//! small busybox ramdisk.
//!
//! Both come from Debian's arm64 packages through apt (`apt-get download` into a scratch
//! directory, `dpkg-deb -x`), so the guest is a stock, signed-off distribution kernel and
//! nothing is cross-compiled. The outputs are `Image.gz` (the kernel's arm64 Image,
//! gzip-compressed; `module[uncompress]` in modules.list inflates it at boot) and
//! `ramdisk-armv8-64.cpio.gz` (a newc cpio with busybox, `/bin/cntvct` and an `/init` that
//! brings up a shell on the console). A stamp file records what was built, so a later run
//! reuses the files without touching the network (a ramdisk of an older layout is rebuilt from
//! the busybox it holds); every output is written to a temporary file and renamed into place,
//! so an interrupted run never leaves a truncated file under its real name.

#![allow(dead_code)]

mod apt;
mod counter;
mod cpio;

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use flate2::Compression;
use flate2::write::GzEncoder;
use indicatif::{HumanBytes, ProgressBar, ProgressFinish, ProgressStyle};

use cpio::NewcWriter;

/// File name of the compressed kernel Image in the output directory.
pub const IMAGE_GZ: &str = "Image.gz";
/// File name of the compressed ramdisk in the output directory.
pub const RAMDISK: &str = "ramdisk-armv8-64.cpio.gz";
/// The files [`fetch`] produces, by the names modules.list uses for them.
pub const PROVIDES: &[&str] = &[IMAGE_GZ, RAMDISK];
/// File name of the stamp recording what the outputs were built from.
const STAMP: &str = "guest.stamp";
/// Scratch directory (under the output directory) for downloads and unpacked packages.
const SCRATCH: &str = ".guest-scratch";

/// Debian metapackage that depends on the current arm64 kernel package.
const KERNEL_METAPACKAGE: &str = "linux-image-arm64";
/// Debian package with a statically linked busybox.
const BUSYBOX_PACKAGE: &str = "busybox-static";

/// Version of the ramdisk's layout (the entries `ramdisk_cpio` writes, `/bin/cntvct`'s code);
/// bump it when they change so cached ramdisks are rebuilt. Changes to `INIT_SCRIPT` are
/// noticed on their own.
const RAMDISK_LAYOUT: u32 = 2;

/// Offset of the magic in the arm64 Image header (`Documentation/arch/arm64/booting.rst`).
const IMAGE_MAGIC_OFFSET: usize = 0x38;
/// The arm64 Image magic, `ARM\x64`.
const IMAGE_MAGIC: &[u8; 4] = b"ARM\x64";
/// Size of the arm64 Image header.
const IMAGE_HEADER_LEN: usize = 64;

/// Writes the ramdisk around `busybox` (an aarch64 ELF) to `path`,
/// gzip-compressed, atomically.
fn write_ramdisk(path: &Path, busybox: &[u8]) -> Result<()> {
    let cpio = ramdisk_cpio(busybox)?;
    write_atomically(path, |file| {
        let mut gz = GzEncoder::new(file, Compression::best());
        gz.write_all(&cpio)?;
        gz.finish()?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// `/init` of the ramdisk. It runs as PID 1 with the console the kernel opened from
/// `/dev/console`; `cttyhack` reopens the real console device (e.g. ttyAMA0) as the shell's
/// controlling terminal, which `/dev/console` cannot be, so job control and Ctrl-C work.
///
/// Before the shell it prints [`COUNTER_LINE`]: the architected counter as `/init` started
/// and after a first `date` (see `counter.rs`), then [`UP_LINE`].
pub const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
# /init of the guest ramdisk: mount the kernel filesystems, install the busybox
# applets, run a shell on the console and power off when it exits. It reads the
# counter first (cntvct prints "<count> <frequency>") and reports it with the
# count after a first `date`: how far the machine's clock had come.
set -- $(/bin/cntvct)
at_init=$1 hz=$2
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
cd /root
now=$(date)
set -- $(cntvct)
echo "guest: counter at $hz Hz: /init $at_init, date $1: $now"
echo "guest: Linux $(uname -r) is up; leave the shell to power off"
setsid cttyhack sh
echo "guest: shell exited, powering off"
poweroff -f
"#;

/// The start of the line `/init` prints with the counter: `guest: counter at <frequency>
/// Hz: /init <count>, date <count>: <date's answer>`.
pub const COUNTER_LINE: &str = "guest: counter at ";
/// The end of the last line `/init` prints before the shell's prompt (`guest: Linux
/// <release> is up; leave the shell to power off`).
pub const UP_LINE: &str = " is up; leave the shell to power off";

/// The guest files in the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFiles {
    /// The gzip-compressed arm64 kernel Image.
    pub image_gz: PathBuf,
    /// The gzip-compressed newc cpio ramdisk.
    pub ramdisk: PathBuf,
    /// The kernel release (`uname -r`), e.g. `6.1.0-56-arm64`.
    pub kernel_version: String,
}

/// Fetches Debian's arm64 Linux kernel package and busybox-static for arm64 through apt
/// (`apt-get download`, in a scratch dir under `out`), and produces in `out`:
///  - `Image.gz`: the kernel's arm64 Image (checked for the `ARM\x64` magic), gzip-compressed;
///  - `ramdisk-armv8-64.cpio.gz`: a gzipped newc cpio with `/bin/busybox`, `/bin/cntvct`
///    (see `counter.rs`), `/init` (see [`INIT_SCRIPT`]), the usual top-level directories and
///    `/dev/console`.
///
/// Reuses what a previous run left in `out` (recorded in a stamp file) without running apt;
/// `force` fetches and rebuilds everything. Outputs are written atomically, and progress is
/// shown for the download and the compression.
pub fn fetch(out: &Path, force: bool) -> Result<GuestFiles> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    remove_leftovers(out)?;
    if !force {
        match cache_state(out)? {
            Cache::Present(files) => {
                eprintln!(
                    "guest: reusing cached {IMAGE_GZ} and {RAMDISK} (Linux {}) in {}; `guest \
                     --force` fetches again",
                    files.kernel_version,
                    out.display()
                );
                return Ok(files);
            }
            Cache::OldRamdisk(stamp) => match rebuild_ramdisk(out, stamp) {
                Ok(files) => return Ok(files),
                Err(err) => {
                    eprintln!(
                        "guest: cannot rebuild the ramdisk from its busybox ({err:#}); fetching again"
                    );
                }
            },
            Cache::Stale(why) => eprintln!("guest: {why}; fetching again"),
            Cache::Missing => {}
        }
    }

    apt::check_arm64()?;
    let kernel = apt::resolve_kernel(KERNEL_METAPACKAGE)
        .context("resolving Debian's arm64 kernel package")?;
    let busybox = apt::candidate(BUSYBOX_PACKAGE).context("resolving busybox-static")?;

    // From here on the outputs change; drop the stamp first so that an interrupted run is
    // never mistaken for a finished one.
    let stamp_path = out.join(STAMP);
    match fs::remove_file(&stamp_path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("removing {}", stamp_path.display()));
        }
    }
    let scratch = Scratch::create(out.join(SCRATCH))?;
    let download_dir = scratch.subdir("debs")?;

    let total = kernel.size.zip(busybox.size).map(|(k, b)| k + b);
    let bar = bytes_bar(total, format!("downloading {} and {}", kernel.package, busybox.package));
    let debs = apt::download(&download_dir, &[&kernel, &busybox], &bar)?;
    bar.finish_and_clear();
    eprintln!(
        "guest: downloaded {} {} and {} {} ({})",
        kernel.package,
        kernel.version,
        busybox.package,
        busybox.version,
        HumanBytes(debs.iter().filter_map(|d| fs::metadata(d).ok()).map(|m| m.len()).sum())
    );

    let kernel_dir = scratch.subdir("kernel")?;
    let spin = spinner(format!("unpacking {}", kernel.package));
    apt::extract(&debs[0], &kernel_dir)
        .with_context(|| format!("unpacking {}", debs[0].display()))?;
    spin.finish_and_clear();
    let busybox_dir = scratch.subdir("busybox")?;
    apt::extract(&debs[1], &busybox_dir)
        .with_context(|| format!("unpacking {}", debs[1].display()))?;

    let (vmlinuz, kernel_version) = find_vmlinuz(&kernel_dir.join("boot"))
        .with_context(|| format!("in the package {}", kernel.package))?;
    let image_gz = out.join(IMAGE_GZ);
    compress_image(&vmlinuz, &image_gz)?;

    let busybox_bin = find_busybox(&busybox_dir)?;
    let busybox_elf =
        fs::read(&busybox_bin).with_context(|| format!("reading {}", busybox_bin.display()))?;
    ensure!(
        is_aarch64_elf(&busybox_elf),
        "{} from {} is not an aarch64 ELF executable",
        busybox_bin.display(),
        busybox.package
    );
    let ramdisk = out.join(RAMDISK);
    write_ramdisk(&ramdisk, &busybox_elf)?;
    eprintln!(
        "guest: wrote {} ({}, busybox {})",
        ramdisk.display(),
        HumanBytes(file_len(&ramdisk)),
        busybox.version
    );

    let stamp = Stamp {
        kernel_release: kernel_version.clone(),
        kernel_package: format!("{} {}", kernel.package, kernel.version),
        busybox_package: format!("{} {}", busybox.package, busybox.version),
        ramdisk_layout: ramdisk_layout(),
    };
    write_atomically(&stamp_path, |file| Ok(file.write_all(stamp.render().as_bytes())?))
        .with_context(|| format!("writing {}", stamp_path.display()))?;
    drop(scratch);

    Ok(GuestFiles { image_gz, ramdisk, kernel_version })
}

/// What the stamp file records about the outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    /// Kernel release, e.g. `6.1.0-56-arm64`.
    kernel_release: String,
    /// Kernel package and version, e.g. `linux-image-6.1.0-56-arm64 6.1.192-2`.
    kernel_package: String,
    /// Busybox package and version.
    busybox_package: String,
    /// [`ramdisk_layout`] when the ramdisk was built.
    ramdisk_layout: String,
}

impl Stamp {
    const KEYS: [&str; 4] =
        ["kernel-release", "kernel-package", "busybox-package", "ramdisk-layout"];

    fn render(&self) -> String {
        let values = [
            &self.kernel_release,
            &self.kernel_package,
            &self.busybox_package,
            &self.ramdisk_layout,
        ];
        Self::KEYS.iter().zip(values).map(|(key, value)| format!("{key}: {value}\n")).collect()
    }

    fn parse(text: &str) -> Option<Self> {
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            kernel_release: value(Self::KEYS[0])?,
            kernel_package: value(Self::KEYS[1])?,
            busybox_package: value(Self::KEYS[2])?,
            ramdisk_layout: value(Self::KEYS[3])?,
        })
    }
}

/// Identifies the ramdisk's contents apart from busybox: the layout version and a hash of
/// the init script.
fn ramdisk_layout() -> String {
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let hash = INIT_SCRIPT.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{RAMDISK_LAYOUT}-{hash:016x}")
}

/// What a previous run left in the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cache {
    /// No finished run: no stamp, or an output is missing.
    Missing,
    /// An unreadable stamp; says why.
    Stale(String),
    /// A finished run whose ramdisk has an older layout: both files are there, and the
    /// ramdisk can be rebuilt from the busybox it holds.
    OldRamdisk(Stamp),
    /// A finished run whose files can be reused.
    Present(GuestFiles),
}

/// Looks at what a previous run left in `out`, without printing anything.
fn cache_state(out: &Path) -> Result<Cache> {
    let stamp_path = out.join(STAMP);
    let text = match fs::read_to_string(&stamp_path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Cache::Missing),
        Err(err) => {
            return Err(err).with_context(|| format!("reading {}", stamp_path.display()));
        }
    };
    let Some(stamp) = Stamp::parse(&text) else {
        return Ok(Cache::Stale(format!("{} is unreadable", stamp_path.display())));
    };
    let files = GuestFiles {
        image_gz: out.join(IMAGE_GZ),
        ramdisk: out.join(RAMDISK),
        kernel_version: stamp.kernel_release.clone(),
    };
    let present = [&files.image_gz, &files.ramdisk]
        .iter()
        .all(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0));
    Ok(match (present, stamp.ramdisk_layout == ramdisk_layout()) {
        (false, _) => Cache::Missing,
        (true, true) => Cache::Present(files),
        (true, false) => Cache::OldRamdisk(stamp),
    })
}

/// The outputs in `out` if a finished run left them there and they match this tool's ramdisk
/// layout.
#[cfg(test)]
fn cached(out: &Path) -> Result<Option<GuestFiles>> {
    Ok(match cache_state(out)? {
        Cache::Present(files) => Some(files),
        _ => None,
    })
}

/// Builds the ramdisk of this tool's layout from the busybox in the cached ramdisk of an
/// older layout, and updates the stamp: no download needed.
fn rebuild_ramdisk(out: &Path, mut stamp: Stamp) -> Result<GuestFiles> {
    let ramdisk = out.join(RAMDISK);
    let mut old = Vec::new();
    flate2::read::GzDecoder::new(
        File::open(&ramdisk).with_context(|| format!("opening {}", ramdisk.display()))?,
    )
    .read_to_end(&mut old)
    .with_context(|| format!("inflating {}", ramdisk.display()))?;
    let entries =
        cpio::parse::parse(&old).with_context(|| format!("reading {}", ramdisk.display()))?;
    let busybox = entries
        .into_iter()
        .find(|e| e.name == "bin/busybox")
        .filter(|e| is_aarch64_elf(&e.data))
        .context("it holds no aarch64 bin/busybox")?;
    // The stamp goes first, as in `fetch`: an interrupted rebuild is never taken as finished.
    let stamp_path = out.join(STAMP);
    fs::remove_file(&stamp_path).with_context(|| format!("removing {}", stamp_path.display()))?;
    write_ramdisk(&ramdisk, &busybox.data)?;
    stamp.ramdisk_layout = ramdisk_layout();
    write_atomically(&stamp_path, |file| Ok(file.write_all(stamp.render().as_bytes())?))
        .with_context(|| format!("writing {}", stamp_path.display()))?;
    eprintln!(
        "guest: rebuilt {} for the new ramdisk layout from its busybox ({})",
        ramdisk.display(),
        stamp.busybox_package
    );
    Ok(GuestFiles { image_gz: out.join(IMAGE_GZ), ramdisk, kernel_version: stamp.kernel_release })
}

/// Whether `out` holds the files of a finished [`fetch`] that a new call would reuse.
pub fn present(out: &Path) -> bool {
    matches!(cache_state(out), Ok(Cache::Present(_)))
}

/// Finds `vmlinuz-<release>` in `boot` and returns its path and the release.
fn find_vmlinuz(boot: &Path) -> Result<(PathBuf, String)> {
    let entries = fs::read_dir(boot).with_context(|| {
        format!("listing {} (the kernel package has no /boot?)", boot.display())
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", boot.display()))?;
        let name = entry.file_name();
        if let Some(release) = name.to_str().and_then(|n| n.strip_prefix("vmlinuz-")) {
            found.push((entry.path(), release.to_owned()));
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no vmlinuz-* in {}", boot.display()),
        _ => bail!(
            "several kernels in {}: {:?}",
            boot.display(),
            found.iter().map(|(_, r)| r).collect::<Vec<_>>()
        ),
    }
}

/// Checks that `header` (at least the first 64 bytes of the file) is an arm64 Image header.
fn check_image_header(header: &[u8]) -> Result<()> {
    if header.starts_with(&[0x1f, 0x8b]) {
        bail!(
            "it is gzip-compressed, not an uncompressed arm64 Image; this tool expects Debian's \
             arm64 kernel package, whose /boot/vmlinuz-* is an uncompressed Image"
        );
    }
    ensure!(
        header.len() >= IMAGE_HEADER_LEN,
        "it is {} bytes long, shorter than the 64-byte arm64 Image header",
        header.len()
    );
    let magic = &header[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4];
    ensure!(
        magic == IMAGE_MAGIC,
        "it is not an arm64 Image: expected the magic \"ARM\\x64\" at offset 0x38, found {magic:02x?}"
    );
    Ok(())
}

/// Checks `vmlinuz` is an arm64 Image and writes it gzip-compressed to `dest`.
fn compress_image(vmlinuz: &Path, dest: &Path) -> Result<()> {
    let mut input =
        File::open(vmlinuz).with_context(|| format!("opening {}", vmlinuz.display()))?;
    let len = input
        .metadata()
        .with_context(|| format!("reading the size of {}", vmlinuz.display()))?
        .len();
    let mut header = Vec::with_capacity(IMAGE_HEADER_LEN);
    (&mut input)
        .take(IMAGE_HEADER_LEN as u64)
        .read_to_end(&mut header)
        .with_context(|| format!("reading {}", vmlinuz.display()))?;
    check_image_header(&header).with_context(|| format!("checking {}", vmlinuz.display()))?;

    let bar = bytes_bar(Some(len), format!("compressing {IMAGE_GZ}"));
    write_atomically(dest, |file| {
        let mut gz = GzEncoder::new(file, Compression::default());
        gz.write_all(&header)?;
        bar.inc(header.len() as u64);
        std::io::copy(&mut bar.wrap_read(&mut input), &mut gz)?;
        gz.finish()?;
        Ok(())
    })
    .with_context(|| format!("compressing {} into {}", vmlinuz.display(), dest.display()))?;
    bar.finish_and_clear();
    eprintln!(
        "guest: wrote {} ({} from a {} Image)",
        dest.display(),
        HumanBytes(file_len(dest)),
        HumanBytes(len)
    );
    Ok(())
}

/// Finds the busybox binary in an unpacked busybox-static package.
fn find_busybox(root: &Path) -> Result<PathBuf> {
    ["bin/busybox", "usr/bin/busybox"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no bin/busybox or usr/bin/busybox in the unpacked busybox-static package at {}",
                root.display()
            )
        })
}

/// Whether `bytes` start like a 64-bit little-endian ELF file for aarch64.
fn is_aarch64_elf(bytes: &[u8]) -> bool {
    const EM_AARCH64: u16 = 183;
    bytes.len() >= 20
        && bytes.starts_with(b"\x7fELF")
        && bytes[4] == 2 // ELFCLASS64
        && bytes[5] == 1 // ELFDATA2LSB
        && u16::from_le_bytes([bytes[18], bytes[19]]) == EM_AARCH64
}

/// The uncompressed ramdisk: the directories, `/dev/console`, busybox (with `/bin/sh`
/// pointing at it), a root account in `/etc` and `/init`.
fn ramdisk_cpio(busybox: &[u8]) -> Result<Vec<u8>> {
    let mut w = NewcWriter::new(Vec::with_capacity(busybox.len() + 4096));
    for (dir, perm) in [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("sbin", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
    ] {
        w.directory(dir, perm)?;
    }
    w.char_device("dev/console", 0o600, 5, 1)?;
    w.file("bin/busybox", 0o755, busybox)?;
    w.file("bin/cntvct", 0o755, &counter::elf())?;
    w.symlink("bin/sh", "busybox")?;
    w.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n")?;
    w.file("etc/group", 0o644, b"root:x:0:\n")?;
    w.file("init", 0o755, INIT_SCRIPT.as_bytes())?;
    w.finish().context("building the ramdisk")
}

/// Writes `dest` through `write` into a temporary file beside it, then renames it into place;
/// on failure the temporary file is removed and `dest` is left as it was.
fn write_atomically(
    dest: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let tmp = temp_path(dest)?;
    let result = (|| {
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut writer = BufWriter::new(file);
        write(&mut writer)?;
        let file = writer
            .into_inner()
            .map_err(|err| err.into_error())
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, dest)
            .with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary file [`write_atomically`] writes `dest` through: `.<name>.partial` beside it.
fn temp_path(dest: &Path) -> Result<PathBuf> {
    let name = dest.file_name().with_context(|| format!("{} has no file name", dest.display()))?;
    Ok(dest.with_file_name(format!(".{}.partial", name.to_string_lossy())))
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Removes what an interrupted run may have left in `out`: the scratch directory and
/// temporary files of [`write_atomically`].
fn remove_leftovers(out: &Path) -> Result<()> {
    let scratch = out.join(SCRATCH);
    if scratch.exists() {
        fs::remove_dir_all(&scratch)
            .with_context(|| format!("removing the old scratch dir {}", scratch.display()))?;
    }
    for name in [IMAGE_GZ, RAMDISK, STAMP] {
        let tmp = temp_path(&out.join(name))?;
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("removing {}", tmp.display())),
        }
    }
    Ok(())
}

/// A scratch directory, removed again when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn create(path: PathBuf) -> Result<Self> {
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.0.join(name);
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A byte-counting progress bar (a spinner when the total is unknown); hidden unless
/// stderr is a terminal, and cleared when finished or dropped (also on errors).
fn bytes_bar(total: Option<u64>, message: String) -> ProgressBar {
    let Some(total) = total else {
        return spinner(message);
    };
    let style = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total)
        .with_style(style)
        .with_message(message)
        .with_finish(ProgressFinish::AndClear)
}

fn spinner(message: String) -> ProgressBar {
    let bar =
        ProgressBar::new_spinner().with_message(message).with_finish(ProgressFinish::AndClear);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[cfg(test)]
mod tests {
    use super::cpio::parse::parse;
    use super::cpio::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
    use super::*;

    fn fake_image_header() -> Vec<u8> {
        let mut header = vec![0u8; IMAGE_HEADER_LEN];
        header[..4].copy_from_slice(&[0x4d, 0x5a, 0x40, 0xfa]);
        header[0x38..0x3c].copy_from_slice(b"ARM\x64");
        header
    }

    #[test]
    fn image_header_accepts_the_magic() {
        check_image_header(&fake_image_header()).unwrap();
        let mut longer = fake_image_header();
        longer.extend_from_slice(&[0xaa; 4096]);
        check_image_header(&longer).unwrap();
    }

    #[test]
    fn image_header_rejects_other_data() {
        let mut wrong_magic = fake_image_header();
        wrong_magic[0x3b] = 0x65;
        let err = check_image_header(&wrong_magic).unwrap_err().to_string();
        assert!(err.contains("0x38"), "{err}");
        let mut shifted = vec![0u8; IMAGE_HEADER_LEN];
        shifted[0x30..0x34].copy_from_slice(b"ARM\x64");
        assert!(check_image_header(&shifted).is_err());
        let short = &fake_image_header()[..0x3c];
        assert!(check_image_header(short).is_err());
        assert!(check_image_header(&[]).is_err());
        let mut gzip = vec![0x1f, 0x8b, 8, 0];
        gzip.resize(IMAGE_HEADER_LEN, 0);
        let err = check_image_header(&gzip).unwrap_err().to_string();
        assert!(err.contains("gzip"), "{err}");
    }

    #[test]
    fn init_script_mounts_and_starts_a_shell() {
        let script = INIT_SCRIPT;
        assert!(script.starts_with("#!/bin/busybox sh\n"));
        let position =
            |needle: &str| script.find(needle).unwrap_or_else(|| panic!("/init lacks {needle:?}"));
        let steps = [
            position("mount -t proc proc /proc"),
            position("mount -t sysfs sysfs /sys"),
            position("mount -t devtmpfs devtmpfs /dev"),
            position("/bin/busybox --install -s"),
            position("now=$(date)"),
            position("echo \"guest: counter at $hz Hz: /init $at_init, date $1: $now\""),
            position("echo \"guest: Linux $(uname -r) is up; leave the shell to power off\""),
            position("setsid cttyhack sh"),
            position("poweroff -f"),
        ];
        assert!(steps.is_sorted(), "/init runs its steps out of order");
        assert!(!script.contains("exec "), "the shell must return for the poweroff");
        assert!(script.lines().nth(5).is_some_and(|l| l == "set -- $(/bin/cntvct)"));
        assert!(script.contains(&format!("echo \"{COUNTER_LINE}")));
        assert!(script.contains(&format!("{UP_LINE}\"")));
    }

    #[test]
    fn ramdisk_has_busybox_init_dirs_and_console() {
        let busybox = b"\x7fELF fake busybox".repeat(3);
        let entries = parse(&ramdisk_cpio(&busybox).unwrap()).unwrap();
        let find = |name: &str| {
            entries
                .iter()
                .find(|e| e.name == name)
                .unwrap_or_else(|| panic!("ramdisk lacks {name}"))
        };
        for dir in ["dev", "proc", "sys", "tmp", "root", "etc", "bin"] {
            assert_eq!(find(dir).mode & S_IFMT, S_IFDIR, "{dir}");
        }
        assert_eq!(find("tmp").mode & 0o7777, 0o1777);
        let console = find("dev/console");
        assert_eq!(console.mode, S_IFCHR | 0o600);
        assert_eq!(console.rdev, (5, 1));
        let bb = find("bin/busybox");
        assert_eq!(bb.mode, S_IFREG | 0o755);
        assert_eq!(bb.data, busybox);
        let init = find("init");
        assert_eq!(init.mode, S_IFREG | 0o755);
        assert_eq!(init.data, INIT_SCRIPT.as_bytes());
        let cntvct = find("bin/cntvct");
        assert_eq!((cntvct.mode, cntvct.data.clone()), (S_IFREG | 0o755, counter::elf()));
        let sh = find("bin/sh");
        assert_eq!((sh.mode & S_IFMT, sh.data.as_slice()), (S_IFLNK, &b"busybox"[..]));
        // Every parent comes before its children: the kernel does not create directories.
        for (i, e) in entries.iter().enumerate() {
            if let Some((parent, _)) = e.name.rsplit_once('/') {
                let at = entries.iter().position(|p| p.name == parent);
                assert!(at.is_some_and(|at| at < i), "{} before its parent", e.name);
            }
        }
    }

    #[test]
    fn stamp_round_trips_and_rejects_partial_text() {
        let stamp = Stamp {
            kernel_release: "6.1.0-56-arm64".into(),
            kernel_package: "linux-image-6.1.0-56-arm64 6.1.192-2".into(),
            busybox_package: "busybox-static 1:1.35.0-4+deb12u1+b1".into(),
            ramdisk_layout: ramdisk_layout(),
        };
        let text = stamp.render();
        assert_eq!(Stamp::parse(&text), Some(stamp));
        let partial: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert_eq!(Stamp::parse(&partial), None);
        assert_eq!(Stamp::parse(""), None);
    }

    #[test]
    fn cache_needs_stamp_layout_and_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        assert_eq!(cached(out).unwrap(), None);
        fs::write(out.join(IMAGE_GZ), b"image").unwrap();
        fs::write(out.join(RAMDISK), b"ramdisk").unwrap();
        assert_eq!(cached(out).unwrap(), None, "no stamp");
        let mut stamp = Stamp {
            kernel_release: "6.1.0-56-arm64".into(),
            kernel_package: "k 1".into(),
            busybox_package: "b 1".into(),
            ramdisk_layout: ramdisk_layout(),
        };
        fs::write(out.join(STAMP), stamp.render()).unwrap();
        let files = cached(out).unwrap().unwrap();
        assert!(present(out));
        assert_eq!(files.kernel_version, "6.1.0-56-arm64");
        assert_eq!(files.image_gz, out.join(IMAGE_GZ));
        assert_eq!(files.ramdisk, out.join(RAMDISK));
        fs::remove_file(out.join(RAMDISK)).unwrap();
        assert_eq!(cached(out).unwrap(), None, "ramdisk missing");
        fs::write(out.join(RAMDISK), b"ramdisk").unwrap();
        stamp.ramdisk_layout = "0-0".into();
        fs::write(out.join(STAMP), stamp.render()).unwrap();
        assert_eq!(cached(out).unwrap(), None, "old layout");
        assert!(matches!(cache_state(out).unwrap(), Cache::OldRamdisk(_)));
        assert!(!present(out));
        fs::write(out.join(STAMP), "kernel-release: x\n").unwrap();
        assert!(matches!(cache_state(out).unwrap(), Cache::Stale(_)));
    }

    #[test]
    fn an_old_ramdisk_is_rebuilt_from_its_busybox() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let busybox = {
            let mut elf = vec![0u8; 64];
            elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
            elf[18..20].copy_from_slice(&183u16.to_le_bytes());
            elf
        };
        let mut old = cpio::NewcWriter::new(Vec::new());
        old.directory("bin", 0o755).unwrap();
        old.file("bin/busybox", 0o755, &busybox).unwrap();
        old.file("init", 0o755, b"#!/bin/sh\n").unwrap();
        let old = old.finish().unwrap();
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&old).unwrap();
        fs::write(out.join(RAMDISK), gz.finish().unwrap()).unwrap();
        fs::write(out.join(IMAGE_GZ), b"image").unwrap();
        let stamp = Stamp {
            kernel_release: "6.1.0-56-arm64".into(),
            kernel_package: "k 1".into(),
            busybox_package: "b 1".into(),
            ramdisk_layout: "1-0".into(),
        };
        fs::write(out.join(STAMP), stamp.render()).unwrap();
        let files = fetch(out, false).unwrap();
        assert_eq!(files.kernel_version, "6.1.0-56-arm64");
        assert!(present(out));
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(File::open(&files.ramdisk).unwrap())
            .read_to_end(&mut cpio)
            .unwrap();
        let entries = parse(&cpio).unwrap();
        let find = |name: &str| entries.iter().find(|e| e.name == name).map(|e| e.data.clone());
        assert_eq!(find("bin/busybox"), Some(busybox));
        assert_eq!(find("init").as_deref(), Some(INIT_SCRIPT.as_bytes()));
        assert_eq!(find("bin/cntvct"), Some(counter::elf()));
        assert_eq!(fs::read(out.join(IMAGE_GZ)).unwrap(), b"image");
    }

    #[test]
    fn atomic_write_replaces_or_leaves_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("file");
        write_atomically(&dest, |f| Ok(f.write_all(b"one")?)).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        let err = write_atomically(&dest, |f| {
            f.write_all(b"half")?;
            bail!("interrupted")
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&dest).unwrap(), b"one", "failed write touched dest");
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["file"], "temporary file left behind");
    }

    #[test]
    fn leftovers_of_an_interrupted_run_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        fs::create_dir_all(out.join(SCRATCH).join("kernel/boot")).unwrap();
        fs::write(out.join(SCRATCH).join("kernel/boot/vmlinuz-x"), b"").unwrap();
        fs::write(out.join(".Image.gz.partial"), b"half").unwrap();
        fs::write(out.join(IMAGE_GZ), b"kept").unwrap();
        remove_leftovers(out).unwrap();
        let names: Vec<_> = fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [IMAGE_GZ]);
        remove_leftovers(out).unwrap();
    }

    #[test]
    fn compresses_a_checked_image() {
        let dir = tempfile::tempdir().unwrap();
        let mut image = fake_image_header();
        image.extend((0..100_000u32).map(|i| (i % 251) as u8));
        let vmlinuz = dir.path().join("vmlinuz-1.0-arm64");
        fs::write(&vmlinuz, &image).unwrap();
        let dest = dir.path().join(IMAGE_GZ);
        compress_image(&vmlinuz, &dest).unwrap();
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(File::open(&dest).unwrap())
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, image);

        fs::write(&vmlinuz, vec![0u8; 4096]).unwrap();
        let other = dir.path().join("other.gz");
        assert!(compress_image(&vmlinuz, &other).is_err());
        assert!(!other.exists());
    }

    #[test]
    fn finds_the_single_vmlinuz() {
        let dir = tempfile::tempdir().unwrap();
        assert!(find_vmlinuz(dir.path()).is_err());
        fs::write(dir.path().join("config-6.1.0-56-arm64"), b"").unwrap();
        fs::write(dir.path().join("vmlinuz-6.1.0-56-arm64"), b"").unwrap();
        let (path, release) = find_vmlinuz(dir.path()).unwrap();
        assert_eq!(release, "6.1.0-56-arm64");
        assert_eq!(path, dir.path().join("vmlinuz-6.1.0-56-arm64"));
        fs::write(dir.path().join("vmlinuz-6.1.0-57-arm64"), b"").unwrap();
        assert!(find_vmlinuz(dir.path()).is_err());
    }

    #[test]
    fn recognises_aarch64_elf() {
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert!(is_aarch64_elf(&elf));
        elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        assert!(!is_aarch64_elf(&elf));
        assert!(!is_aarch64_elf(b"#!/bin/sh\n"));
    }

    /// Fetches the real guest through apt (network) into a temporary directory.
    #[test]
    #[ignore = "downloads ~60 MB of Debian packages"]
    fn fetch_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let files = fetch(dir.path(), false).unwrap();
        assert!(files.kernel_version.ends_with("-arm64"));

        let mut image = Vec::new();
        flate2::read::GzDecoder::new(File::open(&files.image_gz).unwrap())
            .read_to_end(&mut image)
            .unwrap();
        check_image_header(&image).unwrap();
        assert!(image.len() > 10 << 20);

        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(File::open(&files.ramdisk).unwrap())
            .read_to_end(&mut cpio)
            .unwrap();
        let entries = parse(&cpio).unwrap();
        let busybox = entries.iter().find(|e| e.name == "bin/busybox").unwrap();
        assert!(is_aarch64_elf(&busybox.data));
        assert!(entries.iter().any(|e| e.name == "init"));
        assert!(!dir.path().join(SCRATCH).exists(), "scratch dir left behind");

        let modified = fs::metadata(&files.image_gz).unwrap().modified().unwrap();
        let again = fetch(dir.path(), false).unwrap();
        assert_eq!(again, files);
        let unchanged = fs::metadata(&files.image_gz).unwrap().modified().unwrap();
        assert_eq!(modified, unchanged, "the second run rebuilt Image.gz");
    }
}

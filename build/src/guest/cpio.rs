//! A writer for the SVR4 "newc" cpio format, the format Linux unpacks an initramfs from.
//!
//! Every entry is a 110-byte ASCII header ("070701" and thirteen 8-digit hex fields), the
//! NUL-terminated name padded so the data starts on a 4-byte boundary, then the data padded
//! to 4 bytes; the archive ends with an entry named `TRAILER!!!`. Since the header carries the
//! file type and device numbers, device nodes can be written without privileges, which lets
//! the ramdisk ship `/dev/console` for the kernel to open before `/init` runs.

use std::io::Write;

use anyhow::{Context, Result, bail, ensure};

/// File type bits of a directory.
pub const S_IFDIR: u32 = 0o040_000;
/// File type bits of a regular file.
pub const S_IFREG: u32 = 0o100_000;
/// File type bits of a symbolic link.
pub const S_IFLNK: u32 = 0o120_000;
/// File type bits of a character device.
pub const S_IFCHR: u32 = 0o020_000;
/// Mask of the file type bits in a mode.
pub const S_IFMT: u32 = 0o170_000;

/// Magic of a newc header (no checksum).
pub const MAGIC: &[u8; 6] = b"070701";
/// Name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// Length of a newc header up to the name.
pub const HEADER_LEN: usize = 110;

/// Writes a newc archive entry by entry; parents must be written before their children.
///
/// All entries belong to root, carry modification time 0 (so the archive is reproducible)
/// and get distinct inode numbers; regular files have one link, so the kernel never treats
/// two of them as hard links of each other.
pub struct NewcWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

impl<W: Write> NewcWriter<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> Self {
        Self { out, written: 0, next_ino: 1 }
    }

    /// Adds a directory with permission bits `perm` (e.g. `0o755`).
    pub fn directory(&mut self, name: &str, perm: u32) -> Result<()> {
        self.entry(name, S_IFDIR | (perm & 0o7777), 2, (0, 0), &[])
    }

    /// Adds a regular file holding `data`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<()> {
        self.entry(name, S_IFREG | (perm & 0o7777), 1, (0, 0), data)
    }

    /// Adds a symbolic link `name` pointing at `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<()> {
        ensure!(
            !target.is_empty() && !target.contains('\0'),
            "cpio: symlink {name:?} has an invalid target {target:?}"
        );
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes())
    }

    /// Adds a character device node with device number `major:minor`.
    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> Result<()> {
        self.entry(name, S_IFCHR | (perm & 0o7777), 1, (major, minor), &[])
    }

    /// Writes the trailer and returns the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.header(TRAILER, 0, 1, 0, (0, 0), 0).context("cpio: writing the trailer")?;
        self.out.flush().context("cpio: flushing the archive")?;
        Ok(self.out)
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<()> {
        check_name(name)?;
        let size = u32::try_from(data.len()).with_context(|| {
            format!("cpio: {name:?} is {} bytes, more than newc's 4 GiB limit", data.len())
        })?;
        let ino = self.next_ino;
        self.next_ino += 1;
        self.header(name, ino, nlink, mode, rdev, size)
            .with_context(|| format!("cpio: writing the header of {name:?}"))?;
        self.put(data)
            .and_then(|()| self.pad())
            .with_context(|| format!("cpio: writing the data of {name:?}"))
    }

    fn header(
        &mut self,
        name: &str,
        ino: u32,
        nlink: u32,
        mode: u32,
        (rdev_major, rdev_minor): (u32, u32),
        size: u32,
    ) -> Result<()> {
        let name_size = u32::try_from(name.len() + 1).context("cpio: name too long")?;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev_major, rdev_minor, name_size, 0];
        let mut header = Vec::with_capacity(HEADER_LEN + name.len() + 4);
        header.extend_from_slice(MAGIC);
        for field in fields {
            header.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        header.extend_from_slice(name.as_bytes());
        header.push(0);
        self.put(&header)?;
        self.pad()
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Pads with NULs to the next 4-byte boundary of the archive.
    fn pad(&mut self) -> Result<()> {
        let pad = (4 - self.written % 4) % 4;
        self.put(&[0; 3][..pad as usize])
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('/')
        || name.contains('\0')
        || name == TRAILER
        || name.split('/').any(|part| part.is_empty() || part == "..")
    {
        bail!("cpio: {name:?} is not a valid relative entry name");
    }
    Ok(())
}

/// Reads a newc archive back: the tests check what the writer produced with it, and a
/// cached ramdisk of an older layout gives its busybox back through it.
pub mod parse {
    use super::*;

    /// One entry as read back from an archive.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Entry {
        pub name: String,
        pub ino: u32,
        pub mode: u32,
        pub uid: u32,
        pub gid: u32,
        pub nlink: u32,
        pub mtime: u32,
        pub rdev: (u32, u32),
        pub data: Vec<u8>,
    }

    /// Parses `archive`, checking magic, alignment, NUL termination and the trailer; returns
    /// the entries before the trailer.
    pub fn parse(archive: &[u8]) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut at = 0usize;
        loop {
            ensure!(at.is_multiple_of(4), "header at {at} is not 4-byte aligned");
            let header = archive
                .get(at..at + HEADER_LEN)
                .with_context(|| format!("archive ends inside the header at {at}"))?;
            ensure!(&header[..6] == MAGIC, "bad magic at {at}");
            let field = |i: usize| -> Result<u32> {
                let hex = std::str::from_utf8(&header[6 + 8 * i..6 + 8 * (i + 1)])?;
                Ok(u32::from_str_radix(hex, 16)?)
            };
            let size = field(6)? as usize;
            let name_size = field(11)? as usize;
            ensure!(field(12)? == 0, "check field is not 0 at {at}");
            let name_at = at + HEADER_LEN;
            let name =
                archive.get(name_at..name_at + name_size).context("archive ends inside a name")?;
            ensure!(name.last() == Some(&0), "name at {name_at} is not NUL-terminated");
            let name = std::str::from_utf8(&name[..name_size - 1])?.to_owned();
            let data_at = (name_at + name_size).next_multiple_of(4);
            ensure!(
                archive[name_at + name_size..data_at].iter().all(|&b| b == 0),
                "name padding of {name} is not NULs"
            );
            let data =
                archive.get(data_at..data_at + size).context("archive ends inside data")?.to_vec();
            let next = (data_at + size).next_multiple_of(4);
            ensure!(next <= archive.len(), "archive ends inside data padding");
            ensure!(
                archive[data_at + size..next].iter().all(|&b| b == 0),
                "data padding of {name} is not NULs"
            );
            at = next;
            if name == TRAILER {
                ensure!(size == 0, "trailer has data");
                ensure!(at == archive.len(), "bytes after the trailer");
                return Ok(entries);
            }
            entries.push(Entry {
                name,
                ino: field(0)?,
                mode: field(1)?,
                uid: field(2)?,
                gid: field(3)?,
                nlink: field(4)?,
                mtime: field(5)?,
                rdev: (field(9)?, field(10)?),
                data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse::parse;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = NewcWriter::new(Vec::new());
        w.directory("dev", 0o755).unwrap();
        w.char_device("dev/console", 0o600, 5, 1).unwrap();
        w.directory("tmp", 0o1777).unwrap();
        w.file("init", 0o755, b"#!/bin/sh\necho hi\n").unwrap();
        w.file("a", 0o644, b"").unwrap();
        w.file("abc", 0o644, b"x").unwrap();
        w.file("abcd", 0o644, b"xyz").unwrap();
        w.symlink("sh", "busybox").unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn writes_entries_that_parse_back() {
        let archive = sample();
        assert_eq!(&archive[..6], b"070701");
        assert_eq!(archive.len() % 4, 0);
        let entries = parse(&archive).unwrap();
        let summary: Vec<_> =
            entries.iter().map(|e| (e.name.as_str(), e.mode, e.data.len(), e.rdev)).collect();
        assert_eq!(
            summary,
            [
                ("dev", 0o040755, 0, (0, 0)),
                ("dev/console", 0o020600, 0, (5, 1)),
                ("tmp", 0o041777, 0, (0, 0)),
                ("init", 0o100755, 18, (0, 0)),
                ("a", 0o100644, 0, (0, 0)),
                ("abc", 0o100644, 1, (0, 0)),
                ("abcd", 0o100644, 3, (0, 0)),
                ("sh", 0o120777, 7, (0, 0)),
            ]
        );
        assert_eq!(entries[3].data, b"#!/bin/sh\necho hi\n");
        assert_eq!(entries[6].data, b"xyz");
        assert_eq!(entries[7].data, b"busybox");
        for e in &entries {
            assert_eq!((e.uid, e.gid, e.mtime), (0, 0, 0), "{}", e.name);
            let dir = e.mode & S_IFMT == S_IFDIR;
            assert_eq!(e.nlink, if dir { 2 } else { 1 }, "{}", e.name);
        }
        let mut inos: Vec<_> = entries.iter().map(|e| e.ino).collect();
        inos.sort_unstable();
        inos.dedup();
        assert_eq!(inos.len(), entries.len(), "inode numbers repeat");
    }

    #[test]
    fn header_layout_is_exact() {
        let mut w = NewcWriter::new(Vec::new());
        w.file("ab", 0o644, b"hello").unwrap();
        let archive = w.finish().unwrap();
        let expected_header = concat!(
            "070701", "00000001", "000081a4", "00000000", "00000000", "00000001", "00000000",
            "00000005", "00000000", "00000000", "00000000", "00000000", "00000003", "00000000",
        );
        assert_eq!(&archive[..HEADER_LEN], expected_header.as_bytes());
        // 110 + "ab\0" = 113, padded to 116; data 5 bytes padded to 8.
        assert_eq!(&archive[HEADER_LEN..116], b"ab\0\0\0\0");
        assert_eq!(&archive[116..124], b"hello\0\0\0");
        assert_eq!(&archive[124..130], b"070701");
        let trailer = &archive[124..];
        assert_eq!(&trailer[HEADER_LEN..HEADER_LEN + 11], b"TRAILER!!!\0");
        assert_eq!(trailer.len(), 124, "110 + 11 name bytes, padded to 124");
    }

    #[test]
    fn empty_archive_is_just_the_trailer() {
        let archive = NewcWriter::new(Vec::new()).finish().unwrap();
        assert!(parse(&archive).unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_names() {
        for name in ["", "/init", "a//b", "../x", "a/../b", "dir/", "TRAILER!!!", "a\0b"] {
            let mut w = NewcWriter::new(Vec::new());
            assert!(w.file(name, 0o644, b"").is_err(), "{name:?} accepted");
        }
        let mut w = NewcWriter::new(Vec::new());
        assert!(w.symlink("sh", "").is_err());
    }

    /// Cross-checks with GNU cpio when the host has it.
    #[test]
    fn gnu_cpio_lists_the_archive() {
        use std::process::{Command, Stdio};
        let Ok(mut child) = Command::new("cpio")
            .args(["-it", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            eprintln!("cpio is not installed; skipping the cross-check");
            return;
        };
        child.stdin.take().unwrap().write_all(&sample()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed = String::from_utf8(out.stdout).unwrap();
        let names: Vec<_> = listed.lines().collect();
        assert_eq!(names, ["dev", "dev/console", "tmp", "init", "a", "abc", "abcd", "sh"]);
    }
}

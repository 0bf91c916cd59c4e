//! The `modules.list` parser and module resolver.
//!
//! A modules.list describes boot images in the syntax of L4Re's
//! `modules.list` (`tool/lib/L4/ModList.pm`), so lists written for L4Re read
//! the same here. [`ModulesList::load`] reads a list and the files it
//! includes, checks every line and groups the lines into entries;
//! [`Entry::resolve`] finds the files of one entry and gives them in boot
//! order.
//!
//! Rules kept, as in L4Re:
//! - `#` starts a comment anywhere; blank lines are ignored; directives are
//!   matched without regard to case.
//! - `entry NAME` (or `title NAME`) starts an entry; `kernel`, `roottask`,
//!   `module` (or `bin`), `data`, `moe` and `module-group` lines belong to the
//!   entry above them. Entry names are matched without regard to case.
//! - Options go in brackets right after the directive, comma-separated:
//!   `uncompress`, `nostrip`, `fname=NAME`, `shell`, `glob`, `arch=A|B`,
//!   `bits=N|M` (and `no-defaults` on an entry). A line whose `arch=`/`bits=`
//!   does not include arm64/64 is left out, an entry along with its lines.
//! - A module's name at boot is the file name of its path, or `fname=`; its
//!   command line is that name followed by the arguments on the line.
//! - `default-kernel` and `default-roottask` give the kernel and roottask of
//!   entries that name none themselves; `entry[no-defaults]` opts out. Like
//!   `searchpath`, they count for the entry they are written in and for every
//!   later one.
//! - `include FILE` reads another list in place, relative to the including
//!   file; the path may be a glob pattern.
//! - `group NAME` collects module lines that `module-group NAME` inserts.
//! - `moe FILE` stands for `roottask moe rom/FILE` and `module FILE`.
//!
//! Beyond L4Re: `set NAME VALUE` defines a variable that `$NAME` and `${NAME}`
//! expand in later lines (`$$` is a `$`); a `set` inside an entry or group
//! lasts until its end. `$SRC_BASE_ABS` and `$SRC_BASE` are the repository
//! root. An undefined variable is an error. `[shell]` commands are not
//! expanded here: `sh` expands them, with the variables in its environment.
//! Every line of every entry is checked, not only the chosen entry's.
//!
//! Search order for a module: the resolver's search path, then the
//! `searchpath` directories, then the directory of the file that names the
//! module. A missing `X.dtb` is compiled from `X.dts` with `dtc`.
//!
//! L4Re features that make no sense for this image are errors with a
//! message saying so: sigma0, bootstrap lines, `modaddr`, Linux-mode entries,
//! Perl code, module attributes, `compress` and modules fetched from URLs.

#![allow(dead_code)] // The build tool's subcommands are the callers; not all of the API is used yet.

mod dtb;
mod item;
mod load;
mod resolve;
mod syntax;
#[cfg(test)]
mod tests;
mod text;

use std::fmt;
use std::path::{Path, PathBuf};

use item::{Item, Spec};

/// A diagnostic: names the file and line, and what is wrong.
#[derive(Debug, Clone)]
pub struct Diag {
    pub file: PathBuf,
    /// 1-based; 0 when the message is about the file as a whole.
    pub line: usize,
    pub msg: String,
}

impl Diag {
    fn new(file: &Path, line: usize, msg: impl Into<String>) -> Diag {
        Diag { file: file.to_path_buf(), line, msg: msg.into() }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.msg)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
        }
    }
}

impl std::error::Error for Diag {}

/// What a module is to the boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The kernel: `kernel` or `default-kernel`.
    Kernel,
    /// The first program the kernel starts: `roottask`, `default-roottask`, `moe`.
    Roottask,
    /// A program or file for the roottask: `module` (or `bin`).
    Module,
    /// A file never treated as a program: `data`.
    Data,
}

/// A modules.list with everything it includes.
#[derive(Debug, Clone)]
pub struct ModulesList {
    file: PathBuf,
    entries: Vec<Entry>,
}

impl ModulesList {
    /// Parses `path` and everything it includes. Syntax errors (unknown
    /// directive, bad option, a module line outside an entry, missing
    /// argument, undefined variable, include cycle, unreadable file) are
    /// [`Diag`]s.
    pub fn load(path: &Path) -> Result<ModulesList, Diag> {
        let entries = load::read(path)?;
        Ok(ModulesList { file: path.to_path_buf(), entries })
    }

    /// The file [`ModulesList::load`] read first.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Entry names in file order.
    pub fn entry_names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// The entry called `name` (exactly, or else without regard to case); an
    /// unknown name is a [`Diag`] (file = the top modules.list, line 0) whose
    /// message lists every available entry.
    pub fn entry(&self, name: &str) -> Result<&Entry, Diag> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .or_else(|| self.entries.iter().find(|e| e.name.eq_ignore_ascii_case(name)))
            .ok_or_else(|| Diag::new(&self.file, 0, self.unknown_entry(name)))
    }

    fn unknown_entry(&self, name: &str) -> String {
        if self.entries.is_empty() {
            return format!("unknown entry `{name}`: this list has no entries");
        }
        format!("unknown entry `{name}`; available entries: {}", self.entry_names().join(", "))
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// One `entry`: its kernel, roottask and modules as written, with the
/// defaults and search directories that apply to it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// Where the `entry` line is.
    pub file: PathBuf,
    pub line: usize,
    kernel: Option<Item>,
    roottask: Option<Item>,
    modules: Vec<Item>,
    /// `searchpath` directives in effect.
    search: Vec<Spec>,
}

impl Entry {
    /// Whether a line of this entry names a file called `file_name`: a path
    /// ending in it, or a `[shell]` command or `[glob]` pattern containing it.
    pub fn mentions(&self, file_name: &str) -> bool {
        self.items().any(|item| item.mentions(file_name))
    }

    /// The kernel, the roottask, then the modules in file order.
    fn items(&self) -> impl Iterator<Item = &Item> {
        self.kernel.iter().chain(&self.roottask).chain(&self.modules)
    }
}

/// Where [`Entry::resolve`] looks for files.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Repository root: `$SRC_BASE_ABS` (and `$SRC_BASE`) in `[shell]`
    /// commands and in lines.
    pub src_base: PathBuf,
    /// Directories searched for modules, in order: MODULE_SEARCH_PATH first,
    /// then the build's own outputs. The `searchpath` directories of the
    /// entry follow, then the directory of the modules.list file that names
    /// the module.
    pub search_path: Vec<PathBuf>,
    /// File names that the build will produce (program ELFs) and that may not
    /// exist yet: resolving treats them as found (`Resolved::path` = first
    /// search directory joined with the name).
    pub will_build: Vec<String>,
    /// Where compiled device trees go (created on demand).
    pub dtb_out: PathBuf,
    /// Include directories for dtc (`-i`), e.g. `<root>/dts`; also searched
    /// for `X.dts` when `X.dtb` is missing.
    pub dts_include: Vec<PathBuf>,
}

/// One module of an entry, found on disk.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub kind: Kind,
    /// The module's name at boot (its `rom/` name): file name of the path, or
    /// `fname=`.
    pub name: String,
    /// The file to pack.
    pub path: PathBuf,
    /// Full command line as the program sees it at boot: the module's name
    /// followed by the arguments written after its path, single-spaced; e.g.
    /// `kernel fiasco -serial_esc` gives "fiasco -serial_esc".
    pub cmdline: String,
    /// Listed with `[uncompress]`: the file is a gzip stream to be inflated
    /// before the boot hands it on.
    pub uncompress: bool,
    /// Listed with `[nostrip]` (or `bin-nostrip`/`data-nostrip`): keep the
    /// file's symbols.
    pub nostrip: bool,
    /// Where the module was named.
    pub file: PathBuf,
    pub line: usize,
}

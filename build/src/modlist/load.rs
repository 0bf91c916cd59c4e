//! Reading a modules.list, and the files it includes, into entries.
//!
//! Included files are read in place, so the lines of all files form one
//! sequence; an entry (or group) runs from its `entry` (or `group`) line to
//! the next one. Every line is checked as it is read, in every entry; lines
//! for another architecture only for their syntax.

use std::fs;
use std::path::{Path, PathBuf};

use super::item::{Item, Origin, Source, Spec};
use super::syntax::{self, Line, Opts};
use super::text::{self, Text, Vars};
use super::{Diag, Entry, Kind};

/// Options of lines that name files.
const FILE_OPTS: &[&str] =
    &["uncompress", "nostrip", "fname", "shell", "glob", "arch", "bits", "no-shlib-scan"];
/// Options that only select the target.
const TARGET_OPTS: &[&str] = &["arch", "bits"];

/// Reads `path` and everything it includes into entries.
pub(super) fn read(path: &Path) -> Result<Vec<Entry>, Diag> {
    let mut loader = Loader::default();
    loader.read_file(path, None)?;
    loader.end_section();
    Ok(loader.entries)
}

/// The part of the files being read.
#[derive(Debug, Default)]
enum Section {
    /// Before the first entry or group.
    #[default]
    Global,
    Entry {
        entry: Box<Entry>,
        no_defaults: bool,
    },
    Group(String),
    /// An entry or group for another architecture: its lines are checked and
    /// then dropped.
    Skipped,
}

#[derive(Debug, Default)]
struct Loader {
    /// The files being read, innermost last: canonical path, path as named.
    open_files: Vec<(PathBuf, PathBuf)>,
    vars: Vars,
    section: Section,
    entries: Vec<Entry>,
    groups: Vec<(String, Vec<Item>)>,
    default_kernel: Option<Item>,
    default_roottask: Option<Item>,
    /// Every `searchpath` so far.
    search: Vec<Spec>,
}

impl Loader {
    /// Reads one file; `from` is the `include` line naming it.
    fn read_file(&mut self, path: &Path, from: Option<&Origin>) -> Result<(), Diag> {
        let unreadable = |e: std::io::Error| match from {
            Some(at) => at.diag(format!("cannot read `{}`: {e}", path.display())),
            None => Diag::new(path, 0, format!("cannot read this file: {e}")),
        };
        let canonical = fs::canonicalize(path).map_err(unreadable)?;
        if let Some(at) = from {
            self.check_cycle(&canonical, path, at)?;
        }
        let content = fs::read_to_string(path).map_err(unreadable)?;
        self.open_files.push((canonical, path.to_path_buf()));
        for (index, raw) in content.lines().enumerate() {
            let at = Origin { file: path.to_path_buf(), line: index + 1 };
            self.line(&at, raw)?;
        }
        self.open_files.pop();
        Ok(())
    }

    fn check_cycle(&self, canonical: &Path, path: &Path, at: &Origin) -> Result<(), Diag> {
        let Some(first) = self.open_files.iter().position(|(c, _)| c == canonical) else {
            return Ok(());
        };
        let chain: Vec<String> = self.open_files[first..]
            .iter()
            .map(|(_, named)| named.as_path())
            .chain([path])
            .map(|p| format!("`{}`", p.display()))
            .collect();
        Err(at.diag(format!("include cycle: {}", chain.join(" includes "))))
    }

    fn line(&mut self, at: &Origin, raw: &str) -> Result<(), Diag> {
        match syntax::split_line(raw).map_err(|m| at.diag(m))? {
            Some(line) => self.directive(at, &line),
            None => Ok(()),
        }
    }

    fn directive(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        match line.directive.as_str() {
            "entry" | "title" => self.start_entry(at, line),
            "group" => self.start_group(at, line),
            "include" => self.include(at, line),
            "searchpath" => self.searchpath(at, line),
            "set" => self.set(at, line),
            "default-kernel" => self.set_default(at, line, Kind::Kernel),
            "default-roottask" => self.set_default(at, line, Kind::Roottask),
            "kernel" => self.member(at, line, Kind::Kernel),
            "roottask" => self.member(at, line, Kind::Roottask),
            "module" | "bin" | "bin-nostrip" => self.member(at, line, Kind::Module),
            "data" | "data-nostrip" => self.member(at, line, Kind::Data),
            "moe" => self.moe(at, line),
            "module-group" => self.module_group(at, line),
            other => Err(at.diag(unsupported_directive(other))),
        }
    }

    fn start_entry(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, &["arch", "bits", "no-defaults"])?;
        self.end_section();
        if !opts.selects_target() {
            self.section = Section::Skipped;
            return Ok(());
        }
        let name = self.literal(at, line.args, "entry names")?;
        if name.is_empty() {
            return Err(at.diag(format!("`{}` needs a name", line.directive)));
        }
        if let Some(prev) = self.entries.iter().find(|e| e.name.eq_ignore_ascii_case(&name)) {
            return Err(at.diag(format!(
                "entry `{name}` is already defined at {}:{}",
                prev.file.display(),
                prev.line
            )));
        }
        let entry = Entry {
            name,
            file: at.file.clone(),
            line: at.line,
            kernel: None,
            roottask: None,
            modules: Vec::new(),
            search: Vec::new(),
        };
        self.section = Section::Entry { entry: Box::new(entry), no_defaults: opts.no_defaults };
        Ok(())
    }

    /// Ends the current entry or group; an entry receives the defaults and
    /// search directories in effect at its end.
    fn end_section(&mut self) {
        if let Section::Entry { mut entry, no_defaults } = std::mem::take(&mut self.section) {
            if !no_defaults {
                entry.kernel = entry.kernel.or_else(|| self.default_kernel.clone());
                entry.roottask = entry.roottask.or_else(|| self.default_roottask.clone());
            }
            entry.search = self.search.clone();
            self.entries.push(*entry);
        }
        self.vars.end_section();
    }

    fn start_group(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, TARGET_OPTS)?;
        self.end_section();
        if !opts.selects_target() {
            self.section = Section::Skipped;
            return Ok(());
        }
        let name = self.literal(at, line.args, "group names")?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(at.diag("`group` needs one name: `group NAME`"));
        }
        if !self.groups.iter().any(|(n, _)| *n == name) {
            self.groups.push((name.clone(), Vec::new()));
        }
        self.section = Section::Group(name);
        Ok(())
    }

    fn include(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, TARGET_OPTS)?;
        if !opts.selects_target() {
            return Ok(());
        }
        let name = self.literal(at, line.args, "include paths")?;
        if name.is_empty() {
            return Err(at.diag("`include` needs a file name"));
        }
        for path in include_paths(at, &name)? {
            self.read_file(&path, Some(at))?;
        }
        Ok(())
    }

    fn searchpath(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, &["shell", "glob", "arch", "bits"])?;
        if self.skips(&opts) {
            return Ok(());
        }
        if line.args.is_empty() {
            return Err(at.diag("`searchpath` needs a directory"));
        }
        let source = if opts.shell {
            Source::Shell(line.args.to_owned())
        } else {
            let dir = self.expand(at, line.args)?;
            if opts.glob { Source::Glob(vec![dir]) } else { Source::Words(vec![dir]) }
        };
        let spec = self.spec(at, source);
        self.search.push(spec);
        Ok(())
    }

    fn set(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, TARGET_OPTS)?;
        let (name, value) = line
            .args
            .split_once(char::is_whitespace)
            .map_or((line.args, ""), |(n, v)| (n, v.trim()));
        check_set(name, value).map_err(|m| at.diag(m))?;
        if self.skips(&opts) {
            return Ok(());
        }
        let value = self.expand(at, value)?;
        let local = !matches!(self.section, Section::Global);
        self.vars.set(name, value, local);
        Ok(())
    }

    fn set_default(&mut self, at: &Origin, line: &Line<'_>, kind: Kind) -> Result<(), Diag> {
        let opts = check_opts(at, line, FILE_OPTS)?;
        if self.skips(&opts) {
            return Ok(());
        }
        let item = self.item(at, line, &opts, kind)?;
        match kind {
            Kind::Kernel => self.default_kernel = Some(item),
            _ => self.default_roottask = Some(item),
        }
        Ok(())
    }

    fn member(&mut self, at: &Origin, line: &Line<'_>, kind: Kind) -> Result<(), Diag> {
        let opts = check_opts(at, line, FILE_OPTS)?;
        self.check_placement(at, &line.directive, matches!(kind, Kind::Module | Kind::Data))?;
        if self.skips(&opts) {
            return Ok(());
        }
        let mut item = self.item(at, line, &opts, kind)?;
        item.nostrip |= line.directive.ends_with("-nostrip");
        self.place(item)
    }

    /// `moe FILE`: the roottask `moe rom/FILE` and the module `FILE`.
    fn moe(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, &["fname", "arch", "bits"])?;
        self.check_placement(at, "moe", false)?;
        if self.skips(&opts) {
            return Ok(());
        }
        let words = self.words(at, line.args)?;
        let [config] = words.as_slice() else {
            return Err(at.diag("`moe` takes one file name: `moe FILE`"));
        };
        let fname = self.fname(at, &opts)?;
        let name = fname
            .clone()
            .or_else(|| config.file_name())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| at.diag("`moe` needs a file name, not a directory"))?;
        let moe = [Text::literal("moe"), Text::literal(&format!("rom/{name}"))];
        let roottask = self.plain_item(at, Kind::Roottask, moe.to_vec(), None);
        let module = self.plain_item(at, Kind::Module, vec![config.clone()], fname);
        self.place(roottask)?;
        self.place(module)
    }

    fn module_group(&mut self, at: &Origin, line: &Line<'_>) -> Result<(), Diag> {
        let opts = check_opts(at, line, TARGET_OPTS)?;
        self.check_placement(at, "module-group", false)?;
        if self.skips(&opts) {
            return Ok(());
        }
        let names: Vec<String> = line
            .args
            .split_whitespace()
            .map(|w| self.literal(at, w, "group names"))
            .collect::<Result<_, _>>()?;
        if names.is_empty() {
            return Err(at.diag("`module-group` needs a group name"));
        }
        for name in names {
            let items = self.groups.iter().find(|(n, _)| *n == name).map(|(_, items)| items);
            let items = items.cloned().ok_or_else(|| {
                at.diag(format!("unknown group `{name}` (define it with `group {name}` above)"))
            })?;
            for item in items {
                self.place(item)?;
            }
        }
        Ok(())
    }

    /// Whether the current section takes a line of `directive`; `group_ok`
    /// says whether a group may hold it.
    fn check_placement(&self, at: &Origin, directive: &str, group_ok: bool) -> Result<(), Diag> {
        match &self.section {
            Section::Global => Err(at.diag(format!(
                "`{directive}` outside an entry: start one with `entry NAME` above it"
            ))),
            Section::Group(name) if !group_ok => Err(at.diag(format!(
                "`{directive}` cannot be part of group `{name}`: groups hold `module` and `data` lines"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the line is dropped: it is for another target or in a skipped
    /// section.
    fn skips(&self, opts: &Opts) -> bool {
        matches!(self.section, Section::Skipped) || !opts.selects_target()
    }

    fn place(&mut self, item: Item) -> Result<(), Diag> {
        match &mut self.section {
            Section::Entry { entry, .. } => add_to_entry(entry, item),
            Section::Group(name) => {
                if let Some((_, items)) = self.groups.iter_mut().find(|(n, _)| n == name) {
                    items.push(item);
                }
                Ok(())
            }
            Section::Global | Section::Skipped => Ok(()),
        }
    }

    fn item(&self, at: &Origin, line: &Line<'_>, opts: &Opts, kind: Kind) -> Result<Item, Diag> {
        if line.args.is_empty() {
            return Err(at.diag(format!("`{}` needs a file name", line.directive)));
        }
        let source = if opts.shell {
            Source::Shell(line.args.to_owned())
        } else {
            let words = self.words(at, line.args)?;
            if opts.glob { Source::Glob(words) } else { Source::Words(words) }
        };
        Ok(Item {
            kind,
            spec: self.spec(at, source),
            fname: self.fname(at, opts)?,
            uncompress: opts.uncompress,
            nostrip: opts.nostrip,
        })
    }

    fn plain_item(&self, at: &Origin, kind: Kind, words: Vec<Text>, fname: Option<String>) -> Item {
        let spec = self.spec(at, Source::Words(words));
        Item { kind, spec, fname, uncompress: false, nostrip: false }
    }

    fn spec(&self, at: &Origin, source: Source) -> Spec {
        let env = match source {
            Source::Shell(_) => self.vars.all(),
            _ => Vec::new(),
        };
        Spec { source, at: at.clone(), env }
    }

    fn fname(&self, at: &Origin, opts: &Opts) -> Result<Option<String>, Diag> {
        let Some(raw) = &opts.fname else {
            return Ok(None);
        };
        let name = self.literal(at, raw, "`fname=`")?;
        if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
            return Err(
                at.diag(format!("`fname={name}` must be a file name, without `/` or spaces"))
            );
        }
        Ok(Some(name))
    }

    fn words(&self, at: &Origin, args: &str) -> Result<Vec<Text>, Diag> {
        args.split_whitespace().map(|w| self.expand(at, w)).collect()
    }

    fn expand(&self, at: &Origin, s: &str) -> Result<Text, Diag> {
        self.vars.expand(s).map_err(|m| at.diag(m))
    }

    /// Expands `s`, which is needed while reading and so cannot use the
    /// source base; `what` names it in the message.
    fn literal(&self, at: &Origin, s: &str, what: &str) -> Result<String, Diag> {
        self.expand(at, s)?.as_literal().ok_or_else(|| {
            at.diag(format!(
                "{what} cannot use `$SRC_BASE_ABS` or `$SRC_BASE`: they are known only when an \
                 image is built; use a path relative to this file"
            ))
        })
    }
}

fn check_opts(at: &Origin, line: &Line<'_>, allowed: &[&str]) -> Result<Opts, Diag> {
    Opts::check(line.opts.clone(), &line.directive, allowed).map_err(|m| at.diag(m))
}

fn check_set(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("`set` needs a variable name: `set NAME VALUE`".to_owned());
    }
    if !text::is_name(name) {
        return Err(format!(
            "`{name}` is not a variable name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    if text::SRC_BASE_VARS.contains(&name) {
        return Err(format!("`{name}` is predefined (the repository root) and cannot be set"));
    }
    if name == "mode" && value.eq_ignore_ascii_case("linux") {
        return Err("`set mode linux` is not supported: entries that boot Linux in place of \
                    the kernel do not exist here; run Linux as a guest instead"
            .to_owned());
    }
    Ok(())
}

fn add_to_entry(entry: &mut Entry, item: Item) -> Result<(), Diag> {
    let (slot, what) = match item.kind {
        Kind::Kernel => (&mut entry.kernel, "kernel"),
        Kind::Roottask => (&mut entry.roottask, "roottask"),
        Kind::Module | Kind::Data => {
            entry.modules.push(item);
            return Ok(());
        }
    };
    if let Some(first) = slot {
        let first = &first.spec.at;
        return Err(item.spec.at.diag(format!(
            "entry `{}` already has a {what} (at {}:{})",
            entry.name,
            first.file.display(),
            first.line
        )));
    }
    *slot = Some(item);
    Ok(())
}

/// The files an `include` names: relative to the including file, and
/// expanded if the name is a glob pattern.
fn include_paths(at: &Origin, name: &str) -> Result<Vec<PathBuf>, Diag> {
    let dir = at.dir();
    if !name.contains(['*', '?', '[']) {
        return Ok(vec![dir.join(name)]);
    }
    let pattern = if Path::new(name).is_absolute() {
        name.to_owned()
    } else {
        format!("{}/{name}", glob::Pattern::escape(&dir.to_string_lossy()))
    };
    let paths = glob::glob(&pattern).map_err(|e| at.diag(format!("bad pattern `{name}`: {e}")))?;
    let files: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
    if files.is_empty() {
        return Err(at.diag(format!("no file matches `{name}`")));
    }
    Ok(files)
}

fn unsupported_directive(directive: &str) -> String {
    match directive {
        "sigma0" | "default-sigma0" => format!(
            "`{directive}` is not supported: sigma0 belongs to L4Re's Fiasco; an image here \
             holds a kernel, a roottask and modules"
        ),
        "bootstrap" | "default-bootstrap" => format!(
            "`{directive}` is not supported: the build tool puts bootstrap into the image \
             itself; give kernel options on the `kernel` line"
        ),
        "modaddr" => "`modaddr` is not supported: the image places its modules itself".to_owned(),
        "initrd" => "`initrd` is not supported: entries that boot Linux in place of the kernel \
                     do not exist here; run Linux as a guest instead"
            .to_owned(),
        _ => format!(
            "unknown directive `{directive}` (known: entry, title, kernel, roottask, module, \
             bin, data, moe, group, module-group, include, searchpath, set, default-kernel, \
             default-roottask)"
        ),
    }
}

//! Finding the files of an entry: the search path, `[shell]`, `[glob]`,
//! `fname=`, and device trees compiled on demand.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use super::item::{Item, Source, Spec};
use super::text::Text;
use super::{Diag, Entry, Kind, Resolved, Resolver, dtb};

impl Entry {
    /// The modules of this entry in boot order: the kernel first (the entry's
    /// own `kernel` or `default-kernel`), then the roottask (own or
    /// `default-roottask`, if any), then modules and data in file order.
    ///
    /// Expands `[shell]` (run with `sh -c` in the directory of its
    /// modules.list, with `SRC_BASE_ABS`, `SRC_BASE` and the `set` variables
    /// in its environment; each non-empty output line is a path, optionally
    /// followed by arguments), `[glob]` (patterns expanded along the search
    /// path) and `fname=`. A missing `X.dtb` whose `X.dts` is found along the
    /// search path or in `dts_include` is compiled with dtc into `dtb_out`
    /// (again only when a source is newer than the blob).
    ///
    /// Errors, each naming the line: no kernel, a module not found (listing
    /// every directory tried), a failing shell command (with its stderr and
    /// exit status), a glob without match, a dtc failure (with dtc's
    /// message), and one name used for two modules.
    pub fn resolve(&self, r: &Resolver) -> Result<Vec<Resolved>, Diag> {
        if self.kernel.is_none() {
            return Err(Diag::new(
                &self.file,
                self.line,
                format!(
                    "entry `{}` has no kernel: add a `kernel` line to it, or a `default-kernel` line above it",
                    self.name
                ),
            ));
        }
        let finder = Finder { r, dirs: search_dirs(r, &self.search)? };
        let mut out: Vec<Resolved> = Vec::new();
        for item in self.items() {
            for module in finder.item(item)? {
                if let Some(first) = out.iter().find(|m| m.name == module.name) {
                    return Err(Diag::new(
                        &module.file,
                        module.line,
                        format!(
                            "module name `{}` is used twice in entry `{}` (first at {}:{}); \
                         rename one with `[fname=NAME]`",
                            module.name,
                            self.name,
                            first.file.display(),
                            first.line
                        ),
                    ));
                }
                out.push(module);
            }
        }
        Ok(out)
    }
}

/// The resolver's search path followed by the entry's `searchpath`
/// directories (relative ones are relative to their modules.list).
fn search_dirs(r: &Resolver, specs: &[Spec]) -> Result<Vec<PathBuf>, Diag> {
    let mut dirs = r.search_path.clone();
    for spec in specs {
        let base = spec.at.dir();
        match &spec.source {
            Source::Words(words) => {
                let dir: Vec<String> = words.iter().map(|w| w.render(&r.src_base)).collect();
                dirs.push(base.join(dir.join(" ")));
            }
            Source::Glob(patterns) => {
                for pattern in patterns {
                    let pattern = pattern.render(&r.src_base);
                    let found = glob_in(&base, &pattern, true).map_err(|m| spec.at.diag(m))?;
                    if found.is_empty() {
                        return Err(spec.at.diag(format!("no directory matches `{pattern}`")));
                    }
                    dirs.extend(found);
                }
            }
            Source::Shell(command) => {
                let lines = run_shell(command, spec, r)?;
                dirs.extend(lines.iter().map(|line| base.join(line)));
            }
        }
    }
    Ok(dirs)
}

/// Finds the files of items.
struct Finder<'a> {
    r: &'a Resolver,
    /// The resolver's and the entry's search directories.
    dirs: Vec<PathBuf>,
}

impl Finder<'_> {
    fn item(&self, item: &Item) -> Result<Vec<Resolved>, Diag> {
        let found = match &item.spec.source {
            Source::Words(words) => {
                let words: Vec<String> = words.iter().map(|w| w.render(&self.r.src_base)).collect();
                vec![self.named(item, &words)?]
            }
            Source::Glob(patterns) => self.glob(item, patterns)?,
            Source::Shell(command) => run_shell(command, &item.spec, self.r)?
                .iter()
                .map(|line| {
                    let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                    self.named(item, &words)
                })
                .collect::<Result<_, _>>()?,
        };
        if matches!(item.kind, Kind::Kernel | Kind::Roottask) && found.len() != 1 {
            let what = if item.kind == Kind::Kernel { "kernel" } else { "roottask" };
            return Err(item
                .spec
                .at
                .diag(format!("the {what} must be one file; this line gives {}", found.len())));
        }
        Ok(found)
    }

    /// The search directories for `item`: ours, then its file's directory.
    fn dirs_for(&self, item: &Item) -> Vec<PathBuf> {
        let mut dirs = self.dirs.clone();
        dirs.push(item.spec.at.dir());
        dirs
    }

    /// A module given as a path followed by arguments.
    fn named(&self, item: &Item, words: &[String]) -> Result<Resolved, Diag> {
        let at = &item.spec.at;
        let Some((path, args)) = words.split_first() else {
            return Err(at.diag("no file named"));
        };
        if path.contains("://") {
            return Err(at.diag(format!(
                "`{path}`: modules cannot be fetched from URLs here; download the file into a \
                 directory on the search path"
            )));
        }
        let name = match &item.fname {
            Some(name) => name.clone(),
            None => file_name(Path::new(path))
                .ok_or_else(|| at.diag(format!("`{path}` does not name a file")))?,
        };
        let found = self.locate(item, path)?;
        Ok(resolved(item, name, found, args))
    }

    fn locate(&self, item: &Item, path: &str) -> Result<PathBuf, Diag> {
        let dirs = self.dirs_for(item);
        let rel = Path::new(path);
        let candidates: Vec<PathBuf> = if rel.is_absolute() {
            vec![rel.to_path_buf()]
        } else {
            dirs.iter().map(|d| d.join(rel)).collect()
        };
        // A blob this resolver compiled before (`dtb_out` may be on the
        // search path) is not taken as it is: it is checked against its
        // source below.
        let compiled = path.ends_with(".dtb").then(|| self.r.dtb_out.join(dtb_out_name(rel)));
        let is_compiled = |c: &Path| compiled.as_deref().is_some_and(|out| same_path(c, out));
        if let Some(found) = candidates.into_iter().find(|c| c.is_file() && !is_compiled(c)) {
            return Ok(found);
        }
        if !rel.is_absolute() && self.r.will_build.iter().any(|w| w == path) {
            return Ok(dirs.first().map_or_else(|| rel.to_path_buf(), |d| d.join(rel)));
        }
        if let Some(out) = compiled
            && self.dtb_from_dts(item, rel, &out, &dirs)?
        {
            return Ok(out);
        }
        Err(item.spec.at.diag(self.not_found(path, &dirs)))
    }

    fn not_found(&self, path: &str, dirs: &[PathBuf]) -> String {
        let rel = Path::new(path);
        let mut msg = if rel.is_absolute() {
            format!("module `{path}` does not exist")
        } else {
            format!("module `{path}` not found; searched:{}", dir_list(dirs))
        };
        if path.ends_with(".dtb") {
            let dts = rel.with_extension("dts");
            msg.push_str(&format!("\nnor found `{}` to compile it from", dts.display()));
            if !self.r.dts_include.is_empty() {
                msg.push_str(&format!(", also searched:{}", dir_list(&self.r.dts_include)));
            }
        }
        msg
    }

    /// Compiles `X.dtb` into `out` from `X.dts`, found along `dirs` or in
    /// the dts include directories; `false` when there is no such source.
    fn dtb_from_dts(
        &self,
        item: &Item,
        rel: &Path,
        out: &Path,
        dirs: &[PathBuf],
    ) -> Result<bool, Diag> {
        let Some(dts) = self.find_dts(&rel.with_extension("dts"), dirs) else {
            return Ok(false);
        };
        dtb::compile(&dts, out, &self.r.dts_include).map_err(|m| item.spec.at.diag(m))?;
        Ok(true)
    }

    fn find_dts(&self, dts: &Path, dirs: &[PathBuf]) -> Option<PathBuf> {
        if dts.is_absolute() {
            return dts.is_file().then(|| dts.to_path_buf());
        }
        let includes = &self.r.dts_include;
        let by_path = dirs.iter().chain(includes).map(|d| d.join(dts));
        let by_name =
            dts.file_name().into_iter().flat_map(|n| includes.iter().map(move |d| d.join(n)));
        by_path.chain(by_name).find(|p| p.is_file())
    }

    /// `[glob]`: every file matching a pattern in some search directory, once
    /// per relative path (the first directory wins), sorted.
    fn glob(&self, item: &Item, patterns: &[Text]) -> Result<Vec<Resolved>, Diag> {
        let at = &item.spec.at;
        let dirs = self.dirs_for(item);
        let mut out = Vec::new();
        for pattern in patterns {
            let pattern = pattern.render(&self.r.src_base);
            let root = [PathBuf::from("/")];
            let bases = if Path::new(&pattern).is_absolute() { &root[..] } else { &dirs[..] };
            let mut found: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
            for dir in bases {
                for path in glob_in(dir, &pattern, false).map_err(|m| at.diag(m))? {
                    let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                    found.entry(rel).or_insert(path);
                }
            }
            if found.is_empty() {
                return Err(
                    at.diag(format!("no file matches `{pattern}`; searched:{}", dir_list(&dirs)))
                );
            }
            for path in found.into_values() {
                let name = match &item.fname {
                    Some(name) => name.clone(),
                    None => {
                        file_name(&path).ok_or_else(|| at.diag("glob match without a file name"))?
                    }
                };
                out.push(resolved(item, name, path, &[]));
            }
        }
        Ok(out)
    }
}

fn resolved(item: &Item, name: String, path: PathBuf, args: &[String]) -> Resolved {
    let args = args.iter().flat_map(|a| a.split_whitespace());
    let cmdline = std::iter::once(name.as_str()).chain(args).collect::<Vec<_>>().join(" ");
    Resolved {
        kind: item.kind,
        name,
        path,
        cmdline,
        uncompress: item.uncompress,
        nostrip: item.nostrip,
        file: item.spec.at.file.clone(),
        line: item.spec.at.line,
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (std::path::absolute(a), std::path::absolute(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Where a compiled blob goes below `dtb_out`: the path as written when it
/// stays inside, else just the file name.
fn dtb_out_name(rel: &Path) -> PathBuf {
    if rel.components().all(|c| matches!(c, Component::Normal(_))) {
        rel.to_path_buf()
    } else {
        rel.file_name().map(PathBuf::from).unwrap_or_default()
    }
}

/// The directories, one per line, each once.
fn dir_list(dirs: &[PathBuf]) -> String {
    let mut seen: Vec<&PathBuf> = Vec::new();
    for dir in dirs {
        if !seen.contains(&dir) {
            seen.push(dir);
        }
    }
    seen.iter().map(|d| format!("\n  {}", d.display())).collect()
}

/// The files (or, with `want_dirs`, directories) matching `pattern`,
/// relative to `base` unless absolute.
fn glob_in(base: &Path, pattern: &str, want_dirs: bool) -> Result<Vec<PathBuf>, String> {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_owned()
    } else {
        format!("{}/{pattern}", glob::Pattern::escape(&base.to_string_lossy()))
    };
    let paths = glob::glob(&full).map_err(|e| format!("bad glob pattern `{pattern}`: {e}"))?;
    Ok(paths
        .filter_map(Result::ok)
        .filter(|p| if want_dirs { p.is_dir() } else { p.is_file() })
        .collect())
}

/// Runs a `[shell]` command; its non-empty output lines, trimmed.
fn run_shell(command: &str, spec: &Spec, r: &Resolver) -> Result<Vec<String>, Diag> {
    let at = &spec.at;
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(at.dir())
        .env("SRC_BASE_ABS", &r.src_base)
        .env("SRC_BASE", &r.src_base)
        .envs(spec.env.iter().map(|(k, v)| (k, v.render(&r.src_base))))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| at.diag(format!("cannot run `sh` for `{command}`: {e}")))?;
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => output.status.to_string(),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let detail = if stderr.is_empty() { String::new() } else { format!(":\n{stderr}") };
        return Err(at.diag(format!("shell command `{command}` failed ({status}){detail}")));
    }
    let stdout = String::from_utf8(output.stdout).map_err(|_| {
        at.diag(format!("shell command `{command}` printed text that is not UTF-8"))
    })?;
    Ok(stdout.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

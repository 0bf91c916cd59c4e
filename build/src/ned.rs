//! `build ned check` and `build ned graph`: a boot script run on the host
//! against the ned crate's model of the loader, with rom/ as the
//! modules.list entry that boots the script would have it.
//!
//! `check` reports what would stop the script at boot (syntax and type
//! errors, a program missing from rom/) and what would start but not work
//! (a channel nobody serves or calls, a cap the program never looks up, a
//! cap left without rights), each as `file:line:col` with the source line
//! and a caret. `graph` writes the programs, channels and caps the script
//! sets up as a Graphviz DOT file, and an SVG when `dot` is installed.

mod elf;
mod entry;
#[cfg(test)]
mod scripts;
#[cfg(test)]
mod tests;

use ::ned::model::Model;
use ::ned::{Diagnostic, Ned, Severity};
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::modlist::{Kind, Resolved};
use crate::project::Project;
pub use entry::choose_entry;

/// What rom/ holds for a script, and where its files are on the host.
pub struct Rom {
    /// Each module's rom/ name and file, when an entry gives them.
    modules: Option<Vec<(String, PathBuf)>>,
    /// Where `.rhai` modules are read from without an entry.
    dir: PathBuf,
    /// Where program ELF files are looked for without an entry.
    search: Vec<PathBuf>,
}

impl Rom {
    /// rom/ as an entry has it: every module but the kernel (the root
    /// task's own file is one too).
    pub fn of_entry(resolved: &[Resolved]) -> Rom {
        let modules = resolved
            .iter()
            .filter(|r| r.kind != Kind::Kernel)
            .map(|r| (r.name.clone(), r.path.clone()))
            .collect();
        Rom { modules: Some(modules), dir: PathBuf::new(), search: Vec::new() }
    }

    /// No entry: any program is taken to exist (and looked for along
    /// `search`); `.rhai` modules are read from `dir`.
    pub fn unlisted(dir: &Path, search: Vec<PathBuf>) -> Rom {
        Rom { modules: None, dir: dir.to_path_buf(), search }
    }

    /// The file of module `name`, if rom/ has one (it need not exist yet).
    fn file(&self, name: &str) -> Option<PathBuf> {
        match &self.modules {
            Some(m) => m.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone()),
            None if name.ends_with(".rhai") => Some(self.dir.join(name)),
            None => self.search.iter().map(|d| d.join(name)).find(|p| p.is_file()),
        }
    }

    /// A model of the loader with this rom/.
    fn model(&self) -> Model {
        let texts = {
            let files: Vec<(String, PathBuf)> = match &self.modules {
                Some(m) => m.iter().filter(|(n, _)| n.ends_with(".rhai")).cloned().collect(),
                None => Vec::new(),
            };
            let dir = self.modules.is_none().then(|| self.dir.clone());
            move |name: &str| {
                let path = match &dir {
                    Some(d) => d.join(name),
                    None => files.iter().find(|(n, _)| n == name)?.1.clone(),
                };
                std::fs::read_to_string(path).ok()
            }
        };
        match &self.modules {
            Some(m) => Model::with_rom(m.iter().map(|(n, _)| n.clone()).collect(), texts),
            None => Model::without_rom_list(texts),
        }
    }
}

/// The outcome of checking one script.
pub struct Report {
    pub errors: usize,
    pub warnings: usize,
    /// Notes, then every diagnostic rendered with its source line.
    pub text: String,
}

/// Runs script `text` (known as `file`) against `rom` and lints it.
pub fn check_text(file: &str, text: &str, rom: &Rom) -> Report {
    let mut ned = Ned::new(rom.model());
    let result = ned.run(file, text);
    let mut diags: Vec<Diagnostic> = result.clone().err().into_iter().collect();
    let mut notes = Vec::new();
    {
        let model = ned.backend();
        let mut unbuilt = BTreeSet::new();
        let looks_up = |program: &str| {
            let path = rom.file(program)?;
            if !path.is_file() {
                unbuilt.insert(format!("rom/{program}"));
                return None;
            }
            // A module that is not an ELF file (or has no `.ned_caps`) is
            // not known to look up anything in particular.
            std::fs::read(&path).ok().and_then(|data| elf::ned_caps(&data).ok().flatten())
        };
        if result.is_ok() {
            diags.extend(model.lints(looks_up));
        } else {
            // Channels may have been meant for programs the script did not
            // get to start.
            diags.extend(model.start_lints(looks_up));
        }
        if !unbuilt.is_empty() {
            let list: Vec<String> = unbuilt.into_iter().collect();
            notes.push(format!(
                "not built, so the caps they look up are not checked: {}",
                list.join(", ")
            ));
        }
    }
    let mut out = String::new();
    for d in &diags {
        out += &ned.render(d);
    }
    for n in &notes {
        out += &format!("note: {n}\n");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    Report { errors, warnings: diags.len() - errors, text: out }
}

/// A script file named on the command line: as given, or else relative
/// to the repository root (as the modules.list is found).
/// A script to check or draw: its path, its name in diagnostics, its text
/// and the rom/ it runs against (the notes on that choice are printed).
fn load(
    project: &Project,
    file: &Path,
    entry: Option<&str>,
) -> Result<(PathBuf, String, String, Rom)> {
    let path = script_path(project, file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read the script", file.display()))?;
    let (rom, notes) = rom_for(project, &path, entry)?;
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok((path, file.display().to_string(), text, rom))
}

fn script_path(project: &Project, file: &Path) -> PathBuf {
    if file.exists() || file.is_absolute() { file.to_path_buf() } else { project.root.join(file) }
}

/// The rom/ for `script` (by `--entry`, or the entries that list it), and
/// notes saying which entry was used.
fn rom_for(project: &Project, script: &Path, given: Option<&str>) -> Result<(Rom, Vec<String>)> {
    let (entry, notes) = choose_entry(&project.list, script, given)?;
    let rom = match entry {
        Some(e) => {
            let resolved = project.resolve(&e, true)?;
            Rom::of_entry(&resolved)
        }
        None => {
            let dir = script.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            Rom::unlisted(&dir, project.resolver(true).search_path)
        }
    };
    Ok((rom, notes))
}

/// Runs the boot script of `entry` (its roottask's first argument, e.g.
/// `rom/uvmm-io.ned`) through the loader model with the entry's rom/; the
/// model, with what the script started, and the entry's modules. The entry
/// is resolved as `check` resolves it (programs need not be built).
pub fn model_of_entry(project: &Project, entry: &str) -> Result<(Model, Vec<Resolved>)> {
    let resolved = project.resolve(entry, true)?;
    let root = resolved
        .iter()
        .find(|r| r.kind == Kind::Roottask)
        .with_context(|| format!("entry `{entry}` has no roottask"))?;
    let script = program_env::split_args(&root.cmdline)
        .nth(1)
        .and_then(|a| a.strip_prefix("rom/"))
        .with_context(|| format!("the roottask of entry `{entry}` names no rom/ script"))?;
    let module = resolved
        .iter()
        .find(|r| r.name == script)
        .with_context(|| format!("entry `{entry}` has no module {script}"))?;
    let text = std::fs::read_to_string(&module.path)
        .with_context(|| format!("reading {}", module.path.display()))?;
    let mut ned = Ned::new(Rom::of_entry(&resolved).model());
    if let Err(d) = ned.run(&format!("rom/{script}"), &text) {
        bail!("the boot script of entry `{entry}` fails:\n{}", ned.render(&d));
    }
    Ok((ned.into_backend(), resolved))
}

/// `build ned check FILE...`: prints every diagnostic and a summary line
/// per script; fails if any script has an error.
pub fn check(project: &Project, files: &[PathBuf], entry: Option<&str>) -> Result<()> {
    if files.is_empty() {
        bail!("name the scripts to check, e.g. `build ned check ned-scripts/test-channel.ned`");
    }
    let mut failed = 0;
    for file in files {
        let (_, name, text, rom) = load(project, file, entry)?;
        let report = check_text(&name, &text, &rom);
        eprint!("{}", report.text);
        eprintln!("{name}: {} errors, {} warnings", report.errors, report.warnings);
        if report.errors > 0 {
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} of {} scripts have errors", files.len());
    }
    Ok(())
}

/// `build ned graph FILE`: runs the script through the model and writes
/// its component graph as DOT (and SVG with graphviz); prints the paths.
pub fn graph(
    project: &Project,
    file: &Path,
    output: Option<&Path>,
    entry: Option<&str>,
) -> Result<()> {
    let (path, name, text, rom) = load(project, file, entry)?;
    let mut ned = Ned::new(rom.model());
    if let Err(d) = ned.run(&name, &text) {
        eprint!("{}", ned.render(&d));
        bail!("{name} has an error; no graph written");
    }
    let dot = ned.into_backend().dot(&name);
    let out = match output {
        Some(o) => o.to_path_buf(),
        None => {
            let stem = path.file_stem().map_or("script".into(), |s| s.to_string_lossy());
            project.target_dir().join("ned").join(format!("{stem}.dot"))
        }
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, dot).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", out.display());
    let svg = out.with_extension("svg");
    match Command::new("dot").arg("-Tsvg").arg(&out).arg("-o").arg(&svg).status() {
        Ok(s) if s.success() => println!("{}", svg.display()),
        Ok(s) => bail!("dot -Tsvg {} failed ({s})", out.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: graphviz's `dot` is not installed, so no SVG was written");
        }
        Err(e) => bail!("running dot: {e}"),
    }
    Ok(())
}

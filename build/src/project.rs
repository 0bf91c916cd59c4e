//! The project as the tool sees it: the repository root, the modules.list,
//! the boot programs, and where build outputs go. Subcommands are methods.

use crate::guest;
use crate::image::{self, Prepared};
use crate::modlist::{ModulesList, Resolved, Resolver};
use crate::programs::{self, Program};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub struct Project {
    pub root: PathBuf,
    pub list_path: PathBuf,
    pub list: ModulesList,
    pub programs: Vec<Program>,
    /// cargo's target directory: build outputs go here.
    target_dir: PathBuf,
}

/// A built image.
pub struct Built {
    pub path: PathBuf,
    pub modules: Vec<Prepared>,
}

impl Project {
    /// Reads the modules.list at `list` (relative to the current folder, or
    /// else to the repository root) and discovers the boot programs.
    pub fn open(list: &Path) -> Result<Project> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("build/ has a parent")
            .to_path_buf();
        let list_path =
            if list.exists() || list.is_absolute() { list.to_path_buf() } else { root.join(list) };
        let list_path = std::fs::canonicalize(&list_path)
            .with_context(|| format!("{}: cannot read the modules.list", list_path.display()))?;
        let list = ModulesList::load(&list_path)?;
        let (programs, target_dir) = programs::discover(&root)?;
        Ok(Project { root, list_path, list, programs, target_dir })
    }

    pub fn target_dir(&self) -> PathBuf {
        self.target_dir.clone()
    }

    pub fn guest_dir(&self) -> PathBuf {
        self.target_dir().join("guest")
    }

    /// The module search path: `MODULE_SEARCH_PATH` (colon separated), then
    /// the build's outputs: program ELFs, compiled device trees, guest files.
    pub fn resolver(&self, check_only: bool) -> Resolver {
        let mut search_path: Vec<PathBuf> = std::env::var("MODULE_SEARCH_PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        let mut targets: Vec<&str> = self.programs.iter().map(|p| p.target.as_str()).collect();
        targets.dedup();
        for t in targets {
            search_path.push(programs::out_dir(&self.target_dir, t));
        }
        search_path.push(self.target_dir().join("dtb"));
        search_path.push(self.guest_dir());
        let will_build = if check_only {
            self.programs.iter().map(|p| p.bin.clone()).collect()
        } else {
            Vec::new()
        };
        Resolver {
            src_base: self.root.clone(),
            search_path,
            will_build,
            dtb_out: self.target_dir().join("dtb"),
            dts_include: vec![self.root.join("dts")],
        }
    }

    fn bootstrap(&self) -> Result<PathBuf> {
        let Some(p) = self.programs.iter().find(|p| p.bin == "bootstrap") else {
            bail!("the workspace has no bootstrap program");
        };
        Ok(programs::out_dir(&self.target_dir, &p.target).join(&p.bin))
    }

    /// Resolves an entry's modules, fetching the guest first when the entry
    /// needs its files and they are not there yet.
    pub fn resolve(&self, entry: &str, check_only: bool) -> Result<Vec<Resolved>> {
        let e = self.list.entry(entry)?;
        let needs_guest = guest::PROVIDES.iter().any(|f| e.mentions(f));
        if needs_guest && !check_only && !guest::present(&self.guest_dir()) {
            eprintln!("entry '{entry}' needs the Linux guest; fetching it (make guest)");
            guest::fetch(&self.guest_dir(), false)?;
        }
        Ok(e.resolve(&self.resolver(check_only))?)
    }

    /// Builds the programs and packs the image of `entry`, inflating
    /// `[uncompress]` modules where `UNCOMPRESS` says (default: here).
    pub fn image(&self, entry: &str) -> Result<Built> {
        self.image_inflating(entry, image::Inflate::from_env()?)
    }

    /// [`Project::image`] with `[uncompress]` modules inflated as `inflate`
    /// says.
    pub fn image_inflating(&self, entry: &str, inflate: image::Inflate) -> Result<Built> {
        self.list.entry(entry)?;
        programs::build_all(&self.root, &self.programs)?;
        let resolved = self.resolve(entry, false)?;
        let modules = image::prepare(&resolved)?;
        let path = self.target_dir().join("images").join(format!("{entry}.elf"));
        eprintln!("packing {} modules into {}", modules.len(), path.display());
        image::pack(&modules, &self.bootstrap()?, &path, inflate)?;
        Ok(Built { path, modules })
    }

    pub fn print_entries(&self) -> Result<()> {
        println!("entries in {}:", self.list_path.display());
        for name in self.list.entry_names() {
            println!("  {name}");
        }
        Ok(())
    }

    /// One entry's modules: kind, name, file, size and command line.
    pub fn print_entry(&self, entry: &str) -> Result<()> {
        let resolved = self.resolve(entry, true)?;
        println!("entry {entry}:");
        for r in &resolved {
            let size = std::fs::metadata(&r.path)
                .map(|m| m.len().to_string())
                .unwrap_or_else(|_| "(not built yet)".into());
            let opt = if r.uncompress { "[uncompress]" } else { "" };
            println!(
                "  {:<9} {:<30} {:>10}  {}{opt}",
                format!("{:?}", r.kind).to_lowercase(),
                r.name,
                size,
                r.path.display()
            );
            if r.cmdline != r.name {
                println!("  {:<9} command line: {}", "", r.cmdline);
            }
        }
        Ok(())
    }

    /// Checks every entry without building anything; reports every problem.
    pub fn check(&self) -> Result<()> {
        let names = self.list.entry_names();
        let mut errors = 0;
        for name in &names {
            if let Err(e) = self.resolve(name, true) {
                eprintln!("{e:#}");
                errors += 1;
            }
        }
        if errors > 0 {
            bail!("{}: {errors} of {} entries have errors", self.list_path.display(), names.len());
        }
        println!("{}: {} entries, all modules found", self.list_path.display(), names.len());
        Ok(())
    }
}

//! Tests of the modules.list parser and resolver, each in its own temporary
//! directory: `modules.list` at the root, the resolver searching `bin/`,
//! device-tree includes in `dts/` and compiled blobs in `out/dtb/`.

use super::*;
use std::fs;
use tempfile::TempDir;

mod parsing;
mod resolving;

struct Fx {
    dir: TempDir,
}

impl Fx {
    fn new() -> Fx {
        Fx { dir: tempfile::tempdir().expect("temporary directory") }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// The top list.
    fn list(&self) -> PathBuf {
        self.path("modules.list")
    }

    fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create directory");
        }
        fs::write(&path, content).expect("write file");
        path
    }

    /// Creates empty files.
    fn touch(&self, rels: &[&str]) {
        for rel in rels {
            self.write(rel, "");
        }
    }

    fn load(&self, list: &str) -> ModulesList {
        self.write("modules.list", list);
        ModulesList::load(&self.list()).unwrap_or_else(|d| panic!("unexpected error: {d}"))
    }

    fn load_err(&self, list: &str) -> Diag {
        self.write("modules.list", list);
        match ModulesList::load(&self.list()) {
            Ok(_) => panic!("loaded, but an error was expected"),
            Err(d) => d,
        }
    }

    fn resolver(&self) -> Resolver {
        Resolver {
            src_base: self.root().to_path_buf(),
            search_path: vec![self.path("bin")],
            will_build: Vec::new(),
            dtb_out: self.path("out/dtb"),
            dts_include: vec![self.path("dts")],
        }
    }

    fn resolve_with(&self, list: &str, entry: &str, r: &Resolver) -> Result<Vec<Resolved>, Diag> {
        let modules = self.load(list);
        let entry = modules.entry(entry).unwrap_or_else(|d| panic!("{d}"));
        entry.resolve(r)
    }

    fn resolve(&self, list: &str, entry: &str) -> Vec<Resolved> {
        self.resolve_with(list, entry, &self.resolver())
            .unwrap_or_else(|d| panic!("unexpected error: {d}"))
    }

    fn resolve_err(&self, list: &str, entry: &str) -> Diag {
        match self.resolve_with(list, entry, &self.resolver()) {
            Ok(r) => panic!("resolved to {r:?}, but an error was expected"),
            Err(d) => d,
        }
    }
}

/// Checks where a diagnostic points and that its message contains `needle`.
#[track_caller]
fn assert_diag(d: &Diag, file: &Path, line: usize, needle: &str) {
    assert_eq!(d.file, file, "wrong file in: {d}");
    assert_eq!(d.line, line, "wrong line in: {d}");
    assert!(d.msg.contains(needle), "message lacks `{needle}`: {d}");
}

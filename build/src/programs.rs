//! The bare-metal programs of the workspace and their build.
//!
//! A package is a boot program when its manifest says which target it runs
//! on, in `[package.metadata.boot] target = "..."`. They are built in their
//! own cargo invocation per target (host and bare-metal features must not
//! merge), and their ELF files become modules by name: `kernel`,
//! `bootstrap`, ...

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A boot program: a binary of a workspace package with a boot target.
#[derive(Debug, Clone)]
pub struct Program {
    pub package: String,
    pub bin: String,
    pub target: String,
}

/// The workspace's boot programs, from `cargo metadata`.
/// Also returns cargo's target directory (honouring `CARGO_TARGET_DIR`).
pub fn discover(root: &Path) -> Result<(Vec<Program>, PathBuf)> {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("reading the workspace with `cargo metadata`")?;
    let mut out = Vec::new();
    for p in meta.workspace_packages() {
        let Some(target) = p.metadata.get("boot").and_then(|b| b.get("target")) else {
            continue;
        };
        let Some(target) = target.as_str() else {
            bail!("{}: [package.metadata.boot] target must be a string", p.manifest_path);
        };
        for t in p.targets.iter().filter(|t| t.is_bin()) {
            out.push(Program {
                package: p.name.to_string(),
                bin: t.name.clone(),
                target: target.to_owned(),
            });
        }
    }
    Ok((out, meta.target_directory.into_std_path_buf()))
}

/// Where the release build of `target` leaves its binaries, in cargo's
/// target directory `target_dir`.
pub fn out_dir(target_dir: &Path, target: &str) -> PathBuf {
    target_dir.join(target).join("release")
}

/// Builds every program, one cargo invocation per target.
pub fn build_all(root: &Path, programs: &[Program]) -> Result<()> {
    let mut targets: Vec<&str> = programs.iter().map(|p| p.target.as_str()).collect();
    targets.sort();
    targets.dedup();
    for target in targets {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(root).args(["build", "--release", "--target", target]);
        let mut pkgs: Vec<&str> =
            programs.iter().filter(|p| p.target == target).map(|p| p.package.as_str()).collect();
        pkgs.dedup();
        for p in pkgs {
            cmd.args(["-p", p]);
        }
        // A fixed hash seed keeps images reproducible (see DESIGN.md).
        cmd.env("CONST_RANDOM_SEED", "0");
        let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
        if !status.success() {
            bail!("building the {target} programs failed ({status})");
        }
    }
    Ok(())
}

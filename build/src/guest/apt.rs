//! The apt and dpkg commands the guest fetch runs: checking that arm64 is a dpkg
//! architecture, resolving the kernel metapackage to its versioned package, downloading
//! packages (`apt-get download`, which needs no root and installs nothing) and unpacking them
//! (`dpkg-deb -x`). Every command runs with `LC_ALL=C` so its output parses the same everywhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::ProgressBar;

/// The Debian architecture the guest runs on.
pub const ARCH: &str = "arm64";

const SETUP_HINT: &str =
    "run `make setup` (it runs `dpkg --add-architecture arm64` and `apt-get update`)";

/// A package version apt would fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Package name without the architecture suffix.
    pub package: String,
    /// Debian version, e.g. `6.1.192-2`.
    pub version: String,
    /// Size of the .deb in bytes, when apt knows it.
    pub size: Option<u64>,
}

impl Candidate {
    /// The `name:arm64` form apt takes.
    pub fn qualified(&self) -> String {
        format!("{}:{ARCH}", self.package)
    }
}

fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("LC_ALL", "C");
    cmd
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Turns a finished command into its stdout, or an error naming the command, its exit status
/// and its stderr.
fn check(cmd: &Command, output: std::io::Result<Output>) -> Result<String> {
    let shown = describe(cmd);
    let output = output.map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            anyhow!(
                "`{shown}`: {} not found; the guest comes from Debian's arm64 packages, so this \
                 needs a Debian host with apt and dpkg",
                cmd.get_program().to_string_lossy()
            )
        } else {
            anyhow!(err).context(format!("could not start `{shown}`"))
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`{shown}` failed ({}): {}", output.status, stderr.trim());
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed invalid UTF-8"))
}

fn run(cmd: &mut Command) -> Result<String> {
    let output = cmd.output();
    check(cmd, output)
}

/// Fails with the setup command to run unless dpkg knows arm64 (as the native or a foreign
/// architecture), which apt needs to fetch arm64 packages.
pub fn check_arm64() -> Result<()> {
    let native = run(command("dpkg").arg("--print-architecture"))
        .context("asking dpkg for the native architecture")?;
    let foreign = run(command("dpkg").arg("--print-foreign-architectures"))
        .context("asking dpkg for the foreign architectures")?;
    if !has_arch(&native, &foreign) {
        bail!(
            "arm64 is not a dpkg architecture on this machine (native: {}, foreign: {}), so apt \
             cannot fetch the arm64 kernel and busybox; {SETUP_HINT}",
            native.trim(),
            if foreign.trim().is_empty() { "none" } else { foreign.trim() }
        );
    }
    Ok(())
}

fn has_arch(native: &str, foreign: &str) -> bool {
    native.trim() == ARCH || foreign.split_whitespace().any(|a| a == ARCH)
}

/// Resolves `metapackage` (e.g. `linux-image-arm64`) to the versioned kernel package it
/// depends on (e.g. `linux-image-6.1.0-56-arm64`) and that package's candidate.
pub fn resolve_kernel(metapackage: &str) -> Result<Candidate> {
    let meta = format!("{metapackage}:{ARCH}");
    let depends = run(command("apt-cache").args(["depends", &meta])).with_context(|| {
        format!("apt does not know {meta}: the arm64 package lists are missing; {SETUP_HINT}")
    })?;
    let package = kernel_dependency(&depends).with_context(|| {
        format!(
            "`apt-cache depends {meta}` lists no versioned linux-image-*-arm64 package; its \
             output was:\n{}",
            depends.trim()
        )
    })?;
    candidate(&package)
}

/// Picks the versioned kernel package from `apt-cache depends` output.
pub fn kernel_dependency(depends: &str) -> Option<String> {
    depends.lines().find_map(|line| {
        let line = line.trim();
        let value = line
            .strip_prefix("Depends:")
            .or_else(|| line.strip_prefix("|Depends:"))?
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let name = value.strip_suffix(":arm64").unwrap_or(value);
        let version = name.strip_prefix("linux-image-")?;
        let versioned = version.starts_with(|c: char| c.is_ascii_digit())
            && (version.ends_with("-arm64") || version.ends_with("-arm64-unsigned"));
        versioned.then(|| name.to_owned())
    })
}

/// The candidate version (the one `apt-get download` fetches) of `package` for arm64.
pub fn candidate(package: &str) -> Result<Candidate> {
    let qualified = format!("{package}:{ARCH}");
    let show = run(command("apt-cache").args(["show", "--no-all-versions", &qualified]))
        .with_context(|| format!("apt has no candidate for {qualified}; {SETUP_HINT}"))?;
    parse_show(package, &show).with_context(|| {
        format!("`apt-cache show --no-all-versions {qualified}` printed no Version field")
    })
}

/// Reads Version and Size from the first stanza of `apt-cache show` output.
pub fn parse_show(package: &str, show: &str) -> Option<Candidate> {
    let stanza = show.split("\n\n").next()?;
    let field = |name: &str| {
        stanza.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
    };
    Some(Candidate {
        package: package.to_owned(),
        version: field("Version")?.to_owned(),
        size: field("Size").and_then(|s| s.parse().ok()),
    })
}

/// Downloads `packages` into the empty directory `dir`, advancing `bar` by the bytes that
/// arrive, and returns each package's .deb in the same order.
pub fn download(dir: &Path, packages: &[&Candidate], bar: &ProgressBar) -> Result<Vec<PathBuf>> {
    let mut cmd = command("apt-get");
    cmd.arg("download")
        .args(packages.iter().map(|p| format!("{}={}", p.qualified(), p.version)))
        .current_dir(dir);
    let output = thread::scope(|scope| {
        let child = scope.spawn(|| cmd.output());
        while !child.is_finished() {
            bar.set_position(deb_bytes(dir));
            thread::sleep(Duration::from_millis(100));
        }
        child.join()
    })
    .map_err(|_| anyhow!("the thread running apt-get download panicked"))?;
    bar.set_position(deb_bytes(dir));
    check(&cmd, output).context(
        "downloading the guest packages failed; check the network and apt's sources, or \
         run `make setup` to refresh the package lists",
    )?;
    packages.iter().map(|p| find_deb(dir, &p.package)).collect()
}

fn deb_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".deb"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn find_deb(dir: &Path, package: &str) -> Result<PathBuf> {
    let prefix = format!("{package}_");
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            return Ok(entry.path());
        }
    }
    bail!("apt-get download reported success but left no {prefix}*.deb in {}", dir.display())
}

/// Unpacks the files of `deb` into `dir`.
pub fn extract(deb: &Path, dir: &Path) -> Result<()> {
    let mut cmd = command("dpkg-deb");
    cmd.arg("-x").arg(deb).arg(dir);
    run(&mut cmd).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_versioned_kernel() {
        let foreign = "linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-56-arm64:arm64\n";
        assert_eq!(kernel_dependency(foreign).as_deref(), Some("linux-image-6.1.0-56-arm64"));
        let native = "linux-image-arm64\n  Depends: linux-image-6.12.9-arm64-unsigned\n";
        assert_eq!(kernel_dependency(native).as_deref(), Some("linux-image-6.12.9-arm64-unsigned"));
        let noise = "linux-image-arm64:arm64\n  Depends: linux-base\n  Recommends: \
                     linux-image-6.1.0-1-arm64\n |Depends: <linux-image-6.1.0-9-arm64:arm64>\n";
        assert_eq!(kernel_dependency(noise).as_deref(), Some("linux-image-6.1.0-9-arm64"));
        assert_eq!(kernel_dependency("linux-image-arm64\n  Depends: kmod\n"), None);
        assert_eq!(kernel_dependency(""), None);
    }

    #[test]
    fn reads_version_and_size_of_the_first_stanza() {
        let show = "Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nSize: 822236\n\
                    Description: x\n\nPackage: busybox-static\nVersion: 0\nSize: 1\n";
        let c = parse_show("busybox-static", show).unwrap();
        assert_eq!(c.version, "1:1.35.0-4+deb12u1+b1");
        assert_eq!(c.size, Some(822236));
        assert_eq!(c.qualified(), "busybox-static:arm64");
        assert_eq!(parse_show("x", "Package: x\nSize: 1\n"), None);
        let no_size = parse_show("x", "Package: x\nVersion: 2\n").unwrap();
        assert_eq!(no_size.size, None);
    }

    #[test]
    fn arm64_as_native_or_foreign() {
        assert!(has_arch("amd64\n", "arm64\n"));
        assert!(has_arch("amd64\n", "i386\narm64\n"));
        assert!(has_arch("arm64\n", ""));
        assert!(!has_arch("amd64\n", ""));
        assert!(!has_arch("amd64\n", "armhf\n"));
    }

    #[test]
    fn failed_command_reports_its_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        let err = run(&mut cmd).unwrap_err().to_string();
        assert!(err.contains("sh -c"), "{err}");
        assert!(err.contains("boom"), "{err}");
        let mut missing = Command::new("no-such-program-for-guest-tests");
        let err = run(&mut missing).unwrap_err().to_string();
        assert!(err.contains("not found"), "{err}");
    }
}

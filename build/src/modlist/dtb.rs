//! Compiling a device-tree source with `dtc` when an entry needs the blob.
//!
//! dtc also writes a dependency file (`X.dtb.d`) naming every file the
//! source included, so that a change to any of them compiles the blob again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// Compiles `dts` into `out` (`dtc -I dts -O dtb -i <include>... -o out`),
/// unless `out` is at least as new as the source and every file it included
/// the last time. The message of an error includes dtc's.
pub(super) fn compile(dts: &Path, out: &Path, includes: &[PathBuf]) -> Result<(), String> {
    let dts = absolute(dts)?;
    let out = absolute(out)?;
    let deps = deps_file(&out);
    if up_to_date(&out, &dts, &deps) {
        return Ok(());
    }
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    let mut dtc = Command::new("dtc");
    dtc.args(["-I", "dts", "-O", "dtb"]);
    for dir in includes {
        dtc.arg("-i").arg(absolute(dir)?);
    }
    dtc.arg("-d").arg(&deps).arg("-o").arg(&out).arg(&dts).stdin(Stdio::null());
    if let Some(dir) = dts.parent() {
        dtc.current_dir(dir);
    }
    let output = dtc.output().map_err(|e| {
        format!("cannot run `dtc` (device-tree-compiler) for `{}`: {e}", dts.display())
    })?;
    if output.status.success() {
        return Ok(());
    }
    // Leave no partial blob that a later build could take as up to date;
    // either file may not exist.
    let _ = fs::remove_file(&out);
    let _ = fs::remove_file(&deps);
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "dtc failed to compile `{}` ({}):\n{}",
        dts.display(),
        output.status,
        stderr.trim()
    ))
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("bad path `{}`: {e}", path.display()))
}

/// `out` with `.d` appended.
fn deps_file(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".d");
    PathBuf::from(name)
}

fn up_to_date(out: &Path, dts: &Path, deps: &Path) -> bool {
    let Some(built) = modified(out) else {
        return false;
    };
    let base = dts.parent().unwrap_or(Path::new("."));
    let included = fs::read_to_string(deps).map(|t| parse_deps(&t, base)).unwrap_or_default();
    std::iter::once(dts.to_path_buf())
        .chain(included)
        .all(|input| modified(&input).is_some_and(|t| t <= built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The inputs listed in a make-style dependency file (`target: a b \`),
/// relative ones taken relative to `base`.
fn parse_deps(text: &str, base: &Path) -> Vec<PathBuf> {
    text.replace("\\\n", " ")
        .lines()
        .filter_map(|line| line.split_once(": "))
        .flat_map(|(_, inputs)| inputs.split_whitespace().map(|i| base.join(i)).collect::<Vec<_>>())
        .collect()
}

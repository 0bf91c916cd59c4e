//! The cap names a program looks up, from its ELF file's `.ned_caps`
//! section: sel4-runtime's `get_cap!("name")` puts each name there,
//! followed by a NUL byte (the section is not loaded).

use anyhow::{Context, Result};
use object::{Object, ObjectSection};

/// The section's name.
pub const SECTION: &str = ".ned_caps";

/// The names in an ELF file's `.ned_caps` section, each once, in order;
/// `None` when it has no such section (a program that does not use
/// `get_cap!`, or not a sel4-runtime program).
pub fn ned_caps(elf: &[u8]) -> Result<Option<Vec<String>>> {
    let file = object::File::parse(elf).context("not an ELF file")?;
    let Some(section) = file.section_by_name(SECTION) else { return Ok(None) };
    let data = section.data().with_context(|| format!("reading {SECTION}"))?;
    Ok(Some(names(data)))
}

/// NUL-terminated names, each once, in order of first appearance.
pub fn names(data: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in data.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(raw).into_owned();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

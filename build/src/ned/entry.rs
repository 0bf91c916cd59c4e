//! Which modules.list entry a script is checked against: its rom/ is what
//! the script can start and import.

use anyhow::Result;
use std::path::Path;

use crate::modlist::ModulesList;

/// The entry for `script`: `given` (`--entry`), else the first entry of
/// `list` that lists the script's file, else none (rom/ unknown). Also
/// notes saying what was chosen and why.
pub fn choose_entry(
    list: &ModulesList,
    script: &Path,
    given: Option<&str>,
) -> Result<(Option<String>, Vec<String>)> {
    let file_name =
        script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let list_name = list.file().display();
    if let Some(name) = given {
        let entry = list.entry(name)?;
        let mut notes = Vec::new();
        if !entry.mentions(&file_name) {
            notes.push(format!(
                "entry `{}` does not list {file_name}: at boot rom/ would not hold it",
                entry.name
            ));
        }
        return Ok((Some(entry.name.clone()), notes));
    }
    let found: Vec<&str> =
        list.entries().iter().filter(|e| e.mentions(&file_name)).map(|e| e.name.as_str()).collect();
    let note = match found.as_slice() {
        [] => {
            return Ok((
                None,
                vec![format!(
                    "no entry of {list_name} lists {file_name}; checking without a rom/ list \
                     (every program is taken to exist)"
                )],
            ));
        }
        [one] => format!("checking against rom/ of entry `{one}` in {list_name}"),
        [first, ..] => format!(
            "entries {} list {file_name}; checking against rom/ of the first, `{first}` \
             (choose another with --entry)",
            found.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        ),
    };
    Ok((Some(found[0].to_string()), vec![note]))
}

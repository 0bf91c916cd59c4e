//! Choosing the entry, reading `.ned_caps`, and checking scripts against
//! an entry's rom/ in a temporary folder.

use super::*;
use crate::modlist::{ModulesList, Resolver};
use object::write;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};
use std::fs;

/// A small aarch64 ELF file, with a `.ned_caps` section of `caps` if given.
fn elf(caps: Option<&[u8]>) -> Vec<u8> {
    let mut obj = write::Object::new(BinaryFormat::Elf, Architecture::Aarch64, Endianness::Little);
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0x1f, 0x20, 0x03, 0xd5], 4);
    if let Some(caps) = caps {
        let s = obj.add_section(Vec::new(), elf::SECTION.as_bytes().to_vec(), SectionKind::Other);
        obj.append_section_data(s, caps, 1);
    }
    obj.write().expect("writing an ELF file")
}

const LIST: &str = "entry one\nkernel kernel\nroottask moe rom/a.ned\nmodule a.ned\n\
                    module nedtest\nmodule lib.rhai\n\
                    entry two\nkernel kernel\nroottask moe rom/a.ned\nmodule a.ned\n\
                    entry three\nkernel kernel\nroottask moe rom/b.ned\nmodule b.ned\n";

fn list(dir: &Path) -> ModulesList {
    fs::write(dir.join("modules.list"), LIST).unwrap();
    ModulesList::load(&dir.join("modules.list")).unwrap()
}

#[test]
fn entry_given_found_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let list = list(dir.path());
    let a = Path::new("scripts/a.ned");

    let (e, notes) = choose_entry(&list, a, Some("TWO")).unwrap();
    assert_eq!((e.as_deref(), notes.len()), (Some("two"), 0));
    let (e, notes) = choose_entry(&list, a, Some("three")).unwrap();
    assert_eq!(e.as_deref(), Some("three"));
    assert_eq!(notes, ["entry `three` does not list a.ned: at boot rom/ would not hold it"]);
    let err = choose_entry(&list, a, Some("four")).unwrap_err().to_string();
    assert!(err.contains("unknown entry `four`; available entries: one, two, three"), "{err}");

    let (e, notes) = choose_entry(&list, a, None).unwrap();
    assert_eq!(e.as_deref(), Some("one"));
    assert!(
        notes[0].starts_with(
            "entries `one`, `two` list a.ned; checking against rom/ of the first, `one`"
        ),
        "{notes:?}"
    );
    let (e, notes) = choose_entry(&list, Path::new("b.ned"), None).unwrap();
    assert_eq!(e.as_deref(), Some("three"));
    assert!(notes[0].starts_with("checking against rom/ of entry `three` in "), "{notes:?}");
    let (e, notes) = choose_entry(&list, Path::new("c.ned"), None).unwrap();
    assert_eq!(e, None);
    assert!(notes[0].contains("lists c.ned; checking without a rom/ list"), "{notes:?}");
}

#[test]
fn ned_caps_section() {
    assert_eq!(elf::names(b"chan\0cons\0\0chan\0uart"), ["chan", "cons", "uart"]);
    assert!(elf::names(b"").is_empty());
    let caps = elf::ned_caps(&elf(Some(b"chan\0mem\0chan\0"))).unwrap();
    assert_eq!(caps, Some(vec!["chan".to_string(), "mem".to_string()]));
    assert_eq!(elf::ned_caps(&elf(None)).unwrap(), None);
    assert!(elf::ned_caps(b"#!/bin/sh\n").is_err());
}

/// The `one` entry resolved in `dir`: programs in `dir/bin`.
fn rom_of_one(dir: &Path) -> Rom {
    let list = list(dir);
    let r = Resolver {
        src_base: dir.to_path_buf(),
        search_path: vec![dir.join("bin")],
        will_build: vec!["kernel".into(), "moe".into(), "nedtest".into()],
        ..Default::default()
    };
    Rom::of_entry(&list.entry("one").unwrap().resolve(&r).unwrap())
}

#[test]
fn error_reports_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.ned"), "").unwrap();
    fs::write(dir.path().join("lib.rhai"), "").unwrap();
    let rom = rom_of_one(dir.path());
    let script = "let ch = L4.default_loader.new_channel();\n\
                  L4.default_loader.start(#{}, \"rom/ghost\");\n";
    let r = check_text("s/a.ned", script, &rom);
    assert_eq!((r.errors, r.warnings), (1, 0));
    assert!(
        r.text.starts_with(
            "s/a.ned:2:19: error: start: rom/ghost: no such module (rom/ holds: moe, a.ned, \
             nedtest, lib.rhai)\n\
             2 | L4.default_loader.start(#{}, \"rom/ghost\");\n\
             \x20 |                   ^\n"
        ),
        "{}",
        r.text
    );
    // The kernel is not in rom/; without an entry, rom/ is not checked.
    let r = check_text("a.ned", "L4.default_loader.start(#{}, \"rom/kernel\");", &rom);
    assert_eq!(r.errors, 1, "{}", r.text);
    let unlisted = Rom::unlisted(dir.path(), Vec::new());
    let r = check_text("a.ned", "L4.default_loader.start(#{}, \"rom/ghost\");", &unlisted);
    assert_eq!((r.errors, r.warnings, r.text.as_str()), (0, 0, ""));
}

#[test]
fn warnings_from_built_programs_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.ned"), "").unwrap();
    fs::write(
        dir.path().join("lib.rhai"),
        "fn start(ch) {\n    L4.default_loader.start(#{ caps: #{ chan: ch, x: ch } }, \"rom/nedtest\")\n}\n",
    )
    .unwrap();
    let script = "import \"lib\" as lib;\n\
                  let ch = L4.default_loader.new_channel();\n\
                  lib::start(ch);\n";
    // Not built: only the channel's missing server, and a note.
    let rom = rom_of_one(dir.path());
    let r = check_text("a.ned", script, &rom);
    assert_eq!((r.errors, r.warnings), (0, 1), "{}", r.text);
    assert!(
        r.text.starts_with("a.ned:2:28: warning: this channel goes to rom/nedtest"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .ends_with("note: not built, so the caps they look up are not checked: rom/nedtest\n")
    );
    // Built: the cap it never looks up, placed in the module.
    fs::create_dir_all(dir.path().join("bin")).unwrap();
    fs::write(dir.path().join("bin/nedtest"), elf(Some(b"chan\0"))).unwrap();
    let r = check_text("a.ned", script, &rom);
    assert_eq!((r.errors, r.warnings), (0, 2), "{}", r.text);
    assert!(
        r.text.contains(
            "rom/lib.rhai:2:23: warning: rom/nedtest is given cap `x` but never looks it up \
         (it looks up: chan)\n\
         2 |     L4.default_loader.start(#{ caps: #{ chan: ch, x: ch } }, \"rom/nedtest\")\n"
        ),
        "{}",
        r.text
    );
    assert!(!r.text.contains("note:"));
}

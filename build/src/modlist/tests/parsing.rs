//! Reading lists: syntax, includes, entries and the errors of each.

use super::*;

#[test]
fn comments_blank_lines_case_and_title() {
    let fx = Fx::new();
    let list = fx.load(
        "# a comment\n\
         \n   \t\n\
         ENTRY one   # trailing comment\n\
         Kernel k -v\n\
         title Two\n\
         KERNEL k\n",
    );
    assert_eq!(list.entry_names(), ["one", "Two"]);
    assert_eq!(list.entries().len(), 2);
    let two = &list.entries()[1];
    assert_eq!((two.file.as_path(), two.line), (fx.list().as_path(), 6));
    assert_eq!(list.file(), fx.list());
}

#[test]
fn entry_lookup_exact_then_ignoring_case() {
    let fx = Fx::new();
    let list = fx.load("entry Hello\nkernel k\nentry other\nkernel k\n");
    assert_eq!(list.entry("Hello").map(|e| e.line).ok(), Some(1));
    assert_eq!(list.entry("hELLO").map(|e| e.name.as_str()).ok(), Some("Hello"));
    assert_eq!(list.entry("OTHER").map(|e| e.line).ok(), Some(3));
}

#[test]
fn unknown_entry_lists_every_entry() {
    let fx = Fx::new();
    let list = fx.load("entry a\nkernel k\nentry b-2\nkernel k\n");
    let d = list.entry("c").map(|_| ()).unwrap_err();
    assert_diag(&d, &fx.list(), 0, "unknown entry `c`; available entries: a, b-2");
    assert!(d.to_string().starts_with(&format!("{}: unknown entry", fx.list().display())));

    let empty = fx.load("# nothing\n");
    let d = empty.entry("a").map(|_| ()).unwrap_err();
    assert_diag(&d, &fx.list(), 0, "this list has no entries");
}

#[test]
fn diag_display() {
    let d = Diag { file: PathBuf::from("a/m.list"), line: 7, msg: "bad".into() };
    assert_eq!(d.to_string(), "a/m.list:7: bad");
    let d = Diag { line: 0, ..d };
    assert_eq!(d.to_string(), "a/m.list: bad");
}

#[test]
fn unknown_directive() {
    let fx = Fx::new();
    let d = fx.load_err("entry a\nkernel k\n\nmodul foo\n");
    assert_diag(&d, &fx.list(), 4, "unknown directive `modul`");
}

#[test]
fn l4re_directives_without_meaning_here_are_rejected() {
    let cases = [
        ("sigma0 sigma0", "`sigma0` is not supported"),
        ("default-sigma0 sigma0", "`default-sigma0` is not supported"),
        ("bootstrap bootstrap -serial", "`bootstrap` is not supported"),
        ("default-bootstrap bootstrap", "`default-bootstrap` is not supported"),
        ("modaddr 0x01100000", "`modaddr` is not supported"),
        ("initrd ramdisk.gz", "`initrd` is not supported"),
        ("set mode linux", "`set mode linux` is not supported"),
    ];
    for (line, msg) in cases {
        let fx = Fx::new();
        let d = fx.load_err(&format!("entry a\n{line}\n"));
        assert_diag(&d, &fx.list(), 2, msg);
    }
}

#[test]
fn unknown_and_unsupported_options_are_named() {
    let cases = [
        ("module[frobnicate] x", "unknown option `frobnicate`"),
        ("module[uncompress, Nostrip] x", "unknown option `Nostrip`"),
        ("module[perl] \"x\"", "option `perl` is not supported"),
        ("module[compress] x", "option `compress` is not supported"),
        ("module[attr:nodes=1] x", "option `attr:nodes` is not supported"),
        ("module[uncompress=yes] x", "option `uncompress` takes no value"),
        ("module[fname] x", "option `fname` needs a value"),
        ("module[arch=] x", "option `arch` needs a value"),
        ("module[shell,glob] x", "`shell` and `glob` cannot be combined"),
        ("module[glob, glob] x", "option `glob` is given twice"),
        ("module[uncompress,,nostrip] x", "empty option"),
        ("include[uncompress] x", "option `uncompress` does not apply to `include`"),
        ("set[fname=a] X 1", "option `fname` does not apply to `set`"),
        ("moe[uncompress] x.cfg", "option `uncompress` does not apply to `moe`"),
        ("module [uncompress] x", "options go right after the directive"),
        ("module[uncompress x", "`module[` without its closing `]`"),
        ("module[uncompress]x", "expected a space after `module[uncompress]`"),
    ];
    for (line, msg) in cases {
        let fx = Fx::new();
        let d = fx.load_err(&format!("entry a\nkernel k\n{line}\n"));
        assert_diag(&d, &fx.list(), 3, msg);
    }
    let fx = Fx::new();
    let d = fx.load_err("entry[fname=x] a\n");
    assert_diag(&d, &fx.list(), 1, "option `fname` does not apply to `entry`");
}

#[test]
fn lines_outside_their_place() {
    let cases = [
        ("module foo\n", 1, "`module` outside an entry"),
        ("kernel k\n", 1, "`kernel` outside an entry"),
        ("data d\n", 1, "`data` outside an entry"),
        ("moe x.cfg\n", 1, "`moe` outside an entry"),
        ("group g\nkernel k\n", 2, "`kernel` cannot be part of group `g`"),
        ("group g\nmodule-group h\n", 2, "`module-group` cannot be part of group `g`"),
    ];
    for (list, line, msg) in cases {
        let fx = Fx::new();
        let d = fx.load_err(list);
        assert_diag(&d, &fx.list(), line, msg);
    }
}

#[test]
fn missing_arguments() {
    let cases = [
        ("entry\n", 1, "`entry` needs a name"),
        ("title   # no name\n", 1, "`title` needs a name"),
        ("entry a\nmodule\n", 2, "`module` needs a file name"),
        ("entry a\nkernel[uncompress]\n", 2, "`kernel` needs a file name"),
        ("default-kernel\n", 1, "`default-kernel` needs a file name"),
        ("include\n", 1, "`include` needs a file name"),
        ("searchpath\n", 1, "`searchpath` needs a directory"),
        ("set\n", 1, "`set` needs a variable name"),
        ("group\n", 1, "`group` needs one name"),
        ("entry a\nmodule-group\n", 2, "`module-group` needs a group name"),
        ("entry a\nmoe\n", 2, "`moe` takes one file name"),
        ("entry a\nmoe a.cfg b.cfg\n", 2, "`moe` takes one file name"),
    ];
    for (list, line, msg) in cases {
        let fx = Fx::new();
        let d = fx.load_err(list);
        assert_diag(&d, &fx.list(), line, msg);
    }
}

#[test]
fn duplicate_entry_and_kernel() {
    let fx = Fx::new();
    let d = fx.load_err("entry a\nkernel k\nENTRY A\n");
    let first = format!("{}:1", fx.list().display());
    assert_diag(&d, &fx.list(), 3, &format!("entry `A` is already defined at {first}"));

    let d = fx.load_err("entry a\nkernel k\nkernel k2\n");
    let first = format!("{}:2", fx.list().display());
    assert_diag(&d, &fx.list(), 3, &format!("entry `a` already has a kernel (at {first})"));

    let d = fx.load_err("entry a\nkernel k\nroottask r\nmoe x.cfg\n");
    assert_diag(&d, &fx.list(), 4, "entry `a` already has a roottask");
}

#[test]
fn include_is_relative_to_the_including_file_and_nests() {
    let fx = Fx::new();
    fx.write("sub/a.list", "include b.list\nentry from-a\nkernel k\n");
    let b = fx.write("sub/b.list", "entry from-b\nkernel k\n");
    let list = fx.load("include sub/a.list\nentry main\nkernel k\n");
    assert_eq!(list.entry_names(), ["from-b", "from-a", "main"]);
    let e = list.entry("from-b").map(|e| (e.file.clone(), e.line)).ok();
    assert_eq!(e, Some((b, 1)));
}

#[test]
fn include_continues_the_current_entry() {
    let fx = Fx::new();
    fx.write("more.list", "module m2\n");
    fx.touch(&["bin/k", "bin/m1", "bin/m2"]);
    let got = fx.resolve("entry a\nkernel k\nmodule m1\ninclude more.list\n", "a");
    let names: Vec<_> = got.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["k", "m1", "m2"]);
    assert_eq!((got[2].file.clone(), got[2].line), (fx.path("more.list"), 1));
}

#[test]
fn include_glob_and_same_file_twice() {
    let fx = Fx::new();
    fx.write("parts/2.list", "entry two\nkernel k\n");
    fx.write("parts/1.list", "entry one\nkernel k\n");
    fx.write("common.list", "set X 1\n");
    let list = fx.load("include common.list\ninclude common.list\ninclude parts/*.list\n");
    assert_eq!(list.entry_names(), ["one", "two"]);

    let d = fx.load_err("include nothing/*.list\n");
    assert_diag(&d, &fx.list(), 1, "no file matches `nothing/*.list`");
}

#[test]
fn include_cycle_is_reported_where_it_closes() {
    let fx = Fx::new();
    fx.write("a.list", "entry a\nkernel k\ninclude b.list\n");
    let b = fx.write("b.list", "# b\n\ninclude modules.list\n");
    let d = fx.load_err("include a.list\n");
    assert_diag(&d, &b, 3, "include cycle: ");
    assert!(d.msg.contains("modules.list` includes `"), "{d}");
    assert!(d.msg.ends_with("modules.list`"), "{d}");

    let d = fx.load_err("include modules.list\n");
    assert_diag(&d, &fx.list(), 1, "include cycle");
}

#[test]
fn unreadable_files() {
    let fx = Fx::new();
    let missing = fx.path("missing.list");
    let d = ModulesList::load(&missing).map(|_| ()).unwrap_err();
    assert_diag(&d, &missing, 0, "cannot read this file");

    let d = fx.load_err("entry a\nkernel k\ninclude nope.list\n");
    assert_diag(&d, &fx.list(), 3, "cannot read `");
    assert!(d.msg.contains("nope.list"), "{d}");
}

#[test]
fn arch_and_bits_select_lines_and_entries() {
    let fx = Fx::new();
    let list = fx.load(
        "entry[arch=x86|amd64] pc\n\
         kernel k\n\
         module $UNDEFINED_IN_SKIPPED_ENTRY\n\
         entry[arch=arm|arm64] arm\n\
         kernel k\n\
         entry[arch=aarch64] both\n\
         kernel k\n\
         entry[bits=32] small\n\
         kernel k\n\
         entry[arch=arm64,bits=32|64] wide\n\
         kernel k\n\
         entry[arch=x86] pc\n\
         kernel k\n",
    );
    assert_eq!(list.entry_names(), ["arm", "both", "wide"]);
}

#[test]
fn undefined_and_malformed_variables() {
    let cases = [
        ("entry a\nkernel $K\n", 2, "undefined variable `$K`"),
        ("entry a\nkernel k ${K}\n", 2, "undefined variable `$K`"),
        ("entry a\nset K k\nkernel $K\nentry b\nkernel $K\n", 5, "undefined variable `$K`"),
        ("entry a\nkernel k $1\n", 2, "`$` must be followed by a variable name"),
        ("entry a\nkernel k ${K\n", 2, "`${` without its closing `}`"),
        ("entry a\nkernel k $\n", 2, "`$` must be followed by a variable name"),
        ("set SRC_BASE_ABS /x\n", 1, "`SRC_BASE_ABS` is predefined"),
        ("set 1x y\n", 1, "`1x` is not a variable name"),
        ("include $SRC_BASE_ABS/x.list\n", 1, "include paths cannot use `$SRC_BASE_ABS`"),
        ("entry $SRC_BASE\n", 1, "entry names cannot use"),
        ("entry a\nmodule[fname=a/b] x\n", 2, "`fname=a/b` must be a file name"),
        ("set A $B\n", 1, "undefined variable `$B`"),
    ];
    for (list, line, msg) in cases {
        let fx = Fx::new();
        let d = fx.load_err(list);
        assert_diag(&d, &fx.list(), line, msg);
    }
}

#[test]
fn variables_in_entry_names_and_includes() {
    let fx = Fx::new();
    fx.write("inc/x.list", "entry from-${DIR}\nkernel k\n");
    let list = fx.load("set DIR inc\ninclude $DIR/x.list\n");
    assert_eq!(list.entry_names(), ["from-inc"]);
}

#[test]
fn mentions_names_globs_and_shell_commands() {
    let fx = Fx::new();
    let list = fx.load(
        "entry plain\nkernel k\nmodule[uncompress] guest/Image.gz\n\
         entry globbed\nkernel k\nmodule[glob] dir/*.gz\n\
         entry shelled\nkernel k\nmodule[shell] ls ramdisk.cpio.gz\n\
         entry none\nkernel k\nmodule Image\n",
    );
    let mentions = |e: &str, f: &str| list.entry(e).is_ok_and(|e| e.mentions(f));
    assert!(mentions("plain", "Image.gz"));
    assert!(mentions("plain", "k"));
    assert!(mentions("globbed", "Image.gz"));
    assert!(mentions("shelled", "ramdisk.cpio.gz"));
    assert!(!mentions("shelled", "Image.gz"));
    assert!(!mentions("none", "Image.gz"));
}

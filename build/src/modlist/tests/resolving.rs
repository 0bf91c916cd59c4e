//! Resolving entries: order, names, command lines, search, shell, glob and
//! device trees.

use super::*;
use std::time::{Duration, SystemTime};

fn summary(modules: &[Resolved]) -> Vec<(Kind, &str, &str)> {
    modules.iter().map(|m| (m.kind, m.name.as_str(), m.cmdline.as_str())).collect()
}

#[test]
fn boot_order_kinds_and_command_lines() {
    let fx = Fx::new();
    fx.touch(&["bin/fiasco", "bin/moe", "bin/ned", "bin/blob", "bin/cfg/x.lua"]);
    let got = fx.resolve(
        "entry e\n\
         module ned   rom/x.lua   --flag \"a\"   # comment\n\
         data blob\n\
         roottask moe rom/uvmm-io.ned\n\
         kernel fiasco -serial_esc\n\
         bin cfg/x.lua\n",
        "e",
    );
    assert_eq!(
        summary(&got),
        [
            (Kind::Kernel, "fiasco", "fiasco -serial_esc"),
            (Kind::Roottask, "moe", "moe rom/uvmm-io.ned"),
            (Kind::Module, "ned", "ned rom/x.lua --flag \"a\""),
            (Kind::Data, "blob", "blob"),
            (Kind::Module, "x.lua", "x.lua"),
        ]
    );
    assert_eq!(got[0].path, fx.path("bin/fiasco"));
    assert_eq!(got[4].path, fx.path("bin/cfg/x.lua"));
    let lines: Vec<_> = got.iter().map(|m| m.line).collect();
    assert_eq!(lines, [5, 4, 2, 3, 6]);
    assert!(got.iter().all(|m| m.file == fx.list() && !m.uncompress && !m.nostrip));
}

#[test]
fn defaults_count_for_their_entry_and_later_ones() {
    let fx = Fx::new();
    fx.touch(&["bin/k1", "bin/k2", "bin/k3", "bin/kdef", "bin/rdef", "bin/r2"]);
    let list = "entry early\n\
                kernel k1\n\
                default-kernel kdef -a   -b\n\
                default-roottask rdef\n\
                entry own\n\
                kernel k2\n\
                roottask r2 x\n\
                entry later\n\
                entry[no-defaults] bare\n\
                kernel k3\n";
    let early = fx.resolve(list, "early");
    assert_eq!(summary(&early), [(Kind::Kernel, "k1", "k1"), (Kind::Roottask, "rdef", "rdef")]);
    let own = fx.resolve(list, "own");
    assert_eq!(summary(&own), [(Kind::Kernel, "k2", "k2"), (Kind::Roottask, "r2", "r2 x")]);
    let later = fx.resolve(list, "later");
    assert_eq!(
        summary(&later),
        [(Kind::Kernel, "kdef", "kdef -a -b"), (Kind::Roottask, "rdef", "rdef")]
    );
    assert_eq!(later[0].line, 3);
    let bare = fx.resolve(list, "bare");
    assert_eq!(summary(&bare), [(Kind::Kernel, "k3", "k3")]);
}

#[test]
fn entry_without_kernel() {
    let fx = Fx::new();
    fx.touch(&["bin/m"]);
    let d = fx.resolve_err("default-roottask m\nentry a\nmodule m\n", "a");
    assert_diag(&d, &fx.list(), 2, "entry `a` has no kernel");
    let d = fx.resolve_err("default-kernel m\nentry[no-defaults] b\nmodule m\n", "b");
    assert_diag(&d, &fx.list(), 2, "entry `b` has no kernel");
}

#[test]
fn module_options() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/x.gz", "bin/y", "bin/z", "bin/w", "bin/v"]);
    let got = fx.resolve(
        "entry e\nkernel[nostrip] k\nmodule[uncompress] x.gz\nbin-nostrip y\n\
         data[nostrip, uncompress] z\nmodule[no-shlib-scan] w\ndata-nostrip v\n",
        "e",
    );
    let flags: Vec<_> =
        got.iter().map(|m| (m.name.as_str(), m.kind, m.uncompress, m.nostrip)).collect();
    assert_eq!(
        flags,
        [
            ("k", Kind::Kernel, false, true),
            ("x.gz", Kind::Module, true, false),
            ("y", Kind::Module, false, true),
            ("z", Kind::Data, true, true),
            ("w", Kind::Module, false, false),
            ("v", Kind::Data, false, true),
        ]
    );
}

#[test]
fn fname_renames_the_module() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/dir/hello.txt"]);
    let got =
        fx.resolve("entry e\nkernel k\nmodule[fname=greeting.txt] dir/hello.txt  one two\n", "e");
    assert_eq!(summary(&got[1..]), [(Kind::Module, "greeting.txt", "greeting.txt one two")]);
    assert_eq!(got[1].path, fx.path("bin/dir/hello.txt"));
}

#[test]
fn moe_is_roottask_and_module() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/moe", "bin/cfg/boot.ned", "bin/other.ned"]);
    let got = fx.resolve(
        "entry e\nkernel k\nmoe cfg/boot.ned\nentry f\nkernel k\nmoe[fname=init.ned] other.ned\n",
        "e",
    );
    assert_eq!(
        summary(&got),
        [
            (Kind::Kernel, "k", "k"),
            (Kind::Roottask, "moe", "moe rom/boot.ned"),
            (Kind::Module, "boot.ned", "boot.ned"),
        ]
    );
    let got = fx.resolve("entry f\nkernel k\nmoe[fname=init.ned] other.ned\n", "f");
    assert_eq!(
        summary(&got[1..]),
        [(Kind::Roottask, "moe", "moe rom/init.ned"), (Kind::Module, "init.ned", "init.ned")]
    );
}

#[test]
fn groups_insert_their_modules() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/a", "bin/b", "bin/c"]);
    let list = "group common\nmodule a x\ndata b\n\
                group more\nmodule c\n\
                group common\nmodule[arch=x86] never\n\
                entry e\nkernel k\nmodule-group common more\n";
    let got = fx.resolve(list, "e");
    assert_eq!(
        summary(&got[1..]),
        [(Kind::Module, "a", "a x"), (Kind::Data, "b", "b"), (Kind::Module, "c", "c")]
    );
    assert_eq!(got[2].line, 3);

    let d = fx.load_err("entry e\nkernel k\nmodule-group later\ngroup later\nmodule a\n");
    assert_diag(&d, &fx.list(), 3, "unknown group `later`");
}

#[test]
fn arch_option_on_modules() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/a64", "bin/both"]);
    let got = fx.resolve(
        "entry e\nkernel k\nmodule[arch=arm] a32\nmodule[arch=arm64] a64\n\
         module[arch=amd64|arm64, bits=64] both\nmodule[bits=32] b32\n",
        "e",
    );
    let names: Vec<_> = got.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["k", "a64", "both"]);
}

#[test]
fn variables_expand_in_lines() {
    let fx = Fx::new();
    fx.touch(&["bin/sub/k", "bin/sub/deep/m", "abs/n", "bin/two"]);
    let got = fx.resolve(
        "set DIR sub\n\
         set ARGS -a   -b\n\
         set N one\n\
         set N two\n\
         entry e\n\
         set LOCAL ${DIR}/deep\n\
         kernel $DIR/k $ARGS x$$y ${N}s\n\
         module $LOCAL/m\n\
         module $SRC_BASE_ABS/abs/n at=${SRC_BASE}\n\
         module $N\n",
        "e",
    );
    let root = fx.root().display().to_string();
    assert_eq!(
        summary(&got),
        [
            (Kind::Kernel, "k", "k -a -b x$y twos"),
            (Kind::Module, "m", "m"),
            (Kind::Module, "n", format!("n at={root}").as_str()),
            (Kind::Module, "two", "two"),
        ]
    );
    assert_eq!(got[0].path, fx.path("bin/sub/k"));
    assert_eq!(got[1].path, fx.path("bin/sub/deep/m"));
    assert_eq!(got[2].path, fx.path("abs/n"));
}

#[test]
fn search_order_and_searchpath_scope() {
    let fx = Fx::new();
    fx.touch(&[
        "bin/k",
        "extra/only-extra",
        "only-here",
        "bin/both",
        "extra/both",
        "both2",
        "extra/both2",
    ]);
    fx.touch(&["late/x"]);
    let list = "entry first\n\
                kernel k\n\
                module only-extra\n\
                searchpath extra\n\
                entry second\n\
                kernel k\n\
                module only-here\n\
                module both\n\
                module both2\n\
                entry third\n\
                kernel k\n\
                module x\n\
                searchpath late\n\
                entry fourth\n\
                kernel k\n\
                module x\n\
                entry[arch=x86] skipped\n\
                searchpath never\n";
    let first = fx.resolve(list, "first");
    assert_eq!(first[1].path, fx.path("extra/only-extra"));
    let second = fx.resolve(list, "second");
    let paths: Vec<_> = second.iter().map(|m| m.path.clone()).collect();
    assert_eq!(paths[1..], [fx.path("only-here"), fx.path("bin/both"), fx.path("extra/both2")]);
    assert_eq!(fx.resolve(list, "third")[1].path, fx.path("late/x"));
    assert_eq!(fx.resolve(list, "fourth")[1].path, fx.path("late/x"));

    let d = fx.resolve_err(
        "entry a\nkernel k\nmodule y\nsearchpath extra\nentry b\nsearchpath late\n",
        "a",
    );
    assert_diag(&d, &fx.list(), 3, "module `y` not found; searched:");
    let expected = format!(
        "\n  {}\n  {}\n  {}",
        fx.path("bin").display(),
        fx.path("extra").display(),
        fx.root().display()
    );
    assert!(d.msg.ends_with(&expected), "{d}");
}

#[test]
fn searchpath_shell_and_glob() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "sp1/a", "sp2-x/b"]);
    let got = fx.resolve(
        "set SUB sp1\n\
         searchpath[shell] echo \"$SRC_BASE_ABS/$SUB\"\n\
         searchpath[glob] sp2*\n\
         entry e\nkernel k\nmodule a\nmodule b\n",
        "e",
    );
    assert_eq!(got[1].path, fx.path("sp1/a"));
    assert_eq!(got[2].path, fx.path("sp2-x/b"));

    let d = fx.resolve_err("searchpath[shell] exit 4\nentry e\nkernel k\n", "e");
    assert_diag(&d, &fx.list(), 1, "failed (exit status 4)");
}

#[test]
fn missing_and_absolute_modules() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "elsewhere/abs"]);
    let abs = fx.path("elsewhere/abs");
    let got = fx.resolve(&format!("entry e\nkernel k\nmodule {} arg\n", abs.display()), "e");
    assert_eq!(
        (got[1].name.as_str(), got[1].path.clone(), got[1].cmdline.as_str()),
        ("abs", abs, "abs arg")
    );

    let d = fx.resolve_err("entry e\nkernel k\n\nmodule nope\n", "e");
    assert_diag(&d, &fx.list(), 4, "module `nope` not found; searched:");
    assert!(d.msg.contains(&fx.path("bin").display().to_string()), "{d}");
    assert!(d.msg.ends_with(&format!("\n  {}", fx.root().display())), "{d}");

    let gone = fx.path("elsewhere/gone");
    let d = fx.resolve_err(&format!("entry e\nkernel k\nmodule {}\n", gone.display()), "e");
    assert_diag(&d, &fx.list(), 3, &format!("module `{}` does not exist", gone.display()));

    let d = fx.resolve_err("entry e\nkernel k\nmodule https://example.org/x\n", "e");
    assert_diag(&d, &fx.list(), 3, "cannot be fetched from URLs");
}

#[test]
fn will_build_counts_as_found() {
    let fx = Fx::new();
    fx.touch(&["bin/k"]);
    let mut r = fx.resolver();
    r.will_build = vec!["prog".into()];
    let got = fx
        .resolve_with("entry e\nkernel k\nroottask prog -v\n", "e", &r)
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((got[1].path.clone(), got[1].cmdline.as_str()), (fx.path("bin/prog"), "prog -v"));
}

#[test]
fn duplicate_module_names() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/a", "bin/b", "bin/d/a"]);
    let d = fx.resolve_err("entry e\nkernel k\nmodule a\nmodule[fname=a] b\n", "e");
    let first = format!("{}:3", fx.list().display());
    assert_diag(
        &d,
        &fx.list(),
        4,
        &format!("module name `a` is used twice in entry `e` (first at {first})"),
    );
    let d = fx.resolve_err("entry e\nkernel k\nmodule a\ndata d/a\n", "e");
    assert_diag(&d, &fx.list(), 4, "module name `a` is used twice");
    let d = fx.resolve_err("entry e\nkernel k\nmodule[fname=k] a\n", "e");
    assert_diag(&d, &fx.list(), 3, "module name `k` is used twice");
}

#[test]
fn shell_output_names_modules() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "s/one", "bin/two", "bin/x", "here.txt"]);
    let got = fx.resolve(
        "set V x\n\
         entry e\n\
         kernel k\n\
         module[shell] echo \"$SRC_BASE_ABS/s/one  arg1   arg2\"; echo; echo '  two  '; echo $V\n\
         data[shell] ls here.*\n\
         module[shell] true\n",
        "e",
    );
    assert_eq!(
        summary(&got[1..]),
        [
            (Kind::Module, "one", "one arg1 arg2"),
            (Kind::Module, "two", "two"),
            (Kind::Module, "x", "x"),
            (Kind::Data, "here.txt", "here.txt"),
        ]
    );
    assert_eq!(got[1].path, fx.path("s/one"));
    assert_eq!(got[4].path, fx.root().join("here.txt"));
    assert!(got[1..].iter().all(|m| m.line == 4 || m.line == 5));
}

#[test]
fn shell_failure_reports_stderr_and_status() {
    let fx = Fx::new();
    fx.touch(&["bin/k"]);
    let d = fx.resolve_err("entry e\nkernel k\n\nmodule[shell] echo oops >&2; exit 3\n", "e");
    assert_diag(
        &d,
        &fx.list(),
        4,
        "shell command `echo oops >&2; exit 3` failed (exit status 3):\noops",
    );

    let d = fx.resolve_err("entry e\nkernel[shell] printf 'k\\nk\\n'\n", "e");
    assert_diag(&d, &fx.list(), 2, "the kernel must be one file; this line gives 2");
}

#[test]
fn glob_expands_along_the_search_path() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/g/b.cfg", "g/a.cfg", "g/b.cfg", "bin/g/c.txt", "abs/z1.bin"]);
    let abs = fx.path("abs").display().to_string();
    let got = fx.resolve(&format!("entry e\nkernel k\nmodule[glob] g/*.cfg   {abs}/z?.bin\n"), "e");
    let found: Vec<_> = got[1..].iter().map(|m| (m.name.as_str(), m.path.clone())).collect();
    assert_eq!(
        found,
        [
            ("a.cfg", fx.path("g/a.cfg")),
            ("b.cfg", fx.path("bin/g/b.cfg")),
            ("z1.bin", fx.path("abs/z1.bin"))
        ]
    );

    let d = fx.resolve_err("entry e\nkernel k\nmodule[glob] g/*.none\n", "e");
    assert_diag(&d, &fx.list(), 3, "no file matches `g/*.none`; searched:");
}

fn fdt_magic(path: &Path) -> Vec<u8> {
    fs::read(path).map(|b| b.into_iter().take(4).collect()).unwrap_or_default()
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path).and_then(|m| m.modified()).expect("mtime")
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options().write(true).open(path).and_then(|f| f.set_modified(t)).expect("set mtime");
}

const TINY_DTS: &str = "/dts-v1/;\n/include/ \"inc.dtsi\"\n/ { model = \"tiny\"; };\n";

#[test]
fn dts_is_compiled_when_the_dtb_is_missing_or_older() {
    let fx = Fx::new();
    fx.touch(&["bin/k"]);
    let dts = fx.write("dts/board.dts", TINY_DTS);
    let dtsi = fx.write("dts/inc.dtsi", "/ { compatible = \"tiny\"; };\n");
    fx.write("boards/sub/x.dts", "/dts-v1/;\n/ { };\n");
    let list = "entry e\nkernel k\nmodule board.dtb\nmodule[fname=virt.dtb] boards/sub/x.dtb\n";
    let got = fx.resolve(list, "e");
    let out = fx.path("out/dtb/board.dtb");
    assert_eq!((got[1].name.as_str(), got[1].path.clone()), ("board.dtb", out.clone()));
    assert_eq!(fdt_magic(&out), [0xd0, 0x0d, 0xfe, 0xed]);
    assert_eq!(
        (got[2].name.as_str(), got[2].path.clone()),
        ("virt.dtb", fx.path("out/dtb/boards/sub/x.dtb"))
    );
    assert_eq!(fdt_magic(&got[2].path), [0xd0, 0x0d, 0xfe, 0xed]);

    // Up to date: left alone.
    let past = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&dts, past);
    set_mtime(&dtsi, past);
    let later = past + Duration::from_secs(60);
    set_mtime(&out, later);
    fx.resolve(list, "e");
    assert_eq!(mtime(&out), later);

    // An included file changed: compiled again.
    set_mtime(&dtsi, later + Duration::from_secs(60));
    fx.resolve(list, "e");
    assert!(mtime(&out) > later + Duration::from_secs(60));

    // The source changed: compiled again.
    set_mtime(&out, later);
    set_mtime(&dtsi, past);
    set_mtime(&dts, later + Duration::from_secs(60));
    fx.resolve(list, "e");
    assert!(mtime(&out) > later + Duration::from_secs(60));
}

#[test]
fn an_existing_dtb_is_used_as_it_is() {
    let fx = Fx::new();
    fx.touch(&["bin/k", "bin/board.dtb"]);
    fx.write("dts/board.dts", "this is not a device tree");
    let got = fx.resolve("entry e\nkernel k\nmodule board.dtb\n", "e");
    assert_eq!(got[1].path, fx.path("bin/board.dtb"));
}

#[test]
fn broken_dts_reports_dtc_message() {
    let fx = Fx::new();
    fx.touch(&["bin/k"]);
    fx.write("dts/bad.dts", "/dts-v1/;\n/ { model = \"x\" };\n");
    let d = fx.resolve_err("entry e\nkernel k\nmodule bad.dtb\n", "e");
    assert_diag(&d, &fx.list(), 3, "dtc failed to compile `");
    assert!(d.msg.contains("syntax error"), "{d}");
    assert!(!fx.path("out/dtb/bad.dtb").exists());

    let d = fx.resolve_err("entry e\nkernel k\nmodule none.dtb\n", "e");
    assert_diag(&d, &fx.list(), 3, "nor found `none.dts` to compile it from, also searched:");
}

#[test]
fn a_compiled_dtb_on_the_search_path_is_still_checked_against_its_source() {
    let fx = Fx::new();
    fx.touch(&["bin/k"]);
    let dts = fx.write("dts/board.dts", "/dts-v1/;\n/ { };\n");
    let mut r = fx.resolver();
    r.search_path.push(r.dtb_out.clone());
    let list = "entry e\nkernel k\nmodule board.dtb\n";
    let first = fx.resolve_with(list, "e", &r).unwrap_or_else(|d| panic!("{d}"));
    let out = fx.path("out/dtb/board.dtb");
    assert_eq!(first[1].path, out);

    let past = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&out, past);
    set_mtime(&dts, past + Duration::from_secs(60));
    let again = fx.resolve_with(list, "e", &r).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(again[1].path, out);
    assert!(mtime(&out) > past + Duration::from_secs(60));
}

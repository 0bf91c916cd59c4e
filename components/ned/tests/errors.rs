//! Each error a script can make, with the exact file:line:col it is
//! reported at (imported modules' errors in the module).

mod common;

use common::fails_at;

/// `L4.default_loader` as `l`, then `line`: errors of `l.start` are at 2:3.
fn start(line: &str) -> String {
    format!("let l = L4.default_loader;\n{line}")
}

#[test]
fn syntax_errors() {
    let r = fails_at("let a = 1;\nlet b = ;", "test.ned:2:9", "syntax error: Unexpected ';'");
    assert_eq!(
        r,
        "test.ned:2:9: error: syntax error: Unexpected ';'\n2 | let b = ;\n  |         ^\n"
    );
    fails_at("import \"broken\" as b;", "rom/broken.rhai:2:12", "syntax error: Unexpected '*'");
}

#[test]
fn unknown_env_key_and_scheduler_hint() {
    let r = fails_at(
        &start("l.start(#{ cpas: #{} }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: unknown key `cpas` in the environment; keys are caps, log, prio",
    );
    assert!(r.ends_with("2 | l.start(#{ cpas: #{} }, \"rom/nedtest\");\n  |   ^\n"), "{r}");
    fails_at(
        &start("l.start(#{ scheduler: 1 }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "unknown key `scheduler` in the environment (give a priority with `prio`)",
    );
}

#[test]
fn program_names() {
    fails_at(
        &start("l.start(#{}, \"nedtest\");"),
        "test.ned:2:3",
        "start: `nedtest` is not in rom/; programs are named \"rom/NAME\"",
    );
    fails_at(&start("l.start(#{}, \"rom/\");"), "test.ned:2:3", "`rom/` is not in rom/");
    fails_at(&start("l.start(#{}, \"  \");"), "test.ned:2:3", "start: the command line is empty");
    fails_at(
        &start("l.start(#{}, \"rom/ghost arg\");"),
        "test.ned:2:3",
        "start: rom/ghost: no such module (rom/ holds: moe, nedtest, cons, lib.rhai, \
         broken.rhai, failing.rhai, outer.rhai, lost.rhai)",
    );
}

#[test]
fn missing_import_lists_modules() {
    let msg = "import \"nowhere\": no module rom/nowhere.rhai (rom/ holds: lib.rhai, \
               broken.rhai, failing.rhai, outer.rhai, lost.rhai)";
    fails_at("\n  import \"nowhere\" as n;", "test.ned:2:10", msg);
    fails_at("import \"lost\" as l;", "rom/lost.rhai:2:10", msg);
}

#[test]
fn errors_inside_modules() {
    fails_at("import \"failing\" as f;", "rom/failing.rhai:3:15", "L4.Env has no cap `nope`");
    fails_at("import \"outer\" as o;", "rom/failing.rhai:3:15", "L4.Env has no cap `nope`");
    fails_at(
        "import \"lib\" as lib;\n\nlib::bad_start();",
        "rom/lib.rhai:8:23",
        "unknown key `cpas`",
    );
}

#[test]
fn errors_inside_script_functions() {
    fails_at("fn f() {\n    L4.Env.nope\n}\nf();", "test.ned:2:11", "L4.Env has no cap `nope`");
}

#[test]
fn wrong_types() {
    fails_at(
        &start("l.start(#{ caps: 5 }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: `caps` must be a map of caps, not i64",
    );
    fails_at(
        &start("l.start(#{ caps: #{ a: #{ b: \"x\" } } }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: caps.a/b must be a cap, not string",
    );
    fails_at(
        &start("l.start(#{ log: 5 }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: `log` must be [\"tag\", \"colour\"], a tag, or a cap, not i64",
    );
    fails_at(
        &start("l.start(#{ log: [1, 2] }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: `log` must be [\"tag\", \"colour\"], a tag, or a cap",
    );
    fails_at(
        &start("l.start(#{ log: [\"a\", \"red\", \"x\"] }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "`log` must be",
    );
    fails_at(
        &start("l.start(#{ prio: \"high\" }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: `prio` must be an integer, not string",
    );
    fails_at(
        &start("l.start(5, \"rom/nedtest\");"),
        "test.ned:2:3",
        "Function not found: start (Loader, i64,",
    );
    fails_at(
        "let c = L4.Env.log;\nprint(c.svr());",
        "test.ned:2:9",
        "L4.Env.log[rws] is not a channel; it has no server end",
    );
    fails_at("L4.default_loader.log_fab = 1;", "test.ned:1:19", "");
}

#[test]
fn tags_and_colours() {
    fails_at(
        &start("l.start(#{ log: [\"\", \"red\"] }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: log tag \"\" must have 1 to 8 characters",
    );
    fails_at(
        &start("l.start(#{ log: \"ninechars\" }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: log tag \"ninechars\" must have 1 to 8 characters",
    );
    fails_at(
        &start("l.start(#{ log: [\"a\", \"pink\"] }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: unknown colour \"pink\" (colours: black, red, green, yellow, blue, magenta, \
         cyan, white, Black, Red, Green, Yellow, Blue, Magenta, Cyan, White)",
    );
}

#[test]
fn prio_range() {
    fails_at(
        &start("l.start(#{ prio: 255 }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: prio 255 is out of range (0 to 254)",
    );
    fails_at(
        &start("l.start(#{ prio: -1 }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: prio -1 is out of range (0 to 254)",
    );
}

#[test]
fn reserved_cap_names() {
    let r = fails_at(
        &start("l.start(#{ caps: #{ rom: L4.Env.rom } }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: caps.rom: every program gets `rom`",
    );
    assert!(!r.contains("set the log"), "{r}");
    fails_at(
        &start("l.start(#{ caps: #{ log: L4.Env.log } }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: caps.log: every program gets `log`; set the log with the `log` key",
    );
    fails_at(
        &start("l.start(#{ caps: #{ mem: L4.Env.icu } }, \"rom/nedtest\");"),
        "test.ned:2:3",
        "start: caps.mem must be L4.Env.ram(bytes), the program's memory",
    );
}

#[test]
fn env_errors() {
    fails_at(
        "\nlet x = L4.Env.nope;",
        "test.ned:2:15",
        "L4.Env has no cap `nope` (it has log, rom, icu, sigma0, asid_pool, and mmio(addr, size), \
         irq(n), ram(bytes))",
    );
    fails_at(
        "L4.Env.mmio(0x9000001, 0x1000);",
        "test.ned:1:8",
        "L4.Env.mmio(0x9000001, 0x1000): the range must be whole pages",
    );
    fails_at("L4.Env.mmio(0x9000000, 0);", "test.ned:1:8", "the range must be whole pages");
    fails_at(
        "L4.Env.irq(1020);",
        "test.ned:1:8",
        "L4.Env.irq(1020): IRQ numbers run from 0 to 1019",
    );
    fails_at("L4.Env.ram(100);", "test.ned:1:8", "L4.Env.ram(100): from 4096 bytes to 4 GiB");
}

#[test]
fn rights_errors() {
    fails_at(
        "let c = L4.default_loader.new_channel();\nc.m(\"rwx\");",
        "test.ned:2:3",
        "unknown right `x` in \"rwx\" (rights are r, w and s)",
    );
    fails_at(
        "let c = L4.default_loader.new_channel();\nlet s = c.m(\"w\").svr();",
        "test.ned:2:18",
        "svr() needs the channel as new_channel() made it, not the reduced channel#0[w]",
    );
}

#[test]
fn loader_errors_are_placed_at_the_call() {
    fails_at(
        "let l = L4.default_loader;\nl.log_fab = L4.Env.rom;\nl.start(#{}, \"rom/nedtest\");",
        "test.ned:3:3",
        "starting `rom/nedtest`: log_fab must be a channel (new_channel())",
    );
}

#[test]
fn missing_import_without_a_rom_list() {
    let (d, _) = common::run_unlisted("import \"nowhere\" as n;").err().expect("fails");
    assert_eq!(
        d.to_string(),
        "test.ned:1:8: error: import \"nowhere\": no module rom/nowhere.rhai\n"
    );
}

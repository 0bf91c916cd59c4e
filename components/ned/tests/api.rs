//! Every call of the ned API, run through the host model: what a script
//! writes and what the loader is asked to do.

mod common;

use common::{ok, run_unlisted};
use ned::model::Model;
use ned::{Cap, LogSpec, Ned, Obj, Pos, TaskState};
use program_env::CapKind;

fn pos(line: usize, col: usize) -> Pos {
    Pos { file: "test.ned".into(), line, col }
}

fn cap_names(m: &Model, task: usize) -> Vec<String> {
    m.tasks()[task].req.caps.iter().map(|(n, c)| format!("{n}={c}")).collect()
}

#[test]
fn start_with_caps_log_and_prio() {
    let m = ok("let l = L4.default_loader;\n\
         let ch = l.new_channel();\n\
         let t = l.start(#{ caps: #{ chan: ch.svr(), net: #{ a: ch, b: L4.Env.icu } },\n\
         \x20                 log: [\"pong\", \"green\"], prio: 90 }, \"  rom/nedtest pong 10 \");");
    let req = &m.tasks()[0].req;
    assert_eq!(req.cmdline, "rom/nedtest pong 10");
    assert_eq!(req.program, "nedtest");
    assert_eq!(req.prio, 90);
    assert_eq!(req.log, LogSpec::Tagged { tag: "pong".into(), colour: "green".into() });
    assert_eq!(req.at, pos(3, 11));
    assert_eq!(req.log_fab, None);
    assert_eq!(
        cap_names(&m, 0),
        ["chan=channel#0.svr[rws]", "net/a=channel#0[ws]", "net/b=L4.Env.icu[rws]"]
    );
    let icu = &req.caps[2].1;
    assert_eq!(icu.kind(), CapKind::IrqControl);
}

#[test]
fn start_defaults_and_log_forms() {
    let m = ok("let l = L4.default_loader;\n\
         l.start(#{}, \"rom/nedtest\");\n\
         l.start(#{ log: \"tag\" }, \"rom/nedtest\");\n\
         l.start(#{ log: [\"one\"] }, \"rom/nedtest\");\n\
         l.start(#{ log: L4.Env.log }, \"rom/cons\");\n\
         l.start(#{ prio: 0 }, \"rom/nedtest\");\n\
         l.start(#{ prio: 254, log: [\"12345678\", \"White\"] }, \"rom/nedtest\");");
    let t = m.tasks();
    let tagged =
        |tag: &str, colour: &str| LogSpec::Tagged { tag: tag.into(), colour: colour.into() };
    assert_eq!(t[0].req.log, tagged("nedtest", "white"));
    assert_eq!(t[0].req.prio, 100);
    assert!(t[0].req.caps.is_empty());
    assert_eq!(t[1].req.log, tagged("tag", "white"));
    assert_eq!(t[2].req.log, tagged("one", "white"));
    let log = Cap { obj: Obj::Env { name: "log".into(), kind: CapKind::Log }, rights: 7 };
    assert_eq!(t[3].req.log, LogSpec::Cap(log));
    assert_eq!((t[4].req.prio, t[5].req.prio), (0, 254));
    assert_eq!(t[5].req.log, tagged("12345678", "White"));
}

#[test]
fn channels_ends_and_rights() {
    let m = ok("let ch = L4.default_loader.new_channel();\n\
         print(ch.rights);\n\
         print(ch.svr().rights);\n\
         print(ch.svr().svr().rights);\n\
         print(ch.m(\"w\").m(\"rws\").rights);\n\
         print(ch.m(\"rws\").rights);\n\
         print(ch.svr().m(\"r\"));\n\
         print(`${ch.m(\"\")}`);\n\
         print(ch.m(\"ws\").svr());\n\
         print(ch == ch.m(\"sw\"));\n\
         print(ch != ch.svr());\n\
         let two = L4.default_loader.new_channel();\n\
         print(two);");
    assert_eq!(
        m.output(),
        [
            "ws",
            "rws",
            "rws",
            "w",
            "ws",
            "channel#0.svr[r]",
            "channel#0[]",
            "channel#0.svr[rws]",
            "true",
            "true",
            "channel#1[ws]"
        ]
    );
    assert_eq!(m.channels().len(), 2);
    assert_eq!(m.channels()[0].at, pos(1, 28));
    assert_eq!(m.channels()[1].at, pos(12, 29));
}

#[test]
fn env_caps() {
    let m = ok("print(L4.Env.log);\n\
         print(L4.Env.rom);\n\
         print(L4.Env[\"icu\"]);\n\
         print(L4.Env.sigma0.m(\"r\"));\n\
         print(L4.Env.mmio(0x9000000, 0x1000));\n\
         print(L4.Env.irq(33));\n\
         print(L4.Env.ram(4096));\n\
         L4.default_loader.start(#{ caps: #{ uart: L4.Env.mmio(0x9000000, 0x1000), \
             i: L4.Env.irq(1), mem: L4.Env.ram(0x10000), r: L4.Env.rom } }, \"rom/cons\");");
    assert_eq!(
        m.output(),
        [
            "L4.Env.log[rws]",
            "L4.Env.rom[rws]",
            "L4.Env.icu[rws]",
            "L4.Env.sigma0[r]",
            "L4.Env.mmio(0x9000000, 0x1000)[rw]",
            "L4.Env.irq(33)[rws]",
            "L4.Env.ram(0x1000)[rws]",
        ]
    );
    let kinds: Vec<CapKind> = m.tasks()[0].req.caps.iter().map(|(_, c)| c.kind()).collect();
    assert_eq!(kinds, [CapKind::IrqHandler, CapKind::Untyped, CapKind::Rom, CapKind::Untyped]);
}

#[test]
fn tasks_state_exit_code_wait_kill() {
    let m = ok("let t = L4.default_loader.start(#{}, \"rom/nedtest\");\n\
         print(t);\n\
         print(t.state());\n\
         print(`${t.exit_code()}`);\n\
         print(`${t.wait()}`);\n\
         print(t.state());\n\
         print(`${t.exit_code()}`);\n\
         let u = L4.default_loader.start(#{}, \"rom/nedtest pong\");\n\
         u.kill();\n\
         print(u.state());\n\
         print(`${u.wait()}`);\n\
         t.kill();\n\
         print(t.state());");
    assert_eq!(
        m.output(),
        ["task(rom/nedtest)", "running", "", "0", "exited", "0", "killed", "", "exited"]
    );
    assert_eq!(m.tasks()[0].state, TaskState::Exited(0));
    assert_eq!(m.tasks()[1].state, TaskState::Killed);
}

#[test]
fn log_fab_goes_with_later_starts() {
    let m = ok("let l = L4.default_loader;\n\
         print(`${l.log_fab}`);\n\
         let fab = l.new_channel();\n\
         l.start(#{ log: L4.Env.log, caps: #{ cons: fab.svr() } }, \"rom/cons\");\n\
         l.log_fab = fab;\n\
         print(l.log_fab);\n\
         l.start(#{ log: [\"a\", \"red\"] }, \"rom/nedtest\");");
    assert_eq!(m.output(), ["", "channel#0[ws]"]);
    assert_eq!(m.tasks()[0].req.log_fab, None);
    assert!(matches!(m.tasks()[1].req.log_fab, Some(Cap { obj: Obj::Channel { id: 0, .. }, .. })));
}

#[test]
fn import_from_rom() {
    let m = ok("import \"lib\" as lib;\n\
         import \"rom/lib\" as again;\n\
         import \"lib.rhai\" as third;\n\
         import \"L4\" as L4;\n\
         print(`${lib::loaded}`);\n\
         let ch = L4.default_loader.new_channel();\n\
         let pong = lib::start_pong(ch);\n\
         print(pong.state());");
    assert_eq!(m.output(), ["lib loaded", "lib loaded", "lib loaded", "1", "running"]);
    // A call made in the module's function is placed in the module.
    let at = &m.tasks()[0].req.at;
    assert_eq!(at.to_string(), "rom/lib.rhai:5:23");
    assert_eq!(m.tasks()[0].req.cmdline, "rom/nedtest pong");
}

#[test]
fn print_collects_output() {
    let m = ok("print(\"one\");\nprint(`two ${1 + 1}`);\ndebug(\"three\");");
    assert_eq!(m.output(), ["one", "two 2", "\"three\""]);
}

#[test]
fn without_a_rom_list_every_program_exists() {
    let m = run_unlisted(
        "L4.default_loader.start(#{}, \"rom/anything at all\");\n\
         import \"lib\" as lib;",
    )
    .unwrap_or_else(|(_, r)| panic!("{r}"));
    assert_eq!(m.tasks()[0].req.program, "anything");
    assert_eq!(m.rom_list(), None);
}

#[test]
fn render_shows_source_of_module() {
    let mut ned = Ned::new(Model::with_rom(
        common::rom(),
        Model::texts_from(
            common::MODULES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect(),
        ),
    ));
    let d = ned.run("test.ned", "import \"lib\" as lib;\nlib::bad_start();").unwrap_err();
    assert_eq!(
        ned.render(&d),
        "rom/lib.rhai:8:23: error: start: unknown key `cpas` in the environment; keys are \
         caps, log, prio\n\
         8 |     L4.default_loader.start(#{ cpas: #{} }, \"rom/nedtest\")\n\
         \x20 |                       ^\n"
    );
    assert_eq!(ned.source("rom/lib.rhai").as_deref(), Some(common::MODULES[0].1));
}

#[test]
fn quoted_arguments_and_program_name() {
    let m = ok("L4.default_loader.start(#{}, \"'rom/nedtest' -c \\\"a  b\\\" x\");");
    let req = &m.tasks()[0].req;
    assert_eq!(req.program, "nedtest");
    assert_eq!(req.log, LogSpec::Tagged { tag: "nedtest".into(), colour: "white".into() });
    assert_eq!(req.cmdline, "'rom/nedtest' -c \"a  b\" x");
    let args: Vec<&str> = program_env::split_args(&req.cmdline).collect();
    assert_eq!(args, ["rom/nedtest", "-c", "a  b", "x"]);
}

//! The model's records, its lints and its DOT, from small scripts.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::{Diagnostic, Ned, Severity};

fn rom() -> Vec<String> {
    vec!["moe".into(), "nedtest".into(), "cons".into(), "lib.rhai".into()]
}

fn run(src: &str) -> Model {
    let mut texts = BTreeMap::new();
    texts.insert("lib.rhai".to_string(), "fn chan() { L4.default_loader.new_channel() }".into());
    texts.insert("other.rhai".to_string(), "fn x() {}".into());
    let mut ned = Ned::new(Model::with_rom(rom(), Model::texts_from(texts)));
    if let Err(d) = ned.run("t.ned", src) {
        panic!("{}", ned.render(&d));
    }
    ned.into_backend()
}

/// Programs' `.ned_caps` names: nedtest looks up `chan`, cons its own.
fn looks_up(prog: &str) -> Option<Vec<String>> {
    match prog {
        "nedtest" => Some(vec!["chan".into(), "chan".into()]),
        "cons" => Some(vec!["cons".into(), "uart".into(), "mem".into()]),
        _ => None,
    }
}

fn messages(d: &[Diagnostic]) -> Vec<String> {
    d.iter().map(|d| format!("{}: {}", d.pos, d.message)).collect()
}

#[test]
fn records_channels_tasks_and_output() {
    let m = run("let a = L4.default_loader.new_channel();\n\
         let t = L4.default_loader.start(#{ caps: #{ chan: a.svr() }, prio: 7 }, \"rom/nedtest pong\");\n\
         print(t.state());\n\
         import \"lib\" as lib;\n\
         let b = lib::chan();");
    assert_eq!(m.channels().len(), 2);
    assert_eq!(m.channels()[0].at, Pos { file: "t.ned".into(), line: 1, col: 27 });
    assert_eq!(m.channels()[1].at.file, "rom/lib.rhai");
    let t = &m.tasks()[0];
    assert_eq!((t.id, t.state), (0, TaskState::Running));
    assert_eq!(t.req.program, "nedtest");
    assert_eq!(t.req.cmdline, "rom/nedtest pong");
    assert_eq!(t.req.prio, 7);
    assert_eq!(t.req.at, Pos { file: "t.ned".into(), line: 2, col: 27 });
    assert_eq!(m.output(), ["running"]);
    assert_eq!(m.rom_list(), Some(&rom()[..]));
}

#[test]
fn rom_list_or_none() {
    let mut m = Model::with_rom(rom(), |_| Some("x".into()));
    assert!(m.rom_exists("nedtest") && !m.rom_exists("ghost"));
    assert_eq!(m.rom_text("lib.rhai").as_deref(), Some("x"));
    assert_eq!(m.rom_text("other.rhai"), None, "not in the list");
    let mut m = Model::without_rom_list(|n| (n == "a.rhai").then(|| "y".into()));
    assert!(m.rom_exists("anything"));
    assert!(m.rom_names().is_empty());
    assert_eq!(m.rom_text("a.rhai").as_deref(), Some("y"));
    assert_eq!(m.rom_text("b.rhai"), None);
    let names: Vec<String> = m.env_caps().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["log", "rom", "icu", "sigma0", "asid_pool"]);
}

#[test]
fn wait_and_kill() {
    let mut m = Model::without_rom_list(|_| None);
    let at = Pos::default();
    let req = StartRequest {
        cmdline: "rom/p".into(),
        program: "p".into(),
        caps: Vec::new(),
        log: LogSpec::Tagged { tag: "p".into(), colour: "white".into() },
        prio: 100,
        log_fab: None,
        at,
    };
    let a = m.start(&req).unwrap();
    let b = m.start(&req).unwrap();
    assert_eq!(m.wait(a), Ok(TaskState::Exited(0)));
    m.kill(a).unwrap();
    assert_eq!(m.state(a), TaskState::Exited(0), "an ended task stays ended");
    m.kill(b).unwrap();
    assert_eq!(m.wait(b), Ok(TaskState::Killed));
    assert_eq!(m.state(9), TaskState::Killed);
}

#[test]
fn clean_script_has_no_lints() {
    let m = run("let ch = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.svr() } }, \"rom/nedtest pong\");\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.m(\"w\") } }, \"rom/nedtest ping\");");
    assert_eq!(m.lints(looks_up), []);
}

#[test]
fn channel_lints() {
    let m = run("let a = L4.default_loader.new_channel();\n\
         let b = L4.default_loader.new_channel();\n\
         let c = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: b.svr() } }, \"rom/nedtest pong\");\n\
         L4.default_loader.start(#{ caps: #{ chan: c } }, \"rom/nedtest ping\");");
    let d = m.channel_lints();
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(
        messages(&d),
        [
            "t.ned:1:27: this channel is never given to a program",
            "t.ned:2:27: this channel's server end goes to rom/nedtest pong as `chan`, but no \
             program gets its client end, so nothing ever calls it",
            "t.ned:3:27: this channel goes to rom/nedtest ping as `chan`, but no program gets \
             its server end (`svr()`), so calls on it block forever",
        ]
    );
}

#[test]
fn log_fab_and_log_caps_count_as_clients() {
    let m = run("let fab = L4.default_loader.new_channel();\n\
         L4.default_loader.log_fab = fab;\n\
         L4.default_loader.start(#{ log: L4.Env.log, caps: #{ cons: fab.svr() } }, \"rom/cons\");\n\
         L4.default_loader.start(#{}, \"rom/nedtest\");\n\
         let l = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: l.svr() } }, \"rom/nedtest pong\");\n\
         L4.default_loader.start(#{ log: l }, \"rom/nedtest x\");");
    assert_eq!(m.channel_lints(), []);
}

#[test]
fn unknown_cap_names_and_empty_rights() {
    let m = run("let ch = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.svr(), foo: ch.m(\"r\") } }, \"rom/nedtest\");\n\
         L4.default_loader.start(#{ caps: #{ cons: ch.m(\"w\"), x: L4.Env.icu } }, \"rom/cons\");\n\
         L4.default_loader.start(#{ caps: #{ bar: ch } }, \"rom/moe\");");
    assert_eq!(
        messages(&m.start_lints(looks_up)),
        [
            "t.ned:2:19: rom/nedtest is given cap `foo` (channel#0) with no rights left after \
             m()",
            "t.ned:2:19: rom/nedtest is given cap `foo` but never looks it up (it looks up: chan)",
            "t.ned:3:19: rom/cons is given cap `x` but never looks it up (it looks up: cons, \
             mem, uart)",
        ]
    );
    let none = |_: &str| Some(Vec::new());
    let d = messages(&m.start_lints(none));
    assert_eq!(d.len(), 6, "{d:?}");
    assert!(
        d[5].ends_with("rom/moe is given cap `bar` but never looks it up (it looks up no caps)")
    );
}

#[test]
fn sigma0_caps_match_by_prefix() {
    let m = run("L4.default_loader.start(#{ caps: #{ dev: L4.Env.sigma0 } }, \"rom/nedtest\");");
    let dev = |_: &str| Some(vec!["dev/9000000".to_string()]);
    assert_eq!(m.start_lints(dev), []);
    let other = |_: &str| Some(vec!["device".to_string()]);
    assert_eq!(m.start_lints(other).len(), 1);
}

#[test]
fn a_program_walking_its_environment_takes_any_name() {
    let m = run("let ch = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ vm_hw: ch.svr(), rtc_irq: L4.Env.irq(34) } }, \"rom/cons\");");
    let any = |_: &str| Some(vec!["mem".to_string(), "*".to_string()]);
    assert_eq!(m.start_lints(any), []);
    let fixed = |_: &str| Some(vec!["mem".to_string()]);
    assert_eq!(m.start_lints(fixed).len(), 2);
}

#[test]
fn dot_graph() {
    let m = run("let fab = L4.default_loader.new_channel();\n\
         L4.default_loader.log_fab = fab;\n\
         L4.default_loader.start(#{ log: L4.Env.log, caps: #{ cons: fab.svr(), \
             uart: L4.Env.mmio(0x9000000, 0x1000), irq: L4.Env.irq(33) } }, \"rom/cons -a\");\n\
         let ch = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.svr() }, log: [\"pong\", \"green\"] }, \
             \"rom/nedtest pong\");\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.m(\"w\"), mem: L4.Env.ram(8192) }, \
             prio: 90 }, \"rom/nedtest \\\"q\\\"\");");
    let dot = m.dot("t.ned");
    let has = |s: &str| assert!(dot.contains(s), "missing {s} in\n{dot}");
    has("digraph \"t.ned\" {");
    has("\"c0\" [shape=circle");
    has("label=\"ch1\", tooltip=\"made at t.ned:4:28\"");
    has("\"t0\" [shape=box, label=\"rom/cons -a\\nlog: L4.Env.log\"");
    has("\"t2\" [shape=box, label=\"rom/nedtest \\\"q\\\"\\nlog: nedtest\\nprio 90\"");
    has("\"c0\" -> \"t0\" [label=\"cons [rws]\", style=bold];");
    has("\"mmio_9000000_1000\" [shape=hexagon, label=\"L4.Env.mmio(0x9000000, 0x1000)\"];");
    has("\"mmio_9000000_1000\" -> \"t0\" [label=\"uart [rw]\"];");
    has("\"irq_33\" -> \"t0\" [label=\"irq [rws]\"];");
    has("\"env_log\" -> \"t0\" [label=\"log [rws]\", style=dashed];");
    has("\"c1\" -> \"t1\" [label=\"chan [rws]\", style=bold];");
    has("\"c1\" -> \"t2\" [label=\"chan [w]\"];");
    has("\"ram_t2_mem\" -> \"t2\" [label=\"mem [rws]\"];");
    // Tagged logs come from the log_fab's server (after it was set).
    has("\"c0\" -> \"t1\" [label=\"log: pong\", fontcolor=\"green4\", color=\"green4\", \
         style=dashed];");
    has("\"c0\" -> \"loader\" [label=\"log_fab [ws]\"];");
    assert_eq!(dot.matches("\"c0\" -> \"loader\"").count(), 1, "{dot}");
    assert_eq!(dot.matches("  \"loader\" [").count(), 1, "{dot}");
    assert!(dot.ends_with("}\n"));
    // Without a log_fab, tagged logs come from the root's log.
    let m = run("L4.default_loader.start(#{ log: [\"a\", \"Red\"] }, \"rom/nedtest\");");
    assert!(m.dot("x").contains("\"env_log\" -> \"t0\" [label=\"log: a\", fontcolor=\"red\""));
}

//! `build ned check` as a user runs it: a script with an error is reported
//! at its file, line and column, and the command fails; a clean one passes.

use std::fs;
use std::process::{Command, Output};

fn ned(args: &[&str], list: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_build-tool"))
        .arg("--modules-list")
        .arg(list)
        .arg("ned")
        .args(args)
        .env_remove("MODULES_LIST")
        .output()
        .expect("running the build tool")
}

#[test]
fn check_reports_errors_with_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("modules.list");
    fs::write(
        &list,
        "entry t\nkernel kernel\nroottask moe rom/bad.ned\nmodule nedtest\nmodule bad.ned\n\
         module good.ned\n",
    )
    .unwrap();
    let good = dir.path().join("good.ned");
    fs::write(&good, "print(L4.Env.log);\n").unwrap();
    let bad = dir.path().join("bad.ned");
    fs::write(&bad, "let l = L4.default_loader;\nl.start(#{ cpas: #{} }, \"rom/nedtest\");\n")
        .unwrap();
    let out = ned(&["check", bad.to_str().unwrap()], &list);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let at = format!("{}:2:3: error: start: unknown key `cpas`", bad.display());
    assert!(stderr.contains(&at), "{stderr}");
    assert!(
        stderr.contains("2 | l.start(#{ cpas: #{} }, \"rom/nedtest\");\n  |   ^\n"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{}: 1 errors, 0 warnings", bad.display())), "{stderr}");
    assert!(stderr.contains("checking against rom/ of entry `t`"), "{stderr}");

    let out = ned(&["check", good.to_str().unwrap()], &list);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{}: 0 errors, 0 warnings", good.display())), "{stderr}");
}

#[test]
fn graph_writes_dot() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("modules.list");
    fs::write(&list, "entry t\nkernel kernel\n").unwrap();
    let script = dir.path().join("g.ned");
    fs::write(
        &script,
        "let ch = L4.default_loader.new_channel();\n\
         L4.default_loader.start(#{ caps: #{ chan: ch.svr() } }, \"rom/nedtest pong\");\n",
    )
    .unwrap();
    let dot = dir.path().join("out/g.dot");
    let out = ned(&["graph", script.to_str().unwrap(), "-o", dot.to_str().unwrap()], &list);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().next(), Some(dot.to_str().unwrap()));
    let text = fs::read_to_string(&dot).unwrap();
    assert!(text.contains("\"c0\" -> \"t0\" [label=\"chan [rws]\", style=bold];"), "{text}");
}

//! Running scripts through the host model for the API tests: a rom/ with
//! programs and `.rhai` modules, and helpers that return the model or the
//! diagnostic with its rendering.

#![allow(dead_code)] // Each test file uses its own part.

use std::collections::BTreeMap;

use ned::model::Model;
use ned::{Diagnostic, Ned};

/// The `.rhai` modules in rom/.
pub const MODULES: [(&str, &str); 5] = [
    (
        "lib.rhai",
        "// A library.\n\
         export const loaded = 1;\n\
         print(\"lib loaded\");\n\
         fn start_pong(ch) {\n\
         \x20   L4.default_loader.start(#{ caps: #{ chan: ch.svr() } }, \"rom/nedtest pong\")\n\
         }\n\
         fn bad_start() {\n\
         \x20   L4.default_loader.start(#{ cpas: #{} }, \"rom/nedtest\")\n\
         }\n",
    ),
    ("broken.rhai", "let a = 1;\nlet b = a +* 2;\n"),
    ("failing.rhai", "let a = 1;\n\nlet b = L4.Env.nope;\n"),
    ("outer.rhai", "// Imports another.\nimport \"failing\" as f;\n"),
    ("lost.rhai", "let x = 1;\n  import \"nowhere\" as n;\n"),
];

pub fn rom() -> Vec<String> {
    let mut names: Vec<String> = ["moe", "nedtest", "cons"].map(String::from).into();
    names.extend(MODULES.iter().map(|(n, _)| n.to_string()));
    names
}

fn texts() -> BTreeMap<String, String> {
    MODULES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// Runs `src` as `test.ned`; the model, or the error rendered.
pub fn run(src: &str) -> Result<Model, (Diagnostic, String)> {
    run_with(Model::with_rom(rom(), Model::texts_from(texts())), src)
}

/// Runs `src` against a model that has no rom/ list.
pub fn run_unlisted(src: &str) -> Result<Model, (Diagnostic, String)> {
    run_with(Model::without_rom_list(Model::texts_from(texts())), src)
}

fn run_with(model: Model, src: &str) -> Result<Model, (Diagnostic, String)> {
    let mut ned = Ned::new(model);
    match ned.run("test.ned", src) {
        Ok(()) => Ok(ned.into_backend()),
        Err(d) => {
            let r = ned.render(&d);
            Err((d, r))
        }
    }
}

/// Runs `src`, which must succeed.
pub fn ok(src: &str) -> Model {
    match run(src) {
        Ok(m) => m,
        Err((_, r)) => panic!("script failed:\n{r}"),
    }
}

/// Runs `src`, which must fail at `at` (`file:line:col`) with a message
/// containing `msg`; the rendered diagnostic.
#[track_caller]
pub fn fails_at(src: &str, at: &str, msg: &str) -> String {
    let (d, r) = match run(src) {
        Ok(_) => panic!("script should have failed:\n{src}"),
        Err(e) => e,
    };
    assert_eq!(d.pos.to_string(), at, "{r}");
    assert!(d.message.contains(msg), "message should contain `{msg}`:\n{r}");
    r
}

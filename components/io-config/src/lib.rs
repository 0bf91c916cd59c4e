//! io's configuration: the hardware description (`io.cfg`) and the virtual
//! buses (`*.vbus`), Rhai scripts with L4Re io's names (`Io.system_bus()`,
//! `Io.Dt.add_children`, `Io.Hw.Device`, `Io.Res.mmio`, `Io.Res.irq`,
//! `Io.add_vbusses`, `Io.Vi.System_bus`, `wrap`; the `api` module lists
//! them, `io-service/README.md` sets them beside the Lua), the model they
//! build ([`Config`]), the checks on it, and the text of io's verbose dump.
//!
//! ```text
//!  io.cfg, a.vbus ──► Loader (Rhai) ──► Config ──► io: frames, IRQ handlers, vbus server
//!                        │                 └─────► dump: the vbus trees, the real hardware
//!                        └─► Diagnostics (file:line:col, as ned's)
//! ```
//!
//! The same code runs in io at boot and on the host under `cargo test`, so
//! a configuration fails the same way in both. A script error stops
//! loading at its file, line and column; the checks that need the whole
//! picture (overlapping MMIO, an IRQ on two devices, a device on two
//! vbusses, a vbus and its channel not pairing up) are collected, each at
//! the line of the call it is about.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
pub mod check;
pub mod devmem;
pub mod dump;
pub mod model;

pub use api::{IRQ_MAX, IRQ_MIN};
pub use model::{
    Config, Device, ICU_NAME, Prop, Proxy, ResKind, Resource, Trigger, VDev, Vbus, flags,
};
pub use ned::{Diagnostic, Pos, Severity};

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use rhai::{Dynamic, Engine, EvalAltResult};

use api::{Builder, Io, Shared};

/// Limits that keep a runaway configuration from hanging io.
const MAX_OPERATIONS: u64 = 10_000_000;
const MAX_CALL_LEVELS: usize = 64;
const MAX_EXPR_DEPTH: usize = 256;

/// Runs configuration files, one after another, into one [`Config`].
pub struct Loader {
    engine: Engine,
    shared: Shared,
    sources: Vec<(String, String)>,
    prints: Rc<RefCell<Vec<String>>>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Self {
        let shared: Shared = Rc::new(RefCell::new(Builder {
            cfg: Config::default(),
            diags: Vec::new(),
            file: String::new(),
        }));
        let mut engine = Engine::new();
        engine.set_max_operations(MAX_OPERATIONS);
        engine.set_max_call_levels(MAX_CALL_LEVELS);
        // Device bodies nest closures in closures; Rhai's defaults (64 and
        // 32 levels) are reached by a few levels of children.
        engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH);
        api::register(&mut engine, &shared);
        let s = shared.clone();
        // `Io` is a global, as in L4Re io's Lua environment.
        #[allow(deprecated)] // `on_var` is marked volatile, not deprecated
        engine.on_var(move |name, _, _| Ok((name == "Io").then(|| Dynamic::from(Io(s.clone())))));
        let prints = Rc::new(RefCell::new(Vec::new()));
        let p = prints.clone();
        engine.on_print(move |text| p.borrow_mut().push(text.to_string()));
        let p = prints.clone();
        engine.on_debug(move |text, _, _| p.borrow_mut().push(text.to_string()));
        Loader { engine, shared, sources: Vec::new(), prints }
    }

    /// Runs the script `text`, known as `file` (`rom/io.cfg`). A script
    /// error stops it and is returned; check findings are kept for
    /// [`Loader::finish`].
    pub fn load(&mut self, file: &str, text: &str) -> Result<(), Diagnostic> {
        self.shared.borrow_mut().file = file.into();
        self.sources.push((file.into(), text.into()));
        let mut ast = self.engine.compile(text).map_err(|e| {
            let (line, col) = ned::rhai_error::line_col(e.position());
            let msg = format!("syntax error: {}", e.err_type());
            Diagnostic::error(Pos { file: file.into(), line, col }, msg)
        })?;
        ast.set_source(file.to_string());
        self.engine.run_ast(&ast).map_err(|e| diagnose(file, &e))
    }

    /// What the scripts printed since the last call.
    pub fn take_prints(&mut self) -> Vec<String> {
        core::mem::take(&mut *self.prints.borrow_mut())
    }

    /// `d` with its source line and a caret.
    pub fn render(&self, d: &Diagnostic) -> String {
        let src = self.sources.iter().find(|(f, _)| *f == d.pos.file).map(|(_, t)| t.as_str());
        d.render(src)
    }

    /// The configuration, and the check findings (errors and warnings) in
    /// the order found.
    pub fn finish(&self) -> (Config, Vec<Diagnostic>) {
        let b = self.shared.borrow();
        (b.cfg.clone(), b.diags.clone())
    }
}

/// Loads `files` (name, text) in order: the configuration and its
/// warnings, or every error found (with the warnings) rendered as
/// `file:line:col: error: ...` with the source line and a caret.
pub fn load(files: &[(&str, &str)]) -> Result<(Config, Vec<String>), Vec<String>> {
    let mut l = Loader::new();
    let mut stop = None;
    for (name, text) in files {
        if let Err(d) = l.load(name, text) {
            stop = Some(d);
            break;
        }
    }
    let (cfg, mut diags) = l.finish();
    diags.extend(stop);
    let rendered = diags.iter().map(|d| l.render(d)).collect();
    if diags.iter().any(|d| d.severity == Severity::Error) {
        Err(rendered)
    } else {
        Ok((cfg, rendered))
    }
}

/// The innermost error of Rhai's chain (through the device bodies and
/// vbus functions it ran in), at its own file and position; a Lua-style
/// global gets a hint.
fn diagnose(main: &str, e: &EvalAltResult) -> Diagnostic {
    ned::rhai_error::diagnose(main, e, &|e| match e {
        EvalAltResult::ErrorVariableNotFound(name, _) => Some(format!(
            "no variable `{name}`: where Lua sets a global (`{name} = ...`, `Resource.x = ...`) \
             a device or vbus body here sets a field of `this` (`this.{name} = ...`)"
        )),
        _ => None,
    })
}

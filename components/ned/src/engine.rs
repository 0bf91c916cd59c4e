//! The interpreter: a Rhai engine with the ned API, `L4` as a global that
//! every script and module sees, `import` from `rom/`, and Rhai's errors
//! turned into [`Diagnostic`]s pointing into the right file.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};

use rhai::module_resolvers::ModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, Scope, Shared as RcShared};

use crate::api::{self, L4, Shared, State};
use crate::{Backend, Diagnostic, Pos};

/// Limits that keep a runaway script from hanging the boot.
const MAX_OPERATIONS: u64 = 50_000_000;
const MAX_CALL_LEVELS: usize = 64;

/// A ned interpreter over backend `B`.
pub struct Ned<B: Backend + 'static> {
    engine: Engine,
    shared: Shared<B>,
}

impl<B: Backend + 'static> Ned<B> {
    pub fn new(backend: B) -> Self {
        let shared: Shared<B> = Rc::new(RefCell::new(State {
            backend,
            log_fab: None,
            main_file: String::new(),
            sources: Vec::new(),
        }));
        let mut engine = Engine::new();
        engine.set_max_operations(MAX_OPERATIONS);
        engine.set_max_call_levels(MAX_CALL_LEVELS);
        api::register::<B>(&mut engine);
        let s = shared.clone();
        // `L4` is a global in every script and module, as `require "L4"`
        // makes it in ned; scripts may still `import "L4" as L4;`.
        #[allow(deprecated)] // `on_var` is marked volatile, not deprecated
        engine.on_var(move |name, _, _| Ok((name == "L4").then(|| Dynamic::from(L4(s.clone())))));
        let s = shared.clone();
        engine.on_print(move |text| s.borrow_mut().backend.print(text));
        let s = shared.clone();
        engine.on_debug(move |text, _, _| s.borrow_mut().backend.print(text));
        engine.set_module_resolver(RomResolver { shared: shared.clone() });
        Ned { engine, shared }
    }

    /// The backend.
    pub fn backend(&self) -> RefMut<'_, B> {
        RefMut::map(self.shared.borrow_mut(), |s| &mut s.backend)
    }

    /// Consumes the interpreter, returning the backend.
    pub fn into_backend(self) -> B {
        drop(self.engine);
        match Rc::try_unwrap(self.shared) {
            Ok(cell) => cell.into_inner().backend,
            Err(_) => unreachable!("script values outlived the engine"),
        }
    }

    /// Runs the script `text`, known as `file`.
    pub fn run(&mut self, file: &str, text: &str) -> Result<(), Diagnostic> {
        {
            let mut st = self.shared.borrow_mut();
            st.main_file = file.into();
            st.sources.push((file.into(), text.into()));
        }
        let mut ast = self.engine.compile(text).map_err(|e| {
            let (line, col) = crate::rhai_error::line_col(e.position());
            let msg = format!("syntax error: {}", e.err_type());
            Diagnostic::error(Pos { file: file.into(), line, col }, msg)
        })?;
        ast.set_source(file.to_string());
        match self.engine.run_ast(&ast) {
            Ok(()) => Ok(()),
            Err(e) => Err(crate::rhai_error::diagnose(file, &e, &|_| None)),
        }
    }

    /// The text of a script file read so far.
    pub fn source(&self, file: &str) -> Option<String> {
        let st = self.shared.borrow();
        st.sources.iter().find(|(f, _)| f == file).map(|(_, t)| t.clone())
    }

    /// `d` with its source line and caret.
    pub fn render(&self, d: &Diagnostic) -> String {
        d.render(self.source(&d.pos.file).as_deref())
    }
}

/// The file name a module path resolves to, as errors report it.
pub(crate) fn module_file(path: &str) -> Option<String> {
    if path == "L4" {
        return None;
    }
    Some(format!("rom/{}", rom_name(path)))
}

/// The rom/ module name an `import` path means: `vmm`, `rom/vmm` and
/// `rom/vmm.rhai` all mean `vmm.rhai`.
pub(crate) fn rom_name(path: &str) -> String {
    let p = path.strip_prefix("rom/").unwrap_or(path);
    if p.contains('.') { p.into() } else { format!("{p}.rhai") }
}

/// Resolves `import "x"` to the rom/ module `x.rhai`.
struct RomResolver<B> {
    shared: Shared<B>,
}

impl<B: Backend + 'static> ModuleResolver for RomResolver<B> {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<RcShared<Module>, Box<EvalAltResult>> {
        if path == "L4" {
            return Ok(Module::new().into());
        }
        let name = rom_name(path);
        let file = format!("rom/{name}");
        let text = self.shared.borrow_mut().backend.rom_text(&name);
        let Some(text) = text else {
            // Not `ErrorModuleNotFound`: Rhai replaces that one with its own,
            // which says only the path.
            let mods: Vec<String> = {
                let mut st = self.shared.borrow_mut();
                st.backend.rom_names().into_iter().filter(|n| n.ends_with(".rhai")).collect()
            };
            let mut msg = format!("import \"{path}\": no module rom/{name}");
            if !mods.is_empty() {
                msg += &format!(" (rom/ holds: {})", mods.join(", "));
            }
            return Err(Box::new(EvalAltResult::ErrorRuntime(msg.into(), pos)));
        };
        self.shared.borrow_mut().sources.push((file.clone(), text.clone()));
        let mut ast = engine.compile(&text).map_err(|e| {
            let inner = Box::new(EvalAltResult::ErrorParsing(e.err_type().clone(), e.position()));
            Box::new(EvalAltResult::ErrorInModule(path.into(), inner, pos))
        })?;
        ast.set_source(file);
        let m = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.into(), e, pos)))?;
        Ok(m.into())
    }
}

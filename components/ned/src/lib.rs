//! ned, the boot-script interpreter, in Rhai: the L4Re ned API
//! (`L4.default_loader.start(env, "rom/prog args")`, `new_channel()`,
//! `.svr()`, `.m("rw")`, `L4.Env`, task handles, `import` from `rom/`)
//! over a [`Backend`] that really starts programs (the root task) or
//! models doing so (`build ned check` and `build ned graph` on the host).
//!
//! The checks that do not depend on the backend live here, so a script
//! fails the same way on the host as at boot: a command line that does not
//! name a `rom/` module, a module that is not there, an unknown key in an
//! environment table, a value of the wrong type, a bad tag or colour, a
//! priority out of range, a rights string with unknown letters.
//! Errors become [`Diagnostic`]s with file, line and column, found by
//! unwinding Rhai's error chain into imported modules and functions.
//!
//! ```text
//!  script ──► Rhai engine ──► api.rs (types, checks) ──► Backend
//!                                                        ├─ root task: ELF loader
//!                                                        └─ host model: graph, lints
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod api;
pub mod diag;
mod engine;
pub mod model;
pub mod rhai_error;
mod value;

pub use diag::{Diagnostic, Pos, Severity};
pub use engine::Ned;
pub use value::{
    Cap, LogSpec, Obj, RIGHT_GRANT, RIGHT_READ, RIGHT_SEND, Rights, StartRequest, TaskState,
};

use alloc::string::String;
use alloc::vec::Vec;

/// What a script's calls act on. Identifiers are the backend's own; a
/// `String` error becomes a diagnostic at the calling line.
pub trait Backend {
    /// The text of `rom/<name>`, if there is such a module (for `import`).
    fn rom_text(&mut self, name: &str) -> Option<String>;
    /// Whether `rom/<name>` exists (a program to start).
    fn rom_exists(&mut self, name: &str) -> bool;
    /// Every rom/ module name (for error messages).
    fn rom_names(&mut self) -> Vec<String>;
    /// The root's own named caps, offered to scripts as `L4.Env.<name>`.
    fn env_caps(&mut self) -> Vec<(String, program_env::CapKind)>;
    /// Creates a channel (an IPC endpoint); `at` is the calling line.
    fn new_channel(&mut self, at: &Pos) -> Result<u32, String>;
    /// Starts a program.
    fn start(&mut self, req: &StartRequest) -> Result<u32, String>;
    /// A task's state now.
    fn state(&mut self, task: u32) -> TaskState;
    /// Blocks until the task has ended; its state then.
    fn wait(&mut self, task: u32) -> Result<TaskState, String>;
    /// Stops a task and frees what it was given.
    fn kill(&mut self, task: u32) -> Result<(), String>;
    /// Output of the script's `print`.
    fn print(&mut self, text: &str);
}

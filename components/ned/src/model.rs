//! A host model of the loader: a [`Backend`] that starts nothing but
//! records what a script asks for, so `build ned check` can lint a script
//! ([`Model::lints`]) and `build ned graph` can draw it ([`Model::dot`])
//! without booting.
//!
//! What the model cannot know it assumes: every task keeps running until
//! the script waits for it, and `wait()` returns at once as if the task had
//! exited with code 0 (no program runs, so no real exit code exists). The
//! rom/ namespace is a list of module names, or unknown (then every program
//! is taken to exist); `.rhai` module texts come from a function the caller
//! gives. It stays `alloc`-only, like the rest of the crate.

mod dot;
mod lints;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use program_env::CapKind;

use crate::{Backend, Cap, LogSpec, Obj, Pos, StartRequest, TaskState};

/// The root's named caps as the root task offers them: `L4.Env.<name>`.
pub const ENV_CAPS: [(&str, CapKind); 5] = [
    ("log", CapKind::Log),
    ("rom", CapKind::Rom),
    ("icu", CapKind::IrqControl),
    ("sigma0", CapKind::Untyped),
    ("asid_pool", CapKind::Other),
];

/// Reads the text of a rom/ module (`name` as in rom/, e.g. `lib.rhai`).
pub type Texts = Box<dyn FnMut(&str) -> Option<String>>;

/// A channel the script made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: u32,
    /// Where `new_channel()` was called.
    pub at: Pos,
}

/// A program the script started.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: u32,
    pub req: StartRequest,
    pub state: TaskState,
}

/// The model loader. See the module documentation.
pub struct Model {
    /// rom/'s module names; `None` when not known.
    rom: Option<Vec<String>>,
    texts: Texts,
    channels: Vec<Channel>,
    tasks: Vec<Task>,
    output: Vec<String>,
}

impl Model {
    /// A model whose rom/ holds exactly the modules `names` (an entry of a
    /// modules.list): starting anything else is an error, as at boot.
    /// `texts` gives the text of a listed `.rhai` module for `import`.
    pub fn with_rom(
        names: Vec<String>,
        texts: impl FnMut(&str) -> Option<String> + 'static,
    ) -> Model {
        Model::new(Some(names), Box::new(texts))
    }

    /// A model that does not know what rom/ holds (no modules.list entry
    /// names the script): every program is taken to exist, so the check
    /// for a missing program is skipped; `import` finds whatever `texts`
    /// gives.
    pub fn without_rom_list(texts: impl FnMut(&str) -> Option<String> + 'static) -> Model {
        Model::new(None, Box::new(texts))
    }

    fn new(rom: Option<Vec<String>>, texts: Texts) -> Model {
        Model { rom, texts, channels: Vec::new(), tasks: Vec::new(), output: Vec::new() }
    }

    /// A `texts` function serving the modules of `map` (name → text).
    pub fn texts_from(map: BTreeMap<String, String>) -> impl FnMut(&str) -> Option<String> {
        move |name| map.get(name).cloned()
    }

    /// rom/'s module names, when known.
    pub fn rom_list(&self) -> Option<&[String]> {
        self.rom.as_deref()
    }

    /// The channels made, in order (a channel's id is its index).
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The programs started, in order (a task's id is its index).
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// What the script printed, one entry per `print`.
    pub fn output(&self) -> &[String] {
        &self.output
    }
}

impl Backend for Model {
    fn rom_text(&mut self, name: &str) -> Option<String> {
        if self.rom.as_ref().is_some_and(|r| !r.iter().any(|n| n == name)) {
            return None;
        }
        (self.texts)(name)
    }

    fn rom_exists(&mut self, name: &str) -> bool {
        self.rom.as_ref().is_none_or(|r| r.iter().any(|n| n == name))
    }

    fn rom_names(&mut self) -> Vec<String> {
        self.rom.clone().unwrap_or_default()
    }

    fn env_caps(&mut self) -> Vec<(String, CapKind)> {
        ENV_CAPS.iter().map(|(n, k)| (n.to_string(), *k)).collect()
    }

    fn new_channel(&mut self, at: &Pos) -> Result<u32, String> {
        let id = self.channels.len() as u32;
        self.channels.push(Channel { id, at: at.clone() });
        Ok(id)
    }

    fn start(&mut self, req: &StartRequest) -> Result<u32, String> {
        // The one check of the root task's loader that needs no hardware.
        if let (LogSpec::Tagged { .. }, Some(fab)) = (&req.log, &req.log_fab)
            && !matches!(fab.obj, Obj::Channel { .. })
        {
            return Err("log_fab must be a channel (new_channel())".into());
        }
        let id = self.tasks.len() as u32;
        self.tasks.push(Task { id, req: req.clone(), state: TaskState::Running });
        Ok(id)
    }

    fn state(&mut self, task: u32) -> TaskState {
        self.tasks.get(task as usize).map_or(TaskState::Killed, |t| t.state)
    }

    /// The model runs no program, so it cannot know how one ends: a task
    /// still running is taken to have exited with code 0.
    fn wait(&mut self, task: u32) -> Result<TaskState, String> {
        let Some(t) = self.tasks.get_mut(task as usize) else {
            return Ok(TaskState::Killed);
        };
        if t.state == TaskState::Running {
            t.state = TaskState::Exited(0);
        }
        Ok(t.state)
    }

    /// Marks a running task killed (an ended one stays as it ended).
    fn kill(&mut self, task: u32) -> Result<(), String> {
        if let Some(t) = self.tasks.get_mut(task as usize)
            && t.state == TaskState::Running
        {
            t.state = TaskState::Killed;
        }
        Ok(())
    }

    fn print(&mut self, text: &str) {
        self.output.push(text.into());
    }
}

/// What a cap refers to, as the script writes it (without rights):
/// `channel#0.svr`, `L4.Env.log`, `L4.Env.irq(33)`.
pub(crate) fn object_name(cap: &Cap) -> String {
    let s = cap.to_string();
    match s.rfind('[') {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests;

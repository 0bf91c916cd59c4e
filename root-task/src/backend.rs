//! The root task as the ned interpreter's backend: what a script's calls
//! do at boot.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ned::{Backend, Pos, StartRequest, TaskState};
use program_env::CapKind;
use sel4::ObjectBlueprint;

use crate::root::Root;

impl Backend for Root {
    fn rom_text(&mut self, name: &str) -> Option<String> {
        let m = self.module(name)?;
        Some(String::from_utf8_lossy(self.modules[m].data).into_owned())
    }

    fn rom_exists(&mut self, name: &str) -> bool {
        self.module(name).is_some()
    }

    fn rom_names(&mut self) -> Vec<String> {
        self.modules.iter().map(|m| m.name.clone()).collect()
    }

    fn env_caps(&mut self) -> Vec<(String, CapKind)> {
        [
            ("log", CapKind::Log),
            ("rom", CapKind::Rom),
            ("icu", CapKind::IrqControl),
            ("sigma0", CapKind::Untyped),
            ("asid_pool", CapKind::Other),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_string(), k))
        .collect()
    }

    fn new_channel(&mut self, _at: &Pos) -> Result<u32, String> {
        let s = self.slots.take()?;
        if let Err(e) = self.pool.retype(&ObjectBlueprint::Endpoint, s) {
            self.slots.give_back(s);
            return Err(e);
        }
        self.channels.push(s);
        Ok(self.channels.len() as u32 - 1)
    }

    fn start(&mut self, req: &StartRequest) -> Result<u32, String> {
        Root::start(self, req)
    }

    fn state(&mut self, task: u32) -> TaskState {
        self.tasks.get(task as usize).map_or(TaskState::Killed, |t| t.state)
    }

    fn wait(&mut self, task: u32) -> Result<TaskState, String> {
        // Serve the programs until this one ends; they run while the root
        // task waits for messages.
        while self.state(task) == TaskState::Running {
            self.serve_one();
        }
        Ok(self.state(task))
    }

    fn kill(&mut self, task: u32) -> Result<(), String> {
        self.finish(task, TaskState::Killed);
        Ok(())
    }

    fn print(&mut self, text: &str) {
        let chan = self.ned_log;
        self.log_bytes(chan, text.as_bytes());
        self.log_bytes(chan, b"\n");
    }
}

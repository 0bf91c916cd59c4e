//! The values scripts hold: caps with rights, start requests, task states.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::Pos;

/// Rights of a cap as letters, L4Re-style: `r` receive (seL4 Read), `w`
/// send and call (seL4 Write), `s` pass caps along (seL4 Grant).
pub type Rights = u32;
pub const RIGHT_READ: Rights = 1;
pub const RIGHT_SEND: Rights = 2;
pub const RIGHT_GRANT: Rights = 4;
const LETTERS: [(char, Rights); 3] = [('r', RIGHT_READ), ('w', RIGHT_SEND), ('s', RIGHT_GRANT)];

/// Parses a rights string (`"rws"`, `"w"`, ...).
pub fn parse_rights(s: &str) -> Result<Rights, String> {
    let mut r = 0;
    for c in s.chars() {
        match LETTERS.iter().find(|(l, _)| *l == c) {
            Some((_, bit)) => r |= bit,
            None => {
                return Err(format!("unknown right `{c}` in \"{s}\" (rights are r, w and s)"));
            }
        }
    }
    Ok(r)
}

/// A rights value as letters.
pub fn rights_str(r: Rights) -> String {
    LETTERS.iter().filter(|(_, b)| r & b != 0).map(|(l, _)| *l).collect()
}

/// What a cap refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Obj {
    /// A channel made by `new_channel()`: its client end, or the server end
    /// (`svr()`).
    Channel { id: u32, server: bool },
    /// One of the root's own caps, `L4.Env.<name>`.
    Env { name: String, kind: program_env::CapKind },
    /// Device memory `[addr, addr + size)`, `L4.Env.mmio(addr, size)`: the
    /// device untyped of exactly that range.
    Mmio { addr: u64, size: u64 },
    /// An IRQ, `L4.Env.irq(n)`: its handler.
    Irq { irq: u32 },
    /// Fresh RAM of `bytes` (rounded up to a power of two),
    /// `L4.Env.ram(bytes)`: an untyped made for the program it is given to.
    Ram { bytes: u64 },
}

/// A cap as a script holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cap {
    pub obj: Obj,
    pub rights: Rights,
}

impl Cap {
    /// The kind of object, as the environment page records it.
    pub fn kind(&self) -> program_env::CapKind {
        match &self.obj {
            Obj::Channel { .. } => program_env::CapKind::Channel,
            Obj::Env { kind, .. } => *kind,
            Obj::Mmio { .. } | Obj::Ram { .. } => program_env::CapKind::Untyped,
            Obj::Irq { .. } => program_env::CapKind::IrqHandler,
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.obj {
            Obj::Channel { id, server: false } => write!(f, "channel#{id}")?,
            Obj::Channel { id, server: true } => write!(f, "channel#{id}.svr")?,
            Obj::Env { name, .. } => write!(f, "L4.Env.{name}")?,
            Obj::Mmio { addr, size } => write!(f, "L4.Env.mmio({addr:#x}, {size:#x})")?,
            Obj::Irq { irq } => write!(f, "L4.Env.irq({irq})")?,
            Obj::Ram { bytes } => write!(f, "L4.Env.ram({bytes:#x})")?,
        }
        write!(f, "[{}]", rights_str(self.rights))
    }
}

/// Where a program's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSpec {
    /// A log channel the loader makes, with a tag and a colour name.
    Tagged { tag: String, colour: String },
    /// An existing cap (`log = L4.Env.log`: untagged, the root's own log).
    Cap(Cap),
}

/// Everything `start` was asked, checked.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// The command line as written: `rom/prog args...`.
    pub cmdline: String,
    /// The module name (the first word without `rom/`).
    pub program: String,
    /// Named caps, nested tables flattened with `/`, in name order.
    pub caps: Vec<(String, Cap)>,
    pub log: LogSpec,
    /// Scheduling priority (0..=254).
    pub prio: u8,
    /// The loader's `log_fab` when the program was started.
    pub log_fab: Option<Cap>,
    /// Where the script called `start`.
    pub at: Pos,
}

/// Default priority of started programs.
pub const DEFAULT_PRIO: u8 = 100;

/// A task's state, as `task.state()` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// Returned from main or called exit; the code.
    Exited(i64),
    /// Took a fault nobody handles.
    Crashed,
    /// Stopped by `kill()`.
    Killed,
}

impl TaskState {
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Exited(_) => "exited",
            TaskState::Crashed => "crashed",
            TaskState::Killed => "killed",
        }
    }

    /// The exit code, `()` in the script while there is none.
    pub fn code(self) -> Option<i64> {
        match self {
            TaskState::Exited(c) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_parse_and_print() {
        assert_eq!(parse_rights("rws"), Ok(7));
        assert_eq!(parse_rights("w"), Ok(RIGHT_SEND));
        assert_eq!(parse_rights(""), Ok(0));
        assert!(parse_rights("rwx").unwrap_err().contains("`x`"));
        assert_eq!(rights_str(5), "rs");
    }
}

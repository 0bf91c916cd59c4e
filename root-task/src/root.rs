//! The root task's state: its allocators, the channels and log channels
//! scripts made, the boot modules (rom/), and every task it started.

use alloc::string::String;
use alloc::vec::Vec;

use ned::TaskState;

use crate::mem::{Pool, Slots, Untyped};

/// What a badge on the root task's endpoint says: the kind of message in
/// its low bits, a task or log channel number above them.
pub mod badge {
    pub const FAULT: u64 = 1;
    pub const PARENT: u64 = 2;
    pub const ROM: u64 = 3;
    pub const LOG: u64 = 4;
    pub const KIND_BITS: u32 = 3;

    pub const fn make(kind: u64, id: u32) -> u64 {
        (id as u64) << KIND_BITS | kind
    }

    pub const fn split(b: u64) -> (u64, u32) {
        (b & ((1 << KIND_BITS) - 1), (b >> KIND_BITS) as u32)
    }
}

/// A boot module.
pub struct Module {
    pub name: String,
    pub data: &'static [u8],
    pub vaddr: u64,
    /// The root slots of its frames, in address order.
    pub frames: core::ops::Range<u64>,
}

/// A log channel the root task serves: its tag and colour (none for the
/// root's own log, `L4.Env.log`), and the part of a line written so far.
pub struct LogChannel {
    pub tag: Option<(String, &'static str)>,
    pub partial: Vec<u8>,
}

/// A started program.
pub struct Task {
    pub cmdline: String,
    pub state: TaskState,
    /// Its own untyped, from which its objects were made.
    pub ut: Option<Untyped>,
    /// RAM untypeds made for it (`L4.Env.ram`).
    pub made: Vec<Untyped>,
    /// Root slots of its objects and of the caps kept for it.
    pub slots: Vec<u64>,
    pub tcb: u64,
    pub vspace: u64,
    /// rom/ modules mapped into it: module index, address.
    pub roms: Vec<(usize, u64)>,
    /// Its tagged log channel, if it has one.
    pub log: Option<u32>,
}

/// The root task.
pub struct Root {
    pub slots: Slots,
    pub pool: Pool,
    /// The endpoint every badge above arrives on.
    pub ep: u64,
    pub modules: Vec<Module>,
    /// Channel endpoints by id (root slots).
    pub channels: Vec<u64>,
    /// Log channels by id; 0 is the root's own, untagged.
    pub logs: Vec<LogChannel>,
    pub tasks: Vec<Task>,
    /// The log channel of the script's own `print` (tag `ned`).
    pub ned_log: u32,
    /// Device untypeds: root slot, physical address, size (log2).
    pub devices: Vec<(u64, u64, usize)>,
    /// IRQ handlers made so far: IRQ, root slot.
    pub irqs: Vec<(u32, u64)>,
    /// The GIC's virtual CPU interface as 4 KiB frames (root slot,
    /// physical address), shared by every VMM that maps it.
    pub vgic_cpu: Vec<(u64, u64)>,
}

impl Root {
    /// The module called `name`.
    pub fn module(&self, name: &str) -> Option<usize> {
        self.modules.iter().position(|m| m.name == name)
    }

    /// Whether any task still runs.
    pub fn any_running(&self) -> bool {
        self.tasks.iter().any(|t| t.state == TaskState::Running)
    }
}

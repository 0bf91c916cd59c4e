//! What the root task answers on its endpoint: faults of the programs it
//! started (reported with the program's name; the others keep running),
//! their exits, rom/ opens, and log writes (printed line by line with the
//! channel's tag and colour).

use alloc::format;
use alloc::string::String;

use ned::TaskState;
use program_env::{log, parent, rom};
use sel4::{Fault, MessageInfo, cap, sys::FaultLabel};

use crate::mem::cap_at;
use crate::root::{Root, badge};

/// What to answer a message with, if anything.
enum Answer {
    Reply(MessageInfo),
    None,
}

impl Root {
    /// Receives and handles one message.
    pub fn serve_one(&mut self) {
        let ep: cap::Endpoint = cap_at(self.ep);
        let (info, b) = ep.recv(());
        let (kind, id) = badge::split(b);
        let answer = match kind {
            badge::FAULT => self.on_fault(id, &info),
            badge::PARENT => self.on_parent(id, &info),
            badge::ROM => self.on_rom(id, &info),
            badge::LOG => self.on_log(id, &info),
            _ => Answer::None,
        };
        if let Answer::Reply(r) = answer {
            sel4::with_ipc_buffer_mut(|buf| sel4::reply(buf, r));
        }
    }

    fn task_name(&self, id: u32) -> String {
        self.tasks.get(id as usize).map_or_else(|| format!("task {id}"), |t| t.cmdline.clone())
    }

    fn on_fault(&mut self, id: u32, info: &MessageInfo) -> Answer {
        let label = info.label();
        let known = [
            FaultLabel::CapFault,
            FaultLabel::UnknownSyscall,
            FaultLabel::UserException,
            FaultLabel::VmFault,
        ];
        let what = if known.iter().any(|l| *l as u64 == label) {
            let f = sel4::with_ipc_buffer(|buf| Fault::new(buf, info));
            describe(&f)
        } else {
            format!("fault message with label {label}")
        };
        let name = self.task_name(id);
        if self.tasks.get(id as usize).is_some_and(|t| t.state == TaskState::Running) {
            crate::say(&format!("`{name}` crashed: {what}; stopped it, the others keep running"));
            self.finish(id, TaskState::Crashed);
        }
        Answer::None
    }

    fn on_parent(&mut self, id: u32, info: &MessageInfo) -> Answer {
        if info.label() != parent::EXIT {
            return Answer::Reply(MessageInfo::new(1, 0, 0, 0));
        }
        let code = if info.length() > 0 { sel4::with_ipc_buffer(|b| b.msg_regs()[0]) } else { 0 };
        self.finish(id, TaskState::Exited(code as i64));
        Answer::None
    }

    fn on_rom(&mut self, id: u32, info: &MessageInfo) -> Answer {
        let err = |l| Answer::Reply(MessageInfo::new(l, 0, 0, 0));
        if info.label() != rom::OPEN || info.length() == 0 {
            return err(rom::BAD_REQUEST);
        }
        let mut name = [0u8; rom::MAX_NAME];
        let name = sel4::with_ipc_buffer(|b| {
            let mr = &b.msg_regs()[..info.length().min(b.msg_regs().len())];
            let len = mr[0] as usize;
            program_env::unpack_bytes(&mr[1..], len, &mut name)
                .and_then(|n| core::str::from_utf8(n).ok())
                .map(String::from)
        });
        let Some(name) = name else { return err(rom::BAD_REQUEST) };
        let Some(m) = self.module(&name) else { return err(rom::NOT_FOUND) };
        match self.map_rom(id, m) {
            Ok(vaddr) => {
                let size = self.modules[m].data.len() as u64;
                sel4::with_ipc_buffer_mut(|b| {
                    b.msg_regs_mut()[0] = vaddr;
                    b.msg_regs_mut()[1] = size;
                });
                Answer::Reply(MessageInfo::new(0, 0, 0, 2))
            }
            Err(l) => err(l),
        }
    }

    fn on_log(&mut self, chan: u32, info: &MessageInfo) -> Answer {
        if info.label() != log::WRITE || info.length() == 0 || chan as usize >= self.logs.len() {
            return Answer::Reply(MessageInfo::new(1, 0, 0, 0));
        }
        let mut bytes = [0u8; log::MAX_WRITE];
        let n = sel4::with_ipc_buffer(|b| {
            let mr = &b.msg_regs()[..info.length().min(b.msg_regs().len())];
            let len = (mr[0] as usize).min(log::MAX_WRITE);
            program_env::unpack_bytes(&mr[1..], len, &mut bytes).map_or(0, |s| s.len())
        });
        self.log_bytes(chan, &bytes[..n]);
        sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = n as u64);
        Answer::Reply(MessageInfo::new(0, 0, 0, 1))
    }

    /// Adds bytes to log channel `chan`, printing each finished line.
    pub fn log_bytes(&mut self, chan: u32, bytes: &[u8]) {
        for &b in bytes {
            let l = &mut self.logs[chan as usize];
            if b == b'\n' {
                self.print_line(chan);
            } else {
                l.partial.push(b);
                if l.partial.len() >= 4 * log::MAX_WRITE {
                    self.print_line(chan);
                }
            }
        }
    }

    /// Prints the partial line of `chan`, if there is one (at the end of
    /// its writer).
    pub fn flush_log(&mut self, chan: u32) {
        if self.logs.get(chan as usize).is_some_and(|l| !l.partial.is_empty()) {
            self.print_line(chan);
        }
    }

    /// Prints what `chan` holds as one line, tagged.
    fn print_line(&mut self, chan: u32) {
        let Some(l) = self.logs.get_mut(chan as usize) else { return };
        let text = core::mem::take(&mut l.partial);
        let text = String::from_utf8_lossy(&text);
        match &l.tag {
            Some((tag, colour)) => {
                sel4::debug_println!("\x1b[{colour}m{tag:<8}| {text}\x1b[0m")
            }
            None => sel4::debug_println!("{text}"),
        }
    }
}

/// A fault in words.
fn describe(f: &Fault) -> String {
    match f {
        Fault::VmFault(v) => {
            let kind = if v.is_prefetch() != 0 { "instruction fetch" } else { "data access" };
            format!("page fault at {:#x} ({kind}, pc {:#x}, fsr {:#x})", v.addr(), v.ip(), v.fsr())
        }
        Fault::UserException(u) => format!(
            "user exception at pc {:#x} (number {}, code {:#x})",
            u.fault_ip(),
            u.number(),
            u.code()
        ),
        Fault::CapFault(c) => format!("cap fault on cptr {:#x} at pc {:#x}", c.addr(), c.ip()),
        Fault::UnknownSyscall(s) => format!("unknown syscall {}", s.gpr(7)),
        other => format!("{other:?}"),
    }
}

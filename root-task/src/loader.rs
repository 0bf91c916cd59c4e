//! Starting a program: a new CSpace and VSpace made from an untyped of its
//! own, its ELF image copied in, its environment page, IPC buffer and
//! caps, a TCB whose faults come to the root task. And the reverse: taking
//! a task apart when it ends or is killed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ned::{Cap, LogSpec, Obj, StartRequest, TaskState};
use program_env::{CapKind, EnvPageBuilder, slot as cslot};
use sel4::init_thread::slot;
use sel4::{CNodeCapData, CapRights, MessageInfo, ObjectBlueprint, UserContext, VmAttributes, cap};

use crate::elf;
use crate::gifts::{CALL_ONLY, Gift, LogRoute};
use crate::mem::{Pool, Slots, Untyped, cap_at, path};
use crate::root::{LogChannel, Root, Task, badge};
use crate::space::{self, PAGE, TableSource};

/// Page tables mapped for a program beyond its image (IPC buffer, env,
/// rom/ window), budgeted in its untyped.
const SPARE_TABLES: u64 = 24;

/// Makes a task's objects: from its untyped while it has room, else from
/// the pool (then they are not reclaimed with the untyped, but still
/// deleted with the task).
pub struct TaskObjects<'a> {
    pub ut: &'a mut Untyped,
    pub pool: &'a mut Pool,
    pub slots: &'a mut Slots,
    pub owned: &'a mut Vec<u64>,
}

impl TaskObjects<'_> {
    pub fn make(&mut self, bp: ObjectBlueprint) -> Result<u64, String> {
        let s = self.slots.take()?;
        self.owned.push(s);
        if self.ut.retype(&bp, s).is_err() {
            self.pool.retype(&bp, s)?;
        }
        Ok(s)
    }
}

impl TableSource for TaskObjects<'_> {
    fn page_table(&mut self) -> Result<u64, String> {
        self.make(ObjectBlueprint::PageTable)
    }
}

/// Size of the `mem` untyped every program gets, log2 bytes.
const MEM_BITS: usize = 16;

/// `ceil(log2(n))`.
fn log2_up(n: u64) -> usize {
    (64 - (n.max(2) - 1).leading_zeros()) as usize
}

impl Root {
    /// Starts the program `req` describes; returns its task id.
    pub fn start(&mut self, req: &StartRequest) -> Result<u32, String> {
        let m = self.module(&req.program).ok_or("no such module")?;
        let data = self.modules[m].data;
        let image = elf::parse(data).map_err(|e| format!("rom/{}: {e}", req.program))?;
        let id = self.tasks.len() as u32;

        // The environment page first: it may be refused as too large.
        let mut env = EnvPageBuilder::new(&req.program, &req.cmdline);
        // A tagged log: a channel from the log_fab's server (cons) if the
        // script set one, else one the root task serves itself.
        let route = match (&req.log, &req.log_fab) {
            (LogSpec::Tagged { tag, colour }, Some(fab)) => {
                LogRoute::Fab(self.log_from_fab(fab, tag, colour)?)
            }
            (LogSpec::Tagged { tag, colour }, None) => {
                let code = program_env::log::colour_code(colour).unwrap_or("37");
                self.logs.push(LogChannel { tag: Some((tag.clone(), code)), partial: Vec::new() });
                LogRoute::Root(self.logs.len() as u32 - 1)
            }
            (LogSpec::Cap(_), _) => LogRoute::Root(0),
        };
        let log_cap = match &req.log {
            LogSpec::Cap(c) => c.clone(),
            LogSpec::Tagged { .. } => {
                Cap { obj: Obj::Env { name: "log".into(), kind: CapKind::Log }, rights: 7 }
            }
        };
        let rom_cap = Cap { obj: Obj::Env { name: "rom".into(), kind: CapKind::Rom }, rights: 7 };
        let named = [("log".into(), log_cap), ("rom".into(), rom_cap)];
        let mut made = Vec::new();
        let mut gifts: Vec<Gift> = Vec::new();
        let mut r = Ok(());
        for (name, c) in named.iter().chain(req.caps.iter()) {
            r = self.gifts_for(id, name, c, route, &mut made, &mut gifts);
            if r.is_err() {
                break;
            }
        }
        let limit = (cslot::NAMED_END - cslot::FIRST_NAMED - 1) as usize;
        if r.is_ok() && gifts.len() > limit {
            r = Err(format!("{} caps, more than the {limit} a program can have", gifts.len()));
        }
        let fab_slot = match route {
            LogRoute::Fab(s) => Some(s),
            LogRoute::Root(_) => None,
        };
        if let Err(e) = r {
            self.free(None, &made, fab_slot.as_slice());
            return Err(e);
        }
        // `mem` comes third, after `log` and `rom`: the script's
        // (`L4.Env.ram(n)`), else an untyped for the program's own objects,
        // made from its untyped below (a gift with source slot 0).
        let own_mem = match gifts.iter().position(|g| g.name == "mem") {
            Some(i) => {
                let g = gifts.remove(i);
                gifts.insert(2, g);
                false
            }
            None => {
                let bits = MEM_BITS as u64;
                let (kind, rights) = (CapKind::Untyped, CapRights::all());
                let g = Gift {
                    name: "mem".into(),
                    src: 0,
                    rights,
                    badge: 0,
                    kind,
                    letters: 7,
                    arg: bits,
                };
                gifts.insert(2, g);
                true
            }
        };
        for (i, g) in gifts.iter().enumerate() {
            env.cap_with_arg(&g.name, cslot::FIRST_NAMED + i as u64, g.kind, g.letters, g.arg);
        }
        let env = env.build();
        let env_pages = (env.len() as u64).div_ceil(PAGE);
        if env_pages > program_env::ENV_MAX_PAGES {
            return Err(format!(
                "its environment takes {env_pages} pages, more than {}",
                program_env::ENV_MAX_PAGES
            ));
        }

        // Its untyped: CNode, VSpace, TCB, pages and their tables.
        let pages = image.pages.len() as u64 + env_pages + 1;
        let tables = pages.div_ceil(512) + 4 + SPARE_TABLES;
        let cnode_bytes = 1u64 << (program_env::CNODE_BITS + 6);
        let need = cnode_bytes + (pages + tables + 2) * PAGE + (1 << MEM_BITS);
        let bits = log2_up(need + need / 4);
        let mut ut = match self.pool.untyped(&mut self.slots, bits) {
            Ok(ut) => ut,
            Err(e) => {
                self.free(None, &made, fab_slot.as_slice());
                return Err(e);
            }
        };
        let mut owned: Vec<u64> = fab_slot.into_iter().collect();
        let r = self.build(req, id, &image, data, &env, &gifts, own_mem, &mut ut, &mut owned);
        match r {
            Ok((tcb, vspace)) => {
                self.tasks.push(Task {
                    cmdline: req.cmdline.clone(),
                    state: TaskState::Running,
                    ut: Some(ut),
                    made,
                    slots: owned,
                    tcb,
                    vspace,
                    roms: Vec::new(),
                    log: match route {
                        LogRoute::Root(0) | LogRoute::Fab(_) => None,
                        LogRoute::Root(c) => Some(c),
                    },
                });
                Ok(id)
            }
            Err(e) => {
                self.free(Some(ut), &made, &owned);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        req: &StartRequest,
        id: u32,
        image: &elf::Image,
        data: &[u8],
        env: &[u8],
        gifts: &[Gift],
        own_mem: bool,
        ut: &mut Untyped,
        owned: &mut Vec<u64>,
    ) -> Result<(u64, u64), String> {
        let mut objs = TaskObjects { ut, pool: &mut self.pool, slots: &mut self.slots, owned };
        let cnode_s = objs.make(ObjectBlueprint::CNode { size_bits: program_env::CNODE_BITS })?;
        let mem =
            if own_mem { objs.make(ObjectBlueprint::Untyped { size_bits: MEM_BITS })? } else { 0 };
        let vspace_s = objs.make(ObjectBlueprint::VSpace)?;
        let vspace: cap::VSpace = cap_at(vspace_s);
        slot::ASID_POOL.cap().asid_pool_assign(vspace).map_err(|e| format!("no ASID: {e:?}"))?;
        let ro = CapRights::read_only();
        let xn = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;

        // The image, page by page.
        for (&v, &flags) in &image.pages {
            let f = objs.make(ObjectBlueprint::SmallPage)?;
            let code = elf::Image::executable(flags);
            space::fill(f, code, |p| image.fill_page(data, v, p))?;
            let rights = if elf::Image::writable(flags) { CapRights::read_write() } else { ro };
            let attrs = if code { VmAttributes::DEFAULT } else { xn };
            space::map(vspace, f, v, rights, attrs, &mut objs)?;
        }
        // The environment pages and the IPC buffer.
        for (i, chunk) in env.chunks(PAGE as usize).enumerate() {
            let f = objs.make(ObjectBlueprint::SmallPage)?;
            space::fill(f, false, |p| p[..chunk.len()].copy_from_slice(chunk))?;
            let v = program_env::ENV_VADDR + i as u64 * PAGE;
            space::map(vspace, f, v, ro, xn, &mut objs)?;
        }
        let ipc = objs.make(ObjectBlueprint::SmallPage)?;
        space::map(
            vspace,
            ipc,
            program_env::IPC_BUFFER_VADDR,
            CapRights::read_write(),
            xn,
            &mut objs,
        )?;
        let tcb_s = objs.make(ObjectBlueprint::Tcb)?;

        // Its CSpace.
        let cnode: cap::CNode = cap_at(cnode_s);
        let dst = |i: u64| cnode.absolute_cptr_from_bits_with_depth(i, program_env::CNODE_BITS);
        let fixed = [
            (cslot::TCB, tcb_s, CapRights::all(), 0),
            (cslot::CNODE, cnode_s, CapRights::all(), 0),
            (cslot::VSPACE, vspace_s, CapRights::all(), 0),
            (cslot::PARENT, self.ep, CALL_ONLY, badge::make(badge::PARENT, id)),
            (cslot::IPC_BUFFER, ipc, CapRights::all(), 0),
            (cslot::FAULT, self.ep, CALL_ONLY, badge::make(badge::FAULT, id)),
        ];
        let named = gifts.iter().enumerate().map(|(i, g)| {
            let src = if g.src == 0 { mem } else { g.src };
            (cslot::FIRST_NAMED + i as u64, src, g.rights, g.badge)
        });
        for (d, src, rights, b) in fixed.into_iter().chain(named) {
            let r = if b != 0 {
                dst(d).mint(&path(src), rights, b)
            } else {
                dst(d).copy(&path(src), rights)
            };
            r.map_err(|e| format!("giving slot {d} its cap: {e:?}"))?;
        }

        // The thread.
        let tcb: cap::Tcb = cap_at(tcb_s);
        tcb.tcb_configure(
            sel4::CPtr::from_bits(cslot::FAULT),
            cnode,
            CNodeCapData::skip(64 - program_env::CNODE_BITS),
            vspace,
            program_env::IPC_BUFFER_VADDR,
            cap_at(ipc),
        )
        .map_err(|e| format!("configuring its thread: {e:?}"))?;
        // The program may run threads of its own up to its priority.
        tcb.tcb_set_mc_priority(slot::TCB.cap(), req.prio as u64)
            .map_err(|e| format!("setting maximum priority {}: {e:?}", req.prio))?;
        tcb.tcb_set_priority(slot::TCB.cap(), req.prio as u64)
            .map_err(|e| format!("setting priority {}: {e:?}", req.prio))?;
        let mut regs = UserContext::default();
        *regs.pc_mut() = image.entry;
        *regs.gpr_mut(0) = program_env::ENV_VADDR;
        *regs.gpr_mut(1) = program_env::IPC_BUFFER_VADDR;
        tcb.tcb_write_all_registers(true, &regs)
            .map_err(|e| format!("starting its thread: {e:?}"))?;
        Ok((tcb_s, vspace_s))
    }

    /// Asks the server of the log factory channel `fab` (cons) for a
    /// channel tagged `tag` in `colour`; returns the root slot holding it.
    fn log_from_fab(&mut self, fab: &Cap, tag: &str, colour: &str) -> Result<u64, String> {
        use program_env::log;
        let Obj::Channel { id: ch, .. } = fab.obj else {
            return Err("log_fab must be a channel (new_channel())".into());
        };
        let ep: cap::Endpoint = cap_at(*self.channels.get(ch as usize).ok_or("no such channel")?);
        let dst = self.slots.take()?;
        let code: u64 = log::colour_code(colour).and_then(|c| c.parse().ok()).unwrap_or(0);
        sel4::with_ipc_buffer_mut(|b| {
            b.set_recv_slot(&path(dst));
            let mr = b.msg_regs_mut();
            mr[0] = tag.len() as u64;
            program_env::pack_bytes(tag.as_bytes(), &mut mr[1..2]);
            mr[2] = code;
        });
        let r = ep.call(MessageInfo::new(log::CREATE, 0, 0, 3));
        if r.label() != 0 || r.extra_caps() != 1 {
            let _ = path(dst).delete();
            self.slots.give_back(dst);
            return Err(format!(
                "the log_fab server refused a log channel for `{tag}` (label {}, {} caps)",
                r.label(),
                r.extra_caps()
            ));
        }
        Ok(dst)
    }

    /// Deletes a task's objects and returns its untyped(s) and slots.
    fn free(&mut self, ut: Option<Untyped>, made: &[Untyped], owned: &[u64]) {
        for &ut in ut.iter().chain(made) {
            // Destroys every object made from it, wherever its caps are.
            if path(ut.slot).revoke().is_ok() {
                self.pool.give_back(ut);
            }
        }
        for &s in owned {
            let _ = path(s).delete();
            self.slots.give_back(s);
        }
    }

    /// Ends task `id` with `state`: stops its thread, frees what it was
    /// given, flushes its log.
    pub fn finish(&mut self, id: u32, state: TaskState) {
        let Some(t) = self.tasks.get_mut(id as usize) else { return };
        if t.state != TaskState::Running {
            return;
        }
        t.state = state;
        let _ = cap_at::<sel4::cap_type::Tcb>(t.tcb).tcb_suspend();
        let (ut, owned, log) = (t.ut.take(), core::mem::take(&mut t.slots), t.log);
        let made = core::mem::take(&mut t.made);
        self.free(ut, &made, &owned);
        if let Some(l) = log {
            self.flush_log(l);
        }
    }

    /// Maps module `m` read-only into task `id`; returns where.
    pub fn map_rom(&mut self, id: u32, m: usize) -> Result<u64, u64> {
        use program_env::rom;
        let t = self.tasks.get_mut(id as usize).ok_or(rom::BAD_REQUEST)?;
        if t.state != TaskState::Running {
            return Err(rom::BAD_REQUEST);
        }
        if let Some(&(_, v)) = t.roms.iter().find(|(i, _)| *i == m) {
            return Ok(v);
        }
        let module = &self.modules[m];
        let base = program_env::ROM_VADDR_BASE + module.vaddr;
        let vspace: cap::VSpace = cap_at(t.vspace);
        let Some(ut) = t.ut.as_mut() else { return Err(rom::BAD_REQUEST) };
        let mut objs =
            TaskObjects { ut, pool: &mut self.pool, slots: &mut self.slots, owned: &mut t.slots };
        let mut v = module.vaddr;
        let end = module.vaddr + (module.data.len() as u64).next_multiple_of(PAGE);
        let name = &module.name;
        let no_room = |e: String| {
            crate::say(&format!("mapping rom/{name} for a program: {e}"));
            rom::NO_ROOM
        };
        for f in module.frames.clone() {
            // The kernel's rule: 2 MiB frames where aligned and whole.
            let size = if v.is_multiple_of(2 << 20) && end - v >= 2 << 20 { 2 << 20 } else { PAGE };
            let s = objs.slots.take().map_err(no_room)?;
            objs.owned.push(s);
            path(s)
                .copy(&path(f), CapRights::read_only())
                .map_err(|e| no_room(format!("copying a frame cap: {e:?}")))?;
            let at = program_env::ROM_VADDR_BASE + v;
            let xn = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
            space::map(vspace, s, at, CapRights::read_only(), xn, &mut objs).map_err(no_room)?;
            v += size;
        }
        t.roms.push((m, base));
        Ok(base)
    }
}

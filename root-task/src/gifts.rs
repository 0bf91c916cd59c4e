//! Turning a script's named caps into caps for a program's CSpace: which
//! root slot each comes from, with which rights and badge, and what its
//! environment-page entry says.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ned::{Cap, Obj, RIGHT_GRANT, RIGHT_READ, RIGHT_SEND};
use program_env::CapKind;
use sel4::init_thread::slot;
use sel4::{CapRights, cap};

use crate::mem::{Untyped, cap_at, path};
use crate::root::{Root, badge};

/// Rights of a cap to the root's endpoint: send, with replies.
pub const CALL_ONLY: CapRights = CapRights::new(true, false, false, true);

/// One cap for a program.
pub struct Gift {
    pub name: String,
    /// Root slot of the cap to copy (or mint, with a badge).
    pub src: u64,
    pub rights: CapRights,
    pub badge: u64,
    pub kind: CapKind,
    /// Rights letters for the environment page.
    pub letters: u32,
    pub arg: u64,
}

/// seL4 rights for a script's rights letters on a channel end.
fn channel_rights(c: &Cap) -> CapRights {
    let r = c.rights;
    let send = r & RIGHT_SEND != 0;
    CapRights::new(send, r & RIGHT_GRANT != 0, r & RIGHT_READ != 0, send)
}

/// How a task's `log` is served.
#[derive(Clone, Copy)]
pub enum LogRoute {
    /// A channel from the log factory's server, in this root slot.
    Fab(u64),
    /// The root task's log channel with this number.
    Root(u32),
}

impl Root {
    /// The gifts for named cap `name` = `c` of task `id`; RAM untypeds made
    /// for it go to `made` (freed with the task).
    pub fn gifts_for(
        &mut self,
        id: u32,
        name: &str,
        c: &Cap,
        log: LogRoute,
        made: &mut Vec<Untyped>,
        out: &mut Vec<Gift>,
    ) -> Result<(), String> {
        let gift = |src, rights, badge, arg| Gift {
            name: name.into(),
            src,
            rights,
            badge,
            kind: c.kind(),
            letters: c.rights,
            arg,
        };
        let g = match &c.obj {
            Obj::Channel { id: ch, .. } => {
                let s = *self.channels.get(*ch as usize).ok_or("no such channel")?;
                gift(s, channel_rights(c), 0, 0)
            }
            Obj::Env { name: n, .. } if n == "log" => match (name, log) {
                ("log", LogRoute::Fab(s)) => gift(s, CALL_ONLY, 0, 0),
                ("log", LogRoute::Root(chan)) => {
                    gift(self.ep, CALL_ONLY, badge::make(badge::LOG, chan), 0)
                }
                _ => gift(self.ep, CALL_ONLY, badge::make(badge::LOG, 0), 0),
            },
            Obj::Env { name: n, .. } if n == "rom" => {
                gift(self.ep, CALL_ONLY, badge::make(badge::ROM, id), 0)
            }
            Obj::Env { name: n, .. } if n == "icu" => {
                // seL4 does not copy IRQControl (its derived copy is null).
                return Err(format!(
                    "caps.{name}: L4.Env.icu cannot be given to a program, IRQ control stays \
                     with the root task; give each IRQ as L4.Env.irq(n)"
                ));
            }
            Obj::Env { name: n, .. } if n == "sigma0" => {
                // Every device untyped, as `<name>/<address in hex>`, but
                // those another program already made objects from (a copy
                // of an untyped with children is refused).
                let probe = self.slots.take()?;
                let devices = self.devices.clone();
                for &(s, paddr, bits) in &devices {
                    if path(probe).copy(&path(s), CapRights::all()).is_err() {
                        continue;
                    }
                    let _ = path(probe).delete();
                    out.push(Gift {
                        name: format!("{name}/{paddr:x}"),
                        src: s,
                        rights: CapRights::all(),
                        badge: 0,
                        kind: CapKind::Untyped,
                        letters: c.rights,
                        arg: paddr | bits as u64,
                    });
                }
                self.slots.give_back(probe);
                return Ok(());
            }
            Obj::Env { name: n, .. } if n == "asid_pool" => {
                // The root task's ASID pool: the holder can give its own
                // VSpaces (a VMM's guest address space) an ASID.
                gift(slot::ASID_POOL.cptr().bits(), CapRights::all(), 0, 0)
            }
            Obj::Env { name: n, .. } => return Err(format!("L4.Env.{n} is not known")),
            Obj::Mmio { addr, size } if self.vgic_cpu.first().is_some_and(|&(_, p)| p == *addr) => {
                // Shared frames, as `<name>/<page number>`.
                let n = (size.div_ceil(4096) as usize).min(self.vgic_cpu.len());
                for (i, &(s, paddr)) in self.vgic_cpu[..n].iter().enumerate() {
                    out.push(Gift {
                        name: format!("{name}/{i}"),
                        src: s,
                        rights: CapRights::read_write(),
                        badge: 0,
                        kind: CapKind::Frame,
                        letters: c.rights,
                        arg: paddr,
                    });
                }
                return Ok(());
            }
            Obj::Mmio { addr, size } => {
                let found = self.devices.iter().find(|d| d.1 == *addr && 1u64 << d.2 == *size);
                let Some(&(s, paddr, bits)) = found else {
                    return Err(self.no_mmio(*addr, *size));
                };
                gift(s, CapRights::all(), 0, paddr | bits as u64)
            }
            Obj::Irq { irq } => {
                let s = self.irq_handler(*irq)?;
                gift(s, CapRights::all(), 0, *irq as u64)
            }
            Obj::Ram { bytes } => {
                let bits = (64 - (bytes - 1).leading_zeros() as usize).max(12);
                let ut = self.pool.untyped(&mut self.slots, bits)?;
                made.push(ut);
                gift(ut.slot, CapRights::all(), 0, bits as u64)
            }
        };
        out.push(g);
        Ok(())
    }

    /// Why `L4.Env.mmio(addr, size)` names no device untyped.
    fn no_mmio(&self, addr: u64, size: u64) -> String {
        let near: Vec<String> = self
            .devices
            .iter()
            .filter(|d| d.1 < addr + size && addr < d.1 + (1 << d.2))
            .map(|d| format!("{:#x}+{:#x}", d.1, 1u64 << d.2))
            .collect();
        if near.is_empty() {
            format!("L4.Env.mmio({addr:#x}, {size:#x}): no device memory there")
        } else {
            format!(
                "L4.Env.mmio({addr:#x}, {size:#x}): not one device region; the device \
                 untypeds there are {}",
                near.join(", ")
            )
        }
    }

    /// The root slot of the handler of `irq`, made on first use.
    fn irq_handler(&mut self, irq: u32) -> Result<u64, String> {
        if let Some(&(_, s)) = self.irqs.iter().find(|(i, _)| *i == irq) {
            return Ok(s);
        }
        let s = self.slots.take()?;
        let ctl: cap::IrqControl = cap_at(slot::IRQ_CONTROL.cptr().bits());
        if let Err(e) = ctl.irq_control_get(irq as u64, &path(s)) {
            self.slots.give_back(s);
            return Err(format!("L4.Env.irq({irq}): the kernel refused it ({e:?})"));
        }
        self.irqs.push((irq, s));
        Ok(s)
    }
}

//! Taking hold of the hardware the configuration describes: a frame cap
//! for every page of every MMIO resource, retyped from the device untypeds
//! io was given (`io_config::devmem` plans which), and an IRQ handler cap
//! for every IRQ resource: one io was given (`L4.Env.irq(n)`, found by its
//! number), else one io makes with IRQ control (`icu`). What io was not
//! given is refused, by device, resource and range.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use io_config::devmem::{self, Need, Step, Untyped};
use io_config::{Config, Diagnostic, Pos, ResKind};
use sel4::{ObjectBlueprint, cap};

use crate::caps::{Slots, at, cap_at, own_cnode};

/// Most objects one retype makes (the kernel's fan-out limit).
const FAN_OUT: u64 = 256;

/// A device untyped io holds: its slot and what it covers.
#[derive(Clone, Copy)]
pub struct DeviceMem {
    pub slot: u64,
    pub ut: Untyped,
}

/// An IRQ io holds a handler for.
pub struct Irq {
    pub num: u64,
    /// Slot of the handler cap.
    pub handler: u64,
    pub edge: bool,
    /// io made the handler with IRQ control (so it may make it again with
    /// another trigger); else it was given.
    pub own: bool,
    /// The vbus it is bound through, and the slot of the client's
    /// notification.
    pub bound: Option<(usize, u64)>,
    pub masked: bool,
    /// A notification the line signals while masked: (its slot, the slot of
    /// the badged cap the handler signals).
    pub sink: Option<(u64, u64)>,
}

/// The hardware io holds.
pub struct Hardware {
    /// Frame slot of every MMIO page, by physical address.
    pub frames: BTreeMap<u64, u64>,
    pub irqs: Vec<Irq>,
}

/// Frames and IRQ handlers for everything `cfg` describes; every
/// resource io cannot have is an error message.
pub fn acquire(
    cfg: &Config,
    mem: &[DeviceMem],
    handlers: &[(u64, u64)],
    icu: Option<cap::IrqControl>,
    slots: &mut Slots,
) -> Result<Hardware, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut hw = Hardware { frames: BTreeMap::new(), irqs: Vec::new() };
    let needs: Vec<(Need, Pos)> = cfg
        .all_resources()
        .filter(|(_, r)| r.kind == ResKind::Mmio)
        .map(|(d, r)| {
            let what = format!("`{}` Resource.{}", cfg.path(d), r.name);
            (Need { start: r.start, end: r.end, what }, r.pos.clone())
        })
        .collect();
    let uts: Vec<Untyped> = mem.iter().map(|m| m.ut).collect();
    // Each range on its own first, so one missing range hides no other.
    for (n, pos) in &needs {
        if let Err(e) = devmem::plan(&uts, core::slice::from_ref(n)) {
            errors.push(Diagnostic::error(pos.clone(), e));
        }
    }
    if errors.is_empty() {
        let all: Vec<Need> = needs.iter().map(|n| n.0.clone()).collect();
        let steps = devmem::plan(&uts, &all).unwrap_or_default();
        for step in steps {
            if let Err(e) = retype(step, mem, slots, &mut hw) {
                errors.push(Diagnostic::error(Pos { file: "io".into(), line: 0, col: 0 }, e));
                break;
            }
        }
    }
    for (d, r) in cfg.all_resources().filter(|(_, r)| r.kind == ResKind::Irq) {
        let what = format!("`{}` Resource.{} (IRQ {})", cfg.path(d), r.name, r.start);
        let error = |m: String| Diagnostic::error(r.pos.clone(), m);
        let Some(edge) = r.trigger().on_gic() else {
            errors.push(error(format!(
                "{what}: the GIC cannot take a line {}; its shared interrupts are level-high \
                 or rising-edge",
                r.trigger().text()
            )));
            continue;
        };
        if let Some(&(_, handler)) = handlers.iter().find(|h| h.0 == r.start) {
            // The root task makes handlers level-triggered.
            if edge {
                errors.push(error(format!(
                    "{what}: the handler io was given is level-triggered, the description \
                     says {}; io needs `icu` (IRQ control) to make an edge-triggered one",
                    r.trigger().text()
                )));
                continue;
            }
            let own = false;
            hw.irqs.push(Irq {
                num: r.start,
                handler,
                edge,
                own,
                bound: None,
                masked: false,
                sink: None,
            });
            continue;
        }
        let Some(icu) = icu else {
            errors.push(error(format!(
                "{what}: io was given neither its handler nor IRQ control; give io \
                 `L4.Env.irq({})` (under any name)",
                r.start
            )));
            continue;
        };
        let got = slots.take().map_err(|e| format!("{what}: {e}")).and_then(|s| {
            icu.irq_control_get_trigger(r.start, edge, &at(s)).map(|()| s).map_err(|e| {
                slots.give_back(s);
                format!(
                    "{what}: the kernel refused io a handler ({e:?}): the GIC has no such \
                     line, or another program holds it (L4.Env.irq)"
                )
            })
        });
        match got {
            Ok(handler) => hw.irqs.push(Irq {
                num: r.start,
                handler,
                edge,
                own: true,
                bound: None,
                masked: false,
                sink: None,
            }),
            Err(e) => errors.push(error(e)),
        }
    }
    if errors.is_empty() { Ok(hw) } else { Err(errors) }
}

fn retype(
    step: Step,
    mem: &[DeviceMem],
    slots: &mut Slots,
    hw: &mut Hardware,
) -> Result<(), String> {
    let me = own_cnode().absolute_cptr_for_self();
    match step {
        Step::Skip { ut, bits } => {
            let s = slots.take()?;
            let u: cap::Untyped = cap_at(mem[ut].slot);
            let bp = ObjectBlueprint::Untyped { size_bits: bits as usize };
            u.untyped_retype(&bp, &me, s as usize, 1)
                .map_err(|e| format!("retyping device memory at {:#x}: {e:?}", mem[ut].ut.paddr))
        }
        Step::Frames { ut, paddr, count } => {
            let u: cap::Untyped = cap_at(mem[ut].slot);
            let mut done = 0;
            while done < count {
                let n = (count - done).min(FAN_OUT);
                let first = slots.run(n).map_err(|e| {
                    format!("frames for {:#x}-{:#x}: {e}", paddr, paddr + count * devmem::PAGE - 1)
                })?;
                u.untyped_retype(&ObjectBlueprint::SmallPage, &me, first as usize, n as usize)
                    .map_err(|e| format!("retyping frames at {paddr:#x}: {e:?}"))?;
                for i in 0..n {
                    hw.frames.insert(paddr + (done + i) * devmem::PAGE, first + i);
                }
                done += n;
            }
            Ok(())
        }
    }
}

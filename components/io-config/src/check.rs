//! The checks that need more than one call's arguments: resources that
//! collide, a device on two vbusses, buses and channels that do not pair
//! up. Each finding is a diagnostic at the place in the script it is about.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ned::{Diagnostic, Pos};

use crate::model::{Config, Proxy, ResKind, Resource};

/// Checks resource `r`, about to be added to device `dev`, against every
/// resource already described: MMIO ranges may not overlap, an IRQ line
/// belongs to one device.
pub(crate) fn resource(cfg: &Config, dev: usize, r: &Resource, out: &mut Vec<Diagnostic>) {
    for (d, other) in cfg.all_resources() {
        if !r.overlaps(other) {
            continue;
        }
        let owner = if d == dev {
            format!("{}'s own Resource.{}", cfg.path(d), other.name)
        } else {
            format!("`{}` (Resource.{})", cfg.path(d), other.name)
        };
        let msg = match r.kind {
            ResKind::Mmio => format!(
                "MMIO [{:#x}-{:#x}] of `{}` (Resource.{}) overlaps [{:#x}-{:#x}] of {owner}, \
                 described at {}",
                r.start,
                r.end,
                cfg.path(dev),
                r.name,
                other.start,
                other.end,
                other.pos
            ),
            ResKind::Irq => format!(
                "IRQ {} of `{}` (Resource.{}) is already IRQ {} of {owner}, described at {}; \
                 one line, one device",
                r.start,
                cfg.path(dev),
                r.name,
                other.start,
                other.pos
            ),
        };
        out.push(Diagnostic::error(r.pos.clone(), msg));
        return;
    }
}

/// Hardware device `hw` placed on vbus `bus` (named `name`) at `pos`: a
/// warning when another vbus has it already and its description does not
/// allow that (L4Re's `Io.Hw_device_DF_multi_vbus`).
pub(crate) fn placement(
    cfg: &Config,
    bus: usize,
    name: &str,
    hw: usize,
    pos: &Pos,
    out: &mut Vec<Diagnostic>,
) {
    if cfg.devices[hw].multi_vbus {
        return;
    }
    for (b, p) in cfg.clients(hw) {
        if b == bus {
            continue;
        }
        let other = &cfg.buses[b];
        let msg = format!(
            "device `{}` is placed on vbus `{name}` and on vbus `{}` (as {}, at {}); both \
             clients will drive it. If that is meant, set `this.Property.flags = \
             Io.Hw_device_DF_multi_vbus` in its description ({})",
            cfg.path(hw),
            other.name,
            other.devices[p].name,
            other.devices[p].pos,
            cfg.devices[hw].pos
        );
        out.push(Diagnostic::warning(pos.clone(), msg));
        return;
    }
}

/// A hardware device wrapped twice on one vbus.
pub(crate) fn twice_on_bus(cfg: &Config, bus: &str, devices: &[Proxy]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, p) in devices.iter().enumerate() {
        if let Some(q) = devices[..i].iter().find(|q| q.hw == p.hw) {
            let msg = format!(
                "device `{}` is on vbus `{bus}` twice, as {} and as {}",
                cfg.path(p.hw),
                q.name,
                p.name
            );
            out.push(Diagnostic::error(p.pos.clone(), msg));
        }
    }
    out
}

/// Pairs the vbusses the files define with the channels io was given
/// (`channels`, by cap name): each needs the other. `files` are the files
/// loaded, for the message.
pub fn channels(cfg: &Config, channels: &[&str], files: &[&str]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for b in &cfg.buses {
        if !channels.contains(&b.name.as_str()) {
            let msg = format!(
                "vbus `{}` has no channel: io was given no cap named `{}` (start_io gives io \
                 one per key of its busses table; io has {})",
                b.name,
                b.name,
                list(channels)
            );
            out.push(Diagnostic::error(b.pos.clone(), msg));
        }
    }
    for c in channels {
        if cfg.bus(c).is_none() {
            let msg = format!(
                "io was given the channel `{c}`, but no file defines vbus `{c}`: rom/{c}.vbus \
                 is missing from the command line or does not say Io.add_vbusses(#{{ {c}: ... }}) \
                 (files loaded: {})",
                list(files)
            );
            out.push(Diagnostic::error(Pos { file: "io".into(), line: 0, col: 0 }, msg));
        }
    }
    out
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

//! The verbose dump, in the layout of L4Re io's: each vbus with its
//! devices and their resources, then the real hardware with each device's
//! clients. The bracketed words are the kinds of L4Re's classes
//! (`Virtual_sbus`, `Sw_icu`, `Proxy_dev`).
//!
//! ```text
//! vm_hw: [Virtual_sbus]
//!   Resources: ==== start ====
//!   Resources: ===== end =====
//!   L4ICU: [Sw_icu]
//!     ...
//!   PL031: [Proxy_dev]
//!     Resources: ==== start ====
//!       IRQ    [00000000000022-00000000000022 1] level high (32bit) (align=0 flags=300001)
//!       IOMEM  [00000009010000-00000009010fff 1000] non-pref (32bit) (align=fff flags=2)
//!     Resources: ===== end =====
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::model::{Config, ICU_NAME, Prop, ResKind, Resource, flags};

/// One resource as L4Re prints it: type, range, size, mode, width,
/// alignment, flags.
pub fn resource_line(r: &Resource) -> String {
    let (ty, mode, align) = match r.kind {
        ResKind::Irq => ("IRQ", r.trigger().text(), 0),
        ResKind::Mmio => {
            let pref = if r.flags & flags::F_PREFETCHABLE != 0 { "pref" } else { "non-pref" };
            ("IOMEM", pref, r.size() - 1)
        }
    };
    let bits = if r.flags & flags::F_WIDTH_64BIT != 0 { 64 } else { 32 };
    let ro = if r.read_only() { " ro" } else { "" };
    format!(
        "{ty:<6} [{:014x}-{:014x} {:x}] {mode}{ro} ({bits}bit) (align={align:x} flags={:x})",
        r.start,
        r.end,
        r.size(),
        r.flags
    )
}

fn resources(out: &mut String, indent: usize, list: &[Resource]) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}Resources: ==== start ====");
    for r in list {
        let _ = writeln!(out, "{pad}  {}", resource_line(r));
    }
    let _ = writeln!(out, "{pad}Resources: ===== end =====");
}

/// The lines io prints as it puts a device's IRQs on vbus `bus`.
pub fn irq_adds(cfg: &Config, bus: usize) -> Vec<String> {
    cfg.buses[bus]
        .devices
        .iter()
        .flat_map(|p| &cfg.devices[p.hw].resources)
        .filter(|r| r.kind == ResKind::Irq)
        .map(|r| format!("Add IRQ resources to vbus: {}", resource_line(r)))
        .collect()
}

/// Vbus `bus` with its devices.
pub fn vbus(cfg: &Config, bus: usize) -> String {
    let b = &cfg.buses[bus];
    let mut out = format!("{}: [Virtual_sbus]\n", b.name);
    resources(&mut out, 2, &[]);
    let _ = writeln!(out, "  {ICU_NAME}: [Sw_icu]");
    resources(&mut out, 4, &[]);
    for p in &b.devices {
        let _ = writeln!(out, "  {}: [Proxy_dev]", p.name);
        resources(&mut out, 4, &cfg.devices[p.hw].resources);
    }
    out
}

/// The hardware tree with each device's clients.
pub fn hardware(cfg: &Config) -> String {
    let mut out = String::from("Real Hardware -----------------------------------\n");
    device(cfg, 0, 0, &mut out);
    out
}

fn prop_text(p: &Prop) -> String {
    match p {
        Prop::Int(i) => format!("{i:#x}"),
        Prop::Str(s) => format!("\"{s}\""),
        Prop::List(l) => {
            let items: Vec<String> = l.iter().map(|s| format!("\"{s}\"")).collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

fn device(cfg: &Config, id: usize, indent: usize, out: &mut String) {
    let d = &cfg.devices[id];
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{}: hid={}", d.name, d.hid);
    if !d.compatible.is_empty() {
        let _ =
            writeln!(out, "{pad}  compatible= {}", prop_text(&Prop::List(d.compatible.clone())));
    }
    for (k, v) in &d.props {
        let _ = writeln!(out, "{pad}  {k}= {}", prop_text(v));
    }
    if id != 0 {
        let _ = writeln!(out, "{pad}  Clients: ===== start ====");
        for (b, p) in cfg.clients(id) {
            let bus = &cfg.buses[b];
            let _ =
                writeln!(out, "{pad}    {}: [Proxy_dev] on vbus {}", bus.devices[p].name, bus.name);
        }
        let _ = writeln!(out, "{pad}  Clients: ===== end ====");
    }
    resources(out, indent + 2, &d.resources);
    for &c in &d.children {
        device(cfg, c, indent + 2, out);
    }
}

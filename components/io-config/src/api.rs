//! The script-facing names, L4Re io's Lua API written the Rhai way:
//!
//! ```text
//!  Io.system_bus()                  the system bus (a device)
//!  Io.system_bus().rtc              its device `rtc` (an error if none)
//!  Io.Dt.add_children(bus, f)       f's `this.NAME = Io.Hw.Device(...)` become children
//!  Io.Hw.Device(f)                  f sets this.compatible, this.hid, this.Resource.*,
//!                                   this.Property.*, children and other properties
//!  Io.Res.mmio(start, end[, flags]) an MMIO range, whole pages
//!  Io.Res.irq(n[, type])            a GIC interrupt (Io.Resource.Irq_type_*)
//!  Io.Resource.NAME                 Irq_type_* and F_* constants
//!  Io.Hw_device_DF_multi_vbus       for Property.flags: may sit on several vbusses
//!  Io.Vi.System_bus(f)              a vbus; f's `this.NAME = wrap(dev)` are its devices
//!  wrap(dev)                        a system-bus device placed on a vbus
//!  Io.add_vbusses(#{ name: bus })   declares vbusses
//! ```
//!
//! Lua runs a device body with its globals collected into the device;
//! Rhai has no such globals, so a body is a closure run with `this` bound
//! to the device's table (`#{ Resource: #{}, Property: #{} }`) and writes
//! `this.Resource.reg0 = ...` where Lua writes `Resource.reg0 = ...`. A body
//! may also return a map, which is merged into `this`. Tables have no
//! order, in Lua as in Rhai: devices and resources come out in name order.
//!
//! Checks that need the whole picture (overlaps, duplicate IRQs, devices
//! on two vbusses) are collected as diagnostics and do not stop the
//! script; a call with wrong arguments stops it at that call.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use ned::{Diagnostic, Pos};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

use crate::check;
use crate::model::{Config, Device, Prop, Proxy, ResKind, Resource, Trigger, Vbus, flags};

/// What the scripts build, shared by their values.
pub(crate) struct Builder {
    pub cfg: Config,
    pub diags: Vec<Diagnostic>,
    /// The file being run (a position without a source is in it).
    pub file: String,
}

pub(crate) type Shared = Rc<RefCell<Builder>>;

type R<T> = Result<T, Box<EvalAltResult>>;

/// The `Io` global.
#[derive(Clone)]
pub(crate) struct Io(pub Shared);

/// `Io.Res`.
#[derive(Clone)]
struct ResNs;

/// `Io.Hw`.
#[derive(Clone)]
struct HwNs;

/// `Io.Dt`.
#[derive(Clone)]
struct DtNs(Shared);

/// `Io.Vi`.
#[derive(Clone)]
struct ViNs;

/// `Io.Resource`.
#[derive(Clone)]
struct ResConsts;

/// A device description not yet attached (what `Io.Hw.Device` returns).
#[derive(Clone)]
pub(crate) struct HwDesc {
    pub pos: Pos,
    pub hid: String,
    pub compatible: Vec<String>,
    pub props: Vec<(String, Prop)>,
    pub resources: Vec<Resource>,
    pub children: Vec<(String, HwDesc)>,
    pub multi_vbus: bool,
}

/// A device of the hardware tree (what `Io.system_bus()` and its
/// properties return).
#[derive(Clone)]
struct DevRef {
    shared: Shared,
    id: usize,
}

/// What `wrap` returns.
#[derive(Clone)]
struct ProxyDesc {
    hw: usize,
    pos: Pos,
}

/// What `Io.Vi.System_bus` returns.
#[derive(Clone)]
struct BusDesc {
    devices: Vec<(String, ProxyDesc)>,
    pos: Pos,
}

const PAGE: u64 = 4096;

/// Constants of `Io.Resource` besides the trigger modes.
const FLAG_NAMES: [(&str, u64); 4] = [
    ("F_prefetchable", flags::F_PREFETCHABLE),
    ("F_cached_mem", flags::F_CACHED_MEM),
    ("F_width_64bit", flags::F_WIDTH_64BIT),
    ("F_read_only", flags::F_READ_ONLY),
];

fn err<T>(ctx: &NativeCallContext, msg: impl Into<String>) -> R<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(msg.into().into(), ctx.call_position())))
}

fn pos_of(ctx: &NativeCallContext, shared: &Shared) -> Pos {
    let p = ctx.call_position();
    let file = match ctx.call_source() {
        Some(s) => s.into(),
        None => shared.borrow().file.clone(),
    };
    Pos { file, line: p.line().unwrap_or(0), col: p.position().unwrap_or(0) }
}

/// Runs a body closure with `this` bound to `init`; returns the table,
/// with a returned map merged in.
fn run_body(ctx: &NativeCallContext, what: &str, f: &FnPtr, init: Map) -> R<Map> {
    let mut this = Dynamic::from_map(init);
    let ret = f.call_raw(ctx, Some(&mut this), [])?;
    let mut table = this.try_cast::<Map>().unwrap_or_default();
    if let Some(m) = ret.clone().try_cast::<Map>() {
        table.extend(m);
    } else if !ret.is_unit() {
        return err(
            ctx,
            format!(
                "{what}: the function ends with {}; it sets fields of `this` (or returns a map)",
                kind(&ret)
            ),
        );
    }
    Ok(table)
}

pub(crate) fn register(engine: &mut Engine, shared: &Shared) {
    engine.register_type_with_name::<Io>("Io");
    engine.register_type_with_name::<ResNs>("Io.Res");
    engine.register_type_with_name::<HwNs>("Io.Hw");
    engine.register_type_with_name::<DtNs>("Io.Dt");
    engine.register_type_with_name::<ViNs>("Io.Vi");
    engine.register_type_with_name::<ResConsts>("Io.Resource");
    engine.register_type_with_name::<Resource>("Resource");
    engine.register_type_with_name::<HwDesc>("Device");
    engine.register_type_with_name::<DevRef>("Device");
    engine.register_type_with_name::<ProxyDesc>("Proxy");
    engine.register_type_with_name::<BusDesc>("Vbus");

    engine.register_get("Res", |_: &mut Io| ResNs);
    engine.register_get("Hw", |_: &mut Io| HwNs);
    engine.register_get("Dt", |io: &mut Io| DtNs(io.0.clone()));
    engine.register_get("Vi", |_: &mut Io| ViNs);
    engine.register_get("Resource", |_: &mut Io| ResConsts);
    engine.register_get("Hw_device_DF_multi_vbus", |_: &mut Io| flags::DF_MULTI_VBUS);
    engine.register_fn("system_bus", |io: &mut Io| DevRef { shared: io.0.clone(), id: 0 });
    engine.register_fn("add_vbusses", add_vbusses);

    engine.register_indexer_get(|ctx: NativeCallContext, _: &mut ResConsts, name: &str| {
        let mode = Trigger::ALL.iter().find(|t| t.1 == name).map(|t| t.0 as u64);
        match mode.map(|m| m * flags::IRQ_TYPE_BASE) {
            Some(v) => Ok(v as i64),
            None => match FLAG_NAMES.iter().find(|f| f.0 == name) {
                Some(f) => Ok(f.1 as i64),
                None => {
                    let names: Vec<&str> =
                        Trigger::ALL.iter().map(|t| t.1).chain(FLAG_NAMES.map(|f| f.0)).collect();
                    err(&ctx, format!("Io.Resource has no `{name}` (it has {})", names.join(", ")))
                }
            },
        }
    });

    let s = shared.clone();
    engine.register_fn("mmio", move |ctx: NativeCallContext, _: &mut ResNs, a: i64, b: i64| {
        mmio(&ctx, &s, a, b, 0)
    });
    let s = shared.clone();
    engine.register_fn(
        "mmio",
        move |ctx: NativeCallContext, _: &mut ResNs, a: i64, b: i64, f: i64| {
            mmio(&ctx, &s, a, b, f)
        },
    );
    let s = shared.clone();
    engine.register_fn("irq", move |ctx: NativeCallContext, _: &mut ResNs, n: i64| {
        irq(&ctx, &s, n, Trigger::None as i64 * flags::IRQ_TYPE_BASE as i64)
    });
    let s = shared.clone();
    engine.register_fn("irq", move |ctx: NativeCallContext, _: &mut ResNs, n: i64, t: i64| {
        irq(&ctx, &s, n, t)
    });

    let s = shared.clone();
    engine.register_fn("Device", move |ctx: NativeCallContext, _: &mut HwNs, f: FnPtr| {
        device(&ctx, &s, &f)
    });

    engine.register_fn("add_children", |ctx: NativeCallContext, dt: &mut DtNs, bus, f| {
        add_children(&ctx, &dt.0, bus, f)
    });
    let s = shared.clone();
    engine.register_fn("add_children", move |ctx: NativeCallContext, bus: Dynamic, f: FnPtr| {
        add_children(&ctx, &s, bus, f)
    });
    // `local add_children = Io.Dt.add_children`: the global function.
    engine.register_get("add_children", |_: &mut DtNs| {
        FnPtr::new("add_children").map_or(Dynamic::UNIT, Dynamic::from)
    });

    engine.register_indexer_get(
        |ctx: NativeCallContext, d: &mut DevRef, name: &str| -> R<DevRef> {
            let b = d.shared.borrow();
            let dev = &b.cfg.devices[d.id];
            match dev.children.iter().find(|&&c| b.cfg.devices[c].name == name) {
                Some(&c) => Ok(DevRef { shared: d.shared.clone(), id: c }),
                None => {
                    let names: Vec<&str> =
                        dev.children.iter().map(|&c| b.cfg.devices[c].name.as_str()).collect();
                    let what = if d.id == 0 {
                        "the system bus".to_string()
                    } else {
                        format!("device `{}`", b.cfg.path(d.id))
                    };
                    let has = if names.is_empty() {
                        "it has none; is io.cfg loaded first?".to_string()
                    } else {
                        format!("it has {}", names.join(", "))
                    };
                    err(&ctx, format!("{what} has no device `{name}` ({has})"))
                }
            }
        },
    );
    engine.register_fn("to_string", |d: &mut DevRef| {
        let b = d.shared.borrow();
        if d.id == 0 { "System Bus".into() } else { format!("device {}", b.cfg.path(d.id)) }
    });

    let s = shared.clone();
    engine.register_fn("wrap", move |ctx: NativeCallContext, v: Dynamic| -> R<ProxyDesc> {
        match v.try_cast::<DevRef>() {
            Some(d) if d.id != 0 => Ok(ProxyDesc { hw: d.id, pos: pos_of(&ctx, &s) }),
            Some(_) => err(&ctx, "wrap: the system bus itself cannot be placed on a vbus"),
            None => err(
                &ctx,
                "wrap: needs a device of the system bus (Io.system_bus().NAME), \
                 as io.cfg adds them",
            ),
        }
    });
    let s = shared.clone();
    engine.register_fn("System_bus", move |ctx: NativeCallContext, _: &mut ViNs, f: FnPtr| {
        let pos = pos_of(&ctx, &s);
        let table = run_body(&ctx, "Io.Vi.System_bus", &f, Map::new())?;
        let mut devices = Vec::new();
        for (name, v) in table {
            match v.clone().try_cast::<ProxyDesc>() {
                Some(p) => devices.push((name.to_string(), p)),
                None => {
                    return err(
                        &ctx,
                        format!(
                            "Io.Vi.System_bus: `{name}` is {}; a vbus holds devices \
                             (this.{name} = wrap(Io.system_bus().DEVICE))",
                            kind(&v)
                        ),
                    );
                }
            }
        }
        Ok(BusDesc { devices, pos })
    });

    engine.register_fn("to_string", |r: &mut Resource| crate::dump::resource_line(r));
    engine.register_fn("to_debug", |r: &mut Resource| crate::dump::resource_line(r));
}

fn mmio(ctx: &NativeCallContext, s: &Shared, start: i64, end: i64, f: i64) -> R<Resource> {
    let (a, b) = (start as u64, end as u64);
    if start < 0 {
        return err(ctx, format!("Io.Res.mmio({start}, {end:#x}): a negative address"));
    }
    if end < start {
        return err(
            ctx,
            format!("Io.Res.mmio({start:#x}, {end:#x}): the end lies before the start"),
        );
    }
    if a % PAGE != 0 || (b + 1) % PAGE != 0 {
        return err(
            ctx,
            format!(
                "Io.Res.mmio({a:#x}, {b:#x}): not whole 4 KiB pages (the start a multiple of \
                 0x1000, the end one below one); io hands out pages, so a part page would \
                 give a client its neighbours' registers too"
            ),
        );
    }
    let known =
        flags::F_PREFETCHABLE | flags::F_CACHED_MEM | flags::F_WIDTH_64BIT | flags::F_READ_ONLY;
    if f < 0 || f as u64 & !known != 0 {
        return err(ctx, format!("Io.Res.mmio: unknown flags {f:#x} (Io.Resource.F_*)"));
    }
    let mut fl = flags::MMIO | f as u64;
    if b > u32::MAX as u64 {
        fl |= flags::F_WIDTH_64BIT;
    }
    Ok(Resource {
        name: String::new(),
        kind: ResKind::Mmio,
        start: a,
        end: b,
        flags: fl,
        pos: pos_of(ctx, s),
    })
}

/// Lowest and highest IRQ a resource may name: GICv2 interrupt IDs; 0-15
/// are software-generated and never a device's.
pub const IRQ_MIN: i64 = 16;
pub const IRQ_MAX: i64 = 1019;

fn irq(ctx: &NativeCallContext, s: &Shared, n: i64, t: i64) -> R<Resource> {
    if !(IRQ_MIN..=IRQ_MAX).contains(&n) {
        return err(
            ctx,
            format!(
                "Io.Res.irq({n}): out of range; GIC interrupt IDs of devices run from {IRQ_MIN} \
                 to {IRQ_MAX} (shared interrupts from 32: SPI n is 32 + n)"
            ),
        );
    }
    let ty = t as u64;
    let mode = Trigger::from_mode(ty / flags::IRQ_TYPE_BASE);
    if t < 0 || !ty.is_multiple_of(flags::IRQ_TYPE_BASE) || mode.is_none() {
        let names: Vec<&str> = Trigger::ALL.iter().map(|t| t.1).collect();
        return err(
            ctx,
            format!(
                "Io.Res.irq({n}, {t:#x}): not a trigger type; use Io.Resource.{}",
                names.join(", Io.Resource.")
            ),
        );
    }
    let fl = flags::IRQ | ty;
    let (a, pos) = (n as u64, pos_of(ctx, s));
    Ok(Resource { name: String::new(), kind: ResKind::Irq, start: a, end: a, flags: fl, pos })
}

/// `Io.Hw.Device(f)`.
fn device(ctx: &NativeCallContext, s: &Shared, f: &FnPtr) -> R<HwDesc> {
    let pos = pos_of(ctx, s);
    let mut init = Map::new();
    init.insert("Resource".into(), Dynamic::from_map(Map::new()));
    init.insert("Property".into(), Dynamic::from_map(Map::new()));
    let table = run_body(ctx, "Io.Hw.Device", f, init)?;
    let mut d = HwDesc {
        pos,
        hid: String::new(),
        compatible: Vec::new(),
        props: Vec::new(),
        resources: Vec::new(),
        children: Vec::new(),
        multi_vbus: false,
    };
    for (k, v) in table {
        let k = k.as_str();
        match k {
            "compatible" => match strings(&v) {
                Some(list) => d.compatible = list,
                None => {
                    return err(
                        ctx,
                        "Io.Hw.Device: `compatible` must be a string or a list of strings",
                    );
                }
            },
            "hid" => match v.clone().into_immutable_string() {
                Ok(h) => d.hid = h.to_string(),
                Err(t) => {
                    return err(ctx, format!("Io.Hw.Device: `hid` must be a string, not {t}"));
                }
            },
            "Resource" => {
                let Some(m) = v.clone().try_cast::<Map>() else {
                    return err(ctx, "Io.Hw.Device: `Resource` must stay a table of resources");
                };
                for (name, r) in m {
                    match r.clone().try_cast::<Resource>() {
                        Some(mut r) => {
                            r.name = name.to_string();
                            d.resources.push(r);
                        }
                        None => {
                            return err(
                                ctx,
                                format!(
                                    "Io.Hw.Device: Resource.{name} is {}; resources are made \
                                     by Io.Res.mmio(start, end) and Io.Res.irq(n, type)",
                                    kind(&r)
                                ),
                            );
                        }
                    }
                }
            }
            "Property" => {
                let Some(m) = v.clone().try_cast::<Map>() else {
                    return err(ctx, "Io.Hw.Device: `Property` must stay a table of properties");
                };
                for (name, p) in m {
                    let Some(prop) = prop(&p) else {
                        return err(
                            ctx,
                            format!(
                                "Io.Hw.Device: Property.{name} is {}; properties are \
                                 integers, strings or lists of strings",
                                kind(&p)
                            ),
                        );
                    };
                    if name == "flags"
                        && matches!(prop, Prop::Int(f) if f & flags::DF_MULTI_VBUS != 0)
                    {
                        d.multi_vbus = true;
                    }
                    d.props.push((name.to_string(), prop));
                }
            }
            _ if v.is::<HwDesc>() => d.children.push((k.to_string(), v.cast::<HwDesc>())),
            _ => match prop(&v) {
                Some(p) => d.props.push((k.to_string(), p)),
                None => {
                    return err(
                        ctx,
                        format!(
                            "Io.Hw.Device: `{k}` is {}; a device body sets compatible, hid, \
                             Resource.*, Property.*, child devices, and integer or string \
                             properties",
                            kind(&v)
                        ),
                    );
                }
            },
        }
    }
    Ok(d)
}

/// A value's type as a message says it: "an integer", "a map", ...
fn kind(v: &Dynamic) -> String {
    let t = v.type_name();
    let name = match t {
        "()" => return "nothing".into(),
        "i64" => "integer",
        "f64" => "float",
        "bool" => "boolean",
        "char" => "character",
        "string" | "ImmutableString" => "string",
        "map" => "map",
        "array" => "list",
        "Fn" => "function",
        t => t.rsplit("::").next().unwrap_or(t),
    };
    let an = name.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
    format!("{} {name}", if an { "an" } else { "a" })
}

fn strings(v: &Dynamic) -> Option<Vec<String>> {
    if v.is_string() {
        return Some(alloc::vec![v.to_string()]);
    }
    let a = v.clone().try_cast::<Array>()?;
    a.iter().map(|s| s.is_string().then(|| s.to_string())).collect()
}

fn prop(v: &Dynamic) -> Option<Prop> {
    if let Ok(i) = v.as_int() {
        Some(Prop::Int(i))
    } else if let Ok(b) = v.as_bool() {
        Some(Prop::Int(b as i64))
    } else if v.is_string() {
        Some(Prop::Str(v.to_string()))
    } else {
        strings(v).map(Prop::List)
    }
}

/// `Io.Dt.add_children(bus, f)`.
fn add_children(ctx: &NativeCallContext, s: &Shared, bus: Dynamic, f: FnPtr) -> R<()> {
    let Some(parent) = bus.try_cast::<DevRef>() else {
        return err(
            ctx,
            "Io.Dt.add_children: the first argument is the bus or device the children go \
             on (Io.system_bus())",
        );
    };
    let table = run_body(ctx, "Io.Dt.add_children", &f, Map::new())?;
    let mut kids = Vec::new();
    for (name, v) in table {
        match v.clone().try_cast::<HwDesc>() {
            Some(d) => kids.push((name.to_string(), d)),
            None => {
                return err(
                    ctx,
                    format!(
                        "Io.Dt.add_children: `{name}` is {}; the function sets devices \
                         (this.{name} = Io.Hw.Device(...))",
                        kind(&v)
                    ),
                );
            }
        }
    }
    let mut b = s.borrow_mut();
    for (name, d) in kids {
        attach(&mut b, parent.id, &name, d);
    }
    Ok(())
}

/// Adds `d` (and its children) below device `parent`, checking it
/// against what is there.
fn attach(b: &mut Builder, parent: usize, name: &str, d: HwDesc) {
    let twin =
        b.cfg.devices[parent].children.iter().copied().find(|&c| b.cfg.devices[c].name == name);
    if let Some(t) = twin {
        let msg = format!(
            "device `{name}` is already on {} (added at {}); device names are unique per bus",
            if parent == 0 { "the system bus".into() } else { format!("`{}`", b.cfg.path(parent)) },
            b.cfg.devices[t].pos
        );
        b.diags.push(Diagnostic::error(d.pos.clone(), msg));
        return;
    }
    let id = b.cfg.devices.len();
    let mut resources = d.resources;
    resources.sort_by(|x, y| x.name.cmp(&y.name));
    b.cfg.devices.push(Device {
        name: name.into(),
        parent: Some(parent),
        children: Vec::new(),
        hid: d.hid,
        compatible: d.compatible,
        props: d.props,
        resources: Vec::new(),
        multi_vbus: d.multi_vbus,
        pos: d.pos,
    });
    b.cfg.devices[parent].children.push(id);
    for r in resources {
        check::resource(&b.cfg, id, &r, &mut b.diags);
        b.cfg.devices[id].resources.push(r);
    }
    for (n, c) in d.children {
        attach(b, id, &n, c);
    }
}

/// `Io.add_vbusses(#{ name: Io.Vi.System_bus(...) })`.
fn add_vbusses(ctx: NativeCallContext, io: &mut Io, m: Map) -> R<()> {
    let mut buses = Vec::new();
    for (name, v) in m {
        match v.clone().try_cast::<BusDesc>() {
            Some(d) => buses.push((name.to_string(), d)),
            None => {
                return err(
                    &ctx,
                    format!(
                        "Io.add_vbusses: `{name}` is {}; each value is a vbus \
                         (Io.Vi.System_bus(...))",
                        kind(&v)
                    ),
                );
            }
        }
    }
    let mut guard = io.0.borrow_mut();
    let b = &mut *guard;
    for (name, d) in buses {
        if let Some(old) = b.cfg.buses.iter().find(|x| x.name == name) {
            let msg = format!("vbus `{name}` is defined twice (first at {})", old.pos);
            b.diags.push(Diagnostic::error(d.pos, msg));
            continue;
        }
        let bus = b.cfg.buses.len();
        let mut devices: Vec<Proxy> = Vec::new();
        for (pname, p) in d.devices {
            check::placement(&b.cfg, bus, &name, p.hw, &p.pos, &mut b.diags);
            devices.push(Proxy { name: pname, hw: p.hw, pos: p.pos });
        }
        let twice = check::twice_on_bus(&b.cfg, &name, &devices);
        b.diags.extend(twice);
        b.cfg.buses.push(Vbus { name, devices, pos: d.pos });
    }
    Ok(())
}

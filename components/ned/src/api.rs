//! The script-facing types and their methods, with every check that does
//! not need the backend. Names follow L4Re's ned, written the Rhai way:
//! `L4.default_loader.start(#{ caps: #{ ... } }, "rom/prog args")`.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext};

use crate::value::{DEFAULT_PRIO, parse_rights, rights_str};
use crate::{Backend, Cap, LogSpec, Obj, Pos, RIGHT_GRANT, RIGHT_READ, RIGHT_SEND, StartRequest};

/// The interpreter state the script's values share.
pub(crate) struct State<B> {
    pub backend: B,
    pub log_fab: Option<Cap>,
    /// The name of the script being run (a position without a source is in it).
    pub main_file: String,
    /// Text of every script file read, for rendering diagnostics.
    pub sources: Vec<(String, String)>,
}

pub(crate) type Shared<B> = Rc<RefCell<State<B>>>;

/// The `L4` object.
pub(crate) struct L4<B>(pub Shared<B>);

/// `L4.default_loader`.
pub(crate) struct Loader<B>(Shared<B>);

/// `L4.Env`: the root's named caps, and makers of device and memory caps.
pub(crate) struct EnvCaps<B>(Shared<B>);

impl<B> Clone for EnvCaps<B> {
    fn clone(&self) -> Self {
        EnvCaps(self.0.clone())
    }
}

/// A started program.
pub(crate) struct Task<B> {
    shared: Shared<B>,
    id: u32,
    name: String,
}

// By hand: a derive would ask for `B: Clone`.
impl<B> Clone for L4<B> {
    fn clone(&self) -> Self {
        L4(self.0.clone())
    }
}

impl<B> Clone for Loader<B> {
    fn clone(&self) -> Self {
        Loader(self.0.clone())
    }
}

impl<B> Clone for Task<B> {
    fn clone(&self) -> Self {
        Task { shared: self.shared.clone(), id: self.id, name: self.name.clone() }
    }
}

type R<T> = Result<T, Box<EvalAltResult>>;

fn err<T>(ctx: &NativeCallContext, msg: impl Into<String>) -> R<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(msg.into().into(), ctx.call_position())))
}

fn pos_of<B>(ctx: &NativeCallContext, shared: &Shared<B>) -> Pos {
    let p = ctx.call_position();
    let file = match ctx.call_source() {
        Some(s) => s.into(),
        None => shared.borrow().main_file.clone(),
    };
    Pos { file, line: p.line().unwrap_or(0), col: p.position().unwrap_or(0) }
}

/// Client end rights of a fresh channel; `svr()` adds receiving.
const CLIENT_RIGHTS: u32 = RIGHT_SEND | RIGHT_GRANT;
const ALL_RIGHTS: u32 = RIGHT_READ | RIGHT_SEND | RIGHT_GRANT;

/// Keys of a `start` environment.
const ENV_KEYS: [&str; 3] = ["caps", "log", "prio"];

pub(crate) fn register<B: Backend + 'static>(engine: &mut Engine) {
    engine.register_type_with_name::<L4<B>>("L4");
    engine.register_type_with_name::<Loader<B>>("Loader");
    engine.register_type_with_name::<Task<B>>("Task");
    engine.register_type_with_name::<Cap>("Cap");

    engine.register_type_with_name::<EnvCaps<B>>("Env");
    engine.register_get("default_loader", |l4: &mut L4<B>| Loader(l4.0.clone()));
    engine.register_get("Env", |l4: &mut L4<B>| EnvCaps(l4.0.clone()));
    // `L4.Env.log`: property access on Env falls back to this indexer.
    engine.register_indexer_get(
        |ctx: NativeCallContext, e: &mut EnvCaps<B>, name: &str| -> R<Cap> {
            let caps = e.0.borrow_mut().backend.env_caps();
            match caps.iter().find(|(n, _)| n == name) {
                Some((_, kind)) => {
                    Ok(Cap { obj: Obj::Env { name: name.into(), kind: *kind }, rights: ALL_RIGHTS })
                }
                None => {
                    let names: Vec<&str> = caps.iter().map(|(n, _)| n.as_str()).collect();
                    err(
                        &ctx,
                        format!(
                            "L4.Env has no cap `{name}` (it has {}, and mmio(addr, size), \
                             irq(n), ram(bytes))",
                            names.join(", ")
                        ),
                    )
                }
            }
        },
    );
    engine.register_fn(
        "mmio",
        |ctx: NativeCallContext, _: &mut EnvCaps<B>, addr: i64, size: i64| -> R<Cap> {
            let page = 4096;
            if addr < 0 || size <= 0 || addr % page != 0 || size % page != 0 {
                return err(
                    &ctx,
                    format!(
                        "L4.Env.mmio({addr:#x}, {size:#x}): the range must be whole pages \
                         (address and size multiples of 0x1000)"
                    ),
                );
            }
            let obj = Obj::Mmio { addr: addr as u64, size: size as u64 };
            Ok(Cap { obj, rights: RIGHT_READ | RIGHT_SEND })
        },
    );
    engine.register_fn("irq", |ctx: NativeCallContext, _: &mut EnvCaps<B>, n: i64| -> R<Cap> {
        if !(0..1020).contains(&n) {
            return err(&ctx, format!("L4.Env.irq({n}): IRQ numbers run from 0 to 1019"));
        }
        Ok(Cap { obj: Obj::Irq { irq: n as u32 }, rights: ALL_RIGHTS })
    });
    engine.register_fn("ram", |ctx: NativeCallContext, _: &mut EnvCaps<B>, n: i64| -> R<Cap> {
        if !(4096..=(1 << 32)).contains(&n) {
            return err(&ctx, format!("L4.Env.ram({n}): from 4096 bytes to 4 GiB"));
        }
        Ok(Cap { obj: Obj::Ram { bytes: n as u64 }, rights: ALL_RIGHTS })
    });

    engine.register_fn("new_channel", |ctx: NativeCallContext, l: &mut Loader<B>| -> R<Cap> {
        let at = pos_of(&ctx, &l.0);
        let r = l.0.borrow_mut().backend.new_channel(&at);
        match r {
            Ok(id) => Ok(Cap { obj: Obj::Channel { id, server: false }, rights: CLIENT_RIGHTS }),
            Err(e) => err(&ctx, format!("new_channel: {e}")),
        }
    });
    engine.register_get("log_fab", |l: &mut Loader<B>| match &l.0.borrow().log_fab {
        Some(c) => Dynamic::from(c.clone()),
        None => Dynamic::UNIT,
    });
    engine.register_set("log_fab", |l: &mut Loader<B>, c: Cap| {
        l.0.borrow_mut().log_fab = Some(c);
    });
    engine.register_fn(
        "start",
        |ctx: NativeCallContext, l: &mut Loader<B>, env: Map, cmdline: &str| -> R<Task<B>> {
            let req = start_request(&ctx, &l.0, env, cmdline)?;
            let r = l.0.borrow_mut().backend.start(&req);
            match r {
                Ok(id) => Ok(Task { shared: l.0.clone(), id, name: req.cmdline }),
                Err(e) => err(&ctx, format!("starting `{}`: {e}", req.cmdline)),
            }
        },
    );

    engine.register_fn("svr", |ctx: NativeCallContext, c: &mut Cap| -> R<Cap> {
        match c.obj {
            Obj::Channel { id, server: false } if c.rights == CLIENT_RIGHTS => {
                Ok(Cap { obj: Obj::Channel { id, server: true }, rights: ALL_RIGHTS })
            }
            Obj::Channel { server: true, .. } => Ok(c.clone()),
            Obj::Channel { .. } => err(
                &ctx,
                format!("svr() needs the channel as new_channel() made it, not the reduced {c}"),
            ),
            _ => err(&ctx, format!("{c} is not a channel; it has no server end")),
        }
    });
    engine.register_fn("m", |ctx: NativeCallContext, c: &mut Cap, rights: &str| -> R<Cap> {
        match parse_rights(rights) {
            Ok(r) => Ok(Cap { obj: c.obj.clone(), rights: c.rights & r }),
            Err(e) => err(&ctx, e),
        }
    });
    engine.register_get("rights", |c: &mut Cap| rights_str(c.rights));
    engine.register_fn("to_string", |c: &mut Cap| c.to_string());
    engine.register_fn("to_debug", |c: &mut Cap| c.to_string());
    engine.register_fn("==", |a: Cap, b: Cap| a == b);
    engine.register_fn("!=", |a: Cap, b: Cap| a != b);

    engine.register_fn("state", |t: &mut Task<B>| {
        let s = t.shared.borrow_mut().backend.state(t.id);
        s.name().to_string()
    });
    engine.register_fn("exit_code", |t: &mut Task<B>| {
        let s = t.shared.borrow_mut().backend.state(t.id);
        s.code().map_or(Dynamic::UNIT, Dynamic::from)
    });
    engine.register_fn("wait", |ctx: NativeCallContext, t: &mut Task<B>| -> R<Dynamic> {
        let r = t.shared.borrow_mut().backend.wait(t.id);
        match r {
            Ok(s) => Ok(s.code().map_or(Dynamic::UNIT, Dynamic::from)),
            Err(e) => err(&ctx, format!("waiting for `{}`: {e}", t.name)),
        }
    });
    engine.register_fn("kill", |ctx: NativeCallContext, t: &mut Task<B>| -> R<()> {
        let r = t.shared.borrow_mut().backend.kill(t.id);
        r.or_else(|e| err(&ctx, format!("killing `{}`: {e}", t.name)))
    });
    engine.register_fn("to_string", |t: &mut Task<B>| format!("task({})", t.name));
    engine.register_fn("to_debug", |t: &mut Task<B>| format!("task({})", t.name));
}

/// Checks a `start` call's arguments.
fn start_request<B: Backend>(
    ctx: &NativeCallContext,
    shared: &Shared<B>,
    env: Map,
    cmdline: &str,
) -> R<StartRequest> {
    let at = pos_of(ctx, shared);
    // The program's first argument, split as the program will split it.
    let Some(first) = program_env::split_args(cmdline).next() else {
        return err(ctx, "start: the command line is empty; it names a program, as \"rom/prog\"");
    };
    let Some(program) = first.strip_prefix("rom/").filter(|p| !p.is_empty()) else {
        return err(
            ctx,
            format!("start: `{first}` is not in rom/; programs are named \"rom/NAME\""),
        );
    };
    {
        let mut st = shared.borrow_mut();
        if !st.backend.rom_exists(program) {
            let names = st.backend.rom_names().join(", ");
            return err(ctx, format!("start: rom/{program}: no such module (rom/ holds: {names})"));
        }
    }
    for key in env.keys() {
        if !ENV_KEYS.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "scheduler" => " (give a priority with `prio`)",
                _ => "",
            };
            return err(
                ctx,
                format!(
                    "start: unknown key `{key}` in the environment{hint}; keys are {}",
                    ENV_KEYS.join(", ")
                ),
            );
        }
    }
    let mut caps = Vec::new();
    if let Some(c) = env.get("caps") {
        let Some(m) = c.clone().try_cast::<Map>() else {
            return err(ctx, format!("start: `caps` must be a map of caps, not {}", c.type_name()));
        };
        flatten(ctx, "", m, &mut caps)?;
    }
    caps.sort_by(|a, b| a.0.cmp(&b.0));
    let basename = program.rsplit('/').next().unwrap_or(program);
    let log = match env.get("log") {
        None => LogSpec::Tagged {
            tag: basename.chars().take(program_env::log::MAX_TAG).collect(),
            colour: "white".into(),
        },
        Some(v) => log_spec(ctx, v)?,
    };
    let prio = match env.get("prio") {
        None => DEFAULT_PRIO,
        Some(v) => match v.as_int() {
            Ok(p) if (0..=254).contains(&p) => p as u8,
            Ok(p) => return err(ctx, format!("start: prio {p} is out of range (0 to 254)")),
            Err(t) => return err(ctx, format!("start: `prio` must be an integer, not {t}")),
        },
    };
    let log_fab = shared.borrow().log_fab.clone();
    Ok(StartRequest {
        cmdline: cmdline.trim().into(),
        program: program.into(),
        caps,
        log,
        prio,
        log_fab,
        at,
    })
}

/// Flattens a (nested) caps map into `name` / `ns/name` entries.
fn flatten(ctx: &NativeCallContext, prefix: &str, m: Map, out: &mut Vec<(String, Cap)>) -> R<()> {
    for (k, v) in m {
        let name = format!("{prefix}{k}");
        if prefix.is_empty()
            && k == "mem"
            && !v.clone().try_cast::<Cap>().is_some_and(|c| matches!(c.obj, Obj::Ram { .. }))
        {
            return err(ctx, "start: caps.mem must be L4.Env.ram(bytes), the program's memory");
        }
        if prefix.is_empty() && (k == "rom" || k == "log") {
            let hint = if k == "log" { "; set the log with the `log` key" } else { "" };
            return err(ctx, format!("start: caps.{k}: every program gets `{k}`{hint}"));
        }
        if v.is::<Cap>() {
            out.push((name, v.cast::<Cap>()));
        } else if v.is::<Map>() {
            flatten(ctx, &format!("{name}/"), v.cast::<Map>(), out)?;
        } else {
            let t = v.type_name();
            return err(ctx, format!("start: caps.{name} must be a cap, not {t}"));
        }
    }
    Ok(())
}

fn log_spec(ctx: &NativeCallContext, v: &Dynamic) -> R<LogSpec> {
    let (tag, colour) = if v.is::<Cap>() {
        return Ok(LogSpec::Cap(v.clone().cast::<Cap>()));
    } else if v.is_string() {
        (v.to_string(), "white".to_string())
    } else if let Some(a) = v.clone().try_cast::<rhai::Array>() {
        match a.as_slice() {
            [t] if t.is_string() => (t.to_string(), "white".into()),
            [t, c] if t.is_string() && c.is_string() => (t.to_string(), c.to_string()),
            _ => return err(ctx, "start: `log` must be [\"tag\", \"colour\"], a tag, or a cap"),
        }
    } else {
        let t = v.type_name();
        return err(
            ctx,
            format!("start: `log` must be [\"tag\", \"colour\"], a tag, or a cap, not {t}"),
        );
    };
    if tag.is_empty() || tag.chars().count() > program_env::log::MAX_TAG {
        return err(ctx, format!("start: log tag \"{tag}\" must have 1 to 8 characters"));
    }
    if program_env::log::colour_code(&colour).is_none() {
        let names: Vec<&str> = program_env::log::COLOURS.iter().map(|c| c.0).collect();
        return err(
            ctx,
            format!("start: unknown colour \"{colour}\" (colours: {})", names.join(", ")),
        );
    }
    Ok(LogSpec::Tagged { tag, colour })
}

//! io: the only program that owns hardware. It reads the hardware
//! description and the vbus files its command line names
//! (`rom/io.cfg -vvvvvv rom/vm_hw.vbus`, as `start_io` starts it), takes
//! hold of what they describe (frames from its device untypeds, IRQ
//! handlers from IRQ control), and serves each vbus on the channel of the
//! same name: a client sees and uses only its bus's devices.
//!
//! Named caps: `sigma0/<addr>` (or any untyped with a physical address:
//! device memory), IRQ handlers (`L4.Env.irq(n)`, any name) or `icu` (IRQ
//! control), `mem` (memory for its own objects), and one server-end
//! channel per vbus, named as the bus.
//! Anything wrong (a script error, a resource io was not given, a bus
//! without its channel) is printed, with file, line and column where there
//! is one, and io ends with exit code 1.

#![no_std]
#![no_main]

extern crate alloc;

mod bus;
mod caps;
mod hw;
mod threads;

use alloc::string::String;
use alloc::vec::Vec;

use io_config::devmem::Untyped;
use io_config::{Diagnostic, Loader, Severity, check, dump};
use program_env::CapKind;
use sel4::cap;
use sel4_runtime::{env, get_cap, println};

use crate::bus::Io;
use crate::caps::Slots;
use crate::hw::DeviceMem;

/// `L4.Env.sigma0` arrives as `sigma0/<addr>` caps, found by prefix;
/// recorded for `build ned check`, which knows the form.
#[used]
#[unsafe(link_section = ".ned_caps")]
static SIGMA0_CAPS: [u8; 9] = *b"sigma0/*\0";

/// What the command line says.
struct Args {
    /// 1, plus one per `v` of the `-v` flags (L4Re's counting).
    verbose: u32,
    files: Vec<String>,
}

fn args() -> Args {
    let mut a = Args { verbose: 1, files: Vec::new() };
    for arg in env::args() {
        if let Some(flags) = arg.strip_prefix('-') {
            a.verbose += flags.chars().filter(|&c| c == 'v').count() as u32;
        } else {
            a.files.extend(arg.split(',').filter(|f| !f.is_empty()).map(String::from));
        }
    }
    a
}

fn fail(lines: &[String]) -> ! {
    for l in lines {
        println!("{}", l.trim_end());
    }
    println!("io: stopped; no vbus is served");
    sel4_runtime::exit(1)
}

/// Runs the configuration files; the loader, or the rendered errors.
fn load(a: &Args) -> Result<Loader, Vec<String>> {
    let mut loader = Loader::new();
    for f in &a.files {
        if a.verbose >= 2 {
            println!("Loading: config '{f}'");
        }
        let bytes = sel4_runtime::rom::open(f).map_err(|e| {
            let mut v = alloc::vec![alloc::format!("{f}: error: cannot open it ({e:?})")];
            if !f.starts_with("rom/") {
                v.push(alloc::format!("  (files are boot modules: rom/{f})"));
            }
            v
        })?;
        let text = core::str::from_utf8(bytes)
            .map_err(|_| alloc::vec![alloc::format!("{f}: error: not UTF-8 text")])?;
        let r = loader.load(f, text);
        for p in loader.take_prints() {
            println!("{p}");
        }
        r.map_err(|d| alloc::vec![loader.render(&d)])?;
    }
    Ok(loader)
}

fn main(_: sel4::Word) {
    let a = args();
    println!("Io service");
    println!("Verboseness level: {}", a.verbose);
    if a.files.is_empty() {
        fail(&["io: error: no configuration files (`rom/io io.cfg [-v...] bus.vbus ...`)".into()]);
    }
    let loader = load(&a).unwrap_or_else(|e| fail(&e));
    let (cfg, found) = loader.finish();
    let caps: Vec<_> = env::page().iter().flat_map(|p| p.caps()).collect();
    let channels: Vec<(String, u64)> = caps
        .iter()
        .filter(|c| c.kind == CapKind::Channel)
        .map(|c| (c.name.into(), c.slot))
        .collect();
    let names: Vec<&str> = channels.iter().map(|c| c.0.as_str()).collect();
    let files: Vec<&str> = a.files.iter().map(String::as_str).collect();
    let mut diags: Vec<Diagnostic> = found;
    diags.extend(check::channels(&cfg, &names, &files));
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    let rendered: Vec<String> = diags.iter().map(|d| loader.render(d)).collect();
    if errors {
        fail(&rendered);
    }
    for w in &rendered {
        println!("{}", w.trim_end());
    }

    let mem: Vec<DeviceMem> = caps
        .iter()
        .filter(|c| c.kind == CapKind::Untyped && c.arg & !0xff != 0)
        .map(|c| DeviceMem {
            slot: c.slot,
            ut: Untyped { paddr: c.arg & !0xff, size_bits: (c.arg & 0xff) as u32 },
        })
        .collect();
    let handlers: Vec<(u64, u64)> =
        caps.iter().filter(|c| c.kind == CapKind::IrqHandler).map(|c| (c.arg, c.slot)).collect();
    let icu: Option<cap::IrqControl> = get_cap!("icu");
    let Some(own) = get_cap!("mem") else {
        fail(&["io: error: no `mem` cap (memory for io's own objects)".into()]);
    };
    let mut slots = Slots::new();
    let hw = match hw::acquire(&cfg, &mem, &handlers, icu, &mut slots) {
        Ok(hw) => hw,
        Err(e) => fail(&e.iter().map(|d| loader.render(d)).collect::<Vec<_>>()),
    };
    drop(loader);

    if a.verbose >= 3 {
        for b in 0..cfg.buses.len() {
            for l in dump::irq_adds(&cfg, b) {
                println!("{l}");
            }
            println!("{}", dump::vbus(&cfg, b).trim_end());
        }
    }
    if a.verbose >= 4 {
        println!("{}", dump::hardware(&cfg).trim_end());
    }
    if cfg.buses.len() > threads::MAX_BUSES {
        fail(&[alloc::format!(
            "io: error: {} vbusses; io serves at most {}",
            cfg.buses.len(),
            threads::MAX_BUSES
        )]);
    }
    let buses: Vec<u64> = cfg
        .buses
        .iter()
        .map(|b| channels.iter().find(|c| c.0 == b.name).map_or(0, |c| c.1))
        .collect();
    let mut io = Io { cfg, hw, slots, mem: own };
    let setup = (|| -> Result<(), String> {
        for (b, &ep) in buses.iter().enumerate() {
            let (recv, scratch) = (io.slots.take()?, io.slots.take()?);
            threads::set_bus(b, ep, recv, scratch);
        }
        let ntfn = io.slots.take()?;
        threads::init(io, ntfn)?;
        // Under the lock, so no thread serves before all are set up.
        threads::with(|io| (1..buses.len()).try_for_each(|b| threads::start(io, b)))
    })();
    if let Err(e) = setup {
        fail(&[alloc::format!("io: error: {e}")]);
    }
    println!("Ready. Waiting for request.");
    if buses.is_empty() {
        // Nothing to serve: io has described the hardware and is done.
        return;
    }
    threads::serve(0)
}

sel4_runtime::declare_program!(main, heap_size = 8 << 20);

// Bus channels and IRQ handlers come under names the script chooses.
sel4_runtime::uses_any_cap_name!();

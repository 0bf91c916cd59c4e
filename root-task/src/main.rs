//! moe, the root task: the first program, holding every initial cap. It
//! offers the boot modules as a read-only `rom/` namespace, runs the ned
//! boot script its command line names (`roottask moe rom/boot.ned`), and
//! starts each program the script asks for in an address space and CSpace
//! of its own with exactly the caps the script names (see `loader`). Then
//! it serves them: their faults (a crash is reported with the program's
//! name and the others keep running), exits, rom/ opens and log lines.
//!
//! A script error is reported with file, line and column; whatever the
//! script started before it keeps running. When no program is left
//! running, moe says so and halts the machine.

#![no_std]
#![no_main]

extern crate alloc;

mod backend;
mod elf;
mod gifts;
mod loader;
mod mem;
mod root;
mod server;
mod space;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ned::Ned;
use sel4::ObjectBlueprint;

use crate::mem::{Pool, Slots};
use crate::root::{LogChannel, Module, Root};

/// Boot-module flag of the root task's own module.
const ROOTTASK: u32 = 1 << 1;

/// Prints a line of the root task's own.
pub fn say(msg: &str) {
    sel4::debug_println!("moe: {msg}");
}

fn fatal(msg: &str) -> ! {
    say(msg);
    sel4::debug_halt()
}

fn main(bi: &sel4::BootInfo) -> ! {
    let own = bi.modules().find(|m| m.flags() & ROOTTASK != 0);
    let mut words = own.map_or("", |m| m.cmdline()).split_whitespace().peekable();
    if let (Some(first), Some(m)) = (words.peek(), own)
        && *first == m.name()
    {
        words.next();
    }
    let Some(script) = words.next() else {
        fatal("no boot script: name one after the root task, as `roottask moe rom/boot.ned`")
    };
    let modules: Vec<Module> = bi
        .modules()
        .map(|m| Module {
            name: m.name().into(),
            // SAFETY: the kernel maps every boot module read-only into the
            // root task for its whole life and never changes it.
            data: unsafe { core::slice::from_raw_parts(m.vaddr() as *const u8, m.size()) },
            vaddr: m.vaddr() as u64,
            frames: m.frames().start() as u64..m.frames().end() as u64,
        })
        .collect();
    let mut root = Root {
        slots: Slots::new(bi.empty().start() as u64, bi.empty().end() as u64),
        pool: Pool::new(bi),
        ep: 0,
        modules,
        channels: Vec::new(),
        logs: Vec::new(),
        tasks: Vec::new(),
        ned_log: 1,
        devices: bi
            .untyped()
            .range()
            .zip(bi.untyped_list())
            .filter(|(_, d)| d.is_device() && !is_vgic_cpu(d))
            .map(|(s, d)| (s as u64, d.paddr() as u64, d.size_bits()))
            .collect(),
        irqs: Vec::new(),
        vgic_cpu: Vec::new(),
    };
    if let Some((s, d)) = bi.untyped().range().zip(bi.untyped_list()).find(|(_, d)| is_vgic_cpu(d))
    {
        root.vgic_cpu = vgic_cpu_frames(&mut root, s as u64, d.paddr() as u64, d.size_bits())
            .unwrap_or_else(|e| fatal(&format!("the GIC's virtual CPU interface: {e}")));
    }
    root.logs.push(LogChannel { tag: None, partial: Vec::new() });
    root.logs.push(LogChannel { tag: Some(("ned".into(), "37")), partial: Vec::new() });
    if let Err(e) = setup(&mut root) {
        fatal(&format!("setting up: {e}"));
    }

    let name = script.strip_prefix("rom/").unwrap_or(script);
    let Some(text) = root.module(name).map(|m| String::from_utf8_lossy(root.modules[m].data))
    else {
        let names: Vec<&str> = root.modules.iter().map(|m| m.name.as_str()).collect();
        fatal(&format!(
            "the boot script {script} is not a boot module (modules: {})",
            names.join(", ")
        ))
    };
    let text = text.into_owned();
    let file = format!("rom/{name}");
    let mut ned = Ned::new(root);
    if let Err(d) = ned.run(&file, &text) {
        let rendered = ned.render(&d);
        for line in rendered.lines() {
            sel4::debug_println!("{line}");
        }
        let running =
            ned.backend().tasks.iter().filter(|t| t.state == ned::TaskState::Running).count();
        say(&format!("{file} stopped at this error; {running} program(s) it started keep running"));
    }
    let mut root = ned.backend();
    while root.any_running() {
        root.serve_one();
    }
    say("no program is left running; halting");
    sel4::debug_halt()
}

/// The root endpoint and the scratch window's page tables.
fn setup(root: &mut Root) -> Result<(), String> {
    root.ep = root.slots.take()?;
    root.pool.retype(&ObjectBlueprint::Endpoint, root.ep)?;
    let frame = root.slots.take()?;
    root.pool.retype(&ObjectBlueprint::SmallPage, frame)?;
    space::prepare_scratch(
        frame,
        &mut space::RootTables { pool: &mut root.pool, slots: &mut root.slots },
    )
}

sel4_runtime::declare_root_task!(main, heap_size = 8 << 20);

/// Whether the kernel marked `d` as the GIC's virtual CPU interface.
fn is_vgic_cpu(d: &sel4::UntypedDesc) -> bool {
    d.inner().padding[0] == sel4::sys::bootinfo::UNTYPED_VGIC_CPU
}

/// The untyped in root slot `ut` (at `paddr`, 2^`bits` bytes) as 4 KiB
/// device frames: `L4.Env.mmio` of it gives copies of these, so several
/// VMMs can map it.
fn vgic_cpu_frames(
    root: &mut Root,
    ut: u64,
    paddr: u64,
    bits: usize,
) -> Result<Vec<(u64, u64)>, String> {
    let n = 1u64 << (bits.saturating_sub(12)).min(8);
    let mut out = Vec::new();
    let me = sel4::init_thread::slot::CNODE.cap().absolute_cptr_for_self();
    let u: sel4::cap::Untyped = crate::mem::cap_at(ut);
    for i in 0..n {
        let s = root.slots.take()?;
        u.untyped_retype(&sel4::ObjectBlueprint::SmallPage, &me, s as usize, 1)
            .map_err(|e| format!("{e:?}"))?;
        out.push((s, paddr + i * 4096));
    }
    Ok(out)
}

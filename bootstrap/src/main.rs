//! bootstrap: the entry point of the boot image.
//!
//! QEMU enters it at EL2 with the MMU off. It finds the firmware's device
//! tree, turns on an identity map, validates the module table packed behind
//! it, inflates `[uncompress]` modules, loads the kernel at its physical
//! addresses and the root task into memory it picks, fills in the boot-info
//! record and enters the kernel with `x0` pointing at it. Every failure is
//! printed and powers the machine off; nothing is started half-checked.

#![no_std]
#![no_main]

mod dt;
mod mmu;

use bootimage::handoff::{BootInfo, Region};
use bootimage::{Flags, Table};
use bootstrap::elfload::Plan;
use bootstrap::{gzip, mem};
use core::fmt::Write;

/// Where QEMU virt puts its device tree when the image is linked above it
/// (see link.ld).
const DTB_ADDR: u64 = 0x4000_0000;
/// The PL011 of QEMU virt, used only to report a device tree that cannot be
/// read (without it there is no other way to find the console).
const FALLBACK_UART: u64 = 0x0900_0000;
const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;

core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    msr daifset, #0xf",
    "    ldr x1, =__stack_top",
    "    mov sp, x1",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "0:  cmp x1, x2",
    "    b.hs 1f",
    "    str xzr, [x1], #8",
    "    b 0b",
    "1:  bl bootstrap_main",
    "2:  wfe",
    "    b 2b",
);

unsafe extern "C" {
    static __bootstrap_start: u8;
    static __bootstrap_end: u8;
}

// SAFETY: QEMU virt's PL011 is at FALLBACK_UART; it is replaced by the
// device tree's console as soon as that has been read.
static mut CONSOLE: pl011::Pl011 = unsafe { pl011::Pl011::new(FALLBACK_UART as usize) };

fn console() -> &'static mut pl011::Pl011 {
    // SAFETY: single core, no interrupts; bootstrap never holds two of these
    // references at once (each print takes and drops one).
    unsafe { &mut *core::ptr::addr_of_mut!(CONSOLE) }
}

macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = writeln!(console(), $($arg)*);
    }};
}

/// Powers the machine off through PSCI `SYSTEM_OFF`.
fn power_off() -> ! {
    // SAFETY: SMC to the PSCI firmware (QEMU's) with a function ID it
    // defines; it does not return.
    unsafe { core::arch::asm!("smc #0", in("x0") 0x8400_0008u64, options(noreturn)) }
}

fn fail(args: core::fmt::Arguments) -> ! {
    println!("bootstrap: error: {args}");
    power_off()
}

macro_rules! fail {
    ($($arg:tt)*) => { fail(format_args!($($arg)*)) };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fail!("{info}")
}

fn addr_of(sym: &u8) -> u64 {
    sym as *const u8 as u64
}

/// # Safety
/// Called once, from `_start`, at EL2 with the MMU off.
#[unsafe(no_mangle)]
unsafe extern "C" fn bootstrap_main() -> ! {
    // SAFETY: QEMU's RAM starts at DTB_ADDR; the header read is inside RAM.
    let machine = match unsafe { dt::parse(DTB_ADDR) } {
        Ok(m) => m,
        Err(e) => fail!("{e}"),
    };
    if let Some(base) = machine.uart {
        // SAFETY: the device tree names this PL011 as the console.
        unsafe { *core::ptr::addr_of_mut!(CONSOLE) = pl011::Pl011::new(base as usize) };
    }
    // SAFETY: first and only call, at EL2, MMU off; the map covers all RAM
    // and devices identically.
    unsafe { mmu::enable() };
    run(&machine)
}

fn run(machine: &dt::Machine) -> ! {
    // SAFETY: linker-defined symbols; only their addresses are taken.
    let (img_start, img_end) = unsafe { (addr_of(&__bootstrap_start), addr_of(&__bootstrap_end)) };
    let ram_end = machine
        .fdt
        .memory()
        .regions()
        .filter_map(|r| r.size.map(|s| r.starting_address as u64 + s as u64))
        .max()
        .unwrap_or(0);
    let blob_start = img_end.next_multiple_of(PAGE);
    if blob_start >= ram_end {
        fail!("no module table: the image ends past RAM");
    }
    // SAFETY: [blob_start, ram_end) is RAM, identity mapped; nothing else
    // refers to it mutably while the table is read.
    let blob = unsafe {
        core::slice::from_raw_parts(blob_start as *const u8, (ram_end - blob_start) as usize)
    };
    let table = match Table::parse(blob) {
        Ok(t) => t,
        Err(e) => fail!("{e}"),
    };
    let image = Region::new(img_start, blob_start + table.total_size() - img_start);
    println!("bootstrap: image {:?}, {} modules", image, table.len());
    for m in table.modules() {
        if let Err(e) = m.verify() {
            fail!("{e} ({})", m.name);
        }
    }

    let Some(kmod) = table.find(Flags::KERNEL) else { fail!("the image has no kernel module") };
    let kplan = Plan::parse(kmod.data).unwrap_or_else(|e| fail!("kernel '{}': {e}", kmod.name));
    let (kstart, kend) = kplan.phys_span();
    let kernel = Region::new(kstart, kend - kstart);
    let in_ram = machine.fdt.memory().regions().any(|r| {
        let bank = Region::new(r.starting_address as u64, r.size.unwrap_or(0) as u64);
        bank.base <= kernel.base && kernel.end() <= bank.end()
    });
    if !in_ram || kernel.overlaps(&image) {
        fail!(
            "kernel '{}' wants {:?}, which is not free RAM (the image lies at {:?})",
            kmod.name,
            kernel,
            image
        );
    }

    // Boot info goes to the first free pages; the device tree is still
    // needed, so it is kept out of the way until it has been copied.
    let dtb = Region::new(DTB_ADDR, machine.size());
    let mut ram = [Region::default(); bootimage::handoff::MAX_RAM];
    let mut nram = 0;
    for r in machine.fdt.memory().regions().take(ram.len()) {
        ram[nram] = Region::new(r.starting_address as u64, r.size.unwrap_or(0) as u64);
        nram += 1;
    }
    let early = [kernel, image, dtb];
    let bi_size = (core::mem::size_of::<BootInfo>() as u64).next_multiple_of(PAGE);
    let Some(bi_addr) = mem::find_free(&ram[..nram], &early, bi_size, PAGE, 0) else {
        fail!("no free RAM for the boot info")
    };
    // SAFETY: [bi_addr, +bi_size) is free RAM found above; BootInfo is plain
    // data, so writing it through `init` before reading is sound.
    let bi = unsafe { &mut *(bi_addr as *mut BootInfo) };
    bi.init();
    let full = |e: bootimage::handoff::Full| -> ! { fail!("{e}") };
    machine.describe(bi).unwrap_or_else(|e| full(e));
    for r in [kernel, image, Region::new(bi_addr, bi_size)] {
        bi.add_reserved(r).unwrap_or_else(|e| full(e));
    }
    bi.kernel = kernel;
    bi.kernel_entry = kplan.entry;
    bi.uart_base = machine.uart.unwrap_or(0);

    const LARGE_PAGE: u64 = 2 << 20;
    // The device tree copy, then everything else placed around the original.
    let alloc = |bi: &mut BootInfo, size: u64, what: &str| -> u64 {
        let mut taken = [Region::default(); bootimage::handoff::MAX_RESERVED + 1];
        let n = bi.reserved().len();
        taken[..n].copy_from_slice(bi.reserved());
        taken[n] = dtb;
        let size = size.max(1).next_multiple_of(PAGE);
        // 2 MiB alignment for large ones (an inflated guest kernel): the
        // kernel then hands them out in 2 MiB frames, one slot each.
        let align = if size >= LARGE_PAGE { LARGE_PAGE } else { PAGE };
        let Some(at) = mem::find_free(bi.ram(), &taken[..=n], size, align, 0) else {
            fail!("no free RAM for {what} ({} KiB)", size / 1024)
        };
        bi.add_reserved(Region::new(at, size)).unwrap_or_else(|e| full(e));
        at
    };
    let dtb_copy = alloc(bi, dtb.size, "the device tree");
    // SAFETY: source is the firmware DTB, destination freshly reserved RAM;
    // they do not overlap (the DTB was excluded from the search).
    unsafe {
        core::ptr::copy_nonoverlapping(
            dtb.base as *const u8,
            dtb_copy as *mut u8,
            dtb.size as usize,
        )
    };
    bi.dtb = Region::new(dtb_copy, dtb.size);

    for m in table.modules() {
        let in_place = Region::new(blob_start + m.offset, m.data.len() as u64);
        let region = if m.flags.contains(Flags::UNCOMPRESS) {
            let at = alloc(bi, m.inflated_size, m.name);
            // SAFETY: freshly reserved RAM of at least inflated_size bytes.
            let out =
                unsafe { core::slice::from_raw_parts_mut(at as *mut u8, m.inflated_size as usize) };
            if let Err(e) = gzip::inflate(m.data, out) {
                fail!("module '{}': {e}", m.name);
            }
            println!(
                "bootstrap: inflated {}: {} KiB -> {} KiB",
                m.name,
                m.data.len() / 1024,
                m.inflated_size / 1024
            );
            Region::new(at, m.inflated_size)
        } else {
            in_place
        };
        if m.flags.contains(Flags::ROOTTASK) {
            let plan = Plan::parse(m.data).unwrap_or_else(|e| fail!("root task '{}': {e}", m.name));
            let (vstart, vend) = plan.virt_span();
            let at = alloc(bi, vend - vstart, m.name);
            // SAFETY: freshly reserved RAM of exactly the virtual span.
            let dest =
                unsafe { core::slice::from_raw_parts_mut(at as *mut u8, (vend - vstart) as usize) };
            plan.load_into(m.data, dest, false);
            mmu::sync_icache(at, vend - vstart);
            bi.root = bootimage::handoff::RootImage {
                paddr: at,
                vaddr: vstart,
                size: vend - vstart,
                entry: plan.entry,
                module: bi.n_modules,
                present: 1,
            };
        }
        bi.add_module(m.name, m.cmdline, m.flags.0, region).unwrap_or_else(|e| full(e));
    }

    // Last, the kernel: its range may cover the firmware's device tree, which
    // is no longer needed.
    // SAFETY: the kernel's span is RAM reserved for it alone (checked above).
    let dest =
        unsafe { core::slice::from_raw_parts_mut(kernel.base as *mut u8, kernel.size as usize) };
    kplan.load_into(kmod.data, dest, true);
    mmu::sync_icache(kernel.base, kernel.size);
    println!(
        "bootstrap: kernel at {:?}, boot info at {:#x}, {} MiB RAM; starting the kernel",
        kernel,
        bi_addr,
        bi.ram().iter().map(|r| r.size).sum::<u64>() / MIB
    );
    // SAFETY: the kernel is loaded and its caches synchronised; its entry
    // takes the boot-info address in x0 and never returns.
    unsafe {
        core::arch::asm!("br {entry}", entry = in(reg) kplan.entry, in("x0") bi_addr, options(noreturn));
    }
}

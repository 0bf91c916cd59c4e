//! The microkernel.
//!
//! Entered by bootstrap at EL2 with the boot-info record in `x0` and
//! bootstrap's identity map active (the kernel keeps using it: its table
//! lies in bootstrap's image, which the boot info marks reserved). Boot
//! checks the record, brings up the console, reports what it was handed
//! (with `-v` on its command line), sets up the interrupt controller, the
//! tick and EL2, hands every free byte of RAM and every device region to the
//! portable core, which builds the root task's world, and runs the root
//! task.

#![no_std]
#![no_main]

mod arch;
mod console;

use bootimage::Flags;
use bootimage::handoff::{BootInfo, MAX_RAM, MAX_RESERVED, Region};
use kernel_core::{BootConfig, BootModule, Kernel, MemRegion, RootImage};

/// Most modules and memory regions handed to the core.
const MAX_MODULES: usize = bootimage::handoff::MAX_MODULES;

/// Early boot, called from the architecture's entry code.
fn boot(bi: &BootInfo) -> ! {
    if !bi.is_valid() {
        arch::power_off();
    }
    console::init(bi.uart_base);
    kprintln!(
        "kernel: {} {}, seL4 object model, aarch64, single core",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    );
    kprintln!("kernel: running at EL{}", arch::current_el());
    let own = bi.modules().find(|(_, _, d)| Flags(d.flags).contains(Flags::KERNEL));
    let cmdline = own.map_or("", |(_, c, _)| c);
    if cmdline.split_whitespace().any(|w| w == "-v") {
        report(bi);
    }
    // SAFETY: bootstrap copied the device tree to bi.dtb, which stays
    // reserved.
    let platform = match unsafe { arch::discover(bi.dtb.base, bi.dtb.size) } {
        Ok(p) => p,
        Err(e) => fail(e),
    };
    // SAFETY: the platform was read from this machine's device tree; this is
    // the only call.
    let hw = unsafe { arch::Aarch64::init(&platform) };
    if cmdline.split_whitespace().any(|w| w == "pmu") {
        arch::export_pmu();
        kprintln!("kernel: PMU exported to user threads (pmu): counter 0 counts instructions");
    }

    let mut free = [Region::default(); MAX_RAM + MAX_RESERVED];
    let nfree = bi.free_ram(&mut free);
    let free: [MemRegion; MAX_RAM + MAX_RESERVED] =
        core::array::from_fn(|i| MemRegion { base: free[i].base, size: free[i].size });
    // The GIC's distributor, CPU interface and hypervisor interface are the
    // kernel's; every other device region goes to the root task.
    let mut devices = [MemRegion::default(); bootimage::handoff::MAX_DEVICES];
    let mut ndev = 0;
    for d in bi.devices().iter().filter(|d| !platform.kernel_owned(d.base, d.size)) {
        devices[ndev] = MemRegion::new(d.base, d.size);
        ndev += 1;
    }
    let mut modules: [BootModule; MAX_MODULES] =
        core::array::from_fn(|_| BootModule { name: "", cmdline: "", flags: 0, paddr: 0, size: 0 });
    let mut nmod = 0;
    for (name, cmdline, d) in bi.modules() {
        modules[nmod] =
            BootModule { name, cmdline, flags: d.flags, paddr: d.region.base, size: d.region.size };
        nmod += 1;
    }
    if bi.root.present == 0 {
        kprintln!("kernel: the image has no root task; nothing to run");
        arch::power_off();
    }
    let root = RootImage {
        paddr: bi.root.paddr,
        vaddr: bi.root.vaddr,
        size: bi.root.size,
        entry: bi.root.entry,
    };
    let (reserved, nreserved) = hw.reserved_irqs();
    let reserved_irqs = &reserved[..nreserved];
    let cfg = BootConfig {
        vgic_cpu: platform.gicv.0,
        ram: &free[..nfree],
        devices: &devices[..ndev],
        root,
        modules: &modules[..nmod],
        num_irqs: hw.num_irqs(),
        reserved_irqs,
        timer_irq: hw.timer_irq(),
    };
    let timer = hw.timer_irq();
    match Kernel::boot(hw, &cfg) {
        Ok(k) => {
            kprintln!("kernel: starting the root task (tick IRQ {timer})");
            arch::start(k)
        }
        Err(e) => fail(format_args!("{e}")),
    }
}

fn fail(e: impl core::fmt::Display) -> ! {
    kprintln!("kernel: boot failed: {e}");
    arch::power_off()
}

/// Prints the boot-info record.
fn report(bi: &BootInfo) {
    kprintln!("kernel: image {:?} entry {:#x}", bi.kernel, bi.kernel_entry);
    for r in bi.ram() {
        kprintln!("kernel: RAM      {:?} {} MiB", r, r.size >> 20);
    }
    for r in bi.reserved() {
        kprintln!("kernel: reserved {:?}", r);
    }
    for r in bi.devices() {
        kprintln!("kernel: device   {:?}", r);
    }
    kprintln!("kernel: device tree {:?}", bi.dtb);
    kprintln!("kernel: {} modules", bi.n_modules);
    for (i, (name, cmdline, d)) in bi.modules().enumerate() {
        kprintln!(
            "kernel: module {i} name={name} size={} addr={:#x} flags={:?} cmdline=\"{cmdline}\"",
            d.region.size,
            d.region.base,
            Flags(d.flags)
        );
    }
    if bi.root.present != 0 {
        let r = &bi.root;
        kprintln!(
            "kernel: root task image at {:#x}, {} KiB, virtual {:#x}, entry {:#x}",
            r.paddr,
            r.size >> 10,
            r.vaddr,
            r.entry
        );
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    kprintln!("kernel: panic: {info}");
    arch::power_off()
}

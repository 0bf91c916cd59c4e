//! The microkernel.
//!
//! Entered by bootstrap at EL2 with the boot-info record in `x0` and
//! bootstrap's identity map still active. This is the early boot path: it
//! checks the record, brings up the console named in it and reports what it
//! was handed: the memory map, the device regions, every boot module with
//! its size and command line, and the root task's image.

#![no_std]
#![no_main]

mod arch;
mod console;

use bootimage::Flags;
use bootimage::handoff::BootInfo;

/// Early boot, called from the architecture's entry code.
fn boot(bi: &BootInfo) -> ! {
    if !bi.is_valid() {
        arch::power_off();
    }
    console::init(bi.uart_base);
    kprintln!("kernel: running at EL{}", arch::current_el());
    report(bi);
    kprintln!("kernel: no further work; powering off");
    arch::power_off()
}

/// Prints the boot-info record.
fn report(bi: &BootInfo) {
    let own = bi.modules().find(|(_, _, d)| Flags(d.flags).contains(Flags::KERNEL));
    if let Some((_, cmdline, _)) = own {
        kprintln!("kernel: command line \"{cmdline}\"");
    }
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
    } else {
        kprintln!("kernel: no root task");
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    kprintln!("kernel: panic: {info}");
    arch::power_off()
}

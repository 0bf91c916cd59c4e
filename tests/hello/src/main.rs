//! The `hello` root task: reports what the kernel handed it, the way seL4's
//! boot info describes it (initial caps, untypeds, the modules mapped into
//! its address space), reads the start of each module through that mapping,
//! and halts the system.

#![no_std]
#![no_main]

use sel4_runtime::println;

fn main(bootinfo: &sel4::BootInfo) {
    println!("hello: root task running");
    println!("hello: IPC buffer at {:#x}", bootinfo.ipc_buffer() as usize);
    println!("hello: empty slots {:?}", bootinfo.empty().range());
    let untypeds = bootinfo.untyped_list();
    let (mut ram, mut device) = (0u64, 0u64);
    for ut in untypeds {
        if ut.is_device() {
            device += 1u64 << ut.size_bits();
        } else {
            ram += 1u64 << ut.size_bits();
        }
    }
    println!(
        "hello: {} untypeds: {} KiB of RAM, {} MiB of device memory",
        untypeds.len(),
        ram >> 10,
        device >> 20
    );
    for ut in untypeds.iter().filter(|u| u.is_device()) {
        println!("hello: device untyped {:#x} 2^{}", ut.paddr(), ut.size_bits());
    }
    for m in bootinfo.modules() {
        let data = m.data();
        let head: &[u8] = &data[..data.len().min(16)];
        let sum = data.iter().fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(b as u32));
        println!(
            "hello: module name={} size={} vaddr={:#x} sum={sum:#010x} head={head:02x?} cmdline=\"{}\"",
            m.name(),
            m.size(),
            m.vaddr(),
            m.cmdline()
        );
    }
    println!("hello: done; halting");
}

sel4_runtime::declare_root_task!(main);

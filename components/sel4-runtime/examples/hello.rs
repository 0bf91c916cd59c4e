//! A minimal root task: prints what the boot info holds, logs a line and
//! halts by returning. Built for `aarch64-unknown-none` it shows the link
//! setup (`_start` at the start of `.text`, at 0x400000); on the host it is
//! an empty program so that host builds of the workspace still work.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod root_task {
    use sel4_runtime::println;

    fn main(bootinfo: &sel4::BootInfo) {
        println!("hello from the root task");
        println!("empty slots: {:?}", bootinfo.empty().range());
        for (i, ut) in bootinfo.untyped_list().iter().enumerate() {
            let kind = if ut.is_device() { "device" } else { "ram" };
            println!("untyped {i}: {:#x} 2^{} {kind}", ut.paddr(), ut.size_bits());
        }
        for module in bootinfo.modules() {
            println!("module {} ({} bytes) {}", module.name(), module.size(), module.cmdline());
        }
        log::info!("done");
    }

    sel4_runtime::declare_root_task!(main);
}

#[cfg(not(target_os = "none"))]
fn main() {}

//! The boot scripts of `ned-scripts/` run through the loader model: what
//! `vmm::start_vm` (rom/vmm.rhai) asks the loader for, for the scenario's
//! scripts and for the options users may get wrong.

use super::*;
use ::ned::model::Task;
use ::ned::{LogSpec, Obj};

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ned-scripts")
}

/// Runs `text` with rom/ as `ned-scripts/` (libraries read from there,
/// every program taken to exist); the programs it started.
fn run(text: &str) -> Vec<Task> {
    let rom = Rom::unlisted(&scripts_dir(), Vec::new());
    let mut ned = Ned::new(rom.model());
    if let Err(d) = ned.run("test.ned", text) {
        panic!("{}", ned.render(&d));
    }
    ned.into_backend().tasks().to_vec()
}

fn run_file(name: &str) -> Vec<Task> {
    run(&std::fs::read_to_string(scripts_dir().join(name)).unwrap())
}

/// The error `text` stops at, rendered.
fn error(text: &str) -> String {
    let rom = Rom::unlisted(&scripts_dir(), Vec::new());
    let r = check_text("test.ned", text, &rom);
    assert_eq!(r.errors, 1, "{}", r.text);
    r.text
}

fn caps(t: &Task) -> Vec<String> {
    t.req.caps.iter().map(|(n, c)| format!("{n}={c}")).collect()
}

fn args(t: &Task) -> Vec<&str> {
    program_env::split_args(&t.req.cmdline).collect()
}

fn tagged(tag: &str, colour: &str) -> LogSpec {
    LogSpec::Tagged { tag: tag.into(), colour: colour.into() }
}

/// A script calling start_vm with the options `opts`.
fn call(opts: &str) -> String {
    format!("import \"vmm\" as vmm;\nvmm::start_vm(#{{ {opts} }});\n")
}

/// A start_vm call with `extra` options after id 1 and an fdt.
fn vm(extra: &str) -> String {
    call(&format!("id: 1, fdt: \"rom/x.dtb\"{extra}"))
}

#[test]
fn uvmm_io_starts_cons_io_and_the_vm_as_the_tutorial() {
    let t = run_file("uvmm-io.ned");
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].req.cmdline, "rom/cons -a");
    assert_eq!(t[1].req.cmdline, "rom/io rom/io.cfg -vvvvvv rom/vm_hw.vbus");
    assert_eq!(t[1].req.log, tagged("io", "red"));
    assert_eq!(
        caps(&t[1]),
        ["rtc_irq=L4.Env.irq(34)[rws]", "sigma0=L4.Env.sigma0[rws]", "vm_hw=channel#1.svr[rws]"]
    );
    let vm = &t[2];
    assert_eq!(
        vm.req.cmdline,
        "rom/vmm -k rom/Image.gz -d rom/virt-arm_virt-64-pl031.dtb \
         -r rom/ramdisk-armv8-64.cpio.gz -c \"console=ttyAMA0 earlyprintk=1 rdinit=/init\" -i"
    );
    assert_eq!(
        args(vm),
        [
            "rom/vmm",
            "-k",
            "rom/Image.gz",
            "-d",
            "rom/virt-arm_virt-64-pl031.dtb",
            "-r",
            "rom/ramdisk-armv8-64.cpio.gz",
            "-c",
            "console=ttyAMA0 earlyprintk=1 rdinit=/init",
            "-i"
        ]
    );
    assert_eq!(vm.req.log, tagged("vm1", "white"));
    assert_eq!(vm.req.prio, 100);
    assert_eq!(
        caps(vm),
        [
            "asid_pool=L4.Env.asid_pool[rws]",
            "gicv=L4.Env.mmio(0x8040000, 0x10000)[rw]",
            "mem=L4.Env.ram(0x100000)[rws]",
            "ram=L4.Env.ram(0x8000000)[rws]",
            "vbus=channel#1[ws]"
        ]
    );
    // Every log but cons's own comes from cons, through the log_fab.
    let fab = t[2].req.log_fab.as_ref().map(|c| c.obj.clone());
    assert_eq!(fab, Some(Obj::Channel { id: 0, server: false }));
}

#[test]
fn uvmm_has_one_vm_without_vbus() {
    let t = run_file("uvmm.ned");
    assert_eq!(t.len(), 2);
    assert!(t[1].req.cmdline.starts_with("rom/vmm -k rom/Image.gz -d rom/virt-arm_virt-64.dtb "));
    assert!(!caps(&t[1]).iter().any(|c| c.starts_with("vbus=")), "{:?}", caps(&t[1]));
}

#[test]
fn uvmm_2vm_puts_each_vm_on_its_vbus() {
    let t = run_file("uvmm-2vm.ned");
    assert_eq!(t.len(), 4);
    assert_eq!(t[1].req.cmdline, "rom/io rom/io.cfg -vvvvvv rom/vm_hw.vbus rom/vm_other.vbus");
    let bus = |t: &Task| caps(t).into_iter().find(|c| c.starts_with("vbus="));
    assert_eq!(t[2].req.log, tagged("vm1", "white"));
    assert_eq!(t[3].req.log, tagged("vm2", "white"));
    // The channels: the log_fab, then vm_hw and vm_other in key order.
    assert_eq!(bus(&t[2]).as_deref(), Some("vbus=channel#1[ws]"));
    assert_eq!(bus(&t[3]).as_deref(), Some("vbus=channel#2[ws]"));
    for vm in &t[2..] {
        assert!(vm.req.cmdline.contains(" -d rom/virt-arm_virt-64-pl031.dtb "));
    }
}

#[test]
fn start_vm_defaults_and_options() {
    let t = run(&vm(""));
    assert_eq!(t[0].req.cmdline, "rom/vmm -k rom/linux -d rom/x.dtb");
    assert!(caps(&t[0]).contains(&"ram=L4.Env.ram(0x1000000)[rws]".to_string()));
    let t = run(&call(
        "id: 1, fdt: [\"rom/y.dtb\"], kernel: \"rom/k\", mem: 64, ram_base: 0x4000_0000, prio: 90, \
         cpus: 1, bootargs: \"say \\\"hi\\\"\", ext_args: [\"-v\", \"two words\", \"\"], \
         ext_caps: #{ mem: L4.Env.ram(0x20_0000), extra: L4.Env.irq(40) }",
    ));
    let vm = &t[0];
    assert_eq!(
        vm.req.cmdline,
        "rom/vmm -k rom/k -d rom/y.dtb -b 0x40000000 -c 'say \"hi\"' -v \"two words\" \"\""
    );
    assert_eq!(args(vm)[6..], ["0x40000000", "-c", "say \"hi\"", "-v", "two words", ""]);
    assert_eq!(vm.req.prio, 90);
    assert_eq!(
        caps(vm),
        [
            "asid_pool=L4.Env.asid_pool[rws]",
            "extra=L4.Env.irq(40)[rws]",
            "gicv=L4.Env.mmio(0x8040000, 0x10000)[rw]",
            "mem=L4.Env.ram(0x200000)[rws]",
            "ram=L4.Env.ram(0x4000000)[rws]"
        ]
    );
}

#[test]
fn start_vm_refuses_what_it_cannot_do() {
    let cases = [
        (vm(", cpas: 1"), "start_vm: unknown key `cpas` (known: id, mem, kernel, fdt, rd, "),
        (vm(", net: 1"), "start_vm: `net` is not supported (the vmm has no virtio network)"),
        (vm(", mem_align: 21"), "start_vm: `mem_align` is not supported"),
        (vm(", scheduler: 1"), "start_vm: `scheduler` is not supported (give a priority with"),
        (vm(", mon: \"x\""), "start_vm: `mon` is not supported"),
        (vm(", log: \"x\""), "start_vm: `log` is not supported"),
        (vm(", cpus: 3"), "start_vm: cpus = 3: only one virtual CPU is supported"),
        (call("id: 1, fdt: [\"rom/a.dtb\", \"rom/b.dtb\"]"), "start_vm: only one fdt is supported"),
        (call("id: 1, fdt: []"), "start_vm: only one fdt is supported"),
        (vm(", mem: \"128\""), "start_vm: `mem` must be MiB of guest RAM from 1 to 4096"),
        (vm(", mem: 0"), "start_vm: `mem` must be MiB of guest RAM from 1 to 4096"),
        (
            call("id: \"one\", fdt: \"rom/x.dtb\""),
            "start_vm: `id` must be a number from 0 up, not one (string)",
        ),
        (vm(", kernel: 5"), "start_vm: `kernel` must be a string, not 5 (i64)"),
        (vm(", ext_args: \"-i\""), "start_vm: `ext_args` must be an array of strings"),
        (vm(", ext_args: [1]"), "start_vm: `ext_args` must be a string, not 1 (i64)"),
        (vm(", bootargs: \"a\\\"b'c d\""), "start_vm: `bootargs` holds both kinds of quote"),
        (
            vm(", vbus: ()"),
            "start_vm: `vbus` must be a channel (a value of start_io's map), not ()",
        ),
        (vm(", ext_caps: 1"), "start_vm: `ext_caps` must be a map of caps, not i64"),
        (vm(", ram_base: -1"), "start_vm: `ram_base` must be an address"),
        (call("fdt: \"rom/x.dtb\""), "start_vm: `id` is required"),
        (call("id: 1"), "start_vm: `fdt` is required"),
        ("import \"vmm\" as vmm;\nvmm::start_vm(1);".into(), "start_vm: takes a map of options"),
        (vm(", prio: 300"), "start: prio 300 is out of range (0 to 254)"),
        (
            call("id: 123456789, fdt: \"rom/x.dtb\""),
            "start: log tag \"vm123456789\" must have 1 to 8 characters",
        ),
    ];
    for (script, want) in cases {
        let text = error(&script);
        assert!(text.contains(&format!(": error: {want}")), "{script}\nwant {want:?}\ngot {text}");
        assert!(text.starts_with("rom/vmm.rhai:"), "{text}");
    }
}

//! The configuration API on the scenario's files and on variations of
//! them: what the scripts build, and the dump io prints.

use io_config::{Config, Prop, ResKind, Trigger, VDev, dump, flags};

fn scenario_file(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ned-scripts").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(files: &[(&str, &str)]) -> Config {
    match io_config::load(files) {
        Ok((cfg, warnings)) => {
            assert!(warnings.is_empty(), "{warnings:#?}");
            cfg
        }
        Err(e) => panic!("{}", e.join("")),
    }
}

#[test]
fn the_scenario_describes_the_pl031_on_vm_hw() {
    let cfg = scenario_file("io.cfg");
    let vbus = scenario_file("vm_hw.vbus");
    let cfg = load(&[("rom/io.cfg", &cfg), ("rom/vm_hw.vbus", &vbus)]);
    assert_eq!(cfg.devices.len(), 2);
    let rtc = &cfg.devices[1];
    assert_eq!((rtc.name.as_str(), rtc.parent), ("rtc", Some(0)));
    assert_eq!(rtc.compatible, ["arm,pl031"]);
    let r: Vec<_> =
        rtc.resources.iter().map(|r| (r.name.as_str(), r.kind, r.start, r.end)).collect();
    assert_eq!(
        r,
        [("irq0", ResKind::Irq, 34, 34), ("reg0", ResKind::Mmio, 0x901_0000, 0x901_0fff)]
    );
    assert_eq!(rtc.resources[0].trigger(), Trigger::LevelHigh);
    assert_eq!(rtc.resources[0].flags, 0x30_0001);
    assert_eq!(rtc.resources[1].flags, 2);
    assert_eq!(rtc.resources[1].pos.to_string(), "rom/io.cfg:12:34");
    assert_eq!(cfg.buses.len(), 1);
    let bus = &cfg.buses[0];
    assert_eq!(bus.name, "vm_hw");
    assert_eq!(bus.devices.len(), 1);
    assert_eq!((bus.devices[0].name.as_str(), bus.devices[0].hw), ("PL031", 1));
    let devs = cfg.vbus_devices(0);
    assert_eq!(devs.len(), 2);
    assert_eq!(devs[0], VDev::Icu);
    assert!(cfg.mmio_on_bus(0, 0x901_0800).is_some());
    assert!(cfg.mmio_on_bus(0, 0x901_1000).is_none());
    assert!(cfg.irq_on_bus(0, 34) && !cfg.irq_on_bus(0, 33));
    assert_eq!(cfg.clients(1), [(0, 0)]);
}

#[test]
fn the_dump_has_the_seeds_layout() {
    let cfg = scenario_file("io.cfg");
    let vbus = scenario_file("vm_hw.vbus");
    let cfg = load(&[("rom/io.cfg", &cfg), ("rom/vm_hw.vbus", &vbus)]);
    assert_eq!(
        dump::irq_adds(&cfg, 0),
        ["Add IRQ resources to vbus: IRQ    [00000000000022-00000000000022 1] level high (32bit) \
          (align=0 flags=300001)"]
    );
    assert_eq!(
        dump::vbus(&cfg, 0),
        "vm_hw: [Virtual_sbus]
  Resources: ==== start ====
  Resources: ===== end =====
  L4ICU: [Sw_icu]
    Resources: ==== start ====
    Resources: ===== end =====
  PL031: [Proxy_dev]
    Resources: ==== start ====
      IRQ    [00000000000022-00000000000022 1] level high (32bit) (align=0 flags=300001)
      IOMEM  [00000009010000-00000009010fff 1000] non-pref (32bit) (align=fff flags=2)
    Resources: ===== end =====
"
    );
    assert_eq!(
        dump::hardware(&cfg),
        "Real Hardware -----------------------------------
System Bus: hid=
  Resources: ==== start ====
  Resources: ===== end =====
  rtc: hid=
    compatible= { \"arm,pl031\" }
    Clients: ===== start ====
      PL031: [Proxy_dev] on vbus vm_hw
    Clients: ===== end ====
    Resources: ==== start ====
      IRQ    [00000000000022-00000000000022 1] level high (32bit) (align=0 flags=300001)
      IOMEM  [00000009010000-00000009010fff 1000] non-pref (32bit) (align=fff flags=2)
    Resources: ===== end =====
"
    );
}

#[test]
fn device_bodies_set_hid_properties_children_and_flags() {
    let text = r#"
        Io.Dt.add_children(Io.system_bus(), || {
            this.gpio = Io.Hw.Device(|| {
                this.hid = "ARMH0061";
                this.compatible = "arm,pl061";
                this.Property.flags = Io.Hw_device_DF_multi_vbus;
                this.Property.ngpio = 8;
                this.adr = 0x20;
                this.Resource.regs = Io.Res.mmio(0x9030000, 0x9030fff, Io.Resource.F_read_only);
                this.Resource.irq = Io.Res.irq(39, Io.Resource.Irq_type_raising_edge);
                this.keys = Io.Hw.Device(|| #{ hid: "gpio-keys", Resource: #{ irq: Io.Res.irq(40) } });
            });
        });
        let b = Io.system_bus();
        Io.add_vbusses(#{
            a: Io.Vi.System_bus(|| { this.G = wrap(b.gpio); this.K = wrap(b.gpio.keys); }),
            b: Io.Vi.System_bus(|| #{ G: wrap(Io.system_bus().gpio) }),
        });
    "#;
    let cfg = load(&[("t.cfg", text)]);
    let g = &cfg.devices[1];
    assert_eq!((g.name.as_str(), g.hid.as_str()), ("gpio", "ARMH0061"));
    assert_eq!(g.compatible, ["arm,pl061"]);
    assert!(g.multi_vbus);
    assert!(g.props.contains(&("ngpio".into(), Prop::Int(8))));
    assert!(g.props.contains(&("adr".into(), Prop::Int(0x20))));
    assert!(g.resources[1].read_only());
    assert_eq!(g.resources[0].trigger(), Trigger::RaisingEdge);
    assert_eq!(g.resources[0].flags, flags::IRQ | 0x10_0000);
    let keys = &cfg.devices[2];
    assert_eq!((keys.parent, keys.hid.as_str()), (Some(1), "gpio-keys"));
    assert_eq!(keys.resources[0].trigger(), Trigger::None);
    assert_eq!(cfg.path(2), "gpio.keys");
    assert_eq!(cfg.buses.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(cfg.clients(1), [(0, 0), (1, 0)]);
    assert!(dump::resource_line(&g.resources[1]).contains("non-pref ro (32bit)"));
}

#[test]
fn lua_style_locals_and_the_global_add_children_work() {
    let text = "let add_children = Io.Dt.add_children;
        let Hw = Io.Hw;
        add_children(Io.system_bus(), || { this.uart = Hw.Device(|| { this.Resource.r = Io.Res.mmio(0x9000000, 0x9000fff); }); });";
    let cfg = load(&[("t.cfg", text)]);
    assert_eq!(cfg.devices[1].name, "uart");
    // The property is a function pointer too.
    let text = "let f = Io.Dt.add_children;
        f.call(Io.system_bus(), || { this.gpio = Io.Hw.Device(|| {}); });";
    let cfg = load(&[("t.cfg", text)]);
    assert_eq!(cfg.devices[1].name, "gpio");
}

#[test]
fn the_test_images_files_load() {
    let cfg = scenario_file("test-io.cfg");
    let a = scenario_file("test_a.vbus");
    let b = scenario_file("test_b.vbus");
    let cfg = load(&[("rom/test-io.cfg", &cfg), ("rom/test_a.vbus", &a), ("rom/test_b.vbus", &b)]);
    let names: Vec<(&str, &str)> =
        cfg.buses.iter().map(|b| (b.name.as_str(), b.devices[0].name.as_str())).collect();
    assert_eq!(names, [("test_a", "PL031"), ("test_b", "GPIO")]);
    assert!(cfg.mmio_on_bus(0, 0x901_0000).is_some() && cfg.mmio_on_bus(1, 0x901_0000).is_none());
    assert!(cfg.irq_on_bus(1, 39) && !cfg.irq_on_bus(1, 34));
    assert!(io_config::check::channels(&cfg, &["test_a", "test_b"], &[]).is_empty());
}

#[test]
fn the_two_vm_scenario_adds_an_empty_vbus() {
    let cfg = scenario_file("io.cfg");
    let hw = scenario_file("vm_hw.vbus");
    let other = scenario_file("vm_other.vbus");
    let cfg = load(&[("rom/io.cfg", &cfg), ("rom/vm_hw.vbus", &hw), ("rom/vm_other.vbus", &other)]);
    let names: Vec<&str> = cfg.buses.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["vm_hw", "vm_other"]);
    assert!(cfg.buses[1].devices.is_empty());
    assert!(cfg.mmio_on_bus(1, 0x901_0000).is_none());
    assert!(!cfg.irq_on_bus(1, 34));
    assert_eq!(cfg.clients(1), [(0, 0)], "the PL031 is on vm_hw only");
}

//! Every kind of bad configuration io refuses (or warns about), with the
//! place it points at: `file:line:col: error: message`, the line, a caret.

use io_config::check;

const RTC: &str = r#"Io.Dt.add_children(Io.system_bus(), || {
    this.rtc = Io.Hw.Device(|| {
        this.compatible = ["arm,pl031"];
        this.Resource.reg0 = Io.Res.mmio(0x9010000, 0x9010fff);
        this.Resource.irq0 = Io.Res.irq(34, Io.Resource.Irq_type_level_high);
    });
});
"#;

/// The rendered errors (and warnings) of loading `files`; panics if the
/// load succeeds without any.
fn errors(files: &[(&str, &str)]) -> String {
    match io_config::load(files) {
        Err(e) => e.join(""),
        Ok((_, w)) if !w.is_empty() => panic!("only warnings:\n{}", w.join("")),
        Ok(_) => panic!("loaded without errors"),
    }
}

fn warnings(files: &[(&str, &str)]) -> String {
    match io_config::load(files) {
        Ok((_, w)) => w.join(""),
        Err(e) => panic!("errors:\n{}", e.join("")),
    }
}

fn assert_has(text: &str, want: &str) {
    assert!(text.contains(want), "expected `{want}` in:\n{text}");
}

#[test]
fn overlapping_mmio_between_devices() {
    let more = r#"Io.Dt.add_children(Io.system_bus(), || {
    this.clash = Io.Hw.Device(|| { this.Resource.r = Io.Res.mmio(0x9000000, 0x9010fff); });
});"#;
    let e = errors(&[("rom/io.cfg", RTC), ("rom/more.cfg", more)]);
    assert_has(
        &e,
        "rom/more.cfg:2:61: error: MMIO [0x9000000-0x9010fff] of `clash` (Resource.r) overlaps \
         [0x9010000-0x9010fff] of `rtc` (Resource.reg0), described at rom/io.cfg:4:37",
    );
    assert_has(&e, "2 |     this.clash = Io.Hw.Device(|| { this.Resource.r = Io.Res.mmio(");
    assert_has(&e, &format!("  | {}^\n", " ".repeat(60)));
}

#[test]
fn overlapping_mmio_in_one_device() {
    let text = r#"Io.Dt.add_children(Io.system_bus(), || {
    this.d = Io.Hw.Device(|| {
        this.Resource.a = Io.Res.mmio(0x10000000, 0x10001fff);
        this.Resource.b = Io.Res.mmio(0x10001000, 0x10001fff);
    });
});"#;
    let e = errors(&[("x.cfg", text)]);
    assert_has(&e, "x.cfg:4:34: error: MMIO [0x10001000-0x10001fff] of `d` (Resource.b) overlaps");
    assert_has(&e, "of d's own Resource.a, described at x.cfg:3:34");
}

#[test]
fn irq_numbers_out_of_range() {
    for (n, col) in [("1020", 21), ("5", 21), ("-1", 21)] {
        let text = format!("let r = Io.Res.irq({n}, Io.Resource.Irq_type_level_high);");
        let e = errors(&[("x.cfg", &text)]);
        assert_has(&e, &format!("x.cfg:1:{}: error: Io.Res.irq({n}): out of range", col - 5));
        assert_has(&e, "GIC interrupt IDs of devices run from 16 to 1019");
    }
}

#[test]
fn bad_trigger_types_and_constants() {
    let e = errors(&[("x.cfg", "let r = Io.Res.irq(40, 3);")]);
    assert_has(
        &e,
        "x.cfg:1:16: error: Io.Res.irq(40, 0x3): not a trigger type; use Io.Resource.Irq_type_none",
    );
    let e = errors(&[("x.cfg", "let t = Io.Resource.Irq_type_level_middle;")]);
    assert_has(&e, "error: Io.Resource has no `Irq_type_level_middle` (it has Irq_type_none,");
}

#[test]
fn one_irq_on_two_devices() {
    let more = r#"Io.Dt.add_children(Io.system_bus(), || {
    this.other = Io.Hw.Device(|| { this.Resource.i = Io.Res.irq(34); });
});"#;
    let e = errors(&[("rom/io.cfg", RTC), ("rom/more.cfg", more)]);
    assert_has(
        &e,
        "rom/more.cfg:2:61: error: IRQ 34 of `other` (Resource.i) is already IRQ 34 of `rtc` \
         (Resource.irq0), described at rom/io.cfg:5:37; one line, one device",
    );
}

#[test]
fn mmio_must_be_whole_pages_in_order() {
    let e = errors(&[("x.cfg", "let r = Io.Res.mmio(0xa000000, 0xa0001ff);")]);
    assert_has(&e, "x.cfg:1:16: error: Io.Res.mmio(0xa000000, 0xa0001ff): not whole 4 KiB pages");
    let e = errors(&[("x.cfg", "let r = Io.Res.mmio(-4096, 0xfff);")]);
    assert_has(&e, "error: Io.Res.mmio(-4096, 0xfff): a negative address");
    let e = errors(&[("x.cfg", "let r = Io.Res.mmio(0x2000, 0x1fff - 0x1000);")]);
    assert_has(&e, "error: Io.Res.mmio(0x2000, 0xfff): the end lies before the start");
}

#[test]
fn a_device_on_two_vbusses_is_a_warning_unless_flagged() {
    let buses = r#"Io.add_vbusses(#{
    a: Io.Vi.System_bus(|| { this.A = wrap(Io.system_bus().rtc); }),
    b: Io.Vi.System_bus(|| { this.B = wrap(Io.system_bus().rtc); }),
});"#;
    let w = warnings(&[("rom/io.cfg", RTC), ("rom/ab.vbus", buses)]);
    assert_has(
        &w,
        "rom/ab.vbus:3:39: warning: device `rtc` is placed on vbus `b` and on vbus `a` (as A, at \
         rom/ab.vbus:2:39); both clients will drive it. If that is meant, set \
         `this.Property.flags = Io.Hw_device_DF_multi_vbus` in its description (rom/io.cfg:2:22)",
    );
    let flagged = RTC.replace(
        "this.compatible",
        "this.Property.flags = Io.Hw_device_DF_multi_vbus;\n        this.compatible",
    );
    assert_eq!(warnings(&[("rom/io.cfg", &flagged), ("rom/ab.vbus", buses)]), "");
}

#[test]
fn wrap_of_a_device_that_does_not_exist() {
    let bus = "Io.add_vbusses(#{\n    vm_hw: Io.Vi.System_bus(|| { this.PL031 = wrap(Io.system_bus().rtx); }),\n});";
    let e = errors(&[("rom/io.cfg", RTC), ("rom/vm_hw.vbus", bus)]);
    assert_has(&e, "rom/vm_hw.vbus:2:67: error: the system bus has no device `rtx` (it has rtc)");
    let e = errors(&[("rom/vm_hw.vbus", bus)]);
    assert_has(&e, "has no device `rtx` (it has none; is io.cfg loaded first?)");
    let bus = "Io.add_vbusses(#{ x: Io.Vi.System_bus(|| { this.P = wrap(\"rtc\"); }) });";
    let e = errors(&[("rom/io.cfg", RTC), ("rom/x.vbus", bus)]);
    assert_has(&e, "rom/x.vbus:1:53: error: wrap: needs a device of the system bus");
}

#[test]
fn vbusses_and_channels_must_pair_up() {
    let bus = "Io.add_vbusses(#{ vm_hw: Io.Vi.System_bus(|| { this.PL031 = wrap(Io.system_bus().rtc); }) });";
    let (cfg, _) = io_config::load(&[("rom/io.cfg", RTC), ("rom/vm_hw.vbus", bus)]).unwrap();
    assert!(check::channels(&cfg, &["vm_hw"], &[]).is_empty());
    let d = check::channels(&cfg, &["vm_hw", "other"], &["rom/io.cfg", "rom/vm_hw.vbus"]);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].render(None),
        "io: error: io was given the channel `other`, but no file defines vbus `other`: \
         rom/other.vbus is missing from the command line or does not say \
         Io.add_vbusses(#{ other: ... }) (files loaded: rom/io.cfg, rom/vm_hw.vbus)\n"
    );
    let d = check::channels(&cfg, &[], &[]);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].render(None).starts_with(
            "rom/vm_hw.vbus:1:32: error: vbus `vm_hw` has no channel: io was given no cap named `vm_hw`"
        ),
        "{}",
        d[0].render(None)
    );
}

#[test]
fn script_errors_have_file_line_and_column() {
    let e = errors(&[("rom/io.cfg", "let x = ;\n")]);
    assert_has(&e, "rom/io.cfg:1:9: error: syntax error:");
    // A runtime error inside a device body, in a second file.
    let bad = "Io.Dt.add_children(Io.system_bus(), || {\n    this.d = Io.Hw.Device(|| {\n        this.Resource.r = Io.Res.mmio(1);\n    });\n});";
    let e = errors(&[("rom/io.cfg", RTC), ("rom/bad.cfg", bad)]);
    assert_has(&e, "rom/bad.cfg:3:34: error: Function not found: mmio (Io.Res, i64)");
    assert_has(&e, "3 |         this.Resource.r = Io.Res.mmio(1);\n");
}

#[test]
fn lua_style_globals_get_a_hint() {
    let text = "Io.Dt.add_children(Io.system_bus(), || {\n    rtc = Io.Hw.Device(|| {});\n});";
    let e = errors(&[("io.cfg", text)]);
    assert_has(&e, "io.cfg:2:5: error: no variable `rtc`: where Lua sets a global");
    assert_has(&e, "sets a field of `this` (`this.rtc = ...`)");
}

#[test]
fn names_must_be_unique() {
    let e = errors(&[("rom/io.cfg", RTC), ("rom/again.cfg", RTC)]);
    assert_has(
        &e,
        "rom/again.cfg:2:22: error: device `rtc` is already on the system bus (added at rom/io.cfg:2:22)",
    );
    let bus =
        "Io.add_vbusses(#{ v: Io.Vi.System_bus(|| { this.P = wrap(Io.system_bus().rtc); }) });";
    let e = errors(&[("rom/io.cfg", RTC), ("rom/v.vbus", bus), ("rom/w.vbus", bus)]);
    assert_has(&e, "rom/w.vbus:1:28: error: vbus `v` is defined twice (first at rom/v.vbus:1:28)");
    let twice = "Io.add_vbusses(#{ v: Io.Vi.System_bus(|| { this.P = wrap(Io.system_bus().rtc); this.Q = wrap(Io.system_bus().rtc); }) });";
    let e = errors(&[("rom/io.cfg", RTC), ("rom/v.vbus", twice)]);
    assert_has(&e, "error: device `rtc` is on vbus `v` twice, as P and as Q");
}

#[test]
fn values_of_the_wrong_kind() {
    let cases = [
        (
            "Io.Dt.add_children(Io.system_bus(), || { this.d = Io.Hw.Device(|| { this.Resource.r = 5; }); });",
            "Io.Hw.Device: Resource.r is an integer; resources are made by Io.Res.mmio",
        ),
        (
            "Io.Dt.add_children(Io.system_bus(), || { this.d = 5; });",
            "Io.Dt.add_children: `d` is an integer; the function sets devices",
        ),
        (
            "Io.Dt.add_children(Io.system_bus(), || { this.d = Io.Hw.Device(|| 7); });",
            "Io.Hw.Device: the function ends with an integer",
        ),
        ("Io.add_vbusses(#{ v: 1 });", "Io.add_vbusses: `v` is an integer; each value is a vbus"),
        (
            "Io.add_vbusses(#{ v: Io.Vi.System_bus(|| { this.x = 1; }) });",
            "Io.Vi.System_bus: `x` is an integer; a vbus holds devices",
        ),
        ("Io.Dt.add_children(5, || {});", "Io.Dt.add_children: the first argument is the bus"),
    ];
    for (text, want) in cases {
        assert_has(&errors(&[("x.cfg", text)]), want);
    }
}

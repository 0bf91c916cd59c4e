//! QEMU tests of io and the vbus protocol, booted by moe from
//! `ned-scripts/test-io.ned` (entry `io-vbus`): io owns the PL031 and the
//! PL061 and serves vbus `test_a` (the PL031) and `test_b` (the PL061);
//! `vbustest` clients read the PL031 through test_a, are refused it
//! through test_b, and take its match interrupt through the vbus ICU.

use anyhow::{Context, Result, bail, ensure};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ned::plain;
use crate::project::{Built, Project};
use crate::qemu::Session;

const ENTRY: &str = "io-vbus";
const LIMIT: Duration = Duration::from_secs(90);
/// How far the PL031 may be from the host's clock.
const CLOCK_SLACK: u64 = 5;

fn boot(project: &Project) -> Result<Session> {
    let Built { path, .. } = project.image(ENTRY)?;
    Session::start(&path, &super::options())
}

fn expect(s: &mut Session, text: &str) -> Result<String> {
    match s.expect(text, LIMIT.saturating_sub(s.elapsed())) {
        Ok(got) => Ok(plain(&got)),
        Err(e) => bail!("{e}\n--- console ---\n{}", plain(&s.output())),
    }
}

/// Boots the entry until its script is done (io keeps serving); the plain
/// console output.
fn run(project: &Project) -> Result<String> {
    let mut s = boot(project)?;
    expect(&mut s, "ned     | irq exit code")?;
    Ok(plain(&s.output()))
}

/// Checks that each of `want` appears in `out`, in order, and none of
/// `never`.
fn in_order(out: &str, want: &[&str], never: &[&str]) -> Result<()> {
    let mut at = 0;
    for w in want {
        match out[at..].find(w) {
            Some(i) => at += i + w.len(),
            None => bail!("`{w}` missing (or out of order)\n--- console ---\n{out}"),
        }
    }
    for n in never {
        ensure!(!out.contains(n), "`{n}` should not appear\n--- console ---\n{out}");
    }
    Ok(())
}

/// A client of test_a finds `arm,pl031`, receives the frame of its
/// registers, reads its PrimeCell ID (a PL031's) and its data register:
/// seconds since the epoch, within a few seconds of the host's clock.
pub fn rtc_via_vbus(project: &Project) -> Result<()> {
    let mut s = boot(project)?;
    expect(
        &mut s,
        "rtc     | rtc: PL031 Resource.reg0 [0x9010000-0x9010fff]: got the frame of 0x9010000 \
         (read-write)",
    )?;
    expect(&mut s, "rtc     | rtc: periph id ")?;
    let id = expect(&mut s, "\n")?;
    let id = u32::from_str_radix(id.trim().trim_start_matches("0x"), 16)
        .with_context(|| format!("periph id {id:?}"))?;
    ensure!(id & 0xf_ffff == 0x4_1031, "periph id {id:#x} is not a PL031's (0x?41031)");
    expect(&mut s, "rtc     | rtc: ")?;
    let line = expect(&mut s, "\n")?;
    let host = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let rtc: u64 = line.trim().parse().with_context(|| format!("RTC reading {line:?}"))?;
    ensure!(
        rtc.abs_diff(host) <= CLOCK_SLACK,
        "the PL031 says {rtc}, the host {host}: {} s apart",
        rtc.abs_diff(host)
    );
    expect(&mut s, "ned     | rtc exit code 0")?;
    println!("io: PL031 read through vbus test_a: {rtc}, host {host}");
    Ok(())
}

/// A client of test_b (the PL061 only) does not find the PL031, and io
/// refuses it the PL031's page ("no MMIO resource"), a device index past
/// the bus, and the PL031's IRQ.
pub fn other_vbus_refused(project: &Project) -> Result<()> {
    let out = run(project)?;
    let want = [
        "refused | refused: device 0 `L4ICU` hid=L4ICU",
        "refused | refused: device 1 `GPIO` hid= compatible=[\"arm,pl061\", \"arm,primecell\"]",
        "refused | refused: no device compatible with arm,pl031 on this vbus",
        "refused | refused: map 0x9010000: no MMIO resource",
        "refused | refused: map device 2: no such device on this vbus",
        "refused | refused: bind IRQ 34: no IRQ resource",
        "refused | refused: ack IRQ 34: no IRQ resource",
        "ned     | refused exit code 0",
    ];
    in_order(&out, &want, &["bound?", "got the frame of 0x9010000?", "got a frame?", "found "])
}

/// A client of test_a binds the PL031's IRQ (34) to its notification
/// through the vbus ICU, sets the match register a second ahead and is
/// woken by the interrupt, twice (the ack unmasks the line); with the IRQ
/// masked at the ICU the match fires unseen and arrives at the unmask;
/// level-high mode is taken and level-low refused; after the unbind an
/// ack is refused.
pub fn irq_round_trip(project: &Project) -> Result<()> {
    let out = run(project)?;
    in_order(
        &out,
        &[
            "irq     | irq: IRQ 34 bound",
            "irq     | irq: fired after ",
            "irq     | irq: fired after ",
            "irq     | irq: masked: the line fired (RIS 1); delivered while masked: false",
            "irq     | irq: unmasked: the held delivery arrived",
            "irq     | irq: set mode level high: Ok(()), level low: Err(Unsupported)",
            "irq     | irq: ack Ok(()), unbind Ok(()), ack after unbind: Err(NotBound)",
            "ned     | irq exit code 0",
        ],
        &[],
    )?;
    for (round, line) in out.lines().filter(|l| l.contains("irq: fired after ")).enumerate() {
        let secs: u64 = line
            .split("fired after ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no seconds in {line:?}"))?;
        ensure!(
            (1..=2).contains(&secs),
            "round {}: the match interrupt came {secs} s after arming (1 s expected): {line}",
            round + 1
        );
        ensure!(line.contains("RIS 1, badge 1), ack Ok(())"), "round {}: {line}", round + 1);
    }
    Ok(())
}

/// io's `-vvvvvv` output has the layout of L4Re io's in the seed: the
/// service line, the level, a `Loading: config` line per file, each vbus
/// with its ICU and devices and their `Resources:` blocks, the real
/// hardware with each device's `Clients:`, the ready line.
pub fn verbose_dump(project: &Project) -> Result<()> {
    let out = run(project)?;
    let irq22 =
        "IRQ    [00000000000022-00000000000022 1] level high (32bit) (align=0 flags=300001)";
    let irq27 =
        "IRQ    [00000000000027-00000000000027 1] level high (32bit) (align=0 flags=300001)";
    let mem_rtc =
        "IOMEM  [00000009010000-00000009010fff 1000] non-pref (32bit) (align=fff flags=2)";
    let mem_gpio =
        "IOMEM  [00000009030000-00000009030fff 1000] non-pref (32bit) (align=fff flags=2)";
    let lines: Vec<String> = [
        "Io service",
        "Verboseness level: 7",
        "Loading: config 'rom/test-io.cfg'",
        "Loading: config 'rom/test_a.vbus'",
        "Loading: config 'rom/test_b.vbus'",
        &format!("Add IRQ resources to vbus: {irq22}"),
        "test_a: [Virtual_sbus]",
        "  Resources: ==== start ====",
        "  Resources: ===== end =====",
        "  L4ICU: [Sw_icu]",
        "    Resources: ==== start ====",
        "    Resources: ===== end =====",
        "  PL031: [Proxy_dev]",
        "    Resources: ==== start ====",
        &format!("      {irq22}"),
        &format!("      {mem_rtc}"),
        "    Resources: ===== end =====",
        &format!("Add IRQ resources to vbus: {irq27}"),
        "test_b: [Virtual_sbus]",
        "  L4ICU: [Sw_icu]",
        "  GPIO: [Proxy_dev]",
        &format!("      {irq27}"),
        &format!("      {mem_gpio}"),
        "Real Hardware -----------------------------------",
        "System Bus: hid=",
        "  Resources: ==== start ====",
        "  Resources: ===== end =====",
        "  gpio: hid=",
        "    compatible= { \"arm,pl061\", \"arm,primecell\" }",
        "    Clients: ===== start ====",
        "      GPIO: [Proxy_dev] on vbus test_b",
        "    Clients: ===== end ====",
        "  rtc: hid=",
        "    compatible= { \"arm,pl031\", \"arm,primecell\" }",
        "    Clients: ===== start ====",
        "      PL031: [Proxy_dev] on vbus test_a",
        "    Clients: ===== end ====",
        "    Resources: ==== start ====",
        &format!("      {irq22}"),
        &format!("      {mem_rtc}"),
        "    Resources: ===== end =====",
        "Ready. Waiting for request.",
    ]
    .iter()
    .map(|l| format!("io      | {l}\r\n"))
    .collect();
    let want: Vec<&str> = lines.iter().map(String::as_str).collect();
    in_order(&out, &want, &["io      | io: stopped", "error:", "warning:"])
}

/// `io-refuse`: io is given the PL031 but not the PL061 that its
/// configuration also describes; it prints an error at the line of each
/// resource it lacks (the PL061's registers and IRQ), with the line and a
/// caret, and stops with exit code 1.
pub fn unowned_hardware_refused(project: &Project) -> Result<()> {
    let cfg_path = project.root.join("ned-scripts/test-io.cfg");
    let cfg = std::fs::read_to_string(&cfg_path)
        .with_context(|| format!("reading {}", cfg_path.display()))?;
    let at = |needle: &str, call: &str| -> Result<(usize, usize, String)> {
        let (n, line) = cfg
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .with_context(|| format!("test-io.cfg has no `{needle}`"))?;
        let col = line.find(call).context("no call on the line")? + 1;
        Ok((n + 1, col, line.to_string()))
    };
    let (ml, mc, mtext) = at("Res.mmio(0x9030000", "mmio(")?;
    let (il, ic, _) = at("Res.irq(32 + 7", "irq(")?;
    let Built { path, .. } = project.image("io-refuse")?;
    let mut s = Session::start(&path, &super::options())?;
    expect(&mut s, "moe: no program is left running")?;
    let out = plain(&s.output());
    let want = [
        format!(
            "io      | rom/test-io.cfg:{ml}:{mc}: error: `gpio` Resource.reg0 \
             [0x9030000-0x9030fff]: io was not given the device memory at 0x9030000"
        ),
        format!("io      | {ml} | {mtext}\r\n"),
        format!("io      | {} | {}^\r\n", " ".repeat(ml.to_string().len()), " ".repeat(mc - 1)),
        format!(
            "io      | rom/test-io.cfg:{il}:{ic}: error: `gpio` Resource.irq0 (IRQ 39): io was \
             given neither its handler nor IRQ control"
        ),
        "io      | io: stopped; no vbus is served".into(),
        "ned     | io exit code 1".into(),
    ];
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    in_order(&out, &want, &["Ready.", "`rtc` Resource"])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_entries_files_exist() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ned-scripts");
        for f in ["test-io.ned", "test-io-refuse.ned", "test-io.cfg", "test_a.vbus", "test_b.vbus"]
        {
            assert!(root.join(f).is_file(), "{f}");
        }
    }
}

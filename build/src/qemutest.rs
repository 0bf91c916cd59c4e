//! The QEMU tests: each boots an image built from the modules.list and
//! checks what its serial console prints against what the host knows (the
//! resolved modules, their sizes, command lines). One line per test, then
//! `N passed, N failed`.

use crate::image::{self, Image};
use crate::project::{Built, Project};
use crate::qemu::{self, Session};
use anyhow::{Result, bail, ensure};
use std::time::{Duration, Instant};

mod cons;
mod io;
mod ned;
pub(crate) mod vm;

pub(crate) use ned::plain;

type TestFn = fn(&Project) -> Result<()>;

/// The tests, by name.
const TESTS: &[(&str, TestFn)] = &[
    ("boot.hello", hello_reports_modules),
    ("boot.corrupt_module_refused", corrupt_module_refused),
    ("boot.corrupt_table_refused", corrupt_table_refused),
    ("kernel.preempt_and_fpu", preempt_and_fpu),
    ("kernel.conformance", conformance),
    ("kernel.syscall_fuzz", syscall_fuzz),
    ("ned.channel", ned::channel),
    ("ned.isolation", ned::isolation),
    ("ned.script_error", ned::script_error),
    ("cons.concurrent_lines", cons::concurrent_lines),
    ("cons.input_focus", cons::input_focus),
    ("io.rtc_via_vbus", io::rtc_via_vbus),
    ("io.other_vbus_refused", io::other_vbus_refused),
    ("io.irq_round_trip", io::irq_round_trip),
    ("io.verbose_dump", io::verbose_dump),
    ("io.unowned_hardware_refused", io::unowned_hardware_refused),
    ("vm.direct_pl031_tree", vm::direct_pl031_tree),
    ("vm.direct_base_tree", vm::direct_base_tree),
    ("vm.date_passthrough", vm::date_passthrough),
    ("vm.date_1970", vm::date_1970),
    ("vm.two_vms", vm::two_vms),
];

/// The hello entry must boot and power off within this time.
const BOOT_LIMIT: Duration = Duration::from_secs(30);

pub fn run(project: &Project, names: &[String], list: bool) -> Result<()> {
    for n in names {
        if !TESTS.iter().any(|(t, _)| t == n) {
            bail!(
                "no QEMU test named '{n}'; the tests are: {}",
                TESTS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let chosen: Vec<_> =
        TESTS.iter().filter(|(t, _)| names.is_empty() || names.iter().any(|n| n == t)).collect();
    if list {
        for (t, _) in chosen {
            println!("{t}");
        }
        return Ok(());
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in chosen {
        let start = Instant::now();
        match test(project) {
            Ok(()) => {
                passed += 1;
                println!("qemu test {name} ... ok ({:.1} s)", start.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!(
                    "qemu test {name} ... FAILED ({:.1} s)\n{e:#}",
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
    println!("qemu: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} QEMU tests failed");
    }
    Ok(())
}

fn options() -> String {
    std::env::var("QEMU_OPTIONS").unwrap_or_else(|_| qemu::DEFAULT_OPTIONS.to_owned())
}

/// Boots `path`, waits for each of `milestones` in order, then collects the
/// output until QEMU exits by itself.
fn boot_to_exit(
    path: &std::path::Path,
    milestones: &[&str],
) -> Result<(String, std::process::ExitStatus, Duration)> {
    let mut s = Session::start(path, &options())?;
    for m in milestones {
        if let Err(e) = s.expect(m, BOOT_LIMIT.saturating_sub(s.elapsed())) {
            bail!("{e}\n--- console ---\n{}", s.output());
        }
    }
    let status = s.wait_exit(BOOT_LIMIT.saturating_sub(s.elapsed()));
    let out = s.output();
    match status {
        Ok(st) => Ok((out, st, s.elapsed())),
        Err(e) => bail!("{e}\n--- console ---\n{out}"),
    }
}

/// A word-wise checksum of a module, as the hello root task computes it.
fn module_sum(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(b as u32))
}

/// `make E=hello qemu`: bootstrap and the kernel print every module with
/// the size and command line the host packed; the root task reads every
/// module through its own mappings (its checksum must match the host's),
/// sees the PL031's device untyped, and halts the machine.
fn hello_reports_modules(project: &Project) -> Result<()> {
    // bootstrap inflates `[uncompress]` modules here (hello.txt.gz).
    let Built { path, modules } =
        project.image_inflating("hello", crate::image::Inflate::AtBoot)?;
    let milestones = ["kernel: running at EL2", "hello: root task running", "hello: done; halting"];
    let (out, status, took) = boot_to_exit(&path, &milestones)?;
    let fail =
        |what: String| -> anyhow::Error { anyhow::anyhow!("{what}\n--- console ---\n{out}") };
    if !status.success() {
        return Err(fail(format!("QEMU exited with {status}")));
    }
    if !out.contains(&format!("kernel: {} modules", modules.len())) {
        return Err(fail(format!("the kernel does not report {} modules", modules.len())));
    }
    for (i, m) in modules.iter().enumerate() {
        let r = &m.resolved;
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("kernel: module {i} name={} ", r.name)))
            .ok_or_else(|| fail(format!("no kernel line for module {i} ({})", r.name)))?;
        let size = format!(" size={} ", m.boot_size);
        let cmd = format!(" cmdline=\"{}\"", r.cmdline);
        if !line.contains(&size) || !line.trim_end().ends_with(&cmd) {
            return Err(fail(format!("module {i}: expected{size}and{cmd}, got: {line}")));
        }
        let data = m.boot_data()?;
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("hello: module name={} ", r.name)))
            .ok_or_else(|| fail(format!("the root task does not list module {}", r.name)))?;
        let sum = format!(" sum={:#010x} ", module_sum(&data));
        if !line.contains(&size) || !line.contains(&sum) || !line.trim_end().ends_with(&cmd) {
            return Err(fail(format!(
                "root task's view of {}: expected{size},{sum},{cmd}; got: {line}",
                r.name
            )));
        }
    }
    if !out.lines().any(|l| l.starts_with("hello: device untyped 0x9010000 ")) {
        return Err(fail("no device untyped for the PL031 at 0x9010000".into()));
    }
    ensure!(took < BOOT_LIMIT, "took {took:?}");
    Ok(())
}

/// Threads of equal priority that never yield share the CPU by time
/// slices, and keep their FP/SIMD registers across the switches.
fn preempt_and_fpu(project: &Project) -> Result<()> {
    suite(project, "preempt", 4, Duration::from_secs(60))
}

/// The seL4-style conformance suite (`tests/sel4test`): every test of the
/// kernel's API passes.
fn conformance(project: &Project) -> Result<()> {
    suite(project, "sel4test", 80, Duration::from_secs(120))
}

/// Random syscalls (`tests/sysfuzz`): the kernel survives them and keeps
/// another thread's memory and caps intact.
fn syscall_fuzz(project: &Project) -> Result<()> {
    suite(project, "sysfuzz", 2, Duration::from_secs(120))
}

/// Boots `entry`, whose root task runs a test suite printing one line per
/// test and closing with `N passed, N failed`; passes when that line says
/// no test failed and at least `min` ran. Failing tests' lines are shown.
fn suite(project: &Project, entry: &str, min: usize, limit: Duration) -> Result<()> {
    let Built { path, .. } = project.image(entry)?;
    let mut s = Session::start(&path, &options())?;
    let got = s.expect(" failed", limit);
    let out = s.output();
    let tail = |out: &str| {
        out.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Err(e) = got {
        bail!("{e}\n--- console (last lines) ---\n{}", tail(&out));
    }
    let summary = out
        .lines()
        .rev()
        .find_map(parse_summary)
        .ok_or_else(|| anyhow::anyhow!("no 'N passed, N failed' line\n{}", tail(&out)))?;
    let failures: Vec<&str> = out.lines().filter(|l| l.contains("FAILED")).collect();
    ensure!(summary.1 == 0, "{} passed, {} failed:\n{}", summary.0, summary.1, failures.join("\n"));
    ensure!(summary.0 >= min, "only {} tests ran (at least {min} expected)", summary.0);
    println!("{entry}: {} passed, {} failed", summary.0, summary.1);
    Ok(())
}

/// Reads `N passed, M failed` (possibly after a `word:` prefix).
fn parse_summary(line: &str) -> Option<(usize, usize)> {
    let line = line.trim();
    let rest = line.split_once(": ").map_or(line, |(_, r)| r);
    let (p, f) = rest.split_once(" passed, ")?;
    let f = f.strip_suffix(" failed")?;
    Some((p.trim().parse().ok()?, f.trim().parse().ok()?))
}

/// Flips one byte of `module`'s payload (or of the table itself) in a copy
/// of the hello image; returns the copy's path.
fn corrupt(
    project: &Project,
    at: impl FnOnce(&Image) -> Result<usize>,
    name: &str,
) -> Result<std::path::PathBuf> {
    let Built { path, .. } = project.image("hello")?;
    let mut img = Image::read(&path)?;
    let off = at(&img)?;
    img.bytes[off] ^= 0x5a;
    let bad = path.with_file_name(format!("hello-{name}.elf"));
    image::write_atomically(&bad, &img.bytes)?;
    Ok(bad)
}

/// A module whose bytes changed after packing is refused by bootstrap with
/// its name, and the machine powers off instead of booting it.
fn corrupt_module_refused(project: &Project) -> Result<()> {
    let mut victim = (0, String::new());
    let bad = corrupt(
        project,
        |img| {
            let t = img.table()?;
            let m = t
                .modules()
                .filter(|m| !m.data.is_empty())
                .last()
                .ok_or_else(|| anyhow::anyhow!("no module"))?;
            victim = (m.index, m.name.to_owned());
            Ok(img.table_offset + m.offset as usize + m.data.len() / 2)
        },
        "corrupt-module",
    )?;
    let (out, _, _) = boot_to_exit(&bad, &["bootstrap: error: "])?;
    let want = format!("bootstrap: error: module {} corrupt", victim.0);
    ensure!(
        out.contains(&want) && out.contains(&format!("({})", victim.1)),
        "expected '{want} ... ({})'\n--- console ---\n{out}",
        victim.1
    );
    ensure!(!out.contains("kernel:"), "the kernel ran despite the corrupt module\n{out}");
    Ok(())
}

/// A damaged module table is refused before anything is loaded.
fn corrupt_table_refused(project: &Project) -> Result<()> {
    let bad = corrupt(
        project,
        |img| Ok(img.table_offset + bootimage::table::HEADER_SIZE + 33),
        "corrupt-table",
    )?;
    let (out, _, _) = boot_to_exit(&bad, &["bootstrap: error: "])?;
    ensure!(
        out.contains("bootstrap: error: module table corrupt"),
        "expected the table to be refused\n--- console ---\n{out}"
    );
    ensure!(!out.contains("kernel:"), "the kernel ran despite the corrupt table\n{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_summary_lines() {
        assert_eq!(parse_summary("84 passed, 0 failed"), Some((84, 0)));
        assert_eq!(parse_summary("sel4test: 80 passed, 2 failed"), Some((80, 2)));
        assert_eq!(parse_summary("passed, failed"), None);
        assert_eq!(parse_summary("x passed, 0 failed"), None);
    }
}

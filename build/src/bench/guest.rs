//! The guest boot benchmark: how long the Linux guest of `uvmm-io` takes to
//! reach its `/init` and to answer a first `date`, booted by our system (the
//! `uvmm-io` image: kernel, moe, cons, io, vmm) against the same guest (its
//! kernel, ramdisk, device tree, boot arguments and RAM, read from the
//! entry's boot script) booted directly on the same QEMU, in the same run.
//!
//! Method. Both run under `-icount shift=0,sleep=off`: QEMU's virtual clock
//! advances one nanosecond per instruction executed, and when every CPU
//! waits for an interrupt it jumps to the next timer deadline at once
//! instead of waiting in real time. So virtual time counts the work done
//! plus the waits the software itself asked for, repeats from run to run,
//! and does not depend on the host's speed or load. The guest reads that
//! clock itself: its ramdisk's `/init` runs `/bin/cntvct` (the architected
//! counter, CNTVCT_EL0, see `guest/counter.rs`) as it starts and again
//! after a first `date`, and prints both counts with the frequency. The
//! counter counts from machine start in both boots: QEMU without EL2 has
//! no offset, and our vmm sets CNTVOFF_EL2 to 0. The marks therefore lie in
//! the guest, not in the host's reading of the serial port (whose delay
//! would be host time, and under `sleep=off` an idle guest's virtual time
//! races ahead of the host).
//!
//! Beside the two marks, the instructions executed so far are read from
//! QEMU's QMP (`query-replay`, whose `icount` QEMU keeps whenever `-icount`
//! is on) as soon as the host sees the counter line: instructions only,
//! without the waits, but read by the host, so late by its reaction time
//! (about a million instructions per millisecond on this QEMU; the guest is
//! busy starting its shell then). An idle machine is no fixed point to read
//! it at instead: under `sleep=off` its timers fire as fast as QEMU runs,
//! some 80 million instructions per real second for the idle guest.

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::guest::COUNTER_LINE;
use crate::project::{Built, Project};
use crate::qemu::Session;
use crate::qemutest::vm::{GUEST_BOOT, Guest, VmSetup};

/// The entry whose guest is measured, and its VM.
const ENTRY: &str = "uvmm-io";
const VM_ID: u32 = 1;
/// cons's key for vm1 in that entry (io is its first client).
const VM_KEY: char = '2';
/// QEMU's clock: one instruction per nanosecond, no real-time waits.
const ICOUNT: &str = "shift=0,sleep=off";
/// How long the system may take before the guest's kernel runs.
const SYSTEM_BOOT: Duration = Duration::from_secs(60);

/// What one boot measured.
#[derive(Clone, Debug, PartialEq)]
struct Boot {
    /// The counter's frequency.
    hz: u64,
    /// The counter as `/init` started.
    init: u64,
    /// The counter after `/init`'s first `date`.
    date: u64,
    /// That `date`'s answer.
    answer: String,
    /// Instructions executed when the host read the counter line.
    insns: Option<u64>,
}

impl Boot {
    fn ns(&self, ticks: u64) -> u64 {
        (u128::from(ticks) * 1_000_000_000 / u128::from(self.hz.max(1))) as u64
    }

    fn json(&self) -> Value {
        json!({
            "init_ns": self.ns(self.init),
            "date_ns": self.ns(self.date),
            "counter_hz": self.hz,
            "counter_init": self.init,
            "counter_date": self.date,
            "date": self.answer,
            "insns_at_counter_line": self.insns,
        })
    }
}

/// Reads `/init`'s counter line: `guest: counter at <hz> Hz: /init <n>,
/// date <n>: <answer>`.
fn parse_counter(line: &str) -> Option<Boot> {
    let rest = line.split_once(COUNTER_LINE)?.1;
    let (hz, rest) = rest.split_once(" Hz: /init ")?;
    let (init, rest) = rest.split_once(", date ")?;
    let (date, answer) = rest.split_once(": ")?;
    Some(Boot {
        hz: hz.trim().parse().ok()?,
        init: init.trim().parse().ok()?,
        date: date.trim().parse().ok()?,
        answer: answer.trim().to_owned(),
        insns: None,
    })
}

/// A QMP connection to QEMU.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects to QEMU's QMP socket at `path` (QEMU makes it as it starts)
    /// and leaves the capabilities negotiation mode.
    fn connect(path: &Path, limit: Duration) -> Result<Qmp> {
        let deadline = Instant::now() + limit;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(e)
                        .with_context(|| format!("connecting to QMP at {}", path.display()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut qmp = Qmp { reader: BufReader::new(stream.try_clone()?), writer: stream };
        let greeting = qmp.read()?;
        ensure!(greeting.get("QMP").is_some(), "not a QMP greeting: {greeting}");
        qmp.execute("qmp_capabilities")?;
        Ok(qmp)
    }

    fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        ensure!(self.reader.read_line(&mut line)? > 0, "QMP closed");
        serde_json::from_str(&line).with_context(|| format!("QMP sent {line:?}"))
    }

    /// Runs `command`; its `return` value (events in between are skipped).
    fn execute(&mut self, command: &str) -> Result<Value> {
        writeln!(self.writer, "{}", json!({ "execute": command }))?;
        loop {
            let v = self.read()?;
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                bail!("QMP {command}: {e}");
            }
        }
    }

    /// Instructions executed so far.
    fn icount(&mut self) -> Result<u64> {
        let r = self.execute("query-replay")?;
        r["icount"].as_u64().with_context(|| format!("query-replay gave no icount: {r}"))
    }
}

/// A QMP socket path for one boot, removed when dropped.
struct Socket(PathBuf);

impl Socket {
    fn new(name: &str) -> Socket {
        let p = std::env::temp_dir().join(format!("build-bench-{}-{name}.qmp", std::process::id()));
        let _ = std::fs::remove_file(&p);
        Socket(p)
    }

    /// QEMU's options for it, with the icount clock.
    fn options(&self) -> String {
        format!("-icount {ICOUNT} -qmp unix:{},server=on,wait=off", self.0.display())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Waits for the guest's counter line; reads the instruction count then.
fn measure(s: &mut Session, g: &mut Guest, socket: &Socket, limit: Duration) -> Result<Boot> {
    let mut qmp = Qmp::connect(&socket.0, Duration::from_secs(10))?;
    let line = g.line_with(s, limit, COUNTER_LINE)?;
    let insns = qmp.icount()?;
    let mut boot = parse_counter(&line).with_context(|| format!("unreadable: {line:?}"))?;
    boot.insns = Some(insns);
    Ok(boot)
}

/// The guest booted directly on QEMU.
fn direct(setup: &VmSetup, options: &str) -> Result<(Boot, String)> {
    let socket = Socket::new("direct");
    let extra = socket.options();
    let extra: Vec<&str> = extra.split(' ').collect();
    let cmd = setup.direct_command(options, &extra)?;
    let shown = format!("{cmd:?}");
    let mut s = Session::spawn(cmd)?;
    let r = measure(&mut s, &mut Guest::direct(), &socket, GUEST_BOOT);
    r.map(|b| (b, shown)).map_err(|e| console_error(&s, e))
}

/// The guest as vm1 of the `uvmm-io` image.
fn in_vm(project: &Project, options: &str) -> Result<Boot> {
    let Built { path, .. } = project.image(ENTRY)?;
    let socket = Socket::new("vm");
    let mut s = Session::start(&path, &format!("{options} {}", socket.options()))?;
    let mut g = Guest::on_cons(&format!("vm{VM_ID}"), Some(VM_KEY));
    measure(&mut s, &mut g, &socket, SYSTEM_BOOT + GUEST_BOOT).map_err(|e| console_error(&s, e))
}

fn console_error(s: &Session, e: anyhow::Error) -> anyhow::Error {
    let out = crate::qemutest::plain(&s.output());
    let lines: Vec<&str> = out.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    anyhow::anyhow!("{e:#}\n--- console (last lines) ---\n{tail}")
}

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

fn ratio(vm: Option<u64>, direct: Option<u64>) -> Option<f64> {
    match (vm, direct) {
        (Some(v), Some(d)) if d > 0 => Some(v as f64 / d as f64),
        _ => None,
    }
}

/// The table's rows: name, direct figure, vm figure (formatted), ratio.
fn rows(direct: &Boot, vm: Option<&Boot>) -> Vec<(&'static str, String, String, Option<f64>)> {
    let count = |n: Option<u64>| n.map_or("-".into(), |n| n.to_string());
    vec![
        (
            "/init starts",
            ms(direct.ns(direct.init)),
            vm.map_or("-".into(), |v| ms(v.ns(v.init))),
            ratio(vm.map(|v| v.ns(v.init)), Some(direct.ns(direct.init))),
        ),
        (
            "date answered",
            ms(direct.ns(direct.date)),
            vm.map_or("-".into(), |v| ms(v.ns(v.date))),
            ratio(vm.map(|v| v.ns(v.date)), Some(direct.ns(direct.date))),
        ),
        (
            "insns (QMP)",
            count(direct.insns),
            count(vm.and_then(|v| v.insns)),
            ratio(vm.and_then(|v| v.insns), direct.insns),
        ),
    ]
}

fn print_table(direct: &Boot, vm: Option<&Boot>) {
    println!(
        "guest boot, QEMU virtual time (-icount {ICOUNT}: 1 ns per instruction while running)"
    );
    println!("{:<16} {:>16} {:>16} {:>8}", "", "direct", format!("{ENTRY} vm{VM_ID}"), "ratio");
    for (name, d, v, r) in rows(direct, vm) {
        let r = r.map_or("-".into(), |r| format!("{r:.2}"));
        println!("{name:<16} {d:>16} {v:>16} {r:>8}");
    }
}

fn document(direct: &Boot, shown: &str, vm: &Result<Boot>, options: &str) -> Value {
    let v = vm.as_ref().ok();
    let r = rows(direct, v);
    json!({
        "unit": "ns of QEMU virtual time under -icount shift=0,sleep=off (one instruction per \
                 ns while running; idle waits jump to the next timer), read by the guest from \
                 its architected counter; insns_at_counter_line: instructions executed when \
                 the host saw that line (QMP query-replay)",
        "entry": ENTRY,
        "direct": direct.json(),
        "direct_qemu": shown,
        "vm": v.map(Boot::json),
        "vm_qemu": format!("{options} -icount {ICOUNT}"),
        "vm_error": vm.as_ref().err().map(|e| format!("{e:#}")),
        "ratio": {
            "init": r[0].3,
            "date": r[1].3,
            "insns_at_counter_line": r[2].3,
        },
    })
}

/// Runs the guest boot benchmark: the direct boot, then (unless
/// `baseline_only`) the VM; prints the table and writes the JSON to `out`
/// (default target/bench/guest.json). A failing VM boot is recorded in the
/// JSON and returned as the error, after the baseline is written.
pub fn run(
    project: &Project,
    options: &str,
    out: Option<PathBuf>,
    baseline_only: bool,
) -> Result<()> {
    let setup = VmSetup::of(project, ENTRY, VM_ID)?;
    let (direct, shown) = direct(&setup, options)?;
    let vm = if baseline_only {
        Err(anyhow::anyhow!("not run (--baseline-only)"))
    } else {
        in_vm(project, options)
    };
    print_table(&direct, vm.as_ref().ok());
    let out = out.unwrap_or_else(|| project.target_dir().join("bench").join("guest.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let doc = document(&direct, &shown, &vm, options);
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    match vm {
        Err(e) if !baseline_only => Err(e.context("the guest in the VM")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counter_line() {
        let b = parse_counter(
            "guest: counter at 62500000 Hz: /init 55848156, date 56749586: Thu Nov 26 22:50:07 \
             UTC 2026",
        )
        .unwrap();
        assert_eq!((b.hz, b.init, b.date), (62_500_000, 55_848_156, 56_749_586));
        assert_eq!(b.answer, "Thu Nov 26 22:50:07 UTC 2026");
        assert_eq!(b.ns(b.init), 893_570_496);
        assert!(parse_counter("guest: counter at  Hz: /init , date : x").is_none());
        assert!(parse_counter("guest: Linux is up").is_none());
    }

    #[test]
    fn ratios_and_document() {
        let d =
            Boot { hz: 1_000_000_000, init: 1000, date: 2000, answer: "x".into(), insns: Some(10) };
        let v = Boot { init: 3000, date: 5000, insns: None, ..d.clone() };
        let r = rows(&d, Some(&v));
        assert_eq!((r[0].3, r[1].3, r[2].3), (Some(3.0), Some(2.5), None));
        let doc = document(&d, "qemu", &Ok(v), "-M virt");
        assert_eq!(doc["ratio"]["init"], 3.0);
        assert_eq!(doc["vm"]["date_ns"], 5000);
        assert!(doc["vm_error"].is_null());
        let doc = document(&d, "qemu", &Err(anyhow::anyhow!("no vmm")), "-M virt");
        assert!(doc["vm"].is_null());
        assert_eq!(doc["vm_error"], "no vmm");
        assert_eq!(doc["direct"]["init_ns"], 1000);
    }
}

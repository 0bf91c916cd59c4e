//! `make bench`: the kernel's sel4bench-style benchmarks (the `bench` entry:
//! the sel4test root task in bench mode, the kernel with its `pmu` option)
//! under QEMU with `-icount shift=0`, where one instruction is one tick and
//! the figures repeat exactly from run to run. Prints a table beside seL4's
//! figures (measured the same way, and its published Cortex-A53 cycles) and
//! writes the results as JSON. Then the guest's boot time in a VM against
//! the same guest booted directly ([`guest`]).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::project::{Built, Project};
use crate::qemu::Session;

pub mod guest;

/// A benchmark's name; seL4 under QEMU 7.2 with `-icount shift=0`
/// (instructions); seL4's published Cortex-A53 cycles; our target.
type Reference = (&'static str, Option<u64>, Option<u64>, Option<u64>);

const REFERENCE: &[Reference] = &[
    ("null_syscall", Some(91), Some(130), Some(100)),
    ("ipc_call", Some(208), Some(260), Some(300)),
    ("ipc_reply_recv", Some(232), Some(278), Some(300)),
    ("signal_high_prio", Some(678), Some(560), None),
    ("yield", Some(365), Some(499), None),
    ("fault_round_trip", Some(1173), Some(1242), Some(1200)),
    ("irq_user", None, Some(656), None),
    ("map_1_page", Some(570), Some(644), None),
    ("map_512_pages", Some(286_730), None, None),
    // seL4's sel4bench has no VCPU benchmarks.
    ("vcpu_hvc_round_trip", None, None, None),
    ("vcpu_mmio_round_trip", None, None, None),
];

const LIMIT: Duration = Duration::from_secs(600);

/// Runs the benchmarks; writes JSON to `out` (default target/bench/kernel.json).
pub fn run(project: &Project, options: &str, out: Option<PathBuf>) -> Result<()> {
    let Built { path, .. } = project.image("bench")?;
    let options = format!("{options} -icount shift=0");
    let mut s = Session::start(&path, &options)?;
    if let Err(e) = s.expect(" measured, ", LIMIT) {
        bail!("{e}\n--- console ---\n{}", s.output());
    }
    let _ = s.expect(" failed", Duration::from_secs(5));
    let text = s.output();
    let results = parse(&text)?;
    print_table(&results);
    let out = out.unwrap_or_else(|| project.target_dir().join("bench").join("kernel.json"));
    write_json(&out, &results)?;
    println!("wrote {}", out.display());
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("BENCH-FAILED")).collect();
    if !failed.is_empty() {
        bail!("benchmarks failed:\n{}", failed.join("\n"));
    }
    Ok(())
}

/// The `BENCH {json}` lines of the console output.
fn parse(text: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(j) = line.trim_end_matches('\r').strip_prefix("BENCH ") {
            let v: Value = serde_json::from_str(j).with_context(|| format!("reading {j:?}"))?;
            out.push(v);
        }
    }
    if out.is_empty() {
        bail!("no BENCH lines in the output:\n{text}");
    }
    Ok(out)
}

fn reference(name: &str) -> (Option<u64>, Option<u64>, Option<u64>) {
    REFERENCE.iter().find(|r| r.0 == name).map_or((None, None, None), |r| (r.1, r.2, r.3))
}

fn cell(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn print_table(results: &[Value]) {
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>10} {:>8} {:>10} {:>9}",
        "benchmark", "median", "q1", "q3", "seL4 qemu", "ratio", "seL4 A53", "target"
    );
    for r in results {
        let name = r["name"].as_str().unwrap_or("?");
        let med = r["median"].as_u64().unwrap_or(0);
        let (q, a53, target) = reference(name);
        let ratio = q.map_or("-".into(), |q| format!("{:.2}", med as f64 / q as f64));
        let verdict = match target {
            Some(t) if med <= t => format!("<= {t} ok"),
            Some(t) => format!("<= {t} MISSED"),
            None => "-".into(),
        };
        println!(
            "{name:<20} {med:>9} {:>9} {:>9} {:>10} {ratio:>8} {:>10} {verdict:>9}",
            r["q1"].as_u64().unwrap_or(0),
            r["q3"].as_u64().unwrap_or(0),
            cell(q),
            cell(a53),
        );
    }
}

fn write_json(out: &Path, results: &[Value]) -> Result<()> {
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            let (q, a53, target) = reference(r["name"].as_str().unwrap_or(""));
            let mut r = r.clone();
            r["sel4_qemu_icount"] = json!(q);
            r["sel4_cortex_a53_cycles"] = json!(a53);
            r["target"] = json!(target);
            r
        })
        .collect();
    let doc = json!({
        "unit": "instructions (PMU INST_RETIRED, QEMU -icount shift=0)",
        "results": rows,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", out.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_bench_lines() {
        let text =
            "kernel: x\r\nBENCH {\"name\":\"yield\",\"median\":268,\"q1\":268,\"q3\":270}\r\n";
        let r = super::parse(text).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["median"], 268);
        assert!(super::parse("nothing").is_err());
    }
}

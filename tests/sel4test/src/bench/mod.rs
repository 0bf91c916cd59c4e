//! sel4bench-shaped benchmarks of the kernel, run instead of the tests when
//! the root task's command line says `bench` (the `bench` entry; `make
//! bench` boots it under QEMU with `-icount shift=0`).
//!
//! Every figure is a count of retired instructions, the kernel's included,
//! read from PMU counter 0, which the kernel exports when booted with its
//! `pmu` option. Each benchmark takes [`SAMPLES`] samples after
//! [`WARMUP`] discarded ones; the cost of reading the counter itself
//! (measured once, the median of back-to-back reads) is subtracted. Each
//! result is one line `BENCH {json}` with the median and quartiles; the
//! host turns them into a table and a JSON file.

mod cases;

use alloc::vec::Vec;
use core::arch::asm;

use sel4_runtime::println;

use crate::env::Env;

/// Samples kept per benchmark, and samples discarded before them.
pub const SAMPLES: usize = 200;
pub const WARMUP: usize = 20;

/// PMU counter 0: instructions retired so far.
#[inline(always)]
pub fn pmu() -> u64 {
    let v: u64;
    // SAFETY: reads a counter the kernel lets EL0 read (its `pmu` option);
    // no memory is touched.
    unsafe { asm!("mrs {}, pmevcntr0_el0", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// The counter's cost: the median difference of back-to-back reads.
fn overhead() -> u64 {
    let mut d: Vec<u64> = (0..64)
        .map(|_| {
            let a = pmu();
            let b = pmu();
            b.wrapping_sub(a)
        })
        .collect();
    d.sort_unstable();
    d[d.len() / 2]
}

/// Median, quartiles and extremes of `samples`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub n: usize,
    pub min: u64,
    pub q1: u64,
    pub median: u64,
    pub q3: u64,
    pub max: u64,
}

pub fn stats(samples: &mut [u64]) -> Stats {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: usize| samples[(n - 1) * q / 4];
    Stats { n, min: samples[0], q1: at(1), median: at(2), q3: at(3), max: samples[n - 1] }
}

/// A benchmark: its name, what it measures, and the function taking the
/// samples (raw counter differences).
pub struct Bench {
    pub name: &'static str,
    pub desc: &'static str,
    pub run: fn(&mut Env) -> crate::check::TestResult<Vec<u64>>,
}

/// Runs every benchmark, prints the results, halts.
pub fn run(env: &mut Env) -> ! {
    let ovh = overhead();
    println!("bench: {} benchmarks, counter overhead {ovh} instructions", cases::ALL.len());
    let (mut ok, mut failed) = (0, 0);
    for b in cases::ALL {
        let r = (b.run)(env);
        let c = env.cleanup();
        match r.and_then(|s| c.map(|()| s)) {
            Ok(mut s) if s.len() > WARMUP => {
                let mut s: Vec<u64> = s.drain(WARMUP..).map(|v| v.saturating_sub(ovh)).collect();
                let st = stats(&mut s);
                ok += 1;
                println!(
                    "BENCH {{\"name\":\"{}\",\"desc\":\"{}\",\"unit\":\"instructions\",\"n\":{},\
                     \"min\":{},\"q1\":{},\"median\":{},\"q3\":{},\"max\":{}}}",
                    b.name, b.desc, st.n, st.min, st.q1, st.median, st.q3, st.max
                );
            }
            Ok(s) => {
                failed += 1;
                println!("BENCH-FAILED {}: only {} samples", b.name, s.len());
            }
            Err(e) => {
                failed += 1;
                println!("BENCH-FAILED {}: {}", b.name, e.0);
            }
        }
    }
    println!("bench: {ok} measured, {failed} failed");
    sel4::debug_halt()
}

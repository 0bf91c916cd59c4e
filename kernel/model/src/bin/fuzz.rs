//! Runs the differential fuzzer on random seeds for a while:
//! `fuzz [SECONDS] [STEPS_PER_SEED]`. Prints the operations per second and
//! the seeds tried; on a divergence prints the seed and the operation
//! sequence and exits with status 1.

use kernel_model::runner::run;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let steps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let start_seed =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let start = Instant::now();
    let (mut seeds, mut ops) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(secs) {
        let seed = start_seed.wrapping_add(seeds);
        if let Err(d) = run(seed, steps) {
            println!("divergence after {seeds} seeds\n{d}");
            std::process::exit(1);
        }
        seeds += 1;
        ops += steps as u64;
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "fuzz: {seeds} seeds tried (from {start_seed}), {ops} ops in {t:.1} s, {:.0} ops/s",
        ops as f64 / t
    );
}

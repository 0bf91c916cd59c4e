//! Short seeded differential runs between the reference model and
//! `kernel-core`, fast enough for every `cargo test`; the `fuzz` binary
//! runs random seeds for longer.

use kernel_model::runner::run;

/// Operations per seed.
const STEPS: usize = 300;

#[test]
fn model_and_kernel_agree() {
    let mut ok = [0u64; 7];
    for seed in 1..=20u64 {
        match run(seed, STEPS) {
            Ok(n) => ok.iter_mut().zip(n).for_each(|(a, b)| *a += b),
            Err(d) => panic!("{d}"),
        }
    }
    eprintln!("successful Retype, Copy, Mint, Move, Mutate, Delete, Revoke: {ok:?}");
    // Every kind of operation succeeded some of the time.
    assert!(ok.iter().all(|&n| n > 10), "{ok:?}");
}

/// A longer run over more seeds: `cargo test -p kernel-model --release --
/// --ignored`.
#[test]
#[ignore]
fn model_and_kernel_agree_long() {
    for seed in 1000..1200u64 {
        if let Err(d) = run(seed, 3000) {
            panic!("{d}");
        }
    }
}

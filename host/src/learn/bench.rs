//! `zest bench`: how fast the embedded (or a given) model estimates, for a
//! batch of 1 and of N designs, on one thread and on every core, and the
//! process's peak memory. The designs are MLPs of 2–6 Dense layers with
//! widths, precisions and reuse factors drawn from a seeded generator.
//!
//! The peer measured in the same run is the gradient-boosted-trees
//! baseline ([`crate::learn::baselines::Gbt`]) when synthesis records are at hand
//! (it is trained on them first): the same designs, the same batches.

use std::time::Instant;

use serde::Serialize;

use crate::data::{mlp, synthetic_design};
use crate::design::{Activation, Design, Precision};
use crate::learn::surrogate::Surrogate;

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// What was timed.
    pub what: String,
    /// Designs per call.
    pub batch: usize,
    /// Threads.
    pub threads: usize,
    /// Estimates per second (median of the repetitions).
    pub per_second: f64,
    /// Median time per design, µs.
    pub micros_per_design: f64,
}

/// Everything `zest bench` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Measurements.
    pub rates: Vec<Rate>,
    /// Peak resident memory of the process, KiB (getrusage).
    pub peak_rss_kib: u64,
    /// Cores available.
    pub cores: usize,
}

/// `zest bench`: the surrogate at batch 1 and batch `n` (one thread, then
/// every core), and the GBT baseline (trained on the synthetic records
/// under `root`, when they load) on the same designs as the peer.
pub fn run(model: &Surrogate, n: usize, root: &std::path::Path) -> BenchReport {
    let set = designs(n, 7);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let work = surrogate_work(model);
    let mut rates = vec![
        time("zest surrogate", &set, 1, 1, 2001, &work),
        time("zest surrogate", &set, n, 1, 5, &work),
        time("zest surrogate", &set, n, cores, 5, &work),
    ];
    if let Ok(report) = crate::data::load_all(root, |_| {}) {
        let train: Vec<&Design> = report.designs.iter().filter(|d| !d.realistic).collect();
        if !train.is_empty() {
            let gbt = crate::learn::baselines::Gbt::fit(&train, 1);
            let peer = |ds: &[Design]| {
                let refs: Vec<&Design> = ds.iter().collect();
                gbt.predict(&refs).iter().map(|t| t.lut).sum::<f64>()
            };
            let name = "peer: GBT baseline (forust)";
            rates.push(time(name, &set, 1, 1, 2001, peer));
            rates.push(time(name, &set, n, 1, 5, peer));
            rates.push(time(name, &set, n, cores, 5, peer));
        }
    }
    BenchReport {
        rates,
        peak_rss_kib: peak_rss_kib(),
        cores,
    }
}

/// `n` seeded random MLP designs.
pub fn designs(n: usize, seed: u64) -> Vec<Design> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let depth = rng.usize(2..=6);
            let widths: Vec<u32> = (0..=depth).map(|_| 1 << rng.u32(3..=8)).collect();
            let bits = rng.u16(4..=16);
            let rf = 1 << rng.u32(0..=4);
            let resource = rng.bool();
            let layers = mlp(
                &widths,
                Precision {
                    width: bits,
                    integer: 3,
                    signed: true,
                },
                rf,
                Activation::Relu,
                Activation::Softmax,
            );
            synthetic_design(&format!("bench-{i}"), layers, resource)
        })
        .collect()
}

/// Peak resident set size of this process, KiB.
pub fn peak_rss_kib() -> u64 {
    // SAFETY: getrusage writes into the struct we own; a zeroed rusage is a
    // valid value of that plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a live rusage, RUSAGE_SELF is a valid target.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    if rc == 0 {
        u64::try_from(u.ru_maxrss).unwrap_or(0)
    } else {
        0
    }
}

/// Times `f` over `designs` in batches of `batch`, on `threads` threads,
/// `reps` times; the median rate.
pub fn time<F>(
    what: &str,
    designs: &[Design],
    batch: usize,
    threads: usize,
    reps: usize,
    f: F,
) -> Rate
where
    F: Fn(&[Design]) -> f64 + Sync,
{
    let work = &designs[..batch.min(designs.len())];
    let mut rates = Vec::new();
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        let mut sink = 0.0;
        if threads <= 1 {
            sink += f(work);
        } else {
            let chunk = work.len().div_ceil(threads).max(1);
            sink += std::thread::scope(|s| {
                let handles: Vec<_> = work.chunks(chunk).map(|c| s.spawn(|| f(c))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(0.0))
                    .sum::<f64>()
            });
        }
        let dt = start.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        rates.push(work.len() as f64 / dt.max(1e-12));
    }
    rates.sort_by(f64::total_cmp);
    let per_second = rates[rates.len() / 2];
    Rate {
        what: what.to_string(),
        batch: work.len(),
        threads,
        per_second,
        micros_per_design: 1e6 / per_second,
    }
}

/// Sums a target over estimates (keeps the work from being optimised away).
pub fn surrogate_work(model: &Surrogate) -> impl Fn(&[Design]) -> f64 + Sync + '_ {
    move |ds: &[Design]| ds.iter().map(|d| model.estimate(d).targets.lut).sum()
}

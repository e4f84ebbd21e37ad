//! A design sweep with the fixed-point model: every grid point of one
//! network estimated, hls4ml's rules applied, the points that break a limit
//! counted and dropped, and the feasible ones reduced to their Pareto set.
//! The firmware answers a `Sweep` request with this code and the host runs
//! the same for `zest sweep`, so the two give the same set, point for
//! point.
//!
//! ```text
//! for i in grid:                      zest_features::sweep (tokens as the host builds them)
//!   facts   = layer_facts(layer, i)
//!   raw     = estimate(quantize(token(facts)))           the caller's engine (bit-exact), model input type, round, saturate
//!   targets = rules(to_f64(raw))                         zest_features::rules
//!   infeasible if any targets[t] > limits[t]
//!   keep i unless a kept point is ≤ on every objective   (LUT, FF, DSP, BRAM18, latency)
//! ```
//!
//! Every step after the estimate is exact in IEEE-754 doubles (scaling by a
//! power of two, minima, comparisons), so the host and the board agree bit
//! for bit. The Pareto set is held in a caller's buffer of at most
//! [`MAX_FRONT`] points; a set that outgrows it is marked `overflow` (the
//! points that did not fit are dropped on both ends alike).

use serde::{Deserialize, Serialize};
use zest_features::rules::Rules;
use zest_features::sweep::{layer_facts, Grid, SweepLayer};
use zest_features::{LayerFacts, Target, N_TARGETS, TOKEN_LEN};

use crate::{FixedType, Overflow, Quant};

/// Most layers a swept network may have.
pub const MAX_LAYERS: usize = 32;
/// Most Pareto points a sweep keeps.
pub const MAX_FRONT: usize = 256;
/// The objectives, all minimised.
pub const OBJECTIVES: [Target; 5] = [
    Target::Lut,
    Target::Ff,
    Target::Dsp,
    Target::Bram18,
    Target::LatencyCycles,
];

/// One feasible, non-dominated grid point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its index in the grid ([`Grid::config`]).
    pub index: u32,
    /// Its targets after hls4ml's rules, in [`Target`] order.
    pub targets: [f64; N_TARGETS],
}

/// How a sweep went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Grid points estimated.
    pub evaluated: u32,
    /// Of those, the ones over a limit.
    pub infeasible: u32,
    /// Points in the Pareto set (the first `front` of the buffer).
    pub front: u32,
    /// The Pareto set outgrew the buffer: some non-dominated points were
    /// dropped.
    pub overflow: bool,
}

/// Why a sweep could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    /// The grid fails its checks.
    #[error("the grid is invalid ({0:?})")]
    Grid(zest_features::sweep::GridError),
    /// No layers, or more than [`MAX_LAYERS`].
    #[error("a swept network has 1..={MAX_LAYERS} layers")]
    Layers,
    /// The estimate failed (the engine's own error, flattened).
    #[error("the model could not estimate grid point {0}")]
    Estimate(u32),
}

/// Whether `a` is at least as good as `b` on every objective.
fn covers(a: &[f64; N_TARGETS], b: &[f64; N_TARGETS]) -> bool {
    OBJECTIVES.iter().all(|&t| a[t as usize] <= b[t as usize])
}

/// The tokens of one layer's facts in the model's input type (rounded to
/// nearest, saturated: as the host quantizes every token).
pub fn quantize_token(input: &FixedType, facts: &LayerFacts, out: &mut [i64; TOKEN_LEN]) {
    let r = input.with_modes(Quant::Rnd, Overflow::Sat);
    for (o, v) in out.iter_mut().zip(facts.token()) {
        *o = r.from_f64(f64::from(v));
    }
}

/// Sweeps `grid` over `layers`: `estimate(i, facts)` gives grid point
/// `i`'s raw totals (in `total`, the model's total type) from its layers'
/// facts (the firmware quantizes them with [`quantize_tokens`] and runs its
/// model; a caller that computed the totals ahead, in parallel, answers by
/// index); points over `limits` (target units, after the rules;
/// `f64::INFINITY` for none) are infeasible. The Pareto set goes to
/// `front`, ascending by grid index.
pub fn sweep<E>(
    total: &FixedType,
    layers: &[SweepLayer],
    grid: &Grid,
    limits: &[f64; N_TARGETS],
    front: &mut [Point],
    mut estimate: E,
) -> Result<Outcome, SweepError>
where
    E: FnMut(u32, &[LayerFacts]) -> Option<[i64; N_TARGETS]>,
{
    grid.check().map_err(SweepError::Grid)?;
    if layers.is_empty() || layers.len() > MAX_LAYERS {
        return Err(SweepError::Layers);
    }
    let n = layers.len();
    let mut facts = [layer_facts(&layers[0], 0, n, &dummy_config(grid), grid); MAX_LAYERS];
    let mut out = Outcome::default();
    let mut kept = 0usize;
    for i in 0..grid.len() {
        let Some(cfg) = grid.config(i) else { break };
        let index = i as u32;
        point_facts(layers, grid, &cfg, &mut facts[..n]);
        let raw = estimate(index, &facts[..n]).ok_or(SweepError::Estimate(index))?;
        let mut t = raw.map(|r| total.to_f64(r));
        Rules::of(&facts[..n]).apply(&mut t);
        out.evaluated += 1;
        if t.iter().zip(limits).any(|(v, max)| v > max) {
            out.infeasible += 1;
            continue;
        }
        if front[..kept].iter().any(|p| covers(&p.targets, &t)) {
            continue;
        }
        // Drop the points the new one dominates, keeping the order.
        let mut w = 0;
        for r in 0..kept {
            if !covers(&t, &front[r].targets) {
                front[w] = front[r];
                w += 1;
            }
        }
        kept = w;
        match front.get_mut(kept).filter(|_| kept < MAX_FRONT) {
            Some(slot) => {
                *slot = Point { index, targets: t };
                kept += 1;
            }
            None => out.overflow = true,
        }
    }
    out.front = kept as u32;
    Ok(out)
}

/// The layer facts of grid point `cfg` (`facts` as long as `layers`).
pub fn point_facts(
    layers: &[SweepLayer],
    grid: &Grid,
    cfg: &zest_features::sweep::Config,
    facts: &mut [LayerFacts],
) {
    let n = layers.len();
    for (k, (layer, f)) in layers.iter().zip(facts).enumerate() {
        *f = layer_facts(layer, k, n, cfg, grid);
    }
}

/// Every layer's token in the model's input type (`tokens` as long as
/// `facts`).
pub fn quantize_tokens(input: &FixedType, facts: &[LayerFacts], tokens: &mut [[i64; TOKEN_LEN]]) {
    for (f, t) in facts.iter().zip(tokens) {
        quantize_token(input, f, t);
    }
}

/// Any configuration, to initialise the facts buffer.
fn dummy_config(grid: &Grid) -> zest_features::sweep::Config {
    zest_features::sweep::Config {
        width: grid.widths[0],
        reuse_factor: 1,
        resource: false,
        stream: false,
    }
}

//! The estimator meets the board: one design's estimate report computed by
//! a fixed-point model (on a zest board, or the host's copy of the same
//! model, bit for bit), with each layer's share attributed by estimating
//! it alone; and the board benchmark (every data design and random ones
//! through the board, each answer checked against the host's copy).
//!
//! The link, the requests and the packing of tokens into frames are
//! `zest-board`'s; this module decides what to ask and what the answers
//! mean.

use serde::Serialize;
use zest_board::client::BoardClient;
use zest_board::estimate::{estimate_locally, estimate_on_board, BoardRun};
use zest_board::BoardError;
use zest_fixed::model::{FixedModel, ModelError, Tokens, N_TARGETS};
use zest_proto::Engine;

use crate::deploy::quantize::totals_to_targets;
use crate::design::Design;
use crate::estimate::{EstimateReport, UpperBound};
use crate::learn::surrogate::{round_targets, Surrogate};

/// Why a fixed-point estimate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FixedEstimateError {
    /// The fixed-point model does not parse.
    #[error("fixed-point model")]
    Model(#[source] ModelError),
    /// The board failed.
    #[error(transparent)]
    Board(#[from] BoardError),
    /// A design with no layers.
    #[error("{0} has no layers")]
    NoLayers(String),
}

/// Where the fixed-point model runs.
pub enum FixedEngine {
    /// On a board, through its client.
    Board(BoardClient),
    /// On the host's copy of the model.
    Host,
}

/// The design, then each layer alone: the requests that give a design's
/// totals and its per-layer attribution.
fn with_layers(tokens: &Tokens) -> Vec<Tokens> {
    let mut designs = vec![tokens.clone()];
    designs.extend(tokens.iter().map(|t| vec![t.clone()]));
    designs
}

/// Replaces the float surrogate's figures in `report` (made by
/// [`crate::estimate::estimate`] for `design`) by the fixed-point model's
/// (`fixed`: the model's bytes): the design's totals and, one layer per
/// design, each layer's costs; utilisation and upper bounds follow.
pub fn fixed_point_report(
    report: &mut EstimateReport,
    design: &Design,
    fixed: &[u8],
    engine: &mut FixedEngine,
    upper: Option<(&Surrogate, f64)>,
) -> Result<(), FixedEstimateError> {
    fixed_point_reports(
        std::slice::from_mut(report),
        std::slice::from_ref(design),
        fixed,
        engine,
        upper,
    )
}

/// [`fixed_point_report`] for many designs at once: on a board, every
/// design's and layer's tokens go out in as few `Estimate` requests as the
/// protocol allows (one round trip for a handful of designs).
pub fn fixed_point_reports(
    reports: &mut [EstimateReport],
    designs: &[Design],
    fixed: &[u8],
    engine: &mut FixedEngine,
    upper: Option<(&Surrogate, f64)>,
) -> Result<(), FixedEstimateError> {
    let model = FixedModel::parse(fixed).map_err(FixedEstimateError::Model)?;
    let id = FixedModel::id_of(fixed).map_err(FixedEstimateError::Model)?;
    let mut all: Vec<Tokens> = Vec::new();
    let mut spans = Vec::with_capacity(designs.len());
    for design in designs {
        let tokens = crate::tokens::quantized(&model.input, design);
        if tokens.is_empty() {
            return Err(FixedEstimateError::NoLayers(design.id.clone()));
        }
        let d = with_layers(&tokens);
        spans.push(all.len()..all.len() + d.len());
        all.extend(d);
    }
    let (totals, model_name) = match engine {
        FixedEngine::Board(client) => {
            let run = estimate_on_board(client, &model, id, &all, |_| {})?;
            let name = format!(
                "board {} ({}, fixed-point model {id:016x})",
                client.port(),
                engine_name(run.engine)
            );
            (run.totals, name)
        }
        FixedEngine::Host => (
            estimate_locally(&model, &all),
            format!("host fixed-point model {id:016x} (what a board computes)"),
        ),
    };
    let to_t = |raw: &[u64; N_TARGETS]| totals_to_targets(&model.total, &raw.map(|v| v as i64));
    for ((report, design), span) in reports.iter_mut().zip(designs).zip(spans) {
        let totals = &totals[span];
        let rules = crate::learn::rules::Rules::of(design, &crate::tokens::layer_facts(design));
        let total = rules.apply(to_t(&totals[0]));
        report.targets = round_targets(&total);
        for (l, raw) in report.layers.iter_mut().zip(&totals[1..]) {
            l.costs = to_t(raw).to_array();
        }
        let part = report.config.part.clone();
        if let Some(old) = crate::estimate::fit_warning(&part, report.utilisation) {
            report.warnings.retain(|w| *w != old);
        }
        report.utilisation = crate::estimate::utilisation_of(&part, &report.targets);
        report
            .warnings
            .extend(crate::estimate::fit_warning(&part, report.utilisation));
        if let Some((m, q)) = upper {
            report.upper = m.upper(&to_t(&totals[0]), q).map(|u| UpperBound {
                quantile: q,
                targets: round_targets(&rules.apply(u)),
            });
        }
        report.model = model_name.clone();
    }
    Ok(())
}

/// How an engine is named in reports.
pub fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Pl => "PL accelerator",
        Engine::Soft => "soft model",
    }
}

/// What the board benchmark measured (`zest board bench`).
#[derive(Debug, Clone, Serialize)]
pub struct BoardBench {
    /// Designs sent.
    pub designs: usize,
    /// Of which from the data (realistic ones included).
    pub from_data: usize,
    /// Realistic designs among them.
    pub realistic: usize,
    /// Layer tokens sent.
    pub tokens: usize,
    /// Requests.
    pub requests: usize,
    /// Designs whose board totals differ from the host's fixed-point model.
    pub mismatches: usize,
    /// Engine.
    pub engine: String,
    /// Wall seconds over the link.
    pub seconds: f64,
    /// Designs per second over the link.
    pub designs_per_s: f64,
    /// The host's own fixed-point model, same designs, one thread.
    pub host_designs_per_s: f64,
    /// Board timer ticks per design, and the tick rate.
    pub ticks_per_design: f64,
    /// Tick rate (Hz).
    pub tick_hz: u32,
    /// With `icount_shift`: guest instructions per design and per token.
    pub instructions_per_design: Option<f64>,
    /// Same per layer token.
    pub instructions_per_token: Option<f64>,
}

/// One design the board and the host disagree on.
#[derive(Debug, Clone, Serialize)]
pub struct BenchMismatch {
    /// Index among the designs sent.
    pub design: usize,
    /// The board's totals.
    pub board: [u64; N_TARGETS],
    /// The host's.
    pub host: [u64; N_TARGETS],
}

/// Options of [`bench`].
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Designs in all: the data's first, then random ones up to this count.
    pub designs: usize,
    /// Seed of the random designs.
    pub seed: u64,
    /// QEMU's `-icount shift=N`, if it runs so (instructions per estimate
    /// follow from the board's timer).
    pub icount_shift: Option<u8>,
}

/// Sends every design of `data` (as tokens of the model `fixed`), then
/// random designs, to the board; compares each answer with the host's copy
/// of the model and times both.
pub fn bench(
    client: &mut BoardClient,
    fixed: &[u8],
    data: &[Design],
    opts: &BenchOptions,
    progress: impl FnMut(usize, usize),
) -> Result<(BoardBench, Vec<BenchMismatch>), FixedEstimateError> {
    let mut progress = progress;
    let model = FixedModel::parse(fixed).map_err(FixedEstimateError::Model)?;
    let id = FixedModel::id_of(fixed).map_err(FixedEstimateError::Model)?;
    let from_data: Vec<Tokens> = data
        .iter()
        .map(|d| crate::tokens::quantized(&model.input, d))
        .filter(|t| !t.is_empty())
        .collect();
    let realistic = data.iter().filter(|d| d.realistic).count();
    let random = opts.designs.saturating_sub(from_data.len());
    let mut all = crate::deploy::hls::vectors(&model, &from_data, random, opts.seed);
    all.truncate(from_data.len() + random);
    let tokens: usize = all.iter().map(Vec::len).sum();
    let n = all.len();
    let started = std::time::Instant::now();
    let run: BoardRun = estimate_on_board(client, &model, id, &all, |k| progress(k, n))?;
    let seconds = started.elapsed().as_secs_f64();
    let t0 = std::time::Instant::now();
    let local = estimate_locally(&model, &all);
    let host_s = t0.elapsed().as_secs_f64();
    let mismatches: Vec<BenchMismatch> = (0..n)
        .filter(|i| run.totals[*i] != local[*i])
        .map(|i| BenchMismatch {
            design: i,
            board: run.totals[i],
            host: local[i],
        })
        .collect();
    let stats = client.stats()?;
    let ticks_per_design = run.ticks as f64 / n.max(1) as f64;
    let insn = opts.icount_shift.map(|s| {
        // -icount shift=N: each guest instruction advances virtual time 2^N ns.
        ticks_per_design / f64::from(stats.tick_hz) * 1e9 / f64::from(1u32 << s.min(20))
    });
    let b = BoardBench {
        designs: n,
        from_data: from_data.len(),
        realistic,
        tokens,
        requests: run.requests,
        mismatches: mismatches.len(),
        engine: format!("{:?}", run.engine),
        seconds,
        designs_per_s: n as f64 / seconds.max(1e-9),
        host_designs_per_s: n as f64 / host_s.max(1e-9),
        ticks_per_design,
        tick_hz: stats.tick_hz,
        instructions_per_design: insn,
        instructions_per_token: insn.map(|i| i * n as f64 / tokens.max(1) as f64),
    };
    Ok((b, mismatches))
}

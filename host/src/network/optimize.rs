//! `zest optimize`: MetaML-Pro's optimisation tasks run in a given order on
//! a user's network, with the estimator in place of synthesis after every
//! step (the rows of MetaML-Pro's Fig. 11 / Table 3).
//!
//! # Flow
//!
//! ```text
//! baseline   the input network at the uniform baseline precision
//! p          auto-pruning within alpha_p (step beta_p)      network changes
//! s          scaling within alpha_s                          network changes
//! q          QHS within alpha_q                              precisions change
//! after each step: float accuracy (val, test), fixed-point test accuracy at
//! the current precisions, pruning rate, weight bits, estimate + utilisation
//! ```
//!
//! A flow is a string of the letters (`spq`, `pq`, `qp`, ...), run left to
//! right; each task's accuracy loss is measured against its own input.
//! Until a `q` step runs, the network is at the baseline precision; after
//! it, the chosen precisions stay with the network through later steps.
//! Everything is seeded: the same inputs give the same report, bit for bit
//! (timings are kept apart, in [`Timing`]).

use std::time::Instant;

use serde::{Deserialize, Serialize};
use zest_fixed::FixedType;

use crate::board::FixedEstimateError;
use crate::dataset::{Dataset, Split};
use crate::design::{HlsConfig, Targets};
use crate::estimator::Estimator;
use crate::network::fixed::Precisions;
use crate::network::prune::{auto_prune, PruneConfig, PruneReport, PruneTrial};
use crate::network::quantize::{
    fixed_accuracy, qhs, weight_bits, QuantizeConfig, QuantizeError, QuantizeReport,
};
use crate::network::scale::{auto_scale, ScaleConfig, ScaleReport, ScaleTrial};
use crate::network::train::TrainOptions;
use crate::network::Mlp;

/// One optimisation task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Auto-pruning.
    Prune,
    /// Scaling.
    Scale,
    /// Quantization (QHS).
    Quantize,
}

impl Step {
    /// The flow letter.
    pub fn letter(self) -> char {
        match self {
            Step::Prune => 'p',
            Step::Scale => 's',
            Step::Quantize => 'q',
        }
    }
}

/// Why an optimisation could not run.
#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    /// A flow letter that is no task.
    #[error("flow {flow:?}: {letter:?} is not a task (p: prune, s: scale, q: quantize; e.g. spq)")]
    Flow {
        /// The flow given.
        flow: String,
        /// The letter.
        letter: char,
    },
    /// An empty flow.
    #[error("the flow is empty (give tasks in order, e.g. spq)")]
    EmptyFlow,
    /// A tolerance out of range.
    #[error("{name} = {value}: a tolerance is a fraction in [0, 1) (0.01 is 1 %)")]
    Tolerance {
        /// The flag.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// The network does not take the data's features or classes.
    #[error("the network takes {net_in} features and gives {net_out} classes, the data has {data_in} features and {data_out} classes")]
    Shape {
        /// Network inputs.
        net_in: usize,
        /// Network outputs.
        net_out: usize,
        /// Data features.
        data_in: usize,
        /// Data classes.
        data_out: usize,
    },
    /// QHS could not start.
    #[error(transparent)]
    Quantize(#[from] QuantizeError),
    /// The estimator failed (a board that stopped answering, a bad model).
    #[error("estimate: {0}")]
    Estimate(#[from] FixedEstimateError),
}

/// Parses a flow string (`spq`, `p`, `qp`, ...).
pub fn parse_flow(flow: &str) -> Result<Vec<Step>, OptimizeError> {
    let steps = flow
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            'p' => Ok(Step::Prune),
            's' => Ok(Step::Scale),
            'q' => Ok(Step::Quantize),
            letter => Err(OptimizeError::Flow {
                flow: flow.to_string(),
                letter,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err(OptimizeError::EmptyFlow);
    }
    Ok(steps)
}

/// Everything an optimisation run is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizeConfig {
    /// Tasks, in order.
    pub flow: Vec<Step>,
    /// Auto-pruning tolerance and step.
    pub prune: PruneConfig,
    /// Scaling tolerance and step factor.
    pub scale: ScaleConfig,
    /// QHS tolerance.
    pub quantize: QuantizeConfig,
    /// Training (fine-tuning, retraining) settings.
    pub train: TrainOptions,
    /// The baseline's uniform precision (hls4ml's `Model: Precision`).
    pub baseline: FixedType,
    /// Reuse factor, strategy, io type, part, clock of the design.
    pub hls: HlsConfig,
}

impl OptimizeConfig {
    fn check(&self) -> Result<(), OptimizeError> {
        for (name, value) in [
            ("alpha_p", self.prune.alpha),
            ("beta_p", self.prune.beta),
            ("alpha_s", self.scale.alpha),
            ("alpha_q", self.quantize.alpha),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(OptimizeError::Tolerance { name, value });
            }
        }
        if self.flow.is_empty() {
            return Err(OptimizeError::EmptyFlow);
        }
        Ok(())
    }
}

/// What a step's own task reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Detail {
    /// The input network.
    Baseline,
    /// Auto-pruning.
    Prune(PruneReport),
    /// Scaling.
    Scale(ScaleReport),
    /// QHS.
    Quantize(QuantizeReport),
}

/// The network after one step: a row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRow {
    /// `baseline`, then the flow so far (`s`, `sp`, `spq`).
    pub name: String,
    /// Widths, pruning rate, accuracies (fixed point: hls4ml's C
    /// simulation) and weight bits, as fields of the row's JSON.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// The precisions the design is estimated at.
    pub precisions: Precisions,
    /// The estimate.
    pub estimate: Targets,
    /// LUT, FF, DSP, BRAM18 as % of the part, when known.
    pub utilisation: Option<[f64; 4]>,
    /// Whether every resource is within the part.
    pub fits: Option<bool>,
    /// The estimator's warnings.
    pub warnings: Vec<String>,
    /// What the step's task reported.
    pub detail: Detail,
}

/// The whole run: deterministic (no timings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizeReport {
    /// The data file.
    pub data: String,
    /// Samples in the train, validation and test splits, and the seed.
    pub split: [usize; 3],
    /// The split's seed.
    pub split_seed: u64,
    /// The run's settings.
    pub config: OptimizeConfig,
    /// What answered the estimates.
    pub estimator: String,
    /// Baseline first, then one row per step.
    pub rows: Vec<StepRow>,
}

impl OptimizeReport {
    /// The last row against the first: (DSP ratio, LUT ratio, test-accuracy
    /// loss in fixed point).
    pub fn gain(&self) -> Option<(f64, f64, f64)> {
        let (a, b) = (self.rows.first()?, self.rows.last()?);
        Some((
            a.estimate.dsp / b.estimate.dsp.max(1.0),
            a.estimate.lut / b.estimate.lut.max(1.0),
            a.metrics.fixed_test_accuracy - b.metrics.fixed_test_accuracy,
        ))
    }
}

/// Where the time went (kept out of the report, which must not change
/// from run to run).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Seconds in all.
    pub seconds: f64,
    /// Per step (baseline first).
    pub step_seconds: Vec<f64>,
    /// Estimates made.
    pub estimates: usize,
    /// Seconds spent estimating.
    pub estimate_seconds: f64,
}

/// What the run reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A step starts.
    Step(Step),
    /// A pruning trial was decided.
    PruneTrial(PruneTrial),
    /// A scaling trial was decided.
    ScaleTrial(ScaleTrial),
    /// QHS: trials so far, knobs still reducible.
    Qhs(usize, usize),
    /// A row is done.
    Row(Box<StepRow>),
}

/// The optimised network and everything about how it came about.
#[derive(Debug, Clone)]
pub struct Optimized {
    /// The network.
    pub net: Mlp,
    /// Its precisions.
    pub precisions: Precisions,
    /// The report.
    pub report: OptimizeReport,
    /// Timings.
    pub timing: Timing,
}

/// What a network is measured by after every step (of `zest optimize`,
/// and of every task `zest explore` runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Layer widths.
    pub widths: Vec<usize>,
    /// Weights pruned, of all.
    pub pruning_rate: f64,
    /// Float accuracy, validation split.
    pub float_val_accuracy: f64,
    /// Float accuracy, test split.
    pub float_test_accuracy: f64,
    /// Fixed-point (hls4ml's arithmetic) accuracy at `p`, test split.
    pub fixed_test_accuracy: f64,
    /// Bits of the kept weights and biases at `p`.
    pub weight_bits: u64,
}

impl Metrics {
    /// Measures `net` at precisions `p` on `data` split by `split`.
    pub fn of(net: &Mlp, p: &Precisions, data: &Dataset, split: &Split) -> Self {
        Self {
            widths: net.widths(),
            pruning_rate: net.pruning_rate(),
            float_val_accuracy: net.accuracy(data, &split.val),
            float_test_accuracy: net.accuracy(data, &split.test),
            fixed_test_accuracy: fixed_accuracy(net, p, data, &split.test).unwrap_or(0.0),
            weight_bits: weight_bits(net, p),
        }
    }
}

struct Runner<'a> {
    data: &'a Dataset,
    split: &'a Split,
    cfg: &'a OptimizeConfig,
    estimator: &'a mut Estimator,
}

impl Runner<'_> {
    fn row(
        &mut self,
        name: String,
        net: &Mlp,
        p: &Precisions,
        detail: Detail,
    ) -> Result<StepRow, OptimizeError> {
        let design = net.design_at(&format!("zest-optimize-{name}"), p, &self.cfg.hls);
        let e = self.estimator.estimate(&design)?;
        Ok(StepRow {
            name,
            metrics: Metrics::of(net, p, self.data, self.split),
            precisions: p.clone(),
            estimate: e.targets,
            fits: e.utilisation.map(|u| u.iter().all(|v| *v <= 100.0)),
            utilisation: e.utilisation,
            warnings: e.warnings,
            detail,
        })
    }
}

/// Runs `cfg.flow` on `net` (which takes raw features) with `data` split
/// by `split`, estimating every step with `estimator`.
pub fn optimize(
    net: &Mlp,
    data: &Dataset,
    split: &Split,
    cfg: &OptimizeConfig,
    estimator: &mut Estimator,
    progress: &mut dyn FnMut(Progress),
) -> Result<Optimized, OptimizeError> {
    cfg.check()?;
    let widths = net.widths();
    let (net_in, net_out) = (widths[0], widths.last().copied().unwrap_or(0));
    if net_in != data.n_features() || net_out != data.classes.len() {
        return Err(OptimizeError::Shape {
            net_in,
            net_out,
            data_in: data.n_features(),
            data_out: data.classes.len(),
        });
    }
    let started = Instant::now();
    let mut timing = Timing::default();
    let describe = estimator.describe();
    let mut run = Runner {
        data,
        split,
        cfg,
        estimator,
    };
    let mut net = net.clone();
    let mut p = Precisions::uniform(cfg.baseline, net.layers.len());
    let mut rows = vec![run.row("baseline".into(), &net, &p, Detail::Baseline)?];
    progress(Progress::Row(Box::new(rows[0].clone())));
    timing.step_seconds.push(started.elapsed().as_secs_f64());
    let mut name = String::new();
    for &step in &cfg.flow {
        let t = Instant::now();
        progress(Progress::Step(step));
        name.push(step.letter());
        let detail = match step {
            Step::Prune => {
                let (n, r) = auto_prune(&net, data, split, &cfg.prune, &cfg.train, &mut |t| {
                    progress(Progress::PruneTrial(t.clone()))
                });
                net = n;
                Detail::Prune(r)
            }
            Step::Scale => {
                let (n, r) = auto_scale(&net, data, split, &cfg.scale, &cfg.train, &mut |t| {
                    progress(Progress::ScaleTrial(t.clone()))
                });
                net = n;
                Detail::Scale(r)
            }
            Step::Quantize => {
                let (q, r) = qhs(&net, data, split, &cfg.quantize, |done, left| {
                    progress(Progress::Qhs(done, left))
                })?;
                p = q;
                Detail::Quantize(r)
            }
        };
        let row = run.row(name.clone(), &net, &p, detail)?;
        progress(Progress::Row(Box::new(row.clone())));
        rows.push(row);
        timing.step_seconds.push(t.elapsed().as_secs_f64());
    }
    let (estimates, estimate_seconds) = run.estimator.usage();
    timing.estimates = estimates;
    timing.estimate_seconds = estimate_seconds;
    timing.seconds = started.elapsed().as_secs_f64();
    let report = OptimizeReport {
        data: data.source.display().to_string(),
        split: [split.train.len(), split.val.len(), split.test.len()],
        split_seed: split.seed,
        config: cfg.clone(),
        estimator: describe,
        rows,
    };
    Ok(Optimized {
        net,
        precisions: p,
        report,
        timing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_are_letters_in_order() {
        assert_eq!(
            parse_flow("SpQ").unwrap(),
            [Step::Scale, Step::Prune, Step::Quantize]
        );
        let e = parse_flow("spx").unwrap_err().to_string();
        assert!(e.contains("'x' is not a task"), "{e}");
        assert!(matches!(parse_flow(" "), Err(OptimizeError::EmptyFlow)));
    }
}

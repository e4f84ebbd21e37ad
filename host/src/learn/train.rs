//! Training the [`Surrogate`] with burn (CPU `flex` backend): full-batch
//! Adam on log-space targets, seeded, with early stopping on a validation
//! set and the best weights kept.

use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use zest_features::{log_cost_prior, SCHEMA_VERSION, TOKEN_LEN};

use crate::design::Design;
use crate::learn::surrogate::{Dense, Member, Surrogate, TokenRange, II, LOG_COST_MAX, N_TARGETS};
use crate::tokens::tokens;

/// Training settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainConfig {
    /// Width of each hidden layer.
    pub hidden: usize,
    /// Number of hidden layers.
    pub depth: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Maximum full-batch steps.
    pub max_steps: usize,
    /// Stop after this many steps without a better validation loss.
    pub patience: usize,
    /// Seed of the weight initialisation (member k uses seed + k).
    pub seed: u64,
    /// Ensemble members.
    pub members: usize,
    /// Clamp per-layer log-costs at the cap while training too (else only
    /// at inference).
    pub cap_in_training: bool,
    /// What the log-space error is scored by.
    pub loss: LossKind,
    /// Data-set balance B of the loss: a design weighs n^-B, n the designs
    /// of its data set (0: every design alike, so the largest sweep
    /// decides; 1: every data set alike). 0.5 by measurement: with the
    /// 2,543 jdweitz designs two thirds of the data, B = 0 let them pull
    /// the realistic networks' leave-one-out SMAPE to 88 %, B = 0.5 59 %
    /// (seed 1; docs/accuracy.md).
    pub balance: f64,
    /// Range floor K of the normaliser: no slot is scaled by less than
    /// 1/K of its training range (0: the standard deviation alone). A slot
    /// whose values are mostly alike with a few far out (16-bit widths
    /// against a QKeras layer's 78-bit results, kernel sizes against a
    /// global pooling's, a rare layer kind's one-hot) otherwise normalises
    /// those few to |z| of 30-90, where each ensemble member extrapolates
    /// its own way and one member's blow-up sets the mean (a 22-cycle
    /// project estimated at 4e7 cycles). 4 by measurement
    /// (docs/accuracy.md).
    pub range_floor: f64,
    /// Weight λ of per-module supervision: where a design's records hold
    /// its layers' own resources (per-module HLS reports: the Zynq-7000
    /// MLPs, the hls4ml projects), the loss adds λ × the same score of
    /// each layer's LUT, FF, DSP and BRAM18 against its module's, so the
    /// per-layer attribution is learnt, not only inferred from totals.
    /// Latency and II are left to the totals: a dataflow design's modules
    /// overlap, so theirs do not add up.
    pub layer_weight: f64,
    /// Learn each layer's LUT, FF and DSP as an offset from ln(1 +
    /// multipliers instantiated) ([`zest_features::log_cost_prior`]), not
    /// from 0: the network then learns a cost per multiplier. Folded into
    /// the exported weights (`fold_prior`), so the model format is
    /// unchanged. Off by default: measured in docs/accuracy.md.
    pub mult_prior: bool,
}

/// The scale of a slot constant in training: it normalises to 0, so the
/// network never reads it.
const CONSTANT_SLOT_STD: f32 = 1e30;

/// Targets supervised per layer ([`TrainConfig::layer_weight`]): the
/// resources, which add up over modules.
const LAYER_TARGETS: usize = 4;

/// How training scores the error e = ln(1 + estimate) − ln(1 + truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum LossKind {
    /// Mean of e²: large misses dominate.
    Mse,
    /// Mean of |e|: every design pulls with the same force, close to what
    /// SMAPE scores (|e| ≈ SMAPE for small errors).
    L1,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 48,
            depth: 2,
            learning_rate: 3e-3,
            max_steps: 4000,
            patience: 400,
            seed: 1,
            members: 5,
            cap_in_training: false,
            loss: LossKind::L1,
            balance: 0.5,
            range_floor: 4.0,
            layer_weight: 0.0,
            mult_prior: false,
        }
    }
}

/// What training did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainLog {
    /// Steps run.
    pub steps: usize,
    /// Step with the best validation loss.
    pub best_step: usize,
    /// Best validation loss (the training loss, on the validation designs).
    pub best_val_loss: f64,
    /// Training loss at the best step.
    pub train_loss: f64,
}

#[derive(Module, Debug)]
struct Net {
    hidden: Vec<Linear>,
    output: Linear,
    skip: Linear,
    act: Relu,
}

impl Net {
    fn new(cfg: &TrainConfig, inputs: usize, device: &Device) -> Self {
        let mut hidden = Vec::new();
        let mut width = inputs;
        for _ in 0..cfg.depth {
            hidden.push(LinearConfig::new(width, cfg.hidden).init(device));
            width = cfg.hidden;
        }
        Self {
            hidden,
            output: LinearConfig::new(width, N_TARGETS).init(device),
            skip: LinearConfig::new(inputs, N_TARGETS).init(device),
            act: Relu::new(),
        }
    }

    /// Per-layer log-costs `[layers, targets]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x.clone();
        for l in &self.hidden {
            h = self.act.forward(l.forward(h));
        }
        self.output.forward(h) + self.skip.forward(x)
    }
}

/// Designs as tensors. Layer rows are ordered by design and the designs
/// by layer count, so a run of designs with the same count is one
/// `[designs, layers, targets]` block: a design's total is a sum (and its
/// II a max) over its block's middle axis. That costs O(layers) a step,
/// where a dense design × layer membership matrix cost O(designs ×
/// layers): 44 M entries, and most of a step, once the 2,463 jdweitz runs
/// joined the data.
struct Batch {
    /// Normalised tokens `[layers, TOKEN_LEN]`, in block order.
    x: Tensor<2>,
    /// Per block, in row order: (designs, layers of each).
    blocks: Vec<(usize, usize)>,
    /// Per design in the caller's order, its row in block order.
    restore: Tensor<1, Int>,
    /// ln(1 + target) `[designs, targets]` (0 where unknown).
    y: Tensor<2>,
    /// 1 where the target is known.
    mask: Tensor<2>,
    /// Per layer row (block order), ln(1 + its module's target) `[layers,
    /// targets]` (0 where unknown).
    ly: Tensor<2>,
    /// 1 (the design's weight) where a layer's target is known.
    lmask: Tensor<2>,
    /// Whether any layer target is known.
    layered: bool,
    /// Per-target cap of the per-layer log-cost `[1, targets]`.
    cap: Tensor<2>,
    /// Whether to apply `cap`.
    capped: bool,
    /// Per layer row (block order), the log-cost prior added to the
    /// network's output `[layers, targets]`, where the model has one.
    prior: Option<Tensor<2>>,
}

impl Batch {
    /// A batch of `rows[i]` (design i's normalised layer rows, each
    /// `width` wide) with targets `y`, `mask` in the caller's order.
    /// `layers[i]` is design i's per-layer (y, mask), `[its layers,
    /// targets]` row-major.
    fn new(
        rows: Vec<Vec<f32>>,
        width: usize,
        (y, mask): (Vec<f32>, Vec<f32>),
        layers: Vec<(Vec<f32>, Vec<f32>)>,
        priors: Option<Vec<Vec<f32>>>,
        caps: Option<&[f32]>,
        device: &Device,
    ) -> Self {
        let n_d = rows.len();
        let count = |i: usize| rows[i].len() / width.max(1);
        let mut order: Vec<usize> = (0..n_d).collect();
        order.sort_by_key(|&i| count(i));
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut restore = vec![0i64; n_d];
        let mut x = Vec::new();
        let (mut ly, mut lmask) = (Vec::new(), Vec::new());
        let mut prior = Vec::new();
        for (r, &i) in order.iter().enumerate() {
            restore[i] = r as i64;
            match blocks.last_mut() {
                Some((n, l)) if *l == count(i) => *n += 1,
                _ => blocks.push((1, count(i))),
            }
            x.extend_from_slice(&rows[i]);
            let want = count(i) * N_TARGETS;
            if let Some(p) = priors.as_ref().and_then(|p| p.get(i)) {
                prior.extend_from_slice(p);
            }
            match layers.get(i) {
                Some((y, m)) if y.len() == want && m.len() == want => {
                    ly.extend_from_slice(y);
                    lmask.extend_from_slice(m);
                }
                _ => {
                    ly.extend(std::iter::repeat_n(0.0, want));
                    lmask.extend(std::iter::repeat_n(0.0, want));
                }
            }
        }
        let n_l = x.len() / width.max(1);
        let layered = lmask.iter().any(|m| *m > 0.0);
        Batch {
            x: Tensor::from_data(TensorData::new(x, [n_l, width]), device),
            blocks,
            restore: Tensor::from_data(TensorData::new(restore, [n_d]), device),
            y: Tensor::from_data(TensorData::new(y, [n_d, N_TARGETS]), device),
            mask: Tensor::from_data(TensorData::new(mask, [n_d, N_TARGETS]), device),
            ly: Tensor::from_data(TensorData::new(ly, [n_l, N_TARGETS]), device),
            lmask: Tensor::from_data(TensorData::new(lmask, [n_l, N_TARGETS]), device),
            layered,
            cap: Tensor::from_data(
                TensorData::new(
                    caps.map_or_else(|| vec![LOG_COST_MAX; N_TARGETS], <[f32]>::to_vec),
                    [1, N_TARGETS],
                ),
                device,
            ),
            capped: caps.is_some(),
            prior: priors
                .map(|_| Tensor::from_data(TensorData::new(prior, [n_l, N_TARGETS]), device)),
        }
    }
}

/// ln(1 + target) per design and target, and the design's weight where
/// the target is known (0 and 0 where it is not), row-major `[designs,
/// targets]`; `weight(d)` is 1 without balance.
fn log_targets(designs: &[&Design], weight: &dyn Fn(&Design) -> f32) -> (Vec<f32>, Vec<f32>) {
    let mut y = Vec::with_capacity(designs.len() * N_TARGETS);
    let mut mask = Vec::with_capacity(designs.len() * N_TARGETS);
    for d in designs {
        push_targets(
            &d.targets.to_array(),
            N_TARGETS,
            weight(d),
            &mut y,
            &mut mask,
        );
    }
    (y, mask)
}

/// Appends ln(1 + v) and weight `w` for each of the first `supervised`
/// targets `v` that are known, and 0 and 0 for the others.
fn push_targets(
    v: &[f64; N_TARGETS],
    supervised: usize,
    w: f32,
    y: &mut Vec<f32>,
    mask: &mut Vec<f32>,
) {
    for (t, v) in v.iter().enumerate() {
        let known = t < supervised && v.is_finite() && *v >= 0.0;
        y.push(if known { v.ln_1p() as f32 } else { 0.0 });
        mask.push(if known { w } else { 0.0 });
    }
}

/// Per design, its layers' ln(1 + module target) and mask (the design's
/// weight where known, for the [`LAYER_TARGETS`] supervised), row-major
/// `[layers, targets]`; empty for a design without per-module records.
fn layer_targets(
    designs: &[&Design],
    weight: &dyn Fn(&Design) -> f32,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    designs
        .iter()
        .map(|d| {
            let Some(per) = d.per_layer.as_ref().filter(|p| p.len() == d.layers.len()) else {
                return (Vec::new(), Vec::new());
            };
            let w = weight(d);
            let mut y = Vec::with_capacity(per.len() * N_TARGETS);
            let mut mask = Vec::with_capacity(per.len() * N_TARGETS);
            for l in per {
                let v = l.map_or([f64::NAN; N_TARGETS], |t| t.to_array());
                push_targets(&v, LAYER_TARGETS, w, &mut y, &mut mask);
            }
            (y, mask)
        })
        .collect()
}

/// Per data set, the weight n^-`balance` of each of its n designs in
/// `all`, scaled so the mean design weighs 1.
fn balance_weights(all: &[&Design], balance: f64) -> std::collections::HashMap<String, f32> {
    let mut n: std::collections::HashMap<String, usize> = Default::default();
    for d in all {
        *n.entry(d.provenance.dataset.clone()).or_default() += 1;
    }
    let raw = |k: usize| (k as f64).powf(-balance);
    let total: f64 = n.values().map(|&k| k as f64 * raw(k)).sum();
    let scale = all.len() as f64 / total.max(f64::MIN_POSITIVE);
    n.into_iter()
        .map(|(ds, k)| (ds, (raw(k) * scale) as f32))
        .collect()
}

/// Per target, ln(2 × the largest value in `designs`) (at least ln 2).
pub fn log_cost_caps(designs: &[&Design]) -> Vec<f32> {
    (0..N_TARGETS)
        .map(|t| {
            let max = designs
                .iter()
                .map(|d| d.targets.to_array()[t])
                .filter(|v| v.is_finite())
                .fold(1.0f64, f64::max);
            ((2.0 * max).ln() as f32).min(LOG_COST_MAX)
        })
        .collect()
}

fn batch(
    designs: &[&Design],
    mean: &[f32],
    std: &[f32],
    caps: Option<&[f32]>,
    weights: &std::collections::HashMap<String, f32>,
    mult_prior: bool,
    device: &Device,
) -> Batch {
    let per_design: Vec<Vec<[f32; TOKEN_LEN]>> = designs.iter().map(|d| tokens(d)).collect();
    let rows = per_design
        .iter()
        .map(|ts| {
            ts.iter()
                .flat_map(|t| {
                    t.iter()
                        .zip(mean.iter().zip(std))
                        .map(|(v, (m, s))| (v - m) / s)
                })
                .collect()
        })
        .collect();
    let weight = |d: &Design| weights.get(&d.provenance.dataset).copied().unwrap_or(1.0);
    let priors = mult_prior.then(|| {
        per_design
            .iter()
            .map(|ts| ts.iter().flat_map(log_cost_prior).collect())
            .collect()
    });
    Batch::new(
        rows,
        TOKEN_LEN,
        log_targets(designs, &weight),
        layer_targets(designs, &weight),
        priors,
        caps,
        device,
    )
}

/// Per-layer costs `[layers, targets]` (block order), capped where the
/// batch asks.
fn layer_costs(net: &Net, b: &Batch) -> Tensor<2> {
    let mut raw = net.forward(b.x.clone());
    if let Some(p) = &b.prior {
        raw = raw + p.clone();
    }
    let [n_rows, _] = raw.dims();
    if b.capped {
        raw = raw.min_pair(b.cap.clone().expand([n_rows, N_TARGETS]));
    }
    raw.exp()
}

/// ln(1 + predicted totals) `[designs, targets]`.
#[cfg(test)]
fn predict_log(net: &Net, b: &Batch) -> Tensor<2> {
    totals_log(layer_costs(net, b), b)
}

/// ln(1 + totals) `[designs, targets]` of per-layer costs `cost`.
fn totals_log(cost: Tensor<2>, b: &Batch) -> Tensor<2> {
    let device = cost.device();
    let mut totals = Vec::with_capacity(b.blocks.len());
    let mut row = 0;
    for &(n_d, n_l) in &b.blocks {
        if n_l == 0 {
            totals.push(Tensor::zeros([n_d, N_TARGETS], &device));
            continue;
        }
        let block = cost
            .clone()
            .slice([row..row + n_d * n_l, 0..N_TARGETS])
            .reshape([n_d, n_l, N_TARGETS]);
        row += n_d * n_l;
        // Costs: the sum of the layers'. II: the slowest layer's.
        let sums = block.clone().slice([0..n_d, 0..n_l, 0..II]).sum_dim(1);
        let ii = block.slice([0..n_d, 0..n_l, II..II + 1]).max_dim(1);
        totals.push(Tensor::cat(vec![sums, ii], 2).reshape([n_d, N_TARGETS]));
    }
    Tensor::cat(totals, 0).select(0, b.restore.clone()).log1p()
}

/// The mask-weighted mean of the error's score on the totals (unknown
/// targets weigh 0), plus `layer_weight` × the same on the layers' own
/// module targets where the batch has any.
fn loss(net: &Net, b: &Batch, kind: LossKind, layer_weight: f64) -> Tensor<1> {
    let score = |err: Tensor<2>| match kind {
        LossKind::Mse => err.powf_scalar(2.0),
        LossKind::L1 => err.abs(),
    };
    let cost = layer_costs(net, b);
    let totals = score(totals_log(cost.clone(), b) - b.y.clone());
    let total = (totals * b.mask.clone()).sum() / b.mask.clone().sum().clamp_min(1.0);
    if layer_weight <= 0.0 || !b.layered {
        return total;
    }
    let layers = score(cost.log1p() - b.ly.clone());
    let layer = (layers * b.lmask.clone()).sum() / b.lmask.clone().sum().clamp_min(1.0);
    total + layer.mul_scalar(layer_weight)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .try_to_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .map_or(f64::NAN, f64::from)
}

/// A trained burn layer's weights (`[inputs][outputs]`) and biases (0
/// where it has none).
pub(crate) fn export(l: &Linear) -> Dense {
    let w = l.weight.val();
    let [inputs, outputs] = w.dims();
    let weight = w.into_data().try_to_vec::<f32>().unwrap_or_default();
    let bias = l
        .bias
        .as_ref()
        .map(|b| b.val().into_data().try_to_vec::<f32>().unwrap_or_default())
        .unwrap_or_else(|| vec![0.0; outputs]);
    Dense {
        inputs,
        outputs,
        weight,
        bias,
    }
}

/// Per-slot mean and scale of `tokens`: the standard deviation, at least
/// the slot's range over `range_floor` when that is positive (see
/// [`TrainConfig::range_floor`]).
pub fn normaliser(tokens: &[[f32; TOKEN_LEN]], range_floor: f64) -> (Vec<f32>, Vec<f32>) {
    let range = TokenRange::of(tokens);
    let mut sum = vec![0f64; TOKEN_LEN];
    let mut sq = vec![0f64; TOKEN_LEN];
    let mut n = 0f64;
    for t in tokens {
        for (i, v) in t.iter().enumerate() {
            sum[i] += f64::from(*v);
            sq[i] += f64::from(*v) * f64::from(*v);
        }
        n += 1.0;
    }
    let n = n.max(1.0);
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&sum)
        .enumerate()
        .map(|(i, (q, s))| {
            let var = q / n - (s / n) * (s / n);
            // A slot constant in training carries no information the model
            // could have learnt: scale it to nothing, so an unseen value
            // (a new part family, say) cannot drive untrained weights.
            if var > 1e-12 {
                let spread = match (range.min.get(i), range.max.get(i)) {
                    (Some(lo), Some(hi)) if range_floor > 0.0 => f64::from(hi - lo) / range_floor,
                    _ => 0.0,
                };
                var.sqrt().max(spread) as f32
            } else {
                CONSTANT_SLOT_STD
            }
        })
        .collect();
    (mean, std)
}

/// One member's data: designs to train on and designs to stop early on
/// (and to calibrate the upper bounds with). An empty validation set
/// stops on the training loss and calibrates nothing.
pub struct Split<'a> {
    /// Training designs.
    pub train: Vec<&'a Design>,
    /// Validation designs.
    pub val: Vec<&'a Design>,
}

/// Trains one ensemble member per split (member k from seed + k), with the
/// normaliser, token range and caps of `all`; the upper-bound residuals are
/// each member's own on its validation designs, pooled.
pub fn train(all: &[&Design], splits: &[Split<'_>], cfg: &TrainConfig) -> (Surrogate, TrainLog) {
    let device = Device::flex().autodiff();
    let all_tokens: Vec<[f32; TOKEN_LEN]> = all.iter().flat_map(|d| tokens(d)).collect();
    let (mean, std) = normaliser(&all_tokens, cfg.range_floor);
    let TokenRange {
        min: token_min,
        max: token_max,
    } = TokenRange::of(&all_tokens);
    let caps = log_cost_caps(all);
    let train_caps = cfg.cap_in_training.then_some(caps.as_slice());
    let weights = balance_weights(all, cfg.balance);
    let mut surrogate = Surrogate {
        schema_version: SCHEMA_VERSION,
        mean,
        std,
        members: Vec::new(),
        log_cost_cap: caps.clone(),
        token_min,
        token_max,
        residuals: Vec::new(),
        provenance: String::new(),
        kind_ranges: TokenRange::per_kind(&all_tokens),
    };
    let mut logs = Vec::new();
    let mut residuals = vec![Vec::new(); N_TARGETS];
    for (k, split) in splits.iter().enumerate() {
        device.seed(cfg.seed.wrapping_add(k as u64));
        let tb = batch(
            &split.train,
            &surrogate.mean,
            &surrogate.std,
            train_caps,
            &weights,
            cfg.mult_prior,
            &device,
        );
        let vb = (!split.val.is_empty()).then(|| {
            batch(
                &split.val,
                &surrogate.mean,
                &surrogate.std,
                train_caps,
                &weights,
                cfg.mult_prior,
                &device,
            )
        });
        let (net, log) = train_member(&tb, vb.as_ref(), cfg, &device);
        let mut member = Member {
            hidden: net.hidden.iter().map(export).collect(),
            output: export(&net.output),
            skip: export(&net.skip),
        };
        if cfg.mult_prior {
            fold_prior(&mut member, &surrogate.mean, &surrogate.std);
        }
        if !split.val.is_empty() {
            let mut alone = surrogate.clone();
            alone.members = vec![member.clone()];
            alone.calibrate(&split.val);
            for (pool, r) in residuals.iter_mut().zip(alone.residuals) {
                pool.extend(r);
            }
        }
        surrogate.members.push(member);
        logs.push(log);
    }
    for r in &mut residuals {
        r.sort_by(f32::total_cmp);
    }
    if residuals.iter().all(|r| !r.is_empty()) {
        surrogate.residuals = residuals;
    }
    let n = logs.len().max(1) as f64;
    let log = TrainLog {
        steps: logs.iter().map(|l| l.steps).sum(),
        best_step: logs.iter().map(|l| l.best_step).max().unwrap_or(0),
        best_val_loss: logs.iter().map(|l| l.best_val_loss).sum::<f64>() / n,
        train_loss: logs.iter().map(|l| l.train_loss).sum::<f64>() / n,
    };
    surrogate.provenance = format!(
        "burn 0.22 flex, {} designs, {} member(s) of hidden {}x{}, lr {}, balance {}, seed {}, mean best step {:.0}",
        all.len(),
        splits.len(),
        cfg.depth,
        cfg.hidden,
        cfg.learning_rate,
        cfg.balance,
        cfg.seed,
        logs.iter().map(|l| l.best_step as f64).sum::<f64>() / n,
    );
    (surrogate, log)
}

/// Folds [`log_cost_prior`] into `member`'s skip path and output bias, so
/// the plain model (and its fixed-point quantization, and the firmware)
/// computes net + prior without knowing of it. Exact because the prior is
/// affine in the token and the skip path is linear in the normalised token
/// x = (v − mean) / std: prior(v) = p₀ + Σᵢ cᵢ·vᵢ = p₀ + Σᵢ cᵢ·meanᵢ +
/// Σᵢ cᵢ·stdᵢ·xᵢ. Inference clamps tokens to the training range before
/// normalising, so the folded prior is clamped with them; on the
/// unseen-network protocol that changes no estimate (every left-out
/// layer's multiplier count lies inside the range of the others').
fn fold_prior(member: &mut Member, mean: &[f32], std: &[f32]) {
    let p0 = log_cost_prior(&[0.0; TOKEN_LEN]);
    for (b, p) in member.output.bias.iter_mut().zip(p0) {
        *b += p;
    }
    let outputs = member.skip.outputs;
    for i in 0..TOKEN_LEN {
        let mut e = [0.0; TOKEN_LEN];
        e[i] = 1.0;
        let pi = log_cost_prior(&e);
        for t in 0..N_TARGETS {
            let c = pi[t] - p0[t];
            if c == 0.0 {
                continue;
            }
            let (m, s) = (
                mean.get(i).copied().unwrap_or(0.0),
                std.get(i).copied().unwrap_or(1.0),
            );
            member.output.bias[t] += c * m;
            // A slot constant in training (x is 0) is clamped to its one
            // value at inference: its mean term is all of it.
            if s < CONSTANT_SLOT_STD {
                member.skip.weight[i * outputs + t] += c * s;
            }
        }
    }
}

/// Trains one network with early stopping; returns the best one seen.
fn train_member(
    tb: &Batch,
    vb: Option<&Batch>,
    cfg: &TrainConfig,
    device: &Device,
) -> (Net, TrainLog) {
    let [_, inputs] = tb.x.dims();
    let mut net = Net::new(cfg, inputs, device);
    let mut opt = AdamConfig::new().init();
    let mut best = (f64::INFINITY, 0usize, f64::NAN, net.clone());
    let mut step = 0;
    while step < cfg.max_steps {
        let l = loss(&net, tb, cfg.loss, cfg.layer_weight);
        let train_loss = scalar(l.clone().detach());
        let grads = GradientsParams::from_grads(l.backward(), &net);
        net = opt.step(cfg.learning_rate, net, grads);
        step += 1;
        let val_loss = match vb {
            // Early stopping on the totals alone: what estimates are for.
            Some(vb) => scalar(loss(&net, vb, cfg.loss, 0.0).detach()),
            None => train_loss,
        };
        if val_loss < best.0 {
            best = (val_loss, step, train_loss, net.clone());
        } else if step - best.1 >= cfg.patience {
            break;
        }
    }
    let (best_val_loss, best_step, train_loss, net) = best;
    let log = TrainLog {
        steps: step,
        best_step,
        best_val_loss,
        train_loss,
    };
    (net, log)
}

/// A network on one feature vector per design (the wa-hls4ml MLP
/// baseline's shape: no per-layer structure), trained like the surrogate.
pub struct AggregateMlp {
    net: Net,
    mean: Vec<f32>,
    std: Vec<f32>,
    features: fn(&Design) -> Vec<f32>,
    device: Device,
}

impl AggregateMlp {
    /// `d`'s normalised feature vector.
    fn row(&self, d: &Design) -> Vec<f32> {
        (self.features)(d)
            .into_iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }

    fn matrix(&self, designs: &[&Design]) -> Tensor<2> {
        let x: Vec<f32> = designs.iter().flat_map(|d| self.row(d)).collect();
        let width = self.mean.len();
        Tensor::from_data(TensorData::new(x, [designs.len(), width]), &self.device)
    }

    /// Trains on `train`, early-stopping on `val`.
    pub fn fit(
        train: &[&Design],
        val: &[&Design],
        features: fn(&Design) -> Vec<f32>,
        cfg: &TrainConfig,
    ) -> Self {
        let device = Device::flex().autodiff();
        device.seed(cfg.seed);
        let rows: Vec<Vec<f32>> = train.iter().map(|d| features(d)).collect();
        let width = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f32;
        let mean: Vec<f32> = (0..width)
            .map(|i| rows.iter().map(|r| r[i]).sum::<f32>() / n)
            .collect();
        let std: Vec<f32> = (0..width)
            .map(|i| {
                let var = rows.iter().map(|r| (r[i] - mean[i]).powi(2)).sum::<f32>() / n;
                if var > 1e-12 {
                    var.sqrt()
                } else {
                    CONSTANT_SLOT_STD
                }
            })
            .collect();
        let mut me = Self {
            net: Net::new(cfg, width, &device),
            mean,
            std,
            features,
            device: device.clone(),
        };
        let make = |me: &Self, designs: &[&Design]| {
            let rows = designs.iter().map(|d| me.row(d)).collect();
            let caps = [LOG_COST_MAX; N_TARGETS];
            Batch::new(
                rows,
                me.mean.len(),
                log_targets(designs, &|_| 1.0),
                Vec::new(),
                None,
                Some(&caps),
                &me.device,
            )
        };
        let tb = make(&me, train);
        let vb = (!val.is_empty()).then(|| make(&me, val));
        let (net, _) = train_member(&tb, vb.as_ref(), cfg, &device);
        me.net = net;
        me
    }

    /// Estimates for `designs`.
    pub fn predict(&self, designs: &[&Design]) -> Vec<crate::design::Targets> {
        if designs.is_empty() {
            return Vec::new();
        }
        let out = self
            .net
            .forward(self.matrix(designs))
            .clamp_max(LOG_COST_MAX)
            .exp()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        out.chunks(N_TARGETS)
            .map(|c| {
                crate::design::Targets::from_array(std::array::from_fn(|i| {
                    f64::from(c.get(i).copied().unwrap_or(f32::NAN))
                }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{mlp, synthetic_design};
    use crate::design::{Activation, Design, Precision, Targets};

    fn design(widths: &[u32], rf: u32, resource: bool) -> Design {
        let mults: u32 = widths.windows(2).map(|w| w[0] * w[1]).sum();
        let layers = mlp(
            widths,
            Precision::DEFAULT,
            rf,
            Activation::Relu,
            Activation::Linear,
        );
        let mut d = synthetic_design(&format!("{widths:?}-{rf}"), layers, resource);
        d.group = format!("{widths:?}");
        d.targets = Targets {
            lut: f64::from(mults) * 3.0,
            ff: f64::from(mults),
            dsp: f64::from(mults / rf),
            bram18: 0.0,
            latency_cycles: f64::from(rf + 2),
            ii: f64::from(rf),
        };
        d
    }

    #[test]
    fn folded_prior_adds_the_prior_to_each_layer_log_cost() {
        let designs: Vec<Design> = [(&[16u32, 32, 8][..], 1u32), (&[64, 8, 2], 4), (&[8, 4], 2)]
            .iter()
            .map(|(w, rf)| design(w, *rf, *rf > 1))
            .collect();
        let all: Vec<[f32; TOKEN_LEN]> = designs.iter().flat_map(tokens).collect();
        let (mean, std) = normaliser(&all, 4.0);
        assert!(std.contains(&1e30), "a slot constant here, to fold too");
        let net = Net::new(&TrainConfig::default(), TOKEN_LEN, &Device::flex());
        let plain = Member {
            hidden: net.hidden.iter().map(export).collect(),
            output: export(&net.output),
            skip: export(&net.skip),
        };
        let mut folded = plain.clone();
        fold_prior(&mut folded, &mean, &std);
        assert_ne!(folded, plain);
        for t in &all {
            let x: Vec<f32> = t
                .iter()
                .zip(mean.iter().zip(&std))
                .map(|(v, (m, s))| (v - m) / s)
                .collect();
            let (a, b, p) = (plain.log_costs(&x), folded.log_costs(&x), log_cost_prior(t));
            for k in 0..N_TARGETS {
                assert!(
                    (b[k] - (a[k] + p[k])).abs() < 1e-4 * (1.0 + p[k].abs()),
                    "target {k}: folded {}, plain {} + prior {}",
                    b[k],
                    a[k],
                    p[k]
                );
            }
        }
        // Training's batch adds the same prior to the unfolded network.
        let none = Default::default();
        for d in &designs {
            let b = batch(&[d], &mean, &std, None, &none, true, &Device::flex());
            let burn: Vec<f32> = layer_costs(&net, &b).into_data().try_to_vec().expect("f32");
            for (l, t) in tokens(d).iter().enumerate() {
                let x: Vec<f32> = t
                    .iter()
                    .zip(mean.iter().zip(&std))
                    .map(|(v, (m, s))| (v - m) / s)
                    .collect();
                for (k, v) in folded.log_costs(&x).iter().enumerate() {
                    let c = f64::from(burn[l * N_TARGETS + k]).ln();
                    assert!(
                        (c - f64::from(*v)).abs() < 1e-3,
                        "layer {l} target {k}: {c} vs {v}"
                    );
                }
            }
        }
        // LUT, FF and DSP carry ln(1 + multipliers); the rest nothing.
        let big = all
            .iter()
            .find(|t| t[zest_features::slot::LOG_MULT_UNITS] > 8.0)
            .expect("a 512-multiplier layer");
        let p = log_cost_prior(big);
        assert!(p[..3].iter().all(|v| *v > 5.0) && p[3..].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn balance_weighs_data_sets_as_asked() {
        let mut designs: Vec<Design> = (0..12).map(|i| design(&[8, 4], 1 + i % 3, false)).collect();
        for (i, d) in designs.iter_mut().enumerate() {
            d.provenance.dataset = if i < 9 { "big".into() } else { "small".into() };
        }
        let refs: Vec<&Design> = designs.iter().collect();
        let plain = balance_weights(&refs, 0.0);
        assert_eq!((plain["big"], plain["small"]), (1.0, 1.0));
        // B = 1: both data sets weigh alike in all (9 × big = 3 × small),
        // and the mean design still weighs 1.
        let even = balance_weights(&refs, 1.0);
        assert!((9.0 * even["big"] - 3.0 * even["small"]).abs() < 1e-5);
        assert!(((9.0 * even["big"] + 3.0 * even["small"]) / 12.0 - 1.0).abs() < 1e-5);
        let half = balance_weights(&refs, 0.5);
        assert!(half["big"] < 1.0 && half["small"] > 1.0 && half["small"] < even["small"]);
    }

    #[test]
    fn the_range_floor_bounds_every_training_slot() {
        // 99 tokens at 1.0 and one at 5.0: the standard deviation alone puts
        // the odd one at z = 9.9; a floor of 4 keeps it within 4.
        let mut tokens = vec![[0f32; TOKEN_LEN]; 100];
        for (i, t) in tokens.iter_mut().enumerate() {
            t[3] = if i == 0 { 5.0 } else { 1.0 };
            t[4] = i as f32;
        }
        let z = |mean: &[f32], std: &[f32], v: f32, i: usize| (v - mean[i]) / std[i];
        let (mean, std) = normaliser(&tokens, 0.0);
        assert!(z(&mean, &std, 5.0, 3) > 9.0);
        let (mean4, std4) = normaliser(&tokens, 4.0);
        assert!(z(&mean4, &std4, 5.0, 3) <= 4.0);
        // A well-spread slot keeps its standard deviation; a constant one
        // is still scaled to nothing.
        assert_eq!(std4[4], std[4]);
        assert_eq!(std4[0], 1e30);
    }

    #[test]
    fn per_module_supervision_scores_each_layer_against_its_own_module() {
        // Designs of different depths (so the batch reorders them into
        // blocks), each layer with its own module's targets, one layer
        // without any.
        let mut designs: Vec<Design> = vec![
            design(&[16, 8, 4], 2, true),
            design(&[16, 8], 1, false),
            design(&[32, 8, 8, 4], 4, true),
        ];
        for (k, d) in designs.iter_mut().enumerate() {
            let per = (0..d.layers.len())
                .map(|l| {
                    (l != 1 || k != 0).then(|| Targets {
                        lut: 100.0 * (l + 1) as f64 + k as f64,
                        ff: 50.0 * (l + 1) as f64,
                        dsp: (l % 2) as f64,
                        bram18: 2.0,
                        latency_cycles: 1e6,
                        ii: 1e6,
                    })
                })
                .collect();
            d.per_layer = Some(per);
        }
        let refs: Vec<&Design> = designs.iter().collect();
        let device = Device::flex();
        let net = Net::new(&TrainConfig::default(), TOKEN_LEN, &device);
        let all: Vec<[f32; TOKEN_LEN]> = refs.iter().flat_map(|d| tokens(d)).collect();
        let (mean, std) = normaliser(&all, 0.0);
        let none = Default::default();
        let b = batch(&refs, &mean, &std, None, &none, false, &device);
        let layer_term =
            scalar(loss(&net, &b, LossKind::L1, 1.0)) - scalar(loss(&net, &b, LossKind::L1, 0.0));
        // By hand: each design alone (its rows in its own order), the
        // known resource cells only.
        let (mut sum, mut n) = (0f64, 0usize);
        for d in &refs {
            let one = batch(&[*d], &mean, &std, None, &none, false, &device);
            let cost: Vec<f32> = layer_costs(&net, &one)
                .into_data()
                .try_to_vec()
                .expect("f32");
            for (l, t) in d.per_layer.as_ref().expect("per layer").iter().enumerate() {
                let Some(t) = t else { continue };
                for (k, v) in t.to_array().iter().enumerate().take(LAYER_TARGETS) {
                    let c = f64::from(cost[l * N_TARGETS + k]);
                    sum += (c.ln_1p() - v.ln_1p()).abs();
                    n += 1;
                }
            }
        }
        let expected = sum / n as f64;
        assert!(
            (layer_term - expected).abs() < 1e-3 * expected.max(1.0),
            "layer term {layer_term}, by hand {expected}"
        );
        // Training with it moves each layer's LUT toward its module's.
        let cfg = TrainConfig {
            members: 1,
            max_steps: 300,
            layer_weight: 1.0,
            ..TrainConfig::default()
        };
        let split = Split {
            train: refs.clone(),
            val: Vec::new(),
        };
        let lut_miss = |cfg: &TrainConfig| {
            let (m, _) = train(&refs, std::slice::from_ref(&split), cfg);
            let mut miss = 0f64;
            for d in &refs {
                let e = m.estimate(d);
                for (l, t) in d.per_layer.as_ref().expect("per layer").iter().enumerate() {
                    if let Some(t) = t {
                        miss += (e.per_layer[l][0].ln_1p() - t.lut.ln_1p()).abs();
                    }
                }
            }
            miss
        };
        let with = lut_miss(&cfg);
        let without = lut_miss(&TrainConfig {
            layer_weight: 0.0,
            ..cfg.clone()
        });
        assert!(
            with < 0.5 * without,
            "per-layer LUT miss {with} with, {without} without"
        );
    }

    #[test]
    fn losses_score_the_log_error_as_named() {
        let designs: Vec<Design> = [1u32, 2, 4].map(|rf| design(&[16, 8], rf, rf > 1)).into();
        let refs: Vec<&Design> = designs.iter().collect();
        let device = Device::flex();
        let cfg = TrainConfig::default();
        let net = Net::new(&cfg, TOKEN_LEN, &device);
        let (mean, std) = normaliser(
            &refs.iter().flat_map(|d| tokens(d)).collect::<Vec<_>>(),
            0.0,
        );
        let b = batch(
            &refs,
            &mean,
            &std,
            None,
            &Default::default(),
            false,
            &device,
        );
        let err: Vec<f32> = (predict_log(&net, &b) - b.y.clone())
            .into_data()
            .try_to_vec()
            .expect("f32");
        let n = err.len() as f64;
        let l1 = err.iter().map(|e| f64::from(e.abs())).sum::<f64>() / n;
        let mse = err.iter().map(|e| f64::from(e * e)).sum::<f64>() / n;
        assert!((scalar(loss(&net, &b, LossKind::L1, 0.0)) - l1).abs() < 1e-4 * l1.max(1.0));
        assert!((scalar(loss(&net, &b, LossKind::Mse, 0.0)) - mse).abs() < 1e-4 * mse.max(1.0));
        assert!((l1 - mse).abs() > 1e-3, "the two losses differ here");
    }

    #[test]
    fn plain_inference_matches_burn_and_training_reduces_the_loss() {
        // Depths 1 to 3, out of order: the batch's blocks (by layer count)
        // reorder the designs, and the estimates must come back in order.
        let widths: [&[u32]; 4] = [&[16, 32, 8], &[8, 4], &[32, 16, 16, 4], &[64, 8, 2]];
        let designs: Vec<Design> = widths
            .iter()
            .flat_map(|w| [1u32, 2, 4].map(|rf| design(w, rf, rf > 1)))
            .collect();
        let refs: Vec<&Design> = designs.iter().collect();
        let cfg = TrainConfig {
            max_steps: 300,
            patience: 300,
            ..TrainConfig::default()
        };
        let split = Split {
            train: refs.clone(),
            val: Vec::new(),
        };
        let (model, log) = train(&refs, &[split], &cfg);
        model.validate().expect("consistent model");
        assert!(log.best_val_loss < 1.0, "{log:?}");

        // The exported plain-Rust model gives what burn computed.
        let device = Device::flex();
        let b = batch(
            &refs,
            &model.mean,
            &model.std,
            Some(&model.log_cost_cap),
            &Default::default(),
            false,
            &device,
        );
        let mut net = Net::new(&cfg, TOKEN_LEN, &device);
        let load = |l: &mut Linear, d: &Dense| {
            l.weight = burn::module::Param::from_tensor(Tensor::from_data(
                TensorData::new(d.weight.clone(), [d.inputs, d.outputs]),
                &device,
            ));
            l.bias = Some(burn::module::Param::from_tensor(Tensor::from_data(
                TensorData::new(d.bias.clone(), [d.outputs]),
                &device,
            )));
        };
        let member = &model.members[0];
        for (l, d) in net.hidden.iter_mut().zip(&member.hidden) {
            load(l, d);
        }
        load(&mut net.output, &member.output);
        load(&mut net.skip, &member.skip);
        let burn_log: Vec<f32> = predict_log(&net, &b)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (i, d) in designs.iter().enumerate() {
            let t = model.estimate(d).targets.to_array();
            for k in 0..N_TARGETS {
                let ours = t[k].ln_1p() as f32;
                let theirs = burn_log[i * N_TARGETS + k];
                assert!(
                    (ours - theirs).abs() < 1e-3 * (1.0 + theirs.abs()),
                    "design {i} target {k}: {ours} vs {theirs}"
                );
            }
        }
    }
}

//! `zest quantize`: the surrogate in fixed point, with per-layer
//! `ap_fixed<W,I>` types chosen by MetaML-Pro's Quantization Heuristic
//! Search (QHS, §4.4).
//!
//! 1. **Fold**: the token normaliser `(v − mean)/std` goes into the first
//!    hidden layer and the skip path; the skip bias into the output bias.
//! 2. **Virtual layers**: a dense layer, its ReLU (and, for the output
//!    layer, the element-wise add of the skip path) share one result type.
//!    Each virtual layer has a weight, a bias and a result precision; the
//!    skip path its own weight precision; the token input one precision; the
//!    log-cost (the output layers' result, which indexes the exp table) one
//!    precision for all members.
//! 3. **Lossless integer bits**: from each layer's largest |weight| and
//!    |bias|, and from the largest |result| seen on the search designs
//!    (+1 sign bit). Results saturate (`AP_SAT`) so that a design beyond
//!    that range clips instead of wrapping. Every precision starts with
//!    [`START_FRAC`] fractional bits.
//! 4. **Width reduction**: round-robin over the reducible precisions, one
//!    bit at a time; a reduction is kept while the search designs' mean
//!    SMAPE stays within `tolerance` percentage points of the `f32` model's,
//!    otherwise undone and that precision marked non-reducible. Stop when
//!    none is reducible.
//!
//! Accumulators are exact ([`zest_fixed::model::accum_type`]): they follow
//! from the input and weight types and are not searched.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use zest_features::{SCHEMA_VERSION, TOKEN_LEN};
use zest_fixed::model::{pack, DenseQ, FixedModel, ModelError, N_TARGETS};
use zest_fixed::{index_raw, FixedType, Overflow, Quant};

use crate::design::{Design, Targets};
use crate::learn::metrics::target_metrics;
use crate::learn::surrogate::{round_targets, Surrogate};
use crate::qhs::{int_bits, Scorer, Searched};
use crate::tokens::{quantize_token, tokens};

/// Fractional bits every precision starts the search with.
pub const START_FRAC: i16 = 16;
/// Integer bits of the log-cost type: it spans [−16, 16), e^16 ≈ 8.9·10⁶
/// per layer and member, above every trained cap.
pub const LOG_INT: i16 = 5;
/// The exp table has 2^TABLE_BITS entries (bins of 1/128 in ln-units,
/// valued at their centre: at most ±0.4 % from exp).
pub const TABLE_BITS: u8 = 12;
/// Table entries: `exp(x)/members`, up to 2^22 with 10 fractional bits.
pub const TABLE_TYPE: FixedType = FixedType::unsigned(32, 22);
/// Per-layer and per-design costs: up to 2^32 (saturating), 16
/// fractional bits.
pub const TOTAL_TYPE: FixedType = FixedType::unsigned(48, 32).with_modes(Quant::Trn, Overflow::Sat);
/// Narrowest the search may make a precision.
pub const MIN_WIDTH: u8 = 2;

/// Error of quantization.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// The built model does not parse back (a bug, or a type beyond 64 bits).
    #[error("fixed-point model is invalid: {0}")]
    Model(String),
    /// Nothing to search on.
    #[error("no designs with known targets to search on")]
    NoDesigns,
}

impl From<ModelError> for QuantizeError {
    fn from(e: ModelError) -> Self {
        QuantizeError::Model(e.to_string())
    }
}

/// A dense layer in `f64` after folding.
#[derive(Debug, Clone)]
pub struct FLayer {
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// Row-major `[in][out]`.
    pub w: Vec<f64>,
    /// Biases (empty for the skip path).
    pub b: Vec<f64>,
}

/// One member after folding: hidden layers, output, skip.
#[derive(Debug, Clone)]
pub struct FMember {
    /// Hidden layers (ReLU after each).
    pub hidden: Vec<FLayer>,
    /// Output layer (its bias includes the skip path's).
    pub out: FLayer,
    /// Skip path from the raw token (no bias).
    pub skip: FLayer,
}

/// The surrogate with its normaliser folded in.
#[derive(Debug, Clone)]
pub struct Folded {
    /// Members.
    pub members: Vec<FMember>,
    /// Per-target log-cost caps.
    pub cap: Vec<f64>,
    /// Per token slot, the smallest and largest values trained on: the
    /// float surrogate clamps to them, the fixed-point model stores them
    /// quantized and clamps alike.
    pub token_min: Vec<f32>,
    /// See [`Folded::token_min`].
    pub token_max: Vec<f32>,
}

fn fold_input(
    d: &crate::learn::surrogate::Dense,
    mean: &[f32],
    std: &[f32],
    with_bias: bool,
) -> FLayer {
    let (ni, no) = (d.inputs, d.outputs);
    let mut w = vec![0f64; ni * no];
    let mut b: Vec<f64> = d.bias.iter().map(|v| f64::from(*v)).collect();
    for i in 0..ni {
        let s = f64::from(std[i]);
        let m = f64::from(mean[i]);
        for o in 0..no {
            let wi = f64::from(d.weight[i * no + o]) / s;
            w[i * no + o] = wi;
            b[o] -= m * wi;
        }
    }
    FLayer {
        inputs: ni,
        outputs: no,
        w,
        b: if with_bias { b } else { Vec::new() },
    }
}

fn plain(d: &crate::learn::surrogate::Dense) -> FLayer {
    FLayer {
        inputs: d.inputs,
        outputs: d.outputs,
        w: d.weight.iter().map(|v| f64::from(*v)).collect(),
        b: d.bias.iter().map(|v| f64::from(*v)).collect(),
    }
}

/// Folds the normaliser into the first layers (step 1).
pub fn fold(s: &Surrogate) -> Folded {
    let members = s
        .members
        .iter()
        .map(|m| {
            let hidden: Vec<FLayer> = m
                .hidden
                .iter()
                .enumerate()
                .map(|(k, d)| {
                    if k == 0 {
                        fold_input(d, &s.mean, &s.std, true)
                    } else {
                        plain(d)
                    }
                })
                .collect();
            let skip_full = fold_input(&m.skip, &s.mean, &s.std, true);
            let mut out = if hidden.is_empty() {
                fold_input(&m.output, &s.mean, &s.std, true)
            } else {
                plain(&m.output)
            };
            for (b, sb) in out.b.iter_mut().zip(&skip_full.b) {
                *b += sb;
            }
            FMember {
                hidden,
                out,
                skip: FLayer {
                    b: Vec::new(),
                    ..skip_full
                },
            }
        })
        .collect();
    Folded {
        members,
        cap: s.log_cost_cap.iter().map(|v| f64::from(*v)).collect(),
        token_min: s.token_min.clone(),
        token_max: s.token_max.clone(),
    }
}

fn forward(l: &FLayer, x: &[f64], relu: bool) -> Vec<f64> {
    let mut out = if l.b.is_empty() {
        vec![0.0; l.outputs]
    } else {
        l.b.clone()
    };
    for (i, xi) in x.iter().enumerate() {
        for (o, v) in out.iter_mut().enumerate() {
            *v += xi * l.w[i * l.outputs + o];
        }
    }
    if relu {
        for v in &mut out {
            *v = v.max(0.0);
        }
    }
    out
}

/// `ap_fixed<width, int>`, as searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prec {
    /// W.
    pub width: u8,
    /// I.
    pub int: i16,
}

impl Prec {
    fn start(int: i16) -> Self {
        Self {
            width: (int + START_FRAC).clamp(i16::from(MIN_WIDTH), 32) as u8,
            int,
        }
    }

    /// Weight/bias/input type (constants are rounded by the host, so modes
    /// do not matter; hls4ml's defaults).
    pub fn plain(&self) -> FixedType {
        FixedType::new(self.width, self.int)
    }

    /// Result type: truncating, saturating.
    pub fn saturating(&self) -> FixedType {
        self.plain().with_modes(Quant::Trn, Overflow::Sat)
    }
}

impl std::fmt::Display for Prec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ap_fixed<{},{}>", self.width, self.int)
    }
}

/// Precisions of one virtual layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPrec {
    /// Weights.
    pub weight: Prec,
    /// Biases (`None` for the skip path).
    pub bias: Option<Prec>,
    /// Result (`None` for the output and skip layers: they share the log type).
    pub result: Option<Prec>,
}

/// Every searched precision.
#[derive(Debug, Clone, Serialize)]
pub struct Precisions {
    /// Token slots.
    pub input: Prec,
    /// Log-costs (all members).
    pub log: Prec,
    /// Per member: hidden layers, output, skip.
    pub members: Vec<Vec<LayerPrec>>,
}

/// One searched precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Knob {
    /// The token input.
    Input,
    /// The log-cost type.
    Log,
    /// Weights of member `.0`, layer `.1`.
    Weight(usize, usize),
    /// Biases.
    Bias(usize, usize),
    /// Result.
    Result(usize, usize),
}

impl Searched for Precisions {
    type Knob = Knob;

    fn knobs(&self) -> Vec<Knob> {
        let mut k = vec![Knob::Input, Knob::Log];
        for (m, ls) in self.members.iter().enumerate() {
            for (l, p) in ls.iter().enumerate() {
                k.push(Knob::Weight(m, l));
                if p.bias.is_some() {
                    k.push(Knob::Bias(m, l));
                }
                if p.result.is_some() {
                    k.push(Knob::Result(m, l));
                }
            }
        }
        k
    }

    fn width_mut(&mut self, k: Knob) -> Option<&mut u8> {
        let p = match k {
            Knob::Input => Some(&mut self.input),
            Knob::Log => Some(&mut self.log),
            Knob::Weight(m, l) => Some(&mut self.members.get_mut(m)?.get_mut(l)?.weight),
            Knob::Bias(m, l) => self.members.get_mut(m)?.get_mut(l)?.bias.as_mut(),
            Knob::Result(m, l) => self.members.get_mut(m)?.get_mut(l)?.result.as_mut(),
        };
        p.map(|p| &mut p.width)
    }

    /// The log type never narrows below the exp table's index bits.
    fn floor(&self, k: Knob) -> u8 {
        match k {
            Knob::Log => TABLE_BITS,
            _ => MIN_WIDTH,
        }
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |a, x| a.max(x.abs()))
}

/// Step 3: lossless integer bits, [`START_FRAC`] fractional bits.
pub fn start_precisions(f: &Folded, tokens: &[[f32; TOKEN_LEN]]) -> Precisions {
    let input_max = tokens
        .iter()
        .flat_map(|t| t.iter())
        .fold(0f64, |a, v| a.max(f64::from(v.abs())));
    let mut members = Vec::new();
    for m in &f.members {
        let mut res_max = vec![0f64; m.hidden.len()];
        for t in tokens {
            let mut x: Vec<f64> = t.iter().map(|v| f64::from(*v)).collect();
            for (k, h) in m.hidden.iter().enumerate() {
                x = forward(h, &x, true);
                res_max[k] = res_max[k].max(max_abs(&x));
            }
        }
        let mut ls: Vec<LayerPrec> = m
            .hidden
            .iter()
            .zip(&res_max)
            .map(|(h, r)| LayerPrec {
                weight: Prec::start(int_bits(max_abs(&h.w))),
                bias: Some(Prec::start(int_bits(max_abs(&h.b)))),
                result: Some(Prec::start(int_bits(*r))),
            })
            .collect();
        ls.push(LayerPrec {
            weight: Prec::start(int_bits(max_abs(&m.out.w))),
            bias: Some(Prec::start(int_bits(max_abs(&m.out.b)))),
            result: None,
        });
        ls.push(LayerPrec {
            weight: Prec::start(int_bits(max_abs(&m.skip.w))),
            bias: None,
            result: None,
        });
        members.push(ls);
    }
    Precisions {
        input: Prec::start(int_bits(input_max)),
        log: Prec {
            width: (LOG_INT + START_FRAC) as u8,
            int: LOG_INT,
        },
        members,
    }
}

fn rounding(t: FixedType) -> FixedType {
    t.with_modes(Quant::Rnd, Overflow::Sat)
}

fn quantize_all(t: &FixedType, v: &[f64]) -> Vec<i64> {
    let r = rounding(*t);
    v.iter().map(|x| r.from_f64(*x)).collect()
}

/// One layer's types (weight, bias, result), packed weights and biases,
/// inputs and outputs, before they are borrowed into a [`DenseQ`].
type Packed = (
    FixedType,
    FixedType,
    FixedType,
    Vec<u8>,
    Vec<u8>,
    usize,
    usize,
);

/// Builds and encodes the fixed-point model for `p`.
pub fn build(f: &Folded, p: &Precisions, provenance: &str) -> Result<Vec<u8>, QuantizeError> {
    let log_t = p.log.saturating();
    let mut bufs: Vec<Packed> = Vec::new();
    for (m, lp) in f.members.iter().zip(&p.members) {
        let layers: Vec<&FLayer> = m.hidden.iter().chain([&m.out, &m.skip]).collect();
        for (k, (l, q)) in layers.iter().zip(lp).enumerate() {
            let wt = q.weight.plain();
            let bt = q.bias.map_or(wt, |b| b.plain());
            let rt = q.result.map_or(log_t, |r| r.saturating());
            let w = pack(&wt, &quantize_all(&wt, &l.w));
            let b = if k == layers.len() - 1 {
                Vec::new()
            } else {
                pack(&bt, &quantize_all(&bt, &l.b))
            };
            bufs.push((wt, bt, rt, w, b, l.inputs, l.outputs));
        }
    }
    let mut layers = heapless::Vec::new();
    for (wt, bt, rt, w, b, i, o) in &bufs {
        layers
            .push(DenseQ {
                inputs: *i as u16,
                outputs: *o as u16,
                weight: *wt,
                bias: *bt,
                result: *rt,
                weights: w,
                biases: b,
            })
            .map_err(|_| QuantizeError::Model("too many layers".into()))?;
    }
    let n = f.members.len();
    let table = exp_table(&log_t, n);
    let table_bytes = pack(&TABLE_TYPE, &table);
    let mut cap = [0i64; N_TARGETS];
    for (c, v) in cap.iter_mut().zip(&f.cap) {
        *c = rounding(log_t).from_f64(*v);
    }
    // Quantized as tokens are (monotone): a token clamped then quantized
    // equals one quantized then clamped to these.
    let input = p.input.plain();
    if f.token_min.len() != TOKEN_LEN || f.token_max.len() != TOKEN_LEN {
        return Err(QuantizeError::Model(format!(
            "the surrogate's token range has {} and {} slots, the schema {TOKEN_LEN}",
            f.token_min.len(),
            f.token_max.len()
        )));
    }
    let lo = pack(&input, &quantize_token(&input, &f.token_min));
    let hi = pack(&input, &quantize_token(&input, &f.token_max));
    let model = FixedModel {
        format: zest_fixed::model::FORMAT_VERSION,
        schema_version: SCHEMA_VERSION,
        token_len: TOKEN_LEN as u16,
        input,
        token_lo: &lo,
        token_hi: &hi,
        members: n as u8,
        hidden: f.members.first().map_or(0, |m| m.hidden.len()) as u8,
        layers,
        cap,
        table_bits: TABLE_BITS,
        table_type: TABLE_TYPE,
        table: &table_bytes,
        total: TOTAL_TYPE,
        provenance,
    };
    let bytes = model.to_bytes()?;
    FixedModel::parse(&bytes)?;
    Ok(bytes)
}

/// `exp` of each bin's centre, divided by the member count.
fn exp_table(log_t: &FixedType, members: usize) -> Vec<i64> {
    let bits = u32::from(TABLE_BITS);
    let half_bin = 2f64.powi(i32::from(log_t.int) - bits as i32) / 2.0;
    let r = rounding(TABLE_TYPE);
    (0..1usize << bits)
        .map(|k| {
            let x = log_t.to_f64(index_raw(log_t, k, bits)) + half_bin;
            r.from_f64(x.exp() / members as f64)
        })
        .collect()
}

/// The designs a metric is computed on, tokenised once.
pub struct EvalSet<'d> {
    designs: Vec<&'d Design>,
    /// Token range of each design.
    spans: Vec<std::ops::Range<usize>>,
    tokens: Vec<[f32; TOKEN_LEN]>,
}

impl<'d> EvalSet<'d> {
    /// Tokenises `designs` (those with at least one known target).
    pub fn new(designs: &[&'d Design]) -> Self {
        let mut s = EvalSet {
            designs: Vec::new(),
            spans: Vec::new(),
            tokens: Vec::new(),
        };
        for d in designs {
            if !d.targets.to_array().iter().any(|v| v.is_finite()) {
                continue;
            }
            let t = tokens(d);
            let a = s.tokens.len();
            s.tokens.extend(t);
            s.spans.push(a..s.tokens.len());
            s.designs.push(d);
        }
        s
    }

    /// Designs in the set.
    pub fn len(&self) -> usize {
        self.designs.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.designs.is_empty()
    }

    /// Layer tokens in the set.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// The search metric: mean SMAPE over the six targets of rounded
    /// estimates, averaged over the synthetic and the realistic designs
    /// (each part weighted equally when both are present: a few dozen
    /// realistic networks would otherwise vanish among a thousand sweeps).
    fn mean_smape(&self, estimates: &[Targets]) -> f64 {
        let parts: Vec<f64> = [false, true]
            .iter()
            .filter_map(|r| {
                let idx: Vec<usize> = (0..self.designs.len())
                    .filter(|i| self.designs[*i].realistic == *r)
                    .collect();
                (!idx.is_empty()).then(|| {
                    let mut sum = 0.0;
                    for t in 0..N_TARGETS {
                        let p: Vec<f64> = idx.iter().map(|i| estimates[*i].to_array()[t]).collect();
                        let y: Vec<f64> = idx
                            .iter()
                            .map(|i| self.designs[*i].targets.to_array()[t])
                            .collect();
                        let m = target_metrics(&p, &y).smape;
                        sum += if m.is_finite() { m } else { 0.0 };
                    }
                    sum / N_TARGETS as f64
                })
            })
            .collect();
        parts.iter().sum::<f64>() / parts.len().max(1) as f64
    }

    /// The `f32` surrogate's rounded estimates.
    pub fn f32_estimates(&self, s: &Surrogate) -> Vec<Targets> {
        self.designs
            .iter()
            .map(|d| round_targets(&s.estimate(d).targets))
            .collect()
    }

    /// The `f32` surrogate's mean SMAPE.
    pub fn f32_metric(&self, s: &Surrogate) -> f64 {
        self.mean_smape(&self.f32_estimates(s))
    }
}

/// Converts a design's raw totals to targets.
pub fn totals_to_targets(total: &FixedType, raw: &[i64; N_TARGETS]) -> Targets {
    Targets::from_array(raw.map(|r| total.to_f64(r)))
}

/// Per-member shares of every token, recomputed only for the members a
/// change touched.
struct Cache {
    shares: Vec<Vec<[i64; N_TARGETS]>>,
    stale: Vec<bool>,
}

impl Cache {
    /// Every member stale: the first metric computes them all.
    fn new(members: usize) -> Self {
        Self {
            shares: vec![Vec::new(); members],
            stale: vec![true; members],
        }
    }

    fn metric(
        &mut self,
        set: &EvalSet<'_>,
        bytes: &[u8],
    ) -> Result<(f64, Vec<Targets>), QuantizeError> {
        let model = FixedModel::parse(bytes)?;
        let q: Vec<Vec<i64>> = set
            .tokens
            .iter()
            .map(|t| crate::tokens::quantize_token(&model.input, t))
            .collect();
        for m in 0..usize::from(model.members) {
            if !self.stale[m] {
                continue;
            }
            self.shares[m] = q
                .par_iter()
                .map(|t| model.member_costs(m, t))
                .collect::<Result<_, _>>()?;
            self.stale[m] = false;
        }
        let est: Vec<Targets> = set
            .spans
            .iter()
            .map(|span| {
                let mut totals = [0i64; N_TARGETS];
                for k in span.clone() {
                    let mut c = [0i64; N_TARGETS];
                    for sh in &self.shares {
                        model.add_share(&mut c, &sh[k]);
                    }
                    model.accumulate(&mut totals, &c);
                }
                round_targets(&totals_to_targets(&model.total, &totals))
            })
            .collect();
        Ok((set.mean_smape(&est), est))
    }

    fn touch(&mut self, k: Knob) {
        match k {
            Knob::Input | Knob::Log => self.stale.iter_mut().for_each(|s| *s = true),
            Knob::Weight(m, _) | Knob::Bias(m, _) | Knob::Result(m, _) => {
                if let Some(s) = self.stale.get_mut(m) {
                    *s = true;
                }
            }
        }
    }
}

/// Mean SMAPE of an encoded fixed-point model on a set.
pub fn fixed_metric(set: &EvalSet<'_>, bytes: &[u8]) -> Result<f64, QuantizeError> {
    let members = usize::from(FixedModel::parse(bytes)?.members);
    let mut c = Cache::new(members);
    Ok(c.metric(set, bytes)?.0)
}

/// Per target, the SMAPE % between two sets of estimates of the same designs.
fn smape_between(a: &[Targets], b: &[Targets]) -> [f64; N_TARGETS] {
    let mut out = [0f64; N_TARGETS];
    for (t, o) in out.iter_mut().enumerate() {
        let p: Vec<f64> = a.iter().map(|e| e.to_array()[t]).collect();
        let y: Vec<f64> = b.iter().map(|e| e.to_array()[t]).collect();
        *o = target_metrics(&p, &y).smape;
    }
    out
}

fn worst(v: &[f64; N_TARGETS]) -> f64 {
    v.iter()
        .fold(0.0, |a, x| if x.is_finite() { a.max(*x) } else { a })
}

/// How far the fixed-point model's estimates lie from the `f32` model's
/// (not from the truth): per target, the SMAPE % between the two on `set`.
pub fn drift(
    set: &EvalSet<'_>,
    s: &Surrogate,
    bytes: &[u8],
) -> Result<[f64; N_TARGETS], QuantizeError> {
    let members = usize::from(FixedModel::parse(bytes)?.members);
    let mut c = Cache::new(members);
    let (_, fixed) = c.metric(set, bytes)?;
    Ok(smape_between(&fixed, &set.f32_estimates(s)))
}

/// One virtual layer's final precisions, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct VirtualLayer {
    /// e.g. `m0.dense1+relu`.
    pub name: String,
    /// Weight type.
    pub weight: String,
    /// Bias type, if any.
    pub bias: Option<String>,
    /// Result type.
    pub result: String,
}

/// Bits of a model's weights and activations.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BitCount {
    /// Σ weights·W + biases·W.
    pub weight_bits: u64,
    /// Σ over layer outputs (and the token input) of their result widths,
    /// per token.
    pub activation_bits: u64,
}

/// What the search did.
#[derive(Debug, Clone, Serialize)]
pub struct QhsReport {
    /// Allowed loss, percentage points of mean SMAPE.
    pub tolerance: f64,
    /// Allowed distance from the `f32` model's estimates (SMAPE %, worst
    /// target) on the search designs.
    pub max_drift: f64,
    /// That distance after the search, per target.
    pub drift_search: [f64; N_TARGETS],
    /// Search designs / tokens.
    pub search_designs: usize,
    /// Test designs.
    pub test_designs: usize,
    /// `f32` mean SMAPE on the search designs.
    pub f32_search: f64,
    /// Fixed point at the start precisions.
    pub start_search: f64,
    /// Fixed point after the search.
    pub final_search: f64,
    /// `f32` on the test designs.
    pub f32_test: f64,
    /// Fixed point on the test designs after the search.
    pub final_test: f64,
    /// Metric evaluations.
    pub evaluations: usize,
    /// Reductions kept.
    pub reductions: usize,
    /// Seconds.
    pub seconds: f64,
    /// Final precisions.
    pub precisions: Precisions,
    /// The same, per virtual layer.
    pub virtual_layers: Vec<VirtualLayer>,
    /// Bits after the search.
    pub bits: BitCount,
    /// Bits with every type `ap_fixed<16,6>`.
    pub uniform_16_6: BitCount,
    /// Model id (CRC-64 of its encoding).
    pub model_id: String,
    /// Encoded size, bytes.
    pub model_bytes: usize,
}

/// Bit counts of `p` (or, with `uniform`, of every type at that width).
pub fn bit_count(f: &Folded, p: &Precisions, uniform: Option<u8>) -> BitCount {
    let u = |w: u8| u64::from(uniform.unwrap_or(w));
    let mut wb = 0u64;
    let mut ab = 0u64;
    for (m, lp) in f.members.iter().zip(&p.members) {
        let layers: Vec<&FLayer> = m.hidden.iter().chain([&m.out, &m.skip]).collect();
        for (l, q) in layers.iter().zip(lp) {
            wb += (l.w.len() as u64) * u(q.weight.width);
            if let Some(b) = q.bias {
                wb += (l.b.len() as u64) * u(b.width);
            }
            if let Some(r) = q.result {
                ab += (l.outputs as u64) * u(r.width);
            }
        }
        ab += N_TARGETS as u64 * u(p.log.width);
    }
    ab += TOKEN_LEN as u64 * u(p.input.width);
    BitCount {
        weight_bits: wb,
        activation_bits: ab,
    }
}

fn virtual_layers(p: &Precisions) -> Vec<VirtualLayer> {
    let mut out = vec![VirtualLayer {
        name: "input (token slots)".into(),
        weight: "-".into(),
        bias: None,
        result: p.input.to_string(),
    }];
    for (m, lp) in p.members.iter().enumerate() {
        let n = lp.len();
        for (k, q) in lp.iter().enumerate() {
            let name = if k + 2 < n {
                format!("m{m}.dense{}+relu", k + 1)
            } else if k + 2 == n {
                format!("m{m}.output+skip-add")
            } else {
                format!("m{m}.skip")
            };
            out.push(VirtualLayer {
                name,
                weight: q.weight.to_string(),
                bias: q.bias.map(|b| b.to_string()),
                result: q.result.unwrap_or(p.log).to_string(),
            });
        }
    }
    out
}

/// Scores a trial by the search designs' mean SMAPE (within `budget`)
/// and every target's drift from the `f32` model (within `max_drift`).
struct SmapeScorer<'a, 'd> {
    f: &'a Folded,
    set: &'a EvalSet<'d>,
    provenance: &'a str,
    cache: Cache,
    f32_est: &'a [Targets],
    budget: f64,
    max_drift: f64,
}

impl Scorer<Precisions> for SmapeScorer<'_, '_> {
    fn accept(&mut self, p: &Precisions, k: Knob) -> bool {
        self.cache.touch(k);
        let Ok(bytes) = build(self.f, p, self.provenance) else {
            return false;
        };
        self.cache.metric(self.set, &bytes).is_ok_and(|(m, e)| {
            m <= self.budget && worst(&smape_between(&e, self.f32_est)) <= self.max_drift
        })
    }

    fn restored(&mut self, _p: &Precisions, k: Knob) {
        self.cache.touch(k);
    }
}

/// Runs the search (steps 1–4). `search` picks the precisions; `test` is
/// only measured. `progress(done_evaluations, reducible_left)`.
pub fn qhs(
    s: &Surrogate,
    search: &EvalSet<'_>,
    test: &EvalSet<'_>,
    tolerance: f64,
    max_drift: f64,
    provenance: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Vec<u8>, QhsReport), QuantizeError> {
    if search.is_empty() {
        return Err(QuantizeError::NoDesigns);
    }
    let started = Instant::now();
    let f = fold(s);
    let f32_est = search.f32_estimates(s);
    let f32_search = search.mean_smape(&f32_est);
    let mut p = start_precisions(&f, &search.tokens);
    let members = f.members.len();
    let mut cache = Cache::new(members);
    let bytes = build(&f, &p, provenance)?;
    let (start_search, _) = cache.metric(search, &bytes)?;
    let mut scorer = SmapeScorer {
        f: &f,
        set: search,
        provenance,
        cache,
        f32_est: &f32_est,
        budget: f32_search + tolerance,
        max_drift,
    };
    let stats = crate::qhs::reduce(&mut p, &mut scorer, |done, left| progress(done + 1, left));
    let (evaluations, reductions) = (stats.evaluations + 1, stats.reductions);
    let mut cache = scorer.cache;
    let bytes = build(&f, &p, provenance)?;
    let (final_search, final_est) = cache.metric(search, &bytes)?;
    let drift_search = smape_between(&final_est, &f32_est);
    let f32_test = if test.is_empty() {
        f64::NAN
    } else {
        test.f32_metric(s)
    };
    let final_test = if test.is_empty() {
        f64::NAN
    } else {
        fixed_metric(test, &bytes)?
    };
    let report = QhsReport {
        tolerance,
        max_drift,
        drift_search,
        search_designs: search.len(),
        test_designs: test.len(),
        f32_search,
        start_search,
        final_search,
        f32_test,
        final_test,
        evaluations,
        reductions,
        seconds: started.elapsed().as_secs_f64(),
        virtual_layers: virtual_layers(&p),
        bits: bit_count(&f, &p, None),
        uniform_16_6: bit_count(&f, &p, Some(16)),
        model_id: format!("{:016x}", FixedModel::id_of(&bytes)?),
        model_bytes: bytes.len(),
        precisions: p,
    };
    Ok((bytes, report))
}

/// Options of [`quantize`] (the flags of `zest quantize`).
#[derive(Debug, Clone)]
pub struct QuantizeOptions {
    /// Allowed loss: fixed-point mean SMAPE may exceed the f32 model's by
    /// this many percentage points on the search designs.
    pub tolerance: f64,
    /// Every target's estimates stay within this SMAPE % of the f32 model's.
    pub max_drift: f64,
    /// Seed of the search/test split.
    pub seed: u64,
}

/// Everything `zest quantize` reports (also written as its `--report`).
#[derive(Debug, Clone, Serialize)]
pub struct QuantizeReport {
    /// The search.
    pub qhs: QhsReport,
    /// Mean SMAPE % on the realistic networks of the test half: (f32,
    /// fixed point).
    pub realistic: Option<(f64, f64)>,
    /// Per target, SMAPE % between the fixed-point and f32 estimates on
    /// the test half.
    pub drift_from_f32: [f64; N_TARGETS],
    /// The accelerator this model makes, estimated by the shipped surrogate.
    pub accelerator: crate::estimate::EstimateReport,
    /// Where the model was written.
    pub out: std::path::PathBuf,
    /// Realistic designs in the test half.
    #[serde(skip)]
    pub realistic_designs: usize,
}

/// Splits `designs` into search and test halves by group (every
/// configuration of a network on one side), the realistic networks split
/// the same way, so the search sees their regime too and the test half
/// holds some it never saw.
pub fn search_test_split(designs: &[Design], seed: u64) -> (Vec<&Design>, Vec<&Design>) {
    let mut search = Vec::new();
    let mut test = Vec::new();
    for realistic in [false, true] {
        let part: Vec<&Design> = designs
            .iter()
            .filter(|d| d.realistic == realistic)
            .collect();
        let (s, t) = crate::learn::eval::group_split(&part, 0.5, seed);
        search.extend(s);
        test.extend(t);
    }
    (search, test)
}

/// `zest quantize`: QHS of `model` on the search half of `designs`, the
/// result measured on the test half; returns the model's bytes (to be
/// written to `out`) and the report. `progress` is told the evaluations
/// so far and the precisions still reducible this round.
pub fn quantize(
    model: &Surrogate,
    designs: &[Design],
    opts: &QuantizeOptions,
    provenance: &str,
    out: &std::path::Path,
    progress: impl FnMut(usize, usize),
) -> Result<(Vec<u8>, QuantizeReport), QuantizeError> {
    let (search, test) = search_test_split(designs, opts.seed);
    let test_realistic: Vec<&Design> = test.iter().copied().filter(|d| d.realistic).collect();
    let search = EvalSet::new(&search);
    let test = EvalSet::new(&test);
    let (bytes, qhs_report) = qhs(
        model,
        &search,
        &test,
        opts.tolerance,
        opts.max_drift,
        provenance,
        progress,
    )?;
    let accel = crate::deploy::hls::accelerator_design(&FixedModel::parse(&bytes)?);
    let realistic = EvalSet::new(&test_realistic);
    let realistic_pair = if realistic.is_empty() {
        None
    } else {
        Some((
            realistic.f32_metric(model),
            fixed_metric(&realistic, &bytes)?,
        ))
    };
    let drift_from_f32 = drift(&test, model, &bytes)?;
    let cfg = crate::design::config_of(&accel);
    let shipped =
        crate::models::load_model(None).map_err(|e| QuantizeError::Model(e.to_string()))?;
    let accelerator = crate::estimate::estimate(&shipped, &accel, &cfg, "embedded default", None);
    let report = QuantizeReport {
        qhs: qhs_report,
        realistic: realistic_pair,
        drift_from_f32,
        accelerator,
        out: out.to_path_buf(),
        realistic_designs: realistic.len(),
    };
    Ok((bytes, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_bits_hold_the_value_with_sign() {
        assert_eq!(int_bits(1.42), 2); // ±2
        assert_eq!(int_bits(0.38), 0); // ±0.5
        assert_eq!(int_bits(2.0), 3); // 2 needs ±4
        assert_eq!(int_bits(0.0), 1);
        for v in [0.01, 0.3, 0.5, 0.99, 1.0, 3.7, 100.0] {
            let i = int_bits(v);
            assert!(v < 2f64.powi(i32::from(i) - 1), "{v} {i}");
            assert!(v >= 2f64.powi(i32::from(i) - 2), "{v} {i} not minimal");
        }
    }

    /// The shipped fixed-point model clamps where the float model does: its
    /// bounds are the float model's training range quantized as tokens
    /// are, and a slot far past either end costs, in fixed point, what the
    /// end costs.
    #[test]
    fn the_shipped_fixed_model_clamps_where_the_float_model_does() {
        let f = crate::models::load_model(None).expect("the shipped model");
        let bytes = crate::models::DEFAULT_FIXED;
        let q = FixedModel::parse(bytes).expect("the shipped fixed-point model");
        let input = q.input;
        let lo = quantize_token(&input, &f.token_min);
        let hi = quantize_token(&input, &f.token_max);
        for i in 0..TOKEN_LEN {
            assert_eq!(q.bounds(i), (lo[i], hi[i]), "slot {i}");
        }
        let mid: [f32; TOKEN_LEN] =
            std::array::from_fn(|i| 0.5 * (f.token_min[i] + f.token_max[i]));
        let fixed = |t: &[f32; TOKEN_LEN]| {
            let raw = q
                .layer_costs(&quantize_token(&input, t))
                .expect("in the input type");
            totals_to_targets(&q.total, &raw).to_array()
        };
        let mut clamped = 0;
        for i in (0..TOKEN_LEN).filter(|&i| f.std[i] < 1e29) {
            let (l, h) = (f.token_min[i], f.token_max[i]);
            let span = (h - l).max(1.0);
            for (edge, far) in [(h, h + 40.0 * span), (l, l - 40.0 * span)] {
                let (mut a, mut b) = (mid, mid);
                a[i] = edge;
                b[i] = far;
                // Past the input type's own range too, where quantizing
                // saturates: still the edge.
                assert_eq!(fixed(&a), fixed(&b), "slot {i}");
                clamped += 1;
            }
        }
        assert!(clamped > TOKEN_LEN, "{clamped} slots checked");
    }
}

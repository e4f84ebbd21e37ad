//! The surrogate: one small network applied to every layer token, giving a
//! non-negative cost per layer and target; the design's LUT, FF, DSP, BRAM
//! and latency are the sums over its layers, its II the maximum (the
//! slowest layer sets the pace of a pipelined or dataflow design).
//!
//! Inference is plain Rust on `f32` (no framework): it is what `zest
//! estimate` runs, what the fixed-point model will be derived from, and
//! what the firmware's soft model mirrors. Training lives in [`crate::learn::train`].

use serde::{Deserialize, Serialize};
use zest_features::{kind_index, SCHEMA_VERSION, TOKEN_LEN};

use crate::design::{Design, Targets};
use crate::tokens::tokens;

/// The targets and the index of II (the one aggregated by max), from
/// `zest-features`.
pub use zest_features::{II, N_TARGETS};
/// Per-layer log-cost is clamped here before exp (e^20 ≈ 5·10⁸) while
/// training starts; trained models carry tighter per-target caps.
pub const LOG_COST_MAX: f32 = 20.0;

/// A dense layer, row-major `[inputs][outputs]` (x · W + b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// `inputs × outputs` weights.
    pub weight: Vec<f32>,
    /// `outputs` biases.
    pub bias: Vec<f32>,
}

impl Dense {
    fn forward(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (i, &xi) in x.iter().enumerate() {
            let row = &self.weight[i * self.outputs..(i + 1) * self.outputs];
            for (o, w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
    }
}

/// One network of the ensemble: per-layer log-cost from a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Hidden layers (ReLU after each).
    pub hidden: Vec<Dense>,
    /// Output layer: per-target log-cost.
    pub output: Dense,
    /// Linear path from the normalised token straight to the log-cost,
    /// added to the output: power laws in the log-count features carry over
    /// to sizes beyond the training range, where the ReLU part flattens out.
    pub skip: Dense,
}

impl Member {
    /// Checks that the layer shapes chain from a token to the targets.
    fn validate(&self) -> Result<(), ModelError> {
        let mut width = TOKEN_LEN;
        for (i, d) in self
            .hidden
            .iter()
            .chain(std::iter::once(&self.output))
            .enumerate()
        {
            if d.inputs != width
                || d.weight.len() != d.inputs * d.outputs
                || d.bias.len() != d.outputs
            {
                return Err(ModelError::Shape(format!("layer {i}")));
            }
            width = d.outputs;
        }
        if width != N_TARGETS {
            return Err(ModelError::Shape(format!(
                "{width} outputs, expected {N_TARGETS}"
            )));
        }
        if self.skip.inputs != TOKEN_LEN
            || self.skip.outputs != N_TARGETS
            || self.skip.weight.len() != TOKEN_LEN * N_TARGETS
            || self.skip.bias.len() != N_TARGETS
        {
            return Err(ModelError::Shape("skip path".into()));
        }
        Ok(())
    }

    /// Per-target log-cost of one normalised token (uncapped).
    pub fn log_costs(&self, x0: &[f32]) -> [f32; N_TARGETS] {
        let mut x = x0.to_vec();
        let mut y = Vec::new();
        for h in &self.hidden {
            h.forward(&x, &mut y);
            for v in y.iter_mut() {
                *v = v.max(0.0);
            }
            std::mem::swap(&mut x, &mut y);
        }
        self.output.forward(&x, &mut y);
        let mut z = Vec::new();
        self.skip.forward(x0, &mut z);
        let mut out = [0f32; N_TARGETS];
        for (o, (a, b)) in out.iter_mut().zip(y.iter().zip(&z)) {
            *o = a + b;
        }
        out
    }
}

/// A trained surrogate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Surrogate {
    /// Feature schema the model was trained on.
    pub schema_version: u16,
    /// Per-slot mean of the training tokens.
    pub mean: Vec<f32>,
    /// Per-slot standard deviation (1e30 where constant in training,
    /// which zeroes that slot).
    pub std: Vec<f32>,
    /// Ensemble members, each trained from its own seed; a layer's cost is
    /// the mean of theirs (averaging independently trained networks removes
    /// much of the variance any one of them has).
    pub members: Vec<Member>,
    /// Per target, the largest log-cost one layer may have: ln of twice the
    /// largest whole-design value seen in training. No layer can cost more
    /// than any design ever did, however far a token lies from the data.
    pub log_cost_cap: Vec<f32>,
    /// Per-slot minimum of the training tokens.
    pub token_min: Vec<f32>,
    /// Per-slot maximum of the training tokens.
    pub token_max: Vec<f32>,
    /// How it was trained (free text and figures, for reports).
    pub provenance: String,
    /// Per target, the sorted residuals ln(1 + truth) − ln(1 + estimate)
    /// on calibration designs the model was not trained on (the validation
    /// groups): what [`Surrogate::upper`] takes its quantiles from. Empty
    /// when the model was trained without a validation set.
    #[serde(default)]
    pub residuals: Vec<Vec<f32>>,
    /// Per layer kind (in `zest_features::Kind` order), the per-slot
    /// minimum and maximum of the training tokens of that kind (empty for a
    /// kind not trained on). A slot can lie inside the range of all tokens
    /// and still outside anything its own kind was trained on: every Dense
    /// layer of the synthetic records has 16-bit inputs, results and
    /// accumulators, so a Dense layer with 8-bit results extrapolates.
    #[serde(default)]
    pub kind_ranges: Vec<TokenRange>,
}

/// Per-slot range of a set of tokens (empty vectors for no tokens).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenRange {
    /// Per-slot minimum.
    pub min: Vec<f32>,
    /// Per-slot maximum.
    pub max: Vec<f32>,
}

impl TokenRange {
    /// Widens the range to take in `t`.
    fn include(&mut self, t: &[f32; TOKEN_LEN]) {
        if self.min.is_empty() {
            self.min = t.to_vec();
            self.max = t.to_vec();
        }
        for (i, v) in t.iter().enumerate() {
            self.min[i] = self.min[i].min(*v);
            self.max[i] = self.max[i].max(*v);
        }
    }

    /// The range of `tokens`.
    pub fn of(tokens: &[[f32; TOKEN_LEN]]) -> TokenRange {
        let mut r = TokenRange::default();
        tokens.iter().for_each(|t| r.include(t));
        r
    }

    /// The range of each layer kind's `tokens`, in `Kind` order.
    pub fn per_kind(tokens: &[[f32; TOKEN_LEN]]) -> Vec<TokenRange> {
        let mut out = vec![TokenRange::default(); zest_features::KINDS];
        for t in tokens {
            if let Some(r) = kind_index(t).and_then(|k| out.get_mut(k)) {
                r.include(t);
            }
        }
        out
    }
}

/// One estimate: the design's targets and each layer's share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The six targets.
    pub targets: Targets,
    /// Per layer, the six per-layer costs (II: the layer's own II).
    pub per_layer: Vec<[f64; N_TARGETS]>,
}

/// Error for a model that does not fit this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Trained on another feature schema.
    #[error(
        "model uses feature schema v{model}, this zest uses v{ours}: retrain it with `zest train`"
    )]
    Schema {
        /// The model's.
        model: u16,
        /// Ours.
        ours: u16,
    },
    /// Shapes do not chain.
    #[error("model is inconsistent: {0}")]
    Shape(String),
}

impl Surrogate {
    /// Checks schema version and layer shapes.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ModelError::Schema {
                model: self.schema_version,
                ours: SCHEMA_VERSION,
            });
        }
        if self.mean.len() != TOKEN_LEN || self.std.len() != TOKEN_LEN {
            return Err(ModelError::Shape("normaliser length".into()));
        }
        if self.members.is_empty() {
            return Err(ModelError::Shape("no ensemble members".into()));
        }
        for m in &self.members {
            m.validate()?;
        }
        if self.log_cost_cap.len() != N_TARGETS {
            return Err(ModelError::Shape("log_cost_cap length".into()));
        }
        Ok(())
    }

    /// Slots of `token` outside the training range of its layer kind (of
    /// all tokens, for a model without per-kind ranges or a kind it was
    /// not trained on), with that range.
    pub fn range_violations(&self, token: &[f32; TOKEN_LEN]) -> Vec<(usize, (f32, f32))> {
        let margin = 0.05;
        let (min, max) = self.kind_range(token);
        token
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let (lo, hi) = (*min.get(i)?, *max.get(i)?);
                let pad = margin * (hi - lo).abs().max(1e-3);
                (*v < lo - pad || *v > hi + pad).then_some((i, (lo, hi)))
            })
            .collect()
    }

    /// The per-slot training range of `token`'s layer kind (of all
    /// tokens, for a model without per-kind ranges or a kind it was not
    /// trained on).
    fn kind_range(&self, token: &[f32; TOKEN_LEN]) -> (&[f32], &[f32]) {
        match kind_index(token).and_then(|k| self.kind_ranges.get(k)) {
            Some(r) if r.min.len() == TOKEN_LEN && r.max.len() == TOKEN_LEN => (&r.min, &r.max),
            _ => (&self.token_min, &self.token_max),
        }
    }

    /// Per-layer costs (linear units) for one token. Each slot is first
    /// clamped to its range over all training tokens, so a layer unlike
    /// any trained on is estimated as the nearest one that was, never by
    /// the network's extrapolation (which put held-out projects at 10⁷
    /// cycles and made every leave-one-network-out R² negative;
    /// docs/accuracy.md). Not the range of its own kind: that clamp also
    /// moves tokens the whole data set spans (unseen SMAPE 55 % against
    /// 48 %). [`Surrogate::range_violations`] still warns of it.
    pub fn layer_costs(&self, token: &[f32; TOKEN_LEN]) -> [f64; N_TARGETS] {
        let (min, max) = (&self.token_min, &self.token_max);
        let x0: Vec<f32> = token
            .iter()
            .enumerate()
            .zip(self.mean.iter().zip(&self.std))
            .map(|((i, v), (m, s))| {
                let v = match (min.get(i), max.get(i)) {
                    (Some(lo), Some(hi)) if lo <= hi => v.clamp(*lo, *hi),
                    _ => *v,
                };
                (v - m) / s
            })
            .collect();
        // Arithmetic mean of the members' costs, not of their log-costs:
        // how a design's cost is shared among its layers is not pinned down
        // by whole-design records, and members may share it differently; the
        // mean of costs keeps each member's sums.
        let mut out = [0f64; N_TARGETS];
        for m in &self.members {
            for (t, (o, v)) in out.iter_mut().zip(m.log_costs(&x0)).enumerate() {
                let cap = self.log_cost_cap.get(t).copied().unwrap_or(LOG_COST_MAX);
                *o += f64::from(v.min(cap).exp());
            }
        }
        let n = self.members.len().max(1) as f64;
        for o in &mut out {
            *o /= n;
        }
        out
    }

    /// Estimates a design.
    pub fn estimate(&self, d: &Design) -> Estimate {
        self.estimate_tokens(&tokens(d))
    }

    /// Estimates a design from its layer tokens (for callers that need the
    /// tokens as well, so the design is tokenised once).
    pub fn estimate_tokens(&self, tokens: &[[f32; TOKEN_LEN]]) -> Estimate {
        let per_layer: Vec<[f64; N_TARGETS]> = tokens.iter().map(|t| self.layer_costs(t)).collect();
        let mut total = [0f64; N_TARGETS];
        for l in &per_layer {
            for (t, (acc, v)) in total.iter_mut().zip(l).enumerate() {
                if t == II {
                    *acc = acc.max(*v);
                } else {
                    *acc += v;
                }
            }
        }
        Estimate {
            targets: Targets::from_array(total),
            per_layer,
        }
    }
}

impl Surrogate {
    /// Records the calibration residuals of `designs` (see
    /// [`Surrogate::residuals`]).
    pub fn calibrate(&mut self, designs: &[&Design]) {
        let mut res = vec![Vec::new(); N_TARGETS];
        for d in designs {
            let p = self.estimate(d).targets.to_array();
            for (t, y) in d.targets.to_array().iter().enumerate() {
                if y.is_finite() && *y >= 0.0 {
                    res[t].push((y.ln_1p() - p[t].max(0.0).ln_1p()) as f32);
                }
            }
        }
        for r in &mut res {
            r.sort_by(f32::total_cmp);
        }
        self.residuals = res;
    }

    /// An upper bound meant to be at or above the truth with probability
    /// `q`: the estimate raised by the split-conformal `q`-quantile of the
    /// calibration residuals (⌈(n + 1)·q⌉-th smallest of n). `None` when the
    /// model has no residuals for a target or too few for that `q`.
    pub fn upper(&self, estimate: &Targets, q: f64) -> Option<Targets> {
        let p = estimate.to_array();
        let mut out = [0f64; N_TARGETS];
        for (t, o) in out.iter_mut().enumerate() {
            let r = self.residuals.get(t)?;
            let n = r.len();
            let k = ((n as f64 + 1.0) * q.clamp(0.0, 1.0)).ceil() as usize;
            if n == 0 || k > n {
                return None;
            }
            let lift = f64::from(r[k.max(1) - 1]).max(0.0);
            *o = (p[t].max(0.0).ln_1p() + lift).exp_m1();
        }
        Some(Targets::from_array(out))
    }
}

/// Rounds an estimate to what synthesis reports: whole resources and
/// cycles (so a predicted 0.3 DSP is 0, as the tool would say), II ≥ 1.
pub fn round_targets(t: &Targets) -> Targets {
    let r = |v: f64| v.max(0.0).round();
    Targets {
        lut: r(t.lut),
        ff: r(t.ff),
        dsp: r(t.dsp),
        bram18: r(t.bram18),
        latency_cycles: r(t.latency_cycles),
        ii: r(t.ii).max(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_beyond_the_training_range_is_estimated_at_its_edge() {
        let m = crate::models::load_model(None).expect("the shipped model");
        // Each slot the data vary, in turn: far past either end of its
        // range costs what the end itself costs; inside, the slot still
        // moves the estimate.
        let mid: [f32; TOKEN_LEN] =
            std::array::from_fn(|i| 0.5 * (m.token_min[i] + m.token_max[i]));
        let mut moved = 0;
        for i in (0..TOKEN_LEN).filter(|&i| m.std[i] < 1e29) {
            let (lo, hi) = (m.token_min[i], m.token_max[i]);
            let span = (hi - lo).max(1.0);
            for (edge, far) in [(hi, hi + 40.0 * span), (lo, lo - 40.0 * span)] {
                let (mut a, mut b) = (mid, mid);
                a[i] = edge;
                b[i] = far;
                assert_eq!(m.layer_costs(&a), m.layer_costs(&b), "slot {i}");
            }
            let (mut a, mut b) = (mid, mid);
            a[i] = lo;
            b[i] = hi;
            moved += usize::from(m.layer_costs(&a) != m.layer_costs(&b));
        }
        assert!(
            moved > TOKEN_LEN / 2,
            "only {moved} slots move the estimate"
        );
    }
}

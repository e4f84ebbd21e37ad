//! A user's network as zest optimises it: a chain of Dense layers with
//! ReLU between them, trained on the user's [`crate::dataset`], and what
//! the estimator makes of it.
//!
//! # Layout
//!
//! ```text
//! layer l:  y = act(x · W + b)     W: n_in × n_out, row-major, W[i][o] at i·n_out + o
//!           act = ReLU for hidden layers, none (logits) for the last
//! mask:     per weight 1 (kept) or 0 (pruned); a pruned weight is an exact 0.0
//! ```
//!
//! The network works on raw features: training standardises them, and
//! [`Mlp::fold_standardisation`] folds the scaling into the first layer
//! (W'[i][o] = W[i][o] / s_i, b'_o = b_o − Σ_i m_i / s_i · W[i][o]), so the
//! FPGA sees what the sensor gives. The class is the arg-max of the last
//! layer's outputs (a softmax after it would not change it).

pub mod export;
pub mod fixed;
pub mod onnx;
pub mod optimize;
pub mod package;
pub mod prune;
pub mod quantize;
pub mod scale;
pub mod train;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::design::{Activation, Design, HlsConfig, Precision};

/// One Dense layer and its pruning mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseLayer {
    /// Inputs.
    pub n_in: usize,
    /// Outputs.
    pub n_out: usize,
    /// `n_in × n_out` weights, row-major (see the module's layout).
    pub weight: Vec<f32>,
    /// `n_out` biases.
    pub bias: Vec<f32>,
    /// `n_in × n_out`: `true` where the weight is kept.
    pub mask: Vec<bool>,
}

impl DenseLayer {
    /// Weights pruned (masked to zero).
    pub fn pruned(&self) -> usize {
        self.mask.iter().filter(|m| !**m).count()
    }

    /// `x · W + b`, pruned weights as 0.
    fn forward(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        for (i, &xi) in x.iter().enumerate() {
            let row = i * self.n_out..(i + 1) * self.n_out;
            for ((o, w), m) in out
                .iter_mut()
                .zip(&self.weight[row.clone()])
                .zip(&self.mask[row])
            {
                if *m {
                    *o += xi * w;
                }
            }
        }
    }
}

/// A Dense/ReLU chain; the last layer's outputs are the class scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<DenseLayer>,
}

impl Mlp {
    /// Layer widths, input first (`[64, 32, 32, 10]`).
    pub fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.layers.first().map(|l| l.n_in).into_iter().collect();
        w.extend(self.layers.iter().map(|l| l.n_out));
        w
    }

    /// The class scores of one sample (float).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut a = x.to_vec();
        let mut b = Vec::new();
        let last = self.layers.len().saturating_sub(1);
        for (k, l) in self.layers.iter().enumerate() {
            l.forward(&a, &mut b);
            if k < last {
                b.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            std::mem::swap(&mut a, &mut b);
        }
        a
    }

    /// The predicted class of one sample: the first arg-max.
    pub fn predict(&self, x: &[f32]) -> usize {
        argmax(&self.forward(x))
    }

    /// Fraction of the samples `idx` of `data` classified right.
    pub fn accuracy(&self, data: &Dataset, idx: &[usize]) -> f64 {
        data.accuracy(idx, |x| self.predict(x))
    }

    /// Folds `(x − mean) / std` into the first layer, so the network takes
    /// raw features. Pruned weights stay exact zeros.
    pub fn fold_standardisation(&mut self, mean: &[f32], std: &[f32]) {
        let Some(first) = self.layers.first_mut() else {
            return;
        };
        let n_out = first.n_out;
        for i in 0..first.n_in {
            let s = std.get(i).copied().unwrap_or(1.0);
            let m = mean.get(i).copied().unwrap_or(0.0);
            for o in 0..n_out {
                let k = i * n_out + o;
                if !first.mask[k] {
                    first.weight[k] = 0.0;
                    continue;
                }
                let w = first.weight[k] / s;
                first.weight[k] = w;
                first.bias[o] -= m * w;
            }
        }
    }

    /// Weights pruned, of all.
    pub fn pruning_rate(&self) -> f64 {
        let (p, n) = self
            .layers
            .iter()
            .fold((0, 0), |(p, n), l| (p + l.pruned(), n + l.mask.len()));
        if n == 0 {
            0.0
        } else {
            p as f64 / n as f64
        }
    }

    /// The network as the design the estimator reads: hls4ml's layer list
    /// (Dense, then ReLU as its own layer, no activation after the last),
    /// every layer at `precision` and `cfg`'s reuse factor, strategy, io
    /// type, part and clock, pruned weights counted as hls4ml's `n_zeros`.
    pub fn design(&self, name: &str, precision: Precision, cfg: &HlsConfig) -> Design {
        let widths: Vec<u32> = self.widths().iter().map(|&w| w as u32).collect();
        let mut layers = crate::data::mlp(
            &widths,
            precision,
            cfg.reuse_factor,
            Activation::Relu,
            Activation::Linear,
        );
        let mut dense = self.layers.iter();
        for l in layers.iter_mut().filter(|l| l.kind.has_weights()) {
            if let Some(d) = dense.next() {
                l.zero_weights = Some(d.pruned() as u32);
            }
        }
        let mut d = crate::data::synthetic_design(
            name,
            layers,
            cfg.strategy == crate::design::Strategy::Resource,
        );
        d.io_type = cfg.io_type;
        d.part = cfg.part.clone();
        d.clock_ns = cfg.clock_ns;
        // The tool of the exported configuration's backend.
        d.tool = Some(
            cfg.tool
                .clone()
                .unwrap_or_else(|| crate::input::yaml::backend_tool(export::backend(cfg))),
        );
        d
    }
}

impl Mlp {
    /// [`Mlp::design`] at the per-layer precisions `p`: each Dense layer's
    /// weight type, and as its result the type its values travel on in
    /// (the ReLU's result; for the last layer its weight type), and the
    /// same as its accumulator. hls4ml's ONNX flow makes both its exact
    /// `auto` type instead, but the Keras-flow designs the surrogate learnt
    /// from carry the model precision there: a 38-bit result would lie far
    /// outside what it has seen. At a uniform precision this is the design
    /// hls4ml's Keras flow builds.
    pub fn design_at(&self, name: &str, p: &fixed::Precisions, cfg: &HlsConfig) -> Design {
        let mut d = self.design(name, Precision::DEFAULT, cfg);
        let prec = |t: &zest_fixed::FixedType| Precision {
            width: u16::from(t.width),
            integer: t.int,
            signed: t.signed,
        };
        let last = self.layers.len().saturating_sub(1);
        let mut k = 0;
        let mut relu = None;
        d.input = prec(&p.input);
        for l in &mut d.layers {
            if l.kind.has_weights() {
                let Some((w, _, r)) = p.layers.get(k) else {
                    break;
                };
                let travel = if k < last { r } else { w };
                l.weight = Some(prec(w));
                l.result = Some(prec(travel));
                l.accum = Some(prec(travel));
                relu = (k < last).then_some(*r);
                k += 1;
            } else if let Some(r) = relu.take() {
                l.result = Some(prec(&r));
            }
        }
        d
    }
}

/// The layer widths (input first) of a design read from an architecture
/// file: a chain of Dense layers, ReLU between them. Anything else is
/// named in the error.
pub fn widths_of(d: &Design) -> Result<Vec<usize>, String> {
    use crate::design::LayerKind;
    let mut w = Vec::new();
    for l in &d.layers {
        match l.kind {
            LayerKind::Dense => {
                if w.is_empty() {
                    w.push(l.n_in() as usize);
                }
                if w.last() != Some(&(l.n_in() as usize)) {
                    return Err(format!(
                        "layer {}: {} inputs after {:?}",
                        l.name,
                        l.n_in(),
                        w
                    ));
                }
                w.push(l.n_out() as usize);
                if !matches!(
                    l.activation,
                    Activation::Linear
                        | Activation::Relu
                        | Activation::Softmax
                        | Activation::Sigmoid
                ) {
                    return Err(format!(
                        "layer {}: activation {:?}; zest optimises ReLU MLPs",
                        l.name, l.activation
                    ));
                }
            }
            LayerKind::Activation
                if matches!(
                    l.activation,
                    Activation::Relu
                        | Activation::Linear
                        | Activation::Softmax
                        | Activation::Sigmoid
                ) => {}
            LayerKind::Flatten => {}
            k => {
                return Err(format!(
                    "layer {} is {k:?}: zest optimises chains of Dense layers with ReLU",
                    l.name
                ))
            }
        }
    }
    if w.len() < 2 {
        return Err("no Dense layer".into());
    }
    Ok(w)
}

/// Index of the first largest value (0 for an empty slice).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n_in: usize, n_out: usize, weight: Vec<f32>, bias: Vec<f32>) -> DenseLayer {
        DenseLayer {
            n_in,
            n_out,
            mask: vec![true; weight.len()],
            weight,
            bias,
        }
    }

    #[test]
    fn folding_the_standardisation_keeps_every_output() {
        let mut net = Mlp {
            layers: vec![
                layer(2, 2, vec![1.0, -2.0, 0.5, 3.0], vec![0.1, -0.2]),
                layer(2, 1, vec![1.0, 1.0], vec![0.0]),
            ],
        };
        net.layers[0].mask[1] = false;
        let (mean, std) = ([3.0f32, -1.0], [2.0f32, 0.5]);
        let x = [4.0f32, 1.5];
        let z: Vec<f32> = x
            .iter()
            .zip(mean.iter().zip(&std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect();
        let before = net.forward(&z);
        net.fold_standardisation(&mean, &std);
        let after = net.forward(&x);
        assert!((before[0] - after[0]).abs() < 1e-5, "{before:?} {after:?}");
        assert_eq!(
            net.layers[0].weight[1], 0.0,
            "a pruned weight stays an exact zero"
        );
        assert_eq!(net.widths(), [2, 2, 1]);
        assert_eq!(net.pruning_rate(), 1.0 / 6.0);
    }

    #[test]
    fn the_design_counts_pruned_weights_as_n_zeros() {
        let mut net = Mlp {
            layers: vec![
                layer(3, 2, vec![1.0; 6], vec![0.0; 2]),
                layer(2, 2, vec![1.0; 4], vec![0.0; 2]),
            ],
        };
        net.layers[0].mask[..4].iter_mut().for_each(|m| *m = false);
        let d = net.design("t", Precision::DEFAULT, &HlsConfig::default());
        let zeros: Vec<Option<u32>> = d
            .layers
            .iter()
            .filter(|l| l.kind.has_weights())
            .map(|l| l.zero_weights)
            .collect();
        assert_eq!(zeros, [Some(4), Some(0)]);
        assert_eq!(d.layers.len(), 3, "Dense, ReLU, Dense");
        assert_eq!(argmax(&[0.0, 2.0, 2.0]), 1);
    }
}

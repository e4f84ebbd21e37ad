//! A user's [`Mlp`] in fixed point, computed as hls4ml 1.3.0's C
//! simulation computes it (../shared/docs/HLS4ML-SEMANTICS.md), on
//! `zest-fixed`'s kernels, the same ones the surrogate's fixed-point model
//! runs on.
//!
//! # Data path
//!
//! ```text
//! x_raw  = input_t(x)                      each feature assigned from its f32 value
//! layer l (Dense, Latency strategy):
//!   acc_o  = accum_t(bias_o); acc_o = accum_t(acc_o + accum_t(x_i · w_io)), i ascending
//!   y_o    = result_t(acc_o)
//!   hidden layers then ReLU: r_o = y_o > 0 ? relu_t(y_o) : 0
//! class  = first arg-max of the last layer's y (raw compare: one type)
//! ```
//!
//! Weights and biases are what hls4ml's headers make of them: each printed
//! with `F` fractional digits and read back by the C++ type
//! ([`zest_fixed::FixedType::written`]). Every type carries its own
//! quantization and overflow modes (hls4ml's `AP_TRN`/`AP_WRAP` unless
//! set).

use serde::Serialize;
use zest_fixed::{dense, relu, DenseTypes, FixedType};

use crate::dataset::Dataset;
use crate::network::Mlp;

/// The types of one Dense layer (and of the ReLU after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerTypes {
    /// Weights.
    pub weight: FixedType,
    /// Biases.
    pub bias: FixedType,
    /// Accumulator.
    pub accum: FixedType,
    /// The Dense layer's result.
    pub result: FixedType,
    /// The ReLU's result (hidden layers).
    pub relu: FixedType,
}

impl LayerTypes {
    /// Every type `t`: hls4ml's model-wide precision from the Keras front
    /// end (accumulator included).
    pub fn uniform(t: FixedType) -> Self {
        Self {
            weight: t,
            bias: t,
            accum: t,
            result: t,
            relu: t,
        }
    }
}

/// The precisions a user (or QHS) sets for a network exported to hls4ml's
/// ONNX front end: the input, and per Dense layer its weights, biases and
/// the ReLU after it. Each Dense layer's accumulator and result are
/// hls4ml's `auto` ([`zest_fixed::hls4ml_auto_dense`]): exact, and the
/// only way its ONNX front end keeps the bias inside the Dense layer (an
/// explicit result type stops it fusing the bias `Add`, measured with
/// hls4ml 1.3.0).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Precisions {
    /// Input features.
    pub input: FixedType,
    /// Per Dense layer: weight, bias, ReLU result (unused on the last).
    pub layers: Vec<(FixedType, FixedType, FixedType)>,
}

impl Precisions {
    /// Everything at `t` (hls4ml's `Model: Precision` default).
    pub fn uniform(t: FixedType, n_layers: usize) -> Self {
        Self {
            input: t,
            layers: vec![(t, t, t); n_layers],
        }
    }
}

/// Why a network cannot take a set of precisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixedError {
    /// Fewer precisions than layers.
    #[error("{given} layer precisions for {layers} Dense layers")]
    Count {
        /// Given.
        given: usize,
        /// Needed.
        layers: usize,
    },
    /// hls4ml's exact accumulator would need more than 64 bits.
    #[error("Dense layer {0}: hls4ml's exact accumulator would need more than 64 bits")]
    TooWide(usize),
}

/// An [`Mlp`] with its types, constants converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixedMlp {
    /// Input type.
    pub input: FixedType,
    /// Per layer: types, raw weights (`n_in × n_out` row-major), raw biases.
    pub layers: Vec<(LayerTypes, Vec<i64>, Vec<i64>)>,
}

impl FixedMlp {
    /// `net` at `input` and per-layer `types` (one entry per Dense layer;
    /// the last entry repeats when there are fewer).
    pub fn new(net: &Mlp, input: FixedType, types: &[LayerTypes]) -> Self {
        let layers = net
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let t = types
                    .get(k)
                    .or(types.last())
                    .copied()
                    .unwrap_or(LayerTypes::uniform(input));
                let w = l
                    .weight
                    .iter()
                    .zip(&l.mask)
                    .map(|(w, m)| {
                        if *m {
                            t.weight.written(f64::from(*w))
                        } else {
                            0
                        }
                    })
                    .collect();
                let b = l
                    .bias
                    .iter()
                    .map(|b| t.bias.written(f64::from(*b)))
                    .collect();
                (t, w, b)
            })
            .collect();
        Self { input, layers }
    }

    /// `net` as hls4ml 1.3.0 builds it from zest's ONNX export with
    /// precisions `p` (accumulators and results `auto`).
    pub fn hls4ml(net: &Mlp, p: &Precisions) -> Result<Self, FixedError> {
        if p.layers.len() < net.layers.len() {
            return Err(FixedError::Count {
                given: p.layers.len(),
                layers: net.layers.len(),
            });
        }
        let mut input = p.input;
        let mut types = Vec::new();
        for (k, (l, (w, b, r))) in net.layers.iter().zip(&p.layers).enumerate() {
            let acc = zest_fixed::hls4ml_auto_dense(&input, w, b, l.n_in)
                .ok_or(FixedError::TooWide(k))?;
            types.push(LayerTypes {
                weight: *w,
                bias: *b,
                accum: acc,
                result: acc,
                relu: *r,
            });
            input = *r;
        }
        Ok(Self::new(net, p.input, &types))
    }

    /// The last layer's raw outputs (its result type) for one sample.
    pub fn forward(&self, x: &[f32]) -> Vec<i64> {
        let mut a: Vec<i64> = x
            .iter()
            .map(|v| self.input.from_f64(f64::from(*v)))
            .collect();
        let mut in_t = self.input;
        let last = self.layers.len().saturating_sub(1);
        for (k, (t, w, b)) in self.layers.iter().enumerate() {
            let types = DenseTypes {
                input: in_t,
                weight: t.weight,
                bias: t.bias,
                accum: t.accum,
                result: t.result,
            };
            let mut y = vec![0i64; b.len()];
            // Shapes are the network's own: a short slice cannot happen.
            if dense(&types, &a, w, b, &mut y).is_err() {
                return Vec::new();
            }
            if k < last {
                let mut r = vec![0i64; y.len()];
                relu(&t.result, &t.relu, &y, &mut r);
                a = r;
                in_t = t.relu;
            } else {
                a = y;
            }
        }
        a
    }

    /// The output type (the last layer's result).
    pub fn output_type(&self) -> FixedType {
        self.layers.last().map_or(self.input, |(t, ..)| t.result)
    }

    /// The predicted class: the first arg-max of the raw outputs.
    pub fn predict(&self, x: &[f32]) -> usize {
        crate::network::argmax(&self.forward(x))
    }

    /// Fraction of the samples `idx` classified right.
    pub fn accuracy(&self, data: &Dataset, idx: &[usize]) -> f64 {
        data.accuracy(idx, |x| self.predict(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::DenseLayer;

    #[test]
    fn a_hand_computed_network_in_fixed_point() {
        // 2 -> 2 (ReLU) -> 1 at ap_fixed<8,4> (LSB 1/16), AP_TRN/AP_WRAP.
        let net = Mlp {
            layers: vec![
                DenseLayer {
                    n_in: 2,
                    n_out: 2,
                    weight: vec![0.5, -1.0, 0.26, 2.0],
                    bias: vec![0.1, 0.0],
                    mask: vec![true, true, true, false],
                },
                DenseLayer {
                    n_in: 2,
                    n_out: 1,
                    weight: vec![1.0, 1.0],
                    bias: vec![0.0],
                    mask: vec![true; 2],
                },
            ],
        };
        let t = FixedType::new(8, 4);
        let q = FixedMlp::new(&net, t, &[LayerTypes::uniform(t)]);
        // Constants: 0.26 prints as "0.2600" -> floor(4.16) = 4 LSB; 0.1
        // as "0.1000" -> 1 LSB; the pruned 2.0 is 0.
        assert_eq!(q.layers[0].1, [8, -16, 4, 0]);
        assert_eq!(q.layers[0].2, [1, 0]);
        // x = (1.03, 2.0): input 16 (1.03 floors to 1.0), 32.
        // h0 = 1 + 16·8/16 + 32·4/16 = 1 + 8 + 8 = 17; h1 = 0 − 16 + 0 → ReLU 0.
        assert_eq!(q.forward(&[1.03, 2.0]), [17]);
        // Overflow wraps: with the 2.0 kept, x = (7.5, 7.5) (raw 120):
        // h0 = 1 + 60 + 30 = 91, h1 = −120 + 240 = 120, out = 211, which
        // 8 signed bits wrap to 211 − 256 = −45.
        let mut kept = net.clone();
        kept.layers[0].mask[3] = true;
        let big = FixedMlp::new(&kept, t, &[LayerTypes::uniform(t)]);
        assert_eq!(big.forward(&[7.5, 7.5]), [-45]);
        assert_eq!(q.predict(&[1.03, 2.0]), 0);
    }
}

//! Quantization of a user's [`Mlp`]: MetaML-Pro's QHS (§4.4, the search
//! in [`crate::qhs`]) over the [`Precisions`] hls4ml takes from zest's
//! export, scored by fixed-point accuracy.
//!
//! # Virtual layers and knobs
//!
//! ```text
//! input        x           one precision (hls4ml's input layer result)
//! Dense l      weight_l    bias_l        accum/result: auto (exact, not searched)
//! ReLU l       relu_l      (hidden layers; the last Dense has none)
//! ```
//!
//! Each knob starts at its lossless integer bits ([`int_bits`]) — from the
//! largest |input| on the training split, the largest kept |weight| and
//! |bias|, and the largest ReLU output the float network produces on the
//! training split — plus [`START_FRAC`] fractional bits. The round-robin
//! then removes one bit at a time while the fixed-point accuracy stays
//! within `alpha` of the float network's on the search samples: the
//! training and validation splits together (QHS fits nothing, so every
//! sample but the test split's may judge it; on digits' 360 validation
//! samples alone one sample is 0.28 pp, and the bits chosen followed
//! that noise onto the test split).

use rayon::prelude::*;
use serde::Serialize;
use zest_fixed::FixedType;

use crate::dataset::{Dataset, Split};
use crate::network::fixed::{FixedMlp, Precisions};
use crate::network::{argmax, Mlp};
use crate::qhs::{int_bits, reduce, Scorer, SearchStats, Searched};

/// Fractional bits every precision starts with (hls4ml's default
/// `ap_fixed<16,6>` has 10).
pub const START_FRAC: i16 = 12;
/// Narrowest width a precision may get.
pub const MIN_WIDTH: u8 = 1;
/// Widest a starting precision may be (hls4ml's exact accumulator must
/// stay within 64 bits).
pub const MAX_START_WIDTH: u8 = 32;

/// One searched precision of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Knob {
    /// The input features.
    Input,
    /// Weights of Dense layer `.0`.
    Weight(usize),
    /// Biases of Dense layer `.0`.
    Bias(usize),
    /// The ReLU after Dense layer `.0`.
    Relu(usize),
}

impl Searched for Precisions {
    type Knob = Knob;

    fn knobs(&self) -> Vec<Knob> {
        let mut k = vec![Knob::Input];
        let last = self.layers.len().saturating_sub(1);
        for l in 0..self.layers.len() {
            k.push(Knob::Weight(l));
            k.push(Knob::Bias(l));
            if l < last {
                k.push(Knob::Relu(l));
            }
        }
        k
    }

    fn width_mut(&mut self, k: Knob) -> Option<&mut u8> {
        let t = match k {
            Knob::Input => &mut self.input,
            Knob::Weight(l) => &mut self.layers.get_mut(l)?.0,
            Knob::Bias(l) => &mut self.layers.get_mut(l)?.1,
            Knob::Relu(l) => &mut self.layers.get_mut(l)?.2,
        };
        Some(&mut t.width)
    }

    fn floor(&self, _k: Knob) -> u8 {
        MIN_WIDTH
    }
}

/// The QHS settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuantizeConfig {
    /// Largest accuracy loss (a fraction: 0.01 is 1 pp) of the fixed-point
    /// network against the float one, on the search samples.
    pub alpha: f64,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        Self { alpha: 0.01 }
    }
}

/// What QHS did to a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantizeReport {
    /// Search samples (training and validation splits).
    pub search_samples: usize,
    /// The float network's accuracy on them (the reference).
    pub float_search_accuracy: f64,
    /// The starting precisions' accuracy on them.
    pub start_search_accuracy: f64,
    /// The chosen precisions' accuracy on them.
    pub search_accuracy: f64,
    /// The chosen precisions' test accuracy.
    pub test_accuracy: f64,
    /// Trials and reductions.
    pub search: SearchStats,
    /// The starting precisions.
    pub start: Precisions,
    /// Bits of all kept weights and biases at the chosen precisions.
    pub bits: u64,
    /// The same at a uniform `ap_fixed<16,6>`.
    pub bits_uniform_16: u64,
}

/// Why QHS could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantizeError {
    /// The starting precisions need an accumulator beyond 64 bits.
    #[error("the starting precisions need more than 64 accumulator bits in Dense layer {0}: the network's values span too wide a range")]
    TooWide(usize),
}

/// Fixed-point accuracy of `net` at `p` on `idx` (`None` if the types do
/// not fit hls4ml's accumulators).
pub fn fixed_accuracy(net: &Mlp, p: &Precisions, data: &Dataset, idx: &[usize]) -> Option<f64> {
    let q = FixedMlp::hls4ml(net, p).ok()?;
    if idx.is_empty() {
        return Some(0.0);
    }
    Some(q.accuracy(data, idx))
}

fn start_type(max_abs: f64) -> FixedType {
    let int = int_bits(max_abs);
    let width = (int + START_FRAC).clamp(i16::from(MIN_WIDTH), i16::from(MAX_START_WIDTH));
    FixedType::new(width as u8, int)
}

fn max_abs<'a>(v: impl IntoIterator<Item = &'a f32>) -> f64 {
    v.into_iter().fold(0f64, |a, x| a.max(f64::from(x.abs())))
}

/// QHS's starting point for `net` on the training split of `data`.
pub fn start_precisions(net: &Mlp, data: &Dataset, split: &Split) -> Precisions {
    let input = split
        .train
        .iter()
        .fold(0f64, |a, &i| a.max(max_abs(data.sample(i))));
    let mut relu_max = vec![0f64; net.layers.len()];
    for &i in &split.train {
        let mut x = data.sample(i).to_vec();
        let mut y = Vec::new();
        for (k, l) in net.layers.iter().enumerate() {
            l.forward(&x, &mut y);
            y.iter_mut().for_each(|v| *v = v.max(0.0));
            relu_max[k] = relu_max[k].max(max_abs(&y));
            std::mem::swap(&mut x, &mut y);
        }
    }
    Precisions {
        input: start_type(input),
        layers: net
            .layers
            .iter()
            .zip(&relu_max)
            .map(|(l, r)| {
                let kept = l
                    .weight
                    .iter()
                    .zip(&l.mask)
                    .filter(|(_, m)| **m)
                    .map(|(w, _)| w);
                (
                    start_type(max_abs(kept)),
                    start_type(max_abs(&l.bias)),
                    start_type(*r),
                )
            })
            .collect(),
    }
}

/// Bits of the kept weights and biases at `p`.
pub fn weight_bits(net: &Mlp, p: &Precisions) -> u64 {
    net.layers
        .iter()
        .zip(&p.layers)
        .map(|(l, (w, b, _))| {
            (l.mask.len() - l.pruned()) as u64 * u64::from(w.width)
                + l.bias.len() as u64 * u64::from(b.width)
        })
        .sum()
}

struct AccuracyScorer<'a> {
    net: &'a Mlp,
    data: &'a Dataset,
    idx: &'a [usize],
    floor: f64,
}

impl Scorer<Precisions> for AccuracyScorer<'_> {
    fn accept(&mut self, p: &Precisions, _k: Knob) -> bool {
        fixed_accuracy(self.net, p, self.data, self.idx).is_some_and(|a| a >= self.floor)
    }
}

/// QHS on `net`: the precisions whose fixed-point accuracy on the search
/// samples stays within `cfg.alpha` of the float network's.
/// `progress(trials, reducible_left)` after each trial.
pub fn qhs(
    net: &Mlp,
    data: &Dataset,
    split: &Split,
    cfg: &QuantizeConfig,
    progress: impl FnMut(usize, usize),
) -> Result<(Precisions, QuantizeReport), QuantizeError> {
    let mut search_idx: Vec<usize> = split.train.iter().chain(&split.val).copied().collect();
    search_idx.sort_unstable();
    let float_search = net.accuracy(data, &search_idx);
    let start = start_precisions(net, data, split);
    if let Err(crate::network::fixed::FixedError::TooWide(l)) = FixedMlp::hls4ml(net, &start) {
        return Err(QuantizeError::TooWide(l));
    }
    let start_search = fixed_accuracy(net, &start, data, &search_idx).unwrap_or(0.0);
    let mut p = start.clone();
    let mut scorer = AccuracyScorer {
        net,
        data,
        idx: &search_idx,
        // A hair below, so that a loss of exactly alpha passes.
        floor: float_search - cfg.alpha - 1e-12,
    };
    let search = reduce(&mut p, &mut scorer, progress);
    let report = QuantizeReport {
        search_samples: search_idx.len(),
        float_search_accuracy: float_search,
        start_search_accuracy: start_search,
        search_accuracy: fixed_accuracy(net, &p, data, &search_idx).unwrap_or(0.0),
        test_accuracy: fixed_accuracy(net, &p, data, &split.test).unwrap_or(0.0),
        search,
        bits: weight_bits(net, &p),
        bits_uniform_16: weight_bits(
            net,
            &Precisions::uniform(FixedType::new(16, 6), net.layers.len()),
        ),
        start,
    };
    Ok((p, report))
}

/// Class of every sample by the fixed-point network (what hls4ml's
/// `predict` arg-max gives).
pub fn classes(q: &FixedMlp, data: &Dataset) -> Vec<usize> {
    (0..data.len())
        .into_par_iter()
        .map(|i| argmax(&q.forward(data.sample(i))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::DenseLayer;

    #[test]
    fn the_start_holds_every_value_and_the_knobs_cover_every_type() {
        let net = Mlp {
            layers: vec![
                DenseLayer {
                    n_in: 2,
                    n_out: 2,
                    weight: vec![0.3, -2.5, 100.0, 0.1],
                    bias: vec![0.0, 0.6],
                    mask: vec![true, true, false, true],
                },
                DenseLayer {
                    n_in: 2,
                    n_out: 1,
                    weight: vec![1.0, -1.0],
                    bias: vec![0.25],
                    mask: vec![true; 2],
                },
            ],
        };
        let data = Dataset {
            source: "t".into(),
            feature_names: vec!["a".into(), "b".into()],
            classes: vec!["0".into()],
            features: vec![3.0, 1.0, -5.0, 2.0],
            labels: vec![0, 0],
        };
        let split = Split {
            seed: 0,
            train: vec![0, 1],
            val: vec![],
            test: vec![],
        };
        let p = start_precisions(&net, &data, &split);
        // |x| ≤ 5 → 4 integer bits; the pruned 100.0 does not count: 2.5 → 3.
        assert_eq!(p.input, FixedType::new(16, 4));
        assert_eq!(p.layers[0].0, FixedType::new(15, 3));
        assert_eq!(p.layers[0].1, FixedType::new(13, 1));
        // ReLU outputs: x=(3,1): (0.9+0, −7.5+0.1+0.6)→(0.9, 0); x=(−5,2):
        // (−1.5, 12.5+0.2+0.6=13.3) → 13.3: 5 integer bits.
        assert_eq!(p.layers[0].2, FixedType::new(17, 5));
        assert_eq!(
            p.knobs(),
            [
                Knob::Input,
                Knob::Weight(0),
                Knob::Bias(0),
                Knob::Relu(0),
                Knob::Weight(1),
                Knob::Bias(1)
            ]
        );
        assert_eq!(p.layers[1].0, FixedType::new(14, 2));
        assert_eq!(p.layers[1].1, FixedType::new(12, 0));
        // 3 kept weights at 15 bits, 2 biases at 13; then 2 at 14, 1 at 12.
        assert_eq!(weight_bits(&net, &p), 3 * 15 + 2 * 13 + 2 * 14 + 12);
    }
}

//! The pruning task (MetaML-Pro §4.2): magnitude pruning with fine-tuning
//! under the masks, and auto-pruning, a binary search for the highest rate
//! whose accuracy loss stays within `alpha_p`.
//!
//! # Auto-pruning
//!
//! ```text
//! lo = 0 (the input network, loss 0), hi = 1
//! while hi − lo ≥ beta_p:
//!     r = (lo + hi) / 2
//!     net_r = fine_tune(magnitude_prune(input, r))
//!     loss  = acc_val(input) − acc_val(net_r)
//!     if loss ≤ alpha_p: lo = r, keep net_r   else: hi = r
//! ```
//!
//! Rates are per layer (each Dense layer loses the fraction `r` of its
//! weights, smallest magnitude first, as TensorFlow's pruning schedule
//! does per layer). Decisions use the validation split; the test split is
//! only reported, so the rate chosen is not tuned on it.

use serde::Serialize;

use crate::dataset::{Dataset, Split};
use crate::network::train::{fine_tune, TrainOptions};
use crate::network::Mlp;

/// `net` with the fraction `rate` of each layer's weights masked: those
/// of smallest magnitude (weights already pruned count towards it; ties
/// broken by position, so the result is deterministic).
pub fn magnitude_prune(net: &Mlp, rate: f64) -> Mlp {
    let mut out = net.clone();
    for l in &mut out.layers {
        let n = l.weight.len();
        let target = ((n as f64) * rate.clamp(0.0, 1.0)).round() as usize;
        let mut order: Vec<usize> = (0..n).collect();
        // Pruned first, then by |w|, then by position.
        order.sort_by(|&a, &b| {
            (l.mask[a], l.weight[a].abs(), a)
                .partial_cmp(&(l.mask[b], l.weight[b].abs(), b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for &k in order.iter().take(target) {
            l.mask[k] = false;
            l.weight[k] = 0.0;
        }
    }
    out
}

/// Tolerances of auto-pruning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneConfig {
    /// Largest validation-accuracy loss accepted (fraction, 0.02 = 2 pp).
    pub alpha: f64,
    /// Stop when the rate interval is narrower than this.
    pub beta: f64,
}

impl Default for PruneConfig {
    /// MetaML-Pro's 2 % / 2 %.
    fn default() -> Self {
        Self {
            alpha: 0.02,
            beta: 0.02,
        }
    }
}

/// One rate tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneTrial {
    /// Pruning rate.
    pub rate: f64,
    /// Validation accuracy after fine-tuning.
    pub val_accuracy: f64,
    /// Within `alpha` of the input's.
    pub accepted: bool,
}

/// What auto-pruning did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    /// The input network's validation accuracy.
    pub input_val_accuracy: f64,
    /// Every rate tried, in order.
    pub trials: Vec<PruneTrial>,
    /// The rate kept (0 when none was accepted: the input is returned).
    pub rate: f64,
    /// The kept network's test accuracy.
    pub test_accuracy: f64,
}

/// Auto-pruning of `net` (see the module's algorithm); `on_trial` sees
/// each trial as it is decided.
pub fn auto_prune(
    net: &Mlp,
    data: &Dataset,
    split: &Split,
    cfg: &PruneConfig,
    opts: &TrainOptions,
    on_trial: &mut dyn FnMut(&PruneTrial),
) -> (Mlp, PruneReport) {
    let base = net.accuracy(data, &split.val);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut best = net.clone();
    let mut trials = Vec::new();
    while hi - lo >= cfg.beta.max(1e-6) {
        let rate = (lo + hi) / 2.0;
        let (cand, _) = fine_tune(&magnitude_prune(net, rate), data, split, opts);
        let acc = cand.accuracy(data, &split.val);
        let accepted = base - acc <= cfg.alpha;
        let trial = PruneTrial {
            rate,
            val_accuracy: acc,
            accepted,
        };
        on_trial(&trial);
        trials.push(trial);
        if accepted {
            lo = rate;
            best = cand;
        } else {
            hi = rate;
        }
    }
    let report = PruneReport {
        input_val_accuracy: base,
        trials,
        rate: lo,
        test_accuracy: best.accuracy(data, &split.test),
    };
    (best, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::DenseLayer;

    #[test]
    fn magnitude_pruning_masks_the_smallest_weights_per_layer() {
        let net = Mlp {
            layers: vec![DenseLayer {
                n_in: 2,
                n_out: 2,
                weight: vec![0.5, -0.1, 2.0, -0.3],
                bias: vec![0.0; 2],
                mask: vec![true; 4],
            }],
        };
        let p = magnitude_prune(&net, 0.5);
        assert_eq!(p.layers[0].mask, [true, false, true, false]);
        assert_eq!(p.layers[0].weight, [0.5, 0.0, 2.0, 0.0]);
        // Already-pruned weights count towards the rate.
        assert_eq!(magnitude_prune(&p, 0.5), p);
        assert_eq!(
            magnitude_prune(&p, 0.75).layers[0].mask,
            [false, false, true, false]
        );
        assert_eq!(p.pruning_rate(), 0.5);
    }
}

//! The scaling task (MetaML-Pro §4.3): shrink every hidden layer by a
//! step factor and retrain, for as long as the accuracy loss against the
//! input network stays within `alpha_s`.
//!
//! ```text
//! widths_0 = the input's;  k = 1, 2, ...
//! widths_k = hidden widths of widths_{k−1} × factor (rounded, ≥ 1; input
//!            and class counts unchanged)
//! net_k    = train_new(widths_k)
//! stop at the first k whose validation loss exceeds alpha_s, or whose
//! widths no longer change; keep net_{k−1}
//! ```
//!
//! Like pruning, decisions use the validation split only.

use serde::Serialize;

use crate::dataset::{Dataset, Split};
use crate::network::train::{train_new, TrainOptions};
use crate::network::Mlp;

/// Tolerance and step of scaling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleConfig {
    /// Largest validation-accuracy loss accepted (fraction).
    pub alpha: f64,
    /// Each step multiplies every hidden width by this (0 < factor < 1).
    pub factor: f64,
}

impl Default for ScaleConfig {
    fn default() -> Self {
        Self {
            alpha: 0.02,
            factor: 0.75,
        }
    }
}

/// One width tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleTrial {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Validation accuracy after training.
    pub val_accuracy: f64,
    /// Within `alpha` of the input's.
    pub accepted: bool,
}

/// What scaling did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleReport {
    /// The input network's validation accuracy.
    pub input_val_accuracy: f64,
    /// Every width tried, in order.
    pub trials: Vec<ScaleTrial>,
    /// The widths kept.
    pub widths: Vec<usize>,
    /// The kept network's test accuracy.
    pub test_accuracy: f64,
}

/// The next step's widths: hidden widths times `factor`, rounded, at least 1.
pub fn shrink(widths: &[usize], factor: f64) -> Vec<usize> {
    let last = widths.len().saturating_sub(1);
    widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if i == 0 || i == last {
                w
            } else {
                ((w as f64 * factor).round() as usize).max(1)
            }
        })
        .collect()
}

/// Scaling of `net` (see the module's algorithm); `on_trial` sees each
/// trial as it is decided.
pub fn auto_scale(
    net: &Mlp,
    data: &Dataset,
    split: &Split,
    cfg: &ScaleConfig,
    opts: &TrainOptions,
    on_trial: &mut dyn FnMut(&ScaleTrial),
) -> (Mlp, ScaleReport) {
    let base = net.accuracy(data, &split.val);
    let mut best = net.clone();
    let mut widths = net.widths();
    let mut trials = Vec::new();
    loop {
        let next = shrink(&widths, cfg.factor.clamp(0.0, 1.0));
        if next == widths {
            break;
        }
        let (cand, _) = train_new(&next, data, split, opts);
        let acc = cand.accuracy(data, &split.val);
        let accepted = base - acc <= cfg.alpha;
        let trial = ScaleTrial {
            widths: next.clone(),
            val_accuracy: acc,
            accepted,
        };
        on_trial(&trial);
        trials.push(trial);
        if !accepted {
            break;
        }
        best = cand;
        widths = next;
    }
    let report = ScaleReport {
        input_val_accuracy: base,
        trials,
        widths: best.widths(),
        test_accuracy: best.accuracy(data, &split.test),
    };
    (best, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_keeps_inputs_and_classes_and_stops_at_one() {
        assert_eq!(shrink(&[64, 32, 32, 10], 0.75), [64, 24, 24, 10]);
        assert_eq!(shrink(&[4, 1, 2], 0.5), [4, 1, 2]);
        assert_eq!(shrink(&[4, 2], 0.5), [4, 2]);
    }
}

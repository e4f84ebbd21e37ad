//! Evaluation protocols: grouped k-fold cross-validation (every
//! configuration of one network on the same side), the realistic hold-out
//! (real trained networks never seen in training), and extrapolation to
//! deeper networks than any trained on.

use serde::Serialize;

use crate::design::{Design, Targets};
use crate::metrics::{target_metrics, TargetMetrics};
use crate::surrogate::{round_targets, Surrogate};
use crate::train::{train, TrainConfig, TrainLog};

/// Metrics for all six targets.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was evaluated.
    pub name: String,
    /// Designs evaluated.
    pub n_designs: usize,
    /// Per target, in [`Targets::NAMES`] order.
    pub targets: Vec<(String, TargetMetrics)>,
    /// Mean SMAPE over the targets that have data.
    pub mean_smape: f64,
    /// Training runs behind the predictions.
    pub training: Vec<TrainLog>,
}

/// Builds a report from predictions and truths.
pub fn report(
    name: &str,
    preds: &[Targets],
    truths: &[Targets],
    training: Vec<TrainLog>,
) -> Report {
    let targets: Vec<(String, TargetMetrics)> = (0..6)
        .map(|t| {
            let p: Vec<f64> = preds.iter().map(|x| x.to_array()[t]).collect();
            let y: Vec<f64> = truths.iter().map(|x| x.to_array()[t]).collect();
            (Targets::NAMES[t].to_string(), target_metrics(&p, &y))
        })
        .collect();
    let known: Vec<f64> = targets
        .iter()
        .map(|(_, m)| m.smape)
        .filter(|s| s.is_finite())
        .collect();
    Report {
        name: name.to_string(),
        n_designs: preds.len(),
        mean_smape: known.iter().sum::<f64>() / known.len().max(1) as f64,
        targets,
        training,
    }
}

/// Fold (0..k) of each design, by group: groups are shuffled with `seed`
/// and dealt round-robin, so a network's configurations share a fold.
pub fn group_folds(designs: &[&Design], k: usize, seed: u64) -> Vec<usize> {
    let mut groups: Vec<&str> = designs.iter().map(|d| d.group.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut rng = fastrand::Rng::with_seed(seed);
    rng.shuffle(&mut groups);
    designs
        .iter()
        .map(|d| groups.iter().position(|g| *g == d.group).unwrap_or(0) % k.max(1))
        .collect()
}

/// Splits `designs` into (train, validation) by group, about `val_fraction`
/// of the groups going to validation.
pub fn group_split<'a>(
    designs: &[&'a Design],
    val_fraction: f64,
    seed: u64,
) -> (Vec<&'a Design>, Vec<&'a Design>) {
    let k = (1.0 / val_fraction.clamp(0.05, 0.5)).round() as usize;
    let folds = group_folds(designs, k, seed);
    let mut tr = Vec::new();
    let mut va = Vec::new();
    for (d, f) in designs.iter().zip(folds) {
        if f == 0 {
            va.push(*d)
        } else {
            tr.push(*d)
        }
    }
    (tr, va)
}

/// Trains on `train_set` (holding out part of its groups for early stopping).
pub fn fit(train_set: &[&Design], cfg: &TrainConfig) -> (Surrogate, TrainLog) {
    let (tr, va) = group_split(train_set, 0.15, cfg.seed ^ 0x5eed);
    train(&tr, &va, cfg)
}

fn predict(model: &Surrogate, d: &Design) -> Targets {
    round_targets(&model.estimate(d).targets)
}

/// Grouped k-fold cross-validation over `designs`; `progress(fold)` after each fold.
pub fn cross_validate(
    designs: &[&Design],
    k: usize,
    cfg: &TrainConfig,
    mut progress: impl FnMut(usize),
) -> Report {
    let folds = group_folds(designs, k, cfg.seed);
    let mut preds = vec![Targets::default(); designs.len()];
    let mut logs = Vec::new();
    for f in 0..k {
        let train_set: Vec<&Design> = designs
            .iter()
            .zip(&folds)
            .filter(|(_, &g)| g != f)
            .map(|(d, _)| *d)
            .collect();
        let (model, log) = fit(&train_set, cfg);
        logs.push(log);
        for (i, d) in designs.iter().enumerate() {
            if folds[i] == f {
                preds[i] = predict(&model, d);
            }
        }
        progress(f + 1);
    }
    let truths: Vec<Targets> = designs.iter().map(|d| d.targets).collect();
    report(
        &format!("grouped {k}-fold cross-validation (seed {})", cfg.seed),
        &preds,
        &truths,
        logs,
    )
}

/// Trains on `train_set`, evaluates on `test_set`.
pub fn holdout(
    name: &str,
    train_set: &[&Design],
    test_set: &[&Design],
    cfg: &TrainConfig,
) -> (Report, Surrogate) {
    let (model, log) = fit(train_set, cfg);
    let preds: Vec<Targets> = test_set.iter().map(|d| predict(&model, d)).collect();
    let truths: Vec<Targets> = test_set.iter().map(|d| d.targets).collect();
    (report(name, &preds, &truths, vec![log]), model)
}

/// Everything `zest eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct EvalSuite {
    /// Grouped cross-validation over the synthetic (non-realistic) designs.
    pub cross_validation: Report,
    /// Trained on every synthetic design, tested on the realistic ones.
    pub realistic: Report,
    /// Trained on networks of at most `extrapolation_depth` weighted layers,
    /// tested on deeper ones.
    pub extrapolation: Report,
    /// Depth limit of the extrapolation training set.
    pub extrapolation_depth: usize,
}

/// Runs the three protocols on `designs`; `progress(step)` as they go.
pub fn suite(
    designs: &[crate::design::Design],
    folds: usize,
    cfg: &TrainConfig,
    mut progress: impl FnMut(&str),
) -> EvalSuite {
    let synthetic: Vec<&Design> = designs.iter().filter(|d| !d.realistic).collect();
    let realistic_set: Vec<&Design> = designs.iter().filter(|d| d.realistic).collect();
    let cv = cross_validate(&synthetic, folds, cfg, |f| {
        progress(&format!("cross-validation fold {f}/{folds}"))
    });
    progress("realistic hold-out");
    let (realistic, _) = holdout(
        "realistic hold-out (trained on all synthetic designs)",
        &synthetic,
        &realistic_set,
        cfg,
    );
    let depth = 2;
    let shallow: Vec<&Design> = synthetic
        .iter()
        .copied()
        .filter(|d| d.weighted_depth() <= depth)
        .collect();
    let deep: Vec<&Design> = synthetic
        .iter()
        .copied()
        .filter(|d| d.weighted_depth() > depth)
        .collect();
    progress("extrapolation");
    let (extrapolation, _) = holdout(
        &format!("extrapolation: trained on <= {depth} weighted layers, tested on deeper"),
        &shallow,
        &deep,
        cfg,
    );
    EvalSuite {
        cross_validation: cv,
        realistic,
        extrapolation,
        extrapolation_depth: depth,
    }
}

//! Evaluation protocols: grouped k-fold cross-validation (every
//! configuration of one network on the same side), the realistic hold-out
//! (real trained networks never seen in training), and extrapolation to
//! deeper networks than any trained on.

use serde::Serialize;

use crate::design::{Design, Targets};
use crate::learn::baselines::Baseline;
use crate::learn::metrics::{target_metrics, TargetMetrics};
use crate::learn::surrogate::{round_targets, Surrogate};
use crate::learn::train::{train, Split, TrainConfig, TrainLog};

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
    /// Conservative mode: the quantile asked for and, per target, the
    /// fraction of true values at or below the upper bound.
    pub upper: Option<UpperCoverage>,
    /// Training runs behind the predictions.
    pub training: Vec<TrainLog>,
    /// Per data set: designs and mean SMAPE over the targets it has.
    pub by_dataset: Vec<DatasetScore>,
    /// The same per part family (in [`DatasetScore::dataset`]).
    pub by_family: Vec<DatasetScore>,
    /// Every prediction (written by `--predictions`, plotted by `--plots`).
    #[serde(skip)]
    pub points: Vec<Point>,
}

/// How one data set fared.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetScore {
    /// Data set.
    pub dataset: String,
    /// Designs.
    pub n_designs: usize,
    /// Per target SMAPE %, in [`Targets::NAMES`] order (NaN without data).
    pub smape: Vec<f64>,
    /// Mean over the targets with data.
    pub mean_smape: f64,
}

/// Scores per value of `key` (a data set, a part family).
fn breakdown(points: &[Point], key: fn(&Point) -> &str) -> Vec<DatasetScore> {
    let mut names: Vec<&str> = points.iter().map(key).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let mine: Vec<&Point> = points.iter().filter(|p| key(p) == name).collect();
            let smape: Vec<f64> = (0..6)
                .map(|t| {
                    let p: Vec<f64> = mine.iter().map(|x| x.pred.to_array()[t]).collect();
                    let y: Vec<f64> = mine.iter().map(|x| x.truth.to_array()[t]).collect();
                    target_metrics(&p, &y).smape
                })
                .collect();
            let known: Vec<f64> = smape.iter().copied().filter(|v| v.is_finite()).collect();
            DatasetScore {
                dataset: name.to_string(),
                n_designs: mine.len(),
                mean_smape: known.iter().sum::<f64>() / known.len().max(1) as f64,
                smape,
            }
        })
        .collect()
}

/// One design's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Design id.
    pub id: String,
    /// Data set it came from.
    pub dataset: String,
    /// Its part's family (`zynq7000`, `ultrascale_plus`, ...).
    pub family: String,
    /// Synthesis result.
    pub truth: Targets,
    /// Rounded estimate.
    pub pred: Targets,
}

/// Coverage of the upper bounds.
#[derive(Debug, Clone, Serialize)]
pub struct UpperCoverage {
    /// Quantile asked for (`--upper`).
    pub quantile: f64,
    /// Per target, in [`Targets::NAMES`] order: fraction of truths ≤ bound.
    pub coverage: Vec<(String, f64)>,
    /// Per target: median of bound / truth (how much headroom it costs).
    pub median_ratio: Vec<(String, f64)>,
}

/// Fraction of truths at or below their bound, per target.
pub fn coverage(uppers: &[Targets], truths: &[Targets], q: f64) -> UpperCoverage {
    let mut coverage = Vec::new();
    let mut median_ratio = Vec::new();
    for (t, name) in Targets::NAMES.iter().enumerate() {
        let pairs: Vec<(f64, f64)> = uppers
            .iter()
            .zip(truths)
            .map(|(u, y)| (u.to_array()[t], y.to_array()[t]))
            .filter(|(_, y)| y.is_finite())
            .collect();
        let n = pairs.len().max(1) as f64;
        let covered = pairs.iter().filter(|(u, y)| *y <= u.round()).count() as f64;
        let mut ratios: Vec<f64> = pairs
            .iter()
            .map(|(u, y)| (u.round() + 1.0) / (y + 1.0))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let med = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
        coverage.push((name.to_string(), covered / n));
        median_ratio.push((name.to_string(), med));
    }
    UpperCoverage {
        quantile: q,
        coverage,
        median_ratio,
    }
}

/// Builds a report from predictions for `designs`.
pub fn report(
    name: &str,
    designs: &[&Design],
    preds: &[Targets],
    training: Vec<TrainLog>,
) -> Report {
    let truths: Vec<Targets> = designs.iter().map(|d| d.targets).collect();
    let points: Vec<Point> = designs
        .iter()
        .zip(preds)
        .map(|(d, p)| Point {
            id: d.id.clone(),
            dataset: d.provenance.dataset.clone(),
            family: crate::part::part_family(&d.part).to_string(),
            truth: d.targets,
            pred: *p,
        })
        .collect();
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
        upper: None,
        by_dataset: breakdown(&points, |p| &p.dataset),
        by_family: breakdown(&points, |p| &p.family),
        points,
    }
}

/// Fold (0..k) of each design, by group, so a network's configurations
/// share a fold; stratified by data set: each data set's groups are
/// shuffled with `seed` and dealt round-robin, the deal going on from fold
/// to fold across data sets, so every fold holds about 1/k of every data
/// set's networks. (Dealing all groups at once let one fold take most
/// of a small data set, the hls4ml baselines, say, whose designs then had
/// nothing like them left to train on: a test of luck, not of the model.)
pub fn group_folds(designs: &[&Design], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut by_dataset: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for d in designs {
        by_dataset
            .entry(d.provenance.dataset.as_str())
            .or_default()
            .push(d.group.as_str());
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut fold_of: std::collections::HashMap<&str, usize> = Default::default();
    let mut dealt = 0;
    for groups in by_dataset.values_mut() {
        groups.sort_unstable();
        groups.dedup();
        rng.shuffle(groups);
        for g in groups.iter() {
            // A group spread over two data sets keeps its first fold.
            if !fold_of.contains_key(g) {
                fold_of.insert(g, dealt % k);
                dealt += 1;
            }
        }
    }
    designs
        .iter()
        .map(|d| fold_of.get(d.group.as_str()).copied().unwrap_or(0))
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

/// Trains on `train_set`: each ensemble member holds out its own 15 % of
/// the groups (split seeded by the member) for early stopping and for
/// calibrating the upper bounds, so together the members learn from every
/// group.
pub fn fit(train_set: &[&Design], cfg: &TrainConfig) -> (Surrogate, TrainLog) {
    let splits: Vec<Split<'_>> = (0..cfg.members.max(1) as u64)
        .map(|k| {
            let (train, val) = group_split(train_set, 0.15, (cfg.seed ^ 0x5eed).wrapping_add(k));
            Split { train, val }
        })
        .collect();
    train(train_set, &splits, cfg)
}

/// Rounded estimate and, when the model is calibrated, the `q` upper bound.
fn predict(model: &Surrogate, d: &Design, q: f64) -> (Targets, Option<Targets>) {
    let facts = crate::tokens::layer_facts(d);
    let tokens: Vec<_> = facts.iter().map(zest_features::LayerFacts::token).collect();
    let raw = model.estimate_tokens(&tokens).targets;
    let rules = crate::learn::rules::Rules::of(d, &facts);
    (
        round_targets(&rules.apply(raw)),
        model.upper(&raw, q).map(|u| rules.apply(u)),
    )
}

/// Attaches upper-bound coverage when every design has a bound.
fn with_upper(mut r: Report, uppers: &[Option<Targets>], truths: &[Targets], q: f64) -> Report {
    let all: Option<Vec<Targets>> = uppers.iter().copied().collect();
    r.upper = all.map(|u| coverage(&u, truths, q));
    r
}

/// Grouped k-fold cross-validation over `designs`; `progress(fold)` after each fold.
pub fn cross_validate(
    designs: &[&Design],
    k: usize,
    cfg: &TrainConfig,
    q: f64,
    baselines: &[Baseline],
    mut progress: impl FnMut(usize),
) -> (Report, Vec<Report>) {
    let folds = group_folds(designs, k, cfg.seed);
    let mut preds = vec![Targets::default(); designs.len()];
    let mut uppers = vec![None; designs.len()];
    let mut base_preds = vec![vec![Targets::default(); designs.len()]; baselines.len()];
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
                (preds[i], uppers[i]) = predict(&model, d, q);
            }
        }
        if !baselines.is_empty() {
            let test_idx: Vec<usize> = (0..designs.len()).filter(|&i| folds[i] == f).collect();
            let test: Vec<&Design> = test_idx.iter().map(|&i| designs[i]).collect();
            let (tr, va) = group_split(&train_set, 0.15, cfg.seed ^ 0x5eed);
            for (b, out) in baselines.iter().zip(&mut base_preds) {
                for (&i, p) in test_idx.iter().zip(b.fit_predict(&tr, &va, &test, cfg)) {
                    out[i] = round_targets(&p);
                }
            }
        }
        progress(f + 1);
    }
    let truths: Vec<Targets> = designs.iter().map(|d| d.targets).collect();
    let name = format!("grouped {k}-fold cross-validation (seed {})", cfg.seed);
    let r = report(&name, designs, &preds, logs);
    let base = baselines
        .iter()
        .zip(&base_preds)
        .map(|(b, p)| report(&format!("{}, {name}", b.name()), designs, p, Vec::new()))
        .collect();
    (with_upper(r, &uppers, &truths, q), base)
}

/// Trains on `train_set`, evaluates on `test_set`.
pub fn holdout(
    name: &str,
    train_set: &[&Design],
    test_set: &[&Design],
    cfg: &TrainConfig,
    q: f64,
) -> (Report, Surrogate) {
    let (model, log) = fit(train_set, cfg);
    let (preds, uppers): (Vec<Targets>, Vec<Option<Targets>>) =
        test_set.iter().map(|d| predict(&model, d, q)).unzip();
    let truths: Vec<Targets> = test_set.iter().map(|d| d.targets).collect();
    let r = report(name, test_set, &preds, vec![log]);
    (with_upper(r, &uppers, &truths, q), model)
}

/// Leave-one-network-out over the realistic networks (`realistic`
/// designs, one network per group): each network is estimated by a model
/// trained on every other design, realistic ones included, as a user's
/// new network meets the shipped model. `progress(done, of)` after each.
pub fn leave_one_network_out(
    designs: &[&Design],
    cfg: &TrainConfig,
    q: f64,
    mut progress: impl FnMut(usize, usize),
) -> Report {
    let mut networks: Vec<&str> = designs
        .iter()
        .filter(|d| d.realistic)
        .map(|d| d.group.as_str())
        .collect();
    networks.sort_unstable();
    networks.dedup();
    let mut tested = Vec::new();
    let mut preds = Vec::new();
    let mut uppers = Vec::new();
    let mut logs = Vec::new();
    for (k, net) in networks.iter().enumerate() {
        let (test, train_set): (Vec<&Design>, Vec<&Design>) =
            designs.iter().partition(|d| d.group == *net);
        let (model, log) = fit(&train_set, cfg);
        logs.push(log);
        for d in test.into_iter().filter(|d| d.realistic) {
            let (p, u) = predict(&model, d, q);
            tested.push(d);
            preds.push(p);
            uppers.push(u);
        }
        progress(k + 1, networks.len());
    }
    let truths: Vec<Targets> = tested.iter().map(|d| d.targets).collect();
    let name = format!(
        "unseen networks: leave-one-network-out over {} realistic networks (seed {})",
        networks.len(),
        cfg.seed
    );
    let r = report(&name, &tested, &preds, logs);
    with_upper(r, &uppers, &truths, q)
}

/// Everything `zest eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct EvalSuite {
    /// Leave-one-network-out over the realistic networks, each trained on
    /// everything else (`None` when not asked for: one training per
    /// network).
    pub unseen: Option<Report>,
    /// Grouped cross-validation over the synthetic (non-realistic) designs.
    pub cross_validation: Report,
    /// Trained on every synthetic design, tested on the realistic ones.
    pub realistic: Report,
    /// Trained on networks of at most `extrapolation_depth` weighted layers,
    /// tested on deeper ones.
    pub extrapolation: Report,
    /// Depth limit of the extrapolation training set.
    pub extrapolation_depth: usize,
    /// Baselines on the same cross-validation folds and realistic hold-out
    /// (empty unless asked for).
    pub baselines: Vec<Report>,
}

/// Whether a design is in the wa-hls4ml release's `test/` split.
pub fn in_release_test_split(d: &Design) -> bool {
    d.provenance.dataset == crate::data::wa_release::DATASET
        && d.provenance.file.split('/').any(|part| part == "test")
}

/// wa-hls4ml's own protocol (`zest eval --split test`): train on every
/// non-realistic design outside the release's `test/` split, test on that
/// split; the baselines on the same split. `None` when no design is in it.
pub fn release_test_split(
    designs: &[Design],
    cfg: &TrainConfig,
    q: f64,
    baselines: &[Baseline],
) -> Option<(Report, Vec<Report>)> {
    let test: Vec<&Design> = designs
        .iter()
        .filter(|d| in_release_test_split(d))
        .collect();
    if test.is_empty() {
        return None;
    }
    let train_set: Vec<&Design> = designs
        .iter()
        .filter(|d| !d.realistic && !in_release_test_split(d))
        .collect();
    let (r, _) = holdout("wa-hls4ml release test split", &train_set, &test, cfg, q);
    let (tr, va) = group_split(&train_set, 0.15, cfg.seed ^ 0x5eed);
    let base = baselines
        .iter()
        .map(|b| {
            let p: Vec<Targets> = b
                .fit_predict(&tr, &va, &test, cfg)
                .iter()
                .map(round_targets)
                .collect();
            report(
                &format!("{}, release test split", b.name()),
                &test,
                &p,
                Vec::new(),
            )
        })
        .collect();
    Some((r, base))
}

/// Runs the protocols on `designs` (leave-one-network-out when `unseen`);
/// `progress(step)` as they go.
pub fn suite(
    designs: &[crate::design::Design],
    folds: usize,
    cfg: &TrainConfig,
    q: f64,
    baselines: &[Baseline],
    unseen: bool,
    mut progress: impl FnMut(&str),
) -> EvalSuite {
    let synthetic: Vec<&Design> = designs.iter().filter(|d| !d.realistic).collect();
    let realistic_set: Vec<&Design> = designs.iter().filter(|d| d.realistic).collect();
    let unseen = unseen.then(|| {
        let all: Vec<&Design> = designs.iter().collect();
        leave_one_network_out(&all, cfg, q, |k, n| {
            progress(&format!("unseen network {k}/{n}"))
        })
    });
    let (cv, mut base_reports) = cross_validate(&synthetic, folds, cfg, q, baselines, |f| {
        progress(&format!("cross-validation fold {f}/{folds}"))
    });
    progress("realistic hold-out");
    let (realistic, _) = holdout(
        "realistic hold-out (trained on all synthetic designs)",
        &synthetic,
        &realistic_set,
        cfg,
        q,
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
        q,
    );
    let (tr, va) = group_split(&synthetic, 0.15, cfg.seed ^ 0x5eed);
    for b in baselines {
        progress(&format!("{} on the realistic hold-out", b.name()));
        let p: Vec<Targets> = b
            .fit_predict(&tr, &va, &realistic_set, cfg)
            .iter()
            .map(round_targets)
            .collect();
        base_reports.push(report(
            &format!("{}, realistic hold-out", b.name()),
            &realistic_set,
            &p,
            Vec::new(),
        ));
    }
    EvalSuite {
        unseen,
        baselines: base_reports,
        cross_validation: cv,
        realistic,
        extrapolation,
        extrapolation_depth: depth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic_design;

    /// `n_groups` networks of `per_group` configurations each, in `dataset`.
    fn designs(dataset: &str, n_groups: usize, per_group: usize) -> Vec<Design> {
        (0..n_groups * per_group)
            .map(|i| {
                let mut d = synthetic_design(&format!("{dataset}-{i}"), Vec::new(), false);
                d.group = format!("{dataset}:net{}", i / per_group);
                d.provenance.dataset = dataset.into();
                d
            })
            .collect()
    }

    #[test]
    fn leave_one_network_out_tests_each_realistic_network_once() {
        let mut all = Vec::new();
        for (g, widths) in [[16u32, 8, 4], [8, 8, 2], [32, 4, 4], [4, 16, 8]]
            .iter()
            .enumerate()
        {
            for rf in [1u32, 2] {
                let layers = crate::data::mlp(
                    widths,
                    crate::design::Precision::DEFAULT,
                    rf,
                    crate::design::Activation::Relu,
                    crate::design::Activation::Linear,
                );
                let mut d = synthetic_design(&format!("n{g}-rf{rf}"), layers, false);
                d.group = format!("net{g}");
                d.realistic = g >= 2;
                d.provenance.dataset = if d.realistic { "real" } else { "sweep" }.into();
                d.targets.lut = f64::from(widths[0] * widths[1] / rf);
                all.push(d);
            }
        }
        let refs: Vec<&Design> = all.iter().collect();
        let cfg = TrainConfig {
            members: 1,
            max_steps: 5,
            patience: 5,
            ..TrainConfig::default()
        };
        let mut seen = Vec::new();
        let r = leave_one_network_out(&refs, &cfg, 0.9, |k, n| seen.push((k, n)));
        // Two realistic networks, two trainings, each tested once.
        assert_eq!(seen, vec![(1, 2), (2, 2)]);
        assert_eq!(r.training.len(), 2);
        let mut ids: Vec<&str> = r.points.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["n2-rf1", "n2-rf2", "n3-rf1", "n3-rf2"]);
        assert_eq!(r.by_family.len(), 1);
    }

    #[test]
    fn folds_keep_groups_together_and_spread_every_data_set() {
        let mut all = designs("big", 60, 3);
        all.extend(designs("small", 9, 4));
        all.extend(designs("tiny", 3, 2));
        let refs: Vec<&Design> = all.iter().collect();
        for seed in 1..=5 {
            let folds = group_folds(&refs, 5, seed);
            let mut fold_of_group = std::collections::HashMap::new();
            for (d, f) in refs.iter().zip(&folds) {
                assert!(*f < 5);
                let first = *fold_of_group.entry(d.group.clone()).or_insert(*f);
                assert_eq!(first, *f, "group {} split across folds", d.group);
            }
            // Every fold holds 1 or 2 of the 9 small networks, and the
            // 3 tiny networks lie in 3 different folds.
            for (dataset, lo, hi) in [("small", 1, 2), ("big", 12, 12)] {
                for f in 0..5 {
                    let n = fold_of_group
                        .iter()
                        .filter(|(g, v)| g.starts_with(dataset) && **v == f)
                        .count();
                    assert!((lo..=hi).contains(&n), "{dataset}: fold {f} has {n}");
                }
            }
            let mut tiny: Vec<usize> = fold_of_group
                .iter()
                .filter(|(g, _)| g.starts_with("tiny"))
                .map(|(_, v)| *v)
                .collect();
            tiny.sort_unstable();
            tiny.dedup();
            assert_eq!(tiny.len(), 3);
        }
        // The seed changes the deal.
        assert_ne!(group_folds(&refs, 5, 1), group_folds(&refs, 5, 2));
    }
}

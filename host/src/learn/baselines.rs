//! Baselines measured by `zest eval --baselines` on the same folds as the
//! surrogate: models that see one feature vector per design, as wa-hls4ml's
//! MLP baseline and rule4ml do, instead of one token per layer.
//!
//! * gradient-boosted trees (forust-ml, XGBoost's algorithm) per target on
//!   ln(1 + target);
//! * an MLP on the same features, trained like the surrogate.
//!
//! The features: the sum and the maximum over the design's layer tokens of
//! every token slot, and the number of layers.

use forust_ml::{GradientBooster, Matrix};
use zest_features::TOKEN_LEN;

use crate::design::{Design, Targets};
use crate::learn::surrogate::N_TARGETS;
use crate::tokens::tokens;

/// Sum and max of each token slot over the layers, and the layer count.
pub fn aggregate(d: &Design) -> Vec<f32> {
    let ts = tokens(d);
    let mut sum = vec![0f32; TOKEN_LEN];
    let mut max = vec![f32::NEG_INFINITY; TOKEN_LEN];
    for t in &ts {
        for (i, v) in t.iter().enumerate() {
            sum[i] += v;
            max[i] = max[i].max(*v);
        }
    }
    for m in &mut max {
        if !m.is_finite() {
            *m = 0.0;
        }
    }
    sum.extend(max);
    sum.push(ts.len() as f32);
    sum
}

/// One booster per target.
pub struct Gbt {
    boosters: Vec<Option<GradientBooster>>,
}

fn matrix(designs: &[&Design]) -> (Vec<f64>, usize, usize) {
    let rows: Vec<Vec<f32>> = designs.iter().map(|d| aggregate(d)).collect();
    let cols = rows.first().map_or(0, Vec::len);
    // Column-major, as forust wants.
    let mut data = Vec::with_capacity(rows.len() * cols);
    for c in 0..cols {
        data.extend(rows.iter().map(|r| f64::from(r[c])));
    }
    (data, rows.len(), cols)
}

impl Gbt {
    /// Fits 300 trees of depth 5 (learning rate 0.1) per target.
    pub fn fit(train: &[&Design], seed: u64) -> Self {
        let (data, rows, cols) = matrix(train);
        let boosters = (0..N_TARGETS)
            .map(|t| {
                let (idx, y): (Vec<usize>, Vec<f64>) = train
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (i, d.targets.to_array()[t]))
                    .filter(|(_, v)| v.is_finite() && *v >= 0.0)
                    .map(|(i, v)| (i, v.ln_1p()))
                    .unzip();
                if idx.is_empty() {
                    return None;
                }
                // Rows with this target known.
                let mut sub = Vec::with_capacity(idx.len() * cols);
                for c in 0..cols {
                    sub.extend(idx.iter().map(|&i| data[c * rows + i]));
                }
                let sm = Matrix::new(&sub, idx.len(), cols);
                let mut b = GradientBooster::default()
                    .set_objective_type(forust_ml::objective::ObjectiveType::SquaredLoss)
                    .set_iterations(300)
                    .set_learning_rate(0.1)
                    .set_max_depth(5)
                    .set_parallel(false)
                    .set_seed(seed);
                b.fit_unweighted(&sm, &y, None).ok().map(|_| b)
            })
            .collect();
        Self { boosters }
    }

    /// Estimates for `designs`.
    pub fn predict(&self, designs: &[&Design]) -> Vec<Targets> {
        let (data, rows, cols) = matrix(designs);
        let m = Matrix::new(&data, rows, cols);
        let per: Vec<Vec<f64>> = self
            .boosters
            .iter()
            .map(|b| match b {
                Some(b) => b.predict(&m, false).into_iter().map(f64::exp_m1).collect(),
                None => vec![f64::NAN; rows],
            })
            .collect();
        (0..rows)
            .map(|i| Targets::from_array(std::array::from_fn(|t| per[t][i])))
            .collect()
    }
}

/// Which baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Gradient-boosted trees on aggregated features.
    Gbt,
    /// MLP on aggregated features.
    AggregateMlp,
}

impl Baseline {
    /// Both, in report order.
    pub const ALL: [Baseline; 2] = [Baseline::Gbt, Baseline::AggregateMlp];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Gbt => "baseline: gradient-boosted trees (forust) on aggregated features",
            Baseline::AggregateMlp => "baseline: MLP on aggregated features",
        }
    }

    /// Trains on `train` (MLP: early-stopping on `val`) and estimates `test`.
    pub fn fit_predict(
        self,
        train: &[&Design],
        val: &[&Design],
        test: &[&Design],
        cfg: &crate::learn::train::TrainConfig,
    ) -> Vec<Targets> {
        match self {
            Baseline::Gbt => {
                let mut all = train.to_vec();
                all.extend_from_slice(val);
                Gbt::fit(&all, cfg.seed).predict(test)
            }
            Baseline::AggregateMlp => {
                crate::learn::train::AggregateMlp::fit(train, val, aggregate, cfg).predict(test)
            }
        }
    }
}

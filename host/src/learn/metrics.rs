//! Accuracy metrics, computed the way the wa-hls4ml paper does (raw units;
//! SMAPE % = 100/n · Σ 2|p − y| / (|y| + |p| + 1e-8)), plus what a user of
//! an estimator asks next: typical and worst relative error, and how often
//! it underestimates.

use serde::Serialize;

/// Metrics of one target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetMetrics {
    /// Pairs with a known truth.
    pub n: usize,
    /// Symmetric mean absolute percentage error, %.
    pub smape: f64,
    /// Coefficient of determination (raw units).
    pub r2: f64,
    /// Mean absolute error (raw units).
    pub mae: f64,
    /// Median of |p − y| / max(y, 1), %.
    pub median_rel: f64,
    /// 90th percentile of the same, %.
    pub p90_rel: f64,
    /// Fraction of pairs with p < y.
    pub under: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Metrics over the pairs whose truth is finite.
pub fn target_metrics(pred: &[f64], truth: &[f64]) -> TargetMetrics {
    let pairs: Vec<(f64, f64)> = pred
        .iter()
        .zip(truth)
        .filter(|(_, y)| y.is_finite())
        .map(|(p, y)| (*p, *y))
        .collect();
    let n = pairs.len();
    if n == 0 {
        return TargetMetrics {
            n,
            smape: f64::NAN,
            r2: f64::NAN,
            mae: f64::NAN,
            median_rel: f64::NAN,
            p90_rel: f64::NAN,
            under: f64::NAN,
        };
    }
    let nf = n as f64;
    let smape = 100.0 / nf
        * pairs
            .iter()
            .map(|(p, y)| 2.0 * (p - y).abs() / (y.abs() + p.abs() + 1e-8))
            .sum::<f64>();
    let mean_y = pairs.iter().map(|(_, y)| y).sum::<f64>() / nf;
    let ss_tot: f64 = pairs.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    let ss_res: f64 = pairs.iter().map(|(p, y)| (y - p).powi(2)).sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        f64::NEG_INFINITY
    };
    let mae = pairs.iter().map(|(p, y)| (p - y).abs()).sum::<f64>() / nf;
    let mut rel: Vec<f64> = pairs
        .iter()
        .map(|(p, y)| 100.0 * (p - y).abs() / y.abs().max(1.0))
        .collect();
    rel.sort_by(f64::total_cmp);
    let under = pairs.iter().filter(|(p, y)| p < y).count() as f64 / nf;
    TargetMetrics {
        n,
        smape,
        r2,
        mae,
        median_rel: quantile(&rel, 0.5),
        p90_rel: quantile(&rel, 0.9),
        under,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_known_values() {
        let m = target_metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!((m.smape, m.r2, m.mae, m.under), (0.0, 1.0, 0.0, 0.0));
        // p = 2y: SMAPE = 2·y/(3y) = 66.7 %.
        let m = target_metrics(&[2.0, 4.0], &[1.0, 2.0]);
        assert!((m.smape - 200.0 / 3.0).abs() < 1e-6);
        // Both zero counts as exact; unknown truths are skipped.
        let m = target_metrics(&[0.0, 5.0], &[0.0, f64::NAN]);
        assert_eq!((m.n, m.smape), (1, 0.0));
        // Predicting 1 for a true 0 is the worst SMAPE.
        assert!((target_metrics(&[1.0], &[0.0]).smape - 200.0).abs() < 1e-4);
    }
}

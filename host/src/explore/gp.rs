//! A small Gaussian process and expected improvement, for the outer
//! Bayesian optimisation over a discrete space of a few dimensions.
//!
//! # Model
//!
//! ```text
//! k(x, x') = (1 + √5 r + 5 r²/3) · exp(−√5 r)      Matérn ν = 5/2, r = ‖x − x'‖/ℓ
//! y standardised; K + σ²I = L Lᵀ (Cholesky); ℓ (shared by every input:
//! one length per input overfitted the few points BO has, measured on the
//! digits grid) and σ² chosen from a fixed grid by the log marginal
//! likelihood  −½ yᵀ(K+σ²I)⁻¹y − Σ log Lᵢᵢ
//! μ(x) = k(x)ᵀ α,  s²(x) = 1 − ‖L⁻¹ k(x)‖²,  α = (K+σ²I)⁻¹ y
//! EI(x) = (y* − μ) Φ(z) + s φ(z),  z = (y* − μ)/s   (minimisation)
//! ```
//!
//! Why not egobox-ego (the issue's suggestion): it brings linfa, linfa-pls,
//! linfa-clustering, ndarray-npy, typetag, ctrlc, env_logger and clap into
//! the host's build for a problem of ≤ 5 dimensions and ≤ a few dozen
//! points, where the acquisition is maximised exactly by enumerating the
//! discrete space. The hundred lines below do the same job and are tested
//! against closed forms.

/// A fitted Gaussian process.
#[derive(Debug, Clone)]
pub struct Gp {
    x: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    chol: Vec<Vec<f64>>,
    length: f64,
    mean: f64,
    scale: f64,
}

fn matern52(r: f64) -> f64 {
    let a = 5f64.sqrt() * r;
    (1.0 + a + a * a / 3.0) * (-a).exp()
}

/// The distance over the length scale.
fn dist(a: &[f64], b: &[f64], length: f64) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
        / length
}

/// Lower Cholesky factor of `a`, or `None` when it is not positive definite.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves L v = b (forward substitution).
fn forward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let mut v = vec![0.0; b.len()];
    for i in 0..b.len() {
        let s: f64 = (0..i).map(|k| l[i][k] * v[k]).sum();
        v[i] = (b[i] - s) / l[i][i];
    }
    v
}

/// Solves Lᵀ v = b (backward substitution).
fn backward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut v = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * v[k]).sum();
        v[i] = (b[i] - s) / l[i][i];
    }
    v
}

impl Gp {
    /// Fits `y` at `x`, choosing the length scale and noise by the
    /// marginal likelihood. `None` with fewer than two points.
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Option<Gp> {
        if x.len() < 2 || x.len() != y.len() {
            return None;
        }
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if sd > 1e-12 { sd } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| (v - mean) / scale).collect();
        let mut best: Option<(f64, Gp)> = None;
        for length in [0.1, 0.2, 0.35, 0.6, 1.0, 1.7] {
            for noise in [1e-6, 1e-3, 1e-2, 1e-1] {
                let k: Vec<Vec<f64>> = x
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        x.iter()
                            .enumerate()
                            .map(|(j, b)| {
                                matern52(dist(a, b, length)) + if i == j { noise } else { 0.0 }
                            })
                            .collect()
                    })
                    .collect();
                let Some(l) = cholesky(&k) else { continue };
                let alpha = backward(&l, &forward(&l, &ys));
                let fit: f64 = ys.iter().zip(&alpha).map(|(a, b)| a * b).sum();
                let logdet: f64 = (0..l.len()).map(|i| l[i][i].ln()).sum();
                let lml = -0.5 * fit - logdet;
                if best.as_ref().is_none_or(|(b, _)| lml > *b) {
                    best = Some((
                        lml,
                        Gp {
                            x: x.to_vec(),
                            alpha,
                            chol: l,
                            length,
                            mean,
                            scale,
                        },
                    ));
                }
            }
        }
        best.map(|(_, g)| g)
    }

    /// Posterior mean and standard deviation at `x` (in `y`'s units).
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let k: Vec<f64> = self
            .x
            .iter()
            .map(|a| matern52(dist(a, x, self.length)))
            .collect();
        let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = forward(&self.chol, &k);
        let var = (1.0 - v.iter().map(|a| a * a).sum::<f64>()).max(1e-12);
        (self.mean + self.scale * mu, self.scale * var.sqrt())
    }

    /// Expected improvement below `best` (minimisation) at `x`.
    pub fn expected_improvement(&self, x: &[f64], best: f64) -> f64 {
        let (mu, s) = self.predict(x);
        let z = (best - mu) / s;
        (best - mu) * normal_cdf(z) + s * normal_pdf(z)
    }
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ(z) through erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let r = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { r } else { 2.0 - r };
    0.5 * erfc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        for (z, p) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.96, 0.024_997_895),
            (3.0, 0.998_650_102),
        ] {
            assert!((normal_cdf(z) - p).abs() < 1e-6, "{z}");
        }
    }

    #[test]
    fn interpolates_and_is_unsure_far_away() {
        let x: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64 / 5.0]).collect();
        let y: Vec<f64> = x.iter().map(|v| (6.0 * v[0]).sin()).collect();
        let gp = Gp::fit(&x, &y).unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            let (m, s) = gp.predict(xi);
            assert!((m - yi).abs() < 0.05, "{m} vs {yi}");
            assert!(s < 0.2);
        }
        let (_, far) = gp.predict(&[5.0]);
        let (_, near) = gp.predict(&[0.4]);
        assert!(far > near);
        // EI is larger where the mean is low or the spread high.
        let best = y.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(gp.expected_improvement(&[5.0], best) > gp.expected_improvement(&[0.0], best));
    }
}

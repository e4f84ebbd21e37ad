//! The outer search: over the three tolerances (and, when asked, the task
//! order), by grid, random search or constrained Bayesian optimisation,
//! all behind [`ask`].
//!
//! # Space
//!
//! ```text
//! alpha_p, alpha_s, alpha_q ∈ LEVELS = {0.1, 0.5, 1, 2, 3, 4, 5} %      (MetaML-Pro's snapping)
//! order ∈ the orders given (one by default: the flow as written)
//! index = ((order · 7 + s) · 7 + p) · 7 + q                               grid order: q fastest
//! ```
//!
//! When several orders are searched, a tolerance whose task an order does
//! not run (alpha_p and alpha_s for `q`, alpha_q for `sp`, …) is fixed at
//! the first level: every other level would run the same evaluation
//! again. Only such canonical points are asked, so the seven MetaML-Pro
//! orders span 7 + 3·49 + 343 + 2·7 = 511 distinct points, not 7 · 343.
//!
//! Reuse factor and strategy are not outer variables: every evaluation's
//! `hls` task estimates all of them (an estimate costs microseconds), which
//! is never worse than sampling them.
//!
//! # Asking
//!
//! [`ask`] is a pure function of (kind, space, seed, the evaluations so
//! far): a resumed run asks exactly what the uninterrupted one would.
//!
//! * grid: the next index in order.
//! * random: the next index of one seeded permutation of the space.
//! * bo: MetaML-Pro's probe 1 %/1 %/1 %; then, where MetaML-Pro draws
//!   two random points, two anchors that blind search finds last: the
//!   least tolerances 0.1 %/0.1 %/0.1 % (the most accurate designs, the
//!   front's accuracy end) and the same network quantized hardest,
//!   0.1 %/0.1 %/5 % (the cheapest designs whose loss is bounded: pruning
//!   and scaling retrain and may fall through the floor, QHS loses at
//!   most alpha_q; measured in docs/explore.md); an anchor already
//!   asked gives way to a random point. Then ParEGO (Knowles 2006): a
//!   seeded random weight vector w
//!   per iteration scalarises each design, g = max wᵢfᵢ + 0.05 Σ wᵢfᵢ over
//!   its objectives ([`super::pareto`]) rescaled to [0, 1] by the range
//!   the feasible designs so far span (without it the accuracy term,
//!   spread over [0, 1] while DSP and LUT sit near 0, decides alone and
//!   BO never looks for the cheapest designs); an infeasible design
//!   scores 1.05 + its worst normalised violation (≤ 1) — MetaML-Pro's
//!   −1000 penalty, made smooth enough for a GP; an evaluation scores its
//!   best design; a Matérn-5/2 GP ([`super::gp`]) on the scores and
//!   expected improvement, maximised over every point not yet evaluated.

use serde::{Deserialize, Serialize};

use super::gp::Gp;
use super::Evaluation;

/// The tolerance levels (fractions).
pub const LEVELS: [f64; 7] = [0.001, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05];

/// A point of the space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Index into [`LEVELS`] of the pruning tolerance.
    pub p: usize,
    /// Of the scaling tolerance.
    pub s: usize,
    /// Of the quantization tolerance.
    pub q: usize,
    /// Index into the space's orders.
    pub order: usize,
}

impl Point {
    /// The tolerances (alpha_p, alpha_s, alpha_q).
    pub fn alphas(&self) -> [f64; 3] {
        [LEVELS[self.p], LEVELS[self.s], LEVELS[self.q]]
    }
}

/// The search algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    /// Constrained Bayesian optimisation (ParEGO scalarisation, GP, EI).
    Bo,
    /// Uniform random search without repetition.
    Random,
    /// Every point in order.
    Grid,
}

impl SearchKind {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            SearchKind::Bo => "bo",
            SearchKind::Random => "random",
            SearchKind::Grid => "grid",
        }
    }
}

/// The space: 7³ tolerance levels times the orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// Orders searched; one entry: the flow as given.
    pub orders: Vec<String>,
}

const L: usize = LEVELS.len();

impl Space {
    /// Distinct points in all (the canonical ones).
    pub fn size(&self) -> usize {
        self.indices().len()
    }

    /// Every canonical point's index, in grid order.
    pub fn indices(&self) -> Vec<usize> {
        (0..L * L * L * self.orders.len().max(1))
            .filter(|&i| {
                let p = self.point(i);
                self.canonical(&p) == p
            })
            .collect()
    }

    /// `p` with each tolerance its order does not use at the first level
    /// (only when several orders are searched: a single flow's tasks are
    /// not read from its name).
    pub fn canonical(&self, p: &Point) -> Point {
        let order = match self.orders.get(p.order) {
            Some(o) if self.orders.len() > 1 && o.chars().all(|c| "psq".contains(c)) => o,
            _ => return p.clone(),
        };
        let level = |letter: char, l: usize| if order.contains(letter) { l } else { 0 };
        Point {
            p: level('p', p.p),
            s: level('s', p.s),
            q: level('q', p.q),
            order: p.order,
        }
    }

    /// The point at `index`.
    pub fn point(&self, index: usize) -> Point {
        Point {
            q: index % L,
            p: (index / L) % L,
            s: (index / (L * L)) % L,
            order: index / (L * L * L),
        }
    }

    /// The index of `p`.
    pub fn index(&self, p: &Point) -> usize {
        ((p.order * L + p.s) * L + p.p) * L + p.q
    }

    /// The GP's inputs: each level index over 6, the order one-hot.
    fn features(&self, p: &Point) -> Vec<f64> {
        let mut f = vec![p.p as f64 / 6.0, p.s as f64 / 6.0, p.q as f64 / 6.0];
        if self.orders.len() > 1 {
            f.extend((0..self.orders.len()).map(|k| if k == p.order { 0.7 } else { 0.0 }));
        }
        f
    }
}

fn rng(seed: u64, salt: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The `n`-th point (0-based) of a random search: a seeded permutation
/// of the canonical points' `indices` ([`Space::indices`]).
fn random_index(indices: &[usize], seed: u64, n: usize) -> usize {
    let mut order = indices.to_vec();
    rng(seed, 0xA5A5).shuffle(&mut order);
    order[n % order.len()]
}

/// ParEGO score of one design's objectives `f` (normalised to the
/// reference point), rescaled by `lo..hi` (the feasible designs' range).
pub fn scalarise(w: &[f64; 3], f: &[f64; 3], feasible: bool, lo: &[f64; 3], hi: &[f64; 3]) -> f64 {
    if !feasible {
        let worst = f.iter().map(|v| (v - 1.0).max(0.0)).fold(0.0, f64::max);
        return 1.05 + worst.min(1.0);
    }
    let g: [f64; 3] =
        std::array::from_fn(|i| ((f[i] - lo[i]) / (hi[i] - lo[i]).max(1e-9)).clamp(0.0, 1.0));
    let m = (0..3).map(|i| w[i] * g[i]).fold(0.0, f64::max);
    m + 0.05 * (0..3).map(|i| w[i] * g[i]).sum::<f64>()
}

/// The next point to evaluate after `done` (None when the space is spent).
pub fn ask(kind: SearchKind, space: &Space, seed: u64, done: &[Evaluation]) -> Option<Point> {
    let n = done.len();
    let indices = space.indices();
    if n >= indices.len() {
        return None;
    }
    let seen: std::collections::HashSet<usize> = done
        .iter()
        .map(|e| space.index(&space.canonical(&e.point)))
        .collect();
    match kind {
        SearchKind::Grid => Some(space.point(indices[n])),
        SearchKind::Random => Some(space.point(random_index(&indices, seed, n))),
        SearchKind::Bo => {
            if n == 0 {
                return Some(space.canonical(&Point {
                    p: 2,
                    s: 2,
                    q: 2,
                    order: 0,
                }));
            }
            if n < 3 {
                // The two anchors (see the module's notes), each unless
                // an earlier start already is it; else a random start,
                // never repeating.
                let anchor = space.canonical(&Point {
                    p: 0,
                    s: 0,
                    q: if n == 1 { 0 } else { LEVELS.len() - 1 },
                    order: 0,
                });
                if !seen.contains(&space.index(&anchor)) {
                    return Some(anchor);
                }
                let mut k = n;
                loop {
                    let i = random_index(&indices, seed, k);
                    if !seen.contains(&i) {
                        return Some(space.point(i));
                    }
                    k += 1;
                }
            }
            let mut r = rng(seed, n as u64);
            let raw = [
                -r.f64().max(1e-12).ln(),
                -r.f64().max(1e-12).ln(),
                -r.f64().max(1e-12).ln(),
            ];
            let total: f64 = raw.iter().sum();
            let w = raw.map(|v| v / total);
            let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            for c in done
                .iter()
                .flat_map(|e| &e.candidates)
                .filter(|c| c.feasible)
            {
                for k in 0..3 {
                    lo[k] = lo[k].min(c.objectives[k]);
                    hi[k] = hi[k].max(c.objectives[k]);
                }
            }
            if lo[0] > hi[0] {
                (lo, hi) = ([0.0; 3], [1.0; 3]);
            }
            let x: Vec<Vec<f64>> = done.iter().map(|e| space.features(&e.point)).collect();
            let y: Vec<f64> = done
                .iter()
                .map(|e| {
                    e.candidates
                        .iter()
                        .map(|c| scalarise(&w, &c.objectives, c.feasible, &lo, &hi))
                        .fold(2.05, f64::min)
                })
                .collect();
            let best = y.iter().copied().fold(f64::INFINITY, f64::min);
            let gp = Gp::fit(&x, &y)?;
            indices
                .into_iter()
                .filter(|i| !seen.contains(i))
                .map(|i| {
                    let p = space.point(i);
                    (gp.expected_improvement(&space.features(&p), best), i)
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, i)| space.point(i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_round_trip_and_the_grid_walks_q_fastest() {
        let s = Space {
            orders: vec!["spq".into(), "pq".into()],
        };
        // pq runs no scaling: its 49 distinct points, not 343.
        assert_eq!(s.size(), 343 + 49);
        for i in 0..686 {
            assert_eq!(s.index(&s.point(i)), i);
        }
        assert_eq!(
            s.point(1),
            Point {
                p: 0,
                s: 0,
                q: 1,
                order: 0
            }
        );
    }

    #[test]
    fn a_tolerance_whose_task_an_order_lacks_is_asked_once() {
        let s = Space {
            orders: crate::explore::flow::METAML_ORDERS
                .iter()
                .map(|o| o.to_string())
                .collect(),
        };
        assert_eq!(s.size(), 7 + 3 * 49 + 343 + 2 * 7);
        let q = s.orders.iter().position(|o| o == "q").unwrap();
        let p = Point {
            p: 4,
            s: 5,
            q: 3,
            order: q,
        };
        assert_eq!(
            s.canonical(&p),
            Point {
                p: 0,
                s: 0,
                q: 3,
                order: q
            }
        );
        // A single flow keeps every level (its tasks are not read from its name).
        let one = Space {
            orders: vec!["q".into()],
        };
        assert_eq!(one.canonical(&p), p);
        assert_eq!(one.size(), 343);
        // Random search over the seven orders: each distinct point once.
        let all = s.indices();
        let mut seen: Vec<usize> = (0..s.size()).map(|n| random_index(&all, 3, n)).collect();
        assert!(seen.iter().all(|&i| s.canonical(&s.point(i)) == s.point(i)));
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), s.size());
    }

    #[test]
    fn random_search_never_repeats_and_is_seeded() {
        let s = Space {
            orders: vec!["spq".into()],
        }
        .indices();
        let a: Vec<usize> = (0..343).map(|n| random_index(&s, 7, n)).collect();
        let mut b = a.clone();
        b.sort_unstable();
        b.dedup();
        assert_eq!(b.len(), 343);
        assert_eq!(
            a,
            (0..343).map(|n| random_index(&s, 7, n)).collect::<Vec<_>>()
        );
        assert_ne!(
            a,
            (0..343).map(|n| random_index(&s, 8, n)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn bo_starts_at_the_probe_then_the_two_anchors() {
        let space = Space {
            orders: vec!["spq".into()],
        };
        let eval = |n: usize, point: Point| Evaluation {
            n,
            alphas: point.alphas(),
            point,
            flow: "spq".into(),
            outputs: Vec::new(),
            candidates: Vec::new(),
            cache_hits: 0,
            tasks_run: 0,
            seconds: 0.0,
        };
        let mut done = Vec::new();
        for (n, want) in [(2, 2, 2), (0, 0, 0), (0, 0, 6)].into_iter().enumerate() {
            let p = ask(SearchKind::Bo, &space, 5, &done).unwrap();
            assert_eq!((p.p, p.s, p.q), want, "ask {n}");
            done.push(eval(n, p));
        }
        // Over several orders the anchors are canonical (`q` has no p or
        // s), and a start that is already there gives way to a random one.
        let orders = Space {
            orders: vec!["q".into(), "spq".into()],
        };
        let mut done = Vec::new();
        for n in 0..3 {
            let p = ask(SearchKind::Bo, &orders, 5, &done).unwrap();
            assert!(
                done.iter().all(|e: &Evaluation| e.point != p),
                "{p:?} repeated"
            );
            done.push(eval(n, p));
        }
        let starts: Vec<_> = done.iter().map(|e| e.point.clone()).collect();
        assert_eq!((starts[0].p, starts[0].s, starts[0].q), (0, 0, 2));
        assert_eq!((starts[1].p, starts[1].s, starts[1].q), (0, 0, 0));
        assert_eq!((starts[2].p, starts[2].s, starts[2].q), (0, 0, 6));
        // A start taken by an earlier one: a random point instead.
        let probe_at_anchor = [eval(
            0,
            orders.canonical(&Point {
                p: 0,
                s: 0,
                q: 6,
                order: 0,
            }),
        )];
        let second = ask(SearchKind::Bo, &orders, 5, &probe_at_anchor).unwrap();
        assert_eq!((second.p, second.s, second.q), (0, 0, 0));
    }

    #[test]
    fn infeasible_designs_score_worse_than_any_feasible_one() {
        let w = [0.2, 0.3, 0.5];
        let (lo, hi) = ([0.0; 3], [1.0; 3]);
        let worst_feasible = scalarise(&w, &[1.0, 1.0, 1.0], true, &lo, &hi);
        assert!(scalarise(&w, &[0.1, 0.1, 1.01], false, &lo, &hi) > worst_feasible);
        assert!(scalarise(&w, &[0.1, 0.1, 0.1], true, &lo, &hi) < worst_feasible);
        // Rescaling: a design at the low end of a narrow range scores 0 there.
        let s = scalarise(
            &[0.0, 1.0, 0.0],
            &[0.5, 0.01, 0.5],
            true,
            &[0.0, 0.01, 0.0],
            &[1.0, 0.02, 1.0],
        );
        assert!(s.abs() < 1e-12, "{s}");
    }
}

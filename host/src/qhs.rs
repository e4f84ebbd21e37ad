//! MetaML-Pro's Quantization Heuristic Search (QHS, §4.4): the search
//! itself, shared by `zest quantize` (the surrogate, scored by its mean
//! SMAPE on designs) and by the quantization task of `zest optimize` (a
//! user's network, scored by its fixed-point accuracy).
//!
//! # Algorithm
//!
//! ```text
//! start:  every precision at its lossless integer bits (int_bits) plus a
//!         fixed number of fractional bits (the caller's)
//! repeat: for each reducible knob k, in order (round-robin):
//!           width(k) −= 1 unless already at floor(k)
//!           scorer accepts?  keep it, k stays reducible
//!           otherwise        width(k) += 1, k is non-reducible from now on
//! until no knob is reducible
//! ```
//!
//! Only widths change: the integer bits found at the start stay, so each
//! reduction drops one fractional bit. What is searched ([`Searched`]) and
//! how a trial is judged ([`Scorer`]) are the caller's.

use serde::Serialize;

/// A set of precisions that QHS reduces, one knob at a time.
pub trait Searched {
    /// Names one searched precision.
    type Knob: Copy;
    /// Every knob, in the round-robin order.
    fn knobs(&self) -> Vec<Self::Knob>;
    /// The knob's width in bits (`None`: no such knob).
    fn width_mut(&mut self, k: Self::Knob) -> Option<&mut u8>;
    /// The narrowest `k` may become.
    fn floor(&self, k: Self::Knob) -> u8;
}

/// Judges trials of a search over `P`.
pub trait Scorer<P: Searched> {
    /// `p` has just had `k` narrowed by one bit: keep it?
    fn accept(&mut self, p: &P, k: P::Knob) -> bool;
    /// `k` was widened back after a refused trial (caches may need to know).
    fn restored(&mut self, _p: &P, _k: P::Knob) {}
}

/// What a search did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SearchStats {
    /// Trials scored.
    pub evaluations: usize,
    /// Trials kept (bits removed).
    pub reductions: usize,
}

/// Runs the round-robin reduction on `p` (see the module's algorithm).
/// `progress(evaluations, still_reducible_this_round)` after each trial.
pub fn reduce<P: Searched>(
    p: &mut P,
    scorer: &mut impl Scorer<P>,
    mut progress: impl FnMut(usize, usize),
) -> SearchStats {
    let mut stats = SearchStats::default();
    let mut reducible = p.knobs();
    while !reducible.is_empty() {
        let mut next = Vec::new();
        for k in reducible {
            let floor = p.floor(k);
            let Some(w) = p.width_mut(k) else { continue };
            if *w <= floor {
                continue;
            }
            *w -= 1;
            stats.evaluations += 1;
            if scorer.accept(p, k) {
                stats.reductions += 1;
                next.push(k);
            } else if let Some(w) = p.width_mut(k) {
                *w += 1;
                scorer.restored(p, k);
            }
            progress(stats.evaluations, next.len());
        }
        reducible = next;
    }
    stats
}

/// Signed integer bits that hold `max_abs` (the sign bit included): the
/// smallest `I` with `max_abs < 2^(I−1)`; 1 for zero or a non-finite value.
pub fn int_bits(max_abs: f64) -> i16 {
    if max_abs <= 0.0 || !max_abs.is_finite() {
        return 1;
    }
    let mut i = max_abs.log2().floor() as i16 + 1;
    while max_abs >= 2f64.powi(i32::from(i) - 1) {
        i += 1;
    }
    while i > -30 && max_abs < 2f64.powi(i32::from(i) - 2) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three knobs; a trial is accepted while the total width stays ≥ 12
    /// and knob 1 stays ≥ 6.
    struct Three([u8; 3]);
    impl Searched for Three {
        type Knob = usize;
        fn knobs(&self) -> Vec<usize> {
            vec![0, 1, 2]
        }
        fn width_mut(&mut self, k: usize) -> Option<&mut u8> {
            self.0.get_mut(k)
        }
        fn floor(&self, _k: usize) -> u8 {
            2
        }
    }
    struct Budget(Vec<usize>);
    impl Scorer<Three> for Budget {
        fn accept(&mut self, p: &Three, k: usize) -> bool {
            self.0.push(k);
            p.0.iter().map(|w| usize::from(*w)).sum::<usize>() >= 12 && p.0[1] >= 6
        }
    }

    #[test]
    fn reductions_go_round_robin_and_a_refusal_freezes_the_knob() {
        let mut p = Three([8, 8, 8]);
        let mut s = Budget(Vec::new());
        let stats = reduce(&mut p, &mut s, |_, _| {});
        // Rounds: (0,1,2) → 7,7,7; (0,1,2) → 6,6,6; then 0 → 5 (17), 1 → 5
        // refused, 2 → 5 (16); 0 → 4, 2 → 4 (14); 0 → 3, 2 → 3 (12);
        // 0 → 2 (11) refused, 2 → 2 (11) refused.
        assert_eq!(p.0, [3, 6, 3]);
        assert_eq!(s.0, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 2, 0, 2, 0, 2]);
        assert_eq!(stats.evaluations, 15);
        assert_eq!(stats.reductions, 12);
    }

    #[test]
    fn integer_bits_hold_the_value_and_its_sign() {
        assert_eq!(int_bits(0.0), 1);
        assert_eq!(int_bits(f64::NAN), 1);
        assert_eq!(int_bits(1.0), 2);
        assert_eq!(int_bits(0.99), 1);
        assert_eq!(int_bits(16.0), 6);
        assert_eq!(int_bits(15.9), 5);
        assert_eq!(int_bits(0.2), -1);
    }
}

//! hls4ml's reuse-factor rule: the reuse factor a layer is built with.
//!
//! hls4ml's FPGA backend (`fpga_backend.py`, 0.8 to 1.3) accepts a reuse
//! factor `rf` for a multiplication of `n_in` inputs by `n_out` outputs
//! only when
//!
//! * `n_in · n_out` is a multiple of `rf` (QoR and run time), and
//! * `rf < n_in` with `ceil(n_in · n_out / rf)` a multiple of `n_out`, or
//!   `rf ≥ n_in` with `rf` a multiple of `n_in` (functional correctness);
//!
//! under the Resource strategy (`init_dense`, `init_conv1d/2d`) any other
//! value is replaced by the closest valid one, the smaller on a tie, with
//! a warning in hls4ml's log that few users read. A sweep that asks for
//! RF 1024 on a 104 × 48 layer builds RF 832; the synthesis records keep
//! the value asked for, so the estimator reads the value built.
//!
//! No allocation: the valid values are divisors of `n_in · n_out`, walked
//! in O(√(n_in·n_out)) (the host and the firmware's sweeps share this).

/// Whether hls4ml accepts `rf` for an `n_in × n_out` multiplication.
pub fn is_valid(n_in: u64, n_out: u64, rf: u64) -> bool {
    if n_in == 0 || n_out == 0 || rf == 0 {
        return false;
    }
    let total = n_in * n_out;
    let mult_factor = n_in.min(rf);
    let multiplier_limit = total.div_ceil(mult_factor);
    let functional = (multiplier_limit % n_out == 0 || rf >= n_in) && (rf % n_in == 0 || rf < n_in);
    functional && total % rf == 0
}

/// Every divisor of `n`, in no particular order.
fn divisors(n: u64) -> impl Iterator<Item = u64> {
    (1u64..)
        .take_while(move |d| d.saturating_mul(*d) <= n)
        .filter(move |d| n % d == 0)
        .flat_map(move |d| {
            let other = n / d;
            [Some(d), (other != d).then_some(other)]
        })
        .flatten()
}

/// The reuse factor hls4ml builds when asked for `rf`: `rf` itself when
/// valid, else the closest valid value (the smaller on a tie), as
/// `get_closest_reuse_factor` picks it. `rf` unchanged when no value is
/// valid (an empty layer).
pub fn closest(n_in: u64, n_out: u64, rf: u64) -> u64 {
    if is_valid(n_in, n_out, rf) {
        return rf;
    }
    let (mut below, mut above): (Option<u64>, Option<u64>) = (None, None);
    for v in divisors(n_in.saturating_mul(n_out)).filter(|&v| is_valid(n_in, n_out, v)) {
        if v < rf {
            below = Some(below.map_or(v, |b| b.max(v)));
        } else {
            above = Some(above.map_or(v, |a| a.min(v)));
        }
    }
    match (below, above) {
        (Some(before), Some(after)) => {
            if after - rf < rf - before {
                after
            } else {
                before
            }
        }
        (Some(before), None) => before,
        (None, Some(after)) => after,
        (None, None) => rf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_layers() {
        // The jdweitz sweep's RF 1024 on 104 × 48 builds 832 (1,248 is
        // farther); 4,093 builds the whole 4,992.
        assert_eq!(closest(104, 48, 1024), 832);
        assert_eq!(closest(104, 48, 4093), 4992);
        // Valid values are kept; a tie goes to the smaller.
        assert_eq!(closest(16, 64, 4), 4);
        assert_eq!(closest(16, 64, 3), 2);
        assert_eq!(closest(16, 64, 6), 4);
        assert_eq!(closest(0, 4, 3), 3);
    }

    #[test]
    fn closest_is_the_nearest_of_the_plain_enumeration() {
        for n_in in 1..=20u64 {
            for n_out in 1..=10u64 {
                let valid: [u64; 256] = core::array::from_fn(|i| i as u64 + 1);
                let valid = valid
                    .iter()
                    .copied()
                    .take((n_in * n_out) as usize)
                    .filter(|&r| is_valid(n_in, n_out, r));
                for rf in 1..=n_in * n_out + 3 {
                    let best = valid
                        .clone()
                        .min_by_key(|&v| (v.abs_diff(rf), v))
                        .unwrap_or(rf);
                    assert_eq!(closest(n_in, n_out, rf), best, "{n_in}x{n_out} rf {rf}");
                }
            }
        }
    }
}

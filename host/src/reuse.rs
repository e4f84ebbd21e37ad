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

use crate::design::{Design, Layer, LayerKind, Strategy};

/// The reuse factor `layer` of `design` is built with: under the Resource
/// strategy, a Dense or convolution layer's closest valid value (for a
/// convolution `n_in` is the kernel window times the input channels,
/// `n_out` the filters, as hls4ml counts them); otherwise the one asked
/// for.
pub fn built(design: &Design, layer: &Layer) -> u32 {
    let rf = layer.reuse_factor.max(1);
    if design.strategy != Strategy::Resource {
        return rf;
    }
    let (n_in, n_out) = match layer.kind {
        LayerKind::Dense => (layer.n_in(), layer.n_out()),
        LayerKind::Conv1D | LayerKind::Conv2D => {
            let spatial = layer.output_shape.len().saturating_sub(1) as u32;
            let window = u64::from(layer.kernel.unwrap_or(1)).pow(spatial);
            let in_ch = u64::from(*layer.input_shape.last().unwrap_or(&1));
            (window * in_ch, u64::from(layer.filters.unwrap_or(1)))
        }
        _ => return rf,
    };
    u32::try_from(closest(n_in, n_out, u64::from(rf))).unwrap_or(rf)
}

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

/// The valid reuse factors of an `n_in × n_out` multiplication, ascending
/// (all divide `n_in · n_out`, so this walks its divisors: O(√(n_in·n_out))).
pub fn valid(n_in: u64, n_out: u64) -> Vec<u64> {
    let total = n_in * n_out;
    let mut out = Vec::new();
    let mut d = 1u64;
    while d * d <= total {
        if total % d == 0 {
            out.push(d);
            if d != total / d {
                out.push(total / d);
            }
        }
        d += 1;
    }
    out.retain(|&rf| is_valid(n_in, n_out, rf));
    out.sort_unstable();
    out
}

/// The reuse factor hls4ml builds when asked for `rf`: `rf` itself when
/// valid, else the closest valid value (the smaller on a tie), as
/// `get_closest_reuse_factor` picks it. `rf` unchanged when no value is
/// valid (an empty layer).
pub fn closest(n_in: u64, n_out: u64, rf: u64) -> u64 {
    if is_valid(n_in, n_out, rf) {
        return rf;
    }
    let v = valid(n_in, n_out);
    let pos = v.partition_point(|&x| x < rf);
    match (pos.checked_sub(1).map(|i| v[i]), v.get(pos)) {
        (Some(before), Some(&after)) => {
            if after - rf < rf - before {
                after
            } else {
                before
            }
        }
        (Some(before), None) => before,
        (None, Some(&after)) => after,
        (None, None) => rf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hls4ml's own enumeration (`range(1, n_in·n_out + 1)` filtered),
    /// written as plainly as hls4ml writes it.
    fn reference_valid(n_in: u64, n_out: u64) -> Vec<u64> {
        (1..=n_in * n_out)
            .filter(|&rf| is_valid(n_in, n_out, rf))
            .collect()
    }

    #[test]
    fn divisor_walk_matches_the_plain_enumeration() {
        for n_in in 1..=24 {
            for n_out in 1..=12 {
                assert_eq!(
                    valid(n_in, n_out),
                    reference_valid(n_in, n_out),
                    "{n_in}x{n_out}"
                );
            }
        }
    }

    #[test]
    fn known_layers() {
        // 16 × 64 (the jet tagger's first layer): 1, 2, 4, 8, 16 and the
        // multiples of 16 that divide 1,024.
        assert_eq!(
            valid(16, 64),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        );
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
}

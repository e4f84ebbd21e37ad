//! hls4ml's reuse-factor rule, applied to a design's layers: the rule
//! itself (valid values, the closest one built under the Resource
//! strategy) is [`zest_features::reuse`], shared with the firmware's
//! sweeps.

use crate::design::{Design, Layer, LayerKind, Strategy};

/// The multiplication hls4ml checks `layer`'s reuse factor against under
/// the Resource strategy: a Dense layer's `n_in × n_out`, a convolution's
/// kernel window times input channels by filters; `None` for other kinds
/// (their reuse factor is built as asked).
pub fn rf_shape(layer: &Layer) -> Option<(u64, u64)> {
    match layer.kind {
        LayerKind::Dense => Some((layer.n_in(), layer.n_out())),
        LayerKind::Conv1D | LayerKind::Conv2D => {
            let spatial = layer.output_shape.len().saturating_sub(1) as u32;
            let window = u64::from(layer.kernel.unwrap_or(1)).pow(spatial);
            let in_ch = u64::from(*layer.input_shape.last().unwrap_or(&1));
            Some((window * in_ch, u64::from(layer.filters.unwrap_or(1))))
        }
        _ => None,
    }
}

/// The reuse factor `layer` of `design` is built with: under the Resource
/// strategy, the closest valid value for its [`rf_shape`]; otherwise the
/// one asked for.
pub fn built(design: &Design, layer: &Layer) -> u32 {
    let rf = layer.reuse_factor.max(1);
    if design.strategy != Strategy::Resource {
        return rf;
    }
    match rf_shape(layer) {
        Some((n_in, n_out)) => u32::try_from(closest(n_in, n_out, u64::from(rf))).unwrap_or(rf),
        None => rf,
    }
}

pub use zest_features::reuse::{closest, is_valid};

/// The valid reuse factors of an `n_in × n_out` multiplication, ascending.
pub fn valid(n_in: u64, n_out: u64) -> Vec<u64> {
    let total = n_in * n_out;
    let mut out: Vec<u64> = (1..)
        .take_while(|d: &u64| d * d <= total)
        .filter(|d| total % d == 0)
        .flat_map(|d| [d, total / d])
        .filter(|&rf| is_valid(n_in, n_out, rf))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
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
        // closest() and its cases: zest_features::reuse's tests.
    }
}

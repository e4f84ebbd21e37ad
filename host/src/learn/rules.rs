//! What hls4ml's templates and the HLS scheduler decide, applied to the
//! surrogate's raw totals so that no estimate breaks a rule an hls4ml user
//! knows:
//!
//! * **II ≤ latency + 1.** A design takes a new input at the latest when
//!   the last one has left; no synthesis record breaks it, the raw network
//!   did (ARRYTHMIA at RF 100: II 468 over latency 146).
//! * **io_parallel dense networks** (Dense and BatchNorm layers only):
//!   II = min(largest reuse factor, latency + 1). hls4ml pipelines the top
//!   function and each layer at `II = CONFIG_T::reuse_factor`; where the
//!   tool cannot meet it, the design runs unpipelined at latency + 1. In
//!   the records: every io_parallel Resource run of the U250 sweep has
//!   II = RF (876) or RF + 1 (30); every Latency run II = 1 at RF 1 and
//!   latency + 1 at RF 512/1024 (Vivado HLS 2020.1); the Zynq-7000 MLPs
//!   (Vitis HLS 2021.1) II = RF at RF 1 and 2, and 22–100 at RF 100, where
//!   the bound is what holds. Measured against the alternatives in
//!   docs/accuracy.md.
//!
//! * **DSP ≤ the multipliers hls4ml instantiates**, for Resource-strategy
//!   networks of Dense layers: `dense_resource` runs `⌈n_in·n_out / RF⌉`
//!   multipliers a layer, each at most `⌈w/25⌉·⌈x/18⌉` DSP48s for a
//!   `w`-bit weight and an `x`-bit input (7-series' 25 × 18; UltraScale's
//!   27 × 18 needs no more), plus at most 4 per output for a layer with an
//!   activation other than ReLU (tables, softmax, the alpha products). The raw network broke it far from its
//!   data: 239 DSPs for zest's own 40-multiplier accelerator. Every
//!   Resource Dense record in the data keeps it (`host/tests/data.rs`).
//!
//! The reuse factors are the ones hls4ml builds ([`crate::reuse`]).
//!
//! io_stream designs, and io_parallel ones with convolutions (whose II
//! also scales with the output pixels), keep the surrogate's II under the
//! first bound.

use crate::design::{Design, IoType, LayerKind, Strategy, Targets};
use crate::tokens::layer_facts;
use zest_features::{Act, LayerFacts};

/// The most DSPs a Resource-strategy network of Dense layers can use
/// (the bound above); `None` for any other network.
pub fn dsp_bound(design: &Design) -> Option<f64> {
    dsp_bound_of(design, &layer_facts(design))
}

/// [`dsp_bound`] from the design's layer facts, computed once by the caller.
fn dsp_bound_of(design: &Design, facts: &[LayerFacts]) -> Option<f64> {
    let weighted = || design.layers.iter().filter(|l| l.kind.has_weights());
    if design.strategy != Strategy::Resource
        || weighted().next().is_none()
        || !weighted().all(|l| l.kind == LayerKind::Dense)
    {
        return None;
    }
    let bound = design
        .layers
        .iter()
        .zip(facts)
        .map(|(l, f)| {
            let per_mult = |w: u16, x: u16| {
                (u64::from(w).div_ceil(25).max(1) * u64::from(x).div_ceil(18).max(1)) as f64
            };
            let mults = if l.kind == LayerKind::Dense {
                f.n_mult.div_ceil(u64::from(f.reuse_factor.max(1))) as f64
                    * per_mult(f.weight_bits, f.input_bits)
            } else {
                0.0
            };
            let act = if !matches!(f.act, Act::Linear | Act::Relu) || !l.kind.has_weights() {
                4.0 * f.n_out as f64
            } else {
                0.0
            };
            mults + act
        })
        .sum();
    Some(bound)
}

/// The rules of one design, worked out once from its layer facts and then
/// applied to any raw totals (the estimate and its upper bounds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// io_parallel networks of Dense and BatchNorm layers: the largest
    /// reuse factor hls4ml builds, the II before the latency bound.
    ii_from_rf: Option<f64>,
    /// The DSP bound, where it holds.
    dsp_bound: Option<f64>,
}

impl Rules {
    /// The rules of `design`, whose layer facts are `facts`
    /// ([`layer_facts`]).
    pub fn of(design: &Design, facts: &[LayerFacts]) -> Rules {
        let weighted = || {
            design
                .layers
                .iter()
                .zip(facts)
                .filter(|(l, _)| l.kind.has_weights())
        };
        // Dense and BatchNorm layers are pipelined at II = reuse factor; a
        // convolution's II also scales with its output pixels.
        let dense_like =
            weighted().all(|(l, _)| matches!(l.kind, LayerKind::Dense | LayerKind::BatchNorm));
        let largest_rf = weighted()
            .map(|(_, f)| f64::from(f.reuse_factor))
            .reduce(f64::max);
        Rules {
            ii_from_rf: largest_rf.filter(|_| design.io_type == IoType::IoParallel && dense_like),
            dsp_bound: dsp_bound_of(design, facts),
        }
    }

    /// The bounds and, for io_parallel, the value the rules give `raw`'s
    /// II.
    pub fn apply(&self, raw: Targets) -> Targets {
        let mut t = raw;
        let cap = if t.latency_cycles.is_finite() {
            t.latency_cycles.max(0.0) + 1.0
        } else {
            f64::INFINITY
        };
        t.ii = self.ii_from_rf.unwrap_or(t.ii).min(cap);
        if let Some(bound) = self.dsp_bound {
            t.dsp = t.dsp.min(bound);
        }
        t
    }
}

/// [`Rules::apply`] for a design whose facts are not at hand.
pub fn apply(design: &Design, raw: Targets) -> Targets {
    Rules::of(design, &layer_facts(design)).apply(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{mlp, synthetic_design};
    use crate::design::{Activation, Precision};

    fn net(rf: u32, io: IoType) -> Design {
        let layers = mlp(
            &[16, 64, 32, 5],
            Precision::DEFAULT,
            rf,
            Activation::Relu,
            Activation::Softmax,
        );
        let mut d = synthetic_design("t", layers, false);
        d.io_type = io;
        d
    }

    fn raw(latency: f64, ii: f64) -> Targets {
        Targets {
            latency_cycles: latency,
            ii,
            ..Targets::default()
        }
    }

    #[test]
    fn io_parallel_ii_is_the_reuse_factor_within_the_latency() {
        assert_eq!(apply(&net(1, IoType::IoParallel), raw(20.0, 6.0)).ii, 1.0);
        assert_eq!(apply(&net(4, IoType::IoParallel), raw(20.0, 6.0)).ii, 4.0);
        assert_eq!(apply(&net(512, IoType::IoParallel), raw(2.0, 6.0)).ii, 3.0);
    }

    #[test]
    fn ii_never_exceeds_latency_plus_one() {
        let t = apply(&net(100, IoType::IoStream), raw(146.0, 468.0));
        assert_eq!(t.ii, 147.0);
        let t = apply(&net(100, IoType::IoStream), raw(146.0, 24.0));
        assert_eq!(t.ii, 24.0);
    }
}

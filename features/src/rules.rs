//! What hls4ml's templates and the HLS scheduler decide, applied to the
//! surrogate's raw totals so that no estimate breaks a rule an hls4ml user
//! knows (the host's estimates, the board's sweeps: one definition):
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
//! * **DSP ≤ the multipliers hls4ml instantiates**, for Resource-strategy
//!   networks of Dense layers: `dense_resource` runs `⌈n_in·n_out / RF⌉`
//!   multipliers a layer, each at most `⌈w/25⌉·⌈x/18⌉` DSP48s for a
//!   `w`-bit weight and an `x`-bit input (7-series' 25 × 18; UltraScale's
//!   27 × 18 needs no more), plus at most 4 per output for a layer with an
//!   activation other than ReLU (tables, softmax, the alpha products). The
//!   raw network broke it far from its data: 239 DSPs for zest's own
//!   40-multiplier accelerator. Every Resource Dense record in the data
//!   keeps it (`host/tests/data.rs`).
//!
//! The reuse factors are the ones hls4ml builds ([`crate::reuse`]), as the
//! layer facts carry them. io_stream designs, and io_parallel ones with
//! convolutions (whose II also scales with the output pixels), keep the
//! surrogate's II under the first bound.
//!
//! Every operation here is a comparison, a minimum or an integer-valued
//! sum, so the host and the firmware (both IEEE-754 doubles) get the same
//! bits.

use crate::{Act, Kind, LayerFacts, Target, N_TARGETS};

/// Whether a layer of this kind holds weights.
fn has_weights(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Dense | Kind::Conv | Kind::DepthwiseConv | Kind::BatchNorm
    )
}

/// The most DSPs a Resource-strategy network of Dense layers can use
/// (the bound above); `None` for any other network.
pub fn dsp_bound(facts: &[LayerFacts]) -> Option<f64> {
    let weighted = || facts.iter().filter(|f| has_weights(f.kind));
    let resource = facts.first().is_some_and(|f| f.resource);
    if !resource || weighted().next().is_none() || !weighted().all(|f| f.kind == Kind::Dense) {
        return None;
    }
    let bound = facts
        .iter()
        .map(|f| {
            let per_mult = |w: u16, x: u16| {
                (u64::from(w).div_ceil(25).max(1) * u64::from(x).div_ceil(18).max(1)) as f64
            };
            let mults = if f.kind == Kind::Dense {
                f.n_mult.div_ceil(u64::from(f.reuse_factor.max(1))) as f64
                    * per_mult(f.weight_bits, f.input_bits)
            } else {
                0.0
            };
            let act = if !matches!(f.act, Act::Linear | Act::Relu) || !has_weights(f.kind) {
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
    pub ii_from_rf: Option<f64>,
    /// The DSP bound, where it holds.
    pub dsp_bound: Option<f64>,
}

impl Rules {
    /// The rules of the design whose layers are `facts`.
    pub fn of(facts: &[LayerFacts]) -> Rules {
        let weighted = || facts.iter().filter(|f| has_weights(f.kind));
        // Dense and BatchNorm layers are pipelined at II = reuse factor; a
        // convolution's II also scales with its output pixels.
        let dense_like = weighted().all(|f| matches!(f.kind, Kind::Dense | Kind::BatchNorm));
        let largest_rf = weighted()
            .map(|f| f64::from(f.reuse_factor))
            .reduce(f64::max);
        let parallel = facts.first().is_some_and(|f| !f.stream);
        Rules {
            ii_from_rf: largest_rf.filter(|_| parallel && dense_like),
            dsp_bound: dsp_bound(facts),
        }
    }

    /// The bounds and, for io_parallel, the value the rules give the II of
    /// `t` (targets in [`Target`] order).
    pub fn apply(&self, t: &mut [f64; N_TARGETS]) {
        let latency = t[Target::LatencyCycles as usize];
        let cap = if latency.is_finite() {
            latency.max(0.0) + 1.0
        } else {
            f64::INFINITY
        };
        let ii = &mut t[Target::Ii as usize];
        *ii = self.ii_from_rf.unwrap_or(*ii).min(cap);
        if let Some(bound) = self.dsp_bound {
            let dsp = &mut t[Target::Dsp as usize];
            *dsp = dsp.min(bound);
        }
    }
}

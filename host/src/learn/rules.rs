//! What hls4ml's templates and the HLS scheduler decide (II ≤ latency + 1,
//! io_parallel dense II from the reuse factors, the Resource DSP bound),
//! applied to the surrogate's raw totals: the rules and their evidence are
//! written once, in [`zest_features::rules`], which the firmware's sweeps
//! apply too; this module applies them to a [`Design`].

use crate::design::{Design, Targets};
use crate::tokens::layer_facts;
use zest_features::LayerFacts;

/// The most DSPs a Resource-strategy network of Dense layers can use
/// (the bound above); `None` for any other network.
pub fn dsp_bound(design: &Design) -> Option<f64> {
    zest_features::rules::dsp_bound(&layer_facts(design))
}

/// The rules of one design, worked out once from its layer facts and then
/// applied to any raw totals (the estimate and its upper bounds): the
/// no_std [`zest_features::rules::Rules`] the board's sweeps apply too.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules(zest_features::rules::Rules);

impl Rules {
    /// The rules of `design`, whose layer facts are `facts`
    /// ([`layer_facts`]; they carry everything the rules read).
    pub fn of(_design: &Design, facts: &[LayerFacts]) -> Rules {
        Rules(zest_features::rules::Rules::of(facts))
    }

    /// The bounds and, for io_parallel, the value the rules give `raw`'s
    /// II.
    pub fn apply(&self, raw: Targets) -> Targets {
        let mut t = raw.to_array();
        self.0.apply(&mut t);
        Targets::from_array(t)
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
    use crate::design::{Activation, IoType, Precision};

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

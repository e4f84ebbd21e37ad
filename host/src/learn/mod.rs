//! Learning the estimator: the surrogate itself ([`surrogate`]: a
//! per-layer network ensemble over tokens, and its inference), its
//! training ([`train`]), held-out evaluation ([`eval`]) against baselines
//! ([`baselines`]) with [`metrics`] and [`plots`], and the speed
//! benchmark ([`bench`]).

pub mod baselines;
pub mod bench;
pub mod eval;
pub mod metrics;
pub mod plots;
pub mod surrogate;
pub mod train;

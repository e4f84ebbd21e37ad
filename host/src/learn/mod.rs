//! Learning the estimator: the surrogate itself ([`surrogate`]: a
//! per-layer network ensemble over tokens, and its inference), its
//! training ([`train`]), held-out evaluation ([`eval`]) against baselines
//! ([`baselines`]) with [`metrics`] and [`plots`], the speed benchmark
//! ([`bench`]), and what hls4ml's rules decide over the raw estimate
//! ([`rules`]).

pub mod baselines;
pub mod bench;
pub mod eval;
pub mod metrics;
pub mod plots;
pub mod rules;
pub mod surrogate;
pub mod train;

//! `Sweep` requests: one network and a grid of configurations in, the
//! feasible Pareto set out, page by page. The grid is expanded, each
//! configuration tokenized (`zest-features`, as the host does) and
//! estimated by the soft model, and the set reduced by `zest_fixed::sweep`:
//! the code the host runs for its own sweeps, so both give the same set.
//! The PL accelerator is not used here (it takes one request's tokens at a
//! time; a sweep's thousands of small designs are the soft model's job).

use zest_features::sweep::SweepLayer;
use zest_features::TOKEN_LEN;
use zest_fixed::fast::FastModel;
use zest_fixed::sweep::{quantize_tokens, sweep, Outcome, Point, MAX_FRONT};
use zest_proto::{Refusal, SweepRequest, MAX_SWEEP_LAYERS};

/// The Pareto set of the last sweep.
pub type Front = [Point; MAX_FRONT];

/// An empty front buffer.
pub const EMPTY_FRONT: Front = [Point {
    index: 0,
    targets: [0.0; zest_features::N_TARGETS],
}; MAX_FRONT];

/// Runs `req` on `model` (whose id is `model_id`); the set is the first
/// `Outcome::front` points of `front`.
pub fn run(
    model: &FastModel<'_>,
    model_id: u64,
    req: &SweepRequest<'_>,
    front: &mut Front,
) -> Result<Outcome, Refusal> {
    if req.model_id != model_id {
        return Err(Refusal::ModelMismatch { board: model_id });
    }
    if model.token_len() != TOKEN_LEN {
        return Err(Refusal::BadTokens);
    }
    let mut layers = [SweepLayer {
        kind: zest_features::Kind::Dense,
        act: zest_features::Act::Linear,
        n_in: 0,
        n_out: 0,
        n_mult: 0,
        n_zero_weights: 0,
        n_weights: 0,
        positions: 0,
        kernel: 0,
        rf_shape: (0, 0),
    }; MAX_SWEEP_LAYERS];
    let mut n = 0;
    for (slot, layer) in layers
        .iter_mut()
        .zip(req.layers().ok_or(Refusal::BadSweep)?)
    {
        *slot = layer;
        n += 1;
    }
    let input = model.input();
    let mut tokens = [[0i64; TOKEN_LEN]; MAX_SWEEP_LAYERS];
    sweep(
        &model.total(),
        &layers[..n],
        &req.grid,
        &req.limits,
        front,
        |_, facts| {
            let tokens = &mut tokens[..facts.len()];
            quantize_tokens(&input, facts, tokens);
            model.estimate(tokens.iter().map(|t| &t[..])).ok()
        },
    )
    .map_err(|e| match e {
        zest_fixed::sweep::SweepError::Estimate(_) => Refusal::BadTokens,
        _ => Refusal::BadSweep,
    })
}

//! `Estimate` requests: designs as layer tokens in, six totals per design
//! out, computed by the PL accelerator when it holds the active model, else
//! by the soft model: zest-fixed's decoded model ([`zest_fixed::fast`]),
//! bit for bit the reference model the host runs.

use zest_fixed::fast::{FastModel, Scratch};
use zest_fixed::model::{elem_bytes, raw_at, MAX_WIDTH, N_TARGETS};
use zest_proto::{totals, Engine, EstimateRequest, Refusal, MAX_DESIGNS_PER_REQUEST};

use crate::accel::Accel;

/// Reply buffer: every design's totals.
pub const OUT_LEN: usize = MAX_DESIGNS_PER_REQUEST * totals::DESIGN;

/// Checks the request against the model; returns the token length in bytes.
fn validate(model: &FastModel<'_>, req: &EstimateRequest<'_>) -> Result<usize, Refusal> {
    if req.layers.len() > MAX_DESIGNS_PER_REQUEST {
        return Err(Refusal::TooManyDesigns);
    }
    let sb = elem_bytes(&model.input());
    if usize::from(req.slot_bytes) != sb || req.layers.contains(&0) {
        return Err(Refusal::BadTokens);
    }
    let token_bytes = model.token_len() * sb;
    let tokens: usize = req.layers.iter().map(|n| usize::from(*n)).sum();
    if req.tokens.len() != tokens * token_bytes {
        return Err(Refusal::BadTokens);
    }
    if let Some(c) = req.carry {
        let max = model.total().max_raw() as u64;
        if c.iter().any(|v| *v > max) {
            return Err(Refusal::BadTokens);
        }
    }
    Ok(token_bytes)
}

/// Answers one request into `out`; returns the engine and the bytes used.
pub fn run(
    model: &FastModel<'_>,
    model_id: u64,
    req: &EstimateRequest<'_>,
    accel: Option<&Accel>,
    out: &mut [u8; OUT_LEN],
) -> Result<(Engine, usize), Refusal> {
    if req.model_id != model_id {
        return Err(Refusal::ModelMismatch { board: model_id });
    }
    let token_bytes = validate(model, req)?;
    let sb = usize::from(req.slot_bytes);
    let n_slots = model.token_len();
    let input = model.input();
    let accel = accel.filter(|a| a.holds(model_id));
    let mut engine = if accel.is_some() {
        Engine::Pl
    } else {
        Engine::Soft
    };
    let mut at = 0usize;
    let mut used = 0usize;
    let scratch = &mut Scratch::new();
    for (d, n) in req.layers.iter().enumerate() {
        let mut sums = [0i64; N_TARGETS];
        if d == 0 {
            if let Some(c) = req.carry {
                sums = c.map(|v| v as i64);
            }
        }
        let design = &req.tokens[at..at + usize::from(*n) * token_bytes];
        at += design.len();
        // Every slot within the input type, before any engine runs.
        let mut token = [0i64; MAX_WIDTH];
        for t in design.chunks_exact(token_bytes) {
            for (k, v) in token[..n_slots].iter_mut().enumerate() {
                *v = raw_at(t, &input, k);
            }
            model
                .check_token(&token[..n_slots])
                .map_err(|_| Refusal::BadTokens)?;
        }
        let pl = accel.and_then(|a| a.run(design, sb, n_slots));
        match pl {
            Some(t) => model.accumulate(&mut sums, &t),
            None => {
                engine = Engine::Soft;
                for t in design.chunks_exact(token_bytes) {
                    for (k, v) in token[..n_slots].iter_mut().enumerate() {
                        *v = raw_at(t, &input, k);
                    }
                    let c = model
                        .layer_costs_in(&token[..n_slots], scratch)
                        .map_err(|_| Refusal::BadTokens)?;
                    model.accumulate(&mut sums, &c);
                }
            }
        }
        used = totals::write(out, d, &sums.map(|v| v as u64));
    }
    Ok((engine, used))
}

//! Estimates computed by a board: designs as quantized layer tokens,
//! packed into `Estimate` requests that fit a frame (a design longer than
//! one request continues in the next with its running totals carried by
//! the host, so every request stays idempotent), answers collected.

pub use zest_fixed::model::Tokens;
use zest_fixed::model::{elem_bytes, pack, FixedModel, N_TARGETS};
use zest_proto::{Engine, EstimateRequest, MAX_DESIGNS_PER_REQUEST};

use crate::client::BoardClient;
use crate::Result;

/// What the board answered for a batch of designs.
#[derive(Debug, Clone)]
pub struct BoardRun {
    /// Per design, the six raw totals.
    pub totals: Vec<[u64; N_TARGETS]>,
    /// `Pl` only if every request was answered by the accelerator.
    pub engine: Engine,
    /// Board timer ticks spent computing, summed.
    pub ticks: u64,
    /// Requests sent.
    pub requests: usize,
}

/// Tokens of one layer per request, for a model.
pub fn tokens_per_request(model: &FixedModel<'_>) -> usize {
    let token_bytes = usize::from(model.token_len) * elem_bytes(&model.input);
    (EstimateRequest::TOKEN_BUDGET / token_bytes.max(1)).max(1)
}

struct Batch {
    layers: Vec<u8>,
    tokens: Vec<u8>,
    carry: Option<[u64; N_TARGETS]>,
    count: usize,
}

/// Estimates `designs` on the board, in order.
pub fn estimate_on_board(
    client: &mut BoardClient,
    model: &FixedModel<'_>,
    model_id: u64,
    designs: &[Tokens],
    mut progress: impl FnMut(usize),
) -> Result<BoardRun> {
    if let Some(i) = designs.iter().position(Vec::is_empty) {
        return Err(crate::BoardError::BadInput(format!(
            "design {i} has no layers"
        )));
    }
    let sb = elem_bytes(&model.input);
    let cap = tokens_per_request(model);
    let mut run = BoardRun {
        totals: Vec::with_capacity(designs.len()),
        engine: Engine::Pl,
        ticks: 0,
        requests: 0,
    };
    let mut batch = Batch {
        layers: Vec::new(),
        tokens: Vec::new(),
        carry: None,
        count: 0,
    };
    let mut pending: Option<[u64; N_TARGETS]> = None;
    let mut flush =
        |batch: &mut Batch, open: bool, run: &mut BoardRun| -> Result<Option<[u64; N_TARGETS]>> {
            if batch.layers.is_empty() {
                return Ok(None);
            }
            let req = EstimateRequest {
                model_id,
                slot_bytes: sb as u8,
                carry: batch.carry,
                open,
                layers: &batch.layers,
                tokens: &batch.tokens,
            };
            let e = client.estimate(&req)?;
            run.requests += 1;
            run.ticks += u64::from(e.ticks);
            if e.engine == Engine::Soft {
                run.engine = Engine::Soft;
            }
            let mut totals = e.totals;
            let partial = if open { totals.pop() } else { None };
            run.totals.extend(totals);
            progress(run.totals.len());
            *batch = Batch {
                layers: Vec::new(),
                tokens: Vec::new(),
                carry: None,
                count: 0,
            };
            Ok(partial)
        };
    for d in designs {
        let mut rest: &[Vec<i64>] = d;
        while !rest.is_empty() {
            if batch.count == cap || batch.layers.len() == MAX_DESIGNS_PER_REQUEST {
                flush(&mut batch, false, &mut run)?;
            }
            if batch.layers.is_empty() {
                batch.carry = pending.take();
            }
            let take = rest.len().min(cap - batch.count).min(usize::from(u8::MAX));
            for t in &rest[..take] {
                batch.tokens.extend(pack(&model.input, t));
            }
            batch.layers.push(take as u8);
            batch.count += take;
            rest = &rest[take..];
            if !rest.is_empty() {
                pending = flush(&mut batch, true, &mut run)?;
            }
        }
    }
    flush(&mut batch, false, &mut run)?;
    Ok(run)
}

/// The same designs on the host's fixed-point model.
pub fn estimate_locally(model: &FixedModel<'_>, designs: &[Tokens]) -> Vec<[u64; N_TARGETS]> {
    designs
        .iter()
        .map(|d| {
            model
                .estimate(d.iter().map(Vec::as_slice))
                .map(|t| t.map(|v| v as u64))
                .unwrap_or([u64::MAX; N_TARGETS])
        })
        .collect()
}

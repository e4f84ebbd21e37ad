//! Where estimates come from: the float surrogate, the host's copy of the
//! fixed-point model (bit for bit what a board computes), or a board. One
//! value that the tasks in the loop call, design after design.

use crate::board::{fixed_point_reports, FixedEngine, FixedEstimateError};
use crate::design::Design;
use crate::estimate::{estimate, EstimateReport};
use crate::learn::surrogate::Surrogate;

/// An estimator the optimisation tasks call.
pub struct Estimator {
    surrogate: Surrogate,
    name: String,
    fixed: Option<(Vec<u8>, FixedEngine)>,
    calls: usize,
    seconds: f64,
}

impl Estimator {
    /// The float surrogate `surrogate`, named `name` in reports.
    pub fn host(surrogate: Surrogate, name: &str) -> Self {
        Self {
            surrogate,
            name: name.to_string(),
            fixed: None,
            calls: 0,
            seconds: 0.0,
        }
    }

    /// The fixed-point model `fixed` (bytes), run by `engine`; the float
    /// surrogate `surrogate` supplies what the fixed-point model lacks
    /// (warnings, the layer list).
    pub fn fixed(surrogate: Surrogate, name: &str, fixed: Vec<u8>, engine: FixedEngine) -> Self {
        Self {
            fixed: Some((fixed, engine)),
            ..Self::host(surrogate, name)
        }
    }

    /// Estimates `d` (its own configuration).
    pub fn estimate(&mut self, d: &Design) -> Result<EstimateReport, FixedEstimateError> {
        let mut r = self.estimate_many(std::slice::from_ref(d))?;
        Ok(r.remove(0))
    }

    /// Estimates every design of `ds` (each in its own configuration); a
    /// board gets them batched into as few requests as the protocol allows.
    pub fn estimate_many(
        &mut self,
        ds: &[Design],
    ) -> Result<Vec<EstimateReport>, FixedEstimateError> {
        let t = std::time::Instant::now();
        let mut reports: Vec<EstimateReport> = ds
            .iter()
            .map(|d| {
                estimate(
                    &self.surrogate,
                    d,
                    &crate::design::config_of(d),
                    &self.name,
                    None,
                )
            })
            .collect();
        if let Some((bytes, engine)) = &mut self.fixed {
            fixed_point_reports(&mut reports, ds, bytes, engine, None)?;
        }
        self.calls += ds.len();
        self.seconds += t.elapsed().as_secs_f64();
        Ok(reports)
    }

    /// What answers, as reports name it.
    pub fn describe(&self) -> String {
        match &self.fixed {
            None => format!("host float surrogate ({})", self.name),
            Some((_, FixedEngine::Host)) => "host fixed-point model (what a board computes)".into(),
            Some((_, FixedEngine::Board(c))) => format!("board {}", c.port()),
        }
    }

    /// Which model answers: the fixed-point model's own id (16 hex digits;
    /// a board holds the same model) or, for the float surrogate,
    /// `float-` and the CRC-64/XZ of its JSON. Two estimators with the same
    /// id give the same estimates, so a resumed exploration checks it.
    pub fn model_id(&self) -> String {
        match &self.fixed {
            Some((bytes, _)) => zest_fixed::model::FixedModel::id_of(bytes)
                .map_or_else(|_| "fixed-unknown".into(), |id| format!("{id:016x}")),
            None => format!(
                "float-{}",
                crate::explore::crc64(&serde_json::to_vec(&self.surrogate).unwrap_or_default())
            ),
        }
    }

    /// Estimates made so far and the seconds they took.
    pub fn usage(&self) -> (usize, f64) {
        (self.calls, self.seconds)
    }
}

//! A user's own records: JSON Lines, one [`Design`] per line, as written by
//! `zest ingest`. A malformed line is reported with its line number and
//! skipped; the lines around it load.

use std::path::Path;

use super::{LoadReport, Outcome, Skip, SkipReason};
use crate::design::Design;

/// Data set name of user records.
pub const DATASET: &str = "user";

/// Loads `path` into `report`.
pub fn load(path: &Path, report: &mut LoadReport) {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return report.file_outcome(DATASET, &file, "file".into(), Err(e.to_string()));
        }
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let outcome = serde_json::from_str::<Design>(line)
            .map_err(|e| e.to_string())
            .map(|mut d| {
                d.provenance.dataset = DATASET.into();
                d.provenance.position = format!("line {}", i + 1);
                if d.layers.is_empty() {
                    Outcome::Unusable(Skip::because(SkipReason::NoLayers))
                } else if d.targets.to_array().iter().all(|v| !v.is_finite()) {
                    Outcome::Failed
                } else {
                    Outcome::Design(Box::new(d))
                }
            });
        report.file_outcome(DATASET, &file, format!("line {}", i + 1), outcome);
    }
}

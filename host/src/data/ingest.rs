//! `zest ingest`: a user's own synthesis run (the network it was built from,
//! the hls4ml options, and the reports HLS and Vivado wrote) as a training
//! record, appended to a JSON Lines file that `zest train --records` and
//! `zest eval --records` read back ([`crate::data::ingested`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::design::HlsConfig;
use crate::design::{Design, Provenance};
use crate::input::reports::{merge, read_report, ReportError};
use crate::input::{design_from_file, InputError, Overrides};

/// Why a run could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The network could not be read.
    #[error(transparent)]
    Network(#[from] InputError),
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// No report was given.
    #[error(
        "no report given: pass myproject_csynth.xml, myproject_csynth.rpt and/or vivado_synth.rpt"
    )]
    NoReport,
    /// A project directory with no synthesis report under it.
    #[error("{}: no synthesis report under it (run C synthesis first: hls_model.build(csim=False))", .0.display())]
    ProjectNotSynthesised(PathBuf),
    /// Neither the reports nor the user name the part.
    #[error("the reports name no part: pass --part (e.g. xc7z020clg400-1)")]
    NoPart,
    /// The records file could not be written.
    #[error("{}: cannot append to it", path.display())]
    Write {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Builds the record of one run: hls4ml's defaults, then the part and
/// clock the reports name, then `over` (what the user says the run used).
pub fn record(
    network: &Path,
    over: &Overrides,
    report_paths: &[PathBuf],
) -> Result<Design, IngestError> {
    if report_paths.is_empty() {
        return Err(IngestError::NoReport);
    }
    let reports = report_paths
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut base = HlsConfig {
        // Never a guess: the reports or the user name the part.
        part: String::new(),
        ..HlsConfig::default()
    };
    if let Some(part) = reports.iter().find_map(|r| r.part.clone()) {
        base.part = part;
    }
    if let Some(clock) = reports.iter().find_map(|r| r.clock_ns) {
        base.clock_ns = clock;
    }
    let cfg = over.over(&base)?;
    if cfg.part.is_empty() {
        return Err(IngestError::NoPart);
    }
    let mut d = design_from_file(network, &cfg)?;
    let (targets, kind) = merge(&reports);
    d.targets = targets;
    d.report = kind;
    d.tool = reports.iter().find_map(|r| r.tool.clone());
    d.id = format!(
        "{}-rf{}-{:?}-{:?}",
        d.id, cfg.reuse_factor, cfg.strategy, cfg.io_type
    )
    .to_lowercase();
    d.provenance = Provenance {
        dataset: "user".into(),
        file: report_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        position: String::new(),
    };
    Ok(d)
}

/// Builds the record of an hls4ml project directory: its firmware, its
/// configuration and its reports ([`crate::input::project`]). A project
/// carries its own configuration, so `over` must be empty; a project
/// without a report, or a stale one, is refused.
pub fn project(dir: &Path, over: &Overrides) -> Result<Design, IngestError> {
    if !over.is_empty() {
        return Err(InputError::OverridesOnProject {
            path: dir.to_path_buf(),
        }
        .into());
    }
    let p = crate::input::project::read(dir).map_err(InputError::from)?;
    if p.reports.is_empty() {
        return Err(IngestError::ProjectNotSynthesised(dir.to_path_buf()));
    }
    let mut d = p.design;
    d.provenance.file = p
        .reports
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(d)
}

/// Appends `design` as one JSON line to `path` (created if missing).
pub fn append(path: &Path, design: &Design) -> Result<(), IngestError> {
    let err = |source| IngestError::Write {
        path: path.to_path_buf(),
        source,
    };
    let line = serde_json::to_string(design)
        .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    writeln!(f, "{line}").map_err(err)
}

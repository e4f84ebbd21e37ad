//! `zest ingest`: a user's own synthesis run (the network it was built from,
//! the hls4ml options, and the reports HLS and Vivado wrote) as a training
//! record, appended to a JSON Lines file that `zest train --records` and
//! `zest eval --records` read back ([`crate::data::user`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::design::{Design, Provenance, ReportKind, Targets};
use crate::estimate::{design_from_file, EstimateError, HlsConfig};
use crate::reports::{read_report, ReportError, SynthReport};

/// Why a run could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The network could not be read.
    #[error(transparent)]
    Network(#[from] EstimateError),
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// No report was given.
    #[error(
        "no report given: pass myproject_csynth.xml, myproject_csynth.rpt and/or vivado_synth.rpt"
    )]
    NoReport,
    /// The records file could not be written.
    #[error("{path}: {source}")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Merges reports into one set of targets: C-synthesis gives latency and
/// II and, first, the resources (most training records are C-synthesis
/// estimates); a Vivado utilization report fills the resources only when no
/// C-synthesis report is given.
pub fn merge(reports: &[SynthReport]) -> (Targets, ReportKind) {
    let mut t = Targets::UNKNOWN;
    let csynth = reports.iter().find(|r| r.kind == ReportKind::Csynth);
    let vivado = reports.iter().find(|r| r.kind == ReportKind::VivadoSynth);
    if let Some(c) = csynth {
        t = c.targets;
    }
    let kind = match (csynth, vivado) {
        (None, Some(v)) => {
            t.lut = v.targets.lut;
            t.ff = v.targets.ff;
            t.dsp = v.targets.dsp;
            t.bram18 = v.targets.bram18;
            ReportKind::VivadoSynth
        }
        _ => ReportKind::Csynth,
    };
    (t, kind)
}

/// Builds the record of one run. `part` and `clock_ns` of `cfg` are taken
/// from the reports when `from_reports` is set.
pub fn record(
    network: &Path,
    cfg: &HlsConfig,
    report_paths: &[PathBuf],
    from_reports: bool,
) -> Result<Design, IngestError> {
    if report_paths.is_empty() {
        return Err(IngestError::NoReport);
    }
    let reports = report_paths
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cfg = cfg.clone();
    if from_reports {
        if let Some(part) = reports.iter().find_map(|r| r.part.clone()) {
            cfg.part = part;
        }
        if let Some(clock) = reports.iter().find_map(|r| r.clock_ns) {
            cfg.clock_ns = clock;
        }
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

/// Appends `design` as one JSON line to `path` (created if missing).
pub fn append(path: &Path, design: &Design) -> Result<(), IngestError> {
    let err = |source| IngestError::Write {
        path: path.display().to_string(),
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

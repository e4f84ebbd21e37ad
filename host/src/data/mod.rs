//! Loading real hls4ml synthesis records into [`Design`]s.
//!
//! One module per source format found in the data directory (see its
//! README): the wa-hls4ml CSVs ([`wa_hls4ml_csv`]), the Zynq-7000 MLP projects
//! ([`zynq_mlps`]), the VU9P CNN runs with their Keras models ([`vu9p_cnns`]),
//! the PYNQ-Z2 jet tagger ([`pynqz2_jet_tagger`]), hls4ml's regression baselines
//! ([`hls4ml_baselines`]) and whole hls4ml projects ([`hls4ml_projects`]). Every loader streams its file record by record: a
//! malformed record is reported with its file and position, counted and
//! skipped; a failed synthesis is counted and excluded; a record that is
//! well-formed but cannot become a design (its architecture is not in the
//! record) is counted with the reason. Nothing is dropped silently, and one
//! bad record never stops the others from loading.

pub mod hls4ml_baselines;
pub mod hls4ml_projects;
pub mod ingest;
pub mod ingested;
pub mod json_stream;
pub mod pynqz2_jet_tagger;
pub mod vu9p_cnns;
pub mod wa_hls4ml_csv;
pub mod wa_release;
pub mod zynq_mlps;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::design::Design;

/// A record that was reported and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// File, relative to the data root.
    pub file: String,
    /// Where in the file: `line N`, `record N`, or `line N column M`.
    pub position: String,
    /// What is wrong.
    pub message: String,
    /// For a skipped record, the reason alone (what reports group by).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<SkipReason>,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.position, self.message)
    }
}

/// Counts for one data set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatasetCounts {
    /// Designs loaded.
    pub loaded: usize,
    /// Records of failed syntheses (excluded).
    pub failed_synthesis: usize,
    /// Malformed records (reported, skipped).
    pub malformed: usize,
    /// Well-formed records that cannot become a design (reported, skipped).
    pub unusable: usize,
}

/// Everything a load produced.
#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    /// The designs.
    pub designs: Vec<Design>,
    /// Malformed records, each reported with its position.
    pub malformed: Vec<Issue>,
    /// Well-formed records skipped, with the reason.
    pub unusable: Vec<Issue>,
    /// Counts per data set.
    pub counts: BTreeMap<String, DatasetCounts>,
}

pub use crate::input::record::{Outcome, Skip, SkipReason};

impl LoadReport {
    /// Files one record's outcome (an `Err` is a malformed record).
    pub fn file_outcome(
        &mut self,
        dataset: &str,
        file: &str,
        position: String,
        outcome: Result<Outcome, String>,
    ) {
        match outcome {
            Ok(Outcome::Design(d)) => self.design(*d),
            Ok(Outcome::Failed) => self.failed(dataset),
            Ok(Outcome::Unusable(skip)) => self.unusable(dataset, file, position, skip),
            Err(message) => self.malformed(
                dataset,
                Issue {
                    file: file.to_string(),
                    position,
                    message,
                    reason: None,
                },
            ),
        }
    }

    fn counts(&mut self, dataset: &str) -> &mut DatasetCounts {
        self.counts.entry(dataset.to_string()).or_default()
    }

    /// Adds a loaded design.
    pub fn design(&mut self, d: Design) {
        let dataset = d.provenance.dataset.clone();
        self.counts(&dataset).loaded += 1;
        self.designs.push(d);
    }

    /// Counts a failed synthesis.
    pub fn failed(&mut self, dataset: &str) {
        self.counts(dataset).failed_synthesis += 1;
    }

    /// Reports a malformed record.
    pub fn malformed(&mut self, dataset: &str, issue: Issue) {
        self.counts(dataset).malformed += 1;
        self.malformed.push(issue);
    }

    /// Reports a record that cannot become a design.
    pub fn unusable(&mut self, dataset: &str, file: &str, position: String, skip: Skip) {
        self.counts(dataset).unusable += 1;
        self.unusable.push(Issue {
            file: file.to_string(),
            position,
            message: skip.to_string(),
            reason: Some(skip.reason),
        });
    }

    /// Total records seen.
    pub fn total(&self) -> usize {
        self.counts
            .values()
            .map(|c| c.loaded + c.failed_synthesis + c.malformed + c.unusable)
            .sum()
    }
}

/// Errors that stop a load altogether (everything else is an [`Issue`]).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data root does not exist.
    #[error("no synthesis records at {0}: set ZEST_DATA or pass --data (the records live in ../shared/data in the zest workspace)")]
    NoData(PathBuf),
}

/// The data root: `$ZEST_DATA`, else `../shared/data` from the current
/// directory or from the workspace.
pub fn default_root() -> PathBuf {
    if let Some(p) = std::env::var_os("ZEST_DATA") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from("../shared/data");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// Streams the records of a `{"records": [...]}` file at `root/dataset/name`
/// (if it exists) through `convert(index, record, file)`.
pub fn load_json_records(
    root: &Path,
    dataset: &str,
    name: &str,
    report: &mut LoadReport,
    progress: &mut dyn FnMut(&str),
    mut convert: impl FnMut(usize, &serde_json::Value, &str) -> Result<Outcome, String>,
) {
    let path = root.join(dataset).join(name);
    if !path.is_file() {
        return;
    }
    let file = rel(root, &path);
    progress(&file);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return report.file_outcome(dataset, &file, "file".into(), Err(e.to_string())),
    };
    for item in json_stream::records(&bytes, Some("records")) {
        match item {
            json_stream::Item::Record { index, value } => {
                let outcome = convert(index, &value, &file);
                report.file_outcome(dataset, &file, format!("record {index}"), outcome);
            }
            json_stream::Item::Broken {
                line,
                column,
                message,
            } => report.file_outcome(
                dataset,
                &file,
                format!("line {line} column {column}"),
                Err(message),
            ),
        }
    }
}

/// Path of `file` relative to `root`, for messages.
pub fn rel(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Loads every known data set under `root`. `progress(file)` is called as
/// each file starts.
pub fn load_all(root: &Path, mut progress: impl FnMut(&str)) -> Result<LoadReport, DataError> {
    if !root.is_dir() {
        return Err(DataError::NoData(root.to_path_buf()));
    }
    let mut report = LoadReport::default();
    wa_hls4ml_csv::load(root, &mut report, &mut progress);
    wa_release::load(root, &mut report, &mut progress);
    zynq_mlps::load(root, &mut report, &mut progress);
    vu9p_cnns::load(root, &mut report, &mut progress);
    pynqz2_jet_tagger::load(root, &mut report, &mut progress);
    hls4ml_baselines::load(root, &mut report, &mut progress);
    hls4ml_projects::load(root, &mut report, &mut progress);
    Ok(report)
}

/// [`load_all`], plus the user's own record files (`zest ingest` output).
pub fn load_with_records(
    root: &Path,
    records: &[PathBuf],
    mut progress: impl FnMut(&str),
) -> Result<LoadReport, DataError> {
    let mut report = load_all(root, &mut progress)?;
    for r in records {
        progress(&r.display().to_string());
        ingested::load(r, &mut report);
    }
    Ok(report)
}

/// A design of `layers` (io_parallel, xc7z020clg400-1, 5 ns, unknown
/// targets) for generated workloads: `zest bench` and tests.
pub fn synthetic_design(id: &str, layers: Vec<crate::design::Layer>, resource: bool) -> Design {
    use crate::design::{IoType, Precision, Provenance, ReportKind, Strategy, Targets};
    Design {
        id: id.to_string(),
        group: id.to_string(),
        layers,
        strategy: if resource {
            Strategy::Resource
        } else {
            Strategy::Latency
        },
        io_type: IoType::IoParallel,
        part: "xc7z020clg400-1".into(),
        clock_ns: 5.0,
        tool: None,
        multiplier_impl: None,
        input: Precision::DEFAULT,
        realistic: false,
        report: ReportKind::Csynth,
        targets: Targets::UNKNOWN,
        per_layer: None,
        provenance: Provenance {
            dataset: "synthetic".into(),
            file: String::new(),
            position: String::new(),
        },
    }
}

/// A Dense chain `widths[0] → … → widths[n]` with `hidden` after every
/// layer but the last and `output` after the last (hls4ml's layer list:
/// activations as layers of their own), all at `precision`.
pub fn mlp(
    widths: &[u32],
    weight: crate::design::Precision,
    rf: u32,
    hidden: crate::design::Activation,
    output: crate::design::Activation,
) -> Vec<crate::design::Layer> {
    use crate::design::{Activation, LayerKind};
    let mut layers = Vec::new();
    let n = widths.len().saturating_sub(1);
    for (i, w) in widths.windows(2).enumerate() {
        layers.push(wa_hls4ml_csv::dense(
            &format!("dense_{i}"),
            w[0],
            w[1],
            weight,
            rf,
        ));
        let act = if i + 1 == n { output } else { hidden };
        if act != Activation::Linear {
            let mut a = wa_hls4ml_csv::dense(&format!("act_{i}"), w[1], w[1], weight, 1);
            a.kind = LayerKind::Activation;
            a.activation = act;
            a.weight = None;
            a.accum = None;
            layers.push(a);
        }
    }
    layers
}

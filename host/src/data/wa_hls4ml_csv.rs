//! wa-hls4ml CSV records: the single-Dense sweep (`wa-hls4ml-search-dense1/`)
//! and the flattened 2-/3-layer Dense and Conv2D records, the 3-layer ones
//! from two overlapping samples read once each by artifact name
//! (`jdweitz-wa-hls4ml-csv/`).
//!
//! Facts taken from the data README: part xcu250-figd2104-2L-e; io_parallel
//! for Dense; `prec` is the QKeras weight width (quantized_bits(prec, 0),
//! which hls4ml types as `ap_fixed<prec,1>`); other types at hls4ml's
//! default `ap_fixed<16,6>`. In the jdweitz files the resource columns are
//! Vivado logic synthesis and `IntervalMax_hls` is a copy of the latency, so
//! their II is unknown (NaN). The Conv2D records' `model_string` does not
//! give kernel sizes or strides, so they cannot become designs.

use std::collections::HashMap;
use std::path::Path;

use crate::design::{
    Activation, Design, IoType, Layer, LayerKind, Precision, Provenance, ReportKind, Strategy,
    Targets,
};

use super::{rel, Issue, LoadReport, Outcome, Skip, SkipReason};

const U250: &str = "xcu250-figd2104-2L-e";

/// One Dense layer `n_in → n_out`.
pub fn dense(name: &str, n_in: u32, n_out: u32, weight: Precision, rf: u32) -> Layer {
    Layer {
        name: name.to_string(),
        kind: LayerKind::Dense,
        activation: Activation::Linear,
        input_shape: vec![n_in],
        output_shape: vec![n_out],
        weight: Some(weight),
        result: Some(Precision::DEFAULT),
        accum: Some(Precision::DEFAULT),
        reuse_factor: rf.max(1),
        filters: None,
        kernel: None,
        stride: None,
        zero_weights: None,
    }
}

struct Row<'a> {
    fields: HashMap<&'a str, &'a str>,
}

impl Row<'_> {
    fn get(&self, k: &str) -> Result<&str, String> {
        self.fields
            .get(k)
            .copied()
            .ok_or_else(|| format!("column {k} missing"))
    }

    fn num(&self, k: &str) -> Result<f64, String> {
        let v = self.get(k)?;
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("column {k}: {v:?} is not a number"))
    }

    fn int(&self, k: &str) -> Result<u32, String> {
        let v = self.num(k)?;
        if v.fract() != 0.0 || !(0.0..=1e9).contains(&v) {
            return Err(format!("column {k}: {v} is not a count"));
        }
        Ok(v as u32)
    }

    fn success(&self) -> bool {
        self.get("hls_synth_success")
            .map(|s| s.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(false)
    }
}

enum Kind {
    Dense1,
    MultiDense,
    Conv2d,
}

fn targets(row: &Row<'_>, with_ii: bool) -> Result<Targets, String> {
    Ok(Targets {
        lut: row.num("LUT_hls")?,
        ff: row.num("FF_hls")?,
        dsp: row.num("DSP_hls")?,
        bram18: row.num("BRAM_18K_hls")?,
        latency_cycles: row.num("WorstLatency_hls")?,
        ii: if with_ii {
            row.num("IntervalMax_hls")?
        } else {
            f64::NAN
        },
    })
}

/// The runs read so far, by their artifact name (`model_file`), with
/// where each was read: the jdweitz samples overlap (the first 40 rows of
/// the 3-layer file are in the larger sample too), and one run must count
/// once.
type Seen = HashMap<String, String>;

fn row_to_design(
    kind: &Kind,
    row: &Row<'_>,
    dataset: &str,
    file: &str,
    line: u64,
    seen: &mut Seen,
) -> Result<Outcome, String> {
    if let Kind::Conv2d = kind {
        return Ok(Outcome::Unusable(Skip::because(
            SkipReason::Conv2dShapesMissing,
        )));
    }
    if !row.success() {
        return Ok(Outcome::Failed);
    }
    // In the multi-layer files `model_file` names one run's artifacts; in
    // the single-Dense sweep it names the model, shared by its runs.
    if let (Kind::MultiDense, Ok(artifact)) = (kind, row.get("model_file")) {
        let here = format!("{file} line {line}");
        if let Some(first) = seen.get(artifact) {
            return Ok(Outcome::Unusable(Skip::of(
                format!("{artifact} (first read at {first})"),
                SkipReason::Duplicate,
            )));
        }
        seen.insert(artifact.to_string(), here);
    }
    let prec = row.int("prec")?;
    let rf = row.int("rf")?;
    let strategy: Strategy = row.get("strategy")?.parse()?;
    let weight = Precision {
        width: u16::try_from(prec).map_err(|_| "prec too large".to_string())?,
        integer: 1,
        signed: true,
    };
    let (layers, group, with_ii, report) = match kind {
        Kind::Dense1 => {
            let (d_in, d_out) = (row.int("d_in")?, row.int("d_out")?);
            (
                vec![dense("dense", d_in, d_out, weight, rf)],
                format!("dense:{d_in}-{d_out}"),
                true,
                ReportKind::Csynth,
            )
        }
        _ => {
            let widths: Vec<u32> = row
                .get("model_string")?
                .split('-')
                .map(|w| {
                    w.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("model_string: {w:?} is not a width"))
                })
                .collect::<Result<_, _>>()?;
            if widths.len() < 2 {
                return Err("model_string needs at least two widths".into());
            }
            let layers = widths
                .windows(2)
                .enumerate()
                .map(|(i, w)| dense(&format!("dense_{i}"), w[0], w[1], weight, rf))
                .collect();
            let arch = widths
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("-");
            (
                layers,
                format!("dense:{arch}"),
                false,
                ReportKind::VivadoSynth,
            )
        }
    };
    let targets = match targets(row, with_ii) {
        Ok(t) => t,
        // Success flag set but results missing: count as a failed synthesis.
        Err(_) => return Ok(Outcome::Failed),
    };
    let model = row
        .get("model_name")?
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    Ok(Outcome::Design(Box::new(Design {
        id: format!("{model}-rf{rf}-{strategy:?}-L{line}").to_lowercase(),
        group,
        layers,
        strategy,
        io_type: IoType::IoParallel,
        part: U250.into(),
        clock_ns: row.num("TargetClockPeriod_hls").unwrap_or(5.0),
        tool: Some(match kind {
            Kind::Dense1 => "Vivado HLS 2020.1 (hls4ml 0.8.1)".into(),
            _ => "Vivado/Vitis 2023.2".into(),
        }),
        multiplier_impl: None,
        input: Precision::DEFAULT,
        realistic: false,
        report,
        targets,
        per_layer: None,
        provenance: Provenance {
            dataset: dataset.into(),
            file: file.into(),
            position: format!("line {line}"),
        },
    })))
}

fn load_file(root: &Path, path: &Path, kind: Kind, report: &mut LoadReport, seen: &mut Seen) {
    let dataset = path
        .parent()
        .and_then(Path::file_name)
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = rel(root, path);
    let issue = |position: String, message: String| Issue {
        file: file.clone(),
        position,
        message,
        reason: None,
    };
    let mut reader = match csv::ReaderBuilder::new().flexible(false).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            report.malformed(&dataset, issue("file".into(), e.to_string()));
            return;
        }
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report.malformed(&dataset, issue("line 1".into(), format!("header: {e}")));
            return;
        }
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let row = Row {
                    fields: headers.iter().zip(record.iter()).collect(),
                };
                let outcome = row_to_design(&kind, &row, &dataset, &file, line, seen);
                report.file_outcome(&dataset, &file, format!("line {line}"), outcome);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.malformed(&dataset, issue(format!("line {line}"), e.to_string()));
                // A short/long row is skipped; an I/O error ends the file.
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    break;
                }
            }
        }
    }
}

/// Loads the wa-hls4ml CSVs found under `root`.
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let files = [
        ("wa-hls4ml-search-dense1/results_latency.csv", Kind::Dense1),
        ("wa-hls4ml-search-dense1/results_resource.csv", Kind::Dense1),
        (
            "jdweitz-wa-hls4ml-csv/2layer_sample_first40.csv",
            Kind::MultiDense,
        ),
        (
            "jdweitz-wa-hls4ml-csv/3layer_sample_first40.csv",
            Kind::MultiDense,
        ),
        (
            "jdweitz-wa-hls4ml-csv/concatenated_3layer_json_to_csv.sample.csv",
            Kind::MultiDense,
        ),
        ("jdweitz-wa-hls4ml-csv/conv2d_complete.csv", Kind::Conv2d),
    ];
    let mut seen = Seen::new();
    for (f, kind) in files {
        let path = root.join(f);
        if path.is_file() {
            progress(f);
            load_file(root, &path, kind, report, &mut seen);
        }
    }
}

/// Loads one CSV in either wa-hls4ml layout, chosen by its columns: with
/// `model_string` it is read as multi-layer Dense records, else as single
/// Dense records (the layout `zest ingest` accepts for a user's sweep).
pub fn load_csv(root: &Path, path: &Path, report: &mut LoadReport) {
    let multi = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.lines().next().map(|h| h.contains("model_string")))
        .unwrap_or(false);
    load_file(
        root,
        path,
        if multi {
            Kind::MultiDense
        } else {
            Kind::Dense1
        },
        report,
        &mut Seen::new(),
    );
}

//! The hls4ml-tutorial jet tagger on the PYNQ-Z2 (`pynqz2-jet-tagger/`):
//! Dense 16→64→32→32→5, ReLU, softmax. Record `a` is the tutorial's float
//! model at hls4ml's default `ap_fixed<16,6>` on a U250; record `b` the
//! 6-bit QKeras, ~75 % pruned model in io_stream on the xc7z020 (the inner
//! `myproject` core). Both use the tutorial's RF 1 and Latency strategy.
//! Records `c` (AXI wrapper) and `d` (placed block design) measure more
//! than the hls4ml core and are skipped with that reason.

use std::path::Path;

use serde_json::Value;

use crate::design::{
    Activation, Design, IoType, Precision, Provenance, ReportKind, Strategy, Targets,
};

use super::json_stream::{records, Item};
use super::{mlp, rel, Issue, LoadReport};

const DATASET: &str = "pynqz2-jet-tagger";
const WIDTHS: [u32; 5] = [16, 64, 32, 32, 5];

fn num(v: &Value, k: &str) -> Result<f64, String> {
    v.get(k)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{k} missing or not a number"))
}

enum Outcome {
    Design(Box<Design>),
    Unusable(String),
}

fn record(v: &Value, file: &str, index: usize) -> Result<Outcome, String> {
    let id = v.get("id").and_then(Value::as_str).ok_or("id missing")?;
    let (weight, io_type) = match id.chars().next() {
        Some('a') => (Precision::DEFAULT, IoType::IoParallel),
        Some('b') if id.ends_with("_core") => (
            Precision {
                width: 6,
                integer: 1,
                signed: true,
            },
            IoType::IoStream,
        ),
        _ => {
            return Ok(Outcome::Unusable(format!(
                "{id}: measures the AXI wrapper or the placed block design, not the hls4ml core"
            )))
        }
    };
    let targets = Targets {
        lut: num(v, "lut")?,
        ff: num(v, "ff")?,
        dsp: num(v, "dsp")?,
        bram18: num(v, "bram_18k")?,
        latency_cycles: num(v, "latency_cycles")?,
        ii: num(v, "interval_cycles")?,
    };
    let mut layers = mlp(&WIDTHS, weight, 1, Activation::Relu, Activation::Softmax);
    if id.starts_with('b') {
        // ~75 % of the weights pruned (tutorial part 4).
        for l in layers.iter_mut().filter(|l| l.kind.has_weights()) {
            l.zero_weights = Some((l.n_in() * l.n_out() * 3 / 4) as u32);
        }
    }
    Ok(Outcome::Design(Box::new(Design {
        id: id.to_string(),
        group: "jet-tagger:16-64-32-32-5".into(),
        layers,
        strategy: Strategy::Latency,
        io_type,
        part: v
            .get("part")
            .and_then(Value::as_str)
            .ok_or("part missing")?
            .to_string(),
        clock_ns: num(v, "target_clock_ns")?,
        tool: Some("Vivado HLS 2019.2 (hls4ml 1.2.0)".into()),
        multiplier_impl: None,
        input: Precision::DEFAULT,
        realistic: true,
        report: ReportKind::Csynth,
        targets,
        per_layer: None,
        provenance: Provenance {
            dataset: DATASET.into(),
            file: file.into(),
            position: format!("record {index}"),
        },
    })))
}

/// Loads `pynqz2-jet-tagger/records.json`.
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let path = root.join(DATASET).join("records.json");
    if !path.is_file() {
        return;
    }
    let file = rel(root, &path);
    progress(&file);
    let issue = |position: String, message: String| Issue {
        file: file.clone(),
        position,
        message,
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return report.malformed(DATASET, issue("file".into(), e.to_string())),
    };
    for item in records(&bytes, Some("records")) {
        match item {
            Item::Record { index, value } => match record(&value, &file, index) {
                Ok(Outcome::Design(d)) => report.design(*d),
                Ok(Outcome::Unusable(why)) => {
                    report.unusable(DATASET, issue(format!("record {index}"), why))
                }
                Err(why) => report.malformed(DATASET, issue(format!("record {index}"), why)),
            },
            Item::Broken {
                line,
                column,
                message,
            } => report.malformed(
                DATASET,
                issue(format!("line {line} column {column}"), message),
            ),
        }
    }
}

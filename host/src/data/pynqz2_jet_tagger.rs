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

use super::json_stream::num;
use super::{load_json_records, mlp, LoadReport, Outcome, Skip, SkipReason};

const DATASET: &str = "pynqz2-jet-tagger";
const WIDTHS: [u32; 5] = [16, 64, 32, 32, 5];

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
        _ => return Ok(Outcome::Unusable(Skip::of(id, SkipReason::NotTheHlsCore))),
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
    load_json_records(
        root,
        DATASET,
        "records.json",
        report,
        progress,
        |index, value, file| record(value, file, index),
    );
}

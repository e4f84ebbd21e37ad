//! Small image CNNs on a VU9P (`kebl-cnn-vu9p/`): HLS reports of io_stream
//! designs, with the Keras architecture of each model in `keras_models/`.
//! The reuse factor is only in the report's file name (`…_rf4_…`); runs
//! whose names carry none (`resource_10k`, `tclk_10k`, `phil`) are skipped
//! with that reason. Precision is hls4ml's default `ap_fixed<16,6>`;
//! strategy hls4ml's default, Latency, except for `resource` runs.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::design::{Design, IoType, Layer, Precision, Provenance, ReportKind, Strategy, Targets};
use crate::input::keras::parse_keras;

use super::json_stream::num;
use super::{load_json_records, LoadReport, Outcome, Skip, SkipReason};

const DATASET: &str = "kebl-cnn-vu9p";

/// `rfN` in a report file name.
fn reuse_factor(report: &str) -> Option<u32> {
    let name = report.rsplit('/').next()?;
    name.split(['_', '.'])
        .find_map(|part| part.strip_prefix("rf").and_then(|n| n.parse().ok()))
}

fn record(
    v: &Value,
    models: &mut HashMap<String, Result<Vec<Layer>, String>>,
    root: &Path,
    file: &str,
    index: usize,
) -> Result<Outcome, String> {
    let run = v.get("run").and_then(Value::as_str).ok_or("run missing")?;
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model missing")?;
    let hls_report = v
        .get("hls_report")
        .and_then(Value::as_str)
        .ok_or("hls_report missing")?;
    let (strategy, rf) = if run.contains("latency") && !run.starts_with("latency_analysis") {
        (Strategy::Latency, 1)
    } else {
        match reuse_factor(hls_report) {
            Some(rf) => (Strategy::Latency, rf),
            None => {
                return Ok(Outcome::Unusable(Skip::of(
                    run.to_string(),
                    SkipReason::ReuseFactorMissing,
                )))
            }
        }
    };
    let layers = models
        .entry(model.to_string())
        .or_insert_with(|| {
            let path = root
                .join(DATASET)
                .join("keras_models")
                .join(format!("{model}_model.json"));
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse_keras(&text).map_err(|e| format!("{}: {e}", path.display()))
        })
        .clone()?;
    let layers: Vec<Layer> = layers
        .into_iter()
        .map(|mut l| {
            if l.kind.has_weights() {
                l.weight = Some(Precision::DEFAULT);
                l.accum = Some(Precision::DEFAULT);
                l.reuse_factor = rf;
            }
            l.result = Some(Precision::DEFAULT);
            l
        })
        .collect();
    let c = v.get("hls_csynth").ok_or("hls_csynth missing")?;
    Ok(Outcome::Design(Box::new(Design {
        id: run.replace('/', ":"),
        group: format!("kebl:{model}"),
        layers,
        strategy,
        io_type: IoType::IoStream,
        part: c
            .get("part")
            .and_then(Value::as_str)
            .ok_or("part missing")?
            .to_string(),
        clock_ns: num(c, "target_clock_ns")?,
        tool: c
            .get("hls_version")
            .and_then(Value::as_str)
            .map(|v| format!("Vivado HLS {v}")),
        multiplier_impl: None,
        input: Precision::DEFAULT,
        realistic: false,
        report: ReportKind::Csynth,
        targets: Targets {
            lut: num(c, "lut")?,
            ff: num(c, "ff")?,
            dsp: num(c, "dsp")?,
            bram18: num(c, "bram_18k")?,
            latency_cycles: num(c, "latency_max")?,
            ii: num(c, "interval_max")?,
        },
        per_layer: None,
        provenance: Provenance {
            dataset: DATASET.into(),
            file: file.into(),
            position: format!("record {index}"),
        },
    })))
}

/// Loads `kebl-cnn-vu9p/records.json` with its Keras models.
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let mut models = HashMap::new();
    load_json_records(
        root,
        DATASET,
        "records.json",
        report,
        progress,
        |index, value, file| record(value, &mut models, root, file, index),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn reuse_factor_from_report_name() {
        assert_eq!(
            super::reuse_factor("latency_analysis/core/model16/csynth/model16_rf4_core.rpt"),
            Some(4)
        );
        assert_eq!(super::reuse_factor("x/model8_phil_csynth.rpt"), None);
    }
}

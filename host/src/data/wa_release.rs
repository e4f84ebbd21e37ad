//! The wa-hls4ml release format (Hugging Face `fastmachinelearning/wa-hls4ml`,
//! ~680k records): `train/ val/ test/ exemplar/` folders of JSON files,
//! each a list of records (or one record) like
//!
//! ```json
//! {"model_config": [{"class_name": "QDense", "name": "dense", "units": 64,
//!                    "input_shape": [null, 16], "output_shape": [null, 64], ...}, ...],
//!  "hls_config": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 4,
//!                 "Strategy": "Resource"}, "LayerName": {...}, "io_type": "io_parallel"},
//!  "latency_report": {"cycles_max": 130, "interval_max": 128, ...},
//!  "hls_resource_report": {"lut": "5133", "ff": "1870", "dsp": "8", "bram": "4"},
//!  "resource_report": {...}}
//! ```
//!
//! The format is as wa-hls4ml's own converter reads it
//! (`dataset/Dataset_to_csvs6_with_ii.py`, described in
//! `peer-metrics/wa_hls4ml_feature_schema.json`): targets are the HLS
//! C-synthesis estimates (`hls_resource_report`, not Vivado's
//! `resource_report`), worst-case latency and II from `latency_report`; a
//! record without a resource report failed synthesis. Layers go through the
//! Keras reader; per-layer precision and reuse factor come from
//! `hls_config.LayerName`, as in an hls4ml configuration. The part is the
//! wa-hls4ml generator's default (Alveo U250) unless the record names one.
//! Records under `exemplar/` are the realistic set (held out by `zest eval`).
//!
//! Put the release (or any part of it) under `<data>/wa-hls4ml-release/`.

use std::path::Path;

use serde_json::Value;

use super::{json_stream, rel, LoadReport, Outcome};
use crate::design::{Design, Provenance, ReportKind, Targets};
use crate::estimate::{design_from_layers, HlsConfig};
use crate::hls_config::parse_config;
use crate::keras::parse_keras;

/// Directory under the data root.
pub const DATASET: &str = "wa-hls4ml-release";

const U250: &str = "xcu250-figd2104-2L-e";

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One record → a design (or a failed synthesis).
pub fn record(v: &Value, file: &str, index: usize) -> Result<Outcome, String> {
    let res = v.get("hls_resource_report").and_then(Value::as_object);
    let res = match res {
        Some(r)
            if ["lut", "ff", "dsp", "bram"]
                .iter()
                .any(|k| r.get(*k).and_then(num).is_some()) =>
        {
            r
        }
        _ => return Ok(Outcome::Failed),
    };
    let lat = v.get("latency_report").ok_or("no latency_report")?;
    let get = |k: &str| {
        res.get(k)
            .and_then(num)
            .ok_or(format!("hls_resource_report.{k} missing"))
    };
    let targets = Targets {
        lut: get("lut")?,
        ff: get("ff")?,
        dsp: get("dsp")?,
        bram18: get("bram")?,
        latency_cycles: lat
            .get("cycles_max")
            .and_then(num)
            .ok_or("latency_report.cycles_max missing")?,
        ii: lat.get("interval_max").and_then(num).unwrap_or(f64::NAN),
    };
    let mut d = design(v, file, index)?;
    d.targets = targets;
    Ok(Outcome::Design(Box::new(d)))
}

/// The design a record describes, its targets unknown: layers through the
/// Keras reader, options from `hls_config`. Also for records whose
/// synthesis failed.
pub fn design(v: &Value, file: &str, index: usize) -> Result<Design, String> {
    let layers = v
        .get("model_config")
        .and_then(Value::as_array)
        .ok_or("no model_config list")?;
    // As a Keras Sequential config: the first layer's input shape starts it.
    let first_shape = layers
        .first()
        .and_then(|l| l.get("input_shape"))
        .cloned()
        .ok_or("model_config: first layer has no input_shape")?;
    let mut keras_layers = vec![serde_json::json!({
        "class_name": "InputLayer",
        "config": {"batch_input_shape": first_shape, "name": "input"}
    })];
    keras_layers.extend(layers.iter().filter(|l| l.get("class_name").and_then(Value::as_str) != Some("InputLayer")).map(|l| {
        serde_json::json!({"class_name": l.get("class_name").cloned().unwrap_or(Value::Null), "config": l})
    }));
    let keras = serde_json::json!({"class_name": "Sequential", "config": {"layers": keras_layers}});
    let parsed = parse_keras(&keras.to_string()).map_err(|e| e.to_string())?;
    let hls = v.get("hls_config").cloned().unwrap_or(Value::Null);
    let wrapped = serde_json::json!({
        "HLSConfig": hls,
        "IOType": hls.get("io_type").cloned().or_else(|| hls.get("IOType").cloned()).unwrap_or(Value::Null),
        "Part": v.get("part").or_else(|| hls.get("Part")).cloned().unwrap_or(Value::Null),
        "ClockPeriod": v.get("clock_period").or_else(|| hls.get("ClockPeriod")).cloned().unwrap_or(Value::Null),
    });
    let cfg_file = parse_config(&wrapped.to_string())?;
    let mut base = HlsConfig {
        part: U250.into(),
        ..HlsConfig::default()
    };
    // wa-hls4ml infers io_stream for convolutional models without io_type.
    if cfg_file.io_type.is_none()
        && parsed
            .iter()
            .any(|l| l.kind.has_weights() && l.kind != crate::design::LayerKind::Dense)
    {
        base.io_type = crate::design::IoType::IoStream;
    }
    let cfg = cfg_file.apply(&base)?;
    let mut d: Design = design_from_layers("wa", parsed, &cfg);
    cfg_file.apply_layers(&mut d);
    let split = file.split('/').nth(1).unwrap_or("");
    let signature: Vec<String> = d
        .layers
        .iter()
        .map(|l| format!("{:?}{:?}", l.kind, l.output_shape))
        .collect();
    d.id = format!("{file}#{index}");
    d.group = format!("wa-release:{}", signature.join("-"));
    d.targets = Targets::UNKNOWN;
    d.report = ReportKind::Csynth;
    d.realistic = split == "exemplar";
    d.tool = None;
    d.provenance = Provenance {
        dataset: DATASET.into(),
        file: file.into(),
        position: format!("record {index}"),
    };
    Ok(d)
}

/// Loads every `*.json` under `root/wa-hls4ml-release/` (any depth).
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let dir = root.join(DATASET);
    if !dir.is_dir() {
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    for path in files {
        let file = rel(root, &path);
        progress(&file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                report.file_outcome(DATASET, &file, "file".into(), Err(e.to_string()));
                continue;
            }
        };
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'{') {
            let outcome = serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|v| record(&v, &file, 0));
            report.file_outcome(DATASET, &file, "record 0".into(), outcome);
            continue;
        }
        for item in json_stream::records(&bytes, None) {
            match item {
                json_stream::Item::Record { index, value } => {
                    let outcome = record(&value, &file, index);
                    report.file_outcome(DATASET, &file, format!("record {index}"), outcome);
                }
                json_stream::Item::Broken {
                    line,
                    column,
                    message,
                } => report.file_outcome(
                    DATASET,
                    &file,
                    format!("line {line} column {column}"),
                    Err(message),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record in the release format carrying the numbers of one real run
    /// (`jdweitz-wa-hls4ml-csv/2layer_sample_first40.csv`, row 1:
    /// dense 80→24→120, 6-bit weights, RF 1024, Resource).
    fn sample() -> Value {
        serde_json::json!({
            "model_config": [
                {"class_name": "InputLayer", "name": "input_1", "input_shape": [null, 80], "output_shape": [null, 80]},
                {"class_name": "QDense", "name": "dense", "units": 24, "activation": "linear",
                 "input_shape": [null, 80], "output_shape": [null, 24]},
                {"class_name": "QActivation", "name": "relu1", "activation": "quantized_relu(8)",
                 "input_shape": [null, 24], "output_shape": [null, 24]},
                {"class_name": "QDense", "name": "dense_1", "units": 120, "activation": "linear",
                 "input_shape": [null, 24], "output_shape": [null, 120]}
            ],
            "hls_config": {
                "Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1024, "Strategy": "Resource"},
                "LayerName": {"dense": {"Precision": {"weight": "ap_fixed<6,1>"}, "ReuseFactor": 1024},
                              "dense_1": {"Precision": {"weight": "ap_fixed<6,1>"}, "ReuseFactor": 1024}}
            },
            "latency_report": {"cycles_max": 1925, "interval_max": 1925},
            "hls_resource_report": {"lut": "15596", "ff": "10075", "dsp": "0", "bram": "1"}
        })
    }

    #[test]
    fn a_release_record_becomes_a_design() {
        let Ok(Outcome::Design(d)) = record(
            &sample(),
            "wa-hls4ml-release/test/test_2layer_merged.json",
            3,
        ) else {
            panic!("not a design");
        };
        assert_eq!(d.targets.lut, 15596.0);
        assert_eq!(d.targets.ii, 1925.0);
        assert!(!d.realistic);
        let dense: Vec<_> = d.layers.iter().filter(|l| l.kind.has_weights()).collect();
        assert_eq!(dense.len(), 2);
        assert_eq!(dense[0].reuse_factor, 1024);
        assert_eq!(dense[0].weight.map(|p| p.width), Some(6));
        assert_eq!(dense[1].n_in(), 24);
        assert_eq!(d.strategy, crate::design::Strategy::Resource);
        assert_eq!(d.part, U250);
    }

    #[test]
    fn failed_and_malformed_records_are_told_apart() {
        let mut v = sample();
        v["hls_resource_report"] = serde_json::json!({});
        assert!(matches!(
            record(&v, "x/train/a.json", 0),
            Ok(Outcome::Failed)
        ));
        // The design of a failed run is still readable, with no figures.
        let d = design(&v, "x/train/a.json", 0).expect("design of a failed run");
        assert_eq!(d.layers.iter().filter(|l| l.kind.has_weights()).count(), 2);
        assert!(d.targets.to_array().iter().all(|t| t.is_nan()));
        let mut v = sample();
        v["model_config"] = serde_json::json!("nope");
        assert!(record(&v, "x/train/a.json", 0).is_err());
        let Ok(Outcome::Design(d)) = record(&sample(), "wa-hls4ml-release/exemplar/jet.json", 0)
        else {
            panic!("not a design");
        };
        assert!(d.realistic, "exemplar records are the realistic set");
    }
}

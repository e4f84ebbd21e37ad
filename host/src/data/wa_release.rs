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

use super::{json_stream, rel, LoadReport};

use crate::input::record::wa_release as record;
pub use crate::input::record::WA_RELEASE as DATASET;

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

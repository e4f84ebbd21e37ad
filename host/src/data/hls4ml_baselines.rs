//! hls4ml's own synthesis regression baselines (`hls4ml-test-baselines/`):
//! tiny test models at hls4ml's default configuration (`ap_fixed<16,6>`,
//! RF 1, Latency unless the name says Resource) on the default U250 part.
//! The model comes from the file name, as described in the data README:
//!
//! * `test_dense_*`: Dense(2) on (1,) + ELU;
//! * `test_activations_*-<act>`: Dense(64) on (1,) + the activation;
//! * `test_conv2d_*`: Conv2D, 32 filters 4×4 stride 4, on 28×28×3;
//! * `test_depthwise2d_*`: DepthwiseConv2D 3×3 on 32×32×3;
//! * `test_depthwise1d_*`: DepthwiseConv1D k3 on (32, 3).
//!
//! Skipped with the reason: pooling tests (their pool size changed between
//! hls4ml versions, so the file does not fix the model), oneAPI reports
//! (Intel resources: no LUT/FF/BRAM18 equivalents) and `report_fixtures/`
//! (report-format samples without a model: use `zest ingest`).

use std::path::Path;

use serde_json::Value;

use crate::design::{
    Activation, Design, IoType, Layer, LayerKind, Precision, Provenance, ReportKind, Strategy,
    Targets,
};
use crate::input::keras::parse_keras;

use super::{mlp, rel, Issue, LoadReport, Skip, SkipReason};

const DATASET: &str = "hls4ml-test-baselines";

fn keras_seq(input: &str, layers: &str) -> String {
    format!(
        r#"{{"class_name": "Sequential", "config": {{"layers": [{{"class_name": "InputLayer", "config": {{"batch_input_shape": {input}, "name": "input"}}}}, {layers}]}}}}"#
    )
}

/// The model a baseline file name stands for, with its network group.
fn model_for(name: &str) -> Result<(Vec<Layer>, String), SkipReason> {
    let d = Precision::DEFAULT;
    if name.starts_with("test_keras_api_test_dense_") {
        return Ok((
            mlp(&[1, 2], d, 1, Activation::Linear, Activation::Elu),
            "baseline:dense-elu".into(),
        ));
    }
    if let Some(rest) = name.strip_prefix("test_keras_api_test_activations_") {
        let act = rest.rsplit('-').next().unwrap_or("");
        let a = Activation::from_name(act);
        if a == Activation::Other {
            return Err(SkipReason::UnknownBaseline);
        }
        return Ok((
            mlp(&[1, 64], d, 1, Activation::Linear, a),
            format!("baseline:activations-{act}"),
        ));
    }
    let keras = if name.starts_with("test_keras_api_test_conv2d_") {
        keras_seq(
            "[null, 28, 28, 3]",
            r#"{"class_name": "Conv2D", "config": {"name": "conv", "filters": 32, "kernel_size": [4, 4], "strides": [4, 4], "padding": "same"}}"#,
        )
    } else if name.starts_with("test_keras_api_test_depthwise2d_") {
        keras_seq(
            "[null, 32, 32, 3]",
            r#"{"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": [3, 3]}}"#,
        )
    } else if name.starts_with("test_keras_api_test_depthwise1d_") {
        keras_seq(
            "[null, 32, 3]",
            r#"{"class_name": "DepthwiseConv1D", "config": {"name": "dw", "kernel_size": 3}}"#,
        )
    } else if name.starts_with("test_keras_api_test_pooling") {
        return Err(SkipReason::PoolSizeAmbiguous);
    } else {
        return Err(SkipReason::UnknownBaseline);
    };
    let group = name
        .trim_start_matches("test_keras_api_test_")
        .split('_')
        .next()
        .unwrap_or("")
        .to_string();
    let layers = parse_keras(&keras).map_err(|_| SkipReason::UnknownBaseline)?;
    Ok((layers, format!("baseline:{group}")))
}

fn field(r: &Value, k: &str) -> Result<f64, String> {
    match r.get(k) {
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{k}: {s:?} is not a number")),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("{k} out of range")),
        _ => Err(format!("{k} missing")),
    }
}

fn file_to_design(
    path: &Path,
    file: &str,
    backend: &str,
    version: &str,
) -> Result<Result<Design, SkipReason>, String> {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let (mut layers, group) = match model_for(name) {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("line {} column {}: {e}", e.line(), e.column()))?;
    let r = v
        .get("CSynthesisReport")
        .ok_or("CSynthesisReport missing")?;
    let strategy = if name.contains("-Resource") {
        Strategy::Resource
    } else {
        Strategy::Latency
    };
    let io_type = if name.contains("io_stream") {
        IoType::IoStream
    } else {
        IoType::IoParallel
    };
    for l in layers.iter_mut() {
        l.result = Some(Precision::DEFAULT);
        if l.kind != LayerKind::Activation {
            l.weight = Some(Precision::DEFAULT);
            l.accum = Some(Precision::DEFAULT);
        }
    }
    Ok(Ok(Design {
        id: format!("{backend}-{version}-{name}"),
        group,
        layers,
        strategy,
        io_type,
        part: "xcu250-figd2104-2L-e".into(),
        clock_ns: field(r, "TargetClockPeriod")?,
        tool: Some(format!("{backend} {version}")),
        multiplier_impl: None,
        input: Precision::DEFAULT,
        realistic: false,
        report: ReportKind::Csynth,
        targets: Targets {
            lut: field(r, "LUT")?,
            ff: field(r, "FF")?,
            dsp: field(r, "DSP")?,
            bram18: field(r, "BRAM_18K")?,
            latency_cycles: field(r, "WorstLatency")?,
            ii: field(r, "IntervalMax")?,
        },
        per_layer: None,
        provenance: Provenance {
            dataset: DATASET.into(),
            file: file.into(),
            position: "file".into(),
        },
    }))
}

/// Loads every baseline JSON under `hls4ml-test-baselines/<backend>/<version>/`.
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let base = root.join(DATASET);
    let Ok(backends) = std::fs::read_dir(&base) else {
        return;
    };
    let mut files = Vec::new();
    for b in backends.flatten() {
        let backend = b.file_name().to_string_lossy().into_owned();
        let Ok(versions) = std::fs::read_dir(b.path()) else {
            continue;
        };
        for v in versions.flatten() {
            let version = v.file_name().to_string_lossy().into_owned();
            let Ok(entries) = std::fs::read_dir(v.path()) else {
                continue;
            };
            for f in entries.flatten() {
                files.push((backend.clone(), version.clone(), f.path()));
            }
        }
    }
    files.sort();
    for (backend, version, path) in files {
        let file = rel(root, &path);
        progress(&file);
        let skip = |report: &mut LoadReport, reason| {
            report.unusable(DATASET, &file, "file".into(), Skip::because(reason));
        };
        if backend == "report_fixtures" {
            skip(report, SkipReason::ReportWithoutModel);
            continue;
        }
        if backend == "oneAPI" {
            skip(report, SkipReason::IntelReport);
            continue;
        }
        match file_to_design(&path, &file, &backend, &version) {
            Ok(Ok(d)) => report.design(d),
            Ok(Err(reason)) => skip(report, reason),
            Err(message) => report.malformed(
                DATASET,
                Issue {
                    file: file.clone(),
                    position: "file".into(),
                    message,
                    reason: None,
                },
            ),
        }
    }
}

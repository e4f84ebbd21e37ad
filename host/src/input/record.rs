//! One synthesis record read as a design: a wa-hls4ml release record
//! (the format is described in `data::wa_release`) or a zest
//! record (a [`Design`] as JSON, as `zest ingest` writes), and what one
//! record of any loader becomes ([`Outcome`]).

use std::path::Path;

use serde_json::Value;

use super::{keras::parse_keras, yaml::parse_config, InputError};
use crate::design::{design_from_layers, Design, HlsConfig, Provenance, ReportKind, Targets};

/// What one record became.
#[derive(Debug)]
pub enum Outcome {
    /// A design.
    Design(Box<Design>),
    /// A failed synthesis (counted, excluded).
    Failed,
    /// A well-formed record that cannot become a design, and why.
    Unusable(Skip),
}

/// Why a well-formed record cannot become a design: the reason, shared by
/// every record it applies to, so reports group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum SkipReason {
    /// The record measures the AXI wrapper or the placed block design.
    NotTheHlsCore,
    /// A Conv2D CSV record: its model string gives no kernel sizes or strides.
    Conv2dShapesMissing,
    /// The run's reuse factor is not recorded.
    ReuseFactorMissing,
    /// A record with no layers.
    NoLayers,
    /// A pooling baseline: the pool size changed between hls4ml versions.
    PoolSizeAmbiguous,
    /// An hls4ml test baseline zest does not know.
    UnknownBaseline,
    /// An oneAPI (Intel) report: no LUT/FF/BRAM18 equivalents.
    IntelReport,
    /// A report-format sample without a model.
    ReportWithoutModel,
    /// A project whose reports measure another network than its firmware.
    Stale,
    /// A project built with a modified hls4ml's custom (`*_me`) kernels.
    CustomKernel,
    /// A project with a layer kind the token schema cannot hold yet.
    UnsupportedLayer,
    /// A project directory without a synthesis report.
    NoReport,
    /// The same synthesis run (same artifact) as a record read before.
    Duplicate,
}

impl SkipReason {
    /// The reason in words.
    pub fn text(self) -> &'static str {
        match self {
            SkipReason::NotTheHlsCore => {
                "measures the AXI wrapper or the placed block design, not the hls4ml core"
            }
            SkipReason::Conv2dShapesMissing => {
                "Conv2D record: model_string does not give kernel sizes or strides, so the layers cannot be reconstructed"
            }
            SkipReason::ReuseFactorMissing => "the reuse factor is not recorded",
            SkipReason::NoLayers => "no layers",
            SkipReason::PoolSizeAmbiguous => {
                "pooling baseline: the pool size changed between hls4ml versions, so the file name does not fix the model"
            }
            SkipReason::UnknownBaseline => "unknown baseline test",
            SkipReason::IntelReport => "oneAPI (Intel) report: no LUT/FF/BRAM18 equivalents",
            SkipReason::ReportWithoutModel => {
                "report-format sample without a model: read a run's reports with `zest ingest --network MODEL.json REPORT...`"
            }
            SkipReason::Stale => {
                "stale project: its reports contradict its configuration or firmware (regenerated after synthesis)"
            }
            SkipReason::CustomKernel => {
                "custom `*_me` kernels from a modified hls4ml, outside hls4ml's distribution"
            }
            SkipReason::UnsupportedLayer => "a layer kind the token schema cannot hold yet",
            SkipReason::NoReport => "no synthesis report in the project",
            SkipReason::Duplicate => "the same synthesis run as a record read before it",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// One skipped record: what it is (a run name, when the record has one)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The record's own name, if it has one.
    pub subject: Option<String>,
    /// Why.
    pub reason: SkipReason,
}

impl Skip {
    /// A skip without a subject.
    pub fn because(reason: SkipReason) -> Self {
        Skip {
            subject: None,
            reason,
        }
    }

    /// A skip of the record named `subject`.
    pub fn of(subject: impl Into<String>, reason: SkipReason) -> Self {
        Skip {
            subject: Some(subject.into()),
            reason,
        }
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.subject {
            Some(s) => write!(f, "{s}: {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// Reads `path` as one synthesis record, if it is one: a wa-hls4ml release
/// record (`model_config` + `hls_config` + reports) or a zest record (as
/// `zest ingest` writes, one JSON object). `Ok(None)` for anything else.
/// The record's own hls4ml configuration comes with it.
pub fn read(path: &Path) -> Result<Option<Design>, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // Binary (ONNX) or not JSON: not a record; the other readers say why.
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let bad = |why: String| InputError::Record {
        path: path.to_path_buf(),
        why,
    };
    if v.get("model_config").is_some() {
        // A failed run still describes a design: estimate it, no figures.
        return match wa_release(&v, &shown, 0).map_err(bad)? {
            Outcome::Design(d) => Ok(Some(*d)),
            Outcome::Failed => wa_release_design(&v, &shown, 0).map(Some).map_err(bad),
            Outcome::Unusable(why) => Err(bad(why.to_string())),
        };
    }
    if v.get("layers").is_some() && v.get("targets").is_some() && v.get("strategy").is_some() {
        return serde_json::from_value::<Design>(v)
            .map(Some)
            .map_err(|e| bad(format!("not a zest record: {e}")));
    }
    Ok(None)
}

/// The wa-hls4ml release's directory under the data root, and its dataset name.
pub const WA_RELEASE: &str = "wa-hls4ml-release";

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One wa-hls4ml release record → a design (or a failed synthesis).
pub fn wa_release(v: &Value, file: &str, index: usize) -> Result<Outcome, String> {
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
    let mut d = wa_release_design(v, file, index)?;
    d.targets = targets;
    Ok(Outcome::Design(Box::new(d)))
}

/// The design a wa-hls4ml release record describes, its targets unknown: layers through the
/// Keras reader, options from `hls_config`. Also for records whose
/// synthesis failed.
pub fn wa_release_design(v: &Value, file: &str, index: usize) -> Result<Design, String> {
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
        part: crate::part::U250.into(),
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
        dataset: WA_RELEASE.into(),
        file: file.into(),
        position: format!("record {index}"),
    };
    Ok(d)
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
        let Ok(Outcome::Design(d)) = wa_release(
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
        assert_eq!(d.part, crate::part::U250);
    }

    #[test]
    fn failed_and_malformed_records_are_told_apart() {
        let mut v = sample();
        v["hls_resource_report"] = serde_json::json!({});
        assert!(matches!(
            wa_release(&v, "x/train/a.json", 0),
            Ok(Outcome::Failed)
        ));
        // The design of a failed run is still readable, with no figures.
        let d = wa_release_design(&v, "x/train/a.json", 0).expect("design of a failed run");
        assert_eq!(d.layers.iter().filter(|l| l.kind.has_weights()).count(), 2);
        assert!(d.targets.to_array().iter().all(|t| t.is_nan()));
        let mut v = sample();
        v["model_config"] = serde_json::json!("nope");
        assert!(wa_release(&v, "x/train/a.json", 0).is_err());
        let Ok(Outcome::Design(d)) =
            wa_release(&sample(), "wa-hls4ml-release/exemplar/jet.json", 0)
        else {
            panic!("not a design");
        };
        assert!(d.realistic, "exemplar records are the realistic set");
    }
}

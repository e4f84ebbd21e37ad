//! `zest estimate`: a user's network and hls4ml configuration → design →
//! the surrogate's six targets, the part's utilisation and each layer's
//! share.

use std::path::Path;

use serde::Serialize;

use crate::design::{
    Design, IoType, Layer, LayerKind, Precision, Provenance, ReportKind, Strategy, Targets,
};
use crate::keras::{parse_keras, KerasError};
use crate::surrogate::{round_targets, ModelError, Surrogate, N_TARGETS};
use crate::tokens::tokens;
use zest_features::{slot_name, slot_unit};

/// One slot outside its training range, in words and units:
/// `result width 8 bits (trained: always 16 bits)`.
fn describe_violation(slot: usize, value: f32, (lo, hi): (f32, f32)) -> String {
    let (k, unit) = slot_unit(slot);
    let show = |x: f32| {
        let s = format!("{:.2}", x * k);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let range = if lo == hi {
        format!("always {}{unit}", show(lo))
    } else {
        format!("{}..{}{unit}", show(lo), show(hi))
    };
    format!(
        "{} {}{unit} (trained: {range})",
        slot_name(slot),
        show(value)
    )
}

/// The model shipped inside the binary (regenerate with
/// `zest train --out host/models/default.json`).
pub const DEFAULT_MODEL: &str = include_str!("../models/default.json");

/// Errors of `zest estimate`.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    /// The model file could not be read or is not a zest model.
    #[error("model {path}: {why}")]
    Model {
        /// Where.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The model does not fit this zest.
    #[error(transparent)]
    Incompatible(#[from] ModelError),
    /// The network file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The network is not a supported Keras model.
    #[error("{path}: {source}")]
    Keras {
        /// Where.
        path: String,
        /// Why.
        source: KerasError,
    },
    /// A synthesis record that cannot be estimated.
    #[error("{path}: {why}")]
    Record {
        /// Where.
        path: String,
        /// Why.
        why: String,
    },
    /// The network is not a supported ONNX model.
    #[error("{path}: {source}")]
    Onnx {
        /// Where.
        path: String,
        /// Why.
        source: crate::onnx::OnnxError,
    },
}

/// Loads a model file, or the embedded default when `path` is `None`.
pub fn load_model(path: Option<&Path>) -> Result<Surrogate, EstimateError> {
    let (text, shown) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| EstimateError::Model {
                path: p.display().to_string(),
                why: e.to_string(),
            })?,
            p.display().to_string(),
        ),
        None => (DEFAULT_MODEL.to_string(), "embedded default".to_string()),
    };
    let model: Surrogate = serde_json::from_str(&text).map_err(|e| EstimateError::Model {
        path: shown,
        why: e.to_string(),
    })?;
    model.validate()?;
    Ok(model)
}

/// hls4ml configuration applied to every layer (hls4ml's `Model` level).
#[derive(Debug, Clone, Serialize)]
pub struct HlsConfig {
    /// Default precision (weights, biases, accumulators, results).
    pub precision: Precision,
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// IO type.
    pub io_type: IoType,
    /// FPGA part.
    pub part: String,
    /// Clock period, ns.
    pub clock_ns: f64,
}

impl Default for HlsConfig {
    /// hls4ml's defaults, on the PYNQ-Z2's part.
    fn default() -> Self {
        Self {
            precision: Precision::DEFAULT,
            reuse_factor: 1,
            strategy: Strategy::Latency,
            io_type: IoType::IoParallel,
            part: "xc7z020clg400-1".into(),
            clock_ns: 5.0,
        }
    }
}

/// Builds the design hls4ml would make of `layers` under `cfg`.
/// Precisions a QKeras model fixed per layer are kept.
pub fn design_from_layers(name: &str, layers: Vec<Layer>, cfg: &HlsConfig) -> Design {
    let layers = layers
        .into_iter()
        .map(|mut l| {
            if l.kind.has_weights() {
                l.weight.get_or_insert(cfg.precision);
                l.accum.get_or_insert(cfg.precision);
                l.reuse_factor = cfg.reuse_factor;
            }
            l.result.get_or_insert(cfg.precision);
            l
        })
        .collect();
    Design {
        id: name.to_string(),
        group: name.to_string(),
        layers,
        strategy: cfg.strategy,
        io_type: cfg.io_type,
        part: cfg.part.clone(),
        clock_ns: cfg.clock_ns,
        tool: None,
        multiplier_impl: None,
        input: cfg.precision,
        realistic: true,
        report: ReportKind::Csynth,
        targets: Targets::UNKNOWN,
        per_layer: None,
        provenance: Provenance {
            dataset: "user".into(),
            file: name.into(),
            position: String::new(),
        },
    }
}

/// Reads `path` as one synthesis record, if it is one: a wa-hls4ml release
/// record (`model_config` + `hls_config` + reports) or a zest record (as
/// `zest ingest` writes, one JSON object). `Ok(None)` for anything else.
/// The record's own hls4ml configuration comes with it.
pub fn design_from_record(path: &Path) -> Result<Option<Design>, EstimateError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| EstimateError::Read {
        path: shown.clone(),
        source,
    })?;
    // Binary (ONNX) or not JSON: not a record; the other readers say why.
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(None);
    };
    let bad = |why: String| EstimateError::Record {
        path: shown.clone(),
        why,
    };
    if v.get("model_config").is_some() {
        // A failed run still describes a design: estimate it, no figures.
        return match crate::data::wa_release::record(&v, &shown, 0).map_err(bad)? {
            crate::data::Outcome::Design(d) => Ok(Some(*d)),
            crate::data::Outcome::Failed => crate::data::wa_release::design(&v, &shown, 0)
                .map(Some)
                .map_err(bad),
            crate::data::Outcome::Unusable(why) => Err(bad(why)),
        };
    }
    if v.get("layers").is_some() && v.get("targets").is_some() && v.get("strategy").is_some() {
        return serde_json::from_value::<Design>(v)
            .map(Some)
            .map_err(|e| bad(format!("not a zest record: {e}")));
    }
    Ok(None)
}

/// The configuration a design was built with (model-wide view).
pub fn config_of(d: &Design) -> HlsConfig {
    let weighted = d.layers.iter().find(|l| l.kind.has_weights());
    HlsConfig {
        precision: weighted.and_then(|l| l.weight).unwrap_or(d.input),
        reuse_factor: weighted.map_or(1, |l| l.reuse_factor),
        strategy: d.strategy,
        io_type: d.io_type,
        part: d.part.clone(),
        clock_ns: d.clock_ns,
    }
}

/// Reads a network from `path`: ONNX (`.onnx`, or a file that is not
/// text) or a Keras model JSON.
pub fn design_from_file(path: &Path, cfg: &HlsConfig) -> Result<Design, EstimateError> {
    let is_onnx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if is_onnx {
        design_from_onnx(path, cfg)
    } else {
        design_from_keras(path, cfg)
    }
}

/// Reads an ONNX model.
pub fn design_from_onnx(path: &Path, cfg: &HlsConfig) -> Result<Design, EstimateError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| EstimateError::Read {
        path: shown.clone(),
        source,
    })?;
    let layers = crate::onnx::parse_onnx(&bytes).map_err(|source| EstimateError::Onnx {
        path: shown.clone(),
        source,
    })?;
    Ok(design_from_layers(&stem(path), layers, cfg))
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Reads a Keras model JSON.
pub fn design_from_keras(path: &Path, cfg: &HlsConfig) -> Result<Design, EstimateError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EstimateError::Read {
        path: shown.clone(),
        source,
    })?;
    let layers = parse_keras(&text).map_err(|source| EstimateError::Keras {
        path: shown.clone(),
        source,
    })?;
    Ok(design_from_layers(&stem(path), layers, cfg))
}

/// Capacity of a part, from the vendor's data sheets.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Capacity {
    /// LUTs.
    pub lut: f64,
    /// Flip-flops.
    pub ff: f64,
    /// DSP slices.
    pub dsp: f64,
    /// BRAM18 blocks.
    pub bram18: f64,
}

/// Capacity of the parts zest knows (by name prefix, package ignored).
pub fn capacity(part: &str) -> Option<Capacity> {
    let p = part.to_ascii_lowercase();
    let table: [(&str, [f64; 4]); 7] = [
        ("xc7z007s", [14_400.0, 28_800.0, 66.0, 100.0]),
        ("xc7z010", [17_600.0, 35_200.0, 80.0, 120.0]),
        ("xc7z020", [53_200.0, 106_400.0, 220.0, 280.0]),
        ("xczu9eg", [274_080.0, 548_160.0, 2_520.0, 1_824.0]),
        ("xcu250", [1_728_000.0, 3_456_000.0, 12_288.0, 5_376.0]),
        ("xcvu9p", [1_182_240.0, 2_364_480.0, 6_840.0, 4_320.0]),
        ("xcu200", [1_182_240.0, 2_364_480.0, 6_840.0, 4_320.0]),
    ];
    table
        .iter()
        .find(|(prefix, _)| p.starts_with(prefix))
        .map(|(_, c)| Capacity {
            lut: c[0],
            ff: c[1],
            dsp: c[2],
            bram18: c[3],
        })
}

/// LUT, FF, DSP and BRAM18 as % of the part, when zest knows the part.
pub fn utilisation(part: &str, t: &Targets) -> Option<[f64; 4]> {
    capacity(part).map(|c| {
        [
            100.0 * t.lut / c.lut,
            100.0 * t.ff / c.ff,
            100.0 * t.dsp / c.dsp,
            100.0 * t.bram18 / c.bram18,
        ]
    })
}

/// One layer's share of the estimate.
#[derive(Debug, Clone, Serialize)]
pub struct LayerShare {
    /// Layer name.
    pub name: String,
    /// Kind.
    pub kind: LayerKind,
    /// Inputs → outputs.
    pub n_in: u64,
    /// Outputs.
    pub n_out: u64,
    /// LUT, FF, DSP, BRAM18, latency, II of this layer alone.
    pub costs: [f64; N_TARGETS],
}

/// Everything `zest estimate` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateReport {
    /// Network name.
    pub design: String,
    /// The configuration applied.
    pub config: HlsConfig,
    /// The six targets (whole units).
    pub targets: Targets,
    /// Utilisation of the part, % (LUT, FF, DSP, BRAM), when the part is known.
    pub utilisation: Option<[f64; 4]>,
    /// Per layer.
    pub layers: Vec<LayerShare>,
    /// Inputs outside what the model was trained on.
    pub warnings: Vec<String>,
    /// Which model answered.
    pub model: String,
    /// Conservative mode: the quantile asked for and the upper bounds.
    pub upper: Option<UpperBound>,
    /// What synthesis reported, when the input was a synthesis record.
    pub recorded: Option<Targets>,
}

/// Upper bounds at a stated quantile (`zest estimate --upper Q`).
#[derive(Debug, Clone, Serialize)]
pub struct UpperBound {
    /// The quantile: on held-out designs, about this fraction of true
    /// values lay at or below such bounds (`zest eval` measures it).
    pub quantile: f64,
    /// The bounds (whole units).
    pub targets: Targets,
}

/// Estimates `design` with `model`.
pub fn estimate(
    model: &Surrogate,
    design: &Design,
    cfg: &HlsConfig,
    model_name: &str,
    upper: Option<f64>,
) -> EstimateReport {
    let design_tokens = tokens(design);
    let e = model.estimate_tokens(&design_tokens);
    let targets = round_targets(&e.targets);
    let mut warnings = Vec::new();
    let upper = upper.and_then(|q| {
        let b = model.upper(&e.targets, q).map(|t| UpperBound {
            quantile: q,
            targets: round_targets(&t),
        });
        if b.is_none() {
            warnings.push(format!(
                "this model has too few calibration residuals for --upper {q}"
            ));
        }
        b
    });
    let utilisation = utilisation(&design.part, &targets);
    for (l, t) in design.layers.iter().zip(&design_tokens) {
        let out: Vec<String> = model
            .range_violations(t)
            .into_iter()
            .map(|(slot, range)| describe_violation(slot, t[slot], range))
            .collect();
        if !out.is_empty() {
            warnings.push(format!(
                "layer {} ({:?}) lies outside what its kind was trained on, so the estimate extrapolates: {}",
                l.name,
                l.kind,
                out.join("; ")
            ));
        }
    }
    if capacity(&design.part).is_none() {
        warnings.push(format!(
            "part {} is not in zest's capacity table: no utilisation",
            design.part
        ));
    }
    EstimateReport {
        design: design.id.clone(),
        config: cfg.clone(),
        targets,
        utilisation,
        layers: design
            .layers
            .iter()
            .zip(e.per_layer)
            .map(|(l, c)| LayerShare {
                name: l.name.clone(),
                kind: l.kind,
                n_in: l.n_in(),
                n_out: l.n_out(),
                costs: c,
            })
            .collect(),
        warnings,
        model: model_name.to_string(),
        upper,
        recorded: design
            .targets
            .to_array()
            .iter()
            .any(|v| v.is_finite())
            .then_some(design.targets),
    }
}

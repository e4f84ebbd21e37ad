//! Six real MLPs on a Zynq-7000 (`argykokk-mlp-zynq7000/records.json`):
//! full hls4ml projects with every `nnet::*_config`, every typedef, the top
//! csynth report and one report per layer module. Realistic networks: held
//! out of training and reported separately.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::design::{
    Activation, Design, Layer, LayerKind, Precision, Provenance, ReportKind, Strategy, Targets,
};

use super::json_stream::num;
use super::{load_json_records, LoadReport, Outcome};

const DATASET: &str = "argykokk-mlp-zynq7000";

fn int(v: &Value, k: &str) -> Result<u32, String> {
    v.get(k)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{k} missing or not a count"))
}

fn text<'a>(v: &'a Value, k: &str) -> Result<&'a str, String> {
    v.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{k} missing or not text"))
}

/// Targets from a csynth summary object (top or one module).
pub fn csynth_targets(v: &Value) -> Result<Targets, String> {
    Ok(Targets {
        lut: num(v, "lut")?,
        ff: num(v, "ff")?,
        dsp: num(v, "dsp")?,
        bram18: num(v, "bram_18k")?,
        latency_cycles: num(v, "latency_worst")?,
        ii: num(v, "interval_max")?,
    })
}

fn config_number(config: &str) -> Option<&str> {
    let digits = config.trim_start_matches(|c: char| !c.is_ascii_digit());
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

fn record_to_design(r: &Value, file: &str, index: usize) -> Result<Design, String> {
    let types: HashMap<&str, &str> = r
        .get("types")
        .and_then(Value::as_object)
        .ok_or("types missing")?
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
        .collect();
    let ty = |name: &str| -> Result<Option<Precision>, String> {
        match types.get(name) {
            Some(t) => t.parse().map(Some).map_err(|e| format!("type {name}: {e}")),
            None => Ok(None),
        }
    };
    let configs: HashMap<&str, &Value> = r
        .get("layer_configs")
        .and_then(Value::as_array)
        .ok_or("layer_configs missing")?
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(|n| (n, c)))
        .collect();
    let modules: HashMap<&str, &Value> = r
        .get("per_module")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("config").and_then(Value::as_str).map(|c| (c, m)))
                .collect()
        })
        .unwrap_or_default();
    let sequence = r
        .get("layer_sequence")
        .and_then(Value::as_array)
        .ok_or("layer_sequence missing")?;
    let mut layers: Vec<Layer> = Vec::new();
    let mut per_layer = Vec::new();
    let mut strategy = Strategy::Latency;
    for (i, step) in sequence.iter().enumerate() {
        let func = text(step, "func")?;
        let name = text(step, "name")?;
        let cfg = configs
            .get(name)
            .ok_or_else(|| format!("layer {name}: no config"))?;
        let config_name = text(cfg, "config")?;
        let last = i + 1 == sequence.len();
        let result = match config_number(config_name) {
            Some(n) if !last => ty(&format!("layer{n}_t"))?,
            _ => ty("result_t")?,
        };
        // BatchNorm configs name their width by macro (`N_LAYER_5`): the
        // previous layer's output.
        let n_in = match int(cfg, "n_in") {
            Ok(n) => n,
            Err(e) => match (cfg.get("n_in").and_then(Value::as_str), layers.last()) {
                (Some(m), Some(prev)) if m.starts_with("N_LAYER_") => prev.output_shape[0],
                _ => return Err(format!("layer {name}: {e}")),
            },
        };
        let (kind, activation, n_out) = match func {
            "dense" => (LayerKind::Dense, Activation::Linear, int(cfg, "n_out")?),
            "relu" => (LayerKind::Activation, Activation::Relu, n_in),
            "softmax" => (LayerKind::Activation, Activation::Softmax, n_in),
            "normalize" => (LayerKind::BatchNorm, Activation::Linear, n_in),
            other => return Err(format!("layer {name}: unknown function {other}")),
        };
        if kind == LayerKind::Dense {
            strategy = text(cfg, "strategy")?.parse()?;
        }
        let type_of = |k: &str| -> Result<Option<Precision>, String> {
            match cfg.get(k).and_then(Value::as_str) {
                Some(t) => ty(t),
                None => Ok(None),
            }
        };
        layers.push(Layer {
            name: name.to_string(),
            kind,
            activation,
            input_shape: vec![n_in],
            output_shape: vec![n_out],
            weight: type_of("type_weight_t")?,
            result,
            accum: type_of("type_accum_t")?,
            reuse_factor: int(cfg, "reuse_factor").unwrap_or(1),
            filters: None,
            kernel: None,
            stride: None,
            zero_weights: cfg
                .get("n_zeros")
                .and_then(Value::as_u64)
                .and_then(|z| u32::try_from(z).ok()),
        });
        per_layer.push(match modules.get(config_name) {
            Some(m) => Some(csynth_targets(m).map_err(|e| format!("module {config_name}: {e}"))?),
            None => None,
        });
    }
    if layers.is_empty() {
        return Err("no layers".into());
    }
    let top = r.get("top").ok_or("top report missing")?;
    let dataset = text(r, "dataset")?;
    let rf = int(r, "reuse_factor")?;
    let mult = text(r, "multiplier_impl")?;
    Ok(Design {
        id: format!("{dataset}-{mult}-rf{rf}"),
        group: format!("argykokk:{dataset}"),
        layers,
        strategy,
        io_type: text(r, "io_type")?.parse()?,
        part: text(top, "part")?.to_string(),
        clock_ns: num(top, "target_clock_ns")?,
        tool: Some(format!(
            "Vitis HLS {}",
            top.get("report_version")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )),
        multiplier_impl: Some(mult.to_string()),
        input: ty("input_t")?.unwrap_or(Precision::DEFAULT),
        realistic: true,
        report: ReportKind::Csynth,
        targets: csynth_targets(top).map_err(|e| format!("top: {e}"))?,
        per_layer: Some(per_layer),
        provenance: Provenance {
            dataset: DATASET.into(),
            file: file.into(),
            position: format!("record {index}"),
        },
    })
}

/// Loads the records (`records.json`; `top_level.csv` holds the same
/// designs' summaries and is not loaded twice).
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    load_json_records(
        root,
        DATASET,
        "records.json",
        report,
        progress,
        |index, value, file| {
            record_to_design(value, file, index).map(|d| Outcome::Design(Box::new(d)))
        },
    );
}

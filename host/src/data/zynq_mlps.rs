//! Six real MLPs on a Zynq-7000 (`argykokk-mlp-zynq7000/records.json`):
//! full hls4ml projects with every `nnet::*_config`, every typedef, the top
//! csynth report and one report per layer module, parsed into JSON. The
//! layers are made by the same reader as a project directory's
//! ([`crate::input::firmware`]). Realistic networks: held out of training
//! and reported separately.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::design::{Design, Provenance, ReportKind, Targets};
use crate::input::firmware::{Call, ConfigStruct, Firmware};

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

/// The record's firmware as [`input::firmware`](crate::input::firmware)
/// reads it from a project: the records hold parameters.h's structs
/// (`layer_configs`, fields as parsed), defines.h's typedefs (`types`) and
/// myproject.cpp's call order (`layer_sequence`), so one reader makes
/// layers of both.
fn firmware_of(r: &Value) -> Result<Firmware, String> {
    let types: HashMap<String, String> = r
        .get("types")
        .and_then(Value::as_object)
        .ok_or("types missing")?
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    let mut configs = BTreeMap::new();
    let mut by_layer = HashMap::new();
    let mut macros = HashMap::new();
    for c in r
        .get("layer_configs")
        .and_then(Value::as_array)
        .ok_or("layer_configs missing")?
    {
        let mut s = ConfigStruct {
            name: text(c, "config")?.to_string(),
            base: c.get("kind").and_then(Value::as_str).map(str::to_string),
            layer: Some(text(c, "name")?.to_string()),
            ..ConfigStruct::default()
        };
        for (k, v) in c.as_object().into_iter().flatten() {
            let v = match v {
                Value::String(t) => t.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            match k.strip_prefix("type_") {
                Some(t) => {
                    s.typedefs.insert(t.to_string(), v);
                }
                None if !matches!(k.as_str(), "name" | "config" | "kind") => {
                    s.values.insert(k.clone(), v);
                }
                None => {}
            }
        }
        // hls4ml's `N_LAYER_<n>`: the output width of layer n.
        if let (Some(n), Some(out)) = (config_number(&s.name), s.values.get("n_out")) {
            macros.insert(format!("N_LAYER_{n}"), out.clone());
        }
        by_layer.insert(text(c, "name")?.to_string(), s.name.clone());
        configs.insert(s.name.clone(), s);
    }
    let sequence = r
        .get("layer_sequence")
        .and_then(Value::as_array)
        .ok_or("layer_sequence missing")?;
    let mut calls = Vec::new();
    let mut input = "input_t".to_string();
    for (i, step) in sequence.iter().enumerate() {
        let name = text(step, "name")?;
        let config = by_layer
            .get(name)
            .ok_or_else(|| format!("layer {name}: no config"))?;
        let output = match config_number(config) {
            Some(n) if i + 1 < sequence.len() => format!("layer{n}_t"),
            _ => "result_t".to_string(),
        };
        calls.push(Call {
            func: text(step, "func")?.to_string(),
            args: vec![input, output.clone(), config.clone()],
        });
        input = output;
    }
    Ok(Firmware {
        calls,
        configs,
        types,
        macros,
    })
}

fn config_number(config: &str) -> Option<&str> {
    let digits = config.trim_start_matches(|c: char| !c.is_ascii_digit());
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

fn record_to_design(r: &Value, file: &str, index: usize) -> Result<Design, String> {
    let net = firmware_of(r)?.network().map_err(|e| e.to_string())?;
    let modules: HashMap<&str, &Value> = r
        .get("per_module")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("config").and_then(Value::as_str).map(|c| (c, m)))
                .collect()
        })
        .unwrap_or_default();
    let per_layer = net
        .configs
        .iter()
        .map(
            |c| match c.as_deref().and_then(|c| modules.get(c).map(|m| (c, m))) {
                Some((c, m)) => csynth_targets(m)
                    .map(Some)
                    .map_err(|e| format!("module {c}: {e}")),
                None => Ok(None),
            },
        )
        .collect::<Result<Vec<_>, String>>()?;
    let top = r.get("top").ok_or("top report missing")?;
    let dataset = text(r, "dataset")?;
    let rf = int(r, "reuse_factor")?;
    let mult = text(r, "multiplier_impl")?;
    Ok(Design {
        id: format!("{dataset}-{mult}-rf{rf}"),
        group: format!("argykokk:{dataset}"),
        layers: net.layers,
        strategy: net.strategy,
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
        input: net.input,
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

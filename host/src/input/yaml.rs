//! hls4ml-style YAML configuration (what `hls4ml convert -c config.yml`
//! reads): the model it names (`KerasJson` or `OnnxModel`, relative to the
//! YAML file), `Part`, `ClockPeriod`, `IOType`, and `HLSConfig` with the
//! model-wide `Precision`, `ReuseFactor`, `Strategy` and per-layer
//! overrides under `LayerName`.
//!
//! ```yaml
//! KerasJson: jet_tagger.json
//! Part: xc7z020clg400-1
//! ClockPeriod: 5
//! IOType: io_parallel
//! HLSConfig:
//!   Model: {Precision: ap_fixed<16,6>, ReuseFactor: 1, Strategy: Latency}
//!   LayerName:
//!     fc1: {ReuseFactor: 4, Precision: {weight: ap_fixed<8,2>}}
//! ```

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::design::HlsConfig;
use crate::design::{Design, Precision};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read it", path.display())]
    Read {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not YAML, or a key has a value of the wrong kind.
    #[error("{}: {why}", path.display())]
    Invalid {
        /// Where.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// Per-layer settings from `HLSConfig.LayerName`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerOverride {
    /// Layer name.
    pub name: String,
    /// Weight precision.
    pub weight: Option<Precision>,
    /// Result precision.
    pub result: Option<Precision>,
    /// Accumulator precision.
    pub accum: Option<Precision>,
    /// Reuse factor.
    pub reuse_factor: Option<u32>,
}

/// What a configuration file says; `None` where it is silent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hls4mlConfig {
    /// The model file, resolved against the YAML's directory.
    pub model: Option<PathBuf>,
    /// Model-wide precision.
    pub precision: Option<Precision>,
    /// Model-wide reuse factor.
    pub reuse_factor: Option<u32>,
    /// `latency` or `resource`.
    pub strategy: Option<String>,
    /// `io_parallel` or `io_stream`.
    pub io_type: Option<String>,
    /// FPGA part.
    pub part: Option<String>,
    /// Clock period, ns.
    pub clock_ns: Option<f64>,
    /// `Backend` (`Vivado`, `Vitis`, …): names the HLS tool.
    pub backend: Option<String>,
    /// Per-layer settings.
    pub layers: Vec<LayerOverride>,
}

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn number(y: &Yaml) -> Option<f64> {
    match y {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(_) => y.as_f64(),
        Yaml::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads a configuration file.
pub fn read_config(path: &Path) -> Result<Hls4mlConfig, ConfigError> {
    let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cfg = parse_config(&src).map_err(|why| ConfigError::Invalid {
        path: path.to_path_buf(),
        why,
    })?;
    if let (Some(m), Some(dir)) = (cfg.model.as_mut(), path.parent()) {
        if m.is_relative() {
            *m = dir.join(&*m);
        }
    }
    Ok(cfg)
}

/// Parses configuration text (model path left as written).
pub fn parse_config(src: &str) -> Result<Hls4mlConfig, String> {
    let docs = YamlLoader::load_from_str(src).map_err(|e| format!("YAML: {e}"))?;
    let root = docs.first().ok_or("empty YAML")?;
    if root.as_hash().is_none() {
        return Err("not an hls4ml configuration (expected a mapping at the top)".into());
    }
    let precision = |y: &Yaml, key: &str| -> Result<Option<Precision>, String> {
        match text(y) {
            None => Ok(None),
            Some(s) => s
                .parse::<Precision>()
                .map(Some)
                .map_err(|e| format!("{key}: {e}")),
        }
    };
    let rf = |y: &Yaml, key: &str| -> Result<Option<u32>, String> {
        match y {
            Yaml::BadValue | Yaml::Null => Ok(None),
            other => number(other)
                .filter(|v| *v >= 1.0 && v.fract() == 0.0)
                .map(|v| Some(v as u32))
                .ok_or_else(|| format!("{key}: reuse factor must be a positive integer")),
        }
    };
    let model = text(&root["KerasJson"])
        .or_else(|| text(&root["OnnxModel"]))
        .map(PathBuf::from);
    if model.is_none() && !matches!(root["KerasModel"], Yaml::BadValue) {
        return Err("KerasModel (an in-memory model) cannot be read from a file: export the architecture with model.to_json() and name it in KerasJson".into());
    }
    let hls = &root["HLSConfig"];
    let m = &hls["Model"];
    let mut layers = Vec::new();
    if let Some(h) = hls["LayerName"].as_hash() {
        for (k, v) in h {
            let name = text(k).unwrap_or_default();
            let key = format!("HLSConfig.LayerName.{name}");
            let p = &v["Precision"];
            let (weight, result, accum) = if p.as_hash().is_some() {
                (
                    precision(&p["weight"], &key)?,
                    precision(&p["result"], &key)?,
                    precision(&p["accum"], &key)?,
                )
            } else {
                let all = precision(p, &key)?;
                (all, all, None)
            };
            layers.push(LayerOverride {
                name,
                weight,
                result,
                accum,
                reuse_factor: rf(&v["ReuseFactor"], &key)?,
            });
        }
    }
    Ok(Hls4mlConfig {
        model,
        precision: precision(&m["Precision"], "HLSConfig.Model.Precision")?,
        reuse_factor: rf(&m["ReuseFactor"], "HLSConfig.Model.ReuseFactor")?,
        strategy: text(&m["Strategy"]).map(|s| s.to_ascii_lowercase()),
        io_type: text(&root["IOType"]).map(|s| s.to_ascii_lowercase()),
        part: text(&root["Part"]),
        clock_ns: number(&root["ClockPeriod"]),
        backend: text(&root["Backend"]).filter(|s| !s.is_empty()),
        layers,
    })
}

impl Hls4mlConfig {
    /// `base` with what this configuration sets.
    pub fn apply(&self, base: &HlsConfig) -> Result<HlsConfig, String> {
        let mut c = base.clone();
        if let Some(p) = self.precision {
            c.precision = p;
        }
        if let Some(rf) = self.reuse_factor {
            c.reuse_factor = rf;
        }
        if let Some(s) = &self.strategy {
            c.strategy = s.parse()?;
        }
        if let Some(io) = &self.io_type {
            c.io_type = io.parse()?;
        }
        if let Some(p) = &self.part {
            c.part.clone_from(p);
        }
        if let Some(clk) = self.clock_ns {
            c.clock_ns = clk;
        }
        if let Some(b) = &self.backend {
            c.tool = Some(backend_tool(b));
        }
        Ok(c)
    }

    /// Applies the per-layer settings; names that match no layer are returned.
    pub fn apply_layers(&self, design: &mut Design) -> Vec<String> {
        let mut unknown = Vec::new();
        for o in &self.layers {
            let Some(l) = design.layers.iter_mut().find(|l| l.name == o.name) else {
                unknown.push(o.name.clone());
                continue;
            };
            if l.kind.has_weights() {
                if let Some(p) = o.weight {
                    l.weight = Some(p);
                }
                if let Some(p) = o.accum {
                    l.accum = Some(p);
                }
                if let Some(rf) = o.reuse_factor {
                    l.reuse_factor = rf;
                }
            }
            if let Some(p) = o.result {
                l.result = Some(p);
            }
        }
        unknown
    }
}

/// The HLS tool an hls4ml `Backend` runs, as a tool name
/// ([`zest_features::Tool::from_name`] reads it): `Vitis` runs Vitis HLS,
/// `Vivado` and `VivadoAccelerator` Vivado HLS; other backends (oneAPI,
/// Catapult, Quartus) keep their own name and read as unknown.
pub fn backend_tool(backend: &str) -> String {
    format!("{backend} (hls4ml backend)")
}

/// What an `hls4ml_config.yml` that hls4ml itself wrote into a project
/// says about the run; `None` where it is silent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WrittenConfig {
    /// `Part`.
    pub part: Option<String>,
    /// `ClockPeriod`, ns.
    pub clock_ns: Option<f64>,
    /// `IOType`.
    pub io_type: Option<String>,
    /// `Backend` (`Vivado`, `Vitis`, …).
    pub backend: Option<String>,
    /// `ProjectName` (the top function; `myproject` by default).
    pub project_name: Option<String>,
    /// `HLSConfig.Model.Strategy`.
    pub strategy: Option<String>,
}

/// Parses the configuration hls4ml writes into a project: YAML (with its
/// `!keras_model` tag), or the older one-line Python dict
/// (`config: {'Part': 'xc7z020clg400-1', 'KerasModel': <keras… object at 0x…>, …}`),
/// whose object reprs are read as null.
pub fn parse_written_config(src: &str) -> Result<WrittenConfig, String> {
    let mut text = String::with_capacity(src.len());
    let mut rest = src;
    // `: <repr>` → `: null` (a `<` after `: ` opens a Python object repr;
    // `ap_fixed<…>` sits inside quotes and never follows `: `).
    while let Some(i) = rest.find(": <") {
        text.push_str(&rest[..i + 2]);
        let after = &rest[i + 2..];
        let end = after.find('>').ok_or("an object repr `<…` is not closed")?;
        text.push_str("null");
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("YAML: {e}"))?;
    let doc = docs.first().ok_or("empty file")?;
    let root = if doc["config"].as_hash().is_some() {
        &doc["config"]
    } else {
        doc
    };
    if root.as_hash().is_none() {
        return Err("not an hls4ml configuration (expected a mapping at the top)".into());
    }
    Ok(WrittenConfig {
        part: text_of(&root["Part"]),
        clock_ns: number(&root["ClockPeriod"]),
        io_type: text_of(&root["IOType"]).map(|s| s.to_ascii_lowercase()),
        backend: text_of(&root["Backend"]),
        project_name: text_of(&root["ProjectName"]),
        strategy: text_of(&root["HLSConfig"]["Model"]["Strategy"]).map(|s| s.to_ascii_lowercase()),
    })
}

fn text_of(y: &Yaml) -> Option<String> {
    text(y).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_model_options_and_layer_overrides() {
        let c = parse_config(
            "KerasJson: net.json\nPart: xc7z020clg400-1\nClockPeriod: 10\nIOType: io_stream\n\
             HLSConfig:\n  Model:\n    Precision: ap_fixed<8,3>\n    ReuseFactor: 4\n    Strategy: Resource\n  \
             LayerName:\n    fc1:\n      ReuseFactor: 2\n      Precision:\n        weight: ap_fixed<6,2>\n",
        )
        .expect("valid");
        assert_eq!(c.model.as_deref(), Some(Path::new("net.json")));
        assert_eq!(c.reuse_factor, Some(4));
        assert_eq!(c.clock_ns, Some(10.0));
        assert_eq!(c.strategy.as_deref(), Some("resource"));
        assert_eq!(c.layers[0].reuse_factor, Some(2));
        assert_eq!(c.layers[0].weight.map(|p| p.width), Some(6));
        let h = c.apply(&HlsConfig::default()).expect("applies");
        assert_eq!(h.precision.width, 8);
        assert_eq!(h.part, "xc7z020clg400-1");
    }

    #[test]
    fn the_backend_names_the_hls_tool() {
        use zest_features::Tool;
        let tool = |src: &str| {
            let h = parse_config(src)
                .expect("valid")
                .apply(&HlsConfig::default())
                .expect("applies");
            h.tool.as_deref().map(Tool::from_name)
        };
        assert_eq!(tool("Backend: Vitis\n"), Some(Tool::VitisHls));
        assert_eq!(tool("Backend: Vivado\n"), Some(Tool::VivadoHls));
        assert_eq!(tool("Backend: VivadoAccelerator\n"), Some(Tool::VivadoHls));
        assert_eq!(tool("Backend: oneAPI\n"), Some(Tool::Unknown));
        assert_eq!(tool("Part: xc7z020clg400-1\n"), None);
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse_config("HLSConfig:\n  Model:\n    ReuseFactor: -3\n").unwrap_err();
        assert!(e.contains("ReuseFactor"), "{e}");
        let e = parse_config("HLSConfig:\n  Model:\n    Precision: float\n").unwrap_err();
        assert!(e.contains("Precision"), "{e}");
        assert!(parse_config("- a\n- b\n").is_err());
        assert!(parse_config("a: [unclosed\n").is_err());
    }

    #[test]
    fn reads_both_forms_hls4ml_writes() {
        let y = parse_written_config(
            "Backend: Vitis\nClockPeriod: 5\nHLSConfig:\n  Model:\n    Strategy: Latency\n\
             IOType: io_parallel\nKerasModel: !keras_model 'm/keras_model.keras'\nPart: XCU250-FIGD2104-2L-E\n\
             ProjectName: myproject\n",
        )
        .expect("yaml");
        assert_eq!(y.part.as_deref(), Some("XCU250-FIGD2104-2L-E"));
        assert_eq!(
            (y.clock_ns, y.strategy.as_deref()),
            (Some(5.0), Some("latency"))
        );
        let d = parse_written_config(
            "config: {'OutputDir': 'm', 'ProjectName': 'myproject', 'Backend': 'Vivado', 'Part': 'xc7z020clg400-1', \
             'ClockPeriod': 10, 'IOType': 'io_stream', 'HLSConfig': {'Model': {'Precision': 'ap_fixed<16,6>', \
             'Strategy': 'Resource', 'TraceOutput': False}}, 'KerasModel': <keras.src.engine.sequential.Sequential object at 0x7f>, 'InputData': None}\n",
        )
        .expect("dict");
        assert_eq!(d.part.as_deref(), Some("xc7z020clg400-1"));
        assert_eq!(
            (d.clock_ns, d.io_type.as_deref()),
            (Some(10.0), Some("io_stream"))
        );
        assert_eq!(d.strategy.as_deref(), Some("resource"));
        assert!(parse_written_config("config: {'KerasModel': <keras object").is_err());
    }
}

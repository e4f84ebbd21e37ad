//! What users hand zest, read into a [`Design`]: a Keras model JSON
//! ([`keras`]), an ONNX model ([`onnx`]), an hls4ml YAML configuration
//! naming one of those ([`yaml`]), one synthesis record ([`record`]), or a
//! whole hls4ml project directory with its reports ([`project`], reading
//! the generated firmware with [`firmware`] and the reports with
//! [`reports`]).
//!
//! [`read`] is the front door: it decides the format from the file (a
//! directory is a project, YAML
//! by extension, a record by its JSON keys, ONNX by extension, else Keras)
//! and applies the hls4ml options in the documented order: hls4ml's
//! defaults, then the YAML's, then the caller's [`Overrides`]. A record
//! carries its own configuration, so overrides on a record are an error.

pub mod firmware;
pub mod keras;
pub mod onnx;
pub mod project;
pub mod record;
pub mod reports;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::design::{
    config_of, design_from_layers, Design, HlsConfig, IoType, Precision, Strategy,
};

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("{}: cannot read it", path.display())]
    Read {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a supported Keras model.
    #[error("{}", path.display())]
    Keras {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: keras::KerasError,
    },
    /// Not a supported ONNX model.
    #[error("{}", path.display())]
    Onnx {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: onnx::OnnxError,
    },
    /// An hls4ml configuration that cannot be read.
    #[error(transparent)]
    Config(#[from] yaml::ConfigError),
    /// An hls4ml configuration that reads but cannot be used.
    #[error("{}: {why}", path.display())]
    BadConfig {
        /// Where.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A synthesis record that cannot be estimated.
    #[error("{}: {why}", path.display())]
    Record {
        /// Where.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Options given for a synthesis record, which has its own.
    #[error("{} is a synthesis record with its own hls4ml configuration: drop the --precision/--reuse-factor/--strategy/--io-type/--part/--clock-ns flags", path.display())]
    OverridesOnRecord {
        /// Where.
        path: PathBuf,
    },
    /// An hls4ml project directory that cannot be read.
    #[error(transparent)]
    Project(#[from] project::ProjectError),
    /// Options given for a project directory, which has its own.
    #[error("{} is an hls4ml project with its own configuration: drop the --precision/--reuse-factor/--strategy/--io-type/--part/--clock-ns flags (or run hls4ml again)", path.display())]
    OverridesOnProject {
        /// Where.
        path: PathBuf,
    },
    /// An option out of range.
    #[error("{0}")]
    Option(&'static str),
}

/// hls4ml options the caller sets over the file's and hls4ml's defaults
/// (the `--precision`, `--reuse-factor`, ... flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Default precision of weights, accumulators and results.
    pub precision: Option<Precision>,
    /// Reuse factor of every layer with weights.
    pub reuse_factor: Option<u32>,
    /// Strategy.
    pub strategy: Option<Strategy>,
    /// IO type.
    pub io_type: Option<IoType>,
    /// FPGA part.
    pub part: Option<String>,
    /// Clock period, ns.
    pub clock_ns: Option<f64>,
    /// HLS tool (a name [`zest_features::Tool::from_name`] reads).
    pub tool: Option<String>,
}

impl Overrides {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.precision.is_none()
            && self.reuse_factor.is_none()
            && self.strategy.is_none()
            && self.io_type.is_none()
            && self.part.is_none()
            && self.clock_ns.is_none()
            && self.tool.is_none()
    }

    /// `base` with what is set, checked.
    pub fn over(&self, base: &HlsConfig) -> Result<HlsConfig, InputError> {
        let mut c = base.clone();
        if let Some(p) = self.precision {
            c.precision = p;
        }
        if let Some(rf) = self.reuse_factor {
            if rf < 1 {
                return Err(InputError::Option("--reuse-factor must be at least 1"));
            }
            c.reuse_factor = rf;
        }
        if let Some(s) = self.strategy {
            c.strategy = s;
        }
        if let Some(io) = self.io_type {
            c.io_type = io;
        }
        if let Some(p) = &self.part {
            c.part.clone_from(p);
        }
        if let Some(clk) = self.clock_ns {
            if clk <= 0.0 {
                return Err(InputError::Option("--clock-ns must be positive"));
            }
            c.clock_ns = clk;
        }
        if let Some(t) = &self.tool {
            if zest_features::Tool::from_name(t) == zest_features::Tool::Unknown {
                return Err(InputError::Option(
                    "--tool names neither Vivado HLS nor Vitis HLS (try vivado, vitis, \"Vitis HLS 2023.1\" or a version such as 2020.1)",
                ));
            }
            c.tool = Some(t.clone());
        }
        Ok(c)
    }
}

/// What [`read`] made of a file.
#[derive(Debug, Clone)]
pub struct Input {
    /// The hls4ml configuration applied (model-wide view).
    pub cfg: HlsConfig,
    /// The design.
    pub design: Design,
    /// Things the user should know (a YAML layer name matching no layer).
    pub warnings: Vec<String>,
}

/// Reads `path` in whichever supported format it is, with `over` applied.
pub fn read(path: &Path, over: &Overrides) -> Result<Input, InputError> {
    if path.is_dir() {
        if !over.is_empty() {
            return Err(InputError::OverridesOnProject {
                path: path.to_path_buf(),
            });
        }
        let design = project::read(path)?.design;
        return Ok(Input {
            cfg: config_of(&design),
            design,
            warnings: Vec::new(),
        });
    }
    let is_yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    if is_yaml {
        let y = yaml::read_config(path)?;
        let bad = |why: String| InputError::BadConfig {
            path: path.to_path_buf(),
            why,
        };
        let cfg = over.over(&y.apply(&HlsConfig::default()).map_err(bad)?)?;
        let model_file = y
            .model
            .clone()
            .ok_or_else(|| bad("names no model (set KerasJson or OnnxModel)".into()))?;
        let mut design = design_from_file(&model_file, &cfg)?;
        let warnings = y
            .apply_layers(&mut design)
            .into_iter()
            .map(|name| {
                format!(
                    "{}: HLSConfig.LayerName.{name} matches no layer",
                    path.display()
                )
            })
            .collect();
        return Ok(Input {
            cfg,
            design,
            warnings,
        });
    }
    if let Some(design) = record::read(path)? {
        if !over.is_empty() {
            return Err(InputError::OverridesOnRecord {
                path: path.to_path_buf(),
            });
        }
        return Ok(Input {
            cfg: config_of(&design),
            design,
            warnings: Vec::new(),
        });
    }
    let cfg = over.over(&HlsConfig::default())?;
    let design = design_from_file(path, &cfg)?;
    Ok(Input {
        cfg,
        design,
        warnings: Vec::new(),
    })
}

/// Reads a network from `path`: ONNX (`.onnx`) or a Keras model JSON.
pub fn design_from_file(path: &Path, cfg: &HlsConfig) -> Result<Design, InputError> {
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
pub fn design_from_onnx(path: &Path, cfg: &HlsConfig) -> Result<Design, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let layers = onnx::parse_onnx(&bytes).map_err(|source| InputError::Onnx {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(design_from_layers(&stem(path), layers, cfg))
}

/// Reads a Keras model JSON.
pub fn design_from_keras(path: &Path, cfg: &HlsConfig) -> Result<Design, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let layers = keras::parse_keras(&text).map_err(|source| InputError::Keras {
        path: path.to_path_buf(),
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

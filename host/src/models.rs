//! The shipped models, embedded once: the float surrogate
//! (`host/models/default.json`, written by `zest train`) and its
//! fixed-point quantization (`host/models/default.zfx`, written by
//! `zest quantize`, the same bytes the firmware embeds), and loading a
//! user's own in their place.

use std::path::{Path, PathBuf};

use crate::learn::surrogate::{ModelError, Surrogate};

/// The float surrogate shipped inside the binary (regenerate with
/// `zest train --out host/models/default.json`).
pub const DEFAULT_MODEL: &str = include_str!("../models/default.json");

/// The fixed-point model shipped inside the binary and the firmware
/// (regenerate with `zest quantize --tolerance 0.5 --out host/models/default.zfx
/// --report host/models/default.zfx.report.json`).
pub const DEFAULT_FIXED: &[u8] = include_bytes!("../models/default.zfx");

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file could not be read.
    #[error("model {}: cannot read it", path.display())]
    Read {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a zest model.
    #[error("model {shown}: not a zest surrogate (JSON written by `zest train`)")]
    Parse {
        /// Where (a path, or "embedded default").
        shown: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Not a valid fixed-point model.
    #[error("{shown}: not a valid zest fixed-point model")]
    Fixed {
        /// Where (a path, or "shipped fixed-point model").
        shown: String,
        /// Why.
        #[source]
        source: zest_fixed::model::ModelError,
    },
    /// The model does not fit this zest.
    #[error(transparent)]
    Incompatible(#[from] ModelError),
}

/// Loads a surrogate file, or the embedded default when `path` is `None`.
pub fn load_model(path: Option<&Path>) -> Result<Surrogate, ModelFileError> {
    let (text, shown) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| ModelFileError::Read {
                path: p.to_path_buf(),
                source,
            })?,
            p.display().to_string(),
        ),
        None => (DEFAULT_MODEL.to_string(), "embedded default".to_string()),
    };
    let model: Surrogate =
        serde_json::from_str(&text).map_err(|source| ModelFileError::Parse { shown, source })?;
    model.validate()?;
    Ok(model)
}

/// The bytes of a fixed-point model file, or the shipped one when `path`
/// is `None`, checked to parse.
pub fn read_fixed(path: Option<&Path>) -> Result<Vec<u8>, ModelFileError> {
    let bytes = match path {
        Some(p) => std::fs::read(p).map_err(|source| ModelFileError::Read {
            path: p.to_path_buf(),
            source,
        })?,
        None => DEFAULT_FIXED.to_vec(),
    };
    zest_fixed::model::FixedModel::parse(&bytes).map_err(|source| ModelFileError::Fixed {
        shown: path.map_or("shipped fixed-point model".into(), |p| {
            p.display().to_string()
        }),
        source,
    })?;
    Ok(bytes)
}

/// A name for the model at `path` in reports: the path, or "embedded default".
pub fn model_name(path: Option<&Path>) -> String {
    path.map_or("embedded default".to_string(), |p| p.display().to_string())
}

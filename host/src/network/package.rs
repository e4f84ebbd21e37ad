//! The exported design: the directory `zest optimize --out DIR` writes and
//! `zest predict` reads, hls4ml's hand-off.
//!
//! # Layout
//!
//! ```text
//! DIR/model.onnx          the network (MatMul/Add/Relu; pruned weights exact 0,
//!                         input standardisation folded in)
//! DIR/hls4ml_config.yml   hls4ml's own config: per-layer precisions, reuse
//!                         factor, strategy, io type, part, clock, OnnxModel
//! DIR/design.json         zest's: network, precisions, HLS options, classes
//!                         (format "zest-design", version 1)
//! DIR/report.json         what the run did (deterministic)
//! DIR/split.json          the split: seed and the sample indices (0-based,
//!                         file order) of train, validation and test
//! DIR/*.png               plots, when drawn
//! ```
//!
//! The directory is written whole or not at all: into a sibling
//! `DIR.tmp-PID`, then renamed into place (an older `DIR` is moved aside
//! first and removed after), so a run killed mid-way leaves the previous
//! `DIR` or nothing, never a half.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::design::HlsConfig;
use crate::network::export::{hls4ml_config, onnx_bytes};
use crate::network::fixed::{FixedError, FixedMlp, Precisions};
use crate::network::Mlp;

/// The format name in `design.json`.
pub const FORMAT: &str = "zest-design";
/// Its version.
pub const VERSION: u32 = 1;
/// hls4ml's output directory, relative to DIR, in the YAML.
pub const HLS4ML_DIR: &str = "hls4ml_prj";

/// `design.json`: everything zest needs to run the design again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignFile {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The network.
    pub network: Mlp,
    /// Its precisions.
    pub precisions: Precisions,
    /// hls4ml options.
    pub hls: HlsConfig,
    /// Feature names, input order.
    pub features: Vec<String>,
    /// Class names, output order.
    pub classes: Vec<String>,
}

impl DesignFile {
    /// A design of `network` at `precisions`.
    pub fn new(
        network: Mlp,
        precisions: Precisions,
        hls: HlsConfig,
        features: Vec<String>,
        classes: Vec<String>,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            network,
            precisions,
            hls,
            features,
            classes,
        }
    }

    /// The fixed-point network hls4ml builds from the export.
    pub fn fixed(&self) -> Result<FixedMlp, FixedError> {
        FixedMlp::hls4ml(&self.network, &self.precisions)
    }
}

/// Why a design directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `design.json` is not a zest design.
    #[error("{path}: not a zest design: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The files of a design directory, name and bytes: ONNX, YAML, design
/// JSON, then `extra` (the report, plots).
pub fn files(design: &DesignFile, extra: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let yaml = hls4ml_config(
        &design.network,
        &design.precisions,
        &design.hls,
        "model.onnx",
        HLS4ML_DIR,
    );
    let json = serde_json::to_vec_pretty(design).unwrap_or_default();
    let mut out = vec![
        ("model.onnx".to_string(), onnx_bytes(&design.network)),
        ("hls4ml_config.yml".to_string(), yaml.into_bytes()),
        ("design.json".to_string(), json),
    ];
    out.extend(extra);
    out
}

/// Writes `files` as the directory `dir`, atomically (see the module).
pub fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), PackageError> {
    write_dir_with(dir, files, |_| {})
}

/// [`write_dir`], with `more` writing further files into the temporary
/// directory before it is renamed into place.
pub fn write_dir_with(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    more: impl FnOnce(&Path),
) -> Result<(), PackageError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "design".into());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| {
        std::fs::create_dir(&tmp).map_err(io(&tmp))?;
        for (f, bytes) in files {
            let p = tmp.join(f);
            std::fs::write(&p, bytes).map_err(io(&p))?;
            std::fs::File::open(&p)
                .and_then(|h| h.sync_all())
                .map_err(io(&p))?;
        }
        more(&tmp);
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let had = dir.exists();
        if had {
            std::fs::rename(dir, &old).map_err(io(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(io(dir))?;
        if had {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Reads a design: `path` is a design directory or its `design.json`.
pub fn read_design(path: &Path) -> Result<DesignFile, PackageError> {
    let file = if path.is_dir() {
        path.join("design.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(io(&file))?;
    let format = |why: String| PackageError::Format {
        path: file.clone(),
        why,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(format(format!("no \"format\": \"{FORMAT}\"")));
    }
    if v.get("version").and_then(|f| f.as_u64()) != Some(u64::from(VERSION)) {
        return Err(format(format!(
            "version {}, this zest reads {VERSION}",
            v.get("version").map_or("none".into(), |x| x.to_string())
        )));
    }
    let d: DesignFile = serde_json::from_value(v).map_err(|e| format(e.to_string()))?;
    let widths = d.network.widths();
    let consistent = d.network.layers.windows(2).all(|w| w[0].n_out == w[1].n_in)
        && d.network.layers.iter().all(|l| {
            l.weight.len() == l.n_in * l.n_out
                && l.mask.len() == l.weight.len()
                && l.bias.len() == l.n_out
        })
        && d.precisions.layers.len() == d.network.layers.len()
        && widths.first() == Some(&d.features.len())
        && widths.last() == Some(&d.classes.len());
    if !consistent {
        return Err(format(format!(
            "its shapes disagree (layers {widths:?}, {} precisions, {} features, {} classes)",
            d.precisions.layers.len(),
            d.features.len(),
            d.classes.len()
        )));
    }
    Ok(d)
}

/// One CSV row per sample of `data`: the output layer's values, exactly,
/// then the predicted class's name. Header `out_0,...,class`.
pub fn predictions_csv(
    q: &FixedMlp,
    classes: &[String],
    samples: impl Iterator<Item = Vec<f32>>,
) -> String {
    let t = q.output_type();
    let n = classes.len();
    let mut s: String = (0..n).map(|i| format!("out_{i},")).collect();
    s.push_str("class\n");
    for x in samples {
        let y = q.forward(&x);
        for v in &y {
            s.push_str(&t.decimal(*v));
            s.push(',');
        }
        let k = crate::network::argmax(&y);
        s.push_str(classes.get(k).map_or("?", String::as_str));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_replaced_whole_and_leaves_nothing_beside_it() {
        let root = std::env::temp_dir().join(format!("zest-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("out");
        let f = |n: &str, b: &[u8]| (n.to_string(), b.to_vec());
        write_dir(&dir, &[f("a", b"1"), f("b", b"2")]).unwrap();
        write_dir_with(&dir, &[f("a", b"3")], |tmp| {
            std::fs::write(tmp.join("c"), b"4").unwrap();
            // Until the rename, the old directory is intact.
            assert_eq!(std::fs::read(dir.join("b")).unwrap(), b"2");
        })
        .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["a", "c"],
            "the old b is gone with the old directory"
        );
        assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"3");
        let beside: Vec<_> = std::fs::read_dir(&root).unwrap().collect();
        assert_eq!(beside.len(), 1, "no temporary or old directory is left");
        let e = read_design(&dir).unwrap_err().to_string();
        assert!(e.contains("design.json"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }
}

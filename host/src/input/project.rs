//! An hls4ml project directory, as hls4ml and the vendor tools left it,
//! read into one [`Design`] with its synthesis results:
//!
//! ```text
//! DIR/
//!   hls4ml_config.yml                 Part, ClockPeriod, IOType, Backend, ProjectName
//!                                     (YAML, or the older one-line Python dict)
//!   firmware/parameters.h             one config struct per layer      ┐ the network
//!   firmware/defines.h                types and size macros            │ (input::firmware)
//!   firmware/myproject.cpp            the nnet:: calls in order        ┘ (or LAYER_SEQUENCE.txt)
//!   **/myproject_csynth.{xml,rpt}     HLS C-synthesis of the top       → the six targets
//!   **/<module>_csynth.{xml,rpt}      one per layer module             → per-layer targets
//!   **/vivado_synth.rpt               Vivado logic synthesis           → resources if no csynth
//! ```
//!
//! Reports are recognised by their contents (the top by its
//! `TopModelName`, a layer's module by the config struct its name
//! carries), wherever they sit under `DIR`. A project whose reports
//! contradict its configuration (another part or clock, or layer modules
//! whose configs parameters.h no longer defines) is stale: the firmware was
//! regenerated after synthesis, so the report measures another network.
//! It is refused, never trained on.

use std::path::{Path, PathBuf};

use crate::design::{Design, IoType, Provenance, ReportKind, Targets};
use crate::input::firmware::{self, Firmware, FirmwareError};
use crate::input::reports::{
    canonical_part, merge, parse_report, same_part, ReportError, SynthReport,
};
use crate::input::yaml::{parse_written_config, WrittenConfig};

/// Why a project directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A file the project needs is not there.
    #[error("{}: missing (not an hls4ml project directory?)", path.display())]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{}: cannot read it", path.display())]
    Read {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The firmware does not describe a network zest can read.
    #[error("{}", path.display())]
    Firmware {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        source: FirmwareError,
    },
    /// The configuration is unreadable.
    #[error("{}: {why}", path.display())]
    Config {
        /// Where.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A report is unreadable or truncated.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The reports measure another network than the firmware holds.
    #[error("{}: stale: {why}", dir.display())]
    Stale {
        /// The project.
        dir: PathBuf,
        /// What contradicts what.
        why: String,
    },
}

/// A project, read.
#[derive(Debug, Clone)]
pub struct Project {
    /// The design, with the reports' targets (unknown where no report).
    pub design: Design,
    /// The reports its targets came from.
    pub reports: Vec<PathBuf>,
}

fn read_text(path: &Path) -> Result<String, ProjectError> {
    std::fs::read_to_string(path).map_err(|source| ProjectError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `dir` holds an hls4ml project (`firmware/parameters.h`).
pub fn is_project(dir: &Path) -> bool {
    dir.join("firmware").join("parameters.h").is_file()
}

/// Report files under `dir` (not under `firmware/`, nor in another project
/// nested inside), sorted.
fn report_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0u32)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if depth < 8 && name != "firmware" && !is_project(&p) {
                    stack.push((p, depth + 1));
                }
            } else if name.ends_with("_csynth.xml")
                || name.ends_with("_csynth.rpt")
                || name == "vivado_synth.rpt"
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The config struct a module's name carries (`…_relu_config4_s` →
/// `relu_config4`): the longest struct name found between underscores.
fn module_config<'a>(module: &str, fw: &'a Firmware) -> Option<&'a str> {
    let padded = format!("_{module}_");
    fw.configs
        .keys()
        .filter(|c| padded.contains(&format!("_{c}_")))
        .max_by_key(|c| c.len())
        .map(String::as_str)
}

/// `configN` tokens in a module's name.
fn config_tokens(module: &str) -> impl Iterator<Item = &str> {
    module.split('_').filter(|t| {
        t.strip_prefix("config")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The tool that wrote a report: Vitis HLS where the project's backend is
/// Vitis, else as the version says ([`zest_features::Tool::from_name`]:
/// Vitis HLS from 2020.2, Vivado HLS before).
fn tool_name(version: &str, backend: Option<&str>) -> String {
    let v = version.trim_start_matches("HLS ").trim();
    let vitis = backend.is_some_and(|b| b.eq_ignore_ascii_case("vitis"))
        || zest_features::Tool::from_name(v) == zest_features::Tool::VitisHls;
    format!("{} HLS {v}", if vitis { "Vitis" } else { "Vivado" })
}

/// Reads the firmware of a project directory.
pub fn read_firmware(dir: &Path, project_name: &str) -> Result<Firmware, ProjectError> {
    let fw_dir = dir.join("firmware");
    let params_path = fw_dir.join("parameters.h");
    if !params_path.is_file() {
        return Err(ProjectError::Missing { path: params_path });
    }
    let (configs, mut types) =
        firmware::parse_parameters(&read_text(&params_path)?).map_err(|why| {
            ProjectError::Firmware {
                path: params_path.clone(),
                source: FirmwareError::Malformed(why),
            }
        })?;
    let defines_path = fw_dir.join("defines.h");
    if !defines_path.is_file() {
        return Err(ProjectError::Missing { path: defines_path });
    }
    let (t, macros) = firmware::parse_defines(&read_text(&defines_path)?);
    types.extend(t);
    let cpp = fw_dir.join(format!("{project_name}.cpp"));
    let seq = dir.join("LAYER_SEQUENCE.txt");
    let calls_path = if cpp.is_file() {
        cpp
    } else if seq.is_file() {
        seq
    } else {
        return Err(ProjectError::Missing { path: cpp });
    };
    let calls = firmware::parse_calls(&read_text(&calls_path)?);
    Ok(Firmware {
        calls,
        configs,
        types,
        macros,
    })
}

/// Reads the project in `dir`.
pub fn read(dir: &Path) -> Result<Project, ProjectError> {
    let config_path = dir.join("hls4ml_config.yml");
    let config = if config_path.is_file() {
        parse_written_config(&read_text(&config_path)?).map_err(|why| ProjectError::Config {
            path: config_path.clone(),
            why,
        })?
    } else {
        WrittenConfig::default()
    };
    let top_name = config.project_name.as_deref().unwrap_or("myproject");
    let fw = read_firmware(dir, top_name)?;
    let calls_file = if dir
        .join("firmware")
        .join(format!("{top_name}.cpp"))
        .is_file()
    {
        dir.join("firmware").join(format!("{top_name}.cpp"))
    } else {
        dir.join("LAYER_SEQUENCE.txt")
    };
    // Reports: the top's, each layer module's, Vivado's.
    let mut top: Option<(PathBuf, SynthReport)> = None;
    let mut vivado: Option<(PathBuf, SynthReport)> = None;
    let mut modules: Vec<(String, Targets)> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    let files = report_files(dir);
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        // A module's .rpt repeats its .xml: read the XML where both exist.
        if name.ends_with("_csynth.rpt") && path.with_extension("xml").is_file() {
            continue;
        }
        let text = read_text(path)?;
        let r = parse_report(&text).map_err(|why| ReportError::Format {
            path: path.display().to_string(),
            why,
        })?;
        match (r.kind, r.module.as_deref()) {
            (ReportKind::VivadoSynth, _) => vivado = Some((path.clone(), r)),
            (ReportKind::Csynth, Some(m)) if m == top_name => {
                top.get_or_insert((path.clone(), r));
            }
            (ReportKind::Csynth, Some(m)) => match module_config(m, &fw) {
                Some(c) => modules.push((c.to_string(), r.targets)),
                None => {
                    let missing: Vec<&str> = config_tokens(m).collect();
                    if !missing.is_empty() {
                        stale.push(format!(
                            "{} reports {} that parameters.h does not define",
                            name,
                            missing.join(", ")
                        ));
                    }
                }
            },
            _ => {}
        }
    }

    // The configuration against the reports.
    let cfg_part = config.part.as_deref().map(canonical_part);
    let cfg_name = || config_path.display().to_string();
    for (path, r) in top.iter().chain(vivado.iter()) {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let file = file.unwrap_or_default();
        if let (Some(c), Some(p)) = (&cfg_part, &r.part) {
            if !same_part(c, p) {
                stale.push(format!("{} says Part {c}, {file} says {p}", cfg_name()));
            }
        }
        if let (Some(c), Some(k)) = (config.clock_ns, r.clock_ns) {
            if (c - k).abs() > 1e-6 {
                stale.push(format!(
                    "{} says ClockPeriod {c} ns, {file} says {k} ns",
                    cfg_name()
                ));
            }
        }
    }
    if !stale.is_empty() {
        return Err(ProjectError::Stale {
            dir: dir.to_path_buf(),
            why: stale.join("; "),
        });
    }

    // Read after the staleness checks: a stale project's layers may be
    // ones zest does not know, and stale is the truer answer.
    let net = fw.network().map_err(|source| ProjectError::Firmware {
        path: match source {
            FirmwareError::Malformed(_) => dir.join("firmware").join("parameters.h"),
            _ => calls_file.clone(),
        },
        source,
    })?;

    let reports: Vec<SynthReport> = top
        .iter()
        .chain(vivado.iter())
        .map(|(_, r)| r.clone())
        .collect();
    let (targets, kind) = if reports.is_empty() {
        (Targets::UNKNOWN, ReportKind::Csynth)
    } else {
        merge(&reports)
    };
    let main = top.as_ref().or(vivado.as_ref()).map(|(_, r)| r);
    let part = main
        .and_then(|r| r.part.clone())
        .or(cfg_part)
        .unwrap_or_default();
    let clock_ns = main
        .and_then(|r| r.clock_ns)
        .or(config.clock_ns)
        .unwrap_or(5.0);
    let tool = top
        .as_ref()
        .and_then(|(_, r)| r.tool.as_deref())
        .map(|v| tool_name(v, config.backend.as_deref()));
    let io_type = match (&config.io_type, net.io_type) {
        (_, Some(io)) => io,
        (Some(s), None) => s.parse().map_err(|why| ProjectError::Config {
            path: config_path.clone(),
            why,
        })?,
        (None, None) => IoType::IoParallel,
    };
    let per_layer = (!modules.is_empty()).then(|| {
        net.configs
            .iter()
            .map(|c| {
                let c = c.as_deref()?;
                // A layer's module contains its helpers' modules: the
                // largest report matching its config is the layer's own.
                modules
                    .iter()
                    .filter(|(m, _)| m == c)
                    .map(|(_, t)| *t)
                    .max_by(|a, b| {
                        let size = |t: &Targets| t.lut + t.ff + t.dsp + t.bram18;
                        size(a).total_cmp(&size(b))
                    })
            })
            .collect()
    });
    let signature = net
        .layers
        .iter()
        .map(|l| {
            format!(
                "{:?}{:?}{:?}{}",
                l.kind,
                l.activation,
                l.output_shape,
                l.kernel.unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join("|");
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut report_paths: Vec<PathBuf> = top.iter().map(|(p, _)| p.clone()).collect();
    report_paths.extend(vivado.iter().map(|(p, _)| p.clone()));
    Ok(Project {
        design: Design {
            id: name,
            group: format!("project:{signature}"),
            layers: net.layers,
            strategy: net.strategy,
            io_type,
            part,
            clock_ns,
            tool,
            multiplier_impl: None,
            input: net.input,
            realistic: true,
            report: kind,
            targets,
            per_layer,
            provenance: Provenance {
                dataset: "user".into(),
                file: dir.display().to_string(),
                position: String::new(),
            },
        },
        reports: report_paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_named_by_version_and_backend() {
        assert_eq!(tool_name("HLS 2019.2", None), "Vivado HLS 2019.2");
        assert_eq!(tool_name("HLS 2020.1", Some("Vitis")), "Vitis HLS 2020.1");
        assert_eq!(tool_name("HLS 2022.2", Some("Vivado")), "Vitis HLS 2022.2");
    }

    #[test]
    fn modules_map_to_their_configs() {
        let (configs, _) = firmware::parse_parameters(
            "struct config4 : nnet::pooling2d_config {\n};\nstruct relu_config4 : nnet::activ_config {\n};\n",
        )
        .unwrap();
        let fw = Firmware {
            configs,
            ..Firmware::default()
        };
        assert_eq!(
            module_config("relu_ap_fixed_16_6_5_3_0_relu_config4_s", &fw),
            Some("relu_config4")
        );
        assert_eq!(
            module_config("pooling2d_cl_config4_s", &fw),
            Some("config4")
        );
        assert_eq!(module_config("dense_config9_s", &fw), None);
        assert_eq!(
            config_tokens("dense_config9_s").collect::<Vec<_>>(),
            ["config9"]
        );
    }
}

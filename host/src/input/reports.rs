//! Reading the reports a user's own hls4ml runs leave behind, so they can
//! become training records (`zest ingest`):
//!
//! * `myproject_csynth.xml`: Vivado/Vitis HLS C-synthesis estimate (XML);
//! * `myproject_csynth.rpt`: the same as a text report;
//! * `vivado_synth.rpt`: Vivado's `report_utilization` after logic
//!   synthesis (resources only: no latency or II).
//!
//! The kind is recognised from the contents, not the file name.

use std::path::Path;

use crate::design::{ReportKind, Targets};

/// A report that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read.
    #[error("{}: cannot read it", path.display())]
    Read {
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a report zest knows, or a field is missing or malformed.
    #[error("{path}: {why}")]
    Format {
        /// Where.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// What one report says.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthReport {
    /// Which synthesis step it comes from.
    pub kind: ReportKind,
    /// The targets; NaN where this kind of report does not say.
    pub targets: Targets,
    /// The part, as the report spells it (without the `xc` prefix in Vivado's).
    pub part: Option<String>,
    /// Target clock period, ns.
    pub clock_ns: Option<f64>,
    /// Tool and version.
    pub tool: Option<String>,
    /// The module it reports (`TopModelName`; `myproject` for a design's
    /// top, `dense_latency_…_config2_s` for one layer), where it says.
    pub module: Option<String>,
}

/// Reads one report file, recognising its kind from its contents.
pub fn read_report(path: &Path) -> Result<SynthReport, ReportError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_report(&text).map_err(|why| ReportError::Format { path: p, why })
}

/// Parses a report's text, recognising its kind.
pub fn parse_report(text: &str) -> Result<SynthReport, String> {
    if text.trim_start().starts_with('<') && text.contains("<profile") {
        csynth_xml(text)
    } else if text.contains("Utilization Design Information") {
        vivado_utilization(text)
    } else if text.contains("HLS Report for") {
        csynth_rpt(text)
    } else {
        Err("not a csynth.xml, csynth.rpt or Vivado utilization report".into())
    }
}

/// A part name in Vivado's canonical spelling: `xc` prefix, device and
/// package joined (`xc7z020-clg400-1` and `7z020clg400-1` both become
/// `xc7z020clg400-1`). Names with more fields are left alone.
pub fn canonical_part(part: &str) -> String {
    let mut p = part.trim().to_ascii_lowercase();
    if p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert_str(0, "xc");
    }
    let fields: Vec<&str> = p.split('-').collect();
    if fields.len() == 3 && fields[1].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return format!("{}{}-{}", fields[0], fields[1], fields[2]);
    }
    p
}

/// Whether two part names name the same device: Vivado's synthesis report
/// drops the temperature grade and a dash (`xcu50fsvh2104-2` for
/// `xcu50-fsvh2104-2-e`), so one's letters must begin the other's.
pub fn same_part(a: &str, b: &str) -> bool {
    let key = |p: &str| -> String { canonical_part(p).chars().filter(|&c| c != '-').collect() };
    let (a, b) = (key(a), key(b));
    !a.is_empty() && !b.is_empty() && (a.starts_with(&b) || b.starts_with(&a))
}

fn number(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .trim_end_matches("ns")
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{what}: {s:?} is not a number"))
}

/// `myproject_csynth.xml`.
pub fn csynth_xml(text: &str) -> Result<SynthReport, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("XML: {e}"))?;
    let root = doc.root_element();
    let path_text = |path: &[&str]| -> Option<String> {
        let mut node = root;
        for name in path {
            node = node.children().find(|n| n.has_tag_name(*name))?;
        }
        node.text().map(str::to_string)
    };
    let need = |path: &[&str]| -> Result<f64, String> {
        let what = path.join("/");
        let t = path_text(path).ok_or_else(|| format!("missing {what}"))?;
        number(&t, &what)
    };
    let lat = ["PerformanceEstimates", "SummaryOfOverallLatency"];
    let res = ["AreaEstimates", "Resources"];
    // The worst case is what zest predicts; `undef` appears for designs
    // whose latency HLS cannot bound.
    let dsp = need(&[res[0], res[1], "DSP48E"]).or_else(|_| need(&[res[0], res[1], "DSP"]))?;
    Ok(SynthReport {
        kind: ReportKind::Csynth,
        targets: Targets {
            lut: need(&[res[0], res[1], "LUT"])?,
            ff: need(&[res[0], res[1], "FF"])?,
            dsp,
            bram18: need(&[res[0], res[1], "BRAM_18K"])?,
            latency_cycles: need(&[lat[0], lat[1], "Worst-caseLatency"])?,
            ii: need(&[lat[0], lat[1], "Interval-max"])?,
        },
        part: path_text(&["UserAssignments", "Part"]).map(|p| canonical_part(&p)),
        clock_ns: path_text(&["UserAssignments", "TargetClockPeriod"])
            .and_then(|t| number(&t, "clock").ok()),
        tool: path_text(&["ReportVersion", "Version"]).map(|v| format!("HLS {v}")),
        module: path_text(&["UserAssignments", "TopModelName"]),
    })
}

/// Cells of a `|a|b|c|` table row, trimmed.
fn cells(line: &str) -> Vec<&str> {
    let t = line.trim();
    if !t.starts_with('|') {
        return Vec::new();
    }
    t.trim_matches('|').split('|').map(str::trim).collect()
}

/// `myproject_csynth.rpt`.
pub fn csynth_rpt(text: &str) -> Result<SynthReport, String> {
    let lines: Vec<&str> = text.lines().collect();
    let field = |key: &str| {
        lines.iter().find_map(|l| {
            l.trim()
                .strip_prefix(key)
                .map(|rest| rest.trim().to_string())
        })
    };
    // Latency summary: the first data row after the "+ Latency" heading.
    let lat_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("+ Latency"))
        .ok_or("no `+ Latency` section")?;
    let row = lines[lat_at..]
        .iter()
        .map(|l| cells(l))
        .find(|c| c.len() >= 6 && c[0].parse::<f64>().is_ok())
        .ok_or("no latency summary row")?;
    let latency = number(row[1], "latency max")?;
    let ii = number(row[5], "interval max")?;
    // Utilisation: the `Total` row after "== Utilization Estimates".
    let util_at = lines
        .iter()
        .position(|l| l.contains("Utilization Estimates"))
        .ok_or("no `Utilization Estimates` section")?;
    let header = lines[util_at..]
        .iter()
        .map(|l| cells(l))
        .find(|c| c.first() == Some(&"Name"))
        .ok_or("no utilisation header")?;
    let total = lines[util_at..]
        .iter()
        .map(|l| cells(l))
        .find(|c| c.first() == Some(&"Total"))
        .ok_or("no utilisation Total row")?;
    let col = |names: &[&str]| -> Result<f64, String> {
        let i = header
            .iter()
            .position(|h| names.contains(h))
            .ok_or_else(|| format!("no {} column", names[0]))?;
        number(total.get(i).ok_or("short Total row")?, names[0])
    };
    let clock_ns = lines
        .iter()
        .map(|l| cells(l))
        .find(|c| c.first() == Some(&"ap_clk"))
        .and_then(|c| c.get(1).and_then(|v| number(v, "clock").ok()));
    Ok(SynthReport {
        kind: ReportKind::Csynth,
        targets: Targets {
            lut: col(&["LUT"])?,
            ff: col(&["FF"])?,
            dsp: col(&["DSP48E", "DSP"])?,
            bram18: col(&["BRAM_18K"])?,
            latency_cycles: latency,
            ii,
        },
        part: field("* Target device:").map(|p| canonical_part(&p)),
        clock_ns,
        tool: field("* Version:").map(|v| {
            let v = v.split_whitespace().next().unwrap_or("?");
            format!("HLS {v}")
        }),
        module: lines.iter().find_map(|l| {
            let rest = &l[l.find("Report for '")? + "Report for '".len()..];
            Some(rest[..rest.find('\'')?].to_string())
        }),
    })
}

/// Vivado `report_utilization` after synthesis: LUT, FF, DSP and block RAM
/// (a Block RAM Tile is two 18 Kb blocks). Latency and II are NaN.
pub fn vivado_utilization(text: &str) -> Result<SynthReport, String> {
    let used = |site: &str| -> Result<f64, String> {
        text.lines()
            .map(cells)
            .find(|c| c.first().map(|s| s.trim_end_matches('*')) == Some(site))
            .ok_or_else(|| format!("no `{site}` row"))
            .and_then(|c| number(c.get(1).ok_or("short row")?, site))
    };
    let header = |key: &str| {
        text.lines().find_map(|l| {
            l.trim_start_matches('|')
                .trim()
                .strip_prefix(key)
                .map(|r| r.trim().trim_start_matches(':').trim().to_string())
        })
    };
    let lut = used("Slice LUTs").or_else(|_| used("CLB LUTs"))?;
    let ff = used("Slice Registers").or_else(|_| used("CLB Registers"))?;
    Ok(SynthReport {
        kind: ReportKind::VivadoSynth,
        targets: Targets {
            lut,
            ff,
            dsp: used("DSPs")?,
            bram18: 2.0 * used("Block RAM Tile")?,
            latency_cycles: f64::NAN,
            ii: f64::NAN,
        },
        part: header("Device").map(|p| canonical_part(&p)),
        clock_ns: None,
        tool: header("Tool Version").map(|v| {
            let v = v.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            v.replace("v.", "")
        }),
        module: None,
    })
}

/// Merges reports into one set of targets: C-synthesis gives latency and
/// II and, first, the resources (most training records are C-synthesis
/// estimates); a Vivado utilization report fills the resources only when no
/// C-synthesis report is given.
pub fn merge(reports: &[SynthReport]) -> (Targets, ReportKind) {
    let mut t = Targets::UNKNOWN;
    let csynth = reports.iter().find(|r| r.kind == ReportKind::Csynth);
    let vivado = reports.iter().find(|r| r.kind == ReportKind::VivadoSynth);
    if let Some(c) = csynth {
        t = c.targets;
    }
    let kind = match (csynth, vivado) {
        (None, Some(v)) => {
            t.lut = v.targets.lut;
            t.ff = v.targets.ff;
            t.dsp = v.targets.dsp;
            t.bram18 = v.targets.bram18;
            ReportKind::VivadoSynth
        }
        _ => ReportKind::Csynth,
    };
    (t, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_spelled_the_vivado_way() {
        assert_eq!(canonical_part("xc7z020-clg400-1"), "xc7z020clg400-1");
        assert_eq!(canonical_part("7z020clg400-1"), "xc7z020clg400-1");
        assert_eq!(
            canonical_part("xcu250-figd2104-2L-e"),
            "xcu250-figd2104-2l-e"
        );
    }

    #[test]
    fn unknown_text_is_refused() {
        assert!(parse_report("hello").is_err());
        assert!(parse_report("<profile><broken").is_err());
        // A csynth.rpt cut before its utilisation table.
        let cut =
            "== Vivado HLS Report for 'x'\n+ Latency:\n |  1|  2| 5 ns | 10 ns | 1| 2| none |\n";
        let e = parse_report(cut).unwrap_err();
        assert!(e.contains("Utilization"), "{e}");
    }
}

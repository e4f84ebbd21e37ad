//! Whole hls4ml projects as users leave them (`hls4ml-projects/`, README
//! there): every directory holding `firmware/parameters.h` is read with the
//! same reader as `zest estimate DIR` ([`crate::input::project`]) and
//! loads, or is skipped with its reason: stale (the reports measure another
//! network than the firmware), custom `*_me` kernels, a layer kind the
//! token schema cannot hold yet (named), no report. Realistic networks.

use std::path::{Path, PathBuf};

use super::{rel, LoadReport, Outcome, Skip, SkipReason};
use crate::input::firmware::FirmwareError;
use crate::input::project::{self, ProjectError};

/// Data set name (its directory under the data root).
pub const DATASET: &str = "hls4ml-projects";

/// Every project directory under `dir`, sorted; projects are not searched
/// for projects nested inside them.
pub fn project_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0u32)];
    while let Some((d, depth)) = stack.pop() {
        if project::is_project(&d) {
            out.push(d);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if depth < 12 && e.path().is_dir() {
                stack.push((e.path(), depth + 1));
            }
        }
    }
    out.sort();
    out
}

/// What one project directory comes to.
pub fn outcome(root: &Path, dir: &Path) -> Result<Outcome, String> {
    let file = rel(root, dir);
    match project::read(dir) {
        Ok(p) => {
            if p.reports.is_empty() {
                return Ok(Outcome::Unusable(Skip::because(SkipReason::NoReport)));
            }
            let mut d = p.design;
            d.id.clone_from(&file);
            d.provenance.dataset = DATASET.into();
            d.provenance.file = file;
            Ok(Outcome::Design(Box::new(d)))
        }
        Err(ProjectError::Stale { why, .. }) => {
            Ok(Outcome::Unusable(Skip::of(why, SkipReason::Stale)))
        }
        Err(ProjectError::Firmware {
            source: FirmwareError::CustomKernel(k),
            ..
        }) => Ok(Outcome::Unusable(Skip::of(k, SkipReason::CustomKernel))),
        Err(ProjectError::Firmware {
            source: FirmwareError::Unsupported(k),
            ..
        }) => Ok(Outcome::Unusable(Skip::of(k, SkipReason::UnsupportedLayer))),
        Err(e) => Err(with_causes(&e)),
    }
}

/// An error and its causes, as one line: a project error names the file,
/// its source says what is wrong there.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Loads every project under `root/hls4ml-projects`.
pub fn load(root: &Path, report: &mut LoadReport, progress: &mut dyn FnMut(&str)) {
    let dir = root.join(DATASET);
    if !dir.is_dir() {
        return;
    }
    for p in project_dirs(&dir) {
        let file = rel(root, &p);
        progress(&file);
        let outcome = outcome(root, &p);
        report.file_outcome(DATASET, &file, "project".into(), outcome);
    }
}

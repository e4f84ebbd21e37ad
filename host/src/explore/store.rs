//! The meta-model on disk: a run directory that survives `kill -9`.
//!
//! # Layout
//!
//! ```text
//! RUN/log.jsonl        one JSON record a line, appended and fsynced one by one:
//!   {"record":"header", ...}     first line: format, version, the run's whole configuration
//!   {"record":"model", ...}      a model-space entry, written after its model file is in place
//!   {"record":"trace", ...}      LOG: what a task or branch did in which evaluation
//!   {"record":"eval", ...}       a finished evaluation (point, results, designs)
//!   {"record":"budget", ...}     evaluations asked from here on (`--resume RUN --evaluations N`)
//! RUN/models/ID.json   a model's network and precisions: written to .ID.json.tmp, fsynced, renamed
//! ```
//!
//! A line is trusted only whole: on reopening, a last line without its
//! newline (a write cut short) is discarded and cut off the file; an
//! unreadable line anywhere else is an error naming its line. A model
//! entry whose file is missing is forgotten (it is recomputed, with the
//! same id and the same bytes). Stray temporary files are removed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Entry, Evaluation, ExploreError, Header, Trace};
use crate::network::fixed::Precisions;
use crate::network::Mlp;

/// A network and its precisions as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// The network.
    pub net: Mlp,
    /// Its precisions.
    pub precisions: Precisions,
}

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum Record {
    /// The first line.
    Header(Box<Header>),
    /// A model-space entry.
    Model(Box<Entry>),
    /// A LOG line.
    Trace(Trace),
    /// A finished evaluation.
    Eval(Box<Evaluation>),
    /// The run carried on to a new budget (`--resume RUN --evaluations N`):
    /// from this line on it asks for `evaluations`, not the header's, so a
    /// kill during the extra evaluations and a plain `--resume` still end
    /// at `evaluations`.
    Budget {
        /// Evaluations asked.
        evaluations: usize,
    },
}

/// What a run directory held when it was opened.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Model-space entries by id.
    pub entries: HashMap<String, Entry>,
    /// Finished evaluations, in order.
    pub evaluations: Vec<Evaluation>,
    /// The trace.
    pub trace: Vec<Trace>,
    /// Whether a cut-short last line was discarded.
    pub discarded_partial_line: bool,
    /// The last budget record's evaluations, if any.
    pub budget: Option<usize>,
}

impl Loaded {
    /// Evaluations the run asks for: the last budget record's, else the
    /// header's.
    pub fn evaluations_asked(&self, header: &Header) -> usize {
        self.budget.unwrap_or(header.config.evaluations)
    }
}

/// An open run directory.
pub struct Store {
    dir: PathBuf,
    log: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExploreError + '_ {
    move |e| ExploreError::Io {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

/// The log's path in `dir`.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("log.jsonl")
}

/// Reads a run directory's log: the header and what it holds, cutting off
/// a partial last line when `repair`.
pub fn read(dir: &Path, repair: bool) -> Result<(Header, Loaded), ExploreError> {
    let path = log_path(dir);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut loaded = Loaded {
        discarded_partial_line: whole < bytes.len(),
        ..Loaded::default()
    };
    if loaded.discarded_partial_line && repair {
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        f.set_len(whole as u64).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    let text = std::str::from_utf8(&bytes[..whole]).map_err(|e| ExploreError::Log {
        path: path.clone(),
        line: 0,
        why: e.to_string(),
    })?;
    let mut header = None;
    for (k, line) in text.lines().enumerate() {
        let rec: Record = serde_json::from_str(line).map_err(|e| ExploreError::Log {
            path: path.clone(),
            line: k + 1,
            why: e.to_string(),
        })?;
        match (k, rec) {
            (0, Record::Header(h)) => header = Some(*h),
            (0, _) | (_, Record::Header(_)) => {
                return Err(ExploreError::Log {
                    path: path.clone(),
                    line: k + 1,
                    why: "a run's log has one header, on its first line".into(),
                })
            }
            (_, Record::Model(e)) => {
                if !e.has_model || dir.join("models").join(format!("{}.json", e.id)).exists() {
                    loaded.entries.insert(e.id.clone(), *e);
                }
            }
            (_, Record::Trace(t)) => loaded.trace.push(t),
            (_, Record::Budget { evaluations }) => loaded.budget = Some(evaluations),
            (_, Record::Eval(e)) => {
                if e.n != loaded.evaluations.len() {
                    return Err(ExploreError::Log {
                        path: path.clone(),
                        line: k + 1,
                        why: format!(
                            "evaluation {} follows {} evaluations",
                            e.n,
                            loaded.evaluations.len()
                        ),
                    });
                }
                loaded.evaluations.push(*e)
            }
        }
    }
    let header = header.ok_or_else(|| ExploreError::Log {
        path: path.clone(),
        line: 1,
        why: "empty: no header (the run was killed before it started; start it again)".into(),
    })?;
    Ok((header, loaded))
}

impl Store {
    /// Creates `dir` with `header` as the log's first line. Refuses a
    /// directory that already holds a log.
    pub fn create(dir: &Path, header: &Header) -> Result<Store, ExploreError> {
        let path = log_path(dir);
        if path.exists() {
            return Err(ExploreError::Exists(dir.to_path_buf()));
        }
        let models = dir.join("models");
        std::fs::create_dir_all(&models).map_err(io(&models))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut s = Store {
            dir: dir.to_path_buf(),
            log,
        };
        s.append(&Record::Header(Box::new(header.clone())))?;
        Ok(s)
    }

    /// Reopens `dir` to continue it (the log's partial last line cut off).
    pub fn resume(dir: &Path) -> Result<(Store, Header, Loaded), ExploreError> {
        let (header, loaded) = read(dir, true)?;
        let models = dir.join("models");
        if let Ok(rd) = std::fs::read_dir(&models) {
            for f in rd.flatten() {
                if f.file_name().to_string_lossy().contains(".tmp") {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
        std::fs::create_dir_all(&models).map_err(io(&models))?;
        let path = log_path(dir);
        let log = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        Ok((
            Store {
                dir: dir.to_path_buf(),
                log,
            },
            header,
            loaded,
        ))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one record and waits for the disk.
    pub fn append(&mut self, rec: &Record) -> Result<(), ExploreError> {
        let path = log_path(&self.dir);
        let mut line = serde_json::to_vec(rec).map_err(|e| ExploreError::Io {
            path: path.clone(),
            why: e.to_string(),
        })?;
        line.push(b'\n');
        self.log.write_all(&line).map_err(io(&path))?;
        self.log.sync_data().map_err(io(&path))
    }

    /// Writes a model file atomically (temporary, fsync, rename).
    pub fn write_model(&self, id: &str, m: &ModelFile) -> Result<(), ExploreError> {
        let dir = self.dir.join("models");
        let tmp = dir.join(format!(".{id}.json.tmp"));
        let dst = dir.join(format!("{id}.json"));
        let bytes = serde_json::to_vec(m).map_err(|e| ExploreError::Io {
            path: dst.clone(),
            why: e.to_string(),
        })?;
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        let half = bytes.len() / 2;
        f.write_all(&bytes[..half]).map_err(io(&tmp))?;
        super::fault("model-write");
        f.write_all(&bytes[half..]).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &dst).map_err(io(&dst))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads a model file.
    pub fn read_model(&self, id: &str) -> Result<ModelFile, ExploreError> {
        read_model(&self.dir, id)
    }
}

/// Reads model `id` of the run in `dir`.
pub fn read_model(dir: &Path, id: &str) -> Result<ModelFile, ExploreError> {
    let p = dir.join("models").join(format!("{id}.json"));
    let bytes = std::fs::read(&p).map_err(io(&p))?;
    serde_json::from_slice(&bytes).map_err(|e| ExploreError::Io {
        path: p,
        why: e.to_string(),
    })
}

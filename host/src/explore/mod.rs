//! `zest explore`: MetaML-Pro's cross-stage exploration (paper §3–5) on a
//! user's network, with zest's estimator in place of synthesis.
//!
//! # Rooms
//!
//! * [`flow`]: pipe tasks, the flow graph, flow files and built-in flows,
//!   validation, the CFG keys.
//! * [`engine`]: runs a flow once (one evaluation) on the meta-model,
//!   taking a task whose input and configuration were seen before from
//!   the model space instead of running it; FORK paths in parallel.
//! * [`store`]: the meta-model on disk (append-only fsynced log, model
//!   files renamed into place): what makes `--resume` safe after `kill -9`.
//! * [`search`]: grid, random and constrained Bayesian optimisation over
//!   the tolerances (and orders), one [`search::ask`].
//! * [`gp`]: the Gaussian process and expected improvement BO uses.
//! * [`pareto`]: dominance, fronts and the exact hypervolume.
//!
//! # One evaluation
//!
//! ```text
//! point (alpha_p, alpha_s, alpha_q[, order]) → CFG Pruning::alpha, Scaling::alpha, Quantization::alpha
//! run the flow: source → … → hls (every reuse factor × strategy estimated) → … → stop
//! result: the designs (model, RF, strategy) of the models reaching stop, each with
//!   accuracy  fixed-point test accuracy (hls4ml's arithmetic, bit-exact)
//!   estimate  LUT, FF, DSP, BRAM18, latency, II from the estimator in the loop
//!   feasible  accuracy ≥ floor and every resource ≤ bound × the part
//!   objectives (1 − acc)/(1 − floor), DSP/(bound·DSPs), LUT/(bound·LUTs)  (see pareto)
//! ```
//!
//! The quality of a run is the exact hypervolume of its feasible designs'
//! objectives against the reference point (1, 1, 1), after every evaluation.

pub mod engine;
pub mod flow;
pub mod gp;
pub mod pareto;
pub mod search;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zest_fixed::FixedType;

use crate::design::{HlsConfig, Strategy, Targets};
use crate::network::optimize::Metrics;
use crate::network::train::TrainOptions;
use flow::{Flow, FlowError};
use search::{Point, SearchKind, Space};

/// The run directory's format name and version.
pub const FORMAT: &str = "zest-explore";
/// See [`FORMAT`].
pub const VERSION: u32 = 1;

/// Why an exploration could not run or continue.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A bad flow or CFG.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// A file system operation failed.
    #[error("{path}: {why}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// A line of a run's log that cannot be trusted.
    #[error("{path}:{line}: {why}")]
    Log {
        /// The log.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// `--out` names a directory that holds a run already.
    #[error("{0} holds a run already: continue it with `zest explore --resume {0}`, or choose another --out")]
    Exists(PathBuf),
    /// A run directory made for something else.
    #[error("{dir}: {why}")]
    Mismatch {
        /// The run.
        dir: PathBuf,
        /// What differs.
        why: String,
    },
    /// The part is not one zest knows the capacity of.
    #[error("part {0:?}: zest does not know its capacity, so nothing can be said to fit (xc7z020clg400-1, xczu9eg, xcu250, xcvu9p, ...)")]
    Part(String),
    /// A task failed.
    #[error("evaluation {eval}, node {node}: {why}")]
    Task {
        /// Evaluation number (0-based).
        eval: usize,
        /// The node.
        node: String,
        /// What failed (a board that stopped answering, QHS that could not start).
        why: String,
    },
}

/// Everything a run is given; the run directory's header keeps it, so
/// `--resume` needs nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreConfig {
    /// The flow run at every evaluation (when the space has one order).
    pub flow: Flow,
    /// The searched space.
    pub space: Space,
    /// The search algorithm.
    pub search: SearchKind,
    /// Evaluations to run.
    pub evaluations: usize,
    /// Seed of the split and of every training.
    pub seed: u64,
    /// Seed of the search (random points, BO's starts and weights): runs
    /// that differ only here explore the same problem.
    pub search_seed: u64,
    /// The data file.
    pub data: PathBuf,
    /// Its label column.
    pub label_column: String,
    /// Validation and test fractions of the split.
    pub val: f64,
    /// See `val`.
    pub test: f64,
    /// The network file (ONNX with weights, or an architecture with `train_network`); none: `hidden`.
    pub network: Option<PathBuf>,
    /// Train the network file's architecture from scratch.
    pub train_network: bool,
    /// Hidden widths when no network file is given.
    pub hidden: Vec<usize>,
    /// Fine-tuning and retraining settings.
    pub train: TrainOptions,
    /// The baseline's uniform precision.
    pub baseline: FixedType,
    /// Part, clock, io type; reuse factor and strategy of `estimate` tasks.
    pub hls: HlsConfig,
    /// CFG entries given on the command line (`HLS::reuse_factors`, ...).
    pub cfg: BTreeMap<String, serde_json::Value>,
    /// Utilisation bound: a design fits when every resource ≤ bound × the part.
    pub bound: f64,
    /// Accuracy floor (fraction); `None`: the source's float test accuracy − `max_loss`.
    pub accuracy_floor: Option<f64>,
    /// See `accuracy_floor`.
    pub max_loss: f64,
    /// `float` (host surrogate) or `fixed` (host fixed-point model or a board: the same numbers).
    pub estimator: String,
    /// Which model answers ([`crate::estimator::Estimator::model_id`]): a
    /// resumed run must be answered by the same one. Empty in runs written
    /// before it was kept.
    #[serde(default)]
    pub model: String,
}

impl ExploreConfig {
    /// CRC-64 of everything that decides a task's output (not the search):
    /// part of every content id, so two runs never share a stale entry.
    pub fn fingerprint(&self, data_crc: &str) -> String {
        let v = serde_json::json!([
            data_crc,
            self.label_column,
            self.val,
            self.test,
            self.seed,
            self.train,
            self.baseline,
            self.hls,
            self.bound,
            self.accuracy_floor,
            self.max_loss,
            self.estimator,
            self.network,
            self.train_network,
            self.hidden
        ]);
        crc64(v.to_string().as_bytes())
    }

    /// The flow an evaluation at `p` runs.
    pub fn flow_at(&self, p: &Point) -> Flow {
        if self.space.orders.len() > 1 {
            flow::builtin(&self.space.orders[p.order]).unwrap_or_else(|| self.flow.clone())
        } else {
            self.flow.clone()
        }
    }

    /// The CFG an evaluation at `p` starts with: the flow's, the command
    /// line's, then the point's tolerances.
    pub fn cfg_at(&self, f: &Flow, p: &Point) -> BTreeMap<String, serde_json::Value> {
        let mut c = f.cfg.clone();
        c.extend(self.cfg.clone());
        let [ap, as_, aq] = p.alphas();
        c.insert("Pruning::alpha".into(), serde_json::json!(ap));
        c.insert("Scaling::alpha".into(), serde_json::json!(as_));
        c.insert("Quantization::alpha".into(), serde_json::json!(aq));
        c
    }
}

/// The log's first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The run's configuration.
    pub config: ExploreConfig,
    /// CRC-64 of the data file's bytes (a resumed run must see the same data).
    pub data_crc: String,
}

/// One design: a model of the model space at one reuse factor and strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The model-space entry (an `hls` or `estimate` task's output).
    pub model: String,
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// Fixed-point test accuracy.
    pub accuracy: f64,
    /// The estimate.
    pub estimate: Targets,
    /// LUT, FF, DSP, BRAM18 in % of the part.
    pub utilisation: [f64; 4],
    /// Every resource within the bound.
    pub fits: bool,
    /// Fits and accuracy ≥ floor.
    pub feasible: bool,
    /// Normalised objectives (see [`pareto`]).
    pub objectives: [f64; 3],
}

/// A model-space entry: a versioned model with the task that made it and its parents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Content id: CRC-64 of (run fingerprint, task, inputs, the task's CFG).
    pub id: String,
    /// Input models.
    pub parents: Vec<String>,
    /// The task.
    pub task: String,
    /// The node that first made it.
    pub node: String,
    /// The task's effective CFG.
    pub cfg: BTreeMap<String, serde_json::Value>,
    /// Whether `models/ID.json` holds its network (else `model` names the entry that does).
    pub has_model: bool,
    /// The entry whose file holds the network (itself when `has_model`).
    pub model: String,
    /// Merges: the entries merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Widths, pruning rate, accuracies and weight bits of its network,
    /// as fields of the entry's JSON.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// What the task reported, in a line.
    pub detail: String,
    /// Designs estimated (hls, estimate, merges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub designs: Vec<Candidate>,
    /// Seconds the task took.
    pub seconds: f64,
}

/// A LOG line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Evaluation (0-based).
    pub eval: usize,
    /// Node.
    pub node: String,
    /// What happened.
    pub what: String,
}

/// A finished evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// 0-based.
    pub n: usize,
    /// The point.
    pub point: Point,
    /// The order's name or the flow's.
    pub flow: String,
    /// (alpha_p, alpha_s, alpha_q).
    pub alphas: [f64; 3],
    /// Entries that reached a stop.
    pub outputs: Vec<String>,
    /// Their designs.
    pub candidates: Vec<Candidate>,
    /// Tasks taken from the model space.
    pub cache_hits: usize,
    /// Tasks run.
    pub tasks_run: usize,
    /// Seconds.
    pub seconds: f64,
}

/// CRC-64/XZ of `bytes`, as 16 hex digits.
pub fn crc64(bytes: &[u8]) -> String {
    format!(
        "{:016x}",
        crc::Crc::<u64>::new(&crc::CRC_64_XZ).checksum(bytes)
    )
}

/// Fault injection for the crash-safety tests: with
/// `ZEST_EXPLORE_FAULT=POINT:N`, the N-th time the run reaches `POINT`
/// (`train`, `model-write`, `eval`) it says so on stderr and stalls, to be
/// killed there.
pub(crate) fn fault(point: &str) {
    static COUNT: std::sync::Mutex<Option<HashMap<String, usize>>> = std::sync::Mutex::new(None);
    let Ok(spec) = std::env::var("ZEST_EXPLORE_FAULT") else {
        return;
    };
    let Some((p, n)) = spec.split_once(':') else {
        return;
    };
    if p != point {
        return;
    }
    let hit = {
        let mut g = COUNT.lock().unwrap_or_else(|e| e.into_inner());
        let c = g
            .get_or_insert_with(HashMap::new)
            .entry(point.to_string())
            .or_default();
        *c += 1;
        n.parse::<usize>().ok() == Some(*c)
    };
    if hit {
        eprintln!("zest: ZEST_EXPLORE_FAULT: stalled at {point} #{n}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

/// One design of the Pareto set, as `pareto.json` and `--json` give it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoDesign {
    /// Fixed-point test accuracy.
    pub accuracy: f64,
    /// Estimated resources and latency.
    pub estimate: Targets,
    /// % of the part.
    pub utilisation: [f64; 4],
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// The model-space entry.
    pub model: String,
    /// Layer widths.
    pub widths: Vec<usize>,
    /// Pruning rate.
    pub pruning_rate: f64,
    /// The configuration that first gave it: flow/order and tolerances.
    pub config: ParetoConfig,
    /// Where its hls4ml hand-off is (relative to the run directory), once written.
    pub export: Option<PathBuf>,
}

/// The configuration of a Pareto design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoConfig {
    /// First evaluation that produced it.
    pub evaluation: usize,
    /// Flow or order.
    pub flow: String,
    /// Pruning tolerance.
    pub alpha_p: f64,
    /// Scaling tolerance.
    pub alpha_s: f64,
    /// Quantization tolerance.
    pub alpha_q: f64,
}

/// A run as `--json` and `show` report it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The run directory.
    pub run: PathBuf,
    /// The flow.
    pub flow: String,
    /// The search.
    pub search: String,
    /// Evaluations finished.
    pub evaluations: usize,
    /// Final feasible hypervolume (reference point (1, 1, 1) in normalised objectives).
    pub hypervolume: f64,
    /// After each evaluation.
    pub hypervolume_trace: Vec<f64>,
    /// The reference point, in the objectives' own units: (accuracy floor, DSP, LUT).
    pub reference: [f64; 3],
    /// Feasible designs seen.
    pub feasible_designs: usize,
    /// Designs seen.
    pub designs: usize,
    /// Seconds the evaluations took, summed (over every session of a resumed run).
    pub evaluation_seconds: f64,
    /// Tasks taken from the model space / run, over all evaluations.
    pub cache_hits: usize,
    /// See `cache_hits`.
    pub tasks_run: usize,
    /// The feasible Pareto set, most accurate first.
    pub pareto: Vec<ParetoDesign>,
}

/// Adds `e`'s feasible designs to the running `front`, kept non-dominated.
fn absorb(front: &mut Vec<[f64; 3]>, e: &Evaluation) {
    front.extend(
        e.candidates
            .iter()
            .filter(|c| c.feasible)
            .map(|c| c.objectives),
    );
    let v: Vec<Vec<f64>> = front.iter().map(|f| f.to_vec()).collect();
    *front = pareto::front(&v).into_iter().map(|i| front[i]).collect();
}

/// Hypervolume after each evaluation of `evals`.
pub fn hypervolume_trace(evals: &[Evaluation]) -> Vec<f64> {
    let mut front = Vec::new();
    evals
        .iter()
        .map(|e| {
            absorb(&mut front, e);
            pareto::hypervolume3(&front)
        })
        .collect()
}

/// The feasible Pareto set of `evals` (by objectives; first occurrence kept).
pub fn pareto_set(evals: &[Evaluation], entries: &HashMap<String, Entry>) -> Vec<ParetoDesign> {
    let mut all: Vec<(&Evaluation, &Candidate)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in evals {
        for c in e.candidates.iter().filter(|c| c.feasible) {
            if seen.insert((c.model.clone(), c.reuse_factor, c.strategy.name_str())) {
                all.push((e, c));
            }
        }
    }
    let v: Vec<Vec<f64>> = all.iter().map(|(_, c)| c.objectives.to_vec()).collect();
    let mut out: Vec<ParetoDesign> = pareto::front(&v)
        .into_iter()
        .map(|i| {
            let (e, c) = all[i];
            let m = entries.get(&c.model);
            ParetoDesign {
                accuracy: c.accuracy,
                estimate: c.estimate,
                utilisation: c.utilisation,
                reuse_factor: c.reuse_factor,
                strategy: c.strategy,
                model: c.model.clone(),
                widths: m.map(|m| m.metrics.widths.clone()).unwrap_or_default(),
                pruning_rate: m.map_or(0.0, |m| m.metrics.pruning_rate),
                config: ParetoConfig {
                    evaluation: e.n,
                    flow: e.flow.clone(),
                    alpha_p: e.alphas[0],
                    alpha_s: e.alphas[1],
                    alpha_q: e.alphas[2],
                },
                export: None,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.accuracy
            .total_cmp(&a.accuracy)
            .then(a.estimate.dsp.total_cmp(&b.estimate.dsp))
            .then(a.estimate.lut.total_cmp(&b.estimate.lut))
    });
    out
}

/// The summary of a run's evaluations.
pub fn summarise(
    dir: &Path,
    header: &Header,
    floor: f64,
    evals: &[Evaluation],
    entries: &HashMap<String, Entry>,
) -> Summary {
    let trace = hypervolume_trace(evals);
    let cap = crate::part::capacity(&header.config.hls.part);
    let b = header.config.bound;
    Summary {
        run: dir.to_path_buf(),
        flow: if header.config.space.orders.len() > 1 {
            format!("orders {}", header.config.space.orders.join(","))
        } else {
            header.config.flow.flow.clone()
        },
        search: header.config.search.name().into(),
        evaluations: evals.len(),
        hypervolume: trace.last().copied().unwrap_or(0.0),
        hypervolume_trace: trace,
        reference: [
            floor,
            cap.map_or(0.0, |c| b * c.dsp),
            cap.map_or(0.0, |c| b * c.lut),
        ],
        feasible_designs: evals
            .iter()
            .map(|e| e.candidates.iter().filter(|c| c.feasible).count())
            .sum(),
        designs: evals.iter().map(|e| e.candidates.len()).sum(),
        evaluation_seconds: evals.iter().map(|e| e.seconds).sum(),
        cache_hits: evals.iter().map(|e| e.cache_hits).sum(),
        tasks_run: evals.iter().map(|e| e.tasks_run).sum(),
        pareto: pareto_set(evals, entries),
    }
}

/// The lower-case name hls4ml writes (`latency`, `resource`).
pub(crate) trait StrategyName {
    /// See the trait.
    fn name_str(&self) -> &'static str;
}

impl StrategyName for Strategy {
    fn name_str(&self) -> &'static str {
        match self {
            Strategy::Latency => "latency",
            Strategy::Resource => "resource",
        }
    }
}

/// Runs evaluations until `config.evaluations` are done (or the space is
/// spent), appending each to `done`; `progress` sees each one and the
/// hypervolume so far.
pub fn run_search(
    engine: &engine::Engine,
    config: &ExploreConfig,
    done: &mut Vec<Evaluation>,
    progress: &mut dyn FnMut(&Evaluation, f64),
) -> Result<(), ExploreError> {
    let mut front = Vec::new();
    for e in done.iter() {
        absorb(&mut front, e);
    }
    while done.len() < config.evaluations {
        let Some(point) = search::ask(config.search, &config.space, config.search_seed, done)
        else {
            break;
        };
        let e = engine.evaluate(config, done.len(), &point)?;
        absorb(&mut front, &e);
        progress(&e, pareto::hypervolume3(&front));
        done.push(e);
    }
    Ok(())
}

/// `pareto.csv`: one row per Pareto design.
pub fn pareto_csv(p: &[ParetoDesign]) -> String {
    let mut s = String::from("accuracy,lut,ff,dsp,bram18,latency_cycles,ii,lut_pct,ff_pct,dsp_pct,bram_pct,reuse_factor,strategy,widths,pruning_rate,flow,alpha_p,alpha_s,alpha_q,evaluation,model,export\n");
    for d in p {
        let t = &d.estimate;
        let w: Vec<String> = d.widths.iter().map(|w| w.to_string()).collect();
        s +=
            &format!(
            "{:.6},{},{},{},{},{},{},{:.2},{:.2},{:.2},{:.2},{},{},{},{:.4},{},{},{},{},{},{},{}\n",
            d.accuracy, t.lut, t.ff, t.dsp, t.bram18, t.latency_cycles, t.ii,
            d.utilisation[0], d.utilisation[1], d.utilisation[2], d.utilisation[3],
            d.reuse_factor, d.strategy.name_str(), w.join("-"), d.pruning_rate,
            d.config.flow, d.config.alpha_p, d.config.alpha_s, d.config.alpha_q,
            d.config.evaluation, d.model,
            d.export.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
        );
    }
    s
}

/// Writes the hls4ml hand-off of `m` built with `hls` (model.onnx,
/// hls4ml_config.yml, design.json) as the directory `to`, renamed into
/// place whole: the end of a run's Pareto designs and the `export` task.
pub fn write_hand_off(
    to: &Path,
    m: &store::ModelFile,
    hls: &HlsConfig,
    features: &[String],
    classes: &[String],
) -> Result<(), ExploreError> {
    let design = crate::network::package::DesignFile::new(
        m.net.clone(),
        m.precisions.clone(),
        hls.clone(),
        features.to_vec(),
        classes.to_vec(),
    );
    let files = crate::network::package::files(&design, Vec::new());
    crate::network::package::write_dir(to, &files).map_err(|e| ExploreError::Io {
        path: to.to_path_buf(),
        why: e.to_string(),
    })
}

/// Writes each Pareto design's hls4ml hand-off (model.onnx,
/// hls4ml_config.yml, design.json) under `RUN/pareto/K/`, then
/// `pareto.csv` and `pareto.json`; sets each design's `export`.
pub fn write_outputs(
    dir: &Path,
    summary: &mut Summary,
    entries: &HashMap<String, Entry>,
    hls: &HlsConfig,
    features: &[String],
    classes: &[String],
) -> Result<(), ExploreError> {
    for (k, d) in summary.pareto.iter_mut().enumerate() {
        let file = entries
            .get(&d.model)
            .map_or(d.model.clone(), |e| e.model.clone());
        let m = store::read_model(dir, &file)?;
        let rel = PathBuf::from("pareto").join(format!("{k:02}"));
        let knobs = HlsConfig {
            reuse_factor: d.reuse_factor,
            strategy: d.strategy,
            ..hls.clone()
        };
        write_hand_off(&dir.join(&rel), &m, &knobs, features, classes)?;
        d.export = Some(rel);
    }
    let write = |name: &str, bytes: Vec<u8>| -> Result<(), ExploreError> {
        let p = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &p))
            .map_err(|e| ExploreError::Io {
                path: p,
                why: e.to_string(),
            })
    };
    write("pareto.csv", pareto_csv(&summary.pareto).into_bytes())?;
    write(
        "pareto.json",
        serde_json::to_vec_pretty(&summary.pareto).unwrap_or_default(),
    )?;
    write(
        "summary.json",
        serde_json::to_vec_pretty(&summary).unwrap_or_default(),
    )?;
    Ok(())
}

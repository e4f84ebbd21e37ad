//! Runs a flow: one evaluation is one walk of the graph from its sources
//! to its stops, every task's output a model-space entry.
//!
//! A task whose (task, inputs, effective CFG) was seen before in this run
//! is not run again: its entry's content id is the CRC-64 of exactly
//! those, so the id is the cache key ([`Engine::transform`]). A grid over
//! three tolerances of SPQ then runs 7 scalings, 49 prunings and 343
//! quantizations. FORK paths run in parallel (rayon); each path carries
//! its own copy of the CFG, which a BRANCH's action may change.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;
use zest_fixed::FixedType;

use super::flow::{Action, Flow, Node, Predicate, Reduction, Task};
use super::search::Point;
use super::store::{ModelFile, Record, Store};
use super::{
    crc64, fault, pareto, Candidate, Entry, Evaluation, ExploreConfig, ExploreError, StrategyName,
    Trace,
};
use crate::dataset::{Dataset, Split};
use crate::design::{HlsConfig, Strategy};
use crate::estimator::Estimator;
use crate::network::fixed::Precisions;
use crate::network::optimize::Metrics;
use crate::network::prune::{auto_prune, PruneConfig};
use crate::network::quantize::{qhs, QuantizeConfig};
use crate::network::scale::{auto_scale, ScaleConfig};
use crate::network::train::TrainOptions;
use crate::network::Mlp;
use crate::part::Capacity;

/// What every task of a run shares.
pub struct Context<'a> {
    /// The data.
    pub data: &'a Dataset,
    /// Its split.
    pub split: &'a Split,
    /// Training settings.
    pub train: TrainOptions,
    /// Part, clock, io type, and the `estimate` task's RF and strategy.
    pub hls: HlsConfig,
    /// The part's capacity.
    pub capacity: Capacity,
    /// Utilisation bound.
    pub bound: f64,
    /// Accuracy floor.
    pub floor: f64,
    /// CRC of the run's configuration and data: part of every content id.
    pub fingerprint: String,
    /// The baseline precision (a scaled network, retrained from scratch, starts again from it).
    pub baseline: FixedType,
}

/// The flow runner and the model space.
pub struct Engine<'a> {
    ctx: Context<'a>,
    store: Mutex<Store>,
    entries: Mutex<HashMap<String, Entry>>,
    models: Mutex<HashMap<String, Arc<ModelFile>>>,
    estimator: Mutex<&'a mut Estimator>,
    hits: AtomicUsize,
    runs: AtomicUsize,
    root: String,
}

type Cfg = BTreeMap<String, Value>;

fn defaults(key: &str) -> Value {
    match key {
        "Pruning::alpha" | "Scaling::alpha" => serde_json::json!(0.02),
        "Pruning::beta" => serde_json::json!(0.02),
        "Scaling::factor" => serde_json::json!(0.75),
        "Quantization::alpha" => serde_json::json!(0.01),
        "HLS::reuse_factors" => serde_json::json!(super::flow::DEFAULT_REUSE_FACTORS),
        "HLS::strategies" => serde_json::json!(super::flow::DEFAULT_STRATEGIES),
        "Branch::raise" => serde_json::json!(2.0),
        "Branch::max_loops" => serde_json::json!(6),
        _ => Value::Null,
    }
}

/// The effective value of `key` (of `node`'s class) in `cfg`: `node@key`,
/// else `Class::key`, else the default.
fn lookup(cfg: &Cfg, node: &Node, class: &str, key: &str) -> Value {
    cfg.get(&format!("{}@{key}", node.name))
        .or_else(|| cfg.get(&format!("{class}::{key}")))
        .cloned()
        .unwrap_or_else(|| defaults(&format!("{class}::{key}")))
}

fn effective(cfg: &Cfg, node: &Node) -> Cfg {
    let Some((class, keys)) = node.task.cfg_class() else {
        return Cfg::new();
    };
    keys.iter()
        .map(|k| (format!("{class}::{k}"), lookup(cfg, node, class, k)))
        .collect()
}

fn num(c: &Cfg, k: &str) -> f64 {
    c.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A network measured into an entry ([`Metrics`], the same as `zest
/// optimize`'s rows; id, task and designs left empty).
fn measure(data: &Dataset, split: &Split, net: &Mlp, p: &Precisions) -> Entry {
    Entry {
        id: String::new(),
        parents: Vec::new(),
        task: String::new(),
        node: String::new(),
        cfg: Cfg::new(),
        has_model: true,
        model: String::new(),
        members: Vec::new(),
        metrics: Metrics::of(net, p, data, split),
        detail: String::new(),
        designs: Vec::new(),
        seconds: 0.0,
    }
}

impl<'a> Engine<'a> {
    /// An engine over `store`, with the entries already in it, whose source model is `root`.
    pub fn new(
        ctx: Context<'a>,
        store: Store,
        entries: HashMap<String, Entry>,
        estimator: &'a mut Estimator,
        root: String,
    ) -> Self {
        Engine {
            ctx,
            store: Mutex::new(store),
            entries: Mutex::new(entries),
            models: Mutex::new(HashMap::new()),
            estimator: Mutex::new(estimator),
            hits: AtomicUsize::new(0),
            runs: AtomicUsize::new(0),
            root,
        }
    }

    /// The model space so far.
    pub fn entries(&self) -> HashMap<String, Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The accuracy floor.
    pub fn floor(&self) -> f64 {
        self.ctx.floor
    }

    fn append(&self, rec: &Record) -> Result<(), ExploreError> {
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(rec)
    }

    fn trace(&self, eval: usize, node: &str, what: String) -> Result<(), ExploreError> {
        self.append(&Record::Trace(Trace {
            eval,
            node: node.to_string(),
            what,
        }))
    }

    fn model(&self, id: &str) -> Result<Arc<ModelFile>, ExploreError> {
        let file_id = {
            let e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            e.get(id).map_or(id.to_string(), |e| e.model.clone())
        };
        if let Some(m) = self
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&file_id)
        {
            return Ok(m.clone());
        }
        let m = Arc::new(
            self.store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .read_model(&file_id)?,
        );
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file_id, m.clone());
        Ok(m)
    }

    fn entry(&self, id: &str) -> Option<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn measure(&self, net: &Mlp, p: &Precisions) -> Entry {
        measure(self.ctx.data, self.ctx.split, net, p)
    }

    fn put(&self, mut e: Entry, m: Option<ModelFile>) -> Result<String, ExploreError> {
        if let Some(m) = m {
            self.store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .write_model(&e.id, &m)?;
            e.model = e.id.clone();
            e.has_model = true;
            self.models
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(e.id.clone(), Arc::new(m));
        }
        self.append(&Record::Model(Box::new(e.clone())))?;
        let id = e.id.clone();
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), e);
        Ok(id)
    }

    /// The source entry for `net` at the uniform `baseline` (made once per
    /// run, before the accuracy floor that depends on it is known).
    pub fn source(
        data: &Dataset,
        split: &Split,
        fingerprint: &str,
        store: &mut Store,
        net: &Mlp,
        baseline: FixedType,
    ) -> Result<Entry, ExploreError> {
        let p = Precisions::uniform(baseline, net.layers.len());
        let json = serde_json::to_vec(net).unwrap_or_default();
        let id = crc64(format!("{fingerprint}|source|{}", crc64(&json)).as_bytes());
        let e = Entry {
            id: id.clone(),
            task: "source".into(),
            node: "source".into(),
            model: id.clone(),
            detail: format!(
                "the input network at {}",
                crate::network::export::hls4ml_type(&baseline)
            ),
            ..measure(data, split, net, &p)
        };
        store.write_model(
            &id,
            &ModelFile {
                net: net.clone(),
                precisions: p,
            },
        )?;
        store.append(&Record::Model(Box::new(e.clone())))?;
        Ok(e)
    }

    fn candidate(
        &self,
        model: &str,
        rf: u32,
        strategy: Strategy,
        accuracy: f64,
        r: &crate::estimate::EstimateReport,
    ) -> Candidate {
        let c = &self.ctx.capacity;
        let t = r.targets;
        let utilisation = [
            100.0 * t.lut / c.lut,
            100.0 * t.ff / c.ff,
            100.0 * t.dsp / c.dsp,
            100.0 * t.bram18 / c.bram18,
        ];
        let fits = utilisation.iter().all(|u| *u <= 100.0 * self.ctx.bound);
        let floor = self.ctx.floor;
        Candidate {
            model: model.to_string(),
            reuse_factor: rf,
            strategy,
            accuracy,
            estimate: t,
            utilisation,
            fits,
            feasible: fits && accuracy >= floor,
            objectives: [
                (1.0 - accuracy) / (1.0 - floor).max(1e-9),
                t.dsp / (self.ctx.bound * c.dsp),
                t.lut / (self.ctx.bound * c.lut),
            ],
        }
    }

    /// The `export` task: writes the hls4ml hand-off of `designs`' feasible
    /// non-dominated members (of the model itself at the run's RF and
    /// strategy when `designs` is empty) under `RUN/exports/ID/K/`, each
    /// directory renamed into place whole; returns the trace's detail.
    fn export(&self, id: &str, m: &ModelFile, designs: &[Candidate]) -> Result<String, String> {
        let feasible: Vec<&Candidate> = designs.iter().filter(|c| c.feasible).collect();
        let points: Vec<Vec<f64>> = feasible.iter().map(|c| c.objectives.to_vec()).collect();
        let knobs: Vec<(u32, Strategy)> = if designs.is_empty() {
            vec![(self.ctx.hls.reuse_factor, self.ctx.hls.strategy)]
        } else {
            pareto::front(&points)
                .into_iter()
                .map(|i| (feasible[i].reuse_factor, feasible[i].strategy))
                .collect()
        };
        let dir = self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dir()
            .join("exports")
            .join(id);
        for (k, (rf, strategy)) in knobs.iter().enumerate() {
            let hls = HlsConfig {
                reuse_factor: *rf,
                strategy: *strategy,
                ..self.ctx.hls.clone()
            };
            let (data, to) = (self.ctx.data, dir.join(format!("{k:02}")));
            super::write_hand_off(&to, m, &hls, &data.feature_names, &data.classes)
                .map_err(|e| e.to_string())?;
        }
        Ok(if knobs.is_empty() {
            "no feasible design to export".into()
        } else {
            format!(
                "{} design(s) exported to exports/{id}/ (RF, strategy: {})",
                knobs.len(),
                knobs
                    .iter()
                    .map(|(rf, s)| format!("{rf} {}", s.name_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// Runs a 1 → 1 task of `node` on `input` (or takes it from the model space).
    fn transform(
        &self,
        eval: usize,
        node: &Node,
        input: &str,
        cfg: &Cfg,
    ) -> Result<String, ExploreError> {
        let tcfg = effective(cfg, node);
        let key = serde_json::to_string(&tcfg).unwrap_or_default();
        let id = crc64(
            format!(
                "{}|{}|{input}|{key}",
                self.ctx.fingerprint,
                node.task.name()
            )
            .as_bytes(),
        );
        if self.entry(&id).is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(id);
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        let failed = |why: String| ExploreError::Task {
            eval,
            node: node.name.clone(),
            why,
        };
        let m = self.model(input)?;
        let inp = self
            .entry(input)
            .ok_or_else(|| failed(format!("input model {input} is not in the model space")))?;
        let t0 = Instant::now();
        let (data, split, train) = (self.ctx.data, self.ctx.split, &self.ctx.train);
        let (out, detail): (Option<ModelFile>, String) = match &node.task {
            Task::Prune => {
                fault("train");
                let pc = PruneConfig {
                    alpha: num(&tcfg, "Pruning::alpha"),
                    beta: num(&tcfg, "Pruning::beta"),
                };
                let (n, r) = auto_prune(&m.net, data, split, &pc, train, &mut |_| {});
                (
                    Some(ModelFile {
                        net: n,
                        precisions: m.precisions.clone(),
                    }),
                    format!("pruning rate {:.3} ({} trials)", r.rate, r.trials.len()),
                )
            }
            Task::Scale => {
                fault("train");
                let sc = ScaleConfig {
                    alpha: num(&tcfg, "Scaling::alpha"),
                    factor: num(&tcfg, "Scaling::factor"),
                };
                let (n, r) = auto_scale(&m.net, data, split, &sc, train, &mut |_| {});
                // A retrained network does not inherit precisions QHS chose for another.
                let precisions = if n.widths() == m.net.widths() {
                    m.precisions.clone()
                } else {
                    Precisions::uniform(self.ctx.baseline, n.layers.len())
                };
                (
                    Some(ModelFile { net: n, precisions }),
                    format!("widths {:?} ({} trials)", r.widths, r.trials.len()),
                )
            }
            Task::Quantize => {
                let qc = QuantizeConfig {
                    alpha: num(&tcfg, "Quantization::alpha"),
                };
                let (p, r) =
                    qhs(&m.net, data, split, &qc, |_, _| {}).map_err(|e| failed(e.to_string()))?;
                (
                    Some(ModelFile {
                        net: m.net.clone(),
                        precisions: p,
                    }),
                    format!(
                        "QHS: {} weight bits ({} at <16,6>)",
                        r.bits, r.bits_uniform_16
                    ),
                )
            }
            Task::Hls | Task::Estimate | Task::Export => (None, String::new()),
            other => return Err(failed(format!("{} is not a 1 → 1 task", other.name()))),
        };
        let mut e = match &out {
            Some(o) => self.measure(&o.net, &o.precisions),
            None => Entry {
                has_model: false,
                model: inp.model.clone(),
                designs: Vec::new(),
                ..inp.clone()
            },
        };
        e.id = id.clone();
        e.parents = vec![input.to_string()];
        e.task = node.task.name().into();
        e.node = node.name.clone();
        e.cfg = tcfg.clone();
        e.detail = detail;
        if node.task == Task::Export {
            e.designs = inp.designs.clone();
            e.detail = self.export(&id, &m, &inp.designs).map_err(failed)?;
        }
        if matches!(node.task, Task::Hls | Task::Estimate) {
            let (rfs, strategies): (Vec<u32>, Vec<Strategy>) = if node.task == Task::Estimate {
                (vec![self.ctx.hls.reuse_factor], vec![self.ctx.hls.strategy])
            } else {
                (
                    tcfg.get("HLS::reuse_factors")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_u64().map(|r| r as u32))
                                .collect()
                        })
                        .unwrap_or_default(),
                    tcfg.get("HLS::strategies")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
                        .unwrap_or_default(),
                )
            };
            let mut knobs = Vec::new();
            let mut designs = Vec::new();
            for &strategy in &strategies {
                for &rf in &rfs {
                    let hls = HlsConfig {
                        reuse_factor: rf,
                        strategy,
                        ..self.ctx.hls.clone()
                    };
                    designs.push(m.net.design_at(
                        &format!("zest-explore-{id}-rf{rf}"),
                        &m.precisions,
                        &hls,
                    ));
                    knobs.push((rf, strategy));
                }
            }
            // One batch: a board answers it in as few requests as the protocol allows.
            let reports = self
                .estimator
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .estimate_many(&designs)
                .map_err(|err| failed(format!("estimate: {err}")))?;
            for ((rf, strategy), r) in knobs.into_iter().zip(&reports) {
                e.designs
                    .push(self.candidate(&id, rf, strategy, e.metrics.fixed_test_accuracy, r));
            }
            let fit = e.designs.iter().filter(|c| c.fits).count();
            e.detail = format!(
                "{} designs estimated, {fit} fit within the bound",
                e.designs.len()
            );
        }
        e.seconds = t0.elapsed().as_secs_f64();
        self.put(e, out)
    }

    fn merge(
        &self,
        eval: usize,
        node: &Node,
        arrivals: Vec<String>,
    ) -> Result<String, ExploreError> {
        let mut members: Vec<Entry> = arrivals.iter().filter_map(|a| self.entry(a)).collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members.dedup_by(|a, b| a.id == b.id);
        if let Task::Reduce {
            by: Reduction::Best,
        } = node.task
        {
            let score = |e: &Entry| {
                e.designs
                    .iter()
                    .map(|c| (c.feasible, c.accuracy, -c.estimate.dsp, -c.estimate.lut))
                    .max_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
            };
            let best = members
                .iter()
                .max_by(|a, b| {
                    score(a)
                        .partial_cmp(&score(b))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .ok_or_else(|| ExploreError::Task {
                    eval,
                    node: node.name.clone(),
                    why: "nothing arrived".into(),
                })?;
            self.trace(
                eval,
                &node.name,
                format!("best of {}: {}", members.len(), best.id),
            )?;
            return Ok(best.id.clone());
        }
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        let id = crc64(
            format!(
                "{}|{}|{}",
                self.ctx.fingerprint,
                node.task.name(),
                ids.join(",")
            )
            .as_bytes(),
        );
        if self.entry(&id).is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(id);
        }
        let mut designs: Vec<Candidate> = members.iter().flat_map(|m| m.designs.clone()).collect();
        if let Task::Reduce {
            by: Reduction::Pareto,
        } = node.task
        {
            let pool: Vec<Candidate> = if designs.iter().any(|c| c.feasible) {
                designs.into_iter().filter(|c| c.feasible).collect()
            } else {
                designs
            };
            let v: Vec<Vec<f64>> = pool.iter().map(|c| c.objectives.to_vec()).collect();
            designs = pareto::front(&v)
                .into_iter()
                .map(|i| pool[i].clone())
                .collect();
        }
        let best = members
            .iter()
            .max_by(|a, b| {
                a.metrics
                    .fixed_test_accuracy
                    .total_cmp(&b.metrics.fixed_test_accuracy)
            })
            .cloned()
            .ok_or_else(|| ExploreError::Task {
                eval,
                node: node.name.clone(),
                why: "nothing arrived".into(),
            })?;
        let e = Entry {
            id: id.clone(),
            parents: ids.clone(),
            task: node.task.name().into(),
            node: node.name.clone(),
            cfg: Cfg::new(),
            has_model: false,
            model: best.model.clone(),
            members: ids,
            detail: format!(
                "{} models in, {} designs kept",
                members.len(),
                designs.len()
            ),
            designs,
            seconds: 0.0,
            ..best
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.put(e, None)
    }

    /// Walks `flow` from `start` with `input` until a stop (or `until`, a merge).
    fn walk(
        &self,
        eval: usize,
        flow: &Flow,
        start: &str,
        mut cur: Option<String>,
        cfg: &mut Cfg,
        until: Option<&str>,
    ) -> Result<Vec<String>, ExploreError> {
        let mut x = start.to_string();
        let mut loops: HashMap<String, u64> = HashMap::new();
        loop {
            if Some(x.as_str()) == until {
                return Ok(cur.into_iter().collect());
            }
            let node = flow.node(&x).ok_or_else(|| ExploreError::Task {
                eval,
                node: x.clone(),
                why: "no such node".into(),
            })?;
            let input = || {
                cur.clone().ok_or_else(|| ExploreError::Task {
                    eval,
                    node: node.name.clone(),
                    why: "no model reaches it".into(),
                })
            };
            match &node.task {
                Task::Source => {
                    cur = Some(self.root.clone());
                    x = node.next[0].clone();
                }
                Task::Prune
                | Task::Scale
                | Task::Quantize
                | Task::Hls
                | Task::Estimate
                | Task::Export => {
                    cur = Some(self.transform(eval, node, &input()?, cfg)?);
                    x = node.next[0].clone();
                }
                Task::Branch { predicate, action } => {
                    let e = self.entry(&input()?).ok_or_else(|| ExploreError::Task {
                        eval,
                        node: node.name.clone(),
                        why: "its input is not in the model space".into(),
                    })?;
                    let holds = match predicate {
                        Predicate::Fits => {
                            if e.designs.is_empty() {
                                return Err(ExploreError::Task {
                                    eval,
                                    node: node.name.clone(),
                                    why: "`if: fits` needs estimated designs: put an hls or estimate task before it".into(),
                                });
                            }
                            e.designs.iter().any(|c| c.fits)
                        }
                        Predicate::Accurate => e.metrics.fixed_test_accuracy >= self.ctx.floor,
                    };
                    if holds {
                        self.trace(
                            eval,
                            &node.name,
                            format!("{predicate:?} holds for {}: take {}", e.id, node.next[0]),
                        )?;
                        x = node.next[0].clone();
                        continue;
                    }
                    let n = loops.entry(node.name.clone()).or_default();
                    *n += 1;
                    let (class, _) = node.task.cfg_class().unwrap_or(("Branch", &[]));
                    let max = lookup(cfg, node, class, "max_loops").as_u64().unwrap_or(6);
                    if *n > max {
                        self.trace(eval, &node.name, format!("{predicate:?} still fails after {max} rounds: the path ends with {}", e.id))?;
                        return Ok(vec![e.id]);
                    }
                    if let Some(Action::RaiseTolerances) = action {
                        let raise = lookup(cfg, node, class, "raise").as_f64().unwrap_or(2.0);
                        let mut raised = Vec::new();
                        for key in ["Pruning::alpha", "Scaling::alpha", "Quantization::alpha"] {
                            let v = cfg
                                .get(key)
                                .and_then(Value::as_f64)
                                .unwrap_or_else(|| defaults(key).as_f64().unwrap_or(0.01));
                            let nv = (v * raise).min(0.5);
                            cfg.insert(key.into(), serde_json::json!(nv));
                            raised.push(format!("{key} {v} -> {nv}"));
                        }
                        let node_keys: Vec<String> = cfg
                            .keys()
                            .filter(|k| k.ends_with("@alpha"))
                            .cloned()
                            .collect();
                        for key in node_keys {
                            let v = cfg[&key].as_f64().unwrap_or(0.01);
                            cfg.insert(key.clone(), serde_json::json!((v * raise).min(0.5)));
                        }
                        self.trace(
                            eval,
                            &node.name,
                            format!("{predicate:?} fails for {} (round {n}): raise tolerances ({}), back to {}", e.id, raised.join(", "), node.next[1]),
                        )?;
                    } else {
                        self.trace(
                            eval,
                            &node.name,
                            format!("{predicate:?} fails for {}: take {}", e.id, node.next[1]),
                        )?;
                    }
                    x = node.next[1].clone();
                }
                Task::Fork => {
                    let join = flow
                        .meet(&node.next[0], &flow.flow, &node.name)?
                        .to_string();
                    let inp = input()?;
                    let paths: Vec<Result<Vec<String>, ExploreError>> = node
                        .next
                        .par_iter()
                        .map(|s| {
                            let mut c = cfg.clone();
                            self.walk(eval, flow, s, Some(inp.clone()), &mut c, Some(&join))
                        })
                        .collect();
                    let mut arrivals = Vec::new();
                    for p in paths {
                        arrivals.extend(p?);
                    }
                    let j = flow.node(&join).ok_or_else(|| ExploreError::Task {
                        eval,
                        node: join.clone(),
                        why: "no such node".into(),
                    })?;
                    cur = Some(self.merge(eval, j, arrivals)?);
                    x = j.next[0].clone();
                }
                Task::Join | Task::Reduce { .. } => {
                    return Err(ExploreError::Task {
                        eval,
                        node: node.name.clone(),
                        why: "reached outside the fork that feeds it".into(),
                    })
                }
                Task::Stop => return Ok(cur.into_iter().collect()),
            }
        }
    }

    /// Runs evaluation `n` at `point` of `config`.
    pub fn evaluate(
        &self,
        config: &ExploreConfig,
        n: usize,
        point: &Point,
    ) -> Result<Evaluation, ExploreError> {
        let t0 = Instant::now();
        let (h0, r0) = (
            self.hits.load(Ordering::Relaxed),
            self.runs.load(Ordering::Relaxed),
        );
        let flow = config.flow_at(point);
        let mut outputs = Vec::new();
        for s in flow.nodes.iter().filter(|n| n.task == Task::Source) {
            let mut cfg = config.cfg_at(&flow, point);
            outputs.extend(self.walk(n, &flow, &s.name, None, &mut cfg, None)?);
        }
        let mut candidates = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for o in &outputs {
            if let Some(e) = self.entry(o) {
                for c in e.designs {
                    if seen.insert((c.model.clone(), c.reuse_factor, c.strategy as u8)) {
                        candidates.push(c);
                    }
                }
            }
        }
        let e = Evaluation {
            n,
            point: point.clone(),
            flow: flow.flow.clone(),
            alphas: point.alphas(),
            outputs,
            candidates,
            cache_hits: self.hits.load(Ordering::Relaxed) - h0,
            tasks_run: self.runs.load(Ordering::Relaxed) - r0,
            seconds: t0.elapsed().as_secs_f64(),
        };
        self.append(&Record::Eval(Box::new(e.clone())))?;
        fault("eval");
        Ok(e)
    }
}

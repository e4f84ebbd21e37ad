//! Flows: MetaML-Pro's pipe tasks (paper §3.2–3.4, Table 1) wired into a
//! graph, read from YAML or built in, and validated before anything runs.
//!
//! # A flow file
//!
//! ```yaml
//! flow: my-bottom-up                 # a name (the run directory records it)
//! description: SPQ until it fits     # optional
//! nodes:                             # any order; `next` names successors
//!   - {name: in,   task: source,   next: [s]}
//!   - {name: s,    task: scale,    next: [p]}
//!   - {name: p,    task: prune,    next: [q]}
//!   - {name: q,    task: quantize, next: [hls]}
//!   - {name: hls,  task: hls,      next: [fits]}
//!   - {name: fits, task: branch, if: fits, else: raise-tolerances, next: [done, s]}
//!   - {name: done, task: stop}
//! cfg:                               # the meta-model's CFG
//!   Pruning::alpha: 0.02             # every node of a task class
//!   p@beta: 0.01                     # one node (node@key wins over Class::key)
//! ```
//!
//! # Tasks and their multiplicity (models in → models out)
//!
//! ```text
//! source    0 → 1   the user's network at the baseline precision
//! prune     1 → 1   auto-pruning within Pruning::alpha (step Pruning::beta)
//! scale     1 → 1   scaling within Scaling::alpha (factor Scaling::factor)
//! quantize  1 → 1   QHS within Quantization::alpha
//! hls       1 → 1   HLS knobs: every HLS::reuse_factors × HLS::strategies, each estimated
//! estimate  1 → 1   the estimate at the run's own reuse factor and strategy
//! export    1 → 1   the hls4ml hand-off (model.onnx, hls4ml_config.yml, design.json)
//!                   of its input's feasible non-dominated designs (the run's own
//!                   RF and strategy when none was estimated) under RUN/exports/ID/;
//!                   the model and its designs pass on unchanged
//! branch    1 → 2   next[0] when `if` holds (fits | accurate), else next[1] after `else`
//! fork      1 → n   the same model down n ≥ 2 paths, run in parallel
//! join      n → 1   every arriving model kept
//! reduce    n → 1   `by: pareto` (non-dominated designs) or `by: best` (one model)
//! stop      1 → 0   the models reaching it are the evaluation's result
//! ```
//!
//! # Rules checked by [`Flow::validate`], each violation naming its node
//!
//! at least one source; names unique; every `next` names a node; each
//! task's out-degree as above and a join/reduce entered ≥ 2 times; every
//! node reachable from a source; every node reaches a stop; cycles only
//! through a branch (the graph without branch edges is acyclic); every
//! fork's paths meet at one join/reduce entered by exactly those paths.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use yaml_rust2::{Yaml, YamlLoader};

/// Why a flow was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("flow {flow}: {place}: {why}")]
pub struct FlowError {
    /// The flow's file or name.
    pub flow: String,
    /// Where: a node, a CFG key, a line.
    pub place: String,
    /// What is wrong.
    pub why: String,
}

/// What a branch tests on the model reaching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Predicate {
    /// Some estimated design of the model fits the part within the bound.
    Fits,
    /// The model's fixed-point accuracy is at or above the floor.
    Accurate,
}

/// What a branch does to the CFG before taking its `else` edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Multiply every tolerance (Pruning/Scaling/Quantization alpha) by `Branch::raise`.
    RaiseTolerances,
}

/// How a reduce keeps models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// The non-dominated designs of every arriving model.
    Pareto,
    /// The one model with the best score (most accurate feasible design, fewest DSP then LUT).
    Best,
}

/// A pipe task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum Task {
    /// 0 → 1.
    Source,
    /// Auto-pruning.
    Prune,
    /// Scaling.
    Scale,
    /// QHS.
    Quantize,
    /// HLS knobs.
    Hls,
    /// One estimate.
    Estimate,
    /// The hls4ml hand-off of its input's designs, written into the run directory.
    Export,
    /// 1 → 2.
    Branch {
        /// The test.
        #[serde(rename = "if")]
        predicate: Predicate,
        /// Done before the `else` edge.
        #[serde(rename = "else", default, skip_serializing_if = "Option::is_none")]
        action: Option<Action>,
    },
    /// 1 → n.
    Fork,
    /// n → 1.
    Join,
    /// n → 1.
    Reduce {
        /// The reduction.
        by: Reduction,
    },
    /// 1 → 0.
    Stop,
}

impl Task {
    /// The name in flow files.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Source => "source",
            Task::Prune => "prune",
            Task::Scale => "scale",
            Task::Quantize => "quantize",
            Task::Hls => "hls",
            Task::Estimate => "estimate",
            Task::Export => "export",
            Task::Branch { .. } => "branch",
            Task::Fork => "fork",
            Task::Join => "join",
            Task::Reduce { .. } => "reduce",
            Task::Stop => "stop",
        }
    }

    /// The CFG class (`Pruning` in `Pruning::alpha`) and the keys it takes.
    pub fn cfg_class(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Task::Prune => Some(("Pruning", &["alpha", "beta"])),
            Task::Scale => Some(("Scaling", &["alpha", "factor"])),
            Task::Quantize => Some(("Quantization", &["alpha"])),
            Task::Hls | Task::Estimate => Some(("HLS", &["reuse_factors", "strategies"])),
            Task::Branch { .. } => Some(("Branch", &["raise", "max_loops"])),
            _ => None,
        }
    }

    /// Out-degree: exact, or at least 2 (`None`).
    fn out_degree(&self) -> Option<usize> {
        match self {
            Task::Stop => Some(0),
            Task::Branch { .. } => Some(2),
            Task::Fork => None,
            _ => Some(1),
        }
    }

    fn is_merge(&self) -> bool {
        matches!(self, Task::Join | Task::Reduce { .. })
    }
}

/// One node of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Successors, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
}

/// A flow: nodes and the CFG they start with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Its name.
    pub flow: String,
    /// One line on what it does.
    #[serde(default)]
    pub description: String,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// CFG entries (`Class::key` or `node@key`).
    #[serde(default)]
    pub cfg: BTreeMap<String, serde_json::Value>,
}

/// The CFG classes' keys, for `zest explore flows`.
pub const CFG_KEYS: &[(&str, &str)] = &[
    (
        "Pruning::alpha",
        "largest validation-accuracy loss of auto-pruning (fraction)",
    ),
    (
        "Pruning::beta",
        "auto-pruning stops when the rate interval is narrower",
    ),
    (
        "Scaling::alpha",
        "largest validation-accuracy loss of scaling (fraction)",
    ),
    (
        "Scaling::factor",
        "each scaling try multiplies the hidden widths by this",
    ),
    (
        "Quantization::alpha",
        "largest fixed-point accuracy loss of QHS (fraction)",
    ),
    (
        "HLS::reuse_factors",
        "reuse factors the hls task tries (default [1, 2, 4, 8, 16, 32, 64])",
    ),
    (
        "HLS::strategies",
        "strategies the hls task tries (default [latency, resource])",
    ),
    (
        "Branch::raise",
        "factor a raise-tolerances action multiplies each alpha by (default 2)",
    ),
    (
        "Branch::max_loops",
        "most times a branch takes its else edge in one evaluation (default 6)",
    ),
];

/// Reuse factors every `hls` task estimates when neither the flow nor the
/// command line names `HLS::reuse_factors`: powers of two up to 64. An
/// estimate costs microseconds, and on a small part the reuse factor is
/// what lets an unpruned network fit at all (digits 64-32-32-10 needs
/// 682 DSPs at RF 1, 273 at RF 8 — more than xc7z020's 220 — and 85 at
/// RF 64, Resource).
pub const DEFAULT_REUSE_FACTORS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Strategies every `hls` task estimates when neither the flow nor the
/// command line names `HLS::strategies`.
pub const DEFAULT_STRATEGIES: [&str; 2] = ["latency", "resource"];

/// The three task orders' letters MetaML-Pro's outer search chooses among (Q, SP, SQ, PQ, SPQ, S, P).
pub const METAML_ORDERS: [&str; 7] = ["q", "sp", "sq", "pq", "spq", "s", "p"];

fn letter_task(c: char) -> Option<Task> {
    match c {
        'p' => Some(Task::Prune),
        's' => Some(Task::Scale),
        'q' => Some(Task::Quantize),
        _ => None,
    }
}

fn node(name: impl Into<String>, task: Task, next: &[&str]) -> Node {
    Node {
        name: name.into(),
        task,
        next: next.iter().map(|s| s.to_string()).collect(),
    }
}

/// The nodes of one order's chain, `prefix` on every name, ending in `end`.
fn chain(order: &str, prefix: &str, end: &str) -> Vec<Node> {
    let mut names: Vec<String> = order.chars().map(|c| format!("{prefix}{c}")).collect();
    names.push(format!("{prefix}hls"));
    let mut out = Vec::new();
    for (k, c) in order.chars().enumerate() {
        if let Some(t) = letter_task(c) {
            out.push(node(names[k].clone(), t, &[&names[k + 1]]));
        }
    }
    out.push(node(format!("{prefix}hls"), Task::Hls, &[end]));
    out
}

/// Every built-in flow's name.
pub fn builtin_names() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for a in ["p", "s", "q"] {
        names.push(a.into());
    }
    for o in ["sp", "ps", "sq", "qs", "pq", "qp"] {
        names.push(o.into());
    }
    for o in ["spq", "sqp", "psq", "pqs", "qsp", "qps"] {
        names.push(o.into());
    }
    names.push("orders".into());
    names.push("bottom-up".into());
    names
}

/// A built-in flow by name: any order of p, s, q (each task once), `orders`
/// (a FORK over MetaML-Pro's seven orders and a Pareto REDUCE) or
/// `bottom-up` (SPQ, then a BRANCH that raises the tolerances and goes
/// round again while no design fits the part, §5.6).
pub fn builtin(name: &str) -> Option<Flow> {
    let lower = name.to_ascii_lowercase();
    let cfg = BTreeMap::new();
    if lower == "orders" {
        let mut nodes = vec![node("in", Task::Source, &["fork"])];
        let heads: Vec<String> = METAML_ORDERS
            .iter()
            .map(|o| format!("{o}.{}", &o[..1]))
            .collect();
        nodes.push(Node {
            name: "fork".into(),
            task: Task::Fork,
            next: heads,
        });
        for o in METAML_ORDERS {
            nodes.extend(chain(o, &format!("{o}."), "pareto"));
        }
        nodes.push(node(
            "pareto",
            Task::Reduce {
                by: Reduction::Pareto,
            },
            &["done"],
        ));
        nodes.push(node("done", Task::Stop, &[]));
        return Some(Flow {
            flow: "orders".into(),
            description: "FORK over MetaML-Pro's seven task orders (q, sp, sq, pq, spq, s, p), each with the HLS knobs, then a Pareto REDUCE".into(),
            nodes,
            cfg,
        });
    }
    if lower == "bottom-up" {
        let mut nodes = vec![node("in", Task::Source, &["s"])];
        nodes.extend(chain("spq", "", "fits"));
        nodes.push(node(
            "fits",
            Task::Branch {
                predicate: Predicate::Fits,
                action: Some(Action::RaiseTolerances),
            },
            &["done", "s"],
        ));
        nodes.push(node("done", Task::Stop, &[]));
        return Some(Flow {
            flow: "bottom-up".into(),
            description: "SPQ and the HLS knobs; while no design fits the part, raise every tolerance (x Branch::raise) and go round again (MetaML-Pro §5.6)".into(),
            nodes,
            cfg,
        });
    }
    let letters: BTreeSet<char> = lower.chars().collect();
    if lower.is_empty()
        || letters.len() != lower.len()
        || !lower.chars().all(|c| letter_task(c).is_some())
    {
        return None;
    }
    let first = lower[..1].to_string();
    let mut nodes = vec![node("in", Task::Source, &[&first])];
    nodes.extend(chain(&lower, "", "done"));
    nodes.push(node("done", Task::Stop, &[]));
    Some(Flow {
        flow: lower.clone(),
        description: format!(
            "{} in that order, then the HLS knobs",
            lower
                .chars()
                .map(|c| match c {
                    'p' => "prune",
                    's' => "scale",
                    _ => "quantize",
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        nodes,
        cfg,
    })
}

fn err(flow: &str, place: impl Into<String>, why: impl Into<String>) -> FlowError {
    FlowError {
        flow: flow.to_string(),
        place: place.into(),
        why: why.into(),
    }
}

fn yaml_to_json(y: &Yaml) -> Option<serde_json::Value> {
    Some(match y {
        Yaml::Real(s) => serde_json::json!(s.parse::<f64>().ok()?),
        Yaml::Integer(i) => serde_json::json!(i),
        Yaml::String(s) => serde_json::json!(s),
        Yaml::Boolean(b) => serde_json::json!(b),
        Yaml::Array(a) => {
            serde_json::Value::Array(a.iter().map(yaml_to_json).collect::<Option<_>>()?)
        }
        Yaml::Hash(h) => {
            let mut m = serde_json::Map::new();
            for (k, v) in h {
                m.insert(k.as_str()?.to_string(), yaml_to_json(v)?);
            }
            serde_json::Value::Object(m)
        }
        Yaml::Null => serde_json::Value::Null,
        _ => return None,
    })
}

impl Flow {
    /// Reads a flow file (YAML, or JSON, which is YAML) and validates it.
    pub fn read(path: &Path) -> Result<Flow, FlowError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| err(&shown, "file", e.to_string()))?;
        Flow::parse(&text, &shown)
    }

    /// Parses flow text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Flow, FlowError> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| {
            err(
                origin,
                format!("line {}", e.marker().line()),
                format!("not YAML: {}", e.info()),
            )
        })?;
        let doc = docs.first().ok_or_else(|| {
            err(
                origin,
                "file",
                "empty (a flow has `flow`, `nodes` and optionally `cfg`)",
            )
        })?;
        let json = yaml_to_json(doc).ok_or_else(|| err(origin, "file", "keys must be strings"))?;
        let serde_json::Value::Object(top) = &json else {
            return Err(err(
                origin,
                "file",
                "a flow is a mapping with `flow`, `nodes` and `cfg`",
            ));
        };
        for k in top.keys() {
            if !["flow", "description", "nodes", "cfg"].contains(&k.as_str()) {
                return Err(err(
                    origin,
                    k.clone(),
                    "unknown key (flow, description, nodes, cfg)",
                ));
            }
        }
        let Some(serde_json::Value::Array(raw)) = top.get("nodes") else {
            return Err(err(
                origin,
                "nodes",
                "missing: a list of {name, task, next}",
            ));
        };
        let mut nodes = Vec::new();
        for (i, n) in raw.iter().enumerate() {
            let name = n.get("name").and_then(|v| v.as_str()).unwrap_or("?");
            let place = format!("nodes[{i}] ({name})");
            let task = n.get("task").and_then(|v| v.as_str()).unwrap_or("");
            let known = [
                "source", "prune", "scale", "quantize", "hls", "estimate", "export", "branch",
                "fork", "join", "reduce", "stop",
            ];
            if task == "synthesis" {
                return Err(err(origin, place, "task synthesis needs Vivado HLS or Vitis HLS, which are not installed here; use hls (estimated) instead"));
            }
            if !known.contains(&task) {
                return Err(err(
                    origin,
                    place,
                    format!("unknown task {task:?} (one of {})", known.join(", ")),
                ));
            }
            let node: Node = serde_json::from_value(n.clone())
                .map_err(|e| err(origin, place.clone(), e.to_string()))?;
            nodes.push(node);
        }
        let mut cfg = BTreeMap::new();
        if let Some(c) = top.get("cfg") {
            let serde_json::Value::Object(c) = c else {
                return Err(err(
                    origin,
                    "cfg",
                    "a mapping of Class::key or node@key to values",
                ));
            };
            cfg.extend(c.clone());
        }
        let flow = Flow {
            flow: top
                .get("flow")
                .and_then(|v| v.as_str())
                .ok_or_else(|| err(origin, "flow", "missing: the flow's name"))?
                .to_string(),
            description: top
                .get("description")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            nodes,
            cfg,
        };
        flow.validate(origin)?;
        Ok(flow)
    }

    /// The flow as YAML (a file [`Flow::parse`] reads back).
    pub fn to_yaml(&self) -> String {
        let mut s = format!("flow: {}\n", self.flow);
        if !self.description.is_empty() {
            s += &format!("description: {:?}\n", self.description);
        }
        s += "nodes:\n";
        for n in &self.nodes {
            let mut v = serde_json::to_value(n).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("name");
                o.remove("task");
                o.remove("next");
            }
            let extra: String = v
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| format!(", {k}: {}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            let next = if n.next.is_empty() {
                String::new()
            } else {
                format!(", next: [{}]", n.next.join(", "))
            };
            s += &format!(
                "  - {{name: {}, task: {}{extra}{next}}}\n",
                n.name,
                n.task.name()
            );
        }
        if !self.cfg.is_empty() {
            s += "cfg:\n";
            for (k, v) in &self.cfg {
                s += &format!("  {k}: {v}\n");
            }
        }
        s
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Checks the rules of the module's list; `origin` names the flow in errors.
    pub fn validate(&self, origin: &str) -> Result<(), FlowError> {
        let by_name: HashMap<&str, &Node> =
            self.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        if by_name.len() != self.nodes.len() {
            let mut seen = BTreeSet::new();
            for n in &self.nodes {
                if !seen.insert(&n.name) {
                    return Err(err(
                        origin,
                        format!("node {}", n.name),
                        "the name is used twice",
                    ));
                }
            }
        }
        let sources: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.task == Task::Source)
            .collect();
        if sources.is_empty() {
            return Err(err(
                origin,
                "nodes",
                "no source: a flow starts at a node with task: source",
            ));
        }
        let mut indegree: HashMap<&str, usize> = HashMap::new();
        for n in &self.nodes {
            let place = format!("node {} ({})", n.name, n.task.name());
            for s in &n.next {
                let Some(t) = by_name.get(s.as_str()) else {
                    return Err(err(
                        origin,
                        place,
                        format!("next names {s:?}, which is no node"),
                    ));
                };
                if t.task == Task::Source {
                    return Err(err(
                        origin,
                        place,
                        format!("next names the source {s:?}: a source takes no model (0 → 1)"),
                    ));
                }
                *indegree.entry(s.as_str()).or_default() += 1;
            }
            let k = n.next.len();
            match n.task.out_degree() {
                Some(0) if k > 0 => {
                    return Err(err(
                        origin,
                        place,
                        "a stop ends a path (1 → 0): it has no next",
                    ))
                }
                Some(d) if d != k => {
                    return Err(err(
                        origin,
                        place,
                        format!(
                            "takes 1 model and gives {d} ({}), but next names {k}",
                            multiplicity(&n.task)
                        ),
                    ))
                }
                None if k < 2 => {
                    return Err(err(
                        origin,
                        place,
                        format!(
                            "a fork sends its model down n ≥ 2 paths (1 → n), but next names {k}"
                        ),
                    ))
                }
                _ => {}
            }
        }
        for n in &self.nodes {
            if n.task.is_merge() && indegree.get(n.name.as_str()).copied().unwrap_or(0) < 2 {
                return Err(err(
                    origin,
                    format!("node {} ({})", n.name, n.task.name()),
                    "a join/reduce merges n ≥ 2 paths (n → 1), but fewer lead into it",
                ));
            }
        }
        // Reachable from a source.
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = sources.iter().map(|n| n.name.as_str()).collect();
        while let Some(x) = stack.pop() {
            if seen.insert(x) {
                stack.extend(by_name[x].next.iter().map(|s| s.as_str()));
            }
        }
        if let Some(n) = self.nodes.iter().find(|n| !seen.contains(n.name.as_str())) {
            return Err(err(
                origin,
                format!("node {}", n.name),
                "no source leads to it",
            ));
        }
        // Reaches a stop (fixed point over reverse edges).
        let mut ok: BTreeSet<&str> = self
            .nodes
            .iter()
            .filter(|n| n.task == Task::Stop)
            .map(|n| n.name.as_str())
            .collect();
        if ok.is_empty() {
            return Err(err(
                origin,
                "nodes",
                "no stop: every path must end at a node with task: stop",
            ));
        }
        loop {
            let before = ok.len();
            for n in &self.nodes {
                if n.next.iter().any(|s| ok.contains(s.as_str())) {
                    ok.insert(n.name.as_str());
                }
            }
            if ok.len() == before {
                break;
            }
        }
        if let Some(n) = self.nodes.iter().find(|n| !ok.contains(n.name.as_str())) {
            return Err(err(
                origin,
                format!("node {}", n.name),
                "no path from it reaches a stop",
            ));
        }
        // Cycles only through a branch: without branch edges, acyclic.
        let mut state: HashMap<&str, u8> = HashMap::new();
        fn visit<'a>(
            x: &'a str,
            by_name: &HashMap<&'a str, &'a Node>,
            state: &mut HashMap<&'a str, u8>,
        ) -> Option<&'a str> {
            match state.get(x) {
                Some(1) => return Some(x),
                Some(_) => return None,
                None => {}
            }
            state.insert(x, 1);
            let n = by_name[x];
            if !matches!(n.task, Task::Branch { .. }) {
                for s in &n.next {
                    if let Some(c) = visit(s, by_name, state) {
                        return Some(c);
                    }
                }
            }
            state.insert(x, 2);
            None
        }
        for n in &self.nodes {
            if let Some(c) = visit(&n.name, &by_name, &mut state) {
                return Err(err(
                    origin,
                    format!("node {c}"),
                    "it lies on a cycle with no branch: a flow may loop back only through a branch (1 → 2)",
                ));
            }
        }
        // Structured forks.
        for n in self.nodes.iter().filter(|n| n.task == Task::Fork) {
            let mut meet: Option<&str> = None;
            for s in &n.next {
                let m = self.meet(s, origin, &n.name)?;
                match meet {
                    None => meet = Some(m),
                    Some(j) if j != m => {
                        return Err(err(
                            origin,
                            format!("node {} (fork)", n.name),
                            format!("its paths meet at different merges ({j} and {m}): a fork's paths end at one join/reduce"),
                        ))
                    }
                    _ => {}
                }
            }
            if let Some(j) = meet {
                if indegree.get(j).copied().unwrap_or(0) != n.next.len() {
                    return Err(err(
                        origin,
                        format!("node {j}"),
                        format!(
                            "fork {} sends {} paths into it, but {} lead in",
                            n.name,
                            n.next.len(),
                            indegree.get(j).copied().unwrap_or(0)
                        ),
                    ));
                }
            }
        }
        self.check_cfg(&self.cfg, origin)
    }

    /// The join/reduce a path from `start` (inside fork `fork`) meets.
    pub(crate) fn meet<'a>(
        &'a self,
        start: &'a str,
        origin: &str,
        fork: &str,
    ) -> Result<&'a str, FlowError> {
        let mut x = start;
        for _ in 0..=self.nodes.len() {
            let n = self
                .node(x)
                .ok_or_else(|| err(origin, format!("node {x}"), "no such node"))?;
            match &n.task {
                t if t.is_merge() => return Ok(&n.name),
                Task::Stop => {
                    return Err(err(
                        origin,
                        format!("node {} (fork)", fork),
                        format!("its path through {start} reaches stop {x} before any join/reduce"),
                    ))
                }
                Task::Fork => {
                    let inner = self.meet(&n.next[0], origin, &n.name)?;
                    x = self
                        .node(inner)
                        .map(|j| j.next[0].as_str())
                        .unwrap_or(inner);
                }
                _ => x = &n.next[0],
            }
        }
        Err(err(
            origin,
            format!("node {} (fork)", fork),
            format!("its path through {start} never meets a join/reduce"),
        ))
    }

    /// Checks every CFG key: `Class::key` of a known class, or `node@key`
    /// of a node of this flow whose task takes that key.
    pub fn check_cfg(
        &self,
        cfg: &BTreeMap<String, serde_json::Value>,
        origin: &str,
    ) -> Result<(), FlowError> {
        for (k, v) in cfg {
            let place = format!("cfg {k}");
            if let Some((class, key)) = k.split_once("::") {
                if !CFG_KEYS.iter().any(|(known, _)| *known == k.as_str()) {
                    return Err(err(
                        origin,
                        place,
                        format!(
                            "unknown CFG key {class}::{key} (known: {})",
                            CFG_KEYS
                                .iter()
                                .map(|(k, _)| *k)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            } else if let Some((name, key)) = k.split_once('@') {
                let Some(n) = self.node(name) else {
                    return Err(err(
                        origin,
                        place,
                        format!("no node named {name:?} in this flow"),
                    ));
                };
                let Some((class, keys)) = n.task.cfg_class() else {
                    return Err(err(
                        origin,
                        place,
                        format!("node {name} ({}) takes no CFG keys", n.task.name()),
                    ));
                };
                if !keys.contains(&key) {
                    return Err(err(
                        origin,
                        place,
                        format!("node {name} ({class}) takes {}", keys.join(", ")),
                    ));
                }
            } else {
                return Err(err(
                    origin,
                    place,
                    "a CFG key is Class::key (Pruning::alpha) or node@key (p@alpha)",
                ));
            }
            let ok = match k.rsplit(['@', ':']).next().unwrap_or("") {
                "reuse_factors" => v.as_array().is_some_and(|a| {
                    !a.is_empty() && a.iter().all(|x| x.as_u64().is_some_and(|r| r >= 1))
                }),
                "strategies" => v.as_array().is_some_and(|a| {
                    !a.is_empty()
                        && a.iter().all(|x| {
                            x.as_str()
                                .is_some_and(|s| s.parse::<crate::design::Strategy>().is_ok())
                        })
                }),
                "max_loops" => v.as_u64().is_some(),
                "raise" => v.as_f64().is_some_and(|x| x > 1.0),
                "factor" => v.as_f64().is_some_and(|x| x > 0.0 && x < 1.0),
                _ => v.as_f64().is_some_and(|x| (0.0..1.0).contains(&x)),
            };
            if !ok {
                return Err(err(
                    origin,
                    place,
                    format!("{v} is not a valid value for it"),
                ));
            }
        }
        Ok(())
    }
}

fn multiplicity(t: &Task) -> &'static str {
    match t {
        Task::Source => "0 → 1",
        Task::Branch { .. } => "1 → 2",
        Task::Fork => "1 → n",
        Task::Join | Task::Reduce { .. } => "n → 1",
        Task::Stop => "1 → 0",
        _ => "1 → 1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_validates_and_round_trips_through_yaml() {
        for name in builtin_names() {
            let f = builtin(&name).unwrap();
            f.validate(&name).unwrap();
            let back = Flow::parse(&f.to_yaml(), &name).unwrap();
            assert_eq!(back.nodes, f.nodes, "{name}");
        }
        assert!(builtin("ppq").is_none() && builtin("x").is_none());
    }

    fn refused(yaml: &str) -> String {
        Flow::parse(yaml, "f.yml").unwrap_err().to_string()
    }

    #[test]
    fn violations_are_named() {
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [x]}\n  - {name: x, task: wobble, next: [d]}\n  - {name: d, task: stop}\n");
        assert!(
            e.contains("nodes[1] (x)") && e.contains("unknown task \"wobble\""),
            "{e}"
        );
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [p, q]}\n  - {name: p, task: prune, next: [d]}\n  - {name: q, task: prune, next: [d]}\n  - {name: d, task: stop}\n");
        assert!(
            e.contains("node in (source)") && e.contains("next names 2"),
            "{e}"
        );
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [q]}\n  - {name: q, task: quantize, next: [p]}\n");
        assert!(e.contains("no stop"), "{e}");
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [q]}\n  - {name: q, task: fork, next: [p, d]}\n  - {name: d, task: stop}\n");
        assert!(
            e.contains("cycle with no branch") || e.contains("before any join"),
            "{e}"
        );
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [q]}\n  - {name: q, task: quantize, next: [p]}\n  - {name: d, task: stop}\n");
        assert!(
            e.contains("no source leads to it") || e.contains("reaches a stop"),
            "{e}"
        );
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [f]}\n  - {name: f, task: fork, next: [a, b, d]}\n  - {name: a, task: prune, next: [j]}\n  - {name: b, task: scale, next: [j]}\n  - {name: j, task: join, next: [x]}\n  - {name: x, task: quantize, next: [f]}\n  - {name: d, task: stop}\n");
        assert!(e.contains("cycle with no branch"), "{e}");
        let e = refused("flow: a\nnodes:\n  - {name: in, task: source, next: [b]}\n  - {name: b, task: branch, if: fits, next: [d]}\n  - {name: d, task: stop}\n");
        assert!(e.contains("node b (branch)") && e.contains("1 → 2"), "{e}");
        let e = refused("flow: a\nnodes: [\n");
        assert!(e.contains("not YAML"), "{e}");
    }

    #[test]
    fn a_cycle_through_a_branch_is_allowed_and_one_without_is_not() {
        let ok = "flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [h]}\n  - {name: h, task: hls, next: [b]}\n  - {name: b, task: branch, if: fits, else: raise-tolerances, next: [d, p]}\n  - {name: d, task: stop}\n";
        Flow::parse(ok, "ok.yml").unwrap();
        let bad = "flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [h]}\n  - {name: h, task: hls, next: [b]}\n  - {name: b, task: branch, if: fits, next: [d, x]}\n  - {name: x, task: scale, next: [y]}\n  - {name: y, task: scale, next: [x]}\n  - {name: d, task: stop}\n";
        let e = refused(bad);
        assert!(
            e.contains("cycle with no branch") || e.contains("reaches a stop"),
            "{e}"
        );
    }

    #[test]
    fn cfg_keys_are_checked() {
        let f = builtin("spq").unwrap();
        let mut c = BTreeMap::new();
        c.insert("Pruning::alpha".to_string(), serde_json::json!(0.02));
        c.insert("p@beta".to_string(), serde_json::json!(0.01));
        f.check_cfg(&c, "spq").unwrap();
        for (k, v, want) in [
            ("Pruning::gamma", serde_json::json!(1), "unknown CFG key"),
            ("zz@alpha", serde_json::json!(0.1), "no node named"),
            ("q@beta", serde_json::json!(0.1), "takes alpha"),
            ("Pruning::alpha", serde_json::json!(3), "not a valid value"),
            ("alpha", serde_json::json!(0.1), "Class::key"),
        ] {
            let mut c = BTreeMap::new();
            c.insert(k.to_string(), v);
            let e = f.check_cfg(&c, "spq").unwrap_err().to_string();
            assert!(e.contains(want) && e.contains(k), "{k}: {e}");
        }
    }
}

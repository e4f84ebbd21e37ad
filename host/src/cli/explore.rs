//! `zest explore`: MetaML-Pro's cross-stage exploration with the
//! estimator in the loop; `show`, `flows` and `plot` read what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use zest::dataset::Split;
use zest::explore::engine::{Context, Engine};
use zest::explore::flow::{self, Flow};
use zest::explore::search::{SearchKind, Space};
use zest::explore::store::{self, Store};
use zest::explore::{self as ex, ExploreConfig, Header, Summary};

use super::optimize::{
    baseline_type, load_network, parse_data, EstimatorArgs, NetworkArgs, SplitArgs,
};
use super::render::print_json;
use super::HlsArgs;

/// A run directory opened for work ([`RunArgs::open`]).
struct Opened {
    dir: PathBuf,
    header: Header,
    loaded: store::Loaded,
    store: Store,
    estimator: zest::estimator::Estimator,
    /// The header's configuration, with the evaluations asked now.
    config: ExploreConfig,
    /// The data file's bytes, read once: a resumed run's are checked
    /// against the header's CRC here, and they are what the run parses.
    data: Vec<u8>,
}

/// `zest explore` arguments.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExploreArgs {
    /// `show`, `flows` or `plot`; none: run an exploration.
    #[command(subcommand)]
    pub command: Option<ExploreCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `zest explore` reads back.
#[derive(Subcommand, Debug)]
pub enum ExploreCommand {
    /// Print a run: its trace (LOG), the model tree and the Pareto set.
    Show {
        /// The run directory.
        run: PathBuf,
        /// The whole trace, not only its last 20 lines.
        #[arg(long)]
        all: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in flows and the CFG keys; with a name, print that flow as YAML to start a file from.
    Flows {
        /// A built-in flow to print as YAML.
        name: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Plot runs side by side: the feasible fronts (accuracy vs DSP, accuracy vs LUT) and hypervolume per evaluation.
    Plot {
        /// Run directories (e.g. one per search algorithm).
        runs: Vec<PathBuf>,
        /// The PNG to write.
        #[arg(long, default_value = "explore.png")]
        out: PathBuf,
    },
}

/// Arguments of a run.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub net: NetworkArgs,
    /// The data: CSV (gzip or not), one sample per row (not with --resume:
    /// the run's header names it).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// A built-in flow (`zest explore flows`: p, s, q, any order such as
    /// spq, `orders`, `bottom-up`) or a flow file (YAML).
    #[arg(long, value_name = "NAME|FILE")]
    pub flow: Option<String>,
    /// Search the task order too, among these built-in orders (e.g.
    /// q,sp,sq,pq,spq,s,p — MetaML-Pro's seven; `all7` for those). A
    /// tolerance whose task an order lacks is not varied for that order
    /// (`q` is searched over alpha_q alone: 511 distinct points for all7).
    #[arg(long, value_delimiter = ',')]
    pub orders: Vec<String>,
    /// The search algorithm.
    #[arg(long, value_enum, default_value_t = SearchKind::Bo)]
    pub search: SearchKind,
    /// Evaluations [default: 23 for bo and random (MetaML-Pro's 1 + 2 + 20),
    /// every point for grid]. With --resume: carry the run on to this many.
    #[arg(long)]
    pub evaluations: Option<usize>,
    /// Seed of the split and of every training.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seed of the search [default: --seed]. Runs that differ only here
    /// explore the same problem (same split, same trainings).
    #[arg(long)]
    pub search_seed: Option<u64>,
    #[command(flatten)]
    pub hls: HlsArgs,
    /// Reuse factors every hls task estimates (HLS::reuse_factors)
    /// [default: the flow file's, else 1,2,4,8,16,32,64]. Each costs one
    /// estimate (microseconds), not an evaluation.
    #[arg(long, value_delimiter = ',')]
    pub reuse_factors: Option<Vec<u32>>,
    /// Strategies every hls task estimates (HLS::strategies) [default:
    /// the flow file's, else latency,resource].
    #[arg(long, value_delimiter = ',')]
    pub strategies: Option<Vec<String>>,
    /// A design fits when each of LUT, FF, DSP, BRAM18 is at most this fraction of the part.
    #[arg(long, default_value_t = 0.8)]
    pub bound: f64,
    /// Accuracy floor (fraction) [default: the input network's float test accuracy − --max-loss].
    #[arg(long)]
    pub accuracy_floor: Option<f64>,
    /// See --accuracy-floor.
    #[arg(long, default_value_t = 0.05)]
    pub max_loss: f64,
    /// Extra CFG entries, KEY=VALUE (Pruning::beta=0.01, p@alpha=0.03; VALUE is YAML).
    #[arg(long = "cfg", value_name = "KEY=VALUE")]
    pub cfg: Vec<String>,
    #[command(flatten)]
    pub split: SplitArgs,
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// The run directory (log, models, Pareto set, exports, plots).
    #[arg(long, value_name = "RUN")]
    pub out: Option<PathBuf>,
    /// Continue the run in RUN (killed, or stopped early) from its log.
    #[arg(long, value_name = "RUN", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// No PNG plots.
    #[arg(long)]
    pub no_plot: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ExploreArgs {
    /// Runs `zest explore`.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Some(ExploreCommand::Flows { name, json }) => flows(name.as_deref(), json),
            Some(ExploreCommand::Show { run, all, json }) => show(&run, all, json),
            Some(ExploreCommand::Plot { runs, out }) => {
                let loaded: Vec<(Summary, Vec<ex::Evaluation>)> = runs
                    .iter()
                    .map(|r| load_summary(r))
                    .collect::<anyhow::Result<_>>()?;
                zest::learn::plots::write_explore_plot(&out, &loaded)?;
                println!("wrote {}", out.display());
                Ok(())
            }
            None => self.run.run(),
        }
    }
}

fn flows(name: Option<&str>, json: bool) -> anyhow::Result<()> {
    if let Some(n) = name {
        let f = flow::builtin(n)
            .with_context(|| format!("no built-in flow {n:?} (zest explore flows lists them)"))?;
        if json {
            return print_json(&f);
        }
        print!("{}", f.to_yaml());
        return Ok(());
    }
    let all: Vec<Flow> = flow::builtin_names()
        .iter()
        .filter_map(|n| flow::builtin(n))
        .collect();
    if json {
        return print_json(&serde_json::json!({"flows": all, "cfg_keys": flow::CFG_KEYS}));
    }
    println!("built-in flows (--flow NAME; `zest explore flows NAME` prints one as YAML):");
    for f in &all {
        println!("  {:<10} {}", f.flow, f.description);
    }
    println!("\nCFG keys (a flow file's cfg:, or --cfg KEY=VALUE; node@key sets one node):");
    for (k, what) in flow::CFG_KEYS {
        println!("  {k:<22} {what}");
    }
    println!("\nThe search sets Pruning::alpha, Scaling::alpha and Quantization::alpha at each evaluation.");
    Ok(())
}

fn load_summary(run: &Path) -> anyhow::Result<(Summary, Vec<ex::Evaluation>)> {
    let (header, loaded) = store::read(run, false)?;
    let floor = floor_of(&header.config, &loaded.entries);
    let s = ex::summarise(run, &header, floor, &loaded.evaluations, &loaded.entries);
    Ok((s, loaded.evaluations))
}

fn floor_of(c: &ExploreConfig, entries: &std::collections::HashMap<String, ex::Entry>) -> f64 {
    let src = entries.values().find(|e| e.task == "source");
    c.accuracy_floor
        .unwrap_or_else(|| src.map_or(0.0, |s| s.metrics.float_test_accuracy - c.max_loss))
}

fn show(run: &Path, all: bool, json: bool) -> anyhow::Result<()> {
    let (header, loaded) = store::read(run, false)?;
    let floor = floor_of(&header.config, &loaded.entries);
    let mut summary = ex::summarise(run, &header, floor, &loaded.evaluations, &loaded.entries);
    // The exports a finished run wrote, in the same order.
    for (k, d) in summary.pareto.iter_mut().enumerate() {
        let rel = PathBuf::from("pareto").join(format!("{k:02}"));
        if run.join(&rel).join("design.json").is_file() {
            d.export = Some(rel);
        }
    }
    if json {
        return print_json(&serde_json::json!({
            "summary": summary,
            "config": header.config,
            "trace": loaded.trace,
            "models": loaded.entries,
            "evaluations": loaded.evaluations,
        }));
    }
    println!(
        "run {}: flow {}, search {}, {} of {} evaluations, seed {} (search {}), part {} (bound {:.0} %), accuracy floor {:.2} %, estimator {}{}",
        run.display(),
        summary.flow,
        summary.search,
        summary.evaluations,
        loaded.evaluations_asked(&header),
        header.config.seed,
        header.config.search_seed,
        header.config.hls.part,
        100.0 * header.config.bound,
        100.0 * floor,
        header.config.estimator,
        if header.config.model.is_empty() {
            String::new()
        } else {
            format!(" (model {})", header.config.model)
        }
    );
    if loaded.discarded_partial_line {
        println!(
            "(the log's last line was cut short by a kill: it is not trusted; --resume drops it)"
        );
    }
    println!("\ntrace (LOG){}:", if all { "" } else { ", last 20" });
    let skip = if all {
        0
    } else {
        loaded.trace.len().saturating_sub(20)
    };
    for t in &loaded.trace[skip..] {
        println!("  eval {:>3}  {:<10} {}", t.eval, t.node, t.what);
    }
    println!("\nmodel tree ({} models):", loaded.entries.len());
    let mut children: BTreeMap<&str, Vec<&ex::Entry>> = BTreeMap::new();
    let mut roots = Vec::new();
    for e in loaded.entries.values() {
        match e.parents.first() {
            Some(p) => children.entry(p.as_str()).or_default().push(e),
            None => roots.push(e),
        }
    }
    for v in children.values_mut() {
        v.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let mut lines = 0usize;
    fn walk(
        e: &ex::Entry,
        depth: usize,
        children: &BTreeMap<&str, Vec<&ex::Entry>>,
        lines: &mut usize,
        all: bool,
    ) {
        if !all && *lines >= 60 {
            return;
        }
        *lines += 1;
        let w: Vec<String> = e.metrics.widths.iter().map(|w| w.to_string()).collect();
        println!(
            "  {}{} {:<8} {:<16} acc {:.2} % (fixed), pruned {:.0} %, {}",
            "  ".repeat(depth),
            e.id,
            e.task,
            w.join("-"),
            100.0 * e.metrics.fixed_test_accuracy,
            100.0 * e.metrics.pruning_rate,
            e.detail
        );
        for c in children.get(e.id.as_str()).into_iter().flatten() {
            walk(c, depth + 1, children, lines, all);
        }
    }
    for r in roots {
        walk(r, 0, &children, &mut lines, all);
    }
    if !all && lines >= 60 {
        println!("  … (--all for every model)");
    }
    print_pareto(&summary);
    Ok(())
}

fn print_pareto(s: &Summary) {
    println!(
        "\nfeasible Pareto set ({} designs; {} of {} designs feasible; hypervolume {:.4}; reference: accuracy {:.2} %, DSP {:.0}, LUT {:.0}):",
        s.pareto.len(),
        s.feasible_designs,
        s.designs,
        s.hypervolume,
        100.0 * s.reference[0],
        s.reference[1],
        s.reference[2]
    );
    println!(
        "  {:>8} {:>6} {:>8} {:>7} {:>6} {:>7} {:>3} {:<9} {:<14} {:>6} {:<6} {:>13}  export",
        "acc %",
        "DSP",
        "LUT",
        "FF",
        "BRAM",
        "latency",
        "RF",
        "strategy",
        "widths",
        "pruned",
        "flow",
        "αp/αs/αq %"
    );
    for d in &s.pareto {
        let t = &d.estimate;
        let w: Vec<String> = d.widths.iter().map(|w| w.to_string()).collect();
        println!(
            "  {:>8.2} {:>6} {:>8} {:>7} {:>6} {:>7} {:>3} {:<9} {:<14} {:>5.1}% {:<6} {:>4}/{}/{}  {}",
            100.0 * d.accuracy,
            t.dsp,
            t.lut,
            t.ff,
            t.bram18,
            t.latency_cycles,
            d.reuse_factor,
            format!("{:?}", d.strategy).to_lowercase(),
            w.join("-"),
            100.0 * d.pruning_rate,
            d.config.flow,
            100.0 * d.config.alpha_p,
            100.0 * d.config.alpha_s,
            100.0 * d.config.alpha_q,
            d.export.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
        );
    }
}

fn parse_cfg(items: &[String]) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    let mut m = BTreeMap::new();
    for it in items {
        let (k, v) = it
            .split_once('=')
            .with_context(|| format!("--cfg {it:?}: KEY=VALUE, e.g. Pruning::beta=0.01"))?;
        let doc = yaml_rust2::YamlLoader::load_from_str(v)
            .map_err(|e| anyhow::anyhow!("--cfg {it:?}: {e}"))?;
        let json = match doc.first() {
            Some(yaml_rust2::Yaml::Integer(i)) => serde_json::json!(i),
            Some(yaml_rust2::Yaml::Real(r)) => {
                serde_json::json!(r.parse::<f64>().unwrap_or(f64::NAN))
            }
            Some(yaml_rust2::Yaml::Array(a)) => serde_json::Value::Array(
                a.iter()
                    .map(|x| match x {
                        yaml_rust2::Yaml::Integer(i) => serde_json::json!(i),
                        other => serde_json::json!(other.as_str().unwrap_or_default()),
                    })
                    .collect(),
            ),
            Some(other) => serde_json::json!(other.as_str().unwrap_or_default()),
            None => anyhow::bail!("--cfg {it:?}: no value"),
        };
        m.insert(k.trim().to_string(), json);
    }
    Ok(m)
}

impl RunArgs {
    fn config(&self) -> anyhow::Result<ExploreConfig> {
        let data = self
            .data
            .clone()
            .context("--data FILE is needed to start a run (or --resume RUN to continue one)")?;
        let name = self.flow.clone().unwrap_or_else(|| "spq".into());
        let flow = match flow::builtin(&name) {
            Some(f) => f,
            None if Path::new(&name).exists() => Flow::read(Path::new(&name))?,
            None => anyhow::bail!(
                "--flow {name:?}: neither a built-in flow ({}) nor a file",
                flow::builtin_names().join(", ")
            ),
        };
        let mut orders: Vec<String> = Vec::new();
        for o in &self.orders {
            if o == "all7" {
                orders.extend(flow::METAML_ORDERS.iter().map(|s| s.to_string()));
            } else {
                anyhow::ensure!(
                    flow::builtin(o).is_some() && o.chars().all(|c| "psq".contains(c)),
                    "--orders {o:?}: an order of the letters p, s, q, each once (e.g. spq)"
                );
                orders.push(o.clone());
            }
        }
        anyhow::ensure!(
            orders.len() < 2 || self.flow.is_none(),
            "--orders builds each order's own flow (the built-in one of that name): leave --flow out"
        );
        let space = Space {
            orders: if orders.len() > 1 {
                orders
            } else {
                vec![flow.flow.clone()]
            },
        };
        let mut cfg = parse_cfg(&self.cfg)?;
        if let Some(s) = &self.strategies {
            for s in s {
                s.parse::<zest::design::Strategy>()
                    .map_err(anyhow::Error::msg)?;
            }
        }
        // The flag, else --cfg, else the flow file, else the default; the
        // value is written into the run's header either way, so a resumed
        // run never depends on this build's defaults.
        let knobs = [
            (
                "HLS::reuse_factors",
                "--reuse-factors",
                self.reuse_factors.as_ref().map(|v| serde_json::json!(v)),
                serde_json::json!(flow::DEFAULT_REUSE_FACTORS),
            ),
            (
                "HLS::strategies",
                "--strategies",
                self.strategies.as_ref().map(|v| serde_json::json!(v)),
                serde_json::json!(flow::DEFAULT_STRATEGIES),
            ),
        ];
        for (key, flag, given, default) in knobs {
            match given {
                Some(v) => {
                    anyhow::ensure!(
                        !cfg.contains_key(key),
                        "{key} given twice, by {flag} and by --cfg: give it once"
                    );
                    cfg.insert(key.into(), v);
                }
                None if cfg.contains_key(key) || flow.cfg.contains_key(key) => {}
                None => {
                    cfg.insert(key.into(), default);
                }
            }
        }
        flow.check_cfg(&cfg, "--cfg")?;
        let hls = self
            .hls
            .overrides()?
            .over(&zest::design::HlsConfig::default())?;
        anyhow::ensure!(
            zest::part::capacity(&hls.part).is_some(),
            ex::ExploreError::Part(hls.part.clone())
        );
        anyhow::ensure!(
            self.bound > 0.0 && self.bound <= 1.0,
            "--bound {}: a fraction in (0, 1]",
            self.bound
        );
        self.split.check()?;
        let baseline = baseline_type(hls.precision);
        let space_size = space.size();
        Ok(ExploreConfig {
            flow,
            space,
            search: self.search,
            evaluations: self.evaluations.unwrap_or(match self.search {
                SearchKind::Grid => space_size,
                _ => 23,
            }),
            seed: self.seed,
            search_seed: self.search_seed.unwrap_or(self.seed),
            data,
            label_column: self.net.label_column.clone(),
            val: self.split.val,
            test: self.split.test,
            network: self.net.network.clone(),
            train_network: self.net.train,
            hidden: self.net.hidden.clone(),
            train: self.split.train_options(self.seed),
            baseline,
            hls,
            cfg,
            bound: self.bound,
            accuracy_floor: self.accuracy_floor,
            max_loss: self.max_loss,
            estimator: if self.estimator.is_fixed() {
                "fixed".into()
            } else {
                "float".into()
            },
            // Set from the estimator once it is built.
            model: String::new(),
        })
    }

    /// The run directory: a new run (refused where one is already), or
    /// the one `--resume` names, checked against this invocation (flow,
    /// estimator, model) and carried on to `--evaluations`.
    fn open(&self) -> anyhow::Result<Opened> {
        let (dir, header, loaded, mut st, estimator, bytes) = match &self.resume {
            Some(dir) => {
                let (st, header, loaded) = Store::resume(dir)?;
                anyhow::ensure!(
                    header.format == ex::FORMAT && header.version == ex::VERSION,
                    "{}: a {} v{} run; this zest reads {} v{}",
                    dir.display(),
                    header.format,
                    header.version,
                    ex::FORMAT,
                    ex::VERSION
                );
                if let Some(f) = &self.flow {
                    anyhow::ensure!(
                        *f == header.config.flow.flow,
                        ex::ExploreError::Mismatch {
                            dir: dir.clone(),
                            why: format!(
                                "a run of flow {}, not {f} (leave --flow out to continue it)",
                                header.config.flow.flow
                            )
                        }
                    );
                }
                // The fixed-point model (host or board) cannot continue a
                // float-surrogate run: its estimates differ. Without flags,
                // a run continues with its own estimator.
                anyhow::ensure!(
                    !(self.estimator.is_fixed() && header.config.estimator == "float"),
                    ex::ExploreError::Mismatch {
                        dir: dir.clone(),
                        why: "a run with the float surrogate in the loop: resume it without --estimator fixed or --board".into()
                    }
                );
                let estimator = self.estimator.build(header.config.estimator == "fixed")?;
                // Old runs (before the id was kept) hold an empty one.
                let (then, now) = (&header.config.model, estimator.model_id());
                anyhow::ensure!(
                    then.is_empty() || *then == now,
                    ex::ExploreError::Mismatch {
                        dir: dir.clone(),
                        why: format!(
                            "its estimates came from model {then}, and this estimator is model {now}: resume with the --model / --fixed-model it started with (or the zest that embedded it)"
                        )
                    }
                );
                let data = &header.config.data;
                let bytes = std::fs::read(data).with_context(|| data.display().to_string())?;
                let now = ex::crc64(&bytes);
                anyhow::ensure!(
                    now == header.data_crc,
                    ex::ExploreError::Mismatch {
                        dir: dir.clone(),
                        why: format!(
                            "{} changed since the run started (CRC-64 {} then, {now} now)",
                            data.display(),
                            header.data_crc
                        )
                    }
                );
                (dir.clone(), header, loaded, st, estimator, bytes)
            }
            None => {
                let dir = self
                    .out
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("explore-run"));
                let mut config = self.config()?;
                if let Ok((h, l)) = store::read(&dir, false) {
                    let flow = if h.config.space.orders.len() > 1 {
                        h.config.space.orders.join(",")
                    } else {
                        h.config.flow.flow.clone()
                    };
                    anyhow::bail!(ex::ExploreError::Mismatch {
                        dir: dir.clone(),
                        why: format!(
                            "holds a run already (flow {flow}, search {}, {} evaluations asked): continue it with `zest explore --resume {}`, or choose another --out",
                            h.config.search.name(),
                            l.evaluations_asked(&h),
                            dir.display()
                        )
                    });
                }
                let bytes = std::fs::read(&config.data)
                    .with_context(|| config.data.display().to_string())?;
                let estimator = self.estimator.build(config.estimator == "fixed")?;
                config.model = estimator.model_id();
                let header = Header {
                    format: ex::FORMAT.into(),
                    version: ex::VERSION,
                    config,
                    data_crc: ex::crc64(&bytes),
                };
                let st = Store::create(&dir, &header)?;
                (dir, header, store::Loaded::default(), st, estimator, bytes)
            }
        };
        let mut c = header.config.clone();
        c.evaluations = loaded.evaluations_asked(&header);
        if let (Some(_), Some(n)) = (&self.resume, self.evaluations) {
            // `--resume RUN --evaluations N`: carry a run on to N, and say
            // so in the log, so that a plain `--resume` after a kill does too.
            anyhow::ensure!(
                n >= loaded.evaluations.len(),
                "--evaluations {n}: the run has {} already",
                loaded.evaluations.len()
            );
            if n != c.evaluations {
                st.append(&store::Record::Budget { evaluations: n })?;
            }
            c.evaluations = n;
        }
        Ok(Opened {
            dir,
            header,
            loaded,
            store: st,
            estimator,
            config: c,
            data: bytes,
        })
    }

    fn run(self) -> anyhow::Result<()> {
        let Opened {
            dir,
            header,
            mut loaded,
            store: mut st,
            mut estimator,
            config: c,
            data: bytes,
        } = self.open()?;
        let data = parse_data(&c.data, bytes, &c.label_column)?;
        let split = Split::stratified(&data, c.val, c.test, c.seed);
        let capacity = zest::part::capacity(&c.hls.part)
            .ok_or_else(|| ex::ExploreError::Part(c.hls.part.clone()))?;
        let fingerprint = c.fingerprint(&header.data_crc);
        let started = std::time::Instant::now();
        let mut entries = std::mem::take(&mut loaded.entries);
        let source = source_entry(&c, &data, &split, &fingerprint, &mut st, &mut entries)?;
        let floor = c
            .accuracy_floor
            .unwrap_or(source.metrics.float_test_accuracy - c.max_loss);
        let ctx = Context {
            data: &data,
            split: &split,
            train: c.train.clone(),
            hls: c.hls.clone(),
            capacity,
            bound: c.bound,
            floor,
            fingerprint,
            baseline: c.baseline,
        };
        let resumed_at = loaded.evaluations.len();
        let engine = Engine::new(ctx, st, entries, &mut estimator, source.id.clone());
        let mut done = loaded.evaluations;
        if !self.json {
            eprintln!(
                "{} {}: flow {}, search {}, {} evaluations, input {:?} at {:.2} % (float test), floor {:.2} %, part {} ≤ {:.0} %{}",
                if resumed_at > 0 { "resuming" } else { "exploring" },
                dir.display(),
                if c.space.orders.len() > 1 { c.space.orders.join(",") } else { c.flow.flow.clone() },
                c.search.name(),
                c.evaluations,
                source.metrics.widths,
                100.0 * source.metrics.float_test_accuracy,
                100.0 * floor,
                c.hls.part,
                100.0 * c.bound,
                if resumed_at > 0 { format!(" ({resumed_at} done, from the log)") } else { String::new() }
            );
        }
        let bar = indicatif::ProgressBar::new(c.evaluations as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} evaluations  {msg}  [{elapsed}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_position(done.len() as u64);
        let result = ex::run_search(&engine, &c, &mut done, &mut |e, hv| {
            bar.set_position((e.n + 1) as u64);
            bar.set_message(format!(
                "hypervolume {hv:.4}, {} feasible designs in the last, {} tasks cached",
                e.candidates.iter().filter(|c| c.feasible).count(),
                e.cache_hits
            ));
        });
        bar.finish_and_clear();
        if let Err(e) = result {
            anyhow::bail!(
                "{e}\nthe run stopped after {} evaluations; everything finished is in {}: continue with `zest explore --resume {}`",
                done.len(),
                store::log_path(&dir).display(),
                dir.display()
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        let entries = engine.entries();
        let (estimates, est_seconds) = {
            drop(engine);
            estimator.usage()
        };
        let mut summary = ex::summarise(&dir, &header, floor, &done, &entries);
        ex::write_outputs(
            &dir,
            &mut summary,
            &entries,
            &c.hls,
            &data.feature_names,
            &data.classes,
        )?;
        let mut notes = Vec::new();
        if !self.no_plot {
            let p = dir.join("explore.png");
            if let Err(e) =
                zest::learn::plots::write_explore_plot(&p, &[(summary.clone(), done.clone())])
            {
                notes.push(format!("no plot: {e}"));
            }
        }
        let timing = serde_json::json!({
            "seconds": seconds,
            "evaluations_this_session": done.len() - resumed_at,
            "estimates": estimates,
            "estimate_seconds": est_seconds,
            "estimates_per_second": estimates as f64 / est_seconds.max(1e-9),
        });
        if self.json {
            let mut v = serde_json::to_value(&summary)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("timing".into(), timing);
                o.insert("notes".into(), serde_json::json!(notes));
            }
            return print_json(&v);
        }
        print_pareto(&summary);
        println!(
            "\n{} evaluations ({} this session) in {:.1} s; tasks: {} run, {} from the model space; {} estimates in {:.3} s ({:.0}/s, {})",
            done.len(),
            done.len() - resumed_at,
            seconds,
            summary.tasks_run,
            summary.cache_hits,
            estimates,
            est_seconds,
            estimates as f64 / est_seconds.max(1e-9),
            estimator.describe()
        );
        println!(
            "wrote {d}/pareto.csv, pareto.json, summary.json, pareto/NN/ (model.onnx + hls4ml_config.yml each){}",
            if self.no_plot || !notes.is_empty() { "" } else { ", explore.png" },
            d = dir.display()
        );
        for n in notes {
            eprintln!("zest: warning: {n}");
        }
        Ok(())
    }
}

/// The run's source model: from the model space when the log has it,
/// else the network given (or trained now), measured and put there.
fn source_entry(
    c: &ExploreConfig,
    data: &zest::dataset::Dataset,
    split: &Split,
    fingerprint: &str,
    st: &mut Store,
    entries: &mut std::collections::HashMap<String, ex::Entry>,
) -> anyhow::Result<ex::Entry> {
    Ok(match entries.values().find(|e| e.task == "source") {
        Some(s) => s.clone(),
        None => {
            let (given, widths) =
                load_network(c.network.as_deref(), c.train_network, &c.hidden, data)?;
            let net = match given {
                Some(n) => n,
                None => {
                    let bar = super::render::spinner(format!("training {widths:?}"));
                    let (n, _) = zest::network::train::train_new(&widths, data, split, &c.train);
                    bar.finish_and_clear();
                    n
                }
            };
            let w = net.widths();
            anyhow::ensure!(
                    w[0] == data.n_features() && w.last() == Some(&data.classes.len()),
                    "the network takes {} features and gives {} classes; {} has {} features and {} classes",
                    w[0],
                    w.last().copied().unwrap_or(0),
                    c.data.display(),
                    data.n_features(),
                    data.classes.len()
                );
            let e = Engine::source(data, split, fingerprint, st, &net, c.baseline)?;
            entries.insert(e.id.clone(), e.clone());
            e
        }
    })
}

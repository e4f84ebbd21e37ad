//! `zest optimize` and `zest predict`: a user's network through
//! MetaML-Pro's tasks with the estimator in the loop, handed to hls4ml;
//! and the fixed-point inference of the result.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use zest::dataset::{self, Dataset, LabelColumn, Split};
use zest::network::optimize::{self, OptimizeConfig, Progress, Step};
use zest::network::package::{self, DesignFile};
use zest::network::Mlp;
use zest_board::client::Patience;

use super::board::connect_board;
use super::render::{print_json, spinner};
use super::HlsArgs;

/// Which estimator answers in the loop.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EstimatorKind {
    /// The float surrogate on the host.
    Host,
    /// The fixed-point model on the host: bit for bit what a board answers.
    Fixed,
}

/// `zest optimize` arguments.
#[derive(Args, Debug)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub net: NetworkArgs,
    /// The data: CSV (gzip or not, header or not), one sample per row.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Tasks in order: p (auto-prune), s (scale), q (quantize with QHS),
    /// e.g. spq, pq, q.
    #[arg(long, default_value = "spq")]
    pub flow: String,
    /// Pruning tolerance: largest validation-accuracy loss (0.02 = 2 %).
    #[arg(long, default_value_t = 0.02)]
    pub alpha_p: f64,
    /// Pruning's binary search stops when the rate step falls below this.
    #[arg(long, default_value_t = 0.02)]
    pub beta_p: f64,
    /// Scaling tolerance.
    #[arg(long, default_value_t = 0.02)]
    pub alpha_s: f64,
    /// Scaling step: each try multiplies the hidden widths by this.
    #[arg(long, default_value_t = 0.75)]
    pub scale_factor: f64,
    /// Quantization tolerance (fixed-point vs float validation accuracy).
    #[arg(long, default_value_t = 0.01)]
    pub alpha_q: f64,
    #[command(flatten)]
    pub hls: HlsArgs,
    /// Seed of the split, initialisation and minibatch order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub split: SplitArgs,
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// The design directory to write (model.onnx, hls4ml_config.yml,
    /// design.json, report.json, split.json: the sample indices of the
    /// train/validation/test split, optimize.png), atomically.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No PNG plot.
    #[arg(long)]
    pub no_plot: bool,
    /// Print JSON (the report and the timings) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// The user's network, as `zest optimize` and `zest explore` take it.
#[derive(Args, Debug, Clone)]
pub struct NetworkArgs {
    /// The network: an ONNX model with weights (Gemm or MatMul+Add, Relu,
    /// a final Softmax/Sigmoid), used as trained unless --train; or an
    /// architecture to train from scratch (a Keras model JSON, an ONNX
    /// model with --train). Without one, a ReLU MLP of --hidden widths is
    /// trained.
    pub network: Option<PathBuf>,
    /// The label column of --data: last, a 0-based index, or a header name.
    #[arg(long, default_value = "last")]
    pub label_column: String,
    /// Hidden layer widths when no NETWORK is given.
    #[arg(long, value_delimiter = ',', default_value = "32,32")]
    pub hidden: Vec<usize>,
    /// Train the network from scratch (its architecture only).
    #[arg(long)]
    pub train: bool,
}

/// The split and training flags `zest optimize` and `zest explore` share.
#[derive(Args, Debug, Clone)]
pub struct SplitArgs {
    /// Validation fraction of the stratified split.
    #[arg(long, default_value_t = 0.2)]
    pub val: f64,
    /// Test fraction.
    #[arg(long, default_value_t = 0.2)]
    pub test: f64,
    /// Most epochs per training.
    #[arg(long, default_value_t = zest::network::train::TrainOptions::default().max_epochs)]
    pub epochs: usize,
    /// Early-stopping patience (epochs).
    #[arg(long, default_value_t = zest::network::train::TrainOptions::default().patience)]
    pub patience: usize,
}

impl SplitArgs {
    /// Refuses fractions that leave nothing to train on.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.val > 0.0 && self.test > 0.0 && self.val + self.test < 1.0,
            "--val and --test are fractions with room left for training"
        );
        Ok(())
    }

    /// Training settings with `seed`.
    pub fn train_options(&self, seed: u64) -> zest::network::train::TrainOptions {
        zest::network::train::TrainOptions {
            max_epochs: self.epochs,
            patience: self.patience,
            seed,
            ..Default::default()
        }
    }
}

/// The estimator flags `zest optimize` and `zest explore` share.
#[derive(Args, Debug, Clone)]
pub struct EstimatorArgs {
    /// The estimator in the loop (a board answers as `fixed` does).
    #[arg(long, value_enum, default_value_t = EstimatorKind::Host)]
    pub estimator: EstimatorKind,
    /// Ask a zest board instead (udp:HOST:PORT, tcp:HOST:PORT, unix:PATH, a serial device).
    #[arg(long, value_name = "PORT")]
    pub board: Option<String>,
    /// A model written by `zest train` instead of the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --estimator fixed or --board: the fixed-point model file.
    #[arg(long, value_name = "FILE")]
    pub fixed_model: Option<PathBuf>,
}

impl EstimatorArgs {
    /// Whether the fixed-point model answers (on the host or a board).
    pub fn is_fixed(&self) -> bool {
        self.board.is_some() || self.estimator == EstimatorKind::Fixed
    }

    /// The estimator: a board when --board names one, else the host's
    /// fixed-point model (`fixed`) or float surrogate.
    pub fn build(&self, fixed: bool) -> anyhow::Result<zest::estimator::Estimator> {
        let kind = if fixed {
            EstimatorKind::Fixed
        } else {
            EstimatorKind::Host
        };
        make_estimator(
            self.board.as_deref(),
            kind,
            self.model.as_deref(),
            self.fixed_model.as_deref(),
        )
    }
}

/// The uniform `ap_fixed`/`ap_ufixed` of an hls4ml precision (the baseline).
pub(super) fn baseline_type(p: zest::design::Precision) -> zest_fixed::FixedType {
    if p.signed {
        zest_fixed::FixedType::new(p.width.min(64) as u8, p.integer)
    } else {
        zest_fixed::FixedType::unsigned(p.width.min(64) as u8, p.integer)
    }
}

fn make_estimator(
    board: Option<&str>,
    kind: EstimatorKind,
    model: Option<&std::path::Path>,
    fixed_model: Option<&std::path::Path>,
) -> anyhow::Result<zest::estimator::Estimator> {
    let surrogate = zest::models::load_model(model)?;
    let name = zest::models::model_name(model);
    Ok(match (board, kind) {
        (Some(port), _) => zest::estimator::Estimator::fixed(
            surrogate,
            &name,
            zest::models::read_fixed(fixed_model)?,
            zest::board::FixedEngine::Board(connect_board(
                port,
                Patience {
                    timeout: Duration::from_secs(10),
                    ..Patience::default()
                },
            )?),
        ),
        (None, EstimatorKind::Fixed) => zest::estimator::Estimator::fixed(
            surrogate,
            &name,
            zest::models::read_fixed(fixed_model)?,
            zest::board::FixedEngine::Host,
        ),
        (None, EstimatorKind::Host) => zest::estimator::Estimator::host(surrogate, &name),
    })
}

pub(super) fn read_data(path: &std::path::Path, label: &str) -> anyhow::Result<Dataset> {
    Ok(dataset::read(path, &label_column(label))?)
}

/// [`read_data`] on bytes already read from `path`.
pub(super) fn parse_data(
    path: &std::path::Path,
    raw: Vec<u8>,
    label: &str,
) -> anyhow::Result<Dataset> {
    Ok(dataset::from_bytes(path, raw, &label_column(label))?)
}

/// `--label-column`: every string names a column (an index, `last`, or
/// a header name), so parsing cannot fail.
fn label_column(label: &str) -> LabelColumn {
    let Ok(label) = label.parse();
    label
}

/// The user's network: `(Some(net), widths)` when `path` is an ONNX model
/// used as trained; `(None, widths)` for an architecture to train.
pub(super) fn load_network(
    path: Option<&std::path::Path>,
    train: bool,
    hidden: &[usize],
    data: &Dataset,
) -> anyhow::Result<(Option<Mlp>, Vec<usize>)> {
    let Some(path) = path else {
        let mut w = vec![data.n_features()];
        w.extend(hidden);
        w.push(data.classes.len());
        return Ok((None, w));
    };
    let is_onnx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if is_onnx {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let net = zest::network::onnx::mlp_from_onnx(&bytes)
            .with_context(|| path.display().to_string())?;
        let w = net.widths();
        return Ok(((!train).then_some(net), w));
    }
    let input = zest::input::read(path, &zest::input::Overrides::default())?;
    let w = zest::network::widths_of(&input.design)
        .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
    Ok((None, w))
}

impl OptimizeArgs {
    /// Runs `zest optimize`.
    pub fn run(self) -> anyhow::Result<()> {
        let flow = optimize::parse_flow(&self.flow)?;
        let data = read_data(&self.data, &self.net.label_column)?;
        let hls = self
            .hls
            .overrides()?
            .over(&zest::design::HlsConfig::default())?;
        let baseline = baseline_type(hls.precision);
        self.split.check()?;
        let split = Split::stratified(&data, self.split.val, self.split.test, self.seed);
        let train = self.split.train_options(self.seed);
        let cfg = OptimizeConfig {
            flow,
            prune: zest::network::prune::PruneConfig {
                alpha: self.alpha_p,
                beta: self.beta_p,
            },
            scale: zest::network::scale::ScaleConfig {
                alpha: self.alpha_s,
                factor: self.scale_factor,
            },
            quantize: zest::network::quantize::QuantizeConfig {
                alpha: self.alpha_q,
            },
            train: train.clone(),
            baseline,
            hls,
        };
        let mut estimator = self.estimator.build(self.estimator.is_fixed())?;
        let (given, widths) = load_network(
            self.net.network.as_deref(),
            self.net.train,
            &self.net.hidden,
            &data,
        )?;
        let started = std::time::Instant::now();
        let net = match given {
            Some(n) => n,
            None => {
                let bar = spinner(format!("training {widths:?}"));
                let (n, r) = zest::network::train::train_new(&widths, &data, &split, &train);
                bar.finish_and_clear();
                if !self.json {
                    eprintln!(
                        "trained {widths:?}: {} epochs, val {:.2} %, test {:.2} %",
                        r.epochs,
                        100.0 * r.val_accuracy,
                        100.0 * r.test_accuracy
                    );
                }
                n
            }
        };
        let train_seconds = started.elapsed().as_secs_f64();
        let bar = spinner("baseline");
        let json = self.json;
        let mut progress = |p: Progress| match p {
            Progress::Step(s) => bar.set_message(match s {
                Step::Prune => "pruning",
                Step::Scale => "scaling",
                Step::Quantize => "quantizing (QHS)",
            }),
            Progress::PruneTrial(t) => bar.set_message(format!(
                "pruning: rate {:.3} -> val {:.2} % ({})",
                t.rate,
                100.0 * t.val_accuracy,
                if t.accepted { "kept" } else { "too lossy" }
            )),
            Progress::ScaleTrial(t) => bar.set_message(format!(
                "scaling: {:?} -> val {:.2} % ({})",
                t.widths,
                100.0 * t.val_accuracy,
                if t.accepted { "kept" } else { "too lossy" }
            )),
            Progress::Qhs(done, left) => {
                bar.set_message(format!("QHS: {done} trials, {left} precisions reducible"))
            }
            Progress::Row(r) if !json => bar.suspend(|| print_row(&r)),
            Progress::Row(_) => {}
        };
        if !json {
            print_header();
        }
        let out = optimize::optimize(&net, &data, &split, &cfg, &mut estimator, &mut progress)?;
        bar.finish_and_clear();
        let design = DesignFile::new(
            out.net.clone(),
            out.precisions.clone(),
            cfg.hls.clone(),
            data.feature_names.clone(),
            data.classes.clone(),
        );
        let mut notes = Vec::new();
        if let Some(dir) = &self.out {
            let report = serde_json::to_vec_pretty(&out.report)?;
            let split_json = serde_json::to_vec_pretty(&split)?;
            let files = package::files(
                &design,
                vec![
                    ("report.json".into(), report),
                    ("split.json".into(), split_json),
                ],
            );
            let plot = !self.no_plot;
            let report = &out.report;
            package::write_dir_with(dir, &files, |tmp| {
                if plot {
                    if let Err(e) =
                        zest::learn::plots::write_optimize_plot(&tmp.join("optimize.png"), report)
                    {
                        notes.push(format!("no plot: {e}"));
                    }
                }
            })?;
        }
        let timing = serde_json::json!({
            "seconds": out.timing.seconds + train_seconds,
            "initial_training_seconds": train_seconds,
            "step_seconds": out.timing.step_seconds,
            "estimates": out.timing.estimates,
            "estimate_seconds": out.timing.estimate_seconds,
        });
        if self.json {
            return print_json(&serde_json::json!({
                "report": out.report,
                "timing": timing,
                "out": self.out,
                "notes": notes,
            }));
        }
        if let Some((dsp, lut, loss)) = out.report.gain() {
            println!(
                "\n{}: DSP {dsp:.1}x fewer, LUT {lut:.1}x fewer, fixed-point test accuracy {:+.2} pp",
                self.flow,
                -100.0 * loss
            );
        }
        let total = out.timing.seconds + train_seconds;
        println!(
            "{:.1} s in all; {} estimates in {:.4} s ({:.2} % of the time; {:.0} estimates/s), estimator: {}",
            total,
            out.timing.estimates,
            out.timing.estimate_seconds,
            100.0 * out.timing.estimate_seconds / total.max(1e-9),
            out.timing.estimates as f64 / out.timing.estimate_seconds.max(1e-9),
            out.report.estimator
        );
        for n in &notes {
            eprintln!("zest: warning: {n}");
        }
        if let Some(dir) = &self.out {
            println!(
                "wrote {d}/ (model.onnx, hls4ml_config.yml, design.json, report.json, split.json{}); build it with hls4ml:\n  cd {d} && python -c \"import hls4ml; m = hls4ml.converters.convert_from_config('hls4ml_config.yml'); m.compile()\"",
                if self.no_plot || !notes.is_empty() { "" } else { ", optimize.png" },
                d = dir.display()
            );
        }
        Ok(())
    }
}

fn print_header() {
    println!(
        "{:<9} {:<16} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7} {:>6} {:>8} {:>6}",
        "step",
        "widths",
        "pruned",
        "float %",
        "fixed %",
        "bits",
        "DSP",
        "LUT",
        "FF",
        "BRAM",
        "latency",
        "DSP %"
    );
}

fn print_row(r: &zest::network::optimize::StepRow) {
    let w: Vec<String> = r.metrics.widths.iter().map(|w| w.to_string()).collect();
    let e = r.estimate;
    println!(
        "{:<9} {:<16} {:>5.1}% {:>8.2} {:>8.2} {:>8} {:>7} {:>8} {:>7} {:>6} {:>8} {:>6}{}",
        r.name,
        w.join("-"),
        100.0 * r.metrics.pruning_rate,
        100.0 * r.metrics.float_test_accuracy,
        100.0 * r.metrics.fixed_test_accuracy,
        r.metrics.weight_bits,
        e.dsp,
        e.lut,
        e.ff,
        e.bram18,
        e.latency_cycles,
        r.utilisation.map_or("?".into(), |u| format!("{:.1}", u[2])),
        if r.fits == Some(false) {
            "  (does not fit)"
        } else {
            ""
        }
    );
}

/// `zest predict` arguments.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The design: a `zest optimize --out` directory or its design.json.
    pub design: PathBuf,
    /// The samples: CSV with the design's features (a label column, when
    /// present, is ignored).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Where the label column is, when the file has one.
    #[arg(long, default_value = "last")]
    pub label_column: String,
    /// The predictions CSV (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl PredictArgs {
    /// Runs `zest predict`.
    pub fn run(self) -> anyhow::Result<()> {
        let design = package::read_design(&self.design)?;
        let q = design.fixed()?;
        let n = design.features.len();
        // Features only, or features and a label column.
        let data = match dataset::read(&self.data, &LabelColumn::None) {
            Ok(d) if d.n_features() == n => d,
            _ => match read_data(&self.data, &self.label_column) {
                Ok(d) if d.n_features() == n => d,
                Ok(d) => anyhow::bail!(
                    "{}: {} features per sample, the design takes {n}",
                    self.data.display(),
                    d.n_features()
                ),
                Err(e) => return Err(e),
            },
        };
        let csv = package::predictions_csv(
            &q,
            &design.classes,
            (0..data.len()).map(|i| data.sample(i).to_vec()),
        );
        match &self.out {
            Some(p) => {
                let tmp = p.with_extension("tmp");
                std::fs::write(&tmp, csv).with_context(|| tmp.display().to_string())?;
                std::fs::rename(&tmp, p).with_context(|| p.display().to_string())?;
                eprintln!("{} predictions written to {}", data.len(), p.display());
            }
            None => print!("{csv}"),
        }
        Ok(())
    }
}

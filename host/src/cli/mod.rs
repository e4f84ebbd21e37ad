//! The command line: every command's arguments as a struct, parsed here
//! and handed to the library; what comes back is a report type the
//! library owns, rendered as text or, with `--json`, as one JSON object
//! ([`render::emit`]).
//!
//! * [`estimate`]: `zest estimate`.
//! * [`learn`]: `zest data`, `ingest`, `train`, `eval`, `bench`.
//! * [`deploy`]: `zest quantize`, `hls`, `hls-check`.
//! * [`board`]: `zest board ...`.

pub mod board;
pub mod deploy;
pub mod estimate;
pub mod explore;
pub mod learn;
pub mod optimize;
pub mod render;
pub mod sweep;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// zest: what an hls4ml design costs (LUT, FF, DSP, BRAM, latency, II) in
/// microseconds, answered on the host or by a Zynq-7000 board.
#[derive(Parser)]
#[command(name = "zest", version, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Subcommand)]
pub enum Command {
    /// Quantize the surrogate to fixed point: per-layer ap_fixed<W,I> types
    /// chosen by MetaML-Pro's Quantization Heuristic Search under a
    /// tolerance, written as a versioned model (postcard, CRC-64 id) that
    /// `zest hls` and the firmware use. Prints bits per virtual layer, the
    /// metric before and after, and the accelerator's estimated resources
    /// on xc7z020 (by zest's own estimator).
    ///
    /// Example (what the shipped model was made with):
    ///   zest quantize --tolerance 0.5 --out host/models/default.zfx
    #[command(verbatim_doc_comment)]
    Quantize(deploy::QuantizeArgs),
    /// Write an hls4ml-style Vitis HLS project for the fixed-point model:
    /// kernel library, parameters and weights headers, the top function
    /// (AXI4-Stream tokens in, AXI-Lite results), a C testbench and
    /// build_prj.tcl (csim, csynth, cosim, IP export) for xc7z020 at 100 MHz.
    ///
    /// Example:
    ///   zest hls --out zest_hls_prj && zest hls-check zest_hls_prj
    #[command(verbatim_doc_comment)]
    Hls(deploy::HlsProjectArgs),
    /// Compile a `zest hls` project's C simulation with g++ (real ap_types
    /// headers) and compare it, design by design, with the Rust fixed-point
    /// model: every mismatch is printed; exits non-zero on any.
    ///
    /// Example:
    ///   zest hls-check zest_hls_prj --vectors 10000
    #[command(verbatim_doc_comment, name = "hls-check")]
    HlsCheck(deploy::HlsCheckArgs),
    /// Talk to a zest board: a Zynq-7000 running the zest firmware, or the
    /// same firmware under QEMU (`cargo xtask qemu --port 4000`).
    ///
    /// Examples:
    ///   zest board info  --port tcp:127.0.0.1:4000
    ///   zest board ping  --port /dev/ttyUSB1 --count 100 --size 32
    ///   zest board stats --port unix:/tmp/zest-uart0.sock --json
    #[command(verbatim_doc_comment)]
    Board {
        #[command(subcommand)]
        command: board::BoardCommand,
    },
    /// Sweep one network over a grid of hls4ml configurations (precision,
    /// reuse factor, strategy, io type) with the fixed-point model and print
    /// the feasible Pareto set (LUT, FF, DSP, BRAM18, latency; limits: the
    /// part times --bound, --max-latency, --max-ii). With --board the board
    /// expands and estimates the grid itself and answers with the set: one
    /// request instead of one per design, and the same set as the host's.
    ///
    /// Examples:
    ///   zest sweep tests/fixtures/jet_tagger.json --plot front.png
    ///   zest sweep jet.json --precisions 8,12,16 --reuse-factors 1,2,4 --max-ii 1 --board udp:127.0.0.1:4001
    #[command(verbatim_doc_comment)]
    Sweep(sweep::SweepArgs),
    /// Estimate what hls4ml synthesis would report for a network: LUT, FF,
    /// DSP, BRAM18, latency and II, the part's utilisation and each layer's
    /// share. Answers from the model embedded in zest unless --model is given.
    ///
    /// Example:
    ///   zest estimate jet_tagger.json --precision 'ap_fixed<16,6>' --reuse-factor 1 \
    ///       --strategy latency --io-type io_parallel --part xc7z020clg400-1
    #[command(verbatim_doc_comment)]
    Estimate(estimate::EstimateArgs),
    /// Train the surrogate on every synthesis record (realistic networks
    /// included) and write it as JSON.
    ///
    /// Example: zest train --out host/models/default.json
    #[command(verbatim_doc_comment)]
    Train(learn::TrainArgs),
    /// Measure the surrogate: grouped cross-validation, the realistic
    /// hold-out and extrapolation to deeper networks; per target SMAPE, R²,
    /// MAE, median and 90th-percentile relative error, fraction under.
    ///
    /// Example: zest eval --folds 5 --seed 1 --json > eval.json
    #[command(verbatim_doc_comment)]
    Eval(learn::EvalArgs),
    /// Turn your own hls4ml synthesis run into a training record: the
    /// network it was built from, the hls4ml options it used, and the
    /// reports it left (myproject_csynth.xml or .rpt from HLS,
    /// vivado_synth.rpt from Vivado; the kind is read from the contents).
    /// The record is appended to --out, which `zest train --records` and
    /// `zest eval --records` read. Part and clock come from the reports
    /// unless given. Given an hls4ml project directory instead, zest reads
    /// all of that from the project itself (firmware headers,
    /// hls4ml_config.yml, every report under it) and refuses a stale one.
    ///
    /// Examples:
    ///   zest ingest my_hls4ml_prj --out my-runs.jsonl
    ///   zest ingest --network model.json --reuse-factor 4 --strategy resource \
    ///       prj/myproject_prj/solution1/syn/report/myproject_csynth.xml \
    ///       prj/vivado_synth.rpt --out my-runs.jsonl
    ///   zest train --records my-runs.jsonl --out my-model.json
    #[command(verbatim_doc_comment)]
    Ingest(learn::IngestArgs),
    /// Measure estimation speed: estimates per second for a batch of 1 and
    /// of --designs designs, on one thread and on every core, and the peak
    /// memory; next to the gradient-boosted-trees baseline when synthesis
    /// records are at hand (trained on them first).
    ///
    /// Example: cargo run --release -p zest -- bench --designs 10000
    #[command(verbatim_doc_comment)]
    Bench(learn::BenchArgs),
    /// Load the synthesis records and report what was loaded, what failed
    /// synthesis, what is malformed (with file and position) and what was
    /// skipped (with the reason).
    ///
    /// Example: zest data --data ../shared/data --list-skipped
    #[command(verbatim_doc_comment)]
    Data(learn::DataArgs),
    /// Make your network cheaper on the FPGA: MetaML-Pro's tasks in the
    /// order given — p: auto-pruning (binary search for the highest rate
    /// within --alpha-p), s: scaling (hidden widths x --scale-factor while
    /// within --alpha-s), q: quantization (QHS: per-layer weight, bias and
    /// ReLU precisions, one bit at a time while within --alpha-q) — with
    /// zest's estimator in place of synthesis after every step. Prints, per
    /// step, accuracy (float and hls4ml fixed point), bits, pruning rate and
    /// estimated resources; writes the design for hls4ml (ONNX +
    /// hls4ml_config.yml), a report and a plot into --out.
    ///
    /// Examples:
    ///   zest optimize --data digits.csv.gz --hidden 32,32 --flow spq --out digits-spq
    ///   zest optimize model.onnx --data mydata.csv --label-column label \
    ///       --flow pq --alpha-p 0.01 --alpha-q 0.01 --reuse-factor 4 --out prj
    ///   zest predict digits-spq --data digits.csv.gz --out preds.csv
    #[command(verbatim_doc_comment)]
    Optimize(optimize::OptimizeArgs),
    /// Run a design written by `zest optimize --out` on a data file, in
    /// fixed point exactly as hls4ml's C simulation computes it: one CSV row
    /// per sample, the output layer's values (exact decimals) then the
    /// predicted class.
    ///
    /// Example: zest predict digits-spq --data digits.csv.gz --out preds.csv
    #[command(verbatim_doc_comment)]
    Predict(optimize::PredictArgs),
    /// Explore the design space of your network: MetaML-Pro's cross-stage
    /// flow (prune, scale, quantize under tolerances; every reuse factor
    /// and strategy estimated) searched by Bayesian optimisation, random
    /// search or a grid, with zest's estimator — on the host or a board —
    /// in place of synthesis. The run directory is a meta-model that
    /// survives kill -9 (`--resume`), with the feasible Pareto set as
    /// pareto.csv/json and an hls4ml hand-off (ONNX + hls4ml_config.yml)
    /// per Pareto design.
    ///
    /// Examples:
    ///   zest explore --data digits.csv.gz --hidden 32,32 --flow spq --search bo --out run-bo
    ///   zest explore --data digits.csv.gz --hidden 32,32 --search grid --out run-grid
    ///   zest explore --resume run-bo
    ///   zest explore show run-bo
    ///   zest explore flows                      # built-in flows and CFG keys
    ///   zest explore flows bottom-up > my.yml   # a flow file to edit, then --flow my.yml
    ///   zest explore plot run-bo run-random run-grid --out hv.png
    #[command(verbatim_doc_comment)]
    Explore(explore::ExploreArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Board { command } => command.run(),
            Command::Quantize(a) => a.run(),
            Command::Hls(a) => a.run(),
            Command::HlsCheck(a) => a.run(),
            Command::Estimate(a) => a.run(),
            Command::Sweep(a) => a.run(),
            Command::Ingest(a) => a.run(),
            Command::Train(a) => a.run(),
            Command::Eval(a) => a.run(),
            Command::Data(a) => a.run(),
            Command::Bench(a) => a.run(),
            Command::Optimize(a) => a.run(),
            Command::Predict(a) => a.run(),
            Command::Explore(a) => a.run(),
        }
    }
}

/// hls4ml options; unset ones come from the YAML configuration, else
/// hls4ml's defaults on the PYNQ-Z2's part.
#[derive(Args, Clone, Debug)]
pub struct HlsArgs {
    /// Default precision of weights, accumulators and results (QKeras
    /// layers keep their own) [default: ap_fixed<16,6>].
    #[arg(long)]
    pub precision: Option<String>,
    /// Reuse factor of every layer with weights [default: 1].
    #[arg(long)]
    pub reuse_factor: Option<u32>,
    /// latency or resource [default: latency].
    #[arg(long)]
    pub strategy: Option<String>,
    /// io_parallel or io_stream [default: io_parallel].
    #[arg(long)]
    pub io_type: Option<String>,
    /// FPGA part [default: xc7z020clg400-1].
    #[arg(long)]
    pub part: Option<String>,
    /// Clock period in ns [default: 5].
    #[arg(long)]
    pub clock_ns: Option<f64>,
    /// HLS tool: vivado (Vivado HLS, up to 2020.1), vitis (Vitis HLS), or
    /// a name with a version ("Vitis HLS 2023.1", "2019.2") [default: the
    /// configuration's Backend, else unknown, estimated halfway between
    /// the two].
    #[arg(long)]
    pub tool: Option<String>,
}

impl HlsArgs {
    /// The flags that were given, parsed.
    pub fn overrides(&self) -> anyhow::Result<zest::input::Overrides> {
        Ok(zest::input::Overrides {
            precision: self
                .precision
                .as_ref()
                .map(|p| p.parse().with_context(|| format!("--precision {p:?}")))
                .transpose()?,
            reuse_factor: self.reuse_factor,
            strategy: self
                .strategy
                .as_ref()
                .map(|s| s.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            io_type: self
                .io_type
                .as_ref()
                .map(|s| s.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            part: self.part.clone(),
            clock_ns: self.clock_ns,
            tool: self.tool.clone(),
        })
    }
}

/// Surrogate training settings (the defaults are what the shipped model
/// was trained with).
#[derive(Args, Clone, Debug)]
pub struct TrainKnobs {
    /// Networks in the ensemble (each from its own seed; their per-layer
    /// log-costs are averaged).
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().members)]
    pub members: usize,
    /// Width of each hidden layer.
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().hidden)]
    pub hidden: usize,
    /// Hidden layers.
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().depth)]
    pub depth: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Most full-batch steps per member.
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().max_steps)]
    pub max_steps: usize,
    /// Stop a member after this many steps without a better validation loss.
    #[arg(long, default_value_t = zest::learn::train::TrainConfig::default().patience)]
    pub patience: usize,
    /// Clamp per-layer log-costs at the model's cap during training as well.
    #[arg(long)]
    pub cap_in_training: bool,
    /// Training loss on ln(1 + target): mse, or l1 (closer to SMAPE).
    #[arg(long, value_enum, default_value_t = zest::learn::train::TrainConfig::default().loss)]
    pub loss: zest::learn::train::LossKind,
    /// Data-set balance of the loss: each design weighs n^-B, n its data
    /// set's designs (0: every design alike; 1: every data set alike).
    #[arg(long, value_name = "B", default_value_t = zest::learn::train::TrainConfig::default().balance)]
    pub balance: f64,
    /// Range floor K of the token normaliser: no slot is scaled by less
    /// than 1/K of its training range, so a few far-out values (a QKeras
    /// layer's 78-bit results among 16-bit ones) stay within |z| <= K
    /// (0: the standard deviation alone).
    #[arg(long, value_name = "K", default_value_t = zest::learn::train::TrainConfig::default().range_floor)]
    pub range_floor: f64,
    /// Weight of per-module supervision: where the records hold each
    /// layer's own LUT, FF, DSP and BRAM18 (per-module HLS reports), the
    /// loss adds this much of the same score on them (0: totals only).
    #[arg(long, value_name = "W", default_value_t = zest::learn::train::TrainConfig::default().layer_weight)]
    pub layer_weight: f64,
    /// Learn each layer's LUT, FF and DSP per multiplier instantiated:
    /// the network's log-cost is added to ln(1 + multipliers) while
    /// training, then folded into its weights (the model file, its
    /// fixed-point form and the firmware see an ordinary model).
    #[arg(long)]
    pub mult_prior: bool,
}

impl TrainKnobs {
    pub fn config(&self, seed: u64) -> zest::learn::train::TrainConfig {
        zest::learn::train::TrainConfig {
            seed,
            members: self.members,
            hidden: self.hidden,
            depth: self.depth,
            learning_rate: self.learning_rate,
            max_steps: self.max_steps,
            patience: self.patience,
            cap_in_training: self.cap_in_training,
            loss: self.loss,
            balance: self.balance,
            range_floor: self.range_floor,
            layer_weight: self.layer_weight,
            mult_prior: self.mult_prior,
        }
    }
}

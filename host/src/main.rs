//! `zest`: the command-line tool.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use zest::client::{BoardClient, Patience};
use zest::link::PortSpec;
use zest_proto::{RejectReason, MAX_ECHO_LEN};

#[path = "cli/deploy.rs"]
mod deploy;
#[path = "cli/estimator.rs"]
mod estimator;

use estimator::{bench_cmd, data, estimate_cmd, eval_cmd, ingest_cmd, load_designs, train_cmd};

/// zest: what an hls4ml design costs (LUT, FF, DSP, BRAM, latency, II) in
/// microseconds, answered on the host or by a Zynq-7000 board.
#[derive(Parser)]
#[command(name = "zest", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    Hls(deploy::HlsArgs),
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
        command: BoardCommand,
    },
    /// Estimate what hls4ml synthesis would report for a network: LUT, FF,
    /// DSP, BRAM18, latency and II, the part's utilisation and each layer's
    /// share. Answers from the model embedded in zest unless --model is given.
    ///
    /// Example:
    ///   zest estimate jet_tagger.json --precision 'ap_fixed<16,6>' --reuse-factor 1 \
    ///       --strategy latency --io-type io_parallel --part xc7z020clg400-1
    #[command(verbatim_doc_comment)]
    Estimate {
        /// The network: a Keras model JSON (the architecture file hls4ml
        /// reads), an ONNX model (`.onnx`), an hls4ml YAML configuration
        /// (`.yml`/`.yaml`) that names one in KerasJson or OnnxModel and
        /// sets the options (the flags below override it), or one synthesis
        /// record (a wa-hls4ml release record, or a zest record as `zest
        /// ingest` writes) whose own configuration is used and whose
        /// synthesis results are printed next to the estimate.
        network: std::path::PathBuf,
        #[command(flatten)]
        hls: HlsArgs,
        /// A model written by `zest train` instead of the embedded one.
        #[arg(long)]
        model: Option<std::path::PathBuf>,
        /// Also print upper bounds meant to cover the true value with this
        /// probability (e.g. 0.9; `zest eval` measures the coverage).
        #[arg(long, value_name = "Q")]
        upper: Option<f64>,
        /// Ask a zest board instead (tcp:HOST:PORT, unix:PATH or a serial
        /// device): it computes the estimate with its fixed-point model, in
        /// the PL accelerator or its soft model.
        #[arg(long, value_name = "PORT")]
        board: Option<String>,
        /// With --board: the fixed-point model the board holds (default:
        /// the one shipped in zest and built into the firmware).
        #[arg(long, value_name = "FILE")]
        fixed_model: Option<std::path::PathBuf>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Train the surrogate on every synthesis record (realistic networks
    /// included) and write it as JSON.
    ///
    /// Example: zest train --out host/models/default.json
    #[command(verbatim_doc_comment)]
    Train {
        /// Data directory (default: $ZEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Also load these record files (JSON Lines written by `zest ingest`).
        #[arg(long, value_name = "FILE")]
        records: Vec<std::path::PathBuf>,
        /// Where to write the model.
        #[arg(long, default_value = "zest-model.json")]
        out: std::path::PathBuf,
        /// Seed of the initialisation and of the validation split.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave the realistic networks out of training (as `zest eval` does).
        #[arg(long)]
        synthetic_only: bool,
        #[command(flatten)]
        training: TrainKnobs,
    },
    /// Measure the surrogate: grouped cross-validation, the realistic
    /// hold-out and extrapolation to deeper networks; per target SMAPE, R²,
    /// MAE, median and 90th-percentile relative error, fraction under.
    ///
    /// Example: zest eval --folds 5 --seed 1 --json > eval.json
    #[command(verbatim_doc_comment)]
    Eval {
        /// Data directory (default: $ZEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Also load these record files (JSON Lines written by `zest ingest`).
        #[arg(long, value_name = "FILE")]
        records: Vec<std::path::PathBuf>,
        /// Folds of the grouped cross-validation.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Seed of the folds, the initialisation and the validation splits.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Quantile of the conservative upper bounds whose coverage is
        /// measured (fraction of true values at or below the bound).
        #[arg(long, default_value_t = 0.9)]
        upper: f64,
        /// `test`: wa-hls4ml's own protocol instead of the suite: train on
        /// everything outside the release's test/ split, test on it (needs
        /// the release under <data>/wa-hls4ml-release/).
        #[arg(long, value_name = "SPLIT", value_parser = ["test"])]
        split: Option<String>,
        /// Write predicted-vs-true log-log scatter plots (one PNG per
        /// target) into this directory.
        #[arg(long, value_name = "DIR")]
        plots: Option<std::path::PathBuf>,
        /// Also measure the baselines on the same folds: gradient-boosted
        /// trees and an MLP on aggregated per-design features.
        #[arg(long)]
        baselines: bool,
        /// Write every prediction (protocol, design, dataset, target, truth,
        /// estimate) to this CSV file.
        #[arg(long, value_name = "FILE")]
        predictions: Option<std::path::PathBuf>,
        #[command(flatten)]
        training: TrainKnobs,
    },
    /// Turn your own hls4ml synthesis run into a training record: the
    /// network it was built from, the hls4ml options it used, and the
    /// reports it left (myproject_csynth.xml or .rpt from HLS,
    /// vivado_synth.rpt from Vivado; the kind is read from the contents).
    /// The record is appended to --out, which `zest train --records` and
    /// `zest eval --records` read. Part and clock come from the reports
    /// unless given.
    ///
    /// Example:
    ///   zest ingest --network model.json --reuse-factor 4 --strategy resource \
    ///       prj/myproject_prj/solution1/syn/report/myproject_csynth.xml \
    ///       prj/vivado_synth.rpt --out my-runs.jsonl
    ///   zest train --records my-runs.jsonl --out my-model.json
    #[command(verbatim_doc_comment)]
    Ingest {
        /// Report files of one run.
        #[arg(required = true)]
        reports: Vec<std::path::PathBuf>,
        /// The network (Keras model JSON).
        #[arg(long)]
        network: std::path::PathBuf,
        /// Default precision the run used.
        #[arg(long, default_value = "ap_fixed<16,6>")]
        precision: String,
        /// Reuse factor the run used.
        #[arg(long, default_value_t = 1)]
        reuse_factor: u32,
        /// latency or resource.
        #[arg(long, default_value = "latency")]
        strategy: String,
        /// io_parallel or io_stream.
        #[arg(long, default_value = "io_parallel")]
        io_type: String,
        /// FPGA part (default: the one the reports name).
        #[arg(long)]
        part: Option<String>,
        /// Clock period in ns (default: the reports' target clock).
        #[arg(long)]
        clock_ns: Option<f64>,
        /// Records file to append to.
        #[arg(long, default_value = "zest-records.jsonl")]
        out: std::path::PathBuf,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure estimation speed: estimates per second for a batch of 1 and
    /// of --designs designs, on one thread and on every core, and the peak
    /// memory; next to the gradient-boosted-trees baseline when synthesis
    /// records are at hand (trained on them first).
    ///
    /// Example: cargo run --release -p zest -- bench --designs 10000
    #[command(verbatim_doc_comment)]
    Bench {
        /// Designs in the large batch.
        #[arg(long, default_value_t = 10_000)]
        designs: usize,
        /// A model written by `zest train` instead of the embedded one.
        #[arg(long)]
        model: Option<std::path::PathBuf>,
        /// Data directory for the baseline (default: $ZEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load the synthesis records and report what was loaded, what failed
    /// synthesis, what is malformed (with file and position) and what was
    /// skipped (with the reason).
    ///
    /// Example: zest data --data ../shared/data --list-skipped
    #[command(verbatim_doc_comment)]
    Data {
        /// Data directory (default: $ZEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Also load these record files (JSON Lines written by `zest ingest`).
        #[arg(long, value_name = "FILE")]
        records: Vec<std::path::PathBuf>,
        /// List every skipped record, not only the reasons.
        #[arg(long)]
        list_skipped: bool,
        /// Print JSON (counts and issues) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// hls4ml options; unset ones come from the YAML configuration, else
/// hls4ml's defaults on the PYNQ-Z2's part.
#[derive(Args, Clone, Debug)]
struct HlsArgs {
    /// Default precision of weights, accumulators and results (QKeras
    /// layers keep their own) [default: ap_fixed<16,6>].
    #[arg(long)]
    precision: Option<String>,
    /// Reuse factor of every layer with weights [default: 1].
    #[arg(long)]
    reuse_factor: Option<u32>,
    /// latency or resource [default: latency].
    #[arg(long)]
    strategy: Option<String>,
    /// io_parallel or io_stream [default: io_parallel].
    #[arg(long)]
    io_type: Option<String>,
    /// FPGA part [default: xc7z020clg400-1].
    #[arg(long)]
    part: Option<String>,
    /// Clock period in ns [default: 5].
    #[arg(long)]
    clock_ns: Option<f64>,
}

impl HlsArgs {
    /// `base` with the flags that were given.
    fn over(&self, base: &zest::estimate::HlsConfig) -> anyhow::Result<zest::estimate::HlsConfig> {
        let mut c = base.clone();
        if let Some(p) = &self.precision {
            c.precision = p.parse().with_context(|| format!("--precision {p:?}"))?;
        }
        if let Some(rf) = self.reuse_factor {
            anyhow::ensure!(rf >= 1, "--reuse-factor must be at least 1");
            c.reuse_factor = rf;
        }
        if let Some(s) = &self.strategy {
            c.strategy = s.parse().map_err(anyhow::Error::msg)?;
        }
        if let Some(io) = &self.io_type {
            c.io_type = io.parse().map_err(anyhow::Error::msg)?;
        }
        if let Some(p) = &self.part {
            c.part.clone_from(p);
        }
        if let Some(clk) = self.clock_ns {
            anyhow::ensure!(clk > 0.0, "--clock-ns must be positive");
            c.clock_ns = clk;
        }
        Ok(c)
    }
}

/// Surrogate training settings (the defaults are what the shipped model
/// was trained with).
#[derive(Args, Clone, Debug)]
struct TrainKnobs {
    /// Networks in the ensemble (each from its own seed; their per-layer
    /// log-costs are averaged).
    #[arg(long, default_value_t = zest::train::TrainConfig::default().members)]
    members: usize,
    /// Width of each hidden layer.
    #[arg(long, default_value_t = zest::train::TrainConfig::default().hidden)]
    hidden: usize,
    /// Hidden layers.
    #[arg(long, default_value_t = zest::train::TrainConfig::default().depth)]
    depth: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = zest::train::TrainConfig::default().learning_rate)]
    learning_rate: f64,
    /// Most full-batch steps per member.
    #[arg(long, default_value_t = zest::train::TrainConfig::default().max_steps)]
    max_steps: usize,
    /// Stop a member after this many steps without a better validation loss.
    #[arg(long, default_value_t = zest::train::TrainConfig::default().patience)]
    patience: usize,
    /// Clamp per-layer log-costs at the model's cap during training as well.
    #[arg(long)]
    cap_in_training: bool,
    /// Training loss on ln(1 + target): mse, or l1 (closer to SMAPE).
    #[arg(long, value_enum, default_value_t = zest::train::TrainConfig::default().loss)]
    loss: zest::train::LossKind,
}

impl TrainKnobs {
    fn config(&self, seed: u64) -> zest::train::TrainConfig {
        zest::train::TrainConfig {
            seed,
            members: self.members,
            hidden: self.hidden,
            depth: self.depth,
            learning_rate: self.learning_rate,
            max_steps: self.max_steps,
            patience: self.patience,
            cap_in_training: self.cap_in_training,
            loss: self.loss,
        }
    }
}

#[derive(Args, Clone)]
struct Conn {
    /// Where the board is: tcp:HOST:PORT (QEMU, or a serial-to-TCP bridge),
    /// unix:PATH (QEMU Unix socket), or a serial device (PYNQ-Z2: its
    /// USB-UART, usually /dev/ttyUSB1, 115200 8N1).
    #[arg(long, env = "ZEST_PORT")]
    port: String,
    /// Milliseconds to wait for each reply.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Extra attempts when a reply does not come (info, stats).
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Print JSON (one object) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum BoardCommand {
    /// Who the board is: firmware and protocol versions, board name,
    /// whether the PL accelerator answered, loaded model.
    Info(Conn),
    /// Round-trip time and throughput of echo requests.
    Ping {
        #[command(flatten)]
        conn: Conn,
        /// Number of echo requests, sent one after another.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Payload bytes per request (at most 1024).
        #[arg(long, default_value_t = 32)]
        size: usize,
    },
    /// The board's counters: frames served, frames rejected by reason, uptime.
    Stats(Conn),
    /// Replace the board's fixed-point model (default: the one shipped in
    /// zest) over the wire, in CRC-checked chunks; the board checks the
    /// whole model (hash, version, shapes) before using it and keeps it in
    /// RAM until reset.
    ///
    /// Example: zest board model-upload --port tcp:127.0.0.1:4000 my-model.zfx
    #[command(name = "model-upload")]
    ModelUpload {
        #[command(flatten)]
        conn: Conn,
        /// Model written by `zest quantize`.
        file: Option<std::path::PathBuf>,
    },
    /// Go back to the firmware's built-in model.
    #[command(name = "model-reset")]
    ModelReset(Conn),
    /// Estimate designs on the board (every data design, then random ones),
    /// compare each answer with the host's fixed-point model, and report
    /// designs/s over the link, the board's compute time per design and,
    /// under `qemu -icount`, instructions per estimate.
    ///
    /// Example: zest board bench --port tcp:127.0.0.1:4000 --designs 1000
    Bench {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        bench: deploy::BoardBenchArgs,
    },
}

impl Conn {
    fn connect(&self) -> anyhow::Result<BoardClient> {
        connect_board(
            &self.port,
            Patience {
                timeout: Duration::from_millis(self.timeout_ms),
                retries: self.retries,
                ..Patience::default()
            },
        )
    }
}

/// Opens the board at `port` (`tcp:`, `unix:` or a serial device).
fn connect_board(port: &str, patience: Patience) -> anyhow::Result<BoardClient> {
    let spec: PortSpec = port.parse()?;
    Ok(BoardClient::connect(&spec, patience)?)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        Command::Board { command } => command,
        Command::Quantize(a) => {
            let designs = load_designs(a.data.clone(), &a.records)?;
            return deploy::quantize_cmd(&a, &designs);
        }
        Command::Hls(a) => return deploy::hls_cmd(&a),
        Command::HlsCheck(a) => {
            let root = a.data.clone().unwrap_or_else(zest::data::default_root);
            let designs = if a.data.is_some() || root.is_dir() {
                load_designs(Some(root), &[])?
            } else {
                Vec::new()
            };
            return deploy::hls_check_cmd(&a, &designs);
        }
        Command::Estimate {
            network,
            hls,
            model,
            upper,
            board,
            fixed_model,
            json,
        } => {
            return estimate_cmd(
                &network,
                &hls,
                model.as_deref(),
                upper,
                board.as_deref().map(|b| (b, fixed_model.as_deref())),
                json,
            )
        }
        Command::Ingest {
            reports,
            network,
            precision,
            reuse_factor,
            strategy,
            io_type,
            part,
            clock_ns,
            out,
            json,
        } => {
            return ingest_cmd(
                &reports,
                &network,
                &precision,
                reuse_factor,
                &strategy,
                &io_type,
                part,
                clock_ns,
                &out,
                json,
            )
        }
        Command::Train {
            data: root,
            records,
            out,
            seed,
            synthetic_only,
            training,
        } => return train_cmd(root, &records, &out, seed, synthetic_only, &training),
        Command::Eval {
            data: root,
            records,
            folds,
            seed,
            json,
            upper,
            baselines,
            predictions,
            plots,
            split,
            training,
        } => {
            return eval_cmd(
                root,
                &records,
                folds,
                seed,
                json,
                upper,
                baselines,
                predictions.as_deref(),
                plots.as_deref(),
                split.as_deref(),
                &training,
            )
        }
        Command::Data {
            data: root,
            records,
            list_skipped,
            json,
        } => return data(root, &records, list_skipped, json),
        Command::Bench {
            designs,
            model,
            data: root,
            json,
        } => return bench_cmd(designs, model.as_deref(), root, json),
    };
    match command {
        BoardCommand::ModelUpload { conn, file } => {
            let mut c = conn.connect()?;
            deploy::model_upload(&mut c, file.as_deref(), conn.json)?;
        }
        BoardCommand::ModelReset(conn) => {
            let mut c = conn.connect()?;
            deploy::print_status(&c.reset_model()?, conn.json)?;
        }
        BoardCommand::Bench { conn, bench } => {
            let mut c = conn.connect()?;
            let root = bench.data.clone().unwrap_or_else(zest::data::default_root);
            let designs = if bench.data.is_some() || root.is_dir() {
                load_designs(Some(root), &[])?
            } else {
                Vec::new()
            };
            deploy::board_bench(&mut c, &bench, &designs, conn.json)?;
        }
        BoardCommand::Info(conn) => {
            let mut board = conn.connect()?;
            let id = board.identify()?;
            if conn.json {
                return print_json(&id);
            }
            println!("board             {}", id.board);
            println!("firmware          {}", id.firmware_version);
            println!("protocol          v{}", id.protocol_version);
            match id.accelerator {
                Some(v) => println!("PL accelerator    v{v} (answered its ID register)"),
                None => println!("PL accelerator    none (soft model answers)"),
            }
            match id.model_id {
                Some(m) => println!("model             {m:016x}"),
                None => println!("model             none loaded"),
            }
            println!("max frame         {} bytes", id.max_frame_len);
        }
        BoardCommand::Ping { conn, count, size } => {
            anyhow::ensure!(
                size <= MAX_ECHO_LEN,
                "--size {size} is larger than the {MAX_ECHO_LEN}-byte echo limit"
            );
            anyhow::ensure!(count > 0, "--count must be at least 1");
            let mut board = conn.connect()?;
            board.identify().context("board did not identify itself")?;
            let report = zest::ping::ping(&mut board, count, size, |_| {})?;
            if conn.json {
                return print_json(&report);
            }
            println!(
                "{} x {} B to {}: {} received, {} lost, {} corrupted",
                report.sent,
                report.size,
                report.port,
                report.received,
                report.lost,
                report.corrupted
            );
            println!(
                "rtt min/median/p99/max = {:.1}/{:.1}/{:.1}/{:.1} µs",
                report.rtt_min_us, report.rtt_median_us, report.rtt_p99_us, report.rtt_max_us
            );
            println!(
                "{:.0} requests/s, {:.1} kB/s payload each way",
                report.requests_per_s,
                report.payload_bytes_per_s / 1e3
            );
            anyhow::ensure!(
                report.lost == 0 && report.corrupted == 0,
                "the link lost or corrupted echoes"
            );
        }
        BoardCommand::Stats(conn) => {
            let mut board = conn.connect()?;
            let s = board.stats()?;
            let uptime_s = s.uptime_ticks as f64 / f64::from(s.tick_hz.max(1));
            if conn.json {
                let rejected: serde_json::Map<String, serde_json::Value> = RejectReason::ALL
                    .iter()
                    .map(|r| (r.name().to_string(), s.rejected.get(*r).into()))
                    .collect();
                return print_json(&serde_json::json!({
                    "frames_served": s.frames_served,
                    "rejected": rejected,
                    "uptime_ticks": s.uptime_ticks,
                    "tick_hz": s.tick_hz,
                    "uptime_s": uptime_s,
                }));
            }
            println!("frames served     {}", s.frames_served);
            println!("frames rejected   {}", s.rejected.total());
            for r in RejectReason::ALL {
                println!("  {:<20} {}", r.name(), s.rejected.get(r));
            }
            println!(
                "uptime            {uptime_s:.3} s ({} ticks at {} Hz)",
                s.uptime_ticks, s.tick_hz
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // Behave like a Unix filter: `zest data | head` ends quietly instead of
    // panicking on a closed stdout.
    // SAFETY: setting a signal disposition to its default at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

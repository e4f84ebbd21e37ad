//! `zest`: the command-line tool.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use zest::client::{BoardClient, Patience};
use zest::link::PortSpec;
use zest_proto::{RejectReason, MAX_ECHO_LEN};

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
        /// The network: a Keras model JSON (the architecture file hls4ml reads).
        network: std::path::PathBuf,
        /// Default precision of weights, accumulators and results (QKeras
        /// layers keep their own).
        #[arg(long, default_value = "ap_fixed<16,6>")]
        precision: String,
        /// Reuse factor of every layer with weights.
        #[arg(long, default_value_t = 1)]
        reuse_factor: u32,
        /// latency or resource.
        #[arg(long, default_value = "latency")]
        strategy: String,
        /// io_parallel or io_stream.
        #[arg(long, default_value = "io_parallel")]
        io_type: String,
        /// FPGA part.
        #[arg(long, default_value = "xc7z020clg400-1")]
        part: String,
        /// Clock period in ns.
        #[arg(long, default_value_t = 5.0)]
        clock_ns: f64,
        /// A model written by `zest train` instead of the embedded one.
        #[arg(long)]
        model: Option<std::path::PathBuf>,
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
        /// Where to write the model.
        #[arg(long, default_value = "zest-model.json")]
        out: std::path::PathBuf,
        /// Seed of the initialisation and of the validation split.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave the realistic networks out of training (as `zest eval` does).
        #[arg(long)]
        synthetic_only: bool,
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
        /// Folds of the grouped cross-validation.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Seed of the folds, the initialisation and the validation splits.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON instead of tables.
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
        /// List every skipped record, not only the reasons.
        #[arg(long)]
        list_skipped: bool,
        /// Print JSON (counts and issues) instead of text.
        #[arg(long)]
        json: bool,
    },
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
}

impl Conn {
    fn connect(&self) -> anyhow::Result<BoardClient> {
        let spec: PortSpec = self.port.parse()?;
        let patience = Patience {
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            ..Patience::default()
        };
        Ok(BoardClient::connect(&spec, patience)?)
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn data(root: Option<std::path::PathBuf>, list_skipped: bool, json: bool) -> anyhow::Result<()> {
    let root = root.unwrap_or_else(zest::data::default_root);
    let bar = indicatif::ProgressBar::new_spinner();
    let report = zest::data::load_all(&root, |f| bar.set_message(f.to_string()))?;
    bar.finish_and_clear();
    if json {
        return print_json(&serde_json::json!({
            "root": root,
            "designs": report.designs.len(),
            "counts": report.counts,
            "malformed": report.malformed,
            "unusable": report.unusable,
        }));
    }
    println!(
        "{:<28} {:>7} {:>14} {:>10} {:>8}",
        "data set", "loaded", "failed synth", "malformed", "skipped"
    );
    for (name, c) in &report.counts {
        println!(
            "{name:<28} {:>7} {:>14} {:>10} {:>8}",
            c.loaded, c.failed_synthesis, c.malformed, c.unusable
        );
    }
    println!(
        "{} designs from {} records under {}",
        report.designs.len(),
        report.total(),
        root.display()
    );
    for issue in &report.malformed {
        println!("malformed: {issue}");
    }
    if list_skipped {
        for issue in &report.unusable {
            println!("skipped: {issue}");
        }
    } else {
        let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
        for issue in &report.unusable {
            let generic = issue
                .message
                .split_once(": ")
                .map_or(issue.message.as_str(), |(_, m)| m);
            *reasons
                .entry(format!(
                    "{}: {generic}",
                    issue.file.split('/').next().unwrap_or("")
                ))
                .or_default() += 1;
        }
        for (reason, n) in reasons {
            println!("skipped {n:>3} x {reason}");
        }
    }
    Ok(())
}

fn load_designs(root: Option<std::path::PathBuf>) -> anyhow::Result<Vec<zest::design::Design>> {
    let root = root.unwrap_or_else(zest::data::default_root);
    let bar = indicatif::ProgressBar::new_spinner();
    let report = zest::data::load_all(&root, |f| bar.set_message(format!("loading {f}")))?;
    bar.finish_and_clear();
    if !report.malformed.is_empty() {
        eprintln!(
            "zest: {} malformed records skipped (see `zest data`)",
            report.malformed.len()
        );
    }
    anyhow::ensure!(
        !report.designs.is_empty(),
        "no designs under {}",
        root.display()
    );
    Ok(report.designs)
}

fn print_report(r: &zest::eval::Report) {
    println!("\n{} ({} designs)", r.name, r.n_designs);
    println!(
        "{:<15} {:>6} {:>8} {:>8} {:>12} {:>9} {:>9} {:>7}",
        "target", "n", "SMAPE %", "R2", "MAE", "med rel%", "p90 rel%", "under"
    );
    for (name, m) in &r.targets {
        println!(
            "{name:<15} {:>6} {:>8.2} {:>8.3} {:>12.1} {:>9.1} {:>9.1} {:>7.2}",
            m.n, m.smape, m.r2, m.mae, m.median_rel, m.p90_rel, m.under
        );
    }
    println!("mean SMAPE over targets: {:.2} %", r.mean_smape);
}

fn train_cmd(
    root: Option<std::path::PathBuf>,
    out: &std::path::Path,
    seed: u64,
    synthetic_only: bool,
) -> anyhow::Result<()> {
    let designs = load_designs(root)?;
    let set: Vec<&zest::design::Design> = designs
        .iter()
        .filter(|d| !synthetic_only || !d.realistic)
        .collect();
    let cfg = zest::train::TrainConfig {
        seed,
        ..Default::default()
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("training on {} designs", set.len()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let (model, log) = zest::eval::fit(&set, &cfg);
    bar.finish_and_clear();
    std::fs::write(out, serde_json::to_string(&model)?)
        .with_context(|| format!("write {}", out.display()))?;
    println!(
        "trained on {} designs: best validation loss {:.4} at step {} of {}; model written to {}",
        set.len(),
        log.best_val_loss,
        log.best_step,
        log.steps,
        out.display()
    );
    Ok(())
}

fn eval_cmd(
    root: Option<std::path::PathBuf>,
    folds: usize,
    seed: u64,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(folds >= 2, "--folds must be at least 2");
    let designs = load_designs(root)?;
    let cfg = zest::train::TrainConfig {
        seed,
        ..Default::default()
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let suite = zest::eval::suite(&designs, folds, &cfg, |s| bar.set_message(s.to_string()));
    bar.finish_and_clear();
    if json {
        return print_json(&suite);
    }
    print_report(&suite.cross_validation);
    print_report(&suite.realistic);
    print_report(&suite.extrapolation);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn estimate_cmd(
    network: &std::path::Path,
    precision: &str,
    reuse_factor: u32,
    strategy: &str,
    io_type: &str,
    part: String,
    clock_ns: f64,
    model_path: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<()> {
    use zest::estimate::{design_from_keras, estimate, load_model, HlsConfig};
    anyhow::ensure!(reuse_factor >= 1, "--reuse-factor must be at least 1");
    anyhow::ensure!(clock_ns > 0.0, "--clock-ns must be positive");
    let cfg = HlsConfig {
        precision: precision
            .parse()
            .with_context(|| format!("--precision {precision:?}"))?,
        reuse_factor,
        strategy: strategy.parse().map_err(anyhow::Error::msg)?,
        io_type: io_type.parse().map_err(anyhow::Error::msg)?,
        part,
        clock_ns,
    };
    let model = load_model(model_path)?;
    let design = design_from_keras(network, &cfg)?;
    let name = model_path.map_or("embedded default".to_string(), |p| p.display().to_string());
    let report = estimate(&model, &design, &cfg, &name);
    if json {
        return print_json(&report);
    }
    let t = report.targets;
    println!(
        "{} on {} ({}, RF {}, {:?}, {:?}, {} ns), model: {}",
        report.design,
        cfg.part,
        cfg.precision,
        cfg.reuse_factor,
        cfg.strategy,
        cfg.io_type,
        cfg.clock_ns,
        report.model
    );
    let util = report.utilisation;
    let pct = |i: usize| util.map_or(String::new(), |u| format!("{:>7.1} %", u[i]));
    println!("  LUT        {:>10} {}", t.lut, pct(0));
    println!("  FF         {:>10} {}", t.ff, pct(1));
    println!("  DSP        {:>10} {}", t.dsp, pct(2));
    println!("  BRAM18     {:>10} {}", t.bram18, pct(3));
    println!(
        "  latency    {:>10} cycles ({:.1} ns)",
        t.latency_cycles,
        t.latency_cycles * cfg.clock_ns
    );
    println!("  II         {:>10} cycles", t.ii);
    println!(
        "\n  {:<16} {:<11} {:>11} {:>9} {:>9} {:>7} {:>7} {:>8} {:>6}",
        "layer", "kind", "in->out", "LUT", "FF", "DSP", "BRAM", "latency", "II"
    );
    for l in &report.layers {
        let c = l.costs;
        println!(
            "  {:<16} {:<11} {:>11} {:>9.0} {:>9.0} {:>7.1} {:>7.1} {:>8.1} {:>6.1}",
            l.name,
            format!("{:?}", l.kind),
            format!("{}->{}", l.n_in, l.n_out),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5]
        );
    }
    for w in &report.warnings {
        eprintln!("zest: warning: {w}");
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        Command::Board { command } => command,
        Command::Estimate {
            network,
            precision,
            reuse_factor,
            strategy,
            io_type,
            part,
            clock_ns,
            model,
            json,
        } => {
            return estimate_cmd(
                &network,
                &precision,
                reuse_factor,
                &strategy,
                &io_type,
                part,
                clock_ns,
                model.as_deref(),
                json,
            )
        }
        Command::Train {
            data: root,
            out,
            seed,
            synthetic_only,
        } => return train_cmd(root, &out, seed, synthetic_only),
        Command::Eval {
            data: root,
            folds,
            seed,
            json,
        } => return eval_cmd(root, folds, seed, json),
        Command::Data {
            data: root,
            list_skipped,
            json,
        } => return data(root, list_skipped, json),
    };
    match command {
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

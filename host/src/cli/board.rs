//! `zest board ...`: talk to a zest board (a Zynq-7000 running the zest
//! firmware, or the same firmware under QEMU).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use zest_board::client::{BoardClient, Patience};
use zest_board::link::PortSpec;
use zest_proto::{RejectReason, MAX_ECHO_LEN};

use super::render::print_json;

#[derive(Args, Clone)]
pub struct Conn {
    /// Where the board is: udp:HOST:PORT (its Ethernet, one frame per
    /// datagram; QEMU: the forwarded port `cargo xtask qemu` prints),
    /// tcp:HOST:PORT (QEMU's UART0, or a serial-to-TCP bridge), unix:PATH
    /// (QEMU Unix socket), or a serial device (PYNQ-Z2: its USB-UART,
    /// usually /dev/ttyUSB1, 115200 8N1).
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
pub enum BoardCommand {
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
        bench: BenchArgs,
    },
    /// Sweep every distinct network architecture of the data on the board
    /// and on the host (`zest sweep`'s computation, a small grid each) and
    /// compare the Pareto sets point for point; report configurations/s on
    /// both sides and the bytes on the link.
    ///
    /// Example: zest board sweep-check --port udp:127.0.0.1:4001
    #[command(name = "sweep-check")]
    SweepCheck {
        #[command(flatten)]
        conn: Conn,
        /// Data directory (default: $ZEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Fixed-point model the board holds (default: the shipped one).
        #[arg(long)]
        fixed_model: Option<PathBuf>,
        /// `ap_fixed` widths of each architecture's grid.
        #[arg(long, value_delimiter = ',', default_value = "8,16")]
        precisions: Vec<u8>,
        /// Reuse factors of each architecture's grid.
        #[arg(long, value_delimiter = ',', default_value = "1,4")]
        reuse_factors: Vec<u32>,
        /// Check only the first N distinct architectures.
        #[arg(long)]
        max: Option<usize>,
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

/// Opens the board at `port` (`udp:`, `tcp:`, `unix:` or a serial device).
pub fn connect_board(port: &str, patience: Patience) -> anyhow::Result<BoardClient> {
    let spec: PortSpec = port.parse()?;
    Ok(BoardClient::connect(&spec, patience)?)
}

impl BoardCommand {
    /// Runs the board command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            BoardCommand::ModelUpload { conn, file } => {
                let mut c = conn.connect()?;
                model_upload(&mut c, file.as_deref(), conn.json)?;
            }
            BoardCommand::ModelReset(conn) => {
                let mut c = conn.connect()?;
                print_status(&c.reset_model()?, conn.json)?;
            }
            BoardCommand::Bench { conn, bench } => {
                let mut c = conn.connect()?;
                board_bench(&mut c, &bench, conn.json)?;
            }
            BoardCommand::SweepCheck {
                conn,
                data,
                fixed_model,
                precisions,
                reuse_factors,
                max,
            } => {
                let mut c = conn.connect()?;
                let designs = super::learn::designs_if_present(data.as_deref())?;
                anyhow::ensure!(
                    !designs.is_empty(),
                    "no synthesis records found: pass --data DIR or set ZEST_DATA"
                );
                let bytes = zest::models::read_fixed(fixed_model.as_deref())?;
                let spec = zest::sweep::SweepSpec {
                    widths: precisions,
                    reuse_factors,
                    strategies: vec![
                        zest::design::Strategy::Latency,
                        zest::design::Strategy::Resource,
                    ],
                    io_types: vec![
                        zest::design::IoType::IoParallel,
                        zest::design::IoType::IoStream,
                    ],
                    part: zest::part::PYNQ_Z2.into(),
                    clock_ns: 5.0,
                    tool: None,
                    bound: 0.8,
                    max_latency: None,
                    max_ii: None,
                };
                let bar = indicatif::ProgressBar::new(0);
                let r = zest::sweep::check_architectures(
                    &mut c,
                    &bytes,
                    &designs,
                    &spec,
                    max,
                    Duration::from_secs(120),
                    |k, n| {
                        bar.set_length(n as u64);
                        bar.set_position(k as u64);
                    },
                )?;
                bar.finish_and_clear();
                if conn.json {
                    print_json(&r)?;
                } else {
                    println!(
                        "{} distinct architectures ({} designs skipped: over {} layers) x {} configurations: {} mismatches between the board and the host",
                        r.architectures,
                        r.skipped,
                        zest_proto::MAX_SWEEP_LAYERS,
                        r.grid_points,
                        r.mismatches.len()
                    );
                    println!(
                        "board: {:.0} configurations/s (link included, {:.2} s); host fixed-point model: {:.0} configurations/s (ratio {:.1}x); link: {} bytes sent, {} received",
                        r.board_configurations_per_s,
                        r.board_seconds,
                        r.host_configurations_per_s,
                        r.host_configurations_per_s / r.board_configurations_per_s.max(1e-9),
                        r.bytes.0,
                        r.bytes.1
                    );
                    for (k, id) in r.mismatches.iter().take(20) {
                        eprintln!("MISMATCH architecture {k} (first design {id})");
                    }
                }
                anyhow::ensure!(
                    r.mismatches.is_empty(),
                    "{} architectures differ between the board and the host",
                    r.mismatches.len()
                );
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
                println!(
                    "links             {}{}",
                    if id.links.uart { "UART0" } else { "" },
                    match id.links.udp {
                        Some(udp) => format!(", UDP {udp}"),
                        None => String::new(),
                    }
                );
            }
            BoardCommand::Ping { conn, count, size } => {
                anyhow::ensure!(
                    size <= MAX_ECHO_LEN,
                    "--size {size} is larger than the {MAX_ECHO_LEN}-byte echo limit"
                );
                anyhow::ensure!(count > 0, "--count must be at least 1");
                let mut board = conn.connect()?;
                board.identify().context("board did not identify itself")?;
                let report = zest_board::ping::ping(&mut board, count, size, |_| {})?;
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
}

/// `zest board model-upload`.
pub fn model_upload(
    client: &mut zest_board::client::BoardClient,
    file: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let bytes = zest::models::read_fixed(file)?;
    let bar = indicatif::ProgressBar::new(bytes.len() as u64);
    let status = client.upload_model(&bytes, |n| bar.set_position(n as u64))?;
    bar.finish_and_clear();
    print_status(&status, json)
}

/// Prints a board's model status.
pub fn print_status(s: &zest_proto::ModelStatus, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "active_id": format!("{:016x}", s.active_id),
                "source": format!("{:?}", s.source),
                "received": s.received,
            })
        );
    } else {
        println!(
            "active model {:016x} ({:?}){}",
            s.active_id,
            s.source,
            if s.received > 0 {
                format!(", upload in progress: {} bytes received", s.received)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// `zest board bench`: designs through the board, each answer compared
/// with the host's fixed-point model.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Designs: every data design first (when --data or the default data
    /// directory exists), then random ones up to this count.
    #[arg(long, default_value_t = 1000)]
    pub designs: usize,
    /// Data directory (default: $ZEST_DATA, else ../shared/data, if present).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Fixed-point model the board holds (default: the shipped one).
    #[arg(long)]
    pub fixed_model: Option<PathBuf>,
    /// QEMU was started with `-icount shift=N`: also report instructions
    /// per estimate (the board's timer then runs on instruction counts).
    #[arg(long, value_name = "N")]
    pub icount_shift: Option<u8>,
    /// Seed of the random designs.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
}

/// `zest board bench`.
fn board_bench(client: &mut BoardClient, a: &BenchArgs, json: bool) -> anyhow::Result<()> {
    let designs = super::learn::designs_if_present(a.data.as_deref())?;
    let bytes = zest::models::read_fixed(a.fixed_model.as_deref())?;
    let bar = indicatif::ProgressBar::new(0);
    let (b, mismatches) = zest::board::bench(
        client,
        &bytes,
        &designs,
        &zest::board::BenchOptions {
            designs: a.designs,
            seed: a.seed,
            icount_shift: a.icount_shift,
        },
        |k, n| {
            bar.set_length(n as u64);
            bar.set_position(k as u64);
        },
    )?;
    bar.finish_and_clear();
    for m in mismatches.iter().take(20) {
        eprintln!(
            "MISMATCH design {}: board {:?} host {:?}",
            m.design, m.board, m.host
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        println!(
            "{} designs ({} from the data, {} realistic; {} tokens) in {} requests: {} mismatches vs the host's fixed-point model",
            b.designs, b.from_data, b.realistic, b.tokens, b.requests, b.mismatches
        );
        println!(
            "board ({}): {:.1} designs/s over the link ({:.2} s); host fixed-point model: {:.0} designs/s (ratio {:.0}x)",
            b.engine,
            b.designs_per_s,
            b.seconds,
            b.host_designs_per_s,
            b.host_designs_per_s / b.designs_per_s.max(1e-9)
        );
        println!(
            "board compute: {:.0} timer ticks per design at {} Hz ({:.2} ms)",
            b.ticks_per_design,
            b.tick_hz,
            1e3 * b.ticks_per_design / f64::from(b.tick_hz.max(1))
        );
        if let (Some(d), Some(t)) = (b.instructions_per_design, b.instructions_per_token) {
            println!("QEMU -icount: {d:.0} instructions per design, {t:.0} per layer token");
        }
    }
    anyhow::ensure!(
        b.mismatches == 0,
        "{} designs differ between the board and the host",
        b.mismatches
    );
    Ok(())
}

//! `cargo xtask`: build orchestration for zest.
//!
//! ```text
//! cargo xtask firmware [--board qemu|pynq-z2]   build the firmware ELF, print its path
//! cargo xtask qemu --port P                     boot it under QEMU, UART0 on tcp:127.0.0.1:P
//! cargo xtask demo                              the main job on the embedded default
//! cargo xtask test                              everything CI checks
//! cargo xtask bench                             link figures (RTT, bytes/s)
//! cargo xtask bench-projects                    `zest estimate DIR` wall time per hls4ml project
//! ```
//!
//! Missing system packages are installed with apt-get when running as root;
//! otherwise the exact command to run is printed.

mod bench;
mod bench_explore;
mod setup;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build orchestration for zest")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// Board the firmware is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Board {
    /// QEMU's xilinx-zynq-a9 machine.
    Qemu,
    /// TUL PYNQ-Z2 (xc7z020clg400-1).
    PynqZ2,
}

impl Board {
    fn name(self) -> &'static str {
        match self {
            Board::Qemu => "qemu",
            Board::PynqZ2 => "pynq-z2",
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the firmware ELF (release) and print its path.
    Firmware {
        /// Board to build for.
        #[arg(long, value_enum, default_value_t = Board::Qemu)]
        board: Board,
    },
    /// Boot the firmware under qemu-system-arm: UART0 (protocol) on
    /// tcp:127.0.0.1:PORT, GEM0 (protocol over UDP) forwarded from
    /// udp:127.0.0.1:UDP_PORT, UART1 (log) to a file. The CPU starts when
    /// the first client connects to UART0. Runs until Ctrl-C.
    Qemu {
        /// TCP port for UART0.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Host UDP port forwarded to the board's Ethernet endpoint.
        #[arg(long, default_value_t = 4001)]
        udp_port: u16,
        /// Firmware log file (default: target/qemu-uart1.log).
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// The main job on the embedded default: boot the board in QEMU; over
    /// UART0, then over UDP: print its identity and a ping summary, and
    /// estimate the jet tagger on it with the built-in fixed-point model;
    /// sweep the jet tagger's configurations on the board; print its
    /// counters.
    Demo,
    /// Everything CI checks: formatting, clippy (host and firmware), host
    /// tests, firmware build, QEMU end-to-end tests.
    Test,
    /// Fetch the `ap_types` headers of the hls4ml 1.3.0 wheel into
    /// target/ap_types (pip download; used by the fixed-point golden tests).
    ApTypes,
    /// Write bitstream-scripts/generated/ (address map as Tcl, register map
    /// as a C header) from zest_proto::pl.
    GenScripts,
    /// Estimate benchmark: designs/s over the QEMU link (every data design
    /// plus random ones, each checked against the host's fixed-point model),
    /// then again under `-icount shift=0` for instructions per estimate.
    BenchEstimate {
        /// Designs per run.
        #[arg(long, default_value_t = 1500)]
        designs: usize,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Project benchmark: wall time of `zest estimate DIR --json`, process
    /// start included, for every hls4ml project directory in the data,
    /// against `zest estimate` of the jet tagger's Keras JSON in the same
    /// run.
    BenchProjects {
        /// Runs per project (the median is kept).
        #[arg(long, default_value_t = 11)]
        runs: usize,
    },
    /// Exploration benchmark: grid vs BO vs random search on the digits
    /// MLP (feasible hypervolume, time, cache hits), evaluations/s with the
    /// estimator on the host and on the board under QEMU, and a plot.
    BenchExplore {
        /// Search seeds for BO and random.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Where the run directories go (finished runs there are reused).
        #[arg(long, default_value = "target/bench-explore")]
        out: PathBuf,
        /// Evaluations of the per-estimator runs.
        #[arg(long, default_value_t = 6)]
        board_evaluations: usize,
    },
    /// Link and board benchmark: echo RTT and payload bytes/s for 32 B and
    /// 512 B over QEMU's TCP and Unix-socket UART and over UDP; Estimate
    /// designs/s over UART and UDP; Sweep configurations/s on the board
    /// against the host, and the link bytes a Sweep saves.
    Bench {
        /// Echo requests per size.
        #[arg(long, default_value_t = 1000)]
        count: u32,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// Repository root (parent of xtask/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository root")
        .to_path_buf()
}

/// Runs a command, failing with its command line if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("failed ({status}): {shown}");
    }
    Ok(())
}

/// The host's cargo (the one running xtask).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

fn build_zest() -> Result<PathBuf> {
    run(cargo().args(["build", "--quiet", "-p", "zest", "--bin", "zest"]))?;
    Ok(root().join("target/debug/zest"))
}

fn demo() -> Result<()> {
    setup::ensure_qemu()?;
    let elf = toolchain::build_firmware(Board::Qemu)?;
    let zest = build_zest()?;
    let log = root().join("target/demo-uart1.log");
    let qemu = zest_board::qemu::Qemu::spawn(&zest_board::qemu::QemuConfig {
        elf,
        uart0: zest_board::qemu::Uart0::Tcp(None),
        log: log.clone(),
        icount_shift: None,
        udp_port: None,
    })?;
    let port = qemu.port().to_string();
    let udp = qemu.udp_port().to_string();
    println!(
        "== zest demo: firmware booted under QEMU (pid {}), UART0 on {port}, Ethernet (UDP) forwarded from {udp}",
        qemu.pid()
    );
    let steps: [(&str, &[&str]); 4] = [
        ("board identity", &["board", "info"]),
        (
            "ping summary (1000 x 32 B)",
            &["board", "ping", "--count", "1000", "--size", "32"],
        ),
        (
            "the jet tagger (16-64-32-32-5, ap_fixed<16,6>, RF 1) estimated by the board's fixed-point model",
            &["estimate", "tests/fixtures/jet_tagger.json"],
        ),
        ("board counters", &["board", "stats"]),
    ];
    // The UART first: its first client starts QEMU's CPU. Then the same
    // over UDP; the counters last, over the UART, count both links.
    for (link, port) in [("UART", &port), ("UDP", &udp)] {
        for (title, args) in &steps[..3] {
            demo_step(&zest, &format!("{title} over {link}"), args, port)?;
        }
    }
    demo_step(
        &zest,
        "a sweep of the jet tagger on the board over UDP (24 configurations expanded, estimated and reduced to the feasible Pareto set by the board; --board left out, the host computes the same set)",
        &[
            "sweep",
            "tests/fixtures/jet_tagger.json",
            "--precisions",
            "8,12,16",
            "--reuse-factors",
            "1,4,16,64",
            "--io-types",
            "io_parallel",
        ],
        &udp,
    )?;
    let (title, args) = steps[3];
    demo_step(&zest, &format!("{title} (both links)"), args, &port)?;
    drop(qemu);
    println!("\n== firmware log ({}):", log.display());
    print!("{}", std::fs::read_to_string(&log).unwrap_or_default());
    println!("\n== QEMU stopped. Next: `cargo xtask qemu --port 4000 --udp-port 4001` and `zest board --help`.");
    Ok(())
}

/// One demo step: `zest ARGS --port PORT` (`--board PORT` for estimate).
fn demo_step(zest: &Path, title: &str, args: &[&str], port: &str) -> Result<()> {
    // `zest estimate` and `zest sweep` name the board with --board, the
    // board commands with --port.
    let flag = if matches!(args[0], "estimate" | "sweep") {
        "--board"
    } else {
        "--port"
    };
    println!("\n== {title}: zest {} {flag} {port}", args.join(" "));
    run(Command::new(zest)
        .current_dir(root())
        .args(args)
        .args([flag, port]))
}

fn test() -> Result<()> {
    setup::ensure_qemu()?;
    let tc = toolchain::Toolchain::find()?;
    let root = root();
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new(tc.cargo_bin())
        .current_dir(root.join("firmware"))
        .args(["fmt", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tc.clippy_firmware(Board::Qemu)?;
    let elf = tc.build_firmware(Board::Qemu)?;
    tc.build_firmware(Board::PynqZ2)?;
    let zest = build_zest()?;
    let ap_types = setup::ensure_ap_types(&root)?;
    let hls4ml_python = setup::ensure_hls4ml_python(&root)?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("ZEST_HLS4ML_PYTHON", &hls4ml_python)
        .env("ZEST_FIRMWARE_ELF", &elf)
        .env("ZEST_BIN", &zest)
        .env("ZEST_AP_TYPES", &ap_types))?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Cmd) -> Result<()> {
    match command {
        Cmd::ApTypes => {
            println!("{}", setup::ensure_ap_types(&root())?.display());
        }
        Cmd::Firmware { board } => {
            let elf = toolchain::build_firmware(board)?;
            println!("{}", elf.display());
        }
        Cmd::Qemu {
            port,
            udp_port,
            log,
        } => {
            setup::ensure_qemu()?;
            let elf = toolchain::build_firmware(Board::Qemu)?;
            let log = log.unwrap_or_else(|| root().join("target/qemu-uart1.log"));
            let mut qemu = zest_board::qemu::Qemu::spawn(&zest_board::qemu::QemuConfig {
                elf,
                uart0: zest_board::qemu::Uart0::Tcp(Some(port)),
                log: log.clone(),
                icount_shift: None,
                udp_port: Some(udp_port),
            })?;
            println!(
                "QEMU (pid {}) waits for a client on UART0 at {}; the board's UDP endpoint is \
                 forwarded from {} once the CPU runs; firmware log: {}\n\
                 try: cargo run -p zest -- board info --port {}\n     \
                 cargo run -p zest -- board ping --port {}\nCtrl-C stops it.",
                qemu.pid(),
                qemu.port(),
                qemu.udp_port(),
                log.display(),
                qemu.port(),
                qemu.udp_port()
            );
            let status = qemu.wait()?;
            if !status.success() {
                bail!("QEMU exited with {status}: {}", qemu.qemu_messages());
            }
        }
        Cmd::Demo => demo()?,
        Cmd::Test => test()?,
        Cmd::Bench { count, json } => bench::run(count, json.as_deref())?,
        Cmd::GenScripts => {
            let dir = root().join("bitstream-scripts/generated");
            std::fs::create_dir_all(&dir)?;
            let (mut tcl, mut header) = (String::new(), String::new());
            zest_proto::pl::write_address_map_tcl(&mut tcl)?;
            zest_proto::pl::write_regs_header(&mut header)?;
            std::fs::write(dir.join("address_map.tcl"), tcl)?;
            std::fs::write(dir.join("zest_regs.h"), header)?;
            println!("wrote {}", dir.display());
        }
        Cmd::BenchEstimate { designs, json } => bench::estimates(designs, json.as_deref())?,
        Cmd::BenchProjects { runs } => bench::projects(runs)?,
        Cmd::BenchExplore {
            seeds,
            out,
            board_evaluations,
        } => bench_explore::run(seeds, &out, board_evaluations)?,
    }
    Ok(())
}

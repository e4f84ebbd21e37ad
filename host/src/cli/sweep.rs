//! `zest sweep`: one network over a grid of hls4ml configurations, the
//! feasible Pareto set printed, on the host or on a board.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use zest::design::{IoType, Strategy};
use zest::sweep::{SweepResult, SweepSpec};
use zest_board::client::Patience;

use super::board::connect_board;
use super::render::emit;

/// `zest sweep` arguments.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The network (any form `zest estimate` reads: Keras JSON, ONNX,
    /// hls4ml YAML, a record, an hls4ml project). Its own configuration is
    /// replaced by each grid point's; QKeras per-layer precisions too.
    pub network: PathBuf,
    /// `ap_fixed` total widths to try, comma-separated (1 to 8 of them).
    #[arg(long, value_delimiter = ',', default_value = "8,10,12,14,16,18,20,24")]
    pub precisions: Vec<u8>,
    /// Reuse factors to try (1 to 16); under the Resource strategy each
    /// layer builds hls4ml's closest valid one.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,3,4,5,6,8,10,12,16,20,32,40,64,80,128"
    )]
    pub reuse_factors: Vec<u32>,
    /// Strategies to try: latency, resource.
    #[arg(long, value_delimiter = ',', default_value = "latency,resource")]
    pub strategies: Vec<String>,
    /// IO types to try: io_parallel, io_stream.
    #[arg(long, value_delimiter = ',', default_value = "io_parallel,io_stream")]
    pub io_types: Vec<String>,
    /// FPGA part (its capacities are the limits).
    #[arg(long, default_value = zest::part::PYNQ_Z2)]
    pub part: String,
    /// Clock period, ns.
    #[arg(long, default_value_t = 5.0)]
    pub clock_ns: f64,
    /// HLS tool: vivado (Vivado HLS, up to 2020.1), vitis (Vitis HLS), or
    /// a name with a version [default: the network's configuration's
    /// Backend, else unknown, estimated halfway between the two].
    #[arg(long)]
    pub tool: Option<String>,
    /// Utilisation bound on LUT, FF, DSP and BRAM18 (fraction of the part).
    #[arg(long, default_value_t = 0.8)]
    pub bound: f64,
    /// Keep only designs with at most this latency (cycles).
    #[arg(long)]
    pub max_latency: Option<f64>,
    /// Keep only designs with at most this II (cycles): 1 for a design
    /// that takes an input every clock.
    #[arg(long)]
    pub max_ii: Option<f64>,
    /// Sweep on a zest board (udp:HOST:PORT, tcp:HOST:PORT, unix:PATH or
    /// a serial device): one request, the board expands the grid.
    #[arg(long, value_name = "PORT")]
    pub board: Option<String>,
    /// With --board: also send the same grid as one `Estimate` request per
    /// configuration, and report the bytes both ways took on the link.
    #[arg(long, requires = "board")]
    pub compare_estimates: bool,
    /// Seconds to wait for the board's answer.
    #[arg(long, default_value_t = 120)]
    pub board_timeout_s: u64,
    /// The fixed-point model (default: the one shipped in zest and built
    /// into the firmware).
    #[arg(long, value_name = "FILE")]
    pub fixed_model: Option<PathBuf>,
    /// Also draw the front (DSP against latency, LUT as colour) as PNG.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl SweepArgs {
    /// Runs `zest sweep`.
    pub fn run(self) -> anyhow::Result<()> {
        let strategies = self
            .strategies
            .iter()
            .map(|s| s.parse::<Strategy>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("--strategies")?;
        let io_types = self
            .io_types
            .iter()
            .map(|s| s.parse::<IoType>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("--io-types")?;
        // The tool is the one setting the sweep takes from the network's
        // configuration (its Backend) when not given.
        let input = zest::input::read(
            &self.network,
            &zest::input::Overrides {
                tool: self.tool.clone(),
                ..zest::input::Overrides::default()
            },
        )?;
        let spec = SweepSpec {
            widths: self.precisions.clone(),
            reuse_factors: self.reuse_factors.clone(),
            strategies,
            io_types,
            part: self.part.clone(),
            clock_ns: self.clock_ns,
            tool: input.design.tool.clone(),
            bound: self.bound,
            max_latency: self.max_latency,
            max_ii: self.max_ii,
        };
        let (grid, limits) = (spec.grid()?, spec.limits()?);
        for w in &input.warnings {
            eprintln!("zest: warning: {w}");
        }
        let layers = zest::sweep::sweep_layers(&input.design)?;
        let fixed = zest::models::read_fixed(self.fixed_model.as_deref())?;
        let result = match &self.board {
            Some(port) => {
                let mut client = connect_board(
                    port,
                    Patience {
                        timeout: Duration::from_secs(10),
                        ..Patience::default()
                    },
                )?;
                let mut r = zest::sweep::on_board(
                    &mut client,
                    &fixed,
                    &layers,
                    &grid,
                    &limits,
                    Duration::from_secs(self.board_timeout_s),
                )?;
                if self.compare_estimates {
                    r.estimate_path_bytes = Some(zest::sweep::estimate_path_bytes(
                        &mut client,
                        &fixed,
                        &layers,
                        &grid,
                    )?);
                }
                r
            }
            None => zest::sweep::on_host(&fixed, &layers, &grid, &limits)?,
        };
        if let Some(png) = &self.plot {
            zest::learn::plots::write_sweep_plot(png, &input.design.id, &result)?;
        }
        emit(&result, self.json, |r| {
            print_sweep(r, &input.design.id, &spec)
        })?;
        if let Some(png) = &self.plot {
            eprintln!("front drawn in {}", png.display());
        }
        Ok(())
    }
}

fn print_sweep(r: &SweepResult, name: &str, spec: &SweepSpec) -> anyhow::Result<()> {
    println!(
        "{name} on {} at {} ns, bound {:.0} %: {} configurations, {} over a limit, {} on the Pareto front{}",
        spec.part,
        spec.clock_ns,
        100.0 * spec.bound,
        r.evaluated,
        r.infeasible,
        r.pareto.len(),
        if r.overflow { " (truncated: the front outgrew the buffer)" } else { "" }
    );
    println!("computed by {} in {:.3} s", r.engine, r.seconds);
    if let Some((tx, rx)) = r.bytes {
        println!("link: {tx} bytes sent, {rx} received");
        if let Some((etx, erx)) = r.estimate_path_bytes {
            println!(
                "the same grid as one Estimate per configuration: {etx} bytes sent, {erx} received ({:.1}x the Sweep's)",
                (etx + erx) as f64 / (tx + rx).max(1) as f64
            );
        }
    }
    println!(
        "{:>5}  {:>5}  {:>4}  {:<8}  {:<11}  {:>9}  {:>9}  {:>6}  {:>6}  {:>8}  {:>5}",
        "index", "width", "RF", "strategy", "io", "LUT", "FF", "DSP", "BRAM18", "latency", "II"
    );
    for p in &r.pareto {
        let t = p.targets;
        println!(
            "{:>5}  {:>5}  {:>4}  {:<8}  {:<11}  {:>9.0}  {:>9.0}  {:>6.0}  {:>6.0}  {:>8.0}  {:>5.0}",
            p.config.index,
            p.config.width,
            p.config.reuse_factor,
            p.config.strategy,
            p.config.io_type,
            t[0],
            t[1],
            t[2],
            t[3],
            t[4],
            t[5]
        );
    }
    Ok(())
}

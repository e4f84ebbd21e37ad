//! `zest estimate`: one design, on the host or on a board.

use std::time::Duration;

use clap::Args;
use zest_board::client::Patience;

use super::board::connect_board;
use super::render::emit;
use super::HlsArgs;

/// `zest estimate` arguments.
#[derive(Args, Debug)]
pub struct EstimateArgs {
    /// The network: a Keras model JSON (the architecture file hls4ml
    /// reads), an ONNX model (`.onnx`), an hls4ml YAML configuration
    /// (`.yml`/`.yaml`) that names one in KerasJson or OnnxModel and
    /// sets the options (the flags below override it), or one synthesis
    /// record (a wa-hls4ml release record, or a zest record as `zest
    /// ingest` writes), or an hls4ml project directory (firmware/,
    /// hls4ml_config.yml, and its reports if synthesised): for a record
    /// or a project its own configuration is used and its synthesis
    /// results are printed next to the estimate.
    pub network: std::path::PathBuf,
    #[command(flatten)]
    pub hls: HlsArgs,
    /// A model written by `zest train` instead of the embedded one.
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Also print upper bounds meant to cover the true value with this
    /// probability (e.g. 0.9; `zest eval` measures the coverage).
    #[arg(long, value_name = "Q")]
    pub upper: Option<f64>,
    /// Ask a zest board instead (udp:HOST:PORT, tcp:HOST:PORT, unix:PATH or a serial
    /// device): it computes the estimate with its fixed-point model, in
    /// the PL accelerator or its soft model.
    #[arg(long, value_name = "PORT")]
    pub board: Option<String>,
    /// Compute the estimate on the host with the fixed-point model, bit
    /// for bit what a board answers (no board needed).
    #[arg(long, conflicts_with = "board")]
    pub fixed_point: bool,
    /// With --board or --fixed-point: the fixed-point model (default: the
    /// one shipped in zest and built into the firmware).
    #[arg(long, value_name = "FILE")]
    pub fixed_model: Option<std::path::PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl EstimateArgs {
    /// Runs `zest estimate`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            network,
            hls,
            model: model_path,
            upper,
            board,
            fixed_model,
            fixed_point,
            json,
        } = self;
        if let Some(q) = upper {
            anyhow::ensure!((0.0..1.0).contains(&q), "--upper must be in [0, 1)");
        }
        let input = zest::input::read(&network, &hls.overrides()?)?;
        for w in &input.warnings {
            eprintln!("zest: warning: {w}");
        }
        let (cfg, design) = (input.cfg, input.design);
        let model = zest::models::load_model(model_path.as_deref())?;
        let name = zest::models::model_name(model_path.as_deref());
        let mut report = zest::estimate::estimate(&model, &design, &cfg, &name, upper);
        let engine = match board {
            Some(port) => Some(zest::board::FixedEngine::Board(connect_board(
                &port,
                Patience {
                    timeout: Duration::from_secs(10),
                    ..Patience::default()
                },
            )?)),
            None if fixed_point => Some(zest::board::FixedEngine::Host),
            None => None,
        };
        if let Some(mut engine) = engine {
            let fixed = zest::models::read_fixed(fixed_model.as_deref())?;
            zest::board::fixed_point_report(
                &mut report,
                &design,
                &fixed,
                &mut engine,
                upper.map(|q| (&model, q)),
            )?;
        }
        emit(&report, json, |report| print_estimate(report, &cfg))
    }
}

/// The text form of an estimate report.
fn print_estimate(
    report: &zest::estimate::EstimateReport,
    cfg: &zest::design::HlsConfig,
) -> anyhow::Result<()> {
    let t = report.targets;
    println!(
        "{} on {} ({}, RF {}, {:?}, {:?}, {} ns, {}), model: {}",
        report.design,
        cfg.part,
        cfg.precision,
        cfg.reuse_factor,
        cfg.strategy,
        cfg.io_type,
        cfg.clock_ns,
        cfg.tool
            .as_deref()
            .unwrap_or("HLS tool unknown: --tool vivado|vitis"),
        report.model
    );
    let util = report.utilisation;
    let pct = |i: usize| util.map_or(String::new(), |u| format!("{:>7.1} %", u[i]));
    let up = |i: usize| {
        let mut s = report.upper.as_ref().map_or(String::new(), |u| {
            format!("  <= {:>10} (q {})", u.targets.to_array()[i], u.quantile)
        });
        if let Some(r) = &report.recorded {
            let v = r.to_array()[i];
            if v.is_finite() {
                s.push_str(&format!("   synthesis: {v}"));
            }
        }
        s
    };
    println!("  LUT        {:>10} {}{}", t.lut, pct(0), up(0));
    println!("  FF         {:>10} {}{}", t.ff, pct(1), up(1));
    println!("  DSP        {:>10} {}{}", t.dsp, pct(2), up(2));
    println!("  BRAM18     {:>10} {}{}", t.bram18, pct(3), up(3));
    println!(
        "  latency    {:>10} cycles ({:.1} ns){}",
        t.latency_cycles,
        t.latency_cycles * cfg.clock_ns,
        up(4)
    );
    println!("  II         {:>10} cycles{}", t.ii, up(5));
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
        if let Some(r) = l.recorded {
            let r = r.to_array();
            let show = |v: f64, prec: usize| {
                if v.is_finite() {
                    format!("{v:.prec$}")
                } else {
                    "?".into()
                }
            };
            println!(
                "  {:<16} {:<11} {:>11} {:>9} {:>9} {:>7} {:>7} {:>8} {:>6}",
                "",
                "",
                "synthesis",
                show(r[0], 0),
                show(r[1], 0),
                show(r[2], 1),
                show(r[3], 1),
                show(r[4], 1),
                show(r[5], 1)
            );
        }
    }
    for w in &report.warnings {
        eprintln!("zest: warning: {w}");
    }
    Ok(())
}

//! `zest quantize`, `zest hls`, `zest hls-check`: from the trained
//! surrogate to a fixed-point model and an HLS project.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use zest::design::Design;
use zest::quantize::{EvalSet, QhsReport};
use zest_fixed::model::FixedModel;

/// The fixed-point model zest ships (regenerate: `zest quantize --out
/// host/models/default.zfx`).
pub const DEFAULT_FIXED: &[u8] = include_bytes!("../../models/default.zfx");

/// Reads a fixed-point model file, or the shipped one.
pub fn read_fixed(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let bytes = match path {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => DEFAULT_FIXED.to_vec(),
    };
    FixedModel::parse(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}",
            path.map_or("shipped fixed-point model".into(), |p| p
                .display()
                .to_string())
        )
    })?;
    Ok(bytes)
}

/// `zest quantize` arguments.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// A model written by `zest train` instead of the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Data directory (default: $ZEST_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Extra records written by `zest ingest` (JSON Lines); repeatable.
    #[arg(long = "records", value_name = "FILE")]
    pub records: Vec<PathBuf>,
    /// Allowed loss: fixed-point mean SMAPE may exceed the f32 model's by
    /// this many percentage points on the search designs.
    #[arg(long, default_value_t = 0.5)]
    pub tolerance: f64,
    /// Also keep every target's estimates within this SMAPE % of the f32
    /// model's own on the search designs (worst target), so the fixed-point
    /// model answers like the f32 one, not just as accurately.
    #[arg(long, default_value_t = 5.0)]
    pub max_drift: f64,
    /// Seed of the split of the designs (by group) into search and test
    /// halves.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the fixed-point model.
    #[arg(long, default_value = "zest-model.zfx")]
    pub out: PathBuf,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `zest hls` arguments.
#[derive(Args, Debug)]
pub struct HlsArgs {
    /// Project directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Fixed-point model from `zest quantize` (default: the shipped one).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print the written files as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `zest hls-check` arguments.
#[derive(Args, Debug)]
pub struct HlsCheckArgs {
    /// Project written by `zest hls`.
    pub dir: PathBuf,
    /// Random designs (1–4 tokens over the whole input range, extremes
    /// included) on top of the data's designs.
    #[arg(long, default_value_t = 10_000)]
    pub vectors: usize,
    /// Also use the tokens of every design in the data (default: on when
    /// the data directory exists).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// ap_types headers (default: $ZEST_AP_TYPES, else target/ap_types).
    #[arg(long)]
    pub ap_types: Option<PathBuf>,
    /// Seed of the random vectors.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn print_qhs(r: &QhsReport, out: &Path, accel: &zest::estimate::EstimateReport) {
    println!(
        "QHS (MetaML-Pro §4.4), tolerance +{} pp mean SMAPE, estimates within {} % of f32 (worst target)",
        r.tolerance, r.max_drift
    );
    println!(
        "  search designs {}   test designs {}   evaluations {}   reductions kept {}   {:.1} s",
        r.search_designs, r.test_designs, r.evaluations, r.reductions, r.seconds
    );
    println!("  mean SMAPE %          f32     fixed");
    println!(
        "  search            {:>7.2}   {:>7.2}   (start precisions: {:.2})",
        r.f32_search, r.final_search, r.start_search
    );
    println!(
        "  test              {:>7.2}   {:>7.2}",
        r.f32_test, r.final_test
    );
    println!(
        "  bits: weights {} + activations {} = {}   uniform ap_fixed<16,6>: {} + {} = {}  ({:.2}x fewer)",
        r.bits.weight_bits,
        r.bits.activation_bits,
        r.bits.weight_bits + r.bits.activation_bits,
        r.uniform_16_6.weight_bits,
        r.uniform_16_6.activation_bits,
        r.uniform_16_6.weight_bits + r.uniform_16_6.activation_bits,
        (r.uniform_16_6.weight_bits + r.uniform_16_6.activation_bits) as f64
            / (r.bits.weight_bits + r.bits.activation_bits).max(1) as f64
    );
    println!(
        "  {:<24} {:<22} {:<22} {:<22}",
        "virtual layer", "weight", "bias", "result"
    );
    for v in &r.virtual_layers {
        println!(
            "  {:<24} {:<22} {:<22} {:<22}",
            v.name,
            v.weight,
            v.bias.as_deref().unwrap_or("-"),
            v.result
        );
    }
    let t = &accel.targets;
    println!(
        "accelerator on {} for 100 MHz, estimated by zest at a {} ns schedule: LUT {:.0}  FF {:.0}  DSP {:.0}  BRAM18 {:.0}  latency {:.0} cycles  II {:.0}",
        accel.config.part, accel.config.clock_ns, t.lut, t.ff, t.dsp, t.bram18, t.latency_cycles, t.ii
    );
    if let Some(u) = accel.utilisation {
        println!(
            "  utilisation: LUT {:.1} %  FF {:.1} %  DSP {:.1} %  BRAM {:.1} %{}",
            u[0],
            u[1],
            u[2],
            u[3],
            if u.iter().all(|v| *v <= 100.0) {
                "  (fits)"
            } else {
                "  (DOES NOT FIT)"
            }
        );
    }
    println!(
        "wrote {} (model id {}, {} bytes)",
        out.display(),
        r.model_id,
        r.model_bytes
    );
}

/// `zest quantize`.
pub fn quantize_cmd(a: &QuantizeArgs, designs: &[Design]) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.tolerance >= 0.0 && a.tolerance.is_finite(),
        "--tolerance must be ≥ 0 (percentage points of mean SMAPE)"
    );
    let model = zest::estimate::load_model(a.model.as_deref())?;
    // Halves by group (every configuration of a network on one side), the
    // realistic networks split the same way, so the search sees their
    // regime too and the test half holds some it never saw.
    let mut search = Vec::new();
    let mut test = Vec::new();
    for realistic in [false, true] {
        let part: Vec<&Design> = designs
            .iter()
            .filter(|d| d.realistic == realistic)
            .collect();
        let (s, t) = zest::eval::group_split(&part, 0.5, a.seed);
        search.extend(s);
        test.extend(t);
    }
    let test_realistic: Vec<&Design> = test.iter().copied().filter(|d| d.realistic).collect();
    let search = EvalSet::new(&search);
    let test = EvalSet::new(&test);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!(
        "QHS on {} designs ({} tokens)",
        search.len(),
        search.token_count()
    ));
    let provenance = format!(
        "zest quantize --tolerance {} --max-drift {} --seed {} from {}",
        a.tolerance,
        a.max_drift,
        a.seed,
        a.model
            .as_ref()
            .map_or("the embedded model".into(), |p| p.display().to_string())
    );
    let (bytes, report) = zest::quantize::qhs(
        &model,
        &search,
        &test,
        a.tolerance,
        a.max_drift,
        &provenance,
        |n, left| {
            bar.set_message(format!(
                "QHS: {n} evaluations, {left} precisions still reducible this round"
            ));
            bar.tick();
        },
    )?;
    bar.finish_and_clear();
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    let fixed = FixedModel::parse(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The realistic networks of the test half: f32 vs fixed point.
    let realistic = EvalSet::new(&test_realistic);
    let realistic_pair = if realistic.is_empty() {
        None
    } else {
        Some((
            realistic.f32_metric(&model),
            zest::quantize::fixed_metric(&realistic, &bytes)?,
        ))
    };
    let drift = zest::quantize::drift(&test, &model, &bytes)?;
    let accel = zest::hls::accelerator_design(&fixed);
    let cfg = zest::estimate::config_of(&accel);
    let accel_report = zest::estimate::estimate(
        &zest::estimate::load_model(None)?,
        &accel,
        &cfg,
        "embedded default",
        None,
    );
    #[derive(serde::Serialize)]
    struct Out<'a> {
        qhs: &'a QhsReport,
        /// Mean SMAPE % on the realistic networks of the test half: (f32,
        /// fixed point).
        realistic: Option<(f64, f64)>,
        /// Per target, SMAPE % between the fixed-point and f32 estimates on
        /// the test half.
        drift_from_f32: [f64; 6],
        accelerator: &'a zest::estimate::EstimateReport,
        out: &'a Path,
    }
    let out = Out {
        realistic: realistic_pair,
        drift_from_f32: drift,
        qhs: &report,
        accelerator: &accel_report,
        out: &a.out,
    };
    if let Some(p) = &a.report {
        std::fs::write(p, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_qhs(&report, &a.out, &accel_report);
        println!(
            "  fixed point vs f32 estimates on the test half, SMAPE %: LUT {:.1}  FF {:.1}  DSP {:.1}  BRAM {:.1}  latency {:.1}  II {:.1}",
            drift[0], drift[1], drift[2], drift[3], drift[4], drift[5]
        );
        if let Some((f, q)) = realistic_pair {
            println!(
                "  test, realistic networks only ({} designs): f32 {f:.2} %, fixed point {q:.2} %",
                realistic.len()
            );
        }
    }
    Ok(())
}

/// `zest hls`.
pub fn hls_cmd(a: &HlsArgs) -> anyhow::Result<()> {
    let bytes = read_fixed(a.model.as_deref())?;
    let files = zest::hls::generate(&bytes, &a.out)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&files)?);
        return Ok(());
    }
    let id = FixedModel::id_of(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "wrote {} files for model {id:016x} to {}",
        files.len(),
        a.out.display()
    );
    println!(
        "  C simulation against the Rust model: zest hls-check {}",
        a.out.display()
    );
    println!(
        "  synthesis (Vitis HLS): cd {} && vitis_hls -f build_prj.tcl -tclargs cosim export",
        a.out.display()
    );
    Ok(())
}

/// `zest hls-check`.
pub fn hls_check_cmd(a: &HlsCheckArgs, designs: &[Design]) -> anyhow::Result<()> {
    let model_path = a.dir.join("model.zfx");
    let bytes = std::fs::read(&model_path).with_context(|| {
        format!(
            "reading {} (is {} a project written by `zest hls`?)",
            model_path.display(),
            a.dir.display()
        )
    })?;
    let model =
        FixedModel::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
    let data_vectors: Vec<zest::hls::Vector> = designs
        .iter()
        .map(|d| zest::quantize::design_tokens(&model.input, d))
        .filter(|v: &zest::hls::Vector| !v.is_empty())
        .collect();
    let vectors = zest::hls::vectors(&model, &data_vectors, a.vectors, a.seed);
    let ap = zest::hls::ap_types_dir(a.ap_types.as_deref())?;
    let tb_data = a.dir.join("tb_data");
    std::fs::create_dir_all(&tb_data).with_context(|| format!("creating {}", tb_data.display()))?;
    let vpath = tb_data.join("vectors.txt");
    zest::hls::write_vectors(&vpath, &vectors)?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("compiling the C simulation (g++)");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let bin = zest::hls::compile_csim(&a.dir, &ap)?;
    bar.set_message(format!(
        "running the testbench on {} designs",
        vectors.len()
    ));
    let rows = zest::hls::run_csim(&bin, &vpath, &tb_data.join("csim_results.txt"))?;
    bar.set_message("running the Rust fixed-point model");
    let bad = zest::hls::compare(&model, &vectors, &rows)?;
    bar.finish_and_clear();
    let tokens: usize = vectors.iter().map(Vec::len).sum();
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            designs: usize,
            tokens: usize,
            from_data: usize,
            mismatches: &'a [zest::hls::Mismatch],
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                designs: vectors.len(),
                tokens,
                from_data: data_vectors.len(),
                mismatches: &bad,
            })?
        );
    } else {
        for m in &bad {
            println!(
                "MISMATCH vector {}: rust {:?} csim {:?}",
                m.vector, m.rust, m.csim
            );
        }
        println!(
            "hls-check: {} designs ({} from the data, {} tokens): {} mismatches between the g++ C simulation and the Rust fixed-point model",
            vectors.len(),
            data_vectors.len(),
            tokens,
            bad.len()
        );
    }
    anyhow::ensure!(bad.is_empty(), "{} designs differ", bad.len());
    Ok(())
}

/// Replaces the host's estimate in `report` by the board's: the design's
/// totals and, one layer per design, each layer's costs, computed by the
/// board's fixed-point model (soft model or PL accelerator).
pub fn estimate_on_board(
    report: &mut zest::estimate::EstimateReport,
    design: &Design,
    client: &mut zest::client::BoardClient,
    fixed_path: Option<&Path>,
    upper: Option<(&zest::surrogate::Surrogate, f64)>,
) -> anyhow::Result<()> {
    use zest::board_estimate::{estimate_on_board, Tokens};
    use zest::quantize::totals_to_targets;
    let bytes = read_fixed(fixed_path)?;
    let model = FixedModel::parse(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = FixedModel::id_of(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tokens: Tokens = zest::quantize::design_tokens(&model.input, design);
    anyhow::ensure!(!tokens.is_empty(), "{} has no layers", design.id);
    // The whole design, then each layer alone (its attribution).
    let mut designs = vec![tokens.clone()];
    designs.extend(tokens.iter().map(|t| vec![t.clone()]));
    let run = estimate_on_board(client, &model, id, &designs, |_| {})?;
    let to_t = |raw: &[u64; 6]| totals_to_targets(&model.total, &raw.map(|v| v as i64));
    let total = to_t(&run.totals[0]);
    report.targets = zest::surrogate::round_targets(&total);
    for (l, raw) in report.layers.iter_mut().zip(&run.totals[1..]) {
        l.costs = to_t(raw).to_array();
    }
    report.utilisation = zest::estimate::utilisation(&report.config.part, &report.targets);
    if let Some((m, q)) = upper {
        report.upper = m.upper(&total, q).map(|u| zest::estimate::UpperBound {
            quantile: q,
            targets: zest::surrogate::round_targets(&u),
        });
    }
    report.model = format!(
        "board {} ({}, fixed-point model {id:016x})",
        client.port(),
        match run.engine {
            zest_proto::Engine::Pl => "PL accelerator",
            zest_proto::Engine::Soft => "soft model",
        }
    );
    Ok(())
}

/// `zest board model-upload`.
pub fn model_upload(
    client: &mut zest::client::BoardClient,
    file: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let bytes = read_fixed(file)?;
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
pub struct BoardBenchArgs {
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

/// What `zest board bench` measured.
#[derive(Debug, serde::Serialize)]
pub struct BoardBench {
    /// Designs sent.
    pub designs: usize,
    /// Of which from the data (realistic ones included).
    pub from_data: usize,
    /// Realistic designs among them.
    pub realistic: usize,
    /// Layer tokens sent.
    pub tokens: usize,
    /// Requests.
    pub requests: usize,
    /// Designs whose board totals differ from the host's fixed-point model.
    pub mismatches: usize,
    /// Engine.
    pub engine: String,
    /// Wall seconds over the link.
    pub seconds: f64,
    /// Designs per second over the link.
    pub designs_per_s: f64,
    /// The host's own fixed-point model, same designs, one thread.
    pub host_designs_per_s: f64,
    /// Board timer ticks per design, and the tick rate.
    pub ticks_per_design: f64,
    /// Tick rate (Hz).
    pub tick_hz: u32,
    /// With --icount-shift: guest instructions per design and per token.
    pub instructions_per_design: Option<f64>,
    /// Same per layer token.
    pub instructions_per_token: Option<f64>,
}

/// `zest board bench`.
pub fn board_bench(
    client: &mut zest::client::BoardClient,
    a: &BoardBenchArgs,
    designs: &[Design],
    json: bool,
) -> anyhow::Result<BoardBench> {
    use zest::board_estimate::{estimate_locally, estimate_on_board, Tokens};
    let bytes = read_fixed(a.fixed_model.as_deref())?;
    let model = FixedModel::parse(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = FixedModel::id_of(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let from_data: Vec<Tokens> = designs
        .iter()
        .map(|d| zest::quantize::design_tokens(&model.input, d))
        .filter(|t| !t.is_empty())
        .collect();
    let realistic = designs.iter().filter(|d| d.realistic).count();
    let random = a.designs.saturating_sub(from_data.len());
    let mut all: Vec<Tokens> = zest::hls::vectors(&model, &from_data, random, a.seed);
    all.truncate(from_data.len() + random);
    let tokens: usize = all.iter().map(Vec::len).sum();
    let bar = indicatif::ProgressBar::new(all.len() as u64);
    let started = std::time::Instant::now();
    let run = estimate_on_board(client, &model, id, &all, |n| bar.set_position(n as u64))?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let t0 = std::time::Instant::now();
    let local = estimate_locally(&model, &all);
    let host_s = t0.elapsed().as_secs_f64();
    let mismatches: Vec<usize> = (0..all.len())
        .filter(|i| run.totals[*i] != local[*i])
        .collect();
    for i in mismatches.iter().take(20) {
        eprintln!(
            "MISMATCH design {i}: board {:?} host {:?}",
            run.totals[*i], local[*i]
        );
    }
    let stats = client.stats()?;
    let ticks_per_design = run.ticks as f64 / all.len().max(1) as f64;
    let insn = a.icount_shift.map(|s| {
        // -icount shift=N: each guest instruction advances virtual time 2^N ns.
        ticks_per_design / f64::from(stats.tick_hz) * 1e9 / f64::from(1u32 << s.min(20))
    });
    let b = BoardBench {
        designs: all.len(),
        from_data: from_data.len(),
        realistic,
        tokens,
        requests: run.requests,
        mismatches: mismatches.len(),
        engine: format!("{:?}", run.engine),
        seconds,
        designs_per_s: all.len() as f64 / seconds.max(1e-9),
        host_designs_per_s: all.len() as f64 / host_s.max(1e-9),
        ticks_per_design,
        tick_hz: stats.tick_hz,
        instructions_per_design: insn,
        instructions_per_token: insn.map(|i| i * all.len() as f64 / tokens.max(1) as f64),
    };
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
    Ok(b)
}

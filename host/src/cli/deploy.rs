//! `zest quantize`, `zest hls`, `zest hls-check`: from the trained
//! surrogate to a fixed-point model and an HLS project.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use zest::deploy::quantize::QhsReport;

use super::learn::{designs_if_present, load_designs};
use super::render::{print_json, spinner};
use zest_fixed::model::FixedModel;

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
pub struct HlsProjectArgs {
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
impl QuantizeArgs {
    /// Runs `zest quantize`.
    pub fn run(&self) -> anyhow::Result<()> {
        let a = self;
        anyhow::ensure!(
            a.tolerance >= 0.0 && a.tolerance.is_finite(),
            "--tolerance must be ≥ 0 (percentage points of mean SMAPE)"
        );
        let designs = load_designs(a.data.clone(), &a.records)?;
        let model = zest::models::load_model(a.model.as_deref())?;
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("QHS");
        let provenance = format!(
            "zest quantize --tolerance {} --max-drift {} --seed {} from {}",
            a.tolerance,
            a.max_drift,
            a.seed,
            a.model
                .as_ref()
                .map_or("the embedded model".into(), |p| p.display().to_string())
        );
        let (bytes, out) = zest::deploy::quantize::quantize(
            &model,
            &designs,
            &zest::deploy::quantize::QuantizeOptions {
                tolerance: a.tolerance,
                max_drift: a.max_drift,
                seed: a.seed,
            },
            &provenance,
            &a.out,
            |n, left| {
                bar.set_message(format!(
                    "QHS: {n} evaluations, {left} precisions still reducible this round"
                ));
                bar.tick();
            },
        )?;
        bar.finish_and_clear();
        std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
        if let Some(p) = &a.report {
            std::fs::write(p, serde_json::to_string_pretty(&out)?)
                .with_context(|| format!("writing {}", p.display()))?;
        }
        if a.json {
            return print_json(&out);
        }
        print_qhs(&out.qhs, &a.out, &out.accelerator);
        let drift = out.drift_from_f32;
        println!(
            "  fixed point vs f32 estimates on the test half, SMAPE %: LUT {:.1}  FF {:.1}  DSP {:.1}  BRAM {:.1}  latency {:.1}  II {:.1}",
            drift[0], drift[1], drift[2], drift[3], drift[4], drift[5]
        );
        if let Some((f, q)) = out.realistic {
            println!(
                "  test, realistic networks only ({} designs): f32 {f:.2} %, fixed point {q:.2} %",
                out.realistic_designs
            );
        }
        Ok(())
    }
}

impl HlsProjectArgs {
    /// Runs `zest hls`.
    pub fn run(&self) -> anyhow::Result<()> {
        let a = self;
        let bytes = zest::models::read_fixed(a.model.as_deref())?;
        let files = zest::deploy::hls::generate(&bytes, &a.out)?;
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
}

impl HlsCheckArgs {
    /// Runs `zest hls-check`.
    pub fn run(&self) -> anyhow::Result<()> {
        let a = self;
        let designs = designs_if_present(a.data.as_deref())?;
        let model_path = a.dir.join("model.zfx");
        let bytes = std::fs::read(&model_path).with_context(|| {
            format!(
                "reading {} (is {} a project written by `zest hls`?)",
                model_path.display(),
                a.dir.display()
            )
        })?;
        let model = FixedModel::parse(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
        let data_vectors: Vec<zest::tokens::Tokens> = designs
            .iter()
            .map(|d| zest::tokens::quantized(&model.input, d))
            .filter(|v| !v.is_empty())
            .collect();
        let vectors = zest::deploy::hls::vectors(&model, &data_vectors, a.vectors, a.seed);
        let ap = zest::deploy::hls::ap_types_dir(a.ap_types.as_deref())?;
        let tb_data = a.dir.join("tb_data");
        std::fs::create_dir_all(&tb_data)
            .with_context(|| format!("creating {}", tb_data.display()))?;
        let vpath = tb_data.join("vectors.txt");
        zest::deploy::hls::write_vectors(&vpath, &vectors)?;
        let bar = spinner("compiling the C simulation (g++)");
        let bin = zest::deploy::hls::compile_csim(&a.dir, &ap)?;
        bar.set_message(format!(
            "running the testbench on {} designs",
            vectors.len()
        ));
        let rows = zest::deploy::hls::run_csim(&bin, &vpath, &tb_data.join("csim_results.txt"))?;
        bar.set_message("running the Rust fixed-point model");
        let bad = zest::deploy::hls::compare(&model, &vectors, &rows)?;
        bar.finish_and_clear();
        let tokens: usize = vectors.iter().map(Vec::len).sum();
        if a.json {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                designs: usize,
                tokens: usize,
                from_data: usize,
                mismatches: &'a [zest::deploy::hls::Mismatch],
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
}

//! `zest data`, `zest ingest`, `zest train`, `zest eval` and `zest bench`:
//! the records the estimator learns from, and learning it.

use anyhow::Context;
use clap::Args;

use super::render::{print_json, spinner};
use super::{HlsArgs, TrainKnobs};

/// `zest data` arguments.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// Data directory (default: $ZEST_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Also load these record files (JSON Lines written by `zest ingest`).
    #[arg(long, value_name = "FILE")]
    pub records: Vec<std::path::PathBuf>,
    /// List every skipped record, not only the reasons.
    #[arg(long)]
    pub list_skipped: bool,
    /// Print JSON (counts and issues) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl DataArgs {
    /// Runs `zest data`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            data: root,
            records,
            list_skipped,
            json,
        } = self;
        let root = root.unwrap_or_else(zest::data::default_root);
        let bar = indicatif::ProgressBar::new_spinner();
        let report =
            zest::data::load_with_records(&root, &records, |f| bar.set_message(f.to_string()))?;
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
            // Grouped by data set and reason (the record's own name left out).
            let mut reasons: std::collections::BTreeMap<(&str, String), usize> = Default::default();
            for issue in &report.unusable {
                let reason = issue
                    .reason
                    .map_or_else(|| issue.message.clone(), |r| r.to_string());
                *reasons
                    .entry((issue.file.split('/').next().unwrap_or(""), reason))
                    .or_default() += 1;
            }
            for ((set, reason), n) in reasons {
                println!("skipped {n:>3} x {set}: {reason}");
            }
        }
        Ok(())
    }
}

/// `zest train` arguments.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Data directory (default: $ZEST_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Also load these record files (JSON Lines written by `zest ingest`).
    #[arg(long, value_name = "FILE")]
    pub records: Vec<std::path::PathBuf>,
    /// Where to write the model.
    #[arg(long, default_value = "zest-model.json")]
    pub out: std::path::PathBuf,
    /// Seed of the initialisation and of the validation split.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Leave the realistic networks out of training (as `zest eval` does).
    #[arg(long)]
    pub synthetic_only: bool,
    #[command(flatten)]
    pub training: TrainKnobs,
}

impl TrainArgs {
    /// Runs `zest train`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            data: root,
            records,
            out,
            seed,
            synthetic_only,
            training: knobs,
        } = self;
        let designs = load_designs(root, &records)?;
        let set: Vec<&zest::design::Design> = designs
            .iter()
            .filter(|d| !synthetic_only || !d.realistic)
            .collect();
        let cfg = knobs.config(seed);
        let bar = spinner(format!("training on {} designs", set.len()));
        let (model, log) = zest::learn::eval::fit(&set, &cfg);
        bar.finish_and_clear();
        std::fs::write(&out, serde_json::to_string(&model)?)
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
}

/// `zest eval` arguments.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Data directory (default: $ZEST_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Also load these record files (JSON Lines written by `zest ingest`).
    #[arg(long, value_name = "FILE")]
    pub records: Vec<std::path::PathBuf>,
    /// Folds of the grouped cross-validation.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the folds, the initialisation and the validation splits.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Quantile of the conservative upper bounds whose coverage is
    /// measured (fraction of true values at or below the bound).
    #[arg(long, default_value_t = 0.9)]
    pub upper: f64,
    /// `test`: wa-hls4ml's own protocol instead of the suite: train on
    /// everything outside the release's test/ split, test on it (needs
    /// the release under <data>/wa-hls4ml-release/).
    #[arg(long, value_name = "SPLIT", value_parser = ["test"])]
    pub split: Option<String>,
    /// Write predicted-vs-true log-log scatter plots (one PNG per
    /// target) into this directory.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<std::path::PathBuf>,
    /// Also measure the baselines on the same folds: gradient-boosted
    /// trees and an MLP on aggregated per-design features.
    #[arg(long)]
    pub baselines: bool,
    /// Write every prediction (protocol, design, dataset, target, truth,
    /// estimate) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<std::path::PathBuf>,
    /// Leave out the unseen-networks protocol (leave-one-network-out over
    /// the realistic networks: one training per network, most of the
    /// run's time).
    #[arg(long)]
    pub no_unseen: bool,
    #[command(flatten)]
    pub training: TrainKnobs,
}

impl EvalArgs {
    /// Runs `zest eval`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
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
            no_unseen,
            training: knobs,
        } = self;
        anyhow::ensure!((0.0..1.0).contains(&upper), "--upper must be in [0, 1)");
        anyhow::ensure!(folds >= 2, "--folds must be at least 2");
        let designs = load_designs(root, &records)?;
        let cfg = knobs.config(seed);
        let which: &[zest::learn::baselines::Baseline] = if baselines {
            &zest::learn::baselines::Baseline::ALL
        } else {
            &[]
        };
        if split.as_deref() == Some("test") {
            let bar = spinner("training outside the release's test/ split");
            let got = zest::learn::eval::release_test_split(&designs, &cfg, upper, which);
            bar.finish_and_clear();
            let (r, base) = got.ok_or_else(|| {
                anyhow::anyhow!(
                    "no records in a test/ split: --split test needs the wa-hls4ml release (Hugging Face fastmachinelearning/wa-hls4ml) under <data>/wa-hls4ml-release/"
                )
            })?;
            if json {
                return print_json(&(r, base));
            }
            print_report(&r);
            for b in &base {
                print_report(b);
            }
            return Ok(());
        }
        let bar = spinner("");
        let suite =
            zest::learn::eval::suite(&designs, folds, &cfg, upper, which, !no_unseen, |s| {
                bar.set_message(s.to_string())
            });
        bar.finish_and_clear();
        if let Some(path) = predictions {
            write_predictions(&path, &suite)?;
        }
        if let Some(dir) = plots {
            for f in zest::learn::plots::write_plots(&dir, &suite)? {
                eprintln!("zest: wrote {}", f.display());
            }
        }
        if json {
            return print_json(&suite);
        }
        if let Some(r) = &suite.unseen {
            print_report(r);
        }
        print_report(&suite.cross_validation);
        print_report(&suite.realistic);
        print_report(&suite.extrapolation);
        for b in &suite.baselines {
            print_report(b);
        }
        Ok(())
    }
}

/// `zest ingest` arguments.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// An hls4ml project directory (firmware/, hls4ml_config.yml and the
    /// reports under it, each recognised by its contents), or the report
    /// files of one run (myproject_csynth.xml/.rpt, vivado_synth.rpt)
    /// with --network.
    #[arg(required = true)]
    pub reports: Vec<std::path::PathBuf>,
    /// The network of the reports (Keras model JSON or ONNX); not needed
    /// for a project directory, whose firmware says it.
    #[arg(long)]
    pub network: Option<std::path::PathBuf>,
    /// What the run used (part and clock default to what the reports name).
    #[command(flatten)]
    pub hls: HlsArgs,
    /// Records file to append to.
    #[arg(long, default_value = "zest-records.jsonl")]
    pub out: std::path::PathBuf,
    /// Print the record as JSON.
    #[arg(long)]
    pub json: bool,
}

impl IngestArgs {
    /// Runs `zest ingest`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            reports,
            network,
            hls,
            out,
            json,
        } = self;
        let over = hls.overrides()?;
        let d = match (network, reports.as_slice()) {
            (None, [dir]) if dir.is_dir() => zest::data::ingest::project(dir, &over)?,
            (Some(network), _) => zest::data::ingest::record(&network, &over, &reports)?,
            (None, _) => anyhow::bail!(
                "pass an hls4ml project directory, or the network of these reports with --network MODEL.json"
            ),
        };
        zest::data::ingest::append(&out, &d)?;
        if json {
            return print_json(&d);
        }
        let t = d.targets;
        let show = |v: f64| {
            if v.is_finite() {
                format!("{v}")
            } else {
                "-".into()
            }
        };
        println!(
            "{} ({} layers, {}, {:?} report): LUT {} FF {} DSP {} BRAM18 {} latency {} II {}",
            d.id,
            d.layers.len(),
            d.part,
            d.report,
            show(t.lut),
            show(t.ff),
            show(t.dsp),
            show(t.bram18),
            show(t.latency_cycles),
            show(t.ii)
        );
        println!(
            "appended to {}; train on it with `zest train --records {}`",
            out.display(),
            out.display()
        );
        Ok(())
    }
}

/// `zest bench` arguments.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Designs in the large batch.
    #[arg(long, default_value_t = 10_000)]
    pub designs: usize,
    /// A model written by `zest train` instead of the embedded one.
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Data directory for the baseline (default: $ZEST_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// Runs `zest bench`.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            designs: n,
            model: model_path,
            data: root,
            json,
        } = self;
        anyhow::ensure!(n >= 1, "--designs must be at least 1");
        let model = zest::models::load_model(model_path.as_deref())?;
        let root = root.unwrap_or_else(zest::data::default_root);
        let report = zest::learn::bench::run(&model, n, &root);
        if json {
            return print_json(&report);
        }
        println!(
            "{:<30} {:>7} {:>8} {:>14} {:>12}",
            "model", "batch", "threads", "estimates/s", "µs/design"
        );
        for r in &report.rates {
            println!(
                "{:<30} {:>7} {:>8} {:>14.0} {:>12.2}",
                r.what, r.batch, r.threads, r.per_second, r.micros_per_design
            );
        }
        let ours: Vec<&zest::learn::bench::Rate> = report
            .rates
            .iter()
            .filter(|r| !r.what.starts_with("peer"))
            .collect();
        let peers: Vec<&zest::learn::bench::Rate> = report
            .rates
            .iter()
            .filter(|r| r.what.starts_with("peer"))
            .collect();
        for (o, p) in ours.iter().zip(&peers) {
            println!(
                "ratio zest/peer, batch {} on {} thread(s): {:.2}x",
                o.batch,
                o.threads,
                o.per_second / p.per_second
            );
        }
        println!(
            "peak memory (RSS): {:.1} MiB",
            report.peak_rss_kib as f64 / 1024.0
        );
        Ok(())
    }
}

/// Loads the data directory (and `zest ingest` record files) with a
/// spinner; says how many malformed records were skipped, and fails when
/// nothing loaded.
pub fn load_designs(
    root: Option<std::path::PathBuf>,
    records: &[std::path::PathBuf],
) -> anyhow::Result<Vec<zest::design::Design>> {
    let root = root.unwrap_or_else(zest::data::default_root);
    let bar = indicatif::ProgressBar::new_spinner();
    let report =
        zest::data::load_with_records(&root, records, |f| bar.set_message(format!("loading {f}")))?;
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

fn print_report(r: &zest::learn::eval::Report) {
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
    if r.by_dataset.len() > 1 {
        println!("by data set (SMAPE % per target, then mean):");
        print_breakdown(&r.by_dataset);
    }
    if r.by_family.len() > 1 {
        println!("by part family (SMAPE % per target, then mean):");
        print_breakdown(&r.by_family);
    }
    if let Some(u) = &r.upper {
        let cov: Vec<String> = u
            .coverage
            .iter()
            .zip(&u.median_ratio)
            .map(|((n, c), (_, m))| format!("{n} {c:.3} (x{m:.2})"))
            .collect();
        println!(
            "upper bound q={}: coverage (median bound/truth) {}",
            u.quantile,
            cov.join(", ")
        );
    }
}

fn print_breakdown(rows: &[zest::learn::eval::DatasetScore]) {
    for d in rows {
        let per: Vec<String> = d
            .smape
            .iter()
            .map(|v| {
                if v.is_finite() {
                    format!("{v:6.1}")
                } else {
                    "     -".into()
                }
            })
            .collect();
        println!(
            "  {:<26} {:>5} {}  mean {:.2}",
            d.dataset,
            d.n_designs,
            per.join(" "),
            d.mean_smape
        );
    }
}

fn write_predictions(
    path: &std::path::Path,
    suite: &zest::learn::eval::EvalSuite,
) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("write {}", path.display()))?;
    w.write_record([
        "protocol", "design", "dataset", "target", "truth", "estimate",
    ])?;
    let protocols = [
        ("unseen", suite.unseen.as_ref()),
        ("cross_validation", Some(&suite.cross_validation)),
        ("realistic", Some(&suite.realistic)),
        ("extrapolation", Some(&suite.extrapolation)),
    ];
    for (protocol, r) in protocols.into_iter().filter_map(|(p, r)| r.map(|r| (p, r))) {
        for p in &r.points {
            for (t, name) in zest::design::Targets::NAMES.iter().enumerate() {
                let (y, e) = (p.truth.to_array()[t], p.pred.to_array()[t]);
                if y.is_finite() {
                    w.write_record([
                        protocol,
                        &p.id,
                        &p.dataset,
                        name,
                        &y.to_string(),
                        &e.to_string(),
                    ])?;
                }
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// The data's designs when `--data` is given or the default data directory
/// exists, else none (commands that use the data when it is at hand).
pub fn designs_if_present(
    data: Option<&std::path::Path>,
) -> anyhow::Result<Vec<zest::design::Design>> {
    let root = data.map_or_else(zest::data::default_root, std::path::Path::to_path_buf);
    if data.is_some() || root.is_dir() {
        load_designs(Some(root), &[])
    } else {
        Ok(Vec::new())
    }
}

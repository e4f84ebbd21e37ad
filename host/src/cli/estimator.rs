//! `zest data`, `zest ingest`, `zest train`, `zest eval`, `zest bench` and
//! `zest estimate`: the estimator's commands.

use std::time::Duration;

use anyhow::Context;
use zest::client::Patience;

use super::{connect_board, deploy, print_json, HlsArgs, TrainKnobs};

/// `zest data`: loads every record format, prints what loaded and what was skipped.
pub(super) fn data(
    root: Option<std::path::PathBuf>,
    records: &[std::path::PathBuf],
    list_skipped: bool,
    json: bool,
) -> anyhow::Result<()> {
    let root = root.unwrap_or_else(zest::data::default_root);
    let bar = indicatif::ProgressBar::new_spinner();
    let report = zest::data::load_with_records(&root, records, |f| bar.set_message(f.to_string()))?;
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

/// Loads the data directory (and `zest ingest` record files) with a
/// spinner; says how many malformed records were skipped, and fails when
/// nothing loaded.
pub(super) fn load_designs(
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
    if r.by_dataset.len() > 1 {
        println!("by data set (SMAPE % per target, then mean):");
        for d in &r.by_dataset {
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

/// `zest train`: trains the surrogate on every record and writes it.
pub(super) fn train_cmd(
    root: Option<std::path::PathBuf>,
    records: &[std::path::PathBuf],
    out: &std::path::Path,
    seed: u64,
    synthetic_only: bool,
    knobs: &TrainKnobs,
) -> anyhow::Result<()> {
    let designs = load_designs(root, records)?;
    let set: Vec<&zest::design::Design> = designs
        .iter()
        .filter(|d| !synthetic_only || !d.realistic)
        .collect();
    let cfg = knobs.config(seed);
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

/// `zest eval`: cross-validation, realistic hold-out, extrapolation, baselines.
#[allow(clippy::too_many_arguments)]
pub(super) fn eval_cmd(
    root: Option<std::path::PathBuf>,
    records: &[std::path::PathBuf],
    folds: usize,
    seed: u64,
    json: bool,
    upper: f64,
    baselines: bool,
    predictions: Option<&std::path::Path>,
    plots: Option<&std::path::Path>,
    split: Option<&str>,
    knobs: &TrainKnobs,
) -> anyhow::Result<()> {
    anyhow::ensure!((0.0..1.0).contains(&upper), "--upper must be in [0, 1)");
    anyhow::ensure!(folds >= 2, "--folds must be at least 2");
    let designs = load_designs(root, records)?;
    let cfg = knobs.config(seed);
    let which: &[zest::baselines::Baseline] = if baselines {
        &zest::baselines::Baseline::ALL
    } else {
        &[]
    };
    if split == Some("test") {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar.set_message("training outside the release's test/ split");
        let got = zest::eval::release_test_split(&designs, &cfg, upper, which);
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
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let suite = zest::eval::suite(&designs, folds, &cfg, upper, which, |s| {
        bar.set_message(s.to_string())
    });
    bar.finish_and_clear();
    if let Some(path) = predictions {
        write_predictions(path, &suite)?;
    }
    if let Some(dir) = plots {
        for f in zest::plots::write_plots(dir, &suite)? {
            eprintln!("zest: wrote {}", f.display());
        }
    }
    if json {
        return print_json(&suite);
    }
    print_report(&suite.cross_validation);
    print_report(&suite.realistic);
    print_report(&suite.extrapolation);
    for b in &suite.baselines {
        print_report(b);
    }
    Ok(())
}

/// hls4ml options from the command line, checked.
fn hls_config(
    precision: &str,
    reuse_factor: u32,
    strategy: &str,
    io_type: &str,
    part: String,
    clock_ns: f64,
) -> anyhow::Result<zest::estimate::HlsConfig> {
    anyhow::ensure!(reuse_factor >= 1, "--reuse-factor must be at least 1");
    anyhow::ensure!(clock_ns > 0.0, "--clock-ns must be positive");
    Ok(zest::estimate::HlsConfig {
        precision: precision
            .parse()
            .with_context(|| format!("--precision {precision:?}"))?,
        reuse_factor,
        strategy: strategy.parse().map_err(anyhow::Error::msg)?,
        io_type: io_type.parse().map_err(anyhow::Error::msg)?,
        part,
        clock_ns,
    })
}

/// `zest ingest`: turns a user's synthesis reports into a training record.
#[allow(clippy::too_many_arguments)]
pub(super) fn ingest_cmd(
    reports: &[std::path::PathBuf],
    network: &std::path::Path,
    precision: &str,
    reuse_factor: u32,
    strategy: &str,
    io_type: &str,
    part: Option<String>,
    clock_ns: Option<f64>,
    out: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let from_reports = part.is_none() || clock_ns.is_none();
    let mut cfg = hls_config(
        precision,
        reuse_factor,
        strategy,
        io_type,
        part.clone().unwrap_or_default(),
        clock_ns.unwrap_or(5.0),
    )?;
    let mut d = zest::ingest::record(network, &cfg, reports, from_reports)?;
    // Explicit options win over what the reports say.
    if let Some(p) = part {
        d.part = p;
    }
    if let Some(c) = clock_ns {
        d.clock_ns = c;
    }
    cfg.part.clone_from(&d.part);
    anyhow::ensure!(
        !d.part.is_empty(),
        "the reports name no part: pass --part (e.g. xc7z020clg400-1)"
    );
    zest::ingest::append(out, &d)?;
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

/// `zest bench`: estimates/s and peak memory, next to the GBT baseline.
pub(super) fn bench_cmd(
    n: usize,
    model_path: Option<&std::path::Path>,
    root: Option<std::path::PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    use zest::bench::{designs, peak_rss_kib, surrogate_work, time};
    anyhow::ensure!(n >= 1, "--designs must be at least 1");
    let model = zest::estimate::load_model(model_path)?;
    let set = designs(n, 7);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let work = surrogate_work(&model);
    let mut rates = vec![
        time("zest surrogate", &set, 1, 1, 2001, &work),
        time("zest surrogate", &set, n, 1, 5, &work),
        time("zest surrogate", &set, n, cores, 5, &work),
    ];
    let root = root.unwrap_or_else(zest::data::default_root);
    if let Ok(report) = zest::data::load_all(&root, |_| {}) {
        let train: Vec<&zest::design::Design> =
            report.designs.iter().filter(|d| !d.realistic).collect();
        if !train.is_empty() {
            let gbt = zest::baselines::Gbt::fit(&train, 1);
            let peer = |ds: &[zest::design::Design]| {
                let refs: Vec<&zest::design::Design> = ds.iter().collect();
                gbt.predict(&refs).iter().map(|t| t.lut).sum::<f64>()
            };
            rates.push(time("peer: GBT baseline (forust)", &set, 1, 1, 2001, peer));
            rates.push(time("peer: GBT baseline (forust)", &set, n, 1, 5, peer));
            rates.push(time("peer: GBT baseline (forust)", &set, n, cores, 5, peer));
        }
    }
    let report = zest::bench::BenchReport {
        rates,
        peak_rss_kib: peak_rss_kib(),
        cores,
    };
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
    let ours: Vec<&zest::bench::Rate> = report
        .rates
        .iter()
        .filter(|r| !r.what.starts_with("peer"))
        .collect();
    let peers: Vec<&zest::bench::Rate> = report
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

/// One CSV row per (protocol, design, target).
fn write_predictions(path: &std::path::Path, suite: &zest::eval::EvalSuite) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("write {}", path.display()))?;
    w.write_record([
        "protocol", "design", "dataset", "target", "truth", "estimate",
    ])?;
    for (protocol, r) in [
        ("cross_validation", &suite.cross_validation),
        ("realistic", &suite.realistic),
        ("extrapolation", &suite.extrapolation),
    ] {
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

/// `zest estimate`: one design, on the host or on a board.
#[allow(clippy::too_many_arguments)]
pub(super) fn estimate_cmd(
    network: &std::path::Path,
    hls: &HlsArgs,
    model_path: Option<&std::path::Path>,
    upper: Option<f64>,
    board: Option<(&str, Option<&std::path::Path>)>,
    json: bool,
) -> anyhow::Result<()> {
    use zest::estimate::{design_from_file, estimate, load_model, HlsConfig};
    if let Some(q) = upper {
        anyhow::ensure!((0.0..1.0).contains(&q), "--upper must be in [0, 1)");
    }
    let is_yaml = network
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    let (cfg, design) = if is_yaml {
        let y = zest::hls_config::read_config(network)?;
        let base = y
            .apply(&HlsConfig::default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", network.display()))?;
        let cfg = hls.over(&base)?;
        let model_file = y.model.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: names no model (set KerasJson or OnnxModel)",
                network.display()
            )
        })?;
        let mut design = design_from_file(&model_file, &cfg)?;
        for name in y.apply_layers(&mut design) {
            eprintln!(
                "zest: warning: {}: HLSConfig.LayerName.{name} matches no layer",
                network.display()
            );
        }
        (cfg, design)
    } else if let Some(design) = zest::estimate::design_from_record(network)? {
        // A synthesis record carries its own configuration.
        let given = [
            hls.precision.is_some(),
            hls.reuse_factor.is_some(),
            hls.strategy.is_some(),
            hls.io_type.is_some(),
            hls.part.is_some(),
            hls.clock_ns.is_some(),
        ];
        if given.iter().any(|g| *g) {
            anyhow::bail!(
                "{} is a synthesis record with its own hls4ml configuration: drop the --precision/--reuse-factor/--strategy/--io-type/--part/--clock-ns flags",
                network.display()
            );
        }
        (zest::estimate::config_of(&design), design)
    } else {
        let cfg = hls.over(&HlsConfig::default())?;
        let design = design_from_file(network, &cfg)?;
        (cfg, design)
    };
    let model = load_model(model_path)?;
    let name = model_path.map_or("embedded default".to_string(), |p| p.display().to_string());
    let mut report = estimate(&model, &design, &cfg, &name, upper);
    if let Some((port, fixed)) = board {
        let mut client = connect_board(
            port,
            Patience {
                timeout: Duration::from_secs(10),
                ..Patience::default()
            },
        )?;
        deploy::estimate_on_board(
            &mut report,
            &design,
            &mut client,
            fixed,
            upper.map(|q| (&model, q)),
        )?;
    }
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
    }
    for w in &report.warnings {
        eprintln!("zest: warning: {w}");
    }
    Ok(())
}

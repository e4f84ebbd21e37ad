//! `cargo xtask bench-explore`: the exploration figures for the README.
//!
//! On the digits data set (64-32-32-10 trained by zest, SPQ + every reuse
//! factor 1, 2, 4, …, 64 × Latency/Resource (`zest explore`'s default),
//! xc7z020clg400-1 at 80 %): the
//! grid over the 343 tolerance points, then BO and random search with 23
//! evaluations for each search seed — all on the same problem (seed 1:
//! the same split and trainings) — each as its own run directory under
//! `--out`. Prints feasible hypervolume, its share of the grid's, time,
//! and the model space's hits; then evaluations/s with the estimator on
//! the host (float, fixed point) and on the firmware under QEMU, on a
//! short run of the same problem. Writes `explore.png` (fronts and
//! hypervolume per evaluation for grid, BO and random of search seed 1).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use zest_board::qemu::{Qemu, QemuConfig, Uart0};

use crate::{root, setup, toolchain, Board};

fn data_root() -> PathBuf {
    std::env::var_os("ZEST_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from)
}

/// Runs `zest explore ARGS --json` (an existing finished run is read back
/// instead), returning the summary JSON.
fn explore(zest: &Path, out: &Path, args: &[&str]) -> Result<serde_json::Value> {
    if out.join("summary.json").is_file() && !args.contains(&"--board") {
        let o = Command::new(zest)
            .args([
                "explore",
                "--resume",
                out.to_str().unwrap_or_default(),
                "--json",
                "--no-plot",
            ])
            .output()?;
        if o.status.success() {
            return Ok(serde_json::from_slice(&o.stdout)?);
        }
    }
    let _ = std::fs::remove_dir_all(out);
    let digits = data_root().join("datasets/digits.csv.gz");
    let mut cmd = Command::new(zest);
    cmd.args(["explore", "--data"])
        .arg(&digits)
        .args([
            "--hidden",
            "32,32",
            "--flow",
            "spq",
            "--seed",
            "1",
            "--json",
            "--no-plot",
            "--out",
        ])
        .arg(out)
        .args(args);
    let o = cmd.output().context("run zest explore")?;
    anyhow::ensure!(
        o.status.success(),
        "zest explore {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(serde_json::from_slice(&o.stdout)?)
}

fn num(v: &serde_json::Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// `cargo xtask bench-explore`.
pub fn run(seeds: u64, out: &Path, board_evaluations: usize) -> Result<()> {
    let zest = crate::bench::release_zest()?;
    std::fs::create_dir_all(out)?;
    println!("digits 64-32-32-10, SPQ + RF {{1,2,4,...,64}} x {{latency, resource}}, xc7z020clg400-1 <= 80 %, seed 1");
    let grid = explore(&zest, &out.join("grid"), &["--search", "grid"])?;
    let g = num(&grid, &["hypervolume"]);
    println!(
        "\n{:<8} {:>5} {:>6} {:>12} {:>8} {:>9} {:>10} {:>10}",
        "search", "seed", "evals", "hypervolume", "of grid", "eval. s", "tasks run", "cache hits"
    );
    let row = |name: &str, seed: &str, v: &serde_json::Value| {
        println!(
            "{:<8} {:>5} {:>6.0} {:>12.4} {:>7.1}% {:>9.1} {:>10.0} {:>10.0}",
            name,
            seed,
            num(v, &["evaluations"]),
            num(v, &["hypervolume"]),
            100.0 * num(v, &["hypervolume"]) / g,
            num(v, &["evaluation_seconds"]),
            num(v, &["tasks_run"]),
            num(v, &["cache_hits"])
        );
    };
    row("grid", "-", &grid);
    let mut wins = 0;
    let mut at98 = 0;
    let mut bo_share = Vec::new();
    let mut random_share = Vec::new();
    for s in 1..=seeds {
        let seed = s.to_string();
        let bo = explore(
            &zest,
            &out.join(format!("bo-{s}")),
            &["--search", "bo", "--search-seed", &seed],
        )?;
        let rnd = explore(
            &zest,
            &out.join(format!("random-{s}")),
            &["--search", "random", "--search-seed", &seed],
        )?;
        row("bo", &seed, &bo);
        row("random", &seed, &rnd);
        let (b, r) = (num(&bo, &["hypervolume"]), num(&rnd, &["hypervolume"]));
        wins += usize::from(b > r);
        at98 += usize::from(b >= 0.98 * g);
        bo_share.push(b / g);
        random_share.push(r / g);
    }
    let mean = |v: &[f64]| 100.0 * v.iter().sum::<f64>() / v.len().max(1) as f64;
    let min = |v: &[f64]| 100.0 * v.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "\nBO: mean {:.1} % of the grid's hypervolume (worst {:.1} %), >= 98 % on {at98} of {seeds} seeds; random: mean {:.1} % (worst {:.1} %); BO above random on {wins} of {seeds} seeds",
        mean(&bo_share),
        min(&bo_share),
        mean(&random_share),
        min(&random_share)
    );
    let png = out.join("explore.png");
    let st = Command::new(&zest)
        .args(["explore", "plot"])
        .arg(out.join("grid"))
        .arg(out.join("bo-1"))
        .arg(out.join("random-1"))
        .arg("--out")
        .arg(&png)
        .status()?;
    anyhow::ensure!(st.success(), "zest explore plot failed");
    println!("plot: {}", png.display());

    // Evaluations per second by estimator, on a short random run.
    setup::ensure_qemu()?;
    let elf = toolchain::build_firmware(Board::Qemu)?;
    let n = board_evaluations.to_string();
    println!("\nestimator in the loop ({n} random evaluations, same problem; a board answers what `fixed` does):");
    println!(
        "{:<34} {:>9} {:>10} {:>11} {:>12}",
        "estimator", "evals/s", "estimates", "estimate s", "estimates/s"
    );
    let mut paretos = Vec::new();
    for (label, extra) in [
        ("host float surrogate", vec!["--estimator", "host"]),
        ("host fixed-point model", vec!["--estimator", "fixed"]),
        ("board (firmware under QEMU, UART/TCP)", vec![]),
    ] {
        let dir = out.join(format!(
            "path-{}",
            label.split_whitespace().next().unwrap_or("x")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let qemu;
        let mut args: Vec<String> = [
            "--search",
            "random",
            "--evaluations",
            &n,
            "--search-seed",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if extra.is_empty() {
            qemu = Some(Qemu::spawn(&QemuConfig {
                elf: elf.clone(),
                uart0: Uart0::Tcp(None),
                log: root().join("target/bench-explore-uart1.log"),
                icount_shift: None,
                udp_port: None,
            })?);
            args.push("--board".into());
            args.push(
                qemu.as_ref()
                    .map(|q| q.port().to_string())
                    .unwrap_or_default(),
            );
        } else {
            qemu = None;
            args.extend(extra.iter().map(|s| s.to_string()));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = explore(&zest, &dir, &a)?;
        drop(qemu);
        println!(
            "{:<38} {:>9.3} {:>10.0} {:>11.3} {:>12.0}",
            label,
            num(&v, &["evaluations"]) / num(&v, &["timing", "seconds"]),
            num(&v, &["timing", "estimates"]),
            num(&v, &["timing", "estimate_seconds"]),
            num(&v, &["timing", "estimates_per_second"])
        );
        paretos.push(v["pareto"].clone());
    }
    println!(
        "board and host fixed-point Pareto sets identical: {}",
        paretos.len() == 3 && paretos[1] == paretos[2]
    );
    Ok(())
}

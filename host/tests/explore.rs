//! `zest explore` end to end through the real binary on the real data
//! sets: flow and CFG errors, crash safety under SIGKILL at several
//! points, FORK over orders with a Pareto REDUCE, and the run directory's
//! outputs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{data_root, zest};

fn dataset(name: &str) -> String {
    data_root()
        .join("datasets")
        .join(name)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zest-explore-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A small, fast exploration: breast cancer, a 30-16-8-2 MLP, SPQ.
fn small_run(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "explore",
        "--data",
        &dataset("breast_cancer.csv"),
        "--hidden",
        "16,8",
        "--flow",
        "spq",
        "--search",
        "random",
        "--evaluations",
        "4",
        "--seed",
        "3",
        "--epochs",
        "60",
        "--no-plot",
        "--json",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(out.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run_ok(args: &[String]) -> serde_json::Value {
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (ok, out, err) = zest(&a);
    assert!(ok, "zest {args:?} failed:\n{out}\n{err}");
    json(&out)
}

/// Every record of a run's `log.jsonl`, in order.
fn log_records(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(json)
        .collect()
}

/// The evaluations of a run's log: point and designs, without timings or
/// cache counts (which differ between a resumed and an uninterrupted run).
fn evaluations(run: &Path) -> Vec<serde_json::Value> {
    log_records(run)
        .into_iter()
        .filter(|r| r["record"] == "eval")
        .map(|mut r| {
            let o = r.as_object_mut().unwrap();
            for k in ["seconds", "cache_hits", "tasks_run", "record"] {
                o.remove(k);
            }
            r
        })
        .collect()
}

/// Starts `zest` with a fault injected at `point` (the n-th time), waits
/// until it stalls there, and kills it with SIGKILL.
fn kill_at(args: &[String], fault: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zest"))
        .args(args)
        .env("ZEST_EXPLORE_FAULT", fault)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut stalled = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("ZEST_EXPLORE_FAULT: stalled") {
            stalled = true;
            break;
        }
    }
    assert!(stalled, "the run never reached {fault}");
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn a_run_killed_at_any_point_resumes_to_the_same_evaluations_and_pareto_set() {
    let dir = scratch("crash");
    let (whole, killed) = (dir.join("whole"), dir.join("killed"));
    let reference = run_ok(&small_run(&whole, &[]));
    assert_eq!(reference["evaluations"], 4);
    assert!(
        reference["hypervolume"].as_f64().unwrap() > 0.0,
        "{reference}"
    );

    // Killed during training (the 3rd prune/scale task), then while a model
    // file is half written, then right after an evaluation is logged.
    kill_at(&small_run(&killed, &[]), "train:3");
    let resume: Vec<String> = [
        "explore",
        "--resume",
        killed.to_str().unwrap(),
        "--json",
        "--no-plot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    kill_at(&resume, "model-write:2");
    assert!(std::fs::read_dir(killed.join("models"))
        .unwrap()
        .flatten()
        .any(|f| f.file_name().to_string_lossy().contains(".tmp")));
    kill_at(&resume, "eval:1");
    // A write cut short: half a record at the end of the log.
    let log = killed.join("log.jsonl");
    let mut text = std::fs::read(&log).unwrap();
    text.extend_from_slice(b"{\"record\":\"eval\",\"n\":99,\"poi");
    std::fs::write(&log, &text).unwrap();
    let (ok, out, _) = zest(&["explore", "show", killed.to_str().unwrap()]);
    assert!(ok && out.contains("cut short"), "{out}");
    let resumed = run_ok(&resume);

    assert_eq!(evaluations(&killed), evaluations(&whole));
    assert_eq!(resumed["pareto"], reference["pareto"]);
    assert_eq!(resumed["hypervolume"], reference["hypervolume"]);
    // The partial line is gone: every line of the log parses.
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        json(line);
    }
    // Outputs: the Pareto set as CSV and JSON, an hls4ml hand-off per design.
    let pareto = resumed["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    for d in pareto {
        let export = killed.join(d["export"].as_str().unwrap());
        for f in ["model.onnx", "hls4ml_config.yml", "design.json"] {
            assert!(export.join(f).is_file(), "{}", export.join(f).display());
        }
        assert!(d["accuracy"].as_f64().unwrap() > 0.8);
        assert!(d["estimate"]["dsp"].as_f64().is_some());
    }
    let csv = std::fs::read_to_string(killed.join("pareto.csv")).unwrap();
    assert_eq!(csv.lines().count(), pareto.len() + 1);
    // A finished run resumed again runs nothing more.
    let again = run_ok(&resume);
    assert_eq!(again["timing"]["evaluations_this_session"], 0);
    // A second start into the same directory is refused, naming the run.
    let (ok, _, err) = zest(
        &small_run(&killed, &[])
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    assert!(
        !ok && err.contains("holds a run already") && err.contains("--resume"),
        "{err}"
    );
    let (ok, _, err) = zest(&[
        "explore",
        "--resume",
        killed.to_str().unwrap(),
        "--flow",
        "pq",
    ]);
    assert!(!ok && err.contains("a run of flow spq, not pq"), "{err}");
    // Another model would mix its estimates with the run's: refused, naming both.
    let mut other: serde_json::Value = json(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.json"))
            .unwrap(),
    );
    other["mean"][0] = serde_json::json!(other["mean"][0].as_f64().unwrap() + 0.25);
    let other_path = dir.join("other-model.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let (ok, _, err) = zest(&[
        "explore",
        "--resume",
        killed.to_str().unwrap(),
        "--model",
        other_path.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("its estimates came from model float-") && err.contains("--model"),
        "{err}"
    );

    // A data file changed under a killed run is refused on resume, naming
    // the file, never trained on.
    let copy = dir.join("data.csv");
    std::fs::copy(dataset("breast_cancer.csv"), &copy).unwrap();
    let changed = dir.join("changed");
    let mut args = small_run(&changed, &[]);
    args[2] = copy.display().to_string();
    kill_at(&args, "eval:1");
    let text = std::fs::read_to_string(&copy).unwrap();
    let last = text.lines().last().unwrap().to_string();
    std::fs::write(&copy, format!("{text}{last}\n")).unwrap();
    let (ok, _, err) = zest(&["explore", "--resume", changed.to_str().unwrap()]);
    assert!(
        !ok && err.contains("data.csv changed since the run started"),
        "{err}"
    );

    // A finished run carried on to more evaluations asks what a run given
    // that many from the start does, and repeats none it has.
    let (ok, _, err) = zest(&[
        "explore",
        "--resume",
        whole.to_str().unwrap(),
        "--evaluations",
        "3",
    ]);
    assert!(
        !ok && err.contains("--evaluations 3: the run has 4 already"),
        "{err}"
    );
    let mut plain = resume.clone();
    plain[2] = whole.display().to_string();
    let mut more = plain.clone();
    more.extend(["--evaluations".to_string(), "6".to_string()]);
    // Killed after the first extra evaluation: a plain --resume still
    // carries it on to 6, as the log now asks.
    kill_at(&more, "eval:1");
    let (ok, out, _) = zest(&["explore", "show", whole.to_str().unwrap()]);
    assert!(ok && out.contains("5 of 6 evaluations"), "{out}");
    let extended = run_ok(&plain);
    assert_eq!(extended["evaluations"], 6);
    assert_eq!(extended["timing"]["evaluations_this_session"], 1);
    let six = dir.join("six");
    let mut fresh = small_run(&six, &[]);
    let at = fresh.iter().position(|a| a == "--evaluations").unwrap();
    fresh[at + 1] = "6".into();
    let direct = run_ok(&fresh);
    assert_eq!(evaluations(&whole), evaluations(&six));
    assert_eq!(extended["pareto"], direct["pareto"]);
    assert_eq!(extended["hypervolume"], direct["hypervolume"]);
}

#[test]
fn bad_flows_and_cfg_keys_are_refused_naming_the_place() {
    let dir = scratch("bad");
    let cases = [
        (
            "unknown.yml",
            "flow: a\nnodes:\n  - {name: in, task: source, next: [x]}\n  - {name: x, task: distil, next: [d]}\n  - {name: d, task: stop}\n",
            "nodes[1] (x): unknown task \"distil\"",
        ),
        (
            "multiplicity.yml",
            "flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [q, d]}\n  - {name: q, task: quantize, next: [d]}\n  - {name: d, task: stop}\n",
            "node p (prune): takes 1 model and gives 1 (1 → 1), but next names 2",
        ),
        (
            "nostop.yml",
            "flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [q]}\n  - {name: q, task: quantize, next: [p]}\n",
            "no stop",
        ),
        (
            "cycle.yml",
            "flow: a\nnodes:\n  - {name: in, task: source, next: [f]}\n  - {name: f, task: fork, next: [a, b, d]}\n  - {name: a, task: prune, next: [j]}\n  - {name: b, task: scale, next: [j]}\n  - {name: j, task: join, next: [x]}\n  - {name: x, task: quantize, next: [f]}\n  - {name: d, task: stop}\n",
            "cycle with no branch",
        ),
        (
            "cfg.yml",
            "flow: a\nnodes:\n  - {name: in, task: source, next: [p]}\n  - {name: p, task: prune, next: [d]}\n  - {name: d, task: stop}\ncfg:\n  Pruning::gamma: 0.1\n",
            "cfg Pruning::gamma: unknown CFG key",
        ),
    ];
    for (file, text, want) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let out = dir.join(format!("run-{file}"));
        let (ok, _, err) = zest(&[
            "explore",
            "--data",
            &dataset("breast_cancer.csv"),
            "--flow",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!ok, "{file} was accepted");
        assert!(err.contains(want) && err.contains(file), "{file}: {err}");
        assert!(!out.exists(), "{file}: a run directory was made");
    }
    let (ok, _, err) = zest(&[
        "explore",
        "--data",
        &dataset("breast_cancer.csv"),
        "--cfg",
        "zz@alpha=0.1",
        "--out",
        dir.join("run-cfg").to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("cfg zz@alpha") && err.contains("no node named"),
        "{err}"
    );
    let (ok, _, err) = zest(&[
        "explore",
        "--data",
        &dataset("breast_cancer.csv"),
        "--part",
        "xc9nonsense",
    ]);
    assert!(!ok && err.contains("xc9nonsense"), "{err}");
}

#[test]
fn a_fork_over_the_seven_orders_reduces_to_one_pareto_set() {
    let dir = scratch("orders");
    let run = dir.join("run");
    let mut args = small_run(&run, &[]);
    let i = args.iter().position(|a| a == "spq").unwrap();
    args[i] = "orders".into();
    let j = args.iter().position(|a| a == "4").unwrap();
    args[j] = "1".into();
    let out = run_ok(&args);
    assert_eq!(out["evaluations"], 1);
    let (ok, text, err) = zest(&["explore", "show", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v = json(&text);
    let models = v["models"].as_object().unwrap();
    let reduce: Vec<&serde_json::Value> =
        models.values().filter(|m| m["task"] == "reduce").collect();
    assert_eq!(reduce.len(), 1);
    assert_eq!(
        reduce[0]["members"].as_array().unwrap().len(),
        7,
        "{}",
        reduce[0]
    );
    let hls = models.values().filter(|m| m["task"] == "hls").count();
    assert_eq!(hls, 7);
    // The reduce keeps exactly the non-dominated feasible designs of the seven.
    let kept = reduce[0]["designs"].as_array().unwrap();
    assert!(!kept.is_empty());
    for a in kept {
        for b in kept {
            let (fa, fb) = (&a["objectives"], &b["objectives"]);
            let le = (0..3).all(|k| fa[k].as_f64() <= fb[k].as_f64());
            let lt = (0..3).any(|k| fa[k].as_f64() < fb[k].as_f64());
            assert!(!(le && lt), "{a} dominates {b}");
        }
    }
}

#[test]
fn bottom_up_raises_the_tolerances_until_the_design_fits() {
    // 30-64-64-2 at RF 1, Latency on the small xc7z010 (80 DSPs): at the
    // grid's first point (every tolerance 0.1 %) nothing fits.
    let dir = scratch("bottom-up");
    let run = dir.join("run");
    let out = run_ok(
        &[
            "explore",
            "--data",
            &dataset("breast_cancer.csv"),
            "--hidden",
            "64,64",
            "--flow",
            "bottom-up",
            "--search",
            "grid",
            "--evaluations",
            "1",
            "--reuse-factors",
            "1",
            "--strategies",
            "latency",
            "--part",
            "xc7z010clg400-1",
            "--epochs",
            "60",
            "--no-plot",
            "--json",
            "--out",
            run.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let (ok, text, err) = zest(&["explore", "show", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v = json(&text);
    let trace: Vec<String> = v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap().to_string())
        .collect();
    let raised = trace
        .iter()
        .filter(|t| t.contains("raise tolerances"))
        .count();
    assert!(raised >= 1, "{trace:#?}");
    assert!(trace.last().unwrap().contains("Fits holds"), "{trace:#?}");
    // Each round's hls entry: none fit until the last.
    let models = v["models"].as_object().unwrap();
    let fitting = models
        .values()
        .filter(|m| m["task"] == "hls")
        .filter(|m| {
            m["designs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["fits"] == true)
        })
        .count();
    assert_eq!(fitting, 1);
    assert_eq!(
        models.values().filter(|m| m["task"] == "hls").count(),
        raised + 1
    );
    let pareto = out["pareto"].as_array().unwrap();
    assert_eq!(pareto.len(), 1);
    for u in pareto[0]["utilisation"].as_array().unwrap() {
        assert!(u.as_f64().unwrap() <= 80.0, "{}", pareto[0]);
    }
}

#[test]
fn the_order_can_be_a_variable_of_the_search() {
    let dir = scratch("order-var");
    let run = dir.join("run");
    let mut args = small_run(&run, &[]);
    let i = args.iter().position(|a| a == "--flow").unwrap();
    args.drain(i..i + 2);
    args.extend(["--orders".to_string(), "q,pq".to_string()]);
    let out = run_ok(&args);
    assert_eq!(out["evaluations"], 4);
    let evals: Vec<serde_json::Value> = log_records(&run)
        .into_iter()
        .filter(|r| r["record"] == "eval")
        .collect();
    let flows: Vec<&str> = evals.iter().map(|r| r["flow"].as_str().unwrap()).collect();
    assert!(flows.iter().all(|f| *f == "q" || *f == "pq"), "{flows:?}");
    // A tolerance the order has no task for is never varied: q runs no
    // pruning or scaling, pq no scaling.
    for r in &evals {
        let (p, s) = (&r["point"]["p"], &r["point"]["s"]);
        assert_eq!(s, 0, "{r}");
        if r["flow"] == "q" {
            assert_eq!(p, 0, "{r}");
        }
    }
    // A flow given with --orders is refused (each order is its own flow).
    args.extend(["--flow".to_string(), "spq".to_string()]);
    let (ok, _, err) = zest(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && err.contains("leave --flow out"), "{err}");
}

/// The reuse factors and strategies of a run's `hls` tasks: the run's
/// designs (RF, strategy) as a sorted set.
fn knobs_of(run: &Path) -> Vec<(u64, String)> {
    let mut k: Vec<(u64, String)> = log_records(run)
        .into_iter()
        .filter(|r| r["record"] == "eval")
        .flat_map(|r| r["candidates"].as_array().unwrap().clone())
        .map(|c| {
            (
                c["reuse_factor"].as_u64().unwrap(),
                c["strategy"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn the_hls_knobs_come_from_the_flag_else_the_cfg_else_the_flow_file_else_the_default() {
    let dir = scratch("knobs");
    // A short flow (quantize, then the HLS knobs) whose file names them.
    let file = dir.join("qh.yml");
    std::fs::write(
        &file,
        "flow: qh\nnodes:\n  - {name: in, task: source, next: [q]}\n  - {name: q, task: quantize, next: [h]}\n  - {name: h, task: hls, next: [d]}\n  - {name: d, task: stop}\ncfg:\n  HLS::reuse_factors: [2]\n  HLS::strategies: [resource]\n",
    )
    .unwrap();
    let run = |name: &str, flow: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = small_run(&out, extra);
        let i = args.iter().position(|a| a == "--flow").unwrap();
        args[i + 1] = flow.to_string();
        let i = args.iter().position(|a| a == "--evaluations").unwrap();
        args[i + 1] = "1".to_string();
        run_ok(&args);
        knobs_of(&out)
    };
    let r = |rf: u64, s: &str| (rf, s.to_string());
    let file = file.to_str().unwrap();
    assert_eq!(run("file", file, &[]), vec![r(2, "resource")]);
    // --cfg over the file: it used to be overridden by the flag's default.
    assert_eq!(
        run("cfg", file, &["--cfg", "HLS::reuse_factors=[4, 8]"]),
        vec![r(4, "resource"), r(8, "resource")]
    );
    assert_eq!(
        run(
            "flag",
            file,
            &["--reuse-factors", "16", "--strategies", "latency"]
        ),
        vec![r(16, "latency")]
    );
    // Nothing names them: every power of two up to 64, both strategies.
    let default = run("default", "spq", &[]);
    let rfs: Vec<u64> = default.iter().map(|k| k.0).collect();
    assert!(
        [1, 2, 4, 8, 16, 32, 64].iter().all(|rf| rfs.contains(rf)) && default.len() == 14,
        "{default:?}"
    );
    // Both the flag and --cfg: refused, naming both, no run directory.
    let out = dir.join("twice");
    let args = small_run(
        &out,
        &["--reuse-factors", "2", "--cfg", "HLS::reuse_factors=[4]"],
    );
    let (ok, _, err) = zest(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !ok && err.contains("--reuse-factors") && err.contains("--cfg"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn an_export_task_writes_the_hls4ml_hand_off_of_its_inputs_best_designs() {
    let dir = scratch("export");
    let file = dir.join("qhx.yml");
    std::fs::write(
        &file,
        "flow: qhx\nnodes:\n  - {name: in, task: source, next: [q]}\n  - {name: q, task: quantize, next: [a]}\n  - {name: a, task: export, next: [h]}\n  - {name: h, task: hls, next: [x]}\n  - {name: x, task: export, next: [d]}\n  - {name: d, task: stop}\ncfg:\n  HLS::reuse_factors: [1, 4, 16, 64]\n",
    )
    .unwrap();
    let out = dir.join("run");
    let mut args = small_run(&out, &["--reuse-factor", "2"]);
    let i = args.iter().position(|a| a == "--flow").unwrap();
    args[i + 1] = file.to_str().unwrap().to_string();
    let i = args.iter().position(|a| a == "--evaluations").unwrap();
    args[i + 1] = "1".to_string();
    run_ok(&args);
    let records = log_records(&out);
    let entry = |node: &str| {
        records
            .iter()
            .find(|r| r["record"] == "model" && r["node"] == node)
            .unwrap_or_else(|| panic!("no entry of node {node}"))
            .clone()
    };
    let exported = |id: &str| -> Vec<serde_json::Value> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join("exports").join(id))
            .unwrap()
            .map(|d| d.unwrap().path())
            .collect();
        dirs.sort();
        dirs.iter()
            .map(|d| {
                for f in ["model.onnx", "hls4ml_config.yml"] {
                    assert!(d.join(f).is_file(), "{} lacks {f}", d.display());
                }
                json(&std::fs::read_to_string(d.join("design.json")).unwrap())
            })
            .collect()
    };
    // Before any estimate: the model at the run's own RF and strategy.
    let a = exported(entry("a")["id"].as_str().unwrap());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["hls"]["reuse_factor"], 2, "{}", a[0]["hls"]);
    // After hls: exactly the feasible non-dominated designs, which pass on.
    let x = entry("x");
    let eval = records.iter().find(|r| r["record"] == "eval").unwrap();
    let cands = eval["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 8, "the designs pass through export unchanged");
    let feasible: Vec<&serde_json::Value> =
        cands.iter().filter(|c| c["feasible"] == true).collect();
    let obj = |c: &serde_json::Value| -> Vec<f64> {
        c["objectives"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    // Non-dominated, and the first of equal ones.
    let beaten = |i: usize| {
        feasible.iter().enumerate().any(|(j, d)| {
            let (a, b) = (obj(d), obj(feasible[i]));
            (a.iter().zip(&b).all(|(p, q)| p <= q) && a != b) || (j < i && a == b)
        })
    };
    let mut want: Vec<String> = (0..feasible.len())
        .filter(|&i| !beaten(i))
        .map(|i| {
            let c = feasible[i];
            format!("{} {}", c["reuse_factor"], c["strategy"].as_str().unwrap())
        })
        .collect();
    want.sort();
    assert!(!want.is_empty(), "no feasible design: the test needs one");
    let got = exported(x["id"].as_str().unwrap());
    let mut have: Vec<String> = got
        .iter()
        .map(|d| {
            let hls = &d["hls"];
            format!(
                "{} {}",
                hls["reuse_factor"],
                hls["strategy"].as_str().unwrap_or("?")
            )
        })
        .collect();
    have.sort();
    assert_eq!(have, want);
    assert!(
        x["detail"]
            .as_str()
            .unwrap()
            .contains("exported to exports/"),
        "{x}"
    );
}

//! hls4ml project directories (`hls4ml-projects/` in the data): every one
//! loads or is skipped with a named reason, the targets read agree with the
//! collection's INDEX.csv, and broken or stale projects are refused with a
//! message naming the file.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{data_root, zest};
use zest::data::{hls4ml_projects, LoadReport, SkipReason};

/// INDEX.csv rows by `<owner>-<repo>/<commit8>/<project dir>`.
fn index(root: &Path) -> HashMap<String, HashMap<String, String>> {
    let mut rdr =
        csv::Reader::from_path(root.join("hls4ml-projects/INDEX.csv")).expect("INDEX.csv");
    let headers = rdr.headers().expect("header").clone();
    let mut out = HashMap::new();
    for row in rdr.records() {
        let row = row.expect("row");
        let m: HashMap<String, String> = headers
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        if m["consistent"] == "table" {
            continue;
        }
        let dir = m["project_dir"].trim_end_matches('/');
        let mut key = format!(
            "{}/{}",
            m["source"].replacen('/', "-", 1),
            &m["commit"][..8]
        );
        if dir != "." && !dir.is_empty() {
            key = format!("{key}/{dir}");
        }
        out.insert(key, m);
    }
    out
}

fn key_of(file: &str) -> String {
    file.trim_start_matches("hls4ml-projects/").to_string()
}

#[test]
fn every_project_loads_or_is_skipped_and_agrees_with_the_index() {
    let root = data_root();
    let mut report = LoadReport::default();
    hls4ml_projects::load(&root, &mut report, &mut |_| {});
    let index = index(&root);
    assert!(
        report.malformed.is_empty(),
        "projects that failed to read: {:#?}",
        report.malformed
    );
    let mut checked = 0;
    for d in &report.designs {
        let key = key_of(&d.provenance.file);
        let row = index
            .get(&key)
            .unwrap_or_else(|| panic!("{key}: loaded but not in INDEX.csv"));
        assert_eq!(row["consistent"], "yes", "{key}: a stale project loaded");
        let t = d.targets;
        for (col, got) in [
            ("hls_lut", t.lut),
            ("hls_ff", t.ff),
            ("hls_dsp", t.dsp),
            ("hls_bram18k", t.bram18),
            ("hls_latency_max", t.latency_cycles),
            ("hls_ii_max", t.ii),
        ] {
            let want: f64 = row[col].parse().unwrap_or_else(|_| panic!("{key}: {col}"));
            assert_eq!(got, want, "{key}: {col}");
        }
        assert_eq!(
            zest::part::part_family(&d.part),
            zest::part::part_family(&row["part"]),
            "{key}: part"
        );
        checked += 1;
    }
    let skipped: HashMap<String, SkipReason> = report
        .unusable
        .iter()
        .map(|i| (key_of(&i.file), i.reason.expect("a reason")))
        .collect();
    for (key, row) in &index {
        let loaded = report
            .designs
            .iter()
            .any(|d| key_of(&d.provenance.file) == *key);
        match (row["consistent"].as_str(), loaded, skipped.get(key)) {
            ("NO", false, Some(SkipReason::Stale)) => {}
            ("yes", true, None) => {}
            ("yes", false, Some(SkipReason::CustomKernel | SkipReason::UnsupportedLayer)) => {}
            other => panic!(
                "{key}: INDEX says {:?}, zest did {other:?}",
                row["consistent"]
            ),
        }
    }
    assert_eq!(
        report.designs.len() + report.unusable.len(),
        index.len(),
        "every project in INDEX.csv is accounted for"
    );
    // The collection: 60 consistent projects, 2 stale; the custom-kernel
    // ones are named by the README.
    let n = |r: SkipReason| skipped.values().filter(|&&s| s == r).count();
    assert_eq!(n(SkipReason::Stale), 2);
    assert_eq!(n(SkipReason::CustomKernel), 3);
    assert!(checked >= 30, "only {checked} projects loaded");
    eprintln!(
        "{checked} loaded, {} custom, {} unsupported, {} stale",
        n(SkipReason::CustomKernel),
        n(SkipReason::UnsupportedLayer),
        n(SkipReason::Stale)
    );
}

/// The NRP tutorial's jet tagger on a U250 (Vitis HLS 2022.2, RF 1).
fn tutorial(root: &Path) -> PathBuf {
    root.join("hls4ml-projects/nrp-nautilus-6nrp-hls4ml/c83384d5/model_1/hls4ml_prj")
}

#[test]
fn a_project_reads_as_hls4ml_wrote_it() {
    let p = zest::input::project::read(&tutorial(&data_root())).expect("reads");
    let d = &p.design;
    let dense: Vec<(u64, u64)> = d
        .layers
        .iter()
        .filter(|l| l.kind == zest::design::LayerKind::Dense)
        .map(|l| (l.n_in(), l.n_out()))
        .collect();
    assert_eq!(dense, [(16, 64), (64, 32), (32, 32), (32, 5)]);
    assert_eq!(d.layers.len(), 8);
    assert_eq!(d.tool.as_deref(), Some("Vitis HLS 2022.2"));
    assert_eq!((d.targets.ii, d.targets.latency_cycles), (1.0, 15.0));
    let per = d.per_layer.as_ref().expect("per-module reports");
    assert!(
        per.iter().all(Option::is_some),
        "every layer has its module report"
    );
    // The first Dense module's own report.
    assert_eq!(per[0].map(|t| t.latency_cycles), Some(1.0));
}

#[test]
fn estimate_dir_prints_synthesis_next_to_the_estimate() {
    let dir = tutorial(&data_root());
    let (ok, out, err) = zest(&["estimate", dir.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["recorded"]["lut"], 116694.0);
    // io_parallel, Latency, RF 1: hls4ml's rule gives II 1.
    assert_eq!(v["targets"]["ii"], 1.0);
    // Each layer next to its own module's report: fc1 is config2's
    // dense_latency_…_config2_s_csynth.xml.
    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers[0]["name"], "fc1");
    assert_eq!(layers[0]["recorded"]["lut"], 28385.0);
    assert!(layers.iter().all(|l| l["recorded"].is_object()), "{v}");
    let (ok, out, _) = zest(&["estimate", dir.to_str().unwrap()]);
    assert!(ok);
    assert!(out.contains("synthesis: 116694"), "{out}");
    assert!(out.contains("synthesis     28385"), "{out}");
    let (ok, _, err) = zest(&["estimate", dir.to_str().unwrap(), "--reuse-factor", "4"]);
    assert!(!ok && err.contains("its own configuration"), "{err}");
}

/// Copies a project into a fresh temporary directory.
fn copy_project(from: &Path, name: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!("zest-project-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    let mut stack = vec![(from.to_path_buf(), to.clone())];
    while let Some((s, d)) = stack.pop() {
        std::fs::create_dir_all(&d).expect("mkdir");
        for e in std::fs::read_dir(&s).expect("read_dir").flatten() {
            let t = d.join(e.file_name());
            if e.path().is_dir() {
                stack.push((e.path(), t));
            } else {
                std::fs::copy(e.path(), &t).expect("copy");
                let mut perm = std::fs::metadata(&t).expect("meta").permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perm.set_readonly(false);
                std::fs::set_permissions(&t, perm).expect("chmod");
            }
        }
    }
    to
}

#[test]
fn broken_and_stale_projects_are_refused_naming_the_file() {
    let src = tutorial(&data_root());
    let report = "myproject_prj/solution1/syn/report/myproject_csynth.xml";

    let dir = copy_project(&src, "no-params");
    std::fs::remove_file(dir.join("firmware/parameters.h")).unwrap();
    let e = zest::input::project::read(&dir).unwrap_err().to_string();
    assert!(
        e.contains("firmware/parameters.h") && e.contains("missing"),
        "{e}"
    );
    let (ok, _, err) = zest(&["ingest", dir.to_str().unwrap(), "--out", "/dev/null"]);
    assert!(!ok && err.contains("parameters.h"), "{err}");

    let dir = copy_project(&src, "truncated");
    let xml = std::fs::read_to_string(dir.join(report)).unwrap();
    std::fs::write(dir.join(report), &xml[..xml.len() / 2]).unwrap();
    let e = zest::input::project::read(&dir).unwrap_err().to_string();
    assert!(e.contains("myproject_csynth.xml"), "{e}");

    let dir = copy_project(&src, "stale");
    let cfg = std::fs::read_to_string(dir.join("hls4ml_config.yml")).unwrap();
    std::fs::write(
        dir.join("hls4ml_config.yml"),
        cfg.replace("XCU250-FIGD2104-2L-E", "xc7z020clg400-1")
            .replace("ClockPeriod: 5", "ClockPeriod: 10"),
    )
    .unwrap();
    let e = zest::input::project::read(&dir).unwrap_err();
    assert!(
        matches!(e, zest::input::project::ProjectError::Stale { .. }),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("hls4ml_config.yml")
            && e.contains("xc7z020clg400-1")
            && e.contains("ClockPeriod 10"),
        "{e}"
    );
    let root = dir.parent().unwrap();
    match hls4ml_projects::outcome(root, &dir) {
        Ok(zest::data::Outcome::Unusable(s)) => assert_eq!(s.reason, SkipReason::Stale),
        other => panic!("a stale project must be skipped, got {other:?}"),
    }

    // A layer module whose config parameters.h no longer has.
    let dir = copy_project(&src, "stale-module");
    let params = std::fs::read_to_string(dir.join("firmware/parameters.h")).unwrap();
    std::fs::write(
        dir.join("firmware/parameters.h"),
        params.replace("relu_config10", "relu_config12"),
    )
    .unwrap();
    let seq = std::fs::read_to_string(dir.join("LAYER_SEQUENCE.txt")).unwrap();
    std::fs::write(
        dir.join("LAYER_SEQUENCE.txt"),
        seq.replace("relu_config10", "relu_config12"),
    )
    .unwrap();
    let e = zest::input::project::read(&dir).unwrap_err().to_string();
    assert!(e.contains("stale") && e.contains("relu_config10"), "{e}");

    // Ingest of a good project appends a record that loads back.
    let out =
        std::env::temp_dir().join(format!("zest-project-records-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let (ok, _, err) = zest(&[
        "ingest",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let mut r = LoadReport::default();
    zest::data::ingested::load(&out, &mut r);
    assert_eq!(r.designs.len(), 1);
    assert_eq!(r.designs[0].targets.lut, 116694.0);
}

#[test]
fn a_malformed_project_in_the_data_is_reported_with_its_cause() {
    // <tmp>/hls4ml-projects/p: the loader's layout, parameters.h cut short.
    let root = std::env::temp_dir().join(format!("zest-project-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let prj = root.join("hls4ml-projects/p");
    std::fs::create_dir_all(root.join("hls4ml-projects")).expect("mkdir");
    std::fs::rename(copy_project(&tutorial(&data_root()), "data-p"), &prj).expect("move");
    std::fs::write(
        prj.join("firmware/parameters.h"),
        "struct config2 : nnet::dense_config {\n    static const unsigned n_in = 16;\n",
    )
    .expect("write");
    let mut report = LoadReport::default();
    hls4ml_projects::load(&root, &mut report, &mut |_| {});
    assert!(report.designs.is_empty());
    let m = &report.malformed;
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].message.contains("parameters.h") && m[0].message.contains("not closed"),
        "{}",
        m[0].message
    );
    let _ = std::fs::remove_dir_all(&root);
}

//! `zest estimate` through the real binary, answering from the embedded model.

mod common;

use common::{fixture, zest};

#[test]
fn embedded_model_is_valid() {
    zest::models::load_model(None).expect("embedded model loads and validates");
}

#[test]
fn jet_tagger_estimate_is_complete_and_repeatable() {
    let jet = fixture("jet_tagger.json");
    let args = [
        "estimate",
        &jet,
        "--precision",
        "ap_fixed<16,6>",
        "--reuse-factor",
        "1",
        "--strategy",
        "latency",
        "--io-type",
        "io_parallel",
        "--part",
        "xc7z020clg400-1",
        "--json",
    ];
    let (ok, out, err) = zest(&args);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        v["layers"].as_array().unwrap().len(),
        8,
        "4 Dense + 3 ReLU + softmax"
    );
    for t in ["lut", "ff", "dsp", "bram18", "latency_cycles", "ii"] {
        let x = v["targets"][t].as_f64().unwrap();
        assert!(x.is_finite() && x >= 0.0 && x.fract() == 0.0, "{t} = {x}");
    }
    assert!(v["targets"]["ii"].as_f64().unwrap() >= 1.0);
    assert_eq!(v["utilisation"].as_array().unwrap().len(), 4);
    assert_eq!(v["model"], "embedded default");
    let extrapolating: Vec<&serde_json::Value> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| {
            w.as_str()
                .is_some_and(|w| w.contains("outside what its kind"))
        })
        .collect();
    assert!(
        extrapolating.is_empty(),
        "the jet tagger at hls4ml's defaults is inside the training data: {extrapolating:?}"
    );
    let (_, again, _) = zest(&args);
    assert_eq!(out, again, "same input, same answer");

    let (ok, text, err) = zest(&["estimate", &jet]);
    assert!(ok, "{err}");
    assert!(
        text.contains("output_softmax") && text.contains("LUT"),
        "{text}"
    );
}

#[test]
fn a_layer_unlike_its_kinds_training_data_is_named() {
    // Every Dense layer zest was trained on has an accumulator of 12 bits
    // or more, though 8-bit values occur among other kinds: only the
    // per-kind range tells that this estimate extrapolates.
    let jet = fixture("jet_tagger.json");
    let (ok, out, err) = zest(&["estimate", &jet, "--precision", "ap_fixed<8,2>", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let fc2 = warnings
        .iter()
        .find(|w| w.starts_with("layer fc2 (Dense)"))
        .unwrap_or_else(|| panic!("no warning for fc2: {warnings:?}"));
    assert!(
        fc2.contains("accumulator width 8 bits (trained: 12..23 bits)"),
        "{fc2}"
    );
    let (ok, _, err) = zest(&["estimate", &jet, "--precision", "ap_fixed<8,2>"]);
    assert!(ok && err.contains("warning: layer fc1 (Dense)"), "{err}");
}

#[test]
fn bad_networks_and_options_are_named() {
    let dir = std::env::temp_dir().join(format!("zest-est-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lstm = dir.join("lstm.json");
    std::fs::write(
        &lstm,
        r#"{"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 10, 4], "name": "in"}},
            {"class_name": "LSTM", "config": {"name": "rnn", "units": 8}}]}}"#,
    )
    .unwrap();
    let (ok, _, err) = zest(&["estimate", lstm.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("\"rnn\"") && err.contains("LSTM"), "{err}");

    let truncated = dir.join("cut.json");
    std::fs::write(
        &truncated,
        r#"{"class_name": "Sequential", "config": {"layers": [{"class_na"#,
    )
    .unwrap();
    let (ok, _, err) = zest(&["estimate", truncated.to_str().unwrap()]);
    assert!(!ok && err.contains("not a Keras model JSON"), "{err}");
    // Said once: the path, then the cause (not the cause twice).
    assert_eq!(err.matches("not a Keras model JSON").count(), 1, "{err}");

    let jet = fixture("jet_tagger.json");
    let (ok, _, err) = zest(&["estimate", &jet, "--precision", "float32"]);
    assert!(!ok && err.contains("--precision"), "{err}");
    let (ok, _, err) = zest(&["estimate", &jet, "--strategy", "fast"]);
    assert!(!ok && err.contains("unknown strategy"), "{err}");
    let (ok, _, err) = zest(&["estimate", "/nonexistent/model.json"]);
    assert!(!ok && err.contains("/nonexistent/model.json"), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The acceptance case: the jet tagger as Keras JSON, as ONNX (exported the
/// way PyTorch does, `tests/fixtures/make_jet_tagger_onnx.py`) and through
/// an hls4ml YAML configuration gives the same estimate from the embedded
/// model.
#[test]
fn jet_tagger_keras_onnx_and_yaml_agree() {
    let opts = [
        "--precision",
        "ap_fixed<16,6>",
        "--reuse-factor",
        "1",
        "--strategy",
        "latency",
        "--io-type",
        "io_parallel",
        "--part",
        "xc7z020clg400-1",
        "--json",
        "--upper",
        "0.9",
    ];
    let run = |net: &str, extra: &[&str]| {
        let mut args = vec!["estimate", net];
        args.extend_from_slice(extra);
        let (ok, out, err) = zest(&args);
        assert!(ok, "{net}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        v
    };
    let keras = run(&fixture("jet_tagger.json"), &opts);
    let onnx = run(&fixture("jet_tagger.onnx"), &opts);
    assert_eq!(keras["targets"], onnx["targets"]);
    assert_eq!(
        keras["layers"], onnx["layers"],
        "same layers, names and shares"
    );
    assert_eq!(keras["upper"], onnx["upper"]);
    // The upper bound is at or above the estimate.
    for t in ["lut", "ff", "dsp", "bram18", "latency_cycles", "ii"] {
        let (e, u) = (
            keras["targets"][t].as_f64().unwrap(),
            keras["upper"]["targets"][t].as_f64().unwrap(),
        );
        assert!(u >= e, "{t}: upper {u} < estimate {e}");
    }

    let dir = std::env::temp_dir().join(format!("zest-yaml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yml = dir.join("config.yml");
    std::fs::write(
        &yml,
        format!(
            "OnnxModel: {}\nPart: xc7z020clg400-1\nClockPeriod: 5\nIOType: io_parallel\n\
             HLSConfig:\n  Model:\n    Precision: ap_fixed<16,6>\n    ReuseFactor: 1\n    Strategy: Latency\n",
            fixture("jet_tagger.onnx")
        ),
    )
    .unwrap();
    let yaml = run(yml.to_str().unwrap(), &["--json"]);
    assert_eq!(keras["targets"], yaml["targets"]);
    // A flag overrides the file; a per-layer setting reaches its layer.
    let rf4 = run(yml.to_str().unwrap(), &["--json", "--reuse-factor", "4"]);
    assert_eq!(rf4["config"]["reuse_factor"], 4);
    std::fs::write(
        &yml,
        format!(
            "KerasJson: {}\nHLSConfig:\n  LayerName:\n    fc1:\n      ReuseFactor: 16\n    nonesuch:\n      ReuseFactor: 2\n",
            fixture("jet_tagger.json")
        ),
    )
    .unwrap();
    let (ok, out, err) = zest(&["estimate", yml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("nonesuch"), "unknown layer named: {err}");
    assert_ne!(out, "");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn damaged_onnx_is_refused_with_the_file_named() {
    let dir = std::env::temp_dir().join(format!("zest-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(fixture("jet_tagger.onnx")).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let (ok, _, err) = zest(&["estimate", cut.to_str().unwrap()]);
    assert!(
        !ok && err.contains("cut.onnx") && err.contains("ONNX"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A synthesis record (as `zest ingest` writes it) is estimated with its
/// own configuration, its synthesis figures shown next to the estimate; the
/// estimate equals that of the same network and options given directly.
#[test]
fn a_synthesis_record_is_estimated_with_its_own_configuration() {
    let data = std::env::var_os("ZEST_DATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        std::path::PathBuf::from,
    );
    let xml = data.join("hls4ml-test-baselines/report_fixtures/Vivado/myproject_csynth.xml");
    let dir = std::env::temp_dir().join(format!("zest-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("runs.jsonl");
    let jet = fixture("jet_tagger.json");
    let (ok, _, err) = zest(&[
        "ingest",
        xml.to_str().unwrap(),
        "--network",
        &jet,
        "--reuse-factor",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (ok, rec, err) = zest(&["estimate", out.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let rec: serde_json::Value = serde_json::from_str(&rec).unwrap();
    assert_eq!(rec["recorded"]["lut"], 2532.0);
    assert_eq!(rec["config"]["reuse_factor"], 2);
    let direct = |tool: &[&str]| {
        let mut args = vec![
            "estimate",
            &jet,
            "--reuse-factor",
            "2",
            "--part",
            "xc7z020clg400-1",
            "--json",
        ];
        args.extend_from_slice(tool);
        let (ok, out, err) = zest(&args);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    // The report names its tool (HLS 2020.1: Vivado HLS); without it the
    // estimate sits halfway between the tools, so it differs.
    assert_ne!(rec["targets"], direct(&[])["targets"]);
    let direct = direct(&["--tool", "2020.1"]);
    assert_eq!(rec["targets"], direct["targets"]);
    let (ok, _, err) = zest(&["estimate", &jet, "--tool", "catapult"]);
    assert!(!ok && err.contains("--tool names neither"), "{err}");
    let (ok, _, err) = zest(&["estimate", out.to_str().unwrap(), "--strategy", "resource"]);
    assert!(!ok && err.contains("own hls4ml configuration"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn io_parallel_ii_follows_hls4mls_reuse_factor_rule() {
    // hls4ml pipelines an io_parallel design at II = reuse factor (bounded
    // by latency + 1): the jet tagger at RF 1 takes a new input every
    // cycle, at RF 4 every fourth.
    let jet = fixture("jet_tagger.json");
    for (rf, want) in [("1", 1.0), ("4", 4.0)] {
        let (ok, out, err) = zest(&["estimate", &jet, "--reuse-factor", rf, "--json"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let t = &v["targets"];
        assert_eq!(t["ii"].as_f64(), Some(want), "RF {rf}: {v}");
        let latency = t["latency_cycles"].as_f64().expect("latency");
        assert!(want <= latency + 1.0, "{v}");
    }
}

#[test]
fn a_design_beyond_the_part_is_warned_about() {
    let jet = fixture("jet_tagger.json");
    // The jet tagger at RF 1 needs more DSPs than the smallest Zynq has.
    let part = ["--part", "xc7z007s-clg225-2"];
    let (ok, out, err) = zest(&["estimate", &jet, part[0], part[1], "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let dsp = v["utilisation"][2].as_f64().expect("dsp %");
    assert!(dsp > 100.0, "{v}");
    let warned = v["warnings"].as_array().expect("warnings").iter().any(|w| {
        w.as_str()
            .is_some_and(|w| w.contains("does not fit") && w.contains("DSP"))
    });
    assert!(warned, "{v}");
    // The text form says it on stderr.
    let (ok, _, err) = zest(&["estimate", &jet, part[0], part[1]]);
    assert!(ok && err.contains("does not fit xc7z007s"), "{err}");
}

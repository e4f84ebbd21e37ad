//! `zest estimate` through the real binary, answering from the embedded model.

use std::process::Command;

fn zest(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zest"))
        .args(args)
        .output()
        .expect("run zest");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn embedded_model_is_valid() {
    zest::estimate::load_model(None).expect("embedded model loads and validates");
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

    let jet = fixture("jet_tagger.json");
    let (ok, _, err) = zest(&["estimate", &jet, "--precision", "float32"]);
    assert!(!ok && err.contains("--precision"), "{err}");
    let (ok, _, err) = zest(&["estimate", &jet, "--strategy", "fast"]);
    assert!(!ok && err.contains("unknown strategy"), "{err}");
    let (ok, _, err) = zest(&["estimate", "/nonexistent/model.json"]);
    assert!(!ok && err.contains("/nonexistent/model.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

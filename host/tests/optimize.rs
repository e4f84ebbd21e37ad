//! `zest optimize` and `zest predict` end to end, through the real binary
//! on the real data sets: the flow's rows, determinism, the design
//! directory, predictions, the ONNX round trip, and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{data_root, zest};

fn digits() -> String {
    data_root()
        .join("datasets/digits.csv.gz")
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zest-optimize-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_ok(args: &[&str]) -> String {
    let (ok, out, err) = zest(args);
    assert!(ok, "zest {args:?} failed:\n{out}\n{err}");
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn spq_on_digits_cuts_dsp_is_deterministic_and_predicts() {
    let dir = scratch("spq");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let base = [
        "optimize",
        "--data",
        &digits(),
        "--flow",
        "spq",
        "--alpha-p",
        "0.01",
        "--alpha-s",
        "0.01",
        "--alpha-q",
        "0.01",
        "--json",
        "--out",
    ];
    let mut args: Vec<&str> = base.to_vec();
    let a_s = a.display().to_string();
    args.push(&a_s);
    let out = json(&run_ok(&args));
    let rows = out["report"]["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["baseline", "s", "sp", "spq"]);
    let (first, last) = (&rows[0], &rows[3]);
    let dsp = |r: &serde_json::Value| r["estimate"]["dsp"].as_f64().unwrap();
    let acc = |r: &serde_json::Value| r["fixed_test_accuracy"].as_f64().unwrap();
    assert!(
        dsp(first) >= 5.0 * dsp(last),
        "{} -> {}",
        dsp(first),
        dsp(last)
    );
    assert!(
        acc(first) - acc(last) <= 0.02,
        "{} -> {}",
        acc(first),
        acc(last)
    );
    assert!(last["pruning_rate"].as_f64().unwrap() > 0.3);
    assert!(last["weight_bits"].as_u64() < first["weight_bits"].as_u64());
    assert!(out["timing"]["estimates"].as_u64().unwrap() >= 4);
    for f in [
        "model.onnx",
        "hls4ml_config.yml",
        "design.json",
        "report.json",
    ] {
        assert!(a.join(f).is_file(), "{f}");
    }
    // The same command again: the same bytes.
    let b_s = b.display().to_string();
    *args.last_mut().unwrap() = &b_s;
    run_ok(&args);
    for f in [
        "model.onnx",
        "hls4ml_config.yml",
        "design.json",
        "report.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two identical runs"
        );
    }
    // Predictions: one row per sample, exact decimals, the class last;
    // their accuracy on the whole file is what the design scores.
    let preds = dir.join("preds.csv");
    run_ok(&[
        "predict",
        &a_s,
        "--data",
        &digits(),
        "--out",
        &preds.display().to_string(),
    ]);
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().split(',').count(), 11);
    let labels: Vec<String> = {
        let raw = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -dc {} | awk -F, '{{print $NF}}'", digits()))
            .output()
            .unwrap();
        String::from_utf8(raw.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1797);
    let right = rows
        .iter()
        .zip(&labels)
        .filter(|(r, l)| r.rsplit(',').next() == Some(l.as_str()))
        .count();
    assert!(right as f64 / 1797.0 > 0.93, "{right} of 1797");
    for v in rows[0].split(',').take(10) {
        let x: f64 = v.parse().unwrap();
        // Exact: a multiple of the output type's LSB, printed in full.
        assert!(!v.contains('e'), "{v}");
        assert!(x.is_finite());
    }
    // The exported ONNX is a network zest reads back: quantize it alone.
    let onnx = a.join("model.onnx").display().to_string();
    let q = json(&run_ok(&[
        "optimize",
        &onnx,
        "--data",
        &digits(),
        "--flow",
        "q",
        "--json",
    ]));
    let qrows = q["report"]["rows"].as_array().unwrap();
    assert_eq!(qrows[0]["widths"], last["widths"]);
    assert_eq!(qrows[0]["pruning_rate"], last["pruning_rate"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_keras_architecture_is_trained_from_scratch() {
    // The jet tagger's architecture (16-64-32-32-5, ReLU, softmax) made to
    // take digits: 64 inputs, 10 classes.
    let dir = scratch("keras");
    let text = std::fs::read_to_string(common::fixture("jet_tagger.json")).unwrap();
    let mut k = json(&text);
    let layers = k["config"]["layers"].as_array_mut().unwrap();
    layers[0]["config"]["batch_input_shape"] = serde_json::json!([null, 64]);
    let last = layers.len() - 1;
    layers[last]["config"]["units"] = serde_json::json!(10);
    let arch = dir.join("arch.json");
    std::fs::write(&arch, k.to_string()).unwrap();
    let out = json(&run_ok(&[
        "optimize",
        &arch.display().to_string(),
        "--data",
        &digits(),
        "--flow",
        "q",
        "--json",
    ]));
    let rows = out["report"]["rows"].as_array().unwrap();
    assert_eq!(rows[0]["widths"], serde_json::json!([64, 64, 32, 32, 10]));
    assert!(
        rows[1]["fixed_test_accuracy"].as_f64().unwrap() > 0.9,
        "{}",
        rows[1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a failing command; returns stderr, checks `out` was not made.
fn fails(args: &[&str], out: &Path) -> String {
    let (ok, stdout, err) = zest(args);
    assert!(!ok, "zest {args:?} succeeded:\n{stdout}");
    assert!(!out.exists(), "{} written by a failed run", out.display());
    err
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = scratch("bad");
    let out = dir.join("out");
    let out_s = out.display().to_string();
    let csv = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let good = "1,2,0\n3,4,1\n5,6,0\n7,8,1\n";
    let cases = [
        (
            csv("ragged.csv", &format!("{good}9,1\n")),
            "ragged.csv:5: 2 columns where the first sample has 3",
        ),
        (
            csv("text.csv", &format!("{good}9,x,1\n")),
            "text.csv:5: column 2: \"x\" is not a number",
        ),
        (
            csv("nan.csv", &format!("{good}NaN,1,0\n")),
            "nan.csv:5: column 1: \"NaN\" is not a finite number",
        ),
        (
            csv(
                "label.csv",
                &format!("4,2,no,yes\n{}", "1,2,0\n3,4,1\n5,6,2\n7,8,1\n"),
            ),
            "label.csv:4: column 3: label 2 is outside the 2 classes",
        ),
    ];
    for (file, want) in &cases {
        let err = fails(
            &["optimize", "--data", file, "--flow", "q", "--out", &out_s],
            &out,
        );
        assert!(err.contains(want), "{file}: {err}");
    }
    let err = fails(
        &[
            "optimize",
            "--data",
            &digits(),
            "--label-column",
            "target",
            "--out",
            &out_s,
        ],
        &out,
    );
    assert!(err.contains("no label column \"target\""), "{err}");
    // ONNX: an unsupported operator, a shape mismatch, named by node.
    let bad_onnx = dir.join("conv.onnx");
    std::fs::write(&bad_onnx, common_onnx(OnnxFlaw::Conv)).unwrap();
    let err = fails(
        &[
            "optimize",
            &bad_onnx.display().to_string(),
            "--data",
            &digits(),
            "--out",
            &out_s,
        ],
        &out,
    );
    assert!(
        err.contains("conv.onnx") && err.contains("unsupported ONNX operator Conv"),
        "{err}"
    );
    let mismatch = dir.join("shape.onnx");
    std::fs::write(&mismatch, common_onnx(OnnxFlaw::Shape)).unwrap();
    let err = fails(
        &[
            "optimize",
            &mismatch.display().to_string(),
            "--data",
            &digits(),
            "--out",
            &out_s,
        ],
        &out,
    );
    assert!(
        err.contains("node \"fc1\": expects 5 inputs, the previous layer gives 4"),
        "{err}"
    );
    // A network that does not take the data's features.
    let small = dir.join("small.onnx");
    std::fs::write(&small, common_onnx(OnnxFlaw::None)).unwrap();
    let err = fails(
        &[
            "optimize",
            &small.display().to_string(),
            "--data",
            &digits(),
            "--out",
            &out_s,
        ],
        &out,
    );
    assert!(
        err.contains(
            "takes 3 features and gives 2 classes, the data has 64 features and 10 classes"
        ),
        "{err}"
    );
    // A bad flow; predict on a directory that is no design.
    let err = fails(
        &[
            "optimize",
            "--data",
            &digits(),
            "--flow",
            "sqx",
            "--out",
            &out_s,
        ],
        &out,
    );
    assert!(err.contains("'x' is not a task"), "{err}");
    let (ok, _, err) = zest(&["predict", &dir.display().to_string(), "--data", &digits()]);
    assert!(!ok && err.contains("design.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

enum OnnxFlaw {
    None,
    Conv,
    Shape,
}

/// A 3-4-2 network as zest exports it, with a flaw.
fn common_onnx(flaw: OnnxFlaw) -> Vec<u8> {
    use zest::network::{DenseLayer, Mlp};
    let layer = |n_in: usize, n_out: usize| DenseLayer {
        n_in,
        n_out,
        weight: (0..n_in * n_out).map(|k| k as f32 / 10.0 - 0.5).collect(),
        bias: vec![0.1; n_out],
        mask: vec![true; n_in * n_out],
    };
    let mut net = Mlp {
        layers: vec![layer(3, 4), layer(4, 2)],
    };
    if let OnnxFlaw::Shape = flaw {
        net.layers[1] = layer(5, 2);
    }
    let bytes = zest::network::export::onnx_bytes(&net);
    if let OnnxFlaw::Conv = flaw {
        // Same length names: "Relu" -> "Conv" in the serialized node.
        let mut b = bytes.clone();
        let at = b.windows(4).position(|w| w == b"Relu").unwrap();
        b[at..at + 4].copy_from_slice(b"Conv");
        return b;
    }
    bytes
}

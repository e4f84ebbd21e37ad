//! zest's fixed-point inference of a user's network against hls4ml 1.3.0
//! itself: each design is exported (ONNX + `hls4ml_config.yml`), converted
//! by the real hls4ml with `convert_from_config`, compiled with g++ and run
//! on the whole test split (`predict`, hls4ml's C simulation); every output
//! must be the same bits as zest's.
//!
//! The Python with hls4ml: `$ZEST_HLS4ML_PYTHON`, else
//! `target/hls4ml-venv/bin/python` (`cargo xtask test` and `.ci/run` make
//! it). The test fails, never skips, without it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use zest::dataset::{read, Dataset, LabelColumn, Split};
use zest::design::{HlsConfig, Strategy};
use zest::network::export::{hls4ml_config, onnx_bytes};
use zest::network::fixed::{FixedMlp, Precisions};
use zest::network::prune::magnitude_prune;
use zest::network::train::{fine_tune, train_new, TrainOptions};
use zest::network::Mlp;
use zest_fixed::FixedType;

fn python() -> PathBuf {
    let p = std::env::var_os("ZEST_HLS4ML_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/hls4ml-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        p.is_file(),
        "no Python with hls4ml at {} (run `cargo xtask test`, or set ZEST_HLS4ML_PYTHON)",
        p.display()
    );
    p
}

fn data(name: &str) -> Dataset {
    let root = zest::data::default_root();
    read(&root.join("datasets").join(name), &LabelColumn::Last)
        .unwrap_or_else(|e| panic!("{e} (set ZEST_DATA)"))
}

/// One design: the network, its precisions and options, and zest's outputs
/// on the test split.
struct Case {
    name: &'static str,
    dir: PathBuf,
    outputs: Vec<Vec<f32>>,
    accuracy: f64,
}

fn write_case(
    root: &Path,
    name: &'static str,
    net: &Mlp,
    p: &Precisions,
    cfg: &HlsConfig,
    d: &Dataset,
    split: &Split,
) -> Case {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.onnx"), onnx_bytes(net)).unwrap();
    std::fs::write(
        dir.join("hls4ml_config.yml"),
        hls4ml_config(net, p, cfg, "model.onnx", "prj"),
    )
    .unwrap();
    let q = FixedMlp::hls4ml(net, p).expect("types fit");
    let ot = q.output_type();
    let mut x = std::fs::File::create(dir.join("x.csv")).unwrap();
    let mut outputs = Vec::new();
    for &i in &split.test {
        let s = d.sample(i);
        // `{:?}` prints the shortest text that reads back as the same f32.
        let line: Vec<String> = s.iter().map(|v| format!("{v:?}")).collect();
        writeln!(x, "{}", line.join(",")).unwrap();
        outputs.push(q.forward(s).iter().map(|r| ot.to_f64(*r) as f32).collect());
    }
    Case {
        name,
        dir,
        outputs,
        accuracy: q.accuracy(d, &split.test),
    }
}

/// A design made by the real `zest optimize --out` (flow and flags given),
/// with `zest predict`'s outputs on every sample of the data file.
fn optimized_case(root: &Path, name: &'static str, data: &Path, args: &[&str]) -> Case {
    let dir = root.join(name);
    let bin = env!("CARGO_BIN_EXE_zest");
    let run = |a: &[&str]| {
        let out = Command::new(bin).args(a).output().expect("run zest");
        assert!(
            out.status.success(),
            "zest {a:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (d, dir_s) = (data.display().to_string(), dir.display().to_string());
    let mut a = vec!["optimize", "--data", &d, "--out", &dir_s, "--no-plot"];
    a.extend(args);
    run(&a);
    let preds = run(&["predict", &dir_s, "--data", &d]);
    let set = read(data, &LabelColumn::Last).unwrap();
    let mut x = std::fs::File::create(dir.join("x.csv")).unwrap();
    for i in 0..set.len() {
        let line: Vec<String> = set.sample(i).iter().map(|v| format!("{v:?}")).collect();
        writeln!(x, "{}", line.join(",")).unwrap();
    }
    let mut outputs = Vec::new();
    let mut right = 0;
    for (i, l) in preds.lines().skip(1).enumerate() {
        let cells: Vec<&str> = l.split(',').collect();
        let (vals, class) = cells.split_at(cells.len() - 1);
        outputs.push(
            vals.iter()
                .map(|v| v.parse::<f64>().unwrap() as f32)
                .collect(),
        );
        right += usize::from(set.classes[set.labels[i] as usize] == class[0]);
    }
    Case {
        name,
        dir,
        outputs,
        accuracy: right as f64 / set.len() as f64,
    }
}

const SCRIPT: &str = r#"
import sys, os, numpy as np, hls4ml
for d in sys.argv[1:]:
    os.chdir(d)
    h = hls4ml.converters.convert_from_config('hls4ml_config.yml')
    h.compile()
    x = np.loadtxt('x.csv', delimiter=',', dtype=np.float32, ndmin=2)
    y = np.asarray(h.predict(np.ascontiguousarray(x)), dtype=np.float32).reshape(len(x), -1)
    np.savetxt('hls4ml.csv', y, delimiter=',', fmt='%.9g')
"#;

#[test]
fn exported_designs_are_bit_exact_with_hls4ml() {
    let py = python();
    let root = std::env::temp_dir().join(format!("zest-hls4ml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let t = FixedType::new;
    let u = FixedType::unsigned;
    let opts = TrainOptions::default();
    let mut cases = Vec::new();

    let digits = data("digits.csv.gz");
    let split = Split::stratified(&digits, 0.2, 0.2, 1);
    let (net, _) = train_new(&[64, 32, 32, 10], &digits, &split, &opts);
    // P + Q: half the weights pruned and fine-tuned, per-layer types.
    let (pruned, _) = fine_tune(&magnitude_prune(&net, 0.5), &digits, &split, &opts);
    let q = Precisions {
        input: t(16, 6),
        layers: vec![
            (t(8, 2), t(9, 3), u(10, 5)),
            (t(7, 2), t(8, 3), u(9, 5)),
            (t(8, 3), t(10, 4), t(8, 4)),
        ],
    };
    let latency = HlsConfig::default();
    cases.push(write_case(
        &root,
        "digits-pq",
        &pruned,
        &q,
        &latency,
        &digits,
        &split,
    ));
    // S: narrower, hls4ml's uniform <16,6>, Resource strategy at RF 4.
    let (small, _) = train_new(&[64, 16, 16, 10], &digits, &split, &opts);
    let resource = HlsConfig {
        strategy: Strategy::Resource,
        reuse_factor: 4,
        ..HlsConfig::default()
    };
    let uniform = Precisions::uniform(t(16, 6), 3);
    cases.push(write_case(
        &root,
        "digits-s-resource",
        &small,
        &uniform,
        &resource,
        &digits,
        &split,
    ));

    let cancer = data("breast_cancer.csv");
    let split_c = Split::stratified(&cancer, 0.2, 0.2, 1);
    let (net_c, _) = train_new(&[30, 16, 8, 2], &cancer, &split_c, &opts);
    // Raw features up to 4,254 (area): 14 integer bits in; the folded
    // first layer's weights and biases span wide ranges, so each type's
    // integer bits come from its largest value (QHS's starting rule). The
    // first layer needs 24 bits: folding divides by each feature's spread,
    // so its weights range from ~1e-3 (area, spread 351) to ~130.
    let fit = |v: &[f32], width: u8| {
        let m = v.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-3);
        FixedType::new(width, m.log2().floor() as i16 + 2)
    };
    let layer = |k: usize, w: u8| {
        let l = &net_c.layers[k];
        (fit(&l.weight, w), fit(&l.bias, w), u(12, 6))
    };
    let qc = Precisions {
        input: t(24, 14),
        layers: vec![layer(0, 24), layer(1, 10), layer(2, 10)],
    };
    cases.push(write_case(
        &root, "cancer-q", &net_c, &qc, &latency, &cancer, &split_c,
    ));

    // Designs `zest optimize` writes, as a user gets them: P, S, Q (io_stream)
    // and SPQ on digits (Latency), SPQ on breast cancer (Resource, RF 2); compared
    // through `zest predict` on every sample of the file.
    let root_data = zest::data::default_root().join("datasets");
    let (dg, bc) = (
        root_data.join("digits.csv.gz"),
        root_data.join("breast_cancer.csv"),
    );
    let tol = [
        "--alpha-p",
        "0.01",
        "--alpha-s",
        "0.01",
        "--alpha-q",
        "0.01",
    ];
    for (name, flow) in [
        ("optimize-digits-p", "p"),
        ("optimize-digits-s", "s"),
        ("optimize-digits-q-stream", "q"),
        ("optimize-digits-spq", "spq"),
    ] {
        let mut a = vec!["--flow", flow];
        a.extend(tol);
        if flow == "q" {
            a.extend(["--io-type", "io_stream"]);
        }
        cases.push(optimized_case(&root, name, &dg, &a));
    }
    let mut a = vec![
        "--flow",
        "spq",
        "--hidden",
        "16,8",
        "--strategy",
        "resource",
        "--reuse-factor",
        "2",
    ];
    a.extend(tol);
    cases.push(optimized_case(&root, "optimize-cancer-spq", &bc, &a));

    let out = Command::new(&py)
        .arg("-c")
        .arg(SCRIPT)
        .args(cases.iter().map(|c| &c.dir))
        .output()
        .expect("run hls4ml");
    assert!(
        out.status.success(),
        "hls4ml failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut total = 0;
    for c in &cases {
        let text = std::fs::read_to_string(c.dir.join("hls4ml.csv")).expect("hls4ml outputs");
        let theirs: Vec<Vec<f32>> = text
            .lines()
            .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
            .collect();
        assert_eq!(theirs.len(), c.outputs.len(), "{}", c.name);
        let mut mismatches = Vec::new();
        for (k, (a, b)) in c.outputs.iter().zip(&theirs).enumerate() {
            for (j, (x, y)) in a.iter().zip(b).enumerate() {
                total += 1;
                if x.to_bits() != y.to_bits() {
                    mismatches.push(format!("sample {k} output {j}: zest {x}, hls4ml {y}"));
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "{}: {} mismatches:\n{}",
            c.name,
            mismatches.len(),
            mismatches[..mismatches.len().min(10)].join("\n")
        );
        assert!(c.accuracy > 0.85, "{}: accuracy {}", c.name, c.accuracy);
        eprintln!(
            "{}: {} samples, 0 mismatches, accuracy {:.4}",
            c.name,
            c.outputs.len(),
            c.accuracy
        );
    }
    eprintln!("{total} outputs compared with hls4ml's C simulation");
    let _ = std::fs::remove_dir_all(&root);
}

//! The wa-hls4ml release format end to end: records written in that format
//! from the real 2-layer runs of `jdweitz-wa-hls4ml-csv/` (the release's
//! own "2layer" family, flattened there), 30 under `train/` and 10 under
//! `test/`; `zest data` loads them and `zest eval --split test` trains
//! outside the test split and reports on it.

mod common;

use common::{data_root, zest};

fn record(row: &csv::StringRecord, h: &csv::StringRecord) -> serde_json::Value {
    let get = |k: &str| {
        let i = h.iter().position(|c| c == k).expect("column");
        row.get(i).expect("field").to_string()
    };
    let widths: Vec<u64> = get("model_string")
        .split('-')
        .map(|w| w.parse().expect("width"))
        .collect();
    let prec = get("prec");
    let mut layers = Vec::new();
    let mut lc = serde_json::Map::new();
    for (i, w) in widths.windows(2).enumerate() {
        let name = format!("dense_{i}");
        layers.push(
            serde_json::json!({"class_name": "QDense", "name": name, "units": w[1],
            "input_shape": [null, w[0]], "output_shape": [null, w[1]]}),
        );
        lc.insert(
            name,
            serde_json::json!({"Precision": {"weight": format!("ap_fixed<{prec},1>")}, "ReuseFactor": get("rf").parse::<u64>().expect("rf")}),
        );
        if i + 2 < widths.len() {
            layers.push(
                serde_json::json!({"class_name": "Activation", "name": format!("relu_{i}"),
                "activation": "relu", "input_shape": [null, w[1]], "output_shape": [null, w[1]]}),
            );
        }
    }
    serde_json::json!({
        "model_config": layers,
        "hls_config": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": get("rf").parse::<u64>().expect("rf"),
                                 "Strategy": get("strategy")}, "LayerName": lc},
        "latency_report": {"cycles_max": get("WorstLatency_hls"), "interval_max": get("IntervalMax_hls")},
        "hls_resource_report": {"lut": get("LUT_hls"), "ff": get("FF_hls"), "dsp": get("DSP_hls"), "bram": get("BRAM_18K_hls")}
    })
}

#[test]
fn release_format_loads_and_split_test_evaluates_on_it() {
    let src = data_root().join("jdweitz-wa-hls4ml-csv/2layer_sample_first40.csv");
    let mut r = csv::Reader::from_path(&src).expect("the 2-layer sample");
    let h = r.headers().expect("header").clone();
    let recs: Vec<serde_json::Value> = r.records().map(|x| record(&x.expect("row"), &h)).collect();
    assert_eq!(recs.len(), 40);
    let root = std::env::temp_dir().join(format!("zest-release-{}", std::process::id()));
    let rel = root.join("wa-hls4ml-release");
    std::fs::create_dir_all(rel.join("train")).unwrap();
    std::fs::create_dir_all(rel.join("test")).unwrap();
    let train = serde_json::to_string(&recs[..30]).unwrap();
    std::fs::write(rel.join("train/train_2layer_merged.json"), train).unwrap();
    // The test file is cut short: the records before the damage still count.
    let mut test = serde_json::to_string(&recs[30..]).unwrap();
    test.truncate(test.len() - 40);
    std::fs::write(rel.join("test/test_2layer_merged.json"), test).unwrap();

    let root_s = root.to_str().unwrap();
    let (ok, out, err) = zest(&["data", "--data", root_s, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let c = &v["counts"]["wa-hls4ml-release"];
    assert_eq!(c["loaded"], 39, "{v}");
    assert_eq!(c["malformed"], 1, "{v}");

    let (ok, out, err) = zest(&[
        "eval",
        "--data",
        root_s,
        "--split",
        "test",
        "--members",
        "1",
        "--max-steps",
        "300",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v[0]["n_designs"], 9, "the 9 intact test records");
    let smape = v[0]["mean_smape"].as_f64().expect("mean SMAPE");
    assert!(smape.is_finite() && smape < 200.0, "{smape}");
    std::fs::remove_dir_all(&root).ok();
}

//! `zest ingest` on the real report fixtures of hls4ml's test baselines
//! (../shared/data/hls4ml-test-baselines/report_fixtures), and the records
//! it writes read back by the loader, a damaged line reported and skipped.

mod common;

use std::path::PathBuf;

use common::data_root;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    let p = data_root()
        .join("hls4ml-test-baselines/report_fixtures/Vivado")
        .join(name);
    assert!(p.is_file(), "missing {} (set ZEST_DATA)", p.display());
    p
}

#[test]
fn csynth_xml_and_rpt_agree_with_the_report() {
    let xml = zest::input::reports::read_report(&fixture("myproject_csynth.xml")).expect("xml");
    let rpt = zest::input::reports::read_report(&fixture("myproject_csynth.rpt")).expect("rpt");
    // The figures the files state (Total row / SummaryOfOverallLatency).
    let t = xml.targets;
    assert_eq!(
        [t.lut, t.ff, t.dsp, t.bram18, t.latency_cycles, t.ii],
        [2532.0, 7969.0, 73.0, 0.0, 10.0, 8.0]
    );
    assert_eq!(
        xml.targets, rpt.targets,
        "the XML and the text report differ"
    );
    assert_eq!(xml.part.as_deref(), Some("xc7z020clg400-1"));
    assert_eq!(rpt.part, xml.part);
    assert_eq!(xml.clock_ns, Some(5.0));
    assert_eq!(rpt.clock_ns, Some(5.0));
}

#[test]
fn vivado_utilization_counts_block_ram_tiles_as_two_bram18() {
    let v = zest::input::reports::read_report(&fixture("vivado_synth.rpt")).expect("vivado");
    let t = v.targets;
    assert_eq!([t.lut, t.ff, t.dsp, t.bram18], [1526.0, 2428.0, 66.0, 0.0]);
    assert!(t.latency_cycles.is_nan() && t.ii.is_nan());
    assert_eq!(v.part.as_deref(), Some("xc7z020clg400-1"));
}

#[test]
fn ingested_records_load_back_and_a_damaged_line_is_reported() {
    let dir = std::env::temp_dir().join(format!("zest-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = dir.join("runs.jsonl");
    let _ = std::fs::remove_file(&out);
    let net = format!(
        "{}/../tests/fixtures/jet_tagger.json",
        env!("CARGO_MANIFEST_DIR")
    );
    for reports in [
        vec![fixture("myproject_csynth.xml")],
        vec![fixture("vivado_synth.rpt")],
    ] {
        let st = Command::new(env!("CARGO_BIN_EXE_zest"))
            .arg("ingest")
            .args(&reports)
            .args(["--network", &net, "--reuse-factor", "2", "--out"])
            .arg(&out)
            .output()
            .expect("run zest");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
    // Not a report: a clear error, nothing appended.
    let bad = Command::new(env!("CARGO_BIN_EXE_zest"))
        .args(["ingest", &net, "--network", &net, "--out"])
        .arg(&out)
        .output()
        .expect("run zest");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a csynth.xml"));
    // Damage: a truncated line between good ones.
    let mut text = std::fs::read_to_string(&out).expect("records");
    assert_eq!(text.lines().count(), 2);
    let first = text.lines().next().unwrap_or_default().to_string();
    text.push_str(&first[..first.len() / 2]);
    text.push('\n');
    text.push_str(&first);
    text.push('\n');
    std::fs::write(&out, text).expect("write");

    let mut report = zest::data::LoadReport::default();
    zest::data::ingested::load(&out, &mut report);
    assert_eq!(report.designs.len(), 3);
    assert_eq!(report.malformed.len(), 1);
    assert_eq!(report.malformed[0].position, "line 3");
    let d = &report.designs[0];
    assert_eq!(d.targets.lut, 2532.0);
    assert_eq!(d.part, "xc7z020clg400-1");
    assert_eq!(d.clock_ns, 5.0);
    assert!(d.layers.iter().any(|l| l.reuse_factor == 2));
    // The Vivado-only record keeps latency and II unknown, not zero.
    let v = &report.designs[1];
    assert_eq!(v.targets.lut, 1526.0);
    assert!(v.targets.latency_cycles.is_nan());
    let _ = std::fs::remove_dir_all(&dir);
}

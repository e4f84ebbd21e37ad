//! Sweeps answered by the firmware under QEMU: one request carrying the
//! jet tagger (16-64-32-32-5, eight hls4ml layers) and a grid of 512 configurations, expanded,
//! tokenized and estimated on the board, reduced to the feasible Pareto
//! set; equal to the host's fixed-point sweep point for point, over UDP
//! and UART, and cheaper on the link than one `Estimate` per design.

use std::time::Duration;

use zest_board::client::BoardClient;
use zest_board::estimate::{estimate_on_board, Tokens};
use zest_board::BoardError;
use zest_e2e::{boot_and_connect, patience, run_zest};
use zest_features::sweep::{
    layer_facts, Grid, SweepLayer, IO_PARALLEL, IO_STREAM, LATENCY, RESOURCE,
};
use zest_features::{Act, Family, Kind, N_TARGETS, TOKEN_LEN};
use zest_fixed::model::FixedModel;
use zest_fixed::sweep::{quantize_token, quantize_tokens, sweep, Point, MAX_FRONT};
use zest_proto::{Refusal, SweepRequest};

const SHIPPED: &[u8] = include_bytes!("../../host/models/default.zfx");
const JET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jet_tagger.json");

/// The jet tagger as `zest sweep` reads tests/fixtures/jet_tagger.json:
/// as hls4ml converts it, each Dense followed by its activation layer.
fn jet_layers() -> Vec<SweepLayer> {
    let dense = |n_in: u32, n_out: u32| SweepLayer {
        kind: Kind::Dense,
        act: Act::Linear,
        n_in,
        n_out,
        n_mult: u64::from(n_in * n_out),
        n_zero_weights: 0,
        n_weights: u64::from(n_in * n_out),
        positions: 1,
        kernel: 0,
        rf_shape: (n_in, n_out),
    };
    let act = |n: u32, act: Act| SweepLayer {
        kind: Kind::Activation,
        act,
        n_in: n,
        n_out: n,
        n_mult: 0,
        n_zero_weights: 0,
        n_weights: 0,
        positions: 1,
        kernel: 0,
        rf_shape: (0, 0),
    };
    vec![
        dense(16, 64),
        act(64, Act::Relu),
        dense(64, 32),
        act(32, Act::Relu),
        dense(32, 32),
        act(32, Act::Relu),
        dense(32, 5),
        act(5, Act::Softmax),
    ]
}

/// `zest sweep`'s default grid: 8 widths × 16 reuse factors × 2 × 2.
fn grid() -> Grid {
    Grid {
        widths: [8, 10, 12, 14, 16, 18, 20, 24],
        n_widths: 8,
        reuse_factors: [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 32, 40, 64, 80, 128],
        n_reuse: 16,
        strategies: LATENCY | RESOURCE,
        io: IO_PARALLEL | IO_STREAM,
        family: Family::Series7,
        clock_ns: 5.0,
        fabric_mult: false,
        tool: zest_features::Tool::VitisHls,
    }
}

/// xc7z020 at 80 %.
fn limits() -> [f64; N_TARGETS] {
    [
        42_560.0,
        85_120.0,
        176.0,
        224.0,
        f64::INFINITY,
        f64::INFINITY,
    ]
}

fn request<'a>(model_id: u64, grid: Grid, layers: &'a [u8], n: u8) -> SweepRequest<'a> {
    SweepRequest {
        model_id,
        grid,
        limits: limits(),
        n_layers: n,
        layers,
    }
}

fn encode(layers: &[SweepLayer]) -> Vec<u8> {
    layers
        .iter()
        .flat_map(|l| postcard::to_allocvec(l).expect("encode"))
        .collect()
}

fn host_sweep(layers: &[SweepLayer]) -> (zest_fixed::sweep::Outcome, Vec<(u32, [f64; N_TARGETS])>) {
    let model = FixedModel::parse(SHIPPED).expect("model");
    let mut front = vec![
        Point {
            index: 0,
            targets: [0.0; N_TARGETS]
        };
        MAX_FRONT
    ];
    let mut tokens = vec![[0i64; TOKEN_LEN]; layers.len()];
    let out = sweep(
        &model.total,
        layers,
        &grid(),
        &limits(),
        &mut front,
        |_, facts| {
            quantize_tokens(&model.input, facts, &mut tokens);
            model.estimate(tokens.iter().map(|x| &x[..])).ok()
        },
    )
    .expect("host sweep");
    let points = front[..out.front as usize]
        .iter()
        .map(|p| (p.index, p.targets))
        .collect();
    (out, points)
}

fn json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = run_zest(args);
    assert!(ok, "zest {args:?}: {err}");
    serde_json::from_str(&out).expect("JSON")
}

#[test]
fn board_sweep_equals_the_host_sweep_and_costs_fewer_bytes_than_estimates() {
    let (qemu, mut uart) = boot_and_connect("sweep");
    let mut udp = BoardClient::connect(qemu.udp_port(), patience()).expect("UDP");
    udp.identify().expect("identify over UDP");
    let model_id = FixedModel::id_of(SHIPPED).expect("id");
    let layers = jet_layers();
    let bytes = encode(&layers);
    let (want, want_points) = host_sweep(&layers);
    assert_eq!(want.evaluated, 512);
    assert!(want.front > 10 && !want.overflow, "{want:?}");

    // Over UDP and over the UART: the same set as the host, point for point.
    for (link, client) in [("UDP", &mut udp), ("UART", &mut uart)] {
        let got = client
            .sweep(
                &request(model_id, grid(), &bytes, 8),
                Duration::from_secs(120),
            )
            .expect("board sweep");
        assert_eq!(got.points, want_points, "{link}");
        assert_eq!(
            (got.evaluated, got.infeasible, got.overflow),
            (want.evaluated, want.infeasible, want.overflow),
            "{link}"
        );
        eprintln!(
            "{link}: sweep of 512 configurations: {} Pareto points, {} bytes sent, {} received, {:.3} s on the board",
            got.points.len(),
            got.bytes.0,
            got.bytes.1,
            f64::from(got.ticks) / 1e6
        );
    }

    // The CLI reads the fixture into the same layers: host and board
    // sweeps of the file equal the set above.
    // (The grid above is for Vitis HLS; the fixture names no tool.)
    let host = json(&["sweep", JET, "--tool", "vitis", "--json"]);
    let port = qemu.udp_port().to_string();
    let board = json(&["sweep", JET, "--tool", "vitis", "--board", &port, "--json"]);
    assert_eq!(host["pareto"], board["pareto"]);
    assert_eq!(host["evaluated"], 512);
    assert_eq!(host["infeasible"], want.infeasible);
    let indices: Vec<u64> = board["pareto"]
        .as_array()
        .expect("pareto")
        .iter()
        .map(|p| p["config"]["index"].as_u64().expect("index"))
        .collect();
    let want_indices: Vec<u64> = want_points.iter().map(|p| u64::from(p.0)).collect();
    assert_eq!(indices, want_indices);

    // The same grid one Estimate per design: every configuration's tokens,
    // built the way the board builds them.
    let model = FixedModel::parse(SHIPPED).expect("model");
    let g = grid();
    let designs: Vec<Tokens> = (0..g.len())
        .map(|i| {
            let c = g.config(i).expect("config");
            layers
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let mut t = [0i64; TOKEN_LEN];
                    quantize_token(
                        &model.input,
                        &layer_facts(l, k, layers.len(), &c, &g),
                        &mut t,
                    );
                    t.to_vec()
                })
                .collect()
        })
        .collect();
    let (tx0, rx0) = (udp.bytes_sent, udp.bytes_received);
    let per_design =
        estimate_on_board(&mut udp, &model, model_id, &designs, |_| {}).expect("estimates");
    assert_eq!(per_design.totals.len(), 512);
    let estimate_bytes = (udp.bytes_sent - tx0) + (udp.bytes_received - rx0);
    let sweep = udp
        .sweep(
            &request(model_id, grid(), &bytes, 8),
            Duration::from_secs(120),
        )
        .expect("sweep");
    let sweep_bytes = sweep.bytes.0 + sweep.bytes.1;
    eprintln!(
        "link bytes for 512 configurations: Sweep {sweep_bytes}, Estimate per design {estimate_bytes} ({:.1}x)",
        estimate_bytes as f64 / sweep_bytes as f64
    );
    assert!(
        sweep_bytes * 4 < estimate_bytes,
        "{sweep_bytes} vs {estimate_bytes}"
    );
}

#[test]
fn malformed_sweeps_are_refused_and_the_board_keeps_serving() {
    let (_qemu, mut board) = boot_and_connect("sweep-refusals");
    let model_id = FixedModel::id_of(SHIPPED).expect("id");
    let layers = jet_layers();
    let bytes = encode(&layers);
    let wait = Duration::from_secs(30);
    let refused = |r: Result<zest_board::client::BoardSweep, BoardError>| match r {
        Err(BoardError::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let mut bad_grid = grid();
    bad_grid.n_widths = 0;
    assert_eq!(
        refused(board.sweep(&request(model_id, bad_grid, &bytes, 8), wait)),
        Refusal::BadSweep
    );
    let mut bad_grid = grid();
    bad_grid.io = 4;
    assert_eq!(
        refused(board.sweep(&request(model_id, bad_grid, &bytes, 8), wait)),
        Refusal::BadSweep
    );
    assert_eq!(
        refused(board.sweep(&request(model_id, grid(), &bytes, 7), wait)),
        Refusal::BadSweep,
        "layer count and bytes disagree"
    );
    assert_eq!(
        refused(board.sweep(&request(model_id, grid(), &[0xFF; 40], 2), wait)),
        Refusal::BadSweep,
        "layers that do not decode"
    );
    assert_eq!(
        refused(board.sweep(&request(model_id ^ 1, grid(), &bytes, 8), wait)),
        Refusal::ModelMismatch { board: model_id }
    );
    // A small valid sweep afterwards is answered.
    let mut small = grid();
    small.n_widths = 1;
    small.n_reuse = 2;
    let ok = board
        .sweep(&request(model_id, small, &bytes, 8), wait)
        .expect("valid sweep after refusals");
    assert_eq!(ok.evaluated, 8);
    assert!(board.identify().is_ok());
}

#[test]
fn every_data_architecture_sweeps_alike_on_the_board_and_the_host() {
    let qemu = zest_e2e::boot("sweep-data");
    // The UART's first client starts the CPU; the check runs over UDP.
    let uart = qemu.port().to_string();
    let (ok, _, err) = run_zest(&["board", "info", "--port", &uart]);
    assert!(ok, "{err}");
    let port = qemu.udp_port().to_string();
    let data = std::env::var_os("ZEST_DATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        std::path::PathBuf::from,
    );
    let data = data.to_string_lossy().into_owned();
    let v = json(&[
        "board",
        "sweep-check",
        "--port",
        &port,
        "--data",
        &data,
        "--json",
    ]);
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    assert_eq!(v["mismatches"], serde_json::json!([]), "{v}");
    assert!(n("architectures") >= 500, "{v}");
    assert_eq!(n("grid_points"), 16);
    assert_eq!(n("configurations"), n("architectures") * 16);
}

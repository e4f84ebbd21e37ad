//! Estimates served by the firmware under QEMU (its soft model: QEMU has no
//! PL), compared bit for bit with the host's fixed-point model; the model
//! replaced over the wire; every malformed request refused with its reason
//! while the board keeps serving.

use std::process::Command;

use zest_board::estimate::{estimate_locally, estimate_on_board, tokens_per_request, Tokens};
use zest_board::BoardError;
use zest_e2e::{boot_and_connect, zest_bin};
use zest_fixed::model::FixedModel;
use zest_proto::{
    EstimateRequest, ModelFault, ModelSource, Refusal, Request, MAX_CHUNK_LEN,
    MAX_DESIGNS_PER_REQUEST,
};

const SHIPPED: &[u8] = include_bytes!("../../host/models/default.zfx");

fn data_root() -> std::path::PathBuf {
    let p = std::env::var_os("ZEST_DATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        std::path::PathBuf::from,
    );
    assert!(
        p.is_dir(),
        "synthesis records not found at {} (set ZEST_DATA)",
        p.display()
    );
    p
}

fn model() -> (FixedModel<'static>, u64) {
    let m = FixedModel::parse(SHIPPED).expect("shipped model parses");
    (m, FixedModel::id_of(SHIPPED).expect("id"))
}

/// Runs the `zest` binary, expects success, returns its JSON.
fn zest_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(zest_bin())
        .args(args)
        .env("ZEST_DATA", data_root())
        .output()
        .expect("run zest");
    assert!(
        out.status.success(),
        "zest {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn board_matches_the_host_fixed_point_model_on_every_data_design() {
    // Every design of the data, tokenized by the CLI, through the board
    // (QEMU's TCP UART serves one connection: the CLI's), each answer
    // compared with the host's fixed-point model.
    let qemu = zest_e2e::boot("estimates-data");
    let port = qemu.port().to_string();
    let v = zest_json(&[
        "board",
        "bench",
        "--port",
        &port,
        "--designs",
        "1000",
        "--json",
    ]);
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    assert_eq!(n("mismatches"), 0, "{v}");
    assert!(n("from_data") >= 1_000, "{v}");
    assert!(n("realistic") >= 30, "{v}");
    assert!(n("designs") >= n("from_data"), "{v}");
    assert_eq!(v["engine"], "Soft", "QEMU has no PL: {v}");
}

#[test]
fn board_matches_the_host_fixed_point_model_on_edge_designs() {
    // Extreme tokens, designs longer than a request (their running totals
    // carried from request to request by the host) and random ones.
    let (model, id) = model();
    let n = usize::from(model.token_len);
    let (lo, hi) = (model.input.min_raw(), model.input.max_raw());
    let per_req = tokens_per_request(&model);
    let mut rng = fastrand::Rng::with_seed(3);
    let mut random = |len: usize| -> Tokens {
        (0..len)
            .map(|_| (0..n).map(|_| rng.i64(lo..=hi)).collect())
            .collect()
    };
    let mut designs: Vec<Tokens> = vec![vec![vec![hi; n]], vec![vec![lo; n]]];
    designs.push(
        (0..per_req * 2 + 3)
            .map(|k| vec![if k % 2 == 0 { hi } else { 0 }; n])
            .collect(),
    );
    for k in 0..40 {
        designs.push(random(per_req + 5 + k));
    }
    for k in 0..200 {
        designs.push(random(1 + k % 6));
    }

    let (_qemu, mut board) = boot_and_connect("estimates-edge");
    let run = estimate_on_board(&mut board, &model, id, &designs, |_| {}).expect("board estimates");
    let local = estimate_locally(&model, &designs);
    let bad: Vec<usize> = (0..designs.len())
        .filter(|i| run.totals[*i] != local[*i])
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} designs differ, first: {:?}",
        bad.len(),
        designs.len(),
        bad.first().map(|i| (run.totals[*i], local[*i]))
    );
    assert_eq!(run.engine, zest_proto::Engine::Soft, "QEMU has no PL");
    assert!(run.ticks > 0);
    assert!(run.requests > designs.len() / MAX_DESIGNS_PER_REQUEST);
    // The saturating extremes are really saturated, not wrapped.
    assert!(local
        .iter()
        .all(|t| t.iter().all(|v| *v <= model.total.max_raw() as u64)));
}

#[test]
fn estimate_cli_on_the_board_prints_the_host_fixed_point_figures() {
    let qemu = zest_e2e::boot("estimate-cli");
    let jet = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jet_tagger.json");
    let port = qemu.port().to_string();
    let board = zest_json(&["estimate", jet, "--board", &port, "--json"]);
    assert!(
        board["model"]
            .as_str()
            .expect("model")
            .contains("soft model"),
        "{board}"
    );
    // The same design through the host's copy of the fixed-point model.
    let host = zest_json(&["estimate", jet, "--fixed-point", "--json"]);
    assert!(
        host["model"]
            .as_str()
            .expect("model")
            .contains("host fixed-point"),
        "{host}"
    );
    for k in ["targets", "utilisation", "layers", "config", "design"] {
        assert_eq!(board[k], host[k], "{k}");
    }
    let layers = board["layers"].as_array().expect("layers");
    assert!(!layers.is_empty());
    // The float surrogate describes the same layers.
    let float = zest_json(&["estimate", jet, "--json"]);
    assert_eq!(float["layers"].as_array().map(Vec::len), Some(layers.len()));
}

#[test]
fn optimize_with_the_board_in_the_loop_matches_the_host_fixed_point_model() {
    // zest optimize asks the board after every step; the host's copy of
    // the fixed-point model must give the same costs, so the same run.
    let qemu = zest_e2e::boot("optimize-board");
    let port = qemu.port().to_string();
    let digits = data_root().join("datasets/digits.csv.gz");
    let digits = digits.to_str().expect("utf-8 path");
    let args = [
        "optimize", "--data", digits, "--hidden", "16", "--flow", "pq", "--json",
    ];
    let mut on_board = args.to_vec();
    on_board.extend(["--board", &port]);
    let board = zest_json(&on_board);
    let mut on_host = args.to_vec();
    on_host.extend(["--estimator", "fixed"]);
    let host = zest_json(&on_host);
    assert!(
        board["report"]["estimator"]
            .as_str()
            .is_some_and(|e| e.starts_with("board ")),
        "{}",
        board["report"]["estimator"]
    );
    let (b, h) = (&board["report"]["rows"], &host["report"]["rows"]);
    assert_eq!(b.as_array().map(Vec::len), Some(3), "baseline, p, pq");
    for k in 0..3 {
        for f in ["estimate", "utilisation", "fits", "precisions", "widths"] {
            assert_eq!(b[k][f], h[k][f], "row {k}, {f}");
        }
    }
    assert!(board["timing"]["estimates"].as_u64() >= Some(3));
}

fn refused(r: zest_board::Result<impl std::fmt::Debug>) -> Refusal {
    match r {
        Err(BoardError::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn model_replacement_and_refusals_leave_the_board_serving() {
    let (model, id) = model();
    let (_qemu, mut board) = boot_and_connect("model-upload");
    let n = usize::from(model.token_len);
    let sb = zest_fixed::model::elem_bytes(&model.input);
    let token: Vec<u8> = (0..n)
        .flat_map(|k| ((k as i64) % 7).to_le_bytes()[..sb].to_vec())
        .collect();
    let good = EstimateRequest {
        model_id: id,
        slot_bytes: sb as u8,
        carry: None,
        open: false,
        layers: &[1],
        tokens: &token,
    };
    let expect = board.estimate(&good).expect("estimate").totals;

    // Upload the shipped model: it becomes the active (uploaded) one.
    let s = board.upload_model(SHIPPED, |_| {}).expect("upload");
    assert_eq!((s.active_id, s.source), (id, ModelSource::Uploaded));
    assert_eq!(board.estimate(&good).expect("estimate").totals, expect);

    // A damaged upload is refused and changes nothing but the upload state.
    let mut bad = SHIPPED.to_vec();
    bad[200] ^= 0x01;
    let r = refused(board.upload_model(&bad, |_| {}));
    assert_eq!(r, Refusal::ModelInvalid(ModelFault::Hash));
    // Announced one id, sent another model.
    board
        .model_raw(&Request::ModelBegin {
            id: id ^ 1,
            len: SHIPPED.len() as u32,
        })
        .expect("begin");
    for (k, c) in SHIPPED.chunks(MAX_CHUNK_LEN).enumerate() {
        board
            .model_raw(&Request::ModelChunk {
                offset: (k * MAX_CHUNK_LEN) as u32,
                data: c,
            })
            .expect("chunk");
    }
    assert_eq!(
        refused(board.model_raw(&Request::ModelCommit { id: id ^ 1 })),
        Refusal::ModelInvalid(ModelFault::IdMismatch)
    );
    // Incomplete, out of range, too large, nothing announced.
    board
        .model_raw(&Request::ModelBegin {
            id,
            len: SHIPPED.len() as u32,
        })
        .expect("begin");
    assert_eq!(
        refused(board.model_raw(&Request::ModelCommit { id })),
        Refusal::Incomplete
    );
    assert_eq!(
        refused(board.model_raw(&Request::ModelChunk {
            offset: 1,
            data: &SHIPPED[..10]
        })),
        Refusal::ChunkOutOfRange
    );
    assert_eq!(
        refused(board.model_raw(&Request::ModelBegin { id, len: u32::MAX })),
        Refusal::ModelTooLarge
    );
    let s = board.reset_model().expect("reset");
    assert_eq!(
        (s.active_id, s.source, s.received),
        (id, ModelSource::Embedded, 0)
    );
    assert_eq!(
        refused(board.model_raw(&Request::ModelCommit { id })),
        Refusal::NotReceiving
    );
    // Not a model at all.
    let junk = [0x5Au8; 100];
    board
        .model_raw(&Request::ModelBegin { id, len: 100 })
        .expect("begin");
    board
        .model_raw(&Request::ModelChunk {
            offset: 0,
            data: &junk,
        })
        .expect("chunk");
    assert_eq!(
        refused(board.model_raw(&Request::ModelCommit { id })),
        Refusal::ModelInvalid(ModelFault::Magic)
    );

    // Estimate requests that do not fit the model.
    let wrong_model = EstimateRequest {
        model_id: id ^ 0xFF,
        ..good
    };
    assert_eq!(
        refused(board.estimate(&wrong_model)),
        Refusal::ModelMismatch { board: id }
    );
    let short = EstimateRequest {
        tokens: &token[..token.len() - 2],
        ..good
    };
    assert_eq!(refused(board.estimate(&short)), Refusal::BadTokens);
    let wide = EstimateRequest {
        slot_bytes: if sb == 4 { 2 } else { 4 },
        ..good
    };
    assert_eq!(refused(board.estimate(&wide)), Refusal::BadTokens);
    let zero_layers = EstimateRequest {
        layers: &[0],
        tokens: &[],
        ..good
    };
    assert_eq!(refused(board.estimate(&zero_layers)), Refusal::BadTokens);
    // A slot beyond the input type (possible when the type is narrower than
    // its storage; zest-fixed's unit tests cover the check itself).
    if u32::from(model.input.width) < 8 * sb as u32 {
        let mut out_of_range = token.clone();
        let v = model.input.max_raw() + 1;
        out_of_range[..sb].copy_from_slice(&v.to_le_bytes()[..sb]);
        let oor = EstimateRequest {
            tokens: &out_of_range,
            ..good
        };
        assert_eq!(refused(board.estimate(&oor)), Refusal::BadTokens);
    }
    let carry = EstimateRequest {
        carry: Some([u64::MAX; 6]),
        ..good
    };
    assert_eq!(refused(board.estimate(&carry)), Refusal::BadTokens);
    // More designs than a reply can hold (counted before any token).
    let many_layers = vec![1u8; MAX_DESIGNS_PER_REQUEST + 1];
    let many = EstimateRequest {
        layers: &many_layers,
        tokens: &[],
        ..good
    };
    assert_eq!(refused(board.estimate(&many)), Refusal::TooManyDesigns);
    // Tokens for more than a frame: the host refuses to send it.
    let big: Vec<u8> = token
        .iter()
        .copied()
        .cycle()
        .take(token.len() * 30)
        .collect();
    let too_big = EstimateRequest {
        layers: &[30],
        tokens: &big,
        ..good
    };
    assert!(matches!(
        board.estimate(&too_big),
        Err(BoardError::TooLarge(_))
    ));

    // Still serving, same answer.
    assert_eq!(board.estimate(&good).expect("estimate").totals, expect);
    let s = board.stats().expect("stats");
    assert_eq!(
        s.rejected.total(),
        0,
        "refusals are answers, not rejected frames"
    );
}

/// `zest explore`'s arguments for a small run (breast cancer, 30-16-8-2,
/// random search) into `out`.
fn explore_args(out: &std::path::Path, evaluations: &str) -> Vec<String> {
    let data = data_root().join("datasets/breast_cancer.csv");
    [
        "explore",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--hidden",
        "16,8",
        "--flow",
        "pq",
        "--search",
        "random",
        "--evaluations",
        evaluations,
        "--seed",
        "2",
        "--epochs",
        "40",
        "--reuse-factors",
        "1,4",
        "--no-plot",
        "--json",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The designs of every evaluation in a run's log (no timings).
fn explored_designs(run: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .filter(|r| r["record"] == "eval")
        .map(|r| serde_json::json!([r["point"], r["candidates"]]))
        .collect()
}

#[test]
fn explore_with_the_board_in_the_loop_gives_the_host_fixed_point_pareto_set_and_survives_a_dead_board(
) {
    let dir = std::env::temp_dir().join(format!("zest-explore-board-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (host_run, board_run) = (dir.join("host"), dir.join("board"));
    let mut args = explore_args(&host_run, "3");
    args.extend(["--estimator".to_string(), "fixed".to_string()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let host = zest_json(&a);

    // The board answers the first evaluations, then stops answering.
    let qemu = zest_e2e::boot("explore-board");
    let port = qemu.port().to_string();
    let mut args = explore_args(&board_run, "3");
    args.extend(["--board".to_string(), port]);
    let child = Command::new(zest_bin())
        .args(&args)
        .env("ZEST_DATA", data_root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run zest");
    let log = board_run.join("log.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::fs::read_to_string(&log).map_or(0, |t| t.matches("\"record\":\"eval\"").count()) < 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no evaluation finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(qemu);
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run went on without its board");
    assert!(err.contains("--resume"), "{err}");

    // A new board; the run continues from its log.
    let qemu = zest_e2e::boot("explore-board-2");
    let port = qemu.port().to_string();
    let board = zest_json(&[
        "explore",
        "--resume",
        board_run.to_str().expect("utf-8 path"),
        "--board",
        &port,
        "--json",
        "--no-plot",
    ]);
    assert_eq!(board["evaluations"], 3);
    assert_eq!(board["pareto"], host["pareto"]);
    assert_eq!(board["hypervolume"], host["hypervolume"]);
    assert_eq!(explored_designs(&board_run), explored_designs(&host_run));
    let _ = std::fs::remove_dir_all(&dir);
}

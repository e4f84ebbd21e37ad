//! 10,000 seeded garbage frames against the firmware under QEMU: each is
//! answered with the typed reason the protocol crate's own decoder predicts,
//! the board's counters agree, and a valid request afterwards is served.

use std::time::{Duration, Instant};

use zest_board::client::{BoardClient, Reply};
use zest_e2e::boot_and_connect;
use zest_e2e::garbage::{garbage, predict, Expected};
use zest_proto::{RejectCounts, RejectReason};

const SEED: u64 = 0x7E57_2E57;
const FRAMES: usize = 10_000;

fn next_rejection(board: &mut BoardClient, i: usize) -> Expected {
    // Generous: a 64 KiB frame crosses QEMU's emulated UART at tens of
    // kB/s when other QEMUs share the two cores.
    let deadline = Instant::now() + Duration::from_secs(30);
    match board.receive(deadline).expect("link") {
        Some(Ok((seq, Reply::Rejected(reason)))) => (seq, reason),
        other => panic!("frame {i} (seed {SEED:#x}): expected a rejection, got {other:?}"),
    }
}

#[test]
fn ten_thousand_garbage_frames_then_a_valid_request() {
    let (qemu, mut board) = boot_and_connect("garbage");
    let before = board.stats().expect("stats before");
    assert_eq!(before.rejected, RejectCounts::default());

    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut expected_counts = RejectCounts::default();
    for i in 0..FRAMES {
        let (wire, expected) = garbage(&mut rng, i);
        board.send_raw(&wire).expect("send");
        for want in expected {
            let got = next_rejection(&mut board, i);
            assert_eq!(
                got,
                want,
                "frame {i} (seed {SEED:#x}) of {} bytes",
                wire.len()
            );
            expected_counts.record(want.1);
        }
    }

    // A raw burst of random bytes, zeros included: many frames at once.
    let burst: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
    let mut burst_wire = burst.clone();
    burst_wire.push(0);
    let burst_expected = predict(&burst_wire);
    board.send_raw(&burst_wire).expect("send burst");
    for (k, want) in burst_expected.iter().enumerate() {
        assert_eq!(
            next_rejection(&mut board, FRAMES + k),
            *want,
            "burst frame {k}"
        );
        expected_counts.record(want.1);
    }

    // Every reason was exercised, and the board counted exactly what we saw.
    for r in RejectReason::ALL {
        if r != RejectReason::Busy {
            assert!(expected_counts.get(r) > 0, "{} never exercised", r.name());
        }
    }
    let after = board
        .stats()
        .expect("a valid request after the garbage is answered");
    assert_eq!(after.rejected, expected_counts);
    assert_eq!(
        after.frames_served,
        before.frames_served + 1,
        "garbage served nothing"
    );
    let id = board.identify().expect("identify after garbage");
    assert_eq!(id.board, "qemu-zynq7000");
    eprintln!(
        "rejected {} frames: {:?}; stale/damaged replies discarded: {}",
        expected_counts.total(),
        expected_counts,
        board.discarded
    );
    zest_e2e::assert_never_reset(&qemu);
}

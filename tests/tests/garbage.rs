//! 10,000 seeded garbage frames against the firmware under QEMU: each is
//! answered with the typed reason the protocol crate's own decoder predicts,
//! the board's counters agree, and a valid request afterwards is served.

use std::time::{Duration, Instant};

use zest_board::client::{BoardClient, Reply};
use zest_e2e::boot_and_connect;
use zest_proto::{
    encode_frame, encode_frame_with_version, Feed, FrameDecoder, RejectCounts, RejectReason,
    Request, ENCODED_BUF_LEN, PROTOCOL_VERSION,
};

const SEED: u64 = 0x7E57_2E57;
const FRAMES: usize = 10_000;
const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// What the board should answer to one frame: (seq, reason).
type Expected = (u16, RejectReason);

/// The protocol crate's own verdict on `wire` (one or more frames).
fn predict(wire: &[u8]) -> Vec<Expected> {
    let mut dec = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut out = Vec::new();
    let mut window = wire;
    while let Feed::Frame { result, rest } = dec.feed(window) {
        match result.and_then(|f| f.decode::<Request>().map(|_| f.seq)) {
            Ok(seq) => panic!("garbage formed a valid request (seq {seq}); change SEED"),
            Err(e) => out.push((e.seq.unwrap_or(0), e.error.reason())),
        }
        window = rest;
    }
    out
}

fn valid_frame<T: serde::Serialize>(seq: u16, req: &T) -> Vec<u8> {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(seq, req, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A well-formed frame whose CRC is off by one bit.
fn bad_crc_frame(seq: u16) -> Vec<u8> {
    let mut raw = vec![PROTOCOL_VERSION];
    raw.extend(seq.to_le_bytes());
    raw.extend(
        postcard::to_slice(&Request::Stats, &mut [0u8; 8])
            .unwrap()
            .iter(),
    );
    let crc = CRC32C.checksum(&raw) ^ 1;
    raw.extend(crc.to_le_bytes());
    let mut wire = vec![0u8; cobs::max_encoding_length(raw.len()) + 1];
    let n = cobs::encode(&raw, &mut wire);
    wire[n] = 0;
    wire.truncate(n + 1);
    wire
}

/// Frame `i` of the run and the reply it must get.
fn garbage(rng: &mut fastrand::Rng, i: usize) -> (Vec<u8>, Vec<Expected>) {
    let seq = 1000 + (i as u16 % 30_000);
    let (wire, expected) = match i % 50 {
        // A 64 KiB frame.
        0 if i.is_multiple_of(1000) => {
            let mut w = vec![0x55u8; 64 * 1024];
            w.push(0);
            (w, vec![(0, RejectReason::FrameTooLong)])
        }
        // A truncated valid frame.
        1 => {
            let data: Vec<u8> = (0..rng.usize(8..200)).map(|_| rng.u8(..)).collect();
            let full = valid_frame(seq, &Request::Echo(&data));
            let mut w = full[..rng.usize(1..full.len() - 1)].to_vec();
            w.push(0);
            let e = predict(&w);
            (w, e)
        }
        2 => (bad_crc_frame(seq), vec![(0, RejectReason::BadCrc)]),
        3 => {
            let mut w = vec![0u8; ENCODED_BUF_LEN];
            let n = encode_frame_with_version(
                PROTOCOL_VERSION + 1 + rng.u8(..200),
                seq,
                &Request::Identify,
                &mut w,
            )
            .unwrap();
            w.truncate(n);
            (w, vec![(seq, RejectReason::UnsupportedVersion)])
        }
        // Intact frame, not a request: unknown variant, or trailing bytes.
        4 => (
            valid_frame(seq, &(200u8, 1u8)),
            vec![(seq, RejectReason::Undecodable)],
        ),
        5 => (
            valid_frame(seq, &(2u8, 7u8)),
            vec![(seq, RejectReason::Undecodable)],
        ),
        // Seeded random bytes without a delimiter, then one.
        _ => {
            let mut w: Vec<u8> = (0..rng.usize(1..160)).map(|_| rng.u8(1..)).collect();
            w.push(0);
            let e = predict(&w);
            (w, e)
        }
    };
    assert_eq!(
        predict(&wire),
        expected,
        "frame {i}: the crate's own decoder disagrees"
    );
    (wire, expected)
}

fn next_rejection(board: &mut BoardClient, i: usize) -> Expected {
    let deadline = Instant::now() + Duration::from_secs(5);
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
    let log = qemu.log();
    assert!(
        !log.contains("PANIC") && !log.contains("FATAL"),
        "firmware log: {log}"
    );
    assert_eq!(
        log.matches("zest firmware").count(),
        1,
        "the firmware reset: {log}"
    );
}

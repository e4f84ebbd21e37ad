//! Writes the fuzz seed corpus: one valid frame of each message kind, a
//! wrong-version frame, a truncated frame and an over-long one, each
//! preceded by the chunk-size byte the fuzz target reads first.
//!
//! `cargo run -p zest-proto --example fuzz_seeds` (from the repository root)
//! regenerates `proto/fuzz/corpus/decode/seed-*`.

use std::path::Path;

use zest_proto::{
    encode_frame, encode_frame_with_version, Identity, RejectCounts, RejectReason, Request,
    Response, Stats, ENCODED_BUF_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

fn frame<T: serde::Serialize>(seq: u16, msg: &T) -> Vec<u8> {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(seq, msg, &mut buf).expect("seed fits a frame");
    buf.truncate(n);
    buf
}

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
    std::fs::create_dir_all(&dir)?;
    let echo: Vec<u8> = (0..=255).collect();
    let mut wrong_version = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame_with_version(
        PROTOCOL_VERSION + 1,
        5,
        &Request::Identify,
        &mut wrong_version,
    )
    .expect("fits");
    wrong_version.truncate(n);
    let echo_frame = frame(4, &Request::Echo(&echo));
    let mut truncated = echo_frame[..echo_frame.len() / 2].to_vec();
    truncated.push(0);
    let mut too_long = vec![0x41u8; ENCODED_BUF_LEN + 10];
    too_long.push(0);
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("identify", frame(1, &Request::Identify)),
        ("stats", frame(2, &Request::Stats)),
        ("echo", echo_frame.clone()),
        (
            "identity",
            frame(
                3,
                &Response::Identity(Identity {
                    firmware_version: "0.1.0",
                    protocol_version: PROTOCOL_VERSION,
                    board: "qemu-zynq7000",
                    accelerator: Some(1),
                    model_id: Some(0x1234_5678_9abc_def0),
                    max_frame_len: MAX_FRAME_LEN as u32,
                    links: zest_proto::Links {
                        uart: true,
                        udp: Some(zest_proto::UdpEndpoint {
                            addr: [10, 0, 2, 15],
                            prefix_len: 24,
                            port: 7777,
                        }),
                    },
                }),
            ),
        ),
        (
            "stats-reply",
            frame(
                6,
                &Response::Stats(Stats {
                    frames_served: 10,
                    rejected: RejectCounts {
                        bad_crc: 1,
                        ..RejectCounts::default()
                    },
                    uptime_ticks: 123_456,
                    tick_hz: 1_000_000,
                }),
            ),
        ),
        (
            "rejected",
            frame(0, &Response::Rejected(RejectReason::BadCrc)),
        ),
        ("wrong-version", wrong_version),
        ("truncated", truncated),
        ("too-long", too_long),
    ];
    for (name, bytes) in seeds {
        for chunk in [1u8, 64] {
            let mut seed = vec![chunk];
            seed.extend(&bytes);
            std::fs::write(dir.join(format!("seed-{name}-c{chunk}")), seed)?;
        }
    }
    println!("wrote seeds to {}", dir.display());
    Ok(())
}

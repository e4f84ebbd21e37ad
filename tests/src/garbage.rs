//! Seeded garbage for the link tests (UART and UDP): malformed frames of
//! every kind, each with the rejections the protocol crate's own decoder
//! predicts for it.

use zest_proto::{
    encode_frame, encode_frame_with_version, Feed, FrameDecoder, RejectReason, Request,
    ENCODED_BUF_LEN, PROTOCOL_VERSION,
};

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// What the board should answer to one frame: (seq, reason).
pub type Expected = (u16, RejectReason);

/// The protocol crate's own verdict on `wire` (one or more frames).
pub fn predict(wire: &[u8]) -> Vec<Expected> {
    let mut dec = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut out = Vec::new();
    let mut window = wire;
    while let Feed::Frame { result, rest } = dec.feed(window) {
        match result.and_then(|f| f.decode::<Request>().map(|_| f.seq)) {
            Ok(seq) => panic!("garbage formed a valid request (seq {seq}); change the seed"),
            Err(e) => out.push((e.seq.unwrap_or(0), e.error.reason())),
        }
        window = rest;
    }
    out
}

/// `req` as one whole frame on the wire.
pub fn valid_frame<T: serde::Serialize>(seq: u16, req: &T) -> Vec<u8> {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(seq, req, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A well-formed frame whose CRC is off by one bit.
pub fn bad_crc_frame(seq: u16) -> Vec<u8> {
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

/// Frame `i` of a seeded run and the replies it must get. Every 1000th
/// is a 64 KiB frame.
pub fn garbage(rng: &mut fastrand::Rng, i: usize) -> (Vec<u8>, Vec<Expected>) {
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

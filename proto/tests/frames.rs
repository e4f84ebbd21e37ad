//! Property tests of the framing: round trips, and a decoder that survives
//! any byte stream and resynchronises at the next delimiter.

use proptest::prelude::*;
use zest_proto::{
    encode_frame, encode_frame_with_version, DecodeError, Feed, FrameDecoder, FrameError, Identity,
    RejectCounts, RejectReason, Request, Response, Stats, ENCODED_BUF_LEN, MAX_ECHO_LEN,
    MAX_FRAME_LEN, PROTOCOL_VERSION,
};

type Decoder = FrameDecoder<ENCODED_BUF_LEN>;

/// Feeds `wire` and collects every frame as `Ok((seq, body))` or the error.
fn frames(dec: &mut Decoder, wire: &[u8]) -> Vec<Result<(u16, Vec<u8>), FrameError>> {
    let mut out = Vec::new();
    let mut window = wire;
    while let Feed::Frame { result, rest } = dec.feed(window) {
        out.push(result.map(|f| (f.seq, f.body.to_vec())));
        window = rest;
    }
    out
}

fn encode<T: serde::Serialize>(seq: u16, msg: &T) -> Vec<u8> {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(seq, msg, &mut buf).expect("fits");
    buf.truncate(n);
    buf
}

fn reject_reason() -> impl Strategy<Value = RejectReason> {
    prop::sample::select(RejectReason::ALL.to_vec())
}

fn stats() -> impl Strategy<Value = Stats> {
    (any::<u32>(), any::<[u32; 5]>(), any::<u64>(), any::<u32>()).prop_map(|(s, r, u, hz)| Stats {
        frames_served: s,
        rejected: RejectCounts {
            bad_crc: r[0],
            unsupported_version: r[1],
            frame_too_long: r[2],
            undecodable: r[3],
            busy: r[4],
        },
        uptime_ticks: u,
        tick_hz: hz,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(seq: u16, kind in 0u8..3, data in prop::collection::vec(any::<u8>(), 0..=MAX_ECHO_LEN)) {
        let req = match kind {
            0 => Request::Identify,
            1 => Request::Echo(&data),
            _ => Request::Stats,
        };
        let wire = encode(seq, &req);
        prop_assert_eq!(wire.iter().filter(|b| **b == 0).count(), 1, "only the delimiter is 0x00");
        let mut dec = Decoder::new();
        let got = frames(&mut dec, &wire);
        prop_assert_eq!(got.len(), 1);
        let (got_seq, body) = got[0].clone().expect("valid frame");
        prop_assert_eq!(got_seq, seq);
        let frame = zest_proto::RawFrame { seq, body: &body };
        prop_assert_eq!(frame.decode::<Request>().expect("decodes"), req);
    }

    #[test]
    fn responses_round_trip(
        seq: u16,
        kind in 0u8..4,
        data in prop::collection::vec(any::<u8>(), 0..=MAX_ECHO_LEN),
        fw in "[ -~]{0,24}",
        board in "[ -~]{0,24}",
        accel: Option<u16>,
        model: Option<u64>,
        st in stats(),
        reason in reject_reason(),
    ) {
        let resp = match kind {
            0 => Response::Identity(Identity {
                firmware_version: &fw,
                protocol_version: PROTOCOL_VERSION,
                board: &board,
                accelerator: accel,
                model_id: model,
                max_frame_len: MAX_FRAME_LEN as u32,
                links: zest_proto::Links { uart: true, udp: None },
            }),
            1 => Response::Echo(&data),
            2 => Response::Stats(st),
            _ => Response::Rejected(reason),
        };
        let wire = encode(seq, &resp);
        let mut dec = Decoder::new();
        let got = frames(&mut dec, &wire);
        prop_assert_eq!(got.len(), 1);
        let (_, body) = got[0].clone().expect("valid frame");
        let frame = zest_proto::RawFrame { seq, body: &body };
        prop_assert_eq!(frame.decode::<Response>().expect("decodes"), resp);
    }

    /// Any bytes at all, then a delimiter, then a valid frame: no panic, and
    /// the valid frame comes out intact as the last one.
    #[test]
    fn garbage_then_valid_frame_resynchronises(
        garbage in prop::collection::vec(any::<u8>(), 0..6000),
        split in any::<prop::sample::Index>(),
        seq: u16,
    ) {
        let mut wire = garbage.clone();
        wire.push(0);
        wire.extend(encode(seq, &Request::Stats));
        let mut dec = Decoder::new();
        // Feed in two arbitrary chunks, as a UART would deliver them.
        let at = split.index(wire.len() + 1);
        let mut got = frames(&mut dec, &wire[..at]);
        got.extend(frames(&mut dec, &wire[at..]));
        let last = got.pop().expect("at least the valid frame");
        prop_assert_eq!(last, Ok((seq, postcard::to_allocvec(&Request::Stats).unwrap())));
        prop_assert_eq!(dec.pending(), 0);
    }

    /// Any byte stream fed in arbitrary chunks never panics, and never
    /// yields more frames than it has delimiters.
    #[test]
    fn arbitrary_streams_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 0..12)) {
        let mut dec = Decoder::new();
        let mut n = 0usize;
        let mut zeros = 0usize;
        for c in &chunks {
            zeros += c.iter().filter(|b| **b == 0).count();
            n += frames(&mut dec, c).len();
        }
        prop_assert!(n <= zeros);
    }

    /// Flipping one byte of a valid frame's encoding never yields a different
    /// valid frame: it is rejected (or, if it made a 0x00, split into rejects).
    #[test]
    fn corruption_is_detected(data in prop::collection::vec(any::<u8>(), 1..200), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let wire = encode(9, &Request::Echo(&data));
        let mut bad = wire.clone();
        let i = pos.index(wire.len() - 1); // keep the final delimiter
        bad[i] ^= flip;
        let mut dec = Decoder::new();
        let got = frames(&mut dec, &bad);
        prop_assert!(got.iter().all(|f| f.is_err()), "a corrupted frame passed: {got:?}");
    }
}

#[test]
fn too_long_frame_is_rejected_then_next_frame_decodes() {
    let mut wire = vec![0x55u8; 64 * 1024];
    wire.push(0);
    wire.extend(encode(3, &Request::Identify));
    let mut dec = Decoder::new();
    let got = frames(&mut dec, &wire);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Err(FrameError {
            seq: None,
            error: DecodeError::FrameTooLong
        })
    );
    assert!(matches!(got[1], Ok((3, _))));
}

#[test]
fn wrong_version_is_reported_with_its_seq() {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n =
        encode_frame_with_version(PROTOCOL_VERSION + 1, 77, &Request::Identify, &mut buf).unwrap();
    let mut dec = Decoder::new();
    let got = frames(&mut dec, &buf[..n]);
    assert_eq!(
        got,
        vec![Err(FrameError {
            seq: Some(77),
            error: DecodeError::UnsupportedVersion {
                found: PROTOCOL_VERSION + 1
            }
        })]
    );
    assert_eq!(
        got[0].clone().unwrap_err().error.reason(),
        RejectReason::UnsupportedVersion
    );
}

#[test]
fn truncated_frame_is_a_crc_error() {
    let wire = encode(5, &Request::Echo(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    for cut in 1..wire.len() - 1 {
        let mut t = wire[..cut].to_vec();
        t.push(0);
        let mut dec = Decoder::new();
        let got = frames(&mut dec, &t);
        assert_eq!(got.len(), 1, "cut at {cut}");
        let err = got[0].clone().unwrap_err();
        assert!(
            matches!(err.error, DecodeError::BadCrc | DecodeError::Undecodable),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn valid_crc_but_unknown_variant_is_undecodable() {
    // A body that is not a Request: variant index 200.
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(4, &(200u8, 1u8), &mut buf).unwrap();
    let mut dec = Decoder::new();
    let got = frames(&mut dec, &buf[..n]);
    let (seq, body) = got[0].clone().unwrap();
    let frame = zest_proto::RawFrame { seq, body: &body };
    assert_eq!(
        frame.decode::<Request>(),
        Err(FrameError {
            seq: Some(4),
            error: DecodeError::Undecodable
        })
    );
}

#[test]
fn oversize_message_is_refused_by_the_encoder() {
    let data = vec![7u8; MAX_FRAME_LEN];
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    assert_eq!(
        encode_frame(1, &Request::Echo(&data), &mut buf),
        Err(zest_proto::EncodeError::MessageTooLarge)
    );
}

#[test]
fn largest_echo_fits_one_frame() {
    let data = vec![0u8; MAX_ECHO_LEN];
    let wire = encode(1, &Response::Echo(&data));
    assert!(wire.len() <= ENCODED_BUF_LEN);
}

proptest! {
    /// Estimate requests and their replies survive the round trip, however
    /// the designs are cut, and a full batch of replies fits one frame.
    #[test]
    fn estimate_messages_round_trip(
        seq in 1u16..,
        id in any::<u64>(),
        layers in prop::collection::vec(1u8..4, 1..=zest_proto::MAX_DESIGNS_PER_REQUEST),
        carry in prop::option::of(any::<[u64; 6]>()),
        open in any::<bool>(),
        ticks in any::<u32>(),
    ) {
        let tokens: Vec<u8> = (0..layers.len() * 3).map(|k| k as u8).collect();
        let req = Request::Estimate(zest_proto::EstimateRequest {
            model_id: id,
            slot_bytes: 1,
            carry,
            open,
            layers: &layers,
            tokens: &tokens,
        });
        let wire = encode(seq, &req);
        let mut dec = Decoder::new();
        let got = frames(&mut dec, &wire);
        prop_assert_eq!(got.len(), 1);
        let (s, body) = got[0].clone().expect("frame");
        prop_assert_eq!(s, seq);
        let back: Request = postcard::from_bytes(&body).expect("decodes");
        prop_assert_eq!(back, req);

        let totals = vec![0xFFu8; layers.len() * 48];
        let resp = Response::Estimates(zest_proto::Estimates {
            engine: zest_proto::Engine::Soft,
            model_id: id,
            totals: &totals,
            ticks,
        });
        let wire = encode(seq, &resp);
        let got = frames(&mut dec, &wire);
        let (_, body) = got[0].clone().expect("frame");
        let back: Response = postcard::from_bytes(&body).expect("decodes");
        prop_assert_eq!(back, resp);
        let refused = Response::Refused(zest_proto::Refusal::ModelMismatch { board: id });
        let got = frames(&mut dec, &encode(seq, &refused));
        let (_, body) = got[0].clone().expect("frame");
        prop_assert_eq!(postcard::from_bytes::<Response>(&body).expect("decodes"), refused);
    }
}

#[test]
fn sweep_layers_decode_exactly_n_layers() {
    use zest_features::sweep::SweepLayer;
    use zest_features::{Act, Kind};
    let layer = |n_in: u32, n_out: u32| SweepLayer {
        kind: Kind::Dense,
        act: Act::Relu,
        n_in,
        n_out,
        n_mult: u64::from(n_in * n_out),
        n_zero_weights: 3,
        n_weights: u64::from(n_in * n_out),
        positions: 1,
        kernel: 0,
        rf_shape: (n_in, n_out),
    };
    let layers = [layer(16, 64), layer(64, 5)];
    let mut bytes = Vec::new();
    for l in &layers {
        bytes.extend(postcard::to_allocvec(l).unwrap());
    }
    let grid = zest_features::sweep::Grid {
        widths: [16, 0, 0, 0, 0, 0, 0, 0],
        n_widths: 1,
        reuse_factors: [1; 16],
        n_reuse: 1,
        strategies: zest_features::sweep::LATENCY,
        io: zest_features::sweep::IO_PARALLEL,
        family: zest_features::Family::Series7,
        clock_ns: 5.0,
        fabric_mult: false,
        tool: zest_features::Tool::VitisHls,
    };
    fn req<'a>(
        grid: zest_features::sweep::Grid,
        n_layers: u8,
        layers: &'a [u8],
    ) -> zest_proto::SweepRequest<'a> {
        zest_proto::SweepRequest {
            model_id: 1,
            grid,
            limits: [f64::INFINITY; 6],
            n_layers,
            layers,
        }
    }
    let got: Vec<_> = req(grid, 2, &bytes).layers().expect("two layers").collect();
    assert_eq!(got, layers);
    assert!(req(grid, 1, &bytes).layers().is_none(), "trailing bytes");
    assert!(req(grid, 3, &bytes).layers().is_none(), "too few bytes");
    assert!(req(grid, 0, &[]).layers().is_none(), "no layers");
    assert!(
        req(grid, 2, &bytes[..bytes.len() - 1]).layers().is_none(),
        "cut short"
    );
}

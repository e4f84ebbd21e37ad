//! Pinned wire bytes: every message variant, as one whole frame on the
//! wire (COBS, delimiter included), against bytes written down once.
//!
//! Round-trip tests pass however the enums are ordered, because both ends
//! share this crate; a board running older firmware does not. Postcard
//! encodes an enum variant as its index, so reordering variants, or
//! changing a field's type or order, changes these bytes and fails here:
//! such a change needs a new [`PROTOCOL_VERSION`] and new golden bytes
//! (`ZEST_PRINT_GOLDEN=1 cargo test -p zest-proto --test golden -- --nocapture`
//! prints them).

use zest_features::sweep::{Grid, IO_PARALLEL, LATENCY, RESOURCE};
use zest_features::Family;
use zest_proto::{
    encode_frame, Engine, EstimateRequest, Estimates, Identity, Links, ModelFault, ModelSource,
    ModelStatus, Refusal, RejectCounts, RejectReason, Request, Response, Stats, SweepPage,
    SweepRequest, UdpEndpoint, ENCODED_BUF_LEN, PROTOCOL_VERSION,
};

const SEQ: u16 = 0x1234;

fn hex(msg: &impl serde::Serialize) -> String {
    let mut buf = [0u8; ENCODED_BUF_LEN];
    let n = encode_frame(SEQ, msg, &mut buf).expect("encodes");
    buf[..n].iter().map(|b| format!("{b:02x}")).collect()
}

fn requests() -> Vec<(&'static str, Request<'static>)> {
    vec![
        ("Identify", Request::Identify),
        ("Echo", Request::Echo(&[1, 2, 0, 3])),
        ("Stats", Request::Stats),
        (
            "Estimate",
            Request::Estimate(EstimateRequest {
                model_id: 0x0102_0304_0506_0708,
                slot_bytes: 2,
                carry: Some([1, 2, 3, 4, 5, 300]),
                open: true,
                layers: &[2, 1],
                tokens: &[9, 0, 8, 0, 7, 0],
            }),
        ),
        (
            "ModelBegin",
            Request::ModelBegin {
                id: 0xDEAD_BEEF,
                len: 65_000,
            },
        ),
        (
            "ModelChunk",
            Request::ModelChunk {
                offset: 1024,
                data: &[0xAA, 0x00, 0x55],
            },
        ),
        ("ModelCommit", Request::ModelCommit { id: 0xDEAD_BEEF }),
        ("ModelReset", Request::ModelReset),
        (
            "Sweep",
            Request::Sweep(SweepRequest {
                model_id: 7,
                grid: Grid {
                    widths: [8, 16, 0, 0, 0, 0, 0, 0],
                    n_widths: 2,
                    reuse_factors: [1, 4, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                    n_reuse: 3,
                    strategies: LATENCY | RESOURCE,
                    io: IO_PARALLEL,
                    family: Family::Series7,
                    clock_ns: 5.0,
                    fabric_mult: false,
                    tool: zest_features::Tool::VitisHls,
                },
                limits: [42_560.0, 85_120.0, 176.0, 224.0, f64::INFINITY, 1.0],
                n_layers: 1,
                layers: &[0, 1, 16, 64, 128, 8, 0, 128, 8, 1, 0, 16, 64],
            }),
        ),
    ]
}

fn responses() -> Vec<(&'static str, Response<'static>)> {
    let mut v = vec![
        (
            "Identity",
            Response::Identity(Identity {
                firmware_version: "0.1.0",
                protocol_version: PROTOCOL_VERSION,
                board: "qemu",
                accelerator: Some(1),
                model_id: Some(7),
                max_frame_len: 2048,
                links: Links {
                    uart: true,
                    udp: Some(UdpEndpoint {
                        addr: [10, 0, 2, 15],
                        prefix_len: 24,
                        port: 7777,
                    }),
                },
            }),
        ),
        ("Echo", Response::Echo(&[0, 1])),
        (
            "Stats",
            Response::Stats(Stats {
                frames_served: 3,
                rejected: RejectCounts {
                    bad_crc: 1,
                    unsupported_version: 2,
                    frame_too_long: 3,
                    undecodable: 4,
                    busy: 5,
                },
                uptime_ticks: 1_000_000,
                tick_hz: 100_000_000,
            }),
        ),
        (
            "Estimates/Pl",
            Response::Estimates(Estimates {
                engine: Engine::Pl,
                model_id: 9,
                totals: &[1, 0, 0, 0, 0, 0, 0, 0],
                ticks: 77,
            }),
        ),
        (
            "Estimates/Soft",
            Response::Estimates(Estimates {
                engine: Engine::Soft,
                model_id: 9,
                totals: &[],
                ticks: 0,
            }),
        ),
        (
            "Model/Embedded",
            Response::Model(ModelStatus {
                active_id: 5,
                source: ModelSource::Embedded,
                received: 0,
            }),
        ),
        (
            "Model/Uploaded",
            Response::Model(ModelStatus {
                active_id: 6,
                source: ModelSource::Uploaded,
                received: 100,
            }),
        ),
    ];
    v.push((
        "Sweep",
        Response::Sweep(SweepPage {
            engine: Engine::Soft,
            model_id: 7,
            evaluated: 12,
            infeasible: 3,
            front: 1,
            overflow: false,
            first: 0,
            points: &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 240, 63],
            ticks: 1000,
        }),
    ));
    for r in RejectReason::ALL {
        v.push((r.name(), Response::Rejected(r)));
    }
    let refusals = [
        ("NoModel", Refusal::NoModel),
        ("ModelMismatch", Refusal::ModelMismatch { board: 3 }),
        ("BadTokens", Refusal::BadTokens),
        ("TooManyDesigns", Refusal::TooManyDesigns),
        ("ModelTooLarge", Refusal::ModelTooLarge),
        ("NotReceiving", Refusal::NotReceiving),
        ("ChunkOutOfRange", Refusal::ChunkOutOfRange),
        ("Incomplete", Refusal::Incomplete),
        (
            "ModelInvalid/Magic",
            Refusal::ModelInvalid(ModelFault::Magic),
        ),
        ("ModelInvalid/Hash", Refusal::ModelInvalid(ModelFault::Hash)),
        (
            "ModelInvalid/Format",
            Refusal::ModelInvalid(ModelFault::Format),
        ),
        (
            "ModelInvalid/Invalid",
            Refusal::ModelInvalid(ModelFault::Invalid),
        ),
        (
            "ModelInvalid/IdMismatch",
            Refusal::ModelInvalid(ModelFault::IdMismatch),
        ),
        ("BadSweep", Refusal::BadSweep),
    ];
    for (name, r) in refusals {
        v.push((name, Response::Refused(r)));
    }
    v
}

/// (message, frame on the wire as hex), in the order of `requests()` then
/// `responses()`.
const GOLDEN: &[(&str, &str)] = &[
    ("Request::Identify", "0404341205df99fd2400"),
    ("Request::Echo", "080434120104010206030e39130f00"),
    ("Request::Stats", "090434120228e9c6c500"),
    ("Request::Estimate", "1d04341203888e98a8c0e080810102010102030405ac0201020201060902080207050d24eede00"),
    ("Request::ModelBegin", "1104341204effdb6f50de8fb036c18aeb600"),
    ("Request::ModelChunk", "0904341205800803aa065573f24a9800"),
    ("Request::ModelCommit", "0e04341206effdb6f50d2d28a13d00"),
    ("Request::ModelReset", "090434120734fd37f000"),
    ("Request::Sweep", "0804341208070810010101010106020104ac0201010101010101010101010104030301010103a04002010101010104c8e4400101010104c8f44001010101010366400101010101036c40010101010103f07f010101010105f03f010d06011040800804800801071040606d5f0600"),
    ("Response::Identity", "040434121605302e312e30040471656d7501010107801001010a0a020f18e13cef81bd1a00"),
    ("Response::Echo", "0604341201020601457b927600"),
    ("Response::Stats", "1604341202030102030405c0843d80c2d72f30585b3c00"),
    ("Response::Estimates/Pl", "050434120404090801010101010101064dc7d2befc00"),
    ("Response::Estimates/Soft", "07043412040109010563a4451200"),
    ("Response::Model/Embedded", "0604341205050105dcad2b8b00"),
    ("Response::Model/Uploaded", "0c04341205060164a5f1fbd400"),
    ("Response::Sweep", "0a0434120701070c030101030c02010101010101010109f03fe8070ddbadaf00"),
    ("Response::bad_crc", "050434120305dedb7eeb00"),
    ("Response::unsupported_version", "0a0434120301dd58151900"),
    ("Response::frame_too_long", "0a043412030229ab450a00"),
    ("Response::undecodable", "0a04341203032a282ef800"),
    ("Response::busy", "0a0434120304c14ce42c00"),
    ("Response::NoModel", "050434120605752256b600"),
    ("Response::ModelMismatch", "0b043412060103e12e501600"),
    ("Response::BadTokens", "0a043412060282526d5700"),
    ("Response::TooManyDesigns", "0a043412060381d106a500"),
    ("Response::ModelTooLarge", "0a04341206046ab5cc7100"),
    ("Response::NotReceiving", "0a04341206056936a78300"),
    ("Response::ChunkOutOfRange", "0a04341206069dc5f79000"),
    ("Response::Incomplete", "0a04341206079e469c6200"),
    ("Response::ModelInvalid/Magic", "06043412060805da86b68b00"),
    ("Response::ModelInvalid/Hash", "0b043412060801d905dd7900"),
    ("Response::ModelInvalid/Format", "0b0434120608022df68d6a00"),
    ("Response::ModelInvalid/Invalid", "0b0434120608032e75e69800"),
    ("Response::ModelInvalid/IdMismatch", "0b043412060804c5112c4c00"),
    ("Response::BadSweep", "0a0434120609b9f9e4ce00"),
];

#[test]
fn every_variant_encodes_to_its_pinned_bytes() {
    let got: Vec<(String, String)> = requests()
        .iter()
        .map(|(n, m)| (format!("Request::{n}"), hex(m)))
        .chain(
            responses()
                .iter()
                .map(|(n, m)| (format!("Response::{n}"), hex(m))),
        )
        .collect();
    if std::env::var_os("ZEST_PRINT_GOLDEN").is_some() {
        for (n, h) in &got {
            println!("    ({n:?}, \"{h}\"),");
        }
    }
    assert_eq!(got.len(), GOLDEN.len(), "one golden frame per variant");
    for ((name, hex), (gname, ghex)) in got.iter().zip(GOLDEN) {
        assert_eq!(name, gname);
        assert_eq!(
            hex, ghex,
            "{name}: the wire bytes changed (reordered variant or field?): bump PROTOCOL_VERSION and re-pin"
        );
    }
}

/// The worst-case Estimate request (every fixed field at its widest, the
/// most designs, [`EstimateRequest::TOKEN_BUDGET`] token bytes) fits one
/// frame, and one byte more of tokens would not be promised.
#[test]
fn token_budget_fits_a_frame() {
    let tokens = vec![0xFFu8; EstimateRequest::TOKEN_BUDGET];
    let layers = [0xFFu8; zest_proto::MAX_DESIGNS_PER_REQUEST];
    let req = Request::Estimate(EstimateRequest {
        model_id: u64::MAX,
        slot_bytes: 2,
        carry: Some([u64::MAX; zest_proto::N_TARGETS]),
        open: true,
        layers: &layers,
        tokens: &tokens,
    });
    let mut buf = [0u8; ENCODED_BUF_LEN];
    encode_frame(u16::MAX, &req, &mut buf).expect("the worst-case request fits a frame");
}

/// [`zest_proto::totals`] reads back what it writes, in Target order.
#[test]
fn totals_layout_round_trips() {
    use zest_proto::{totals, Target, N_TARGETS};
    let a: [u64; N_TARGETS] = core::array::from_fn(|k| 1 + k as u64);
    let b = [u64::MAX; N_TARGETS];
    let mut buf = [0u8; 2 * totals::DESIGN];
    assert_eq!(totals::write(&mut buf, 0, &a), totals::DESIGN);
    assert_eq!(totals::write(&mut buf, 1, &b), 2 * totals::DESIGN);
    assert_eq!(totals::read(&buf, 0), Some(a));
    assert_eq!(totals::read(&buf, 1), Some(b));
    assert_eq!(totals::read(&buf, 2), None);
    // Lut first, Ii last, little-endian.
    assert_eq!(buf[Target::Lut.index() * totals::TOTAL], 1);
    assert_eq!(buf[Target::Ii.index() * totals::TOTAL], N_TARGETS as u8);
}

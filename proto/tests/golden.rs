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

use zest_proto::{
    encode_frame, Engine, EstimateRequest, Estimates, Identity, ModelFault, ModelSource,
    ModelStatus, Refusal, RejectCounts, RejectReason, Request, Response, Stats, ENCODED_BUF_LEN,
    PROTOCOL_VERSION,
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
    ];
    for (name, r) in refusals {
        v.push((name, Response::Refused(r)));
    }
    v
}

/// (message, frame on the wire as hex), in the order of `requests()` then
/// `responses()`.
const GOLDEN: &[(&str, &str)] = &[
    ("Request::Identify", "0402341205ad8bb8e000"),
    ("Request::Echo", "080234120104010206035c214d3c00"),
    ("Request::Stats", "09023412025afb830100"),
    (
        "Request::Estimate",
        "1d02341203888e98a8c0e080810102010102030405ac0201020201060902080207051ea8940700",
    ),
    (
        "Request::ModelBegin",
        "1102341204effdb6f50de8fb03cce08a1100",
    ),
    ("Request::ModelChunk", "0902341205800803aa06554f06672800"),
    ("Request::ModelCommit", "0e02341206effdb6f50d7f30ff0e00"),
    ("Request::ModelReset", "090234120746ef723400"),
    (
        "Response::Identity",
        "040234121705302e312e30020471656d750101010780105997369c00",
    ),
    ("Response::Echo", "060234120102060104e7740300"),
    (
        "Response::Stats",
        "1602341202030102030405c0843d80c2d72f03e7edf900",
    ),
    (
        "Response::Estimates/Pl",
        "050234120404090801010101010101064d21134edb00",
    ),
    ("Response::Estimates/Soft", "07023412040109010540dc20a100"),
    ("Response::Model/Embedded", "06023412050501059d31cdfe00"),
    ("Response::Model/Uploaded", "0c02341205060164e46d1da100"),
    ("Response::bad_crc", "05023412030536ba197b00"),
    ("Response::unsupported_version", "0a02341203013539728900"),
    ("Response::frame_too_long", "0a0234120302c1ca229a00"),
    ("Response::undecodable", "0a0234120303c249496800"),
    ("Response::busy", "0a0234120304292d83bc00"),
    ("Response::NoModel", "0502341206059d43312600"),
    ("Response::ModelMismatch", "0b02341206010355b9297f00"),
    ("Response::BadTokens", "0a02341206026a330ac700"),
    ("Response::TooManyDesigns", "0a023412060369b0613500"),
    ("Response::ModelTooLarge", "0a023412060482d4abe100"),
    ("Response::NotReceiving", "0a02341206058157c01300"),
    ("Response::ChunkOutOfRange", "09023412060675a4900100"),
    ("Response::Incomplete", "0a02341206077627fbf200"),
    ("Response::ModelInvalid/Magic", "060234120608056e11cfe200"),
    ("Response::ModelInvalid/Hash", "0b0234120608016d92a41000"),
    ("Response::ModelInvalid/Format", "0b0234120608029961f40300"),
    ("Response::ModelInvalid/Invalid", "0b0234120608039ae29ff100"),
    (
        "Response::ModelInvalid/IdMismatch",
        "0b0234120608047186552500",
    ),
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

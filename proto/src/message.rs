//! Request and response messages. Payloads borrow from the frame buffer
//! (zero-copy), so the firmware needs no allocator.

use serde::{Deserialize, Serialize};

/// Largest payload an [`Request::Echo`] may carry; the reply carries the
/// same bytes, so both fit in one frame.
pub const MAX_ECHO_LEN: usize = 1024;

/// A request from the host to the board.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// Ask who the board is; answered with [`Response::Identity`].
    Identify,
    /// Ask for the payload back unchanged; answered with [`Response::Echo`].
    Echo(#[serde(borrow)] &'a [u8]),
    /// Ask for the board's counters; answered with [`Response::Stats`].
    Stats,
    /// Estimate designs from their layer tokens; answered with
    /// [`Response::Estimates`] or [`Response::Refused`]. Idempotent (the
    /// board keeps no state between requests), so the host may retry it.
    Estimate(#[serde(borrow)] EstimateRequest<'a>),
    /// Start replacing the board's model with one of `len` bytes whose id
    /// (the CRC-64 it carries) is `id`; answered with [`Response::Model`].
    ModelBegin {
        /// Id of the model to come.
        id: u64,
        /// Its length in bytes (at most [`MAX_MODEL_LEN`]).
        len: u32,
    },
    /// Bytes `offset..offset + data.len()` of the model announced by
    /// `ModelBegin` (each chunk travels in a CRC-checked frame; rewriting a
    /// chunk is harmless); answered with [`Response::Model`].
    ModelChunk {
        /// Where the bytes go.
        offset: u32,
        /// At most [`MAX_CHUNK_LEN`] bytes.
        #[serde(borrow)]
        data: &'a [u8],
    },
    /// Check the received model (magic, hash, format version, shapes, and
    /// that it is the announced id) and make it the active one; answered
    /// with [`Response::Model`], or [`Response::Refused`] and the old model
    /// stays active. It lives in RAM until reset.
    ModelCommit {
        /// The id announced by `ModelBegin`.
        id: u64,
    },
    /// Go back to the model built into the firmware.
    ModelReset,
    /// Estimate every configuration of a grid for one network on the
    /// board and keep the feasible Pareto set; answered with one
    /// [`Response::Sweep`] frame per [`SWEEP_POINTS_PER_PAGE`] points (at
    /// least one, all with the request's sequence number), or
    /// [`Response::Refused`]. Deterministic and stateless, so the host may
    /// repeat it when a page is lost.
    Sweep(#[serde(borrow)] SweepRequest<'a>),
}

/// A reply from the board to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response<'a> {
    /// Reply to [`Request::Identify`].
    Identity(#[serde(borrow)] Identity<'a>),
    /// Reply to [`Request::Echo`]: the same bytes.
    Echo(&'a [u8]),
    /// Reply to [`Request::Stats`].
    Stats(Stats),
    /// The frame with this sequence number (or, if the frame was too damaged
    /// to trust its sequence number, sequence number 0) was rejected.
    Rejected(RejectReason),
    /// Reply to [`Request::Estimate`].
    Estimates(#[serde(borrow)] Estimates<'a>),
    /// Reply to the model requests: where the board stands.
    Model(ModelStatus),
    /// The request was understood but not carried out.
    Refused(Refusal),
    /// One page of the reply to [`Request::Sweep`].
    Sweep(#[serde(borrow)] SweepPage<'a>),
}

pub use zest_features::{Target, N_TARGETS};

/// Most designs one [`Request::Estimate`] may carry (so the reply,
/// [`totals::DESIGN`] bytes per design, fits a frame).
pub const MAX_DESIGNS_PER_REQUEST: usize = 32;

/// Byte layout of [`Estimates::totals`], written once for both ends:
///
/// ```text
/// totals = design[0] | design[1] | ...          (request order)
/// design = total[Lut] | total[Ff] | ... | total[Ii]   (Target order)
/// total  = u64 little-endian, raw in the model's total type
/// ```
pub mod totals {
    use super::N_TARGETS;

    /// Bytes of one total.
    pub const TOTAL: usize = 8;
    /// Bytes of one design's totals.
    pub const DESIGN: usize = TOTAL * N_TARGETS;

    /// Writes design `d`'s totals into `buf` (which must hold `d + 1`
    /// designs); returns the bytes used up to and including it.
    pub fn write(buf: &mut [u8], d: usize, totals: &[u64; N_TARGETS]) -> usize {
        let at = d * DESIGN;
        for (k, v) in totals.iter().enumerate() {
            buf[at + k * TOTAL..at + (k + 1) * TOTAL].copy_from_slice(&v.to_le_bytes());
        }
        at + DESIGN
    }

    /// Reads design `d`'s totals, `None` past the end.
    pub fn read(buf: &[u8], d: usize) -> Option<[u64; N_TARGETS]> {
        let design = buf.get(d * DESIGN..(d + 1) * DESIGN)?;
        let mut out = [0u64; N_TARGETS];
        for (v, b) in out.iter_mut().zip(design.chunks_exact(TOTAL)) {
            let mut w = [0u8; TOTAL];
            w.copy_from_slice(b);
            *v = u64::from_le_bytes(w);
        }
        Some(out)
    }
}

/// Largest model the board accepts over the wire.
pub const MAX_MODEL_LEN: usize = 128 * 1024;

/// Largest [`Request::ModelChunk`] payload.
pub const MAX_CHUNK_LEN: usize = 1024;

/// Designs to estimate, as the fixed-point model's input: each layer's
/// token, every slot its raw value in the model's input type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateRequest<'a> {
    /// The model the host quantized the tokens for; the board refuses
    /// ([`Refusal::ModelMismatch`]) if its active model differs.
    pub model_id: u64,
    /// Bytes per slot in `tokens` (the model's input type decides: 1, 2,
    /// 4 or 8), little-endian two's complement.
    pub slot_bytes: u8,
    /// Running totals (raw, the model's total type) the first design
    /// continues from: what the board answered for the part of that design
    /// sent in the previous request with `open`. `None`: a fresh design.
    pub carry: Option<[u64; N_TARGETS]>,
    /// The last design continues in a later request: its totals so far are
    /// answered, to be sent back as `carry`.
    pub open: bool,
    /// Tokens per design in this request (at most
    /// [`MAX_DESIGNS_PER_REQUEST`] designs).
    #[serde(borrow)]
    pub layers: &'a [u8],
    /// All tokens, design after design, layer after layer, slot after slot.
    #[serde(borrow)]
    pub tokens: &'a [u8],
}

impl EstimateRequest<'_> {
    /// Most bytes a [`Request::Estimate`] body spends outside its token
    /// bytes, in postcard's encoding: the request tag (1), `model_id`
    /// (varint, at most 10), `slot_bytes` (1), `carry` (1 + six varints of
    /// at most 10), `open` (1), `layers` (length varint 1, one byte per
    /// design) and the length varint of `tokens` (2: shorter than a frame).
    pub const MAX_FIXED_LEN: usize =
        1 + 10 + 1 + (1 + 10 * N_TARGETS) + 1 + (1 + MAX_DESIGNS_PER_REQUEST) + 2;

    /// Room for token bytes in one request: a frame less its overhead and
    /// [`EstimateRequest::MAX_FIXED_LEN`].
    pub const TOKEN_BUDGET: usize =
        crate::MAX_FRAME_LEN - crate::FRAME_OVERHEAD - Self::MAX_FIXED_LEN;
}

/// Layers in one [`SweepRequest`] at most.
pub const MAX_SWEEP_LAYERS: usize = 32;

/// Pareto points in one [`Response::Sweep`] page at most.
pub const SWEEP_POINTS_PER_PAGE: usize = 32;

/// One network and a grid of hls4ml configurations to sweep on the board
/// (`zest_fixed::sweep` says what is computed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepRequest<'a> {
    /// The model the host expects; the board refuses
    /// ([`Refusal::ModelMismatch`]) if its active model differs.
    pub model_id: u64,
    /// The configurations.
    pub grid: zest_features::sweep::Grid,
    /// Upper limits on each target in [`Target`] order, in target units
    /// (the part's capacity times the utilisation bound; latency and II
    /// bounds), after hls4ml's rules; infinity for none.
    pub limits: [f64; N_TARGETS],
    /// Number of layers in `layers` (1..=[`MAX_SWEEP_LAYERS`]).
    pub n_layers: u8,
    /// The network: `n_layers` postcard-encoded
    /// [`zest_features::sweep::SweepLayer`]s back to back.
    #[serde(borrow)]
    pub layers: &'a [u8],
}

impl SweepRequest<'_> {
    /// Layer `k` of the network, `None` when the bytes do not hold
    /// `n_layers` layers exactly.
    pub fn layers(&self) -> Option<SweepLayers<'_>> {
        let n = usize::from(self.n_layers);
        if n == 0 || n > MAX_SWEEP_LAYERS {
            return None;
        }
        let mut rest = self.layers;
        for _ in 0..n {
            rest = postcard::take_from_bytes::<zest_features::sweep::SweepLayer>(rest)
                .ok()?
                .1;
        }
        rest.is_empty().then_some(SweepLayers {
            rest: self.layers,
            left: n,
        })
    }
}

/// The layers of a [`SweepRequest`], decoded one by one.
#[derive(Debug, Clone)]
pub struct SweepLayers<'a> {
    rest: &'a [u8],
    left: usize,
}

impl Iterator for SweepLayers<'_> {
    type Item = zest_features::sweep::SweepLayer;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (layer, rest) = postcard::take_from_bytes(self.rest).ok()?;
        self.rest = rest;
        self.left -= 1;
        Some(layer)
    }
}

/// Byte layout of [`SweepPage::points`], written once for both ends:
///
/// ```text
/// points = point[first] | point[first + 1] | ...     ascending grid index
/// point  = index:u32 LE | target[Lut] | ... | target[Ii]
/// target = f64 LE (IEEE-754 bits), target units after hls4ml's rules
/// ```
pub mod sweep_points {
    use super::N_TARGETS;

    /// Bytes of one point.
    pub const POINT: usize = 4 + 8 * N_TARGETS;

    /// Writes point `k` into `buf` (which must hold `k + 1` points);
    /// returns the bytes used up to and including it.
    pub fn write(buf: &mut [u8], k: usize, index: u32, targets: &[f64; N_TARGETS]) -> usize {
        let at = k * POINT;
        buf[at..at + 4].copy_from_slice(&index.to_le_bytes());
        for (t, v) in targets.iter().enumerate() {
            let o = at + 4 + 8 * t;
            buf[o..o + 8].copy_from_slice(&v.to_bits().to_le_bytes());
        }
        at + POINT
    }

    /// Reads point `k`, `None` past the end.
    pub fn read(buf: &[u8], k: usize) -> Option<(u32, [f64; N_TARGETS])> {
        let p = buf.get(k * POINT..(k + 1) * POINT)?;
        let mut i = [0u8; 4];
        i.copy_from_slice(&p[..4]);
        let mut out = [0f64; N_TARGETS];
        for (v, b) in out.iter_mut().zip(p[4..].chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            *v = f64::from_bits(u64::from_le_bytes(w));
        }
        Some((u32::from_le_bytes(i), out))
    }
}

/// One page of a sweep's answer: the counts, and some of the Pareto set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepPage<'a> {
    /// Who computed it.
    pub engine: Engine,
    /// The model that did.
    pub model_id: u64,
    /// Grid points estimated.
    pub evaluated: u32,
    /// Of those, the ones over a limit.
    pub infeasible: u32,
    /// Points in the whole Pareto set.
    pub front: u32,
    /// The set outgrew the board's buffer (some points were dropped).
    pub overflow: bool,
    /// Position in the Pareto set of this page's first point.
    pub first: u32,
    /// This page's points, laid out as [`sweep_points`] says.
    #[serde(borrow)]
    pub points: &'a [u8],
    /// Timer ticks the sweep took (rate: [`Stats::tick_hz`]).
    pub ticks: u32,
}

impl SweepPage<'_> {
    /// The page's points: (grid index, targets).
    pub fn iter(&self) -> impl Iterator<Item = (u32, [f64; N_TARGETS])> + '_ {
        (0..self.points.len() / sweep_points::POINT)
            .filter_map(|k| sweep_points::read(self.points, k))
    }
}

/// Which engine computed the estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Engine {
    /// The accelerator in the programmable logic.
    Pl,
    /// The firmware's bit-exact soft model on the Cortex-A9.
    Soft,
}

/// Reply to [`Request::Estimate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimates<'a> {
    /// Who computed them.
    pub engine: Engine,
    /// The model that did.
    pub model_id: u64,
    /// Per design in request order, its six totals (raw in the model's
    /// total type), laid out as [`totals`] says.
    #[serde(borrow)]
    pub totals: &'a [u8],
    /// Timer ticks spent computing (rate: [`Stats::tick_hz`]).
    pub ticks: u32,
}

impl Estimates<'_> {
    /// Designs answered (whole designs in [`Estimates::totals`]).
    pub fn designs(&self) -> usize {
        self.totals.len() / totals::DESIGN
    }

    /// Design `d`'s six totals, `None` past the end.
    pub fn design(&self, d: usize) -> Option<[u64; N_TARGETS]> {
        totals::read(self.totals, d)
    }

    /// Every design's totals, in request order.
    pub fn iter(&self) -> impl Iterator<Item = [u64; N_TARGETS]> + '_ {
        (0..self.designs()).filter_map(|d| self.design(d))
    }
}

/// Where the model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelSource {
    /// Built into the firmware.
    Embedded,
    /// Received over the wire since boot.
    Uploaded,
}

/// The board's model state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStatus {
    /// Id of the active model (0 if none).
    pub active_id: u64,
    /// Where it came from.
    pub source: ModelSource,
    /// Bytes of an announced upload received so far (0 if none).
    pub received: u32,
}

/// Why a well-formed request was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The firmware has no usable model.
    NoModel,
    /// The request's tokens were made for another model.
    ModelMismatch {
        /// The board's active model.
        board: u64,
    },
    /// Layer counts and token bytes disagree, a slot is outside the input
    /// type, `slot_bytes` is not the model's, or a design has no layers.
    BadTokens,
    /// More than [`MAX_DESIGNS_PER_REQUEST`] designs.
    TooManyDesigns,
    /// A model longer than [`MAX_MODEL_LEN`] was announced.
    ModelTooLarge,
    /// A chunk or commit came without a matching `ModelBegin`.
    NotReceiving,
    /// A chunk lies outside the announced length, or is longer than
    /// [`MAX_CHUNK_LEN`].
    ChunkOutOfRange,
    /// Commit before every byte arrived.
    Incomplete,
    /// The received model failed its checks.
    ModelInvalid(ModelFault),
    /// A sweep's grid fails its checks, or its layers do not decode.
    BadSweep,
}

/// What was wrong with a received model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelFault {
    /// Not a zest fixed-point model.
    Magic,
    /// Its bytes do not hash to the id they carry.
    Hash,
    /// Another format version.
    Format,
    /// The body does not decode, or its shapes are inconsistent.
    Invalid,
    /// Intact, but not the model `ModelBegin` announced.
    IdMismatch,
}

/// Who the board is and what it can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity<'a> {
    /// Firmware crate version (semver).
    pub firmware_version: &'a str,
    /// [`crate::PROTOCOL_VERSION`] the firmware was built with.
    pub protocol_version: u8,
    /// Board the firmware was built for, e.g. `pynq-z2` or `qemu-zynq7000`.
    pub board: &'a str,
    /// Version of the PL accelerator if its ID register answered, else `None`
    /// (always `None` under QEMU, which models no programmable logic).
    pub accelerator: Option<u16>,
    /// Identifier (content hash) of the loaded surrogate model, if any.
    pub model_id: Option<u64>,
    /// Largest decoded frame the firmware accepts ([`crate::MAX_FRAME_LEN`]).
    pub max_frame_len: u32,
    /// The links the firmware serves this protocol on.
    pub links: Links,
}

/// The links a board serves the protocol on: the same frames, versions and
/// replies on each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// UART0 (the PYNQ-Z2's USB-UART; QEMU's first `-serial`).
    pub uart: bool,
    /// GEM0 Ethernet: one frame per UDP datagram to this endpoint, if the
    /// firmware serves it.
    pub udp: Option<UdpEndpoint>,
}

/// A board's IPv4 address and the UDP port it serves the protocol on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpEndpoint {
    /// IPv4 address, most significant byte first (`[10, 0, 2, 15]`).
    pub addr: [u8; 4],
    /// Network prefix length (24 for a /24).
    pub prefix_len: u8,
    /// UDP port.
    pub port: u16,
}

impl core::fmt::Display for UdpEndpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.addr;
        write!(f, "{a}.{b}.{c}.{d}:{} (/{})", self.port, self.prefix_len)
    }
}

/// Why a frame was rejected. Every reason is counted in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// The CRC did not match the frame's contents (line noise, truncation).
    BadCrc,
    /// The frame's first byte named a protocol version this peer does not speak.
    UnsupportedVersion,
    /// The frame was longer than [`crate::MAX_FRAME_LEN`] before its delimiter.
    FrameTooLong,
    /// The frame was intact but its body was not a valid message (or the
    /// COBS encoding itself was broken, or the frame was too short).
    Undecodable,
    /// The board was busy with another operation and did not act on the
    /// request; the host may retry after a short wait.
    Busy,
}

impl RejectReason {
    /// Every reason, in a fixed order (for tables and counters).
    pub const ALL: [RejectReason; 5] = [
        RejectReason::BadCrc,
        RejectReason::UnsupportedVersion,
        RejectReason::FrameTooLong,
        RejectReason::Undecodable,
        RejectReason::Busy,
    ];

    /// A stable snake_case name (used in JSON output).
    pub const fn name(self) -> &'static str {
        match self {
            RejectReason::BadCrc => "bad_crc",
            RejectReason::UnsupportedVersion => "unsupported_version",
            RejectReason::FrameTooLong => "frame_too_long",
            RejectReason::Undecodable => "undecodable",
            RejectReason::Busy => "busy",
        }
    }
}

/// Frames rejected, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectCounts {
    /// See [`RejectReason::BadCrc`].
    pub bad_crc: u32,
    /// See [`RejectReason::UnsupportedVersion`].
    pub unsupported_version: u32,
    /// See [`RejectReason::FrameTooLong`].
    pub frame_too_long: u32,
    /// See [`RejectReason::Undecodable`].
    pub undecodable: u32,
    /// See [`RejectReason::Busy`].
    pub busy: u32,
}

impl RejectCounts {
    fn slot(&mut self, reason: RejectReason) -> &mut u32 {
        match reason {
            RejectReason::BadCrc => &mut self.bad_crc,
            RejectReason::UnsupportedVersion => &mut self.unsupported_version,
            RejectReason::FrameTooLong => &mut self.frame_too_long,
            RejectReason::Undecodable => &mut self.undecodable,
            RejectReason::Busy => &mut self.busy,
        }
    }

    /// Counts one more rejection (saturating).
    pub fn record(&mut self, reason: RejectReason) {
        let slot = self.slot(reason);
        *slot = slot.saturating_add(1);
    }

    /// The count for one reason.
    pub fn get(&self, reason: RejectReason) -> u32 {
        match reason {
            RejectReason::BadCrc => self.bad_crc,
            RejectReason::UnsupportedVersion => self.unsupported_version,
            RejectReason::FrameTooLong => self.frame_too_long,
            RejectReason::Undecodable => self.undecodable,
            RejectReason::Busy => self.busy,
        }
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        RejectReason::ALL
            .iter()
            .map(|r| u64::from(self.get(*r)))
            .sum()
    }
}

/// The board's counters since boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests decoded and answered (this Stats request included).
    pub frames_served: u32,
    /// Frames rejected, by reason.
    pub rejected: RejectCounts,
    /// Ticks of the board's private timer since boot.
    pub uptime_ticks: u64,
    /// Rate of `uptime_ticks`, in Hz.
    pub tick_hz: u32,
}

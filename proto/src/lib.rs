//! # zest wire protocol
//!
//! One crate, used unchanged by the host tool (`zest`) and by the bare-metal
//! firmware, holds every fact both ends must agree on: the message types, the
//! frame format, the protocol version and the size limits.
//!
//! ## Frame format
//!
//! ```text
//! on the wire:   COBS( version:u8 | seq:u16 LE | postcard(body) | crc32c:u32 LE ) 0x00
//! ```
//!
//! * [`PROTOCOL_VERSION`] is the first byte of every frame. A peer answers a
//!   frame of another version with [`RejectReason::UnsupportedVersion`].
//! * `seq` is chosen by the host; the board echoes it in the reply, so the
//!   host can drop stale replies after a timeout.
//! * The CRC ([`crc::CRC_32_ISCSI`], CRC-32C) covers version, seq and body.
//! * COBS removes every 0x00 from the frame, so 0x00 only ever marks a frame's
//!   end. A receiver that loses sync (line noise, a truncated frame) is back in
//!   sync at the next 0x00. An empty frame (two 0x00 in a row) is ignored: the
//!   host sends a 0x00 before each request to flush any partial frame.
//! * A decoded frame is at most [`MAX_FRAME_LEN`] bytes; longer frames are
//!   rejected with [`RejectReason::FrameTooLong`] once their delimiter arrives.
//!
//! Nothing here allocates; the crate is `no_std`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod frame;
mod message;
pub mod pl;

pub use frame::{
    encode_frame, encode_frame_with_version, DecodeError, EncodeError, Feed, FrameDecoder,
    FrameError, RawFrame, ENCODED_BUF_LEN, FRAME_OVERHEAD, MAX_FRAME_LEN,
};
pub use message::{sweep_points, totals};
pub use message::{
    Engine, EstimateRequest, Estimates, Identity, Links, ModelFault, ModelSource, ModelStatus,
    Refusal, RejectCounts, RejectReason, Request, Response, Stats, SweepLayers, SweepPage,
    SweepRequest, Target, UdpEndpoint, MAX_CHUNK_LEN, MAX_DESIGNS_PER_REQUEST, MAX_ECHO_LEN,
    MAX_MODEL_LEN, MAX_SWEEP_LAYERS, N_TARGETS, SWEEP_POINTS_PER_PAGE,
};

/// Version of the wire protocol spoken by this crate. Bumped on any change to
/// the frame layout or to the meaning of an existing message.
pub const PROTOCOL_VERSION: u8 = 4;

/// The UDP endpoint a board serves unless its build overrides it (the
/// firmware's `ZEST_NET_ADDR`/`ZEST_NET_PORT`): QEMU's user-network guest
/// address, which is what `qemu-system-arm -nic user,hostfwd=…` forwards to.
pub const DEFAULT_UDP_ENDPOINT: UdpEndpoint = UdpEndpoint {
    addr: [10, 0, 2, 15],
    prefix_len: 24,
    port: 7777,
};

/// The default gateway a board uses unless its build overrides it
/// (`ZEST_NET_GATEWAY`): QEMU's user-network host.
pub const DEFAULT_GATEWAY: [u8; 4] = [10, 0, 2, 2];

/// Frame delimiter: the only place a 0x00 byte appears on the wire.
pub const FRAME_DELIMITER: u8 = 0x00;

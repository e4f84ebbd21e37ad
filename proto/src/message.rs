//! Request and response messages. Payloads borrow from the frame buffer
//! (zero-copy), so the firmware needs no allocator.

use serde::{Deserialize, Serialize};

/// Largest payload an [`Request::Echo`] may carry; the reply carries the
/// same bytes, so both fit in one frame.
pub const MAX_ECHO_LEN: usize = 1024;

/// A request from the host to the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// Ask who the board is; answered with [`Response::Identity`].
    Identify,
    /// Ask for the payload back unchanged; answered with [`Response::Echo`].
    Echo(#[serde(borrow)] &'a [u8]),
    /// Ask for the board's counters; answered with [`Response::Stats`].
    Stats,
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

//! Framing: postcard body, sequence number, protocol version and CRC-32C,
//! COBS-encoded and terminated by 0x00. See the crate docs for the layout.

use serde::{Deserialize, Serialize};

use crate::{RejectReason, FRAME_DELIMITER, PROTOCOL_VERSION};

/// Bytes a frame adds around its postcard body: version (1), seq (2), CRC (4).
pub const FRAME_OVERHEAD: usize = 1 + 2 + 4;

/// Largest decoded frame (version + seq + body + CRC) either end accepts.
pub const MAX_FRAME_LEN: usize = 2048;

/// Buffer size that holds any valid frame as it appears on the wire,
/// COBS-encoded and with its delimiter.
pub const ENCODED_BUF_LEN: usize = cobs::max_encoding_length(MAX_FRAME_LEN) + 1;

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// Why a message could not be put into a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message does not fit in [`MAX_FRAME_LEN`].
    #[error("message does not fit in a {MAX_FRAME_LEN}-byte frame")]
    MessageTooLarge,
    /// The output buffer is smaller than [`ENCODED_BUF_LEN`] needs for it.
    #[error("output buffer too small for the frame")]
    OutputTooSmall,
}

/// Encodes `msg` as one complete frame (COBS, delimiter included) into `out`
/// and returns the number of bytes written. `out` of [`ENCODED_BUF_LEN`]
/// bytes always suffices.
pub fn encode_frame<T: Serialize>(seq: u16, msg: &T, out: &mut [u8]) -> Result<usize, EncodeError> {
    encode_frame_with_version(PROTOCOL_VERSION, seq, msg, out)
}

/// As [`encode_frame`], with an explicit protocol version byte. Only useful
/// to test how a peer treats a version it does not speak.
pub fn encode_frame_with_version<T: Serialize>(
    version: u8,
    seq: u16,
    msg: &T,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut raw = [0u8; MAX_FRAME_LEN];
    raw[0] = version;
    raw[1..3].copy_from_slice(&seq.to_le_bytes());
    let body_len = postcard::to_slice(msg, &mut raw[3..MAX_FRAME_LEN - 4])
        .map_err(|_| EncodeError::MessageTooLarge)?
        .len();
    let crc_at = 3 + body_len;
    let crc = CRC32C.checksum(&raw[..crc_at]);
    raw[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    let raw_len = crc_at + 4;
    let encoded =
        cobs::try_encode(&raw[..raw_len], out).map_err(|_| EncodeError::OutputTooSmall)?;
    let delim = out.get_mut(encoded).ok_or(EncodeError::OutputTooSmall)?;
    *delim = FRAME_DELIMITER;
    Ok(encoded + 1)
}

/// What was wrong with a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// CRC mismatch, or a frame too short to hold version, seq and CRC
    /// (what a truncated frame looks like).
    #[error("CRC mismatch (corrupted or truncated frame)")]
    BadCrc,
    /// Intact frame of another protocol version.
    #[error("protocol version {found} is not supported (this end speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The version byte the frame carried.
        found: u8,
    },
    /// More than [`ENCODED_BUF_LEN`] bytes arrived before a delimiter.
    #[error("frame longer than {MAX_FRAME_LEN} bytes")]
    FrameTooLong,
    /// Broken COBS encoding, or an intact frame whose body is not a valid
    /// message (unknown variant, truncated field, trailing bytes).
    #[error("frame is not a valid message")]
    Undecodable,
}

impl DecodeError {
    /// The reason the receiver reports (and counts) for this error.
    pub const fn reason(self) -> RejectReason {
        match self {
            DecodeError::BadCrc => RejectReason::BadCrc,
            DecodeError::UnsupportedVersion { .. } => RejectReason::UnsupportedVersion,
            DecodeError::FrameTooLong => RejectReason::FrameTooLong,
            DecodeError::Undecodable => RejectReason::Undecodable,
        }
    }
}

/// A rejected frame: the error, and its sequence number when the frame was
/// intact enough (CRC correct) to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct FrameError {
    /// Sequence number, if the CRC matched.
    pub seq: Option<u16>,
    /// What was wrong (shown as the error's message, not as a cause, so
    /// a report chain says it once).
    pub error: DecodeError,
}

/// A frame that passed the CRC and version checks; its body is not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// Sequence number chosen by the host.
    pub seq: u16,
    /// The postcard-encoded message.
    pub body: &'a [u8],
}

impl<'a> RawFrame<'a> {
    /// Decodes the body as a `T`. The whole body must be consumed.
    pub fn decode<T: Deserialize<'a>>(&self) -> Result<T, FrameError> {
        let undecodable = FrameError {
            seq: Some(self.seq),
            error: DecodeError::Undecodable,
        };
        match postcard::take_from_bytes::<T>(self.body) {
            Ok((msg, [])) => Ok(msg),
            _ => Err(undecodable),
        }
    }
}

/// Result of feeding bytes to a [`FrameDecoder`].
#[derive(Debug)]
pub enum Feed<'d, 'i> {
    /// All input was consumed without completing a frame.
    Consumed,
    /// A delimiter ended a frame; `rest` is the input after it, to be fed next.
    Frame {
        /// The frame, or why it was rejected.
        result: Result<RawFrame<'d>, FrameError>,
        /// Unconsumed input after the delimiter.
        rest: &'i [u8],
    },
}

/// Accumulates bytes from a stream and yields one frame per delimiter.
///
/// It never panics on any input, holds at most `N` bytes, and after any
/// rejected frame it starts afresh at the next delimiter.
///
/// ```
/// use zest_proto::{encode_frame, Feed, FrameDecoder, Request, ENCODED_BUF_LEN};
/// let mut wire = [0u8; ENCODED_BUF_LEN];
/// let n = encode_frame(7, &Request::Identify, &mut wire).unwrap();
/// let mut dec = FrameDecoder::<ENCODED_BUF_LEN>::new();
/// match dec.feed(&wire[..n]) {
///     Feed::Frame { result: Ok(frame), rest } => {
///         assert_eq!(frame.seq, 7);
///         assert_eq!(frame.decode::<Request>().unwrap(), Request::Identify);
///         assert!(rest.is_empty());
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Drops any partial frame (the next byte starts a new frame).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Bytes of the current, incomplete frame.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Feeds `input`; stops after the first complete frame. Empty frames
    /// (consecutive delimiters) are skipped silently.
    pub fn feed<'i>(&mut self, input: &'i [u8]) -> Feed<'_, 'i> {
        for (i, &byte) in input.iter().enumerate() {
            if byte == FRAME_DELIMITER {
                let rest = &input[i + 1..];
                let len = core::mem::take(&mut self.len);
                if core::mem::take(&mut self.overflow) {
                    let result = Err(FrameError {
                        seq: None,
                        error: DecodeError::FrameTooLong,
                    });
                    return Feed::Frame { result, rest };
                }
                if len == 0 {
                    continue;
                }
                return Feed::Frame {
                    result: parse(&mut self.buf[..len]),
                    rest,
                };
            }
            if self.overflow {
                continue;
            }
            if self.len == N {
                self.overflow = true;
                continue;
            }
            self.buf[self.len] = byte;
            self.len += 1;
        }
        Feed::Consumed
    }
}

fn parse(encoded: &mut [u8]) -> Result<RawFrame<'_>, FrameError> {
    let reject = |error| FrameError { seq: None, error };
    let n = cobs::decode_in_place(encoded).map_err(|_| reject(DecodeError::Undecodable))?;
    let frame = &encoded[..n];
    if n < FRAME_OVERHEAD {
        return Err(reject(DecodeError::BadCrc));
    }
    if n > MAX_FRAME_LEN {
        return Err(reject(DecodeError::FrameTooLong));
    }
    let (payload, crc) = frame.split_at(n - 4);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if CRC32C.checksum(payload) != crc {
        return Err(reject(DecodeError::BadCrc));
    }
    let seq = Some(u16::from_le_bytes([payload[1], payload[2]]));
    if payload[0] != PROTOCOL_VERSION {
        return Err(FrameError {
            seq,
            error: DecodeError::UnsupportedVersion { found: payload[0] },
        });
    }
    Ok(RawFrame {
        seq: u16::from_le_bytes([payload[1], payload[2]]),
        body: &payload[3..],
    })
}

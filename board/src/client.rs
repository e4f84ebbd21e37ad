//! Requests to a board: sequence numbers, timeouts, bounded retries, and
//! owned replies.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serde::Serialize;
use zest_proto::{
    encode_frame, DecodeError, Engine, EstimateRequest, Feed, FrameDecoder, FrameError,
    ModelStatus, Refusal, RejectReason, Request, Response, Stats, SweepRequest, ENCODED_BUF_LEN,
    FRAME_DELIMITER, MAX_CHUNK_LEN, MAX_ECHO_LEN, N_TARGETS, PROTOCOL_VERSION,
};

use crate::link::{Link, PortSpec};
use crate::{BoardError, Result};

/// How long to wait and how often to try.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Wait for one reply.
    pub timeout: Duration,
    /// Extra attempts after the first (for idempotent requests).
    pub retries: u32,
    /// How long to keep trying to connect (TCP, Unix).
    pub connect: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(1000),
            retries: 2,
            connect: Duration::from_secs(5),
        }
    }
}

/// Who the board is (owned form of [`zest_proto::Identity`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardIdentity {
    /// Firmware version.
    pub firmware_version: String,
    /// Protocol version the firmware speaks.
    pub protocol_version: u8,
    /// Board name.
    pub board: String,
    /// PL accelerator version, if its ID register answered.
    pub accelerator: Option<u16>,
    /// Loaded model id, if any.
    pub model_id: Option<u64>,
    /// Largest frame the firmware accepts.
    pub max_frame_len: u32,
    /// The links the firmware serves.
    pub links: zest_proto::Links,
}

/// A decoded reply, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// See [`Response::Identity`].
    Identity(BoardIdentity),
    /// See [`Response::Echo`].
    Echo(Vec<u8>),
    /// See [`Response::Stats`].
    Stats(Stats),
    /// See [`Response::Rejected`].
    Rejected(RejectReason),
    /// See [`Response::Estimates`].
    Estimates(BoardEstimates),
    /// See [`Response::Model`].
    Model(ModelStatus),
    /// See [`Response::Refused`].
    Refused(Refusal),
    /// One page of a sweep's answer, see [`Response::Sweep`].
    SweepPage(SweepPageOwned),
}

/// Owned form of [`zest_proto::SweepPage`].
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPageOwned {
    /// Who computed it.
    pub engine: Engine,
    /// The model that did.
    pub model_id: u64,
    /// Grid points estimated.
    pub evaluated: u32,
    /// Of those, over a limit.
    pub infeasible: u32,
    /// Points in the whole Pareto set.
    pub front: u32,
    /// The board's buffer overflowed.
    pub overflow: bool,
    /// Position of this page's first point.
    pub first: u32,
    /// (grid index, targets) of this page's points.
    pub points: Vec<(u32, [f64; N_TARGETS])>,
    /// Board timer ticks the sweep took.
    pub ticks: u32,
}

/// A whole sweep answered by a board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardSweep {
    /// Who computed it.
    pub engine: Engine,
    /// The model that did.
    pub model_id: u64,
    /// Grid points estimated.
    pub evaluated: u32,
    /// Of those, over a limit.
    pub infeasible: u32,
    /// The board's buffer overflowed.
    pub overflow: bool,
    /// The Pareto set: (grid index, targets), ascending by index.
    pub points: Vec<(u32, [f64; N_TARGETS])>,
    /// Board timer ticks the sweep took.
    pub ticks: u32,
    /// Bytes sent and received for it, frames and retries included.
    pub bytes: (usize, usize),
}

/// Owned form of [`zest_proto::Estimates`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardEstimates {
    /// Who computed them.
    pub engine: Engine,
    /// The model that did.
    pub model_id: u64,
    /// Per design, its six raw totals.
    pub totals: Vec<[u64; N_TARGETS]>,
    /// Board timer ticks spent computing.
    pub ticks: u32,
}

impl Reply {
    fn from_response(r: Response<'_>) -> Self {
        match r {
            Response::Identity(id) => Reply::Identity(BoardIdentity {
                firmware_version: id.firmware_version.to_string(),
                protocol_version: id.protocol_version,
                board: id.board.to_string(),
                accelerator: id.accelerator,
                model_id: id.model_id,
                max_frame_len: id.max_frame_len,
                links: id.links,
            }),
            Response::Echo(d) => Reply::Echo(d.to_vec()),
            Response::Stats(s) => Reply::Stats(s),
            Response::Rejected(r) => Reply::Rejected(r),
            Response::Estimates(e) => Reply::Estimates(BoardEstimates {
                engine: e.engine,
                model_id: e.model_id,
                totals: e.iter().collect(),
                ticks: e.ticks,
            }),
            Response::Model(m) => Reply::Model(m),
            Response::Refused(r) => Reply::Refused(r),
            Response::Sweep(p) => Reply::SweepPage(SweepPageOwned {
                engine: p.engine,
                model_id: p.model_id,
                evaluated: p.evaluated,
                infeasible: p.infeasible,
                front: p.front,
                overflow: p.overflow,
                first: p.first,
                points: p.iter().collect(),
                ticks: p.ticks,
            }),
        }
    }

    /// Short name of the reply kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Identity(_) => "Identity",
            Reply::Echo(_) => "Echo",
            Reply::Stats(_) => "Stats",
            Reply::Rejected(_) => "Rejected",
            Reply::Estimates(_) => "Estimates",
            Reply::Model(_) => "Model",
            Reply::Refused(_) => "Refused",
            Reply::SweepPage(_) => "Sweep",
        }
    }
}

/// One frame as received: its sequence number and reply, or why it was bad.
pub type Received = std::result::Result<(u16, Reply), FrameError>;

/// A connection to one board.
pub struct BoardClient {
    link: Link,
    port: String,
    patience: Patience,
    decoder: Box<FrameDecoder<ENCODED_BUF_LEN>>,
    pending: Vec<u8>,
    next_seq: u16,
    /// Replies that arrived damaged, or late for an earlier request.
    pub discarded: u64,
    /// Bytes written to the link so far.
    pub bytes_sent: usize,
    /// Bytes read from the link so far.
    pub bytes_received: usize,
}

fn request_name(req: &Request<'_>) -> &'static str {
    match req {
        Request::Identify => "Identify",
        Request::Echo(_) => "Echo",
        Request::Stats => "Stats",
        Request::Estimate(_) => "Estimate",
        Request::ModelBegin { .. } => "ModelBegin",
        Request::ModelChunk { .. } => "ModelChunk",
        Request::ModelCommit { .. } => "ModelCommit",
        Request::ModelReset => "ModelReset",
        Request::Sweep(_) => "Sweep",
    }
}

impl BoardClient {
    /// Connects to the board at `spec`. Over UDP, one small `Identify`
    /// goes first (its answer, or its absence, is not judged here): a
    /// router or QEMU's user network that still has to resolve the board's
    /// MAC address may keep one packet and drop the rest, which would lose
    /// the first fragmented request and cost a whole timeout.
    pub fn connect(spec: &PortSpec, patience: Patience) -> Result<Self> {
        let link = Link::open(spec, patience.connect)?;
        let mut client = Self::over(link, spec.to_string(), patience);
        if matches!(spec, PortSpec::Udp(_)) {
            let full = client.patience.timeout;
            client.patience.timeout = full.min(Duration::from_millis(300));
            for _ in 0..3 {
                if matches!(client.try_once(&Request::Identify), Ok(Some(_))) {
                    break;
                }
            }
            client.patience.timeout = full;
        }
        Ok(client)
    }

    /// Uses an already open link.
    pub fn over(link: Link, port: String, patience: Patience) -> Self {
        Self {
            link,
            port,
            patience,
            decoder: Box::new(FrameDecoder::new()),
            pending: Vec::new(),
            next_seq: 1,
            discarded: 0,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// The port, as given.
    pub fn port(&self) -> &str {
        &self.port
    }

    fn link_err(&self, action: &'static str, source: io::Error) -> BoardError {
        BoardError::Link {
            port: self.port.clone(),
            action,
            source,
        }
    }

    /// A fresh sequence number (never 0: the board uses 0 for replies to
    /// frames it could not attribute).
    fn take_seq(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
        seq
    }

    /// Writes raw bytes to the board, exactly as given (for link tests and
    /// fault injection).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes_sent += bytes.len();
        self.link
            .write_all(bytes)
            .and_then(|_| self.link.flush())
            .map_err(|e| self.link_err("write", e))
    }

    /// Sends one request frame, preceded by a delimiter that ends any
    /// partial frame on the line. Returns its sequence number.
    pub fn send(&mut self, req: &Request<'_>) -> Result<u16> {
        let seq = self.take_seq();
        let mut wire = vec![0u8; ENCODED_BUF_LEN + 1];
        wire[0] = FRAME_DELIMITER;
        let n = encode_frame(seq, req, &mut wire[1..])
            .map_err(|e| BoardError::TooLarge(format!("{}: {e}", request_name(req))))?;
        self.send_raw(&wire[..n + 1])?;
        Ok(seq)
    }

    /// Waits until `deadline` for the next frame from the board.
    /// `Ok(None)` means nothing arrived in time.
    pub fn receive(&mut self, deadline: Instant) -> Result<Option<Received>> {
        let mut buf = [0u8; 4096];
        loop {
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                let (frame, used) = match self.decoder.feed(&pending) {
                    Feed::Consumed => (None, pending.len()),
                    Feed::Frame { result, rest } => {
                        let received = result.and_then(|f| {
                            f.decode::<Response>()
                                .map(|r| (f.seq, Reply::from_response(r)))
                        });
                        (Some(received), pending.len() - rest.len())
                    }
                };
                self.pending = pending[used..].to_vec();
                if let Some(frame) = frame {
                    return Ok(Some(frame));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.link
                .set_read_timeout(deadline - now)
                .map_err(|e| self.link_err("set timeout", e))?;
            match self.link.read(&mut buf) {
                Ok(0) => {
                    return Err(self.link_err(
                        "read",
                        io::Error::new(io::ErrorKind::UnexpectedEof, "the board closed the link"),
                    ))
                }
                Ok(n) => {
                    self.bytes_received += n;
                    self.pending.extend_from_slice(&buf[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(self.link_err("read", e)),
            }
        }
    }

    /// Sends `req` once and waits up to one timeout for its reply.
    /// `Ok(None)`: no reply in time. Stale and damaged frames are skipped.
    pub fn try_once(&mut self, req: &Request<'_>) -> Result<Option<Reply>> {
        let seq = self.send(req)?;
        let deadline = Instant::now() + self.patience.timeout;
        while let Some(frame) = self.receive(deadline)? {
            match frame {
                Ok((s, reply)) if s == seq => return Ok(Some(reply)),
                // A frame of ours damaged on the way: the board could not
                // read its seq. Give up on this attempt now, not at timeout.
                Ok((0, Reply::Rejected(reason))) if reason != RejectReason::Busy => {
                    self.discarded += 1;
                    return Ok(None);
                }
                Err(FrameError {
                    error: DecodeError::UnsupportedVersion { found },
                    ..
                }) => {
                    return Err(BoardError::VersionMismatch {
                        board: found,
                        host: PROTOCOL_VERSION,
                    })
                }
                _ => self.discarded += 1,
            }
        }
        Ok(None)
    }

    /// Sends `req` and returns its reply, retrying (it must be idempotent)
    /// on silence, damage or `Busy`, up to the configured retries.
    pub fn request(&mut self, req: &Request<'_>) -> Result<Reply> {
        let tries = self.patience.retries + 1;
        for attempt in 0..tries {
            match self.try_once(req)? {
                Some(Reply::Rejected(RejectReason::Busy)) => {
                    std::thread::sleep(Duration::from_millis(10 << attempt.min(6)));
                }
                Some(Reply::Rejected(reason)) => {
                    return Err(BoardError::Rejected {
                        request: request_name(req),
                        reason,
                    })
                }
                Some(reply) => return Ok(reply),
                None => {}
            }
        }
        Err(BoardError::Timeout {
            port: self.port.clone(),
            request: request_name(req),
            tries,
            timeout: self.patience.timeout,
        })
    }

    /// Asks the board who it is, and checks it speaks our protocol version.
    pub fn identify(&mut self) -> Result<BoardIdentity> {
        match self.request(&Request::Identify)? {
            Reply::Identity(id) if id.protocol_version != PROTOCOL_VERSION => {
                Err(BoardError::VersionMismatch {
                    board: id.protocol_version,
                    host: PROTOCOL_VERSION,
                })
            }
            Reply::Identity(id) => Ok(id),
            other => Err(BoardError::UnexpectedReply {
                request: "Identify",
                got: other.kind(),
            }),
        }
    }

    /// Reads the board's counters.
    pub fn stats(&mut self) -> Result<Stats> {
        match self.request(&Request::Stats)? {
            Reply::Stats(s) => Ok(s),
            other => Err(BoardError::UnexpectedReply {
                request: "Stats",
                got: other.kind(),
            }),
        }
    }

    /// Echoes `data` once (no retry); `Ok(None)` if no reply came in time.
    pub fn echo_once(&mut self, data: &[u8]) -> Result<Option<Vec<u8>>> {
        if data.len() > MAX_ECHO_LEN {
            return Err(BoardError::TooLarge(format!(
                "echo payload of {} bytes exceeds the {MAX_ECHO_LEN}-byte limit",
                data.len()
            )));
        }
        match self.try_once(&Request::Echo(data))? {
            Some(Reply::Echo(back)) => Ok(Some(back)),
            Some(Reply::Rejected(reason)) => Err(BoardError::Rejected {
                request: "Echo",
                reason,
            }),
            Some(other) => Err(BoardError::UnexpectedReply {
                request: "Echo",
                got: other.kind(),
            }),
            None => Ok(None),
        }
    }

    /// One `Estimate` request (retried: the board keeps no state between
    /// requests). A refusal is an error.
    pub fn estimate(&mut self, req: &EstimateRequest<'_>) -> Result<BoardEstimates> {
        match self.request(&Request::Estimate(*req))? {
            Reply::Estimates(e) => {
                if e.totals.len() != req.layers.len() {
                    return Err(BoardError::UnexpectedReply {
                        request: "Estimate",
                        got: "Estimates of another length",
                    });
                }
                Ok(e)
            }
            Reply::Refused(refusal) => Err(BoardError::Refused {
                request: "Estimate",
                refusal,
            }),
            other => Err(BoardError::UnexpectedReply {
                request: "Estimate",
                got: other.kind(),
            }),
        }
    }

    fn model_request(&mut self, req: &Request<'_>) -> Result<ModelStatus> {
        match self.request(req)? {
            Reply::Model(m) => Ok(m),
            Reply::Refused(refusal) => Err(BoardError::Refused {
                request: request_name(req),
                refusal,
            }),
            other => Err(BoardError::UnexpectedReply {
                request: request_name(req),
                got: other.kind(),
            }),
        }
    }

    /// Replaces the board's model with `bytes` (an encoded fixed-point
    /// model whose last 8 bytes are its id), chunk by chunk;
    /// `progress(bytes_sent)` after each.
    pub fn upload_model(
        &mut self,
        bytes: &[u8],
        mut progress: impl FnMut(usize),
    ) -> Result<ModelStatus> {
        let id = zest_fixed::model::FixedModel::id_of(bytes)
            .map_err(|e| BoardError::TooLarge(format!("not a fixed-point model: {e}")))?;
        let len = u32::try_from(bytes.len())
            .map_err(|_| BoardError::TooLarge(format!("model of {} bytes", bytes.len())))?;
        self.model_request(&Request::ModelBegin { id, len })?;
        for (k, chunk) in bytes.chunks(MAX_CHUNK_LEN).enumerate() {
            let offset = (k * MAX_CHUNK_LEN) as u32;
            self.model_request(&Request::ModelChunk {
                offset,
                data: chunk,
            })?;
            progress(k * MAX_CHUNK_LEN + chunk.len());
        }
        self.model_request(&Request::ModelCommit { id })
    }

    /// Sends one raw model request (for tests of the board's checks).
    pub fn model_raw(&mut self, req: &Request<'_>) -> Result<ModelStatus> {
        self.model_request(req)
    }

    /// Back to the firmware's built-in model.
    pub fn reset_model(&mut self) -> Result<ModelStatus> {
        self.model_request(&Request::ModelReset)
    }

    /// Runs a sweep on the board: sends `req` and gathers every page of
    /// the Pareto set, waiting up to `wait` for the board to compute it. A
    /// lost page (UDP) or a silent board repeats the whole request (it is
    /// deterministic), up to the configured retries. A refusal is an error.
    pub fn sweep(&mut self, req: &SweepRequest<'_>, wait: Duration) -> Result<BoardSweep> {
        let (sent0, received0) = (self.bytes_sent, self.bytes_received);
        let tries = self.patience.retries + 1;
        'attempt: for _ in 0..tries {
            let seq = self.send(&Request::Sweep(*req))?;
            let deadline = Instant::now() + wait.max(self.patience.timeout);
            let mut pages: Vec<SweepPageOwned> = Vec::new();
            let mut have = 0usize;
            while let Some(frame) = self.receive(deadline)? {
                let page = match frame {
                    Ok((s, Reply::SweepPage(p))) if s == seq => p,
                    Ok((s, Reply::Refused(refusal))) if s == seq => {
                        return Err(BoardError::Refused {
                            request: "Sweep",
                            refusal,
                        })
                    }
                    Ok((s, Reply::Rejected(reason))) if s == seq => {
                        return Err(BoardError::Rejected {
                            request: "Sweep",
                            reason,
                        })
                    }
                    Ok((s, other)) if s == seq => {
                        return Err(BoardError::UnexpectedReply {
                            request: "Sweep",
                            got: other.kind(),
                        })
                    }
                    _ => {
                        self.discarded += 1;
                        continue;
                    }
                };
                if pages.iter().any(|p| p.first == page.first) {
                    self.discarded += 1;
                    continue;
                }
                have += page.points.len();
                let total = page.front as usize;
                pages.push(page);
                if have >= total {
                    pages.sort_by_key(|p| p.first);
                    let head = pages[0].clone();
                    let points: Vec<_> = pages.into_iter().flat_map(|p| p.points).collect();
                    if points.len() != total {
                        continue 'attempt;
                    }
                    return Ok(BoardSweep {
                        engine: head.engine,
                        model_id: head.model_id,
                        evaluated: head.evaluated,
                        infeasible: head.infeasible,
                        overflow: head.overflow,
                        points,
                        ticks: head.ticks,
                        bytes: (self.bytes_sent - sent0, self.bytes_received - received0),
                    });
                }
            }
        }
        Err(BoardError::Timeout {
            port: self.port.clone(),
            request: "Sweep",
            tries,
            timeout: wait.max(self.patience.timeout),
        })
    }
}

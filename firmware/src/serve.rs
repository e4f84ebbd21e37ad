//! The request loop: bytes in from the protocol UART and datagrams in from
//! UDP, frames decoded, requests answered on the link they came from, every
//! rejected frame answered with its reason and counted. Nothing a peer
//! sends on either link can make it panic or stop serving the other.
//!
//! On UDP each datagram is decoded on its own: it is fed to the decoder and
//! followed by a delimiter, so a datagram that lost its end is rejected
//! (bad CRC) rather than glued to the next one. Several frames in one
//! datagram are answered one datagram each.

use embedded_io::{Read, ReadReady, Write};
use zest_proto::{
    encode_frame, sweep_points, Engine, Estimates, Feed, FrameDecoder, Identity, Links, Refusal,
    RejectCounts, RejectReason, Request, Response, Stats, SweepPage, SweepRequest, ENCODED_BUF_LEN,
    FRAME_DELIMITER, MAX_FRAME_LEN, MAX_MODEL_LEN, PROTOCOL_VERSION, SWEEP_POINTS_PER_PAGE,
};

use crate::net::{Datagram, Net};
use crate::{accel, board, estimate, model, net, pl, sweep, timer};

/// Firmware version reported by `Identify`.
const FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Sequence number of replies to frames too damaged to trust theirs. The
/// host never sends sequence number 0.
const UNATTRIBUTED_SEQ: u16 = 0;

/// Counters, models and facts that requests are answered from.
struct Board {
    frames_served: u32,
    rejected: RejectCounts,
    probe: pl::Probe,
    models: model::Store,
    accel: Option<accel::Accel>,
    links: Links,
    out: [u8; estimate::OUT_LEN],
    front: &'static mut sweep::Front,
}

impl Board {
    fn answer<'a>(&'a mut self, request: Request<'a>, uptime: &mut timer::Uptime) -> Response<'a> {
        self.frames_served = self.frames_served.saturating_add(1);
        let model_reply = |r: Result<zest_proto::ModelStatus, zest_proto::Refusal>| match r {
            Ok(s) => Response::Model(s),
            Err(e) => Response::Refused(e),
        };
        match request {
            Request::Identify => Response::Identity(Identity {
                firmware_version: FIRMWARE_VERSION,
                protocol_version: PROTOCOL_VERSION,
                board: board::NAME,
                accelerator: self.probe.accelerator,
                model_id: self.models.active_id(),
                max_frame_len: MAX_FRAME_LEN as u32,
                links: self.links,
            }),
            Request::Echo(data) => Response::Echo(data),
            Request::Stats => Response::Stats(Stats {
                frames_served: self.frames_served,
                rejected: self.rejected,
                uptime_ticks: uptime.ticks(),
                tick_hz: timer::TICK_HZ,
            }),
            Request::Estimate(req) => {
                let (model, id) = match self.models.active() {
                    Ok(m) => m,
                    Err(e) => return Response::Refused(e),
                };
                let start = uptime.ticks();
                match estimate::run(&model, id, &req, self.accel.as_ref(), &mut self.out) {
                    Ok((engine, n)) => Response::Estimates(Estimates {
                        engine,
                        model_id: id,
                        totals: &self.out[..n],
                        ticks: uptime
                            .ticks()
                            .saturating_sub(start)
                            .min(u64::from(u32::MAX)) as u32,
                    }),
                    Err(e) => Response::Refused(e),
                }
            }
            Request::ModelBegin { id, len } => model_reply(self.models.begin(id, len)),
            Request::ModelChunk { offset, data } => model_reply(self.models.chunk(offset, data)),
            Request::ModelCommit { id } => model_reply(self.models.commit(id)),
            Request::ModelReset => Response::Model(self.models.reset()),
            // Answered page by page by `Board::sweep`, never here.
            Request::Sweep(_) => Response::Refused(Refusal::BadSweep),
        }
    }

    /// Answers a sweep: one `Response::Sweep` page per
    /// [`SWEEP_POINTS_PER_PAGE`] points of the Pareto set (at least one),
    /// or a refusal.
    fn sweep(
        &mut self,
        seq: u16,
        req: &SweepRequest<'_>,
        uptime: &mut timer::Uptime,
        emit: &mut impl FnMut(&[u8]),
    ) {
        self.frames_served = self.frames_served.saturating_add(1);
        let start = uptime.ticks();
        let (model, id) = match self.models.active() {
            Ok(m) => m,
            Err(e) => return reply(seq, &Response::Refused(e), emit),
        };
        let outcome = match sweep::run(&model, id, req, self.front) {
            Ok(o) => o,
            Err(e) => return reply(seq, &Response::Refused(e), emit),
        };
        let ticks = uptime
            .ticks()
            .saturating_sub(start)
            .min(u64::from(u32::MAX)) as u32;
        let points = &self.front[..outcome.front as usize];
        let mut page_buf = [0u8; SWEEP_POINTS_PER_PAGE * sweep_points::POINT];
        let mut first = 0usize;
        loop {
            let page = &points[first..(first + SWEEP_POINTS_PER_PAGE).min(points.len())];
            let mut used = 0;
            for (k, p) in page.iter().enumerate() {
                used = sweep_points::write(&mut page_buf, k, p.index, &p.targets);
            }
            let response = Response::Sweep(SweepPage {
                engine: Engine::Soft,
                model_id: id,
                evaluated: outcome.evaluated,
                infeasible: outcome.infeasible,
                front: outcome.front,
                overflow: outcome.overflow,
                first: first as u32,
                points: &page_buf[..used],
                ticks,
            });
            reply(seq, &response, emit);
            first += page.len();
            if first >= points.len() {
                break;
            }
        }
    }
}

/// The upload buffer (a model received over the wire lives here).
static mut UPLOAD: [u8; MAX_MODEL_LEN] = [0; MAX_MODEL_LEN];

/// The Pareto set of the sweep being answered.
static mut FRONT: sweep::Front = sweep::EMPTY_FRONT;

/// Encodes one reply into a stack buffer and hands it to `emit`. Every
/// reply mirrors a request that fitted one frame, so encoding cannot fail;
/// if it ever did, the host gets `Rejected(Undecodable)` rather than
/// silence.
fn reply(seq: u16, response: &Response<'_>, emit: &mut impl FnMut(&[u8])) {
    let mut tx = [0u8; ENCODED_BUF_LEN];
    let n = match encode_frame(seq, response, &mut tx) {
        Ok(n) => n,
        Err(e) => {
            crate::log!("reply for seq {seq} not encodable: {e}");
            let fallback = Response::Rejected(RejectReason::Undecodable);
            encode_frame(seq, &fallback, &mut tx).unwrap_or(0)
        }
    };
    emit(&tx[..n]);
}

/// Feeds `bytes` to `decoder`, answers every frame they complete (a reply
/// each, through `emit`) and counts every rejected one.
fn serve_bytes(
    board: &mut Board,
    decoder: &mut FrameDecoder<ENCODED_BUF_LEN>,
    mut bytes: &[u8],
    uptime: &mut timer::Uptime,
    emit: &mut impl FnMut(&[u8]),
) {
    while let Feed::Frame { result, rest } = decoder.feed(bytes) {
        match result.and_then(|frame| frame.decode::<Request>().map(|r| (frame.seq, r))) {
            Ok((seq, Request::Sweep(req))) => board.sweep(seq, &req, uptime, emit),
            Ok((seq, request)) => {
                let response = board.answer(request, uptime);
                reply(seq, &response, emit);
            }
            Err(err) => {
                let reason = err.error.reason();
                board.rejected.record(reason);
                let seq = err.seq.unwrap_or(UNATTRIBUTED_SEQ);
                reply(seq, &Response::Rejected(reason), emit);
            }
        }
        bytes = rest;
    }
}

/// How often the network stack is polled when no frame arrives.
const NET_MAINTENANCE_MS: i64 = 10;

/// Milliseconds since start, smoltcp's clock.
fn millis(uptime: &mut timer::Uptime) -> i64 {
    (uptime.ticks() / u64::from(timer::TICK_HZ / 1000)) as i64
}

/// Answers every datagram waiting on the UDP socket.
fn serve_udp(
    board: &mut Board,
    net: &mut Net,
    decoder: &mut FrameDecoder<ENCODED_BUF_LEN>,
    uptime: &mut timer::Uptime,
) {
    // A host frame is preceded by one delimiter.
    let mut rx = [0u8; ENCODED_BUF_LEN + 1];
    let now = millis(uptime);
    net.poll(now);
    while let Some(datagram) = net.receive(&mut rx) {
        let now = millis(uptime);
        let from = from_of(&datagram);
        let mut emit = |bytes: &[u8]| {
            net.send(bytes, from, now);
        };
        match datagram {
            Datagram::Fits { len, .. } => {
                serve_bytes(board, decoder, &rx[..len], uptime, &mut emit);
                serve_bytes(board, decoder, &[FRAME_DELIMITER], uptime, &mut emit);
            }
            Datagram::TooLong { .. } => {
                board.rejected.record(RejectReason::FrameTooLong);
                let response = Response::Rejected(RejectReason::FrameTooLong);
                reply(UNATTRIBUTED_SEQ, &response, &mut emit);
            }
        }
        net.poll(millis(uptime));
    }
    net.flush(millis(uptime), 16);
}

fn from_of(d: &Datagram) -> smoltcp::socket::udp::UdpMetadata {
    match d {
        Datagram::Fits { from, .. } | Datagram::TooLong { from } => *from,
    }
}

/// Serves requests on `uart`, and on UDP when `net` is up, forever.
pub fn run<U: Read + ReadReady + Write>(
    uart: &mut U,
    uptime: &mut timer::Uptime,
    mut net: Option<Net>,
) -> ! {
    let probe = pl::probe();
    crate::log!(
        "pl: configured={} id={:#010x} accelerator={:?}",
        probe.pl_configured,
        probe.id,
        probe.accelerator
    );
    // SAFETY: `run` is entered once and never returns, so this is the only
    // reference to the buffer for the rest of the program.
    let upload = unsafe { &mut *core::ptr::addr_of_mut!(UPLOAD) };
    // SAFETY: as for UPLOAD.
    let front = unsafe { &mut *core::ptr::addr_of_mut!(FRONT) };
    let models = model::Store::new(upload);
    crate::log!("model: {:?}", models.active_id());
    let mut board = Board {
        frames_served: 0,
        rejected: RejectCounts::default(),
        accel: accel::Accel::from_probe(probe.accelerator),
        probe,
        models,
        links: Links {
            uart: true,
            udp: net.as_ref().map(|_| net::ENDPOINT),
        },
        out: [0; estimate::OUT_LEN],
        front,
    };
    let mut uart_decoder = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut udp_decoder = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut chunk = [0u8; 64];
    match board.links.udp {
        Some(udp) => {
            crate::log!("serving zest protocol v{PROTOCOL_VERSION} on UART0 and UDP {udp}")
        }
        None => crate::log!("serving zest protocol v{PROTOCOL_VERSION} on UART0"),
    }
    // The stack is polled when a frame waits in the RX ring, and every
    // NET_MAINTENANCE_MS for its timers (ARP, reassembly); a full poll on
    // every turn would slow the UART (64 bytes a turn) several times over.
    let mut last_poll = 0i64;
    loop {
        // Also keeps the uptime count exact (it must be read once a wrap).
        let now = millis(uptime);
        if let Some(net) = net.as_mut() {
            if net.frame_waiting() || now - last_poll >= NET_MAINTENANCE_MS {
                serve_udp(&mut board, net, &mut udp_decoder, uptime);
                last_poll = now;
            }
        }
        if !matches!(uart.read_ready(), Ok(true)) {
            continue;
        }
        let Ok(n) = uart.read(&mut chunk) else {
            continue;
        };
        // The UART's error type is Infallible.
        let mut emit = |bytes: &[u8]| {
            let _ = uart.write_all(bytes);
        };
        serve_bytes(
            &mut board,
            &mut uart_decoder,
            &chunk[..n],
            uptime,
            &mut emit,
        );
    }
}

//! The request loop: bytes in from the protocol UART, frames decoded,
//! requests answered, every rejected frame answered with its reason and
//! counted. Nothing a peer sends can make it panic or stop serving.

use embedded_io::{Read, ReadReady, Write};
use zest_proto::{
    encode_frame, Feed, FrameDecoder, Identity, RejectCounts, RejectReason, Request, Response,
    Stats, ENCODED_BUF_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

use crate::{board, pl, timer};

/// Firmware version reported by `Identify`.
const FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Sequence number of replies to frames too damaged to trust theirs. The
/// host never sends sequence number 0.
const UNATTRIBUTED_SEQ: u16 = 0;

/// Counters and facts that requests are answered from.
struct Board {
    frames_served: u32,
    rejected: RejectCounts,
    probe: pl::Probe,
}

impl Board {
    fn answer<'a>(&mut self, request: Request<'a>, uptime_ticks: u64) -> Response<'a> {
        self.frames_served = self.frames_served.saturating_add(1);
        match request {
            Request::Identify => Response::Identity(Identity {
                firmware_version: FIRMWARE_VERSION,
                protocol_version: PROTOCOL_VERSION,
                board: board::NAME,
                accelerator: self.probe.accelerator,
                model_id: None,
                max_frame_len: MAX_FRAME_LEN as u32,
            }),
            Request::Echo(data) => Response::Echo(data),
            Request::Stats => Response::Stats(Stats {
                frames_served: self.frames_served,
                rejected: self.rejected,
                uptime_ticks,
                tick_hz: timer::TICK_HZ,
            }),
        }
    }
}

/// Encodes one reply into a stack buffer and sends it. Every reply mirrors a
/// request that fitted one frame, so encoding cannot fail; if it ever did,
/// the host gets `Rejected(Undecodable)` rather than silence.
fn reply<W: Write>(uart: &mut W, seq: u16, response: &Response<'_>) {
    let mut tx = [0u8; ENCODED_BUF_LEN];
    let n = match encode_frame(seq, response, &mut tx) {
        Ok(n) => n,
        Err(e) => {
            crate::log!("reply for seq {seq} not encodable: {e}");
            let fallback = Response::Rejected(RejectReason::Undecodable);
            encode_frame(seq, &fallback, &mut tx).unwrap_or(0)
        }
    };
    // The UART's error type is Infallible.
    let _ = uart.write_all(&tx[..n]);
}

/// Serves requests on `uart` forever.
pub fn run<U: Read + ReadReady + Write>(uart: &mut U, uptime: &mut timer::Uptime) -> ! {
    let probe = pl::probe();
    crate::log!(
        "pl: configured={} id={:#010x} accelerator={:?}",
        probe.pl_configured,
        probe.id,
        probe.accelerator
    );
    let mut board = Board {
        frames_served: 0,
        rejected: RejectCounts::default(),
        probe,
    };
    let mut decoder = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut chunk = [0u8; 64];
    crate::log!("serving zest protocol v{PROTOCOL_VERSION} on UART0");
    loop {
        let now = uptime.ticks();
        if !matches!(uart.read_ready(), Ok(true)) {
            continue;
        }
        let Ok(n) = uart.read(&mut chunk) else {
            continue;
        };
        let mut window = &chunk[..n];
        while let Feed::Frame { result, rest } = decoder.feed(window) {
            match result.and_then(|frame| frame.decode::<Request>().map(|r| (frame.seq, r))) {
                Ok((seq, request)) => {
                    let response = board.answer(request, now);
                    reply(uart, seq, &response);
                }
                Err(err) => {
                    let reason = err.error.reason();
                    board.rejected.record(reason);
                    let seq = err.seq.unwrap_or(UNATTRIBUTED_SEQ);
                    reply(uart, seq, &Response::Rejected(reason));
                }
            }
            window = rest;
        }
    }
}

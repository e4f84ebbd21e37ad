//! `cargo xtask bench`: link and board figures for the README, in one run.
//!
//! The firmware under QEMU echoes 32 B and 512 B payloads over UART0 as a
//! TCP chardev (what `zest board --port tcp:` uses) and as a Unix socket,
//! and over GEM0 as UDP datagrams (`--port udp:`); a plain loopback TCP
//! echo thread, measured in the same run, is the floor no QEMU link can
//! beat. Figures are medians of `count` sequential echoes. Then, with the
//! release `zest`: `Estimate` designs/s over the UART and over UDP, and
//! `Sweep` configurations/s on the board against the host's own sweep,
//! with the bytes a sweep saves on the link. QEMU paces neither link: a
//! PYNQ-Z2's UART carries at most 11.5 kB/s each way.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use zest_board::client::{BoardClient, Patience};
use zest_board::qemu::{Qemu, QemuConfig, Uart0};

use crate::{root, setup, toolchain, Board};

#[derive(Serialize)]
struct Row {
    link: String,
    size: usize,
    count: u32,
    lost: u32,
    rtt_median_us: f64,
    rtt_p99_us: f64,
    requests_per_s: f64,
    payload_bytes_per_s: f64,
}

fn qemu_rows(elf: &Path, uart0: Uart0, label: &str, count: u32) -> Result<Vec<Row>> {
    let qemu = Qemu::spawn(&QemuConfig {
        elf: elf.to_path_buf(),
        uart0,
        log: root().join(format!("target/bench-{label}-uart1.log")),
        icount_shift: None,
        udp_port: None,
    })?;
    let mut client = BoardClient::connect(qemu.port(), Patience::default())?;
    client.identify()?;
    let mut rows = ping_rows(&mut client, &format!("QEMU UART0, {label}"), count)?;
    if matches!(qemu.port(), zest_board::link::PortSpec::Tcp(_)) {
        // The same board over its Ethernet (the UART's client started it).
        let mut udp = BoardClient::connect(qemu.udp_port(), Patience::default())?;
        udp.identify()?;
        rows.extend(ping_rows(&mut udp, "QEMU GEM0, UDP", count)?);
    }
    Ok(rows)
}

fn ping_rows(client: &mut BoardClient, link: &str, count: u32) -> Result<Vec<Row>> {
    // Warm-up: first requests pay for QEMU's translation cache.
    zest_board::ping::ping(client, 50, 512, |_| {})?;
    let mut rows = Vec::new();
    for size in [32usize, 512] {
        let r = zest_board::ping::ping(client, count, size, |_| {})?;
        rows.push(Row {
            link: link.to_string(),
            size,
            count,
            lost: r.lost + r.corrupted,
            rtt_median_us: r.rtt_median_us,
            rtt_p99_us: r.rtt_p99_us,
            requests_per_s: r.requests_per_s,
            payload_bytes_per_s: r.payload_bytes_per_s,
        });
    }
    Ok(rows)
}

/// Runs the release `zest` with `args`, expects success, returns its JSON.
fn zest_json(zest: &Path, args: &[&str]) -> Result<serde_json::Value> {
    let mut cmd = std::process::Command::new(zest);
    cmd.current_dir(root()).args(args);
    eprintln!("xtask: $ {cmd:?}");
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "zest {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Estimate and Sweep throughput on one QEMU board, over both links.
fn board_work(elf: &Path, zest: &Path) -> Result<serde_json::Value> {
    let qemu = Qemu::spawn(&QemuConfig {
        elf: elf.to_path_buf(),
        uart0: Uart0::Tcp(None),
        log: root().join("target/bench-work-uart1.log"),
        icount_shift: None,
        udp_port: None,
    })?;
    let (uart, udp) = (qemu.port().to_string(), qemu.udp_port().to_string());
    let bench = |port: &str| {
        zest_json(
            zest,
            &[
                "board",
                "bench",
                "--port",
                port,
                "--timeout-ms",
                "20000",
                "--designs",
                "1000",
                "--json",
            ],
        )
    };
    // The UART first: its first client starts the CPU.
    let est_uart = bench(&uart)?;
    let est_udp = bench(&udp)?;
    let jet = "tests/fixtures/jet_tagger.json";
    let sweep_board = zest_json(
        zest,
        &[
            "sweep",
            jet,
            "--board",
            &udp,
            "--compare-estimates",
            "--json",
        ],
    )?;
    let sweep_host = zest_json(zest, &["sweep", jet, "--json"])?;
    let check = zest_json(
        zest,
        &[
            "board",
            "sweep-check",
            "--port",
            &udp,
            "--max",
            "200",
            "--json",
        ],
    )?;
    Ok(serde_json::json!({
        "estimate_uart": est_uart,
        "estimate_udp": est_udp,
        "sweep_board": sweep_board,
        "sweep_host": sweep_host,
        "sweep_check": check,
    }))
}

/// Plain TCP echo on loopback: the cost of the host side and the kernel alone.
fn loopback_rows(count: u32) -> Result<Vec<Row>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            s.write_all(&buf[..n])?;
        }
    });
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    let mut rows = Vec::new();
    for size in [32usize, 512] {
        let data = vec![0x5Au8; size];
        let mut back = vec![0u8; size];
        let mut rtts = Vec::with_capacity(count as usize);
        let start = Instant::now();
        for _ in 0..count {
            let t = Instant::now();
            c.write_all(&data)?;
            c.read_exact(&mut back)?;
            rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let wall = start.elapsed().as_secs_f64();
        rtts.sort_by(f64::total_cmp);
        rows.push(Row {
            link: "loopback TCP echo (no QEMU)".into(),
            size,
            count,
            lost: 0,
            rtt_median_us: rtts[rtts.len() / 2],
            rtt_p99_us: rtts[(rtts.len() - 1) * 99 / 100],
            requests_per_s: f64::from(count) / wall,
            payload_bytes_per_s: f64::from(count) * size as f64 / wall,
        });
    }
    drop(c);
    let _ = server.join();
    Ok(rows)
}

/// Runs the benchmark and prints a table (and JSON if asked).
pub fn run(count: u32, json: Option<&Path>) -> Result<()> {
    setup::ensure_qemu()?;
    let elf = toolchain::build_firmware(Board::Qemu)?;
    let sock = std::env::temp_dir().join(format!("zest-bench-{}.sock", std::process::id()));
    let mut rows = qemu_rows(&elf, Uart0::Tcp(None), "tcp nodelay", count)?;
    rows.extend(qemu_rows(
        &elf,
        Uart0::Unix(sock.clone()),
        "unix socket",
        count,
    )?);
    let _ = std::fs::remove_file(&sock);
    rows.extend(loopback_rows(count)?);
    let zest = release_zest()?;
    let work = board_work(&elf, &zest)?;

    println!(
        "{:<30} {:>6} {:>6} {:>12} {:>12} {:>10} {:>12} {:>10}",
        "link", "size B", "lost", "median µs", "p99 µs", "req/s", "kB/s each", "vs floor"
    );
    for r in &rows {
        let floor = rows
            .iter()
            .find(|f| f.link.starts_with("loopback") && f.size == r.size)
            .map(|f| f.rtt_median_us)
            .unwrap_or(f64::NAN);
        println!(
            "{:<30} {:>6} {:>6} {:>12.1} {:>12.1} {:>10.0} {:>12.1} {:>9.0}x",
            r.link,
            r.size,
            r.lost,
            r.rtt_median_us,
            r.rtt_p99_us,
            r.requests_per_s,
            r.payload_bytes_per_s / 1e3,
            r.rtt_median_us / floor
        );
    }
    print_work(&work);
    if let Some(path) = json {
        let all = serde_json::json!({ "links": rows, "board": work });
        std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}

fn print_work(w: &serde_json::Value) {
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!();
    for (link, key) in [
        ("UART0 (TCP)", "estimate_uart"),
        ("GEM0 (UDP)", "estimate_udp"),
    ] {
        let e = &w[key];
        println!(
            "Estimate over {link:<12}: {:>7.1} designs/s ({} designs, {} mismatches); host fixed-point model {:.0} designs/s",
            f(e, "designs_per_s"),
            e["designs"],
            e["mismatches"],
            f(e, "host_designs_per_s")
        );
    }
    let (b, h) = (&w["sweep_board"], &w["sweep_host"]);
    let n = f(b, "evaluated");
    let bytes = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).sum::<f64>())
            .unwrap_or(f64::NAN)
    };
    let (sweep_bytes, est_bytes) = (bytes(&b["bytes"]), bytes(&b["estimate_path_bytes"]));
    println!(
        "Sweep of the jet tagger, {n:.0} configurations: board {:.0} configurations/s over UDP, host {:.0}/s; same Pareto set: {}",
        n / f(b, "seconds"),
        n / f(h, "seconds"),
        b["pareto"] == h["pareto"]
    );
    println!(
        "  link bytes: Sweep {sweep_bytes:.0}, one Estimate per configuration {est_bytes:.0} ({:.1}x)",
        est_bytes / sweep_bytes
    );
    let c = &w["sweep_check"];
    println!(
        "Sweep check, {} distinct data architectures x {} configurations: {} mismatches; board {:.0} configurations/s, host {:.0}/s",
        c["architectures"],
        c["grid_points"],
        c["mismatches"].as_array().map_or(0, Vec::len),
        f(c, "board_configurations_per_s"),
        f(c, "host_configurations_per_s")
    );
}

/// One `zest board bench` run under QEMU.
fn estimate_run(
    elf: &Path,
    zest: &Path,
    designs: usize,
    icount: Option<u8>,
) -> Result<serde_json::Value> {
    let label = if icount.is_some() { "icount" } else { "plain" };
    let qemu = Qemu::spawn(&QemuConfig {
        elf: elf.to_path_buf(),
        uart0: Uart0::Tcp(None),
        log: root().join(format!("target/bench-estimate-{label}-uart1.log")),
        icount_shift: icount,
        udp_port: None,
    })?;
    let mut cmd = std::process::Command::new(zest);
    cmd.current_dir(root()).args([
        "board",
        "bench",
        "--port",
        &qemu.port().to_string(),
        "--timeout-ms",
        "20000",
        "--designs",
        &designs.to_string(),
        "--json",
    ]);
    if let Some(s) = icount {
        cmd.args(["--icount-shift", &s.to_string()]);
    }
    eprintln!("xtask: $ {cmd:?}");
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "zest board bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Builds the release `zest` binary and returns its path.
pub(crate) fn release_zest() -> Result<std::path::PathBuf> {
    crate::run(crate::cargo().args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "zest",
        "--bin",
        "zest",
    ]))?;
    Ok(root().join("target/release/zest"))
}

/// `cargo xtask bench-estimate`.
pub fn estimates(designs: usize, json: Option<&Path>) -> Result<()> {
    setup::ensure_qemu()?;
    let elf = toolchain::build_firmware(Board::Qemu)?;
    let zest = release_zest()?;
    let plain = estimate_run(&elf, &zest, designs, None)?;
    let counted = estimate_run(&elf, &zest, designs, Some(0))?;
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "{} designs ({} from the data, {} realistic; {} tokens), {} mismatches / {} mismatches (icount run)",
        plain["designs"], plain["from_data"], plain["realistic"], plain["tokens"], plain["mismatches"], counted["mismatches"]
    );
    println!(
        "board soft model over QEMU's TCP UART: {:.1} designs/s; host fixed-point model (release, 1 thread): {:.0} designs/s; ratio {:.0}x",
        f(&plain, "designs_per_s"),
        f(&plain, "host_designs_per_s"),
        f(&plain, "host_designs_per_s") / f(&plain, "designs_per_s")
    );
    println!(
        "QEMU -icount shift=0: {:.0} instructions per design, {:.0} per layer token ({:.1} designs/s with icount)",
        f(&counted, "instructions_per_design"),
        f(&counted, "instructions_per_token"),
        f(&counted, "designs_per_s")
    );
    if let Some(p) = json {
        std::fs::write(
            p,
            serde_json::to_string_pretty(&serde_json::json!({"plain": plain, "icount": counted}))?,
        )?;
        println!("figures written to {}", p.display());
    }
    Ok(())
}

/// Median wall time of `zest ARGS`, ms, over `runs` runs, and whether every
/// run succeeded.
fn median_ms(zest: &Path, args: &[&std::ffi::OsStr], runs: usize) -> Result<(f64, bool)> {
    let mut times = Vec::with_capacity(runs);
    let mut ok = true;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let out = std::process::Command::new(zest).args(args).output()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        ok &= out.status.success();
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], ok))
}

/// Directories under `dir` holding `firmware/parameters.h`.
fn project_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    // As zest's loader (`data::hls4ml_projects::project_dirs`, not linked
    // here: xtask stays free of the estimator's dependencies), a project
    // ends the walk.
    if dir.join("firmware/parameters.h").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for e in entries {
        project_dirs(&e, out)?;
    }
    Ok(())
}

/// `cargo xtask bench-projects`: `zest estimate DIR --json` per project
/// (release build, process start included), the jet tagger's Keras JSON as
/// the peer measured in the same run.
pub fn projects(runs: usize) -> Result<()> {
    let zest = release_zest()?;
    let data = std::env::var_os("ZEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    let mut dirs = Vec::new();
    project_dirs(&data.join("hls4ml-projects"), &mut dirs)?;
    anyhow::ensure!(
        !dirs.is_empty(),
        "no hls4ml projects under {} (set ZEST_DATA)",
        data.join("hls4ml-projects").display()
    );
    let jet = root().join("tests/fixtures/jet_tagger.json");
    let (peer, _) = median_ms(
        &zest,
        &["estimate".as_ref(), jet.as_os_str(), "--json".as_ref()],
        runs,
    )?;
    let mut read: Vec<(f64, std::path::PathBuf)> = Vec::new();
    let mut refused = 0;
    for d in &dirs {
        let (ms, ok) = median_ms(
            &zest,
            &["estimate".as_ref(), d.as_os_str(), "--json".as_ref()],
            runs,
        )?;
        if ok {
            read.push((ms, d.clone()));
        } else {
            refused += 1;
        }
    }
    anyhow::ensure!(!read.is_empty(), "no project could be estimated");
    read.sort_by(|a, b| a.0.total_cmp(&b.0));
    let median = read[read.len() / 2].0;
    let (worst, worst_dir) = read.last().cloned().unwrap_or_default();
    println!(
        "zest estimate DIR --json, release, process start included, median of {runs} runs each:"
    );
    println!(
        "  {} projects estimated ({refused} refused: skipped kinds, custom kernels, stale)",
        read.len()
    );
    println!(
        "  median project {median:.1} ms, slowest {worst:.1} ms ({})",
        worst_dir.display()
    );
    println!(
        "  peer, same run: jet_tagger.json {peer:.1} ms; median project / peer {:.2}x",
        median / peer
    );
    Ok(())
}

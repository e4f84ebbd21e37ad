//! Harness for the end-to-end tests: find the firmware and the `zest`
//! binary, boot QEMU on a free port, connect.
//!
//! `cargo xtask test` builds both and passes them in `ZEST_FIRMWARE_ELF` and
//! `ZEST_BIN`; run alone, the tests look in `target/`. They fail, never
//! skip, when something is missing.

pub mod garbage;

use std::path::PathBuf;
use std::time::Duration;

use zest_board::client::{BoardClient, Patience};
use zest_board::qemu::{Qemu, QemuConfig, Uart0};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace root")
        .to_path_buf()
}

fn from_env_or(var: &str, default: PathBuf, hint: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.is_file(),
        "{} not found (set {var}, or {hint})",
        path.display()
    );
    path
}

/// The QEMU build of the firmware.
pub fn firmware_elf() -> PathBuf {
    from_env_or(
        "ZEST_FIRMWARE_ELF",
        workspace().join("target/firmware/zest-firmware-qemu.elf"),
        "run `cargo xtask firmware` first, or use `cargo xtask test`",
    )
}

/// The `zest` command-line binary.
pub fn zest_bin() -> PathBuf {
    from_env_or(
        "ZEST_BIN",
        workspace().join("target/debug/zest"),
        "run `cargo build -p zest` first, or use `cargo xtask test`",
    )
}

/// Runs the `zest` binary: (success, stdout, stderr).
pub fn run_zest(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(zest_bin())
        .args(args)
        .output()
        .expect("run zest");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Patience for tests: generous, since two QEMUs may share two cores.
pub fn patience() -> Patience {
    Patience {
        timeout: Duration::from_secs(3),
        retries: 2,
        connect: Duration::from_secs(10),
    }
}

/// Boots the firmware under QEMU with UART0 on a free TCP port; the log
/// goes to `target/e2e/<name>.log`.
pub fn boot(name: &str) -> Qemu {
    let dir = workspace().join("target/e2e");
    std::fs::create_dir_all(&dir).expect("create target/e2e");
    Qemu::spawn(&QemuConfig {
        elf: firmware_elf(),
        uart0: Uart0::Tcp(None),
        log: dir.join(format!("{name}.log")),
        icount_shift: None,
        udp_port: None,
    })
    .expect("QEMU starts")
}

/// Boots and connects.
pub fn boot_and_connect(name: &str) -> (Qemu, BoardClient) {
    let qemu = boot(name);
    let client = BoardClient::connect(qemu.port(), patience()).unwrap_or_else(|e| {
        panic!(
            "connect to QEMU: {e}\nQEMU said: {}\nlog: {}",
            qemu_messages(&qemu),
            qemu.log()
        )
    });
    (qemu, client)
}

fn qemu_messages(q: &Qemu) -> String {
    q.qemu_messages()
}

/// Whether a process with this pid exists (and is not a zombie we own).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The firmware booted once and never panicked, faulted or reset (its log
/// says so: every boot prints its banner, every fault and panic a line
/// before the reset).
pub fn assert_never_reset(qemu: &Qemu) {
    let log = qemu.log();
    assert!(
        !log.contains("PANIC") && !log.contains("FATAL"),
        "firmware log: {log}"
    );
    assert_eq!(
        log.matches("zest firmware").count(),
        1,
        "the firmware reset: {log}"
    );
}

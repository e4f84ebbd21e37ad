//! What the host's integration tests share: the `zest` binary, the data
//! root and the fixtures. (Each test file is its own crate; those that
//! need only part of this allow the rest to go unused.)
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Runs the real `zest` binary: (success, stdout, stderr).
pub fn zest(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zest"))
        .args(args)
        .output()
        .expect("run zest");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The synthesis records: `$ZEST_DATA`, else `../shared/data`; a test that
/// needs them fails (never skips) without them.
pub fn data_root() -> PathBuf {
    let p = std::env::var_os("ZEST_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        PathBuf::from,
    );
    assert!(
        p.is_dir(),
        "synthesis records not found at {} (set ZEST_DATA)",
        p.display()
    );
    p
}

/// One of `tests/fixtures/` (our own small inputs).
pub fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

//! System packages: check, install as root, or say exactly what to run.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Result};

use crate::run;

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// Whether `program --version` runs.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Installs Debian packages with apt-get when root; otherwise fails with the
/// command to run.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    let line = format!(
        "sudo apt-get update && sudo apt-get install -y {}",
        packages.join(" ")
    );
    if !is_root() || !have("apt-get") {
        bail!(
            "{why} needs the Debian/Ubuntu packages {packages:?}; install them with:\n    {line}"
        );
    }
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
    }
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// `program` on PATH, installing `package` if needed.
pub fn ensure(program: &str, package: &str, why: &str) -> Result<()> {
    if have(program) {
        return Ok(());
    }
    apt_install(&[package], why)?;
    if !have(program) {
        bail!("installed {package} but `{program}` still does not run");
    }
    Ok(())
}

/// qemu-system-arm, for booting the firmware.
pub fn ensure_qemu() -> Result<()> {
    ensure(
        zest::qemu::QEMU,
        "qemu-system-arm",
        "booting the firmware under QEMU",
    )
}

/// The ARM linker, for linking the firmware.
pub fn ensure_arm_linker() -> Result<()> {
    ensure(
        "arm-none-eabi-ld",
        "binutils-arm-none-eabi",
        "linking the firmware",
    )
}

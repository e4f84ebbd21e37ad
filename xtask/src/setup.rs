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
        zest_board::qemu::QEMU,
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

/// The hls4ml version whose `ap_types` headers the golden tests compile.
pub const HLS4ML_VERSION: &str = "1.3.0";

/// `target/ap_types`: the `ap_fixed` headers of the hls4ml wheel, fetched
/// with `pip download --no-deps hls4ml==1.3.0` and unpacked (never
/// committed). Returns the directory.
pub fn ensure_ap_types(root: &std::path::Path) -> Result<std::path::PathBuf> {
    let dest = root.join("target/ap_types");
    if dest.join("ap_fixed.h").is_file() {
        return Ok(dest);
    }
    ensure("g++", "g++", "the fixed-point golden tests (C simulation)")?;
    ensure("python3", "python3", "fetching the ap_types headers")?;
    let pip_ok = Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !pip_ok {
        apt_install(&["python3-pip"], "fetching the ap_types headers")?;
    }
    let wheels = root.join("target/hls4ml-wheel");
    run(Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
        .arg(&wheels)
        .arg(format!("hls4ml=={HLS4ML_VERSION}")))?;
    // Unpack only the headers (Apache-2.0) with Python's zipfile: no unzip needed.
    let script = format!(
        "import glob, os, zipfile, sys\n\
         whl = glob.glob(os.path.join(sys.argv[1], 'hls4ml-{HLS4ML_VERSION}-*.whl'))[0]\n\
         prefix = 'hls4ml/templates/vivado/ap_types/'\n\
         with zipfile.ZipFile(whl) as z:\n\
         \x20   for n in z.namelist():\n\
         \x20       if n.startswith(prefix) and not n.endswith('/'):\n\
         \x20           out = os.path.join(sys.argv[2], n[len(prefix):])\n\
         \x20           os.makedirs(os.path.dirname(out), exist_ok=True)\n\
         \x20           open(out, 'wb').write(z.read(n))\n"
    );
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&wheels)
        .arg(&dest))?;
    if !dest.join("ap_fixed.h").is_file() {
        bail!(
            "unpacked the hls4ml wheel but {} has no ap_fixed.h",
            dest.display()
        );
    }
    Ok(dest)
}

/// A Python with hls4ml and onnx (no TensorFlow or torch), for the test
/// that converts zest's exported designs with hls4ml and compares its C
/// simulation with zest's fixed-point inference: a virtual environment
/// under `target/hls4ml-venv`, made once (~360 MB, pip) and reused.
pub fn ensure_hls4ml_python(root: &std::path::Path) -> Result<std::path::PathBuf> {
    let venv = root.join("target/hls4ml-venv");
    let py = venv.join("bin/python");
    let ready = |py: &std::path::Path| {
        Command::new(py)
            .args(["-c", "import hls4ml, onnx"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if ready(&py) {
        return Ok(py);
    }
    ensure("python3", "python3", "the hls4ml comparison test")?;
    ensure(
        "g++",
        "g++",
        "the hls4ml comparison test (hls4ml's C simulation)",
    )?;
    let make = || {
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !make() {
        // Debian keeps venv's ensurepip in its own package.
        apt_install(&["python3-venv"], "the hls4ml comparison test")?;
        if !make() {
            bail!("python3 -m venv {} failed", venv.display());
        }
    }
    run(Command::new(&py).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("hls4ml=={HLS4ML_VERSION}"),
        "onnx",
    ]))?;
    if !ready(&py) {
        bail!(
            "{} cannot import hls4ml and onnx after pip install",
            py.display()
        );
    }
    Ok(py)
}

//! Finding a Rust toolchain that builds `armv7a-none-eabihf`.
//!
//! In order of preference:
//! 1. the target installed with rustup (`rustup target add armv7a-none-eabihf`);
//! 2. rustup's `rust-src` with `-Zbuild-std` (added with `rustup component
//!    add rust-src` if missing);
//! 3. Debian's `rustc-web`/`cargo-web`/`rust-web-src` with `-Zbuild-std`
//!    (installed with apt-get when root).
//!
//! `-Zbuild-std` needs `RUSTC_BOOTSTRAP=1`; the code itself is stable Rust.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{root, run, setup, Board};

/// The firmware's target triple.
pub const TARGET: &str = "armv7a-none-eabihf";
const BUILD_STD: [&str; 2] = [
    "-Zbuild-std=core,compiler_builtins",
    "-Zbuild-std-features=compiler-builtins-mem",
];
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_SRC: &str = "/usr/lib/rustlib/src/rust/library";

/// How the firmware gets built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup has the target's core library.
    Installed,
    /// rustup's toolchain, core built from its rust-src.
    RustupSrc,
    /// Debian's rustc-web, core built from rust-web-src.
    Debian,
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rustc_sysroot() -> Option<PathBuf> {
    output(Command::new("rustc").args(["--print", "sysroot"])).map(PathBuf::from)
}

fn has_rust_src(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib/src/rust/library/core").is_dir()
}

impl Toolchain {
    /// Finds (or installs) a toolchain for the firmware, and the linker.
    pub fn find() -> Result<Toolchain> {
        setup::ensure_arm_linker()?;
        if let Some(sysroot) = rustc_sysroot() {
            if sysroot
                .join("lib/rustlib")
                .join(TARGET)
                .join("lib")
                .is_dir()
            {
                return Ok(Toolchain::Installed);
            }
            if has_rust_src(&sysroot) {
                return Ok(Toolchain::RustupSrc);
            }
            if setup::have("rustup") {
                eprintln!("xtask: {TARGET} needs core built from source; adding rust-src");
                let added = Command::new("rustup")
                    .args(["component", "add", "rust-src"])
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if added && has_rust_src(&sysroot) {
                    return Ok(Toolchain::RustupSrc);
                }
            }
        }
        if !(Path::new(DEBIAN_RUSTC).exists() && Path::new(DEBIAN_SRC).is_dir()) {
            setup::apt_install(
                &["rustc-web", "cargo-web", "rust-web-src"],
                "building the firmware without rustup's rust-src",
            )?;
        }
        if Path::new(DEBIAN_SRC).is_dir() {
            Ok(Toolchain::Debian)
        } else {
            bail!(
                "no toolchain can build {TARGET}: run `rustup target add {TARGET}` or \
                 `rustup component add rust-src`, or install Debian's rustc-web cargo-web rust-web-src"
            )
        }
    }

    /// The cargo that drives this toolchain.
    pub fn cargo_bin(&self) -> PathBuf {
        match self {
            Toolchain::Debian => PathBuf::from(DEBIAN_CARGO),
            _ => PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())),
        }
    }

    fn firmware_cargo(&self, subcommand: &str, board: Board) -> Command {
        let mut cmd = Command::new(self.cargo_bin());
        cmd.current_dir(root().join("firmware")).args([
            subcommand,
            "--release",
            "--target",
            TARGET,
        ]);
        if board == Board::Qemu {
            cmd.args(["--features", "qemu"]);
        }
        match self {
            Toolchain::Installed => {}
            Toolchain::RustupSrc => {
                cmd.env("RUSTC_BOOTSTRAP", "1").args(BUILD_STD);
            }
            Toolchain::Debian => {
                // Without RUSTC, Debian's cargo would run rustup's rustc proxy.
                cmd.env("RUSTC_BOOTSTRAP", "1")
                    .env("RUSTC", DEBIAN_RUSTC)
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .args(BUILD_STD);
            }
        }
        cmd
    }

    /// Builds the firmware for `board`; returns the ELF, copied to
    /// `target/firmware/zest-firmware-<board>.elf`.
    pub fn build_firmware(&self, board: Board) -> Result<PathBuf> {
        run(&mut self.firmware_cargo("build", board))?;
        let built = root()
            .join("firmware/target")
            .join(TARGET)
            .join("release/zest-firmware");
        let out_dir = root().join("target/firmware");
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("create {}", out_dir.display()))?;
        let elf = out_dir.join(format!("zest-firmware-{}.elf", board.name()));
        std::fs::copy(&built, &elf)
            .with_context(|| format!("copy {} to {}", built.display(), elf.display()))?;
        Ok(elf)
    }

    /// Runs clippy on the firmware with warnings as errors.
    pub fn clippy_firmware(&self, board: Board) -> Result<()> {
        if *self == Toolchain::Debian && !Path::new("/usr/bin/cargo-clippy").exists() {
            setup::apt_install(&["rust-web-clippy"], "clippy on the firmware")?;
        }
        let mut cmd = self.firmware_cargo("clippy", board);
        cmd.args(["--", "-D", "warnings"]);
        run(&mut cmd)
    }
}

/// Finds a toolchain and builds the firmware for `board`.
pub fn build_firmware(board: Board) -> Result<PathBuf> {
    Toolchain::find()?.build_firmware(board)
}

//! Boot the zest firmware under `qemu-system-arm -M xilinx-zynq-a9`.
//!
//! UART0 (the protocol) becomes a TCP server (`nodelay=on`: without it
//! every round trip costs ~44 ms of Nagle delay) or a Unix socket; UART1
//! (the log) goes to a file. GEM0 sits on QEMU's user network with a free
//! UDP port on 127.0.0.1 forwarded to the firmware's endpoint
//! ([`zest_proto::DEFAULT_UDP_ENDPOINT`]): [`Qemu::udp_port`]. QEMU waits
//! for the first client on UART0 before it starts the CPU, so no output is
//! lost (connect to UART0 before expecting UDP answers). [`Qemu`] kills and reaps QEMU when
//! dropped, and QEMU also gets SIGKILL if the process that started it dies
//! (PR_SET_PDEATHSIG), so no QEMU is ever left running.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::link::PortSpec;
use crate::{BoardError, Result};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-arm";

/// How QEMU should expose the protocol UART.
#[derive(Debug, Clone)]
pub enum Uart0 {
    /// TCP server on 127.0.0.1; `None` picks a free port.
    Tcp(Option<u16>),
    /// Unix socket server at this path.
    Unix(PathBuf),
}

/// What to boot and how.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    /// Firmware ELF.
    pub elf: PathBuf,
    /// Protocol UART.
    pub uart0: Uart0,
    /// File that receives the log UART (and QEMU's own messages beside it,
    /// with `.qemu` appended).
    pub log: PathBuf,
    /// `-icount shift=N` (deterministic instruction counting), if set.
    pub icount_shift: Option<u8>,
    /// Host UDP port forwarded to the firmware's UDP endpoint; `None`
    /// picks a free one.
    pub udp_port: Option<u16>,
}

/// A running QEMU; killed and reaped on drop.
pub struct Qemu {
    child: Child,
    port: PortSpec,
    udp: PortSpec,
    log: PathBuf,
    stderr: PathBuf,
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BoardError::Qemu(format!("find a free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| BoardError::Qemu(format!("find a free port: {e}")))
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> Result<u16> {
    let s = UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| BoardError::Qemu(format!("find a free UDP port: {e}")))?;
    s.local_addr()
        .map(|a| a.port())
        .map_err(|e| BoardError::Qemu(format!("find a free UDP port: {e}")))
}

impl Qemu {
    /// Starts QEMU. It waits (paused) for the first client on [`Qemu::port`].
    pub fn spawn(cfg: &QemuConfig) -> Result<Qemu> {
        if !cfg.elf.is_file() {
            return Err(BoardError::Qemu(format!(
                "firmware {} not found: build it with `cargo xtask firmware`",
                cfg.elf.display()
            )));
        }
        let (chardev, port) = match &cfg.uart0 {
            Uart0::Tcp(p) => {
                let p = match p {
                    Some(p) => *p,
                    None => free_tcp_port()?,
                };
                (
                    format!("tcp:127.0.0.1:{p},server=on,wait=on,nodelay=on"),
                    PortSpec::Tcp(format!("127.0.0.1:{p}")),
                )
            }
            Uart0::Unix(path) => {
                let _ = std::fs::remove_file(path);
                (
                    format!("unix:{},server=on,wait=on", path.display()),
                    PortSpec::Unix(path.clone()),
                )
            }
        };
        let stderr_path = sibling(&cfg.log, ".qemu");
        let stderr = File::create(&stderr_path)
            .map_err(|e| BoardError::Qemu(format!("create {}: {e}", stderr_path.display())))?;
        let udp_port = match cfg.udp_port {
            Some(p) => p,
            None => free_udp_port()?,
        };
        let guest = zest_proto::DEFAULT_UDP_ENDPOINT;
        let nic = format!(
            "user,model=cadence_gem,hostfwd=udp:127.0.0.1:{udp_port}-{}:{}",
            Ipv4Addr::from(guest.addr),
            guest.port
        );
        let mut cmd = Command::new(QEMU);
        cmd.args(["-M", "xilinx-zynq-a9", "-m", "512M"])
            .args(["-display", "none", "-monitor", "none", "-nodefaults"])
            .args(["-serial", &chardev])
            .args(["-serial", &format!("file:{}", cfg.log.display())])
            .args(["-nic", &nic])
            .arg("-kernel")
            .arg(&cfg.elf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        if let Some(shift) = cfg.icount_shift {
            cmd.args(["-icount", &format!("shift={shift}")]);
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            BoardError::Qemu(format!(
                "cannot run {QEMU}: {e}. Install it with `apt-get install qemu-system-arm`"
            ))
        })?;
        Ok(Qemu {
            child,
            port: port.clone(),
            udp: PortSpec::Udp(format!("127.0.0.1:{udp_port}")),
            log: cfg.log.clone(),
            stderr: stderr_path,
        })
    }

    /// Where the protocol UART listens.
    pub fn port(&self) -> &PortSpec {
        &self.port
    }

    /// Where the firmware's UDP endpoint is forwarded to on the host
    /// (answers once the CPU runs, i.e. after a client connected to UART0).
    pub fn udp_port(&self) -> &PortSpec {
        &self.udp
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The firmware's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Path of the firmware's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// QEMU's own messages (stderr) so far.
    pub fn qemu_messages(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `Some(status)` if QEMU has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for QEMU to exit by itself.
    pub fn wait(&mut self) -> Result<std::process::ExitStatus> {
        self.child
            .wait()
            .map_err(|e| BoardError::Qemu(format!("wait for QEMU: {e}")))
    }

    /// Kills QEMU and reaps it.
    pub fn stop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for the log to contain `needle`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            if self.exited().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

//! Where a board is, and the link to it: a byte stream (UART, TCP, Unix
//! socket) or UDP datagrams (one protocol frame each; a lost datagram is a
//! missing reply, which the client's `seq` and retries already handle).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::{BoardError, Result};

/// Baud rate of the protocol UART (115200 8N1).
pub const BAUD: u32 = 115_200;

/// A board's address, as given to `--port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `tcp:HOST:PORT`: QEMU's UART0 chardev, or a serial-to-TCP bridge.
    Tcp(String),
    /// `unix:PATH`: QEMU's UART0 as a Unix socket (fastest under QEMU).
    Unix(PathBuf),
    /// `udp:HOST:PORT`: the board's Ethernet (GEM0), or QEMU's forward to it.
    Udp(String),
    /// A serial device such as `/dev/ttyUSB1` (a PYNQ-Z2's USB-UART).
    Serial(PathBuf),
}

impl FromStr for PortSpec {
    type Err = BoardError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| BoardError::BadPort {
            spec: s.to_string(),
            why: why.to_string(),
        };
        let host_port = |addr: &str| -> Result<String> {
            let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("missing :PORT"))?;
            if host.is_empty() {
                return Err(bad("missing host"));
            }
            match port.parse::<u16>() {
                Ok(p) if p > 0 => Ok(addr.to_string()),
                _ => Err(bad("port is not a number in 1..65535")),
            }
        };
        if let Some(addr) = s.strip_prefix("tcp:") {
            Ok(PortSpec::Tcp(host_port(addr)?))
        } else if let Some(addr) = s.strip_prefix("udp:") {
            Ok(PortSpec::Udp(host_port(addr)?))
        } else if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("missing socket path"));
            }
            Ok(PortSpec::Unix(PathBuf::from(path)))
        } else if s.starts_with('/') || s.starts_with('.') {
            Ok(PortSpec::Serial(PathBuf::from(s)))
        } else {
            Err(bad("not a tcp:, udp:, unix: or device path"))
        }
    }
}

impl std::fmt::Display for PortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortSpec::Tcp(a) => write!(f, "tcp:{a}"),
            PortSpec::Unix(p) => write!(f, "unix:{}", p.display()),
            PortSpec::Udp(a) => write!(f, "udp:{a}"),
            PortSpec::Serial(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An open byte stream to a board.
pub enum Link {
    /// TCP (Nagle off).
    Tcp(TcpStream),
    /// Unix socket.
    Unix(UnixStream),
    /// UDP socket connected to the board: each write is one datagram, each
    /// read one datagram.
    Udp(UdpSocket),
    /// Serial device at [`BAUD`].
    Serial(Box<dyn serialport::SerialPort>),
}

impl Link {
    /// Opens `spec`. TCP and Unix connections are retried until `patience`
    /// runs out (QEMU needs a moment to start listening).
    pub fn open(spec: &PortSpec, patience: Duration) -> Result<Link> {
        let port = spec.to_string();
        let io_err = |action, source| BoardError::Link {
            port: port.clone(),
            action,
            source,
        };
        let start = Instant::now();
        match spec {
            PortSpec::Tcp(addr) => {
                let sock = addr
                    .to_socket_addrs()
                    .map_err(|e| io_err("resolve address", e))?
                    .next()
                    .ok_or_else(|| io_err("resolve address", io::ErrorKind::NotFound.into()))?;
                let stream = retry(start, patience, || {
                    TcpStream::connect_timeout(&sock, Duration::from_secs(1))
                })
                .map_err(|e| io_err("connect", e))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| io_err("set TCP_NODELAY", e))?;
                Ok(Link::Tcp(stream))
            }
            PortSpec::Unix(path) => {
                let stream = retry(start, patience, || UnixStream::connect(path))
                    .map_err(|e| io_err("connect", e))?;
                Ok(Link::Unix(stream))
            }
            PortSpec::Udp(addr) => {
                let peer = addr
                    .to_socket_addrs()
                    .map_err(|e| io_err("resolve address", e))?
                    .next()
                    .ok_or_else(|| io_err("resolve address", io::ErrorKind::NotFound.into()))?;
                let local: SocketAddr = match peer {
                    SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
                    SocketAddr::V6(_) => ([0u16; 8], 0).into(),
                };
                let sock = UdpSocket::bind(local).map_err(|e| io_err("bind", e))?;
                sock.connect(peer).map_err(|e| io_err("connect", e))?;
                Ok(Link::Udp(sock))
            }
            PortSpec::Serial(path) => {
                let dev = serialport::new(path.to_string_lossy(), BAUD)
                    .data_bits(serialport::DataBits::Eight)
                    .parity(serialport::Parity::None)
                    .stop_bits(serialport::StopBits::One)
                    .flow_control(serialport::FlowControl::None)
                    .timeout(Duration::from_millis(100))
                    .open()
                    .map_err(|source| BoardError::Serial {
                        port: port.clone(),
                        source,
                    })?;
                Ok(Link::Serial(dev))
            }
        }
    }

    /// Sets how long one `read` may wait (at least 1 ms).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        let t = timeout.max(Duration::from_millis(1));
        match self {
            Link::Tcp(s) => s.set_read_timeout(Some(t)),
            Link::Unix(s) => s.set_read_timeout(Some(t)),
            Link::Udp(s) => s.set_read_timeout(Some(t)),
            Link::Serial(s) => s.set_timeout(t).map_err(io::Error::from),
        }
    }
}

fn retry<T>(
    start: Instant,
    patience: Duration,
    mut f: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() >= patience => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(s) => s.read(buf),
            Link::Unix(s) => s.read(buf),
            Link::Udp(s) => match s.recv(buf) {
                // An ICMP "port unreachable" for an earlier datagram (a board
                // still booting, a forward not yet up): no reply, not a dead
                // link. The client's timeout and retries decide.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(Duration::from_millis(5));
                    Err(io::ErrorKind::WouldBlock.into())
                }
                r => r,
            },
            Link::Serial(s) => s.read(buf),
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(s) => s.write(buf),
            Link::Unix(s) => s.write(buf),
            Link::Udp(s) => match s.send(buf) {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(buf.len()),
                r => r,
            },
            Link::Serial(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Link::Tcp(s) => s.flush(),
            Link::Unix(s) => s.flush(),
            Link::Udp(_) => Ok(()),
            Link::Serial(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_port_form() {
        assert_eq!(
            "tcp:127.0.0.1:4000".parse::<PortSpec>().unwrap(),
            PortSpec::Tcp("127.0.0.1:4000".into())
        );
        assert_eq!(
            "unix:/tmp/u.sock".parse::<PortSpec>().unwrap(),
            PortSpec::Unix("/tmp/u.sock".into())
        );
        assert_eq!(
            "udp:127.0.0.1:7777".parse::<PortSpec>().unwrap(),
            PortSpec::Udp("127.0.0.1:7777".into())
        );
        assert_eq!(
            "udp:127.0.0.1:7777"
                .parse::<PortSpec>()
                .unwrap()
                .to_string(),
            "udp:127.0.0.1:7777"
        );
        assert_eq!(
            "/dev/ttyUSB1".parse::<PortSpec>().unwrap(),
            PortSpec::Serial("/dev/ttyUSB1".into())
        );
        for bad in [
            "tcp:127.0.0.1",
            "tcp::80",
            "tcp:h:99999",
            "udp:h",
            "udp::7777",
            "udp:h:0",
            "unix:",
            "COM3",
            "",
        ] {
            let err = bad.parse::<PortSpec>().unwrap_err();
            assert!(matches!(err, BoardError::BadPort { .. }), "{bad}: {err}");
        }
    }
}

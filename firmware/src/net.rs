//! The board on the network: GEM0 ([`crate::gem`]) under smoltcp, static
//! IPv4, one UDP socket that carries the zest protocol, one frame per
//! datagram (the same frames as the UART, see [`crate::serve`]).
//!
//! The address, gateway, port and MAC are fixed at build time
//! (`build.rs`: `ZEST_NET_ADDR`, `ZEST_NET_GATEWAY`, `ZEST_NET_PORT`,
//! `ZEST_NET_MAC`; defaults for QEMU's user network, 10.0.2.15/24 via
//! 10.0.2.2, port 7777). A build-time constant rather than a request that
//! sets it: a board that takes its address from the wire can be talked out
//! of its own network, and a rack's boards are flashed per slot anyway.
//! `Identify` reports the endpoint.
//!
//! IPv4 fragmentation is on both ways, so a whole 2 KB protocol frame fits
//! one datagram; smoltcp drops what it cannot reassemble (a datagram over
//! its 4 KB reassembly buffer) before the protocol sees it. Such a datagram
//! holds one of the four reassembly slots until [`REASSEMBLY_TIMEOUT_MS`]
//! passes (smoltcp's default is 60 s, long enough for a few of them to stop
//! every fragmented request for a minute); the fragments of one datagram
//! on a LAN arrive microseconds apart.

use core::ptr::addr_of_mut;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::udp::{self, PacketBuffer, PacketMetadata, UdpMetadata};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use zest_proto::UdpEndpoint;

use crate::gem::Gem;

mod config {
    include!(concat!(env!("OUT_DIR"), "/net_config.rs"));
}

/// How long a partly received fragmented datagram may hold its slot.
pub const REASSEMBLY_TIMEOUT_MS: u64 = 250;

/// Datagrams the socket holds each way before smoltcp drops more.
const SLOTS: usize = 8;
/// Payload bytes the socket holds each way.
const PAYLOAD: usize = 16 * 1024;

static mut SOCKETS: [SocketStorage<'static>; 1] = [SocketStorage::EMPTY];
static mut RX_META: [PacketMetadata; SLOTS] = [PacketMetadata::EMPTY; SLOTS];
static mut TX_META: [PacketMetadata; SLOTS] = [PacketMetadata::EMPTY; SLOTS];
static mut RX_PAYLOAD: [u8; PAYLOAD] = [0; PAYLOAD];
static mut TX_PAYLOAD: [u8; PAYLOAD] = [0; PAYLOAD];

/// Where the protocol is served, as `Identify` reports it.
pub const ENDPOINT: UdpEndpoint = UdpEndpoint {
    addr: config::ADDR,
    prefix_len: config::PREFIX_LEN,
    port: config::PORT,
};

/// One datagram taken from the socket.
pub enum Datagram {
    /// Its payload fitted the buffer: the first `len` bytes.
    Fits {
        /// Payload length.
        len: usize,
        /// Who sent it (the reply goes there).
        from: UdpMetadata,
    },
    /// Longer than the buffer; dropped unread.
    TooLong {
        /// Who sent it.
        from: UdpMetadata,
    },
}

/// The network stack: driver, interface and the protocol's socket.
pub struct Net {
    gem: Gem,
    iface: Interface,
    sockets: SocketSet<'static>,
    udp: SocketHandle,
}

impl Net {
    /// Starts GEM0 and the stack with the build-time configuration. Call
    /// once: it takes the static socket storage.
    pub fn start(now_ms: i64) -> Self {
        let mut gem = Gem::start(config::MAC);
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(config::MAC)));
        cfg.random_seed = u64::from_le_bytes([
            config::MAC[0],
            config::MAC[1],
            config::MAC[2],
            config::MAC[3],
            config::MAC[4],
            config::MAC[5],
            0x7a,
            0x65,
        ]) ^ now_ms as u64;
        let now = Instant::from_millis(now_ms);
        let mut iface = Interface::new(cfg, &mut gem, now);
        iface.set_reassembly_timeout(smoltcp::time::Duration::from_millis(REASSEMBLY_TIMEOUT_MS));
        let [a, b, c, d] = config::ADDR;
        iface.update_ip_addrs(|addrs| {
            // One address in an empty list: cannot overflow.
            let _ = addrs.push(IpCidr::new(IpAddress::v4(a, b, c, d), config::PREFIX_LEN));
        });
        let [a, b, c, d] = config::GATEWAY;
        // One route in an empty table: cannot overflow.
        let _ = iface
            .routes_mut()
            .add_default_ipv4_route(Ipv4Address::new(a, b, c, d));
        // SAFETY: `start` is called once (from `main`), so these are the
        // only references to the socket storage for the rest of the program.
        let (sockets, rx_meta, tx_meta, rx_payload, tx_payload) = unsafe {
            (
                &mut *addr_of_mut!(SOCKETS),
                &mut *addr_of_mut!(RX_META),
                &mut *addr_of_mut!(TX_META),
                &mut *addr_of_mut!(RX_PAYLOAD),
                &mut *addr_of_mut!(TX_PAYLOAD),
            )
        };
        let mut socket = udp::Socket::new(
            PacketBuffer::new(&mut rx_meta[..], &mut rx_payload[..]),
            PacketBuffer::new(&mut tx_meta[..], &mut tx_payload[..]),
        );
        // A fresh socket with a non-zero port: binding cannot fail.
        let _ = socket.bind(config::PORT);
        let mut sockets = SocketSet::new(&mut sockets[..]);
        let udp = sockets.add(socket);
        Self {
            gem,
            iface,
            sockets,
            udp,
        }
    }

    /// Moves frames between the MAC and the socket (ARP, reassembly,
    /// queued replies).
    pub fn poll(&mut self, now_ms: i64) {
        self.gem.clear_status();
        self.iface.poll(
            Instant::from_millis(now_ms),
            &mut self.gem,
            &mut self.sockets,
        );
    }

    /// Polls again while the stack has something to send now (the next
    /// fragment of a large reply goes out one poll at a time), at most
    /// `max` times: a fragmented reply leaves at once, not at the next
    /// maintenance poll.
    pub fn flush(&mut self, now_ms: i64, max: usize) {
        let now = Instant::from_millis(now_ms);
        for _ in 0..max {
            if self.iface.poll_delay(now, &self.sockets) != Some(smoltcp::time::Duration::ZERO) {
                break;
            }
            self.poll(now_ms);
        }
    }

    /// Whether a frame waits in the MAC's RX ring.
    pub fn frame_waiting(&self) -> bool {
        self.gem.rx_ready()
    }

    /// Takes the next received datagram, copying its payload into `buf`.
    pub fn receive(&mut self, buf: &mut [u8]) -> Option<Datagram> {
        let socket = self.sockets.get_mut::<udp::Socket>(self.udp);
        let (data, from) = socket.recv().ok()?;
        Some(match buf.get_mut(..data.len()) {
            Some(dst) => {
                dst.copy_from_slice(data);
                Datagram::Fits {
                    len: data.len(),
                    from,
                }
            }
            None => Datagram::TooLong { from },
        })
    }

    /// Queues `data` as one datagram to `to`, polling the interface to
    /// make room if the socket's buffer is full. `false`: dropped.
    pub fn send(&mut self, data: &[u8], to: UdpMetadata, now_ms: i64) -> bool {
        for _ in 0..2 {
            let socket = self.sockets.get_mut::<udp::Socket>(self.udp);
            match socket.send_slice(data, to.endpoint) {
                Ok(()) => return true,
                Err(udp::SendError::BufferFull) => self.poll(now_ms),
                Err(_) => return false,
            }
        }
        false
    }
}

//! Cadence GEM0 Ethernet MAC (UG585 ch. 16), polled, as a smoltcp
//! [`Device`].
//!
//! ```text
//! RX descriptor (2 words, 8-byte aligned; ring of RX_DESCS):
//!   word0 = buffer address[31:2] | bit1 WRAP (last in ring) | bit0 OWN
//!           OWN=0: the MAC may fill it; the MAC sets OWN=1 when a frame is in
//!   word1 = status; frame length in [12:0] (FCS stripped), bit14 SOF, bit15 EOF
//! TX descriptor (2 words; ring of TX_DESCS):
//!   word0 = buffer address
//!   word1 = length[13:0] | bit15 LAST | bit30 WRAP | bit31 USED
//!           USED=1: software's (the MAC sets it back when the frame is sent)
//! ```
//!
//! Buffers are [`BUF_LEN`] bytes, so every frame fits one descriptor
//! (DMACFG's RX buffer size is set to match). The MMU and caches are off,
//! so descriptors and buffers are coherent with the MAC's DMA without cache
//! maintenance; turning the D-cache on needs an uncached region for them.
//!
//! QEMU's model (verified, ../shared/docs/FIRMWARE-NOTES.md §6) needs every
//! TX descriptor to start USED, the MAC address written bottom then top,
//! and the RX ring kept drained (it caches the descriptor it reads and
//! reports "no buffer" while that one is still software's). On silicon the
//! PHY is brought up over MDIO ([`phy_up`]); that path is written from
//! UG585 and the RTL8211E datasheet and is untested on a board.

use core::ptr::{addr_of, addr_of_mut};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::mmio::Reg;

/// GEM0's register block.
const BASE: usize = 0xE000_B000;
const NWCTRL: usize = 0x000;
const NWCFG: usize = 0x004;
#[cfg_attr(feature = "qemu", allow(dead_code))]
const NWSR: usize = 0x008;
const DMACFG: usize = 0x010;
const TXSR: usize = 0x014;
const RXQBASE: usize = 0x018;
const TXQBASE: usize = 0x01C;
const RXSR: usize = 0x020;
const IDR: usize = 0x02C;
#[cfg_attr(feature = "qemu", allow(dead_code))]
const PHYMNTNC: usize = 0x034;
const SPADDR1_BOT: usize = 0x088;
const SPADDR1_TOP: usize = 0x08C;

const NWCTRL_RXEN: u32 = 1 << 2;
const NWCTRL_TXEN: u32 = 1 << 3;
const NWCTRL_MDEN: u32 = 1 << 4;
const NWCTRL_CLRSTAT: u32 = 1 << 5;
const NWCTRL_TSTART: u32 = 1 << 9;

const NWCFG_100: u32 = 1 << 0;
const NWCFG_FD: u32 = 1 << 1;
#[cfg_attr(feature = "qemu", allow(dead_code))]
const NWCFG_1000: u32 = 1 << 10;
const NWCFG_FCS_STRIP: u32 = 1 << 17;
/// MDC = CPU_1x / 96 (within the PHY's 2.5 MHz for CPU_1x up to 222 MHz).
const NWCFG_MDC_DIV96: u32 = 5 << 18;

/// DMACFG: reset value (burst 4, full packet buffers) with the RX buffer
/// size field [23:16] in 64-byte units.
const DMACFG_VALUE: u32 = 0x0000_0784 | (((BUF_LEN / 64) as u32) << 16);

/// Descriptors in the RX and TX rings.
const RX_DESCS: usize = 16;
const TX_DESCS: usize = 8;
/// One Ethernet frame without FCS fits: 1514 bytes, rounded to 64.
pub const BUF_LEN: usize = 1536;
/// Largest frame handed to smoltcp (MTU 1500 + 14-byte header).
const MAX_FRAME: usize = 1514;

const RX_OWN: u32 = 1 << 0;
const RX_WRAP: u32 = 1 << 1;
const RX_LEN_MASK: u32 = 0x1FFF;
const RX_SOF: u32 = 1 << 14;
const RX_EOF: u32 = 1 << 15;
const TX_LAST: u32 = 1 << 15;
const TX_WRAP: u32 = 1 << 30;
const TX_USED: u32 = 1 << 31;

/// A descriptor: two words the MAC reads and writes by DMA.
#[repr(C)]
#[derive(Clone, Copy)]
struct Desc {
    word0: u32,
    word1: u32,
}

#[repr(C, align(8))]
struct Rings {
    rx: [Desc; RX_DESCS],
    tx: [Desc; TX_DESCS],
}

#[repr(C, align(64))]
struct Buffers {
    rx: [[u8; BUF_LEN]; RX_DESCS],
    tx: [[u8; BUF_LEN]; TX_DESCS],
}

static mut RINGS: Rings = Rings {
    rx: [Desc { word0: 0, word1: 0 }; RX_DESCS],
    tx: [Desc { word0: 0, word1: 0 }; TX_DESCS],
};
static mut BUFFERS: Buffers = Buffers {
    rx: [[0; BUF_LEN]; RX_DESCS],
    tx: [[0; BUF_LEN]; TX_DESCS],
};

fn reg(offset: usize) -> Reg {
    // SAFETY: registers of GEM0 (UG585 app. B.18).
    unsafe { Reg::at(BASE + offset) }
}

fn vol_read(p: *const u32) -> u32 {
    // SAFETY: callers pass pointers into the static descriptor rings.
    unsafe { core::ptr::read_volatile(p) }
}

fn vol_write(p: *mut u32, v: u32) {
    // SAFETY: callers pass pointers into the static descriptor rings.
    unsafe { core::ptr::write_volatile(p, v) }
}

/// Orders descriptor writes before the register write that hands them over.
fn barrier() {
    // SAFETY: a data synchronisation barrier has no other effect.
    unsafe { core::arch::asm!("dsb", options(nostack, preserves_flags)) };
}

/// Frames seen by the driver, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    /// Frames received and handed to smoltcp.
    pub rx: u32,
    /// Frames received spanning descriptors or oversize: dropped.
    pub rx_bad: u32,
    /// Frames sent.
    pub tx: u32,
}

/// GEM0, owning its rings and buffers.
pub struct Gem {
    rx_next: usize,
    tx_next: usize,
    /// What went through.
    pub counters: Counters,
}

impl Gem {
    /// Resets and starts GEM0 with `mac`. Call once: the driver owns the
    /// static rings from then on.
    pub fn start(mac: [u8; 6]) -> Self {
        reg(NWCTRL).write(0);
        reg(NWCTRL).write(NWCTRL_CLRSTAT);
        reg(IDR).write(0x07FF_FEFF);
        reg(RXSR).write(0x0F);
        reg(TXSR).write(0xFF);
        reg(NWCFG).write(NWCFG_100 | NWCFG_FD | NWCFG_MDC_DIV96 | NWCFG_FCS_STRIP);
        reg(DMACFG).write(DMACFG_VALUE);
        // SAFETY: called once at start-up, before the MAC runs; from here on
        // the MAC and this driver share the rings through volatile accesses.
        let (rings, bufs) = unsafe { (&mut *addr_of_mut!(RINGS), &*addr_of!(BUFFERS)) };
        for (i, d) in rings.rx.iter_mut().enumerate() {
            let wrap = if i == RX_DESCS - 1 { RX_WRAP } else { 0 };
            vol_write(&mut d.word1, 0);
            vol_write(&mut d.word0, bufs.rx[i].as_ptr() as u32 | wrap);
        }
        for (i, d) in rings.tx.iter_mut().enumerate() {
            let wrap = if i == TX_DESCS - 1 { TX_WRAP } else { 0 };
            vol_write(&mut d.word0, bufs.tx[i].as_ptr() as u32);
            vol_write(&mut d.word1, TX_USED | wrap);
        }
        barrier();
        reg(RXQBASE).write(rings.rx.as_ptr() as u32);
        reg(TXQBASE).write(rings.tx.as_ptr() as u32);
        reg(SPADDR1_BOT).write(u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]));
        reg(SPADDR1_TOP).write(u32::from(mac[4]) | u32::from(mac[5]) << 8);
        reg(NWCTRL).write(NWCTRL_MDEN | NWCTRL_RXEN | NWCTRL_TXEN);
        Self {
            rx_next: 0,
            tx_next: 0,
            counters: Counters::default(),
        }
    }

    fn rx_desc(&self) -> *mut Desc {
        // SAFETY: index in range; the ring is static.
        unsafe { addr_of_mut!(RINGS.rx[self.rx_next]) }
    }

    fn tx_desc(&self) -> *mut Desc {
        // SAFETY: index in range; the ring is static.
        unsafe { addr_of_mut!(RINGS.tx[self.tx_next]) }
    }

    /// Whether a received frame waits in the RX ring (one volatile read:
    /// cheap enough to ask on every turn of the serve loop).
    pub fn rx_ready(&self) -> bool {
        // SAFETY: pointer into the static ring.
        vol_read(unsafe { addr_of!((*self.rx_desc()).word0) }) & RX_OWN != 0
    }

    fn tx_free(&self) -> bool {
        // SAFETY: pointer into the static ring.
        vol_read(unsafe { addr_of!((*self.tx_desc()).word1) }) & TX_USED != 0
    }

    /// Clears sticky status bits (write one to clear) so a "no buffer" or
    /// overrun seen once does not linger.
    pub fn clear_status(&mut self) {
        let rx = reg(RXSR).read();
        if rx != 0 {
            reg(RXSR).write(rx);
        }
        let tx = reg(TXSR).read();
        if tx != 0 {
            reg(TXSR).write(tx);
        }
    }
}

/// A received frame, still in its descriptor.
pub struct RxToken<'a> {
    next: &'a mut usize,
    rx: &'a mut u32,
    rx_bad: &'a mut u32,
}

/// A free TX descriptor.
pub struct TxToken<'a> {
    next: &'a mut usize,
    tx: &'a mut u32,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let i = *self.next;
        // SAFETY: descriptor `i` is software's (OWN set) until we hand it
        // back below, so the MAC does not write its buffer meanwhile.
        let (d, buf) = unsafe { (addr_of_mut!(RINGS.rx[i]), &*addr_of!(BUFFERS.rx[i])) };
        // SAFETY: pointers into the static ring.
        let status = vol_read(unsafe { addr_of!((*d).word1) });
        let len = (status & RX_LEN_MASK) as usize;
        let whole = status & (RX_SOF | RX_EOF) == RX_SOF | RX_EOF && len <= BUF_LEN;
        let r = if whole {
            *self.rx = self.rx.wrapping_add(1);
            f(&buf[..len])
        } else {
            // A frame spanning descriptors cannot happen with 1536-byte
            // buffers and a 1518-byte maximum; hand smoltcp nothing usable.
            *self.rx_bad = self.rx_bad.wrapping_add(1);
            f(&[])
        };
        // SAFETY: pointer into the static ring.
        let word0 = unsafe { addr_of_mut!((*d).word0) };
        vol_write(word0, vol_read(word0) & !RX_OWN);
        barrier();
        *self.next = (i + 1) % RX_DESCS;
        r
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let i = *self.next;
        let len = len.min(BUF_LEN);
        // SAFETY: descriptor `i` is software's (USED set) until we clear
        // USED below, so the MAC does not read its buffer meanwhile.
        let (d, buf) = unsafe { (addr_of_mut!(RINGS.tx[i]), &mut *addr_of_mut!(BUFFERS.tx[i])) };
        let r = f(&mut buf[..len]);
        let wrap = if i == TX_DESCS - 1 { TX_WRAP } else { 0 };
        barrier();
        // SAFETY: pointer into the static ring.
        vol_write(
            unsafe { addr_of_mut!((*d).word1) },
            len as u32 | TX_LAST | wrap,
        );
        barrier();
        reg(NWCTRL).write(reg(NWCTRL).read() | NWCTRL_TSTART);
        *self.tx = self.tx.wrapping_add(1);
        *self.next = (i + 1) % TX_DESCS;
        r
    }
}

impl Device for Gem {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if !(self.rx_ready() && self.tx_free()) {
            return None;
        }
        // The two tokens borrow disjoint fields.
        let Gem {
            rx_next,
            tx_next,
            counters: Counters { rx, rx_bad, tx },
        } = self;
        Some((
            RxToken {
                next: rx_next,
                rx,
                rx_bad,
            },
            TxToken { next: tx_next, tx },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        if !self.tx_free() {
            return None;
        }
        Some(TxToken {
            next: &mut self.tx_next,
            tx: &mut self.counters.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps.max_burst_size = Some(1);
        caps
    }
}

/// PHY bring-up over MDIO for boards (the PYNQ-Z2's RTL8211E): find the
/// PHY, restart auto-negotiation, wait up to `wait_ms` for the link, and
/// set the MAC's speed and duplex to what was negotiated. Returns the link
/// speed in Mb/s, or `None` if no PHY answered or no link came up in time
/// (the MAC then stays at 100 Mb/s full duplex and the firmware serves
/// UART only until a reset). Untested on silicon: written from UG585
/// §16.3 (PHY maintenance) and the RTL8211E datasheet (PHYSR, register 17).
/// QEMU's MDIO is slow and its PHY needs no bring-up, so QEMU builds skip it.
#[cfg(not(feature = "qemu"))]
pub fn phy_up(uptime: &mut crate::timer::Uptime, wait_ms: u64) -> Option<u32> {
    const BMCR: u32 = 0;
    const BMSR: u32 = 1;
    const PHYID1: u32 = 2;
    const RTL_PHYSR: u32 = 17;
    let deadline = uptime.ticks() + wait_ms * u64::from(crate::timer::TICK_HZ) / 1000;
    let addr =
        (0..32).find(|&a| matches!(mdio_read(a, PHYID1), Some(id) if id != 0 && id != 0xFFFF))?;
    // Auto-negotiation enable + restart.
    mdio_write(addr, BMCR, (1 << 12) | (1 << 9))?;
    loop {
        let bmsr = mdio_read(addr, BMSR)?;
        // Auto-negotiation complete and link up (BMSR latches link-down:
        // the second read is the current state).
        if bmsr & (1 << 5) != 0 && mdio_read(addr, BMSR)? & (1 << 2) != 0 {
            break;
        }
        if uptime.ticks() > deadline {
            return None;
        }
    }
    let physr = mdio_read(addr, RTL_PHYSR)?;
    let (speed, bits) = match (physr >> 14) & 3 {
        2 => (1000, NWCFG_1000),
        1 => (100, NWCFG_100),
        _ => (10, 0),
    };
    let duplex = if physr & (1 << 13) != 0 { NWCFG_FD } else { 0 };
    let cfg = reg(NWCFG).read() & !(NWCFG_100 | NWCFG_FD | NWCFG_1000);
    reg(NWCFG).write(cfg | bits | duplex);
    Some(speed)
}

/// One clause-22 MDIO operation; `None` if the interface stays busy.
#[cfg(not(feature = "qemu"))]
fn mdio(op: u32, phy: u32, register: u32, data: u16) -> Option<u16> {
    const IDLE: u32 = 1 << 2;
    let wait_idle = || (0..1_000_000).any(|_| reg(NWSR).read() & IDLE != 0);
    if !wait_idle() {
        return None;
    }
    reg(PHYMNTNC).write(
        (1 << 30) | (op << 28) | (phy << 23) | (register << 18) | (2 << 16) | u32::from(data),
    );
    if !wait_idle() {
        return None;
    }
    Some(reg(PHYMNTNC).read() as u16)
}

#[cfg(not(feature = "qemu"))]
fn mdio_read(phy: u32, register: u32) -> Option<u16> {
    mdio(2, phy, register, 0)
}

#[cfg(not(feature = "qemu"))]
fn mdio_write(phy: u32, register: u32, data: u16) -> Option<()> {
    mdio(1, phy, register, data).map(|_| ())
}

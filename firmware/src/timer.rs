//! Uptime from the Cortex-A9 private timer (0xF8F0_0600), polled.
//!
//! The timer counts down from 0xFFFF_FFFF with auto-reload; each wrap sets
//! its event flag, which `Uptime::ticks` folds into a 64-bit count. Polling
//! at least once per wrap (about 71 min at 1 MHz) keeps the count exact; the
//! serve loop polls continuously.

use crate::{board, mmio::Reg};

const BASE: usize = 0xF8F0_0600;
const LOAD: usize = BASE;
const COUNTER: usize = BASE + 0x04;
const CONTROL: usize = BASE + 0x08;
const ISR: usize = BASE + 0x0C;

const CONTROL_ENABLE: u32 = 1 << 0;
const CONTROL_AUTO_RELOAD: u32 = 1 << 1;

/// Prescaler giving about 1 MHz under QEMU and 5 MHz on the PYNQ-Z2.
const PRESCALER: u32 = if board::PERIPH_CLK_HZ >= 300_000_000 {
    64
} else {
    99
};

/// Rate of [`Uptime::ticks`], in Hz.
pub const TICK_HZ: u32 = board::PERIPH_CLK_HZ / (PRESCALER + 1);

fn reg(addr: usize) -> Reg {
    // SAFETY: registers of the private timer block of the Cortex-A9 MPCore.
    unsafe { Reg::at(addr) }
}

/// Uptime counter; owns the private timer.
pub struct Uptime {
    wraps: u64,
}

impl Uptime {
    /// Starts the private timer from its full count.
    pub fn start() -> Self {
        reg(CONTROL).write(0);
        reg(ISR).write(1);
        reg(LOAD).write(u32::MAX);
        reg(CONTROL).write(CONTROL_ENABLE | CONTROL_AUTO_RELOAD | (PRESCALER << 8));
        Self { wraps: 0 }
    }

    /// Ticks since `start`, at [`TICK_HZ`].
    pub fn ticks(&mut self) -> u64 {
        if reg(ISR).read() & 1 != 0 {
            reg(ISR).write(1);
            self.wraps += 1;
        }
        let elapsed = u32::MAX - reg(COUNTER).read();
        // A wrap between the flag check and the counter read shows up as a
        // small count with the flag set again: take it now, not next poll.
        if reg(ISR).read() & 1 != 0 && elapsed < u32::MAX / 2 {
            reg(ISR).write(1);
            self.wraps += 1;
        }
        (self.wraps << 32) | u64::from(elapsed)
    }
}

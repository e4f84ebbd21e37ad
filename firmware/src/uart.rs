//! Polled driver for the Cadence UART of the Zynq-7000 PS (UG585 ch. 19).
//!
//! UART0 (0xE000_0000) carries the zest protocol; on the PYNQ-Z2 it is the
//! USB-UART (MIO14/15). UART1 (0xE000_1000) carries the text log. Under QEMU
//! the first `-serial` is UART0 and the second UART1.

use core::convert::Infallible;

use crate::mmio::Reg;

/// Base address of UART0.
pub const UART0_BASE: usize = 0xE000_0000;
/// Base address of UART1.
pub const UART1_BASE: usize = 0xE000_1000;

const CR: usize = 0x00;
const MR: usize = 0x04;
const IDR: usize = 0x0C;
const BAUDGEN: usize = 0x18;
const SR: usize = 0x2C;
const FIFO: usize = 0x30;
const BAUDDIV: usize = 0x34;

const CR_RXRST: u32 = 1 << 0;
const CR_TXRST: u32 = 1 << 1;
const CR_RXEN: u32 = 1 << 2;
const CR_RXDIS: u32 = 1 << 3;
const CR_TXEN: u32 = 1 << 4;
const CR_TXDIS: u32 = 1 << 5;
const CR_STPBRK: u32 = 1 << 8;
const SR_RXEMPTY: u32 = 1 << 1;
const SR_TXEMPTY: u32 = 1 << 3;
const SR_TXFULL: u32 = 1 << 4;
/// 8 data bits, no parity, 1 stop bit, normal mode, reference clock.
const MR_8N1: u32 = 0x20;
/// 115 200 baud from the 100 MHz UART_REF_CLK that ps7_init sets up:
/// 100e6 / (124 * (6 + 1)) = 115 207 baud (+0.006 %). QEMU ignores both.
const BAUDGEN_115200: u32 = 124;
const BAUDDIV_115200: u32 = 6;

/// One Cadence UART, polled.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// # Safety
    /// `base` must be the base address of a Cadence UART, and only one
    /// `Uart` may be used for it at a time.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    fn reg(&self, offset: usize) -> Reg {
        // SAFETY: `base` is a UART (contract of `new`), offsets are its registers.
        unsafe { Reg::at(self.base + offset) }
    }

    /// Resets both FIFOs and configures 115200 8N1, all interrupts masked.
    pub fn init(&mut self) {
        self.reg(CR).write(CR_TXDIS | CR_RXDIS);
        self.reg(CR).write(CR_TXRST | CR_RXRST);
        // The reset bits clear themselves within a few UART clocks.
        let mut spins = 0u32;
        while self.reg(CR).read() & (CR_TXRST | CR_RXRST) != 0 && spins < 100_000 {
            spins += 1;
        }
        self.reg(IDR).write(0x1FFF);
        self.reg(MR).write(MR_8N1);
        self.reg(BAUDGEN).write(BAUDGEN_115200);
        self.reg(BAUDDIV).write(BAUDDIV_115200);
        self.reg(CR).write(CR_RXEN | CR_TXEN | CR_STPBRK);
    }

    /// One received byte, if the RX FIFO holds any.
    #[inline]
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.reg(SR).read() & SR_RXEMPTY != 0 {
            None
        } else {
            Some(self.reg(FIFO).read() as u8)
        }
    }

    /// Queues one byte, waiting while the TX FIFO is full.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        while self.reg(SR).read() & SR_TXFULL != 0 {}
        self.reg(FIFO).write(u32::from(byte));
    }

    /// Waits until every queued byte has left the TX FIFO.
    pub fn wait_tx_empty(&mut self) {
        while self.reg(SR).read() & SR_TXEMPTY == 0 {}
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io::ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.reg(SR).read() & SR_RXEMPTY == 0)
    }
}

impl embedded_io::Read for Uart {
    /// Waits for at least one byte, then drains what the RX FIFO holds.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        let first = loop {
            if let Some(b) = self.try_read_byte() {
                break b;
            }
        };
        buf[0] = first;
        let mut n = 1;
        while n < buf.len() {
            match self.try_read_byte() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            self.write_byte(b);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        self.wait_tx_empty();
        Ok(())
    }
}

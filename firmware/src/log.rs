//! Plain-text log on UART1, never on the protocol UART.
//!
//! Under QEMU the second `-serial` (a file, for `cargo xtask qemu`) receives
//! it; on a PYNQ-Z2 UART1 is routed to pins only if the design does so.

use core::fmt;

use crate::uart::{Uart, UART1_BASE};

/// Writer for the log UART. Single core, no interrupts: the firmware never
/// logs from two contexts at once, except an exception handler interrupting
/// a log line, which at worst interleaves text.
pub struct Logger;

fn uart() -> Uart {
    // SAFETY: UART1 is the log UART; its writers only append bytes to the
    // TX FIFO, so concurrent handles cannot corrupt driver state.
    unsafe { Uart::new(UART1_BASE) }
}

/// Configures UART1. Call once at boot, before the first `log!`.
pub fn init() {
    uart().init();
}

impl fmt::Write for Logger {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut u = uart();
        for b in s.bytes() {
            if b == b'\n' {
                u.write_byte(b'\r');
            }
            u.write_byte(b);
        }
        Ok(())
    }
}

/// Writes one line to the log UART.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::log::Logger, $($arg)*);
    }};
}

/// Waits until the log line is out (before a reset).
pub fn flush() {
    uart().wait_tx_empty();
}

//! Facts about the board the firmware is built for, and system reset.

use crate::mmio::Reg;

/// Board name reported by `Identify`.
#[cfg(feature = "qemu")]
pub const NAME: &str = "qemu-zynq7000";
/// Board name reported by `Identify`.
#[cfg(not(feature = "qemu"))]
pub const NAME: &str = "pynq-z2";

/// Clock of the Cortex-A9 private timer (PERIPHCLK = CPU clock / 2).
/// QEMU's xilinx-zynq-a9 ticks it at 100 MHz; the PYNQ-Z2 CPU runs at 650 MHz.
#[cfg(feature = "qemu")]
pub const PERIPH_CLK_HZ: u32 = 100_000_000;
/// Clock of the Cortex-A9 private timer (PERIPHCLK = CPU clock / 2).
#[cfg(not(feature = "qemu"))]
pub const PERIPH_CLK_HZ: u32 = 325_000_000;

const SLCR_UNLOCK: usize = 0xF800_0008;
const SLCR_UNLOCK_KEY: u32 = 0xDF0D;
const PSS_RST_CTRL: usize = 0xF800_0200;

/// Resets the whole processing system (SLCR PSS_RST_CTRL.SOFT_RST).
/// Under QEMU this restarts the loaded ELF.
pub fn reset() -> ! {
    crate::log::flush();
    // SAFETY: SLCR registers of the Zynq-7000 PS (UG585 app. B.28).
    unsafe {
        Reg::at(SLCR_UNLOCK).write(SLCR_UNLOCK_KEY);
        Reg::at(PSS_RST_CTRL).write(1);
    }
    // The reset takes effect within a few cycles; never fall through.
    loop {
        core::hint::spin_loop();
    }
}

//! Detection of the zest accelerator in the programmable logic.
//!
//! Reading the PL address space while the PL is not configured can stall the
//! AXI interconnect on silicon, so the firmware first asks the device
//! configuration block whether a bitstream is loaded (DEVCFG INT_STS.PCFG_DONE)
//! and only then reads the ID register. QEMU models no PL: PL reads return 0.

use zest_proto::pl;

use crate::mmio::Reg;

const DEVCFG_INT_STS: usize = 0xF800_700C;
const PCFG_DONE: u32 = 1 << 2;

/// What the firmware found in the PL.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    /// DEVCFG reported a configured PL.
    pub pl_configured: bool,
    /// Raw ID register value (0 if not read).
    pub id: u32,
    /// Accelerator version if the ID register carried the zest magic.
    pub accelerator: Option<u16>,
}

/// Looks for the accelerator.
pub fn probe() -> Probe {
    // SAFETY: DEVCFG INT_STS of the Zynq-7000 PS (UG585 app. B.16).
    let pl_configured = unsafe { Reg::at(DEVCFG_INT_STS) }.read() & PCFG_DONE != 0;
    let id = if pl_configured {
        // SAFETY: the PL is configured, so the GP0 window answers (with the
        // accelerator's register, or a bus default of 0 under QEMU).
        unsafe { Reg::at(pl::ID_REGISTER) }.read()
    } else {
        0
    };
    Probe {
        pl_configured,
        id,
        accelerator: pl::accelerator_version(id),
    }
}

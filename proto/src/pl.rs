//! Programmable-logic (PL) address map and registers of the zest surrogate
//! accelerator, as seen from the Zynq processing system.
//!
//! The firmware reads [`ID_REGISTER`] to decide whether an accelerator is
//! present. Under QEMU (no PL model) the read returns 0, and on a board whose
//! PL is not configured the firmware does not read at all (see the firmware's
//! `pl` module), so both fall back to the soft model.

/// Base address of the accelerator's AXI4-Lite register block (M_AXI_GP0).
pub const ACCEL_BASE: usize = 0x43C0_0000;

/// Offset of the read-only identification register inside the block.
pub const ID_OFFSET: usize = 0x00;

/// Absolute address of the identification register.
pub const ID_REGISTER: usize = ACCEL_BASE + ID_OFFSET;

/// Value of the upper 16 bits of the identification register when a zest
/// accelerator answers: ASCII "ZS". The lower 16 bits hold its version.
pub const ID_MAGIC: u16 = 0x5A53;

/// Decodes an identification-register value: `Some(version)` if the magic
/// matches, `None` for 0 (nothing there) or anything else.
pub const fn accelerator_version(id: u32) -> Option<u16> {
    if (id >> 16) as u16 == ID_MAGIC {
        Some(id as u16)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_register_decodes_magic_only() {
        assert_eq!(accelerator_version(0), None);
        assert_eq!(accelerator_version(0x5A53_0003), Some(3));
        assert_eq!(accelerator_version(0xDEAD_0003), None);
    }
}

//! Programmable-logic (PL) address map and registers of the zest surrogate
//! accelerator, as seen from the Zynq processing system.
//!
//! The firmware reads [`ID_REGISTER`] to decide whether an accelerator is
//! present. Under QEMU (no PL model) the read returns 0, and on a board whose
//! PL is not configured the firmware does not read at all (see the firmware's
//! `pl` module), so both fall back to the soft model.

/// Base address of the accelerator's AXI4-Lite control block (M_AXI_GP0):
/// the Vitis HLS `s_axilite` bundle `CTRL` of `zest_top`.
pub const ACCEL_BASE: usize = 0x43C0_0000;

/// Size of the accelerator's control block in the address map.
pub const ACCEL_RANGE: usize = 0x1_0000;

/// Offset of the Vitis HLS block-level control register (bit 0 `ap_start`,
/// bit 1 `ap_done`, bit 2 `ap_idle`, bit 3 `ap_ready`).
pub const CTRL_OFFSET: usize = 0x00;

/// `ap_start` bit of [`CTRL_OFFSET`].
pub const CTRL_AP_START: u32 = 1 << 0;
/// `ap_done` bit of [`CTRL_OFFSET`].
pub const CTRL_AP_DONE: u32 = 1 << 1;

/// Offset of the `n_layers` argument (32-bit register; 16 bits used): how
/// many layer tokens the next run reads from the token stream.
pub const N_LAYERS_OFFSET: usize = 0x10;

/// Offset of the first result (`r0`, 64 bits: low word, high word, then
/// its `ap_vld` word). Result `t` is at `RESULT_OFFSET + t * RESULT_STRIDE`.
pub const RESULT_OFFSET: usize = 0x20;

/// Distance between results.
pub const RESULT_STRIDE: usize = 0x10;

/// Bits of one token-stream word (one feature slot, its raw value
/// sign-extended).
pub const TOKEN_WORD_BITS: u32 = 32;

/// Base address of the identification register: an AXI GPIO whose input
/// channel is tied to the constant `ID_MAGIC << 16 | version` in the block
/// design, so it answers without starting the accelerator.
pub const ID_BASE: usize = 0x4120_0000;

/// Size of the identification GPIO in the address map.
pub const ID_RANGE: usize = 0x1_0000;

/// Absolute address of the identification register (GPIO channel-1 data).
pub const ID_REGISTER: usize = ID_BASE;

/// The identification GPIO's second channel: the low 32 bits of the id of
/// the fixed-point model whose weights the accelerator holds. The firmware
/// uses the accelerator only for that model.
pub const ID_MODEL_REGISTER: usize = ID_BASE + 0x08;

/// Base address of the AXI DMA whose MM2S channel feeds the token stream.
pub const DMA_BASE: usize = 0x4040_0000;

/// Size of the DMA's register block in the address map.
pub const DMA_RANGE: usize = 0x1_0000;

/// MM2S control register offset (AXI DMA simple mode, PG021).
pub const DMA_MM2S_DMACR: usize = 0x00;
/// MM2S status register offset.
pub const DMA_MM2S_DMASR: usize = 0x04;
/// MM2S source address offset.
pub const DMA_MM2S_SA: usize = 0x18;
/// MM2S transfer length (bytes) offset; writing it starts the transfer.
pub const DMA_MM2S_LENGTH: usize = 0x28;

/// Version of the accelerator these registers describe.
pub const ACCEL_VERSION: u16 = 1;

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

/// Part of the PL design (the PYNQ-Z2's Zynq-7020), for the generated HLS
/// project and Vivado scripts.
pub const PART: &str = "xc7z020clg400-1";

/// PL clock period of the generated design, ns (100 MHz, the PYNQ-Z2's FCLK0).
pub const CLOCK_NS: u32 = 10;

/// Every address and offset above, by name: what [`write_regs_header`] and
/// [`write_address_map_tcl`] print.
pub const REGISTER_MAP: [(&str, u64); 13] = [
    ("ACCEL_BASE", ACCEL_BASE as u64),
    ("ACCEL_RANGE", ACCEL_RANGE as u64),
    ("CTRL_OFFSET", CTRL_OFFSET as u64),
    ("N_LAYERS_OFFSET", N_LAYERS_OFFSET as u64),
    ("RESULT_OFFSET", RESULT_OFFSET as u64),
    ("RESULT_STRIDE", RESULT_STRIDE as u64),
    ("ID_BASE", ID_BASE as u64),
    ("ID_RANGE", ID_RANGE as u64),
    ("ID_MODEL_REGISTER", ID_MODEL_REGISTER as u64),
    ("ID_VALUE", ((ID_MAGIC as u64) << 16) | ACCEL_VERSION as u64),
    ("DMA_BASE", DMA_BASE as u64),
    ("DMA_RANGE", DMA_RANGE as u64),
    ("TOKEN_WORD_BITS", TOKEN_WORD_BITS as u64),
];

/// The register map as a C header (`zest_regs.h`, included by the HLS
/// accelerator and the Vivado block design's checks).
pub fn write_regs_header(w: &mut impl core::fmt::Write) -> core::fmt::Result {
    w.write_str(
        "// zest accelerator register map, generated from zest_proto::pl (proto/src/pl.rs).\n// Do not edit.\n#ifndef ZEST_REGS_H_\n#define ZEST_REGS_H_\n",
    )?;
    for (name, v) in REGISTER_MAP {
        writeln!(w, "#define ZEST_{name} 0x{v:08X}u")?;
    }
    w.write_str("#endif\n")
}

/// The address map for the Vivado scripts (`bitstream-scripts/generated/
/// address_map.tcl`, written by `cargo xtask gen-scripts`): every name of
/// [`REGISTER_MAP`] as a Tcl variable `ZEST_<NAME>`, plus [`PART`] and the
/// PL clock.
pub fn write_address_map_tcl(w: &mut impl core::fmt::Write) -> core::fmt::Result {
    w.write_str(
        "# zest address map and register layout, generated from zest_proto::pl\n# (proto/src/pl.rs) by `cargo xtask gen-scripts`. Do not edit.\n",
    )?;
    for (name, v) in REGISTER_MAP {
        if name.ends_with("BITS") {
            writeln!(w, "set ZEST_{name} {v}")?;
        } else {
            writeln!(w, "set ZEST_{name} 0x{v:08X}")?;
        }
    }
    writeln!(w, "set ZEST_PART {PART}")?;
    writeln!(w, "set ZEST_FCLK_MHZ {}", 1000 / CLOCK_NS)
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

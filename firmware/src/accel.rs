//! The PL accelerator (`zest hls` → Vitis HLS → bitstream-scripts/): one
//! design per run, its tokens streamed by the AXI DMA (simple mode, MM2S)
//! into `zest_top`, its six totals read from the AXI-Lite block. Register
//! addresses come from zest_proto::pl, the source the HLS pragmas and the
//! Vivado address map are generated from.
//!
//! Used only when the identification GPIO carries the zest magic and the
//! low 32 bits of the active model's id (so the weights in the PL are the
//! model's). Every wait is bounded: a PL that stops answering makes the
//! design fall back to the soft model. QEMU models no PL, so this path runs
//! on a board only.

use zest_proto::{pl, N_TARGETS};

use crate::mmio::Reg;

/// Most tokens one design may stream (the DMA buffer).
const MAX_TOKENS: usize = 64;
/// Most slots per token.
const MAX_SLOTS: usize = 64;
/// Polls before a wait gives up (≈ 10 ms at 650 MHz, far above a run).
const POLLS: u32 = 1_000_000;

/// Word buffer the DMA reads (caches are off: no maintenance needed).
#[repr(C, align(64))]
struct DmaBuf([u32; MAX_TOKENS * MAX_SLOTS]);

static mut DMA_BUF: DmaBuf = DmaBuf([0; MAX_TOKENS * MAX_SLOTS]);

/// An accelerator that answered its identification register.
pub struct Accel {
    /// Low 32 bits of the id of the model it holds.
    model_low: u32,
}

fn reg(addr: usize) -> Reg {
    // SAFETY: addresses of the accelerator, its DMA and ID GPIO in the
    // block design (zest_proto::pl); only used after the ID register
    // answered with the zest magic, so the PL is configured.
    unsafe { Reg::at(addr) }
}

fn wait(addr: usize, mask: u32) -> bool {
    (0..POLLS).any(|_| reg(addr).read() & mask != 0)
}

impl Accel {
    /// The accelerator, if the probe found one of the version these
    /// registers describe.
    pub fn from_probe(version: Option<u16>) -> Option<Self> {
        let version = version?;
        if version != pl::ACCEL_VERSION {
            crate::log!(
                "accelerator v{version} ignored: this firmware drives v{}",
                pl::ACCEL_VERSION
            );
            return None;
        }
        Some(Self {
            model_low: reg(pl::ID_MODEL_REGISTER).read(),
        })
    }

    /// Whether it holds the model with this id.
    pub fn holds(&self, model_id: u64) -> bool {
        self.model_low == model_id as u32
    }

    /// One design: `tokens` (slots of `slot_bytes` each, `n_slots` per
    /// token) through the PL. `None` if it does not fit or the PL did not
    /// finish in time.
    pub fn run(
        &self,
        tokens: &[u8],
        slot_bytes: usize,
        n_slots: usize,
    ) -> Option<[i64; N_TARGETS]> {
        let n_words = tokens.len() / slot_bytes.max(1);
        let n_layers = n_words / n_slots.max(1);
        if n_words > MAX_TOKENS * MAX_SLOTS || n_layers == 0 || slot_bytes > 4 {
            return None;
        }
        // SAFETY: the only user of the buffer; the DMA reads it only during
        // this call, which waits for the transfer to finish.
        let buf = unsafe { &mut (*core::ptr::addr_of_mut!(DMA_BUF)).0 };
        for (w, s) in buf.iter_mut().zip(tokens.chunks_exact(slot_bytes)) {
            let mut b = [0u8; 4];
            b[..slot_bytes].copy_from_slice(s);
            // Sign-extend the slot to the 32-bit stream word.
            let shift = 32 - 8 * slot_bytes as u32;
            *w = ((u32::from_le_bytes(b) << shift) as i32 >> shift) as u32;
        }
        reg(pl::ACCEL_BASE + pl::N_LAYERS_OFFSET).write(n_layers as u32);
        reg(pl::ACCEL_BASE + pl::CTRL_OFFSET).write(pl::CTRL_AP_START);
        reg(pl::DMA_BASE + pl::DMA_MM2S_DMACR).write(1);
        reg(pl::DMA_BASE + pl::DMA_MM2S_SA).write(buf.as_ptr() as u32);
        reg(pl::DMA_BASE + pl::DMA_MM2S_LENGTH).write((n_words * 4) as u32);
        // DMASR bit 1: idle (transfer done).
        if !wait(pl::DMA_BASE + pl::DMA_MM2S_DMASR, 1 << 1) {
            return None;
        }
        if !wait(pl::ACCEL_BASE + pl::CTRL_OFFSET, pl::CTRL_AP_DONE) {
            return None;
        }
        let mut out = [0i64; N_TARGETS];
        for (t, o) in out.iter_mut().enumerate() {
            let base = pl::ACCEL_BASE + pl::RESULT_OFFSET + t * pl::RESULT_STRIDE;
            let lo = u64::from(reg(base).read());
            let hi = u64::from(reg(base + 4).read());
            *o = (hi << 32 | lo) as i64;
        }
        Some(out)
    }
}

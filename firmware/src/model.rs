//! The surrogate the firmware serves: the fixed-point model built into the
//! firmware, or one received over the wire in chunks (checked as a whole
//! on commit: magic, CRC-64 id, format version, shapes, announced id) and
//! kept in RAM until reset.
//!
//! The active model is decoded once, whenever it changes (boot, commit,
//! begin, reset), into native-width arrays in static buffers
//! ([`zest_fixed::fast`]); estimates run on that decoded form, bit for bit
//! the reference model's. The buffers are sized for the largest model an
//! upload may carry ([`Need::for_encoded_len`]): about 9.4 bytes per
//! encoded byte, 1.2 MiB of `.bss` for a 128 KiB upload.

use zest_fixed::fast::{Buffers, FastModel, Layout, Need};
use zest_fixed::model::{FixedModel, ModelError};
use zest_proto::{ModelFault, ModelSource, ModelStatus, Refusal, MAX_CHUNK_LEN, MAX_MODEL_LEN};

/// The model `zest quantize` wrote to host/models/default.zfx, built in.
static EMBEDDED: &[u8] = include_bytes!("../../host/models/default.zfx");
const EMBEDDED_LEN: usize = include_bytes!("../../host/models/default.zfx").len();

/// Room for the decoded form of any model the board may hold.
const ROOM: Need = Need::for_encoded_len(if EMBEDDED_LEN > MAX_MODEL_LEN {
    EMBEDDED_LEN
} else {
    MAX_MODEL_LEN
});

/// The decoded active model's lanes (see [`zest_fixed::fast`]).
struct Lanes {
    i8s: [i8; ROOM.i8s],
    i16s: [i16; ROOM.i16s],
    i32s: [i32; ROOM.i32s],
    i64s: [i64; ROOM.i64s],
}

static mut LANES: Lanes = Lanes {
    i8s: [0; ROOM.i8s],
    i16s: [0; ROOM.i16s],
    i32s: [0; ROOM.i32s],
    i64s: [0; ROOM.i64s],
};
/// Whether [`LANES`] has been handed out.
static mut LANES_TAKEN: bool = false;

/// The decode buffers, once: later calls get empty ones (every decode then
/// fails with `Capacity`, so the board refuses estimates rather than
/// aliasing the first caller's).
fn take_lanes() -> Buffers<'static> {
    // SAFETY: one core, interrupts masked from reset (`_start`), so nothing
    // runs between the read and the write of the flag; the flag makes the
    // one `&mut` to LANES unique for the rest of the program.
    unsafe {
        if core::ptr::addr_of!(LANES_TAKEN).read() {
            return Buffers::new(&mut [], &mut [], &mut [], &mut []);
        }
        core::ptr::addr_of_mut!(LANES_TAKEN).write(true);
        let l = &mut *core::ptr::addr_of_mut!(LANES);
        Buffers::new(&mut l.i8s, &mut l.i16s, &mut l.i32s, &mut l.i64s)
    }
}

/// Chunk slots of an upload (one bit each in [`Receiving::have`]).
const SLOTS: usize = MAX_MODEL_LEN / MAX_CHUNK_LEN;
const _: () = assert!(SLOTS <= 128, "the received-chunk bitmap is a u128");

/// An upload in progress.
#[derive(Clone, Copy)]
struct Receiving {
    id: u64,
    len: usize,
    /// Bit k: chunk k (bytes k·MAX_CHUNK_LEN..) has arrived.
    have: u128,
}

impl Receiving {
    fn chunks(&self) -> usize {
        self.len.div_ceil(MAX_CHUNK_LEN)
    }

    fn received(&self) -> usize {
        (0..self.chunks())
            .filter(|k| self.have >> k & 1 == 1)
            .map(|k| (self.len - k * MAX_CHUNK_LEN).min(MAX_CHUNK_LEN))
            .sum()
    }
}

/// The models, the upload buffer and the active model's decoded form.
pub struct Store {
    upload: &'static mut [u8; MAX_MODEL_LEN],
    receiving: Option<Receiving>,
    /// Length of the uploaded model when it is the active one.
    active_upload: Option<usize>,
    /// Id of the built-in model, if it passed its checks (and decoded) at
    /// boot.
    embedded_id: Option<u64>,
    /// Where the active model's decoded arrays are.
    buffers: Buffers<'static>,
    /// The active model, decoded into `buffers` (`None`: no model).
    layout: Option<Layout>,
}

fn fault(e: ModelError) -> ModelFault {
    match e {
        ModelError::Magic => ModelFault::Magic,
        ModelError::Hash => ModelFault::Hash,
        ModelError::Format(_) => ModelFault::Format,
        _ => ModelFault::Invalid,
    }
}

impl Store {
    /// Checks the built-in model (once: its CRC-64 over every byte) and
    /// decodes it: the active model until an upload commits.
    pub fn new(upload: &'static mut [u8; MAX_MODEL_LEN]) -> Self {
        let mut buffers = take_lanes();
        let (embedded_id, layout) = match FixedModel::parse(EMBEDDED)
            .and_then(|m| buffers.decode(&m))
            .and_then(|l| FixedModel::id_of(EMBEDDED).map(|id| (id, l)))
        {
            Ok((id, l)) => (Some(id), Some(l)),
            Err(e) => {
                crate::log!("built-in model refused: {e}");
                (None, None)
            }
        };
        Self {
            upload,
            receiving: None,
            active_upload: None,
            embedded_id,
            buffers,
            layout,
        }
    }

    /// Decodes the model that is now active (after a change of which one
    /// is). A model that decoded before decodes again; if it ever did not,
    /// the board answers `NoModel` rather than with another model's arrays.
    fn activate(&mut self) {
        let bytes = match (self.active_upload, self.embedded_id) {
            (Some(len), _) => &self.upload[..len],
            (None, Some(_)) => EMBEDDED,
            (None, None) => {
                self.layout = None;
                return;
            }
        };
        self.layout = match FixedModel::parse_trusted(bytes).and_then(|m| self.buffers.decode(&m)) {
            Ok(l) => Some(l),
            Err(e) => {
                crate::log!("active model not decodable: {e}");
                None
            }
        };
    }

    /// The active model's bytes and id.
    fn active_bytes(&self) -> Option<(&[u8], u64)> {
        match self.active_upload {
            Some(len) => {
                let b = &self.upload[..len];
                FixedModel::id_of(b).ok().map(|id| (b, id))
            }
            None => self.embedded_id.map(|id| (EMBEDDED, id)),
        }
    }

    /// The active model, decoded (its hash was checked when it became
    /// active), and its id.
    pub fn active(&self) -> Result<(FastModel<'_>, u64), Refusal> {
        let id = self.active_id().ok_or(Refusal::NoModel)?;
        let layout = self.layout.as_ref().ok_or(Refusal::NoModel)?;
        let m = self.buffers.model(layout).ok_or(Refusal::NoModel)?;
        Ok((m, id))
    }

    /// Id of the active model, if any (and decoded).
    pub fn active_id(&self) -> Option<u64> {
        self.layout.as_ref()?;
        self.active_bytes().map(|(_, id)| id)
    }

    /// Where the board stands.
    pub fn status(&self) -> ModelStatus {
        ModelStatus {
            active_id: self.active_id().unwrap_or(0),
            source: if self.active_upload.is_some() {
                ModelSource::Uploaded
            } else {
                ModelSource::Embedded
            },
            received: self.receiving.map_or(0, |r| r.received() as u32),
        }
    }

    /// `ModelBegin`. The upload buffer is about to be overwritten, so an
    /// uploaded active model gives way to the built-in one.
    pub fn begin(&mut self, id: u64, len: u32) -> Result<ModelStatus, Refusal> {
        let len = len as usize;
        if len > MAX_MODEL_LEN {
            return Err(Refusal::ModelTooLarge);
        }
        if self.active_upload.take().is_some() {
            self.activate();
        }
        self.receiving = Some(Receiving { id, len, have: 0 });
        Ok(self.status())
    }

    /// `ModelChunk`: chunks start at multiples of `MAX_CHUNK_LEN` and are
    /// that long, except the last.
    pub fn chunk(&mut self, offset: u32, data: &[u8]) -> Result<ModelStatus, Refusal> {
        let r = self.receiving.as_mut().ok_or(Refusal::NotReceiving)?;
        let offset = offset as usize;
        if !offset.is_multiple_of(MAX_CHUNK_LEN)
            || offset >= r.len
            || data.len() != (r.len - offset).min(MAX_CHUNK_LEN)
        {
            return Err(Refusal::ChunkOutOfRange);
        }
        self.upload[offset..offset + data.len()].copy_from_slice(data);
        r.have |= 1u128 << (offset / MAX_CHUNK_LEN);
        Ok(self.status())
    }

    /// `ModelCommit`.
    pub fn commit(&mut self, id: u64) -> Result<ModelStatus, Refusal> {
        let r = self.receiving.ok_or(Refusal::NotReceiving)?;
        if r.id != id {
            return Err(Refusal::ModelInvalid(ModelFault::IdMismatch));
        }
        if r.received() != r.len {
            return Err(Refusal::Incomplete);
        }
        let bytes = &self.upload[..r.len];
        let m = FixedModel::parse(bytes).map_err(|e| Refusal::ModelInvalid(fault(e)))?;
        if FixedModel::id_of(bytes).ok() != Some(id) {
            return Err(Refusal::ModelInvalid(ModelFault::IdMismatch));
        }
        // Decoding overwrites the built-in model's arrays: on failure they
        // are decoded again, and the built-in model stays active.
        let decoded = self.buffers.decode(&m);
        drop(m);
        match decoded {
            Ok(l) => self.layout = Some(l),
            Err(e) => {
                crate::log!("model {id:016x} not decodable: {e}");
                self.activate();
                return Err(Refusal::ModelInvalid(fault(e)));
            }
        }
        self.receiving = None;
        self.active_upload = Some(r.len);
        crate::log!("model {id:016x} ({} bytes) received and active", r.len);
        Ok(self.status())
    }

    /// `ModelReset`: back to the built-in model.
    pub fn reset(&mut self) -> ModelStatus {
        if self.active_upload.take().is_some() {
            self.activate();
        }
        self.receiving = None;
        self.status()
    }
}

//! The surrogate the firmware serves: the fixed-point model built into the
//! firmware, or one received over the wire in chunks (checked as a whole
//! on commit: magic, CRC-64 id, format version, shapes, announced id) and
//! kept in RAM until reset.

use zest_fixed::model::{FixedModel, ModelError};
use zest_proto::{ModelFault, ModelSource, ModelStatus, Refusal, MAX_CHUNK_LEN, MAX_MODEL_LEN};

/// The model `zest quantize` wrote to host/models/default.zfx, built in.
static EMBEDDED: &[u8] = include_bytes!("../../host/models/default.zfx");

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

/// The models and the upload buffer.
pub struct Store {
    upload: &'static mut [u8; MAX_MODEL_LEN],
    receiving: Option<Receiving>,
    /// Length of the uploaded model when it is the active one.
    active_upload: Option<usize>,
    /// Id of the built-in model, if it passed its checks at boot.
    embedded_id: Option<u64>,
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
    /// Checks the built-in model (once: its CRC-64 over every byte).
    pub fn new(upload: &'static mut [u8; MAX_MODEL_LEN]) -> Self {
        let embedded_id = match FixedModel::parse(EMBEDDED) {
            Ok(_) => FixedModel::id_of(EMBEDDED).ok(),
            Err(e) => {
                crate::log!("built-in model refused: {e}");
                None
            }
        };
        Self {
            upload,
            receiving: None,
            active_upload: None,
            embedded_id,
        }
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

    /// The active model (its hash was checked when it became active).
    pub fn active(&self) -> Result<(FixedModel<'_>, u64), Refusal> {
        let (bytes, id) = self.active_bytes().ok_or(Refusal::NoModel)?;
        let m = FixedModel::parse_trusted(bytes).map_err(|_| Refusal::NoModel)?;
        Ok((m, id))
    }

    /// Id of the active model, if any.
    pub fn active_id(&self) -> Option<u64> {
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
        self.active_upload = None;
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
        FixedModel::parse(bytes).map_err(|e| Refusal::ModelInvalid(fault(e)))?;
        if FixedModel::id_of(bytes).ok() != Some(id) {
            return Err(Refusal::ModelInvalid(ModelFault::IdMismatch));
        }
        self.receiving = None;
        self.active_upload = Some(r.len);
        crate::log!("model {id:016x} ({} bytes) received and active", r.len);
        Ok(self.status())
    }

    /// `ModelReset`: back to the built-in model.
    pub fn reset(&mut self) -> ModelStatus {
        self.active_upload = None;
        self.receiving = None;
        self.status()
    }
}

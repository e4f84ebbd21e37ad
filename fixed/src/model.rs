//! The fixed-point surrogate: what `zest quantize` writes, what the
//! firmware embeds and serves, and what the generated HLS accelerator
//! computes, bit for bit.
//!
//! Per layer token (the feature schema's slots, quantized to
//! [`FixedModel::input`]), each ensemble member runs
//!
//! ```text
//! x  = clamp(token, lo, hi)              per slot, to the range trained on
//! h1 = relu(dense(x, W1, b1))            hidden layers (normalisation folded into W1, b1)
//! hk = relu(dense(h(k-1), Wk, bk))
//! log = dense(h_last, Wo, bo) + x·Ws      output and linear skip path, one accumulator
//! log = min(log, cap)                    per target
//! c  += table[top bits of log]           exp(log) / members, by lookup
//! ```
//!
//! and a design's targets are the sums of its layers' `c` (the maximum for
//! II). The clamp is the float surrogate's: a layer unlike any trained on
//! is estimated at the nearest trained edge, not by extrapolation
//! ([`FixedModel::token_lo`], [`FixedModel::token_hi`]: the training
//! tokens' per-slot extremes, quantized as tokens are, so clamping then
//! quantizing and quantizing then clamping agree). Accumulators are exact
//! ([`accum_type`]): only the result casts, whose types [`FixedModel`]
//! stores, lose bits.
//!
//! [`FixedModel`] computes straight from the encoded bytes: the reference,
//! what the host runs. [`crate::fast`] decodes a model once into
//! native-width arrays and computes the same bits several times faster
//! (what the firmware runs).
//!
//! ## Encoding
//! `MAGIC | postcard(FixedModel) | crc64(postcard bytes) LE`. Weights, biases
//! and the table are little-endian two's-complement integers of 1, 2, 4 or 8
//! bytes ([`elem_bytes`] of their type's width), borrowed from the buffer:
//! parsing allocates nothing. The CRC-64 is the model id: the firmware
//! refuses a model whose bytes do not hash to it.

use serde::{Deserialize, Serialize};

use crate::{table_index, FixedType, KernelError, Overflow, Quant};

/// First bytes of an encoded model.
pub const MAGIC: [u8; 4] = *b"ZFXM";
/// Version of the encoding and of the computation it describes (2: the
/// per-slot token bounds and their clamp).
pub const FORMAT_VERSION: u16 = 2;
/// Targets per layer and per design, and the index of II (aggregated by
/// max; the others by sum): the feature schema's [`zest_features::Target`]s.
pub use zest_features::{II, N_TARGETS};
/// Most dense layers a model may hold (members × (hidden + 2)).
pub const MAX_LAYERS: usize = 48;
/// Widest layer (inputs or outputs).
pub const MAX_WIDTH: usize = 128;
/// The CRC behind model ids.
pub const ID_CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);

/// One dense layer of the fixed-point model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseQ<'a> {
    /// Inputs.
    pub inputs: u16,
    /// Outputs.
    pub outputs: u16,
    /// Weight type.
    pub weight: FixedType,
    /// Bias type.
    pub bias: FixedType,
    /// Result type (shared with the ReLU that follows a hidden layer).
    pub result: FixedType,
    /// `inputs × outputs` raw weights, row-major `[input][output]`.
    #[serde(borrow)]
    pub weights: &'a [u8],
    /// `outputs` raw biases (empty for a skip path: its bias is folded into
    /// the output layer's).
    #[serde(borrow)]
    pub biases: &'a [u8],
}

impl DenseQ<'_> {
    /// Raw weight `[i][o]`.
    #[inline]
    pub fn w(&self, i: usize, o: usize) -> i64 {
        raw_at(
            self.weights,
            &self.weight,
            i * usize::from(self.outputs) + o,
        )
    }

    /// Raw bias `o` (0 when the layer has none).
    #[inline]
    pub fn b(&self, o: usize) -> i64 {
        if self.biases.is_empty() {
            0
        } else {
            raw_at(self.biases, &self.bias, o)
        }
    }

    fn check(&self) -> Result<(), ModelError> {
        let (i, o) = (usize::from(self.inputs), usize::from(self.outputs));
        if i == 0 || o == 0 || i > MAX_WIDTH || o > MAX_WIDTH {
            return Err(ModelError::Shape);
        }
        if self.weights.len() != i * o * elem_bytes(&self.weight)
            || !(self.biases.is_empty() || self.biases.len() == o * elem_bytes(&self.bias))
        {
            return Err(ModelError::Shape);
        }
        for t in [&self.weight, &self.bias, &self.result] {
            check_type(t)?;
        }
        Ok(())
    }
}

/// The fixed-point surrogate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedModel<'a> {
    /// [`FORMAT_VERSION`] it was written with.
    pub format: u16,
    /// Feature schema of the tokens (zest-features' `SCHEMA_VERSION`).
    pub schema_version: u16,
    /// Slots per token.
    pub token_len: u16,
    /// Type of the token slots.
    pub input: FixedType,
    /// Per slot, the smallest value trained on, raw in the input type
    /// (`token_len` elements of [`elem_bytes`]): a slot below it is raised
    /// to it before the members run.
    #[serde(borrow)]
    pub token_lo: &'a [u8],
    /// Per slot, the largest value trained on, likewise: a slot above it is
    /// lowered to it.
    #[serde(borrow)]
    pub token_hi: &'a [u8],
    /// Ensemble members.
    pub members: u8,
    /// Hidden layers per member.
    pub hidden: u8,
    /// Per member: its hidden layers, its output layer, its skip path.
    #[serde(borrow)]
    pub layers: heapless::Vec<DenseQ<'a>, MAX_LAYERS>,
    /// Per target, the largest log-cost of one layer, raw in the output
    /// layer's result type.
    pub cap: [i64; N_TARGETS],
    /// The exp table has `2^table_bits` entries, indexed by the top bits
    /// of the (capped) log-cost.
    pub table_bits: u8,
    /// Type of the table entries (`exp(x) / members`).
    pub table_type: FixedType,
    /// The table, raw.
    #[serde(borrow)]
    pub table: &'a [u8],
    /// Type of per-layer and per-design costs.
    pub total: FixedType,
    /// Where it came from (free text).
    #[serde(borrow)]
    pub provenance: &'a str,
}

/// Why a model was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not a zest fixed-point model (magic).
    #[error("not a zest fixed-point model (bad magic)")]
    Magic,
    /// The bytes do not hash to the id they carry (damaged or cut).
    #[error("model bytes do not match their hash (damaged or cut)")]
    Hash,
    /// Written by another format version.
    #[error("model format v{0}, this build reads v{FORMAT_VERSION}: re-run `zest quantize`")]
    Format(u16),
    /// The postcard body does not decode.
    #[error("model body does not decode")]
    Decode,
    /// Layer shapes, types or table size are inconsistent.
    #[error("model layers, types or table are inconsistent")]
    Shape,
    /// A token's length or a slot's value does not fit the input type.
    #[error("token length or value does not fit the model's input type")]
    Token,
    /// The decoded model does not fit the buffers given for it
    /// ([`crate::fast::Buffers`]).
    #[error("the decoded model does not fit its buffers")]
    Capacity,
}

impl From<KernelError> for ModelError {
    fn from(_: KernelError) -> Self {
        ModelError::Shape
    }
}

/// Bytes per stored element of a type of this width.
pub const fn elem_bytes(t: &FixedType) -> usize {
    match t.width {
        0..=8 => 1,
        9..=16 => 2,
        17..=32 => 4,
        _ => 8,
    }
}

/// Raw value `k` of an array of type `t` stored as [`elem_bytes`]-wide
/// little-endian integers (weights, the table, a request's token slots).
/// `bytes` must hold at least `k + 1` elements.
#[inline]
pub fn raw_at(bytes: &[u8], t: &FixedType, k: usize) -> i64 {
    let n = elem_bytes(t);
    let s = &bytes[k * n..k * n + n];
    match (n, t.signed) {
        (1, true) => i64::from(s[0] as i8),
        (1, false) => i64::from(s[0]),
        (2, true) => i64::from(i16::from_le_bytes([s[0], s[1]])),
        (2, false) => i64::from(u16::from_le_bytes([s[0], s[1]])),
        (4, true) => i64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        (4, false) => i64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        _ => i64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
    }
}

/// Largest |fractional bits| a model's type may have (keeps every shift in
/// the kernels far inside `i128`).
pub const MAX_FRAC: i32 = 96;

fn check_type(t: &FixedType) -> Result<(), ModelError> {
    if t.width == 0
        || t.width > 64
        || (!t.signed && t.width > 63)
        || t.frac() > MAX_FRAC
        || t.frac() < -MAX_FRAC
    {
        Err(ModelError::Shape)
    } else {
        Ok(())
    }
}

/// ⌈log₂ n⌉ (0 for n ≤ 1).
const fn ceil_log2(n: usize) -> i32 {
    let mut b = 0;
    while (1usize << b) < n {
        b += 1;
    }
    b
}

/// The exact accumulator of a dense layer summing, after its bias, the
/// products of `parts` (input type, weight type, number of inputs): enough
/// fractional bits for every product and the bias, enough integer bits for
/// the largest possible sum. No product or sum is ever rounded or wrapped,
/// so the order of accumulation does not matter (the HLS kernel may pipeline
/// it any way). `None` when it would need more than 64 bits.
pub fn accum_type(parts: &[(FixedType, FixedType, usize)], bias: &FixedType) -> Option<FixedType> {
    let mut frac = bias.frac();
    let mut int = i32::from(bias.int) + i32::from(!bias.signed);
    let mut n = 1usize;
    for (x, w, k) in parts {
        frac = frac.max(x.frac() + w.frac());
        // |x·w| ≤ 2^(Ix−1)·2^(Iw−1) for signed types (+1 for each unsigned).
        let ix = i32::from(x.int) + i32::from(!x.signed);
        let iw = i32::from(w.int) + i32::from(!w.signed);
        int = int.max(ix + iw);
        n += *k;
    }
    let int = int + ceil_log2(n);
    let width = int + frac;
    if !(1..=64).contains(&width) || !(i16::MIN as i32..=i16::MAX as i32).contains(&int) {
        return None;
    }
    Some(FixedType::new(width as u8, int as i16).with_modes(Quant::Trn, Overflow::Wrap))
}

/// A left shift by `n` ≥ 0 bits (what aligning a value to the
/// accumulator's fractional bits takes; [`accum_type`] makes `n` ≥ 0).
pub(crate) fn shift(n: i32) -> u32 {
    n.clamp(0, 63) as u32
}

/// Scratch space of one member's forward pass.
struct Scratch {
    a: [i64; MAX_WIDTH],
    b: [i64; MAX_WIDTH],
}

impl<'a> FixedModel<'a> {
    /// Reads an encoded model: magic, hash, format version, shapes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let id = Self::id_of(bytes)?;
        if ID_CRC.checksum(&bytes[MAGIC.len()..bytes.len() - 8]) != id {
            return Err(ModelError::Hash);
        }
        Self::parse_trusted(bytes)
    }

    /// Reads a model whose hash [`FixedModel::parse`] has already checked
    /// (the firmware checks once, when a model arrives, not per request):
    /// magic, format version and shapes only.
    pub fn parse_trusted(bytes: &'a [u8]) -> Result<Self, ModelError> {
        Self::id_of(bytes)?;
        let body = &bytes[MAGIC.len()..bytes.len() - 8];
        let (format, _) = postcard::take_from_bytes::<u16>(body).map_err(|_| ModelError::Decode)?;
        if format != FORMAT_VERSION {
            return Err(ModelError::Format(format));
        }
        let m: FixedModel<'a> = postcard::from_bytes(body).map_err(|_| ModelError::Decode)?;
        m.check()?;
        Ok(m)
    }

    /// The id an encoded model claims (its last 8 bytes), after checking the
    /// magic; [`FixedModel::parse`] checks that the bytes hash to it.
    pub fn id_of(bytes: &[u8]) -> Result<u64, ModelError> {
        if bytes.len() < MAGIC.len() + 8 || bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::Magic);
        }
        let t = &bytes[bytes.len() - 8..];
        Ok(u64::from_le_bytes([
            t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
        ]))
    }

    pub(crate) fn check(&self) -> Result<(), ModelError> {
        let per = usize::from(self.hidden) + 2;
        let token_len = usize::from(self.token_len);
        if self.members == 0
            || self.layers.len() != usize::from(self.members) * per
            || token_len == 0
            || token_len > MAX_WIDTH
        {
            return Err(ModelError::Shape);
        }
        for t in [&self.input, &self.table_type, &self.total] {
            check_type(t)?;
        }
        let n = token_len * elem_bytes(&self.input);
        if self.token_lo.len() != n || self.token_hi.len() != n {
            return Err(ModelError::Shape);
        }
        for i in 0..token_len {
            let (lo, hi) = self.bounds(i);
            // Bounds inside the input type keep a clamped token in it.
            if lo > hi || lo < self.input.min_raw() || hi > self.input.max_raw() {
                return Err(ModelError::Shape);
            }
        }
        for m in 0..usize::from(self.members) {
            let ls = &self.layers[m * per..(m + 1) * per];
            let mut width = self.token_len;
            for l in ls {
                l.check()?;
            }
            for l in &ls[..per - 1] {
                if l.inputs != width || l.biases.is_empty() {
                    return Err(ModelError::Shape);
                }
                width = l.outputs;
            }
            let (out, skip) = (&ls[per - 2], &ls[per - 1]);
            if usize::from(out.outputs) != N_TARGETS
                || usize::from(skip.outputs) != N_TARGETS
                || skip.inputs != self.token_len
                || ls[..per - 2].iter().any(|l| !l.result.signed)
            {
                return Err(ModelError::Shape);
            }
            self.out_accum(m).ok_or(ModelError::Shape)?;
            for k in 0..per - 2 {
                self.hidden_accum(m, k).ok_or(ModelError::Shape)?;
            }
            if m > 0 && out.result != self.layers[per - 2].result {
                // One log type for all members: the table is indexed by it.
                return Err(ModelError::Shape);
            }
        }
        let bits = u32::from(self.table_bits);
        let log = self.log_type();
        if bits == 0 || bits > 16 || bits > u32::from(log.width) {
            return Err(ModelError::Shape);
        }
        if self.table.len() != (1usize << bits) * elem_bytes(&self.table_type) {
            return Err(ModelError::Shape);
        }
        Ok(())
    }

    /// Slot `i`'s bounds `(lo, hi)`, raw in the input type.
    pub fn bounds(&self, i: usize) -> (i64, i64) {
        (
            raw_at(self.token_lo, &self.input, i),
            raw_at(self.token_hi, &self.input, i),
        )
    }

    /// A checked token clamped, slot by slot, to the bounds: what the
    /// members see.
    pub fn clamped(&self, token: &[i64]) -> heapless::Vec<i64, MAX_WIDTH> {
        token
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (lo, hi) = self.bounds(i);
                (*v).clamp(lo, hi)
            })
            .collect()
    }

    /// The layers of member `m`.
    pub fn member(&self, m: usize) -> &[DenseQ<'a>] {
        let per = usize::from(self.hidden) + 2;
        &self.layers[m * per..(m + 1) * per]
    }

    /// Type of the log-costs (the output layers' result type).
    pub fn log_type(&self) -> FixedType {
        self.layers[usize::from(self.hidden)].result
    }

    /// Input type of hidden layer `k` of member `m`.
    pub(crate) fn hidden_input(&self, m: usize, k: usize) -> FixedType {
        if k == 0 {
            self.input
        } else {
            self.member(m)[k - 1].result
        }
    }

    /// The accumulator of hidden layer `k` of member `m`.
    pub fn hidden_accum(&self, m: usize, k: usize) -> Option<FixedType> {
        let l = &self.member(m)[k];
        accum_type(
            &[(self.hidden_input(m, k), l.weight, usize::from(l.inputs))],
            &l.bias,
        )
    }

    /// The accumulator of member `m`'s output layer and skip path.
    pub fn out_accum(&self, m: usize) -> Option<FixedType> {
        let ls = self.member(m);
        let h = usize::from(self.hidden);
        let (out, skip) = (&ls[h], &ls[h + 1]);
        let last = if h == 0 { self.input } else { ls[h - 1].result };
        accum_type(
            &[
                (last, out.weight, usize::from(out.inputs)),
                (self.input, skip.weight, usize::from(skip.inputs)),
            ],
            &out.bias,
        )
    }

    /// Raw table entry `k`.
    pub fn table_entry(&self, k: usize) -> i64 {
        raw_at(self.table, &self.table_type, k)
    }

    /// Member `m`'s capped log-costs of one token (raw, log type), after
    /// the clamp ([`FixedModel::clamped`]).
    ///
    /// The accumulators are exact ([`accum_type`]: every product and partial
    /// sum of in-range values fits, with all its fractional bits, in at most
    /// 64 bits), so casting each product and sum to them, as the HLS code
    /// does, changes nothing: they are computed directly in `i64`, aligned
    /// by shifts. Only the result casts round and saturate. (`zest
    /// hls-check` compares this with the C simulation's casts.)
    pub fn member_log_costs(
        &self,
        m: usize,
        token: &[i64],
    ) -> Result<[i64; N_TARGETS], ModelError> {
        if token.len() != usize::from(self.token_len) {
            return Err(ModelError::Token);
        }
        let clamped = self.clamped(token);
        let token = clamped.as_slice();
        let ls = self.member(m);
        let h = usize::from(self.hidden);
        let mut s = Scratch {
            a: [0; MAX_WIDTH],
            b: [0; MAX_WIDTH],
        };
        let mut width = token.len();
        s.a[..width].copy_from_slice(token);
        for (k, l) in ls[..h].iter().enumerate() {
            let acc_t = self.hidden_accum(m, k).ok_or(ModelError::Shape)?;
            let x_t = self.hidden_input(m, k);
            let n_out = usize::from(l.outputs);
            let bias_shift = shift(acc_t.frac() - l.bias.frac());
            let prod_shift = shift(acc_t.frac() - x_t.frac() - l.weight.frac());
            for o in 0..n_out {
                let mut acc = l.b(o).wrapping_shl(bias_shift);
                for (i, xi) in s.a[..width].iter().enumerate() {
                    acc = acc.wrapping_add(xi.wrapping_mul(l.w(i, o)).wrapping_shl(prod_shift));
                }
                let r = l.result.cast(i128::from(acc), acc_t.frac());
                // ReLU in the same type: x > 0 ? x : 0.
                s.b[o] = if r > 0 { r } else { 0 };
            }
            core::mem::swap(&mut s.a, &mut s.b);
            width = n_out;
        }
        let (out, skip) = (&ls[h], &ls[h + 1]);
        let acc_t = self.out_accum(m).ok_or(ModelError::Shape)?;
        let last_t = if h == 0 { self.input } else { ls[h - 1].result };
        let mut logs = [0i64; N_TARGETS];
        let bias_shift = shift(acc_t.frac() - out.bias.frac());
        let out_shift = shift(acc_t.frac() - last_t.frac() - out.weight.frac());
        let skip_shift = shift(acc_t.frac() - self.input.frac() - skip.weight.frac());
        for (o, lg) in logs.iter_mut().enumerate() {
            let mut acc = out.b(o).wrapping_shl(bias_shift);
            for (i, xi) in s.a[..width].iter().enumerate() {
                acc = acc.wrapping_add(xi.wrapping_mul(out.w(i, o)).wrapping_shl(out_shift));
            }
            for (i, xi) in token.iter().enumerate() {
                acc = acc.wrapping_add(xi.wrapping_mul(skip.w(i, o)).wrapping_shl(skip_shift));
            }
            let r = out.result.cast(i128::from(acc), acc_t.frac());
            *lg = r.min(self.cap[o]);
        }
        Ok(logs)
    }

    /// Member `m`'s share of one token's costs: `table[index(log)]` per
    /// target, raw in the table type.
    pub fn member_costs(&self, m: usize, token: &[i64]) -> Result<[i64; N_TARGETS], ModelError> {
        let logs = self.member_log_costs(m, token)?;
        let log_t = self.log_type();
        let bits = u32::from(self.table_bits);
        Ok(logs.map(|v| self.table_entry(table_index(&log_t, v, bits))))
    }

    /// Adds a member's share (table type) to a layer's costs (total type).
    pub fn add_share(&self, layer: &mut [i64; N_TARGETS], share: &[i64; N_TARGETS]) {
        add_share(&self.table_type, &self.total, layer, share);
    }

    /// One token's costs (total type, raw): the sum of the members' shares.
    pub fn layer_costs(&self, token: &[i64]) -> Result<[i64; N_TARGETS], ModelError> {
        self.check_token(token)?;
        let mut c = [0i64; N_TARGETS];
        for m in 0..usize::from(self.members) {
            let share = self.member_costs(m, token)?;
            self.add_share(&mut c, &share);
        }
        Ok(c)
    }

    /// Adds a layer's costs to a design's running totals: sums, and the
    /// maximum for II.
    pub fn accumulate(&self, totals: &mut [i64; N_TARGETS], layer: &[i64; N_TARGETS]) {
        accumulate(&self.total, totals, layer);
    }

    /// Checks a token: length, and every slot within the input type (the
    /// host quantizes with saturation; anything else is a damaged request).
    pub fn check_token(&self, token: &[i64]) -> Result<(), ModelError> {
        check_token(&self.input, usize::from(self.token_len), token)
    }

    /// A design's targets (total type, raw) from its tokens.
    pub fn estimate<'t, I: IntoIterator<Item = &'t [i64]>>(
        &self,
        tokens: I,
    ) -> Result<[i64; N_TARGETS], ModelError> {
        let mut totals = [0i64; N_TARGETS];
        for t in tokens {
            let c = self.layer_costs(t)?;
            self.accumulate(&mut totals, &c);
        }
        Ok(totals)
    }

    /// Total bits of all weights and biases.
    pub fn weight_bits(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| {
                let (i, o) = (u64::from(l.inputs), u64::from(l.outputs));
                i * o * u64::from(l.weight.width)
                    + if l.biases.is_empty() {
                        0
                    } else {
                        o * u64::from(l.bias.width)
                    }
            })
            .sum()
    }
}

/// [`FixedModel::add_share`] on its types: shared with the decoded model
/// ([`crate::fast`]), so both add shares alike.
pub(crate) fn add_share(
    table_type: &FixedType,
    total: &FixedType,
    layer: &mut [i64; N_TARGETS],
    share: &[i64; N_TARGETS],
) {
    let f = table_type.frac();
    let tf = total.frac();
    for (c, s) in layer.iter_mut().zip(share) {
        let s = i128::from(*s) << (tf - f).max(0);
        *c = total.cast(i128::from(*c) + s, tf);
    }
}

/// [`FixedModel::accumulate`] on its total type.
pub(crate) fn accumulate(
    total: &FixedType,
    totals: &mut [i64; N_TARGETS],
    layer: &[i64; N_TARGETS],
) {
    let tf = total.frac();
    for (t, (acc, v)) in totals.iter_mut().zip(layer).enumerate() {
        *acc = if t == II {
            (*acc).max(*v)
        } else {
            total.cast(i128::from(*acc) + i128::from(*v), tf)
        };
    }
}

/// [`FixedModel::check_token`] on its input type and token length.
pub(crate) fn check_token(
    input: &FixedType,
    token_len: usize,
    token: &[i64],
) -> Result<(), ModelError> {
    let (lo, hi) = (input.min_raw(), input.max_raw());
    if token.len() != token_len || token.iter().any(|v| *v < lo || *v > hi) {
        return Err(ModelError::Token);
    }
    Ok(())
}

/// Host side: encoding.
#[cfg(feature = "std")]
impl FixedModel<'_> {
    /// `MAGIC | postcard | crc64` (see the module documentation).
    pub fn to_bytes(&self) -> Result<std::vec::Vec<u8>, ModelError> {
        let body = postcard::to_stdvec(self).map_err(|_| ModelError::Decode)?;
        let mut out = std::vec::Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&body);
        out.extend_from_slice(&ID_CRC.checksum(&body).to_le_bytes());
        Ok(out)
    }
}

/// Host side: one design as the model takes it, per layer its token's raw
/// slots in the model's input type (what the host quantizes, the board
/// receives and the C simulation reads).
#[cfg(feature = "std")]
pub type Tokens = std::vec::Vec<std::vec::Vec<i64>>;

/// Host side: raw values to the little-endian bytes a [`DenseQ`] borrows.
#[cfg(feature = "std")]
pub fn pack(t: &FixedType, raw: &[i64]) -> std::vec::Vec<u8> {
    let n = elem_bytes(t);
    let mut out = std::vec::Vec::with_capacity(raw.len() * n);
    for v in raw {
        out.extend_from_slice(&v.to_le_bytes()[..n]);
    }
    out
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// One member, no hidden layer, two slots: log = 0.5·x0 − x1 + 1 (skip
    /// path 0.25·x0), table of 16 entries over the log type.
    fn tiny(out_w: &[i64], skip_w: &[i64], table: &[i64]) -> Vec<u8> {
        tiny_within(out_w, skip_w, table, [-128, -128], [127, 127])
    }

    /// [`tiny`] with slot bounds `lo`, `hi` (raw `ap_fixed<8,4>`).
    fn tiny_within(
        out_w: &[i64],
        skip_w: &[i64],
        table: &[i64],
        lo: [i64; 2],
        hi: [i64; 2],
    ) -> Vec<u8> {
        let wt = FixedType::new(8, 2);
        let log_t = FixedType::new(8, 4).with_modes(Quant::Trn, Overflow::Sat);
        let table_t = FixedType::unsigned(16, 8);
        let (ow, sw, ob) = (pack(&wt, out_w), pack(&wt, skip_w), pack(&wt, &[64; 6]));
        let tb = pack(&table_t, table);
        let input = FixedType::new(8, 4);
        let (lo, hi) = (pack(&input, &lo), pack(&input, &hi));
        let mut layers = heapless::Vec::new();
        fn dense<'a>(w: &'a [u8], b: &'a [u8], wt: FixedType, log_t: FixedType) -> DenseQ<'a> {
            DenseQ {
                inputs: 2,
                outputs: 6,
                weight: wt,
                bias: wt,
                result: log_t,
                weights: w,
                biases: b,
            }
        }
        layers.push(dense(&ow, &ob, wt, log_t)).expect("room");
        layers.push(dense(&sw, &[], wt, log_t)).expect("room");
        let m = FixedModel {
            format: FORMAT_VERSION,
            schema_version: 2,
            token_len: 2,
            input,
            token_lo: &lo,
            token_hi: &hi,
            members: 1,
            hidden: 0,
            layers,
            cap: [log_t.max_raw(); N_TARGETS],
            table_bits: 4,
            table_type: table_t,
            table: &tb,
            total: FixedType::unsigned(24, 16).with_modes(Quant::Trn, Overflow::Sat),
            provenance: "test",
        };
        m.to_bytes().expect("encodes")
    }

    #[test]
    fn encodes_parses_and_estimates_by_hand() {
        // w = 32 raw = 0.5 (F = 6); skip 16 raw = 0.25; bias 64 raw = 1.0.
        let out_w: Vec<i64> = (0..12).map(|k| if k < 6 { 32 } else { -64 }).collect();
        let skip_w: Vec<i64> = (0..12).map(|k| if k < 6 { 16 } else { 0 }).collect();
        let table: Vec<i64> = (0..16).map(|k| k * 256).collect(); // entry k = k
        let bytes = tiny(&out_w, &skip_w, &table);
        let m = FixedModel::parse(&bytes).expect("parses");
        // x = (2.0, 0.5): log = 0.5·2 − 0.5 + 1 + 0.25·2 = 2.0 → raw 32 of
        // ap_fixed<8,4>; index = top 4 bits of 0b0010_0000 = 2.
        let x = [32i64, 8];
        let c = m.layer_costs(&x).expect("costs");
        assert_eq!(c, [2 << 8; N_TARGETS]);
        let total = m.estimate([&x[..], &x[..]]).expect("estimate");
        assert_eq!(total[0], 4 << 8, "sums");
        assert_eq!(total[II], 2 << 8, "II is the maximum");
        // Out of the input type: refused, not wrapped.
        assert_eq!(m.layer_costs(&[200, 0]), Err(ModelError::Token));
        assert_eq!(m.layer_costs(&[1]), Err(ModelError::Token));
    }

    #[test]
    fn a_slot_outside_its_bounds_is_estimated_at_the_bound() {
        let out_w: Vec<i64> = (0..12).map(|k| if k < 6 { 32 } else { -64 }).collect();
        let skip_w: Vec<i64> = (0..12).map(|k| if k < 6 { 16 } else { 0 }).collect();
        let table: Vec<i64> = (0..16).map(|k| k * 256).collect();
        // Slot 0 trained on 0.5..=2.0 (raw 8..=32), slot 1 on 0.5..=1.0.
        let bytes = tiny_within(&out_w, &skip_w, &table, [8, 8], [32, 16]);
        let m = FixedModel::parse(&bytes).expect("parses");
        let unbounded = tiny(&out_w, &skip_w, &table);
        let free = FixedModel::parse(&unbounded).expect("parses");
        // Inside: as without bounds.
        assert_eq!(m.layer_costs(&[32, 8]), free.layer_costs(&[32, 8]));
        // x0 = 4.0 is lowered to 2.0; x1 = −2.0 raised to 0.5.
        assert_eq!(m.layer_costs(&[64, -32]), free.layer_costs(&[32, 8]));
        assert_ne!(m.layer_costs(&[64, -32]), free.layer_costs(&[64, -32]));
        assert_eq!(m.clamped(&[-128, 127]).as_slice(), &[8, 16]);
        // Bounds the wrong way round, or outside the input type: refused.
        let crossed = tiny_within(&out_w, &skip_w, &table, [8, 17], [32, 16]);
        assert_eq!(FixedModel::parse(&crossed).err(), Some(ModelError::Shape));
    }

    #[test]
    fn damaged_models_are_refused_with_their_reason() {
        let bytes = tiny(&[1; 12], &[1; 12], &[1; 16]);
        let mut flipped = bytes.clone();
        flipped[20] ^= 4;
        assert_eq!(FixedModel::parse(&flipped).err(), Some(ModelError::Hash));
        assert_eq!(
            FixedModel::parse(&bytes[..bytes.len() - 3]).err(),
            Some(ModelError::Hash)
        );
        assert_eq!(
            FixedModel::parse(b"ZFXQ0000000000").err(),
            Some(ModelError::Magic)
        );
        assert_eq!(FixedModel::parse(&[]).err(), Some(ModelError::Magic));
        // A body that hashes right but does not chain: rebuild with a bad
        // table length.
        let short = tiny(&[1; 12], &[1; 12], &[1; 15]);
        assert_eq!(FixedModel::parse(&short).err(), Some(ModelError::Shape));
    }

    #[test]
    fn accumulator_is_exact_for_its_parts() {
        let x = FixedType::new(9, 6);
        let w = FixedType::new(13, 5);
        let b = FixedType::new(9, 5);
        let a = accum_type(&[(x, w, 44)], &b).expect("fits");
        // F = 3 + 8; I = 6 + 5 + ⌈log2 45⌉ = 17.
        assert_eq!((a.frac(), a.int), (11, 17));
        // The extreme sum fits: 44 · (−2^5)·(−2^4) + max bias.
        let extreme =
            44i128 * (x.min_raw() as i128 * w.min_raw() as i128) + ((b.max_raw() as i128) << 3);
        assert!(extreme <= a.max_raw() as i128);
        assert!(accum_type(&[(FixedType::new(40, 20), FixedType::new(40, 20), 4)], &b).is_none());
    }
}

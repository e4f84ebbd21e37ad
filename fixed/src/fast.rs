//! The fixed-point surrogate decoded for speed: the same numbers as
//! [`FixedModel`], bit for bit, in a fraction of the instructions.
//!
//! [`FixedModel`] is the reference: it reads every weight from the encoded
//! bytes ([`raw_at`](crate::model::raw_at): a width dispatch per weight)
//! and multiplies in `i64`, which a 32-bit Cortex-A9 does in several
//! instructions per product. This module decodes a checked model once, when
//! it becomes active, into native-width arrays in caller-provided buffers
//! ([`Buffers`]: no allocation; the firmware passes statics), and evaluates
//! tokens with 16- and 32-bit products wherever they are exact.
//! `tests/fast.rs` compares it with the reference on random models and
//! tokens, every kernel included, and on the shipped model.
//!
//! ## Decoded layout
//!
//! Four lanes, one per native integer width, each a caller slice
//! ([`Buffers::new`]). A stored element of a type decodes into the narrowest
//! signed lane that holds every value its stored bytes can carry
//! ([`Lane::of`]):
//!
//! | stored ([`elem_bytes`]) | lane |
//! |---|---|
//! | 1 byte, signed | `i8` |
//! | 1 byte unsigned, 2 bytes signed | `i16` |
//! | 2 bytes unsigned, 4 bytes signed | `i32` |
//! | 4 bytes unsigned, 8 bytes | `i64` |
//!
//! For each member, a *stage* per hidden layer and one for the output layer
//! with its skip path, in the model's order. Per stage:
//!
//! * its biases in the `i64` lane, already shifted to the accumulator's
//!   fractional bits (`b << (F_acc − F_b)`, as the reference shifts them);
//! * its weights, *transposed* to `[output][input]` (a contiguous row per
//!   output), in their type's lane, or, for [`Kernel::Pairs`], two to an
//!   `i32` word (input `2k` in the low half, `2k + 1` in the high half, a
//!   zero high half closing an odd row);
//! * the skip path's weights, likewise (the output stage only);
//!
//! then the exp table, in its type's lane, and the token bounds (every
//! slot's low bound, then every slot's high bound) in the `i64` lane.
//! [`Layout`] holds where each array starts plus the types, caps and
//! kernel choices: plain data, no borrow, so the caller keeps it next to
//! the buffers and joins the two with [`Buffers::model`] to evaluate.
//!
//! ## Kernels and why they are exact
//!
//! The reference adds, per output, the shifted bias and every product
//! `x·w` shifted to the accumulator's fractional bits, wrapping in `i64`.
//! [`accum_type`](crate::model::accum_type) makes that sum exact, and in any
//! case `(Σ x·w) << s ≡ Σ (x·w << s)` modulo 2^64, so each *part* (a layer's
//! inputs against its weights) is summed unshifted and shifted once. Per
//! part, [`Buffers::decode`] picks ([`Kernel`]), with `max|x|` from the
//! inputs' type and `maxₒ Σᵢ |wₒᵢ|` from the decoded weights themselves:
//!
//! * [`Kernel::Pairs`]: inputs and weights fit `i16` and
//!   `max|x| · maxₒ Σᵢ |wₒᵢ| ≤ 2^31 − 1`: no product or partial sum can
//!   overflow `i32`. Both sides packed two to a word; the Cortex-A9 does a
//!   halfword multiply-accumulate (`smlabb`, `smlatt`) per product and loads
//!   two products' operands per pair of words.
//! * [`Kernel::Narrow`]: the same bound with inputs or weights of 17 to 32
//!   bits: `i32` products and sum (`mla`).
//! * [`Kernel::Wide`]: both fit `i32` but the bound does not hold: exact
//!   `i32 × i32 → i64` products (`smlal`), the sum modulo 2^64 as the
//!   reference's.
//! * [`Kernel::Full`]: inputs or weights wider than 32 bits: the reference's
//!   own `i64` wrapping arithmetic.
//!
//! Inputs are in range because tokens are checked (every slot within the
//! input type, as [`FixedModel::check_token`]), clamped to bounds that lie
//! inside that type (the model's checks), and every later layer's
//! inputs are results cast to their type. The result casts are
//! [`FixedType::cast_i64`] with their per-type constants computed once,
//! bit for bit [`FixedType::cast`].
//!
//! The loops walk slices with slice patterns and `split_at_checked` rather
//! than `zip`/`chunks_exact`: at the firmware's `opt-level = "s"` those stay
//! calls, and `chunks_exact` of a run-time length divides (in software: the
//! Cortex-A9 has no divider) for every row.

use crate::model::{
    self, elem_bytes, shift, DenseQ, FixedModel, ModelError, MAX_LAYERS, MAX_WIDTH, N_TARGETS,
};
use crate::{table_index, FixedType, Overflow, Quant};

/// The native integer width a decoded array is held in (see the module
/// documentation's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32` (also packed pairs of `i16`).
    I32,
    /// `i64`.
    I64,
}

impl Lane {
    /// The lane of elements of type `t`: the narrowest signed integer that
    /// holds every value of [`elem_bytes`]`(t)` stored bytes, read as
    /// [`raw_at`](crate::model::raw_at) reads them (so even a stored value
    /// outside `t`'s range decodes unchanged).
    pub const fn of(t: &FixedType) -> Lane {
        match (elem_bytes(t), t.signed) {
            (1, true) => Lane::I8,
            (1, false) | (2, true) => Lane::I16,
            (2, false) | (4, true) => Lane::I32,
            _ => Lane::I64,
        }
    }
}

/// Elements per lane: what a decoded model takes ([`Layout::need`]), or what
/// [`Buffers`] hold ([`Buffers::capacity`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Need {
    /// `i8` elements.
    pub i8s: usize,
    /// `i16` elements.
    pub i16s: usize,
    /// `i32` elements.
    pub i32s: usize,
    /// `i64` elements.
    pub i64s: usize,
}

impl Need {
    /// Enough for any model whose encoding is `len` bytes long (what the
    /// firmware sizes its static buffers with). Every weight and table
    /// entry occupies its [`elem_bytes`] in the encoding, so the `i8` and
    /// `i16` lanes hold at most one element per stored byte; so does the
    /// `i32` lane (2- and 4-byte elements, and packed pairs: a word per two
    /// weights, or one for an odd row's last); the `i64` lane at most one
    /// per 4 bytes, plus one bias per output (at most [`MAX_LAYERS`] ·
    /// [`MAX_WIDTH`], and at most one per stored byte) and two bounds per
    /// token slot (at most 2 · [`MAX_WIDTH`], each stored in a byte or
    /// more).
    pub const fn for_encoded_len(len: usize) -> Need {
        let most = MAX_LAYERS * MAX_WIDTH;
        let biases = if len < most { len } else { most };
        let bounds = if len < 2 * MAX_WIDTH {
            len
        } else {
            2 * MAX_WIDTH
        };
        Need {
            i8s: len,
            i16s: len,
            i32s: len,
            i64s: len / 4 + biases + bounds,
        }
    }

    /// Whether every lane here is at least as large as `other`'s.
    pub const fn covers(&self, other: &Need) -> bool {
        self.i8s >= other.i8s
            && self.i16s >= other.i16s
            && self.i32s >= other.i32s
            && self.i64s >= other.i64s
    }

    /// Reserves `n` elements of `lane`; returns where they start.
    fn take(&mut self, lane: Lane, n: usize) -> Slot {
        let count = match lane {
            Lane::I8 => &mut self.i8s,
            Lane::I16 => &mut self.i16s,
            Lane::I32 => &mut self.i32s,
            Lane::I64 => &mut self.i64s,
        };
        let start = *count;
        *count += n;
        Slot {
            lane,
            start,
            len: n,
        }
    }
}

/// How one part of a layer (its inputs against its weights) is summed; the
/// module documentation says when each is chosen and why it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `i16` pairs packed in words, `i32` sum (bounded: cannot overflow).
    Pairs,
    /// `i32` products, `i32` sum (bounded: cannot overflow).
    Narrow,
    /// `i32` products, `i64` sum.
    Wide,
    /// `i64` products and sum, wrapping (the reference's arithmetic).
    Full,
}

/// An array in one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    lane: Lane,
    start: usize,
    len: usize,
}

/// One part of a stage: inputs × weights, `[output][input]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    n_in: usize,
    weights: Slot,
    /// Left shift of the summed products to the accumulator's fractional
    /// bits (the reference's per-product shift).
    shift: u32,
    kernel: Kernel,
}

/// One dense layer of a member: a hidden layer (ReLU follows), or the
/// output layer with its skip path (the cap follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stage {
    n_out: usize,
    /// `n_out` biases, `i64`, shifted to the accumulator.
    bias: Slot,
    main: Part,
    skip: Option<Part>,
    /// The cast of the accumulator to the layer's result type.
    result: Cast,
}

/// [`FixedType::cast_i64`] of values with `from_frac` fractional bits to
/// `to`, its per-type decisions taken once: the shift, the rounding, the
/// bounds or the wrap. Bit for bit `to.cast_i64(v, from_frac)` (and so
/// `to.cast`): the same operations on the same constants, the rare cases
/// (a left shift, a zero width) left to `cast` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cast {
    to: FixedType,
    from_frac: i32,
    /// Left to [`FixedType::cast`]: a left shift, or a zero width.
    general: bool,
    /// Right shift (`Trn`), or the shift before the rounding step (`Rnd`).
    shift: u32,
    rnd: bool,
    sat: bool,
    lo: i64,
    hi: i64,
    /// Wrap: `64 − W` bits shifted out and back (arithmetic for a signed
    /// type, logical for an unsigned one).
    wrap: u32,
}

impl Cast {
    fn new(to: FixedType, from_frac: i32) -> Self {
        let s = from_frac - to.frac();
        let general = s < 0 || to.width == 0;
        let rnd = s > 0 && to.quant == Quant::Rnd;
        let shift = if rnd { s - 1 } else { s }.clamp(0, 63) as u32;
        let sat = to.overflow == Overflow::Sat;
        let (lo, hi) = if sat && !general {
            (to.min_raw(), to.max_raw())
        } else {
            (0, 0)
        };
        Cast {
            to,
            from_frac,
            general,
            shift,
            rnd,
            sat,
            lo,
            hi,
            wrap: 64 - u32::from(to.width).clamp(1, 64),
        }
    }

    #[inline(always)]
    fn apply(&self, v: i64) -> i64 {
        if self.general {
            return self.to.cast(i128::from(v), self.from_frac);
        }
        let q = v >> self.shift;
        // ⌊(q + 1)/2⌋ without the overflow of q = i64::MAX.
        let q = if self.rnd { (q >> 1) + (q & 1) } else { q };
        if self.sat {
            q.clamp(self.lo, self.hi)
        } else if self.to.signed {
            (q << self.wrap) >> self.wrap
        } else {
            (((q as u64) << self.wrap) >> self.wrap) as i64
        }
    }
}

/// Where a decoded model lies in its [`Buffers`], and everything else its
/// evaluation needs: types, caps, kernel choices. Made by
/// [`Buffers::decode`]; valid with those buffers until they decode another
/// model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// [`Buffers`]' decode count when this was decoded.
    generation: u32,
    /// Which buffers: their lanes' addresses.
    home: [usize; 4],
    token_len: usize,
    input: FixedType,
    members: usize,
    hidden: usize,
    /// Per member: `hidden` hidden stages, then the output stage.
    stages: heapless::Vec<Stage, MAX_LAYERS>,
    cap: [i64; N_TARGETS],
    table_bits: u32,
    table_type: FixedType,
    table: Slot,
    /// Every slot's low bound, then every slot's high bound (`i64` lane).
    bounds: Slot,
    log_type: FixedType,
    total: FixedType,
    need: Need,
}

impl Layout {
    /// Elements per lane that decoding `m` takes. `m` must pass the model's
    /// checks (as every parsed model has); otherwise their error.
    pub fn need(m: &FixedModel<'_>) -> Result<Need, ModelError> {
        m.check()?;
        let mut n = Need::default();
        let h = usize::from(m.hidden);
        for mi in 0..usize::from(m.members) {
            let ls = m.member(mi);
            for (k, l) in ls.iter().take(h).enumerate() {
                n.take(Lane::I64, usize::from(l.outputs));
                let (_, lane, len) = plan_part(l, &m.hidden_input(mi, k));
                n.take(lane, len);
            }
            let (out, skip) = out_and_skip(ls, h)?;
            let last = if h == 0 { m.input } else { ls[h - 1].result };
            n.take(Lane::I64, usize::from(out.outputs));
            for (l, x) in [(out, last), (skip, m.input)] {
                let (_, lane, len) = plan_part(l, &x);
                n.take(lane, len);
            }
        }
        n.take(Lane::of(&m.table_type), 1usize << m.table_bits);
        n.take(Lane::I64, 2 * usize::from(m.token_len));
        Ok(n)
    }

    /// Elements per lane this model takes.
    pub fn needs(&self) -> Need {
        self.need
    }

    /// Slots per token.
    pub fn token_len(&self) -> usize {
        self.token_len
    }

    /// Type of the token slots.
    pub fn input(&self) -> FixedType {
        self.input
    }

    /// Type of per-layer and per-design costs.
    pub fn total(&self) -> FixedType {
        self.total
    }

    /// Ensemble members.
    pub fn members(&self) -> usize {
        self.members
    }

    /// The kernel of every part, in order: per member, each hidden layer,
    /// then the output layer and its skip path.
    pub fn kernels(&self) -> impl Iterator<Item = Kernel> + '_ {
        self.stages
            .iter()
            .flat_map(|s| core::iter::once(s.main.kernel).chain(s.skip.map(|p| p.kernel)))
    }
}

/// A member's output layer and skip path (after its `h` hidden layers).
fn out_and_skip<'l, 'a>(
    ls: &'l [DenseQ<'a>],
    h: usize,
) -> Result<(&'l DenseQ<'a>, &'l DenseQ<'a>), ModelError> {
    match (ls.get(h), ls.get(h + 1)) {
        (Some(o), Some(s)) => Ok((o, s)),
        _ => Err(ModelError::Shape),
    }
}

/// Whether every value of `t` lies in `lo..=hi`.
fn within(t: &FixedType, lo: i64, hi: i64) -> bool {
    t.min_raw() >= lo && t.max_raw() <= hi
}

/// The kernel of layer `l` against inputs of type `x` (module
/// documentation), and where its weights go: lane and elements.
fn plan_part(l: &DenseQ<'_>, x: &FixedType) -> (Kernel, Lane, usize) {
    let (n_in, n_out) = (usize::from(l.inputs), usize::from(l.outputs));
    // maxₒ Σᵢ |wₒᵢ| bounds every partial sum with max|x|.
    let (mut widest, mut all16) = (0u64, true);
    for o in 0..n_out {
        let mut row = 0u64;
        for i in 0..n_in {
            let w = l.w(i, o);
            row = row.saturating_add(w.unsigned_abs());
            all16 &= i16::try_from(w).is_ok();
        }
        widest = widest.max(row);
    }
    let x_max = x.min_raw().unsigned_abs().max(x.max_raw().unsigned_abs());
    let bounded = u128::from(x_max) * u128::from(widest) <= i32::MAX as u128;
    let lane = Lane::of(&l.weight);
    let x16 = within(x, i16::MIN.into(), i16::MAX.into());
    if !within(x, i32::MIN.into(), i32::MAX.into()) || lane == Lane::I64 {
        (Kernel::Full, lane, n_in * n_out)
    } else if !bounded {
        (Kernel::Wide, lane, n_in * n_out)
    } else if x16 && all16 {
        (Kernel::Pairs, Lane::I32, n_out * n_in.div_ceil(2))
    } else {
        (Kernel::Narrow, lane, n_in * n_out)
    }
}

/// Two `i16` values in one word: `lo` in the low half, `hi` in the high.
#[inline(always)]
fn pack16(lo: i64, hi: i64) -> i32 {
    (u32::from(lo as u16) | u32::from(hi as u16) << 16) as i32
}

/// The caller's storage for decoded models: one slice per lane, reused by
/// every [`Buffers::decode`]. Size them with [`Layout::need`] for one model
/// or [`Need::for_encoded_len`] for any model up to a length.
pub struct Buffers<'b> {
    i8s: &'b mut [i8],
    i16s: &'b mut [i16],
    i32s: &'b mut [i32],
    i64s: &'b mut [i64],
    /// Decodes so far (wrapping): a [`Layout`] from an earlier decode no
    /// longer matches.
    generation: u32,
}

impl<'b> Buffers<'b> {
    /// Buffers over the caller's lanes.
    pub fn new(
        i8s: &'b mut [i8],
        i16s: &'b mut [i16],
        i32s: &'b mut [i32],
        i64s: &'b mut [i64],
    ) -> Self {
        Self {
            i8s,
            i16s,
            i32s,
            i64s,
            generation: 0,
        }
    }

    /// The lanes' addresses: which buffers a [`Layout`] belongs to.
    fn home(&self) -> [usize; 4] {
        [
            self.i8s.as_ptr() as usize,
            self.i16s.as_ptr() as usize,
            self.i32s.as_ptr() as usize,
            self.i64s.as_ptr() as usize,
        ]
    }

    /// Elements per lane.
    pub fn capacity(&self) -> Need {
        Need {
            i8s: self.i8s.len(),
            i16s: self.i16s.len(),
            i32s: self.i32s.len(),
            i64s: self.i64s.len(),
        }
    }

    /// Decodes `m` into the buffers (see the module documentation) and
    /// returns its [`Layout`]. Any earlier layout stops being valid here,
    /// even when this fails. `Err(Capacity)` when a lane is too short;
    /// the model checks' error (`Shape`, …) for a model that fails them.
    pub fn decode(&mut self, m: &FixedModel<'_>) -> Result<Layout, ModelError> {
        let need = Layout::need(m)?;
        self.generation = self.generation.wrapping_add(1);
        if !self.capacity().covers(&need) {
            return Err(ModelError::Capacity);
        }
        let mut at = Need::default();
        let mut stages = heapless::Vec::new();
        let h = usize::from(m.hidden);
        for mi in 0..usize::from(m.members) {
            let ls = m.member(mi);
            for (k, l) in ls.iter().take(h).enumerate() {
                let acc = m.hidden_accum(mi, k).ok_or(ModelError::Shape)?;
                let stage = Stage {
                    n_out: usize::from(l.outputs),
                    bias: self.decode_bias(&mut at, l, acc.frac())?,
                    main: self.decode_part(&mut at, l, &m.hidden_input(mi, k), acc.frac())?,
                    skip: None,
                    result: Cast::new(l.result, acc.frac()),
                };
                stages.push(stage).map_err(|_| ModelError::Shape)?;
            }
            let (out, skip) = out_and_skip(ls, h)?;
            let acc = m.out_accum(mi).ok_or(ModelError::Shape)?;
            let last = if h == 0 { m.input } else { ls[h - 1].result };
            let stage = Stage {
                n_out: usize::from(out.outputs),
                bias: self.decode_bias(&mut at, out, acc.frac())?,
                main: self.decode_part(&mut at, out, &last, acc.frac())?,
                skip: Some(self.decode_part(&mut at, skip, &m.input, acc.frac())?),
                result: Cast::new(out.result, acc.frac()),
            };
            stages.push(stage).map_err(|_| ModelError::Shape)?;
        }
        let entries = 1usize << m.table_bits;
        let table = at.take(Lane::of(&m.table_type), entries);
        for k in 0..entries {
            self.put(table, k, m.table_entry(k))?;
        }
        let n = usize::from(m.token_len);
        let bounds = at.take(Lane::I64, 2 * n);
        for i in 0..n {
            let (lo, hi) = m.bounds(i);
            self.put(bounds, i, lo)?;
            self.put(bounds, n + i, hi)?;
        }
        Ok(Layout {
            generation: self.generation,
            home: self.home(),
            token_len: usize::from(m.token_len),
            input: m.input,
            members: usize::from(m.members),
            hidden: h,
            stages,
            cap: m.cap,
            table_bits: u32::from(m.table_bits),
            table_type: m.table_type,
            table,
            bounds,
            log_type: m.log_type(),
            total: m.total,
            need,
        })
    }

    /// The model `layout` describes, ready to evaluate; `None` when these
    /// buffers have decoded another model since, or `layout` was decoded
    /// into other buffers.
    pub fn model<'s>(&'s self, layout: &'s Layout) -> Option<FastModel<'s>> {
        let ours = layout.generation == self.generation && layout.home == self.home();
        (ours && self.capacity().covers(&layout.need)).then_some(FastModel {
            layout,
            i8s: self.i8s,
            i16s: self.i16s,
            i32s: self.i32s,
            i64s: self.i64s,
        })
    }

    /// Writes element `k` of `slot`.
    fn put(&mut self, slot: Slot, k: usize, v: i64) -> Result<(), ModelError> {
        let at = slot.start + k;
        let room = ModelError::Capacity;
        // A value that does not fit its lane cannot come from raw_at; refuse
        // rather than truncate.
        let narrow = |_| ModelError::Shape;
        match slot.lane {
            Lane::I8 => *self.i8s.get_mut(at).ok_or(room)? = i8::try_from(v).map_err(narrow)?,
            Lane::I16 => *self.i16s.get_mut(at).ok_or(room)? = i16::try_from(v).map_err(narrow)?,
            Lane::I32 => *self.i32s.get_mut(at).ok_or(room)? = i32::try_from(v).map_err(narrow)?,
            Lane::I64 => *self.i64s.get_mut(at).ok_or(room)? = v,
        }
        Ok(())
    }

    /// A layer's biases, shifted to the accumulator's `acc_frac` fractional
    /// bits as the reference shifts them.
    fn decode_bias(
        &mut self,
        at: &mut Need,
        l: &DenseQ<'_>,
        acc_frac: i32,
    ) -> Result<Slot, ModelError> {
        let n = usize::from(l.outputs);
        let slot = at.take(Lane::I64, n);
        let s = shift(acc_frac - l.bias.frac());
        for o in 0..n {
            self.put(slot, o, l.b(o).wrapping_shl(s))?;
        }
        Ok(slot)
    }

    /// A layer's weights against inputs of type `x`, laid out for the
    /// kernel that sums them.
    fn decode_part(
        &mut self,
        at: &mut Need,
        l: &DenseQ<'_>,
        x: &FixedType,
        acc_frac: i32,
    ) -> Result<Part, ModelError> {
        let (n_in, n_out) = (usize::from(l.inputs), usize::from(l.outputs));
        let (kernel, lane, len) = plan_part(l, x);
        let slot = at.take(lane, len);
        if kernel == Kernel::Pairs {
            let half = n_in.div_ceil(2);
            for o in 0..n_out {
                for k in 0..half {
                    let hi = if 2 * k + 1 < n_in {
                        l.w(2 * k + 1, o)
                    } else {
                        0
                    };
                    let word = pack16(l.w(2 * k, o), hi);
                    self.put(slot, o * half + k, i64::from(word))?;
                }
            }
        } else {
            for o in 0..n_out {
                for i in 0..n_in {
                    self.put(slot, o * n_in + i, l.w(i, o))?;
                }
            }
        }
        Ok(Part {
            n_in,
            weights: slot,
            shift: shift(acc_frac - x.frac() - l.weight.frac()),
            kernel,
        })
    }
}

impl core::fmt::Debug for Buffers<'_> {
    /// Sizes, not contents (the lanes run to megabytes).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Buffers")
            .field("capacity", &self.capacity())
            .field("generation", &self.generation)
            .finish()
    }
}

/// A decoded model joined with its buffers ([`Buffers::model`]): evaluates
/// tokens exactly as [`FixedModel`] does.
#[derive(Clone, Copy)]
pub struct FastModel<'s> {
    layout: &'s Layout,
    i8s: &'s [i8],
    i16s: &'s [i16],
    i32s: &'s [i32],
    i64s: &'s [i64],
}

impl core::fmt::Debug for FastModel<'_> {
    /// The layout, not the lanes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FastModel")
            .field("layout", self.layout)
            .finish()
    }
}

/// Words of `MAX_WIDTH` values packed two to a word.
const PAIRS: usize = MAX_WIDTH.div_ceil(2);

/// One layer's inputs, as each kernel reads them.
#[derive(Debug, Clone, Copy)]
struct Inputs<'a> {
    x: &'a [i64],
    /// `x` narrowed to `i32`, meaningful where `x`'s type fits `i32`.
    x32: &'a [i32],
    /// `x` packed two `i16` to a word ([`pack16`]), meaningful where `x`'s
    /// type fits `i16`.
    x16: &'a [i32],
}

/// Working memory of an evaluation: activations in `i64`, and narrowed for
/// the 32- and 16-bit kernels. [`FastModel::layer_costs_in`] reuses one
/// across tokens (zeroing it costs about what a small layer does).
#[derive(Debug, Clone)]
pub struct Scratch {
    /// The token, clamped to the bounds.
    token: [i64; MAX_WIDTH],
    a: [i64; MAX_WIDTH],
    a32: [i32; MAX_WIDTH],
    a16: [i32; PAIRS],
    b: [i64; MAX_WIDTH],
    b32: [i32; MAX_WIDTH],
    b16: [i32; PAIRS],
    token32: [i32; MAX_WIDTH],
    token16: [i32; PAIRS],
}

impl Scratch {
    /// Zeroed scratch.
    pub const fn new() -> Self {
        Scratch {
            token: [0; MAX_WIDTH],
            a: [0; MAX_WIDTH],
            a32: [0; MAX_WIDTH],
            a16: [0; PAIRS],
            b: [0; MAX_WIDTH],
            b32: [0; MAX_WIDTH],
            b16: [0; PAIRS],
            token32: [0; MAX_WIDTH],
            token16: [0; PAIRS],
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// Fills the narrowed copies of `x`: `x32[i] = x[i] as i32`, and `x16`
/// packed pairs (a zero high half after an odd count). Exact where `x`'s
/// type fits; otherwise never read.
fn narrow(x: &[i64], x32: &mut [i32], x16: &mut [i32]) {
    for (d, v) in x32.iter_mut().zip(x) {
        *d = *v as i32;
    }
    let mut it = x.iter();
    for d in x16.iter_mut() {
        let Some(lo) = it.next() else {
            return;
        };
        *d = pack16(*lo, it.next().copied().unwrap_or(0));
    }
}

fn lane<T>(v: &[T], s: Slot) -> Result<&[T], ModelError> {
    v.get(s.start..s.start + s.len).ok_or(ModelError::Shape)
}

impl<'s> FastModel<'s> {
    /// Its layout (types and sizes).
    pub fn layout(&self) -> &'s Layout {
        self.layout
    }

    /// Slots per token.
    pub fn token_len(&self) -> usize {
        self.layout.token_len
    }

    /// Type of the token slots.
    pub fn input(&self) -> FixedType {
        self.layout.input
    }

    /// Type of per-layer and per-design costs.
    pub fn total(&self) -> FixedType {
        self.layout.total
    }

    /// [`FixedModel::check_token`].
    pub fn check_token(&self, token: &[i64]) -> Result<(), ModelError> {
        model::check_token(&self.layout.input, self.layout.token_len, token)
    }

    /// [`FixedModel::accumulate`].
    pub fn accumulate(&self, totals: &mut [i64; N_TARGETS], layer: &[i64; N_TARGETS]) {
        model::accumulate(&self.layout.total, totals, layer);
    }

    /// [`FixedModel::member_log_costs`], for a token that passes
    /// [`FastModel::check_token`] (checked here: the kernels' bounds assume
    /// in-range inputs). `Err(Shape)` for a member the model does not have.
    pub fn member_log_costs(
        &self,
        m: usize,
        token: &[i64],
    ) -> Result<[i64; N_TARGETS], ModelError> {
        let s = &mut Scratch::new();
        self.take_token(token, s)?;
        self.logs(m, s)
    }

    /// Checks `token`, clamps it to the bounds into `s.token` and fills its
    /// narrowed copies ([`narrow`]).
    fn take_token(&self, token: &[i64], s: &mut Scratch) -> Result<(), ModelError> {
        self.check_token(token)?;
        let n = token.len();
        let b = lane(self.i64s, self.layout.bounds)?;
        let (lo, hi) = b.split_at_checked(n).ok_or(ModelError::Shape)?;
        let x = s.token.get_mut(..n).ok_or(ModelError::Shape)?;
        for (((x, v), lo), hi) in x.iter_mut().zip(token).zip(lo).zip(hi) {
            *x = (*v).clamp(*lo, *hi);
        }
        narrow(&s.token[..n], &mut s.token32, &mut s.token16);
        Ok(())
    }

    /// [`FixedModel::layer_costs`]: one token's costs (total type, raw).
    pub fn layer_costs(&self, token: &[i64]) -> Result<[i64; N_TARGETS], ModelError> {
        self.layer_costs_in(token, &mut Scratch::new())
    }

    /// [`FastModel::layer_costs`] in the caller's scratch (what a loop over
    /// many tokens should call).
    pub fn layer_costs_in(
        &self,
        token: &[i64],
        s: &mut Scratch,
    ) -> Result<[i64; N_TARGETS], ModelError> {
        self.take_token(token, s)?;
        let l = self.layout;
        let table = self.table()?;
        let mut c = [0i64; N_TARGETS];
        for m in 0..l.members {
            let logs = self.logs(m, s)?;
            let mut share = [0i64; N_TARGETS];
            for (sh, v) in share.iter_mut().zip(logs) {
                *sh = table.get(table_index(&l.log_type, v, l.table_bits))?;
            }
            model::add_share(&l.table_type, &l.total, &mut c, &share);
        }
        Ok(c)
    }

    /// [`FixedModel::estimate`]: a design's targets from its tokens.
    pub fn estimate<'t, I: IntoIterator<Item = &'t [i64]>>(
        &self,
        tokens: I,
    ) -> Result<[i64; N_TARGETS], ModelError> {
        let s = &mut Scratch::new();
        let mut totals = [0i64; N_TARGETS];
        for t in tokens {
            let c = self.layer_costs_in(t, s)?;
            self.accumulate(&mut totals, &c);
        }
        Ok(totals)
    }

    fn table(&self) -> Result<Table<'s>, ModelError> {
        let s = self.layout.table;
        Ok(match s.lane {
            Lane::I8 => Table::I8(lane(self.i8s, s)?),
            Lane::I16 => Table::I16(lane(self.i16s, s)?),
            Lane::I32 => Table::I32(lane(self.i32s, s)?),
            Lane::I64 => Table::I64(lane(self.i64s, s)?),
        })
    }

    /// Member `m`'s capped log-costs of the clamped token in `s`
    /// ([`FastModel::take_token`]).
    fn logs(&self, m: usize, s: &mut Scratch) -> Result<[i64; N_TARGETS], ModelError> {
        let l = self.layout;
        let per = l.hidden + 1;
        let stages = l
            .stages
            .get(m * per..(m + 1) * per)
            .ok_or(ModelError::Shape)?;
        let (out, hidden) = stages.split_last().ok_or(ModelError::Shape)?;
        let tok = Inputs {
            x: &s.token[..l.token_len],
            x32: &s.token32,
            x16: &s.token16,
        };
        // Each hidden layer reads one set of buffers and writes the other;
        // the first reads the token itself.
        let mut cur = (&mut s.a, &mut s.a32, &mut s.a16);
        let mut next = (&mut s.b, &mut s.b32, &mut s.b16);
        let mut x = tok;
        for st in hidden {
            let acc = next.0.get_mut(..st.n_out).ok_or(ModelError::Shape)?;
            acc.copy_from_slice(lane(self.i64s, st.bias)?);
            self.part(&st.main, x, acc)?;
            for v in acc.iter_mut() {
                let r = st.result.apply(*v);
                // ReLU in the same type: x > 0 ? x : 0.
                *v = if r > 0 { r } else { 0 };
            }
            narrow(acc, &mut next.1[..], &mut next.2[..]);
            core::mem::swap(&mut cur, &mut next);
            x = Inputs {
                x: &cur.0[..st.n_out],
                x32: &cur.1[..],
                x16: &cur.2[..],
            };
        }
        let mut logs = [0i64; N_TARGETS];
        logs.copy_from_slice(lane(self.i64s, out.bias)?);
        self.part(&out.main, x, &mut logs)?;
        if let Some(skip) = &out.skip {
            self.part(skip, tok, &mut logs)?;
        }
        for (v, cap) in logs.iter_mut().zip(l.cap) {
            *v = out.result.apply(*v).min(cap);
        }
        Ok(logs)
    }

    /// Adds `Σᵢ x[i]·w[o][i] << shift` to `acc[o]` for every output `o`.
    fn part(&self, p: &Part, x: Inputs<'_>, acc: &mut [i64]) -> Result<(), ModelError> {
        let n = p.n_in;
        let (x, x32, x16) = match (x.x.get(..n), x.x32.get(..n), x.x16.get(..n.div_ceil(2))) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => return Err(ModelError::Shape),
        };
        let w = p.weights;
        match (p.kernel, w.lane) {
            (Kernel::Pairs, _) => rows(p, x16, lane(self.i32s, w)?, acc, dot_pairs),
            (Kernel::Full, Lane::I8) => rows(p, x, lane(self.i8s, w)?, acc, dot_full),
            (Kernel::Full, Lane::I16) => rows(p, x, lane(self.i16s, w)?, acc, dot_full),
            (Kernel::Full, Lane::I32) => rows(p, x, lane(self.i32s, w)?, acc, dot_full),
            (_, Lane::I64) => rows(p, x, lane(self.i64s, w)?, acc, dot_full),
            (Kernel::Narrow, Lane::I8) => rows(p, x32, lane(self.i8s, w)?, acc, dot_narrow),
            (Kernel::Narrow, Lane::I16) => rows(p, x32, lane(self.i16s, w)?, acc, dot_narrow),
            (Kernel::Narrow, Lane::I32) => rows(p, x32, lane(self.i32s, w)?, acc, dot_narrow),
            (Kernel::Wide, Lane::I8) => rows(p, x32, lane(self.i8s, w)?, acc, dot_wide),
            (Kernel::Wide, Lane::I16) => rows(p, x32, lane(self.i16s, w)?, acc, dot_wide),
            (Kernel::Wide, Lane::I32) => rows(p, x32, lane(self.i32s, w)?, acc, dot_wide),
        }
        Ok(())
    }
}

/// The exp table in its lane.
enum Table<'s> {
    I8(&'s [i8]),
    I16(&'s [i16]),
    I32(&'s [i32]),
    I64(&'s [i64]),
}

impl Table<'_> {
    fn get(&self, k: usize) -> Result<i64, ModelError> {
        let v = match self {
            Table::I8(t) => t.get(k).map(|v| i64::from(*v)),
            Table::I16(t) => t.get(k).map(|v| i64::from(*v)),
            Table::I32(t) => t.get(k).map(|v| i64::from(*v)),
            Table::I64(t) => t.get(k).copied(),
        };
        v.ok_or(ModelError::Shape)
    }
}

/// For each output `o`: `acc[o] += dot(x, row o) << shift`, the rows
/// `x.len()` elements each, one after another in `w`.
#[inline(always)]
fn rows<X, W>(p: &Part, x: &[X], w: &[W], acc: &mut [i64], dot: impl Fn(&[X], &[W]) -> i64) {
    let mut w = w;
    for a in acc.iter_mut() {
        let Some((row, rest)) = w.split_at_checked(x.len()) else {
            return;
        };
        *a = a.wrapping_add(dot(x, row).wrapping_shl(p.shift));
        w = rest;
    }
}

/// `Σ p(x_i, w_i)`, wrapping, four terms per iteration (the unrolling the
/// Cortex-A9 wants: one loop test per four multiply-adds). `x` and `w`
/// have the same length; the kernels below differ only in `p` and `A`.
#[inline(always)]
fn unrolled<X, W, A: Copy>(
    x: &[X],
    w: &[W],
    zero: A,
    p: impl Fn(&X, &W) -> A,
    add: impl Fn(A, A) -> A,
) -> A {
    let (mut xs, mut ws) = (x, w);
    let mut acc = zero;
    while let ([x0, x1, x2, x3, xr @ ..], [w0, w1, w2, w3, wr @ ..]) = (xs, ws) {
        acc = add(
            add(add(add(acc, p(x0, w0)), p(x1, w1)), p(x2, w2)),
            p(x3, w3),
        );
        (xs, ws) = (xr, wr);
    }
    while let ([x0, xr @ ..], [w0, wr @ ..]) = (xs, ws) {
        acc = add(acc, p(x0, w0));
        (xs, ws) = (xr, wr);
    }
    acc
}

/// [`Kernel::Pairs`]: `Σ lo(x)·lo(w) + hi(x)·hi(w)` over packed words, in
/// `i32` (bounded by the decoder: never wraps), four words (eight products)
/// per iteration. `x` and `w` have the same length.
#[inline(always)]
fn dot_pairs(x: &[i32], w: &[i32]) -> i64 {
    let lo = |a: &i32| (*a << 16) >> 16;
    let hi = |a: &i32| *a >> 16;
    let p = |a: &i32, b: &i32| {
        lo(a)
            .wrapping_mul(lo(b))
            .wrapping_add(hi(a).wrapping_mul(hi(b)))
    };
    i64::from(unrolled(x, w, 0i32, p, i32::wrapping_add))
}

/// [`Kernel::Narrow`]: `Σ x·w` in `i32` (bounded by the decoder: never
/// wraps), four products per iteration. `x` and `w` have the same length.
#[inline(always)]
fn dot_narrow<W: Copy>(x: &[i32], w: &[W]) -> i64
where
    i32: From<W>,
{
    let p = |a: &i32, b: &W| a.wrapping_mul(i32::from(*b));
    i64::from(unrolled(x, w, 0i32, p, i32::wrapping_add))
}

/// [`Kernel::Wide`]: `Σ x·w` of exact `i32 × i32` products in `i64`
/// (modulo 2^64), four per iteration. `x` and `w` have the same length.
#[inline(always)]
fn dot_wide<W: Copy>(x: &[i32], w: &[W]) -> i64
where
    i32: From<W>,
{
    let p = |a: &i32, b: &W| i64::from(*a) * i64::from(i32::from(*b));
    unrolled(x, w, 0i64, p, i64::wrapping_add)
}

/// [`Kernel::Full`]: the reference's `i64` wrapping products and sum.
#[inline(always)]
fn dot_full<W: Copy>(x: &[i64], w: &[W]) -> i64
where
    i64: From<W>,
{
    let (mut xs, mut ws) = (x, w);
    let mut acc = 0i64;
    while let ([x0, xr @ ..], [w0, wr @ ..]) = (xs, ws) {
        acc = acc.wrapping_add(x0.wrapping_mul(i64::from(*w0)));
        (xs, ws) = (xr, wr);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precomputed cast is `cast_i64` (and so `cast`) bit for bit.
    #[test]
    fn precomputed_cast_is_cast() {
        let mut rng = fastrand::Rng::with_seed(13);
        for case in 0..100_000 {
            let w = rng.u8(0..=64);
            let signed = w == 64 || rng.bool();
            let t = FixedType {
                width: w,
                int: rng.i16(-80..=80),
                signed,
                quant: if rng.bool() { Quant::Rnd } else { Quant::Trn },
                overflow: if rng.bool() {
                    Overflow::Sat
                } else {
                    Overflow::Wrap
                },
            };
            if w == 0 && t.overflow == Overflow::Sat {
                // min_raw of a zero-width type is undefined (the reference
                // overflows): no model can hold one.
                continue;
            }
            let from = rng.i32(-100..=200);
            let c = Cast::new(t, from);
            for _ in 0..8 {
                let v = match rng.u8(0..4) {
                    0 => i64::MIN,
                    1 => i64::MAX,
                    2 => rng.i64(-5000..=5000),
                    _ => rng.i64(..),
                };
                assert_eq!(
                    c.apply(v),
                    t.cast(i128::from(v), from),
                    "case {case}: {t:?} from {from} v {v}"
                );
            }
        }
    }

    /// Packed pairs sum what the plain products sum, odd lengths included.
    #[test]
    fn pairs_are_products() {
        let mut rng = fastrand::Rng::with_seed(17);
        for _ in 0..2000 {
            let n = rng.usize(1..=MAX_WIDTH);
            let x: heapless::Vec<i64, MAX_WIDTH> = (0..n).map(|_| rng.i64(-300..=300)).collect();
            let w: heapless::Vec<i64, MAX_WIDTH> =
                (0..n).map(|_| rng.i64(-32768..=32767)).collect();
            let (mut x32, mut x16) = ([0i32; MAX_WIDTH], [0i32; PAIRS]);
            narrow(&x, &mut x32, &mut x16);
            let mut wp = [0i32; PAIRS];
            for (k, d) in wp.iter_mut().enumerate().take(n.div_ceil(2)) {
                *d = pack16(w[2 * k], w.get(2 * k + 1).copied().unwrap_or(0));
            }
            let half = n.div_ceil(2);
            let want: i64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            assert_eq!(dot_pairs(&x16[..half], &wp[..half]), want);
            assert_eq!(dot_full(&x, &w), want);
        }
    }
}

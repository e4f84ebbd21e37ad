//! The decoded fast path (`zest_fixed::fast`) against the reference
//! (`FixedModel`), bit for bit: random models of every shape the checks
//! allow (types from 1 to 64 bits, signed and unsigned, rounding and
//! saturating, weights stored outside their type's range, all three
//! kernels), random in-range tokens with their extremes, and the shipped
//! model. Seeded (`fastrand`): a failure prints its seed and case.
//!
//! Also `FixedType::cast_i64` against `FixedType::cast`, the buffer sizing
//! (`Need::for_encoded_len` covers every model of that length), refusals
//! (short buffers, stale layouts, bad tokens).

use zest_fixed::fast::{Buffers, Kernel, Layout, Need};
use zest_fixed::model::{
    elem_bytes, pack, DenseQ, FixedModel, ModelError, FORMAT_VERSION, MAX_WIDTH, N_TARGETS,
};
use zest_fixed::{FixedType, Overflow, Quant};

/// Owned lanes for `Buffers`.
struct Owned {
    i8s: Vec<i8>,
    i16s: Vec<i16>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
}

impl Owned {
    fn new(n: Need) -> Self {
        Self {
            i8s: vec![0; n.i8s],
            i16s: vec![0; n.i16s],
            i32s: vec![0; n.i32s],
            i64s: vec![0; n.i64s],
        }
    }

    fn buffers(&mut self) -> Buffers<'_> {
        Buffers::new(
            &mut self.i8s,
            &mut self.i16s,
            &mut self.i32s,
            &mut self.i64s,
        )
    }
}

fn modes(rng: &mut fastrand::Rng, t: FixedType) -> FixedType {
    let q = if rng.u8(0..4) == 0 {
        Quant::Rnd
    } else {
        Quant::Trn
    };
    let o = if rng.u8(0..3) == 0 {
        Overflow::Wrap
    } else {
        Overflow::Sat
    };
    t.with_modes(q, o)
}

/// A random type of `lo..=hi` bits with `F` in `-4..=W+4`, unsigned one
/// time in `unsigned_one_in` (never for 0).
fn ty(rng: &mut fastrand::Rng, lo: u8, hi: u8, unsigned_one_in: u8) -> FixedType {
    let signed = unsigned_one_in == 0 || rng.u8(0..unsigned_one_in) != 0;
    let w = rng.u8(lo..=hi);
    let f = rng.i16(-4..=i16::from(w) + 4);
    let int = i16::from(w) - f;
    let t = if signed || w > 63 {
        FixedType::new(w, int)
    } else {
        FixedType::unsigned(w, int)
    };
    modes(rng, t)
}

/// A raw value of `t`: its extremes and small values often.
fn raw(rng: &mut fastrand::Rng, t: &FixedType) -> i64 {
    let (lo, hi) = (t.min_raw(), t.max_raw());
    match rng.u8(0..10) {
        0 => lo,
        1 => hi,
        2 => rng.i64(-3..=3).clamp(lo, hi),
        _ => rng.i64(lo..=hi),
    }
}

/// A stored value of `t`: sometimes anything its bytes can hold, which the
/// reference reads as it is (`raw_at`), in range or not.
fn stored(rng: &mut fastrand::Rng, t: &FixedType) -> i64 {
    if rng.u8(0..40) != 0 {
        return raw(rng, t);
    }
    let bits = 8 * elem_bytes(t) as u32;
    match (bits, t.signed) {
        (64, _) => rng.i64(..),
        (b, true) => rng.i64(-(1i64 << (b - 1))..(1i64 << (b - 1))),
        (b, false) => rng.i64(0..(1i64 << b)),
    }
}

/// One layer, owned: inputs, outputs, weight, bias and result types,
/// packed weights, packed biases.
type Layer = (u16, u16, FixedType, FixedType, FixedType, Vec<u8>, Vec<u8>);

/// An owned random model: everything a `FixedModel` borrows.
struct Spec {
    token_len: u16,
    input: FixedType,
    /// Per slot bounds, packed in the input type.
    lo: Vec<u8>,
    hi: Vec<u8>,
    members: u8,
    hidden: u8,
    layers: Vec<Layer>,
    cap: [i64; N_TARGETS],
    table_bits: u8,
    table_type: FixedType,
    table: Vec<u8>,
    total: FixedType,
}

impl Spec {
    fn random(rng: &mut fastrand::Rng) -> Spec {
        // Width ranges: mostly narrow (the Narrow kernel), sometimes wide
        // inputs or weights (Wide, Full).
        let (x_hi, w_hi) = match rng.u8(0..6) {
            0 => (40, 12),
            1 => (12, 40),
            2 => (20, 20),
            _ => (14, 12),
        };
        let token_len = if rng.u8(0..12) == 0 {
            MAX_WIDTH as u16
        } else {
            rng.u16(1..=24)
        };
        let input = ty(rng, 1, x_hi, 4);
        let members = rng.u8(1..=3);
        let hidden = rng.u8(0..=3);
        let log = ty(rng, 4, 20, 0);
        let mut layers = Vec::new();
        for _ in 0..members {
            let mut width = token_len;
            for k in 0..=hidden {
                let outputs = if k == hidden {
                    N_TARGETS as u16
                } else {
                    rng.u16(1..=20)
                };
                let w = ty(rng, 1, w_hi, 6);
                let b = ty(rng, 1, 24, 6);
                let r = if k == hidden {
                    log
                } else {
                    ty(rng, 2, x_hi.min(24), 0)
                };
                let n = usize::from(width) * usize::from(outputs);
                let ws: Vec<i64> = (0..n).map(|_| stored(rng, &w)).collect();
                let bs: Vec<i64> = (0..outputs).map(|_| stored(rng, &b)).collect();
                layers.push((width, outputs, w, b, r, pack(&w, &ws), pack(&b, &bs)));
                width = outputs;
            }
            // Skip path: no bias (sometimes one, which nothing reads).
            let w = ty(rng, 1, w_hi, 6);
            let n = usize::from(token_len) * N_TARGETS;
            let ws: Vec<i64> = (0..n).map(|_| stored(rng, &w)).collect();
            let bs = if rng.bool() {
                Vec::new()
            } else {
                pack(&w, &[1; N_TARGETS])
            };
            let r = ty(rng, 2, 20, 0);
            layers.push((token_len, N_TARGETS as u16, w, w, r, pack(&w, &ws), bs));
        }
        let table_bits = rng.u8(1..=log.width.min(10));
        let table_type = ty(rng, 1, 64, 2);
        let entries: Vec<i64> = (0..1usize << table_bits)
            .map(|_| stored(rng, &table_type))
            .collect();
        let cap = [(); N_TARGETS].map(|_| {
            if rng.bool() {
                log.max_raw()
            } else {
                raw(rng, &log)
            }
        });
        // Bounds: the whole input type for some models, otherwise each slot
        // its own random range (so tokens fall below, inside and above it).
        let whole = rng.u8(0..4) == 0;
        let (lo, hi): (Vec<i64>, Vec<i64>) = (0..token_len)
            .map(|_| {
                if whole {
                    (input.min_raw(), input.max_raw())
                } else {
                    let (a, b) = (raw(rng, &input), raw(rng, &input));
                    (a.min(b), a.max(b))
                }
            })
            .unzip();
        Spec {
            token_len,
            input,
            lo: pack(&input, &lo),
            hi: pack(&input, &hi),
            members,
            hidden,
            layers,
            cap,
            table_bits,
            table_type,
            table: pack(&table_type, &entries),
            total: ty(rng, 16, 56, 2),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut layers = heapless::Vec::new();
        for (i, o, w, b, r, ws, bs) in &self.layers {
            let l = DenseQ {
                inputs: *i,
                outputs: *o,
                weight: *w,
                bias: *b,
                result: *r,
                weights: ws,
                biases: bs,
            };
            layers.push(l).expect("room");
        }
        FixedModel {
            format: FORMAT_VERSION,
            schema_version: 3,
            token_len: self.token_len,
            input: self.input,
            token_lo: &self.lo,
            token_hi: &self.hi,
            members: self.members,
            hidden: self.hidden,
            layers,
            cap: self.cap,
            table_bits: self.table_bits,
            table_type: self.table_type,
            table: &self.table,
            total: self.total,
            provenance: "fast.rs",
        }
        .to_bytes()
        .expect("encodes")
    }
}

/// A random encoded model the checks accept (retrying the ones whose
/// accumulators would exceed 64 bits).
fn random_model(rng: &mut fastrand::Rng) -> Vec<u8> {
    loop {
        let bytes = Spec::random(rng).encode();
        if FixedModel::parse(&bytes).is_ok() {
            return bytes;
        }
    }
}

fn token(rng: &mut fastrand::Rng, m: &FixedModel<'_>) -> Vec<i64> {
    (0..m.token_len).map(|_| raw(rng, &m.input)).collect()
}

/// Every comparison of one model: per member, per token, per design.
fn compare(m: &FixedModel<'_>, rng: &mut fastrand::Rng, tokens: usize, what: &str) -> Vec<Kernel> {
    let need = Layout::need(m).expect("need");
    let mut owned = Owned::new(need);
    let mut buffers = owned.buffers();
    let layout = buffers.decode(m).expect("decodes");
    assert_eq!(layout.needs(), need);
    let fast = buffers.model(&layout).expect("current");
    let ts: Vec<Vec<i64>> = (0..tokens).map(|_| token(rng, m)).collect();
    for (k, t) in ts.iter().enumerate() {
        for member in 0..usize::from(m.members) {
            assert_eq!(
                fast.member_log_costs(member, t),
                m.member_log_costs(member, t),
                "{what}: token {k} {t:?}, member {member}"
            );
        }
        assert_eq!(
            fast.layer_costs(t),
            m.layer_costs(t),
            "{what}: token {k} {t:?}"
        );
    }
    let design: Vec<&[i64]> = ts.iter().map(|t| &t[..]).collect();
    assert_eq!(fast.estimate(design.clone()), m.estimate(design), "{what}");
    layout.kernels().collect()
}

#[test]
fn fast_path_matches_the_reference_on_random_models() {
    let mut kernels = [0usize; 4];
    for seed in 0..300u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let bytes = random_model(&mut rng);
        let m = FixedModel::parse(&bytes).expect("parses");
        for k in compare(&m, &mut rng, 24, &format!("seed {seed}")) {
            kernels[k as usize] += 1;
        }
    }
    // Every kernel was exercised, each many times.
    assert!(kernels.iter().all(|n| *n >= 30), "kernels {kernels:?}");
}

#[test]
fn fast_path_matches_the_reference_on_the_shipped_model() {
    let bytes = include_bytes!("../../host/models/default.zfx");
    let m = FixedModel::parse(bytes).expect("parses");
    let mut rng = fastrand::Rng::with_seed(7);
    let kernels = compare(&m, &mut rng, 3000, "default.zfx");
    // The shipped model needs no arithmetic wider than 16 × 16 → 32 bits.
    assert!(kernels.iter().all(|k| *k == Kernel::Pairs), "{kernels:?}");
    // Every slot at its extremes.
    let need = Layout::need(&m).expect("need");
    let mut owned = Owned::new(need);
    let mut buffers = owned.buffers();
    let layout = buffers.decode(&m).expect("decodes");
    let fast = buffers.model(&layout).expect("current");
    for v in [m.input.min_raw(), m.input.max_raw(), 0, -1, 1] {
        let t = vec![v; usize::from(m.token_len)];
        assert_eq!(fast.layer_costs(&t), m.layer_costs(&t), "all slots {v}");
    }
}

#[test]
fn cast_i64_is_cast() {
    let mut rng = fastrand::Rng::with_seed(3);
    for case in 0..200_000 {
        let t = ty(&mut rng, 1, 64, 3);
        let t = FixedType {
            int: t.int + rng.i16(-40..=40),
            ..t
        };
        let raw = match rng.u8(0..6) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => rng.i64(-1000..=1000),
            3 => rng.i64(-(1 << 40)..(1 << 40)),
            _ => rng.i64(..),
        };
        let frac = rng.i32(-100..=200);
        assert_eq!(
            t.cast_i64(raw, frac),
            t.cast(i128::from(raw), frac),
            "case {case}: {t:?} raw {raw} frac {frac}"
        );
    }
}

#[test]
fn buffers_sized_for_a_length_hold_every_model_of_it() {
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..200 {
        let bytes = random_model(&mut rng);
        let m = FixedModel::parse(&bytes).expect("parses");
        let need = Layout::need(&m).expect("need");
        assert!(Need::for_encoded_len(bytes.len()).covers(&need), "{need:?}");
    }
    let bytes = include_bytes!("../../host/models/default.zfx");
    let m = FixedModel::parse(bytes).expect("parses");
    let need = Layout::need(&m).expect("need");
    assert!(Need::for_encoded_len(bytes.len()).covers(&need));
}

#[test]
fn refusals() {
    let mut rng = fastrand::Rng::with_seed(9);
    let (a, b) = (random_model(&mut rng), random_model(&mut rng));
    let (ma, mb) = (
        FixedModel::parse(&a).expect("a"),
        FixedModel::parse(&b).expect("b"),
    );
    let need = Need::for_encoded_len(a.len().max(b.len()));
    let mut owned = Owned::new(need);
    let mut buffers = owned.buffers();
    let la = buffers.decode(&ma).expect("a decodes");
    assert!(buffers.model(&la).is_some());
    let lb = buffers.decode(&mb).expect("b decodes");
    // The first layout's arrays are gone: refused, not misread.
    assert!(buffers.model(&la).is_none());
    let fast = buffers.model(&lb).expect("b current");
    // Tokens: wrong length, or a slot outside the input type.
    let mut t = token(&mut rng, &mb);
    assert_eq!(fast.layer_costs(&t[1..]), Err(ModelError::Token));
    if mb.input.max_raw() < i64::MAX {
        t[0] = mb.input.max_raw() + 1;
        assert_eq!(fast.layer_costs(&t), Err(ModelError::Token));
        assert_eq!(mb.layer_costs(&t), Err(ModelError::Token));
    }
    assert_eq!(
        fast.member_log_costs(usize::from(mb.members), &token(&mut rng, &mb)),
        Err(ModelError::Shape)
    );
    // Buffers one element short in a lane the model uses.
    let exact = Layout::need(&ma).expect("need");
    let short = Need {
        i64s: exact.i64s - 1,
        ..exact
    };
    let mut owned = Owned::new(short);
    assert_eq!(
        owned.buffers().decode(&ma).err(),
        Some(ModelError::Capacity)
    );
    // A layout decoded into other buffers, even at the same decode count.
    let mut other = Owned::new(need);
    let mut other = other.buffers();
    let la = other.decode(&ma).expect("a decodes");
    let mut again = Owned::new(need);
    let mut again = again.buffers();
    let lb = again.decode(&mb).expect("b decodes");
    assert!(again.model(&lb).is_some());
    assert!(again.model(&la).is_none());
    assert!(other.model(&la).is_some());
    // A model that fails the checks (built by hand, not parsed).
    let mut bad = ma.clone();
    bad.members += 1;
    let mut owned = Owned::new(need);
    assert_eq!(owned.buffers().decode(&bad).err(), Some(ModelError::Shape));
}

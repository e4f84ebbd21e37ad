//! # zest fixed-point kernels
//!
//! The arithmetic of Vivado/Vitis HLS `ap_fixed<W, I, Q, O>` and
//! `ap_ufixed`, and the two kernels the surrogate needs (dense, ReLU),
//! computed the way hls4ml 1.3.0's Latency-strategy C++ computes them: the
//! same bits on the host, in the firmware's soft model and in the HLS C
//! simulation of the generated accelerator (checked against the real
//! `ap_types` headers compiled with g++: `tests/golden.rs`).
//!
//! A value is its raw two's-complement integer `raw`, meaning
//! `raw · 2^-F` with `F = W − I` fractional bits (`I` may be negative or
//! larger than `W`). Assigning to a type quantizes first (the dropped
//! fractional bits: [`Quant::Trn`] floors toward −∞, hls4ml's default;
//! [`Quant::Rnd`] rounds half toward +∞), then handles overflow
//! ([`Overflow::Wrap`] keeps the low `W` bits, the default;
//! [`Overflow::Sat`] clamps). Widths up to 64 bits; intermediate sums and
//! products are exact in `i128`.
//!
//! `no_std`, no allocation: the kernels write into caller slices.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod fast;
pub mod model;
pub mod sweep;

/// Quantization mode (what happens to dropped fractional bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Quant {
    /// `AP_TRN`: floor toward −∞ (hls4ml's default).
    Trn,
    /// `AP_RND`: round to nearest, half toward +∞.
    Rnd,
}

/// Overflow mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Overflow {
    /// `AP_WRAP`: keep the low `W` bits (hls4ml's default).
    Wrap,
    /// `AP_SAT`: clamp to the largest or smallest value.
    Sat,
}

/// An `ap_fixed<W, I, Q, O>` (signed) or `ap_ufixed` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FixedType {
    /// Total bits `W` (1..=64).
    pub width: u8,
    /// Integer bits `I` (sign included for signed types).
    pub int: i16,
    /// `ap_fixed` (else `ap_ufixed`).
    pub signed: bool,
    /// Quantization mode.
    pub quant: Quant,
    /// Overflow mode.
    pub overflow: Overflow,
}

impl FixedType {
    /// `ap_fixed<W, I>` with hls4ml's default modes (AP_TRN, AP_WRAP).
    pub const fn new(width: u8, int: i16) -> Self {
        Self {
            width,
            int,
            signed: true,
            quant: Quant::Trn,
            overflow: Overflow::Wrap,
        }
    }

    /// `ap_ufixed<W, I>` (AP_TRN, AP_WRAP).
    pub const fn unsigned(width: u8, int: i16) -> Self {
        Self {
            signed: false,
            ..Self::new(width, int)
        }
    }

    /// The same type with other modes.
    pub const fn with_modes(self, quant: Quant, overflow: Overflow) -> Self {
        Self {
            quant,
            overflow,
            ..self
        }
    }

    /// Fractional bits `F = W − I`.
    pub const fn frac(&self) -> i32 {
        self.width as i32 - self.int as i32
    }

    /// Smallest raw value.
    pub const fn min_raw(&self) -> i64 {
        if self.signed {
            if self.width >= 64 {
                i64::MIN
            } else {
                -(1i64 << (self.width - 1))
            }
        } else {
            0
        }
    }

    /// Largest raw value.
    pub const fn max_raw(&self) -> i64 {
        let w = if self.signed {
            self.width - 1
        } else {
            self.width
        };
        if w >= 63 {
            i64::MAX
        } else {
            (1i64 << w) - 1
        }
    }

    /// Assigns the exact value `raw · 2^-frac` to this type: quantize, then
    /// overflow. Returns the raw value of the result.
    pub fn cast(&self, raw: i128, frac: i32) -> i64 {
        let shift = frac - self.frac();
        let q: i128 = if shift <= 0 {
            // More fractional bits (or equal): exact, unless the left shift
            // pushes bits beyond i128, which only wrap/saturate can follow.
            let s = (-shift) as u32;
            if s >= 127 {
                if raw == 0 {
                    0
                } else if raw > 0 {
                    i128::MAX
                } else {
                    i128::MIN
                }
            } else {
                raw.checked_shl(s)
                    .filter(|v| v >> s == raw)
                    .unwrap_or(if raw > 0 { i128::MAX } else { i128::MIN })
            }
        } else {
            let s = shift as u32;
            if s >= 127 {
                match self.quant {
                    // floor of a tiny value: 0 or −1 LSB.
                    Quant::Trn => i128::from(raw < 0).wrapping_neg(),
                    Quant::Rnd => 0,
                }
            } else {
                match self.quant {
                    Quant::Trn => raw >> s,
                    Quant::Rnd => (raw >> (s - 1)).wrapping_add(1) >> 1,
                }
            }
        };
        self.overflow_raw(q)
    }

    /// [`FixedType::cast`] of a value that fits `i64`, in 64-bit
    /// arithmetic: bit for bit `self.cast(i128::from(raw), frac)` (the
    /// property tests compare them), without 128-bit shifts and clamps in
    /// the common case of a result with no more fractional bits than
    /// `frac`, the one the soft model's result casts take. A result with
    /// more fractional bits (a left shift that may leave 64 bits) goes
    /// through [`FixedType::cast`].
    #[inline]
    pub fn cast_i64(&self, raw: i64, frac: i32) -> i64 {
        let s = frac - self.frac();
        if s < 0 {
            return self.cast(i128::from(raw), frac);
        }
        // A right shift by s ≥ 64 leaves the sign alone (0 or −1), as it
        // does in i128: clamping the shift to 63 is exact.
        let q = if s == 0 {
            raw
        } else {
            match self.quant {
                Quant::Trn => raw >> s.min(63),
                // (v + 1) >> 1 without the overflow of v = i64::MAX:
                // ⌊(v + 1)/2⌋ = ⌊v/2⌋ + (v mod 2).
                Quant::Rnd => {
                    let v = raw >> (s - 1).min(63);
                    (v >> 1) + (v & 1)
                }
            }
        };
        match self.overflow {
            Overflow::Sat => q.clamp(self.min_raw(), self.max_raw()),
            Overflow::Wrap => {
                let w = u32::from(self.width);
                if w == 0 {
                    0
                } else if w >= 64 {
                    q
                } else if self.signed {
                    (q << (64 - w)) >> (64 - w)
                } else {
                    ((q as u64) & ((1u64 << w) - 1)) as i64
                }
            }
        }
    }

    /// Overflow handling of an already quantized raw value.
    fn overflow_raw(&self, q: i128) -> i64 {
        match self.overflow {
            Overflow::Sat => q.clamp(i128::from(self.min_raw()), i128::from(self.max_raw())) as i64,
            Overflow::Wrap => {
                let w = u32::from(self.width.min(64));
                let mask: u128 = if w >= 128 {
                    u128::MAX
                } else {
                    (1u128 << w) - 1
                };
                let low = (q as u128) & mask;
                if self.signed && w > 0 && low >> (w - 1) & 1 == 1 {
                    (low | !mask) as i128 as i64
                } else {
                    low as i64
                }
            }
        }
    }

    /// Re-types a raw value of type `from`.
    pub fn from_fixed(&self, raw: i64, from: &FixedType) -> i64 {
        self.cast(i128::from(raw), from.frac())
    }

    /// Assigns a real number (exact binary value of the `f64`, then the
    /// type's quantization and overflow). NaN becomes 0.
    pub fn from_f64(&self, v: f64) -> i64 {
        if v == 0.0 || !v.is_finite() {
            return if v.is_finite() || v.is_nan() {
                0
            } else if v > 0.0 {
                self.overflow_raw(i128::MAX)
            } else {
                self.overflow_raw(i128::MIN)
            };
        }
        // v = mant · 2^exp exactly.
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let e = ((bits >> 52) & 0x7ff) as i32;
        let frac_bits = bits & ((1u64 << 52) - 1);
        let (mant, exp) = if e == 0 {
            (frac_bits, -1074)
        } else {
            (frac_bits | (1u64 << 52), e - 1075)
        };
        let m = if neg {
            -(i128::from(mant))
        } else {
            i128::from(mant)
        };
        self.cast(m, -exp)
    }

    /// Assigns a decimal number written as text (`-0.0625`, `3`, `1.50`),
    /// exactly: the C++ compiler's reading of a constant in hls4ml's
    /// weight headers, which hold each weight as decimal text with `F`
    /// fractional digits ([`FixedType::written`]). `None` for text that is
    /// not a plain decimal, or too long to hold exactly in 128 bits.
    pub fn from_decimal(&self, text: &str) -> Option<i64> {
        let (neg, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut n: u128 = 0;
        for c in int.bytes().chain(frac.bytes()) {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u128::from(c - b'0'))?;
        }
        let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        // value = ±n / scale; raw = value · 2^F, quantized.
        let f = self.frac();
        let (num, den) = if f >= 0 {
            (n.checked_mul(1u128.checked_shl(f as u32)?)?, scale)
        } else {
            (n, scale.checked_mul(1u128.checked_shl((-f) as u32)?)?)
        };
        let (q, r) = (num / den, num % den);
        let q = i128::try_from(q).ok()?;
        let q = match (self.quant, neg) {
            // Floor: toward −∞.
            (Quant::Trn, false) => q,
            (Quant::Trn, true) => -q - i128::from(r != 0),
            // Nearest, half toward +∞.
            (Quant::Rnd, false) => q + i128::from(2 * r >= den),
            (Quant::Rnd, true) => -q - i128::from(2 * r > den),
        };
        Some(self.overflow_raw(q))
    }

    /// What hls4ml writes for a weight `v` of this type and the compiler
    /// then reads: `v` printed with `max(F, 0)` fractional digits
    /// (correctly rounded), read back by [`FixedType::from_decimal`]. For
    /// small `F` this can differ from assigning `v` directly
    /// ([`FixedType::from_f64`]); tiny negative weights become 0.
    #[cfg(feature = "std")]
    pub fn written(&self, v: f64) -> i64 {
        if !v.is_finite() {
            return self.from_f64(v);
        }
        let digits = self.frac().max(0) as usize;
        let text = std::format!("{v:.digits$}");
        self.from_decimal(&text).unwrap_or_else(|| self.from_f64(v))
    }

    /// The exact decimal value of a raw number: a binary fraction has a
    /// finite decimal expansion (`F` digits at most), printed in full with
    /// trailing zeros dropped (`-1.375`, `12`, `0.0009765625`).
    #[cfg(feature = "std")]
    pub fn decimal(&self, raw: i64) -> std::string::String {
        use std::string::ToString;
        let f = self.frac();
        let neg = raw < 0;
        let mag = u128::from(raw.unsigned_abs());
        if f <= 0 {
            let v = mag << (-f).min(64) as u32;
            return if neg && v != 0 {
                std::format!("-{v}")
            } else {
                v.to_string()
            };
        }
        let f = f as u32;
        let (int, mut frac) = if f >= 128 {
            (0, mag)
        } else {
            (mag >> f, mag & ((1u128 << f) - 1))
        };
        let mut s = if neg {
            std::format!("-{int}")
        } else {
            int.to_string()
        };
        if frac != 0 {
            s.push('.');
            // frac < 2^f ≤ 2^64 (W ≤ 64): frac · 10 fits in u128.
            while frac != 0 {
                frac *= 10;
                let d = frac >> f;
                s.push(char::from(b'0' + d as u8));
                frac &= (1u128 << f) - 1;
            }
        }
        s
    }

    /// The value of a raw number (exact for `W` ≤ 53).
    pub fn to_f64(&self, raw: i64) -> f64 {
        let f = self.frac();
        let scale = if f >= 0 {
            1.0 / pow2(f as u32)
        } else {
            pow2((-f) as u32)
        };
        raw as f64 * scale
    }
}

fn pow2(n: u32) -> f64 {
    let mut v = 1.0;
    for _ in 0..n {
        v *= 2.0;
    }
    v
}

/// Types of one dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseTypes {
    /// Input.
    pub input: FixedType,
    /// Weights.
    pub weight: FixedType,
    /// Biases.
    pub bias: FixedType,
    /// Accumulator.
    pub accum: FixedType,
    /// Result.
    pub result: FixedType,
}

/// hls4ml 1.3.0's `auto` accumulator and result type of a Dense layer
/// (`InferPrecisionTypes._infer_common_precision`, with bias): the exact
/// type of the sum of `n_in` products plus the bias, so nothing is ever
/// rounded or wrapped:
///
/// ```text
/// W = Ww + Wx + ⌈log2 n_in⌉,  I = Iw + Ix + ⌈log2 n_in⌉,  F = W − I,  s = sw ∨ sx
/// I' = max(I + (sb ∧ ¬s), Ib + (s ∧ ¬sb)) + 1,   W' = I' + max(F, Wb − Ib)
/// ```
///
/// `ap_fixed<W', I'>` if signed (`s ∨ sb`), else `ap_ufixed`; `None` beyond 64
/// bits (hls4ml would write it; zest's kernels cannot hold it).
pub fn hls4ml_auto_dense(
    input: &FixedType,
    weight: &FixedType,
    bias: &FixedType,
    n_in: usize,
) -> Option<FixedType> {
    let mut log = 0i32;
    while (1usize << log) < n_in {
        log += 1;
    }
    let w = i32::from(weight.width) + i32::from(input.width) + log;
    let i = i32::from(weight.int) + i32::from(input.int) + log;
    let s = weight.signed || input.signed;
    let f = w - i;
    let (bi, bw) = (i32::from(bias.int), i32::from(bias.width));
    let int = (i + i32::from(bias.signed && !s)).max(bi + i32::from(s && !bias.signed)) + 1;
    let width = int + f.max(bw - bi);
    let signed = s || bias.signed;
    if !(1..=64).contains(&width) || !(i32::from(i16::MIN)..=i32::from(i16::MAX)).contains(&int) {
        return None;
    }
    let t = FixedType::new(width as u8, int as i16);
    Some(if signed {
        t
    } else {
        FixedType { signed: false, ..t }
    })
}

/// Why a kernel refused its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A slice is shorter than the layer needs.
    #[error("a slice is shorter than the layer needs")]
    ShortSlice,
}

/// hls4ml's Latency-strategy dense layer: for each output, the accumulator
/// starts at the bias cast to the accumulator type; for each input in
/// ascending order the exact product is cast to the accumulator type and
/// added (the sum cast back to it); the accumulator is cast to the result.
/// `weight` is row-major `[n_in][n_out]`.
pub fn dense(
    t: &DenseTypes,
    x: &[i64],
    weight: &[i64],
    bias: &[i64],
    out: &mut [i64],
) -> Result<(), KernelError> {
    let (n_in, n_out) = (x.len(), out.len());
    if weight.len() < n_in * n_out || bias.len() < n_out {
        return Err(KernelError::ShortSlice);
    }
    let acc_f = t.accum.frac();
    let prod_f = t.input.frac() + t.weight.frac();
    for (o, r) in out.iter_mut().enumerate() {
        let mut acc = t.accum.cast(i128::from(bias[o]), t.bias.frac());
        for (i, xi) in x.iter().enumerate() {
            let p = i128::from(*xi) * i128::from(weight[i * n_out + o]);
            let p = t.accum.cast(p, prod_f);
            acc = t.accum.cast(i128::from(acc) + i128::from(p), acc_f);
        }
        *r = t.result.cast(i128::from(acc), acc_f);
    }
    Ok(())
}

/// hls4ml's ReLU: `x > 0 ? (result)x : 0`.
pub fn relu(input: &FixedType, result: &FixedType, x: &[i64], out: &mut [i64]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = if *v > 0 {
            result.from_fixed(*v, input)
        } else {
            0
        };
    }
}

/// The index into a `2^bits`-entry table: the top `bits` bits of the
/// `W`-bit two's-complement raw value, read unsigned (hls4ml's
/// `softmax_idx_from_real_val`: `x(W−1, W−bits)`). `bits` ≤ `W`.
pub fn table_index(t: &FixedType, raw: i64, bits: u32) -> usize {
    let w = u32::from(t.width).min(64);
    let bits = bits.min(w);
    let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
    let u = (raw as u64) & mask;
    if bits == 0 {
        0
    } else {
        (u >> (w - bits)) as usize
    }
}

/// The raw value table entry `index` stands for: its bits on top, zeros
/// below, sign-extended.
pub fn index_raw(t: &FixedType, index: usize, bits: u32) -> i64 {
    let w = u32::from(t.width).min(64);
    let bits = bits.min(w);
    let u = (index as u64) << (w - bits);
    t.overflow_raw_wrap(i128::from(u))
}

impl FixedType {
    fn overflow_raw_wrap(&self, q: i128) -> i64 {
        Self {
            overflow: Overflow::Wrap,
            ..*self
        }
        .overflow_raw(q)
    }
}

/// Fills `table` (length `2^bits`) with `exp` of each index's value,
/// assigned to `out` (host side: the firmware and the HLS code receive the
/// table as data).
#[cfg(feature = "std")]
pub fn fill_exp_table(input: &FixedType, bits: u32, out: &FixedType, table: &mut [i64]) {
    for (i, e) in table.iter_mut().enumerate() {
        let x = input.to_f64(index_raw(input, i, bits));
        *e = out.from_f64(x.exp());
    }
}

/// `exp(x)` by table lookup, as hls4ml's softmax does: `table[index]`.
/// Returns `None` when the table is shorter than `2^bits`.
pub fn exp_lookup(input: &FixedType, raw: i64, bits: u32, table: &[i64]) -> Option<i64> {
    table.get(table_index(input, raw, bits)).copied()
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "std")]
    #[test]
    fn decimals_are_exact() {
        let t = FixedType::new(16, 6);
        assert_eq!(t.decimal(-1408), "-1.375");
        assert_eq!(t.decimal(12 << 10), "12");
        assert_eq!(t.decimal(1), "0.0009765625");
        assert_eq!(t.decimal(0), "0");
        assert_eq!(FixedType::new(4, 6).decimal(-3), "-12");
        // 64 fractional bits: 2^-64 in full.
        assert_eq!(
            FixedType::new(64, 0).decimal(1),
            "0.0000000000000000000542101086242752217003726400434970855712890625"
        );
        for raw in [-40000i64, -7, 3, 99999] {
            let v: f64 = t.decimal(raw).parse().unwrap();
            assert_eq!(v, t.to_f64(raw));
        }
    }

    #[test]
    fn hls4ml_auto_types_as_measured() {
        // hls4ml 1.3.0 wrote ap_fixed<21,9> for input <10,4>, weight <8,2>,
        // bias <9,3>, 4 inputs; and <19,9> after an ap_ufixed<8,4> ReLU, 3 inputs.
        let t = |w, i| FixedType::new(w, i);
        assert_eq!(
            hls4ml_auto_dense(&t(10, 4), &t(8, 2), &t(9, 3), 4),
            Some(t(21, 9))
        );
        let relu = FixedType::unsigned(8, 4);
        assert_eq!(
            hls4ml_auto_dense(&relu, &t(8, 2), &t(9, 3), 3),
            Some(t(19, 9))
        );
    }

    #[test]
    fn decimal_text_is_read_exactly_and_written_as_hls4ml_writes() {
        let t = FixedType::new(8, 4); // F = 4: LSB 1/16
        assert_eq!(t.from_decimal("0.0625"), Some(1));
        assert_eq!(t.from_decimal("0.1249"), Some(1)); // floor
        assert_eq!(t.from_decimal("-0.0001"), Some(-1)); // floor toward −∞
        assert_eq!(t.from_decimal("-0"), Some(0));
        assert_eq!(t.from_decimal("9"), Some(-112)); // 144 wraps in 8 bits
        assert_eq!(t.from_decimal("x"), None);
        let r = t.with_modes(Quant::Rnd, Overflow::Sat);
        assert_eq!(r.from_decimal("0.09375"), Some(2)); // 1.5 LSB: half up
        assert_eq!(r.from_decimal("-0.09375"), Some(-1));
        assert_eq!(r.from_decimal("100"), Some(127));
        // 4 digits: -0.00003 prints as "-0.0000", which reads as 0, where
        // assigning the value floors to -1 LSB.
        assert_eq!(t.written(-0.00003), 0);
        assert_eq!(t.from_f64(-0.00003), -1);
        // 0.06249 prints as "0.0625": 1 LSB, not the 0 of flooring.
        assert_eq!(t.written(0.06249), 1);
        assert_eq!(t.from_f64(0.06249), 0);
    }

    use super::*;

    #[test]
    fn trn_floors_and_wrap_keeps_low_bits() {
        let t = FixedType::new(8, 4); // F = 4, range [-8, 7.9375]
        assert_eq!(t.from_f64(1.03), 16); // 1.0 (floor of 16.48)
        assert_eq!(t.from_f64(-1.03), -17); // floor toward −∞
        assert_eq!(t.from_f64(8.0), -128); // wraps to −8
        let s = t.with_modes(Quant::Rnd, Overflow::Sat);
        assert_eq!(s.from_f64(1.03), 16);
        assert_eq!(s.from_f64(1.97), 32); // 31.52 → 32
        assert_eq!(s.from_f64(100.0), 127);
        assert_eq!(s.from_f64(-100.0), -128);
        let u = FixedType::unsigned(8, 4).with_modes(Quant::Trn, Overflow::Sat);
        assert_eq!(u.from_f64(-1.0), 0);
        assert_eq!(u.from_f64(20.0), 255);
    }

    #[test]
    fn dense_and_relu_by_hand() {
        let d = FixedType::new(16, 6);
        let t = DenseTypes {
            input: d,
            weight: d,
            bias: d,
            accum: d,
            result: d,
        };
        let x = [d.from_f64(1.5), d.from_f64(-2.0)];
        let w = [
            d.from_f64(0.5),
            d.from_f64(1.0),
            d.from_f64(0.25),
            d.from_f64(-1.0),
        ];
        let b = [d.from_f64(0.125), d.from_f64(0.0)];
        let mut out = [0i64; 2];
        dense(&t, &x, &w, &b, &mut out).expect("sizes");
        assert_eq!(d.to_f64(out[0]), 0.125 + 0.75 - 0.5);
        assert_eq!(d.to_f64(out[1]), 1.5 + 2.0);
        let mut r = [0i64; 2];
        relu(&d, &d, &[-5, 7], &mut r);
        assert_eq!(r, [0, 7]);
        assert_eq!(
            dense(&t, &x, &w[..3], &b, &mut out),
            Err(KernelError::ShortSlice)
        );
    }
}

//! # zest feature schema
//!
//! The surrogate reads one fixed-size token per hls4ml layer. This crate is
//! the only definition of that token: the host builds tokens from a design
//! to train and estimate, and the firmware receives the same tokens over
//! the wire. It is `no_std` and allocation-free.
//!
//! A token is [`TOKEN_LEN`] `f32`s, laid out as the [`slot`] constants say,
//! computed by [`LayerFacts::token`]. What goes in is what is known, to
//! first order, about hls4ml's cost structure:
//!
//! * multipliers: `n_in · n_out` per Dense (`k^d · c_in · c_out` per
//!   convolution output), minus pruned weights, divided by the reuse factor
//!   (whether the Latency strategy honours the reuse factor changed between
//!   hls4ml versions: the records show both, so the token carries the
//!   strategy and the reuse factor and lets the data decide);
//! * the product width (weight × input bits) decides DSP against fabric
//!   multipliers (a DSP48 takes 25/27 × 18 bits; small products go to LUTs);
//! * weights land in BRAM under the Resource strategy, reshaped into a
//!   memory `RF` deep and `n_weights / RF · W` bits wide: a BRAM18 is 36
//!   bits wide up to 512 deep, 18 bits up to 1024 (the prior in
//!   [`slot::LOG_BRAM_PRIOR`]);
//! * activations with tables (sigmoid, tanh, ELU) keep one dual-port table
//!   per two elements, softmax an exp and an inverse table (`n` blocks in
//!   all, checked against the Zynq MLPs and hls4ml's baselines: the prior in
//!   [`slot::LOG_TABLE_PRIOR`]); ReLU only comparators, LeakyReLU and
//!   PReLU a comparator and a product by alpha per element (each variant
//!   and ELU has its own slot: hls4ml's baselines differ 6× between them);
//! * in the Resource kernels for `rf > n_in`, each multiplier adds into an
//!   accumulator chosen at run time; from a stride of 3 outputs per
//!   multiplier on, that is a multiplexer over all outputs
//!   ([`slot::LOG_ACC_MUX`]), and it dominates the LUT count.
//!
//! The crate also names the surrogate's outputs: the six [`Target`]s, in
//! the one order every per-target array uses on both ends of the wire.
//!
//! Counts enter as log2(1 + x), so the token's range stays small for any
//! network size. Bump [`SCHEMA_VERSION`] on any change to the layout or the
//! meaning of a slot; models record the version they were trained on.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

pub mod reuse;
pub mod rules;
pub mod sweep;

/// Version of the token layout.
pub const SCHEMA_VERSION: u16 = 5;

/// One of the six synthesis targets the surrogate estimates, in the order
/// every per-target array uses (host, fixed-point model, wire, HLS top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Target {
    /// Look-up tables.
    Lut = 0,
    /// Flip-flops.
    Ff = 1,
    /// DSP slices.
    Dsp = 2,
    /// Block RAM, in 18 Kb blocks.
    Bram18 = 3,
    /// Worst-case latency, clock cycles.
    LatencyCycles = 4,
    /// Initiation interval, clock cycles: the one target a design takes as
    /// the maximum over its layers (the slowest layer sets the pace); the
    /// others are sums.
    Ii = 5,
}

/// Number of [`Target`]s.
pub const N_TARGETS: usize = 6;

/// Index of [`Target::Ii`], the target aggregated by maximum.
pub const II: usize = Target::Ii as usize;

impl Target {
    /// Stable snake_case names, in index order (JSON keys, CSV columns).
    pub const NAMES: [&'static str; N_TARGETS] =
        ["lut", "ff", "dsp", "bram18", "latency_cycles", "ii"];

    /// Position in per-target arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// What a layer computes (one-hot in the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Kind {
    /// Dense / QDense.
    Dense = 0,
    /// Conv1D / Conv2D.
    Conv = 1,
    /// Depthwise or separable convolution.
    DepthwiseConv = 2,
    /// Max or average pooling.
    Pooling = 3,
    /// Batch normalization (scale and shift).
    BatchNorm = 4,
    /// Activation layer.
    Activation = 5,
    /// Flatten / reshape.
    Reshape = 6,
}

/// Number of [`Kind`]s.
pub const KINDS: usize = 7;

/// Activation family (in the token: its own slot; a softmax and an ELU also
/// set [`Act::Table`]'s, since they are built from look-up tables too).
///
/// The ReLU variants and ELU have slots of their own (schema 4): hls4ml
/// builds them differently, and its own baselines differ by up to 6× in
/// LUTs for the same Dense(64) (Vitis 2024.1: LeakyReLU 462, PReLU 2,910,
/// ReLU 2,983; ELU 10,082 against sigmoid 7,825).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Act {
    /// None or linear.
    Linear = 0,
    /// ReLU (comparators, no table).
    Relu = 1,
    /// Table-based element-wise: sigmoid, tanh, and anything unnamed.
    Table = 2,
    /// Softmax (exp and inverse tables, a sum over the vector).
    Softmax = 3,
    /// LeakyReLU: a comparator and a product by one constant alpha.
    LeakyRelu = 4,
    /// PReLU: a comparator and a product by a learnt alpha per element.
    Prelu = 5,
    /// ELU: a table of exp(x) − 1 for negative inputs, times alpha.
    Elu = 6,
}

/// Number of [`Act`]s.
pub const ACTS: usize = 7;

/// FPGA family of the part (one-hot in the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Family {
    /// Zynq-7000 and other 7-series (DSP48E1, 6-input LUTs).
    Series7 = 0,
    /// UltraScale(+) incl. Alveo and Zynq UltraScale+ (DSP48E2).
    UltraScale = 1,
    /// Anything else.
    Other = 2,
}

/// Number of [`Family`]s.
pub const FAMILIES: usize = 3;

/// The HLS tool that synthesises the design (schema 5; one slot,
/// [`slot::VITIS`]: 0 Vivado HLS, 1 Vitis HLS, ½ unknown).
///
/// The two schedule the same hls4ml C++ differently: Vivado HLS
/// (2020.1 and before) and Vitis HLS (2020.1 on, the only one from
/// 2020.2) differ in how the Latency strategy's unrolled loops honour the
/// reuse factor, in which products go to DSPs, and in how much they
/// pipeline. The records hold both on every family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Tool {
    /// Vivado HLS (`vivado_hls`, 2020.1 and before).
    VivadoHls = 0,
    /// Vitis HLS (`vitis_hls`, 2020.1 on).
    VitisHls = 1,
    /// Not known: the token sits halfway between the two.
    Unknown = 2,
}

impl Tool {
    /// The tool a name such as "Vivado HLS 2019.2", "Vitis HLS 2023.1",
    /// "HLS 2020.1.1" (a report's version line) or "Vivado/Vitis 2023.2"
    /// names: "Vitis" alone names Vitis HLS, "Vivado" alone Vivado HLS;
    /// otherwise the version decides (Vivado HLS was last released in
    /// 2020.1; from 2020.2 on there is only Vitis HLS). Names with no
    /// version and no tool, and other vendors' tools (oneAPI, Catapult),
    /// are [`Tool::Unknown`].
    pub fn from_name(name: &str) -> Tool {
        let has = |word: &[u8]| {
            name.as_bytes()
                .windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word))
        };
        if has(b"oneapi") || has(b"catapult") {
            return Tool::Unknown;
        }
        match (has(b"vitis"), has(b"vivado")) {
            (true, false) => return Tool::VitisHls,
            (false, true) => return Tool::VivadoHls,
            _ => {}
        }
        match version(name) {
            Some(v) if v >= (2020, 2) => Tool::VitisHls,
            Some(_) => Tool::VivadoHls,
            None => Tool::Unknown,
        }
    }

    /// The value of [`slot::VITIS`].
    pub fn slot_value(self) -> f32 {
        match self {
            Tool::VivadoHls => 0.0,
            Tool::VitisHls => 1.0,
            Tool::Unknown => 0.5,
        }
    }
}

/// The first `YYYY.N` in `name` (a tool version: year and release).
fn version(name: &str) -> Option<(u16, u16)> {
    name.split(|c: char| !c.is_ascii_digit() && c != '.')
        .find_map(|word| {
            let mut parts = word.split('.');
            let year = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
            Some((year, parts.next()?.parse().ok()?))
        })
}

/// Everything the token is computed from, for one layer of a design.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerFacts {
    /// What it computes.
    pub kind: Kind,
    /// Its activation (for activation layers) or fused activation.
    pub act: Act,
    /// Input elements (product of the input shape).
    pub n_in: u32,
    /// Output elements.
    pub n_out: u32,
    /// Multiplications per inference (0 for layers without weights).
    pub n_mult: u64,
    /// Weights pruned to zero.
    pub n_zero_weights: u64,
    /// Weights stored (0 for layers without weights).
    pub n_weights: u64,
    /// Output positions a convolution or pooling window slides over (1 otherwise).
    pub positions: u32,
    /// Kernel size, first dimension (0 when not a window).
    pub kernel: u16,
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Weight width W (0 when none).
    pub weight_bits: u16,
    /// Input width (the previous layer's result width).
    pub input_bits: u16,
    /// Result width.
    pub result_bits: u16,
    /// Accumulator width (0 when none).
    pub accum_bits: u16,
    /// Resource strategy (else Latency).
    pub resource: bool,
    /// io_stream (else io_parallel).
    pub stream: bool,
    /// Multipliers forced into fabric (`config_op mul -impl fabric`).
    pub fabric_mult: bool,
    /// FPGA family.
    pub family: Family,
    /// Target clock period, ns.
    pub clock_ns: f32,
    /// HLS tool.
    pub tool: Tool,
    /// First layer of the design.
    pub first: bool,
    /// Last layer of the design.
    pub last: bool,
}

/// Token slot indices.
pub mod slot {
    use super::{ACTS, FAMILIES, KINDS};
    /// One-hot [`super::Kind`], `KINDS` slots.
    pub const KIND: usize = 0;
    /// [`super::Act`], `ACTS` slots: one-hot, except that a softmax and an
    /// ELU also set the `Table` slot (their tables cost what the
    /// element-wise tables do, and few records have either to learn that
    /// from).
    pub const ACT: usize = KIND + KINDS;
    /// log2(1 + n_in).
    pub const LOG_N_IN: usize = ACT + ACTS;
    /// log2(1 + n_out).
    pub const LOG_N_OUT: usize = LOG_N_IN + 1;
    /// log2(1 + non-zero multiplications).
    pub const LOG_MULT: usize = LOG_N_OUT + 1;
    /// log2(1 + multipliers instantiated): non-zero mults / effective RF.
    pub const LOG_MULT_UNITS: usize = LOG_MULT + 1;
    /// log2(1 + weights stored).
    pub const LOG_WEIGHTS: usize = LOG_MULT_UNITS + 1;
    /// log2(1 + weight bits stored) (weights × width).
    pub const LOG_WEIGHT_BITS_TOTAL: usize = LOG_WEIGHTS + 1;
    /// Fraction of weights pruned.
    pub const ZERO_FRACTION: usize = LOG_WEIGHT_BITS_TOTAL + 1;
    /// log2(reuse factor).
    pub const LOG_RF: usize = ZERO_FRACTION + 1;
    /// log2(RF) under the Resource strategy, else 0.
    pub const LOG_RF_RESOURCE: usize = LOG_RF + 1;
    /// log2(1 + BRAM18 blocks the reshaped weight memory needs) under the
    /// Resource strategy with RF > 1, else 0.
    pub const LOG_BRAM_PRIOR: usize = LOG_RF_RESOURCE + 1;
    /// log2(1 + BRAM18 blocks of activation tables).
    pub const LOG_TABLE_PRIOR: usize = LOG_BRAM_PRIOR + 1;
    /// One-hot of hls4ml's three Resource-strategy dense kernels (all 0
    /// under Latency): `rf ≤ n_in`, `rf > n_in` with `rf % n_in == 0`, and
    /// `rf > n_in` otherwise. They index the accumulators differently, and
    /// the accumulator multiplexers dominate their LUT count.
    pub const RF_REGIME: usize = LOG_TABLE_PRIOR + 1;
    /// log2 of the accumulator stride `⌈rf / n_in⌉` of the `rf > n_in`
    /// kernels (how many outputs each multiplier visits), else 0.
    pub const LOG_OUTSCALE: usize = RF_REGIME + 3;
    /// log2(1 + multipliers × outputs) for the `rf > n_in` kernels whose
    /// accumulator stride is 3 or more, else 0: each multiplier then adds
    /// into an accumulator picked at run time among all `n_out` (a full
    /// multiplexer per multiplier; the U250 sweep's LUTs follow about
    /// 10 × multipliers × outputs there), while at stride 2 Vivado HLS
    /// resolves the choice to two accumulators (about 90 LUTs per
    /// multiplier plus an input multiplexer).
    pub const LOG_ACC_MUX: usize = LOG_OUTSCALE + 1;
    /// log2(1 + window positions).
    pub const LOG_POSITIONS: usize = LOG_ACC_MUX + 1;
    /// Kernel size / 8.
    pub const KERNEL: usize = LOG_POSITIONS + 1;
    /// Weight bits / 16.
    pub const WEIGHT_BITS: usize = KERNEL + 1;
    /// Input bits / 16.
    pub const INPUT_BITS: usize = WEIGHT_BITS + 1;
    /// Result bits / 16.
    pub const RESULT_BITS: usize = INPUT_BITS + 1;
    /// Accumulator bits / 16.
    pub const ACCUM_BITS: usize = RESULT_BITS + 1;
    /// Product width (weight × input bits) / 256.
    pub const PRODUCT_BITS: usize = ACCUM_BITS + 1;
    /// 1 if the product fits one DSP48 (≤ 27 × 18 bits), the narrower
    /// operand has more than 4 bits (narrower products go to LUTs) and
    /// multipliers are not forced into fabric, else 0.
    pub const DSP_SHAPED: usize = PRODUCT_BITS + 1;
    /// 1 for the Resource strategy.
    pub const RESOURCE: usize = DSP_SHAPED + 1;
    /// 1 for io_stream.
    pub const STREAM: usize = RESOURCE + 1;
    /// 1 when multipliers are forced into fabric.
    pub const FABRIC: usize = STREAM + 1;
    /// One-hot [`super::Family`], `FAMILIES` slots.
    pub const FAMILY: usize = FABRIC + 1;
    /// Clock period / 10 ns.
    pub const CLOCK: usize = FAMILY + FAMILIES;
    /// [`super::Tool`]: 0 Vivado HLS, 1 Vitis HLS, ½ unknown.
    pub const VITIS: usize = CLOCK + 1;
    /// 1 for the first layer.
    pub const FIRST: usize = VITIS + 1;
    /// 1 for the last layer.
    pub const LAST: usize = FIRST + 1;
    /// Constant 1 (bias).
    pub const ONE: usize = LAST + 1;
    /// Number of slots.
    pub const LEN: usize = ONE + 1;
}

/// Length of a token.
pub const TOKEN_LEN: usize = slot::LEN;

/// The [`Kind`] index a token's one-hot names (`None` for a token that
/// names none).
pub fn kind_index(token: &[f32; TOKEN_LEN]) -> Option<usize> {
    (0..KINDS).find(|&k| token[slot::KIND + k] == 1.0)
}

/// Targets the multiplier prior ([`log_cost_prior`]) applies to: LUT,
/// FF and DSP, the resources that grow with the multipliers instantiated.
pub const PRIOR_TARGETS: usize = 3;

/// The per-layer log-cost prior of `token`: ln(1 + multipliers
/// instantiated) for each of the first [`PRIOR_TARGETS`] targets, 0 for
/// the others. A model trained with it learns ln(cost) − prior, the cost
/// per multiplier. Affine in the token, so a trained model folds it into
/// its weights (the host's `train::fold_prior`) and everything that runs
/// the model, fixed point and firmware included, needs nothing new.
pub fn log_cost_prior(token: &[f32; TOKEN_LEN]) -> [f32; N_TARGETS] {
    let m = token[slot::LOG_MULT_UNITS] * core::f32::consts::LN_2;
    core::array::from_fn(|t| if t < PRIOR_TARGETS { m } else { 0.0 })
}

/// Slots stored scaled, with the divisor [`LayerFacts::token`] applies and
/// the unit of the unscaled value: the one table both the token and the
/// words shown to users ([`slot_unit`]) read.
const SCALED: [(usize, f32, &str); 7] = [
    (slot::KERNEL, 8.0, ""),
    (slot::WEIGHT_BITS, 16.0, " bits"),
    (slot::INPUT_BITS, 16.0, " bits"),
    (slot::RESULT_BITS, 16.0, " bits"),
    (slot::ACCUM_BITS, 16.0, " bits"),
    (slot::PRODUCT_BITS, 256.0, " bits²"),
    (slot::CLOCK, 10.0, " ns"),
];

/// How to show slot `i`'s value to a user: the factor that undoes the
/// slot's scaling, and the unit (`(1.0, "")` for slots shown as stored).
pub fn slot_unit(i: usize) -> (f32, &'static str) {
    SCALED
        .iter()
        .find(|(s, _, _)| *s == i)
        .map_or((1.0, ""), |(_, k, unit)| (*k, *unit))
}

/// Stores `value` in slot `i`, scaled as [`SCALED`] says.
fn put(t: &mut [f32; TOKEN_LEN], i: usize, value: f32) {
    t[i] = value / slot_unit(i).0;
}

/// What slot `i` holds, in words a user can act on (for warnings that name
/// the feature an estimate extrapolates along); `"?"` past the end.
pub fn slot_name(i: usize) -> &'static str {
    use slot::*;
    const KIND_NAMES: [&str; KINDS] = [
        "kind: Dense",
        "kind: convolution",
        "kind: depthwise/separable convolution",
        "kind: pooling",
        "kind: batch normalization",
        "kind: activation",
        "kind: flatten/reshape",
    ];
    const ACT_NAMES: [&str; ACTS] = [
        "activation: linear",
        "activation: ReLU",
        "activation: table (sigmoid/tanh, softmax, ELU)",
        "activation: softmax",
        "activation: LeakyReLU",
        "activation: PReLU",
        "activation: ELU",
    ];
    const FAMILY_NAMES: [&str; FAMILIES] = [
        "part family: 7-series/Zynq-7000",
        "part family: UltraScale(+)",
        "part family: other",
    ];
    match i {
        _ if i < ACT => KIND_NAMES[i - KIND],
        _ if i < LOG_N_IN => ACT_NAMES[i - ACT],
        LOG_N_IN => "log2(1 + inputs)",
        LOG_N_OUT => "log2(1 + outputs)",
        LOG_MULT => "log2(1 + non-zero multiplications)",
        LOG_MULT_UNITS => "log2(1 + multipliers) (multiplications / reuse factor)",
        LOG_WEIGHTS => "log2(1 + weights)",
        LOG_WEIGHT_BITS_TOTAL => "log2(1 + weight bits)",
        ZERO_FRACTION => "fraction of weights pruned",
        LOG_RF => "log2(reuse factor)",
        LOG_RF_RESOURCE => "log2(reuse factor) under Resource",
        LOG_BRAM_PRIOR => "log2(1 + weight BRAM18 under Resource)",
        LOG_TABLE_PRIOR => "log2(1 + activation table BRAM18)",
        _ if (RF_REGIME..RF_REGIME + 3).contains(&i) => "Resource dense kernel (rf vs n_in)",
        LOG_OUTSCALE => "log2(accumulator stride)",
        LOG_ACC_MUX => "log2(1 + accumulator multiplexer inputs)",
        LOG_POSITIONS => "log2(1 + window positions)",
        KERNEL => "kernel size",
        WEIGHT_BITS => "weight width",
        INPUT_BITS => "input width",
        RESULT_BITS => "result width",
        ACCUM_BITS => "accumulator width",
        PRODUCT_BITS => "product width (weight × input bits)",
        DSP_SHAPED => "product fits a DSP48",
        RESOURCE => "Resource strategy",
        STREAM => "io_stream",
        FABRIC => "multipliers forced into fabric",
        _ if (FAMILY..FAMILY + FAMILIES).contains(&i) => FAMILY_NAMES[i - FAMILY],
        CLOCK => "clock period",
        VITIS => "HLS tool (0 Vivado HLS, 1 Vitis HLS)",
        FIRST => "first layer",
        LAST => "last layer",
        ONE => "constant",
        _ => "?",
    }
}

fn log2p1(x: f64) -> f32 {
    libm_log2(1.0 + x) as f32
}

/// log2 without std (a few ulps are plenty for a feature).
fn libm_log2(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    // x = m · 2^e: log2 x = e + log2 m. Subnormals are not expected.
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    // Centre m on 1 (|s| ≤ 0.172) so the series converges fast.
    if m > core::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    // log2(m) = 2·atanh((m−1)/(m+1)) / ln 2, series to s^9.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let atanh = s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 / 9.0))));
    e as f64 + 2.0 * atanh * core::f64::consts::LOG2_E
}

impl LayerFacts {
    /// BRAM18 blocks of the weight memory under the Resource strategy
    /// (0 otherwise, or when RF = 1 keeps weights in registers).
    pub fn bram_prior(&self) -> u64 {
        let depth = u64::from(self.reuse_factor.max(1));
        if !self.resource || depth == 1 || self.n_weights == 0 {
            return 0;
        }
        let width = self.n_weights.div_ceil(depth) * u64::from(self.weight_bits);
        let per_block = if depth <= 512 { 36 } else { 18 };
        width.div_ceil(per_block) * depth.div_ceil(1024)
    }

    /// BRAM18 blocks of the activation's look-up tables.
    pub fn table_prior(&self) -> u64 {
        let n = u64::from(self.n_out);
        match self.act {
            Act::Table | Act::Elu => n.div_ceil(2),
            Act::Softmax => n,
            Act::Linear | Act::Relu | Act::LeakyRelu | Act::Prelu => 0,
        }
    }

    /// The layer's token.
    pub fn token(&self) -> [f32; TOKEN_LEN] {
        let mut t = [0f32; TOKEN_LEN];
        t[slot::KIND + self.kind as usize] = 1.0;
        t[slot::ACT + self.act as usize] = 1.0;
        if matches!(self.act, Act::Softmax | Act::Elu) {
            t[slot::ACT + Act::Table as usize] = 1.0;
        }
        t[slot::LOG_N_IN] = log2p1(f64::from(self.n_in));
        t[slot::LOG_N_OUT] = log2p1(f64::from(self.n_out));
        let zero_frac = if self.n_weights > 0 {
            (self.n_zero_weights as f64 / self.n_weights as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let nonzero_mult = self.n_mult as f64 * (1.0 - zero_frac);
        let rf = f64::from(self.reuse_factor.max(1));
        let mult_units = nonzero_mult / rf;
        t[slot::LOG_MULT] = log2p1(nonzero_mult);
        t[slot::LOG_MULT_UNITS] = log2p1(mult_units);
        t[slot::LOG_WEIGHTS] = log2p1(self.n_weights as f64);
        t[slot::LOG_WEIGHT_BITS_TOTAL] =
            log2p1(self.n_weights as f64 * f64::from(self.weight_bits));
        t[slot::ZERO_FRACTION] = zero_frac as f32;
        t[slot::LOG_RF] = libm_log2(rf) as f32;
        if self.resource {
            t[slot::LOG_RF_RESOURCE] = libm_log2(rf) as f32;
        }
        t[slot::LOG_BRAM_PRIOR] = log2p1(self.bram_prior() as f64);
        t[slot::LOG_TABLE_PRIOR] = log2p1(self.table_prior() as f64);
        if self.resource && self.n_mult > 0 {
            let (rf, n_in) = (
                u64::from(self.reuse_factor.max(1)),
                u64::from(self.n_in.max(1)),
            );
            let regime = if rf <= n_in {
                0
            } else if rf % n_in == 0 {
                1
            } else {
                2
            };
            t[slot::RF_REGIME + regime] = 1.0;
            if rf > n_in {
                let stride = rf.div_ceil(n_in);
                t[slot::LOG_OUTSCALE] = libm_log2(stride as f64) as f32;
                if stride >= 3 {
                    t[slot::LOG_ACC_MUX] = log2p1(mult_units * f64::from(self.n_out));
                }
            }
        }
        t[slot::LOG_POSITIONS] = log2p1(f64::from(self.positions));
        put(&mut t, slot::KERNEL, f32::from(self.kernel));
        put(&mut t, slot::WEIGHT_BITS, f32::from(self.weight_bits));
        put(&mut t, slot::INPUT_BITS, f32::from(self.input_bits));
        put(&mut t, slot::RESULT_BITS, f32::from(self.result_bits));
        put(&mut t, slot::ACCUM_BITS, f32::from(self.accum_bits));
        put(
            &mut t,
            slot::PRODUCT_BITS,
            f32::from(self.weight_bits) * f32::from(self.input_bits),
        );
        let (a, b) = if self.weight_bits >= self.input_bits {
            (self.weight_bits, self.input_bits)
        } else {
            (self.input_bits, self.weight_bits)
        };
        let dsp_shaped = self.n_mult > 0 && !self.fabric_mult && a <= 27 && b <= 18 && b > 4;
        t[slot::DSP_SHAPED] = f32::from(u8::from(dsp_shaped));
        t[slot::RESOURCE] = f32::from(u8::from(self.resource));
        t[slot::STREAM] = f32::from(u8::from(self.stream));
        t[slot::FABRIC] = f32::from(u8::from(self.fabric_mult));
        t[slot::FAMILY + self.family as usize] = 1.0;
        put(&mut t, slot::CLOCK, self.clock_ns);
        t[slot::VITIS] = self.tool.slot_value();
        t[slot::FIRST] = f32::from(u8::from(self.first));
        t[slot::LAST] = f32::from(u8::from(self.last));
        t[slot::ONE] = 1.0;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(n_in: u32, n_out: u32, rf: u32, resource: bool) -> LayerFacts {
        LayerFacts {
            kind: Kind::Dense,
            act: Act::Linear,
            n_in,
            n_out,
            n_mult: u64::from(n_in) * u64::from(n_out),
            n_zero_weights: 0,
            n_weights: u64::from(n_in) * u64::from(n_out),
            positions: 1,
            kernel: 0,
            reuse_factor: rf,
            weight_bits: 16,
            input_bits: 16,
            result_bits: 16,
            accum_bits: 16,
            resource,
            stream: false,
            fabric_mult: false,
            family: Family::Series7,
            clock_ns: 5.0,
            tool: Tool::VitisHls,
            first: true,
            last: true,
        }
    }

    #[test]
    fn every_slot_has_a_name() {
        for i in 0..TOKEN_LEN {
            assert_ne!(slot_name(i), "?", "slot {i}");
        }
        assert_eq!(slot_name(TOKEN_LEN), "?");
        assert_eq!(slot_name(slot::RESULT_BITS), "result width");
        assert_eq!(slot_unit(slot::RESULT_BITS), (16.0, " bits"));
        assert_eq!(slot_unit(slot::LOG_N_IN), (1.0, ""));
        assert_eq!(slot_unit(slot::CLOCK), (10.0, " ns"));
        assert_eq!(slot_name(slot::FAMILY), "part family: 7-series/Zynq-7000");
    }

    #[test]
    fn tools_are_told_apart_by_name_and_version() {
        for (name, tool) in [
            ("Vivado HLS 2019.2 (hls4ml 1.2.0)", Tool::VivadoHls),
            ("Vitis HLS 2021.1", Tool::VitisHls),
            ("Vitis 2020.1", Tool::VitisHls),
            ("Vivado 2020.1", Tool::VivadoHls),
            ("HLS 2020.1.1", Tool::VivadoHls),
            ("HLS 2018.3", Tool::VivadoHls),
            ("HLS 2020.2", Tool::VitisHls),
            ("HLS 2024.1", Tool::VitisHls),
            ("Vivado/Vitis 2023.2", Tool::VitisHls),
            ("Vivado/Vitis 2019.1", Tool::VivadoHls),
            ("oneAPI 2025.0.1", Tool::Unknown),
            ("HLS ?", Tool::Unknown),
            ("", Tool::Unknown),
            ("build 12020.5", Tool::Unknown),
        ] {
            assert_eq!(Tool::from_name(name), tool, "{name}");
        }
        let mut f = dense(8, 8, 1, false);
        let values = [Tool::VivadoHls, Tool::Unknown, Tool::VitisHls].map(|t| {
            f.tool = t;
            f.token()[slot::VITIS]
        });
        assert_eq!(values, [0.0, 0.5, 1.0]);
    }

    #[test]
    fn log2_is_accurate() {
        for x in [1.0, 2.0, 3.0, 10.0, 1000.0, 65537.0, 1e12] {
            let err = (libm_log2(x) - f64::log2(x)).abs();
            assert!(err < 1e-6, "log2({x}) off by {err}");
        }
        assert_eq!(libm_log2(0.0), 0.0);
    }

    #[test]
    fn reuse_factor_divides_multipliers_and_shapes_bram() {
        let lat = dense(64, 32, 8, false).token();
        let res = dense(64, 32, 8, true).token();
        assert_eq!(lat[slot::LOG_MULT_UNITS], log2p1(256.0));
        assert_eq!(lat[slot::LOG_RF], 3.0);
        assert_eq!(lat[slot::LOG_RF_RESOURCE], 0.0);
        assert_eq!(res[slot::LOG_RF_RESOURCE], 3.0);
        assert_eq!(lat[slot::LOG_BRAM_PRIOR], 0.0);
        // Checked against the U250 sweep: 32x32 weights of 10 bits at RF 512
        // is a 20-bit x 512 memory (1 block; HLS reports 2 with the bias).
        let mut f = dense(32, 32, 512, true);
        f.weight_bits = 10;
        assert_eq!(f.bram_prior(), 1);
        // 96x96 at 14 bits, RF 576: 224 bits x 576 in 18-bit mode = 13.
        let mut f = dense(96, 96, 576, true);
        f.weight_bits = 14;
        assert_eq!(f.bram_prior(), 13);
    }

    #[test]
    fn resource_kernels_are_told_apart() {
        let t = dense(128, 128, 512, true).token();
        assert_eq!(t[slot::RF_REGIME + 1], 1.0);
        assert_eq!(t[slot::LOG_OUTSCALE], 2.0);
        let t = dense(96, 64, 64, true).token();
        assert_eq!(t[slot::RF_REGIME], 1.0);
        assert_eq!(t[slot::LOG_OUTSCALE], 0.0);
        let t = dense(96, 64, 100, true).token();
        assert_eq!(t[slot::RF_REGIME + 2], 1.0);
        let t = dense(96, 64, 100, false).token();
        assert_eq!(
            t[slot::RF_REGIME..slot::RF_REGIME + 3].iter().sum::<f32>(),
            0.0
        );
    }

    #[test]
    fn accumulator_multiplexers_from_stride_three() {
        // 128x128 at RF 512: stride 4, 32 multipliers each picking among
        // 128 accumulators.
        let t = dense(128, 128, 512, true).token();
        assert_eq!(t[slot::LOG_ACC_MUX], log2p1(32.0 * 128.0));
        // 256x256 at RF 512: stride 2, no full multiplexer.
        let t = dense(256, 256, 512, true).token();
        assert_eq!(t[slot::LOG_OUTSCALE], 1.0);
        assert_eq!(t[slot::LOG_ACC_MUX], 0.0);
        // rf <= n_in, and the Latency strategy: none either.
        assert_eq!(dense(96, 64, 64, true).token()[slot::LOG_ACC_MUX], 0.0);
        assert_eq!(dense(128, 128, 512, false).token()[slot::LOG_ACC_MUX], 0.0);
    }

    #[test]
    fn a_softmax_is_a_table_activation_too() {
        let mut f = dense(5, 5, 1, false);
        f.kind = Kind::Activation;
        f.act = Act::Softmax;
        let t = f.token();
        assert_eq!(t[slot::ACT + Act::Softmax as usize], 1.0);
        assert_eq!(t[slot::ACT + Act::Table as usize], 1.0);
        assert_eq!(t[slot::ACT + Act::Relu as usize], 0.0);
        assert_eq!(t[slot::LOG_TABLE_PRIOR], log2p1(5.0));
        f.act = Act::Relu;
        assert_eq!(f.token()[slot::ACT + Act::Table as usize], 0.0);
    }

    #[test]
    fn relu_variants_and_elu_have_tokens_of_their_own() {
        let mut f = dense(64, 64, 1, false);
        f.kind = Kind::Activation;
        let acts = [Act::Relu, Act::LeakyRelu, Act::Prelu, Act::Elu, Act::Table];
        let toks: [[f32; TOKEN_LEN]; 5] = acts.map(|a| {
            f.act = a;
            f.token()
        });
        for (i, a) in toks.iter().enumerate() {
            for b in &toks[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // ELU keeps sigmoid's table prior and slot, and adds its own.
        let elu = &toks[3];
        assert_eq!(elu[slot::ACT + Act::Elu as usize], 1.0);
        assert_eq!(elu[slot::ACT + Act::Table as usize], 1.0);
        assert_eq!(elu[slot::LOG_TABLE_PRIOR], toks[4][slot::LOG_TABLE_PRIOR]);
        assert_eq!(toks[1][slot::LOG_TABLE_PRIOR], 0.0);
    }

    #[test]
    fn one_hot_slots_and_layout() {
        let t = dense(16, 64, 1, false).token();
        assert_eq!(t[slot::KIND + Kind::Dense as usize], 1.0);
        assert_eq!(kind_index(&t), Some(Kind::Dense as usize));
        assert_eq!(t[slot::KIND..slot::KIND + KINDS].iter().sum::<f32>(), 1.0);
        assert_eq!(t[slot::ACT..slot::ACT + ACTS].iter().sum::<f32>(), 1.0);
        assert_eq!(t[slot::DSP_SHAPED], 1.0);
        assert_eq!(t[slot::ONE], 1.0);
        assert_eq!(TOKEN_LEN, slot::ONE + 1);
        assert!(t.iter().all(|v| v.is_finite()));
    }
}

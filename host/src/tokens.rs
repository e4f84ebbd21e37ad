//! Design IR → per-layer [`LayerFacts`] → float tokens (the schema lives
//! in `zest-features`, shared with the firmware) → quantized [`Tokens`] in
//! a fixed-point model's input type (what the board receives and the HLS
//! testbench reads).

use zest_features::{Act, Family, Kind, LayerFacts, Tool, TOKEN_LEN};
use zest_fixed::{FixedType, Overflow, Quant};

pub use zest_fixed::model::Tokens;

use crate::design::{Activation, Design, IoType, LayerKind, Strategy};
use crate::part::part_family;

fn kind(k: LayerKind) -> Kind {
    match k {
        LayerKind::Dense => Kind::Dense,
        LayerKind::Conv1D | LayerKind::Conv2D => Kind::Conv,
        LayerKind::DepthwiseConv1D
        | LayerKind::DepthwiseConv2D
        | LayerKind::SeparableConv1D
        | LayerKind::SeparableConv2D => Kind::DepthwiseConv,
        LayerKind::MaxPooling | LayerKind::AveragePooling => Kind::Pooling,
        LayerKind::BatchNorm => Kind::BatchNorm,
        LayerKind::Activation => Kind::Activation,
        LayerKind::Flatten => Kind::Reshape,
    }
}

fn act(a: Activation) -> Act {
    match a {
        Activation::Linear => Act::Linear,
        Activation::Relu => Act::Relu,
        Activation::LeakyRelu => Act::LeakyRelu,
        Activation::Prelu => Act::Prelu,
        Activation::Elu => Act::Elu,
        Activation::Softmax => Act::Softmax,
        Activation::Tanh | Activation::Sigmoid | Activation::Other => Act::Table,
    }
}

/// The feature schema's family of an FPGA part.
pub fn family_of(part: &str) -> Family {
    match part_family(part) {
        "zynq7000" | "series7" => Family::Series7,
        "ultrascale_plus" | "zynq_ultrascale_plus" => Family::UltraScale,
        _ => Family::Other,
    }
}

/// The feature schema's HLS tool of a design ([`Tool::from_name`] of its
/// tool, [`Tool::Unknown`] when it names none).
pub fn tool_of(d: &Design) -> Tool {
    d.tool.as_deref().map_or(Tool::Unknown, Tool::from_name)
}

/// The facts of every layer of `d`, in order.
pub fn layer_facts(d: &Design) -> Vec<LayerFacts> {
    let n = d.layers.len();
    let mut input_bits = d.input.width;
    let (family, tool) = (family_of(&d.part), tool_of(d));
    d.layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let n_in = l.n_in();
            let n_out = l.n_out();
            let spatial = l.output_shape.len().saturating_sub(1);
            let positions: u64 = l.output_shape[..spatial]
                .iter()
                .map(|&x| u64::from(x))
                .product();
            let in_ch = u64::from(*l.input_shape.last().unwrap_or(&1));
            let k = u64::from(l.kernel.unwrap_or(1));
            let window = k.pow(spatial as u32);
            let (n_mult, n_weights) = match l.kind {
                LayerKind::Dense => (n_in * n_out, n_in * n_out),
                LayerKind::Conv1D | LayerKind::Conv2D => {
                    let per = window * in_ch * u64::from(l.filters.unwrap_or(1));
                    (per * positions.max(1), per)
                }
                LayerKind::DepthwiseConv1D | LayerKind::DepthwiseConv2D => {
                    let per = window * u64::from(l.filters.unwrap_or(in_ch as u32));
                    (per * positions.max(1), per)
                }
                LayerKind::SeparableConv1D | LayerKind::SeparableConv2D => {
                    let depth = window * in_ch;
                    let point = in_ch * u64::from(l.filters.unwrap_or(1));
                    ((depth + point) * positions.max(1), depth + point)
                }
                LayerKind::BatchNorm => {
                    (n_out, 2 * u64::from(*l.output_shape.last().unwrap_or(&1)))
                }
                _ => (0, 0),
            };
            let result_bits = l.result.map_or(16, |p| p.width);
            let facts = LayerFacts {
                kind: kind(l.kind),
                act: act(l.activation),
                n_in: n_in.min(u64::from(u32::MAX)) as u32,
                n_out: n_out.min(u64::from(u32::MAX)) as u32,
                n_mult,
                n_zero_weights: u64::from(l.zero_weights.unwrap_or(0)),
                n_weights,
                positions: positions.clamp(1, u64::from(u32::MAX)) as u32,
                kernel: l.kernel.unwrap_or(0).min(u32::from(u16::MAX)) as u16,
                reuse_factor: crate::reuse::built(d, l),
                weight_bits: l.weight.map_or(0, |p| p.width),
                input_bits,
                result_bits,
                accum_bits: l.accum.map_or(0, |p| p.width),
                resource: d.strategy == Strategy::Resource,
                stream: d.io_type == IoType::IoStream,
                fabric_mult: d.multiplier_impl.as_deref() == Some("fabric"),
                family,
                clock_ns: d.clock_ns as f32,
                tool,
                first: i == 0,
                last: i + 1 == n,
            };
            input_bits = result_bits;
            facts
        })
        .collect()
}

/// The tokens of every layer of `d`, in order.
pub fn tokens(d: &Design) -> Vec<[f32; TOKEN_LEN]> {
    layer_facts(d).iter().map(LayerFacts::token).collect()
}

/// A token's slots in the model's input type (rounded to nearest,
/// saturated).
pub fn quantize_token(input: &FixedType, token: &[f32]) -> Vec<i64> {
    let r = input.with_modes(Quant::Rnd, Overflow::Sat);
    token.iter().map(|v| r.from_f64(f64::from(*v))).collect()
}

/// A design's layer tokens in the model's input type.
pub fn quantized(input: &FixedType, d: &Design) -> Tokens {
    tokens(d).iter().map(|t| quantize_token(input, t)).collect()
}

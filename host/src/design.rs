//! The design IR: an hls4ml design as zest sees it — ordered layers with
//! shapes, precisions and reuse factors, the global configuration, and the
//! six synthesis targets when known.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zest_features::{Target, N_TARGETS};

/// A fixed-point (or integer) type, `ap_fixed<W,I>` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Precision {
    /// Total bits W.
    pub width: u16,
    /// Integer bits I (sign included for signed types); may be ≤ 0 or > W.
    pub integer: i16,
    /// `ap_fixed`/`ap_int` (true) or `ap_ufixed`/`ap_uint` (false).
    pub signed: bool,
}

impl Precision {
    /// hls4ml's default `ap_fixed<16,6>`.
    pub const DEFAULT: Precision = Precision {
        width: 16,
        integer: 6,
        signed: true,
    };

    /// Fractional bits W − I.
    pub fn fractional(&self) -> i32 {
        i32::from(self.width) - i32::from(self.integer)
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = if self.signed { "" } else { "u" };
        write!(f, "ap_{u}fixed<{},{}>", self.width, self.integer)
    }
}

/// Why a type string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ap_fixed/ap_int type: {0:?}")]
pub struct PrecisionError(pub String);

impl FromStr for Precision {
    type Err = PrecisionError;

    /// Parses `ap_fixed<16,6>`, `ap_ufixed<8,0,AP_RND_CONV,AP_SAT>`,
    /// `ap_int<8>`, `ap_uint<1>`, and hls4ml's short `fixed<16,6>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrecisionError(s.to_string());
        let t = s.trim();
        let (head, rest) = t.split_once('<').ok_or_else(err)?;
        let args = rest.strip_suffix('>').ok_or_else(err)?;
        let mut parts = args.split(',').map(str::trim);
        let width: u16 = parts.next().and_then(|w| w.parse().ok()).ok_or_else(err)?;
        let head = head.trim().trim_start_matches("ap_");
        let (signed, integer) = match head {
            "fixed" | "ufixed" => {
                let i: i16 = parts.next().and_then(|i| i.parse().ok()).ok_or_else(err)?;
                (head == "fixed", i)
            }
            "int" | "uint" => (head == "int", width as i16),
            _ => return Err(err()),
        };
        if width == 0 || width > 1024 {
            return Err(err());
        }
        Ok(Precision {
            width,
            integer,
            signed,
        })
    }
}

/// Activation function applied by (or fused into) a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// None or linear.
    Linear,
    /// ReLU (and quantized_relu).
    Relu,
    /// LeakyReLU.
    LeakyRelu,
    /// PReLU.
    Prelu,
    /// ELU.
    Elu,
    /// tanh.
    Tanh,
    /// Sigmoid.
    Sigmoid,
    /// Softmax.
    Softmax,
    /// Anything else, by name.
    Other,
}

impl Activation {
    /// From a Keras / hls4ml activation name.
    pub fn from_name(name: &str) -> Activation {
        match name.to_ascii_lowercase().as_str() {
            "linear" | "none" | "" => Activation::Linear,
            "relu" | "quantized_relu" => Activation::Relu,
            "leaky_relu" | "leakyrelu" => Activation::LeakyRelu,
            "prelu" => Activation::Prelu,
            "elu" => Activation::Elu,
            "tanh" | "quantized_tanh" => Activation::Tanh,
            "sigmoid" | "quantized_sigmoid" | "hard_sigmoid" => Activation::Sigmoid,
            "softmax" | "quantized_softmax" => Activation::Softmax,
            _ => Activation::Other,
        }
    }
}

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Fully connected.
    Dense,
    /// 1-D convolution.
    Conv1D,
    /// 2-D convolution.
    Conv2D,
    /// Depthwise 1-D convolution.
    DepthwiseConv1D,
    /// Depthwise 2-D convolution.
    DepthwiseConv2D,
    /// Separable 1-D convolution.
    SeparableConv1D,
    /// Separable 2-D convolution.
    SeparableConv2D,
    /// Max pooling (1-D or 2-D, by shape).
    MaxPooling,
    /// Average pooling.
    AveragePooling,
    /// Flatten / reshape (free in hardware with io_parallel).
    Flatten,
    /// Batch normalization (hls4ml `normalize`).
    BatchNorm,
    /// Stand-alone activation layer.
    Activation,
}

impl LayerKind {
    /// Whether the layer has weights multiplied by its inputs.
    pub fn has_weights(self) -> bool {
        matches!(
            self,
            LayerKind::Dense
                | LayerKind::Conv1D
                | LayerKind::Conv2D
                | LayerKind::DepthwiseConv1D
                | LayerKind::DepthwiseConv2D
                | LayerKind::SeparableConv1D
                | LayerKind::SeparableConv2D
                | LayerKind::BatchNorm
        )
    }
}

/// hls4ml `Strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Fully unrolled where RF allows; ignores RF for Dense in io_parallel.
    Latency,
    /// Weights in BRAM, multipliers shared by RF.
    Resource,
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .trim_start_matches("nnet::")
            .to_ascii_lowercase()
            .as_str()
        {
            "latency" => Ok(Strategy::Latency),
            "resource" => Ok(Strategy::Resource),
            other => Err(format!("unknown strategy {other:?} (latency or resource)")),
        }
    }
}

/// hls4ml `IOType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IoType {
    /// Arrays, fully partitioned.
    IoParallel,
    /// hls::stream between layers (dataflow).
    IoStream,
}

impl FromStr for IoType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s
            .trim()
            .trim_start_matches("nnet::")
            .to_ascii_lowercase()
            .as_str()
        {
            "io_parallel" | "parallel" => Ok(IoType::IoParallel),
            "io_stream" | "stream" => Ok(IoType::IoStream),
            other => Err(format!(
                "unknown io type {other:?} (io_parallel or io_stream)"
            )),
        }
    }
}

/// One layer of a design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Layer name in the source (Keras or hls4ml).
    pub name: String,
    /// What it computes.
    pub kind: LayerKind,
    /// Fused or own activation.
    pub activation: Activation,
    /// Input shape without the batch dimension (e.g. `[16]`, `[32, 32, 3]`).
    pub input_shape: Vec<u32>,
    /// Output shape without the batch dimension.
    pub output_shape: Vec<u32>,
    /// Weight type, for layers with weights.
    pub weight: Option<Precision>,
    /// Result type.
    pub result: Option<Precision>,
    /// Accumulator type, where known.
    pub accum: Option<Precision>,
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Convolution filters (output channels).
    pub filters: Option<u32>,
    /// Kernel size (first dimension).
    pub kernel: Option<u32>,
    /// Stride (first dimension).
    pub stride: Option<u32>,
    /// Weights pruned to zero, where known (hls4ml `n_zeros`).
    pub zero_weights: Option<u32>,
}

impl Layer {
    /// A layer `input → output` with no types or window set yet (reuse
    /// factor 1): what the model readers start from.
    pub fn new(
        name: &str,
        kind: LayerKind,
        activation: Activation,
        input_shape: Vec<u32>,
        output_shape: Vec<u32>,
    ) -> Self {
        Self {
            name: name.to_string(),
            kind,
            activation,
            input_shape,
            output_shape,
            weight: None,
            result: None,
            accum: None,
            reuse_factor: 1,
            filters: None,
            kernel: None,
            stride: None,
            zero_weights: None,
        }
    }

    /// Product of the input shape.
    pub fn n_in(&self) -> u64 {
        self.input_shape.iter().map(|&d| u64::from(d)).product()
    }

    /// Product of the output shape.
    pub fn n_out(&self) -> u64 {
        self.output_shape.iter().map(|&d| u64::from(d)).product()
    }
}

/// The six synthesis targets. NaN marks a value the record does not know
/// (written as `null` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Targets {
    /// Look-up tables.
    #[serde(with = "nan_as_null")]
    pub lut: f64,
    /// Flip-flops.
    #[serde(with = "nan_as_null")]
    pub ff: f64,
    /// DSP slices.
    #[serde(with = "nan_as_null")]
    pub dsp: f64,
    /// Block RAM, in 18 Kb blocks.
    #[serde(with = "nan_as_null")]
    pub bram18: f64,
    /// Worst-case latency, clock cycles.
    #[serde(with = "nan_as_null")]
    pub latency_cycles: f64,
    /// Initiation interval (worst case), clock cycles.
    #[serde(with = "nan_as_null")]
    pub ii: f64,
}

/// Unknown values (NaN) as JSON `null`, and back.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

impl Targets {
    /// Every target unknown (NaN): a design not synthesised, or a report
    /// that does not say.
    pub const UNKNOWN: Targets = Targets {
        lut: f64::NAN,
        ff: f64::NAN,
        dsp: f64::NAN,
        bram18: f64::NAN,
        latency_cycles: f64::NAN,
        ii: f64::NAN,
    };

    /// Target names, in [`Targets::to_array`] order ([`Target`] order).
    pub const NAMES: [&'static str; N_TARGETS] = Target::NAMES;

    /// From an array in [`Target`] order.
    pub fn from_array(v: [f64; N_TARGETS]) -> Self {
        Targets {
            lut: v[Target::Lut.index()],
            ff: v[Target::Ff.index()],
            dsp: v[Target::Dsp.index()],
            bram18: v[Target::Bram18.index()],
            latency_cycles: v[Target::LatencyCycles.index()],
            ii: v[Target::Ii.index()],
        }
    }

    /// As an array in [`Target`] order.
    pub fn to_array(&self) -> [f64; N_TARGETS] {
        [
            self.lut,
            self.ff,
            self.dsp,
            self.bram18,
            self.latency_cycles,
            self.ii,
        ]
    }

    /// Whether every value is finite and non-negative.
    pub fn is_valid(&self) -> bool {
        self.to_array().iter().all(|v| v.is_finite() && *v >= 0.0)
    }
}

/// Which kind of estimate the targets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// HLS C-synthesis estimate (csynth).
    Csynth,
    /// Vivado logic synthesis (post-synth utilization).
    VivadoSynth,
}

/// Where a design record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Data set (directory under the data root, or "user").
    pub dataset: String,
    /// File, relative to the data root.
    pub file: String,
    /// Row or record position in the file.
    pub position: String,
}

/// A complete design and, when synthesised, its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// Short identifier, unique within its data set.
    pub id: String,
    /// Architecture key: designs with the same key share a network and
    /// differ only in configuration. Grouped cross-validation keeps a group
    /// on one side.
    pub group: String,
    /// Layers in order (input layer excluded).
    pub layers: Vec<Layer>,
    /// Global strategy.
    pub strategy: Strategy,
    /// Global IO type.
    pub io_type: IoType,
    /// FPGA part, e.g. `xc7z020clg400-1` (as written by the source).
    pub part: String,
    /// Target clock period, ns.
    pub clock_ns: f64,
    /// HLS tool and version, where known.
    pub tool: Option<String>,
    /// `dsp` or `fabric` multipliers (`config_op mul -impl`), where set.
    pub multiplier_impl: Option<String>,
    /// Type of the network input (`input_t`).
    pub input: Precision,
    /// Real (trained, pruned) network rather than a synthetic sweep.
    pub realistic: bool,
    /// What kind of report the targets come from.
    pub report: ReportKind,
    /// Synthesis results.
    pub targets: Targets,
    /// Per-layer results, aligned with `layers`, where the source has them.
    pub per_layer: Option<Vec<Option<Targets>>>,
    /// Where it came from.
    pub provenance: Provenance,
}

impl Design {
    /// Number of layers with weights.
    pub fn weighted_depth(&self) -> usize {
        self.layers.iter().filter(|l| l.kind.has_weights()).count()
    }
}

/// hls4ml configuration applied to every layer (hls4ml's `Model` level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HlsConfig {
    /// Default precision (weights, biases, accumulators, results).
    pub precision: Precision,
    /// Reuse factor.
    pub reuse_factor: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// IO type.
    pub io_type: IoType,
    /// FPGA part.
    pub part: String,
    /// Clock period, ns.
    pub clock_ns: f64,
    /// HLS tool, as [`zest_features::Tool::from_name`] reads it
    /// ("Vitis HLS 2023.1", "Vivado HLS", an hls4ml backend name); `None`:
    /// unknown, which the token puts halfway between the two tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

impl Default for HlsConfig {
    /// hls4ml's defaults, on the PYNQ-Z2's part.
    fn default() -> Self {
        Self {
            precision: Precision::DEFAULT,
            reuse_factor: 1,
            strategy: Strategy::Latency,
            io_type: IoType::IoParallel,
            part: crate::part::PYNQ_Z2.into(),
            clock_ns: 5.0,
            tool: None,
        }
    }
}

/// Builds the design hls4ml would make of `layers` under `cfg`.
/// Precisions a QKeras model fixed per layer are kept.
pub fn design_from_layers(name: &str, layers: Vec<Layer>, cfg: &HlsConfig) -> Design {
    let layers = layers
        .into_iter()
        .map(|mut l| {
            if l.kind.has_weights() {
                l.weight.get_or_insert(cfg.precision);
                l.accum.get_or_insert(cfg.precision);
                l.reuse_factor = cfg.reuse_factor;
            }
            l.result.get_or_insert(cfg.precision);
            l
        })
        .collect();
    Design {
        id: name.to_string(),
        group: name.to_string(),
        layers,
        strategy: cfg.strategy,
        io_type: cfg.io_type,
        part: cfg.part.clone(),
        clock_ns: cfg.clock_ns,
        tool: cfg.tool.clone(),
        multiplier_impl: None,
        input: cfg.precision,
        realistic: true,
        report: ReportKind::Csynth,
        targets: Targets::UNKNOWN,
        per_layer: None,
        provenance: Provenance {
            dataset: "user".into(),
            file: name.into(),
            position: String::new(),
        },
    }
}

/// The configuration a design was built with (model-wide view).
pub fn config_of(d: &Design) -> HlsConfig {
    let weighted = d.layers.iter().find(|l| l.kind.has_weights());
    HlsConfig {
        precision: weighted.and_then(|l| l.weight).unwrap_or(d.input),
        reuse_factor: weighted.map_or(1, |l| l.reuse_factor),
        strategy: d.strategy,
        io_type: d.io_type,
        part: d.part.clone(),
        clock_ns: d.clock_ns,
        tool: d.tool.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hls4ml_types() {
        let p: Precision = "ap_fixed<16,6>".parse().unwrap();
        assert_eq!((p.width, p.integer, p.signed), (16, 6, true));
        let p: Precision = "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>".parse().unwrap();
        assert_eq!((p.width, p.integer, p.signed), (8, 0, false));
        let p: Precision = "ap_uint<1>".parse().unwrap();
        assert_eq!((p.width, p.integer, p.signed), (1, 1, false));
        let p: Precision = "fixed<6, 1>".parse().unwrap();
        assert_eq!((p.width, p.integer), (6, 1));
        assert_eq!(p.to_string(), "ap_fixed<6,1>");
        for bad in [
            "float",
            "ap_fixed<16",
            "ap_fixed<x,6>",
            "ap_fixed<0,0>",
            "ap_thing<3>",
        ] {
            assert!(bad.parse::<Precision>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_strategy_and_io() {
        assert_eq!(
            "nnet::latency".parse::<Strategy>().unwrap(),
            Strategy::Latency
        );
        assert_eq!("Resource".parse::<Strategy>().unwrap(), Strategy::Resource);
        assert_eq!("io_stream".parse::<IoType>().unwrap(), IoType::IoStream);
        assert!("fast".parse::<Strategy>().is_err());
    }
}

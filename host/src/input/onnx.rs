//! ONNX model → design layers, walking the raw ONNX protobuf (the
//! `ModelProto` types of tract-onnx, decoded with prost; no inference
//! graph is built).
//!
//! Chains of Gemm, MatMul (+ Add of a bias), Conv, pooling,
//! BatchNormalization, Flatten/Reshape and element-wise activations, as
//! PyTorch and tf2onnx export MLPs and small CNNs. ONNX is channels-first:
//! shapes are turned channels-last, as hls4ml's Keras path sees them.
//! Weights that are exactly zero count as pruned (hls4ml's `n_zeros`).
//! Activations become layers named `{previous}_{activation}`, as the Keras
//! reader names them, so the same network read from either file gives the
//! same design.

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb::{
    self, tensor_shape_proto::dimension::Value as Dim, type_proto::Value as Type,
};

use crate::design::{Activation, Layer, LayerKind};
use crate::input::keras::activation_suffix;

/// Why an ONNX model could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnnxError {
    /// Not an ONNX protobuf.
    #[error("not an ONNX model: {0}")]
    NotOnnx(String),
    /// A node zest cannot estimate.
    #[error("node {name:?}: unsupported ONNX operator {op}")]
    Unsupported {
        /// Node name (or its first output).
        name: String,
        /// Operator type.
        op: String,
    },
    /// A node whose inputs or attributes are missing or inconsistent.
    #[error("node {name:?}: {why}")]
    BadNode {
        /// Node name.
        name: String,
        /// What is wrong.
        why: String,
    },
}

pub(crate) fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

pub(crate) fn attr_int(n: &pb::NodeProto, name: &str) -> Option<i64> {
    attr(n, name).map(|a| a.i)
}

fn attr_ints(n: &pb::NodeProto, name: &str) -> Vec<i64> {
    attr(n, name).map(|a| a.ints.clone()).unwrap_or_default()
}

/// Number of elements exactly zero in a float initializer.
fn zeros(t: &pb::TensorProto) -> u32 {
    let n = if !t.float_data.is_empty() {
        t.float_data.iter().filter(|v| **v == 0.0).count()
    } else if t.data_type == 1 {
        t.raw_data
            .chunks_exact(4)
            .filter(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) == 0.0)
            .count()
    } else {
        0
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn dims_u32(t: &pb::TensorProto) -> Option<Vec<u32>> {
    t.dims.iter().map(|&d| u32::try_from(d).ok()).collect()
}

/// The input's shape without the batch dimension, channels-last.
pub(crate) fn input_shape(
    g: &pb::GraphProto,
    initializers: &HashMap<&str, &pb::TensorProto>,
) -> Option<Vec<u32>> {
    let input = g
        .input
        .iter()
        .find(|i| !initializers.contains_key(i.name.as_str()))?;
    let Some(Type::TensorType(t)) = input.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    let dims: Vec<Option<u32>> = t
        .shape
        .as_ref()?
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) => u32::try_from(v).ok(),
            _ => None,
        })
        .collect();
    // The batch dimension: symbolic, or 1 in front of at least one more.
    let rest = if dims.len() > 1 {
        &dims[1..]
    } else {
        &dims[..]
    };
    let mut shape: Vec<u32> = rest.iter().copied().collect::<Option<_>>()?;
    if shape.len() > 1 {
        // [C, H, W] → [H, W, C]
        let c = shape.remove(0);
        shape.push(c);
    }
    Some(shape)
}

/// Appends a layer from the current `shape` to `out`, which becomes current.
fn push(
    layers: &mut Vec<Layer>,
    shape: &mut Vec<u32>,
    name: &str,
    kind: LayerKind,
    activation: Activation,
    out: Vec<u32>,
) {
    layers.push(Layer::new(
        name,
        kind,
        activation,
        shape.clone(),
        out.clone(),
    ));
    *shape = out;
}

fn activation_of(op: &str) -> Option<Activation> {
    Some(match op {
        "Relu" => Activation::Relu,
        "LeakyRelu" | "PRelu" => Activation::from_name("leaky_relu"),
        "Sigmoid" | "HardSigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "Softmax" | "LogSoftmax" => Activation::Softmax,
        "Elu" | "Selu" => Activation::Elu,
        _ => return None,
    })
}

/// Reads the layers of an ONNX model.
pub fn parse_onnx(bytes: &[u8]) -> Result<Vec<Layer>, OnnxError> {
    let model = pb::ModelProto::decode(bytes).map_err(|e| OnnxError::NotOnnx(e.to_string()))?;
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::NotOnnx("no graph".into()))?;
    if g.node.is_empty() {
        return Err(OnnxError::NotOnnx("the graph has no nodes".into()));
    }
    let initializers: HashMap<&str, &pb::TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut shape = input_shape(g, &initializers)
        .ok_or_else(|| OnnxError::NotOnnx("graph input has no fixed shape".into()))?;
    let mut layers: Vec<Layer> = Vec::new();
    let mut prev_name = String::from("input");
    for n in &g.node {
        let name = if n.name.is_empty() {
            n.output.first().cloned().unwrap_or_default()
        } else {
            n.name.clone()
        };
        let bad = |why: &str| OnnxError::BadNode {
            name: name.clone(),
            why: why.to_string(),
        };
        let weight = |i: usize| {
            n.input
                .get(i)
                .and_then(|w| initializers.get(w.as_str()))
                .copied()
        };
        let op = n.op_type.as_str();
        match op {
            "Gemm" | "MatMul" => {
                let w = weight(1).ok_or_else(|| bad("weights are not an initializer"))?;
                let d = dims_u32(w)
                    .filter(|d| d.len() == 2)
                    .ok_or_else(|| bad("weights are not 2-D"))?;
                let trans_b = op == "Gemm" && attr_int(n, "transB") == Some(1);
                let (n_in, units) = if trans_b { (d[1], d[0]) } else { (d[0], d[1]) };
                if shape.last() != Some(&n_in) {
                    return Err(bad(&format!(
                        "expects {n_in} inputs, the graph gives {shape:?}"
                    )));
                }
                let mut out = shape.clone();
                if let Some(last) = out.last_mut() {
                    *last = units;
                }
                push(
                    &mut layers,
                    &mut shape,
                    &name,
                    LayerKind::Dense,
                    Activation::Linear,
                    out,
                );
                if let Some(l) = layers.last_mut() {
                    l.zero_weights = Some(zeros(w));
                }
            }
            // A bias added after MatMul belongs to that Dense.
            "Add"
                if layers.last().is_some_and(|l| l.kind == LayerKind::Dense)
                    && n.input
                        .iter()
                        .any(|i| initializers.contains_key(i.as_str())) => {}
            "Conv" => {
                let w = weight(1).ok_or_else(|| bad("weights are not an initializer"))?;
                let d = dims_u32(w).ok_or_else(|| bad("bad weight dims"))?;
                let spatial = d.len().saturating_sub(2);
                if !(1..=2).contains(&spatial) || shape.len() != spatial + 1 {
                    return Err(bad(&format!("Conv{spatial}D on shape {shape:?}")));
                }
                let group = attr_int(n, "group").unwrap_or(1).max(1) as u32;
                let (filters, kernel) = (d[0], d[2]);
                let stride = attr_ints(n, "strides").first().copied().unwrap_or(1).max(1) as u32;
                let pads = attr_ints(n, "pads");
                let pad =
                    pads.first().copied().unwrap_or(0) + pads.get(spatial).copied().unwrap_or(0);
                let out_sp: Vec<u32> = shape[..spatial]
                    .iter()
                    .map(|&len| {
                        ((len as i64 + pad - kernel as i64) / stride as i64 + 1).max(1) as u32
                    })
                    .collect();
                let mut out = out_sp;
                out.push(filters);
                let depthwise = group > 1 && group == shape[spatial];
                let kind = match (depthwise, spatial) {
                    (false, 1) => LayerKind::Conv1D,
                    (false, _) => LayerKind::Conv2D,
                    (true, 1) => LayerKind::DepthwiseConv1D,
                    (true, _) => LayerKind::DepthwiseConv2D,
                };
                if group > 1 && !depthwise {
                    return Err(bad(
                        "grouped convolution (other than depthwise) is not supported",
                    ));
                }
                push(
                    &mut layers,
                    &mut shape,
                    &name,
                    kind,
                    Activation::Linear,
                    out,
                );
                if let Some(l) = layers.last_mut() {
                    l.filters = Some(filters);
                    l.kernel = Some(kernel);
                    l.stride = Some(stride);
                    l.zero_weights = Some(zeros(w));
                }
            }
            "MaxPool" | "AveragePool" => {
                let k = attr_ints(n, "kernel_shape");
                let kernel = k.first().copied().unwrap_or(2).max(1) as u32;
                let stride = attr_ints(n, "strides")
                    .first()
                    .copied()
                    .unwrap_or(kernel as i64)
                    .max(1) as u32;
                let spatial = k.len().max(1);
                if shape.len() != spatial + 1 {
                    return Err(bad(&format!("{op} on shape {shape:?}")));
                }
                let mut out: Vec<u32> = shape[..spatial]
                    .iter()
                    .map(|&len| (len.saturating_sub(kernel)) / stride + 1)
                    .collect();
                out.push(shape[spatial]);
                let kind = if op == "MaxPool" {
                    LayerKind::MaxPooling
                } else {
                    LayerKind::AveragePooling
                };
                push(
                    &mut layers,
                    &mut shape,
                    &name,
                    kind,
                    Activation::Linear,
                    out,
                );
                if let Some(l) = layers.last_mut() {
                    l.kernel = Some(kernel);
                    l.stride = Some(stride);
                }
            }
            "Flatten" | "Reshape" => {
                let out = vec![shape.iter().product()];
                if out != shape {
                    push(
                        &mut layers,
                        &mut shape,
                        &name,
                        LayerKind::Flatten,
                        Activation::Linear,
                        out,
                    );
                }
            }
            "BatchNormalization" => {
                let s = shape.clone();
                push(
                    &mut layers,
                    &mut shape,
                    &name,
                    LayerKind::BatchNorm,
                    Activation::Linear,
                    s,
                );
            }
            "Dropout" | "Identity" | "Cast" | "Squeeze" | "Unsqueeze" => {}
            other => match activation_of(other) {
                Some(act) => {
                    let s = shape.clone();
                    let layer_name = match layers.last() {
                        Some(l) if l.kind.has_weights() && l.name == prev_name => {
                            format!("{prev_name}_{}", activation_suffix(act))
                        }
                        _ => name.clone(),
                    };
                    push(
                        &mut layers,
                        &mut shape,
                        &layer_name,
                        LayerKind::Activation,
                        act,
                        s,
                    );
                }
                None => {
                    return Err(OnnxError::Unsupported {
                        name,
                        op: other.to_string(),
                    })
                }
            },
        }
        prev_name = layers.last().map_or(prev_name, |l| l.name.clone());
    }
    if layers.is_empty() {
        return Err(OnnxError::NotOnnx("no layers zest can estimate".into()));
    }
    Ok(layers)
}

//! Keras model JSON (the architecture file hls4ml reads) → design layers.
//!
//! Sequential and functional models with a single chain of layers, Keras 2
//! (`batch_input_shape`) and Keras 3 (`batch_shape`, `module`) spellings,
//! and QKeras layers (`QDense`, `QConv2D`, `QActivation`, with their
//! quantizers read as precisions). Activations fused into a Dense or Conv
//! layer become a separate activation layer, as in hls4ml's graph.
//! Shapes are inferred layer by layer (channels-last).

use serde_json::Value;

use crate::design::{Activation, Layer, LayerKind, Precision};

/// Why a Keras model could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KerasError {
    /// Not JSON, or not a Keras model.
    #[error("not a Keras model JSON: {0}")]
    NotKeras(String),
    /// A layer zest cannot estimate.
    #[error("layer {name:?}: unsupported layer type {class}")]
    Unsupported {
        /// Layer name.
        name: String,
        /// Its Keras class.
        class: String,
    },
    /// A layer whose configuration is missing or inconsistent.
    #[error("layer {name:?}: {why}")]
    BadLayer {
        /// Layer name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// A graph that is not a single chain.
    #[error("layer {0:?} has several inputs: only chains of layers are supported")]
    Branching(String),
}

fn dims(v: &Value) -> Option<Vec<u32>> {
    let arr = v.as_array()?;
    // Drop the batch dimension (null) when present.
    let skip = usize::from(arr.first().is_some_and(Value::is_null));
    arr[skip..]
        .iter()
        .map(|d| d.as_u64().and_then(|d| u32::try_from(d).ok()))
        .collect()
}

fn first_int(v: Option<&Value>) -> Option<u32> {
    let v = v?;
    let n = match v {
        Value::Array(a) => a.first()?.as_u64()?,
        other => other.as_u64()?,
    };
    u32::try_from(n).ok()
}

/// Parses a QKeras quantizer such as `quantized_bits(6,0,alpha=1)` (the
/// string form) or its config object `{"class_name": "quantized_bits",
/// "config": {"bits": 6, "integer": 0}}`: `bits` total, `integer` bits
/// excluding the sign, so `ap_fixed<bits, integer + 1>`.
pub fn quantizer_precision(q: &Value) -> Option<Precision> {
    let (name, bits, integer) = match q {
        Value::String(s) => {
            let (name, args) = s.split_once('(')?;
            let args = args.trim_end_matches(')');
            let mut pos = args.split(',').map(str::trim).filter(|a| !a.contains('='));
            let bits: u16 = pos.next()?.parse().ok()?;
            let integer: i16 = pos.next().and_then(|i| i.parse().ok()).unwrap_or(0);
            (name.trim().to_string(), bits, integer)
        }
        Value::Object(o) => {
            let name = o.get("class_name")?.as_str()?.to_string();
            let cfg = o.get("config")?;
            let bits = u16::try_from(cfg.get("bits")?.as_u64()?).ok()?;
            let integer = cfg.get("integer").and_then(Value::as_i64).unwrap_or(0) as i16;
            (name, bits, integer)
        }
        _ => return None,
    };
    match name.as_str() {
        "quantized_bits" | "quantized_relu" => Some(Precision {
            width: bits,
            integer: integer + i16::from(name == "quantized_bits"),
            signed: name == "quantized_bits",
        }),
        _ => None,
    }
}

struct Builder {
    layers: Vec<Layer>,
    shape: Vec<u32>,
}

impl Builder {
    fn push(
        &mut self,
        name: &str,
        kind: LayerKind,
        activation: Activation,
        out: Vec<u32>,
    ) -> &mut Layer {
        self.layers.push(Layer::new(
            name,
            kind,
            activation,
            self.shape.clone(),
            out.clone(),
        ));
        self.shape = out;
        self.layers.last_mut().expect("just pushed")
    }

    fn activation(&mut self, name: &str, act: Activation) {
        if act != Activation::Linear {
            let shape = self.shape.clone();
            self.push(name, LayerKind::Activation, act, shape);
        }
    }
}

fn conv_out(len: u32, kernel: u32, stride: u32, same: bool) -> u32 {
    let stride = stride.max(1);
    if same {
        len.div_ceil(stride)
    } else {
        (len.saturating_sub(kernel)) / stride + 1
    }
}

/// Reads the layers of a Keras model JSON.
pub fn parse_keras(text: &str) -> Result<Vec<Layer>, KerasError> {
    let model: Value =
        serde_json::from_str(text).map_err(|e| KerasError::NotKeras(e.to_string()))?;
    let config = model
        .get("config")
        .ok_or_else(|| KerasError::NotKeras("no \"config\"".into()))?;
    let layers = match config {
        Value::Array(a) => a,
        other => other
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| KerasError::NotKeras("no \"config.layers\" list".into()))?,
    };
    let mut b = Builder {
        layers: Vec::new(),
        shape: Vec::new(),
    };
    for (i, l) in layers.iter().enumerate() {
        let class = l.get("class_name").and_then(Value::as_str).unwrap_or("");
        let cfg = l.get("config").unwrap_or(&Value::Null);
        let name = cfg
            .get("name")
            .or_else(|| l.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("layer{i}"));
        if let Some(inbound) = l.get("inbound_nodes").and_then(Value::as_array) {
            let n_inputs = inbound
                .first()
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if n_inputs > 1 {
                return Err(KerasError::Branching(name));
            }
        }
        if let Some(s) = cfg
            .get("batch_input_shape")
            .or_else(|| cfg.get("batch_shape"))
            .and_then(dims)
        {
            if b.layers.is_empty() {
                b.shape = s;
            }
        }
        let bad = |why: &str| KerasError::BadLayer {
            name: name.clone(),
            why: why.to_string(),
        };
        let act = Activation::from_name(
            cfg.get("activation")
                .and_then(Value::as_str)
                .unwrap_or("linear"),
        );
        let kq = cfg.get("kernel_quantizer").and_then(quantizer_precision);
        if b.shape.is_empty() && class != "InputLayer" {
            return Err(bad(
                "input shape unknown (no InputLayer or batch_input_shape)",
            ));
        }
        match class {
            "InputLayer" => {}
            "Dropout" | "SpatialDropout1D" | "SpatialDropout2D" | "GaussianNoise" => {}
            "Dense" | "QDense" => {
                let units =
                    first_int(cfg.get("units")).ok_or_else(|| bad("Dense without units"))?;
                let mut out = b.shape.clone();
                match out.last_mut() {
                    Some(last) => *last = units,
                    None => return Err(bad("Dense on an empty shape")),
                }
                let layer = b.push(&name, LayerKind::Dense, Activation::Linear, out);
                layer.weight = kq;
                b.activation(&format!("{name}_{}", activation_suffix(act)), act);
            }
            "Conv1D" | "QConv1D" | "Conv2D" | "QConv2D" | "SeparableConv1D"
            | "QSeparableConv1D" | "SeparableConv2D" | "QSeparableConv2D" | "DepthwiseConv1D"
            | "QDepthwiseConv1D" | "DepthwiseConv2D" | "QDepthwiseConv2D" => {
                let two_d = class.ends_with("2D");
                let spatial = if two_d { 2 } else { 1 };
                if b.shape.len() != spatial + 1 {
                    return Err(bad(&format!(
                        "{class} needs a {}-D input, got {:?}",
                        spatial + 1,
                        b.shape
                    )));
                }
                let kernel =
                    first_int(cfg.get("kernel_size")).ok_or_else(|| bad("no kernel_size"))?;
                let stride = first_int(cfg.get("strides")).unwrap_or(1);
                let same = cfg.get("padding").and_then(Value::as_str) == Some("same");
                let in_ch = *b.shape.last().expect("checked length");
                let depthwise = class.contains("Depthwise");
                let filters = if depthwise {
                    in_ch * first_int(cfg.get("depth_multiplier")).unwrap_or(1)
                } else {
                    first_int(cfg.get("filters")).ok_or_else(|| bad("no filters"))?
                };
                let mut out: Vec<u32> = b.shape[..spatial]
                    .iter()
                    .map(|&d| conv_out(d, kernel, stride, same))
                    .collect();
                out.push(filters);
                let kind = match (class.trim_start_matches('Q'), two_d) {
                    (c, false) if c.starts_with("Conv") => LayerKind::Conv1D,
                    (c, true) if c.starts_with("Conv") => LayerKind::Conv2D,
                    (c, false) if c.starts_with("Separable") => LayerKind::SeparableConv1D,
                    (c, true) if c.starts_with("Separable") => LayerKind::SeparableConv2D,
                    (_, false) => LayerKind::DepthwiseConv1D,
                    (_, true) => LayerKind::DepthwiseConv2D,
                };
                let layer = b.push(&name, kind, Activation::Linear, out);
                layer.weight = kq;
                layer.filters = Some(filters);
                layer.kernel = Some(kernel);
                layer.stride = Some(stride);
                b.activation(&format!("{name}_{}", activation_suffix(act)), act);
            }
            "MaxPooling1D" | "MaxPooling2D" | "AveragePooling1D" | "AveragePooling2D" => {
                let spatial = if class.ends_with("2D") { 2 } else { 1 };
                if b.shape.len() != spatial + 1 {
                    return Err(bad(&format!("{class} on shape {:?}", b.shape)));
                }
                let pool = first_int(cfg.get("pool_size")).unwrap_or(2);
                let stride = first_int(cfg.get("strides")).unwrap_or(pool);
                let same = cfg.get("padding").and_then(Value::as_str) == Some("same");
                let mut out: Vec<u32> = b.shape[..spatial]
                    .iter()
                    .map(|&d| conv_out(d, pool, stride, same))
                    .collect();
                out.push(*b.shape.last().expect("checked length"));
                let kind = if class.starts_with("Max") {
                    LayerKind::MaxPooling
                } else {
                    LayerKind::AveragePooling
                };
                let layer = b.push(&name, kind, Activation::Linear, out);
                layer.kernel = Some(pool);
                layer.stride = Some(stride);
            }
            "Flatten" | "Reshape" => {
                let out = if class == "Flatten" {
                    vec![b.shape.iter().product()]
                } else {
                    cfg.get("target_shape")
                        .and_then(dims)
                        .ok_or_else(|| bad("Reshape without target_shape"))?
                };
                b.push(&name, LayerKind::Flatten, Activation::Linear, out);
            }
            "BatchNormalization" | "QBatchNormalization" => {
                let shape = b.shape.clone();
                b.push(&name, LayerKind::BatchNorm, Activation::Linear, shape);
            }
            "Activation" | "QActivation" => {
                let a = match cfg.get("activation") {
                    Some(Value::String(s)) => {
                        let base = s.split('(').next().unwrap_or(s);
                        Activation::from_name(base)
                    }
                    _ => Activation::Other,
                };
                let shape = b.shape.clone();
                let layer = b.push(&name, LayerKind::Activation, a, shape);
                if class == "QActivation" {
                    layer.result = cfg.get("activation").and_then(quantizer_precision);
                }
            }
            "ReLU" | "LeakyReLU" | "PReLU" | "ELU" | "Softmax" | "ThresholdedReLU" => {
                let a = Activation::from_name(
                    &class
                        .to_ascii_lowercase()
                        .replace("leakyrelu", "leaky_relu"),
                );
                let shape = b.shape.clone();
                b.push(&name, LayerKind::Activation, a, shape);
            }
            other => {
                return Err(KerasError::Unsupported {
                    name,
                    class: other.to_string(),
                })
            }
        }
    }
    if b.layers.is_empty() {
        return Err(KerasError::NotKeras(
            "the model has no layers zest estimates".into(),
        ));
    }
    Ok(b.layers)
}

/// Suffix of the layer an activation fused into `{name}` becomes (`fc1_relu`).
pub fn activation_suffix(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu",
        Activation::Softmax => "softmax",
        Activation::Sigmoid => "sigmoid",
        Activation::Tanh => "tanh",
        _ => "activation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JET: &str = r#"{"class_name": "Sequential", "config": {"name": "jet", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 16], "name": "in"}},
        {"class_name": "Dense", "config": {"name": "fc1", "units": 64, "activation": "relu"}},
        {"class_name": "Dense", "config": {"name": "fc2", "units": 32, "activation": "relu"}},
        {"class_name": "Dense", "config": {"name": "fc3", "units": 32, "activation": "relu"}},
        {"class_name": "Dense", "config": {"name": "output", "units": 5, "activation": "softmax"}}]}}"#;

    #[test]
    fn jet_tagger_becomes_dense_and_activation_layers() {
        let layers = parse_keras(JET).unwrap();
        let kinds: Vec<_> = layers.iter().map(|l| (l.kind, l.activation)).collect();
        assert_eq!(layers.len(), 8);
        assert_eq!(kinds[0], (LayerKind::Dense, Activation::Linear));
        assert_eq!(kinds[1], (LayerKind::Activation, Activation::Relu));
        assert_eq!(kinds[7], (LayerKind::Activation, Activation::Softmax));
        assert_eq!((layers[0].n_in(), layers[0].n_out()), (16, 64));
        assert_eq!((layers[6].n_in(), layers[6].n_out()), (32, 5));
    }

    #[test]
    fn conv_shapes_follow_padding_and_stride() {
        let m = r#"{"class_name": "Model", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 16, 16, 3], "name": "i"}, "inbound_nodes": []},
            {"class_name": "Conv2D", "config": {"name": "c", "filters": 8, "kernel_size": [5, 5], "strides": [1, 1], "padding": "same", "activation": "linear"}, "inbound_nodes": [[["i", 0, 0, {}]]]},
            {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}},
            {"class_name": "Conv2D", "config": {"name": "c2", "filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid"}},
            {"class_name": "Flatten", "config": {"name": "f"}},
            {"class_name": "QDense", "config": {"name": "d", "units": 8, "kernel_quantizer": "quantized_bits(6,0,alpha=1)"}}]}}"#;
        let layers = parse_keras(m).unwrap();
        assert_eq!(layers[0].output_shape, vec![16, 16, 8]);
        assert_eq!(layers[1].output_shape, vec![8, 8, 8]);
        assert_eq!(layers[2].output_shape, vec![3, 3, 4]);
        assert_eq!(layers[3].output_shape, vec![36]);
        assert_eq!(
            layers[4].weight,
            Some(Precision {
                width: 6,
                integer: 1,
                signed: true
            })
        );
    }

    #[test]
    fn errors_name_the_layer() {
        let m = JET.replace(
            "\"Dense\", \"config\": {\"name\": \"fc2\"",
            "\"LSTM\", \"config\": {\"name\": \"fc2\"",
        );
        assert_eq!(
            parse_keras(&m),
            Err(KerasError::Unsupported {
                name: "fc2".into(),
                class: "LSTM".into()
            })
        );
        assert!(matches!(parse_keras("{"), Err(KerasError::NotKeras(_))));
        let no_units = JET.replace("\"units\": 64, ", "");
        assert!(matches!(
            parse_keras(&no_units),
            Err(KerasError::BadLayer { .. })
        ));
    }
}

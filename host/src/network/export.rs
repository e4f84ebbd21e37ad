//! The hand-off to hls4ml: a user's network as ONNX and an
//! `hls4ml_config.yml` that `hls4ml.converters.convert_from_config` builds
//! unchanged, with the precisions of [`Precisions`].
//!
//! # The ONNX graph (opset 13, IR 8)
//!
//! ```text
//! x [N, n_0] ─ fc0: MatMul(w0) ─ bias0: Add(b0) ─ relu0: Relu ─ fc1: MatMul(w1) ─ … ─ bias{L−1}: Add → y [N, n_L]
//! ```
//!
//! Weights `w{k}` `[n_in, n_out]` and biases `b{k}` `[n_out]` are float
//! initializers (pruned weights exact 0.0, the input standardisation
//! already folded in); every tensor, initializers included, has its shape
//! in `value_info`, which hls4ml's ONNX reader needs (it runs no shape
//! inference; no qonnx clean-up is needed). hls4ml 1.3.0 turns each
//! MatMul into `Dense_fc{k}`, folds the bias Add into it and keeps the ReLU.
//!
//! # The configuration
//!
//! `HLSConfig.LayerName.fc{k}.Precision` sets `weight` and `bias` and leaves
//! `accum` and `result` `auto` (an explicit result type stops hls4ml
//! folding the bias); `relu{k}` sets the ReLU's `result`; `x` the input.
//! hls4ml 1.3.0 ignores the precision given to an initializer itself: a
//! layer's config is the only place a per-layer weight type is honoured.

use prost::Message;
use tract_onnx::pb;
use zest_fixed::FixedType;

use crate::design::{HlsConfig, IoType, Strategy};
use crate::network::fixed::Precisions;
use crate::network::Mlp;

/// hls4ml's spelling of a type (`fixed<8,2>`, `ufixed<8,4>`, with the
/// modes when they are not the defaults).
pub fn hls4ml_type(t: &FixedType) -> String {
    let base = if t.signed { "fixed" } else { "ufixed" };
    let modes = match (t.quant, t.overflow) {
        (zest_fixed::Quant::Trn, zest_fixed::Overflow::Wrap) => String::new(),
        (q, o) => format!(
            ",{},{}",
            if q == zest_fixed::Quant::Rnd {
                "RND"
            } else {
                "TRN"
            },
            if o == zest_fixed::Overflow::Sat {
                "SAT"
            } else {
                "WRAP"
            }
        ),
    };
    format!("{base}<{},{}{modes}>", t.width, t.int)
}

fn shape(name: &str, dims: &[Option<usize>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            denotation: String::new(),
                            value: Some(match d {
                                Some(n) => Value::DimValue(*n as i64),
                                None => Value::DimParam("N".into()),
                            }),
                        })
                        .collect(),
                }),
            })),
        }),
        doc_string: String::new(),
    }
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: 1,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn node(name: &str, op: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// The network as ONNX bytes (see the module's graph). Deterministic: the
/// same network gives the same bytes.
pub fn onnx_bytes(net: &Mlp) -> Vec<u8> {
    let mut g = pb::GraphProto {
        name: "zest".into(),
        ..Default::default()
    };
    let n0 = net.layers.first().map_or(0, |l| l.n_in);
    g.input.push(shape("x", &[None, Some(n0)]));
    let last = net.layers.len().saturating_sub(1);
    let mut x = "x".to_string();
    for (k, l) in net.layers.iter().enumerate() {
        let (w, b) = (format!("w{k}"), format!("b{k}"));
        let weight: Vec<f32> = l
            .weight
            .iter()
            .zip(&l.mask)
            .map(|(w, m)| if *m { *w } else { 0.0 })
            .collect();
        g.initializer.push(tensor(&w, &[l.n_in, l.n_out], &weight));
        g.initializer.push(tensor(&b, &[l.n_out], &l.bias));
        g.value_info.push(shape(&w, &[Some(l.n_in), Some(l.n_out)]));
        g.value_info.push(shape(&b, &[Some(l.n_out)]));
        let (mm, add) = (format!("fc{k}_out"), format!("bias{k}_out"));
        let add = if k == last { "y".to_string() } else { add };
        g.node
            .push(node(&format!("fc{k}"), "MatMul", &[&x, &w], &mm));
        g.node
            .push(node(&format!("bias{k}"), "Add", &[&mm, &b], &add));
        g.value_info.push(shape(&mm, &[None, Some(l.n_out)]));
        if k == last {
            g.output.push(shape(&add, &[None, Some(l.n_out)]));
            x = add;
        } else {
            g.value_info.push(shape(&add, &[None, Some(l.n_out)]));
            let r = format!("relu{k}_out");
            g.node.push(node(&format!("relu{k}"), "Relu", &[&add], &r));
            g.value_info.push(shape(&r, &[None, Some(l.n_out)]));
            x = r;
        }
    }
    let m = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "zest".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(g),
        ..Default::default()
    };
    m.encode_to_vec()
}

/// The hls4ml backend an exported configuration names: `Vivado` where
/// `cfg` asks for Vivado HLS, else `Vitis` (the tool hls4ml recommends,
/// and the one [`crate::network::Mlp::design`] estimates when `cfg` names
/// none).
pub fn backend(cfg: &HlsConfig) -> &'static str {
    let tool = cfg.tool.as_deref().map(zest_features::Tool::from_name);
    if tool == Some(zest_features::Tool::VivadoHls) {
        "Vivado"
    } else {
        "Vitis"
    }
}

/// `hls4ml_config.yml` for the network written to `onnx_file` (a path
/// relative to where hls4ml runs, or absolute), built into `output_dir`.
pub fn hls4ml_config(
    net: &Mlp,
    p: &Precisions,
    cfg: &HlsConfig,
    onnx_file: &str,
    output_dir: &str,
) -> String {
    let strategy = match cfg.strategy {
        Strategy::Latency => "Latency",
        Strategy::Resource => "Resource",
    };
    let io = match cfg.io_type {
        IoType::IoParallel => "io_parallel",
        IoType::IoStream => "io_stream",
    };
    let mut y = format!(
        "# Written by zest: hls4ml.converters.convert_from_config('hls4ml_config.yml')\n\
         OnnxModel: {onnx_file}\n\
         OutputDir: {output_dir}\n\
         ProjectName: myproject\n\
         Backend: {}\n\
         Part: {}\n\
         ClockPeriod: {}\n\
         IOType: {io}\n\
         HLSConfig:\n  Model:\n    Precision:\n      default: {}\n    ReuseFactor: {}\n    Strategy: {strategy}\n\
         \x20 LayerName:\n    x:\n      Precision:\n        result: {}\n",
        backend(cfg),
        cfg.part,
        cfg.clock_ns,
        hls4ml_type(&p.input),
        cfg.reuse_factor,
        hls4ml_type(&p.input),
    );
    let last = net.layers.len().saturating_sub(1);
    for (k, (w, b, r)) in p.layers.iter().enumerate().take(net.layers.len()) {
        y += &format!(
            "    fc{k}:\n      Precision:\n        weight: {}\n        bias: {}\n        accum: auto\n        result: auto\n      ReuseFactor: {}\n",
            hls4ml_type(w),
            hls4ml_type(b),
            cfg.reuse_factor
        );
        if k < last {
            y += &format!(
                "    relu{k}:\n      Precision:\n        result: {}\n",
                hls4ml_type(r)
            );
        }
    }
    y
}

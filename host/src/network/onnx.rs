//! A user's trained network from ONNX, weights included: the [`Mlp`] that
//! `zest optimize` starts from.
//!
//! # Accepted graphs
//!
//! ```text
//! [Flatten|Reshape]  (Gemm | MatMul [Add bias])  Relu  ...  (Gemm | MatMul [Add])  [Softmax|Sigmoid]
//! ```
//!
//! Weights and biases are float initializers (`float_data` or raw
//! little-endian). Gemm honours `transB`, `alpha` and `beta` (`transA`
//! must be 0). Every hidden Dense layer must be followed by a ReLU; a
//! trailing Softmax or Sigmoid is dropped, since it does not change the
//! arg-max class (the exported design ends at the last Dense layer, as
//! zest's fixed-point inference does). A weight that is exactly zero is
//! taken as pruned (its mask is cleared), as hls4ml counts `n_zeros`.
//! Errors name the node.

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb;

use crate::input::onnx::{attr, attr_int, input_shape, OnnxError};
use crate::network::{DenseLayer, Mlp};

fn floats(t: &pb::TensorProto) -> Option<Vec<f32>> {
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    if t.data_type != 1 || t.raw_data.len() % 4 != 0 {
        return None;
    }
    Some(
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn attr_float(n: &pb::NodeProto, name: &str) -> Option<f32> {
    attr(n, name).map(|a| a.f)
}

/// Reads the Dense/ReLU chain of an ONNX model with its weights.
pub fn mlp_from_onnx(bytes: &[u8]) -> Result<Mlp, OnnxError> {
    let model = pb::ModelProto::decode(bytes).map_err(|e| OnnxError::NotOnnx(e.to_string()))?;
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::NotOnnx("no graph".into()))?;
    let init: HashMap<&str, &pb::TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut width = input_shape(g, &init)
        .map(|s| s.iter().product::<u32>() as usize)
        .ok_or_else(|| OnnxError::NotOnnx("graph input has no fixed shape".into()))?;
    let mut layers: Vec<DenseLayer> = Vec::new();
    // Whether the last Dense layer has had its ReLU; whether the chain ended.
    let mut activated = true;
    let mut ended: Option<String> = None;
    for n in &g.node {
        let name = if n.name.is_empty() {
            n.output.first().cloned().unwrap_or_default()
        } else {
            n.name.clone()
        };
        let bad = |why: String| OnnxError::BadNode {
            name: name.clone(),
            why,
        };
        let tensor = |i: usize| n.input.get(i).and_then(|w| init.get(w.as_str())).copied();
        let op = n.op_type.as_str();
        if let Some(after) = &ended {
            return Err(bad(format!(
                "{op} after the final {after}: zest takes a Dense/ReLU chain that ends there"
            )));
        }
        match op {
            "Flatten" | "Reshape" if layers.is_empty() => {}
            "Gemm" | "MatMul" => {
                if !activated {
                    return Err(bad(format!(
                        "two Dense layers with no ReLU between them (after {:?}): zest optimises ReLU MLPs",
                        layers.len() - 1
                    )));
                }
                let w = tensor(1).ok_or_else(|| bad("the weights are not an initializer".into()))?;
                if w.dims.len() != 2 {
                    return Err(bad(format!("weights of shape {:?}, not 2-D", w.dims)));
                }
                if op == "Gemm" && attr_int(n, "transA").unwrap_or(0) != 0 {
                    return Err(bad("Gemm with transA = 1 is not a Dense layer".into()));
                }
                let trans = op == "Gemm" && attr_int(n, "transB") == Some(1);
                let (d0, d1) = (w.dims[0] as usize, w.dims[1] as usize);
                let (n_in, n_out) = if trans { (d1, d0) } else { (d0, d1) };
                if n_in != width {
                    return Err(bad(format!(
                        "expects {n_in} inputs, the previous layer gives {width}"
                    )));
                }
                let vals = floats(w)
                    .filter(|v| v.len() == n_in * n_out)
                    .ok_or_else(|| bad("weights are not float32 data of their shape".into()))?;
                let alpha = if op == "Gemm" { attr_float(n, "alpha").unwrap_or(1.0) } else { 1.0 };
                let mut weight = vec![0f32; n_in * n_out];
                for i in 0..n_in {
                    for o in 0..n_out {
                        let v = if trans { vals[o * n_in + i] } else { vals[i * n_out + o] };
                        weight[i * n_out + o] = alpha * v;
                    }
                }
                let mut bias = vec![0f32; n_out];
                if op == "Gemm" {
                    if let Some(c) = tensor(2) {
                        let beta = attr_float(n, "beta").unwrap_or(1.0);
                        let c = floats(c)
                            .filter(|v| v.len() == n_out || v.len() == 1)
                            .ok_or_else(|| bad(format!("bias is not {n_out} float32 values")))?;
                        for (o, b) in bias.iter_mut().enumerate() {
                            *b = beta * c[if c.len() == 1 { 0 } else { o }];
                        }
                    }
                }
                layers.push(DenseLayer {
                    n_in,
                    n_out,
                    mask: weight.iter().map(|w| *w != 0.0).collect(),
                    weight,
                    bias,
                });
                width = n_out;
                activated = false;
            }
            "Add" if !activated && layers.last().is_some() => {
                let c = (0..n.input.len())
                    .find_map(tensor)
                    .ok_or_else(|| bad("an Add with no constant operand is not a bias".into()))?;
                let Some(last) = layers.last_mut() else { continue };
                let c = floats(c)
                    .filter(|v| v.len() == last.n_out)
                    .ok_or_else(|| bad(format!("bias is not {} float32 values", last.n_out)))?;
                last.bias.iter_mut().zip(&c).for_each(|(b, v)| *b += v);
            }
            "Relu" if !activated => activated = true,
            "Softmax" | "Sigmoid" | "LogSoftmax" if !activated => ended = Some(op.to_string()),
            "Sigmoid" | "Tanh" | "Softmax" | "LeakyRelu" | "Elu" => {
                return Err(bad(format!(
                    "{op} after a hidden layer: zest optimises ReLU MLPs (only a final Softmax or Sigmoid, which leaves the class unchanged)"
                )))
            }
            other => {
                return Err(OnnxError::Unsupported {
                    name,
                    op: other.to_string(),
                })
            }
        }
    }
    if layers.is_empty() {
        return Err(OnnxError::NotOnnx("no Dense (Gemm or MatMul) layer".into()));
    }
    if activated && ended.is_none() {
        return Err(OnnxError::BadNode {
            name: "output".into(),
            why: "the graph ends in a ReLU: zest takes the last Dense layer's outputs as class scores".into(),
        });
    }
    Ok(Mlp { layers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::export::onnx_bytes;

    fn net() -> Mlp {
        Mlp {
            layers: vec![
                DenseLayer {
                    n_in: 3,
                    n_out: 2,
                    weight: vec![0.5, 0.0, -1.25, 2.0, 0.125, -0.75],
                    bias: vec![0.1, -0.2],
                    mask: vec![true, false, true, true, true, true],
                },
                DenseLayer {
                    n_in: 2,
                    n_out: 2,
                    weight: vec![1.0, -1.0, 0.5, 0.25],
                    bias: vec![0.0, 0.3],
                    mask: vec![true; 4],
                },
            ],
        }
    }

    #[test]
    fn zests_own_export_reads_back_as_the_same_network() {
        let n = net();
        assert_eq!(mlp_from_onnx(&onnx_bytes(&n)).unwrap(), n);
    }

    #[test]
    fn a_gemm_with_transposed_weights_alpha_and_beta() {
        let n = net();
        let mut m = pb::ModelProto::decode(onnx_bytes(&n).as_slice()).unwrap();
        let g = m.graph.as_mut().unwrap();
        // Turn the first MatMul + Add into one Gemm(transB=1, alpha=2, beta=0.5)
        // with weights stored [out][in] at half value and biases doubled.
        let l = &n.layers[0];
        let mut wt = [0f32; 6];
        for i in 0..3 {
            for o in 0..2 {
                wt[o * 3 + i] = l.weight[i * 2 + o] / 2.0;
            }
        }
        let first = g.node.iter().position(|x| x.op_type == "MatMul").unwrap();
        let add = g.node.remove(first + 1);
        let w_name = g.node[first].input[1].clone();
        let b_name = add
            .input
            .iter()
            .find(|i| g.initializer.iter().any(|t| &t.name == *i))
            .unwrap()
            .clone();
        for t in &mut g.initializer {
            if t.name == w_name {
                t.dims = vec![2, 3];
                t.float_data.clear();
                t.raw_data = wt.iter().flat_map(|v| v.to_le_bytes()).collect();
                t.data_type = 1;
            }
            if t.name == b_name {
                t.float_data.clear();
                t.raw_data = l
                    .bias
                    .iter()
                    .flat_map(|v| (v * 2.0).to_le_bytes())
                    .collect();
                t.data_type = 1;
            }
        }
        let node = &mut g.node[first];
        node.op_type = "Gemm".into();
        node.input.push(b_name);
        node.output = add.output.clone();
        let f = |name: &str, v: f32| pb::AttributeProto {
            name: name.into(),
            f: v,
            r#type: 1,
            ..Default::default()
        };
        node.attribute = vec![
            pb::AttributeProto {
                name: "transB".into(),
                i: 1,
                r#type: 2,
                ..Default::default()
            },
            f("alpha", 2.0),
            f("beta", 0.5),
        ];
        let got = mlp_from_onnx(&m.encode_to_vec()).unwrap();
        assert_eq!(got, n);
    }

    #[test]
    fn unsupported_graphs_are_named() {
        let n = net();
        let mut m = pb::ModelProto::decode(onnx_bytes(&n).as_slice()).unwrap();
        let relu = m
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .position(|x| x.op_type == "Relu")
            .unwrap();
        m.graph.as_mut().unwrap().node[relu].op_type = "Tanh".into();
        let e = mlp_from_onnx(&m.encode_to_vec()).unwrap_err().to_string();
        assert!(e.contains("Tanh after a hidden layer"), "{e}");
        m.graph.as_mut().unwrap().node[relu].op_type = "Conv".into();
        let e = mlp_from_onnx(&m.encode_to_vec()).unwrap_err();
        assert!(
            matches!(e, OnnxError::Unsupported { ref op, .. } if op == "Conv"),
            "{e}"
        );
        // A shape mismatch: the second layer's weights 3 × 2.
        let mut m = pb::ModelProto::decode(onnx_bytes(&n).as_slice()).unwrap();
        let g = m.graph.as_mut().unwrap();
        let w2 = g
            .node
            .iter()
            .filter(|x| x.op_type == "MatMul")
            .nth(1)
            .unwrap()
            .input[1]
            .clone();
        for t in &mut g.initializer {
            if t.name == w2 {
                t.dims = vec![3, 2];
                t.float_data = vec![0.5; 6];
                t.raw_data.clear();
            }
        }
        let e = mlp_from_onnx(&m.encode_to_vec()).unwrap_err().to_string();
        assert!(
            e.contains("expects 3 inputs, the previous layer gives 2"),
            "{e}"
        );
        assert!(mlp_from_onnx(b"not onnx").is_err());
    }
}

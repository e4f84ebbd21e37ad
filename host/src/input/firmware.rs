//! The firmware hls4ml writes, read back into layers: `firmware/parameters.h`
//! (one config struct per layer), `firmware/defines.h` (the typedefs and the
//! size macros) and `firmware/myproject.cpp` (the `nnet::` calls in order;
//! or a `LAYER_SEQUENCE.txt` with one `func <types>` call per line, the
//! stand-in the `hls4ml-projects` collection keeps where the `.cpp` was not
//! copied).
//!
//! ```text
//! parameters.h                             defines.h
//! // fc1                      ← layer name  #define N_FILT_4 16
//! struct config2 : nnet::dense_config {     typedef ap_fixed<16,6> model_default_t;
//!     static const unsigned n_in = 16;      typedef ap_fixed<16,6> layer2_t;
//!     static const unsigned n_zeros = 0;
//!     typedef model_default_t weight_t;     myproject.cpp
//! };                                        nnet::dense<input_t, layer2_t, config2>(…);
//! ```
//!
//! A struct's values are C++ constant expressions: integers, the struct's
//! own fields, the `#define`s of defines.h, `+ - * /`, parentheses and
//! `DIV_ROUNDUP`; a value is evaluated only when a layer needs it, so an
//! expression zest cannot evaluate (a ternary, a `pixels[]` table) costs
//! nothing unless asked for, and then names its struct and field.
//!
//! The call decides the layer kind (`dense`, `conv_2d_cl`, `pooling1d_cl`,
//! `relu`, …); hls4ml's modified forks' `*_me` kernels and kinds the token
//! schema cannot hold yet (zero padding, resizing, recurrent stacks) are
//! refused by name, never approximated.

use std::collections::{BTreeMap, HashMap};

use crate::design::{Activation, IoType, Layer, LayerKind, Precision, Strategy};

/// Why firmware could not become layers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FirmwareError {
    /// A call to a kernel from a modified hls4ml (`*_me`).
    #[error("{0}: a custom kernel from a modified hls4ml, not hls4ml's own")]
    CustomKernel(String),
    /// A layer kind the token schema cannot hold yet.
    #[error("{0}: a layer kind zest's token schema cannot hold yet")]
    Unsupported(String),
    /// The top function calls no layer, or a config parameters.h lacks.
    #[error("{0}")]
    Calls(String),
    /// Something is missing or cannot be read.
    #[error("{0}")]
    Malformed(String),
}

/// One `nnet::` call of the top function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Kernel name (`dense`, `conv_2d_cl`, `relu`, …).
    pub func: String,
    /// Template arguments: input type, output type(s), config (last).
    pub args: Vec<String>,
}

/// One `struct NAME : nnet::BASE { … };` of parameters.h.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigStruct {
    /// Struct name (`config2`, `relu_config4`).
    pub name: String,
    /// Base (`dense_config`), if any.
    pub base: Option<String>,
    /// The layer's name: the comment line above the struct.
    pub layer: Option<String>,
    /// `static const … NAME = EXPR;`, unevaluated.
    pub values: HashMap<String, String>,
    /// `typedef TYPE NAME;` inside the struct.
    pub typedefs: HashMap<String, String>,
}

/// What a project's firmware says.
#[derive(Debug, Clone, Default)]
pub struct Firmware {
    /// The calls, in order (weight loading left out).
    pub calls: Vec<Call>,
    /// Config structs by name.
    pub configs: BTreeMap<String, ConfigStruct>,
    /// Typedefs of defines.h (and parameters.h), name → type.
    pub types: HashMap<String, String>,
    /// `#define NAME VALUE` of defines.h.
    pub macros: HashMap<String, String>,
}

/// The layers firmware describes, with what hls4ml set model-wide.
#[derive(Debug, Clone)]
pub struct Network {
    /// Layers in order.
    pub layers: Vec<Layer>,
    /// Each layer's config struct (for matching per-module reports).
    pub configs: Vec<Option<String>>,
    /// Strategy of the weighted layers (the last one's).
    pub strategy: Strategy,
    /// IO type the configs name, if any does.
    pub io_type: Option<IoType>,
    /// `input_t`.
    pub input: Precision,
}

/// Strips `//` and `/* */` comments, keeping the `//` line comments that
/// stand alone on a line (parameters.h names each layer that way) as
/// `@name` markers.
fn lines_with_markers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for raw in text.lines() {
        let mut line = String::new();
        let mut rest = raw;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(i) => {
                        rest = &rest[i + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let lc = rest.find("//");
                let bc = rest.find("/*");
                match (lc, bc) {
                    (Some(l), b) if b.is_none_or(|b| l < b) => {
                        if line.trim().is_empty() && rest[..l].trim().is_empty() {
                            let c = rest[l + 2..].trim();
                            if !c.is_empty() && !c.starts_with("hls-fpga") {
                                line = format!("@{c}");
                            }
                        } else {
                            line.push_str(&rest[..l]);
                        }
                        break;
                    }
                    (_, Some(b)) => {
                        line.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    _ => {
                        line.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push(line);
    }
    out
}

/// Names to their C++ text: typedefs (`layer2_t` → `ap_fixed<16,6>`) or
/// macros (`N_INPUT_1_1` → `16`).
pub type Names = HashMap<String, String>;

/// Parses parameters.h: every config struct, and the typedefs outside them.
pub fn parse_parameters(text: &str) -> Result<(BTreeMap<String, ConfigStruct>, Names), String> {
    let mut configs = BTreeMap::new();
    let mut types = HashMap::new();
    let mut marker: Option<String> = None;
    let mut current: Option<(ConfigStruct, i32)> = None;
    for (n, line) in lines_with_markers(text).iter().enumerate() {
        let t = line.trim();
        if let Some(m) = t.strip_prefix('@') {
            if current.is_none() {
                marker = Some(m.to_string());
            }
            continue;
        }
        if let Some((s, depth)) = current.as_mut() {
            *depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
            if *depth == 1 {
                if let Some((name, expr)) = static_const(t) {
                    s.values.insert(name, expr);
                } else if let Some((ty, name)) = typedef(t) {
                    s.typedefs.insert(name, ty);
                }
            }
            if *depth <= 0 {
                let (s, _) = current.take().ok_or("unbalanced braces")?;
                configs.insert(s.name.clone(), s);
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix("struct ") {
            let head = rest.split('{').next().unwrap_or(rest);
            let (name, base) = match head.split_once(':') {
                Some((n, b)) => (n.trim(), Some(b.trim())),
                None => (head.trim(), None),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("line {}: a struct without a name", n + 1));
            }
            let s = ConfigStruct {
                name: name.to_string(),
                base: base.map(|b| b.trim_start_matches("nnet::").to_string()),
                layer: marker.clone(),
                ..ConfigStruct::default()
            };
            let depth = t.matches('{').count() as i32 - t.matches('}').count() as i32;
            if t.contains('{') && depth <= 0 {
                configs.insert(s.name.clone(), s);
            } else {
                current = Some((s, depth.max(0)));
            }
            continue;
        }
        if let Some((ty, name)) = typedef(t) {
            types.insert(name, ty);
        }
    }
    if let Some((s, _)) = current {
        return Err(format!("struct {} is not closed (truncated file?)", s.name));
    }
    Ok((configs, types))
}

fn static_const(t: &str) -> Option<(String, String)> {
    let rest = t.strip_prefix("static const ")?;
    let (lhs, rhs) = rest.split_once('=')?;
    let name = lhs.split_whitespace().last()?;
    if name.contains('[') {
        return None;
    }
    Some((
        name.to_string(),
        rhs.trim().trim_end_matches(';').trim().to_string(),
    ))
}

fn typedef(t: &str) -> Option<(String, String)> {
    let rest = t.strip_prefix("typedef ")?.trim_end_matches(';').trim();
    let cut = rest.rfind(|c: char| c.is_whitespace() || c == '>')?;
    let (ty, name) = rest.split_at(cut + 1);
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| (ty.trim().to_string(), name.to_string()))
}

/// Parses defines.h: `#define NAME VALUE` and `typedef TYPE NAME;`.
pub fn parse_defines(text: &str) -> (Names, Names) {
    let mut types = HashMap::new();
    let mut macros = HashMap::new();
    for line in lines_with_markers(text) {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#define ") {
            let mut it = rest.splitn(2, char::is_whitespace);
            if let (Some(k), Some(v)) = (it.next(), it.next()) {
                macros.insert(k.to_string(), v.trim().to_string());
            }
        } else if let Some((ty, name)) = typedef(t) {
            types.insert(name, ty);
        }
    }
    (types, macros)
}

/// The `nnet::` calls of myproject.cpp, or the lines of a LAYER_SEQUENCE.txt
/// (`func <args>`), in order; weight loading is left out.
pub fn parse_calls(text: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let body = |l: &&str| !l.trim_start().starts_with('#');
    let sequence = !text.lines().filter(body).any(|l| l.contains("nnet::"));
    for line in lines_with_markers(text) {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = line.as_str();
        loop {
            let at = if sequence {
                if line.starts_with('@') || line.trim().is_empty() {
                    break;
                }
                Some(0)
            } else {
                rest.find("nnet::").map(|i| i + "nnet::".len())
            };
            let Some(at) = at else { break };
            rest = &rest[at..];
            let name_end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let func = rest[..name_end].to_string();
            let after = rest[name_end..].trim_start();
            let Some(inner) = after.strip_prefix('<') else {
                rest = &rest[name_end..];
                if sequence {
                    break;
                }
                continue;
            };
            let mut depth = 1;
            let mut end = None;
            for (i, c) in inner.char_indices() {
                match c {
                    '<' => depth += 1,
                    '>' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(end) = end else { break };
            let args = split_args(&inner[..end]);
            if !func.is_empty() && !func.starts_with("load_weights") {
                calls.push(Call { func, args });
            }
            rest = &inner[end + 1..];
            if sequence {
                break;
            }
        }
    }
    calls
}

fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Evaluates a constant expression of a struct's field.
struct Eval<'a> {
    s: &'a ConfigStruct,
    macros: &'a HashMap<String, String>,
    depth: u32,
}

impl Eval<'_> {
    fn field(&self, name: &str) -> Result<i64, String> {
        let expr = self
            .s
            .values
            .get(name)
            .ok_or_else(|| format!("struct {}: no field {name}", self.s.name))?;
        self.expr(expr)
            .map_err(|e| format!("struct {}: {name} = {expr}: {e}", self.s.name))
    }

    fn expr(&self, src: &str) -> Result<i64, String> {
        if self.depth > 16 {
            return Err("definitions nest too deep".into());
        }
        let toks = tokens(src)?;
        let mut p = Parser {
            toks: &toks,
            at: 0,
            ev: self,
        };
        let v = p.sum()?;
        if p.at != toks.len() {
            return Err(format!("cannot evaluate {src:?}"));
        }
        Ok(v)
    }

    fn ident(&self, name: &str) -> Result<i64, String> {
        let inner = Eval {
            s: self.s,
            macros: self.macros,
            depth: self.depth + 1,
        };
        if let Some(e) = self.s.values.get(name) {
            return inner.expr(e);
        }
        if let Some(e) = self.macros.get(name) {
            return inner.expr(e);
        }
        if let Some(v) = name.strip_prefix("nnet::") {
            return match v {
                "io_parallel" | "latency" => Ok(0),
                "io_stream" | "resource" => Ok(1),
                _ => Err(format!("unknown constant {name}")),
            };
        }
        Err(format!("unknown name {name}"))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(i64),
    Id(String),
    Op(char),
}

fn tokens(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let t = src[start..i].trim_end_matches(['u', 'U', 'l', 'L']);
            out.push(Tok::Num(
                t.parse().map_err(|_| format!("bad number {t:?}"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && ((b[i] as char).is_alphanumeric() || b[i] == b'_' || b[i] == b':')
            {
                i += 1;
            }
            out.push(Tok::Id(src[start..i].to_string()));
        } else if "+-*/(),".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else {
            return Err(format!("cannot evaluate {src:?}"));
        }
    }
    Ok(out)
}

struct Parser<'t, 'e> {
    toks: &'t [Tok],
    at: usize,
    ev: &'e Eval<'e>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Op(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn sum(&mut self) -> Result<i64, String> {
        let mut v = self.product()?;
        loop {
            if self.eat('+') {
                v = v.checked_add(self.product()?).ok_or("overflow")?;
            } else if self.eat('-') {
                v = v.checked_sub(self.product()?).ok_or("overflow")?;
            } else {
                return Ok(v);
            }
        }
    }
    fn product(&mut self) -> Result<i64, String> {
        let mut v = self.atom()?;
        loop {
            if self.eat('*') {
                v = v.checked_mul(self.atom()?).ok_or("overflow")?;
            } else if self.eat('/') {
                let d = self.atom()?;
                v = v.checked_div(d).ok_or("division by zero")?;
            } else {
                return Ok(v);
            }
        }
    }
    fn atom(&mut self) -> Result<i64, String> {
        match self.toks.get(self.at).cloned() {
            Some(Tok::Num(n)) => {
                self.at += 1;
                Ok(n)
            }
            Some(Tok::Op('(')) => {
                self.at += 1;
                let v = self.sum()?;
                if !self.eat(')') {
                    return Err("missing )".into());
                }
                Ok(v)
            }
            Some(Tok::Op('-')) => {
                self.at += 1;
                Ok(-self.atom()?)
            }
            Some(Tok::Id(name)) => {
                self.at += 1;
                if name == "DIV_ROUNDUP" && self.eat('(') {
                    let a = self.sum()?;
                    if !self.eat(',') {
                        return Err("DIV_ROUNDUP needs two arguments".into());
                    }
                    let b = self.sum()?;
                    if !self.eat(')') || b == 0 {
                        return Err("bad DIV_ROUNDUP".into());
                    }
                    return Ok((a + b - 1) / b);
                }
                self.ev.ident(&name)
            }
            _ => Err("unexpected end of expression".into()),
        }
    }
}

/// What a call computes, by its kernel name.
enum Kind {
    Dense,
    Conv { dims: u8, depthwise: bool },
    Separable { dims: u8 },
    Pool { dims: u8, global: bool },
    Act(Activation),
    Linear,
    BatchNorm,
}

fn kind_of(call: &Call) -> Result<Kind, FirmwareError> {
    let f = call.func.as_str();
    if f.ends_with("_me") {
        return Err(FirmwareError::CustomKernel(f.to_string()));
    }
    let dims = if f.contains("1d") { 1 } else { 2 };
    Ok(match f {
        _ if f.starts_with("dense") => Kind::Dense,
        _ if f.starts_with("separable_conv") => Kind::Separable { dims },
        _ if f.starts_with("depthwise_conv") => Kind::Conv {
            dims,
            depthwise: true,
        },
        _ if f.starts_with("conv_") || f.starts_with("pointwise_conv") => Kind::Conv {
            dims,
            depthwise: false,
        },
        _ if f.starts_with("global_pooling") => Kind::Pool { dims, global: true },
        _ if f.starts_with("pooling") => Kind::Pool {
            dims,
            global: false,
        },
        "normalize" => Kind::BatchNorm,
        "linear" => Kind::Linear,
        // HGQ's fixed-point quantizers: a cast, as `linear` is.
        _ if call.args.len() == 2 && (f.ends_with("quantizer") || f.contains("quantize_")) => {
            Kind::Linear
        }
        "relu" | "leaky_relu" | "prelu" | "elu" | "tanh" | "sigmoid" | "softmax"
        | "hard_sigmoid" | "relu6" | "selu" | "softplus" | "softsign" | "hard_tanh" => {
            Kind::Act(Activation::from_name(match f {
                "relu6" => "relu",
                "hard_tanh" => "tanh",
                other => other,
            }))
        }
        _ => return Err(FirmwareError::Unsupported(f.to_string())),
    })
}

fn u32_of(v: i64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} = {v} is not a size"))
}

impl Firmware {
    /// A precision by type name (`layer2_t`, `model_default_t`) or written
    /// out (`ap_fixed<16,6>`).
    pub fn precision(&self, name: &str) -> Result<Precision, String> {
        let mut t = name.trim();
        for _ in 0..8 {
            // io_stream packs values as `nnet::array<ap_fixed<…>, N>`.
            if let Some(inner) = t.strip_prefix("nnet::array<") {
                t = inner.rsplit_once(',').map_or(inner, |(e, _)| e).trim();
            }
            match self.types.get(t) {
                Some(next) => t = next.trim(),
                None => break,
            }
        }
        t.parse().map_err(|e| format!("type {name} ({t}): {e}"))
    }

    fn config(&self, call: &Call) -> Result<&ConfigStruct, FirmwareError> {
        let name = call.args.last().ok_or_else(|| {
            FirmwareError::Malformed(format!("nnet::{} has no template arguments", call.func))
        })?;
        self.configs.get(name).ok_or_else(|| {
            FirmwareError::Calls(format!(
                "calls nnet::{}<…, {name}> but parameters.h defines no {name}",
                call.func
            ))
        })
    }

    /// The layers, in order.
    pub fn network(&self) -> Result<Network, FirmwareError> {
        let bad = FirmwareError::Malformed;
        let mut layers: Vec<Layer> = Vec::new();
        let mut configs = Vec::new();
        let mut strategy = None;
        let mut io_type = None;
        for (i, call) in self.calls.iter().enumerate() {
            let kind = kind_of(call)?;
            let last = i + 1 == self.calls.len();
            let prev = layers.last().map(|l| l.output_shape.clone());
            // `f<in_t, out_t, config>`; hls4ml 0.x pooling writes
            // `f<in_t, config>` (output type = input type), HGQ quantizers
            // `f<in_t, out_t>`.
            let ends_in_config = call
                .args
                .last()
                .is_some_and(|a| self.configs.contains_key(a));
            let out_t = match call.args.len() {
                n if n >= 3 => call.args[n - 2].clone(),
                2 if ends_in_config => call.args[0].clone(),
                _ => call.args.last().cloned().unwrap_or_default(),
            };
            let result = self.precision(&out_t).map(Some).map_err(bad)?;
            let (cfg, ev) = if matches!(kind, Kind::Linear) && call.args.len() == 2 {
                (None, None)
            } else {
                let c = self.config(call)?;
                (Some(c), Some(c))
            };
            let ev = ev.map(|s| Eval {
                s,
                macros: &self.macros,
                depth: 0,
            });
            let get = |k: &str| -> Result<u32, FirmwareError> {
                let e = ev
                    .as_ref()
                    .ok_or_else(|| bad(format!("nnet::{}: no config", call.func)))?;
                e.field(k).and_then(|v| u32_of(v, k)).map_err(bad)
            };
            let opt = |k: &str| -> Option<u32> {
                ev.as_ref()
                    .filter(|e| e.s.values.contains_key(k))
                    .and_then(|_| get(k).ok())
            };
            let typed = |k: &str| -> Result<Option<Precision>, FirmwareError> {
                match cfg.and_then(|c| c.typedefs.get(k)) {
                    Some(t) => self.precision(t).map(Some).map_err(bad),
                    None => Ok(None),
                }
            };
            let elementwise = |n: u32| -> Vec<u32> {
                match &prev {
                    Some(p) if p.iter().map(|&d| u64::from(d)).product::<u64>() == u64::from(n) => {
                        p.clone()
                    }
                    _ => vec![n],
                }
            };
            let name = cfg
                .and_then(|c| c.layer.clone())
                .or_else(|| cfg.map(|c| c.name.clone()))
                .unwrap_or_else(|| call.func.clone());
            let mut sub: Option<&ConfigStruct> = None;
            let mut layer = match kind {
                Kind::Dense => {
                    let mut l = Layer::new(
                        &name,
                        LayerKind::Dense,
                        Activation::Linear,
                        vec![get("n_in")?],
                        vec![get("n_out")?],
                    );
                    l.weight = typed("weight_t")?;
                    l.accum = typed("accum_t")?;
                    l
                }
                Kind::Conv { dims, depthwise } => {
                    let (inp, out) = if dims == 1 {
                        (
                            vec![get("in_width")?, get("n_chan")?],
                            vec![get("out_width")?, get("n_filt")?],
                        )
                    } else {
                        (
                            vec![get("in_height")?, get("in_width")?, get("n_chan")?],
                            vec![get("out_height")?, get("out_width")?, get("n_filt")?],
                        )
                    };
                    let k = match (dims, depthwise) {
                        (1, false) => LayerKind::Conv1D,
                        (_, false) => LayerKind::Conv2D,
                        (1, true) => LayerKind::DepthwiseConv1D,
                        (_, true) => LayerKind::DepthwiseConv2D,
                    };
                    let mut l = Layer::new(&name, k, Activation::Linear, inp, out.clone());
                    l.filters = out.last().copied();
                    let (fk, sk) = if dims == 1 {
                        ("filt_width", "stride_width")
                    } else {
                        ("filt_height", "stride_height")
                    };
                    l.kernel = Some(get(fk)?);
                    l.stride = Some(opt(sk).unwrap_or(1));
                    l.weight = typed("weight_t")?;
                    l.accum = typed("accum_t")?;
                    l
                }
                Kind::Separable { dims } => {
                    let c = cfg.ok_or_else(|| bad("separable: no config".into()))?;
                    let dw = self
                        .configs
                        .get(&format!("{}_depthwise", c.name))
                        .ok_or_else(|| bad(format!("no {}_depthwise", c.name)))?;
                    let pw = self
                        .configs
                        .get(&format!("{}_pointwise", c.name))
                        .ok_or_else(|| bad(format!("no {}_pointwise", c.name)))?;
                    let e = |s: &ConfigStruct, k: &str| -> Result<u32, FirmwareError> {
                        Eval {
                            s,
                            macros: &self.macros,
                            depth: 0,
                        }
                        .field(k)
                        .and_then(|v| u32_of(v, k))
                        .map_err(bad)
                    };
                    let (inp, out, fk, sk) = if dims == 1 {
                        (
                            vec![e(dw, "in_width")?, e(dw, "n_chan")?],
                            vec![e(pw, "out_width")?, e(pw, "n_filt")?],
                            "filt_width",
                            "stride_width",
                        )
                    } else {
                        (
                            vec![e(dw, "in_height")?, e(dw, "in_width")?, e(dw, "n_chan")?],
                            vec![e(pw, "out_height")?, e(pw, "out_width")?, e(pw, "n_filt")?],
                            "filt_height",
                            "stride_height",
                        )
                    };
                    let k = if dims == 1 {
                        LayerKind::SeparableConv1D
                    } else {
                        LayerKind::SeparableConv2D
                    };
                    let mut l = Layer::new(&name, k, Activation::Linear, inp, out.clone());
                    l.filters = out.last().copied();
                    l.kernel = Some(e(dw, fk)?);
                    l.stride = Some(e(dw, sk).unwrap_or(1));
                    let pt = |k: &str| -> Result<Option<Precision>, FirmwareError> {
                        match pw.typedefs.get(k).or_else(|| dw.typedefs.get(k)) {
                            Some(t) => self.precision(t).map(Some).map_err(bad),
                            None => Ok(None),
                        }
                    };
                    l.weight = pt("weight_t")?;
                    l.accum = pt("accum_t")?;
                    sub = Some(dw);
                    l
                }
                Kind::Pool { dims, global } => {
                    let op = cfg
                        .and_then(|c| c.values.get("pool_op"))
                        .map(String::as_str)
                        .unwrap_or("nnet::Max");
                    let k = if op.contains("Average") {
                        LayerKind::AveragePooling
                    } else {
                        LayerKind::MaxPooling
                    };
                    let mut l = if global {
                        let (n, c) = if dims == 1 {
                            (get("n_in")?, get("n_filt")?)
                        } else {
                            (get("in_height")? * get("in_width")?, get("n_filt")?)
                        };
                        let mut l =
                            Layer::new(&name, k, Activation::Linear, vec![n, c], vec![1, c]);
                        l.kernel = Some(n);
                        l.stride = Some(n);
                        l
                    } else if dims == 1 {
                        let mut l = Layer::new(
                            &name,
                            k,
                            Activation::Linear,
                            vec![get("n_in")?, get("n_filt")?],
                            vec![get("n_out")?, get("n_filt")?],
                        );
                        l.kernel = Some(get("pool_width")?);
                        l.stride = Some(opt("stride_width").unwrap_or(get("pool_width")?));
                        l
                    } else {
                        let c = get("n_filt")?;
                        let mut l = Layer::new(
                            &name,
                            k,
                            Activation::Linear,
                            vec![get("in_height")?, get("in_width")?, c],
                            vec![get("out_height")?, get("out_width")?, c],
                        );
                        l.kernel = Some(get("pool_height")?);
                        l.stride = Some(opt("stride_height").unwrap_or(get("pool_height")?));
                        l
                    };
                    l.accum = typed("accum_t")?;
                    l.reuse_factor = opt("reuse").unwrap_or(1);
                    l
                }
                Kind::BatchNorm => {
                    let shape = elementwise(get("n_in")?);
                    let mut l = Layer::new(
                        &name,
                        LayerKind::BatchNorm,
                        Activation::Linear,
                        shape.clone(),
                        shape,
                    );
                    l.weight = typed("scale_t")?.or(typed("weight_t")?);
                    l
                }
                Kind::Act(a) => {
                    let shape = elementwise(get("n_in")?);
                    Layer::new(&name, LayerKind::Activation, a, shape.clone(), shape)
                }
                Kind::Linear => {
                    // A quantizer first in line has no size of its own:
                    // it takes the next layer's input shape (below).
                    let shape = match opt("n_in") {
                        Some(n) => elementwise(n),
                        None => prev.clone().unwrap_or_default(),
                    };
                    Layer::new(
                        &name,
                        LayerKind::Activation,
                        Activation::Linear,
                        shape.clone(),
                        shape,
                    )
                }
            };
            layer.result = if last {
                self.precision("result_t").ok().or(result)
            } else {
                result
            };
            let rf_src = sub.or(cfg);
            if let Some(s) = rf_src {
                let e = Eval {
                    s,
                    macros: &self.macros,
                    depth: 0,
                };
                if s.values.contains_key("reuse_factor") {
                    layer.reuse_factor = e
                        .field("reuse_factor")
                        .and_then(|v| u32_of(v, "reuse_factor"))
                        .map_err(bad)?
                        .max(1);
                }
                if layer.kind.has_weights() && s.values.contains_key("n_zeros") {
                    layer.zero_weights = Some(
                        e.field("n_zeros")
                            .and_then(|v| u32_of(v, "n_zeros"))
                            .map_err(bad)?,
                    );
                }
                if layer.kind.has_weights() {
                    if let Some(v) = s.values.get("strategy") {
                        strategy = Some(v.parse::<Strategy>().map_err(bad)?);
                    } else if call.func.contains("large") {
                        strategy = Some(Strategy::Resource);
                    }
                }
                if let Some(v) = s.values.get("io_type") {
                    io_type.get_or_insert(v.parse::<IoType>().map_err(bad)?);
                }
            }
            configs.push(cfg.map(|c| c.name.clone()));
            layers.push(layer);
        }
        if layers.is_empty() {
            return Err(FirmwareError::Calls("calls no nnet:: layer".into()));
        }
        for i in (0..layers.len()).rev() {
            if layers[i].input_shape.is_empty() {
                let next = layers.get(i + 1).map(|l| l.input_shape.clone());
                let shape = next.filter(|s| !s.is_empty()).ok_or_else(|| {
                    bad(format!(
                        "{}: a cast with no size and nothing after it",
                        layers[i].name
                    ))
                })?;
                layers[i].input_shape.clone_from(&shape);
                layers[i].output_shape = shape;
            }
        }
        let input = match self.precision("input_t") {
            Ok(p) => p,
            Err(_) => self
                .calls
                .first()
                .and_then(|c| c.args.first())
                .map(|t| self.precision(t))
                .transpose()
                .map_err(bad)?
                .unwrap_or(Precision::DEFAULT),
        };
        Ok(Network {
            layers,
            configs,
            strategy: strategy.unwrap_or(Strategy::Latency),
            io_type,
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &str = r#"
#include "defines.h"
// hls-fpga-machine-learning insert layer-config
// fc1
struct config2 : nnet::dense_config {
    static const unsigned n_in = N_INPUT_1_1;
    static const unsigned n_out = 8;
    static const unsigned strategy = nnet::latency;
    static const unsigned reuse_factor = 2;
    static const unsigned n_zeros = 30;
    static const unsigned multiplier_limit = DIV_ROUNDUP(n_in * n_out, reuse_factor) - n_zeros / reuse_factor;
    typedef model_default_t accum_t;
    typedef ap_fixed<8,3> weight_t;
    template<class x_T, class y_T>
    using product = nnet::product::mult<x_T, y_T>;
};

// relu1
struct relu_config3 : nnet::activ_config {
    static const unsigned n_in = 8;
    static const unsigned table_size = 1024;
    typedef ap_fixed<18,8> table_t;
};
"#;
    const DEFINES: &str = "#define N_INPUT_1_1 16\ntypedef ap_fixed<16,6> model_default_t;\ntypedef ap_fixed<12,4> input_t;\ntypedef ap_fixed<16,6> layer2_t;\ntypedef ap_fixed<10,4> result_t;\n";
    const CPP: &str = "void myproject(input_t in[16], result_t out[8]) {\n    nnet::dense<input_t, layer2_t, config2>(in, layer2_out, w2, b2); // fc1\n    nnet::relu<layer2_t, result_t, relu_config3>(layer2_out, out); // relu1\n}\n";

    fn firmware(cpp: &str) -> Firmware {
        let (configs, mut types) = parse_parameters(PARAMS).unwrap();
        let (t, macros) = parse_defines(DEFINES);
        types.extend(t);
        Firmware {
            calls: parse_calls(cpp),
            configs,
            types,
            macros,
        }
    }

    #[test]
    fn reads_a_dense_network() {
        let n = firmware(CPP).network().unwrap();
        assert_eq!(n.layers.len(), 2);
        let d = &n.layers[0];
        assert_eq!((d.name.as_str(), d.kind), ("fc1", LayerKind::Dense));
        assert_eq!(
            (d.input_shape.clone(), d.output_shape.clone()),
            (vec![16], vec![8])
        );
        assert_eq!((d.reuse_factor, d.zero_weights), (2, Some(30)));
        assert_eq!(d.weight.unwrap().to_string(), "ap_fixed<8,3>");
        assert_eq!(d.accum.unwrap().to_string(), "ap_fixed<16,6>");
        assert_eq!(n.layers[1].activation, Activation::Relu);
        assert_eq!(n.layers[1].result.unwrap().to_string(), "ap_fixed<10,4>");
        assert_eq!(n.input.to_string(), "ap_fixed<12,4>");
        assert_eq!(
            n.configs,
            vec![Some("config2".into()), Some("relu_config3".into())]
        );
    }

    #[test]
    fn a_layer_sequence_reads_as_the_cpp_does() {
        let seq = "# derived\nload_weights_from_txt <model_default_t, 1024>\ndense <input_t, layer2_t, config2>\nrelu <layer2_t, result_t, relu_config3>\n";
        assert_eq!(parse_calls(seq), parse_calls(CPP));
        assert_eq!(parse_calls(seq).len(), 2);
    }

    #[test]
    fn evaluates_what_it_needs_and_names_what_it_cannot() {
        let f = firmware(CPP);
        let s = &f.configs["config2"];
        let e = Eval {
            s,
            macros: &f.macros,
            depth: 0,
        };
        assert_eq!(e.field("multiplier_limit").unwrap(), 64 - 15);
        let mut odd = s.clone();
        odd.values.insert("n_in".into(), "(n == -1) ? 3 : 4".into());
        let e = Eval {
            s: &odd,
            macros: &f.macros,
            depth: 0,
        };
        let err = e.field("n_in").unwrap_err();
        assert!(err.contains("config2") && err.contains("n_in"), "{err}");
    }

    #[test]
    fn refuses_what_it_cannot_hold_by_name() {
        let cpp = CPP.replace("nnet::relu<", "nnet::zeropad2d_cl<");
        assert_eq!(
            firmware(&cpp).network().unwrap_err(),
            FirmwareError::Unsupported("zeropad2d_cl".into())
        );
        let cpp = CPP.replace("nnet::relu<", "nnet::relu_me<");
        assert!(matches!(
            firmware(&cpp).network().unwrap_err(),
            FirmwareError::CustomKernel(_)
        ));
        let cpp = CPP.replace("relu_config3>", "relu_config9>");
        let e = firmware(&cpp).network().unwrap_err().to_string();
        assert!(e.contains("relu_config9"), "{e}");
        assert!(parse_parameters(&PARAMS[..PARAMS.len() - 10]).is_err());
    }
}

//! `zest hls` and `zest hls-check`: an hls4ml-style HLS C++ project for the
//! fixed-point surrogate, and its C simulation compared with the Rust
//! fixed-point model.
//!
//! The project ([`generate`]):
//!
//! ```text
//! DIR/firmware/zest/*.h            the kernel library (hls/zest, copied)
//! DIR/firmware/parameters.h        types and per-layer configuration structs
//! DIR/firmware/weights/*.h         weights, biases, caps, exp table, token bounds
//! DIR/firmware/zest_top.{h,cpp}    the top function: AXI4-Stream tokens in,
//!                                  AXI-Lite n_layers and six results
//! DIR/tb/tb_zest.cpp               C testbench: vectors in, raw results out
//! DIR/build_prj.tcl                Vitis HLS: csim, csynth, cosim, export IP
//! DIR/zest_regs.h                  register map (from zest_proto::pl)
//! ```
//!
//! The register offsets come from [`zest_proto::pl`], the one place the
//! firmware reads them from too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use zest_fixed::model::{FixedModel, ModelError, Tokens, N_TARGETS};
use zest_fixed::{FixedType, Overflow, Quant};
use zest_proto::pl;

use crate::design::{design_from_layers, HlsConfig};
use crate::design::{Activation, Design, Layer, LayerKind, Precision, Strategy};

/// Multipliers each generated layer gets; its reuse factor follows
/// (`⌈n_in·n_out / MULTIPLIERS_PER_LAYER⌉`). Chosen so that five members of
/// four layers (40 multipliers) fit the xc7z020's 220 DSPs with room to
/// spare, and zest's estimator, extrapolating, agrees (see `zest quantize`).
pub const MULTIPLIERS_PER_LAYER: usize = 2;
/// Clock of the generated project, ns ([`pl::CLOCK_NS`]).
pub const CLOCK_NS: f64 = pl::CLOCK_NS as f64;
/// Clock period the accelerator is estimated at: zest's training records
/// span 3.3–5 ns, none at 10 ns. A design scheduled for 5 ns meets 10 ns
/// and has at least as many pipeline registers, so this errs high.
pub const ESTIMATE_CLOCK_NS: f64 = 5.0;
/// Part of the generated project ([`pl::PART`]).
pub const PART: &str = pl::PART;

const LIB: [(&str, &str); 4] = [
    (
        "zest_common.h",
        include_str!("../../../hls/zest/zest_common.h"),
    ),
    (
        "zest_dense.h",
        include_str!("../../../hls/zest/zest_dense.h"),
    ),
    (
        "zest_activation.h",
        include_str!("../../../hls/zest/zest_activation.h"),
    ),
    (
        "zest_readout.h",
        include_str!("../../../hls/zest/zest_readout.h"),
    ),
];
const TB: &str = include_str!("../../../hls/templates/tb_zest.cpp");
const BUILD_TCL: &str = include_str!("../../../hls/templates/build_prj.tcl");

/// Error of generation or checking.
#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    /// The model does not parse.
    #[error("fixed-point model: {0}")]
    Model(String),
    /// File system.
    #[error("{}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// g++ or the testbench failed.
    #[error("{0}")]
    Tool(String),
    /// A directory is not a project `zest hls` wrote.
    #[error("{0} is not a project written by `zest hls` (no firmware/zest_top.cpp)")]
    NotAProject(PathBuf),
}

impl From<ModelError> for HlsError {
    fn from(e: ModelError) -> Self {
        HlsError::Model(e.to_string())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HlsError + '_ {
    move |source| HlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The C++ spelling of a type.
pub fn cpp_type(t: &FixedType) -> String {
    let q = match t.quant {
        Quant::Trn => "AP_TRN",
        Quant::Rnd => "AP_RND",
    };
    let o = match t.overflow {
        Overflow::Wrap => "AP_WRAP",
        Overflow::Sat => "AP_SAT",
    };
    let name = if t.signed { "ap_fixed" } else { "ap_ufixed" };
    format!("{name}<{},{},{q},{o}>", t.width, t.int)
}

/// The integer type that stores a type's raw bits (see `zest::from_raw`
/// in hls/zest/zest_common.h).
pub fn raw_type(t: &FixedType) -> &'static str {
    match (zest_fixed::model::elem_bytes(t), t.signed) {
        (1, true) => "int8_t",
        (1, false) => "uint8_t",
        (2, true) => "int16_t",
        (2, false) => "uint16_t",
        (4, true) => "int32_t",
        (4, false) => "uint32_t",
        (_, true) => "int64_t",
        (_, false) => "uint64_t",
    }
}

/// Reuse factor of a layer of `n` multiplications.
pub fn reuse_factor(n: usize) -> usize {
    n.div_ceil(MULTIPLIERS_PER_LAYER).max(1)
}

/// A constant array of raw values, stored as `raw_type(t)`.
fn array(out: &mut String, name: &str, t: &FixedType, values: impl Iterator<Item = i64>) {
    let v: Vec<String> = values.map(|r| r.to_string()).collect();
    let _ = writeln!(
        out,
        "// {name}: raw bits of {}\nstatic const {} {name}[{}] = {{",
        cpp_type(t),
        raw_type(t),
        v.len()
    );
    for chunk in v.chunks(8) {
        let _ = writeln!(out, "    {},", chunk.join(", "));
    }
    out.push_str("};\n");
}

/// The generated files, path → contents (paths relative to the project).
pub fn files(model: &FixedModel<'_>, model_id: u64) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = LIB
        .iter()
        .map(|(n, c)| (format!("firmware/zest/{n}"), c.to_string()))
        .collect();
    let h = usize::from(model.hidden);
    let log_t = model.log_type();
    let mut params = String::new();
    let _ = writeln!(
        params,
        "// Generated by `zest hls` from fixed-point model {model_id:016x}.\n// Do not edit: re-run `zest hls`.\n#ifndef ZEST_PARAMETERS_H_\n#define ZEST_PARAMETERS_H_\n\n#include <ap_fixed.h>\n#include <ap_int.h>\n#include <hls_stream.h>\n#include \"zest/zest_dense.h\"\n#include \"zest/zest_activation.h\"\n#include \"zest/zest_readout.h\"\n"
    );
    let _ = writeln!(
        params,
        "#define ZEST_MODEL_ID 0x{model_id:016x}ULL\n#define TOKEN_LEN {}\n#define N_TARGETS {N_TARGETS}\n#define N_MEMBERS {}\n",
        model.token_len, model.members
    );
    let _ = writeln!(params, "typedef {} input_t;", cpp_type(&model.input));
    let _ = writeln!(params, "typedef {} log_t;", cpp_type(&log_t));
    let _ = writeln!(params, "typedef {} table_t;", cpp_type(&model.table_type));
    let _ = writeln!(params, "typedef {} total_t;", cpp_type(&model.total));
    let _ = writeln!(
        params,
        "typedef ap_int<{}> token_word_t;\ntypedef ap_uint<64> result_word_t;\n",
        pl::TOKEN_WORD_BITS
    );
    let _ = writeln!(
        params,
        "struct readout_config {{\n    static const unsigned n_targets = N_TARGETS;\n    static const unsigned table_bits = {};\n    static const unsigned ii_index = {};\n    typedef ::log_t log_t;\n    typedef ::table_t table_t;\n    typedef ::total_t total_t;\n    typedef {} log_raw_t;\n    typedef {} table_raw_t;\n}};\n",
        model.table_bits,
        zest_fixed::model::II,
        raw_type(&log_t),
        raw_type(&model.table_type),
    );
    let mut weights_inc = String::new();
    let mut members = String::new();
    for m in 0..usize::from(model.members) {
        let ls = model.member(m);
        let mut x_name = "input_t".to_string();
        let mut x_var = "x".to_string();
        let mut body = String::new();
        for (k, l) in ls[..h].iter().enumerate() {
            let p = format!("m{m}_l{k}");
            let acc = model.hidden_accum(m, k).ok_or(ModelError::Shape);
            let Ok(acc) = acc else { continue };
            let _ = writeln!(
                params,
                "typedef {} {p}_weight_t;\ntypedef {} {p}_bias_t;\ntypedef {} {p}_accum_t;\ntypedef {} {p}_result_t;\nstruct {p}_config {{\n    static const unsigned n_in = {};\n    static const unsigned n_out = {};\n    static const unsigned reuse_factor = {};\n    typedef {p}_weight_t weight_t;\n    typedef {p}_bias_t bias_t;\n    typedef {p}_accum_t accum_t;\n    typedef {} weight_raw_t;\n    typedef {} bias_raw_t;\n}};\n",
                cpp_type(&l.weight),
                cpp_type(&l.bias),
                cpp_type(&acc),
                cpp_type(&l.result),
                l.inputs,
                l.outputs,
                reuse_factor(usize::from(l.inputs) * usize::from(l.outputs)),
                raw_type(&l.weight),
                raw_type(&l.bias),
            );
            let mut w = String::new();
            array(
                &mut w,
                &format!("{p}_w"),
                &l.weight,
                (0..usize::from(l.inputs) * usize::from(l.outputs))
                    .map(|i| l.w(i / usize::from(l.outputs), i % usize::from(l.outputs))),
            );
            array(
                &mut w,
                &format!("{p}_b"),
                &l.bias,
                (0..usize::from(l.outputs)).map(|o| l.b(o)),
            );
            files.push((format!("firmware/weights/{p}.h"), w));
            let _ = writeln!(weights_inc, "#include \"weights/{p}.h\"");
            let _ = writeln!(
                body,
                "    {p}_result_t {p}_d[{n}];\n    {p}_result_t {p}_a[{n}];\n    zest::dense<{x_name}, {p}_result_t, {p}_config>({x_var}, {p}_d, {p}_w, {p}_b);\n    zest::relu<{p}_result_t, {p}_result_t, {n}>({p}_d, {p}_a);",
                n = l.outputs
            );
            x_name = format!("{p}_result_t");
            x_var = format!("{p}_a");
        }
        let (out, skip) = (&ls[h], &ls[h + 1]);
        let p = format!("m{m}_out");
        let Some(acc) = model.out_accum(m) else {
            continue;
        };
        let _ = writeln!(
            params,
            "typedef {} {p}_weight_t;\ntypedef {} {p}_weight2_t;\ntypedef {} {p}_bias_t;\ntypedef {} {p}_accum_t;\nstruct {p}_config {{\n    static const unsigned n_in = {};\n    static const unsigned n_in2 = {};\n    static const unsigned n_out = {};\n    static const unsigned reuse_factor = {};\n    typedef {p}_weight_t weight_t;\n    typedef {p}_weight2_t weight2_t;\n    typedef {p}_bias_t bias_t;\n    typedef {p}_accum_t accum_t;\n    typedef {} weight_raw_t;\n    typedef {} weight2_raw_t;\n    typedef {} bias_raw_t;\n}};\n",
            cpp_type(&out.weight),
            cpp_type(&skip.weight),
            cpp_type(&out.bias),
            cpp_type(&acc),
            out.inputs,
            skip.inputs,
            out.outputs,
            reuse_factor((usize::from(out.inputs) + usize::from(skip.inputs)) * N_TARGETS),
            raw_type(&out.weight),
            raw_type(&skip.weight),
            raw_type(&out.bias),
        );
        let mut w = String::new();
        let no = usize::from(out.outputs);
        array(
            &mut w,
            &format!("{p}_w"),
            &out.weight,
            (0..usize::from(out.inputs) * no).map(|i| out.w(i / no, i % no)),
        );
        array(
            &mut w,
            &format!("{p}_w2"),
            &skip.weight,
            (0..usize::from(skip.inputs) * no).map(|i| skip.w(i / no, i % no)),
        );
        array(
            &mut w,
            &format!("{p}_b"),
            &out.bias,
            (0..no).map(|o| out.b(o)),
        );
        files.push((format!("firmware/weights/{p}.h"), w));
        let _ = writeln!(weights_inc, "#include \"weights/{p}.h\"");
        let _ = writeln!(
            body,
            "    log_t log[N_TARGETS];\n    zest::dense2<{x_name}, input_t, log_t, {p}_config>({x_var}, x, log, {p}_w, {p}_w2, {p}_b);\n    zest::exp_share<readout_config>(log, log_cap, exp_table, cost);"
        );
        let _ = writeln!(
            members,
            "// Ensemble member {m}: its share of one token's six costs.\nstatic void member_{m}(const input_t x[TOKEN_LEN], total_t cost[N_TARGETS]) {{\n#pragma HLS INLINE off\n{body}}}\n"
        );
    }
    params.push_str("#endif\n");
    let mut readout = String::new();
    array(&mut readout, "log_cap", &log_t, model.cap.iter().copied());
    let n = usize::from(model.token_len);
    array(
        &mut readout,
        "token_lo",
        &model.input,
        (0..n).map(|i| model.bounds(i).0),
    );
    array(
        &mut readout,
        "token_hi",
        &model.input,
        (0..n).map(|i| model.bounds(i).1),
    );
    array(
        &mut readout,
        "exp_table",
        &model.table_type,
        (0..1usize << model.table_bits).map(|k| model.table_entry(k)),
    );
    files.push(("firmware/weights/readout.h".into(), readout));
    let _ = writeln!(weights_inc, "#include \"weights/readout.h\"");

    let result_ports: Vec<String> = (0..N_TARGETS)
        .map(|t| format!("result_word_t *r{t}"))
        .collect();
    let top_h = format!(
        "// Generated by `zest hls`. Do not edit.\n#ifndef ZEST_TOP_H_\n#define ZEST_TOP_H_\n\n#include \"parameters.h\"\n\n// One design per run: n_layers tokens of TOKEN_LEN words each from the\n// stream; the design's six costs (raw total_t bits) to r0..r5 (LUT, FF,\n// DSP, BRAM18, latency cycles, II).\nvoid zest_top(hls::stream<token_word_t> &tokens, ap_uint<16> n_layers,\n              {});\n\n#endif\n",
        result_ports.join(", ")
    );
    let mut pragmas = String::from("#pragma HLS INTERFACE axis port=tokens\n");
    let _ = writeln!(
        pragmas,
        "#pragma HLS INTERFACE s_axilite port=n_layers offset=0x{:x} bundle=CTRL",
        pl::N_LAYERS_OFFSET
    );
    for t in 0..N_TARGETS {
        let _ = writeln!(
            pragmas,
            "#pragma HLS INTERFACE s_axilite port=r{t} offset=0x{:x} bundle=CTRL",
            pl::RESULT_OFFSET + t * pl::RESULT_STRIDE
        );
    }
    pragmas.push_str("#pragma HLS INTERFACE s_axilite port=return bundle=CTRL\n");
    let calls: String = (0..usize::from(model.members))
        .map(|m| format!("        member_{m}(x, cost);\n"))
        .collect();
    let stores: String = (0..N_TARGETS)
        .map(|t| format!("    *r{t} = totals[{t}].range(total_t::width - 1, 0);\n"))
        .collect();
    let top = format!(
        "// Generated by `zest hls` from fixed-point model {model_id:016x}. Do not edit.\n#include \"zest_top.h\"\n{weights_inc}\n{members}void zest_top(hls::stream<token_word_t> &tokens, ap_uint<16> n_layers,\n              {}) {{\n{pragmas}    total_t totals[N_TARGETS];\n#pragma HLS ARRAY_PARTITION variable=totals complete\n    for (unsigned t = 0; t < N_TARGETS; t++) {{\n#pragma HLS UNROLL\n        totals[t] = 0;\n    }}\nLayers:\n    for (unsigned l = 0; l < n_layers; l++) {{\n#pragma HLS LOOP_TRIPCOUNT min=1 max=16\n        input_t x[TOKEN_LEN];\n#pragma HLS ARRAY_PARTITION variable=x complete\n    Read:\n        for (unsigned i = 0; i < TOKEN_LEN; i++) {{\n#pragma HLS PIPELINE II=1\n            const token_word_t w = tokens.read();\n            input_t v;\n            v.range(input_t::width - 1, 0) = w.range(input_t::width - 1, 0);\n            // Clamped to the range trained on, as the Rust model does.\n            const input_t lo = zest::from_raw<input_t>(token_lo[i]);\n            const input_t hi = zest::from_raw<input_t>(token_hi[i]);\n            x[i] = v < lo ? lo : (v > hi ? hi : v);\n        }}\n        total_t cost[N_TARGETS];\n#pragma HLS ARRAY_PARTITION variable=cost complete\n        for (unsigned t = 0; t < N_TARGETS; t++) {{\n#pragma HLS UNROLL\n            cost[t] = 0;\n        }}\n{calls}        zest::accumulate<readout_config>(totals, cost);\n    }}\n{stores}}}\n",
        result_ports.join(", ")
    );
    files.push(("firmware/parameters.h".into(), params));
    files.push(("firmware/zest_top.h".into(), top_h));
    files.push(("firmware/zest_top.cpp".into(), top));
    files.push(("tb/tb_zest.cpp".into(), TB.to_string()));
    files.push((
        "build_prj.tcl".into(),
        BUILD_TCL
            .replace("{{PART}}", PART)
            .replace("{{CLOCK_NS}}", &format!("{CLOCK_NS}"))
            .replace("{{MODEL_ID}}", &format!("{model_id:016x}"))
            .replace("{{ACCEL_VERSION}}", &pl::ACCEL_VERSION.to_string()),
    ));
    files.push(("zest_regs.h".into(), regs_header()));
    files.push(("address_map.tcl".into(), address_map_tcl()));
    files
}

/// The register map as a C header, from [`zest_proto::pl`].
pub fn regs_header() -> String {
    let mut s = String::new();
    let _ = pl::write_regs_header(&mut s);
    s
}

/// The address map for the Vivado scripts, from [`zest_proto::pl`].
pub fn address_map_tcl() -> String {
    let mut s = String::new();
    let _ = pl::write_address_map_tcl(&mut s);
    s
}

/// Writes the project to `dir`; returns the files written.
pub fn generate(model_bytes: &[u8], dir: &Path) -> Result<Vec<PathBuf>, HlsError> {
    let model = FixedModel::parse(model_bytes)?;
    let id = FixedModel::id_of(model_bytes)?;
    let mut written = Vec::new();
    for (rel, text) in files(&model, id) {
        let p = dir.join(&rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&p, text).map_err(io(&p))?;
        written.push(p);
    }
    let p = dir.join("model.zfx");
    std::fs::write(&p, model_bytes).map_err(io(&p))?;
    written.push(p);
    Ok(written)
}

/// Writes vectors as the testbench reads them: per design a line with the
/// layer count, then one line per token.
pub fn write_vectors(path: &Path, vectors: &[Tokens]) -> Result<(), HlsError> {
    let mut s = String::new();
    for v in vectors {
        let _ = writeln!(s, "{}", v.len());
        for t in v {
            let line: Vec<String> = t.iter().map(|x| x.to_string()).collect();
            let _ = writeln!(s, "{}", line.join(" "));
        }
    }
    std::fs::write(path, s).map_err(io(path))
}

/// Test vectors: the tokens of `designs`, then `random` designs of 1–4
/// random tokens (uniform over the input type's raw range, a quarter of
/// the slots at its extremes), then the all-min and all-max tokens.
pub fn vectors(
    model: &FixedModel<'_>,
    designs: &[Tokens],
    random: usize,
    seed: u64,
) -> Vec<Tokens> {
    let mut out: Vec<Tokens> = designs.to_vec();
    let mut rng = fastrand::Rng::with_seed(seed);
    let (lo, hi) = (model.input.min_raw(), model.input.max_raw());
    let n = usize::from(model.token_len);
    for _ in 0..random {
        let layers = rng.usize(1..=4);
        out.push(
            (0..layers)
                .map(|_| {
                    (0..n)
                        .map(|_| match rng.u8(0..8) {
                            0 => lo,
                            1 => hi,
                            2 => 0,
                            _ => rng.i64(lo..=hi),
                        })
                        .collect()
                })
                .collect(),
        );
    }
    out.push(vec![vec![lo; n]]);
    out.push(vec![vec![hi; n]]);
    out.push(vec![vec![hi; n], vec![lo; n], vec![0; n]]);
    out
}

/// Where the `ap_types` headers are: `$ZEST_AP_TYPES`, else
/// `target/ap_types` under the current directory or the source tree.
pub fn ap_types_dir(explicit: Option<&Path>) -> Result<PathBuf, HlsError> {
    let candidates: Vec<PathBuf> = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::var_os("ZEST_AP_TYPES").map(PathBuf::from))
        .chain([
            PathBuf::from("target/ap_types"),
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ap_types"),
        ])
        .collect();
    candidates
        .into_iter()
        .find(|d| d.join("ap_fixed.h").is_file())
        .ok_or_else(|| {
            HlsError::Tool(
                "ap_types headers not found: pass --ap-types DIR or set ZEST_AP_TYPES (`cargo xtask ap-types` fetches them from the hls4ml 1.3.0 wheel into target/ap_types)".into(),
            )
        })
}

/// Compiles the project's C simulation with g++; returns the binary.
pub fn compile_csim(dir: &Path, ap_types: &Path) -> Result<PathBuf, HlsError> {
    let top = dir.join("firmware/zest_top.cpp");
    if !top.is_file() {
        return Err(HlsError::NotAProject(dir.to_path_buf()));
    }
    let bin = dir.join("tb/csim_tb");
    let out = Command::new("g++")
        .args(["-std=c++14", "-O1", "-w"])
        .arg("-isystem")
        .arg(ap_types)
        .arg("-I")
        .arg(dir.join("firmware"))
        .arg(&top)
        .arg(dir.join("tb/tb_zest.cpp"))
        .arg("-o")
        .arg(&bin)
        .output()
        .map_err(|e| {
            HlsError::Tool(format!(
                "cannot run g++ ({e}); install it (apt install g++)"
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().take(30).collect();
        return Err(HlsError::Tool(format!("g++ failed:\n{}", tail.join("\n"))));
    }
    Ok(bin)
}

/// Runs the testbench binary on a vectors file; returns the raw results,
/// one row per design.
pub fn run_csim(
    bin: &Path,
    vectors: &Path,
    results: &Path,
) -> Result<Vec<[u64; N_TARGETS]>, HlsError> {
    let out = Command::new(bin)
        .arg(vectors)
        .arg(results)
        .output()
        .map_err(|e| HlsError::Tool(format!("cannot run {}: {e}", bin.display())))?;
    if !out.status.success() {
        return Err(HlsError::Tool(format!(
            "testbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let text = std::fs::read_to_string(results).map_err(io(results))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| HlsError::Tool(format!("{} line {}: {e}", results.display(), i + 1)))?;
        let row: [u64; N_TARGETS] = v.try_into().map_err(|_| {
            HlsError::Tool(format!(
                "{} line {}: expected {N_TARGETS} values",
                results.display(),
                i + 1
            ))
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// One design whose C simulation and Rust results differ.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mismatch {
    /// Index of the vector.
    pub vector: usize,
    /// Rust fixed-point model (raw).
    pub rust: [u64; N_TARGETS],
    /// C simulation (raw).
    pub csim: [u64; N_TARGETS],
}

/// Compares C simulation rows with the Rust model on the same vectors.
pub fn compare(
    model: &FixedModel<'_>,
    vectors: &[Tokens],
    csim: &[[u64; N_TARGETS]],
) -> Result<Vec<Mismatch>, HlsError> {
    if csim.len() != vectors.len() {
        return Err(HlsError::Tool(format!(
            "the testbench answered {} designs of {}",
            csim.len(),
            vectors.len()
        )));
    }
    let mut bad = Vec::new();
    for (i, (v, c)) in vectors.iter().zip(csim).enumerate() {
        let r = model.estimate(v.iter().map(Vec::as_slice))?;
        let r = r.map(|x| x as u64);
        if &r != c {
            bad.push(Mismatch {
                vector: i,
                rust: r,
                csim: *c,
            });
        }
    }
    Ok(bad)
}

/// The accelerator as an hls4ml design, for zest's own estimator: per
/// member its dense layers with their QHS types and reuse factors, under
/// the Resource strategy on the PYNQ-Z2's part, scheduled for
/// [`ESTIMATE_CLOCK_NS`] (the project itself runs at 100 MHz).
pub fn accelerator_design(model: &FixedModel<'_>) -> Design {
    let h = usize::from(model.hidden);
    let prec = |t: &FixedType| Precision {
        width: u16::from(t.width),
        integer: t.int,
        signed: t.signed,
    };
    let mut layers = Vec::new();
    for m in 0..usize::from(model.members) {
        for (k, l) in model.member(m).iter().enumerate() {
            let name = match k {
                k if k < h => format!("m{m}_dense{}", k + 1),
                k if k == h => format!("m{m}_output"),
                _ => format!("m{m}_skip"),
            };
            let act = if k < h {
                Activation::Relu
            } else {
                Activation::Linear
            };
            let mut layer = Layer::new(
                &name,
                LayerKind::Dense,
                act,
                vec![u32::from(l.inputs)],
                vec![u32::from(l.outputs)],
            );
            layer.weight = Some(prec(&l.weight));
            layer.result = Some(prec(&l.result));
            layers.push((
                layer,
                reuse_factor(usize::from(l.inputs) * usize::from(l.outputs)),
            ));
        }
    }
    let cfg = HlsConfig {
        precision: prec(&model.input),
        reuse_factor: 1,
        strategy: Strategy::Resource,
        io_type: crate::design::IoType::IoParallel,
        part: PART.into(),
        clock_ns: ESTIMATE_CLOCK_NS,
        // The project's build script runs vitis_hls.
        tool: Some("Vitis HLS".into()),
    };
    let rfs: Vec<usize> = layers.iter().map(|(_, r)| *r).collect();
    let mut d = design_from_layers(
        "zest-accelerator",
        layers.into_iter().map(|(l, _)| l).collect(),
        &cfg,
    );
    for (l, rf) in d.layers.iter_mut().zip(rfs) {
        l.reuse_factor = rf as u32;
    }
    d
}

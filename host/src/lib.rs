//! # zest
//!
//! What an hls4ml design costs (LUT, FF, DSP, BRAM18, latency cycles, II)
//! in microseconds: a surrogate learnt from real synthesis records, its
//! fixed-point twin that runs on a Zynq-7000 board, and the tools around
//! them. The crate is a house of rooms, each depending only on those above
//! it in this list:
//!
//! * [`part`]: FPGA parts (canonical names, families, capacities).
//! * [`design`]: the design IR (layers, precisions, reuse factors, the six
//!   targets) and [`design::HlsConfig`], the hls4ml options and their
//!   defaults, once.
//! * [`tokens`]: a design as the per-layer tokens the models read
//!   (float tokens, and quantized tokens in a fixed-point model's input type).
//! * [`input`]: what users hand zest (Keras JSON, ONNX, hls4ml YAML, a
//!   synthesis record); [`input::read`] decides the format.
//! * [`data`]: the synthesis records zest learns from, one loader per
//!   source, csynth reports and `zest ingest`.
//! * [`dataset`]: a user's labelled samples (CSV, gzip or not) and their
//!   stratified split, for the networks zest optimises.
//! * [`network`]: a user's Dense/ReLU network, trained and fine-tuned
//!   under pruning masks on a [`dataset`], as the design the estimator
//!   reads.
//! * [`learn`]: the surrogate, its training, evaluation, baselines,
//!   metrics, plots and benchmark.
//! * [`models`]: the shipped models, embedded once. [`estimate`]: the
//!   estimate report of one design.
//! * [`deploy`]: the fixed-point quantization (QHS) and the HLS C++
//!   accelerator with its C simulation.
//! * [`board`]: an estimate report computed by the fixed-point model, on
//!   a board or on the host's copy, and the board benchmark.
//! * [`estimator`]: the estimator in the loop (float surrogate, host
//!   fixed-point model or a board). [`explore`]: MetaML-Pro's
//!   cross-stage exploration — flows of pipe tasks, the meta-model run
//!   directory, grid/random/BO outer search, Pareto sets. [`sweep`]: one
//!   network over a grid of hls4ml configurations, on the host or a
//!   board, reduced to its feasible Pareto set.
//!
//! The board client (link, requests, QEMU, estimates on the board) is the
//! crate `zest-board`; the wire format is `zest-proto`.
//!
//! ```
//! use zest::{design::HlsConfig, estimate::estimate, input, models};
//! let net = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/jet_tagger.json");
//! let input = input::read(net.as_ref(), &input::Overrides::default())?;
//! let model = models::load_model(None)?;
//! let report = estimate(&model, &input.design, &input.cfg, "embedded default", None);
//! assert!(report.targets.lut > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod board;
pub mod data;
pub mod dataset;
pub mod deploy;
pub mod design;
pub mod estimate;
pub mod estimator;
pub mod explore;
pub mod input;
pub mod learn;
pub mod models;
pub mod network;
pub mod part;
pub mod qhs;
pub mod reuse;
pub mod sweep;
pub mod tokens;

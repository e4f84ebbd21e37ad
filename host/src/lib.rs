//! # zest
//!
//! Host side of zest: talk to a zest board (a Zynq-7000 running the zest
//! firmware, or the same firmware under QEMU) over a serial line, a TCP
//! bridge or a Unix socket.
//!
//! * [`link`]: where the board is ([`link::PortSpec`]) and the byte stream to it.
//! * [`client`]: requests with sequence numbers, timeouts and bounded retries.
//! * [`ping`]: round-trip and throughput measurement.
//! * [`qemu`]: boot the firmware under `qemu-system-arm`, always reaped.
#![warn(missing_docs)]

pub mod baselines;
pub mod bench;
pub mod board_estimate;
pub mod client;
pub mod data;
pub mod design;
mod error;
pub mod estimate;
pub mod eval;
pub mod hls;
pub mod hls_config;
pub mod ingest;
pub mod keras;
pub mod link;
pub mod metrics;
pub mod onnx;
pub mod ping;
pub mod plots;
pub mod qemu;
pub mod quantize;
pub mod reports;
pub mod surrogate;
pub mod tokens;
pub mod train;

pub use error::{Error, Result};

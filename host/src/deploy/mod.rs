//! From the float surrogate to the board: [`quantize`] turns it into a
//! fixed-point model by Quantization Heuristic Search, [`hls`] writes the
//! hls4ml-style HLS C++ accelerator for that model and runs its C
//! simulation against the Rust fixed-point model.

pub mod hls;
pub mod quantize;

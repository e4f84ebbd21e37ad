//! # zest-board
//!
//! The host's side of a zest board (a Zynq-7000 running the zest firmware,
//! or the same firmware under QEMU), and nothing of the estimator: the
//! build tools and end-to-end tests link this crate alone.
//!
//! * [`link`]: where the board is ([`link::PortSpec`]: a serial device,
//!   `tcp:HOST:PORT`, `unix:PATH`) and the byte stream to it.
//! * [`client`]: requests with sequence numbers, timeouts and bounded
//!   retries, replies checked against the request.
//! * [`ping`]: round-trip and throughput of echo requests.
//! * [`qemu`]: boot the firmware under `qemu-system-arm`, always reaped.
//! * [`estimate`]: designs as quantized layer tokens packed into requests
//!   that fit a frame, and the same designs on the host's copy of the model.
//!
//! Every failure is a [`BoardError`] naming the port and what was being done.
//!
//! ```no_run
//! use zest_board::{client::{BoardClient, Patience}, link::PortSpec};
//! let port: PortSpec = "tcp:127.0.0.1:4000".parse()?;
//! let mut board = BoardClient::connect(&port, Patience::default())?;
//! println!("{:?}", board.identify()?);
//! # Ok::<(), zest_board::BoardError>(())
//! ```
#![warn(missing_docs)]

pub mod client;
mod error;
pub mod estimate;
pub mod link;
pub mod ping;
pub mod qemu;

pub use error::{refusal_text, BoardError, Result};

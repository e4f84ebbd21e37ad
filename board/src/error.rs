//! The one error type of `zest-board`.

use std::time::Duration;

use zest_proto::{ModelFault, Refusal, RejectReason};

/// Everything that can go wrong talking to a board or running QEMU.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The `--port` argument could not be understood.
    #[error("bad port {spec:?}: {why}. Use udp:HOST:PORT, tcp:HOST:PORT, unix:PATH or a serial device such as /dev/ttyUSB1")]
    BadPort {
        /// What was given.
        spec: String,
        /// What is wrong with it.
        why: String,
    },
    /// Opening or using the link failed.
    #[error("{port}: {action}")]
    Link {
        /// The port, as given.
        port: String,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A serial device could not be opened.
    #[error("{port}: cannot open serial device (check that it exists, that you may open it (group dialout), and that no other program, a terminal or another zest, holds it)")]
    Serial {
        /// The device path.
        port: String,
        /// The underlying error.
        source: serialport::Error,
    },
    /// No valid reply came in time, after every retry.
    #[error("{port}: no reply to {request} after {tries} tries of {timeout:?} each. Check that the board is powered and booted (QEMU running, or the PYNQ-Z2 done LED lit and the firmware loaded), that {port} is the board's protocol UART (PYNQ-Z2: UART0, usually /dev/ttyUSB1), and that nothing else is talking to it")]
    Timeout {
        /// The port, as given.
        port: String,
        /// The request that went unanswered.
        request: &'static str,
        /// Attempts made.
        tries: u32,
        /// Wait per attempt.
        timeout: Duration,
    },
    /// The board rejected the request.
    #[error("the board rejected {request}: {}", reason.name())]
    Rejected {
        /// The request.
        request: &'static str,
        /// Why.
        reason: RejectReason,
    },
    /// The board answered with a reply of the wrong kind.
    #[error("the board answered {request} with an unexpected {got}")]
    UnexpectedReply {
        /// The request.
        request: &'static str,
        /// What came back.
        got: &'static str,
    },
    /// The board speaks another protocol version.
    #[error("the board speaks protocol version {board}, this zest speaks {host}: update the firmware or zest")]
    VersionMismatch {
        /// Board's version.
        board: u8,
        /// Ours.
        host: u8,
    },
    /// The board understood the request and refused it.
    #[error("the board refused {request}: {}", refusal_text(refusal))]
    Refused {
        /// The request.
        request: &'static str,
        /// Why.
        refusal: Refusal,
    },
    /// Input the request cannot be built from.
    #[error("{0}")]
    BadInput(String),
    /// A request too large for one frame.
    #[error("request too large: {0}")]
    TooLarge(String),
    /// Starting or running QEMU failed.
    #[error("qemu: {0}")]
    Qemu(String),
}

/// Result with [`BoardError`].
pub type Result<T, E = BoardError> = std::result::Result<T, E>;

/// What a refusal means, and what to do about it.
pub fn refusal_text(r: &Refusal) -> String {
    match r {
        Refusal::NoModel => "it has no usable model (upload one with `zest board model-upload`)".into(),
        Refusal::ModelMismatch { board } => format!(
            "its active model is {board:016x}, not the one the tokens were made for (upload yours with `zest board model-upload`, or pass --fixed-model with the board's)"
        ),
        Refusal::BadTokens => "the tokens do not fit its model (slot width, count, or a value outside the input type)".into(),
        Refusal::TooManyDesigns => format!("more than {} designs in one request", zest_proto::MAX_DESIGNS_PER_REQUEST),
        Refusal::ModelTooLarge => format!("the model exceeds {} bytes", zest_proto::MAX_MODEL_LEN),
        Refusal::NotReceiving => "no model upload is in progress".into(),
        Refusal::ChunkOutOfRange => "a model chunk lies outside the announced length".into(),
        Refusal::Incomplete => "not every chunk of the model arrived".into(),
        Refusal::ModelInvalid(f) => format!(
            "the received model is invalid: {}",
            match f {
                ModelFault::Magic => "not a zest fixed-point model",
                ModelFault::Hash => "its bytes do not match its hash",
                ModelFault::Format => "another format version",
                ModelFault::Invalid => "it does not decode or its shapes are inconsistent",
                ModelFault::IdMismatch => "not the model that was announced",
            }
        ),
        Refusal::BadSweep => format!(
            "the sweep's grid is invalid or its layers do not decode (1..={} layers; 1..={} widths of 2..64 bits; 1..={} reuse factors > 0; a strategy; an io type; a clock period > 0)",
            zest_proto::MAX_SWEEP_LAYERS,
            zest_features::sweep::MAX_WIDTHS,
            zest_features::sweep::MAX_REUSE
        ),
    }
}

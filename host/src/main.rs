//! `zest`: the command-line tool. Parsing, dispatch and rendering live in
//! [`cli`]; every decision lives in the `zest` library.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    // Behave like a Unix filter: `zest data | head` ends quietly instead of
    // panicking on a closed stdout.
    // SAFETY: setting a signal disposition to its default at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match cli::Cli::parse().command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

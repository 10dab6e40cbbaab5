//! `hearth`: the command-line tool and, in later issues, the node (`hearth serve`).
//!
//! This crate is the only one that knows about the command line, JSON output, and (later) HTTP.
//! Domain crates hand it plain types; it converts them to its own output types by hand, so no
//! domain type derives `Serialize` for the outside world.
//!
//! Exit codes: 0 success, 1 failure, 2 bad usage or failed unlock.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", cli::describe(&error));
            cli::exit_code(&error)
        }
    }
}

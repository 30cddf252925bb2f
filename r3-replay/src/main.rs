//! `r3`: record, replay and check WebAssembly programs. Today: `r3 trace print|convert|stats`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "r3", version, about = "Record and replay WebAssembly programs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect and convert traces.
    #[command(subcommand)]
    Trace(cli::trace::TraceCommand),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Trace(command) => cli::trace::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

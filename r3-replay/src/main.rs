//! `r3`: record, replay and check WebAssembly programs. Today: `r3 record` (node programs) and
//! `r3 trace print|convert|stats`.

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
    /// Instrument a module for recording (what `r3 record` runs on every module).
    #[command(hide = true)]
    Instrument(cli::instrument::InstrumentArgs),
    /// Record every WebAssembly module instance of a node program.
    Record(cli::record::RecordArgs),
    /// Generate the replay of a trace: a host module standing in for the recorded host.
    Replay(cli::replay::ReplayArgs),
    /// Inspect and convert traces.
    #[command(subcommand)]
    Trace(cli::trace::TraceCommand),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Instrument(args) => cli::instrument::run(args).map(|()| ExitCode::SUCCESS),
        Command::Record(args) => cli::record::run(args),
        Command::Replay(args) => cli::replay::run(args).map(|()| ExitCode::SUCCESS),
        Command::Trace(command) => cli::trace::run(command).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

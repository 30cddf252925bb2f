//! `r3`: record, replay and check WebAssembly programs. Today: `r3 record` (node programs and
//! modules on wasmtime), `r3 trace print|convert|stats`, `r3 run` and `r3 check` (replays).

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
    /// Record every WebAssembly module instance of a node program, a web page or a module.
    Record(cli::record::RecordArgs),
    /// Generate the replay of a trace: a host module standing in for the recorded host.
    Replay(cli::replay::ReplayArgs),
    /// Run a replay (folder or merged replay.wasm); succeeds iff every segment ends as recorded.
    Run(cli::run::RunArgs),
    /// Replay a folder with the original recorded and compare the new trace with TRACE.
    Check(cli::check::CheckArgs),
    /// Package replays into a benchmark suite that runs on every engine present.
    Bench(cli::bench::BenchArgs),
    /// Inspect and convert traces.
    #[command(subcommand)]
    Trace(cli::trace::TraceCommand),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Instrument(args) => cli::instrument::run(args).map(|()| ExitCode::SUCCESS),
        Command::Record(args) => cli::record::run(args),
        Command::Replay(args) => cli::replay::run(args).map(|()| ExitCode::SUCCESS),
        Command::Run(args) => cli::run::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Bench(args) => cli::bench::run(args),
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

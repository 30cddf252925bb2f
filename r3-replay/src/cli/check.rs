//! `r3 check TRACE DIR [--engine wasmtime|node]`: replays DIR (the two-module form) with the
//! original recorded and compares the new trace with TRACE. Exit status 0 iff they are equal.

use anyhow::Result;
use clap::{Args, ValueEnum};
use r3_hooks::record::node;
use r3_replay::check::{self, CheckError, render};
use r3_replay::link::{self, ReplayDir};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct CheckArgs {
    /// The recorded trace (either encoding).
    trace: PathBuf,
    /// The replay folder made by `r3 replay` from it.
    dir: PathBuf,
    /// Keep the replay's own trace in this folder (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Where the replay runs: wasmtime with the native recorder, or node (>= 22) running
    /// DIR/run.mjs under the JS recorder.
    #[arg(long, value_enum, default_value = "wasmtime")]
    engine: Engine,
    /// The node for `--engine node`.
    #[arg(long, default_value = "node")]
    node: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum Engine {
    Wasmtime,
    Node,
}

/// Events shown either side of the first difference.
const CONTEXT: usize = 2;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let checked = match args.engine {
        Engine::Wasmtime => check::check(&args.trace, &args.dir, args.keep.as_deref())?,
        Engine::Node => {
            check::check_with(&args.trace, args.keep.as_deref(), |out| record_in_node(&args, out))?
        }
    };
    for segment in &checked.segments {
        eprintln!("{segment}");
    }
    if !checked.segments.is_empty() {
        eprintln!("r3: {}", link::summary(&checked.segments));
    }
    match &checked.result {
        Ok(()) => {
            eprintln!(
                "r3: the replay's trace equals {} ({} events)",
                args.trace.display(),
                checked.recorded.events.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(mismatch) => {
            eprint!("r3: {}", render(mismatch, &checked.recorded, &checked.replayed, CONTEXT));
            if args.keep.is_some() {
                eprintln!("r3: the replay's trace: {}", checked.replayed_path.display());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Runs `node DIR/run.mjs` under the JS recorder; the original's trace is its first instance's.
fn record_in_node(args: &CheckArgs, out: &Path) -> Result<(Vec<link::SegmentReport>, PathBuf), CheckError> {
    let replay = ReplayDir::read(&args.dir)?;
    let executable = std::env::current_exe().map_err(|error| CheckError::Record(error.to_string()))?;
    let instrumenter = node::Instrumenter { executable, args: vec!["instrument".into()] };
    let run_mjs = args.dir.join("run.mjs").to_string_lossy().into_owned();
    let command = [args.node.clone(), run_mjs];
    let recording = node::record(&command, out, &instrumenter, true)
        .map_err(|error| CheckError::Record(error.to_string()))?;
    if !recording.status.success() {
        return Err(CheckError::Record(format!("node {} failed: {}", command[1], recording.status)));
    }
    // The run also records the host module; the original's trace is the one of its sha256.
    let sha256 = &replay.section.original.sha256;
    let of_original =
        |path: &&PathBuf| check::read_trace(path).is_ok_and(|trace| trace.header.module_sha256 == *sha256);
    match recording.traces.iter().find(of_original) {
        Some(trace) => Ok((Vec::new(), trace.clone())),
        None => Err(CheckError::Record(format!(
            "the node run wrote no trace of {}",
            replay.section.original.name
        ))),
    }
}

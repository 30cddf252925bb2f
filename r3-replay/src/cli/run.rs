//! `r3 run DIR|replay.wasm [--engine wasmtime|node]`: runs a replay and checks that every
//! segment ends as it did when recorded. DIR is the two-module form (`host.wasm`, the original,
//! `run.mjs`); replay.wasm the merged module.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use r3_replay::link::{self, ReplayDir, SegmentReport};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Args)]
pub struct RunArgs {
    /// The replay: a folder made by `r3 replay`, or a merged replay.wasm.
    replay: PathBuf,
    #[arg(long, value_enum, default_value_t = Runner::Wasmtime)]
    engine: Runner,
    /// The node to run with `--engine node` (node >= 20).
    #[arg(long, default_value = "node")]
    node: PathBuf,
}

/// What runs the replay.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Runner {
    Wasmtime,
    Node,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let target = &args.replay;
    if !target.exists() {
        bail!("{}: no such folder or file", target.display());
    }
    match args.engine {
        Runner::Wasmtime => run_wasmtime(target),
        Runner::Node => run_node(target, &args.node),
    }
}

fn run_wasmtime(target: &Path) -> Result<ExitCode> {
    let reports = if target.is_dir() {
        ReplayDir::read(target)?.run(&r3_replay::link::engine())?
    } else {
        link::run_merged(target)?
    };
    Ok(report(&reports))
}

/// Prints one line per segment and the summary to stderr; success iff all as expected.
pub fn report(reports: &[SegmentReport]) -> ExitCode {
    for segment in reports {
        eprintln!("{segment}");
    }
    eprintln!("r3: {}", link::summary(reports));
    if reports.iter().all(|report| report.as_expected) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `node DIR/run.mjs`, or the generic runner on a merged module; node prints the report.
fn run_node(target: &Path, node: &Path) -> Result<ExitCode> {
    let mut command = Command::new(node);
    if target.is_dir() {
        let script = target.join("run.mjs");
        if !script.is_file() {
            bail!("{}: no run.mjs (the two-module form as `r3 replay` writes it has one)", target.display());
        }
        command.arg(script);
    } else {
        command.args(["--input-type=module", "--eval", link::RUN_MJS, "--"]).arg(target);
    }
    let status = command.status().with_context(|| format!("cannot run {}", node.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

//! `r3 check TRACE DIR`: replays DIR (the two-module form) with the original recorded and
//! compares the new trace with TRACE. Exit status 0 iff they are equal.

use anyhow::Result;
use clap::Args;
use r3_replay::check::{self, render};
use r3_replay::link;
use std::path::PathBuf;
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
}

/// Events shown either side of the first difference.
const CONTEXT: usize = 2;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let checked = check::check(&args.trace, &args.dir, args.keep.as_deref())?;
    for segment in &checked.segments {
        eprintln!("{segment}");
    }
    eprintln!("r3: {}", link::summary(&checked.segments));
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

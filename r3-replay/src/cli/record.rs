//! `r3 record [-o DIR] -- node app.mjs ...`: records every module instance of a node program.

use anyhow::{Context, Result};
use clap::Args;
use r3_hooks::Trace;
use r3_hooks::record::node;
use std::path::{Path, PathBuf};

use std::process::ExitCode;

#[derive(Args)]
pub struct RecordArgs {
    /// Directory for the traces (`<module>-<instance>.r3`) and copies of the original modules.
    #[arg(short, long, default_value = "r3-out")]
    output_dir: PathBuf,
    /// The program, e.g. `node app.mjs` (node >= 22: recording needs multi-memory).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let r3 = std::env::current_exe().context("cannot locate the r3 executable")?;
    let instrumenter = node::Instrumenter { executable: r3, args: vec!["instrument".into()] };
    let recording = node::record(&args.command, &args.output_dir, &instrumenter)?;
    for trace in &recording.traces {
        eprintln!("r3: {}", summary(trace));
    }
    if recording.traces.is_empty() {
        eprintln!("r3: the program instantiated no WebAssembly module; no trace written");
    }
    Ok(match recording.status.code() {
        Some(code) => ExitCode::from(code as u8),
        None => ExitCode::FAILURE,
    })
}

fn summary(path: &Path) -> String {
    let trace = std::fs::read(path).map_err(anyhow::Error::from).and_then(|bytes| Ok(Trace::read(&bytes)?));
    match trace {
        Ok(trace) => {
            let stats = trace.stats();
            let reduction =
                stats.reduction_percent().map(|p| format!(", {p:.2}% fewer than naive")).unwrap_or_default();
            format!("{}: {} events{reduction}", path.display(), stats.events)
        }
        Err(error) => format!("{}: unreadable trace: {error:#}", path.display()),
    }
}

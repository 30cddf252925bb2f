//! `r3 instrument`: `wasabi --hooks r3` built into r3, so that `r3 record`'s preload needs no
//! second executable. Takes the arguments the preload passes to wasabi.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct InstrumentArgs {
    input: PathBuf,
    #[arg(short, long, default_value = "out")]
    output_dir: PathBuf,
    /// CommonJS output, as wasabi's `--node`.
    #[arg(long)]
    node: bool,
    /// Accepted for wasabi compatibility; only `r3` is valid.
    #[arg(long, default_value = "r3")]
    hooks: String,
}

pub fn run(args: InstrumentArgs) -> Result<()> {
    if args.hooks != "r3" {
        bail!("r3 instrument only instruments for recording (--hooks r3), not --hooks {}", args.hooks);
    }
    let bytes =
        std::fs::read(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let recording = wasabi::instrument_for_recording(&bytes)
        .with_context(|| format!("{}: cannot instrument for recording", args.input.display()))?;
    let stem = args.input.file_stem().context("input has no file name")?.to_string_lossy();
    Ok(recording.write_outputs(&args.output_dir, &stem, args.node)?)
}

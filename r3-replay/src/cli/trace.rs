//! `r3 trace print|convert|stats`.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::io::Write;
use std::path::{Path, PathBuf};
use wasabi::output::write_atomically;

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Print a trace (either encoding) as text.
    Print { trace: PathBuf },
    /// Convert a trace between the text and the binary encoding.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Encoding of OUTPUT; by default the other one than INPUT's.
        #[arg(long, value_enum)]
        to: Option<Format>,
    },
    /// Events by kind, memory bytes, and the reduction against naive tracing.
    Stats { trace: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Binary,
}

pub fn run(command: TraceCommand) -> Result<()> {
    match command {
        TraceCommand::Print { trace } => {
            let trace = read(&trace)?;
            let mut stdout = std::io::stdout().lock();
            let written = trace.write(Encoding::Text, &mut stdout).and_then(|()| Ok(stdout.flush()?));
            match written {
                // A reader that stops early (`| head`) is not an error.
                Err(r3_hooks::TraceError::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        TraceCommand::Convert { input, output, to } => {
            let bytes = std::fs::read(&input).with_context(|| format!("cannot read {}", input.display()))?;
            let trace = parse(&input, &bytes)?;
            let encoding = match to {
                Some(Format::Text) => Encoding::Text,
                Some(Format::Binary) => Encoding::Binary,
                None if Trace::detect(&bytes) == Some(Encoding::Text) => Encoding::Binary,
                None => Encoding::Text,
            };
            write_atomically(&output, |out| out.write_all(&trace.to_bytes(encoding)))?;
        }
        TraceCommand::Stats { trace } => println!("{}", read(&trace)?.stats()),
    }
    Ok(())
}

pub fn read(path: &Path) -> Result<Trace> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(path, &bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Trace> {
    Trace::read(bytes).with_context(|| format!("{}", path.display()))
}

//! The `wasabi` command line, compatible with upstream Wasabi:
//! `wasabi [--node] [-o DIR] [--hooks=a,b | --no-hooks=a,b] INPUT.wasm`, plus `wasabi run` for
//! analysing an unmodified node program.

mod run;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasabi::output::{create_dir, write_atomically};
use wasabi::{Hook, HookSet};

#[derive(Parser)]
#[command(
    name = "wasabi",
    version,
    about = "Instruments a WebAssembly 2.0 binary for dynamic analysis with JS hooks",
    args_conflicts_with_subcommands = true,
    after_help = hook_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    instrument: InstrumentArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a node program with every WebAssembly module instrumented at instantiation.
    Run(run::RunArgs),
}

#[derive(Args)]
struct InstrumentArgs {
    /// The module to instrument.
    input: Option<PathBuf>,
    /// Output directory for NAME.wasm and NAME.wasabi.js.
    #[arg(short, long, default_value = "out")]
    output_dir: PathBuf,
    /// Generate a CommonJS module (`const Wasabi = require('./NAME.wasabi.js')`).
    #[arg(long)]
    node: bool,
    #[command(flatten)]
    hooks: HookArgs,
}

#[derive(Args, Clone)]
pub struct HookArgs {
    /// Instrument only for these hooks (comma-separated; see the list below).
    #[arg(long, value_name = "HOOKS", conflicts_with = "no_hooks")]
    hooks: Option<String>,
    /// Instrument for all hooks except these.
    #[arg(long, value_name = "HOOKS")]
    no_hooks: Option<String>,
}

impl HookArgs {
    /// `--hooks r3`: the preset that records for R3 instead of calling analysis hooks.
    pub fn is_r3(&self) -> bool {
        self.hooks.as_deref() == Some("r3")
    }

    pub fn hook_set(&self) -> Result<HookSet> {
        Ok(HookSet::from_cli(self.hooks.as_deref(), self.no_hooks.as_deref())?)
    }
}

fn hook_help() -> String {
    let names: Vec<&str> = Hook::ALL.iter().map(|hook| hook.cli_name()).collect();
    format!(
        "Hooks: {} (and `call` for call_pre,call_post)\n\n`--hooks r3` instruments for R3 recording instead: NAME.wasabi.js is then the recorder.",
        names.join(", ")
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run::run(args),
        None => instrument_file(&cli.instrument).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn instrument_file(args: &InstrumentArgs) -> Result<()> {
    let Some(input) = &args.input else { bail!("no input file given (see --help)") };
    let bytes = read_module(input)?;
    let stem = input.file_stem().context("input has no file name")?.to_string_lossy().into_owned();
    if args.hooks.is_r3() {
        let recording = wasabi::instrument_for_recording(&bytes)
            .with_context(|| format!("{}: cannot instrument for recording", input.display()))?;
        return Ok(recording.write_outputs(&args.output_dir, &stem, args.node)?);
    }
    let hooks = args.hooks.hook_set()?;
    let instrumented = wasabi::instrument(&bytes, &hooks)
        .with_context(|| format!("{}: cannot instrument", input.display()))?;
    create_dir(&args.output_dir)?;
    write_atomically(&args.output_dir.join(format!("{stem}.wasm")), |out| instrumented.write_wasm(out))?;
    let js = wasabi::js::generate(&instrumented, args.node);
    write_atomically(&args.output_dir.join(format!("{stem}.wasabi.js")), |out| out.write_all(js.as_bytes()))?;
    Ok(())
}

/// Reads a binary module, or a text module if the file is `.wat`.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|ext| ext == "wat") {
        return wat::parse_bytes(&bytes)
            .map(|wasm| wasm.into_owned())
            .with_context(|| format!("{}", path.display()));
    }
    Ok(bytes)
}

//! The `wasabi` command line, compatible with upstream Wasabi:
//! `wasabi [--node] [-o DIR] [--hooks=a,b | --no-hooks=a,b] INPUT.wasm`, plus `wasabi run` for
//! analysing an unmodified node program.

mod run;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    pub fn hook_set(&self) -> Result<HookSet> {
        Ok(HookSet::from_cli(self.hooks.as_deref(), self.no_hooks.as_deref())?)
    }
}

fn hook_help() -> String {
    let names: Vec<&str> = Hook::ALL.iter().map(|hook| hook.cli_name()).collect();
    format!("Hooks: {} (and `call` for call_pre,call_post)", names.join(", "))
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
    let hooks = args.hooks.hook_set()?;
    let bytes = read_module(input)?;
    let instrumented = wasabi::instrument(&bytes, &hooks)
        .with_context(|| format!("{}: cannot instrument", input.display()))?;
    let stem = input.file_stem().context("input has no file name")?.to_string_lossy().into_owned();
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
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

/// Writes to a temporary file next to `path` and renames it, so no half-written file is left.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp{}", extension(path), std::process::id()));
    let result = File::create(&tmp).and_then(|file| {
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.flush()
    });
    if let Err(error) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(error).with_context(|| format!("cannot write {}", path.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn extension(path: &Path) -> String {
    path.extension().map(|ext| ext.to_string_lossy().into_owned()).unwrap_or_default()
}

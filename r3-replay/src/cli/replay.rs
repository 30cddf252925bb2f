//! `r3 replay TRACE [-o DIR] [--module ORIGINAL]`: the replay of a trace, as a host module next
//! to the original (linked by `run.mjs`).

use anyhow::{Context, Result};
use clap::Args;
use r3_replay::replay;
use std::io::Write;
use std::path::{Path, PathBuf};
use wasabi::output::{create_dir, write_atomically};

#[derive(Args)]
pub struct ReplayArgs {
    /// A trace written by `r3 record` (either encoding).
    trace: PathBuf,
    /// Output directory.
    #[arg(short, long, default_value = "r3-replay")]
    output_dir: PathBuf,
    /// The original module; by default `<module>.wasm` next to a trace named `<module>-<n>.r3`.
    #[arg(long)]
    module: Option<PathBuf>,
}

pub fn run(args: ReplayArgs) -> Result<()> {
    let trace = super::trace::read(&args.trace)?;
    let module_path = match args.module {
        Some(path) => path,
        None => default_module(&args.trace)?,
    };
    let original = std::fs::read(&module_path)
        .with_context(|| format!("cannot read the original module {}", module_path.display()))?;
    let name = module_path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let host = replay::generate(&trace, &original, &name)
        .with_context(|| format!("cannot replay {} with {}", args.trace.display(), module_path.display()))?;
    wasabi_wasm::validate(&host.bytes, wasmparser::WasmFeatures::all())
        .context("internal error: the generated host module is invalid")?;
    let merged = match r3_replay::merge::merge(&host.bytes, &original) {
        Ok(merged) => Some(merged),
        Err(error) => {
            eprintln!("r3: warning: no replay.wasm: {error}");
            None
        }
    };
    create_dir(&args.output_dir)?;
    let dir = &args.output_dir;
    write_atomically(&dir.join("host.wasm"), |out| out.write_all(&host.bytes))?;
    write_atomically(&dir.join(&name), |out| out.write_all(&original))?;
    write_atomically(&dir.join("run.mjs"), |out| out.write_all(r3_replay::link::RUN_MJS.as_bytes()))?;
    if let Some(merged) = &merged {
        write_atomically(&dir.join("replay.wasm"), |out| out.write_all(merged))?;
    }
    for warning in &host.warnings {
        eprintln!("r3: warning: {warning}");
    }
    let total = merged.as_ref().map_or(host.bytes.len() + original.len(), Vec::len);
    let code = host.bytes.len() - host.data_bytes;
    eprintln!(
        "r3: {}: {} events → host.wasm {} bytes ({} of them recorded memory contents); replay code share {:.2}%",
        dir.display(),
        trace.events.len(),
        host.bytes.len(),
        host.data_bytes,
        100.0 * code as f64 / total as f64,
    );
    Ok(())
}

/// `DIR/app-3.r3` → `DIR/app.wasm`.
fn default_module(trace: &Path) -> Result<PathBuf> {
    let file = trace.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = file.trim_end_matches(".txt").trim_end_matches(".r3");
    let module = stem.rsplit_once('-').map_or(stem, |(module, _)| module);
    let path = trace.with_file_name(format!("{module}.wasm"));
    if !path.exists() {
        anyhow::bail!("{} not found; name the original module with --module", path.display());
    }
    Ok(path)
}

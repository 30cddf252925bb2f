//! `r3 replay TRACE [-o DIR] [--module ORIGINAL] [--json FILE]`: the replay of a trace, as a host
//! module next to the original (linked by `run.mjs`) and as one merged `replay.wasm`.

use anyhow::{Context, Result};
use clap::Args;
use r3_hooks::Trace;
use r3_replay::replay::{self, HostModule};
use serde::Serialize;
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
    /// Also write the sizes and event counts (what the last line on stderr says) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub fn run(args: ReplayArgs) -> Result<()> {
    let replay = Replay::build(&args.trace, args.module.as_deref())?;
    if let Err(error) = &replay.merged {
        eprintln!("r3: warning: no replay.wasm: {error}");
    }
    let dir = &args.output_dir;
    create_dir(dir)?;
    write_atomically(&dir.join("host.wasm"), |out| out.write_all(&replay.host.bytes))?;
    write_atomically(&dir.join(&replay.original_name), |out| out.write_all(&replay.original))?;
    write_atomically(&dir.join("run.mjs"), |out| out.write_all(r3_replay::link::RUN_MJS.as_bytes()))?;
    if let Ok(merged) = &replay.merged {
        write_atomically(&dir.join("replay.wasm"), |out| out.write_all(merged))?;
        if r3_replay::merge::makes_host_values(&replay.host.bytes) {
            eprintln!(
                "r3: note: replay.wasm makes the recorded host values (externref) as i31 references: \
                 it needs Wasm GC (wasmtime, node >= 22); the two-module form runs without"
            );
        }
    }
    for warning in &replay.host.warnings {
        eprintln!("r3: warning: {warning}");
    }
    let summary = replay.summary();
    if let Some(path) = &args.json {
        write_atomically(path, |out| write_json(out, &summary))?;
    }
    eprintln!(
        "r3: {}: {} events → host.wasm {} bytes ({} of them recorded data); replay code share {:.2}%",
        dir.display(),
        summary.events,
        summary.host_bytes,
        summary.memory_contents_bytes,
        summary.code_share_percent,
    );
    Ok(())
}

/// Pretty JSON and a final newline.
pub fn write_json(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// A trace's replay in both forms, before anything is written.
pub struct Replay {
    pub trace: Trace,
    pub original: Vec<u8>,
    pub original_name: String,
    pub host: HostModule,
    /// The merged module, or why there is none.
    pub merged: Result<Vec<u8>, r3_replay::merge::MergeError>,
}

/// Sizes and counts of a replay: `r3 replay --json`, and part of `r3 bench`'s metadata.
#[derive(Serialize)]
pub struct Summary {
    pub events: usize,
    pub original_bytes: usize,
    pub host_bytes: usize,
    /// What the host module carries as data: host-written memory contents and the tape of
    /// recorded actions and answers (docs/replay.md).
    pub memory_contents_bytes: usize,
    /// The merged replay.wasm, if there is one.
    pub replay_bytes: Option<usize>,
    /// The host's code (without its data) over the whole replay.
    pub code_share_percent: f64,
}

impl Replay {
    pub fn build(trace_path: &Path, module: Option<&Path>) -> Result<Replay> {
        let trace = super::trace::read(trace_path)?;
        let module_path = match module {
            Some(path) => path.to_path_buf(),
            None => default_module(trace_path)?,
        };
        let original = std::fs::read(&module_path)
            .with_context(|| format!("cannot read the original module {}", module_path.display()))?;
        let original_name =
            module_path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let host = replay::generate(&trace, &original, &original_name).with_context(|| {
            format!("cannot replay {} with {}", trace_path.display(), module_path.display())
        })?;
        wasabi_wasm::validate(&host.bytes, wasmparser::WasmFeatures::all())
            .context("internal error: the generated host module is invalid")?;
        // `generate` validated the original; the host was just checked.
        let merged = r3_replay::merge::merge_validated(&host.bytes, &original);
        Ok(Replay { trace, original, original_name, host, merged })
    }

    pub fn summary(&self) -> Summary {
        let replay_bytes = self.merged.as_ref().ok().map(Vec::len);
        let total = replay_bytes.unwrap_or(self.host.bytes.len() + self.original.len());
        let code = self.host.bytes.len() - self.host.data_bytes;
        Summary {
            events: self.trace.events.len(),
            original_bytes: self.original.len(),
            host_bytes: self.host.bytes.len(),
            memory_contents_bytes: self.host.data_bytes,
            replay_bytes,
            code_share_percent: 100.0 * code as f64 / total as f64,
        }
    }
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

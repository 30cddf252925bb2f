//! `r3 bench [-o SUITE] [--app NAME] [--package P] [--version V] [--source S] TRACE...`:
//! packages the merged replays of traces into a benchmark suite, one folder per trace with
//! `replay.wasm`, the original module and `metadata.json`, and one runner for the whole suite
//! (`node SUITE/run.mjs`) that runs every benchmark on the engines it finds.

use super::replay::{Replay, Summary, write_json};
use anyhow::{Context, Result, bail};
use clap::Args;
use r3_replay::link::{self, SegmentReport};
use r3_replay::section::{Expect, Segment};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use wasabi::output::{create_dir, write_atomically};

#[derive(Args)]
pub struct BenchArgs {
    /// Traces written by `r3 record`, each next to its original module (`<module>-<n>.r3` and
    /// `<module>.wasm`).
    #[arg(required = true)]
    traces: Vec<PathBuf>,
    /// The suite folder; packaging more traces into an existing suite adds to it.
    #[arg(short, long, default_value = "r3-bench")]
    output_dir: PathBuf,
    /// Group these traces under `SUITE/APP/` (one folder per trace below it).
    #[arg(long)]
    app: Option<String>,
    /// The package the recorded program comes from (metadata only).
    #[arg(long)]
    package: Option<String>,
    /// The package's version (metadata only).
    #[arg(long)]
    version: Option<String>,
    /// Where the recording came from, e.g. the program or page recorded (metadata only).
    #[arg(long)]
    source: Option<String>,
}

/// `metadata.json` of one benchmark; docs/replay.md describes the suite.
#[derive(Serialize)]
struct Metadata<'a> {
    format: u32,
    name: String,
    package: Option<&'a str>,
    version: Option<&'a str>,
    provenance: Provenance<'a>,
    files: Files<'a>,
    sizes: Summary,
    events: Events,
    expected: Expected<'a>,
    /// Wasm features beyond 2.0 that `replay.wasm` needs (`gc`: it makes host values); the
    /// suite's runner says "n/a" for an engine that fails the feature's probe in `.probes/`.
    features: Vec<&'static str>,
}

#[derive(Serialize)]
struct Provenance<'a> {
    source: Option<&'a str>,
    trace: String,
    instance: u32,
    original_sha256: &'a str,
    packaged_by: String,
}

#[derive(Serialize)]
struct Files<'a> {
    replay: &'static str,
    original: &'a str,
}

#[derive(Serialize)]
struct Events {
    naive: Option<u64>,
    memory_bytes: u64,
    by_kind: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct Expected<'a> {
    /// How each exported segment ends; engines that can only run `_start` see a trap if
    /// any segment does not return.
    segments: &'a [Segment],
    all_return: bool,
    /// Run time on the embedded wasmtime when packaged (compilation included).
    wasmtime_seconds: f64,
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    create_dir(&args.output_dir)?;
    write_runners(&args.output_dir)?;
    let mut failed = 0;
    for trace in &args.traces {
        match package(&args, trace) {
            Ok(dir) => eprintln!("r3: {}", dir.display()),
            Err(error) => {
                failed += 1;
                eprintln!("r3: error: {}: {error:#}", trace.display());
            }
        }
    }
    let packaged = args.traces.len() - failed;
    eprintln!(
        "r3: {packaged} of {} replays packaged into {}; run them with: node {}",
        args.traces.len(),
        args.output_dir.display(),
        args.output_dir.join("run.mjs").display()
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The suite-wide runner and the per-engine replay runners it calls.
fn write_runners(suite: &Path) -> Result<()> {
    let files = [
        ("run.mjs", SUITE_RUNNER),
        ("replay-node.mjs", link::RUN_MJS),
        ("replay-shell.js", link::RUN_SHELL),
        ("README.md", SUITE_README),
    ];
    for (name, contents) in files {
        write_atomically(&suite.join(name), |out| out.write_all(contents.as_bytes()))?;
    }
    Ok(())
}

/// The runner's probe for Wasm GC (see `Metadata::features`), the one feature beyond Wasm 2.0
/// a replay may need.
fn write_gc_probe(suite: &Path) -> Result<()> {
    let probes = suite.join(".probes");
    create_dir(&probes)?;
    write_atomically(&probes.join("gc.wasm"), |out| out.write_all(&r3_replay::merge::gc_probe()))?;
    Ok(())
}

const SUITE_RUNNER: &str = include_str!("../../js/suite.mjs");
const SUITE_README: &str = include_str!("../../js/suite-readme.md");

/// Packages one trace into a fresh folder, replacing an earlier one only once it is complete.
fn package(args: &BenchArgs, trace: &Path) -> Result<PathBuf> {
    let replay = Replay::build(trace, None)?;
    let merged = replay.merged.as_ref().map_err(|error| anyhow::anyhow!("no merged replay: {error}"))?;
    let stem = trace.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match &args.app {
        Some(app) => format!("{app}/{stem}"),
        None => stem,
    };
    let dir = args.output_dir.join(&name);
    let staging = dir.with_file_name(format!(".{}.tmp{}", stem_of(&dir), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    create_dir(&staging)?;
    let result = fill(args, &replay, merged, &name, trace, &staging);
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn stem_of(dir: &Path) -> String {
    dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

fn fill(
    args: &BenchArgs,
    replay: &Replay,
    merged: &[u8],
    name: &str,
    trace: &Path,
    dir: &Path,
) -> Result<()> {
    let replay_path = dir.join("replay.wasm");
    write_atomically(&replay_path, |out| out.write_all(merged))?;
    write_atomically(&dir.join(&replay.original_name), |out| out.write_all(&replay.original))?;
    let start = Instant::now();
    let reports = link::run_merged(&replay_path)?;
    let wasmtime_seconds = start.elapsed().as_secs_f64();
    if let Some(report) = reports.iter().find(|report| !report.as_expected) {
        bail!("the replay does not run as recorded on wasmtime: {report}");
    }
    let metadata = metadata(args, replay, name, trace, &reports, wasmtime_seconds);
    if metadata.features.contains(&"gc") {
        write_gc_probe(&args.output_dir)?;
    }
    write_atomically(&dir.join("metadata.json"), |out| write_json(out, &metadata))?;
    Ok(())
}

fn metadata<'a>(
    args: &'a BenchArgs,
    replay: &'a Replay,
    name: &str,
    trace: &Path,
    reports: &[SegmentReport],
    wasmtime_seconds: f64,
) -> Metadata<'a> {
    let stats = replay.trace.stats();
    let segments = &replay.host.section.segments;
    Metadata {
        format: 1,
        name: name.to_string(),
        package: args.package.as_deref(),
        version: args.version.as_deref(),
        provenance: Provenance {
            source: args.source.as_deref(),
            trace: trace.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
            instance: replay.trace.header.instance,
            original_sha256: &replay.trace.header.module_sha256,
            packaged_by: format!("r3 {}", env!("CARGO_PKG_VERSION")),
        },
        files: Files { replay: "replay.wasm", original: &replay.original_name },
        sizes: replay.summary(),
        events: Events {
            naive: stats.naive_events,
            memory_bytes: stats.memory_bytes,
            by_kind: stats.by_kind,
        },
        expected: Expected {
            segments,
            all_return: reports.iter().all(|report| report.expect == Expect::Return),
            wasmtime_seconds,
        },
        features: if r3_replay::merge::makes_host_values(&replay.host.bytes) { vec!["gc"] } else { vec![] },
    }
}

//! The corpus runner's pipeline for one program: run it plain, record it (`r3 record`, digest
//! unchanged), then for every trace: replay it (`r3 replay`), check the replay faithful on
//! wasmtime and in node (`r3 check`), package it as a benchmark (`r3 bench`, which runs the
//! merged replay.wasm on wasmtime) and run the merged module in node. Failures that are known
//! limits of R3 are reported as such; a known limit that no longer fails is a failure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the pipeline runs and where it writes.
pub struct Runner {
    pub r3: PathBuf,
    /// Runs the programs, plain and recorded (node >= 22).
    pub node: PathBuf,
    /// The installed corpus (`CORPUS_DIR` of the drivers).
    pub install: PathBuf,
    /// Recordings and replays, one folder per program.
    pub work: PathBuf,
    /// The benchmark suite the replays are packaged into.
    pub suite: PathBuf,
    /// slug → package, from manifest.tsv.
    pub packages: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppResult {
    pub slug: String,
    pub package: String,
    pub plain_seconds: Option<f64>,
    pub record_seconds: Option<f64>,
    pub traces: Vec<TraceResult>,
    /// Failures not excused by a known limit.
    pub failures: Vec<String>,
    /// Known limits this program hit: `step: why`.
    pub known_limits: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceResult {
    pub name: String,
    pub events: u64,
    pub naive_events: Option<u64>,
    pub trace_bytes: u64,
    /// `r3 replay --json`.
    pub replay: Option<ReplaySizes>,
    pub failed_steps: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplaySizes {
    pub original_bytes: u64,
    pub host_bytes: u64,
    pub memory_contents_bytes: u64,
    pub replay_bytes: Option<u64>,
    pub code_share_percent: f64,
}

/// The steps after recording, per trace, and the engine each proves faithful.
pub const STEPS: &[(&str, &str)] = &[
    ("replay", ""),
    ("check-wasmtime", "wasmtime"),
    ("check-node", "node"),
    ("run-wasmtime", "wasmtime"),
    ("run-node", "node"),
];

/// (program, step, why the step fails for some of its traces).
pub const KNOWN_LIMITS: &[(&str, &str, &str)] = &[];

impl AppResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Whether every trace checked faithful and ran as recorded on `engine`.
    pub fn faithful_on(&self, engine: &str) -> bool {
        !self.traces.is_empty()
            && self.traces.iter().all(|trace| {
                STEPS
                    .iter()
                    .filter(|(_, on)| *on == engine)
                    .all(|(step, _)| !trace.failed_steps.iter().any(|f| f == step))
            })
    }
}

impl Runner {
    pub fn run(&self, driver: &Path, slug: &str) -> AppResult {
        let mut result = AppResult {
            slug: slug.to_string(),
            package: self.packages.get(slug).cloned().unwrap_or_default(),
            plain_seconds: None,
            record_seconds: None,
            traces: Vec::new(),
            failures: Vec::new(),
            known_limits: Vec::new(),
        };
        let out = self.work.join(slug);
        match self.record(driver, &out) {
            Ok(times) => {
                result.plain_seconds = Some(times.plain_seconds);
                result.record_seconds = Some(times.observed_seconds);
            }
            Err(error) => {
                result.failures.push(format!("record: {error}"));
                return result;
            }
        }
        let traces = crate::traces_in(&out);
        if traces.is_empty() {
            result.failures.push("record: no trace written".into());
        }
        for trace in traces {
            match self.replay_trace(&trace, &result) {
                Ok((trace, errors)) => {
                    result.traces.push(trace);
                    result.failures.extend(errors);
                }
                Err(error) => result.failures.push(error),
            }
        }
        judge(&mut result);
        result
    }

    fn record(&self, driver: &Path, out: &Path) -> Result<crate::RunTimes, String> {
        let plain = || {
            let mut command = Command::new(&self.node);
            command.arg(driver).env("CORPUS_DIR", &self.install);
            command
        };
        let recorded = || {
            let _ = std::fs::remove_dir_all(out);
            let mut command = Command::new(&self.r3);
            command.args(["record", "-o"]).arg(out).arg("--").arg(&self.node).arg(driver);
            command.env("CORPUS_DIR", &self.install);
            command
        };
        crate::same_digest(plain, recorded)
    }

    /// The trace's numbers and the steps it failed, with why for failures that are no known
    /// limit; an error if the trace itself is broken.
    fn replay_trace(&self, trace: &Path, app: &AppResult) -> Result<(TraceResult, Vec<String>), String> {
        let name = trace.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let stats = read_trace(trace)?;
        let mut result = TraceResult {
            name: name.clone(),
            events: stats.events,
            naive_events: stats.naive_events,
            trace_bytes: trace.metadata().map_or(0, |meta| meta.len()),
            replay: None,
            failed_steps: Vec::new(),
        };
        let mut errors = Vec::new();
        let replay = trace.with_file_name(format!("replay-{name}"));
        let summary = trace.with_file_name(format!("replay-{name}.json"));
        for (step, _) in STEPS {
            if let Err(error) = self.step(step, trace, &replay, &summary, app) {
                result.failed_steps.push(step.to_string());
                if !is_known_limit(&app.slug, step) {
                    errors.push(format!("{name}: {step} failed: {error}"));
                }
                if *step == "replay" {
                    break;
                }
            } else if *step == "replay" {
                result.replay =
                    std::fs::read(&summary).ok().and_then(|json| serde_json::from_slice(&json).ok());
            }
        }
        Ok((result, errors))
    }

    fn step(
        &self,
        step: &str,
        trace: &Path,
        replay: &Path,
        summary: &Path,
        app: &AppResult,
    ) -> Result<(), String> {
        match step {
            "run-wasmtime" => self.package(trace.as_os_str(), app),
            _ => replay_step(&self.r3, &self.node, step, trace, replay, summary),
        }
    }

    /// `r3 bench` runs the merged replay on wasmtime before it packages it.
    fn package(&self, trace: &OsStr, app: &AppResult) -> Result<(), String> {
        let (package, version) = app.package.rsplit_once('@').unwrap_or((&app.package, ""));
        let source = format!("corpus driver {}.mjs", app.slug);
        let args = [
            OsStr::new("bench"),
            OsStr::new("-o"),
            self.suite.as_os_str(),
            OsStr::new("--app"),
            OsStr::new(&app.slug),
            OsStr::new("--package"),
            OsStr::new(package),
            OsStr::new("--version"),
            OsStr::new(version),
            OsStr::new("--source"),
            OsStr::new(&source),
            trace,
        ];
        crate::run_tool(&self.r3, &args)
    }
}

/// One of [`STEPS`] for `trace` with the `r3` executable: `replay` writes the replay to
/// `replay` and its sizes to `summary`; `run-wasmtime` runs the merged replay.wasm.
pub fn replay_step(
    r3: &Path,
    node: &Path,
    step: &str,
    trace: &Path,
    replay: &Path,
    summary: &Path,
) -> Result<(), String> {
    let merged = replay.join("replay.wasm");
    let node = [OsStr::new("--engine"), OsStr::new("node"), OsStr::new("--node"), node.as_os_str()];
    let (trace, replay) = (trace.as_os_str(), replay.as_os_str());
    let args = match step {
        "replay" => vec![
            OsStr::new("replay"),
            trace,
            OsStr::new("-o"),
            replay,
            OsStr::new("--json"),
            summary.as_os_str(),
        ],
        "check-wasmtime" => vec![OsStr::new("check"), trace, replay],
        "check-node" => [&[OsStr::new("check")][..], &node, &[trace, replay]].concat(),
        _ if !merged.exists() => return Err("no replay.wasm".into()),
        "run-wasmtime" => vec![OsStr::new("run"), merged.as_os_str()],
        "run-node" => [&[OsStr::new("run")][..], &node, &[merged.as_os_str()]].concat(),
        _ => unreachable!("no step {step}"),
    };
    crate::run_tool(r3, &args)
}

/// Moves failures excused by known limits aside and flags limits that no longer fail.
fn judge(result: &mut AppResult) {
    for &(_, step, why) in KNOWN_LIMITS.iter().filter(|(slug, _, _)| *slug == result.slug) {
        if result.traces.iter().any(|trace| trace.failed_steps.iter().any(|failed| failed == step)) {
            result.known_limits.push(format!("{step}: {why}"));
        } else if !result.traces.is_empty() {
            result.failures.push(format!("{step} passes now; remove it from KNOWN_LIMITS ({why})"));
        }
    }
}

fn is_known_limit(slug: &str, step: &str) -> bool {
    KNOWN_LIMITS.iter().any(|&(known_slug, known_step, _)| known_slug == slug && known_step == step)
}

/// Stats of a trace that must survive text ↔ binary unchanged and end with an `end` event.
fn read_trace(path: &Path) -> Result<r3_hooks::trace::Stats, String> {
    use r3_hooks::trace::{Encoding, Trace};
    let bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let trace = Trace::read(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let again = Trace::read(&trace.to_bytes(Encoding::Text))
        .map_err(|error| format!("{}: as text: {error}", path.display()))?;
    if again != trace || again.to_bytes(Encoding::Binary) != trace.to_bytes(Encoding::Binary) {
        return Err(format!("{}: text <-> binary is lossy", path.display()));
    }
    if !matches!(trace.events.last(), Some(r3_hooks::Event::End { .. })) {
        return Err(format!("{}: no end event", path.display()));
    }
    Ok(trace.stats())
}

/// slug → package (`name@version`) from the corpus's manifest.tsv.
pub fn packages(manifest: &str) -> BTreeMap<String, String> {
    manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            Some((columns.next()?.to_string(), columns.next()?.to_string()))
        })
        .collect()
}
pub mod report;

//! `--mode r3`: every instance a script creates is recorded by the native recorder, with the
//! script's commands as the host (invoke, assert_return, get, … call the recording wrappers of
//! the exports; registered instances are linked into later modules through them, so calls
//! between instances are host calls in both traces). When the script ends, every trace is
//!
//! 1. turned into a host module (`replay::generate`, original = that instance's module) and
//!    merged with the original (`merge::merge`);
//! 2. checked as `r3 check` does: the two-module form runs with the original under the native
//!    recorder, and the replay's trace must equal the recorded one (`check::compare`: modulo
//!    trap messages, host value ids and naive counts);
//! 3. run merged (`replay.wasm` on its own), where every segment must end as recorded.
//!
//! The values the replay's exports return equal the script's expectations: the recorded run
//! passed the script's assertions (checked by the driver as in the other modes), every value
//! an export returned is in the recorded trace (`export_return`), and step 2 requires the
//! replay's trace, with all its `export_return` values, to equal the recorded one.

use crate::report::SuiteReport;
use anyhow::{Result, anyhow};
use r3_hooks::Event;
use r3_hooks::record::native::{NativeError, RecordedInstance, Recorder, RecordingModule};
use r3_replay::check::{self, Mismatch};
use r3_replay::link::{self, ReplayDir, SegmentReport};
use r3_replay::{merge, replay};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use wasmtime::{Engine, Extern, Instance, Linker, Module, Store};

/// A module of the script, compiled for recording.
pub struct Compiled {
    pub module: RecordingModule,
    pub bytes: Arc<[u8]>,
    pub line: usize,
}

impl Compiled {
    pub fn new(engine: &Engine, bytes: Vec<u8>, line: usize) -> Result<Compiled> {
        let module = RecordingModule::new(engine, &bytes, Some(&format!("line{line}")))
            .map_err(|error| anyhow!("cannot be recorded: {error}"))?;
        Ok(Compiled { module, bytes: bytes.into(), line })
    }
}

/// One recorded instance of the script.
struct Recorded {
    line: usize,
    /// Known limits (docs/trace-format.md) this instance met when it was linked.
    limits: Vec<String>,
    bytes: Arc<[u8]>,
    instance: RecordedInstance,
}

/// The recordings of one script, into a temporary folder of its own (removed when dropped).
pub struct Session {
    dir: PathBuf,
    recorder: Recorder,
    recorded: Vec<Recorded>,
}

impl Session {
    pub fn new(script: &str) -> Session {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let unique = COUNT.fetch_add(1, Ordering::Relaxed);
        let stem: String =
            script.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let dir = std::env::temp_dir().join(format!("spec-r3-{}-{unique}-{stem}", std::process::id()));
        Session { recorder: Recorder::new(&dir).keep_returns(), dir, recorded: Vec::new() }
    }

    /// Instantiates `compiled` recorded; its imports come from `linker` (spectest and the
    /// registered instances' recording wrappers).
    pub fn instantiate(
        &mut self,
        store: &mut Store<()>,
        linker: &Linker<()>,
        compiled: &Compiled,
    ) -> Result<RecordedInstance> {
        let imports = compiled
            .module
            .imports()
            .iter()
            .map(|import| {
                linker.get(&mut *store, &import.module, &import.name).map_err(|error| {
                    anyhow!("unknown import `{}::{}`: {error:#}", import.module, import.name)
                })
            })
            .collect::<Result<Vec<Extern>>>()?;
        let instance = match self.recorder.instantiate(&mut *store, &compiled.module, &imports) {
            Ok(instance) => instance,
            // wasmtime's own error, so that traps stay recognisable as traps.
            Err(NativeError::Instantiate { error, .. }) => return Err(error.into()),
            Err(error) => return Err(anyhow!("{error}")),
        };
        let limits = linking_limits(&*store, compiled, &imports);
        let bytes = compiled.bytes.clone();
        self.recorded.push(Recorded { line: compiled.line, limits, bytes, instance: instance.clone() });
        Ok(instance)
    }

    /// Ends every recording, then replays and checks every trace into `report`.
    pub fn finish(self, store: &mut Store<()>, script: &str, report: &mut SuiteReport) {
        for recorded in &self.recorded {
            let location = format!("{script}:{}: instance {}", recorded.line, recorded.instance.number());
            report.r3_traces += 1;
            let verdict = recorded
                .instance
                .finish(&mut *store)
                .map_err(|error| Failure::Other(format!("cannot finish the recording: {error}")))
                .and_then(|trace| {
                    let mut limits = recorded.instance.warnings();
                    limits.retain(|warning| {
                        warning.contains("recorded as null") || warning.contains("a replay cannot")
                    });
                    limits.extend(recorded.limits.iter().cloned());
                    replay_and_check(&self.dir, &trace, &recorded.bytes, &limits)
                });
            match verdict {
                Ok(()) => report.r3_replays_checked += 1,
                Err(Failure::Other(message)) => {
                    report.r3_replay_failures += 1;
                    report.failures.push(format!("{location}: r3 replay: {message}"));
                }
                Err(Failure::KnownLimit(message)) => {
                    report.r3_replay_failures += 1;
                    report.r3_known_limits.push(format!("{location}: r3 replay: {message}"));
                }
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

enum Failure {
    Other(String),
    /// A failure the documentation lists as a known limit of recording or replay, met by this
    /// recording: functions of another instance recorded as null, an imported memory or table
    /// with a lower maximum than declared, import calls of the start function.
    KnownLimit(String),
}

/// The engine replays run on (as `r3 check` and `r3 run`), one for all scripts.
fn replay_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(link::engine)
}

/// `Ok`: checked equal and the merged replay ran as recorded.
/// `limits`: the known limits the recording met (see [`Failure::KnownLimit`]).
fn replay_and_check(
    dir: &Path,
    trace_path: &Path,
    original: &[u8],
    limits: &[String],
) -> Result<(), Failure> {
    let other = |message: String| Failure::Other(message);
    let recorded = check::read_trace(trace_path).map_err(|error| other(error.to_string()))?;
    let stem = trace_path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let name = format!("{stem}.wasm");
    let host = replay::generate(&recorded, original, &name)
        .map_err(|error| other(format!("cannot generate the host module: {error}")))?;

    // The two-module form, with the original recorded: its trace must equal the recorded one.
    let replay_dir = ReplayDir {
        dir: dir.to_path_buf(),
        host: host.bytes.clone(),
        section: host.section.clone(),
        original_path: dir.join(&name),
        original: original.to_vec(),
    };
    let out = dir.join(format!("check-{stem}"));
    std::fs::create_dir_all(&out)
        .map_err(|error| other(format!("cannot create {}: {error}", out.display())))?;
    let recorded_again = replay_dir.record(replay_engine(), &out);
    let limit = |message: String| match limits.first() {
        Some(known) => Failure::KnownLimit(format!("{message} (known limit: {known})")),
        None => other(message),
    };
    let (segments, replayed_path) = match recorded_again {
        Ok(recorded_again) => recorded_again,
        // docs/replay.md, "Linking order": then the merged replay must run as recorded.
        Err(error) if error.to_string().contains("before the host module was instantiated") => {
            run_merged_replay(&host, original)?;
            let message = "the two-module form cannot replay import calls of the start function; \
                           the merged replay ran as recorded";
            return Err(Failure::KnownLimit(message.into()));
        }
        Err(error) => return Err(limit(format!("the two-module replay failed: {error}"))),
    };
    let replayed = check::read_trace(&replayed_path).map_err(|error| other(error.to_string()))?;
    let _ = std::fs::remove_dir_all(&out);
    if let Err(mismatch) = check::compare(&recorded, &replayed) {
        return Err(limit(format!(
            "the replay's trace differs from the recorded one: {}",
            describe(&mismatch)
        )));
    }
    unexpected(&segments).map_err(|message| limit(format!("two-module replay: {message}")))?;
    run_merged_replay(&host, original)
}

/// Imported memories and tables whose actual maximum is below the declared one: the trace
/// does not carry it (docs/trace-format.md, "Known limits").
fn linking_limits(store: &Store<()>, compiled: &Compiled, imports: &[Extern]) -> Vec<String> {
    let mut limits = Vec::new();
    for (import, actual) in compiled.module.imports().iter().zip(imports) {
        let (declared, actual, kind) = match (&import.ty, actual) {
            (wasmtime::ExternType::Memory(declared), Extern::Memory(memory)) => {
                (declared.maximum(), memory.ty(store).maximum(), "memory")
            }
            (wasmtime::ExternType::Table(declared), Extern::Table(table)) => {
                (declared.maximum(), table.ty(store).maximum(), "table")
            }
            _ => continue,
        };
        if let Some(actual) = actual.filter(|actual| declared.is_none_or(|declared| *actual < declared)) {
            let declared = declared.map_or("none".to_string(), |declared| declared.to_string());
            limits.push(format!(
                "the imported {kind} {}.{} has maximum {actual}, declared {declared}; traces do not carry it",
                import.module, import.name
            ));
        }
    }
    limits
}

/// Merges and runs `replay.wasm`.
fn run_merged_replay(host: &replay::HostModule, original: &[u8]) -> Result<(), Failure> {
    let other = |message: String| Failure::Other(message);
    let merged =
        merge::merge(&host.bytes, original).map_err(|error| other(format!("cannot merge: {error}")))?;
    let segments = run_merged(&merged, &host.section.segments)
        .map_err(|error| other(format!("the merged replay failed: {error:#}")))?;
    unexpected(&segments).map_err(|message| other(format!("merged replay: {message}")))
}

/// The merged module as `link::run_merged` runs it, without a file.
fn run_merged(bytes: &[u8], segments: &[r3_replay::section::Segment]) -> Result<Vec<SegmentReport>> {
    let engine = replay_engine();
    let module = Module::new(engine, bytes)?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok(link::run_segments(&mut store, instance, segments, true))
}

/// The first segment that ended otherwise than recorded.
fn unexpected(segments: &[SegmentReport]) -> Result<(), String> {
    match segments.iter().find(|segment| !segment.as_expected) {
        Some(segment) => Err(segment.to_string()),
        None => Ok(()),
    }
}

/// The first divergent event of both traces.
fn describe(mismatch: &Mismatch) -> String {
    match mismatch {
        Mismatch::Event { index, expected, actual, .. } => {
            let show = |event: &Option<Box<Event>>| {
                event.as_deref().map_or("(none: the trace ends)".into(), check::event_json)
            };
            format!("event {index}: recorded {}, replayed {}", show(expected), show(actual))
        }
        other => other.to_string(),
    }
}

//! (c) record → replay → check: a generated module driven by a generated host (import results
//! and export calls from the input) is recorded natively; its trace becomes a replay, whose
//! own trace must equal the recorded one (as `r3 check`), and the merged replay must run as
//! recorded (as `r3 run`).

use super::host::{self, Answers};
use r3_hooks::Event;
use r3_hooks::record::native::{NativeError, RecordedInstance, Recorder, RecordingModule};
use r3_replay::check::{self, render};
use r3_replay::link::{self, ReplayDir, SegmentReport};
use r3_replay::{merge, replay};
use std::path::Path;
use std::sync::OnceLock;
use wasmtime::{Engine, Store, Val};

/// What `wasm_smith::Module::ensure_termination` gives each instance: loops and recursion
/// trap once it is used up, as the recorder's engine has no fuel of its own.
const TERMINATION_FUEL: u32 = 2_000;

/// The file name of the original module in the replay folder.
const ORIGINAL: &str = "fuzz.wasm";

pub fn record_replay_check(data: &[u8]) -> Result<(), String> {
    let Some((bytes, mut input)) = super::generate(data, Some(TERMINATION_FUEL)) else { return Ok(()) };
    let dir = tempfile::Builder::new()
        .prefix("r3-fuzz-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary folder: {error}"))?;
    // A failure keeps the folder (module, trace, replay) to look into.
    let checked = record_and_check(dir.path(), &bytes, &mut input);
    checked.map_err(|error| format!("{error} (files in {})", dir.keep().display()))
}

/// Records the module and host that `data` generates into `dir` (`fuzz.wasm`, `fuzz-0.r3`);
/// the trace, if the instance lived and the recording ended.
pub fn record_generated(dir: &Path, data: &[u8]) -> Result<Option<std::path::PathBuf>, String> {
    let Some((bytes, mut input)) = super::generate(data, Some(TERMINATION_FUEL)) else { return Ok(None) };
    record(dir, &bytes, &mut input)
}

fn record_and_check(dir: &Path, bytes: &[u8], input: &mut arbitrary::Unstructured) -> Result<(), String> {
    let Some(trace_path) = record(dir, bytes, input)? else { return Ok(()) };
    let recorded = check::read_trace(&trace_path).map_err(|error| error.to_string())?;
    if ran_out_of_stack(&recorded.events) {
        return Ok(());
    }
    let host = replay::generate(&recorded, bytes, ORIGINAL)
        .map_err(|error| format!("cannot generate the host module: {error}"))?;
    let replay_dir = ReplayDir {
        dir: dir.to_path_buf(),
        host: host.bytes.clone(),
        section: host.section.clone(),
        original_path: dir.join(ORIGINAL),
        original: bytes.to_vec(),
    };
    check_two_modules(&replay_dir, &recorded, &dir.join("check"))?;
    run_merged(dir, &host.bytes, bytes)
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(link::engine)
}

/// Records the host's calls into `dir`; the trace, or `None` if there is none to replay:
/// instantiation failed (the start function trapped) or the recording stopped.
fn record(
    dir: &Path,
    bytes: &[u8],
    input: &mut arbitrary::Unstructured,
) -> Result<Option<std::path::PathBuf>, String> {
    let module = RecordingModule::new(engine(), bytes, Some("fuzz"))
        .map_err(|error| format!("cannot be recorded: {error}"))?;
    let mut store = Store::new(engine(), ());
    let answers_from = input.bytes(input.len() / 2).unwrap_or_default();
    let answers = Answers::new(answers_from);
    let imports = module
        .imports()
        .iter()
        .map(|import| host::import(&mut store, &import.ty, &answers))
        .collect::<Result<Vec<_>, _>>()?;
    let instance = match Recorder::new(dir).instantiate(&mut store, &module, &imports) {
        Ok(instance) => instance,
        Err(NativeError::Instantiate { .. }) => return Ok(None),
        Err(error) => return Err(format!("cannot instantiate recorded: {error}")),
    };
    for (name, args) in host::calls(&exported_functions(&mut store, &instance), input) {
        host::write_exports(&mut store, instance.exports(), input);
        call(&mut store, &instance, &name, &args);
    }
    // docs/trace-format.md, "Known limits": memory 0 grown so close to 4 GiB that its shadow
    // cannot follow; the trace ends without an `end` event, which `r3 check` reports.
    if instance.warnings().iter().any(|warning| warning.contains("recording stops")) {
        return Ok(None);
    }
    instance.finish(&mut store).map(Some).map_err(|error| format!("cannot finish the recording: {error}"))
}

fn exported_functions(
    store: &mut Store<()>,
    instance: &RecordedInstance,
) -> Vec<(String, wasmtime::FuncType)> {
    instance
        .exports()
        .iter()
        .filter_map(|(name, export)| Some((name.clone(), export.clone().into_func()?.ty(&*store))))
        .collect()
}

/// A recorded call; how it ends is in the trace.
fn call(store: &mut Store<()>, instance: &RecordedInstance, name: &str, args: &[Val]) {
    let Some(func) = instance.get_func(name) else { return };
    let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
    let _ = func.call(&mut *store, args, &mut results);
}

/// Whether a call ran out of stack: recorded code uses more of it per frame than the replayed
/// original, so the replay may get deeper, and the runs are not comparable.
fn ran_out_of_stack(events: &[Event]) -> bool {
    events.iter().any(
        |event| matches!(event, Event::ExportTrap { message } if message.contains("call stack exhausted")),
    )
}

/// The two-module form with the original recorded: the same trace, every segment as recorded.
fn check_two_modules(replay_dir: &ReplayDir, recorded: &r3_hooks::Trace, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|error| format!("cannot create {}: {error}", out.display()))?;
    let (segments, replayed_path) = match replay_dir.record(engine(), out) {
        Ok(recorded_again) => recorded_again,
        // docs/replay.md, "Linking order": a known limit; the merged replay still must run.
        Err(error) if error.to_string().contains("before the host module was instantiated") => return Ok(()),
        Err(error) => return Err(format!("the two-module replay failed: {error}")),
    };
    let replayed = check::read_trace(&replayed_path).map_err(|error| error.to_string())?;
    check::compare(recorded, &replayed)
        .map_err(|mismatch| format!("r3 check: {}", render(&mismatch, recorded, &replayed, 2)))?;
    as_recorded(&segments, "two-module replay")
}

/// `replay.wasm`, as `r3 replay` writes it and `r3 run` runs it.
fn run_merged(dir: &Path, host: &[u8], original: &[u8]) -> Result<(), String> {
    let merged = merge::merge(host, original).map_err(|error| format!("cannot merge: {error}"))?;
    let path = dir.join("replay.wasm");
    std::fs::write(&path, merged).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    let segments = link::run_merged(&path).map_err(|error| format!("the merged replay failed: {error}"))?;
    as_recorded(&segments, "merged replay")
}

fn as_recorded(segments: &[SegmentReport], what: &str) -> Result<(), String> {
    match segments.iter().find(|segment| !segment.as_expected) {
        Some(segment) => Err(format!("{what}: {segment}")),
        None => Ok(()),
    }
}

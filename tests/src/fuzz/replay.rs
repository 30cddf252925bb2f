//! (c) record → replay → check: a generated module driven by a generated host (import results
//! and export calls from the input) is recorded natively; its trace becomes a replay, whose
//! own trace must equal the recorded one (as `r3 check`), and the merged replay must run as
//! recorded (as `r3 run`).

use super::host::{self, Answers};
use super::{NO_MODULE, Verdict};
use r3_hooks::record::native::{NativeError, RecordedInstance, Recorder, RecordingModule};
use r3_replay::check::{self, render};
use r3_replay::link::{self, ReplayDir, SegmentReport};
use r3_replay::{merge, replay};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wasmtime::{Engine, Store, Trap, Val};

/// What `wasm_smith::Module::ensure_termination` gives each instance: loops and recursion
/// trap once it is used up, as the recorder's engine has no fuel of its own.
const TERMINATION_FUEL: u32 = 2_000;

/// The file name of the original module in the replay folder.
const ORIGINAL: &str = "fuzz.wasm";

// Why an input is not checked: a resource limit or a known limit, not behaviour.

/// A call of the recording ran out of stack (wasmtime's `call stack exhausted`), in the
/// module's code (`export_trap`) or in an import it called (`import_throw`, `export_throw`):
/// the replay's frames differ from the recording's, so it runs out at another depth.
pub const OUT_OF_STACK: &str = "the recording ran out of stack";
/// The start function trapped: nothing is recorded.
const START_TRAPPED: &str = "the start function trapped";
/// docs/trace-format.md, "Known limits": memory 0 grown so close to 4 GiB that its shadow
/// cannot follow; the recorder stops, the trace has no `end` event.
const RECORDING_STOPPED: &str = "the recording stopped (memory 0 grown too far)";

pub fn record_replay_check(data: &[u8]) -> Result<Verdict, String> {
    let Some((bytes, input)) = super::generate(data, Some(TERMINATION_FUEL)) else {
        return Ok(Verdict::Skipped(NO_MODULE));
    };
    record_replay_module(&bytes, input.take_rest())
}

/// The property for a given module and host input (what [`record_replay_check`] takes from
/// the last quarter of its bytes), e.g. a hand-written module.
pub fn record_replay_module(module: &[u8], host: &[u8]) -> Result<Verdict, String> {
    let dir = tempfile::Builder::new()
        .prefix("r3-fuzz-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary folder: {error}"))?;
    // A failure keeps the folder (module, trace, replay) to look into.
    let checked = record_and_check(dir.path(), module, &mut arbitrary::Unstructured::new(host));
    checked.map_err(|error| format!("{error} (files in {})", dir.keep().display()))
}

/// Records the module and host that `data` generates into `dir` (`fuzz.wasm`, `fuzz-0.r3`);
/// the trace, if the instance lived and the recording ended.
pub fn record_generated(dir: &Path, data: &[u8]) -> Result<Option<PathBuf>, String> {
    let Some((bytes, mut input)) = super::generate(data, Some(TERMINATION_FUEL)) else { return Ok(None) };
    Ok(match record(dir, &bytes, &mut input)? {
        Recording::Trace { path, .. } => Some(path),
        Recording::None(_) => None,
    })
}

fn record_and_check(
    dir: &Path,
    bytes: &[u8],
    input: &mut arbitrary::Unstructured,
) -> Result<Verdict, String> {
    let trace_path = match record(dir, bytes, input)? {
        Recording::Trace { out_of_stack: true, .. } => return Ok(Verdict::Skipped(OUT_OF_STACK)),
        Recording::Trace { path, out_of_stack: false } => path,
        Recording::None(reason) => return Ok(Verdict::Skipped(reason)),
    };
    let recorded = check::read_trace(&trace_path).map_err(|error| error.to_string())?;
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
    run_merged(dir, &host.bytes, bytes)?;
    Ok(Verdict::Holds)
}

/// The engine recordings are made on, as `r3 record` and `r3 check` make them.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(link::engine)
}

/// The engine the two-module replay is recorded on for the check: as [`engine`], with twice
/// wasmtime's default stack (512 KiB). The replay's frames are not the recording's (the host
/// module's code instead of the generated host's, one more call at the top), so at the same
/// limit it may run out of stack a few calls earlier where the recording just fitted; with
/// twice the stack a replay that runs out of it is a finding, not a resource limit.
fn replay_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = link::config();
        config.max_wasm_stack(1 << 20);
        Engine::new(&config).expect("the replay engine's configuration is valid")
    })
}

/// What recording gave.
enum Recording {
    /// The trace, and whether a call ran out of stack.
    Trace { path: PathBuf, out_of_stack: bool },
    /// No trace to replay, for this reason.
    None(&'static str),
}

/// Records the host's calls into `dir`.
fn record(dir: &Path, bytes: &[u8], input: &mut arbitrary::Unstructured) -> Result<Recording, String> {
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
        Err(NativeError::Instantiate { .. }) => return Ok(Recording::None(START_TRAPPED)),
        Err(error) => return Err(format!("cannot instantiate recorded: {error}")),
    };
    let mut out_of_stack = false;
    for (name, args) in host::calls(&exported_functions(&mut store, &instance), input) {
        host::write_exports(&mut store, instance.exports(), input);
        out_of_stack |= call(&mut store, &instance, &name, &args);
    }
    if instance.warnings().iter().any(|warning| warning.contains("recording stops")) {
        return Ok(Recording::None(RECORDING_STOPPED));
    }
    let path =
        instance.finish(&mut store).map_err(|error| format!("cannot finish the recording: {error}"))?;
    Ok(Recording::Trace { path, out_of_stack })
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

/// A recorded call (how it ends is in the trace); whether it ran out of stack. The host sees
/// the trap itself, also where the trace has an `import_throw`: the stack ran out in a
/// function the import called (the recorder's forwarder, or the host's own code), which is an
/// exception out of the import for the module and its recording.
fn call(store: &mut Store<()>, instance: &RecordedInstance, name: &str, args: &[Val]) -> bool {
    let Some(func) = instance.get_func(name) else { return false };
    let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
    let outcome = func.call(&mut *store, args, &mut results);
    matches!(outcome, Err(error) if matches!(error.downcast_ref::<Trap>(), Some(Trap::StackOverflow)))
}

/// The two-module form with the original recorded: the same trace, every segment as recorded.
fn check_two_modules(replay_dir: &ReplayDir, recorded: &r3_hooks::Trace, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|error| format!("cannot create {}: {error}", out.display()))?;
    let (segments, replayed_path) = match replay_dir.record(replay_engine(), out) {
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

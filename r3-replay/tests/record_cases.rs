//! Every host-program case in tests/r3/ recorded with `r3 record -- node CASE.mjs CASE.wasm`; the
//! traces, as text, are snapshots. Each trace must also survive text -> binary -> text.
//!
//! Then every trace is replayed (`r3 replay`; the host module's text is a snapshot too) and the
//! replay must check faithful (`r3 check`), run as recorded on wasmtime and in node (two-module
//! form) and as one merged module. The exceptions are known limits, listed with their reason
//! in [`KNOWN_LIMITS`]; a listed step that starts to pass fails the test too, so the list stays
//! true.

use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/r3")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/r3 exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "wat").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

const NESTED_TRAP: &str = "the host survived a trap of a nested export call";
const UNREACHABLE: &str = "plain linking cannot reach a function O neither exports nor tables";

/// (case, step, why the step fails).
const KNOWN_LIMITS: &[(&str, Step, &str)] = &[
    ("import_catches_export_trap", Step::Check, NESTED_TRAP),
    ("import_catches_export_trap", Step::CheckNode, NESTED_TRAP),
    ("import_catches_export_trap", Step::RunWasmtime, NESTED_TRAP),
    ("import_catches_export_trap", Step::RunNode, NESTED_TRAP),
    ("import_catches_export_trap", Step::RunMerged, NESTED_TRAP),
    ("funcref_result_called_by_host", Step::CheckNode, UNREACHABLE),
    ("funcref_result_called_by_host", Step::RunWasmtime, UNREACHABLE),
    ("funcref_result_called_by_host", Step::RunNode, UNREACHABLE),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Check,
    CheckNode,
    RunWasmtime,
    RunNode,
    RunMerged,
}

/// Records one case; returns the program's stdout and its traces printed as text.
fn record(name: &str, work: &Path) -> Result<(String, Vec<PathBuf>), String> {
    let wasm = work.join(format!("{name}.wasm"));
    let wat = cases_dir().join(format!("{name}.wat"));
    let bytes = wat::parse_file(&wat).map_err(|error| format!("{}: {error}", wat.display()))?;
    std::fs::write(&wasm, bytes).map_err(|error| error.to_string())?;
    let out = work.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_r3"))
        .args(["record", "-o"])
        .arg(&out)
        .arg("--")
        .arg(tests::recording_node())
        .arg(cases_dir().join(format!("{name}.mjs")))
        .arg(&wasm)
        .output()
        .map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status));
    }
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|error| format!("no trace directory: {error}\n{stderr}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "r3"))
        .collect();
    traces.sort();
    let mut text = format!("stdout:\n{stdout}");
    for path in &traces {
        let trace = Trace::read(&std::fs::read(path).unwrap())
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let printed = String::from_utf8(trace.to_bytes(Encoding::Text)).unwrap();
        let binary = Trace::read(printed.as_bytes()).unwrap().to_bytes(Encoding::Binary);
        if Trace::read(&binary).unwrap() != trace {
            return Err(format!("{}: text -> binary is lossy", path.display()));
        }
        text.push_str(&format!("\n{}:\n{printed}", path.file_name().unwrap().to_string_lossy()));
    }
    Ok((text, traces))
}

fn r3(args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let output =
        Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().map_err(|error| error.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() { Ok(stderr) } else { Err(stderr) }
}

/// Replays one trace; returns the host module's text and the steps that failed.
fn replay(trace: &Path, work: &Path) -> Result<(String, Vec<(Step, String)>), String> {
    let dir = work.join(format!("replay-{}", trace.file_stem().unwrap().to_string_lossy()));
    r3(&[OsStr::new("replay"), trace.as_os_str(), OsStr::new("-o"), dir.as_os_str()])?;
    let host = std::fs::read(dir.join("host.wasm")).map_err(|error| error.to_string())?;
    let text = wasmprinter::print_bytes(&host).map_err(|error| error.to_string())?;
    let merged = dir.join("replay.wasm");
    let node = tests::recording_node();
    let steps: [(Step, Vec<&OsStr>); 5] = [
        (Step::Check, vec![OsStr::new("check"), trace.as_os_str(), dir.as_os_str()]),
        (
            Step::CheckNode,
            vec![
                OsStr::new("check"),
                OsStr::new("--engine"),
                OsStr::new("node"),
                OsStr::new("--node"),
                node.as_os_str(),
                trace.as_os_str(),
                dir.as_os_str(),
            ],
        ),
        (Step::RunWasmtime, vec![OsStr::new("run"), dir.as_os_str()]),
        (Step::RunNode, vec![OsStr::new("run"), OsStr::new("--engine"), OsStr::new("node"), dir.as_os_str()]),
        (Step::RunMerged, vec![OsStr::new("run"), merged.as_os_str()]),
    ];
    let failed = steps
        .into_iter()
        .filter_map(|(step, args)| {
            let result = if step == Step::RunMerged && !merged.exists() {
                Err("no replay.wasm".to_string())
            } else {
                r3(&args).map(drop)
            };
            result.err().map(|error| (step, error))
        })
        .collect();
    Ok((text, failed))
}

fn known_limit(case: &str, step: Step) -> bool {
    KNOWN_LIMITS.iter().any(|&(known, known_step, _)| known == case && known_step == step)
}

/// Replays every trace of a case; returns what went otherwise than expected.
fn replay_case(name: &str, traces: &[PathBuf], work: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut failed_steps = Vec::new();
    for trace in traces {
        match replay(trace, work) {
            Ok((host, failed)) => {
                let snapshot = format!("replay_{}", trace.file_stem().unwrap().to_string_lossy());
                if std::panic::catch_unwind(|| insta::assert_snapshot!(snapshot.as_str(), host)).is_err() {
                    problems.push(format!("{name}: host module snapshot {snapshot} differs"));
                }
                for (step, error) in failed {
                    if !known_limit(name, step) {
                        problems.push(format!("{name}: {step:?} failed: {error}"));
                    }
                    failed_steps.push(step);
                }
            }
            Err(error) => problems.push(format!("{name}: r3 replay failed: {error}")),
        }
    }
    for &(_, step, why) in KNOWN_LIMITS.iter().filter(|(known, _, _)| *known == name) {
        if !failed_steps.contains(&step) {
            problems.push(format!("{name}: {step:?} passes now; remove it from KNOWN_LIMITS ({why})"));
        }
    }
    problems
}

#[test]
fn host_program_cases() {
    let names = cases();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    for name in &names {
        let work = tests::fresh_temp_dir(&format!("r3-case-{name}"));
        match record(name, &work) {
            Ok((text, traces)) => {
                let result = std::panic::catch_unwind(|| insta::assert_snapshot!(name.as_str(), text));
                if result.is_err() {
                    failures.push(format!("{name}: snapshot differs"));
                }
                failures.extend(replay_case(name, &traces, &work));
            }
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

//! The same input gives byte-identical traces, replays and recording instrumentation, on
//! every run and with one or two rayon threads.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file below `dir` by name, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| (PathBuf::from(entry.file_name()), std::fs::read(entry.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// Runs `command` (an `r3` or `wasabi` command line writing into `out`) with 1, 2 and 2
/// threads, each into a fresh `out`; the files written each time must be the same.
fn same_outputs(program: &str, command: impl Fn(&Path) -> Vec<String>) -> Vec<(PathBuf, Vec<u8>)> {
    let root = tempfile::tempdir().unwrap();
    let runs: Vec<Vec<(PathBuf, Vec<u8>)>> = ["1", "2", "2"]
        .iter()
        .enumerate()
        .map(|(run, threads)| {
            let out = root.path().join(format!("run-{run}"));
            let output =
                Command::new(program).args(command(&out)).env("RAYON_NUM_THREADS", threads).output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            files(&out)
        })
        .collect();
    assert!(!runs[0].is_empty(), "nothing written");
    for (run, files) in runs.iter().enumerate().skip(1) {
        assert_eq!(names(files), names(&runs[0]), "run {run} wrote other files");
        for ((name, bytes), (_, first)) in files.iter().zip(&runs[0]) {
            assert!(bytes == first, "{} differs between run 0 and run {run}", name.display());
        }
    }
    runs.into_iter().next().unwrap_or_default()
}

fn names(files: &[(PathBuf, Vec<u8>)]) -> Vec<&PathBuf> {
    files.iter().map(|(name, _)| name).collect()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

/// A generated module with imports, recorded twice in process: the same trace.
fn generated_recording(dir: &Path) -> PathBuf {
    let traces: Vec<(PathBuf, Vec<u8>)> = ["a", "b"]
        .iter()
        .map(|run| {
            let data = tests::fuzz::seed_bytes("determinism", 3, 4096);
            let trace =
                tests::fuzz::record_generated(&dir.join(run), &data).unwrap().expect("seed 3 records");
            let bytes = std::fs::read(&trace).unwrap();
            (trace, bytes)
        })
        .collect();
    assert!(traces[0].1.len() > 100, "a trivial trace");
    assert!(traces[0].1 == traces[1].1, "two recordings of the same run differ");
    traces[0].0.clone()
}

#[test]
fn recordings_replays_and_instrumentation_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let trace = generated_recording(dir.path());
    let r3 = env!("CARGO_BIN_EXE_r3");
    let module = trace.with_file_name("fuzz.wasm").display().to_string();
    let trace = trace.display().to_string();
    let replay = same_outputs(r3, |out| {
        vec![
            "replay".into(),
            trace.clone(),
            "-o".into(),
            out.display().to_string(),
            "--module".into(),
            module.clone(),
        ]
    });
    assert!(names(&replay).contains(&&PathBuf::from("host.wasm")));

    let fib = example("fib.wat");
    let record = |out: &Path| {
        vec![
            "record".into(),
            "-o".into(),
            out.display().to_string(),
            fib.clone(),
            "--invoke".into(),
            "fib".into(),
            "30".into(),
        ]
    };
    let recorded = same_outputs(r3, record);
    assert!(names(&recorded).contains(&&PathBuf::from("fib-0.r3")));

    // `wasabi --hooks r3`, as built into r3 (`wasabi/tests/cli.rs` covers the other hooks).
    let fib = example("fib.wasm");
    let instrumented = same_outputs(r3, |out| {
        vec!["instrument".into(), "-o".into(), out.display().to_string(), fib.clone()]
    });
    assert_eq!(instrumented.len(), 2, "fib.wasm and fib.wasabi.js");
}

//! `r3 bench`: a suite folder whose benchmarks run on the engines found, with metadata that
//! says where each came from; and `r3 record` into a folder that already holds its traces.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn work_dir(name: &str) -> tests::TempDir {
    tests::fresh_temp_dir(&format!("r3-bench-cli-{name}"))
}

fn succeeded(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{}\n{stderr}", output.status);
    stderr
}

fn r3() -> Command {
    Command::new(env!("CARGO_BIN_EXE_r3"))
}

fn record_fib(out: &Path) -> String {
    let output = r3()
        .args(["record", "-o"])
        .arg(out)
        .arg("--")
        .arg(tests::recording_node())
        .arg(examples().join("fib.mjs"))
        .output()
        .unwrap();
    succeeded(output)
}

#[test]
fn recording_again_into_the_same_folder_reports_the_rewritten_trace() {
    let work = work_dir("again");
    let trace = work.join("fib-0.r3");
    assert!(record_fib(&work).contains(&trace.display().to_string()));
    let stderr = record_fib(&work);
    assert!(stderr.contains(&trace.display().to_string()), "second recording:\n{stderr}");
    assert!(!stderr.contains("no trace written"), "{stderr}");
}

#[test]
fn a_suite_runs_on_the_engines_found_and_describes_its_benchmarks() {
    let work = work_dir("suite");
    let recording = work.join("recording");
    record_fib(&recording);
    let suite = work.join("suite");
    let output = r3()
        .args(["bench", "-o"])
        .arg(&suite)
        .args(["--app", "fib", "--package", "examples", "--version", "1", "--source", "examples/fib.mjs"])
        .arg(recording.join("fib-0.r3"))
        .output()
        .unwrap();
    succeeded(output);
    let bench = suite.join("fib/fib-0");
    for file in ["replay.wasm", "fib.wasm", "metadata.json"] {
        assert!(bench.join(file).is_file(), "{file} missing");
    }
    assert_eq!(
        std::fs::read(bench.join("fib.wasm")).unwrap(),
        std::fs::read(examples().join("fib.wasm")).unwrap()
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bench.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(metadata["name"], "fib/fib-0");
    assert_eq!(metadata["package"], "examples");
    assert_eq!(metadata["provenance"]["source"], "examples/fib.mjs");
    assert_eq!(metadata["expected"]["all_return"], true);
    assert!(metadata["events"]["by_kind"]["export_call"].as_u64().unwrap() >= 3);
    assert_eq!(
        metadata["sizes"]["replay_bytes"],
        std::fs::metadata(bench.join("replay.wasm")).unwrap().len()
    );

    let json = work.join("results.json");
    let output = Command::new("node")
        .arg(suite.join("run.mjs"))
        .args(["--only", "node,r3", "--json"])
        .arg(&json)
        .env("R3", env!("CARGO_BIN_EXE_r3"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("2 of 2 engines (node, r3) ran every benchmark"), "{stdout}");
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(results["results"][0]["times"]["r3"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_trace_that_cannot_be_packaged_is_reported_and_leaves_nothing_behind() {
    let work = work_dir("bad");
    std::fs::copy(examples().join("fib.wasm"), work.join("fib.wasm")).unwrap();
    std::fs::write(work.join("fib-0.r3"), b"not a trace").unwrap();
    let suite = work.join("suite");
    let output = r3().args(["bench", "-o"]).arg(&suite).arg(work.join("fib-0.r3")).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fib-0.r3") && stderr.contains("0 of 1 replays packaged"), "{stderr}");
    let left: Vec<_> =
        std::fs::read_dir(&suite).unwrap().flatten().filter(|entry| entry.path().is_dir()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

//! Every corpus driver recorded with `r3 record -- node DRIVER`: the program prints the same
//! digest as without recording, every module instance leaves a readable trace, and each trace
//! survives text -> binary unchanged. Then every trace is replayed and must check faithful on
//! wasmtime and in node, and its merged replay.wasm must run as recorded, except for the
//! known limits listed with their reason.

use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::path::Path;
use std::process::Command;

const DYNAMIC_LINKING: &str =
    "dynamic linking: functions of other instances in a shared table, calls through it unseen";
const HOST_VALUES: &str = "host values (externref) need GC in a merged module; not merged yet";
const WASM_TABLE_WRITES: &str =
    "the JS recorder sees table writes through the JS API only, not the host module's table.set";
const GO_EXIT: &str = "under the JS recorder the replay of runtime.getRandomData traps (not yet understood)";

/// (driver, step, why the step fails for some of its traces).
const KNOWN_LIMITS: &[(&str, &str, &str)] = &[
    ("treesitter-parse", "check", DYNAMIC_LINKING),
    ("treesitter-parse", "check-node", DYNAMIC_LINKING),
    ("treesitter-parse", "merged", DYNAMIC_LINKING),
    ("rollup-bundle", "merged", HOST_VALUES),
    ("rollup-bundle", "check-node", WASM_TABLE_WRITES),
    ("esbuild-transform", "check-node", GO_EXIT),
];

fn check_traces(dir: &Path) -> Result<usize, String> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).map_err(|error| format!("no traces: {error}"))? {
        let path = entry.map_err(|error| error.to_string())?.path();
        if path.extension().is_none_or(|ext| ext != "r3") {
            continue;
        }
        let trace = Trace::read(&std::fs::read(&path).unwrap())
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let text = trace.to_bytes(Encoding::Text);
        let again = Trace::read(&text).map_err(|error| format!("{}: text: {error}", path.display()))?;
        if again != trace || again.to_bytes(Encoding::Binary) != trace.to_bytes(Encoding::Binary) {
            return Err(format!("{}: text <-> binary is lossy", path.display()));
        }
        if !matches!(trace.events.last(), Some(r3_hooks::Event::End { .. })) {
            return Err(format!("{}: no end event", path.display()));
        }
        count += 1;
    }
    Ok(count)
}

/// Replays every trace in `dir`; returns the failed steps (step, trace, error).
fn replay_all(dir: &Path) -> Vec<(&'static str, String, String)> {
    tests::replay_all(Path::new(env!("CARGO_BIN_EXE_r3")), dir)
}

/// Failed steps not excused by [`KNOWN_LIMITS`], and listed limits that no longer fail.
fn replay_problems(slug: &str, failed: &[(&'static str, String, String)]) -> Result<(), String> {
    let known = |step: &str| KNOWN_LIMITS.iter().any(|&(driver, known, _)| driver == slug && known == step);
    let mut problems: Vec<String> = failed
        .iter()
        .filter(|(step, _, _)| !known(step))
        .map(|(step, trace, error)| format!("{trace}: {step} failed: {error}"))
        .collect();
    for &(_, step, why) in KNOWN_LIMITS.iter().filter(|(driver, _, _)| *driver == slug) {
        if !failed.iter().any(|(failed_step, _, _)| *failed_step == step) {
            problems.push(format!("{step} passes now; remove it from KNOWN_LIMITS ({why})"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

fn record(driver: &Path, out: &Path) -> Result<(), String> {
    let node = tests::recording_node();
    let plain = || {
        let mut command = Command::new(&node);
        command.arg(driver);
        command
    };
    let recorded = || {
        let _ = std::fs::remove_dir_all(out);
        let mut command = Command::new(env!("CARGO_BIN_EXE_r3"));
        command.args(["record", "-o"]).arg(out).arg("--").arg(&node).arg(driver);
        command
    };
    tests::same_digest(plain, recorded)?;
    if check_traces(out)? == 0 {
        return Err("no trace written".into());
    }
    let slug = driver.file_stem().unwrap().to_string_lossy().into_owned();
    replay_problems(&slug, &replay_all(out))
}

#[test]
fn every_corpus_driver_records_with_its_digest_unchanged_and_replays_faithfully() {
    let work = std::env::temp_dir().join(format!("r3-corpus-{}", std::process::id()));
    let failures = tests::failures_over_corpus(|driver, slug| record(driver, &work.join(slug)));
    let _ = std::fs::remove_dir_all(&work);
    assert!(failures.is_empty(), "{} drivers failed:\n{}", failures.len(), failures.join("\n"));
}

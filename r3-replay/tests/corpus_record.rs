//! Every corpus driver recorded with `r3 record -- node DRIVER`: the program prints the same
//! digest as without recording, every module instance leaves a readable trace, and each trace
//! survives text -> binary unchanged.

use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::path::Path;
use std::process::Command;

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
    match check_traces(out)? {
        0 => Err("no trace written".into()),
        _ => Ok(()),
    }
}

#[test]
fn every_corpus_driver_records_with_its_digest_unchanged() {
    let work = std::env::temp_dir().join(format!("r3-corpus-{}", std::process::id()));
    let failures = tests::failures_over_corpus(|driver, slug| record(driver, &work.join(slug)));
    let _ = std::fs::remove_dir_all(&work);
    assert!(failures.is_empty(), "{} drivers failed:\n{}", failures.len(), failures.join("\n"));
}

//! Every corpus driver recorded with `r3 record -- node DRIVER`: the program prints the same
//! digest as without recording, every module instance leaves a readable trace, and each trace
//! survives text -> binary unchanged.

use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn drivers() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/drivers");
    let mut drivers: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("../shared/corpus/drivers exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "mjs"))
        .collect();
    drivers.sort();
    drivers
}

/// The last stdout line: the drivers print their digest there.
fn digest(command: &mut Command) -> Result<String, String> {
    let output =
        command.env("CORPUS_DIR", tests::corpus_dir()).output().map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last() {
        Some(line) if output.status.success() => Ok(line.to_string()),
        _ => Err(format!("{}\n{}", output.status, String::from_utf8_lossy(&output.stderr))),
    }
}

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
    let plain = digest(Command::new(&node).arg(driver))?;
    let recorded = digest(
        Command::new(env!("CARGO_BIN_EXE_r3"))
            .args(["record", "-o"])
            .arg(out)
            .arg("--")
            .arg(&node)
            .arg(driver),
    )?;
    // A driver whose output depends on the clock (fonteditor's font header carries the time)
    // may change its digest between any two runs: a second plain run tells that apart.
    if plain != recorded && digest(Command::new(&node).arg(driver))? != recorded {
        return Err(format!("digest changed: {plain} -> {recorded}"));
    }
    match check_traces(out)? {
        0 => Err("no trace written".into()),
        _ => Ok(()),
    }
}

#[test]
fn every_corpus_driver_records_with_its_digest_unchanged() {
    let drivers = drivers();
    assert!(drivers.len() >= 20, "only {} drivers", drivers.len());
    let work = std::env::temp_dir().join(format!("r3-corpus-{}", std::process::id()));
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(drivers.iter());
    // The programs are single-threaded; two at a time use both cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(driver) = next.lock().unwrap().next() {
                    let slug = driver.file_stem().unwrap().to_string_lossy().into_owned();
                    if let Err(error) = record(driver, &work.join(&slug)) {
                        failures.lock().unwrap().push(format!("{slug}: {error}"));
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&work);
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} drivers failed:\n{}",
        failures.len(),
        drivers.len(),
        failures.join("\n")
    );
}

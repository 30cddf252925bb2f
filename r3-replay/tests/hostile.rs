//! `r3` on hostile input: the spec suite's malformed and invalid modules given to `r3 record`,
//! and truncated and bit-flipped traces given to `r3 replay` and `r3 check`. Each is refused
//! with exit status 1 and a message naming the offset, line or event (or, for a trace still
//! well-formed, handled as any trace), never a panic, and never with half-written outputs.

use assert_cmd::Command;
use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::path::{Path, PathBuf};
use tests::hostile::{self, Input, Verdict};

/// What names the place of a fault in a trace: a byte offset (binary), a line (text), an event
/// index, the header, or the module the trace is of.
const TRACE_PLACES: [&str; 6] = ["offset", "line", "event", "header", "R3 trace", "module"];

fn r3(args: &[&Path]) -> Result<std::process::Output, String> {
    Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().map_err(|error| error.to_string())
}

#[test]
fn record_refuses_every_malformed_and_invalid_spec_module_with_its_offset() {
    let modules = hostile::spec_refused_modules();
    assert!(modules.len() > 500, "only {} modules", modules.len());
    let verdicts = hostile::verdicts(&modules, |module| {
        let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
        let path = dir.path().join("input.wasm");
        std::fs::write(&path, &module.bytes).map_err(|error| error.to_string())?;
        let out = dir.path().join("out");
        let output =
            r3(&[Path::new("record"), Path::new("-o"), &out, &path, Path::new("--invoke"), Path::new("f")])?;
        let verdict = hostile::verdict(&output, &["offset"])?;
        match tests::wasm_files(&out).is_empty() && !out.join("input-0.r3").exists() {
            true => Ok(verdict),
            false => Err("wrote output for a refused module".into()),
        }
    });
    assert!(verdicts.iter().all(|verdict| *verdict == Verdict::Refused));
}

/// A recording of a generated module with imports, and its replay folder.
fn recording(dir: &Path) -> (PathBuf, PathBuf) {
    let trace = (0..200)
        .find_map(|seed| {
            let seed_dir = dir.join(format!("seed-{seed}"));
            let data = tests::fuzz::seed_bytes("hostile", seed, 4096);
            let trace = tests::fuzz::record_generated(&seed_dir, &data).ok().flatten()?;
            let events = Trace::read(&std::fs::read(&trace).ok()?).ok()?.events.len();
            (events >= 12).then_some(trace)
        })
        .expect("a seed records at least 12 events");
    let replay = dir.join("replay");
    let module = trace.with_file_name("fuzz.wasm");
    let output =
        r3(&[Path::new("replay"), &trace, Path::new("-o"), &replay, Path::new("--module"), &module]).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    (trace, replay)
}

/// `r3 replay` and `r3 check` on one corrupted trace.
fn replay_and_check(input: &Input, module: &Path, replay: &Path) -> Result<Verdict, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let trace = dir.path().join("trace.r3");
    std::fs::write(&trace, &input.bytes).map_err(|error| error.to_string())?;
    let out = dir.path().join("out");
    let output = r3(&[Path::new("replay"), &trace, Path::new("-o"), &out, Path::new("--module"), module])?;
    let verdict = hostile::verdict(&output, &TRACE_PLACES)?;
    let written = ["host.wasm", "fuzz.wasm", "run.mjs"].map(|file| out.join(file).is_file());
    match verdict {
        Verdict::Refused if out.exists() => return Err("refused, but wrote the output folder".into()),
        Verdict::Accepted if written.contains(&false) => {
            return Err(format!("accepted, but wrote {written:?}"));
        }
        _ => {}
    }
    let output = r3(&[Path::new("check"), &trace, replay])?;
    hostile::verdict(&output, &TRACE_PLACES).map_err(|error| format!("r3 check: {error}"))?;
    Ok(verdict)
}

#[test]
fn corrupted_traces_are_refused_at_their_fault_or_replayed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, replay) = recording(dir.path());
    let binary = std::fs::read(&trace).unwrap();
    let text = Trace::read(&binary).unwrap().to_bytes(Encoding::Text);
    let copies: Vec<Input> = [("binary", binary), ("text", text)]
        .into_iter()
        .flat_map(|(name, bytes)| hostile::corruptions(&Input { name: format!("{name} trace"), bytes }, 12))
        .collect();
    let module = trace.with_file_name("fuzz.wasm");
    let verdicts = hostile::verdicts(&copies, |input| replay_and_check(input, &module, &replay));
    let refused = verdicts.iter().filter(|verdict| **verdict == Verdict::Refused).count();
    assert!(refused >= copies.len() / 3, "only {refused} of {} corrupted traces refused", copies.len());
}

/// Options of browser recording without `--browser` are refused before anything runs.
#[test]
fn browser_options_need_browser() {
    for option in [["--timeout", "5"], ["--chromium", "chromium"], ["--node", "node"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_r3"))
            .args(["record", option[0], option[1], "--", "node", "missing.mjs"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{option:?}: {stderr}");
        assert!(stderr.contains("go with --browser"), "{option:?}: {stderr}");
        assert!(!stderr.contains("missing.mjs"), "{option:?}: the program ran: {stderr}");
    }
}

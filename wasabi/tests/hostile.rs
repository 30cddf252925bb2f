//! `wasabi` on hostile input: every malformed and invalid module of the spec suite, and
//! truncated and bit-flipped corpus binaries. It refuses them with exit status 1 and an error
//! naming the offset, never panics, and writes either both outputs, valid, or nothing.

use assert_cmd::Command;
use std::path::Path;
use tests::hostile::{self, Input, Verdict};

/// Instruments `input` into a fresh folder with every hook; its verdict, outputs checked.
fn instrument(input: &Input) -> Result<Verdict, String> {
    instrument_with(input, &[])
}

fn instrument_with(input: &Input, hooks: &[&str]) -> Result<Verdict, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let path = dir.path().join("input.wasm");
    std::fs::write(&path, &input.bytes).map_err(|error| error.to_string())?;
    let out = dir.path().join("out");
    let output =
        Command::new(env!("CARGO_BIN_EXE_wasabi")).args(hooks).arg("-o").arg(&out).arg(&path).output();
    let output = output.map_err(|error| error.to_string())?;
    let verdict = hostile::verdict(&output, &["offset"])?;
    match verdict {
        Verdict::Refused if out.exists() => Err("refused, but wrote the output folder".into()),
        Verdict::Accepted => valid_outputs(&out).map(|()| verdict),
        Verdict::Refused => Ok(verdict),
    }
}

fn valid_outputs(out: &Path) -> Result<(), String> {
    let wasm = std::fs::read(out.join("input.wasm")).map_err(|error| format!("no input.wasm: {error}"))?;
    wasmparser::Validator::new().validate_all(&wasm).map_err(|error| format!("invalid output: {error}"))?;
    let files = std::fs::read_dir(out).map_err(|error| error.to_string())?.count();
    match out.join("input.wasabi.js").is_file() && files == 2 {
        true => Ok(()),
        false => Err(format!("{files} files in the output folder, expected input.wasm and input.wasabi.js")),
    }
}

#[test]
fn every_malformed_and_invalid_spec_module_is_refused_with_its_offset() {
    let modules = hostile::spec_refused_modules();
    assert!(modules.len() > 500, "only {} modules found", modules.len());
    let accepted: Vec<&str> = modules
        .iter()
        .zip(hostile::verdicts(&modules, instrument))
        .filter(|(_, verdict)| *verdict == Verdict::Accepted)
        .map(|(module, _)| module.name.as_str())
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}

#[test]
fn corrupted_corpus_binaries_are_refused_cleanly_or_instrumented_validly() {
    let inputs: Vec<Input> = tests::wasm_files(&tests::corpus_dir())
        .into_iter()
        .filter(|path| path.metadata().is_ok_and(|meta| meta.len() < 300_000))
        .take(12)
        .map(|path| Input { name: path.display().to_string(), bytes: std::fs::read(&path).unwrap() })
        .collect();
    assert_eq!(inputs.len(), 12, "twelve corpus binaries under 300 kB");
    let copies: Vec<Input> = inputs.iter().flat_map(|input| hostile::corruptions(input, 4)).collect();
    // All hooks, and the recording instrumentation (`--hooks r3`), which walks bodies its own way.
    for hooks in [&[][..], &["--hooks", "r3"]] {
        let verdicts = hostile::verdicts(&copies, |input| instrument_with(input, hooks));
        let refused = verdicts.into_iter().filter(|verdict| *verdict == Verdict::Refused).count();
        // Most truncations cut a section short; some flips only change an immediate.
        assert!(refused >= copies.len() / 3, "{hooks:?}: only {refused} of {} copies refused", copies.len());
    }
}

/// Found by the corrupted corpus binaries: the instrumenter read operand types, branch labels
/// and call signatures of an instruction before validating it, and panicked on invalid bodies.
#[test]
fn invalid_bodies_are_errors_not_panics() {
    for body in [
        "i32.add drop",
        "br 5",
        "call 99",
        "i32.const 0 call_indirect (type 7)",
        "else",
        "f32.const 0 br_table 3",
    ] {
        let Ok(bytes) = wat::parse_str(format!("(module (table 1 funcref) (func {body}))")) else {
            panic!("`{body}` does not parse")
        };
        let result =
            std::panic::catch_unwind(|| wasabi::instrument(&bytes, &wasabi::HookSet::all()).map(|_| ()));
        let error = result.unwrap_or_else(|_| panic!("`{body}` panicked")).expect_err(body);
        assert!(error.to_string().contains("offset"), "`{body}`: {error}");
    }
}

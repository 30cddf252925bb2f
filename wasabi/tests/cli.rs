//! The `wasabi` command line: outputs, errors, determinism.

use std::path::Path;
use std::process::{Command, Output};

fn wasabi(args: &[&str], threads: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasabi"));
    command.args(args);
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads);
    }
    command.output().expect("wasabi runs")
}

fn temp_dir(name: &str) -> tests::TempDir {
    tests::fresh_temp_dir(&format!("wasabi-cli-{name}"))
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

#[test]
fn writes_module_and_js_like_upstream() {
    let out = temp_dir("outputs");
    let result = wasabi(&["--node", "-o", out.to_str().unwrap(), &example("fib.wat")], None);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let js = std::fs::read_to_string(out.join("fib.wasabi.js")).unwrap();
    assert!(js.contains("Wasabi.register(") && js.trim_end().ends_with("module.exports = Wasabi;"));
    let wasm = std::fs::read(out.join("fib.wasm")).unwrap();
    wasmparser::Validator::new().validate_all(&wasm).unwrap();
}

#[test]
fn unknown_hook_is_an_error_listing_the_valid_ones() {
    let out = temp_dir("unknown-hook");
    let result = wasabi(&["--hooks=binary,bogus", "-o", out.to_str().unwrap(), &example("fib.wat")], None);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("unknown hook `bogus`") && stderr.contains("memory_grow"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing written");
}

#[test]
fn bad_input_names_file_and_offset_and_writes_nothing() {
    let out = temp_dir("bad-input");
    let bytes = std::fs::read(example("fib.wasm")).unwrap();
    let truncated = out.join("truncated.wasm");
    std::fs::write(&truncated, &bytes[..bytes.len() - 7]).unwrap();
    let result = wasabi(&["-o", out.join("out").to_str().unwrap(), truncated.to_str().unwrap()], None);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("truncated.wasm") && stderr.contains("offset 0x"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.join("out").exists(), "no output for bad input");
}

/// Same bytes whatever the run and the thread count, on a real program.
#[test]
fn output_is_identical_across_runs_and_thread_counts() {
    let corpus = tests::corpus_dir();
    let input = tests::wasm_files(&corpus)
        .into_iter()
        .find(|path| path.metadata().unwrap().len() > 500_000)
        .expect("a corpus binary over 500 kB");
    let mut outputs = Vec::new();
    for (run, threads) in ["1", "2", "2"].iter().enumerate() {
        let out = temp_dir(&format!("determinism-{run}"));
        let result = wasabi(&["-o", out.to_str().unwrap(), input.to_str().unwrap()], Some(threads));
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let wasm = std::fs::read(out.join(format!("{stem}.wasm"))).unwrap();
        let js = std::fs::read(out.join(format!("{stem}.wasabi.js"))).unwrap();
        outputs.push((wasm, js));
    }
    assert!(outputs.windows(2).all(|pair| pair[0] == pair[1]), "{} differs between runs", input.display());
}

//! Tests that need node (>= 20): the JS runtime's own test suite, and every corpus program run
//! with all hooks and a no-op analysis, which must print the same digest as the plain run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("wasabi/ is inside the repository").to_path_buf()
}

fn wasabi() -> &'static str {
    env!("CARGO_BIN_EXE_wasabi")
}

#[test]
fn js_runtime_tests_pass() {
    let output = Command::new("node")
        .args(["--test", "tests/js/"])
        .current_dir(repo())
        .env("WASABI_BIN", wasabi())
        .output()
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("# fail 0"), "{stdout}");
}

#[test]
fn corpus_digests_are_unchanged_with_all_hooks() {
    let dir = tests::fresh_temp_dir("wasabi-noop");
    let noop = dir.join("noop.js");
    std::fs::write(&noop, "Wasabi.analysis = {};\n").unwrap();
    let failures = tests::failures_over_corpus(|driver, _| {
        let plain = || {
            let mut command = Command::new("node");
            command.arg(driver);
            command
        };
        let instrumented = || {
            let mut command = Command::new(wasabi());
            command.arg("run").arg("--analysis").arg(&noop).args(["--", "node"]).arg(driver);
            command
        };
        tests::same_digest(plain, instrumented).map(|_| ())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

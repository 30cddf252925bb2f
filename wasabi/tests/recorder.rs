//! The JS recorder's test suite (tests/js/recorder.test.js). It needs node >= 22 for the
//! instrumented modules' second memory, so it runs under `npx -y node@22` (the default node may
//! be older), and the `r3` executable to decode the traces it checks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("wasabi/ is inside the repository").to_path_buf()
}

/// Builds `r3` in the profile of this test's wasabi, so both come from the current sources.
fn r3() -> PathBuf {
    let wasabi = Path::new(env!("CARGO_BIN_EXE_wasabi"));
    let dir = wasabi.parent().expect("the wasabi executable is in a directory");
    let release = dir.file_name().is_some_and(|name| name == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-p", "r3_replay", "--bin", "r3"]).current_dir(repo());
    if release {
        build.arg("--release");
    }
    let output = build.output().expect("cargo runs");
    assert!(output.status.success(), "building r3 failed:\n{}", String::from_utf8_lossy(&output.stderr));
    dir.join("r3")
}

#[test]
fn js_recorder_tests_pass() {
    let r3 = r3();
    let output = Command::new("npx")
        .args(["-y", "node@22", "--test", "tests/js/recorder.test.js"])
        .current_dir(repo())
        .env("WASABI_BIN", env!("CARGO_BIN_EXE_wasabi"))
        .env("R3_BIN", &r3)
        .output()
        .expect("npx is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{report}");
    assert!(stdout.contains("\n# fail 0\n"), "{report}");
    let passed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("# pass "))
        .and_then(|count| count.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed > 0, "no recorder test ran:\n{report}");
}

//! The corpus runner over the whole corpus, as CI runs it: every program records with its
//! digest unchanged and every trace replays faithfully on wasmtime and in node (or fails only
//! in a listed known limit); the benchmark suite it packages runs on three engines.

use std::process::Command;

#[test]
fn every_corpus_program_records_replays_and_checks_end_to_end() {
    let work = tests::fresh_temp_dir("corpus-runner");
    let json = work.join("results.json");
    let output = Command::new(env!("CARGO_BIN_EXE_corpus"))
        .arg("--work")
        .arg(&work)
        .arg("--json")
        .arg(&json)
        .arg("--install")
        .arg(tests::corpus_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let apps: Vec<tests::corpus::AppResult> = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(apps.len(), tests::corpus_drivers().len());
    assert!(stdout.contains(&format!("{} passed, 0 failed", apps.len())), "{stdout}");

    let suite = work.join("suite");
    let node22 = format!("node22={}", tests::recording_node().display());
    let output = Command::new("node")
        .arg(suite.join("run.mjs"))
        .args(["--only", "node,node22,jsc", "--node", &node22, "--min-engines", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the suite (jsc: apt libjavascriptcoregtk-4.0-bin):\n{stdout}");
    assert!(stdout.contains("3 of 3 engines (node, node22, jsc)"), "{stdout}");
}

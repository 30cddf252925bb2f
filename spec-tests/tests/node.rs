//! Spec scripts covering SIMD, bulk memory, reference types and multi-value, run in node
//! through the wasabi JS runtime: original and instrumented modules give the same outcome for
//! every command, and a checking analysis sees well-formed hook calls.

use spec_tests::Suite;
use std::process::Command;

/// (suite, script)
const SCRIPTS: &[(&str, &str)] = &[
    // multi-value
    ("wasm-v2", "block.wast"),
    ("wasm-v2", "call.wast"),
    ("wasm-v2", "func.wast"),
    ("wasm-v2", "loop.wast"),
    // bulk memory
    ("wasm-v2", "bulk.wast"),
    ("wasm-v2", "memory_copy.wast"),
    ("wasm-v2", "memory_fill.wast"),
    ("wasm-v2", "memory_init.wast"),
    // reference types
    ("wasm-v2", "ref_is_null.wast"),
    ("wasm-v2", "table_copy.wast"),
    ("wasm-v2", "table_fill.wast"),
    ("wasm-v2", "table_grow.wast"),
    ("wasm-v2", "select.wast"),
    // SIMD
    ("simd", "simd_i32x4_arith.wast"),
    ("simd", "simd_lane.wast"),
    ("simd", "simd_load.wast"),
    ("simd", "simd_store.wast"),
    ("simd", "simd_bitwise.wast"),
];

#[test]
fn scripts_behave_the_same_in_node_with_all_hooks() {
    let base = tempfile::Builder::new().prefix("spec-node-").tempdir().unwrap();
    let mut problems = Vec::new();
    for (suite, name) in SCRIPTS {
        let scripts = Suite::parse(suite).unwrap().scripts(Some(name));
        let script =
            scripts.iter().find(|script| script.name == *name).unwrap_or_else(|| panic!("no {name}"));
        let dir = base.path().join(name);
        let path = spec_tests::node::generate(name, script.text, &dir).unwrap();
        let output = Command::new("node").arg(&path).output().expect("node is installed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary = stdout.lines().last().unwrap_or_default();
        let parsed: serde_json::Value = match serde_json::from_str(summary) {
            Ok(value) => value,
            Err(_) => {
                problems.push(format!("{name}: {}\n{}", stdout, String::from_utf8_lossy(&output.stderr)));
                continue;
            }
        };
        let failures = parsed["failures"].as_array().unwrap();
        let bad = parsed["badCalls"].as_array().unwrap();
        let steps = parsed["steps"].as_u64().unwrap();
        let calls = parsed["hookCalls"].as_u64().unwrap();
        eprintln!("{name}: {steps} commands, {calls} hook calls, {} failures", failures.len());
        if !failures.is_empty() || !bad.is_empty() || steps < 10 || calls == 0 {
            problems.push(format!("{name}: {summary}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The harness itself must notice a command whose outcome is not the expected one.
#[test]
fn the_node_harness_reports_wrong_outcomes() {
    let script = r#"
(module (func (export "one") (result i32) (i32.const 1)) (func (export "trap") (unreachable)))
(assert_return (invoke "one") (i32.const 1))
(assert_trap (invoke "one") "unreachable")
(assert_trap (invoke "trap") "unreachable")
"#;
    let dir = tempfile::Builder::new().prefix("spec-node-check-").tempdir().unwrap();
    let path = spec_tests::node::generate("check.wast", script, dir.path()).unwrap();
    let output = Command::new("node").arg(&path).output().expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{summary}");
    assert!(failures[0].as_str().unwrap().starts_with("line 4: expected trap"), "{summary}");
    assert!(summary["hookCalls"].as_u64().unwrap() > 0);
}

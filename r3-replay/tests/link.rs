//! Linking and running the two-module form (hand-written host modules) and merged modules:
//! natively through the library and `r3 run`, and in node through `run.mjs`.

mod replay;

use r3_hooks::Value;
use r3_hooks::wasmtime::Engine;
use r3_replay::link::{LinkError, Outcome, ReplayDir};
use r3_replay::section::{Expect, InitialGlobal};
use replay::*;

fn imports_dir(name: &str) -> tests::TempDir {
    replay_dir(name, IMPORTS, IMPORTS_HOST, imports_section)
}

fn exports_dir(name: &str) -> tests::TempDir {
    replay_dir(name, EXPORTS, EXPORTS_HOST, exports_section)
}

#[test]
fn segments_end_as_recorded_on_wasmtime() {
    let dir = imports_dir("lib-imports");
    let reports = ReplayDir::read(&dir).unwrap().run(&Engine::default()).unwrap();
    let outcomes: Vec<(&str, Expect, bool)> =
        reports.iter().map(|report| (report.export.as_str(), report.expect, report.as_expected)).collect();
    assert_eq!(
        outcomes,
        [
            ("segment/0", Expect::Trap, true),
            ("segment/1", Expect::Throw, true),
            ("segment/2", Expect::Return, true)
        ]
    );
    assert!(matches!(&reports[0].outcome, Outcome::Trap(message) if message.contains("divide by zero")));
    assert_eq!(reports[1].outcome, Outcome::Throw);
}

#[test]
fn functions_are_reached_by_export_or_through_exported_tables() {
    let dir = exports_dir("lib-exports");
    let reports = ReplayDir::read(&dir).unwrap().run(&Engine::default()).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, Outcome::Return, "{reports:?}");
}

#[test]
fn r3_run_on_wasmtime_and_node() {
    let refs = replay_dir("cli-refs", EXPORTS, REFS_HOST, exports_section);
    for (name, dir) in
        [("imports", imports_dir("cli-imports")), ("exports", exports_dir("cli-exports")), ("refs", refs)]
    {
        for engine in ["wasmtime", "node"] {
            let output = r3(&["run", dir.to_str().unwrap(), "--engine", engine]);
            let stderr = stderr(&output);
            assert!(output.status.success(), "{name} on {engine}: {stderr}");
            assert!(stderr.contains("segments ended as expected"), "{name} on {engine}: {stderr}");
            assert!(!stderr.contains("UNEXPECTED"), "{name} on {engine}: {stderr}");
        }
    }
}

#[test]
fn run_reports_each_segment_and_fails_on_an_unexpected_end() {
    let dir = fresh_dir("cli-unexpected");
    let original = wat::parse_str(IMPORTS).unwrap();
    // Claims every segment returned: the first traps, the second throws.
    let section = |original: &[u8]| {
        let mut section = imports_section(original);
        section.segments.iter_mut().for_each(|segment| segment.expect = Expect::Return);
        section
    };
    let host = wat::parse_str(host_wat(IMPORTS_HOST, &section(&original))).unwrap();
    std::fs::write(dir.join("o.wasm"), &original).unwrap();
    std::fs::write(dir.join("host.wasm"), host).unwrap();
    std::fs::write(dir.join("run.mjs"), r3_replay::link::RUN_MJS).unwrap();
    for engine in ["wasmtime", "node"] {
        let output = r3(&["run", dir.to_str().unwrap(), "--engine", engine]);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{engine}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(lines[0].starts_with("segment/0: trap ("), "{engine}: {stderr}");
        assert!(lines[0].ends_with("(expected return) UNEXPECTED"), "{engine}: {stderr}");
        assert_eq!(lines[1], "segment/1: throw (expected return) UNEXPECTED", "{engine}");
        assert_eq!(lines[2], "segment/2: return (expected return) ok", "{engine}");
        assert_eq!(lines[3], "r3: 1 of 3 segments ended as expected", "{engine}");
    }
}

#[test]
fn run_mjs_runs_next_to_itself_on_node() {
    let dir = imports_dir("node-direct");
    let output = std::process::Command::new("node").arg(dir.join("run.mjs")).output().expect("node runs");
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A merged replay: no imports, segments in the custom section.
const MERGED: &str = r#"(module
  (memory 1)
  (global $n (mut i32) (i32.const 0))
  (func $init (global.set $n (i32.const 1)))
  (func $s0 (export "segment/0") (if (i32.ne (global.get $n) (i32.const 1)) (then unreachable)))
  (func $s1 (export "segment/1") unreachable)
  (func $s2 (export "segment/2") unreachable)
  (func (export "_start") (call $s0))
  (start $init)
  SECTION)"#;

#[test]
fn merged_modules_run_on_wasmtime_and_node() {
    let dir = fresh_dir("merged");
    let original = wat::parse_str(IMPORTS).unwrap();
    // A throw is a trap once merged.
    let section = replay::section(&original, Vec::new(), &[Expect::Return, Expect::Trap, Expect::Throw]);
    let merged = dir.join("replay.wasm");
    std::fs::write(&merged, wat::parse_str(host_wat(MERGED, &section)).unwrap()).unwrap();
    let plain = dir.join("plain.wasm");
    std::fs::write(&plain, wat::parse_str(MERGED.replace("SECTION", "")).unwrap()).unwrap();
    for engine in ["wasmtime", "node"] {
        let output = r3(&["run", merged.to_str().unwrap(), "--engine", engine]);
        let printed = stderr(&output);
        assert!(output.status.success(), "{engine}: {printed}");
        assert!(printed.contains("r3: 3 of 3 segments ended as expected"), "{engine}: {printed}");
        // Without a section: `_start`, expected to return.
        let output = r3(&["run", plain.to_str().unwrap(), "--engine", engine]);
        let printed = stderr(&output);
        assert!(output.status.success(), "{engine}: {printed}");
        assert!(printed.starts_with("_start: return (expected return) ok"), "{engine}: {printed}");
    }
}

#[test]
fn an_unreachable_function_is_a_clear_error() {
    let host = r#"(module
      (import "r3_ref" "2" (func (result i32)))
      (func (export "r3_init"))
      SECTION)"#;
    let original = r#"(module (func (export "a")) (func (export "b")) (func (result i32) (i32.const 1)))"#;
    let dir = replay_dir("unreachable", original, host, |o| replay::section(o, Vec::new(), &[]));
    let error = ReplayDir::read(&dir).unwrap().run(&Engine::default()).expect_err("linking fails");
    assert!(matches!(error, LinkError::Unreachable { index: 2 }), "{error}");
    let output = r3(&["run", dir.to_str().unwrap(), "--engine", "node"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("function 2 of the original is neither exported nor in a table it exports or imports")
    );
}

#[test]
fn imports_called_by_the_start_function_are_a_clear_error() {
    let original = r#"(module (import "env" "f" (func $f)) (start $f))"#;
    let host = r#"(module (func (export "import/0")) (func (export "r3_init")) SECTION)"#;
    let dir = replay_dir("start", original, host, |o| replay::section(o, Vec::new(), &[]));
    for engine in ["wasmtime", "node"] {
        let output = r3(&["run", dir.to_str().unwrap(), "--engine", engine]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr(&output);
        assert!(stderr.contains("before the host module was instantiated"), "{engine}: {stderr}");
    }
}

#[test]
fn a_missing_import_implementation_is_a_clear_error() {
    let original = r#"(module (import "env" "f" (func $f)))"#;
    let host = r#"(module (func (export "r3_init")) SECTION)"#;
    let dir = replay_dir("missing", original, host, |o| replay::section(o, Vec::new(), &[]));
    let output = r3(&["run", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("exports no function import/0 for the original's import env.f"));
}

#[test]
fn imported_globals_get_their_values_bit_exactly() {
    let original = r#"(module
      (import "env" "big" (global $big i64))
      (import "env" "pi" (global $pi (mut f64)))
      (func (export "big") (result i64) (global.get $big))
      (func (export "pi") (result i64) (i64.reinterpret_f64 (global.get $pi))))"#;
    let host = r#"(module
      (import "original" "big" (func $big (result i64)))
      (import "original" "pi" (func $pi (result i64)))
      (func (export "r3_init"))
      (func (export "segment/0")
        (if (i64.ne (call $big) (i64.const -9007199254740993)) (then unreachable))
        (if (i64.ne (call $pi) (i64.const 0x400921fb54442d18)) (then unreachable)))
      SECTION)"#;
    let section = |o: &[u8]| {
        let globals = vec![
            InitialGlobal { import: 0, value: Value::I64(-9007199254740993) },
            InitialGlobal { import: 1, value: Value::F64(std::f64::consts::PI.to_bits()) },
        ];
        replay::section(o, globals, &[Expect::Return])
    };
    let dir = replay_dir("globals", original, host, section);
    for engine in ["wasmtime", "node"] {
        let output = r3(&["run", dir.to_str().unwrap(), "--engine", engine]);
        assert!(output.status.success(), "{engine}: {}", stderr(&output));
    }
}

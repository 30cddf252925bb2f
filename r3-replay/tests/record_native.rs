//! `r3 record app.wat --invoke F ARGS...`: recording a module on wasmtime from the command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MODULE: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "id") (param i64 f32 f64) (result i64 f32 f64) (local.get 0) (local.get 1) (local.get 2))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#;

fn r3(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().expect("r3 runs")
}

/// A fresh directory holding `x.wat`.
fn work(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("r3-record-native-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x.wat"), MODULE).unwrap();
    dir
}

fn record(dir: &Path, invocation: &[&str]) -> Output {
    let out = dir.join("out");
    let module = dir.join("x.wat");
    let mut args = vec!["record", "-o", out.to_str().unwrap(), module.to_str().unwrap(), "--invoke"];
    args.extend(invocation);
    r3(&args)
}

/// The trace as `r3 trace print` shows it.
fn printed(dir: &Path) -> String {
    let trace = dir.join("out/x-0.r3");
    let output = r3(&["trace", "print", trace.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn events(printed: &str) -> Vec<&str> {
    printed.lines().skip(1).collect()
}

#[test]
fn invoke_prints_the_results_and_records_the_call() {
    let dir = work("invoke");
    let output = record(&dir, &["add", "1", "2"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "3\n");
    let printed = printed(&dir);
    assert!(printed.starts_with(r#"{"version":2,"module_sha256":""#), "{printed}");
    assert_eq!(
        events(&printed),
        [
            r#"{"export_call":{"func":0,"name":"add","args":[{"i32":1},{"i32":2}]}}"#,
            r#"{"export_return":{"results":[{"i32":3}]}}"#,
            r#"{"end":{"naive_events":2}}"#,
        ]
    );
    let original = std::fs::read(dir.join("out/x.wasm")).expect("the original module is copied");
    assert!(original.starts_with(b"\0asm"));
}

#[test]
fn arguments_are_parsed_bit_exactly_per_parameter_type() {
    let dir = work("args");
    let output = record(&dir, &["id", "0xffffffffffffffff", "-nan:0x200001", "-inf"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "-1\nNaN\n-inf\n");
    let call = r#"{"export_call":{"func":1,"name":"id","args":[{"i64":-1},{"f32":4288675841},{"f64":18442240474082181120}]}}"#;
    assert_eq!(events(&printed(&dir))[0], call);
}

#[test]
fn a_trap_is_reported_and_recorded() {
    let dir = work("trap");
    let output = record(&dir, &["div", "1", "0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: div trapped: wasm trap: integer divide by zero"), "{stderr}");
    assert_eq!(
        events(&printed(&dir)),
        [
            r#"{"export_call":{"func":2,"name":"div","args":[{"i32":1},{"i32":0}]}}"#,
            r#"{"export_trap":{"message":"wasm trap: integer divide by zero"}}"#,
            r#"{"end":{"naive_events":2}}"#,
        ]
    );
}

#[test]
fn bad_arguments_are_refused_before_any_call() {
    let dir = work("bad-args");
    let output = record(&dir, &["add", "1", "x"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(r#"argument 2 ("x")"#), "{stderr}");
    assert!(!dir.join("out/x-0.r3").exists());
}

#[test]
fn modules_with_imports_are_refused() {
    let dir = work("imports");
    std::fs::write(dir.join("x.wat"), r#"(module (import "env" "f" (func)) (func (export "run")))"#).unwrap();
    let output = record(&dir, &["run"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("imports env.f"), "{stderr}");
}

//! `r3 record app.wat --invoke F ARGS...` and `r3 record app.wat -- ARGS...`: recording a module
//! on wasmtime, with WASI preview1, from the command line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const MODULE: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "id") (param i64 f32 f64) (result i64 f32 f64) (local.get 0) (local.get 1) (local.get 2))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#;

fn r3(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().expect("r3 runs")
}

/// A fresh directory holding `x.wat`.
fn work(name: &str) -> tests::TempDir {
    let dir = tests::fresh_temp_dir(&format!("r3-record-native-{name}"));
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
    assert!(printed.starts_with(r#"{"version":3,"module_sha256":""#), "{printed}");
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
fn imports_other_than_wasi_are_refused_by_name() {
    let dir = work("imports");
    let cases = [
        (r#"(import "env" "f" (func))"#, "imports env.f, which is not WASI preview1"),
        (
            r#"(import "wasi_snapshot_preview1" "fd_frobnicate" (func))"#,
            "imports wasi_snapshot_preview1.fd_frobnicate, which is no function of WASI preview1",
        ),
    ];
    for (import, message) in cases {
        std::fs::write(dir.join("x.wat"), format!(r#"(module {import} (func (export "run")))"#)).unwrap();
        let output = record(&dir, &["run"]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{stderr}");
        assert!(!dir.join("out/x-0.r3").exists());
    }
}

/// `r3 record -o DIR/out [ARGS...]` with `input` on stdin.
fn record_with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let out = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_r3"))
        .args(["record", "-o", out.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("r3 runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

const ECHO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wasi/echo.wat");

#[test]
fn a_wasi_program_is_recorded_with_its_exit_status_and_replays_faithfully() {
    let dir = work("wasi");
    let output = record_with_stdin(&dir, &[ECHO, "--", "a", "b"], b"hello");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = stdout.strip_suffix('\n').unwrap_or("").split('|').collect();
    assert_eq!(fields[..2], ["echo.wat a b", "hello"], "{stdout}");
    let time = u64::from_str_radix(fields[2], 16).expect("the time in hex");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert!(fields[2].len() == 16 && (now - 3_600_000_000_000..=now).contains(&time), "{stdout}");
    assert_eq!(fields[3].len(), 8, "{stdout}");

    let trace = dir.join("out/echo-0.r3");
    let printed = r3(&["trace", "print", trace.to_str().unwrap()]);
    let printed = String::from_utf8(printed.stdout).unwrap();
    // What WASI wrote into memory reaches the trace where the module reads it.
    assert_eq!(written(&trace, 512, 8), b"echo.wat", "{printed}");
    let random = u32::from_str_radix(fields[3], 16).unwrap().to_le_bytes();
    assert_eq!(written(&trace, 3008, 4), random, "{printed}");
    let tail: Vec<&str> = events(&printed).into_iter().rev().take(3).collect();
    assert_eq!(tail[1..], [r#""export_throw""#, r#"{"import_throw":{"func":6}}"#], "{printed}");

    let replay = dir.join("replay");
    for args in [
        vec!["replay", trace.to_str().unwrap(), "-o", replay.to_str().unwrap()],
        vec!["check", trace.to_str().unwrap(), replay.to_str().unwrap()],
        vec!["run", replay.join("replay.wasm").to_str().unwrap()],
    ] {
        let output = r3(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "r3 {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    }
}

/// The `len` bytes at `addr` of a memory that was all zeros, after the trace's memory writes.
fn written(trace: &Path, addr: u64, len: usize) -> Vec<u8> {
    let trace = r3_hooks::trace::Trace::read(&std::fs::read(trace).unwrap()).unwrap();
    let mut bytes = vec![0; len];
    for (_, start, written) in trace.events.iter().flat_map(|event| event.memory_runs()) {
        for (at, &value) in (start..).zip(written) {
            if let Some(byte) = at.checked_sub(addr).and_then(|k| bytes.get_mut(k as usize)) {
                *byte = value;
            }
        }
    }
    bytes
}

/// A WASI module with functions to `--invoke`: how many environment variables it sees, and
/// `fd_prestat_get`'s errno for fd 3 (0 with one `--dir`, 8 = EBADF without).
const WASI_FUNCTIONS: &str = r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "envs") (result i32) (drop (call $sizes (i32.const 0) (i32.const 4))) (i32.load (i32.const 0)))
  (func (export "prestat") (result i32) (call $prestat (i32.const 3) (i32.const 0))))"#;

#[test]
fn invoke_links_wasi_with_the_given_environment_and_directories() {
    let dir = work("wasi-invoke");
    std::fs::write(dir.join("x.wat"), WASI_FUNCTIONS).unwrap();
    let module = dir.join("x.wat");
    let module = module.to_str().unwrap();
    let out = dir.join("out");
    let cases: [(&[&str], &str); 4] = [
        (&["--env", "A=1", "--env=B=", "--invoke", "envs"], "2\n"),
        (&["--invoke", "envs"], "0\n"),
        (&["--dir", dir.to_str().unwrap(), "--invoke", "prestat"], "0\n"),
        (&["--invoke", "prestat"], "8\n"),
    ];
    for (args, expected) in cases {
        let output = r3(&[&["record", "-o", out.to_str().unwrap(), module], args].concat());
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{args:?}");
    }
}

#[test]
fn a_reactor_is_initialized_before_the_invoked_function_and_needs_one() {
    let dir = work("reactor");
    let reactor = r#"(module (global $g (mut i32) (i32.const 0))
      (func (export "_initialize") (if (global.get $g) (then unreachable)) (global.set $g (i32.const 7)))
      (func (export "get") (result i32) (global.get $g)))"#;
    std::fs::write(dir.join("x.wat"), reactor).unwrap();
    for (function, expected) in [("get", "7\n"), ("_initialize", "")] {
        let output = record(&dir, &[function]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
    let output =
        r3(&["record", "-o", dir.join("out").to_str().unwrap(), dir.join("x.wat").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a WASI reactor (exports _initialize, no _start): give --invoke F"), "{stderr}");
}

#[test]
fn bad_wasi_options_are_refused_before_recording() {
    let dir = work("wasi-options");
    let missing = dir.join("missing");
    let missing_dir = format!("--dir {}: cannot open the directory", missing.display());
    let cases = [
        (vec![ECHO, "--dir", missing.to_str().unwrap(), "--", "a"], missing_dir.as_str()),
        (vec![ECHO, "--env", "NOVALUE", "--", "a"], r#"--env "NOVALUE": expected NAME=VALUE"#),
        (vec![ECHO, "--dir"], "--dir needs a value"),
    ];
    for (args, message) in cases {
        let output = record_with_stdin(&dir, &args, b"");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!dir.join("out/echo-0.r3").exists(), "{args:?}");
    }
}

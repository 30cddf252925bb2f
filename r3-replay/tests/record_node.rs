//! `r3 record -- node ...` when the program does not end normally.

use std::path::Path;
use std::process::Command;

/// Calls import `tick` a million times from export `run`: over a megabyte of `import_return`
/// events, so the recorder writes them to its temporary file before any checkpoint.
const CHATTY: &str = r#"(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (func (export "run") (local $i i32)
    (loop $next
      (local.set $i (call $tick (local.get $i)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1000000))))))"#;

/// The host kills its own process from inside the call, before the first checkpoint.
const KILLED: &str = r#"import { readFileSync } from "node:fs";
const imports = { env: { tick: (i) => (i === 999999 ? process.kill(process.pid, "SIGKILL") : i + 1) } };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), imports);
instance.exports.run();
"#;

#[test]
fn a_process_killed_before_its_first_checkpoint_leaves_no_half_trace() {
    let work = tests::fresh_temp_dir("r3-record-killed");
    let wasm = work.join("chatty.wasm");
    std::fs::write(&wasm, wat::parse_str(CHATTY).unwrap()).unwrap();
    let program = work.join("killed.mjs");
    std::fs::write(&program, KILLED).unwrap();
    let out = work.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_r3"))
        .args(["record", "-o"])
        .arg(&out)
        .arg("--")
        .arg(tests::recording_node())
        .arg(&program)
        .arg(&wasm)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp") || name.ends_with(".r3"))
        .collect();
    let trace = Path::new(&out).join("chatty-0.r3");
    let _ = std::fs::remove_dir_all(&work);
    assert!(left.is_empty(), "{left:?}\n{stderr}");
    let said = format!(
        "r3: {}: no trace: its process ended (killed?) before the trace was complete",
        trace.display()
    );
    assert!(stderr.contains(&said), "{stderr}");
}

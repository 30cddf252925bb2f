//! `r3 record -- node ...`: options, and programs that do not end normally.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Writes `wat` as NAME.wasm and `program` as NAME.mjs into `dir`, and records the program
/// (given the module's path) into `dir/out`, with `options` before the `--`.
fn record(dir: &Path, name: &str, wat: &str, program: &str, options: &[&str]) -> (PathBuf, Output) {
    let wasm = dir.join(format!("{name}.wasm"));
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let script = dir.join(format!("{name}.mjs"));
    std::fs::write(&script, program).unwrap();
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_r3"))
        .args(["record", "-o"])
        .arg(&out)
        .args(options)
        .arg("--")
        .arg(tests::recording_node())
        .arg(&script)
        .arg(&wasm)
        .output()
        .unwrap();
    (out, output)
}

const TWICE: &str = r#"(module (func (export "one") (result i32) (i32.const 1)))"#;

const CALLS_TWICE: &str = r#"import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
console.log(instance.exports.one() + instance.exports.one());
"#;

#[test]
fn keep_returns_writes_the_returns_an_export_call_implies() {
    for (options, returns) in [(&[][..], 1), (&["--keep-returns"][..], 2)] {
        let work = tests::fresh_temp_dir("r3-record-keep-returns");
        let (out, output) = record(&work, "twice", TWICE, CALLS_TWICE, options);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "2\n");
        let trace = r3_hooks::Trace::read(&std::fs::read(out.join("twice-0.r3")).unwrap()).unwrap();
        let written =
            trace.events.iter().filter(|event| matches!(event, r3_hooks::Event::ExportReturn { .. }));
        assert_eq!(written.count(), returns, "{options:?}: {:?}", trace.events);
    }
}

#[test]
fn a_process_killed_before_its_first_checkpoint_leaves_no_half_trace() {
    let work = tests::fresh_temp_dir("r3-record-killed");
    let (out, output) = record(&work, "chatty", CHATTY, KILLED, &[]);
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

//! `r3 trace print|convert|stats` from the command line.

use r3_hooks::trace::Encoding;
use r3_hooks::{Event, Header, Trace, Value};
use std::process::{Command, Output};

fn r3(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().expect("r3 runs")
}

fn temp_dir(name: &str) -> tests::TempDir {
    tests::fresh_temp_dir(&format!("r3-cli-{name}"))
}

fn trace() -> Trace {
    let mut trace = Trace::new(Header::new(b"module", 0));
    trace.events = vec![
        Event::ExportCall {
            func: 1,
            name: "run".into(),
            args: vec![Value::I64(-1), Value::F64(0x7ff4_0000_0000_0001)],
        },
        Event::ImportCall { func: 0, args: vec![] },
        Event::MemoryWrite { memory: 0, addr: 16, bytes: b"hello".to_vec() },
        Event::ImportReturn { func: 0, results: vec![Value::I32(5)] },
        Event::ExportReturn { results: vec![Value::I32(0)] },
        Event::End { naive_events: 500 },
    ];
    trace
}

#[test]
fn convert_text_to_binary_and_back_is_lossless() {
    let dir = temp_dir("convert");
    let text = dir.join("run.r3.txt");
    std::fs::write(&text, trace().to_bytes(Encoding::Text)).unwrap();
    let binary = dir.join("run.r3");
    let back = dir.join("back.r3.txt");
    assert!(r3(&["trace", "convert", text.to_str().unwrap(), binary.to_str().unwrap()]).status.success());
    assert_eq!(Trace::detect(&std::fs::read(&binary).unwrap()), Some(Encoding::Binary));
    assert!(r3(&["trace", "convert", binary.to_str().unwrap(), back.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&text).unwrap());
    let printed = r3(&["trace", "print", binary.to_str().unwrap()]);
    assert_eq!(printed.stdout, std::fs::read(&text).unwrap());
}

#[test]
fn stats_show_kinds_and_reduction() {
    let dir = temp_dir("stats");
    let path = dir.join("run.r3");
    std::fs::write(&path, trace().to_bytes(Encoding::Binary)).unwrap();
    let output = r3(&["trace", "stats", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("memory_write") && stdout.contains("naive events") && stdout.contains("98.80%"),
        "{stdout}"
    );
}

#[test]
fn a_corrupt_trace_is_an_error_naming_file_and_event() {
    let dir = temp_dir("corrupt");
    let path = dir.join("bad.r3.txt");
    let mut text = String::from_utf8(trace().to_bytes(Encoding::Text)).unwrap();
    text = text.replace("\"import_call\"", "\"import_cal\"");
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out.r3");
    let output = r3(&["trace", "convert", path.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.r3.txt") && stderr.contains("event 1 at line 3"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary files left");
}

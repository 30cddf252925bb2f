//! `r3 check`: a replay checked against the trace of a native recording of the same
//! interaction, and against modified traces.

mod replay;

use r3_hooks::trace::Encoding;
use r3_hooks::{Event, Trace, Value};
use replay::*;
use std::path::Path;

fn read(path: &Path) -> Trace {
    Trace::read(&std::fs::read(path).unwrap()).unwrap()
}

fn write_text(trace: &Trace, path: &Path) {
    std::fs::write(path, trace.to_bytes(Encoding::Text)).unwrap();
}

fn check(trace: &Path, dir: &Path) -> std::process::Output {
    r3(&["check", trace.to_str().unwrap(), dir.to_str().unwrap()])
}

#[test]
fn a_faithful_replay_checks_equal() {
    for (name, original, host, section, record) in [
        (
            "imports",
            IMPORTS,
            IMPORTS_HOST,
            imports_section as fn(&[u8]) -> _,
            record_imports as fn(&Path) -> _,
        ),
        ("exports", EXPORTS, EXPORTS_HOST, exports_section, record_exports),
    ] {
        let dir = replay_dir(&format!("check-{name}"), original, host, section);
        let trace = record(&dir);
        let output = check(&trace, &dir);
        let stderr = stderr(&output);
        assert!(output.status.success(), "{name}: {stderr}");
        assert!(stderr.contains("the replay's trace equals"), "{name}: {stderr}");
    }
}

#[test]
fn a_changed_import_result_is_reported_at_its_event() {
    let dir = replay_dir("check-changed", IMPORTS, IMPORTS_HOST, imports_section);
    let mut trace = read(&record_imports(&dir));
    let index = trace
        .events
        .iter()
        .position(|event| matches!(event, Event::ImportReturn { func: 0, .. }))
        .expect("the recording has get's result");
    trace.events[index] = Event::ImportReturn { func: 0, results: vec![Value::I32(1001)] };
    let changed = dir.join("changed.r3.txt");
    write_text(&trace, &changed);
    let output = check(&changed, &dir);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("the traces differ at event {index}")), "{stderr}");
    assert!(stderr.contains(r#"{"import_return":{"func":0,"results":[{"i32":1001}]}}"#), "{stderr}");
    assert!(stderr.contains(r#"{"import_return":{"func":0,"results":[{"i32":1000}]}}"#), "{stderr}");
}

#[test]
fn trap_messages_naive_counts_and_host_value_ids_may_differ() {
    let dir = replay_dir("check-lenient", EXPORTS, EXPORTS_HOST, exports_section);
    let mut trace = read(&record_exports(&dir));
    for event in &mut trace.events {
        match event {
            Event::End { naive_events } => *naive_events += 1000,
            Event::ImportReturn { results, .. } => {
                for value in results {
                    if let Value::ExternRef(Some(id)) = value {
                        *id += 17;
                    }
                }
            }
            _ => {}
        }
    }
    let renamed = dir.join("renamed.r3.txt");
    write_text(&trace, &renamed);
    let output = check(&renamed, &dir);
    assert!(output.status.success(), "{}", stderr(&output));

    let dir = replay_dir("check-trap", IMPORTS, IMPORTS_HOST, imports_section);
    let mut trace = read(&record_imports(&dir));
    for event in &mut trace.events {
        if let Event::ExportTrap { message } = event {
            *message = "RuntimeError: divide by zero".into();
        }
    }
    let node_like = dir.join("trap.r3.txt");
    write_text(&trace, &node_like);
    let output = check(&node_like, &dir);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_trace_of_another_module_is_refused() {
    let dir = replay_dir("check-module", IMPORTS, IMPORTS_HOST, imports_section);
    let mut trace = read(&record_imports(&dir));
    trace.header.module_sha256 = "00".repeat(32);
    let other = dir.join("other.r3.txt");
    write_text(&trace, &other);
    let output = check(&other, &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("the traces are of different modules"), "{}", stderr(&output));
}

//! `--mode r3`: scripts recorded natively, every trace replayed and checked.

use r3_hooks::{Event, Value};
use r3_replay::check::{self, Mismatch};
use spec_tests::{Mode, Options, Suite, run};

/// Scripts with calls between instances, memory growth, imported and exported globals and
/// tables set by the host: every instance's replay checks equal to its recording.
#[test]
fn scripts_record_replay_and_check_equal() {
    for filter in ["call", "memory_grow", "global", "table_set"] {
        let suites = vec![Suite::parse("wasm-v1").unwrap(), Suite::parse("wasm-v2").unwrap()];
        let report = run(&Options { mode: Mode::R3, suites, filter: Some(filter.into()) });
        for suite in &report.suites {
            assert!(suite.failures.is_empty(), "{filter} {}:\n{}", suite.suite, suite.failures.join("\n"));
            assert!(suite.r3_known_limits.is_empty(), "{filter}: {:#?}", suite.r3_known_limits);
            assert_eq!(suite.r3_replay_failures, 0, "{}", suite.summary_line());
            assert_eq!(suite.r3_replays_checked, suite.r3_traces, "{}", suite.summary_line());
        }
        let checked: usize = report.suites.iter().map(|suite| suite.r3_replays_checked).sum();
        assert!(checked > 0, "{filter}: no trace was checked");
        assert_eq!(report.totals().1, 0, "{filter}");
    }
}

/// The same assertions pass and fail as in the other modes, and a recorded script's traces
/// are replayed: one trace per instance, including instances of unnamed modules.
#[test]
fn the_driver_records_every_instance() {
    const SCRIPT: &str = r#"
(module $m
  (global $g (export "g") (mut i32) (i32.const 1))
  (memory (export "mem") 1)
  (func (export "bump") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store (i32.const 0) (global.get $g))
    (global.get $g)))
(register "m" $m)
(module
  (import "m" "bump" (func $bump (result i32)))
  (import "m" "mem" (memory 1))
  (func (export "twice") (result i32) (drop (call $bump)) (i32.add (call $bump) (i32.load (i32.const 0)))))
(assert_return (invoke "twice") (i32.const 6))
(assert_return (invoke "twice") (i32.const 7))
(assert_return (get $m "g") (i32.const 5))
(assert_trap (invoke $m "bump" (i32.const 0)) "no such arity")
"#;
    let suite = Suite::parse("wasm-v2").unwrap();
    let report = spec_tests::run_script(Mode::R3, &suite, "r3.wast", SCRIPT);
    assert_eq!(report.assertions, 4, "{:?}", report.failures);
    // `twice` returns 3 + 3 = 6 the first time; 7 is wrong (5 + 5 = 10).
    assert_eq!(report.assertions_failed, 2, "{:?}", report.failures);
    assert_eq!((report.r3_traces, report.r3_replays_checked), (2, 2), "{:?}", report.failures);
    assert_eq!(report.r3_replay_failures, 0, "{:?}", report.failures);
}

/// A replay whose trace differs from the recorded one is caught, at the first divergent event.
#[test]
fn a_divergent_replay_is_caught() {
    let dir = tempfile::Builder::new().prefix("spec-r3-test-").tempdir().unwrap();
    let recorded = record_add(dir.path());
    assert_eq!(check::compare(&recorded, &recorded), Ok(()));
    let mut corrupted = recorded.clone();
    let index = corrupted
        .events
        .iter()
        .position(|event| matches!(event, Event::ExportReturn { .. }))
        .expect("an export_return in the trace");
    corrupted.events[index] = Event::ExportReturn { results: vec![Value::I32(4)] };
    match check::compare(&recorded, &corrupted) {
        Err(Mismatch::Event { index: found, expected, actual, .. }) => {
            assert_eq!(found, index);
            assert_eq!(expected, Some(Box::new(recorded.events[index].clone())));
            assert_eq!(actual, Some(Box::new(corrupted.events[index].clone())));
        }
        other => panic!("expected a divergence at event {index}, got {other:?}"),
    }
}

/// An imported memory whose actual maximum (spectest's: 2 pages) is below the declared one (3):
/// the trace carries it (`memory_max`), so the grow that failed when recorded fails in the
/// replay too.
#[test]
fn a_grow_beyond_the_hosts_memory_maximum_fails_in_the_replay_too() {
    const SCRIPT: &str = r#"
(module
  (import "spectest" "memory" (memory 0 3))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
"#;
    let suite = Suite::parse("wasm-v2").unwrap();
    let report = spec_tests::run_script(Mode::R3, &suite, "limits.wast", SCRIPT);
    assert_eq!((report.assertions, report.assertions_failed), (2, 0), "{:?}", report.failures);
    assert_eq!((report.r3_traces, report.r3_replays_checked, report.r3_replay_failures), (1, 1, 0));
    assert_eq!(report.failed(), 0, "{:?}", report.failures);
}

/// Dynamic linking: functions of another instance in a module's table (placed before the
/// module existed, by another module's element segment, by the host) are recorded as foreign
/// functions, and the module's calls of them as `foreign_call`s; the replay defines them.
#[test]
fn functions_of_other_instances_in_tables_replay_faithfully() {
    const SCRIPT: &str = r#"
(module $other
  (table (export "table") 3 funcref)
  (func $answer (result i32) (i32.const 42))
  (elem (i32.const 0) $answer))
(register "other" $other)
(module $user
  (import "other" "table" (table 3 funcref))
  (type $answer (func (result i32)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $answer) (local.get 0))))
(module $late
  (import "other" "table" (table 3 funcref))
  (func $seven (result i32) (i32.const 7))
  (elem (i32.const 1) $seven))
(assert_return (invoke $user "call" (i32.const 0)) (i32.const 42))
(assert_return (invoke $user "call" (i32.const 1)) (i32.const 7))
(assert_return (invoke $user "call" (i32.const 0)) (i32.const 42))
(assert_trap (invoke $user "call" (i32.const 2)) "uninitialized element")
"#;
    let suite = Suite::parse("wasm-v2").unwrap();
    let report = spec_tests::run_script(Mode::R3, &suite, "tables.wast", SCRIPT);
    assert_eq!((report.assertions, report.assertions_failed), (4, 0), "{:?}", report.failures);
    assert_eq!((report.r3_traces, report.r3_replays_checked, report.r3_replay_failures), (3, 3, 0));
    assert_eq!(report.failed(), 0, "{:?} {:?}", report.failures, report.r3_known_limits);
}

/// End to end: the driver reports a replay that diverges, naming the script, the module's line
/// and the first divergent event, and counts it as a failure. The divergence is a known limit
/// (listed apart): a mutable imported global holding a function of another instance, whose
/// calls the recorder does not see.
#[test]
fn the_driver_reports_a_divergent_replay() {
    const SCRIPT: &str = r#"
(module $other
  (func $answer (result i32) (i32.const 42))
  (global (export "answer") (mut funcref) (ref.func $answer)))
(register "other" $other)
(module
  (import "other" "answer" (global (mut funcref)))
  (type $answer (func (result i32)))
  (table 1 funcref)
  (func (export "call") (result i32)
    (table.set (i32.const 0) (global.get 0))
    (call_indirect (type $answer) (i32.const 0))))
(assert_return (invoke "call") (i32.const 42))
"#;
    let suite = Suite::parse("wasm-v2").unwrap();
    let report = spec_tests::run_script(Mode::R3, &suite, "globals.wast", SCRIPT);
    assert_eq!((report.assertions, report.assertions_failed), (1, 0), "{:?}", report.failures);
    assert_eq!((report.r3_traces, report.r3_replays_checked, report.r3_replay_failures), (2, 1, 1));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.r3_known_limits.len(), 1, "{:?}", report.r3_known_limits);
    let failure = &report.r3_known_limits[0];
    assert!(failure.starts_with("globals.wast:6: instance 0: r3 replay:"), "{failure}");
    assert!(failure.contains("its calls are not recorded"), "{failure}");
    assert_eq!(report.failed(), 1);
}

/// Records `add(1, 2)` of a small module natively and returns the trace.
fn record_add(dir: &std::path::Path) -> r3_hooks::Trace {
    use r3_hooks::record::native::{Recorder, RecordingModule};
    use r3_hooks::wasmtime::{Engine, Store, Val};
    let wasm = wat::parse_str(
        r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let engine = Engine::default();
    let module = RecordingModule::new(&engine, &wasm, Some("add")).unwrap();
    let recorder = Recorder::new(dir);
    let mut store = Store::new(&engine, ());
    let instance = recorder.instantiate(&mut store, &module, &[]).unwrap();
    let mut results = [Val::I32(0)];
    instance.call(&mut store, "add", &[Val::I32(1), Val::I32(2)], &mut results).unwrap();
    assert_eq!(results[0].i32(), Some(3));
    let trace = instance.finish(&mut store).unwrap();
    check::read_trace(&trace).unwrap()
}

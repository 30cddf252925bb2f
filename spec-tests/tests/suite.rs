//! The spec suite through the IR, and the driver's own checks.

use spec_tests::{Mode, Options, Suite, run, run_script};

#[test]
fn wasm_v1_and_v2_pass_after_roundtrip_through_the_ir() {
    check_full_suites(Mode::Roundtrip);
}

/// Every module instrumented with every hook; the hooks check their arguments and must run.
#[test]
fn wasm_v1_and_v2_pass_with_all_hooks() {
    let report = check_full_suites(Mode::Instrument);
    for suite in &report.suites {
        assert!(suite.hook_calls > 5_000_000, "{}: only {} hook calls", suite.suite, suite.hook_calls);
    }
}

/// Every module instance of every script recorded, replayed and checked: none diverges, not
/// even as a known limit.
#[test]
fn wasm_v1_and_v2_record_replay_and_check() {
    let suites = vec![Suite::parse("wasm-v1").unwrap(), Suite::parse("wasm-v2").unwrap()];
    let report = run(&Options { mode: Mode::R3, suites, filter: None });
    for suite in &report.suites {
        assert_eq!(suite.modules_failed + suite.assertions_failed, 0, "{}", suite.summary_line());
        assert!(suite.r3_replays_checked > 700, "{}", suite.summary_line());
        assert_eq!(suite.r3_replay_failures, 0, "{}:\n{}", suite.suite, suite.failures.join("\n"));
        assert!(suite.r3_known_limits.is_empty(), "{:?}", suite.r3_known_limits);
    }
}

fn check_full_suites(mode: Mode) -> spec_tests::Report {
    let suites = vec![Suite::parse("wasm-v1").unwrap(), Suite::parse("wasm-v2").unwrap()];
    let report = run(&Options { mode, suites, filter: None });
    for suite in &report.suites {
        assert!(suite.failures.is_empty(), "{}:\n{}", suite.suite, suite.failures.join("\n"));
        assert!(suite.skipped.is_empty(), "{}: skipped {:?}", suite.suite, suite.skipped);
        assert_eq!(suite.malformed_accepted + suite.invalid_accepted, 0);
        assert!(suite.malformed_rejected > 600 && suite.invalid_rejected > 900, "{}", suite.summary_line());
    }
    let assertions: usize = report.suites.iter().map(|suite| suite.assertions).sum();
    assert!(assertions >= 35_000, "only {assertions} assertions ran");
    assert_eq!(report.totals().1, 0);
    report
}

const CHECKS: &str = r#"
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "trap") (unreachable))
  (func (export "v") (result v128) (v128.const i32x4 1 2 3 4))
  (func $loop (export "loop") (call $loop)))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan") (f32.const 0))
(assert_return (invoke "v") (v128.const i32x4 1 2 3 4))
(assert_return (invoke "v") (v128.const i32x4 1 2 3 5))
(assert_trap (invoke "trap") "unreachable")
(assert_trap (invoke "add" (i32.const 0) (i32.const 0)) "no trap")
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_invalid (module (func (result i32) (i32.const 0))) "valid, so accepted")
(assert_malformed (module quote "(func (bogus))") "unknown operator")
"#;

#[test]
fn the_driver_tells_passing_from_failing_assertions() {
    for mode in [Mode::Roundtrip, Mode::Instrument, Mode::R3] {
        check_driver(mode);
    }
}

fn check_driver(mode: Mode) {
    let suite = Suite::parse("wasm-v2").unwrap();
    let report = run_script(mode, &suite, "checks.wast", CHECKS);
    assert_eq!(report.assertions, 9, "{:?}", report.failures);
    assert_eq!(report.assertions_failed, 4, "{:?}", report.failures);
    for line in [9, 11, 13, 15] {
        assert!(
            report.failures.iter().any(|f| f.starts_with(&format!("checks.wast:{line}:"))),
            "{:?}",
            report.failures
        );
    }
    assert_eq!((report.invalid_rejected, report.invalid_accepted), (1, 1));
    assert_eq!(report.malformed_text_rejected, 1);
}

/// wasm-v2's scripts leave SIMD to the proposal's own suite: all of it with every hook, except
/// the script that needs multiple memories (a post-2.0 proposal, refused by design).
#[test]
fn simd_proposal_passes_with_all_hooks() {
    let report =
        run(&Options { mode: Mode::Instrument, suites: vec![Suite::parse("simd").unwrap()], filter: None });
    let suite = &report.suites[0];
    let unexpected: Vec<&String> =
        suite.failures.iter().filter(|failure| !failure.starts_with("simd_memory-multi.wast:")).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert!(suite.assertions >= 24_000 && suite.assertions_failed == 0, "{}", suite.summary_line());
    assert!(suite.hook_calls > 100_000, "{}", suite.hook_calls);
}

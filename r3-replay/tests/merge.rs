//! The merger (docs/replay.md, "Merging"): hand-written host modules following the host
//! interface, merged with small original modules and run on wasmtime without imports. The
//! host modules check what they observe and trap (`unreachable`) on anything unexpected, so a
//! segment returning normally is the assertion.

use r3_hooks::wasmtime::{Engine, Instance, Module as Compiled, Store};
use r3_replay::merge::{MergeError, Role, merge};
use wasmparser::{Parser, Payload};

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|error| panic!("test module does not parse: {error}"))
}

/// Merges, checking what holds for every merged module: it validates (`merge` checks), imports
/// nothing, exports only `_start` and segments, keeps the original's bodies byte for byte, and
/// merging twice gives the same bytes.
fn merged(host: &str, original: &str) -> Vec<u8> {
    let (host, original) = (wasm(host), wasm(original));
    let merged = merge(&host, &original).unwrap_or_else(|error| panic!("merge failed: {error}"));
    assert_eq!(merge(&host, &original).unwrap(), merged, "merging is deterministic");
    let parts = parts_of(&merged);
    assert_eq!(parts.imports, 0, "the merged module imports nothing");
    for name in &parts.exports {
        assert!(name == "_start" || name.starts_with("segment/"), "unexpected export {name}");
    }
    let original_parts = parts_of(&original);
    let first = original_parts.imported_functions;
    let copied = &parts.bodies[first..first + original_parts.bodies.len()];
    assert_eq!(copied, original_parts.bodies.as_slice(), "original bodies are copied unchanged");
    merged
}

#[derive(Default)]
struct Parts {
    imports: usize,
    imported_functions: usize,
    exports: Vec<String>,
    /// Each code section entry (locals and code).
    bodies: Vec<Vec<u8>>,
    custom: Vec<String>,
}

fn parts_of(bytes: &[u8]) -> Parts {
    let mut parts = Parts::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    parts.imports += 1;
                    parts.imported_functions +=
                        matches!(import.unwrap().ty, wasmparser::TypeRef::Func(_)) as usize;
                }
            }
            Payload::ExportSection(reader) => {
                parts.exports.extend(reader.into_iter().map(|export| export.unwrap().name.to_string()));
            }
            Payload::CodeSectionEntry(body) => parts.bodies.push(body.as_bytes().to_vec()),
            Payload::CustomSection(reader) => parts.custom.push(reader.name().to_string()),
            _ => {}
        }
    }
    parts
}

/// Instantiates the merged module (running its start function) and calls `exports` in order;
/// the outcome of each, `Err` with the trap's message.
fn run(bytes: &[u8], exports: &[&str]) -> Vec<Result<(), String>> {
    let engine = Engine::default();
    let module = Compiled::new(&engine, bytes).expect("wasmtime compiles the merged module");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiation (start function) succeeds");
    exports
        .iter()
        .map(|name| {
            let function = instance.get_typed_func::<(), ()>(&mut store, name).expect("export exists");
            function.call(&mut store, ()).map_err(|error| format!("{error:?}"))
        })
        .collect()
}

fn assert_runs(bytes: &[u8], exports: &[&str]) {
    for (name, outcome) in exports.iter().zip(run(bytes, exports)) {
        assert_eq!(outcome, Ok(()), "{name}");
    }
}

#[test]
fn imported_functions_answer_with_the_host_implementations() {
    let original = r#"(module
      (import "env" "next" (func $next (result i32)))
      (import "env" "log" (func $log (param i32)))
      (memory 1)
      (func (export "main") (result i32)
        (call $log (i32.add (call $next) (call $next)))
        (i32.store (i32.const 0) (i32.add (call $next) (call $next)))
        (i32.load (i32.const 0))))"#;
    let host = r#"(module
      (import "original" "main" (func $main (result i32)))
      (global $calls (mut i32) (i32.const 0))
      (global $logged (mut i32) (i32.const 0))
      (func (export "import/0") (result i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (i32.mul (global.get $calls) (i32.const 10)))
      (func (export "import/1") (param i32)
        (if (i32.ne (local.get 0) (i32.const 30)) (then unreachable))
        (global.set $logged (i32.const 1)))
      (func (export "r3_init"))
      (func $segment (export "segment/0")
        (if (i32.ne (call $main) (i32.const 70)) (then unreachable))
        (if (i32.eqz (global.get $logged)) (then unreachable)))
      (func (export "_start") (call $segment)))"#;
    let bytes = merged(host, original);
    assert_eq!(parts_of(&bytes).exports, ["segment/0", "_start"], "in the host's export order");
    assert_runs(&bytes, &["_start"]);
}

const GLOBALS_SECTION: &str = r#"{"version": 1, "original": {"name": "o.wasm", "sha256": ""},
  "globals": [{"import": 2, "value": {"i32": 7}},
              {"import": 3, "value": {"i64": -9223372036854775808}},
              {"import": 4, "value": {"f64": 4612811918334230528}},
              {"import": 5, "value": {"func_ref": 0}},
              {"import": 6, "value": {"i32": 16}},
              {"import": 7, "value": {"func_ref": null}}],
  "segments": [{"export": "segment/0", "expect": "return"}]}"#;

/// The `r3-replay` custom section holding `json`, in the text format.
fn replay_section(json: &str) -> String {
    format!(r#"(@custom "r3-replay" "{}")"#, json.replace('"', "\\\"").replace('\n', " "))
}

const IMPORTS_ENTITIES: &str = r#"(module
  (type $answer (func (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "table" (table 2 funcref))
  (import "env" "counter" (global $counter (mut i32)))
  (import "env" "big" (global $big i64))
  (import "env" "ratio" (global $ratio f64))
  (import "env" "callback" (global $callback funcref))
  (import "env" "base" (global $base i32))
  (import "env" "nothing" (global $nothing (mut funcref)))
  (global $derived i64 (global.get $big))
  (data (global.get $base) "h")
  (func $seven (result i32) (i32.const 7))
  (func $check (export "check") (result i32)
    (if (i32.ne (memory.size) (i32.const 3)) (then (return (i32.const 10))))
    (if (i32.ne (table.size) (i32.const 4)) (then (return (i32.const 11))))
    (if (i32.ne (global.get $counter) (i32.const 7)) (then (return (i32.const 12))))
    (global.set $counter (i32.const 8))
    (if (i64.ne (global.get $big) (i64.const -9223372036854775808)) (then (return (i32.const 13))))
    (if (i64.ne (global.get $derived) (global.get $big)) (then (return (i32.const 14))))
    (if (f64.ne (global.get $ratio) (f64.const 2.5)) (then (return (i32.const 15))))
    (table.set (i32.const 0) (global.get $callback))
    (if (i32.ne (call_indirect (type $answer) (i32.const 0)) (i32.const 7)) (then (return (i32.const 16))))
    (if (i32.ne (i32.load8_u (i32.const 16)) (i32.const 104)) (then (return (i32.const 17))))
    (if (i32.eqz (ref.is_null (global.get $nothing))) (then (return (i32.const 18))))
    (i32.const 1)))"#;

#[test]
fn imported_memory_table_and_globals_become_definitions() {
    let host = format!(
        r#"(module
      (import "r3_host" "import/0" (memory 3))
      (import "r3_host" "import/1" (table 4 funcref))
      (import "r3_host" "import/2" (global $counter (mut i32)))
      (import "original" "check" (func $check (result i32)))
      (func (export "r3_init"))
      (func $segment (export "segment/0")
        (if (i32.ne (call $check) (i32.const 1)) (then unreachable))
        (if (i32.ne (global.get $counter) (i32.const 8)) (then unreachable)))
      (func (export "_start") (call $segment))
      {})"#,
        replay_section(GLOBALS_SECTION)
    );
    let bytes = merged(&host, IMPORTS_ENTITIES);
    assert!(parts_of(&bytes).custom.contains(&"r3-replay".to_string()), "the host's section is carried over");
    assert_runs(&bytes, &["segment/0"]);
}

#[test]
fn imports_the_host_does_not_name_keep_the_original_types() {
    // Without r3_host imports, memory and table have the original's import types (1 page, 2
    // entries), which the original's check reports as its first finding.
    let host = format!(
        r#"(module
      (import "original" "check" (func $check (result i32)))
      (func (export "r3_init"))
      (func (export "_start")
        (if (i32.ne (call $check) (i32.const 10)) (then unreachable)))
      {})"#,
        replay_section(GLOBALS_SECTION)
    );
    assert_runs(&merged(&host, IMPORTS_ENTITIES), &["_start"]);
}

#[test]
fn data_segments_of_both_modules_keep_their_meaning() {
    let original = r#"(module
      (memory (export "memory") 1)
      (data $active (i32.const 0) "o")
      (data $a "\01")
      (data $b "\02")
      (func (export "load") (result i32)
        (memory.init $b (i32.const 1) (i32.const 0) (i32.const 1))
        (data.drop $a)
        (i32.add (i32.load8_u (i32.const 0)) (i32.load8_u (i32.const 1)))))"#;
    let host = r#"(module
      (import "original" "memory" (memory 1))
      (import "original" "load" (func $load (result i32)))
      (data $bytes "\05\06")
      (func (export "r3_init")
        (memory.init $bytes (i32.const 100) (i32.const 0) (i32.const 2))
        (data.drop $bytes))
      (func $segment (export "segment/0")
        (if (i32.ne (call $load) (i32.const 113)) (then unreachable))
        (if (i32.ne (i32.load16_u (i32.const 100)) (i32.const 0x0605)) (then unreachable)))
      (func (export "_start") (call $segment)))"#;
    assert_runs(&merged(host, original), &["_start"]);
}

#[test]
fn host_calls_exports_by_name_and_by_index_and_references_functions() {
    let original = r#"(module
      (type $answer (func (result i32)))
      (table (export "table") 2 funcref)
      (func $hidden (result i32) (i32.const 42))
      (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "call_slot") (param i32) (result i32) (call_indirect (type $answer) (local.get 0))))"#;
    let host = r#"(module
      (import "original" "double" (func $double (param i32) (result i32)))
      (import "r3_call" "0" (func $hidden (result i32)))
      (import "r3_ref" "0" (func $hidden_ref (result i32)))
      (import "original" "table" (table 2 funcref))
      (import "original" "call_slot" (func $call_slot (param i32) (result i32)))
      (elem declare func $hidden_ref)
      (func (export "r3_init") (table.set (i32.const 1) (ref.func $hidden_ref)))
      (func $segment (export "segment/0")
        (if (i32.ne (call $double (i32.const 21)) (i32.const 42)) (then unreachable))
        (if (i32.ne (call $hidden) (i32.const 42)) (then unreachable))
        (if (i32.ne (call $call_slot (i32.const 1)) (i32.const 42)) (then unreachable)))
      (func (export "_start") (call $segment)))"#;
    assert_runs(&merged(host, original), &["_start"]);
}

#[test]
fn throw_traps_and_later_segments_still_run() {
    // import/0 is the imported throw itself, import/1 and import/2 share one host function:
    // the merger forwards where it cannot move a body.
    let original = r#"(module
      (import "env" "fail" (func $fail))
      (import "env" "fail_too" (func $fail_too))
      (import "env" "fail_again" (func $fail_again))
      (global $reached (mut i32) (i32.const 0))
      (func (export "run") (call $fail) (global.set $reached (i32.const 1)))
      (func (export "run_too") (call $fail_too))
      (func (export "run_again") (call $fail_again))
      (func (export "reached") (result i32) (global.get $reached)))"#;
    let host = r#"(module
      (import "r3_host" "throw" (func $throw))
      (import "original" "run" (func $run))
      (import "original" "run_too" (func $run_too))
      (import "original" "run_again" (func $run_again))
      (import "original" "reached" (func $reached (result i32)))
      (export "import/0" (func $throw))
      (func $shared (export "import/1") (call $throw))
      (export "import/2" (func $shared))
      (func (export "r3_init"))
      (func $s0 (export "segment/0") (call $run))
      (func $s1 (export "segment/1") (call $run_too))
      (func $s2 (export "segment/2") (call $run_again))
      (func $s3 (export "segment/3") (if (call $reached) (then unreachable)))
      (func (export "_start") (call $s0) (call $s1) (call $s2) (call $s3)))"#;
    let bytes = merged(host, original);
    let outcomes = run(&bytes, &["segment/0", "segment/1", "segment/2", "segment/3", "_start"]);
    for (segment, outcome) in outcomes[..3].iter().enumerate() {
        let message = outcome.as_ref().expect_err("throw traps");
        assert!(message.contains("unreachable"), "segment {segment}: {message}");
    }
    assert_eq!(outcomes[3], Ok(()), "the original never got past the throw");
    assert!(outcomes[4].is_err(), "_start runs into the first throw");
}

/// Host values become i31 references as externrefs, which are not null.
/// Only such a merged module needs Wasm GC.
#[test]
fn host_values_are_made_with_gc() {
    let original = r#"(module
      (import "env" "value" (func $value (param i32) (result externref)))
      (table $kept 2 externref)
      (func (export "keep") (param i32)
        (table.set $kept (local.get 0) (call $value (local.get 0))))
      (func (export "is_null") (param i32) (result i32)
        (ref.is_null (table.get $kept (local.get 0)))))"#;
    let host = r#"(module
      (import "r3_host" "extern" (func $extern (param i64) (result externref)))
      (import "original" "keep" (func $keep (param i32)))
      (import "original" "is_null" (func $is_null (param i32) (result i32)))
      (func (export "import/0") (param i32) (result externref)
        (call $extern (i64.extend_i32_u (local.get 0))))
      (func (export "r3_init"))
      (func $s0 (export "segment/0")
        (call $keep (i32.const 1))
        (if (call $is_null (i32.const 1)) (then unreachable))
        (if (i32.eqz (call $is_null (i32.const 0))) (then unreachable)))
      (func (export "_start") (call $s0)))"#;
    let bytes = merged(host, original);
    let plain =
        wasmparser::Validator::new_with_features(wasabi_wasm::supported_features()).validate_all(&bytes);
    assert!(plain.is_err(), "needs GC");
    assert!(r3_replay::merge::makes_host_values(&wasm(host)));
    let engine = r3_replay::link::engine();
    let module = Compiled::new(&engine, &bytes).expect("wasmtime with GC compiles it");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let segment = instance.get_typed_func::<(), ()>(&mut store, "segment/0").unwrap();
    segment.call(&mut store, ()).unwrap();
}

#[test]
fn r3_init_runs_before_the_original_start_function() {
    let original = r#"(module
      (import "env" "ready" (func $ready (result i32)))
      (global $seen (mut i32) (i32.const 0))
      (func $start (global.set $seen (call $ready)))
      (start $start)
      (func (export "seen") (result i32) (global.get $seen)))"#;
    let host = r#"(module
      (import "original" "seen" (func $seen (result i32)))
      (global $initialized (mut i32) (i32.const 0))
      (func (export "import/0") (result i32)
        (if (i32.eqz (global.get $initialized)) (then unreachable))
        (i32.const 5))
      (func (export "r3_init") (global.set $initialized (i32.const 1)))
      (func (export "_start") (if (i32.ne (call $seen) (i32.const 5)) (then unreachable))))"#;
    assert_runs(&merged(host, original), &["_start"]);
}

#[test]
fn functions_only_exports_declared_can_still_be_referenced() {
    // `ref.func $f` is valid in the original because $f is exported; the merged module drops
    // that export.
    let original = r#"(module
      (func $f (export "f") (result i32) (i32.const 3))
      (func (export "get") (result funcref) (ref.func $f)))"#;
    let host = r#"(module
      (import "original" "get" (func $get (result funcref)))
      (func (export "r3_init"))
      (func (export "_start") (if (ref.is_null (call $get)) (then unreachable))))"#;
    assert_runs(&merged(host, original), &["_start"]);
}

const TRIVIAL_ORIGINAL: &str = r#"(module
  (import "env" "f" (func (param i32) (result i32)))
  (func (export "main") (result i32) (call 0 (i32.const 1))))"#;

/// A host for TRIVIAL_ORIGINAL with `extra` added.
fn trivial_host(extra: &str) -> String {
    format!(
        r#"(module
      {extra}
      (func (export "import/0") (param i32) (result i32) (local.get 0))
      (func (export "r3_init"))
      (func (export "_start")))"#
    )
}

fn merge_error(host: &str, original: &str) -> MergeError {
    match merge(&wasm(host), &wasm(original)) {
        Ok(_) => panic!("merging succeeded"),
        Err(error) => error,
    }
}

#[test]
fn unresolvable_host_imports_are_errors() {
    let cases = [
        (
            r#"(import "original" "nope" (func))"#,
            r#"host module imports "original" "nope": the original module has no export of that name"#,
        ),
        (
            r#"(import "env" "x" (func))"#,
            r#"host module imports "env" "x": not part of the host module interface (docs/replay.md)"#,
        ),
        (
            r#"(import "original" "main" (func (result i64)))"#,
            r#"host module imports "original" "main": its type does not match the original's entity"#,
        ),
        (
            r#"(import "original" "main" (global i32))"#,
            r#"host module imports "original" "main": imported as a global but it is a function"#,
        ),
        (
            r#"(import "r3_call" "2" (func))"#,
            r#"host module imports "r3_call" "2": not a function index of the original, which has 2 functions"#,
        ),
        (
            r#"(import "r3_call" "+1" (func))"#,
            r#"host module imports "r3_call" "+1": not a function index of the original, which has 2 functions"#,
        ),
        (
            r#"(import "r3_host" "import/0" (global i32))"#,
            r#"host module imports "r3_host" "import/0": the original imports a function there; the host provides those as exports"#,
        ),
        (
            r#"(import "r3_host" "throw" (func (param i32)))"#,
            r#"host module imports "r3_host" "throw": its type does not match [] -> []"#,
        ),
        (
            r#"(import "r3_host" "extern" (func (param i64)))"#,
            r#"host module imports "r3_host" "extern": its type does not match [i64] -> [externref]"#,
        ),
    ];
    for (import, message) in cases {
        let error = merge_error(&trivial_host(import), TRIVIAL_ORIGINAL);
        assert!(matches!(error, MergeError::HostImport { .. }), "{error:?}");
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn hosts_not_following_the_interface_are_errors() {
    let missing_implementation = r#"(module (func (export "r3_init")) (func (export "_start")))"#;
    let error = merge_error(missing_implementation, TRIVIAL_ORIGINAL);
    assert_eq!(
        error.to_string(),
        r#"host module: no export "import/0" implementing the original's import "env" "f""#
    );
    let wrong_type =
        r#"(module (func (export "import/0")) (func (export "r3_init")) (func (export "_start")))"#;
    let error = merge_error(wrong_type, TRIVIAL_ORIGINAL);
    assert_eq!(error.to_string(), r#"host module: export "import/0" does not have type [I32] -> [I32]"#);
    let no_start = r#"(module (func (export "import/0") (param i32) (result i32) (local.get 0)) (func (export "r3_init")))"#;
    assert_eq!(merge_error(no_start, TRIVIAL_ORIGINAL).to_string(), r#"host module: no export "_start""#);
}

#[test]
fn global_values_must_be_given_and_fit() {
    let original = r#"(module (import "env" "g" (global i32)) (import "env" "r" (global externref)))"#;
    let host = |section: &str| {
        format!(r#"(module (func (export "r3_init")) (func (export "_start")) {})"#, replay_section(section))
    };
    let cases = [
        (
            r#"{"version": 1, "original": {"name": "o.wasm", "sha256": ""}, "globals": [{"import": 1, "value": {"extern_ref": null}}]}"#,
            "no initial value for the original's global import 0",
        ),
        (
            r#"{"version": 1, "original": {"name": "o.wasm", "sha256": ""}, "globals": [{"import": 0, "value": {"i64": 1}}, {"import": 1, "value": {"extern_ref": null}}]}"#,
            "global import 0: value I64(1) does not have the global's type I32",
        ),
        (
            r#"{"version": 1, "original": {"name": "o.wasm", "sha256": ""}, "globals": [{"import": 0, "value": {"i32": 1}}, {"import": 1, "value": {"extern_ref": 4}}]}"#,
            "global import 1: host reference 4: only a null externref can be a constant",
        ),
        (
            r#"{"version": 2, "original": {"name": "o.wasm", "sha256": ""}}"#,
            "the r3-replay custom section has version 2; this build reads version 1",
        ),
        (
            "{",
            "the r3-replay custom section is not valid JSON of the expected shape: EOF while parsing an object at line 1 column 1",
        ),
    ];
    for (section, message) in cases {
        let error = merge_error(&host(section), original);
        assert_eq!(error.to_string(), format!("host module's r3-replay custom section: {message}"));
    }
    let good = r#"{"version": 1, "original": {"name": "o.wasm", "sha256": ""}, "globals": [{"import": 0, "value": {"i32": 1}}, {"import": 1, "value": {"extern_ref": null}}]}"#;
    assert_runs(&merged(&host(good), original), &["_start"]);
}

#[test]
fn malformed_input_names_the_module() {
    let host = wasm(&trivial_host(""));
    let original = wasm(TRIVIAL_ORIGINAL);
    let error = merge(b"not wasm", &original).unwrap_err();
    assert!(matches!(error, MergeError::Decode { role: Role::Host, .. }), "{error:?}");
    assert!(error.to_string().starts_with("host module: invalid module"), "{error}");
    let error = merge(&host, &original[..original.len() - 3]).unwrap_err();
    assert!(matches!(error, MergeError::Decode { role: Role::Original, .. }), "{error:?}");
    assert!(error.to_string().starts_with("original module: invalid module"), "{error}");
}

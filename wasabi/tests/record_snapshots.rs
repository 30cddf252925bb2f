//! The text of small modules instrumented for R3 recording (`--hooks r3`), one per family of
//! instructions the recording pass rewrites, each output validated (it uses two memories).

const CASES: &[(&str, &str)] = &[
    (
        "loads",
        r#"(memory (export "m") 1) (func (param i32) (result i32 i64 f32 f64 v128)
            (i32.load8_s offset=3 (local.get 0)) (i64.load16_u (local.get 0)) (f32.load (local.get 0))
            (f64.load offset=4294967295 (local.get 0)) (v128.load (local.get 0)))"#,
    ),
    (
        "simd_loads",
        r#"(memory (export "m") 1) (func (param i32 v128) (result v128 v128 v128)
            (v128.load8x8_s (local.get 0)) (v128.load32_splat (local.get 0))
            (v128.load16_lane 5 (local.get 0) (local.get 1)))"#,
    ),
    (
        "atomics",
        r#"(memory (export "m") 1 1) (func (param i32) (result i32 i64 i32 i32)
            (i32.atomic.load (local.get 0)) (i64.atomic.rmw8.add_u (local.get 0) (i64.const 1))
            (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 1) (i32.const 2))
            (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))"#,
    ),
    (
        "stores",
        r#"(memory (export "m") 1) (func (param i32 v128)
            (i32.store8 offset=1 (local.get 0) (i32.const 7)) (f64.store (local.get 0) (f64.const -0))
            (v128.store32_lane 3 (local.get 0) (local.get 1)) (i64.atomic.store32 (local.get 0) (i64.const 9)))"#,
    ),
    (
        "bulk",
        r#"(memory (export "m") 1) (data $d "abc") (func (param i32)
            (memory.fill (local.get 0) (i32.const 1) (i32.const 2))
            (memory.copy (local.get 0) (i32.const 8) (i32.const 3))
            (memory.init $d (local.get 0) (i32.const 0) (i32.const 3))
            (drop (memory.grow (i32.const 1))))"#,
    ),
    (
        "imported_memory_and_start",
        r#"(import "env" "f" (func $f)) (import "env" "mem" (memory 1 2)) (import "env" "base" (global $base i32))
            (data (global.get $base) "xy") (data (i32.const 100) "z")
            (func $start (call $f) (call $g)) (func $g (ref.func $start) (drop)) (elem declare func $start)
            (start $start)"#,
    ),
    (
        "invisible_memory",
        r#"(memory 1) (global (export "g") (mut i32) (i32.const 0)) (table (export "t") 1 funcref)
            (func (param i32) (result i32 i32 funcref)
            (i32.store (local.get 0) (i32.load (local.get 0)))
            (global.get 0) (call_indirect (result i32) (local.get 0)) (table.get 0 (local.get 0)))"#,
    ),
    (
        // Writes to tables the host can reach are reported before they happen; the private
        // table's are not.
        "table_writes",
        r#"(import "env" "t" (table $shared 4 funcref)) (table $own (export "own") 2 externref)
            (table $private 2 funcref) (elem $e func $f)
            (func $f (param i32 externref)
            (table.set $shared (local.get 0) (ref.func $f)) (table.fill $own (local.get 0) (local.get 1) (i32.const 2))
            (table.copy $shared $private (i32.const 0) (local.get 0) (i32.const 1))
            (table.init $shared $e (local.get 0) (i32.const 0) (i32.const 1))
            (table.set $private (i32.const 0) (ref.null func)))"#,
    ),
];

#[test]
fn recording_instrumentation_per_family() {
    for (name, body) in CASES {
        let wat = format!("(module {body})");
        let bytes = wat::parse_str(&wat).unwrap_or_else(|error| panic!("{name}: {error}"));
        let recording =
            wasabi::instrument_for_recording(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        let wasm = recording.wasm();
        let text = wasmprinter::print_bytes(&wasm).unwrap();
        let features = wasabi_wasm::supported_features() | wasmparser::WasmFeatures::MULTI_MEMORY;
        wasmparser::Validator::new_with_features(features)
            .validate_all(&wasm)
            .unwrap_or_else(|error| panic!("{name}: {error}\n{text}"));
        let metadata = serde_json::to_string_pretty(&recording.metadata).unwrap();
        insta::assert_snapshot!(*name, format!("{text}\n;; metadata\n{metadata}\n"));
    }
}

#[test]
fn shared_memories_are_refused() {
    let bytes = wat::parse_str(r#"(module (memory (export "m") 1 1 shared))"#).unwrap();
    let error = wasabi::instrument_for_recording(&bytes).err().expect("refused");
    assert!(error.to_string().contains("shared memory"), "{error}");
}

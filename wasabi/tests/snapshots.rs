//! The instrumented text of one small module per hook, instrumented for that hook alone, with
//! the generated JS glue; a change to any hook's instrumentation shows up here.

use wasabi::HookSet;

const CASES: &[(&str, &str)] = &[
    ("start", r#"(func $s) (start $s)"#),
    ("nop", r#"(func nop)"#),
    ("unreachable", r#"(func unreachable)"#),
    ("br", r#"(func (block (block (br 1))))"#),
    ("br_if", r#"(func (param i32) (block (br_if 0 (local.get 0))))"#),
    ("br_table", r#"(func (param i32) (block (block (br_table 0 1 1 (local.get 0)))))"#),
    (
        "if",
        r#"(func (param i32) (result i32) (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))"#,
    ),
    ("begin", r#"(func (param i32) (block (loop (if (local.get 0) (then) (else)))))"#),
    (
        "end",
        r#"(func (param i32) (result i32) (block (loop (br_if 1 (local.get 0)))) (if (local.get 0) (then (return (i32.const 1)))) (i32.const 0))"#,
    ),
    (
        "call_pre",
        r#"(type $t (func (param i64) (result f32 i32))) (table 1 funcref) (func $f (type $t) (f32.const 1) (i32.const 2)) (func (drop (drop (call $f (i64.const 3)))) (drop (drop (call_indirect (type $t) (i64.const 4) (i32.const 0)))))"#,
    ),
    (
        "call_post",
        r#"(func $f (param i64) (result f32 i32) (f32.const 1) (i32.const 2)) (func (drop (drop (call $f (i64.const 3)))))"#,
    ),
    (
        "return",
        r#"(func (param i32) (result i64 v128) (if (local.get 0) (then (return (i64.const 1) (v128.const i64x2 2 3)))) (i64.const 4) (v128.const i64x2 5 6))"#,
    ),
    ("drop", r#"(func (drop (i32.const 1)) (drop (v128.const i32x4 1 2 3 4)))"#),
    (
        "select",
        r#"(func (param i32) (result i64 externref) (select (i64.const 1) (i64.const 2) (local.get 0)) (select (result externref) (ref.null extern) (ref.null extern) (local.get 0)))"#,
    ),
    (
        "const",
        r#"(func (result i32 i64 f32 f64 v128) (i32.const -1) (i64.const -9223372036854775808) (f32.const nan:0x200000) (f64.const -0) (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))"#,
    ),
    (
        "unary",
        r#"(func (param i32 f64 v128) (result i32 i64 i32) (i32.extend8_s (local.get 0)) (i64.trunc_sat_f64_u (local.get 1)) (i8x16.bitmask (local.get 2)))"#,
    ),
    (
        "binary",
        r#"(func (param i64 v128) (result i64 v128) (i64.rotl (local.get 0) (local.get 0)) (i16x8.shl (local.get 1) (i32.const 3)))"#,
    ),
    (
        "ternary",
        r#"(func (param v128) (result v128) (v128.bitselect (local.get 0) (local.get 0) (local.get 0)))"#,
    ),
    (
        "shuffle",
        r#"(func (param v128) (result v128) (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31 (local.get 0) (local.get 0)))"#,
    ),
    (
        "extract_lane",
        r#"(func (param v128) (result i32 f64) (i8x16.extract_lane_s 15 (local.get 0)) (f64x2.extract_lane 1 (local.get 0)))"#,
    ),
    (
        "replace_lane",
        r#"(func (param v128) (result v128) (i64x2.replace_lane 1 (local.get 0) (i64.const 7)))"#,
    ),
    (
        "load",
        r#"(memory 1) (func (param i32) (result i64 v128 v128) (i64.load32_s offset=4 align=2 (local.get 0)) (v128.load8_lane 3 (local.get 0) (v128.const i32x4 0 0 0 0)) (v128.load64_splat (local.get 0)))"#,
    ),
    (
        "store",
        r#"(memory 1) (func (param i32) (f32.store offset=8 (local.get 0) (f32.const 1.5)) (v128.store16_lane 2 (local.get 0) (v128.const i32x4 1 2 3 4)) (i32.atomic.store8 (local.get 0) (i32.const 9)))"#,
    ),
    ("memory_size", r#"(memory 1) (func (result i32) (memory.size))"#),
    ("memory_grow", r#"(memory 1) (func (result i32) (memory.grow (i32.const 1)))"#),
    ("memory_fill", r#"(memory 1) (func (memory.fill (i32.const 0) (i32.const 7) (i32.const 16)))"#),
    ("memory_copy", r#"(memory 1) (func (memory.copy (i32.const 0) (i32.const 8) (i32.const 16)))"#),
    (
        "memory_init",
        r#"(memory 1) (data $d "abc") (func (memory.init $d (i32.const 0) (i32.const 1) (i32.const 2)))"#,
    ),
    ("data_drop", r#"(memory 1) (data $d "abc") (func (data.drop $d))"#),
    (
        "local",
        r#"(func (param i32) (local f64) (local.set 1 (f64.const 1)) (drop (local.tee 0 (local.get 0))))"#,
    ),
    (
        "global",
        r#"(global $g (mut i64) (i64.const 0)) (func (global.set $g (i64.add (global.get $g) (i64.const 1))))"#,
    ),
    ("table_get", r#"(table 1 externref) (func (result externref) (table.get 0 (i32.const 0)))"#),
    (
        "table_set",
        r#"(table 1 funcref) (elem declare func $f) (func $f (table.set 0 (i32.const 0) (ref.func $f)))"#,
    ),
    ("table_size", r#"(table 0 funcref) (table 1 externref) (func (result i32) (table.size 1))"#),
    (
        "table_grow",
        r#"(table 1 externref) (func (result i32) (table.grow 0 (ref.null extern) (i32.const 2)))"#,
    ),
    ("table_fill", r#"(table 1 funcref) (func (table.fill 0 (i32.const 0) (ref.null func) (i32.const 1)))"#),
    (
        "table_copy",
        r#"(table $a 2 funcref) (table $b 2 funcref) (func (table.copy $a $b (i32.const 0) (i32.const 1) (i32.const 1)))"#,
    ),
    (
        "table_init",
        r#"(table 2 funcref) (elem $e func $f) (func $f (table.init $e (i32.const 0) (i32.const 0) (i32.const 1)))"#,
    ),
    ("elem_drop", r#"(elem $e func $f) (func $f (elem.drop $e))"#),
    ("ref_null", r#"(func (result funcref externref) (ref.null func) (ref.null extern))"#),
    ("ref_is_null", r#"(func (param externref) (result i32) (ref.is_null (local.get 0)))"#),
    ("ref_func", r#"(elem declare func $f) (func $f (result funcref) (ref.func $f))"#),
    ("atomic_rmw", r#"(memory 1) (func (result i64) (i64.atomic.rmw16.add_u (i32.const 0) (i64.const 5)))"#),
    (
        "atomic_cmpxchg",
        r#"(memory 1) (func (result i32) (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 1) (i32.const 2)))"#,
    ),
    (
        "atomic_wait",
        r#"(memory 1 1 shared) (func (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const 0)))"#,
    ),
    ("atomic_notify", r#"(memory 1) (func (result i32) (memory.atomic.notify (i32.const 0) (i32.const 1)))"#),
    ("atomic_fence", r#"(func (atomic.fence))"#),
];

#[test]
fn every_hook_has_a_case() {
    for hook in wasabi::Hook::ALL {
        assert!(CASES.iter().any(|(name, _)| *name == hook.cli_name()), "no snapshot case for {hook}");
    }
}

#[test]
fn instrumented_text_per_hook() {
    for (hook, body) in CASES {
        let wat = format!("(module {body})");
        let bytes = wat::parse_str(&wat).unwrap_or_else(|error| panic!("{hook}: {error}"));
        let hooks = HookSet::from_cli(Some(hook), None).unwrap();
        let instrumented =
            wasabi::instrument(&bytes, &hooks).unwrap_or_else(|error| panic!("{hook}: {error}"));
        let features = wasabi_wasm::supported_features();
        let wasm = instrumented.wasm();
        let text = wasmprinter::print_bytes(&wasm).unwrap();
        wasabi_wasm::validate(&wasm, features).unwrap_or_else(|error| panic!("{hook}: {error}\n{text}"));
        let glue: Vec<String> = instrumented.hooks.iter().map(|key| key.js()).collect();
        let snapshot = format!("{text}\n;; JS glue\n{}\n", glue.join("\n"));
        insta::assert_snapshot!(*hook, snapshot);
    }
}

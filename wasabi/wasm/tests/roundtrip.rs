//! Decode → encode on hand-written modules covering every Wasm 2.0 construct the IR models.

use wasabi_wasm::{DecodeOptions, Error, Module, roundtrip, supported_features, validate};
use wasmparser::WasmFeatures;

const ALL_OF_WASM2: &str = r#"
(module
  (type $pair (func (param i32 i64) (result i64 i32)))
  (import "env" "f" (func $imported (param i32) (result i32)))
  (import "env" "mem" (memory 1 2))
  (import "env" "tab" (table 1 funcref))
  (import "env" "g" (global $g (mut i64)))
  (table $refs 4 externref)
  (global $h (mut f32) (f32.const nan:0x200001))
  (global $fr funcref (ref.func $swap))
  (elem (i32.const 0) func $swap)
  (elem $passive funcref (ref.func $swap) (ref.null func))
  (elem declare func $imported)
  (data (i32.const 8) "hello")
  (data $passive_data "bulk")
  (func $swap (export "swap") (type $pair) (param i32 i64) (result i64 i32)
    (local f64 v128)
    local.get 1
    local.get 0
    (block $b (param i64 i32) (result i64 i32)
      br 0)
    i32.const 0 i32.const 0 i32.const 4 memory.init $passive_data
    data.drop $passive_data
    i32.const 0 i32.const 1 i32.const 2 memory.copy
    i32.const 0 i32.const 0 i32.const 2 memory.fill
    i32.const 0 ref.null extern table.set $refs
    i32.const 0 table.get $refs drop
    ref.null extern i32.const 1 table.grow $refs drop
    table.size $refs drop
    i32.const 0 i32.const 0 i32.const 1 table.init 0 $passive
    elem.drop $passive
    i32.const 0 i32.const 0 i32.const 0 table.copy 0 0
    ref.func $imported ref.is_null drop
    i32.const 1 i32.const 2 i32.const 0 select (result i32) drop
    i32.const -1 i32.extend8_s drop
    f64.const -0x1p+70 i64.trunc_sat_f64_s drop
    v128.const i32x4 1 2 3 4
    v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
    i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
    i32x4.extract_lane 3 drop
    i32.const 0 v128.load offset=16 align=4 drop
    i32.const 0 i32.const 0 v128.load8_splat v128.store64_lane 1
    i32.const 0 i32.atomic.load drop
    i32.const 0 i32.const 1 i32.const 2 i32.atomic.rmw.cmpxchg drop
    atomic.fence
    i32.const 0 i32.const 4 call_indirect (param i32) (result i32) drop
    i32.const 1 call $imported
    (br_table 0 0 0)
  )
  (start $start)
  (func $start)
  (export "mem" (memory 0))
  (export "g" (global $g))
)
"#;

fn encode_wat(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test module parses")
}

#[test]
fn every_wasm2_construct_roundtrips_exactly() {
    let input = encode_wat(ALL_OF_WASM2);
    let output = roundtrip(&input, supported_features()).unwrap();
    // wat makes the same encoding choices as the IR, so even the bytes match.
    assert_eq!(output, input);
    let module = Module::decode(&output).unwrap();
    assert_eq!(module.imports.len(), 4);
    assert_eq!(module.functions.len(), 2);
    assert_eq!(module.names.functions.get(&1).map(String::as_str), Some("swap"));
}

#[test]
fn float_constants_keep_nan_payloads() {
    let input = encode_wat("(module (func (result f32 f64) f32.const nan:0x7ffff1 f64.const -nan:0x1234))");
    let output = roundtrip(&input, supported_features()).unwrap();
    assert_eq!(output, input);
}

#[test]
fn custom_sections_stay_in_place() {
    let mut input =
        encode_wat("(module (func) (@custom \"first\" (before first) \"a\") (@custom \"tail\" \"z\"))");
    input.extend_from_slice(&[0, 4, 3, b'e', b'n', b'd']);
    let output = roundtrip(&input, supported_features()).unwrap();
    assert_eq!(output, input);
}

#[test]
fn malformed_name_section_is_kept_verbatim() {
    let mut input = encode_wat("(module (func))");
    input.extend_from_slice(&[0, 7, 4, b'n', b'a', b'm', b'e', 1, 0xff]);
    assert_eq!(roundtrip(&input, supported_features()).unwrap(), input);
}

#[test]
fn post_wasm2_proposals_are_refused_with_their_name_and_offset() {
    let cases = [
        ("(module (func return_call 0))", "tail"),
        ("(module (memory i64 1))", "memory64"),
        ("(module (memory 1) (memory 1))", "multi"),
        ("(module (tag))", "exceptions"),
        ("(module (type (struct)))", "gc"),
    ];
    for (wat, feature) in cases {
        let error = Module::decode(&encode_wat(wat)).unwrap_err();
        let Error::Unsupported { feature: found, offset } = &error else { panic!("{wat}: {error}") };
        assert!(found.contains(feature), "{wat}: {error}");
        assert!(*offset > 8, "{wat}: offset {offset}");
    }
}

#[test]
fn broken_input_is_an_error_with_an_offset() {
    let valid = encode_wat(ALL_OF_WASM2);
    for cut in [0, 3, 7, 20, valid.len() / 2, valid.len() - 1] {
        let error = Module::decode(&valid[..cut]).unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "cut at {cut}: {error}");
    }
    let error = Module::decode(&encode_wat("(module (func (result i32) i64.const 0))")).unwrap_err();
    assert!(error.to_string().contains("type mismatch"), "{error}");
}

#[test]
fn features_are_enforced_per_spec_version() {
    let multi_value = encode_wat("(module (func (result i32 i32) i32.const 0 i32.const 1))");
    assert!(validate(&multi_value, WasmFeatures::WASM1).is_err());
    let options = DecodeOptions { features: WasmFeatures::WASM1, validate: true };
    assert!(Module::decode_with(&multi_value, &options).is_err());
    assert!(Module::decode(&multi_value).is_ok());
}

#[test]
fn output_is_identical_across_runs_and_thread_counts() {
    let input = encode_wat(ALL_OF_WASM2);
    let encode_with = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| roundtrip(&input, supported_features()).unwrap())
    };
    let one = encode_with(1);
    assert_eq!(one, encode_with(2));
    assert_eq!(one, encode_with(2));
    assert_eq!(one, encode_with(1));
}

#[test]
fn overlong_memory_limits_are_malformed_without_memory64() {
    // Regression: the parser read limits as 64-bit (memory64 on by default) and took these.
    let header = b"\0asm\x01\0\0\0";
    let overlong_minimum =
        [&header[..], &[0x05, 0x08, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00]].concat();
    let error = Module::decode(&overlong_minimum).unwrap_err();
    assert!(error.to_string().contains("too long"), "{error}");
    assert_eq!(error.offset(), 16, "the fifth byte of the LEB128 is already too long");
}

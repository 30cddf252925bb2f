//! The editing API keeps every index reference consistent.

use wasabi_wasm::{
    ElementItems, ExportKind, FuncType, Function, Instr, Module, ValType, supported_features, validate,
};

const PROGRAM: &str = r#"
(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "g" (global $imported i32))
  (global $counter (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) func $main $helper)
  (elem declare func $helper)
  (func $main (export "main") (result i32)
    global.get $counter
    call $helper
    ref.func $helper
    drop)
  (func $helper (param i32) (result i32)
    local.get 0
    call $log
    global.get $imported)
  (start $helper_start)
  (func $helper_start)
  (export "counter" (global $counter))
)
"#;

fn decode(wat: &str) -> Module {
    Module::decode(&wat::parse_str(wat).unwrap()).unwrap()
}

#[test]
fn adding_function_imports_renumbers_every_reference() {
    let mut module = decode(PROGRAM);
    let hooks = module.add_function_imports([
        ("hooks".into(), "a".into(), FuncType::new([ValType::I32], [])),
        ("hooks".into(), "b".into(), FuncType::new([], [])),
    ]);
    assert_eq!(hooks, [1, 2], "new imports follow the existing imported functions");
    let main = &module.functions[0];
    assert!(matches!(main.body[1], Instr::Call(4)), "call $helper: 2 -> 4");
    assert!(matches!(main.body[2], Instr::RefFunc(4)));
    assert!(matches!(module.functions[1].body[1], Instr::Call(0)), "imported $log keeps index 0");
    let ElementItems::Functions(functions) = &module.elements[0].items else { panic!() };
    assert_eq!(functions, &[3, 4]);
    assert_eq!(module.start, Some(5));
    let main_export = module.exports.iter().find(|e| e.name == "main").unwrap();
    assert_eq!(main_export.index, 3);
    assert_eq!(module.names.functions.get(&4).map(String::as_str), Some("helper"));
    assert_eq!(module.names.functions.get(&0).map(String::as_str), Some("log"));
    validate(&module.encode(), supported_features()).unwrap();
}

#[test]
fn adding_a_global_import_renumbers_defined_globals() {
    let mut module = decode(PROGRAM);
    let added = module.add_global_import(
        "env",
        "extra",
        wasm_encoder::GlobalType { val_type: ValType::I64, mutable: false, shared: false },
    );
    assert_eq!(added, 1);
    assert!(matches!(module.functions[0].body[0], Instr::GlobalGet(2)), "$counter: 1 -> 2");
    assert!(matches!(module.functions[1].body[2], Instr::GlobalGet(0)), "$imported stays");
    let counter = module.exports.iter().find(|e| e.kind == ExportKind::Global).unwrap();
    assert_eq!(counter.index, 2);
    validate(&module.encode(), supported_features()).unwrap();
}

#[test]
fn added_types_functions_and_exports_are_encoded() {
    let mut module = decode(PROGRAM);
    let ty = module.add_type(FuncType::new([], [ValType::I64]));
    assert_eq!(module.add_type(FuncType::new([], [ValType::I64])), ty, "types are shared");
    let body = vec![Instr::I64Const(i64::MIN), Instr::End];
    let index = module.add_function(Function { type_index: ty, locals: vec![], body, encoded: None });
    module.add_export("min", ExportKind::Function, index);
    let reencoded = Module::decode(&module.encode()).unwrap();
    assert_eq!(reencoded.function_type(index), Some(&FuncType::new([], [ValType::I64])));
    assert!(reencoded.exports.iter().any(|e| e.name == "min" && e.index == index));
}

#[test]
fn instructions_can_be_replaced_in_place() {
    let mut module = decode(PROGRAM);
    module.for_each_instr_mut(|instr| {
        if let Instr::GlobalGet(0) = instr {
            *instr = Instr::I32Const(7);
        }
    });
    assert!(matches!(module.functions[1].body[2], Instr::I32Const(7)));
    validate(&module.encode(), supported_features()).unwrap();
}

const TWO_OF_EACH: &str = r#"
(module
  (type $a (func))
  (type $b (func (param i32)))
  (memory $m0 1)
  (memory $m1 1)
  (table $t0 1 funcref)
  (table $t1 1 funcref)
  (data $d0 "a")
  (data $d1 "b")
  (elem $e0 func $f)
  (elem $e1 (table $t1) (i32.const 0) func $f)
  (func $f (type $b)
    local.get 0
    i32.load8_u $m1
    i32.const 0
    call_indirect $t1 (type $b)
    i32.const 0
    i32.const 0
    i32.const 1
    memory.init $m1 $d1
    data.drop $d0
    i32.const 0
    i32.const 0
    i32.const 1
    table.init $t0 $e1
    elem.drop $e0
    memory.size $m0
    drop
    block (type $a)
    end))
"#;

/// Swaps indices 0 and 1 and leaves larger ones alone.
fn swap(index: u32) -> u32 {
    match index {
        0 => 1,
        1 => 0,
        other => other,
    }
}

#[test]
fn tables_memories_types_and_segments_can_be_renumbered() {
    // Two memories need multi-memory, beyond the IR's default features but decodable.
    let features = supported_features() | wasmparser::WasmFeatures::MULTI_MEMORY;
    let bytes = wat::parse_str(TWO_OF_EACH).unwrap();
    let mut module =
        Module::decode_with(&bytes, &wasabi_wasm::DecodeOptions { features, validate: true }).unwrap();
    module.remap_types(swap);
    module.remap_tables(swap);
    module.remap_memories(swap);
    module.remap_data(swap);
    module.remap_elements(swap);
    module.types.swap(0, 1);
    module.tables.swap(0, 1);
    module.memories.swap(0, 1);
    module.data.swap(0, 1);
    module.elements.swap(0, 1);
    let body = &module.functions[0].body;
    assert!(
        matches!(&body[1], Instr::I32Load8U(memarg) if memarg.target == wasabi_wasm::MemArgTarget::Memory(0))
    );
    assert!(matches!(body[3], Instr::CallIndirect { type_index: 0, table_index: 0 }));
    assert!(matches!(body[7], Instr::MemoryInit { mem: 0, data_index: 0 }));
    assert!(matches!(body[8], Instr::DataDrop(1)));
    assert!(matches!(body[12], Instr::TableInit { elem_index: 0, table: 1 }));
    assert!(matches!(body[13], Instr::ElemDrop(1)));
    assert!(matches!(body[14], Instr::MemorySize(1)));
    assert!(matches!(body[16], Instr::Block(wasabi_wasm::BlockType::FunctionType(1))));
    assert_eq!(module.functions[0].type_index, 0);
    assert_eq!(module.names.memories.get(&0).map(String::as_str), Some("m1"));
    validate(&module.encode(), features).unwrap();
}

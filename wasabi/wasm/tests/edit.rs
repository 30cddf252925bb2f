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

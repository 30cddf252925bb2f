//! Host functions see their caller: `caller.get_export("memory")` is how WASI and most hosts
//! reach the module's memory. A recording wrapper is itself a host function, and a function
//! it calls sees no calling instance at all. So the wrapper calls the real import through a
//! small forwarding module instead, which exports what the recorded instance exports (same
//! names, same objects, functions as their recording wrappers): to the import, it is the
//! caller.
//!
//! While the start function runs only memory 0 exists to mirror; once instantiated, a second
//! forwarding instance mirrors every export.

use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, GlobalType, ImportSection,
    MemoryType, RefType, TableType, TypeSection, ValType,
};
use wasmtime::{AsContextMut, Engine, Extern, ExternType, Func, FuncType, Instance, Module};

/// Export name of the forwarder of original function import `k`.
fn forwarder(k: usize) -> String {
    format!("__r3_call_{k}")
}

/// Compiles a forwarding module for function imports of these types, mirroring `mirrored`.
pub fn compile(
    engine: &Engine,
    imports: &[FuncType],
    mirrored: &[(String, ExternType)],
) -> Result<Module, String> {
    let bytes = encode(imports, mirrored)?;
    Module::new(engine, bytes).map_err(|error| format!("{error:#}"))
}

/// The forwarders, by import: `reals` are the real imports, `mirrored` the externs for the
/// mirrored exports, in the order the module was compiled for.
pub fn instantiate(
    mut store: impl AsContextMut,
    module: &Module,
    reals: &[Func],
    mirrored: &[Extern],
) -> wasmtime::Result<Vec<Func>> {
    let imports: Vec<Extern> =
        reals.iter().map(|&real| Extern::Func(real)).chain(mirrored.iter().cloned()).collect();
    let instance = Instance::new(&mut store, module, &imports)?;
    (0..reals.len())
        .map(|k| {
            instance
                .get_func(&mut store, &forwarder(k))
                .ok_or_else(|| wasmtime::format_err!("the forwarding module lacks {}", forwarder(k)))
        })
        .collect()
}

fn encode(imports: &[FuncType], mirrored: &[(String, ExternType)]) -> Result<Vec<u8>, String> {
    let mut types = TypeSection::new();
    let mut import_section = ImportSection::new();
    let mut exports = ExportSection::new();
    let mut add_type = |ty: &FuncType| -> Result<u32, String> {
        let params = ty.params().map(|ty| val_type(&ty)).collect::<Result<Vec<_>, _>>()?;
        let results = ty.results().map(|ty| val_type(&ty)).collect::<Result<Vec<_>, _>>()?;
        types.ty().function(params, results);
        Ok(types.len() - 1)
    };
    for (k, ty) in imports.iter().enumerate() {
        import_section.import("f", &k.to_string(), EntityType::Function(add_type(ty)?));
    }
    let mut counts = [imports.len() as u32, 0, 0, 0];
    for (i, (name, ty)) in mirrored.iter().enumerate() {
        let (entity, kind, slot) = match ty {
            ExternType::Func(ty) => (EntityType::Function(add_type(ty)?), ExportKind::Func, 0),
            ExternType::Memory(ty) => (EntityType::Memory(memory_type(ty)), ExportKind::Memory, 1),
            ExternType::Table(ty) => (EntityType::Table(table_type(ty)?), ExportKind::Table, 2),
            ExternType::Global(ty) => (EntityType::Global(global_type(ty)?), ExportKind::Global, 3),
            _ => return Err(format!("export {name:?} is of a kind beyond Wasm 2.0")),
        };
        import_section.import("e", &i.to_string(), entity);
        exports.export(name, kind, counts[slot]);
        counts[slot] += 1;
    }
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for (k, ty) in imports.iter().enumerate() {
        functions.function(k as u32);
        let mut body = Function::new([]);
        let mut sink = body.instructions();
        for param in 0..ty.params().len() as u32 {
            sink.local_get(param);
        }
        sink.call(k as u32).end();
        code.function(&body);
        exports.export(&forwarder(k), ExportKind::Func, counts[0] + k as u32);
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&types).section(&import_section).section(&functions).section(&exports).section(&code);
    Ok(module.finish())
}

fn val_type(ty: &wasmtime::ValType) -> Result<ValType, String> {
    Ok(match ty {
        wasmtime::ValType::I32 => ValType::I32,
        wasmtime::ValType::I64 => ValType::I64,
        wasmtime::ValType::F32 => ValType::F32,
        wasmtime::ValType::F64 => ValType::F64,
        wasmtime::ValType::V128 => ValType::V128,
        wasmtime::ValType::Ref(ty) => ValType::Ref(ref_type(ty)?),
    })
}

fn ref_type(ty: &wasmtime::RefType) -> Result<RefType, String> {
    match ty.heap_type() {
        heap if heap.is_func() && ty.is_nullable() => Ok(RefType::FUNCREF),
        heap if heap.is_extern() && ty.is_nullable() => Ok(RefType::EXTERNREF),
        _ => Err(format!("reference type {ty} is beyond Wasm 2.0")),
    }
}

/// Imports accept any size: the mirrored memory or table may have grown.
fn memory_type(ty: &wasmtime::MemoryType) -> MemoryType {
    MemoryType {
        minimum: 0,
        maximum: None,
        memory64: ty.is_64(),
        shared: ty.is_shared(),
        page_size_log2: None,
    }
}

fn table_type(ty: &wasmtime::TableType) -> Result<TableType, String> {
    Ok(TableType {
        element_type: ref_type(ty.element())?,
        table64: ty.is_64(),
        minimum: 0,
        maximum: None,
        shared: false,
    })
}

fn global_type(ty: &wasmtime::GlobalType) -> Result<GlobalType, String> {
    let mutable = ty.mutability() == wasmtime::Mutability::Var;
    Ok(GlobalType { val_type: val_type(ty.content())?, mutable, shared: false })
}

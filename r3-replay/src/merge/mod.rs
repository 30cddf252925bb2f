//! Merging (docs/replay.md, "Merging"): the host module H and the original module O become
//! `replay.wasm`, one module that imports nothing. O keeps every index (its imports become
//! definitions in place), so its function bodies are copied byte for byte; H is renumbered
//! into the index spaces after O's and appended.

mod error;
mod exports;
mod functions_table;
mod layout;
mod resolve;
mod section;

pub use error::{MergeError, Role};

use exports::HostExports;
use layout::{ImportBody, Layout};
use resolve::Resolution;
use wasabi_wasm::{
    ConstExpr, CustomSection, DecodeOptions, Element, ElementItems, ElementMode, ExportKind, FuncType,
    Function, Global, Instr, Module, Placement, supported_features, validate,
};
use wasmparser::WasmFeatures;

/// Merges the host module `host` (generated for a trace of `original`) and `original` into one
/// self-contained, validated module.
pub fn merge(host: &[u8], original: &[u8]) -> Result<Vec<u8>, MergeError> {
    merge_inputs(host, original, true)
}

/// [`merge`] for a caller that validated both inputs already (`r3 replay` generates the host
/// from a validated original and checks the host): only the output is validated.
pub fn merge_validated(host: &[u8], original: &[u8]) -> Result<Vec<u8>, MergeError> {
    merge_inputs(host, original, false)
}

fn merge_inputs(host: &[u8], original: &[u8], validate_inputs: bool) -> Result<Vec<u8>, MergeError> {
    let original = decode_original(original, validate_inputs)?;
    let options = DecodeOptions { validate: validate_inputs, ..DecodeOptions::default() };
    let host = Module::decode_with(host, &options)
        .map_err(|source| MergeError::Decode { role: Role::Host, source })?;
    let (merged, host_values) = assemble(host, original)?;
    let bytes = merged.encode();
    let features = if host_values { supported_features() | gc_features() } else { supported_features() };
    validate(&bytes, features).map_err(MergeError::Invalid)?;
    Ok(bytes)
}

/// Decodes the original, keeping its function bodies as the bytes they are in `bytes`.
fn decode_original(bytes: &[u8], validate_input: bool) -> Result<Module, MergeError> {
    let error = |source| MergeError::Decode { role: Role::Original, source };
    // The bodies are never decoded, so they are validated here (in parallel) instead.
    if validate_input {
        validate(bytes, supported_features()).map_err(error)?;
    }
    let options = DecodeOptions { validate: false, ..DecodeOptions::default() };
    let (mut module, bodies) = Module::decode_deferred(bytes, &options).map_err(error)?;
    for (function, deferred) in module.functions.iter_mut().zip(bodies) {
        function.encoded = Some(deferred.body.as_bytes().to_vec());
    }
    Ok(module)
}

/// The merged module, and whether it makes host values (which needs Wasm GC).
fn assemble(mut host: Module, original: Module) -> Result<(Module, bool), MergeError> {
    if host.start.is_some() {
        return Err(MergeError::Host("has a start function; the interface has r3_init instead".into()));
    }
    functions_table::define(&mut host, &original)?;
    let resolution = resolve::resolve(&host, &original)?;
    let exports = HostExports::read(&host, &original)?;
    let replay_section = section::find(&host).cloned();
    let layout = Layout::new(&host, &original, &resolution, &exports);
    let stand_in = |id| exports.foreign.get(&id).map(|&index| layout.function(index));
    let imported_globals = section::imported_globals(&host, &original, &stand_in)?;
    let host_names = layout.host_function_names(&host);
    let declared = declared_functions(&original, &exports, &layout);
    let mut merged = original;
    renumber(&mut host, &layout, &resolution, &mut merged);
    define_imports(&mut merged, &mut host, &layout, &resolution, imported_globals);
    append_host(&mut merged, host, &layout);
    add_start(&mut merged, &layout, &exports);
    declare(&mut merged, declared);
    inline_global_reads(&mut merged);
    merged.exports = exports.kept.iter().map(|export| layout.export(export)).collect();
    for (index, name) in host_names {
        merged.names.functions.entry(index).or_insert(name);
    }
    if let Some(section) = replay_section {
        merged.custom_sections.push(CustomSection { placement: Placement::AfterData, ..section });
    }
    Ok((merged, layout.extern_ref.is_some()))
}

/// Whether the merge of host module `host` makes host values (H imports `r3_host.extern`), so
/// that it needs [`gc_features`].
pub fn makes_host_values(host: &[u8]) -> bool {
    let imports = wasmparser::Parser::new(0).parse_all(host).find_map(|payload| match payload {
        Ok(wasmparser::Payload::ImportSection(imports)) => Some(imports),
        _ => None,
    });
    imports
        .into_iter()
        .flat_map(|imports| imports.into_imports())
        .any(|import| import.is_ok_and(|import| import.module == "r3_host" && import.name == "extern"))
}

/// A module whose `_start` makes a host value as merged replays do: an engine that runs it
/// can run replays needing [`gc_features`].
pub fn gc_probe() -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([], []);
    let mut functions = wasm_encoder::FunctionSection::new();
    functions.function(0);
    let mut exports = wasm_encoder::ExportSection::new();
    exports.export("_start", wasm_encoder::ExportKind::Func, 0);
    let mut body = wasm_encoder::Function::new([]);
    body.instructions().i32_const(1).ref_i31().extern_convert_any().drop().end();
    let mut code = wasm_encoder::CodeSection::new();
    code.function(&body);
    module.section(&types).section(&functions).section(&exports).section(&code);
    module.finish()
}

/// What a merged module making host values needs beyond [`supported_features`].
pub fn gc_features() -> WasmFeatures {
    WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES
}

/// Moves every index in `host` into the merged module's index spaces; `host`'s types are
/// added to `merged`'s.
fn renumber(host: &mut Module, layout: &Layout, resolution: &Resolution, merged: &mut Module) {
    host.remap_functions(|index| layout.function(index));
    let types: Vec<u32> = host.types.iter().map(|ty| merged.add_type(ty.clone())).collect();
    host.remap_types(|index| types[index as usize]);
    host.remap_globals(space(&resolution.globals, resolution.global_types.len()));
    host.remap_tables(space(&resolution.tables, resolution.table_types.len()));
    host.remap_memories(space(&resolution.memories, resolution.memory_types.len()));
    let data = merged.data.len() as u32;
    host.remap_data(|index| data + index);
    let elements = merged.elements.len() as u32;
    host.remap_elements(|index| elements + index);
}

/// An index space of the host, imports first, mapped to the merged module's: imports to what
/// they resolved to, definitions after the original's `original_count` entities.
fn space(imports: &[u32], original_count: usize) -> impl Fn(u32) -> u32 + Sync + '_ {
    move |index| match imports.get(index as usize) {
        Some(&resolved) => resolved,
        None => (original_count + index as usize - imports.len()) as u32,
    }
}

/// Turns the original's imports into definitions at the same indices.
fn define_imports(
    merged: &mut Module,
    host: &mut Module,
    layout: &Layout,
    resolution: &Resolution,
    imported_globals: Vec<Global>,
) {
    let types: Vec<u32> = merged.imported_functions().map(|(_, type_index)| type_index).collect();
    let bodies = types.into_iter().zip(&layout.import_bodies).map(|(type_index, body)| match *body {
        // The original's type index, though the host's type is equal, keeps its code unchanged.
        ImportBody::Moved(position) => {
            Function { type_index, ..std::mem::take(&mut host.functions[position]) }
        }
        ImportBody::Forward(target) => forwarder(type_index, &merged.types[type_index as usize], target),
    });
    let bodies: Vec<Function> = bodies.collect();
    merged.functions.splice(0..0, bodies);
    merged.tables.clone_from(&resolution.table_types);
    merged.memories.clone_from(&resolution.memory_types);
    merged.globals.splice(0..0, imported_globals);
    merged.imports.clear();
}

/// A function of type `ty` that passes its arguments on to `target`.
fn forwarder(type_index: u32, ty: &FuncType, target: u32) -> Function {
    let arguments = (0..ty.params.len() as u32).map(Instr::LocalGet);
    let body = arguments.chain([Instr::Call(target), Instr::End]).collect();
    Function { type_index, body, ..Function::default() }
}

/// Appends the host's definitions (those not moved to the original's imports) and segments.
fn append_host(merged: &mut Module, host: Module, layout: &Layout) {
    let appended =
        host.functions.into_iter().enumerate().filter(|(position, _)| layout.is_appended(*position));
    merged.functions.extend(appended.map(|(_, function)| function));
    merged.tables.extend(host.tables);
    merged.memories.extend(host.memories);
    merged.globals.extend(host.globals);
    merged.data.extend(host.data);
    merged.elements.extend(host.elements);
    merged.data_count |= host.data_count;
}

/// Adds the trapping `throw` and `extern` (when the host imports them) and the start
/// function, which runs `r3_init` and then the original's start function.
fn add_start(merged: &mut Module, layout: &Layout, exports: &HostExports) {
    let type_index = merged.add_type(FuncType::default());
    if let Some(throw) = layout.throw {
        let body = vec![Instr::Unreachable, Instr::End];
        let index = merged.add_function(Function { type_index, body, ..Function::default() });
        debug_assert_eq!(index, throw);
        merged.names.functions.entry(index).or_insert_with(|| "r3_host.throw".into());
    }
    if let Some(extern_ref) = layout.extern_ref {
        let function = host_value_function(merged);
        let index = merged.add_function(function);
        debug_assert_eq!(index, extern_ref);
        merged.names.functions.entry(index).or_insert_with(|| "r3_host.extern".into());
    }
    let calls = [Some(layout.function(exports.init)), merged.start].into_iter().flatten().map(Instr::Call);
    let body = calls.chain([Instr::End]).collect();
    let start = merged.add_function(Function { type_index, body, ..Function::default() });
    merged.names.functions.entry(start).or_insert_with(|| "r3_replay.start".into());
    merged.start = Some(start);
}

/// `r3_host.extern` without a host: the host value of id `n` is the i31 reference `n` seen as
/// an externref. Ids are numbered from 0 per trace, so they fit 31 bits, and equal ids give
/// equal values. The IR has no GC instructions, so the body is encoded here.
fn host_value_function(merged: &mut Module) -> Function {
    let type_index = merged.add_type(resolve::extern_type());
    let mut body = wasm_encoder::Function::new([]);
    body.instructions().local_get(0).i32_wrap_i64().ref_i31().extern_convert_any().end();
    Function { type_index, encoded: Some(body.into_raw_body()), ..Function::default() }
}

/// Functions that `ref.func` in the code may rely on being declared by an export, which the
/// merged module drops.
fn declared_functions(original: &Module, exports: &HostExports, layout: &Layout) -> Vec<u32> {
    let exported = original.exports.iter().filter(|export| export.kind == ExportKind::Function);
    let from_original = exported.map(|export| export.index);
    let from_host = exports.dropped_functions.iter().map(|&index| layout.function(index));
    from_original.chain(from_host).collect()
}

/// Declares `functions` and the functions the globals start with in one declarative segment,
/// after every other segment so no element index changes.
fn declare(merged: &mut Module, mut functions: Vec<u32>) {
    let in_globals = merged.globals.iter().flat_map(|global| &global.init.0);
    functions.extend(in_globals.filter_map(|instr| match instr {
        Instr::RefFunc(index) => Some(*index),
        _ => None,
    }));
    functions.sort_unstable();
    functions.dedup();
    if !functions.is_empty() {
        let items = ElementItems::Functions(functions);
        merged.elements.push(Element { mode: ElementMode::Declarative, items });
    }
}

/// Constant expressions may read only imported globals (Wasm 2.0), and the merged module
/// imports none: each such read becomes the constant the global is defined with, which is
/// the value it had, as imported immutable globals never change.
fn inline_global_reads(module: &mut Module) {
    for index in 0..module.globals.len() {
        let init = inlined(&module.globals[index].init, &module.globals[..index]);
        module.globals[index].init = init;
    }
    let globals = &module.globals;
    for element in &mut module.elements {
        if let ElementMode::Active { offset, .. } = &mut element.mode {
            *offset = inlined(offset, globals);
        }
        if let ElementItems::Expressions(_, exprs) = &mut element.items {
            exprs.iter_mut().for_each(|expr| *expr = inlined(expr, globals));
        }
    }
    for data in &mut module.data {
        if let wasabi_wasm::DataMode::Active { offset, .. } = &mut data.mode {
            *offset = inlined(offset, globals);
        }
    }
}

fn inlined(expr: &ConstExpr, globals: &[Global]) -> ConstExpr {
    let instrs = expr.0.iter().flat_map(|instr| match instr {
        Instr::GlobalGet(index) if (*index as usize) < globals.len() => {
            globals[*index as usize].init.0.clone()
        }
        other => vec![other.clone()],
    });
    ConstExpr(instrs.collect())
}

//! Linking an instrumented module: the original imports (functions wrapped), the recorder's
//! `__r3` items, and the events that describe what the host handed over at instantiation,
//! before anything else happens (global values, a bigger memory or table than declared, table
//! contents).

use super::NativeError;
use super::adapter;
use super::calls::{export_wrapper, import_wrapper, sync_function};
use super::context::{Memories, Shared, lock};
use super::module::{RecordingModule, Slot};
use crate::trace::{Event, Value};
use wasmtime::{AsContextMut, Extern, ExternType, Func, Instance, Memory, MemoryType, Ref, RootScope};

/// The externs for the instrumented module's imports; records the instantiation events.
pub fn link<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &[Extern],
) -> Result<Vec<Extern>, NativeError> {
    if imports.len() != module.imports.len() {
        return Err(NativeError::ImportCount {
            module: module.label(),
            expected: module.imports.len(),
            given: imports.len(),
        });
    }
    let memories = link_memory(&mut store, ctx, module, imports)?;
    let mut imports = imports.to_vec();
    link_globals(&mut store, ctx, module, &mut imports)?;
    link_tables(&mut store, ctx, module, &imports)?;
    let (externs, reals) = externs(&mut store, ctx, module, &imports, memories)?;
    lock(ctx).reals = reals;
    if let Some(adapters) = &module.adapters {
        // Only memory 0 exists before instantiation: it is all the start function's imports see.
        let mirrored = match memories {
            Some(memories) => vec![Extern::Memory(memories.memory); adapters.start_mirrored.len()],
            None => Vec::new(),
        };
        use_forwarders(&mut store, ctx, module, &adapters.start, &mirrored)?;
    }
    Ok(externs)
}

/// From now on, import calls go through an instance of `adapter` mirroring `mirrored`.
fn use_forwarders(
    mut store: impl AsContextMut,
    ctx: &Shared,
    module: &RecordingModule,
    adapter: &wasmtime::Module,
    mirrored: &[Extern],
) -> Result<(), NativeError> {
    let reals = lock(ctx).reals.clone();
    let forwarders = adapter::instantiate(&mut store, adapter, &reals, mirrored)
        .map_err(|error| NativeError::Instantiate { module: module.label(), error })?;
    lock(ctx).forwarders = forwarders;
    Ok(())
}

/// The externs for the instrumented module's imports in order, and the real function imports.
fn externs<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &[Extern],
    memories: Option<Memories>,
) -> Result<(Vec<Extern>, Vec<Func>), NativeError> {
    let memories = || {
        memories.ok_or_else(|| NativeError::Metadata {
            module: module.label(),
            message: "the module imports __r3 memories, but the metadata lists no host-visible memory".into(),
        })
    };
    let mut externs = Vec::with_capacity(module.slots.len());
    let mut reals = Vec::new();
    for slot in &module.slots {
        externs.push(match slot {
            Slot::Original { position, function: Some((k, ty)) } => {
                let real = imports[*position]
                    .clone()
                    .into_func()
                    .filter(|real| real.matches_ty(&store, ty))
                    .ok_or_else(|| {
                        link_error(module, *position, format!("expected a function of type {ty}"))
                    })?;
                reals.push(real);
                Extern::Func(import_wrapper(&mut store, ctx.clone(), *k, real, ty.clone()))
            }
            Slot::Original { position, function: None } => imports[*position].clone(),
            Slot::Sync => Extern::Func(sync_function(&mut store, ctx.clone())),
            Slot::TableWrite => Extern::Func(Func::wrap(&mut store, |_: i32, _: i32, _: i32| {})),
            Slot::Memory(_) => Extern::Memory(memories()?.memory),
            Slot::Shadow => Extern::Memory(memories()?.shadow),
        });
    }
    Ok((externs, reals))
}

fn link_error(module: &RecordingModule, position: usize, message: String) -> NativeError {
    let import = &module.imports[position];
    NativeError::Link {
        module: module.label(),
        index: position,
        import: format!("{}.{}", import.module, import.name),
        message,
    }
}

/// Where among the original imports the imported item `index` of a kind is.
fn imported_position(
    module: &RecordingModule,
    positions: &[usize],
    index: u32,
    kind: &str,
) -> Result<usize, NativeError> {
    positions.get(index as usize).copied().ok_or_else(|| NativeError::Metadata {
        module: module.label(),
        message: format!(
            "the metadata lists imported {kind} {index}, the module imports {} of them",
            positions.len()
        ),
    })
}

/// Memory 0 and its shadow (sized as memory 0 is now), if the host can reach memory 0.
fn link_memory(
    mut store: impl AsContextMut,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &[Extern],
) -> Result<Option<Memories>, NativeError> {
    let Some(host) = &module.metadata.memory else { return Ok(None) };
    let memory = match &host.import {
        Some(_) => {
            let position =
                *module.import_positions(|ty| matches!(ty, ExternType::Memory(_))).first().ok_or_else(
                    || NativeError::Metadata { module: module.label(), message: "no memory import".into() },
                )?;
            let memory = imports[position]
                .clone()
                .into_memory()
                .ok_or_else(|| link_error(module, position, "expected a memory".into()))?;
            let actual_maximum = memory.ty(&store).maximum();
            if let Some(pages) =
                actual_maximum.filter(|&max| host.maximum.is_none_or(|declared| max < declared))
            {
                lock(ctx).emit(&Event::MemoryMax { memory: 0, pages });
            }
            let pages = memory.size(&store);
            if pages > host.initial {
                lock(ctx).emit(&Event::MemoryGrow { memory: 0, pages });
            }
            memory
        }
        None => {
            let ty = module.slots.iter().find_map(|slot| match slot {
                Slot::Memory(ty) => Some(ty.clone()),
                _ => None,
            });
            let ty = ty
                .unwrap_or_else(|| MemoryType::new(host.initial as u32, host.maximum.map(|max| max as u32)));
            new_memory(&mut store, module, ty)?
        }
    };
    let offset = host.shadow_offset as u64;
    let pages = memory.size(&store) + Memories::extra_pages(offset);
    let pages = u32::try_from(pages).map_err(|_| NativeError::Metadata {
        module: module.label(),
        message: "memory 0 has more pages than a 32-bit memory can".into(),
    })?;
    let shadow = new_memory(&mut store, module, MemoryType::new(pages, None))?;
    let memories = Memories { memory, shadow, offset };
    lock(ctx).memory = Some(memories);
    Ok(Some(memories))
}

fn new_memory(
    store: impl AsContextMut,
    module: &RecordingModule,
    ty: MemoryType,
) -> Result<Memory, NativeError> {
    Memory::new(store, ty).map_err(|error| NativeError::Instantiate { module: module.label(), error })
}

/// `global_set` with every imported global's value; mutable ones are watched from now on. An
/// immutable global holding a foreign function is replaced by a copy holding its wrapper, so
/// that calls of it are seen.
fn link_globals<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &mut [Extern],
) -> Result<(), NativeError> {
    let positions = module.import_positions(|ty| matches!(ty, ExternType::Global(_)));
    let mut scope = RootScope::new(&mut store);
    for host in module.metadata.globals.iter().filter(|global| global.import.is_some()) {
        let position = imported_position(module, &positions, host.index, "global")?;
        let global = imports[position]
            .clone()
            .into_global()
            .ok_or_else(|| link_error(module, position, "expected a global".into()))?;
        let mut c = lock(ctx);
        let val = global.get(&mut scope);
        let value = c.value(&mut scope, &val);
        c.emit(&Event::GlobalSet { global: host.index, value });
        if host.mutable {
            if let Value::Foreign(_) = value {
                c.warn_once(
                    "foreign-global",
                    "an imported mutable global holds a function of another instance; its calls are not recorded, so a replay cannot answer them",
                );
            }
            c.track_global(&mut scope, host.index, global);
        } else if let (Value::Foreign(_), wasmtime::Val::FuncRef(Some(func))) = (value, val) {
            let foreigners = c.foreigners.clone();
            drop(c);
            let wrapper = wasmtime::Val::FuncRef(Some(foreigners.wrapper(&mut scope, func)));
            let ty = global.ty(&scope);
            let copy = wasmtime::Global::new(&mut scope, ty, wrapper)
                .map_err(|error| NativeError::Instantiate { module: module.label(), error })?;
            imports[position] = Extern::Global(copy);
        }
    }
    Ok(())
}

/// For every imported table: `table_grow` if it is bigger than declared, `table_set` for the
/// host values in it.
fn link_tables(
    mut store: impl AsContextMut,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &[Extern],
) -> Result<(), NativeError> {
    let positions = module.import_positions(|ty| matches!(ty, ExternType::Table(_)));
    let mut scope = RootScope::new(&mut store);
    for host in module.metadata.tables.iter().filter(|table| table.import.is_some()) {
        let position = imported_position(module, &positions, host.index, "table")?;
        let table = imports[position]
            .clone()
            .into_table()
            .ok_or_else(|| link_error(module, position, "expected a table".into()))?;
        let func = host.ty == 'r';
        let size = table.size(&scope);
        let mut c = lock(ctx);
        if size > host.initial {
            let init = if func { Value::FuncRef(None) } else { Value::ExternRef(None) };
            c.emit(&Event::TableGrow { table: host.index, size, init });
        }
        // Functions in it cannot be this instance's (it does not exist yet): the module is told
        // of them at its first host -> module transition (see `Context::leave`).
        for i in 0..size {
            if let Some(Ref::Extern(Some(r))) = table.get(&mut scope, i) {
                let value = Value::ExternRef(Some(c.extern_id(&mut scope, &r)));
                c.emit(&Event::TableSet { table: host.index, index: i, value });
            }
        }
        drop(c);
        lock(ctx).track_table(&mut scope, host.index, table, func);
    }
    Ok(())
}

/// After instantiation: exported items are reachable now; the host gets the exports with each
/// function of the instance replaced by its recording wrapper, and without the `__r3_` ones.
pub fn adopt<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    instance: Instance,
) -> Result<Vec<(String, Extern)>, NativeError> {
    track_exported(&mut store, ctx, module, instance)?;
    let exports = host_exports(&mut store, ctx, module, instance);
    if let Some(adapters) = &module.adapters {
        let mirrored: Vec<Extern> = adapters
            .full_mirrored
            .iter()
            .filter_map(|name| {
                exports.iter().find(|(export, _)| export == name).map(|(_, export)| export.clone())
            })
            .collect();
        use_forwarders(&mut store, ctx, module, &adapters.full, &mirrored)?;
    }
    let mut c = lock(ctx);
    c.leave(&mut store);
    c.control = false;
    Ok(exports)
}

/// The instrumentation's exports, and the host-visible tables and mutable globals the module
/// defines.
fn track_exported(
    mut store: impl AsContextMut,
    ctx: &Shared,
    module: &RecordingModule,
    instance: Instance,
) -> Result<(), NativeError> {
    let missing = |what: &str| NativeError::Metadata {
        module: module.label(),
        message: format!("the instrumented module does not export {what}"),
    };
    let functions = instance
        .get_table(&mut store, wasabi::record::FUNCTION_TABLE_EXPORT)
        .ok_or_else(|| missing(wasabi::record::FUNCTION_TABLE_EXPORT))?;
    let naive = instance
        .get_global(&mut store, wasabi::record::NAIVE_COUNTER_EXPORT)
        .ok_or_else(|| missing(wasabi::record::NAIVE_COUNTER_EXPORT))?;
    let mut c = lock(ctx);
    c.set_functions(functions);
    c.set_naive_counter(naive);
    for host in module.metadata.globals.iter().filter(|global| global.import.is_none() && global.mutable) {
        let name = host.export.first().ok_or_else(|| missing("a global the metadata lists"))?;
        let global = instance.get_global(&mut store, name).ok_or_else(|| missing(name))?;
        c.track_global(&mut store, host.index, global);
    }
    for host in module.metadata.tables.iter().filter(|table| table.import.is_none()) {
        let name = host.export.first().ok_or_else(|| missing("a table the metadata lists"))?;
        let table = instance.get_table(&mut store, name).ok_or_else(|| missing(name))?;
        c.track_table(&mut store, host.index, table, host.ty == 'r');
    }
    Ok(())
}

fn host_exports<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    instance: Instance,
) -> Vec<(String, Extern)> {
    let names: Vec<String> = module
        .module
        .exports()
        .map(|export| export.name().to_string())
        .filter(|name| !name.starts_with("__r3_"))
        .collect();
    let mut exports = Vec::with_capacity(names.len());
    for name in names {
        let Some(export) = instance.get_export(&mut store, &name) else { continue };
        let export = match export {
            Extern::Func(func) => {
                let (index, imported) = {
                    let mut c = lock(ctx);
                    (c.index_of(&mut store, &func), c.imported_functions)
                };
                match index {
                    Some(index) if index >= imported => {
                        lock(ctx).export_names.entry(index).or_insert_with(|| name.clone());
                        Extern::Func(export_wrapper(&mut store, ctx, index, func))
                    }
                    // A re-exported import is the host's own function.
                    _ => Extern::Func(func),
                }
            }
            other => other,
        };
        exports.push((name, export));
    }
    exports
}

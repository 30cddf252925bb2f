//! What the linker itself provides: the `r3_host` imports of H (O's imported memories, tables
//! and globals, `throw`, `extern`) and the forwarders O calls as its function imports.

use super::LinkError;
use super::original::{ImportDesc, Original};
use crate::section::ReplaySection;
use r3_hooks::Value;
use r3_hooks::wasmtime::{
    self, AsContextMut, Extern, ExternRef, ExternType, Func, FuncType, Global, GlobalType, Instance, Memory,
    Module, OwnedRooted, Ref, Rooted, Table, Val, ValType,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use thiserror::Error;

/// The error `r3_host.throw` raises: a host exception, which the caller of a segment (and the
/// recorder) tell from a trap.
#[derive(Debug, Error)]
#[error("host exception (r3_host.throw)")]
pub struct HostException;

/// The data of the externref `r3_host.extern` gives for a recorder id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostValue(pub u64);

/// One externref per recorder id, so that the same id is the same host value.
#[derive(Clone, Default)]
pub struct Externs(Arc<Mutex<HashMap<u64, OwnedRooted<ExternRef>>>>);

impl Externs {
    fn get(&self, mut store: impl AsContextMut, id: u64) -> wasmtime::Result<Rooted<ExternRef>> {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = known.get(&id) {
            return Ok(known.to_rooted(&mut store));
        }
        let value = ExternRef::new(&mut store, HostValue(id))?;
        known.insert(id, value.to_owned_rooted(&mut store)?);
        Ok(value)
    }
}

/// H's `import/<i>` functions, known once H is instantiated; O's function imports forward
/// to them.
pub struct Forwarders {
    targets: Arc<OnceLock<Vec<Option<Func>>>>,
}

impl Forwarders {
    pub fn new() -> Forwarders {
        Forwarders { targets: Arc::new(OnceLock::new()) }
    }

    /// The function O imports as import `i`: calls H's `import/<i>` once H exists.
    fn forwarder<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        i: usize,
        import: &ImportDesc,
        ty: FuncType,
    ) -> Func {
        let targets = self.targets.clone();
        let label = format!("{}.{}", import.module, import.name);
        Func::new(store, ty, move |caller, params, results| {
            match targets.get().and_then(|targets| targets.get(i).copied().flatten()) {
                Some(target) => target.call(caller, params, results),
                None => Err(wasmtime::format_err!(
                    "the original called its import {i} ({label}) before the host module was instantiated \
                     (from its start function): the two-module form cannot replay that, the merged replay.wasm can"
                )),
            }
        })
    }

    /// From now on, forwarders call `host`'s functions.
    pub fn connect(
        &self,
        mut store: impl AsContextMut,
        host: Instance,
        imports: &[ImportDesc],
    ) -> Result<(), LinkError> {
        let targets = imports
            .iter()
            .enumerate()
            .map(|(i, import)| match import.ty {
                ExternType::Func(_) => host.get_func(&mut store, &format!("import/{i}")),
                _ => None,
            })
            .collect();
        self.targets.set(targets).map_err(|_| LinkError::Interface("was linked twice".into()))
    }
}

/// The externs for O's imports.
pub struct OriginalImports {
    /// In order: forwarders for functions, new entities (of H's `r3_host.import/<i>` type if
    /// H imports it, else of O's) for the rest.
    pub entities: Vec<Extern>,
    /// Imported globals holding a function H defines (import number, foreign id): null until
    /// [`OriginalImports::bind_foreign_globals`].
    foreign_globals: Vec<(u32, u64)>,
}

impl OriginalImports {
    /// O-first linking cannot give a global a function of H, which does not exist yet.
    pub fn check_no_foreign_globals(&self) -> Result<(), LinkError> {
        match self.foreign_globals.first() {
            Some(&(import, id)) => Err(LinkError::Global {
                import,
                message: format!(
                    "foreign function {id}, which the host module defines, does not exist before it"
                ),
            }),
            None => Ok(()),
        }
    }

    /// Gives each imported global holding a foreign function H's stand-in for it: a mutable
    /// global (H may import it) is set, an immutable one is made anew (H does not import those).
    pub fn bind_foreign_globals(
        &mut self,
        mut store: impl AsContextMut,
        host: Instance,
    ) -> Result<(), LinkError> {
        for &(import, id) in &self.foreign_globals {
            let error = |message: String| LinkError::Global { import, message };
            let name = format!("foreign/{id}");
            let func = host
                .get_func(&mut store, &name)
                .ok_or_else(|| error(format!("the host module exports no function {name}")))?;
            let Extern::Global(placeholder) = self.entities[import as usize] else {
                return Err(error("is not a global".into()));
            };
            let ty = placeholder.ty(&store);
            let value = Val::FuncRef(Some(func));
            if ty.mutability().is_var() {
                placeholder.set(&mut store, value).map_err(|e| error(format!("{e:#}")))?;
            } else {
                let global = Global::new(&mut store, ty, value).map_err(|e| error(format!("{e:#}")))?;
                self.entities[import as usize] = Extern::Global(global);
            }
        }
        Ok(())
    }
}

/// The externs for O's imports (see [`OriginalImports`]).
pub fn original_imports<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    host: &Module,
    section: &ReplaySection,
    imports: &[ImportDesc],
    externs: &Externs,
    forwarders: &Forwarders,
) -> Result<OriginalImports, LinkError> {
    let host_types: HashMap<String, ExternType> = host
        .imports()
        .filter(|import| import.module() == "r3_host")
        .map(|import| (import.name().to_string(), import.ty()))
        .collect();
    let mut entities = Vec::with_capacity(imports.len());
    let mut foreign_globals = Vec::new();
    for (i, import) in imports.iter().enumerate() {
        let ty = host_types.get(&format!("import/{i}")).cloned().unwrap_or_else(|| import.ty.clone());
        let entity = match (ty, &import.ty) {
            (_, ExternType::Func(ty)) => {
                Extern::Func(forwarders.forwarder(&mut store, i, import, ty.clone()))
            }
            (ExternType::Memory(ty), ExternType::Memory(_)) => {
                let memory = Memory::new(&mut store, ty).map_err(|error| entity_error(i, error))?;
                prefill_memory(&mut store, section, i as u32, memory)?;
                Extern::Memory(memory)
            }
            (ExternType::Table(ty), ExternType::Table(_)) => {
                let init = Ref::null(ty.element().heap_type());
                let table = Table::new(&mut store, ty, init).map_err(|error| entity_error(i, error))?;
                prefill_table(&mut store, section, i as u32, table, externs)?;
                Extern::Table(table)
            }
            (ExternType::Global(ty), ExternType::Global(_)) => {
                let value = section.global(i as u32);
                if let Some(Value::Foreign(id)) = value {
                    foreign_globals.push((i as u32, id));
                }
                Extern::Global(global(&mut store, value, i as u32, ty, externs)?)
            }
            (ty, _) => {
                return Err(LinkError::Interface(format!(
                    "imports r3_host.import/{i} as {ty:?}, but the original's import {i} ({}.{}) is of another kind",
                    import.module, import.name
                )));
            }
        };
        entities.push(entity);
    }
    Ok(OriginalImports { entities, foreign_globals })
}

fn entity_error(i: usize, error: wasmtime::Error) -> LinkError {
    LinkError::Instantiate { what: format!("the entity for the original's import {i}"), error }
}

/// What the recorded host wrote into the memory before O existed (O's start may read it).
fn prefill_memory(
    mut store: impl AsContextMut,
    section: &ReplaySection,
    import: u32,
    memory: Memory,
) -> Result<(), LinkError> {
    for write in section.memory_writes.iter().filter(|write| write.import == import) {
        let error =
            |message: String| LinkError::Interface(format!("memory write for import {import}: {message}"));
        let bytes = write.decode().map_err(error)?;
        memory.write(&mut store, write.addr as usize, &bytes).map_err(|e| error(e.to_string()))?;
    }
    Ok(())
}

/// The entries the recorded host put into the table before O existed.
fn prefill_table(
    mut store: impl AsContextMut,
    section: &ReplaySection,
    import: u32,
    table: Table,
    externs: &Externs,
) -> Result<(), LinkError> {
    for entry in section.table_entries.iter().filter(|entry| entry.import == import) {
        let error =
            |message: String| LinkError::Interface(format!("table entry for import {import}: {message}"));
        let value = match val(&mut store, entry.value, externs).map_err(error)? {
            Val::FuncRef(func) => Ref::Func(func),
            Val::ExternRef(value) => Ref::Extern(value),
            other => return Err(error(format!("{other:?} is no reference"))),
        };
        table.set(&mut store, entry.index, value).map_err(|e| error(format!("{e:#}")))?;
    }
    Ok(())
}

/// An imported global of O with its value from the custom section; a foreign function's
/// global starts null (see [`OriginalImports::bind_foreign_globals`]).
fn global(
    mut store: impl AsContextMut,
    value: Option<Value>,
    import: u32,
    ty: GlobalType,
    externs: &Externs,
) -> Result<Global, LinkError> {
    let value = value
        .ok_or_else(|| LinkError::Global { import, message: "the r3-replay section has none".into() })?;
    let val = match value {
        Value::Foreign(_) => Val::FuncRef(None),
        value => val(&mut store, value, externs).map_err(|message| LinkError::Global { import, message })?,
    };
    Global::new(&mut store, ty, val)
        .map_err(|error| LinkError::Global { import, message: format!("{error:#}") })
}

/// A trace value as a wasmtime value; O's functions do not exist before O does.
fn val(mut store: impl AsContextMut, value: Value, externs: &Externs) -> Result<Val, String> {
    Ok(match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(bits) => Val::F32(bits),
        Value::F64(bits) => Val::F64(bits),
        Value::V128(bytes) => Val::V128(u128::from_le_bytes(bytes).into()),
        Value::FuncRef(None) => Val::FuncRef(None),
        Value::FuncRef(Some(index)) => {
            return Err(format!(
                "function {index} of the original, which does not exist before the original"
            ));
        }
        Value::ExternRef(None) => Val::ExternRef(None),
        Value::ExternRef(Some(id)) => {
            Val::ExternRef(Some(externs.get(&mut store, id).map_err(|error| format!("{error:#}"))?))
        }
        Value::Foreign(id) => {
            return Err(format!(
                "foreign function {id}, which the host module defines, does not exist before it"
            ));
        }
    })
}

/// The externs for H's imports, in H's import order.
pub fn host_imports<T: 'static, O: Original>(
    mut store: impl AsContextMut<Data = T>,
    host: &Module,
    section: &ReplaySection,
    original: &O,
    imports: &[ImportDesc],
    entities: &[Extern],
    externs: &Externs,
) -> Result<Vec<Extern>, LinkError> {
    let wanted: Vec<(String, String, ExternType)> = host
        .imports()
        .map(|import| (import.module().to_string(), import.name().to_string(), import.ty()))
        .collect();
    let mut externs_of_h = Vec::with_capacity(wanted.len());
    for (module, name, ty) in wanted {
        let resolved = match module.as_str() {
            "r3_host" if name == "functions" => {
                let ExternType::Table(ty) = ty else {
                    return Err(LinkError::Interface("imports r3_host.functions, which is a table".into()));
                };
                Extern::Table(functions_table(&mut store, ty, section, original)?)
            }
            "original" => original.export(&mut store, &name).ok_or_else(|| {
                LinkError::Interface(format!("imports original.{name}, which the original does not export"))
            })?,
            "r3_call" => Extern::Func(original.call_target(&mut store, function_index(&module, &name)?)?),
            "r3_ref" => Extern::Func(original.ref_target(&mut store, function_index(&module, &name)?)?),
            "r3_host" => r3_host(&mut store, &name, imports, entities, externs)?,
            _ => return Err(LinkError::Interface(format!("imports {module}.{name}: unknown import module"))),
        };
        externs_of_h.push(resolved);
    }
    Ok(externs_of_h)
}

/// `r3_host.functions`: O's functions the replay hands over as references, each at its
/// function index, as O itself has them (so a recorder knows them again).
fn functions_table<T: 'static, O: Original>(
    mut store: impl AsContextMut<Data = T>,
    ty: wasmtime::TableType,
    section: &ReplaySection,
    original: &O,
) -> Result<Table, LinkError> {
    let table = Table::new(&mut store, ty, Ref::Func(None))
        .map_err(|error| LinkError::Instantiate { what: "r3_host.functions".into(), error })?;
    for &index in &section.functions {
        let func = original.ref_target(&mut store, index)?;
        table
            .set(&mut store, u64::from(index), Ref::Func(Some(func)))
            .map_err(|error| LinkError::Interface(format!("r3_host.functions[{index}]: {error:#}")))?;
    }
    Ok(table)
}

/// O's functions that H imports, bound once O exists (H linked first).
#[derive(Default)]
pub struct LateOriginal {
    targets: Arc<OnceLock<HashMap<(String, String), Func>>>,
}

impl LateOriginal {
    fn forwarder<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        key: (String, String),
        ty: FuncType,
    ) -> Func {
        let targets = self.targets.clone();
        Func::new(store, ty, move |caller, params, results| {
            match targets.get().and_then(|targets| targets.get(&key)) {
                Some(target) => target.call(caller, params, results),
                None => Err(wasmtime::format_err!(
                    "the host module called {}.{} before the original was instantiated",
                    key.0,
                    key.1
                )),
            }
        })
    }

    /// From now on, H's calls reach O.
    pub fn bind<T: 'static, O: Original>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        host: &Module,
        original: &O,
    ) -> Result<(), LinkError> {
        let mut targets = HashMap::new();
        for import in host.imports() {
            let (module, name) = (import.module(), import.name());
            let target = match module {
                "original" => {
                    original.export(&mut store, name).and_then(Extern::into_func).ok_or_else(|| {
                        LinkError::Interface(format!(
                            "imports original.{name}, which is no function export of the original"
                        ))
                    })?
                }
                "r3_call" => original.call_target(&mut store, function_index(module, name)?)?,
                _ => continue,
            };
            targets.insert((module.to_string(), name.to_string()), target);
        }
        self.targets.set(targets).map_err(|_| LinkError::Interface("was linked twice".into()))
    }
}

/// The externs for H's imports when H is instantiated before O: O's functions are
/// forwarders bound later by [`LateOriginal::bind`].
pub fn host_imports_before_original<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    host: &Module,
    imports: &[ImportDesc],
    entities: &[Extern],
    externs: &Externs,
    late: &LateOriginal,
) -> Result<Vec<Extern>, LinkError> {
    let mut resolved = Vec::new();
    for import in host.imports() {
        let (module, name) = (import.module(), import.name());
        let extern_ = match (module, import.ty()) {
            ("original" | "r3_call", ExternType::Func(ty)) => {
                Extern::Func(late.forwarder(&mut store, (module.to_string(), name.to_string()), ty))
            }
            ("r3_host", _) => r3_host(&mut store, name, imports, entities, externs)?,
            _ => {
                return Err(LinkError::Interface(format!(
                    "imports {module}.{name}, which cannot be linked before the original exists"
                )));
            }
        };
        resolved.push(extern_);
    }
    Ok(resolved)
}

fn function_index(module: &str, name: &str) -> Result<u32, LinkError> {
    name.parse()
        .map_err(|_| LinkError::Interface(format!("imports {module}.{name}: not a decimal function index")))
}

fn r3_host<T: 'static>(
    store: impl AsContextMut<Data = T>,
    name: &str,
    imports: &[ImportDesc],
    entities: &[Extern],
    externs: &Externs,
) -> Result<Extern, LinkError> {
    if name == "throw" {
        return Ok(Extern::Func(throw(store)));
    }
    if name == "extern" {
        return Ok(Extern::Func(extern_func(store, externs.clone())));
    }
    let entity = name
        .strip_prefix("import/")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|&i| !matches!(imports.get(i).map(|import| &import.ty), Some(ExternType::Func(_)) | None))
        .and_then(|i| entities.get(i));
    entity.cloned().ok_or_else(|| {
        LinkError::Interface(format!(
            "imports r3_host.{name}, which is no memory, table or global import of the original"
        ))
    })
}

/// `r3_host.throw: [] -> []`.
fn throw<T: 'static>(store: impl AsContextMut<Data = T>) -> Func {
    let ty = FuncType::new(store.as_context().engine(), [], []);
    Func::new(store, ty, |_, _, _| Err(HostException.into()))
}

/// `r3_host.extern: [i64] -> [externref]`.
fn extern_func<T: 'static>(store: impl AsContextMut<Data = T>, externs: Externs) -> Func {
    let ty = FuncType::new(store.as_context().engine(), [ValType::I64], [ValType::EXTERNREF]);
    Func::new(store, ty, move |mut caller, params, results| {
        let id = params.first().and_then(Val::i64).unwrap_or_default() as u64;
        results[0] = Val::ExternRef(Some(externs.get(&mut caller, id)?));
        Ok(())
    })
}

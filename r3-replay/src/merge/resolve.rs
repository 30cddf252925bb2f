//! Resolving the host module's imports to the original's entities, which keep their indices
//! in the merged module, and choosing the types of the original's imported memories and
//! tables, which the merged module defines.

use super::MergeError;
use wasabi_wasm::{
    ExportKind, FuncType, GlobalType, Import, ImportKind, MemoryType, Module, TableType, ValType,
};

/// What a function the host imports becomes in the merged module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostFunction {
    /// A function of the original (same index in the merged module).
    Original(u32),
    /// `r3_host` `throw`: a new function that traps.
    Throw,
    /// `r3_host` `extern`: a new function making the host value of an id (needs Wasm GC).
    Extern,
}

/// The host's imports, per kind in the host's index order, as merged-module entities.
#[derive(Debug, Default)]
pub(super) struct Resolution {
    pub functions: Vec<HostFunction>,
    pub tables: Vec<u32>,
    pub memories: Vec<u32>,
    pub globals: Vec<u32>,
    /// Types of the merged module's first tables, memories and globals: the original's
    /// (imported ones now defined), in index order.
    pub table_types: Vec<TableType>,
    pub memory_types: Vec<MemoryType>,
    pub global_types: Vec<GlobalType>,
}

/// Resolves every import of `host` (see docs/replay.md, "What H imports").
pub(super) fn resolve(host: &Module, original: &Module) -> Result<Resolution, MergeError> {
    let mut resolution = original_types(host, original)?;
    for import in &host.imports {
        let (kind, index) = target(import, original)?;
        check_type(host, original, &resolution, import, kind, index)?;
        match import.kind {
            ImportKind::Function(_) => resolution.functions.push(match kind {
                Kind::Throw => HostFunction::Throw,
                Kind::Extern => HostFunction::Extern,
                _ => HostFunction::Original(index),
            }),
            ImportKind::Table(_) => resolution.tables.push(index),
            ImportKind::Memory(_) => resolution.memories.push(index),
            ImportKind::Global(_) => resolution.globals.push(index),
        }
    }
    Ok(resolution)
}

/// The kind of a resolved entity; `Throw` and `Extern` are the functions that replace
/// `throw` and `extern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Function,
    Table,
    Memory,
    Global,
    Throw,
    Extern,
}

impl Kind {
    fn of_import(kind: &ImportKind) -> Kind {
        match kind {
            ImportKind::Function(_) => Kind::Function,
            ImportKind::Table(_) => Kind::Table,
            ImportKind::Memory(_) => Kind::Memory,
            ImportKind::Global(_) => Kind::Global,
        }
    }

    fn of_export(kind: ExportKind) -> Kind {
        match kind {
            ExportKind::Function => Kind::Function,
            ExportKind::Table => Kind::Table,
            ExportKind::Memory => Kind::Memory,
            ExportKind::Global => Kind::Global,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Function | Kind::Throw | Kind::Extern => "function",
            Kind::Table => "table",
            Kind::Memory => "memory",
            Kind::Global => "global",
        }
    }
}

/// The original's entity (kind and index) a host import refers to, by module and name only.
fn target(import: &Import, original: &Module) -> Result<(Kind, u32), MergeError> {
    let error = |reason: String| Err(MergeError::host_import(import, reason));
    let wanted = Kind::of_import(&import.kind);
    let (kind, index) = match (import.module.as_str(), import.name.as_str()) {
        ("original", name) => match original.exports.iter().find(|export| export.name == name) {
            Some(export) => (Kind::of_export(export.kind), export.index),
            None => return error("the original module has no export of that name".into()),
        },
        ("r3_call" | "r3_ref", name) => {
            let Some(index) = decimal(name).filter(|&index| index < function_count(original)) else {
                let count = function_count(original);
                return error(format!("not a function index of the original, which has {count} functions"));
            };
            (Kind::Function, index)
        }
        ("r3_host", "throw") => (Kind::Throw, 0),
        ("r3_host", "extern") => (Kind::Extern, 0),
        ("r3_host", name) => original_import(import, name, original)?,
        _ => return error("not part of the host module interface (docs/replay.md)".into()),
    };
    if kind != wanted && !(matches!(kind, Kind::Throw | Kind::Extern) && wanted == Kind::Function) {
        return error(format!("imported as a {} but it is a {}", wanted.name(), kind.name()));
    }
    Ok((kind, index))
}

/// `r3_host` `import/<i>`: the memory, table or global the original imports as import `i`.
fn original_import(import: &Import, name: &str, original: &Module) -> Result<(Kind, u32), MergeError> {
    let error = |reason: String| MergeError::host_import(import, reason);
    let number = name.strip_prefix("import/").and_then(decimal::<u32>);
    let number =
        number.ok_or_else(|| error("not part of the host module interface (docs/replay.md)".into()))?;
    let slots = import_slots(original);
    let (kind, index) = *slots.get(number as usize).ok_or_else(|| {
        error(format!("the original module has no import {number} (it has {})", slots.len()))
    })?;
    if kind == Kind::Function {
        return Err(error(
            "the original imports a function there; the host provides those as exports".into(),
        ));
    }
    Ok((kind, index))
}

/// Each import of `module` by import number: its kind and its index in that kind's space.
fn import_slots(module: &Module) -> Vec<(Kind, u32)> {
    let mut next = [0u32; 4];
    let slot = |kind: Kind| kind as usize;
    module
        .imports
        .iter()
        .map(|import| {
            let kind = Kind::of_import(&import.kind);
            let index = next[slot(kind)];
            next[slot(kind)] += 1;
            (kind, index)
        })
        .collect()
}

/// Strictly decimal digits, as the interface writes indices; no sign, no spaces.
pub(super) fn decimal<N: std::str::FromStr>(text: &str) -> Option<N> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

pub(super) fn function_count(module: &Module) -> u32 {
    module.num_imported_functions() + module.functions.len() as u32
}

/// The merged module's types for the original's tables, memories and globals. An imported
/// memory or table takes the type the host imports it with (the exact size the recording
/// saw), which must still satisfy the original's import; without a host import, the
/// original's import type.
fn original_types(host: &Module, original: &Module) -> Result<Resolution, MergeError> {
    let mut resolution = Resolution::default();
    for (number, import) in original.imports.iter().enumerate() {
        let from_host = host_type(host, number);
        match import.kind {
            ImportKind::Function(_) => {}
            ImportKind::Table(wanted) => {
                let ty = match from_host {
                    Some((host_import, ImportKind::Table(ty))) => {
                        check(host_import, table_matches(&ty, &wanted), "the original's import type")?;
                        ty
                    }
                    _ => wanted,
                };
                resolution.table_types.push(ty);
            }
            ImportKind::Memory(wanted) => {
                let ty = match from_host {
                    Some((host_import, ImportKind::Memory(ty))) => {
                        check(host_import, memory_matches(&ty, &wanted), "the original's import type")?;
                        ty
                    }
                    _ => wanted,
                };
                resolution.memory_types.push(ty);
            }
            ImportKind::Global(ty) => resolution.global_types.push(ty),
        }
    }
    resolution.table_types.extend(original.tables.iter().copied());
    resolution.memory_types.extend(original.memories.iter().copied());
    resolution.global_types.extend(original.globals.iter().map(|global| global.ty));
    Ok(resolution)
}

/// The first host import of the original's import `number`, with its kind and type.
fn host_type(host: &Module, number: usize) -> Option<(&Import, ImportKind)> {
    let name = format!("import/{number}");
    let import = host.imports.iter().find(|import| import.module == "r3_host" && import.name == name)?;
    Some((import, import.kind))
}

fn check(import: &Import, matches: bool, what: &str) -> Result<(), MergeError> {
    if matches {
        Ok(())
    } else {
        Err(MergeError::host_import(import, format!("its type does not match {what}")))
    }
}

/// Checks the host's import type against the merged module's entity it resolves to.
fn check_type(
    host: &Module,
    original: &Module,
    resolution: &Resolution,
    import: &Import,
    kind: Kind,
    index: u32,
) -> Result<(), MergeError> {
    let at = index as usize;
    let matches = match (import.kind, kind) {
        (ImportKind::Function(ty), Kind::Throw) => host.types.get(ty as usize) == Some(&FuncType::default()),
        (ImportKind::Function(ty), Kind::Extern) => host.types.get(ty as usize) == Some(&extern_type()),
        (ImportKind::Function(ty), _) => host.types.get(ty as usize) == original.function_type(index),
        (ImportKind::Table(ty), _) => resolution.table_types.get(at).is_some_and(|t| table_matches(t, &ty)),
        (ImportKind::Memory(ty), _) => {
            resolution.memory_types.get(at).is_some_and(|m| memory_matches(m, &ty))
        }
        (ImportKind::Global(ty), _) => resolution.global_types.get(at) == Some(&ty),
    };
    let what = match kind {
        Kind::Throw => "[] -> []",
        Kind::Extern => "[i64] -> [externref]",
        _ => "the original's entity",
    };
    check(import, matches, what)
}

/// Import matching of limits: the actual size range lies within the expected one.
fn limits_match(actual: (u64, Option<u64>), expected: (u64, Option<u64>)) -> bool {
    let max_ok = match (actual.1, expected.1) {
        (_, None) => true,
        (Some(actual), Some(expected)) => actual <= expected,
        (None, Some(_)) => false,
    };
    actual.0 >= expected.0 && max_ok
}

fn table_matches(actual: &TableType, expected: &TableType) -> bool {
    actual.element_type == expected.element_type
        && actual.table64 == expected.table64
        && actual.shared == expected.shared
        && limits_match((actual.minimum, actual.maximum), (expected.minimum, expected.maximum))
}

fn memory_matches(actual: &MemoryType, expected: &MemoryType) -> bool {
    actual.memory64 == expected.memory64
        && actual.shared == expected.shared
        && actual.page_size_log2 == expected.page_size_log2
        && limits_match((actual.minimum, actual.maximum), (expected.minimum, expected.maximum))
}

/// The type of `r3_host.extern`.
pub(super) fn extern_type() -> FuncType {
    FuncType { params: vec![ValType::I64], results: vec![ValType::EXTERNREF] }
}

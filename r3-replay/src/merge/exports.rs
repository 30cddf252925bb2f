//! The host module's exports (docs/replay.md, "What H exports"): which of them implement the
//! original's imported functions, which run first, and which the merged module keeps.

use super::MergeError;
use super::resolve::decimal;
use std::collections::BTreeMap;
use wasabi_wasm::{Export, ExportKind, FuncType, ImportKind, Module};

/// The host's exports the merger uses, by the host's function indices.
#[derive(Debug)]
pub(super) struct HostExports {
    /// For each function the original imports (in function index order), the host function
    /// implementing it (export `import/<i>`).
    pub implementations: Vec<u32>,
    /// `r3_init`.
    pub init: u32,
    /// `_start` and `segment/<k>`, in the host's export order: the merged module's exports.
    pub kept: Vec<Export>,
    /// Foreign function id → the host function standing in for it (export `foreign/<id>`).
    pub foreign: BTreeMap<u64, u32>,
    /// Functions exported only under names the merged module drops. Code may hold references
    /// to them (`ref.func`) that only those exports declared.
    pub dropped_functions: Vec<u32>,
}

impl HostExports {
    pub(super) fn read(host: &Module, original: &Module) -> Result<Self, MergeError> {
        let mut implementations = vec![None; original.num_imported_functions() as usize];
        let function_numbers = function_import_numbers(original);
        let mut init = None;
        let mut kept = Vec::new();
        let mut dropped_functions = Vec::new();
        let mut foreign = BTreeMap::new();
        for export in &host.exports {
            let name = export.name.as_str();
            if let Some(number) = name.strip_prefix("import/").and_then(decimal::<u32>) {
                let position = function_numbers.iter().position(|&n| n == number).ok_or_else(|| {
                    MergeError::Host(format!(
                        "exports {name:?}, but the original's import {number} is not a function"
                    ))
                })?;
                check_function(host, export, original.function_type(position as u32))?;
                implementations[position] = Some(export.index);
                dropped_functions.push(export.index);
            } else if name == "r3_init" {
                check_function(host, export, Some(&FuncType::default()))?;
                init = Some(export.index);
                dropped_functions.push(export.index);
            } else if name == "_start" || name.strip_prefix("segment/").and_then(decimal::<u32>).is_some() {
                check_function(host, export, Some(&FuncType::default()))?;
                kept.push(export.clone());
            } else if export.kind == ExportKind::Function {
                if let Some(id) = name.strip_prefix("foreign/").and_then(decimal) {
                    foreign.insert(id, export.index);
                }
                dropped_functions.push(export.index);
            }
        }
        if !kept.iter().any(|export| export.name == "_start") {
            return Err(MergeError::Host("no export \"_start\"".into()));
        }
        let init = init.ok_or_else(|| MergeError::Host("no export \"r3_init\"".into()))?;
        let implementations = implementations
            .into_iter()
            .zip(&function_numbers)
            .map(|(implementation, number)| {
                implementation.ok_or_else(|| {
                    let import = &original.imports[*number as usize];
                    MergeError::Host(format!(
                        "no export \"import/{number}\" implementing the original's import {:?} {:?}",
                        import.module, import.name
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(HostExports { implementations, init, kept, foreign, dropped_functions })
    }
}

/// The import numbers of the original's imported functions, in function index order.
fn function_import_numbers(original: &Module) -> Vec<u32> {
    let numbers = original.imports.iter().enumerate();
    numbers
        .filter(|(_, import)| matches!(import.kind, ImportKind::Function(_)))
        .map(|(n, _)| n as u32)
        .collect()
}

/// An export the merger calls or places must be a function of the expected type.
fn check_function(host: &Module, export: &Export, expected: Option<&FuncType>) -> Result<(), MergeError> {
    let name = &export.name;
    if export.kind != ExportKind::Function {
        return Err(MergeError::Host(format!("export {name:?} is not a function")));
    }
    let actual = host.function_type(export.index);
    if actual.is_none() || actual != expected {
        let expected = expected.map_or_else(|| "?".to_string(), display_type);
        return Err(MergeError::Host(format!("export {name:?} does not have type {expected}")));
    }
    Ok(())
}

fn display_type(ty: &FuncType) -> String {
    format!("{:?} -> {:?}", ty.params, ty.results)
}

//! The host module's `r3-replay` custom section (docs/replay.md): the initial values of the
//! globals the original imports, which the merged module defines.

use super::MergeError;
use super::resolve::function_count;
use crate::section::{InitialGlobal, ReplaySection};
use r3_hooks::Value;
use std::collections::BTreeMap;
use wasabi_wasm::{
    ConstExpr, CustomContent, CustomSection, Global, HeapType, Ieee32, Ieee64, ImportKind, Instr, Module,
    ValType,
};

pub(super) const NAME: &str = crate::section::NAME;

/// The host's `r3-replay` section, carried over into the merged module as is.
pub(super) fn find(host: &Module) -> Option<&CustomSection> {
    host.custom_sections
        .iter()
        .find(|section| matches!(&section.content, CustomContent::Raw { name, .. } if name == NAME))
}

/// Definitions of the globals the original imports, in global index order. `stand_in` gives
/// the merged index of the host function standing in for a foreign function.
pub(super) fn imported_globals(
    host: &Module,
    original: &Module,
    stand_in: &dyn Fn(u64) -> Option<u32>,
) -> Result<Vec<Global>, MergeError> {
    let imported = original.imports.iter().enumerate();
    let globals: Vec<_> = imported
        .filter_map(|(number, import)| match import.kind {
            ImportKind::Global(ty) => Some((number as u32, ty)),
            _ => None,
        })
        .collect();
    if globals.is_empty() {
        return Ok(Vec::new());
    }
    let mut values = values(host)?;
    if let Some(number) = values.keys().find(|number| !globals.iter().any(|(n, _)| n == *number)) {
        return Err(MergeError::CustomSection(format!("import {number} of the original is not a global")));
    }
    let functions = function_count(original);
    let define = |(number, ty): (u32, wasabi_wasm::GlobalType)| {
        let value = values.remove(&number).ok_or_else(|| {
            MergeError::CustomSection(format!("no initial value for the original's global import {number}"))
        })?;
        let instr = constant(value, ty.val_type, functions, stand_in)
            .map_err(|reason| MergeError::CustomSection(format!("global import {number}: {reason}")))?;
        Ok(Global { ty, init: ConstExpr(vec![instr]) })
    };
    globals.into_iter().map(define).collect()
}

/// The `globals` entries by import number; each import at most once.
fn values(host: &Module) -> Result<BTreeMap<u32, Value>, MergeError> {
    let Some(CustomSection { content: CustomContent::Raw { data, .. }, .. }) = find(host) else {
        return Err(MergeError::CustomSection("missing, but the original imports globals".into()));
    };
    let section = ReplaySection::parse(data).map_err(|error| MergeError::CustomSection(error.to_string()))?;
    let mut values = BTreeMap::new();
    for InitialGlobal { import, value } in section.globals {
        if values.insert(import, value).is_some() {
            return Err(MergeError::CustomSection(format!("two values for import {import}")));
        }
    }
    Ok(values)
}

/// The constant instruction producing `value`, which must have type `ty`.
fn constant(
    value: Value,
    ty: ValType,
    functions: u32,
    stand_in: &dyn Fn(u64) -> Option<u32>,
) -> Result<Instr, String> {
    let (instr, value_type) = match value {
        Value::I32(value) => (Instr::I32Const(value), ValType::I32),
        Value::I64(value) => (Instr::I64Const(value), ValType::I64),
        Value::F32(bits) => (Instr::F32Const(Ieee32::new(bits)), ValType::F32),
        Value::F64(bits) => (Instr::F64Const(Ieee64::new(bits)), ValType::F64),
        Value::V128(bytes) => (Instr::V128Const(i128::from_le_bytes(bytes)), ValType::V128),
        Value::FuncRef(None) => (Instr::RefNull(HeapType::FUNC), ValType::FUNCREF),
        Value::FuncRef(Some(index)) if index < functions => (Instr::RefFunc(index), ValType::FUNCREF),
        Value::FuncRef(Some(index)) => {
            return Err(format!(
                "function {index} is not a function of the original ({functions} functions)"
            ));
        }
        Value::ExternRef(None) => (Instr::RefNull(HeapType::EXTERN), ValType::EXTERNREF),
        Value::ExternRef(Some(id)) => {
            return Err(format!("host reference {id}: only a null externref can be a constant"));
        }
        Value::Foreign(id) => match stand_in(id) {
            Some(index) => (Instr::RefFunc(index), ValType::FUNCREF),
            None => return Err(format!("foreign function {id}: the host module exports no foreign/{id}")),
        },
    };
    if value_type != ty {
        return Err(format!("value {value:?} does not have the global's type {ty:?}"));
    }
    Ok(instr)
}

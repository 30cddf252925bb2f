//! Where the plain linker finds O's functions by index: wasmtime does not tell an exported
//! function's index, so it is read from O's binary, as are the functions O's element segments
//! put into exported tables (the only other way the host reaches them).

use std::collections::{BTreeMap, HashMap};
use wasmparser::{ElementItems, ElementKind, ExternalKind, Operator, Parser, Payload};

#[derive(Debug, Default)]
pub struct FunctionMap {
    /// Function index -> its first export name.
    exports: HashMap<u32, String>,
    /// Function index -> (exported table's name, slot), the lowest such slot.
    placements: HashMap<u32, (String, u64)>,
}

impl FunctionMap {
    pub fn read(bytes: &[u8]) -> Result<FunctionMap, wasmparser::BinaryReaderError> {
        let mut exports = HashMap::new();
        let mut tables = HashMap::new();
        // (table, slot) -> function, as the active segments leave the tables, in slot order.
        let mut slots = BTreeMap::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => {
                                exports.entry(export.index).or_insert_with(|| export.name.to_string());
                            }
                            ExternalKind::Table => {
                                tables.entry(export.index).or_insert_with(|| export.name.to_string());
                            }
                            _ => {}
                        }
                    }
                }
                Payload::ElementSection(reader) => {
                    for element in reader {
                        apply_segment(element?, &mut slots)?;
                    }
                }
                _ => {}
            }
        }
        let mut placements = HashMap::new();
        for ((table, slot), function) in slots {
            let (Some(function), Some(name)) = (function, tables.get(&table)) else { continue };
            placements.entry(function).or_insert_with(|| (String::clone(name), slot));
        }
        Ok(FunctionMap { exports, placements })
    }

    pub fn export(&self, function: u32) -> Option<&str> {
        self.exports.get(&function).map(String::as_str)
    }

    pub fn placement(&self, function: u32) -> Option<(&str, u64)> {
        self.placements.get(&function).map(|(table, slot)| (table.as_str(), *slot))
    }
}

/// Writes an active segment at a constant offset into `slots` (later segments overwrite
/// earlier ones, as instantiation does). Offsets from imported globals are not known here;
/// such segments are skipped.
fn apply_segment(
    element: wasmparser::Element<'_>,
    slots: &mut BTreeMap<(u32, u64), Option<u32>>,
) -> Result<(), wasmparser::BinaryReaderError> {
    let ElementKind::Active { table_index, offset_expr } = element.kind else { return Ok(()) };
    let Some(offset) = constant_offset(&offset_expr)? else { return Ok(()) };
    let table = table_index.unwrap_or(0);
    let functions: Vec<Option<u32>> = match element.items {
        ElementItems::Functions(reader) => {
            reader.into_iter().map(|f| f.map(Some)).collect::<Result<_, _>>()?
        }
        ElementItems::Expressions(_, reader) => {
            reader.into_iter().map(|expr| referenced_function(&expr?)).collect::<Result<_, _>>()?
        }
    };
    for (i, function) in functions.into_iter().enumerate() {
        slots.insert((table, offset + i as u64), function);
    }
    Ok(())
}

fn constant_offset(expr: &wasmparser::ConstExpr<'_>) -> Result<Option<u64>, wasmparser::BinaryReaderError> {
    Ok(match expr.get_operators_reader().read()? {
        Operator::I32Const { value } => Some(u64::from(value as u32)),
        Operator::I64Const { value } => Some(value as u64),
        _ => None,
    })
}

/// `ref.func N` -> N; anything else (null) leaves no function in the slot.
fn referenced_function(
    expr: &wasmparser::ConstExpr<'_>,
) -> Result<Option<u32>, wasmparser::BinaryReaderError> {
    Ok(match expr.get_operators_reader().read()? {
        Operator::RefFunc { function_index } => Some(function_index),
        _ => None,
    })
}

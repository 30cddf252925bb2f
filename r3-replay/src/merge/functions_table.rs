//! `r3_host.functions`, the table through which the host reads references to the original's
//! functions, becomes a table of the host's own, filled by element segments from `r3_ref`
//! imports; the rest of the merge then treats it like any table the host defines.

use super::MergeError;
use crate::section::ReplaySection;
use wasabi_wasm::{ConstExpr, Element, ElementItems, ElementMode, ImportKind, Instr, Module};

pub(super) fn define(host: &mut Module, original: &Module) -> Result<(), MergeError> {
    let is_functions =
        |import: &wasabi_wasm::Import| import.module == "r3_host" && import.name == "functions";
    let Some(position) = host.imports.iter().position(is_functions) else { return Ok(()) };
    let ImportKind::Table(ty) = host.imports[position].kind else {
        return Err(MergeError::Host("imports r3_host.functions as something else than a table".into()));
    };
    let functions = listed_functions(host)?;
    let index =
        host.imports[..position].iter().filter(|import| matches!(import.kind, ImportKind::Table(_))).count();
    let last = host.num_imported_tables() + host.tables.len() as u32 - 1;
    let index = index as u32;
    host.imports.remove(position);
    host.remap_tables(|table| match table {
        table if table == index => last,
        table if table > index => table - 1,
        table => table,
    });
    host.tables.push(ty);
    let mut imports = Vec::new();
    for &function in &functions {
        let ty = original.function_type(function).cloned().ok_or_else(|| {
            MergeError::CustomSection(format!("lists function {function}, which the original does not have"))
        })?;
        imports.push(("r3_ref".to_string(), function.to_string(), ty));
    }
    let references = host.add_function_imports(imports);
    for (function, reference) in functions.into_iter().zip(references) {
        let offset = ConstExpr(vec![Instr::I32Const(function as i32)]);
        let mode = ElementMode::Active { table: last, offset };
        host.elements.push(Element { mode, items: ElementItems::Functions(vec![reference]) });
    }
    Ok(())
}

fn listed_functions(host: &Module) -> Result<Vec<u32>, MergeError> {
    let Some(wasabi_wasm::CustomSection { content: wasabi_wasm::CustomContent::Raw { data, .. }, .. }) =
        super::section::find(host)
    else {
        return Err(MergeError::CustomSection("missing, but the host imports r3_host.functions".into()));
    };
    let section = ReplaySection::parse(data).map_err(|error| MergeError::CustomSection(error.to_string()))?;
    Ok(section.functions)
}

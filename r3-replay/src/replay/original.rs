//! What the host module needs to know about the original module: its imports, exports and the
//! types of its functions, memories, tables and globals. Read from the module's sections
//! without decoding function bodies (the original is only validated, never rewritten).

use super::ReplayError;
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{GlobalType, MemoryType, TableType, ValType};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Signature {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntityType {
    Function(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Debug, Clone)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub ty: EntityType,
}

#[derive(Debug, Default)]
pub struct Original {
    pub types: Vec<Signature>,
    pub imports: Vec<Import>,
    /// The type index of every function, imported ones first.
    pub functions: Vec<u32>,
    pub tables: Vec<TableType>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<GlobalType>,
    pub exports: Vec<(String, ExternalKind, u32)>,
    /// [`Original::same_function`] of every imported function.
    same_functions: Vec<u32>,
}

impl Original {
    pub fn parse(bytes: &[u8]) -> Result<Original, ReplayError> {
        wasabi_wasm::validate(bytes, wasabi_wasm::supported_features())
            .map_err(|error| ReplayError::Original(error.to_string()))?;
        let mut original = Original::default();
        for payload in Parser::new(0).parse_all(bytes) {
            original.section(payload.map_err(original_error)?)?;
        }
        original.same_functions = original.find_same_functions();
        Ok(original)
    }

    fn section(&mut self, payload: Payload<'_>) -> Result<(), ReplayError> {
        match payload {
            Payload::TypeSection(section) => {
                for ty in section.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(original_error)?;
                    let params = ty.params().iter().map(|&t| convert(RoundtripReencoder.val_type(t)));
                    let results = ty.results().iter().map(|&t| convert(RoundtripReencoder.val_type(t)));
                    let signature = Signature {
                        params: params.collect::<Result<_, _>>()?,
                        results: results.collect::<Result<_, _>>()?,
                    };
                    self.types.push(signature);
                }
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports_with_offsets() {
                    let (_, import) = import.map_err(original_error)?;
                    let ty = self.entity(import.ty)?;
                    self.imports.push(Import { module: import.module.into(), name: import.name.into(), ty });
                }
            }
            Payload::FunctionSection(section) => {
                for ty in section {
                    self.functions.push(ty.map_err(original_error)?);
                }
            }
            Payload::TableSection(section) => {
                for table in section {
                    self.tables
                        .push(convert(RoundtripReencoder.table_type(table.map_err(original_error)?.ty))?);
                }
            }
            Payload::MemorySection(section) => {
                for memory in section {
                    self.memories
                        .push(convert(RoundtripReencoder.memory_type(memory.map_err(original_error)?))?);
                }
            }
            Payload::GlobalSection(section) => {
                for global in section {
                    self.globals
                        .push(convert(RoundtripReencoder.global_type(global.map_err(original_error)?.ty))?);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(original_error)?;
                    self.exports.push((export.name.into(), export.kind, export.index));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn entity(&mut self, ty: TypeRef) -> Result<EntityType, ReplayError> {
        Ok(match ty {
            TypeRef::Func(index) => {
                self.functions.push(index);
                EntityType::Function(index)
            }
            TypeRef::Table(table) => {
                let table = convert(RoundtripReencoder.table_type(table))?;
                self.tables.push(table);
                EntityType::Table(table)
            }
            TypeRef::Memory(memory) => {
                let memory = convert(RoundtripReencoder.memory_type(memory))?;
                self.memories.push(memory);
                EntityType::Memory(memory)
            }
            TypeRef::Global(global) => {
                let global = convert(RoundtripReencoder.global_type(global))?;
                self.globals.push(global);
                EntityType::Global(global)
            }
            other => return Err(ReplayError::Original(format!("unsupported import {other:?}"))),
        })
    }

    pub fn signature(&self, func: u32) -> Option<&Signature> {
        let ty = *self.functions.get(func as usize)?;
        self.types.get(ty as usize)
    }

    /// The first imported function with the same module, name and type as imported function
    /// `func` (itself, unless imported twice): hosts link both imports to one function.
    pub fn same_function(&self, func: u32) -> u32 {
        self.same_functions.get(func as usize).copied().unwrap_or(func)
    }

    fn find_same_functions(&self) -> Vec<u32> {
        let functions: Vec<&Import> =
            self.imports.iter().filter(|import| matches!(import.ty, EntityType::Function(_))).collect();
        // Quadratic in the imports with one name only: names rarely repeat.
        let mut by_name: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
        let mut same = Vec::with_capacity(functions.len());
        for (func, import) in functions.iter().enumerate() {
            let earlier = by_name.entry((&import.module, &import.name)).or_default();
            let signature = self.signature(func as u32);
            let first = earlier.iter().copied().find(|&other| self.signature(other) == signature);
            same.push(first.unwrap_or(func as u32));
            earlier.push(func as u32);
        }
        same
    }

    /// The export name of an entity, if it has one.
    pub fn export_name(&self, kind: ExternalKind, index: u32) -> Option<&str> {
        self.exports.iter().find(|(_, k, i)| *k == kind && *i == index).map(|(name, _, _)| name.as_str())
    }

    /// The import number (among all imports) of the `index`-th entity of a kind, if imported.
    pub fn import_number(&self, kind: ExternalKind, index: u32) -> Option<u32> {
        let same_kind = |import: &&Import| {
            matches!(
                (kind, import.ty),
                (ExternalKind::Func, EntityType::Function(_))
                    | (ExternalKind::Table, EntityType::Table(_))
                    | (ExternalKind::Memory, EntityType::Memory(_))
                    | (ExternalKind::Global, EntityType::Global(_))
            )
        };
        let import = self.imports.iter().filter(same_kind).nth(index as usize)?;
        self.imports.iter().position(|candidate| std::ptr::eq(candidate, import)).map(|n| n as u32)
    }

    pub fn num_imported_functions(&self) -> u32 {
        self.imports.iter().filter(|import| matches!(import.ty, EntityType::Function(_))).count() as u32
    }
}

fn original_error(error: wasmparser::BinaryReaderError) -> ReplayError {
    ReplayError::Original(format!("{} (at byte offset {:#x})", error.message(), error.offset()))
}

fn convert<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, ReplayError> {
    result.map_err(|error| ReplayError::Original(error.to_string()))
}

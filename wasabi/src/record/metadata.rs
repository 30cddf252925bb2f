//! What the recorder needs to know about the original module, as JSON in the custom section
//! "r3": signatures to encode values bit-exactly, and which memories, tables and globals the
//! host can reach (those imported or exported), with their original indices.

use crate::instrument::lowlevel::Ty;
use crate::instrument::type_tables;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasabi_wasm::{ExportKind, ImportKind, Module};

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub version: u32,
    /// sha256 of the original module, lowercase hex (the trace header's `module_sha256`).
    pub module_sha256: String,
    /// The module name from the name section.
    pub name: Option<String>,
    /// `params|results` per original function index, in type codes (`i I f F v r e`).
    pub functions: Vec<String>,
    pub imported_functions: u32,
    /// Memory 0 if the host can reach it.
    pub memory: Option<HostMemory>,
    pub globals: Vec<HostGlobal>,
    pub tables: Vec<HostTable>,
}

/// How the host reaches an item: by the import it provided, or by the exports.
#[derive(Debug, Default, Serialize)]
pub struct Reach {
    pub import: Option<(String, String)>,
    pub export: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HostMemory {
    #[serde(flatten)]
    pub reach: Reach,
    pub initial: u64,
    pub maximum: Option<u64>,
    /// Where byte 0 of memory is in the shadow, which is one page larger.
    pub shadow_offset: u32,
}

#[derive(Debug, Serialize)]
pub struct HostGlobal {
    pub index: u32,
    #[serde(rename = "type")]
    pub ty: char,
    pub mutable: bool,
    #[serde(flatten)]
    pub reach: Reach,
}

#[derive(Debug, Serialize)]
pub struct HostTable {
    pub index: u32,
    #[serde(rename = "type")]
    pub ty: char,
    pub initial: u64,
    #[serde(flatten)]
    pub reach: Reach,
}

pub const VERSION: u32 = 1;

impl Metadata {
    /// Of the module as decoded, before any edit.
    pub fn of(module: &Module, bytes: &[u8]) -> Metadata {
        let types = type_tables(module);
        let codes = |tys: &[Ty]| tys.iter().map(|ty| ty.code()).collect::<String>();
        let functions = (0..types.functions.len() as u32)
            .map(|f| {
                let (params, results) = types.of_function(f);
                format!("{}|{}", codes(params), codes(results))
            })
            .collect();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        let mut tables = Vec::new();
        for import in &module.imports {
            let reach =
                || Reach { import: Some((import.module.clone(), import.name.clone())), export: Vec::new() };
            match &import.kind {
                ImportKind::Function(_) => {}
                ImportKind::Memory(ty) => memories.push((reach(), ty.minimum, ty.maximum)),
                ImportKind::Global(ty) => globals.push((reach(), ty.mutable)),
                ImportKind::Table(ty) => tables.push((reach(), ty.minimum)),
            }
        }
        memories.extend(module.memories.iter().map(|ty| (Reach::default(), ty.minimum, ty.maximum)));
        globals.extend(module.globals.iter().map(|global| (Reach::default(), global.ty.mutable)));
        tables.extend(module.tables.iter().map(|ty| (Reach::default(), ty.minimum)));
        for export in &module.exports {
            let reach = match export.kind {
                ExportKind::Function => continue,
                ExportKind::Memory => &mut memories[export.index as usize].0,
                ExportKind::Global => &mut globals[export.index as usize].0,
                ExportKind::Table => &mut tables[export.index as usize].0,
            };
            reach.export.push(export.name.clone());
        }
        let visible = |reach: &Reach| reach.import.is_some() || !reach.export.is_empty();
        Metadata {
            version: VERSION,
            module_sha256: Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect(),
            name: module.names.module.clone(),
            functions,
            imported_functions: module.num_imported_functions(),
            memory: memories.into_iter().next().filter(|(reach, ..)| visible(reach)).map(
                |(reach, initial, maximum)| HostMemory {
                    reach,
                    initial,
                    maximum,
                    shadow_offset: super::SHADOW_OFFSET,
                },
            ),
            globals: globals
                .into_iter()
                .zip(&types.globals)
                .enumerate()
                .filter(|(_, ((reach, _), _))| visible(reach))
                .map(|(index, ((reach, mutable), ty))| HostGlobal {
                    index: index as u32,
                    ty: ty.code(),
                    mutable,
                    reach,
                })
                .collect(),
            tables: tables
                .into_iter()
                .zip(&types.tables)
                .enumerate()
                .filter(|(_, ((reach, _), _))| visible(reach))
                .map(|(index, ((reach, initial), ty))| HostTable {
                    index: index as u32,
                    ty: ty.code(),
                    initial,
                    reach,
                })
                .collect(),
        }
    }
}

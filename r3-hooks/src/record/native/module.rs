//! A module prepared for recording: instrumented, compiled, and with the plan for linking it
//! (which of the instrumented module's imports are the original's, which the recorder's).

use super::NativeError;
use super::adapter;
use super::metadata::Metadata;
use std::sync::Arc;
use wasabi::record::IMPORT_MODULE;
use wasmtime::{Engine, ExternType, FuncType, MemoryType, Module};

/// An import of the original module, in import order.
#[derive(Debug, Clone)]
pub struct OriginalImport {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

/// What satisfies one import of the instrumented module.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    /// The original import at this position; a function import is recorded as function `k`.
    Original {
        position: usize,
        function: Option<(u32, FuncType)>,
    },
    Sync,
    /// `__r3.table_write`: natively, tables are compared at every host -> module transition
    /// instead, so it does nothing.
    TableWrite,
    /// Memory 0, which the original defined; the recorder creates it with this type.
    Memory(MemoryType),
    Shadow,
}

/// The forwarding modules through which the real imports are called (see [`adapter`]), with
/// the names of the exports each mirrors, in its import order.
pub(super) struct Adapters {
    pub start: Module,
    pub start_mirrored: Vec<String>,
    pub full: Module,
    pub full_mirrored: Vec<String>,
}

pub struct RecordingModule {
    pub(super) module: Module,
    /// `None` without function imports.
    pub(super) adapters: Option<Adapters>,
    pub(super) metadata: Metadata,
    pub(super) original: Arc<[u8]>,
    pub(super) name: Option<String>,
    pub(super) imports: Vec<OriginalImport>,
    pub(super) slots: Vec<Slot>,
}

impl RecordingModule {
    /// Instruments `original` (a binary module) for recording and compiles it with `engine`.
    /// `name` names its traces (`<name>-<instance>.r3`), typically the file stem.
    pub fn new(engine: &Engine, original: &[u8], name: Option<&str>) -> Result<RecordingModule, NativeError> {
        let label = name.unwrap_or("module").to_string();
        let recording = wasabi::instrument_for_recording(original)
            .map_err(|source| NativeError::Instrument { module: label.clone(), source })?;
        let instrumented = recording.wasm();
        let metadata = Metadata::read(&instrumented)
            .map_err(|message| NativeError::Metadata { module: label.clone(), message })?;
        let module = Module::new(engine, &instrumented)
            .map_err(|error| NativeError::Compile { module: label.clone(), error })?;
        let (imports, slots) = plan(&module);
        let functions = imports.iter().filter(|import| matches!(import.ty, ExternType::Func(_))).count();
        if functions != metadata.imported_functions as usize {
            let message = format!(
                "the metadata says {} function imports, the module has {functions}",
                metadata.imported_functions
            );
            return Err(NativeError::Metadata { module: label, message });
        }
        let adapters = adapters(engine, &module, &slots)
            .map_err(|message| NativeError::Metadata { module: label.clone(), message })?;
        Ok(RecordingModule {
            module,
            adapters,
            metadata,
            original: original.into(),
            name: name.map(str::to_string),
            imports,
            slots,
        })
    }

    /// The original module's imports, in order: what [`super::Recorder::instantiate`] expects.
    pub fn imports(&self) -> &[OriginalImport] {
        &self.imports
    }

    pub fn module_sha256(&self) -> &str {
        &self.metadata.module_sha256
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The instrumented module as compiled.
    pub fn instrumented(&self) -> &Module {
        &self.module
    }

    /// For messages: the given name, else the module's own, else a hash prefix.
    pub(super) fn label(&self) -> String {
        self.name.clone().or_else(|| self.metadata.name.clone()).unwrap_or_else(|| {
            format!("module-{}", &self.metadata.module_sha256[..8.min(self.metadata.module_sha256.len())])
        })
    }

    /// Positions, among the original imports, of the imports of one kind: the imported global
    /// `i` (by global index) is `positions[i]`.
    pub(super) fn import_positions(&self, kind: fn(&ExternType) -> bool) -> Vec<usize> {
        self.imports.iter().enumerate().filter(|(_, import)| kind(&import.ty)).map(|(i, _)| i).collect()
    }
}

fn plan(module: &Module) -> (Vec<OriginalImport>, Vec<Slot>) {
    let mut imports = Vec::new();
    let mut slots = Vec::new();
    let mut functions = 0;
    for import in module.imports() {
        let ty = import.ty();
        let slot = match (import.module(), import.name(), &ty) {
            (IMPORT_MODULE, "sync", _) => Slot::Sync,
            (IMPORT_MODULE, "table_write", _) => Slot::TableWrite,
            (IMPORT_MODULE, "shadow", _) => Slot::Shadow,
            (IMPORT_MODULE, "memory", ExternType::Memory(memory)) => Slot::Memory(memory.clone()),
            _ => {
                let function = match &ty {
                    ExternType::Func(func) => {
                        functions += 1;
                        Some((functions - 1, func.clone()))
                    }
                    _ => None,
                };
                imports.push(OriginalImport {
                    module: import.module().to_string(),
                    name: import.name().to_string(),
                    ty: ty.clone(),
                });
                Slot::Original { position: imports.len() - 1, function }
            }
        };
        slots.push(slot);
    }
    (imports, slots)
}

fn adapters(engine: &Engine, module: &Module, slots: &[Slot]) -> Result<Option<Adapters>, String> {
    let functions: Vec<FuncType> = slots
        .iter()
        .filter_map(|slot| match slot {
            Slot::Original { function: Some((_, ty)), .. } => Some(ty.clone()),
            _ => None,
        })
        .collect();
    if functions.is_empty() {
        return Ok(None);
    }
    let exports: Vec<(String, ExternType)> = module
        .exports()
        .filter(|export| !export.name().starts_with("__r3_"))
        .map(|export| (export.name().to_string(), export.ty()))
        .collect();
    let memories: Vec<(String, ExternType)> =
        exports.iter().filter(|(_, ty)| matches!(ty, ExternType::Memory(_))).cloned().collect();
    let names = |mirrored: &[(String, ExternType)]| mirrored.iter().map(|(name, _)| name.clone()).collect();
    let compile = |mirrored: &[(String, ExternType)]| {
        adapter::compile(engine, &functions, mirrored)
            .map_err(|error| format!("cannot build the module forwarding import calls: {error}"))
    };
    Ok(Some(Adapters {
        start: compile(&memories)?,
        start_mirrored: names(&memories),
        full: compile(&exports)?,
        full_mirrored: names(&exports),
    }))
}

//! The instrumentation pipeline: decode (bodies left in binary form) → survey every body →
//! add the hook imports → emit every body → add the runtime's helpers → encode. The output is
//! not validated again here (that would cost as much as instrumenting); the spec suite, the
//! snapshot cases and the corpus validate it in the tests.

mod function;
pub mod info;
pub mod lowlevel;
pub mod ops;
pub(crate) mod temps;

use crate::hooks::{Hook, HookSet};
use function::{Context, Emit, Survey, TypeTables, Walker, variable_slot};
use info::{BlockNode, BrTableInfo, FunctionInfo, ModuleInfo};
use lowlevel::{HookKey, Kind, Ty, is_polymorphic};
use ops::Family;
use ops::OpId;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use sha2::{Digest, Sha256};
use wasabi_wasm::{
    ConstExpr, CustomContent, CustomSection, DecodeOptions, DeferredBody, Element, ElementItems, ElementMode,
    Error, ExportKind, FuncType, Global, GlobalType, ImportKind, Instr, Module, Placement, RefType,
    TableType, ValType,
};
use wasmparser::{FuncToValidate, ValidatorResources};

/// Name of the exported table whose entry k is the original module's function k; the runtime
/// maps function references (e.g. the target of a `call_indirect`) back to indices with it.
pub const FUNCTION_TABLE_EXPORT: &str = "__wasabi_functions";
/// Import module of the low-level hooks.
pub const HOOK_MODULE: &str = "__wasabi_hooks";
/// Custom section carrying [`Instrumented::id`], by which the runtime finds the module info.
pub const ID_SECTION: &str = "wasabi";

pub struct Instrumented {
    /// The instrumented module; its bodies are already encoded.
    module: Module,
    /// Identifies this instrumentation (original bytes and hook selection).
    pub id: String,
    pub info: ModuleInfo,
    /// The low-level hooks, in import order.
    pub hooks: Vec<HookKey>,
}

pub fn instrument(bytes: &[u8], hooks: &HookSet) -> Result<Instrumented, Error> {
    let options = DecodeOptions::default();
    let (mut module, bodies) = Module::decode_deferred(bytes, &options)?;
    let imported_functions = module.num_imported_functions();
    let start_flag = (module.start.is_some() && hooks.contains(Hook::Start))
        .then(|| module.num_imported_globals() + module.globals.len() as u32);
    let types = type_tables(&module);
    let cx = Context { bytes, hooks, features: options.features, start: module.start, start_flag, types };
    let body_error = |error| wasabi_wasm::body_error(bytes, &options, error);

    // Hashing the whole input is sequential: it runs while the other threads survey.
    let (id, surveys) = rayon::join(
        || instrumentation_id(bytes, hooks),
        || {
            in_module_order(bodies.par_iter().map(|deferred| {
                Walker::run(&cx, Survey::default(), &deferred.body, validator_of(deferred))
                    .map(|(survey, _)| survey)
            }))
        },
    );
    let surveys: Vec<Survey> = surveys.map_err(body_error)?;

    let hook_keys = all_hooks(&surveys);
    let imports = hook_keys
        .iter()
        .map(|key| (HOOK_MODULE.to_string(), key.import_name(), FuncType::new(key.params(), [])));
    let indices = module.add_function_imports(imports);
    let hook_indices: FxHashMap<HookKey, u32> = hook_keys.iter().cloned().zip(indices).collect();
    let mut op_hooks = vec![u32::MAX; OpId::COUNT];
    let mut variable_hooks = vec![u32::MAX; OpId::COUNT * Ty::COUNT];
    for (key, &index) in &hook_indices {
        let Kind::Op(id) = key.kind else { continue };
        match id.info().family {
            Family::Local | Family::Global => variable_hooks[variable_slot(id, key.types[0])] = index,
            family if !is_polymorphic(family) => op_hooks[id as usize] = index,
            _ => {}
        }
    }

    let mut first_br_table = 0;
    let emits: Vec<Emit> = surveys
        .iter()
        .map(|survey| {
            let emit = Emit {
                hook_indices: &hook_indices,
                op_hooks: &op_hooks,
                variable_hooks: &variable_hooks,
                imported_functions,
                hook_count: hook_keys.len() as u32,
                block_ends: &survey.block_ends,
                next_block: 0,
                site_types: survey.site_types.iter(),
                first_br_table,
                br_tables: Vec::new(),
                block_nodes: Vec::new(),
            };
            first_br_table += survey.br_tables;
            emit
        })
        .collect();
    let emitted: Vec<(Emit, Vec<u8>)> = in_module_order(
        bodies
            .par_iter()
            .zip(emits)
            .map(|(deferred, emit)| Walker::run(&cx, emit, &deferred.body, validator_of(deferred))),
    )
    .map_err(body_error)?;

    let mut br_tables = Vec::new();
    let mut block_tables = Vec::new();
    // Only the end hooks (also reported by br_table's glue) read the block tables.
    let blocks_needed = hooks.contains(Hook::End) || hooks.contains(Hook::BrTable);
    for (function, (emit, body)) in module.functions.iter_mut().zip(emitted) {
        function.encoded = Some(body);
        br_tables.extend(emit.br_tables);
        block_tables.push(if blocks_needed { emit.block_nodes } else { Vec::new() });
    }
    let tables = SideTables { hook_count: hook_keys.len() as u32, br_tables, block_tables };
    let info = module_info(&module, &cx.types, &surveys, &bodies, tables);
    if let Some(flag) = start_flag {
        let init = ConstExpr(vec![Instr::I32Const(1)]);
        let added = module.add_global(Global {
            ty: GlobalType { val_type: ValType::I32, mutable: true, shared: false },
            init,
        });
        debug_assert_eq!(added, flag);
    }
    if hook_keys.iter().any(|key| key.kind == Kind::CallIndirectPre) {
        let count = imported_functions + module.functions.len() as u32;
        let hook_count = hook_keys.len() as u32;
        export_function_table(&mut module, FUNCTION_TABLE_EXPORT, count, |f| {
            if f < imported_functions { f } else { f + hook_count }
        });
    }
    module.custom_sections.push(CustomSection {
        placement: Placement::AfterData,
        content: CustomContent::Raw { name: ID_SECTION.to_string(), data: id.clone().into_bytes() },
    });
    Ok(Instrumented { module, id, info, hooks: hook_keys })
}

impl Instrumented {
    pub fn wasm(&self) -> Vec<u8> {
        self.module.encode()
    }

    /// Writes the binary without building it in memory first.
    pub fn write_wasm(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.module.write_to(out)
    }
}

pub(crate) fn type_tables(module: &Module) -> TypeTables {
    let tys = |types: &[ValType]| types.iter().map(|&ty| Ty::from_encoder(ty).unwrap_or(Ty::I32)).collect();
    let signatures = module.types.iter().map(|ty| (tys(&ty.params), tys(&ty.results))).collect();
    let imported_functions = module.imported_functions().map(|(_, ty)| ty);
    let functions = imported_functions.chain(module.functions.iter().map(|f| f.type_index)).collect();
    let (mut globals, mut tables) = (Vec::new(), Vec::new());
    for import in &module.imports {
        match import.kind {
            ImportKind::Global(ty) => globals.push(ty.val_type),
            ImportKind::Table(ty) => tables.push(ValType::Ref(ty.element_type)),
            _ => {}
        }
    }
    globals.extend(module.globals.iter().map(|global| global.ty.val_type));
    tables.extend(module.tables.iter().map(|table| ValType::Ref(table.element_type)));
    TypeTables { signatures, functions, globals: tys(&globals).into_vec(), tables: tys(&tables).into_vec() }
}

/// Collects parallel results; the first error in module order wins, whatever the scheduling.
pub(crate) fn in_module_order<T: Send, E: Send>(
    results: impl IndexedParallelIterator<Item = Result<T, E>>,
) -> Result<Vec<T>, E> {
    results.collect::<Vec<_>>().into_iter().collect()
}

pub(crate) fn validator_of(deferred: &DeferredBody<'_>) -> FuncToValidate<ValidatorResources> {
    let func = deferred.validator.as_ref().expect("instrumentation decodes with validation");
    FuncToValidate {
        resources: func.resources.clone(),
        index: func.index,
        ty: func.ty,
        features: func.features,
    }
}

/// Exports a table whose entry k is the original module's function k (of `count`), now at
/// index `new_index(k)`.
pub(crate) fn export_function_table(
    module: &mut Module,
    name: &str,
    count: u32,
    new_index: impl Fn(u32) -> u32,
) {
    let table = module.num_imported_tables() + module.tables.len() as u32;
    module.tables.push(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: count as u64,
        maximum: Some(count as u64),
        shared: false,
    });
    let functions = (0..count).map(new_index).collect();
    module.elements.push(Element {
        mode: ElementMode::Active { table, offset: ConstExpr(vec![Instr::I32Const(0)]) },
        items: ElementItems::Functions(functions),
    });
    module.add_export(name, ExportKind::Table, table);
}

/// The low-level hooks of all functions, sorted: their import order must not depend on the
/// scheduling. United in parallel: a large module has millions of (mostly repeated) keys.
fn all_hooks(surveys: &[Survey]) -> Vec<HookKey> {
    let unite = |mut all: FxHashSet<HookKey>, hooks: &FxHashSet<HookKey>| {
        for key in hooks {
            if !all.contains(key) {
                all.insert(key.clone());
            }
        }
        all
    };
    let all = surveys
        .par_iter()
        .fold(FxHashSet::default, |all, survey| unite(all, &survey.hooks))
        .reduce(FxHashSet::default, |all, other| unite(all, &other));
    let mut keys: Vec<HookKey> = all.into_iter().collect();
    keys.sort_unstable();
    keys
}

fn instrumentation_id(bytes: &[u8], hooks: &HookSet) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    for hook in hooks.iter() {
        hasher.update(hook.cli_name().as_bytes());
        hasher.update(b",");
    }
    hasher.finalize().iter().take(16).map(|byte| format!("{byte:02x}")).collect()
}

/// Type codes of a body's declared locals; the body was validated, so reading cannot fail.
fn local_codes(deferred: &DeferredBody<'_>) -> String {
    let mut codes = String::new();
    let Ok(reader) = deferred.body.get_locals_reader() else { return codes };
    for (count, ty) in reader.into_iter().flatten() {
        let code = Ty::from_parser(ty).map_or('?', Ty::code);
        codes.extend(std::iter::repeat_n(code, count as usize));
    }
    codes
}

fn type_codes(types: &[Ty]) -> String {
    types.iter().map(|ty| ty.code()).collect()
}

/// Upstream's static info, in terms of the original module (hooks excluded); `types` were
/// taken before the hook imports were added.
fn module_info(
    module: &Module,
    types: &TypeTables,
    surveys: &[Survey],
    bodies: &[DeferredBody<'_>],
    side_tables: SideTables,
) -> ModuleInfo {
    let signature = |function: u32| {
        let (params, results) = types.of_function(function);
        format!("{}|{}", type_codes(params), type_codes(results))
    };
    let imports = module
        .imports
        .iter()
        .filter(|import| matches!(import.kind, ImportKind::Function(_)) && import.module != HOOK_MODULE);
    let mut functions: Vec<FunctionInfo> = imports
        .enumerate()
        .map(|(index, import)| FunctionInfo {
            type_: signature(index as u32),
            import: Some((import.module.clone(), import.name.clone())),
            export: Vec::new(),
            locals: String::new(),
            instr_count: 0,
            blocks: Vec::new(),
        })
        .collect();
    let defined = surveys.iter().zip(bodies).zip(side_tables.block_tables);
    for ((survey, deferred), blocks) in defined {
        functions.push(FunctionInfo {
            type_: signature(functions.len() as u32),
            import: None,
            export: Vec::new(),
            locals: local_codes(deferred),
            instr_count: survey.instr_count,
            blocks,
        });
    }
    let imported_functions = module.num_imported_functions() - side_tables.hook_count;
    let original = |index: u32| {
        if index < imported_functions { index } else { index - side_tables.hook_count }
    };
    for export in module.exports.iter().filter(|export| export.kind == ExportKind::Function) {
        functions[original(export.index) as usize].export.push(export.name.clone());
    }
    ModuleInfo {
        functions,
        globals: type_codes(&types.globals),
        start: module.start.map(original),
        tables: types.tables.iter().map(|ty| ty.name()).collect(),
        memories: module.num_imported_memories() + module.memories.len() as u32,
        original_function_imports_count: imported_functions,
        br_tables: side_tables.br_tables,
    }
}

/// Per-site data the runtime looks up by index instead of the code carrying it.
struct SideTables {
    hook_count: u32,
    br_tables: Vec<BrTableInfo>,
    block_tables: Vec<Vec<BlockNode>>,
}

//! The host module's index spaces: which imports it needs (scanned from the replay IR before
//! any code is emitted, since code refers to them by index) and where its own functions go.

use super::ReplayError;
use super::original::{EntityType, Original};
use crate::reduce::{Action, Effect, Outcome, Replay};
use crate::section::{InitialBytes, InitialEntry, InitialGlobal};
use r3_hooks::trace::Value;
use std::collections::{BTreeMap, BTreeSet};
use wasm_encoder::{GlobalType, ValType};
use wasmparser::ExternalKind;

/// One import of the host module.
pub struct HostImport {
    pub module: &'static str,
    pub name: String,
    pub ty: HostImportType,
}

pub enum HostImportType {
    /// A function with the type of the original's function of this index.
    Like(u32),
    /// `r3_host.throw`: `[] -> []`.
    Throw,
    /// `r3_host.extern`: `[i64] -> [externref]`.
    Extern,
    Entity(EntityType),
}

#[derive(Default)]
pub struct Layout {
    /// Function imports first (their order is the host's function index space), then the rest.
    pub imports: Vec<HostImport>,
    pub num_imported_functions: u32,
    pub num_imported_globals: u32,
    /// Original export name → host function index, for export calls by name.
    pub calls_by_name: BTreeMap<String, u32>,
    /// Original function index → host function index, for calls without a name (`r3_call`).
    pub calls_by_index: BTreeMap<u32, u32>,
    /// Original functions the replay hands over as references, read from the imported table
    /// `r3_host.functions` (at the original's function index), whose host table index this is.
    pub refs: BTreeSet<u32>,
    pub functions_table: Option<u32>,
    /// Foreign function id → the host function standing in for it.
    pub foreign: BTreeMap<u64, u32>,
    pub throw: Option<u32>,
    pub extern_ref: Option<u32>,
    /// Original memory/table/global index → host index.
    pub memories: BTreeMap<u32, u32>,
    pub tables: BTreeMap<u32, u32>,
    pub globals: BTreeMap<u32, u32>,
    /// The initial values of the globals the original imports.
    pub global_inits: Vec<InitialGlobal>,
    /// What the host wrote into imported memories and tables before instantiation.
    pub memory_writes: Vec<InitialBytes>,
    pub table_entries: Vec<InitialEntry>,
    /// Positions in the init list of the effects that became initial values instead of code.
    pub consumed_init: BTreeSet<usize>,
    /// The host index of the original's memory 0 if it can hold the tape's scratch area.
    pub scratch: Option<u32>,
}

impl Layout {
    pub fn new(replay: &Replay, original: &Original) -> Result<Layout, ReplayError> {
        let mut uses = Uses::default();
        uses.scan(replay);
        let scratch = scratch_fits(replay, original);
        if scratch {
            uses.memories.insert(0);
        }
        let mut layout = Layout::default();
        layout.function_imports(&uses, original)?;
        layout.entity_imports(&uses, replay, original)?;
        layout.scratch = layout.memories.get(&0).copied().filter(|_| scratch);
        let first = layout.implementation(original.num_imported_functions());
        layout.foreign = replay.foreign_types.keys().zip(first..).map(|(&id, index)| (id, index)).collect();
        Ok(layout)
    }

    /// Whether the host imports nothing of the original but functions to call, which linkers
    /// can forward to before the original exists.
    pub fn functions_only_from_original(&self) -> bool {
        self.refs.is_empty()
            && !self
                .imports
                .iter()
                .any(|import| import.module == "original" && matches!(import.ty, HostImportType::Entity(_)))
    }

    /// The host function implementing the original's `n`-th imported function.
    pub fn implementation(&self, n: u32) -> u32 {
        self.num_imported_functions + n
    }

    fn add_function(&mut self, module: &'static str, name: String, ty: HostImportType) -> u32 {
        self.imports.push(HostImport { module, name, ty });
        self.num_imported_functions += 1;
        self.num_imported_functions - 1
    }

    fn function_imports(&mut self, uses: &Uses, original: &Original) -> Result<(), ReplayError> {
        for (name, &(func, event)) in &uses.calls_by_name {
            match original.exports.iter().find(|(export, _, _)| export == name) {
                Some((_, ExternalKind::Func, index)) if *index == func => {}
                _ => {
                    let message = format!("the original has no function export {name:?} with index {func}");
                    return Err(ReplayError::Mismatch { index: event, message });
                }
            }
            let index = self.add_function("original", name.clone(), HostImportType::Like(func));
            self.calls_by_name.insert(name.clone(), index);
        }
        let functions = original.functions.len() as u32;
        for (&func, &event) in uses.calls_by_index.iter().chain(&uses.refs) {
            if func >= functions {
                let message = format!("function {func} does not exist (the original has {functions})");
                return Err(ReplayError::Mismatch { index: event, message });
            }
        }
        for &func in uses.calls_by_index.keys() {
            let index = self.add_function("r3_call", func.to_string(), HostImportType::Like(func));
            self.calls_by_index.insert(func, index);
        }
        self.refs = uses.refs.keys().copied().collect();
        if uses.throw {
            self.throw = Some(self.add_function("r3_host", "throw".into(), HostImportType::Throw));
        }
        if uses.extern_ref {
            self.extern_ref = Some(self.add_function("r3_host", "extern".into(), HostImportType::Extern));
        }
        Ok(())
    }

    /// Every memory, table and mutable global the original imports (the linkers create them
    /// from these types), and the exported ones the host writes.
    fn entity_imports(
        &mut self,
        uses: &Uses,
        replay: &Replay,
        original: &Original,
    ) -> Result<(), ReplayError> {
        let initial = self.initial_state(replay, original);
        let mut counts = [0u32; 3];
        for (number, import) in original.imports.iter().enumerate() {
            let (slot, ty) = match import.ty {
                EntityType::Function(_) => continue,
                EntityType::Memory(mut memory) => {
                    let index = counts[0];
                    memory.minimum = initial.memories.get(&index).copied().unwrap_or(memory.minimum);
                    memory.maximum = replay.memory_max.get(&index).copied().or(memory.maximum);
                    (0, EntityType::Memory(memory))
                }
                EntityType::Table(mut table) => {
                    let index = counts[1];
                    table.minimum = initial.tables.get(&index).copied().unwrap_or(table.minimum);
                    (1, EntityType::Table(table))
                }
                EntityType::Global(global) if !global.mutable => {
                    // The host never writes it, and its value may be a function the host
                    // module defines, which cannot exist before the global would have to.
                    let index = counts[2];
                    if self.sets_as_code(replay, index) {
                        return Err(ReplayError::Unsupported(format!(
                            "the host changed global {index}, which the original imports as immutable"
                        )));
                    }
                    counts[2] += 1;
                    continue;
                }
                global @ EntityType::Global(_) => (2, global),
            };
            self.add_entity(slot, counts[slot], format!("import/{number}"), "r3_host", ty);
            counts[slot] += 1;
        }
        for (slot, kind, used) in [
            (0, ExternalKind::Memory, &uses.memories),
            (1, ExternalKind::Table, &uses.tables),
            (2, ExternalKind::Global, &uses.globals),
        ] {
            for &index in used.iter().filter(|&&index| index >= counts[slot]) {
                let Some(name) = original.export_name(kind, index) else {
                    let what = ["memory", "table", "global"][slot];
                    return Err(ReplayError::Unsupported(format!(
                        "the host changed {what} {index}, which the original neither imports nor exports"
                    )));
                };
                let ty = match slot {
                    0 => EntityType::Memory(original.memories[index as usize]),
                    1 => EntityType::Table(original.tables[index as usize]),
                    _ => EntityType::Global(original.globals[index as usize]),
                };
                self.add_entity(slot, index, name.to_string(), "original", ty);
            }
        }
        if let Some(&last) = self.refs.last() {
            // After the original's tables, so their host indices stay as mapped above.
            self.functions_table = Some(self.tables.len() as u32);
            let ty = wasm_encoder::TableType {
                element_type: wasm_encoder::RefType::FUNCREF,
                table64: false,
                minimum: u64::from(last) + 1,
                maximum: None,
                shared: false,
            };
            let import = HostImport {
                module: "r3_host",
                name: "functions".into(),
                ty: HostImportType::Entity(EntityType::Table(ty)),
            };
            self.imports.push(import);
        }
        self.global_inits = initial.globals(original);
        Ok(())
    }

    fn add_entity(&mut self, slot: usize, index: u32, name: String, module: &'static str, ty: EntityType) {
        let map = match slot {
            0 => &mut self.memories,
            1 => &mut self.tables,
            _ => &mut self.globals,
        };
        map.insert(index, map.len() as u32);
        if slot == 2 {
            self.num_imported_globals += 1;
        }
        self.imports.push(HostImport { module, name, ty: HostImportType::Entity(ty) });
    }

    /// What the host provided at instantiation: sizes of imported memories and tables, values
    /// of imported globals. These become import types and initial values instead of code.
    fn initial_state(&mut self, replay: &Replay, original: &Original) -> InitialState {
        let mut state = InitialState::default();
        let imported = |kind, index| original.import_number(kind, index).is_some();
        for (position, action) in replay.actions(replay.init).iter().enumerate() {
            let Action::Effect(effect) = action else { continue };
            self.before_instantiation(effect, original);
            let consumed = match *effect {
                Effect::MemoryGrow { memory, pages } if imported(ExternalKind::Memory, memory) => {
                    state.memories.entry(memory).or_insert(pages);
                    false
                }
                Effect::TableGrow { table, size, .. } if imported(ExternalKind::Table, table) => {
                    state.tables.entry(table).or_insert(size);
                    false
                }
                Effect::GlobalSet { global, value } if imported(ExternalKind::Global, global) => {
                    state.globals.insert(global, value).is_none()
                }
                _ => false,
            };
            if consumed {
                self.consumed_init.insert(position);
            }
        }
        state
    }
}

impl Layout {
    /// Whether the host module sets `global` in code, rather than as its initial value.
    fn sets_as_code(&self, replay: &Replay, global: u32) -> bool {
        let sets = |action: &Action| matches!(action, Action::Effect(Effect::GlobalSet { global: set, .. }) if *set == global);
        replay.lists.iter().enumerate().any(|(list, actions)| {
            let consumed = |position| list == replay.init && self.consumed_init.contains(&position);
            actions.iter().enumerate().any(|(position, action)| sets(action) && !consumed(position))
        })
    }

    /// Writes to imported memories and tables in the init list also go to the section, so
    /// linkers can make them before the original's start function runs. They stay in
    /// `r3_init` too (for the merged module); writing the same values again changes nothing.
    fn before_instantiation(&mut self, effect: &Effect, original: &Original) {
        match effect {
            Effect::MemoryWrite { memory, addr, bytes } => {
                if let Some(import) = original.import_number(ExternalKind::Memory, *memory) {
                    let bytes = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    self.memory_writes.push(InitialBytes { import, addr: *addr, bytes });
                }
            }
            Effect::TableSet { table, index, value }
                if !matches!(value, Value::FuncRef(Some(_)) | Value::Foreign(_)) =>
            {
                if let Some(import) = original.import_number(ExternalKind::Table, *table) {
                    self.table_entries.push(InitialEntry { import, index: *index, value: *value });
                }
            }
            _ => {}
        }
    }
}

/// Whether the tape's scratch area (8 bytes at address 0 of memory 0) always exists and the
/// host can reach it: a 32-bit memory 0 declared with at least one page (memories never
/// shrink), imported or exported. Importing an exported memory must not cost the
/// host-first linking order (docs/replay.md), which needs the host before the original.
fn scratch_fits(replay: &Replay, original: &Original) -> bool {
    let Some(memory) = original.memories.first() else { return false };
    if memory.memory64 || memory.minimum == 0 {
        return false;
    }
    original.import_number(ExternalKind::Memory, 0).is_some()
        || (original.export_name(ExternalKind::Memory, 0).is_some() && !needs_host_first(replay))
}

/// Whether the host module must exist before the original (docs/replay.md, "Linking order"):
/// the start function calls imports, or an imported global holds a function the host module
/// defines.
pub fn needs_host_first(replay: &Replay) -> bool {
    replay.imports_at_instantiation || foreign_global(replay)
}

/// Whether an imported global's initial value is a foreign function.
pub fn foreign_global(replay: &Replay) -> bool {
    replay
        .actions(replay.init)
        .iter()
        .any(|action| matches!(action, Action::Effect(Effect::GlobalSet { value: Value::Foreign(_), .. })))
}

#[derive(Default)]
struct InitialState {
    memories: BTreeMap<u32, u64>,
    tables: BTreeMap<u32, u64>,
    globals: BTreeMap<u32, Value>,
}

impl InitialState {
    /// Every imported global's value; zero (or null) if the trace has none.
    fn globals(&self, original: &Original) -> Vec<InitialGlobal> {
        let imported_globals =
            original.imports.iter().enumerate().filter_map(|(number, import)| match import.ty {
                EntityType::Global(ty) => Some((number as u32, ty)),
                _ => None,
            });
        imported_globals
            .enumerate()
            .map(|(index, (number, ty))| {
                let value = self.globals.get(&(index as u32)).copied().unwrap_or_else(|| zero(ty));
                InitialGlobal { import: number, value }
            })
            .collect()
    }
}

fn zero(ty: GlobalType) -> Value {
    match ty.val_type {
        ValType::I32 => Value::I32(0),
        ValType::I64 => Value::I64(0),
        ValType::F32 => Value::F32(0),
        ValType::F64 => Value::F64(0),
        ValType::V128 => Value::V128([0; 16]),
        ValType::Ref(r) if r.heap_type == wasm_encoder::HeapType::EXTERN => Value::ExternRef(None),
        ValType::Ref(_) => Value::FuncRef(None),
    }
}

/// What the replay refers to, each with the index of an event that needs it.
#[derive(Default)]
struct Uses {
    calls_by_name: BTreeMap<String, (u32, usize)>,
    calls_by_index: BTreeMap<u32, usize>,
    refs: BTreeMap<u32, usize>,
    throw: bool,
    extern_ref: bool,
    memories: BTreeSet<u32>,
    tables: BTreeSet<u32>,
    globals: BTreeSet<u32>,
}

impl Uses {
    fn scan(&mut self, replay: &Replay) {
        for call in &replay.export_calls {
            if call.name.is_empty() {
                self.calls_by_index.entry(call.func).or_insert(call.event);
            } else {
                self.calls_by_name.entry(call.name.clone()).or_insert((call.func, call.event));
            }
            self.values(&call.args, call.event);
        }
        for call in replay.imports.values().chain(replay.foreign.values()).flatten() {
            match &call.outcome {
                Outcome::Return(results) => self.values(results, call.event),
                Outcome::Throw => self.throw = true,
                Outcome::Trap | Outcome::Unfinished => {}
            }
        }
        for action in replay.lists.iter().flatten() {
            if let Action::Effect(effect) = action {
                self.effect(effect);
            }
        }
    }

    fn effect(&mut self, effect: &Effect) {
        match effect {
            Effect::MemoryWrite { memory, .. } | Effect::MemoryGrow { memory, .. } => {
                self.memories.insert(*memory);
            }
            Effect::TableSet { table, value, .. } | Effect::TableGrow { table, init: value, .. } => {
                self.tables.insert(*table);
                self.values(std::slice::from_ref(value), 0);
            }
            Effect::GlobalSet { global, value } => {
                self.globals.insert(*global);
                self.values(std::slice::from_ref(value), 0);
            }
        }
    }

    fn values(&mut self, values: &[Value], event: usize) {
        for value in values {
            match value {
                Value::FuncRef(Some(func)) => {
                    self.refs.entry(*func).or_insert(event);
                }
                Value::ExternRef(Some(_)) => self.extern_ref = true,
                _ => {}
            }
        }
    }
}

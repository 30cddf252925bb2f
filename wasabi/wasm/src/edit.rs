//! Editing the IR without breaking index references: adding an import shifts the index space
//! of its kind, and every reference (code, constant expressions, segments, exports, start,
//! names) is renumbered here so callers never do it by hand.

use crate::instr::{IndexSpace, for_each_index};
use crate::module::*;
use rayon::prelude::*;

impl Module {
    /// Returns the index of an equal existing type, or appends `ty`.
    pub fn add_type(&mut self, ty: FuncType) -> u32 {
        if let Some(index) = self.types.iter().position(|existing| *existing == ty) {
            return index as u32;
        }
        self.types.push(ty);
        self.types.len() as u32 - 1
    }

    /// Adds one imported function; see [`Module::add_function_imports`].
    pub fn add_function_import(&mut self, module: &str, name: &str, ty: FuncType) -> u32 {
        self.add_function_imports([(module.to_string(), name.to_string(), ty)])[0]
    }

    /// Adds imported functions after the existing ones and renumbers every reference to a
    /// defined function, in one pass however many are added. Returns their indices.
    pub fn add_function_imports(
        &mut self,
        imports: impl IntoIterator<Item = (String, String, FuncType)>,
    ) -> Vec<u32> {
        let first = self.num_imported_functions();
        let new_imports: Vec<Import> = imports
            .into_iter()
            .map(|(module, name, ty)| Import { module, name, kind: ImportKind::Function(self.add_type(ty)) })
            .collect();
        let count = new_imports.len() as u32;
        let last_function =
            self.imports.iter().rposition(|import| matches!(import.kind, ImportKind::Function(_)));
        let insert_at = last_function.map_or(0, |position| position + 1);
        self.imports.splice(insert_at..insert_at, new_imports);
        if count > 0 {
            self.remap_functions(|index| if index >= first { index + count } else { index });
        }
        (first..first + count).collect()
    }

    /// Appends a defined function and returns its index; nothing is renumbered.
    pub fn add_function(&mut self, function: Function) -> u32 {
        self.functions.push(function);
        self.num_imported_functions() + self.functions.len() as u32 - 1
    }

    /// Appends a defined global and returns its index; nothing is renumbered.
    pub fn add_global(&mut self, global: Global) -> u32 {
        self.globals.push(global);
        self.num_imported_globals() + self.globals.len() as u32 - 1
    }

    /// Adds an imported global after the existing ones, renumbering defined globals.
    pub fn add_global_import(&mut self, module: &str, name: &str, ty: GlobalType) -> u32 {
        let first = self.num_imported_globals();
        let insert_at = self.imports.iter().rposition(|import| matches!(import.kind, ImportKind::Global(_)));
        let insert_at = insert_at.map_or(self.imports.len(), |position| position + 1);
        let kind = ImportKind::Global(ty);
        self.imports.insert(insert_at, Import { module: module.to_string(), name: name.to_string(), kind });
        self.remap_globals(|index| if index >= first { index + 1 } else { index });
        first
    }

    pub fn add_export(&mut self, name: &str, kind: ExportKind, index: u32) {
        self.exports.push(Export { name: name.to_string(), kind, index });
    }

    /// Renumbers every reference to a function.
    pub fn remap_functions(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        let map = &map;
        self.for_each_instr_mut(|instr| match instr {
            Instr::Call(index) | Instr::ReturnCall(index) | Instr::RefFunc(index) => *index = map(*index),
            _ => {}
        });
        for element in &mut self.elements {
            if let ElementItems::Functions(functions) = &mut element.items {
                functions.iter_mut().for_each(|index| *index = map(*index));
            }
        }
        self.remap_exports(ExportKind::Function, map);
        self.start = self.start.map(map);
        remap_keys(&mut self.names.functions, map);
        remap_keys(&mut self.names.locals, map);
        remap_keys(&mut self.names.labels, map);
    }

    /// Renumbers every reference to a global.
    pub fn remap_globals(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        let map = &map;
        self.for_each_instr_mut(|instr| match instr {
            Instr::GlobalGet(index) | Instr::GlobalSet(index) => *index = map(*index),
            _ => {}
        });
        self.remap_exports(ExportKind::Global, map);
        remap_keys(&mut self.names.globals, map);
    }

    /// Renumbers every reference to a type.
    pub fn remap_types(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        self.remap_instr_indices(IndexSpace::Type, &map);
        for function in &mut self.functions {
            function.type_index = map(function.type_index);
        }
        for import in &mut self.imports {
            if let ImportKind::Function(type_index) = &mut import.kind {
                *type_index = map(*type_index);
            }
        }
        remap_keys(&mut self.names.types, &map);
        remap_keys(&mut self.names.fields, &map);
    }

    /// Renumbers every reference to a table.
    pub fn remap_tables(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        self.remap_instr_indices(IndexSpace::Table, &map);
        for element in &mut self.elements {
            if let ElementMode::Active { table, .. } = &mut element.mode {
                *table = map(*table);
            }
        }
        self.remap_exports(ExportKind::Table, &map);
        remap_keys(&mut self.names.tables, &map);
    }

    /// Renumbers every reference to a memory.
    pub fn remap_memories(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        self.remap_instr_indices(IndexSpace::Memory, &map);
        for data in &mut self.data {
            if let DataMode::Active { memory, .. } = &mut data.mode {
                *memory = map(*memory);
            }
        }
        self.remap_exports(ExportKind::Memory, &map);
        remap_keys(&mut self.names.memories, &map);
    }

    /// Renumbers every reference to a data segment.
    pub fn remap_data(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        self.remap_instr_indices(IndexSpace::Data, &map);
        remap_keys(&mut self.names.data, &map);
    }

    /// Renumbers every reference to an element segment.
    pub fn remap_elements(&mut self, map: impl Fn(u32) -> u32 + Sync) {
        self.remap_instr_indices(IndexSpace::Element, &map);
        remap_keys(&mut self.names.elements, &map);
    }

    fn remap_instr_indices(&mut self, space: IndexSpace, map: &(impl Fn(u32) -> u32 + Sync)) {
        self.for_each_instr_mut(|instr| {
            for_each_index(instr, &mut |found, index| {
                if found == space {
                    *index = map(*index);
                }
            })
        });
    }

    fn remap_exports(&mut self, kind: ExportKind, map: impl Fn(u32) -> u32) {
        for export in self.exports.iter_mut().filter(|export| export.kind == kind) {
            export.index = map(export.index);
        }
    }

    /// Visits every instruction: function bodies (in parallel) and constant expressions.
    pub fn for_each_instr_mut(&mut self, visit: impl Fn(&mut Instr) + Sync) {
        self.functions.par_iter_mut().for_each(|function| function.body.iter_mut().for_each(&visit));
        for expr in self.const_exprs_mut() {
            expr.0.iter_mut().for_each(&visit);
        }
    }

    fn const_exprs_mut(&mut self) -> impl Iterator<Item = &mut ConstExpr> {
        let globals = self.globals.iter_mut().map(|global| &mut global.init);
        let elements = self.elements.iter_mut().flat_map(|element| {
            let offset = match &mut element.mode {
                ElementMode::Active { offset, .. } => Some(offset),
                _ => None,
            };
            let items = match &mut element.items {
                ElementItems::Expressions(_, exprs) => exprs.as_mut_slice(),
                ElementItems::Functions(_) => &mut [],
            };
            offset.into_iter().chain(items.iter_mut())
        });
        let data = self.data.iter_mut().filter_map(|data| match &mut data.mode {
            DataMode::Active { offset, .. } => Some(offset),
            DataMode::Passive => None,
        });
        globals.chain(elements).chain(data)
    }
}

fn remap_keys<V>(map: &mut std::collections::BTreeMap<u32, V>, remap: impl Fn(u32) -> u32) {
    *map = std::mem::take(map).into_iter().map(|(key, value)| (remap(key), value)).collect();
}

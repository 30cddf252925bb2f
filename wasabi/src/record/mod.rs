//! Instrumentation for R3 recording (`wasabi --hooks r3`): the module keeps a shadow copy of its
//! host-visible memory and reports, through one import, only the bytes it reads that differ
//! from the shadow, i.e. that the host wrote. Everything else the recorder needs (calls in and
//! out, tables, globals, growth) it observes from JS at the module's boundary, so this pass
//! adds no call hooks at all.
//!
//! Pipeline: decode (bodies deferred) → metadata from the original → import `__r3.sync` and the
//! memories → rewrite every body (validating it) → the range check, the load checks of large
//! bodies and the start prologue → the function table, the naive-event counter, the custom
//! sections.

mod body;
mod metadata;

pub use metadata::Metadata;

use crate::instrument::lowlevel::Ty;
use crate::instrument::{ID_SECTION, export_function_table, in_module_order, type_tables};
use crate::output::{OutputError, create_dir, write_atomically};
pub use body::SHADOW_OFFSET;
use body::{SHADOW, load_of_width, not_equal, type_of_width};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use wasabi_wasm::{
    BlockType, ConstExpr, CustomContent, CustomSection, DataMode, DecodeOptions, Error, ExportKind, FuncType,
    Function, Global, GlobalType, Import, ImportKind, Instr, MemoryType, Module, Placement, ValType,
};

/// Import module of everything the recorder provides.
pub const IMPORT_MODULE: &str = "__r3";
/// Custom section holding the [`Metadata`] as JSON; its presence marks a module as recording.
pub const METADATA_SECTION: &str = "r3";
/// Exported table whose entry k is the original module's function k.
pub const FUNCTION_TABLE_EXPORT: &str = "__r3_functions";
/// Exported i64 global counting the reads a recorder without reduction would have traced.
pub const NAIVE_COUNTER_EXPORT: &str = "__r3_naive";

pub struct Recording {
    module: Module,
    pub metadata: Metadata,
    /// Identifies this instrumentation, as [`crate::Instrumented::id`] does.
    pub id: String,
}

impl Recording {
    pub fn wasm(&self) -> Vec<u8> {
        self.module.encode()
    }

    pub fn write_wasm(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.module.write_to(out)
    }

    /// `DIR/STEM.wasm` and `DIR/STEM.wasabi.js` (the recorder; CommonJS if `node`).
    pub fn write_outputs(&self, dir: &Path, stem: &str, node: bool) -> Result<(), OutputError> {
        create_dir(dir)?;
        write_atomically(&dir.join(format!("{stem}.wasm")), |out| self.write_wasm(out))?;
        let js = crate::js::generate_recorder(node);
        write_atomically(&dir.join(format!("{stem}.wasabi.js")), |out| out.write_all(js.as_bytes()))
    }
}

/// Where the rewritten bodies find what this pass adds.
struct Layout {
    /// Memory 0 is host-visible, so it has a shadow (memory 1).
    shadow: bool,
    sync: u32,
    /// `__r3.table_write`, if the host can reach a table.
    table_write: Option<u32>,
    /// Per table index: its element type if the host can reach it.
    visible_tables: Vec<Option<Ty>>,
    /// Followed by the `check_load` helpers, if some body is large.
    check_range: u32,
    naive: u32,
    imported_functions: u32,
    /// Function imports inserted after the original ones.
    inserted: u32,
}

impl Layout {
    /// The `check_load` helper for loads of `width` bytes: they follow `check_range` for widths
    /// 1, 2, 4, 8, 16, in that order.
    fn check_load(&self, width: u32) -> u32 {
        self.check_range + 1 + width.trailing_zeros()
    }

    /// The new index of original function `index`.
    fn function(&self, index: u32) -> u32 {
        if index < self.imported_functions { index } else { index + self.inserted }
    }
}

pub fn instrument_for_recording(bytes: &[u8]) -> Result<Recording, Error> {
    let options = DecodeOptions::default();
    let (mut module, bodies) = Module::decode_deferred(bytes, &options)?;
    let metadata = Metadata::of(&module, bytes);
    let shadow = metadata.memory.is_some();
    if shadow {
        refuse_shared_memory(&module)?;
    }
    let imported_functions = module.num_imported_functions();
    let defined_functions = module.functions.len() as u32;
    let sync = if shadow {
        let ty = FuncType::new([ValType::I32; 3], []);
        module.add_function_import(IMPORT_MODULE, "sync", ty)
    } else {
        u32::MAX
    };
    let table_write = (!metadata.tables.is_empty()).then(|| {
        module.add_function_import(IMPORT_MODULE, "table_write", FuncType::new([ValType::I32; 3], []))
    });
    let inserted = shadow as u32 + table_write.is_some() as u32;
    let table_types = type_tables(&module).tables;
    let mut visible_tables = vec![None; table_types.len()];
    for table in &metadata.tables {
        visible_tables[table.index as usize] = table_types.get(table.index as usize).copied();
    }
    // A memory the module defines starts as zeros and its data; one it imports may hold host bytes.
    let memory_was_defined = !module.memories.is_empty();
    if shadow {
        import_memory_and_shadow(&mut module);
    }
    let naive = module.add_global(Global {
        ty: GlobalType { val_type: ValType::I64, mutable: true, shared: false },
        init: ConstExpr(vec![Instr::I64Const(0)]),
    });
    let layout = Layout {
        shadow,
        sync,
        table_write,
        visible_tables,
        check_range: imported_functions + inserted + defined_functions,
        naive,
        imported_functions,
        inserted,
    };

    let rewritten = in_module_order(
        bodies.par_iter().map(|deferred| body::rewrite(bytes, &layout, deferred, options.features)),
    )
    .map_err(|error| wasabi_wasm::body_error(bytes, &options, error))?;
    for (function, body) in module.functions.iter_mut().zip(rewritten) {
        function.encoded = Some(body);
    }

    export_function_table(&mut module, FUNCTION_TABLE_EXPORT, imported_functions + defined_functions, |f| {
        layout.function(f)
    });
    if shadow {
        let added = add_range_check(&mut module, &layout);
        debug_assert_eq!(added, layout.check_range);
        if bodies.iter().any(body::is_large) {
            for width in [1, 2, 4, 8, 16] {
                let added = add_load_check(&mut module, &layout, width);
                debug_assert_eq!(added, layout.check_load(width));
            }
        }
        add_start_prologue(&mut module, memory_was_defined);
    }
    module.add_export(NAIVE_COUNTER_EXPORT, ExportKind::Global, naive);
    let id = recording_id(bytes);
    let json = serde_json::to_vec(&metadata).expect("metadata serializes");
    for (name, data) in [(METADATA_SECTION, json), (ID_SECTION, id.clone().into_bytes())] {
        module.custom_sections.push(CustomSection {
            placement: Placement::AfterData,
            content: CustomContent::Raw { name: name.to_string(), data },
        });
    }
    Ok(Recording { module, metadata, id })
}

fn refuse_shared_memory(module: &Module) -> Result<(), Error> {
    let imported = module.imports.iter().filter_map(|import| match &import.kind {
        ImportKind::Memory(ty) => Some(ty),
        _ => None,
    });
    if imported.chain(&module.memories).any(|memory| memory.shared) {
        return Err(Error::Unsupported { feature: "recording a shared memory (threads)".into(), offset: 0 });
    }
    Ok(())
}

/// The recorder must own memory 0 before instantiation (the start function may already read
/// host-written bytes), so a defined memory becomes an import the recorder satisfies; the shadow
/// is imported too, as memory 1, one page larger (see [`SHADOW_OFFSET`]).
fn import_memory_and_shadow(module: &mut Module) {
    let memory = match module.memories.is_empty() {
        false => {
            let defined = module.memories.remove(0);
            module.imports.push(Import {
                module: IMPORT_MODULE.into(),
                name: "memory".into(),
                kind: ImportKind::Memory(defined),
            });
            defined
        }
        true => module
            .imports
            .iter()
            .find_map(|import| match import.kind {
                ImportKind::Memory(ty) => Some(ty),
                _ => None,
            })
            .expect("a host-visible memory exists"),
    };
    let shadow = MemoryType { minimum: memory.minimum + 1, maximum: None, shared: false, ..memory };
    module.imports.push(Import {
        module: IMPORT_MODULE.into(),
        name: "shadow".into(),
        kind: ImportKind::Memory(shadow),
    });
}

/// `check_range(source, length)`: calls `sync(source, 0, length)` if any of those bytes differs
/// from the shadow (the source of a `memory.copy`). Compares 8 bytes at a time, then the rest.
fn add_range_check(module: &mut Module, layout: &Layout) -> u32 {
    let (source, length, at, address) = (0, 1, 2, 3);
    // Inside each loop, label 2 is the outer block, left for the call to sync.
    let loop_over = |step: u32, stop: Vec<Instr>| -> Vec<Instr> {
        let mut code = vec![Instr::Block(BlockType::Empty), Instr::Loop(BlockType::Empty)];
        code.extend(stop);
        code.extend([
            Instr::BrIf(1),
            Instr::LocalGet(source),
            Instr::LocalGet(at),
            Instr::I32Add,
            Instr::LocalTee(address),
            load_of_width(step, 0, 0),
            Instr::LocalGet(address),
            load_of_width(step, 0, SHADOW),
        ]);
        code.extend(not_equal(type_of_width(step)));
        code.extend([
            Instr::BrIf(2),
            Instr::LocalGet(at),
            Instr::I32Const(step as i32),
            Instr::I32Add,
            Instr::LocalSet(at),
            Instr::Br(0),
            Instr::End,
            Instr::End,
        ]);
        code
    };
    // Words while at + 8 <= length (unsigned, without overflow: at <= length - 8 when length >= 8).
    let words_done = vec![
        Instr::LocalGet(length),
        Instr::I32Const(8),
        Instr::I32LtU,
        Instr::LocalGet(at),
        Instr::LocalGet(length),
        Instr::I32Const(8),
        Instr::I32Sub,
        Instr::I32GtU,
        Instr::I32Or,
    ];
    let bytes_done = vec![Instr::LocalGet(at), Instr::LocalGet(length), Instr::I32GeU];
    let mut body = vec![Instr::Block(BlockType::Empty)];
    body.extend(loop_over(8, words_done));
    body.extend(loop_over(1, bytes_done));
    body.extend([
        Instr::Return,
        Instr::End,
        Instr::LocalGet(source),
        Instr::I32Const(0),
        Instr::LocalGet(length),
        Instr::Call(layout.sync),
        Instr::End,
    ]);
    let type_index = module.add_type(FuncType::new([ValType::I32; 2], []));
    module.add_function(Function { type_index, locals: vec![(2, ValType::I32)], body, encoded: None })
}

/// `check_load(address, offset)`: calls `sync(address, offset, width)` if the `width` bytes at
/// `address + offset` differ from the shadow. Large bodies call it after each load.
fn add_load_check(module: &mut Module, layout: &Layout, width: u32) -> u32 {
    let (address, offset, at) = (0, 1, 2);
    let mut body =
        vec![Instr::LocalGet(address), Instr::LocalGet(offset), Instr::I32Add, Instr::LocalTee(at)];
    body.push(load_of_width(width, 0, 0));
    body.push(Instr::LocalGet(at));
    body.push(load_of_width(width, 0, SHADOW));
    body.extend(not_equal(type_of_width(width)));
    body.extend([
        Instr::If(BlockType::Empty),
        Instr::LocalGet(address),
        Instr::LocalGet(offset),
        Instr::I32Const(width as i32),
        Instr::Call(layout.sync),
        Instr::End,
        Instr::End,
    ]);
    let type_index = module.add_type(FuncType::new([ValType::I32; 2], []));
    module.add_function(Function { type_index, locals: vec![(1, ValType::I32)], body, encoded: None })
}

/// Runs before the original start function: the bytes active data segments put into memory 0
/// are the module's own, so the shadow gets them too.
fn add_start_prologue(module: &mut Module, memory_was_defined: bool) {
    let mut body = Vec::new();
    let mut copy = |offset: &[Instr], length: u32| {
        body.extend(offset.iter().cloned());
        body.extend([Instr::I32Const(SHADOW_OFFSET as i32), Instr::I32Add]);
        body.extend(offset.iter().cloned());
        body.push(Instr::I32Const(length as i32));
        body.push(Instr::MemoryCopy { src_mem: 0, dst_mem: SHADOW });
    };
    let mut constant_ranges = Vec::new();
    for data in &module.data {
        let DataMode::Active { memory: 0, offset } = &data.mode else { continue };
        match offset.0.as_slice() {
            [Instr::I32Const(start)] => {
                let start = *start as u32 as u64;
                constant_ranges.push((start, start + data.bytes.len() as u64));
            }
            _ => copy(&offset.0, data.bytes.len() as u32),
        }
    }
    // Toolchains split data into many segments (esbuild's Go module: 98,450), and one copy per
    // segment made a 2 MB prologue. Copies of whole ranges do the same: across the gaps between
    // segments too when those hold zeros in memory and shadow alike (a memory the module defines).
    for (start, end) in merged_ranges(constant_ranges, memory_was_defined) {
        copy(&[Instr::I32Const(start as u32 as i32)], (end - start) as u32);
    }
    if let Some(start) = module.start {
        body.push(Instr::Call(start));
    }
    body.push(Instr::End);
    let type_index = module.add_type(FuncType::new([], []));
    let prologue = module.add_function(Function { type_index, locals: Vec::new(), body, encoded: None });
    module.start = Some(prologue);
}

/// `ranges` sorted and joined where they overlap or touch, or all into one if `across_gaps`.
/// (Instantiation has checked that each segment fits its memory, so no end passes 4 GiB.)
fn merged_ranges(mut ranges: Vec<(u64, u64)>, across_gaps: bool) -> Vec<(u64, u64)> {
    ranges.retain(|(start, end)| start < end);
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if across_gaps || start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn recording_id(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(b"\0r3");
    hasher.finalize().iter().take(16).map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::merged_ranges;

    #[test]
    fn ranges_join_where_they_touch_or_overlap_or_across_gaps_if_asked() {
        let ranges = vec![(40, 41), (10, 20), (0, 5), (20, 30), (12, 14), (50, 50)];
        assert_eq!(merged_ranges(ranges.clone(), false), [(0, 5), (10, 30), (40, 41)]);
        assert_eq!(merged_ranges(ranges, true), [(0, 41)]);
    }
}

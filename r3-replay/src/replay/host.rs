//! Emitting the host module with wasm-encoder.
//!
//! When the original's memory 0 can hold a scratch area (see [`super::tape`]), the recorded
//! actions and import answers are data, a tape interpreted by fixed code. Otherwise (and for
//! what needs references) they are code: each imported function of the original gets an
//! implementation that counts its calls and picks the recorded call by a binary search over
//! call-number ranges: consecutive calls with nothing to do but return the same results share
//! one range (run-length encoding), so a million identical calls cost one leaf. Long memory
//! writes are copied from one passive data segment with `memory.init`; short ones are stores
//! of constants. Long action lists go to functions of their own, defined after `_start`, so
//! that no function body grows beyond what engines accept.

use super::ReplayError;
use super::layout::{HostImportType, Layout};
use super::original::{EntityType, Original, Signature};
use super::tape::{self, Case, Tape};
use crate::reduce::{Action, Effect, ImportCall, Outcome, Replay};
use crate::section::{self, ReplaySection};
use r3_hooks::trace::{Value, ValueType};
use std::borrow::Cow;
use std::collections::HashMap;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataCountSection, DataSection, ElementSection, Elements,
    ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType, HeapType, Ieee32,
    Ieee64, ImportSection, InstructionSink, MemArg, Module, TypeSection, ValType,
};

/// Writes longer than this go through the data segment.
const MAX_STORED_WRITE: usize = 16;

/// Action lists longer than this are split into functions of this many actions each: engines
/// limit the size of one function body (V8: 7,654,321 bytes), and a host interval can hold
/// hundreds of thousands of memory writes (each run of changed bytes is one).
const ACTIONS_PER_FUNCTION: usize = 2048;

/// An import call's actions stay in its implementation (which holds the leaves of all its
/// calls) up to this many; longer lists go to functions of their own.
const ACTIONS_PER_LEAF: usize = 4;

/// Returns the module and the size of its data segment.
pub fn emit(
    replay: &Replay,
    original: &Original,
    layout: &Layout,
    section: &ReplaySection,
) -> Result<(Vec<u8>, usize), ReplayError> {
    let imported = original.num_imported_functions();
    // After the implementations: r3_init, the segments, _start, the tape's interpreter and
    // field reader (if there is a tape), then the parts of long action lists.
    let foreign = replay.foreign_types.len() as u32;
    let after_start = layout.implementation(imported) + foreign + 2 + replay.segments.len() as u32;
    let tape = layout.scratch.map(|scratch| Tape { scratch, run: after_start, field: after_start + 1 });
    let parts_base = after_start + if tape.is_some() { 2 } else { 0 };
    let mut emitter = Emitter {
        replay,
        original,
        layout,
        types: Vec::new(),
        // Position 0 is the empty run.
        blob: if tape.is_some() { vec![0, 0] } else { Vec::new() },
        written: HashMap::new(),
        globals: Vec::new(),
        parts: Vec::new(),
        parts_base,
        tape,
        cases: Vec::new(),
    };
    let mut code = CodeSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let imports = emitter.imports();
    for n in 0..imported {
        let signature = original.signature(n).cloned().unwrap_or_default();
        let calls = replay.imports.get(&n).map(Vec::as_slice).unwrap_or_default();
        let body = emitter.implementation(&signature, calls)?;
        functions.function(emitter.type_index(signature));
        code.function(&body);
        exports.export(
            &format!("import/{}", original.import_number(wasmparser::ExternalKind::Func, n).unwrap_or(n)),
            ExportKind::Func,
            layout.implementation(original.same_function(n)),
        );
    }
    for (id, ty) in &replay.foreign_types {
        let signature = Signature {
            params: ty.params.iter().map(|&ty| val_type(ty)).collect(),
            results: ty.results.iter().map(|&ty| val_type(ty)).collect(),
        };
        let calls = replay.foreign.get(id).map(Vec::as_slice).unwrap_or_default();
        let body = emitter.implementation(&signature, calls)?;
        functions.function(emitter.type_index(signature));
        code.function(&body);
        exports.export(&format!("foreign/{id}"), ExportKind::Func, layout.foreign[id]);
    }
    let mut next = layout.implementation(imported) + foreign;
    let unit = emitter.type_index(Signature::default());
    let mut define = |name: &str, body: Function, exports: &mut ExportSection| {
        functions.function(unit);
        code.function(&body);
        exports.export(name, ExportKind::Func, next);
        next += 1;
        next - 1
    };
    let init = emitter.actions_function(replay.init, &layout.consumed_init)?;
    define("r3_init", init, &mut exports);
    let mut segments = Vec::new();
    for (k, segment) in replay.segments.iter().enumerate() {
        let body = emitter.actions_function(segment.actions, &Default::default())?;
        segments.push(define(&format!("segment/{k}"), body, &mut exports));
    }
    let mut start = Function::new([]);
    segments.iter().for_each(|&segment| {
        start.instructions().call(segment);
    });
    start.instructions().end();
    define("_start", start, &mut exports);
    if let Some(tape) = tape {
        let run = Signature { params: vec![ValType::I32], results: vec![] };
        functions.function(emitter.type_index(run));
        code.function(&emitter.interpreter(tape));
        let field = Signature { params: vec![ValType::I32], results: vec![ValType::I64] };
        functions.function(emitter.type_index(field));
        code.function(&emitter.field_reader(tape));
    }
    for part in std::mem::take(&mut emitter.parts) {
        functions.function(unit);
        code.function(&part);
    }
    Ok(emitter.finish(imports, functions, exports, code, section))
}

pub(super) struct Emitter<'a> {
    pub(super) replay: &'a Replay,
    pub(super) original: &'a Original,
    pub(super) layout: &'a Layout,
    types: Vec<Signature>,
    /// Contents of the passive data segment: the tape and memory contents.
    blob: Vec<u8>,
    /// Where each distinct write already is in `blob`: hosts often write the same bytes
    /// again (the same input string for every call).
    written: HashMap<&'a [u8], u32>,
    /// The initial value of each of the host's own (mutable i32) globals: call counters, tape
    /// cursors.
    globals: Vec<i32>,
    /// Functions `[] -> []` holding parts of long action lists, defined after `_start`.
    parts: Vec<Function>,
    /// The function index of `parts[0]`.
    parts_base: u32,
    tape: Option<Tape>,
    /// The interpreter's cases; a case's opcode is its index + 1.
    pub(super) cases: Vec<Case>,
}

/// What an action list becomes: runs of tape operations (by position) between actions that
/// stay code.
enum Item<'a> {
    Run(u32),
    Code(&'a Action),
}

impl<'a> Emitter<'a> {
    fn type_index(&mut self, signature: Signature) -> u32 {
        if let Some(index) = self.types.iter().position(|known| *known == signature) {
            return index as u32;
        }
        self.types.push(signature);
        self.types.len() as u32 - 1
    }

    fn type_of_function(&mut self, func: u32) -> u32 {
        let signature = self.original.signature(func).cloned().unwrap_or_default();
        self.type_index(signature)
    }

    fn imports(&mut self) -> ImportSection {
        let mut section = ImportSection::new();
        for import in &self.layout.imports {
            let ty: wasm_encoder::EntityType = match &import.ty {
                HostImportType::Like(func) => {
                    wasm_encoder::EntityType::Function(self.type_of_function(*func))
                }
                HostImportType::Throw => {
                    wasm_encoder::EntityType::Function(self.type_index(Signature::default()))
                }
                HostImportType::Extern => {
                    wasm_encoder::EntityType::Function(self.type_index(Signature {
                        params: vec![ValType::I64],
                        results: vec![ValType::EXTERNREF],
                    }))
                }
                HostImportType::Entity(EntityType::Memory(memory)) => (*memory).into(),
                HostImportType::Entity(EntityType::Table(table)) => (*table).into(),
                HostImportType::Entity(EntityType::Global(global)) => (*global).into(),
                HostImportType::Entity(EntityType::Function(ty)) => wasm_encoder::EntityType::Function(*ty),
            };
            section.import(import.module, &import.name, ty);
        }
        section
    }

    /// The implementation of a function of the host the original calls (an imported function,
    /// a foreign function) that answers its `calls` in order.
    fn implementation(
        &mut self,
        signature: &Signature,
        calls: &[ImportCall],
    ) -> Result<Function, ReplayError> {
        if calls.is_empty() {
            // Never called when recorded: a call in the replay is a divergence.
            let mut body = Function::new([]);
            body.instructions().unreachable().end();
            return Ok(body);
        }
        if let Some(tape) = self.tape
            && let Some(body) = self.tape_implementation(tape, signature, calls)?
        {
            return Ok(body);
        }
        let counter = self.new_global(0);
        let call_number = signature.params.len() as u32;
        let mut body = Function::new([(1, ValType::I32)]);
        let mut sink = body.instructions();
        sink.global_get(counter).local_tee(call_number).i32_const(1).i32_add().global_set(counter);
        sink.local_get(call_number)
            .i32_const(calls.len() as i32)
            .i32_ge_u()
            .if_(wasm_encoder::BlockType::Empty);
        sink.unreachable().end();
        let leaves = leaves(self.replay, calls);
        self.tree(&mut body, &leaves, calls, call_number, signature)?;
        body.instructions().unreachable().end();
        Ok(body)
    }

    /// Dispatches on the call number between leaves (ranges of calls, by first call number).
    fn tree(
        &mut self,
        body: &mut Function,
        leaves: &[usize],
        calls: &[ImportCall],
        call_number: u32,
        signature: &Signature,
    ) -> Result<(), ReplayError> {
        match leaves {
            [] => Ok(()),
            [first] => self.leaf(body, &calls[*first], signature),
            _ => {
                let middle = leaves.len() / 2;
                let mut sink = body.instructions();
                sink.local_get(call_number).i32_const(leaves[middle] as i32).i32_lt_u();
                sink.if_(wasm_encoder::BlockType::Empty);
                self.tree(body, &leaves[..middle], calls, call_number, signature)?;
                body.instructions().else_();
                self.tree(body, &leaves[middle..], calls, call_number, signature)?;
                body.instructions().end();
                Ok(())
            }
        }
    }

    fn leaf(
        &mut self,
        body: &mut Function,
        call: &ImportCall,
        signature: &Signature,
    ) -> Result<(), ReplayError> {
        self.actions(body, call.actions, &Default::default(), ACTIONS_PER_LEAF)?;
        match &call.outcome {
            Outcome::Return(results) => {
                self.check_values(results, &signature.results, call.event, "results")?;
                for value in results {
                    self.value(&mut body.instructions(), value);
                }
                body.instructions().return_();
            }
            Outcome::Throw => {
                let throw = self.layout.throw.expect("scanned: a throwing import needs r3_host.throw");
                body.instructions().call(throw).unreachable();
            }
            Outcome::Trap | Outcome::Unfinished => {
                body.instructions().unreachable();
            }
        }
        Ok(())
    }

    fn actions_function(
        &mut self,
        list: usize,
        skip: &std::collections::BTreeSet<usize>,
    ) -> Result<Function, ReplayError> {
        let mut body = Function::new([]);
        self.actions(&mut body, list, skip, ACTIONS_PER_FUNCTION)?;
        body.instructions().end();
        Ok(body)
    }

    /// A new mutable i32 global of the host; returns its index.
    pub(super) fn new_global(&mut self, init: i32) -> u32 {
        self.globals.push(init);
        self.layout.num_imported_globals + self.globals.len() as u32 - 1
    }

    /// Appends bytes to the data segment; returns their position.
    pub(super) fn append(&mut self, bytes: &[u8]) -> u32 {
        self.blob.extend_from_slice(bytes);
        (self.blob.len() - bytes.len()) as u32
    }

    /// The position of these bytes in the data segment, appended unless already there.
    pub(super) fn bytes_at(&mut self, bytes: &'a [u8]) -> u32 {
        if let Some(&position) = self.written.get(bytes) {
            return position;
        }
        let position = self.append(bytes);
        self.written.insert(bytes, position);
        position
    }

    /// The actions of `list` but those at `skip` (as [`Item`]s): up to `inline` items in
    /// `body`, more in functions of [`ACTIONS_PER_FUNCTION`] items each that `body` calls in
    /// order.
    fn actions(
        &mut self,
        body: &mut Function,
        list: usize,
        skip: &std::collections::BTreeSet<usize>,
        inline: usize,
    ) -> Result<(), ReplayError> {
        let replay = self.replay;
        let actions: Vec<&'a Action> = replay
            .actions(list)
            .iter()
            .enumerate()
            .filter(|(position, _)| !skip.contains(position))
            .map(|(_, action)| action)
            .collect();
        let items = self.items(&actions)?;
        if items.len() <= inline {
            return self.emit_items(body, &items);
        }
        for chunk in items.chunks(ACTIONS_PER_FUNCTION) {
            let mut part = Function::new([]);
            self.emit_items(&mut part, chunk)?;
            part.instructions().end();
            body.instructions().call(self.parts_base + self.parts.len() as u32);
            self.parts.push(part);
        }
        Ok(())
    }

    /// Every action is code without a tape; with one, each run of actions that can be on it
    /// is one item.
    fn items(&mut self, actions: &[&'a Action]) -> Result<Vec<Item<'a>>, ReplayError> {
        if self.tape.is_none() {
            return Ok(actions.iter().map(|&action| Item::Code(action)).collect());
        }
        let runs: Vec<(bool, &[&'a Action])> = actions
            .chunk_by(|a, b| self.on_tape(a) == self.on_tape(b))
            .map(|run| (self.on_tape(run[0]), run))
            .collect();
        let mut items = Vec::new();
        for (on_tape, run) in runs {
            if on_tape {
                items.push(Item::Run(self.tape_run(run)?));
            } else {
                items.extend(run.iter().map(|&action| Item::Code(action)));
            }
        }
        Ok(items)
    }

    fn emit_items(&mut self, body: &mut Function, items: &[Item<'a>]) -> Result<(), ReplayError> {
        for item in items {
            match item {
                Item::Run(position) => {
                    let tape = self.tape.expect("runs only with a tape");
                    body.instructions().i32_const(*position as i32).call(tape.run);
                }
                Item::Code(Action::Effect(effect)) => self.effect(&mut body.instructions(), effect),
                Item::Code(Action::Call(call)) => self.export_call(&mut body.instructions(), *call)?,
            }
        }
        Ok(())
    }

    /// The host function an export call calls, and the signature its values must fit.
    pub(super) fn export_target(&self, id: usize) -> Result<(u32, Signature), ReplayError> {
        let call = &self.replay.export_calls[id];
        let target = if call.name.is_empty() {
            self.layout.calls_by_index[&call.func]
        } else {
            self.layout.calls_by_name[&call.name]
        };
        let Some(signature) = self.original.signature(call.func).cloned() else {
            return Err(ReplayError::Mismatch {
                index: call.event,
                message: format!("no function {}", call.func),
            });
        };
        self.check_values(&call.args, &signature.params, call.event, "arguments")?;
        Ok((target, signature))
    }

    fn export_call(&mut self, sink: &mut InstructionSink<'_>, id: usize) -> Result<(), ReplayError> {
        let (target, signature) = self.export_target(id)?;
        let call = &self.replay.export_calls[id];
        for value in &call.args {
            self.value(sink, value);
        }
        sink.call(target);
        for _ in &signature.results {
            sink.drop();
        }
        Ok(())
    }

    pub(super) fn check_values(
        &self,
        values: &[Value],
        types: &[ValType],
        event: usize,
        what: &str,
    ) -> Result<(), ReplayError> {
        let matches =
            values.len() == types.len() && values.iter().zip(types).all(|(value, ty)| fits(value, *ty));
        if matches {
            return Ok(());
        }
        let message = format!("{what} {values:?} do not fit the function's types {types:?}");
        Err(ReplayError::Mismatch { index: event, message })
    }

    fn value(&self, sink: &mut InstructionSink<'_>, value: &Value) {
        match *value {
            Value::I32(x) => sink.i32_const(x),
            Value::I64(x) => sink.i64_const(x),
            Value::F32(bits) => sink.f32_const(Ieee32::new(bits)),
            Value::F64(bits) => sink.f64_const(Ieee64::new(bits)),
            Value::V128(bytes) => sink.v128_const(i128::from_le_bytes(bytes)),
            Value::FuncRef(None) => sink.ref_null(HeapType::FUNC),
            Value::FuncRef(Some(func)) => {
                // From a table the linker fills, not `ref.func` of an imported function:
                // engines may give an imported function a new identity (wasmtime does).
                let table = self.layout.functions_table.expect("scanned: references need r3_host.functions");
                sink.i32_const(func as i32).table_get(table)
            }
            Value::Foreign(id) => sink.ref_func(self.layout.foreign[&id]),
            Value::ExternRef(None) => sink.ref_null(HeapType::EXTERN),
            Value::ExternRef(Some(id)) => sink
                .i64_const(id as i64)
                .call(self.layout.extern_ref.expect("scanned: extern refs need r3_host.extern")),
        };
    }

    fn effect(&mut self, sink: &mut InstructionSink<'_>, effect: &'a Effect) {
        match effect {
            Effect::MemoryWrite { memory, addr, bytes } => {
                self.memory_write(sink, self.layout.memories[memory], *addr, bytes)
            }
            Effect::MemoryGrow { memory, pages } => {
                let memory = self.layout.memories[memory];
                sink.i32_const(*pages as i32).memory_size(memory).i32_sub().memory_grow(memory).drop();
            }
            Effect::TableSet { table, index, value } => {
                sink.i32_const(*index as i32);
                self.value(sink, value);
                sink.table_set(self.layout.tables[table]);
            }
            Effect::TableGrow { table, size, init } => {
                let table = self.layout.tables[table];
                self.value(sink, init);
                sink.i32_const(*size as i32).table_size(table).i32_sub().table_grow(table).drop();
            }
            Effect::GlobalSet { global, value } => {
                self.value(sink, value);
                sink.global_set(self.layout.globals[global]);
            }
        }
    }

    fn memory_write(&mut self, sink: &mut InstructionSink<'_>, memory: u32, addr: u64, bytes: &'a [u8]) {
        if bytes.len() > MAX_STORED_WRITE {
            let offset = self.bytes_at(bytes);
            sink.i32_const(addr as i32).i32_const(offset as i32).i32_const(bytes.len() as i32);
            sink.memory_init(memory, 0);
            return;
        }
        let mut rest = bytes;
        let mut at = addr;
        while !rest.is_empty() {
            let width = [8, 4, 2, 1].into_iter().find(|&width| width <= rest.len()).unwrap_or(1);
            let (chunk, tail) = rest.split_at(width);
            let memarg = MemArg {
                offset: 0,
                align: 0,
                target: wasm_encoder::MemArgTarget::Memory(memory),
                ordering: None,
            };
            sink.i32_const(at as i32);
            let mut word = [0u8; 8];
            word[..width].copy_from_slice(chunk);
            let word = u64::from_le_bytes(word);
            match width {
                8 => sink.i64_const(word as i64).i64_store(memarg),
                4 => sink.i32_const(word as i32).i32_store(memarg),
                2 => sink.i32_const(word as i32).i32_store16(memarg),
                _ => sink.i32_const(word as i32).i32_store8(memarg),
            };
            rest = tail;
            at += width as u64;
        }
    }

    fn finish(
        mut self,
        imports: ImportSection,
        functions: FunctionSection,
        exports: ExportSection,
        code: CodeSection,
        section: &ReplaySection,
    ) -> (Vec<u8>, usize) {
        let mut types = TypeSection::new();
        for signature in &self.types {
            types.ty().function(signature.params.iter().copied(), signature.results.iter().copied());
        }
        let mut globals = GlobalSection::new();
        for &init in &self.globals {
            globals.global(
                GlobalType { val_type: ValType::I32, mutable: true, shared: false },
                &ConstExpr::i32_const(init),
            );
        }
        if self.tape.is_some() {
            self.blob.resize(self.blob.len() + tape::PADDING, 0);
        }
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&functions).section(&globals).section(&exports);
        if !self.layout.foreign.is_empty() {
            // `ref.func` needs its functions declared.
            let mut elements = ElementSection::new();
            let foreign: Vec<u32> = self.layout.foreign.values().copied().collect();
            elements.declared(Elements::Functions(Cow::Owned(foreign)));
            module.section(&elements);
        }
        let data_segments = u32::from(!self.blob.is_empty());
        if data_segments > 0 {
            module.section(&DataCountSection { count: data_segments });
        }
        module.section(&code);
        if data_segments > 0 {
            let mut data = DataSection::new();
            data.passive(self.blob.iter().copied());
            module.section(&data);
        }
        let json = section.to_json().into_bytes();
        module.section(&CustomSection { name: Cow::Borrowed(section::NAME), data: Cow::Owned(json) });
        (module.finish(), self.blob.len())
    }
}

/// Splits calls into leaves: a call with host actions is a leaf of its own; consecutive calls
/// without actions and with the same outcome share one. Returns each leaf's first call.
pub(super) fn leaves(replay: &Replay, calls: &[ImportCall]) -> Vec<usize> {
    let quiet = |call: &ImportCall| replay.actions(call.actions).is_empty();
    let mut starts = Vec::new();
    for (number, call) in calls.iter().enumerate() {
        let joins_previous = number > 0 && {
            let previous = &calls[number - 1];
            quiet(previous) && quiet(call) && previous.outcome == call.outcome
        };
        if !joins_previous {
            starts.push(number);
        }
    }
    starts
}

fn val_type(ty: ValueType) -> ValType {
    match ty {
        ValueType::I32 => ValType::I32,
        ValueType::I64 => ValType::I64,
        ValueType::F32 => ValType::F32,
        ValueType::F64 => ValType::F64,
        ValueType::V128 => ValType::V128,
        ValueType::FuncRef => ValType::FUNCREF,
        ValueType::ExternRef => ValType::EXTERNREF,
    }
}

pub(super) fn fits(value: &Value, ty: ValType) -> bool {
    match (value, ty) {
        (Value::I32(_), ValType::I32)
        | (Value::I64(_), ValType::I64)
        | (Value::F32(_), ValType::F32)
        | (Value::F64(_), ValType::F64)
        | (Value::V128(_), ValType::V128) => true,
        (Value::FuncRef(_) | Value::Foreign(_), ValType::Ref(r)) => r.heap_type == HeapType::FUNC,
        (Value::ExternRef(_), ValType::Ref(r)) => r.heap_type == HeapType::EXTERN,
        _ => false,
    }
}

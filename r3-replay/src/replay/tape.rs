//! The tape: recorded host actions and import answers as bytes of the host module's passive
//! data segment, read by one fixed interpreter, instead of code per action (docs/replay.md,
//! "The tape"). Code grows with the number of distinct things the host did (memories it
//! wrote, globals it set, exports it called), the tape with how often it did them.
//!
//! Wasm cannot load from a data segment, only copy it into memory: a field is read by copying
//! it to address 0 of the original's memory 0 and loading it there, with the 8 bytes it
//! covered saved before and stored back after (`field`). No module code runs in between, so
//! the original never sees the scratch bytes.

use super::ReplayError;
use super::host::{Emitter, fits};
use super::original::Signature;
use crate::reduce::{Action, Effect, ImportCall, Outcome};
use r3_hooks::trace::Value;
use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, ValType};

/// The opcode ending a run of tape operations; position 0 of the segment holds one, the
/// empty run.
const END: u16 = 0;

/// Import records say how their call ended: returned, host exception, trap.
const RETURNED: u8 = 0;
const THREW: u8 = 1;
const TRAPPED: u8 = 2;

/// The repeat count of the record ending every import's stream: calls never use it up.
const FOREVER: u32 = u32::MAX;

/// Bytes after the last field: `field` always copies 8.
pub const PADDING: usize = 8;

/// An interpreter case: what one opcode does. Operations are the opcode (u16) and then the
/// case's fields, little-endian.
#[derive(Debug, Clone, PartialEq)]
pub enum Case {
    /// `addr: u32, len: u32, src: u32`: copies `len` bytes at `src` of the segment to `addr`.
    Write { memory: u32 },
    /// `pages: u32`: grows the memory to that many pages.
    Grow { memory: u32 },
    /// The global's new value (4 or 8 bytes).
    Global { global: u32, ty: ValType },
    /// The arguments (4 or 8 bytes each); the results are dropped.
    Call { target: u32, signature: Signature },
}

/// Function indices and the memory the interpreter needs.
#[derive(Debug, Clone, Copy)]
pub struct Tape {
    /// The host's index of the original's memory 0, whose first 8 bytes are the scratch area.
    pub scratch: u32,
    /// `run: [i32] -> []` interprets the run at a position; `field: [i32] -> [i64]` reads 8
    /// bytes at a position.
    pub run: u32,
    pub field: u32,
}

impl<'a> Emitter<'a> {
    /// Whether an action can be an operation on the tape: reference values need code (a
    /// table, a function to get them from), 64-bit memories 64-bit fields.
    pub(super) fn on_tape(&self, action: &Action) -> bool {
        let small = |memory: &u32, end: u64| {
            !self.original.memories[*memory as usize].memory64 && end <= u64::from(u32::MAX)
        };
        match action {
            Action::Effect(Effect::MemoryWrite { memory, addr, bytes }) => {
                small(memory, addr.saturating_add(bytes.len() as u64))
            }
            Action::Effect(Effect::MemoryGrow { memory, pages }) => small(memory, *pages),
            Action::Effect(Effect::GlobalSet { global, value }) => {
                numeric(value) && fits(value, self.original.globals[*global as usize].val_type)
            }
            Action::Effect(Effect::TableSet { .. } | Effect::TableGrow { .. }) => false,
            Action::Call(id) => {
                let call = &self.replay.export_calls[*id];
                self.original.signature(call.func).is_some() && call.args.iter().all(numeric)
            }
        }
    }

    /// Appends `actions` (all [`Emitter::on_tape`]) as one run; returns its position.
    pub(super) fn tape_run(&mut self, actions: &[&'a Action]) -> Result<u32, ReplayError> {
        if actions.is_empty() {
            return Ok(0);
        }
        let mut run = Vec::new();
        for action in actions {
            self.operation(&mut run, action)?;
        }
        run.extend(END.to_le_bytes());
        Ok(self.append(&run))
    }

    fn operation(&mut self, run: &mut Vec<u8>, action: &'a Action) -> Result<(), ReplayError> {
        let layout = self.layout;
        match action {
            Action::Effect(Effect::MemoryWrite { memory, addr, bytes }) => {
                let src = self.bytes_at(bytes);
                self.opcode(run, Case::Write { memory: layout.memories[memory] })?;
                for field in [*addr as u32, bytes.len() as u32, src] {
                    run.extend(field.to_le_bytes());
                }
            }
            Action::Effect(Effect::MemoryGrow { memory, pages }) => {
                self.opcode(run, Case::Grow { memory: layout.memories[memory] })?;
                run.extend((*pages as u32).to_le_bytes());
            }
            Action::Effect(Effect::GlobalSet { global, value }) => {
                let ty = self.original.globals[*global as usize].val_type;
                self.opcode(run, Case::Global { global: layout.globals[global], ty })?;
                put(run, value);
            }
            Action::Call(id) => {
                let (target, signature) = self.export_target(*id)?;
                self.opcode(run, Case::Call { target, signature })?;
                self.replay.export_calls[*id].args.iter().for_each(|value| put(run, value));
            }
            Action::Effect(Effect::TableSet { .. } | Effect::TableGrow { .. }) => {
                unreachable!("table actions stay code (on_tape)")
            }
        }
        Ok(())
    }

    fn opcode(&mut self, run: &mut Vec<u8>, case: Case) -> Result<(), ReplayError> {
        let index = match self.cases.iter().position(|known| *known == case) {
            Some(index) => index,
            None => {
                self.cases.push(case);
                self.cases.len() - 1
            }
        };
        let opcode = u16::try_from(index + 1).map_err(|_| {
            ReplayError::Unsupported("more than 65,535 kinds of host actions for the tape".into())
        })?;
        run.extend(opcode.to_le_bytes());
        Ok(())
    }

    /// The implementation of a host function from a stream of records, one per run of calls
    /// ([`super::host::leaves`]): `repeat: u32, actions: u32` (a run's position),
    /// `outcome: u8`, then the results, ended by a record that traps and never advances.
    /// `None` if a call needs code (reference results, actions not on the tape).
    pub(super) fn tape_implementation(
        &mut self,
        tape: Tape,
        signature: &Signature,
        calls: &[ImportCall],
    ) -> Result<Option<Function>, ReplayError> {
        let replay = self.replay;
        let fits = signature.results.iter().all(|&ty| val_type_width(ty).is_some())
            && calls.iter().flat_map(|call| replay.actions(call.actions)).all(|action| self.on_tape(action));
        if !fits {
            return Ok(None);
        }
        let size = 9 + signature.results.iter().filter_map(|&ty| val_type_width(ty)).sum::<usize>();
        let start = self.stream(signature, calls, size)?;
        Ok(Some(self.record_reader(tape, signature, start, size as i32)))
    }

    /// Appends the records of `calls`, each `size` bytes, and the sentinel; returns the
    /// position of the first.
    fn stream(
        &mut self,
        signature: &Signature,
        calls: &[ImportCall],
        size: usize,
    ) -> Result<u32, ReplayError> {
        let replay = self.replay;
        let leaves = super::host::leaves(replay, calls);
        let mut records = Vec::with_capacity((leaves.len() + 1) * size);
        for (k, &first) in leaves.iter().enumerate() {
            let end = leaves.get(k + 1).copied().unwrap_or(calls.len());
            let call = &calls[first];
            let actions: Vec<&'a Action> = replay.actions(call.actions).iter().collect();
            let position = self.tape_run(&actions)?;
            records.extend(((end - first) as u32).to_le_bytes());
            records.extend(position.to_le_bytes());
            match &call.outcome {
                Outcome::Return(values) => {
                    self.check_values(values, &signature.results, call.event, "results")?;
                    records.push(RETURNED);
                    values.iter().for_each(|value| put(&mut records, value));
                }
                Outcome::Throw => records.push(THREW),
                Outcome::Trap | Outcome::Unfinished => records.push(TRAPPED),
            }
            records.resize(records.len().next_multiple_of(size), 0);
        }
        records.extend(FOREVER.to_le_bytes());
        records.extend(0u32.to_le_bytes());
        records.push(TRAPPED);
        records.resize(records.len().next_multiple_of(size), 0);
        Ok(self.append(&records))
    }

    /// Reads the record at the import's cursor, advancing the cursor first: the record's
    /// actions may call the module, which may call the same import again.
    fn record_reader(&mut self, tape: Tape, signature: &Signature, start: u32, size: i32) -> Function {
        let cursor = self.new_global(start as i32);
        let repeats = self.new_global(0);
        let record = signature.params.len() as u32;
        let count = record + 1;
        let mut body = Function::new([(2, ValType::I32)]);
        let mut sink = body.instructions();
        sink.global_get(cursor).local_set(record);
        sink.global_get(repeats).i32_const(1).i32_add().local_tee(count);
        read(&mut sink, tape, record, 0, ValType::I32);
        sink.i32_ge_u().if_(BlockType::Empty);
        sink.local_get(record).i32_const(size).i32_add().global_set(cursor).i32_const(0).global_set(repeats);
        sink.else_().local_get(count).global_set(repeats).end();
        read(&mut sink, tape, record, 4, ValType::I32);
        sink.call(tape.run);
        read(&mut sink, tape, record, 8, ValType::I32);
        sink.i32_const(0xff).i32_and().if_(BlockType::Empty);
        if let Some(throw) = self.layout.throw {
            read(&mut sink, tape, record, 8, ValType::I32);
            sink.i32_const(0xff).i32_and().i32_const(i32::from(THREW)).i32_eq();
            sink.if_(BlockType::Empty).call(throw).end();
        }
        sink.unreachable().end();
        let mut offset = 9;
        for &ty in &signature.results {
            read(&mut sink, tape, record, offset, ty);
            offset += val_type_width(ty).unwrap_or(0) as i32;
        }
        sink.end();
        body
    }

    /// `run(position)`: a loop dispatching on each operation's opcode until `END`.
    pub(super) fn interpreter(&self, tape: Tape) -> Function {
        let position = 0;
        let mut body = Function::new([]);
        let mut sink = body.instructions();
        sink.loop_(BlockType::Empty);
        for _ in 0..=self.cases.len() {
            sink.block(BlockType::Empty);
        }
        read(&mut sink, tape, position, 0, ValType::I32);
        sink.i32_const(0xffff).i32_and();
        advance(&mut sink, position, 2);
        let targets: Vec<u32> = (0..=self.cases.len() as u32).collect();
        sink.br_table(targets, 0).end().return_();
        let last = self.cases.len() as u32;
        for (k, case) in self.cases.iter().enumerate() {
            sink.end();
            let size = self.case(&mut sink, tape, case);
            advance(&mut sink, position, size);
            sink.br(last - k as u32 - 1);
        }
        sink.end().end();
        body
    }

    /// One case's code; returns the size of its fields.
    fn case(&self, sink: &mut InstructionSink<'_>, tape: Tape, case: &Case) -> i32 {
        let position = 0;
        match case {
            Case::Write { memory } => {
                read(sink, tape, position, 0, ValType::I32);
                read(sink, tape, position, 8, ValType::I32);
                read(sink, tape, position, 4, ValType::I32);
                sink.memory_init(*memory, 0);
                12
            }
            Case::Grow { memory } => {
                read(sink, tape, position, 0, ValType::I32);
                sink.memory_size(*memory).i32_sub().memory_grow(*memory).drop();
                4
            }
            Case::Global { global, ty } => {
                read(sink, tape, position, 0, *ty);
                sink.global_set(*global);
                val_type_width(*ty).unwrap_or(0) as i32
            }
            Case::Call { target, signature } => {
                let mut offset = 0;
                for &ty in &signature.params {
                    read(sink, tape, position, offset, ty);
                    offset += val_type_width(ty).unwrap_or(0) as i32;
                }
                sink.call(*target);
                signature.results.iter().for_each(|_| {
                    sink.drop();
                });
                offset
            }
        }
    }

    /// `field(position)`: the 8 bytes of the segment at `position`, through the scratch area.
    pub(super) fn field_reader(&self, tape: Tape) -> Function {
        let (position, saved) = (0, 1);
        let memarg = MemArg {
            offset: 0,
            align: 0,
            target: wasm_encoder::MemArgTarget::Memory(tape.scratch),
            ordering: None,
        };
        let mut body = Function::new([(1, ValType::I64)]);
        let mut sink = body.instructions();
        sink.i32_const(0).i64_load(memarg).local_set(saved);
        sink.i32_const(0).local_get(position).i32_const(8).memory_init(tape.scratch, 0);
        sink.i32_const(0).i64_load(memarg);
        sink.i32_const(0).local_get(saved).i64_store(memarg);
        sink.end();
        body
    }
}

/// Pushes the field at `local + offset` as a value of type `ty`.
fn read(sink: &mut InstructionSink<'_>, tape: Tape, local: u32, offset: i32, ty: ValType) {
    sink.local_get(local);
    if offset != 0 {
        sink.i32_const(offset).i32_add();
    }
    sink.call(tape.field);
    match ty {
        ValType::I32 => sink.i32_wrap_i64(),
        ValType::F32 => sink.i32_wrap_i64().f32_reinterpret_i32(),
        ValType::F64 => sink.f64_reinterpret_i64(),
        _ => sink,
    };
}

fn advance(sink: &mut InstructionSink<'_>, local: u32, by: i32) {
    sink.local_get(local).i32_const(by).i32_add().local_set(local);
}

fn numeric(value: &Value) -> bool {
    matches!(value, Value::I32(_) | Value::I64(_) | Value::F32(_) | Value::F64(_))
}

/// A numeric value's bytes, little-endian, 4 or 8 of them.
fn put(bytes: &mut Vec<u8>, value: &Value) {
    match *value {
        Value::I32(x) => bytes.extend(x.to_le_bytes()),
        Value::I64(x) => bytes.extend(x.to_le_bytes()),
        Value::F32(bits) => bytes.extend(bits.to_le_bytes()),
        Value::F64(bits) => bytes.extend(bits.to_le_bytes()),
        _ => unreachable!("only numeric values go on the tape (on_tape)"),
    }
}

/// The bytes a value of this type takes on the tape; `None` for types that stay code.
pub fn val_type_width(ty: ValType) -> Option<usize> {
    match ty {
        ValType::I32 | ValType::F32 => Some(4),
        ValType::I64 | ValType::F64 => Some(8),
        _ => None,
    }
}

//! One function body, rewritten for recording. Instructions that read memory 0 first compare
//! the bytes they are about to read with the shadow (memory 1) and call `__r3.sync` when they
//! differ: those bytes were written by the host. Instructions that write memory 0 repeat the
//! write on the shadow. Everything else is copied byte for byte, except function indices, which
//! shift by the inserted import.

use super::Layout;
use crate::instrument::lowlevel::Ty;
use crate::instrument::ops::{Family, OpId, memarg_and_lane};
use crate::instrument::temps::Temps;
use crate::instrument::validator_of;
use std::convert::Infallible;
use wasabi_wasm::{BlockType, DeferredBody, MemArg};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{Encode, Instruction};
use wasmparser::{BinaryReaderError, Operator, OperatorsReader};

pub(super) const SHADOW: u32 = 1;

/// The shadow copy of memory byte `a` is shadow byte `a + SHADOW_OFFSET` (the shadow has one
/// page more). Without the skew a store to memory and its mirror in the shadow hit addresses
/// with equal low bits, which the CPU treats as possibly aliasing (4K aliasing, same cache
/// set): on a store-heavy loop that made recording 15x slower; 2 KiB + a cache line avoids it.
pub const SHADOW_OFFSET: u32 = 2112;

/// The memarg offset that reaches the shadow copy of `offset`. Past u32 the original access
/// has trapped already: no memory32 shadow is that large.
pub(super) fn shadow_offset(offset: u64) -> u64 {
    (offset + SHADOW_OFFSET as u64).min(u32::MAX as u64)
}

/// A naive tracer writes a call and a return event for every call the module makes, as
/// Wasm-R3's baseline does (its fib example: billions of raw events, nearly all calls).
const NAIVE_EVENTS_PER_CALL: u32 = 2;

/// Bodies larger than this (bytes) check each load with a call to a shared helper instead of
/// inline: optimizing compilers take superlinear time in a function's size, and inline checks
/// grow a load-heavy body up to four times (tree-sitter's 98 KB lexer: 394 KB, a second of
/// V8's optimizing compilation, which node waits for at exit).
pub const LARGE_BODY: u64 = 4 * 1024;

pub(super) fn is_large(deferred: &DeferredBody<'_>) -> bool {
    let range = deferred.body.range();
    range.end - range.start > LARGE_BODY
}

/// A rewritten body: locals and code, as in a code section entry.
pub(super) fn rewrite(
    bytes: &[u8],
    layout: &Layout,
    deferred: &DeferredBody<'_>,
    features: wasmparser::WasmFeatures,
) -> Result<Vec<u8>, BinaryReaderError> {
    let body = &deferred.body;
    let mut validator = validator_of(deferred).into_validator(Default::default());
    let mut declarations = Vec::new();
    // Parameters count as locals from the start.
    let mut local_count = validator.len_locals();
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, ty) = locals_reader.read()?;
        validator.define_locals(offset, count, ty)?;
        declarations.push((count, Ty::from_parser(ty).unwrap_or(Ty::I32).val_type()));
        local_count += count;
    }
    let mut rewriter = Rewriter {
        bytes,
        layout,
        compact: layout.shadow && is_large(deferred),
        code: Vec::with_capacity((body.range().end - body.range().start) as usize * 2),
        temps: Temps::new(local_count),
        pending_naive: 0,
        batch: Vec::new(),
        differ: None,
    };
    let mut binary = body.get_binary_reader_for_operators()?;
    binary.set_features(features);
    let mut reader = OperatorsReader::new(binary);
    while !reader.eof() {
        let start = reader.original_position();
        let op = reader.read()?;
        validator.op(start, &op)?;
        rewriter.step(&op, start as usize, reader.original_position() as usize);
    }
    reader.finish()?;
    declarations.extend(rewriter.temps.declarations());
    let mut function = wasm_encoder::Function::new(declarations);
    function.raw(rewriter.code);
    Ok(function.into_raw_body())
}

struct Rewriter<'a> {
    bytes: &'a [u8],
    layout: &'a Layout,
    /// Loads call `check_load` helpers (large bodies) instead of batching inline.
    compact: bool,
    code: Vec<u8>,
    temps: Temps,
    /// Naive events (reads, calls) since the counter was last bumped: it is bumped once per
    /// straight-line stretch of code instead of once per event.
    pending_naive: u32,
    /// Plain loads since the last batch check: (address local, offset, width). Their
    /// comparisons are or-ed into `differ`; one branch per batch decides whether to sync them.
    batch: Vec<(u32, u64, u32)>,
    /// The i32 local collecting "some load of the batch read bytes that differ".
    differ: Option<u32>,
}

/// At most this many loads share one branch: the branch's block calls sync once per load.
const MAX_BATCH: usize = 8;

/// Whether the loads batched so far must be checked before `op`: it may write memory, let the
/// host run, or leave the straight-line code. (A trap in between is caught by the recorder,
/// which then compares all of memory with the shadow.)
fn ends_batch(family: Family, op: &Operator<'_>) -> bool {
    match family {
        Family::Load => !is_plain_load(op),
        Family::Control
        | Family::Store
        | Family::AtomicRmw
        | Family::AtomicCmpxchg
        | Family::AtomicWait
        | Family::AtomicNotify
        | Family::AtomicFence
        | Family::MemoryFill
        | Family::MemoryCopy
        | Family::MemoryInit
        | Family::MemoryGrow => true,
        _ => false,
    }
}

impl Rewriter<'_> {
    fn step(&mut self, op: &Operator<'_>, start: usize, end: usize) {
        self.temps.release_all();
        let family = OpId::of(op).info().family;
        let (memarg, _) = memarg_and_lane(op);
        let on_shadowed_memory = self.layout.shadow && memarg.is_none_or(|m| memory_of(&m) == 0);
        if !self.batch.is_empty() && ends_batch(family, op) {
            self.check_batch();
        }
        match (family, op) {
            (_, Operator::Call { function_index }) => {
                self.pending_naive += NAIVE_EVENTS_PER_CALL;
                self.flush_reads();
                self.emit(Instruction::Call(self.layout.function(*function_index)));
            }
            (_, Operator::RefFunc { function_index }) => {
                self.emit(Instruction::RefFunc(self.layout.function(*function_index)))
            }
            (_, Operator::CallIndirect { .. }) => {
                self.pending_naive += 1 + NAIVE_EVENTS_PER_CALL;
                self.flush_reads();
                self.copy(start, end);
            }
            (Family::Control, _) => {
                self.flush_reads();
                self.copy(start, end);
            }
            (Family::Global, Operator::GlobalGet { .. }) | (Family::TableGet, _) => {
                self.pending_naive += 1;
                self.copy(start, end);
            }
            (Family::Load, _) if on_shadowed_memory && is_plain_load(op) => {
                self.pending_naive += 1;
                let memarg = memarg.expect("loads have a memory argument");
                if self.compact {
                    self.load_checked_by_call(&memarg, start, end);
                } else {
                    self.checked_load(op, &memarg, start, end);
                }
            }
            (Family::Load | Family::AtomicWait, _) if on_shadowed_memory => {
                self.pending_naive += 1;
                let memarg = memarg.expect("loads have a memory argument");
                self.check_read(&memarg, &extra_operands(op));
                self.copy(start, end);
            }
            (Family::Load | Family::AtomicWait, _) => {
                self.pending_naive += 1;
                self.copy(start, end);
            }
            (Family::AtomicRmw | Family::AtomicCmpxchg, _) if on_shadowed_memory => {
                self.pending_naive += 1;
                let memarg = memarg.expect("atomics have a memory argument");
                let addr = self.check_read(&memarg, &extra_operands(op));
                self.copy(start, end);
                self.mirror_read_modify_write(&memarg, addr, value_type(op));
            }
            (Family::Store, _) if on_shadowed_memory => self.mirror_store(op, start, end),
            (Family::MemoryFill, Operator::MemoryFill { mem: 0 }) if self.layout.shadow => {
                self.mirror_fill(start, end)
            }
            (Family::MemoryCopy, Operator::MemoryCopy { dst_mem: 0, src_mem: 0 }) if self.layout.shadow => {
                self.pending_naive += 1;
                self.mirror_bulk_copy(start, end, true);
            }
            (Family::MemoryInit, Operator::MemoryInit { mem: 0, .. }) if self.layout.shadow => {
                self.mirror_bulk_copy(start, end, false)
            }
            (Family::MemoryGrow, Operator::MemoryGrow { mem: 0 }) if self.layout.shadow => {
                self.copy(start, end);
                self.grow_shadow();
            }
            (_, Operator::TableSet { table } | Operator::TableFill { table }) if self.visible(*table) => {
                self.report_table_write(*table, op, start, end)
            }
            (_, Operator::TableCopy { dst_table: table, .. } | Operator::TableInit { table, .. })
                if self.visible(*table) =>
            {
                self.report_table_write(*table, op, start, end)
            }
            _ => self.copy(start, end),
        }
    }

    fn emit(&mut self, instr: Instruction<'_>) {
        instr.encode(&mut self.code);
    }

    fn copy(&mut self, start: usize, end: usize) {
        self.code.extend_from_slice(&self.bytes[start..end]);
    }

    fn gets(&mut self, locals: &[u32]) {
        for &local in locals {
            self.emit(Instruction::LocalGet(local));
        }
    }

    fn flush_reads(&mut self) {
        if self.pending_naive == 0 {
            return;
        }
        let naive = self.layout.naive;
        self.emit(Instruction::GlobalGet(naive));
        self.emit(Instruction::I64Const(self.pending_naive as i64));
        self.emit(Instruction::I64Add);
        self.emit(Instruction::GlobalSet(naive));
        self.pending_naive = 0;
    }

    /// With the address (and `extras` above it) on the stack: compares the bytes the
    /// instruction will read with the shadow, syncing them if they differ, and leaves the
    /// operands as they were. Returns the local holding the address.
    fn check_read(&mut self, memarg: &wasmparser::MemArg, extras: &[Ty]) -> u32 {
        let saved: Vec<u32> = extras
            .iter()
            .rev()
            .map(|&ty| {
                let local = self.temps.fresh(ty);
                self.emit(Instruction::LocalSet(local));
                local
            })
            .collect();
        let addr = self.temps.fresh(Ty::I32);
        self.emit(Instruction::LocalTee(addr));
        self.differs(addr, memarg.offset, access_width(memarg));
        self.call_sync_if_differs(addr, memarg);
        for &local in saved.iter().rev() {
            self.emit(Instruction::LocalGet(local));
        }
        addr
    }

    /// A load whose result tells its bytes apart (every load but lane loads and atomics): the
    /// same load from the shadow, compared by bits, joins the batch; [`Self::check_batch`]
    /// syncs the batch's bytes if any differed.
    fn checked_load(&mut self, op: &Operator<'_>, memarg: &wasmparser::MemArg, start: usize, end: usize) {
        let ty = value_type(op);
        let addr = self.temps.pinned();
        let value = self.temps.fresh(ty);
        let differ = *self.differ.get_or_insert_with(|| self.temps.dedicated(Ty::I32));
        self.emit(Instruction::LocalTee(addr));
        self.copy(start, end);
        self.emit(Instruction::LocalTee(value));
        self.as_bits(ty);
        self.emit(Instruction::LocalGet(addr));
        self.emit(OnShadow.instruction(op.clone()).expect("a load re-encodes"));
        self.as_bits(ty);
        self.not_equal(ty);
        self.emit(Instruction::LocalGet(differ));
        self.emit(Instruction::I32Or);
        self.emit(Instruction::LocalSet(differ));
        self.emit(Instruction::LocalGet(value));
        self.batch.push((addr, memarg.offset, access_width(memarg)));
        if self.batch.len() == MAX_BATCH {
            self.check_batch();
        }
    }

    /// A load, then `check_load[width](address, offset)` (which syncs the bytes if they differ
    /// from the shadow), the loaded value staying below. The load succeeded, so the helper's
    /// `address + offset` does not wrap.
    fn load_checked_by_call(&mut self, memarg: &wasmparser::MemArg, start: usize, end: usize) {
        let addr = self.temps.fresh(Ty::I32);
        self.emit(Instruction::LocalTee(addr));
        self.copy(start, end);
        self.emit(Instruction::LocalGet(addr));
        self.emit(Instruction::I32Const(memarg.offset as u32 as i32));
        self.emit(Instruction::Call(self.layout.check_load(access_width(memarg))));
    }

    /// One branch for the batch: if any of its loads read bytes that differ from the shadow,
    /// sync every load's bytes (sync records only what differs).
    fn check_batch(&mut self) {
        let differ = self.differ.expect("a batch has its flag");
        self.emit(Instruction::LocalGet(differ));
        self.emit(Instruction::If(BlockType::Empty));
        for (addr, offset, width) in std::mem::take(&mut self.batch) {
            self.call_sync(addr, offset, width);
        }
        self.emit(Instruction::I32Const(0));
        self.emit(Instruction::LocalSet(differ));
        self.emit(Instruction::End);
        self.temps.release_pinned();
    }

    /// Floats compare by bits: NaN payloads and -0 are bytes like any other.
    fn as_bits(&mut self, ty: Ty) {
        match ty {
            Ty::F32 => self.emit(Instruction::I32ReinterpretF32),
            Ty::F64 => self.emit(Instruction::I64ReinterpretF64),
            _ => {}
        }
    }

    /// With "the bytes differ" on the stack: syncs them.
    fn call_sync_if_differs(&mut self, addr: u32, memarg: &wasmparser::MemArg) {
        self.emit(Instruction::If(BlockType::Empty));
        self.call_sync(addr, memarg.offset, access_width(memarg));
        self.emit(Instruction::End);
    }

    fn call_sync(&mut self, addr: u32, offset: u64, width: u32) {
        self.emit(Instruction::LocalGet(addr));
        self.emit(Instruction::I32Const(offset as u32 as i32));
        self.emit(Instruction::I32Const(width as i32));
        self.emit(Instruction::Call(self.layout.sync));
    }

    /// With two values of `ty` (floats as their bits) on the stack: pushes whether they differ.
    fn not_equal(&mut self, ty: Ty) {
        for instr in not_equal(ty) {
            self.emit(instr);
        }
    }

    /// Pushes whether the `width` bytes at `addr + offset` differ between memory and shadow.
    fn differs(&mut self, addr: u32, offset: u64, width: u32) {
        for memory in [0, SHADOW] {
            self.emit(Instruction::LocalGet(addr));
            self.emit(load_of_width(width, offset, memory));
        }
        self.not_equal(type_of_width(width));
    }

    /// After an atomic read-modify-write: copies the bytes it wrote into the shadow.
    fn mirror_read_modify_write(&mut self, memarg: &wasmparser::MemArg, addr: u32, result: Ty) {
        let width = access_width(memarg);
        let saved = self.temps.fresh(result);
        self.emit(Instruction::LocalSet(saved));
        self.gets(&[addr, addr]);
        self.emit(load_of_width(width, memarg.offset, 0));
        let memarg = plain_memarg(shadow_offset(memarg.offset), SHADOW);
        self.emit(match width {
            1 => Instruction::I32Store8(memarg),
            2 => Instruction::I32Store16(memarg),
            4 => Instruction::I32Store(memarg),
            _ => Instruction::I64Store(memarg),
        });
        self.emit(Instruction::LocalGet(saved));
    }

    /// A store, then the same store on the shadow.
    fn mirror_store(&mut self, op: &Operator<'_>, start: usize, end: usize) {
        let value = self.temps.fresh(value_type(op));
        let addr = self.temps.fresh(Ty::I32);
        self.emit(Instruction::LocalSet(value));
        self.emit(Instruction::LocalTee(addr));
        self.emit(Instruction::LocalGet(value));
        self.copy(start, end);
        self.gets(&[addr, value]);
        let on_shadow = OnShadow.instruction(op.clone()).expect("a store re-encodes");
        self.emit(on_shadow);
    }

    /// `memory.fill`, then the same fill on the shadow.
    fn mirror_fill(&mut self, start: usize, end: usize) {
        let [dest, value, length] = [0; 3].map(|_| self.temps.fresh(Ty::I32));
        self.emit(Instruction::LocalSet(length));
        self.emit(Instruction::LocalSet(value));
        self.emit(Instruction::LocalTee(dest));
        self.gets(&[value, length]);
        self.copy(start, end);
        self.shadow_address(dest);
        self.gets(&[value, length]);
        self.emit(Instruction::MemoryFill(SHADOW));
    }

    /// `memory.copy` (whose source is a read, checked first) or `memory.init`: afterwards the
    /// destination range is copied from memory into the shadow.
    fn mirror_bulk_copy(&mut self, start: usize, end: usize, source_is_memory: bool) {
        let [dest, source, length] = [0; 3].map(|_| self.temps.fresh(Ty::I32));
        self.emit(Instruction::LocalSet(length));
        self.emit(Instruction::LocalSet(source));
        self.emit(Instruction::LocalSet(dest));
        if source_is_memory {
            self.gets(&[source, length]);
            self.emit(Instruction::Call(self.layout.check_range));
        }
        self.gets(&[dest, source, length]);
        self.copy(start, end);
        self.shadow_address(dest);
        self.gets(&[dest, length]);
        self.emit(Instruction::MemoryCopy { src_mem: 0, dst_mem: SHADOW });
    }

    fn visible(&self, table: u32) -> bool {
        self.layout.visible_tables.get(table as usize).is_some_and(Option::is_some)
    }

    /// Tells the recorder which entries of a table the host can reach the instruction is about
    /// to write (`table_write(table, index, count)`): other recorded instances sharing the table
    /// see this module's writes as host changes. JS cannot see them otherwise.
    fn report_table_write(&mut self, table: u32, op: &Operator<'_>, start: usize, end: usize) {
        let element = self.layout.visible_tables[table as usize].expect("a visible table");
        let operands: &[Ty] = match op {
            Operator::TableSet { .. } => &[Ty::I32, element],
            Operator::TableFill { .. } => &[Ty::I32, element, Ty::I32],
            _ => &[Ty::I32, Ty::I32, Ty::I32],
        };
        let temps: Vec<u32> = operands.iter().map(|&ty| self.temps.fresh(ty)).collect();
        for &temp in temps.iter().rev() {
            self.emit(Instruction::LocalSet(temp));
        }
        self.emit(Instruction::I32Const(table as i32));
        self.emit(Instruction::LocalGet(temps[0]));
        match temps.get(2) {
            Some(&count) => self.emit(Instruction::LocalGet(count)),
            None => self.emit(Instruction::I32Const(1)),
        }
        let table_write = self.layout.table_write.expect("imported when a table is visible");
        self.emit(Instruction::Call(table_write));
        self.gets(&temps);
        self.copy(start, end);
    }

    /// Pushes the shadow address of the memory address in `local`. The instruction mirrored
    /// succeeded on memory, so the sum stays below the shadow's size.
    fn shadow_address(&mut self, local: u32) {
        self.emit(Instruction::LocalGet(local));
        self.emit(Instruction::I32Const(SHADOW_OFFSET as i32));
        self.emit(Instruction::I32Add);
    }

    /// After `memory.grow` (result on the stack): grows the shadow to the memory's size.
    fn grow_shadow(&mut self) {
        let result = self.temps.fresh(Ty::I32);
        self.emit(Instruction::LocalTee(result));
        self.emit(Instruction::I32Const(-1));
        self.emit(Instruction::I32Ne);
        self.emit(Instruction::If(BlockType::Empty));
        self.emit(Instruction::MemorySize(0));
        self.emit(Instruction::MemorySize(SHADOW));
        self.emit(Instruction::I32Sub);
        self.emit(Instruction::I32Const(1));
        self.emit(Instruction::I32Add);
        self.emit(Instruction::MemoryGrow(SHADOW));
        self.emit(Instruction::Drop);
        self.emit(Instruction::End);
        self.emit(Instruction::LocalGet(result));
    }
}

fn memory_of(memarg: &wasmparser::MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(memory) => memory,
        wasmparser::MemArgTarget::Array(_) => u32::MAX,
    }
}

/// Bytes an access touches: its natural alignment (for SIMD extending loads, the 8 bytes read;
/// for lane and splat loads, one lane).
fn access_width(memarg: &wasmparser::MemArg) -> u32 {
    1 << memarg.max_align
}

/// With two values of `ty` (floats as their bits) on the stack: the code that pushes whether
/// they differ.
pub(super) fn not_equal(ty: Ty) -> Vec<Instruction<'static>> {
    match ty {
        Ty::I64 | Ty::F64 => vec![Instruction::I64Ne],
        Ty::V128 => vec![Instruction::V128Xor, Instruction::V128AnyTrue],
        _ => vec![Instruction::I32Ne],
    }
}

/// The type [`load_of_width`] loads `width` bytes as.
pub(super) fn type_of_width(width: u32) -> Ty {
    match width {
        8 => Ty::I64,
        16 => Ty::V128,
        _ => Ty::I32,
    }
}

/// A plain load of `width` bytes as an integer (or v128), for comparing memory and shadow.
pub(super) fn load_of_width(width: u32, offset: u64, memory: u32) -> Instruction<'static> {
    let offset = if memory == SHADOW { shadow_offset(offset) } else { offset };
    let memarg = plain_memarg(offset, memory);
    match width {
        1 => Instruction::I32Load8U(memarg),
        2 => Instruction::I32Load16U(memarg),
        4 => Instruction::I32Load(memarg),
        8 => Instruction::I64Load(memarg),
        _ => Instruction::V128Load(memarg),
    }
}

fn plain_memarg(offset: u64, memory: u32) -> MemArg {
    MemArg { offset, align: 0, target: wasm_encoder::MemArgTarget::Memory(memory), ordering: None }
}

/// The type of the value a store writes, or an atomic operation's operand and result.
fn value_type(op: &Operator<'_>) -> Ty {
    let mnemonic = &OpId::of(op).info().mnemonic;
    match mnemonic.split('.').next() {
        Some("i64") => Ty::I64,
        Some("f32") => Ty::F32,
        Some("f64") => Ty::F64,
        Some("v128") => Ty::V128,
        _ => Ty::I32,
    }
}

/// Loads with no operand but the address, whose result differs whenever their bytes do.
fn is_plain_load(op: &Operator<'_>) -> bool {
    let (_, lane) = memarg_and_lane(op);
    lane.is_none() && !OpId::of(op).info().mnemonic.contains(".atomic.")
}

/// Operands a reading instruction takes above its address.
fn extra_operands(op: &Operator<'_>) -> Vec<Ty> {
    match op {
        Operator::MemoryAtomicWait32 { .. } => vec![Ty::I32, Ty::I64],
        Operator::MemoryAtomicWait64 { .. } => vec![Ty::I64, Ty::I64],
        _ => match OpId::of(op).info().family {
            Family::AtomicRmw => vec![value_type(op)],
            Family::AtomicCmpxchg => vec![value_type(op); 2],
            _ if memarg_and_lane(op).1.is_some() => vec![Ty::V128],
            _ => Vec::new(),
        },
    }
}

/// Re-encodes a memory instruction so that it operates on the shadow.
struct OnShadow;

impl Reencode for OnShadow {
    type Error = Infallible;

    fn mem_arg(&mut self, arg: wasmparser::MemArg) -> Result<MemArg, ReencodeError<Infallible>> {
        let memarg = wasm_encoder::reencode::utils::mem_arg(self, arg)?;
        Ok(MemArg {
            offset: shadow_offset(memarg.offset),
            target: wasm_encoder::MemArgTarget::Memory(SHADOW),
            ..memarg
        })
    }
}

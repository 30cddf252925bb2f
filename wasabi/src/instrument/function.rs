//! Instrumentation of one function body, streamed operator by operator.
//!
//! Each body is walked twice with the same code: a survey pass validates it and learns which
//! low-level hooks and block ends exist (hook imports must be numbered before any call to them
//! is written); an emit pass then writes the instrumented body. Types come from the module's
//! declarations, from the opcode (its types learnt from wasmparser's validator where it is
//! first seen) and, for the few operands only a type stack knows, from the validator in the
//! survey, whose answers the emit pass replays; so the instrumenter never re-implements type
//! checking.

use super::info::{BlockNode, BrTableInfo, EndedBlock, Location, ResolvedLabel};
use super::lowlevel::{BlockKind, HookKey, Kind, Ty, TypeList, family_hook, is_polymorphic};
use super::ops::{Family, OpId, Signature, fixed_types, memarg_and_lane, remember_fixed_types};
use super::temps::Temps;
use crate::hooks::{Hook, HookSet};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use wasm_encoder::{BlockType, HeapType, InstructionSink, ValType};
use wasmparser::{
    BinaryReaderError, FuncToValidate, FuncValidator, FunctionBody, Operator, OperatorsReader,
    ValidatorResources,
};

type Result<T> = std::result::Result<T, BinaryReaderError>;

/// What every function's instrumentation shares.
pub struct Context<'a> {
    /// The original module, for copying instructions that need no change.
    pub bytes: &'a [u8],
    pub hooks: &'a HookSet,
    pub features: wasmparser::WasmFeatures,
    pub start: Option<u32>,
    /// Global that is 1 until the start function has begun (for the start hook).
    pub start_flag: Option<u32>,
    pub types: TypeTables,
}

/// The module's types, so the emit pass knows every value's type without a validator.
pub struct TypeTables {
    /// Parameters and results per type index.
    pub signatures: Vec<(TypeList, TypeList)>,
    /// Type index per function (imports first).
    pub functions: Vec<u32>,
    pub globals: Vec<Ty>,
    pub tables: Vec<Ty>,
}

impl TypeTables {
    pub fn of_function(&self, function: u32) -> &(TypeList, TypeList) {
        &self.signatures[self.functions[function as usize] as usize]
    }
}

/// The difference between the survey and the emit pass.
pub trait Pass {
    const EMIT: bool;
    /// Function index of the low-level hook for `key` (the survey records the key).
    fn hook(&mut self, key: HookKey) -> u32;
    /// The same for an instruction whose value types follow from its opcode alone: the hot
    /// path, looked up by opcode instead of by hashed key.
    fn op_hook(&mut self, id: OpId, types: impl FnOnce() -> TypeList) -> u32;
    /// The same for local and global instructions, whose hooks differ only by value type.
    fn variable_hook(&mut self, id: OpId, ty: Ty) -> u32;
    /// New index of a function of the original module.
    fn function(&self, original: u32) -> u32;
    /// Numbers a block in order of appearance and returns its end instruction, if known.
    fn open_block(&mut self) -> (u32, u32);
    fn close_block(&mut self, ordinal: u32, end: u32);
    /// Index of a `br_table` in the module info.
    fn br_table(&mut self, info: impl FnOnce() -> BrTableInfo) -> u32;
    /// Type of the operand of a `drop`, untyped `select` or `ref.is_null`: only the validator
    /// (survey) knows it; the emit pass replays the survey's answers in order.
    fn site_type(&mut self, from_validator: Option<Ty>) -> Ty;
    /// Records a block (or the else part of an if) in the function's block table.
    fn block_node(&mut self, node: impl FnOnce() -> BlockNode);
    fn finish(&mut self, _instr_count: u32) {}
}

/// Survey pass: which hooks a function needs, where its blocks end, how many `br_table`s it has.
pub struct Survey {
    pub hooks: FxHashSet<HookKey>,
    /// Opcodes (and opcode × type for variables) already recorded: most instructions repeat
    /// one seen before, and a bit test is cheaper than hashing their key. Freed after the walk.
    seen_ops: Vec<u64>,
    seen_variables: Vec<u64>,
    pub site_types: Vec<Ty>,
    pub block_ends: Vec<u32>,
    pub br_tables: u32,
    pub instr_count: u32,
}

impl Default for Survey {
    fn default() -> Self {
        Survey {
            hooks: FxHashSet::default(),
            seen_ops: vec![0; OpId::COUNT.div_ceil(64)],
            seen_variables: vec![0; (OpId::COUNT * Ty::COUNT).div_ceil(64)],
            site_types: Vec::new(),
            block_ends: Vec::new(),
            br_tables: 0,
            instr_count: 0,
        }
    }
}

impl Pass for Survey {
    const EMIT: bool = false;

    fn hook(&mut self, key: HookKey) -> u32 {
        self.hooks.insert(key);
        0
    }

    fn op_hook(&mut self, id: OpId, types: impl FnOnce() -> TypeList) -> u32 {
        if first_time(&mut self.seen_ops, id as usize) {
            self.hooks.insert(HookKey { kind: Kind::Op(id), types: types() });
        }
        0
    }

    fn variable_hook(&mut self, id: OpId, ty: Ty) -> u32 {
        if first_time(&mut self.seen_variables, variable_slot(id, ty)) {
            self.hooks.insert(HookKey::with_types(Kind::Op(id), [ty]));
        }
        0
    }

    fn function(&self, original: u32) -> u32 {
        original
    }

    fn open_block(&mut self) -> (u32, u32) {
        self.block_ends.push(u32::MAX);
        (self.block_ends.len() as u32 - 1, u32::MAX)
    }

    fn close_block(&mut self, ordinal: u32, end: u32) {
        self.block_ends[ordinal as usize] = end;
    }

    fn br_table(&mut self, _: impl FnOnce() -> BrTableInfo) -> u32 {
        self.br_tables += 1;
        0
    }

    fn block_node(&mut self, _: impl FnOnce() -> BlockNode) {}

    fn site_type(&mut self, from_validator: Option<Ty>) -> Ty {
        let ty = from_validator.expect("the survey validates");
        self.site_types.push(ty);
        ty
    }

    fn finish(&mut self, instr_count: u32) {
        self.instr_count = instr_count;
        self.seen_ops = Vec::new();
        self.seen_variables = Vec::new();
    }
}

/// Emit pass, with everything the survey of the whole module decided.
pub struct Emit<'m> {
    pub hook_indices: &'m FxHashMap<HookKey, u32>,
    /// Hook index per opcode, for the opcodes whose types are fixed.
    pub op_hooks: &'m [u32],
    /// Hook index per (opcode, value type) for local and global instructions.
    pub variable_hooks: &'m [u32],
    pub imported_functions: u32,
    pub hook_count: u32,
    pub block_ends: &'m [u32],
    pub next_block: usize,
    pub site_types: std::slice::Iter<'m, Ty>,
    pub first_br_table: u32,
    pub br_tables: Vec<BrTableInfo>,
    pub block_nodes: Vec<BlockNode>,
}

impl Pass for Emit<'_> {
    const EMIT: bool = true;

    fn hook(&mut self, key: HookKey) -> u32 {
        self.hook_indices[&key]
    }

    fn op_hook(&mut self, id: OpId, _: impl FnOnce() -> TypeList) -> u32 {
        self.op_hooks[id as usize]
    }

    fn variable_hook(&mut self, id: OpId, ty: Ty) -> u32 {
        self.variable_hooks[variable_slot(id, ty)]
    }

    fn function(&self, original: u32) -> u32 {
        if original < self.imported_functions { original } else { original + self.hook_count }
    }

    fn open_block(&mut self) -> (u32, u32) {
        let ordinal = self.next_block;
        self.next_block += 1;
        (ordinal as u32, self.block_ends[ordinal])
    }

    fn close_block(&mut self, _: u32, _: u32) {}

    fn br_table(&mut self, info: impl FnOnce() -> BrTableInfo) -> u32 {
        self.br_tables.push(info());
        self.first_br_table + self.br_tables.len() as u32 - 1
    }

    fn block_node(&mut self, node: impl FnOnce() -> BlockNode) {
        self.block_nodes.push(node());
    }

    fn site_type(&mut self, _: Option<Ty>) -> Ty {
        *self.site_types.next().expect("the survey saw the same sites")
    }
}

/// Byte ranges in `Walker::template_bytes`: the saves of the inputs (before the instruction),
/// then those of the outputs and the function half of the location, then (after the
/// instruction's index and immediates) the pushes of the values and the call.
#[derive(Clone, Copy)]
struct Template {
    start: u32,
    inputs_saved: u32,
    location: u32,
    end: u32,
}

#[derive(Clone, Copy)]
struct Block {
    kind: BlockKind,
    begin: u32,
    end: u32,
    else_begin: u32,
    ordinal: u32,
    /// This block's entry in the block table (the else part has its own), and its parent's.
    node: u32,
    parent_node: i64,
    /// Code after an unconditional branch up to the end of the block (or else) never runs and
    /// has a polymorphic stack: it is copied without instrumentation.
    unreachable: bool,
}

impl Block {
    fn ended(&self) -> EndedBlock {
        let (begin, end) = (self.begin, self.end);
        match self.kind {
            BlockKind::Function => EndedBlock::Function { end },
            BlockKind::Block => EndedBlock::Block { begin, end },
            BlockKind::Loop => EndedBlock::Loop { begin, end },
            BlockKind::If => EndedBlock::If { begin, end },
            BlockKind::Else => EndedBlock::Else { else_begin: self.else_begin, end, if_begin: begin },
        }
    }

    /// Where a branch to this block continues.
    fn target(&self) -> u32 {
        if self.kind == BlockKind::Loop { self.begin } else { self.end }
    }
}

pub struct Walker<'c, 'a, P: Pass> {
    cx: &'c Context<'a>,
    pub pass: P,
    /// Only in the survey pass: validates the body and types operands.
    validator: Option<FuncValidator<ValidatorResources>>,
    /// Index of this function in the original module.
    func: u32,
    results: TypeList,
    /// Parameters and declared locals.
    locals: Vec<Ty>,
    /// A local holding this function's index, when reading it is shorter than the constant.
    func_local: Option<u32>,
    code: Vec<u8>,
    temps: Temps,
    /// Emit pass: per opcode with fixed types, its template in `template_bytes`, if built.
    templates: Vec<Option<Template>>,
    template_bytes: Vec<u8>,
    blocks: Vec<Block>,
    nodes: u32,
    instr: u32,
}

/// An instrumented body: locals and code, as in a code section entry.
pub type EncodedBody = Vec<u8>;

impl<'c, 'a, P: Pass> Walker<'c, 'a, P> {
    pub fn run(
        cx: &'c Context<'a>,
        pass: P,
        body: &FunctionBody<'a>,
        func: FuncToValidate<ValidatorResources>,
    ) -> Result<(P, EncodedBody)> {
        let func_index = func.index;
        let (params, results) = cx.types.of_function(func_index).clone();
        let mut validator = (!P::EMIT).then(|| func.into_validator(Default::default()));
        let mut declarations = Vec::new();
        let mut locals: Vec<Ty> = params.to_vec();
        let mut locals_reader = body.get_locals_reader()?;
        for _ in 0..locals_reader.get_count() {
            let offset = locals_reader.original_position();
            let (count, ty) = locals_reader.read()?;
            if let Some(validator) = &mut validator {
                validator.define_locals(offset, count, ty)?;
            }
            let ty = Ty::from_parser(ty).unwrap_or(Ty::I32);
            declarations.push((count, ty.val_type()));
            locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        let func_local = shorter_as_local(func_index, locals.len() as u32);
        let mut walker = Walker {
            cx,
            pass,
            validator,
            func: func_index,
            results,
            // With all hooks a body grows about 8x; growing the buffer would copy it.
            code: Vec::with_capacity(if P::EMIT {
                (body.range().end - body.range().start) as usize * 10
            } else {
                0
            }),
            temps: Temps::new(locals.len() as u32 + func_local.is_some() as u32),
            func_local,
            locals,
            blocks: Vec::new(),
            nodes: 0,
            instr: 0,
            templates: if P::EMIT { vec![None; OpId::COUNT] } else { Vec::new() },
            template_bytes: Vec::new(),
        };
        walker.prologue();
        let mut binary = body.get_binary_reader_for_operators()?;
        binary.set_features(cx.features);
        let mut reader = OperatorsReader::new(binary);
        while !reader.eof() {
            let offset = reader.original_position();
            let op = reader.read()?;
            walker.step(offset, reader.original_position(), op)?;
        }
        reader.finish()?;
        walker.pass.finish(walker.instr);
        if !P::EMIT {
            return Ok((walker.pass, Vec::new()));
        }
        if walker.func_local.is_some() {
            declarations.push((1, ValType::I32));
        }
        declarations.extend(walker.temps.declarations());
        let mut function = wasm_encoder::Function::new(declarations);
        function.raw(walker.code.iter().copied());
        Ok((walker.pass, function.into_raw_body()))
    }

    fn enabled(&self, hook: Hook) -> bool {
        self.cx.hooks.contains(hook)
    }

    fn sink(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(&mut self.code)
    }

    fn prologue(&mut self) {
        if let (Some(local), true) = (self.func_local, P::EMIT) {
            let func = self.func as i32;
            self.sink().i32_const(func).local_set(local);
        }
        let (ordinal, end) = self.pass.open_block();
        let function = Block {
            kind: BlockKind::Function,
            begin: 0,
            end,
            else_begin: 0,
            ordinal,
            node: 0,
            parent_node: -1,
            unreachable: false,
        };
        self.add_node(function);
        self.blocks.push(function);
        if self.cx.start == Some(self.func) && self.enabled(Hook::Start) {
            let hook = self.pass.hook(HookKey::new(Kind::Start));
            let flag = self.cx.start_flag.expect("start hook needs its flag global");
            // Only the first run is the start; the function may also be called later.
            if P::EMIT {
                self.sink().global_get(flag).if_(BlockType::Empty).i32_const(0).global_set(flag);
            }
            self.location_at(-1);
            self.call(hook);
            if P::EMIT {
                self.sink().end();
            }
        }
        if self.enabled(Hook::Begin) {
            let hook = self.pass.hook(HookKey::new(Kind::Begin(BlockKind::Function)));
            self.location_at(-1);
            self.call(hook);
        }
    }

    fn step(&mut self, offset: u64, end: u64, op: Operator<'a>) -> Result<()> {
        let live = !self.blocks.last().is_some_and(|block| block.unreachable);
        self.temps.release_all();
        let id = OpId::of(&op);
        let family = id.info().family;
        if family == Family::Control {
            // Before labels and indices are used: in an invalid body they may not exist.
            self.validate(offset, &op)?;
            self.control(&op, offset, end, live)?;
        } else if live && family != Family::Unsupported && self.enabled(family_hook(family)) {
            self.value_op(id, &op, offset, end)?;
        } else {
            self.validate(offset, &op)?;
            self.copy(&op, offset, end);
        }
        self.instr += 1;
        Ok(())
    }

    /// Writes the original instruction; only function indices change.
    fn copy(&mut self, op: &Operator, start: u64, end: u64) {
        if !P::EMIT {
            return;
        }
        match *op {
            Operator::Call { function_index } => {
                let index = self.pass.function(function_index);
                self.sink().call(index);
            }
            Operator::RefFunc { function_index } => {
                let index = self.pass.function(function_index);
                self.sink().ref_func(index);
            }
            _ => self.code.extend_from_slice(&self.cx.bytes[start as usize..end as usize]),
        }
    }

    fn location(&mut self) {
        self.location_at(self.instr as i32);
    }

    fn location_at(&mut self, instr: i32) {
        if P::EMIT {
            self.location_func();
            self.sink().i32_const(instr);
        }
    }

    /// The first half of a location, the same at every site of the function.
    fn location_func(&mut self) {
        let func = self.func as i32;
        match self.func_local {
            Some(local) => self.sink().local_get(local),
            None => self.sink().i32_const(func),
        };
    }

    fn call(&mut self, function: u32) {
        if P::EMIT {
            self.sink().call(function);
        }
    }

    fn i32_consts(&mut self, values: &[i32]) {
        if P::EMIT {
            for &value in values {
                self.sink().i32_const(value);
            }
        }
    }

    fn immediates(&mut self, op: &Operator, family: Family) {
        if P::EMIT {
            self.i32_consts(&immediates(op, family));
        }
    }

    fn validate(&mut self, offset: u64, op: &Operator<'a>) -> Result<()> {
        match &mut self.validator {
            Some(validator) => validator.op(offset, op),
            None => Ok(()),
        }
    }

    fn mark_unreachable(&mut self) {
        self.blocks.last_mut().expect("inside the function block").unreachable = true;
    }

    /// Input and output types of an instruction whose types follow from its opcode (and
    /// validates it, in the survey); the validator's type stack is read at the first
    /// instruction of each opcode only.
    fn fixed_types(&mut self, id: OpId, op: &Operator<'a>, offset: u64) -> Result<&'static Signature> {
        let Some(validator) = &mut self.validator else {
            return Ok(fixed_types(id).expect("the survey saw this operator first"));
        };
        if let Some(types) = fixed_types(id) {
            validator.op(offset, op)?;
            return Ok(types);
        }
        let (pops, pushes) = op.operator_arity(&*validator).unwrap_or((0, 0));
        let inputs = stack_types(validator, pops as usize);
        validator.op(offset, op)?;
        let inputs = inputs.expect(TYPED);
        let outputs = stack_types(validator, pushes as usize).expect(TYPED);
        Ok(remember_fixed_types(id, inputs, outputs))
    }

    /// Input and output types of a polymorphic instruction (and validates it, in the survey).
    /// The validator's type stack is read only where the declarations cannot tell: at the sites
    /// of [`needs_site_type`].
    fn polymorphic_types(&mut self, id: OpId, op: &Operator<'a>, offset: u64) -> Result<Signature> {
        let Some(validator) = &mut self.validator else { return Ok(self.known_types(id, op, None)) };
        let site = needs_site_type(op).then(|| site_operand(validator, op));
        validator.op(offset, op)?;
        let site = site.map(|ty| ty.expect(TYPED));
        Ok(self.known_types(id, op, site))
    }

    /// Types of a polymorphic instruction other than `local.*` and `global.*`, from the
    /// module's declarations, the operator's immediates, and the survey's answers for the few
    /// sites only a type stack knows (`site`, from the validator in the survey).
    fn known_types(&mut self, id: OpId, op: &Operator<'a>, site: Option<Ty>) -> (TypeList, TypeList) {
        use Ty::I32;
        let list = |types: &[Ty]| TypeList::from_slice(types);
        let cx = self.cx;
        match *op {
            Operator::TableGet { table } => (list(&[I32]), list(&[cx.types.tables[table as usize]])),
            Operator::TableSet { table } => (list(&[I32, cx.types.tables[table as usize]]), list(&[])),
            Operator::TableGrow { table } => (list(&[cx.types.tables[table as usize], I32]), list(&[I32])),
            Operator::TableFill { table } => (list(&[I32, cx.types.tables[table as usize], I32]), list(&[])),
            Operator::RefNull { hty } => (list(&[]), list(&[heap_type(hty)])),
            Operator::TypedSelect { ty } => {
                let ty = Ty::from_parser(ty).unwrap_or(I32);
                (list(&[ty, ty, I32]), list(&[ty]))
            }
            Operator::RefIsNull => (list(&[self.pass.site_type(site)]), list(&[I32])),
            Operator::Drop => (list(&[self.pass.site_type(site)]), list(&[])),
            Operator::Select => {
                let ty = self.pass.site_type(site);
                (list(&[ty, ty, I32]), list(&[ty]))
            }
            _ => unreachable!("{} has its own types", id.info().mnemonic),
        }
    }

    /// Moves the top values into fresh temps and pushes them back; returns the temps.
    /// The bottom value is stored with `local.tee` (a set directly followed by a get).
    fn save(&mut self, types: &[Ty]) -> SmallVec<[u32; 6]> {
        let temps: SmallVec<[u32; 6]> = types.iter().map(|&ty| self.temps.fresh(ty)).collect();
        if let (Some((&bottom, above)), true) = (temps.split_first(), P::EMIT) {
            for &temp in above.iter().rev() {
                self.sink().local_set(temp);
            }
            self.sink().local_tee(bottom);
            for &temp in above {
                self.sink().local_get(temp);
            }
        }
        temps
    }

    /// Pushes saved values as hook arguments; v128 as four i32 lanes.
    fn push_values(&mut self, temps: &[u32], types: &[Ty]) {
        if !P::EMIT {
            return;
        }
        for (&temp, &ty) in temps.iter().zip(types) {
            if ty == Ty::V128 {
                for lane in 0..4 {
                    self.sink().local_get(temp).i32x4_extract_lane(lane);
                }
            } else {
                self.sink().local_get(temp);
            }
        }
    }

    fn value_op(&mut self, id: OpId, op: &Operator<'a>, offset: u64, end: u64) -> Result<()> {
        let family = id.info().family;
        if matches!(family, Family::Local | Family::Global) {
            return self.variable_op(id, op, offset, end);
        }
        if is_polymorphic(family) {
            return self.polymorphic_op(id, op, offset, end);
        }
        if let Some(template) = self.templates.get(id as usize).copied().flatten() {
            self.apply(template, op, family, offset, end);
            return Ok(());
        }
        let (inputs, outputs) = self.fixed_types(id, op, offset)?;
        let hook = self.pass.op_hook(id, || inputs.iter().chain(outputs).copied().collect());
        if !P::EMIT {
            return Ok(());
        }
        if family == Family::Const && outputs[0] != Ty::V128 {
            // The constant itself is the value: repeat it instead of copying it through a local
            // (but v128 must reach the hook as lanes).
            self.copy(op, offset, end);
            self.location();
            self.copy(op, offset, end);
            self.call(hook);
        } else {
            let template = self.template(inputs, outputs, hook);
            self.templates[id as usize] = Some(template);
            self.apply(template, op, family, offset, end);
        }
        Ok(())
    }

    /// `local.*` and `global.*`: the hook takes one value, whether read or written (a tee's
    /// input and output are the same), read again after the instruction: no copy needed.
    fn variable_op(&mut self, id: OpId, op: &Operator<'a>, offset: u64, end: u64) -> Result<()> {
        // Before the index is used: in an invalid body it may not exist.
        self.validate(offset, op)?;
        let (index, ty) = match *op {
            Operator::LocalGet { local_index }
            | Operator::LocalSet { local_index }
            | Operator::LocalTee { local_index } => (local_index, self.locals[local_index as usize]),
            Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
                (global_index, self.cx.types.globals[global_index as usize])
            }
            _ => unreachable!("{} is not a variable instruction", id.info().mnemonic),
        };
        let hook = self.pass.variable_hook(id, ty);
        self.copy(op, offset, end);
        self.location();
        self.i32_consts(&[index as i32]);
        self.read_again(op, ty);
        self.call(hook);
        Ok(())
    }

    fn polymorphic_op(&mut self, id: OpId, op: &Operator<'a>, offset: u64, end: u64) -> Result<()> {
        let family = id.info().family;
        let (inputs, outputs) = self.polymorphic_types(id, op, offset)?;
        let types = inputs.iter().chain(&outputs).copied().collect();
        let hook = self.pass.hook(HookKey { kind: Kind::Op(id), types });
        if !P::EMIT {
            return Ok(());
        }
        match family {
            // Storing to the temp is the drop.
            Family::Drop => {
                let temp = self.temps.fresh(inputs[0]);
                if P::EMIT {
                    self.sink().local_set(temp);
                }
                self.location();
                self.push_values(&[temp], &inputs);
                self.call(hook);
            }
            _ => {
                let input_temps = self.save(&inputs);
                self.copy(op, offset, end);
                let output_temps = self.save(&outputs);
                self.location();
                self.immediates(op, family);
                self.push_values(&input_temps, &inputs);
                self.push_values(&output_temps, &outputs);
                self.call(hook);
            }
        }
        Ok(())
    }

    /// The instrumentation of an instruction whose types follow from its opcode, but for the
    /// instruction itself, its location and immediates: temps are taken in the same order at
    /// every site, so the saves, pushes and call are the same bytes every time.
    fn template(&mut self, inputs: &[Ty], outputs: &[Ty], hook: u32) -> Template {
        let code = std::mem::replace(&mut self.code, std::mem::take(&mut self.template_bytes));
        let start = self.code.len() as u32;
        let input_temps = self.save(inputs);
        let inputs_saved = self.code.len() as u32;
        let output_temps = self.save(outputs);
        self.location_func();
        let location = self.code.len() as u32;
        self.push_values(&input_temps, inputs);
        self.push_values(&output_temps, outputs);
        self.call(hook);
        let end = self.code.len() as u32;
        self.template_bytes = std::mem::replace(&mut self.code, code);
        Template { start, inputs_saved, location, end }
    }

    fn apply(&mut self, template: Template, op: &Operator<'a>, family: Family, offset: u64, end: u64) {
        let Template { start, inputs_saved, location, end: template_end } = template;
        self.code.extend_from_slice(&self.template_bytes[start as usize..inputs_saved as usize]);
        self.copy(op, offset, end);
        self.code.extend_from_slice(&self.template_bytes[inputs_saved as usize..location as usize]);
        let instr = self.instr as i32;
        self.sink().i32_const(instr);
        self.immediates(op, family);
        self.code.extend_from_slice(&self.template_bytes[location as usize..template_end as usize]);
    }

    /// Pushes the value a local or global instruction read or wrote, by reading it again.
    fn read_again(&mut self, op: &Operator<'a>, ty: Ty) {
        if !P::EMIT {
            return;
        }
        let lanes = if ty == Ty::V128 { 4 } else { 1 };
        for lane in 0..lanes {
            let mut sink = self.sink();
            match *op {
                Operator::LocalGet { local_index }
                | Operator::LocalSet { local_index }
                | Operator::LocalTee { local_index } => sink.local_get(local_index),
                Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
                    sink.global_get(global_index)
                }
                _ => unreachable!("only variable instructions are read again"),
            };
            if ty == Ty::V128 {
                sink.i32x4_extract_lane(lane);
            }
        }
    }

    fn control(&mut self, op: &Operator<'a>, offset: u64, end: u64, live: bool) -> Result<()> {
        match *op {
            Operator::Unreachable => {
                if live && self.enabled(Hook::Unreachable) {
                    let hook = self.pass.hook(HookKey::new(Kind::Unreachable));
                    self.location();
                    self.call(hook);
                }
                self.copy(op, offset, end);
                self.mark_unreachable();
            }
            Operator::Nop => {
                if live && self.enabled(Hook::Nop) {
                    let hook = self.pass.hook(HookKey::new(Kind::Nop));
                    self.location();
                    self.call(hook);
                } else {
                    self.copy(op, offset, end);
                }
            }
            Operator::Block { .. } => self.open(op, offset, end, BlockKind::Block)?,
            Operator::Loop { .. } => self.open(op, offset, end, BlockKind::Loop)?,
            Operator::If { .. } => {
                if live && self.enabled(Hook::If) {
                    let hook = self.pass.hook(HookKey::with_types(Kind::If, [Ty::I32]));
                    let condition = self.save(&[Ty::I32]);
                    self.location();
                    self.push_values(&condition, &[Ty::I32]);
                    self.call(hook);
                }
                self.open(op, offset, end, BlockKind::If)?;
            }
            Operator::Else => {
                let block = *self.blocks.last().expect("validated: else inside if");
                if live && self.enabled(Hook::End) {
                    self.end_hook(&block, self.instr);
                }
                self.copy(op, offset, end);
                let top = self.blocks.last_mut().expect("validated: else inside if");
                top.unreachable = false;
                top.kind = BlockKind::Else;
                top.else_begin = self.instr;
                top.node = self.nodes;
                let else_part = *top;
                self.add_node(else_part);
                if self.enabled(Hook::Begin) {
                    let hook = self.pass.hook(HookKey::new(Kind::Begin(BlockKind::Else)));
                    self.location();
                    self.i32_consts(&[block.begin as i32]);
                    self.call(hook);
                }
            }
            Operator::End => {
                let block = *self.blocks.last().expect("validated: end closes a block");
                if live && block.kind == BlockKind::Function && self.enabled(Hook::Return) {
                    self.return_hook(-1);
                }
                if live && self.enabled(Hook::End) {
                    self.end_hook(&block, self.instr);
                }
                self.copy(op, offset, end);
                self.blocks.pop();
                self.pass.close_block(block.ordinal, self.instr);
            }
            Operator::Br { relative_depth } => {
                if live {
                    self.br_hook(Kind::Br, relative_depth, None);
                    self.end_hooks_for_branch(relative_depth);
                }
                self.copy(op, offset, end);
                self.mark_unreachable();
            }
            Operator::BrIf { relative_depth } => {
                if live {
                    self.br_if(relative_depth);
                }
                self.copy(op, offset, end);
            }
            Operator::BrTable { ref targets } => {
                if live && self.enabled(Hook::BrTable) {
                    self.br_table_hook(targets)?;
                }
                self.copy(op, offset, end);
                self.mark_unreachable();
            }
            Operator::Return => {
                if live {
                    if self.enabled(Hook::Return) {
                        self.return_hook(self.instr as i32);
                    }
                    self.end_hooks_for_branch(self.blocks.len() as u32 - 1);
                }
                self.copy(op, offset, end);
                self.mark_unreachable();
            }
            Operator::Call { function_index } => self.call_op(op, offset, end, live, Some(function_index))?,
            Operator::CallIndirect { .. } => self.call_op(op, offset, end, live, None)?,
            _ => unreachable!("{:?} is not a control instruction", OpId::of(op)),
        }
        Ok(())
    }

    fn open(&mut self, op: &Operator<'a>, offset: u64, end: u64, kind: BlockKind) -> Result<()> {
        self.copy(op, offset, end);
        let (ordinal, block_end) = self.pass.open_block();
        let parent_node = self.blocks.last().map_or(-1, |parent| parent.node as i64);
        let block = Block {
            kind,
            begin: self.instr,
            end: block_end,
            else_begin: 0,
            ordinal,
            node: self.nodes,
            parent_node,
            unreachable: false,
        };
        self.add_node(block);
        self.blocks.push(block);
        if self.enabled(Hook::Begin) {
            let hook = self.pass.hook(HookKey::new(Kind::Begin(kind)));
            self.location();
            self.call(hook);
        }
        Ok(())
    }

    fn add_node(&mut self, block: Block) {
        self.nodes += 1;
        self.pass.block_node(|| BlockNode { block: block.ended(), parent: block.parent_node });
    }

    /// The `end` hook of `block`, reported at instruction `at`.
    fn end_hook(&mut self, block: &Block, at: u32) {
        let hook = self.pass.hook(HookKey::new(Kind::End(block.kind)));
        self.location_at(at as i32);
        match block.kind {
            BlockKind::Function => {}
            BlockKind::Else => self.i32_consts(&[block.else_begin as i32, block.begin as i32]),
            _ => self.i32_consts(&[block.begin as i32]),
        }
        self.call(hook);
    }

    /// How many blocks a branch to `label` leaves, from the innermost outwards: all up to the
    /// target, which is left too unless it is a loop (re-entered, not left).
    fn left_blocks(&self, label: u32) -> u32 {
        label + 1 - (self.target_block(label).kind == BlockKind::Loop) as u32
    }

    fn target_block(&self, label: u32) -> Block {
        self.blocks[self.blocks.len() - 1 - label as usize]
    }

    /// A branch out of many nested blocks would need one call per block at every branch, which
    /// is quadratic in the nesting depth (state machines branch out of hundreds of blocks), so
    /// from two blocks on one hook reports them all by walking the function's block table.
    fn end_hooks_for_branch(&mut self, label: u32) {
        if !self.enabled(Hook::End) {
            return;
        }
        let left = self.left_blocks(label);
        let innermost = *self.blocks.last().expect("inside the function block");
        if left == 1 {
            self.end_hook(&innermost, innermost.end);
        } else if left > 1 {
            let hook = self.pass.hook(HookKey::new(Kind::EndBlocks));
            self.location();
            self.i32_consts(&[innermost.node as i32, left as i32]);
            self.call(hook);
        }
    }

    fn br_hook(&mut self, kind: Kind, label: u32, condition: Option<u32>) {
        let hook = if kind == Kind::BrIf { Hook::BrIf } else { Hook::Br };
        if !self.enabled(hook) {
            return;
        }
        let types: &[Ty] = if condition.is_some() { &[Ty::I32] } else { &[] };
        let hook = self.pass.hook(HookKey::with_types(kind, types.iter().copied()));
        self.location();
        let target = self.target_block(label).target();
        self.i32_consts(&[label as i32, target as i32]);
        if let Some(condition) = condition {
            self.push_values(&[condition], &[Ty::I32]);
        }
        self.call(hook);
    }

    fn br_if(&mut self, label: u32) {
        let ends = self.enabled(Hook::End) && self.left_blocks(label) > 0;
        if !self.enabled(Hook::BrIf) && !ends {
            return;
        }
        let condition = self.save(&[Ty::I32])[0];
        self.br_hook(Kind::BrIf, label, Some(condition));
        if ends {
            // The blocks are left only when the branch is taken.
            if P::EMIT {
                self.sink().local_get(condition).if_(BlockType::Empty);
            }
            self.end_hooks_for_branch(label);
            if P::EMIT {
                self.sink().end();
            }
        }
    }

    fn br_table_hook(&mut self, targets: &wasmparser::BrTable<'a>) -> Result<()> {
        let labels = targets.targets().collect::<Result<Vec<u32>>>()?;
        let default = targets.default();
        let resolve = |walker: &Self, label: u32| ResolvedLabel {
            label,
            location: Location { func: walker.func, instr: walker.target_block(label).target() as i64 },
            ends: walker.left_blocks(label),
        };
        let info = || BrTableInfo {
            table: labels.iter().map(|&label| resolve(self, label)).collect(),
            default: resolve(self, default),
            node: self.blocks.last().expect("inside the function block").node,
        };
        let info = if P::EMIT { Some(info()) } else { None };
        let index = self.pass.br_table(|| info.expect("emit pass resolves br_table targets"));
        let hook = self.pass.hook(HookKey::with_types(Kind::BrTable, [Ty::I32]));
        let selector = self.save(&[Ty::I32]);
        self.location();
        self.i32_consts(&[index as i32]);
        self.push_values(&selector, &[Ty::I32]);
        self.call(hook);
        Ok(())
    }

    /// The `return_` hook with the values the function returns; `at` is -1 for the implicit
    /// return at the end of the body.
    fn return_hook(&mut self, at: i32) {
        let results = self.results.clone();
        let hook = self.pass.hook(HookKey { kind: Kind::Return, types: results.clone() });
        let temps = self.save(&results);
        self.location_at(at);
        self.push_values(&temps, &results);
        self.call(hook);
    }

    fn call_op(
        &mut self,
        op: &Operator<'a>,
        offset: u64,
        end: u64,
        live: bool,
        direct: Option<u32>,
    ) -> Result<()> {
        let (pre, post) = (live && self.enabled(Hook::CallPre), live && self.enabled(Hook::CallPost));
        if !pre && !post {
            self.copy(op, offset, end);
            return Ok(());
        }
        let (mut inputs, outputs) = match *op {
            Operator::CallIndirect { type_index, .. } => {
                self.cx.types.signatures[type_index as usize].clone()
            }
            _ => self.cx.types.of_function(direct.expect("a direct call")).clone(),
        };
        if direct.is_none() {
            inputs.push(Ty::I32);
        }
        if pre {
            match direct {
                Some(target) => self.call_pre(target, &inputs),
                None => self.call_indirect_pre(op, &inputs),
            }
        }
        self.copy(op, offset, end);
        if post {
            let hook = self.pass.hook(HookKey { kind: Kind::CallPost, types: outputs.clone() });
            let temps = self.save(&outputs);
            self.location();
            self.push_values(&temps, &outputs);
            self.call(hook);
        }
        Ok(())
    }

    fn call_pre(&mut self, target: u32, args: &[Ty]) {
        let hook = self.pass.hook(HookKey::with_types(Kind::CallPre, args.iter().copied()));
        let temps = self.save(args);
        self.location();
        self.i32_consts(&[target as i32]);
        self.push_values(&temps, args);
        self.call(hook);
    }

    /// Reports the called function by reference (the runtime maps it to its index) and the
    /// table slot; a slot out of bounds is reported as null and the call then traps as before.
    fn call_indirect_pre(&mut self, op: &Operator<'a>, inputs: &[Ty]) {
        let Operator::CallIndirect { table_index, .. } = *op else { unreachable!() };
        let args = &inputs[..inputs.len() - 1];
        let hook = self.pass.hook(HookKey::with_types(Kind::CallIndirectPre, args.iter().copied()));
        let temps = self.save(inputs);
        let slot = temps[temps.len() - 1];
        self.location();
        if P::EMIT {
            let funcref = BlockType::Result(ValType::Ref(wasm_encoder::RefType::FUNCREF));
            self.sink().local_get(slot).table_size(table_index).i32_lt_u().if_(funcref);
            self.sink().local_get(slot).table_get(table_index).else_().ref_null(HeapType::FUNC).end();
            self.sink().local_get(slot).i32_const(table_index as i32);
        }
        self.push_values(&temps[..temps.len() - 1], args);
        self.call(hook);
    }
}

/// Sets bit `index`; whether it was clear.
fn first_time(bits: &mut [u64], index: usize) -> bool {
    let (word, bit) = (index / 64, 1u64 << (index % 64));
    let first = bits[word] & bit == 0;
    bits[word] |= bit;
    first
}

pub fn variable_slot(id: OpId, ty: Ty) -> usize {
    id as usize * Ty::COUNT + ty as usize
}

/// Types of the top `count` operands, bottom first. In reachable code of a valid body the
/// validator knows every type; `None` if an operand is missing (the body is invalid).
fn stack_types(validator: &FuncValidator<ValidatorResources>, count: usize) -> Option<TypeList> {
    (0..count)
        .rev()
        .map(|depth| validator.get_operand_type(depth).flatten().and_then(Ty::from_parser))
        .collect()
}

/// Operands are missing only in an invalid body, which the validator refuses right after.
const TYPED: &str = "a valid instruction in reachable code has typed operands";

/// Instructions whose operand type only a type stack tells.
fn needs_site_type(op: &Operator) -> bool {
    matches!(op, Operator::Drop | Operator::Select | Operator::RefIsNull)
}

/// Type of the operand that [`needs_site_type`] asks for: the first of a `select`'s values,
/// the only operand of the others. `None` if missing (the body is invalid).
fn site_operand(validator: &FuncValidator<ValidatorResources>, op: &Operator) -> Option<Ty> {
    let depth = if matches!(op, Operator::Select) { 2 } else { 0 };
    validator.get_operand_type(depth).flatten().and_then(Ty::from_parser)
}

fn heap_type(heap_type: wasmparser::HeapType) -> Ty {
    let nullable = wasmparser::RefType::new(true, heap_type).expect("a Wasm 2.0 reference type");
    Ty::from_parser(wasmparser::ValType::Ref(nullable)).unwrap_or(Ty::FuncRef)
}

/// Whether `local.get` of a local right after `locals` is shorter than `i32.const func`.
fn shorter_as_local(func: u32, locals: u32) -> Option<u32> {
    use wasm_encoder::Encode;
    let (mut constant, mut local) = (Vec::new(), Vec::new());
    (func as i32).encode(&mut constant);
    locals.encode(&mut local);
    (local.len() < constant.len()).then_some(locals)
}

/// The constant arguments of a value hook, in the order `HookKey::immediates` names them.
fn immediates(op: &Operator, family: Family) -> SmallVec<[i32; 4]> {
    let mut values = SmallVec::new();
    let (memarg, lane) = match family {
        Family::Const
        | Family::Unary
        | Family::Binary
        | Family::Ternary
        | Family::Drop
        | Family::Select
        | Family::RefNull
        | Family::RefIsNull
        | Family::AtomicFence => return values,
        Family::Load
        | Family::Store
        | Family::AtomicRmw
        | Family::AtomicCmpxchg
        | Family::AtomicWait
        | Family::AtomicNotify
        | Family::ExtractLane
        | Family::ReplaceLane => memarg_and_lane(op),
        _ => (None, None),
    };
    if let Some(memarg) = memarg {
        values.extend([memarg.offset as i32, memarg.align as i32]);
    }
    if let Some(lane) = lane {
        values.push(lane as i32);
    }
    match *op {
        Operator::I8x16Shuffle { lanes } => {
            values.extend(lanes.chunks(4).map(|word| i32::from_le_bytes(word.try_into().expect("4 bytes"))));
        }
        Operator::MemorySize { mem } | Operator::MemoryGrow { mem } | Operator::MemoryFill { mem } => {
            values.push(mem as i32)
        }
        Operator::MemoryCopy { dst_mem, src_mem } => values.extend([dst_mem as i32, src_mem as i32]),
        Operator::MemoryInit { data_index, mem } => values.extend([data_index as i32, mem as i32]),
        Operator::DataDrop { data_index } => values.push(data_index as i32),
        Operator::TableGet { table }
        | Operator::TableSet { table }
        | Operator::TableSize { table }
        | Operator::TableGrow { table }
        | Operator::TableFill { table } => values.push(table as i32),
        Operator::TableCopy { dst_table, src_table } => values.extend([dst_table as i32, src_table as i32]),
        Operator::TableInit { elem_index, table } => values.extend([elem_index as i32, table as i32]),
        Operator::ElemDrop { elem_index } => values.push(elem_index as i32),
        Operator::RefFunc { function_index } => values.push(function_index as i32),
        Operator::LocalGet { local_index }
        | Operator::LocalSet { local_index }
        | Operator::LocalTee { local_index } => values.push(local_index as i32),
        Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
            values.push(global_index as i32)
        }
        _ => {}
    }
    values
}

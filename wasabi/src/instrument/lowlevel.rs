//! Low-level hooks: the functions the instrumented module imports from `__wasabi_hooks`, one
//! per (hook, type signature) actually used, each with its JS glue to the high-level API.

use super::ops::{Family, OpId};
use crate::hooks::Hook;
use smallvec::SmallVec;
use wasabi_wasm::{RefType, ValType};

/// A value type as it reaches a hook. v128 crosses to hooks as four i32 lanes because JS
/// cannot take v128 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

pub type TypeList = SmallVec<[Ty; 6]>;

impl Ty {
    pub const COUNT: usize = 7;

    pub fn from_parser(ty: wasmparser::ValType) -> Option<Ty> {
        Some(match ty {
            wasmparser::ValType::I32 => Ty::I32,
            wasmparser::ValType::I64 => Ty::I64,
            wasmparser::ValType::F32 => Ty::F32,
            wasmparser::ValType::F64 => Ty::F64,
            wasmparser::ValType::V128 => Ty::V128,
            // Wasm 2.0 has only funcref and externref; the validator types some values more
            // precisely (`ref.func` gives a non-null reference to a concrete function type).
            wasmparser::ValType::Ref(ty) => match ty.heap_type() {
                wasmparser::HeapType::Concrete(_) | wasmparser::HeapType::Exact(_) => Ty::FuncRef,
                wasmparser::HeapType::Abstract { ty, .. } => match ty {
                    wasmparser::AbstractHeapType::Func | wasmparser::AbstractHeapType::NoFunc => Ty::FuncRef,
                    wasmparser::AbstractHeapType::Extern | wasmparser::AbstractHeapType::NoExtern => {
                        Ty::ExternRef
                    }
                    _ => return None,
                },
            },
        })
    }

    pub fn from_encoder(ty: ValType) -> Option<Ty> {
        Some(match ty {
            ValType::I32 => Ty::I32,
            ValType::I64 => Ty::I64,
            ValType::F32 => Ty::F32,
            ValType::F64 => Ty::F64,
            ValType::V128 => Ty::V128,
            ValType::Ref(RefType::FUNCREF) => Ty::FuncRef,
            ValType::Ref(RefType::EXTERNREF) => Ty::ExternRef,
            ValType::Ref(_) => return None,
        })
    }

    pub fn val_type(self) -> ValType {
        match self {
            Ty::I32 => ValType::I32,
            Ty::I64 => ValType::I64,
            Ty::F32 => ValType::F32,
            Ty::F64 => ValType::F64,
            Ty::V128 => ValType::V128,
            Ty::FuncRef => ValType::Ref(RefType::FUNCREF),
            Ty::ExternRef => ValType::Ref(RefType::EXTERNREF),
        }
    }

    /// The types of the low-level hook parameters carrying one value of this type.
    fn hook_params(self) -> &'static [ValType] {
        match self {
            Ty::I32 => &[ValType::I32],
            Ty::I64 => &[ValType::I64],
            Ty::F32 => &[ValType::F32],
            Ty::F64 => &[ValType::F64],
            Ty::V128 => &[ValType::I32; 4],
            Ty::FuncRef => &[ValType::Ref(RefType::FUNCREF)],
            Ty::ExternRef => &[ValType::Ref(RefType::EXTERNREF)],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::V128 => "v128",
            Ty::FuncRef => "funcref",
            Ty::ExternRef => "externref",
        }
    }

    /// One-character code used in the module info (upstream's convention, extended).
    pub fn code(self) -> char {
        match self {
            Ty::I32 => 'i',
            Ty::I64 => 'I',
            Ty::F32 => 'f',
            Ty::F64 => 'F',
            Ty::V128 => 'v',
            Ty::FuncRef => 'r',
            Ty::ExternRef => 'e',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

impl BlockKind {
    fn name(self) -> &'static str {
        match self {
            BlockKind::Function => "function",
            BlockKind::Block => "block",
            BlockKind::Loop => "loop",
            BlockKind::If => "if",
            BlockKind::Else => "else",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Start,
    Nop,
    Unreachable,
    If,
    Br,
    BrIf,
    BrTable,
    Begin(BlockKind),
    End(BlockKind),
    /// The end of several blocks left by one branch, listed in the module info.
    EndBlocks,
    /// Types: the callee's parameters.
    CallPre,
    CallIndirectPre,
    /// Types: the callee's results.
    CallPost,
    /// Types: the function's results.
    Return,
    /// Every other instruction. Types: its inputs, then its outputs.
    Op(OpId),
}

/// Identifies one low-level hook: instrumentation sites with equal keys share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HookKey {
    pub kind: Kind,
    pub types: TypeList,
}

impl HookKey {
    pub fn new(kind: Kind) -> Self {
        HookKey { kind, types: TypeList::new() }
    }

    pub fn with_types(kind: Kind, types: impl IntoIterator<Item = Ty>) -> Self {
        HookKey { kind, types: types.into_iter().collect() }
    }

    /// The high-level hook this low-level hook serves.
    pub fn hook(&self) -> Hook {
        match self.kind {
            Kind::Start => Hook::Start,
            Kind::Nop => Hook::Nop,
            Kind::Unreachable => Hook::Unreachable,
            Kind::If => Hook::If,
            Kind::Br => Hook::Br,
            Kind::BrIf => Hook::BrIf,
            Kind::BrTable => Hook::BrTable,
            Kind::Begin(_) => Hook::Begin,
            Kind::End(_) | Kind::EndBlocks => Hook::End,
            Kind::CallPre | Kind::CallIndirectPre => Hook::CallPre,
            Kind::CallPost => Hook::CallPost,
            Kind::Return => Hook::Return,
            Kind::Op(op) => family_hook(op.info().family),
        }
    }

    /// The import name in `__wasabi_hooks`.
    pub fn import_name(&self) -> String {
        let mut name = match self.kind {
            Kind::Start => "start".to_string(),
            Kind::Nop => "nop".to_string(),
            Kind::Unreachable => "unreachable".to_string(),
            Kind::If => "if".to_string(),
            Kind::Br => "br".to_string(),
            Kind::BrIf => "br_if".to_string(),
            Kind::BrTable => "br_table".to_string(),
            Kind::Begin(kind) => format!("begin_{}", kind.name()),
            Kind::End(kind) => format!("end_{}", kind.name()),
            Kind::EndBlocks => "end_blocks".to_string(),
            Kind::CallPre => "call_pre".to_string(),
            Kind::CallIndirectPre => "call_indirect_pre".to_string(),
            Kind::CallPost => "call_post".to_string(),
            Kind::Return => "return".to_string(),
            Kind::Op(op) => op.info().mnemonic.clone(),
        };
        // An instruction whose types follow from its opcode is named by the opcode alone.
        if matches!(self.kind, Kind::Op(op) if !is_polymorphic(op.info().family)) {
            return name;
        }
        for ty in &self.types {
            name.push('_');
            name.push_str(ty.name());
        }
        name
    }

    /// Parameter types of the imported function: location (function, instruction), the
    /// hook's immediates, then its values.
    pub fn params(&self) -> Vec<ValType> {
        let mut params = vec![ValType::I32, ValType::I32];
        params.extend(self.immediates().iter().map(|imm| imm.ty));
        params.extend(self.types.iter().flat_map(|ty| ty.hook_params().iter().copied()));
        params
    }

    /// Constant parameters that follow the location; the instrumenter pushes them in this
    /// order.
    pub fn immediates(&self) -> &'static [Immediate] {
        const I32: ValType = ValType::I32;
        const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
        macro_rules! imms {
            ($($name:literal: $ty:expr),*) => { &[$(Immediate { name: $name, ty: $ty }),*] };
        }
        match self.kind {
            Kind::Br | Kind::BrIf => imms!("label": I32, "target": I32),
            Kind::BrTable => imms!("brTable": I32),
            Kind::Begin(BlockKind::Else) => imms!("ifInstr": I32),
            Kind::End(BlockKind::Function) => imms!(),
            Kind::End(BlockKind::Else) => imms!("elseInstr": I32, "ifInstr": I32),
            Kind::End(_) => imms!("beginInstr": I32),
            Kind::EndBlocks => imms!("node": I32, "count": I32),
            Kind::CallPre => imms!("target": I32),
            Kind::CallIndirectPre => imms!("funcref": FUNCREF, "elem": I32, "table": I32),
            Kind::Op(op) => match op.info().family {
                Family::Load | Family::Store | Family::AtomicRmw | Family::AtomicCmpxchg => {
                    if op_has_lane(op) {
                        imms!("offset": I32, "align": I32, "lane": I32)
                    } else {
                        imms!("offset": I32, "align": I32)
                    }
                }
                Family::AtomicWait | Family::AtomicNotify => imms!("offset": I32, "align": I32),
                Family::ExtractLane | Family::ReplaceLane => imms!("lane": I32),
                Family::Shuffle => imms!("s0": I32, "s1": I32, "s2": I32, "s3": I32),
                Family::MemorySize | Family::MemoryGrow | Family::MemoryFill => imms!("memory": I32),
                Family::MemoryCopy => imms!("dstMemory": I32, "srcMemory": I32),
                Family::MemoryInit => imms!("segment": I32, "memory": I32),
                Family::DataDrop | Family::ElemDrop => imms!("segment": I32),
                Family::TableGet
                | Family::TableSet
                | Family::TableSize
                | Family::TableGrow
                | Family::TableFill => imms!("table": I32),
                Family::TableCopy => imms!("dstTable": I32, "srcTable": I32),
                Family::TableInit => imms!("segment": I32, "table": I32),
                Family::RefFunc => imms!("funcIndex": I32),
                Family::Local | Family::Global => imms!("index": I32),
                _ => imms!(),
            },
            _ => imms!(),
        }
    }

    /// The JS property `"name": function (func, instr, ...) { ... }` that forwards this hook
    /// to the analysis.
    pub fn js(&self) -> String {
        let mut params: Vec<String> = vec!["func".into(), "instr".into()];
        params.extend(self.immediates().iter().map(|imm| imm.name.to_string()));
        let mut values = Vec::new();
        for (index, ty) in self.types.iter().enumerate() {
            if *ty == Ty::V128 {
                let lanes: Vec<String> = (0..4).map(|lane| format!("v{index}_{lane}")).collect();
                values.push(format!("Wasabi.v128({})", lanes.join(", ")));
                params.extend(lanes);
            } else {
                values.push(format!("v{index}"));
                params.push(format!("v{index}"));
            }
        }
        let body = self.js_call(&values);
        format!("{:?}: function ({}) {{ {body} }}", self.import_name(), params.join(", "))
    }

    fn js_call(&self, values: &[String]) -> String {
        let array = || format!("[{}]", values.join(", "));
        let target = "{label, location: {func, instr: target}}";
        let call = |hook: &str, args: String| format!("Wasabi.analysis.{hook}({{func, instr}}{args});");
        match self.kind {
            Kind::Start => call("start", String::new()),
            Kind::Nop => call("nop", String::new()),
            Kind::Unreachable => call("unreachable", String::new()),
            Kind::If => call("if_", format!(", {} === 1", values[0])),
            Kind::Br => call("br", format!(", {target}")),
            Kind::BrIf => call("br_if", format!(", {target}, {} === 1", values[0])),
            Kind::BrTable => format!(
                "const t = ctx.info.brTables[brTable]; {} endBlocks(func, t.node, (t.table[{v}] || t.default).ends);",
                call("br_table", format!(", t.table, t.default, {v}", v = values[0])),
                v = values[0],
            ),
            Kind::Begin(BlockKind::Else) => call("begin", ", \"else\", {func, instr: ifInstr}".into()),
            Kind::Begin(kind) => call("begin", format!(", {:?}", kind.name())),
            Kind::End(BlockKind::Function) => call("end", ", \"function\", {func, instr: -1}".into()),
            Kind::End(BlockKind::Else) => {
                call("end", ", \"else\", {func, instr: elseInstr}, {func, instr: ifInstr}".into())
            }
            Kind::End(kind) => call("end", format!(", {:?}, {{func, instr: beginInstr}}", kind.name())),
            Kind::EndBlocks => "endBlocks(func, node, count);".to_string(),
            Kind::CallPre => call("call_pre", format!(", target, {}", array())),
            Kind::CallIndirectPre => {
                call("call_pre", format!(", ctx.resolveFunction(funcref), {}, elem, table", array()))
            }
            Kind::CallPost => call("call_post", format!(", {}", array())),
            Kind::Return => call("return_", format!(", {}", array())),
            Kind::Op(op) => {
                call(family_hook(op.info().family).js_name(), op_js_args(op, &self.types, values))
            }
        }
    }
}

pub struct Immediate {
    pub name: &'static str,
    pub ty: ValType,
}

fn op_has_lane(op: OpId) -> bool {
    op.info().mnemonic.contains("_lane")
}

/// Families whose value types are not fixed by the instruction; their hooks are named by
/// type as well.
pub fn is_polymorphic(family: Family) -> bool {
    matches!(
        family,
        Family::Local
            | Family::Global
            | Family::Drop
            | Family::Select
            | Family::TableGet
            | Family::TableSet
            | Family::TableGrow
            | Family::TableFill
            | Family::RefNull
            | Family::RefIsNull
    )
}

/// Arguments after the location for the high-level hook of an instruction family; `v` are the
/// JS expressions of its input values then output values.
fn op_js_args(op: OpId, types: &[Ty], v: &[String]) -> String {
    let info = op.info();
    let name = format!("{:?}", info.mnemonic);
    let memarg = |lane: bool| {
        let lane = if lane { ", lane" } else { "" };
        format!("{{addr: {} >>> 0, offset: offset >>> 0, align{lane}}}", v[0])
    };
    let lane = op_has_lane(op);
    match info.family {
        Family::Const => format!(", {name}, {}", v[0]),
        Family::Unary => format!(", {name}, {}, {}", v[0], v[1]),
        Family::Binary => format!(", {name}, {}, {}, {}", v[0], v[1], v[2]),
        Family::Ternary => format!(", {name}, {}, {}, {}, {}", v[0], v[1], v[2], v[3]),
        Family::ExtractLane => format!(", {name}, lane, {}, {}", v[0], v[1]),
        Family::ReplaceLane => format!(", {name}, lane, {}, {}, {}", v[0], v[1], v[2]),
        Family::Shuffle => format!(", {name}, Wasabi.v128(s0, s1, s2, s3), {}, {}, {}", v[0], v[1], v[2]),
        // Lane loads take (addr, vector) and report the loaded vector, the last value.
        Family::Load => format!(", {name}, {}, {}", memarg(lane), v[v.len() - 1]),
        Family::Store => format!(", {name}, {}, {}", memarg(lane), v[1]),
        Family::AtomicRmw => format!(", {name}, {}, {}, {}", memarg(false), v[1], v[2]),
        Family::AtomicCmpxchg => format!(", {name}, {}, {}, {}, {}", memarg(false), v[1], v[2], v[3]),
        Family::AtomicWait => format!(", {name}, {}, {}, {}, {}", memarg(false), v[1], v[2], v[3]),
        Family::AtomicNotify => format!(", {name}, {}, {}, {}", memarg(false), v[1], v[2]),
        Family::AtomicFence => String::new(),
        Family::MemorySize => format!(", memory, {}", v[0]),
        Family::MemoryGrow => format!(", memory, {}, {}", v[0], v[1]),
        Family::MemoryFill => format!(", {}, {}, {}, memory", v[0], v[1], v[2]),
        Family::MemoryCopy => format!(", {}, {}, {}, dstMemory, srcMemory", v[0], v[1], v[2]),
        Family::MemoryInit => format!(", {}, {}, {}, segment, memory", v[0], v[1], v[2]),
        Family::DataDrop | Family::ElemDrop => ", segment".to_string(),
        Family::TableGet => format!(", {}, {}, table", v[0], v[1]),
        Family::TableSet => format!(", {}, {}, table", v[0], v[1]),
        Family::TableSize => format!(", {}, table", v[0]),
        Family::TableGrow => format!(", {}, {}, {}, table", v[1], v[0], v[2]),
        Family::TableFill => format!(", {}, {}, {}, table", v[0], v[1], v[2]),
        Family::TableCopy => format!(", {}, {}, {}, dstTable, srcTable", v[0], v[1], v[2]),
        Family::TableInit => format!(", {}, {}, {}, segment, table", v[0], v[1], v[2]),
        Family::RefNull => format!(", {:?}", types[0].name()),
        Family::RefIsNull => format!(", {}, {}", v[0], v[1]),
        Family::RefFunc => format!(", funcIndex, {}", v[0]),
        Family::Local | Family::Global => format!(", {name}, index, {}", v[0]),
        Family::Drop => format!(", {}", v[0]),
        Family::Select => format!(", {} === 1, {}, {}", v[2], v[0], v[1]),
        Family::Control | Family::Unsupported => unreachable!("{} has no value hook", info.mnemonic),
    }
}

pub fn family_hook(family: Family) -> Hook {
    match family {
        Family::Const => Hook::Const,
        Family::Unary => Hook::Unary,
        Family::Binary => Hook::Binary,
        Family::Ternary => Hook::Ternary,
        Family::ExtractLane => Hook::ExtractLane,
        Family::ReplaceLane => Hook::ReplaceLane,
        Family::Shuffle => Hook::Shuffle,
        Family::Load => Hook::Load,
        Family::Store => Hook::Store,
        Family::AtomicRmw => Hook::AtomicRmw,
        Family::AtomicCmpxchg => Hook::AtomicCmpxchg,
        Family::AtomicWait => Hook::AtomicWait,
        Family::AtomicNotify => Hook::AtomicNotify,
        Family::AtomicFence => Hook::AtomicFence,
        Family::MemorySize => Hook::MemorySize,
        Family::MemoryGrow => Hook::MemoryGrow,
        Family::MemoryFill => Hook::MemoryFill,
        Family::MemoryCopy => Hook::MemoryCopy,
        Family::MemoryInit => Hook::MemoryInit,
        Family::DataDrop => Hook::DataDrop,
        Family::TableGet => Hook::TableGet,
        Family::TableSet => Hook::TableSet,
        Family::TableSize => Hook::TableSize,
        Family::TableGrow => Hook::TableGrow,
        Family::TableFill => Hook::TableFill,
        Family::TableCopy => Hook::TableCopy,
        Family::TableInit => Hook::TableInit,
        Family::ElemDrop => Hook::ElemDrop,
        Family::RefNull => Hook::RefNull,
        Family::RefIsNull => Hook::RefIsNull,
        Family::RefFunc => Hook::RefFunc,
        Family::Local => Hook::Local,
        Family::Global => Hook::Global,
        Family::Drop => Hook::Drop,
        Family::Select => Hook::Select,
        Family::Control | Family::Unsupported => unreachable!("control instructions have their own hooks"),
    }
}

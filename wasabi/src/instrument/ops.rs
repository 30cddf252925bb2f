//! The operator table, generated from wasmparser's so that no instruction needs a hand-written
//! arm: a dense id per operator, its text-format mnemonic and the hook family it reports to.

use super::lowlevel::TypeList;
use std::sync::{LazyLock, OnceLock};
use wasmparser::Operator;

macro_rules! define_op_table {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// One variant per wasmparser operator, in wasmparser's order.
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum OpId { $($op,)* }

        impl OpId {
            pub fn of(op: &Operator<'_>) -> OpId {
                #[allow(unreachable_patterns)]
                match op {
                    $(Operator::$op { .. } => OpId::$op,)*
                    _ => unreachable!("wasmparser operator missing from its own table"),
                }
            }
        }

        const STATIC_INFO: &[(&str, &str, bool)] = &[
            $((stringify!($proposal), stringify!($visit), define_op_table!(@memarg $($($arg)*)?)),)*
        ];
    };
    (@memarg) => { false };
    (@memarg memarg $($rest:ident)*) => { true };
    (@memarg $first:ident $($rest:ident)*) => { define_op_table!(@memarg $($rest)*) };
}

wasmparser::for_each_operator!(define_op_table);

/// The hook family an operator reports to. Control instructions have hand-written
/// instrumentation; every other family goes through the generic value hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Control,
    Const,
    Unary,
    Binary,
    Ternary,
    ExtractLane,
    ReplaceLane,
    Shuffle,
    Load,
    Store,
    AtomicRmw,
    AtomicCmpxchg,
    AtomicWait,
    AtomicNotify,
    AtomicFence,
    MemorySize,
    MemoryGrow,
    MemoryFill,
    MemoryCopy,
    MemoryInit,
    DataDrop,
    TableGet,
    TableSet,
    TableSize,
    TableGrow,
    TableFill,
    TableCopy,
    TableInit,
    ElemDrop,
    RefNull,
    RefIsNull,
    RefFunc,
    Local,
    Global,
    Drop,
    Select,
    /// Outside Wasm 2.0 + atomics; the validator refuses such modules before we get here.
    Unsupported,
}

pub struct OpInfo {
    pub mnemonic: String,
    pub family: Family,
}

static TABLE: LazyLock<Vec<OpInfo>> = LazyLock::new(|| {
    STATIC_INFO
        .iter()
        .enumerate()
        .map(|(index, &(proposal, visit, memarg))| {
            let mnemonic = mnemonic(visit);
            let family = family(index, proposal, &mnemonic, memarg);
            OpInfo { mnemonic, family }
        })
        .collect()
});

/// Input and output types of the operators whose types follow from the opcode, learnt from the
/// validator the first time each is seen.
pub type Signature = (TypeList, TypeList);

static FIXED_TYPES: LazyLock<Box<[OnceLock<Signature>]>> =
    LazyLock::new(|| (0..OpId::COUNT).map(|_| OnceLock::new()).collect());

pub fn remember_fixed_types(id: OpId, inputs: TypeList, outputs: TypeList) -> &'static Signature {
    FIXED_TYPES[id as usize].get_or_init(|| (inputs, outputs))
}

/// Types recorded by [`remember_fixed_types`], if the operator was seen before; the survey of
/// every function comes before any emit pass.
pub fn fixed_types(id: OpId) -> Option<&'static (TypeList, TypeList)> {
    FIXED_TYPES[id as usize].get()
}

impl OpId {
    pub const COUNT: usize = STATIC_INFO.len();

    pub fn info(self) -> &'static OpInfo {
        &TABLE[self as usize]
    }
}

const SUPPORTED_PROPOSALS: &[&str] = &[
    "mvp",
    "sign_extension",
    "saturating_float_to_int",
    "bulk_memory",
    "reference_types",
    "simd",
    "threads",
];

fn family(index: usize, proposal: &str, mnemonic: &str, memarg: bool) -> Family {
    if !SUPPORTED_PROPOSALS.contains(&proposal) {
        return Family::Unsupported;
    }
    if let Some(family) = named_family(mnemonic) {
        return family;
    }
    if memarg {
        return if mnemonic.contains("cmpxchg") {
            Family::AtomicCmpxchg
        } else if mnemonic.contains(".rmw") {
            Family::AtomicRmw
        } else if mnemonic.contains("store") {
            Family::Store
        } else {
            Family::Load
        };
    }
    if mnemonic.contains("extract_lane") {
        return Family::ExtractLane;
    }
    if mnemonic.contains("replace_lane") {
        return Family::ReplaceLane;
    }
    if mnemonic.ends_with(".const") {
        return Family::Const;
    }
    match STATIC_ARITY.get(index).copied().flatten() {
        Some((1, 1)) => Family::Unary,
        Some((2, 1)) => Family::Binary,
        Some((3, 1)) => Family::Ternary,
        _ => Family::Unsupported,
    }
}

fn named_family(mnemonic: &str) -> Option<Family> {
    Some(match mnemonic {
        "unreachable" | "nop" | "block" | "loop" | "if" | "else" | "end" | "br" | "br_if" | "br_table"
        | "return" | "call" | "call_indirect" => Family::Control,
        "drop" => Family::Drop,
        "select" => Family::Select,
        "local.get" | "local.set" | "local.tee" => Family::Local,
        "global.get" | "global.set" => Family::Global,
        "memory.size" => Family::MemorySize,
        "memory.grow" => Family::MemoryGrow,
        "memory.fill" => Family::MemoryFill,
        "memory.copy" => Family::MemoryCopy,
        "memory.init" => Family::MemoryInit,
        "data.drop" => Family::DataDrop,
        "table.get" => Family::TableGet,
        "table.set" => Family::TableSet,
        "table.size" => Family::TableSize,
        "table.grow" => Family::TableGrow,
        "table.fill" => Family::TableFill,
        "table.copy" => Family::TableCopy,
        "table.init" => Family::TableInit,
        "elem.drop" => Family::ElemDrop,
        "ref.null" => Family::RefNull,
        "ref.is_null" => Family::RefIsNull,
        "ref.func" => Family::RefFunc,
        "i8x16.shuffle" => Family::Shuffle,
        "atomic.fence" => Family::AtomicFence,
        "memory.atomic.notify" => Family::AtomicNotify,
        "memory.atomic.wait32" | "memory.atomic.wait64" => Family::AtomicWait,
        _ => return None,
    })
}

/// Text-format mnemonic from wasmparser's visitor name, e.g. `visit_i32_trunc_sat_f32_s` →
/// `i32.trunc_sat_f32_s`, `visit_i64_atomic_rmw8_add_u` → `i64.atomic.rmw8.add_u`.
fn mnemonic(visit: &str) -> String {
    let name = visit.strip_prefix("visit_").unwrap_or(visit);
    const WITHOUT_DOT: &[&str] = &[
        "unreachable",
        "nop",
        "block",
        "loop",
        "if",
        "else",
        "end",
        "br",
        "br_if",
        "br_table",
        "return",
        "call",
        "call_indirect",
        "drop",
        "select",
    ];
    if WITHOUT_DOT.contains(&name) {
        return name.to_string();
    }
    if name == "typed_select" {
        return "select".to_string();
    }
    let Some((prefix, rest)) = name.split_once('_') else { return name.to_string() };
    match rest.strip_prefix("atomic_") {
        Some(tail) => match tail.strip_prefix("rmw") {
            Some(rmw) => {
                let (width, op) = rmw.split_once('_').unwrap_or((rmw, ""));
                format!("{prefix}.atomic.rmw{width}.{op}")
            }
            None => format!("{prefix}.atomic.{tail}"),
        },
        None => format!("{prefix}.{rest}"),
    }
}

macro_rules! define_static_arity {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Pops and pushes of operators whose arity does not depend on the module.
        const STATIC_ARITY: &[Option<(u32, u32)>] = &[$(define_static_arity!(@arity $($ann)*),)*];
    };
    (@arity arity custom) => { None };
    (@arity arity memarg $a:tt -> $b:tt) => { Some(($a, $b)) };
    (@arity arity $a:tt -> $b:tt) => { Some(($a, $b)) };
    (@arity $($other:tt)*) => { None };
}

wasmparser::for_each_operator!(define_static_arity);

macro_rules! define_memarg_lane {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The memory argument and lane immediate of an operator, if it has them.
        pub fn memarg_and_lane(op: &Operator<'_>) -> (Option<wasmparser::MemArg>, Option<u8>) {
            #[allow(unused_variables, unreachable_patterns)]
            match op {
                $(Operator::$op $({ $($arg),* })? => (
                    define_memarg_lane!(@find memarg [$($($arg)*)?]),
                    define_memarg_lane!(@find lane [$($($arg)*)?]),
                ),)*
                _ => (None, None),
            }
        }
    };
    // Captured idents can be matched literally later, and keep the caller's hygiene, so the
    // binding made in the match arm above is what `$found` names.
    (@find $want:ident []) => { None };
    (@find $want:ident [$first:ident $($rest:ident)*]) => {
        define_memarg_lane!(@check $want $first $first [$($rest)*])
    };
    (@check memarg memarg $found:ident [$($rest:ident)*]) => { Some(*$found) };
    (@check lane lane $found:ident [$($rest:ident)*]) => { Some(*$found) };
    (@check $want:ident $other:ident $found:ident [$($rest:ident)*]) => {
        define_memarg_lane!(@find $want [$($rest)*])
    };
}

wasmparser::for_each_operator!(define_memarg_lane);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_follow_the_text_format() {
        for (visit, text) in [
            ("visit_i32_add", "i32.add"),
            ("visit_i32_trunc_sat_f32_s", "i32.trunc_sat_f32_s"),
            ("visit_i64_atomic_rmw8_add_u", "i64.atomic.rmw8.add_u"),
            ("visit_i32_atomic_rmw_cmpxchg", "i32.atomic.rmw.cmpxchg"),
            ("visit_i32_atomic_load16_u", "i32.atomic.load16_u"),
            ("visit_memory_atomic_wait32", "memory.atomic.wait32"),
            ("visit_atomic_fence", "atomic.fence"),
            ("visit_v128_load8x8_s", "v128.load8x8_s"),
            ("visit_br_table", "br_table"),
            ("visit_typed_select", "select"),
        ] {
            assert_eq!(mnemonic(visit), text);
        }
    }

    #[test]
    fn families_cover_every_supported_operator() {
        for (index, &(proposal, visit, _)) in STATIC_INFO.iter().enumerate() {
            // `select` with several result types is encodable but invalid in Wasm 2.0.
            if SUPPORTED_PROPOSALS.contains(&proposal) && visit != "visit_typed_select_multi" {
                assert_ne!(TABLE[index].family, Family::Unsupported, "{visit} has no hook family");
            }
        }
        let family = |op: Operator| OpId::of(&op).info().family;
        assert_eq!(family(Operator::I32Add), Family::Binary);
        assert_eq!(family(Operator::V128Bitselect), Family::Ternary);
        assert_eq!(family(Operator::I8x16ExtractLaneS { lane: 0 }), Family::ExtractLane);
        assert_eq!(family(Operator::I32Extend8S), Family::Unary);
        assert_eq!(family(Operator::I32x4AllTrue), Family::Unary);
        assert_eq!(family(Operator::F64Const { value: wasmparser::Ieee64::from(0.0) }), Family::Const);
    }

    #[test]
    fn memarg_and_lane_are_found_by_field_name() {
        let target = wasmparser::MemArgTarget::Memory(0);
        let memarg = wasmparser::MemArg { align: 2, max_align: 4, offset: 8, target, ordering: None };
        assert_eq!(memarg_and_lane(&Operator::V128Load8Lane { memarg, lane: 3 }), (Some(memarg), Some(3)));
        assert_eq!(memarg_and_lane(&Operator::I32Load { memarg }), (Some(memarg), None));
        assert_eq!(memarg_and_lane(&Operator::I8x16ExtractLaneU { lane: 7 }), (None, Some(7)));
        assert_eq!(memarg_and_lane(&Operator::I32Add), (None, None));
    }
}

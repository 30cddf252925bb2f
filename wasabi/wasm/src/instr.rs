//! Translation of wasmparser operators into IR instructions, generated from wasmparser's
//! operator table so that every instruction of the supported proposals is covered once.

use crate::module::Instr;
use std::borrow::Cow;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::Operator;

/// Why an operator could not become an IR instruction.
#[derive(Debug)]
pub(crate) enum TranslateError {
    /// The operator belongs to a proposal the IR does not support (named by wasmparser's tag).
    Unsupported(&'static str),
    /// A type or immediate in the operator could not be converted.
    Convert(String),
}

fn convert<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, TranslateError> {
    result.map_err(|error| TranslateError::Convert(error.to_string()))
}

macro_rules! translate_operators {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Converts one operator; immediates are copied, so the result borrows nothing.
        #[allow(unused_variables)]
        pub(crate) fn translate(op: Operator<'_>) -> Result<Instr, TranslateError> {
            Ok(match op {
                $(
                    Operator::$op $({ $($arg),* })? => {
                        translate_operators!(@body $proposal $op $( $($arg)* )?)
                    }
                )*
                _ => return Err(TranslateError::Unsupported("unknown")),
            })
        }
    };

    // Proposals inside Wasm 2.0 plus the threads proposal's atomics.
    (@body mvp $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body sign_extension $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body saturating_float_to_int $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body bulk_memory $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body reference_types $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body simd $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body threads $($rest:tt)*) => { translate_operators!(@supported $($rest)*) };
    (@body $other:ident $($rest:tt)*) => {
        return Err(TranslateError::Unsupported(stringify!($other)))
    };
    (@supported $op:ident $($arg:ident)*) => {{
        $( let $arg = translate_operators!(@immediate $arg $arg); )*
        translate_operators!(@build $op $($arg)*)
    }};

    // Immediates are converted by field name, the one thing the operator table makes uniform.
    (@immediate $arg:ident blockty) => { convert(RoundtripReencoder.block_type($arg))? };
    (@immediate $arg:ident memarg) => { convert(RoundtripReencoder.mem_arg($arg))? };
    (@immediate $arg:ident ordering) => { convert(RoundtripReencoder.ordering($arg))? };
    (@immediate $arg:ident ty) => { convert(RoundtripReencoder.val_type($arg))? };
    (@immediate $arg:ident hty) => { convert(RoundtripReencoder.heap_type($arg))? };
    (@immediate $arg:ident tys) => {
        Cow::<'static, [wasm_encoder::ValType]>::Owned(convert(
            $arg.into_iter().map(|ty| RoundtripReencoder.val_type(ty)).collect::<Result<Vec<_>, _>>()
        )?)
    };
    (@immediate $arg:ident targets) => {{
        let labels = convert($arg.targets().collect::<Result<Vec<u32>, _>>())?;
        (Cow::<'static, [u32]>::Owned(labels), $arg.default())
    }};
    (@immediate $arg:ident $name:ident) => { $arg };

    (@build $op:ident) => { Instr::$op };
    (@build BrTable $targets:ident) => { Instr::BrTable($targets.0, $targets.1) };
    (@build F32Const $value:ident) => { Instr::F32Const(wasm_encoder::Ieee32::new($value.bits())) };
    (@build F64Const $value:ident) => { Instr::F64Const(wasm_encoder::Ieee64::new($value.bits())) };
    (@build V128Const $value:ident) => { Instr::V128Const($value.i128()) };
    (@build $op:ident $arg:ident) => { Instr::$op($arg) };
    (@build $op:ident $($arg:ident)*) => { Instr::$op { $($arg),* } };
}

wasmparser::for_each_operator!(translate_operators);

/// The index space an instruction immediate refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexSpace {
    Function,
    Global,
    Type,
    Table,
    Memory,
    Data,
    Element,
}

macro_rules! visit_indices {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Calls `visit` on every index immediate of `instr`, with the space the index is in.
        /// Generated from the same operator table as [`translate`], so no instruction the IR
        /// holds is missed.
        pub(crate) fn for_each_index(instr: &mut Instr, visit: &mut impl FnMut(IndexSpace, &mut u32)) {
            $( visit_indices!(@op $proposal instr visit $op $( $($arg)* )?); )*
        }
    };

    // Only the proposals `translate` accepts can occur in the IR.
    (@op mvp $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op sign_extension $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op saturating_float_to_int $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op bulk_memory $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op reference_types $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op simd $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op threads $($rest:tt)*) => { visit_indices!(@supported $($rest)*); };
    (@op $other:ident $($rest:tt)*) => {};

    (@supported $instr:ident $visit:ident $op:ident) => {};
    // Label depths, not indices; and a tuple variant unlike the operator table's struct.
    (@supported $instr:ident $visit:ident BrTable $arg:ident) => {};
    (@supported $instr:ident $visit:ident $op:ident $arg:ident) => {
        if let Instr::$op($arg) = $instr {
            visit_indices!(@immediate $visit $arg $arg);
            return;
        }
    };
    (@supported $instr:ident $visit:ident $op:ident $($arg:ident)*) => {
        if let Instr::$op { $($arg),* } = $instr {
            $( visit_indices!(@immediate $visit $arg $arg); )*
            return;
        }
    };

    // The operator table names immediates by what they index.
    (@immediate $visit:ident $arg:ident function_index) => { $visit(IndexSpace::Function, $arg) };
    (@immediate $visit:ident $arg:ident global_index) => { $visit(IndexSpace::Global, $arg) };
    (@immediate $visit:ident $arg:ident type_index) => { $visit(IndexSpace::Type, $arg) };
    (@immediate $visit:ident $arg:ident table_index) => { $visit(IndexSpace::Table, $arg) };
    (@immediate $visit:ident $arg:ident table) => { $visit(IndexSpace::Table, $arg) };
    (@immediate $visit:ident $arg:ident src_table) => { $visit(IndexSpace::Table, $arg) };
    (@immediate $visit:ident $arg:ident dst_table) => { $visit(IndexSpace::Table, $arg) };
    (@immediate $visit:ident $arg:ident mem) => { $visit(IndexSpace::Memory, $arg) };
    (@immediate $visit:ident $arg:ident src_mem) => { $visit(IndexSpace::Memory, $arg) };
    (@immediate $visit:ident $arg:ident dst_mem) => { $visit(IndexSpace::Memory, $arg) };
    (@immediate $visit:ident $arg:ident memarg) => {
        match &mut $arg.target {
            wasm_encoder::MemArgTarget::Memory(index) => $visit(IndexSpace::Memory, index),
            wasm_encoder::MemArgTarget::Array(index) => $visit(IndexSpace::Type, index),
        }
    };
    (@immediate $visit:ident $arg:ident data_index) => { $visit(IndexSpace::Data, $arg) };
    (@immediate $visit:ident $arg:ident elem_index) => { $visit(IndexSpace::Element, $arg) };
    (@immediate $visit:ident $arg:ident blockty) => {
        if let wasm_encoder::BlockType::FunctionType(index) = $arg {
            $visit(IndexSpace::Type, index)
        }
    };
    (@immediate $visit:ident $arg:ident $name:ident) => { let _ = $arg; };
}

wasmparser::for_each_operator!(visit_indices);

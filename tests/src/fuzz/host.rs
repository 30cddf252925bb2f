//! The generated host: import results and export arguments drawn from the fuzzer's bytes,
//! the same for every run of the same input, and values shown so that runs can be compared.

use arbitrary::Unstructured;
use std::sync::{Arc, Mutex, PoisonError};
use wasmtime::{AsContextMut, Extern, ExternType, Func, Trap, Val, ValType};

/// Bytes that imported functions take their results from, in call order; all zero once used up.
#[derive(Clone)]
pub struct Answers {
    state: Arc<Mutex<(Vec<u8>, usize)>>,
}

impl Answers {
    pub fn new(bytes: &[u8]) -> Answers {
        Answers { state: Arc::new(Mutex::new((bytes.to_vec(), 0))) }
    }

    fn next(&self, ty: &ValType) -> Val {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (bytes, used) = &mut *state;
        let mut input = Unstructured::new(&bytes[*used..]);
        let before = input.len();
        let value = value(&mut input, ty);
        *used += before - input.len();
        value
    }
}

/// A value of type `ty`; references are null (the host has none of its own to give).
pub fn value(input: &mut Unstructured, ty: &ValType) -> Val {
    let bits = |input: &mut Unstructured| input.arbitrary::<u128>().unwrap_or_default();
    match ty {
        ValType::I32 => Val::I32(bits(input) as i32),
        ValType::I64 => Val::I64(bits(input) as i64),
        ValType::F32 => Val::F32(bits(input) as u32),
        ValType::F64 => Val::F64(bits(input) as u64),
        ValType::V128 => Val::V128(bits(input).into()),
        ValType::Ref(ty) => Val::null_ref(ty.heap_type()),
    }
}

/// An extern for an import of type `ty`: a function answers from `answers`, a memory, table
/// or global is fresh with its type's defaults.
pub fn import(mut store: impl AsContextMut, ty: &ExternType, answers: &Answers) -> Result<Extern, String> {
    let ExternType::Func(func) = ty else {
        return ty
            .default_value(&mut store)
            .map_err(|error| format!("cannot provide import {ty:?}: {error}"));
    };
    let answers = answers.clone();
    let results: Vec<ValType> = func.results().collect();
    Ok(Extern::Func(Func::new(&mut store, func.clone(), move |_, _, out| {
        for (slot, ty) in out.iter_mut().zip(&results) {
            *slot = answers.next(ty);
        }
        Ok(())
    })))
}

/// The host's calls: every exported function once in export order, then a few more that the
/// input picks, each with arguments from the input.
pub fn calls(exports: &[(String, wasmtime::FuncType)], input: &mut Unstructured) -> Vec<(String, Vec<Val>)> {
    let mut picks: Vec<usize> = (0..exports.len()).collect();
    if !exports.is_empty() {
        for _ in 0..input.int_in_range(0..=8u8).unwrap_or_default() {
            picks.push(input.choose_index(exports.len()).unwrap_or_default());
        }
    }
    picks
        .into_iter()
        .map(|pick| {
            let (name, ty) = &exports[pick];
            (name.clone(), ty.params().map(|param| value(input, &param)).collect())
        })
        .collect()
}

/// What the host changes between calls, as the input picks: a few bytes of an exported
/// memory, the value of an exported mutable global; the recorder must see both.
pub fn write_exports(mut store: impl AsContextMut, exports: &[(String, Extern)], input: &mut Unstructured) {
    for (_, export) in exports {
        if !input.arbitrary::<bool>().unwrap_or_default() {
            continue;
        }
        match export {
            Extern::Memory(memory) => {
                let size = memory.data_size(&store);
                let at = input.int_in_range(0..=size).unwrap_or_default();
                let bytes = input.bytes(size.saturating_sub(at).min(16)).unwrap_or_default();
                // In bounds by construction; a failed write would only mean nothing changed.
                let _ = memory.write(&mut store, at, bytes);
            }
            Extern::Global(global) if global.ty(&store).mutability().is_var() => {
                let value = value(input, global.ty(&store).content());
                let _ = global.set(&mut store, value);
            }
            _ => {}
        }
    }
}

/// A value as runs can compare it: numbers by bits, references only null or not (their
/// identity belongs to one store).
pub fn show(value: &Val) -> String {
    match value {
        Val::I32(v) => format!("i32:{v}"),
        Val::I64(v) => format!("i64:{v}"),
        Val::F32(bits) => format!("f32:{bits:#x}"),
        Val::F64(bits) => format!("f64:{bits:#x}"),
        Val::V128(v) => format!("v128:{:#x}", v.as_u128()),
        Val::FuncRef(func) => format!("funcref:{}", if func.is_some() { "non-null" } else { "null" }),
        Val::ExternRef(r) => format!("externref:{}", if r.is_some() { "non-null" } else { "null" }),
        other => format!("{other:?}"),
    }
}

/// How a call ended: its results, or the trap (by code, as messages may carry locations).
pub fn outcome(result: wasmtime::Result<()>, results: &[Val]) -> String {
    match result {
        Ok(()) => format!("ok [{}]", results.iter().map(show).collect::<Vec<_>>().join(", ")),
        Err(error) => match error.downcast_ref::<Trap>() {
            Some(trap) => format!("trap {trap:?}"),
            None => format!("error {error:#}"),
        },
    }
}

/// Whether a step's outcome ran out of a resource rather than into the module's own
/// behaviour: fuel or stack, both of which instrumented code uses more of.
pub fn exhausted(step: &str) -> bool {
    [Trap::OutOfFuel, Trap::StackOverflow].iter().any(|trap| step.ends_with(&format!("trap {trap:?}")))
}

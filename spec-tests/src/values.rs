//! Script values ↔ wasmtime values, compared bit-exactly (NaN patterns where the script
//! allows any NaN).

use anyhow::{Result, bail};
use wasmtime::{ExternRef, Store, V128, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

pub fn argument(store: &mut Store<()>, arg: &WastArg) -> Result<Val> {
    let WastArg::Core(arg) = arg else { bail!("component arguments are not supported") };
    Ok(match arg {
        WastArgCore::I32(value) => Val::I32(*value),
        WastArgCore::I64(value) => Val::I64(*value),
        WastArgCore::F32(value) => Val::F32(value.bits),
        WastArgCore::F64(value) => Val::F64(value.bits),
        WastArgCore::V128(value) => Val::V128(V128::from(u128::from_le_bytes(value.to_le_bytes()))),
        WastArgCore::RefNull(heap_type) => match abstract_type(heap_type)? {
            AbstractHeapType::Func => Val::FuncRef(None),
            AbstractHeapType::Extern => Val::ExternRef(None),
            other => bail!("unsupported null reference type {other:?}"),
        },
        WastArgCore::RefExtern(host) => Val::ExternRef(Some(ExternRef::new(store, *host)?)),
        other => bail!("unsupported argument {other:?}"),
    })
}

fn abstract_type(heap_type: &HeapType) -> Result<AbstractHeapType> {
    match heap_type {
        HeapType::Abstract { shared: false, ty } => Ok(*ty),
        other => bail!("unsupported heap type {other:?}"),
    }
}

/// `Ok(())` when `actual` is one of the values `expected` allows.
pub fn check(store: &Store<()>, actual: &Val, expected: &WastRet) -> Result<()> {
    let WastRet::Core(expected) = expected else { bail!("component results are not supported") };
    if matches(store, actual, expected)? {
        Ok(())
    } else {
        bail!("expected {}, got {}", describe_expected(expected), describe(store, actual))
    }
}

fn matches(store: &Store<()>, actual: &Val, expected: &WastRetCore) -> Result<bool> {
    Ok(match (expected, actual) {
        (WastRetCore::Either(options), _) => {
            for option in options {
                if matches(store, actual, option)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::I32(want), Val::I32(got)) => want == got,
        (WastRetCore::I64(want), Val::I64(got)) => want == got,
        (WastRetCore::F32(want), Val::F32(got)) => f32_matches(want, *got),
        (WastRetCore::F64(want), Val::F64(got)) => f64_matches(want, *got),
        (WastRetCore::V128(want), Val::V128(got)) => v128_matches(want, got.as_u128()),
        (WastRetCore::RefNull(_), Val::FuncRef(got)) => got.is_none(),
        (WastRetCore::RefNull(_), Val::ExternRef(got)) => got.is_none(),
        (WastRetCore::RefFunc(None), Val::FuncRef(got)) => got.is_some(),
        (WastRetCore::RefFunc(Some(_)), Val::FuncRef(got)) => got.is_some(),
        (WastRetCore::RefExtern(None), Val::ExternRef(got)) => got.is_some(),
        (WastRetCore::RefExtern(Some(want)), Val::ExternRef(Some(got))) => {
            got.data(store)?.and_then(|data| data.downcast_ref::<u32>()) == Some(want)
        }
        _ => false,
    })
}

fn f32_matches(expected: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    const QUIET_NAN: u32 = 0x7fc0_0000;
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == QUIET_NAN,
        NanPattern::ArithmeticNan => bits & QUIET_NAN == QUIET_NAN,
        NanPattern::Value(value) => value.bits == bits,
    }
}

fn f64_matches(expected: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    const QUIET_NAN: u64 = 0x7ff8_0000_0000_0000;
    match expected {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == QUIET_NAN,
        NanPattern::ArithmeticNan => bits & QUIET_NAN == QUIET_NAN,
        NanPattern::Value(value) => value.bits == bits,
    }
}

fn v128_matches(expected: &V128Pattern, bits: u128) -> bool {
    let bytes = bits.to_le_bytes();
    let lanes = |width: usize| bytes.chunks_exact(width);
    match expected {
        V128Pattern::I8x16(want) => want.iter().zip(&bytes).all(|(w, g)| *w as u8 == *g),
        V128Pattern::I16x8(want) => want.iter().zip(lanes(2)).all(|(w, g)| w.to_le_bytes() == g),
        V128Pattern::I32x4(want) => want.iter().zip(lanes(4)).all(|(w, g)| w.to_le_bytes() == g),
        V128Pattern::I64x2(want) => want.iter().zip(lanes(8)).all(|(w, g)| w.to_le_bytes() == g),
        V128Pattern::F32x4(want) => {
            want.iter().zip(lanes(4)).all(|(w, g)| f32_matches(w, u32::from_le_bytes(g.try_into().unwrap())))
        }
        V128Pattern::F64x2(want) => {
            want.iter().zip(lanes(8)).all(|(w, g)| f64_matches(w, u64::from_le_bytes(g.try_into().unwrap())))
        }
    }
}

fn describe_expected(expected: &WastRetCore) -> String {
    format!("{expected:?}")
}

fn describe(store: &Store<()>, value: &Val) -> String {
    match value {
        Val::F32(bits) => format!("f32 {} (bits {bits:#x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64 {} (bits {bits:#x})", f64::from_bits(*bits)),
        Val::V128(bits) => format!("v128 {:#034x}", bits.as_u128()),
        Val::ExternRef(Some(host)) => {
            let data = host.data(store).ok().flatten().and_then(|data| data.downcast_ref::<u32>());
            format!("ref.extern {data:?}")
        }
        Val::FuncRef(func) => format!("funcref {}", if func.is_some() { "non-null" } else { "null" }),
        other => format!("{other:?}"),
    }
}

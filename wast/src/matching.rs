//! What counts as a match: a trap's code against an `assert_trap` message,
//! a result against an expected value or pattern.

use nyash_engine::{ExternRef, Store, TrapCode, Val};
use wast::core::{NanPattern, V128Pattern, WastRetCore};

/// Whether a trap with `code` is what an `assert_trap` with `message`
/// expects: the message starts with the code's own message or with one of
/// the other wordings the suite uses for the same trap.
pub fn trap_matches(code: TrapCode, message: &str) -> bool {
    let aliases: &[&str] = match code {
        TrapCode::TableOutOfBounds => &["undefined element", "out of bounds table access"],
        TrapCode::IndirectCallToNull => &["uninitialized element"],
        // wasmtime's wording, which the Component Model's tests use.
        TrapCode::UnreachableCodeReached => &["wasm `unreachable` instruction executed"],
        TrapCode::NullReference => &[
            "null function reference",
            "null i31 reference",
            "null structure reference",
            "null array reference",
        ],
        _ => &[],
    };
    message.starts_with(code.message()) || aliases.iter().any(|a| message.starts_with(a))
}

fn f32_matches(got: u32, e: &NanPattern<wast::token::F32>) -> bool {
    match e {
        NanPattern::CanonicalNan => got & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => got & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => got == v.bits,
    }
}

fn f64_matches(got: u64, e: &NanPattern<wast::token::F64>) -> bool {
    match e {
        NanPattern::CanonicalNan => got & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => got & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => got == v.bits,
    }
}

/// A `v128` result against a pattern of lanes (float lanes may be NaN
/// patterns).
fn v128_matches(got: u128, e: &V128Pattern) -> bool {
    let b = got.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..n].copy_from_slice(&b[i * n..(i + 1) * n]);
        u64::from_le_bytes(x)
    };
    match e {
        V128Pattern::I8x16(l) => (0..16).all(|i| lane(i, 1) == u64::from(l[i] as u8)),
        V128Pattern::I16x8(l) => (0..8).all(|i| lane(i, 2) == u64::from(l[i] as u16)),
        V128Pattern::I32x4(l) => (0..4).all(|i| lane(i, 4) == u64::from(l[i] as u32)),
        V128Pattern::I64x2(l) => (0..2).all(|i| lane(i, 8) == l[i] as u64),
        V128Pattern::F32x4(l) => (0..4).all(|i| f32_matches(lane(i, 4) as u32, &l[i])),
        V128Pattern::F64x2(l) => (0..2).all(|i| f64_matches(lane(i, 8), &l[i])),
    }
}

/// Whether the result `got` is what `e` expects.
pub(crate) fn matches_ret(store: &mut Store<()>, got: &Val, e: &WastRetCore<'_>) -> bool {
    match (got, e) {
        (Val::I32(g), WastRetCore::I32(e)) => g == e,
        (Val::I64(g), WastRetCore::I64(e)) => g == e,
        (Val::F32(g), WastRetCore::F32(e)) => f32_matches(*g, e),
        (Val::F64(g), WastRetCore::F64(e)) => f64_matches(*g, e),
        (Val::V128(g), WastRetCore::V128(e)) => v128_matches(*g, e),
        (Val::FuncRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExternRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExnRef(None), WastRetCore::RefNull(_)) => true,
        (Val::AnyRef(None), WastRetCore::RefNull(_)) => true,
        (Val::AnyRef(Some(r)), WastRetCore::RefI31) => r.as_i31().is_some(),
        (Val::AnyRef(Some(_)), WastRetCore::RefAny) => true,
        // `eq`: not an extern object (what `any.convert_extern` makes).
        (Val::AnyRef(Some(r)), WastRetCore::RefEq) => {
            r.as_i31().is_some()
                || r.is_struct(&*store).unwrap_or(false)
                || r.is_array(&*store).unwrap_or(false)
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefHost(n)) => {
            r.is_object()
                && !r.is_struct(&*store).unwrap_or(true)
                && !r.is_array(&*store).unwrap_or(true)
                && host_value(store, r) == Some(*n)
        }
        (Val::ExternRef(Some(r)), WastRetCore::RefHost(n)) => {
            r.data(&*store).downcast_ref::<u32>() == Some(n)
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefStruct) => r.is_struct(&*store).unwrap_or(false),
        (Val::AnyRef(Some(r)), WastRetCore::RefArray) => r.is_array(&*store).unwrap_or(false),
        (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
        (Val::ExternRef(Some(r)), WastRetCore::RefExtern(n)) => match n {
            None => true,
            Some(n) => r.data(&*store).downcast_ref::<u32>() == Some(n),
        },
        // Relaxed SIMD: any one of the results the proposal allows.
        (g, WastRetCore::Either(cases)) => cases.iter().any(|e| matches_ret(store, g, e)),
        _ => false,
    }
}

/// The host value (a `u32`) of the externref an extern object stands for.
fn host_value(store: &mut Store<()>, r: &nyash_engine::AnyRef) -> Option<u32> {
    let e = ExternRef::convert_any(&mut *store, *r).ok()?;
    e.data(&*store).downcast_ref::<u32>().copied()
}

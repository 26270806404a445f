//! Component scripts: component values in arguments and results.

use nyash_engine::component::Val;
use wast::component::WastVal;
use wast::core::{NanPattern, WastArgCore, WastRetCore};

/// The engine's value for a core-syntax argument to a component function:
/// `(f32.const ...)` and `(f64.const ...)` parse as core values before
/// component ones, and mean `f32` and `f64` there too. `None` for the other
/// core forms, which have no component meaning.
pub(crate) fn core_arg(v: &WastArgCore<'_>) -> Option<Val> {
    match v {
        WastArgCore::F32(x) => Some(Val::Float32(f32::from_bits(x.bits))),
        WastArgCore::F64(x) => Some(Val::Float64(f64::from_bits(x.bits))),
        _ => None,
    }
}

/// Whether the component result `got` is the core-syntax expected result
/// `e` (`f32.const`/`f64.const`, NaN patterns included: any NaN matches a
/// NaN pattern); `None` for core forms with no component meaning.
pub(crate) fn core_ret_matches(got: &Val, e: &WastRetCore<'_>) -> Option<bool> {
    Some(match (got, e) {
        (Val::Float32(g), WastRetCore::F32(p)) => match p {
            NanPattern::Value(x) => g.to_bits() == x.bits,
            _ => g.is_nan(),
        },
        (Val::Float64(g), WastRetCore::F64(p)) => match p {
            NanPattern::Value(x) => g.to_bits() == x.bits,
            _ => g.is_nan(),
        },
        (_, WastRetCore::F32(_) | WastRetCore::F64(_)) => false,
        _ => return None,
    })
}

/// The engine's value for a script's component argument.
pub(crate) fn arg(v: &WastVal<'_>) -> Val {
    match v {
        WastVal::Bool(b) => Val::Bool(*b),
        WastVal::U8(x) => Val::U8(*x),
        WastVal::S8(x) => Val::S8(*x),
        WastVal::U16(x) => Val::U16(*x),
        WastVal::S16(x) => Val::S16(*x),
        WastVal::U32(x) => Val::U32(*x),
        WastVal::S32(x) => Val::S32(*x),
        WastVal::U64(x) => Val::U64(*x),
        WastVal::S64(x) => Val::S64(*x),
        WastVal::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        WastVal::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        WastVal::Char(c) => Val::Char(*c),
        WastVal::String(s) => Val::String(s.to_string()),
        WastVal::List(l) => Val::List(l.iter().map(arg).collect()),
        WastVal::Map(m) => Val::Map(m.iter().map(|(k, v)| (arg(k), arg(v))).collect()),
        WastVal::Record(r) => Val::Record(r.iter().map(|(n, v)| (n.to_string(), arg(v))).collect()),
        WastVal::Tuple(t) => Val::Tuple(t.iter().map(arg).collect()),
        WastVal::Variant(n, p) => Val::Variant(n.to_string(), p.as_ref().map(|v| Box::new(arg(v)))),
        WastVal::Enum(n) => Val::Enum(n.to_string()),
        WastVal::Option(o) => Val::Option(o.as_ref().map(|v| Box::new(arg(v)))),
        WastVal::Result(r) => Val::Result(match r {
            Ok(v) => Ok(v.as_ref().map(|v| Box::new(arg(v)))),
            Err(v) => Err(v.as_ref().map(|v| Box::new(arg(v)))),
        }),
        WastVal::Flags(f) => Val::Flags(f.iter().map(|s| s.to_string()).collect()),
    }
}

fn opt_matches(got: &Option<Box<Val>>, e: &Option<Box<WastVal<'_>>>) -> bool {
    match (got, e) {
        (None, None) => true,
        (Some(g), Some(e)) => matches(g, e),
        _ => false,
    }
}

fn all<'a, 'b>(
    got: impl ExactSizeIterator<Item = &'a Val>,
    e: impl ExactSizeIterator<Item = &'b WastVal<'b>>,
) -> bool {
    got.len() == e.len() && got.zip(e).all(|(g, e)| matches(g, e))
}

/// Whether the result `got` is the value `e`. Floats compare by bits, but
/// any NaN matches any NaN (the canonical ABI does not keep NaN payloads).
pub(crate) fn matches(got: &Val, e: &WastVal<'_>) -> bool {
    match (got, e) {
        (Val::Bool(g), WastVal::Bool(e)) => g == e,
        (Val::U8(g), WastVal::U8(e)) => g == e,
        (Val::S8(g), WastVal::S8(e)) => g == e,
        (Val::U16(g), WastVal::U16(e)) => g == e,
        (Val::S16(g), WastVal::S16(e)) => g == e,
        (Val::U32(g), WastVal::U32(e)) => g == e,
        (Val::S32(g), WastVal::S32(e)) => g == e,
        (Val::U64(g), WastVal::U64(e)) => g == e,
        (Val::S64(g), WastVal::S64(e)) => g == e,
        (Val::Float32(g), WastVal::F32(e)) => {
            let e = f32::from_bits(e.bits);
            (g.is_nan() && e.is_nan()) || g.to_bits() == e.to_bits()
        }
        (Val::Float64(g), WastVal::F64(e)) => {
            let e = f64::from_bits(e.bits);
            (g.is_nan() && e.is_nan()) || g.to_bits() == e.to_bits()
        }
        (Val::Char(g), WastVal::Char(e)) => g == e,
        (Val::String(g), WastVal::String(e)) => g == e,
        (Val::List(g), WastVal::List(e)) | (Val::Tuple(g), WastVal::Tuple(e)) => {
            all(g.iter(), e.iter())
        }
        (Val::Map(g), WastVal::Map(e)) => {
            g.len() == e.len()
                && g.iter()
                    .zip(e)
                    .all(|((gk, gv), (ek, ev))| matches(gk, ek) && matches(gv, ev))
        }
        (Val::Record(g), WastVal::Record(e)) => {
            g.len() == e.len()
                && g.iter()
                    .zip(e)
                    .all(|((gn, gv), (en, ev))| gn == en && matches(gv, ev))
        }
        (Val::Variant(gn, gp), WastVal::Variant(en, ep)) => gn == en && opt_matches(gp, ep),
        (Val::Enum(g), WastVal::Enum(e)) => g == e,
        (Val::Option(g), WastVal::Option(e)) => opt_matches(g, e),
        (Val::Result(Ok(g)), WastVal::Result(Ok(e)))
        | (Val::Result(Err(g)), WastVal::Result(Err(e))) => opt_matches(g, e),
        (Val::Flags(g), WastVal::Flags(e)) => {
            let mut g: Vec<&str> = g.iter().map(String::as_str).collect();
            let mut e: Vec<&str> = e.to_vec();
            g.sort_unstable();
            e.sort_unstable();
            g == e
        }
        _ => false,
    }
}

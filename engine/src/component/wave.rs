//! WAVE (the WebAssembly Value Encoding, the `wasm-wave` crate): component
//! values as text, the syntax `wasmtime run --invoke 'f(1, "x")'` uses.
//! [`Type`] implements [`WasmType`] and [`Val`] implements [`WasmValue`],
//! so `wasm_wave::from_str::<Val>(&ty, text)` parses a value of a type and
//! `wasm_wave::to_string(&val)` prints one; [`ComponentFunc`] implements
//! [`WasmFunc`] (`DisplayFunc` writes a signature).
//!
//! WAVE has no syntax for resource handles: an `own`/`borrow` type is of
//! the kind `Unsupported`, so parsing a value of it fails and printing a
//! [`Val::Resource`] fails with an error (never a panic). A fixed-length
//! `list<T, N>` is of the kind `List` here, so that it can be parsed as
//! well as printed (wasm-wave 0.263 prints its own fixed-length kind but
//! does not parse it); the number of elements is checked when the value is
//! made.
//!
//! The `make_*` constructors check a value against its type (field and
//! case names, payloads, the fixed length, flag names) and report a
//! mismatch as a [`WasmValueError`] naming it; the parser turns it into its
//! error. The `unwrap_*` accessors are only called by the writer after it
//! asked the value's [`kind`](WasmValue::kind), so their "wrong kind"
//! panics (the trait's documented contract) cannot be reached from it.

use std::borrow::Cow;

use wasm_wave::wasm::{
    WasmFunc, WasmType, WasmTypeKind, WasmValue, WasmValueError, ensure_type_kind,
};

use super::types::{ComponentFunc, Type};
use super::val::Val;

/// `NaN`s with the canonical bit pattern, as the Component Model has a
/// single NaN.
fn canonical_f32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        x
    }
}

fn canonical_f64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        x
    }
}

impl WasmType for Type {
    fn kind(&self) -> WasmTypeKind {
        match self {
            Type::Bool => WasmTypeKind::Bool,
            Type::S8 => WasmTypeKind::S8,
            Type::U8 => WasmTypeKind::U8,
            Type::S16 => WasmTypeKind::S16,
            Type::U16 => WasmTypeKind::U16,
            Type::S32 => WasmTypeKind::S32,
            Type::U32 => WasmTypeKind::U32,
            Type::S64 => WasmTypeKind::S64,
            Type::U64 => WasmTypeKind::U64,
            Type::Float32 => WasmTypeKind::F32,
            Type::Float64 => WasmTypeKind::F64,
            Type::Char => WasmTypeKind::Char,
            Type::String => WasmTypeKind::String,
            Type::List(_) | Type::FixedLengthList(_) => WasmTypeKind::List,
            Type::Record(_) => WasmTypeKind::Record,
            Type::Tuple(_) => WasmTypeKind::Tuple,
            Type::Variant(_) => WasmTypeKind::Variant,
            Type::Enum(_) => WasmTypeKind::Enum,
            Type::Option(_) => WasmTypeKind::Option,
            Type::Result(_) => WasmTypeKind::Result,
            Type::Flags(_) => WasmTypeKind::Flags,
            Type::Map(_) => WasmTypeKind::Map,
            Type::Own(_) | Type::Borrow(_) | Type::Stream | Type::Future | Type::ErrorContext => {
                WasmTypeKind::Unsupported
            }
        }
    }

    fn list_element_type(&self) -> Option<Self> {
        match self {
            Type::List(l) => Some(l.ty()),
            Type::FixedLengthList(l) => Some(l.ty()),
            _ => None,
        }
    }

    fn record_fields(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Self)> + '_> {
        match self {
            Type::Record(r) => Box::new(r.fields().map(|(n, t)| (Cow::Borrowed(n), t))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn tuple_element_types(&self) -> Box<dyn Iterator<Item = Self> + '_> {
        match self {
            Type::Tuple(t) => Box::new(t.types()),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn variant_cases(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Option<Self>)> + '_> {
        match self {
            Type::Variant(v) => Box::new(v.cases().map(|(n, t)| (Cow::Borrowed(n), t))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn enum_cases(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Type::Enum(e) => Box::new(e.names().map(Cow::Borrowed)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn option_some_type(&self) -> Option<Self> {
        match self {
            Type::Option(o) => Some(o.ty()),
            _ => None,
        }
    }

    fn result_types(&self) -> Option<(Option<Self>, Option<Self>)> {
        match self {
            Type::Result(r) => Some((r.ok(), r.err())),
            _ => None,
        }
    }

    fn flags_names(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Type::Flags(f) => Box::new(f.names().map(Cow::Borrowed)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn map_key_value_types(&self) -> Option<(Self, Self)> {
        match self {
            Type::Map(m) => Some((m.key(), m.value())),
            _ => None,
        }
    }
}

impl WasmFunc for ComponentFunc {
    type Type = Type;

    fn params(&self) -> Box<dyn Iterator<Item = Type> + '_> {
        Box::new(ComponentFunc::params(self).map(|(_, t)| t))
    }

    fn param_names(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        Box::new(ComponentFunc::params(self).map(|(n, _)| Cow::Borrowed(n)))
    }

    fn results(&self) -> Box<dyn Iterator<Item = Type> + '_> {
        Box::new(ComponentFunc::results(self))
    }
}

/// A "wrong kind" panic of an `unwrap_*` accessor: the trait's contract
/// (the writer asks [`WasmValue::kind`] first and never gets here).
#[cold]
fn wrong_value(v: &Val, what: &str) -> ! {
    panic!("called unwrap_{what} on a {} value", v.kind())
}

macro_rules! primitives {
    ($(($case:ident, $ty:ty, $make:ident, $unwrap:ident, $name:literal)),* $(,)?) => {
        $(
            fn $make(x: $ty) -> Self {
                Val::$case(x)
            }

            fn $unwrap(&self) -> $ty {
                match self {
                    Val::$case(x) => *x,
                    other => wrong_value(other, $name),
                }
            }
        )*
    };
}

impl WasmValue for Val {
    type Type = Type;

    fn kind(&self) -> WasmTypeKind {
        match self {
            Val::Bool(_) => WasmTypeKind::Bool,
            Val::S8(_) => WasmTypeKind::S8,
            Val::U8(_) => WasmTypeKind::U8,
            Val::S16(_) => WasmTypeKind::S16,
            Val::U16(_) => WasmTypeKind::U16,
            Val::S32(_) => WasmTypeKind::S32,
            Val::U32(_) => WasmTypeKind::U32,
            Val::S64(_) => WasmTypeKind::S64,
            Val::U64(_) => WasmTypeKind::U64,
            Val::Float32(_) => WasmTypeKind::F32,
            Val::Float64(_) => WasmTypeKind::F64,
            Val::Char(_) => WasmTypeKind::Char,
            Val::String(_) => WasmTypeKind::String,
            Val::List(_) => WasmTypeKind::List,
            Val::Record(_) => WasmTypeKind::Record,
            Val::Tuple(_) => WasmTypeKind::Tuple,
            Val::Variant(..) => WasmTypeKind::Variant,
            Val::Enum(_) => WasmTypeKind::Enum,
            Val::Option(_) => WasmTypeKind::Option,
            Val::Result(_) => WasmTypeKind::Result,
            Val::Flags(_) => WasmTypeKind::Flags,
            Val::Map(_) => WasmTypeKind::Map,
            Val::Resource(_) => WasmTypeKind::Unsupported,
        }
    }

    primitives!(
        (Bool, bool, make_bool, unwrap_bool, "bool"),
        (S8, i8, make_s8, unwrap_s8, "s8"),
        (U8, u8, make_u8, unwrap_u8, "u8"),
        (S16, i16, make_s16, unwrap_s16, "s16"),
        (U16, u16, make_u16, unwrap_u16, "u16"),
        (S32, i32, make_s32, unwrap_s32, "s32"),
        (U32, u32, make_u32, unwrap_u32, "u32"),
        (S64, i64, make_s64, unwrap_s64, "s64"),
        (U64, u64, make_u64, unwrap_u64, "u64"),
        (Char, char, make_char, unwrap_char, "char"),
    );

    fn make_f32(x: f32) -> Self {
        Val::Float32(canonical_f32(x))
    }

    fn unwrap_f32(&self) -> f32 {
        match self {
            Val::Float32(x) => canonical_f32(*x),
            other => wrong_value(other, "f32"),
        }
    }

    fn make_f64(x: f64) -> Self {
        Val::Float64(canonical_f64(x))
    }

    fn unwrap_f64(&self) -> f64 {
        match self {
            Val::Float64(x) => canonical_f64(*x),
            other => wrong_value(other, "f64"),
        }
    }

    fn make_string(s: Cow<'_, str>) -> Self {
        Val::String(s.into_owned())
    }

    fn unwrap_string(&self) -> Cow<'_, str> {
        match self {
            Val::String(s) => Cow::Borrowed(s),
            other => wrong_value(other, "string"),
        }
    }

    fn make_list(ty: &Type, vals: impl IntoIterator<Item = Self>) -> Result<Self, WasmValueError> {
        ensure_type_kind(ty, WasmTypeKind::List)?;
        let vals: Vec<Val> = vals.into_iter().collect();
        if let Type::FixedLengthList(l) = ty
            && vals.len() != l.len() as usize
        {
            return Err(WasmValueError::Other(format!(
                "expected {} elements for {ty}, got {}",
                l.len(),
                vals.len()
            )));
        }
        Ok(Val::List(vals))
    }

    fn unwrap_list(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::List(vs) => Box::new(vs.iter().map(Cow::Borrowed)),
            other => wrong_value(other, "list"),
        }
    }

    fn make_record<'a>(
        ty: &Type,
        fields: impl IntoIterator<Item = (&'a str, Self)>,
    ) -> Result<Self, WasmValueError> {
        let Type::Record(record) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Record));
        };
        let mut given: Vec<(&str, Option<Val>)> =
            fields.into_iter().map(|(n, v)| (n, Some(v))).collect();
        let mut out = Vec::with_capacity(record.fields().len());
        // In the type's order, whatever order they came in.
        for (name, field_ty) in record.fields() {
            let v = match given.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.take(),
                None => None,
            };
            let v = match v {
                Some(v) => v,
                // An absent `option` field is `none`, as in WAVE's syntax.
                None if matches!(field_ty, Type::Option(_)) => Val::Option(None),
                None => return Err(WasmValueError::MissingField(name.to_string())),
            };
            out.push((name.to_string(), v));
        }
        if let Some((n, _)) = given.iter().find(|(_, v)| v.is_some()) {
            return Err(WasmValueError::UnknownField(n.to_string()));
        }
        Ok(Val::Record(out))
    }

    fn unwrap_record(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Cow<'_, Self>)> + '_> {
        match self {
            Val::Record(fs) => Box::new(
                fs.iter()
                    .map(|(n, v)| (Cow::Borrowed(n.as_str()), Cow::Borrowed(v))),
            ),
            other => wrong_value(other, "record"),
        }
    }

    fn make_tuple(ty: &Type, vals: impl IntoIterator<Item = Self>) -> Result<Self, WasmValueError> {
        let Type::Tuple(tuple) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Tuple));
        };
        let vals: Vec<Val> = vals.into_iter().collect();
        let want = tuple.types().len();
        if vals.len() != want {
            return Err(WasmValueError::WrongNumberOfTupleValues {
                want,
                got: vals.len(),
            });
        }
        Ok(Val::Tuple(vals))
    }

    fn unwrap_tuple(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::Tuple(vs) => Box::new(vs.iter().map(Cow::Borrowed)),
            other => wrong_value(other, "tuple"),
        }
    }

    fn make_variant(ty: &Type, case: &str, val: Option<Self>) -> Result<Self, WasmValueError> {
        let Type::Variant(variant) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Variant));
        };
        let Some((_, payload)) = variant.cases().find(|(n, _)| *n == case) else {
            return Err(WasmValueError::UnknownCase(case.to_string()));
        };
        match (payload, &val) {
            (Some(_), None) => Err(WasmValueError::MissingPayload(case.to_string())),
            (None, Some(_)) => Err(WasmValueError::UnexpectedPayload(case.to_string())),
            _ => Ok(Val::Variant(case.to_string(), val.map(Box::new))),
        }
    }

    fn unwrap_variant(&self) -> (Cow<'_, str>, Option<Cow<'_, Self>>) {
        match self {
            Val::Variant(n, v) => (Cow::Borrowed(n.as_str()), v.as_deref().map(Cow::Borrowed)),
            other => wrong_value(other, "variant"),
        }
    }

    fn make_enum(ty: &Type, case: &str) -> Result<Self, WasmValueError> {
        let Type::Enum(e) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Enum));
        };
        if !e.names().any(|n| n == case) {
            return Err(WasmValueError::UnknownCase(case.to_string()));
        }
        Ok(Val::Enum(case.to_string()))
    }

    fn unwrap_enum(&self) -> Cow<'_, str> {
        match self {
            Val::Enum(n) => Cow::Borrowed(n.as_str()),
            other => wrong_value(other, "enum"),
        }
    }

    fn make_option(ty: &Type, val: Option<Self>) -> Result<Self, WasmValueError> {
        ensure_type_kind(ty, WasmTypeKind::Option)?;
        Ok(Val::Option(val.map(Box::new)))
    }

    fn unwrap_option(&self) -> Option<Cow<'_, Self>> {
        match self {
            Val::Option(v) => v.as_deref().map(Cow::Borrowed),
            other => wrong_value(other, "option"),
        }
    }

    fn make_result(
        ty: &Type,
        val: Result<Option<Self>, Option<Self>>,
    ) -> Result<Self, WasmValueError> {
        let Type::Result(r) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Result));
        };
        let (case, expected, given) = match &val {
            Ok(v) => ("ok", r.ok(), v.is_some()),
            Err(v) => ("err", r.err(), v.is_some()),
        };
        match (expected.is_some(), given) {
            (true, false) => return Err(WasmValueError::MissingPayload(case.to_string())),
            (false, true) => return Err(WasmValueError::UnexpectedPayload(case.to_string())),
            _ => {}
        }
        Ok(Val::Result(match val {
            Ok(v) => Ok(v.map(Box::new)),
            Err(v) => Err(v.map(Box::new)),
        }))
    }

    fn unwrap_result(&self) -> Result<Option<Cow<'_, Self>>, Option<Cow<'_, Self>>> {
        match self {
            Val::Result(Ok(v)) => Ok(v.as_deref().map(Cow::Borrowed)),
            Val::Result(Err(v)) => Err(v.as_deref().map(Cow::Borrowed)),
            other => wrong_value(other, "result"),
        }
    }

    fn make_flags<'a>(
        ty: &Type,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, WasmValueError> {
        let Type::Flags(flags) = ty else {
            return Err(wrong_kind(ty, WasmTypeKind::Flags));
        };
        let mut given: Vec<&str> = names.into_iter().collect();
        if let Some(unknown) = given.iter().find(|g| !flags.names().any(|n| n == **g)) {
            return Err(WasmValueError::UnknownField(unknown.to_string()));
        }
        // In the type's order, each once.
        given.sort_by_key(|g| flags.names().position(|n| n == *g));
        given.dedup();
        Ok(Val::Flags(given.into_iter().map(str::to_string).collect()))
    }

    fn unwrap_flags(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Val::Flags(ns) => Box::new(ns.iter().map(|n| Cow::Borrowed(n.as_str()))),
            other => wrong_value(other, "flags"),
        }
    }

    fn make_map(
        ty: &Type,
        entries: impl IntoIterator<Item = (Self, Self)>,
    ) -> Result<Self, WasmValueError> {
        ensure_type_kind(ty, WasmTypeKind::Map)?;
        Ok(Val::Map(entries.into_iter().collect()))
    }

    fn unwrap_map(&self) -> Box<dyn Iterator<Item = (Cow<'_, Self>, Cow<'_, Self>)> + '_> {
        match self {
            Val::Map(es) => Box::new(es.iter().map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))),
            other => wrong_value(other, "map"),
        }
    }
}

/// The error for a value made with a type of another kind.
fn wrong_kind(ty: &Type, kind: WasmTypeKind) -> WasmValueError {
    WasmValueError::WrongTypeKind {
        kind,
        ty: ty.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::component::Component;
    use crate::component::types::ComponentItem;

    /// The types `params` (type uses in the text format, after the type
    /// definitions `defs`), taken from a component exporting a function of
    /// a `list<tuple<params...>>`. Records, variants, enums, flags and
    /// resources in an export's type must be exported types themselves.
    fn param_types(defs: &str, params: &str) -> Vec<Type> {
        let wat = format!(
            r#"(component
                {defs}
                (type $params (list (tuple {params})))
                (core module $m
                  (memory (export "mem") 1)
                  (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
                  (func (export "f") (param i32 i32)))
                (core instance $i (instantiate $m))
                (func (export "f") (param "p" $params)
                  (canon lift (core func $i "f") (memory (core memory $i "mem")) (realloc (core func $i "realloc")))))"#
        );
        let engine = Engine::default();
        let c = Component::new(&engine, &wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let (_, item) = c.exports().find(|(n, _)| *n == "f").expect("exports f");
        let ComponentItem::ComponentFunc(f) = item else {
            panic!("not a function")
        };
        let (_, Type::List(l)) = f.params().next().expect("one param") else {
            panic!("not a list")
        };
        let Type::Tuple(t) = l.ty() else {
            panic!("not a tuple")
        };
        t.types().collect()
    }

    fn round_trip(ty: &Type, v: &Val) -> String {
        let text = wasm_wave::to_string(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        let back: Val = wasm_wave::from_str(ty, &text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&back, v, "{text} as {ty}");
        text
    }

    #[test]
    fn every_kind_round_trips() {
        let defs = r#"
            (type $point-def (record (field "x" s32) (field "y" s32) (field "label" (option string)))) (export $point "point" (type $point-def))
            (type $shape-def (variant (case "circle" f64) (case "none"))) (export $shape "shape" (type $shape-def))
            (type $color-def (enum "red" "green" "blue")) (export $color "color" (type $color-def))
            (type $perm-def (flags "read" "write" "exec")) (export $perm "perm" (type $perm-def))
            (type $res (result u8 (error string)))
            (type $res-ok (result u8))
            (type $res-none (result))
            (type $list (list $point))
            (type $tuple (tuple bool char))
            (type $opt (option (option u32)))
        "#;
        let tys = param_types(
            defs,
            "bool s8 u8 s16 u16 s32 u32 s64 u64 f32 f64 char string \
             $point $shape $color $perm $res $res-ok $res-none $list $tuple $opt",
        );
        let b = |v: Val| Some(Box::new(v));
        let point = |x, y, l: Option<&str>| {
            Val::Record(vec![
                ("x".into(), Val::S32(x)),
                ("y".into(), Val::S32(y)),
                (
                    "label".into(),
                    Val::Option(l.map(|l| Box::new(Val::String(l.into())))),
                ),
            ])
        };
        let cases: Vec<(usize, Val, &str)> = vec![
            (0, Val::Bool(true), "true"),
            (1, Val::S8(-128), "-128"),
            (2, Val::U8(255), "255"),
            (3, Val::S16(-300), "-300"),
            (4, Val::U16(65535), "65535"),
            (5, Val::S32(i32::MIN), "-2147483648"),
            (6, Val::U32(u32::MAX), "4294967295"),
            (7, Val::S64(i64::MIN), "-9223372036854775808"),
            (8, Val::U64(u64::MAX), "18446744073709551615"),
            (9, Val::Float32(1.5), "1.5"),
            (9, Val::Float32(f32::NEG_INFINITY), "-inf"),
            (10, Val::Float64(-0.25), "-0.25"),
            (10, Val::Float64(f64::NAN), "nan"),
            (11, Val::Char('🍰'), "'🍰'"),
            (11, Val::Char('\''), r"'\''"),
            (
                12,
                Val::String("hi \"there\"\n".into()),
                r#""hi \"there\"\n""#,
            ),
            (13, point(1, -2, None), "{x: 1, y: -2}"),
            (
                13,
                point(3, 4, Some("p")),
                r#"{x: 3, y: 4, label: some("p")}"#,
            ),
            (
                14,
                Val::Variant("circle".into(), b(Val::Float64(2.0))),
                "circle(2)",
            ),
            (14, Val::Variant("none".into(), None), "%none"),
            (15, Val::Enum("green".into()), "green"),
            (
                16,
                Val::Flags(vec!["read".into(), "exec".into()]),
                "{read, exec}",
            ),
            (16, Val::Flags(vec![]), "{}"),
            (17, Val::Result(Ok(b(Val::U8(7)))), "ok(7)"),
            (
                17,
                Val::Result(Err(b(Val::String("bad".into())))),
                r#"err("bad")"#,
            ),
            (18, Val::Result(Err(None)), "err"),
            (19, Val::Result(Ok(None)), "ok"),
            (
                20,
                Val::List(vec![point(0, 0, None), point(1, 1, None)]),
                "[{x: 0, y: 0}, {x: 1, y: 1}]",
            ),
            (20, Val::List(vec![]), "[]"),
            (
                21,
                Val::Tuple(vec![Val::Bool(false), Val::Char('x')]),
                "(false, 'x')",
            ),
            (
                22,
                Val::Option(b(Val::Option(b(Val::U32(5))))),
                "some(some(5))",
            ),
            (22, Val::Option(b(Val::Option(None))), "some(none)"),
            (22, Val::Option(None), "none"),
        ];
        let mut kinds = std::collections::HashSet::new();
        for (i, v, text) in &cases {
            if let Val::Float64(x) = v
                && x.is_nan()
            {
                // NaN != NaN: check the text and that it parses to a NaN.
                assert_eq!(wasm_wave::to_string(v).unwrap(), *text);
                let back: Val = wasm_wave::from_str(&tys[*i], text).unwrap();
                assert!(matches!(back, Val::Float64(x) if x.is_nan()));
                continue;
            }
            assert_eq!(round_trip(&tys[*i], v), *text, "{v:?}");
            kinds.insert(tys[*i].desc());
        }
        // Every kind WAVE has syntax for, but maps and fixed-length lists
        // (their own test).
        assert_eq!(kinds.len(), 21, "{kinds:?}");
    }

    #[test]
    fn maps_and_fixed_length_lists_round_trip() {
        // Maps and fixed-length lists are behind their own features in the
        // validator; build their types directly in a table.
        use nyash_aot::component::types::{
            ComponentTypes, DefinedType, InterfaceType as I, TypeIndex,
        };
        let engine = Engine::default();
        let c = Component::new(&engine, "(component)").unwrap();
        let table = ComponentTypes {
            defined: vec![
                DefinedType::Map {
                    key: I::String,
                    value: I::U32,
                },
                DefinedType::FixedLengthList {
                    element: I::U8,
                    len: 3,
                },
            ],
            ..Default::default()
        };
        let cx = crate::component::types::TypeCx::of_table(&c, std::sync::Arc::new(table));
        let map = cx.ty(I::Defined(TypeIndex(0)));
        let fixed = cx.ty(I::Defined(TypeIndex(1)));
        let m = Val::Map(vec![
            (Val::String("a".into()), Val::U32(1)),
            (Val::String("b".into()), Val::U32(2)),
        ]);
        assert_eq!(round_trip(&map, &m), r#"{"a": 1, "b": 2}"#);
        let l = Val::List(vec![Val::U8(1), Val::U8(2), Val::U8(3)]);
        assert_eq!(round_trip(&fixed, &l), "[1, 2, 3]");
        let e = wasm_wave::from_str::<Val>(&fixed, "[1, 2]").unwrap_err();
        assert!(e.to_string().contains("expected 3 elements"), "{e}");
        assert_eq!(fixed.to_string(), "list<u8, 3>");
        assert_eq!(map.to_string(), "map<string, u32>");
    }

    #[test]
    fn values_that_do_not_match_are_errors_naming_what() {
        let tys = param_types(
            r#"(type $r-def (record (field "a" u8) (field "b" u8))) (export $r "r" (type $r-def))
               (type $v-def (variant (case "x" u8) (case "y"))) (export $v "v" (type $v-def))
               (type $e-def (enum "one" "two")) (export $e "e" (type $e-def))
               (type $f-def (flags "p" "q")) (export $f "fl" (type $f-def))"#,
            "$r $v $e $f u8 string",
        );
        let err = |i: usize, text: &str| {
            wasm_wave::from_str::<Val>(&tys[i], text)
                .expect_err(text)
                .to_string()
        };
        assert!(err(0, "{a: 1}").contains("missing field \"b\""));
        assert!(err(0, "{a: 1, b: 2, c: 3}").contains("invalid value"));
        assert!(err(1, "z").contains("unknown case \"z\""));
        assert!(err(1, "x").contains("missing payload for \"x\""));
        assert!(err(1, "y(1)").contains("unexpected payload for \"y\""));
        assert!(err(2, "three").contains("unknown case \"three\""));
        assert!(err(3, "{p, r}").contains("unknown field \"r\""));
        assert!(!err(4, "256").is_empty());
        assert!(!err(5, "1").is_empty());
    }

    #[test]
    fn resources_have_no_wave_form() {
        let tys = param_types(
            r#"(type $r-def (resource (rep i32))) (export $r "r" (type $r-def))
               (type $own (own $r))"#,
            "$own",
        );
        assert!(matches!(tys[0], Type::Own(_)));
        assert_eq!(tys[0].kind(), WasmTypeKind::Unsupported);
        assert!(wasm_wave::from_str::<Val>(&tys[0], "1").is_err());
    }

    #[test]
    fn types_display_as_wit() {
        let tys = param_types(
            r#"(type $r-def (record (field "x" u32) (field "y" (list string)))) (export $r "r" (type $r-def))
               (type $res (result (error u8)))
               (type $v-def (variant (case "a") (case "b" (tuple u8 char)))) (export $v "v" (type $v-def))"#,
            "$r $res $v",
        );
        assert_eq!(tys[0].to_string(), "record { x: u32, y: list<string> }");
        assert_eq!(tys[1].to_string(), "result<_, u8>");
        assert_eq!(tys[2].to_string(), "variant { a, b(tuple<u8, char>) }");
        // Handles of the same definition are equal; of other ones not.
        assert_eq!(tys[0], tys[0].clone());
        assert_ne!(tys[0], tys[1]);
    }
}

//! The generator's model of interface types and values: [`Ty`] (with the
//! canonical ABI's flattening and memory layout, which the core code the
//! generator emits must follow), [`V`] (a value, floats by their bits),
//! random types and values, the transform the `transform` exports apply
//! (computed here too, as the expected result), and the conversions to and
//! from both engines' `Val`s.

use nyash_engine::component as ny;
use wasmtime::component as wt;

/// Deterministic random numbers (splitmix64).
pub type Rng = nyash_test_util::SplitMix64;

/// An interface type. Named types (records, variants, enums, flags) carry
/// an `id`, unique in a seed: the component exports them as `t{id}`.
#[derive(Clone, Debug)]
pub enum Ty {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(Box<Ty>),
    Record {
        id: usize,
        fields: Vec<Ty>,
    },
    Tuple(Vec<Ty>),
    Variant {
        id: usize,
        cases: Vec<Option<Ty>>,
    },
    Enum {
        id: usize,
        cases: u32,
    },
    Option(Box<Ty>),
    Result(Option<Box<Ty>>, Option<Box<Ty>>),
    Flags {
        id: usize,
        count: u32,
    },
    /// `list<T, N>` (N ≥ 1): in the canonical ABI a tuple of N `T`s, the
    /// generator's values `V::Tuple`.
    FixedList(Box<Ty>, u32),
    /// `map<K, V>`: in the canonical ABI a `list<tuple<K, V>>`, the
    /// generator's values a `V::List` of two-element `V::Tuple`s with
    /// distinct keys.
    Map(Box<Ty>, Box<Ty>),
}

/// A core value type of a flattened interface type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flat {
    I32,
    I64,
    F32,
    F64,
}

/// The canonical ABI's join of two flat types in one variant slot.
pub fn join(a: Flat, b: Flat) -> Flat {
    match (a, b) {
        _ if a == b => a,
        (Flat::I32, Flat::F32) | (Flat::F32, Flat::I32) => Flat::I32,
        _ => Flat::I64,
    }
}

/// The type kinds the coverage floors count (the order of the summary).
pub const KINDS: [&str; 23] = [
    "bool",
    "s8",
    "u8",
    "s16",
    "u16",
    "s32",
    "u32",
    "s64",
    "u64",
    "f32",
    "f64",
    "char",
    "string",
    "list",
    "record",
    "tuple",
    "variant",
    "enum",
    "option",
    "result",
    "flags",
    "fixed-list",
    "map",
];

/// Field, case and flag names (kebab-case words, unique in their type).
pub fn field_name(i: usize) -> String {
    format!("f{i}")
}
pub fn case_name(i: usize) -> String {
    format!("c{i}")
}
pub fn enum_name(i: usize) -> String {
    format!("e{i}")
}
pub fn flag_name(i: usize) -> String {
    format!("g{i}")
}

fn align_to(x: u32, a: u32) -> u32 {
    x.div_ceil(a) * a
}

/// The bytes of a discriminant for `n` cases.
pub fn disc_size(n: usize) -> u32 {
    if n <= 256 {
        1
    } else if n <= 65536 {
        2
    } else {
        4
    }
}

impl Ty {
    /// The kind's index in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Ty::Bool => 0,
            Ty::S8 => 1,
            Ty::U8 => 2,
            Ty::S16 => 3,
            Ty::U16 => 4,
            Ty::S32 => 5,
            Ty::U32 => 6,
            Ty::S64 => 7,
            Ty::U64 => 8,
            Ty::F32 => 9,
            Ty::F64 => 10,
            Ty::Char => 11,
            Ty::String => 12,
            Ty::List(_) => 13,
            Ty::Record { .. } => 14,
            Ty::Tuple(_) => 15,
            Ty::Variant { .. } => 16,
            Ty::Enum { .. } => 17,
            Ty::Option(_) => 18,
            Ty::Result(..) => 19,
            Ty::Flags { .. } => 20,
            Ty::FixedList(..) => 21,
            Ty::Map(..) => 22,
        }
    }

    /// The type the canonical ABI treats this one as, all the way down: a
    /// fixed-length list is a tuple of its elements, a map a list of
    /// key-value tuples (same flattening, layout and lowering). The core
    /// code is emitted from this form.
    pub fn abi(&self) -> Ty {
        let b = |t: &Ty| Box::new(t.abi());
        match self {
            Ty::FixedList(t, n) => Ty::Tuple(vec![t.abi(); *n as usize]),
            Ty::Map(k, v) => Ty::List(Box::new(Ty::Tuple(vec![k.abi(), v.abi()]))),
            Ty::List(t) => Ty::List(b(t)),
            Ty::Record { id, fields } => Ty::Record {
                id: *id,
                fields: fields.iter().map(Ty::abi).collect(),
            },
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(Ty::abi).collect()),
            Ty::Variant { id, cases } => Ty::Variant {
                id: *id,
                cases: cases.iter().map(|c| c.as_ref().map(Ty::abi)).collect(),
            },
            Ty::Option(t) => Ty::Option(b(t)),
            Ty::Result(ok, err) => Ty::Result(ok.as_deref().map(b), err.as_deref().map(b)),
            t => t.clone(),
        }
    }

    /// The cases of a variant-like type (variant, option, result), each
    /// with its payload type.
    pub fn cases(&self) -> Option<Vec<Option<&Ty>>> {
        Some(match self {
            Ty::Variant { cases, .. } => cases.iter().map(|c| c.as_ref()).collect(),
            Ty::Option(t) => vec![None, Some(&**t)],
            Ty::Result(ok, err) => vec![ok.as_deref(), err.as_deref()],
            _ => return None,
        })
    }

    /// The canonical ABI's flattening.
    pub fn flat(&self) -> Vec<Flat> {
        let mut out = Vec::new();
        self.flat_into(&mut out);
        out
    }

    fn flat_into(&self, out: &mut Vec<Flat>) {
        match self {
            Ty::Bool
            | Ty::S8
            | Ty::U8
            | Ty::S16
            | Ty::U16
            | Ty::S32
            | Ty::U32
            | Ty::Char
            | Ty::Enum { .. }
            | Ty::Flags { .. } => out.push(Flat::I32),
            Ty::S64 | Ty::U64 => out.push(Flat::I64),
            Ty::F32 => out.push(Flat::F32),
            Ty::F64 => out.push(Flat::F64),
            Ty::String | Ty::List(_) => out.extend([Flat::I32, Flat::I32]),
            Ty::Record { fields: ts, .. } | Ty::Tuple(ts) => {
                for t in ts {
                    t.flat_into(out);
                }
            }
            Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
                out.push(Flat::I32);
                out.extend(self.joined());
            }
            Ty::FixedList(..) | Ty::Map(..) => self.abi().flat_into(out),
        }
    }

    /// A variant-like type's payload slots: the join of its cases' flat
    /// types, position by position.
    pub fn joined(&self) -> Vec<Flat> {
        let mut slots: Vec<Flat> = Vec::new();
        for case in self.cases().unwrap_or_default().into_iter().flatten() {
            for (i, f) in case.flat().into_iter().enumerate() {
                match slots.get_mut(i) {
                    Some(s) => *s = join(*s, f),
                    None => slots.push(f),
                }
            }
        }
        slots
    }

    /// Size and alignment in linear memory.
    pub fn size_align(&self) -> (u32, u32) {
        match self {
            Ty::Bool | Ty::S8 | Ty::U8 => (1, 1),
            Ty::S16 | Ty::U16 => (2, 2),
            Ty::S32 | Ty::U32 | Ty::Char | Ty::F32 => (4, 4),
            Ty::S64 | Ty::U64 | Ty::F64 => (8, 8),
            Ty::String | Ty::List(_) => (8, 4),
            Ty::Record { fields: ts, .. } | Ty::Tuple(ts) => {
                let (mut size, mut align) = (0, 1);
                for t in ts {
                    let (s, a) = t.size_align();
                    size = align_to(size, a) + s;
                    align = align.max(a);
                }
                (align_to(size, align), align)
            }
            Ty::Enum { cases, .. } => {
                let d = disc_size(*cases as usize);
                (d, d)
            }
            Ty::Flags { count, .. } => match count {
                0..=8 => (1, 1),
                9..=16 => (2, 2),
                _ => (4, 4),
            },
            Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
                let cases = self.cases().unwrap_or_default();
                let d = disc_size(cases.len());
                let (mut size, mut align) = (0, d);
                for c in cases.into_iter().flatten() {
                    let (s, a) = c.size_align();
                    size = size.max(s);
                    align = align.max(a);
                }
                let payload = align_to(d, align);
                (align_to(payload + size, align), align)
            }
            Ty::FixedList(..) | Ty::Map(..) => self.abi().size_align(),
        }
    }

    /// The offset of a variant-like type's payload from its start.
    pub fn payload_offset(&self) -> u32 {
        let cases = self.cases().unwrap_or_default();
        let d = disc_size(cases.len());
        let align = cases
            .into_iter()
            .flatten()
            .map(|c| c.size_align().1)
            .fold(d, u32::max);
        align_to(d, align)
    }

    /// The offsets of a record's or tuple's fields.
    pub fn field_offsets(&self) -> Vec<u32> {
        let (Ty::Record { fields: ts, .. } | Ty::Tuple(ts)) = self else {
            return Vec::new();
        };
        let mut off = 0;
        ts.iter()
            .map(|t| {
                let (s, a) = t.size_align();
                off = align_to(off, a);
                let here = off;
                off += s;
                here
            })
            .collect()
    }

    /// The WIT-like text of the type, for messages.
    pub fn wit(&self) -> String {
        let list = |ts: &[Ty]| ts.iter().map(Ty::wit).collect::<Vec<_>>().join(", ");
        match self {
            Ty::Bool => "bool".into(),
            Ty::S8 => "s8".into(),
            Ty::U8 => "u8".into(),
            Ty::S16 => "s16".into(),
            Ty::U16 => "u16".into(),
            Ty::S32 => "s32".into(),
            Ty::U32 => "u32".into(),
            Ty::S64 => "s64".into(),
            Ty::U64 => "u64".into(),
            Ty::F32 => "f32".into(),
            Ty::F64 => "f64".into(),
            Ty::Char => "char".into(),
            Ty::String => "string".into(),
            Ty::List(t) => format!("list<{}>", t.wit()),
            Ty::Record { id, fields } => format!(
                "record t{id} {{ {} }}",
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("{}: {}", field_name(i), t.wit()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Tuple(ts) => format!("tuple<{}>", list(ts)),
            Ty::Variant { id, cases } => format!(
                "variant t{id} {{ {} }}",
                cases
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        Some(t) => format!("{}({})", case_name(i), t.wit()),
                        None => case_name(i),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Enum { id, cases } => format!("enum t{id} ({cases} cases)"),
            Ty::Option(t) => format!("option<{}>", t.wit()),
            Ty::Result(ok, err) => {
                let s = |t: &Option<Box<Ty>>| t.as_ref().map_or("_".to_string(), |t| t.wit());
                format!("result<{}, {}>", s(ok), s(err))
            }
            Ty::Flags { id, count } => format!("flags t{id} ({count} flags)"),
            Ty::FixedList(t, n) => format!("list<{}, {n}>", t.wit()),
            Ty::Map(k, v) => format!("map<{}, {}>", k.wit(), v.wit()),
        }
    }
}

/// A value of a [`Ty`]; floats by their bits, cases and flags by index.
#[derive(Clone, Debug)]
pub enum V {
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    S32(i32),
    U32(u32),
    S64(i64),
    U64(u64),
    F32(u32),
    F64(u64),
    Char(char),
    String(String),
    List(Vec<V>),
    Record(Vec<V>),
    Tuple(Vec<V>),
    /// A variant, option (case 0 `none`, 1 `some`) or result (0 `ok`, 1
    /// `err`): the case and its payload.
    Case(u32, Option<Box<V>>),
    Enum(u32),
    Flags(u32),
}

impl PartialEq for V {
    /// Equal values; two NaNs are equal whatever their bits (the canonical
    /// ABI may canonicalize a NaN), other floats by their bits.
    fn eq(&self, other: &V) -> bool {
        use V::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a == b,
            (S8(a), S8(b)) => a == b,
            (U8(a), U8(b)) => a == b,
            (S16(a), S16(b)) => a == b,
            (U16(a), U16(b)) => a == b,
            (S32(a), S32(b)) => a == b,
            (U32(a), U32(b)) => a == b,
            (S64(a), S64(b)) => a == b,
            (U64(a), U64(b)) => a == b,
            (F32(a), F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (F64(a), F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (Char(a), Char(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Record(a), Record(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Case(a, x), Case(b, y)) => a == b && x == y,
            (Enum(a), Enum(b)) => a == b,
            (Flags(a), Flags(b)) => a == b,
            _ => false,
        }
    }
}

impl V {
    /// Marks the kinds of type this value exercises (a list's element kind
    /// only if the list has elements, a case's payload only if present).
    pub fn kinds(&self, ty: &Ty, seen: &mut [bool; KINDS.len()]) {
        seen[ty.kind()] = true;
        match (self, ty) {
            (V::List(vs), Ty::List(t)) => vs.iter().for_each(|v| v.kinds(t, seen)),
            (V::Tuple(vs), Ty::FixedList(t, _)) => vs.iter().for_each(|v| v.kinds(t, seen)),
            (V::List(es), Ty::Map(k, v)) => {
                for e in es {
                    if let V::Tuple(kv) = e
                        && let [x, y] = &kv[..]
                    {
                        x.kinds(k, seen);
                        y.kinds(v, seen);
                    }
                }
            }
            (V::Record(vs), Ty::Record { fields: ts, .. }) | (V::Tuple(vs), Ty::Tuple(ts)) => {
                vs.iter().zip(ts).for_each(|(v, t)| v.kinds(t, seen))
            }
            (V::Case(c, Some(p)), _) => {
                if let Some(Some(t)) = ty.cases().and_then(|cs| cs.get(*c as usize).copied()) {
                    p.kinds(t, seen);
                }
            }
            _ => {}
        }
    }

    /// Where `self` and `other` first differ: a path (`.2[7]`: element 7
    /// of field 2; `!` a case's payload) and both parts there.
    pub fn first_difference(&self, other: &V) -> Option<String> {
        if self == other {
            return None;
        }
        let here = || Some(format!(": {} / {}", self.show(), other.show()));
        match (self, other) {
            (V::List(a), V::List(b))
            | (V::Record(a), V::Record(b))
            | (V::Tuple(a), V::Tuple(b))
                if a.len() == b.len() =>
            {
                let list = matches!(self, V::List(_));
                a.iter().zip(b).enumerate().find_map(|(i, (x, y))| {
                    let at = if list {
                        format!("[{i}]")
                    } else {
                        format!(".{i}")
                    };
                    x.first_difference(y).map(|d| format!("{at}{d}"))
                })
            }
            (V::Case(c, Some(x)), V::Case(d, Some(y))) if c == d => {
                x.first_difference(y).map(|d| format!("!{d}"))
            }
            (V::String(a), V::String(b)) => {
                let i = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
                let tail = |s: &str| s.chars().skip(i).take(12).collect::<String>();
                Some(format!(
                    " (strings of {} and {} chars, first different at char {i}: {:?} / {:?})",
                    a.chars().count(),
                    b.chars().count(),
                    tail(a),
                    tail(b)
                ))
            }
            _ => here(),
        }
    }

    /// A short rendering for messages (long strings and lists cut).
    pub fn show(&self) -> String {
        let s = format!("{self:?}");
        if s.len() > 600 {
            let mut end = 600;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}... ({} chars)", &s[..end], s.len())
        } else {
            s
        }
    }
}

/// Makes random types.
pub struct TypeGen<'r> {
    pub rng: &'r mut Rng,
    /// The next named type's id.
    pub next_id: usize,
}

impl TypeGen<'_> {
    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id - 1
    }

    fn primitive(&mut self) -> Ty {
        match self.rng.below(13) {
            0 => Ty::Bool,
            1 => Ty::S8,
            2 => Ty::U8,
            3 => Ty::S16,
            4 => Ty::U16,
            5 => Ty::S32,
            6 => Ty::U32,
            7 => Ty::S64,
            8 => Ty::U64,
            9 => Ty::F32,
            10 => Ty::F64,
            11 => Ty::Char,
            _ => Ty::String,
        }
    }

    /// A random type nested at most `depth` levels.
    pub fn ty(&mut self, depth: u32) -> Ty {
        let leaf = depth == 0 || self.rng.chance(30);
        if leaf {
            return match self.rng.below(16) {
                0 => {
                    let id = self.id();
                    Ty::Enum {
                        id,
                        cases: {
                            let max = if self.rng.one_in(8) { 300 } else { 6 };
                            1 + self.rng.below(max) as u32
                        },
                    }
                }
                1 => {
                    let id = self.id();
                    Ty::Flags {
                        id,
                        count: 1 + self.rng.below(32) as u32,
                    }
                }
                _ => self.primitive(),
            };
        }
        let d = depth - 1;
        match self.rng.below(9) {
            0 => Ty::List(Box::new(self.ty(d))),
            1 => {
                let max = if self.rng.one_in(6) { 20 } else { 5 };
                let n = 1 + self.rng.below(max);
                let fields = (0..n).map(|_| self.ty(d)).collect();
                let id = self.id();
                Ty::Record { id, fields }
            }
            2 => {
                let n = 1 + self.rng.below(5);
                Ty::Tuple((0..n).map(|_| self.ty(d)).collect())
            }
            3 | 4 => {
                // Now and then more than 256 cases (a two-byte
                // discriminant), few of them with a payload.
                let (n, payload) = if self.rng.one_in(25) {
                    (257 + self.rng.below(40), 3)
                } else {
                    (1 + self.rng.below(6), 70)
                };
                let cases = (0..n)
                    .map(|_| self.rng.chance(payload).then(|| self.ty(d)))
                    .collect();
                let id = self.id();
                Ty::Variant { id, cases }
            }
            5 => Ty::Option(Box::new(self.ty(d))),
            7 if self.rng.chance(50) => {
                let n = if self.rng.one_in(8) {
                    9 + self.rng.below(24)
                } else {
                    1 + self.rng.below(4)
                };
                Ty::FixedList(Box::new(self.ty(d)), n as u32)
            }
            8 => {
                // Keys: the primitives but floats (the `<keytype>` rule).
                let key = loop {
                    match self.primitive() {
                        Ty::F32 | Ty::F64 => continue,
                        k => break k,
                    }
                };
                Ty::Map(Box::new(key), Box::new(self.ty(d)))
            }
            6 => {
                let mut side = || (!self.rng.chance(25)).then(|| Box::new(self.ty(d)));
                let ok = side();
                let err = side();
                Ty::Result(ok, err)
            }
            _ => self.primitive(),
        }
    }
}

/// Characters strings are made of: ASCII (letters, for the transform),
/// Latin-1, the rest of the BMP (around the surrogates) and astral ones.
const CHARS: &[char] = &[
    'a',
    'b',
    'Z',
    'q',
    'Y',
    ' ',
    '0',
    '~',
    '\0',
    '\u{7f}',
    'é',
    'ÿ',
    '\u{80}',
    '×',
    'ß',
    'Ā',
    'ő',
    '€',
    '中',
    '語',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '🍰',
    '𝄞',
    '😀',
    '\u{10000}',
    '\u{10ffff}',
];

fn rand_char(rng: &mut Rng) -> char {
    match rng.below(4) {
        0 => CHARS[rng.below(CHARS.len())],
        1 => (b'A' + rng.below(58) as u8) as char,
        _ => loop {
            let c = if rng.chance(50) {
                rng.below(0x800) as u32
            } else {
                rng.below(0x11_0000) as u32
            };
            if let Some(c) = char::from_u32(c) {
                break c;
            }
        },
    }
}

/// A string whose characters come from one "alphabet" (ASCII only, Latin-1
/// only, or anything), so every string encoding's compact and wide forms
/// are reached.
fn rand_string(rng: &mut Rng, budget: &mut usize) -> String {
    let len = match rng.below(20) {
        0..=3 => 0,
        4..=16 => 1 + rng.below(12),
        17 | 18 => 12 + rng.below(100),
        _ => 200 + rng.below(3000),
    }
    .min(*budget);
    *budget -= len;
    let alphabet = rng.below(3);
    (0..len)
        .map(|_| match alphabet {
            0 => (b' ' + rng.below(95) as u8) as char,
            1 => char::from_u32(rng.below(256) as u32).unwrap_or('?'),
            _ => rand_char(rng),
        })
        .collect()
}

fn rand_f32(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0 => 0x7fc0_0000 | (rng.next_u64() as u32 & 0x803f_ffff),
        1 => [0, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 1, 0x7f7f_ffff][rng.below(6)],
        2 => (rng.below(2000) as f32 - 1000.0).to_bits(),
        _ => rng.next_u64() as u32,
    }
}

fn rand_f64(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => 0x7ff8_0000_0000_0000 | (rng.next_u64() & 0x8007_ffff_ffff_ffff),
        1 => [
            0,
            1 << 63,
            0x7ff0 << 48,
            0xfff0 << 48,
            1,
            0x7fef_ffff_ffff_ffff,
        ][rng.below(6)],
        2 => (rng.below(2000) as f64 - 1000.0).to_bits(),
        _ => rng.next_u64(),
    }
}

fn rand_int(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => rng.below(4) as u64,
        1 => u64::MAX - rng.below(3) as u64,
        _ => rng.next_u64(),
    }
}

/// A random value of `ty`; `budget` bounds the elements and characters
/// made in all.
pub fn rand_val(rng: &mut Rng, ty: &Ty, budget: &mut usize) -> V {
    *budget = budget.saturating_sub(1);
    match ty {
        Ty::Bool => V::Bool(rng.chance(50)),
        Ty::S8 => V::S8(rand_int(rng) as i8),
        Ty::U8 => V::U8(rand_int(rng) as u8),
        Ty::S16 => V::S16(rand_int(rng) as i16),
        Ty::U16 => V::U16(rand_int(rng) as u16),
        Ty::S32 => V::S32(rand_int(rng) as i32),
        Ty::U32 => V::U32(rand_int(rng) as u32),
        Ty::S64 => V::S64(rand_int(rng) as i64),
        Ty::U64 => V::U64(rand_int(rng)),
        Ty::F32 => V::F32(rand_f32(rng)),
        Ty::F64 => V::F64(rand_f64(rng)),
        Ty::Char => V::Char(rand_char(rng)),
        Ty::String => V::String(rand_string(rng, budget)),
        Ty::List(t) => {
            let len = match rng.below(20) {
                0..=4 => 0,
                5..=16 => 1 + rng.below(5),
                17 | 18 => 5 + rng.below(30),
                _ => 100 + rng.below(2000),
            }
            .min(*budget);
            V::List((0..len).map(|_| rand_val(rng, t, budget)).collect())
        }
        Ty::Record { fields, .. } => {
            V::Record(fields.iter().map(|t| rand_val(rng, t, budget)).collect())
        }
        Ty::Tuple(ts) => V::Tuple(ts.iter().map(|t| rand_val(rng, t, budget)).collect()),
        Ty::FixedList(t, n) => V::Tuple((0..*n).map(|_| rand_val(rng, t, budget)).collect()),
        Ty::Map(k, v) => {
            let len = match rng.below(20) {
                0..=4 => 0,
                5..=17 => 1 + rng.below(6),
                _ => 6 + rng.below(60),
            }
            .min(*budget);
            // Distinct keys (a few tries: a `bool` has two).
            let mut keys: Vec<V> = Vec::new();
            for _ in 0..2 * len {
                if keys.len() == len {
                    break;
                }
                let key = rand_val(rng, k, budget);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            V::List(
                keys.into_iter()
                    .map(|key| V::Tuple(vec![key, rand_val(rng, v, budget)]))
                    .collect(),
            )
        }
        Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
            let cases = ty.cases().unwrap_or_default();
            // Options are `some` and results `ok` more often than not.
            let c = if cases.len() == 2 && rng.chance(65) {
                u32::from(matches!(ty, Ty::Option(_)))
            } else {
                rng.below(cases.len()) as u32
            };
            let payload = cases[c as usize].map(|t| Box::new(rand_val(rng, t, budget)));
            V::Case(c, payload)
        }
        Ty::Enum { cases, .. } => V::Enum(rng.below(*cases as usize) as u32),
        Ty::Flags { count, .. } => V::Flags(match rng.below(4) {
            0 => 0,
            1 => flags_mask(*count),
            _ => rng.next_u64() as u32 & flags_mask(*count),
        }),
    }
}

/// The bits of `count` flags.
pub fn flags_mask(count: u32) -> u32 {
    if count >= 32 {
        u32::MAX
    } else {
        (1 << count) - 1
    }
}

/// An ASCII letter with its case swapped; anything else as it is.
pub fn swap_case(c: char) -> char {
    if c.is_ascii_alphabetic() {
        ((c as u8) ^ 0x20) as char
    } else {
        c
    }
}

/// What the `transform` exports (and the host's) return for `v`: booleans
/// negated, integers plus one (wrapping), floats negated, ASCII letters in
/// chars and strings with their case swapped, lists and maps reversed
/// (a fixed-length list is not: its ABI is a tuple's), enums the
/// next case (wrapping), flags inverted, every part of a compound value
/// transformed (a variant keeps its case).
pub fn transform(ty: &Ty, v: &V) -> V {
    match (ty, v) {
        (_, V::Bool(b)) => V::Bool(!b),
        (_, V::S8(x)) => V::S8(x.wrapping_add(1)),
        (_, V::U8(x)) => V::U8(x.wrapping_add(1)),
        (_, V::S16(x)) => V::S16(x.wrapping_add(1)),
        (_, V::U16(x)) => V::U16(x.wrapping_add(1)),
        (_, V::S32(x)) => V::S32(x.wrapping_add(1)),
        (_, V::U32(x)) => V::U32(x.wrapping_add(1)),
        (_, V::S64(x)) => V::S64(x.wrapping_add(1)),
        (_, V::U64(x)) => V::U64(x.wrapping_add(1)),
        (_, V::F32(x)) => V::F32(x ^ 0x8000_0000),
        (_, V::F64(x)) => V::F64(x ^ (1 << 63)),
        (_, V::Char(c)) => V::Char(swap_case(*c)),
        (_, V::String(s)) => V::String(s.chars().map(swap_case).collect()),
        (Ty::List(t), V::List(vs)) => V::List(vs.iter().rev().map(|v| transform(t, v)).collect()),
        (Ty::Record { fields: ts, .. }, V::Record(vs)) => {
            V::Record(vs.iter().zip(ts).map(|(v, t)| transform(t, v)).collect())
        }
        (Ty::Tuple(ts), V::Tuple(vs)) => {
            V::Tuple(vs.iter().zip(ts).map(|(v, t)| transform(t, v)).collect())
        }
        (Ty::FixedList(t, _), V::Tuple(vs)) => {
            V::Tuple(vs.iter().map(|v| transform(t, v)).collect())
        }
        (Ty::Map(k, v), V::List(es)) => {
            let kv = Ty::Tuple(vec![(**k).clone(), (**v).clone()]);
            V::List(es.iter().rev().map(|e| transform(&kv, e)).collect())
        }
        (_, V::Case(c, p)) => {
            let t = ty
                .cases()
                .and_then(|cs| cs.get(*c as usize).copied().flatten());
            V::Case(
                *c,
                match (t, p) {
                    (Some(t), Some(p)) => Some(Box::new(transform(t, p))),
                    _ => p.clone(),
                },
            )
        }
        (Ty::Enum { cases, .. }, V::Enum(c)) => V::Enum((c + 1) % cases),
        (Ty::Flags { count, .. }, V::Flags(f)) => V::Flags(f ^ flags_mask(*count)),
        _ => v.clone(),
    }
}

/// The value in our engine's form.
pub fn to_ny(ty: &Ty, v: &V) -> ny::Val {
    match (ty, v) {
        (_, V::Bool(x)) => ny::Val::Bool(*x),
        (_, V::S8(x)) => ny::Val::S8(*x),
        (_, V::U8(x)) => ny::Val::U8(*x),
        (_, V::S16(x)) => ny::Val::S16(*x),
        (_, V::U16(x)) => ny::Val::U16(*x),
        (_, V::S32(x)) => ny::Val::S32(*x),
        (_, V::U32(x)) => ny::Val::U32(*x),
        (_, V::S64(x)) => ny::Val::S64(*x),
        (_, V::U64(x)) => ny::Val::U64(*x),
        (_, V::F32(x)) => ny::Val::Float32(f32::from_bits(*x)),
        (_, V::F64(x)) => ny::Val::Float64(f64::from_bits(*x)),
        (_, V::Char(x)) => ny::Val::Char(*x),
        (_, V::String(x)) => ny::Val::String(x.clone()),
        (Ty::List(t), V::List(vs)) => ny::Val::List(vs.iter().map(|v| to_ny(t, v)).collect()),
        (Ty::Record { fields: ts, .. }, V::Record(vs)) => ny::Val::Record(
            vs.iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| (field_name(i), to_ny(t, v)))
                .collect(),
        ),
        (Ty::Tuple(ts), V::Tuple(vs)) => {
            ny::Val::Tuple(vs.iter().zip(ts).map(|(v, t)| to_ny(t, v)).collect())
        }
        (Ty::FixedList(t, _), V::Tuple(vs)) => {
            ny::Val::List(vs.iter().map(|v| to_ny(t, v)).collect())
        }
        (Ty::Map(k, v), V::List(es)) => ny::Val::Map(
            es.iter()
                .filter_map(|e| match e {
                    V::Tuple(kv) if kv.len() == 2 => Some((to_ny(k, &kv[0]), to_ny(v, &kv[1]))),
                    _ => None,
                })
                .collect(),
        ),
        (_, V::Case(c, p)) => {
            let t = ty
                .cases()
                .and_then(|cs| cs.get(*c as usize).copied().flatten());
            let p = match (t, p) {
                (Some(t), Some(p)) => Some(Box::new(to_ny(t, p))),
                _ => None,
            };
            match ty {
                Ty::Option(_) => ny::Val::Option(p),
                Ty::Result(..) if *c == 0 => ny::Val::Result(Ok(p)),
                Ty::Result(..) => ny::Val::Result(Err(p)),
                _ => ny::Val::Variant(case_name(*c as usize), p),
            }
        }
        (_, V::Enum(c)) => ny::Val::Enum(enum_name(*c as usize)),
        (_, V::Flags(f)) => ny::Val::Flags(
            (0..32)
                .filter(|i| f & (1 << i) != 0)
                .map(|i| flag_name(i as usize))
                .collect(),
        ),
        // Not reached: values are made for their types.
        _ => ny::Val::Bool(false),
    }
}

/// The value in wasmtime's form.
pub fn to_wt(ty: &Ty, v: &V) -> wt::Val {
    match (ty, v) {
        (_, V::Bool(x)) => wt::Val::Bool(*x),
        (_, V::S8(x)) => wt::Val::S8(*x),
        (_, V::U8(x)) => wt::Val::U8(*x),
        (_, V::S16(x)) => wt::Val::S16(*x),
        (_, V::U16(x)) => wt::Val::U16(*x),
        (_, V::S32(x)) => wt::Val::S32(*x),
        (_, V::U32(x)) => wt::Val::U32(*x),
        (_, V::S64(x)) => wt::Val::S64(*x),
        (_, V::U64(x)) => wt::Val::U64(*x),
        (_, V::F32(x)) => wt::Val::Float32(f32::from_bits(*x)),
        (_, V::F64(x)) => wt::Val::Float64(f64::from_bits(*x)),
        (_, V::Char(x)) => wt::Val::Char(*x),
        (_, V::String(x)) => wt::Val::String(x.clone()),
        (Ty::List(t), V::List(vs)) => wt::Val::List(vs.iter().map(|v| to_wt(t, v)).collect()),
        (Ty::Record { fields: ts, .. }, V::Record(vs)) => wt::Val::Record(
            vs.iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| (field_name(i), to_wt(t, v)))
                .collect(),
        ),
        (Ty::Tuple(ts), V::Tuple(vs)) => {
            wt::Val::Tuple(vs.iter().zip(ts).map(|(v, t)| to_wt(t, v)).collect())
        }
        (Ty::FixedList(t, _), V::Tuple(vs)) => {
            wt::Val::FixedLengthList(vs.iter().map(|v| to_wt(t, v)).collect())
        }
        (Ty::Map(k, v), V::List(es)) => wt::Val::Map(
            es.iter()
                .filter_map(|e| match e {
                    V::Tuple(kv) if kv.len() == 2 => Some((to_wt(k, &kv[0]), to_wt(v, &kv[1]))),
                    _ => None,
                })
                .collect(),
        ),
        (_, V::Case(c, p)) => {
            let t = ty
                .cases()
                .and_then(|cs| cs.get(*c as usize).copied().flatten());
            let p = match (t, p) {
                (Some(t), Some(p)) => Some(Box::new(to_wt(t, p))),
                _ => None,
            };
            match ty {
                Ty::Option(_) => wt::Val::Option(p),
                Ty::Result(..) if *c == 0 => wt::Val::Result(Ok(p)),
                Ty::Result(..) => wt::Val::Result(Err(p)),
                _ => wt::Val::Variant(case_name(*c as usize), p),
            }
        }
        (_, V::Enum(c)) => wt::Val::Enum(enum_name(*c as usize)),
        (_, V::Flags(f)) => wt::Val::Flags(
            (0..32)
                .filter(|i| f & (1 << i) != 0)
                .map(|i| flag_name(i as usize))
                .collect(),
        ),
        _ => wt::Val::Bool(false),
    }
}

/// The index in `name` after `prefix` (`"c3"` is case 3).
fn index_of(name: &str, prefix: char, limit: usize) -> Result<u32, String> {
    name.strip_prefix(prefix)
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|&n| (n as usize) < limit)
        .ok_or_else(|| format!("unknown name `{name}`"))
}

/// The `Val` pattern of a fixed-length list: our `Val::List`, wasmtime's
/// `Val::FixedLengthList`.
macro_rules! fixed {
    (ny, $vs:ident) => {
        ny::Val::List($vs)
    };
    (wt, $vs:ident) => {
        wt::Val::FixedLengthList($vs)
    };
}

macro_rules! from_val {
    ($name:ident, $m:ident) => {
        /// A result back in the generator's form, checked against `ty`.
        pub fn $name(ty: &Ty, v: &$m::Val) -> Result<V, String> {
            use $m::Val as X;
            let payload = |t: Option<&Ty>, p: &Option<Box<X>>| -> Result<Option<Box<V>>, String> {
                match (t, p) {
                    (Some(t), Some(p)) => Ok(Some(Box::new($name(t, p)?))),
                    (None, None) => Ok(None),
                    _ => Err(format!("payload {p:?} does not fit the case")),
                }
            };
            let cases = ty.cases().unwrap_or_default();
            Ok(match (ty, v) {
                (Ty::Bool, X::Bool(x)) => V::Bool(*x),
                (Ty::S8, X::S8(x)) => V::S8(*x),
                (Ty::U8, X::U8(x)) => V::U8(*x),
                (Ty::S16, X::S16(x)) => V::S16(*x),
                (Ty::U16, X::U16(x)) => V::U16(*x),
                (Ty::S32, X::S32(x)) => V::S32(*x),
                (Ty::U32, X::U32(x)) => V::U32(*x),
                (Ty::S64, X::S64(x)) => V::S64(*x),
                (Ty::U64, X::U64(x)) => V::U64(*x),
                (Ty::F32, X::Float32(x)) => V::F32(x.to_bits()),
                (Ty::F64, X::Float64(x)) => V::F64(x.to_bits()),
                (Ty::Char, X::Char(x)) => V::Char(*x),
                (Ty::String, X::String(x)) => V::String(x.to_string()),
                (Ty::List(t), X::List(vs)) => {
                    V::List(vs.iter().map(|v| $name(t, v)).collect::<Result<_, _>>()?)
                }
                (Ty::Record { fields, .. }, X::Record(vs)) if vs.len() == fields.len() => {
                    let mut out = Vec::new();
                    for (i, ((n, v), t)) in vs.iter().zip(fields).enumerate() {
                        if *n != field_name(i) {
                            return Err(format!("field `{n}` where `{}` belongs", field_name(i)));
                        }
                        out.push($name(t, v)?);
                    }
                    V::Record(out)
                }
                (Ty::Tuple(ts), X::Tuple(vs)) if vs.len() == ts.len() => V::Tuple(
                    vs.iter()
                        .zip(ts)
                        .map(|(v, t)| $name(t, v))
                        .collect::<Result<_, _>>()?,
                ),
                (Ty::Map(k, t), X::Map(es)) => V::List(
                    es.iter()
                        .map(|(x, y)| Ok(V::Tuple(vec![$name(k, x)?, $name(t, y)?])))
                        .collect::<Result<_, String>>()?,
                ),
                (Ty::FixedList(t, n), fixed!($m, vs)) if vs.len() == *n as usize => {
                    V::Tuple(vs.iter().map(|v| $name(t, v)).collect::<Result<_, _>>()?)
                }
                (Ty::Variant { .. }, X::Variant(n, p)) => {
                    let c = index_of(n, 'c', cases.len())?;
                    V::Case(c, payload(cases[c as usize], p)?)
                }
                (Ty::Option(t), X::Option(p)) => match p {
                    None => V::Case(0, None),
                    Some(p) => V::Case(1, Some(Box::new($name(t, p)?))),
                },
                (Ty::Result(ok, _), X::Result(Ok(p))) => V::Case(0, payload(ok.as_deref(), p)?),
                (Ty::Result(_, err), X::Result(Err(p))) => V::Case(1, payload(err.as_deref(), p)?),
                (Ty::Enum { cases, .. }, X::Enum(n)) => V::Enum(index_of(n, 'e', *cases as usize)?),
                (Ty::Flags { count, .. }, X::Flags(names)) => {
                    let mut f = 0u32;
                    for n in names {
                        f |= 1 << index_of(n, 'g', *count as usize)?;
                    }
                    V::Flags(f)
                }
                _ => return Err(format!("{v:?} is not a value of {}", ty.wit())),
            })
        }
    };
}

from_val!(from_ny, ny);
from_val!(from_wt, wt);

//! The Component Model's canonical ABI in its dynamic form: interface
//! values ([`Val`]) lifted out of core values and linear memory, and
//! lowered into them, following the specification's
//! `design/mvp/canonical-abi/definitions.py` for synchronous functions
//! (no `async`, `stream`, `future` or `error-context`).
//!
//! What is here, with the specification's names:
//!
//! - **Layout**: `alignment` and `elem_size` ([`Abi::size_align`]);
//!   discriminants of 1, 2 or 4 bytes by case count, flags in 1, 2 or 4
//!   bytes (at most 32 flags: validation refuses more).
//! - **Flattening**: `flatten_type` and `flatten_functype`
//!   ([`Abi::flat_params`], [`Abi::flat_results`]): at most
//!   [`MAX_FLAT_PARAMS`] core parameters and [`MAX_FLAT_RESULTS`] result,
//!   past which the values go through memory; a variant's payloads share
//!   slots, `join`ed (`i32` and `f32` give `i32`, anything else of
//!   different types `i64`), with the payload's bits reinterpreted into and
//!   out of the joined slot.
//! - **Lifting** (`lift_flat`, `load`): out of core values
//!   ([`Abi::lift_results`] of an export the host called,
//!   [`Abi::lift_args`] of an import the guest called), with the
//!   specification's traps ([`ComponentTrap`]): a pointer not aligned or
//!   out of bounds, a discriminant past the cases, a `char` that is a
//!   surrogate or past U+10FFFF, a string that does not decode. Guest
//!   lengths are checked against the memory before anything is allocated
//!   for them, and one lift reads at most twice the memory (plus 1 MiB) of
//!   list and string contents however much they overlap (an engine limit,
//!   [`ComponentTrap::LiftTooLarge`]), so a guest can make the host
//!   allocate at most in proportion to its own memory.
//! - **Lowering** (`lower_flat`, `store`): into core values
//!   ([`Abi::lower_args`] of an export the host calls,
//!   [`Abi::lower_results`] of an import the guest called), strings
//!   transcoded into the options' encoding with the specification's
//!   sequence of `realloc` calls (allocate the worst case or the likely
//!   size, then grow or shrink), and every pointer `realloc` returns
//!   checked for alignment and bounds.
//!
//! Memory pointers are 32-bit (the options' memory is a 32-bit memory).
//! Floats lifted are NaN-canonicalized as the specification does; floats
//! lowered keep their bits (the specification lets a lowered NaN be any
//! NaN).
//!
//! The instance the canonical options belong to is reached through
//! [`AbiHost`]: its memory, its `realloc` and its resource handle table.
//! A call between two instances composes the two halves: lift out of one
//! instance's options (`lift_args`), lower into the other's (`lower_args`).
//! A [`Val::String`] lowered this way is transcoded as a UTF-8 source,
//! whatever encoding it was lifted from: the bytes written are the same,
//! but the `realloc` sizes asked for are those of a UTF-8 source (the
//! specification sizes the first allocation from the source's code units).

use nyash_aot::component::translate::StringEncoding;
use nyash_aot::component::types::{
    ComponentTypes, DefinedType, FuncType, InterfaceType, ResourceIndex,
};

use super::val::{ResourceAny, Val};
use crate::Result;
use crate::error::{ComponentTrap, Error, TrapCode};

/// Core parameters a function may take flat; more go through memory.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// Core results a function may return flat; more go through memory.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;
/// How many core parameters an `async`-lowered import takes before its
/// arguments go through memory (🔀).
pub(crate) const MAX_FLAT_ASYNC_PARAMS: usize = 4;
/// The longest string the canonical ABI lifts, in bytes.
pub(crate) const MAX_STRING_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// The longest list the canonical ABI lifts, in bytes.
pub(crate) const MAX_LIST_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// The bit of a `latin1+utf16` string's length that says "UTF-16".
const UTF16_TAG: u32 = 1 << 31;

/// What lift and lower need from the instance whose canonical options
/// apply.
pub(crate) trait AbiHost {
    /// The options' linear memory, whole; an error (a trap saying there is
    /// no memory) if the options have none, which validation rules out for
    /// types with strings or lists.
    fn memory(&mut self) -> Result<&mut [u8]>;
    /// The memory's length in bytes, `None` without one (no error made:
    /// the lift budget asks on every call).
    fn memory_len(&mut self) -> Option<u64> {
        self.memory().ok().map(|m| m.len() as u64)
    }
    /// Calls the options' `realloc(old_ptr, old_size, align, new_size) ->
    /// ptr`.
    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32>;
    /// Moves an owned resource into the instance's handle table; its index.
    fn lower_own(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32>;
    /// Lends a resource to the instance for the call; its handle index.
    fn lower_borrow(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32>;
    /// Takes an owned handle out of the instance's table.
    fn lift_own(&mut self, ty: ResourceIndex, handle: u32) -> Result<ResourceAny>;
    /// Borrows a handle of the instance's table for the call.
    fn lift_borrow(&mut self, ty: ResourceIndex, handle: u32) -> Result<ResourceAny>;

    /// The typed path's handles (`Resource<T>`, [`ResourceAny`] as Rust
    /// values), which know the store's resource type rather than the
    /// component's index. The store's resource type of the host's Rust
    /// type `id`, made on first use.
    fn host_resource_type(&mut self, _id: std::any::TypeId) -> Result<(u64, u32)> {
        Err(Error::msg("typed resources need a store"))
    }
    /// Moves (`borrow` false) or lends (`borrow` true) `r` into the
    /// instance's table; its handle index.
    fn lower_handle(&mut self, _r: &ResourceAny, _borrow: bool) -> Result<u32> {
        Err(Error::msg("typed resources need a store"))
    }
    /// Takes (`borrow` false) or borrows for the call (`borrow` true) the
    /// handle `handle` of the instance's table, which must be of the
    /// store's resource type `expected` if that is given.
    fn lift_handle(
        &mut self,
        _expected: Option<u32>,
        _handle: u32,
        _borrow: bool,
    ) -> Result<ResourceAny> {
        Err(Error::msg("typed resources need a store"))
    }
}

/// Whether a core signature is that of a lifted export (the guest function
/// a `canon lift` wraps) or of a lowered import (the core function a
/// `canon lower` makes): they differ when results go through memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // `Lift` is for the runtime.
pub(crate) enum Context {
    /// `canon lift`: results past [`MAX_FLAT_RESULTS`] come back as a
    /// pointer the guest returns.
    Lift,
    /// `canon lower`: results past [`MAX_FLAT_RESULTS`] are written where a
    /// trailing pointer parameter says.
    Lower,
}

/// A core value type as flattening produces it: only these four.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CoreTy {
    I32,
    I64,
    F32,
    F64,
}

impl CoreTy {
    /// The engine's value type.
    #[allow(dead_code)] // For the runtime's core signatures.
    pub fn val_type(self) -> crate::ValType {
        match self {
            CoreTy::I32 => crate::ValType::I32,
            CoreTy::I64 => crate::ValType::I64,
            CoreTy::F32 => crate::ValType::F32,
            CoreTy::F64 => crate::ValType::F64,
        }
    }

    /// `join` of two slot types: equal types stay, `i32` and `f32` give
    /// `i32`, any other pair `i64`.
    fn join(self, other: CoreTy) -> CoreTy {
        match (self, other) {
            (a, b) if a == b => a,
            (CoreTy::I32, CoreTy::F32) | (CoreTy::F32, CoreTy::I32) => CoreTy::I32,
            _ => CoreTy::I64,
        }
    }
}

/// A core value as lift and lower see it. Floats are kept as their bits,
/// so a NaN's payload crosses unchanged (and the type derives `Eq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Flat {
    I32(i32),
    I64(i64),
    /// The bits of an `f32`.
    F32(u32),
    /// The bits of an `f64`.
    F64(u64),
}

impl Flat {
    /// The value's core type.
    pub fn ty(self) -> CoreTy {
        match self {
            Flat::I32(_) => CoreTy::I32,
            Flat::I64(_) => CoreTy::I64,
            Flat::F32(_) => CoreTy::F32,
            Flat::F64(_) => CoreTy::F64,
        }
    }

    /// Zero of a core type: a variant's slots its case does not use.
    fn zero(ty: CoreTy) -> Flat {
        match ty {
            CoreTy::I32 => Flat::I32(0),
            CoreTy::I64 => Flat::I64(0),
            CoreTy::F32 => Flat::F32(0),
            CoreTy::F64 => Flat::F64(0),
        }
    }
}

/// The canonical ABI for one set of canonical options: the types of the
/// component and the options' string encoding (the memory and `realloc`
/// are the [`AbiHost`]'s).
pub(crate) struct Abi<'a> {
    pub types: &'a ComponentTypes,
    pub encoding: StringEncoding,
}

/// Size and alignment of a type in memory. Sizes are `u64` and saturate:
/// validation bounds them, and a saturated size fails every bounds check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) size: u64,
    pub(crate) align: u32,
}

pub(crate) fn align_to(x: u64, align: u32) -> u64 {
    let a = u64::from(align.max(1));
    x.saturating_add(a - 1) / a * a
}

pub(crate) fn is_aligned(ptr: u32, align: u32) -> bool {
    ptr.is_multiple_of(align.max(1))
}

/// The size in bytes of a discriminant for `n` cases (the specification's
/// `discriminant_type`).
pub(crate) fn discriminant_size(n: usize) -> u32 {
    if n <= 0x100 {
        1
    } else if n <= 0x1_0000 {
        2
    } else {
        4
    }
}

/// The size (and alignment) of flags with `n` names (at most 32).
pub(crate) fn flags_size(n: usize) -> u32 {
    if n <= 8 {
        1
    } else if n <= 16 {
        2
    } else {
        4
    }
}

/// A trap of the canonical ABI, with where it happened as context.
pub(crate) fn trap(kind: ComponentTrap, detail: String) -> Error {
    Error::from(TrapCode::Component(kind)).context(detail)
}

/// Takes `bytes` of list or string contents out of a lift's budget
/// (`Abi::lift_budget`), a trap once it is spent.
pub(crate) fn charge(budget: &mut u64, bytes: u64) -> Result<()> {
    match budget.checked_sub(bytes) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => Err(trap(
            ComponentTrap::LiftTooLarge,
            format!("{bytes} more bytes of list or string contents"),
        )),
    }
}

/// An engine bug: the runtime handed lift or lower core values that do not
/// fit the signature.
fn bug(msg: String) -> Error {
    Error::from(nyash_aot::bug_error!("canonical ABI: {msg}"))
}

/// The cases of a variant-like type (variant, enum, option, result), which
/// the canonical ABI treats alike (the specification's `despecialize`).
#[derive(Clone, Copy)]
enum Cases<'a> {
    Variant(&'a [(String, Option<InterfaceType>)]),
    Enum(&'a [String]),
    Option(InterfaceType),
    Result(Option<InterfaceType>, Option<InterfaceType>),
}

impl Cases<'_> {
    fn len(self) -> usize {
        match self {
            Cases::Variant(c) => c.len(),
            Cases::Enum(c) => c.len(),
            Cases::Option(_) | Cases::Result(..) => 2,
        }
    }

    /// The payload type of case `i` (which is below `len`).
    fn payload(self, i: usize) -> Option<InterfaceType> {
        match self {
            Cases::Variant(c) => c.get(i).and_then(|c| c.1),
            Cases::Enum(_) => None,
            Cases::Option(t) => (i == 1).then_some(t),
            Cases::Result(ok, err) => {
                if i == 0 {
                    ok
                } else {
                    err
                }
            }
        }
    }

    /// Every payload type, in case order (an enum has none).
    fn payloads(self) -> impl Iterator<Item = InterfaceType> {
        let n = match self {
            Cases::Enum(_) => 0,
            _ => self.len(),
        };
        (0..n).filter_map(move |i| self.payload(i))
    }
}

/// Where a typecheck failed: the path from the outside in (built in
/// reverse while unwinding) and what is wrong there.
struct Mismatch {
    path: Vec<String>,
    msg: String,
}

impl Mismatch {
    fn new(msg: String) -> Self {
        Mismatch {
            path: Vec::new(),
            msg,
        }
    }

    fn at(mut self, seg: String) -> Self {
        self.path.push(seg);
        self
    }
}

/// A cursor over core values being lifted.
struct Src<'a> {
    vals: &'a [Flat],
    pos: usize,
}

impl<'a> Src<'a> {
    fn new(vals: &'a [Flat]) -> Self {
        Src { vals, pos: 0 }
    }

    fn next(&mut self, want: CoreTy) -> Result<Flat> {
        let v = *self.vals.get(self.pos).ok_or_else(|| {
            bug(format!(
                "{} core values where more are expected",
                self.vals.len()
            ))
        })?;
        if v.ty() != want {
            return Err(bug(format!(
                "core value {} is {v:?} where an {want:?} is expected",
                self.pos
            )));
        }
        self.pos += 1;
        Ok(v)
    }

    fn i32(&mut self) -> Result<i32> {
        match self.next(CoreTy::I32)? {
            Flat::I32(x) => Ok(x),
            _ => Err(bug("core value type".into())),
        }
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(self.i32()? as u32)
    }

    fn i64(&mut self) -> Result<i64> {
        match self.next(CoreTy::I64)? {
            Flat::I64(x) => Ok(x),
            _ => Err(bug("core value type".into())),
        }
    }

    fn f32(&mut self) -> Result<u32> {
        match self.next(CoreTy::F32)? {
            Flat::F32(x) => Ok(x),
            _ => Err(bug("core value type".into())),
        }
    }

    fn f64(&mut self) -> Result<u64> {
        match self.next(CoreTy::F64)? {
            Flat::F64(x) => Ok(x),
            _ => Err(bug("core value type".into())),
        }
    }

    fn finish(&self) -> Result<()> {
        if self.pos != self.vals.len() {
            return Err(bug(format!(
                "{} core values where {} are expected",
                self.vals.len(),
                self.pos
            )));
        }
        Ok(())
    }
}

/// The canonical NaN of `f32` in place of any NaN (lifting).
pub(crate) fn canon_f32(bits: u32) -> f32 {
    let f = f32::from_bits(bits);
    if f.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        f
    }
}

/// The canonical NaN of `f64` in place of any NaN (lifting).
pub(crate) fn canon_f64(bits: u64) -> f64 {
    let f = f64::from_bits(bits);
    if f.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        f
    }
}

/// `convert_i32_to_char`: a trap for surrogates and past U+10FFFF.
pub(crate) fn to_char(i: u32) -> Result<char> {
    char::from_u32(i).ok_or_else(|| trap(ComponentTrap::InvalidChar, format!("char {i:#x}")))
}

/// Converts a variant's joined slot value to the type the case's payload
/// wants (`lift_flat_variant`'s `CoerceValueIter`).
fn coerce_lift(have: Flat, want: CoreTy) -> Result<Flat> {
    Ok(match (have, want) {
        (Flat::I32(x), CoreTy::F32) => Flat::F32(x as u32),
        (Flat::I64(x), CoreTy::I32) => Flat::I32(x as i32),
        (Flat::I64(x), CoreTy::F32) => Flat::F32(x as u32),
        (Flat::I64(x), CoreTy::F64) => Flat::F64(x as u64),
        (v, w) if v.ty() == w => v,
        (v, w) => return Err(bug(format!("variant slot {v:?} cannot hold {w:?}"))),
    })
}

/// Converts a payload's core value to its variant's joined slot type
/// (`lower_flat_variant`).
fn coerce_lower(have: Flat, want: CoreTy) -> Result<Flat> {
    Ok(match (have, want) {
        (Flat::F32(b), CoreTy::I32) => Flat::I32(b as i32),
        (Flat::I32(x), CoreTy::I64) => Flat::I64(i64::from(x as u32)),
        (Flat::F32(b), CoreTy::I64) => Flat::I64(i64::from(b)),
        (Flat::F64(b), CoreTy::I64) => Flat::I64(b as i64),
        (v, w) if v.ty() == w => v,
        (v, w) => return Err(bug(format!("variant slot {w:?} cannot hold {v:?}"))),
    })
}

/// The little-endian bytes of a scalar value of a scalar type, or `None`
/// if the value is not of the type.
fn encode_scalar(ty: InterfaceType, v: &Val) -> Option<([u8; 8], usize)> {
    use InterfaceType as T;
    let mut b = [0u8; 8];
    let n = match (ty, v) {
        (T::Bool, Val::Bool(x)) => {
            b[0] = u8::from(*x);
            1
        }
        (T::S8, Val::S8(x)) => {
            b[0] = *x as u8;
            1
        }
        (T::U8, Val::U8(x)) => {
            b[0] = *x;
            1
        }
        (T::S16, Val::S16(x)) => {
            b[..2].copy_from_slice(&x.to_le_bytes());
            2
        }
        (T::U16, Val::U16(x)) => {
            b[..2].copy_from_slice(&x.to_le_bytes());
            2
        }
        (T::S32, Val::S32(x)) => {
            b[..4].copy_from_slice(&x.to_le_bytes());
            4
        }
        (T::U32, Val::U32(x)) => {
            b[..4].copy_from_slice(&x.to_le_bytes());
            4
        }
        (T::Char, Val::Char(c)) => {
            b[..4].copy_from_slice(&u32::from(*c).to_le_bytes());
            4
        }
        (T::F32, Val::Float32(x)) => {
            b[..4].copy_from_slice(&x.to_bits().to_le_bytes());
            4
        }
        (T::S64, Val::S64(x)) => {
            b.copy_from_slice(&x.to_le_bytes());
            8
        }
        (T::U64, Val::U64(x)) => {
            b.copy_from_slice(&x.to_le_bytes());
            8
        }
        (T::F64, Val::Float64(x)) => {
            b.copy_from_slice(&x.to_bits().to_le_bytes());
            8
        }
        _ => return None,
    };
    Some((b, n))
}

/// A scalar value of a scalar type out of its little-endian bytes (exactly
/// the type's size).
fn decode_scalar(ty: InterfaceType, b: &[u8]) -> Result<Val> {
    use InterfaceType as T;
    let mut w = [0u8; 8];
    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    let x = u64::from_le_bytes(w);
    Ok(match ty {
        T::Bool => Val::Bool(x != 0),
        T::S8 => Val::S8(x as i8),
        T::U8 => Val::U8(x as u8),
        T::S16 => Val::S16(x as i16),
        T::U16 => Val::U16(x as u16),
        T::S32 => Val::S32(x as i32),
        T::U32 => Val::U32(x as u32),
        T::S64 => Val::S64(x as i64),
        T::U64 => Val::U64(x),
        T::F32 => Val::Float32(canon_f32(x as u32)),
        T::F64 => Val::Float64(canon_f64(x)),
        T::Char => Val::Char(to_char(x as u32)?),
        T::String | T::ErrorContext | T::Defined(_) => {
            return Err(bug(format!("{ty:?} is not a scalar")));
        }
    })
}

/// The error for a `stream`, `future` or `error-context` value crossing a
/// call: their handles move between component instances' tables with the
/// async ABI (issue "Native async across the component boundary"), which
/// the dynamic `Val` crossing does not do yet.
fn async_value(what: &str) -> Error {
    Error::msg(format!(
        "passing {what} value across a component boundary is not supported yet (the async ABI's transfer of stream, future and error-context handles)"
    ))
}

/// The UTF-16 code units of a string, little-endian bytes.
fn utf16_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

impl Abi<'_> {
    fn def(&self, ty: InterfaceType) -> Option<&DefinedType> {
        match ty {
            InterfaceType::Defined(i) => Some(self.types.defined(i)),
            _ => None,
        }
    }

    /// `ty` with named primitives (`(type $t u32)`) resolved.
    pub(crate) fn resolve(&self, mut ty: InterfaceType) -> InterfaceType {
        while let Some(DefinedType::Primitive(p)) = self.def(ty) {
            ty = *p;
        }
        ty
    }

    /// Whether `ty` is a scalar (a number, `bool` or `char`): one load or
    /// store of its size.
    fn scalar(&self, ty: InterfaceType) -> Option<InterfaceType> {
        match self.resolve(ty) {
            InterfaceType::String | InterfaceType::ErrorContext | InterfaceType::Defined(_) => None,
            t => Some(t),
        }
    }

    fn cases<'t>(&'t self, def: &'t DefinedType) -> Option<Cases<'t>> {
        Some(match def {
            DefinedType::Variant(c) => Cases::Variant(c),
            DefinedType::Enum(c) => Cases::Enum(c),
            DefinedType::Option(t) => Cases::Option(*t),
            DefinedType::Result { ok, err } => Cases::Result(*ok, *err),
            _ => return None,
        })
    }

    // ---------------------------------------------------------------
    // Layout

    /// The size and alignment of a value of `ty` in memory (the
    /// specification's `elem_size` and `alignment`). A size past
    /// `u32::MAX` (which validation rules out) is given as `u32::MAX`.
    #[allow(dead_code)] // For the runtime.
    pub fn size_align(&self, ty: InterfaceType) -> (u32, u32) {
        let l = self.layout(ty);
        (u32::try_from(l.size).unwrap_or(u32::MAX), l.align)
    }

    fn layout(&self, ty: InterfaceType) -> Layout {
        use InterfaceType as T;
        let prim = |n: u32| Layout {
            size: n.into(),
            align: n,
        };
        match ty {
            T::Bool | T::S8 | T::U8 => prim(1),
            T::S16 | T::U16 => prim(2),
            T::S32 | T::U32 | T::F32 | T::Char | T::ErrorContext => prim(4),
            T::S64 | T::U64 | T::F64 => prim(8),
            T::String => Layout { size: 8, align: 4 },
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Primitive(p) => self.layout(*p),
                DefinedType::Record(f) => self.record_layout(f.iter().map(|f| f.1)),
                DefinedType::Tuple(t) => self.record_layout(t.iter().copied()),
                DefinedType::List(_) | DefinedType::Map { .. } => Layout { size: 8, align: 4 },
                DefinedType::FixedLengthList { element, len } => {
                    let e = self.layout(*element);
                    Layout {
                        size: e.size.saturating_mul(u64::from(*len)),
                        align: e.align,
                    }
                }
                DefinedType::Flags(n) => prim(flags_size(n.len())),
                DefinedType::Own(_)
                | DefinedType::Borrow(_)
                | DefinedType::Stream(_)
                | DefinedType::Future(_) => prim(4),
                d => match self.cases(d) {
                    Some(c) => self.variant_layout(c).0,
                    None => prim(4),
                },
            },
        }
    }

    /// A record's (tuple's) layout from its field types.
    fn record_layout(&self, fields: impl Iterator<Item = InterfaceType>) -> Layout {
        let (mut size, mut align) = (0u64, 1u32);
        for t in fields {
            let l = self.layout(t);
            size = align_to(size, l.align).saturating_add(l.size);
            align = align.max(l.align);
        }
        Layout {
            size: align_to(size, align),
            align,
        }
    }

    /// A variant's layout and the offset of its payload.
    fn variant_layout(&self, cases: Cases<'_>) -> (Layout, u64) {
        let disc = discriminant_size(cases.len());
        let (mut case_size, mut case_align) = (0u64, 1u32);
        for t in cases.payloads() {
            let l = self.layout(t);
            case_size = case_size.max(l.size);
            case_align = case_align.max(l.align);
        }
        let offset = align_to(disc.into(), case_align);
        let align = disc.max(case_align);
        (
            Layout {
                size: align_to(offset.saturating_add(case_size), align),
                align,
            },
            offset,
        )
    }

    /// The offsets of a record's (tuple's) fields, in order.
    fn field_offsets(&self, fields: impl Iterator<Item = InterfaceType>) -> Vec<u64> {
        let mut offs = Vec::new();
        let mut at = 0u64;
        for t in fields {
            let l = self.layout(t);
            at = align_to(at, l.align);
            offs.push(at);
            at = at.saturating_add(l.size);
        }
        offs
    }

    // ---------------------------------------------------------------
    // Flattening

    /// Appends `ty`'s flat core types to `out`; `false` as soon as `out`
    /// holds more than `cap` (the rest is then not needed: the values go
    /// through memory).
    fn flatten(&self, ty: InterfaceType, out: &mut Vec<CoreTy>, cap: usize) -> bool {
        use InterfaceType as T;
        match ty {
            T::Bool
            | T::S8
            | T::U8
            | T::S16
            | T::U16
            | T::S32
            | T::U32
            | T::Char
            | T::ErrorContext => out.push(CoreTy::I32),
            T::S64 | T::U64 => out.push(CoreTy::I64),
            T::F32 => out.push(CoreTy::F32),
            T::F64 => out.push(CoreTy::F64),
            T::String => out.extend([CoreTy::I32, CoreTy::I32]),
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Primitive(p) => return self.flatten(*p, out, cap),
                DefinedType::Record(f) => {
                    for (_, t) in f {
                        if !self.flatten(*t, out, cap) {
                            return false;
                        }
                    }
                }
                DefinedType::Tuple(ts) => {
                    for t in ts {
                        if !self.flatten(*t, out, cap) {
                            return false;
                        }
                    }
                }
                DefinedType::List(_) | DefinedType::Map { .. } => {
                    out.extend([CoreTy::I32, CoreTy::I32])
                }
                DefinedType::FixedLengthList { element, len } => {
                    for _ in 0..*len {
                        if !self.flatten(*element, out, cap) {
                            return false;
                        }
                    }
                }
                DefinedType::Flags(_)
                | DefinedType::Own(_)
                | DefinedType::Borrow(_)
                | DefinedType::Stream(_)
                | DefinedType::Future(_) => out.push(CoreTy::I32),
                d => {
                    let Some(cases) = self.cases(d) else {
                        return false;
                    };
                    out.push(CoreTy::I32);
                    let Some(joined) = self.variant_slots(cases, cap) else {
                        return false;
                    };
                    out.extend(joined);
                }
            },
        }
        out.len() <= cap
    }

    /// The joined payload slots of a variant (without the discriminant),
    /// `None` if more than `cap`.
    fn variant_slots(&self, cases: Cases<'_>, cap: usize) -> Option<Vec<CoreTy>> {
        let mut joined: Vec<CoreTy> = Vec::new();
        let mut tmp = Vec::new();
        for t in cases.payloads() {
            tmp.clear();
            if !self.flatten(t, &mut tmp, cap) {
                return None;
            }
            for (i, &ft) in tmp.iter().enumerate() {
                match joined.get_mut(i) {
                    Some(j) => *j = j.join(ft),
                    None => joined.push(ft),
                }
            }
        }
        Some(joined)
    }

    /// The flat core types of `ty` (which fits `cap`), or `None`.
    fn flat_of(&self, ty: InterfaceType, cap: usize) -> Option<Vec<CoreTy>> {
        let mut v = Vec::new();
        self.flatten(ty, &mut v, cap).then_some(v)
    }

    /// The flat core types of the parameters, `None` past
    /// [`MAX_FLAT_PARAMS`].
    fn flat_param_types(&self, ft: &FuncType) -> Option<Vec<CoreTy>> {
        self.flat_param_types_capped(ft, MAX_FLAT_PARAMS)
    }

    /// The flat core types of the parameters, `None` past `cap`.
    fn flat_param_types_capped(&self, ft: &FuncType, cap: usize) -> Option<Vec<CoreTy>> {
        let mut v = Vec::new();
        ft.params
            .iter()
            .all(|(_, t)| self.flatten(*t, &mut v, cap))
            .then_some(v)
    }

    /// The core signature of an import lowered `async` (🔀): the flat
    /// parameters up to [`MAX_FLAT_ASYNC_PARAMS`] (else one pointer to
    /// them), a pointer the result is written to if there is one, and the
    /// subtask's status as the one result.
    pub(crate) fn flat_async_lower(&self, ft: &FuncType) -> (Vec<CoreTy>, Vec<CoreTy>) {
        let mut p = self
            .flat_param_types_capped(ft, MAX_FLAT_ASYNC_PARAMS)
            .unwrap_or_else(|| vec![CoreTy::I32]);
        if ft.result.is_some() {
            p.push(CoreTy::I32);
        }
        (p, vec![CoreTy::I32])
    }

    /// The arguments of an `async`-lowered import out of its core
    /// arguments (flat up to [`MAX_FLAT_ASYNC_PARAMS`], else through a
    /// pointer), and the pointer its result is to be written to.
    pub(crate) fn lift_async_lower_args(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        core: &[Flat],
    ) -> Result<(Vec<Val>, Option<u32>)> {
        let mut src = Src::new(core);
        let mut budget = self.lift_budget(h)?;
        let args = match self.flat_param_types_capped(ft, MAX_FLAT_ASYNC_PARAMS) {
            Some(_) => {
                let mut args = Vec::with_capacity(ft.params.len());
                for (name, t) in &ft.params {
                    args.push(
                        self.lift_flat(h, &mut budget, *t, &mut src)
                            .map_err(|e| e.context(format!("lifting argument `{name}`")))?,
                    );
                }
                args
            }
            None => {
                let ts: Vec<InterfaceType> = ft.params.iter().map(|p| p.1).collect();
                let ptr = src.u32()?;
                (|| {
                    let l = self.record_layout(ts.iter().copied());
                    self.check_ptr(h, ptr, l, "the spilled arguments")?;
                    self.load_fields(h, &mut budget, &ts, ptr.into())
                })()
                .map_err(|e| e.context("lifting the spilled arguments"))?
            }
        };
        let retptr = match ft.result {
            Some(_) => Some(src.u32()?),
            None => None,
        };
        src.finish()?;
        Ok((args, retptr))
    }

    /// Writes the result of an `async`-lowered call that returned through
    /// its result pointer (type-checked first).
    pub(crate) fn store_async_result(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        results: &[Val],
        retptr: Option<u32>,
    ) -> Result<()> {
        let (Some(t), Some(v), Some(ptr)) = (ft.result, results.first(), retptr) else {
            return Ok(());
        };
        self.typecheck_as(t, v, "the result")?;
        (|| {
            self.check_ptr(h, ptr, self.layout(t), "the return pointer's area")?;
            self.store(h, t, v, ptr.into())
        })()
        .map_err(|e| e.context("lowering the result"))
    }

    /// The flat core types of the result, `None` past
    /// [`MAX_FLAT_RESULTS`].
    /// The core result types of a function lifted synchronously with type
    /// `ft`: its flat results, or one pointer to them.
    pub(crate) fn lifted_result_types(&self, ft: &FuncType) -> Vec<CoreTy> {
        self.flat_result_types(ft)
            .unwrap_or_else(|| vec![CoreTy::I32])
    }

    fn flat_result_types(&self, ft: &FuncType) -> Option<Vec<CoreTy>> {
        match ft.result {
            None => Some(Vec::new()),
            Some(t) => self.flat_of(t, MAX_FLAT_RESULTS),
        }
    }

    /// The core parameter types of a lifted export (`Context::Lift`) or a
    /// lowered import (`Context::Lower`): the flat parameters, or one
    /// pointer to them past [`MAX_FLAT_PARAMS`]; a lowered import whose
    /// result does not fit [`MAX_FLAT_RESULTS`] takes a trailing pointer
    /// to write it to.
    #[allow(dead_code)] // For the runtime.
    pub fn flat_params(&self, ft: &FuncType, cx: Context) -> Vec<CoreTy> {
        let mut p = self
            .flat_param_types(ft)
            .unwrap_or_else(|| vec![CoreTy::I32]);
        if cx == Context::Lower && self.flat_result_types(ft).is_none() {
            p.push(CoreTy::I32);
        }
        p
    }

    /// The core result types (at most one): the flat result, or past
    /// [`MAX_FLAT_RESULTS`] a pointer to it for a lifted export and none
    /// for a lowered import (which writes through its last parameter).
    #[allow(dead_code)] // For the runtime.
    pub fn flat_results(&self, ft: &FuncType, cx: Context) -> Vec<CoreTy> {
        match (self.flat_result_types(ft), cx) {
            (Some(r), _) => r,
            (None, Context::Lift) => vec![CoreTy::I32],
            (None, Context::Lower) => Vec::new(),
        }
    }

    // ---------------------------------------------------------------
    // Memory access

    fn mem_len(&self, h: &mut dyn AbiHost) -> Result<u64> {
        Ok(h.memory()?.len() as u64)
    }

    /// `n` bytes at `ptr`, copied out.
    pub(crate) fn read_n<const N: usize>(&self, h: &mut dyn AbiHost, ptr: u64) -> Result<[u8; N]> {
        let mem = h.memory()?;
        let b = usize::try_from(ptr)
            .ok()
            .and_then(|p| mem.get(p..p.checked_add(N)?))
            .ok_or_else(|| {
                trap(
                    ComponentTrap::PointerOutOfBounds,
                    format!("{N} bytes at {ptr:#x}"),
                )
            })?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn read_u32(&self, h: &mut dyn AbiHost, ptr: u64) -> Result<u32> {
        Ok(u32::from_le_bytes(self.read_n::<4>(h, ptr)?))
    }

    /// The memory's bytes `[ptr, ptr + len)`, which the caller checked.
    pub(crate) fn slice<'m>(&self, mem: &'m mut [u8], ptr: u64, len: u64) -> Result<&'m mut [u8]> {
        let end = ptr.checked_add(len);
        usize::try_from(ptr)
            .ok()
            .zip(end.and_then(|e| usize::try_from(e).ok()))
            .and_then(|(p, e)| mem.get_mut(p..e))
            .ok_or_else(|| {
                trap(
                    ComponentTrap::PointerOutOfBounds,
                    format!("{len} bytes at {ptr:#x}"),
                )
            })
    }

    pub(crate) fn write(&self, h: &mut dyn AbiHost, ptr: u64, bytes: &[u8]) -> Result<()> {
        let mem = h.memory()?;
        self.slice(mem, ptr, bytes.len() as u64)?
            .copy_from_slice(bytes);
        Ok(())
    }

    /// Checks a pointer the guest handed over for a value of `layout`:
    /// aligned, and the value within the memory.
    pub(crate) fn check_ptr(
        &self,
        h: &mut dyn AbiHost,
        ptr: u32,
        layout: Layout,
        what: &str,
    ) -> Result<()> {
        if !is_aligned(ptr, layout.align) {
            return Err(trap(
                ComponentTrap::UnalignedPointer,
                format!("{what} at {ptr:#x}, not aligned to {}", layout.align),
            ));
        }
        let len = self.mem_len(h)?;
        if u64::from(ptr).saturating_add(layout.size) > len {
            return Err(trap(
                ComponentTrap::PointerOutOfBounds,
                format!(
                    "{what} of {} bytes at {ptr:#x}, past the memory's {len} bytes",
                    layout.size
                ),
            ));
        }
        Ok(())
    }

    /// Calls `realloc` and checks what it returned: aligned to `align`,
    /// `size` bytes within the memory (else `oob`).
    pub(crate) fn realloc(
        &self,
        h: &mut dyn AbiHost,
        old: u32,
        old_size: u32,
        align: u32,
        size: u64,
        oob: ComponentTrap,
    ) -> Result<u32> {
        let new_size = u32::try_from(size).map_err(|_| {
            trap(
                ComponentTrap::ReallocOutOfBounds,
                format!("an allocation of {size} bytes"),
            )
        })?;
        let ptr = h.realloc(old, old_size, align, new_size)?;
        if !is_aligned(ptr, align) {
            return Err(trap(
                ComponentTrap::ReallocUnaligned,
                format!("realloc({old:#x}, {old_size}, {align}, {new_size}) returned {ptr:#x}"),
            ));
        }
        let len = self.mem_len(h)?;
        if u64::from(ptr) + size > len {
            return Err(trap(
                oob,
                format!(
                    "realloc({old:#x}, {old_size}, {align}, {new_size}) returned {ptr:#x}, \
                     past the memory's {len} bytes"
                ),
            ));
        }
        Ok(ptr)
    }

    // ---------------------------------------------------------------
    // Lifting

    /// How many bytes of list and string contents one lift may read: twice
    /// the memory and 1 MiB more. Lists and strings a guest lays out
    /// without overlap add up to at most the memory; overlapping ones (a
    /// list of a thousand pointers to one long list) could otherwise make
    /// the host build values quadratic in the memory's size.
    pub(crate) fn lift_budget(&self, h: &mut dyn AbiHost) -> Result<u64> {
        Ok(2 * h.memory_len().unwrap_or(0) + (1 << 20))
    }

    /// `lift_flat`: a value of `ty` out of core values.
    fn lift_flat(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ty: InterfaceType,
        src: &mut Src<'_>,
    ) -> Result<Val> {
        use InterfaceType as T;
        Ok(match ty {
            T::Bool => Val::Bool(src.i32()? != 0),
            T::S8 => Val::S8(src.i32()? as i8),
            T::U8 => Val::U8(src.i32()? as u8),
            T::S16 => Val::S16(src.i32()? as i16),
            T::U16 => Val::U16(src.i32()? as u16),
            T::S32 => Val::S32(src.i32()?),
            T::U32 => Val::U32(src.u32()?),
            T::S64 => Val::S64(src.i64()?),
            T::U64 => Val::U64(src.i64()? as u64),
            T::F32 => Val::Float32(canon_f32(src.f32()?)),
            T::F64 => Val::Float64(canon_f64(src.f64()?)),
            T::Char => Val::Char(to_char(src.u32()?)?),
            T::String => {
                let (ptr, len) = (src.u32()?, src.u32()?);
                Val::String(self.load_string_from_range(h, budget, ptr, len)?)
            }
            T::ErrorContext => return Err(async_value("an `error-context`")),
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Primitive(p) => self.lift_flat(h, budget, *p, src)?,
                DefinedType::Record(fields) => Val::Record(
                    fields
                        .iter()
                        .map(|(n, t)| Ok((n.clone(), self.lift_flat(h, budget, *t, src)?)))
                        .collect::<Result<_>>()?,
                ),
                DefinedType::Tuple(ts) => Val::Tuple(
                    ts.iter()
                        .map(|t| self.lift_flat(h, budget, *t, src))
                        .collect::<Result<_>>()?,
                ),
                DefinedType::List(e) => {
                    let (ptr, len) = (src.u32()?, src.u32()?);
                    Val::List(self.load_list_from_range(h, budget, ptr, len, *e)?)
                }
                DefinedType::FixedLengthList { element, len } => Val::List(
                    (0..*len)
                        .map(|_| self.lift_flat(h, budget, *element, src))
                        .collect::<Result<_>>()?,
                ),
                DefinedType::Map { key, value } => {
                    let (ptr, len) = (src.u32()?, src.u32()?);
                    Val::Map(self.load_map_from_range(h, budget, ptr, len, *key, *value)?)
                }
                DefinedType::Flags(names) => Val::Flags(unpack_flags(src.u32()?, names)),
                DefinedType::Own(r) => Val::Resource(h.lift_own(*r, src.u32()?)?),
                DefinedType::Borrow(r) => Val::Resource(h.lift_borrow(*r, src.u32()?)?),
                DefinedType::Stream(_) => return Err(async_value("a `stream`")),
                DefinedType::Future(_) => return Err(async_value("a `future`")),
                d => {
                    let cases = self
                        .cases(d)
                        .ok_or_else(|| bug(format!("{d:?} is not a variant")))?;
                    let (i, payload) = self.lift_flat_variant(h, budget, cases, src)?;
                    make_case(d, i, payload)?
                }
            },
        })
    }

    /// `lift_flat_variant`: the case index and its payload.
    fn lift_flat_variant(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        cases: Cases<'_>,
        src: &mut Src<'_>,
    ) -> Result<(usize, Option<Val>)> {
        let disc = src.u32()?;
        if disc as usize >= cases.len() {
            return Err(trap(
                ComponentTrap::InvalidDiscriminant,
                format!("discriminant {disc} of a type with {} cases", cases.len()),
            ));
        }
        let slots = self
            .variant_slots(cases, MAX_FLAT_PARAMS)
            .ok_or_else(|| bug("a flat variant with too many slots".into()))?;
        let vals = slots
            .iter()
            .map(|t| src.next(*t))
            .collect::<Result<Vec<_>>>()?;
        let i = disc as usize;
        let Some(t) = cases.payload(i) else {
            return Ok((i, None));
        };
        let wants = self
            .flat_of(t, MAX_FLAT_PARAMS)
            .ok_or_else(|| bug("a flat payload with too many slots".into()))?;
        let coerced = wants
            .iter()
            .zip(&vals)
            .map(|(w, v)| coerce_lift(*v, *w))
            .collect::<Result<Vec<_>>>()?;
        let mut sub = Src::new(&coerced);
        let v = self.lift_flat(h, budget, t, &mut sub)?;
        Ok((i, Some(v)))
    }

    /// `load`: a value of `ty` at `ptr`, which is aligned and within the
    /// memory (the caller checked).
    fn load(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ty: InterfaceType,
        ptr: u64,
    ) -> Result<Val> {
        use InterfaceType as T;
        if let Some(s) = self.scalar(ty) {
            let n = self.layout(s).size;
            let mem = h.memory()?;
            return decode_scalar(s, self.slice(mem, ptr, n)?);
        }
        Ok(match ty {
            T::String => {
                let (p, n) = (self.read_u32(h, ptr)?, self.read_u32(h, ptr + 4)?);
                Val::String(self.load_string_from_range(h, budget, p, n)?)
            }
            T::ErrorContext => return Err(async_value("an `error-context`")),
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Primitive(p) => self.load(h, budget, *p, ptr)?,
                DefinedType::Record(fields) => {
                    let offs = self.field_offsets(fields.iter().map(|f| f.1));
                    Val::Record(
                        fields
                            .iter()
                            .zip(offs)
                            .map(|((n, t), o)| Ok((n.clone(), self.load(h, budget, *t, ptr + o)?)))
                            .collect::<Result<_>>()?,
                    )
                }
                DefinedType::Tuple(ts) => Val::Tuple(self.load_fields(h, budget, ts, ptr)?),
                DefinedType::List(e) => {
                    let (p, n) = (self.read_u32(h, ptr)?, self.read_u32(h, ptr + 4)?);
                    Val::List(self.load_list_from_range(h, budget, p, n, *e)?)
                }
                DefinedType::FixedLengthList { element, len } => {
                    Val::List(self.load_elements(h, budget, ptr, u64::from(*len), *element)?)
                }
                DefinedType::Map { key, value } => {
                    let (p, n) = (self.read_u32(h, ptr)?, self.read_u32(h, ptr + 4)?);
                    Val::Map(self.load_map_from_range(h, budget, p, n, *key, *value)?)
                }
                DefinedType::Flags(names) => {
                    let v = match flags_size(names.len()) {
                        1 => u32::from(self.read_n::<1>(h, ptr)?[0]),
                        2 => u32::from(u16::from_le_bytes(self.read_n::<2>(h, ptr)?)),
                        _ => self.read_u32(h, ptr)?,
                    };
                    Val::Flags(unpack_flags(v, names))
                }
                DefinedType::Own(r) => {
                    let handle = self.read_u32(h, ptr)?;
                    Val::Resource(h.lift_own(*r, handle)?)
                }
                DefinedType::Borrow(r) => {
                    let handle = self.read_u32(h, ptr)?;
                    Val::Resource(h.lift_borrow(*r, handle)?)
                }
                DefinedType::Stream(_) => return Err(async_value("a `stream`")),
                DefinedType::Future(_) => return Err(async_value("a `future`")),
                d => {
                    let cases = self
                        .cases(d)
                        .ok_or_else(|| bug(format!("{d:?} is not a variant")))?;
                    let (_, payload_at) = self.variant_layout(cases);
                    let disc = match discriminant_size(cases.len()) {
                        1 => u32::from(self.read_n::<1>(h, ptr)?[0]),
                        2 => u32::from(u16::from_le_bytes(self.read_n::<2>(h, ptr)?)),
                        _ => self.read_u32(h, ptr)?,
                    };
                    if disc as usize >= cases.len() {
                        return Err(trap(
                            ComponentTrap::InvalidDiscriminant,
                            format!(
                                "discriminant {disc} at {ptr:#x} of a type with {} cases",
                                cases.len()
                            ),
                        ));
                    }
                    let i = disc as usize;
                    let payload = match cases.payload(i) {
                        Some(t) => Some(self.load(h, budget, t, ptr + payload_at)?),
                        None => None,
                    };
                    make_case(d, i, payload)?
                }
            },
            _ => return Err(bug(format!("{ty:?} is a scalar"))),
        })
    }

    /// The fields of a tuple (or of spilled parameters) at `ptr`.
    fn load_fields(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ts: &[InterfaceType],
        ptr: u64,
    ) -> Result<Vec<Val>> {
        let offs = self.field_offsets(ts.iter().copied());
        ts.iter()
            .zip(offs)
            .map(|(t, o)| self.load(h, budget, *t, ptr + o))
            .collect()
    }

    /// `load_string_from_range`: a string of the options' encoding at
    /// `ptr` with `tagged` code units (for `latin1+utf16`, the top bit says
    /// UTF-16).
    pub(crate) fn load_string_from_range(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ptr: u32,
        tagged: u32,
    ) -> Result<String> {
        #[derive(Clone, Copy)]
        enum Enc {
            Utf8,
            Utf16,
            Latin1,
        }
        let (align, bytes, enc) = match self.encoding {
            StringEncoding::Utf8 => (1, u64::from(tagged), Enc::Utf8),
            StringEncoding::Utf16 => (2, 2 * u64::from(tagged), Enc::Utf16),
            StringEncoding::Latin1Utf16 if tagged & UTF16_TAG != 0 => {
                (2, 2 * u64::from(tagged ^ UTF16_TAG), Enc::Utf16)
            }
            StringEncoding::Latin1Utf16 => (2, u64::from(tagged), Enc::Latin1),
        };
        if bytes > MAX_STRING_BYTE_LENGTH {
            return Err(trap(
                ComponentTrap::StringTooLong,
                format!("string of {bytes} bytes at {ptr:#x}"),
            ));
        }
        if !is_aligned(ptr, align) {
            return Err(trap(
                ComponentTrap::UnalignedPointer,
                format!("string at {ptr:#x}, not aligned to {align}"),
            ));
        }
        let mem = h.memory()?;
        let len = mem.len() as u64;
        if u64::from(ptr) + bytes > len {
            return Err(trap(
                ComponentTrap::StringOutOfBounds,
                format!("string of {bytes} bytes at {ptr:#x}, past the memory's {len} bytes"),
            ));
        }
        charge(budget, bytes)?;
        let b = self.slice(mem, ptr.into(), bytes)?;
        match enc {
            Enc::Utf8 => match std::str::from_utf8(b) {
                Ok(s) => Ok(s.to_owned()),
                Err(e) => {
                    let kind = if e.error_len().is_some() {
                        ComponentTrap::InvalidUtf8
                    } else {
                        ComponentTrap::IncompleteUtf8
                    };
                    Err(trap(kind, format!("string at {ptr:#x}: {e}")))
                }
            },
            Enc::Utf16 => {
                let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
                let mut s = String::with_capacity(b.len() / 2);
                for (i, c) in char::decode_utf16(units).enumerate() {
                    match c {
                        Ok(c) => s.push(c),
                        Err(e) => {
                            return Err(trap(
                                ComponentTrap::InvalidUtf16,
                                format!(
                                    "string at {ptr:#x}: unpaired surrogate {:#06x} near code unit {i}",
                                    e.unpaired_surrogate()
                                ),
                            ));
                        }
                    }
                }
                Ok(s)
            }
            Enc::Latin1 => Ok(b.iter().map(|&c| char::from(c)).collect()),
        }
    }

    /// Checks a list's range as `load_list_from_range` does: not longer than
    /// the maximum, aligned, within the memory.
    pub(crate) fn check_list(
        &self,
        h: &mut dyn AbiHost,
        ptr: u32,
        count: u32,
        elem: Layout,
    ) -> Result<()> {
        let bytes = u64::from(count).saturating_mul(elem.size);
        if bytes > MAX_LIST_BYTE_LENGTH {
            return Err(trap(
                ComponentTrap::ListTooLong,
                format!(
                    "list of {count} elements of {} bytes at {ptr:#x}",
                    elem.size
                ),
            ));
        }
        if !is_aligned(ptr, elem.align) {
            return Err(trap(
                ComponentTrap::UnalignedPointer,
                format!("list at {ptr:#x}, not aligned to {}", elem.align),
            ));
        }
        let len = self.mem_len(h)?;
        if u64::from(ptr) + bytes > len {
            return Err(trap(
                ComponentTrap::ListOutOfBounds,
                format!(
                    "list of {count} elements of {} bytes at {ptr:#x}, past the memory's {len} bytes",
                    elem.size
                ),
            ));
        }
        Ok(())
    }

    /// `load_list_from_range`.
    fn load_list_from_range(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ptr: u32,
        count: u32,
        elem: InterfaceType,
    ) -> Result<Vec<Val>> {
        let l = self.layout(elem);
        self.check_list(h, ptr, count, l)?;
        charge(budget, u64::from(count) * l.size.max(1))?;
        self.load_elements(h, budget, ptr.into(), count.into(), elem)
    }

    /// `count` elements of `elem` from `ptr`, whose range is checked.
    fn load_elements(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ptr: u64,
        count: u64,
        elem: InterfaceType,
    ) -> Result<Vec<Val>> {
        let l = self.layout(elem);
        if let Some(s) = self.scalar(elem) {
            // One pass over the bytes for a list of numbers.
            let mem = h.memory()?;
            let b = self.slice(mem, ptr, count.saturating_mul(l.size))?;
            return b
                .chunks_exact(l.size as usize)
                .map(|c| decode_scalar(s, c))
                .collect();
        }
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for i in 0..count {
            out.push(self.load(h, budget, elem, ptr + i * l.size)?);
        }
        Ok(out)
    }

    /// A map's entries: a list of (key, value) tuples.
    fn load_map_from_range(
        &self,
        h: &mut dyn AbiHost,
        budget: &mut u64,
        ptr: u32,
        count: u32,
        key: InterfaceType,
        value: InterfaceType,
    ) -> Result<Vec<(Val, Val)>> {
        let pair = self.record_layout([key, value].into_iter());
        self.check_list(h, ptr, count, pair)?;
        charge(budget, u64::from(count) * pair.size.max(1))?;
        let value_at = align_to(self.layout(key).size, self.layout(value).align);
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..u64::from(count) {
            let at = u64::from(ptr) + i * pair.size;
            let k = self.load(h, budget, key, at)?;
            let v = self.load(h, budget, value, at + value_at)?;
            out.push((k, v));
        }
        Ok(out)
    }

    // ---------------------------------------------------------------
    // Lowering

    /// `lower_flat`: `v` (of type `ty`, checked) as core values appended
    /// to `out`.
    fn lower_flat(
        &self,
        h: &mut dyn AbiHost,
        ty: InterfaceType,
        v: &Val,
        out: &mut Vec<Flat>,
    ) -> Result<()> {
        use InterfaceType as T;
        match (ty, v) {
            (T::Bool, Val::Bool(x)) => out.push(Flat::I32(i32::from(*x))),
            (T::S8, Val::S8(x)) => out.push(Flat::I32(i32::from(*x))),
            (T::U8, Val::U8(x)) => out.push(Flat::I32(i32::from(*x))),
            (T::S16, Val::S16(x)) => out.push(Flat::I32(i32::from(*x))),
            (T::U16, Val::U16(x)) => out.push(Flat::I32(i32::from(*x))),
            (T::S32, Val::S32(x)) => out.push(Flat::I32(*x)),
            (T::U32, Val::U32(x)) => out.push(Flat::I32(*x as i32)),
            (T::S64, Val::S64(x)) => out.push(Flat::I64(*x)),
            (T::U64, Val::U64(x)) => out.push(Flat::I64(*x as i64)),
            (T::F32, Val::Float32(x)) => out.push(Flat::F32(x.to_bits())),
            (T::F64, Val::Float64(x)) => out.push(Flat::F64(x.to_bits())),
            (T::Char, Val::Char(c)) => out.push(Flat::I32(u32::from(*c) as i32)),
            (T::String, Val::String(s)) => {
                let (p, n) = self.store_string_into_range(h, s)?;
                out.extend([Flat::I32(p as i32), Flat::I32(n as i32)]);
            }
            (T::Defined(i), v) => match (self.types.defined(i), v) {
                (DefinedType::Primitive(p), v) => self.lower_flat(h, *p, v, out)?,
                (DefinedType::Record(fields), Val::Record(vs)) if fields.len() == vs.len() => {
                    for ((_, t), (_, v)) in fields.iter().zip(vs) {
                        self.lower_flat(h, *t, v, out)?;
                    }
                }
                (DefinedType::Tuple(ts), Val::Tuple(vs)) if ts.len() == vs.len() => {
                    for (t, v) in ts.iter().zip(vs) {
                        self.lower_flat(h, *t, v, out)?;
                    }
                }
                (DefinedType::List(e), Val::List(vs)) => {
                    let (p, n) = self.store_list_into_range(h, vs, *e)?;
                    out.extend([Flat::I32(p as i32), Flat::I32(n as i32)]);
                }
                (DefinedType::FixedLengthList { element, len }, Val::List(vs))
                    if vs.len() as u64 == u64::from(*len) =>
                {
                    for v in vs {
                        self.lower_flat(h, *element, v, out)?;
                    }
                }
                (DefinedType::Map { key, value }, Val::Map(vs)) => {
                    let (p, n) = self.store_map_into_range(h, vs, *key, *value)?;
                    out.extend([Flat::I32(p as i32), Flat::I32(n as i32)]);
                }
                (DefinedType::Flags(names), Val::Flags(set)) => {
                    out.push(Flat::I32(self.pack_flags(names, set)? as i32))
                }
                (DefinedType::Own(r), Val::Resource(res)) => {
                    out.push(Flat::I32(h.lower_own(*r, res)? as i32))
                }
                (DefinedType::Borrow(r), Val::Resource(res)) => {
                    out.push(Flat::I32(h.lower_borrow(*r, res)? as i32))
                }
                (d, v) => {
                    let Some(cases) = self.cases(d) else {
                        return Err(self.mismatch(ty, v));
                    };
                    let (i, payload) = self
                        .match_case(d, cases, v)
                        .ok_or_else(|| self.mismatch(ty, v))?;
                    let slots = self
                        .variant_slots(cases, MAX_FLAT_PARAMS)
                        .ok_or_else(|| bug("a flat variant with too many slots".into()))?;
                    out.push(Flat::I32(i as i32));
                    let mut payload_flat = Vec::new();
                    if let (Some(t), Some(pv)) = (cases.payload(i), payload) {
                        self.lower_flat(h, t, pv, &mut payload_flat)?;
                    }
                    for (k, slot) in slots.iter().enumerate() {
                        out.push(match payload_flat.get(k) {
                            Some(fv) => coerce_lower(*fv, *slot)?,
                            None => Flat::zero(*slot),
                        });
                    }
                }
            },
            (ty, v) => return Err(self.mismatch(ty, v)),
        }
        Ok(())
    }

    /// The case index of a variant-like value and its payload, `None` if
    /// the value is not one of the type's cases (with a payload if and only
    /// if the case has one).
    fn match_case<'v>(
        &self,
        d: &DefinedType,
        cases: Cases<'_>,
        v: &'v Val,
    ) -> Option<(usize, Option<&'v Val>)> {
        let (i, payload) = match (d, v) {
            (DefinedType::Variant(cs), Val::Variant(name, p)) => {
                (cs.iter().position(|c| c.0 == *name)?, p.as_deref())
            }
            (DefinedType::Enum(names), Val::Enum(name)) => {
                (names.iter().position(|n| n == name)?, None)
            }
            (DefinedType::Option(_), Val::Option(None)) => (0, None),
            (DefinedType::Option(_), Val::Option(Some(p))) => (1, Some(&**p)),
            (DefinedType::Result { .. }, Val::Result(Ok(p))) => (0, p.as_deref()),
            (DefinedType::Result { .. }, Val::Result(Err(p))) => (1, p.as_deref()),
            _ => return None,
        };
        (cases.payload(i).is_some() == payload.is_some()).then_some((i, payload))
    }

    fn pack_flags(&self, names: &[String], set: &[String]) -> Result<u32> {
        let mut bits = 0u32;
        for s in set {
            let i = names
                .iter()
                .position(|n| n == s)
                .ok_or_else(|| Error::msg(format!("type mismatch: no flag `{s}` in {names:?}")))?;
            bits |= 1 << (i & 31);
        }
        Ok(bits)
    }

    fn mismatch(&self, ty: InterfaceType, v: &Val) -> Error {
        Error::msg(format!(
            "type mismatch: expected {}, found a {} value",
            self.type_name(ty, 2),
            v.kind()
        ))
    }

    /// `store`: `v` (of type `ty`, checked) at `ptr`, which is aligned and
    /// within the memory.
    fn store(&self, h: &mut dyn AbiHost, ty: InterfaceType, v: &Val, ptr: u64) -> Result<()> {
        use InterfaceType as T;
        if let Some(s) = self.scalar(ty) {
            let (b, n) = encode_scalar(s, v).ok_or_else(|| self.mismatch(ty, v))?;
            return self.write(h, ptr, &b[..n]);
        }
        match (ty, v) {
            (T::String, Val::String(s)) => {
                let (p, n) = self.store_string_into_range(h, s)?;
                self.write_pair(h, ptr, p, n)
            }
            (T::Defined(i), v) => match (self.types.defined(i), v) {
                (DefinedType::Primitive(p), v) => self.store(h, *p, v, ptr),
                (DefinedType::Record(fields), Val::Record(vs)) if fields.len() == vs.len() => {
                    let offs = self.field_offsets(fields.iter().map(|f| f.1));
                    for (((_, t), (_, v)), o) in fields.iter().zip(vs).zip(offs) {
                        self.store(h, *t, v, ptr + o)?;
                    }
                    Ok(())
                }
                (DefinedType::Tuple(ts), Val::Tuple(vs)) if ts.len() == vs.len() => {
                    self.store_fields(h, ts, vs, ptr)
                }
                (DefinedType::List(e), Val::List(vs)) => {
                    let (p, n) = self.store_list_into_range(h, vs, *e)?;
                    self.write_pair(h, ptr, p, n)
                }
                (DefinedType::FixedLengthList { element, len }, Val::List(vs))
                    if vs.len() as u64 == u64::from(*len) =>
                {
                    self.store_elements(h, vs, *element, ptr)
                }
                (DefinedType::Map { key, value }, Val::Map(vs)) => {
                    let (p, n) = self.store_map_into_range(h, vs, *key, *value)?;
                    self.write_pair(h, ptr, p, n)
                }
                (DefinedType::Flags(names), Val::Flags(set)) => {
                    let bits = self.pack_flags(names, set)?;
                    let n = flags_size(names.len()) as usize;
                    self.write(h, ptr, &bits.to_le_bytes()[..n])
                }
                (DefinedType::Own(r), Val::Resource(res)) => {
                    let i = h.lower_own(*r, res)?;
                    self.write(h, ptr, &i.to_le_bytes())
                }
                (DefinedType::Borrow(r), Val::Resource(res)) => {
                    let i = h.lower_borrow(*r, res)?;
                    self.write(h, ptr, &i.to_le_bytes())
                }
                (d, v) => {
                    let Some(cases) = self.cases(d) else {
                        return Err(self.mismatch(ty, v));
                    };
                    let (i, payload) = self
                        .match_case(d, cases, v)
                        .ok_or_else(|| self.mismatch(ty, v))?;
                    let n = discriminant_size(cases.len()) as usize;
                    self.write(h, ptr, &(i as u32).to_le_bytes()[..n])?;
                    if let (Some(t), Some(pv)) = (cases.payload(i), payload) {
                        let (_, at) = self.variant_layout(cases);
                        self.store(h, t, pv, ptr + at)?;
                    }
                    Ok(())
                }
            },
            (ty, v) => Err(self.mismatch(ty, v)),
        }
    }

    fn write_pair(&self, h: &mut dyn AbiHost, ptr: u64, a: u32, b: u32) -> Result<()> {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&a.to_le_bytes());
        bytes[4..].copy_from_slice(&b.to_le_bytes());
        self.write(h, ptr, &bytes)
    }

    /// The fields of a tuple (or spilled values) at `ptr`.
    fn store_fields(
        &self,
        h: &mut dyn AbiHost,
        ts: &[InterfaceType],
        vs: &[Val],
        ptr: u64,
    ) -> Result<()> {
        let offs = self.field_offsets(ts.iter().copied());
        for ((t, v), o) in ts.iter().zip(vs).zip(offs) {
            self.store(h, *t, v, ptr + o)?;
        }
        Ok(())
    }

    /// `store_list_into_valid_range`.
    fn store_elements(
        &self,
        h: &mut dyn AbiHost,
        vs: &[Val],
        elem: InterfaceType,
        ptr: u64,
    ) -> Result<()> {
        let l = self.layout(elem);
        if let Some(s) = self.scalar(elem) {
            // One write for a list of numbers.
            let mut buf = Vec::with_capacity(vs.len() * l.size as usize);
            for v in vs {
                let (b, n) = encode_scalar(s, v).ok_or_else(|| self.mismatch(elem, v))?;
                buf.extend_from_slice(&b[..n]);
            }
            return self.write(h, ptr, &buf);
        }
        for (i, v) in vs.iter().enumerate() {
            self.store(h, elem, v, ptr + i as u64 * l.size)?;
        }
        Ok(())
    }

    /// `store_list_into_range`: a fresh allocation from `realloc`.
    fn store_list_into_range(
        &self,
        h: &mut dyn AbiHost,
        vs: &[Val],
        elem: InterfaceType,
    ) -> Result<(u32, u32)> {
        let l = self.layout(elem);
        let (bytes, count) = self.list_bytes(vs.len(), l)?;
        let ptr = self.realloc(
            h,
            0,
            0,
            l.align,
            bytes,
            ComponentTrap::ReallocListOutOfBounds,
        )?;
        self.store_elements(h, vs, elem, ptr.into())?;
        Ok((ptr, count))
    }

    /// The byte length of `n` elements of layout `l`, which must fit a
    /// 32-bit memory (a host-made list can be longer than a guest's).
    pub(crate) fn list_bytes(&self, n: usize, l: Layout) -> Result<(u64, u32)> {
        let bytes = (n as u64).saturating_mul(l.size);
        match u32::try_from(n) {
            Ok(count) if bytes <= u64::from(u32::MAX) => Ok((bytes, count)),
            _ => Err(trap(
                ComponentTrap::ListTooLong,
                format!("a list of {n} elements of {} bytes", l.size),
            )),
        }
    }

    /// A map's entries as a list of (key, value) tuples.
    fn store_map_into_range(
        &self,
        h: &mut dyn AbiHost,
        vs: &[(Val, Val)],
        key: InterfaceType,
        value: InterfaceType,
    ) -> Result<(u32, u32)> {
        let pair = self.record_layout([key, value].into_iter());
        let (bytes, count) = self.list_bytes(vs.len(), pair)?;
        let ptr = self.realloc(
            h,
            0,
            0,
            pair.align,
            bytes,
            ComponentTrap::ReallocListOutOfBounds,
        )?;
        let value_at = align_to(self.layout(key).size, self.layout(value).align);
        for (i, (k, v)) in vs.iter().enumerate() {
            let at = u64::from(ptr) + i as u64 * pair.size;
            self.store(h, key, k, at)?;
            self.store(h, value, v, at + value_at)?;
        }
        Ok((ptr, count))
    }

    /// `store_string_into_range` of a host string (a UTF-8 source whose
    /// code units are its bytes): the pointer and the (tagged) length.
    pub(crate) fn store_string_into_range(
        &self,
        h: &mut dyn AbiHost,
        s: &str,
    ) -> Result<(u32, u32)> {
        if s.len() as u64 > MAX_STRING_BYTE_LENGTH {
            return Err(trap(
                ComponentTrap::StringTooLong,
                format!("a string of {} bytes", s.len()),
            ));
        }
        let units = s.len() as u32;
        let oob = ComponentTrap::ReallocStringOutOfBounds;
        match self.encoding {
            // `store_string_copy`.
            StringEncoding::Utf8 => {
                let ptr = self.realloc(h, 0, 0, 1, units.into(), oob)?;
                self.write(h, ptr.into(), s.as_bytes())?;
                Ok((ptr, units))
            }
            // `store_utf8_to_utf16`: the worst case, then shrink.
            StringEncoding::Utf16 => {
                let worst = 2 * u64::from(units);
                let mut ptr = self.realloc(h, 0, 0, 2, worst, oob)?;
                let enc = utf16_bytes(s);
                self.write(h, ptr.into(), &enc)?;
                if (enc.len() as u64) < worst {
                    ptr = self.realloc(h, ptr, worst as u32, 2, enc.len() as u64, oob)?;
                }
                Ok((ptr, (enc.len() / 2) as u32))
            }
            StringEncoding::Latin1Utf16 => self.store_string_to_latin1_or_utf16(h, s, units),
        }
    }

    /// `store_string_to_latin1_or_utf16`: Latin-1 while the characters
    /// fit, else grow to the worst case, inflate what was written to
    /// UTF-16 and write the rest as UTF-16; shrink to what was used.
    fn store_string_to_latin1_or_utf16(
        &self,
        h: &mut dyn AbiHost,
        s: &str,
        units: u32,
    ) -> Result<(u32, u32)> {
        let oob = ComponentTrap::ReallocStringOutOfBounds;
        let mut ptr = self.realloc(h, 0, 0, 2, units.into(), oob)?;
        let mut latin1 = Vec::with_capacity(s.len());
        for c in s.chars() {
            if u32::from(c) < 0x100 {
                latin1.push(u32::from(c) as u8);
                continue;
            }
            // The first character past Latin-1: what was written so far
            // is in memory when `realloc` grows the allocation.
            self.write(h, ptr.into(), &latin1)?;
            let worst = 2 * u64::from(units);
            ptr = self.realloc(h, ptr, units, 2, worst, oob)?;
            let n = latin1.len() as u64;
            let mem = h.memory()?;
            let area = self.slice(mem, ptr.into(), worst)?;
            for j in (0..n as usize).rev() {
                area[2 * j] = area[j];
                area[2 * j + 1] = 0;
            }
            let enc = utf16_bytes(s);
            let rest = &enc[2 * n as usize..];
            self.write(h, u64::from(ptr) + 2 * n, rest)?;
            if worst > enc.len() as u64 {
                ptr = self.realloc(h, ptr, worst as u32, 2, enc.len() as u64, oob)?;
            }
            return Ok((ptr, (enc.len() / 2) as u32 | UTF16_TAG));
        }
        self.write(h, ptr.into(), &latin1)?;
        let n = latin1.len() as u32;
        if n < units {
            ptr = self.realloc(h, ptr, units, 2, n.into(), oob)?;
        }
        Ok((ptr, n))
    }

    // ---------------------------------------------------------------
    // Calls

    /// The host calls a lifted export: its arguments as the guest function
    /// takes them, flat or (past [`MAX_FLAT_PARAMS`]) stored in memory the
    /// guest's `realloc(0, 0, align, size)` gives, passed as one pointer.
    /// The arguments are type-checked first, so that nothing (no `realloc`
    /// call, no resource moved into the guest's table) happens for a call
    /// that cannot be made.
    #[allow(dead_code)] // For the runtime.
    pub fn lower_args(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        args: &[Val],
    ) -> Result<Vec<Flat>> {
        self.check_args(ft, args)?;
        match self.flat_param_types(ft) {
            Some(_) => {
                let mut out = Vec::new();
                for ((name, t), v) in ft.params.iter().zip(args) {
                    self.lower_flat(h, *t, v, &mut out)
                        .map_err(|e| e.context(format!("lowering argument `{name}`")))?;
                }
                Ok(out)
            }
            None => {
                let ts: Vec<InterfaceType> = ft.params.iter().map(|p| p.1).collect();
                let l = self.record_layout(ts.iter().copied());
                let ptr = self
                    .realloc(h, 0, 0, l.align, l.size, ComponentTrap::ReallocOutOfBounds)
                    .map_err(|e| e.context("allocating the spilled arguments"))?;
                self.store_fields(h, &ts, args, ptr.into())
                    .map_err(|e| e.context("lowering the spilled arguments"))?;
                Ok(vec![Flat::I32(ptr as i32)])
            }
        }
    }

    fn check_args(&self, ft: &FuncType, args: &[Val]) -> Result<()> {
        if args.len() != ft.params.len() {
            return Err(Error::msg(format!(
                "expected {} arguments, got {}",
                ft.params.len(),
                args.len()
            )));
        }
        for ((name, t), v) in ft.params.iter().zip(args) {
            // The path's root is formatted only for a mismatch.
            if self.check(*t, v).is_err() {
                self.typecheck_as(*t, v, &format!("argument `{name}`"))?;
            }
        }
        Ok(())
    }

    /// The host called a lifted export: its results out of the core
    /// results, through the returned pointer past [`MAX_FLAT_RESULTS`].
    #[allow(dead_code)] // For the runtime.
    pub fn lift_results(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        core: &[Flat],
    ) -> Result<Vec<Val>> {
        let Some(t) = ft.result else {
            Src::new(core).finish()?;
            return Ok(Vec::new());
        };
        let mut src = Src::new(core);
        let mut budget = self.lift_budget(h)?;
        let v = match self.flat_result_types(ft) {
            Some(_) => self.lift_flat(h, &mut budget, t, &mut src),
            None => src.u32().and_then(|ptr| {
                self.check_ptr(h, ptr, self.layout(t), "the result area")?;
                self.load(h, &mut budget, t, ptr.into())
            }),
        }
        .map_err(|e| e.context("lifting the result"))?;
        src.finish()?;
        Ok(vec![v])
    }

    /// The guest called a lowered import: the arguments out of the core
    /// arguments (through a pointer past [`MAX_FLAT_PARAMS`]) and, if the
    /// result does not fit [`MAX_FLAT_RESULTS`], the pointer it is to be
    /// written to (checked when it is written, by
    /// [`lower_results`](Abi::lower_results)).
    #[allow(dead_code)] // For the runtime.
    pub fn lift_args(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        core: &[Flat],
    ) -> Result<(Vec<Val>, Option<u32>)> {
        let mut src = Src::new(core);
        let mut budget = self.lift_budget(h)?;
        let args = match self.flat_param_types(ft) {
            Some(_) => {
                let mut args = Vec::with_capacity(ft.params.len());
                for (name, t) in &ft.params {
                    args.push(
                        self.lift_flat(h, &mut budget, *t, &mut src)
                            .map_err(|e| e.context(format!("lifting argument `{name}`")))?,
                    );
                }
                args
            }
            None => {
                let ts: Vec<InterfaceType> = ft.params.iter().map(|p| p.1).collect();
                let ptr = src.u32()?;
                (|| {
                    let l = self.record_layout(ts.iter().copied());
                    self.check_ptr(h, ptr, l, "the spilled arguments")?;
                    self.load_fields(h, &mut budget, &ts, ptr.into())
                })()
                .map_err(|e| e.context("lifting the spilled arguments"))?
            }
        };
        let retptr = match self.flat_result_types(ft) {
            Some(_) => None,
            None => Some(src.u32()?),
        };
        src.finish()?;
        Ok((args, retptr))
    }

    /// A lowered import returns: its results as core values, or written
    /// through `retptr` past [`MAX_FLAT_RESULTS`] (no core values then).
    /// The results are type-checked first.
    #[allow(dead_code)] // For the runtime.
    pub fn lower_results(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        results: &[Val],
        retptr: Option<u32>,
    ) -> Result<Vec<Flat>> {
        let expected = usize::from(ft.result.is_some());
        if results.len() != expected {
            return Err(Error::msg(format!(
                "expected {expected} results, got {}",
                results.len()
            )));
        }
        let (Some(t), Some(v)) = (ft.result, results.first()) else {
            return Ok(Vec::new());
        };
        self.typecheck_as(t, v, "the result")?;
        match self.flat_result_types(ft) {
            Some(_) => {
                let mut out = Vec::new();
                self.lower_flat(h, t, v, &mut out)
                    .map_err(|e| e.context("lowering the result"))?;
                Ok(out)
            }
            None => {
                let ptr =
                    retptr.ok_or_else(|| bug("no return pointer for a spilled result".into()))?;
                (|| {
                    self.check_ptr(h, ptr, self.layout(t), "the return pointer's area")?;
                    self.store(h, t, v, ptr.into())
                })()
                .map_err(|e| e.context("lowering the result"))?;
                Ok(Vec::new())
            }
        }
    }

    // ---------------------------------------------------------------
    // Type checking

    /// Checks a host-supplied value against a type; the error names the
    /// path to what does not match (`value.items[3].name`) and the type
    /// expected there.
    #[allow(dead_code)] // For the runtime.
    pub fn typecheck(&self, ty: InterfaceType, v: &Val) -> Result<()> {
        self.typecheck_as(ty, v, "value")
    }

    fn typecheck_as(&self, ty: InterfaceType, v: &Val, root: &str) -> Result<()> {
        self.check(ty, v).map_err(|m| {
            let mut path = root.to_string();
            for seg in m.path.iter().rev() {
                path.push_str(seg);
            }
            Error::msg(format!("type mismatch at {path}: {}", m.msg))
        })
    }

    fn check(&self, ty: InterfaceType, v: &Val) -> std::result::Result<(), Mismatch> {
        use InterfaceType as T;
        let wrong = || {
            Mismatch::new(format!(
                "expected {}, found a {} value",
                self.type_name(ty, 2),
                v.kind()
            ))
        };
        match (ty, v) {
            (T::Bool, Val::Bool(_))
            | (T::S8, Val::S8(_))
            | (T::U8, Val::U8(_))
            | (T::S16, Val::S16(_))
            | (T::U16, Val::U16(_))
            | (T::S32, Val::S32(_))
            | (T::U32, Val::U32(_))
            | (T::S64, Val::S64(_))
            | (T::U64, Val::U64(_))
            | (T::F32, Val::Float32(_))
            | (T::F64, Val::Float64(_))
            | (T::Char, Val::Char(_))
            | (T::String, Val::String(_)) => Ok(()),
            (T::Defined(i), v) => match (self.types.defined(i), v) {
                (DefinedType::Primitive(p), v) => self.check(*p, v),
                (DefinedType::Record(fields), Val::Record(vs)) => {
                    if fields.len() != vs.len() {
                        return Err(Mismatch::new(format!(
                            "expected {} fields ({}), found {}",
                            fields.len(),
                            self.type_name(ty, 1),
                            vs.len()
                        )));
                    }
                    for ((fname, t), (vname, v)) in fields.iter().zip(vs) {
                        if fname != vname {
                            return Err(Mismatch::new(format!(
                                "expected field `{fname}`, found `{vname}` (fields in the type's order)"
                            )));
                        }
                        self.check(*t, v).map_err(|m| m.at(format!(".{fname}")))?;
                    }
                    Ok(())
                }
                (DefinedType::Tuple(ts), Val::Tuple(vs)) => {
                    if ts.len() != vs.len() {
                        return Err(Mismatch::new(format!(
                            "expected a tuple of {}, found {} values",
                            ts.len(),
                            vs.len()
                        )));
                    }
                    for (k, (t, v)) in ts.iter().zip(vs).enumerate() {
                        self.check(*t, v).map_err(|m| m.at(format!(".{k}")))?;
                    }
                    Ok(())
                }
                (DefinedType::List(e), Val::List(vs)) => {
                    for (k, v) in vs.iter().enumerate() {
                        self.check(*e, v).map_err(|m| m.at(format!("[{k}]")))?;
                    }
                    Ok(())
                }
                (DefinedType::FixedLengthList { element, len }, Val::List(vs)) => {
                    if vs.len() as u64 != u64::from(*len) {
                        return Err(Mismatch::new(format!(
                            "expected {len} elements ({}), found {}",
                            self.type_name(ty, 1),
                            vs.len()
                        )));
                    }
                    for (k, v) in vs.iter().enumerate() {
                        self.check(*element, v)
                            .map_err(|m| m.at(format!("[{k}]")))?;
                    }
                    Ok(())
                }
                (DefinedType::Map { key, value }, Val::Map(vs)) => {
                    for (k, (kv, vv)) in vs.iter().enumerate() {
                        self.check(*key, kv)
                            .map_err(|m| m.at(format!("[{k}].key")))?;
                        self.check(*value, vv)
                            .map_err(|m| m.at(format!("[{k}].value")))?;
                    }
                    Ok(())
                }
                (DefinedType::Flags(names), Val::Flags(set)) => {
                    match set.iter().find(|s| !names.contains(s)) {
                        Some(s) => Err(Mismatch::new(format!(
                            "no flag `{s}` in {}",
                            self.type_name(ty, 1)
                        ))),
                        None => Ok(()),
                    }
                }
                // The handle's resource type is checked where the handle
                // is lowered (`AbiHost::lower_own`, `lower_borrow`).
                (DefinedType::Own(_) | DefinedType::Borrow(_), Val::Resource(_)) => Ok(()),
                (DefinedType::Variant(cs), Val::Variant(name, p)) => {
                    let Some((_, t)) = cs.iter().find(|c| c.0 == *name) else {
                        return Err(Mismatch::new(format!(
                            "no case `{name}` in {}",
                            self.type_name(ty, 1)
                        )));
                    };
                    self.check_payload(*t, p.as_deref())
                        .map_err(|m| m.at(format!("::{name}")))
                }
                (DefinedType::Enum(names), Val::Enum(name)) => {
                    if names.contains(name) {
                        Ok(())
                    } else {
                        Err(Mismatch::new(format!(
                            "no case `{name}` in {}",
                            self.type_name(ty, 1)
                        )))
                    }
                }
                (DefinedType::Option(t), Val::Option(p)) => match p {
                    None => Ok(()),
                    Some(p) => self.check(*t, p).map_err(|m| m.at("?".into())),
                },
                (DefinedType::Result { ok, err }, Val::Result(r)) => match r {
                    Ok(p) => self
                        .check_payload(*ok, p.as_deref())
                        .map_err(|m| m.at("::ok".into())),
                    Err(p) => self
                        .check_payload(*err, p.as_deref())
                        .map_err(|m| m.at("::err".into())),
                },
                _ => Err(wrong()),
            },
            _ => Err(wrong()),
        }
    }

    fn check_payload(
        &self,
        ty: Option<InterfaceType>,
        v: Option<&Val>,
    ) -> std::result::Result<(), Mismatch> {
        match (ty, v) {
            (None, None) => Ok(()),
            (Some(t), Some(v)) => self.check(t, v),
            (Some(t), None) => Err(Mismatch::new(format!(
                "expected a payload of {}, found none",
                self.type_name(t, 1)
            ))),
            (None, Some(v)) => Err(Mismatch::new(format!(
                "expected no payload, found a {} value",
                v.kind()
            ))),
        }
    }

    /// A type as the text format writes it, nested types shown `depth`
    /// levels deep (`...` below).
    pub(crate) fn type_name(&self, ty: InterfaceType, depth: u32) -> String {
        use InterfaceType as T;
        let name = |t: InterfaceType| {
            if depth == 0 {
                "...".to_string()
            } else {
                self.type_name(t, depth - 1)
            }
        };
        let list = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join(", ");
        match ty {
            T::Bool => "bool".into(),
            T::S8 => "s8".into(),
            T::U8 => "u8".into(),
            T::S16 => "s16".into(),
            T::U16 => "u16".into(),
            T::S32 => "s32".into(),
            T::U32 => "u32".into(),
            T::S64 => "s64".into(),
            T::U64 => "u64".into(),
            T::F32 => "f32".into(),
            T::F64 => "f64".into(),
            T::Char => "char".into(),
            T::String => "string".into(),
            T::ErrorContext => "error-context".into(),
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Primitive(p) => self.type_name(*p, depth),
                DefinedType::Record(f) => format!(
                    "record {{ {} }}",
                    list(&mut f.iter().map(|(n, t)| format!("{n}: {}", name(*t))))
                ),
                DefinedType::Variant(c) => format!(
                    "variant {{ {} }}",
                    list(&mut c.iter().map(|(n, t)| match t {
                        Some(t) => format!("{n}({})", name(*t)),
                        None => n.clone(),
                    }))
                ),
                DefinedType::List(e) => format!("list<{}>", name(*e)),
                DefinedType::FixedLengthList { element, len } => {
                    format!("list<{}, {len}>", name(*element))
                }
                DefinedType::Map { key, value } => {
                    format!("map<{}, {}>", name(*key), name(*value))
                }
                DefinedType::Tuple(ts) => {
                    format!("tuple<{}>", list(&mut ts.iter().map(|t| name(*t))))
                }
                DefinedType::Flags(n) => format!("flags {{ {} }}", n.join(", ")),
                DefinedType::Enum(n) => format!("enum {{ {} }}", n.join(", ")),
                DefinedType::Option(t) => format!("option<{}>", name(*t)),
                DefinedType::Result { ok, err } => {
                    let o = ok.map_or("_".to_string(), name);
                    let e = err.map_or("_".to_string(), name);
                    format!("result<{o}, {e}>")
                }
                DefinedType::Own(r) => format!("own<resource {}>", r.0),
                DefinedType::Borrow(r) => format!("borrow<resource {}>", r.0),
                DefinedType::Stream(t) => match t {
                    Some(t) => format!("stream<{}>", name(*t)),
                    None => "stream".into(),
                },
                DefinedType::Future(t) => match t {
                    Some(t) => format!("future<{}>", name(*t)),
                    None => "future".into(),
                },
            },
        }
    }
}

/// The names of the flags whose bits are set, in the type's order (bits
/// past the type's flags are ignored, as the specification does).
fn unpack_flags(bits: u32, names: &[String]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 32 && bits & (1 << i) != 0)
        .map(|(_, n)| n.clone())
        .collect()
}

/// The value of case `i` of a variant-like type with its payload.
fn make_case(d: &DefinedType, i: usize, payload: Option<Val>) -> Result<Val> {
    let p = payload.map(Box::new);
    Ok(match d {
        DefinedType::Variant(cs) => Val::Variant(
            cs.get(i).ok_or_else(|| bug("case index".into()))?.0.clone(),
            p,
        ),
        DefinedType::Enum(names) => Val::Enum(
            names
                .get(i)
                .ok_or_else(|| bug("case index".into()))?
                .clone(),
        ),
        DefinedType::Option(_) if i == 0 => Val::Option(None),
        DefinedType::Option(_) => {
            Val::Option(Some(p.ok_or_else(|| {
                bug("an option's `some` without a payload".into())
            })?))
        }
        DefinedType::Result { .. } if i == 0 => Val::Result(Ok(p)),
        DefinedType::Result { .. } => Val::Result(Err(p)),
        d => return Err(bug(format!("{d:?} is not a variant"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompileError;
    use nyash_aot::component::types::TypeIndex;
    use nyash_test_util::SplitMix64;

    const PAGE: usize = 65536;

    /// An instance for the ABI to work on: one page of memory, a bump
    /// allocator for `realloc` that shrinks in place and copies when it
    /// grows (as a guest's allocator would), a log of its calls, and
    /// resource handles that are the resources' ids.
    struct Host {
        mem: Vec<u8>,
        next: u32,
        calls: Vec<(u32, u32, u32, u32)>,
        /// What `realloc` returns instead of allocating.
        forced: Option<u32>,
        lowered: Vec<(&'static str, ResourceIndex, u64)>,
    }

    impl Host {
        fn new() -> Self {
            Host {
                mem: vec![0; PAGE],
                next: 1024,
                calls: Vec::new(),
                forced: None,
                lowered: Vec::new(),
            }
        }

        fn put(&mut self, at: usize, bytes: &[u8]) {
            self.mem[at..at + bytes.len()].copy_from_slice(bytes);
        }

        fn put_u32s(&mut self, at: usize, words: &[u32]) {
            for (i, w) in words.iter().enumerate() {
                self.put(at + 4 * i, &w.to_le_bytes());
            }
        }
    }

    impl AbiHost for Host {
        fn memory(&mut self) -> Result<&mut [u8]> {
            Ok(&mut self.mem)
        }

        fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
            self.calls.push((old, old_size, align, new_size));
            if let Some(p) = self.forced {
                return Ok(p);
            }
            if old != 0 && new_size <= old_size {
                return Ok(old);
            }
            let p = align_to(self.next.into(), align) as u32;
            self.next = p + new_size;
            if old != 0 {
                let (o, n) = (old as usize, old_size as usize);
                self.mem.copy_within(o..o + n, p as usize);
            }
            Ok(p)
        }

        fn lower_own(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32> {
            self.lowered.push(("own", ty, u64::from(r.rep)));
            Ok(r.rep)
        }

        fn lower_borrow(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32> {
            self.lowered.push(("borrow", ty, u64::from(r.rep)));
            Ok(r.rep)
        }

        fn lift_own(&mut self, _: ResourceIndex, handle: u32) -> Result<ResourceAny> {
            Ok(ResourceAny::test(u64::from(handle)))
        }

        fn lift_borrow(&mut self, _: ResourceIndex, handle: u32) -> Result<ResourceAny> {
            Ok(ResourceAny::test(u64::from(handle) + 1000))
        }
    }

    /// A type table under construction.
    #[derive(Default)]
    struct Types(ComponentTypes);

    impl Types {
        fn def(&mut self, d: DefinedType) -> InterfaceType {
            self.0.defined.push(d);
            InterfaceType::Defined(TypeIndex(self.0.defined.len() as u32 - 1))
        }
        fn list(&mut self, t: InterfaceType) -> InterfaceType {
            self.def(DefinedType::List(t))
        }
        fn tuple(&mut self, ts: &[InterfaceType]) -> InterfaceType {
            self.def(DefinedType::Tuple(ts.to_vec()))
        }
        fn record(&mut self, fs: &[(&str, InterfaceType)]) -> InterfaceType {
            self.def(DefinedType::Record(
                fs.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            ))
        }
        fn variant(&mut self, cs: &[(&str, Option<InterfaceType>)]) -> InterfaceType {
            self.def(DefinedType::Variant(
                cs.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            ))
        }
        fn names(n: usize) -> Vec<String> {
            (0..n).map(|i| format!("c{i}")).collect()
        }
    }

    fn abi(t: &Types, encoding: StringEncoding) -> Abi<'_> {
        Abi {
            types: &t.0,
            encoding,
        }
    }

    fn func(params: &[InterfaceType], result: Option<InterfaceType>) -> FuncType {
        FuncType {
            params: params
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("p{i}"), *t))
                .collect(),
            result,
            async_: false,
        }
    }

    fn s(x: &str) -> Val {
        Val::String(x.into())
    }

    fn some(v: Val) -> Option<Box<Val>> {
        Some(Box::new(v))
    }

    /// The component trap an error is, if it is one.
    fn trap_of(e: &Error) -> Option<ComponentTrap> {
        match e.trap_code() {
            Some(TrapCode::Component(t)) => Some(t),
            _ => None,
        }
    }

    /// Runs a call both ways through the ABI: the host lowers `args`
    /// into a lifted export's core arguments, which (with a return
    /// pointer where the result spills) a lowered import's lift takes
    /// back; the result is lowered as an import's (through the return
    /// pointer) and lifted as an export's. Every step must give the
    /// values back.
    fn round_trip(abi: &Abi<'_>, h: &mut Host, ft: &FuncType, args: &[Val], result: Option<&Val>) {
        let mut core = abi.lower_args(h, ft, args).expect("lower_args");
        let lift_sig = abi.flat_params(ft, Context::Lift);
        assert_eq!(
            core.iter().map(|f| f.ty()).collect::<Vec<_>>(),
            lift_sig,
            "lowered arguments against the lifted signature"
        );
        let spill = ft.result.is_some() && abi.flat_results(ft, Context::Lower).is_empty();
        // The return area at the end of the memory, away from `realloc`'s.
        let size = ft.result.map_or(0, |t| abi.size_align(t).0);
        let retptr = ((h.mem.len() as u32 - size) & !7) as i32;
        if spill {
            core.push(Flat::I32(retptr));
        }
        let lower_sig = abi.flat_params(ft, Context::Lower);
        assert_eq!(core.iter().map(|f| f.ty()).collect::<Vec<_>>(), lower_sig);
        let (lifted, rp) = abi.lift_args(h, ft, &core).expect("lift_args");
        assert_eq!(lifted, args);
        assert_eq!(rp, spill.then_some(retptr as u32));
        let results: Vec<Val> = result.cloned().into_iter().collect();
        let rcore = abi
            .lower_results(h, ft, &results, rp)
            .expect("lower_results");
        assert_eq!(
            rcore.iter().map(|f| f.ty()).collect::<Vec<_>>(),
            abi.flat_results(ft, Context::Lower)
        );
        let back_core = if spill {
            vec![Flat::I32(retptr)]
        } else {
            rcore
        };
        let back = abi.lift_results(h, ft, &back_core).expect("lift_results");
        assert_eq!(back, results);
    }

    /// Every kind of type with a value of it, in one table.
    fn every_kind(t: &mut Types) -> Vec<(InterfaceType, Val)> {
        use InterfaceType as T;
        let list_u8 = t.list(T::U8);
        let list_str = t.list(T::String);
        let fixed = t.def(DefinedType::FixedLengthList {
            element: T::U32,
            len: 3,
        });
        let rec = t.record(&[("a", T::U8), ("b", T::String), ("c", T::U64)]);
        let tup = t.tuple(&[T::U8, T::F64]);
        let var = t.variant(&[
            ("a", Some(T::U8)),
            ("b", Some(T::F32)),
            ("c", None),
            ("d", Some(T::U64)),
        ]);
        let en = t.def(DefinedType::Enum(Types::names(3)));
        let opt = t.def(DefinedType::Option(T::String));
        let res = t.def(DefinedType::Result {
            ok: Some(T::U32),
            err: Some(T::String),
        });
        let res0 = t.def(DefinedType::Result {
            ok: None,
            err: None,
        });
        let fl = t.def(DefinedType::Flags(Types::names(12)));
        let own = t.def(DefinedType::Own(ResourceIndex(0)));
        let map = t.def(DefinedType::Map {
            key: T::String,
            value: T::U32,
        });
        let rec2 = t.record(&[("x", T::S16), ("v", var)]);
        let list_rec = t.list(rec2);
        let opt_u8 = t.def(DefinedType::Option(T::U8));
        let opt_opt = t.def(DefinedType::Option(opt_u8));
        let named = t.def(DefinedType::Primitive(T::Char));
        vec![
            (T::Bool, Val::Bool(true)),
            (T::S8, Val::S8(-5)),
            (T::U8, Val::U8(250)),
            (T::S16, Val::S16(-300)),
            (T::U16, Val::U16(65000)),
            (T::S32, Val::S32(-1)),
            (T::U32, Val::U32(u32::MAX)),
            (T::S64, Val::S64(i64::MIN)),
            (T::U64, Val::U64(u64::MAX)),
            (T::F32, Val::Float32(-1.5)),
            (T::F64, Val::Float64(1e300)),
            (T::Char, Val::Char('🍰')),
            (named, Val::Char('ö')),
            (T::String, s("hö☃🍰")),
            (list_u8, Val::List(vec![Val::U8(1), Val::U8(2), Val::U8(3)])),
            (list_str, Val::List(vec![s("a"), s(""), s("ツ")])),
            (
                fixed,
                Val::List(vec![Val::U32(7), Val::U32(8), Val::U32(9)]),
            ),
            (
                rec,
                Val::Record(vec![
                    ("a".into(), Val::U8(1)),
                    ("b".into(), s("bee")),
                    ("c".into(), Val::U64(1 << 40)),
                ]),
            ),
            (tup, Val::Tuple(vec![Val::U8(9), Val::Float64(-0.25)])),
            (var, Val::Variant("b".into(), some(Val::Float32(3.25)))),
            (var, Val::Variant("c".into(), None)),
            (var, Val::Variant("d".into(), some(Val::U64(u64::MAX - 1)))),
            (en, Val::Enum("c2".into())),
            (opt, Val::Option(some(s("x")))),
            (opt, Val::Option(None)),
            (res, Val::Result(Ok(some(Val::U32(5))))),
            (res, Val::Result(Err(some(s("bad"))))),
            (res0, Val::Result(Err(None))),
            (fl, Val::Flags(vec!["c0".into(), "c9".into(), "c11".into()])),
            (own, Val::Resource(ResourceAny::test(7))),
            (
                map,
                Val::Map(vec![(s("k1"), Val::U32(1)), (s("k1"), Val::U32(2))]),
            ),
            (
                list_rec,
                Val::List(vec![
                    Val::Record(vec![
                        ("x".into(), Val::S16(-2)),
                        ("v".into(), Val::Variant("a".into(), some(Val::U8(4)))),
                    ]),
                    Val::Record(vec![
                        ("x".into(), Val::S16(3)),
                        ("v".into(), Val::Variant("d".into(), some(Val::U64(1)))),
                    ]),
                ]),
            ),
            (opt_opt, Val::Option(some(Val::Option(None)))),
            (opt_opt, Val::Option(some(Val::Option(some(Val::U8(0)))))),
        ]
    }

    #[test]
    fn every_kind_round_trips_flat() {
        let mut t = Types::default();
        let cases = every_kind(&mut t);
        for enc in [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::Latin1Utf16,
        ] {
            let abi = abi(&t, enc);
            for (ty, v) in &cases {
                let ft = func(&[*ty], Some(*ty));
                // The argument is flat (at most 16 core values) for all of
                // these.
                assert!(abi.flat_param_types(&ft).is_some(), "{ty:?}");
                let mut h = Host::new();
                round_trip(&abi, &mut h, &ft, std::slice::from_ref(v), Some(v));
            }
        }
    }

    #[test]
    fn every_kind_round_trips_through_memory() {
        let mut t = Types::default();
        let cases = every_kind(&mut t);
        for enc in [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::Latin1Utf16,
        ] {
            for (ty, v) in &cases {
                // 16 `u32`s first: the 17th core parameter spills them all.
                let mut params = vec![InterfaceType::U32; 16];
                params.push(*ty);
                let mut t2 = Types(t.0.clone());
                let pair = t2.tuple(&[*ty, *ty]);
                let abi2 = Abi {
                    types: &t2.0,
                    encoding: enc,
                };
                let ft = func(&params, Some(pair));
                assert_eq!(abi2.flat_params(&ft, Context::Lift), vec![CoreTy::I32]);
                assert_eq!(abi2.flat_results(&ft, Context::Lift), vec![CoreTy::I32]);
                assert_eq!(
                    abi2.flat_params(&ft, Context::Lower),
                    vec![CoreTy::I32, CoreTy::I32]
                );
                assert!(abi2.flat_results(&ft, Context::Lower).is_empty());
                let mut args: Vec<Val> = (0..16).map(|i| Val::U32(i * 3)).collect();
                args.push(v.clone());
                let mut h = Host::new();
                round_trip(
                    &abi2,
                    &mut h,
                    &ft,
                    &args,
                    Some(&Val::Tuple(vec![v.clone(), v.clone()])),
                );
            }
        }
    }

    #[test]
    fn sizes_and_alignments_follow_the_spec() {
        use InterfaceType as T;
        let mut t = Types::default();
        let rec = t.record(&[("a", T::U8), ("b", T::U32), ("c", T::U16)]);
        let tup = t.tuple(&[T::U8, T::F64]);
        let opt64 = t.def(DefinedType::Option(T::U64));
        let res0 = t.def(DefinedType::Result {
            ok: None,
            err: None,
        });
        let en256 = t.def(DefinedType::Enum(Types::names(256)));
        let en257 = t.def(DefinedType::Enum(Types::names(257)));
        let en65537 = t.def(DefinedType::Enum(Types::names(65537)));
        let fl8 = t.def(DefinedType::Flags(Types::names(8)));
        let fl9 = t.def(DefinedType::Flags(Types::names(9)));
        let fl17 = t.def(DefinedType::Flags(Types::names(17)));
        let fixed = t.def(DefinedType::FixedLengthList {
            element: T::U64,
            len: 3,
        });
        let list = t.list(T::U64);
        let map = t.def(DefinedType::Map {
            key: T::U8,
            value: T::U64,
        });
        let var = t.variant(&[("a", Some(T::U8)), ("b", Some(tup)), ("c", None)]);
        let own = t.def(DefinedType::Own(ResourceIndex(0)));
        let abi = abi(&t, StringEncoding::Utf8);
        for (ty, want) in [
            (T::Bool, (1, 1)),
            (T::S16, (2, 2)),
            (T::Char, (4, 4)),
            (T::F64, (8, 8)),
            (T::String, (8, 4)),
            (rec, (12, 4)),
            (tup, (16, 8)),
            (opt64, (16, 8)),
            (res0, (1, 1)),
            (en256, (1, 1)),
            (en257, (2, 2)),
            (en65537, (4, 4)),
            (fl8, (1, 1)),
            (fl9, (2, 2)),
            (fl17, (4, 4)),
            (fixed, (24, 8)),
            (list, (8, 4)),
            (map, (8, 4)),
            (var, (24, 8)),
            (own, (4, 4)),
        ] {
            assert_eq!(abi.size_align(ty), want, "{}", abi.type_name(ty, 3));
        }
        // A map's entries are `tuple<u8, u64>`s: 16 bytes, the value at 8.
        let mut h = Host::new();
        let ft = func(&[map], None);
        let core = abi
            .lower_args(
                &mut h,
                &ft,
                &[Val::Map(vec![
                    (Val::U8(1), Val::U64(2)),
                    (Val::U8(3), Val::U64(4)),
                ])],
            )
            .unwrap();
        assert_eq!(h.calls, vec![(0, 0, 8, 32)]);
        let Flat::I32(p) = core[0] else { panic!() };
        let p = p as usize;
        assert_eq!(h.mem[p], 1);
        assert_eq!(h.mem[p + 8], 2);
        assert_eq!(h.mem[p + 16], 3);
        assert_eq!(h.mem[p + 24], 4);
    }

    #[test]
    fn flat_signatures_follow_the_spec() {
        use CoreTy::*;
        use InterfaceType as T;
        let mut t = Types::default();
        let joined = t.variant(&[("f", Some(T::F32)), ("l", Some(T::U64))]);
        let narrow = t.variant(&[("a", Some(T::U8)), ("b", Some(T::F32))]);
        let mixed = t.variant(&[("a", Some(T::F32)), ("b", Some(T::F64))]);
        let pair = t.tuple(&[T::F32, T::String]);
        let two = t.variant(&[("a", Some(pair)), ("b", Some(T::U64))]);
        let fixed = t.def(DefinedType::FixedLengthList {
            element: T::F32,
            len: 16,
        });
        let fixed17 = t.def(DefinedType::FixedLengthList {
            element: T::F32,
            len: 17,
        });
        let big_fixed = t.def(DefinedType::FixedLengthList {
            element: T::U8,
            len: 1 << 20,
        });
        let abi = abi(&t, StringEncoding::Utf8);
        let sig = |params: &[InterfaceType], result, cx| {
            let ft = func(params, result);
            (abi.flat_params(&ft, cx), abi.flat_results(&ft, cx))
        };
        assert_eq!(
            sig(&[T::String], Some(T::String), Context::Lift),
            (vec![I32, I32], vec![I32])
        );
        assert_eq!(
            sig(&[T::String], Some(T::String), Context::Lower),
            (vec![I32, I32, I32], vec![])
        );
        assert_eq!(sig(&[], Some(T::U64), Context::Lower), (vec![], vec![I64]));
        assert_eq!(sig(&[joined], None, Context::Lift).0, vec![I32, I64]);
        assert_eq!(sig(&[narrow], None, Context::Lift).0, vec![I32, I32]);
        assert_eq!(sig(&[mixed], None, Context::Lift).0, vec![I32, I64]);
        assert_eq!(sig(&[two], None, Context::Lift).0, vec![I32, I64, I32, I32]);
        assert_eq!(sig(&[fixed], None, Context::Lift).0, vec![F32; 16]);
        assert_eq!(sig(&[fixed17], None, Context::Lift).0, vec![I32]);
        assert_eq!(sig(&[big_fixed], None, Context::Lift).0, vec![I32]);
        assert_eq!(sig(&[T::U32; 16], None, Context::Lift).0, vec![I32; 16]);
        assert_eq!(sig(&[T::U32; 17], None, Context::Lift).0, vec![I32]);
        assert_eq!(
            sig(&[T::U32; 17], Some(pair), Context::Lower),
            (vec![I32, I32], vec![])
        );
    }

    #[test]
    fn variant_payloads_share_joined_slots() {
        use InterfaceType as T;
        let mut t = Types::default();
        let mix = t.variant(&[("f", Some(T::F32)), ("l", Some(T::U64)), ("n", None)]);
        let narrow = t.variant(&[("a", Some(T::U8)), ("b", Some(T::F32))]);
        let abi = abi(&t, StringEncoding::Utf8);
        let mut h = Host::new();
        let lower = |h: &mut Host, ty, v: Val| {
            let ft = func(&[ty], None);
            abi.lower_args(h, &ft, &[v]).unwrap()
        };
        let f = 1.5f32;
        assert_eq!(
            lower(&mut h, mix, Val::Variant("f".into(), some(Val::Float32(f)))),
            vec![Flat::I32(0), Flat::I64(i64::from(f.to_bits()))]
        );
        assert_eq!(
            lower(&mut h, mix, Val::Variant("n".into(), None)),
            vec![Flat::I32(2), Flat::I64(0)]
        );
        assert_eq!(
            lower(
                &mut h,
                narrow,
                Val::Variant("b".into(), some(Val::Float32(f)))
            ),
            vec![Flat::I32(1), Flat::I32(f.to_bits() as i32)]
        );
        // Lifting takes only the selected case's bits out of the slot: an
        // `f32` out of the low half of an `i64`, a `u8` out of an `i32`.
        let ft = func(&[mix], None);
        let core = [
            Flat::I32(0),
            Flat::I64(0x1234_5678_0000_0000 | i64::from(f.to_bits())),
        ];
        let (v, _) = abi.lift_args(&mut h, &ft, &core).unwrap();
        assert_eq!(v, vec![Val::Variant("f".into(), some(Val::Float32(f)))]);
        let ft = func(&[narrow], None);
        let (v, _) = abi
            .lift_args(&mut h, &ft, &[Flat::I32(0), Flat::I32(0x1ff)])
            .unwrap();
        assert_eq!(v, vec![Val::Variant("a".into(), some(Val::U8(0xff)))]);
    }

    #[test]
    fn lifting_follows_the_specs_conversions() {
        use InterfaceType as T;
        let mut t = Types::default();
        let fl = t.def(DefinedType::Flags(Types::names(3)));
        let abi = abi(&t, StringEncoding::Utf8);
        let mut h = Host::new();
        let lift = |h: &mut Host, ty, core: Flat| {
            let ft = func(&[ty], None);
            abi.lift_args(h, &ft, &[core]).map(|(v, _)| v[0].clone())
        };
        // Any nonzero `i32` is `true`; narrow integers take the low bits.
        assert_eq!(
            lift(&mut h, T::Bool, Flat::I32(2)).unwrap(),
            Val::Bool(true)
        );
        assert_eq!(
            lift(&mut h, T::Bool, Flat::I32(0)).unwrap(),
            Val::Bool(false)
        );
        assert_eq!(lift(&mut h, T::U8, Flat::I32(0x1_02)).unwrap(), Val::U8(2));
        assert_eq!(lift(&mut h, T::S8, Flat::I32(0xff)).unwrap(), Val::S8(-1));
        assert_eq!(
            lift(&mut h, T::S16, Flat::I32(0x1_8000)).unwrap(),
            Val::S16(i16::MIN)
        );
        // Flag bits past the type's flags are ignored.
        assert_eq!(
            lift(&mut h, fl, Flat::I32(-1)).unwrap(),
            Val::Flags(Types::names(3))
        );
        // NaNs come out canonical.
        let Val::Float32(f) = lift(&mut h, T::F32, Flat::F32(0x7f80_0001)).unwrap() else {
            panic!()
        };
        assert_eq!(f.to_bits(), 0x7fc0_0000);
        let Val::Float64(f) = lift(&mut h, T::F64, Flat::F64(0xfff0_0000_0000_0001)).unwrap()
        else {
            panic!()
        };
        assert_eq!(f.to_bits(), 0x7ff8_0000_0000_0000);
        // Signed values lower sign-extended into their core type.
        let ft = func(&[T::S8, T::U16], None);
        assert_eq!(
            abi.lower_args(&mut h, &ft, &[Val::S8(-1), Val::U16(65535)])
                .unwrap(),
            vec![Flat::I32(-1), Flat::I32(65535)]
        );
        // Resources go through the host's handle tables.
        let mut t = Types::default();
        let own = t.def(DefinedType::Own(ResourceIndex(3)));
        let borrow = t.def(DefinedType::Borrow(ResourceIndex(4)));
        let abi = Abi {
            types: &t.0,
            encoding: StringEncoding::Utf8,
        };
        let ft = func(&[own, borrow], None);
        let r = |id| Val::Resource(ResourceAny::test(id));
        assert_eq!(
            abi.lower_args(&mut h, &ft, &[r(5), r(6)]).unwrap(),
            vec![Flat::I32(5), Flat::I32(6)]
        );
        assert_eq!(
            h.lowered,
            vec![
                ("own", ResourceIndex(3), 5),
                ("borrow", ResourceIndex(4), 6)
            ]
        );
        let (v, _) = abi
            .lift_args(&mut h, &ft, &[Flat::I32(5), Flat::I32(6)])
            .unwrap();
        assert_eq!(v, vec![r(5), r(1006)]);
    }

    /// Lowers a string as an export's argument in `enc`; its pointer and
    /// (tagged) length, and the `realloc` calls made.
    fn lower_string(enc: StringEncoding, text: &str) -> (Host, u32, u32) {
        let t = Types::default();
        let abi = abi(&t, enc);
        let mut h = Host::new();
        let ft = func(&[InterfaceType::String], None);
        let core = abi.lower_args(&mut h, &ft, &[s(text)]).unwrap();
        let [Flat::I32(p), Flat::I32(n)] = core[..] else {
            panic!("{core:?}")
        };
        (h, p as u32, n as u32)
    }

    #[test]
    fn strings_are_stored_in_each_encoding_with_the_specs_reallocs() {
        use StringEncoding::*;
        // UTF-8: one allocation of the bytes.
        let (h, p, n) = lower_string(Utf8, "hö☃");
        assert_eq!(h.calls, vec![(0, 0, 1, 6)]);
        assert_eq!(
            (n, &h.mem[p as usize..p as usize + 6]),
            (6, "hö☃".as_bytes())
        );
        // UTF-16: the worst case (2 bytes per UTF-8 byte), then shrunk.
        let (h, p, n) = lower_string(Utf16, "hö🍰");
        assert_eq!(h.calls, vec![(0, 0, 2, 14), (p, 14, 2, 8)]);
        assert_eq!(n, 4);
        assert_eq!(
            &h.mem[p as usize..p as usize + 8],
            &[0x68, 0, 0xf6, 0, 0x3c, 0xd8, 0x70, 0xdf]
        );
        let (h, _, n) = lower_string(Utf16, "abc");
        assert_eq!((h.calls.len(), n), (1, 3));
        // latin1+utf16, all Latin-1: one byte per character, shrunk from
        // the UTF-8 length.
        let (h, p, n) = lower_string(Latin1Utf16, "hö");
        assert_eq!(h.calls, vec![(0, 0, 2, 3), (p, 3, 2, 2)]);
        assert_eq!(
            (n, &h.mem[p as usize..p as usize + 2]),
            (2, &[0x68, 0xf6][..])
        );
        // latin1+utf16 past Latin-1: grown to the worst case when the first
        // such character comes, the Latin-1 prefix inflated, shrunk to the
        // UTF-16 length; the length tagged.
        let (h, p, n) = lower_string(Latin1Utf16, "hö☃");
        let first = h.calls[0];
        assert_eq!(first, (0, 0, 2, 6));
        assert_eq!(h.calls[1], (first.0.max(1024), 6, 2, 12));
        assert_eq!(h.calls[2], (p, 12, 2, 6));
        assert_eq!(n, 3 | UTF16_TAG);
        assert_eq!(
            &h.mem[p as usize..p as usize + 6],
            &[0x68, 0, 0xf6, 0, 0x03, 0x26]
        );
        // The empty string still asks `realloc` for 0 bytes.
        let (h, _, n) = lower_string(Utf8, "");
        assert_eq!((h.calls, n), (vec![(0, 0, 1, 0)], 0));
    }

    #[test]
    fn strings_transcode_between_instances() {
        use StringEncoding::*;
        let t = Types::default();
        let ft = func(&[InterfaceType::String], None);
        let texts = ["", "abc", "hö", "hö☃🍰", "ÿ\u{100}", "\u{0}x"];
        for from in [Utf8, Utf16, Latin1Utf16] {
            for to in [Utf8, Utf16, Latin1Utf16] {
                for text in texts {
                    // The caller's side lowers its string into its memory
                    // (as its own code would have), the adapter lifts it out
                    // and lowers it into the callee's memory, whose side
                    // lifts it again.
                    let (caller, callee) = (abi(&t, from), abi(&t, to));
                    let mut a = Host::new();
                    let core = caller.lower_args(&mut a, &ft, &[s(text)]).unwrap();
                    let (v, _) = caller.lift_args(&mut a, &ft, &core).unwrap();
                    let mut b = Host::new();
                    let core = callee.lower_args(&mut b, &ft, &v).unwrap();
                    let (v, _) = callee.lift_args(&mut b, &ft, &core).unwrap();
                    assert_eq!(v, vec![s(text)], "{from:?} -> {to:?}");
                }
            }
        }
    }

    /// Lifts a `string` result through a result pointer at 0 whose
    /// (pointer, length) the test wrote.
    fn lift_string_result(
        enc: StringEncoding,
        h: &mut Host,
        ptr: u32,
        len: u32,
    ) -> Result<Vec<Val>> {
        let t = Types::default();
        let abi = abi(&t, enc);
        h.put_u32s(0, &[ptr, len]);
        let ft = func(&[], Some(InterfaceType::String));
        abi.lift_results(h, &ft, &[Flat::I32(0)])
    }

    #[test]
    fn strings_in_guest_memory_are_checked() {
        use StringEncoding::*;
        let mut h = Host::new();
        h.put(100, "ok☃".as_bytes());
        assert_eq!(
            lift_string_result(Utf8, &mut h, 100, 5).unwrap(),
            vec![s("ok☃")]
        );
        // An empty string at any in-bounds pointer; out of bounds traps
        // even when empty.
        assert_eq!(
            lift_string_result(Utf8, &mut h, 65536, 0).unwrap(),
            vec![s("")]
        );
        let cases: &[(StringEncoding, u32, u32, &[u8], ComponentTrap)] = &[
            (Utf8, 0xdead_beef, 0, b"", ComponentTrap::StringOutOfBounds),
            (Utf8, 65535, 2, b"", ComponentTrap::StringOutOfBounds),
            (Utf8, 200, 1, b"\xff", ComponentTrap::InvalidUtf8),
            (Utf8, 200, 1, b"\xc3", ComponentTrap::IncompleteUtf8),
            (Utf8, 200, 1 << 28, b"", ComponentTrap::StringTooLong),
            (Utf16, 201, 0, b"", ComponentTrap::UnalignedPointer),
            (Utf16, 200, 1, b"\x00\xd8", ComponentTrap::InvalidUtf16),
            (Utf16, 65534, 2, b"", ComponentTrap::StringOutOfBounds),
            (Latin1Utf16, 201, 0, b"", ComponentTrap::UnalignedPointer),
            (
                Latin1Utf16,
                201,
                UTF16_TAG,
                b"",
                ComponentTrap::UnalignedPointer,
            ),
            (Latin1Utf16, 65534, 3, b"", ComponentTrap::StringOutOfBounds),
            (
                Latin1Utf16,
                200,
                UTF16_TAG | 1,
                b"\x00\xdc",
                ComponentTrap::InvalidUtf16,
            ),
        ];
        for (enc, ptr, len, bytes, want) in cases {
            let mut h = Host::new();
            h.put(200, bytes);
            let e = lift_string_result(*enc, &mut h, *ptr, *len).unwrap_err();
            assert_eq!(trap_of(&e), Some(*want), "{enc:?} {ptr:#x} {len:#x}: {e}");
        }
        // Latin-1 (untagged) and UTF-16 (tagged) in one encoding.
        let mut h = Host::new();
        h.put(200, &[0x68, 0xf6, 0, 0]);
        h.put(300, &[0x03, 0x26]);
        assert_eq!(
            lift_string_result(Latin1Utf16, &mut h, 200, 2).unwrap(),
            vec![s("hö")]
        );
        assert_eq!(
            lift_string_result(Latin1Utf16, &mut h, 300, UTF16_TAG | 1).unwrap(),
            vec![s("☃")]
        );
        // The messages carry the wordings the reference tests look for.
        let mut h = Host::new();
        let e = lift_string_result(Utf8, &mut h, 0xdead_beef, 0).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("string pointer/length out of bounds of memory"),
            "{msg}"
        );
        assert!(msg.contains("string content out-of-bounds"), "{msg}");
        assert!(msg.contains("0xdeadbeef"), "{msg}");
    }

    #[test]
    fn bad_discriminants_and_chars_trap() {
        use InterfaceType as T;
        let mut t = Types::default();
        let v1 = t.variant(&[("x", Some(T::U32))]);
        let e2 = t.def(DefinedType::Enum(Types::names(2)));
        let o = t.def(DefinedType::Option(T::U8));
        let r = t.def(DefinedType::Result {
            ok: None,
            err: None,
        });
        let pair = t.tuple(&[e2, v1]);
        let abi = abi(&t, StringEncoding::Utf8);
        let mut h = Host::new();
        let flat = |h: &mut Host, ty, core: &[Flat]| {
            let ft = func(&[ty], None);
            abi.lift_args(h, &ft, core).unwrap_err()
        };
        let bad = Some(ComponentTrap::InvalidDiscriminant);
        assert_eq!(
            trap_of(&flat(&mut h, v1, &[Flat::I32(1), Flat::I32(0)])),
            bad
        );
        assert_eq!(trap_of(&flat(&mut h, e2, &[Flat::I32(2)])), bad);
        assert_eq!(
            trap_of(&flat(&mut h, o, &[Flat::I32(-1), Flat::I32(0)])),
            bad
        );
        assert_eq!(trap_of(&flat(&mut h, r, &[Flat::I32(2)])), bad);
        let char_trap = Some(ComponentTrap::InvalidChar);
        for c in [0xd800, 0xdfff, 0x11_0000, -1] {
            assert_eq!(trap_of(&flat(&mut h, T::Char, &[Flat::I32(c)])), char_trap);
        }
        // Out of memory: a result through its pointer.
        let ft = func(&[], Some(pair));
        h.put(0, &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            abi.lift_results(&mut h, &ft, &[Flat::I32(0)]).unwrap(),
            vec![Val::Tuple(vec![
                Val::Enum("c1".into()),
                Val::Variant("x".into(), some(Val::U32(0)))
            ])]
        );
        h.put(0, &[2]);
        let e = abi.lift_results(&mut h, &ft, &[Flat::I32(0)]).unwrap_err();
        assert_eq!(trap_of(&e), bad);
        h.put(0, &[1, 0, 0, 0, 1]);
        let e = abi.lift_results(&mut h, &ft, &[Flat::I32(0)]).unwrap_err();
        assert_eq!(trap_of(&e), bad);
        assert!(
            e.to_string().contains("invalid variant discriminant"),
            "{e}"
        );
        let ft = func(&[], Some(T::Char));
        let _ = ft;
        let e = abi
            .lift_results(&mut h, &func(&[], Some(T::Char)), &[Flat::I32(0xd800)])
            .unwrap_err();
        assert!(e.to_string().contains("invalid `char` bit pattern"), "{e}");
    }

    #[test]
    fn pointers_are_checked_for_alignment_and_bounds() {
        use InterfaceType as T;
        let mut t = Types::default();
        let pair = t.tuple(&[T::U32, T::U32]);
        let list32 = t.list(T::U32);
        let rec = t.record(&[("a", T::U8)]);
        let list_rec = t.list(rec);
        let abi = abi(&t, StringEncoding::Utf8);
        let mut h = Host::new();
        let unaligned = Some(ComponentTrap::UnalignedPointer);
        let oob = Some(ComponentTrap::PointerOutOfBounds);
        // A spilled result's pointer (lift) and a return pointer (lower).
        let ft = func(&[], Some(pair));
        let lift = |h: &mut Host, p: i32| abi.lift_results(h, &ft, &[Flat::I32(p)]).unwrap_err();
        assert_eq!(trap_of(&lift(&mut h, 1)), unaligned);
        assert_eq!(trap_of(&lift(&mut h, 65532)), oob);
        let v = [Val::Tuple(vec![Val::U32(1), Val::U32(2)])];
        let e = abi.lower_results(&mut h, &ft, &v, Some(2)).unwrap_err();
        assert_eq!(trap_of(&e), unaligned);
        let e = abi.lower_results(&mut h, &ft, &v, Some(65536)).unwrap_err();
        assert_eq!(trap_of(&e), oob);
        abi.lower_results(&mut h, &ft, &v, Some(65528)).unwrap();
        assert_eq!(&h.mem[65528..], &[1, 0, 0, 0, 2, 0, 0, 0]);
        // Spilled arguments' pointer (a lowered import's lift).
        let ft = func(&[T::U32; 17], None);
        let e = abi.lift_args(&mut h, &ft, &[Flat::I32(2)]).unwrap_err();
        assert_eq!(trap_of(&e), unaligned);
        let e = abi
            .lift_args(&mut h, &ft, &[Flat::I32(65536 - 64)])
            .unwrap_err();
        assert_eq!(trap_of(&e), oob);
        // Lists: unaligned, out of bounds, too long; checked before any
        // element is read, so a huge guest length allocates nothing.
        let ft = func(&[list32], None);
        let lift = |h: &mut Host, p: i32, n: i32| {
            abi.lift_args(h, &ft, &[Flat::I32(p), Flat::I32(n)])
                .unwrap_err()
        };
        assert_eq!(trap_of(&lift(&mut h, 2, 1)), unaligned);
        assert_eq!(
            trap_of(&lift(&mut h, 65532, 2)),
            Some(ComponentTrap::ListOutOfBounds)
        );
        assert_eq!(
            trap_of(&lift(&mut h, 0, -1)),
            Some(ComponentTrap::ListTooLong)
        );
        assert_eq!(
            trap_of(&lift(&mut h, 0, 1 << 26)),
            Some(ComponentTrap::ListTooLong)
        );
        assert_eq!(
            trap_of(&lift(&mut h, 0, 16385)),
            Some(ComponentTrap::ListOutOfBounds)
        );
        let ft = func(&[list_rec], None);
        let e = abi
            .lift_args(&mut h, &ft, &[Flat::I32(1), Flat::I32(65536)])
            .unwrap_err();
        assert_eq!(trap_of(&e), Some(ComponentTrap::ListOutOfBounds));
        let (v, _) = abi
            .lift_args(&mut h, &ft, &[Flat::I32(0), Flat::I32(65536)])
            .unwrap();
        let Val::List(l) = &v[0] else { panic!() };
        assert_eq!(l.len(), 65536);
        let msg = lift(&mut h, 65532, 2).to_string();
        assert!(msg.contains("list content out-of-bounds"), "{msg}");
    }

    #[test]
    fn realloc_results_are_checked() {
        use InterfaceType as T;
        let mut t = Types::default();
        let list32 = t.list(T::U32);
        let abi = abi(&t, StringEncoding::Utf8);
        let ft = func(&[list32], None);
        let lower = |forced: u32, n: u32| {
            let mut h = Host::new();
            h.forced = Some(forced);
            let v = Val::List((0..n).map(Val::U32).collect());
            let e = abi.lower_args(&mut h, &ft, &[v]).unwrap_err();
            (trap_of(&e), e.to_string(), h.calls)
        };
        let (k, msg, calls) = lower(u32::MAX, 2);
        assert_eq!(k, Some(ComponentTrap::ReallocUnaligned));
        assert_eq!(calls, vec![(0, 0, 4, 8)]);
        assert!(msg.contains("wasm trap: unaligned pointer"), "{msg}");
        assert!(msg.contains("realloc return: result not aligned"), "{msg}");
        let (k, msg, _) = lower(-4i32 as u32, 2);
        assert_eq!(k, Some(ComponentTrap::ReallocListOutOfBounds));
        assert!(
            msg.contains("wasm trap: list content out-of-bounds"),
            "{msg}"
        );
        assert!(
            msg.contains("realloc return: beyond end of memory"),
            "{msg}"
        );
        // Even an empty list's allocation is checked.
        let (k, _, calls) = lower(-4i32 as u32, 0);
        assert_eq!(k, Some(ComponentTrap::ReallocListOutOfBounds));
        assert_eq!(calls, vec![(0, 0, 4, 0)]);
        // Strings and spilled arguments too.
        for enc in [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::Latin1Utf16,
        ] {
            let abi = Abi {
                types: &t.0,
                encoding: enc,
            };
            let mut h = Host::new();
            h.forced = Some(65535);
            let ft = func(&[T::String], None);
            let e = abi.lower_args(&mut h, &ft, &[s("hi")]).unwrap_err();
            let want = match enc {
                StringEncoding::Utf8 => ComponentTrap::ReallocStringOutOfBounds,
                _ => ComponentTrap::ReallocUnaligned,
            };
            assert_eq!(trap_of(&e), Some(want), "{enc:?}");
        }
        let ft = func(&[T::U64; 17], None);
        let mut h = Host::new();
        h.forced = Some(4);
        let args: Vec<Val> = (0..17).map(Val::U64).collect();
        let e = abi.lower_args(&mut h, &ft, &args).unwrap_err();
        assert_eq!(trap_of(&e), Some(ComponentTrap::ReallocUnaligned));
        assert_eq!(h.calls, vec![(0, 0, 8, 136)]);
        h.forced = Some(65536 - 128);
        let e = abi.lower_args(&mut h, &ft, &args).unwrap_err();
        assert_eq!(trap_of(&e), Some(ComponentTrap::ReallocOutOfBounds));
    }

    #[test]
    fn typecheck_names_the_path_and_lowers_nothing_on_a_mismatch() {
        use InterfaceType as T;
        let mut t = Types::default();
        let inner = t.record(&[("name", T::String), ("age", T::U8)]);
        let list = t.list(inner);
        let var = t.variant(&[("a", Some(T::U8)), ("b", None)]);
        let fixed = t.def(DefinedType::FixedLengthList {
            element: T::U8,
            len: 2,
        });
        let fl = t.def(DefinedType::Flags(Types::names(2)));
        let own = t.def(DefinedType::Own(ResourceIndex(0)));
        let abi = abi(&t, StringEncoding::Utf8);
        let person = |age: Val| Val::Record(vec![("name".into(), s("n")), ("age".into(), age)]);
        let ft = func(&[T::String, list], None);
        let mut h = Host::new();
        let e = abi
            .lower_args(
                &mut h,
                &ft,
                &[
                    s("x"),
                    Val::List(vec![person(Val::U8(1)), person(Val::U32(2))]),
                ],
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "type mismatch at argument `p1`[1].age: expected u8, found a u32 value"
        );
        assert!(
            h.calls.is_empty(),
            "nothing allocated for a call that cannot be made"
        );
        let check = |ty, v: Val| abi.typecheck(ty, &v).map_err(|e| e.to_string());
        assert!(check(var, Val::Variant("a".into(), some(Val::U8(1)))).is_ok());
        assert!(
            check(var, Val::Variant("a".into(), None))
                .unwrap_err()
                .contains("payload")
        );
        assert!(check(var, Val::Variant("b".into(), some(Val::U8(1)))).is_err());
        assert!(
            check(var, Val::Variant("z".into(), None))
                .unwrap_err()
                .contains("no case `z`")
        );
        assert!(
            check(fixed, Val::List(vec![Val::U8(1)]))
                .unwrap_err()
                .contains("2 elements")
        );
        assert!(
            check(fl, Val::Flags(vec!["nope".into()]))
                .unwrap_err()
                .contains("no flag")
        );
        assert!(check(T::U8, Val::S8(1)).is_err());
        assert!(
            check(
                inner,
                Val::Record(vec![("age".into(), Val::U8(1)), ("name".into(), s(""))])
            )
            .unwrap_err()
            .contains("expected field `name`")
        );
        assert!(abi.lower_args(&mut h, &ft, &[s("x")]).is_err());
        // An owned handle is not moved into the guest's table for a call
        // whose later argument is wrong.
        let ft = func(&[own, T::U8], None);
        let args = [Val::Resource(ResourceAny::test(1)), Val::U16(2)];
        assert!(abi.lower_args(&mut h, &ft, &args).is_err());
        assert!(h.lowered.is_empty());
        let ft = func(&[], Some(T::U8));
        assert!(abi.lower_results(&mut h, &ft, &[Val::S8(1)], None).is_err());
    }

    #[test]
    fn core_values_that_do_not_fit_the_signature_are_engine_errors() {
        let t = Types::default();
        let abi = abi(&t, StringEncoding::Utf8);
        let mut h = Host::new();
        let ft = func(&[InterfaceType::U32], None);
        for core in [&[][..], &[Flat::I64(1)], &[Flat::I32(1), Flat::I32(2)]] {
            let e = abi.lift_args(&mut h, &ft, core).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    crate::ErrorKind::Compile(CompileError::Internal(_))
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn overlapping_lists_cannot_blow_up_the_host() {
        use InterfaceType as T;
        let mut t = Types::default();
        let bytes = t.list(T::U8);
        let lists = t.list(bytes);
        let abi = abi(&t, StringEncoding::Utf8);
        let ft = func(&[lists], None);
        // 4096 list headers at 0, each the whole 64 KiB page: 256 MiB of
        // `u8`s (about 10 GiB of `Val`s) from one page.
        let mut h = Host::new();
        for i in 0..4096 {
            h.put_u32s(8 * i, &[0, PAGE as u32]);
        }
        let e = abi
            .lift_args(&mut h, &ft, &[Flat::I32(0), Flat::I32(4096)])
            .unwrap_err();
        assert_eq!(trap_of(&e), Some(ComponentTrap::LiftTooLarge), "{e}");
        // Some sharing (the same bytes twice) is fine.
        let (v, _) = abi
            .lift_args(&mut h, &ft, &[Flat::I32(0), Flat::I32(2)])
            .unwrap();
        let Val::List(l) = &v[0] else { panic!() };
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn the_reference_tests_wordings_match_the_traps() {
        use ComponentTrap as C;
        // Each `assert_trap` wording of the reference tests' values/
        // folder, with the trap this ABI gives for its condition.
        for (wording, trap) in [
            (
                "string pointer/length out of bounds of memory",
                C::StringOutOfBounds,
            ),
            ("string content out-of-bounds", C::StringOutOfBounds),
            ("invalid utf-8", C::InvalidUtf8),
            ("incomplete utf-8 byte sequence", C::IncompleteUtf8),
            ("invalid `char` bit pattern", C::InvalidChar),
            ("invalid variant discriminant", C::InvalidDiscriminant),
            ("unaligned pointer", C::UnalignedPointer),
            ("unaligned pointer", C::ReallocUnaligned),
            ("wasm trap: unaligned pointer", C::ReallocUnaligned),
            ("realloc return: result not aligned", C::ReallocUnaligned),
            (
                "wasm trap: list content out-of-bounds",
                C::ReallocListOutOfBounds,
            ),
            (
                "realloc return: beyond end of memory",
                C::ReallocListOutOfBounds,
            ),
        ] {
            assert!(trap.matches(wording), "{trap:?} against `{wording}`");
        }
        assert!(!C::IncompleteUtf8.matches("invalid utf-8"));
        assert!(!C::UnalignedPointer.matches("realloc return: result not aligned"));
        assert!(!C::InvalidChar.matches(""));
    }

    /// A random interface type, at most `depth` levels deep.
    fn random_type(t: &mut Types, r: &mut SplitMix64, depth: u32) -> InterfaceType {
        use InterfaceType as T;
        const PRIMS: [InterfaceType; 13] = [
            T::Bool,
            T::S8,
            T::U8,
            T::S16,
            T::U16,
            T::S32,
            T::U32,
            T::S64,
            T::U64,
            T::F32,
            T::F64,
            T::Char,
            T::String,
        ];
        if depth == 0 || r.chance(35) {
            return PRIMS[r.below(PRIMS.len())];
        }
        let d = depth - 1;
        let some = |t: &mut Types, r: &mut SplitMix64| {
            if r.chance(30) {
                None
            } else {
                Some(random_type(t, r, d))
            }
        };
        match r.below(12) {
            0 => {
                let e = random_type(t, r, d);
                t.list(e)
            }
            1 => {
                let element = random_type(t, r, d);
                let len = 1 + r.below(4) as u32;
                t.def(DefinedType::FixedLengthList { element, len })
            }
            2 => {
                let n = 1 + r.below(4);
                let fs = (0..n)
                    .map(|i| (format!("f{i}"), random_type(t, r, d)))
                    .collect();
                t.def(DefinedType::Record(fs))
            }
            3 => {
                let n = 1 + r.below(4);
                let ts: Vec<_> = (0..n).map(|_| random_type(t, r, d)).collect();
                t.tuple(&ts)
            }
            4 => {
                let n = 1 + r.below(5);
                let cs = (0..n).map(|i| (format!("c{i}"), some(t, r))).collect();
                t.def(DefinedType::Variant(cs))
            }
            5 => {
                let n = if r.one_in(8) { 300 } else { 1 + r.below(5) };
                t.def(DefinedType::Enum(Types::names(n)))
            }
            6 => {
                let e = random_type(t, r, d);
                t.def(DefinedType::Option(e))
            }
            7 => {
                let (ok, err) = (some(t, r), some(t, r));
                t.def(DefinedType::Result { ok, err })
            }
            8 => t.def(DefinedType::Flags(Types::names(1 + r.below(32)))),
            9 => t.def(DefinedType::Own(ResourceIndex(0))),
            10 => {
                // Map keys are never floats.
                let key = [T::Bool, T::U8, T::S16, T::U32, T::S64, T::Char, T::String][r.below(7)];
                let value = random_type(t, r, d);
                t.def(DefinedType::Map { key, value })
            }
            _ => {
                let p = PRIMS[r.below(PRIMS.len())];
                t.def(DefinedType::Primitive(p))
            }
        }
    }

    /// A random value of `ty` (no NaNs: they would not compare equal).
    fn random_val(t: &ComponentTypes, ty: InterfaceType, r: &mut SplitMix64) -> Val {
        use InterfaceType as T;
        const TEXTS: [&str; 6] = ["", "a", "hö", "☃🍰", "ÿ\u{100}x", "longer text here"];
        let float = |r: &mut SplitMix64| (r.next_u64() % 2001) as f64 / 8.0 - 125.0;
        let len = |r: &mut SplitMix64| r.below(4);
        match ty {
            T::Bool => Val::Bool(r.chance(50)),
            T::S8 => Val::S8(r.next_u64() as i8),
            T::U8 => Val::U8(r.next_u64() as u8),
            T::S16 => Val::S16(r.next_u64() as i16),
            T::U16 => Val::U16(r.next_u64() as u16),
            T::S32 => Val::S32(r.next_u64() as i32),
            T::U32 => Val::U32(r.next_u64() as u32),
            T::S64 => Val::S64(r.next_u64() as i64),
            T::U64 => Val::U64(r.next_u64()),
            T::F32 => Val::Float32(float(r) as f32),
            T::F64 => Val::Float64(float(r)),
            T::Char => Val::Char(['a', '\0', 'ö', '☃', '🍰', '\u{10ffff}', '\u{e000}'][r.below(7)]),
            T::String => s(TEXTS[r.below(TEXTS.len())]),
            T::ErrorContext => unreachable!("the generator makes no async types"),
            T::Defined(i) => match t.defined(i) {
                DefinedType::Primitive(p) => random_val(t, *p, r),
                DefinedType::Stream(_) | DefinedType::Future(_) => {
                    unreachable!("the generator makes no async types")
                }
                DefinedType::Record(fs) => Val::Record(
                    fs.iter()
                        .map(|(n, ft)| (n.clone(), random_val(t, *ft, r)))
                        .collect(),
                ),
                DefinedType::Tuple(ts) => {
                    Val::Tuple(ts.iter().map(|e| random_val(t, *e, r)).collect())
                }
                DefinedType::List(e) => {
                    let n = len(r);
                    Val::List((0..n).map(|_| random_val(t, *e, r)).collect())
                }
                DefinedType::FixedLengthList { element, len } => {
                    Val::List((0..*len).map(|_| random_val(t, *element, r)).collect())
                }
                DefinedType::Map { key, value } => {
                    let n = len(r);
                    Val::Map(
                        (0..n)
                            .map(|_| (random_val(t, *key, r), random_val(t, *value, r)))
                            .collect(),
                    )
                }
                DefinedType::Flags(names) => {
                    Val::Flags(names.iter().filter(|_| r.chance(50)).cloned().collect())
                }
                DefinedType::Enum(names) => Val::Enum(names[r.below(names.len())].clone()),
                DefinedType::Variant(cs) => {
                    let (n, p) = &cs[r.below(cs.len())];
                    Val::Variant(n.clone(), p.map(|p| Box::new(random_val(t, p, r))))
                }
                DefinedType::Option(p) => {
                    Val::Option(r.chance(50).then(|| Box::new(random_val(t, *p, r))))
                }
                DefinedType::Result { ok, err } => {
                    let is_ok = r.chance(50);
                    let p = if is_ok { ok } else { err };
                    let p = p.map(|p| Box::new(random_val(t, p, r)));
                    Val::Result(if is_ok { Ok(p) } else { Err(p) })
                }
                DefinedType::Own(_) | DefinedType::Borrow(_) => {
                    Val::Resource(ResourceAny::test(r.below(100) as u64))
                }
            },
        }
    }

    #[test]
    fn random_types_and_values_round_trip() {
        let mut r = SplitMix64::from_state(0x05ee_dab1);
        let encodings = [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::Latin1Utf16,
        ];
        let (mut flat, mut spilled) = (0, 0);
        for round in 0..400 {
            let mut t = Types::default();
            let n = 1 + r.below(8);
            let params: Vec<_> = (0..n).map(|_| random_type(&mut t, &mut r, 3)).collect();
            let result = random_type(&mut t, &mut r, 3);
            let args: Vec<_> = params
                .iter()
                .map(|p| random_val(&t.0, *p, &mut r))
                .collect();
            let res = random_val(&t.0, result, &mut r);
            let abi = Abi {
                types: &t.0,
                encoding: encodings[round % 3],
            };
            let ft = func(&params, Some(result));
            if abi.flat_param_types(&ft).is_some() {
                flat += 1;
            } else {
                spilled += 1;
            }
            let mut h = Host::new();
            round_trip(&abi, &mut h, &ft, &args, Some(&res));
        }
        // Both paths were taken often enough to mean something.
        assert!(
            flat >= 250 && spilled >= 40,
            "{flat} flat, {spilled} spilled"
        );
    }

    #[test]
    fn random_guest_bytes_never_panic() {
        let mut r = SplitMix64::from_state(0x0000_000b_adb1_7e55);
        let (mut ok, mut trapped) = (0, 0);
        for round in 0..2000 {
            let mut t = Types::default();
            let n = 1 + r.below(3);
            let params: Vec<_> = (0..n).map(|_| random_type(&mut t, &mut r, 3)).collect();
            let result = random_type(&mut t, &mut r, 3);
            let abi = Abi {
                types: &t.0,
                encoding: [
                    StringEncoding::Utf8,
                    StringEncoding::Utf16,
                    StringEncoding::Latin1Utf16,
                ][round % 3],
            };
            let ft = func(&params, Some(result));
            let mut h = Host::new();
            // Memory of small numbers (plausible pointers and lengths) and
            // random bytes.
            for i in 0..PAGE / 4 {
                let w = match r.below(4) {
                    0 => r.next_u64() as u32,
                    1 => r.below(PAGE) as u32,
                    _ => r.below(8) as u32,
                };
                h.put_u32s(4 * i, &[w]);
            }
            let word = |r: &mut SplitMix64| match r.below(3) {
                0 => r.next_u64(),
                1 => r.below(PAGE) as u64,
                _ => r.below(4) as u64,
            };
            let core: Vec<Flat> = abi
                .flat_params(&ft, Context::Lower)
                .iter()
                .map(|c| match c {
                    CoreTy::I32 => Flat::I32(word(&mut r) as i32),
                    CoreTy::I64 => Flat::I64(word(&mut r) as i64),
                    CoreTy::F32 => Flat::F32(r.next_u64() as u32),
                    CoreTy::F64 => Flat::F64(r.next_u64()),
                })
                .collect();
            let results: Vec<Flat> = abi
                .flat_results(&ft, Context::Lift)
                .iter()
                .map(|c| match c {
                    CoreTy::I32 => Flat::I32(word(&mut r) as i32),
                    CoreTy::I64 => Flat::I64(word(&mut r) as i64),
                    CoreTy::F32 => Flat::F32(r.next_u64() as u32),
                    CoreTy::F64 => Flat::F64(r.next_u64()),
                })
                .collect();
            for res in [
                abi.lift_args(&mut h, &ft, &core).map(|_| ()),
                abi.lift_results(&mut h, &ft, &results).map(|_| ()),
            ] {
                match res {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        assert!(trap_of(&e).is_some(), "not a trap: {e}");
                        trapped += 1;
                    }
                }
            }
        }
        assert!(
            ok >= 1000 && trapped >= 1000,
            "{ok} lifted, {trapped} trapped"
        );
    }

    /// `ty` in WIT (defined types by their names, `t<index>`).
    fn wit_type(ty: InterfaceType) -> String {
        use InterfaceType as T;
        match ty {
            T::Bool => "bool".into(),
            T::S8 => "s8".into(),
            T::U8 => "u8".into(),
            T::S16 => "s16".into(),
            T::U16 => "u16".into(),
            T::S32 => "s32".into(),
            T::U32 => "u32".into(),
            T::S64 => "s64".into(),
            T::U64 => "u64".into(),
            T::F32 => "f32".into(),
            T::F64 => "f64".into(),
            T::Char => "char".into(),
            T::String => "string".into(),
            T::ErrorContext => "error-context".into(),
            T::Defined(i) => format!("t{}", i.0),
        }
    }

    /// A WIT interface defining every type of `t` as `t<index>`, and a
    /// function `f` of `ft`.
    fn wit_source(t: &ComponentTypes, ft: &FuncType) -> String {
        let w = |ty: &InterfaceType| wit_type(*ty);
        let opt = |ty: &Option<InterfaceType>| ty.as_ref().map_or("_".to_string(), w);
        let mut src = String::from("package test:abi;\ninterface i {\n  resource r;\n");
        for (i, d) in t.defined.iter().enumerate() {
            let def = match d {
                DefinedType::Primitive(p) => format!("type t{i} = {};", w(p)),
                DefinedType::Record(fs) => {
                    let fs: Vec<_> = fs.iter().map(|(n, ty)| format!("{n}: {}", w(ty))).collect();
                    format!("record t{i} {{ {} }}", fs.join(", "))
                }
                DefinedType::Variant(cs) => {
                    let cs: Vec<_> = cs
                        .iter()
                        .map(|(n, ty)| match ty {
                            Some(ty) => format!("{n}({})", w(ty)),
                            None => n.clone(),
                        })
                        .collect();
                    format!("variant t{i} {{ {} }}", cs.join(", "))
                }
                DefinedType::List(e) => format!("type t{i} = list<{}>;", w(e)),
                DefinedType::FixedLengthList { element, len } => {
                    format!("type t{i} = list<{}, {len}>;", w(element))
                }
                DefinedType::Map { key, value } => {
                    format!("type t{i} = map<{}, {}>;", w(key), w(value))
                }
                DefinedType::Tuple(ts) => {
                    let ts: Vec<_> = ts.iter().map(w).collect();
                    format!("type t{i} = tuple<{}>;", ts.join(", "))
                }
                DefinedType::Flags(n) => format!("flags t{i} {{ {} }}", n.join(", ")),
                DefinedType::Enum(n) => format!("enum t{i} {{ {} }}", n.join(", ")),
                DefinedType::Option(e) => format!("type t{i} = option<{}>;", w(e)),
                DefinedType::Result { ok, err } => match (ok, err) {
                    (None, None) => format!("type t{i} = result;"),
                    (Some(o), None) => format!("type t{i} = result<{}>;", w(o)),
                    _ => format!("type t{i} = result<{}, {}>;", opt(ok), opt(err)),
                },
                DefinedType::Own(_) => format!("type t{i} = own<r>;"),
                DefinedType::Borrow(_) => format!("type t{i} = borrow<r>;"),
                DefinedType::Stream(e) => format!("type t{i} = stream<{}>;", opt(e)),
                DefinedType::Future(e) => format!("type t{i} = future<{}>;", opt(e)),
            };
            src.push_str("  ");
            src.push_str(&def);
            src.push('\n');
        }
        let ps: Vec<_> = ft
            .params
            .iter()
            .map(|(n, ty)| format!("{n}: {}", w(ty)))
            .collect();
        let res = ft
            .result
            .map_or(String::new(), |r| format!(" -> {}", w(&r)));
        src.push_str(&format!("  f: func({}){res};\n}}\n", ps.join(", ")));
        src
    }

    fn from_wit(ts: &[wit_parser::abi::WasmType]) -> Vec<CoreTy> {
        use wit_parser::abi::WasmType as W;
        ts.iter()
            .map(|t| match t {
                W::I32 | W::Pointer | W::Length => CoreTy::I32,
                W::I64 | W::PointerOrI64 => CoreTy::I64,
                W::F32 => CoreTy::F32,
                W::F64 => CoreTy::F64,
            })
            .collect()
    }

    #[test]
    fn layouts_and_signatures_agree_with_wit_parser() {
        use wit_parser::abi::{AbiVariant, FlatTypes, WasmType};
        let mut r = SplitMix64::from_state(0x0000_0000_0517_e0a1);
        let (mut types_checked, mut spilled) = (0, 0);
        for _ in 0..300 {
            let mut t = Types::default();
            let n = 1 + r.below(8);
            let params: Vec<_> = (0..n).map(|_| random_type(&mut t, &mut r, 3)).collect();
            let result = random_type(&mut t, &mut r, 3);
            let ft = func(&params, Some(result));
            let src = wit_source(&t.0, &ft);
            let mut resolve = wit_parser::Resolve {
                all_features: true,
                ..Default::default()
            };
            let pkg = resolve
                .push_source("abi.wit", &src)
                .unwrap_or_else(|e| panic!("{e:?}\n{src}"));
            let iface = resolve.packages[pkg].interfaces["i"];
            let mut sizes = wit_parser::SizeAlign::default();
            sizes.fill(&resolve).unwrap();
            let abi = abi(&t, StringEncoding::Utf8);
            for i in 0..t.0.defined.len() {
                let ty = InterfaceType::Defined(TypeIndex(i as u32));
                let id = resolve.interfaces[iface].types[&format!("t{i}")];
                let wty = wit_parser::Type::Id(id);
                let theirs = (
                    sizes.size(&wty).size_wasm32() as u32,
                    sizes.align(&wty).align_wasm32() as u32,
                );
                assert_eq!(abi.size_align(ty), theirs, "t{i}\n{src}");
                let mut storage = [WasmType::I32; MAX_FLAT_PARAMS];
                let mut flat = FlatTypes::new(&mut storage);
                let fits = resolve.push_flat(&wty, &mut flat);
                let theirs = fits.then(|| from_wit(&flat.to_vec()));
                assert_eq!(abi.flat_of(ty, MAX_FLAT_PARAMS), theirs, "t{i}\n{src}");
                types_checked += 1;
            }
            let f = &resolve.interfaces[iface].functions["f"];
            for (variant, cx) in [
                (AbiVariant::GuestExport, Context::Lift),
                (AbiVariant::GuestImport, Context::Lower),
            ] {
                let sig = resolve.wasm_signature(variant, f);
                assert_eq!(
                    abi.flat_params(&ft, cx),
                    from_wit(&sig.params),
                    "{cx:?}\n{src}"
                );
                assert_eq!(
                    abi.flat_results(&ft, cx),
                    from_wit(&sig.results),
                    "{cx:?}\n{src}"
                );
            }
            spilled += usize::from(abi.flat_param_types(&ft).is_none());
        }
        assert!(
            types_checked >= 1000 && spilled >= 15,
            "{types_checked} types, {spilled} spilled"
        );
    }
}

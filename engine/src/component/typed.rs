//! Component values with static Rust types: the traits [`ComponentType`]
//! (which interface type a Rust type is, checked once against a
//! component's type), [`Lower`] (a Rust value into core values or linear
//! memory) and [`Lift`] (back out), their implementations for the
//! primitives, strings, lists, `Option`, `Result` and tuples, and
//! [`TypedFunc`], a component export called with Rust values.
//!
//! Nothing here goes through a [`Val`](super::Val): a Rust value is
//! lowered straight into the flat core values of a call (raw slots, the
//! same the core engine's typed calls use) or into the callee's memory, and
//! lifted straight out. The rules are the canonical ABI's, and the traps
//! and their messages are those of the dynamic form (`abi.rs`), whose
//! helpers (string transcoding, `realloc` and bounds checks) do the work.
//!
//! Flat values live in raw slots. A 32-bit value is written zero-extended
//! into the slot's 64 bits and a 32-bit read takes the low half, so a
//! variant's payload needs no conversion to and from the joined slot type
//! (`i32` in an `i64` slot is the specification's `i64.extend_i32_u`,
//! `f32` in an `i32` slot its bits, and back).
//!
//! Records, variants, enums and flags of the user's own get these traits
//! from the derive macros `#[derive(ComponentType, Lift, Lower)]` and the
//! [`flags!`](super::flags) macro (the `nyash-component-macro` crate), which
//! expand to calls of the helpers in [`__internal`].

use std::marker::PhantomData;

use nyash_aot::component::translate::StringEncoding;
use nyash_aot::component::types::{ComponentTypes, DefinedType, FuncType, InterfaceType};

use super::abi::{self, Abi, AbiHost, Layout, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::func::Func;
use crate::vm::vmcontext::ValRaw;
use crate::{AsContextMut, ComponentTrap, Error, Result};

// ---------------------------------------------------------------------
// Raw slots

/// The low 32 bits of a slot.
#[inline]
fn get_i32(v: &ValRaw) -> i32 {
    // SAFETY: every field of the union is plain data; any bits are an i32.
    unsafe { v.i32 }
}

/// A slot's 64 bits.
#[inline]
fn get_i64(v: &ValRaw) -> i64 {
    // SAFETY: as `get_i32`; slots are initialised (zeroed when made).
    unsafe { v.i64 }
}

/// A 32-bit value into a slot, zero-extended (see the module docs).
#[inline]
fn put_i32(v: &mut ValRaw, x: i32) {
    v.i64 = i64::from(x as u32);
}

#[inline]
fn put_i64(v: &mut ValRaw, x: i64) {
    v.i64 = x;
}

// ---------------------------------------------------------------------
// Contexts

/// What lowering reaches through: the canonical options of the instance
/// values go into (its memory, `realloc` and string encoding). Made by the
/// engine for each call.
pub struct LowerContext<'a> {
    abi: Abi<'a>,
    host: &'a mut dyn AbiHost,
}

/// What lifting reaches through: the canonical options of the instance
/// values come out of (its memory and string encoding). Made by the engine
/// for each call.
pub struct LiftContext<'a> {
    abi: Abi<'a>,
    host: &'a mut dyn AbiHost,
    /// What is left of the lift's budget of list and string contents
    /// (`Abi::lift_budget`), made on first use.
    budget: Option<u64>,
}

impl<'a> LowerContext<'a> {
    pub(crate) fn new(abi: Abi<'a>, host: &'a mut dyn AbiHost) -> Self {
        LowerContext { abi, host }
    }

    /// `bytes` at `offset` of the memory (bounds-checked).
    fn write(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.abi.write(self.host, offset as u64, bytes)
    }

    /// The memory's `len` bytes at `offset` (bounds-checked).
    fn slice(&mut self, offset: usize, len: usize) -> Result<&mut [u8]> {
        let mem = self.host.memory()?;
        self.abi.slice(mem, offset as u64, len as u64)
    }

    /// The instance values go into (handle tables, for resources).
    pub(crate) fn host(&mut self) -> &mut dyn AbiHost {
        &mut *self.host
    }

    /// `bytes` at `offset` of the memory (bounds-checked).
    pub(crate) fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        self.write(offset, bytes)
    }

    /// A fresh allocation from the options' `realloc`, checked.
    fn alloc(&mut self, align: u32, size: u64, oob: ComponentTrap) -> Result<u32> {
        self.abi.realloc(self.host, 0, 0, align, size, oob)
    }
}

impl<'a> LiftContext<'a> {
    pub(crate) fn new(abi: Abi<'a>, host: &'a mut dyn AbiHost) -> Self {
        LiftContext {
            abi,
            host,
            budget: None,
        }
    }

    /// The lift's budget, made on first use.
    fn budget(&mut self) -> Result<&mut u64> {
        if self.budget.is_none() {
            self.budget = Some(self.abi.lift_budget(self.host)?);
        }
        Ok(self.budget.get_or_insert(0))
    }

    /// The instance values come out of (handle tables, for resources).
    pub(crate) fn host(&mut self) -> &mut dyn AbiHost {
        &mut *self.host
    }

    /// `N` bytes at `offset` of the memory (bounds-checked).
    pub(crate) fn read_bytes<const N: usize>(&mut self, offset: usize) -> Result<[u8; N]> {
        self.read::<N>(offset)
    }

    fn read<const N: usize>(&mut self, offset: usize) -> Result<[u8; N]> {
        self.abi.read_n::<N>(self.host, offset as u64)
    }

    fn slice(&mut self, offset: usize, len: usize) -> Result<&[u8]> {
        let mem = self.host.memory()?;
        Ok(self.abi.slice(mem, offset as u64, len as u64)?)
    }

    /// Checks a pointer to a `T` the guest handed over: aligned, within
    /// the memory.
    fn check_ptr<T: ComponentType + ?Sized>(&mut self, ptr: u32, what: &str) -> Result<()> {
        self.abi.check_ptr(self.host, ptr, layout_of::<T>(), what)
    }
}

fn layout_of<T: ComponentType + ?Sized>() -> Layout {
    Layout {
        size: T::SIZE32 as u64,
        align: T::ALIGN32,
    }
}

// ---------------------------------------------------------------------
// The traits

/// A Rust type that stands for a Component Model interface type: `u32`
/// for `u32`, `String` for `string`, `Vec<T>` for `list<T>`, `(A, B)` for
/// `tuple<A, B>`, `Option<T>` for `option<T>`, `Result<T, E>` for
/// `result<T, E>` (`()` for a missing payload), a derived struct for a
/// record ...
///
/// Which interface type it is, is checked once against a component's type
/// ([`typecheck`](Self::typecheck)) when a typed function is made
/// ([`Instance::get_typed_func`](super::Instance::get_typed_func)) or a
/// typed host function is linked
/// ([`LinkerInstance::func_wrap`](super::LinkerInstance::func_wrap)); the
/// values then move without checks of their own. Its layout in the
/// canonical ABI is fixed by the Rust type alone.
///
/// Implement it with `#[derive(ComponentType)]` for records, variants and
/// enums and with [`flags!`](super::flags) for flags.
pub trait ComponentType {
    /// The size of a value in linear memory (the canonical ABI's
    /// `elem_size`).
    const SIZE32: usize;
    /// Its alignment in linear memory (`alignment`).
    const ALIGN32: u32;
    /// How many core values it flattens to (`flatten_type`), uncapped.
    const FLAT_COUNT: usize;
    /// Whether this is `()`, which stands for a missing payload (the `_`
    /// of `result<_, E>`).
    #[doc(hidden)]
    const IS_UNIT: bool = false;

    /// Checks that the interface type `ty` of a component (its types in
    /// `types`) is this type; the error names what differs and where.
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()>;
}

/// A Rust value that can be lowered: written as flat core values, or into
/// linear memory. Its methods are the engine's plumbing (called by
/// typed calls and by derived implementations).
pub trait Lower: ComponentType {
    /// Writes the value's [`FLAT_COUNT`](ComponentType::FLAT_COUNT) flat
    /// core values into `dst` (exactly that long).
    #[doc(hidden)]
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()>;

    /// Writes the value into memory at `offset`, which is aligned to
    /// [`ALIGN32`](ComponentType::ALIGN32) and has
    /// [`SIZE32`](ComponentType::SIZE32) bytes of room.
    #[doc(hidden)]
    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()>;

    /// Writes `items` one after the other from `offset` (a list's
    /// elements). Numbers override this with one pass over the bytes.
    #[doc(hidden)]
    fn store_list(cx: &mut LowerContext<'_>, items: &[Self], offset: usize) -> Result<()>
    where
        Self: Sized,
    {
        for (i, item) in items.iter().enumerate() {
            item.store(cx, offset + i * Self::SIZE32)?;
        }
        Ok(())
    }
}

/// A Rust value that can be lifted: read out of flat core values, or out
/// of linear memory. Its methods are the engine's plumbing.
pub trait Lift: ComponentType + Sized {
    /// Reads a value out of its [`FLAT_COUNT`](ComponentType::FLAT_COUNT)
    /// flat core values.
    #[doc(hidden)]
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self>;

    /// Reads a value out of memory at `offset`, which is aligned and
    /// within the memory.
    #[doc(hidden)]
    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self>;

    /// Reads `len` values one after the other from `offset` (a list's
    /// elements, whose range is checked). Numbers override this with one
    /// pass over the bytes.
    #[doc(hidden)]
    fn load_list(cx: &mut LiftContext<'_>, offset: usize, len: usize) -> Result<Vec<Self>> {
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            out.push(Self::load(cx, offset + i * Self::SIZE32)?);
        }
        Ok(out)
    }
}

/// A tuple of Rust types standing for a function's parameter list or its
/// result list: `(u32, String)` for `(param "a" u32) (param "b" string)`,
/// `(u32,)` for `(result u32)`, `()` for none.
pub trait ComponentNamedList: ComponentType {
    /// Checks the list of named types `tys` (`what` says which, for the
    /// error: `"parameter"` or `"result"`).
    #[doc(hidden)]
    fn typecheck_list(
        tys: &[(String, InterfaceType)],
        types: &ComponentTypes,
        what: &str,
    ) -> Result<()>;
}

// ---------------------------------------------------------------------
// Type checking helpers

/// `ty` with named primitives resolved, and its definition if it is a
/// defined type.
fn resolve(ty: InterfaceType, types: &ComponentTypes) -> (InterfaceType, Option<&DefinedType>) {
    let ty = Abi {
        types,
        encoding: StringEncoding::Utf8,
    }
    .resolve(ty);
    match ty {
        InterfaceType::Defined(i) => (ty, Some(types.defined(i))),
        _ => (ty, None),
    }
}

fn mismatch(ty: InterfaceType, types: &ComponentTypes, found: &str) -> Error {
    let abi = Abi {
        types,
        encoding: StringEncoding::Utf8,
    };
    Error::msg(format!(
        "type mismatch: expected {}, found {found}",
        abi.type_name(ty, 2)
    ))
}

fn expect_primitive(
    ty: InterfaceType,
    types: &ComponentTypes,
    want: InterfaceType,
    name: &str,
) -> Result<()> {
    if resolve(ty, types).0 == want {
        Ok(())
    } else {
        Err(mismatch(ty, types, &format!("`{name}`")))
    }
}

/// A payload type: `None` (no payload) is `()`.
fn typecheck_payload<T: ComponentType + ?Sized>(
    ty: Option<InterfaceType>,
    types: &ComponentTypes,
) -> Result<()> {
    match ty {
        Some(t) => T::typecheck(t, types),
        None if T::IS_UNIT => Ok(()),
        None => Err(Error::msg(format!(
            "type mismatch: expected no payload, found `{}`",
            std::any::type_name::<T>()
        ))),
    }
}

// ---------------------------------------------------------------------
// Numbers, bool, char

macro_rules! numbers {
    ($($t:ty => $it:ident, $size:literal, $put:expr, $get:expr;)*) => {$(
        impl ComponentType for $t {
            const SIZE32: usize = $size;
            const ALIGN32: u32 = $size;
            const FLAT_COUNT: usize = 1;

            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                expect_primitive(ty, types, InterfaceType::$it, stringify!($t))
            }
        }

        impl Lower for $t {
            #[inline]
            fn lower(&self, _cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
                #[allow(clippy::redundant_closure_call)]
                ($put)(&mut dst[0], *self);
                Ok(())
            }

            #[inline]
            fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
                cx.write(offset, &self.to_le_bytes())
            }

            fn store_list(cx: &mut LowerContext<'_>, items: &[Self], offset: usize) -> Result<()> {
                let dst = cx.slice(offset, items.len() * $size)?;
                for (d, x) in dst.chunks_exact_mut($size).zip(items) {
                    d.copy_from_slice(&x.to_le_bytes());
                }
                Ok(())
            }
        }

        impl Lift for $t {
            #[inline]
            fn lift(_cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
                #[allow(clippy::redundant_closure_call)]
                Ok(($get)(&src[0]))
            }

            #[inline]
            fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
                Ok(Self::from_le_bytes(cx.read::<$size>(offset)?))
            }

            fn load_list(cx: &mut LiftContext<'_>, offset: usize, len: usize) -> Result<Vec<Self>> {
                let src = cx.slice(offset, len * $size)?;
                Ok(src
                    .chunks_exact($size)
                    .map(|c| {
                        let mut b = [0u8; $size];
                        b.copy_from_slice(c);
                        Self::from_le_bytes(b)
                    })
                    .collect())
            }
        }
    )*};
}

numbers! {
    i8 => S8, 1, |d: &mut ValRaw, x: i8| put_i32(d, i32::from(x)), |s: &ValRaw| get_i32(s) as i8;
    u8 => U8, 1, |d: &mut ValRaw, x: u8| put_i32(d, i32::from(x)), |s: &ValRaw| get_i32(s) as u8;
    i16 => S16, 2, |d: &mut ValRaw, x: i16| put_i32(d, i32::from(x)), |s: &ValRaw| get_i32(s) as i16;
    u16 => U16, 2, |d: &mut ValRaw, x: u16| put_i32(d, i32::from(x)), |s: &ValRaw| get_i32(s) as u16;
    i32 => S32, 4, |d: &mut ValRaw, x: i32| put_i32(d, x), get_i32;
    u32 => U32, 4, |d: &mut ValRaw, x: u32| put_i32(d, x as i32), |s: &ValRaw| get_i32(s) as u32;
    i64 => S64, 8, put_i64, get_i64;
    u64 => U64, 8, |d: &mut ValRaw, x: u64| put_i64(d, x as i64), |s: &ValRaw| get_i64(s) as u64;
}

/// Floats: lifted NaNs are canonicalized (as the dynamic form does), a
/// lowered float keeps its bits.
macro_rules! floats {
    ($($t:ty => $it:ident, $size:literal, $bits:ty, $canon:path;)*) => {$(
        impl ComponentType for $t {
            const SIZE32: usize = $size;
            const ALIGN32: u32 = $size;
            const FLAT_COUNT: usize = 1;

            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                expect_primitive(ty, types, InterfaceType::$it, stringify!($t))
            }
        }

        impl Lower for $t {
            #[inline]
            fn lower(&self, _cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
                // An f32's bits zero-extended; an f64's bits.
                dst[0].i64 = self.to_bits() as i64;
                Ok(())
            }

            #[inline]
            fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
                cx.write(offset, &self.to_bits().to_le_bytes())
            }

            fn store_list(cx: &mut LowerContext<'_>, items: &[Self], offset: usize) -> Result<()> {
                let dst = cx.slice(offset, items.len() * $size)?;
                for (d, x) in dst.chunks_exact_mut($size).zip(items) {
                    d.copy_from_slice(&x.to_bits().to_le_bytes());
                }
                Ok(())
            }
        }

        impl Lift for $t {
            #[inline]
            fn lift(_cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
                Ok($canon(get_i64(&src[0]) as $bits))
            }

            #[inline]
            fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
                Ok($canon(<$bits>::from_le_bytes(cx.read::<$size>(offset)?)))
            }

            fn load_list(cx: &mut LiftContext<'_>, offset: usize, len: usize) -> Result<Vec<Self>> {
                let src = cx.slice(offset, len * $size)?;
                Ok(src
                    .chunks_exact($size)
                    .map(|c| {
                        let mut b = [0u8; $size];
                        b.copy_from_slice(c);
                        $canon(<$bits>::from_le_bytes(b))
                    })
                    .collect())
            }
        }
    )*};
}

floats! {
    f32 => F32, 4, u32, abi::canon_f32;
    f64 => F64, 8, u64, abi::canon_f64;
}

impl ComponentType for bool {
    const SIZE32: usize = 1;
    const ALIGN32: u32 = 1;
    const FLAT_COUNT: usize = 1;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        expect_primitive(ty, types, InterfaceType::Bool, "bool")
    }
}

impl Lower for bool {
    fn lower(&self, _cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        put_i32(&mut dst[0], i32::from(*self));
        Ok(())
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        cx.write(offset, &[u8::from(*self)])
    }
}

impl Lift for bool {
    fn lift(_cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        Ok(get_i32(&src[0]) != 0)
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        Ok(cx.read::<1>(offset)?[0] != 0)
    }
}

impl ComponentType for char {
    const SIZE32: usize = 4;
    const ALIGN32: u32 = 4;
    const FLAT_COUNT: usize = 1;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        expect_primitive(ty, types, InterfaceType::Char, "char")
    }
}

impl Lower for char {
    fn lower(&self, _cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        put_i32(&mut dst[0], u32::from(*self) as i32);
        Ok(())
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        cx.write(offset, &u32::from(*self).to_le_bytes())
    }
}

impl Lift for char {
    fn lift(_cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        abi::to_char(get_i32(&src[0]) as u32)
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        abi::to_char(u32::from_le_bytes(cx.read::<4>(offset)?))
    }
}

// ---------------------------------------------------------------------
// References and boxes: the type they point to.

impl<T: ComponentType + ?Sized> ComponentType for &T {
    const SIZE32: usize = T::SIZE32;
    const ALIGN32: u32 = T::ALIGN32;
    const FLAT_COUNT: usize = T::FLAT_COUNT;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        T::typecheck(ty, types)
    }
}

impl<T: Lower + ?Sized> Lower for &T {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        T::lower(self, cx, dst)
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        T::store(self, cx, offset)
    }
}

impl<T: ComponentType + ?Sized> ComponentType for Box<T> {
    const SIZE32: usize = T::SIZE32;
    const ALIGN32: u32 = T::ALIGN32;
    const FLAT_COUNT: usize = T::FLAT_COUNT;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        T::typecheck(ty, types)
    }
}

impl<T: Lower + ?Sized> Lower for Box<T> {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        T::lower(self, cx, dst)
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        T::store(self, cx, offset)
    }
}

impl Lift for Box<str> {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        Ok(String::lift(cx, src)?.into_boxed_str())
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        Ok(String::load(cx, offset)?.into_boxed_str())
    }
}

impl<T: Lift> Lift for Box<[T]> {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        Ok(Vec::<T>::lift(cx, src)?.into_boxed_slice())
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        Ok(Vec::<T>::load(cx, offset)?.into_boxed_slice())
    }
}

// ---------------------------------------------------------------------
// Strings

impl ComponentType for str {
    const SIZE32: usize = 8;
    const ALIGN32: u32 = 4;
    const FLAT_COUNT: usize = 2;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        expect_primitive(ty, types, InterfaceType::String, "string")
    }
}

impl ComponentType for String {
    const SIZE32: usize = 8;
    const ALIGN32: u32 = 4;
    const FLAT_COUNT: usize = 2;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        str::typecheck(ty, types)
    }
}

/// Writes a pointer and a length as two flat values.
fn put_pair(dst: &mut [ValRaw], (ptr, len): (u32, u32)) {
    put_i32(&mut dst[0], ptr as i32);
    put_i32(&mut dst[1], len as i32);
}

fn store_pair(cx: &mut LowerContext<'_>, offset: usize, (ptr, len): (u32, u32)) -> Result<()> {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&ptr.to_le_bytes());
    b[4..].copy_from_slice(&len.to_le_bytes());
    cx.write(offset, &b)
}

fn get_pair(src: &[ValRaw]) -> (u32, u32) {
    (get_i32(&src[0]) as u32, get_i32(&src[1]) as u32)
}

fn load_pair(cx: &mut LiftContext<'_>, offset: usize) -> Result<(u32, u32)> {
    let b = cx.read::<8>(offset)?;
    Ok((
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

impl Lower for str {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        let pair = cx.abi.store_string_into_range(cx.host, self)?;
        put_pair(dst, pair);
        Ok(())
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        let pair = cx.abi.store_string_into_range(cx.host, self)?;
        store_pair(cx, offset, pair)
    }
}

impl Lower for String {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        self.as_str().lower(cx, dst)
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        self.as_str().store(cx, offset)
    }
}

impl Lift for String {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        let (ptr, len) = get_pair(src);
        let mut budget = *cx.budget()?;
        let r = cx
            .abi
            .load_string_from_range(cx.host, &mut budget, ptr, len);
        cx.budget = Some(budget);
        r
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        let (ptr, len) = load_pair(cx, offset)?;
        let mut budget = *cx.budget()?;
        let r = cx
            .abi
            .load_string_from_range(cx.host, &mut budget, ptr, len);
        cx.budget = Some(budget);
        r
    }
}

// ---------------------------------------------------------------------
// Lists

fn typecheck_list<T: ComponentType + ?Sized>(
    ty: InterfaceType,
    types: &ComponentTypes,
) -> Result<()> {
    match resolve(ty, types).1 {
        Some(DefinedType::List(e)) => T::typecheck(*e, types).map_err(|e| e.context("in a list")),
        _ => Err(mismatch(
            ty,
            types,
            &format!("a list (`{}`)", std::any::type_name::<T>()),
        )),
    }
}

impl<T: ComponentType> ComponentType for [T] {
    const SIZE32: usize = 8;
    const ALIGN32: u32 = 4;
    const FLAT_COUNT: usize = 2;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        typecheck_list::<T>(ty, types)
    }
}

impl<T: ComponentType> ComponentType for Vec<T> {
    const SIZE32: usize = 8;
    const ALIGN32: u32 = 4;
    const FLAT_COUNT: usize = 2;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        typecheck_list::<T>(ty, types)
    }
}

/// `store_list_into_range`: the elements in a fresh allocation.
fn lower_list<T: Lower>(cx: &mut LowerContext<'_>, items: &[T]) -> Result<(u32, u32)> {
    let l = layout_of::<T>();
    let (bytes, count) = cx.abi.list_bytes(items.len(), l)?;
    let ptr = cx.alloc(l.align, bytes, ComponentTrap::ReallocListOutOfBounds)?;
    T::store_list(cx, items, ptr as usize)?;
    Ok((ptr, count))
}

/// `load_list_from_range`: the range checked, then the elements.
fn lift_list<T: Lift>(cx: &mut LiftContext<'_>, (ptr, count): (u32, u32)) -> Result<Vec<T>> {
    cx.abi.check_list(cx.host, ptr, count, layout_of::<T>())?;
    // Overlapping lists cannot make the host build more than the budget
    // (and a list of zero-size elements costs one byte each).
    let bytes = u64::from(count) * (T::SIZE32 as u64).max(1);
    super::abi::charge(cx.budget()?, bytes)?;
    T::load_list(cx, ptr as usize, count as usize)
}

impl<T: Lower> Lower for [T] {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        let pair = lower_list(cx, self)?;
        put_pair(dst, pair);
        Ok(())
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        let pair = lower_list(cx, self)?;
        store_pair(cx, offset, pair)
    }
}

impl<T: Lower> Lower for Vec<T> {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        self.as_slice().lower(cx, dst)
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        self.as_slice().store(cx, offset)
    }
}

impl<T: Lift> Lift for Vec<T> {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        lift_list(cx, get_pair(src))
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        let pair = load_pair(cx, offset)?;
        lift_list(cx, pair)
    }
}

// ---------------------------------------------------------------------
// Option and Result

impl<T: ComponentType> ComponentType for Option<T> {
    const SIZE32: usize = __internal::variant_size(2, T::SIZE32, T::ALIGN32);
    const ALIGN32: u32 = __internal::variant_align(2, T::ALIGN32);
    const FLAT_COUNT: usize = 1 + T::FLAT_COUNT;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        match resolve(ty, types).1 {
            Some(DefinedType::Option(t)) => {
                T::typecheck(*t, types).map_err(|e| e.context("in an option"))
            }
            _ => Err(mismatch(
                ty,
                types,
                &format!("an option (`{}`)", std::any::type_name::<Self>()),
            )),
        }
    }
}

impl<T: Lower> Lower for Option<T> {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        match self {
            None => __internal::lower_case(cx, dst, 0, &()),
            Some(x) => __internal::lower_case(cx, dst, 1, x),
        }
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        let at = offset + __internal::payload_offset(2, T::ALIGN32);
        match self {
            None => __internal::store_discriminant(cx, offset, 2, 0),
            Some(x) => {
                __internal::store_discriminant(cx, offset, 2, 1)?;
                x.store(cx, at)
            }
        }
    }
}

impl<T: Lift> Lift for Option<T> {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        Ok(match __internal::lift_discriminant(src, 2)? {
            0 => None,
            _ => Some(T::lift(cx, &src[1..1 + T::FLAT_COUNT])?),
        })
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        Ok(match __internal::load_discriminant(cx, offset, 2)? {
            0 => None,
            _ => Some(T::load(
                cx,
                offset + __internal::payload_offset(2, T::ALIGN32),
            )?),
        })
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for std::result::Result<T, E> {
    const SIZE32: usize = __internal::variant_size(
        2,
        __internal::max(T::SIZE32, E::SIZE32),
        __internal::max_u32(T::ALIGN32, E::ALIGN32),
    );
    const ALIGN32: u32 = __internal::variant_align(2, __internal::max_u32(T::ALIGN32, E::ALIGN32));
    const FLAT_COUNT: usize = 1 + __internal::max(T::FLAT_COUNT, E::FLAT_COUNT);

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        match resolve(ty, types).1 {
            Some(DefinedType::Result { ok, err }) => {
                typecheck_payload::<T>(*ok, types).map_err(|e| e.context("in a result's ok"))?;
                typecheck_payload::<E>(*err, types).map_err(|e| e.context("in a result's err"))
            }
            _ => Err(mismatch(
                ty,
                types,
                &format!("a result (`{}`)", std::any::type_name::<Self>()),
            )),
        }
    }
}

impl<T: Lower, E: Lower> Lower for std::result::Result<T, E> {
    fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
        match self {
            Ok(x) => __internal::lower_case(cx, dst, 0, x),
            Err(x) => __internal::lower_case(cx, dst, 1, x),
        }
    }

    fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
        let at =
            offset + __internal::payload_offset(2, __internal::max_u32(T::ALIGN32, E::ALIGN32));
        match self {
            Ok(x) => {
                __internal::store_discriminant(cx, offset, 2, 0)?;
                x.store(cx, at)
            }
            Err(x) => {
                __internal::store_discriminant(cx, offset, 2, 1)?;
                x.store(cx, at)
            }
        }
    }
}

impl<T: Lift, E: Lift> Lift for std::result::Result<T, E> {
    fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
        Ok(match __internal::lift_discriminant(src, 2)? {
            0 => Ok(T::lift(cx, &src[1..1 + T::FLAT_COUNT])?),
            _ => Err(E::lift(cx, &src[1..1 + E::FLAT_COUNT])?),
        })
    }

    fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
        let at =
            offset + __internal::payload_offset(2, __internal::max_u32(T::ALIGN32, E::ALIGN32));
        Ok(match __internal::load_discriminant(cx, offset, 2)? {
            0 => Ok(T::load(cx, at)?),
            _ => Err(E::load(cx, at)?),
        })
    }
}

// ---------------------------------------------------------------------
// Tuples

impl ComponentType for () {
    const SIZE32: usize = 0;
    const ALIGN32: u32 = 1;
    const FLAT_COUNT: usize = 0;
    const IS_UNIT: bool = true;

    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
        match resolve(ty, types).1 {
            Some(DefinedType::Tuple(ts)) if ts.is_empty() => Ok(()),
            _ => Err(mismatch(ty, types, "`()`")),
        }
    }
}

impl Lower for () {
    fn lower(&self, _cx: &mut LowerContext<'_>, _dst: &mut [ValRaw]) -> Result<()> {
        Ok(())
    }

    fn store(&self, _cx: &mut LowerContext<'_>, _offset: usize) -> Result<()> {
        Ok(())
    }
}

impl Lift for () {
    fn lift(_cx: &mut LiftContext<'_>, _src: &[ValRaw]) -> Result<Self> {
        Ok(())
    }

    fn load(_cx: &mut LiftContext<'_>, _offset: usize) -> Result<Self> {
        Ok(())
    }
}

impl ComponentNamedList for () {
    fn typecheck_list(
        tys: &[(String, InterfaceType)],
        _types: &ComponentTypes,
        what: &str,
    ) -> Result<()> {
        match tys.first() {
            None => Ok(()),
            Some(_) => Err(Error::msg(format!(
                "type mismatch: expected {} {what}s, found none (`()`)",
                tys.len()
            ))),
        }
    }
}

macro_rules! tuples {
    ($($n:literal: $($t:ident $v:ident),+;)*) => {$(
        impl<$($t: ComponentType),+> ComponentType for ($($t,)+) {
            const SIZE32: usize = {
                let mut at = 0;
                $(at = __internal::align_to(at, $t::ALIGN32) + $t::SIZE32;)+
                __internal::align_to(at, Self::ALIGN32)
            };
            const ALIGN32: u32 = {
                let mut a = 1;
                $(a = __internal::max_u32(a, $t::ALIGN32);)+
                a
            };
            const FLAT_COUNT: usize = 0 $(+ $t::FLAT_COUNT)+;

            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                match resolve(ty, types).1 {
                    Some(DefinedType::Tuple(ts)) if ts.len() == $n => {
                        let mut i = 0;
                        $(
                            $t::typecheck(ts[i], types)
                                .map_err(|e| e.context(format!("in tuple element {i}")))?;
                            i += 1;
                        )+
                        let _ = i;
                        Ok(())
                    }
                    _ => Err(mismatch(
                        ty,
                        types,
                        &format!("a tuple of {} (`{}`)", $n, std::any::type_name::<Self>()),
                    )),
                }
            }
        }

        impl<$($t: ComponentType),+> ComponentNamedList for ($($t,)+) {
            fn typecheck_list(
                tys: &[(String, InterfaceType)],
                types: &ComponentTypes,
                what: &str,
            ) -> Result<()> {
                if tys.len() != $n {
                    return Err(Error::msg(format!(
                        "type mismatch: expected {} {what}s, found {} (`{}`)",
                        tys.len(),
                        $n,
                        std::any::type_name::<Self>()
                    )));
                }
                let mut i = 0;
                $(
                    let (name, t) = &tys[i];
                    $t::typecheck(*t, types)
                        .map_err(|e| e.context(format!("{what} `{name}`")))?;
                    i += 1;
                )+
                let _ = i;
                Ok(())
            }
        }

        impl<$($t: Lower),+> Lower for ($($t,)+) {
            #[inline]
            fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
                let ($($v,)+) = self;
                let mut at = 0;
                $(
                    $v.lower(cx, &mut dst[at..at + $t::FLAT_COUNT])?;
                    at += $t::FLAT_COUNT;
                )+
                let _ = at;
                Ok(())
            }

            fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
                let ($($v,)+) = self;
                let mut at = 0;
                $(
                    at = __internal::align_to(at, $t::ALIGN32);
                    $v.store(cx, offset + at)?;
                    at += $t::SIZE32;
                )+
                let _ = at;
                Ok(())
            }
        }

        impl<$($t: Lift),+> Lift for ($($t,)+) {
            #[inline]
            fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
                let mut at = 0;
                $(
                    let $v = $t::lift(cx, &src[at..at + $t::FLAT_COUNT])?;
                    at += $t::FLAT_COUNT;
                )+
                let _ = at;
                Ok(($($v,)+))
            }

            fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
                let mut at = 0;
                $(
                    at = __internal::align_to(at, $t::ALIGN32);
                    let $v = $t::load(cx, offset + at)?;
                    at += $t::SIZE32;
                )+
                let _ = at;
                Ok(($($v,)+))
            }
        }
    )*};
}

tuples! {
    1: A a;
    2: A a, B b;
    3: A a, B b, C c;
    4: A a, B b, C c, D d;
    5: A a, B b, C c, D d, E e;
    6: A a, B b, C c, D d, E e, F f;
    7: A a, B b, C c, D d, E e, F f, G g;
    8: A a, B b, C c, D d, E e, F f, G g, H h;
    9: A a, B b, C c, D d, E e, F f, G g, H h, I i;
    10: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j;
    11: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k;
    12: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l;
    13: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m;
    14: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n;
    15: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o;
    16: A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p;
}

// ---------------------------------------------------------------------
// Calls: parameters and results as a function's signature carries them

/// The core values of a parameter list `P` (flat, or one pointer past
/// [`MAX_FLAT_PARAMS`]).
pub(crate) const fn flat_params<P: ComponentType + ?Sized>() -> usize {
    if P::FLAT_COUNT <= MAX_FLAT_PARAMS {
        P::FLAT_COUNT
    } else {
        1
    }
}

/// The core values of a result list `R` (flat, or one pointer past
/// [`MAX_FLAT_RESULTS`]).
pub(crate) const fn flat_results<R: ComponentType + ?Sized>() -> usize {
    if R::FLAT_COUNT <= MAX_FLAT_RESULTS {
        R::FLAT_COUNT
    } else {
        1
    }
}

/// The host calls a lifted export: `params` into `dst` (sized
/// [`flat_params`]), flat or stored in memory the callee's `realloc`
/// gives.
pub(crate) fn lower_params<P: Lower>(
    cx: &mut LowerContext<'_>,
    params: &P,
    dst: &mut [ValRaw],
) -> Result<()> {
    if P::FLAT_COUNT <= MAX_FLAT_PARAMS {
        return params
            .lower(cx, dst)
            .map_err(|e| e.context("lowering the arguments"));
    }
    let ptr = cx
        .alloc(
            P::ALIGN32,
            P::SIZE32 as u64,
            ComponentTrap::ReallocOutOfBounds,
        )
        .map_err(|e| e.context("allocating the spilled arguments"))?;
    params
        .store(cx, ptr as usize)
        .map_err(|e| e.context("lowering the spilled arguments"))?;
    put_i32(&mut dst[0], ptr as i32);
    Ok(())
}

/// The host called a lifted export: its results out of the core results
/// (through the returned pointer past [`MAX_FLAT_RESULTS`]).
pub(crate) fn lift_results<R: Lift>(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<R> {
    if R::FLAT_COUNT <= MAX_FLAT_RESULTS {
        return R::lift(cx, src).map_err(|e| e.context("lifting the result"));
    }
    let ptr = get_i32(&src[0]) as u32;
    (|| {
        cx.check_ptr::<R>(ptr, "the result area")?;
        R::load(cx, ptr as usize)
    })()
    .map_err(|e| e.context("lifting the result"))
}

/// The guest called a lowered import: its arguments out of the core
/// arguments (through a pointer past [`MAX_FLAT_PARAMS`]).
pub(crate) fn lift_params<P: Lift>(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<P> {
    if P::FLAT_COUNT <= MAX_FLAT_PARAMS {
        return P::lift(cx, src).map_err(|e| e.context("lifting the arguments"));
    }
    let ptr = get_i32(&src[0]) as u32;
    (|| {
        cx.check_ptr::<P>(ptr, "the spilled arguments")?;
        P::load(cx, ptr as usize)
    })()
    .map_err(|e| e.context("lifting the spilled arguments"))
}

/// The return pointer a lowered import's caller passed after its
/// arguments, if the results do not fit [`MAX_FLAT_RESULTS`].
pub(crate) fn retptr<P: ComponentType, R: ComponentType>(src: &[ValRaw]) -> Option<u32> {
    (R::FLAT_COUNT > MAX_FLAT_RESULTS).then(|| get_i32(&src[flat_params::<P>()]) as u32)
}

/// A lowered import returns: its results as core values into `dst`, or
/// written through `retptr` past [`MAX_FLAT_RESULTS`].
pub(crate) fn lower_results<R: Lower>(
    cx: &mut LowerContext<'_>,
    results: &R,
    dst: &mut [ValRaw],
    retptr: Option<u32>,
) -> Result<()> {
    match retptr {
        None => results.lower(cx, dst),
        Some(ptr) => (|| {
            cx.abi
                .check_ptr(cx.host, ptr, layout_of::<R>(), "the return pointer's area")?;
            results.store(cx, ptr as usize)
        })(),
    }
    .map_err(|e| e.context("lowering the result"))
}

/// Checks a function type against a parameter list `P` and a result list
/// `R`.
pub(crate) fn typecheck_func<P: ComponentNamedList, R: ComponentNamedList>(
    ft: &FuncType,
    types: &ComponentTypes,
) -> Result<()> {
    P::typecheck_list(&ft.params, types, "parameter")?;
    let results: Vec<(String, InterfaceType)> = ft
        .result
        .iter()
        .map(|t| ("result".to_string(), *t))
        .collect();
    R::typecheck_list(&results, types, "result")
}

// ---------------------------------------------------------------------
// TypedFunc

/// A function exported by a component instance, with static Rust types
/// for its parameters `Params` (a tuple: `(u32, String)`) and its results
/// `Results` (`(u32,)` for one result, `()` for none). The types are
/// checked once, when it is made ([`Instance::get_typed_func`],
/// [`Func::typed`]); a call lowers the Rust values straight into the
/// callee (flat core values, or its memory) and lifts the results
/// straight out, with no [`Val`](super::Val) in between.
///
/// [`Instance::get_typed_func`]: super::Instance::get_typed_func
///
/// ```
/// use nyash_engine::component::{Component, Linker};
/// use nyash_engine::{Engine, Store};
///
/// let engine = Engine::default();
/// let component = Component::new(&engine, r#"(component
///     (core module $m
///       (func (export "add") (param i32 i32) (result i32)
///         (i32.add (local.get 0) (local.get 1))))
///     (core instance $i (instantiate $m))
///     (func (export "add") (param "a" u32) (param "b" u32) (result u32)
///       (canon lift (core func $i "add"))))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
/// let add = instance.get_typed_func::<(u32, u32), (u32,)>(&mut store, "add")?;
/// assert_eq!(add.call(&mut store, (2, 3))?, (5,));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .finish_non_exhaustive()
    }
}

impl<P, R> TypedFunc<P, R>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + Lift,
{
    /// Made by [`Func::typed`] once the types are checked.
    pub(crate) fn new_unchecked(func: Func) -> Self {
        TypedFunc {
            func,
            _marker: PhantomData,
        }
    }

    /// The dynamically typed function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function with `params`, returns its results. The same
    /// call as [`Func::call`]'s: a trap in the callee (or a broken rule
    /// of the canonical ABI) is the error and leaves the component
    /// instance unusable; the callee's `post-return` runs before this
    /// returns. Panics if `store` is not the function's store.
    pub fn call(&self, mut store: impl AsContextMut<Data: 'static>, params: P) -> Result<R> {
        let store = store.as_context_mut().0;
        assert_eq!(
            self.func.store,
            store.opaque.id(),
            "component function used with a store it does not belong to"
        );
        super::call::call_lifted_typed::<_, P, R>(store, self.func.index, &params)
    }
}

impl<P, R> TypedFunc<P, R>
where
    P: ComponentNamedList + Lower + Sync,
    R: ComponentNamedList + Lift + Send,
{
    /// [`call`](Self::call) in an async call: the callee runs on a fiber,
    /// so async host functions it reaches
    /// ([`LinkerInstance::func_wrap_async`](super::LinkerInstance::func_wrap_async))
    /// suspend it. Needs [`Config::async_support`](crate::Config::async_support).
    pub async fn call_async<T: Send + 'static>(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
        params: P,
    ) -> Result<R> {
        let store = store.as_context_mut().0;
        assert_eq!(
            self.func.store,
            store.opaque.id(),
            "component function used with a store it does not belong to"
        );
        super::call::call_lifted_typed_async::<T, P, R>(store, self.func.index, &params).await
    }
}

// ---------------------------------------------------------------------
// For the derive macros

/// What the derive macros' expansions call: layout arithmetic and the
/// pieces of variants, records and flags. Not a stable interface.
#[doc(hidden)]
pub mod __internal {
    use super::*;

    pub use crate::vm::vmcontext::ValRaw;
    pub use nyash_aot::component::types::{ComponentTypes, InterfaceType};

    /// A typecheck function of a field or payload type.
    pub type Typecheck = fn(InterfaceType, &ComponentTypes) -> Result<()>;

    pub const fn align_to(x: usize, align: u32) -> usize {
        let a = align as usize;
        x.div_ceil(a) * a
    }

    pub const fn max(a: usize, b: usize) -> usize {
        if a > b { a } else { b }
    }

    pub const fn max_u32(a: u32, b: u32) -> u32 {
        if a > b { a } else { b }
    }

    /// The bytes of the discriminant of a variant of `cases` cases.
    pub const fn discriminant_size(cases: usize) -> u32 {
        if cases <= 0x100 {
            1
        } else if cases <= 0x1_0000 {
            2
        } else {
            4
        }
    }

    /// The alignment of a variant whose payloads align to at most
    /// `payload_align`.
    pub const fn variant_align(cases: usize, payload_align: u32) -> u32 {
        max_u32(discriminant_size(cases), payload_align)
    }

    /// Where a variant's payload starts.
    pub const fn payload_offset(cases: usize, payload_align: u32) -> usize {
        align_to(discriminant_size(cases) as usize, payload_align)
    }

    /// The size of a variant whose largest payload is `payload_size`.
    pub const fn variant_size(cases: usize, payload_size: usize, payload_align: u32) -> usize {
        align_to(
            payload_offset(cases, payload_align) + payload_size,
            variant_align(cases, payload_align),
        )
    }

    /// The bytes of flags with `n` names (at most 32).
    pub const fn flags_size(n: usize) -> usize {
        if n <= 8 {
            1
        } else if n <= 16 {
            2
        } else {
            4
        }
    }

    /// A variant's flat values: the discriminant, the payload's values,
    /// zeros in the slots the case does not use.
    #[inline]
    pub fn lower_case<P: Lower + ?Sized>(
        cx: &mut LowerContext<'_>,
        dst: &mut [ValRaw],
        disc: u32,
        payload: &P,
    ) -> Result<()> {
        put_i32(&mut dst[0], disc as i32);
        let n = P::FLAT_COUNT;
        payload.lower(cx, &mut dst[1..1 + n])?;
        for d in &mut dst[1 + n..] {
            *d = ValRaw::ZERO;
        }
        Ok(())
    }

    /// A variant's discriminant out of its first flat value, checked
    /// against the number of cases.
    #[inline]
    pub fn lift_discriminant(src: &[ValRaw], cases: usize) -> Result<u32> {
        let disc = get_i32(&src[0]) as u32;
        if disc as usize >= cases {
            return Err(abi::trap(
                ComponentTrap::InvalidDiscriminant,
                format!("discriminant {disc} of a type with {cases} cases"),
            ));
        }
        Ok(disc)
    }

    /// Writes a discriminant (1, 2 or 4 bytes by the number of cases).
    pub fn store_discriminant(
        cx: &mut LowerContext<'_>,
        offset: usize,
        cases: usize,
        disc: u32,
    ) -> Result<()> {
        let n = discriminant_size(cases) as usize;
        cx.write(offset, &disc.to_le_bytes()[..n])
    }

    /// Reads a discriminant, checked against the number of cases.
    pub fn load_discriminant(cx: &mut LiftContext<'_>, offset: usize, cases: usize) -> Result<u32> {
        let disc = match discriminant_size(cases) {
            1 => u32::from(cx.read::<1>(offset)?[0]),
            2 => u32::from(u16::from_le_bytes(cx.read::<2>(offset)?)),
            _ => u32::from_le_bytes(cx.read::<4>(offset)?),
        };
        if disc as usize >= cases {
            return Err(abi::trap(
                ComponentTrap::InvalidDiscriminant,
                format!("discriminant {disc} at {offset:#x} of a type with {cases} cases"),
            ));
        }
        Ok(disc)
    }

    /// Flags' bits as one flat value.
    pub fn lower_flags(dst: &mut [ValRaw], bits: u32) {
        put_i32(&mut dst[0], bits as i32);
    }

    /// Flags' bits out of their flat value (bits past the last flag
    /// dropped, as the specification's lifting does).
    pub fn lift_flags(src: &[ValRaw], n: usize) -> u32 {
        get_i32(&src[0]) as u32 & flags_mask(n)
    }

    fn flags_mask(n: usize) -> u32 {
        if n >= 32 { u32::MAX } else { (1u32 << n) - 1 }
    }

    /// Writes flags' bits (1, 2 or 4 bytes by the number of flags).
    pub fn store_flags(
        cx: &mut LowerContext<'_>,
        offset: usize,
        n: usize,
        bits: u32,
    ) -> Result<()> {
        cx.write(offset, &bits.to_le_bytes()[..flags_size(n)])
    }

    /// Reads flags' bits.
    pub fn load_flags(cx: &mut LiftContext<'_>, offset: usize, n: usize) -> Result<u32> {
        let bits = match flags_size(n) {
            1 => u32::from(cx.read::<1>(offset)?[0]),
            2 => u32::from(u16::from_le_bytes(cx.read::<2>(offset)?)),
            _ => u32::from_le_bytes(cx.read::<4>(offset)?),
        };
        Ok(bits & flags_mask(n))
    }

    /// Checks a record type: the same field names in the same order, each
    /// field's type.
    pub fn typecheck_record(
        ty: InterfaceType,
        types: &ComponentTypes,
        rust: &str,
        fields: &[(&str, Typecheck)],
    ) -> Result<()> {
        let Some(DefinedType::Record(have)) = resolve(ty, types).1 else {
            return Err(mismatch(ty, types, &format!("a record (`{rust}`)")));
        };
        if have.len() != fields.len() {
            return Err(mismatch(
                ty,
                types,
                &format!("a record of {} fields (`{rust}`)", fields.len()),
            ));
        }
        for ((name, t), (want, check)) in have.iter().zip(fields) {
            if name != want {
                return Err(Error::msg(format!(
                    "type mismatch: expected field `{name}`, found `{want}` in `{rust}` (fields in the type's order)"
                )));
            }
            check(*t, types).map_err(|e| e.context(format!("in field `{name}` of `{rust}`")))?;
        }
        Ok(())
    }

    /// Checks a variant type: the same case names in the same order, each
    /// case's payload (`None`: none).
    pub fn typecheck_variant(
        ty: InterfaceType,
        types: &ComponentTypes,
        rust: &str,
        cases: &[(&str, Option<Typecheck>)],
    ) -> Result<()> {
        let Some(DefinedType::Variant(have)) = resolve(ty, types).1 else {
            return Err(mismatch(ty, types, &format!("a variant (`{rust}`)")));
        };
        if have.len() != cases.len() {
            return Err(mismatch(
                ty,
                types,
                &format!("a variant of {} cases (`{rust}`)", cases.len()),
            ));
        }
        for ((name, t), (want, check)) in have.iter().zip(cases) {
            if name != want {
                return Err(Error::msg(format!(
                    "type mismatch: expected case `{name}`, found `{want}` in `{rust}` (cases in the type's order)"
                )));
            }
            let r = match (t, check) {
                (None, None) => Ok(()),
                (Some(t), Some(check)) => check(*t, types),
                (Some(_), None) => Err(Error::msg("type mismatch: expected a payload, found none")),
                (None, Some(_)) => Err(Error::msg("type mismatch: expected no payload, found one")),
            };
            r.map_err(|e| e.context(format!("in case `{name}` of `{rust}`")))?;
        }
        Ok(())
    }

    /// Checks an enum type: the same case names in the same order.
    pub fn typecheck_enum(
        ty: InterfaceType,
        types: &ComponentTypes,
        rust: &str,
        names: &[&str],
    ) -> Result<()> {
        match resolve(ty, types).1 {
            Some(DefinedType::Enum(have)) if have.iter().eq(names.iter()) => Ok(()),
            _ => Err(mismatch(
                ty,
                types,
                &format!("enum {{{}}} (`{rust}`)", names.join(", ")),
            )),
        }
    }

    /// Checks a flags type: the same flag names in the same order.
    pub fn typecheck_flags(
        ty: InterfaceType,
        types: &ComponentTypes,
        rust: &str,
        names: &[&str],
    ) -> Result<()> {
        match resolve(ty, types).1 {
            Some(DefinedType::Flags(have)) if have.iter().eq(names.iter()) => Ok(()),
            _ => Err(mismatch(
                ty,
                types,
                &format!("flags {{{}}} (`{rust}`)", names.join(", ")),
            )),
        }
    }
}

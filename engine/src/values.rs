//! Values crossing the host boundary.

use crate::func::Func;
use crate::store::{AsContext, AsContextMut};
use crate::types::{HeapType, RefType, ValType};
use crate::vm::store_opaque::StoreOpaque;
use crate::vm::vmcontext::ValRaw;

/// A reference to a host value, opaque to wasm (`externref`). The value
/// lives as long as its store; the handle is `Copy`.
///
/// ```
/// use nyash_engine::{Engine, ExternRef, Store};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let r = ExternRef::new(&mut store, String::from("state"));
/// let s = r.data(&store).downcast_ref::<String>().unwrap();
/// assert_eq!(s, "state");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl ExternRef {
    /// Wraps `value` as an `externref` owned by the store.
    pub fn new<T: std::any::Any + Send + Sync>(
        mut store: impl AsContextMut,
        value: T,
    ) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.push_externref(Box::new(value))
    }

    /// The host value behind this reference; `downcast_ref` it to its
    /// type. Panics if `store` is not the reference's store.
    pub fn data<'a, T: 'a>(
        &self,
        store: &'a impl AsContext<Data = T>,
    ) -> &'a (dyn std::any::Any + Send + Sync) {
        let store = &store.as_context().0.opaque;
        store.externref(self)
    }

    pub(crate) fn to_raw(self) -> usize {
        self.index as usize + 1
    }

    /// `extern.convert_any`: the externref for `any` reference `a` (the
    /// one an extern object stands for, else a new externref wrapping
    /// `a`, which [`AnyRef::convert_extern`] turns back into `a`).
    pub fn convert_any(mut store: impl AsContextMut, a: AnyRef) -> crate::Result<ExternRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let r = AnyRef::resolve(store, Some(a))?;
        let raw = crate::vm::gc_heap::extern_from_any(store, r);
        ExternRef::from_raw(store, raw).ok_or_else(|| crate::Error::msg("the store has no GC heap"))
    }

    /// The `any` reference this externref wraps, if it came from
    /// [`ExternRef::convert_any`] or `extern.convert_any` of a struct,
    /// array or `i31`.
    pub fn wrapped_any(&self, mut store: impl AsContextMut) -> Option<AnyRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let r = crate::vm::gc_heap::wrapped_any(store, store.externref_index(self))?;
        AnyRef::from_raw(store, r)
    }

    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        (raw != 0).then(|| ExternRef {
            store: store.id(),
            index: (raw - 1) as u32,
        })
    }
}

/// An unboxed 31-bit integer, the payload of an `i31ref`. Constructors
/// wrap: the top bit of a 32-bit value is dropped.
///
/// ```
/// use nyash_engine::I31;
///
/// assert_eq!(I31::new_i32(-1).get_i32(), -1);
/// assert_eq!(I31::new_i32(-1).get_u32(), 0x7fff_ffff);
/// assert_eq!(I31::new_u32(0x8000_0005).get_u32(), 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct I31(u32);

impl I31 {
    /// `value`'s low 31 bits.
    pub const fn new_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }
    /// `value`'s low 31 bits (as `ref.i31` does).
    pub const fn new_i32(value: i32) -> I31 {
        I31::new_u32(value as u32)
    }
    /// The value zero-extended (`i31.get_u`).
    pub const fn get_u32(self) -> u32 {
        self.0
    }
    /// The value sign-extended (`i31.get_s`).
    pub const fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

impl std::fmt::Display for I31 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get_i32())
    }
}

/// A non-null reference of the `any` hierarchy (`anyref`, `eqref`,
/// `i31ref`, struct and array references): an unboxed `i31`, or a struct or
/// array object of a store's GC heap.
///
/// An object reference is a *root*: a handle the collector updates when it
/// moves the object. How long a root lives:
///
/// - one handed to a host function called from wasm (as an argument), or
///   made while it runs (a call's result, a field read, an allocation),
///   lives until that host function returns;
/// - one made inside a [`RootScope`](crate::RootScope) (or
///   [`Store::gc_scope`](crate::Store::gc_scope)) lives until the scope
///   ends, also when it ends with an error through `?`;
/// - one made at top level, outside both, lives as long as the store;
/// - an [`OwnedRooted`](crate::OwnedRooted) (from
///   [`AnyRef::to_owned_rooted`]) lives until it, and every clone of it, is
///   dropped; dropping needs no store. The `AnyRef` it gives
///   ([`OwnedRooted::get`](crate::OwnedRooted::get)) is valid as long.
///
/// A root used after it ended is refused with an error (never a wrong
/// object); so is one of another store. Typed views of objects are
/// [`StructRef`](crate::StructRef), [`ArrayRef`](crate::ArrayRef) and
/// [`EqRef`](crate::EqRef) ([`AnyRef::as_struct`] and so on).
///
/// ```
/// use nyash_engine::{AnyRef, I31, Val};
///
/// let r = AnyRef::from_i31(I31::new_i32(-7));
/// assert_eq!(r.as_i31().map(I31::get_i32), Some(-7));
/// let v = Val::AnyRef(Some(r));
/// assert_eq!(v.any_ref(), Some(Some(r)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef {
    repr: AnyRepr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AnyRepr {
    /// As generated code holds it (`nyash_gc::vm`): `(value << 1) | 1`.
    I31(std::num::NonZeroU32),
    /// A host root of store `store`: slot `index`, valid while the slot
    /// has generation `generation`.
    Object {
        store: u64,
        index: u32,
        generation: u32,
    },
    /// An owned root of store `store` (`gc_api::OwnedRoots`): slot
    /// `index`, valid while the slot has generation `generation` and its
    /// `OwnedRooted` lives.
    Owned {
        store: u64,
        index: u32,
        generation: u32,
    },
}

impl AnyRef {
    /// The `i31ref` of `value`.
    pub const fn from_i31(value: I31) -> AnyRef {
        AnyRef {
            repr: AnyRepr::I31(
                std::num::NonZeroU32::new((value.0 << 1) | nyash_gc::vm::I31_TAG)
                    .expect("the tag bit is set"),
            ),
        }
    }

    /// The `i31` value, if this is an `i31ref`.
    pub const fn as_i31(&self) -> Option<I31> {
        match self.repr {
            AnyRepr::I31(raw) => Some(I31(raw.get() >> 1)),
            AnyRepr::Object { .. } | AnyRepr::Owned { .. } => None,
        }
    }

    /// Whether this is a heap object (a struct, an array, or an extern
    /// object made by [`AnyRef::convert_extern`]), not an `i31`.
    pub const fn is_object(&self) -> bool {
        matches!(self.repr, AnyRepr::Object { .. } | AnyRepr::Owned { .. })
    }

    /// Whether `self` and `other` are the same reference (`ref.eq`): the
    /// same `i31`, or the same object. Fails for a root that ended.
    pub fn ref_eq(&self, store: impl AsContext, other: &AnyRef) -> crate::Result<bool> {
        let store = &store.as_context().0.opaque;
        Ok(AnyRef::resolve(store, Some(*self))? == AnyRef::resolve(store, Some(*other))?)
    }

    /// `any.convert_extern`: the `any` reference for externref `e` (the
    /// reference it wraps if it came from [`ExternRef::convert_any`] or
    /// `extern.convert_any`, else the store's extern object standing for
    /// it, the same one each time). Fails if the store has no GC heap (no
    /// module that can see GC objects was instantiated in it) or the heap
    /// is full.
    pub fn convert_extern(mut store: impl AsContextMut, e: ExternRef) -> crate::Result<AnyRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let r = crate::vm::gc_heap::any_from_extern(store, store.externref_raw(&e))
            .map_err(|e| crate::Error::msg(format!("GC heap: {e}")))?;
        AnyRef::from_raw(store, r).ok_or_else(|| crate::Error::msg("the store has no GC heap"))
    }

    /// Whether this is a struct object of `store`.
    pub fn is_struct(&self, store: impl AsContext) -> crate::Result<bool> {
        Ok(self.object_kind(&store.as_context().0.opaque)? == Some(nyash_gc::vm::Kind::Struct))
    }

    /// Whether this is an array object of `store`.
    pub fn is_array(&self, store: impl AsContext) -> crate::Result<bool> {
        Ok(self.object_kind(&store.as_context().0.opaque)? == Some(nyash_gc::vm::Kind::Array))
    }

    /// The object's kind and engine type id (`None` for an `i31`).
    pub(crate) fn object_type(
        &self,
        store: &StoreOpaque,
    ) -> crate::Result<Option<(nyash_gc::vm::Kind, u32)>> {
        let r = AnyRef::resolve(store, Some(*self))?;
        if r & nyash_gc::vm::I31_TAG != 0 {
            return Ok(None);
        }
        let heap = &store.gc_store().ok_or_else(stale)?.heap;
        heap.object_type(r)
            .map(Some)
            .map_err(|e| crate::Error::msg(format!("GC heap: {e}")))
    }

    fn object_kind(&self, store: &StoreOpaque) -> crate::Result<Option<nyash_gc::vm::Kind>> {
        Ok(self.object_type(store)?.map(|(k, _)| k))
    }

    /// The engine type of the object (`HeapType::Engine(id)`),
    /// `HeapType::I31` for an `i31`, `HeapType::Any` for an externref
    /// converted with `any.convert_extern`.
    pub fn heap_type(&self, store: impl AsContext) -> crate::Result<HeapType> {
        Ok(match self.object_type(&store.as_context().0.opaque)? {
            Some((nyash_gc::vm::Kind::Extern, _)) => HeapType::Any,
            Some((_, id)) => HeapType::Engine(id),
            None => HeapType::I31,
        })
    }

    /// The raw form of `r` as generated code holds it; an error for a root
    /// of another store or one that ended.
    pub(crate) fn resolve(store: &StoreOpaque, r: Option<AnyRef>) -> crate::Result<u32> {
        let Some(r) = r else {
            return Ok(nyash_gc::vm::NULL_REF);
        };
        let (id, owned, index, generation) = match r.repr {
            AnyRepr::I31(raw) => return Ok(raw.get()),
            AnyRepr::Object {
                store,
                index,
                generation,
            } => (store, false, index, generation),
            AnyRepr::Owned {
                store,
                index,
                generation,
            } => (store, true, index, generation),
        };
        if id != store.id() {
            return Err(crate::Error::msg(
                "a GC reference of another store was used with this store",
            ));
        }
        let gc = store.gc_store().ok_or_else(stale)?;
        if owned {
            gc.host.owned_value(index, generation)
        } else {
            gc.rooted(index, generation)
        }
        .ok_or_else(stale)
    }

    /// The handle of owned root `(index, generation)` of store `store`.
    pub(crate) fn owned(store: u64, index: u32, generation: u32) -> AnyRef {
        AnyRef {
            repr: AnyRepr::Owned {
                store,
                index,
                generation,
            },
        }
    }

    /// A handle of store `store` that never resolves (every use is the
    /// error of a root that ended): what a typed function gets for a
    /// non-null reference that was null, which well-typed code never
    /// passes.
    pub(crate) fn dangling(store: u64) -> AnyRef {
        AnyRef {
            repr: AnyRepr::Object {
                store,
                index: u32::MAX,
                generation: 0,
            },
        }
    }

    /// [`AnyRef::resolve`], with null for a reference that cannot be used
    /// (callers check values with `Val::check_ty` first).
    pub(crate) fn to_raw(store: &StoreOpaque, r: Option<AnyRef>) -> u32 {
        AnyRef::resolve(store, r).unwrap_or(nyash_gc::vm::NULL_REF)
    }

    /// A reference read from generated code: an object gets a host root.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: u32) -> Option<AnyRef> {
        let nz = std::num::NonZeroU32::new(raw)?;
        if raw & nyash_gc::vm::I31_TAG != 0 {
            return Some(AnyRef {
                repr: AnyRepr::I31(nz),
            });
        }
        let id = store.id();
        let gc = store.gc_store_mut()?;
        let (index, generation) = gc.root(raw);
        Some(AnyRef {
            repr: AnyRepr::Object {
                store: id,
                index,
                generation,
            },
        })
    }
}

fn stale() -> crate::Error {
    crate::Error::msg(
        "a GC reference was used after its root ended (references handed to a host \
         function live until it returns, those made in a RootScope until it ends, \
         an OwnedRooted's until it is dropped)",
    )
}

impl std::fmt::Display for AnyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.repr {
            AnyRepr::I31(raw) => write!(f, "i31 {}", I31(raw.get() >> 1)),
            AnyRepr::Object { .. } | AnyRepr::Owned { .. } => write!(f, "object"),
        }
    }
}

/// A WebAssembly value, for dynamically typed calls ([`Func::call`]),
/// globals and tables. Floats are kept as bits so NaN payloads survive;
/// `From<f32>` and `From<f64>` convert, and [`Val::f32`] / [`Val::f64`]
/// convert back.
///
/// ```
/// use nyash_engine::{Val, ValType};
///
/// let v = Val::from(1.5f32);
/// assert_eq!(v.ty(), ValType::F32);
/// assert_eq!(v.f32(), Some(1.5));
/// assert_eq!(v.i32(), None);
/// assert_eq!(Val::default_for(ValType::I64), Val::I64(0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// An `i32` (also the type of unsigned 32-bit values).
    I32(i32),
    /// An `i64` (also the type of unsigned 64-bit values).
    I64(i64),
    /// Bits of an `f32`.
    F32(u32),
    /// Bits of an `f64`.
    F64(u64),
    /// A `v128`: lane 0 in the least significant bits (the bytes of the
    /// `u128` in little-endian order are the vector's bytes in memory order).
    V128(u128),
    /// A `funcref`: a function, or null.
    FuncRef(Option<Func>),
    /// An `externref`: a host value, or null.
    ExternRef(Option<ExternRef>),
    /// An exception reference (`exnref`), `None` for null.
    ExnRef(Option<crate::exceptions::ExnRef>),
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`,
    /// `nullref`, struct and array references), `None` for null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type; for a reference the top of its hierarchy,
    /// `funcref`, `externref`, `exnref` or `anyref` (a function's own type is
    /// [`Func::ty`]; [`Val::matches_ty`] checks a value against a typed
    /// reference type such as `(ref $t)`).
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
            Val::AnyRef(_) => ValType::AnyRef,
        }
    }

    /// The default (zero or null) value of a type. For a non-nullable
    /// reference type, which has no default, null of its hierarchy: a
    /// placeholder (for result slots to be overwritten), not a value of the
    /// type. A concrete type's hierarchy depends on its definition, which
    /// only the engine knows: for an engine id this answers funcref's null,
    /// also a placeholder if the type is a struct or array type (whose
    /// null is `Val::AnyRef(None)`).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => match r.heap.top() {
                HeapType::Extern => Val::ExternRef(None),
                HeapType::Exn => Val::ExnRef(None),
                HeapType::Any => Val::AnyRef(None),
                _ => Val::FuncRef(None),
            },
        }
    }

    /// [`Val::default_for`] with concrete types resolved by the store's
    /// engine: a struct or array type's null is `Val::AnyRef(None)`.
    pub(crate) fn default_in(store: &StoreOpaque, ty: ValType) -> Val {
        match ty {
            ValType::Ref(r) => Val::default_for(ValType::Ref(RefType {
                nullable: r.nullable,
                heap: store.heap_top(r.heap),
            })),
            other => Val::default_for(other),
        }
    }

    /// Whether the value is of type `ty` (WebAssembly 3.0 subtyping: a
    /// function matches `(ref $t)` if its type is `$t` or a declared
    /// subtype; a null reference, of whatever kind, matches every nullable
    /// reference type and no other). `ty`'s concrete types
    /// are engine ids ([`HeapType::Engine`]), as in the types of a store's
    /// functions, globals and tables. Panics if a function is of another
    /// store.
    pub fn matches_ty(&self, store: impl AsContext, ty: ValType) -> bool {
        self.check_ty(&store.as_context().0.opaque, ty).is_ok()
    }

    /// [`Val::matches_ty`], saying why not.
    /// Whether this is a null reference (of any kind).
    fn is_null_ref(&self) -> bool {
        matches!(
            self,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
        )
    }

    pub(crate) fn check_ty(&self, store: &StoreOpaque, ty: ValType) -> Result<(), String> {
        let ValType::Ref(r) = ty else {
            return if self.ty() == ty {
                Ok(())
            } else {
                Err(format!("expected a value of type {ty}, got {}", self.ty()))
            };
        };
        // A null carries no type: any null reference fits any nullable
        // reference type (every null is 0 in raw form). So
        // `Val::default_for`, which cannot tell which hierarchy an engine
        // type id is in, still gives a usable null.
        if r.nullable && self.is_null_ref() {
            return Ok(());
        }
        let expected_top = store.heap_top(r.heap);
        if let Val::AnyRef(a) = self {
            if expected_top != HeapType::Any {
                return Err(format!("expected a value of type {ty}, got {}", self.ty()));
            }
            let Some(a) = a else {
                return if r.nullable {
                    Ok(())
                } else {
                    Err(format!("null is not a value of the non-nullable type {ty}"))
                };
            };
            let actual = match a.object_type(store) {
                Ok(Some((nyash_gc::vm::Kind::Extern, _))) => HeapType::Any,
                Ok(Some((_, id))) => HeapType::Engine(id),
                Ok(None) => HeapType::I31,
                Err(e) => return Err(e.to_string()),
            };
            return if store.engine().types().heap_matches(actual, r.heap) {
                Ok(())
            } else {
                Err(format!("expected a value of type {ty}, got an {actual}ref"))
            };
        }
        let (top, non_null) = match self {
            Val::FuncRef(f) => (HeapType::Func, f.is_some()),
            Val::ExternRef(e) => (HeapType::Extern, e.is_some()),
            Val::ExnRef(e) => (HeapType::Exn, e.is_some()),
            _ => return Err(format!("expected a value of type {ty}, got {}", self.ty())),
        };
        if expected_top != top {
            return Err(format!("expected a value of type {ty}, got {}", self.ty()));
        }
        if !non_null {
            return if r.nullable {
                Ok(())
            } else {
                Err(format!("null is not a value of the non-nullable type {ty}"))
            };
        }
        // The accessors check that the reference is this store's.
        let actual = match self {
            Val::FuncRef(Some(f)) => HeapType::Engine(store.func(f).type_id),
            Val::ExnRef(Some(e)) => {
                store.exnref_raw(e);
                HeapType::Exn
            }
            Val::ExternRef(Some(e)) => {
                store.externref_raw(e);
                HeapType::Extern
            }
            _ => HeapType::Extern,
        };
        if store.engine().types().heap_matches(actual, r.heap) {
            Ok(())
        } else {
            let actual = match actual {
                HeapType::Engine(id) => {
                    format!("a function of type {}", store.engine().type_of(id))
                }
                HeapType::Exn => "an exnref".to_string(),
                _ => "an externref".to_string(),
            };
            Err(format!("expected a value of type {ty}, got {actual}"))
        }
    }

    /// The reference, if this is an `any`-hierarchy reference (`Some(None)`
    /// for its null).
    pub fn any_ref(&self) -> Option<Option<AnyRef>> {
        if let Val::AnyRef(r) = self {
            Some(*r)
        } else {
            None
        }
    }

    /// The value, if it is an `i32`.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The value, if it is an `i64`.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The value, if it is an `f32`.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    /// The value, if it is an `f64`.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The value, if it is a `v128`.
    pub fn v128(&self) -> Option<u128> {
        if let Val::V128(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        match self {
            Val::I32(v) => ValRaw {
                i64: v as u32 as i64,
            },
            Val::I64(v) => ValRaw { i64: v },
            Val::F32(v) => ValRaw { i64: v as i64 },
            Val::F64(v) => ValRaw { f64: v },
            Val::V128(v) => ValRaw {
                v128: v.to_le_bytes(),
            },
            Val::FuncRef(f) => ValRaw {
                r#ref: f.map_or(0, |f| store.func(&f).func_ref as usize),
            },
            Val::ExternRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| store.externref_raw(&e)),
            },
            Val::ExnRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| store.exnref_raw(&e)),
            },
            // Zero-extended: generated code reads the low 32 bits as an
            // `I32`, and a table slot holds the whole word.
            Val::AnyRef(a) => ValRaw {
                r#ref: AnyRef::to_raw(store, a) as usize,
            },
        }
    }

    /// # Safety
    /// `raw` must hold a value of type `ty` produced by this store.
    pub(crate) unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        // SAFETY: the caller guarantees the raw value has type `ty`.
        unsafe {
            match ty {
                ValType::I32 => Val::I32(raw.i32),
                ValType::I64 => Val::I64(raw.i64),
                ValType::F32 => Val::F32(raw.f32),
                ValType::F64 => Val::F64(raw.f64),
                ValType::V128 => Val::V128(u128::from_le_bytes(raw.v128)),
                ValType::Ref(r) => match store.heap_top(r.heap) {
                    HeapType::Any => Val::AnyRef(AnyRef::from_raw(store, raw.i32 as u32)),
                    HeapType::Extern => Val::ExternRef(ExternRef::from_raw(store, raw.r#ref)),
                    HeapType::Exn => {
                        Val::ExnRef(crate::exceptions::ExnRef::from_raw(store, raw.r#ref))
                    }
                    _ => Val::FuncRef(Func::from_raw(store, raw.r#ref)),
                },
            }
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
impl From<u128> for Val {
    fn from(v: u128) -> Val {
        Val::V128(v)
    }
}

//! `AnyRef`, a reference of the `any` hierarchy (an `i31` or a heap
//! object, rooted), and `I31`.

use super::*;

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
    /// An owned root of store `store` (`gc::rooting::OwnedRoots`): slot
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

impl AnyRef {
    /// The kind of object this is, `None` for an `i31`; an error for a
    /// root that ended or one of another store.
    fn kind(&self, store: &StoreOpaque) -> Result<Option<Kind>> {
        Ok(self.object_type(store)?.map(|(k, _)| k))
    }

    /// This reference as a [`StructRef`], if it is a struct (`Ok(None)`
    /// for an `i31`, an array or an extern object).
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<StructRef>> {
        Ok(
            (self.kind(&store.as_context().0.opaque)? == Some(Kind::Struct))
                .then_some(StructRef { any: *self }),
        )
    }

    /// This reference as an [`ArrayRef`], if it is an array.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<ArrayRef>> {
        Ok(
            (self.kind(&store.as_context().0.opaque)? == Some(Kind::Array))
                .then_some(ArrayRef { any: *self }),
        )
    }

    /// This reference as an [`EqRef`], if it is one: an `i31`, a struct or
    /// an array (not an extern object from [`AnyRef::convert_extern`]).
    pub fn as_eqref(&self, store: impl AsContext) -> Result<Option<EqRef>> {
        Ok(match self.kind(&store.as_context().0.opaque)? {
            None | Some(Kind::Struct) | Some(Kind::Array) => Some(EqRef { any: *self }),
            Some(_) => None,
        })
    }

    /// An owned root of this reference: valid until it (and every clone)
    /// is dropped, across [`RootScope`]s and collections. Dropping it
    /// needs no store.
    ///
    /// ```
    /// use nyash_engine::*;
    ///
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let ty = StructType::new(&engine, [FieldType::new(Mutability::Const, StorageType::ValType(ValType::I32))])?;
    /// let owned = store.gc_scope(|scope| -> Result<_> {
    ///     let s = StructRef::new(&mut *scope, &ty, &[Val::I32(5)])?;
    ///     s.to_anyref().to_owned_rooted(scope)
    /// })?;
    /// store.gc()?;
    /// let s = owned.get().as_struct(&store)?.expect("a struct");
    /// assert_eq!(s.field(&mut store, 0)?, Val::I32(5));
    /// drop(owned); // no store needed
    /// assert!(s.field(&mut store, 0).is_err()); // its root ended
    /// # Ok::<(), nyash_engine::Error>(())
    /// ```
    pub fn to_owned_rooted(self, mut store: impl AsContextMut) -> Result<OwnedRooted<AnyRef>> {
        owned_root(&mut store.as_context_mut().0.opaque, self)
    }
}

impl From<AnyRef> for Val {
    fn from(r: AnyRef) -> Val {
        Val::AnyRef(Some(r))
    }
}

impl From<Option<AnyRef>> for Val {
    fn from(r: Option<AnyRef>) -> Val {
        Val::AnyRef(r)
    }
}

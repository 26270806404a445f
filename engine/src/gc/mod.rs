//! The host's side of WebAssembly GC: struct and array types made by the
//! host ([`StructType`], [`ArrayType`]), typed views of heap objects
//! ([`StructRef`], [`ArrayRef`], [`EqRef`]) with checked allocation and
//! field access, and the two ways to bound a root's life: [`RootScope`]
//! (scoped, works with `?`) and [`OwnedRooted`] (owned, dropped without the
//! store).
//!
//! Every access goes through the heap's checked accessors (`nyash_gc`),
//! at the offsets [`nyash_aot::gc_layout`] gives generated code: an object
//! made by the host is the same object wasm code makes, and the other way
//! round. Misuse (a wrong type, an index out of bounds, an immutable
//! field, a root that ended, a reference of another store) is an error,
//! never a panic.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use nyash_aot::gc_layout;
use nyash_aot::module::{CompositeType, FieldType as AotFieldType, StorageType as AotStorageType};
use nyash_aot::{HeapType as AotHeapType, WasmType as AotValType};
use nyash_gc::vm::{I31_TAG, Kind, type_word};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::exceptions::ExnRef;
use crate::func::Func;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut};
use crate::types::{HeapType, ValType};
use crate::values::Val;
use crate::vm::store_opaque::StoreOpaque;

// ---------------------------------------------------------------------------
// Layouts, as the host reads and writes objects

/// How a field's value is stored (its size comes from `gc_layout`, and is
/// checked against this when the layout is made).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repr {
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A traced `u32` heap reference.
    Any,
    /// A raw `*const VMFuncRef`, 8 bytes.
    Func,
    /// An externref's store handle, 4 bytes.
    Extern,
    /// An exnref's store handle, 4 bytes.
    Exn,
}

impl Repr {
    fn size(self) -> u32 {
        match self {
            Repr::I8 => 1,
            Repr::I16 => 2,
            Repr::I32 | Repr::F32 | Repr::Any | Repr::Extern | Repr::Exn => 4,
            Repr::I64 | Repr::F64 | Repr::Func => 8,
            Repr::V128 => 16,
        }
    }
}

/// A field (or an array's element): its type, representation and offset
/// (element 0's, for an array).
#[derive(Clone, Copy, Debug)]
struct Slot {
    ty: FieldType,
    repr: Repr,
    offset: u32,
}

#[derive(Debug)]
enum Layout {
    Struct(Box<[Slot]>),
    Array(Slot),
}

/// The layout of engine type `id` from `gc_layout` (what generated code
/// uses), with each field's representation.
fn compute_layout(engine: &Engine, id: u32) -> Result<Layout> {
    let types = engine.types();
    let hierarchy = |h| types.top(h);
    let slot = |f: AotFieldType, offset: u32| -> Result<Slot> {
        let repr = match f.storage {
            AotStorageType::I8 => Repr::I8,
            AotStorageType::I16 => Repr::I16,
            AotStorageType::Val(AotValType::I32) => Repr::I32,
            AotStorageType::Val(AotValType::I64) => Repr::I64,
            AotStorageType::Val(AotValType::F32) => Repr::F32,
            AotStorageType::Val(AotValType::F64) => Repr::F64,
            AotStorageType::Val(AotValType::V128) => Repr::V128,
            AotStorageType::Val(AotValType::Ref(r)) => match gc_layout::ref_top(r.heap, &hierarchy)
            {
                AotHeapType::Any => Repr::Any,
                AotHeapType::Extern => Repr::Extern,
                AotHeapType::Exn => Repr::Exn,
                _ => Repr::Func,
            },
        };
        let (size, traced) = gc_layout::storage(f.storage, &hierarchy);
        // Traced exactly when `RefType::is_traced` says so: an `i31` or
        // `none` field is an `any` reference the collector skips.
        if size != repr.size() || (traced && repr != Repr::Any) {
            return Err(Error::msg(format!(
                "engine type #{id}: the host API does not know how a {} field is stored",
                FieldType::from_aot(f)
            )));
        }
        Ok(Slot {
            ty: FieldType::from_aot(f),
            repr,
            offset,
        })
    };
    match types.get(id).map(|t| &t.composite) {
        Some(CompositeType::Struct(fields)) => {
            let l = gc_layout::struct_layout(fields, hierarchy);
            let slots = fields
                .iter()
                .zip(&l.field_offsets)
                .map(|(f, &o)| slot(*f, o))
                .collect::<Result<_>>()?;
            Ok(Layout::Struct(slots))
        }
        Some(CompositeType::Array(elem)) => {
            let l = gc_layout::array_layout(*elem, hierarchy);
            let s = slot(*elem, l.elems_offset)?;
            if l.elem_size != s.repr.size() {
                return Err(Error::msg(format!(
                    "engine type #{id}: unexpected array element size {}",
                    l.elem_size
                )));
            }
            Ok(Layout::Array(s))
        }
        _ => Err(Error::msg(format!(
            "engine type #{id} is not a struct or array type"
        ))),
    }
}

/// The store's host-side GC state (in `vm::gc_heap::GcStore`): owned roots, and the
/// layouts of the types the host has accessed.
#[derive(Default)]
pub(crate) struct HostGc {
    owned: OwnedRoots,
    layouts: HashMap<u32, Arc<Layout>>,
}

impl HostGc {
    /// The current value of owned root `(index, generation)`, if it lives.
    pub(crate) fn owned_value(&self, index: u32, generation: u32) -> Option<u32> {
        self.owned.get(index, generation)
    }

    /// For the collector: trims the owned roots the host dropped, then
    /// visits the others (and stores back what the collector moved).
    pub(crate) fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        self.owned.trim();
        for (slot, _) in self.owned.slots.iter().flatten() {
            let mut r = slot.load(Ordering::Relaxed);
            visit(&mut r);
            slot.store(r, Ordering::Relaxed);
        }
    }
}

/// The layout of engine type `id`, cached in the store.
fn layout_of(store: &mut StoreOpaque, id: u32) -> Result<Arc<Layout>> {
    if let Some(l) = store.gc_store().and_then(|g| g.host.layouts.get(&id)) {
        return Ok(l.clone());
    }
    let l = Arc::new(compute_layout(store.engine(), id)?);
    if let Some(g) = store.gc_store_mut() {
        g.host.layouts.insert(id, l.clone());
    }
    Ok(l)
}

fn gc_error(e: nyash_gc::GcError) -> Error {
    Error::msg(format!("GC heap: {e}"))
}

fn no_heap() -> Error {
    Error::msg("the store has no GC heap")
}

/// The raw reference and engine type id of `r`, which must be an object of
/// kind `kind` (`what` names it in the error).
fn object(store: &StoreOpaque, r: AnyRef, kind: Kind, what: &str) -> Result<(u32, u32)> {
    let raw = AnyRef::resolve(store, Some(r))?;
    if raw & I31_TAG != 0 {
        return Err(Error::msg(format!("expected {what}, got an i31")));
    }
    let heap = &store.gc_store().ok_or_else(no_heap)?.heap;
    match heap.object_type(raw).map_err(gc_error)? {
        (k, id) if k == kind => Ok((raw, id)),
        _ => Err(Error::msg(format!(
            "expected {what}, got another kind of object"
        ))),
    }
}

/// Checks that `v` can be stored in a field of type `ty`: its type (with
/// subtyping), and that its handles are of this store.
fn check_val(store: &StoreOpaque, ty: &FieldType, v: &Val) -> Result<()> {
    let owner = match v {
        Val::FuncRef(Some(f)) => Some(f.store),
        Val::ExternRef(Some(e)) => Some(e.store),
        Val::ExnRef(Some(e)) => Some(e.store),
        _ => None,
    };
    if owner.is_some_and(|o| o != store.id()) {
        return Err(Error::msg(
            "a reference of another store cannot be stored in this store's objects",
        ));
    }
    match ty.element_type {
        StorageType::I8 | StorageType::I16 => match v {
            Val::I32(_) => Ok(()),
            _ => Err(Error::msg(format!(
                "expected an i32 for a field of type {}, got {}",
                ty.element_type,
                v.ty()
            ))),
        },
        StorageType::ValType(t) => v.check_ty(store, t).map_err(Error::msg),
    }
}

/// Reads the value of `slot`'s type at `off` in object `r`. An `any`
/// reference read gets a root.
fn read_slot(store: &mut StoreOpaque, r: u32, slot: &Slot, off: u32) -> Result<Val> {
    let heap = &store.gc_store().ok_or_else(no_heap)?.heap;
    let mut buf = [0u8; 16];
    let mut bytes = |n: usize| -> Result<u128> {
        heap.read_bytes(r, off, &mut buf[..n]).map_err(gc_error)?;
        Ok(u128::from_le_bytes(buf))
    };
    Ok(match slot.repr {
        Repr::I8 => Val::I32(bytes(1)? as i32),
        Repr::I16 => Val::I32(bytes(2)? as i32),
        Repr::I32 => Val::I32(heap.read_u32(r, off).map_err(gc_error)? as i32),
        Repr::F32 => Val::F32(heap.read_u32(r, off).map_err(gc_error)?),
        Repr::I64 => Val::I64(heap.read_u64(r, off).map_err(gc_error)? as i64),
        Repr::F64 => Val::F64(heap.read_u64(r, off).map_err(gc_error)?),
        Repr::V128 => Val::V128(bytes(16)?),
        Repr::Any => {
            let v = heap.read_ref(r, off).map_err(gc_error)?;
            Val::AnyRef(AnyRef::from_raw(store, v))
        }
        Repr::Func => {
            let p = heap.read_u64(r, off).map_err(gc_error)? as usize;
            Val::FuncRef(Func::from_raw(store, p))
        }
        Repr::Extern => {
            let h = heap.read_u32(r, off).map_err(gc_error)? as usize;
            if h > store.externref_count() {
                return Err(Error::msg("GC heap: an externref field holds no externref"));
            }
            Val::ExternRef(ExternRef::from_raw(store, h))
        }
        Repr::Exn => {
            let h = heap.read_u32(r, off).map_err(gc_error)? as usize;
            if h > store.exn_count() {
                return Err(Error::msg("GC heap: an exnref field holds no exnref"));
            }
            Val::ExnRef(ExnRef::from_raw(store, h))
        }
    })
}

/// Writes `v` (checked with [`check_val`]) into `slot`'s storage at `off`
/// in object `r`.
fn write_slot(store: &mut StoreOpaque, r: u32, slot: &Slot, off: u32, v: &Val) -> Result<()> {
    let any = match v {
        Val::AnyRef(a) => AnyRef::resolve(store, *a)?,
        _ => 0,
    };
    let func = match v {
        Val::FuncRef(Some(f)) => {
            store
                .try_func(f)
                .ok_or_else(|| Error::msg("a function of another store"))?
                .func_ref as u64
        }
        _ => 0,
    };
    let null = matches!(
        v,
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
    );
    let heap = &mut store.gc_store_mut().ok_or_else(no_heap)?.heap;
    match (slot.repr, v) {
        // A null carries no type: any kind fits any nullable field.
        (Repr::Any, _) if null => heap.write_ref(r, off, 0),
        (Repr::Func, _) if null => heap.write_u64(r, off, 0),
        (Repr::Extern | Repr::Exn, _) if null => heap.write_u32(r, off, 0),
        (Repr::I8, Val::I32(x)) => heap.write_bytes(r, off, &[*x as u8]),
        (Repr::I16, Val::I32(x)) => heap.write_bytes(r, off, &(*x as u16).to_le_bytes()),
        (Repr::I32, Val::I32(x)) => heap.write_u32(r, off, *x as u32),
        (Repr::F32, Val::F32(x)) => heap.write_u32(r, off, *x),
        (Repr::I64, Val::I64(x)) => heap.write_u64(r, off, *x as u64),
        (Repr::F64, Val::F64(x)) => heap.write_u64(r, off, *x),
        (Repr::V128, Val::V128(x)) => heap.write_bytes(r, off, &x.to_le_bytes()),
        (Repr::Any, Val::AnyRef(_)) => heap.write_ref(r, off, any),
        (Repr::Func, Val::FuncRef(_)) => heap.write_u64(r, off, func),
        (Repr::Extern, Val::ExternRef(e)) => {
            heap.write_u32(r, off, e.map_or(0, |e| e.to_raw() as u32))
        }
        (Repr::Exn, Val::ExnRef(e)) => heap.write_u32(r, off, e.map_or(0, |e| e.to_raw() as u32)),
        _ => {
            return Err(Error::msg(format!(
                "a {} cannot be stored in a field of type {}",
                v.ty(),
                slot.ty
            )));
        }
    }
    .map_err(gc_error)
}

/// Whether `v` is stored as zero bytes (a fresh object's fields already are).
fn is_zero(v: &Val) -> bool {
    matches!(
        v,
        Val::I32(0)
            | Val::I64(0)
            | Val::F32(0)
            | Val::F64(0)
            | Val::V128(0)
            | Val::FuncRef(None)
            | Val::ExternRef(None)
            | Val::ExnRef(None)
            | Val::AnyRef(None)
    )
}

/// Makes the store's heap if needed, registers type `id`'s layout there,
/// and allocates an object of it (`w1`: an array's length, 0 for a
/// struct). The object is rooted; returns the root and the raw reference.
fn allocate(store: &mut StoreOpaque, id: u32, kind: Kind, w1: u32) -> Result<(AnyRef, u32)> {
    crate::vm::gc_heap::ensure_heap(store)?;
    crate::vm::gc_heap::ensure_layout(store, id)?;
    let r = crate::vm::gc_heap::alloc_raw(store, type_word(id, kind), w1).map_err(gc_error)?;
    let any = AnyRef::from_raw(store, r).ok_or_else(no_heap)?;
    Ok((any, r))
}

fn check_engine(store: &StoreOpaque, engine: &Engine) -> Result<()> {
    if store.engine().same(engine) {
        Ok(())
    } else {
        Err(Error::msg("the type is of another engine than the store"))
    }
}

// ---------------------------------------------------------------------------
// References

mod sealed {
    pub trait Sealed {
        fn any(&self) -> crate::AnyRef;
        fn with_any(a: crate::AnyRef) -> Self;
    }
}

/// A reference type of the `any` hierarchy the host can hold:
/// [`AnyRef`], [`EqRef`], [`StructRef`], [`ArrayRef`]. Implemented for
/// those only; [`OwnedRooted`] takes any of them.
pub trait GcRef: Copy + Send + Sync + std::fmt::Debug + 'static + sealed::Sealed {}

impl sealed::Sealed for AnyRef {
    fn any(&self) -> AnyRef {
        *self
    }
    fn with_any(a: AnyRef) -> AnyRef {
        a
    }
}
impl GcRef for AnyRef {}

macro_rules! view {
    ($t:ident) => {
        impl sealed::Sealed for $t {
            fn any(&self) -> AnyRef {
                self.any
            }
            fn with_any(any: AnyRef) -> $t {
                $t { any }
            }
        }
        impl GcRef for $t {}

        impl $t {
            /// The same reference as an [`AnyRef`].
            pub fn to_anyref(self) -> AnyRef {
                self.any
            }

            /// An owned root of this reference: valid until it (and every
            /// clone) is dropped, across scopes and collections.
            pub fn to_owned_rooted(self, mut store: impl AsContextMut) -> Result<OwnedRooted<$t>> {
                owned_root(&mut store.as_context_mut().0.opaque, self)
            }

            /// A view of `any`, which the caller knows to be of this kind.
            pub(crate) fn from_any_unchecked(any: AnyRef) -> $t {
                $t { any }
            }
        }

        impl From<$t> for AnyRef {
            fn from(r: $t) -> AnyRef {
                r.any
            }
        }

        impl From<$t> for Val {
            fn from(r: $t) -> Val {
                Val::AnyRef(Some(r.any))
            }
        }

        impl From<Option<$t>> for Val {
            fn from(r: Option<$t>) -> Val {
                Val::AnyRef(r.map(|r| r.any))
            }
        }
    };
}

mod anyref;
mod arrayref;
mod eqref;
mod externref;
mod rooting;
mod structref;
mod types;

pub use anyref::{AnyRef, I31};
pub use arrayref::ArrayRef;
pub use eqref::EqRef;
pub use externref::ExternRef;
pub use rooting::{OwnedAnyRef, OwnedRooted, RootScope};
use rooting::{OwnedRoots, owned_root};
pub use structref::StructRef;
pub use types::{ArrayType, FieldType, Mutability, StorageType, StructType};

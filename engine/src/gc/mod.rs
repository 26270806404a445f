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
use nyash_gc::vm::{I31_TAG, Kind, type_word};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::exceptions::ExnRef;
use crate::func::Func;
use crate::store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
use crate::types::{HeapType, ValType};
use crate::values::{AnyRef, ExternRef, I31, Val};
use crate::vm::store_opaque::StoreOpaque;

/// The most fields a struct type may have (WebAssembly's validation limit).
const MAX_STRUCT_FIELDS: usize = 10_000;

// ---------------------------------------------------------------------------
// Types

/// Whether a struct field or an array's elements may be written after the
/// object is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set when the object is made, never written again.
    Const,
    /// Writable (`(mut ...)` in the text format).
    Var,
}

/// What a struct field or an array element stores: a packed integer
/// (`i8`, `i16`) or a value of a [`ValType`]. Concrete reference types are
/// engine ids ([`HeapType::Engine`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// An 8-bit integer, read and written as an `i32`.
    I8,
    /// A 16-bit integer, read and written as an `i32`.
    I16,
    /// A value of this type.
    ValType(ValType),
}

impl StorageType {
    /// The type values of this storage have on the host and on wasm's
    /// stack: `i32` for the packed ones.
    pub fn unpack(&self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::ValType(t) => *t,
        }
    }

    /// Whether this is `i8` or `i16`.
    pub fn is_packed(&self) -> bool {
        matches!(self, StorageType::I8 | StorageType::I16)
    }

    fn to_aot(self) -> AotStorageType {
        match self {
            StorageType::I8 => AotStorageType::I8,
            StorageType::I16 => AotStorageType::I16,
            StorageType::ValType(t) => AotStorageType::Val(t),
        }
    }

    fn from_aot(s: AotStorageType) -> StorageType {
        match s {
            AotStorageType::I8 => StorageType::I8,
            AotStorageType::I16 => StorageType::I16,
            AotStorageType::Val(t) => StorageType::ValType(t),
        }
    }
}

impl std::fmt::Display for StorageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageType::I8 => f.write_str("i8"),
            StorageType::I16 => f.write_str("i16"),
            StorageType::ValType(t) => t.fmt(f),
        }
    }
}

/// A struct field or an array's element type: its storage and mutability.
/// `Display` writes it as the text format does, `(mut i8)` or `i32`.
///
/// ```
/// use nyash_engine::{FieldType, Mutability, StorageType, ValType};
///
/// let f = FieldType::new(Mutability::Var, StorageType::I8);
/// assert_eq!(f.to_string(), "(mut i8)");
/// assert_eq!(f.element_type().unpack(), ValType::I32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    mutability: Mutability,
    element_type: StorageType,
}

impl FieldType {
    /// A field of `element_type`, with `mutability`.
    pub const fn new(mutability: Mutability, element_type: StorageType) -> FieldType {
        FieldType {
            mutability,
            element_type,
        }
    }

    /// Whether the field may be written after the object is made.
    pub const fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// What the field stores.
    pub const fn element_type(&self) -> StorageType {
        self.element_type
    }

    fn to_aot(self) -> AotFieldType {
        AotFieldType {
            storage: self.element_type.to_aot(),
            mutable: self.mutability == Mutability::Var,
        }
    }

    fn from_aot(f: AotFieldType) -> FieldType {
        FieldType {
            mutability: if f.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
            element_type: StorageType::from_aot(f.storage),
        }
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.mutability {
            Mutability::Var => write!(f, "(mut {})", self.element_type),
            Mutability::Const => write!(f, "{}", self.element_type),
        }
    }
}

/// Refuses field types the engine cannot name: module type indices
/// ([`HeapType::Concrete`]) and engine ids it has no type for.
fn check_field_type(engine: &Engine, f: &FieldType) -> Result<()> {
    if let StorageType::ValType(ValType::Ref(r)) = f.element_type {
        match r.heap {
            HeapType::Concrete(i) => {
                return Err(Error::msg(format!(
                    "field type {f} names module type index {i}; the API names defined \
                     types by engine id (HeapType::Engine)"
                )));
            }
            HeapType::Engine(id) if engine.types().get(id).is_none() => {
                return Err(Error::msg(format!(
                    "field type {f} names engine type #{id}, which the engine does not have"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A struct type of an engine: its engine type id and its fields.
///
/// [`StructType::new`] defines one from the host (a final type with no
/// supertype, in a rec group of its own: the same type, with the same id,
/// as a module's `(type (struct ...))` outside `rec` with the same
/// fields); [`StructType::from_type_id`] looks up any struct type the
/// engine has, a module's included. Two `StructType`s are equal when their
/// engine and id are.
///
/// ```
/// use nyash_engine::{Engine, FieldType, Mutability, StorageType, StructType, ValType};
///
/// let engine = Engine::default();
/// let point = StructType::new(&engine, [
///     FieldType::new(Mutability::Var, StorageType::ValType(ValType::I32)),
///     FieldType::new(Mutability::Const, StorageType::I8),
/// ])?;
/// assert_eq!(point.fields().len(), 2);
/// assert_eq!(point.field(1).unwrap().element_type(), StorageType::I8);
/// assert_eq!(StructType::from_type_id(&engine, point.type_id()), Some(point));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct StructType {
    engine: Engine,
    id: u32,
    fields: Arc<[FieldType]>,
}

impl StructType {
    /// Defines a struct type with `fields` in `engine` (or finds the equal
    /// one it has). Fails for more than 10 000 fields, for a field type
    /// that names a type the engine does not have, or if the engine has no
    /// room for more types.
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> Result<StructType> {
        let fields: Arc<[FieldType]> = fields.into_iter().collect();
        if fields.len() > MAX_STRUCT_FIELDS {
            return Err(Error::msg(format!(
                "a struct type has at most {MAX_STRUCT_FIELDS} fields, {} given",
                fields.len()
            )));
        }
        for f in fields.iter() {
            check_field_type(engine, f)?;
        }
        let id = engine
            .types()
            .register_final(CompositeType::Struct(
                fields.iter().map(|f| f.to_aot()).collect(),
            ))
            .map_err(Error::msg)?;
        Ok(StructType {
            engine: engine.clone(),
            id,
            fields,
        })
    }

    /// The struct type with engine id `id`, if `engine` has one.
    pub fn from_type_id(engine: &Engine, id: u32) -> Option<StructType> {
        let fields = match &engine.types().get(id)?.composite {
            CompositeType::Struct(fields) => {
                fields.iter().map(|f| FieldType::from_aot(*f)).collect()
            }
            _ => return None,
        };
        Some(StructType {
            engine: engine.clone(),
            id,
            fields,
        })
    }

    /// The engine-wide type id.
    pub fn type_id(&self) -> u32 {
        self.id
    }

    /// `HeapType::Engine(self.type_id())`: for `(ref $t)` value types.
    pub fn heap_type(&self) -> HeapType {
        HeapType::Engine(self.id)
    }

    /// The engine the type belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The fields, in declaration order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.fields.iter().copied()
    }

    /// Field `index`, if there is one.
    pub fn field(&self, index: usize) -> Option<FieldType> {
        self.fields.get(index).copied()
    }
}

impl PartialEq for StructType {
    fn eq(&self, other: &StructType) -> bool {
        self.engine.same(&other.engine) && self.id == other.id
    }
}

impl Eq for StructType {}

impl std::fmt::Debug for StructType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructType")
            .field("id", &self.id)
            .field("fields", &self.fields)
            .finish()
    }
}

/// An array type of an engine: its engine type id and its element type.
/// [`ArrayType::new`] defines one from the host (final, no supertype, as
/// a module's `(type (array ...))` outside `rec`);
/// [`ArrayType::from_type_id`] looks up any array type the engine has.
///
/// ```
/// use nyash_engine::{ArrayType, Engine, FieldType, Mutability, StorageType};
///
/// let engine = Engine::default();
/// let bytes = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8))?;
/// assert_eq!(bytes.field_type().element_type(), StorageType::I8);
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct ArrayType {
    engine: Engine,
    id: u32,
    field: FieldType,
}

impl ArrayType {
    /// Defines an array type with elements of `field` in `engine` (or
    /// finds the equal one it has). Fails for an element type that names a
    /// type the engine does not have, or if the engine has no room for
    /// more types.
    pub fn new(engine: &Engine, field: FieldType) -> Result<ArrayType> {
        check_field_type(engine, &field)?;
        let id = engine
            .types()
            .register_final(CompositeType::Array(field.to_aot()))
            .map_err(Error::msg)?;
        Ok(ArrayType {
            engine: engine.clone(),
            id,
            field,
        })
    }

    /// The array type with engine id `id`, if `engine` has one.
    pub fn from_type_id(engine: &Engine, id: u32) -> Option<ArrayType> {
        let field = match &engine.types().get(id)?.composite {
            CompositeType::Array(f) => FieldType::from_aot(*f),
            _ => return None,
        };
        Some(ArrayType {
            engine: engine.clone(),
            id,
            field,
        })
    }

    /// The engine-wide type id.
    pub fn type_id(&self) -> u32 {
        self.id
    }

    /// `HeapType::Engine(self.type_id())`: for `(ref $t)` value types.
    pub fn heap_type(&self) -> HeapType {
        HeapType::Engine(self.id)
    }

    /// The engine the type belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The element type.
    pub fn field_type(&self) -> FieldType {
        self.field
    }
}

impl PartialEq for ArrayType {
    fn eq(&self, other: &ArrayType) -> bool {
        self.engine.same(&other.engine) && self.id == other.id
    }
}

impl Eq for ArrayType {}

impl std::fmt::Debug for ArrayType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrayType")
            .field("id", &self.id)
            .field("field", &self.field)
            .finish()
    }
}

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
            AotStorageType::Val(ValType::I32) => Repr::I32,
            AotStorageType::Val(ValType::I64) => Repr::I64,
            AotStorageType::Val(ValType::F32) => Repr::F32,
            AotStorageType::Val(ValType::F64) => Repr::F64,
            AotStorageType::Val(ValType::V128) => Repr::V128,
            AotStorageType::Val(ValType::Ref(r)) => match gc_layout::ref_top(r.heap, &hierarchy) {
                HeapType::Any => Repr::Any,
                HeapType::Extern => Repr::Extern,
                HeapType::Exn => Repr::Exn,
                _ => Repr::Func,
            },
        };
        let (size, traced) = gc_layout::storage(f.storage, &hierarchy);
        if size != repr.size() || traced != (repr == Repr::Any) {
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

/// The store's host-side GC state (in `gc::GcStore`): owned roots, and the
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

/// A reference to a struct object (`(ref struct)`, or any `(ref $t)` of a
/// struct type): a typed view of an object [`AnyRef`], rooted as that
/// reference is (see [`AnyRef`]). Made by [`StructRef::new`], or from an
/// `AnyRef` with [`AnyRef::as_struct`]; typed functions take and return
/// it as `structref` ([`WasmTy`](crate::WasmTy)).
///
/// Fields are read and written checked: the field index, the value's type
/// (subtyping included), mutability. A packed field (`i8`, `i16`) reads
/// as an `i32` **zero-extended** (as `struct.get_u`; sign-extend with
/// `as i8`/`as i16`), and a write keeps the value's low bits (as
/// `struct.set`).
///
/// ```
/// use nyash_engine::*;
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = StructType::new(&engine, [
///     FieldType::new(Mutability::Var, StorageType::ValType(ValType::I32)),
///     FieldType::new(Mutability::Const, StorageType::I8),
/// ])?;
/// let s = StructRef::new(&mut store, &ty, &[Val::I32(7), Val::I32(-1)])?;
/// assert_eq!(s.field(&mut store, 0)?, Val::I32(7));
/// assert_eq!(s.field(&mut store, 1)?, Val::I32(255)); // zero-extended
/// s.set_field(&mut store, 0, Val::I32(8))?;
/// assert_eq!(s.field(&mut store, 0)?, Val::I32(8));
/// assert!(s.set_field(&mut store, 1, Val::I32(0)).is_err()); // immutable
/// assert!(s.set_field(&mut store, 0, Val::I64(0)).is_err()); // wrong type
/// assert!(s.field(&mut store, 2).is_err()); // no such field
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StructRef {
    any: AnyRef,
}

view!(StructRef);

impl StructRef {
    /// Allocates a struct of type `ty` with `fields` (one value per
    /// field, each of the field's type; a packed field takes an `i32`).
    /// Makes the store's GC heap if it has none, which fails while a wasm
    /// call is in progress. Collects as needed: every reference the host
    /// holds stays valid. Fails for a type of another engine, values that
    /// do not fit, or a full heap.
    pub fn new(mut store: impl AsContextMut, ty: &StructType, fields: &[Val]) -> Result<StructRef> {
        let store = &mut store.as_context_mut().0.opaque;
        check_engine(store, &ty.engine)?;
        if fields.len() != ty.fields.len() {
            return Err(Error::msg(format!(
                "the struct type has {} fields, {} values given",
                ty.fields.len(),
                fields.len()
            )));
        }
        for (i, (f, v)) in ty.fields.iter().zip(fields).enumerate() {
            check_val(store, f, v).map_err(|e| e.context(format!("field {i}")))?;
        }
        let (any, r) = allocate(store, ty.id, Kind::Struct, 0)?;
        let layout = layout_of(store, ty.id)?;
        let Layout::Struct(slots) = &*layout else {
            return Err(Error::msg("not a struct type"));
        };
        // References among the values are roots: the allocation updated
        // them if it moved their objects.
        for (slot, v) in slots.iter().zip(fields) {
            write_slot(store, r, slot, slot.offset, v)?;
        }
        Ok(StructRef { any })
    }

    /// The struct's type.
    pub fn ty(&self, store: impl AsContext) -> Result<StructType> {
        let store = &store.as_context().0.opaque;
        let (_, id) = object(store, self.any, Kind::Struct, "a struct")?;
        StructType::from_type_id(store.engine(), id)
            .ok_or_else(|| Error::msg(format!("engine type #{id} is not a struct type")))
    }

    /// The slot of field `index` of this struct, and the raw reference.
    fn slot(&self, store: &mut StoreOpaque, index: usize) -> Result<(u32, Slot)> {
        let (r, id) = object(store, self.any, Kind::Struct, "a struct")?;
        let layout = layout_of(store, id)?;
        let Layout::Struct(slots) = &*layout else {
            return Err(Error::msg(format!(
                "engine type #{id} is not a struct type"
            )));
        };
        let slot = slots.get(index).ok_or_else(|| {
            Error::msg(format!(
                "field index {index} out of bounds: the struct has {} fields",
                slots.len()
            ))
        })?;
        Ok((r, *slot))
    }

    /// The value of field `index` (a packed field zero-extended to an
    /// `i32`). A reference of the `any` hierarchy read gets a root.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let (r, slot) = self.slot(store, index)?;
        read_slot(store, r, &slot, slot.offset)
    }

    /// Every field's value, in order (see [`StructRef::field`]).
    pub fn fields(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let mut store = store.as_context_mut();
        let n = self.ty(&store)?.fields.len();
        (0..n).map(|i| self.field(&mut store, i)).collect()
    }

    /// Writes `value` into field `index`. Fails if the field is immutable
    /// or `value` is not of its type (a packed field takes an `i32` and
    /// keeps its low bits).
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (r, slot) = self.slot(store, index)?;
        if slot.ty.mutability == Mutability::Const {
            return Err(Error::msg(format!("field {index} is immutable")));
        }
        check_val(store, &slot.ty, &value).map_err(|e| e.context(format!("field {index}")))?;
        write_slot(store, r, &slot, slot.offset, &value)
    }

    /// The same reference as an [`EqRef`].
    pub fn to_eqref(self) -> EqRef {
        EqRef { any: self.any }
    }
}

/// A reference to an array object (`(ref array)`, or any `(ref $t)` of an
/// array type): a typed view of an object [`AnyRef`], rooted as that
/// reference is. Made by [`ArrayRef::new`] or [`ArrayRef::new_fixed`], or
/// from an `AnyRef` with [`AnyRef::as_array`]; typed functions take and
/// return it as `arrayref`.
///
/// Elements are read and written checked: the index against the length
/// (an error, never a panic or a trap), the value's type, mutability.
/// Packed elements read zero-extended, as [`StructRef`]'s fields do.
///
/// ```
/// use nyash_engine::*;
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::ValType(ValType::I64)))?;
/// let a = ArrayRef::new(&mut store, &ty, &Val::I64(3), 4)?;
/// a.set(&mut store, 1, Val::I64(5))?;
/// assert_eq!(a.len(&store)?, 4);
/// assert_eq!(a.get(&mut store, 1)?, Val::I64(5));
/// assert_eq!(a.get(&mut store, 3)?, Val::I64(3));
/// assert!(a.get(&mut store, 4).is_err());
/// let b = ArrayRef::new_fixed(&mut store, &ty, &[Val::I64(1), Val::I64(2)])?;
/// assert_eq!(b.elems(&mut store)?, [Val::I64(1), Val::I64(2)]);
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayRef {
    any: AnyRef,
}

view!(ArrayRef);

impl ArrayRef {
    fn check_new(store: &StoreOpaque, ty: &ArrayType, elems: &[Val]) -> Result<()> {
        check_engine(store, &ty.engine)?;
        for (i, v) in elems.iter().enumerate() {
            check_val(store, &ty.field, v).map_err(|e| e.context(format!("element {i}")))?;
        }
        Ok(())
    }

    fn elem_slot(store: &mut StoreOpaque, id: u32) -> Result<Slot> {
        match &*layout_of(store, id)? {
            Layout::Array(slot) => Ok(*slot),
            Layout::Struct(_) => Err(Error::msg(format!(
                "engine type #{id} is not an array type"
            ))),
        }
    }

    /// Allocates an array of type `ty` with `len` elements, each `init`
    /// (of the element type; an `i32` for packed elements). Makes the
    /// store's GC heap if it has none (not while a wasm call is in
    /// progress) and collects as needed. Fails for a type of another
    /// engine, a value that does not fit, an array too large (2 GiB at
    /// most) or a full heap.
    pub fn new(
        mut store: impl AsContextMut,
        ty: &ArrayType,
        init: &Val,
        len: u32,
    ) -> Result<ArrayRef> {
        let store = &mut store.as_context_mut().0.opaque;
        ArrayRef::check_new(store, ty, std::slice::from_ref(init))?;
        let (any, r) = allocate(store, ty.id, Kind::Array, len)?;
        let slot = ArrayRef::elem_slot(store, ty.id)?;
        if len > 0 && !is_zero(init) {
            // Element 0, then copies doubling what is filled.
            write_slot(store, r, &slot, slot.offset, init)?;
            let size = u64::from(slot.repr.size());
            let total = u64::from(len) * size;
            let heap = &mut store.gc_store_mut().ok_or_else(no_heap)?.heap;
            let mut done = size;
            while done < total {
                let n = done.min(total - done);
                // Objects are at most 2 GiB: these fit in a u32.
                heap.copy_within(
                    r,
                    slot.offset + done as u32,
                    r,
                    slot.offset,
                    n as u32,
                    slot.repr == Repr::Any,
                )
                .map_err(gc_error)?;
                done += n;
            }
        }
        Ok(ArrayRef { any })
    }

    /// Allocates an array of type `ty` holding `elems` (see
    /// [`ArrayRef::new`]).
    pub fn new_fixed(
        mut store: impl AsContextMut,
        ty: &ArrayType,
        elems: &[Val],
    ) -> Result<ArrayRef> {
        let store = &mut store.as_context_mut().0.opaque;
        ArrayRef::check_new(store, ty, elems)?;
        let len = u32::try_from(elems.len()).map_err(|_| Error::msg("too many array elements"))?;
        let (any, r) = allocate(store, ty.id, Kind::Array, len)?;
        let slot = ArrayRef::elem_slot(store, ty.id)?;
        let size = slot.repr.size();
        for (i, v) in elems.iter().enumerate() {
            // Inside the object (its size was checked when it was made).
            write_slot(store, r, &slot, slot.offset + i as u32 * size, v)?;
        }
        Ok(ArrayRef { any })
    }

    /// The array's type.
    pub fn ty(&self, store: impl AsContext) -> Result<ArrayType> {
        let store = &store.as_context().0.opaque;
        let (_, id) = object(store, self.any, Kind::Array, "an array")?;
        ArrayType::from_type_id(store.engine(), id)
            .ok_or_else(|| Error::msg(format!("engine type #{id} is not an array type")))
    }

    /// The number of elements.
    pub fn len(&self, store: impl AsContext) -> Result<u32> {
        let store = &store.as_context().0.opaque;
        let (r, _) = object(store, self.any, Kind::Array, "an array")?;
        let heap = &store.gc_store().ok_or_else(no_heap)?.heap;
        heap.array_len(r).map_err(gc_error)
    }

    /// The raw reference, element `index`'s slot and its offset; an error
    /// if `index` is out of bounds.
    fn elem(&self, store: &mut StoreOpaque, index: u32) -> Result<(u32, Slot, u32)> {
        let (r, id) = object(store, self.any, Kind::Array, "an array")?;
        let len = store
            .gc_store()
            .ok_or_else(no_heap)?
            .heap
            .array_len(r)
            .map_err(gc_error)?;
        if index >= len {
            return Err(Error::msg(format!(
                "array index {index} out of bounds (length {len})"
            )));
        }
        let slot = ArrayRef::elem_slot(store, id)?;
        // index < len, and the object (at most 2 GiB) holds len elements.
        let off = u64::from(slot.offset) + u64::from(index) * u64::from(slot.repr.size());
        let off = u32::try_from(off).map_err(|_| Error::msg("array element out of range"))?;
        Ok((r, slot, off))
    }

    /// Element `index` (packed elements zero-extended to an `i32`). A
    /// reference of the `any` hierarchy read gets a root.
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let (r, slot, off) = self.elem(store, index)?;
        read_slot(store, r, &slot, off)
    }

    /// Every element, in order (see [`ArrayRef::get`]).
    pub fn elems(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let mut store = store.as_context_mut();
        let len = self.len(&store)?;
        (0..len).map(|i| self.get(&mut store, i)).collect()
    }

    /// Writes `value` into element `index`. Fails if the index is out of
    /// bounds, the elements are immutable, or `value` is not of the
    /// element type.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (r, slot, off) = self.elem(store, index)?;
        if slot.ty.mutability == Mutability::Const {
            return Err(Error::msg("the array's elements are immutable"));
        }
        check_val(store, &slot.ty, &value).map_err(|e| e.context(format!("element {index}")))?;
        write_slot(store, r, &slot, off, &value)
    }

    /// The same reference as an [`EqRef`].
    pub fn to_eqref(self) -> EqRef {
        EqRef { any: self.any }
    }
}

/// A reference of type `(ref eq)`: an `i31`, a struct or an array (not an
/// extern object). A typed view of an [`AnyRef`]; typed functions take and
/// return it as `eqref`.
///
/// ```
/// use nyash_engine::{EqRef, I31};
///
/// let e = EqRef::from_i31(I31::new_i32(-3));
/// assert_eq!(e.as_i31(), Some(I31::new_i32(-3)));
/// assert_eq!(e.to_anyref().as_i31(), Some(I31::new_i32(-3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EqRef {
    any: AnyRef,
}

view!(EqRef);

impl EqRef {
    /// The `i31ref` of `value`.
    pub const fn from_i31(value: I31) -> EqRef {
        EqRef {
            any: AnyRef::from_i31(value),
        }
    }

    /// The `i31` value, if this is an `i31ref`.
    pub const fn as_i31(&self) -> Option<I31> {
        self.any.as_i31()
    }

    /// This reference as a [`StructRef`], if it is a struct.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<StructRef>> {
        self.any.as_struct(store)
    }

    /// This reference as an [`ArrayRef`], if it is an array.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<ArrayRef>> {
        self.any.as_array(store)
    }

    /// Whether `self` and `other` are the same reference (`ref.eq`).
    pub fn ref_eq(&self, store: impl AsContext, other: &EqRef) -> Result<bool> {
        self.any.ref_eq(store, &other.any)
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

// ---------------------------------------------------------------------------
// Rooting

/// A scope for roots: every [`AnyRef`] (and typed view) made through it —
/// call results, field reads, allocations — ends when the scope is
/// dropped, also when it is left with an error by `?`. Using one after
/// that is an error. It is a store context ([`AsContextMut`]), so pass it
/// (`&mut scope`) wherever the API takes a store. Scopes nest; roots made
/// before a scope began outlive it.
///
/// Without a scope, a root made at top level lives as long as the store;
/// one handed to a host function called from wasm, or made while it runs,
/// already ends when that host function returns (a host function needs a
/// scope only for loops that make many roots). To keep a reference beyond a scope, make
/// an [`OwnedRooted`] of it.
///
/// ```
/// use nyash_engine::*;
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8))?;
/// let mut scope = RootScope::new(&mut store);
/// let a = ArrayRef::new(&mut scope, &ty, &Val::I32(1), 10)?;
/// assert_eq!(a.len(&scope)?, 10);
/// drop(scope);
/// assert!(a.len(&store).is_err()); // the root ended with the scope
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub struct RootScope<C: AsContextMut> {
    store: C,
    /// How many host roots there were when the scope began.
    base: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope on `store` (a `&mut Store`, a `&mut Caller`, a
    /// `StoreContextMut`, another scope).
    pub fn new(mut store: C) -> RootScope<C> {
        let base = store
            .as_context_mut()
            .0
            .opaque
            .gc_store()
            .map_or(0, |g| g.roots.len());
        RootScope { store, base }
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        if let Some(g) = self.store.as_context_mut().0.opaque.gc_store_mut() {
            g.roots.truncate(self.base);
        }
    }
}

impl<C: AsContextMut> std::fmt::Debug for RootScope<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootScope")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl<T> Store<T> {
    /// Runs `f` in a [`RootScope`]: the roots made in it end when it
    /// returns, whether with `Ok` or with an error through `?`.
    ///
    /// ```
    /// use nyash_engine::*;
    ///
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let ty = StructType::new(&engine, [FieldType::new(Mutability::Var, StorageType::I16)])?;
    /// let sum = store.gc_scope(|scope| -> Result<i32> {
    ///     let mut sum = 0;
    ///     for i in 0..100 {
    ///         let s = StructRef::new(&mut *scope, &ty, &[Val::I32(i)])?;
    ///         sum += s.field(&mut *scope, 0)?.i32().unwrap();
    ///     }
    ///     Ok(sum)
    /// })?;
    /// assert_eq!(sum, 4950);
    /// # Ok::<(), nyash_engine::Error>(())
    /// ```
    pub fn gc_scope<R>(&mut self, f: impl FnOnce(&mut RootScope<&mut Store<T>>) -> R) -> R {
        let mut scope = RootScope::new(self);
        f(&mut scope)
    }

    /// Bytes the store's GC heap holds in objects (nursery and old space),
    /// 0 without a heap. Right after [`Store::gc`] this is the live data.
    pub fn gc_heap_bytes(&self) -> u64 {
        self.inner.opaque.gc_store().map_or(0, |g| {
            let (young, old) = g.heap.used_bytes();
            young + old
        })
    }
}

/// The store's owned roots: slots shared with the [`OwnedRooted`]s, which
/// the collector updates; a slot only the store holds is dead, trimmed
/// before each collection and when slots pile up.
#[derive(Default)]
struct OwnedRoots {
    /// `(value, generation)`, `None` for a free slot.
    slots: Vec<Option<(Arc<AtomicU32>, u32)>>,
    free: Vec<u32>,
    next_generation: u32,
    /// Slots alive after the last trim.
    live_at_trim: usize,
}

impl OwnedRoots {
    fn add(&mut self, raw: u32) -> (u32, u32, Arc<AtomicU32>) {
        if self.free.is_empty() && self.slots.len() >= (2 * self.live_at_trim).max(64) {
            self.trim();
        }
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let generation = self.next_generation;
        let value = Arc::new(AtomicU32::new(raw));
        let entry = Some((value.clone(), generation));
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = entry;
                i
            }
            None => {
                self.slots.push(entry);
                self.slots.len() as u32 - 1
            }
        };
        (index, generation, value)
    }

    fn trim(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.as_ref().is_some_and(|(v, _)| Arc::strong_count(v) == 1) {
                *s = None;
                self.free.push(i as u32);
            }
        }
        self.live_at_trim = self.slots.len() - self.free.len();
    }

    fn get(&self, index: u32, generation: u32) -> Option<u32> {
        match self.slots.get(index as usize)? {
            Some((v, g)) if *g == generation && Arc::strong_count(v) > 1 => {
                Some(v.load(Ordering::Relaxed))
            }
            _ => None,
        }
    }
}

/// An owned root of a GC reference ([`AnyRef`], [`StructRef`],
/// [`ArrayRef`], [`EqRef`]): it keeps its object alive, across
/// [`RootScope`]s and collections, until it and every clone of it are
/// dropped. Dropping needs no store (it can happen on any thread); the
/// store notices before its next collection. [`OwnedAnyRef`] is the
/// `AnyRef` one.
///
/// [`OwnedRooted::get`] gives the reference as a `Copy` handle that makes
/// no root of its own and stays valid as long as the owned root lives.
pub struct OwnedRooted<T: GcRef> {
    handle: T,
    /// The slot the store updates (`None` for an `i31`, which needs none).
    _live: Option<Arc<AtomicU32>>,
}

/// An owned root of an [`AnyRef`].
pub type OwnedAnyRef = OwnedRooted<AnyRef>;

impl<T: GcRef> OwnedRooted<T> {
    /// The reference: valid while this owned root (or a clone) lives.
    pub fn get(&self) -> T {
        self.handle
    }
}

impl<T: GcRef> Clone for OwnedRooted<T> {
    fn clone(&self) -> Self {
        OwnedRooted {
            handle: self.handle,
            _live: self._live.clone(),
        }
    }
}

impl<T: GcRef> std::fmt::Debug for OwnedRooted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OwnedRooted").field(&self.handle).finish()
    }
}

fn owned_root<T: GcRef>(store: &mut StoreOpaque, r: T) -> Result<OwnedRooted<T>> {
    let raw = AnyRef::resolve(store, Some(r.any()))?;
    if raw & I31_TAG != 0 {
        return Ok(OwnedRooted {
            handle: r,
            _live: None,
        });
    }
    let id = store.id();
    let gc = store.gc_store_mut().ok_or_else(no_heap)?;
    let (index, generation, value) = gc.host.owned.add(raw);
    Ok(OwnedRooted {
        handle: T::with_any(AnyRef::owned(id, index, generation)),
        _live: Some(value),
    })
}

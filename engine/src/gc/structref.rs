//! `StructRef`: the typed view of a struct object.

use super::*;

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
    pub(super) any: AnyRef,
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

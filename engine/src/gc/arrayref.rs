//! `ArrayRef`: the typed view of an array object.

use super::*;

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
    pub(super) any: AnyRef,
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

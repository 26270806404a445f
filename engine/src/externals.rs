//! Memories, tables and globals as the host sees them, and `Extern`.

use crate::error::{Error, Result};
use crate::func::Func;
use crate::store::{AsContext, AsContextMut};
use crate::types::{ExternType, GlobalType, MemoryType, TableType, ValType};
use crate::values::Val;
use crate::vm::memory::LinearMemory;
use crate::vm::store_opaque::{GlobalData, StoreOpaque};
use crate::vm::table::Table as TableStorage;
use crate::vm::vmcontext::VMGlobalDefinition;

/// An external value: what an import takes and an export gives. Each
/// handle converts into it with `From`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(crate::exceptions::Tag),
}

impl Extern {
    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<crate::exceptions::Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    /// The value's type; for memories and tables, with their current size
    /// as the minimum. Panics if `store` is not the value's store.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(&store)),
            Extern::Table(t) => ExternType::Table(t.ty(&store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(&store)),
            Extern::Global(g) => ExternType::Global(g.ty(&store)),
            Extern::Tag(t) => ExternType::Tag(t.ty(&store)),
        }
    }
}

impl From<crate::exceptions::Tag> for Extern {
    fn from(t: crate::exceptions::Tag) -> Extern {
        Extern::Tag(t)
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

/// A linear memory: a handle into the store that owns it (`Copy`; using it
/// with another store panics). Sizes are in 64 KiB pages, offsets in bytes.
///
/// A 32-bit memory reserves its whole addressable range up front, so its
/// base never moves; still, a slice from [`Memory::data`] borrows the store,
/// so it cannot be held across a call into wasm.
///
/// ```
/// use nyash_engine::{Engine, Limits, Memory, MemoryType, Store};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = MemoryType { limits: Limits { min: 1, max: Some(2) }, memory64: false, shared: false, page_size_log2: None };
/// let memory = Memory::new(&mut store, ty)?;
/// memory.write(&mut store, 100, b"abc")?;
/// assert_eq!(&memory.data(&store)[100..103], b"abc");
/// assert_eq!(memory.grow(&mut store, 1)?, 1); // the old size
/// assert_eq!(memory.data(&store).len(), 2 * 65536);
/// assert!(memory.grow(&mut store, 1).is_err()); // beyond the maximum
/// assert!(memory.write(&mut store, 2 * 65536 - 1, b"ab").is_err());
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory of type `ty` in `store`, zero-filled, for the host to
    /// give to a module as an import. Fails if its minimum exceeds the
    /// maximum, [`Config::max_memory_pages`](crate::Config::max_memory_pages)
    /// or what its address type can address, if its page size is neither
    /// 64 KiB nor 1 byte, if it is a shared memory (not supported yet), or
    /// if the address space cannot be reserved.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = &mut store.as_context_mut().0.opaque;
        new_memory(store, ty.to_aot())
    }

    fn get<'a>(&self, store: &'a StoreOpaque) -> &'a LinearMemory {
        store.memory(self)
    }

    /// The memory's type, with its current size (in pages) as the minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let m = self.get(&store.as_context().0.opaque);
        let mut ty = MemoryType::from_aot(m.ty);
        ty.limits.min = m.pages();
        ty
    }

    /// Current size in pages (64 KiB, or the memory's custom page size).
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.get(&store.as_context().0.opaque).pages()
    }

    /// The memory's bytes (its current size, `size * 65536` bytes).
    pub fn data<'a, T: 'a>(&self, store: impl Into<crate::store::StoreContext<'a, T>>) -> &'a [u8] {
        let store = store.into().0;
        self.get(&store.opaque).data()
    }

    /// The memory's bytes and the store's data, both mutable (host functions
    /// that read and write guest memory while updating their own state).
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        (store.opaque.memory_mut(self).data_mut(), &mut store.data)
    }

    /// The memory's bytes, mutable.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        let store = store.into().0;
        store.opaque.memory_mut(self).data_mut()
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`; fails (copying
    /// nothing) if the range is out of bounds.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        let data = self.get(&store.as_context().0.opaque).data();
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| Error::msg("out of bounds memory access"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buf` to `offset`; fails (copying nothing) if the range is
    /// out of bounds.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let data = store.memory_mut(self).data_mut();
        let dst = offset
            .checked_add(buf.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or_else(|| Error::msg("out of bounds memory access"))?;
        dst.copy_from_slice(buf);
        Ok(())
    }

    /// Grows by `delta` pages (zero-filled); returns the old size in pages.
    /// Fails if that would pass the memory's maximum or
    /// [`Config::max_memory_pages`](crate::Config::max_memory_pages).
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = &mut store.as_context_mut().0.opaque;
        store
            .memory_mut(self)
            .grow(delta)
            .ok_or_else(|| Error::msg("failed to grow memory"))
    }
}

impl<'a, T> From<&'a crate::Store<T>> for crate::store::StoreContext<'a, T> {
    fn from(s: &'a crate::Store<T>) -> Self {
        crate::store::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::store::StoreContext<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::store::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::store::StoreContextMut<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::store::StoreContextMut(&mut s.inner)
    }
}
impl<'a, T> From<&'a crate::Caller<'_, T>> for crate::store::StoreContext<'a, T> {
    fn from(c: &'a crate::Caller<'_, T>) -> Self {
        crate::store::StoreContext(c.store)
    }
}
impl<'a, T> From<&'a mut crate::Caller<'_, T>> for crate::store::StoreContextMut<'a, T> {
    fn from(c: &'a mut crate::Caller<'_, T>) -> Self {
        crate::store::StoreContextMut(c.store)
    }
}

/// A new memory of type `ty` in `store`.
pub(crate) fn new_memory(
    store: &mut StoreOpaque,
    ty: nyash_aot::module::MemoryType,
) -> Result<Memory> {
    let engine = store.engine();
    let limit = engine.config().max_memory_pages;
    let m = LinearMemory::new(ty, limit, Some(&engine.inner.memories))
        .map_err(|e| Error::new(crate::ErrorKind::Instantiation(e)))?;
    Ok(store.push_memory(m))
}

/// A table of references (`funcref` or `externref`): a handle into the
/// store that owns it (`Copy`; using it with another store panics). Sizes
/// and indices are in elements.
///
/// ```
/// use nyash_engine::{Engine, Limits, Store, Table, TableType, Val, ValType};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = TableType { element: ValType::ExternRef, limits: Limits { min: 2, max: None }, table64: false };
/// let table = Table::new(&mut store, ty, Val::ExternRef(None))?;
/// assert_eq!(table.grow(&mut store, 3, Val::ExternRef(None))?, 2);
/// assert_eq!(table.size(&store), 5);
/// assert_eq!(table.get(&mut store, 4), Some(Val::ExternRef(None)));
/// assert_eq!(table.get(&mut store, 5), None);
/// assert!(table.set(&mut store, 0, Val::I32(1)).is_err()); // not a reference
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Table {
    /// A new table of type `ty` in `store`, every element `init`. Fails if
    /// `init` is not of the element type or the table would be too large.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = &mut store.as_context_mut().0.opaque;
        check_engine_form(store, ty.element)?;
        check_ref(store, &init, ty.element)?;
        let raw = init.to_raw(store);
        // SAFETY: reading the ref field of a value made from a reference.
        let t = TableStorage::new(ty.to_aot(), unsafe { raw.r#ref })
            .map_err(|e| Error::new(crate::ErrorKind::Instantiation(e)))?;
        Ok(store.push_table(t))
    }

    /// The table's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let store = &store.as_context().0.opaque;
        let t = store.table(self);
        let mut ty = TableType::from_aot(t.ty);
        ty.limits.min = t.len();
        ty
    }

    /// The current size, in elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let store = &store.as_context().0.opaque;
        store.table(self).len()
    }

    /// Element `index`; `None` if it is out of bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let t = store.table(self);
        let raw = t.get(index)?;
        let ty = ValType::from_aot(t.ty.element);
        // SAFETY: table elements are raw references of the table's element type.
        Some(unsafe { Val::from_raw(store, crate::vm::vmcontext::ValRaw { r#ref: raw }, ty) })
    }

    /// Sets element `index`. Fails if `val` is not of the element type, or
    /// with [`TrapCode::TableOutOfBounds`](crate::TrapCode::TableOutOfBounds)
    /// if `index` is out of bounds.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        check_ref(store, &val, ValType::from_aot(store.table(self).ty.element))?;
        // SAFETY: reading the ref field of a value made from a reference.
        let raw = unsafe { val.to_raw(store).r#ref };
        if store.table_mut(self).set(index, raw) {
            Ok(())
        } else {
            Err(Error::from(crate::TrapCode::TableOutOfBounds))
        }
    }

    /// Grows by `delta` elements set to `init`; returns the old size. Fails
    /// if `init` is not of the element type or the table cannot grow that far.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let store = &mut store.as_context_mut().0.opaque;
        check_ref(
            store,
            &init,
            ValType::from_aot(store.table(self).ty.element),
        )?;
        // SAFETY: reading the ref field of a value made from a reference.
        let raw = unsafe { init.to_raw(store).r#ref };
        store
            .table_mut(self)
            .grow(delta, raw)
            .ok_or_else(|| Error::msg("failed to grow table"))
    }
}

fn check_ref(store: &StoreOpaque, v: &Val, element: ValType) -> Result<()> {
    v.check_ty(store, element)
        .map_err(|why| Error::msg(format!("value does not fit a table of {element}: {why}")))
}

/// A defined type given to the API ([`HeapType::Engine`](crate::HeapType::Engine))
/// must be one the engine has.
pub(crate) fn check_engine_form(store: &StoreOpaque, ty: ValType) -> Result<()> {
    match ty.as_ref().map(|r| r.heap) {
        Some(crate::HeapType::Engine(id)) if store.engine().types().get(id).is_none() => Err(
            Error::msg(format!("type {ty}: the engine has no type of id {id}")),
        ),
        _ => Ok(()),
    }
}

/// A global variable: a handle into the store that owns it (`Copy`; using
/// it with another store panics).
///
/// ```
/// use nyash_engine::{Engine, Global, GlobalType, Store, Val, ValType};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = GlobalType { content: ValType::I64, mutable: true };
/// let counter = Global::new(&mut store, ty, Val::I64(1))?;
/// counter.set(&mut store, Val::I64(2))?;
/// assert_eq!(counter.get(&mut store), Val::I64(2));
/// assert!(counter.set(&mut store, Val::I32(3)).is_err()); // wrong type
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Global {
    /// A new global of type `ty` in `store`, holding `val`. Fails if `val`
    /// is not of the global's value type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        check_engine_form(store, ty.content)?;
        val.check_ty(store, ty.content).map_err(|why| {
            Error::msg(format!(
                "global of type {} initialised with another type: {why}",
                ty.content
            ))
        })?;
        let mut owned = Box::new(VMGlobalDefinition::from_raw(val.to_raw(store)));
        let def: *mut VMGlobalDefinition = &mut *owned;
        Ok(store.push_global(GlobalData {
            ty: ty.to_aot(),
            def,
            _owned: Some(owned),
        }))
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let store = &store.as_context().0.opaque;
        GlobalType::from_aot(store.global(self).ty)
    }

    /// The global's value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        let g = store.global(self);
        let ty = ValType::from_aot(g.ty.content);
        // SAFETY: `def` points at live storage of this global.
        let raw = unsafe { (*g.def).to_raw() };
        // SAFETY: the storage holds a value of the global's type.
        unsafe { Val::from_raw(store, raw, ty) }
    }

    /// Sets the global's value. Fails if the global is immutable or `val`
    /// is not of its value type.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let g = store.global(self);
        if !g.ty.mutable {
            return Err(Error::msg("cannot set an immutable global"));
        }
        let content = ValType::from_aot(g.ty.content);
        val.check_ty(store, content).map_err(|why| {
            Error::msg(format!(
                "global of type {content} set to another type: {why}"
            ))
        })?;
        let def = g.def;
        let raw = val.to_raw(store);
        // SAFETY: `def` points at live storage of this global.
        unsafe { *def = VMGlobalDefinition::from_raw(raw) };
        Ok(())
    }
}

/// The type of an external value, with its current limits.
pub(crate) fn type_in(store: &StoreOpaque, e: &Extern) -> ExternType {
    match e {
        Extern::Func(f) => ExternType::Func(store.engine().type_of(store.func(f).type_id)),
        Extern::Memory(m) => {
            let mem = m.get(store);
            let mut ty = MemoryType::from_aot(mem.ty);
            ty.limits.min = mem.pages();
            ExternType::Memory(ty)
        }
        Extern::Table(t) => {
            let table = store.table(t);
            let mut ty = TableType::from_aot(table.ty);
            ty.limits.min = table.len();
            ExternType::Table(ty)
        }
        Extern::Global(g) => ExternType::Global(GlobalType::from_aot(store.global(g).ty)),
        Extern::Tag(t) => ExternType::Tag(store.tag(t).ty.clone()),
    }
}

//! How long a root lives: `RootScope` (scoped) and `OwnedRooted` (owned,
//! dropped without the store), with the store's owned-root slots.

use super::*;

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

/// The store's owned roots: slots shared with the [`OwnedRooted`]s, which
/// the collector updates; a slot only the store holds is dead, trimmed
/// before each collection and when slots pile up.
#[derive(Default)]
pub(super) struct OwnedRoots {
    /// `(value, generation)`, `None` for a free slot.
    pub(super) slots: Vec<Option<(Arc<AtomicU32>, u32)>>,
    pub(super) free: Vec<u32>,
    pub(super) next_generation: u32,
    /// Slots alive after the last trim.
    pub(super) live_at_trim: usize,
}

impl OwnedRoots {
    pub(super) fn add(&mut self, raw: u32) -> (u32, u32, Arc<AtomicU32>) {
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

    pub(super) fn trim(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.as_ref().is_some_and(|(v, _)| Arc::strong_count(v) == 1) {
                *s = None;
                self.free.push(i as u32);
            }
        }
        self.live_at_trim = self.slots.len() - self.free.len();
    }

    pub(super) fn get(&self, index: u32, generation: u32) -> Option<u32> {
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

pub(super) fn owned_root<T: GcRef>(store: &mut StoreOpaque, r: T) -> Result<OwnedRooted<T>> {
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

//! `Store<T>`: owns every instance, memory, table, global and function
//! created in it, plus the embedder's data `T`. Handles (`Func`, `Memory`, ...)
//! are indices into a store and are only valid with the store that made them.

use crate::engine::Engine;
use crate::gc::RootScope;
use crate::vm::store_opaque::{EpochBehavior, StoreInner, StoreOpaque};

/// A collection of WebAssembly instances and host state `T`.
///
/// A store owns every instance, memory, table, global and function created
/// in it; they live as long as the store (there is no collection of
/// individual instances). Handles such as [`Func`](crate::Func) or
/// [`Memory`](crate::Memory) are indices into one store: using one with
/// another store panics. `T` is the embedder's own data, which host
/// functions reach through [`Caller::data`](crate::Caller::data).
///
/// ```
/// use nyash_engine::{Engine, Store};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, 0u32);
/// *store.data_mut() += 1;
/// assert_eq!(*store.data(), 1);
/// assert_eq!(store.into_data(), 1);
/// ```
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> Store<T> {
    /// An empty store of `engine`'s, holding `data`. It starts with no fuel
    /// (with [`Config::consume_fuel`](crate::Config::consume_fuel) on, call
    /// [`Store::set_fuel`] before calling wasm) and no epoch deadline.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut inner = Box::new(StoreInner {
            opaque: StoreOpaque::new(engine),
            data,
        });
        let ptr: *mut StoreInner<T> = &mut *inner;
        inner.opaque.vmstore_mut().store = ptr.cast();
        Store { inner }
    }

    /// Runs a full garbage collection of the store's GC heap: every object
    /// not reachable from wasm frames, globals, tables, element segments,
    /// exceptions or the host's roots is freed, cycles included, and the
    /// live ones move. Nothing to do if the store has no heap. An error
    /// only if the heap was found corrupt (an engine bug).
    pub fn gc(&mut self) -> crate::Result<()> {
        crate::vm::gc_heap::full_collection(&mut self.inner.opaque)
    }

    /// How many collections the store's GC heap has run (minor and
    /// major), 0 without a heap.
    pub fn gc_collections(&self) -> u64 {
        self.inner.opaque.gc_store().map_or(0, |g| {
            let s = g.heap.stats();
            s.minor_collections + s.major_collections
        })
    }

    fn require(&self, on: bool, what: &str) -> crate::Result<()> {
        if on {
            Ok(())
        } else {
            Err(crate::Error::msg(format!(
                "{what} is not enabled in the engine's Config"
            )))
        }
    }

    /// Sets the fuel available to calls, in units of about one executed
    /// operator. Fails if [`Config::consume_fuel`](crate::Config::consume_fuel)
    /// is off.
    pub fn set_fuel(&mut self, fuel: u64) -> crate::Result<()> {
        self.require(self.engine().config().consume_fuel, "fuel consumption")?;
        self.inner.opaque.set_fuel_left(fuel);
        Ok(())
    }

    /// The fuel left (0 after a call ran out). Fails if
    /// [`Config::consume_fuel`](crate::Config::consume_fuel) is off.
    pub fn get_fuel(&self) -> crate::Result<u64> {
        self.require(self.engine().config().consume_fuel, "fuel consumption")?;
        Ok(self.inner.opaque.fuel_left())
    }

    /// In async calls, yield to the executor after every `interval` units of
    /// fuel (`None` or `Some(0)`: never; running out of fuel still traps).
    /// Synchronous calls are not affected. Fails if
    /// [`Config::consume_fuel`](crate::Config::consume_fuel) is off.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> crate::Result<()> {
        self.require(self.engine().config().consume_fuel, "fuel consumption")?;
        self.inner
            .opaque
            .set_fuel_yield_interval(interval.filter(|i| *i > 0));
        Ok(())
    }

    /// Interrupt calls once the engine's epoch is `ticks` past the current
    /// one (see [`Engine::increment_epoch`]). Until this is called there is
    /// no deadline. Takes effect only with
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption).
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        let now = self.engine().current_epoch();
        self.inner.opaque.vmstore_mut().epoch_deadline = now.saturating_add(ticks);
    }

    /// At the deadline, trap with [`TrapCode::Interrupt`](crate::TrapCode::Interrupt)
    /// (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.opaque.set_epoch_behavior(EpochBehavior::Trap);
    }

    /// At the deadline, an async call yields to its executor and goes on with
    /// the deadline `delta` ticks later (a synchronous call just goes on).
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.inner
            .opaque
            .set_epoch_behavior(EpochBehavior::YieldAndUpdate(delta));
    }

    /// The engine this store belongs to.
    pub fn engine(&self) -> &Engine {
        self.inner.opaque.engine()
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutable.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store (and everything in it) and returns the embedder's data.
    pub fn into_data(self) -> T {
        self.inner.data
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id())
            .field("instances", &self.inner.opaque.instance_count())
            .finish_non_exhaustive()
    }
}

/// Shared access to a store, as [`AsContext::as_context`] gives it: what
/// functions that only read a store take (via `impl AsContext`).
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);
/// Exclusive access to a store, as [`AsContextMut::as_context_mut`] gives
/// it: what functions that change a store or call wasm take (via
/// `impl AsContextMut`).
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContextMut<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The embedder's data, mutable.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
    /// The engine the store belongs to.
    pub fn engine(&self) -> &Engine {
        self.0.opaque.engine()
    }
}

/// Things that give shared access to a store: [`Store<T>`](Store),
/// [`Caller<T>`](crate::Caller), [`StoreContext`], [`StoreContextMut`], and
/// references to them. API functions take `impl AsContext` so any of these
/// can be passed.
pub trait AsContext {
    /// The store's data type `T`.
    type Data;
    /// Shared access to the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Things that give exclusive access to a store: [`Store<T>`](Store),
/// [`Caller<T>`](crate::Caller), [`StoreContextMut`], and `&mut` references
/// to them. API functions that change a store or call wasm take
/// `impl AsContextMut`.
pub trait AsContextMut: AsContext {
    /// Exclusive access to the store.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}
impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}
impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}
impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}
impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}
impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
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

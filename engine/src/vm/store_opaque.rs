//! The store's internals: `StoreOpaque` (the part of a store that does not
//! depend on `T`) and the records of everything it owns (functions,
//! globals, tags, exception objects, instances). Generated code reaches it
//! through the store context (`VMStoreContext::store`); the public side
//! (`crate::store`) only through `Store::inner`.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use nyash_aot::module::GlobalType;

use crate::engine::Engine;
use crate::error::Error;
use crate::exceptions::{ExnRef, Tag};
use crate::externals::{Global, Memory, Table};
use crate::func::Func;
use crate::gc::ExternRef;
use crate::instance::Instance;
use crate::module::Module;
use crate::vm::gc_heap::GcStore;
use crate::vm::memory::LinearMemory;
use crate::vm::table::Table as TableStorage;
use crate::vm::vmcontext::{VMFuncRef, VMGlobalDefinition, VMHostFuncContext, VMStoreContext};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// An instance's index in its store (`StoreOpaque::instances`): what an
/// [`Instance`] handle and a VMContext header (`VMContextHeader::instance`)
/// hold. Its own type because the code that uses it (instantiation,
/// constant expressions, builtins, the unwinder) also holds the module's
/// index spaces (function, memory, table, global, tag indices) and the
/// store's, all `u32`s; `StoreOpaque::instances` is indexed by it only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InstanceId(u32);

impl InstanceId {
    /// The id an instance pushed now gets: `len`, the store's instance
    /// count before the push.
    pub(crate) fn next(len: usize) -> InstanceId {
        InstanceId(len as u32)
    }

    /// The id in a public handle.
    pub(crate) fn of(i: &Instance) -> InstanceId {
        InstanceId(i.index)
    }

    /// The id a VMContext header holds (`init_vmctx` wrote it from one).
    pub(crate) fn from_header(instance: usize) -> InstanceId {
        InstanceId(instance as u32)
    }

    /// For a public handle.
    pub(crate) fn as_u32(self) -> u32 {
        self.0
    }

    /// For the VMContext header.
    pub(crate) fn as_usize(self) -> usize {
        self.0 as usize
    }
}

impl std::ops::Index<InstanceId> for Vec<InstanceData> {
    type Output = InstanceData;
    fn index(&self, i: InstanceId) -> &InstanceData {
        &self[i.as_usize()]
    }
}

impl std::ops::IndexMut<InstanceId> for Vec<InstanceData> {
    fn index_mut(&mut self, i: InstanceId) -> &mut InstanceData {
        &mut self[i.as_usize()]
    }
}

pub(crate) enum FuncKind {
    /// A function defined by an instance in this store.
    Wasm {
        instance: InstanceId,
        /// In the module's function index space.
        func_index: u32,
        /// Its entry trampoline, code and instance VMContext, looked up once
        /// so that a call from the host goes straight to them.
        entry: *const u8,
        wasm_call: *const u8,
        vmctx: *mut u8,
        /// The funcref of a function with no slot in its VMContext.
        _owned_ref: Option<Box<VMFuncRef>>,
    },
    /// A host function; its context holds the closure (a `HostFn<T>` for
    /// the store's `T`, see `func::host_fn_of`).
    Host { ctx: Box<VMHostFuncContext> },
}

pub(crate) struct FuncData {
    pub(crate) kind: FuncKind,
    pub(crate) type_id: u32,
    pub(crate) func_ref: *const VMFuncRef,
}

pub(crate) struct GlobalData {
    pub(crate) ty: GlobalType,
    pub(crate) def: *mut VMGlobalDefinition,
    /// Storage of globals created by the host; instance-defined globals live
    /// in their instance's VMContext.
    pub(crate) _owned: Option<Box<VMGlobalDefinition>>,
}

/// An exception tag: its identity is its index in the store.
pub(crate) struct TagData {
    pub(crate) ty: crate::exceptions::TagType,
    /// The engine id of the tag's function type: imports match by it (type
    /// equivalence, so two structurally equal types of different rec
    /// groups are different tag types).
    pub(crate) type_id: u32,
}

/// An exception object (what an exnref refers to): its tag and payload in
/// the raw form wasm reads (`ValRaw`s, one per tag parameter). The payload
/// box never moves, so handlers get a pointer to it.
pub(crate) struct ExnData {
    pub(crate) tag: u32,
    pub(crate) values: Box<[crate::vm::vmcontext::ValRaw]>,
    /// Whether an exnref to it may exist (wasm got it through `catch_ref`
    /// or `catch_all_ref`, or the host made or saw it). One that never
    /// escaped is dead once a plain `catch`/`catch_all` handler took its
    /// payload, and its slot is reused (see `libcalls::throw_exn`).
    pub(crate) escaped: bool,
}

pub(crate) struct InstanceData {
    pub(crate) module: Module,
    /// Store tag index of each of the module's tags (imported ones first).
    pub(crate) tags: Vec<u32>,
    /// The VMContext, as 16-byte units so it is 16-byte aligned.
    pub(crate) vmctx: Box<[VMGlobalDefinition]>,
    pub(crate) funcs: Vec<u32>,
    pub(crate) memories: Vec<u32>,
    pub(crate) tables: Vec<u32>,
    pub(crate) globals: Vec<u32>,
    pub(crate) dropped_datas: Vec<bool>,
    /// Evaluated items of each element segment; `None` once dropped.
    pub(crate) elems: Vec<Option<Box<[usize]>>>,
}

impl InstanceData {
    pub(crate) fn vmctx_ptr(&self) -> *mut u8 {
        self.vmctx.as_ptr() as *mut u8
    }
}

/// The part of a store that does not depend on `T`.
pub(crate) struct StoreOpaque {
    pub(in crate::vm) id: u64,
    pub(in crate::vm) engine: Engine,
    pub(in crate::vm) vmstore: Box<VMStoreContext>,
    pub(in crate::vm) instances: Vec<InstanceData>,
    pub(in crate::vm) memories: Vec<LinearMemory>,
    pub(in crate::vm) tables: Vec<TableStorage>,
    pub(in crate::vm) globals: Vec<GlobalData>,
    pub(in crate::vm) funcs: Vec<FuncData>,
    /// (instance, module function index) -> func, so a function has one
    /// handle.
    pub(in crate::vm) wasm_funcs: HashMap<(InstanceId, u32), u32>,
    /// funcref pointer -> func, for every func that has a handle.
    pub(in crate::vm) funcs_by_ref: HashMap<usize, u32>,
    /// VMContext start -> instance, to find the owner of a funcref pointer.
    pub(in crate::vm) vmctx_starts: BTreeMap<usize, InstanceId>,
    /// Code image start -> module, for backtraces.
    pub(in crate::vm) code_starts: BTreeMap<usize, Module>,
    pub(in crate::vm) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    pub(in crate::vm) tags: Vec<TagData>,
    /// Exception objects; an exnref is an index + 1. They live as long as
    /// the store (there is no collection).
    pub(in crate::vm) exns: Vec<ExnData>,
    /// Slots of `exns` whose exception is dead (caught by a plain clause
    /// without ever escaping), for the next throw.
    pub(in crate::vm) free_exns: Vec<usize>,
    /// The exception (exnref) no wasm frame caught, while the trap
    /// `UNCAUGHT_EXCEPTION` it caused unwinds.
    pub(in crate::vm) pending_exception: Option<usize>,
    /// The error of a host function that failed, while the trap it caused unwinds.
    pub(in crate::vm) pending_error: Option<Error>,
    pub(in crate::vm) pending_panic: Option<Box<dyn Any + Send>>,
    /// Fuel not yet handed to the running code's counter.
    pub(in crate::vm) fuel_reserve: u64,
    /// In async calls, yield after this much fuel (and refill the counter).
    pub(in crate::vm) fuel_yield_interval: Option<u64>,
    pub(in crate::vm) epoch_behavior: EpochBehavior,
    /// The GC heap, made when the first module that can see GC objects is
    /// instantiated (see `vm/gc_heap.rs`).
    pub(in crate::vm) gc: Option<Box<crate::vm::gc_heap::GcStore>>,
    /// One entry per async host -> wasm call in progress (innermost last):
    /// the store context's exit record as it was when the call began, which
    /// is the exit of the enclosing call's wasm frames (`[0, 0]` if none).
    /// The collector walks the frames of every call from these, the records
    /// of `sync_exits` and the current record (`gc_heap::StoreRoots`).
    pub(in crate::vm) exits: Vec<[usize; 2]>,
    /// The same for synchronous calls: the innermost one's [`SavedExit`],
    /// which lives in its `invoke::invoke` frame and links to the enclosing
    /// synchronous call's (null if none).
    pub(in crate::vm) sync_exits: *const SavedExit,
    /// Component instances, their lifted functions, resource types and
    /// handle tables.
    pub(in crate::vm) components: crate::component::store::ComponentStore,
}

/// The exit record a synchronous host -> wasm call found when it began (see
/// [`StoreOpaque::sync_exits`]), kept on the stack for the duration of the
/// call instead of in a `Vec`.
pub(crate) struct SavedExit {
    pub(crate) record: [usize; 2],
    /// The enclosing synchronous call's, or null.
    pub(crate) prev: *const SavedExit,
}

/// Every exit record saved by a call in progress, async (`exits`) and
/// synchronous (the list from `sync`), in no particular order. The
/// outermost call's is `[0, 0]`.
pub(crate) fn saved_exits<'a>(
    exits: &'a [[usize; 2]],
    sync: *const SavedExit,
) -> impl Iterator<Item = [usize; 2]> + 'a {
    let mut next = sync;
    let sync = std::iter::from_fn(move || {
        // SAFETY: each `SavedExit` of the list lives in the frame of a
        // synchronous call still in progress (`invoke::invoke` unlinks it
        // before it returns).
        let e = unsafe { next.as_ref() }?;
        next = e.prev;
        Some(e.record)
    });
    exits.iter().copied().chain(sync)
}

/// What happens when the epoch deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpochBehavior {
    Trap,
    /// Yield to the executor (async calls) and move the deadline this many ticks on.
    YieldAndUpdate(u64),
}

impl StoreOpaque {
    /// The store's component instances and everything they own.
    pub(crate) fn components(&mut self) -> &mut crate::component::store::ComponentStore {
        &mut self.components
    }

    /// The store's component instances, to read (types of their functions).
    pub(crate) fn components_ref(&self) -> &crate::component::store::ComponentStore {
        &self.components
    }

    /// Whether a host -> wasm call (sync or async) is in progress.
    pub(crate) fn in_call(&self) -> bool {
        !self.exits.is_empty() || !self.sync_exits.is_null()
    }

    /// The top of `h`'s hierarchy, which decides how its values are
    /// represented; only an engine id needs the type registry.
    pub(crate) fn heap_top(&self, h: nyash_aot::HeapType) -> nyash_aot::HeapType {
        match h {
            nyash_aot::HeapType::Engine(_) => self.engine.types().top(h),
            h => h.top(),
        }
    }
}

impl StoreOpaque {
    /// Fuel left: the reserve plus what the counter still has.
    pub(crate) fn fuel_left(&self) -> u64 {
        let counter = self.vmstore.fuel_consumed;
        if counter <= 0 {
            self.fuel_reserve + counter.unsigned_abs()
        } else {
            self.fuel_reserve.saturating_sub(counter as u64)
        }
    }

    /// Splits `total` fuel into the counter's slice and the reserve.
    pub(crate) fn set_fuel_left(&mut self, total: u64) {
        let slice = self
            .fuel_yield_interval
            .unwrap_or(u64::MAX)
            .min(total)
            .min(i64::MAX as u64);
        self.fuel_reserve = total - slice;
        self.vmstore.fuel_consumed = -(slice as i64);
    }
}

// SAFETY: the raw pointers in a store point into memory the store itself owns
// (boxes, mmaps) or into modules it keeps alive; nothing is shared with other
// threads except through `Engine`, which is Sync.
unsafe impl Send for StoreOpaque {}
// SAFETY: as for Send: shared access (`&StoreOpaque`) does not write
// through the raw pointers.
unsafe impl Sync for StoreOpaque {}

#[repr(C)]
pub(crate) struct StoreInner<T> {
    /// First, so a `*mut StoreInner<T>` is also a `*mut StoreOpaque`.
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
}

impl StoreOpaque {
    /// An empty store of `engine`'s: no fuel, no epoch deadline. Its store
    /// context's back pointer (`vmstore.store`) is null until the owning
    /// `StoreInner` is boxed (see `Store::new`).
    pub(crate) fn new(engine: &Engine) -> StoreOpaque {
        StoreOpaque {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            engine: engine.clone(),
            vmstore: Box::new(VMStoreContext {
                stack_limit: usize::MAX,
                fuel_consumed: 0,
                epoch_deadline: u64::MAX,
                epoch_ptr: engine.epoch_ptr(),
                store: std::ptr::null_mut(),
                last_exit_pc: 0,
                last_exit_fp: 0,
            }),
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            funcs: Vec::new(),
            wasm_funcs: HashMap::new(),
            funcs_by_ref: HashMap::new(),
            vmctx_starts: BTreeMap::new(),
            code_starts: BTreeMap::new(),
            externrefs: Vec::new(),
            tags: Vec::new(),
            exns: Vec::new(),
            free_exns: Vec::new(),
            pending_exception: None,
            pending_error: None,
            pending_panic: None,
            components: Default::default(),
            fuel_reserve: 0,
            fuel_yield_interval: None,
            epoch_behavior: EpochBehavior::Trap,
            gc: None,
            exits: Vec::new(),
            sync_exits: std::ptr::null(),
        }
    }
}

/// Typed access to the store's entities: each accessor takes a handle,
/// checks once that it is this store's (a handle of another store panics:
/// an embedder bug, never a consequence of wasm input) and returns the
/// entity's record. The public files reach the store only through these
/// (its fields are private to the `vm` wing).
impl StoreOpaque {
    /// The store's id, which every handle it makes carries.
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The engine the store belongs to.
    #[inline]
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Function `f`'s record.
    #[track_caller]
    #[inline]
    pub(crate) fn func(&self, f: &Func) -> &FuncData {
        check_store(self, f.store);
        &self.funcs[f.index as usize]
    }

    /// Function `f`'s record; `None` if `f` is another store's.
    #[inline]
    pub(crate) fn try_func(&self, f: &Func) -> Option<&FuncData> {
        (f.store == self.id).then(|| &self.funcs[f.index as usize])
    }

    /// Memory `m`'s storage.
    #[track_caller]
    #[inline]
    pub(crate) fn memory(&self, m: &Memory) -> &LinearMemory {
        check_store(self, m.store);
        &self.memories[m.index as usize]
    }

    /// Memory `m`'s storage, mutable.
    #[track_caller]
    #[inline]
    pub(crate) fn memory_mut(&mut self, m: &Memory) -> &mut LinearMemory {
        check_store(self, m.store);
        &mut self.memories[m.index as usize]
    }

    /// Table `t`'s storage.
    #[track_caller]
    #[inline]
    pub(crate) fn table(&self, t: &Table) -> &TableStorage {
        check_store(self, t.store);
        &self.tables[t.index as usize]
    }

    /// Table `t`'s storage, mutable.
    #[track_caller]
    #[inline]
    pub(crate) fn table_mut(&mut self, t: &Table) -> &mut TableStorage {
        check_store(self, t.store);
        &mut self.tables[t.index as usize]
    }

    /// Global `g`'s record.
    #[track_caller]
    #[inline]
    pub(crate) fn global(&self, g: &Global) -> &GlobalData {
        check_store(self, g.store);
        &self.globals[g.index as usize]
    }

    /// Tag `t`'s record.
    #[track_caller]
    #[inline]
    pub(crate) fn tag(&self, t: &Tag) -> &TagData {
        check_store(self, t.store);
        &self.tags[t.index as usize]
    }

    /// Instance `i`'s record.
    #[track_caller]
    #[inline]
    pub(crate) fn instance(&self, i: &Instance) -> &InstanceData {
        check_store(self, i.store);
        &self.instances[InstanceId::of(i)]
    }

    /// Exception object `e`'s record.
    #[track_caller]
    #[inline]
    pub(crate) fn exn(&self, e: &ExnRef) -> &ExnData {
        check_store(self, e.store);
        &self.exns[e.index as usize]
    }

    /// Exception object `e`'s record, mutable.
    #[track_caller]
    #[inline]
    pub(crate) fn exn_mut(&mut self, e: &ExnRef) -> &mut ExnData {
        check_store(self, e.store);
        &mut self.exns[e.index as usize]
    }

    /// The exception object of exnref `raw` (an index + 1), if there is one.
    pub(crate) fn exn_of_raw(&self, raw: usize) -> Option<ExnRef> {
        let index = raw.checked_sub(1).filter(|i| *i < self.exns.len())?;
        Some(ExnRef {
            store: self.id,
            index: index as u32,
        })
    }

    /// Externref `e`'s host value.
    #[track_caller]
    #[inline]
    pub(crate) fn externref(&self, e: &ExternRef) -> &(dyn Any + Send + Sync) {
        check_store(self, e.store);
        &*self.externrefs[e.index as usize]
    }

    /// Externref `e` in the raw form generated code holds (index + 1).
    #[track_caller]
    #[inline]
    pub(crate) fn externref_raw(&self, e: &ExternRef) -> usize {
        check_store(self, e.store);
        e.to_raw()
    }

    /// Externref `e`'s index among the store's externrefs.
    #[track_caller]
    #[inline]
    pub(crate) fn externref_index(&self, e: &ExternRef) -> u32 {
        check_store(self, e.store);
        e.index
    }

    /// Exnref `e` in the raw form generated code holds (index + 1).
    #[track_caller]
    #[inline]
    pub(crate) fn exnref_raw(&self, e: &ExnRef) -> usize {
        check_store(self, e.store);
        e.to_raw()
    }

    /// The number of externrefs made in the store (their handles are
    /// `0..externref_count()`).
    pub(crate) fn externref_count(&self) -> usize {
        self.externrefs.len()
    }

    /// The number of exception objects (exnrefs are `1..=exn_count()`).
    pub(crate) fn exn_count(&self) -> usize {
        self.exns.len()
    }

    /// The store's GC heap, if it has one yet.
    #[inline]
    pub(crate) fn gc_store(&self) -> Option<&GcStore> {
        self.gc.as_deref()
    }

    /// The store's GC heap, mutable, if it has one yet.
    #[inline]
    pub(crate) fn gc_store_mut(&mut self) -> Option<&mut GcStore> {
        self.gc.as_deref_mut()
    }

    /// How many instances the store holds.
    pub(crate) fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// A new memory of the store's.
    pub(crate) fn push_memory(&mut self, m: LinearMemory) -> Memory {
        self.memories.push(m);
        Memory {
            store: self.id,
            index: self.memories.len() as u32 - 1,
        }
    }

    /// A new table of the store's.
    pub(crate) fn push_table(&mut self, t: TableStorage) -> Table {
        self.tables.push(t);
        Table {
            store: self.id,
            index: self.tables.len() as u32 - 1,
        }
    }

    /// A new global of the store's.
    pub(crate) fn push_global(&mut self, g: GlobalData) -> Global {
        self.globals.push(g);
        Global {
            store: self.id,
            index: self.globals.len() as u32 - 1,
        }
    }

    /// A new tag of the store's (a new identity).
    pub(crate) fn push_tag(&mut self, t: TagData) -> Tag {
        self.tags.push(t);
        Tag {
            store: self.id,
            index: self.tags.len() as u32 - 1,
        }
    }

    /// A new exception object of the store's.
    pub(crate) fn push_exn(&mut self, e: ExnData) -> ExnRef {
        self.exns.push(e);
        ExnRef {
            store: self.id,
            index: self.exns.len() as u32 - 1,
        }
    }

    /// A new externref of the store's, holding `value`.
    pub(crate) fn push_externref(&mut self, value: Box<dyn Any + Send + Sync>) -> ExternRef {
        self.externrefs.push(value);
        ExternRef {
            store: self.id,
            index: self.externrefs.len() as u32 - 1,
        }
    }

    /// A new host function of the store's, whose context `ctx` was made
    /// for index [`StoreOpaque::next_func_index`].
    pub(crate) fn push_host_func(&mut self, ctx: Box<VMHostFuncContext>, type_id: u32) -> Func {
        let index = self.funcs.len() as u32;
        let func_ref: *const VMFuncRef = &ctx.func_ref;
        self.funcs.push(FuncData {
            kind: FuncKind::Host { ctx },
            type_id,
            func_ref,
        });
        self.funcs_by_ref.insert(func_ref as usize, index);
        Func {
            store: self.id,
            index,
        }
    }

    /// The index the next function made in the store gets.
    pub(crate) fn next_func_index(&self) -> u32 {
        self.funcs.len() as u32
    }

    /// The store context generated code reads (fuel, epoch deadline, stack
    /// limit, exit record).
    pub(crate) fn vmstore_mut(&mut self) -> &mut VMStoreContext {
        &mut self.vmstore
    }

    /// What happens at the epoch deadline.
    pub(crate) fn set_epoch_behavior(&mut self, behavior: EpochBehavior) {
        self.epoch_behavior = behavior;
    }

    /// In async calls, yield after this much fuel (`None`: never); the fuel
    /// left stays the same.
    pub(crate) fn set_fuel_yield_interval(&mut self, interval: Option<u64>) {
        let left = self.fuel_left();
        self.fuel_yield_interval = interval;
        self.set_fuel_left(left);
    }
}

/// Panics if a handle is used with a store other than the one that made it:
/// that is a bug in the embedder, never a consequence of wasm input.
#[track_caller]
#[inline]
pub(crate) fn check_store(store: &StoreOpaque, handle_store: u64) {
    assert_eq!(
        store.id, handle_store,
        "a handle was used with a store other than the one that created it"
    );
}

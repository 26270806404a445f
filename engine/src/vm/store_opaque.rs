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
use crate::module::Module;
use crate::vm::memory::LinearMemory;
use crate::vm::table::Table as TableStorage;
use crate::vm::vmcontext::{VMFuncRef, VMGlobalDefinition, VMHostFuncContext, VMStoreContext};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) enum FuncKind {
    /// A function defined by an instance in this store.
    Wasm {
        instance: u32,
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
    pub(crate) id: u64,
    pub(crate) engine: Engine,
    pub(crate) vmstore: Box<VMStoreContext>,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) memories: Vec<LinearMemory>,
    pub(crate) tables: Vec<TableStorage>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) funcs: Vec<FuncData>,
    /// (instance, function index) -> func, so a function has one handle.
    pub(crate) wasm_funcs: HashMap<(u32, u32), u32>,
    /// funcref pointer -> func, for every func that has a handle.
    pub(crate) funcs_by_ref: HashMap<usize, u32>,
    /// VMContext start -> instance, to find the owner of a funcref pointer.
    pub(crate) vmctx_starts: BTreeMap<usize, u32>,
    /// Code image start -> module, for backtraces.
    pub(crate) code_starts: BTreeMap<usize, Module>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    pub(crate) tags: Vec<TagData>,
    /// Exception objects; an exnref is an index + 1. They live as long as
    /// the store (there is no collection).
    pub(crate) exns: Vec<ExnData>,
    /// Slots of `exns` whose exception is dead (caught by a plain clause
    /// without ever escaping), for the next throw.
    pub(crate) free_exns: Vec<usize>,
    /// The exception (exnref) no wasm frame caught, while the trap
    /// `UNCAUGHT_EXCEPTION` it caused unwinds.
    pub(crate) pending_exception: Option<usize>,
    /// The error of a host function that failed, while the trap it caused unwinds.
    pub(crate) pending_error: Option<Error>,
    pub(crate) pending_panic: Option<Box<dyn Any + Send>>,
    /// Fuel not yet handed to the running code's counter.
    pub(crate) fuel_reserve: u64,
    /// In async calls, yield after this much fuel (and refill the counter).
    pub(crate) fuel_yield_interval: Option<u64>,
    pub(crate) epoch_behavior: EpochBehavior,
    /// The GC heap, made when the first module that can see GC objects is
    /// instantiated (see `gc.rs`).
    pub(crate) gc: Option<Box<crate::vm::gc_heap::GcStore>>,
    /// One entry per async host -> wasm call in progress (innermost last):
    /// the store context's exit record as it was when the call began, which
    /// is the exit of the enclosing call's wasm frames (`[0, 0]` if none).
    /// The collector walks the frames of every call from these, the records
    /// of `sync_exits` and the current record (`gc::StoreRoots`).
    pub(crate) exits: Vec<[usize; 2]>,
    /// The same for synchronous calls: the innermost one's [`SavedExit`],
    /// which lives in its `func::invoke` frame and links to the enclosing
    /// synchronous call's (null if none).
    pub(crate) sync_exits: *const SavedExit,
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
        // synchronous call still in progress (`func::invoke` unlinks it
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
    /// Whether a host -> wasm call (sync or async) is in progress.
    pub(crate) fn in_call(&self) -> bool {
        !self.exits.is_empty() || !self.sync_exits.is_null()
    }

    /// The top of `h`'s hierarchy, which decides how its values are
    /// represented; only an engine id needs the type registry.
    pub(crate) fn heap_top(&self, h: crate::HeapType) -> crate::HeapType {
        match h {
            crate::HeapType::Engine(_) => self.engine.types().top(h),
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
            fuel_reserve: 0,
            fuel_yield_interval: None,
            epoch_behavior: EpochBehavior::Trap,
            gc: None,
            exits: Vec::new(),
            sync_exits: std::ptr::null(),
        }
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

//! The store's side of WebAssembly GC: its heap (`nyash_gc::GcHeap`), made
//! when the first module that can see GC objects is instantiated; the
//! registration of each module's struct and array layouts by engine type
//! id; the host's roots; and every root the collector must find and update
//! ([`StoreRoots`]):
//!
//! - the stack-map slots of every wasm frame of every host -> wasm call in
//!   progress, whether it runs on the caller's stack or a fiber, and
//!   whether the fiber is running or suspended (`vm::unwind::visit_frame_roots`,
//!   from the exit records in `StoreOpaque::exits` (async calls) and
//!   `StoreOpaque::sync_exits` (synchronous calls) and the store context);
//! - globals, table elements and element segments of `any` references;
//! - exception payloads holding `any` references;
//! - the host's roots ([`crate::AnyRef`]s handed out) and the runtime's
//!   temporary roots (constant expressions being evaluated).

use std::collections::HashSet;

use nyash_aot::gc_layout;
use nyash_aot::module::{CompositeType, HeapType, ModuleEnv, WasmType};
use nyash_gc::vm::VMGcHeapData;
use nyash_gc::{CollectionKind, GcConfig, GcError, GcHeap, RootSource};

use crate::engine::Config;
use crate::error::{Error, ErrorKind};
use crate::module::Module;
use crate::vm::store_opaque::{ExnData, GlobalData, InstanceData, StoreOpaque, TagData};
use crate::vm::table::Table as TableStorage;
use crate::vm::type_registry::TypeRegistry;

/// A store's GC heap and roots.
pub(crate) struct GcStore {
    pub(crate) heap: GcHeap,
    /// Engine type ids whose layout the heap knows.
    registered: HashSet<u32>,
    /// The host's roots: each `AnyRef` to an object names a slot here by
    /// index and generation (a slot freed and reused gets a new one).
    pub(crate) roots: Vec<(u32, u32)>,
    next_generation: u32,
    /// The runtime's own temporary roots (a LIFO stack).
    pub(crate) tmp: Vec<u32>,
    /// `any.convert_extern`: the extern object made for each externref
    /// (by store index), so converting one again gives the same object.
    /// Externrefs live as long as the store, and so do these.
    extern_objects: std::collections::HashMap<u32, u32>,
    /// `extern.convert_any` of a struct, array or `i31`: the externref made
    /// for it (by store index) and the reference it wraps.
    wrapped: std::collections::HashMap<u32, u32>,
    /// The host API's owned roots and layout cache (`crate::gc`).
    pub(crate) host: crate::gc::HostGc,
}

/// The host data of an externref that wraps an `any` reference (kept in
/// `GcStore::wrapped`, where the collector updates it).
pub(crate) struct WrappedAny;

impl GcStore {
    fn new(config: &Config) -> Result<GcStore, GcError> {
        let heap = GcHeap::new(GcConfig {
            nursery_bytes: config.gc_nursery_bytes,
            max_heap_bytes: config.gc_max_heap_bytes,
            zeal: config.gc_stress,
            ..GcConfig::default()
        })?;
        Ok(GcStore {
            heap,
            registered: HashSet::new(),
            roots: Vec::new(),
            next_generation: 1,
            tmp: Vec::new(),
            extern_objects: std::collections::HashMap::new(),
            wrapped: std::collections::HashMap::new(),
            host: crate::gc::HostGc::default(),
        })
    }

    /// Roots `r` for the host: its slot index and generation.
    pub(crate) fn root(&mut self, r: u32) -> (u32, u32) {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        self.roots.push((r, generation));
        (self.roots.len() as u32 - 1, generation)
    }

    /// The current value of host root `(index, generation)`, if that root
    /// is still alive.
    pub(crate) fn rooted(&self, index: u32, generation: u32) -> Option<u32> {
        self.roots
            .get(index as usize)
            .filter(|(_, g)| *g == generation)
            .map(|(r, _)| *r)
    }
}

/// Whether instances of a module can see GC objects: its code touches the
/// heap or converts between `extern` and `any` (the compiler notes it), a
/// constant expression makes or converts a GC reference, or its types,
/// globals, tables or element segments mention a struct or array type or
/// an abstract type of the `any` hierarchy. A module that cannot never
/// gets an object into any of its frames (every value reaching it has one
/// of these types), so its VMContext needs no heap; a heap is never made
/// while code that could see it runs.
pub(crate) fn module_sees_gc(env: &ModuleEnv) -> bool {
    use nyash_aot::module::ConstOp;
    let gc_const = |e: &nyash_aot::module::ConstExpr| {
        e.0.iter().any(|op| {
            matches!(
                op,
                ConstOp::RefI31
                    | ConstOp::StructNew(_)
                    | ConstOp::StructNewDefault(_)
                    | ConstOp::ArrayNew(_)
                    | ConstOp::ArrayNewDefault(_)
                    | ConstOp::ArrayNewFixed(..)
                    | ConstOp::AnyConvertExtern
                    | ConstOp::ExternConvertAny
            )
        })
    };
    if env.code_uses_gc
        || env.global_inits.iter().any(gc_const)
        || env.table_inits.iter().flatten().any(gc_const)
        || env.elems.iter().any(|e| e.items.iter().any(gc_const))
    {
        return true;
    }
    let any = |t: &WasmType| match t {
        WasmType::Ref(r) => env.heap_top(r.heap) == HeapType::Any,
        _ => false,
    };
    env.types.iter().any(|t| match &t.composite {
        CompositeType::Func(f) => f.params.iter().chain(&f.results).any(any),
        CompositeType::Struct(_) | CompositeType::Array(_) => true,
    }) || env.globals.iter().any(|g| any(&g.content))
        || env.tables.iter().any(|t| any(&t.element))
        || env.elems.iter().any(|e| any(&e.element))
}

/// Makes the store's heap if `module` needs one and there is none yet,
/// and registers the module's struct and array layouts. Returns the heap
/// block for the instance's VMContext (null while the store has no heap).
pub(crate) fn prepare(
    store: &mut StoreOpaque,
    module: &Module,
) -> Result<*mut VMGcHeapData, Error> {
    let env = module.env();
    if store.gc.is_none() {
        if !module_sees_gc(env) {
            return Ok(std::ptr::null_mut());
        }
        make_heap(store).map_err(gc_error)?;
    }
    let Some(gc) = store.gc.as_mut() else {
        return Ok(std::ptr::null_mut());
    };
    for (i, t) in env.types.iter().enumerate() {
        let id = module.inner.type_ids[i];
        if gc.registered.contains(&id) {
            continue;
        }
        let Some(layout) = gc_layout::trace_layout(&t.composite, |h| env.heap_top(h)) else {
            continue;
        };
        gc.heap.register_type(id, layout).map_err(gc_error)?;
        gc.registered.insert(id);
    }
    Ok(gc.heap.vm_data())
}

/// Makes the store's heap and points every existing VMContext at it
/// (instances made before it cannot see objects, but every instance of a
/// store agrees). The caller makes sure no code that could use the heap
/// runs (`prepare`: at instantiation; `ensure_heap`: no call in progress).
fn make_heap(store: &mut StoreOpaque) -> Result<(), GcError> {
    let gc = GcStore::new(&store.engine.inner.config)?;
    let gc = store.gc.insert(Box::new(gc));
    let data = gc.heap.vm_data();
    for inst in &store.instances {
        // SAFETY: a VMContext starts with its header; no code reads the
        // field now (see above).
        unsafe {
            (*(inst.vmctx_ptr() as *mut crate::vm::vmcontext::VMContextHeader)).gc_heap = data;
        }
    }
    Ok(())
}

fn gc_error(e: GcError) -> Error {
    Error::new(ErrorKind::Instantiation(format!("GC heap: {e}")))
}

/// Every root of a store, for one collection (see the module docs).
struct StoreRoots<'a> {
    exits: &'a [[usize; 2]],
    sync_exits: *const crate::vm::store_opaque::SavedExit,
    current: [usize; 2],
    globals: &'a [GlobalData],
    tables: &'a mut [TableStorage],
    instances: &'a mut [InstanceData],
    exns: &'a mut [ExnData],
    tags: &'a [TagData],
    roots: &'a mut Vec<(u32, u32)>,
    tmp: &'a mut Vec<u32>,
    extern_objects: &'a mut std::collections::HashMap<u32, u32>,
    wrapped: &'a mut std::collections::HashMap<u32, u32>,
    /// The host's owned roots (`gc::OwnedRooted`).
    host: &'a mut crate::gc::HostGc,
    types: &'a TypeRegistry,
}

/// Whether values of `t` (engine types) are references the collector
/// traces: `RefType::is_traced`, the compiler's rule. An `i31ref` or
/// `nullref` global, table or payload is not visited (visiting it would be
/// harmless: the collector skips tagged values and null).
fn is_traced(types: &TypeRegistry, t: &WasmType) -> bool {
    t.is_traced(|h| types.top(h))
}

impl RootSource for StoreRoots<'_> {
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        // Wasm frames: the innermost call's from the current exit record,
        // each enclosing call's from the record saved when the next one
        // began (the outermost call saved `[0, 0]`). Only while a call is in
        // progress.
        if !self.exits.is_empty() || !self.sync_exits.is_null() {
            let saved = crate::vm::store_opaque::saved_exits(self.exits, self.sync_exits);
            for [pc, fp] in saved.chain([self.current]) {
                if pc != 0 {
                    // SAFETY: an exit record names a wasm frame of a call
                    // in progress (suspended in a host function or builtin
                    // of this store), whose frame chain is intact.
                    unsafe { crate::vm::unwind::visit_frame_roots(pc, fp, visit) };
                }
            }
        }
        for g in self.globals {
            if is_traced(self.types, &g.ty.content) {
                // SAFETY: `def` is the global's live storage; an `any`
                // reference is its low 32 bits (little-endian).
                visit(unsafe { &mut *(g.def as *mut u32) });
            }
        }
        for t in self.tables.iter_mut() {
            if is_traced(self.types, &t.ty.element) {
                for e in t.elements_mut() {
                    visit(low32(e));
                }
            }
        }
        for inst in self.instances.iter_mut() {
            let module = inst.module.clone();
            let env = module.env();
            for (seg, items) in env.elems.iter().zip(inst.elems.iter_mut()) {
                if let (true, Some(items)) = (env.is_traced(seg.element), items) {
                    for e in items.iter_mut() {
                        visit(low32(e));
                    }
                }
            }
        }
        for exn in self.exns.iter_mut() {
            let Some(tag) = self.tags.get(exn.tag as usize) else {
                continue;
            };
            for (t, v) in tag.ty.params().iter().zip(exn.values.iter_mut()) {
                if is_traced(self.types, &t.to_aot()) {
                    // SAFETY: a payload value of an `any` type keeps the
                    // reference in its low 32 bits.
                    visit(unsafe { &mut *(v as *mut crate::vm::vmcontext::ValRaw as *mut u32) });
                }
            }
        }
        for (r, _) in self.roots.iter_mut() {
            visit(r);
        }
        for r in self.tmp.iter_mut() {
            visit(r);
        }
        for r in self.extern_objects.values_mut() {
            visit(r);
        }
        for r in self.wrapped.values_mut() {
            visit(r);
        }
        // Owned roots the host dropped are trimmed first.
        self.host.visit_roots(visit);
    }
}

/// The low 32 bits of a pointer-sized slot holding a zero-extended `any`
/// reference.
fn low32(slot: &mut usize) -> &mut u32 {
    // SAFETY: a `usize` is at least 4 bytes, 4-aligned; on the little-endian
    // targets the engine supports its first 4 bytes are the low bits.
    unsafe { &mut *(slot as *mut usize as *mut u32) }
}

/// Runs `f` with the store's heap and every root of the store.
fn with_roots<R>(
    store: &mut StoreOpaque,
    f: impl FnOnce(&mut GcHeap, &mut dyn RootSource) -> R,
) -> Option<R> {
    let StoreOpaque {
        engine,
        vmstore,
        exits,
        sync_exits,
        globals,
        tables,
        instances,
        exns,
        tags,
        gc,
        ..
    } = store;
    let gc = gc.as_mut()?;
    let types = engine.types();
    let GcStore {
        heap,
        roots,
        tmp,
        extern_objects,
        wrapped,
        host,
        ..
    } = &mut **gc;
    let mut r = StoreRoots {
        exits,
        sync_exits: *sync_exits,
        current: [vmstore.last_exit_pc, vmstore.last_exit_fp],
        globals,
        tables,
        instances,
        exns,
        tags,
        roots,
        tmp,
        extern_objects,
        wrapped,
        host,
        types: &types,
    };
    Some(f(heap, &mut r))
}

/// Allocates an object with header words `w0`/`w1`, collecting as needed.
pub(crate) fn alloc_raw(store: &mut StoreOpaque, w0: u32, w1: u32) -> Result<u32, GcError> {
    with_roots(store, |heap, roots| heap.alloc_raw(w0, w1, roots)).unwrap_or(Err(
        GcError::InvalidType {
            type_id: w0 >> nyash_gc::vm::TYPE_ID_SHIFT,
            why: "the store has no GC heap",
        },
    ))
}

/// Runs a full (major) collection, if the store has a heap.
pub(crate) fn full_collection(store: &mut StoreOpaque) -> Result<(), Error> {
    with_roots(store, |heap, roots| {
        heap.collect(CollectionKind::Major, roots).map(|_| ())
    })
    .unwrap_or(Ok(()))
    .map_err(|e| Error::msg(format!("GC heap: {e}")))
}

/// `any.convert_extern` of raw externref `handle` (0 = null): the `any`
/// reference an `extern.convert_any` wrapped, or the store's extern object
/// for a host externref (made on first use).
pub(crate) fn any_from_extern(store: &mut StoreOpaque, handle: usize) -> Result<u32, GcError> {
    let Some(index) = handle.checked_sub(1).map(|i| i as u32) else {
        return Ok(nyash_gc::vm::NULL_REF);
    };
    let Some(gc) = store.gc.as_mut() else {
        return Err(GcError::InvalidType {
            type_id: 0,
            why: "the store has no GC heap",
        });
    };
    if let Some(&r) = gc.wrapped.get(&index) {
        return Ok(r);
    }
    if let Some(&r) = gc.extern_objects.get(&index) {
        return Ok(r);
    }
    let r = with_roots(store, |heap, roots| heap.alloc_extern(index, roots))
        .unwrap_or(Ok(nyash_gc::vm::NULL_REF))?;
    if let Some(gc) = store.gc.as_mut() {
        gc.extern_objects.insert(index, r);
    }
    Ok(r)
}

/// `extern.convert_any` of `any` reference `r` (0 = null): the externref
/// an extern object stands for, or a new externref wrapping `r`.
pub(crate) fn extern_from_any(store: &mut StoreOpaque, r: u32) -> usize {
    if r == nyash_gc::vm::NULL_REF {
        return 0;
    }
    let Some(gc) = store.gc.as_mut() else {
        return 0;
    };
    if r & nyash_gc::vm::I31_TAG == 0
        && let Ok(slot) = gc.heap.extern_slot(r)
    {
        return slot as usize + 1;
    }
    store.externrefs.push(Box::new(WrappedAny));
    let index = store.externrefs.len() as u32 - 1;
    if let Some(gc) = store.gc.as_mut() {
        gc.wrapped.insert(index, r);
    }
    index as usize + 1
}

/// The `any` reference externref `index` wraps, if it is such a wrapper.
pub(crate) fn wrapped_any(store: &StoreOpaque, index: u32) -> Option<u32> {
    store.gc.as_ref()?.wrapped.get(&index).copied()
}

// ---------------------------------------------------------------------------
// Hooks for the host API (`crate::gc`): a heap made when the host allocates
// first, and the layout of a type the host allocates.

/// The store's GC state, making its heap first if it has none. A heap is
/// made only while no wasm call is in progress (`exits` empty), so no code
/// that runs was given a VMContext without it; otherwise an error.
pub(crate) fn ensure_heap(store: &mut StoreOpaque) -> Result<&mut GcStore, Error> {
    if store.gc.is_none() {
        if store.in_call() {
            return Err(Error::msg(
                "the store has no GC heap, and one cannot be made while a wasm call \
                 is in progress (allocate from the host outside calls first)",
            ));
        }
        make_heap(store).map_err(|e| Error::msg(format!("GC heap: {e}")))?;
    }
    store
        .gc
        .as_deref_mut()
        .ok_or_else(|| Error::msg("the store has no GC heap"))
}

/// Registers the layout of engine type `id` (a struct or array type) in
/// the store's heap, as `prepare` does for a module's types.
pub(crate) fn ensure_layout(store: &mut StoreOpaque, id: u32) -> Result<(), Error> {
    if store
        .gc
        .as_ref()
        .is_some_and(|g| g.registered.contains(&id))
    {
        return Ok(());
    }
    let layout = {
        let types = store.engine.types();
        types
            .get(id)
            .and_then(|t| gc_layout::trace_layout(&t.composite, |h| types.top(h)))
            .ok_or_else(|| Error::msg(format!("engine type #{id} is not a struct or array type")))?
    };
    let gc = store
        .gc
        .as_mut()
        .ok_or_else(|| Error::msg("the store has no GC heap"))?;
    gc.heap
        .register_type(id, layout)
        .map_err(|e| Error::msg(format!("GC heap: {e}")))?;
    gc.registered.insert(id);
    Ok(())
}

/// Whether raw `any` reference `raw` is a value of reference type `ty`
/// (engine form): null if `ty` is nullable, an `i31` if `i31` is a
/// subtype of its heap type, an object if its type is.
pub(crate) fn raw_matches(store: &StoreOpaque, raw: u32, ty: nyash_aot::module::RefType) -> bool {
    if raw == nyash_gc::vm::NULL_REF {
        return ty.nullable;
    }
    let types = store.engine.types();
    if raw & nyash_gc::vm::I31_TAG != 0 {
        return types.heap_matches(HeapType::I31, ty.heap);
    }
    let Some(gc) = store.gc.as_ref() else {
        return false;
    };
    match gc.heap.object_type(raw) {
        Ok((nyash_gc::vm::Kind::Extern, _)) => types.heap_matches(HeapType::Any, ty.heap),
        Ok((_, id)) => types.heap_matches(HeapType::Engine(id), ty.heap),
        Err(_) => false,
    }
}

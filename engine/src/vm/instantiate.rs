//! Instantiation: imports checked, the VMContext laid out, globals, tables
//! and segments initialised, the start function found and run. The builtins
//! generated code calls are in `vm/libcalls.rs`, constant expressions in
//! `vm/const_expr.rs`.

use nyash_aot::module::{DataMode, ElemMode, EntityIndex};
use nyash_aot::vmoffsets::{VMCONTEXT_MAGIC, VMOffsets};

use crate::error::{Error, ErrorKind, Result, TrapCode};
use crate::externals::{Extern, Global, Memory, Table};
use crate::func::Func;
use crate::instance::Instance;
use crate::module::Module;
use crate::types::{ExternType, Limits};
use crate::vm::const_expr::eval_const;
use crate::vm::libcalls::BUILTINS;
use crate::vm::store_opaque::{
    FuncData, FuncKind, GlobalData, InstanceData, InstanceId, StoreOpaque,
};
use crate::vm::table::Table as TableStorage;
use crate::vm::vmcontext::{
    VMContextHeader, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMMemoryDefinition,
    VMStoreContext, VMTableDefinition, ValRaw,
};
use nyash_aot::module::{GlobalType, TableType};

/// The export `name` of `instance` (a handle of another store panics).
#[track_caller]
pub(crate) fn export_of(
    store: &mut StoreOpaque,
    instance: &Instance,
    name: &str,
) -> Option<Extern> {
    let inst = store.instance(instance);
    let instance = InstanceId::of(instance);
    let index = inst.module.export_index(name)?;
    let id = store.id;
    Some(match index {
        EntityIndex::Function(f) => Extern::Func(wasm_func(store, instance, f)),
        EntityIndex::Memory(m) => Extern::Memory(Memory {
            store: id,
            index: inst.memories[m as usize],
        }),
        EntityIndex::Table(t) => Extern::Table(Table {
            store: id,
            index: inst.tables[t as usize],
        }),
        EntityIndex::Global(g) => Extern::Global(Global {
            store: id,
            index: inst.globals[g as usize],
        }),
        EntityIndex::Tag(t) => Extern::Tag(crate::exceptions::Tag {
            store: id,
            index: inst.tags[t as usize],
        }),
    })
}

/// The handle of function `func_index` of `instance` (imported or defined).
pub(crate) fn wasm_func(store: &mut StoreOpaque, instance: InstanceId, func_index: u32) -> Func {
    let inst = &store.instances[instance];
    if let Some(&f) = inst.funcs.get(func_index as usize) {
        return Func {
            store: store.id,
            index: f,
        };
    }
    if let Some(&index) = store.wasm_funcs.get(&(instance, func_index)) {
        return Func {
            store: store.id,
            index,
        };
    }
    let module = &inst.module;
    let offsets = &module.inner.offsets;
    let type_id = module.inner.type_ids[module.env().funcs[func_index as usize] as usize];
    let mut owned_ref = None;
    let func_ref: *const VMFuncRef = match module.env().func_ref_slots[func_index as usize] {
        // SAFETY: the slot lies inside this instance's VMContext.
        Some(slot) => unsafe { inst.vmctx_ptr().add(offsets.func_ref(slot) as usize) }.cast(),
        // A function that cannot escape as a value has no slot; the host
        // asked for it directly (the start function), so give it its own.
        None => {
            let boxed = Box::new(VMFuncRef {
                wasm_call: module.wasm_call(func_index),
                vmctx: inst.vmctx_ptr(),
                type_id,
                _pad: 0,
            });
            let ptr: *const VMFuncRef = &*boxed;
            owned_ref = Some(boxed);
            ptr
        }
    };
    let entry = module.entry_trampoline(func_index);
    let wasm_call = module.wasm_call(func_index);
    let vmctx = inst.vmctx_ptr();
    let index = store.funcs.len() as u32;
    store.funcs.push(FuncData {
        kind: FuncKind::Wasm {
            instance,
            func_index,
            entry,
            wasm_call,
            vmctx,
            _owned_ref: owned_ref,
        },
        type_id,
        func_ref,
    });
    store.wasm_funcs.insert((instance, func_index), index);
    store.funcs_by_ref.insert(func_ref as usize, index);
    Func {
        store: store.id,
        index,
    }
}

/// The func a funcref pointer refers to.
pub(crate) fn func_from_raw(store: &mut StoreOpaque, raw: usize) -> Option<Func> {
    if raw == 0 {
        return None;
    }
    if let Some(&index) = store.funcs_by_ref.get(&raw) {
        return Some(Func {
            store: store.id,
            index,
        });
    }
    // A defined function's funcref slot inside some instance's VMContext.
    let (&start, &instance) = store.vmctx_starts.range(..=raw).next_back()?;
    let inst = &store.instances[instance];
    let module = inst.module.clone();
    let offsets = &module.inner.offsets;
    let first = offsets.func_ref(0) as usize;
    let slot = (raw - start - first) / nyash_aot::vmoffsets::func_ref::SIZE as usize;
    let func_index = module.inner.slot_funcs[slot];
    Some(wasm_func(store, instance, func_index))
}

fn limits_match(actual: Limits, required: Limits) -> bool {
    actual.min >= required.min
        && match required.max {
            None => true,
            Some(max) => actual.max.is_some_and(|a| a <= max),
        }
}

/// The store indices of an instance's functions (imported ones), memories,
/// tables, globals (imported ones) and tags, in the module's index order.
#[derive(Default)]
struct Entities {
    funcs: Vec<u32>,
    memories: Vec<u32>,
    tables: Vec<u32>,
    globals: Vec<u32>,
    tags: Vec<u32>,
}

/// Checks the imports, lays out the VMContext and applies the segments; the
/// caller runs the start function (synchronously or in an async call).
///
/// The steps, in order: the imports are checked against the module's
/// import types ([`resolve_imports`]); the defined tags, memories and
/// tables are made ([`define_entities`]); the VMContext is allocated and
/// initialised ([`init_vmctx`], the one `unsafe` step) and the instance
/// joins the store; then the defined globals, table initialisers and
/// element segments are evaluated (constant expressions may read the
/// instance's globals and allocate GC objects, so they run once it is a
/// root), and the active segments are applied ([`apply_active_segments`]).
pub(crate) fn instantiate(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    if !store.engine.same(module.engine()) {
        return Err(Error::msg(
            "module was compiled by a different engine than the store's",
        ));
    }
    let env = module.env();
    if imports.len() != env.imports.len() {
        return Err(Error::new(ErrorKind::Instantiation(format!(
            "expected {} imports, got {}",
            env.imports.len(),
            imports.len()
        ))));
    }
    let mut entities = resolve_imports(store, module, imports)?;
    define_entities(store, module, &mut entities)?;

    // The store's GC heap, if this module can see GC objects.
    let gc_heap = crate::vm::gc_heap::prepare(store, module)?;

    // The VMContext, as 16-byte units so it is 16-byte aligned.
    let units = (module.inner.offsets.size() as usize).div_ceil(16);
    let vmctx: Box<[VMGlobalDefinition]> =
        vec![VMGlobalDefinition { storage: [0; 16] }; units].into_boxed_slice();
    let instance_index = InstanceId::next(store.instances.len());
    let base = vmctx.as_ptr() as *mut u8;
    // SAFETY: `vmctx` is a zeroed block of `offsets.size()` bytes (rounded
    // up), 16-byte aligned, laid out for `module`; every index in
    // `entities` is an entity of `store` (resolve_imports and
    // define_entities made or checked them), and `gc_heap` is the store's
    // heap data (or null) as `prepare` returned it.
    unsafe { init_vmctx(store, module, base, instance_index, &entities, gc_heap) };
    store.vmctx_starts.insert(base as usize, instance_index);
    store
        .code_starts
        .entry(module.inner.code.base() as usize)
        .or_insert_with(|| module.clone());
    let Entities {
        funcs,
        memories,
        tables,
        globals,
        tags,
    } = entities;
    store.instances.push(InstanceData {
        module: module.clone(),
        tags,
        vmctx,
        funcs,
        memories,
        tables,
        globals,
        dropped_datas: vec![false; env.datas.len()],
        elems: Vec::new(),
    });

    init_globals(store, module, instance_index, base)?;
    init_tables(store, module, instance_index)?;
    eval_elem_segments(store, module, instance_index)?;
    apply_active_segments(store, module, instance_index)?;
    Ok(Instance {
        store: store.id,
        index: instance_index.as_u32(),
    })
}

/// Checks `imports` against `module`'s import types (each must be of
/// `store`; a handle of another store panics) and returns their store
/// indices.
fn resolve_imports(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Entities> {
    let env = module.env();
    let mut ents = Entities {
        funcs: Vec::with_capacity(env.num_imported_funcs as usize),
        memories: Vec::with_capacity(env.memories.len()),
        tables: Vec::with_capacity(env.tables.len()),
        globals: Vec::with_capacity(env.globals.len()),
        tags: Vec::with_capacity(env.tags.len()),
    };
    for (import, ext) in env.imports.iter().zip(imports) {
        let expected = ExternType::of(module, import.index);
        // `type_in` reads the import through the store's accessors, which
        // check that it is this store's.
        let actual = crate::externals::type_in(store, ext);
        let mismatch = |what: String| Error::link(&import.module, &import.name, what);
        match (ext, &expected, &actual) {
            (Extern::Func(f), ExternType::Func(e), ExternType::Func(a)) => {
                // The function's type must be the import's or a declared
                // subtype of it (WebAssembly 3.0).
                let want = match import.index {
                    EntityIndex::Function(i) => {
                        module.inner.type_ids[env.funcs[i as usize] as usize]
                    }
                    _ => return Err(mismatch("not a function import".into())),
                };
                let have = store.func(f).type_id;
                if !store.engine.types().is_subtype(have, want) {
                    return Err(mismatch(format!("expected function {e}, found {a}")));
                }
                ents.funcs.push(f.index);
            }
            (Extern::Memory(m), ExternType::Memory(e), ExternType::Memory(a)) => {
                if !limits_match(a.limits, e.limits)
                    || a.memory64 != e.memory64
                    || a.page_size_log2() != e.page_size_log2()
                    || a.shared != e.shared
                {
                    return Err(mismatch(format!(
                        "expected memory {:?}, found {:?}",
                        e.limits, a.limits
                    )));
                }
                ents.memories.push(m.index);
            }
            (Extern::Table(t), ExternType::Table(e), ExternType::Table(a)) => {
                // Element types are invariant: equal once both name
                // defined types by engine id.
                if !limits_match(a.limits, e.limits)
                    || a.element != e.element
                    || a.table64 != e.table64
                {
                    return Err(mismatch(format!("expected table {e:?}, found {a:?}")));
                }
                ents.tables.push(t.index);
            }
            (Extern::Global(g), ExternType::Global(e), ExternType::Global(a)) => {
                // An immutable global may be of a subtype; a mutable one
                // must be of the same type.
                let want = e.content;
                let fits = a.mutable == e.mutable
                    && if e.mutable {
                        a.content == want
                    } else {
                        store
                            .engine
                            .types()
                            .matches(a.content.to_aot(), want.to_aot())
                    };
                if !fits {
                    return Err(mismatch(format!("expected global {e:?}, found {a:?}")));
                }
                ents.globals.push(g.index);
            }
            (Extern::Tag(t), ExternType::Tag(e), ExternType::Tag(a)) => {
                let want = match import.index {
                    EntityIndex::Tag(i) => module.inner.type_ids[env.tags[i as usize] as usize],
                    _ => return Err(mismatch("not a tag import".into())),
                };
                if store.tag(t).type_id != want {
                    return Err(mismatch(format!("expected tag {e}, found {a}")));
                }
                ents.tags.push(t.index);
            }
            _ => {
                return Err(mismatch(format!(
                    "expected a {}, found a {}",
                    expected.kind(),
                    actual.kind()
                )));
            }
        }
    }
    Ok(ents)
}

/// Makes the module's defined tags, memories and tables in `store`.
fn define_entities(store: &mut StoreOpaque, module: &Module, ents: &mut Entities) -> Result<()> {
    let env = module.env();
    // Defined tags: a new identity per instance.
    for t in env.num_imported_tags..env.tags.len() as u32 {
        let ty = crate::exceptions::TagType::of(module, t);
        let type_id = module.inner.type_ids[env.tags[t as usize] as usize];
        ents.tags
            .push(crate::exceptions::new_tag(store, ty, type_id).index);
    }

    // Defined memories and tables.
    for ty in &env.memories[env.num_imported_memories as usize..] {
        ents.memories
            .push(crate::externals::new_memory(store, *ty)?.index);
    }
    for ty in &env.tables[env.num_imported_tables as usize..] {
        let ty = TableType {
            element: module.engine_type_aot(ty.element),
            ..*ty
        };
        let t = TableStorage::new(ty, 0).map_err(|e| Error::new(ErrorKind::Instantiation(e)))?;
        store.tables.push(t);
        ents.tables.push(store.tables.len() as u32 - 1);
    }
    Ok(())
}

/// Writes an instance's VMContext: the header, imported functions,
/// memory, table and imported-global pointers, and the funcref slots of
/// its defined functions. Defined globals are written later
/// ([`init_globals`]), once their initialisers can run.
///
/// # Safety
/// `base` must point at a zeroed, 16-byte aligned block of at least
/// `module.inner.offsets.size()` bytes that lives as long as the instance
/// (its `InstanceData::vmctx`); `entities` must hold indices of `store`'s
/// functions, memories, tables, globals and tags in the module's order, with
/// every import and every defined memory and table present; `gc_heap` must
/// be what `gc_heap::prepare` returned for this store and module.
unsafe fn init_vmctx(
    store: &mut StoreOpaque,
    module: &Module,
    base: *mut u8,
    instance_index: InstanceId,
    entities: &Entities,
    gc_heap: *mut nyash_gc::vm::VMGcHeapData,
) {
    let env = module.env();
    let offsets: &VMOffsets = &module.inner.offsets;
    let Entities {
        funcs,
        memories,
        tables,
        globals,
        ..
    } = entities;
    // SAFETY: every write below is within the VMContext block (offsets come
    // from VMOffsets for this module) and of the type the contract names;
    // the caller vouches for the block and the indices.
    unsafe {
        let w = |off: u32, v: usize| *(base.add(off as usize) as *mut usize) = v;
        *(base as *mut VMContextHeader) = VMContextHeader {
            magic: VMCONTEXT_MAGIC,
            _pad: 0,
            store_context: &*store.vmstore as *const VMStoreContext as *mut VMStoreContext,
            builtins: &BUILTINS,
            type_ids: module.inner.type_ids.as_ptr(),
            instance: instance_index.as_usize(),
            type_displays: store.engine.types().displays_ptr(),
            gc_heap,
        };
        for (i, &f) in funcs.iter().enumerate() {
            let data = &store.funcs[f as usize];
            // SAFETY: func_ref points at a live VMFuncRef of this store.
            let fr = &*data.func_ref;
            let wasm_call = match &data.kind {
                // A host function is called through this module's trampoline for its type.
                FuncKind::Host { .. } => {
                    let ty = env.funcs[i] as usize;
                    match module.inner.host_trampolines[ty] {
                        Some(t) => module.inner.code.at(t),
                        // Every imported function's type has one (see
                        // aot's TrampolinePlan); the engine's is as good.
                        None => fr.wasm_call,
                    }
                }
                FuncKind::Wasm { .. } => fr.wasm_call,
            };
            *(base.add(offsets.imported_func(i as u32) as usize) as *mut VMFunctionImport) =
                VMFunctionImport {
                    wasm_call,
                    vmctx: fr.vmctx,
                    func_ref: data.func_ref,
                };
        }
        for (i, &m) in memories.iter().enumerate() {
            let def: *mut VMMemoryDefinition = store.memories[m as usize].definition();
            w(offsets.memory_ptr(i as u32), def as usize);
        }
        for (i, &t) in tables.iter().enumerate() {
            let def: *mut VMTableDefinition = store.tables[t as usize].definition();
            w(offsets.table_ptr(i as u32), def as usize);
        }
        for (i, &g) in globals.iter().enumerate() {
            w(
                offsets.imported_global_ptr(i as u32),
                store.globals[g as usize].def as usize,
            );
        }
        for slot in 0..offsets.num_func_refs {
            let f = module.inner.slot_funcs[slot as usize];
            *(base.add(offsets.func_ref(slot) as usize) as *mut VMFuncRef) = VMFuncRef {
                wasm_call: module.wasm_call(f),
                vmctx: base,
                type_id: module.inner.type_ids[env.funcs[f as usize] as usize],
                _pad: 0,
            };
        }
    }
}

/// Evaluates the defined globals' initialisers in order (an initialiser
/// may read earlier globals) into the VMContext at `base`, and registers
/// the globals in the store.
fn init_globals(
    store: &mut StoreOpaque,
    module: &Module,
    instance_index: InstanceId,
    base: *mut u8,
) -> Result<()> {
    let env = module.env();
    let offsets: &VMOffsets = &module.inner.offsets;
    // Defined globals, in order (an initialiser may read earlier globals).
    for (i, init) in env.global_inits.iter().enumerate() {
        let g = env.num_imported_globals + i as u32;
        let raw = eval_const(store, instance_index, init)?;
        let def: *mut VMGlobalDefinition =
            // SAFETY: the defined global's slot lies inside the VMContext.
            unsafe { base.add(offsets.defined_global(i as u32) as usize) }.cast();
        // SAFETY: as above.
        unsafe { *def = VMGlobalDefinition::from_raw(raw) };
        let ty = env.globals[g as usize];
        store.globals.push(GlobalData {
            ty: GlobalType {
                content: module.engine_type_aot(ty.content),
                ..ty
            },
            def,
            _owned: None,
        });
        let index = store.globals.len() as u32 - 1;
        store.instances[instance_index].globals.push(index);
    }
    Ok(())
}

/// Fills the defined tables that have an initialiser (WebAssembly 3.0),
/// after the globals it may read.
fn init_tables(store: &mut StoreOpaque, module: &Module, instance_index: InstanceId) -> Result<()> {
    let env = module.env();
    // Defined tables with an initialiser (WebAssembly 3.0), after the
    // globals it may read.
    for (i, init) in env.table_inits.iter().enumerate() {
        let Some(init) = init else { continue };
        // SAFETY: a table initialiser is a constant expression of the
        // table's (reference) element type.
        let raw = unsafe { eval_const(store, instance_index, init)?.r#ref };
        let t = store.instances[instance_index].tables[env.num_imported_tables as usize + i];
        store.tables[t as usize].elements_mut().fill(raw);
    }
    Ok(())
}

/// Evaluates the items of every element segment; passive ones are kept
/// for `table.init`.
fn eval_elem_segments(
    store: &mut StoreOpaque,
    module: &Module,
    instance_index: InstanceId,
) -> Result<()> {
    let env = module.env();
    // Element segments: evaluate items; passive ones are kept for table.init.
    // Each segment's items join the instance as soon as they are evaluated:
    // the instance's segments are roots, and a later segment's items may
    // allocate and move the earlier ones.
    store.instances[instance_index].elems = Vec::with_capacity(env.elems.len());
    for seg in &env.elems {
        // Items that are heap references are temporary roots while later
        // items are evaluated (an item may allocate).
        let any = env.is_traced(seg.element);
        let base = store.gc.as_ref().map_or(0, |g| g.tmp.len());
        let mut items = Vec::with_capacity(seg.items.len());
        for e in &seg.items {
            // SAFETY: element items are reference-typed constant expressions.
            let v = unsafe { eval_const(store, instance_index, e)?.r#ref };
            match store.gc.as_mut() {
                Some(g) if any => g.tmp.push(v as u32),
                _ => items.push(v),
            }
        }
        if let (true, Some(g)) = (any, store.gc.as_mut()) {
            items = g.tmp.drain(base..).map(|r| r as usize).collect();
        }
        store.instances[instance_index]
            .elems
            .push(Some(items.into_boxed_slice()));
    }
    Ok(())
}

/// Applies the active element and data segments in order.
fn apply_active_segments(
    store: &mut StoreOpaque,
    module: &Module,
    instance_index: InstanceId,
) -> Result<()> {
    let env = module.env();
    // Active segments in order; the first out-of-bounds one traps, leaving
    // the earlier ones applied (WebAssembly 2.0 semantics).
    for (i, seg) in env.elems.iter().enumerate() {
        match &seg.mode {
            ElemMode::Active { table, offset } => {
                let table64 = env.tables[*table as usize].table64;
                // SAFETY: segment offsets are constant expressions of the
                // table's index type.
                let offset = unsafe {
                    let v = eval_const(store, instance_index, offset)?;
                    if table64 {
                        v.i64 as u64
                    } else {
                        v.i32 as u32 as u64
                    }
                };
                let len = seg.items.len() as u64;
                let inst = &store.instances[instance_index];
                let t = inst.tables[*table as usize];
                let items = inst.elems[i].clone().unwrap_or_default();
                let table = store.tables[t as usize].elements_mut();
                if offset
                    .checked_add(len)
                    .is_none_or(|end| end > table.len() as u64)
                {
                    return Err(TrapCode::TableOutOfBounds.into());
                }
                table[offset as usize..(offset + len) as usize].copy_from_slice(&items);
                store.instances[instance_index].elems[i] = None;
            }
            ElemMode::Declared => store.instances[instance_index].elems[i] = None,
            ElemMode::Passive => {}
        }
    }
    // A memory with an image gets it mapped instead of its segments
    // copied: it is fresh (all zeros), and no segment of the module can
    // trap (`memory_image::images_of`), so the result is the same.
    let images = module.memory_images();
    for (index, image) in images.iter().enumerate() {
        if let Some(image) = image {
            let m = store.instances[instance_index].memories[index];
            store.memories[m as usize]
                .map_image(image)
                .map_err(|e| Error::new(crate::ErrorKind::Instantiation(e)))?;
        }
    }
    for (i, seg) in env.datas.iter().enumerate() {
        if let DataMode::Active { memory, offset } = &seg.mode {
            if images.get(*memory as usize).is_some_and(Option::is_some) {
                store.instances[instance_index].dropped_datas[i] = true;
                continue;
            }
            let memory64 = env.memories[*memory as usize].memory64;
            // SAFETY: segment offsets are constant expressions of the
            // memory's address type.
            let offset = unsafe {
                let v = eval_const(store, instance_index, offset)?;
                if memory64 {
                    v.i64 as u64
                } else {
                    v.i32 as u32 as u64
                }
            };
            let m = store.instances[instance_index].memories[*memory as usize];
            let bytes = &env.data_bytes[seg.range.clone()];
            let mem = store.memories[m as usize].data_mut();
            let Some(dst) = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(bytes.len()).map(|end| (o, end)))
                .and_then(|(offset, end)| mem.get_mut(offset..end))
            else {
                return Err(TrapCode::MemoryOutOfBounds.into());
            };
            dst.copy_from_slice(bytes);
            store.instances[instance_index].dropped_datas[i] = true;
        }
    }
    Ok(())
}

/// The start function of a fresh instance, if it has one.
pub(crate) fn start_func(store: &mut StoreOpaque, instance: Instance) -> Option<Func> {
    let start = store.instances[InstanceId::of(&instance)]
        .module
        .env()
        .start?;
    Some(wasm_func(store, InstanceId::of(&instance), start))
}

/// Instantiates and runs the start function.
pub(crate) fn instantiate_and_start(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    let instance = instantiate(store, module, imports)?;
    if let Some(f) = start_func(store, instance) {
        start_call(store, f)?;
    }
    Ok(instance)
}

fn start_call(store: &mut StoreOpaque, f: Func) -> Result<()> {
    match &store.funcs[f.index as usize].kind {
        FuncKind::Wasm {
            instance,
            func_index,
            ..
        } => {
            let inst = &store.instances[*instance];
            let trampoline = inst.module.entry_trampoline(*func_index);
            let wasm_call = inst.module.wasm_call(*func_index);
            let vmctx = inst.vmctx_ptr();
            let mut values = [ValRaw::ZERO];
            // SAFETY: a live instance's function, of type [] -> [].
            unsafe {
                crate::vm::invoke::invoke(store, trampoline, vmctx, wasm_call, values.as_mut_ptr())
            }
        }
        FuncKind::Host { ctx, .. } => {
            // An imported host function as start: call it through its callback.
            let ctx_ptr = &**ctx as *const _ as *mut crate::vm::vmcontext::VMHostFuncContext;
            let mut values = [ValRaw::ZERO];
            let vmctx = store
                .instances
                .last()
                .map(|i| i.vmctx_ptr())
                .unwrap_or(std::ptr::null_mut());
            // SAFETY: the callback takes its own context, a VMContext of this
            // store, and a value array of sufficient length.
            let failed = unsafe { ((*ctx_ptr).callback)(ctx_ptr, vmctx, values.as_mut_ptr(), 1) };
            if failed != 0 {
                if let Some(p) = store.pending_panic.take() {
                    std::panic::resume_unwind(p);
                }
                return Err(store
                    .pending_error
                    .take()
                    .unwrap_or_else(|| Error::msg("host function failed")));
            }
            Ok(())
        }
    }
}

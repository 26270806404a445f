//! The builtins' bodies: the runtime functions generated code calls through
//! the VMContext's builtins table.
//!
//! The table is generated from `nyash_aot::foreach_builtin_function!`, the one
//! list the translator also builds its calls from: the struct's fields, their
//! `extern "C"` types and the functions that fill them all come from it, so a
//! builtin's slot and signature cannot drift from what generated code
//! expects. A function below with the wrong signature does not compile; the
//! tests check each slot's offset and each field's type against the list.

use nyash_aot::gc_layout::ArrayLayout;
use nyash_aot::module::CompositeType;
use nyash_gc::vm::{Kind, type_word};

use crate::vm::arch::{gc_stub, throw, throw_ref};
use crate::vm::store_opaque::{EpochBehavior, ExnData, InstanceId, StoreOpaque};
use crate::vm::unwind;
use crate::vm::vmcontext::{VMContextHeader, VMStoreContext, ValRaw};

/// The Rust type of a builtin parameter or result type of the list.
macro_rules! builtin_rust_type {
    (u32) => {
        u32
    };
    (u64) => {
        u64
    };
    (pointer) => {
        usize
    };
}

macro_rules! define_builtins_table {
    ($( $(#[$doc:meta])* $camel:ident $name:ident ( $($param:ident : $pty:ident),* ) $(-> $ret:ident)? ;)*) => {
        /// The builtins table a VMContext points to; field order is the
        /// list's, so field `i` is slot `i` of `Builtin`.
        #[repr(C)]
        pub(crate) struct VMBuiltinFunctions {
            $(
                $(#[$doc])*
                pub(crate) $name: unsafe extern "C" fn(*mut u8 $(, builtin_rust_type!($pty))*) $(-> builtin_rust_type!($ret))?,
            )*
        }

        /// The one builtins table, shared by every VMContext.
        pub(crate) static BUILTINS: VMBuiltinFunctions = VMBuiltinFunctions {
            $( $name, )*
        };

        /// Checks every builtin's slot offset and `extern "C"` function type
        /// against the list (part of `vm::vmcontext`'s layout test).
        #[cfg(test)]
        pub(crate) fn assert_table_matches_list() {
            use nyash_aot::builtin::Builtin;
            use std::mem::offset_of;
            {
                assert_eq!(
                    std::mem::size_of::<VMBuiltinFunctions>(),
                    Builtin::COUNT * std::mem::size_of::<usize>()
                );
                $(
                    let b = Builtin::$camel;
                    assert_eq!(b.name(), stringify!($name));
                    assert_eq!(
                        offset_of!(VMBuiltinFunctions, $name),
                        b.table_offset() as usize,
                        "slot of {}", stringify!($name)
                    );
                    let (params, result) = self::tests::signature_of(&BUILTINS.$name);
                    assert_eq!(params, b.params(), "parameters of {}", stringify!($name));
                    assert_eq!(result, b.result(), "result of {}", stringify!($name));
                )*
            }
        }
    };
}

nyash_aot::foreach_builtin_function!(define_builtins_table);

/// The store and instance index of a VMContext.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance, called from its wasm code
/// while no Rust reference into the store is held.
unsafe fn context<'a>(vmctx: *mut u8) -> (&'a mut StoreOpaque, InstanceId) {
    // SAFETY: a VMContext starts with its header (see the function's safety
    // note); the store context it points to is the store's own.
    unsafe {
        let header = &*(vmctx as *const VMContextHeader);
        debug_assert_eq!(
            header.magic,
            nyash_aot::vmoffsets::VMCONTEXT_MAGIC,
            "a builtin was called with something that is not a VMContext"
        );
        let vmstore: *mut VMStoreContext = header.store_context;
        let store = &mut *((*vmstore).store as *mut StoreOpaque);
        (store, InstanceId::from_header(header.instance))
    }
}

unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let m = store.instances[inst].memories[memory as usize];
    store.memories[m as usize].grow(delta).unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_fill(
    vmctx: *mut u8,
    memory: u32,
    dst: u64,
    byte: u32,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let m = store.instances[inst].memories[memory as usize];
    let data = store.memories[m as usize].data_mut();
    match range(dst, len, data.len()) {
        Some(r) => {
            data[r].fill(byte as u8);
            0
        }
        None => 1,
    }
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let d = store.instances[inst].memories[dst_mem as usize] as usize;
    let s = store.instances[inst].memories[src_mem as usize] as usize;
    let (Some(sr), Some(dr)) = (
        range(src, len, store.memories[s].byte_len()),
        range(dst, len, store.memories[d].byte_len()),
    ) else {
        return 1;
    };
    if d == s {
        store.memories[d].data_mut().copy_within(sr, dr.start);
    } else {
        let src_ptr = store.memories[s].data()[sr].as_ptr();
        let dst_slice = &mut store.memories[d].data_mut()[dr];
        // SAFETY: distinct memories never overlap; both ranges were checked.
        unsafe { std::ptr::copy_nonoverlapping(src_ptr, dst_slice.as_mut_ptr(), dst_slice.len()) };
    }
    0
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let instance = &store.instances[inst];
    let module = instance.module.clone();
    let seg = &module.env().datas[data as usize];
    let bytes: &[u8] = if instance.dropped_datas[data as usize] {
        &[]
    } else {
        &module.env().data_bytes[seg.range.clone()]
    };
    let m = instance.memories[memory as usize];
    let mem = store.memories[m as usize].data_mut();
    let (Some(sr), Some(dr)) = (
        range(src as u64, len as u64, bytes.len()),
        range(dst, len as u64, mem.len()),
    ) else {
        return 1;
    };
    mem[dr].copy_from_slice(&bytes[sr]);
    0
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    store.instances[inst].dropped_datas[data as usize] = true;
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, delta: u64, init: usize) -> u64 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst].tables[table as usize];
    store.tables[t as usize]
        .grow(delta, init)
        .unwrap_or(u64::MAX)
}

unsafe extern "C" fn table_fill(
    vmctx: *mut u8,
    table: u32,
    dst: u64,
    value: usize,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst].tables[table as usize];
    let elems = store.tables[t as usize].elements_mut();
    match range(dst, len, elems.len()) {
        Some(r) => {
            elems[r].fill(value);
            0
        }
        None => 1,
    }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let d = store.instances[inst].tables[dst_table as usize] as usize;
    let s = store.instances[inst].tables[src_table as usize] as usize;
    let (Some(sr), Some(dr)) = (
        range(src, len, store.tables[s].elements().len()),
        range(dst, len, store.tables[d].elements().len()),
    ) else {
        return 1;
    };
    if d == s {
        store.tables[d].elements_mut().copy_within(sr, dr.start);
    } else {
        let items: Vec<usize> = store.tables[s].elements()[sr].to_vec();
        store.tables[d].elements_mut()[dr].copy_from_slice(&items);
    }
    0
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let instance = &store.instances[inst];
    let items: &[usize] = instance.elems[elem as usize].as_deref().unwrap_or(&[]);
    let t = instance.tables[table as usize] as usize;
    let Some(sr) = range(src as u64, len as u64, items.len()) else {
        return 1;
    };
    let items = items[sr].to_vec();
    let elems = store.tables[t].elements_mut();
    let Some(dr) = range(dst, len as u64, elems.len()) else {
        return 1;
    };
    elems[dr].copy_from_slice(&items);
    0
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u32) {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    store.instances[inst].elems[elem as usize] = None;
}

unsafe extern "C" fn epoch_deadline(vmctx: *mut u8) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, _) = unsafe { context(vmctx) };
    match store.epoch_behavior {
        EpochBehavior::Trap => 1,
        EpochBehavior::YieldAndUpdate(delta) => {
            if crate::vm::async_driver::yield_now() == crate::vm::async_driver::Yield::Cancelled {
                return 1;
            }
            // SAFETY: the store is still the one this code runs in.
            let (store, _) = unsafe { context(vmctx) };
            store.vmstore.epoch_deadline =
                store.engine.current_epoch().saturating_add(delta.max(1));
            0
        }
    }
}

unsafe extern "C" fn out_of_fuel(vmctx: *mut u8) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, _) = unsafe { context(vmctx) };
    let left = store.fuel_left();
    if left == 0 {
        return 1;
    }
    if store.fuel_yield_interval.is_some()
        && crate::vm::async_driver::yield_now() == crate::vm::async_driver::Yield::Cancelled
    {
        return 1;
    }
    // SAFETY: as above.
    let (store, _) = unsafe { context(vmctx) };
    store.set_fuel_left(left);
    0
}

/// `start..start+len` if it fits in `bound`.
fn range(start: u64, len: u64, bound: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= bound as u64).then_some(start as usize..end as usize)
}

// --- exceptions ----------------------------------------------------------
//
// `throw` and `throw_ref` are called in Cranelift's `tail` convention (see
// `Builtin::unwinds`), as `try_call`s inside a `try_table`. Their table
// entries are assembly stubs (`vm::arch`) that add the caller's return
// address and frame pointer (the throw point the unwinder starts from) to
// the arguments and enter the Rust bodies below.

/// `throw`: makes the exception object (tag `tag` of the calling instance,
/// payload copied from `values`), then throws it.
pub(crate) unsafe extern "C" fn throw_body(
    vmctx: *mut u8,
    tag: u32,
    values: usize,
    pc: usize,
    fp: usize,
) -> u32 {
    let exn = {
        // SAFETY: called by generated code with its own VMContext.
        let (store, inst) = unsafe { context(vmctx) };
        let Some(&store_tag) = store.instances[inst].tags.get(tag as usize) else {
            return 1;
        };
        let n = store.tags[store_tag as usize].ty.params().len();
        // SAFETY: the translator spilled the tag's `n` payload values there.
        let payload = unsafe { std::slice::from_raw_parts(values as *const ValRaw, n) };
        match store.free_exns.pop() {
            // A dead exception's slot: its handler has read its payload
            // (handler blocks load it before anything else runs).
            Some(i) => {
                let data = &mut store.exns[i];
                data.tag = store_tag;
                if data.values.len() == n {
                    data.values.copy_from_slice(payload);
                } else {
                    data.values = payload.into();
                }
                i + 1
            }
            None => {
                store.exns.push(ExnData {
                    tag: store_tag,
                    values: payload.into(),
                    escaped: false,
                });
                store.exns.len()
            }
        }
    };
    // SAFETY: `pc` and `fp` are the throw point, as the stub found them.
    unsafe { throw_exn(vmctx, exn, pc, fp) }
}

/// `throw_ref`: throws the existing exception `exn` (a non-null exnref).
pub(crate) unsafe extern "C" fn throw_ref_body(
    vmctx: *mut u8,
    exn: usize,
    pc: usize,
    fp: usize,
) -> u32 {
    // SAFETY: as for `throw_body`.
    unsafe { throw_exn(vmctx, exn, pc, fp) }
}

/// Resumes at the handler of exception `exn` (exnref: index + 1) thrown at
/// `(pc, fp)`, or, if no wasm frame of this activation catches it, leaves it
/// in the store and returns 1 (the caller traps with `UNCAUGHT_EXCEPTION`,
/// which the call API turns into the exception error).
///
/// # Safety
/// `vmctx` is the VMContext of the instance of the frame at `fp`, and `pc`
/// a return address into that frame.
pub(crate) unsafe fn throw_exn(vmctx: *mut u8, exn: usize, pc: usize, fp: usize) -> u32 {
    // Everything that owns memory lives in this block and is gone before
    // `resume` abandons this frame.
    let target = {
        // SAFETY: as the caller vouches.
        let (store, _) = unsafe { context(vmctx) };
        let Some(index) = exn.checked_sub(1).filter(|i| *i < store.exns.len()) else {
            return 1;
        };
        let data = &store.exns[index];
        let (tag, values) = (data.tag, data.values.as_ptr() as usize);
        let vmstore: *mut VMStoreContext = &mut *store.vmstore;
        let instance_tag = |inst: InstanceId, t: u32| {
            store
                .instances
                .get(inst.as_usize())
                .and_then(|i| i.tags.get(t as usize))
                .copied()
        };
        // SAFETY: the throw point is a frame of generated code on this stack.
        match unsafe { unwind::find_handler(pc, fp, vmstore, tag, &instance_tag) } {
            Some(to) => {
                if to.with_ref {
                    store.exns[index].escaped = true;
                } else if !store.exns[index].escaped {
                    store.free_exns.push(index);
                }
                Some((to, values))
            }
            None => {
                store.pending_exception = Some(exn);
                None
            }
        }
    };
    match target {
        // SAFETY: the handler's frame is on this stack, above this one; the
        // Rust frames in between (this builtin's) own nothing.
        Some((to, values)) => unsafe { unwind::resume(to, exn, values) },
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use nyash_aot::builtin::BuiltinType;

    /// A Rust type that can cross the builtin boundary.
    trait AbiType {
        const TYPE: BuiltinType;
    }
    impl AbiType for u32 {
        const TYPE: BuiltinType = BuiltinType::U32;
    }
    impl AbiType for u64 {
        const TYPE: BuiltinType = BuiltinType::U64;
    }
    impl AbiType for usize {
        const TYPE: BuiltinType = BuiltinType::Pointer;
    }

    /// The signature of an `extern "C"` builtin function pointer, read from
    /// its Rust type (the VMContext parameter first, not listed).
    pub(super) trait BuiltinFn {
        fn signature() -> (Vec<BuiltinType>, Option<BuiltinType>);
    }

    macro_rules! impl_builtin_fn {
        ($($p:ident),*) => {
            impl<$($p: AbiType),*> BuiltinFn for unsafe extern "C" fn(*mut u8 $(, $p)*) {
                fn signature() -> (Vec<BuiltinType>, Option<BuiltinType>) {
                    (vec![$($p::TYPE),*], None)
                }
            }
            impl<R: AbiType, $($p: AbiType),*> BuiltinFn for unsafe extern "C" fn(*mut u8 $(, $p)*) -> R {
                fn signature() -> (Vec<BuiltinType>, Option<BuiltinType>) {
                    (vec![$($p::TYPE),*], Some(R::TYPE))
                }
            }
        };
    }
    impl_builtin_fn!();
    impl_builtin_fn!(A);
    impl_builtin_fn!(A, B);
    impl_builtin_fn!(A, B, C);
    impl_builtin_fn!(A, B, C, D);
    impl_builtin_fn!(A, B, C, D, E);
    impl_builtin_fn!(A, B, C, D, E, F);

    pub(super) fn signature_of<F: BuiltinFn>(_: &F) -> (Vec<BuiltinType>, Option<BuiltinType>) {
        F::signature()
    }
}

// --- GC ------------------------------------------------------------------
//
// The builtins that may collect (`Builtin::may_gc`) have stubs as their
// table entries (`vm::arch::gc_stub!`): each writes the caller's return
// address and frame pointer (the innermost wasm frame) into the store
// context's exit record, where the collector's stack walk starts, and
// jumps to the Rust body with the arguments untouched.

gc_stub!(gc_alloc, gc_alloc_body, (_type_index: u32, _len: u32) -> u32);
gc_stub!(any_convert_extern, any_convert_extern_body, (_handle: usize) -> u64);

unsafe extern "C" fn any_convert_extern_body(vmctx: *mut u8, handle: usize) -> u64 {
    // SAFETY: as for `gc_alloc_body`.
    let (store, _) = unsafe { context(vmctx) };
    match crate::vm::gc_heap::any_from_extern(store, handle) {
        Ok(r) => u64::from(r),
        Err(_) => 1 << 32,
    }
}

unsafe extern "C" fn extern_convert_any(vmctx: *mut u8, r: u32) -> usize {
    // SAFETY: called by generated code with its own VMContext.
    let (store, _) = unsafe { context(vmctx) };
    crate::vm::gc_heap::extern_from_any(store, r)
}
gc_stub!(array_new_data, array_new_data_body, (_type_index: u32, _data: u32, _offset: u32, _len: u32) -> u64);
gc_stub!(array_new_elem, array_new_elem_body, (_type_index: u32, _elem: u32, _offset: u32, _len: u32) -> u64);

/// The type word of module type `type_index` of the instance (a struct or
/// array type, as validation guarantees), and an array type's element
/// layout.
fn gc_type(
    store: &StoreOpaque,
    inst: InstanceId,
    type_index: u32,
) -> Option<(u32, Option<ArrayLayout>)> {
    let module = &store.instances[inst].module;
    let env = module.env();
    let id = *module.inner.type_ids.get(type_index as usize)?;
    match &env.types.get(type_index as usize)?.composite {
        CompositeType::Struct(_) => Some((type_word(id, Kind::Struct), None)),
        CompositeType::Array(f) => Some((
            type_word(id, Kind::Array),
            Some(nyash_aot::gc_layout::array_layout(*f, |h| env.heap_top(h))),
        )),
        CompositeType::Func(_) => None,
    }
}

/// [`gc_type`] of an array type: its type word and element layout.
fn array_type(
    store: &StoreOpaque,
    inst: InstanceId,
    type_index: u32,
) -> Option<(u32, ArrayLayout)> {
    match gc_type(store, inst, type_index)? {
        (w0, Some(layout)) => Some((w0, layout)),
        (_, None) => None,
    }
}

unsafe extern "C" fn gc_alloc_body(vmctx: *mut u8, type_index: u32, len: u32) -> u32 {
    // SAFETY: called by generated code with its own VMContext (the stub
    // recorded the exit).
    let (store, inst) = unsafe { context(vmctx) };
    let Some((w0, elem)) = gc_type(store, inst, type_index) else {
        return 0;
    };
    let w1 = if elem.is_some() { len } else { 0 };
    crate::vm::gc_heap::alloc_raw(store, w0, w1).unwrap_or(0)
}

/// `array.new_data`: bytes of data segment `data` from `offset`.
unsafe extern "C" fn array_new_data_body(
    vmctx: *mut u8,
    type_index: u32,
    data: u32,
    offset: u32,
    len: u32,
) -> u64 {
    // SAFETY: as for `gc_alloc_body`.
    let (store, inst) = unsafe { context(vmctx) };
    let Some((w0, layout)) = array_type(store, inst, type_index) else {
        return 2 << 32;
    };
    let module = store.instances[inst].module.clone();
    let bytes = segment_bytes(store, inst, &module, data);
    let Some(src) = range(
        u64::from(offset),
        u64::from(len) * u64::from(layout.elem_size),
        bytes.len(),
    ) else {
        return 1 << 32;
    };
    let Ok(r) = crate::vm::gc_heap::alloc_raw(store, w0, len) else {
        return 2 << 32;
    };
    let heap = &mut store.gc.as_mut().expect("allocated above").heap;
    match heap.write_bytes(r, layout.elems_offset, &bytes[src]) {
        Ok(()) => u64::from(r),
        Err(_) => 2 << 32,
    }
}

/// The bytes of data segment `data` of an instance (none once dropped).
fn segment_bytes<'m>(
    store: &StoreOpaque,
    inst: InstanceId,
    module: &'m crate::module::Module,
    data: u32,
) -> &'m [u8] {
    let env = module.env();
    match env.datas.get(data as usize) {
        Some(seg) if !store.instances[inst].dropped_datas[data as usize] => {
            &env.data_bytes[seg.range.clone()]
        }
        _ => &[],
    }
}

/// Writes `items[i]` (element segment items, in their raw form) as
/// elements `dst + i` of array `r`.
fn write_elems(
    heap: &mut nyash_gc::GcHeap,
    r: u32,
    layout: ArrayLayout,
    dst: u32,
    items: &[usize],
) -> Result<(), nyash_gc::GcError> {
    for (i, &item) in items.iter().enumerate() {
        let off = layout.elems_offset + (dst + i as u32) * layout.elem_size;
        match (layout.elem_is_ref, layout.elem_size) {
            (true, _) => heap.write_ref(r, off, item as u32)?,
            (false, 8) => heap.write_u64(r, off, item as u64)?,
            _ => heap.write_u32(r, off, item as u32)?,
        }
    }
    Ok(())
}

/// `array.new_elem`: items of element segment `elem` from `offset`.
unsafe extern "C" fn array_new_elem_body(
    vmctx: *mut u8,
    type_index: u32,
    elem: u32,
    offset: u32,
    len: u32,
) -> u64 {
    // SAFETY: as for `gc_alloc_body`.
    let (store, inst) = unsafe { context(vmctx) };
    let Some((w0, layout)) = array_type(store, inst, type_index) else {
        return 2 << 32;
    };
    let n = store.instances[inst]
        .elems
        .get(elem as usize)
        .and_then(|e| e.as_ref())
        .map_or(0, |e| e.len());
    if range(u64::from(offset), u64::from(len), n).is_none() {
        return 1 << 32;
    }
    let Ok(r) = crate::vm::gc_heap::alloc_raw(store, w0, len) else {
        return 2 << 32;
    };
    // The items are roots, updated by any collection above: read them now.
    let StoreOpaque { instances, gc, .. } = store;
    let items = instances[inst].elems[elem as usize]
        .as_deref()
        .unwrap_or(&[]);
    let heap = &mut gc.as_mut().expect("allocated above").heap;
    let items = &items[offset as usize..(offset + len) as usize];
    match write_elems(heap, r, layout, 0, items) {
        Ok(()) => u64::from(r),
        Err(_) => 2 << 32,
    }
}

unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    type_index: u32,
    data: u32,
    array: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let Some((_, layout)) = array_type(store, inst, type_index) else {
        return 1;
    };
    let module = store.instances[inst].module.clone();
    let bytes = segment_bytes(store, inst, &module, data);
    let Some(heap) = store.gc.as_mut().map(|g| &mut g.heap) else {
        return 1;
    };
    let Ok(alen) = heap.array_len(array) else {
        return 1;
    };
    if range(u64::from(dst), u64::from(len), alen as usize).is_none() {
        return 1;
    }
    let es = u64::from(layout.elem_size);
    let Some(src) = range(u64::from(src), u64::from(len) * es, bytes.len()) else {
        return 2;
    };
    let off = layout.elems_offset + dst * layout.elem_size;
    match heap.write_bytes(array, off, &bytes[src]) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    type_index: u32,
    elem: u32,
    array: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, inst) = unsafe { context(vmctx) };
    let Some((_, layout)) = array_type(store, inst, type_index) else {
        return 1;
    };
    let StoreOpaque { instances, gc, .. } = store;
    let Some(heap) = gc.as_mut().map(|g| &mut g.heap) else {
        return 1;
    };
    let Ok(alen) = heap.array_len(array) else {
        return 1;
    };
    if range(u64::from(dst), u64::from(len), alen as usize).is_none() {
        return 1;
    }
    let items = instances[inst]
        .elems
        .get(elem as usize)
        .and_then(|e| e.as_deref())
        .unwrap_or(&[]);
    let Some(src) = range(u64::from(src), u64::from(len), items.len()) else {
        return 2;
    };
    match write_elems(heap, array, layout, dst, &items[src]) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    dst: u32,
    dst_off: u32,
    src: u32,
    src_off: u32,
    bytes: u32,
    refs: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, _) = unsafe { context(vmctx) };
    let Some(heap) = store.gc.as_mut().map(|g| &mut g.heap) else {
        return 1;
    };
    match heap.copy_within(dst, dst_off, src, src_off, bytes, refs != 0) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

unsafe extern "C" fn array_fill(
    vmctx: *mut u8,
    array: u32,
    off: u32,
    value: u64,
    elem_size: u32,
    count: u32,
    refs: u32,
) -> u32 {
    // SAFETY: called by generated code with its own VMContext.
    let (store, _) = unsafe { context(vmctx) };
    let Some(heap) = store.gc.as_mut().map(|g| &mut g.heap) else {
        return 1;
    };
    match heap.fill_elems(array, off, value, elem_size, count, refs != 0) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

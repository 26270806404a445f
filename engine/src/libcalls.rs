//! The builtins' bodies: the runtime functions generated code calls through
//! the VMContext's builtins table.
//!
//! The table is generated from `nyash_aot::foreach_builtin_function!`, the one
//! list the translator also builds its calls from: the struct's fields, their
//! `extern "C"` types and the functions that fill them all come from it, so a
//! builtin's slot and signature cannot drift from what generated code
//! expects. A function below with the wrong signature does not compile; the
//! tests check each slot's offset and each field's type against the list.

use crate::runtime::vm::{VMContextHeader, VMStoreContext};
use crate::store::{EpochBehavior, StoreOpaque};

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
        /// against the list (part of `runtime::vm`'s layout test).
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
unsafe fn context<'a>(vmctx: *mut u8) -> (&'a mut StoreOpaque, usize) {
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
        (store, header.instance)
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
            if crate::async_call::yield_now() == crate::async_call::Yield::Cancelled {
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
        && crate::async_call::yield_now() == crate::async_call::Yield::Cancelled
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

    pub(super) fn signature_of<F: BuiltinFn>(_: &F) -> (Vec<BuiltinType>, Option<BuiltinType>) {
        F::signature()
    }
}

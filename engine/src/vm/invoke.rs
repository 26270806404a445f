//! Crossing between the host and wasm: `invoke` (a synchronous host ->
//! wasm call on the caller's stack), `trap_to_error`, and the host-call
//! callbacks host-call trampolines call (wasm -> host), with `HostFn`, the
//! raw form of a host function they run.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use nyash_aot::vmoffsets::{VMOffsets, store_context, trap_codes};

use crate::error::{Error, ErrorKind, FrameInfo, Result, Trap, TrapCode};
use crate::func::Caller;
use crate::vm::store_opaque::{InstanceId, SavedExit, StoreInner, StoreOpaque};
use crate::vm::vmcontext::{VMHostFuncContext, VMStoreContext, ValRaw};

/// The lowest-level form of a host function: reads its arguments from and
/// writes its results to the raw value array. Shared (an `Arc`) by every
/// store a [`Linker`](crate::Linker) instantiates it in, with the host-call
/// callback made for the closure's own type, which calls it directly (no
/// virtual call on the wasm -> host path).
pub(crate) struct HostFn<T> {
    pub(crate) call: Arc<RawHostFn<T>>,
    /// `host_callback::<T, F>` for the closure type `F` behind `call`.
    pub(crate) callback: HostCallback,
}

/// A host function's closure over raw values.
pub(crate) type RawHostFn<T> =
    dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static;

/// What a host-call trampoline calls: (context, caller VMContext, values,
/// number of values) -> 0, 1 (error left in the store) or 2 (exception).
pub(crate) type HostCallback =
    unsafe extern "C" fn(*mut VMHostFuncContext, *mut u8, *mut ValRaw, usize) -> u32;

impl<T> Clone for HostFn<T> {
    fn clone(&self) -> Self {
        HostFn {
            call: self.call.clone(),
            callback: self.callback,
        }
    }
}

impl<T: 'static> HostFn<T> {
    pub(crate) fn new<F>(f: F) -> HostFn<T>
    where
        F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
    {
        HostFn {
            call: Arc::new(f),
            callback: host_callback::<T, F>,
        }
    }
}

impl<T> std::ops::Deref for HostFn<T> {
    type Target = RawHostFn<T>;
    fn deref(&self) -> &Self::Target {
        &*self.call
    }
}

/// Runs `trampoline(vmctx, vmctx, wasm_call, values)` on the calling
/// thread's stack and turns a trap into an error.
///
/// The store comes as a raw pointer: host functions the call reaches use
/// the store too (through the VMContext's store context), so nothing here
/// may assume the call leaves it alone.
///
/// # Safety
/// `store` must be valid, and not otherwise borrowed while this runs.
/// `trampoline` must be an entry trampoline for `wasm_call`'s type, `vmctx`
/// the VMContext of a live instance of `store`, and `values` sized for the type.
pub(crate) unsafe fn invoke(
    store: *mut StoreOpaque,
    trampoline: *const u8,
    vmctx: *mut u8,
    wasm_call: *const u8,
    values: *mut ValRaw,
) -> Result<()> {
    // SAFETY: entry trampolines have exactly this signature (aot::abi), with
    // four pointer-sized arguments.
    let entry: nyash_asyncify::EntryFn =
        unsafe { std::mem::transmute::<*const u8, nyash_asyncify::EntryFn>(trampoline) };
    // SAFETY: the caller vouches for `store`; the store context is boxed,
    // so `vm` stays valid for the whole call.
    let (vm, inner) = unsafe {
        (
            &raw mut *(*store).vmstore,
            &*Arc::as_ptr(&(*store).engine.inner),
        )
    };
    // This call's exit record starts empty; the enclosing call's (if any)
    // is kept in this frame, linked from the store, for the collector's
    // stack walk until this one returns.
    // SAFETY: as above.
    let saved = unsafe {
        let saved = SavedExit {
            record: [(*vm).last_exit_pc, (*vm).last_exit_fp],
            prev: (*store).sync_exits,
        };
        (*vm).last_exit_pc = 0;
        (*vm).last_exit_fp = 0;
        saved
    };
    // SAFETY: `saved` stays in this frame until it is unlinked below.
    unsafe { (*store).sync_exits = &saved };
    // A synchronous call cannot suspend: async host functions it reaches see
    // its activation, not a fiber's, as the innermost one, and fail.
    // SAFETY: the trampoline is generated code whose faults are traps of a
    // registered image; host functions it reaches catch panics and report
    // errors by return value (`host_callback`), so only trampoline and wasm
    // frames can be abandoned by a trap, and nothing unwinds through here
    // (which would leave `saved` linked). The caller vouches for the pointers.
    let result = unsafe {
        nyash_asyncify::call_here(
            &inner.stacks,
            &raw mut (*vm).stack_limit,
            inner.config.max_wasm_stack,
            entry,
            [
                vmctx as usize,
                vmctx as usize,
                wasm_call as usize,
                values as usize,
            ],
        )
    };
    // SAFETY: as above; every call nested in this one has unlinked its own.
    unsafe {
        (*store).sync_exits = saved.prev;
        (*vm).last_exit_pc = saved.record[0];
        (*vm).last_exit_fp = saved.record[1];
    }
    match result {
        Ok(()) => Ok(()),
        // SAFETY: the call is over; nothing else borrows the store.
        Err(trap) => Err(trap_to_error(unsafe { &mut *store }, trap)),
    }
}

pub(crate) fn trap_to_error(store: &mut StoreOpaque, trap: nyash_asyncify::Trap) -> Error {
    if crate::error::cranelift_trap(trap.code) == Some(trap_codes::UNCAUGHT_EXCEPTION)
        && let Some(exn) = store.pending_exception.take()
        && let Some(exn) = store.exn_of_raw(exn)
    {
        return crate::exceptions::from_exn(store, &exn).into();
    }
    let host_error = crate::error::cranelift_trap(trap.code) == Some(trap_codes::HOST_ERROR);
    if host_error {
        if let Some(payload) = store.pending_panic.take() {
            panic::resume_unwind(payload);
        }
        if let Some(e) = store.pending_error.take() {
            return e;
        }
        // A function that lazy compilation could not compile.
        if let Some(e) = crate::vm::lazy::take_compile_error() {
            return e;
        }
    }
    let code = TrapCode::from_raw(trap.code).unwrap_or(TrapCode::UnreachableCodeReached);
    let backtrace = trap
        .backtrace
        .iter()
        .enumerate()
        .flat_map(|(i, &pc)| {
            // Return addresses point after the call; look up the call itself.
            let pc = if i == 0 { pc } else { pc - 1 };
            let module = store.code_starts.range(..=pc).next_back().map(|(_, m)| m);
            // A function inlined at `pc` is a frame of its own, inside its caller's.
            module.into_iter().flat_map(move |module| {
                module.funcs_at_pc(pc).map(move |func_index| FrameInfo {
                    module_name: module.name().map(str::to_string),
                    func_index,
                    func_name: module.func_name(func_index).map(str::to_string),
                })
            })
        })
        .collect();
    Error::new(ErrorKind::Trap(Trap {
        code,
        backtrace,
        message: None,
    }))
}

/// The closure of a host function.
///
/// # Safety
/// `ctx` must be the context of a function of a `StoreInner<T>` with this
/// `T` (`new_raw` stores a `Box<HostFn<T>>` there for the store's `T`).
pub(crate) unsafe fn host_fn_of<T>(ctx: &VMHostFuncContext) -> &HostFn<T> {
    // SAFETY: as the caller vouches; the box lives as long as `ctx`.
    unsafe { &*(ctx.host_fn as *const HostFn<T>) }
}

/// Frees a `Box<F>` made by `Box::into_raw` and kept as `*const ()`.
pub(crate) unsafe fn drop_boxed<F>(p: *const ()) {
    // SAFETY: the caller passes a pointer from `Box::<F>::into_raw`, once.
    drop(unsafe { Box::from_raw(p as *mut F) });
}

/// Called by a host-call trampoline: runs the host function with the store
/// of the calling instance. Returns 0 on success; otherwise the error (or
/// panic) is left in the store and the trampoline traps with `HOST_ERROR`.
///
/// Made for the closure type `F`: `ctx.closure` points at an `F` (see
/// [`HostFn::new`]), called directly.
unsafe extern "C" fn host_callback<T: 'static, F>(
    ctx: *mut VMHostFuncContext,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> u32
where
    F: Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    // SAFETY: the trampoline passes the host context it was given, the
    // calling instance's VMContext (whose store context points back at the
    // `StoreInner<T>` that owns it) and an array of `len` values. The store
    // is not otherwise borrowed while wasm runs: `invoke` holds only pointers.
    unsafe {
        let vmstore =
            *(caller_vmctx.add(VMOffsets::STORE_CONTEXT as usize) as *const *mut VMStoreContext);
        debug_assert_eq!(store_context::STORE, 32);
        let store = &mut *((*vmstore).store as *mut StoreInner<T>);
        let caller = InstanceId::from_header(
            *(caller_vmctx.add(VMOffsets::INSTANCE as usize) as *const usize),
        );
        let values = std::slice::from_raw_parts_mut(values, len);
        // The trampoline's context is this store's function, made for this
        // `T`, and this callback for its closure's type.
        let call = &*((*ctx).closure as *const F);
        // References the host function is handed are rooted for the
        // duration of the call only.
        let roots = store.opaque.gc.as_ref().map_or(0, |g| g.roots.len());
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            call(
                Caller {
                    store: &mut *store,
                    caller: Some(caller),
                },
                values,
            )
        }));
        if let Some(g) = store.opaque.gc.as_mut() {
            g.roots.truncate(roots);
        }
        match result {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => match e.exception() {
                // An exception of this store: thrown into the caller (the
                // trampoline throws the exnref left in `values[0]`).
                Some(exc) if exc.exnref().store == store.opaque.id => {
                    values[0].r#ref = exc.exnref().to_raw();
                    2
                }
                _ => {
                    store.opaque.pending_error = Some(e);
                    1
                }
            },
            Err(payload) => {
                store.opaque.pending_panic = Some(payload);
                1
            }
        }
    }
}

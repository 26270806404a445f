//! Functions: calling wasm from the host, and host functions callable from wasm.

pub(crate) mod typed;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use nyash_aot::vmoffsets::{VMOffsets, store_context, trap_codes};

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, FrameInfo, Result, Trap, TrapCode};
use crate::externals::Extern;
use crate::store::{
    AsContext, AsContextMut, FuncData, FuncKind, SavedExit, StoreContext, StoreContextMut,
    StoreInner, StoreOpaque, check_store,
};
use crate::types::FuncType;
use crate::values::Val;
use crate::vm::vmcontext::{VMFuncRef, VMHostFuncContext, VMStoreContext, ValRaw};

/// The lowest-level form of a host function: reads its arguments from and
/// writes its results to the raw value array. Shared (an `Arc`) by every
/// store a [`Linker`](crate::Linker) instantiates it in, with the host-call
/// callback made for the closure's own type, which calls it directly (no
/// virtual call on the wasm -> host path).
pub(crate) struct HostFn<T> {
    call: Arc<RawHostFn<T>>,
    /// `host_callback::<T, F>` for the closure type `F` behind `call`.
    callback: HostCallback,
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

/// A dynamically typed host function: arguments in, results out (see [`Func::new`]).
pub(crate) type DynHostFn<T> = dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()>;

/// A WebAssembly function, defined by an instance or by the host: a handle
/// into the store that made it (`Copy`; using it with another store panics).
///
/// Call it with dynamically typed [`Val`]s ([`Func::call`]), or get a
/// [`TypedFunc`](crate::TypedFunc) once with [`Func::typed`] and call that.
///
/// ```
/// use nyash_engine::{Engine, Func, FuncType, Store, Val, ValType};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = FuncType { params: vec![ValType::I32], results: vec![ValType::I32] };
/// let square = Func::new(&mut store, ty, |_caller, args, results| {
///     let x = args[0].i32().expect("an i32, as the type says");
///     results[0] = Val::I32(x * x);
///     Ok(())
/// })?;
/// let mut out = [Val::I32(0)];
/// square.call(&mut store, &[Val::I32(7)], &mut out)?;
/// assert_eq!(out[0], Val::I32(49));
///
/// // Arguments are checked against the type.
/// assert!(square.call(&mut store, &[Val::I64(7)], &mut out).is_err());
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// The context a host function runs in: exclusive access to the store (and
/// so to its data `T`), and the instance that called it.
///
/// It is an [`AsContextMut`], so a host function can pass it (as
/// `&mut caller`) wherever the API takes a store, for example to read the
/// caller's memory or to call back into wasm.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    pub(crate) caller: Option<u32>,
}

impl<T> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The store's data, mutable.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// Runs a full garbage collection of the store's GC heap (see
    /// [`Store::gc`](crate::Store::gc)); the wasm frames suspended below
    /// this host function keep their references.
    pub fn gc(&mut self) -> Result<()> {
        crate::vm::gc_heap::full_collection(&mut self.store.opaque)
    }

    /// The engine the store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.store.opaque.engine
    }

    /// An export of the calling instance (e.g. its `memory`). `None` if it
    /// has no export of that name, or if the host function was called by the
    /// host rather than by wasm.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.caller?;
        crate::instance::export_of(&mut self.store.opaque, instance, name)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl Func {
    /// A host function of type `ty`, with dynamically typed arguments and
    /// results. `f` receives the arguments (of `ty`'s parameter types) and
    /// must fill `results` (one slot per result, preset to zeros) with values
    /// of the result types; a value of another type makes the call fail.
    /// An `Err` from `f` fails the call that reached it with that error.
    ///
    /// Fails only if no host-call trampoline can be compiled for `ty`.
    /// [`Func::wrap`] makes one from a closure with static types.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        let ty2 = ty.clone();
        let raw = HostFn::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
            call_dynamic(&mut caller, &ty2, &f, values)
        });
        Func::new_raw(store.as_context_mut().0, ty, raw)
    }

    pub(crate) fn new_raw<T: 'static>(
        store: &mut StoreInner<T>,
        ty: FuncType,
        call: HostFn<T>,
    ) -> Result<Func> {
        let opaque = &mut store.opaque;
        for t in ty.params.iter().chain(&ty.results) {
            crate::externals::check_engine_form(opaque, *t)?;
        }
        let type_id = opaque.engine.type_id(&ty)?;
        let wasm_call = opaque.engine.host_trampoline(type_id)? as *const u8;
        let index = opaque.funcs.len() as u32;
        // The closure itself, for the callback made for its type.
        let closure = Arc::as_ptr(&call.call) as *const ();
        let mut ctx = Box::new(VMHostFuncContext {
            callback: call.callback,
            func_ref: VMFuncRef {
                wasm_call,
                vmctx: std::ptr::null_mut(),
                type_id,
                _pad: 0,
            },
            func_index: index as usize,
            closure,
            host_fn: Box::into_raw(Box::new(call)) as *const (),
            drop_host_fn: drop_boxed::<HostFn<T>>,
        });
        let ctx_ptr: *mut VMHostFuncContext = &mut *ctx;
        ctx.func_ref.vmctx = ctx_ptr.cast();
        let func_ref: *const VMFuncRef = &ctx.func_ref;
        opaque.funcs.push(FuncData {
            kind: FuncKind::Host { ctx },
            type_id,
            func_ref,
        });
        opaque.funcs_by_ref.insert(func_ref as usize, index);
        Ok(Func {
            store: opaque.id,
            index,
        })
    }

    /// The function's type. Panics if `store` is not the function's store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        check_store(store, self.store);
        store
            .engine
            .type_of(store.funcs[self.index as usize].type_id)
    }

    /// Calls the function with dynamically typed values. `params` must match
    /// the parameter types and `results` must have room for every result
    /// (extra slots are left alone); otherwise this fails before calling.
    /// A trap or a failing host function is returned as the error
    /// ([`Error::trap_code`](crate::Error::trap_code) tells a trap's code).
    pub fn call<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        let ty = self.ty(StoreContext(store));
        if params.len() != ty.params.len() {
            return Err(Error::msg(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                params.len()
            )));
        }
        if results.len() < ty.results.len() {
            return Err(Error::msg(format!(
                "expected room for {} results, got {}",
                ty.results.len(),
                results.len()
            )));
        }
        for (i, (p, t)) in params.iter().zip(&ty.params).enumerate() {
            p.check_ty(&store.opaque, *t)
                .map_err(|why| Error::msg(format!("argument {i}: {why}")))?;
        }
        let n = ty.params.len().max(ty.results.len());
        let mut small = [ValRaw::ZERO; 16];
        let mut heap;
        let raw: &mut [ValRaw] = if n <= small.len() {
            &mut small[..n]
        } else {
            heap = vec![ValRaw::ZERO; n];
            &mut heap
        };
        for (slot, p) in raw.iter_mut().zip(params) {
            *slot = p.to_raw(&store.opaque);
        }
        self.call_raw(store, raw)?;
        for (i, t) in ty.results.iter().enumerate() {
            // SAFETY: the function returned values of its declared result types.
            results[i] = unsafe { Val::from_raw(&mut store.opaque, raw[i], *t) };
        }
        Ok(())
    }

    /// Calls with arguments and results in `values` (sized for the larger of the two).
    #[inline]
    pub(crate) fn call_raw<T: 'static>(
        &self,
        store: &mut StoreInner<T>,
        values: &mut [ValRaw],
    ) -> Result<()> {
        check_store(&store.opaque, self.store);
        match store.opaque.funcs[self.index as usize].kind {
            FuncKind::Wasm {
                entry: trampoline,
                wasm_call,
                vmctx,
                ..
            } => {
                // SAFETY: the trampoline, code and vmctx belong to a live
                // instance of this store, and `values` is sized for the type.
                unsafe {
                    invoke(
                        &mut store.opaque,
                        trampoline,
                        vmctx,
                        wasm_call,
                        values.as_mut_ptr(),
                    )
                }
            }
            FuncKind::Host { ref ctx } => {
                let ctx: *const VMHostFuncContext = &**ctx;
                // SAFETY: the context is the store's, boxed, and outlives
                // the clone of its closure `call_host` starts with.
                unsafe { Self::call_host(store, ctx, values) }
            }
        }
    }

    /// `call_raw` of a host function: calls its closure directly.
    ///
    /// # Safety
    /// `ctx` must be the context of a host function of `store` (so its
    /// closure is for this `T`), valid until the closure is cloned.
    #[inline(never)]
    unsafe fn call_host<T: 'static>(
        store: &mut StoreInner<T>,
        ctx: *const VMHostFuncContext,
        values: &mut [ValRaw],
    ) -> Result<()> {
        // SAFETY: as the caller vouches (`check_store` made sure the
        // function is this store's).
        let call = unsafe { host_fn_of::<T>(&*ctx) }.clone();
        call(
            Caller {
                store,
                caller: None,
            },
            values,
        )
    }

    /// The func a funcref pointer refers to.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: usize) -> Option<Func> {
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
        let inst = &store.instances[instance as usize];
        let module = inst.module.clone();
        let offsets = &module.inner.offsets;
        let first = offsets.func_ref(0) as usize;
        let slot = (raw - start - first) / nyash_aot::vmoffsets::func_ref::SIZE as usize;
        let func_index = module.inner.slot_funcs[slot];
        Some(crate::instance::wasm_func(store, instance, func_index))
    }
}

/// Runs a dynamically typed host function on raw values.
pub(crate) fn call_dynamic<T>(
    caller: &mut Caller<'_, T>,
    ty: &FuncType,
    f: &DynHostFn<T>,
    values: &mut [ValRaw],
) -> Result<()> {
    let args: Vec<Val> = ty
        .params
        .iter()
        .zip(values.iter())
        // SAFETY: the trampoline wrote values of the declared parameter types.
        .map(|(t, v)| unsafe { Val::from_raw(&mut caller.store.opaque, *v, *t) })
        .collect();
    let mut results: Vec<Val> = ty
        .results
        .iter()
        .map(|t| Val::default_in(&caller.store.opaque, *t))
        .collect();
    f(caller.reborrow(), &args, &mut results)?;
    for (i, (r, t)) in results.iter().zip(&ty.results).enumerate() {
        r.check_ty(&caller.store.opaque, *t)
            .map_err(|why| Error::msg(format!("host function's result {i}: {why}")))?;
        values[i] = r.to_raw(&caller.store.opaque);
    }
    Ok(())
}

impl<T> Caller<'_, T> {
    fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: self.store,
            caller: self.caller,
        }
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
        && let Some(index) = exn.checked_sub(1).filter(|i| *i < store.exns.len())
    {
        return crate::exceptions::from_raw_index(store, index).into();
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
    Error::new(ErrorKind::Trap(Trap { code, backtrace }))
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
unsafe fn drop_boxed<F>(p: *const ()) {
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
        let caller = *(caller_vmctx.add(VMOffsets::INSTANCE as usize) as *const usize) as u32;
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

//! Functions: calling wasm from the host, and host functions callable from wasm.

pub(crate) mod typed;

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::externals::Extern;
use crate::instance::Instance;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut};
use crate::types::FuncType;
use crate::values::Val;
use crate::vm::invoke::{HostFn, drop_boxed, host_fn_of, invoke};
use crate::vm::store_opaque::{FuncKind, StoreInner, StoreOpaque};
use crate::vm::vmcontext::{VMFuncRef, VMHostFuncContext, ValRaw};

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
    /// The calling instance; `None` when the host called.
    pub(crate) caller: Option<crate::vm::store_opaque::InstanceId>,
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
        self.store.opaque.engine()
    }

    /// An export of the calling instance (e.g. its `memory`). `None` if it
    /// has no export of that name, or if the host function was called by the
    /// host rather than by wasm.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.caller?;
        let instance = Instance {
            store: self.store.opaque.id(),
            index: instance.as_u32(),
        };
        crate::vm::instantiate::export_of(&mut self.store.opaque, &instance, name)
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
        let type_id = opaque.engine().type_id(&ty)?;
        let wasm_call = opaque.engine().host_trampoline(type_id)? as *const u8;
        let index = opaque.next_func_index();
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
        Ok(opaque.push_host_func(ctx, type_id))
    }

    /// The function's type. Panics if `store` is not the function's store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        store.engine().type_of(store.func(self).type_id)
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

    /// Calls the function in an async call: async host functions it reaches
    /// suspend it instead of blocking, and so do epoch and fuel yields.
    /// Dropping the future cancels the call. Fails without
    /// [`Config::async_support`](crate::Config::async_support); otherwise
    /// as [`Func::call`].
    pub async fn call_async<T: Send + 'static>(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        let ty = self.ty(crate::store::StoreContext(store));
        if params.len() != ty.params.len() || results.len() < ty.results.len() {
            return Err(Error::msg(format!(
                "arguments or results do not fit the type {ty}"
            )));
        }
        let mut raw: Vec<ValRaw> = vec![ValRaw::ZERO; ty.params.len().max(ty.results.len()).max(1)];
        for (i, (p, t)) in params.iter().zip(&ty.params).enumerate() {
            if p.ty() != *t {
                return Err(Error::msg(format!(
                    "argument {i} is a {}, expected {t}",
                    p.ty()
                )));
            }
            raw[i] = p.to_raw(&store.opaque);
        }
        self.call_raw_async(store, &mut raw).await?;
        for (i, t) in ty.results.iter().enumerate() {
            // SAFETY: the function returned values of its declared result types.
            results[i] = unsafe { Val::from_raw(&mut store.opaque, raw[i], *t) };
        }
        Ok(())
    }

    /// `call_raw` in an async call (see [`Func::call_async`]).
    pub(crate) async fn call_raw_async<T: Send + 'static>(
        &self,
        store: &mut StoreInner<T>,
        values: &mut [ValRaw],
    ) -> Result<()> {
        crate::vm::async_driver::call_raw_async(self, store, values).await
    }

    /// Calls with arguments and results in `values` (sized for the larger of the two).
    #[inline]
    pub(crate) fn call_raw<T: 'static>(
        &self,
        store: &mut StoreInner<T>,
        values: &mut [ValRaw],
    ) -> Result<()> {
        match store.opaque.func(self).kind {
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
        // SAFETY: as the caller vouches (`StoreOpaque::func` made sure the
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
    #[inline]
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: usize) -> Option<Func> {
        crate::vm::instantiate::func_from_raw(store, raw)
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

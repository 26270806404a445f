//! Calls across the component boundary, in their dynamic form: every
//! value goes through a [`Val`] and the canonical ABI's lift and lower
//! (`abi.rs`). Four kinds: the host calling a lifted export
//! ([`call_lifted`]), a component calling a lowered host function
//! ([`lowered_host_func`]), one component instance calling another's
//! export through a fused adapter ([`adapter_func`], where the compiler
//! made no compiled adapter: `adapter.rs`), and the resource built-ins
//! ([`resource_builtin`]).
//!
//! The canonical ABI's instance flags are kept here: an instance is not
//! entered again while a call into it is in progress, and after a trap in
//! it never again (`may_enter`); a call enters the callee and its
//! ancestors less those the caller is already in (`entering_set`), so a
//! child may call back into the parent that called it (donut wrapping);
//! it does not call out while its `realloc` or `post-return` runs
//! (`may_leave`).

use std::sync::Arc;

use nyash_aot::component::inline::ComponentInstanceId;
use nyash_aot::component::types::{FuncType, FuncTypeIndex, ResourceIndex};

use super::abi::{Abi, AbiHost, CoreTy, Flat, MAX_FLAT_PARAMS};
use super::component::{Component, ComponentInner};
use super::linker::{DynHostFunc, HostDtor, HostFunc, HostFuncAsync, TypedHostCall};

/// The dynamic host function a lowered import calls.
enum HostCall<T> {
    Sync(Arc<DynHostFunc<T>>),
    Async(Arc<HostFuncAsync<T>>),
}
use super::resources::{ResourceAny, Slot, trap};
use super::store::{ComponentStore, LiftedFunc, ResolvedOptions};
use super::typed::{self, Lift, LiftContext, Lower, LowerContext};
use super::val::Val;
use crate::store::{StoreContext, StoreContextMut};
use crate::vm::invoke::HostFn;
use crate::vm::store_opaque::StoreInner;
use crate::vm::vmcontext::ValRaw;
use crate::{
    Caller, ComponentTrap, Error, ErrorKind, Func as CoreFunc, FuncType as CoreFuncType, Result,
    Val as CoreVal, ValType,
};

/// The core function type of flat parameters and results.
pub(crate) fn core_func_type(params: &[CoreTy], results: &[CoreTy]) -> CoreFuncType {
    let ty = |t: &CoreTy| match t {
        CoreTy::I32 => ValType::I32,
        CoreTy::I64 => ValType::I64,
        CoreTy::F32 => ValType::F32,
        CoreTy::F64 => ValType::F64,
    };
    CoreFuncType {
        params: params.iter().map(ty).collect(),
        results: results.iter().map(ty).collect(),
    }
}

fn to_flat(v: &CoreVal) -> Result<Flat> {
    Ok(match v {
        CoreVal::I32(x) => Flat::I32(*x),
        CoreVal::I64(x) => Flat::I64(*x),
        CoreVal::F32(x) => Flat::F32(*x),
        CoreVal::F64(x) => Flat::F64(*x),
        other => {
            return Err(nyash_aot::bug_error!("core value {other:?} in a flat signature").into());
        }
    })
}

/// A core value of type `t` out of its raw slot.
fn raw_to_flat(r: ValRaw, t: &ValType) -> Result<Flat> {
    // SAFETY: the slot holds a value of the signature's type `t` (the
    // engine's call of a host function of that type), and every field of
    // the union is plain bits.
    Ok(unsafe {
        match t {
            ValType::I32 => Flat::I32(r.i32),
            ValType::I64 => Flat::I64(r.i64),
            ValType::F32 => Flat::F32(r.f32),
            ValType::F64 => Flat::F64(r.f64),
            other => {
                return Err(
                    nyash_aot::bug_error!("core type {other:?} in a flat signature").into(),
                );
            }
        }
    })
}

/// A flat value in a raw slot, as the engine writes one of its type.
fn flat_to_raw(v: Flat) -> ValRaw {
    match v {
        Flat::I32(x) => ValRaw {
            i64: x as u32 as i64,
        },
        Flat::I64(x) => ValRaw { i64: x },
        Flat::F32(x) => ValRaw { i64: x as i64 },
        Flat::F64(x) => ValRaw { f64: x },
    }
}

fn to_core(v: Flat) -> CoreVal {
    match v {
        Flat::I32(x) => CoreVal::I32(x),
        Flat::I64(x) => CoreVal::I64(x),
        Flat::F32(x) => CoreVal::F32(x),
        Flat::F64(x) => CoreVal::F64(x),
    }
}

/// What lift and lower reach through: the store, and the component
/// instance whose canonical options apply.
struct AbiCx<'s, T> {
    store: &'s mut StoreInner<T>,
    data: u32,
    inst: ComponentInstanceId,
    options: ResolvedOptions,
    /// The call scope borrows are lent to and lenders recorded in.
    scope: usize,
}

impl<T: 'static> AbiCx<'_, T> {
    /// The store's resource type `ty` means in this instance, if known.
    fn expected(&mut self, ty: ResourceIndex) -> Option<u32> {
        let (data, inst) = (self.data, self.inst);
        self.store.opaque.components().resource_type(data, inst, ty)
    }

    /// Checks the store's resource type a handle has (`found`) against the
    /// one expected, if known.
    fn check_type(&mut self, handle: u32, expected: Option<u32>, found: u32) -> Result<()> {
        let cs = self.store.opaque.components();
        match expected {
            Some(expected) if expected != found => {
                let what = |rt: u32| match cs.resource_types[rt as usize].owner {
                    Some(_) => "guest-defined resource",
                    None => "host-defined resource",
                };
                let (e, f) = (what(expected), what(found));
                let different = if e == f { "a different " } else { "" };
                Err(trap(
                    ComponentTrap::WrongHandleType,
                    format!(
                        "handle index {handle} used with the wrong type, expected {e} but found {different}{f}"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn lower_own_checked(&mut self, expected: Option<u32>, r: &ResourceAny) -> Result<u32> {
        self.check_store(r)?;
        if expected.is_some_and(|e| e != r.rt) {
            return Err(trap(
                ComponentTrap::ResourceMismatch,
                "resource of the wrong type passed as an owned handle",
            ));
        }
        let (data, inst) = (self.data, self.inst);
        self.store
            .opaque
            .components()
            .table(data, inst)
            .add(Slot::Own {
                rt: r.rt,
                rep: r.rep,
                lends: 0,
            })
    }

    fn lower_borrow_checked(&mut self, expected: Option<u32>, r: &ResourceAny) -> Result<u32> {
        self.check_store(r)?;
        let (data, inst, scope) = (self.data, self.inst, self.scope);
        let cs = self.store.opaque.components();
        if expected.is_some_and(|e| e != r.rt) {
            return Err(trap(
                ComponentTrap::ResourceMismatch,
                "resource of the wrong type passed as a borrowed handle",
            ));
        }
        // The resource's own implementation gets the representation.
        if cs.resource_types[r.rt as usize].owner == Some((data, inst)) {
            return Ok(r.rep);
        }
        let h = cs.table(data, inst).add(Slot::Borrow {
            rt: r.rt,
            rep: r.rep,
            scope,
            lends: 0,
        })?;
        if let Some(s) = cs.scopes.get_mut(scope) {
            s.borrows += 1;
        }
        Ok(h)
    }

    fn lift_own_checked(&mut self, expected: Option<u32>, handle: u32) -> Result<ResourceAny> {
        let (data, inst) = (self.data, self.inst);
        let slot = self
            .store
            .opaque
            .components()
            .table(data, inst)
            .get(handle)?;
        match slot {
            Slot::Own { rt, rep, lends } => {
                self.check_type(handle, expected, rt)?;
                if lends > 0 {
                    return Err(trap(
                        ComponentTrap::OwnedWhileBorrowed,
                        "cannot remove owned resource while borrowed",
                    ));
                }
                let cs = self.store.opaque.components();
                cs.table(data, inst).remove(handle)?;
                Ok(ResourceAny {
                    store: self.store.opaque.id(),
                    rt,
                    rep,
                    own: true,
                })
            }
            Slot::Borrow { .. } => Err(trap(
                ComponentTrap::NotOwned,
                format!("handle index {handle} is a borrowed handle, not an owned one"),
            )),
            Slot::Free => Err(trap(
                ComponentTrap::UnknownHandle,
                format!("unknown handle index {handle}"),
            )),
            Slot::Async(_) => Err(super::resources::not_a_resource(handle)),
        }
    }

    fn lift_borrow_checked(&mut self, expected: Option<u32>, handle: u32) -> Result<ResourceAny> {
        let (data, inst, scope) = (self.data, self.inst, self.scope);
        let slot = self
            .store
            .opaque
            .components()
            .table(data, inst)
            .get(handle)?;
        let (rt, rep) = match slot {
            Slot::Own { rt, rep, .. } | Slot::Borrow { rt, rep, .. } => (rt, rep),
            Slot::Free => {
                return Err(trap(
                    ComponentTrap::UnknownHandle,
                    format!("unknown handle index {handle}"),
                ));
            }
            Slot::Async(_) => return Err(super::resources::not_a_resource(handle)),
        };
        self.check_type(handle, expected, rt)?;
        let cs = self.store.opaque.components();
        if let Slot::Own { lends, .. } | Slot::Borrow { lends, .. } =
            &mut *cs.table(data, inst).get_mut(handle)?
        {
            *lends += 1;
        }
        if let Some(s) = cs.scopes.get_mut(scope) {
            s.lenders.push((data, inst, handle));
        }
        Ok(ResourceAny {
            store: self.store.opaque.id(),
            rt,
            rep,
            own: false,
        })
    }
}

impl<T: 'static> AbiHost for AbiCx<'_, T> {
    fn memory(&mut self) -> Result<&mut [u8]> {
        match self.options.memory {
            Some(m) => Ok(m.data_mut(StoreContextMut(&mut *self.store))),
            None => Err(trap(
                ComponentTrap::PointerOutOfBounds,
                "canonical options have no memory",
            )),
        }
    }

    fn memory_len(&mut self) -> Option<u64> {
        let m = self.options.memory?;
        Some(m.data_mut(StoreContextMut(&mut *self.store)).len() as u64)
    }

    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let Some(f) = self.options.realloc else {
            return Err(trap(
                ComponentTrap::ReallocOutOfBounds,
                "canonical options have no realloc",
            ));
        };
        let (data, inst) = (self.data, self.inst);
        self.store
            .opaque
            .components()
            .flags(data, inst)
            .set_may_leave(false);
        let mut out = [CoreVal::I32(0)];
        let args = [old_ptr, old_size, align, new_size].map(|x| CoreVal::I32(x as i32));
        let r = trap_on_throw(f.call(StoreContextMut(&mut *self.store), &args, &mut out));
        self.store
            .opaque
            .components()
            .flags(data, inst)
            .set_may_leave(true);
        r?;
        match out[0] {
            CoreVal::I32(p) => Ok(p as u32),
            _ => Err(trap(
                ComponentTrap::ReallocOutOfBounds,
                "realloc returned a value of the wrong type",
            )),
        }
    }

    fn lower_own(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32> {
        let expected = self.expected(ty);
        self.lower_own_checked(expected, r)
    }

    fn lower_borrow(&mut self, ty: ResourceIndex, r: &ResourceAny) -> Result<u32> {
        let expected = self.expected(ty);
        self.lower_borrow_checked(expected, r)
    }

    fn lift_own(&mut self, ty: ResourceIndex, handle: u32) -> Result<ResourceAny> {
        let expected = self.expected(ty);
        self.lift_own_checked(expected, handle)
    }

    fn lift_borrow(&mut self, ty: ResourceIndex, handle: u32) -> Result<ResourceAny> {
        let expected = self.expected(ty);
        self.lift_borrow_checked(expected, handle)
    }

    fn host_resource_type(&mut self, id: std::any::TypeId) -> Result<(u64, u32)> {
        let store = self.store.opaque.id();
        Ok((
            store,
            self.store.opaque.components().host_resource_type(id, None),
        ))
    }

    fn lower_handle(&mut self, r: &ResourceAny, borrow: bool) -> Result<u32> {
        if borrow {
            self.lower_borrow_checked(None, r)
        } else {
            self.lower_own_checked(None, r)
        }
    }

    fn lift_handle(
        &mut self,
        expected: Option<u32>,
        handle: u32,
        borrow: bool,
    ) -> Result<ResourceAny> {
        if borrow {
            self.lift_borrow_checked(expected, handle)
        } else {
            self.lift_own_checked(expected, handle)
        }
    }
}

impl<T> AbiCx<'_, T> {
    fn check_store(&mut self, r: &ResourceAny) -> Result<()> {
        if r.store != self.store.opaque.id() {
            return Err(crate::Error::msg("a resource of another store was passed"));
        }
        Ok(())
    }
}

/// Runs `f` with the canonical ABI as component instance `inst` of root
/// instance `data` sees it with `options` (its memory, `realloc`, string
/// encoding, handle table), in the innermost call scope: what the async
/// built-ins (`concurrent.rs`) lift and lower through.
pub(crate) fn with_abi<T: 'static, R>(
    store: &mut StoreInner<T>,
    data: u32,
    inst: ComponentInstanceId,
    options: ResolvedOptions,
    f: impl FnOnce(&Abi<'_>, &mut dyn AbiHost) -> Result<R>,
) -> Result<R> {
    // SAFETY: used within this call, while the store lives.
    let component = unsafe { component_of(store, data) };
    let abi = Abi {
        types: &component.types,
        encoding: options.encoding,
    };
    let scope = store.opaque.components().scopes.len().saturating_sub(1);
    let mut cx = AbiCx {
        store,
        data,
        inst,
        options,
        scope,
    };
    f(&abi, &mut cx)
}

/// Calls the lifted function `f` from the host with `args`; returns its
/// results (none or one).
pub(crate) fn call_lifted<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    args: &[Val],
) -> Result<Vec<Val>> {
    call_lifted_from(store, f, args, None)
}

/// The component instances a call enters, as the canonical ABI's
/// `entering_set` says: the callee and its ancestors, less those the caller
/// (`None`: the host) is in already, so that a child calling back into the
/// parent that called it ("donut wrapping") enters nothing new and does not
/// trap, while any other reentry does. The instances the caller is in are
/// the common ancestors, the top of the callee's chain, so the set is the
/// callee's chain up to (not including) `stop`; kept as that pair, a call
/// allocates nothing to know it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entering {
    callee: ComponentInstanceId,
    stop: Option<ComponentInstanceId>,
    /// Entered from the host: the set is the callee's whole chain, its
    /// flags at hand in [`LiftedFunc::host_chain`].
    host: bool,
}

/// `i`'s parent.
#[inline]
fn parent_of(
    parents: &[Option<ComponentInstanceId>],
    i: ComponentInstanceId,
) -> Option<ComponentInstanceId> {
    parents.get(i.0 as usize).copied().flatten()
}

/// Calls `f` on `from` and each of its ancestors, up to (not including)
/// `stop`. A parent always has a smaller id than its child; the bound only
/// guards against a malformed table.
#[inline]
fn walk(
    parents: &[Option<ComponentInstanceId>],
    from: ComponentInstanceId,
    stop: Option<ComponentInstanceId>,
    mut f: impl FnMut(ComponentInstanceId) -> bool,
) -> bool {
    let mut i = Some(from);
    for _ in 0..=parents.len() {
        match i {
            Some(x) if Some(x) != stop => {
                if !f(x) {
                    return false;
                }
                i = parent_of(parents, x);
            }
            _ => break,
        }
    }
    true
}

#[inline]
fn entering_set(
    parents: &[Option<ComponentInstanceId>],
    callee: ComponentInstanceId,
    caller: Option<ComponentInstanceId>,
) -> Entering {
    let mut stop = None;
    if let Some(caller) = caller {
        // The first instance on the callee's chain that is on the caller's.
        walk(parents, callee, None, |x| {
            let on_callers = !walk(parents, caller, None, |y| y != x);
            if on_callers {
                stop = Some(x);
            }
            !on_callers
        });
    }
    Entering {
        callee,
        stop,
        host: caller.is_none(),
    }
}

impl Entering {
    /// Sets `may_enter` of every instance entered by a call of `f`: from
    /// the host, through `f`'s chain of flags, else by walking `parents`.
    #[inline]
    fn set_for(
        self,
        f: &LiftedFunc,
        parents: &[Option<ComponentInstanceId>],
        cs: &mut ComponentStore,
        may_enter: bool,
    ) {
        if self.host && self.callee == f.instance {
            for x in f.host_chain.iter() {
                x.set_may_enter(may_enter);
            }
        } else {
            self.set(parents, cs, f.data, may_enter);
        }
    }

    /// Whether every instance entered may be entered.
    #[inline]
    fn may_enter(
        self,
        parents: &[Option<ComponentInstanceId>],
        cs: &mut ComponentStore,
        data: u32,
    ) -> bool {
        walk(parents, self.callee, self.stop, |i| {
            cs.flags(data, i).may_enter()
        })
    }

    /// Sets `may_enter` of every instance entered.
    #[inline]
    fn set(
        self,
        parents: &[Option<ComponentInstanceId>],
        cs: &mut ComponentStore,
        data: u32,
        may_enter: bool,
    ) {
        walk(parents, self.callee, self.stop, |i| {
            cs.flags(data, i).set_may_enter(may_enter);
            true
        });
    }
}

/// Calls the lifted function `f` with `args` for `caller`, the component
/// instance (of the same root) whose lowered import this is, or the host
/// (`None`).
fn call_lifted_from<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    args: &[Val],
    caller: Option<ComponentInstanceId>,
) -> Result<Vec<Val>> {
    // SAFETY: used within this call, while the store lives. (Not cloned:
    // the function type's clone allocated its parameter names per call.)
    let component = unsafe { component_of(store, f.data) };
    let ft = component.types.func(f.ty);
    let (scope, entering) = enter(store, f, caller)?;
    let r = (|| {
        let core_args = lower_in(store, f, component, ft, args, scope)?;
        let core_results = if f.options.async_ {
            let mut out = vec![CoreVal::I32(0); f.core.ty(StoreContext(&*store)).results.len()];
            f.core
                .call(StoreContextMut(&mut *store), &core_args, &mut out)
                .map_err(throw_to_trap)?;
            out
        } else {
            // A synchronous lift's core signature follows from its type
            // (validated so), and its values are numbers: the call goes
            // through the raw path, without the public call's type check
            // (which locks the engine's registry and converts the type).
            let tys = Abi {
                types: &component.types,
                encoding: f.options.encoding,
            }
            .lifted_result_types(ft);
            let mut raw = [ValRaw::ZERO; MAX_FLAT_PARAMS];
            if core_args.len() > raw.len() {
                return Err(nyash_aot::bug_error!(
                    "a lifted function with {} core parameters",
                    core_args.len()
                )
                .into());
            }
            for (slot, a) in raw.iter_mut().zip(&core_args) {
                *slot = a.to_raw(&store.opaque);
            }
            let n = core_args.len().max(tys.len()).max(1);
            f.core
                .call_raw(store, &mut raw[..n])
                .map_err(throw_to_trap)?;
            tys.iter()
                .zip(raw)
                // SAFETY: the core function returned values of its
                // validated result types, numbers.
                .map(|(t, r)| unsafe { CoreVal::from_raw(&mut store.opaque, r, t.val_type()) })
                .collect()
        };
        if f.options.async_ {
            return super::concurrent::finish_async_lift(store, f, &core_results);
        }
        finish_in(store, f, component, ft, &core_results, scope)
    })();
    leave(store, f, entering, r)
}

/// [`call_lifted`] in an async call: the core call runs on a fiber, so
/// async host functions it reaches suspend it. `realloc` and `post-return`
/// run synchronously (they may not call out of their instance anyway).
pub(crate) async fn call_lifted_async<T: Send + 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    args: &[Val],
) -> Result<Vec<Val>> {
    let component = store.opaque.components().data(f.data).component.clone();
    let ft = component.inner.types.func(f.ty).clone();
    let (scope, entering) = enter(store, f, None)?;
    let r = async {
        let core_args = lower_in(store, f, &component.inner, &ft, args, scope)?;
        let mut core_results =
            vec![CoreVal::I32(0); f.core.ty(StoreContext(&*store)).results.len()];
        f.core
            .call_async(StoreContextMut(&mut *store), &core_args, &mut core_results)
            .await
            .map_err(throw_to_trap)?;
        if f.options.async_ {
            return super::concurrent::finish_async_lift(store, f, &core_results);
        }
        finish_in(store, f, &component.inner, &ft, &core_results, scope)
    }
    .await;
    leave(store, f, entering, r)
}

/// The canonical ABI's `call_and_trap_on_throw`: a core exception that
/// escapes a lifted function, its `post-return`, a `realloc`, a callback or
/// a destructor becomes a trap; it never crosses a component boundary
/// (compiled adapters do the same with a `try_table`, `fact.rs`).
pub(crate) fn throw_to_trap(e: Error) -> Error {
    match e.kind() {
        ErrorKind::Exception(x) => {
            super::abi::trap(ComponentTrap::UncaughtException, format!("{x}"))
        }
        _ => e,
    }
}

/// [`throw_to_trap`] on a call's result.
pub(crate) fn trap_on_throw<R>(r: Result<R>) -> Result<R> {
    r.map_err(throw_to_trap)
}

/// The store's lifted function `func`, borrowed apart from the store
/// without a copy.
///
/// # Safety
///
/// The result must not outlive the store. A store never removes or
/// replaces its lifted functions' records, each boxed, so a record lives
/// as long as the store and does not move when the list grows.
pub(crate) unsafe fn lifted_of<'a, T>(store: &mut StoreInner<T>, func: u32) -> &'a LiftedFunc {
    let ptr: *const LiftedFunc = &*store.opaque.components().funcs[func as usize];
    // SAFETY: as the caller promises; see above.
    unsafe { &*ptr }
}

/// The compiled component of the store's root instance `data`, borrowed
/// apart from the store, without touching its reference count (an atomic
/// increment and decrement per use were most of a typed call's time).
///
/// # Safety
///
/// The result must not outlive the store. A store never removes or
/// replaces its root instances' records, each of which holds an `Arc` of
/// its component, so the component lives as long as the store; the record
/// may move (the store's list grows) but the `ComponentInner` it points to
/// does not.
unsafe fn component_of<'a, T>(store: &mut StoreInner<T>, data: u32) -> &'a ComponentInner {
    let ptr = Arc::as_ptr(&store.opaque.components().data(data).component.inner);
    // SAFETY: as the caller promises; see above.
    unsafe { &*ptr }
}

/// Enters `f`'s component instance from `caller` (`None`: the host), with
/// the ancestors it is not in yet ([`entering_set`]), trapping if any of
/// them may not be entered, and opens the call's borrow scope. Returns the
/// scope and the instances entered, for [`leave`].
fn enter<T>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    caller: Option<ComponentInstanceId>,
) -> Result<(usize, Entering)> {
    // SAFETY: used within this call, while the store lives.
    let component = unsafe { component_of(store, f.data) };
    let parents = &component.inlined.parents;
    let cs = store.opaque.components();
    let entering = entering_set(parents, f.instance, caller);
    let may_enter = if entering.host {
        f.host_chain.iter().all(|x| x.may_enter())
    } else {
        entering.may_enter(parents, cs, f.data)
    };
    if !may_enter {
        return Err(trap(
            ComponentTrap::CannotEnter,
            "cannot enter component instance",
        ));
    }
    // A root that uses no async built-in and no async lift or lower cannot
    // observe tasks: its calls make none (a sync call pays nothing for
    // the async ABI).
    if component.async_abi {
        let func_async = component.types.func(f.ty).async_;
        cs.concurrent
            .check_backpressure(f.data, f.instance, func_async)?;
        entering.set_for(f, parents, cs, false);
        cs.concurrent.push_task(f, func_async);
    } else {
        cs.concurrent.set_async_caller(false);
        entering.set_for(f, parents, cs, false);
    }
    Ok((cs.push_scope(), entering))
}

/// Runs `body` as a call from `caller` (`None`: the host) into the
/// instance that lifted `f`, between [`enter`] and [`leave`].
fn enter_with<T, R>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    caller: Option<ComponentInstanceId>,
    body: impl FnOnce(&mut StoreInner<T>, usize) -> Result<R>,
) -> Result<R> {
    let (scope, entering) = enter(store, f, caller)?;
    let r = body(store, scope);
    leave(store, f, entering, r)
}

/// Closes the call's scope (a borrow still held traps) and, unless the call
/// trapped, opens the instances `entering` again: after a trap they stay
/// closed (the spec's poisoning).
fn leave<T, R>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    entering: Entering,
    r: Result<R>,
) -> Result<R> {
    // SAFETY: used within this call, while the store lives.
    let component = unsafe { component_of(store, f.data) };
    let cs = store.opaque.components();
    if component.async_abi {
        cs.concurrent.pop_task();
    }
    let popped = cs.pop_scope(true);
    let r = r.and_then(|v| popped.map(|()| v));
    if r.is_ok() {
        entering.set_for(f, &component.inlined.parents, cs, true);
    }
    r
}

/// Calls the lifted function `func` (an index into the store's lifted
/// functions) from the host with static types: `call_lifted`'s call,
/// with the arguments lowered straight from `params` into raw core values
/// on the stack (or the callee's memory) and the results lifted straight
/// out of them, and the post-return called through the core engine's raw
/// path. A `(u32) -> u32` call allocates nothing on the heap.
pub(crate) fn call_lifted_typed<T: 'static, P: Lower, R: Lift>(
    store: &mut StoreInner<T>,
    func: u32,
    params: &P,
) -> Result<R> {
    // SAFETY: used within this call, while the store lives. (A clone of
    // the record, 136 bytes by `memcpy`, cost a store-forwarding stall on
    // every field read after it: 8 ns of a typed call.)
    let f = unsafe { lifted_of(store, func) };
    if f.options.async_ {
        return Err(crate::Error::msg(
            "a typed call of an `async`-lifted function is not supported yet: call it with `Func::call`",
        ));
    }
    enter_with(store, f, None, |store, scope| {
        // SAFETY: used within this call, while the store lives.
        let component = unsafe { component_of(store, f.data) };
        let abi = || Abi {
            types: &component.types,
            encoding: f.options.encoding,
        };
        let n_params = typed::flat_params::<P>();
        let n_results = typed::flat_results::<R>();
        let mut values = [ValRaw::ZERO; MAX_FLAT_PARAMS];
        {
            let mut cx = AbiCx {
                store: &mut *store,
                data: f.data,
                inst: f.instance,
                options: f.options,
                scope,
            };
            let mut lcx = LowerContext::new(abi(), &mut cx);
            typed::lower_params(&mut lcx, params, &mut values[..n_params])?;
        }
        f.core
            .call_raw(store, &mut values[..n_params.max(n_results).max(1)])
            .map_err(throw_to_trap)?;
        let r = {
            let mut cx = AbiCx {
                store: &mut *store,
                data: f.data,
                inst: f.instance,
                options: f.options,
                scope,
            };
            let mut lcx = LiftContext::new(abi(), &mut cx);
            typed::lift_results::<R>(&mut lcx, &values[..n_results])?
        };
        if let Some(post) = f.options.post_return {
            // The post-return takes the core results as its arguments.
            post_return_raw(store, f, post, &mut values[..n_results.max(1)])?;
        }
        Ok(r)
    })
}

/// [`call_lifted_typed`] in an async call: the core call runs on a fiber
/// (async host functions it reaches suspend it); lowering, lifting and the
/// post-return run synchronously, as in [`call_lifted_async`].
pub(crate) async fn call_lifted_typed_async<T, P, R>(
    store: &mut StoreInner<T>,
    func: u32,
    params: &P,
) -> Result<R>
where
    T: Send + 'static,
    P: Lower + Sync,
    R: Lift + Send,
{
    let f = store.opaque.components().funcs[func as usize].clone();
    if f.options.async_ {
        return Err(crate::Error::msg(
            "a typed call of an `async`-lifted function is not supported yet: call it with `Func::call_async`",
        ));
    }
    let (scope, entering) = enter(store, &f, None)?;
    let r = typed_async_body::<T, P, R>(store, &f, params, scope).await;
    leave(store, &f, entering, r)
}

async fn typed_async_body<T, P, R>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    params: &P,
    scope: usize,
) -> Result<R>
where
    T: Send + 'static,
    P: Lower + Sync,
    R: Lift + Send,
{
    let component = store.opaque.components().data(f.data).component.clone();
    let n_params = typed::flat_params::<P>();
    let n_results = typed::flat_results::<R>();
    let mut values = [ValRaw::ZERO; MAX_FLAT_PARAMS];
    {
        let abi = Abi {
            types: &component.inner.types,
            encoding: f.options.encoding,
        };
        let mut cx = AbiCx {
            store: &mut *store,
            data: f.data,
            inst: f.instance,
            options: f.options,
            scope,
        };
        let mut lcx = LowerContext::new(abi, &mut cx);
        typed::lower_params(&mut lcx, params, &mut values[..n_params])?;
    }
    let n = n_params.max(n_results).max(1);
    f.core
        .call_raw_async(store, &mut values[..n])
        .await
        .map_err(throw_to_trap)?;
    let r = {
        let abi = Abi {
            types: &component.inner.types,
            encoding: f.options.encoding,
        };
        let mut cx = AbiCx {
            store: &mut *store,
            data: f.data,
            inst: f.instance,
            options: f.options,
            scope,
        };
        let mut lcx = LiftContext::new(abi, &mut cx);
        typed::lift_results::<R>(&mut lcx, &values[..n_results])?
    };
    if let Some(post) = f.options.post_return {
        post_return_raw(store, f, post, &mut values[..n_results.max(1)])?;
    }
    Ok(r)
}

/// Runs `f`'s post-return `post` on the raw core results `args`, with
/// `f`'s instance's `may_leave` cleared; an exception escaping it traps.
fn post_return_raw<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    post: CoreFunc,
    args: &mut [ValRaw],
) -> Result<()> {
    let flags = store.opaque.components().flags(f.data, f.instance);
    flags.set_may_leave(false);
    let r = trap_on_throw(post.call_raw(store, args));
    flags.set_may_leave(true);
    r
}

/// Checks the arguments against the parameter types and lowers them into
/// the callee's core arguments.
fn lower_in<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    component: &ComponentInner,
    ft: &FuncType,
    args: &[Val],
    scope: usize,
) -> Result<Vec<CoreVal>> {
    let abi = Abi {
        types: &component.types,
        encoding: f.options.encoding,
    };
    if args.len() != ft.params.len() {
        return Err(crate::Error::msg(format!(
            "expected {} arguments, got {}",
            ft.params.len(),
            args.len()
        )));
    }
    for ((name, ty), v) in ft.params.iter().zip(args) {
        abi.typecheck(*ty, v)
            .map_err(|e| e.context(format!("argument `{name}`")))?;
    }
    let mut cx = AbiCx {
        store,
        data: f.data,
        inst: f.instance,
        options: f.options,
        scope,
    };
    let flat = abi.lower_args(&mut cx, ft, args)?;
    Ok(flat.into_iter().map(to_core).collect())
}

/// Lifts the callee's core results and runs its `post-return`.
fn finish_in<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    component: &ComponentInner,
    ft: &FuncType,
    core_results: &[CoreVal],
    scope: usize,
) -> Result<Vec<Val>> {
    let abi = Abi {
        types: &component.types,
        encoding: f.options.encoding,
    };
    let flat_results = core_results
        .iter()
        .map(to_flat)
        .collect::<Result<Vec<_>>>()?;
    let mut cx = AbiCx {
        store,
        data: f.data,
        inst: f.instance,
        options: f.options,
        scope,
    };
    let vals = abi.lift_results(&mut cx, ft, &flat_results)?;
    let store = cx.store;
    if let Some(post) = f.options.post_return {
        store
            .opaque
            .components()
            .flags(f.data, f.instance)
            .set_may_leave(false);
        let r = trap_on_throw(post.call(StoreContextMut(&mut *store), core_results, &mut []));
        store
            .opaque
            .components()
            .flags(f.data, f.instance)
            .set_may_leave(true);
        r?;
    }
    Ok(vals)
}

/// The core function a component instance calls for a lowered host
/// function.
pub(crate) fn lowered_host_func<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    component: Component,
    ty: FuncTypeIndex,
    options: ResolvedOptions,
    inst: ComponentInstanceId,
    host: Arc<HostFunc<T>>,
) -> Result<CoreFunc> {
    let core_ty = lowered_core_type(&component, ty, options);
    let host = match &*host {
        HostFunc::Dynamic(f) => HostCall::Sync(f.clone()),
        HostFunc::Async(f) => HostCall::Async(f.clone()),
        HostFunc::Typed { .. } if options.async_ => {
            return Err(crate::Error::msg(
                "a typed host function (`func_wrap`) lowered `async` is not supported yet: define it with `func_new`",
            ));
        }
        HostFunc::Typed { call, .. } => {
            let call = call.clone();
            let raw = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                let store = caller.store;
                store.opaque.components().check_may_leave(data, inst)?;
                let scope = store.opaque.components().push_scope();
                let site = HostSite {
                    component: &component,
                    data,
                    inst,
                    options,
                    scope,
                };
                let r = call(&mut *store, &site, values);
                store.opaque.components().pop_scope(false)?;
                r
            });
            return CoreFunc::new_raw(store, core_ty, raw);
        }
    };
    // A raw host function: the core values are read from and written to
    // the call's `ValRaw` slots by the signature's types (no vectors of
    // core values per call).
    let param_tys = core_ty.params.clone();
    let raw = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
        let flat = param_tys
            .iter()
            .zip(values.iter())
            .map(|(t, r)| raw_to_flat(*r, t))
            .collect::<Result<Vec<_>>>()?;
        let site = (&component, ty, data, inst, options);
        let out = call_lowered(caller.store, site, &flat, |store, args| {
            let ft = component.inner.types.func(ty);
            let mut rets = vec![Val::Bool(false); ft.result.is_some() as usize];
            match &host {
                HostCall::Sync(h) => h(StoreContextMut(&mut *store), &args, &mut rets)?,
                HostCall::Async(h) => {
                    let mut future =
                        std::pin::Pin::from(h(StoreContextMut(&mut *store), &args, &mut rets));
                    let r = crate::vm::async_driver::block_on_fiber(future.as_mut());
                    drop(future);
                    r?;
                }
            }
            if let Some(t) = ft.result {
                let abi = Abi {
                    types: &component.inner.types,
                    encoding: options.encoding,
                };
                abi.typecheck(t, &rets[0])
                    .map_err(|e| e.context("the host function's result"))?;
            }
            Ok(rets)
        })?;
        if out.len() > values.len() {
            return Err(nyash_aot::bug_error!(
                "{} core results for {} slots",
                out.len(),
                values.len()
            )
            .into());
        }
        for (slot, v) in values.iter_mut().zip(out) {
            *slot = flat_to_raw(v);
        }
        Ok(())
    });
    CoreFunc::new_raw(store, core_ty, raw)
}

/// The core signature of a function of type `ty` lowered with `options`.
pub(crate) fn lowered_core_type(
    component: &Component,
    ty: FuncTypeIndex,
    options: ResolvedOptions,
) -> CoreFuncType {
    let abi = Abi {
        types: &component.inner.types,
        encoding: options.encoding,
    };
    let ft = component.inner.types.func(ty);
    if options.async_ {
        let (p, r) = abi.flat_async_lower(ft);
        return core_func_type(&p, &r);
    }
    core_func_type(
        &abi.flat_params(ft, super::abi::Context::Lower),
        &abi.flat_results(ft, super::abi::Context::Lower),
    )
}

/// The body of a core function lowered (in dynamic form) from a component
/// function of type `ty` in component instance `inst` of root instance
/// `data`: checks that the instance may call out, lifts the arguments
/// with the lowering's options, has `callee` produce the results, lowers
/// them back (through the return pointer past one flat result), all in a
/// call scope of its own.
fn call_lowered<T: 'static>(
    store: &mut StoreInner<T>,
    (component, ty, data, inst, options): (
        &Component,
        FuncTypeIndex,
        u32,
        ComponentInstanceId,
        ResolvedOptions,
    ),
    flat: &[Flat],
    callee: impl FnOnce(&mut StoreInner<T>, Vec<Val>) -> Result<Vec<Val>>,
) -> Result<Vec<Flat>> {
    store.opaque.components().check_may_leave(data, inst)?;
    let ft = component.inner.types.func(ty);
    if ft.async_ && !options.async_ {
        // A synchronous call of an `async` function may block.
        store
            .opaque
            .components()
            .concurrent
            .check_may_block("a synchronous call of an `async` function")?;
    }
    let abi = Abi {
        types: &component.inner.types,
        encoding: options.encoding,
    };
    let scope = store.opaque.components().push_scope();
    let r = (|| {
        let mut cx = AbiCx {
            store: &mut *store,
            data,
            inst,
            options,
            scope,
        };
        let (args, retptr) = if options.async_ {
            abi.lift_async_lower_args(&mut cx, ft, flat)?
        } else {
            abi.lift_args(&mut cx, ft, flat)?
        };
        // An `async`-lowered call's callee runs to its end here (switching
        // tasks is the event loop's), so the call returns `RETURNED`.
        store
            .opaque
            .components()
            .concurrent
            .set_async_caller(options.async_);
        let rets = callee(&mut *store, args);
        store.opaque.components().concurrent.set_async_caller(false);
        let rets = rets?;
        let mut cx = AbiCx {
            store: &mut *store,
            data,
            inst,
            options,
            scope,
        };
        if options.async_ {
            abi.store_async_result(&mut cx, ft, &rets, retptr)?;
            return Ok(vec![Flat::I32(super::concurrent::SUBTASK_RETURNED)]);
        }
        abi.lower_results(&mut cx, ft, &rets, retptr)
    })();
    store.opaque.components().pop_scope(false)?;
    r
}

/// Where a typed host function is called from: the lowered import's
/// component instance, canonical options and call scope.
pub(crate) struct HostSite<'a> {
    component: &'a Component,
    data: u32,
    inst: ComponentInstanceId,
    options: ResolvedOptions,
    scope: usize,
}

impl HostSite<'_> {
    fn cx<'s, T>(&self, store: &'s mut StoreInner<T>) -> AbiCx<'s, T> {
        AbiCx {
            store,
            data: self.data,
            inst: self.inst,
            options: self.options,
            scope: self.scope,
        }
    }
}

/// The body of a typed host function (`LinkerInstance::func_wrap`) on
/// the raw core values of its lowered import: the arguments lifted
/// straight out of them (or the caller's memory), `f` called, its results
/// lowered straight back (or through the caller's return pointer).
pub(crate) fn typed_host<T, P, R, F>(f: F) -> Arc<TypedHostCall<T>>
where
    T: 'static,
    P: Lift + 'static,
    R: Lower + 'static,
    F: Fn(StoreContextMut<'_, T>, P) -> Result<R> + Send + Sync + 'static,
{
    Arc::new(
        move |store: &mut StoreInner<T>, site: &HostSite<'_>, values: &mut [ValRaw]| {
            let abi = || Abi {
                types: &site.component.inner.types,
                encoding: site.options.encoding,
            };
            let n_params = typed::flat_params::<P>();
            let retptr = typed::retptr::<P, R>(values);
            let params = {
                let mut cx = site.cx(store);
                let mut lcx = LiftContext::new(abi(), &mut cx);
                typed::lift_params::<P>(&mut lcx, &values[..n_params])?
            };
            let results = f(StoreContextMut(&mut *store), params)?;
            let n_results = if retptr.is_some() { 0 } else { R::FLAT_COUNT };
            let mut cx = site.cx(store);
            let mut lcx = LowerContext::new(abi(), &mut cx);
            typed::lower_results(&mut lcx, &results, &mut values[..n_results], retptr)
        },
    )
}

/// The core function a component instance calls for a function another
/// component instance lifted: lifts the arguments out of the caller's
/// memory, calls the callee as the host would, lowers the results back.
#[allow(clippy::too_many_arguments)]
pub(crate) fn adapter_func<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    component: Component,
    lower_ty: FuncTypeIndex,
    options: ResolvedOptions,
    inst: ComponentInstanceId,
    callee: LiftedFunc,
) -> Result<CoreFunc> {
    let core_ty = lowered_core_type(&component, lower_ty, options);
    // Values that are the same core values on both sides (no strings,
    // lists or handles, nothing spilled to memory) pass straight through:
    // the callee's core function gets the caller's arguments as they are,
    // with the instance flags and the post-return as the full path has them.
    if !options.async_
        && !callee.options.async_
        && !component.inner.types.func(lower_ty).async_
        && passes_through(&component.inner.types, component.inner.types.func(lower_ty))
    {
        let n_results = core_ty.results.len();
        let raw = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
            let store = caller.store;
            store.opaque.components().check_may_leave(data, inst)?;
            let from = (callee.data == data).then_some(inst);
            enter_with(store, &callee, from, |store, _scope| {
                callee.core.call_raw(store, values).map_err(throw_to_trap)?;
                if let Some(post) = callee.options.post_return {
                    let mut args = [values[0]];
                    post_return_raw(store, &callee, post, &mut args[..n_results.max(1)])?;
                }
                Ok(())
            })
        });
        return CoreFunc::new_raw(store, core_ty, raw);
    }
    CoreFunc::new(
        StoreContextMut(store),
        core_ty,
        move |caller: Caller<'_, T>, params: &[CoreVal], results: &mut [CoreVal]| {
            let site = (&component, lower_ty, data, inst, options);
            let flat = params.iter().map(to_flat).collect::<Result<Vec<_>>>()?;
            let out = call_lowered(caller.store, site, &flat, |store, args| {
                let from = (callee.data == data).then_some(inst);
                call_lifted_from(store, &callee, &args, from)
            })?;
            for (slot, v) in results.iter_mut().zip(out) {
                *slot = to_core(v);
            }
            Ok(())
        },
    )
}

/// Whether a function's values are the same core values in any two
/// instances, with nothing to check or convert: only 32- and 64-bit
/// integers (in records and tuples too), at most 16 of them as parameters
/// and one as the result, so nothing is spilled to memory. (Narrower
/// integers, `bool`, `char`, floats, variants and flags are checked or
/// normalized on the way; strings, lists and handles need a memory or a
/// table.)
fn passes_through(types: &nyash_aot::component::types::ComponentTypes, ft: &FuncType) -> bool {
    use nyash_aot::component::types::{DefinedType as D, InterfaceType as I};
    /// How many core values `t` flattens to, if it is all plain integers.
    fn leaves(
        types: &nyash_aot::component::types::ComponentTypes,
        t: I,
        depth: u32,
    ) -> Option<usize> {
        if depth > 100 {
            return None;
        }
        match t {
            I::S32 | I::U32 | I::S64 | I::U64 => Some(1),
            I::Defined(i) => match types.defined(i) {
                D::Primitive(p) => leaves(types, *p, depth + 1),
                D::Record(fs) => fs.iter().map(|(_, t)| leaves(types, *t, depth + 1)).sum(),
                D::Tuple(ts) => ts.iter().map(|t| leaves(types, *t, depth + 1)).sum(),
                _ => None,
            },
            _ => None,
        }
    }
    let params: Option<usize> = ft.params.iter().map(|(_, t)| leaves(types, *t, 0)).sum();
    let result = match ft.result {
        Some(t) => leaves(types, t, 0),
        None => Some(0),
    };
    params.is_some_and(|n| n <= MAX_FLAT_PARAMS) && result.is_some_and(|n| n <= 1)
}

/// Which resource built-in.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Builtin {
    New,
    Drop,
    Rep,
}

/// The core function of `resource.new`, `resource.drop` or
/// `resource.rep` for resource type `rt` (the store's; `None` if the
/// inliner could not tell which, then any handle's type is accepted) in
/// `inst`'s handle table.
pub(crate) fn resource_builtin<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    inst: ComponentInstanceId,
    kind: Builtin,
    rt: Option<u32>,
) -> Result<CoreFunc> {
    let (params, results): (&[CoreTy], &[CoreTy]) = match kind {
        Builtin::New | Builtin::Rep => (&[CoreTy::I32], &[CoreTy::I32]),
        Builtin::Drop => (&[CoreTy::I32], &[]),
    };
    CoreFunc::new(
        StoreContextMut(store),
        core_func_type(params, results),
        move |caller: Caller<'_, T>, params: &[CoreVal], results: &mut [CoreVal]| {
            let store = caller.store;
            let CoreVal::I32(arg) = params[0] else {
                return Err(nyash_aot::bug_error!("resource built-in given a non-i32").into());
            };
            let arg = arg as u32;
            let cs = store.opaque.components();
            let wrong_type = |h: u32| {
                trap(
                    ComponentTrap::WrongHandleType,
                    format!(
                        "handle index {h} used with the wrong type, expected guest-defined resource but found a different guest-defined resource"
                    ),
                )
            };
            match kind {
                Builtin::New => {
                    cs.check_may_leave(data, inst)?;
                    let Some(rt) = rt else {
                        return Err(nyash_aot::bug_error!("resource.new of an unknown type").into());
                    };
                    let h = cs.table(data, inst).add(Slot::Own {
                        rt,
                        rep: arg,
                        lends: 0,
                    })?;
                    results[0] = CoreVal::I32(h as i32);
                }
                Builtin::Rep => {
                    let (srt, rep) = match cs.table(data, inst).get(arg)? {
                        Slot::Own { rt, rep, .. } | Slot::Borrow { rt, rep, .. } => (rt, rep),
                        Slot::Free => {
                            return Err(trap(
                                ComponentTrap::UnknownHandle,
                                format!("unknown handle index {arg}"),
                            ));
                        }
                        Slot::Async(_) => return Err(super::resources::not_a_resource(arg)),
                    };
                    if rt.is_some_and(|rt| rt != srt) {
                        return Err(wrong_type(arg));
                    }
                    results[0] = CoreVal::I32(rep as i32);
                }
                Builtin::Drop => {
                    cs.check_may_leave(data, inst)?;
                    let slot = cs.table(data, inst).get(arg)?;
                    match slot {
                        Slot::Own {
                            rt: srt,
                            rep,
                            lends,
                        } => {
                            if rt.is_some_and(|rt| rt != srt) {
                                return Err(wrong_type(arg));
                            }
                            if lends > 0 {
                                return Err(trap(
                                    ComponentTrap::OwnedWhileBorrowed,
                                    "cannot remove owned resource while borrowed",
                                ));
                            }
                            cs.table(data, inst).remove(arg)?;
                            drop_resource(store, srt, rep, Some((data, inst)))?;
                        }
                        Slot::Borrow {
                            rt: srt,
                            scope,
                            lends,
                            ..
                        } => {
                            if rt.is_some_and(|rt| rt != srt) {
                                return Err(wrong_type(arg));
                            }
                            if lends > 0 {
                                return Err(trap(
                                    ComponentTrap::OwnedWhileBorrowed,
                                    "cannot remove borrowed resource while lent",
                                ));
                            }
                            cs.table(data, inst).remove(arg)?;
                            if let Some(s) = cs.scopes.get_mut(scope) {
                                s.borrows = s.borrows.saturating_sub(1);
                            }
                        }
                        Slot::Free => {
                            return Err(trap(
                                ComponentTrap::UnknownHandle,
                                format!("unknown handle index {arg}"),
                            ));
                        }
                        Slot::Async(_) => return Err(super::resources::not_a_resource(arg)),
                    }
                }
            }
            Ok(())
        },
    )
}

/// Runs the destructor of resource type `rt` (guest or host) on `rep`, for
/// a drop by component instance `from` (`None`: the host). The
/// implementation's own drop calls its destructor directly; any other goes
/// through a lifted call, which enters the owner's `entering_set` from the
/// dropper (nothing, when a child drops its parent's resource).
pub(crate) fn drop_resource<T: 'static>(
    store: &mut StoreInner<T>,
    rt: u32,
    rep: u32,
    from: Option<(u32, ComponentInstanceId)>,
) -> Result<()> {
    let cs = store.opaque.components();
    let t = &cs.resource_types[rt as usize];
    if let Some(dtor) = t.dtor {
        // The owner's instances entered, from the dropper (none for the
        // owner's own drop).
        let enter = match t.owner {
            Some(o) if Some(o) != from => {
                let component = cs.data(o.0).component.clone();
                let caller = from.filter(|f| f.0 == o.0).map(|f| f.1);
                let e = entering_set(&component.inner.inlined.parents, o.1, caller);
                Some((o.0, component, e))
            }
            _ => None,
        };
        if let Some((data, component, e)) = &enter {
            let parents = &component.inner.inlined.parents;
            if !e.may_enter(parents, cs, *data) {
                return Err(trap(
                    ComponentTrap::CannotEnter,
                    "cannot enter component instance",
                ));
            }
            e.set(parents, cs, *data, false);
        }
        let r = trap_on_throw(dtor.call(
            StoreContextMut(&mut *store),
            &[CoreVal::I32(rep as i32)],
            &mut [],
        ));
        if let Some((data, component, e)) = &enter
            && r.is_ok()
        {
            let cs = store.opaque.components();
            e.set(&component.inner.inlined.parents, cs, *data, true);
        }
        r?;
    } else if let Some(host) = &t.host_dtor
        && let Some(f) = host.downcast_ref::<Arc<HostDtor<T>>>()
    {
        let f = f.clone();
        f(StoreContextMut(store), rep)?;
    }
    Ok(())
}

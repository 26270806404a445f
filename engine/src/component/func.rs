//! [`Func`]: a function a component instance exports.

use std::sync::Arc;

use nyash_aot::component::types::ResourceIndex;

use super::call::call_lifted;
use super::resources::{ResourceType, ResourceTypeKind};
use super::typed::{ComponentNamedList, Lift, Lower, TypedFunc};
use super::types::{ComponentFunc, Type, TypeCx};
use super::val::Val;
use crate::{AsContext, AsContextMut, Error, Result};

/// A function exported by a component instance (a core function lifted
/// with `canon lift`), called with dynamically typed [`Val`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Func {
    /// Calls the function: `params` must match its parameter types, and
    /// `results` must have a slot for its result if it has one. The
    /// arguments are lowered into the callee (strings and lists copied into
    /// its memory with its `realloc`), the results lifted out of it, and
    /// its `post-return` (if any) run before this returns.
    ///
    /// A trap in the callee (or a broken rule of the canonical ABI) is the
    /// error, and leaves the component instance unusable: every later call
    /// into it traps (the Component Model's rule).
    pub fn call(
        &self,
        mut store: impl AsContextMut<Data: 'static>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        assert_eq!(
            self.store,
            store.opaque.id(),
            "component function used with a store it does not belong to"
        );
        // SAFETY: used within this call, while the store lives.
        let f = unsafe { super::call::lifted_of(store, self.index) };
        let out = call_lifted(store, f, params)?;
        if results.len() < out.len() {
            return Err(Error::msg(format!(
                "expected room for {} results, got {}",
                out.len(),
                results.len()
            )));
        }
        for (slot, v) in results.iter_mut().zip(out) {
            *slot = v;
        }
        Ok(())
    }

    /// Calls the function in an async call: async host functions it reaches
    /// ([`LinkerInstance::func_new_async`](super::LinkerInstance::func_new_async))
    /// suspend it, and so do epoch and fuel yields; otherwise as
    /// [`call`](Self::call). Needs
    /// [`Config::async_support`](crate::Config::async_support).
    pub async fn call_async<T: Send + 'static>(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        assert_eq!(
            self.store,
            store.opaque.id(),
            "component function used with a store it does not belong to"
        );
        let f = (*store.opaque.components().funcs[self.index as usize]).clone();
        let out = super::call::call_lifted_async(store, &f, params).await?;
        if results.len() < out.len() {
            return Err(Error::msg(format!(
                "expected room for {} results, got {}",
                out.len(),
                results.len()
            )));
        }
        for (slot, v) in results.iter_mut().zip(out) {
            *slot = v;
        }
        Ok(())
    }

    /// The number of results (0 or 1).
    pub fn result_count(&self, mut store: impl AsContextMut) -> usize {
        let cs = store.as_context_mut().0.opaque.components();
        let f = &cs.funcs[self.index as usize];
        let c = cs.instances[f.data as usize].component.clone();
        c.inner.types.func(f.ty).result.is_some() as usize
    }

    /// The function's type: its parameters' names and types and its
    /// result type, as the instance sees them (resource handles name the
    /// store's resource types, those [`ResourceAny::ty`] gives).
    ///
    /// [`ResourceAny::ty`]: super::ResourceAny::ty
    pub fn ty(&self, store: impl AsContext) -> ComponentFunc {
        let store = &store.as_context().0.opaque;
        assert_eq!(
            self.store,
            store.id(),
            "component function used with a store it does not belong to"
        );
        let cs = store.components_ref();
        let f = &cs.funcs[self.index as usize];
        let component = &cs.instances[f.data as usize].component;
        // What each of the component's static resource indices means in the
        // component instance that lifted the function.
        let resources: Arc<[Option<ResourceType>]> = (0..component.inner.types.resources.len())
            .map(|i| {
                let rt = cs.resource_type(f.data, f.instance, ResourceIndex(i as u32))?;
                Some(ResourceType(ResourceTypeKind::Guest {
                    store: store.id(),
                    index: rt,
                }))
            })
            .collect();
        ComponentFunc::new(TypeCx::of_instance(component, resources), f.ty)
    }

    /// The parameters' names and types, in order (see [`Func::ty`]).
    pub fn params(&self, store: impl AsContext) -> Box<[(String, Type)]> {
        self.ty(store)
            .params()
            .map(|(n, t)| (n.to_string(), t))
            .collect()
    }

    /// The result types: none or one (see [`Func::ty`]).
    pub fn results(&self, store: impl AsContext) -> Box<[Type]> {
        self.ty(store).results().collect()
    }

    /// This function with static types: parameters `Params` (a tuple,
    /// `(u32, String)`) and results `Results` (`(u32,)`, or `()` for
    /// none), checked against its type once, here; the error names the
    /// parameter or result that differs and the types. See
    /// [`TypedFunc`].
    pub fn typed<Params, Results>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>>
    where
        Params: ComponentNamedList + Lower,
        Results: ComponentNamedList + Lift,
    {
        let opaque = &store.as_context().0.opaque;
        assert_eq!(
            self.store,
            opaque.id(),
            "component function used with a store it does not belong to"
        );
        let cs = opaque.components_ref();
        let f = &cs.funcs[self.index as usize];
        let component = &cs.instances[f.data as usize].component;
        let types = &component.inner.types;
        // What the function's resource indices are in its instance, so
        // that a `Resource<T>` is checked to be the host's `T`.
        let mut resources = std::collections::HashMap::new();
        for ((inst, idx), rt) in &cs.instances[f.data as usize].resource_map {
            if *inst == f.instance {
                resources.insert(*idx, cs.resource_type_of(*rt));
            }
        }
        super::typed_resource::with_resources(resources, || {
            super::typed::typecheck_func::<Params, Results>(types.func(f.ty), types)
        })?;
        // The validator made the core function's signature the flattened
        // component type's, so this only finds an engine bug.
        let core = f.core.ty(&store);
        let (want_params, want_results) = (
            super::typed::flat_params::<Params>(),
            super::typed::flat_results::<Results>(),
        );
        if core.params.len() != want_params || core.results.len() != want_results {
            return Err(nyash_aot::bug_error!(
                "typed function: core signature {core} for {want_params} flat parameters and {want_results} results"
            )
            .into());
        }
        Ok(TypedFunc::new_unchecked(*self))
    }
}

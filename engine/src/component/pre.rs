//! [`InstancePre`]: a component with its imports resolved in a linker and
//! type-checked once, ready to be instantiated any number of times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nyash_aot::component::types::{ComponentTypes, EntityType, ResourceIndex, TypeDef};

use super::component::Component;
use super::instance::Instance;
use super::linker::{Definition, HostFunc, lookup};
use super::resources::ResourceType;
use super::typed_resource::with_resources;
use crate::store::StoreContextMut;
use crate::{AsContextMut, Engine, Error, FuncType as CoreFuncType, Result};

/// A component whose imports a [`Linker`](super::Linker) has resolved and
/// checked ([`Linker::instantiate_pre`](super::Linker::instantiate_pre)):
/// each definition found by name (and semver), of the right kind, typed
/// host functions checked against the import's types. Instantiating it
/// does none of that again, only the instantiation itself.
///
/// ```
/// use nyash_engine::component::{Component, Linker};
/// use nyash_engine::{Engine, Store};
///
/// let engine = Engine::default();
/// let component = Component::new(&engine, r#"(component
///     (import "double" (func $double (param "x" u32) (result u32)))
///     (core func $d (canon lower (func $double)))
///     (core module $M
///       (import "host" "double" (func $d (param i32) (result i32)))
///       (func (export "run") (param i32) (result i32) (call $d (local.get 0))))
///     (core instance $m (instantiate $M
///       (with "host" (instance (export "double" (func $d))))))
///     (func (export "run") (param "x" u32) (result u32)
///       (canon lift (core func $m "run"))))"#)?;
/// let mut linker = Linker::<()>::new(&engine);
/// linker.root().func_wrap("double", |_store, (x,): (u32,)| Ok((x * 2,)))?;
/// let pre = linker.instantiate_pre(&component)?;
/// for i in 0..3 {
///     let mut store = Store::new(&engine, ());
///     let instance = pre.instantiate(&mut store)?;
///     let run = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "run")?;
///     assert_eq!(run.call(&mut store, (i,))?, (i * 2,));
/// }
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub struct InstancePre<T> {
    component: Component,
    imports: Arc<[Definition<T>]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            component: self.component.clone(),
            imports: self.imports.clone(),
        }
    }
}

impl<T: 'static> InstancePre<T> {
    /// Checks `imports` (one definition per import of `component`, in
    /// order) against the component's import types.
    pub(crate) fn new(component: &Component, imports: Vec<Definition<T>>) -> Result<Self> {
        let c = &component.inner;
        let mut resources = HashMap::new();
        let mut funcs = Vec::new();
        for ((name, ty), def) in c.inlined.imports.iter().zip(&imports) {
            check(&c.types, None, name, ty, def, &mut resources, &mut funcs)?;
        }
        with_resources(resources, || {
            for f in funcs {
                let ft = c.types.func(f.ty);
                f.host.typecheck(ft, &c.types).map_err(|e| match f.outer {
                    Some(outer) => Error::link(outer, f.name, e.to_string()),
                    None => Error::link(f.name, "", e.to_string()),
                })?;
            }
            Ok::<(), Error>(())
        })?;
        Ok(InstancePre {
            component: component.clone(),
            imports: imports.into(),
        })
    }

    /// The component.
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.component.engine()
    }

    /// Instantiates the component in `store`. Fails as instantiation fails
    /// (a trap in a start function or a segment, ...).
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        super::instance::instantiate(store.as_context_mut().0, &self.component, &self.imports)
    }

    /// Instantiates the component in an async call: start functions run
    /// on a fiber, so async host functions they reach suspend the call.
    /// Needs [`Config::async_support`](crate::Config::async_support).
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
    ) -> Result<Instance>
    where
        T: Send,
    {
        let store = store.as_context_mut().0;
        let slot: Arc<Mutex<Option<Instance>>> = Arc::new(Mutex::new(None));
        let (component, imports, out) =
            (self.component.clone(), self.imports.clone(), slot.clone());
        // The whole instantiation is the body of a host function called
        // asynchronously: it runs on the call's fiber.
        let f = crate::Func::new(
            StoreContextMut(&mut *store),
            CoreFuncType::new([], []),
            move |caller, _, _| {
                let instance = super::instance::instantiate(caller.store, &component, &imports)?;
                *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(instance);
                Ok(())
            },
        )?;
        f.call_async(StoreContextMut(&mut *store), &[], &mut [])
            .await?;
        let instance = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        instance.ok_or_else(|| Error::msg("the async instantiation did not finish"))
    }
}

/// A typed host function to check once the resource types are known.
struct FuncCheck<'a, T> {
    ty: nyash_aot::component::types::FuncTypeIndex,
    host: &'a HostFunc<T>,
    outer: Option<&'a str>,
    name: &'a str,
}

/// Checks that the definition `def` of the import `name` (in the instance
/// `outer`, if not at the root) is of the kind its type `ty` says;
/// records what each imported resource index is and which functions to
/// type-check.
fn check<'a, T>(
    types: &'a ComponentTypes,
    outer: Option<&'a str>,
    name: &'a str,
    ty: &EntityType,
    def: &'a Definition<T>,
    resources: &mut HashMap<ResourceIndex, ResourceType>,
    funcs: &mut Vec<FuncCheck<'a, T>>,
) -> Result<()> {
    let err = |msg: String| match outer {
        Some(outer) => Error::link(outer, name, msg),
        None => Error::link(name, "", msg),
    };
    match (ty, def) {
        (EntityType::Type(TypeDef::Resource(idx)), Definition::Resource(rty, _)) => {
            if !matches!(rty.0, super::resources::ResourceTypeKind::Host(_)) {
                return Err(err(
                    "a guest resource type cannot be given as a host resource".into(),
                ));
            }
            // Bound already (an `eq` export of a resource an earlier
            // import gave, as a `use` in WIT makes): the same type again.
            if let Some(prev) = resources.insert(*idx, *rty)
                && prev != *rty
            {
                return Err(err(
                    "the linker defines another resource type than the one this \
                     import is bound to (an earlier import's)"
                        .into(),
                ));
            }
        }
        (EntityType::Type(TypeDef::Resource(_)), other) => {
            return Err(err(format!(
                "expected a resource type, found a {}",
                other.kind()
            )));
        }
        (EntityType::Instance(it), Definition::Instance(map)) => {
            for (n, ety) in &types.instance(*it).exports {
                // A type that is not a resource (a record, a variant ...)
                // is the component's own: the linker defines none.
                if matches!(ety, EntityType::Type(t) if !matches!(t, TypeDef::Resource(_))) {
                    continue;
                }
                match lookup(map, n) {
                    Some(d) => check(types, Some(name), n, ety, d, resources, funcs)?,
                    // A resource type bound by an earlier import (`use
                    // error.{error}` in WIT makes `streams` export `error`
                    // as `(eq ...)` of `wasi:io/error`'s): nothing to define.
                    None if matches!(ety, EntityType::Type(TypeDef::Resource(idx))
                        if resources.contains_key(idx)) => {}
                    None => {
                        return Err(Error::link(
                            name,
                            n,
                            format!("the linker's instance `{name}` does not define `{n}`"),
                        ));
                    }
                }
            }
        }
        (EntityType::Instance(_), other) => {
            return Err(err(format!(
                "expected an instance, found a {}",
                other.kind()
            )));
        }
        (EntityType::Func(ft), Definition::Func(f)) => funcs.push(FuncCheck {
            ty: *ft,
            host: f,
            outer,
            name,
        }),
        (EntityType::Func(_), other) => {
            return Err(err(format!(
                "expected a function, found a {}",
                other.kind()
            )));
        }
        (EntityType::Module(_), Definition::Module(_)) => {}
        (EntityType::Module(_), other) => {
            return Err(err(format!(
                "expected a core module, found a {}",
                other.kind()
            )));
        }
        (EntityType::Type(_), _) => {}
        (EntityType::Component(_), _) => {
            return Err(Error::msg(format!(
                "`{name}`: importing a component is not supported yet"
            )));
        }
        (EntityType::Value(_), _) => {
            return Err(Error::msg(format!(
                "`{name}`: component value imports (🪙) are not supported"
            )));
        }
    }
    Ok(())
}

//! [`Linker`]: what the host gives a component for its imports.

use std::collections::BTreeMap;
use std::sync::Arc;

use nyash_aot::component::types::{ComponentTypes, EntityType, FuncType, TypeDef};

use super::call::HostSite;
use super::component::Component;
use super::instance::Instance;
use super::pre::InstancePre;
use super::resources::ResourceType;
use super::typed::{self, ComponentNamedList, Lift, Lower};
use super::val::Val;
use crate::store::StoreContextMut;
use crate::vm::store_opaque::StoreInner;
use crate::vm::vmcontext::ValRaw;
use crate::{AsContextMut, Engine, Error, Module, Result};

/// A host function with dynamically typed values.
pub(crate) type DynHostFunc<T> =
    dyn Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync;
/// An async host function: returns a future that fills the results.
pub(crate) type HostFuncAsync<T> = dyn for<'a> Fn(
        StoreContextMut<'a, T>,
        &'a [Val],
        &'a mut [Val],
    ) -> Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>
    + Send
    + Sync;
/// A host function with static types, on the raw core values of the
/// lowered import's signature: lifts its arguments, calls the closure,
/// lowers its results (made by `call::typed_host`).
pub(crate) type TypedHostCall<T> =
    dyn Fn(&mut StoreInner<T>, &HostSite<'_>, &mut [ValRaw]) -> Result<()> + Send + Sync;

/// A host function of a linker.
pub(crate) enum HostFunc<T> {
    /// From [`LinkerInstance::func_new`].
    Dynamic(Arc<DynHostFunc<T>>),
    /// From [`LinkerInstance::func_new_async`].
    Async(Arc<HostFuncAsync<T>>),
    /// From [`LinkerInstance::func_wrap`]: `typecheck` checks the
    /// import's type against the closure's Rust types.
    Typed {
        typecheck: fn(&FuncType, &ComponentTypes) -> Result<()>,
        call: Arc<TypedHostCall<T>>,
    },
}

impl<T> HostFunc<T> {
    /// Checks the function type of the import it is given for.
    pub(crate) fn typecheck(&self, ft: &FuncType, types: &ComponentTypes) -> Result<()> {
        match self {
            HostFunc::Dynamic(_) | HostFunc::Async(_) => Ok(()),
            HostFunc::Typed { typecheck, .. } => typecheck(ft, types),
        }
    }
}
/// A host resource's destructor: gets the resource's representation.
pub(crate) type HostDtor<T> = dyn Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync;

/// One definition of a linker.
pub(crate) enum Definition<T> {
    Func(Arc<HostFunc<T>>),
    Instance(BTreeMap<String, Definition<T>>),
    Resource(ResourceType, Option<Arc<HostDtor<T>>>),
    Module(Module),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Func(f) => Definition::Func(f.clone()),
            Definition::Instance(m) => Definition::Instance(m.clone()),
            Definition::Resource(t, d) => Definition::Resource(*t, d.clone()),
            Definition::Module(m) => Definition::Module(m.clone()),
        }
    }
}

impl<T> Definition<T> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Definition::Func(_) => "function",
            Definition::Instance(_) => "instance",
            Definition::Resource(..) => "resource type",
            Definition::Module(_) => "core module",
        }
    }
}

/// Satisfies a component's imports by name: host functions, host resource
/// types, core modules and instances of them (interfaces such as
/// `wasi:cli/environment@0.2.3`), built with [`Linker::root`] and
/// [`Linker::instance`].
///
/// An import of an interface with a version is satisfied by a definition
/// of a semver-compatible version (the same major version, or for `0.x`
/// the same minor version), the newest one if there are several: a
/// component built against `…@0.2.3` runs on a host that defines
/// `…@0.2.6`.
///
/// ```
/// use nyash_engine::component::{Component, Linker, Val};
/// use nyash_engine::{Engine, Store};
///
/// let engine = Engine::default();
/// let component = Component::new(&engine, r#"(component
///     (import "double" (func $double (param "x" u32) (result u32)))
///     (core func $d (canon lower (func $double)))
///     (core module $M
///       (import "host" "double" (func $d (param i32) (result i32)))
///       (func (export "quad") (param i32) (result i32)
///         (call $d (call $d (local.get 0)))))
///     (core instance $m (instantiate $M
///       (with "host" (instance (export "double" (func $d))))))
///     (func (export "quad") (param "x" u32) (result u32)
///       (canon lift (core func $m "quad"))))"#)?;
///
/// let mut linker = Linker::<()>::new(&engine);
/// linker.root().func_new("double", |_store, params, results| {
///     let Val::U32(x) = params[0] else { unreachable!() };
///     results[0] = Val::U32(x * 2);
///     Ok(())
/// })?;
/// let mut store = Store::new(&engine, ());
/// let instance = linker.instantiate(&mut store, &component)?;
/// let quad = instance.get_func(&mut store, "quad").expect("exported");
/// let mut out = [Val::U32(0)];
/// quad.call(&mut store, &[Val::U32(5)], &mut out)?;
/// assert_eq!(out[0], Val::U32(20));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub struct Linker<T> {
    engine: Engine,
    root: BTreeMap<String, Definition<T>>,
    /// Whether a second definition of a name replaces the first.
    allow_shadowing: bool,
}

/// The definitions of one instance of a [`Linker`] (or its root).
pub struct LinkerInstance<'a, T> {
    map: &'a mut BTreeMap<String, Definition<T>>,
    allow_shadowing: bool,
}

impl<T: 'static> Linker<T> {
    /// An empty linker for components of `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            root: BTreeMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether defining a name twice replaces the first definition
    /// (default: it is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// The root: definitions of the component's top-level imports.
    pub fn root(&mut self) -> LinkerInstance<'_, T> {
        LinkerInstance {
            map: &mut self.root,
            allow_shadowing: self.allow_shadowing,
        }
    }

    /// The instance `name` (an interface such as `wasi:cli/stdout@0.2.3`)
    /// of the root, made empty if it is not defined yet.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        let allow_shadowing = self.allow_shadowing;
        self.root().into_instance(name, allow_shadowing)
    }

    /// Instantiates `component` in `store` with this linker's definitions
    /// for its imports. Fails naming the first import the linker does not
    /// define (or defines as something else), or as instantiation fails
    /// (a trap in a start function or a segment, ...). To instantiate a
    /// component many times, [`instantiate_pre`](Self::instantiate_pre)
    /// resolves and checks the imports once.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance> {
        self.instantiate_pre(component)?
            .instantiate(store.as_context_mut())
    }

    /// [`instantiate`](Self::instantiate) in an async call (see
    /// [`InstancePre::instantiate_async`]).
    pub async fn instantiate_async(
        &self,
        store: impl AsContextMut<Data = T> + Send,
        component: &Component,
    ) -> Result<Instance>
    where
        T: Send,
    {
        self.instantiate_pre(component)?
            .instantiate_async(store)
            .await
    }

    /// Resolves `component`'s imports in this linker and checks them (each
    /// defined, of the right kind, typed host functions of the import's
    /// types), once: the [`InstancePre`] instantiates it any number of
    /// times without doing that again. Fails naming the first import that
    /// is missing or does not fit.
    pub fn instantiate_pre(&self, component: &Component) -> Result<InstancePre<T>> {
        let imports = self.resolve_imports(component)?;
        InstancePre::new(component, imports)
    }

    /// The definition of each of `component`'s imports, in order.
    pub(crate) fn resolve_imports(&self, component: &Component) -> Result<Vec<Definition<T>>> {
        let c = &component.inner;
        if !Arc::ptr_eq(&c.engine.inner, &self.engine.inner) {
            return Err(Error::msg(
                "the component and the linker belong to different engines",
            ));
        }
        let mut out = Vec::with_capacity(c.inlined.imports.len());
        for (name, ty) in &c.inlined.imports {
            let Some(def) = lookup(&self.root, name) else {
                // A type that is not a resource (`(import "r" (type (eq
                // $record)))`) is the component's own: the linker defines
                // none, and its place holds an empty instance nothing reads.
                if matches!(ty, EntityType::Type(t) if !matches!(t, TypeDef::Resource(_))) {
                    out.push(Definition::Instance(BTreeMap::new()));
                    continue;
                }
                return Err(Error::link(
                    name,
                    "",
                    format!("component imports `{name}`, which the linker does not define"),
                ));
            };
            out.push(def.clone());
        }
        Ok(out)
    }
}

impl<'a, T: 'static> LinkerInstance<'a, T> {
    fn insert(&mut self, name: &str, def: Definition<T>) -> Result<()> {
        if !self.allow_shadowing && self.map.contains_key(name) {
            return Err(Error::msg(format!(
                "`{name}` is defined twice in the linker"
            )));
        }
        self.map.insert(name.to_string(), def);
        Ok(())
    }

    /// Defines the function `name` with dynamically typed values: `f` gets
    /// the arguments as [`Val`]s of the import's parameter types and must
    /// fill `results` (one slot per result) with values of its result
    /// types; a value of another type traps the call. An `Err` from `f`
    /// fails the call that reached it.
    pub fn func_new(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc::Dynamic(Arc::new(f)))),
        )
    }

    /// Defines the function `name` with static types: `f` gets the
    /// arguments as one Rust tuple `Params` (`(u32, String)`) and returns
    /// its results as a tuple `Results` (`(u32,)` for one, `()` for none),
    /// lifted straight out of the caller's core values and memory and
    /// lowered straight back (no [`Val`] in between). The types are
    /// checked against the import's when a component's imports are
    /// resolved ([`Linker::instantiate_pre`], which
    /// [`Linker::instantiate`] does too): a mismatch fails with a link
    /// error naming the import. Resource handles are [`Resource<T>`]
    /// (`own`) and [`Borrow<Resource<T>>`](super::Borrow) (`borrow`),
    /// checked to be the host's `T`. An `Err` from `f` fails the call that
    /// reached it.
    ///
    /// [`Resource<T>`]: super::Resource
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
    ///       (func (export "quad") (param i32) (result i32)
    ///         (call $d (call $d (local.get 0)))))
    ///     (core instance $m (instantiate $M
    ///       (with "host" (instance (export "double" (func $d))))))
    ///     (func (export "quad") (param "x" u32) (result u32)
    ///       (canon lift (core func $m "quad"))))"#)?;
    ///
    /// let mut linker = Linker::<()>::new(&engine);
    /// linker.root().func_wrap("double", |_store, (x,): (u32,)| Ok((x * 2,)))?;
    /// let mut store = Store::new(&engine, ());
    /// let instance = linker.instantiate(&mut store, &component)?;
    /// let quad = instance.get_typed_func::<(u32,), (u32,)>(&mut store, "quad")?;
    /// assert_eq!(quad.call(&mut store, (5,))?, (20,));
    /// # Ok::<(), nyash_engine::Error>(())
    /// ```
    pub fn func_wrap<Params, Results, F>(&mut self, name: &str, f: F) -> Result<()>
    where
        Params: ComponentNamedList + Lift + 'static,
        Results: ComponentNamedList + Lower + 'static,
        F: Fn(StoreContextMut<'_, T>, Params) -> Result<Results> + Send + Sync + 'static,
    {
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc::Typed {
                typecheck: typed::typecheck_func::<Params, Results>,
                call: super::call::typed_host::<T, Params, Results, F>(f),
            })),
        )
    }

    /// Defines the async function `name` with static types: as
    /// [`func_wrap`](Self::func_wrap), but `f` returns a future, and a call
    /// of it suspends the component call (on its fiber) until the future
    /// is ready. The component must be called with
    /// [`Func::call_async`](super::Func::call_async) (in an engine with
    /// [`Config::async_support`](crate::Config::async_support)); reached
    /// from a synchronous call, the function fails.
    pub fn func_wrap_async<Params, Results, F>(&mut self, name: &str, f: F) -> Result<()>
    where
        Params: ComponentNamedList + Lift + 'static,
        Results: ComponentNamedList + Lower + 'static,
        F: for<'b> Fn(
                StoreContextMut<'b, T>,
                Params,
            )
                -> Box<dyn std::future::Future<Output = Result<Results>> + Send + 'b>
            + Send
            + Sync
            + 'static,
    {
        self.func_wrap(
            name,
            move |store: StoreContextMut<'_, T>, params: Params| {
                let mut future = std::pin::Pin::from(f(store, params));
                crate::vm::async_driver::block_on_fiber(future.as_mut())
            },
        )
    }

    /// Defines the async function `name` with dynamically typed values: as
    /// [`func_new`](Self::func_new), but `f` returns a future, and a call
    /// of it suspends the component call until the future is ready. The
    /// component must be called with [`Func::call_async`](super::Func::call_async)
    /// (in an engine with [`Config::async_support`](crate::Config::async_support));
    /// reached from a synchronous call, the function fails.
    pub fn func_new_async(
        &mut self,
        name: &str,
        f: impl for<'b> Fn(
            StoreContextMut<'b, T>,
            &'b [Val],
            &'b mut [Val],
        ) -> Box<dyn std::future::Future<Output = Result<()>> + Send + 'b>
        + Send
        + Sync
        + 'static,
    ) -> Result<()> {
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc::Async(Arc::new(f)))),
        )
    }

    /// Defines the resource type `name` as the host's `ty`; `dtor` runs
    /// with the representation when a component drops the last owned
    /// handle to one.
    pub fn resource(
        &mut self,
        name: &str,
        ty: ResourceType,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, Definition::Resource(ty, Some(Arc::new(dtor))))
    }

    /// Defines the resource type `name` as the host's `ty` with an async
    /// destructor: as [`resource`](Self::resource), but `dtor` returns a
    /// future, which the component call that dropped the resource (an
    /// async call, [`Func::call_async`](super::Func::call_async)) suspends
    /// on until it is ready; a drop from a synchronous call fails.
    pub fn resource_async(
        &mut self,
        name: &str,
        ty: ResourceType,
        dtor: impl for<'b> Fn(
            StoreContextMut<'b, T>,
            u32,
        ) -> Box<dyn std::future::Future<Output = Result<()>> + Send + 'b>
        + Send
        + Sync
        + 'static,
    ) -> Result<()> {
        self.resource(name, ty, move |store: StoreContextMut<'_, T>, rep| {
            let mut future = std::pin::Pin::from(dtor(store, rep));
            crate::vm::async_driver::block_on_fiber(future.as_mut())
        })
    }

    /// Defines the core module `name`.
    pub fn module(&mut self, name: &str, module: &Module) -> Result<()> {
        self.insert(name, Definition::Module(module.clone()))
    }

    /// The nested instance `name`, made empty if it is not defined yet.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        let allow_shadowing = self.allow_shadowing;
        LinkerInstance {
            map: &mut *self.map,
            allow_shadowing,
        }
        .into_instance(name, allow_shadowing)
    }

    fn into_instance(self, name: &str, allow_shadowing: bool) -> Result<LinkerInstance<'a, T>> {
        let entry = self
            .map
            .entry(name.to_string())
            .or_insert_with(|| Definition::Instance(BTreeMap::new()));
        match entry {
            Definition::Instance(map) => Ok(LinkerInstance {
                map,
                allow_shadowing,
            }),
            other => Err(Error::msg(format!(
                "`{name}` is already defined as a {}",
                other.kind()
            ))),
        }
    }
}

/// A version `major.minor.patch` (pre-release and build suffixes are part
/// of `rest`, which must then match exactly).
fn parse_version(v: &str) -> Option<(u64, u64, u64, &str)> {
    let end = v.find(['-', '+']).unwrap_or(v.len());
    let (nums, rest) = v.split_at(end);
    let mut it = nums.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((major, minor, patch, rest))
}

/// The definition of `name`: an exact match, or else the newest
/// semver-compatible version of the same interface.
pub(crate) fn lookup<'m, T>(
    map: &'m BTreeMap<String, Definition<T>>,
    name: &str,
) -> Option<&'m Definition<T>> {
    if let Some(d) = map.get(name) {
        return Some(d);
    }
    let (base, version) = name.rsplit_once('@')?;
    let (major, minor, _, rest) = parse_version(version)?;
    if !rest.is_empty() {
        return None;
    }
    type Version = (u64, u64, u64);
    let mut best: Option<(Version, &Definition<T>)> = None;
    for (k, d) in map.range(format!("{base}@")..) {
        let Some((kb, kv)) = k.rsplit_once('@') else {
            break;
        };
        if kb != base {
            break;
        }
        let Some((ma, mi, pa, r)) = parse_version(kv) else {
            continue;
        };
        let compatible = r.is_empty() && ma == major && (major != 0 || (mi == minor && minor != 0));
        if compatible && best.is_none_or(|(v, _)| (ma, mi, pa) > v) {
            best = Some(((ma, mi, pa), d));
        }
    }
    best.map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(names: &[&str]) -> BTreeMap<String, Definition<()>> {
        names
            .iter()
            .map(|n| (n.to_string(), Definition::Instance(BTreeMap::new())))
            .collect()
    }

    fn found(names: &[&str], want: &str) -> Option<String> {
        let m = map(names);
        let d = lookup(&m, want)? as *const _;
        m.iter()
            .find(|(_, v)| std::ptr::eq(*v as *const _, d))
            .map(|(k, _)| k.clone())
    }

    #[test]
    fn semver_compatible_lookup() {
        let names = [
            "a:b/c@0.2.1",
            "a:b/c@0.2.6",
            "a:b/c@0.3.0",
            "a:b/c@1.0.0",
            "a:b/c@1.4.2",
        ];
        assert_eq!(found(&names, "a:b/c@0.2.3").as_deref(), Some("a:b/c@0.2.6"));
        assert_eq!(found(&names, "a:b/c@0.3.9").as_deref(), Some("a:b/c@0.3.0"));
        assert_eq!(found(&names, "a:b/c@1.1.0").as_deref(), Some("a:b/c@1.4.2"));
        assert_eq!(found(&names, "a:b/c@0.1.0"), None);
        assert_eq!(found(&names, "a:b/c@2.0.0"), None);
        assert_eq!(found(&["a:b/c@0.0.1"], "a:b/c@0.0.2"), None);
        assert_eq!(found(&names, "a:b/d@0.2.3"), None);
        assert_eq!(found(&["x"], "x").as_deref(), Some("x"));
    }
}

//! `Linker<T>`: resolves a module's imports by name from host functions and
//! other instances' exports.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::externals::Extern;
use crate::func::{Caller, Func};
use crate::instance::Instance;
use crate::module::Module;
use crate::store::AsContextMut;
use crate::types::{ExternType, FuncType};
use crate::values::Val;
use crate::vm::invoke::HostFn;
use crate::vm::store_opaque::StoreInner;
use crate::vm::vmcontext::ValRaw;

enum Definition<T> {
    Extern(Extern),
    HostFunc { ty: FuncType, call: HostFn<T> },
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc { ty, call } => Definition::HostFunc {
                ty: ty.clone(),
                call: call.clone(),
            },
        }
    }
}

/// Named definitions to satisfy imports with: host functions and external
/// values, each under a `module` and `name`, for stores with data `T`.
///
/// A linker holds no store: host functions are created in a store when a
/// module that imports them is instantiated, so one linker serves any
/// number of stores. A name may be defined once, unless
/// [`Linker::allow_shadowing`] is on.
///
/// ```
/// use nyash_engine::{Engine, Linker, Module, Store};
///
/// let engine = Engine::default();
/// let lib = Module::new(&engine, r#"(module (func (export "seven") (result i32) (i32.const 7)))"#)?;
/// let app = Module::new(
///     &engine,
///     r#"(module
///          (import "lib" "seven" (func $seven (result i32)))
///          (import "host" "twice" (func $twice (param i32) (result i32)))
///          (func (export "run") (result i32) (call $twice (call $seven))))"#,
/// )?;
/// let mut linker = Linker::new(&engine);
/// linker.func_wrap("host", "twice", |x: i32| x * 2)?;
/// let mut store = Store::new(&engine, ());
/// linker.module(&mut store, "lib", &lib)?; // instantiate `lib`, define its exports
/// let app = linker.instantiate(&mut store, &app)?;
/// assert_eq!(app.get_typed_func::<(), i32>(&mut store, "run")?.call(&mut store, ())?, 14);
///
/// // A missing import is a link error naming it.
/// let other = Module::new(&engine, r#"(module (import "host" "nope" (func)))"#)?;
/// let err = linker.instantiate(&mut store, &other).unwrap_err();
/// assert!(err.to_string().contains("host::nope"), "{err}");
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub struct Linker<T> {
    engine: Engine,
    defs: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T: 'static> Linker<T> {
    /// An empty linker for modules and stores of `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine this linker was made for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition of the same name replaces an earlier one (default: error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.defs.contains_key(&key) {
            return Err(Error::msg(format!("`{module}::{name}` is already defined")));
        }
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as an external value of a store (a function,
    /// memory, table or global). It may then be used only with that store.
    /// Fails if the name is already defined (unless shadowing is allowed).
    pub fn define(
        &mut self,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines every export of `instance` under `module`, with its export
    /// name. Fails if one of the names is already defined.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, ext) in instance.exports(&mut store) {
            self.define(module, &name, ext)?;
        }
        Ok(self)
    }

    /// Defines a host function `module::name` of type `ty`, with dynamically
    /// typed arguments and results (as [`Func::new`]). Fails if the name is
    /// already defined (unless shadowing is allowed).
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let f = Arc::new(f);
        let ty2 = ty.clone();
        let call = HostFn::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
            crate::func::call_dynamic(&mut caller, &ty2, &*f, values)
        });
        self.insert(module, name, Definition::HostFunc { ty, call })
    }

    /// Defines a host function whose arguments and results are raw values.
    pub(crate) fn func_raw(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        call: HostFn<T>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::HostFunc { ty, call })
    }

    /// Looks `module::name` up; a host function is created in `store` for the
    /// purpose. `None` if nothing of that name is defined.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self
            .defs
            .get(&(module.to_string(), name.to_string()))?
            .clone();
        self.materialize(store.as_context_mut().0, def).ok()
    }

    fn materialize(&self, store: &mut StoreInner<T>, def: Definition<T>) -> Result<Extern> {
        Ok(match def {
            Definition::Extern(e) => e,
            Definition::HostFunc { ty, call } => Extern::Func(Func::new_raw(store, ty, call)?),
        })
    }

    /// Instantiates `module` in `store`, resolving each import by its module
    /// and name, and runs its start function. Fails with
    /// [`ErrorKind::Link`](crate::ErrorKind::Link) if an import is not defined or
    /// has another type, or as [`Instance::new`] does.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        let imports = self.resolve(store, module)?;
        Instance::new(crate::store::StoreContextMut(store), module, &imports)
    }

    /// Instantiates `module` in an async call, so its start function may call
    /// async host functions. Needs
    /// [`Config::async_support`](crate::Config::async_support); errors as
    /// [`Linker::instantiate`].
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
        module: &Module,
    ) -> Result<Instance>
    where
        T: Send,
    {
        let store = store.as_context_mut().0;
        let imports = self.resolve(store, module)?;
        Instance::new_async(crate::store::StoreContextMut(store), module, &imports).await
    }

    fn resolve(&self, store: &mut StoreInner<T>, module: &Module) -> Result<Vec<Extern>> {
        let mut imports = Vec::with_capacity(module.env().imports.len());
        for (k, (m, n, ty)) in module.imports().enumerate() {
            let Some(def) = self.defs.get(&(m.to_string(), n.to_string())) else {
                return Err(Error::link(
                    m,
                    n,
                    format!("unknown import: no {} of that name is defined", ty.kind()),
                ));
            };
            if let (Definition::HostFunc { ty: have, .. }, ExternType::Func(want)) = (def, &ty)
                && !module.host_func_matches(have, k)
            {
                return Err(Error::link(
                    m,
                    n,
                    format!("expected function {want}, found {have}"),
                ));
            }
            imports.push(self.materialize(store, def.clone())?);
        }
        Ok(imports)
    }

    /// Instantiates `module` (as [`Linker::instantiate`]) and defines all its
    /// exports under `name`, so later modules can import them.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(&mut store, module)?;
        self.instance(&mut store, name, instance)
    }
}

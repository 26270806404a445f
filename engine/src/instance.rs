//! `Instance`: a module instantiated in a store, and its exports. The
//! instantiation itself is `vm::instantiate`.

use crate::error::Result;
use crate::externals::{Extern, Global, Memory, Table};
use crate::func::Func;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut};
use crate::vm::instantiate::{export_of, instantiate, instantiate_and_start, start_func};

/// An instance of a module in a store.
///
/// A handle (`Copy`; using it with another store panics). Make one with
/// [`Linker::instantiate`](crate::Linker::instantiate), which resolves
/// imports by name, or with [`Instance::new`] from a list of imports; then
/// look its exports up by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the order of the module's imports.
    ///
    /// Lays out the instance, applies its data and element segments and runs
    /// its start function. Fails with [`ErrorKind::Link`](crate::ErrorKind::Link)
    /// if an import is of the wrong type,
    /// [`ErrorKind::Instantiation`](crate::ErrorKind::Instantiation) if the
    /// number of imports is wrong or a memory or table cannot be made, or
    /// [`ErrorKind::Trap`](crate::ErrorKind::Trap) if a segment is out of
    /// bounds or the start function traps.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        instantiate_and_start(&mut store.as_context_mut().0.opaque, module, imports)
    }

    /// Instantiates in an async call: the start function may call async host
    /// functions. Needs [`Config::async_support`](crate::Config::async_support).
    pub async fn new_async<T: Send + 'static>(
        mut store: impl AsContextMut<Data = T> + Send,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        let instance = instantiate(&mut store.opaque, module, imports)?;
        if let Some(f) = start_func(&mut store.opaque, instance) {
            let mut values = [crate::vm::vmcontext::ValRaw::ZERO];
            f.call_raw_async(store, &mut values).await?;
        }
        Ok(instance)
    }

    /// The export `name`, of any kind; `None` if there is none.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = &mut store.as_context_mut().0.opaque;
        export_of(store, self, name)
    }

    /// The exported function `name`; `None` if there is no export of that
    /// name or it is not a function. See also
    /// [`Instance::get_typed_func`].
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported memory `name`; `None` if there is none of that name and kind.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`; `None` if there is none of that name and kind.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`; `None` if there is none of that name and kind.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported exception tag `name`; `None` if there is none of that
    /// name and kind.
    pub fn get_tag(&self, store: impl AsContextMut, name: &str) -> Option<crate::Tag> {
        self.get_export(store, name)?.into_tag()
    }

    /// All exports, in the module's order.
    pub fn exports<'a, T: 'a>(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> Vec<(String, Extern)> {
        let store = &mut store.as_context_mut().0.opaque;
        let module = store.instance(self).module.clone();
        module
            .env()
            .exports
            .iter()
            .filter_map(|e| Some((e.name.clone(), export_of(store, self, &e.name)?)))
            .collect()
    }

    /// The module this is an instance of.
    pub fn module<'a, T: 'a>(&self, store: &'a impl AsContext<Data = T>) -> &'a Module {
        let store = &store.as_context().0.opaque;
        &store.instance(self).module
    }
}

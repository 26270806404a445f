//! [`Instance`]: a component instantiated in a store, and the
//! instantiation itself: the inlined component's initializers run in
//! order (core instances created with their imports, lowered host
//! functions, adapters and resource built-ins made as core functions,
//! resource types made), then its exports resolved.

use std::collections::HashMap;

use nyash_aot::component::inline::{
    ComponentInstanceId, CoreDef, Export, FuncDef, GlobalInitializer, ImportPath, Lifted,
    ModuleDef, Options, ResourceDef, ResourceRef,
};
use nyash_aot::component::types::{ComponentTypes, EntityType, ResourceIndex, TypeDef};

use super::call::{self, Builtin};
use super::component::Component;
use super::func::Func;
use super::linker::{Definition, lookup};
use super::store::{
    ExportItem, FLAG_MAY_ENTER, FLAG_MAY_LEAVE, InstanceData, InstanceFlags, LiftedFunc,
    ResolvedOptions, ResourceTypeData,
};
use super::typed::{ComponentNamedList, Lift, Lower, TypedFunc};
use crate::store::StoreContextMut;
use crate::vm::store_opaque::{StoreInner, StoreOpaque};
use crate::{AsContextMut, Error, Extern, Result};

/// A component instantiated in a store: its exports are looked up by name
/// ([`Instance::get_func`]); nested instances' by
/// [`Instance::get_export_index`] first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// A handle to one export of an [`Instance`], from
/// [`Instance::get_export_index`]: the path of names to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ComponentExportIndex {
    instance: Instance,
    path: Vec<String>,
}

/// What [`Instance::get_func`] takes: a name at the root, or an export
/// index from [`Instance::get_export_index`].
pub trait InstanceExportLookup {
    #[doc(hidden)]
    fn path(&self) -> Vec<String>;
}

impl InstanceExportLookup for &str {
    fn path(&self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl InstanceExportLookup for String {
    fn path(&self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl InstanceExportLookup for &ComponentExportIndex {
    fn path(&self) -> Vec<String> {
        self.path.clone()
    }
}

impl InstanceExportLookup for ComponentExportIndex {
    fn path(&self) -> Vec<String> {
        self.path.clone()
    }
}

impl Instance {
    fn export<'s>(&self, store: &'s mut StoreOpaque, path: &[String]) -> Option<&'s ExportItem> {
        assert_eq!(
            self.store,
            store.id(),
            "component instance used with a store it does not belong to"
        );
        let data = store.components().data(self.index);
        let mut items = &data.exports;
        let mut found = None;
        for name in path {
            let item = &items.iter().find(|(n, _)| n == name)?.1;
            found = Some(item);
            if let ExportItem::Instance(inner) = item {
                items = inner;
            }
        }
        found
    }

    /// The export `name` of the root (`parent` `None`) or of the exported
    /// instance `parent`, if there is one.
    pub fn get_export_index(
        &self,
        mut store: impl AsContextMut,
        parent: Option<&ComponentExportIndex>,
        name: &str,
    ) -> Option<ComponentExportIndex> {
        let mut path = parent.map(|p| p.path.clone()).unwrap_or_default();
        path.push(name.to_string());
        self.export(&mut store.as_context_mut().0.opaque, &path)?;
        Some(ComponentExportIndex {
            instance: *self,
            path,
        })
    }

    /// The exported function `name` (a root export name, or an index from
    /// [`get_export_index`](Self::get_export_index)), if there is one.
    pub fn get_func(
        &self,
        mut store: impl AsContextMut,
        name: impl InstanceExportLookup,
    ) -> Option<Func> {
        let store = &mut store.as_context_mut().0.opaque;
        match self.export(store, &name.path())? {
            ExportItem::Func(index) => Some(Func {
                store: self.store,
                index: *index,
            }),
            _ => None,
        }
    }

    /// The exported function `name` with static types: parameters
    /// `Params` (a tuple, `(u32, String)`) and results `Results` (`(u32,)`,
    /// or `()` for none), checked once, here (see [`TypedFunc`]). Fails if
    /// there is no such function or its type differs; the error names the
    /// function, and the parameter or result and the types that differ.
    pub fn get_typed_func<Params, Results>(
        &self,
        mut store: impl AsContextMut,
        name: impl InstanceExportLookup,
    ) -> Result<TypedFunc<Params, Results>>
    where
        Params: ComponentNamedList + Lower,
        Results: ComponentNamedList + Lift,
    {
        let path = name.path();
        let shown = path.join("/");
        let f = self
            .get_func(
                &mut store,
                &ComponentExportIndex {
                    instance: *self,
                    path,
                },
            )
            .ok_or_else(|| Error::msg(format!("no exported function `{shown}`")))?;
        f.typed::<Params, Results>(&store)
            .map_err(|e| e.context(format!("function `{shown}`")))
    }

    /// The exported core module `name`, if there is one.
    pub fn get_module(
        &self,
        mut store: impl AsContextMut,
        name: impl InstanceExportLookup,
    ) -> Option<crate::Module> {
        let store = &mut store.as_context_mut().0.opaque;
        match self.export(store, &name.path())? {
            ExportItem::Module(m) => Some(m.clone()),
            _ => None,
        }
    }
}

/// The definition an import path names.
fn resolve_path<'d, T>(
    imports: &'d [Definition<T>],
    path: &ImportPath,
) -> Result<&'d Definition<T>> {
    let mut def = imports
        .get(path.import as usize)
        .ok_or_else(|| Error::from(nyash_aot::bug_error!("import {} out of range", path.import)))?;
    for name in &path.path {
        def = match def {
            Definition::Instance(map) => lookup(map, name).ok_or_else(|| {
                Error::link(
                    name,
                    "",
                    format!("the linker's instance does not define `{name}`"),
                )
            })?,
            other => {
                return Err(Error::link(
                    name,
                    "",
                    format!(
                        "expected an instance to find `{name}` in, found a {}",
                        other.kind()
                    ),
                ));
            }
        };
    }
    Ok(def)
}

/// Records the store's resource type of each resource the import `ty`
/// names (a resource type, or resources exported by an instance), taken
/// from its definition. The definitions' kinds and typed host functions'
/// types were checked before, once (`InstancePre::new`).
fn import_resources<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    types: &ComponentTypes,
    ty: &EntityType,
    def: &Definition<T>,
) -> Result<()> {
    match (ty, def) {
        (EntityType::Type(TypeDef::Resource(idx)), Definition::Resource(rty, dtor)) => {
            let super::resources::ResourceTypeKind::Host(id) = rty.0 else {
                return Err(Error::msg(
                    "a guest resource type cannot be given as a host resource",
                ));
            };
            let dtor = dtor
                .clone()
                .map(|d| Box::new(d) as Box<dyn std::any::Any + Send + Sync>);
            let cs = store.opaque.components();
            let rt = cs.host_resource_type(id, dtor);
            cs.data(data)
                .resource_map
                .insert((ComponentInstanceId(0), *idx), rt);
        }
        (EntityType::Instance(it), Definition::Instance(map)) => {
            for (n, ety) in &types.instance(*it).exports {
                if let EntityType::Type(TypeDef::Resource(_)) | EntityType::Instance(_) = ety
                    && let Some(d) = lookup(map, n)
                {
                    import_resources(store, data, types, ety, d)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn core_def<T: 'static>(store: &mut StoreInner<T>, data: u32, d: &CoreDef) -> Result<Extern> {
    let cs = store.opaque.components();
    let inst = cs.data(data);
    Ok(match d {
        CoreDef::Export { instance, name } => {
            let Some(Some(core)) = inst.core.get(instance.0 as usize).copied() else {
                return Err(nyash_aot::bug_error!(
                    "core instance {instance:?} used before it exists"
                )
                .into());
            };
            core.get_export(StoreContextMut(store), name)
                .ok_or_else(|| {
                    Error::from(nyash_aot::bug_error!(
                        "validated core export `{name}` missing"
                    ))
                })?
        }
        CoreDef::Lowered(i) => Extern::Func(inst.lowered[i.0 as usize]),
        CoreDef::Adapter(i) => Extern::Func(inst.adapters[i.0 as usize]),
        CoreDef::ResourceNew(r, ci) => builtin(store, data, *ci, Builtin::New, r)?,
        CoreDef::ResourceDrop(r, ci) => builtin(store, data, *ci, Builtin::Drop, r)?,
        CoreDef::ResourceRep(r, ci) => builtin(store, data, *ci, Builtin::Rep, r)?,
        CoreDef::AsyncBuiltin(b) => {
            let options = resolve_options(store, data, &b.options)?;
            let table = match &b.table {
                Some(t) => match core_def(store, data, t)? {
                    Extern::Table(t) => Some(t),
                    _ => {
                        return Err(
                            nyash_aot::bug_error!("canonical table {t:?} is not a table").into(),
                        );
                    }
                },
                None => None,
            };
            Extern::Func(super::concurrent::builtin(store, data, b, options, table)?)
        }
    })
}

fn builtin<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    ci: ComponentInstanceId,
    kind: Builtin,
    r: &ResourceRef,
) -> Result<Extern> {
    let cs = store.opaque.components();
    let rt = match r {
        ResourceRef::Defined(i) => cs.data(data).resources.get(i.0 as usize).copied(),
        ResourceRef::Abstract(idx) => cs.resource_type(data, ci, *idx),
    };
    Ok(Extern::Func(call::resource_builtin(
        store, data, ci, kind, rt,
    )?))
}

fn core_func<T: 'static>(store: &mut StoreInner<T>, data: u32, d: &CoreDef) -> Result<crate::Func> {
    match core_def(store, data, d)? {
        Extern::Func(f) => Ok(f),
        _ => Err(nyash_aot::bug_error!("canonical option {d:?} is not a function").into()),
    }
}

fn resolve_options<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    o: &Options,
) -> Result<ResolvedOptions> {
    let memory = match &o.memory {
        Some(d) => match core_def(store, data, d)? {
            Extern::Memory(m) => Some(m),
            _ => {
                return Err(nyash_aot::bug_error!("canonical memory {d:?} is not a memory").into());
            }
        },
        None => None,
    };
    Ok(ResolvedOptions {
        encoding: o.string_encoding,
        memory,
        realloc: o
            .realloc
            .as_ref()
            .map(|d| core_func(store, data, d))
            .transpose()?,
        post_return: o
            .post_return
            .as_ref()
            .map(|d| core_func(store, data, d))
            .transpose()?,
        async_: o.async_,
        callback: o
            .callback
            .as_ref()
            .map(|d| core_func(store, data, d))
            .transpose()?,
    })
}

fn lifted<T: 'static>(store: &mut StoreInner<T>, data: u32, l: &Lifted) -> Result<LiftedFunc> {
    let cs = store.opaque.components();
    let parents = &cs.data(data).component.inner.inlined.parents;
    let mut chain = Vec::new();
    let mut at = Some(l.instance);
    // A parent has a smaller id than its child; the bound only guards
    // against a malformed table.
    while let Some(i) = at
        && chain.len() <= parents.len()
    {
        chain.push(i);
        at = parents.get(i.0 as usize).copied().flatten();
    }
    let host_chain = chain.into_iter().map(|i| cs.flags(data, i)).collect();
    Ok(LiftedFunc {
        data,
        ty: l.ty,
        core: core_func(store, data, &l.func)?,
        options: resolve_options(store, data, &l.options)?,
        instance: l.instance,
        host_chain,
    })
}

/// Instantiates `component` in `store` with `imports` (one definition per
/// import, in order).
pub(crate) fn instantiate<T: 'static>(
    store: &mut StoreInner<T>,
    component: &Component,
    imports: &[Definition<T>],
) -> Result<Instance> {
    let c = component.inner.clone();
    let inl = &c.inlined;
    let n = inl.num_component_instances as usize;
    // Each component instance's flags word is a mutable `i32` global of
    // the store's, both may-bits set: compiled adapters import it, the
    // runtime's paths reach it through its definition.
    let mut flag_globals = Vec::with_capacity(n);
    let mut flags = Vec::with_capacity(n);
    for _ in 0..n {
        let ty = crate::GlobalType {
            content: crate::ValType::I32,
            mutable: true,
        };
        let init = crate::Val::I32(FLAG_MAY_ENTER | FLAG_MAY_LEAVE);
        let g = crate::Global::new(StoreContextMut(&mut *store), ty, init)?;
        let def = store.opaque.global(&g).def;
        // SAFETY: `def` is the boxed definition of a mutable i32 global the
        // store owns for as long as it lives (host globals are never freed
        // before their store).
        flags.push(unsafe { InstanceFlags::at(def) });
        flag_globals.push(g);
    }
    let cs = store.opaque.components();
    let data = cs.instances.len() as u32;
    cs.instances.push(InstanceData {
        component: component.clone(),
        core: vec![None; inl.num_runtime_instances as usize],
        lowered: Vec::with_capacity(inl.num_lowered as usize),
        adapters: Vec::with_capacity(inl.num_adapters as usize),
        resources: Vec::with_capacity(inl.num_resources as usize),
        flags,
        flag_globals,
        adapter_trap: None,
        tables: (0..n).map(|_| Default::default()).collect(),
        resource_map: HashMap::new(),
        exports: Vec::new(),
    });
    for ((_, ty), def) in inl.imports.iter().zip(imports) {
        import_resources(store, data, &c.types, ty, def)?;
    }
    // What each instance's resource types are: imported ones now, defined
    // ones as their `Resource` initializer runs.
    let mut defined_uses: HashMap<u32, Vec<(ComponentInstanceId, ResourceIndex)>> = HashMap::new();
    for (inst, idx, def) in &inl.resource_maps {
        match def {
            ResourceDef::Defined(r) => defined_uses.entry(r.0).or_default().push((*inst, *idx)),
            ResourceDef::Import(path) => {
                let rt = match resolve_path(imports, path)? {
                    Definition::Resource(rty, dtor) => {
                        let super::resources::ResourceTypeKind::Host(id) = rty.0 else {
                            return Err(Error::msg(
                                "a guest resource type cannot be given as a host resource",
                            ));
                        };
                        let dtor = dtor
                            .clone()
                            .map(|d| Box::new(d) as Box<dyn std::any::Any + Send + Sync>);
                        store.opaque.components().host_resource_type(id, dtor)
                    }
                    other => {
                        return Err(Error::msg(format!(
                            "expected a resource type import, found a {}",
                            other.kind()
                        )));
                    }
                };
                store
                    .opaque
                    .components()
                    .data(data)
                    .resource_map
                    .insert((*inst, *idx), rt);
            }
        }
    }
    for init in &inl.initializers {
        match init {
            GlobalInitializer::InstantiateModule {
                instance,
                module,
                args,
            } => {
                let module = match module {
                    ModuleDef::Static(i) => c.modules[i.0 as usize].clone(),
                    ModuleDef::Import { path, .. } => match resolve_path(imports, path)? {
                        Definition::Module(m) => m.clone(),
                        other => {
                            return Err(Error::msg(format!(
                                "expected a core module import, found a {}",
                                other.kind()
                            )));
                        }
                    },
                };
                let externs = args
                    .iter()
                    .map(|a| core_def(store, data, a))
                    .collect::<Result<Vec<_>>>()?;
                let core = crate::Instance::new(StoreContextMut(&mut *store), &module, &externs)?;
                store.opaque.components().data(data).core[instance.0 as usize] = Some(core);
            }
            GlobalInitializer::LowerImport {
                import,
                ty,
                options,
                instance,
                ..
            } => {
                let host = match resolve_path(imports, import)? {
                    Definition::Func(f) => f.clone(),
                    other => {
                        return Err(Error::msg(format!(
                            "expected a function import, found a {}",
                            other.kind()
                        )));
                    }
                };
                let options = resolve_options(store, data, options)?;
                let f = call::lowered_host_func(
                    store,
                    data,
                    component.clone(),
                    *ty,
                    options,
                    *instance,
                    host,
                )?;
                store.opaque.components().data(data).lowered.push(f);
            }
            GlobalInitializer::Adapter {
                index,
                lift,
                lower_ty,
                lower_options,
                lower_instance,
            } => {
                let callee = lifted(store, data, lift)?;
                let options = resolve_options(store, data, lower_options)?;
                // A compiled adapter where the compiler made one; else
                // the dynamic one, where whether the call may enter the
                // callee is decided when it is made (`call::entering_set`):
                // a child may call back into the parent that called it.
                if let Some(Some(plan)) = c.adapters.get(index.0 as usize)
                    && plan.caller == *lower_instance
                {
                    let ty = call::lowered_core_type(component, *lower_ty, options);
                    let f = super::adapter::compiled_adapter(
                        store, data, plan, &callee, &options, &ty,
                    )?;
                    if let Some(f) = f {
                        store.opaque.components().data(data).adapters.push(f);
                        continue;
                    }
                }
                let f = call::adapter_func(
                    store,
                    data,
                    component.clone(),
                    *lower_ty,
                    options,
                    *lower_instance,
                    callee,
                )?;
                store.opaque.components().data(data).adapters.push(f);
            }
            GlobalInitializer::Resource {
                index,
                ty,
                dtor,
                instance,
            } => {
                let dtor = dtor
                    .as_ref()
                    .map(|d| core_func(store, data, d))
                    .transpose()?;
                let cs = store.opaque.components();
                let rt = cs.resource_types.len() as u32;
                cs.resource_types.push(ResourceTypeData {
                    owner: Some((data, *instance)),
                    dtor,
                    host_dtor: None,
                });
                let d = cs.data(data);
                d.resources.push(rt);
                d.resource_map.insert((*instance, *ty), rt);
                for key in defined_uses.get(&index.0).into_iter().flatten() {
                    d.resource_map.insert(*key, rt);
                }
            }
        }
    }
    let mut exports = Vec::with_capacity(inl.exports.len());
    for (name, e) in &inl.exports {
        exports.push((name.clone(), export_item(store, data, e)?));
    }
    store.opaque.components().data(data).exports = exports;
    Ok(Instance {
        store: store.opaque.id(),
        index: data,
    })
}

fn export_item<T: 'static>(store: &mut StoreInner<T>, data: u32, e: &Export) -> Result<ExportItem> {
    Ok(match e {
        Export::Func(FuncDef::Lifted(l)) => {
            let f = lifted(store, data, l)?;
            let cs = store.opaque.components();
            cs.funcs.push(Box::new(f));
            ExportItem::Func(cs.funcs.len() as u32 - 1)
        }
        Export::Func(FuncDef::Import { .. }) => {
            return Err(Error::msg(
                "re-exporting an imported function is not supported yet",
            ));
        }
        Export::Module(ModuleDef::Static(i)) => {
            let m =
                store.opaque.components().data(data).component.inner.modules[i.0 as usize].clone();
            ExportItem::Module(m)
        }
        Export::Module(ModuleDef::Import { .. }) => {
            return Err(Error::msg(
                "re-exporting an imported core module is not supported yet",
            ));
        }
        Export::Instance(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (n, e) in items {
                out.push((n.clone(), export_item(store, data, e)?));
            }
            ExportItem::Instance(out)
        }
        Export::Type => ExportItem::Type,
    })
}

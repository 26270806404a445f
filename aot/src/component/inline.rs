//! Inlining: the translation's initializers interpreted at compile time
//! into one flat description of the root component, the data structure the
//! engine will instantiate ([`InlinedComponent`]).
//!
//! Instantiating a nested component is treated like a function call: its
//! body is interpreted with the arguments bound to its imports and its
//! captured upvars to its outer aliases, and its exports become the new
//! instance. What is left at the end is what needs the runtime: the core
//! module instances to create, in the order their side effects happen, with
//! one argument per module import; the host imports that are lowered; the
//! fused adapters, a function lifted in one component instance and lowered
//! in another; the resources each instantiation defines, and what each
//! component instance's resource types are at run time
//! ([`InlinedComponent::resource_maps`]); each instance's parent; and the
//! root's exports. The engine's runtime (`engine/src/component/`) makes the
//! lowered imports and adapters core functions that lift and lower through
//! the canonical ABI (compiled trampolines and adapters are a later layer).
//!
//! Not done yet: instantiating an imported (rather than defined)
//! component, and values and start functions (🪙).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::builtins::AsyncBuiltin;
use super::translate::{
    CanonOptions, ClosedOverComponent, ClosedOverModule, ComponentBody, ComponentItem,
    ComponentTranslation, CoreItem, CoreSort, Initializer, StaticComponentIndex, StaticModuleIndex,
    StringEncoding,
};
use super::types::{
    EntityType, FuncTypeIndex, InstanceTypeIndex, ModuleTypeIndex, ResourceIndex, TypeDef,
};
use crate::CompileError;

/// A core module instance the runtime creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuntimeInstanceIndex(pub u32);
/// A lowered host import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoweredIndex(pub u32);
/// A fused adapter: a function lifted in one component instance, lowered in another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdapterIndex(pub u32);
/// A resource type as instantiated: one per `DefineResource` evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuntimeResourceIndex(pub u32);
/// A component instance as instantiated (the root is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentInstanceId(pub u32);

/// One of the root's imports and a path of export names into it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportPath {
    /// Index into [`InlinedComponent::imports`].
    pub import: u32,
    pub path: Vec<String>,
}

/// A core definition: what a core function, table, memory, global or tag
/// of some component is at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoreDef {
    /// An export of a core module instance.
    Export {
        instance: RuntimeInstanceIndex,
        name: String,
    },
    /// The trampoline of a lowered host import.
    Lowered(LoweredIndex),
    /// A fused adapter.
    Adapter(AdapterIndex),
    /// `resource.new`, `resource.drop`, `resource.rep` of a resource, in
    /// the handle table of the component instance that defined the
    /// built-in.
    ResourceNew(ResourceRef, ComponentInstanceId),
    ResourceDrop(ResourceRef, ComponentInstanceId),
    ResourceRep(ResourceRef, ComponentInstanceId),
    /// One of the async ABI's built-ins, in the component instance that
    /// defined it.
    AsyncBuiltin(Box<InlinedBuiltin>),
}

/// An async ABI built-in as instantiated: the built-in, its options
/// (`waitable-set.wait/poll`'s memory is `options.memory`), the core table
/// of `thread.new-indirect`, and the component instance whose handle table
/// and tasks it works on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InlinedBuiltin {
    pub builtin: AsyncBuiltin,
    pub options: Options,
    pub table: Option<CoreDef>,
    pub instance: ComponentInstanceId,
}

/// What a resource type is at run time: one an instantiation defined, or
/// one the host gives for an import.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceDef {
    Defined(RuntimeResourceIndex),
    Import(ImportPath),
}

/// Which resource a built-in is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceRef {
    /// One defined by an instantiation.
    Defined(RuntimeResourceIndex),
    /// An imported (abstract) one, by its static type: which resource it
    /// is is known at instantiation (the engine's per-instance resource
    /// map, from the import and [`InlinedComponent::resource_maps`]).
    Abstract(ResourceIndex),
}

/// Canonical options with the core items resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Options {
    pub string_encoding: StringEncoding,
    pub memory: Option<CoreDef>,
    pub realloc: Option<CoreDef>,
    pub post_return: Option<CoreDef>,
    /// `async` (🔀): lifted or lowered with the async ABI.
    pub async_: bool,
    /// `callback` (🔀): the callback of an async lift.
    pub callback: Option<CoreDef>,
}

/// A function lifted by `canon lift`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lifted {
    pub ty: FuncTypeIndex,
    pub func: CoreDef,
    pub options: Options,
    /// The component instance that lifted it.
    pub instance: ComponentInstanceId,
}

/// A component function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FuncDef {
    Import { path: ImportPath, ty: FuncTypeIndex },
    Lifted(Lifted),
}

/// A core module.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModuleDef {
    Static(StaticModuleIndex),
    Import {
        path: ImportPath,
        ty: ModuleTypeIndex,
    },
}

/// What the runtime does, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GlobalInitializer {
    /// Creates core instance `instance` of `module`, with `args` for its
    /// imports, one per import in the module's order.
    InstantiateModule {
        instance: RuntimeInstanceIndex,
        module: ModuleDef,
        args: Vec<CoreDef>,
    },
    /// A host import lowered into core function `index`.
    LowerImport {
        index: LoweredIndex,
        import: ImportPath,
        ty: FuncTypeIndex,
        options: Options,
        /// The component instance that lowered it.
        instance: ComponentInstanceId,
    },
    /// A function lifted in one instance and lowered in another.
    Adapter {
        index: AdapterIndex,
        lift: Lifted,
        lower_ty: FuncTypeIndex,
        lower_options: Options,
        lower_instance: ComponentInstanceId,
    },
    /// A resource type an instantiation defines.
    Resource {
        index: RuntimeResourceIndex,
        ty: ResourceIndex,
        dtor: Option<CoreDef>,
        instance: ComponentInstanceId,
    },
}

/// What the root exports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Export {
    Func(FuncDef),
    Module(ModuleDef),
    Instance(BTreeMap<String, Export>),
    /// A type (its type is the export's, in the translation's table).
    Type,
}

/// The root component, flattened.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InlinedComponent {
    /// The root's imports, in order.
    pub imports: Vec<(String, EntityType)>,
    pub initializers: Vec<GlobalInitializer>,
    pub exports: Vec<(String, Export)>,
    /// What each resource type a component instance's function types name
    /// is at run time: (instance, resource as that instance's types name
    /// it, its definition). A resource defined in a component instantiated
    /// twice is two runtime resources under one static index; this is
    /// where they are told apart.
    pub resource_maps: Vec<(ComponentInstanceId, ResourceIndex, ResourceDef)>,
    pub num_runtime_instances: u32,
    pub num_lowered: u32,
    pub num_adapters: u32,
    pub num_resources: u32,
    pub num_component_instances: u32,
    /// Each component instance's parent (the instance whose `instantiate`
    /// created it), by [`ComponentInstanceId`]; `None` for the root. The
    /// canonical ABI's reentrance rule enters an instance together with its
    /// ancestors, less those the caller is already in.
    pub parents: Vec<Option<ComponentInstanceId>>,
}

#[derive(Clone, Debug)]
enum ComponentDef {
    Static {
        index: StaticComponentIndex,
        modules: Vec<ModuleDef>,
        components: Vec<ComponentDef>,
    },
    Import,
}

#[derive(Clone, Debug)]
enum InstanceDef {
    Import {
        path: ImportPath,
        ty: InstanceTypeIndex,
    },
    Items(BTreeMap<String, Item>),
}

#[derive(Clone, Debug)]
enum CoreInstance {
    Runtime(RuntimeInstanceIndex),
    Synthetic(HashMap<String, CoreDef>),
}

#[derive(Clone, Debug)]
enum Item {
    Module(ModuleDef),
    Func(FuncDef),
    Instance(InstanceDef),
    Component(ComponentDef),
    Type,
    /// A resource type.
    Resource(ResourceDef),
    /// A component value (🪙).
    Data,
}

/// How deep nested instantiation may go, and how many initializers the
/// result may have: a component that instantiates a nested one twice, which
/// does the same, and so on, inlines exponentially many instances.
const MAX_DEPTH: u32 = 100;
const MAX_INITIALIZERS: usize = 1 << 20;

/// The index spaces of one component instance being evaluated.
#[derive(Default)]
struct Frame {
    core_funcs: Vec<CoreDef>,
    core_memories: Vec<CoreDef>,
    core_tables: Vec<CoreDef>,
    core_globals: Vec<CoreDef>,
    core_tags: Vec<CoreDef>,
    core_instances: Vec<CoreInstance>,
    modules: Vec<ModuleDef>,
    components: Vec<ComponentDef>,
    funcs: Vec<FuncDef>,
    instances: Vec<InstanceDef>,
    resources: HashMap<ResourceIndex, ResourceDef>,
}

fn unsupported(what: &str) -> CompileError {
    CompileError::Unsupported(format!("{what} is not supported yet"))
}

fn get<T: Clone>(space: &[T], i: u32, what: &str) -> Result<T, CompileError> {
    match space.get(i as usize) {
        Some(v) => Ok(v.clone()),
        None => crate::bug!("validated {what} index {i} out of range"),
    }
}

struct Inliner<'a> {
    t: &'a ComponentTranslation,
    out: InlinedComponent,
}

/// Inlines the root component of `t`.
pub fn inline(t: &ComponentTranslation) -> Result<InlinedComponent, CompileError> {
    let mut inliner = Inliner {
        t,
        out: InlinedComponent::default(),
    };
    let root = StaticComponentIndex(t.components.len() as u32 - 1);
    let exports = inliner.instantiate(root, &[], &[], None, 0, None)?;
    // The root's exports, in its order.
    let root_body = t.root();
    for init in &root_body.initializers {
        if let Initializer::Export { name, .. } = init
            && let Some(v) = exports.get(name)
        {
            inliner.out.exports.push((name.clone(), to_export(v)?));
        }
    }
    Ok(inliner.out)
}

fn to_export(v: &Item) -> Result<Export, CompileError> {
    Ok(match v {
        Item::Func(f) => Export::Func(f.clone()),
        Item::Module(m) => Export::Module(m.clone()),
        Item::Type | Item::Resource(_) => Export::Type,
        Item::Instance(InstanceDef::Items(items)) => {
            let mut map = BTreeMap::new();
            for (n, v) in items {
                map.insert(n.clone(), to_export(v)?);
            }
            Export::Instance(map)
        }
        Item::Instance(InstanceDef::Import { .. }) => {
            return Err(unsupported(
                "re-exporting an imported instance from the root",
            ));
        }
        Item::Component(_) => return Err(unsupported("exporting a component from the root")),
        Item::Data => return Err(unsupported("component values (🪙)")),
    })
}

impl Inliner<'_> {
    fn push(&mut self, init: GlobalInitializer) -> Result<(), CompileError> {
        if self.out.initializers.len() >= MAX_INITIALIZERS {
            return Err(unsupported(&format!(
                "a component that inlines to more than {MAX_INITIALIZERS} initializers"
            )));
        }
        self.out.initializers.push(init);
        Ok(())
    }

    fn options(&self, f: &Frame, o: &CanonOptions) -> Result<Options, CompileError> {
        Ok(Options {
            string_encoding: o.string_encoding,
            memory: o
                .memory
                .map(|m| get(&f.core_memories, m, "core memory"))
                .transpose()?,
            realloc: o
                .realloc
                .map(|r| get(&f.core_funcs, r, "core func"))
                .transpose()?,
            post_return: o
                .post_return
                .map(|r| get(&f.core_funcs, r, "core func"))
                .transpose()?,
            async_: o.async_,
            callback: o
                .callback
                .map(|r| get(&f.core_funcs, r, "core func"))
                .transpose()?,
        })
    }

    fn item(&self, f: &Frame, item: ComponentItem) -> Result<Item, CompileError> {
        Ok(match item {
            ComponentItem::Module(i) => Item::Module(get(&f.modules, i, "module")?),
            ComponentItem::Func(i) => Item::Func(get(&f.funcs, i, "func")?),
            ComponentItem::Instance(i) => Item::Instance(get(&f.instances, i, "instance")?),
            ComponentItem::Component(i) => Item::Component(get(&f.components, i, "component")?),
            ComponentItem::Type(_) => Item::Type,
            ComponentItem::Resource(r) => match f.resources.get(&r) {
                Some(d) => Item::Resource(d.clone()),
                None => Item::Type,
            },
            ComponentItem::Value(_) => return Err(unsupported("component values (🪙)")),
        })
    }

    fn core_item(&self, f: &Frame, item: CoreItem) -> Result<CoreDef, CompileError> {
        match item {
            CoreItem::Func(i) => get(&f.core_funcs, i, "core func"),
            CoreItem::Table(i) => get(&f.core_tables, i, "core table"),
            CoreItem::Memory(i) => get(&f.core_memories, i, "core memory"),
            CoreItem::Global(i) => get(&f.core_globals, i, "core global"),
            CoreItem::Tag(i) => get(&f.core_tags, i, "core tag"),
        }
    }

    /// Appends `v` to its index space.
    fn define(f: &mut Frame, v: Item) {
        match v {
            Item::Module(m) => f.modules.push(m),
            Item::Func(x) => f.funcs.push(x),
            Item::Instance(i) => f.instances.push(i),
            Item::Component(c) => f.components.push(c),
            Item::Type | Item::Resource(_) | Item::Data => {}
        }
    }

    fn define_core(f: &mut Frame, sort: CoreSort, d: CoreDef) {
        match sort {
            CoreSort::Func => f.core_funcs.push(d),
            CoreSort::Table => f.core_tables.push(d),
            CoreSort::Memory => f.core_memories.push(d),
            CoreSort::Global => f.core_globals.push(d),
            CoreSort::Tag => f.core_tags.push(d),
        }
    }

    /// A value of an imported entity, at `path`.
    fn imported(&self, path: ImportPath, ty: EntityType) -> Result<Item, CompileError> {
        Ok(match ty {
            EntityType::Module(ty) => Item::Module(ModuleDef::Import { path, ty }),
            EntityType::Func(ty) => Item::Func(FuncDef::Import { path, ty }),
            EntityType::Instance(ty) => Item::Instance(InstanceDef::Import { path, ty }),
            EntityType::Component(_) => Item::Component(ComponentDef::Import),
            EntityType::Type(TypeDef::Resource(_)) => Item::Resource(ResourceDef::Import(path)),
            EntityType::Type(_) => Item::Type,
            EntityType::Value(_) => Item::Data,
        })
    }

    /// Notes in `f` what the resources that the type `ty` of `item` names
    /// are at run time (an imported or exported resource type, and those
    /// of an instance's exports, however deep).
    fn map_resources(&self, f: &mut Frame, ty: &EntityType, item: &Item, depth: u32) {
        if depth > MAX_DEPTH {
            return;
        }
        match (ty, item) {
            // The first binding of a resource type stands: a later export
            // of it (an instance exporting `(eq ...)` of a resource an
            // earlier import gave, as WIT's `use` makes) is the same type,
            // which that instance need not define again.
            (EntityType::Type(TypeDef::Resource(idx)), Item::Resource(d)) => {
                f.resources.entry(*idx).or_insert_with(|| d.clone());
            }
            (EntityType::Instance(it), Item::Instance(def)) => {
                for (n, ety) in &self.t.types.instance(*it).exports {
                    let v = match def {
                        InstanceDef::Items(items) => items.get(n).cloned(),
                        InstanceDef::Import { path, .. } => {
                            let mut path = path.clone();
                            path.path.push(n.clone());
                            self.imported(path, *ety).ok()
                        }
                    };
                    if let Some(v) = v {
                        self.map_resources(f, ety, &v, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// Evaluates component `index` with `args` for its imports (the root
    /// has none: its imports become [`InlinedComponent::imports`]) and
    /// returns its exports.
    fn instantiate(
        &mut self,
        index: StaticComponentIndex,
        upvar_modules: &[ModuleDef],
        upvar_components: &[ComponentDef],
        args: Option<&HashMap<String, Item>>,
        depth: u32,
        parent: Option<ComponentInstanceId>,
    ) -> Result<BTreeMap<String, Item>, CompileError> {
        if depth > MAX_DEPTH {
            return Err(unsupported(&format!(
                "component instantiation nested more than {MAX_DEPTH} deep"
            )));
        }
        let t = self.t;
        let Some(body) = t.components.get(index.0 as usize) else {
            crate::bug!("static component {index:?} out of range");
        };
        let body: &ComponentBody = body;
        // Each instantiation counts, even one that adds no initializer: a
        // chain of components each instantiating the next twice would
        // otherwise take exponential time without growing the result.
        if self.out.num_component_instances as usize >= MAX_INITIALIZERS {
            return Err(unsupported(&format!(
                "a component that inlines to more than {MAX_INITIALIZERS} component instances"
            )));
        }
        let instance = ComponentInstanceId(self.out.num_component_instances);
        self.out.num_component_instances += 1;
        self.out.parents.push(parent);
        let mut f = Frame::default();
        let mut exports = BTreeMap::new();
        for init in &body.initializers {
            match init {
                Initializer::Import { name, ty } => {
                    let v = match args {
                        None => {
                            let import = self.out.imports.len() as u32;
                            self.out.imports.push((name.clone(), *ty));
                            if matches!(ty, EntityType::Value(_)) {
                                return Err(unsupported("component value imports (🪙)"));
                            }
                            self.imported(
                                ImportPath {
                                    import,
                                    path: Vec::new(),
                                },
                                *ty,
                            )?
                        }
                        Some(args) => match args.get(name) {
                            Some(v) => v.clone(),
                            None => crate::bug!("validated instantiation lacks `{name}`"),
                        },
                    };
                    self.map_resources(&mut f, ty, &v, 0);
                    Self::define(&mut f, v);
                }
                Initializer::Export { name, item, ty } => {
                    let v = self.item(&f, *item)?;
                    if let Some(ty) = ty {
                        self.map_resources(&mut f, ty, &v, 0);
                    }
                    exports.insert(name.clone(), v.clone());
                    Self::define(&mut f, v);
                }
                Initializer::DefineModule(m) => f.modules.push(ModuleDef::Static(*m)),
                Initializer::AliasModule(c) => {
                    let m = match c {
                        ClosedOverModule::Local(i) => get(&f.modules, *i, "module")?,
                        ClosedOverModule::Upvar(i) => get(upvar_modules, *i, "upvar module")?,
                    };
                    f.modules.push(m);
                }
                Initializer::DefineComponent {
                    component,
                    closure_modules,
                    closure_components,
                } => {
                    let modules = closure_modules
                        .iter()
                        .map(|c| match c {
                            ClosedOverModule::Local(i) => get(&f.modules, *i, "module"),
                            ClosedOverModule::Upvar(i) => get(upvar_modules, *i, "upvar module"),
                        })
                        .collect::<Result<_, _>>()?;
                    let components = closure_components
                        .iter()
                        .map(|c| match c {
                            ClosedOverComponent::Local(i) => get(&f.components, *i, "component"),
                            ClosedOverComponent::Upvar(i) => {
                                get(upvar_components, *i, "upvar component")
                            }
                        })
                        .collect::<Result<_, _>>()?;
                    f.components.push(ComponentDef::Static {
                        index: *component,
                        modules,
                        components,
                    });
                }
                Initializer::AliasComponent(c) => {
                    let def = match c {
                        ClosedOverComponent::Local(i) => get(&f.components, *i, "component")?,
                        ClosedOverComponent::Upvar(i) => {
                            get(upvar_components, *i, "upvar component")?
                        }
                    };
                    f.components.push(def);
                }
                Initializer::InstantiateModule { module, args } => {
                    let module = get(&f.modules, *module, "module")?;
                    let named: HashMap<&str, &CoreInstance> = args
                        .iter()
                        .map(|(n, i)| {
                            Ok((
                                n.as_str(),
                                f.core_instances.get(*i as usize).ok_or_else(|| {
                                    crate::bug_error!("core instance {i} out of range")
                                })?,
                            ))
                        })
                        .collect::<Result<_, CompileError>>()?;
                    let imports: Vec<(String, String)> = match &module {
                        ModuleDef::Static(m) => match t.modules.get(m.0 as usize) {
                            Some(m) => m
                                .env
                                .imports
                                .iter()
                                .map(|i| (i.module.clone(), i.name.clone()))
                                .collect(),
                            None => crate::bug!("static module {m:?} out of range"),
                        },
                        ModuleDef::Import { ty, .. } => t
                            .types
                            .module(*ty)
                            .imports
                            .iter()
                            .map(|(m, n, _)| (m.clone(), n.clone()))
                            .collect(),
                    };
                    let mut core_args = Vec::with_capacity(imports.len());
                    for (m, n) in imports {
                        let def = match named.get(m.as_str()) {
                            Some(CoreInstance::Runtime(r)) => CoreDef::Export {
                                instance: *r,
                                name: n,
                            },
                            Some(CoreInstance::Synthetic(items)) => match items.get(&n) {
                                Some(d) => d.clone(),
                                None => crate::bug!("validated import `{m}` `{n}` missing"),
                            },
                            None => crate::bug!("validated import module `{m}` missing"),
                        };
                        core_args.push(def);
                    }
                    let r = RuntimeInstanceIndex(self.out.num_runtime_instances);
                    self.out.num_runtime_instances += 1;
                    self.push(GlobalInitializer::InstantiateModule {
                        instance: r,
                        module,
                        args: core_args,
                    })?;
                    f.core_instances.push(CoreInstance::Runtime(r));
                }
                Initializer::CoreInstanceFromExports(items) => {
                    let mut map = HashMap::new();
                    for (n, item) in items {
                        map.insert(n.clone(), self.core_item(&f, *item)?);
                    }
                    f.core_instances.push(CoreInstance::Synthetic(map));
                }
                Initializer::AliasCoreExport {
                    instance: i,
                    name,
                    sort,
                } => {
                    let def = match f.core_instances.get(*i as usize) {
                        Some(CoreInstance::Runtime(r)) => CoreDef::Export {
                            instance: *r,
                            name: name.clone(),
                        },
                        Some(CoreInstance::Synthetic(items)) => match items.get(name) {
                            Some(d) => d.clone(),
                            None => crate::bug!("validated core alias `{name}` missing"),
                        },
                        None => crate::bug!("core instance {i} out of range"),
                    };
                    Self::define_core(&mut f, *sort, def);
                }
                Initializer::InstantiateComponent {
                    component,
                    args,
                    ty,
                } => {
                    let def = get(&f.components, *component, "component")?;
                    let mut named = HashMap::new();
                    for (n, item) in args {
                        named.insert(n.clone(), self.item(&f, *item)?);
                    }
                    let ComponentDef::Static {
                        index,
                        modules,
                        components,
                    } = def
                    else {
                        return Err(unsupported("instantiating an imported component"));
                    };
                    let items = self.instantiate(
                        index,
                        &modules,
                        &components,
                        Some(&named),
                        depth + 1,
                        Some(instance),
                    )?;
                    let instance = Item::Instance(InstanceDef::Items(items));
                    self.map_resources(&mut f, &EntityType::Instance(*ty), &instance, 0);
                    Self::define(&mut f, instance);
                }
                Initializer::ComponentInstanceFromExports(items) => {
                    let mut map = BTreeMap::new();
                    for (n, item) in items {
                        map.insert(n.clone(), self.item(&f, *item)?);
                    }
                    f.instances.push(InstanceDef::Items(map));
                }
                Initializer::AliasExport {
                    instance: i, name, ..
                } => {
                    let v = match get(&f.instances, *i, "instance")? {
                        InstanceDef::Items(items) => match items.get(name) {
                            Some(v) => v.clone(),
                            None => crate::bug!("validated alias of `{name}` missing"),
                        },
                        InstanceDef::Import { mut path, ty } => {
                            let Some((_, ety)) =
                                t.types.instance(ty).exports.iter().find(|(n, _)| n == name)
                            else {
                                crate::bug!("validated alias of `{name}` not in its type");
                            };
                            path.path.push(name.clone());
                            self.imported(path, *ety)?
                        }
                    };
                    Self::define(&mut f, v);
                }
                Initializer::DefineResource { resource, dtor } => {
                    let index = RuntimeResourceIndex(self.out.num_resources);
                    self.out.num_resources += 1;
                    f.resources.insert(*resource, ResourceDef::Defined(index));
                    let dtor = dtor
                        .map(|d| get(&f.core_funcs, d, "core func"))
                        .transpose()?;
                    self.push(GlobalInitializer::Resource {
                        index,
                        ty: *resource,
                        dtor,
                        instance,
                    })?;
                }
                Initializer::Lift {
                    core_func,
                    ty,
                    options,
                } => {
                    let lifted = Lifted {
                        ty: *ty,
                        func: get(&f.core_funcs, *core_func, "core func")?,
                        options: self.options(&f, options)?,
                        instance,
                    };
                    f.funcs.push(FuncDef::Lifted(lifted));
                }
                Initializer::Lower { func, ty, options } => {
                    let options = self.options(&f, options)?;
                    let def = match get(&f.funcs, *func, "func")? {
                        FuncDef::Import { path, .. } => {
                            let index = LoweredIndex(self.out.num_lowered);
                            self.out.num_lowered += 1;
                            self.push(GlobalInitializer::LowerImport {
                                index,
                                import: path,
                                ty: *ty,
                                options,
                                instance,
                            })?;
                            CoreDef::Lowered(index)
                        }
                        FuncDef::Lifted(lift) => {
                            let index = AdapterIndex(self.out.num_adapters);
                            self.out.num_adapters += 1;
                            self.push(GlobalInitializer::Adapter {
                                index,
                                lift,
                                lower_ty: *ty,
                                lower_options: options,
                                lower_instance: instance,
                            })?;
                            CoreDef::Adapter(index)
                        }
                    };
                    f.core_funcs.push(def);
                }
                Initializer::ResourceNew(r) => {
                    let r = resource_ref(&f, *r);
                    f.core_funcs.push(CoreDef::ResourceNew(r, instance));
                }
                Initializer::ResourceDrop(r) => {
                    let r = resource_ref(&f, *r);
                    f.core_funcs.push(CoreDef::ResourceDrop(r, instance));
                }
                Initializer::ResourceRep(r) => {
                    let r = resource_ref(&f, *r);
                    f.core_funcs.push(CoreDef::ResourceRep(r, instance));
                }
                Initializer::AsyncBuiltin {
                    builtin,
                    options,
                    table,
                } => {
                    let def = InlinedBuiltin {
                        builtin: builtin.clone(),
                        options: self.options(&f, options)?,
                        table: table
                            .map(|t| get(&f.core_tables, t, "core table"))
                            .transpose()?,
                        instance,
                    };
                    f.core_funcs.push(CoreDef::AsyncBuiltin(Box::new(def)));
                }
                Initializer::Start { .. } => {
                    return Err(unsupported("component start functions (🪙)"));
                }
            }
        }
        let mut resources: Vec<_> = f.resources.into_iter().collect();
        resources.sort_by_key(|(idx, _)| *idx);
        for (idx, d) in resources {
            self.out.resource_maps.push((instance, idx, d));
        }
        Ok(exports)
    }
}

fn resource_ref(f: &Frame, r: ResourceIndex) -> ResourceRef {
    match f.resources.get(&r) {
        Some(ResourceDef::Defined(d)) => ResourceRef::Defined(*d),
        _ => ResourceRef::Abstract(r),
    }
}

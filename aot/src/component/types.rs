//! Component-level types in the engine's own words: the interface value
//! types of the Component Model (`bool`, `s8`..`u64`, `f32`, `f64`, `char`,
//! `string` and the defined types built from them), function types with
//! named parameters, resource handles, and the types of the things a
//! component imports and exports (core modules, functions, instances,
//! components).
//!
//! All of them are kept in one [`ComponentTypes`] table per translation and
//! named by index, so that a type used many times (a record inside a list
//! inside a variant ...) is stored once: a tree of copies could grow
//! exponentially with the number of type definitions. The table is
//! serializable, like the rest of the artifact.
//!
//! The conversion from wasmparser's validated types ([`TypeConverter`]) is
//! here too. The async ABI's types are converted like the rest: `async`
//! function types (a flag on [`FuncType`]), `stream<T>` and `future<T>`
//! (handles, an `i32` in the flat ABI) and `error-context`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wasmparser::component_types as wp;
use wasmparser::types::TypesRef;

use crate::CompileError;

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`, for indexing the table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_type!(
    /// A defined value type: an index into [`ComponentTypes::defined`].
    TypeIndex
);
index_type!(
    /// A component function type: an index into [`ComponentTypes::funcs`].
    FuncTypeIndex
);
index_type!(
    /// A component instance type: an index into [`ComponentTypes::instances`].
    InstanceTypeIndex
);
index_type!(
    /// A component type: an index into [`ComponentTypes::components`].
    ComponentTypeIndex
);
index_type!(
    /// A core module type: an index into [`ComponentTypes::modules`].
    ModuleTypeIndex
);
index_type!(
    /// A resource type: an index into [`ComponentTypes::resources`]. Each
    /// resource the validator tells apart (each `(type (resource ...))`
    /// definition, each imported `(sub resource)`) has its own index. A
    /// resource defined in a component that is instantiated twice still has
    /// one index here: telling the two instantiations' resources apart is the
    /// inliner's (and the runtime's) business.
    ResourceIndex
);

/// An interface value type: a primitive, or a defined type by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InterfaceType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    /// `error-context` (📝): a handle to an error context, an `i32` in the
    /// flat ABI.
    ErrorContext,
    /// A defined type (record, list, handle, ...).
    Defined(TypeIndex),
}

/// A defined (compound) interface value type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DefinedType {
    /// A primitive given a name of its own (`(type $t u32)`).
    Primitive(InterfaceType),
    /// Named fields, in order.
    Record(Vec<(String, InterfaceType)>),
    /// Named cases, each with an optional payload.
    Variant(Vec<(String, Option<InterfaceType>)>),
    List(InterfaceType),
    /// `list<T, N>`: exactly `len` elements (🔧, behind
    /// `cm_fixed_length_lists`).
    FixedLengthList {
        element: InterfaceType,
        len: u32,
    },
    /// `map<K, V>` (🗺️).
    Map {
        key: InterfaceType,
        value: InterfaceType,
    },
    Tuple(Vec<InterfaceType>),
    /// Flag names, 1 to 32 of them.
    Flags(Vec<String>),
    Enum(Vec<String>),
    Option(InterfaceType),
    Result {
        ok: Option<InterfaceType>,
        err: Option<InterfaceType>,
    },
    /// An owned handle to a resource.
    Own(ResourceIndex),
    /// A borrowed handle to a resource.
    Borrow(ResourceIndex),
    /// `stream<T>` (🔀; `stream` without an element type: `None`): the
    /// readable end's handle.
    Stream(Option<InterfaceType>),
    /// `future<T>` (🔀; `future` without a value type: `None`): the
    /// readable end's handle.
    Future(Option<InterfaceType>),
}

/// A component function type: named parameters and an optional result,
/// and whether it is an `async` function type (🔀: its callers may call it
/// asynchronously and it may block before returning).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncType {
    pub params: Vec<(String, InterfaceType)>,
    pub result: Option<InterfaceType>,
    pub async_: bool,
}

/// What a `(type ...)` import or export names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeDef {
    Value(InterfaceType),
    Func(FuncTypeIndex),
    Instance(InstanceTypeIndex),
    Component(ComponentTypeIndex),
    Resource(ResourceIndex),
}

/// The type of something a component imports or exports, or of an entry
/// of an instance type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityType {
    Module(ModuleTypeIndex),
    Func(FuncTypeIndex),
    /// A value (🪙).
    Value(InterfaceType),
    Type(TypeDef),
    Instance(InstanceTypeIndex),
    Component(ComponentTypeIndex),
}

/// A component instance type: its exports, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceType {
    pub exports: Vec<(String, EntityType)>,
}

/// A component type: its imports and exports, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentType {
    pub imports: Vec<(String, EntityType)>,
    pub exports: Vec<(String, EntityType)>,
}

/// The kind of a core module's import or export. Core signatures are not
/// kept here yet: a core module imported by a component is type-checked by
/// the validator, and its own [`ModuleEnv`](crate::ModuleEnv) has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoreExternKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

/// A core module type: the kinds of its imports (module, name) and exports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModuleType {
    pub imports: Vec<(String, String, CoreExternKind)>,
    pub exports: Vec<(String, CoreExternKind)>,
}

/// Where a resource type comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceType {
    /// Defined by a `(type (resource (rep i32) (dtor ...)))` in a component.
    Defined,
    /// Abstract: imported (`(sub resource)`), or declared in a type.
    Abstract,
}

/// Every component-level type of one translation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentTypes {
    pub defined: Vec<DefinedType>,
    pub funcs: Vec<FuncType>,
    pub instances: Vec<InstanceType>,
    pub components: Vec<ComponentType>,
    pub modules: Vec<ModuleType>,
    pub resources: Vec<ResourceType>,
}

impl ComponentTypes {
    /// A defined type.
    pub fn defined(&self, i: TypeIndex) -> &DefinedType {
        &self.defined[i.index()]
    }

    /// A function type.
    pub fn func(&self, i: FuncTypeIndex) -> &FuncType {
        &self.funcs[i.index()]
    }

    /// An instance type.
    pub fn instance(&self, i: InstanceTypeIndex) -> &InstanceType {
        &self.instances[i.index()]
    }

    /// A component type.
    pub fn component(&self, i: ComponentTypeIndex) -> &ComponentType {
        &self.components[i.index()]
    }

    /// A core module type.
    pub fn module(&self, i: ModuleTypeIndex) -> &ModuleType {
        &self.modules[i.index()]
    }
}

/// How deep a type may nest before the conversion refuses it. Types named
/// by index in a type section are converted when they are defined, so
/// only anonymous nesting inside one declaration (instance and component
/// types within each other) counts; the limit keeps a hostile component
/// from overflowing the host's stack.
const MAX_NESTING: u32 = 100;

/// Converts wasmparser's validated component types into a
/// [`ComponentTypes`], each wasmparser type id once.
#[derive(Default)]
pub(crate) struct TypeConverter {
    pub(crate) types: ComponentTypes,
    defined: HashMap<wp::ComponentDefinedTypeId, TypeIndex>,
    funcs: HashMap<wp::ComponentFuncTypeId, FuncTypeIndex>,
    instances: HashMap<wp::ComponentInstanceTypeId, InstanceTypeIndex>,
    components: HashMap<wp::ComponentTypeId, ComponentTypeIndex>,
    modules: HashMap<wp::ComponentCoreModuleTypeId, ModuleTypeIndex>,
    resources: HashMap<wp::ResourceId, ResourceIndex>,
}

fn too_deep() -> CompileError {
    CompileError::Unsupported(format!(
        "component types nested more than {MAX_NESTING} levels deep are not supported"
    ))
}

fn len_u32(n: usize) -> Result<u32, CompileError> {
    u32::try_from(n).map_err(|_| crate::bug_error!("more than 2^32 component types"))
}

impl TypeConverter {
    /// The index of a resource, given one the first time it is seen.
    pub(crate) fn resource(&mut self, id: wp::ResourceId, kind: ResourceType) -> ResourceIndex {
        if let Some(&r) = self.resources.get(&id) {
            if kind == ResourceType::Defined {
                self.types.resources[r.index()] = kind;
            }
            return r;
        }
        let r = ResourceIndex(self.types.resources.len() as u32);
        self.types.resources.push(kind);
        self.resources.insert(id, r);
        r
    }

    /// An interface value type.
    pub(crate) fn value(
        &mut self,
        types: TypesRef<'_>,
        ty: wp::ComponentValType,
        depth: u32,
    ) -> Result<InterfaceType, CompileError> {
        match ty {
            wp::ComponentValType::Primitive(p) => primitive(p),
            wp::ComponentValType::Type(id) => Ok(InterfaceType::Defined(self.defined(
                types,
                id,
                depth + 1,
            )?)),
        }
    }

    fn opt_value(
        &mut self,
        types: TypesRef<'_>,
        ty: Option<wp::ComponentValType>,
        depth: u32,
    ) -> Result<Option<InterfaceType>, CompileError> {
        ty.map(|t| self.value(types, t, depth)).transpose()
    }

    /// A defined value type.
    pub(crate) fn defined(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentDefinedTypeId,
        depth: u32,
    ) -> Result<TypeIndex, CompileError> {
        if let Some(&i) = self.defined.get(&id) {
            return Ok(i);
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let def = match &types[id] {
            wp::ComponentDefinedType::Primitive(p) => DefinedType::Primitive(primitive(*p)?),
            wp::ComponentDefinedType::Record(r) => DefinedType::Record(
                r.fields
                    .iter()
                    .map(|(n, t)| Ok((n.to_string(), self.value(types, *t, depth)?)))
                    .collect::<Result<_, CompileError>>()?,
            ),
            wp::ComponentDefinedType::Variant(v) => DefinedType::Variant(
                v.cases
                    .iter()
                    .map(|(n, c)| Ok((n.to_string(), self.opt_value(types, c.ty, depth)?)))
                    .collect::<Result<_, CompileError>>()?,
            ),
            wp::ComponentDefinedType::List { element, .. } => {
                DefinedType::List(self.value(types, *element, depth)?)
            }
            wp::ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => DefinedType::FixedLengthList {
                element: self.value(types, *element, depth)?,
                len: *length,
            },
            wp::ComponentDefinedType::Map { key, value, .. } => DefinedType::Map {
                key: self.value(types, *key, depth)?,
                value: self.value(types, *value, depth)?,
            },
            wp::ComponentDefinedType::Tuple(t) => DefinedType::Tuple(
                t.types
                    .iter()
                    .map(|t| self.value(types, *t, depth))
                    .collect::<Result<_, CompileError>>()?,
            ),
            wp::ComponentDefinedType::Flags(f) => {
                DefinedType::Flags(f.iter().map(|n| n.to_string()).collect())
            }
            wp::ComponentDefinedType::Enum(e) => {
                DefinedType::Enum(e.iter().map(|n| n.to_string()).collect())
            }
            wp::ComponentDefinedType::Option { ty, .. } => {
                DefinedType::Option(self.value(types, *ty, depth)?)
            }
            wp::ComponentDefinedType::Result { ok, err, .. } => DefinedType::Result {
                ok: self.opt_value(types, *ok, depth)?,
                err: self.opt_value(types, *err, depth)?,
            },
            wp::ComponentDefinedType::Own(r) => {
                DefinedType::Own(self.resource(r.resource(), ResourceType::Abstract))
            }
            wp::ComponentDefinedType::Borrow(r) => {
                DefinedType::Borrow(self.resource(r.resource(), ResourceType::Abstract))
            }
            wp::ComponentDefinedType::Future { ty, .. } => {
                DefinedType::Future(self.opt_value(types, *ty, depth)?)
            }
            wp::ComponentDefinedType::Stream { ty, .. } => {
                DefinedType::Stream(self.opt_value(types, *ty, depth)?)
            }
        };
        let i = TypeIndex(len_u32(self.types.defined.len())?);
        self.types.defined.push(def);
        self.defined.insert(id, i);
        Ok(i)
    }

    /// A function type.
    pub(crate) fn func(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentFuncTypeId,
        depth: u32,
    ) -> Result<FuncTypeIndex, CompileError> {
        if let Some(&i) = self.funcs.get(&id) {
            return Ok(i);
        }
        let f = &types[id];
        let params = f
            .params
            .iter()
            .map(|(n, t)| Ok((n.to_string(), self.value(types, *t, depth)?)))
            .collect::<Result<_, CompileError>>()?;
        let result = self.opt_value(types, f.result, depth)?;
        let i = FuncTypeIndex(len_u32(self.types.funcs.len())?);
        self.types.funcs.push(FuncType {
            params,
            result,
            async_: f.async_,
        });
        self.funcs.insert(id, i);
        Ok(i)
    }

    /// A component instance type.
    pub(crate) fn instance(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentInstanceTypeId,
        depth: u32,
    ) -> Result<InstanceTypeIndex, CompileError> {
        if let Some(&i) = self.instances.get(&id) {
            return Ok(i);
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let exports = types[id]
            .exports
            .iter()
            .map(|(n, item)| Ok((n.to_string(), self.entity(types, item.ty, depth + 1)?)))
            .collect::<Result<_, CompileError>>()?;
        let i = InstanceTypeIndex(len_u32(self.types.instances.len())?);
        self.types.instances.push(InstanceType { exports });
        self.instances.insert(id, i);
        Ok(i)
    }

    /// A component type.
    pub(crate) fn component(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentTypeId,
        depth: u32,
    ) -> Result<ComponentTypeIndex, CompileError> {
        if let Some(&i) = self.components.get(&id) {
            return Ok(i);
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let ty = &types[id];
        let imports = ty
            .imports
            .iter()
            .map(|(n, item)| Ok((n.to_string(), self.entity(types, item.ty, depth + 1)?)))
            .collect::<Result<_, CompileError>>()?;
        let exports = ty
            .exports
            .iter()
            .map(|(n, item)| Ok((n.to_string(), self.entity(types, item.ty, depth + 1)?)))
            .collect::<Result<_, CompileError>>()?;
        let i = ComponentTypeIndex(len_u32(self.types.components.len())?);
        self.types
            .components
            .push(ComponentType { imports, exports });
        self.components.insert(id, i);
        Ok(i)
    }

    /// A core module type.
    pub(crate) fn module(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentCoreModuleTypeId,
    ) -> Result<ModuleTypeIndex, CompileError> {
        if let Some(&i) = self.modules.get(&id) {
            return Ok(i);
        }
        let ty = &types[id];
        let imports = ty
            .imports
            .iter()
            .map(|((m, n), e)| (m.clone(), n.clone(), core_kind(e)))
            .collect();
        let exports = ty
            .exports
            .iter()
            .map(|(n, e)| (n.clone(), core_kind(e)))
            .collect();
        let i = ModuleTypeIndex(len_u32(self.types.modules.len())?);
        self.types.modules.push(ModuleType { imports, exports });
        self.modules.insert(id, i);
        Ok(i)
    }

    /// Whatever a type index of a component names.
    pub(crate) fn any(
        &mut self,
        types: TypesRef<'_>,
        id: wp::ComponentAnyTypeId,
        depth: u32,
    ) -> Result<TypeDef, CompileError> {
        Ok(match id {
            wp::ComponentAnyTypeId::Resource(r) => {
                TypeDef::Resource(self.resource(r.resource(), ResourceType::Abstract))
            }
            wp::ComponentAnyTypeId::Defined(d) => {
                TypeDef::Value(InterfaceType::Defined(self.defined(types, d, depth)?))
            }
            wp::ComponentAnyTypeId::Func(f) => TypeDef::Func(self.func(types, f, depth)?),
            wp::ComponentAnyTypeId::Instance(i) => {
                TypeDef::Instance(self.instance(types, i, depth)?)
            }
            wp::ComponentAnyTypeId::Component(c) => {
                TypeDef::Component(self.component(types, c, depth)?)
            }
        })
    }

    /// The type of an import, export or instance-type entry.
    pub(crate) fn entity(
        &mut self,
        types: TypesRef<'_>,
        ty: wp::ComponentEntityType,
        depth: u32,
    ) -> Result<EntityType, CompileError> {
        Ok(match ty {
            wp::ComponentEntityType::Module(m) => EntityType::Module(self.module(types, m)?),
            wp::ComponentEntityType::Func(f) => EntityType::Func(self.func(types, f, depth)?),
            wp::ComponentEntityType::Value(v) => EntityType::Value(self.value(types, v, depth)?),
            wp::ComponentEntityType::Type { created, .. } => {
                EntityType::Type(self.any(types, created, depth)?)
            }
            wp::ComponentEntityType::Instance(i) => {
                EntityType::Instance(self.instance(types, i, depth)?)
            }
            wp::ComponentEntityType::Component(c) => {
                EntityType::Component(self.component(types, c, depth)?)
            }
        })
    }
}

fn core_kind(e: &wasmparser::types::EntityType) -> CoreExternKind {
    use wasmparser::types::EntityType as E;
    match e {
        E::Func(_) | E::FuncExact(_) => CoreExternKind::Func,
        E::Table(_) => CoreExternKind::Table,
        E::Memory(_) => CoreExternKind::Memory,
        E::Global(_) => CoreExternKind::Global,
        E::Tag(_) => CoreExternKind::Tag,
    }
}

fn primitive(p: wasmparser::PrimitiveValType) -> Result<InterfaceType, CompileError> {
    use wasmparser::PrimitiveValType as P;
    Ok(match p {
        P::Bool => InterfaceType::Bool,
        P::S8 => InterfaceType::S8,
        P::U8 => InterfaceType::U8,
        P::S16 => InterfaceType::S16,
        P::U16 => InterfaceType::U16,
        P::S32 => InterfaceType::S32,
        P::U32 => InterfaceType::U32,
        P::S64 => InterfaceType::S64,
        P::U64 => InterfaceType::U64,
        P::F32 => InterfaceType::F32,
        P::F64 => InterfaceType::F64,
        P::Char => InterfaceType::Char,
        P::String => InterfaceType::String,
        P::ErrorContext => InterfaceType::ErrorContext,
    })
}

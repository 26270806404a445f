//! The types of component values as the host sees them ([`Type`]), of
//! component functions ([`ComponentFunc`]) and of a component's exports
//! ([`ComponentItem`]), in the shapes of wasmtime's `component::types`.
//!
//! A compound type is a handle: the component's type table (shared, an
//! `Arc`) and an index into it, so taking a type is cheap and a type used
//! many times is stored once. Its accessors ([`Record::fields`],
//! [`Variant::cases`], [`List::ty`], ...) hand out more handles.
//!
//! Resource handles (`own<R>`, `borrow<R>`) name a [`ResourceType`]. Types
//! taken from a function of an instance ([`Func::params`], [`Func::ty`])
//! name the store's resource types, the ones [`ResourceAny::ty`] gives for
//! the handles those functions take and return. Types taken from a
//! [`Component`] before it is instantiated ([`Component::exports`]) cannot:
//! a resource type only exists once the component defining it (or the host
//! giving it) is instantiated. There, and where an instance cannot tell
//! which of its store's types a resource is, the resource type is an opaque
//! one of the component's, equal only to itself.
//!
//! [`Func::params`]: super::Func::params
//! [`Func::ty`]: super::Func::ty
//! [`ResourceAny::ty`]: super::ResourceAny::ty
//! [`Component`]: super::Component
//! [`Component::exports`]: super::Component::exports

use std::fmt;
use std::sync::Arc;

use nyash_aot::component::inline::{Export, FuncDef};
use nyash_aot::component::types::{
    ComponentTypes, DefinedType, FuncTypeIndex, InterfaceType, ResourceIndex, TypeIndex,
};

use super::component::Component;
use super::resources::{ResourceType, ResourceTypeKind};

/// What a type handle needs to answer questions about its type: the
/// component's type table and what its resource indices mean.
#[derive(Clone)]
pub(crate) struct TypeCx {
    types: Arc<ComponentTypes>,
    /// The id of the component the table is of (for opaque resource types).
    component: u64,
    /// The store's resource type each static resource index means in the
    /// component instance the types were taken from (`None` where the
    /// instance cannot tell); `None` altogether for types taken from an
    /// uninstantiated component.
    resources: Option<Arc<[Option<ResourceType>]>>,
}

impl TypeCx {
    /// Types of `component` before it is instantiated.
    pub(crate) fn of_component(component: &Component) -> TypeCx {
        TypeCx {
            types: component.inner.types.clone(),
            component: component.inner.id,
            resources: None,
        }
    }

    /// Types of `component` as one of its instances sees them: static
    /// resource index `i` is the store's resource type `resources[i]`.
    pub(crate) fn of_instance(
        component: &Component,
        resources: Arc<[Option<ResourceType>]>,
    ) -> TypeCx {
        TypeCx {
            resources: Some(resources),
            ..TypeCx::of_component(component)
        }
    }

    /// Types of the table `types` (made by a test) as if they were
    /// `component`'s.
    #[cfg(test)]
    pub(crate) fn of_table(component: &Component, types: Arc<ComponentTypes>) -> TypeCx {
        TypeCx {
            types,
            ..TypeCx::of_component(component)
        }
    }

    fn defined(&self, i: TypeIndex) -> &DefinedType {
        self.types.defined(i)
    }

    fn resource(&self, r: ResourceIndex) -> ResourceType {
        let known = self
            .resources
            .as_ref()
            .and_then(|rs| rs.get(r.index()).copied().flatten());
        known.unwrap_or(ResourceType(ResourceTypeKind::Static {
            component: self.component,
            index: r.0,
        }))
    }

    /// The host's view of the interface type `ty`.
    pub(crate) fn ty(&self, ty: InterfaceType) -> Type {
        match ty {
            InterfaceType::Bool => Type::Bool,
            InterfaceType::S8 => Type::S8,
            InterfaceType::U8 => Type::U8,
            InterfaceType::S16 => Type::S16,
            InterfaceType::U16 => Type::U16,
            InterfaceType::S32 => Type::S32,
            InterfaceType::U32 => Type::U32,
            InterfaceType::S64 => Type::S64,
            InterfaceType::U64 => Type::U64,
            InterfaceType::F32 => Type::Float32,
            InterfaceType::F64 => Type::Float64,
            InterfaceType::Char => Type::Char,
            InterfaceType::String => Type::String,
            InterfaceType::ErrorContext => Type::ErrorContext,
            InterfaceType::Defined(i) => {
                let h = Handle {
                    cx: self.clone(),
                    index: i,
                };
                match self.defined(i) {
                    // A primitive with a name of its own is the primitive.
                    DefinedType::Primitive(p) => self.ty(*p),
                    DefinedType::Record(_) => Type::Record(Record(h)),
                    DefinedType::Variant(_) => Type::Variant(Variant(h)),
                    DefinedType::List(_) => Type::List(List(h)),
                    DefinedType::FixedLengthList { .. } => {
                        Type::FixedLengthList(FixedLengthList(h))
                    }
                    DefinedType::Map { .. } => Type::Map(Map(h)),
                    DefinedType::Tuple(_) => Type::Tuple(Tuple(h)),
                    DefinedType::Flags(_) => Type::Flags(Flags(h)),
                    DefinedType::Enum(_) => Type::Enum(Enum(h)),
                    DefinedType::Option(_) => Type::Option(OptionType(h)),
                    DefinedType::Result { .. } => Type::Result(ResultType(h)),
                    DefinedType::Own(r) => Type::Own(self.resource(*r)),
                    DefinedType::Borrow(r) => Type::Borrow(self.resource(*r)),
                    DefinedType::Stream(_) => Type::Stream,
                    DefinedType::Future(_) => Type::Future,
                }
            }
        }
    }

    fn same(&self, other: &TypeCx) -> bool {
        Arc::ptr_eq(&self.types, &other.types)
            && match (&self.resources, &other.resources) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                _ => false,
            }
    }
}

/// A compound type: the table and the index of its definition.
#[derive(Clone)]
struct Handle {
    cx: TypeCx,
    index: TypeIndex,
}

impl Handle {
    fn def(&self) -> &DefinedType {
        self.cx.defined(self.index)
    }
}

impl PartialEq for Handle {
    /// Two handles are equal if they are the same definition of the same
    /// component seen the same way (the type table is never merged across
    /// components, so equal-looking types of two components differ).
    fn eq(&self, other: &Handle) -> bool {
        self.index == other.index && self.cx.same(&other.cx)
    }
}

impl Eq for Handle {}

/// The type of a component value: a primitive, or a handle to a compound
/// type of a component's type table.
///
/// The kinds are those of [`Val`](super::Val), one for one, except that
/// `list<T>` and the fixed-length `list<T, N>` are two kinds here (both
/// are [`Val::List`](super::Val::List) values) and a resource handle is
/// [`Type::Own`] or [`Type::Borrow`] (both [`Val::Resource`](super::Val::Resource)).
///
/// `Display` writes the type in WIT's syntax (`list<u32>`,
/// `record { x: u32, y: u32 }`, `result<string, u8>`); a resource type is
/// written `own<resource>` without a name (the names of resource types are
/// not kept in compiled components).
#[derive(Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    Float32,
    /// `f64`.
    Float64,
    /// `char`.
    Char,
    /// `string`.
    String,
    /// `list<T>`.
    List(List),
    /// `list<T, N>` (a fixed-length list, 🔧).
    FixedLengthList(FixedLengthList),
    /// `record { ... }`.
    Record(Record),
    /// `tuple<...>`.
    Tuple(Tuple),
    /// `variant { ... }`.
    Variant(Variant),
    /// `enum { ... }`.
    Enum(Enum),
    /// `option<T>`.
    Option(OptionType),
    /// `result<T, E>` (either may be absent).
    Result(ResultType),
    /// `flags { ... }`.
    Flags(Flags),
    /// `own<R>`: an owned handle to a resource of type `R`.
    Own(ResourceType),
    /// `borrow<R>`: a borrowed handle to a resource of type `R`.
    Borrow(ResourceType),
    /// `map<K, V>` (🗺️).
    Map(Map),
    /// `stream<T>` (🔀): a handle to a stream's readable end (its element
    /// type is not exposed yet).
    Stream,
    /// `future<T>` (🔀): a handle to a future's readable end (its value
    /// type is not exposed yet).
    Future,
    /// `error-context` (📝).
    ErrorContext,
}

macro_rules! handle_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Handle);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", Type::$name(self.clone()))
            }
        }
    };
}

handle_type!(
    /// A `list<T>` type.
    List
);
handle_type!(
    /// A fixed-length `list<T, N>` type.
    FixedLengthList
);
handle_type!(
    /// A `record` type: named fields in order.
    Record
);
handle_type!(
    /// A `tuple` type.
    Tuple
);
handle_type!(
    /// A `variant` type: named cases, each with an optional payload.
    Variant
);
handle_type!(
    /// An `enum` type: case names.
    Enum
);
handle_type!(
    /// A `flags` type: flag names.
    Flags
);
handle_type!(
    /// A `map<K, V>` type.
    Map
);

/// An `option<T>` type.
#[derive(Clone, PartialEq, Eq)]
pub struct OptionType(Handle);

impl fmt::Debug for OptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Type::Option(self.clone()))
    }
}

/// A `result<T, E>` type.
#[derive(Clone, PartialEq, Eq)]
pub struct ResultType(Handle);

impl fmt::Debug for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Type::Result(self.clone()))
    }
}

/// The engine broke its own invariant: a handle made for one kind of
/// definition points at another. Handles are only made by
/// [`TypeCx::ty`], which looks at the definition first.
#[cold]
fn wrong_kind(handle: &Handle, expected: &str) -> ! {
    panic!(
        "engine bug: type handle {} is not a {expected} ({:?})",
        handle.index.0,
        handle.def()
    )
}

impl List {
    /// The element type.
    pub fn ty(&self) -> Type {
        match self.0.def() {
            DefinedType::List(t) => self.0.cx.ty(*t),
            _ => wrong_kind(&self.0, "list"),
        }
    }
}

impl FixedLengthList {
    /// The element type.
    pub fn ty(&self) -> Type {
        match self.0.def() {
            DefinedType::FixedLengthList { element, .. } => self.0.cx.ty(*element),
            _ => wrong_kind(&self.0, "fixed-length list"),
        }
    }

    /// The number of elements every value has.
    pub fn len(&self) -> u32 {
        match self.0.def() {
            DefinedType::FixedLengthList { len, .. } => *len,
            _ => wrong_kind(&self.0, "fixed-length list"),
        }
    }

    /// Whether the list type is `list<T, 0>` (which validation refuses).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Record {
    /// The fields' names and types, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, Type)> + '_ {
        let fields = match self.0.def() {
            DefinedType::Record(f) => f,
            _ => wrong_kind(&self.0, "record"),
        };
        fields.iter().map(|(n, t)| (n.as_str(), self.0.cx.ty(*t)))
    }
}

impl Tuple {
    /// The element types, in order.
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type> + '_ {
        let types = match self.0.def() {
            DefinedType::Tuple(t) => t,
            _ => wrong_kind(&self.0, "tuple"),
        };
        types.iter().map(|t| self.0.cx.ty(*t))
    }
}

impl Variant {
    /// The cases' names and payload types (`None` for a case without a
    /// payload), in order.
    pub fn cases(&self) -> impl ExactSizeIterator<Item = (&str, Option<Type>)> + '_ {
        let cases = match self.0.def() {
            DefinedType::Variant(c) => c,
            _ => wrong_kind(&self.0, "variant"),
        };
        cases
            .iter()
            .map(|(n, t)| (n.as_str(), t.map(|t| self.0.cx.ty(t))))
    }
}

impl Enum {
    /// The case names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let names = match self.0.def() {
            DefinedType::Enum(n) => n,
            _ => wrong_kind(&self.0, "enum"),
        };
        names.iter().map(String::as_str)
    }
}

impl Flags {
    /// The flag names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let names = match self.0.def() {
            DefinedType::Flags(n) => n,
            _ => wrong_kind(&self.0, "flags"),
        };
        names.iter().map(String::as_str)
    }
}

impl OptionType {
    /// The type of the value in `some`.
    pub fn ty(&self) -> Type {
        match self.0.def() {
            DefinedType::Option(t) => self.0.cx.ty(*t),
            _ => wrong_kind(&self.0, "option"),
        }
    }
}

impl ResultType {
    /// The type of the `ok` payload, if it has one.
    pub fn ok(&self) -> Option<Type> {
        match self.0.def() {
            DefinedType::Result { ok, .. } => ok.map(|t| self.0.cx.ty(t)),
            _ => wrong_kind(&self.0, "result"),
        }
    }

    /// The type of the `err` payload, if it has one.
    pub fn err(&self) -> Option<Type> {
        match self.0.def() {
            DefinedType::Result { err, .. } => err.map(|t| self.0.cx.ty(t)),
            _ => wrong_kind(&self.0, "result"),
        }
    }
}

impl Map {
    /// The key type.
    pub fn key(&self) -> Type {
        match self.0.def() {
            DefinedType::Map { key, .. } => self.0.cx.ty(*key),
            _ => wrong_kind(&self.0, "map"),
        }
    }

    /// The value type.
    pub fn value(&self) -> Type {
        match self.0.def() {
            DefinedType::Map { value, .. } => self.0.cx.ty(*value),
            _ => wrong_kind(&self.0, "map"),
        }
    }
}

impl Type {
    /// The kind's name as WIT spells it (`u32`, `list`, `record`, `own`, ...).
    pub fn desc(&self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::S8 => "s8",
            Type::U8 => "u8",
            Type::S16 => "s16",
            Type::U16 => "u16",
            Type::S32 => "s32",
            Type::U32 => "u32",
            Type::S64 => "s64",
            Type::U64 => "u64",
            Type::Float32 => "f32",
            Type::Float64 => "f64",
            Type::Char => "char",
            Type::String => "string",
            Type::List(_) | Type::FixedLengthList(_) => "list",
            Type::Record(_) => "record",
            Type::Tuple(_) => "tuple",
            Type::Variant(_) => "variant",
            Type::Enum(_) => "enum",
            Type::Option(_) => "option",
            Type::Result(_) => "result",
            Type::Flags(_) => "flags",
            Type::Own(_) => "own",
            Type::Borrow(_) => "borrow",
            Type::Map(_) => "map",
            Type::Stream => "stream",
            Type::Future => "future",
            Type::ErrorContext => "error-context",
        }
    }

    /// Writes the type in WIT's syntax, compound types inside compound
    /// types at most `depth` levels deep (then `...`): a component's types
    /// can nest as deep as it has type definitions, and printing must not
    /// exhaust the host's stack.
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: u32) -> fmt::Result {
        if depth == 0 {
            return f.write_str("...");
        }
        let d = depth - 1;
        let list =
            |f: &mut fmt::Formatter<'_>, items: &mut dyn Iterator<Item = Type>| -> fmt::Result {
                for (i, t) in items.enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    t.write(f, d)?;
                }
                Ok(())
            };
        match self {
            Type::List(l) => {
                f.write_str("list<")?;
                l.ty().write(f, d)?;
                f.write_str(">")
            }
            Type::FixedLengthList(l) => {
                f.write_str("list<")?;
                l.ty().write(f, d)?;
                write!(f, ", {}>", l.len())
            }
            Type::Record(r) => {
                f.write_str("record { ")?;
                for (i, (n, t)) in r.fields().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: ")?;
                    t.write(f, d)?;
                }
                f.write_str(" }")
            }
            Type::Tuple(t) => {
                f.write_str("tuple<")?;
                list(f, &mut t.types())?;
                f.write_str(">")
            }
            Type::Variant(v) => {
                f.write_str("variant { ")?;
                for (i, (n, t)) in v.cases().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                    if let Some(t) = t {
                        f.write_str("(")?;
                        t.write(f, d)?;
                        f.write_str(")")?;
                    }
                }
                f.write_str(" }")
            }
            Type::Enum(e) => write!(f, "enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
            Type::Flags(e) => write!(
                f,
                "flags {{ {} }}",
                e.names().collect::<Vec<_>>().join(", ")
            ),
            Type::Option(o) => {
                f.write_str("option<")?;
                o.ty().write(f, d)?;
                f.write_str(">")
            }
            Type::Result(r) => {
                f.write_str("result")?;
                match (r.ok(), r.err()) {
                    (None, None) => Ok(()),
                    (Some(ok), None) => {
                        f.write_str("<")?;
                        ok.write(f, d)?;
                        f.write_str(">")
                    }
                    (ok, Some(err)) => {
                        f.write_str("<")?;
                        match ok {
                            Some(ok) => ok.write(f, d)?,
                            None => f.write_str("_")?,
                        }
                        f.write_str(", ")?;
                        err.write(f, d)?;
                        f.write_str(">")
                    }
                }
            }
            Type::Map(m) => {
                f.write_str("map<")?;
                m.key().write(f, d)?;
                f.write_str(", ")?;
                m.value().write(f, d)?;
                f.write_str(">")
            }
            Type::Own(_) => f.write_str("own<resource>"),
            Type::Borrow(_) => f.write_str("borrow<resource>"),
            simple => f.write_str(simple.desc()),
        }
    }
}

/// How deep `Display` goes into compound types before it writes `...`.
const DISPLAY_DEPTH: u32 = 64;

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, DISPLAY_DEPTH)
    }
}

impl fmt::Debug for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Type({self})")
    }
}

/// The type of a component function: named parameters and at most one
/// result. `Display` writes it as WIT does: `func(a: u32, b: u32) -> u32`.
#[derive(Clone)]
pub struct ComponentFunc {
    cx: TypeCx,
    ty: FuncTypeIndex,
}

impl ComponentFunc {
    pub(crate) fn new(cx: TypeCx, ty: FuncTypeIndex) -> ComponentFunc {
        ComponentFunc { cx, ty }
    }

    /// The parameters' names and types, in order.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, Type)> + '_ {
        self.cx
            .types
            .func(self.ty)
            .params
            .iter()
            .map(|(n, t)| (n.as_str(), self.cx.ty(*t)))
    }

    /// The result types: none or one.
    pub fn results(&self) -> impl ExactSizeIterator<Item = Type> + '_ {
        self.cx
            .types
            .func(self.ty)
            .result
            .iter()
            .map(|t| self.cx.ty(*t))
    }
}

impl fmt::Display for ComponentFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("func(")?;
        for (i, (n, t)) in self.params().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}: {t}")?;
        }
        f.write_str(")")?;
        for t in self.results() {
            write!(f, " -> {t}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ComponentFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComponentFunc({self})")
    }
}

/// An export of a component, as [`Component::exports`] lists them.
///
/// [`Component::exports`]: super::Component::exports
#[derive(Clone, Debug)]
pub enum ComponentItem {
    /// A function, with its type.
    ComponentFunc(ComponentFunc),
    /// An instance: named exports of its own.
    ComponentInstance(ComponentInstance),
    /// A core module.
    Module,
    /// A type.
    Type,
}

/// An instance a component exports: its exports, by name.
#[derive(Clone)]
pub struct ComponentInstance {
    component: Component,
    /// The names leading to it from the component's root.
    path: Vec<String>,
}

impl fmt::Debug for ComponentInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentInstance")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ComponentInstance {
    /// The instance's exports, by name (in the order of their names).
    pub fn exports(&self) -> impl Iterator<Item = (&str, ComponentItem)> + '_ {
        let mut names = self.path.iter();
        let root = &self.component.inner.inlined.exports;
        let mut map = match names.next().and_then(|n| root.iter().find(|(r, _)| r == n)) {
            Some((_, Export::Instance(m))) => Some(m),
            _ => None,
        };
        for name in names {
            map = match map.and_then(|m| m.get(name)) {
                Some(Export::Instance(m)) => Some(m),
                _ => None,
            };
        }
        map.into_iter().flatten().map(move |(n, e)| {
            let mut path = self.path.clone();
            path.push(n.clone());
            (n.as_str(), item(&self.component, path, e))
        })
    }
}

/// The [`ComponentItem`] of export `e`, at `path`.
pub(crate) fn item(component: &Component, path: Vec<String>, e: &Export) -> ComponentItem {
    match e {
        Export::Func(FuncDef::Lifted(l)) => {
            ComponentItem::ComponentFunc(ComponentFunc::new(TypeCx::of_component(component), l.ty))
        }
        Export::Func(FuncDef::Import { ty, .. }) => {
            ComponentItem::ComponentFunc(ComponentFunc::new(TypeCx::of_component(component), *ty))
        }
        Export::Instance(_) => ComponentItem::ComponentInstance(ComponentInstance {
            component: component.clone(),
            path,
        }),
        Export::Module(_) => ComponentItem::Module,
        Export::Type => ComponentItem::Type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::{Linker, Val};
    use crate::{Engine, Store};

    /// A component defining a resource `r` and exporting `make: func() ->
    /// own<r>` and `count: func(list<record{a: u8}>) -> u32`.
    const RESOURCES: &str = r#"(component
        (type $r-def (resource (rep i32)))
        (export $r "r" (type $r-def))
        (type $rec-def (record (field "a" u8)))
        (export $rec "rec" (type $rec-def))
        (core func $new (canon resource.new $r))
        (core module $m
          (import "" "new" (func $new (param i32) (result i32)))
          (memory (export "mem") 1)
          (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 64)
          (func (export "make") (result i32) (call $new (i32.const 42)))
          (func (export "count") (param i32 i32) (result i32) local.get 1))
        (core instance $i (instantiate $m (with "" (instance (export "new" (func $new))))))
        (func (export "make") (result (own $r)) (canon lift (core func $i "make")))
        (func (export "count") (param "xs" (list $rec)) (result u32)
          (canon lift (core func $i "count") (memory (core memory $i "mem"))
            (realloc (core func $i "realloc")))))"#;

    #[test]
    fn function_types_from_an_instance_name_the_stores_resource_types() {
        let engine = Engine::default();
        let c = Component::new(&engine, RESOURCES).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine).instantiate(&mut store, &c).unwrap();
        let make = instance.get_func(&mut store, "make").unwrap();
        let mut out = [Val::Bool(false)];
        make.call(&mut store, &[], &mut out).unwrap();
        let Val::Resource(r) = &out[0] else {
            panic!("{:?}", out[0])
        };
        let results = make.results(&store);
        assert_eq!(&*results, &[Type::Own(r.ty())]);
        assert!(make.params(&store).is_empty());

        // The component's own view of the same function: an opaque
        // resource type, not the store's.
        let from_component = c
            .exports()
            .find_map(|(n, i)| match i {
                ComponentItem::ComponentFunc(f) if n == "make" => Some(f),
                _ => None,
            })
            .unwrap();
        let Some(Type::Own(opaque)) = from_component.results().next() else {
            panic!("not own")
        };
        assert_ne!(opaque, r.ty());

        let count = instance.get_func(&mut store, "count").unwrap();
        let params = count.params(&store);
        assert_eq!(params.len(), 1);
        assert_eq!(params[0].0, "xs");
        let Type::List(l) = &params[0].1 else {
            panic!("{:?}", params[0].1)
        };
        let Type::Record(rec) = l.ty() else {
            panic!("not a record")
        };
        let fields: Vec<(&str, Type)> = rec.fields().collect();
        assert_eq!(fields, [("a", Type::U8)]);
        assert_eq!(count.results(&store).as_ref(), &[Type::U32]);
        assert_eq!(
            count.ty(&store).to_string(),
            "func(xs: list<record { a: u8 }>) -> u32"
        );
    }
}

//! Translation of a component binary: one pass of wasmparser's `Parser` and
//! `Validator` (with the Component Model on) over the bytes, turning every
//! component, the root and each nested one, into a [`ComponentBody`]: the
//! list of [`Initializer`]s that, evaluated in order, fill its index spaces.
//! Core modules are parsed by the core module parser
//! ([`crate::parse::parse_with_features`]) on their own byte range, so each
//! has the same [`ModuleEnv`] a standalone module would have.
//!
//! Nothing is instantiated or inlined here: a nested component is kept as a
//! body of its own, and an outer alias that reaches past the component it is
//! in becomes a captured "upvar": the enclosing component hands the
//! captured module or component to the nested one when it defines it
//! ([`Initializer::DefineComponent`]'s closure), the way a closure captures
//! the variables it names. Types need no capture: they are converted into
//! one [`ComponentTypes`] table for the whole translation.
//!
//! Function bodies of the core modules are not validated here: they go to
//! the compile workers with their validators, as a standalone module's do
//! ([`ModuleTranslation::validate_function_bodies`] validates them without
//! compiling, for the validation tests).

use std::ops::Range;

use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentOuterAliasKind, ComponentType as WpComponentType, ExternalKind, Instance,
    InstantiationArgKind, Parser, Payload, Validator, WasmFeatures,
};

use super::builtins::AsyncBuiltin;
use super::types::{
    ComponentTypes, EntityType, FuncTypeIndex, InstanceTypeIndex, ResourceIndex, ResourceType,
    TypeConverter,
};
use crate::CompileError;
use crate::module::ModuleEnv;
use crate::parse::FunctionBodyInput;

/// A core module of the translation, in the order the binary defines them
/// (nested components' modules included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StaticModuleIndex(pub u32);

/// A component of the translation (the root and every nested one), in the
/// order their definitions end (so a nested component comes before the one
/// that contains it, and the root is last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StaticComponentIndex(pub u32);

/// The Component Model features the validator has on: those of the
/// official tests' configuration (`test/README.md`: wasmtime with async,
/// stackful async, more async built-ins, threading, fixed-length lists,
/// maps and `implements`), and `error-context`. Validity is judged with
/// all of them; what the engine does not implement (shared-everything
/// threads, the `forward` built-ins) is then refused as unsupported by the
/// translation, so a component that is invalid is always reported as
/// invalid.
pub fn component_features() -> WasmFeatures {
    crate::parse::supported_features()
        .union(WasmFeatures::COMPONENT_MODEL)
        .union(WasmFeatures::CM_ASYNC)
        .union(WasmFeatures::CM_ASYNC_STACKFUL)
        .union(WasmFeatures::CM_MORE_ASYNC_BUILTINS)
        .union(WasmFeatures::CM_THREADING)
        // `error-context` (📝): not in the tests' configuration (no test
        // uses it); on so that its type and built-ins can be used.
        .union(WasmFeatures::CM_ERROR_CONTEXT)
        .union(WasmFeatures::CM_FIXED_LENGTH_LISTS)
        .union(WasmFeatures::CM_MAP)
        .union(WasmFeatures::CM_IMPLEMENTS)
        // Shared memories: judged valid or not (a mismatch of `shared`
        // between an import and the export given is invalid), then refused
        // by the core parser, which has threads off.
        .union(WasmFeatures::THREADS)
}

/// The result of translating a component binary.
pub struct ComponentTranslation {
    /// Every core module, indexed by [`StaticModuleIndex`].
    pub modules: Vec<ModuleTranslation>,
    /// Every component body, indexed by [`StaticComponentIndex`]; the root
    /// is the last.
    pub components: Vec<ComponentBody>,
    /// Every component-level type the initializers name.
    pub types: ComponentTypes,
}

impl ComponentTranslation {
    /// The root component.
    pub fn root(&self) -> &ComponentBody {
        // `translate` always pushes the root last.
        &self.components[self.components.len() - 1]
    }

    /// Validates the function bodies of every core module (the compile
    /// does this in its workers, as it translates each body).
    pub fn validate_function_bodies(&mut self, wasm: &[u8]) -> Result<(), CompileError> {
        for m in &mut self.modules {
            m.validate_function_bodies(wasm)?;
        }
        Ok(())
    }
}

/// One core module of a component.
pub struct ModuleTranslation {
    /// The module's byte range in the component binary.
    pub range: Range<usize>,
    /// Its environment, as the core parser makes it from those bytes.
    pub env: ModuleEnv,
    /// Its function bodies, unvalidated (ranges relative to `range`).
    pub bodies: Vec<FunctionBodyInput>,
}

impl ModuleTranslation {
    /// Validates the function bodies (emptying `bodies`): what the compile
    /// workers do before translating each. Error offsets are the
    /// component's.
    pub fn validate_function_bodies(&mut self, component: &[u8]) -> Result<(), CompileError> {
        let Some(wasm) = component.get(self.range.clone()) else {
            crate::bug!("module range {:?} outside the component", self.range);
        };
        for input in std::mem::take(&mut self.bodies) {
            let Some(bytes) = wasm.get(input.range.clone()) else {
                crate::bug!("function body range {:?} outside its module", input.range);
            };
            let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
                bytes,
                input.range.start as u64,
            ));
            let mut validator = input
                .validator
                .into_validator(wasmparser::FuncValidatorAllocations::default());
            crate::translate::validate_body(
                &self.env,
                &body,
                &mut validator,
                WasmFeatures::empty(),
            )
            .map_err(|e| shift(e, self.range.start))?;
        }
        Ok(())
    }
}

/// The initializers of one component, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComponentBody {
    /// What the component does, one entry per definition, in the binary's
    /// order; the index spaces are filled in this order.
    pub initializers: Vec<Initializer>,
    /// How many upvars (captured modules, components) its definition takes:
    /// the length of [`Initializer::DefineComponent`]'s closure lists.
    pub num_upvar_modules: u32,
    pub num_upvar_components: u32,
}

/// A core module as a nested component sees one it closes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClosedOverModule {
    /// An entry of the current component's core module index space.
    Local(u32),
    /// One of the current component's captured modules.
    Upvar(u32),
}

/// A component as a nested component sees one it closes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClosedOverComponent {
    /// An entry of the current component's component index space.
    Local(u32),
    /// One of the current component's captured components.
    Upvar(u32),
}

/// Which index space an item is in, and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComponentItem {
    Module(u32),
    Func(u32),
    Value(u32),
    Type(u32),
    /// A type that is a resource: which one, in the translation's table
    /// (the inliner follows resources to what defines them at run time).
    Resource(ResourceIndex),
    Instance(u32),
    Component(u32),
}

/// A component-level sort (index space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sort {
    Module,
    Func,
    Value,
    Type,
    Instance,
    Component,
}

/// A core sort (index space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreSort {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

/// A core item: a core sort and an index in its index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreItem {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    Tag(u32),
}

/// A string encoding of the canonical ABI.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum StringEncoding {
    #[default]
    Utf8,
    Utf16,
    /// `latin1+utf16`: Latin-1 when it fits, UTF-16 tagged by the length's
    /// top bit otherwise.
    Latin1Utf16,
}

/// The canonical options of a `canon lift` or `canon lower`: core indices in
/// the component's core index spaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CanonOptions {
    pub string_encoding: StringEncoding,
    /// The core memory strings and lists are read from and written to.
    pub memory: Option<u32>,
    /// `realloc(old, old_size, align, new_size) -> ptr` (a core func).
    pub realloc: Option<u32>,
    /// Called with the core results after they are lifted (lift only).
    pub post_return: Option<u32>,
    /// `async` (🔀): the function is lifted or lowered with the async ABI.
    pub async_: bool,
    /// `callback` (🔀, async lift only): the core function called with
    /// each event until the task exits.
    pub callback: Option<u32>,
}

/// One step of a component's instantiation: each defines the next entry of
/// one index space (but [`Initializer::Export`] may name none for a value,
/// and [`Initializer::Start`] defines only values).
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    /// `(import "name" ...)`: the next entry of the space of `ty`'s sort.
    Import { name: String, ty: EntityType },
    /// `(export "name" item)`: also the next entry of `item`'s space.
    Export {
        name: String,
        item: ComponentItem,
        ty: Option<EntityType>,
    },
    /// A core module defined here (the next core module).
    DefineModule(StaticModuleIndex),
    /// An outer alias to a core module (the next core module).
    AliasModule(ClosedOverModule),
    /// A nested component defined here (the next component), with what it
    /// captures from this one, in its upvar order.
    DefineComponent {
        component: StaticComponentIndex,
        closure_modules: Vec<ClosedOverModule>,
        closure_components: Vec<ClosedOverComponent>,
    },
    /// An outer alias to a component (the next component).
    AliasComponent(ClosedOverComponent),
    /// `(core instance (instantiate module (with "name" (instance i))*))`.
    InstantiateModule {
        module: u32,
        args: Vec<(String, u32)>,
    },
    /// A core instance made of exports.
    CoreInstanceFromExports(Vec<(String, CoreItem)>),
    /// `(alias core export instance "name" (sort))`: the next entry of
    /// `sort`'s core space.
    AliasCoreExport {
        instance: u32,
        name: String,
        sort: CoreSort,
    },
    /// `(instance (instantiate component (with "name" item)*))`.
    InstantiateComponent {
        component: u32,
        args: Vec<(String, ComponentItem)>,
        /// The new instance's type, as this component sees it (its
        /// resources are new ones, the inliner maps them to the nested
        /// instance's).
        ty: InstanceTypeIndex,
    },
    /// A component instance made of exports.
    ComponentInstanceFromExports(Vec<(String, ComponentItem)>),
    /// `(alias export instance "name" (sort))`: the next entry of `sort`'s
    /// space.
    AliasExport {
        instance: u32,
        name: String,
        sort: Sort,
    },
    /// A resource type defined here (generative: each instantiation of
    /// the component makes a new one). `dtor` is a core func.
    DefineResource {
        resource: ResourceIndex,
        dtor: Option<u32>,
    },
    /// `canon lift`: a component function from a core function.
    Lift {
        core_func: u32,
        ty: FuncTypeIndex,
        options: CanonOptions,
    },
    /// `canon lower`: a core function from a component function of type
    /// `ty`.
    Lower {
        func: u32,
        ty: FuncTypeIndex,
        options: CanonOptions,
    },
    /// `canon resource.new` (a core function).
    ResourceNew(ResourceIndex),
    /// `canon resource.drop` (a core function).
    ResourceDrop(ResourceIndex),
    /// `canon resource.rep` (a core function).
    ResourceRep(ResourceIndex),
    /// One of the async ABI's built-ins (a core function): its canonical
    /// options (`memory` also holds `waitable-set.wait/poll`'s memory) and
    /// `thread.new-indirect`'s core table.
    AsyncBuiltin {
        builtin: AsyncBuiltin,
        options: CanonOptions,
        table: Option<u32>,
    },
    /// `(start func (value arg)* (result (value))*)` (🪙).
    Start {
        func: u32,
        args: Vec<u32>,
        results: u32,
    },
}

/// A component being translated: its body so far and what it captures.
struct Frame {
    body: ComponentBody,
    /// Captured modules, relative to the enclosing component.
    closure_modules: Vec<ClosedOverModule>,
    closure_components: Vec<ClosedOverComponent>,
}

impl Frame {
    fn new() -> Frame {
        Frame {
            body: ComponentBody::default(),
            closure_modules: Vec::new(),
            closure_components: Vec::new(),
        }
    }
}

/// What the parser is inside of.
enum Scope {
    Component(Frame),
    /// A core module starting at this offset (its payloads go only to the
    /// validator; the core parser reads it whole at its end).
    Module(Range<usize>),
}

/// Makes an error found in a module's own bytes name the component's
/// offset.
fn shift(e: CompileError, by: usize) -> CompileError {
    match e {
        CompileError::Invalid {
            message,
            offset,
            func_index,
            func_name,
        } => CompileError::Invalid {
            message,
            offset: offset + by,
            func_index,
            func_name,
        },
        other => other,
    }
}

fn unsupported(what: &str, offset: usize) -> CompileError {
    CompileError::Unsupported(format!(
        "{what} is not supported yet (at byte offset {offset:#x})"
    ))
}

/// Parses, validates and translates a component binary (a core module is
/// refused: it is compiled as a module, not as a component). What is
/// invalid is reported as [`CompileError::InvalidComponent`], except an
/// error inside a core module's function body, which names the function
/// ([`CompileError::Invalid`]).
pub fn translate(wasm: &[u8]) -> Result<ComponentTranslation, CompileError> {
    translate_component(wasm).map_err(CompileError::in_component)
}

fn translate_component(wasm: &[u8]) -> Result<ComponentTranslation, CompileError> {
    let mut validator = Validator::new_with_features(component_features());
    let err = CompileError::from_wasmparser;
    let mut conv = TypeConverter::default();
    let mut modules = Vec::new();
    let mut components = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();

    // The first feature refused: the rest of the binary still goes to the
    // validator, so that a component that is invalid is reported as such
    // even when it also uses something the engine refuses.
    let mut refused: Option<CompileError> = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(err)?;
        validator.payload(&payload).map_err(err)?;
        if refused.is_some() {
            continue;
        }
        match step(
            wasm,
            &mut validator,
            &mut conv,
            &mut modules,
            &mut components,
            &mut scopes,
            payload,
        ) {
            Err(e @ CompileError::Unsupported(_)) => refused = Some(e),
            other => other?,
        }
    }
    if let Some(e) = refused {
        return Err(e);
    }
    if !scopes.is_empty() || components.is_empty() {
        return Err(CompileError::invalid(
            "unexpected end of the component",
            wasm.len() as u64,
        ));
    }
    Ok(ComponentTranslation {
        modules,
        components,
        types: conv.types,
    })
}

/// Translates one payload.
fn step(
    wasm: &[u8],
    validator: &mut Validator,
    conv: &mut TypeConverter,
    modules: &mut Vec<ModuleTranslation>,
    components: &mut Vec<ComponentBody>,
    scopes: &mut Vec<Scope>,
    payload: Payload<'_>,
) -> Result<(), CompileError> {
    {
        let offset = payload_offset(&payload);

        // Inside a core module, only its end matters here.
        if let Some(Scope::Module(range)) = scopes.last() {
            if let Payload::End(_) = payload {
                let range = range.clone();
                scopes.pop();
                let Some(bytes) = wasm.get(range.clone()) else {
                    crate::bug!("module range {range:?} outside the component");
                };
                let (env, bodies) = crate::parse::parse_with_features(
                    bytes,
                    crate::parse::supported_features(),
                    WasmFeatures::empty(),
                )
                .map_err(|e| shift(e, range.start))?;
                let index = StaticModuleIndex(modules.len() as u32);
                modules.push(ModuleTranslation { range, env, bodies });
                let Some(Scope::Component(frame)) = scopes.last_mut() else {
                    crate::bug!("a core module outside any component");
                };
                frame
                    .body
                    .initializers
                    .push(Initializer::DefineModule(index));
            }
            return Ok(());
        }

        match payload {
            Payload::Version { encoding, .. } => {
                if encoding != wasmparser::Encoding::Component {
                    if scopes.is_empty() {
                        return Err(CompileError::invalid(
                            "expected a component, found a core module",
                            offset as u64,
                        ));
                    }
                    crate::bug!("nested core module not announced by a module section");
                }
                if scopes.is_empty() {
                    scopes.push(Scope::Component(Frame::new()));
                }
            }
            Payload::ModuleSection {
                unchecked_range, ..
            } => scopes.push(Scope::Module(to_usize(unchecked_range))),
            Payload::ComponentSection { .. } => scopes.push(Scope::Component(Frame::new())),
            Payload::End(_) => {
                let Some(Scope::Component(frame)) = scopes.pop() else {
                    crate::bug!("end of a component outside any");
                };
                let index = StaticComponentIndex(components.len() as u32);
                let mut body = frame.body;
                body.num_upvar_modules = frame.closure_modules.len() as u32;
                body.num_upvar_components = frame.closure_components.len() as u32;
                components.push(body);
                if let Some(Scope::Component(parent)) = scopes.last_mut() {
                    parent.body.initializers.push(Initializer::DefineComponent {
                        component: index,
                        closure_modules: frame.closure_modules,
                        closure_components: frame.closure_components,
                    });
                } else if !scopes.is_empty() {
                    crate::bug!("a component nested in a core module");
                }
            }
            other => {
                let Some(types) = validator.types(0) else {
                    crate::bug!("no validator types inside a component");
                };
                section(scopes, conv, types, other, offset)?;
            }
        }
    }
    Ok(())
}

/// The byte offset a payload starts at, for errors.
fn payload_offset(p: &Payload<'_>) -> usize {
    payload_offset_u64(p) as usize
}

fn to_usize(r: Range<u64>) -> Range<usize> {
    r.start as usize..r.end as usize
}

fn payload_offset_u64(p: &Payload<'_>) -> u64 {
    match p {
        Payload::Version { range, .. } => range.start,
        Payload::End(o) => *o,
        Payload::ModuleSection {
            unchecked_range, ..
        }
        | Payload::ComponentSection {
            unchecked_range, ..
        } => unchecked_range.start,
        Payload::CoreTypeSection(r) => r.range().start,
        Payload::ComponentTypeSection(r) => r.range().start,
        Payload::InstanceSection(r) => r.range().start,
        Payload::ComponentInstanceSection(r) => r.range().start,
        Payload::ComponentAliasSection(r) => r.range().start,
        Payload::ComponentCanonicalSection(r) => r.range().start,
        Payload::ComponentImportSection(r) => r.range().start,
        Payload::ComponentExportSection(r) => r.range().start,
        Payload::ComponentStartSection { range, .. } => range.start,
        _ => 0,
    }
}

/// Resolves an outer alias `count` components out from the innermost
/// one, capturing it in every component in between: returns how the
/// component at `depth` (an index into `frames`) sees it.
fn close_over<T: Copy + PartialEq>(
    frames: &mut [&mut Frame],
    depth: usize,
    count: u32,
    upvar: fn(u32) -> T,
    closure: fn(&mut Frame) -> &mut Vec<T>,
    mk_local: impl Fn(u32) -> T + Copy,
    index: u32,
) -> Result<T, CompileError> {
    if count == 0 {
        return Ok(mk_local(index));
    }
    let Some(parent) = depth.checked_sub(1) else {
        crate::bug!("validated outer alias past the root");
    };
    let seen_by_parent = close_over(frames, parent, count - 1, upvar, closure, mk_local, index)?;
    let list = closure(&mut *frames[depth]);
    let i = match list.iter().position(|c| *c == seen_by_parent) {
        Some(i) => i,
        None => {
            list.push(seen_by_parent);
            list.len() - 1
        }
    };
    Ok(upvar(i as u32))
}

fn component_item(
    conv: &mut TypeConverter,
    types: wasmparser::types::TypesRef<'_>,
    kind: ComponentExternalKind,
    index: u32,
) -> ComponentItem {
    match kind {
        ComponentExternalKind::Module => ComponentItem::Module(index),
        ComponentExternalKind::Func => ComponentItem::Func(index),
        ComponentExternalKind::Value => ComponentItem::Value(index),
        ComponentExternalKind::Type => match types.component_any_type_at(index) {
            wasmparser::component_types::ComponentAnyTypeId::Resource(r) => {
                ComponentItem::Resource(conv.resource(r.resource(), ResourceType::Abstract))
            }
            _ => ComponentItem::Type(index),
        },
        ComponentExternalKind::Instance => ComponentItem::Instance(index),
        ComponentExternalKind::Component => ComponentItem::Component(index),
    }
}

fn sort(kind: ComponentExternalKind) -> Sort {
    match kind {
        ComponentExternalKind::Module => Sort::Module,
        ComponentExternalKind::Func => Sort::Func,
        ComponentExternalKind::Value => Sort::Value,
        ComponentExternalKind::Type => Sort::Type,
        ComponentExternalKind::Instance => Sort::Instance,
        ComponentExternalKind::Component => Sort::Component,
    }
}

fn core_sort(kind: ExternalKind) -> CoreSort {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => CoreSort::Func,
        ExternalKind::Table => CoreSort::Table,
        ExternalKind::Memory => CoreSort::Memory,
        ExternalKind::Global => CoreSort::Global,
        ExternalKind::Tag => CoreSort::Tag,
    }
}

fn core_item(kind: ExternalKind, index: u32) -> Result<CoreItem, CompileError> {
    Ok(match kind {
        ExternalKind::Func | ExternalKind::FuncExact => CoreItem::Func(index),
        ExternalKind::Table => CoreItem::Table(index),
        ExternalKind::Memory => CoreItem::Memory(index),
        ExternalKind::Global => CoreItem::Global(index),
        ExternalKind::Tag => CoreItem::Tag(index),
    })
}

fn canon_options(opts: &[CanonicalOption], offset: usize) -> Result<CanonOptions, CompileError> {
    let mut o = CanonOptions::default();
    for opt in opts {
        match *opt {
            CanonicalOption::UTF8 => o.string_encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => o.string_encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => o.string_encoding = StringEncoding::Latin1Utf16,
            CanonicalOption::Memory(m) => o.memory = Some(m),
            CanonicalOption::Realloc(f) => o.realloc = Some(f),
            CanonicalOption::PostReturn(f) => o.post_return = Some(f),
            CanonicalOption::Async => o.async_ = true,
            CanonicalOption::Callback(f) => o.callback = Some(f),
            CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                return Err(unsupported(
                    "the `core-type` and `gc` canonical options (cm_gc)",
                    offset,
                ));
            }
        }
    }
    Ok(o)
}

/// The name a refused canonical built-in is reported by.
fn builtin_feature(f: &CanonicalFunction) -> &'static str {
    use CanonicalFunction as C;
    match f {
        C::ThreadSpawnRef { .. }
        | C::ThreadSpawnIndirect { .. }
        | C::ThreadAvailableParallelism => "shared-everything threads (`thread.spawn*`)",
        C::StreamForward { .. } | C::FutureForward { .. } => {
            "the `stream.forward` and `future.forward` built-ins"
        }
        _ => "this canonical built-in",
    }
}

/// Translates one section of the innermost component.
fn section(
    scopes: &mut [Scope],
    conv: &mut TypeConverter,
    types: wasmparser::types::TypesRef<'_>,
    payload: Payload<'_>,
    offset: usize,
) -> Result<(), CompileError> {
    let err = CompileError::from_wasmparser;
    // The component frames, outermost first (a module never encloses a
    // component, so these are all the scopes).
    let mut frames: Vec<&mut Frame> = Vec::with_capacity(scopes.len());
    for s in scopes.iter_mut() {
        match s {
            Scope::Component(f) => frames.push(f),
            Scope::Module(_) => crate::bug!("component section inside a core module"),
        }
    }
    let Some(depth) = frames.len().checked_sub(1) else {
        crate::bug!("component section outside any component");
    };
    let push = |frames: &mut Vec<&mut Frame>, i: Initializer| {
        frames[depth].body.initializers.push(i);
    };
    match payload {
        // Core types (module types) have no runtime effect.
        Payload::CoreTypeSection(_) => {}
        Payload::ComponentTypeSection(reader) => {
            // The section's entries are the last `count` component types.
            let count = reader.count();
            let total = types.component_type_count();
            let first = total
                .checked_sub(count)
                .ok_or_else(|| crate::bug_error!("type section of {count} with {total} types"))?;
            for (i, ty) in reader.into_iter().enumerate() {
                let ty = ty.map_err(err)?;
                let id = types.component_any_type_at(first + i as u32);
                // Convert now, so that later uses find it converted (and
                // the conversion of nested uses stays shallow).
                conv.any(types, id, 0)?;
                if let WpComponentType::Resource { dtor, .. } = ty {
                    let wasmparser::component_types::ComponentAnyTypeId::Resource(r) = id else {
                        crate::bug!("resource type definition is not a resource");
                    };
                    let resource = conv.resource(r.resource(), ResourceType::Defined);
                    push(&mut frames, Initializer::DefineResource { resource, dtor });
                }
            }
        }
        Payload::ComponentImportSection(reader) => {
            for import in reader {
                let import = import.map_err(err)?;
                let name = import.name.full_name().into_owned();
                let Some(item) = types.component_item_for_import(&name) else {
                    crate::bug!("validated import `{name}` has no type");
                };
                let ty = conv.entity(types, item.ty, 0)?;
                push(&mut frames, Initializer::Import { name, ty });
            }
        }
        Payload::ComponentExportSection(reader) => {
            for export in reader {
                let export = export.map_err(err)?;
                let name = export.name.full_name().into_owned();
                let ty = match types.component_item_for_export(&name) {
                    Some(item) if export.ty.is_some() => Some(conv.entity(types, item.ty, 0)?),
                    _ => None,
                };
                push(
                    &mut frames,
                    Initializer::Export {
                        name,
                        item: component_item(conv, types, export.kind, export.index),
                        ty,
                    },
                );
            }
        }
        Payload::InstanceSection(reader) => {
            for inst in reader {
                let init = match inst.map_err(err)? {
                    Instance::Instantiate { module_index, args } => {
                        Initializer::InstantiateModule {
                            module: module_index,
                            args: args
                                .iter()
                                .map(|a| match a.kind {
                                    InstantiationArgKind::Instance => (a.name.to_string(), a.index),
                                })
                                .collect(),
                        }
                    }
                    Instance::FromExports(exports) => Initializer::CoreInstanceFromExports(
                        exports
                            .iter()
                            .map(|e| Ok((e.name.to_string(), core_item(e.kind, e.index)?)))
                            .collect::<Result<_, CompileError>>()?,
                    ),
                };
                push(&mut frames, init);
            }
        }
        Payload::ComponentInstanceSection(reader) => {
            // The section's instances are the last `count` of the space.
            let count = reader.count();
            let total = types.component_instance_count();
            let first = total
                .checked_sub(count)
                .ok_or_else(|| crate::bug_error!("instance section of {count} with {total}"))?;
            for (i, inst) in reader.into_iter().enumerate() {
                let init = match inst.map_err(err)? {
                    ComponentInstance::Instantiate {
                        component_index,
                        args,
                    } => Initializer::InstantiateComponent {
                        component: component_index,
                        args: args
                            .iter()
                            .map(|a| {
                                (
                                    a.name.to_string(),
                                    component_item(conv, types, a.kind, a.index),
                                )
                            })
                            .collect(),
                        ty: conv.instance(
                            types,
                            types.component_instance_at(first + i as u32),
                            0,
                        )?,
                    },
                    ComponentInstance::FromExports(exports) => {
                        Initializer::ComponentInstanceFromExports(
                            exports
                                .iter()
                                .map(|e| {
                                    (
                                        e.name.full_name().into_owned(),
                                        component_item(conv, types, e.kind, e.index),
                                    )
                                })
                                .collect(),
                        )
                    }
                };
                push(&mut frames, init);
            }
        }
        Payload::ComponentAliasSection(reader) => {
            for alias in reader {
                match alias.map_err(err)? {
                    ComponentAlias::InstanceExport {
                        kind,
                        instance_index,
                        name,
                    } => push(
                        &mut frames,
                        Initializer::AliasExport {
                            instance: instance_index,
                            name: name.to_string(),
                            sort: sort(kind),
                        },
                    ),
                    ComponentAlias::CoreInstanceExport {
                        kind,
                        instance_index,
                        name,
                    } => push(
                        &mut frames,
                        Initializer::AliasCoreExport {
                            instance: instance_index,
                            name: name.to_string(),
                            sort: core_sort(kind),
                        },
                    ),
                    ComponentAlias::Outer { kind, count, index } => match kind {
                        ComponentOuterAliasKind::CoreModule => {
                            let m = close_over(
                                &mut frames,
                                depth,
                                count,
                                ClosedOverModule::Upvar,
                                |f| &mut f.closure_modules,
                                ClosedOverModule::Local,
                                index,
                            )?;
                            push(&mut frames, Initializer::AliasModule(m));
                        }
                        ComponentOuterAliasKind::Component => {
                            let c = close_over(
                                &mut frames,
                                depth,
                                count,
                                ClosedOverComponent::Upvar,
                                |f| &mut f.closure_components,
                                ClosedOverComponent::Local,
                                index,
                            )?;
                            push(&mut frames, Initializer::AliasComponent(c));
                        }
                        // Types live in the translation-wide table: an outer
                        // type alias needs nothing at instantiation (the
                        // validator forbids one that reaches a resource
                        // across a component boundary).
                        ComponentOuterAliasKind::Type | ComponentOuterAliasKind::CoreType => {}
                    },
                }
            }
        }
        Payload::ComponentCanonicalSection(reader) => {
            for func in reader {
                let func = func.map_err(err)?;
                let init = match func {
                    CanonicalFunction::Lift {
                        core_func_index,
                        type_index,
                        options,
                    } => {
                        let wasmparser::component_types::ComponentAnyTypeId::Func(id) =
                            types.component_any_type_at(type_index)
                        else {
                            crate::bug!("validated lift of a non-function type");
                        };
                        Initializer::Lift {
                            core_func: core_func_index,
                            ty: conv.func(types, id, 0)?,
                            options: canon_options(&options, offset)?,
                        }
                    }
                    CanonicalFunction::Lower {
                        func_index,
                        options,
                    } => {
                        let id = types.component_function_at(func_index);
                        Initializer::Lower {
                            func: func_index,
                            ty: conv.func(types, id, 0)?,
                            options: canon_options(&options, offset)?,
                        }
                    }
                    CanonicalFunction::ResourceNew { resource } => {
                        Initializer::ResourceNew(resource_at(conv, types, resource)?)
                    }
                    CanonicalFunction::ResourceDrop { resource } => {
                        Initializer::ResourceDrop(resource_at(conv, types, resource)?)
                    }
                    CanonicalFunction::ResourceRep { resource } => {
                        Initializer::ResourceRep(resource_at(conv, types, resource)?)
                    }
                    other => match super::builtins::translate(conv, types, &other)? {
                        Some(t) => {
                            let mut options = canon_options(t.options, offset)?;
                            if t.memory.is_some() {
                                options.memory = t.memory;
                            }
                            Initializer::AsyncBuiltin {
                                builtin: t.builtin,
                                options,
                                table: t.table,
                            }
                        }
                        None => {
                            return Err(unsupported(
                                &format!("canon {:?}: {}", other, builtin_feature(&other)),
                                offset,
                            ));
                        }
                    },
                };
                push(&mut frames, init);
            }
        }
        Payload::ComponentStartSection { start, .. } => push(
            &mut frames,
            Initializer::Start {
                func: start.func_index,
                args: start.arguments.to_vec(),
                results: start.results,
            },
        ),
        Payload::CustomSection(_) => {}
        Payload::UnknownSection { id, range, .. } => {
            return Err(CompileError::invalid(
                format!("unknown section {id}"),
                range.start,
            ));
        }
        other => {
            crate::bug!("unexpected payload in a component: {other:?}");
        }
    }
    Ok(())
}

/// The resource a `canon resource.*` names by type index.
fn resource_at(
    conv: &mut TypeConverter,
    types: wasmparser::types::TypesRef<'_>,
    index: u32,
) -> Result<ResourceIndex, CompileError> {
    match types.component_any_type_at(index) {
        wasmparser::component_types::ComponentAnyTypeId::Resource(r) => {
            Ok(conv.resource(r.resource(), ResourceType::Abstract))
        }
        _ => crate::bug!("validated resource built-in on a non-resource type {index}"),
    }
}

//! [`Component`]: a component compiled, ready to instantiate.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nyash_aot::component::inline::{InlinedComponent, inline};
use nyash_aot::component::translate::translate;
use nyash_aot::component::types::ComponentTypes;

use super::types::{self, ComponentItem};
use crate::{CompileError, Engine, Error, Module, Result};

/// The next [`ComponentInner::id`].
static NEXT_COMPONENT_ID: AtomicU64 = AtomicU64::new(0);

/// A compiled component: every core module it contains compiled to native
/// code, and the flat description of what instantiating it does (which
/// core instances to create with which imports, which host functions to
/// lower, which functions cross between its component instances, which
/// resources it defines, what it exports).
///
/// Like [`Module`], it is cheap to clone and can be instantiated any number
/// of times in any store of its engine.
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub(crate) engine: Engine,
    /// A number no other component of this process has: what tells the
    /// resource types of different components apart in the [`Type`]s taken
    /// from them (`ResourceTypeKind::Static`).
    ///
    /// [`Type`]: super::Type
    pub(crate) id: u64,
    /// The component's type table, shared with every [`Type`] handle taken
    /// from it (a `Type::Record` is the table and an index into it).
    ///
    /// [`Type`]: super::Type
    pub(crate) types: Arc<ComponentTypes>,
    pub(crate) inlined: InlinedComponent,
    /// The core modules, by static module index.
    pub(crate) modules: Vec<Module>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component")
            .field("modules", &self.inner.modules.len())
            .field("imports", &self.inner.inlined.imports.len())
            .field("exports", &self.inner.inlined.exports.len())
            .finish_non_exhaustive()
    }
}

impl Component {
    /// Compiles a component from its binary or text form (the text form
    /// needs the `wat` feature, on by default).
    ///
    /// Fails with [`ErrorKind::Compile`](crate::ErrorKind::Compile) if the
    /// component is malformed or invalid, or uses a part of the Component
    /// Model not implemented yet (the async ABI, component values and start
    /// functions); the message says which.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(b"\0asm") {
            return Self::from_binary(engine, bytes);
        }
        Self::from_binary(engine, &text_to_binary(bytes)?)
    }

    /// Compiles a component from its binary form.
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Component> {
        let translation = translate(wasm)?;
        let inlined = inline(&translation)?;
        let mut modules = Vec::with_capacity(translation.modules.len());
        for (i, m) in translation.modules.iter().enumerate() {
            let Some(bytes) = wasm.get(m.range.clone()) else {
                return Err(Error::from(nyash_aot::bug_error!(
                    "core module {i}'s range {:?} outside the component",
                    m.range
                )));
            };
            let module = Module::from_binary(engine, bytes)
                .map_err(|e| e.context(format!("core module {i} of the component")))?;
            modules.push(module);
        }
        Ok(Component {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                id: NEXT_COMPONENT_ID.fetch_add(1, Ordering::Relaxed),
                types: Arc::new(translation.types),
                inlined,
                modules,
            }),
        })
    }

    /// Compiles the component in the file at `path` (binary or text).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(Some(path), e))?;
        Self::new(engine, bytes).map_err(|e| e.context(path.display().to_string()))
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The names of the component's imports, in order.
    pub fn import_names(&self) -> impl Iterator<Item = &str> {
        self.inner.inlined.imports.iter().map(|(n, _)| n.as_str())
    }

    /// The names of the component's exports, in order.
    pub fn export_names(&self) -> impl Iterator<Item = &str> {
        self.inner.inlined.exports.iter().map(|(n, _)| n.as_str())
    }

    /// The component's exports with their types, in order: functions with
    /// their [`ComponentFunc`](super::types::ComponentFunc) types, instances with theirs
    /// ([`ComponentInstance::exports`](super::types::ComponentInstance::exports)).
    /// Resource types in them are opaque ones of this component (see
    /// [`types`](super::types)): take a function's types from an instance
    /// ([`Func::ty`](super::Func::ty)) to compare them with the resources
    /// it gives.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ComponentItem)> + '_ {
        self.inner
            .inlined
            .exports
            .iter()
            .map(|(n, e)| (n.as_str(), types::item(self, vec![n.clone()], e)))
    }
}

/// Whether `bytes` start like a component binary (not a core module).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes.starts_with(b"\0asm") && bytes[6..8] == [1, 0]
}

#[cfg(feature = "wat")]
fn text_to_binary(text: &[u8]) -> Result<Vec<u8>> {
    wat::parse_bytes(text)
        .map(|b| b.into_owned())
        .map_err(|e| Error::from(CompileError::invalid(format!("text format: {e}"), 0)))
}

#[cfg(not(feature = "wat"))]
fn text_to_binary(_text: &[u8]) -> Result<Vec<u8>> {
    Err(Error::from(CompileError::invalid(
        "not a binary component (no `\\0asm` header), and the text format needs \
         nyash-engine's `wat` feature",
        0,
    )))
}

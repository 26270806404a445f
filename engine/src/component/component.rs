//! [`Component`]: a component compiled, ready to instantiate.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nyash_aot::component::artifact;
use nyash_aot::component::fact::{AdapterFeatures, AdapterPlan, compile_adapters, uses_async_abi};
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
    /// The core modules, by static module index, then the compiled
    /// adapters' modules.
    pub(crate) modules: Vec<Module>,
    /// By adapter index, how each compiled adapter is instantiated
    /// (`None`: the dynamic adapter of `call.rs`).
    pub(crate) adapters: Vec<Option<AdapterPlan>>,
    /// Whether the root uses the async ABI anywhere
    /// ([`uses_async_abi`]): only then do its calls make tasks
    /// (`call.rs`'s `enter`).
    pub(crate) async_abi: bool,
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
        Self::compile(engine, bytes.as_ref(), None)
    }

    /// Compiles a component from its binary form.
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Component> {
        Self::from_binary_with(engine, wasm, None)
    }

    /// Compiles binary or text, each core module through `cache` if given.
    pub(crate) fn compile(
        engine: &Engine,
        bytes: &[u8],
        cache: Option<&crate::cache::Cache>,
    ) -> Result<Component> {
        if bytes.starts_with(b"\0asm")
            || Self::is_precompiled(bytes)
            || Module::is_precompiled(bytes)
        {
            return Self::from_binary_with(engine, bytes, cache);
        }
        Self::from_binary_with(engine, &text_to_binary(bytes)?, cache)
    }

    fn from_binary_with(
        engine: &Engine,
        wasm: &[u8],
        cache: Option<&crate::cache::Cache>,
    ) -> Result<Component> {
        if artifact::is_component_artifact(wasm) || Module::is_precompiled(wasm) {
            return Err(precompiled_error());
        }
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
            let module = match cache {
                Some(cache) => cache.module(engine, bytes),
                None => Module::from_binary(engine, bytes),
            }
            .map_err(|e| e.context(format!("core module {i} of the component")))?;
            modules.push(module);
        }
        // The compiled adapters, compiled as the component's own modules
        // are (so the artifact and the cache carry them): a generator bug
        // that makes an invalid module is an error naming the adapter
        // module, not a wrong call.
        let config = &engine.inner.config;
        let features = AdapterFeatures {
            exceptions: config.wasm_exceptions,
            multi_memory: config.wasm_multi_memory,
        };
        let compiled =
            compile_adapters(&inlined, &translation.types, modules.len() as u32, features);
        for (i, bytes) in compiled.modules.iter().enumerate() {
            let module = match cache {
                Some(cache) => cache.module(engine, bytes),
                None => Module::from_binary(engine, bytes),
            }
            .map_err(|e| {
                Error::from(nyash_aot::bug_error!(
                    "compiled adapter module {i} does not compile: {e}"
                ))
            })?;
            modules.push(module);
        }
        Ok(Component {
            inner: Arc::new(ComponentInner {
                engine: engine.clone(),
                id: NEXT_COMPONENT_ID.fetch_add(1, Ordering::Relaxed),
                types: Arc::new(translation.types),
                async_abi: uses_async_abi(&inlined),
                inlined,
                modules,
                adapters: compiled.plans,
            }),
        })
    }

    /// Compiles the component in the file at `path` (binary or text),
    /// through the engine's compile cache when
    /// [`Config::cache`](crate::Config::cache) is on (as
    /// [`Module::from_file`] does). A `.nwasm` component artifact is
    /// refused: load it with the `unsafe`
    /// [`deserialize_file`](Self::deserialize_file).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(Some(path), e))?;
        let result = if engine.config().cache {
            crate::cache::Cache::new(engine.config())
                .and_then(|cache| cache.component(engine, &bytes))
        } else {
            Self::new(engine, bytes)
        };
        result.map_err(|e| e.context(path.display().to_string()))
    }

    /// Whether `bytes` start like a `.nwasm` component artifact.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        artifact::is_component_artifact(bytes)
    }

    /// The compiled component as a `.nwasm` artifact: its types, its
    /// inlined description and every core module's artifact in one file,
    /// to be loaded again with the `unsafe`
    /// [`deserialize`](Self::deserialize) or
    /// [`deserialize_file`](Self::deserialize_file) by an engine of the
    /// same build and configuration.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let modules = self
            .inner
            .modules
            .iter()
            .map(Module::serialize)
            .collect::<Result<Vec<_>>>()?;
        let meta = artifact::ComponentArtifactMeta {
            types: (*self.inner.types).clone(),
            inlined: self.inner.inlined.clone(),
            adapters: self.inner.adapters.clone(),
        };
        Ok(artifact::write(&meta, &modules))
    }

    /// Loads a `.nwasm` component artifact from memory (code copied).
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize`]: the bytes must come from
    /// [`Component::serialize`] of an engine you trust; an artifact is
    /// native code.
    pub unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Component> {
        let parsed = artifact::parse(bytes, bytes.len() as u64).map_err(artifact_error)?;
        let mut modules = Vec::with_capacity(parsed.modules.len());
        for (i, (off, len)) in parsed.modules.iter().enumerate() {
            let range = *off as usize..(*off + *len) as usize;
            // SAFETY: the caller vouches for the whole artifact.
            let m = unsafe { Module::deserialize(engine, &bytes[range]) }
                .map_err(|e| e.context(format!("core module {i} of the component")))?;
            modules.push(m);
        }
        Ok(Self::from_parts(engine, parsed.meta, modules))
    }

    /// Loads a `.nwasm` component artifact file; each core module's code is
    /// mapped in place.
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize_file`]: a trusted artifact, not
    /// modified while the component is alive.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component> {
        let path = path.as_ref();
        // SAFETY: as the caller vouches.
        unsafe { Self::deserialize_file_at(engine, path, 0, None) }
            .map_err(|e| e.context(path.display().to_string()))
    }

    /// Loads a component artifact embedded at `[offset, offset + len)` of a
    /// larger file (a bundle); `offset` a multiple of
    /// [`ARTIFACT_ALIGN`](crate::ARTIFACT_ALIGN).
    ///
    /// # Safety
    ///
    /// As for [`deserialize_file`](Self::deserialize_file).
    pub unsafe fn deserialize_embedded(
        engine: &Engine,
        path: &Path,
        offset: u64,
        len: u64,
    ) -> Result<Component> {
        // SAFETY: as the caller vouches.
        unsafe { Self::deserialize_file_at(engine, path, offset, Some(len)) }
            .map_err(|e| e.context(path.display().to_string()))
    }

    /// # Safety
    ///
    /// As for [`deserialize_file`](Self::deserialize_file).
    unsafe fn deserialize_file_at(
        engine: &Engine,
        path: &Path,
        offset: u64,
        len: Option<u64>,
    ) -> Result<Component> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let file_len = file.metadata().map_err(|e| Error::io(Some(path), e))?.len();
        let len = len.unwrap_or(file_len.saturating_sub(offset));
        if offset.checked_add(len).is_none_or(|e| e > file_len) {
            return Err(artifact_error(
                nyash_aot::artifact::ArtifactError::Truncated,
            ));
        }
        let io = |e| Error::io(Some(path), e);
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut head = vec![0u8; 128.min(len as usize)];
        file.read_exact(&mut head).map_err(io)?;
        let need = artifact::header_len(&head).map_err(artifact_error)?;
        if need as u64 > len {
            return Err(artifact_error(
                nyash_aot::artifact::ArtifactError::Truncated,
            ));
        }
        let mut header = vec![0u8; need];
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(&mut header).map_err(io)?;
        let parsed = artifact::parse(&header, len).map_err(artifact_error)?;
        let mut modules = Vec::with_capacity(parsed.modules.len());
        for (i, (off, mlen)) in parsed.modules.iter().enumerate() {
            // SAFETY: the caller vouches for the whole artifact; module
            // offsets are multiples of the code alignment, as is `offset`.
            let m = unsafe { Module::deserialize_embedded(engine, path, offset + off, *mlen) }
                .map_err(|e| e.context(format!("core module {i} of the component")))?;
            modules.push(m);
        }
        Ok(Self::from_parts(engine, parsed.meta, modules))
    }

    fn from_parts(
        engine: &Engine,
        meta: artifact::ComponentArtifactMeta,
        modules: Vec<Module>,
    ) -> Component {
        Component {
            inner: Arc::new(ComponentInner {
                id: NEXT_COMPONENT_ID.fetch_add(1, Ordering::Relaxed),
                engine: engine.clone(),
                types: Arc::new(meta.types),
                async_abi: uses_async_abi(&meta.inlined),
                inlined: meta.inlined,
                modules,
                adapters: meta.adapters,
            }),
        }
    }

    /// How many of the component's adapters (calls from one of its
    /// component instances into a function another one lifted) are
    /// compiled to core wasm, and how many there are in all; the others
    /// cross through the host, lifting and lowering `Val`s.
    pub fn compiled_adapters(&self) -> (usize, usize) {
        let a = &self.inner.adapters;
        (a.iter().filter(|p| p.is_some()).count(), a.len())
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

fn artifact_error(e: nyash_aot::artifact::ArtifactError) -> Error {
    Error::new(crate::ErrorKind::Artifact(e.to_string()))
}

fn precompiled_error() -> Error {
    Error::new(crate::ErrorKind::Artifact(
        "this is a precompiled .nwasm artifact (native code), not a component; load it \
         with the unsafe `Component::deserialize_file`"
            .into(),
    ))
}

/// Whether `bytes` start like a component binary (not a core module).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes.starts_with(b"\0asm") && bytes[6..8] == [1, 0]
}

#[cfg(feature = "wat")]
fn text_to_binary(text: &[u8]) -> Result<Vec<u8>> {
    wat::parse_bytes(text).map(|b| b.into_owned()).map_err(|e| {
        Error::from(CompileError::invalid(format!("text format: {e}"), 0).in_component())
    })
}

#[cfg(not(feature = "wat"))]
fn text_to_binary(_text: &[u8]) -> Result<Vec<u8>> {
    Err(Error::from(
        CompileError::invalid(
            "not a binary component (no `\\0asm` header), and the text format needs \
         nyash-engine's `wat` feature",
            0,
        )
        .in_component(),
    ))
}

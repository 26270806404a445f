//! `Module`: a compiled module, its code mapped executable, ready to be
//! instantiated any number of times in any store of its engine.

use std::path::Path;
use std::sync::Arc;

use nyash_aot::VMOffsets;
use nyash_aot::artifact::{self, ArtifactMeta};
use nyash_aot::module::{EntityIndex, ModuleEnv};

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ExternType, FuncType};
use crate::vm::code::{CodeMemory, CodeTables};
use crate::vm::perf_map::{perf_map_enabled, write_perf_map};

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) env: ModuleEnv,
    pub(crate) offsets: VMOffsets,
    pub(crate) code: Arc<CodeMemory>,
    pub(crate) defined_func_offsets: Vec<u32>,
    pub(crate) entry_trampolines: Vec<Option<u32>>,
    pub(crate) host_trampolines: Vec<Option<u32>>,
    /// Engine type id per module type index (what `call_indirect` compares).
    pub(crate) type_ids: Box<[u32]>,
    /// Func-ref slot -> function index.
    pub(crate) slot_funcs: Vec<u32>,
    /// Hash of the wasm bytes the code was compiled from.
    pub(crate) wasm_hash: u128,
    /// Code inlined from other functions, for backtraces.
    pub(crate) inlined: nyash_aot::InlineTable,
    /// Compiled by the baseline tier (`Config::lazy_compilation`): its
    /// artifact carries that compiler's fingerprint.
    pub(crate) baseline: bool,
    /// Compiled function by function on first call
    /// (`Config::lazy_compilation`): the stubs' state.
    pub(crate) lazy: Option<crate::vm::lazy::LazyCode>,
    /// Copy-on-write images of the initial memory contents, per memory
    /// (`vm/memory_image.rs`), made on the first instantiation.
    pub(crate) memory_images:
        std::sync::OnceLock<Box<[Option<Arc<crate::vm::memory_image::MemoryImage>>]>>,
}

/// A compiled WebAssembly module: validated, compiled to native code and
/// mapped executable, ready to be instantiated any number of times in any
/// store of its engine.
///
/// Cheap to clone (a reference count); `Send + Sync`.
///
/// ```
/// use nyash_engine::{Engine, ExternType, Module};
///
/// let engine = Engine::default();
/// let module = Module::new(
///     &engine,
///     r#"(module $m
///          (import "env" "tick" (func))
///          (memory (export "memory") 1))"#,
/// )?;
/// assert_eq!(module.name(), Some("m"));
/// let (m, name, ty) = module.imports().next().unwrap();
/// assert_eq!((m, name, ty.kind()), ("env", "tick", "function"));
/// let (name, ty) = module.exports().next().unwrap();
/// assert!(name == "memory" && matches!(ty, ExternType::Memory(_)));
///
/// // Invalid modules are errors, with what and where.
/// assert!(Module::new(&engine, "(module (func (result i32)))").is_err());
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.env.name)
            .finish_non_exhaustive()
    }
}

/// The binary form of a module in the text format.
#[cfg(feature = "wat")]
fn text_to_binary(text: &[u8]) -> Result<Vec<u8>> {
    wat::parse_bytes(text).map(|b| b.into_owned()).map_err(|e| {
        Error::from(nyash_aot::CompileError::invalid(
            format!("text format: {e}"),
            0,
        ))
    })
}

#[cfg(not(feature = "wat"))]
fn text_to_binary(_text: &[u8]) -> Result<Vec<u8>> {
    Err(Error::from(nyash_aot::CompileError::invalid(
        "not a binary module (no `\\0asm` header), and the text format needs \
         nyash-engine's `wat` feature",
        0,
    )))
}

/// Parses an artifact made by either of the engine's compilers: the
/// optimizing one, or with lazy compilation on, the baseline tier.
fn parse_for(engine: &Engine, bytes: &[u8]) -> Result<artifact::Parsed> {
    match artifact::parse(bytes, engine.inner.compiler.fingerprint()) {
        Err(e) => match &engine.inner.baseline {
            Some(b) => artifact::parse(bytes, b.fingerprint()).map_err(|_| artifact_error(e)),
            None => Err(artifact_error(e)),
        },
        ok => ok.map_err(artifact_error),
    }
}

impl Module {
    /// Compiles a module from its binary or text (`.wat`) form. The text
    /// form needs the `wat` feature (on by default).
    ///
    /// Fails with [`ErrorKind::Compile`](crate::ErrorKind::Compile) if the
    /// module is malformed, invalid or uses an unsupported feature (a
    /// WebAssembly 3.0 proposal; SIMD on an x86-64 CPU without SSE4.1).
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(b"\0asm") {
            return Self::from_binary(engine, bytes);
        }
        Self::from_binary(engine, &text_to_binary(bytes)?)
    }

    /// Compiles a module from its binary form (no text format detection).
    /// Errors as for [`Module::new`].
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        match &engine.inner.baseline {
            Some(baseline) if baseline.supports_lazy() => Self::new_lazy(engine, baseline, wasm),
            Some(baseline) => Self::compile_with(engine, baseline, wasm, true),
            None => Self::compile_with(engine, &engine.inner.compiler, wasm, true),
        }
    }

    /// A module whose functions compile on their first call
    /// (`nyash_aot::lazy`): validated whole now, its trampolines compiled,
    /// a stub in place of each function.
    fn new_lazy(engine: &Engine, compiler: &nyash_aot::Compiler, wasm: &[u8]) -> Result<Module> {
        let start = std::time::Instant::now();
        let nyash_aot::lazy::LazyModule {
            artifact,
            layout,
            bodies,
        } = compiler.prepare_lazy(wasm)?;
        if crate::vm::lazy::tracing() {
            eprintln!(
                "lazy-prepare: {} functions, {} trampolines, {:.1} ms",
                bodies.len(),
                artifact.tables.functions.len() - 1,
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        let reserve =
            crate::vm::lazy::reserve_for(&layout, &bodies, artifact.defined_func_offsets.len());
        let (meta, code) = ArtifactMeta::split(artifact, compiler.fingerprint());
        let lazy = crate::vm::lazy::LazyCode::new(
            layout,
            bodies,
            wasm,
            engine.inner.config.lazy_compile_ahead,
        );
        let memory = |tables| CodeMemory::lazy(&code, &layout, reserve, tables);
        Self::from_parts_lazy(engine, meta, artifact::wasm_hash(wasm), memory, Some(lazy))
    }

    /// Whether a module compiled lazily now runs its optimized code: the
    /// optimizing compile that fills the cache finished while the module
    /// was alive, and its code replaced the baseline code for every call
    /// made since (tier-up; see
    /// [`Config::lazy_compilation`](crate::Config::lazy_compilation)).
    /// Always `false` for a module compiled whole.
    pub fn tiered_up(&self) -> bool {
        self.inner.lazy.as_ref().is_some_and(|l| l.is_tiered())
    }

    /// With lazy compilation ([`Config::lazy_compilation`](crate::Config::lazy_compilation)),
    /// how many of the module's functions have been compiled so far (each
    /// is compiled on its first call); `None` for a module compiled whole.
    pub fn lazily_compiled(&self) -> Option<usize> {
        self.inner.lazy.as_ref().map(|l| l.compiled())
    }

    /// [`Module::new`] with the optimizing tier whatever the config says
    /// (the cache's background compile in lazy mode), without reporting
    /// progress (the module is already running).
    pub(crate) fn new_optimized(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        if bytes.starts_with(b"\0asm") {
            return Self::compile_with(engine, &engine.inner.compiler, bytes, false);
        }
        Self::compile_with(
            engine,
            &engine.inner.compiler,
            &text_to_binary(bytes)?,
            false,
        )
    }

    fn compile_with(
        engine: &Engine,
        compiler: &nyash_aot::Compiler,
        wasm: &[u8],
        report_progress: bool,
    ) -> Result<Module> {
        let artifact = match &engine.inner.config.compile_progress {
            Some(p) if report_progress => compiler.compile_with_progress(wasm, &*p.0)?,
            _ => compiler.compile(wasm)?,
        };
        let wasm_hash = artifact::wasm_hash(wasm);
        let (meta, code) = ArtifactMeta::split(artifact, compiler.fingerprint());
        let memory = |tables| CodeMemory::new(&code, tables);
        Self::from_parts(engine, meta, wasm_hash, memory)
    }

    /// Reads and compiles a `.wasm` or `.wat` file. With
    /// [`Config::cache`](crate::Config::cache) on, compiled code is taken from
    /// and kept in the on-disk cache. Errors name the file: an
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) if it cannot be read, else as
    /// for [`Module::new`].
    ///
    /// A `.nwasm` artifact is native code, not a module: this refuses it
    /// (whatever its name) and says to load it with the `unsafe`
    /// [`deserialize_file`](Self::deserialize_file).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(Some(path), e))?;
        if artifact::is_artifact(&bytes) {
            return Err(Error::new(ErrorKind::Artifact(
                "this is a precompiled .nwasm artifact (native code), not a WebAssembly \
                 module; load it with the unsafe `Module::deserialize_file`"
                    .into(),
            ))
            .context(path.display().to_string()));
        }
        let result = if engine.config().cache {
            crate::cache::Cache::new(engine.config()).and_then(|cache| cache.module(engine, &bytes))
        } else {
            Self::new(engine, bytes)
        };
        result.map_err(|e| e.context(path.display().to_string()))
    }

    /// Whether `bytes` start like a `.nwasm` artifact (native code, to be
    /// loaded only with the `unsafe` [`deserialize`](Self::deserialize))
    /// rather than a WebAssembly module.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        artifact::is_artifact(bytes)
    }

    /// The compiled module as a `.nwasm` artifact: native code and metadata,
    /// to be loaded again with the `unsafe` [`Module::deserialize`] or
    /// [`Module::deserialize_file`] by an engine of the same build and
    /// configuration on a CPU with the same features.
    ///
    /// A module compiled lazily is compiled whole by the optimizing tier
    /// for this (its baseline code is incomplete).
    pub fn serialize(&self) -> Result<Vec<u8>> {
        if let Some(lazy) = &self.inner.lazy {
            return Module::new_optimized(&self.inner.engine, lazy.wasm())?.serialize();
        }
        let inner = &self.inner;
        let meta = ArtifactMeta {
            env: inner.env.clone(),
            offsets: inner.offsets.clone(),
            tables: inner.code.tables.image.clone(),
            defined_func_offsets: inner.defined_func_offsets.clone(),
            entry_trampolines: inner.entry_trampolines.clone(),
            host_trampolines: inner.host_trampolines.clone(),
            inlined: inner.inlined.clone(),
            fingerprint: match &inner.engine.inner.baseline {
                Some(b) if inner.baseline => b.fingerprint().to_string(),
                _ => inner.engine.inner.compiler.fingerprint().to_string(),
            },
        };
        Ok(artifact::write(&meta, inner.code.bytes(), inner.wasm_hash))
    }

    /// Loads a `.nwasm` artifact from memory (the code is copied).
    ///
    /// Damage and mismatch (truncation, bit flips, another engine build,
    /// another CPU's features) are detected and are errors.
    ///
    /// # Safety
    ///
    /// An artifact is native code that this call makes executable, and the
    /// checks above catch accidents, not intent: a checksum is no signature.
    /// `bytes` must come from [`Module::serialize`] of an engine you trust
    /// (this build, or one with the same version), and not have been
    /// crafted or altered by anyone you do not trust; otherwise running
    /// the module can do anything native code can.
    pub unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let parsed = parse_for(engine, bytes)?;
        let code = &bytes[parsed.code_offset..parsed.code_offset + parsed.code_len];
        Self::from_parts(engine, parsed.meta, parsed.wasm_hash, |tables| {
            CodeMemory::new(code, tables)
        })
    }

    /// Loads a `.nwasm` artifact file: the file is mapped and its code pages
    /// are made executable in place, without copying or relocating them.
    ///
    /// # Safety
    ///
    /// As for [`deserialize`](Self::deserialize): the file must be an
    /// artifact written by a trusted engine, and must not be modified
    /// while the module is alive (it is mapped, not copied).
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        Self::deserialize_file_at(engine, path, 0, None)
            .map_err(|e| e.context(path.display().to_string()))
    }

    /// Loads an artifact embedded at `[offset, offset + len)` of a larger
    /// file, such as an executable with a module appended (what
    /// `nyash-engine bundle` makes). `offset` must be a multiple of
    /// [`ARTIFACT_ALIGN`](crate::ARTIFACT_ALIGN) so the code maps in place.
    ///
    /// # Safety
    ///
    /// As for [`deserialize_file`](Self::deserialize_file).
    pub unsafe fn deserialize_embedded(
        engine: &Engine,
        path: &Path,
        offset: u64,
        len: u64,
    ) -> Result<Module> {
        Self::deserialize_file_at(engine, path, offset, Some(len))
            .map_err(|e| e.context(path.display().to_string()))
    }

    /// Loads the artifact at `[offset, offset + len)` of a file.
    fn deserialize_file_at(
        engine: &Engine,
        path: &Path,
        offset: u64,
        len: Option<u64>,
    ) -> Result<Module> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let mut opts = memmap2::MmapOptions::new();
        // Every page is read by the checksum: map them all in one call rather
        // than one fault at a time. Read-only, so this maps the page cache's
        // pages and copies nothing.
        opts.offset(offset);
        if let Some(len) = len {
            opts.len(len as usize);
        }
        // SAFETY: a private mapping; changes to the file by others after the
        // checksum check are the caller's risk, as for any executable.
        let map =
            unsafe { opts.map_copy_read_only(&file) }.map_err(|e| Error::io(Some(path), e))?;
        let parsed = parse_for(engine, &map)?;
        let (off, len) = (parsed.code_offset, parsed.code_len);
        if !CodeMemory::can_map_in_place(off) {
            // Pages larger than the artifact's code alignment (64 KiB pages):
            // the code cannot be used in place, so it is copied.
            let code = map
                .get(off..off + len)
                .ok_or_else(|| Error::new(ErrorKind::Artifact("code outside the file".into())))?;
            return Self::from_parts(engine, parsed.meta, parsed.wasm_hash, |tables| {
                CodeMemory::new(code, tables)
            });
        }
        Self::from_parts(engine, parsed.meta, parsed.wasm_hash, move |tables| {
            CodeMemory::from_file_map(map, off, len, tables)
        })
    }

    fn from_parts(
        engine: &Engine,
        meta: ArtifactMeta,
        wasm_hash: u128,
        memory: impl FnOnce(nyash_aot::ImageTables) -> std::io::Result<CodeMemory>,
    ) -> Result<Module> {
        Self::from_parts_lazy(engine, meta, wasm_hash, memory, None)
    }

    fn from_parts_lazy(
        engine: &Engine,
        meta: ArtifactMeta,
        wasm_hash: u128,
        memory: impl FnOnce(nyash_aot::ImageTables) -> std::io::Result<CodeMemory>,
        lazy: Option<crate::vm::lazy::LazyCode>,
    ) -> Result<Module> {
        let baseline = engine
            .inner
            .baseline
            .as_ref()
            .is_some_and(|b| meta.fingerprint == b.fingerprint());
        let ArtifactMeta {
            env,
            offsets,
            tables,
            defined_func_offsets,
            entry_trampolines,
            host_trampolines,
            inlined,
            ..
        } = meta;
        let code = Arc::new(memory(tables).map_err(|e| Error::io(None, e))?);
        if perf_map_enabled() {
            write_perf_map(&env, code.base() as usize, &code.tables.functions);
        }
        let type_ids = engine.types().register_module(&env).map_err(Error::msg)?;
        for (&id, t) in type_ids.iter().zip(&host_trampolines) {
            if let Some(t) = t {
                engine.offer_host_trampoline(id, code.at(*t) as usize, &code);
            }
        }
        let mut slot_funcs = vec![0; env.num_func_ref_slots as usize];
        for (f, slot) in env.func_ref_slots.iter().enumerate() {
            if let Some(s) = slot {
                slot_funcs[*s as usize] = f as u32;
            }
        }
        let inner = Arc::new(ModuleInner {
            engine: engine.clone(),
            env,
            offsets,
            code,
            defined_func_offsets,
            entry_trampolines,
            host_trampolines,
            type_ids,
            slot_funcs,
            wasm_hash,
            inlined,
            baseline,
            lazy,
            memory_images: std::sync::OnceLock::new(),
        });
        if let Some(lazy) = &inner.lazy {
            lazy.init(&inner);
        }
        Ok(Module { inner })
    }

    /// `t` with the module's type indices turned into engine type ids,
    /// in the API's words: the one way a module's own type becomes a
    /// public [`ValType`](crate::ValType).
    pub(crate) fn engine_type(&self, t: nyash_aot::WasmType) -> crate::ValType {
        crate::ValType::from_aot(self.engine_type_aot(t))
    }

    /// `t` with the module's type indices turned into engine type ids, in
    /// the compiler's words (for the store's records).
    pub(crate) fn engine_type_aot(&self, t: nyash_aot::WasmType) -> nyash_aot::WasmType {
        t.map_concrete(|i| nyash_aot::HeapType::Engine(self.inner.type_ids[i as usize]))
    }

    /// Whether a host function of type `have` may be import number
    /// `import` (a function import of its type, or of a supertype).
    pub(crate) fn host_func_matches(&self, have: &FuncType, import: usize) -> bool {
        let env = self.env();
        let Some(EntityIndex::Function(f)) = env.imports.get(import).map(|i| i.index) else {
            return false;
        };
        let want = self.inner.type_ids[env.funcs[f as usize] as usize];
        let Ok(have) = self.inner.engine.type_id(have) else {
            return false;
        };
        self.inner.engine.types().is_subtype(have, want)
    }

    /// Tier-up of a lazy module from `bytes`, the artifact of the
    /// optimizing compile of the same module (from the cache, or just
    /// made by the background compile). Artifacts are native code: only
    /// the cache's own entries come here.
    pub(crate) fn tier_up(inner: &ModuleInner, bytes: &[u8]) -> Result<()> {
        let parsed = artifact::parse(bytes, inner.engine.inner.compiler.fingerprint())
            .map_err(artifact_error)?;
        if parsed.wasm_hash != inner.wasm_hash {
            return Err(Error::msg("tier-up: the artifact is of another module"));
        }
        let code = bytes
            .get(parsed.code_offset..parsed.code_offset + parsed.code_len)
            .ok_or_else(|| Error::msg("tier-up: code outside the artifact"))?;
        crate::vm::lazy::tier_up(inner, parsed.meta, code)
    }

    /// The engine that compiled (or loaded) this module.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's name from its name section, if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.env.name.as_deref()
    }

    /// The imports, in the module's order: `(module, name, type)`. This is
    /// the order [`Instance::new`](crate::Instance::new) takes its imports in.
    /// Defined types in the types are engine ids
    /// ([`HeapType::Engine`](crate::HeapType::Engine)), as the store's
    /// functions, tables and globals have them, so a type can be used as is
    /// to make a matching definition.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = (&str, &str, ExternType)> + '_ {
        let env = &self.inner.env;
        env.imports.iter().map(move |i| {
            (
                i.module.as_str(),
                i.name.as_str(),
                ExternType::of(self, i.index),
            )
        })
    }

    /// The exports, in the module's order: `(name, type)`.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ExternType)> + '_ {
        let env = &self.inner.env;
        env.exports
            .iter()
            .map(move |e| (e.name.as_str(), ExternType::of(self, e.index)))
    }

    pub(crate) fn env(&self) -> &ModuleEnv {
        &self.inner.env
    }

    /// The module's memory images, per memory index (made on first use).
    pub(crate) fn memory_images(&self) -> &[Option<Arc<crate::vm::memory_image::MemoryImage>>] {
        self.inner
            .memory_images
            .get_or_init(|| crate::vm::memory_image::images_of(&self.inner.env))
    }

    /// Name of function `index` for backtraces.
    pub(crate) fn func_name(&self, index: u32) -> Option<&str> {
        self.inner.env.func_name(index)
    }

    pub(crate) fn export_index(&self, name: &str) -> Option<EntityIndex> {
        self.inner.env.export(name)
    }

    /// The function index whose body contains `pc`, if this module's code holds it.
    /// The functions whose code is at `pc`, innermost first: the function
    /// inlined there (if any), then the function containing it.
    pub(crate) fn funcs_at_pc(&self, pc: usize) -> impl Iterator<Item = u32> + '_ {
        let outer = self.inner.code.tables.func_index_at(pc).or_else(|| {
            // A function compiled lazily: its code is registered alone.
            let start = self.inner.code.base() as usize;
            (pc.wrapping_sub(start) < self.inner.code.reserved())
                .then(|| nyash_asyncify::lookup_code(pc))
                .flatten()?
                .as_any()
                .downcast_ref::<CodeTables>()?
                .func_index_at(pc)
        });
        let inlined = outer.and_then(|_| match &self.inner.lazy {
            // Only a lazy module's optimized code (after tier-up) inlines.
            Some(lazy) => lazy.inlined_at(pc),
            None => {
                let offset =
                    u32::try_from(pc.checked_sub(self.inner.code.base() as usize)?).ok()?;
                self.inner.inlined.lookup(offset)
            }
        });
        inlined.into_iter().chain(outer)
    }

    pub(crate) fn wasm_call(&self, func_index: u32) -> *const u8 {
        let defined = func_index - self.inner.env.num_imported_funcs;
        self.inner
            .code
            .at(self.inner.defined_func_offsets[defined as usize])
    }

    pub(crate) fn entry_trampoline(&self, func_index: u32) -> *const u8 {
        let ty = self.inner.env.funcs[func_index as usize] as usize;
        let off = self.inner.entry_trampolines[ty]
            .expect("every defined function's type has an entry trampoline");
        self.inner.code.at(off)
    }
}

fn artifact_error(e: artifact::ArtifactError) -> Error {
    Error::new(crate::ErrorKind::Artifact(e.to_string()))
}

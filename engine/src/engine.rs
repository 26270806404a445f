//! `Config` and `Engine`: compilation settings and what is shared by every
//! store and module of one configuration.

use std::sync::{Arc, Mutex};

use nyash_aot::Compiler;

use crate::types::FuncType;

use crate::error::{Error, Result};
use crate::vm::code::CodeMemory;
use crate::vm::type_registry::TypeRegistry;

/// Settings for an [`Engine`]: how modules are compiled and what calls may do.
///
/// Setters take `&mut self` and return it, so they chain; an engine copies its
/// config when it is made ([`Engine::new`]), and later changes to the `Config`
/// do not affect it.
///
/// ```
/// use nyash_engine::{Config, Engine};
///
/// let mut config = Config::new();
/// config.consume_fuel(true).max_memory_pages(16); // 1 MiB of linear memory at most
/// let engine = Engine::new(&config)?;
/// assert!(format!("{:?}", engine.config()).contains("consume_fuel: true"));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) max_memory_pages: u64,
    pub(crate) memory_pool: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) cache: bool,
    pub(crate) cache_dir: Option<std::path::PathBuf>,
    pub(crate) cache_max_bytes: u64,
    pub(crate) async_support: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) inlining: bool,
    pub(crate) wasm_multi_memory: bool,
    pub(crate) wasm_memory64: bool,
    pub(crate) wasm_custom_page_sizes: bool,
    pub(crate) wasm_exceptions: bool,
    pub(crate) wasm_function_references: bool,
    pub(crate) relaxed_simd_deterministic: bool,
    pub(crate) disabled_cpu_features: Vec<String>,
    pub(crate) compile_progress: Option<CompileProgress>,
    pub(crate) lazy_compilation: bool,
    pub(crate) lazy_background_compile: bool,
    pub(crate) lazy_compile_ahead: usize,
    pub(crate) gc_stress: bool,
    pub(crate) gc_max_heap_bytes: u64,
    pub(crate) gc_nursery_bytes: u32,
}

/// Idle linear-memory reservations an engine keeps by default
/// ([`Config::memory_pool`]).
pub(crate) const DEFAULT_MEMORY_POOL: usize = 64;

/// A [`Config::compile_progress`] callback.
#[derive(Clone)]
pub(crate) struct CompileProgress(pub(crate) Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for CompileProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompileProgress(..)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wasm_stack: 1 << 20,
            max_memory_pages: nyash_aot::vmoffsets::MAX_MEMORY_BYTES
                / nyash_aot::vmoffsets::WASM_PAGE_SIZE,
            memory_pool: DEFAULT_MEMORY_POOL,
            parallel_compilation: true,
            cache: false,
            cache_dir: None,
            cache_max_bytes: 1 << 30,
            async_support: false,
            epoch_interruption: false,
            consume_fuel: false,
            inlining: true,
            wasm_multi_memory: true,
            wasm_memory64: true,
            wasm_custom_page_sizes: true,
            wasm_exceptions: true,
            wasm_function_references: true,
            relaxed_simd_deterministic: false,
            disabled_cpu_features: Vec::new(),
            compile_progress: None,
            lazy_compilation: lazy_from_env(),
            lazy_background_compile: true,
            lazy_compile_ahead: lazy_ahead_default(),
            gc_stress: gc_stress_from_env(),
            gc_max_heap_bytes: 1 << 30,
            gc_nursery_bytes: 4 << 20,
        }
    }
}

/// Threads per module that compile ahead of the calls in lazy mode: the
/// cores but one (the one running the program), at most 3, none on one
/// core; `NYASH_LAZY_AHEAD=N` overrides it (for measuring).
fn lazy_ahead_default() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("NYASH_LAZY_AHEAD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(0, |n| (n.get() - 1).min(3))
            })
    })
}

/// `NYASH_GC_STRESS=1` turns [`Config::gc_stress`] on by default (for
/// running the test suite in stress mode); read once per process.
fn gc_stress_from_env() -> bool {
    static STRESS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRESS.get_or_init(|| std::env::var_os("NYASH_GC_STRESS").is_some_and(|v| v == "1"))
}

/// `NYASH_LAZY=1` turns [`Config::lazy_compilation`] on by default (for
/// running the test suite in lazy mode); read once per process.
fn lazy_from_env() -> bool {
    static LAZY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LAZY.get_or_init(|| std::env::var_os("NYASH_LAZY").is_some_and(|v| v == "1"))
}

impl Config {
    /// The default settings (the same as [`Config::default`]): parallel
    /// compilation and inlining on; cache, async support, epochs and fuel off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Native stack available to wasm code per call, in bytes (default 1 MiB;
    /// values below 64 KiB are raised to 64 KiB). Deeper recursion traps with
    /// [`TrapCode::StackOverflow`](crate::TrapCode::StackOverflow).
    ///
    /// A synchronous call takes it from the calling thread's stack, below the
    /// point of the call, and never closer than 128 KiB to the thread's stack
    /// bottom (kept for host functions): on a thread with a small stack wasm
    /// gets less. Calls nested through host functions share the budget of the
    /// outermost call. An async call gets a stack of this size of its own.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes.max(64 << 10);
        self
    }

    /// Upper bound on any linear memory, in 64 KiB pages (default and largest:
    /// 65536, i.e. 4 GiB). A module whose memory needs more fails to
    /// instantiate; `memory.grow` beyond it returns -1.
    pub fn max_memory_pages(&mut self, pages: u64) -> &mut Self {
        self.max_memory_pages = pages
            .min(nyash_aot::vmoffsets::MAX_MEMORY_BYTES / nyash_aot::vmoffsets::WASM_PAGE_SIZE);
        self
    }

    /// How many idle linear-memory reservations the engine keeps for reuse
    /// (default 64; 0 turns the pool off). A memory of
    /// 64 KiB pages reserves 8 GiB of address space; when its store is
    /// dropped the reservation is zeroed (its pages given back to the
    /// kernel) and kept, up to this many, so the next memory made in any of
    /// the engine's stores skips reserving and unmapping it. Memories larger
    /// than 256 MiB when dropped are unmapped instead. An idle reservation
    /// holds address space and the kernel's page tables of its accessible
    /// range, not memory.
    pub fn memory_pool(&mut self, reservations: usize) -> &mut Self {
        self.memory_pool = reservations;
        self
    }

    /// Call `f(done, total)` as the jobs of a compilation (function bodies
    /// and trampolines) finish, from the compiling threads: for a progress
    /// display while a big module compiles (the CLI shows one on a
    /// terminal). Keep it cheap; it does not change the code.
    pub fn compile_progress(
        &mut self,
        f: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> &mut Self {
        self.compile_progress = Some(CompileProgress(Arc::new(f)));
        self
    }

    /// Lazy compilation, for a fast first run of a big module (default off,
    /// or on with the environment variable `NYASH_LAZY=1`).
    ///
    /// A module that is not in the cache is validated whole (errors are as
    /// early as without), then each function is compiled the first time it
    /// is called, with the quick baseline tier
    /// ([`nyash_aot::Tier::Baseline`]: Cranelift's `opt_level=none`, no
    /// inlining); threads of [`Config::lazy_compile_ahead`] compile the
    /// callees of called functions meanwhile. With [`Config::cache`] on, the
    /// optimizing compile runs on a background thread at low priority and
    /// stores its artifact in the cache, so the next
    /// [`Module::from_file`](crate::Module::from_file) of the module gets the
    /// optimized code. Cache hits are the optimized artifact, as without
    /// lazy compilation; when that compile finishes while the module is
    /// in use, the module moves to the optimized code for every call made
    /// from then on ([`Module::tiered_up`](crate::Module::tiered_up); with
    /// `lazy_background_compile` off, when the cache entry appears).
    /// [`Module::lazily_compiled`](crate::Module::lazily_compiled) counts
    /// the functions compiled so far. Compiling on first call needs
    /// x86-64; elsewhere the whole module is compiled with the baseline
    /// tier.
    pub fn lazy_compilation(&mut self, on: bool) -> &mut Self {
        self.lazy_compilation = on;
        self
    }

    /// GC stress mode (default off, or on with the environment variable
    /// `NYASH_GC_STRESS=1`): every allocation takes the slow path and runs
    /// a collection that moves every live object (minor and major
    /// alternately), the heap is verified after each collection, and the
    /// memory objects moved out of is poisoned or made inaccessible, so a
    /// reference the engine failed to find or update shows at once. Slow;
    /// for tests.
    pub fn gc_stress(&mut self, on: bool) -> &mut Self {
        self.gc_stress = on;
        self
    }

    /// The most a store's GC heap may hold after a full collection, old
    /// objects and what is allocated into the old space (default 1 GiB;
    /// at most about 2 GiB, half the heap's 4 GiB offset space). An
    /// allocation that does not fit even after a full collection traps
    /// with [`TrapCode::AllocationFailure`](crate::TrapCode::AllocationFailure);
    /// the store stays usable.
    pub fn gc_max_heap_bytes(&mut self, bytes: u64) -> &mut Self {
        self.gc_max_heap_bytes = bytes;
        self
    }

    /// The size of a store's nursery, where new objects are allocated
    /// (default 4 MiB; rounded up to 64 KiB, at most 256 MiB). A minor
    /// collection runs each time it fills.
    pub fn gc_nursery_bytes(&mut self, bytes: u32) -> &mut Self {
        self.gc_nursery_bytes = bytes;
        self
    }

    /// With [`Config::lazy_compilation`] and the cache on, whether a cache
    /// miss starts the optimizing compile on a background thread of this
    /// process (default on). Off: the caller arranges it (with
    /// [`Cache::fill`](crate::cache::Cache::fill)); the `nyash-engine`
    /// command runs it in a detached process of its own, so it finishes
    /// even when the program is done first.
    pub fn lazy_background_compile(&mut self, on: bool) -> &mut Self {
        self.lazy_background_compile = on;
        self
    }

    /// With [`Config::lazy_compilation`], how many threads per module
    /// compile ahead of the calls: when a call compiles a function, its
    /// callees (and theirs) are queued, the first callee first, for these
    /// threads to compile while the program runs, so a call finds more
    /// functions compiled (default: the cores but one, at most 3; 0 on one
    /// core). 0: only calls compile.
    pub fn lazy_compile_ahead(&mut self, threads: usize) -> &mut Self {
        self.lazy_compile_ahead = threads;
        self
    }

    /// Whether [`Config::lazy_compilation`] is on.
    pub fn is_lazy(&self) -> bool {
        self.lazy_compilation
    }

    /// Compile functions on all cores (default on).
    pub fn parallel_compilation(&mut self, on: bool) -> &mut Self {
        self.parallel_compilation = on;
        self
    }

    /// Keep compiled code in the on-disk cache and reuse it (default off in
    /// the library, on in the `nyash-engine` command).
    pub fn cache(&mut self, on: bool) -> &mut Self {
        self.cache = on;
        self
    }

    /// The cache directory (default: `$NYASH_ENGINE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/nyash-engine`, else `~/.cache/nyash-engine`).
    pub fn cache_dir(&mut self, dir: impl Into<std::path::PathBuf>) -> &mut Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Upper bound on the cache's size; least recently used entries go first
    /// (default 1 GiB).
    pub fn cache_max_bytes(&mut self, bytes: u64) -> &mut Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// Allow async calls (default off): [`Func::call_async`](crate::Func::call_async),
    /// [`TypedFunc::call_async`](crate::TypedFunc::call_async),
    /// [`Linker::instantiate_async`](crate::Linker::instantiate_async), and with
    /// them async host functions ([`Linker::func_wrap_async`](crate::Linker::func_wrap_async)).
    /// Without it, those calls fail with an error.
    pub fn async_support(&mut self, on: bool) -> &mut Self {
        self.async_support = on;
        self
    }

    /// Check the engine's epoch at function entries and loop headers, so a
    /// running call can be interrupted (default off). See
    /// [`Engine::increment_epoch`] and [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline).
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.epoch_interruption = on;
        self
    }

    /// Count fuel, about one unit per executed operator, and check it at
    /// function entries and loop headers (default off). A call that runs out
    /// traps with [`TrapCode::OutOfFuel`](crate::TrapCode::OutOfFuel). See
    /// [`Store::set_fuel`](crate::Store::set_fuel).
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.consume_fuel = on;
        self
    }

    /// Inline small functions into their direct callers (default on).
    /// Backtraces still show inlined functions as frames of their own.
    pub fn inlining(&mut self, on: bool) -> &mut Self {
        self.inlining = on;
        self
    }

    /// Accept the multi-memory proposal (WebAssembly 3.0; default on): any
    /// number of memories, and a memory index in every memory instruction.
    /// Off, a module that uses it is invalid, as in WebAssembly 2.0.
    pub fn wasm_multi_memory(&mut self, on: bool) -> &mut Self {
        self.wasm_multi_memory = on;
        self
    }

    /// Accept the memory64 proposal (WebAssembly 3.0; default on): memories
    /// and tables indexed by i64. A 64-bit memory's accesses are
    /// bounds-checked (guard pages cannot cover its index space). Off, a
    /// module that uses it is invalid.
    pub fn wasm_memory64(&mut self, on: bool) -> &mut Self {
        self.wasm_memory64 = on;
        self
    }

    /// Accept the custom-page-sizes proposal (default on): memories of
    /// 1-byte pages, which are bounds-checked (they can end inside an OS
    /// page, where no guard page can catch an access). Off, a module that
    /// declares a page size is invalid.
    pub fn wasm_custom_page_sizes(&mut self, on: bool) -> &mut Self {
        self.wasm_custom_page_sizes = on;
        self
    }

    /// Accept the exception-handling proposal (WebAssembly 3.0, the final
    /// form with `try_table` and `exnref`; default on): tags, `throw`,
    /// `throw_ref`, `try_table`. Off, a module that uses it is invalid. The
    /// legacy form (`try`/`catch`/`delegate`/`rethrow`) is not supported.
    pub fn wasm_exceptions(&mut self, on: bool) -> &mut Self {
        self.wasm_exceptions = on;
        self
    }

    /// Accept typed function references (WebAssembly 3.0; default on):
    /// `(ref $t)` and `(ref null $t)` types, `call_ref`,
    /// `return_call_ref`, `ref.as_non_null`, `br_on_null`,
    /// `br_on_non_null`, non-nullable locals, table initialisers, and the
    /// type system 3.0 shares with GC (rec groups, `sub` types, subtyping
    /// between function types), which GC's struct and array types build on.
    /// Off, a module that uses any of it (GC included) is invalid, as in
    /// WebAssembly 2.0.
    pub fn wasm_function_references(&mut self, on: bool) -> &mut Self {
        self.wasm_function_references = on;
        self
    }

    /// Give relaxed SIMD operators the same results on every CPU (default
    /// off). Relaxed SIMD lets an operator's result depend on the platform;
    /// this engine gives every relaxed operator one behaviour on all CPUs
    /// (mostly its non-relaxed counterpart's), except `f32x4.relaxed_madd`,
    /// `f32x4.relaxed_nmadd` and their `f64x2` forms, which are one fused
    /// multiply-add (a single rounding) on a CPU with FMA, and a multiply
    /// then an add (two roundings) elsewhere. On, they are a multiply then
    /// an add everywhere. The choice is part of the compiler's fingerprint:
    /// an artifact compiled with one setting is refused by an engine with
    /// the other.
    pub fn relaxed_simd_deterministic(&mut self, on: bool) -> &mut Self {
        self.relaxed_simd_deterministic = on;
        self
    }

    /// The supported proposals this config turns off.
    fn disabled_features(&self) -> nyash_aot::WasmFeatures {
        use nyash_aot::WasmFeatures as F;
        let mut off = F::empty();
        off.set(F::MULTI_MEMORY, !self.wasm_multi_memory);
        off.set(F::MEMORY64, !self.wasm_memory64);
        off.set(F::CUSTOM_PAGE_SIZES, !self.wasm_custom_page_sizes);
        off.set(F::EXCEPTIONS, !self.wasm_exceptions);
        if !self.wasm_function_references {
            off |= nyash_aot::module::function_references_features();
        }
        off
    }
    /// Do not use the host CPU feature `name` in generated code (Cranelift's
    /// ISA flag names, e.g. `has_avx` or `has_sse42` on x86-64; by default
    /// the code uses every feature the CPU has). For code that runs on older
    /// CPUs of the same architecture, or to test the code generator's other
    /// lowerings. An unknown name makes [`Engine::new`] fail.
    ///
    /// WebAssembly SIMD needs SSE4.1 and SSSE3 on x86-64: without them,
    /// a module that uses SIMD fails to compile with an "unsupported" error
    /// that says so.
    pub fn disable_cpu_feature(&mut self, name: &str) -> &mut Self {
        self.disabled_cpu_features.push(name.to_string());
        self
    }
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Compiler,
    /// The baseline-tier compiler, with [`Config::lazy_compilation`] on.
    pub(crate) baseline: Option<Compiler>,
    pub(crate) stacks: nyash_asyncify::StackPool,
    /// Idle linear-memory reservations, reused by the next memories made
    /// in any of the engine's stores ([`Config::memory_pool`]).
    pub(crate) memories: Arc<crate::vm::memory::MemoryPool>,
    /// The epoch counter generated code compares with a store's deadline.
    pub(crate) epoch: std::sync::atomic::AtomicU64,
    types: Mutex<TypeRegistry>,
}

/// Compiles modules and holds what stores share: the [`Config`], the
/// compiler, the pool of execution stacks and the epoch counter.
///
/// Cheap to clone (a reference count); `Send + Sync`. Modules and stores
/// belong to the engine that made them. [`Engine::default`] uses
/// [`Config::default`] and panics only if the host CPU is not supported by
/// Cranelift or the address space for the engine's type registry (256 MiB,
/// reserved, committed as types come) cannot be reserved; [`Engine::new`]
/// returns those as errors.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default())
            .expect("the host CPU is supported and address space can be reserved")
    }
}

impl Engine {
    /// An engine with `config`'s settings. Installs the process's signal
    /// handlers for traps (once per process).
    ///
    /// Fails if Cranelift does not support the host CPU, or the type
    /// registry's address space cannot be reserved.
    pub fn new(config: &Config) -> Result<Engine> {
        nyash_asyncify::init_traps();
        let disabled: Vec<(&str, &str)> = config
            .disabled_cpu_features
            .iter()
            .map(|f| (f.as_str(), "false"))
            .collect();
        let tunables = nyash_aot::Tunables {
            epoch_interruption: config.epoch_interruption,
            consume_fuel: config.consume_fuel,
            inlining: config.inlining,
            disabled_features: config.disabled_features(),
            relaxed_simd_deterministic: config.relaxed_simd_deterministic,
        };
        let compiler = Compiler::native_with_isa_flags(cfg!(debug_assertions), &disabled)?
            .with_parallelism(config.parallel_compilation)
            .with_tunables(tunables);
        let baseline = if config.lazy_compilation {
            Some(
                Compiler::native_with_options(
                    cfg!(debug_assertions),
                    &disabled,
                    nyash_aot::Tier::Baseline,
                )?
                .with_parallelism(config.parallel_compilation)
                .with_tunables(nyash_aot::Tunables {
                    inlining: false,
                    ..tunables
                }),
            )
        } else {
            None
        };
        let stacks =
            nyash_asyncify::StackPool::new(config.max_wasm_stack + nyash_asyncify::host_slack());
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                compiler,
                baseline,
                stacks,
                memories: Arc::new(crate::vm::memory::MemoryPool::new(config.memory_pool)),
                epoch: std::sync::atomic::AtomicU64::new(0),
                types: Mutex::new(TypeRegistry::new().map_err(|e| Error::io(None, e))?),
            }),
        })
    }

    /// The settings this engine was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Advances the epoch by one tick: calls in stores whose deadline it
    /// reaches are interrupted at their next function entry or loop header
    /// (with [`Config::epoch_interruption`]). Cheap (one atomic add), and
    /// callable from any thread, typically a timer's.
    pub fn increment_epoch(&self) {
        self.inner
            .epoch
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn epoch_ptr(&self) -> *const u64 {
        self.inner.epoch.as_ptr()
    }

    pub(crate) fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The engine-wide id of function type `ty`: a final type in a rec
    /// group of its own, as a module's `(type (func ...))` outside `rec`
    /// declares it, so it is the id such a module's type gets too. The API
    /// names defined types by these ids ([`HeapType::Engine`](crate::HeapType::Engine)),
    /// e.g. for a host function taking a `(ref $t)`. Fails only if the
    /// engine has no room for more types.
    ///
    /// ```
    /// use nyash_engine::{Engine, ExternType, FuncType, HeapType, Module, RefType, ValType};
    ///
    /// let engine = Engine::default();
    /// let unary = FuncType { params: vec![ValType::I32], results: vec![ValType::I32] };
    /// let id = engine.func_type_id(&unary)?;
    /// let m = Module::new(&engine, r#"(module (type $t (func (param i32) (result i32)))
    ///     (import "host" "apply" (func (param (ref $t)))))"#)?;
    /// let (_, _, ExternType::Func(f)) = m.imports().next().unwrap() else { unreachable!() };
    /// let want = ValType::Ref(RefType::non_null(HeapType::Engine(id)));
    /// assert_eq!(f.params, [want]);
    /// assert_eq!(engine.func_type(id), Some(unary));
    /// # Ok::<(), nyash_engine::Error>(())
    /// ```
    pub fn func_type_id(&self, ty: &FuncType) -> Result<u32> {
        self.type_id(ty)
    }

    /// The function type of engine type id `id`, its defined types named
    /// by engine id; `None` if the engine has no such function type.
    pub fn func_type(&self, id: u32) -> Option<FuncType> {
        self.types()
            .get(id)
            .and_then(|t| t.as_func())
            .map(FuncType::from_aot)
    }

    /// The type registry, locked.
    pub(crate) fn types(&self) -> std::sync::MutexGuard<'_, TypeRegistry> {
        self.inner.types.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine-wide id of a host function's type: equal types, equal ids.
    pub(crate) fn type_id(&self, ty: &FuncType) -> Result<u32> {
        self.types().register_func(&ty.to_aot()).map_err(Error::msg)
    }

    /// The function type of engine type `id`, references as engine ids
    /// ([`HeapType::Engine`](crate::HeapType::Engine)).
    pub(crate) fn type_of(&self, id: u32) -> FuncType {
        self.func_type(id).unwrap_or_default()
    }

    /// Remembers a module's host-call trampoline for a type, for host
    /// functions created later.
    pub(crate) fn offer_host_trampoline(&self, type_id: u32, addr: usize, code: &Arc<CodeMemory>) {
        self.types()
            .host_trampolines
            .entry(type_id)
            .or_insert_with(|| (addr, code.clone()));
    }

    /// A host-call trampoline for `ty`, compiling one if no loaded module has it.
    pub(crate) fn host_trampoline(&self, type_id: u32) -> Result<usize> {
        {
            if let Some((addr, _)) = self.types().host_trampolines.get(&type_id) {
                return Ok(*addr);
            }
        }
        // A trampoline needs each value's representation only: every
        // concrete type becomes the top of its hierarchy.
        let ty = {
            let types = self.types();
            let mut ty = types
                .get(type_id)
                .and_then(|t| t.as_func())
                .cloned()
                .unwrap_or_default();
            for t in ty.params.iter_mut().chain(ty.results.iter_mut()) {
                if let nyash_aot::WasmType::Ref(r) = t {
                    r.heap = types.top(r.heap);
                }
            }
            ty
        };
        let artifact = self.inner.compiler.compile_trampolines_for(&ty)?;
        let code = Arc::new(
            CodeMemory::new(&artifact.code, artifact.tables).map_err(|e| Error::io(None, e))?,
        );
        let offset = artifact.host_trampolines[0].ok_or_else(|| {
            Error::from(nyash_aot::bug_error!(
                "no host-call trampoline was compiled for a host function type"
            ))
        })?;
        let addr = code.at(offset) as usize;
        self.offer_host_trampoline(type_id, addr, &code);
        Ok(addr)
    }
}

//! The runtime side of lazy compilation (`nyash_aot::lazy` has the image
//! and its stubs): the resolver a stub jumps to the first time its function
//! is called, which compiles the function with the baseline tier, places
//! its code in the module's reservation, registers it with the trap handler
//! and stores its address in the function's slot; the threads that compile
//! callees ahead of the calls; and tier-up, which moves every slot to the
//! optimized image once there is one.
//!
//! Each function has a state (`COLD`, `QUEUED`, `COMPILING`, `PLACED`):
//! the thread that moves it to `COMPILING` compiles it, and others that
//! need it wait until it is placed (or, if the compile failed, compile it
//! themselves and report the error). A slot changes at most twice: from
//! the stub's resolve path to baseline code, and to optimized code; calls
//! that read it without a lock see one of them, and each is the function.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use nyash_aot::CompiledFunction;
use nyash_aot::artifact::ArtifactMeta;
use nyash_aot::lazy::{LazyBodies, LazyLayout, LazyWorker, STUB_RESOLVE_OFFSET};

use super::code::CodeMemory;
use super::mmap::page_size;
use crate::error::Error;
use crate::module::ModuleInner;

/// Most address space one module's lazy code may use: the whole
/// reservation must stay within the ±2 GiB reach of a `call rel32`.
const MAX_RESERVE: usize = 1 << 30;

/// A function's state in a lazy module (`LazyCode::states`).
const COLD: u8 = 0;
/// Queued for compiling ahead.
const QUEUED: u8 = 1;
/// Some thread is compiling it.
const COMPILING: u8 = 2;
/// Placed: its slot holds its code.
const PLACED: u8 = 3;

/// How far ahead of the calls the background compile goes: the callees of
/// a function a call compiled are depth 1, theirs depth 2.
const AHEAD_DEPTH: u8 = 2;

/// A lazily compiled module's state (held by its `ModuleInner`).
pub(crate) struct LazyCode {
    layout: LazyLayout,
    bodies: LazyBodies,
    /// The module's bytes, which the bodies are ranges of.
    wasm: Box<[u8]>,
    /// The module, for the threads that compile ahead (which must not keep
    /// it alive).
    this: std::sync::OnceLock<Weak<ModuleInner>>,
    /// Per defined function: `COLD`, `QUEUED`, `COMPILING` or `PLACED`.
    states: Box<[AtomicU8]>,
    /// Signalled (with its mutex taken) when a function leaves `COMPILING`.
    settled: (Mutex<()>, Condvar),
    /// Functions to compile ahead, and how many threads do.
    ahead: Mutex<Ahead>,
    ahead_ready: Condvar,
    /// `Config::lazy_compile_ahead`.
    ahead_threads: usize,
    /// Where the next function's code goes (an offset in the image),
    /// taken while placing.
    next: Mutex<usize>,
    /// Compile workers not in use (their allocations are reused).
    workers: Mutex<Vec<LazyWorker>>,
    /// Functions compiled so far.
    compiled: AtomicUsize,
    /// Set once the module's optimized code is placed and every slot
    /// points into it (tier-up); set and read with `next` taken.
    tiered: std::sync::OnceLock<Tiered>,
}

/// The optimized image a lazy module moved to (see [`tier_up`]).
struct Tiered {
    start: usize,
    len: usize,
    /// Its code inlined from other functions, for backtraces.
    inlined: nyash_aot::InlineTable,
}

/// The queue of the compile-ahead threads: (defined index, depth), the
/// most urgent last.
#[derive(Default)]
struct Ahead {
    queue: Vec<(u32, u8)>,
    threads: usize,
}

thread_local! {
    /// The error of the last function this thread failed to compile, for
    /// the trap that follows (`func::trap_to_error`).
    static COMPILE_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// The error that made this thread's last lazy compile fail, if it has not
/// been taken yet.
pub(crate) fn take_compile_error() -> Option<Error> {
    COMPILE_ERROR.with(|e| e.borrow_mut().take())
}

/// `NYASH_LAZY_TRACE=1`: each lazy compile prints a line on stderr
/// (`lazy FUNC CODE_BYTES MICROSECONDS DEPTH`, depth 0 for a call's, more
/// for compiling ahead), and preparing a module a `lazy-prepare:` line. A measuring aid
/// (`benches/bigmods/measure.sh` counts the lines).
pub(crate) fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NYASH_LAZY_TRACE").is_some())
}

/// Bytes to reserve for a lazy image: room for every function's baseline
/// code (several times the wasm, plus a page each for alignment), capped.
pub(crate) fn reserve_for(layout: &LazyLayout, bodies: &LazyBodies, functions: usize) -> usize {
    let want = (layout.area as usize)
        .saturating_add(bodies.code_bytes.saturating_mul(16))
        .saturating_add(functions.saturating_mul(page_size()))
        .saturating_add(1 << 20);
    want.min(MAX_RESERVE)
        .max(layout.area as usize + page_size())
}

impl LazyCode {
    pub(crate) fn new(
        layout: LazyLayout,
        bodies: LazyBodies,
        wasm: &[u8],
        ahead_threads: usize,
    ) -> LazyCode {
        LazyCode {
            ahead_threads,
            next: Mutex::new(layout.area as usize),
            layout,
            states: (0..bodies.len()).map(|_| AtomicU8::new(COLD)).collect(),
            bodies,
            wasm: wasm.into(),
            this: std::sync::OnceLock::new(),
            settled: (Mutex::new(()), Condvar::new()),
            ahead: Mutex::new(Ahead::default()),
            ahead_ready: Condvar::new(),
            workers: Mutex::new(Vec::new()),
            compiled: AtomicUsize::new(0),
            tiered: std::sync::OnceLock::new(),
        }
    }

    /// Whether the module runs its optimized code now (see [`tier_up`]).
    pub(crate) fn is_tiered(&self) -> bool {
        self.tiered.get().is_some()
    }

    /// The function inlined at `pc`, if `pc` is in the optimized image and
    /// its code there came from an inlined function.
    pub(crate) fn inlined_at(&self, pc: usize) -> Option<u32> {
        let t = self.tiered.get()?;
        let offset = pc.checked_sub(t.start).filter(|o| *o < t.len)?;
        t.inlined.lookup(offset as u32)
    }

    /// The module's bytes.
    pub(crate) fn wasm(&self) -> &[u8] {
        &self.wasm
    }

    /// Functions compiled so far.
    pub(crate) fn compiled(&self) -> usize {
        self.compiled.load(Ordering::SeqCst)
    }

    /// Slot of defined function `defined`.
    fn slot<'a>(&self, code: &'a CodeMemory, defined: u32) -> &'a AtomicUsize {
        // SAFETY: the slot is inside the image's data area, which is mapped
        // read-write, 8-byte aligned, and lives as long as `code`.
        unsafe { &*(code.at(self.layout.slot(defined)) as *const AtomicUsize) }
    }

    /// Where function `defined`'s slot points until it is compiled.
    fn resolve_path(&self, code: &CodeMemory, defined: u32) -> usize {
        code.at(self.layout.stub(defined) + STUB_RESOLVE_OFFSET) as usize
    }

    /// Fills the image's data area: the module the resolver is given, the
    /// resolver's address and each slot's first value. The resolver is
    /// only reached through a stub, after this.
    pub(crate) fn init(&self, module: &Arc<ModuleInner>) {
        let code = &*module.code;
        let _ = self.this.set(Arc::downgrade(module));
        let word = |offset: u32| {
            // SAFETY: as in `slot`: 8-byte words of the read-write data area.
            unsafe { &*(code.at(offset) as *const AtomicUsize) }
        };
        word(self.layout.state()).store(Arc::as_ptr(module) as usize, Ordering::Relaxed);
        word(self.layout.resolver())
            .store(crate::vm::arch::lazy_resolver_address(), Ordering::Relaxed);
        for d in 0..self.bodies.len() as u32 {
            self.slot(code, d)
                .store(self.resolve_path(code, d), Ordering::Relaxed);
        }
    }

    /// Sets function `defined`'s state and wakes the threads waiting for it
    /// to leave `COMPILING`.
    fn settle(&self, defined: u32, state: u8) {
        let _guard = self.settled.0.lock().unwrap_or_else(|e| e.into_inner());
        self.states[defined as usize].store(state, Ordering::SeqCst);
        self.settled.1.notify_all();
    }

    /// Queues the cold functions among `callees` (function indices) to be
    /// compiled ahead at `depth`, the first callee the most urgent, and
    /// starts a thread to do it if there are fewer than allowed.
    fn queue_ahead(&self, imported: u32, callees: &[u32], depth: u8) {
        let max = self.ahead_threads;
        if depth > AHEAD_DEPTH || max == 0 {
            return;
        }
        let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        for &callee in callees.iter().rev() {
            let Some(d) = callee.checked_sub(imported) else {
                continue;
            };
            if let Some(state) = self.states.get(d as usize)
                && state
                    .compare_exchange(COLD, QUEUED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                ahead.queue.push((d, depth));
            }
        }
        if ahead.queue.is_empty() {
            return;
        }
        self.ahead_ready.notify_one();
        if ahead.threads < max
            && let Some(weak) = self.this.get().cloned()
        {
            let spawned = std::thread::Builder::new()
                .name("nyash-lazy-compile".into())
                .spawn(move || compile_ahead(weak));
            if spawned.is_ok() {
                ahead.threads += 1;
            }
        }
    }
}

/// A compile-ahead thread: compiles queued functions until the queue has
/// been empty for a while or the module is gone.
fn compile_ahead(module: Weak<ModuleInner>) {
    loop {
        let Some(m) = module.upgrade() else { return };
        let Some(lazy) = m.lazy.as_ref() else { return };
        let job = {
            let mut ahead = lazy.ahead.lock().unwrap_or_else(|e| e.into_inner());
            if ahead.queue.is_empty() {
                // Wait a little (without keeping the module alive long).
                let (a, _) = lazy
                    .ahead_ready
                    .wait_timeout(ahead, std::time::Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner());
                ahead = a;
            }
            match ahead.queue.pop() {
                Some(job) => job,
                None => {
                    ahead.threads -= 1;
                    return;
                }
            }
        };
        let (defined, depth) = job;
        if lazy.states[defined as usize]
            .compare_exchange(QUEUED, COMPILING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            continue;
        }
        // A failure is left for the call to meet again, and to report.
        let _ = compile_owned(&m, lazy, defined, depth);
    }
}

/// Compiles (if no other thread has) and places defined function
/// `defined` of `module`; its code's address.
fn resolve(module: &ModuleInner, defined: u32) -> Result<usize, Error> {
    let Some(lazy) = module.lazy.as_ref() else {
        return Err(Error::msg("lazy stub of a module not compiled lazily"));
    };
    let state = lazy
        .states
        .get(defined as usize)
        .ok_or_else(|| Error::msg("lazy stub of no function"))?;
    loop {
        match state.load(Ordering::SeqCst) {
            PLACED => return Ok(lazy.slot(&module.code, defined).load(Ordering::Acquire)),
            COMPILING => {
                // Another thread (a call, or compiling ahead) has it.
                let guard = lazy.settled.0.lock().unwrap_or_else(|e| e.into_inner());
                let _guard = lazy
                    .settled
                    .1
                    .wait_while(guard, |_| state.load(Ordering::SeqCst) == COMPILING)
                    .unwrap_or_else(|e| e.into_inner());
            }
            s => {
                if state
                    .compare_exchange(s, COMPILING, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    break;
                }
            }
        }
    }
    compile_owned(module, lazy, defined, 0)
}

/// [`compile_and_place`] of a function this thread set `COMPILING`, on the
/// thread's compile stack. Any failure (an error, or a panic of the
/// compiler) sets the function `COLD` again, so a waiting thread or the
/// next call compiles it and meets the error itself.
fn compile_owned(
    module: &ModuleInner,
    lazy: &LazyCode,
    defined: u32,
    depth: u8,
) -> Result<usize, Error> {
    nyash_asyncify::on_compile_stack(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compile_and_place(module, lazy, defined, depth)
        }))
    })
    .unwrap_or_else(|_| {
        Err(Error::msg(format!(
            "function {}: the compiler panicked",
            module.env.num_imported_funcs + defined
        )))
    })
    .inspect_err(|_| lazy.settle(defined, COLD))
}

/// Compiles and places defined function `defined`, which this thread set
/// `COMPILING`; queues its callees to compile ahead (at `depth + 1`).
fn compile_and_place(
    module: &ModuleInner,
    lazy: &LazyCode,
    defined: u32,
    depth: u8,
) -> Result<usize, Error> {
    let code = &*module.code;
    let slot = lazy.slot(code, defined);
    let compiler = module
        .engine
        .inner
        .baseline
        .as_ref()
        .ok_or_else(|| Error::msg("lazy module in an engine without a baseline compiler"))?;
    let func_index = module.env.num_imported_funcs + defined;
    if lazy.is_tiered() {
        // Every slot points at optimized code already.
        lazy.settle(defined, PLACED);
        return Ok(slot.load(Ordering::Acquire));
    }
    // Its callees are worth compiling while this one compiles and runs.
    lazy.queue_ahead(
        module.env.num_imported_funcs,
        lazy.bodies.callees(defined),
        depth + 1,
    );
    #[cfg(all(test, target_arch = "x86_64"))]
    if tests::FAIL.with(|f| f.get()) == Some(func_index) {
        tests::FAIL.with(|f| f.set(None));
        return Err(Error::msg(format!(
            "function {func_index}: failure forced by a test"
        )));
    }
    let mut worker = lazy
        .workers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_else(|| compiler.lazy_worker());
    let t0 = std::time::Instant::now();
    let compiled = compiler.compile_lazy(
        &module.env,
        &module.offsets,
        &lazy.bodies,
        &lazy.wasm,
        func_index,
        &mut worker,
    );
    lazy.workers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(worker);
    let mut f = compiled?;
    if tracing() {
        eprintln!(
            "lazy {func_index} {} {} {depth}",
            f.code.len(),
            t0.elapsed().as_micros()
        );
    }

    let len = f.code.len();
    let function = CompiledFunction {
        func_index,
        offset: 0,
        len: len as u32,
    };
    let at = {
        let mut next = lazy.next.lock().unwrap_or_else(|e| e.into_inner());
        if lazy.is_tiered() {
            drop(next);
            lazy.settle(defined, PLACED);
            return Ok(slot.load(Ordering::Acquire));
        }
        let Some(offset) = take_pages(&mut next, code, len) else {
            return Err(Error::msg(format!(
                "function {func_index}: the module's lazy code area ({} MiB) is full",
                code.reserved() >> 20
            )));
        };
        let at = code.at(0) as usize + offset;
        let imported = module.env.num_imported_funcs;
        // Every call goes through the callee's stub, so rewriting the
        // slots (tier-up) redirects calls from baseline code too.
        f.relocate(at, |callee| {
            let d = callee.checked_sub(imported)?;
            lazy.states.get(d as usize)?;
            Some(code.at(lazy.layout.stub(d)) as usize)
        })
        .map_err(|m| Error::msg(format!("function {func_index}: {m}")))?;
        code.place(offset, &f.code, f.tables)
            .map_err(|e| Error::io(None, e))?;
        // Counted before the code is published: whoever runs it sees it
        // counted.
        lazy.compiled.fetch_add(1, Ordering::SeqCst);
        slot.store(at, Ordering::Release);
        at
    };
    lazy.settle(defined, PLACED);
    if crate::vm::perf_map::perf_map_enabled() {
        crate::vm::perf_map::write_perf_map(&module.env, at, &[function]);
    }
    Ok(at)
}

/// Takes the pages for `len` bytes of code at `next` (the placement
/// pointer, held locked) in `memory`'s reservation: their offset, or `None`
/// if they do not fit. Pages are taken even if placing then fails, so no
/// page is written twice.
fn take_pages(next: &mut usize, memory: &CodeMemory, len: usize) -> Option<usize> {
    let offset = *next;
    let end = offset.checked_add(len.max(1).next_multiple_of(page_size()))?;
    (end <= memory.reserved()).then(|| {
        *next = end;
        offset
    })
}

/// Moves a lazy module to its optimized code (tier-up): places the image
/// of `meta` and `code` (the optimizing compile of the same module, from an
/// artifact) in the module's reservation and points every slot at its
/// function there. Calls made from then on, from the host, tables or
/// baseline code (whose calls all go through the stubs), run optimized
/// code; calls in progress finish in the code they are in. Nothing happens
/// if the module moved already; an error if the image does not fit or is
/// of another layout.
pub(crate) fn tier_up(module: &ModuleInner, meta: ArtifactMeta, code: &[u8]) -> Result<(), Error> {
    let Some(lazy) = module.lazy.as_ref() else {
        return Err(Error::msg("tier-up of a module not compiled lazily"));
    };
    if meta.offsets != module.offsets || meta.defined_func_offsets.len() != lazy.bodies.len() {
        return Err(Error::msg(
            "tier-up: the optimized code is of another layout",
        ));
    }
    let memory = &*module.code;
    let mut next = lazy.next.lock().unwrap_or_else(|e| e.into_inner());
    if lazy.is_tiered() {
        return Ok(());
    }
    let Some(offset) = take_pages(&mut next, memory, code.len()) else {
        return Err(Error::msg(format!(
            "tier-up: the optimized code ({} MiB) does not fit in the module's reservation",
            code.len() >> 20
        )));
    };
    let start = memory.at(0) as usize + offset;
    if crate::vm::perf_map::perf_map_enabled() {
        crate::vm::perf_map::write_perf_map(&module.env, start, &meta.tables.functions);
    }
    memory
        .place(offset, code, meta.tables)
        .map_err(|e| Error::io(None, e))?;
    let _ = lazy.tiered.set(Tiered {
        start,
        len: code.len(),
        inlined: meta.inlined,
    });
    for (d, &f) in meta.defined_func_offsets.iter().enumerate() {
        lazy.slot(memory, d as u32)
            .store(start + f as usize, Ordering::Release);
    }
    drop(next);
    // Threads waiting for a compile find the slot filled.
    let _guard = lazy.settled.0.lock().unwrap_or_else(|e| e.into_inner());
    for state in lazy.states.iter() {
        state.store(PLACED, Ordering::SeqCst);
    }
    lazy.settled.1.notify_all();
    Ok(())
}

/// The resolver's body (called by the assembly resolver,
/// `vm::arch::lazy_resolver_address`, with the argument registers saved):
/// the code address to jump to, that of `fail` if the function cannot be
/// compiled (its error kept for the trap).
pub(crate) extern "C" fn resolve_body(module: *const ModuleInner, defined: u64) -> usize {
    // SAFETY: the stub pushed the state the module's `init` stored: its
    // `ModuleInner`, alive while its code runs.
    let module = unsafe { &*module };
    // Nothing may unwind out of this `extern "C"` body into the resolver.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        resolve(module, defined as u32)
    }));
    let error = match result {
        Ok(Ok(address)) => return address,
        Ok(Err(e)) => e,
        Err(_) => Error::msg(format!(
            "function {}: the resolver panicked",
            module.env.num_imported_funcs as u64 + defined
        )),
    };
    COMPILE_ERROR.with(|slot| *slot.borrow_mut() = Some(error));
    match &module.lazy {
        Some(lazy) => module.code.at(lazy.layout.fail) as usize,
        // Unreachable: only lazy modules have stubs.
        None => std::process::abort(),
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::cell::Cell;

    use crate::{Config, Engine, Instance, Module, Store};

    thread_local! {
        /// Makes this thread's next lazy compile of this function fail.
        pub(super) static FAIL: Cell<Option<u32>> = const { Cell::new(None) };
    }

    /// A function that cannot be compiled makes its call fail with the
    /// compiler's error (through the `fail` trap site), whether the host
    /// or compiled wasm code called it; the store stays usable, and the
    /// next call compiles it.
    #[test]
    fn a_failed_compile_is_the_calls_error_and_is_retried() {
        let mut config = Config::new();
        // No compiling ahead: the forced failure must meet the call.
        config
            .lazy_compilation(true)
            .lazy_compile_ahead(0)
            .cache(false);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(
            &engine,
            r#"(module
                (func $inner (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
                (func (export "run") (param i32) (result i32) (call $inner (local.get 0))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();
        for (fail, compiled_before_retry) in [(1, 0), (0, 1)] {
            FAIL.with(|f| f.set(Some(fail)));
            let err = run.call(&mut store, 1).unwrap_err();
            assert!(
                err.to_string().contains("failure forced by a test"),
                "{err}"
            );
            assert!(
                err.to_string().contains(&format!("function {fail}")),
                "{err}"
            );
            assert_eq!(module.lazily_compiled(), Some(compiled_before_retry));
            if fail == 1 {
                // Nothing compiled: the next module compiles afresh.
                continue;
            }
            assert_eq!(run.call(&mut store, 1).unwrap(), 2);
            assert_eq!(module.lazily_compiled(), Some(2));
        }
    }
}

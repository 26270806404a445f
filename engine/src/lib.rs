//! A WebAssembly engine that compiles modules ahead of time to native code
//! with Cranelift.
//!
//! Every function of a module is compiled before it runs (all functions in
//! parallel); the result can be written out as a `.nwasm` artifact or kept in
//! an on-disk cache, so the next start does not compile at all. Synchronous
//! calls run on the caller's own stack; async calls run on stacks the engine
//! owns, which is what lets a host function be `async`: the wasm stack is
//! suspended while its future is pending. Traps come back as
//! [`Error`]s with a [`TrapCode`] and a wasm backtrace; the process never
//! aborts because of what a module does.
//!
//! The sections below are a guide to the API:
//!
//! - [Embedding](#embedding): [`Engine`], [`Module`], [`Store`], [`Linker`],
//!   [`Instance`], host functions and typed calls.
//! - [Memory, values and errors](#memory-values-and-errors): guest memory in
//!   host functions, dynamically typed calls, traps.
//! - [Async](#async): async host functions and calls that suspend.
//! - [Fuel and epochs](#fuel-and-epochs): bounding how long wasm runs.
//! - [Artifacts and the cache](#artifacts-and-the-cache): compiling once.
//!
//! WASI preview 1 lives in the `nyash-wasi` crate, the Nyash host ABI in
//! `nyash-host`, and the `nyash-engine` command in `nyash-cli`.
//!
//! # Embedding
//!
//! - An [`Engine`] compiles modules and holds what every store of one
//!   [`Config`] shares (compiler settings, the pool of execution stacks, the
//!   epoch counter). Make one per configuration and clone it freely.
//! - A [`Module`] is a compiled module: validated, translated, its code mapped
//!   executable. It can be instantiated any number of times, in any store of
//!   its engine, on any thread.
//! - A [`Store<T>`](Store) owns everything instances create (memories,
//!   tables, globals, functions) together with your own data `T`, which host
//!   functions reach through their [`Caller`]. Handles such as [`Func`] or
//!   [`Memory`] are small `Copy` indices into one store; using one with
//!   another store is a bug in the embedder and panics.
//! - A [`Linker<T>`](Linker) satisfies imports by `module` and `name`: host
//!   functions ([`Linker::func_wrap`] for Rust closures with static types,
//!   [`Linker::func_new`] for dynamically typed ones) and other instances'
//!   exports ([`Linker::instance`], [`Linker::define`]).
//! - An [`Instance`] is a module instantiated in a store; its exports are
//!   looked up by name, functions as [`TypedFunc`] (static types checked once,
//!   no [`Val`] per call) or as [`Func`].
//!
//! ```
//! use nyash_engine::{Caller, Engine, Linker, Module, Store};
//!
//! /// The store's data: what host functions may read and change.
//! struct Host {
//!     logged: Vec<i32>,
//! }
//!
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "log" (func $log (param i32)))
//!          (func (export "sum_to") (param $n i32) (result i32)
//!            (local $sum i32)
//!            (block $done
//!              (loop $next
//!                (br_if $done (i32.eqz (local.get $n)))
//!                (local.set $sum (i32.add (local.get $sum) (local.get $n)))
//!                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//!                (br $next)))
//!            (call $log (local.get $sum))
//!            (local.get $sum)))"#,
//! )?;
//!
//! let mut linker = Linker::new(&engine);
//! // The wasm type `(param i32)` follows from the closure's Rust types.
//! linker.func_wrap("host", "log", |mut caller: Caller<'_, Host>, value: i32| {
//!     caller.data_mut().logged.push(value);
//! })?;
//!
//! let mut store = Store::new(&engine, Host { logged: Vec::new() });
//! let instance = linker.instantiate(&mut store, &module)?;
//! let sum_to = instance.get_typed_func::<i32, i32>(&mut store, "sum_to")?;
//! assert_eq!(sum_to.call(&mut store, 10)?, 55);
//! assert_eq!(sum_to.call(&mut store, 100)?, 5050);
//! assert_eq!(store.data().logged, [55, 5050]);
//!
//! // Asking for the wrong static types fails once, here, not per call.
//! assert!(instance.get_typed_func::<i64, i32>(&mut store, "sum_to").is_err());
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! [`Module::new`] takes the binary format or, with the default `wat`
//! feature, the text format; [`Module::from_file`] reads either from a file.
//! Parameters and results of typed functions are a single [`WasmTy`]
//! (`i32`, `u32`, `i64`, `u64`, `f32`, `f64`, `Option<Func>`,
//! `Option<ExternRef>`), a tuple of them, or `()`.
//!
//! # Memory, values and errors
//!
//! A host function sees the calling instance's exports through
//! [`Caller::get_export`]; [`Memory::data_and_store_mut`] then gives the
//! guest's bytes and the store's data at the same time. A host function
//! fails by returning `Err`: the wasm frames are abandoned and the call that
//! entered wasm returns that same error.
//!
//! ```
//! use nyash_engine::{Caller, Engine, Error, Linker, Module, Store, TrapCode};
//!
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "print" (func $print (param i32 i32)))
//!          (memory (export "memory") 1)
//!          (data (i32.const 16) "hello")
//!          (func (export "hello") (call $print (i32.const 16) (i32.const 5)))
//!          (func (export "bad") (call $print (i32.const 65534) (i32.const 5)))
//!          (func $inner (unreachable))
//!          (func (export "crash") (call $inner)))"#,
//! )?;
//!
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap(
//!     "host",
//!     "print",
//!     |mut caller: Caller<'_, Vec<String>>, ptr: u32, len: u32| -> nyash_engine::Result<()> {
//!         let memory = caller
//!             .get_export("memory")
//!             .and_then(|e| e.into_memory())
//!             .ok_or_else(|| Error::msg("no exported memory"))?;
//!         let (bytes, printed) = memory.data_and_store_mut(&mut caller);
//!         let text = bytes
//!             .get(ptr as usize..ptr as usize + len as usize)
//!             .ok_or_else(|| Error::msg("string out of bounds"))?;
//!         printed.push(String::from_utf8_lossy(text).into_owned());
//!         Ok(())
//!     },
//! )?;
//! let mut store = Store::new(&engine, Vec::new());
//! let instance = linker.instantiate(&mut store, &module)?;
//!
//! // A dynamically typed call: arguments and results as `Val`s.
//! let hello = instance.get_func(&mut store, "hello").expect("exported");
//! hello.call(&mut store, &[], &mut [])?;
//! assert_eq!(store.data(), &["hello"]);
//!
//! // The host function's error comes back as the call's error.
//! let bad = instance.get_typed_func::<(), ()>(&mut store, "bad")?;
//! let err = bad.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.to_string(), "string out of bounds");
//!
//! // A trap: its code, and the wasm frames innermost first.
//! let crash = instance.get_typed_func::<(), ()>(&mut store, "crash")?;
//! let err = crash.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.trap_code(), Some(TrapCode::UnreachableCodeReached));
//! let frames = &err.trap().expect("a trap").backtrace;
//! assert_eq!(frames[0].func_name.as_deref(), Some("inner"));
//!
//! // The host reads and writes memory directly too.
//! let memory = instance.get_memory(&mut store, "memory").expect("exported");
//! memory.write(&mut store, 16, b"HELLO")?;
//! hello.call(&mut store, &[], &mut [])?;
//! assert_eq!(store.data().last().map(String::as_str), Some("HELLO"));
//! assert_eq!(memory.size(&store), 1); // pages of 64 KiB
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! # Async
//!
//! With [`Config::async_support`], a host function can be an `async` block:
//! [`Linker::func_wrap_async`] takes a closure that gets the [`Caller`] and
//! the arguments as a tuple and returns a boxed future of the results. Wasm
//! that reaches such a function must run in an async call —
//! [`TypedFunc::call_async`], [`Func::call_async`],
//! [`Linker::instantiate_async`] or [`Instance::new_async`] (for start
//! functions) — whose future suspends the whole wasm stack while the host
//! future is pending, so the executor thread is free meanwhile. Any executor
//! will do; the engine needs no runtime of its own.
//!
//! Dropping the call's future cancels the call: the pending host future is
//! dropped, the wasm frames are abandoned and the stack goes back to the
//! pool. A synchronous call cannot suspend, so an async host function it
//! reaches fails with an error instead of blocking. Host functions that must
//! block (a read, a sleep) without being `async` use
//! [`host::run_blocking`], [`host::sleep_until`] and [`host::block_on`]
//! (with [`host::sleep`], a deadline on the engine's one timer thread),
//! which suspend an async call and block a synchronous one.
//!
//! ```
//! use nyash_engine::{Caller, Config, Engine, Error, Linker, Module, Store};
//!
//! let mut config = Config::new();
//! config.async_support(true);
//! let engine = Engine::new(&config)?;
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "double" (func $double (param i32) (result i32)))
//!          (func (export "run") (param i32) (result i32)
//!            (i32.add (call $double (local.get 0)) (i32.const 1))))"#,
//! )?;
//!
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap_async("host", "double", |_caller: Caller<'_, ()>, (x,): (i32,)| {
//!     Box::new(async move {
//!         // Any future: here, an answer from another thread.
//!         let (tx, rx) = futures::channel::oneshot::channel();
//!         std::thread::spawn(move || tx.send(x * 2));
//!         rx.await.map_err(Error::host)
//!     })
//! })?;
//!
//! futures::executor::block_on(async {
//!     let mut store = Store::new(&engine, ());
//!     let instance = linker.instantiate_async(&mut store, &module).await?;
//!     let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
//!     assert_eq!(run.call_async(&mut store, 20).await?, 41);
//!
//!     // A synchronous call cannot wait for the host future.
//!     let err = run.call(&mut store, 20).unwrap_err();
//!     assert!(err.to_string().contains("call_async"), "{err}");
//!     Ok::<(), Error>(())
//! })?;
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! # Fuel and epochs
//!
//! Two ways to stop wasm that runs too long, both checked at function entries
//! and loop headers, both off unless the [`Config`] asks for them (they cost
//! a little speed):
//!
//! - **Fuel** ([`Config::consume_fuel`]) is deterministic: wasm consumes
//!   about one unit per operator it executes, and a call that runs out traps
//!   with [`TrapCode::OutOfFuel`]. [`Store::set_fuel`] fills the tank,
//!   [`Store::get_fuel`] reads what is left. In async calls,
//!   [`Store::fuel_async_yield_interval`] makes wasm yield to the executor
//!   every so many units, so a long computation shares its thread.
//! - **Epochs** ([`Config::epoch_interruption`]) are cheap and driven from
//!   outside: [`Engine::increment_epoch`] (typically on a timer thread)
//!   advances the engine's epoch, and a store whose deadline it reaches
//!   ([`Store::set_epoch_deadline`], in ticks from now; no deadline by
//!   default) traps with [`TrapCode::Interrupt`], or, after
//!   [`Store::epoch_deadline_async_yield_and_update`], yields to the executor
//!   in async calls and moves the deadline on.
//!
//! ```
//! use nyash_engine::{Config, Engine, Instance, Module, Store, TrapCode};
//!
//! const SPIN: &str = r#"(module
//!     (func (export "count") (param $n i32)
//!       (loop $next
//!         (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//!         (br_if $next (local.get $n))))
//!     (func (export "forever") (loop $l (br $l))))"#;
//!
//! // Fuel.
//! let mut config = Config::new();
//! config.consume_fuel(true);
//! let engine = Engine::new(&config)?;
//! let module = Module::new(&engine, SPIN)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[])?;
//! let count = instance.get_typed_func::<i32, ()>(&mut store, "count")?;
//!
//! store.set_fuel(10_000)?;
//! count.call(&mut store, 100)?;
//! let left = store.get_fuel()?;
//! assert!(left <= 10_000 - 100, "each iteration costs fuel ({left} left)");
//! // A million iterations do not fit in what is left.
//! let err = count.call(&mut store, 1_000_000).unwrap_err();
//! assert_eq!(err.trap_code(), Some(TrapCode::OutOfFuel));
//! assert_eq!(store.get_fuel()?, 0);
//!
//! // Epochs.
//! let mut config = Config::new();
//! config.epoch_interruption(true);
//! let engine = Engine::new(&config)?;
//! let module = Module::new(&engine, SPIN)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[])?;
//! let forever = instance.get_typed_func::<(), ()>(&mut store, "forever")?;
//!
//! store.set_epoch_deadline(1);
//! let timer = {
//!     let engine = engine.clone();
//!     std::thread::spawn(move || {
//!         std::thread::sleep(std::time::Duration::from_millis(20));
//!         engine.increment_epoch();
//!     })
//! };
//! let err = forever.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.trap_code(), Some(TrapCode::Interrupt));
//! timer.join().unwrap();
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! # Artifacts and the cache
//!
//! [`Module::serialize`] writes a compiled module as a `.nwasm` artifact:
//! native code plus what the engine needs to load it, checked on load
//! (engine version, compiler settings and CPU features, a checksum), so
//! loading is a map and some checks, not a compile. Because an artifact *is*
//! native code, loading one is `unsafe`: [`Module::deserialize`] (from bytes)
//! and [`Module::deserialize_file`] (mapped in place) must only be given
//! artifacts from an engine you trust. [`Module::from_file`] refuses an
//! artifact, so a `.wasm` path from an untrusted source can never smuggle
//! native code in.
//!
//! ```
//! use nyash_engine::{Engine, ErrorKind, Instance, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module (func (export "answer") (result i32) (i32.const 42)))"#,
//! )?;
//! let bytes = module.serialize()?;
//! assert!(Module::is_precompiled(&bytes));
//!
//! // SAFETY: the artifact was just written by this engine.
//! let loaded = unsafe { Module::deserialize(&engine, &bytes)? };
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &loaded, &[])?;
//! let answer = instance.get_typed_func::<(), i32>(&mut store, "answer")?;
//! assert_eq!(answer.call(&mut store, ())?, 42);
//!
//! // Damage is detected (the checks catch accidents; they are no signature).
//! let mut damaged = bytes.clone();
//! let last = damaged.len() - 1;
//! damaged[last] ^= 1;
//! // SAFETY: as above; the check fails before any of it is made executable.
//! let err = unsafe { Module::deserialize(&engine, &damaged) }.unwrap_err();
//! assert!(matches!(err.kind(), ErrorKind::Artifact(_)), "{err}");
//!
//! // A file is mapped, not copied; `from_file` will not load it.
//! let path = std::env::temp_dir().join(format!("nyash-doc-{}.nwasm", std::process::id()));
//! std::fs::write(&path, &bytes)?;
//! assert!(Module::from_file(&engine, &path).is_err());
//! // SAFETY: the file holds the artifact written above, and nothing changes it.
//! let mapped = unsafe { Module::deserialize_file(&engine, &path)? };
//! let instance = Instance::new(&mut store, &mapped, &[])?;
//! let answer = instance.get_typed_func::<(), i32>(&mut store, "answer")?;
//! assert_eq!(answer.call(&mut store, ())?, 42);
//! std::fs::remove_file(&path)?;
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! With [`Config::cache`] on, [`Module::from_file`] does this by itself: it
//! keeps compiled modules in a directory ([`Config::cache_dir`], by default
//! `$NYASH_ENGINE_CACHE_DIR`, `$XDG_CACHE_HOME/nyash-engine` or
//! `~/.cache/nyash-engine`), keyed by the engine version, the compiler
//! settings and the module's bytes, and loads them from there the next time.
//! Entries are written atomically and are owner-only; a damaged one is
//! compiled afresh. [`cache::Cache`] inspects and clears a cache directory.
//!
//! ```
//! use nyash_engine::cache::Cache;
//! use nyash_engine::{Config, Engine, Module};
//!
//! let dir = std::env::temp_dir().join(format!("nyash-doc-cache-{}", std::process::id()));
//! let mut config = Config::new();
//! // (With lazy compilation on, the entry would be written by a background
//! // compile instead: see `Config::lazy_compilation`.)
//! config.cache(true).cache_dir(dir.join("cache")).lazy_compilation(false);
//! let engine = Engine::new(&config)?;
//!
//! std::fs::create_dir_all(&dir)?;
//! let wat = dir.join("answer.wat");
//! std::fs::write(&wat, r#"(module (func (export "answer") (result i32) (i32.const 42)))"#)?;
//!
//! let first = Module::from_file(&engine, &wat)?; // compiled, then stored
//! let cache = Cache::new(engine.config())?;
//! assert_eq!(cache.stats()?.0, 1, "one entry");
//! let again = Module::from_file(&engine, &wat)?; // loaded from the cache
//! assert_eq!(cache.stats()?.0, 1, "still one entry");
//! assert_eq!(again.exports().count(), first.exports().count());
//!
//! assert_eq!(cache.clear()?, 1);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! # Exceptions
//!
//! Exception handling (WebAssembly 3.0: tags, `throw`, `throw_ref`,
//! `try_table`, `exnref`) is on by default ([`Config::wasm_exceptions`]).
//! An exception no wasm frame catches is an error of its own kind,
//! [`ErrorKind::Exception`], with the [`Tag`] and the payload; never a
//! trap, and traps are never caught by wasm. A host function throws into the
//! wasm that called it by returning an [`Exception`]:
//!
//! ```
//! use nyash_engine::{Engine, Exception, Linker, Module, Store, Tag, TagType, Val, ValType};
//!
//! let engine = Engine::default();
//! let mut store = Store::new(&engine, ());
//! let tag = Tag::new(&mut store, &TagType::new([ValType::I32]))?;
//! let mut linker = Linker::new(&engine);
//! linker.define("host", "oops", tag)?;
//! linker.func_wrap("host", "fail", move |mut caller: nyash_engine::Caller<'_, ()>, x: i32| {
//!     Err::<(), _>(Exception::new(&mut caller, tag, &[Val::I32(x)])?.into())
//! })?;
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "oops" (tag $oops (param i32)))
//!          (import "host" "fail" (func $fail (param i32)))
//!          (func (export "caught") (param i32) (result i32)
//!            (block $h (result i32)
//!              (try_table (catch $oops $h) (call $fail (local.get 0)))
//!              (i32.const -1)))
//!          (func (export "uncaught") (param i32)
//!            (throw $oops (local.get 0))))"#,
//! )?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let caught = instance.get_typed_func::<i32, i32>(&mut store, "caught")?;
//! assert_eq!(caught.call(&mut store, 7)?, 7);
//!
//! let uncaught = instance.get_typed_func::<i32, ()>(&mut store, "uncaught")?;
//! let err = uncaught.call(&mut store, 9).unwrap_err();
//! let exception = err.exception().expect("an uncaught exception");
//! assert_eq!(exception.tag(), tag);
//! assert_eq!(exception.payload(), [Val::I32(9)]);
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! # Features
//!
//! - `wat` (default): modules in the text format in [`Module::new`] and
//!   [`Module::from_file`].

#![warn(missing_docs)]

pub mod cache;
pub mod component;
mod engine;
mod error;
mod exceptions;
mod externals;
mod func;
mod gc;
pub mod host;
mod instance;
mod linker;
mod module;
mod store;
mod types;
mod values;
mod vm;

pub use engine::{Config, Engine};
/// Alignment an artifact embedded in another file must start at.
pub const ARTIFACT_ALIGN: usize = nyash_aot::artifact::CODE_ALIGN;
pub use error::{CompileError, ComponentTrap, Error, ErrorKind, FrameInfo, Result, Trap, TrapCode};
pub use exceptions::{Exception, ExnRef, Tag, TagType};
pub use externals::{Extern, Global, Memory, Table};
pub use func::typed::{HostResult, IntoFunc, TypedFunc, WasmList, WasmTy};
pub use func::{Caller, Func};
pub use gc::{
    AnyRef, ArrayRef, ArrayType, EqRef, ExternRef, FieldType, GcRef, I31, Mutability, OwnedAnyRef,
    OwnedRooted, RootScope, StorageType, StructRef, StructType,
};
pub use instance::Instance;
pub use linker::Linker;
pub use module::Module;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use types::{
    ExternType, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType, ValType,
};
pub use values::Val;

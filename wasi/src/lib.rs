//! WASI for `nyash-engine`: preview 1 (`wasi_snapshot_preview1`) for
//! modules, and WASI 0.2 for components ([`p2`]).
//!
//! A [`WasiCtx`] holds a program's arguments, environment, stdio and file
//! descriptors; [`WasiCtx::builder`] makes one, and the same context serves
//! both previews. [`add_to_linker`] defines every preview-1 function in a
//! [`Linker`] for stores whose data gives access to a `WasiCtx`
//! ([`WasiView`]); [`p2::add_to_linker`] defines the WASI 0.2 interfaces
//! in a component [`Linker`](nyash_engine::component::Linker). Nothing is
//! reachable unless given:
//! no environment unless [`WasiCtxBuilder::env`] or
//! [`WasiCtxBuilder::inherit_env`] passes it, no files outside the
//! directories [`WasiCtxBuilder::preopened_dir`] opens (`..`, absolute paths
//! and symlinks are resolved beneath them by the OS, through `cap-std`),
//! standard streams that are [`Stdio::Null`] unless set, and no network
//! (WASI 0.2's sockets and name lookups answer `access-denied`) unless
//! [`WasiCtxBuilder::inherit_network`] or
//! [`WasiCtxBuilder::allow_ip_name_lookup`] allows it.
//!
//! `proc_exit` (and WASI 0.2's `wasi:cli/exit`) ends the call with an error
//! whose [`exit_status`](nyash_engine::Error::exit_status) is the status
//! (and [`WasiCtx::exit_code`] remembers it). In async calls, `poll_oneoff`,
//! reads of an inherited stdin, and WASI 0.2's `poll` and blocking stream
//! functions suspend the call instead of blocking the thread.
//!
//! Layout: `core/` is what every WASI preview shares, in plain Rust values
//! (the context and its descriptor table, standard streams, files, paths
//! resolved beneath a preopen, clocks, randomness); `p1/` is preview 1 over
//! it, one function per import named as the import is (`p1/fd.rs` has
//! `fd_read`, `p1/path.rs` `path_open`, ...), with preview 1's errno,
//! rights and guest-memory layouts; `p2/` is WASI 0.2 over it, one file
//! per package (`io.rs`, `cli.rs`, `clocks.rs`, `random.rs`,
//! `filesystem.rs`), its
//! resources in the context's
//! [`ResourceTable`](nyash_engine::component::ResourceTable).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use nyash_engine::{Engine, Linker, Module, Store};
//! use nyash_wasi::{Stdio, WasiCtx};
//!
//! let engine = Engine::default();
//! // Writes "hello" and a newline to stdout, then exits with its argument count.
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "wasi_snapshot_preview1" "fd_write"
//!            (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!          (import "wasi_snapshot_preview1" "args_sizes_get"
//!            (func $args_sizes_get (param i32 i32) (result i32)))
//!          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
//!          (memory (export "memory") 1)
//!          (data (i32.const 8) "\10\00\00\00\06\00\00\00") ;; one iovec: 6 bytes at 16
//!          (data (i32.const 16) "hello\n")
//!          (func (export "_start")
//!            (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))
//!            (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
//!            (call $proc_exit (i32.load (i32.const 0)))))"#,
//! )?;
//! assert!(nyash_wasi::is_wasi_module(&module));
//!
//! let stdout = Arc::new(Mutex::new(Vec::new()));
//! let ctx = WasiCtx::builder()
//!     .args(["prog.wasm", "one", "two"])
//!     .stdout(Stdio::Buffer(stdout.clone()))
//!     .build()?;
//!
//! let mut linker = Linker::new(&engine);
//! nyash_wasi::add_to_linker(&mut linker)?;
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//!
//! let exit = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(exit.exit_status(), Some(3));
//! assert_eq!(store.data().exit_code(), Some(3));
//! assert_eq!(stdout.lock().unwrap().as_slice(), b"hello\n");
//! # Ok::<(), nyash_engine::Error>(())
//! ```

#![warn(missing_docs)]

mod core;
mod p1;
pub mod p2;

use nyash_engine::{Linker, Result};

pub use crate::core::ctx::{WasiCtx, WasiCtxBuilder};
pub use crate::core::stdio::Stdio;

/// How a store's data gives access to its `WasiCtx`: implemented by
/// `WasiCtx` itself, and by an embedder's own store data that holds one
/// beside other host state.
///
/// ```
/// use nyash_engine::{Engine, Linker};
/// use nyash_wasi::{WasiCtx, WasiView};
///
/// struct Host {
///     wasi: WasiCtx,
///     requests: u64,
/// }
///
/// impl WasiView for Host {
///     fn wasi(&mut self) -> &mut WasiCtx {
///         &mut self.wasi
///     }
/// }
///
/// let engine = Engine::default();
/// let mut linker = Linker::<Host>::new(&engine);
/// nyash_wasi::add_to_linker(&mut linker)?;
/// // Every function is defined once: adding them again is an error.
/// assert!(nyash_wasi::add_to_linker(&mut linker).is_err());
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub trait WasiView: Send + 'static {
    /// The WASI context in the store's data.
    fn wasi(&mut self) -> &mut WasiCtx;
}

impl WasiView for WasiCtx {
    fn wasi(&mut self) -> &mut WasiCtx {
        self
    }
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. Fails if one
/// of them is already defined there (unless the linker allows shadowing).
pub fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    p1::add_to_linker(linker)
}

/// Whether a module imports anything from WASI preview 1
/// (`wasi_snapshot_preview1`, or its older name `wasi_unstable`).
pub fn is_wasi_module(module: &nyash_engine::Module) -> bool {
    module
        .imports()
        .any(|(m, _, _)| m == p1::MODULE || m == "wasi_unstable")
}

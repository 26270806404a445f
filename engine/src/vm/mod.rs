//! The machine room: everything generated code reads, writes or calls, and
//! the store's internals. The public files (the crate's top level and
//! `gc/`) reach a store only through `StoreOpaque`'s typed accessors
//! (`store_opaque.rs`), whose fields are private to this folder.
//!
//! - `vmcontext`: the `#[repr(C)]` mirror of the VMContext contract.
//! - `store_opaque`: `StoreOpaque`, its records and accessors.
//! - `instantiate`, `invoke` (synchronous calls, host callbacks),
//!   `async_driver` (calls on fibers).
//! - `libcalls` (builtins), `const_expr`, `type_registry`, `gc_heap`.
//! - `code` (images), `perf_map`, `lazy` (lazy compilation), `memory`, `table`,
//!   `mmap`, `unwind` (the exception unwinder, frame roots).
//!
//! Per-architecture assembly (x86_64 and aarch64) stays beside the Rust it
//! serves, each behind `#[cfg(target_arch)]`: the `throw`/`throw_ref` stubs
//! and `gc_stub!` in `libcalls.rs` (each jumps to its body by `sym`),
//! lazy compilation's `resolver` in `lazy.rs` (x86_64 only), and the handler jump in
//! `unwind::resume`; the synchronous entry frame is `nyash_asyncify`'s.

pub(crate) mod async_driver;
pub(crate) mod code;
pub(crate) mod const_expr;
pub(crate) mod gc_heap;
pub(crate) mod instantiate;
pub(crate) mod invoke;
pub(crate) mod lazy;
pub(crate) mod libcalls;
pub(crate) mod memory;
pub(crate) mod mmap;
pub(crate) mod perf_map;
pub(crate) mod store_opaque;
pub(crate) mod table;
pub(crate) mod type_registry;
pub(crate) mod unwind;
pub(crate) mod vmcontext;

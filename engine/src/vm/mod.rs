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
//! - `arch`: the per-architecture assembly, one file per architecture
//!   (`x86_64.rs`, `aarch64.rs`) with the same items and each stub's
//!   contract written once in `arch/mod.rs`: the `throw`/`throw_ref`
//!   stubs and `gc_stub!` (builtins' table entries, bodies in
//!   `libcalls.rs`), lazy compilation's resolver (x86_64 only; body in
//!   `lazy.rs`) and the handler jump under `unwind::resume`. The
//!   synchronous entry frame and the fibers are `nyash_asyncify`'s.

pub(crate) mod arch;
pub(crate) mod async_driver;
pub(crate) mod code;
pub(crate) mod const_expr;
pub(crate) mod gc_heap;
pub(crate) mod instantiate;
pub(crate) mod invoke;
pub(crate) mod lazy;
pub(crate) mod libcalls;
pub(crate) mod memory;
pub(crate) mod memory_image;
pub(crate) mod mmap;
pub(crate) mod perf_map;
pub(crate) mod store_opaque;
pub(crate) mod table;
pub(crate) mod type_registry;
pub(crate) mod unwind;
pub(crate) mod vmcontext;

//! The runtime underneath the public API: memories, tables, code images and
//! the VMContext structures generated code reads.

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

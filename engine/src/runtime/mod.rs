//! The runtime underneath the public API: memories, tables, code images and
//! the VMContext structures generated code reads.

pub(crate) mod code;
pub(crate) mod lazy;
pub(crate) mod memory;
pub(crate) mod mmap;
pub(crate) mod table;
pub(crate) mod unwind;
pub(crate) mod vm;

//! The VMContext contract: the layout of the per-instance block that generated
//! code and the runtime share. Computed here, once, from a module's counts;
//! code generation emits loads at these offsets and the engine lays the block
//! out with the same numbers. Nothing else may assume a layout.
//!
//! ```text
//! VMContext (8-byte aligned, pointer size 8)
//!   +0   magic: u32, pad: u32
//!   +8   store_context: *mut VMStoreContext      (shared by all instances of a store)
//!   +16  builtins: *const [fn; Builtin::COUNT]   (see `crate::builtin`)
//!   +24  type_ids: *const u32                    (module type index -> engine type id)
//!   +32  instance: *mut ()                       (runtime back-pointer; never read by code)
//!   +40  type_displays: *const u32               (the engine's supertype displays, see `type_display`)
//!   +48  gc_heap: *mut VMGcHeapData              (the store's GC heap, `nyash_gc::vm`; null
//!                                                 for a module that cannot see GC objects)
//!   imported functions  [VMFunctionImport; n]    { wasm_call, vmctx, func_ref }
//!   memories            [*mut VMMemoryDefinition; n]   (imported and defined alike)
//!   tables              [*mut VMTableDefinition; n]    (imported and defined alike)
//!   imported globals    [*mut VMGlobalDefinition; n]
//!   defined globals     [VMGlobalDefinition; n]  (16 bytes each, 16-aligned)
//!   func refs           [VMFuncRef; n]           (defined functions usable as values)
//! ```

use crate::module::ModuleEnv;

pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"nyvm");

/// Size of one `ValRaw` slot in the host <-> wasm argument arrays.
pub const VAL_RAW_SIZE: u32 = 16;

/// Size of a WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Address space the runtime reserves for each 32-bit memory: any u32 index
/// plus u32 offset plus the widest access lands inside it, so the translator
/// emits no bounds checks for such memories (see `translate::env`).
pub const MEMORY32_RESERVATION: u64 = (8 << 30) + (64 << 10);

/// The largest linear memory the engine makes, in bytes (`Config::max_memory_pages`
/// is clamped to it). Generated code relies on it: a 64-bit memory of
/// 64 KiB pages gets the same reservation as a 32-bit one, so an index
/// that fits in 32 bits needs no further check (see `translate::env`).
pub const MAX_MEMORY_BYTES: u64 = 1 << 32;

/// `VMFuncRef`: what a `funcref` value points to.
pub mod func_ref {
    /// Native code, `tail` calling convention, wasm signature.
    pub const WASM_CALL: u32 = 0;
    /// The callee VMContext (or host function context) to pass as first argument.
    pub const VMCTX: u32 = 8;
    /// Engine-wide type id (u32) of the function's type.
    pub const TYPE_ID: u32 = 16;
    pub const SIZE: u32 = 24;
}

/// The engine's table of supertype displays, one fixed-size record per
/// engine type id at `type_displays + id * SIZE`: entry `d` is the type's
/// supertype at depth `d` (entry 0 the root of its chain, the entry at its
/// own depth the type itself), `u32::MAX` past its depth. So `a <: b` is
/// `record(a)[depth(b)] == b`, with `depth(b)` known when compiling.
/// Records never move or change once written (ids are append-only).
pub mod type_display {
    /// Entries per record: wasmparser's `MAX_WASM_SUBTYPING_DEPTH` (63) + 1.
    pub const ENTRIES: u32 = 64;
    /// Bytes per record.
    pub const SIZE: u32 = ENTRIES * 4;
    /// log2 of [`SIZE`].
    pub const SIZE_LOG2: u32 = 8;
    /// An entry past the type's depth.
    pub const NONE: u32 = u32::MAX;
}

/// `VMFunctionImport`: an imported function as seen by the importer.
pub mod func_import {
    pub const WASM_CALL: u32 = 0;
    pub const VMCTX: u32 = 8;
    /// `*const VMFuncRef` of the imported function (for `ref.func`, tables).
    pub const FUNC_REF: u32 = 16;
    pub const SIZE: u32 = 24;
}

/// `VMMemoryDefinition`.
pub mod memory_def {
    /// `*mut u8`. Never changes for a memory's lifetime (the whole 32-bit
    /// range is reserved up front), so loads of it may be hoisted.
    pub const BASE: u32 = 0;
    /// `usize`, bytes currently accessible. Changes on `memory.grow`.
    pub const CURRENT_LENGTH: u32 = 8;
    pub const SIZE: u32 = 16;
}

/// `VMTableDefinition`. Elements are pointer-sized: a funcref is a
/// `*const VMFuncRef` (null = `ref.null func`), an externref a non-zero
/// store-local handle (0 = `ref.null extern`).
pub mod table_def {
    /// `*mut usize`. Changes when the table grows.
    pub const BASE: u32 = 0;
    /// `u64`, current number of elements.
    pub const CURRENT_ELEMENTS: u32 = 8;
    pub const SIZE: u32 = 16;
}

/// `VMGlobalDefinition`: 16 bytes of storage; the value sits at offset 0 in
/// the host's byte order.
pub mod global_def {
    pub const SIZE: u32 = 16;
}

/// `VMStoreContext`: per-store state that generated code reads and writes.
pub mod store_context {
    /// `usize`: lowest stack address wasm code may use; checked in each prologue.
    pub const STACK_LIMIT: u32 = 0;
    /// `i64`: fuel consumed so far, counting up towards zero (negative = fuel left).
    pub const FUEL_CONSUMED: u32 = 8;
    /// `u64`: epoch at which the running call is interrupted.
    pub const EPOCH_DEADLINE: u32 = 16;
    /// `*const u64`: the engine's current epoch counter.
    pub const EPOCH_PTR: u32 = 24;
    /// `*mut ()`: the runtime's store; never read by generated code.
    pub const STORE: u32 = 32;
    /// `usize`: the return address into the innermost wasm frame at the
    /// last exit from wasm to the runtime (a host-call trampoline or a
    /// builtin that can collect garbage writes it): where the GC's stack
    /// walk starts.
    pub const LAST_EXIT_PC: u32 = 40;
    /// `usize`: the frame pointer of that wasm frame.
    pub const LAST_EXIT_FP: u32 = 48;
    pub const SIZE: u32 = 56;
}

pub use crate::builtin::Builtin;

/// Trap codes as Cranelift sees them. The first five are Cranelift's own
/// reserved codes; the rest are user codes. The engine maps both to its
/// public `TrapCode`.
pub mod trap_codes {
    use cranelift_codegen::ir::TrapCode;

    pub const STACK_OVERFLOW: TrapCode = TrapCode::STACK_OVERFLOW;
    pub const INTEGER_OVERFLOW: TrapCode = TrapCode::INTEGER_OVERFLOW;
    pub const HEAP_OUT_OF_BOUNDS: TrapCode = TrapCode::HEAP_OUT_OF_BOUNDS;
    pub const INTEGER_DIVISION_BY_ZERO: TrapCode = TrapCode::INTEGER_DIVISION_BY_ZERO;
    pub const BAD_CONVERSION_TO_INTEGER: TrapCode = TrapCode::BAD_CONVERSION_TO_INTEGER;
    pub const TABLE_OUT_OF_BOUNDS: TrapCode = TrapCode::unwrap_user(1);
    pub const INDIRECT_CALL_TO_NULL: TrapCode = TrapCode::unwrap_user(2);
    pub const BAD_SIGNATURE: TrapCode = TrapCode::unwrap_user(3);
    pub const UNREACHABLE: TrapCode = TrapCode::unwrap_user(4);
    /// A host function returned an error; the runtime holds the error itself.
    pub const HOST_ERROR: TrapCode = TrapCode::unwrap_user(5);
    pub const NULL_REFERENCE: TrapCode = TrapCode::unwrap_user(6);
    pub const INTERRUPT: TrapCode = TrapCode::unwrap_user(7);
    pub const OUT_OF_FUEL: TrapCode = TrapCode::unwrap_user(8);
    /// A wasm exception no wasm frame of this activation catches; the
    /// runtime holds the exception (not a trap: the call API reports it
    /// as an uncaught exception).
    pub const UNCAUGHT_EXCEPTION: TrapCode = TrapCode::unwrap_user(9);
    /// `ref.cast` of a reference not of the target type.
    pub const CAST_FAILURE: TrapCode = TrapCode::unwrap_user(10);
    /// An array index (or range) past the end of a GC array.
    pub const ARRAY_OUT_OF_BOUNDS: TrapCode = TrapCode::unwrap_user(11);
    /// The GC heap could not make room for an allocation (its limit, or
    /// an array too large for any heap).
    pub const ALLOCATION_FAILURE: TrapCode = TrapCode::unwrap_user(12);
}

/// Offsets of one module's VMContext.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VMOffsets {
    pub num_imported_funcs: u32,
    pub num_memories: u32,
    pub num_tables: u32,
    pub num_imported_globals: u32,
    pub num_defined_globals: u32,
    pub num_func_refs: u32,

    imported_funcs: u32,
    memories: u32,
    tables: u32,
    imported_globals: u32,
    defined_globals: u32,
    func_refs: u32,
    size: u32,
}

impl VMOffsets {
    pub const MAGIC: u32 = 0;
    pub const STORE_CONTEXT: u32 = 8;
    pub const BUILTINS: u32 = 16;
    pub const TYPE_IDS: u32 = 24;
    pub const INSTANCE: u32 = 32;
    pub const TYPE_DISPLAYS: u32 = 40;
    /// `*mut nyash_gc::vm::VMGcHeapData` of the store's GC heap; set before
    /// any code of the instance runs and never changed after, so its loads
    /// (and those of the heap's base and card table) may leave loops.
    pub const GC_HEAP: u32 = 48;
    /// Size of the header (the fields above), `VMContextHeader` in the runtime.
    pub const HEADER_SIZE: u32 = 56;

    pub fn new(env: &ModuleEnv) -> Self {
        Self::from_counts(
            env.num_imported_funcs,
            env.memories.len() as u32,
            env.tables.len() as u32,
            env.num_imported_globals,
            env.globals.len() as u32 - env.num_imported_globals,
            env.num_func_ref_slots,
        )
    }

    pub fn from_counts(
        num_imported_funcs: u32,
        num_memories: u32,
        num_tables: u32,
        num_imported_globals: u32,
        num_defined_globals: u32,
        num_func_refs: u32,
    ) -> Self {
        let imported_funcs = Self::HEADER_SIZE;
        let memories = imported_funcs + num_imported_funcs * func_import::SIZE;
        let tables = memories + num_memories * 8;
        let imported_globals = tables + num_tables * 8;
        let defined_globals = align(imported_globals + num_imported_globals * 8, 16);
        let func_refs = defined_globals + num_defined_globals * global_def::SIZE;
        let size = func_refs + num_func_refs * func_ref::SIZE;
        VMOffsets {
            num_imported_funcs,
            num_memories,
            num_tables,
            num_imported_globals,
            num_defined_globals,
            num_func_refs,
            imported_funcs,
            memories,
            tables,
            imported_globals,
            defined_globals,
            func_refs,
            size,
        }
    }

    /// Total size of the VMContext in bytes. The block must be 16-byte aligned.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Start of the `VMFunctionImport` for imported function `index`.
    pub fn imported_func(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_funcs);
        self.imported_funcs + index * func_import::SIZE
    }

    /// The `*mut VMMemoryDefinition` slot for memory `index`.
    pub fn memory_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        self.memories + index * 8
    }

    /// The `*mut VMTableDefinition` slot for table `index`.
    pub fn table_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_tables);
        self.tables + index * 8
    }

    /// The `*mut VMGlobalDefinition` slot for imported global `index`.
    pub fn imported_global_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_globals);
        self.imported_globals + index * 8
    }

    /// The inline `VMGlobalDefinition` of defined global `defined_index`
    /// (global index minus the number of imported globals).
    pub fn defined_global(&self, defined_index: u32) -> u32 {
        assert!(defined_index < self.num_defined_globals);
        self.defined_globals + defined_index * global_def::SIZE
    }

    /// The inline `VMFuncRef` in func-ref slot `slot`.
    pub fn func_ref(&self, slot: u32) -> u32 {
        assert!(slot < self.num_func_refs);
        self.func_refs + slot * func_ref::SIZE
    }
}

fn align(x: u32, to: u32) -> u32 {
    x.div_ceil(to) * to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_do_not_overlap_and_globals_are_aligned() {
        let o = VMOffsets::from_counts(3, 2, 2, 1, 5, 4);
        assert_eq!(o.imported_func(0), VMOffsets::HEADER_SIZE);
        assert_eq!(o.memory_ptr(0), o.imported_func(2) + func_import::SIZE);
        assert_eq!(o.table_ptr(0), o.memory_ptr(1) + 8);
        assert_eq!(o.imported_global_ptr(0), o.table_ptr(1) + 8);
        assert_eq!(o.defined_global(0) % 16, 0);
        assert!(o.defined_global(0) >= o.imported_global_ptr(0) + 8);
        assert_eq!(o.func_ref(0), o.defined_global(4) + global_def::SIZE);
        assert_eq!(o.size(), o.func_ref(3) + func_ref::SIZE);
    }

    #[test]
    fn empty_module_is_just_the_header() {
        let o = VMOffsets::from_counts(0, 0, 0, 0, 0, 0);
        assert_eq!(o.size(), 64); // header, aligned for the (empty) globals
    }
}

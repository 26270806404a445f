//! The runtime's side of the VMContext contract: `#[repr(C)]` structures whose
//! layouts must equal the offsets `nyash_aot::vmoffsets` gives generated code.
//! The tests at the bottom check that they do.

/// 16 bytes holding one value of any wasm type, as passed between host and
/// wasm through the trampolines. (Reachable from outside the crate only as
/// the flat core value of the typed component traits, whose methods are
/// hidden plumbing: `nyash_engine::component::__internal::ValRaw`.)
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub union ValRaw {
    /// An `i32`, in the low 4 bytes.
    pub i32: i32,
    /// An `i64`, in the low 8 bytes.
    pub i64: i64,
    /// The bits of an `f32`, in the low 4 bytes.
    pub f32: u32,
    /// The bits of an `f64`, in the low 8 bytes.
    pub f64: u64,
    /// A `v128`.
    pub v128: [u8; 16],
    /// A reference, as the engine represents it.
    pub r#ref: usize,
}

impl ValRaw {
    /// All 16 bytes zero.
    pub const ZERO: ValRaw = ValRaw { v128: [0; 16] };
}

impl Default for ValRaw {
    fn default() -> Self {
        ValRaw::ZERO
    }
}

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: every bit pattern is a valid [u8; 16].
        write!(f, "ValRaw({:02x?})", unsafe { self.v128 })
    }
}

#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    pub base: *mut u8,
    pub current_length: usize,
}

#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    pub base: *mut usize,
    pub current_elements: u64,
}

#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct VMGlobalDefinition {
    pub storage: [u8; 16],
}

impl VMGlobalDefinition {
    pub fn from_raw(raw: ValRaw) -> Self {
        VMGlobalDefinition {
            // SAFETY: every bit pattern is a valid [u8; 16].
            storage: unsafe { raw.v128 },
        }
    }
    pub fn to_raw(self) -> ValRaw {
        ValRaw { v128: self.storage }
    }
}

/// What a `funcref` points to.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    pub wasm_call: *const u8,
    pub vmctx: *mut u8,
    pub type_id: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    pub wasm_call: *const u8,
    pub vmctx: *mut u8,
    pub func_ref: *const VMFuncRef,
}

/// The fixed start of every VMContext (`nyash_aot::vmoffsets`' header).
/// Per-module parts (imports, memories, tables, globals, funcrefs) follow at
/// the offsets `VMOffsets` gives.
#[repr(C)]
#[derive(Debug)]
pub struct VMContextHeader {
    /// `VMCONTEXT_MAGIC`; builtins check it in debug builds.
    pub magic: u32,
    pub _pad: u32,
    pub store_context: *mut VMStoreContext,
    pub builtins: *const crate::vm::libcalls::VMBuiltinFunctions,
    /// Module type index -> engine-wide type id.
    pub type_ids: *const u32,
    /// The instance's index in its store (an `InstanceId`; never read by
    /// generated code).
    pub instance: usize,
    /// The engine's supertype display records (`vmoffsets::type_display`).
    pub type_displays: *const u32,
    /// The store's GC heap block, or null if the module cannot see GC objects.
    pub gc_heap: *mut nyash_gc::vm::VMGcHeapData,
}

/// Per-store state generated code reads.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    pub stack_limit: usize,
    pub fuel_consumed: i64,
    pub epoch_deadline: u64,
    pub epoch_ptr: *const u64,
    pub store: *mut (),
    /// The exit record (`vmoffsets::store_context::LAST_EXIT_PC`).
    pub last_exit_pc: usize,
    pub last_exit_fp: usize,
}

/// The context of a host function, passed as "vmctx" to its host-call
/// trampoline. The first word is the callback the trampoline calls.
#[repr(C)]
pub struct VMHostFuncContext {
    pub callback: unsafe extern "C" fn(*mut VMHostFuncContext, *mut u8, *mut ValRaw, usize) -> u32,
    /// The host function's own funcref (its `vmctx` points back here).
    pub func_ref: VMFuncRef,
    /// Index of the function in its store.
    pub func_index: usize,
    /// The closure `callback` was made for (its `F`), called by it directly.
    /// Owned by `host_fn`.
    pub closure: *const (),
    /// The host function: a `Box<HostFn<T>>` of its own, for the `T` that
    /// `callback` was instantiated with, for calls from the host. Freed
    /// with the context.
    pub host_fn: *const (),
    pub drop_host_fn: unsafe fn(*const ()),
}

impl Drop for VMHostFuncContext {
    fn drop(&mut self) {
        // SAFETY: `host_fn` was made for `drop_host_fn` and is dropped once.
        unsafe { (self.drop_host_fn)(self.host_fn) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nyash_aot::vmoffsets::{
        func_import, func_ref, global_def, memory_def, store_context, table_def,
    };
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_vmoffsets() {
        use nyash_aot::vmoffsets::VMOffsets;
        assert_eq!(
            offset_of!(VMContextHeader, magic),
            VMOffsets::MAGIC as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, store_context),
            VMOffsets::STORE_CONTEXT as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, builtins),
            VMOffsets::BUILTINS as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, type_ids),
            VMOffsets::TYPE_IDS as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, instance),
            VMOffsets::INSTANCE as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, type_displays),
            VMOffsets::TYPE_DISPLAYS as usize
        );
        assert_eq!(
            offset_of!(VMContextHeader, gc_heap),
            VMOffsets::GC_HEAP as usize
        );
        assert_eq!(
            size_of::<VMContextHeader>(),
            VMOffsets::HEADER_SIZE as usize
        );
        assert_eq!(
            crate::vm::memory::RESERVATION as u64,
            nyash_aot::vmoffsets::MEMORY32_RESERVATION
        );
        // Every builtin's slot and signature.
        crate::vm::libcalls::assert_table_matches_list();
        assert_eq!(
            offset_of!(VMFuncRef, wasm_call),
            func_ref::WASM_CALL as usize
        );
        assert_eq!(offset_of!(VMFuncRef, vmctx), func_ref::VMCTX as usize);
        assert_eq!(offset_of!(VMFuncRef, type_id), func_ref::TYPE_ID as usize);
        assert_eq!(size_of::<VMFuncRef>(), func_ref::SIZE as usize);
        assert_eq!(
            offset_of!(VMFunctionImport, wasm_call),
            func_import::WASM_CALL as usize
        );
        assert_eq!(
            offset_of!(VMFunctionImport, vmctx),
            func_import::VMCTX as usize
        );
        assert_eq!(
            offset_of!(VMFunctionImport, func_ref),
            func_import::FUNC_REF as usize
        );
        assert_eq!(size_of::<VMFunctionImport>(), func_import::SIZE as usize);
        assert_eq!(
            offset_of!(VMMemoryDefinition, base),
            memory_def::BASE as usize
        );
        assert_eq!(
            offset_of!(VMMemoryDefinition, current_length),
            memory_def::CURRENT_LENGTH as usize
        );
        assert_eq!(
            offset_of!(VMTableDefinition, base),
            table_def::BASE as usize
        );
        assert_eq!(
            offset_of!(VMTableDefinition, current_elements),
            table_def::CURRENT_ELEMENTS as usize
        );
        assert_eq!(size_of::<VMGlobalDefinition>(), global_def::SIZE as usize);
        assert_eq!(
            offset_of!(VMStoreContext, stack_limit),
            store_context::STACK_LIMIT as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, fuel_consumed),
            store_context::FUEL_CONSUMED as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_deadline),
            store_context::EPOCH_DEADLINE as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_ptr),
            store_context::EPOCH_PTR as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, store),
            store_context::STORE as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, last_exit_pc),
            store_context::LAST_EXIT_PC as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, last_exit_fp),
            store_context::LAST_EXIT_FP as usize
        );
        assert_eq!(size_of::<VMStoreContext>(), store_context::SIZE as usize);
        assert_eq!(
            size_of::<ValRaw>(),
            nyash_aot::vmoffsets::VAL_RAW_SIZE as usize
        );
        assert_eq!(offset_of!(VMHostFuncContext, callback), 0);
    }
}

//! The translator's environment: how generated code reaches what lives in the
//! VMContext. Every memory base, table, global, funcref, call target and
//! builtin is reached through [`FuncEnv`], so the operator translators never
//! compute a VMContext offset themselves, and a new kind of memory (memory64,
//! a GC heap), table or builtin is one change here.
//!
//! Each memory gets a [`HeapStrategy`]: guard pages when the memory's address
//! space reservation covers every `index + offset + size` an access can form
//! (32-bit memories: the access itself faults in the guard region), explicit
//! bounds checks otherwise (the seam for memory64).

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, UserExternalName, condcodes::IntCC,
    types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;

use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::builtin::Builtin;
use crate::module::ModuleEnv;
use crate::vmoffsets::{
    MAX_MEMORY_BYTES, MEMORY32_RESERVATION, VMOffsets, func_import, func_ref, memory_def,
    store_context, table_def, trap_codes, type_display,
};

/// How accesses to one linear memory are kept in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeapStrategy {
    /// The memory's reservation covers every address an access can form;
    /// past the accessible pages it is inaccessible, so an out-of-bounds
    /// access faults and becomes `HEAP_OUT_OF_BOUNDS`. No check is emitted,
    /// and the base never moves (its load may leave loops).
    GuardPages,
    /// A 64-bit memory of 64 KiB pages: it never exceeds
    /// [`MAX_MEMORY_BYTES`] (4 GiB), so it gets a 32-bit memory's
    /// reservation, and an access needs only a check that its index fits in
    /// 32 bits (a compare with a constant, no load); the guard region does
    /// the rest, as for `GuardPages`. A static offset of 4 GiB or more is
    /// bounds-checked like `BoundsChecked`.
    GuardPages64,
    /// Each access compares its end with the memory's current length and
    /// traps with `HEAP_OUT_OF_BOUNDS` beyond it.
    BoundsChecked,
}

impl HeapStrategy {
    /// The strategy for a memory: guard pages if the reservation can cover
    /// the largest index plus the largest static offset plus the widest
    /// access, and the memory's length is a whole number of OS pages (so
    /// the bytes past it are inaccessible): a memory of 1-byte pages (custom
    /// page sizes) may end anywhere within an OS page, and is
    /// bounds-checked.
    fn for_memory(memory64: bool, page_size_log2: u32) -> Self {
        const WIDEST_ACCESS: u64 = 16;
        const _: () = assert!(
            u32::MAX as u64 * 2 + WIDEST_ACCESS <= MEMORY32_RESERVATION
                && MAX_MEMORY_BYTES <= u32::MAX as u64 + 1
        );
        match (page_size_log2 < 16, memory64) {
            (true, _) => HeapStrategy::BoundsChecked,
            (false, false) => HeapStrategy::GuardPages,
            (false, true) => HeapStrategy::GuardPages64,
        }
    }
}

/// Alias regions: memory that no access tagged with another region ever
/// touches, so Cranelift's alias analysis may keep a load of one across
/// stores to another. An untagged store may touch anything; calls touch
/// everything. The ids are the same in every function, so inlining merges
/// them.
#[derive(Clone, Copy)]
pub(super) enum Region {
    /// Every linear memory's bytes (all of them: two memory indices may be
    /// the same imported memory).
    LinearMemory = 1,
    /// The current-length field of memory definitions, written only by
    /// `memory.grow` (a builtin call).
    MemoryLength = 2,
    /// The fields and elements of GC heap objects.
    GcObjects = 3,
    /// The nursery's bump pointer and limit (`VMGcHeapData`).
    GcNursery = 4,
}

impl Region {
    /// This region in `func`'s set.
    pub(super) fn get(self, func: &mut ir::Function) -> ir::AliasRegion {
        func.dfg.alias_regions.insert(ir::AliasRegionData {
            user_id: self as u32,
            description: match self {
                Region::LinearMemory => "linear memory".into(),
                Region::MemoryLength => "memory length".into(),
                Region::GcObjects => "gc objects".into(),
                Region::GcNursery => "gc nursery pointers".into(),
            },
        })
    }
}

/// Read-only VMContext fields: their loads may be merged and hoisted.
pub(super) fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// The environment of one function's translation.
pub(crate) struct FuncEnv<'a> {
    pub module: &'a ModuleEnv,
    offsets: &'a VMOffsets,
    /// The function's own VMContext (its first parameter).
    pub vmctx: ir::Value,
    /// The target's calling convention, used for builtins.
    call_conv: CallConv,
    heaps: Vec<HeapStrategy>,
    builtin_sigs: [Option<ir::SigRef>; Builtin::COUNT],
    func_refs: HashMap<u32, ir::FuncRef>,
    sig_refs: HashMap<u32, ir::SigRef>,
    /// The catch clauses in effect (innermost `try_table` first, cut after
    /// the first catch-all): the clause as `HandlerTable::encode_clause`
    /// encodes it, and its handler block, which takes the two exception
    /// payload words. While it is non-empty every call is a `try_call`
    /// (see [`FuncEnv::emit_call`]).
    pub catch: Vec<(u32, ir::Block)>,
    /// How many `try_call`s were emitted so far.
    pub try_calls: u32,
    /// Whether the code touches the GC heap or converts between `extern`
    /// and `any` (see `ModuleEnv::code_uses_gc`).
    pub uses_gc: std::cell::Cell<bool>,
}

/// What a call instruction calls.
enum Callee {
    Direct(ir::FuncRef),
    Indirect(ir::SigRef, ir::Value),
}

impl<'a> FuncEnv<'a> {
    pub fn new(
        module: &'a ModuleEnv,
        offsets: &'a VMOffsets,
        vmctx: ir::Value,
        call_conv: CallConv,
    ) -> Self {
        FuncEnv {
            module,
            offsets,
            vmctx,
            call_conv,
            heaps: module
                .memories
                .iter()
                .map(|m| HeapStrategy::for_memory(m.memory64, m.page_size_log2()))
                .collect(),
            builtin_sigs: [None; Builtin::COUNT],
            func_refs: HashMap::new(),
            sig_refs: HashMap::new(),
            catch: Vec::new(),
            try_calls: 0,
            uses_gc: std::cell::Cell::new(false),
        }
    }

    /// Emits a (non-tail) call and returns its results. Inside a
    /// `try_table` it is a `try_call`: normal returns go on in a new block,
    /// exceptions to the handler blocks of [`FuncEnv::catch`], with this
    /// function's VMContext as the exception table's dynamic context (the
    /// runtime resolves the tags through it).
    fn emit_call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        callee: Callee,
        args: &[ir::Value],
    ) -> Vec<ir::Value> {
        if self.catch.is_empty() {
            let call = match callee {
                Callee::Direct(f) => b.ins().call(f, args),
                Callee::Indirect(sig, code) => b.ins().call_indirect(sig, code, args),
            };
            return b.inst_results(call).to_vec();
        }
        let sig = match callee {
            Callee::Direct(f) => b.func.dfg.ext_funcs[f].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<ir::Type> = b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let next = b.create_block();
        for t in &returns {
            b.append_block_param(next, *t);
        }
        let pool = &mut b.func.dfg.value_lists;
        let normal = ir::BlockCall::new(
            next,
            (0..returns.len() as u32).map(ir::BlockArg::TryCallRet),
            pool,
        );
        let mut items = vec![ir::ExceptionTableItem::Context(self.vmctx)];
        for &(clause, block) in &self.catch {
            let call = ir::BlockCall::new(
                block,
                [ir::BlockArg::TryCallExn(0), ir::BlockArg::TryCallExn(1)],
                pool,
            );
            // Catch-alls too are tags (the runtime matches them): the
            // clause says whether it passes the exnref.
            items.push(ir::ExceptionTableItem::Tag(
                ir::ExceptionTag::from_u32(clause),
                call,
            ));
        }
        let table = b
            .func
            .dfg
            .exception_tables
            .push(ir::ExceptionTableData::new(sig, normal, items));
        match callee {
            Callee::Direct(f) => b.ins().try_call(f, args, table),
            Callee::Indirect(_, code) => b.ins().try_call_indirect(code, args, table),
        };
        self.try_calls += 1;
        b.seal_block(next);
        b.switch_to_block(next);
        b.block_params(next).to_vec()
    }

    fn load_vmctx(&self, b: &mut FunctionBuilder<'_>, ty: ir::Type, offset: u32) -> ir::Value {
        b.ins().load(ty, readonly(), self.vmctx, offset as i32)
    }

    // --- memories ---------------------------------------------------------

    fn memory_def(&self, b: &mut FunctionBuilder<'_>, memory: u32) -> ir::Value {
        self.load_vmctx(b, POINTER_TYPE, self.offsets.memory_ptr(memory))
    }

    /// The native address of an access of `size` bytes at `index + offset`
    /// in `memory`, and the immediate offset to put in the load or store.
    pub fn memory_addr(
        &self,
        b: &mut FunctionBuilder<'_>,
        memory: u32,
        index: ir::Value,
        offset: u64,
        size: u32,
    ) -> (ir::Value, i32) {
        let def = self.memory_def(b, memory);
        let index = if b.func.dfg.value_type(index) == types::I64 {
            index
        } else {
            b.ins().uextend(types::I64, index)
        };
        let strategy = self.heaps[memory as usize];
        // No memory ever moves: each reserves its largest size up front
        // (`engine::runtime::memory`), so the base may leave loops.
        let base_flags = readonly();
        let checked = match strategy {
            HeapStrategy::GuardPages => false,
            HeapStrategy::GuardPages64 if offset <= u64::from(u32::MAX) => {
                let high =
                    b.ins()
                        .icmp_imm_u(IntCC::UnsignedGreaterThan, index, i64::from(u32::MAX));
                b.ins().trapnz(high, trap_codes::HEAP_OUT_OF_BOUNDS);
                false
            }
            HeapStrategy::GuardPages64 | HeapStrategy::BoundsChecked => true,
        };
        if checked {
            let len = self.memory_len_bytes(b, memory);
            let reach = offset.saturating_add(size as u64);
            let reach = b.ins().iconst(types::I64, reach as i64);
            let end = b
                .ins()
                .uadd_overflow_trap(index, reach, trap_codes::HEAP_OUT_OF_BOUNDS);
            let oob = b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            b.ins().trapnz(oob, trap_codes::HEAP_OUT_OF_BOUNDS);
        }
        let base = b
            .ins()
            .load(POINTER_TYPE, base_flags, def, memory_def::BASE as i32);
        let mut addr = b.ins().iadd(base, index);
        let imm = match i32::try_from(offset) {
            Ok(o) => o,
            Err(_) => {
                addr = b.ins().iadd_imm_u(addr, offset as i64);
                0
            }
        };
        (addr, imm)
    }

    /// The current length of `memory` in bytes (pointer-sized).
    pub fn memory_len_bytes(&self, b: &mut FunctionBuilder<'_>, memory: u32) -> ir::Value {
        let def = self.memory_def(b, memory);
        let flags =
            MemFlagsData::trusted().with_alias_region(Some(Region::MemoryLength.get(b.func)));
        b.ins()
            .load(POINTER_TYPE, flags, def, memory_def::CURRENT_LENGTH as i32)
    }

    // --- tables -----------------------------------------------------------

    fn table_def(&self, b: &mut FunctionBuilder<'_>, table: u32) -> ir::Value {
        self.load_vmctx(b, POINTER_TYPE, self.offsets.table_ptr(table))
    }

    /// Whether `table` can never grow: its maximum is its minimum (an
    /// imported one neither: its exporter's limits must lie within these).
    fn table_is_fixed(&self, table: u32) -> bool {
        let limits = self.module.tables[table as usize].limits;
        limits.max == Some(limits.min)
    }

    /// The current number of elements of `table`, as an i64.
    pub fn table_len(&self, b: &mut FunctionBuilder<'_>, table: u32) -> ir::Value {
        if self.table_is_fixed(table) {
            let len = self.module.tables[table as usize].limits.min;
            return b.ins().iconst(types::I64, len as i64);
        }
        let def = self.table_def(b, table);
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            def,
            table_def::CURRENT_ELEMENTS as i32,
        )
    }

    /// Address of element `index` (an i32, or an i64 for a 64-bit table) of `table`, trapping with
    /// `TABLE_OUT_OF_BOUNDS` if it is past the end.
    ///
    /// A fixed-size table's length is a constant and its element array never
    /// moves: the bounds check needs no load and the base load can leave
    /// loops. wasm-ld gives C and Rust programs' indirect function tables
    /// this type.
    pub fn table_elem_addr(
        &self,
        b: &mut FunctionBuilder<'_>,
        table: u32,
        index: ir::Value,
    ) -> ir::Value {
        let len = self.table_len(b, table);
        let base_flags = if self.table_is_fixed(table) {
            readonly()
        } else {
            MemFlagsData::trusted()
        };
        let index = if b.func.dfg.value_type(index) == types::I64 {
            index
        } else {
            b.ins().uextend(types::I64, index)
        };
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        b.ins().trapnz(oob, trap_codes::TABLE_OUT_OF_BOUNDS);
        let def = self.table_def(b, table);
        let base = b
            .ins()
            .load(POINTER_TYPE, base_flags, def, table_def::BASE as i32);
        let scaled = b.ins().ishl_imm_u(index, 3);
        b.ins().iadd(base, scaled)
    }

    // --- globals ----------------------------------------------------------

    /// Address of global `index`'s storage, and the flags for accessing it.
    /// An immutable global's loads may be merged and hoisted, unless it
    /// holds a GC reference: a moving collection rewrites the global (it
    /// is a root) when its object moves, so a load from before a call may
    /// name the object's old copy after it.
    pub fn global_addr(
        &self,
        b: &mut FunctionBuilder<'_>,
        index: u32,
    ) -> (ir::Value, MemFlagsData) {
        let global = &self.module.globals[index as usize];
        let flags = if global.mutable || self.module.is_traced(global.content) {
            MemFlagsData::trusted()
        } else {
            readonly()
        };
        let addr = if self.module.is_imported_global(index) {
            self.load_vmctx(b, POINTER_TYPE, self.offsets.imported_global_ptr(index))
        } else {
            let defined = index - self.module.num_imported_globals;
            let off = self.offsets.defined_global(defined);
            b.ins().iadd_imm_u(self.vmctx, off as i64)
        };
        (addr, flags)
    }

    // --- functions --------------------------------------------------------

    /// The funcref of function `index` (a `*const VMFuncRef`).
    pub fn func_ref(
        &self,
        b: &mut FunctionBuilder<'_>,
        index: u32,
    ) -> Result<ir::Value, CompileError> {
        if self.module.is_imported_func(index) {
            let off = self.offsets.imported_func(index) + func_import::FUNC_REF;
            Ok(self.load_vmctx(b, POINTER_TYPE, off))
        } else {
            let slot = self.module.func_ref_slots[index as usize].ok_or_else(|| {
                CompileError::Codegen {
                    func_index: index,
                    message: "ref.func of a function without a funcref slot".into(),
                }
            })?;
            let off = self.offsets.func_ref(slot);
            Ok(b.ins().iadd_imm_u(self.vmctx, off as i64))
        }
    }

    /// The signature of wasm functions of module type `type_index`.
    fn sig_ref(&mut self, b: &mut FunctionBuilder<'_>, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.sig_refs.get(&type_index) {
            return *s;
        }
        let sig = abi::wasm_signature(self.module.func_type_at(type_index), &self.module.types);
        let s = b.import_signature(sig);
        self.sig_refs.insert(type_index, s);
        s
    }

    fn direct_ref(&mut self, b: &mut FunctionBuilder<'_>, func_index: u32) -> ir::FuncRef {
        if let Some(f) = self.func_refs.get(&func_index) {
            return *f;
        }
        let sig = self.sig_ref(b, self.module.funcs[func_index as usize]);
        let name = b
            .func
            .declare_imported_user_function(UserExternalName::new(0, func_index));
        let f = b.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(func_index, f);
        f
    }

    /// Calls function `func_index` with the wasm arguments `args`: directly
    /// (PC-relative) if it is defined here, through its import slot if not.
    /// With `tail`, as a tail call (`return_call`, the `tail` convention's
    /// frame replacement): the instruction ends the block and has no results.
    pub fn call(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        func_index: u32,
        args: &[ir::Value],
        tail: bool,
    ) -> Vec<ir::Value> {
        if self.module.is_imported_func(func_index) {
            let base = self.offsets.imported_func(func_index);
            let code = self.load_vmctx(b, POINTER_TYPE, base + func_import::WASM_CALL);
            let callee_vmctx = self.load_vmctx(b, POINTER_TYPE, base + func_import::VMCTX);
            let sig = self.sig_ref(b, self.module.funcs[func_index as usize]);
            let mut all = vec![callee_vmctx, self.vmctx];
            all.extend_from_slice(args);
            if tail {
                b.ins().return_call_indirect(sig, code, &all);
                Vec::new()
            } else {
                self.emit_call(b, Callee::Indirect(sig, code), &all)
            }
        } else {
            let f = self.direct_ref(b, func_index);
            let mut all = vec![self.vmctx, self.vmctx];
            all.extend_from_slice(args);
            if tail {
                b.ins().return_call(f, &all);
                Vec::new()
            } else {
                self.emit_call(b, Callee::Direct(f), &all)
            }
        }
    }

    /// Calls the function in element `index` of `table`, which must be of
    /// module type `type_index`: traps if the element is null or of another
    /// type. With `tail`, as a tail call (see [`FuncEnv::call`]).
    pub fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: u32,
        table: u32,
        index: ir::Value,
        args: &[ir::Value],
        tail: bool,
    ) -> Vec<ir::Value> {
        let addr = self.table_elem_addr(b, table, index);
        let fref = b.ins().load(POINTER_TYPE, MemFlagsData::trusted(), addr, 0);
        b.ins().trapz(fref, trap_codes::INDIRECT_CALL_TO_NULL);
        let (expected, actual) = self.type_ids(b, fref, type_index);
        let mismatch = b.ins().icmp(IntCC::NotEqual, expected, actual);
        if self.module.types[type_index as usize].is_final {
            // A final type has no subtypes: only its own id passes.
            b.ins().trapnz(mismatch, trap_codes::BAD_SIGNATURE);
        } else {
            // A subtype's function passes too: when the ids differ (a cold
            // block), the callee's display must hold the expected id at
            // the expected type's depth (see `vmoffsets::type_display`).
            let slow = b.create_block();
            let ok = b.create_block();
            b.set_cold_block(slow);
            b.ins().brif(mismatch, slow, &[], ok, &[]);
            b.seal_block(slow);
            b.switch_to_block(slow);
            let entry = self.display_entry(b, actual, type_index);
            let differs = b.ins().icmp(IntCC::NotEqual, entry, expected);
            b.ins().trapnz(differs, trap_codes::BAD_SIGNATURE);
            b.ins().jump(ok, &[]);
            b.seal_block(ok);
            b.switch_to_block(ok);
        }
        self.call_func_ref(b, type_index, fref, MemFlagsData::trusted(), args, tail)
    }

    /// The engine type id module type `type_index` has, and the one of the
    /// function non-null `fref` points to.
    fn type_ids(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        fref: ir::Value,
        type_index: u32,
    ) -> (ir::Value, ir::Value) {
        let ids = self.load_vmctx(b, POINTER_TYPE, VMOffsets::TYPE_IDS);
        let expected = b
            .ins()
            .load(types::I32, readonly(), ids, (type_index * 4) as i32);
        let actual = b.ins().load(
            types::I32,
            MemFlagsData::trusted(),
            fref,
            func_ref::TYPE_ID as i32,
        );
        (expected, actual)
    }

    /// The entry of engine type `actual`'s supertype display at the depth
    /// of module type `type_index`: `type_index`'s engine id if `actual` is
    /// it or a subtype of it (see `vmoffsets::type_display`).
    pub fn display_entry(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        actual: ir::Value,
        type_index: u32,
    ) -> ir::Value {
        let depth = self.module.type_depth(type_index);
        let displays = self.load_vmctx(b, POINTER_TYPE, VMOffsets::TYPE_DISPLAYS);
        let actual = b.ins().uextend(POINTER_TYPE, actual);
        let offset = b
            .ins()
            .ishl_imm_u(actual, i64::from(type_display::SIZE_LOG2));
        let record = b.ins().iadd(displays, offset);
        b.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            record,
            (depth.min(type_display::ENTRIES - 1) * 4) as i32,
        )
    }

    /// Whether funcref `fref` is of type `(ref null? type_index)`: an `I8`
    /// 0 or 1; null answers `null_passes`. The check `call_indirect` makes,
    /// answered instead of trapping (`ref.test`, `ref.cast`, `br_on_cast`
    /// to a function type).
    pub fn func_ref_has_type(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        fref: ir::Value,
        type_index: u32,
        null_passes: bool,
    ) -> ir::Value {
        let done = b.create_block();
        b.append_block_param(done, types::I8);
        let check = b.create_block();
        let null_answer = b.ins().iconst(types::I8, i64::from(null_passes));
        b.ins().brif(fref, check, &[], done, &[null_answer.into()]);
        b.seal_block(check);
        b.switch_to_block(check);
        let (expected, actual) = self.type_ids(b, fref, type_index);
        let same = b.ins().icmp(IntCC::Equal, expected, actual);
        if self.module.types[type_index as usize].is_final {
            b.ins().jump(done, &[same.into()]);
        } else {
            // As in `call_indirect`: a subtype's display holds the expected
            // id at the expected type's depth.
            let slow = b.create_block();
            b.set_cold_block(slow);
            let yes = b.ins().iconst(types::I8, 1);
            b.ins().brif(same, done, &[yes.into()], slow, &[]);
            b.seal_block(slow);
            b.switch_to_block(slow);
            let entry = self.display_entry(b, actual, type_index);
            let found = b.ins().icmp(IntCC::Equal, entry, expected);
            b.ins().jump(done, &[found.into()]);
        }
        b.seal_block(done);
        b.switch_to_block(done);
        b.block_params(done)[0]
    }

    /// `call_ref`: calls the function `fref` points to, whose type
    /// validation proved to be (a subtype of) module type `type_index`; a
    /// null `fref` traps with `NULL_REFERENCE`. The check is implicit: the
    /// loads from a null `VMFuncRef` fault on the unmapped page at address
    /// 0, and carry the trap code.
    pub fn call_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: u32,
        fref: ir::Value,
        args: &[ir::Value],
        tail: bool,
    ) -> Vec<ir::Value> {
        let flags = MemFlagsData::new()
            .with_aligned()
            .with_trap_code(Some(trap_codes::NULL_REFERENCE));
        self.call_func_ref(b, type_index, fref, flags, args, tail)
    }

    /// Calls through a `VMFuncRef`, its fields loaded with `flags`.
    fn call_func_ref(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: u32,
        fref: ir::Value,
        flags: MemFlagsData,
        args: &[ir::Value],
        tail: bool,
    ) -> Vec<ir::Value> {
        let code = b
            .ins()
            .load(POINTER_TYPE, flags, fref, func_ref::WASM_CALL as i32);
        let callee_vmctx = b
            .ins()
            .load(POINTER_TYPE, flags, fref, func_ref::VMCTX as i32);
        let sig = self.sig_ref(b, type_index);
        let mut all = vec![callee_vmctx, self.vmctx];
        all.extend_from_slice(args);
        if tail {
            b.ins().return_call_indirect(sig, code, &all);
            Vec::new()
        } else {
            self.emit_call(b, Callee::Indirect(sig, code), &all)
        }
    }

    // --- the GC heap --------------------------------------------------------

    /// The store's `*mut VMGcHeapData` (`nyash_gc::vm`).
    pub fn gc_heap_data(&self, b: &mut FunctionBuilder<'_>) -> ir::Value {
        self.uses_gc.set(true);
        self.load_vmctx(b, POINTER_TYPE, VMOffsets::GC_HEAP)
    }

    /// The GC heap's base address: an object is at `base + zext(ref)`. It
    /// never changes, so its load may leave loops.
    pub fn gc_base(&self, b: &mut FunctionBuilder<'_>) -> ir::Value {
        let data = self.gc_heap_data(b);
        b.ins().load(
            POINTER_TYPE,
            readonly(),
            data,
            nyash_gc::vm::offsets::BASE as i32,
        )
    }

    /// The GC heap's card table (one byte per `1 << CARD_SHIFT` bytes of
    /// heap offsets); it never moves.
    pub fn gc_card_table(&self, b: &mut FunctionBuilder<'_>) -> ir::Value {
        let data = self.gc_heap_data(b);
        b.ins().load(
            POINTER_TYPE,
            readonly(),
            data,
            nyash_gc::vm::offsets::CARD_TABLE as i32,
        )
    }

    /// The engine type id (an `I32`) of module type `type_index`.
    pub fn engine_type_id(&self, b: &mut FunctionBuilder<'_>, type_index: u32) -> ir::Value {
        let ids = self.load_vmctx(b, POINTER_TYPE, VMOffsets::TYPE_IDS);
        b.ins()
            .load(types::I32, readonly(), ids, (type_index * 4) as i32)
    }

    // --- builtins and the store context -----------------------------------

    /// Calls `builtin` with `args` (after the implicit VMContext), in the
    /// target's calling convention; returns its result if it has one. Its
    /// signature comes from the builtin list and is imported once per
    /// function.
    pub fn call_builtin(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        let sig = match self.builtin_sigs[builtin as usize] {
            Some(s) => s,
            None => {
                let s = b.import_signature(builtin.signature(self.call_conv));
                self.builtin_sigs[builtin as usize] = Some(s);
                s
            }
        };
        debug_assert_eq!(args.len(), builtin.params().len());
        let table = self.load_vmctx(b, POINTER_TYPE, VMOffsets::BUILTINS);
        let callee = b.ins().load(
            POINTER_TYPE,
            readonly(),
            table,
            builtin.table_offset() as i32,
        );
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        if builtin.unwinds() {
            return self
                .emit_call(b, Callee::Indirect(sig, callee), &all)
                .first()
                .copied();
        }
        let call = b.ins().call_indirect(sig, callee, &all);
        b.inst_results(call).first().copied()
    }

    /// [`FuncEnv::call_builtin`] of a builtin the list gives a result: that
    /// result.
    pub fn call_builtin_value(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        args: &[ir::Value],
    ) -> ir::Value {
        debug_assert!(builtin.result().is_some());
        self.call_builtin(b, builtin, args)
            .expect("the builtin list gives this builtin a result")
    }

    /// The store context (`*mut VMStoreContext`).
    fn store_context(&self, b: &mut FunctionBuilder<'_>) -> ir::Value {
        self.load_vmctx(b, POINTER_TYPE, VMOffsets::STORE_CONTEXT)
    }

    /// Makes `func`'s prologue check the stack pointer against the store's
    /// stack limit (vmctx -> store context -> stack limit).
    pub fn declare_stack_limit(func: &mut ir::Function) {
        let ro = func.dfg.mem_flags.insert_unchecked(readonly());
        let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
        let store = func.create_global_value(ir::GlobalValueData::Load {
            base: vmctx,
            offset: (VMOffsets::STORE_CONTEXT as i32).into(),
            global_type: POINTER_TYPE,
            flags: ro,
        });
        let limit = func.create_global_value(ir::GlobalValueData::Load {
            base: store,
            offset: (store_context::STACK_LIMIT as i32).into(),
            global_type: POINTER_TYPE,
            flags: ro,
        });
        func.stack_limit = Some(limit);
    }

    /// The store's fuel counter (i64, counting up towards zero).
    pub fn load_fuel(&self, b: &mut FunctionBuilder<'_>) -> ir::Value {
        let ctx = self.store_context(b);
        b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            ctx,
            store_context::FUEL_CONSUMED as i32,
        )
    }

    pub fn store_fuel(&self, b: &mut FunctionBuilder<'_>, fuel: ir::Value) {
        let ctx = self.store_context(b);
        b.ins().store(
            MemFlagsData::trusted(),
            fuel,
            ctx,
            store_context::FUEL_CONSUMED as i32,
        );
    }

    /// The engine's current epoch and the store's deadline (both i64).
    pub fn epoch_and_deadline(&self, b: &mut FunctionBuilder<'_>) -> (ir::Value, ir::Value) {
        let ctx = self.store_context(b);
        let epoch_ptr = b.ins().load(
            POINTER_TYPE,
            readonly(),
            ctx,
            store_context::EPOCH_PTR as i32,
        );
        let epoch = b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), epoch_ptr, 0);
        let deadline = b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            ctx,
            store_context::EPOCH_DEADLINE as i32,
        );
        (epoch, deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory32_uses_guard_pages_memory64_a_32_bit_check_small_pages_bounds_checks() {
        assert_eq!(
            HeapStrategy::for_memory(false, 16),
            HeapStrategy::GuardPages
        );
        assert_eq!(
            HeapStrategy::for_memory(true, 16),
            HeapStrategy::GuardPages64
        );
        assert_eq!(
            HeapStrategy::for_memory(false, 0),
            HeapStrategy::BoundsChecked
        );
        assert_eq!(
            HeapStrategy::for_memory(true, 0),
            HeapStrategy::BoundsChecked
        );
    }
}

//! Linear memory: loads, stores, size, grow and the bulk operations. How an
//! address is formed and kept in bounds is the environment's (`env.rs`).

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};
use wasmparser::MemArg;

use cranelift_codegen::ir::types::I32;

use super::Translator;
use super::env::Region;
use crate::CompileError;
use crate::vmoffsets::{Builtin, trap_codes};

/// How a load widens what it reads to the value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Load {
    /// The value's full width.
    Full,
    U8,
    S8,
    U16,
    S16,
    U32,
    S32,
}

/// How much of the value a store writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Store {
    Full,
    Low8,
    Low16,
    Low32,
}

impl Translator<'_, '_> {
    /// The native address of an access of `size` bytes to the index on top of
    /// the stack, and the immediate offset to use.
    pub(super) fn heap_addr(&mut self, memarg: &MemArg, size: u32) -> (ir::Value, i32) {
        let index = self.pop();
        self.env.memory_addr(
            &mut self.builder,
            memory_index(memarg),
            index,
            memarg.offset,
            size,
        )
    }

    /// Flags of a linear-memory access: little-endian, trapping out of
    /// bounds, and in the linear-memory alias region, so Cranelift knows a
    /// store to wasm memory leaves VMContext fields (a bounds-checked
    /// memory's length) in registers.
    pub(super) fn heap_flags(&mut self) -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(ir::Endianness::Little)
            .with_trap_code(Some(trap_codes::HEAP_OUT_OF_BOUNDS))
            .with_alias_region(Some(Region::LinearMemory.get(self.builder.func)))
    }

    pub(super) fn load(&mut self, memarg: &MemArg, ty: ir::Type, kind: Load) {
        let size = match kind {
            Load::Full => ty.bytes(),
            Load::U8 | Load::S8 => 1,
            Load::U16 | Load::S16 => 2,
            Load::U32 | Load::S32 => 4,
        };
        let (addr, off) = self.heap_addr(memarg, size);
        let f = self.heap_flags();
        let ins = self.builder.ins();
        let v = match kind {
            Load::Full => ins.load(ty, f, addr, off),
            Load::U8 => ins.uload8(ty, f, addr, off),
            Load::S8 => ins.sload8(ty, f, addr, off),
            Load::U16 => ins.uload16(ty, f, addr, off),
            Load::S16 => ins.sload16(ty, f, addr, off),
            Load::U32 => ins.uload32(f, addr, off),
            Load::S32 => ins.sload32(f, addr, off),
        };
        self.push(v);
    }

    pub(super) fn store(&mut self, memarg: &MemArg, kind: Store) {
        let v = self.pop();
        let size = match kind {
            Store::Full => self.builder.func.dfg.value_type(v).bytes(),
            Store::Low8 => 1,
            Store::Low16 => 2,
            Store::Low32 => 4,
        };
        let (addr, off) = self.heap_addr(memarg, size);
        let f = self.heap_flags();
        let ins = self.builder.ins();
        match kind {
            Store::Low8 => ins.istore8(f, v, addr, off),
            Store::Low16 => ins.istore16(f, v, addr, off),
            Store::Low32 => ins.istore32(f, v, addr, off),
            Store::Full => ins.store(f, v, addr, off),
        };
    }

    /// Calls a builtin (see `env.rs`).
    pub(super) fn call_builtin(
        &mut self,
        builtin: Builtin,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        self.env.call_builtin(&mut self.builder, builtin, args)
    }

    /// An address, size or count as a u64: an i32 zero-extended, an i64
    /// (a 64-bit memory's or table's) as it is.
    pub(super) fn u64_of(&mut self, v: ir::Value) -> ir::Value {
        if self.builder.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            self.builder.ins().uextend(types::I64, v)
        }
    }

    /// A u64 result as the memory's or table's address type.
    pub(super) fn as_address_type(&mut self, v: ir::Value, is64: bool) -> ir::Value {
        if is64 {
            v
        } else {
            self.builder.ins().ireduce(I32, v)
        }
    }

    fn is_memory64(&self, mem: u32) -> bool {
        self.env.module.memories[mem as usize].memory64
    }

    pub(super) fn memory_size(&mut self, mem: u32) -> Result<(), CompileError> {
        let len = self.env.memory_len_bytes(&mut self.builder, mem);
        let shift = self.env.module.memories[mem as usize].page_size_log2();
        let pages = self.builder.ins().ushr_imm_u(len, shift as i64);
        let pages = self.as_address_type(pages, self.is_memory64(mem));
        self.push(pages);
        Ok(())
    }

    pub(super) fn memory_grow(&mut self, mem: u32) -> Result<(), CompileError> {
        let delta = self.pop();
        let delta = self.u64_of(delta);
        let m = self.builder.ins().iconst(I32, mem as i64);
        let r = self
            .call_builtin(Builtin::MemoryGrow, &[m, delta])
            .expect("returns");
        let r = self.as_address_type(r, self.is_memory64(mem));
        self.push(r);
        Ok(())
    }

    pub(super) fn memory_fill(&mut self, mem: u32) -> Result<(), CompileError> {
        let (dst, val, len) = self.pop3();
        let (dst, len) = (self.u64_of(dst), self.u64_of(len));
        let m = self.builder.ins().iconst(I32, mem as i64);
        let failed = self
            .call_builtin(Builtin::MemoryFill, &[m, dst, val, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
        Ok(())
    }

    pub(super) fn memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3();
        let (dst, src, len) = (self.u64_of(dst), self.u64_of(src), self.u64_of(len));
        let dm = self.builder.ins().iconst(I32, dst_mem as i64);
        let sm = self.builder.ins().iconst(I32, src_mem as i64);
        let failed = self
            .call_builtin(Builtin::MemoryCopy, &[dm, dst, sm, src, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
        Ok(())
    }

    pub(super) fn memory_init(&mut self, data_index: u32, mem: u32) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3();
        let dst = self.u64_of(dst);
        let m = self.builder.ins().iconst(I32, mem as i64);
        let d = self.builder.ins().iconst(I32, data_index as i64);
        let failed = self
            .call_builtin(Builtin::MemoryInit, &[m, d, dst, src, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
        Ok(())
    }

    pub(super) fn data_drop(&mut self, data_index: u32) -> Result<(), CompileError> {
        let d = self.builder.ins().iconst(I32, data_index as i64);
        self.call_builtin(Builtin::DataDrop, &[d]);
        Ok(())
    }
}

fn memory_index(m: &MemArg) -> u32 {
    match m.target {
        wasmparser::MemArgTarget::Memory(i) => i,
        // GC array accesses are not enabled; validation rejects them.
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

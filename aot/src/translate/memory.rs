//! Linear memory: loads, stores, size, grow and the bulk operations. How an
//! address is formed and kept in bounds is the environment's (`env.rs`).

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};
use wasmparser::{MemArg, Operator};

use super::Translator;
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
    fn heap_addr(&mut self, memarg: &MemArg, size: u32) -> (ir::Value, i32) {
        let index = self.pop();
        self.env.memory_addr(
            &mut self.builder,
            memory_index(memarg),
            index,
            memarg.offset,
            size,
        )
    }

    fn heap_flags() -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(ir::Endianness::Little)
            .with_trap_code(Some(trap_codes::HEAP_OUT_OF_BOUNDS))
    }

    pub(super) fn load(&mut self, memarg: &MemArg, ty: ir::Type, kind: Load) {
        let size = match kind {
            Load::Full => ty.bytes(),
            Load::U8 | Load::S8 => 1,
            Load::U16 | Load::S16 => 2,
            Load::U32 | Load::S32 => 4,
        };
        let (addr, off) = self.heap_addr(memarg, size);
        let f = Self::heap_flags();
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
        let f = Self::heap_flags();
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

    fn u64_of(&mut self, v: ir::Value) -> ir::Value {
        self.builder.ins().uextend(types::I64, v)
    }

    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => self.load(memarg, I32, Load::Full),
            Operator::I64Load { memarg } => self.load(memarg, I64, Load::Full),
            Operator::F32Load { memarg } => self.load(memarg, F32, Load::Full),
            Operator::F64Load { memarg } => self.load(memarg, F64, Load::Full),
            Operator::I32Load8U { memarg } => self.load(memarg, I32, Load::U8),
            Operator::I32Load8S { memarg } => self.load(memarg, I32, Load::S8),
            Operator::I32Load16U { memarg } => self.load(memarg, I32, Load::U16),
            Operator::I32Load16S { memarg } => self.load(memarg, I32, Load::S16),
            Operator::I64Load8U { memarg } => self.load(memarg, I64, Load::U8),
            Operator::I64Load8S { memarg } => self.load(memarg, I64, Load::S8),
            Operator::I64Load16U { memarg } => self.load(memarg, I64, Load::U16),
            Operator::I64Load16S { memarg } => self.load(memarg, I64, Load::S16),
            Operator::I64Load32U { memarg } => self.load(memarg, I64, Load::U32),
            Operator::I64Load32S { memarg } => self.load(memarg, I64, Load::S32),
            Operator::I32Store { memarg }
            | Operator::I64Store { memarg }
            | Operator::F32Store { memarg }
            | Operator::F64Store { memarg } => self.store(memarg, Store::Full),
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, Store::Low8)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, Store::Low16)
            }
            Operator::I64Store32 { memarg } => self.store(memarg, Store::Low32),
            Operator::MemorySize { mem } => {
                let len = self.env.memory_len_bytes(&mut self.builder, *mem);
                let pages = self.builder.ins().ushr_imm_u(len, 16);
                let pages = self.builder.ins().ireduce(I32, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.u64_of(delta);
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let r = self
                    .call_builtin(Builtin::MemoryGrow, &[m, delta])
                    .expect("returns");
                let r = self.builder.ins().ireduce(I32, r);
                self.push(r);
            }
            Operator::MemoryFill { mem } => {
                let (dst, val, len) = self.pop3();
                let (dst, len) = (self.u64_of(dst), self.u64_of(len));
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let failed = self
                    .call_builtin(Builtin::MemoryFill, &[m, dst, val, len])
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let (dst, src, len) = (self.u64_of(dst), self.u64_of(src), self.u64_of(len));
                let dm = self.builder.ins().iconst(I32, *dst_mem as i64);
                let sm = self.builder.ins().iconst(I32, *src_mem as i64);
                let failed = self
                    .call_builtin(Builtin::MemoryCopy, &[dm, dst, sm, src, len])
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
            }
            Operator::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.u64_of(dst);
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let d = self.builder.ins().iconst(I32, *data_index as i64);
                let failed = self
                    .call_builtin(Builtin::MemoryInit, &[m, d, dst, src, len])
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
            }
            Operator::DataDrop { data_index } => {
                let d = self.builder.ins().iconst(I32, *data_index as i64);
                self.call_builtin(Builtin::DataDrop, &[d]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn memory_index(m: &MemArg) -> u32 {
    match m.target {
        wasmparser::MemArgTarget::Memory(i) => i,
        // GC array accesses are not enabled; validation rejects them.
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

//! Linear memory: loads, stores, size, grow and the bulk operations.
//!
//! 32-bit memories are reserved with guard regions covering every
//! `index + offset`, so accesses carry no bounds check: the access itself
//! faults with `HEAP_OUT_OF_BOUNDS`.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};
use wasmparser::{MemArg, Operator};

use super::Translator;
use crate::CompileError;
use crate::abi::POINTER_TYPE;
use crate::vmoffsets::{Builtin, memory_def, trap_codes};

impl Translator<'_, '_> {
    fn memory_def(&mut self, memory: u32) -> ir::Value {
        let off = self.offsets.memory_ptr(memory) as i32;
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        self.builder
            .ins()
            .load(POINTER_TYPE, flags, self.vmctx, off)
    }

    /// The native address of an access and the immediate offset to use.
    fn heap_addr(&mut self, memarg: &MemArg) -> (ir::Value, i32) {
        let index = self.pop();
        self.heap_addr_of(memarg, index)
    }

    fn heap_addr_of(&mut self, memarg: &MemArg, index: ir::Value) -> (ir::Value, i32) {
        let def = self.memory_def(memory_index(memarg));
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        let base = self
            .builder
            .ins()
            .load(POINTER_TYPE, flags, def, memory_def::BASE as i32);
        let index = self.builder.ins().uextend(types::I64, index);
        let mut addr = self.builder.ins().iadd(base, index);
        let imm = match i32::try_from(memarg.offset) {
            Ok(o) => o,
            Err(_) => {
                addr = self.builder.ins().iadd_imm_u(addr, memarg.offset as i64);
                0
            }
        };
        (addr, imm)
    }

    fn heap_flags() -> MemFlagsData {
        MemFlagsData::new()
            .with_endianness(ir::Endianness::Little)
            .with_trap_code(Some(trap_codes::HEAP_OUT_OF_BOUNDS))
    }

    fn load(&mut self, memarg: &MemArg, ty: ir::Type, kind: u8) {
        let (addr, off) = self.heap_addr(memarg);
        let f = Self::heap_flags();
        let ins = self.builder.ins();
        let v = match kind {
            0 => ins.load(ty, f, addr, off),
            1 => ins.uload8(ty, f, addr, off),
            2 => ins.sload8(ty, f, addr, off),
            3 => ins.uload16(ty, f, addr, off),
            4 => ins.sload16(ty, f, addr, off),
            5 => ins.uload32(f, addr, off),
            _ => ins.sload32(f, addr, off),
        };
        self.push(v);
    }

    fn store(&mut self, memarg: &MemArg, bits: u8) {
        let v = self.pop();
        let (addr, off) = self.heap_addr(memarg);
        let f = Self::heap_flags();
        let ins = self.builder.ins();
        match bits {
            8 => ins.istore8(f, v, addr, off),
            16 => ins.istore16(f, v, addr, off),
            32 => ins.istore32(f, v, addr, off),
            _ => ins.store(f, v, addr, off),
        };
    }

    /// Calls a builtin with the calling convention of the host.
    pub(super) fn call_builtin(
        &mut self,
        builtin: Builtin,
        params: &[ir::Type],
        ret: Option<ir::Type>,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        let mut sig = ir::Signature::new(cranelift_codegen::isa::CallConv::SystemV);
        sig.params.push(ir::AbiParam::new(POINTER_TYPE));
        sig.params
            .extend(params.iter().map(|t| ir::AbiParam::new(*t)));
        sig.returns.extend(ret.map(ir::AbiParam::new));
        let sig = self.builder.import_signature(sig);
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        let table = self.builder.ins().load(
            POINTER_TYPE,
            flags,
            self.vmctx,
            crate::vmoffsets::VMOffsets::BUILTINS as i32,
        );
        let callee =
            self.builder
                .ins()
                .load(POINTER_TYPE, flags, table, builtin.table_offset() as i32);
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig, callee, &all);
        self.builder.inst_results(call).first().copied()
    }

    fn u64_of(&mut self, v: ir::Value) -> ir::Value {
        self.builder.ins().uextend(types::I64, v)
    }

    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => self.load(memarg, I32, 0),
            Operator::I64Load { memarg } => self.load(memarg, I64, 0),
            Operator::F32Load { memarg } => self.load(memarg, F32, 0),
            Operator::F64Load { memarg } => self.load(memarg, F64, 0),
            Operator::I32Load8U { memarg } => self.load(memarg, I32, 1),
            Operator::I32Load8S { memarg } => self.load(memarg, I32, 2),
            Operator::I32Load16U { memarg } => self.load(memarg, I32, 3),
            Operator::I32Load16S { memarg } => self.load(memarg, I32, 4),
            Operator::I64Load8U { memarg } => self.load(memarg, I64, 1),
            Operator::I64Load8S { memarg } => self.load(memarg, I64, 2),
            Operator::I64Load16U { memarg } => self.load(memarg, I64, 3),
            Operator::I64Load16S { memarg } => self.load(memarg, I64, 4),
            Operator::I64Load32U { memarg } => self.load(memarg, I64, 5),
            Operator::I64Load32S { memarg } => self.load(memarg, I64, 6),
            Operator::I32Store { memarg }
            | Operator::I64Store { memarg }
            | Operator::F32Store { memarg }
            | Operator::F64Store { memarg } => self.store(memarg, 0),
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, 8)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, 16)
            }
            Operator::I64Store32 { memarg } => self.store(memarg, 32),
            Operator::MemorySize { mem } => {
                let def = self.memory_def(*mem);
                let len = self.builder.ins().load(
                    POINTER_TYPE,
                    MemFlagsData::trusted(),
                    def,
                    memory_def::CURRENT_LENGTH as i32,
                );
                let pages = self.builder.ins().ushr_imm_u(len, 16);
                let pages = self.builder.ins().ireduce(I32, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.u64_of(delta);
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let r = self
                    .call_builtin(Builtin::MemoryGrow, &[I32, I64], Some(I64), &[m, delta])
                    .expect("returns");
                let r = self.builder.ins().ireduce(I32, r);
                self.push(r);
            }
            Operator::MemoryFill { mem } => {
                let (dst, val, len) = self.pop3();
                let (dst, len) = (self.u64_of(dst), self.u64_of(len));
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let failed = self
                    .call_builtin(
                        Builtin::MemoryFill,
                        &[I32, I64, I32, I64],
                        Some(I32),
                        &[m, dst, val, len],
                    )
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
                    .call_builtin(
                        Builtin::MemoryCopy,
                        &[I32, I64, I32, I64, I64],
                        Some(I32),
                        &[dm, dst, sm, src, len],
                    )
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
                    .call_builtin(
                        Builtin::MemoryInit,
                        &[I32, I32, I64, I32, I32],
                        Some(I32),
                        &[m, d, dst, src, len],
                    )
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::HEAP_OUT_OF_BOUNDS);
            }
            Operator::DataDrop { data_index } => {
                let d = self.builder.ins().iconst(I32, *data_index as i64);
                self.call_builtin(Builtin::DataDrop, &[I32], None, &[d]);
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

//! Tables and reference values.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, condcodes::IntCC, types};
use wasmparser::Operator;

use super::Translator;
use crate::CompileError;
use crate::abi::POINTER_TYPE;
use crate::vmoffsets::{Builtin, func_import, table_def, trap_codes};

impl Translator<'_, '_> {
    pub(super) fn table_def(&mut self, table: u32) -> ir::Value {
        let off = self.offsets.table_ptr(table) as i32;
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        self.builder
            .ins()
            .load(POINTER_TYPE, flags, self.vmctx, off)
    }

    /// Address of element `index` (an i32) of `table`, trapping with
    /// `TABLE_OUT_OF_BOUNDS` if it is past the end.
    pub(super) fn table_elem_addr(&mut self, table: u32, index: ir::Value) -> ir::Value {
        let def = self.table_def(table);
        // A table whose maximum is its minimum can never grow (an imported
        // one neither: its exporter's limits must lie within these), so its
        // length is a constant and its element array never moves: the bounds
        // check needs no load and the base load can leave loops. wasm-ld
        // gives C and Rust programs' indirect function tables this type.
        let limits = self.env.tables[table as usize].limits;
        let fixed = limits.max == Some(limits.min);
        let len = if fixed {
            self.builder.ins().iconst(types::I64, limits.min as i64)
        } else {
            self.builder.ins().load(
                types::I64,
                MemFlagsData::trusted(),
                def,
                table_def::CURRENT_ELEMENTS as i32,
            )
        };
        let base_flags = if fixed {
            MemFlagsData::trusted().with_readonly().with_can_move()
        } else {
            MemFlagsData::trusted()
        };
        let index = self.builder.ins().uextend(types::I64, index);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.builder
            .ins()
            .trapnz(oob, trap_codes::TABLE_OUT_OF_BOUNDS);
        let base = self
            .builder
            .ins()
            .load(POINTER_TYPE, base_flags, def, table_def::BASE as i32);
        let scaled = self.builder.ins().ishl_imm_u(index, 3);
        self.builder.ins().iadd(base, scaled)
    }

    /// The funcref of function `index` (a `*const VMFuncRef`).
    fn func_ref(&mut self, index: u32) -> Result<ir::Value, CompileError> {
        if self.env.is_imported_func(index) {
            let off = self.offsets.imported_func(index) + func_import::FUNC_REF;
            let flags = MemFlagsData::trusted().with_readonly().with_can_move();
            Ok(self
                .builder
                .ins()
                .load(POINTER_TYPE, flags, self.vmctx, off as i32))
        } else {
            let slot =
                self.env.func_ref_slots[index as usize].ok_or_else(|| CompileError::Codegen {
                    func_index: index,
                    message: "ref.func of a function without a funcref slot".into(),
                })?;
            let off = self.offsets.func_ref(slot);
            Ok(self.builder.ins().iadd_imm_u(self.vmctx, off as i64))
        }
    }

    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{I32, I64};
        match *op {
            Operator::RefNull { .. } => {
                let v = self.builder.ins().iconst(POINTER_TYPE, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let c = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let c = self.builder.ins().uextend(I32, c);
                self.push(c);
            }
            Operator::RefFunc { function_index } => {
                let v = self.func_ref(function_index)?;
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let addr = self.table_elem_addr(table, index);
                let v = self
                    .builder
                    .ins()
                    .load(POINTER_TYPE, MemFlagsData::trusted(), addr, 0);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let (index, v) = self.pop2();
                let addr = self.table_elem_addr(table, index);
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), v, addr, 0);
            }
            Operator::TableSize { table } => {
                let def = self.table_def(table);
                let len = self.builder.ins().load(
                    I64,
                    MemFlagsData::trusted(),
                    def,
                    table_def::CURRENT_ELEMENTS as i32,
                );
                let len = self.builder.ins().ireduce(I32, len);
                self.push(len);
            }
            Operator::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.builder.ins().uextend(I64, delta);
                let t = self.builder.ins().iconst(I32, table as i64);
                let r = self
                    .call_builtin(
                        Builtin::TableGrow,
                        &[I32, I64, I64],
                        Some(I64),
                        &[t, delta, init],
                    )
                    .expect("returns");
                let r = self.builder.ins().ireduce(I32, r);
                self.push(r);
            }
            Operator::TableFill { table } => {
                let (dst, val, len) = self.pop3();
                let dst = self.builder.ins().uextend(I64, dst);
                let len = self.builder.ins().uextend(I64, len);
                let t = self.builder.ins().iconst(I32, table as i64);
                let failed = self
                    .call_builtin(
                        Builtin::TableFill,
                        &[I32, I64, I64, I64],
                        Some(I32),
                        &[t, dst, val, len],
                    )
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.builder.ins().uextend(I64, dst);
                let src = self.builder.ins().uextend(I64, src);
                let len = self.builder.ins().uextend(I64, len);
                let dt = self.builder.ins().iconst(I32, dst_table as i64);
                let st = self.builder.ins().iconst(I32, src_table as i64);
                let failed = self
                    .call_builtin(
                        Builtin::TableCopy,
                        &[I32, I32, I64, I64, I64],
                        Some(I32),
                        &[dt, st, dst, src, len],
                    )
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
            }
            Operator::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.builder.ins().uextend(I64, dst);
                let t = self.builder.ins().iconst(I32, table as i64);
                let e = self.builder.ins().iconst(I32, elem_index as i64);
                let failed = self
                    .call_builtin(
                        Builtin::TableInit,
                        &[I32, I32, I64, I32, I32],
                        Some(I32),
                        &[t, e, dst, src, len],
                    )
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.builder.ins().iconst(I32, elem_index as i64);
                self.call_builtin(Builtin::ElemDrop, &[I32], None, &[e]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

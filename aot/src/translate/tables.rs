//! Tables and reference values. Where a table's elements are, and the
//! bounds check, are the environment's (`env.rs`).

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, condcodes::IntCC, types};
use wasmparser::Operator;

use super::Translator;
use crate::CompileError;
use crate::abi::POINTER_TYPE;
use crate::vmoffsets::{Builtin, trap_codes};

impl Translator<'_, '_> {
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
                let v = self.env.func_ref(&mut self.builder, function_index)?;
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let addr = self.env.table_elem_addr(&mut self.builder, table, index);
                let v = self
                    .builder
                    .ins()
                    .load(POINTER_TYPE, MemFlagsData::trusted(), addr, 0);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let (index, v) = self.pop2();
                let addr = self.env.table_elem_addr(&mut self.builder, table, index);
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), v, addr, 0);
            }
            Operator::TableSize { table } => {
                let len = self.env.table_len(&mut self.builder, table);
                let len = self.builder.ins().ireduce(I32, len);
                self.push(len);
            }
            Operator::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.builder.ins().uextend(I64, delta);
                let t = self.builder.ins().iconst(I32, table as i64);
                let r = self
                    .call_builtin(Builtin::TableGrow, &[t, delta, init])
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
                    .call_builtin(Builtin::TableFill, &[t, dst, val, len])
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
                    .call_builtin(Builtin::TableCopy, &[dt, st, dst, src, len])
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
                    .call_builtin(Builtin::TableInit, &[t, e, dst, src, len])
                    .expect("returns");
                self.builder
                    .ins()
                    .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.builder.ins().iconst(I32, elem_index as i64);
                self.call_builtin(Builtin::ElemDrop, &[e]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

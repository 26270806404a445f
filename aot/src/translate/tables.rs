//! Tables and reference values. Where a table's elements are, and the
//! bounds check, are the environment's (`env.rs`).
//!
//! Every table slot is pointer-sized. A table of the `any` hierarchy holds
//! its `u32` references zero-extended, so the runtime (`table.grow`'s and
//! `table.fill`'s value, element segments, `table.copy`) moves slots
//! without knowing their hierarchy.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, condcodes::IntCC};

use cranelift_codegen::ir::types::{I32, I64};

use super::Translator;
use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::module::WasmType;
use crate::vmoffsets::{Builtin, trap_codes};

impl Translator<'_, '_> {
    pub(super) fn ref_null(&mut self, hty: wasmparser::HeapType) -> Result<(), CompileError> {
        let r = wasmparser::RefType::new(true, hty)
            .ok_or_else(|| crate::bug_error!("validated heap type {hty:?} cannot be encoded"))?;
        let ty = abi::clif_type(
            WasmType::from_wasmparser_pub(wasmparser::ValType::Ref(r))?,
            &self.env.module.types,
        );
        let v = self.builder.ins().iconst(ty, 0);
        self.push(v);
        Ok(())
    }

    pub(super) fn ref_is_null(&mut self) -> Result<(), CompileError> {
        let r = self.pop();
        let c = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
        let c = self.builder.ins().uextend(I32, c);
        self.push(c);
        Ok(())
    }

    /// `ref.as_non_null`: traps with `NULL_REFERENCE` on null.
    pub(super) fn ref_as_non_null(&mut self) -> Result<(), CompileError> {
        let r = *self.stack.last().expect("validation guarantees operands");
        self.builder.ins().trapz(r, trap_codes::NULL_REFERENCE);
        Ok(())
    }

    pub(super) fn ref_func(&mut self, function_index: u32) -> Result<(), CompileError> {
        let v = self.env.func_ref(&mut self.builder, function_index)?;
        self.push(v);
        Ok(())
    }

    pub(super) fn table_get(&mut self, table: u32) -> Result<(), CompileError> {
        let index = self.pop();
        let ty = self.table_elem_clif_type(table);
        let addr = self.env.table_elem_addr(&mut self.builder, table, index);
        let mut v = self
            .builder
            .ins()
            .load(POINTER_TYPE, MemFlagsData::trusted(), addr, 0);
        if ty != POINTER_TYPE {
            v = self.builder.ins().ireduce(ty, v);
        }
        self.push(v);
        Ok(())
    }

    pub(super) fn table_set(&mut self, table: u32) -> Result<(), CompileError> {
        let (index, v) = self.pop2();
        let v = self.table_slot_value(v);
        let addr = self.env.table_elem_addr(&mut self.builder, table, index);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), v, addr, 0);
        Ok(())
    }

    pub(super) fn table_size(&mut self, table: u32) -> Result<(), CompileError> {
        let len = self.env.table_len(&mut self.builder, table);
        let len = self.as_address_type(len, self.is_table64(table));
        self.push(len);
        Ok(())
    }

    pub(super) fn table_grow(&mut self, table: u32) -> Result<(), CompileError> {
        let (init, delta) = self.pop2();
        let init = self.table_slot_value(init);
        let delta = self.u64_of(delta);
        let t = self.builder.ins().iconst(I32, table as i64);
        let r = self
            .call_builtin(Builtin::TableGrow, &[t, delta, init])
            .expect("returns");
        let r = self.as_address_type(r, self.is_table64(table));
        self.push(r);
        Ok(())
    }

    pub(super) fn table_fill(&mut self, table: u32) -> Result<(), CompileError> {
        let (dst, val, len) = self.pop3();
        let val = self.table_slot_value(val);
        let dst = self.u64_of(dst);
        let len = self.u64_of(len);
        let t = self.builder.ins().iconst(I32, table as i64);
        let failed = self
            .call_builtin(Builtin::TableFill, &[t, dst, val, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    pub(super) fn table_copy(
        &mut self,
        dst_table: u32,
        src_table: u32,
    ) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3();
        let dst = self.u64_of(dst);
        let src = self.u64_of(src);
        let len = self.u64_of(len);
        let dt = self.builder.ins().iconst(I32, dst_table as i64);
        let st = self.builder.ins().iconst(I32, src_table as i64);
        let failed = self
            .call_builtin(Builtin::TableCopy, &[dt, st, dst, src, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    pub(super) fn table_init(&mut self, elem_index: u32, table: u32) -> Result<(), CompileError> {
        let (dst, src, len) = self.pop3();
        let dst = self.u64_of(dst);
        let t = self.builder.ins().iconst(I32, table as i64);
        let e = self.builder.ins().iconst(I32, elem_index as i64);
        let failed = self
            .call_builtin(Builtin::TableInit, &[t, e, dst, src, len])
            .expect("returns");
        self.builder
            .ins()
            .trapnz(failed, trap_codes::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    /// The CLIF type of table `table`'s elements as values.
    fn table_elem_clif_type(&self, table: u32) -> cranelift_codegen::ir::Type {
        abi::clif_type(
            self.env.module.tables[table as usize].element,
            &self.env.module.types,
        )
    }

    /// A reference value as a table slot holds it: pointer-sized, a `u32`
    /// reference zero-extended.
    fn table_slot_value(
        &mut self,
        v: cranelift_codegen::ir::Value,
    ) -> cranelift_codegen::ir::Value {
        if self.builder.func.dfg.value_type(v) == I32 {
            self.builder.ins().uextend(I64, v)
        } else {
            v
        }
    }

    fn is_table64(&self, table: u32) -> bool {
        self.env.module.tables[table as usize].table64
    }

    pub(super) fn elem_drop(&mut self, elem_index: u32) -> Result<(), CompileError> {
        let e = self.builder.ins().iconst(I32, elem_index as i64);
        self.call_builtin(Builtin::ElemDrop, &[e]);
        Ok(())
    }
}

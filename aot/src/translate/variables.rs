//! Locals and globals.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData};
use wasmparser::Operator;

use super::Translator;
use crate::abi::{self, POINTER_TYPE};

impl Translator<'_, '_> {
    /// Address of global `index`'s storage, and whether it is immutable.
    fn global_addr(&mut self, index: u32) -> (ir::Value, bool) {
        let mutable = self.env.globals[index as usize].mutable;
        if self.env.is_imported_global(index) {
            let off = self.offsets.imported_global_ptr(index) as i32;
            let flags = MemFlagsData::trusted().with_readonly().with_can_move();
            let ptr = self
                .builder
                .ins()
                .load(POINTER_TYPE, flags, self.vmctx, off);
            (ptr, !mutable)
        } else {
            let off = self
                .offsets
                .defined_global(index - self.env.num_imported_globals);
            let addr = self.builder.ins().iadd_imm_u(self.vmctx, off as i64);
            (addr, !mutable)
        }
    }

    pub(super) fn translate_variable(&mut self, op: &Operator<'_>) -> bool {
        match *op {
            Operator::LocalGet { local_index } => {
                let v = self.builder.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::GlobalGet { global_index } => {
                let ty = abi::clif_type(self.env.globals[global_index as usize].content);
                let (addr, immutable) = self.global_addr(global_index);
                let mut flags = MemFlagsData::trusted();
                if immutable {
                    flags = flags.with_readonly().with_can_move();
                }
                let v = self.builder.ins().load(ty, flags, addr, 0);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let (addr, _) = self.global_addr(global_index);
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), v, addr, 0);
            }
            _ => return false,
        }
        true
    }
}

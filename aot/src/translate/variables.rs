//! Locals and globals (where a global lives is the environment's, `env.rs`).

use cranelift_codegen::ir::InstBuilder;
use wasmparser::Operator;

use super::Translator;
use crate::abi;

impl Translator<'_, '_> {
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
                let ty = abi::clif_type(self.env.module.globals[global_index as usize].content);
                let (addr, flags) = self.env.global_addr(&mut self.builder, global_index);
                let v = self.builder.ins().load(ty, flags, addr, 0);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let (addr, flags) = self.env.global_addr(&mut self.builder, global_index);
                self.builder.ins().store(flags, v, addr, 0);
            }
            _ => return false,
        }
        true
    }
}

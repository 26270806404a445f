//! Locals and globals (where a global lives is the environment's, `env.rs`).

use cranelift_codegen::ir::InstBuilder;

use super::Translator;
use crate::CompileError;
use crate::abi;

impl Translator<'_, '_> {
    pub(super) fn local_get(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = self.builder.use_var(self.locals[local_index as usize]);
        self.push(v);
        Ok(())
    }

    pub(super) fn local_set(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = self.pop();
        self.builder.def_var(self.locals[local_index as usize], v);
        Ok(())
    }

    pub(super) fn local_tee(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = *self.stack.last().expect("validated");
        self.builder.def_var(self.locals[local_index as usize], v);
        Ok(())
    }

    pub(super) fn global_get(&mut self, global_index: u32) -> Result<(), CompileError> {
        let ty = abi::clif_type(
            self.env.module.globals[global_index as usize].content,
            &self.env.module.types,
        );
        let (addr, flags) = self.env.global_addr(&mut self.builder, global_index);
        let v = self.builder.ins().load(ty, flags, addr, 0);
        self.push(v);
        Ok(())
    }

    pub(super) fn global_set(&mut self, global_index: u32) -> Result<(), CompileError> {
        let v = self.pop();
        let (addr, flags) = self.env.global_addr(&mut self.builder, global_index);
        self.builder.ins().store(flags, v, addr, 0);
        Ok(())
    }
}

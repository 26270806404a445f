//! Direct, imported and indirect calls. How each kind of callee is reached
//! is the environment's (`env.rs`); this file keeps the operand stack and
//! fuel right around calls.

use cranelift_codegen::ir;

use super::Translator;
use crate::CompileError;

impl Translator<'_, '_> {
    fn finish_call(&mut self, call: ir::Inst, nparams: usize) {
        self.reload_fuel();
        let n = self.stack.len();
        self.stack.truncate(n - nparams);
        let results = self.builder.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    pub(super) fn call(&mut self, function_index: u32) -> Result<(), CompileError> {
        self.save_fuel();
        let nparams = self.env.module.func_type(function_index).params.len();
        let n = self.stack.len();
        let call = self.env.call(
            &mut self.builder,
            function_index,
            &self.stack[n - nparams..],
        );
        self.finish_call(call, nparams);
        Ok(())
    }

    pub(super) fn call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> Result<(), CompileError> {
        self.save_fuel();
        let index = self.pop();
        let nparams = self.env.module.types[type_index as usize].params.len();
        let n = self.stack.len();
        let call = self.env.call_indirect(
            &mut self.builder,
            type_index,
            table_index,
            index,
            &self.stack[n - nparams..],
        );
        self.finish_call(call, nparams);
        Ok(())
    }
}

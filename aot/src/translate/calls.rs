//! Direct, imported and indirect calls. How each kind of callee is reached
//! is the environment's (`env.rs`); this file keeps the operand stack and
//! fuel right around calls.

use cranelift_codegen::ir;
use wasmparser::Operator;

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

    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match *op {
            Operator::Call { function_index } => {
                self.save_fuel();
                let nparams = self.env.module.func_type(function_index).params.len();
                let n = self.stack.len();
                let call = self.env.call(
                    &mut self.builder,
                    function_index,
                    &self.stack[n - nparams..],
                );
                self.finish_call(call, nparams);
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
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
            }
            Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. } => {
                return Err(CompileError::Unsupported("tail calls".into()));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

//! Direct, imported and indirect calls, and tail calls. How each kind of callee is reached
//! is the environment's (`env.rs`); this file keeps the operand stack and
//! fuel right around calls.

use cranelift_codegen::ir;

use super::Translator;
use crate::CompileError;

impl Translator<'_, '_> {
    fn finish_call(&mut self, results: Vec<ir::Value>, nparams: usize) {
        self.reload_fuel();
        let n = self.stack.len();
        self.truncate_stack(n - nparams);
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
            false,
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
        let nparams = self.env.module.func_type_at(type_index).params.len();
        let n = self.stack.len();
        let call = self.env.call_indirect(
            &mut self.builder,
            type_index,
            table_index,
            index,
            &self.stack[n - nparams..],
            false,
        );
        self.finish_call(call, nparams);
        Ok(())
    }

    /// After a tail call: its arguments are consumed and nothing follows it
    /// in this block (the callee returns straight to our caller).
    fn finish_tail_call(&mut self, nparams: usize) {
        let n = self.stack.len();
        self.truncate_stack(n - nparams);
        self.reachable = false;
    }

    /// `return_call`: fuel is written back as before a return; the callee
    /// replaces this function's frame.
    pub(super) fn return_call(&mut self, function_index: u32) -> Result<(), CompileError> {
        self.save_fuel();
        let nparams = self.env.module.func_type(function_index).params.len();
        let n = self.stack.len();
        self.env.call(
            &mut self.builder,
            function_index,
            &self.stack[n - nparams..],
            true,
        );
        self.finish_tail_call(nparams);
        Ok(())
    }

    /// `return_call_indirect`: the checks of `call_indirect`, then a tail call.
    pub(super) fn return_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> Result<(), CompileError> {
        self.save_fuel();
        let index = self.pop();
        let nparams = self.env.module.func_type_at(type_index).params.len();
        let n = self.stack.len();
        self.env.call_indirect(
            &mut self.builder,
            type_index,
            table_index,
            index,
            &self.stack[n - nparams..],
            true,
        );
        self.finish_tail_call(nparams);
        Ok(())
    }

    /// `call_ref` / `return_call_ref`: a call through a typed function
    /// reference. No signature check: validation proved the reference's
    /// type; only null traps.
    pub(super) fn call_ref(&mut self, type_index: u32, tail: bool) -> Result<(), CompileError> {
        self.save_fuel();
        let fref = self.pop();
        let nparams = self.env.module.func_type_at(type_index).params.len();
        let n = self.stack.len();
        let call = self.env.call_ref(
            &mut self.builder,
            type_index,
            fref,
            &self.stack[n - nparams..],
            tail,
        );
        if tail {
            self.finish_tail_call(nparams);
        } else {
            self.finish_call(call, nparams);
        }
        Ok(())
    }
}

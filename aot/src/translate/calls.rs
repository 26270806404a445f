//! Direct, imported and indirect calls.

use cranelift_codegen::ir::{
    self, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, UserExternalName, condcodes::IntCC,
    types,
};
use wasmparser::Operator;

use super::Translator;
use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::vmoffsets::{VMOffsets, func_import, func_ref, trap_codes};

impl Translator<'_, '_> {
    fn sig_ref(&mut self, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.sig_refs.get(&type_index) {
            return *s;
        }
        let sig = abi::wasm_signature(&self.env.types[type_index as usize]);
        let s = self.builder.import_signature(sig);
        self.sig_refs.insert(type_index, s);
        s
    }

    fn direct_ref(&mut self, func_index: u32) -> ir::FuncRef {
        if let Some(f) = self.func_refs.get(&func_index) {
            return *f;
        }
        let sig = self.sig_ref(self.env.funcs[func_index as usize]);
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(0, func_index));
        let f = self.builder.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(func_index, f);
        f
    }

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
                let ty = &self.env.types[self.env.funcs[function_index as usize] as usize];
                let nparams = ty.params.len();
                let n = self.stack.len();
                let flags = MemFlagsData::trusted().with_readonly().with_can_move();
                let call = if self.env.is_imported_func(function_index) {
                    let base = self.offsets.imported_func(function_index);
                    let code = self.builder.ins().load(
                        POINTER_TYPE,
                        flags,
                        self.vmctx,
                        (base + func_import::WASM_CALL) as i32,
                    );
                    let callee_vmctx = self.builder.ins().load(
                        POINTER_TYPE,
                        flags,
                        self.vmctx,
                        (base + func_import::VMCTX) as i32,
                    );
                    let sig = self.sig_ref(self.env.funcs[function_index as usize]);
                    let mut args = vec![callee_vmctx, self.vmctx];
                    args.extend_from_slice(&self.stack[n - nparams..]);
                    self.builder.ins().call_indirect(sig, code, &args)
                } else {
                    let f = self.direct_ref(function_index);
                    let mut args = vec![self.vmctx, self.vmctx];
                    args.extend_from_slice(&self.stack[n - nparams..]);
                    self.builder.ins().call(f, &args)
                };
                self.finish_call(call, nparams);
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                self.save_fuel();
                let index = self.pop();
                let addr = self.table_elem_addr(table_index, index);
                let fref = self
                    .builder
                    .ins()
                    .load(POINTER_TYPE, MemFlagsData::trusted(), addr, 0);
                self.builder
                    .ins()
                    .trapz(fref, trap_codes::INDIRECT_CALL_TO_NULL);
                let flags = MemFlagsData::trusted().with_readonly().with_can_move();
                let ids = self.builder.ins().load(
                    POINTER_TYPE,
                    flags,
                    self.vmctx,
                    VMOffsets::TYPE_IDS as i32,
                );
                let expected =
                    self.builder
                        .ins()
                        .load(types::I32, flags, ids, (type_index * 4) as i32);
                let actual = self.builder.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    fref,
                    func_ref::TYPE_ID as i32,
                );
                let mismatch = self.builder.ins().icmp(IntCC::NotEqual, expected, actual);
                self.builder
                    .ins()
                    .trapnz(mismatch, trap_codes::BAD_SIGNATURE);
                let code = self.builder.ins().load(
                    POINTER_TYPE,
                    MemFlagsData::trusted(),
                    fref,
                    func_ref::WASM_CALL as i32,
                );
                let callee_vmctx = self.builder.ins().load(
                    POINTER_TYPE,
                    MemFlagsData::trusted(),
                    fref,
                    func_ref::VMCTX as i32,
                );
                let nparams = self.env.types[type_index as usize].params.len();
                let n = self.stack.len();
                let sig = self.sig_ref(type_index);
                let mut args = vec![callee_vmctx, self.vmctx];
                args.extend_from_slice(&self.stack[n - nparams..]);
                let call = self.builder.ins().call_indirect(sig, code, &args);
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

//! Signatures shared by the translator, the trampolines and the runtime.
//!
//! A wasm function is `fn(callee_vmctx, caller_vmctx, params...) -> results`
//! in Cranelift's `tail` convention. A reference of the `any` hierarchy is
//! an `I32` (a GC heap offset, 0 null, odd an `i31`: `nyash_gc::vm`); every
//! other reference is pointer-sized.

use cranelift_codegen::ir::{self, AbiParam, types};
use cranelift_codegen::isa::CallConv;

use crate::module::{FuncType, HeapType, SubType, WasmType, heap_top};

/// The pointer type; the engine targets 64-bit hosts only.
pub const POINTER_TYPE: ir::Type = types::I64;

/// The CLIF type of a value of `ty`; `types` are the module's (for
/// concrete reference types: a struct or array type's references are in the
/// `any` hierarchy, a function type's are funcrefs).
pub fn clif_type(ty: WasmType, types: &[SubType]) -> ir::Type {
    match ty {
        WasmType::Ref(r) => ref_clif_type(heap_top(types, r.heap)),
        WasmType::I32 => types::I32,
        WasmType::I64 => types::I64,
        WasmType::F32 => types::F32,
        WasmType::F64 => types::F64,
        WasmType::V128 => types::I8X16,
    }
}

/// The CLIF type of a reference whose hierarchy's top is `top`: `any`'s
/// are `u32` GC references; funcref is a `*const VMFuncRef`; externref and
/// exnref are store-local handles.
pub fn ref_clif_type(top: HeapType) -> ir::Type {
    match top {
        HeapType::Any => types::I32,
        _ => POINTER_TYPE,
    }
}

/// The native signature of a wasm function of type `ty`.
pub fn wasm_signature(ty: &FuncType, types: &[SubType]) -> ir::Signature {
    let mut sig = ir::Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::special(
        POINTER_TYPE,
        ir::ArgumentPurpose::VMContext,
    ));
    sig.params.push(AbiParam::new(POINTER_TYPE));
    sig.params.extend(
        ty.params
            .iter()
            .map(|t| AbiParam::new(clif_type(*t, types))),
    );
    sig.returns.extend(
        ty.results
            .iter()
            .map(|t| AbiParam::new(clif_type(*t, types))),
    );
    sig
}

/// Signature of the host-side entry trampoline for any wasm type:
/// `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call, values: *mut ValRaw)`.
pub fn entry_trampoline_signature(call_conv: CallConv) -> ir::Signature {
    let mut sig = ir::Signature::new(call_conv);
    for _ in 0..4 {
        sig.params.push(AbiParam::new(POINTER_TYPE));
    }
    sig
}

/// Signature of a host function's callback as the host-call trampoline calls
/// it: `extern "C" fn(host_ctx, caller_vmctx, values: *mut ValRaw, len: usize) -> u32`
/// (0: returned; 1: failed, the runtime holds the error; 2: threw the
/// exception whose exnref it wrote to `values[0]`).
pub fn host_callback_signature(call_conv: CallConv) -> ir::Signature {
    let mut sig = ir::Signature::new(call_conv);
    for _ in 0..4 {
        sig.params.push(AbiParam::new(POINTER_TYPE));
    }
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

//! The trampolines between the host and compiled code: which a module
//! needs ([`TrampolinePlan`]), and the CLIF of each kind (host -> wasm
//! entry, wasm -> host call).

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::builtin::Builtin;
use crate::compile::{Artifact, Compiler, FunctionCode, WorkerState};
use crate::image::CompiledFunction;
use crate::module::{FuncType, ModuleEnv};
use crate::vmoffsets::{VAL_RAW_SIZE, VMOffsets, store_context, trap_codes};

/// Which trampolines a module needs, one per distinct function type:
///
/// - an entry trampoline (host -> wasm) for the type of every function the
///   host can call: those that can escape as values (exported, in element
///   segments, named by `ref.func`; exactly those with a funcref slot) and
///   the start function;
/// - a host-call trampoline (wasm -> host) for the type of every imported
///   function. A host function of another type gets its trampoline from the
///   engine, compiled on first use.
pub(crate) struct TrampolinePlan {
    /// Per type index: the trampoline's position in `trampolines()`.
    pub(crate) entry: Vec<Option<usize>>,
    pub(crate) host: Vec<Option<usize>>,
    /// Type indices to compile, entries first, then host calls.
    entry_types: Vec<usize>,
    host_types: Vec<usize>,
}

impl TrampolinePlan {
    pub(crate) fn new(env: &ModuleEnv, all_host: bool) -> Self {
        let n = env.types.len();
        let mut needs_entry = vec![false; n];
        // Only function types have trampolines (struct and array types
        // are types of the same index space).
        let mut needs_host: Vec<bool> = env
            .types
            .iter()
            .map(|t| all_host && t.as_func().is_some())
            .collect();
        for (f, &ty) in env.funcs.iter().enumerate() {
            let f = f as u32;
            if env.is_imported_func(f) {
                needs_host[ty as usize] = true;
            } else if env
                .func_ref_slots
                .get(f as usize)
                .copied()
                .flatten()
                .is_some()
                || env.start == Some(f)
            {
                needs_entry[ty as usize] = true;
            }
        }
        let mut plan = TrampolinePlan {
            entry: vec![None; n],
            host: vec![None; n],
            entry_types: Vec::new(),
            host_types: Vec::new(),
        };
        // Structurally equal types share one trampoline.
        let mut seen: HashMap<&FuncType, usize> = HashMap::new();
        for t in (0..n).filter(|&t| needs_entry[t]) {
            let next = plan.entry_types.len();
            let i = *seen.entry(env.func_type_at(t as u32)).or_insert_with(|| {
                plan.entry_types.push(t);
                next
            });
            plan.entry[t] = Some(i);
        }
        seen.clear();
        let base = plan.entry_types.len();
        for t in (0..n).filter(|&t| needs_host[t]) {
            let next = base + plan.host_types.len();
            let i = *seen.entry(env.func_type_at(t as u32)).or_insert_with(|| {
                plan.host_types.push(t);
                next
            });
            plan.host[t] = Some(i);
        }
        plan
    }

    pub(crate) fn len(&self) -> usize {
        self.entry_types.len() + self.host_types.len()
    }

    /// (type index, entry trampoline or host-call one), in plan order.
    pub(crate) fn trampolines(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        let entry = self.entry_types.iter().map(|&t| (t, true));
        entry.chain(self.host_types.iter().map(|&t| (t, false)))
    }
}

impl Compiler {
    /// Just the host-call trampoline for one function type: for host
    /// functions whose type no loaded module imports. `ty` must name no
    /// concrete type (engine ids included): map each to the top of its
    /// hierarchy first, as [`ModuleEnv::representation_of`] does.
    pub fn compile_trampolines_for(&self, ty: &FuncType) -> Result<Artifact, CompileError> {
        let env = ModuleEnv {
            types: vec![crate::module::SubType {
                is_final: true,
                supertype: None,
                composite: crate::module::CompositeType::Func(ty.clone()),
            }],
            rec_groups: vec![0],
            ..ModuleEnv::default()
        };
        self.trampolines_only(env, true)
    }

    /// An image of just the trampolines `env` needs (with `all_host`, a
    /// host-call trampoline for every function type), compiled on this
    /// thread: no function bodies.
    pub(crate) fn trampolines_only(
        &self,
        env: ModuleEnv,
        all_host: bool,
    ) -> Result<Artifact, CompileError> {
        let offsets = VMOffsets::new(&env);
        let plan = TrampolinePlan::new(&env, all_host);
        let mut state = self.worker_state();
        let trampolines = plan
            .trampolines()
            .map(|(t, entry)| {
                self.compile_trampoline(&env.representation_of(t as u32), entry, &mut state)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.link(env, offsets, Vec::new(), &plan, trampolines)
    }

    pub(crate) fn compile_trampoline(
        &self,
        ty: &FuncType,
        entry: bool,
        (ctx, _, fctx): &mut WorkerState,
    ) -> Result<FunctionCode, CompileError> {
        ctx.clear();
        let host_cc = self.isa().default_call_conv();
        let frontend = self.isa().frontend_config();
        if entry {
            build_entry_trampoline(&mut ctx.func, fctx, ty, host_cc, frontend);
        } else {
            build_host_trampoline(&mut ctx.func, fctx, ty, host_cc, frontend);
        }
        self.finish(ctx, CompiledFunction::TRAMPOLINE, false)
    }
}

fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Host -> wasm: `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call, values)`.
/// `ty` names no concrete type (`ModuleEnv::representation_of`), as for
/// [`build_host_trampoline`].
/// Reads the arguments from `values` (one 16-byte `ValRaw` each), calls the
/// function and writes its results back over the same array.
fn build_entry_trampoline(
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
    ty: &FuncType,
    host_cc: CallConv,
    frontend: TargetFrontendConfig,
) {
    *func = ir::Function::with_name_signature(
        UserFuncName::user(1, 0),
        abi::entry_trampoline_signature(host_cc),
    );
    let mut b = FunctionBuilder::new(func, fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = b.block_params(block).to_vec();
    let (callee_vmctx, caller_vmctx, wasm_call, values) =
        (params[0], params[1], params[2], params[3]);
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        let v = b.ins().load(
            abi::clif_type(*t, &[]),
            trusted(),
            values,
            (i as u32 * VAL_RAW_SIZE) as i32,
        );
        args.push(v);
    }
    let sig = b.import_signature(abi::wasm_signature(ty, &[]));
    let call = b.ins().call_indirect(sig, wasm_call, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins()
            .store(trusted(), r, values, (i as u32 * VAL_RAW_SIZE) as i32);
    }
    b.ins().return_(&[]);
    b.finalize(frontend);
}

/// Wasm -> host: a function of the wasm signature whose "vmctx" is the host
/// function's context, whose first word is the callback
/// `extern "C" fn(host_ctx, caller_vmctx, values, len) -> u32`. Spills the
/// arguments to a stack array, calls the callback, traps with `HOST_ERROR`
/// if it failed, throws (`throw_ref`) if it threw an exception, and returns
/// the results it wrote into the array.
fn build_host_trampoline(
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
    ty: &FuncType,
    host_cc: CallConv,
    frontend: TargetFrontendConfig,
) {
    *func =
        ir::Function::with_name_signature(UserFuncName::user(1, 1), abi::wasm_signature(ty, &[]));
    let mut b = FunctionBuilder::new(func, fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = b.block_params(block).to_vec();
    let (host_ctx, caller_vmctx) = (params[0], params[1]);
    let len = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        len * VAL_RAW_SIZE,
        4,
    ));
    let values = b.ins().stack_addr(POINTER_TYPE, slot, 0);
    for (i, v) in params[2..].iter().enumerate() {
        b.ins()
            .store(trusted(), *v, values, (i as u32 * VAL_RAW_SIZE) as i32);
    }
    // The exit record: the return address into the wasm caller and its
    // frame pointer, where the collector's stack walk starts while the
    // host function runs (`vmoffsets::store_context::LAST_EXIT_PC`).
    let fp = b.ins().get_frame_pointer(POINTER_TYPE);
    let caller_fp = b.ins().load(POINTER_TYPE, trusted(), fp, 0);
    let ret = b.ins().load(POINTER_TYPE, trusted(), fp, 8);
    let store_ctx = b.ins().load(
        POINTER_TYPE,
        trusted(),
        caller_vmctx,
        VMOffsets::STORE_CONTEXT as i32,
    );
    b.ins().store(
        trusted(),
        ret,
        store_ctx,
        store_context::LAST_EXIT_PC as i32,
    );
    b.ins().store(
        trusted(),
        caller_fp,
        store_ctx,
        store_context::LAST_EXIT_FP as i32,
    );
    let callback = b.ins().load(POINTER_TYPE, trusted(), host_ctx, 0);
    let sig = b.import_signature(abi::host_callback_signature(host_cc));
    let len_v = b.ins().iconst(POINTER_TYPE, len as i64);
    let call = b
        .ins()
        .call_indirect(sig, callback, &[host_ctx, caller_vmctx, values, len_v]);
    // 0: returned; 1: failed (the runtime holds the error); 2: threw the
    // exception (exnref) it wrote to `values[0]`: throw it from here, so
    // the `try_call` that called this trampoline can catch it.
    let status = b.inst_results(call)[0];
    let threw = b.create_block();
    let not_thrown = b.create_block();
    let is_throw = b.ins().icmp_imm_u(ir::condcodes::IntCC::Equal, status, 2);
    b.ins().brif(is_throw, threw, &[], not_thrown, &[]);
    b.seal_block(threw);
    b.seal_block(not_thrown);
    b.switch_to_block(threw);
    let exn = b.ins().load(POINTER_TYPE, trusted(), values, 0);
    let builtins = b.ins().load(
        POINTER_TYPE,
        trusted(),
        caller_vmctx,
        VMOffsets::BUILTINS as i32,
    );
    let throw_ref = b.ins().load(
        POINTER_TYPE,
        trusted(),
        builtins,
        Builtin::ThrowRef.table_offset() as i32,
    );
    let throw_sig = b.import_signature(Builtin::ThrowRef.signature(host_cc));
    b.ins()
        .call_indirect(throw_sig, throw_ref, &[caller_vmctx, exn]);
    b.ins().trap(trap_codes::UNCAUGHT_EXCEPTION);
    b.switch_to_block(not_thrown);
    b.ins().trapnz(status, trap_codes::HOST_ERROR);
    let results: Vec<ir::Value> = ty
        .results
        .iter()
        .enumerate()
        .map(|(i, t)| {
            b.ins().load(
                abi::clif_type(*t, &[]),
                trusted(),
                values,
                (i as u32 * VAL_RAW_SIZE) as i32,
            )
        })
        .collect();
    b.ins().return_(&results);
    b.finalize(frontend);
}

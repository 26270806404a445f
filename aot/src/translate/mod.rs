//! Translation of one WebAssembly function body to Cranelift IR.
//!
//! `mod.rs` holds the translator state and the loop that validates each
//! operator, then translates it; `visit.rs` dispatches every operator
//! (wasmparser's `VisitOperator`; SIMD in `simd.rs`). Operators are
//! translated by what they do: `control.rs` (structured control flow),
//! `numeric.rs` (pure arithmetic), `memory.rs`, `tables.rs`, `calls.rs` and
//! `variables.rs`; how any of them reaches the VMContext is `env.rs`'s.

mod calls;
mod control;
mod env;
mod exceptions;
mod gc;
mod interrupts;
mod memory;
mod numeric;
mod simd;
mod tables;
mod variables;
mod visit;

use cranelift_codegen::ir::{self, InstBuilder};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{FuncValidator, FunctionBody, ValidatorResources, VisitOperator};

use crate::CompileError;
use crate::abi;
use crate::encoding;
use crate::module::ModuleEnv;
use crate::tunables::Tunables;
use crate::vmoffsets::VMOffsets;

use control::ControlFrame;
use env::FuncEnv;

/// Reusable state for translating functions; one per compile worker.
pub struct FuncTranslator {
    frontend: TargetFrontendConfig,
    tunables: Tunables,
    /// Relaxed SIMD's `madd`/`nmadd` as one fused operation (see
    /// `Compiler::fused_madd`).
    fused_madd: bool,
    fctx: FunctionBuilderContext,
    stack: Vec<ir::Value>,
    control: Vec<ControlFrame>,
    locals: Vec<Variable>,
    /// Whether the last function translated touches the GC heap or
    /// converts between `extern` and `any`.
    pub uses_gc: bool,
}

impl FuncTranslator {
    pub fn new(frontend: TargetFrontendConfig, tunables: Tunables, fused_madd: bool) -> Self {
        FuncTranslator {
            frontend,
            tunables,
            fused_madd,
            fctx: FunctionBuilderContext::new(),
            stack: Vec::new(),
            control: Vec::new(),
            locals: Vec::new(),
            uses_gc: false,
        }
    }

    /// Translates the body of defined function `func_index` into `func`,
    /// validating every operator before translating it.
    pub fn translate(
        &mut self,
        env: &ModuleEnv,
        offsets: &VMOffsets,
        func_index: u32,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
        func: &mut ir::Function,
    ) -> Result<(), CompileError> {
        let result = self.translate_inner(env, offsets, func_index, body, validator, func);
        if result.is_err() {
            // A translation that stopped part-way leaves the builder context
            // holding that function's half-built SSA state; reusing it for
            // the next function would corrupt that one. Start afresh.
            self.fctx = FunctionBuilderContext::new();
        }
        result
    }

    fn translate_inner(
        &mut self,
        env: &ModuleEnv,
        offsets: &VMOffsets,
        func_index: u32,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
        func: &mut ir::Function,
    ) -> Result<(), CompileError> {
        self.stack.clear();
        self.control.clear();
        self.locals.clear();
        self.uses_gc = false;
        let disabled = self.tunables.disabled_features;
        let multi_memory = !disabled.contains(wasmparser::WasmFeatures::MULTI_MEMORY);
        let invalid = |e| CompileError::from_wasmparser_with(e, disabled);

        FuncEnv::declare_stack_limit(func);

        let mut builder = FunctionBuilder::new(func, &mut self.fctx);
        // With inlining on, every instruction of the function itself carries
        // source location 0; the compiler tags instructions inlined from a
        // callee with the callee's index + 1 (see `inline::inline_calls`).
        if self.tunables.inlining {
            builder.set_srcloc(ir::SourceLoc::new(0));
        }
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let params = builder.block_params(entry).to_vec();
        let vmctx = params[0];

        // Parameters and declared locals.
        let ty = env.func_type(func_index);
        let traced = |t| env.is_traced(t);
        for (i, t) in ty.params.iter().enumerate() {
            let var = builder.declare_var(abi::clif_type(*t, &env.types));
            if traced(*t) {
                builder.declare_var_needs_stack_map(var);
            }
            builder.def_var(var, params[2 + i]);
            self.locals.push(var);
        }
        let mut reader = body.get_binary_reader();
        read_locals(&mut reader, validator, disabled, |n, wt| {
            let ct = abi::clif_type(wt, &env.types);
            for _ in 0..n {
                let var = builder.declare_var(ct);
                if traced(wt) {
                    builder.declare_var_needs_stack_map(var);
                }
                // A non-nullable local has no default: validation proves
                // it is set before every read.
                if wt.is_defaultable() {
                    let zero = zero_value(&mut builder, ct);
                    builder.def_var(var, zero);
                }
                self.locals.push(var);
            }
            Ok(())
        })?;

        // The function body is a block whose end returns.
        let ret = builder.create_block();
        for t in &ty.results {
            builder.append_block_param(ret, abi::clif_type(*t, &env.types));
        }
        self.control
            .push(ControlFrame::function(ret, ty.results.len()));

        let mut t = Translator {
            env: FuncEnv::new(env, offsets, vmctx, self.frontend.default_call_conv),
            builder,
            stack: &mut self.stack,
            control: &mut self.control,
            locals: &self.locals,
            reachable: true,
            unreachable_depth: 0,
            tunables: self.tunables,
            fused_madd: self.fused_madd,
            fuel_var: None,
            fuel_pending: 0,
            handlers: Vec::new(),
            low_water: 0,
        };
        t.init_fuel();
        t.interrupt_checks();

        let mut ops = wasmparser::OperatorsReader::new(reader);
        while !ops.eof() {
            let offset = ops.original_position();
            let mut raw = ops.get_binary_reader();
            let op = ops.read().map_err(invalid)?;
            validator.op(offset, &op).map_err(invalid)?;
            let len = (ops.original_position() - offset) as usize;
            let raw = raw.read_bytes(len).map_err(invalid)?;
            encoding::check_operator(&op, raw, offset, multi_memory, |m| {
                env.memories.get(m as usize).is_some_and(|m| m.memory64)
            })?;
            t.low_water = t.stack.len();
            if t.reachable {
                t.charge(&op);
                t.visit_operator(&op)?;
            } else {
                t.translate_unreachable_op(&op)?;
            }
            if t.reachable {
                t.declare_pushed_refs(validator)?;
            }
        }
        ops.finish().map_err(invalid)?;
        self.uses_gc = t.env.uses_gc.get();
        t.builder.finalize(self.frontend);
        Ok(())
    }
}

/// Reads and validates a body's local declarations, calling `each(n, ty)`
/// for each group of `n` locals of type `ty`; leaves `reader` at the first
/// operator.
fn read_locals(
    reader: &mut wasmparser::BinaryReader<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    disabled: wasmparser::WasmFeatures,
    mut each: impl FnMut(u32, crate::module::WasmType) -> Result<(), CompileError>,
) -> Result<(), CompileError> {
    let invalid = |e| CompileError::from_wasmparser_with(e, disabled);
    let count = reader.read_var_u32().map_err(invalid)?;
    for _ in 0..count {
        let pos = reader.original_position();
        let n = reader.read_var_u32().map_err(invalid)?;
        let t: wasmparser::ValType = reader.read().map_err(invalid)?;
        validator.define_locals(pos, n, t).map_err(invalid)?;
        each(n, crate::module::WasmType::from_wasmparser_pub(t)?)?;
    }
    Ok(())
}

/// Validates one function body without translating it, with the same
/// checks as [`FuncTranslator::translate`] (wasmparser's validation and the
/// 2.0 encoding rules it leaves to us), so lazy compilation reports the
/// same errors up front that the eager compile does. Returns whether the
/// body has an operator of the GC prefix (`0xfb`): a superset of the
/// bodies the translator notes as touching the GC heap
/// (`ModuleEnv::code_uses_gc`); and the functions it calls directly
/// (`call`, `return_call`), each once, in the order of their first call.
pub fn validate_body(
    env: &ModuleEnv,
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    disabled: wasmparser::WasmFeatures,
) -> Result<(bool, Vec<u32>), CompileError> {
    let multi_memory = !disabled.contains(wasmparser::WasmFeatures::MULTI_MEMORY);
    let invalid = |e| CompileError::from_wasmparser_with(e, disabled);
    let mut reader = body.get_binary_reader();
    read_locals(&mut reader, validator, disabled, |_, _| Ok(()))?;
    let mut gc = false;
    let mut callees = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // The validator visits each operator as it is read (no `Operator` is
    // made, as in wasmparser's own `validate`); only operators with
    // encoding rules of our own (memory operators: their memarg or
    // reserved bytes) are also read as an `Operator` for those checks.
    let mut ops = wasmparser::OperatorsReader::new(reader);
    while !ops.eof() {
        let offset = ops.original_position();
        let start = ops.get_binary_reader();
        let mut peek = start.clone();
        let opcode = peek.read_u8().map_err(invalid)?;
        let checked = matches!(opcode, 0x28..=0x40 | 0xfc | 0xfd);
        let op = if checked {
            Some(start.peek_operator(&ops).map_err(invalid)?)
        } else {
            None
        };
        ops.visit_operator(&mut validator.visitor(offset))
            .map_err(invalid)?
            .map_err(invalid)?;
        gc |= opcode == 0xfb;
        if matches!(opcode, 0x10 | 0x12) {
            // `call` or `return_call`: the function index follows.
            let callee = peek.read_var_u32().map_err(invalid)?;
            if seen.insert(callee) {
                callees.push(callee);
            }
        }
        if let Some(op) = op {
            let len = (ops.original_position() - offset) as usize;
            let raw = start.clone().read_bytes(len).map_err(invalid)?;
            encoding::check_operator(&op, raw, offset, multi_memory, |m| {
                env.memories.get(m as usize).is_some_and(|m| m.memory64)
            })?;
        }
    }
    ops.finish().map_err(invalid)?;
    Ok((gc, callees))
}

/// The zero (or null) value of CLIF type `ty` ([`abi::clif_type`]'s).
fn zero_value(builder: &mut FunctionBuilder<'_>, ty: ir::Type) -> ir::Value {
    match ty {
        ir::types::F32 => builder.ins().f32const(0.0),
        ir::types::F64 => builder.ins().f64const(0.0),
        ir::types::I8X16 => {
            let c = builder.func.dfg.constants.insert(vec![0u8; 16].into());
            builder.ins().vconst(ir::types::I8X16, c)
        }
        int => builder.ins().iconst(int, 0),
    }
}

/// The state of translating one function.
pub(crate) struct Translator<'a, 'b> {
    /// Everything about reaching the VMContext.
    env: FuncEnv<'a>,
    builder: FunctionBuilder<'b>,
    stack: &'a mut Vec<ir::Value>,
    control: &'a mut Vec<ControlFrame>,
    locals: &'a [Variable],
    /// False after an unconditional branch, until the code is reachable again.
    reachable: bool,
    /// Nesting depth of blocks opened while unreachable.
    unreachable_depth: u32,
    tunables: Tunables,
    /// Relaxed SIMD's `madd`/`nmadd` as one fused operation.
    fused_madd: bool,
    /// The fuel counter while the function runs (fuel enabled only).
    fuel_var: Option<Variable>,
    /// Fuel of the operators since the last flush.
    fuel_pending: i64,
    /// The catch clauses of the open `try_table`s, outermost first.
    handlers: Vec<exceptions::HandlerScope>,
    /// The lowest operand stack height during the current operator: the
    /// values above it are new, and those holding heap references are
    /// declared for stack maps after the operator (`gc.rs`).
    low_water: usize,
}

impl Translator<'_, '_> {
    fn pop(&mut self) -> ir::Value {
        let v = self.stack.pop().expect("validation guarantees operands");
        self.low_water = self.low_water.min(self.stack.len());
        v
    }

    /// Drops the operand stack to `height` values.
    fn truncate_stack(&mut self, height: usize) {
        self.stack.truncate(height);
        self.low_water = self.low_water.min(self.stack.len());
    }

    fn pop2(&mut self) -> (ir::Value, ir::Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (ir::Value, ir::Value, ir::Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    fn push(&mut self, v: ir::Value) {
        self.stack.push(v);
    }
}

//! Lazy compilation (compile-on-first-call): what the compiler does up
//! front for a module whose functions compile one at a time, the first time
//! each is called, and the compiling of one such function.
//!
//! Up front ([`Compiler::prepare_lazy`]) the whole module is parsed and
//! every body validated (on all cores), exactly as the eager compile would,
//! so errors are as early and the same; the trampolines are compiled; and
//! the image gets one *stub* per defined function in place of its body:
//!
//! ```text
//! stub i:   jmp [rip + slot i]      ; the slot first points at the next line
//!           push i
//!           jmp resolve
//! resolve:  push [rip + state]      ; the runtime's per-module state
//!           jmp [rip + resolver]    ; the runtime's resolver
//! fail:     push rbp; mov rbp, rsp; ud2   ; a HOST_ERROR trap site
//! ```
//!
//! Every way of reaching function `i` (direct calls, tail calls, tables,
//! `ref.func`, exports, the start function) uses stub `i`'s address, so
//! nothing else changes. The slots, the state and the resolver pointer live
//! in a data area after the code ([`LazyLayout`]), which the runtime makes
//! writable but not executable. The resolver (the runtime's, written in
//! assembly) saves the argument registers, compiles function `i`
//! ([`Compiler::compile_lazy`]), places its code after the data area,
//! stores its address in slot `i` and jumps to it; a later call of the stub
//! costs one indirect jump. Lazily compiled code calls every callee through
//! its stub too, so rewriting the slots moves every call to other code (the
//! runtime's tier-up to the optimized image). If compiling fails the
//! resolver jumps to `fail`, which traps.
//!
//! Only x86-64 has stubs and a resolver so far
//! ([`Compiler::supports_lazy`]); elsewhere the engine compiles the whole
//! module with the baseline tier instead.

use std::ops::Range;

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::UserFuncName;
use wasmparser::{FuncToValidate, ValidatorResources, WasmFeatures};

use crate::CompileError;
use crate::compile::{Artifact, Compiler, WorkerState, patch_calls};
use crate::image::{
    CompiledFunction, HandlerTable, ImageTables, StackMapTable, TrapSite, TrapTable,
};
use crate::jobs::run_jobs;
use crate::module::{self, FunctionBodyInput, ModuleEnv};
use crate::vmoffsets::{VMOffsets, trap_codes};

/// Bytes of one stub.
pub const STUB_SIZE: u32 = 16;
/// Offset in a stub of its resolve path: what its slot holds until the
/// function is compiled.
pub const STUB_RESOLVE_OFFSET: u32 = 6;
/// Alignment of the data area and of the area for compiled code: the
/// largest page size of a supported host, so both can be protected apart
/// from the code before them.
pub const LAZY_ALIGN: u32 = 64 * 1024;

/// Where the parts of a lazy image are, as offsets from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyLayout {
    /// Offset of stub 0 (stub `i` is at `stubs + i * STUB_SIZE`).
    pub stubs: u32,
    /// Offset of the `fail` path (what the resolver jumps to when a
    /// function cannot be compiled).
    pub fail: u32,
    /// End of the executable part (trampolines, stubs, `resolve`, `fail`).
    pub code_len: u32,
    /// The data area: the state pointer (8 bytes), the resolver's address
    /// (8 bytes), then one 8-byte slot per defined function.
    pub data: u32,
    pub data_len: u32,
    /// Where compiled functions are placed from.
    pub area: u32,
}

impl LazyLayout {
    /// Offset of the state pointer the resolver receives.
    pub fn state(&self) -> u32 {
        self.data
    }

    /// Offset of the resolver's address.
    pub fn resolver(&self) -> u32 {
        self.data + 8
    }

    /// Offset of defined function `defined`'s slot.
    pub fn slot(&self, defined: u32) -> u32 {
        self.data + 16 + 8 * defined
    }

    /// Offset of defined function `defined`'s stub.
    pub fn stub(&self, defined: u32) -> u32 {
        self.stubs + STUB_SIZE * defined
    }
}

/// The validated bodies of a lazy module, to compile one at a time.
pub struct LazyBodies {
    /// `None` when the module has no bodies.
    resources: Option<ValidatorResources>,
    features: WasmFeatures,
    /// Per defined function: its type index (the validator's) and the
    /// byte range of its body.
    bodies: Vec<(u32, Range<usize>)>,
    /// Per defined function: the functions it calls directly, in the
    /// order of their first call.
    callees: Vec<Box<[u32]>>,
    /// Total bytes of function bodies.
    pub code_bytes: usize,
}

impl LazyBodies {
    /// The number of defined functions.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// The functions defined function `defined` calls directly (`call`,
    /// `return_call`), each once, in the order of their first call: what
    /// is worth compiling ahead while it runs.
    pub fn callees(&self, defined: u32) -> &[u32] {
        self.callees.get(defined as usize).map_or(&[], |c| c)
    }

    /// Whether the module defines no function.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    fn input(&self, env: &ModuleEnv, func_index: u32) -> Option<FunctionBodyInput> {
        let defined = func_index.checked_sub(env.num_imported_funcs)?;
        let (ty, range) = self.bodies.get(defined as usize)?.clone();
        Some(FunctionBodyInput {
            func_index,
            range,
            validator: FuncToValidate {
                resources: self.resources.clone()?,
                index: func_index,
                ty,
                features: self.features,
            },
        })
    }
}

/// What [`Compiler::prepare_lazy`] makes: the module's environment and an
/// image of trampolines and stubs (`artifact`, whose
/// `defined_func_offsets` are the stubs), where things are in it, and the
/// bodies still to compile.
pub struct LazyModule {
    pub artifact: Artifact,
    pub layout: LazyLayout,
    pub bodies: LazyBodies,
}

/// One lazily compiled function: its code, with its tables (offsets
/// relative to the code's start; `functions` is the one function, at
/// offset 0), and its calls still to resolve ([`relocate`](Self::relocate)).
pub struct LazyFunction {
    pub code: Vec<u8>,
    /// (offset in `code`, callee function index, addend, kind)
    calls: Vec<(u32, u32, i64, Reloc)>,
    pub tables: ImageTables,
}

impl LazyFunction {
    /// Writes the displacement of every call, for the code placed at
    /// address `at`: `target(callee)` is the address to call for defined
    /// function `callee` (its code, or its stub). An error if a target is
    /// out of reach or `None`.
    pub fn relocate(
        &mut self,
        at: usize,
        target: impl Fn(u32) -> Option<usize>,
    ) -> Result<(), String> {
        patch_calls(&mut self.code, 0, at as i64, &self.calls, |callee| {
            target(callee).map(|a| a as i64)
        })
    }
}

/// A compile worker's reusable state (Cranelift's and the translator's
/// allocations), for [`Compiler::compile_lazy`].
pub struct LazyWorker(WorkerState);

impl Compiler {
    /// Whether [`prepare_lazy`](Self::prepare_lazy) can make stubs for this
    /// compiler's target (x86-64 only so far).
    pub fn supports_lazy(&self) -> bool {
        self.isa().name() == "x64"
    }

    /// Parses and validates `wasm` whole (errors as [`Compiler::compile`]
    /// gives them), compiles its trampolines and lays out the lazy image:
    /// see the [module docs](self).
    pub fn prepare_lazy(&self, wasm: &[u8]) -> Result<LazyModule, CompileError> {
        if !self.supports_lazy() {
            return Err(CompileError::Unsupported(format!(
                "lazy compilation on {}",
                self.isa().name()
            )));
        }
        let disabled = self.tunables.disabled_features;
        let (mut env, inputs) = module::parse_with_features(wasm, self.features(), disabled)?;
        let mut resources = None;
        let mut features = WasmFeatures::empty();
        let mut bodies = Vec::with_capacity(inputs.len());
        let mut jobs = Vec::with_capacity(inputs.len());
        for input in inputs {
            let FuncToValidate {
                resources: r,
                index,
                ty,
                features: f,
            } = input.validator;
            bodies.push((ty, input.range.clone()));
            jobs.push((index, ty, input.range, r.clone()));
            features = f;
            resources.get_or_insert(r);
        }
        let code_bytes = bodies.iter().map(|(_, r)| r.len()).sum();
        // Validate every body, in function order on all cores, keeping the
        // lowest-numbered function's error as the eager compile does.
        let env_ref = &env;
        let results = run_jobs(
            self.parallel,
            jobs,
            |j| j.2.len(),
            wasmparser::FuncValidatorAllocations::default,
            |allocs, (index, ty, range, resources)| {
                let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
                    &wasm[range.clone()],
                    range.start as u64,
                ));
                let mut validator = FuncToValidate {
                    resources,
                    index,
                    ty,
                    features,
                }
                .into_validator(std::mem::take(allocs));
                let r = crate::translate::validate_body(env_ref, &body, &mut validator, disabled)
                    .map_err(|e| e.in_function(index, env_ref.func_name(index)));
                *allocs = validator.into_allocations();
                r
            },
        );
        let mut uses_gc = false;
        let mut callees = Vec::with_capacity(results.len());
        for r in results {
            let (gc, calls) = r?;
            uses_gc |= gc;
            callees.push(calls.into_boxed_slice());
        }
        env.code_uses_gc = uses_gc;

        let mut artifact = self.trampolines_only(env, false)?;
        let n = bodies.len() as u32;
        let stubs = (artifact.code.len() as u32).next_multiple_of(16);
        let resolve = stubs + STUB_SIZE * n;
        let fail = resolve + 12;
        let code_len = fail + 6;
        let data = code_len.next_multiple_of(LAZY_ALIGN);
        let data_len = 16 + 8 * n;
        let layout = LazyLayout {
            stubs,
            fail,
            code_len,
            data,
            data_len,
            area: (data + data_len).next_multiple_of(LAZY_ALIGN),
        };
        let code = &mut artifact.code;
        code.resize(stubs as usize, 0);
        // rip-relative displacement from the end of an instruction at `end`.
        let rel = |to: u32, end: u32| (to as i32).wrapping_sub(end as i32).to_le_bytes();
        for i in 0..n {
            let s = layout.stub(i);
            code.extend_from_slice(&[0xff, 0x25]); // jmp [rip + slot]
            code.extend_from_slice(&rel(layout.slot(i), s + 6));
            code.push(0x68); // push imm32
            code.extend_from_slice(&i.to_le_bytes());
            code.push(0xe9); // jmp rel32
            code.extend_from_slice(&rel(resolve, s + 16));
        }
        code.extend_from_slice(&[0xff, 0x35]); // push [rip + state]
        code.extend_from_slice(&rel(layout.state(), resolve + 6));
        code.extend_from_slice(&[0xff, 0x25]); // jmp [rip + resolver]
        code.extend_from_slice(&rel(layout.resolver(), resolve + 12));
        // fail: a frame record, so a backtrace starts at the caller.
        code.extend_from_slice(&[0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b]);
        debug_assert_eq!(code.len() as u32, code_len);
        artifact.tables.functions.push(CompiledFunction {
            func_index: CompiledFunction::TRAMPOLINE,
            offset: stubs,
            len: code_len - stubs,
        });
        let fail_site = TrapSite {
            offset: fail + 4,
            code: trap_codes::HOST_ERROR.as_raw().get(),
        };
        artifact.tables.traps = TrapTable::new(
            artifact
                .tables
                .traps
                .sites()
                .chain(std::iter::once(fail_site))
                .collect(),
        );
        artifact.defined_func_offsets = (0..n).map(|i| layout.stub(i)).collect();
        Ok(LazyModule {
            artifact,
            layout,
            bodies: LazyBodies {
                resources,
                features,
                bodies,
                callees,
                code_bytes,
            },
        })
    }

    /// A worker for [`compile_lazy`](Self::compile_lazy).
    pub fn lazy_worker(&self) -> LazyWorker {
        LazyWorker(self.worker_state())
    }

    /// Compiles function `func_index` of a module [`prepare_lazy`] made,
    /// on the calling thread. Its body was validated then; validating it
    /// again as it is translated (which the translator needs for the types
    /// of its operands) cannot fail.
    ///
    /// [`prepare_lazy`]: Self::prepare_lazy
    pub fn compile_lazy(
        &self,
        env: &ModuleEnv,
        offsets: &VMOffsets,
        bodies: &LazyBodies,
        wasm: &[u8],
        func_index: u32,
        worker: &mut LazyWorker,
    ) -> Result<LazyFunction, CompileError> {
        let input = bodies
            .input(env, func_index)
            .ok_or_else(|| CompileError::Codegen {
                func_index,
                message: "no such defined function".into(),
            })?;
        let state = &mut worker.0;
        let func = self.translate(env, offsets, wasm, input, &mut state.1)?;
        debug_assert_eq!(func.name, UserFuncName::user(0, func_index));
        let ctx = &mut state.0;
        ctx.clear();
        ctx.func = func;
        let f = self.finish(ctx, func_index, false)?;
        Ok(LazyFunction {
            tables: ImageTables {
                functions: vec![CompiledFunction {
                    func_index,
                    offset: 0,
                    len: f.code.len() as u32,
                }],
                traps: TrapTable::new(f.traps),
                handlers: HandlerTable::new(f.try_calls),
                stack_maps: StackMapTable::new(f.stack_maps),
            },
            code: f.code,
            calls: f.calls,
        })
    }
}

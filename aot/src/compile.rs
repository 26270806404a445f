//! Compiling a whole module: function bodies in parallel on all cores, the
//! trampolines the runtime needs, and one position-independent code image with
//! the calls between functions resolved.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{
    Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
    binemit::Reloc,
};
use cranelift_frontend::FunctionBuilderContext;

use crate::CompileError;
use crate::abi;
use crate::image::{
    CompiledFunction, HandlerTable, ImageTables, StackMapSite, StackMapTable, TrapSite, TrapTable,
    TryCallSite,
};
use crate::inline::{self, InlineBodies, InlineRange, InlineTable};
use crate::jobs::run_jobs;
use crate::module::{self, FunctionBodyInput, ModuleEnv};
use crate::trampolines::TrampolinePlan;
use crate::translate::FuncTranslator;
use crate::tunables::{Tier, Tunables, baseline_settings};
use crate::vmoffsets::VMOffsets;

/// The result of compiling a module: its environment and one code image.
/// Nothing in the image needs relocation when it is placed at any address.
#[derive(Debug)]
pub struct Artifact {
    pub env: ModuleEnv,
    pub offsets: VMOffsets,
    pub code: Vec<u8>,
    /// The image's function, trap, exception handler and stack map tables.
    pub tables: ImageTables,
    /// Offset of each defined function's body, indexed by defined index
    /// (function index minus imported functions).
    pub defined_func_offsets: Vec<u32>,
    /// Per module type index: the entry trampoline (host -> wasm) for that
    /// type, present for the types of functions the host can call (those
    /// with a funcref slot, and the start function).
    pub entry_trampolines: Vec<Option<u32>>,
    /// Per module type index: the host-call trampoline (wasm -> host) for
    /// that type, present for the types of imported functions.
    pub host_trampolines: Vec<Option<u32>>,
    /// Code ranges that came from inlined functions (for backtraces).
    pub inlined: InlineTable,
}

impl Artifact {
    /// The trap code at `offset` in the image, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<u8> {
        self.tables.trap_at(offset)
    }

    /// The function whose code contains `offset`.
    pub fn function_at(&self, offset: u32) -> Option<&CompiledFunction> {
        self.tables.function_at(offset)
    }
}

/// One function's machine code before layout.
pub(crate) struct FunctionCode {
    pub(crate) kind: u32,
    pub(crate) code: Vec<u8>,
    /// (offset in this function, callee function index, addend, kind)
    pub(crate) calls: Vec<(u32, u32, i64, Reloc)>,
    pub(crate) traps: Vec<TrapSite>,
    /// Code that came from inlined callees, relative to this function.
    pub(crate) inlined: Vec<InlineRange>,
    /// `try_call` sites, relative to this function.
    pub(crate) try_calls: Vec<TryCallSite>,
    /// Safepoints with stack maps, relative to this function.
    pub(crate) stack_maps: Vec<StackMapSite>,
}

/// One compile worker's reusable state.
pub(crate) type WorkerState = (Context, FuncTranslator, FunctionBuilderContext);

/// A unit of parallel compilation.
enum Job {
    Body(FunctionBodyInput),
    /// A body translated ahead (an inlining candidate), or the error its
    /// translation met.
    Translated(u32, Box<Result<ir::Function, CompileError>>),
    /// The trampoline for this type index: entry (host -> wasm) if `true`,
    /// else host-call (wasm -> host).
    Trampoline(usize, bool),
}

/// What WebAssembly SIMD needs of the CPU, for error messages.
pub const SIMD_CPU_REQUIREMENT: &str =
    "an x86-64 CPU with SSE4.1 (and SSSE3), which this compiler's target lacks";

/// Whether `isa` has the vector instructions the SIMD translation needs:
/// on x86-64, SSE4.1 and SSSE3 (Cranelift lowers rounding, blends,
/// `pshufb` shuffles and many lane operations with them, and falls back to
/// library calls we do not provide without them); every other 64-bit
/// target Cranelift supports has its vector extension as a baseline.
fn isa_supports_simd(isa: &dyn cranelift_codegen::isa::TargetIsa) -> bool {
    if isa.name() != "x64" {
        return true;
    }
    let flag = |name: &str| {
        isa.isa_flags()
            .iter()
            .any(|v| v.name == name && v.as_bool() == Some(true))
    };
    flag("has_sse41") && flag("has_ssse3")
}

/// A Cranelift compiler for the host CPU.
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// The proposals modules may use: [`module::supported_features`], less
    /// SIMD if the target lacks the instructions it needs.
    features: wasmparser::WasmFeatures,
    pub(crate) parallel: bool,
    pub(crate) tunables: Tunables,
    /// `NYASH_DUMP_CODE`: function indices (comma-separated, or `all`) whose
    /// optimised CLIF and machine code are printed on stderr as they are
    /// compiled. A debugging aid; it does not change the code.
    dump: Option<Vec<u32>>,
    /// [`fingerprint`](Self::fingerprint), computed once: every artifact
    /// load and cache lookup needs it.
    fingerprint: String,
}

impl Compiler {
    /// A compiler for the machine this runs on, with every CPU feature it has.
    pub fn native() -> Result<Self, CompileError> {
        Self::native_with_verifier(cfg!(debug_assertions))
    }

    /// [`native`](Self::native), with Cranelift's IR verifier on or off (on
    /// by default only in debug builds). With it on, IR that Cranelift would
    /// reject is a [`CompileError::Codegen`] naming the verifier's complaint
    /// rather than a wrong compilation or a panic deep in an optimisation
    /// pass: tests turn it on to check the translator and the inliner.
    pub fn native_with_verifier(verify: bool) -> Result<Self, CompileError> {
        Self::native_with_isa_flags(verify, &[])
    }

    /// [`native_with_verifier`](Self::native_with_verifier), with some of
    /// the host CPU's ISA flags overridden (Cranelift's names and values,
    /// e.g. `("has_avx", "false")`): code for a CPU with fewer features
    /// than this one, to test the code generator's other lowerings or to
    /// make artifacts for older machines. Enabling a feature the host lacks
    /// makes code that faults.
    pub fn native_with_isa_flags(
        verify: bool,
        isa_flags: &[(&str, &str)],
    ) -> Result<Self, CompileError> {
        Self::native_with_options(verify, isa_flags, Tier::Optimized)
    }

    /// [`native_with_isa_flags`](Self::native_with_isa_flags) for a code
    /// quality [`Tier`]. The tier's Cranelift settings are in the
    /// fingerprint, so the two tiers' artifacts never mix in a cache.
    pub fn native_with_options(
        verify: bool,
        isa_flags: &[(&str, &str)],
        tier: Tier,
    ) -> Result<Self, CompileError> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, k: &str, v: &str| {
            flags
                .set(k, v)
                .map_err(|e| CompileError::Unsupported(format!("cranelift setting {k}: {e}")))
        };
        match tier {
            Tier::Optimized => set(&mut flags, "opt_level", "speed")?,
            Tier::Baseline => {
                let (opt, regalloc) = baseline_settings();
                set(&mut flags, "opt_level", opt)?;
                set(&mut flags, "regalloc_algorithm", regalloc)?;
            }
        }
        set(&mut flags, "preserve_frame_pointers", "true")?;
        set(
            &mut flags,
            "enable_verifier",
            if verify { "true" } else { "false" },
        )?;
        set(&mut flags, "enable_probestack", "false")?;
        // Functions with more results than return registers (nine i64s on
        // x86-64) return the rest through a return area the caller provides;
        // both sides are our code, so the platform ABI does not matter here.
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(&mut flags, "unwind_info", "false")?;
        set(&mut flags, "enable_heap_access_spectre_mitigation", "false")?;
        let mut isa_builder = cranelift_native::builder()
            .map_err(|e| CompileError::Unsupported(format!("host CPU: {e}")))?;
        for (k, v) in isa_flags {
            isa_builder
                .set(k, v)
                .map_err(|e| CompileError::Unsupported(format!("ISA flag {k}={v}: {e}")))?;
        }
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| CompileError::Unsupported(format!("host CPU: {e}")))?;
        let dump = std::env::var("NYASH_DUMP_CODE").ok().map(|v| {
            if v == "all" {
                Vec::new()
            } else {
                v.split(',').filter_map(|i| i.trim().parse().ok()).collect()
            }
        });
        let features = if isa_supports_simd(&*isa) {
            module::supported_features()
        } else {
            module::supported_features()
                .difference(wasmparser::WasmFeatures::SIMD | wasmparser::WasmFeatures::RELAXED_SIMD)
        };
        let mut compiler = Compiler {
            isa,
            features,
            parallel: true,
            tunables: Tunables::default(),
            dump,
            fingerprint: String::new(),
        };
        compiler.fingerprint = compiler.compute_fingerprint();
        Ok(compiler)
    }

    /// Whether to compile function bodies on all cores (default) or on the
    /// calling thread only.
    pub fn with_parallelism(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    pub fn with_tunables(mut self, tunables: Tunables) -> Self {
        self.tunables = tunables;
        self.fingerprint = self.compute_fingerprint();
        self
    }

    /// Whether `relaxed_madd`/`relaxed_nmadd` compile to a fused
    /// multiply-add: only in the non-deterministic mode, and on x86-64 only
    /// with FMA (Cranelift would otherwise need a library call per lane).
    fn fused_madd(&self) -> bool {
        !self.tunables.relaxed_simd_deterministic
            && (self.isa.name() != "x64"
                || self
                    .isa
                    .isa_flags()
                    .iter()
                    .any(|v| v.name == "has_fma" && v.as_bool() == Some(true)))
    }

    pub fn isa(&self) -> &dyn cranelift_codegen::isa::TargetIsa {
        &*self.isa
    }

    /// The WebAssembly proposals this compiler accepts: WebAssembly 2.0,
    /// without SIMD if its target CPU lacks what SIMD needs
    /// ([`SIMD_CPU_REQUIREMENT`]); a module using SIMD is then
    /// [`CompileError::Unsupported`] with a message saying so.
    pub fn features(&self) -> wasmparser::WasmFeatures {
        self.features
    }

    /// A stable description of everything that affects generated code: the
    /// target triple and every shared and ISA-specific flag.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn compute_fingerprint(&self) -> String {
        let mut s = format!("{};{:?}", self.isa.triple(), self.tunables);
        for v in self.isa.flags().iter() {
            s.push_str(&format!(";{v}"));
        }
        for v in self.isa.isa_flags() {
            s.push_str(&format!(";{v}"));
        }
        s
    }

    /// Parses, validates and compiles `wasm`.
    pub fn compile(&self, wasm: &[u8]) -> Result<Artifact, CompileError> {
        self.compile_with_progress(wasm, &|_, _| {})
    }

    /// [`Compiler::compile`], calling `progress(done, total)` from the
    /// compiling threads as each job of the main pass (a function body or a
    /// trampoline) finishes.
    pub fn compile_with_progress(
        &self,
        wasm: &[u8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Artifact, CompileError> {
        let (env, bodies) =
            module::parse_with_features(wasm, self.features, self.tunables.disabled_features)?;
        let offsets = VMOffsets::new(&env);
        let plan = TrampolinePlan::new(&env, false);
        // First pass: translate the small bodies that may be inlined, so
        // their CLIF is there for every caller in the second pass.
        let small = |b: &FunctionBodyInput| {
            self.tunables.inlining && b.range.len() <= inline::MAX_BODY_BYTES
        };
        let (small, rest): (Vec<_>, Vec<_>) = bodies.into_iter().partition(small);
        // Whether any body touches the GC heap (`ModuleEnv::code_uses_gc`).
        let uses_gc = std::sync::atomic::AtomicBool::new(false);
        let note_gc = |translator: &FuncTranslator| {
            if translator.uses_gc {
                uses_gc.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let translate = |translator: &mut FuncTranslator, input: FunctionBodyInput| {
            let index = input.func_index;
            let r = self.translate(&env, &offsets, wasm, input, translator);
            note_gc(translator);
            (index, r)
        };
        let new_translator =
            || FuncTranslator::new(self.isa.frontend_config(), self.tunables, self.fused_madd());
        let translated: Vec<(u32, Result<ir::Function, CompileError>)> = run_jobs(
            self.parallel,
            small,
            |b| b.range.len(),
            new_translator,
            translate,
        );
        let defined = |f: u32| (f - env.num_imported_funcs) as usize;
        let mut inline_bodies: Vec<Option<ir::Function>> =
            vec![None; env.num_defined_funcs() as usize];
        for (f, r) in &translated {
            if let Ok(func) = r
                && inline::is_candidate(func)
            {
                inline_bodies[defined(*f)] = Some(func.clone());
            }
        }
        let inline_bodies = InlineBodies::new(&env, &inline_bodies);

        // Second pass: every function body (inlining into it) and the
        // trampolines, in one parallel pass, so no compilation is left for a
        // serial tail. Jobs stay in function index order, so the first error
        // reported is the lowest-numbered function's. Small modules are
        // compiled on this thread: handing a few tiny functions to the pool
        // costs more than it saves.
        let mut jobs: Vec<Job> = rest
            .into_iter()
            .map(Job::Body)
            .chain(
                translated
                    .into_iter()
                    .map(|(f, r)| Job::Translated(f, Box::new(r))),
            )
            .collect();
        jobs.sort_by_key(|j| match j {
            Job::Body(b) => b.func_index,
            Job::Translated(f, _) => *f,
            Job::Trampoline(..) => u32::MAX,
        });
        jobs.extend(
            plan.trampolines()
                .map(|(t, entry)| Job::Trampoline(t, entry)),
        );
        let total = jobs.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let run = |state: &mut WorkerState, job: Job| {
            let r = match job {
                Job::Body(input) => {
                    let index = input.func_index;
                    let func = self.translate(&env, &offsets, wasm, input, &mut state.1)?;
                    note_gc(&state.1);
                    self.compile_function(func, index, &inline_bodies, state)
                }
                Job::Translated(index, func) => {
                    self.compile_function((*func)?, index, &inline_bodies, state)
                }
                Job::Trampoline(ty, entry) => {
                    self.compile_trampoline(&env.representation_of(ty as u32), entry, state)
                }
            };
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            r
        };
        let cost = |j: &Job| match j {
            Job::Body(b) => b.range.len(),
            // About three bytes of wasm per CLIF instruction.
            Job::Translated(_, r) => r.as_ref().as_ref().map_or(0, |f| 3 * f.dfg.num_insts()),
            Job::Trampoline(..) => 64,
        };
        let mut results: Vec<Result<FunctionCode, CompileError>> =
            run_jobs(self.parallel, jobs, cost, || self.worker_state(), run);
        let mut funcs = Vec::with_capacity(results.len());
        for r in results.drain(..) {
            funcs.push(r?);
        }
        let trampolines = funcs.split_off(funcs.len() - plan.len());
        let mut env = env;
        env.code_uses_gc = uses_gc.into_inner();
        self.link(env, offsets, funcs, &plan, trampolines)
    }

    pub(crate) fn worker_state(&self) -> WorkerState {
        (
            Context::new(),
            FuncTranslator::new(self.isa.frontend_config(), self.tunables, self.fused_madd()),
            FunctionBuilderContext::new(),
        )
    }

    /// Lays out the code image: defined functions, then trampolines.
    pub(crate) fn link(
        &self,
        env: ModuleEnv,
        offsets: VMOffsets,
        funcs: Vec<FunctionCode>,
        plan: &TrampolinePlan,
        trampolines: Vec<FunctionCode>,
    ) -> Result<Artifact, CompileError> {
        // Layout: defined functions, then trampolines.
        let align = self.isa.function_alignment().preferred.max(16) as usize;
        let mut image = Vec::new();
        let mut functions = Vec::new();
        let mut traps = Vec::new();
        let mut inlined = Vec::new();
        let mut try_calls = Vec::new();
        let mut stack_maps = Vec::new();
        let mut place = |f: &FunctionCode, image: &mut Vec<u8>| -> u32 {
            let pad = image.len().next_multiple_of(align) - image.len();
            image.extend(std::iter::repeat_n(0u8, pad));
            let offset = image.len() as u32;
            image.extend_from_slice(&f.code);
            functions.push(CompiledFunction {
                func_index: f.kind,
                offset,
                len: f.code.len() as u32,
            });
            traps.extend(f.traps.iter().map(|t| TrapSite {
                offset: offset + t.offset,
                code: t.code,
            }));
            inlined.extend(f.inlined.iter().map(|r| InlineRange {
                start: offset + r.start,
                end: offset + r.end,
                func_index: r.func_index,
            }));
            try_calls.extend(f.try_calls.iter().map(|s| {
                TryCallSite {
                    ret_addr: offset + s.ret_addr,
                    handlers: s
                        .handlers
                        .iter()
                        .map(|&(tag, target)| (tag, offset + target))
                        .collect(),
                    ..*s
                }
            }));
            stack_maps.extend(f.stack_maps.iter().map(|s| StackMapSite {
                ret_addr: offset + s.ret_addr,
                span: s.span,
                slots: s.slots.clone(),
            }));
            offset
        };
        let defined_func_offsets: Vec<u32> = funcs.iter().map(|f| place(f, &mut image)).collect();
        let trampoline_offsets: Vec<u32> =
            trampolines.iter().map(|f| place(f, &mut image)).collect();

        // Resolve calls between functions: PC-relative, so the image can be
        // placed anywhere without further relocation.
        for (f, &base) in funcs.iter().zip(&defined_func_offsets) {
            let target = |callee: u32| {
                let defined = callee.checked_sub(env.num_imported_funcs)?;
                defined_func_offsets
                    .get(defined as usize)
                    .map(|&o| o as i64)
            };
            patch_calls(&mut image, base as usize, base as i64, &f.calls, target).map_err(
                |message| CompileError::Codegen {
                    func_index: f.kind,
                    message,
                },
            )?;
        }
        let tables = ImageTables {
            functions,
            traps: TrapTable::new(traps),
            handlers: HandlerTable::new(try_calls),
            stack_maps: StackMapTable::new(stack_maps),
        };

        Ok(Artifact {
            env,
            offsets,
            code: image,
            tables,
            defined_func_offsets,
            entry_trampolines: plan
                .entry
                .iter()
                .map(|i| i.map(|i| trampoline_offsets[i]))
                .collect(),
            host_trampolines: plan
                .host
                .iter()
                .map(|i| i.map(|i| trampoline_offsets[i]))
                .collect(),
            inlined: InlineTable::new(inlined),
        })
    }

    /// Validates and translates one function body to CLIF.
    pub(crate) fn translate(
        &self,
        env: &ModuleEnv,
        offsets: &VMOffsets,
        wasm: &[u8],
        input: FunctionBodyInput,
        translator: &mut FuncTranslator,
    ) -> Result<ir::Function, CompileError> {
        let func_index = input.func_index;
        let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
            &wasm[input.range.clone()],
            input.range.start as u64,
        ));
        let mut validator = input
            .validator
            .into_validator(wasmparser::FuncValidatorAllocations::default());
        let mut func = ir::Function::with_name_signature(
            UserFuncName::user(0, func_index),
            abi::wasm_signature(env.func_type(func_index), &env.types),
        );
        translator
            .translate(env, offsets, func_index, &body, &mut validator, &mut func)
            .map_err(|e| e.in_function(func_index, env.func_name(func_index)))?;
        Ok(func)
    }

    /// Inlines into a translated function and compiles it.
    fn compile_function(
        &self,
        func: ir::Function,
        func_index: u32,
        inline_bodies: &InlineBodies<'_>,
        (ctx, _, _): &mut WorkerState,
    ) -> Result<FunctionCode, CompileError> {
        ctx.clear();
        ctx.func = func;
        let inlined = inline::inline_calls(ctx, inline_bodies, func_index)?;
        self.finish(ctx, func_index, inlined > 0)
    }

    /// Compiles the function in `ctx` and collects its code, calls and traps,
    /// and with `inlined`, the ranges of code from inlined callees.
    pub(crate) fn finish(
        &self,
        ctx: &mut Context,
        kind: u32,
        inlined: bool,
    ) -> Result<FunctionCode, CompileError> {
        let codegen_error = |message: String| CompileError::Codegen {
            func_index: kind,
            message,
        };
        let names = ctx.func.params.user_named_funcs().clone();
        let dump = self
            .dump
            .as_ref()
            .is_some_and(|d| d.is_empty() || d.contains(&kind));
        ctx.set_disasm(dump);
        let compiled = ctx
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| codegen_error(format!("{:?}", e.inner)))?;
        let mut calls = Vec::new();
        for r in compiled.buffer.relocs() {
            match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    let name = &names[*name];
                    calls.push((r.offset, name.index, r.addend, r.kind));
                }
                other => {
                    return Err(codegen_error(format!(
                        "unexpected relocation {:?} to {other:?} (a CPU feature the \
                         generated code needs may be missing, e.g. SSE4.1)",
                        r.kind
                    )));
                }
            }
        }
        let traps = compiled
            .buffer
            .traps()
            .iter()
            .map(|t| TrapSite {
                offset: t.offset,
                code: t.code.as_raw().get(),
            })
            .collect();
        let mut try_calls = Vec::new();
        for site in compiled.buffer.call_sites() {
            if site.exception_handlers.is_empty() {
                continue;
            }
            let mut vmctx_sp_offset = None;
            let mut handlers = Vec::new();
            for h in site.exception_handlers {
                match h {
                    FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(o)) => {
                        vmctx_sp_offset = Some(*o)
                    }
                    FinalizedMachExceptionHandler::Context(ExceptionContextLoc::GPR(_)) => {
                        return Err(codegen_error(
                            "exception context in a register at a try_call".into(),
                        ));
                    }
                    FinalizedMachExceptionHandler::Tag(tag, target) => {
                        handlers.push((tag.as_u32(), *target))
                    }
                    FinalizedMachExceptionHandler::Default(_) => {
                        return Err(codegen_error(
                            "catch-all clauses are recorded as tags, not defaults".into(),
                        ));
                    }
                }
            }
            let (Some(frame_offset), Some(vmctx_sp_offset)) = (site.frame_offset, vmctx_sp_offset)
            else {
                return Err(codegen_error(
                    "try_call without a frame offset or exception context".into(),
                ));
            };
            try_calls.push(TryCallSite {
                ret_addr: site.ret_addr,
                frame_offset,
                vmctx_sp_offset,
                handlers,
            });
        }
        let mut stack_maps = Vec::new();
        for (ret_addr, span, map) in compiled.buffer.user_stack_maps() {
            let mut slots = Vec::new();
            for (ty, offset) in map.entries() {
                if ty != ir::types::I32 {
                    return Err(codegen_error(format!(
                        "a stack-map entry of type {ty}: heap references are I32"
                    )));
                }
                slots.push(offset);
            }
            if !slots.is_empty() {
                stack_maps.push(StackMapSite {
                    ret_addr: *ret_addr,
                    span: *span,
                    slots,
                });
            }
        }
        let inlined = if inlined {
            let srclocs = compiled.buffer.get_srclocs_sorted().iter();
            inline::inline_ranges(srclocs.map(|s| (s.start, s.end, s.loc)))
        } else {
            Vec::new()
        };
        let code = compiled.code_buffer().to_vec();
        if dump {
            eprintln!(
                "; function {kind}\n{}\n{}",
                ctx.func.display(),
                ctx.compiled_code()
                    .and_then(|c| c.vcode.as_deref())
                    .unwrap_or("")
            );
        }
        // A big function leaves the context's tables (the register
        // allocator's hash sets among them) at its size, and clearing them
        // for every later function costs in proportion: start afresh after
        // one (RATIONALE.md, "Why does a compile worker drop its context
        // after a big function?").
        if code.len() >= FRESH_CONTEXT_AFTER {
            *ctx = Context::new();
        } else {
            ctx.clear();
        }
        Ok(FunctionCode {
            kind,
            code,
            calls,
            traps,
            inlined,
            try_calls,
            stack_maps,
        })
    }
}

/// Machine code size of a function after which its compile worker makes
/// a new Cranelift context rather than clearing the one it used.
const FRESH_CONTEXT_AFTER: usize = 16 << 10;

/// Writes the displacement of every call in `calls` (offset in the code,
/// callee, addend, kind) of the code at `code[start..]`, which runs at
/// `address`; `target(callee)` is the address the callee runs at. The
/// same arithmetic for a whole image (addresses are image offsets) and for
/// one function placed lazily (real addresses).
pub(crate) fn patch_calls(
    code: &mut [u8],
    start: usize,
    address: i64,
    calls: &[(u32, u32, i64, Reloc)],
    target: impl Fn(u32) -> Option<i64>,
) -> Result<(), String> {
    for &(at, callee, addend, kind) in calls {
        let to = target(callee)
            .ok_or_else(|| format!("call to function {callee}, which is not defined here"))?;
        let site = address + at as i64;
        patch(code, start + at as usize, to + addend - site, kind)?;
    }
    Ok(())
}

/// Writes a PC-relative call displacement.
fn patch(image: &mut [u8], at: usize, delta: i64, kind: Reloc) -> Result<(), String> {
    match kind {
        Reloc::X86CallPCRel4 | Reloc::X86CallPLTRel4 | Reloc::X86PCRel4 => {
            let v = i32::try_from(delta).map_err(|_| "call displacement out of range")?;
            image[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Reloc::Arm64Call => {
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err("call displacement out of range".into());
            }
            let insn = u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
            let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
            image[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm26).to_le_bytes());
        }
        other => return Err(format!("unsupported relocation kind {other:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Progress is reported once per job of the main pass, ending at the
    /// total: every function body and trampoline.
    #[test]
    fn progress_counts_every_job() {
        let wasm = wat::parse_str(
            r#"(module
              (func (export "a") (result i32) i32.const 1)
              (func (export "b") (param i32) (result i32) local.get 0)
              (func (export "c") (param i64) (result i64) local.get 0))"#,
        )
        .unwrap();
        for parallel in [false, true] {
            let compiler = Compiler::native().unwrap().with_parallelism(parallel);
            let seen = std::sync::Mutex::new(Vec::new());
            compiler
                .compile_with_progress(&wasm, &|done, total| {
                    seen.lock().unwrap().push((done, total))
                })
                .unwrap();
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            let total = seen[0].1;
            // Three bodies, and an entry trampoline per exported type.
            assert!(total >= 3 + 3, "{seen:?}");
            assert_eq!(
                seen,
                (1..=total).map(|d| (d, total)).collect::<Vec<_>>(),
                "parallel: {parallel}"
            );
        }
    }

    /// The heap strategies with checks produce IR Cranelift accepts, with a
    /// check per access: compile a 32-bit module's body as if its memory
    /// were 64-bit (a check that the index fits in 32 bits) or had 1-byte
    /// pages (an explicit bounds check), with the verifier on.
    #[test]
    fn bounds_checked_memory_compiles() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
              (func (param i32) (result i64)
                local.get 0 i32.const 7 i32.store8 offset=3
                local.get 0 i64.load offset=0xffffffff))"#,
        )
        .unwrap();
        let compiler = Compiler::native_with_verifier(true).unwrap();
        let traps = |memory64: bool, page_size_log2: Option<u32>| {
            let (mut env, mut bodies) =
                module::parse(&wasm, wasmparser::WasmFeatures::empty()).unwrap();
            env.memories[0].memory64 = memory64;
            env.memories[0].page_size_log2 = page_size_log2;
            let offsets = VMOffsets::new(&env);
            let mut state = compiler.worker_state();
            let func = compiler
                .translate(&env, &offsets, &wasm, bodies.remove(0), &mut state.1)
                .unwrap();
            let none = InlineBodies::new(&env, &[]);
            let code = compiler
                .compile_function(func, 0, &none, &mut state)
                .unwrap();
            code.traps.len()
        };
        // Guard pages: the two accesses are the trap sites. A 64-bit memory
        // adds the index check (one: both accesses use the same index);
        // bounds checks add a trapping compare (and an overflow check) per
        // access.
        let guarded = traps(false, None);
        let high_check = traps(true, None);
        let checked = traps(true, Some(0));
        assert!(guarded >= 2, "{guarded}");
        assert!(high_check > guarded, "{high_check} vs {guarded}");
        assert!(checked >= guarded + 2, "{checked} vs {guarded}");
    }
}

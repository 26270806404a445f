//! Differential testing against the `wasmi` interpreter: a fixed set of
//! `wasm-smith` modules (fixed seeds, made to terminate; WebAssembly 2.0,
//! SIMD and relaxed SIMD included, NaNs canonicalized), every export called in both engines,
//! results, traps, globals and memories compared.
//!
//! `DIFF_SEED=n` runs one seed; `DIFF_DUMP=dir` writes failing modules there;
//! `DIFF_COUNT=n` changes how many seeds run; `DIFF_WASM=file` runs one
//! module from a file (`.wasm` or `.wat`), to reduce a failing one by hand;
//! `DIFF_CPU_OFF=has_avx,has_sse42` compiles without those CPU features
//! ([`ny::Config::disable_cpu_feature`]).

use std::panic::{AssertUnwindSafe, catch_unwind};

use arbitrary::Unstructured;
use nyash_engine as ny;
use nyash_test_util::{seed_bytes, smith_base_config};

const DEFAULT_COUNT: u64 = 2500;
/// Bounds on a run that compares too little (runs of 100 seeds or more).
const MAX_UNGENERATED_PERCENT: u64 = 5;
const MAX_TRAPPED_AT_START_PERCENT: u64 = 25;
const MIN_CALLS_PER_MODULE: u64 = 2;
const MIN_SIMD_PERCENT: u64 = 20;
const MIN_RELAXED_PERCENT: u64 = 10;
/// The largest linear memory in both engines. wasmi's memories are heap
/// vectors, so a module growing two 64-bit memories to our default 4 GiB
/// each made wasmi commit 8 GiB (seed 17806).
const MAX_MEMORY_BYTES: u64 = 64 << 20;

/// Whether a module uses SIMD (a `v128` type or operator): it does not
/// validate without it.
fn uses_simd(wasm: &[u8]) -> bool {
    let without = wasmparser::WasmFeatures::WASM2.difference(wasmparser::WasmFeatures::SIMD);
    wasmparser::Validator::new_with_features(without)
        .validate_all(wasm)
        .is_err()
}

/// [`smith_base_config`] with what both engines can run: exceptions off
/// (wasmi lacks them), no imports, small memories.
// One assignment per line reads as a list of switches, easy to diff.
#[allow(clippy::field_reassign_with_default)]
fn smith_config() -> wasm_smith::Config {
    let mut c = smith_base_config();
    // On, with the operators whose results may differ rewritten by
    // [`harmonize_relaxed`] so that both engines' documented choices agree.
    c.relaxed_simd_enabled = true;
    // NaN bits are not deterministic across engines, and v128 operators
    // turn them into integer lanes: wasm-smith canonicalizes every NaN a
    // float operator makes, so results and memories compare exactly.
    c.canonicalize_nans = true;
    // Off, and with it typed function references: wasm-smith generates
    // those only together with GC (`gc_enabled` switches both wasmparser
    // features), and wasmi 2.0 supports neither; the spec sets
    // `proposals/function-references` and `wasm-v3` cover them.
    c.gc_enabled = false;
    c.exceptions_enabled = false;
    c.max_imports = 0;
    c.min_imports = 0;
    c.min_funcs = 3;
    c.max_instructions = 200;
    c.max_memory32_bytes = 2 << 20;
    c.max_memory64_bytes = 2 << 20;
    c
}

fn generate(seed: u64) -> Option<Vec<u8>> {
    let bytes = seed_bytes(seed, 16384);
    let mut u = Unstructured::new(&bytes);
    let mut module = wasm_smith::Module::new(smith_config(), &mut u).ok()?;
    module.ensure_termination(1000).ok()?;
    harmonize_relaxed(&module.to_bytes()).ok()
}

/// What a module's relaxed SIMD operators need before the two engines'
/// results can be compared.
#[derive(Default)]
struct RelaxedUse {
    /// Any relaxed operator at all.
    any: bool,
    /// `f32x4/f64x2.relaxed_madd/nmadd`: wasmi always fuses them.
    madd: bool,
}

/// Rewrites a module so that its relaxed SIMD operators give the same results
/// in wasmi and in nyash-engine, whose choices are documented in RATIONALE.md
/// ("Which results does relaxed SIMD give?"). wasmi makes the same choices
/// (each relaxed operator as its non-relaxed counterpart, `madd` fused) except:
///
/// - `i32x4.relaxed_dot_i8x16_i7x16_add_s`: wasmi adds each pair of products
///   with 16-bit wrap-around before widening, we sum exactly in 32 bits. The
///   two agree whenever the second operand's lanes are in the proposal's
///   deterministic range 0..=127, so the rewrite masks it with `0x7f` (both
///   dot products, to keep them alike).
/// - NaN results: wasm-smith canonicalizes the NaNs that non-relaxed float
///   operators make, not those of `relaxed_min/max/madd/nmadd`; the rewrite
///   does the same after each of them (a NaN's payload is nondeterministic).
/// - `madd`/`nmadd` are fused in wasmi; ours only where the CPU has FMA and
///   the deterministic mode is off. Modules using them are compared only
///   where ours are fused too ([`ours_fuse_madd`]).
fn harmonize_relaxed(wasm: &[u8]) -> Result<Vec<u8>, String> {
    use wasm_encoder::reencode::Reencode;
    let (params, _) = relaxed_use_and_params(wasm)?;
    let mut h = Harmonize { params, next: 0 };
    let mut out = wasm_encoder::Module::new();
    h.parse_core_module(&mut out, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("re-encoding: {e:?}"))?;
    Ok(out.finish())
}

/// The parameter count of each defined function, and which relaxed
/// operators the module uses.
fn relaxed_use_and_params(wasm: &[u8]) -> Result<(Vec<u32>, RelaxedUse), String> {
    use wasmparser::{Operator as O, Payload};
    let mut type_params = Vec::new();
    let mut params = Vec::new();
    let mut used = RelaxedUse::default();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(r) => {
                for t in r.into_iter_err_on_gc_types() {
                    type_params.push(t.map_err(|e| e.to_string())?.params().len() as u32);
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    let t = t.map_err(|e| e.to_string())?;
                    params.push(type_params.get(t as usize).copied().unwrap_or(0));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().map_err(|e| e.to_string())?;
                while !ops.eof() {
                    match ops.read().map_err(|e| e.to_string())? {
                        O::F32x4RelaxedMadd
                        | O::F32x4RelaxedNmadd
                        | O::F64x2RelaxedMadd
                        | O::F64x2RelaxedNmadd => {
                            used.any = true;
                            used.madd = true;
                        }
                        O::I8x16RelaxedSwizzle
                        | O::I32x4RelaxedTruncF32x4S
                        | O::I32x4RelaxedTruncF32x4U
                        | O::I32x4RelaxedTruncF64x2SZero
                        | O::I32x4RelaxedTruncF64x2UZero
                        | O::I8x16RelaxedLaneselect
                        | O::I16x8RelaxedLaneselect
                        | O::I32x4RelaxedLaneselect
                        | O::I64x2RelaxedLaneselect
                        | O::F32x4RelaxedMin
                        | O::F32x4RelaxedMax
                        | O::F64x2RelaxedMin
                        | O::F64x2RelaxedMax
                        | O::I16x8RelaxedQ15mulrS
                        | O::I16x8RelaxedDotI8x16I7x16S
                        | O::I32x4RelaxedDotI8x16I7x16AddS => used.any = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok((params, used))
}

/// Whether our `relaxed_madd`/`nmadd` are fused, as wasmi's always are: on
/// a CPU with FMA (not switched off with `DIFF_CPU_OFF`) in the default,
/// non-deterministic mode, and always on aarch64.
fn ours_fuse_madd() -> bool {
    let off = std::env::var("DIFF_CPU_OFF").unwrap_or_default();
    #[cfg(target_arch = "x86_64")]
    let has = std::arch::is_x86_feature_detected!("fma")
        && !off.split(',').any(|f| f == "has_fma" || f == "has_avx");
    #[cfg(not(target_arch = "x86_64"))]
    let has = {
        let _ = off;
        true
    };
    has
}

/// The re-encoder behind [`harmonize_relaxed`].
struct Harmonize {
    /// Parameter count of each defined function.
    params: Vec<u32>,
    /// The next defined function's index among the defined ones.
    next: usize,
}

impl wasm_encoder::reencode::Reencode for Harmonize {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        use wasm_encoder::Instruction as I;
        use wasmparser::Operator as O;
        let params = self.params.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            declared += n;
            locals.push((n, self.val_type(ty)?));
        }
        // One scratch `v128` local after the function's own.
        let scratch = params + declared;
        locals.push((1, wasm_encoder::ValType::V128));
        let mut f = wasm_encoder::Function::new(locals);
        let i7 = I::V128Const(i128::from_le_bytes([0x7f; 16]));
        let canon32 = I::V128Const(i128::from_le_bytes(
            [0x7fc0_0000u32.to_le_bytes(); 4]
                .concat()
                .try_into()
                .unwrap(),
        ));
        let canon64 = I::V128Const(i128::from_le_bytes(
            [0x7ff8_0000_0000_0000u64.to_le_bytes(); 2]
                .concat()
                .try_into()
                .unwrap(),
        ));
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            // Before: the dot products' second operand into 0..=127.
            match op {
                O::I16x8RelaxedDotI8x16I7x16S => {
                    f.instruction(&i7);
                    f.instruction(&I::V128And);
                }
                O::I32x4RelaxedDotI8x16I7x16AddS => {
                    f.instruction(&I::LocalSet(scratch));
                    f.instruction(&i7);
                    f.instruction(&I::V128And);
                    f.instruction(&I::LocalGet(scratch));
                }
                _ => {}
            }
            // After: NaN lanes of the float results made canonical.
            let canon = match op {
                O::F32x4RelaxedMadd
                | O::F32x4RelaxedNmadd
                | O::F32x4RelaxedMin
                | O::F32x4RelaxedMax => Some((&canon32, I::F32x4Eq)),
                O::F64x2RelaxedMadd
                | O::F64x2RelaxedNmadd
                | O::F64x2RelaxedMin
                | O::F64x2RelaxedMax => Some((&canon64, I::F64x2Eq)),
                _ => None,
            };
            f.instruction(&self.instruction(op)?);
            if let Some((nan, eq)) = canon {
                // bitselect(x, nan, x == x): x where a lane is a number.
                f.instruction(&I::LocalTee(scratch));
                f.instruction(nan);
                f.instruction(&I::LocalGet(scratch));
                f.instruction(&I::LocalGet(scratch));
                f.instruction(&eq);
                f.instruction(&I::V128Bitselect);
            }
        }
        code.function(&f);
        Ok(())
    }
}

/// What one call did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Values(Vec<Value>),
    Trap(String),
    /// Stack exhaustion: the engines' limits differ, so not comparable.
    Exhausted,
}

#[derive(Debug, Clone)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    Ref(bool),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (I32(a), I32(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            // NaN bit patterns are not deterministic across engines.
            (F32(a), F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (F64(a), F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (V128(a), V128(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            _ => false,
        }
    }
}

fn args_for(params: &[ny::ValType], variant: u32) -> Vec<Value> {
    params
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let k = (variant as i64) * (i as i64 + 3) * 0x1234_5679;
            match t {
                ny::ValType::I32 => Value::I32(k as i32),
                ny::ValType::I64 => Value::I64(k),
                ny::ValType::F32 => Value::F32((k as f32 / 7.0).to_bits()),
                ny::ValType::F64 => Value::F64((k as f64 / 7.0).to_bits()),
                // Lanes of every width differ, and some are negative.
                ny::ValType::V128 => {
                    Value::V128((k as u128).wrapping_mul(0x0123_4567_89ab_cdef_fedc_ba98_7654_3211))
                }
                _ => Value::Ref(false),
            }
        })
        .collect()
}

struct Ours {
    store: ny::Store<()>,
    instance: ny::Instance,
}

struct Theirs {
    store: wasmi::Store<wasmi::StoreLimits>,
    instance: wasmi::Instance,
}

fn ny_val(v: &Value, ty: ny::ValType) -> ny::Val {
    match (v, ty) {
        (Value::I32(x), _) => ny::Val::I32(*x),
        (Value::I64(x), _) => ny::Val::I64(*x),
        (Value::F32(x), _) => ny::Val::F32(*x),
        (Value::F64(x), _) => ny::Val::F64(*x),
        (Value::V128(x), _) => ny::Val::V128(*x),
        (Value::Ref(_), ny::ValType::ExternRef) => ny::Val::ExternRef(None),
        (Value::Ref(_), _) => ny::Val::FuncRef(None),
    }
}

fn from_ny(v: &ny::Val) -> Value {
    match v {
        ny::Val::I32(x) => Value::I32(*x),
        ny::Val::I64(x) => Value::I64(*x),
        ny::Val::F32(x) => Value::F32(*x),
        ny::Val::F64(x) => Value::F64(*x),
        ny::Val::V128(x) => Value::V128(*x),
        ny::Val::FuncRef(r) => Value::Ref(r.is_some()),
        ny::Val::ExternRef(r) => Value::Ref(r.is_some()),
        ny::Val::ExnRef(r) => Value::Ref(r.is_some()),
        ny::Val::AnyRef(r) => Value::Ref(r.is_some()),
    }
}

fn wasmi_ty(t: ny::ValType) -> wasmi::ValType {
    match t {
        ny::ValType::I32 => wasmi::ValType::I32,
        ny::ValType::I64 => wasmi::ValType::I64,
        ny::ValType::F32 => wasmi::ValType::F32,
        ny::ValType::F64 => wasmi::ValType::F64,
        ny::ValType::V128 => wasmi::ValType::V128,
        ny::ValType::ExternRef => wasmi::ValType::ExternRef,
        // Without GC and exceptions (wasmi has neither, so they are off in
        // the generated modules), wasm-smith's references are funcref and
        // externref.
        ny::ValType::Ref(_) => wasmi::ValType::FuncRef,
    }
}

fn wasmi_val(v: &Value, ty: ny::ValType) -> wasmi::Val {
    match v {
        Value::I32(x) => wasmi::Val::I32(*x),
        Value::I64(x) => wasmi::Val::I64(*x),
        Value::F32(x) => wasmi::Val::F32(f32::from_bits(*x).into()),
        Value::F64(x) => wasmi::Val::F64(f64::from_bits(*x).into()),
        Value::V128(x) => wasmi::Val::V128((*x).into()),
        Value::Ref(_) => wasmi::Val::default_for_ty(wasmi_ty(ty)),
    }
}

fn from_wasmi(v: &wasmi::Val) -> Value {
    match v {
        wasmi::Val::I32(x) => Value::I32(*x),
        wasmi::Val::I64(x) => Value::I64(*x),
        wasmi::Val::F32(x) => Value::F32(x.to_bits()),
        wasmi::Val::F64(x) => Value::F64(x.to_bits()),
        wasmi::Val::V128(x) => Value::V128(x.as_u128()),
        wasmi::Val::FuncRef(r) => Value::Ref(!r.is_null()),
        wasmi::Val::ExternRef(r) => Value::Ref(!r.is_null()),
    }
}

fn ny_outcome(r: ny::Result<Vec<ny::Val>>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(v.iter().map(from_ny).collect()),
        Err(e) => match e.trap_code() {
            Some(ny::TrapCode::StackOverflow) => Outcome::Exhausted,
            Some(code) => Outcome::Trap(code.message().to_string()),
            None => Outcome::Trap(format!("error: {e}")),
        },
    }
}

fn wasmi_outcome(r: Result<Vec<wasmi::Val>, wasmi::Error>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(v.iter().map(from_wasmi).collect()),
        Err(e) => match e.as_trap_code() {
            Some(wasmi::TrapCode::StackOverflow) => Outcome::Exhausted,
            Some(code) => Outcome::Trap(trap_kind(&format!("{code:?}"))),
            None => {
                // Instantiation reports segments out of bounds as errors
                // with the trap's wording, not as trap codes.
                let message = e.to_string();
                match ["out of bounds table access", "out of bounds memory access"]
                    .into_iter()
                    .find(|m| message.starts_with(m))
                {
                    Some(m) => Outcome::Trap(m.to_string()),
                    None => Outcome::Trap(format!("error: {message}")),
                }
            }
        },
    }
}

/// wasmi's trap names, in our wording.
fn trap_kind(wasmi_name: &str) -> String {
    match wasmi_name {
        "UnreachableCodeReached" => "unreachable",
        "MemoryOutOfBounds" => "out of bounds memory access",
        "TableOutOfBounds" => "out of bounds table access",
        "IndirectCallToNull" => "uninitialized element",
        "IntegerDivisionByZero" => "integer divide by zero",
        "IntegerOverflow" => "integer overflow",
        "BadConversionToInteger" => "invalid conversion to integer",
        "BadSignature" => "indirect call type mismatch",
        other => other,
    }
    .to_string()
}

#[derive(Default)]
struct Tally {
    calls: u64,
    exhausted: u64,
    both_trapped_at_instantiation: u64,
    /// Fresh instances made to go on after a stack exhaustion.
    reinstantiated: u64,
}

/// Instantiates a module in both engines. `Ok(None)`: both failed the same
/// way (the same trap; or stack exhaustion in either, whose limits differ),
/// so there is nothing more to compare.
fn instantiate_both(
    engine: &ny::Engine,
    wengine: &wasmi::Engine,
    module: &ny::Module,
    wmodule: &wasmi::Module,
    tally: &mut Tally,
) -> Result<Option<(Ours, Theirs)>, String> {
    let ours = {
        let mut store = ny::Store::new(engine, ());
        let r = ny::Instance::new(&mut store, module, &[]);
        (store, r)
    };
    let theirs = {
        // Our tables hold 10,000,000 elements at most (wasmi's: as many as
        // allocation allows): the same limit for wasmi, so a `table.grow`
        // beyond it fails in both.
        // Memories: 64 MiB at most in both ([`MAX_MEMORY_BYTES`]).
        let limits = wasmi::StoreLimitsBuilder::new()
            .table_elements(10_000_000)
            .memory_size(MAX_MEMORY_BYTES as usize)
            .build();
        let mut store = wasmi::Store::new(wengine, limits);
        store.limiter(|l| l);
        let r = wasmi::Linker::<wasmi::StoreLimits>::new(wengine)
            .instantiate_and_start(&mut store, wmodule);
        (store, r)
    };
    match (ours.1, theirs.1) {
        (Ok(i), Ok(w)) => Ok(Some((
            Ours {
                store: ours.0,
                instance: i,
            },
            Theirs {
                store: theirs.0,
                instance: w,
            },
        ))),
        (Err(a), Ok(_)) if a.trap_code() == Some(ny::TrapCode::StackOverflow) => {
            tally.exhausted += 1;
            Ok(None)
        }
        (Ok(_), Err(b)) if b.as_trap_code() == Some(wasmi::TrapCode::StackOverflow) => {
            tally.exhausted += 1;
            Ok(None)
        }
        (Err(a), Ok(_)) => Err(format!("we failed to instantiate ({a}), wasmi did not")),
        (Ok(_), Err(b)) => Err(format!("wasmi failed to instantiate ({b}), we did not")),
        (Err(a), Err(b)) => {
            let a = ny_outcome(Err(a));
            let b = wasmi_outcome(Err(b));
            if a == Outcome::Exhausted || b == Outcome::Exhausted {
                tally.exhausted += 1;
                Ok(None)
            } else if a == b && matches!(a, Outcome::Trap(_)) {
                tally.both_trapped_at_instantiation += 1;
                Ok(None)
            } else {
                Err(format!(
                    "both failed to instantiate, differently: ours {a:?}, wasmi {b:?}"
                ))
            }
        }
    }
}

/// Runs one module in both engines; `Err` describes the first difference.
fn check_module(
    engine: &ny::Engine,
    wengine: &wasmi::Engine,
    wasm: &[u8],
    tally: &mut Tally,
) -> Result<(), String> {
    let module = ny::Module::new(engine, wasm).map_err(|e| format!("we reject the module: {e}"))?;
    let wmodule =
        wasmi::Module::new(wengine, wasm).map_err(|e| format!("wasmi rejects the module: {e}"))?;
    let Some((mut ours, mut theirs)) = instantiate_both(engine, wengine, &module, &wmodule, tally)?
    else {
        return Ok(());
    };
    let exports: Vec<(String, ny::Extern)> = ours.instance.exports(&mut ours.store);
    // Exports that exhausted the stack in either engine: not called again.
    let mut exhausting: Vec<String> = Vec::new();
    for variant in 0..2 {
        for (name, _) in &exports {
            // Looked up by name: the instance may have been replaced.
            let Some(f) = ours.instance.get_func(&mut ours.store, name) else {
                continue;
            };
            if exhausting.contains(name) {
                continue;
            }
            let ty = f.ty(&ours.store);
            let args = args_for(&ty.params, variant);
            let mut results: Vec<ny::Val> = ty
                .results
                .iter()
                .map(|t| ny::Val::default_for(*t))
                .collect();
            let nargs: Vec<ny::Val> = args
                .iter()
                .zip(&ty.params)
                .map(|(a, t)| ny_val(a, *t))
                .collect();
            let a = ny_outcome(
                f.call(&mut ours.store, &nargs, &mut results)
                    .map(|()| results),
            );

            let wf = theirs
                .instance
                .get_func(&theirs.store, name)
                .ok_or_else(|| format!("wasmi has no export {name}"))?;
            let wargs: Vec<wasmi::Val> = args
                .iter()
                .zip(&ty.params)
                .map(|(a, t)| wasmi_val(a, *t))
                .collect();
            let mut wres: Vec<wasmi::Val> = ty
                .results
                .iter()
                .map(|t| wasmi::Val::default_for_ty(wasmi_ty(*t)))
                .collect();
            let b = wasmi_outcome(wf.call(&mut theirs.store, &wargs, &mut wres).map(|()| wres));
            if a == Outcome::Exhausted || b == Outcome::Exhausted {
                tally.exhausted += 1;
                // The engines' states may now differ (side effects up to
                // different depths): go on with the other exports in fresh
                // instances of both.
                exhausting.push(name.clone());
                let Some(fresh) = instantiate_both(engine, wengine, &module, &wmodule, tally)?
                else {
                    return Ok(());
                };
                (ours, theirs) = fresh;
                tally.reinstantiated += 1;
                continue;
            }
            tally.calls += 1;
            if a != b {
                return Err(format!(
                    "export `{name}` with args {args:?}: we got {a:?}, wasmi got {b:?}"
                ));
            }
        }
    }
    let exports: Vec<(String, ny::Extern)> = ours.instance.exports(&mut ours.store);
    // Exported globals and memories after all calls.
    for (name, ext) in &exports {
        match ext {
            ny::Extern::Global(g) => {
                let a = from_ny(&g.get(&mut ours.store));
                let wg = theirs
                    .instance
                    .get_global(&theirs.store, name)
                    .ok_or("global missing in wasmi")?;
                let b = from_wasmi(&wg.get(&theirs.store));
                if a != b {
                    return Err(format!("global `{name}`: ours {a:?}, wasmi {b:?}"));
                }
            }
            ny::Extern::Memory(m) => {
                let a = m.data(&ours.store);
                let wm = theirs
                    .instance
                    .get_memory(&theirs.store, name)
                    .ok_or("memory missing in wasmi")?;
                let b = wm.data(&theirs.store);
                if a != b {
                    let first = a.iter().zip(b).position(|(x, y)| x != y);
                    return Err(format!(
                        "memory `{name}` differs (sizes {} / {}, first difference at {first:?})",
                        a.len(),
                        b.len()
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn differential_against_wasmi() {
    let mut config = ny::Config::new();
    config.max_memory_pages(MAX_MEMORY_BYTES >> 16);
    for f in std::env::var("DIFF_CPU_OFF").unwrap_or_default().split(',') {
        if !f.is_empty() {
            config.disable_cpu_feature(f);
        }
    }
    let engine = ny::Engine::new(&config).unwrap();
    // wasmi has tail calls and extended constants on by default; custom
    // page sizes and wide arithmetic need asking for.
    let mut wconfig = wasmi::Config::default();
    wconfig
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true);
    let wengine = wasmi::Engine::new(&wconfig);
    if let Ok(path) = std::env::var("DIFF_WASM") {
        let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let wasm = harmonize_relaxed(&wasm).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut tally = Tally::default();
        let r = check_module(&engine, &wengine, &wasm, &mut tally);
        println!(
            "differential: {path}: {r:?} ({} calls compared)",
            tally.calls
        );
        assert!(r.is_ok(), "{path} differs from wasmi");
        return;
    }
    let seeds: Vec<u64> = match std::env::var("DIFF_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(s) => vec![s],
        None => {
            let n = std::env::var("DIFF_COUNT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_COUNT);
            (0..n).collect()
        }
    };
    let seed_count = seeds.len() as u64;
    let dump = std::env::var("DIFF_DUMP").ok();
    let (mut passed, mut failures, mut ungenerated) = (0u64, Vec::new(), 0u64);
    let mut simd_modules = 0u64;
    let (mut relaxed_modules, mut unfused_skipped) = (0u64, 0u64);
    let fused = ours_fuse_madd();
    let mut tally = Tally::default();
    for seed in seeds {
        let Some(wasm) = generate(seed) else {
            ungenerated += 1;
            continue;
        };
        simd_modules += u64::from(uses_simd(&wasm));
        let relaxed = relaxed_use_and_params(&wasm)
            .map(|(_, r)| r)
            .unwrap_or_default();
        relaxed_modules += u64::from(relaxed.any);
        if relaxed.madd && !fused {
            unfused_skipped += 1;
            continue;
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            check_module(&engine, &wengine, &wasm, &mut tally)
        }))
        .unwrap_or_else(|_| Err("panicked".to_string()));
        match r {
            Ok(()) => passed += 1,
            Err(why) => {
                if let Some(dir) = &dump {
                    let _ = std::fs::create_dir_all(dir);
                    let _ = std::fs::write(format!("{dir}/seed-{seed}.wasm"), &wasm);
                }
                failures.push(format!("seed {seed}: {why}"));
            }
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "differential: {passed} passed, {} failed ({} calls compared, {} calls or instantiations \
         skipped for stack exhaustion ({} fresh instances to go on after one), {} modules trapped \
         at instantiation in both with the same trap, {simd_modules} modules use SIMD, \
         {relaxed_modules} relaxed SIMD, {unfused_skipped} not compared because they use \
         relaxed_madd and ours is not fused here, {ungenerated} of {seed_count} seeds generated \
         no module)",
        failures.len(),
        tally.calls,
        tally.exhausted,
        tally.reinstantiated,
        tally.both_trapped_at_instantiation
    );
    assert!(
        failures.is_empty(),
        "{} modules differ from wasmi",
        failures.len()
    );
    // The test must not pass on nothing: most seeds make a module, most
    // modules get past instantiation, and calls are compared.
    if seed_count >= 100 {
        assert!(
            ungenerated * 100 <= seed_count * MAX_UNGENERATED_PERCENT,
            "{ungenerated} of {seed_count} seeds generated no module (at most \
             {MAX_UNGENERATED_PERCENT}% may)"
        );
        assert!(
            tally.both_trapped_at_instantiation * 100 <= passed * MAX_TRAPPED_AT_START_PERCENT,
            "{} of {passed} modules trapped at instantiation (at most {MAX_TRAPPED_AT_START_PERCENT}% may)",
            tally.both_trapped_at_instantiation
        );
        assert!(
            simd_modules * 100 >= (seed_count - ungenerated) * MIN_SIMD_PERCENT,
            "only {simd_modules} modules use SIMD (at least {MIN_SIMD_PERCENT}% must)"
        );
        assert!(
            relaxed_modules * 100 >= (seed_count - ungenerated) * MIN_RELAXED_PERCENT,
            "only {relaxed_modules} modules use relaxed SIMD (at least {MIN_RELAXED_PERCENT}% must)"
        );
        assert!(
            tally.calls >= passed * MIN_CALLS_PER_MODULE,
            "only {} calls compared for {passed} modules (at least {MIN_CALLS_PER_MODULE} per module)",
            tally.calls
        );
    }
}

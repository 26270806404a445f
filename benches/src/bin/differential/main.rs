//! Differential testing against wasmtime 48 for what the wasmi-based test
//! (`engine/tests/differential.rs`) cannot cover: exception handling and
//! typed function references, which wasmi lacks.
//!
//! Two kinds of modules, by seed parity:
//!
//! - even seeds: `wasm-smith` modules with exceptions on (tags, `throw`,
//!   `throw_ref`, `try_table`, `exnref`), plus tail calls, multi-memory,
//!   memory64, extended constants, wide arithmetic, custom page sizes and
//!   SIMD, made to terminate with `ensure_termination`, NaNs canonicalized;
//! - odd seeds: typed-function-reference programs from our own generator
//!   ([`typed`]): wasm-smith makes typed function references only with GC
//!   on, and such modules nearly always define struct or array types, which
//!   nyash-engine refuses as unsupported.
//!
//! Every export is called twice in both engines with deterministic
//! arguments (for a function reference: null, then the first exported
//! function of its type; a non-nullable one always gets the function, or the
//! export is counted and skipped when there is none), and results (NaN = NaN,
//! a non-null funcref as the exported function it is, other references by
//! null-ness), traps (by kind), uncaught exceptions (which exported tag,
//! payload) and exported globals, tables (size, elements) and memories after
//! the calls are compared. Stack exhaustion is not
//! comparable (the engines' limits differ) and is skipped, as in the wasmi
//! test.
//!
//! `differential [--count N] [--seed S] [--dump DIR] [--wasm FILE]
//! [--no-inlining]`: N seeds from 0 (default 3000), or seed S alone; failing
//! modules written to DIR; FILE (`.wasm` or `.wat`) runs one module;
//! `--no-inlining` compiles ours with [`ny::Config::inlining`] off. Exits non-zero on any
//! difference, or when the run compared too little.

mod typed;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use arbitrary::Unstructured;
use nyash_engine as ny;
use nyash_test_util::{seed_bytes, smith_base_config};

const DEFAULT_COUNT: u64 = 3000;
/// The largest linear memory in both engines.
const MAX_MEMORY_BYTES: u64 = 64 << 20;
/// The most table elements in both engines (ours is the engine's limit).
const MAX_TABLE_ELEMENTS: usize = 10_000_000;
/// Bounds on a run that compares too little (runs of 100 seeds or more).
const MAX_UNGENERATED_PERCENT: u64 = 5;
const MAX_TRAPPED_AT_START_PERCENT: u64 = 25;
const MIN_CALLS_PER_MODULE: u64 = 2;
/// Of all modules compared.
const MIN_TRY_TABLE_PERCENT: u64 = 20;
const MIN_THROW_PERCENT: u64 = 20;
const MIN_TYPED_REF_PERCENT: u64 = 25;
const MIN_CALL_REF_PERCENT: u64 = 20;
const MIN_BR_ON_NULL_PERCENT: u64 = 15;
/// Of the wasm-smith modules with GC on: we refuse about 80% (struct and
/// array types); the rest must be compared.
/// Each GC operator group must appear in at least this share of the
/// wasm-smith GC modules.
const MIN_GC_OPS_PERCENT: u64 = 20;
const MAX_GC_UNSUPPORTED_PERCENT: u64 = 92;
/// Of all calls compared: some end in an uncaught exception.
const MIN_EXCEPTION_CALLS_PERCENT: u64 = 1;

// One assignment per line reads as a list of switches, easy to diff.
#[allow(clippy::field_reassign_with_default)]
fn smith_config() -> wasm_smith::Config {
    // `smith_base_config` has exceptions on.
    let mut c = smith_base_config();
    // Off: with it wasm-smith makes struct and array types, which we do not
    // support; typed function references come from [`typed`] instead.
    c.gc_enabled = false;
    // Off: relaxed operators may give different (each allowed) results in
    // the two engines; the wasmi test compares ours with documented choices.
    c.relaxed_simd_enabled = false;
    c.canonicalize_nans = true;
    c.max_imports = 0;
    c.min_imports = 0;
    c.min_funcs = 3;
    c.min_tags = 1;
    c.max_tags = 4;
    c.max_instructions = 200;
    c.max_memory32_bytes = 2 << 20;
    c.max_memory64_bytes = 2 << 20;
    c
}

/// Where a seed's module comes from.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// wasm-smith, exceptions on, GC off.
    Exceptions,
    /// Our typed-function-reference generator.
    Typed,
    /// wasm-smith with GC on: typed function references, struct and array
    /// types, allocation, field access and casts (a refusal as unsupported
    /// is counted, not compared).
    SmithGc,
}

fn source(seed: u64) -> Source {
    match seed % 3 {
        0 => Source::Exceptions,
        1 => Source::Typed,
        _ => Source::SmithGc,
    }
}

/// The module for a seed: `None` if the generator made none.
fn generate(seed: u64) -> Option<Vec<u8>> {
    let mut config = smith_config();
    match source(seed) {
        Source::Typed => return wat::parse_str(typed::generate(seed)).ok(),
        Source::Exceptions => {}
        Source::SmithGc => config.gc_enabled = true,
    }
    let bytes = seed_bytes(seed, 16384);
    let mut u = Unstructured::new(&bytes);
    let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
    module.ensure_termination(1000).ok()?;
    Some(module.to_bytes())
}

/// Which operator families a module uses.
#[derive(Default)]
struct Uses {
    try_table: bool,
    throw: bool,
    throw_ref: bool,
    call_ref: bool,
    return_call_ref: bool,
    br_on_null: bool,
    as_non_null: bool,
    /// A function type with a concrete reference parameter or result.
    typed_sig: bool,
    /// A declared subtype.
    subtype: bool,
    /// GC allocation (`struct.new*`, `array.new*`).
    gc_alloc: bool,
    /// GC field or element access, or a bulk array operator.
    gc_access: bool,
    /// A cast or test (`ref.test`, `ref.cast`, `br_on_cast*`).
    gc_cast: bool,
}

impl Uses {
    fn typed_ref(&self) -> bool {
        self.call_ref || self.return_call_ref || self.br_on_null || self.as_non_null
    }
}

fn scan(wasm: &[u8]) -> Uses {
    use wasmparser::{Operator as O, Payload};
    let mut u = Uses::default();
    let concrete = |t: &wasmparser::ValType| matches!(t, wasmparser::ValType::Ref(r) if r.is_concrete_type_ref());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::TypeSection(r) => {
                for group in r.into_iter().flatten() {
                    for t in group.types() {
                        u.subtype |= !t.supertype_idxs.is_empty();
                        if let wasmparser::CompositeInnerType::Func(f) = &t.composite_type.inner {
                            u.typed_sig |= f.params().iter().chain(f.results()).any(concrete);
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let Ok(mut ops) = body.get_operators_reader() else {
                    continue;
                };
                while !ops.eof() {
                    let Ok(op) = ops.read() else { break };
                    match op {
                        O::TryTable { .. } => u.try_table = true,
                        O::Throw { .. } => u.throw = true,
                        O::ThrowRef => u.throw_ref = true,
                        O::CallRef { .. } => u.call_ref = true,
                        O::ReturnCallRef { .. } => u.return_call_ref = true,
                        O::BrOnNull { .. } | O::BrOnNonNull { .. } => u.br_on_null = true,
                        O::RefAsNonNull => u.as_non_null = true,
                        O::StructNew { .. }
                        | O::StructNewDefault { .. }
                        | O::ArrayNew { .. }
                        | O::ArrayNewDefault { .. }
                        | O::ArrayNewFixed { .. }
                        | O::ArrayNewData { .. }
                        | O::ArrayNewElem { .. } => u.gc_alloc = true,
                        O::StructGet { .. }
                        | O::StructGetS { .. }
                        | O::StructGetU { .. }
                        | O::StructSet { .. }
                        | O::ArrayGet { .. }
                        | O::ArrayGetS { .. }
                        | O::ArrayGetU { .. }
                        | O::ArraySet { .. }
                        | O::ArrayLen
                        | O::ArrayFill { .. }
                        | O::ArrayCopy { .. }
                        | O::ArrayInitData { .. }
                        | O::ArrayInitElem { .. } => u.gc_access = true,
                        O::RefTestNonNull { .. }
                        | O::RefTestNullable { .. }
                        | O::RefCastNonNull { .. }
                        | O::RefCastNullable { .. }
                        | O::BrOnCast { .. }
                        | O::BrOnCastFail { .. } => u.gc_cast = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    u
}

/// What one call did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Values(Vec<Value>),
    /// A trap, by kind (the two engines' trap code names agree).
    Trap(String),
    /// An uncaught exception: the exported tag it is of (`None` if no
    /// export is that tag), and its payload.
    Exception(Option<String>, Vec<Value>),
    /// Another error, its message (never equal across engines).
    Error(String),
    /// Stack exhaustion or a full GC heap: the engines' limits differ, so
    /// not comparable.
    Exhausted,
}

#[derive(Debug, Clone)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    /// A reference other than a non-null funcref: whether it is non-null.
    Ref(bool),
    /// A non-null funcref: the name of the exported function it is (`None`
    /// if none).
    Func(Option<String>),
    /// An `i31ref`'s value (an `any` reference that is one).
    I31(i32),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (I32(a), I32(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            (F32(a), F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (F64(a), F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (V128(a), V128(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            (Func(a), Func(b)) => a == b,
            (I31(a), I31(b)) => a == b,
            _ => false,
        }
    }
}

/// An argument: a value, or the exported function of that name.
#[derive(Debug, Clone)]
enum Arg {
    Val(Value),
    Func(String),
}

/// Arguments for a signature: numbers made from `variant`; for a function
/// reference the first exported function of its type (`funcs`, in export
/// order), or null where the type is nullable and `variant` is 0. `None`
/// if a non-nullable reference has no such function.
fn args_for(
    ours: &mut Ours,
    funcs: &[String],
    params: &[ny::ValType],
    variant: u32,
) -> Option<Vec<Arg>> {
    params
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let k = (variant as i64) * (i as i64 + 3) * 0x1234_5679;
            Some(Arg::Val(match t {
                ny::ValType::I32 => Value::I32(k as i32),
                ny::ValType::I64 => Value::I64(k),
                ny::ValType::F32 => Value::F32((k as f32 / 7.0).to_bits()),
                ny::ValType::F64 => Value::F64((k as f64 / 7.0).to_bits()),
                ny::ValType::V128 => {
                    Value::V128((k as u128).wrapping_mul(0x0123_4567_89ab_cdef_fedc_ba98_7654_3211))
                }
                ny::ValType::Ref(r) => {
                    if !r.nullable || variant == 1 {
                        let fits = funcs.iter().find(|name| {
                            ours.instance
                                .get_func(&mut ours.store, name)
                                .is_some_and(|f| {
                                    ny::Val::FuncRef(Some(f)).matches_ty(&ours.store, *t)
                                })
                        });
                        if let Some(name) = fits {
                            return Some(Arg::Func(name.clone()));
                        }
                    }
                    if !r.nullable {
                        return None;
                    }
                    Value::Ref(false)
                }
            }))
        })
        .collect()
}

fn ny_arg(ours: &mut Ours, a: &Arg, ty: ny::ValType) -> ny::Val {
    match a {
        Arg::Val(Value::I32(x)) => ny::Val::I32(*x),
        Arg::Val(Value::I64(x)) => ny::Val::I64(*x),
        Arg::Val(Value::F32(x)) => ny::Val::F32(*x),
        Arg::Val(Value::F64(x)) => ny::Val::F64(*x),
        Arg::Val(Value::V128(x)) => ny::Val::V128(*x),
        Arg::Val(Value::Ref(_) | Value::Func(_) | Value::I31(_)) => ny::Val::default_for(ty),
        Arg::Func(name) => ny::Val::FuncRef(ours.instance.get_func(&mut ours.store, name)),
    }
}

fn wt_arg(theirs: &mut Theirs, a: &Arg, ty: &wasmtime::ValType) -> wasmtime::Val {
    match (a, ty) {
        (Arg::Val(Value::I32(x)), _) => wasmtime::Val::I32(*x),
        (Arg::Val(Value::I64(x)), _) => wasmtime::Val::I64(*x),
        (Arg::Val(Value::F32(x)), _) => wasmtime::Val::F32(*x),
        (Arg::Val(Value::F64(x)), _) => wasmtime::Val::F64(*x),
        (Arg::Val(Value::V128(x)), _) => wasmtime::Val::V128((*x).into()),
        (Arg::Func(name), _) => {
            wasmtime::Val::FuncRef(theirs.instance.get_func(&mut theirs.store, name))
        }
        (Arg::Val(Value::Ref(_) | Value::Func(_) | Value::I31(_)), wasmtime::ValType::Ref(r)) => {
            wasmtime::Val::null_ref(r.heap_type())
        }
        // Not reached: a reference argument is for a reference parameter.
        (Arg::Val(Value::Ref(_) | Value::Func(_) | Value::I31(_)), _) => wasmtime::Val::I32(0),
    }
}

/// Exported functions by name, to name a funcref.
type NyFuncs = [(String, ny::Func)];
/// Exported functions by name and raw funcref pointer.
type WtFuncs = [(String, usize)];

fn ny_funcs(store: &mut ny::Store<()>, instance: &ny::Instance) -> Vec<(String, ny::Func)> {
    instance
        .exports(store)
        .into_iter()
        .filter_map(|(n, x)| x.into_func().map(|f| (n, f)))
        .collect()
}

fn wt_funcs(
    store: &mut wasmtime::Store<wasmtime::StoreLimits>,
    instance: &wasmtime::Instance,
) -> Vec<(String, usize)> {
    let funcs: Vec<(String, wasmtime::Func)> = instance
        .exports(&mut *store)
        .filter_map(|x| {
            let name = x.name().to_string();
            x.into_func().map(|f| (name, f))
        })
        .collect();
    funcs
        .into_iter()
        .map(|(n, f)| (n, f.to_raw(&mut *store) as usize))
        .collect()
}

fn from_ny(v: &ny::Val, funcs: &NyFuncs) -> Value {
    match v {
        ny::Val::I32(x) => Value::I32(*x),
        ny::Val::I64(x) => Value::I64(*x),
        ny::Val::F32(x) => Value::F32(*x),
        ny::Val::F64(x) => Value::F64(*x),
        ny::Val::V128(x) => Value::V128(*x),
        ny::Val::FuncRef(Some(f)) => {
            Value::Func(funcs.iter().find(|(_, g)| g == f).map(|(n, _)| n.clone()))
        }
        ny::Val::FuncRef(None) => Value::Ref(false),
        ny::Val::ExternRef(r) => Value::Ref(r.is_some()),
        ny::Val::ExnRef(r) => Value::Ref(r.is_some()),
        ny::Val::AnyRef(r) => match r.and_then(|r| r.as_i31()) {
            Some(i) => Value::I31(i.get_i32()),
            None => Value::Ref(r.is_some()),
        },
    }
}

fn from_wt(
    v: &wasmtime::Val,
    store: &mut wasmtime::Store<wasmtime::StoreLimits>,
    funcs: &WtFuncs,
) -> Value {
    match v {
        wasmtime::Val::I32(x) => Value::I32(*x),
        wasmtime::Val::I64(x) => Value::I64(*x),
        wasmtime::Val::F32(x) => Value::F32(*x),
        wasmtime::Val::F64(x) => Value::F64(*x),
        wasmtime::Val::V128(x) => Value::V128(x.as_u128()),
        wasmtime::Val::FuncRef(Some(f)) => {
            let raw = f.to_raw(&mut *store) as usize;
            Value::Func(
                funcs
                    .iter()
                    .find(|(_, g)| *g == raw)
                    .map(|(n, _)| n.clone()),
            )
        }
        wasmtime::Val::FuncRef(None) => Value::Ref(false),
        wasmtime::Val::ExternRef(r) => Value::Ref(r.is_some()),
        wasmtime::Val::AnyRef(r) => match r.as_ref().and_then(|r| r.as_i31(&*store).ok().flatten())
        {
            Some(i) => Value::I31(i.get_i32()),
            None => Value::Ref(r.is_some()),
        },
        wasmtime::Val::ExnRef(r) => Value::Ref(r.is_some()),
        wasmtime::Val::ContRef(r) => Value::Ref(r.is_some()),
    }
}

struct Ours {
    store: ny::Store<()>,
    instance: ny::Instance,
    funcs: Vec<(String, ny::Func)>,
}

struct Theirs {
    store: wasmtime::Store<wasmtime::StoreLimits>,
    instance: wasmtime::Instance,
    funcs: Vec<(String, usize)>,
}

/// The outcome of a call that returned `r`.
fn ny_outcome(ours: &mut Ours, r: ny::Result<Vec<ny::Val>>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(v.iter().map(|v| from_ny(v, &ours.funcs)).collect()),
        Err(e) => {
            let exports = ours.instance.exports(&mut ours.store);
            ny_error_outcome(Some(&exports), &ours.funcs, e)
        }
    }
}

/// The outcome of error `e`; `exports` name the tags (none when
/// instantiation failed).
fn ny_error_outcome(
    exports: Option<&[(String, ny::Extern)]>,
    funcs: &NyFuncs,
    e: ny::Error,
) -> Outcome {
    if let Some(code) = e.trap_code() {
        return match code {
            // The engines' stack and GC heap limits differ.
            ny::TrapCode::StackOverflow | ny::TrapCode::AllocationFailure => Outcome::Exhausted,
            code => Outcome::Trap(format!("{code:?}")),
        };
    }
    if let Some(exn) = e.exception() {
        let tag = exn.tag();
        let name = exports
            .unwrap_or_default()
            .iter()
            .find(|(_, x)| x.into_tag() == Some(tag))
            .map(|(n, _)| n.clone());
        let payload = exn.payload().iter().map(|v| from_ny(v, funcs)).collect();
        return Outcome::Exception(name, payload);
    }
    Outcome::Error(format!("ours: {e}"))
}

fn wt_outcome(theirs: &mut Theirs, r: wasmtime::Result<Vec<wasmtime::Val>>) -> Outcome {
    match r {
        Ok(v) => Outcome::Values(
            v.iter()
                .map(|v| from_wt(v, &mut theirs.store, &theirs.funcs))
                .collect(),
        ),
        Err(e) => wt_error_outcome(&mut theirs.store, Some(theirs.instance), &theirs.funcs, e),
    }
}

/// The outcome of error `e`; `instance`'s exports name the tags.
fn wt_error_outcome(
    store: &mut wasmtime::Store<wasmtime::StoreLimits>,
    instance: Option<wasmtime::Instance>,
    funcs: &WtFuncs,
    e: wasmtime::Error,
) -> Outcome {
    if format!("{e:#}").contains("GC heap out of memory") {
        return Outcome::Exhausted;
    }
    if let Some(t) = e.downcast_ref::<wasmtime::Trap>() {
        return match t {
            wasmtime::Trap::StackOverflow | wasmtime::Trap::AllocationTooLarge => {
                Outcome::Exhausted
            }
            t => Outcome::Trap(format!("{t:?}")),
        };
    }
    if e.is::<wasmtime::ThrownException>() {
        let Some(exn) = store.take_pending_exception() else {
            return Outcome::Error("wasmtime: thrown exception, none pending".into());
        };
        let Ok(tag) = exn.tag(&mut *store) else {
            return Outcome::Error("wasmtime: exception without a tag".into());
        };
        let n = tag.ty(&*store).ty().params().len();
        let payload = (0..n)
            .map(|i| {
                exn.field(&mut *store, i)
                    .map(|v| from_wt(&v, &mut *store, funcs))
            })
            .collect::<wasmtime::Result<Vec<Value>>>();
        let Ok(payload) = payload else {
            return Outcome::Error("wasmtime: exception field unreadable".into());
        };
        let exports: Vec<(String, wasmtime::Tag)> = match instance {
            Some(i) => i
                .exports(&mut *store)
                .filter_map(|x| {
                    let name = x.name().to_string();
                    x.into_tag().map(|t| (name, t))
                })
                .collect(),
            None => Vec::new(),
        };
        let name = exports
            .into_iter()
            .find(|(_, t)| wasmtime::Tag::eq(t, &tag, &*store))
            .map(|(n, _)| n);
        return Outcome::Exception(name, payload);
    }
    Outcome::Error(format!("wasmtime: {e:#}"))
}

#[derive(Default)]
struct Tally {
    calls: u64,
    exception_calls: u64,
    /// Of those, exceptions of an exported tag (identified in both).
    exported_tag_exceptions: u64,
    trap_calls: u64,
    /// Calls that trapped, by trap kind.
    trap_kinds: std::collections::BTreeMap<String, u64>,
    exhausted: u64,
    both_trapped_at_instantiation: u64,
    reinstantiated: u64,
    /// Modules (wasm-smith with GC on) we refuse as unsupported GC.
    unsupported: u64,
    /// Exports not called: a parameter is a non-nullable reference.
    non_nullable_skipped: u64,
}

fn instantiate_both(
    engine: &ny::Engine,
    wengine: &wasmtime::Engine,
    module: &ny::Module,
    wmodule: &wasmtime::Module,
    tally: &mut Tally,
) -> Result<Option<(Ours, Theirs)>, String> {
    let mut store = ny::Store::new(engine, ());
    let a = ny::Instance::new(&mut store, module, &[]);
    let limits = wasmtime::StoreLimitsBuilder::new()
        .table_elements(MAX_TABLE_ELEMENTS)
        .memory_size(MAX_MEMORY_BYTES as usize)
        .build();
    let mut wstore = wasmtime::Store::new(wengine, limits);
    wstore.limiter(|l| l);
    let b = wasmtime::Instance::new(&mut wstore, wmodule, &[]);
    match (a, b) {
        (Ok(i), Ok(w)) => Ok(Some((
            Ours {
                funcs: ny_funcs(&mut store, &i),
                store,
                instance: i,
            },
            Theirs {
                funcs: wt_funcs(&mut wstore, &w),
                store: wstore,
                instance: w,
            },
        ))),
        (a, b) => {
            let a = match a {
                Ok(_) => None,
                Err(e) => Some(ny_error_outcome(None, &[], e)),
            };
            let b = match b {
                Ok(_) => None,
                Err(e) => Some(wt_error_outcome(&mut wstore, None, &[], e)),
            };
            if a == Some(Outcome::Exhausted) || b == Some(Outcome::Exhausted) {
                tally.exhausted += 1;
                return Ok(None);
            }
            match (a, b) {
                (Some(a), Some(b))
                    if a == b && matches!(a, Outcome::Trap(_) | Outcome::Exception(..)) =>
                {
                    tally.both_trapped_at_instantiation += 1;
                    Ok(None)
                }
                (a, b) => Err(format!("instantiation differs: ours {a:?}, wasmtime {b:?}")),
            }
        }
    }
}

/// Runs one module in both engines; `Err` describes the first difference.
/// With `allow_gc`, a module we refuse as unsupported but wasmtime accepts
/// is counted in [`Tally::unsupported`], not compared (wasm-smith with GC
/// on; not every such refusal names GC: `ref.i31` and
/// `any.convert_extern` in constant expressions are "unsupported constant
/// expression operators").
fn check_module(
    engine: &ny::Engine,
    wengine: &wasmtime::Engine,
    wasm: &[u8],
    allow_gc: bool,
    tally: &mut Tally,
) -> Result<(), String> {
    let module = ny::Module::new(engine, wasm);
    let wmodule = wasmtime::Module::new(wengine, wasm)
        .map_err(|e| format!("wasmtime rejects the module: {e:#}"))?;
    let module = match module {
        Ok(m) => m,
        Err(e)
            if allow_gc
                && matches!(
                    e.kind(),
                    ny::ErrorKind::Compile(ny::CompileError::Unsupported(_))
                ) =>
        {
            tally.unsupported += 1;
            return Ok(());
        }
        Err(e) => return Err(format!("we reject the module: {e}")),
    };
    let Some((mut ours, mut theirs)) = instantiate_both(engine, wengine, &module, &wmodule, tally)?
    else {
        return Ok(());
    };
    let names: Vec<String> = ours
        .instance
        .exports(&mut ours.store)
        .into_iter()
        .filter(|(_, x)| matches!(x, ny::Extern::Func(_)))
        .map(|(n, _)| n)
        .collect();
    let mut exhausting: Vec<String> = Vec::new();
    for variant in 0..2 {
        for name in &names {
            if exhausting.contains(name) {
                continue;
            }
            let Some(f) = ours.instance.get_func(&mut ours.store, name) else {
                return Err(format!("export {name} vanished"));
            };
            let ty = f.ty(&ours.store);
            let Some(args) = args_for(&mut ours, &names, &ty.params, variant) else {
                tally.non_nullable_skipped += 1;
                continue;
            };
            // The typed-reference programs' fuel, full again for each call.
            let fuel = ny::Val::I32(typed::FUEL);
            if let Some(g) = ours.instance.get_global(&mut ours.store, "fuel") {
                g.set(&mut ours.store, fuel)
                    .map_err(|e| format!("setting our fuel: {e}"))?;
            }
            if let Some(g) = theirs.instance.get_global(&mut theirs.store, "fuel") {
                g.set(&mut theirs.store, wasmtime::Val::I32(typed::FUEL))
                    .map_err(|e| format!("setting wasmtime's fuel: {e:#}"))?;
            }
            let nargs: Vec<ny::Val> = args
                .iter()
                .zip(&ty.params)
                .map(|(a, t)| ny_arg(&mut ours, a, *t))
                .collect();
            let mut results: Vec<ny::Val> = ty
                .results
                .iter()
                .map(|t| ny::Val::default_for(*t))
                .collect();
            let r = f
                .call(&mut ours.store, &nargs, &mut results)
                .map(|()| results);
            let a = ny_outcome(&mut ours, r);

            let wf = theirs
                .instance
                .get_func(&mut theirs.store, name)
                .ok_or_else(|| format!("wasmtime has no export {name}"))?;
            let wty = wf.ty(&theirs.store);
            let wargs: Vec<wasmtime::Val> = args
                .iter()
                .zip(wty.params())
                .map(|(a, t)| wt_arg(&mut theirs, a, &t))
                .collect();
            let mut wres: Vec<wasmtime::Val> =
                wty.results().map(|_| wasmtime::Val::I32(0)).collect();
            let r = wf.call(&mut theirs.store, &wargs, &mut wres).map(|()| wres);
            let b = wt_outcome(&mut theirs, r);
            if a == Outcome::Exhausted || b == Outcome::Exhausted {
                tally.exhausted += 1;
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
            if a != b || matches!(a, Outcome::Error(_)) {
                return Err(format!(
                    "export `{name}` with args {args:?}: we got {a:?}, wasmtime got {b:?}"
                ));
            }
            match a {
                Outcome::Exception(tag, _) => {
                    tally.exception_calls += 1;
                    tally.exported_tag_exceptions += u64::from(tag.is_some());
                }
                Outcome::Trap(kind) => {
                    tally.trap_calls += 1;
                    *tally.trap_kinds.entry(kind).or_default() += 1;
                }
                _ => {}
            }
        }
    }
    // Exported globals, tables and memories after all calls.
    for (name, ext) in ours.instance.exports(&mut ours.store) {
        match ext {
            ny::Extern::Global(g) => {
                let a = from_ny(&g.get(&mut ours.store), &ours.funcs);
                let wg = theirs
                    .instance
                    .get_global(&mut theirs.store, &name)
                    .ok_or("global missing in wasmtime")?;
                let v = wg.get(&mut theirs.store);
                let b = from_wt(&v, &mut theirs.store, &theirs.funcs);
                if a != b {
                    return Err(format!("global `{name}`: ours {a:?}, wasmtime {b:?}"));
                }
            }
            ny::Extern::Table(t) => {
                // Sizes, and which elements are null (the first 10,000).
                let wt = theirs
                    .instance
                    .get_table(&mut theirs.store, &name)
                    .ok_or("table missing in wasmtime")?;
                let (size, wsize) = (t.size(&ours.store), wt.size(&theirs.store));
                if size != wsize {
                    return Err(format!("table `{name}`: size {size}, wasmtime {wsize}"));
                }
                for i in 0..size.min(10_000) {
                    let a = t.get(&mut ours.store, i).map(|v| from_ny(&v, &ours.funcs));
                    let b = wt.get(&mut theirs.store, i).map(|r| match r {
                        wasmtime::Ref::Func(f) => wasmtime::Val::FuncRef(f),
                        wasmtime::Ref::Extern(e) => wasmtime::Val::ExternRef(e),
                        wasmtime::Ref::Any(a) => wasmtime::Val::AnyRef(a),
                        wasmtime::Ref::Exn(e) => wasmtime::Val::ExnRef(e),
                    });
                    let b = b.map(|v| from_wt(&v, &mut theirs.store, &theirs.funcs));
                    if a != b {
                        return Err(format!(
                            "table `{name}` element {i}: ours {a:?}, wasmtime {b:?}"
                        ));
                    }
                }
            }
            ny::Extern::Memory(m) => {
                let a = m.data(&ours.store);
                let wm = theirs
                    .instance
                    .get_memory(&mut theirs.store, &name)
                    .ok_or("memory missing in wasmtime")?;
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

struct Args {
    count: u64,
    seed: Option<u64>,
    dump: Option<String>,
    wasm: Option<String>,
    /// Our engine with inlining off (default on).
    no_inlining: bool,
    /// Our engine in GC stress mode (a moving collection at every allocation).
    gc_stress: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        count: DEFAULT_COUNT,
        seed: None,
        dump: None,
        wasm: None,
        no_inlining: false,
        gc_stress: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => a.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--seed" => a.seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--dump" => a.dump = Some(value()?),
            "--wasm" => a.wasm = Some(value()?),
            "--no-inlining" => a.no_inlining = true,
            "--gc-stress" => a.gc_stress = true,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: differential [--count N] [--seed S] \
                     [--dump DIR] [--wasm FILE] [--no-inlining] [--gc-stress]"
                ));
            }
        }
    }
    Ok(a)
}

fn engines(no_inlining: bool, gc_stress: bool) -> Result<(ny::Engine, wasmtime::Engine), String> {
    let mut config = ny::Config::new();
    config.inlining(!no_inlining).gc_stress(gc_stress);
    config.max_memory_pages(MAX_MEMORY_BYTES >> 16);
    // wasm-smith arrays can ask for gigabytes; a full heap is not compared.
    config.gc_max_heap_bytes(MAX_MEMORY_BYTES);
    let engine = ny::Engine::new(&config).map_err(|e| e.to_string())?;
    let mut w = wasmtime::Config::new();
    w.wasm_function_references(true)
        .wasm_exceptions(true)
        // wasmparser puts subtype declarations (`sub`) under GC; the
        // modules define no struct or array types.
        .wasm_gc(true)
        .wasm_tail_call(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_extended_const(true)
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true)
        .wasm_simd(true)
        .wasm_relaxed_simd(false)
        // The collector it always had: with `gc-copying` also built (for
        // `compare`), `Collector::Auto` would pick the copying one.
        .collector(wasmtime::Collector::DeferredReferenceCounting);
    let wengine = wasmtime::Engine::new(&w).map_err(|e| format!("{e:#}"))?;
    Ok((engine, wengine))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("differential: {e}");
            return ExitCode::from(2);
        }
    };
    let (engine, wengine) = match engines(args.no_inlining, args.gc_stress) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("differential: making the engines: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.wasm {
        let wasm = match wat::parse_file(path) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("differential: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        let mut tally = Tally::default();
        let r = check_module(&engine, &wengine, &wasm, true, &mut tally);
        println!(
            "differential-wasmtime: {path}: {r:?} ({} calls compared)",
            tally.calls
        );
        return if r.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (0..args.count).collect(),
    };
    let seed_count = seeds.len() as u64;
    let start = std::time::Instant::now();
    let (mut passed, mut failures, mut ungenerated) = (0u64, Vec::new(), 0u64);
    let mut n = Uses::default();
    let mut counts = [0u64; 12];
    // Modules per source: Exceptions, Typed, SmithGc.
    let mut per_source = [0u64; 3];
    let mut tally = Tally::default();
    // wasm-smith panics are caught below; their messages would clutter the output.
    std::panic::set_hook(Box::new(|_| {}));
    for seed in seeds {
        let Some(wasm) = generate(seed) else {
            ungenerated += 1;
            continue;
        };
        let refused = tally.unsupported;
        let r = catch_unwind(AssertUnwindSafe(|| {
            check_module(
                &engine,
                &wengine,
                &wasm,
                source(seed) == Source::SmithGc,
                &mut tally,
            )
        }))
        .unwrap_or_else(|_| Err("panicked".to_string()));
        match r {
            Ok(()) if tally.unsupported > refused => {}
            Ok(()) => passed += 1,
            Err(why) => {
                if let Some(dir) = &args.dump {
                    let _ = std::fs::create_dir_all(dir);
                    let _ = std::fs::write(format!("{dir}/seed-{seed}.wasm"), &wasm);
                }
                failures.push(format!("seed {seed}: {why}"));
            }
        }
        per_source[source(seed) as usize] += 1;
        if tally.unsupported > refused {
            continue;
        }
        // Operators of the modules compared.
        let u = scan(&wasm);
        for (c, used) in counts.iter_mut().zip([
            u.try_table,
            u.throw,
            u.throw_ref,
            u.call_ref,
            u.return_call_ref,
            u.br_on_null,
            u.as_non_null,
            u.typed_sig,
            u.typed_ref(),
            u.gc_alloc,
            u.gc_access,
            u.gc_cast,
        ]) {
            *c += u64::from(used);
        }
        n.subtype |= u.subtype;
    }
    let _ = std::panic::take_hook();
    for f in &failures {
        println!("FAIL {f}");
    }
    let [
        try_table,
        throw,
        throw_ref,
        call_ref,
        return_call_ref,
        br_on_null,
        as_non_null,
        typed_sig,
        typed_ref,
        gc_alloc,
        gc_access,
        gc_cast,
    ] = counts;
    let generated = seed_count - ungenerated;
    let compared = generated - tally.unsupported;
    let [exn_modules, typed_modules, gc_modules] = per_source;
    println!(
        "differential-wasmtime: {passed} passed, {} failed ({} calls compared: {} uncaught \
         exceptions ({} of an exported tag), {} traps {:?}; {} calls or instantiations skipped for stack exhaustion, {} \
         exports not called for a non-nullable reference parameter, {} modules trapped at \
         instantiation in both; {generated} modules: {exn_modules} wasm-smith with exceptions, \
         {typed_modules} typed-reference programs, {gc_modules} wasm-smith with GC of which {} \
         refused as unsupported; of the {compared} compared: {try_table} with try_table, {throw} throw, \
         {throw_ref} throw_ref, {typed_ref} typed-reference operators ({call_ref} call_ref, \
         {return_call_ref} return_call_ref, {br_on_null} br_on_null/non_null, {as_non_null} \
         ref.as_non_null), {typed_sig} typed-reference signatures, {gc_alloc} with GC \
         allocation, {gc_access} with GC field/element access, {gc_cast} with casts; {ungenerated} of \
         {seed_count} seeds generated no module; {:.1} s)",
        failures.len(),
        tally.calls,
        tally.exception_calls,
        tally.exported_tag_exceptions,
        tally.trap_calls,
        tally.trap_kinds,
        tally.exhausted,
        tally.non_nullable_skipped,
        tally.both_trapped_at_instantiation,
        tally.unsupported,
        start.elapsed().as_secs_f64()
    );
    let mut ok = failures.is_empty();
    // The run must not pass on nothing.
    if seed_count >= 100 {
        let mut require = |cond: bool, what: String| {
            if !cond {
                println!("TOO LITTLE: {what}");
                ok = false;
            }
        };
        require(
            ungenerated * 100 <= seed_count * MAX_UNGENERATED_PERCENT,
            format!("{ungenerated} of {seed_count} seeds generated no module"),
        );
        require(
            tally.both_trapped_at_instantiation * 100 <= compared * MAX_TRAPPED_AT_START_PERCENT,
            format!(
                "{} modules trapped at instantiation",
                tally.both_trapped_at_instantiation
            ),
        );
        require(
            tally.calls >= passed * MIN_CALLS_PER_MODULE,
            format!("only {} calls compared for {passed} modules", tally.calls),
        );
        require(
            tally.exception_calls * 100 >= tally.calls * MIN_EXCEPTION_CALLS_PERCENT,
            format!("only {} calls threw", tally.exception_calls),
        );
        for (count, min, what) in [
            (try_table, MIN_TRY_TABLE_PERCENT, "try_table"),
            (throw, MIN_THROW_PERCENT, "throw"),
            (
                typed_ref,
                MIN_TYPED_REF_PERCENT,
                "a typed-reference operator",
            ),
            (call_ref, MIN_CALL_REF_PERCENT, "call_ref"),
            (
                br_on_null,
                MIN_BR_ON_NULL_PERCENT,
                "br_on_null/br_on_non_null",
            ),
        ] {
            require(
                count * 100 >= compared * min,
                format!("only {count} of {compared} modules use {what} (at least {min}% must)"),
            );
        }
        require(n.subtype, "no module declares a subtype".into());
        // GC objects are made, read and cast: a share of the wasm-smith GC
        // modules (a third of all) must do each.
        for (count, what) in [
            (gc_alloc, "GC allocation"),
            (gc_access, "GC field or element access"),
            (gc_cast, "casts"),
        ] {
            require(
                count * 100 >= gc_modules * MIN_GC_OPS_PERCENT,
                format!(
                    "only {count} of {gc_modules} GC modules use {what} (at least {MIN_GC_OPS_PERCENT}% must)"
                ),
            );
        }
        require(
            tally.unsupported * 100 <= gc_modules * MAX_GC_UNSUPPORTED_PERCENT,
            format!(
                "{} of {gc_modules} wasm-smith GC modules refused as unsupported",
                tally.unsupported
            ),
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

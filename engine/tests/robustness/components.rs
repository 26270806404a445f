//! The robustness test's second part: components.
//!
//! - **Seeds**: every component of the official Component Model tests'
//!   folders but `async/` (`../shared/component-model-tests`, or
//!   `$COMPONENT_MODEL_TESTS`; the run fails when they are absent, as the
//!   component spec test does) and of our scripts in `tests/wast/component/`
//!   (defined, instantiated, or in `assert_trap`/`assert_return`/
//!   `assert_unlinkable`), encoded from the `.wast` text with the `wast`
//!   crate as the spec harness does, deduplicated, kept when wasmparser
//!   finds them valid.
//! - **Mutations** (one to three per case; one case in ten unmutated): the
//!   module part's byte and section mutations on the whole component (its
//!   section framing is the module's), and the same inside one nested core
//!   module (a core module section's payload is a whole module; the section
//!   size is fixed up), so that mutants reach the core validator and the
//!   compiler inside a component that still parses.
//! - **Checks**: `Component::new` must compile or refuse with
//!   `CompileError::Invalid` or `Unsupported` (never `Internal`, `Codegen`
//!   or another kind). A component that compiles is instantiated, its
//!   imported functions (at the root or in imported instances) defined as
//!   host stubs returning default-ish values (anything else it imports is
//!   left undefined, so linking fails), with fuel, and one case in four
//!   with an epoch deadline too; then each exported function (up to 32) is
//!   called with
//!   default-ish arguments built from wasmparser's view of its type (see
//!   [`default_val`]; a function taking a handle is skipped): only traps
//!   (including fuel and deadline) may come back.
//!
//! - **Artifacts**: one case in ten damages the `.nwasm` artifact of one
//!   of 24 seeds (bytes flipped in the header's checked part and the
//!   metadata, or anywhere; truncated; bytes inserted or deleted) and loads
//!   it with `Component::deserialize`: it must be refused with
//!   `ErrorKind::Artifact`, and must be when the checked bytes changed or
//!   the file was cut short; one that loads is run as above.
//!
//! Prints `robustness components: N cases, 0 panics, 0 hangs, 0 wrong-kind
//! errors` and a breakdown line; `ROBUSTNESS_COMPONENT_CASES=n` sets the
//! number of cases (default [`DEFAULT_COMPONENT_CASES`]),
//! `ROBUSTNESS_COMPONENT_CASE=n` runs only case `n` and says what it did.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nyash_engine::component::{Component, Linker, Val as CVal};
use nyash_engine::{CompileError, Engine, ErrorKind, Store, StoreContextMut, TrapCode};
use wasmparser::component_types::{ComponentDefinedType, ComponentEntityType, ComponentValType};
use wasmparser::types::Types;
use wasmparser::{PrimitiveValType, Validator, WasmFeatures};

use super::{
    CASE_DEADLINE, EPOCH_DEADLINE_TICKS, EPOCH_TICK, FUEL_PER_CALL, MAX_CALLS, Rng, Section,
    assemble, env_u64, mutate, new_rng, payload_message, sections,
};

/// Cases per default run: about 15 s on two cores.
pub const DEFAULT_COMPONENT_CASES: u64 = 50_000;

/// How deep a default argument may nest (a recursive shape cannot occur in
/// component types, but a huge one could).
const MAX_VALUE_DEPTH: usize = 16;

#[derive(Default)]
pub struct ComponentStats {
    pub cases: u64,
    pub panics: u64,
    pub hangs: u64,
    pub wrong_kind: u64,
    compiled: u64,
    rejected: u64,
    unsupported: u64,
    with_imports: u64,
    instantiated: u64,
    instantiation_traps: u64,
    calls: u64,
    returned: u64,
    traps: u64,
    out_of_fuel: u64,
    interrupted: u64,
    skipped_funcs: u64,
    artifacts: u64,
    artifacts_refused: u64,
    artifacts_loaded: u64,
}

impl ComponentStats {
    fn add(&mut self, o: &ComponentStats) {
        self.cases += o.cases;
        self.panics += o.panics;
        self.hangs += o.hangs;
        self.wrong_kind += o.wrong_kind;
        self.compiled += o.compiled;
        self.rejected += o.rejected;
        self.unsupported += o.unsupported;
        self.with_imports += o.with_imports;
        self.instantiated += o.instantiated;
        self.instantiation_traps += o.instantiation_traps;
        self.calls += o.calls;
        self.returned += o.returned;
        self.traps += o.traps;
        self.out_of_fuel += o.out_of_fuel;
        self.interrupted += o.interrupted;
        self.skipped_funcs += o.skipped_funcs;
        self.artifacts += o.artifacts;
        self.artifacts_refused += o.artifacts_refused;
        self.artifacts_loaded += o.artifacts_loaded;
    }
}

/// Where the official Component Model tests are.
fn suite_dir() -> PathBuf {
    match std::env::var_os("COMPONENT_MODEL_TESTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/component-model-tests")
        }
    }
}

fn wast_texts(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            wast_texts(&p, out);
        } else if p.extension().is_some_and(|x| x == "wast")
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            out.push((p.display().to_string(), text));
        }
    }
}

fn validate(bytes: &[u8]) -> Option<Types> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .ok()
}

/// The seeds: every valid component of the official tests (but `async/`)
/// and of our own scripts.
pub fn component_seeds() -> Vec<Vec<u8>> {
    let test = suite_dir().join("test");
    assert!(
        test.is_dir(),
        "the official Component Model tests are not at {}: clone \
         https://github.com/WebAssembly/component-model's `test/` there, or set \
         COMPONENT_MODEL_TESTS",
        suite_dir().display()
    );
    let mut texts = Vec::new();
    for folder in ["binary", "linking", "resources", "validation", "values"] {
        wast_texts(&test.join(folder), &mut texts);
    }
    wast_texts(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wast/component"),
        &mut texts,
    );
    texts.sort();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (_, text) in texts {
        for bytes in wast_components(&text) {
            if nyash_engine::component::is_component(&bytes)
                && validate(&bytes).is_some()
                && seen.insert(bytes.clone())
            {
                out.push(bytes);
            }
        }
    }
    out
}

/// Every component of a script, binary-encoded: those defined or
/// instantiated, and those in `assert_trap`, `assert_return` and
/// `assert_unlinkable` (instantiations that fail: valid components too).
fn wast_components(text: &str) -> Vec<Vec<u8>> {
    use wast::parser::{self, ParseBuffer};
    use wast::{QuoteWat, Wast, WastDirective, WastExecute};
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let Ok(buf) = ParseBuffer::new_with_lexer(lexer) else {
        return Vec::new();
    };
    let Ok(wast) = parser::parse::<Wast>(&buf) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for directive in wast.directives {
        let bytes = match directive {
            WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => m.encode(),
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(w),
                ..
            }
            | WastDirective::AssertReturn {
                exec: WastExecute::Wat(w),
                ..
            }
            | WastDirective::AssertUnlinkable { module: w, .. } => QuoteWat::Wat(w).encode(),
            _ => continue,
        };
        if let Ok(b) = bytes {
            out.push(b);
        }
    }
    out
}

/// One mutation inside a nested core module (component section id 1), the
/// section's size fixed up; the whole component when it has none.
fn mutate_nested(rng: &mut Rng, wasm: &mut Vec<u8>) -> &'static str {
    let Some(mut secs) = sections(wasm) else {
        return mutate(rng, wasm);
    };
    let modules: Vec<usize> = (0..secs.len()).filter(|&i| secs[i].id == 1).collect();
    if modules.is_empty() {
        return mutate(rng, wasm);
    }
    let i = modules[rng.below(modules.len())];
    let mut payload = std::mem::take(&mut secs[i].payload);
    mutate(rng, &mut payload);
    secs[i] = Section { id: 1, payload };
    *wasm = assemble(&wasm[..8], &secs);
    "core module"
}

/// Strings arguments are drawn from: empty, ASCII, Latin-1, BMP, astral.
const STRINGS: &[&str] = &[
    "",
    "robust",
    "caf\u{e9} \u{ff}",
    "\u{2603}\u{20ac}",
    "\u{1f370}x\u{10ffff}",
];

/// A default-ish value of `ty`: zeros, a string of [`STRINGS`], a list of
/// up to three elements, a variant's, option's or result's case at random;
/// `None` if it needs a handle (or nests too deep).
fn default_val(types: &Types, ty: &ComponentValType, rng: &mut Rng, depth: usize) -> Option<CVal> {
    if depth > MAX_VALUE_DEPTH {
        return None;
    }
    let d = |t: &ComponentValType, rng: &mut Rng| default_val(types, t, rng, depth + 1);
    Some(match ty {
        ComponentValType::Primitive(p) => match p {
            PrimitiveValType::Bool => CVal::Bool(rng.chance(50)),
            PrimitiveValType::S8 => CVal::S8(0),
            PrimitiveValType::U8 => CVal::U8(0),
            PrimitiveValType::S16 => CVal::S16(0),
            PrimitiveValType::U16 => CVal::U16(0),
            PrimitiveValType::S32 => CVal::S32(0),
            PrimitiveValType::U32 => CVal::U32(if rng.chance(20) { u32::MAX } else { 0 }),
            PrimitiveValType::S64 => CVal::S64(0),
            PrimitiveValType::U64 => CVal::U64(0),
            PrimitiveValType::F32 => CVal::Float32(0.0),
            PrimitiveValType::F64 => CVal::Float64(0.0),
            PrimitiveValType::Char => CVal::Char('\u{1f370}'),
            PrimitiveValType::String => CVal::String(STRINGS[rng.below(STRINGS.len())].into()),
            PrimitiveValType::ErrorContext => return None,
        },
        ComponentValType::Type(id) => match &types[*id] {
            ComponentDefinedType::Primitive(p) => {
                return default_val(types, &ComponentValType::Primitive(*p), rng, depth);
            }
            ComponentDefinedType::Record(r) => CVal::Record(
                r.fields
                    .iter()
                    .map(|(n, t)| Some((n.to_string(), d(t, rng)?)))
                    .collect::<Option<_>>()?,
            ),
            ComponentDefinedType::Variant(v) => {
                let (name, case) = v.cases.get_index(rng.below(v.cases.len()))?;
                let payload = match &case.ty {
                    Some(t) => Some(Box::new(d(t, rng)?)),
                    None => None,
                };
                CVal::Variant(name.to_string(), payload)
            }
            ComponentDefinedType::List { element, .. } => {
                let n = rng.below(4);
                CVal::List((0..n).map(|_| d(element, rng)).collect::<Option<_>>()?)
            }
            ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => {
                let e = d(element, rng)?;
                CVal::List(vec![e; (*length).min(1024) as usize])
            }
            ComponentDefinedType::Map { .. } => CVal::Map(Vec::new()),
            ComponentDefinedType::Tuple(t) => {
                CVal::Tuple(t.types.iter().map(|t| d(t, rng)).collect::<Option<_>>()?)
            }
            ComponentDefinedType::Flags(f) => CVal::Flags(
                f.iter()
                    .filter(|_| rng.chance(50))
                    .map(|n| n.to_string())
                    .collect(),
            ),
            ComponentDefinedType::Enum(e) => {
                CVal::Enum(e.iter().nth(rng.below(e.len()))?.to_string())
            }
            ComponentDefinedType::Option { ty, .. } => CVal::Option(if rng.chance(30) {
                None
            } else {
                Some(Box::new(d(ty, rng)?))
            }),
            ComponentDefinedType::Result { ok, err, .. } => {
                let (is_ok, t) = if rng.chance(70) {
                    (true, ok)
                } else {
                    (false, err)
                };
                let payload = match t {
                    Some(t) => Some(Box::new(d(t, rng)?)),
                    None => None,
                };
                CVal::Result(if is_ok { Ok(payload) } else { Err(payload) })
            }
            _ => return None,
        },
    })
}

type Check = Result<(), String>;

pub struct ComponentChecker<'a> {
    pub engines: &'a [Engine; 2],
    pub seeds: &'a [Vec<u8>],
    /// Artifacts of some seeds (made with `engines[0]`), with their seed.
    pub artifacts: &'a [ComponentArtifact],
    pub seed: u64,
    pub verbose: bool,
}

/// A component artifact to damage, the component binary it was made from,
/// and where the bytes its header's checks cover end (the header up to its
/// checksum, then the module table and the metadata).
pub struct ComponentArtifact {
    bytes: Vec<u8>,
    wasm: Vec<u8>,
    checked_end: usize,
}

/// The header bytes a component artifact checks: magic, format and engine
/// versions, counts, offsets, lengths and the checksum (the rest of the
/// 128-byte header is reserved).
const ARTIFACT_HEADER_CHECKED: usize = 72;

/// Artifacts of up to `n` seeds that compile, spread over the corpus.
fn component_artifacts(engine: &Engine, seeds: &[Vec<u8>], n: usize) -> Vec<ComponentArtifact> {
    let step = (seeds.len() / n.max(1)).max(1);
    seeds
        .iter()
        .step_by(step)
        .filter_map(|wasm| {
            let c = Component::new(engine, wasm).ok()?;
            let bytes = c.serialize().ok()?;
            let at = |i: usize| {
                bytes
                    .get(i..i + 8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
            };
            let checked_end = at(40)?.checked_add(at(48)?)?;
            Some(ComponentArtifact {
                bytes,
                wasm: wasm.clone(),
                checked_end,
            })
        })
        .take(n)
        .collect()
}

impl ComponentChecker<'_> {
    pub fn case(&self, index: u64) -> (Vec<u8>, Vec<&'static str>, Rng) {
        let mut rng = new_rng(self.seed ^ 0xC0DE ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut bytes = self.seeds[rng.below(self.seeds.len())].clone();
        let n = match rng.below(10) {
            0 => 0,
            1..6 => 1,
            6..9 => 2,
            _ => 3,
        };
        let mut what = Vec::new();
        for _ in 0..n {
            what.push(if rng.chance(50) {
                mutate_nested(&mut rng, &mut bytes)
            } else {
                mutate(&mut rng, &mut bytes)
            });
        }
        (bytes, what, rng)
    }

    pub fn check_case(&self, index: u64, st: &mut ComponentStats) -> Check {
        // One case in ten damages an artifact instead.
        if index % 10 == 9 && !self.artifacts.is_empty() {
            return self.check_artifact(index, st);
        }
        let (bytes, what, mut rng) = self.case(index);
        if self.verbose {
            println!(
                "component case {index}: {} bytes after {what:?}",
                bytes.len()
            );
        }
        let engine = &self.engines[usize::from(index % 4 == 3)];
        let component = match Component::new(engine, &bytes) {
            Ok(c) => c,
            Err(e) => {
                if self.verbose {
                    println!("not compiled: {e}");
                }
                return match e.kind() {
                    ErrorKind::Compile(c) if c.is_invalid() => {
                        st.rejected += 1;
                        Ok(())
                    }
                    ErrorKind::Compile(CompileError::Unsupported(_)) => {
                        st.unsupported += 1;
                        Ok(())
                    }
                    _ => Err(format!("compile: wrong kind of error: {e}")),
                };
            }
        };
        st.compiled += 1;
        if component.import_names().next().is_some() {
            st.with_imports += 1;
        }
        self.run(&component, &bytes, &mut rng, st)
    }

    /// A damaged component artifact is refused with `ErrorKind::Artifact`,
    /// or it loads (damage where no check looks: the reserved header bytes,
    /// padding, a module artifact's own unchecked bytes, bytes appended)
    /// and then runs like any other component. Damage to the bytes the
    /// header's checks cover, and truncation, must be refused.
    fn check_artifact(&self, index: u64, st: &mut ComponentStats) -> Check {
        st.artifacts += 1;
        let mut rng = new_rng(self.seed ^ 0xA27 ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let a = &self.artifacts[rng.below(self.artifacts.len())];
        let mut bytes = a.bytes.clone();
        let len = bytes.len();
        let mut detectable = false;
        match rng.below(10) {
            0..3 => {
                // In the checked header and metadata.
                for _ in 0..=rng.below(3) {
                    let i = if rng.chance(50) {
                        rng.below(ARTIFACT_HEADER_CHECKED)
                    } else {
                        128 + rng.below(a.checked_end.saturating_sub(128).max(1))
                    };
                    if let Some(b) = bytes.get_mut(i) {
                        *b ^= rng.nonzero_byte();
                    }
                }
                detectable = bytes[..a.checked_end.min(len)]
                    .iter()
                    .zip(&a.bytes)
                    .enumerate()
                    .any(|(i, (x, y))| x != y && !(ARTIFACT_HEADER_CHECKED..128).contains(&i));
            }
            3..7 => {
                // Anywhere.
                for _ in 0..=rng.below(3) {
                    let i = rng.below(len);
                    bytes[i] ^= rng.nonzero_byte();
                }
            }
            7 => {
                bytes.truncate(rng.below(len));
                detectable = true;
            }
            8 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(64);
                bytes.splice(at..at, rng.bytes(n));
            }
            _ => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(4096)).min(len);
                bytes.drain(at..end);
            }
        }
        if self.verbose {
            println!(
                "component artifact case {index}: {len} -> {} bytes, detectable {detectable}",
                bytes.len()
            );
        }
        // SAFETY: made by this engine; damage is what is tested.
        match unsafe { Component::deserialize(&self.engines[0], &bytes) } {
            Err(e) if matches!(e.kind(), ErrorKind::Artifact(_)) => {
                st.artifacts_refused += 1;
                Ok(())
            }
            Err(e) => Err(format!("component artifact: wrong kind of error: {e}")),
            Ok(_) if detectable => {
                Err("component artifact: damage to checked bytes went undetected, it loaded".into())
            }
            Ok(c) => {
                st.artifacts_loaded += 1;
                self.run(&c, &a.wasm, &mut rng, st)
            }
        }
    }

    fn arm(store: &mut Store<()>) {
        store.set_fuel(FUEL_PER_CALL).expect("fuel is on");
        store.set_epoch_deadline(EPOCH_DEADLINE_TICKS);
    }

    fn run(
        &self,
        component: &Component,
        bytes: &[u8],
        rng: &mut Rng,
        st: &mut ComponentStats,
    ) -> Check {
        // The compiled component was valid to the engine; wasmparser (all
        // features) tells the imports' and exports' types.
        let Some(types) = validate(bytes) else {
            return Err("the engine compiled a component wasmparser finds invalid".into());
        };
        let mut store = Store::new(component.engine(), ());
        Self::arm(&mut store);
        let mut linker = Linker::<()>::new(component.engine());
        let imports: Vec<String> = component.import_names().map(str::to_string).collect();
        for name in &imports {
            stub_import(&mut linker, &types, name, rng)?;
        }
        let instance = match linker.instantiate(&mut store, component) {
            Ok(i) => i,
            Err(e) => {
                if self.verbose {
                    println!("not instantiated: {e}");
                }
                return match e.kind() {
                    ErrorKind::Trap(_) | ErrorKind::Instantiation(_) | ErrorKind::Link { .. } => {
                        st.instantiation_traps += 1;
                        Ok(())
                    }
                    _ => Err(format!("instantiation: wrong kind of error: {e}")),
                };
            }
        };
        st.instantiated += 1;
        let names: Vec<String> = component.export_names().map(str::to_string).collect();
        for name in names.iter().take(MAX_CALLS) {
            let Some(func) = instance.get_func(&mut store, name.as_str()) else {
                continue;
            };
            let Some(item) = types.as_ref().component_item_for_export(name) else {
                return Err(format!("export `{name}`: not in wasmparser's view"));
            };
            let ComponentEntityType::Func(id) = item.ty else {
                return Err(format!(
                    "export `{name}`: a function, but not to wasmparser"
                ));
            };
            let fty = &types[id];
            let args: Option<Vec<CVal>> = fty
                .params
                .iter()
                .map(|(_, t)| default_val(&types, t, rng, 0))
                .collect();
            let Some(args) = args else {
                st.skipped_funcs += 1;
                continue;
            };
            let mut results = vec![CVal::Bool(false); func.result_count(&mut store)];
            Self::arm(&mut store);
            st.calls += 1;
            match func.call(&mut store, &args, &mut results) {
                Ok(()) => st.returned += 1,
                Err(e) => match e.trap_code() {
                    Some(TrapCode::OutOfFuel) => st.out_of_fuel += 1,
                    Some(TrapCode::Interrupt) => st.interrupted += 1,
                    Some(_) => st.traps += 1,
                    None => return Err(format!("call `{name}`: wrong kind of error: {e}")),
                },
            }
        }
        Ok(())
    }
}

/// What a stub import of type `id` returns: a default-ish value of its
/// result type, drawn once (`Some(None)` without a result). `None` when the
/// result needs a handle (the import is left undefined, and linking fails).
fn stub_result(
    types: &Types,
    id: wasmparser::component_types::ComponentFuncTypeId,
    rng: &mut Rng,
) -> Option<Option<CVal>> {
    Some(match &types[id].result {
        Some(t) => Some(default_val(types, t, rng, 0)?),
        None => None,
    })
}

/// A host function returning `result`.
fn stub_func(
    result: Option<CVal>,
) -> impl Fn(StoreContextMut<'_, ()>, &[CVal], &mut [CVal]) -> nyash_engine::Result<()> {
    move |_, _, out| {
        if let (Some(slot), Some(v)) = (out.first_mut(), &result) {
            *slot = v.clone();
        }
        Ok(())
    }
}

/// Defines stubs for the root import `name`: a function, or an instance
/// of functions (its other exports, and other kinds of imports, are left
/// undefined: linking then fails, which is fine).
fn stub_import(linker: &mut Linker<()>, types: &Types, name: &str, rng: &mut Rng) -> Check {
    let Some(item) = types.as_ref().component_item_for_import(name) else {
        return Err(format!("import `{name}`: not in wasmparser's view"));
    };
    let defined = match item.ty {
        ComponentEntityType::Func(id) => match stub_result(types, id, rng) {
            Some(r) => linker.root().func_new(name, stub_func(r)),
            None => Ok(()),
        },
        ComponentEntityType::Instance(id) => {
            let exports: Vec<(String, ComponentEntityType)> = types[id]
                .exports
                .iter()
                .map(|(n, item)| (n.to_string(), item.ty))
                .collect();
            let mut r = Ok(());
            match linker.instance(name) {
                Ok(mut inst) => {
                    for (n, ty) in exports {
                        if let ComponentEntityType::Func(fid) = ty
                            && let Some(ret) = stub_result(types, fid, rng)
                            && let Err(e) = inst.func_new(&n, stub_func(ret))
                        {
                            r = Err(e);
                            break;
                        }
                    }
                }
                Err(e) => r = Err(e),
            }
            r
        }
        _ => Ok(()),
    };
    // Two imports may share a name up to a version: the linker refuses
    // the second definition, with an error (not a panic).
    let _ = defined;
    Ok(())
}

/// Runs the component cases; returns the totals and the failure lines.
pub fn run_components(engines: &[Engine; 2], threads: usize) -> (ComponentStats, Vec<String>) {
    let started = Instant::now();
    let seeds = component_seeds();
    let single = env_u64("ROBUSTNESS_COMPONENT_CASE");
    let cases = single.map_or_else(
        || env_u64("ROBUSTNESS_COMPONENT_CASES").unwrap_or(DEFAULT_COMPONENT_CASES),
        |_| 1,
    );
    let artifacts = component_artifacts(&engines[0], &seeds, 24);
    let checker = ComponentChecker {
        engines,
        seeds: &seeds,
        artifacts: &artifacts,
        seed: env_u64("ROBUSTNESS_SEED").unwrap_or(0),
        verbose: single.is_some(),
    };
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    // Per worker: case + 1 (0 when idle) and its start in ms.
    let slots: Vec<(AtomicU64, AtomicU64)> = (0..threads)
        .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
        .collect();
    let total = Mutex::new(ComponentStats::default());
    let failures = Mutex::new(Vec::<(u64, String)>::new());
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engines[1].increment_epoch();
            }
        });
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = started.elapsed().as_millis() as u64;
                for (case, since) in &slots {
                    let c = case.load(Ordering::SeqCst);
                    if c != 0
                        && now.saturating_sub(since.load(Ordering::SeqCst))
                            > CASE_DEADLINE.as_millis() as u64
                    {
                        println!(
                            "FAIL component case {}: no result after {} s (hang); rerun with ROBUSTNESS_COMPONENT_CASE={}",
                            c - 1,
                            CASE_DEADLINE.as_secs(),
                            c - 1
                        );
                        println!(
                            "robustness components: {} cases, 0 panics, 1 hangs, 0 wrong-kind errors",
                            next.load(Ordering::Relaxed)
                        );
                        std::process::exit(1);
                    }
                }
            }
        });
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let (checker, next, slots, total, failures, tmp) =
                    (&checker, &next, &slots, &total, &failures, &tmp);
                s.spawn(move || {
                    let mut st = ComponentStats::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= cases {
                            break;
                        }
                        let case = single.unwrap_or(i);
                        slots[w]
                            .1
                            .store(started.elapsed().as_millis() as u64, Ordering::SeqCst);
                        slots[w].0.store(case + 1, Ordering::SeqCst);
                        st.cases += 1;
                        let t0 = Instant::now();
                        let r =
                            catch_unwind(AssertUnwindSafe(|| checker.check_case(case, &mut st)));
                        slots[w].0.store(0, Ordering::SeqCst);
                        let why = match r {
                            Ok(Ok(())) => None,
                            Ok(Err(why)) => {
                                st.wrong_kind += 1;
                                Some(why)
                            }
                            Err(p) => {
                                st.panics += 1;
                                let msg = payload_message(&*p);
                                let site = super::panic_sites()
                                    .lock()
                                    .unwrap()
                                    .get(&msg)
                                    .cloned()
                                    .unwrap_or_default();
                                Some(format!("panicked at {site}: {msg}"))
                            }
                        };
                        if t0.elapsed() > CASE_DEADLINE {
                            st.hangs += 1;
                        }
                        if let Some(why) = why {
                            let _ = std::fs::write(
                                tmp.join(format!("component-case-{case}.wasm")),
                                checker.case(case).0,
                            );
                            failures
                                .lock()
                                .unwrap()
                                .push((case, format!("FAIL component case {case}: {why}")));
                        }
                    }
                    total.lock().unwrap().add(&st);
                })
            })
            .collect();
        for w in workers {
            if w.join().is_err() {
                println!("FAIL: a component worker thread died (a panic in the test itself)");
                total.lock().unwrap_or_else(|e| e.into_inner()).panics += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    let t = total.into_inner().unwrap();
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    println!(
        "robustness components breakdown: {} seeds; {} compiled ({} with imports, given stubs), \
         {} rejected as invalid, {} as unsupported; {} instantiated, {} failed to instantiate \
         (unlinkable or trapped); {} calls: {} returned, {} trapped, {} out of fuel, {} interrupted; {} functions \
         taking handles skipped; artifacts of {} components damaged {} times: {} refused, {} loaded; \
         {:.1} s on {threads} threads",
        seeds.len(),
        t.compiled,
        t.with_imports,
        t.rejected,
        t.unsupported,
        t.instantiated,
        t.instantiation_traps,
        t.calls,
        t.returned,
        t.traps,
        t.out_of_fuel,
        t.interrupted,
        t.skipped_funcs,
        artifacts.len(),
        t.artifacts,
        t.artifacts_refused,
        t.artifacts_loaded,
        started.elapsed().as_secs_f64(),
    );
    (t, failures.into_iter().map(|(_, f)| f).collect())
}

//! The Component Model's first layer: parsing, validating and translating
//! components (`nyash_aot::component`).
//!
//! `official_validation_tests` runs the official Component Model reference
//! tests (WebAssembly/component-model `test/`, cloned beside the project as
//! `../shared/component-model-tests`, or wherever `COMPONENT_MODEL_TESTS`
//! says) for everything they say about validity; the other tests check the
//! translation's structure on small components of our own.

use std::path::PathBuf;

use nyash_aot::CompileError;
use nyash_aot::component::translate::{
    ClosedOverComponent, ClosedOverModule, ComponentTranslation, Initializer, StringEncoding,
};
use nyash_aot::component::types::{DefinedType, InterfaceType};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective};

/// Translates a component and validates its core modules' function bodies
/// (what the compile will do); a core module goes to the core parser.
fn check(wasm: &[u8]) -> Result<(), CompileError> {
    if wasm.get(4..8) == Some(&[1, 0, 0, 0]) {
        let (env, bodies) = nyash_aot::parse::parse(wasm, nyash_aot::WasmFeatures::empty())?;
        let mut m = nyash_aot::component::translate::ModuleTranslation {
            range: 0..wasm.len(),
            env,
            bodies,
        };
        return m.validate_function_bodies(wasm);
    }
    let mut t = nyash_aot::component::translate(wasm)?;
    t.validate_function_bodies(wasm)?;
    // The inliner must not find an engine bug in any valid component (what
    // it does not support yet is counted, not failed).
    match nyash_aot::component::inline::inline(&t) {
        Err(e @ CompileError::Internal(_)) => Err(e),
        Err(CompileError::Unsupported(msg)) => {
            INLINE_UNSUPPORTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = msg;
            Ok(())
        }
        Err(e) => Err(CompileError::Internal(format!("inliner: {e:?}"))),
        Ok(_) => {
            INLINED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
    }
}

static INLINED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static INLINE_UNSUPPORTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The features the engine refuses on purpose, by a piece of the
/// `Unsupported` message, with the reason: a valid component that needs
/// one is skipped, any other `Unsupported` is a failure.
const REFUSED: &[(&str, &str)] = &[
    (
        "shared-everything threads",
        "shared-everything threads are deferred",
    ),
    (
        "`stream.forward`",
        "the `stream.forward`/`future.forward` built-ins are deferred",
    ),
];

/// Directives whose answer is wasmparser's, not the spec's, by
/// `folder/file.wast:line`, with the reason.
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[
    (
        "validation/kebab.wast:4",
        "wasmparser 0.263 treats the names `a1` and `a-1` as conflicting; the spec's \
     case-insensitive uniqueness keeps them distinct",
    ),
    (
        "binary/binary.wast:974",
        "an async built-in in its canon section has an immediate byte 0x01 that \
     wasmparser 0.263 rejects (\"historically accepted as `cancellable` until \
     component-model#716\")",
    ),
];

fn refused(e: &CompileError) -> Option<&'static str> {
    let CompileError::Unsupported(msg) = e else {
        return None;
    };
    REFUSED
        .iter()
        .find(|(needle, _)| msg.contains(needle))
        .map(|(_, why)| *why)
}

/// Where the official tests are: `$COMPONENT_MODEL_TESTS`, or
/// `../shared/component-model-tests` beside the project's root (as
/// `tests/wasi-testsuite/run.sh` finds `../shared/wasi-testsuite`).
fn suite_dir() -> PathBuf {
    match std::env::var_os("COMPONENT_MODEL_TESTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/component-model-tests")
        }
    }
}

/// Tests of the suite that land ahead of implementations (`test/nyi.txt`).
fn nyi(suite: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(suite.join("test/nyi.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("./").to_string())
        .collect()
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
    needs_instantiation: usize,
    /// assert_invalid/assert_malformed passed because the text format
    /// (the `wast` crate) already rejected the text.
    text_rejected: usize,
    failures: Vec<String>,
    skips: Vec<String>,
}

fn run_file(path: &std::path::Path, tally: &mut Tally) {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).expect("read a .wast file of the suite");
    let buf = match ParseBuffer::new(&text) {
        Ok(b) => b,
        Err(e) => {
            tally.failed += 1;
            tally.failures.push(format!("{name}: lexing: {e}"));
            return;
        }
    };
    let wast: Wast = match parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => {
            tally.failed += 1;
            tally.failures.push(format!("{name}: parsing: {e}"));
            return;
        }
    };
    for directive in wast.directives {
        let (line, _) = directive.span().linecol_in(&text);
        let at = format!("{name}:{}", line + 1);
        if let Some((_, why)) = KNOWN_DISAGREEMENTS.iter().find(|(k, _)| at.ends_with(k)) {
            tally.skipped += 1;
            tally.skips.push(format!("{at}: {why}"));
            continue;
        }
        match directive {
            WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => {
                match encode(&mut m) {
                    Err(e) => {
                        tally.failed += 1;
                        tally
                            .failures
                            .push(format!("{at}: text does not encode: {e}"));
                    }
                    Ok(wasm) => match check(&wasm) {
                        Ok(()) => tally.passed += 1,
                        Err(e) => match refused(&e) {
                            Some(why) => {
                                tally.skipped += 1;
                                tally.skips.push(format!("{at}: {why}"));
                            }
                            None => {
                                tally.failed += 1;
                                tally.failures.push(format!("{at}: valid, but {e:?}"));
                            }
                        },
                    },
                }
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => match encode(&mut module) {
                // The text format already rejects it.
                Err(_) => {
                    tally.passed += 1;
                    tally.text_rejected += 1;
                }
                Ok(wasm) => match check(&wasm) {
                    Err(e) if e.is_invalid() => tally.passed += 1,
                    other => {
                        tally.failed += 1;
                        tally
                            .failures
                            .push(format!("{at}: expected invalid ({message}), got {other:?}"));
                    }
                },
            },
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => match encode(&mut module) {
                Err(_) => {
                    tally.passed += 1;
                    tally.text_rejected += 1;
                }
                Ok(wasm) => match check(&wasm) {
                    Err(e) if e.is_invalid() => tally.passed += 1,
                    other => {
                        tally.failed += 1;
                        tally.failures.push(format!(
                            "{at}: expected malformed ({message}), got {other:?}"
                        ));
                    }
                },
            },
            WastDirective::AssertReturn { .. }
            | WastDirective::AssertTrap { .. }
            | WastDirective::Invoke(_)
            | WastDirective::AssertUnlinkable { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertException { .. }
            | WastDirective::ModuleInstance { .. }
            | WastDirective::Register { .. } => tally.needs_instantiation += 1,
            _ => tally.needs_instantiation += 1,
        }
    }
}

fn encode(m: &mut QuoteWat<'_>) -> Result<Vec<u8>, wast::Error> {
    m.encode()
}

#[test]
fn official_validation_tests() {
    let suite = suite_dir();
    let test = suite.join("test");
    assert!(
        test.is_dir(),
        "the official Component Model tests are not at {}: clone \
         https://github.com/WebAssembly/component-model's `test/` there (as \
         ../shared/component-model-tests beside the project), or set \
         COMPONENT_MODEL_TESTS",
        suite.display()
    );
    let nyi = nyi(&suite);
    let mut any_failed = false;
    for folder in ["validation", "binary", "values", "linking", "resources"] {
        let mut files: Vec<_> = std::fs::read_dir(test.join(folder))
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wast"))
            .collect();
        files.sort();
        let mut tally = Tally::default();
        for f in &files {
            let rel = format!(
                "{folder}/{}",
                f.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            if nyi.contains(&rel) {
                tally.skipped += 1;
                tally.skips.push(format!("{rel}: listed in test/nyi.txt"));
                continue;
            }
            run_file(f, &mut tally);
        }
        println!(
            "component-model validation {folder}: {} passed, {} failed, {} skipped \
             ({} of the passes rejected by the text parser already; {} directives need \
             instantiation (not yet))",
            tally.passed,
            tally.failed,
            tally.skipped,
            tally.text_rejected,
            tally.needs_instantiation
        );
        for s in &tally.skips {
            println!("  skipped {s}");
        }
        for f in &tally.failures {
            println!("  FAILED {f}");
        }
        any_failed |= tally.failed > 0;
    }
    println!(
        "component-model inline: {} valid components inlined, {} use what the inliner \
         does not support yet",
        INLINED.load(std::sync::atomic::Ordering::Relaxed),
        INLINE_UNSUPPORTED.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        !any_failed,
        "component-model validation tests failed (above)"
    );
}

fn translate(wat: &str) -> (ComponentTranslation, Vec<u8>) {
    let wasm = wat::parse_str(wat).expect("test component parses");
    let t = nyash_aot::component::translate(&wasm).expect("test component translates");
    (t, wasm)
}

#[test]
fn nested_component_with_outer_aliases_captures_upvars() {
    let (t, _) = translate(
        r#"(component
            (core module $m)
            (component $outer_c)
            (component $a
                (component $b
                    (alias outer 2 $m (core module $mm))
                    (alias outer 2 $outer_c (component $cc))
                    (core instance (instantiate $mm))
                )
                (instance (instantiate $b))
            )
            (instance (instantiate $a))
        )"#,
    );
    // Order of ends: $outer_c, $b, $a, root.
    assert_eq!(t.components.len(), 4);
    assert_eq!(t.modules.len(), 1);
    let b = &t.components[1];
    assert_eq!(b.num_upvar_modules, 1);
    assert_eq!(b.num_upvar_components, 1);
    assert_eq!(
        b.initializers[0],
        Initializer::AliasModule(ClosedOverModule::Upvar(0))
    );
    assert_eq!(
        b.initializers[1],
        Initializer::AliasComponent(ClosedOverComponent::Upvar(0))
    );
    // $a captures the root's module 0 and component 0 for $b.
    let a = &t.components[2];
    assert_eq!(a.num_upvar_modules, 1);
    match &a.initializers[0] {
        Initializer::DefineComponent {
            closure_modules,
            closure_components,
            ..
        } => {
            assert_eq!(closure_modules, &[ClosedOverModule::Upvar(0)]);
            assert_eq!(closure_components, &[ClosedOverComponent::Upvar(0)]);
        }
        other => panic!("expected $b's definition, got {other:?}"),
    }
    let root = t.root();
    match &root.initializers[2] {
        Initializer::DefineComponent {
            closure_modules,
            closure_components,
            ..
        } => {
            assert_eq!(closure_modules, &[ClosedOverModule::Local(0)]);
            assert_eq!(closure_components, &[ClosedOverComponent::Local(0)]);
        }
        other => panic!("expected $a's definition, got {other:?}"),
    }
    assert_eq!(root.num_upvar_modules, 0);
}

#[test]
fn canon_lift_and_lower_keep_every_option_and_the_types() {
    let (t, _) = translate(
        r#"(component
            (import "log" (func $log (param "msg" string)))
            (core module $m
                (memory (export "mem") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
                (func (export "post") (param i32))
                (func (export "f") (param i32 i32 i32 i32 i32) (result i32) i32.const 0)
            )
            (core instance $i (instantiate $m))
            (type $rec (record (field "a" u8) (field "b" (list string))))
            (type $ft (func (param "x" string) (param "r" $rec) (result (tuple u32 (option $rec)))))
            (func $f (type $ft)
                (canon lift (core func $i "f") (memory (core memory $i "mem"))
                    (realloc (core func $i "realloc")) (post-return (core func $i "post"))
                    string-encoding=utf16))
            (core func (canon lower (func $log) (memory (core memory $i "mem")) string-encoding=latin1+utf16))
            (core func (canon lower (func $log) (memory (core memory $i "mem"))))
        )"#,
    );
    let root = t.root();
    let lift = root
        .initializers
        .iter()
        .find_map(|i| match i {
            Initializer::Lift { ty, options, .. } => Some((*ty, *options)),
            _ => None,
        })
        .expect("a lift");
    assert_eq!(lift.1.string_encoding, StringEncoding::Utf16);
    assert!(lift.1.memory.is_some() && lift.1.realloc.is_some() && lift.1.post_return.is_some());
    let ft = t.types.func(lift.0);
    assert_eq!(ft.params[0], ("x".to_string(), InterfaceType::String));
    let InterfaceType::Defined(rec) = ft.params[1].1 else {
        panic!("record param is not a defined type")
    };
    match t.types.defined(rec) {
        DefinedType::Record(fields) => {
            assert_eq!(fields[0], ("a".to_string(), InterfaceType::U8));
            let InterfaceType::Defined(l) = fields[1].1 else {
                panic!("list field")
            };
            assert_eq!(
                t.types.defined(l),
                &DefinedType::List(InterfaceType::String)
            );
        }
        other => panic!("not a record: {other:?}"),
    }
    let Some(InterfaceType::Defined(tup)) = ft.result else {
        panic!("tuple result")
    };
    let DefinedType::Tuple(elems) = t.types.defined(tup) else {
        panic!("not a tuple")
    };
    // The record is stored once, used twice.
    let InterfaceType::Defined(opt) = elems[1] else {
        panic!("option element")
    };
    assert_eq!(t.types.defined(opt), &DefinedType::Option(ft.params[1].1));
    let encodings: Vec<_> = root
        .initializers
        .iter()
        .filter_map(|i| match i {
            Initializer::Lower { options, .. } => Some(options.string_encoding),
            _ => None,
        })
        .collect();
    assert_eq!(
        encodings,
        [StringEncoding::Latin1Utf16, StringEncoding::Utf8]
    );
    assert_eq!(t.modules[0].env.exports.len(), 4);
}

#[test]
fn resources_are_defined_and_their_builtins_name_them() {
    let (t, _) = translate(
        r#"(component
            (import "r-in" (type $imp (sub resource)))
            (core module $m (func (export "dtor") (param i32)))
            (core instance $i (instantiate $m))
            (type $r (resource (rep i32) (dtor (core func $i "dtor"))))
            (core func $new (canon resource.new $r))
            (core func $drop (canon resource.drop $r))
            (core func $rep (canon resource.rep $r))
            (core func (canon resource.drop $imp))
            (type $f (func (param "h" (own $r)) (param "b" (borrow $imp))))
        )"#,
    );
    let inits = &t.root().initializers;
    let defined = inits
        .iter()
        .find_map(|i| match i {
            Initializer::DefineResource { resource, dtor } => Some((*resource, *dtor)),
            _ => None,
        })
        .expect("a defined resource");
    assert!(defined.1.is_some());
    let r = defined.0;
    assert!(inits.contains(&Initializer::ResourceNew(r)));
    assert!(inits.contains(&Initializer::ResourceDrop(r)));
    assert!(inits.contains(&Initializer::ResourceRep(r)));
    let other_drop = inits
        .iter()
        .filter_map(|i| match i {
            Initializer::ResourceDrop(x) => Some(*x),
            _ => None,
        })
        .find(|x| *x != r)
        .expect("the imported resource's drop");
    assert_ne!(other_drop, r);
    assert_eq!(t.types.resources.len(), 2);
}

#[test]
fn errors_are_invalid_or_unsupported_never_a_panic() {
    // A core module is not a component.
    let core = wat::parse_str("(module)").unwrap();
    assert!(matches!(
        nyash_aot::component::translate(&core),
        Err(CompileError::InvalidComponent { .. })
    ));
    // Invalid: lifting with a string parameter and no memory.
    let bad = wat::parse_str(
        r#"(component
            (core module $m (func (export "f") (param i32 i32)))
            (core instance $i (instantiate $m))
            (func (param "s" string) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    match nyash_aot::component::translate(&bad) {
        Err(CompileError::InvalidComponent { offset, .. }) => assert!(offset > 8),
        other => panic!("expected invalid, got {:?}", other.err()),
    }
    // The async ABI's types translate: an async function type keeps its
    // flag, `stream`/`future` their payload types.
    let async_ty = wat::parse_str(
        r#"(component (type (func async (param "s" (stream u8)) (result (future u32)))))"#,
    )
    .unwrap();
    let t = nyash_aot::component::translate(&async_ty).expect("async types translate");
    let f = &t.types.funcs[0];
    assert!(f.async_);
    assert!(t.types.defined.iter().any(|d| matches!(
        d,
        nyash_aot::component::types::DefinedType::Stream(Some(
            nyash_aot::component::types::InterfaceType::U8
        ))
    )));
    // An invalid function body in a nested module is found by the body
    // validation, at the component's offset.
    let body =
        wat::parse_str(r#"(component (core module (func (result i32) i64.const 0)))"#).unwrap();
    let mut t = nyash_aot::component::translate(&body).expect("module-level valid");
    match t.validate_function_bodies(&body) {
        Err(CompileError::Invalid { offset, .. }) => assert!(offset > 10 && offset < body.len()),
        other => panic!("expected invalid body, got {other:?}"),
    }
    // No truncation of a valid component panics; one cut inside a section
    // (here: the last byte) is an error. (A cut at a section boundary is a
    // valid, shorter component: the 8-byte header alone is the empty one.)
    let (_, wasm) = translate(
        r#"(component (core module $m (func (export "f"))) (core instance (instantiate $m))
            (component (import "x" (func))))"#,
    );
    for n in 0..wasm.len() {
        let _ = nyash_aot::component::translate(&wasm[..n]);
    }
    assert!(nyash_aot::component::translate(&wasm[..wasm.len() - 1]).is_err());
    assert!(nyash_aot::component::translate(&wasm[..7]).is_err());
}

#[test]
fn inlining_flattens_instances_and_finds_lowered_imports_and_fused_adapters() {
    use nyash_aot::component::inline::{CoreDef, GlobalInitializer, ModuleDef};
    let (t, _) = translate(
        r#"(component
            (import "host-log" (func $log (param "x" u32)))
            (component $callee
                (core module $m (func (export "f") (param i32) (result i32) local.get 0))
                (core instance $i (instantiate $m))
                (func (export "f") (param "x" u32) (result u32) (canon lift (core func $i "f")))
            )
            (component $caller
                (import "f" (func $f (param "x" u32) (result u32)))
                (import "log" (func $log (param "x" u32)))
                (core func $f-low (canon lower (func $f)))
                (core func $log-low (canon lower (func $log)))
                (core module $m
                    (import "" "f" (func (param i32) (result i32)))
                    (import "" "log" (func (param i32))))
                (core instance $args (export "f" (func $f-low)) (export "log" (func $log-low)))
                (core instance (instantiate $m (with "" (instance $args))))
            )
            (instance $a (instantiate $callee))
            (instance $b1 (instantiate $caller
                (with "f" (func $a "f")) (with "log" (func $log))))
            (instance $b2 (instantiate $caller
                (with "f" (func $a "f")) (with "log" (func $log))))
            (export "f" (func $a "f"))
        )"#,
    );
    let c = nyash_aot::component::inline::inline(&t).expect("inlines");
    assert_eq!(c.imports.len(), 1);
    // One callee instance, two caller instances (the root is instance 0).
    assert_eq!(c.num_component_instances, 4);
    assert_eq!(c.num_runtime_instances, 3);
    assert_eq!(
        c.num_lowered, 2,
        "one host import lowered per caller instance"
    );
    assert_eq!(c.num_adapters, 2, "one fused adapter per caller instance");
    // The callee's module is instantiated first, then each caller's, with
    // its two imports bound to the adapter and the host trampoline.
    let instantiations: Vec<_> = c
        .initializers
        .iter()
        .filter_map(|i| match i {
            GlobalInitializer::InstantiateModule { module, args, .. } => Some((module, args)),
            _ => None,
        })
        .collect();
    assert_eq!(instantiations.len(), 3);
    assert!(matches!(instantiations[0].0, ModuleDef::Static(_)));
    assert!(instantiations[0].1.is_empty());
    for (_, args) in &instantiations[1..] {
        assert!(matches!(args[0], CoreDef::Adapter(_)), "{args:?}");
        assert!(matches!(args[1], CoreDef::Lowered(_)), "{args:?}");
    }
    for init in &c.initializers {
        if let GlobalInitializer::Adapter {
            lift,
            lower_instance,
            ..
        } = init
        {
            assert_ne!(lift.instance, *lower_instance);
            assert!(matches!(lift.func, CoreDef::Export { .. }));
        }
    }
    assert_eq!(c.exports.len(), 1);
    assert_eq!(c.exports[0].0, "f");
    // Artifacts will hold the inlined component and the types.
    let bytes = postcard::to_allocvec(&c).expect("serializes");
    let back: nyash_aot::component::inline::InlinedComponent =
        postcard::from_bytes(&bytes).expect("deserializes");
    assert_eq!(back, c);
    let bytes = postcard::to_allocvec(&t.types).expect("serializes");
    let back: nyash_aot::component::types::ComponentTypes =
        postcard::from_bytes(&bytes).expect("deserializes");
    assert_eq!(back, t.types);
}

#[test]
fn mutated_components_give_errors_not_panics_or_engine_bugs() {
    let (_, wasm) = translate(
        r#"(component
            (import "log" (func $log (param "s" string)))
            (component $inner
                (core module $m
                    (memory (export "mem") 1)
                    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
                    (func (export "f") (param i32 i32) (result i32) local.get 1))
                (core instance $i (instantiate $m))
                (type $r (resource (rep i32)))
                (core func (canon resource.new $r))
                (func (export "f") (param "s" string) (result u32)
                    (canon lift (core func $i "f") (memory (core memory $i "mem"))
                        (realloc (core func $i "realloc")))))
            (instance $a (instantiate $inner))
            (core module $shim (memory (export "m") 1))
            (core instance $s (instantiate $shim))
            (core func (canon lower (func $a "f") (memory (core memory $s "m"))))
            (core func (canon lower (func $log) (memory (core memory $s "m"))))
            (export "f" (func $a "f")))"#,
    );
    let mut accepted = 0;
    for at in 8..wasm.len() {
        for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut w = wasm.clone();
            w[at] = byte;
            let result = nyash_aot::component::translate(&w).and_then(|mut t| {
                t.validate_function_bodies(&w)?;
                nyash_aot::component::inline::inline(&t).map(|_| ())
            });
            match result {
                Err(CompileError::Internal(e)) => panic!("byte {at} = {byte:#x}: engine bug {e}"),
                Ok(()) => accepted += 1,
                Err(_) => {}
            }
        }
    }
    // Some mutations only rename things; most break the component.
    assert!(accepted < (wasm.len() - 8) * 5);
}

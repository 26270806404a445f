//! Exception handling (the final proposal: tags, `throw`, `throw_ref`,
//! `try_table`, `exnref`): catching in wasm, uncaught exceptions reaching
//! the host, host functions throwing into wasm, async calls, tag identity.

use nyash_engine::{
    Caller, Config, Engine, Exception, Extern, Func, FuncType, Instance, Linker, Module, Store,
    Tag, TagType, TrapCode, Val, ValType,
};

fn engine_with(f: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    f(&mut config);
    Engine::new(&config).unwrap()
}

fn instance(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

fn call(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> Vec<Val> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let ty = f.ty(&*store);
    let mut out: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    f.call(&mut *store, args, &mut out)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    out
}

const BASICS: &str = r#"(module
    (tag $e (export "e") (param i32))
    (tag $f (param i64 f64))
    (func $thrower (param i32)
        (if (local.get 0) (then (throw $e (local.get 0)))))
    (func (export "catch_direct") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (throw $e (local.get 0)))
            (i32.const -1)))
    (func (export "catch_call") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (call $thrower (local.get 0)))
            (i32.const -1)))
    (func (export "catch_all") (param i32) (result i32)
        (block $h
            (try_table (catch_all $h)
                (call $thrower (local.get 0)))
            (return (i32.const 0)))
        (i32.const 1))
    (func (export "other_tag") (result i32)
        (block $h (result i32)
            (try_table (catch $e $h) (throw $f (i64.const 7) (f64.const 2.5)))
            (unreachable)))
    (func (export "two") (result i64 f64)
        (block $h (result i64 f64)
            (block $h2 (result i32)
                (try_table (result i32) (catch $e $h2) (catch $f $h)
                    (throw $f (i64.const 7) (f64.const 2.5))))
            (drop)
            (unreachable)))
    (func (export "uncaught") (param i32)
        (call $thrower (local.get 0)))
    (func (export "trap_not_caught") (result i32)
        (block $h
            (try_table (catch_all $h)
                (unreachable)))
        (i32.const 1))
)"#;

#[test]
fn throw_and_catch_in_wasm() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, BASICS);
    assert_eq!(
        call(&mut store, inst, "catch_direct", &[Val::I32(5)]),
        [Val::I32(5)]
    );
    assert_eq!(
        call(&mut store, inst, "catch_call", &[Val::I32(9)]),
        [Val::I32(9)]
    );
    assert_eq!(
        call(&mut store, inst, "catch_call", &[Val::I32(0)]),
        [Val::I32(-1)]
    );
    assert_eq!(
        call(&mut store, inst, "catch_all", &[Val::I32(3)]),
        [Val::I32(1)]
    );
    assert_eq!(
        call(&mut store, inst, "catch_all", &[Val::I32(0)]),
        [Val::I32(0)]
    );
    assert_eq!(
        call(&mut store, inst, "two", &[]),
        [Val::I64(7), Val::F64(2.5f64.to_bits())]
    );
}

#[test]
fn uncaught_exception_reaches_the_host_with_tag_and_payload() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, BASICS);
    let f = inst.get_func(&mut store, "uncaught").unwrap();
    let err = f.call(&mut store, &[Val::I32(42)], &mut []).unwrap_err();
    assert!(err.trap().is_none(), "{err}");
    let exc = err.exception().expect("an exception, not a trap");
    let tag = inst
        .get_export(&mut store, "e")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(exc.tag(), tag);
    assert_eq!(exc.payload(), [Val::I32(42)]);
    assert!(err.to_string().contains("uncaught wasm exception"), "{err}");
    // A tag the handler does not name passes through too.
    let f = inst.get_func(&mut store, "other_tag").unwrap();
    let mut out = [Val::I32(0)];
    let err = f.call(&mut store, &[], &mut out).unwrap_err();
    let exc = err.exception().expect("an exception");
    assert_eq!(exc.payload(), [Val::I64(7), Val::F64(2.5f64.to_bits())]);
    // The store is fine afterwards.
    assert_eq!(
        call(&mut store, inst, "catch_call", &[Val::I32(9)]),
        [Val::I32(9)]
    );
}

#[test]
fn traps_are_not_caught_by_catch_all() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, BASICS);
    let f = inst.get_func(&mut store, "trap_not_caught").unwrap();
    let mut out = [Val::I32(0)];
    let err = f.call(&mut store, &[], &mut out).unwrap_err();
    assert_eq!(
        err.trap_code(),
        Some(TrapCode::UnreachableCodeReached),
        "{err}"
    );
    assert!(err.exception().is_none());
}

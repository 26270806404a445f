//! Regressions found by the component differential against wasmtime
//! (`benches/src/bin/component_differential`), each reduced to the
//! smallest component that showed it.

use nyash_engine::component::{Component, Linker, Val};
use nyash_engine::{Engine, Store};

/// An imported instance that exports a record type (as every WIT
/// interface with a record does) needs only its functions from the host:
/// a type that is not a resource has no definition. We asked for one and
/// failed to instantiate ("the linker's instance `host` does not define
/// `point`"); wasmtime skips such types.
#[test]
fn instance_import_exporting_a_record_type_needs_no_definition_for_it() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component
            (import "host" (instance $host
              (type $p (record (field "x" u32) (field "y" u32)))
              (export "point" (type $point (eq $p)))
              (export "norm1" (func (param "p" $point) (result u32)))))
            (alias export $host "norm1" (func $norm1))
            (core func $n (canon lower (func $norm1)))
            (core module $M
              (import "host" "norm1" (func $n (param i32 i32) (result i32)))
              (func (export "run") (param i32) (result i32)
                (call $n (local.get 0) (i32.const 1))))
            (core instance $m (instantiate $M
              (with "host" (instance (export "norm1" (func $n))))))
            (func (export "run") (param "x" u32) (result u32)
              (canon lift (core func $m "run"))))"#,
    )
    .expect("valid component");
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .expect("instance")
        .func_new("norm1", |_, params, results| {
            let Val::Record(fields) = &params[0] else {
                return Err(nyash_engine::Error::msg("not a record"));
            };
            let mut sum = 0;
            for (_, v) in fields {
                if let Val::U32(x) = v {
                    sum += x;
                }
            }
            results[0] = Val::U32(sum);
            Ok(())
        })
        .expect("defined");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("the record type needs no definition");
    let run = instance.get_func(&mut store, "run").expect("exported");
    let mut out = [Val::U32(0)];
    run.call(&mut store, &[Val::U32(41)], &mut out)
        .expect("call");
    assert_eq!(out[0], Val::U32(42));
}

/// The same for a type imported at the root with an `eq` bound: nothing
/// for the host to define.
#[test]
fn root_import_of_a_value_type_needs_no_definition() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component
            (type $p (record (field "x" u32)))
            (import "point" (type $point (eq $p)))
            (import "get" (func $get (result $point)))
            (core func $g (canon lower (func $get)))
            (core module $M
              (import "host" "get" (func $g (result i32)))
              (func (export "run") (result i32) (call $g)))
            (core instance $m (instantiate $M
              (with "host" (instance (export "get" (func $g))))))
            (func (export "run") (result u32)
              (canon lift (core func $m "run"))))"#,
    )
    .expect("valid component");
    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .func_new("get", |_, _, results| {
            results[0] = Val::Record(vec![("x".into(), Val::U32(7))]);
            Ok(())
        })
        .expect("defined");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("the type import needs no definition");
    let run = instance.get_func(&mut store, "run").expect("exported");
    let mut out = [Val::U32(0)];
    run.call(&mut store, &[], &mut out).expect("call");
    assert_eq!(out[0], Val::U32(7));
}

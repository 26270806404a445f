//! Execution: a call-heavy and a loop-heavy kernel, and the kinds of
//! indirect call (through a table, through a typed reference, to a
//! non-final type: the same type, and a subtype's function).

use criterion::{Criterion, criterion_group, criterion_main};
use nyash_engine::{Engine, Instance, Module, Store};

fn execute(c: &mut Criterion) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());

    let fib = Module::new(&engine, nyash_benches::FIB_WAT).unwrap();
    let fib = Instance::new(&mut store, &fib, &[]).unwrap();
    let fib = fib.get_typed_func::<i32, i64>(&mut store, "fib").unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    c.bench_function("execute/fib(25)", |b| {
        b.iter(|| fib.call(&mut store, 25).unwrap())
    });

    let sieve = Module::new(&engine, nyash_benches::SIEVE_WAT).unwrap();
    let sieve = Instance::new(&mut store, &sieve, &[]).unwrap();
    let sieve = sieve
        .get_typed_func::<i32, i32>(&mut store, "sieve")
        .unwrap();
    assert_eq!(sieve.call(&mut store, 100).unwrap(), 25);
    c.bench_function("execute/sieve(1M)", |b| {
        b.iter(|| sieve.call(&mut store, 1_000_000).unwrap())
    });
}

/// One million calls of a one-instruction function, each kind of indirect
/// call: `call_indirect` to a final type, `call_ref`, and `call_indirect`
/// to a non-final type reaching a function of that type (one id compare)
/// and one of a subtype (the compare fails; the `is_subtype` builtin).
const INDIRECT_WAT: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $b (sub (func (param i32) (result i32))))
  (type $s (sub final $b (func (param i32) (result i32))))
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $binc (type $b) (i32.add (local.get 0) (i32.const 1)))
  (func $sinc (type $s) (i32.add (local.get 0) (i32.const 1)))
  (table 3 funcref)
  (elem (i32.const 0) func $inc $binc $sinc)
  (func (export "call_indirect") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect (type $t) (local.get $acc) (i32.const 0)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "call_ref") (param $n i32) (result i32) (local $acc i32) (local $f (ref $t))
    (local.set $f (ref.func $inc))
    (loop $l
      (local.set $acc (call_ref $t (local.get $acc) (local.get $f)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "non_final_same") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect (type $b) (local.get $acc) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "non_final_subtype") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect (type $b) (local.get $acc) (i32.const 2)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))"#;

fn indirect_calls(c: &mut Criterion) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, INDIRECT_WAT).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    for name in [
        "call_indirect",
        "call_ref",
        "non_final_same",
        "non_final_subtype",
    ] {
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .unwrap();
        assert_eq!(f.call(&mut store, 1000).unwrap(), 1000);
        c.bench_function(&format!("execute/1M {name}"), |b| {
            b.iter(|| f.call(&mut store, 1_000_000).unwrap())
        });
    }
}

criterion_group!(benches, execute, indirect_calls);
criterion_main!(benches);

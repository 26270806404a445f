//! Execution: a call-heavy and a loop-heavy kernel.

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

criterion_group!(benches, execute);
criterion_main!(benches);

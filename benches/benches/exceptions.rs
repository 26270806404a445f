//! Exception handling: what a `try_table` costs calls that do not throw
//! (nothing, by design: `try_call` is the same call instruction), and what a
//! throw costs, caught one frame up, caught 100 frames up, and thrown by a
//! host function into wasm.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nyash_engine::{Config, Engine, Exception, Linker, Module, Store, Tag, TagType, Val, ValType};

const N: u64 = 1000;

fn exceptions(c: &mut Criterion) {
    let mut config = Config::new();
    // Plain call sites would be inlined, `try_call` sites are not: compare
    // calls, not inlining.
    config.inlining(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "tag" (tag $h (param i32)))
            (import "h" "throw" (func $host_throw (param i32)))
            (tag $e (param i32))
            (func $add (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
            (func $thrower (param i32) (throw $e (local.get 0)))
            (func $deep (param i32)
                (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 1))))
                (call $deep (i32.sub (local.get 0) (i32.const 1))))
            (func (export "calls_plain") (result i32) (local i32 i32)
                (loop $l
                    (local.set 1 (call $add (local.get 1)))
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 1000))))
                (local.get 1))
            (func (export "calls_in_try_table") (result i32) (local i32 i32)
                (block $h (result i32)
                    (try_table (catch $e $h)
                        (loop $l
                            (local.set 1 (call $add (local.get 1)))
                            (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                            (br_if $l (i32.lt_u (local.get 0) (i32.const 1000)))))
                    (local.get 1)))
            (func (export "throw_catch") (result i32) (local i32 i32)
                (loop $l
                    (local.set 1 (i32.add (local.get 1)
                        (block $h (result i32)
                            (try_table (catch $e $h) (call $thrower (local.get 0)))
                            (i32.const 0))))
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 1000))))
                (local.get 1))
            (func (export "throw_deep") (result i32)
                (block $h (result i32)
                    (try_table (catch $e $h) (call $deep (i32.const 100)))
                    (i32.const 0)))
            (func (export "host_throw_catch") (result i32) (local i32 i32)
                (loop $l
                    (local.set 1 (i32.add (local.get 1)
                        (block $c (result i32)
                            (try_table (catch $h $c) (call $host_throw (local.get 0)))
                            (i32.const 0))))
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 1000))))
                (local.get 1)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32])).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.define("h", "tag", tag).unwrap();
    linker
        .func_new(
            "h",
            "throw",
            nyash_engine::FuncType {
                params: vec![ValType::I32],
                results: vec![],
            },
            move |mut caller, args, _| {
                let x: &[Val] = args;
                Err(Exception::new(&mut caller, tag, x)?.into())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let get = |store: &mut Store<()>, name: &str| {
        instance.get_typed_func::<(), i32>(store, name).unwrap()
    };
    let plain = get(&mut store, "calls_plain");
    let in_try = get(&mut store, "calls_in_try_table");
    let throw_catch = get(&mut store, "throw_catch");
    let throw_deep = get(&mut store, "throw_deep");
    let host_throw = get(&mut store, "host_throw_catch");

    let mut group = c.benchmark_group("exceptions/calls");
    group.throughput(Throughput::Elements(N));
    group.bench_function("plain", |b| b.iter(|| plain.call(&mut store, ()).unwrap()));
    group.bench_function("in_try_table", |b| {
        b.iter(|| in_try.call(&mut store, ()).unwrap())
    });
    group.finish();
    let mut group = c.benchmark_group("exceptions/throw_catch");
    group.throughput(Throughput::Elements(N));
    group.bench_function("one_frame", |b| {
        b.iter(|| throw_catch.call(&mut store, ()).unwrap())
    });
    group.finish();
    // A host-made exception may be held by the host, so its object is never
    // reused: a short run keeps the store small.
    let mut group = c.benchmark_group("exceptions/throw_catch");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(1));
    group.bench_function("host_into_wasm", |b| {
        b.iter(|| host_throw.call(&mut store, ()).unwrap())
    });
    group.finish();
    c.bench_function("exceptions/throw_catch/100_frames", |b| {
        b.iter(|| throw_deep.call(&mut store, ()).unwrap())
    });
}

criterion_group!(benches, exceptions);
criterion_main!(benches);

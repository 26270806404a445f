//! Start-up: first run (compile + run) against a cache hit, for modules of
//! about 1 MB and 10 MB of code; `deserialize_file` against code size; and
//! instantiation of a small module.

use std::path::PathBuf;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nyash_engine::{Config, Engine, Instance, Module, Store};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nyash-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cached(cache: &PathBuf) -> Engine {
    let mut c = Config::new();
    c.cache(true).cache_dir(cache);
    Engine::new(&c).unwrap()
}

fn run(module: &Module) {
    let mut store = Store::new(module.engine(), ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    let f = i
        .get_typed_func::<(i32, i64), i64>(&mut store, "f0")
        .unwrap();
    f.call(&mut store, (10, 1)).unwrap();
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    let base = dir("startup");
    // About 330 bytes of code per generated function: the labels are the
    // sizes of the resulting artifacts (printed when the benchmark starts).
    for (label, funcs) in [("0.7MB", 2_000usize), ("10MB", 32_000)] {
        let wasm = wat::parse_str(nyash_benches::large_module_wat(funcs)).unwrap();
        let path = base.join(format!("{label}.wasm"));
        std::fs::write(&path, &wasm).unwrap();
        let code_bytes = Module::new(&Engine::default(), &wasm)
            .unwrap()
            .serialize()
            .unwrap()
            .len();
        eprintln!(
            "{label}: {} functions, {} bytes of wasm, artifact {code_bytes} bytes",
            funcs,
            wasm.len()
        );
        group.bench_function(format!("first-run/{label}"), |b| {
            b.iter_batched(
                || {
                    let cache = base.join(format!("cold-{label}"));
                    let _ = std::fs::remove_dir_all(&cache);
                    cache
                },
                |cache| run(&Module::from_file(&cached(&cache), &path).unwrap()),
                BatchSize::PerIteration,
            )
        });
        let warm = base.join(format!("warm-{label}"));
        Module::from_file(&cached(&warm), &path).unwrap();
        let engine = cached(&warm);
        group.bench_function(format!("cache-hit/{label}"), |b| {
            b.iter(|| run(&Module::from_file(&engine, &path).unwrap()))
        });
        let nwasm = base.join(format!("{label}.nwasm"));
        std::fs::write(
            &nwasm,
            Module::new(&engine, &wasm).unwrap().serialize().unwrap(),
        )
        .unwrap();
        group.bench_function(format!("deserialize_file/{label}"), |b| {
            // SAFETY: the artifact was written just above by this engine.
            b.iter(|| unsafe { Module::deserialize_file(&engine, &nwasm) }.unwrap())
        });
    }
    group.finish();

    let engine = Engine::default();
    let small = Module::new(
        &engine,
        r#"(module (memory 1) (global (mut i32) (i32.const 0)) (table 4 funcref)
            (func $f (export "f") (result i32) (i32.const 1)) (elem (i32.const 0) $f))"#,
    )
    .unwrap();
    // A fresh store per instance (made and dropped outside the timing), so
    // memories do not pile up.
    c.bench_function("instantiate/small", |b| {
        b.iter_batched(
            || Store::new(&engine, ()),
            |mut store| {
                Instance::new(&mut store, &small, &[]).unwrap();
                store
            },
            BatchSize::SmallInput,
        )
    });
    let nomem = Module::new(
        &engine,
        r#"(module (global (mut i32) (i32.const 0)) (func (export "f") (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    c.bench_function("instantiate/small-no-memory", |b| {
        b.iter_batched(
            || Store::new(&engine, ()),
            |mut store| {
                Instance::new(&mut store, &nomem, &[]).unwrap();
                store
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, startup);
criterion_main!(benches);

//! Compile throughput: generated modules compiled from scratch, reported as
//! MiB/s of wasm and as functions/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nyash_engine::{Config, Engine, Module};

fn compile(c: &mut Criterion) {
    let many = wat::parse_str(nyash_benches::large_module_wat(2000)).expect("valid module");
    let huge = wat::parse_str(nyash_benches::huge_functions_wat(4, 400)).expect("valid module");
    let engine = |parallel: bool| {
        let mut config = Config::new();
        config.parallel_compilation(parallel);
        Engine::new(&config).unwrap()
    };
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(many.len() as u64));
    for (name, parallel) in [
        ("large-module/parallel", true),
        ("large-module/serial", false),
    ] {
        let engine = engine(parallel);
        group.bench_function(name, |b| b.iter(|| Module::new(&engine, &many).unwrap()));
    }
    group.throughput(Throughput::Bytes(huge.len() as u64));
    let parallel = engine(true);
    group.bench_function("huge-functions/parallel", |b| {
        b.iter(|| Module::new(&parallel, &huge).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("compile-functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(2000));
    group.bench_function("large-module/parallel", |b| {
        b.iter(|| Module::new(&parallel, &many).unwrap())
    });
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);

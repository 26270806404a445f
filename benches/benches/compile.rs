//! Compile throughput: a large generated module, compiled from scratch.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nyash_engine::{Config, Engine, Module};

fn compile(c: &mut Criterion) {
    let wasm = wat::parse_str(nyash_benches::large_module_wat(2000)).expect("valid module");
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(wasm.len() as u64));
    group.sample_size(10);
    for (name, parallel) in [
        ("large-module/parallel", true),
        ("large-module/serial", false),
    ] {
        let mut config = Config::new();
        config.parallel_compilation(parallel);
        let engine = Engine::new(&config).unwrap();
        group.bench_function(name, |b| b.iter(|| Module::new(&engine, &wasm).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);

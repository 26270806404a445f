//! Execution of the C workloads in `workloads/` (built for wasm32-wasi by
//! `workloads/build.sh`; the `.wasm` files are committed): each benchmark
//! instantiates the compiled module and runs its `_start` once.

use criterion::{Criterion, criterion_group, criterion_main};
use nyash_engine::{Engine, Linker, Module, Store};
use nyash_wasi::{self as wasi, WasiCtx};

fn workloads(c: &mut Criterion) {
    let engine = Engine::default();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    wasi::add_to_linker(&mut linker).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads");
    let mut group = c.benchmark_group("workload");
    group.sample_size(10);
    for &name in nyash_benches::C_WORKLOADS {
        let module = Module::from_file(&engine, format!("{dir}/{name}.wasm")).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, WasiCtx::builder().build().unwrap());
                let instance = linker.instantiate(&mut store, &module).unwrap();
                let start = instance
                    .get_typed_func::<(), ()>(&mut store, "_start")
                    .unwrap();
                match start.call(&mut store, ()) {
                    Ok(()) => {}
                    Err(e) if e.exit_status() == Some(0) => {}
                    Err(e) => panic!("{name}: {e}"),
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);

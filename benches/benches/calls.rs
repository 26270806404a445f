//! Call overheads: host -> wasm (sync and async), wasm -> host, and one
//! suspend + resume of an async call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nyash_engine::{Caller, Config, Engine, Linker, Module, Store};

/// A future that is pending once (waking itself), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

const CALLS_IN_LOOP: u64 = 1000;

fn calls(c: &mut Criterion) {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "nop" (func $nop))
            (import "h" "yield" (func $yield))
            (func (export "empty"))
            (func (export "call_host") (local i32)
                (loop $l
                    (call $nop)
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 1000)))))
            (func (export "suspend_once") (call $yield)))"#,
    )
    .unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.func_wrap("h", "nop", || {}).unwrap();
    linker
        .func_wrap_async("h", "yield", |_: Caller<'_, ()>, (): ()| {
            Box::new(async {
                YieldOnce(false).await;
                Ok(())
            })
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let empty = instance
        .get_typed_func::<(), ()>(&mut store, "empty")
        .unwrap();
    let call_host = instance
        .get_typed_func::<(), ()>(&mut store, "call_host")
        .unwrap();
    let suspend_once = instance
        .get_typed_func::<(), ()>(&mut store, "suspend_once")
        .unwrap();

    c.bench_function("calls/host->wasm/sync", |b| {
        b.iter(|| empty.call(&mut store, ()).unwrap())
    });
    c.bench_function("calls/host->wasm/async", |b| {
        b.iter(|| futures::executor::block_on(empty.call_async(&mut store, ())).unwrap())
    });
    let mut group = c.benchmark_group("calls/wasm->host");
    group.throughput(Throughput::Elements(CALLS_IN_LOOP));
    group.bench_function("sync", |b| {
        b.iter(|| call_host.call(&mut store, ()).unwrap())
    });
    group.finish();
    c.bench_function("calls/async-suspend-resume", |b| {
        b.iter(|| futures::executor::block_on(suspend_once.call_async(&mut store, ())).unwrap())
    });
}

criterion_group!(benches, calls);
criterion_main!(benches);

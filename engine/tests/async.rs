//! Async calls on execution stacks: suspension at async host functions,
//! cancellation, nesting, epoch and fuel interruption, traps.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use nyash_engine::{Caller, Config, Engine, Func, Linker, Module, Store, TrapCode};

fn async_engine(f: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    f(&mut config);
    Engine::new(&config).unwrap()
}

const SLEEPER: &str = r#"(module
    (import "host" "sleep_ms" (func $sleep (param i32)))
    (func (export "run") (param i32) (result i32)
        (call $sleep (local.get 0))
        (call $sleep (local.get 0))
        (call $sleep (local.get 0))
        (i32.mul (local.get 0) (i32.const 2))))"#;

#[derive(Default)]
struct State {
    count: u32,
}

fn sleeper_linker(engine: &Engine) -> Linker<State> {
    let mut linker: Linker<State> = Linker::new(engine);
    linker
        .func_wrap_async(
            "host",
            "sleep_ms",
            |mut caller: Caller<'_, State>, (ms,): (u32,)| {
                Box::new(async move {
                    tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                    caller.data_mut().count += 1;
                    Ok(())
                })
            },
        )
        .unwrap();
    linker
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn ten_thousand_concurrent_calls_on_one_thread() {
    let engine = async_engine(|_| {});
    let module = Module::new(&engine, SLEEPER).unwrap();
    let linker = sleeper_linker(&engine);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    const N: usize = 10_000;
    const SLEEP_MS: u32 = 20;
    let suspended = Arc::new(AtomicUsize::new(0));
    let rss_before = rss_bytes();
    let peak_rss = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let results = rt.block_on(async {
        let local = tokio::task::LocalSet::new();
        let mut handles = Vec::with_capacity(N);
        for _ in 0..N {
            let (engine, module, linker) = (engine.clone(), module.clone(), &linker);
            let fut = {
                let mut store = Store::new(&engine, State::default());
                let instance = linker.instantiate(&mut store, &module).unwrap();
                let run = instance
                    .get_typed_func::<i32, i32>(&mut store, "run")
                    .unwrap();
                let suspended = suspended.clone();
                async move {
                    suspended.fetch_add(1, Ordering::Relaxed);
                    let r = run.call_async(&mut store, SLEEP_MS as i32).await;
                    (r.map(|v| v / 2), store.data().count)
                }
            };
            handles.push(local.spawn_local(fut));
        }
        let peak = peak_rss.clone();
        local
            .run_until(async move {
                // All calls are suspended in their first sleep by now.
                tokio::time::sleep(Duration::from_millis(SLEEP_MS as u64 / 2)).await;
                peak.store(rss_bytes(), Ordering::Relaxed);
                let mut out = Vec::with_capacity(N);
                for h in handles {
                    out.push(h.await.unwrap());
                }
                out
            })
            .await
    });
    let elapsed = start.elapsed();
    for (r, count) in &results {
        assert_eq!(*r.as_ref().unwrap(), SLEEP_MS as i32);
        assert_eq!(*count, 3);
    }
    let sequential = Duration::from_millis(N as u64 * 3 * SLEEP_MS as u64);
    eprintln!(
        "{N} concurrent calls x 3 async sleeps of {SLEEP_MS} ms: {elapsed:?} (sequential would be {sequential:?}); \
         RSS growth while suspended: {} bytes per call",
        peak_rss.load(Ordering::Relaxed).saturating_sub(rss_before) / N
    );
    assert!(elapsed < sequential / 20, "took {elapsed:?}");
}

#[test]
fn dropping_a_pending_call_cancels_it_and_the_store_stays_usable() {
    let engine = async_engine(|_| {});
    let module = Module::new(&engine, SLEEPER).unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut linker: Linker<State> = Linker::new(&engine);
    let d = dropped.clone();
    linker
        .func_wrap_async(
            "host",
            "sleep_ms",
            move |_caller: Caller<'_, State>, (ms,): (u32,)| {
                let guard = Guard(d.clone());
                Box::new(async move {
                    let _guard = guard;
                    tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                    Ok(())
                })
            },
        )
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut store = Store::new(&engine, State::default());
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();
        for _ in 0..50 {
            let r =
                tokio::time::timeout(Duration::from_millis(5), run.call_async(&mut store, 10_000))
                    .await;
            assert!(r.is_err(), "the call should still be pending");
        }
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            50,
            "each cancelled host future was dropped"
        );
        assert_eq!(run.call_async(&mut store, 1).await.unwrap(), 2);
    });
}

#[test]
fn nested_async_calls() {
    let engine = async_engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "down" (func $down (param i32) (result i32)))
            (func (export "f") (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0))
                    (then (i32.const 0))
                    (else (i32.add (local.get 0) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
    )
    .unwrap();
    let mut linker: Linker<Option<Func>> = Linker::new(&engine);
    linker
        .func_wrap_async(
            "host",
            "down",
            |mut caller: Caller<'_, Option<Func>>, (n,): (i32,)| {
                Box::new(async move {
                    tokio::task::yield_now().await;
                    let f = caller.data().unwrap();
                    let f = f.typed::<i32, i32>(&caller)?;
                    f.call_async(&mut caller, n).await
                })
            },
        )
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut store = Store::new(&engine, None);
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let f = instance.get_func(&mut store, "f").unwrap();
        *store.data_mut() = Some(f);
        let f = f.typed::<i32, i32>(&store).unwrap();
        assert_eq!(f.call_async(&mut store, 10).await.unwrap(), 55);
    });
}

#[test]
fn sync_call_reaching_an_async_host_function_is_an_error() {
    let engine = async_engine(|_| {});
    let module = Module::new(&engine, SLEEPER).unwrap();
    let linker = sleeper_linker(&engine);
    let mut store = Store::new(&engine, State::default());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let err = run.call(&mut store, 1).unwrap_err();
    assert!(err.to_string().contains("call_async"), "{err}");
}

const SPIN: &str = r#"(module
    (func (export "spin") (loop $l (br $l)))
    (func (export "count") (param i32) (result i32) (local i32)
        (loop $l
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
        (local.get 1)))"#;

#[test]
fn epoch_deadline_interrupts_a_sync_call() {
    let engine = async_engine(|c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    store.set_epoch_deadline(1);
    let e = engine.clone();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        e.increment_epoch();
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(err.trap_code(), Some(TrapCode::Interrupt));
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    store.set_epoch_deadline(100);
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
}

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn epoch_deadline_yields_an_async_call() {
    let engine = async_engine(|c| {
        c.epoch_interruption(true);
    });
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    store.epoch_deadline_async_yield_and_update(1);
    store.set_epoch_deadline(0);
    let mut yields = 0;
    {
        let mut fut = pin!(count.call_async(&mut store, 100_000));
        let r = loop {
            match poll_once(fut.as_mut()) {
                Poll::Ready(r) => break r,
                Poll::Pending => {
                    yields += 1;
                    engine.increment_epoch();
                }
            }
        };
        assert_eq!(r.unwrap(), 100_000);
    }
    assert!(yields >= 1, "the call should have yielded at least once");
}

#[test]
fn fuel_runs_out_in_a_sync_call() {
    let engine = async_engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    store.set_fuel(10_000).unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    assert_eq!(
        spin.call(&mut store, ()).unwrap_err().trap_code(),
        Some(TrapCode::OutOfFuel)
    );
    assert_eq!(store.get_fuel().unwrap(), 0);
    store.set_fuel(1_000_000).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!((1000..20_000).contains(&used), "used {used}");
}

#[test]
fn fuel_yields_an_async_call() {
    let engine = async_engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    store.set_fuel(10_000_000).unwrap();
    store.fuel_async_yield_interval(Some(10_000)).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    let mut yields = 0;
    {
        let mut fut = pin!(count.call_async(&mut store, 100_000));
        let r = loop {
            match poll_once(fut.as_mut()) {
                Poll::Ready(r) => break r,
                Poll::Pending => yields += 1,
            }
        };
        assert_eq!(r.unwrap(), 100_000);
    }
    assert!(yields >= 10, "yielded {yields} times");
    // And out of fuel still traps in an async call.
    store.set_fuel(1000).unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    let r = futures::executor::block_on(spin.call_async(&mut store, ()));
    assert_eq!(r.unwrap_err().trap_code(), Some(TrapCode::OutOfFuel));
}

#[test]
fn traps_and_stack_overflow_in_async_calls() {
    let engine = async_engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
            (func $r (export "recurse") (call $r))
            (func (export "boom") unreachable)
            (func (export "ok") (result i32) i32.const 7))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let recurse = instance
        .get_typed_func::<(), ()>(&mut store, "recurse")
        .unwrap();
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let ok = instance
        .get_typed_func::<(), i32>(&mut store, "ok")
        .unwrap();
    futures::executor::block_on(async {
        for _ in 0..3 {
            let e = recurse.call_async(&mut store, ()).await.unwrap_err();
            assert_eq!(e.trap_code(), Some(TrapCode::StackOverflow));
            let e = boom.call_async(&mut store, ()).await.unwrap_err();
            assert_eq!(e.trap_code(), Some(TrapCode::UnreachableCodeReached));
            assert_eq!(ok.call_async(&mut store, ()).await.unwrap(), 7);
        }
    });
}

/// The number of threads of this process.
fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().parse().ok()))
                .flatten()
        })
        .unwrap_or(0)
}

/// `host::sleep_until` in 2,000 concurrent async calls on one executor
/// thread: they sleep together on the engine's one timer thread (not a
/// thread each), and a synchronous call sleeps on its own thread.
#[test]
fn sleep_until_in_many_async_calls_shares_one_timer_thread() {
    use futures::task::LocalSpawnExt;
    const N: usize = 2_000;
    const SLEEP: Duration = Duration::from_millis(100);
    let engine = async_engine(|_| {});
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "sleep" (func $sleep))
            (func (export "run") (result i32) (call $sleep) (i32.const 7)))"#,
    )
    .unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap("host", "sleep", |_: Caller<'_, ()>| {
            nyash_engine::host::sleep_until(Instant::now() + SLEEP)
        })
        .unwrap();
    let threads_before = threads();
    let mut pool = futures::executor::LocalPool::new();
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    for _ in 0..N {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        let done = done.clone();
        pool.spawner()
            .spawn_local(async move {
                assert_eq!(run.call_async(&mut store, ()).await.unwrap(), 7);
                done.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    let threads_waiting = threads();
    pool.run();
    let elapsed = start.elapsed();
    assert_eq!(done.load(Ordering::Relaxed), N);
    assert!(elapsed >= SLEEP);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    // Other tests of this binary run meanwhile and may start threads; a
    // thread per sleep would be 2,000.
    assert!(
        threads_waiting < threads_before + 50,
        "{threads_waiting} threads while {N} calls sleep ({threads_before} before)"
    );

    // A synchronous call sleeps on the caller's thread.
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let start = Instant::now();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);
    assert!(start.elapsed() >= SLEEP);
}

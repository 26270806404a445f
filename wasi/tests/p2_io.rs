//! WASI 0.2 (`nyash_wasi::p2`) with hand-written WAT components: streams
//! over stdio (reads, the closed end, the 4096-byte rule of
//! `blocking-write-and-flush`), pollables and `poll` (its empty list, a
//! deadline's wait, 10,000 concurrent sleeping async calls on one
//! thread), randomness (the length limit), `exit`, the environment, and
//! handles the host or the canonical ABI refuses. The components import
//! the `@0.2.0` interfaces, so each test also checks that an older 0.2.x
//! links against the vendored 0.2.12.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nyash_wasi::{Stdio, WasiCtx};

mod p2_common;

use p2_common::{func, setup, threads};

fn ctx_with_stdin(input: &[u8]) -> WasiCtx {
    WasiCtx::builder()
        .stdin(Stdio::Buffer(Arc::new(Mutex::new(input.to_vec()))))
        .build()
        .expect("ctx")
}

#[test]
fn reads_stdin_then_sees_it_closed() {
    let s = setup(false);
    let (mut store, inst) = s.store(ctx_with_stdin(b"hello"));
    let read = func::<(u64, bool), (u32,)>(&mut store, &inst, "run-read");
    assert_eq!(read.call(&mut store, (3, false)).unwrap(), (3,));
    assert_eq!(read.call(&mut store, (100, true)).unwrap(), (2,));
    // At the end: `closed` (the stream-error's case 1).
    assert_eq!(read.call(&mut store, (100, false)).unwrap(), (1001,));
    assert_eq!(read.call(&mut store, (100, true)).unwrap(), (1001,));

    // Null stdin is closed from the start.
    let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
    let read = func::<(u64, bool), (u32,)>(&mut store, &inst, "run-read");
    assert_eq!(read.call(&mut store, (1, false)).unwrap(), (1001,));

    // Blocking reads of 7 bytes at a time to the end.
    let input: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let (mut store, inst) = s.store(ctx_with_stdin(&input));
    let all = func::<(), (u32,)>(&mut store, &inst, "run-read-all");
    assert_eq!(all.call(&mut store, ()).unwrap(), (1000,));
    // Every stream was dropped: the table is empty again.
    assert_eq!(store.data_mut().table().len(), 0);
}

#[test]
fn blocking_write_and_flush_takes_at_most_4096_bytes() {
    let s = setup(false);
    let out = Arc::new(Mutex::new(Vec::new()));
    let ctx = WasiCtx::builder()
        .stdout(Stdio::Buffer(out.clone()))
        .build()
        .unwrap();
    let (mut store, inst) = s.store(ctx);
    let write = func::<(u32,), (u32,)>(&mut store, &inst, "run-write");
    assert_eq!(write.call(&mut store, (4096,)).unwrap(), (0,));
    assert_eq!(out.lock().unwrap().len(), 4096);
    let err = write.call(&mut store, (4097,)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("blocking-write-and-flush") && msg.contains("4097"),
        "{msg}"
    );
    assert_eq!(out.lock().unwrap().len(), 4096, "nothing of it written");
}

#[test]
fn handles_the_host_or_the_abi_refuses_trap_with_a_message() {
    let s = setup(false);
    let (mut store, inst) = s.store(ctx_with_stdin(b""));
    let f = func::<(), (u32,)>(&mut store, &inst, "run-drop-parent");
    let msg = format!("{:#}", f.call(&mut store, ()).unwrap_err());
    assert!(
        msg.contains("input-stream drop") && msg.contains("children"),
        "{msg}"
    );

    let (mut store, inst) = s.store(ctx_with_stdin(b""));
    let f = func::<(), (u32,)>(&mut store, &inst, "run-bad-handle");
    let msg = format!("{:#}", f.call(&mut store, ()).unwrap_err());
    assert!(msg.contains("handle"), "{msg}");
}

#[test]
fn polling_an_empty_list_traps() {
    let s = setup(false);
    let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
    let f = func::<(), (u32,)>(&mut store, &inst, "run-poll-empty");
    let msg = format!("{:#}", f.call(&mut store, ()).unwrap_err());
    assert!(
        msg.contains("wasi:io/poll poll") && msg.contains("empty"),
        "{msg}"
    );
}

#[test]
fn a_deadline_is_not_ready_before_it_and_poll_waits_for_it() {
    let s = setup(false);
    let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
    let sleep = func::<(u64, bool), (u32,)>(&mut store, &inst, "run-sleep");
    for block in [false, true] {
        let start = Instant::now();
        let (r,) = sleep.call(&mut store, (30_000_000, block)).unwrap();
        let took = start.elapsed();
        // Not ready before, ready after, one index (0) ready.
        assert_eq!(r, 0b110, "block: {block}");
        assert!(took >= Duration::from_millis(30), "{took:?}");
    }
    // A zero duration is ready at once.
    let (r,) = sleep.call(&mut store, (0, false)).unwrap();
    assert_eq!(r, 0b111);
    // The pollables and their deadlines were dropped together.
    assert_eq!(store.data_mut().table().len(), 0);

    // Of two deadlines, poll returns when the first is reached.
    let two = func::<(u64, u64), (u32,)>(&mut store, &inst, "run-poll-two");
    let start = Instant::now();
    assert_eq!(
        two.call(&mut store, (3_600_000_000_000, 1_000_000))
            .unwrap(),
        (0b10,)
    );
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(two.call(&mut store, (0, 0)).unwrap(), (0b11,));
    // A deadline past what the host clock can represent never comes; the
    // other one does.
    assert_eq!(two.call(&mut store, (u64::MAX, 1)).unwrap(), (0b10,));
}

#[test]
fn random_bytes_up_to_the_limit_and_a_trap_past_it() {
    let s = setup(false);
    let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
    let random = func::<(u64,), (u32,)>(&mut store, &inst, "run-random");
    assert_eq!(random.call(&mut store, (32,)).unwrap(), (32,));
    let msg = format!("{:#}", random.call(&mut store, (u64::MAX,)).unwrap_err());
    assert!(
        msg.contains("get-random-bytes") && msg.contains("limit"),
        "{msg}"
    );
    let over = nyash_wasi::p2::random::MAX_RANDOM_BYTES + 1;
    let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
    let random = func::<(u64,), (u32,)>(&mut store, &inst, "run-random");
    assert!(random.call(&mut store, (over,)).is_err());
}

#[test]
fn exit_ends_the_call_with_its_status() {
    let s = setup(false);
    for (err, status) in [(false, 0), (true, 1)] {
        let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
        let exit = func::<(bool,), (u32,)>(&mut store, &inst, "run-exit");
        let e = exit.call(&mut store, (err,)).unwrap_err();
        assert_eq!(e.exit_status(), Some(status));
        assert_eq!(store.data().exit_code(), Some(status));
    }
}

#[test]
fn arguments_are_the_contexts() {
    let s = setup(false);
    let ctx = WasiCtx::builder()
        .args(["prog", "one", "three"])
        .build()
        .unwrap();
    let (mut store, inst) = s.store(ctx);
    let args = func::<(), (u32,)>(&mut store, &inst, "run-args");
    assert_eq!(args.call(&mut store, ()).unwrap(), (3 * 1000 + 4 + 3 + 5,));
}

/// 10,000 async calls, each sleeping 50 ms through `subscribe-duration` +
/// `poll`, on one thread of a single-threaded executor: they all wait at
/// once (one timer thread wakes them), so together they take about one
/// sleep, not 10,000 (500 s). The bound is generous: this checks that
/// they overlap, it is not a benchmark.
#[test]
fn ten_thousand_concurrent_sleeping_calls_on_one_thread() {
    use futures::task::LocalSpawnExt;
    const N: usize = 10_000;
    const SLEEP: Duration = Duration::from_millis(50);
    let s = setup(true);
    let threads_before = threads();
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    let done = Arc::new(Mutex::new(Vec::with_capacity(N)));
    let mut calls = Vec::with_capacity(N);
    for _ in 0..N {
        let (mut store, inst) = s.store(WasiCtx::builder().build().unwrap());
        let sleep = func::<(u64, bool), (u32,)>(&mut store, &inst, "run-sleep");
        calls.push((store, sleep));
    }
    let start = Instant::now();
    for (mut store, sleep) in calls {
        let done = done.clone();
        spawner
            .spawn_local(async move {
                let begun = Instant::now();
                let r = sleep
                    .call_async(&mut store, (SLEEP.as_nanos() as u64, false))
                    .await;
                done.lock().unwrap().push((
                    r.map(|(r,)| r).map_err(|e| format!("{e:#}")),
                    begun.elapsed(),
                ));
            })
            .expect("spawn");
    }
    // Run until every call is suspended in its sleep, then count threads.
    pool.run_until_stalled();
    let threads_waiting = threads();
    pool.run();
    let elapsed = start.elapsed();
    let done = done.lock().unwrap();
    assert_eq!(done.len(), N);
    for (r, took) in done.iter() {
        assert_eq!(r.as_ref().ok(), Some(&0b110), "{r:?}");
        assert!(*took >= SLEEP, "a call slept {took:?}");
    }
    eprintln!(
        "{N} concurrent calls sleeping {SLEEP:?} each: {elapsed:?}; threads {threads_before} \
         before, {threads_waiting} while they wait"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    // One timer thread at most was added for all of them (the test
    // harness's other tests may start threads of their own meanwhile).
    assert!(
        threads_waiting <= threads_before + 8,
        "{threads_waiting} threads while waiting, {threads_before} before"
    );
}

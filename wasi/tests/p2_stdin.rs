//! WASI 0.2's inherited stdin in an async call: a `blocking-read` with
//! nothing to read yet suspends the call on its fiber, so the executor's
//! other tasks run, and it resumes when the host's fd 0 becomes readable.
//! Its own test binary: it replaces this process's fd 0 with a pipe.

mod p2_common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::task::LocalSpawnExt;
use nyash_wasi::{Stdio, WasiCtx};
use p2_common::{func, setup};

#[test]
fn a_blocking_read_of_inherited_stdin_suspends_an_async_call() {
    let mut fds = [0; 2];
    // SAFETY: `pipe` writes two descriptors into the array; `dup2` makes
    // the read end this process's fd 0 (this test binary reads nothing
    // else from stdin), and the original read end is closed after.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        assert_eq!(libc::dup2(fds[0], 0), 0);
        libc::close(fds[0]);
    }
    let writer = fds[1];
    let feeder = std::thread::spawn(move || {
        for chunk in [&b"hello, "[..], b"async world"] {
            std::thread::sleep(Duration::from_millis(150));
            // SAFETY: writes from a live slice to the pipe's write end.
            let n = unsafe { libc::write(writer, chunk.as_ptr().cast(), chunk.len()) };
            assert_eq!(n, chunk.len() as isize);
        }
        std::thread::sleep(Duration::from_millis(150));
        // SAFETY: the write end is this thread's to close: end of input.
        unsafe { libc::close(writer) };
    });

    let s = setup(true);
    let ctx = WasiCtx::builder().stdin(Stdio::Inherit).build().unwrap();
    let (mut store, inst) = s.store(ctx);
    let read_all = func::<(), (u32,)>(&mut store, &inst, "run-read-all");
    let mut pool = futures::executor::LocalPool::new();
    let result = Rc::new(Cell::new(None));
    let ticks = Rc::new(Cell::new(0u32));
    let start = Instant::now();
    {
        let result = result.clone();
        pool.spawner()
            .spawn_local(async move {
                let r = read_all.call_async(&mut store, ()).await;
                result.set(Some(r.map(|(n,)| n).map_err(|e| format!("{e:#}"))));
            })
            .unwrap();
    }
    {
        // Another task on the same thread: it ticks while the call waits.
        let (result, ticks) = (result.clone(), ticks.clone());
        pool.spawner()
            .spawn_local(async move {
                while result.take().map(|r| result.set(Some(r))).is_none() {
                    nyash_engine::host::sleep(Instant::now() + Duration::from_millis(10)).await;
                    ticks.set(ticks.get() + 1);
                }
            })
            .unwrap();
    }
    pool.run();
    feeder.join().unwrap();
    let took = start.elapsed();
    assert_eq!(result.take(), Some(Ok(18)), "all 18 bytes, then closed");
    // The input ends 450 ms after the feeder starts (set-up took some of it).
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        ticks.get() >= 10,
        "the executor ran the other task only {} times in {took:?}",
        ticks.get()
    );
}

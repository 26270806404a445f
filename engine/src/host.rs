//! Helpers for writing host functions that may block.
//!
//! A host function can be reached from a synchronous call ([`Func::call`])
//! or from an async one ([`Func::call_async`]). These helpers do the right
//! thing in both: in an async call they suspend the call (so the executor
//! thread stays free) and resume it when the work is done; in a synchronous
//! call they block the thread. WASI's `poll_oneoff` and its reads of
//! inherited stdin are built on them.
//!
//! ```
//! use nyash_engine::host;
//!
//! // Outside an async call, `run_blocking` simply runs the closure here.
//! assert!(!host::in_async_call());
//! assert_eq!(host::run_blocking(|| 6 * 7)?, 42);
//! host::sleep_until(std::time::Instant::now())?; // a deadline in the past: no wait
//! # Ok::<(), nyash_engine::Error>(())
//! ```
//!
//! [`Func::call`]: crate::Func::call
//! [`Func::call_async`]: crate::Func::call_async

use crate::error::Result;

mod timer;

pub use timer::Sleep;

/// Whether the code calling this runs inside an async call (one that can
/// suspend), i.e. a host function reached from `call_async`.
pub fn in_async_call() -> bool {
    crate::vm::async_driver::in_async_call()
}

/// Waits until `deadline`. In an async call the call suspends and the
/// engine's timer thread (one for all sleeps, see [`sleep`]) wakes it, so
/// no particular executor (or its timer) is needed; otherwise the thread
/// sleeps. `Err` if the async call was cancelled while waiting.
pub fn sleep_until(deadline: std::time::Instant) -> Result<()> {
    crate::vm::async_driver::sleep_until(deadline)
}

/// A future that completes at `deadline`, woken by the engine's one timer
/// thread (a heap of deadlines: ten thousand sleeping calls cost one
/// thread, not ten thousand). It needs no executor's timer, so it works
/// under [`block_on`] in synchronous and async calls alike, and in any
/// executor. Dropping it cancels it.
///
/// ```
/// use std::time::{Duration, Instant};
/// use nyash_engine::host;
///
/// let start = Instant::now();
/// host::block_on(host::sleep(start + Duration::from_millis(5)))?;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub fn sleep(deadline: std::time::Instant) -> Sleep {
    Sleep::new(deadline)
}

/// Runs blocking `f` and returns its result. In an async call, `f` runs
/// on a helper thread while the call suspends; otherwise it runs right
/// here. `Err` if the async call was cancelled before `f` finished (`f`
/// still runs to completion on its thread; its result is dropped).
pub fn run_blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    crate::vm::async_driver::run_blocking(f)
}

/// Drives `future` to completion from a host function. In an async call
/// the call suspends while the future is pending and the call's executor
/// polls it again when it wakes (so the future may use that executor's
/// timers and I/O, e.g. tokio's); otherwise the thread parks until the
/// future wakes it (such a future must not need a particular executor's
/// reactor). `Err` if the async call was cancelled while waiting.
///
/// ```
/// use nyash_engine::host;
///
/// assert_eq!(host::block_on(async { 6 * 7 })?, 42);
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub fn block_on<F: std::future::Future + Send>(future: F) -> Result<F::Output> {
    crate::vm::async_driver::block_on(future)
}

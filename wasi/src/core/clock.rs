//! Clocks.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{ErrorCode, Result};

/// The clocks a program can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Wall-clock time since the Unix epoch.
    Realtime,
    /// Time since an arbitrary point that never goes back.
    Monotonic,
    /// CPU time of the process.
    ProcessCpu,
    /// CPU time of the calling thread.
    ThreadCpu,
}

/// The time on `clock`, in nanoseconds.
pub(crate) fn now(clock: Clock) -> Result<u64> {
    let id = match clock {
        Clock::Realtime => {
            return Ok(SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64));
        }
        Clock::Monotonic => libc::CLOCK_MONOTONIC,
        Clock::ProcessCpu => libc::CLOCK_PROCESS_CPUTIME_ID,
        Clock::ThreadCpu => libc::CLOCK_THREAD_CPUTIME_ID,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Err(ErrorCode::Invalid);
    }
    Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// The resolution of `clock`, in nanoseconds (what we promise: 1).
pub(crate) fn resolution(_clock: Clock) -> u64 {
    1
}

/// The monotonic clock's time, in nanoseconds.
pub(crate) fn monotonic_now() -> u64 {
    now(Clock::Monotonic).unwrap_or(0)
}

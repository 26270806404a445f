//! `poll_oneoff`: clock and descriptor subscriptions.

use nyash_engine::{Caller, Result};

use super::clocks::clock_of;
use super::{Errno, WasiResult, errno, with_ctx};
use crate::WasiView;
use crate::core::clock::{self, Clock};
use crate::core::ctx::FdKind;
use crate::core::fs;
use crate::core::stdio::{Readiness, Stdio, host_stdin_ready};

const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const EVENTRWFLAGS_HANGUP: u16 = 1;

struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn new(userdata: u64, kind: u8, error: u16) -> Event {
        Event {
            userdata,
            error,
            kind,
            nbytes: 0,
            flags: 0,
        }
    }

    /// A read event for a stream this ready.
    fn readable(userdata: u64, r: Readiness) -> Event {
        Event {
            nbytes: r.nbytes,
            flags: if r.hangup { EVENTRWFLAGS_HANGUP } else { 0 },
            ..Event::new(userdata, EVENTTYPE_FD_READ, 0)
        }
    }
}

/// Waits for the first of the subscriptions at `input` (`n` of 48 bytes)
/// and writes the events that are ready at `output` (32 bytes each), their
/// number at `nevents`. Reading an inherited stdin is ready when the host's
/// fd 0 is readable; files and output streams are always ready.
pub(super) fn poll_oneoff<T: WasiView>(
    mut c: Caller<'_, T>,
    input: u32,
    output: u32,
    n: u32,
    nevents: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| -> WasiResult<()> {
        if n == 0 {
            return Err(Errno(errno::INVAL));
        }
        let mut ready = Vec::new();
        // (deadline on the monotonic clock, userdata)
        let mut timers: Vec<(u64, u64)> = Vec::new();
        // Userdata of reads of an inherited stdin that is not readable yet.
        let mut stdin_waits: Vec<u64> = Vec::new();
        let now = clock::monotonic_now();
        for i in 0..n {
            let s = input
                .checked_add(i.checked_mul(48).ok_or(Errno(errno::FAULT))?)
                .ok_or(Errno(errno::FAULT))?;
            let userdata = mem.read_u64(s)?;
            let tag = mem.slice(s + 8, 1)?[0];
            match tag {
                EVENTTYPE_CLOCK => {
                    let id = mem.read_u32(s + 16)?;
                    let timeout = mem.read_u64(s + 24)?;
                    let flags =
                        u16::from_le_bytes(mem.slice(s + 40, 2)?.try_into().expect("2 bytes"));
                    let Ok(id) = clock_of(id) else {
                        ready.push(Event::new(userdata, tag, errno::INVAL));
                        continue;
                    };
                    let deadline = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                        if id == Clock::Realtime {
                            let real = clock::now(Clock::Realtime).unwrap_or(0);
                            now + timeout.saturating_sub(real)
                        } else {
                            timeout
                        }
                    } else {
                        now.saturating_add(timeout)
                    };
                    timers.push((deadline, userdata));
                }
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                    let fd = mem.read_u32(s + 16)?;
                    let read = tag == EVENTTYPE_FD_READ;
                    let Some(f) = ctx.fds.get(&fd) else {
                        ready.push(Event::new(userdata, tag, errno::BADF));
                        continue;
                    };
                    let ev = match &f.kind {
                        // Looked at now, and waited for below if nothing
                        // else is ready.
                        FdKind::Stdin(s) if read => match s.read_readiness() {
                            Some(r) => Event::readable(userdata, r),
                            None if matches!(s, Stdio::Inherit) => {
                                stdin_waits.push(userdata);
                                continue;
                            }
                            None => Event::new(userdata, tag, 0),
                        },
                        // Output streams take writes at once.
                        FdKind::Stdout(_) | FdKind::Stderr(_) if !read => {
                            Event::new(userdata, tag, 0)
                        }
                        // Reading an output stream or writing stdin.
                        FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => {
                            Event::new(userdata, tag, errno::BADF)
                        }
                        FdKind::File(_) if read => Event {
                            nbytes: fs::bytes_left(&f.kind).unwrap_or(0),
                            ..Event::new(userdata, tag, 0)
                        },
                        FdKind::File(_) => Event::new(userdata, tag, 0),
                        FdKind::Dir(_) => Event::new(userdata, tag, errno::BADF),
                    };
                    ready.push(ev);
                }
                _ => return Err(Errno(errno::INVAL)),
            }
        }
        let first_deadline = timers.iter().map(|&(d, _)| d).min();
        if ready.is_empty() && !stdin_waits.is_empty() {
            // Wait for stdin, until the first timer if there is one; in
            // async stores on a helper thread while the call suspends.
            let timeout = first_deadline
                .map(|d| std::time::Duration::from_nanos(d.saturating_sub(clock::monotonic_now())));
            let r = nyash_engine::host::run_blocking(move || host_stdin_ready(timeout))
                .map_err(|_| Errno(errno::INTR))?;
            if let Some(r) = r {
                ready.extend(stdin_waits.iter().map(|&u| Event::readable(u, r)));
            }
        } else if ready.is_empty()
            && let Some(deadline) = first_deadline
        {
            let now = clock::monotonic_now();
            if deadline > now {
                // Suspends the call instead of the thread in async stores.
                let at =
                    std::time::Instant::now() + std::time::Duration::from_nanos(deadline - now);
                nyash_engine::host::sleep_until(at).map_err(|_| Errno(errno::INTR))?;
            }
        }
        let now = clock::monotonic_now();
        for (deadline, userdata) in timers {
            if deadline <= now {
                ready.push(Event::new(userdata, EVENTTYPE_CLOCK, 0));
            }
        }
        for (i, e) in ready.iter().enumerate() {
            let o = output + 32 * i as u32;
            mem.slice_mut(o, 32)?.fill(0);
            mem.write_u64(o, e.userdata)?;
            mem.write_u16(o + 8, e.error)?;
            mem.write_u8(o + 10, e.kind)?;
            mem.write_u64(o + 16, e.nbytes)?;
            mem.write_u16(o + 24, e.flags)?;
        }
        mem.write_u32(nevents, ready.len() as u32)
    })
}

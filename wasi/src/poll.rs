//! `poll_oneoff`: clock and descriptor subscriptions.

use super::{Errno, FdKind, MODULE, Stdio, WasiResult, WasiView, errno, with_ctx};
use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::Result;

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
}

/// Whether the host's fd 0 is readable (data, end of file or an error)
/// within `timeout` (`None`: wait as long as it takes; `Some(ZERO)`: just
/// look), and then how many bytes it holds (`FIONREAD`) and whether it hung
/// up. `None` when it is not readable in time.
fn host_stdin_ready(timeout: Option<std::time::Duration>) -> Option<(u64, bool)> {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: one valid pollfd; `tsp` is null or points at a live timespec.
    let n = unsafe { libc::ppoll(&mut p, 1, tsp, std::ptr::null()) };
    if n <= 0 {
        // Not readable in time, or interrupted: the guest polls again.
        return None;
    }
    let mut avail: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let ok = unsafe { libc::ioctl(0, libc::FIONREAD, &mut avail) } == 0;
    let nbytes = if ok { avail.max(0) as u64 } else { 1 };
    Some((nbytes, p.revents & libc::POLLHUP != 0 && nbytes == 0))
}

pub(super) fn add<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        |mut c: Caller<'_, T>, input: u32, output: u32, n: u32, nevents: u32| {
            with_ctx(&mut c, |mem, ctx| -> WasiResult<()> {
                if n == 0 {
                    return Err(Errno(errno::INVAL));
                }
                let mut ready = Vec::new();
                // (deadline on the monotonic clock, userdata)
                let mut timers: Vec<(u64, u64)> = Vec::new();
                // Userdata of reads of an inherited stdin that is not readable yet.
                let mut stdin_waits: Vec<u64> = Vec::new();
                let now = super::clocks::monotonic_now();
                for i in 0..n {
                    let s = input
                        .checked_add(i.checked_mul(48).ok_or(Errno(errno::FAULT))?)
                        .ok_or(Errno(errno::FAULT))?;
                    let userdata = mem.read_u64(s)?;
                    let tag = mem.slice(s + 8, 1)?[0];
                    match tag {
                        EVENTTYPE_CLOCK => {
                            let clock = mem.read_u32(s + 16)?;
                            let timeout = mem.read_u64(s + 24)?;
                            let flags = u16::from_le_bytes(
                                mem.slice(s + 40, 2)?.try_into().expect("2 bytes"),
                            );
                            if clock > 3 {
                                ready.push(Event::new(userdata, tag, errno::INVAL));
                                continue;
                            }
                            let deadline = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                                if clock == 0 {
                                    let real = std::time::SystemTime::now()
                                        .duration_since(std::time::UNIX_EPOCH)
                                        .map_or(0, |d| d.as_nanos() as u64);
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
                            let mut ev = Event::new(userdata, tag, 0);
                            match &f.kind {
                                // Reading stdin is ready when the host's fd
                                // 0 is readable: looked at now, and waited
                                // for below if nothing else is ready.
                                FdKind::Stdin(Stdio::Inherit) if read => {
                                    match host_stdin_ready(Some(std::time::Duration::ZERO)) {
                                        Some((nbytes, hangup)) => {
                                            ev.nbytes = nbytes;
                                            ev.flags = if hangup { EVENTRWFLAGS_HANGUP } else { 0 };
                                        }
                                        None => {
                                            stdin_waits.push(userdata);
                                            continue;
                                        }
                                    }
                                }
                                FdKind::Stdin(Stdio::Buffer(b)) if read => {
                                    ev.nbytes =
                                        b.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
                                    ev.flags = if ev.nbytes == 0 {
                                        EVENTRWFLAGS_HANGUP
                                    } else {
                                        0
                                    };
                                }
                                FdKind::Stdin(Stdio::Null) if read => {
                                    ev.flags = EVENTRWFLAGS_HANGUP;
                                }
                                // Output streams take writes at once.
                                FdKind::Stdout(_) | FdKind::Stderr(_) if !read => {}
                                // Reading an output stream or writing stdin.
                                FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => {
                                    ev.error = errno::BADF;
                                }
                                FdKind::File(file) if read => {
                                    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                                    let pos = super::fds::std_file(&f.kind)
                                        .ok()
                                        .and_then(|mut sf| {
                                            std::io::Seek::stream_position(&mut sf).ok()
                                        })
                                        .unwrap_or(0);
                                    ev.nbytes = len.saturating_sub(pos);
                                }
                                FdKind::File(_) => {}
                                FdKind::Dir(_) => ev.error = errno::BADF,
                            }
                            ready.push(ev);
                        }
                        _ => return Err(Errno(errno::INVAL)),
                    }
                }
                let first_deadline = timers.iter().map(|&(d, _)| d).min();
                if ready.is_empty() && !stdin_waits.is_empty() {
                    // Wait for stdin, until the first timer if there is one;
                    // in async stores on a helper thread while the call
                    // suspends.
                    let timeout = first_deadline.map(|d| {
                        std::time::Duration::from_nanos(
                            d.saturating_sub(super::clocks::monotonic_now()),
                        )
                    });
                    let r = nyash_engine::host::run_blocking(move || host_stdin_ready(timeout))
                        .map_err(|_| Errno(errno::INTR))?;
                    if let Some((nbytes, hangup)) = r {
                        for &userdata in &stdin_waits {
                            let mut ev = Event::new(userdata, EVENTTYPE_FD_READ, 0);
                            ev.nbytes = nbytes;
                            ev.flags = if hangup { EVENTRWFLAGS_HANGUP } else { 0 };
                            ready.push(ev);
                        }
                    }
                } else if ready.is_empty()
                    && let Some(deadline) = first_deadline
                {
                    let now = super::clocks::monotonic_now();
                    if deadline > now {
                        // Suspends the call instead of the thread in async stores.
                        let at = std::time::Instant::now()
                            + std::time::Duration::from_nanos(deadline - now);
                        nyash_engine::host::sleep_until(at).map_err(|_| Errno(errno::INTR))?;
                    }
                }
                let now = super::clocks::monotonic_now();
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
        },
    )?;
    Ok(())
}

//! `poll_oneoff`: clock and descriptor subscriptions.

use super::{Errno, FdKind, MODULE, WasiResult, WasiView, errno, with_ctx};
use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::Result;

const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
    nbytes: u64,
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
                                ready.push(Event {
                                    userdata,
                                    error: errno::INVAL,
                                    kind: tag,
                                    nbytes: 0,
                                });
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
                            let ev = match ctx.fds.get(&fd) {
                                None => Event {
                                    userdata,
                                    error: errno::BADF,
                                    kind: tag,
                                    nbytes: 0,
                                },
                                Some(f) => {
                                    let nbytes = match &f.kind {
                                        FdKind::File(file) if tag == EVENTTYPE_FD_READ => {
                                            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                                            let pos = super::fds::std_file(&f.kind)
                                                .ok()
                                                .and_then(|mut sf| {
                                                    std::io::Seek::stream_position(&mut sf).ok()
                                                })
                                                .unwrap_or(0);
                                            len.saturating_sub(pos)
                                        }
                                        _ => 0,
                                    };
                                    Event {
                                        userdata,
                                        error: 0,
                                        kind: tag,
                                        nbytes,
                                    }
                                }
                            };
                            ready.push(ev);
                        }
                        _ => return Err(Errno(errno::INVAL)),
                    }
                }
                if ready.is_empty()
                    && let Some(&(deadline, _)) = timers.iter().min()
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
                        ready.push(Event {
                            userdata,
                            error: 0,
                            kind: EVENTTYPE_CLOCK,
                            nbytes: 0,
                        });
                    }
                }
                for (i, e) in ready.iter().enumerate() {
                    let o = output + 32 * i as u32;
                    mem.slice_mut(o, 32)?.fill(0);
                    mem.write_u64(o, e.userdata)?;
                    mem.write_u16(o + 8, e.error)?;
                    mem.write_u8(o + 10, e.kind)?;
                    mem.write_u64(o + 16, e.nbytes)?;
                }
                mem.write_u32(nevents, ready.len() as u32)
            })
        },
    )?;
    Ok(())
}

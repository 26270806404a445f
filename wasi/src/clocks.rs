//! Arguments, environment, clocks, randomness, the process, and sockets.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Errno, MODULE, WasiView, errno, with_ctx};
use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::{Error, ErrorKind, Result};

/// Writes `items` as NUL-terminated strings into `buf`, pointers into `ptrs`.
fn write_strings(
    mem: &mut super::GuestMem<'_>,
    items: &[String],
    ptrs: u32,
    buf: u32,
) -> super::WasiResult<()> {
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        mem.write_u32(ptrs + 4 * i as u32, at)?;
        let dst = mem.slice_mut(at, s.len() as u32 + 1)?;
        dst[..s.len()].copy_from_slice(s.as_bytes());
        dst[s.len()] = 0;
        at += s.len() as u32 + 1;
    }
    Ok(())
}

fn sizes(items: &[String]) -> (u32, u32) {
    (
        items.len() as u32,
        items.iter().map(|s| s.len() as u32 + 1).sum(),
    )
}

fn now(clock: u32) -> super::WasiResult<u64> {
    match clock {
        0 => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)),
        1..=3 => {
            let id = match clock {
                1 => libc::CLOCK_MONOTONIC,
                2 => libc::CLOCK_PROCESS_CPUTIME_ID,
                _ => libc::CLOCK_THREAD_CPUTIME_ID,
            };
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes one timespec.
            if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
                return Err(Errno(errno::INVAL));
            }
            Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
        }
        _ => Err(Errno(errno::INVAL)),
    }
}

pub(crate) fn monotonic_now() -> u64 {
    now(1).unwrap_or(0)
}

pub(super) fn add<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "args_get",
        |mut c: Caller<'_, T>, argv: u32, buf: u32| {
            with_ctx(&mut c, |mem, ctx| {
                write_strings(mem, &ctx.args.clone(), argv, buf)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "args_sizes_get",
        |mut c: Caller<'_, T>, count: u32, size: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let (n, bytes) = sizes(&ctx.args);
                mem.write_u32(count, n)?;
                mem.write_u32(size, bytes)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_get",
        |mut c: Caller<'_, T>, env: u32, buf: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let items: Vec<String> = ctx.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write_strings(mem, &items, env, buf)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: Caller<'_, T>, count: u32, size: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let items: Vec<String> = ctx.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let (n, bytes) = sizes(&items);
                mem.write_u32(count, n)?;
                mem.write_u32(size, bytes)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: Caller<'_, T>, clock: u32, out: u32| {
            with_ctx(&mut c, |mem, _| {
                let res = match clock {
                    0..=3 => 1u64,
                    _ => return Err(Errno(errno::INVAL)),
                };
                mem.write_u64(out, res)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Caller<'_, T>, clock: u32, _precision: u64, out: u32| {
            with_ctx(&mut c, |mem, _| mem.write_u64(out, now(clock)?))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "random_get",
        |mut c: Caller<'_, T>, buf: u32, len: u32| {
            with_ctx(&mut c, |mem, _| {
                let dst = mem.slice_mut(buf, len)?;
                let mut filled = 0;
                while filled < dst.len() {
                    // SAFETY: getrandom writes at most the given length into the slice.
                    let n = unsafe {
                        libc::getrandom(dst[filled..].as_mut_ptr().cast(), dst.len() - filled, 0)
                    };
                    if n < 0 {
                        return Err(Errno::from(std::io::Error::last_os_error()));
                    }
                    filled += n as usize;
                }
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |mut c: Caller<'_, T>, code: u32| -> Result<()> {
            c.data_mut().wasi().exit_code = Some(code as i32);
            Err(Error::new(ErrorKind::Exit(code as i32)))
        },
    )?;
    linker.func_wrap(MODULE, "proc_raise", |_: Caller<'_, T>, _sig: u32| -> i32 {
        errno::NOTSUP as i32
    })?;
    linker.func_wrap(MODULE, "sched_yield", |_: Caller<'_, T>| -> i32 {
        std::thread::yield_now();
        0
    })?;
    // No sockets are handed to the program: every socket call is on a
    // descriptor that is not a socket.
    linker.func_wrap(
        MODULE,
        "sock_accept",
        |mut c: Caller<'_, T>, fd: u32, _flags: u32, _out: u32| {
            with_ctx(&mut c, |_, ctx| {
                ctx.fd(fd)?;
                Err(Errno(errno::NOTSOCK))
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "sock_recv",
        |mut c: Caller<'_, T>,
         fd: u32,
         _iovs: u32,
         _n: u32,
         _flags: u32,
         _nread: u32,
         _oflags: u32| {
            with_ctx(&mut c, |_, ctx| {
                ctx.fd(fd)?;
                Err(Errno(errno::NOTSOCK))
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "sock_send",
        |mut c: Caller<'_, T>, fd: u32, _iovs: u32, _n: u32, _flags: u32, _nwritten: u32| {
            with_ctx(&mut c, |_, ctx| {
                ctx.fd(fd)?;
                Err(Errno(errno::NOTSOCK))
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "sock_shutdown",
        |mut c: Caller<'_, T>, fd: u32, _how: u32| {
            with_ctx(&mut c, |_, ctx| {
                ctx.fd(fd)?;
                Err(Errno(errno::NOTSOCK))
            })
        },
    )?;
    Ok(())
}

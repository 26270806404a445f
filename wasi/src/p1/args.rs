//! `args_*` and `environ_*`: the program's arguments and environment.

use nyash_engine::{Caller, Result};

use super::{GuestMem, WasiResult, with_ctx};
use crate::WasiView;

/// Writes `items` as NUL-terminated strings into `buf`, pointers into `ptrs`.
fn write_strings(mem: &mut GuestMem<'_>, items: &[String], ptrs: u32, buf: u32) -> WasiResult<()> {
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

/// How many strings, and how many bytes they take with their NULs.
fn sizes(items: &[String]) -> (u32, u32) {
    (
        items.len() as u32,
        items.iter().map(|s| s.len() as u32 + 1).sum(),
    )
}

pub(super) fn args_get<T: WasiView>(mut c: Caller<'_, T>, argv: u32, buf: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| write_strings(mem, ctx.args(), argv, buf))
}

pub(super) fn args_sizes_get<T: WasiView>(
    mut c: Caller<'_, T>,
    count: u32,
    size: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let (n, bytes) = sizes(ctx.args());
        mem.write_u32(count, n)?;
        mem.write_u32(size, bytes)
    })
}

pub(super) fn environ_get<T: WasiView>(mut c: Caller<'_, T>, env: u32, buf: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        write_strings(mem, &ctx.environ(), env, buf)
    })
}

pub(super) fn environ_sizes_get<T: WasiView>(
    mut c: Caller<'_, T>,
    count: u32,
    size: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let (n, bytes) = sizes(&ctx.environ());
        mem.write_u32(count, n)?;
        mem.write_u32(size, bytes)
    })
}

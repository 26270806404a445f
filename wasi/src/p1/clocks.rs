//! `clock_res_get`, `clock_time_get`.

use nyash_engine::{Caller, Result};

use super::{Errno, WasiResult, errno, with_ctx};
use crate::WasiView;
use crate::core::clock::{self, Clock};

/// Preview 1's clock id.
pub(super) fn clock_of(id: u32) -> WasiResult<Clock> {
    Ok(match id {
        0 => Clock::Realtime,
        1 => Clock::Monotonic,
        2 => Clock::ProcessCpu,
        3 => Clock::ThreadCpu,
        _ => return Err(Errno(errno::INVAL)),
    })
}

pub(super) fn clock_res_get<T: WasiView>(mut c: Caller<'_, T>, id: u32, out: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, _| {
        mem.write_u64(out, clock::resolution(clock_of(id)?))
    })
}

pub(super) fn clock_time_get<T: WasiView>(
    mut c: Caller<'_, T>,
    id: u32,
    _precision: u64,
    out: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, _| {
        mem.write_u64(out, clock::now(clock_of(id)?)?)
    })
}

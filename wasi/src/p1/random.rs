//! `random_get`.

use nyash_engine::{Caller, Result};

use super::with_ctx;
use crate::WasiView;

pub(super) fn random_get<T: WasiView>(mut c: Caller<'_, T>, buf: u32, len: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, _| {
        Ok(crate::core::random::fill(mem.slice_mut(buf, len)?)?)
    })
}

//! `proc_exit`, `proc_raise`, `sched_yield`.

use nyash_engine::{Caller, Error, ErrorKind, Result};

use super::errno;
use crate::WasiView;

/// Ends the call with an error whose `exit_status` is `code` (and
/// remembers it in the context).
pub(super) fn proc_exit<T: WasiView>(mut c: Caller<'_, T>, code: u32) -> Result<()> {
    c.data_mut().wasi().exit_code = Some(code as i32);
    Err(Error::new(ErrorKind::Exit(code as i32)))
}

/// Signals are not supported.
pub(super) fn proc_raise<T: WasiView>(_: Caller<'_, T>, _sig: u32) -> i32 {
    errno::NOTSUP as i32
}

pub(super) fn sched_yield<T: WasiView>(_: Caller<'_, T>) -> i32 {
    std::thread::yield_now();
    0
}

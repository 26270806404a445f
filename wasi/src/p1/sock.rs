//! `sock_*`. No sockets are handed to the program: every socket call is on
//! a descriptor that is not a socket (`ENOTSOCK`), or on none (`EBADF`).

use nyash_engine::{Caller, Result};

use super::{Errno, errno, with_ctx};
use crate::WasiView;

/// `EBADF` for a descriptor that is not open, else `ENOTSOCK`.
fn not_a_socket<T: WasiView>(c: &mut Caller<'_, T>, fd: u32) -> Result<i32> {
    with_ctx(c, |_, ctx| {
        ctx.fd(fd)?;
        Err(Errno(errno::NOTSOCK))
    })
}

pub(super) fn sock_accept<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    _flags: u32,
    _out: u32,
) -> Result<i32> {
    not_a_socket(&mut c, fd)
}

pub(super) fn sock_recv<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    _iovs: u32,
    _n: u32,
    _flags: u32,
    _nread: u32,
    _oflags: u32,
) -> Result<i32> {
    not_a_socket(&mut c, fd)
}

pub(super) fn sock_send<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    _iovs: u32,
    _n: u32,
    _flags: u32,
    _nwritten: u32,
) -> Result<i32> {
    not_a_socket(&mut c, fd)
}

pub(super) fn sock_shutdown<T: WasiView>(mut c: Caller<'_, T>, fd: u32, _how: u32) -> Result<i32> {
    not_a_socket(&mut c, fd)
}

//! `path_*`: operations on paths beneath a directory descriptor.

use nyash_engine::{Caller, Result};

use super::fd::{times, write_filestat};
use super::{Errno, GuestMem, WasiResult, errno, fd_with, rights, with_ctx};
use crate::WasiView;
use crate::core::ctx::{Fd, FdKind};
use crate::core::path::{self, OpenOptions};

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const O_CREAT: u16 = 1;
const O_DIRECTORY: u16 = 2;
const O_EXCL: u16 = 4;
const O_TRUNC: u16 = 8;
const FDFLAGS_APPEND: u16 = 1;

/// A path from guest memory: UTF-8 (`EILSEQ`), no NUL (`EINVAL`), not
/// absolute (`EPERM`).
fn guest_path(mem: &GuestMem<'_>, ptr: u32, len: u32) -> WasiResult<String> {
    let p = mem.str(ptr, len)?;
    path::check(p)?;
    Ok(p.to_string())
}

pub(super) fn path_create_directory<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    p: u32,
    l: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        Ok(path::create_dir(path::dir(ctx, fd)?, &path)?)
    })
}

pub(super) fn path_remove_directory<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    p: u32,
    l: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        Ok(path::remove_dir(path::dir(ctx, fd)?, &path)?)
    })
}

pub(super) fn path_unlink_file<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    p: u32,
    l: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        Ok(path::unlink_file(path::dir(ctx, fd)?, &path)?)
    })
}

pub(super) fn path_filestat_get<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    flags: u32,
    p: u32,
    l: u32,
    out: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
        let root = ctx.fd(fd)?.root.clone();
        let st = path::filestat(path::dir(ctx, fd)?, root.as_deref(), &path, follow)?;
        write_filestat(mem, out, &st)
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn path_filestat_set_times<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    flags: u32,
    p: u32,
    l: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        let (a, m) = times(atim, mtim, fst as u16)?;
        let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
        Ok(path::set_times(path::dir(ctx, fd)?, &path, follow, a, m)?)
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn path_link<T: WasiView>(
    mut c: Caller<'_, T>,
    old_fd: u32,
    flags: u32,
    op: u32,
    ol: u32,
    new_fd: u32,
    np: u32,
    nl: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        // Hard links to a symlink's target are not portable; refuse.
        if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
            return Err(Errno(errno::INVAL));
        }
        let (old, new) = (guest_path(mem, op, ol)?, guest_path(mem, np, nl)?);
        let new_dir = path::dir(ctx, new_fd)?.clone();
        Ok(path::link(path::dir(ctx, old_fd)?, &old, &new_dir, &new)?)
    })
}

/// Opens a path beneath directory `fd` (which needs `PATH_OPEN`, and
/// `PATH_CREATE_FILE` to create, `PATH_FILESTAT_SET_SIZE` to truncate).
/// The new descriptor has the rights asked for that `fd` may hand on and
/// its kind allows.
#[allow(clippy::too_many_arguments)]
pub(super) fn path_open<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    lookup: u32,
    p: u32,
    l: u32,
    oflags: u32,
    base: u64,
    inheriting: u64,
    fdflags: u32,
    out: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        let (oflags, fdflags) = (oflags as u16, fdflags as u16);
        let mut needed = rights::PATH_OPEN;
        if oflags & O_CREAT != 0 {
            needed |= rights::PATH_CREATE_FILE;
        }
        if oflags & O_TRUNC != 0 {
            needed |= rights::PATH_FILESTAT_SET_SIZE;
        }
        let parent_inh = ctx.fd(fd)?.rights_inheriting;
        fd_with(ctx, fd, needed)?;
        path::dir(ctx, fd)?;
        let opts = OpenOptions {
            follow: lookup & LOOKUP_SYMLINK_FOLLOW != 0,
            create: oflags & O_CREAT != 0,
            exclusive: oflags & O_EXCL != 0,
            truncate: oflags & O_TRUNC != 0,
            directory: oflags & O_DIRECTORY != 0,
            read: base & rights::FD_READ != 0,
            write: base & rights::FD_WRITE != 0,
            modify: base
                & (rights::FD_WRITE
                    | rights::FD_DATASYNC
                    | rights::FD_ALLOCATE
                    | rights::FD_FILESTAT_SET_SIZE)
                != 0,
        };
        let root = ctx.fd(fd)?.root.clone();
        let (kind, root) = path::open(path::dir(ctx, fd)?, root.as_ref(), &path, opts)?;
        let kind_rights = match kind {
            FdKind::Dir(_) => rights::DIR,
            _ => rights::FILE,
        };
        let new = ctx.insert(Fd {
            kind,
            preopen: None,
            root,
            append: fdflags & FDFLAGS_APPEND != 0,
            fdflags: fdflags & !FDFLAGS_APPEND,
            rights_base: base & parent_inh & kind_rights,
            rights_inheriting: inheriting & parent_inh,
        })?;
        mem.write_u32(out, new)
    })
}

pub(super) fn path_readlink<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    p: u32,
    l: u32,
    buf: u32,
    len: u32,
    used: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let path = guest_path(mem, p, l)?;
        let target = path::readlink(path::dir(ctx, fd)?, &path)?;
        let target = target.to_string_lossy();
        let n = target.len().min(len as usize);
        mem.slice_mut(buf, n as u32)?
            .copy_from_slice(&target.as_bytes()[..n]);
        mem.write_u32(used, n as u32)
    })
}

pub(super) fn path_rename<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    op: u32,
    ol: u32,
    new_fd: u32,
    np: u32,
    nl: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let (old, new) = (guest_path(mem, op, ol)?, guest_path(mem, np, nl)?);
        let new_dir = path::dir(ctx, new_fd)?.clone();
        Ok(path::rename(path::dir(ctx, fd)?, &old, &new_dir, &new)?)
    })
}

pub(super) fn path_symlink<T: WasiView>(
    mut c: Caller<'_, T>,
    op: u32,
    ol: u32,
    fd: u32,
    np: u32,
    nl: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let old = mem.str(op, ol)?.to_string();
        let new = guest_path(mem, np, nl)?;
        Ok(path::symlink(&old, path::dir(ctx, fd)?, &new)?)
    })
}

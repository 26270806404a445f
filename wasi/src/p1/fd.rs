//! `fd_*`: operations on descriptors.

use std::io::SeekFrom;

use nyash_engine::{Caller, Result};

use super::{
    ALL_RIGHTS, Errno, GuestMem, WasiResult, errno, fd_with, filetype_code, rights, with_ctx,
};
use crate::WasiView;
use crate::core::ctx::{FdKind, WasiCtx};
use crate::core::fs::{self, Filestat};

const FDFLAGS_APPEND: u16 = 1;

/// Writes a filestat in preview 1's layout (64 bytes).
pub(super) fn write_filestat(mem: &mut GuestMem<'_>, ptr: u32, st: &Filestat) -> WasiResult<()> {
    mem.slice_mut(ptr, 64)?.fill(0);
    mem.write_u64(ptr, st.dev)?;
    mem.write_u64(ptr + 8, st.ino)?;
    mem.write_u8(ptr + 16, filetype_code(st.filetype))?;
    mem.write_u64(ptr + 24, st.nlink)?;
    mem.write_u64(ptr + 32, st.size)?;
    mem.write_u64(ptr + 40, st.atim)?;
    mem.write_u64(ptr + 48, st.mtim)?;
    mem.write_u64(ptr + 56, st.ctim)
}

/// New (atime, mtime) for `*_set_times` from preview 1's fstflags (`None`:
/// unchanged); `EINVAL` for a time both given and "now".
pub(super) fn times(
    atim: u64,
    mtim: u64,
    flags: u16,
) -> WasiResult<(Option<std::time::SystemTime>, Option<std::time::SystemTime>)> {
    const ATIM: u16 = 1;
    const ATIM_NOW: u16 = 2;
    const MTIM: u16 = 4;
    const MTIM_NOW: u16 = 8;
    if (flags & ATIM != 0 && flags & ATIM_NOW != 0) || (flags & MTIM != 0 && flags & MTIM_NOW != 0)
    {
        return Err(Errno(errno::INVAL));
    }
    let at = |t: u64| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(t);
    let now = std::time::SystemTime::now();
    let pick = |given: u16, now_flag: u16, t: u64| {
        if flags & given != 0 {
            Some(at(t))
        } else if flags & now_flag != 0 {
            Some(now)
        } else {
            None
        }
    };
    Ok((pick(ATIM, ATIM_NOW, atim), pick(MTIM, MTIM_NOW, mtim)))
}

/// Checks that `fd` is a file or directory with the `needed` rights. A
/// standard stream is refused with `on_stdio` before its rights are looked
/// at (wasmtime's answers: `SPIPE` to seek, tell, `pread` stdin or `pwrite`
/// stdout; `BADF` for the rest).
fn check_file(ctx: &mut WasiCtx, fd: u32, needed: u64, on_stdio: u16) -> WasiResult<()> {
    if ctx.fd(fd)?.kind.is_stdio() {
        return Err(Errno(on_stdio));
    }
    fd_with(ctx, fd, needed)?;
    Ok(())
}

pub(super) fn fd_advise<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        ctx.fd(fd)?;
        if advice > 5 {
            return Err(Errno(errno::INVAL));
        }
        Ok(fs::advise(&ctx.fd(fd)?.kind)?)
    })
}

pub(super) fn fd_allocate<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    offset: u64,
    len: u64,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        check_file(ctx, fd, rights::FD_ALLOCATE, errno::BADF)?;
        Ok(fs::allocate(&ctx.fd(fd)?.kind, offset, len)?)
    })
}

pub(super) fn fd_close<T: WasiView>(mut c: Caller<'_, T>, fd: u32) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| Ok(ctx.close(fd)?))
}

pub(super) fn fd_datasync<T: WasiView>(mut c: Caller<'_, T>, fd: u32) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| Ok(fs::sync_data(&ctx.fd(fd)?.kind)?))
}

pub(super) fn fd_sync<T: WasiView>(mut c: Caller<'_, T>, fd: u32) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| Ok(fs::sync(&ctx.fd(fd)?.kind)?))
}

pub(super) fn fd_fdstat_get<T: WasiView>(mut c: Caller<'_, T>, fd: u32, out: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let f = ctx.fd(fd)?;
        let filetype = fs::filetype(&f.kind)?;
        let flags = f.fdflags | if f.append { FDFLAGS_APPEND } else { 0 };
        mem.slice_mut(out, 24)?.fill(0);
        mem.write_u8(out, filetype_code(filetype))?;
        mem.write_u16(out + 2, flags)?;
        mem.write_u64(out + 8, f.rights_base)?;
        mem.write_u64(out + 16, f.rights_inheriting)
    })
}

pub(super) fn fd_fdstat_set_flags<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    flags: u32,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        let f = ctx.fd(fd)?;
        if flags & !0x1f != 0 {
            return Err(Errno(errno::INVAL));
        }
        f.append = flags as u16 & FDFLAGS_APPEND != 0;
        f.fdflags = flags as u16 & !FDFLAGS_APPEND;
        Ok(())
    })
}

pub(super) fn fd_fdstat_set_rights<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        let f = ctx.fd(fd)?;
        // Rights can only be dropped.
        if base & !f.rights_base != 0 || inheriting & !f.rights_inheriting != 0 {
            return Err(Errno(errno::NOTCAPABLE));
        }
        f.rights_base = base & ALL_RIGHTS;
        f.rights_inheriting = inheriting & ALL_RIGHTS;
        Ok(())
    })
}

pub(super) fn fd_filestat_get<T: WasiView>(mut c: Caller<'_, T>, fd: u32, out: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        write_filestat(mem, out, &fs::filestat(&ctx.fd(fd)?.kind)?)
    })
}

pub(super) fn fd_filestat_set_size<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    size: u64,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        check_file(ctx, fd, rights::FD_FILESTAT_SET_SIZE, errno::BADF)?;
        Ok(fs::set_size(&ctx.fd(fd)?.kind, size)?)
    })
}

pub(super) fn fd_filestat_set_times<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| {
        ctx.fd(fd)?;
        let (a, m) = times(atim, mtim, flags as u16)?;
        Ok(fs::set_times(&ctx.fd(fd)?.kind, a, m)?)
    })
}

pub(super) fn fd_pread<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    nread: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let on_stdio = match ctx.fd(fd)?.kind {
            FdKind::Stdin(_) => errno::SPIPE,
            _ => errno::BADF,
        };
        check_file(ctx, fd, rights::FD_READ | rights::FD_SEEK, on_stdio)?;
        let mut total = 0u64;
        for (ptr, len) in mem.iovecs(iovs, n)? {
            let buf = mem.slice_mut(ptr, len)?;
            let got = fs::pread(&ctx.fd(fd)?.kind, buf, offset + total)?;
            total += got as u64;
            if got < len as usize {
                break;
            }
        }
        mem.write_u32(nread, total as u32)
    })
}

pub(super) fn fd_pwrite<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    nwritten: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let on_stdio = match ctx.fd(fd)?.kind {
            FdKind::Stdout(_) | FdKind::Stderr(_) => errno::SPIPE,
            _ => errno::BADF,
        };
        check_file(ctx, fd, rights::FD_WRITE | rights::FD_SEEK, on_stdio)?;
        let mut total = 0u64;
        for (ptr, len) in mem.iovecs(iovs, n)? {
            fs::pwrite(&ctx.fd(fd)?.kind, mem.slice(ptr, len)?, offset + total)?;
            total += len as u64;
        }
        mem.write_u32(nwritten, total as u32)
    })
}

pub(super) fn fd_prestat_get<T: WasiView>(mut c: Caller<'_, T>, fd: u32, out: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let name = fs::preopen_name(ctx, fd)?;
        mem.write_u32(out, 0)?;
        mem.write_u32(out + 4, name.len() as u32)
    })
}

pub(super) fn fd_prestat_dir_name<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let name = fs::preopen_name(ctx, fd)?;
        if (len as usize) < name.len() {
            return Err(Errno(errno::NAMETOOLONG));
        }
        mem.slice_mut(path, name.len() as u32)?
            .copy_from_slice(name.as_bytes());
        Ok(())
    })
}

pub(super) fn fd_read<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    iovs: u32,
    n: u32,
    nread: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        fd_with(ctx, fd, rights::FD_READ)?;
        let mut total = 0u32;
        for (ptr, len) in mem.iovecs(iovs, n)? {
            let got = fs::read(&mut ctx.fd(fd)?.kind, mem.slice_mut(ptr, len)?)?;
            total += got as u32;
            if got < len as usize {
                break;
            }
        }
        mem.write_u32(nread, total)
    })
}

pub(super) fn fd_write<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    iovs: u32,
    n: u32,
    nwritten: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        fd_with(ctx, fd, rights::FD_WRITE)?;
        let mut total = 0u32;
        for (ptr, len) in mem.iovecs(iovs, n)? {
            let f = ctx.fd(fd)?;
            let put = fs::write(&mut f.kind, f.append, mem.slice(ptr, len)?)?;
            total += put as u32;
            if put < len as usize {
                break;
            }
        }
        mem.write_u32(nwritten, total)
    })
}

pub(super) fn fd_readdir<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    buf: u32,
    len: u32,
    cookie: u64,
    used: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        fd_with(ctx, fd, rights::FD_READDIR)?;
        let f = ctx.fd(fd)?;
        let entries = fs::read_dir(&f.kind, f.root.as_deref())?;
        // Serialise from `cookie` on: each entry's dirent (next cookie,
        // inode, name length, type) then its name; the last may be cut short.
        let mut out = Vec::new();
        for (i, e) in entries.iter().enumerate().skip(cookie as usize) {
            let name = e.name.to_string_lossy();
            out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
            out.extend_from_slice(&e.ino.to_le_bytes());
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.push(filetype_code(e.filetype));
            out.extend_from_slice(&[0; 3]);
            out.extend_from_slice(name.as_bytes());
            if out.len() >= len as usize {
                break;
            }
        }
        let n = out.len().min(len as usize);
        mem.slice_mut(buf, n as u32)?.copy_from_slice(&out[..n]);
        mem.write_u32(used, n as u32)
    })
}

pub(super) fn fd_renumber<T: WasiView>(mut c: Caller<'_, T>, from: u32, to: u32) -> Result<i32> {
    with_ctx(&mut c, |_, ctx| Ok(ctx.renumber(from, to)?))
}

pub(super) fn fd_seek<T: WasiView>(
    mut c: Caller<'_, T>,
    fd: u32,
    offset: i64,
    whence: u32,
    out: u32,
) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        let needed = if whence == 1 && offset == 0 {
            rights::FD_TELL
        } else {
            rights::FD_SEEK
        };
        check_file(ctx, fd, needed, errno::SPIPE)?;
        let pos = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno(errno::INVAL))?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(Errno(errno::INVAL)),
        };
        mem.write_u64(out, fs::seek(&ctx.fd(fd)?.kind, pos)?)
    })
}

pub(super) fn fd_tell<T: WasiView>(mut c: Caller<'_, T>, fd: u32, out: u32) -> Result<i32> {
    with_ctx(&mut c, |mem, ctx| {
        check_file(ctx, fd, rights::FD_TELL, errno::SPIPE)?;
        mem.write_u64(out, fs::tell(&ctx.fd(fd)?.kind)?)
    })
}

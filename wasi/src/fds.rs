//! Operations on file descriptors.

use cap_std::fs::FileExt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;

use super::{
    ALL_RIGHTS, Errno, FdKind, GuestMem, MODULE, WasiCtx, WasiResult, WasiView, errno, rights,
    with_ctx,
};
use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::Result;

pub(crate) const FILETYPE_UNKNOWN: u8 = 0;
pub(crate) const FILETYPE_BLOCK_DEVICE: u8 = 1;
pub(crate) const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub(crate) const FILETYPE_DIRECTORY: u8 = 3;
pub(crate) const FILETYPE_REGULAR_FILE: u8 = 4;
pub(crate) const FILETYPE_SOCKET_STREAM: u8 = 6;
pub(crate) const FILETYPE_SYMBOLIC_LINK: u8 = 7;

const FDFLAGS_APPEND: u16 = 1;

/// A filestat in WASI's layout (64 bytes).
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    pub(crate) fn write(&self, mem: &mut GuestMem<'_>, ptr: u32) -> WasiResult<()> {
        mem.slice_mut(ptr, 64)?.fill(0);
        mem.write_u64(ptr, self.dev)?;
        mem.write_u64(ptr + 8, self.ino)?;
        mem.write_u8(ptr + 16, self.filetype)?;
        mem.write_u64(ptr + 24, self.nlink)?;
        mem.write_u64(ptr + 32, self.size)?;
        mem.write_u64(ptr + 40, self.atim)?;
        mem.write_u64(ptr + 48, self.mtim)?;
        mem.write_u64(ptr + 56, self.ctim)
    }
}

fn ns(secs: i64, nsec: i64) -> u64 {
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

pub(crate) fn filetype_of_mode(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => FILETYPE_DIRECTORY,
        libc::S_IFREG => FILETYPE_REGULAR_FILE,
        libc::S_IFLNK => FILETYPE_SYMBOLIC_LINK,
        libc::S_IFCHR => FILETYPE_CHARACTER_DEVICE,
        libc::S_IFBLK => FILETYPE_BLOCK_DEVICE,
        libc::S_IFSOCK => FILETYPE_SOCKET_STREAM,
        _ => FILETYPE_UNKNOWN,
    }
}

/// WASI's filetype for a type `cap-std` reports (a FIFO is unknown:
/// preview 1 has no code for it).
pub(crate) fn filetype_of(ft: &cap_std::fs::FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        FILETYPE_DIRECTORY
    } else if ft.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if ft.is_file() {
        FILETYPE_REGULAR_FILE
    } else if ft.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else if ft.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if ft.is_socket() {
        FILETYPE_SOCKET_STREAM
    } else {
        FILETYPE_UNKNOWN
    }
}

pub(crate) fn filestat_std(m: &std::fs::Metadata) -> Filestat {
    use std::os::unix::fs::MetadataExt;
    Filestat {
        dev: m.dev(),
        ino: m.ino(),
        filetype: filetype_of_mode(m.mode()),
        nlink: m.nlink(),
        size: m.size(),
        atim: ns(m.atime(), m.atime_nsec()),
        mtim: ns(m.mtime(), m.mtime_nsec()),
        ctim: ns(m.ctime(), m.ctime_nsec()),
    }
}

/// A std `File` view of a file or directory descriptor (for metadata,
/// sync, times). A standard stream has none (`BADF`): what the host's own
/// stdio is never reaches the guest beyond "a terminal or not", and its
/// times are not the guest's to set.
pub(crate) fn std_file(kind: &FdKind) -> WasiResult<std::fs::File> {
    let owned = match kind {
        FdKind::File(f) => f.as_fd().try_clone_to_owned()?,
        FdKind::Dir(d) => d.as_fd().try_clone_to_owned()?,
        FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => {
            return Err(Errno(errno::BADF));
        }
    };
    Ok(std::fs::File::from(owned))
}

/// Whether a descriptor is one of the standard streams.
pub(crate) fn is_stdio(kind: &FdKind) -> bool {
    matches!(
        kind,
        FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_)
    )
}

/// The filetype a standard stream reports, as wasmtime does: a character
/// device when it is a terminal, else unknown (a pipe, a regular file,
/// `/dev/null`, a socket: preview 1 has no code for a pipe, and a stream is
/// not seekable whatever the host descriptor is). `None` for other
/// descriptors.
pub(crate) fn stdio_filetype(kind: &FdKind) -> Option<u8> {
    let (stream, host_fd) = match kind {
        FdKind::Stdin(s) => (s, 0),
        FdKind::Stdout(s) => (s, 1),
        FdKind::Stderr(s) => (s, 2),
        FdKind::File(_) | FdKind::Dir(_) => return None,
    };
    Some(if stream.is_terminal(host_fd) {
        FILETYPE_CHARACTER_DEVICE
    } else {
        FILETYPE_UNKNOWN
    })
}

/// Computes new (atime, mtime) for `*_set_times` from WASI's fstflags.
pub(crate) fn times(
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
    let a = if flags & ATIM != 0 {
        Some(at(atim))
    } else if flags & ATIM_NOW != 0 {
        Some(now)
    } else {
        None
    };
    let m = if flags & MTIM != 0 {
        Some(at(mtim))
    } else if flags & MTIM_NOW != 0 {
        Some(now)
    } else {
        None
    };
    Ok((a, m))
}

fn read_into(kind: &mut FdKind, buf: &mut [u8]) -> WasiResult<usize> {
    match kind {
        FdKind::Stdin(s) => s.read(buf),
        FdKind::File(f) => Ok(f.read(buf)?),
        FdKind::Dir(_) => Err(Errno(errno::ISDIR)),
        FdKind::Stdout(_) | FdKind::Stderr(_) => Err(Errno(errno::BADF)),
    }
}

fn write_from(kind: &mut FdKind, append: bool, data: &[u8]) -> WasiResult<usize> {
    match kind {
        FdKind::Stdout(s) => s.write(data, false),
        FdKind::Stderr(s) => s.write(data, true),
        FdKind::File(f) => {
            if append {
                f.seek(SeekFrom::End(0))?;
            }
            Ok(f.write(data)?)
        }
        FdKind::Dir(_) => Err(Errno(errno::ISDIR)),
        FdKind::Stdin(_) => Err(Errno(errno::BADF)),
    }
}

fn file(kind: &mut FdKind) -> WasiResult<&mut cap_std::fs::File> {
    match kind {
        FdKind::File(f) => Ok(f),
        FdKind::Dir(_) => Err(Errno(errno::ISDIR)),
        _ => Err(Errno(errno::SPIPE)),
    }
}

/// The file behind `fd`, which must have the `needed` rights. A standard
/// stream is refused with `on_stdio` before its rights are looked at
/// (wasmtime's answers: `SPIPE` to seek, tell, `pread` stdin or `pwrite`
/// stdout; `BADF` for the rest), a directory with `ISDIR`.
fn file_with(
    ctx: &mut WasiCtx,
    fd: u32,
    needed: u64,
    on_stdio: u16,
) -> WasiResult<&mut cap_std::fs::File> {
    if is_stdio(&ctx.fd(fd)?.kind) {
        return Err(Errno(on_stdio));
    }
    file(&mut ctx.fd_with(fd, needed)?.kind)
}

pub(super) fn add<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "fd_advise",
        |mut c: Caller<'_, T>, fd: u32, _offset: u64, _len: u64, advice: u32| {
            with_ctx(&mut c, |_, ctx| {
                let f = ctx.fd(fd)?;
                if advice > 5 {
                    return Err(Errno(errno::INVAL));
                }
                match f.kind {
                    FdKind::File(_) => Ok(()),
                    FdKind::Dir(_) => Err(Errno(errno::BADF)),
                    _ => Err(Errno(errno::BADF)),
                }
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_allocate",
        |mut c: Caller<'_, T>, fd: u32, offset: u64, len: u64| {
            with_ctx(&mut c, |_, ctx| {
                let f = file_with(ctx, fd, rights::FD_ALLOCATE, errno::BADF)?;
                let end = offset.checked_add(len).ok_or(Errno(errno::FBIG))?;
                if f.metadata()?.len() < end {
                    f.set_len(end)?;
                }
                Ok(())
            })
        },
    )?;
    linker.func_wrap(MODULE, "fd_close", |mut c: Caller<'_, T>, fd: u32| {
        with_ctx(&mut c, |_, ctx| {
            ctx.fd(fd)?;
            ctx.fds.remove(&fd);
            Ok(())
        })
    })?;
    for name in ["fd_datasync", "fd_sync"] {
        linker.func_wrap(MODULE, name, |mut c: Caller<'_, T>, fd: u32| {
            with_ctx(&mut c, |_, ctx| {
                let f = ctx.fd(fd)?;
                match &f.kind {
                    FdKind::File(file) => Ok(file.sync_all()?),
                    FdKind::Dir(_) => Ok(()),
                    // Not a file: nothing of the host's to sync (wasmtime's answer).
                    _ => Err(Errno(errno::BADF)),
                }
            })
        })?;
    }
    linker.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: Caller<'_, T>, fd: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = ctx.fd(fd)?;
                // What the descriptor really is: an opened path may be a
                // device, a FIFO or a socket as well as a regular file.
                let filetype = match &f.kind {
                    FdKind::Dir(_) => FILETYPE_DIRECTORY,
                    FdKind::File(_) => {
                        use std::os::unix::fs::MetadataExt;
                        filetype_of_mode(std_file(&f.kind)?.metadata()?.mode())
                    }
                    k => stdio_filetype(k).unwrap_or(FILETYPE_UNKNOWN),
                };
                let flags = f.fdflags | if f.append { FDFLAGS_APPEND } else { 0 };
                mem.slice_mut(out, 24)?.fill(0);
                mem.write_u8(out, filetype)?;
                mem.write_u16(out + 2, flags)?;
                mem.write_u64(out + 8, f.rights_base)?;
                mem.write_u64(out + 16, f.rights_inheriting)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_set_flags",
        |mut c: Caller<'_, T>, fd: u32, flags: u32| {
            with_ctx(&mut c, |_, ctx| {
                let f = ctx.fd(fd)?;
                if flags & !0x1f != 0 {
                    return Err(Errno(errno::INVAL));
                }
                f.append = flags as u16 & FDFLAGS_APPEND != 0;
                f.fdflags = flags as u16 & !FDFLAGS_APPEND;
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_set_rights",
        |mut c: Caller<'_, T>, fd: u32, base: u64, inheriting: u64| {
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
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_get",
        |mut c: Caller<'_, T>, fd: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = ctx.fd(fd)?;
                // A standard stream: its type and nothing else (wasmtime's
                // answer), not the host's stdio's device, inode and times.
                if let Some(filetype) = stdio_filetype(&f.kind) {
                    return Filestat {
                        dev: 0,
                        ino: 0,
                        filetype,
                        nlink: 0,
                        size: 0,
                        atim: 0,
                        mtim: 0,
                        ctim: 0,
                    }
                    .write(mem, out);
                }
                let meta = std_file(&f.kind)?.metadata()?;
                filestat_std(&meta).write(mem, out)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_set_size",
        |mut c: Caller<'_, T>, fd: u32, size: u64| {
            with_ctx(&mut c, |_, ctx| {
                Ok(file_with(ctx, fd, rights::FD_FILESTAT_SET_SIZE, errno::BADF)?.set_len(size)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_set_times",
        |mut c: Caller<'_, T>, fd: u32, atim: u64, mtim: u64, flags: u32| {
            with_ctx(&mut c, |_, ctx| {
                let f = ctx.fd(fd)?;
                let (a, m) = times(atim, mtim, flags as u16)?;
                let mut t = std::fs::FileTimes::new();
                if let Some(a) = a {
                    t = t.set_accessed(a);
                }
                if let Some(m) = m {
                    t = t.set_modified(m);
                }
                Ok(std_file(&f.kind)?.set_times(t)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_pread",
        |mut c: Caller<'_, T>, fd: u32, iovs: u32, n: u32, offset: u64, nread: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let on_stdio = match ctx.fd(fd)?.kind {
                    FdKind::Stdin(_) => errno::SPIPE,
                    _ => errno::BADF,
                };
                let f = file_with(ctx, fd, rights::FD_READ | rights::FD_SEEK, on_stdio)?;
                let mut total = 0u64;
                for (ptr, len) in mem.iovecs(iovs, n)? {
                    let buf = mem.slice_mut(ptr, len)?;
                    let got = f.read_at(buf, offset + total)?;
                    total += got as u64;
                    if got < len as usize {
                        break;
                    }
                }
                mem.write_u32(nread, total as u32)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_pwrite",
        |mut c: Caller<'_, T>, fd: u32, iovs: u32, n: u32, offset: u64, nwritten: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let on_stdio = match ctx.fd(fd)?.kind {
                    FdKind::Stdout(_) | FdKind::Stderr(_) => errno::SPIPE,
                    _ => errno::BADF,
                };
                let f = file_with(ctx, fd, rights::FD_WRITE | rights::FD_SEEK, on_stdio)?;
                let mut total = 0u64;
                for (ptr, len) in mem.iovecs(iovs, n)? {
                    let data = mem.slice(ptr, len)?;
                    f.write_all_at(data, offset + total)?;
                    total += len as u64;
                }
                mem.write_u32(nwritten, total as u32)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_get",
        |mut c: Caller<'_, T>, fd: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let name = ctx.fd(fd)?.preopen.clone().ok_or(Errno(errno::BADF))?;
                mem.write_u32(out, 0)?;
                mem.write_u32(out + 4, name.len() as u32)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |mut c: Caller<'_, T>, fd: u32, path: u32, len: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let name = ctx.fd(fd)?.preopen.clone().ok_or(Errno(errno::BADF))?;
                if (len as usize) < name.len() {
                    return Err(Errno(errno::NAMETOOLONG));
                }
                mem.slice_mut(path, name.len() as u32)?
                    .copy_from_slice(name.as_bytes());
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |mut c: Caller<'_, T>, fd: u32, iovs: u32, n: u32, nread: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = ctx.fd_with(fd, rights::FD_READ)?;
                let mut total = 0u32;
                for (ptr, len) in mem.iovecs(iovs, n)? {
                    let buf = mem.slice_mut(ptr, len)?;
                    let got = read_into(&mut f.kind, buf)?;
                    total += got as u32;
                    if got < len as usize {
                        break;
                    }
                }
                mem.write_u32(nread, total)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Caller<'_, T>, fd: u32, iovs: u32, n: u32, nwritten: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = ctx.fd_with(fd, rights::FD_WRITE)?;
                let mut total = 0u32;
                for (ptr, len) in mem.iovecs(iovs, n)? {
                    let data = mem.slice(ptr, len)?;
                    let put = write_from(&mut f.kind, f.append, data)?;
                    total += put as u32;
                    if put < len as usize {
                        break;
                    }
                }
                mem.write_u32(nwritten, total)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_readdir",
        |mut c: Caller<'_, T>, fd: u32, buf: u32, len: u32, cookie: u64, used: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = ctx.fd_with(fd, rights::FD_READDIR)?;
                let FdKind::Dir(dir) = &f.kind else {
                    return Err(Errno(errno::NOTDIR));
                };
                // Real inodes for `.` and `..` (never 0: a recent wasi-libc
                // would `fstatat` a 0 itself). `..` is the parent's when that
                // is beneath the preopen; at the preopen's root it is the
                // root itself, as `..` of `/` is `/`.
                let (_, ino) = super::paths::id_of(dir.as_fd())?;
                let parent_ino = f
                    .root
                    .as_deref()
                    .and_then(|root| super::paths::parent_beneath(dir.as_fd(), root).ok()?)
                    .and_then(|p| super::paths::id_of(p.as_fd()).ok())
                    .map_or(ino, |(_, i)| i);
                let mut entries: Vec<(String, u64, u8)> = vec![
                    (".".into(), ino, FILETYPE_DIRECTORY),
                    ("..".into(), parent_ino, FILETYPE_DIRECTORY),
                ];
                for e in dir.entries()? {
                    let e = e?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    let t = filetype_of(&e.file_type()?);
                    entries.push((name, std::os::unix::fs::DirEntryExt::ino(&e), t));
                }
                entries[2..].sort();
                // Serialise from `cookie` on; the last entry may be cut short.
                let mut out = Vec::new();
                for (i, (name, ino, t)) in entries.iter().enumerate().skip(cookie as usize) {
                    out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
                    out.extend_from_slice(&ino.to_le_bytes());
                    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
                    out.push(*t);
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
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_renumber",
        |mut c: Caller<'_, T>, from: u32, to: u32| {
            with_ctx(&mut c, |_, ctx| {
                ctx.fd(from)?;
                ctx.fd(to)?;
                let f = ctx.fds.remove(&from).ok_or(Errno(errno::BADF))?;
                ctx.fds.insert(to, f);
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_seek",
        |mut c: Caller<'_, T>, fd: u32, offset: i64, whence: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let needed = if whence == 1 && offset == 0 {
                    rights::FD_TELL
                } else {
                    rights::FD_SEEK
                };
                let f = file_with(ctx, fd, needed, errno::SPIPE)?;
                let pos = match whence {
                    0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno(errno::INVAL))?),
                    1 => SeekFrom::Current(offset),
                    2 => SeekFrom::End(offset),
                    _ => return Err(Errno(errno::INVAL)),
                };
                let n = f.seek(pos)?;
                mem.write_u64(out, n)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_tell",
        |mut c: Caller<'_, T>, fd: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let f = file_with(ctx, fd, rights::FD_TELL, errno::SPIPE)?;
                let n = f.stream_position()?;
                mem.write_u64(out, n)
            })
        },
    )?;
    Ok(())
}

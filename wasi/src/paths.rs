//! Operations on paths, always relative to a directory descriptor and
//! resolved by `cap-std` beneath it: `..`, absolute paths and symlinks cannot
//! leave the directory. One exception, for metadata only: the `..` entry of
//! `fd_readdir` and leading `..` components in `path_filestat_get` climb
//! from a directory up to (never past) the preopen it was reached through,
//! checked by walking up with the OS until the preopen's identity is met
//! (`parent_beneath`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, SystemTimeSpec};
use cap_std::fs::{Dir, MetadataExt, OpenOptions};

use super::fds::{Filestat, filestat_std, filetype_of, times};
use super::{
    Errno, Fd, FdKind, MODULE, Root, WasiCtx, WasiResult, WasiView, errno, rights, with_ctx,
};
use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::Result;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const O_CREAT: u16 = 1;
const O_DIRECTORY: u16 = 2;
const O_EXCL: u16 = 4;
const O_TRUNC: u16 = 8;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const FDFLAGS_APPEND: u16 = 1;

fn dir(ctx: &mut WasiCtx, fd: u32) -> WasiResult<&Dir> {
    dir_with(ctx, fd, 0)
}

/// The directory behind `fd`, which must have the `needed` rights.
fn dir_with(ctx: &mut WasiCtx, fd: u32, needed: u64) -> WasiResult<&Dir> {
    match &ctx.fd_with(fd, needed)?.kind {
        FdKind::Dir(d) => Ok(d),
        _ => Err(Errno(errno::NOTDIR)),
    }
}

/// A guest path: UTF-8, no NUL; absolute paths are never beneath a directory.
fn guest_path(mem: &super::GuestMem<'_>, ptr: u32, len: u32) -> WasiResult<String> {
    let p = mem.str(ptr, len)?;
    if p.contains('\0') {
        return Err(Errno(errno::INVAL));
    }
    if p.starts_with('/') {
        return Err(Errno(errno::PERM));
    }
    Ok(p.to_string())
}

fn stat_of(m: &cap_std::fs::Metadata) -> Filestat {
    let filetype = filetype_of(&m.file_type());
    let t = |r: std::io::Result<cap_std::time::SystemTime>| {
        r.ok()
            .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    };
    let mtim = t(m.modified());
    Filestat {
        dev: m.dev(),
        ino: m.ino(),
        filetype,
        nlink: m.nlink(),
        size: m.len(),
        atim: t(m.accessed()),
        mtim,
        ctim: t(m.created()).max(mtim),
    }
}

/// A directory's identity: (device, inode).
pub(crate) fn id_of(fd: BorrowedFd<'_>) -> std::io::Result<(u64, u64)> {
    let m = std::fs::File::from(fd.try_clone_to_owned()?).metadata()?;
    Ok((
        std::os::unix::fs::MetadataExt::dev(&m),
        std::os::unix::fs::MetadataExt::ino(&m),
    ))
}

/// `openat(fd, "..")` by the OS, not beneath anything: only for walking up,
/// and only handed on once `parent_beneath` has checked where it is.
fn up(fd: BorrowedFd<'_>) -> std::io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    const SEARCH: libc::c_int = libc::O_PATH;
    #[cfg(not(target_os = "linux"))]
    const SEARCH: libc::c_int = libc::O_RDONLY;
    // SAFETY: a valid descriptor and a NUL-terminated path; the result is
    // a new descriptor we own, or -1.
    let raw = unsafe {
        libc::openat(
            fd.as_raw_fd(),
            c"..".as_ptr(),
            SEARCH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// How far up `parent_beneath` walks looking for the preopen before it gives up.
const MAX_DEPTH: usize = 1 << 16;

/// The parent of directory `dir` when `dir` is strictly beneath `root`:
/// walking up from it by `..` meets `root` (same device and inode) before the
/// filesystem's root. `None` when `dir` is `root` itself, or is no longer
/// beneath it (moved away by the host), so `..` would leave the sandbox.
pub(crate) fn parent_beneath(dir: BorrowedFd<'_>, root: &Root) -> std::io::Result<Option<OwnedFd>> {
    if id_of(dir)? == root.id {
        return Ok(None);
    }
    let parent = up(dir)?;
    let mut id = id_of(parent.as_fd())?;
    let mut cur: Option<OwnedFd> = None;
    for _ in 0..MAX_DEPTH {
        if id == root.id {
            return Ok(Some(parent));
        }
        let next = up(cur.as_ref().unwrap_or(&parent).as_fd())?;
        let next_id = id_of(next.as_fd())?;
        if next_id == id {
            // The filesystem's root: `root` was not met.
            return Ok(None);
        }
        (cur, id) = (Some(next), next_id);
    }
    Ok(None)
}

/// Splits the leading `..` components off a path (`.` and empty components
/// among them are skipped): (how many, the rest).
fn leading_dotdots(path: &str) -> (usize, &str) {
    let mut ups = 0;
    let mut rest = path;
    loop {
        let p = rest.trim_start_matches('/');
        let (seg, after) = p.split_once('/').unwrap_or((p, ""));
        match seg {
            ".." => ups += 1,
            "." => {}
            _ => return (ups, p),
        }
        rest = after;
    }
}

/// `path_filestat_get` of a path starting with `..` from a directory
/// beneath a preopen: climbs that many levels, never past the preopen, then
/// resolves the rest beneath the directory reached. `None` when the path
/// has no leading `..` or would climb past the preopen (then the ordinary
/// resolution refuses it).
fn stat_above(
    d: &Dir,
    root: Option<&Root>,
    path: &str,
    follow: bool,
) -> WasiResult<Option<Filestat>> {
    let (ups, rest) = leading_dotdots(path);
    let Some(root) = root.filter(|_| ups > 0) else {
        return Ok(None);
    };
    let mut cur = d.as_fd().try_clone_to_owned()?;
    for _ in 0..ups {
        match parent_beneath(cur.as_fd(), root)? {
            Some(p) => cur = p,
            None => return Ok(None),
        }
    }
    if rest.is_empty() {
        let m = std::fs::File::from(cur).metadata()?;
        return Ok(Some(filestat_std(&m)));
    }
    let above = Dir::from_std_file(std::fs::File::from(cur));
    let m = if follow {
        above.metadata(rest)?
    } else {
        above.symlink_metadata(rest)?
    };
    Ok(Some(stat_of(&m)))
}

fn spec(t: Option<std::time::SystemTime>) -> Option<SystemTimeSpec> {
    t.map(|t| SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t)))
}

#[allow(clippy::too_many_arguments)]
fn open(
    ctx: &mut WasiCtx,
    fd: u32,
    lookup: u32,
    path: &str,
    oflags: u16,
    base: u64,
    inheriting: u64,
    fdflags: u16,
) -> WasiResult<u32> {
    let mut needed = rights::PATH_OPEN;
    if oflags & O_CREAT != 0 {
        needed |= rights::PATH_CREATE_FILE;
    }
    if oflags & O_TRUNC != 0 {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let parent_inh = ctx.fd(fd)?.rights_inheriting;
    let d = dir_with(ctx, fd, needed)?;
    let follow = if lookup & LOOKUP_SYMLINK_FOLLOW != 0 {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    };
    let wants_dir = oflags & O_DIRECTORY != 0;
    let is_dir = oflags & (O_CREAT | O_EXCL) != (O_CREAT | O_EXCL)
        && match follow {
            FollowSymlinks::Yes => d.metadata(path),
            FollowSymlinks::No => d.symlink_metadata(path),
        }
        .map(|m| m.is_dir())
        .unwrap_or(false);
    let kind = if wants_dir || is_dir {
        if oflags & O_TRUNC != 0 {
            return Err(Errno(if is_dir { errno::ISDIR } else { errno::INVAL }));
        }
        if wants_dir && oflags & O_CREAT != 0 {
            return Err(Errno(errno::INVAL));
        }
        // A directory cannot be opened for writing.
        let write = rights::FD_WRITE
            | rights::FD_DATASYNC
            | rights::FD_ALLOCATE
            | rights::FD_FILESTAT_SET_SIZE;
        if base & write != 0 {
            return Err(Errno(errno::ISDIR));
        }
        let sub = match follow {
            FollowSymlinks::Yes => d.open_dir(path)?,
            FollowSymlinks::No => d.open_dir_nofollow(path)?,
        };
        FdKind::Dir(sub)
    } else {
        let mut opts = OpenOptions::new();
        opts.read(base & RIGHT_FD_READ != 0 || base & RIGHT_FD_WRITE == 0);
        opts.write(base & RIGHT_FD_WRITE != 0 || oflags & O_TRUNC != 0);
        if oflags & O_CREAT != 0 {
            opts.write(true);
            if oflags & O_EXCL != 0 {
                opts.create_new(true);
            } else {
                opts.create(true);
            }
        }
        if oflags & O_TRUNC != 0 {
            opts.truncate(true);
        }
        opts.follow(follow);
        let file = d.open_with(path, &opts).map_err(|e| {
            // Opening a directory for writing.
            if e.raw_os_error() == Some(libc::EISDIR) {
                Errno(errno::ISDIR)
            } else {
                Errno::from(e)
            }
        })?;
        FdKind::File(file)
    };
    let (kind_rights, root) = if matches!(kind, FdKind::Dir(_)) {
        (rights::DIR, ctx.fd(fd)?.root.clone())
    } else {
        (rights::FILE, None)
    };
    ctx.insert(Fd {
        kind,
        preopen: None,
        root,
        append: fdflags & FDFLAGS_APPEND != 0,
        fdflags: fdflags & !FDFLAGS_APPEND,
        rights_base: base & parent_inh & kind_rights,
        rights_inheriting: inheriting & parent_inh,
    })
}

pub(super) fn add<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "path_create_directory",
        |mut c: Caller<'_, T>, fd: u32, p: u32, l: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                Ok(dir(ctx, fd)?.create_dir(path)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_remove_directory",
        |mut c: Caller<'_, T>, fd: u32, p: u32, l: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                Ok(dir(ctx, fd)?.remove_dir(path)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_unlink_file",
        |mut c: Caller<'_, T>, fd: u32, p: u32, l: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                let d = dir(ctx, fd)?;
                if path.ends_with('/') {
                    return Err(Errno(
                        if d.symlink_metadata(path.trim_end_matches('/'))?.is_dir() {
                            errno::ISDIR
                        } else {
                            errno::NOTDIR
                        },
                    ));
                }
                Ok(d.remove_file(path)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_get",
        |mut c: Caller<'_, T>, fd: u32, flags: u32, p: u32, l: u32, out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                let root = ctx.fd(fd)?.root.clone();
                let d = dir(ctx, fd)?;
                let follow = flags & LOOKUP_SYMLINK_FOLLOW != 0;
                if let Some(st) = stat_above(d, root.as_deref(), &path, follow)? {
                    return st.write(mem, out);
                }
                let m = if follow {
                    d.metadata(path)?
                } else {
                    d.symlink_metadata(path)?
                };
                stat_of(&m).write(mem, out)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_set_times",
        |mut c: Caller<'_, T>,
         fd: u32,
         flags: u32,
         p: u32,
         l: u32,
         atim: u64,
         mtim: u64,
         fst: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                let (a, m) = times(atim, mtim, fst as u16)?;
                let d = dir(ctx, fd)?;
                if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
                    d.set_times(path, spec(a), spec(m))?;
                } else {
                    d.set_symlink_times(path, spec(a), spec(m))?;
                }
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_link",
        |mut c: Caller<'_, T>,
         old_fd: u32,
         flags: u32,
         op: u32,
         ol: u32,
         new_fd: u32,
         np: u32,
         nl: u32| {
            with_ctx(&mut c, |mem, ctx| {
                // Hard links to a symlink's target are not portable; refuse.
                if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
                    return Err(Errno(errno::INVAL));
                }
                let (old, new) = (guest_path(mem, op, ol)?, guest_path(mem, np, nl)?);
                let target = dir(ctx, new_fd)?.try_clone()?;
                Ok(dir(ctx, old_fd)?.hard_link(old, &target, new)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_open",
        |mut c: Caller<'_, T>,
         fd: u32,
         lookup: u32,
         p: u32,
         l: u32,
         oflags: u32,
         base: u64,
         inheriting: u64,
         fdflags: u32,
         out: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                let new = open(
                    ctx,
                    fd,
                    lookup,
                    &path,
                    oflags as u16,
                    base,
                    inheriting,
                    fdflags as u16,
                )?;
                mem.write_u32(out, new)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_readlink",
        |mut c: Caller<'_, T>, fd: u32, p: u32, l: u32, buf: u32, len: u32, used: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let path = guest_path(mem, p, l)?;
                let target = dir(ctx, fd)?.read_link_contents(path)?;
                let bytes = target.to_string_lossy().into_owned().into_bytes();
                let n = bytes.len().min(len as usize);
                mem.slice_mut(buf, n as u32)?.copy_from_slice(&bytes[..n]);
                mem.write_u32(used, n as u32)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_rename",
        |mut c: Caller<'_, T>, fd: u32, op: u32, ol: u32, new_fd: u32, np: u32, nl: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let (old, new) = (guest_path(mem, op, ol)?, guest_path(mem, np, nl)?);
                let target = dir(ctx, new_fd)?.try_clone()?;
                Ok(dir(ctx, fd)?.rename(old, &target, new)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_symlink",
        |mut c: Caller<'_, T>, op: u32, ol: u32, fd: u32, np: u32, nl: u32| {
            with_ctx(&mut c, |mem, ctx| {
                let old = mem.str(op, ol)?.to_string();
                let new = guest_path(mem, np, nl)?;
                if old.starts_with('/') {
                    return Err(Errno(errno::PERM));
                }
                Ok(dir(ctx, fd)?.symlink_contents(old, new)?)
            })
        },
    )?;
    Ok(())
}

//! Operations on paths, always relative to a directory descriptor and
//! resolved by `cap-std` beneath it: `..`, absolute paths and symlinks cannot
//! leave the directory. One exception, for metadata only: the `..` entry of
//! a directory listing and leading `..` components in [`filestat`] climb
//! from a directory up to (never past) the preopen it was reached through,
//! checked by walking up with the OS until the preopen's identity is met
//! ([`parent_beneath`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::SystemTime;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, SystemTimeSpec};
use cap_std::fs::{Dir, MetadataExt};

use super::ctx::{FdKind, Root, WasiCtx};
use super::fs::{Filestat, filestat_std, filetype_of};
use super::{ErrorCode, Result};

/// Checks a path the guest gave: no NUL; not absolute (an absolute path is
/// never beneath a directory).
pub(crate) fn check(path: &str) -> Result<()> {
    if path.contains('\0') {
        return Err(ErrorCode::Invalid);
    }
    if path.starts_with('/') {
        return Err(ErrorCode::NotPermitted);
    }
    Ok(())
}

/// The directory behind `fd` (`NotDirectory` for any other descriptor).
pub(crate) fn dir(ctx: &mut WasiCtx, fd: u32) -> Result<&Dir> {
    match &ctx.fd(fd)?.kind {
        FdKind::Dir(d) => Ok(d),
        _ => Err(ErrorCode::NotDirectory),
    }
}

fn stat_of(m: &cap_std::fs::Metadata) -> Filestat {
    let t = |r: std::io::Result<cap_std::time::SystemTime>| {
        r.ok()
            .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    };
    let mtim = t(m.modified());
    Filestat {
        dev: m.dev(),
        ino: m.ino(),
        filetype: filetype_of(&m.file_type()),
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

/// The stat of a path starting with `..` from a directory beneath a
/// preopen: climbs that many levels, never past the preopen, then resolves
/// the rest beneath the directory reached. `None` when the path has no
/// leading `..` or would climb past the preopen (then the ordinary
/// resolution refuses it).
fn stat_above(d: &Dir, root: Option<&Root>, path: &str, follow: bool) -> Result<Option<Filestat>> {
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

fn spec(t: Option<SystemTime>) -> Option<SystemTimeSpec> {
    t.map(|t| SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t)))
}

/// Creates directory `path` beneath `fd`.
pub(crate) fn create_dir(ctx: &mut WasiCtx, fd: u32, path: &str) -> Result<()> {
    check(path)?;
    Ok(dir(ctx, fd)?.create_dir(path)?)
}

/// Removes the empty directory `path` beneath `fd`.
pub(crate) fn remove_dir(ctx: &mut WasiCtx, fd: u32, path: &str) -> Result<()> {
    check(path)?;
    Ok(dir(ctx, fd)?.remove_dir(path)?)
}

/// Removes the file (not directory) `path` beneath `fd`; a trailing `/`
/// names a directory, so it is `IsDirectory` or `NotDirectory`.
pub(crate) fn unlink_file(ctx: &mut WasiCtx, fd: u32, path: &str) -> Result<()> {
    check(path)?;
    let d = dir(ctx, fd)?;
    if path.ends_with('/') {
        return Err(
            if d.symlink_metadata(path.trim_end_matches('/'))?.is_dir() {
                ErrorCode::IsDirectory
            } else {
                ErrorCode::NotDirectory
            },
        );
    }
    Ok(d.remove_file(path)?)
}

/// The stat of `path` beneath `fd` (of a symlink's target if `follow`).
pub(crate) fn filestat(ctx: &mut WasiCtx, fd: u32, path: &str, follow: bool) -> Result<Filestat> {
    check(path)?;
    let root = ctx.fd(fd)?.root.clone();
    let d = dir(ctx, fd)?;
    if let Some(st) = stat_above(d, root.as_deref(), path, follow)? {
        return Ok(st);
    }
    let m = if follow {
        d.metadata(path)?
    } else {
        d.symlink_metadata(path)?
    };
    Ok(stat_of(&m))
}

/// Sets the times of `path` beneath `fd` (`None`: unchanged).
pub(crate) fn set_times(
    ctx: &mut WasiCtx,
    fd: u32,
    path: &str,
    follow: bool,
    atime: Option<SystemTime>,
    mtime: Option<SystemTime>,
) -> Result<()> {
    check(path)?;
    let d = dir(ctx, fd)?;
    if follow {
        d.set_times(path, spec(atime), spec(mtime))?;
    } else {
        d.set_symlink_times(path, spec(atime), spec(mtime))?;
    }
    Ok(())
}

/// Makes `new` beneath `new_fd` a hard link to `old` beneath `old_fd`.
pub(crate) fn link(
    ctx: &mut WasiCtx,
    old_fd: u32,
    old: &str,
    new_fd: u32,
    new: &str,
) -> Result<()> {
    check(old)?;
    check(new)?;
    let target = dir(ctx, new_fd)?.try_clone()?;
    Ok(dir(ctx, old_fd)?.hard_link(old, &target, new)?)
}

/// Renames `old` beneath `fd` to `new` beneath `new_fd`.
pub(crate) fn rename(ctx: &mut WasiCtx, fd: u32, old: &str, new_fd: u32, new: &str) -> Result<()> {
    check(old)?;
    check(new)?;
    let target = dir(ctx, new_fd)?.try_clone()?;
    Ok(dir(ctx, fd)?.rename(old, &target, new)?)
}

/// Makes `new` beneath `fd` a symlink holding `old` (which must not be
/// absolute: it could only point outside).
pub(crate) fn symlink(ctx: &mut WasiCtx, old: &str, fd: u32, new: &str) -> Result<()> {
    check(new)?;
    if old.starts_with('/') {
        return Err(ErrorCode::NotPermitted);
    }
    Ok(dir(ctx, fd)?.symlink_contents(old, new)?)
}

/// What the symlink `path` beneath `fd` holds.
pub(crate) fn readlink(ctx: &mut WasiCtx, fd: u32, path: &str) -> Result<String> {
    check(path)?;
    let target = dir(ctx, fd)?.read_link_contents(path)?;
    Ok(target.to_string_lossy().into_owned())
}

/// How [`open`] opens a path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenOptions {
    /// Follow a symlink in the last component.
    pub(crate) follow: bool,
    /// Create the file if it does not exist.
    pub(crate) create: bool,
    /// With `create`: fail if it exists.
    pub(crate) exclusive: bool,
    /// Truncate the file to 0 bytes.
    pub(crate) truncate: bool,
    /// It must be a directory.
    pub(crate) directory: bool,
    /// The descriptor will be read.
    pub(crate) read: bool,
    /// The descriptor will be written.
    pub(crate) write: bool,
    /// The descriptor may change the file (write, sync its data, allocate,
    /// set its size): a directory cannot be opened so.
    pub(crate) modify: bool,
}

/// Opens `path` beneath directory `fd`: a directory (with the preopen it
/// was reached through) or a file.
pub(crate) fn open(
    ctx: &mut WasiCtx,
    fd: u32,
    path: &str,
    o: OpenOptions,
) -> Result<(FdKind, Option<Arc<Root>>)> {
    check(path)?;
    let d = dir(ctx, fd)?;
    let follow = if o.follow {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    };
    let is_dir = !(o.create && o.exclusive)
        && match follow {
            FollowSymlinks::Yes => d.metadata(path),
            FollowSymlinks::No => d.symlink_metadata(path),
        }
        .map(|m| m.is_dir())
        .unwrap_or(false);
    let kind = if o.directory || is_dir {
        if o.truncate {
            return Err(if is_dir {
                ErrorCode::IsDirectory
            } else {
                ErrorCode::Invalid
            });
        }
        if o.directory && o.create {
            return Err(ErrorCode::Invalid);
        }
        // A directory cannot be opened for writing.
        if o.modify {
            return Err(ErrorCode::IsDirectory);
        }
        let sub = match follow {
            FollowSymlinks::Yes => d.open_dir(path)?,
            FollowSymlinks::No => d.open_dir_nofollow(path)?,
        };
        FdKind::Dir(sub)
    } else {
        let mut opts = cap_std::fs::OpenOptions::new();
        opts.read(o.read || !o.write);
        opts.write(o.write || o.truncate);
        if o.create {
            opts.write(true);
            if o.exclusive {
                opts.create_new(true);
            } else {
                opts.create(true);
            }
        }
        if o.truncate {
            opts.truncate(true);
        }
        opts.follow(follow);
        let file = d.open_with(path, &opts).map_err(|e| {
            // Opening a directory for writing.
            if e.raw_os_error() == Some(libc::EISDIR) {
                ErrorCode::IsDirectory
            } else {
                ErrorCode::from(e)
            }
        })?;
        FdKind::File(file)
    };
    let root = match kind {
        FdKind::Dir(_) => ctx.fd(fd)?.root.clone(),
        _ => None,
    };
    Ok((kind, root))
}

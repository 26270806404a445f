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
pub(crate) fn dir(ctx: &mut WasiCtx, fd: u32) -> Result<&Arc<Dir>> {
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

/// Creates directory `path` beneath `d`.
pub(crate) fn create_dir(d: &Dir, path: &str) -> Result<()> {
    check(path)?;
    Ok(d.create_dir(path)?)
}

/// Removes the empty directory `path` beneath `d`.
pub(crate) fn remove_dir(d: &Dir, path: &str) -> Result<()> {
    check(path)?;
    Ok(d.remove_dir(path)?)
}

/// Removes the file (not directory) `path` beneath `d`; a trailing `/`
/// names a directory, so it is `IsDirectory` or `NotDirectory`.
pub(crate) fn unlink_file(d: &Dir, path: &str) -> Result<()> {
    check(path)?;
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

/// The stat of `path` beneath `d` (of a symlink's target if `follow`);
/// leading `..` components may climb up to the preopen `root` that `d`
/// was reached through.
pub(crate) fn filestat(d: &Dir, root: Option<&Root>, path: &str, follow: bool) -> Result<Filestat> {
    check(path)?;
    if let Some(st) = stat_above(d, root, path, follow)? {
        return Ok(st);
    }
    let m = if follow {
        d.metadata(path)?
    } else {
        d.symlink_metadata(path)?
    };
    Ok(stat_of(&m))
}

/// Sets the times of `path` beneath `d` (`None`: unchanged).
pub(crate) fn set_times(
    d: &Dir,
    path: &str,
    follow: bool,
    atime: Option<SystemTime>,
    mtime: Option<SystemTime>,
) -> Result<()> {
    check(path)?;
    if follow {
        d.set_times(path, spec(atime), spec(mtime))?;
    } else {
        d.set_symlink_times(path, spec(atime), spec(mtime))?;
    }
    Ok(())
}

/// Makes `new` beneath `new_dir` a hard link to `old` beneath `old_dir`.
pub(crate) fn link(old_dir: &Dir, old: &str, new_dir: &Dir, new: &str) -> Result<()> {
    check(old)?;
    check(new)?;
    Ok(old_dir.hard_link(old, new_dir, new)?)
}

/// Renames `old` beneath `d` to `new` beneath `new_dir`.
pub(crate) fn rename(d: &Dir, old: &str, new_dir: &Dir, new: &str) -> Result<()> {
    check(old)?;
    check(new)?;
    Ok(d.rename(old, new_dir, new)?)
}

/// Makes `new` beneath `d` a symlink holding `old` (which must not be
/// absolute: it could only point outside).
pub(crate) fn symlink(old: &str, d: &Dir, new: &str) -> Result<()> {
    check(new)?;
    if old.starts_with('/') {
        return Err(ErrorCode::NotPermitted);
    }
    Ok(d.symlink_contents(old, new)?)
}

/// What the symlink `path` beneath `d` holds, as the host has it.
pub(crate) fn readlink(d: &Dir, path: &str) -> Result<std::path::PathBuf> {
    check(path)?;
    Ok(d.read_link_contents(path)?)
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

/// Opens `path` beneath directory `d`, reached through the preopen
/// `root`: a directory (with that same preopen) or a file.
pub(crate) fn open(
    d: &Dir,
    root: Option<&Arc<Root>>,
    path: &str,
    o: OpenOptions,
) -> Result<(FdKind, Option<Arc<Root>>)> {
    check(path)?;
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
        FdKind::Dir(Arc::new(sub))
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
        FdKind::File(Arc::new(file))
    };
    let root = match kind {
        FdKind::Dir(_) => root.cloned(),
        _ => None,
    };
    Ok((kind, root))
}

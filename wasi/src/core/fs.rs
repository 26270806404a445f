//! Operations on an open descriptor (a file, a directory or a standard
//! stream), given as its [`FdKind`]: preview 1 finds it by number in the
//! context's table, WASI 0.2 in a resource table entry.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::time::SystemTime;

use cap_std::fs::FileExt;

use super::ctx::{FdKind, Root, WasiCtx};
use super::{ErrorCode, Result, path};

/// What kind of object a descriptor or directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileType {
    /// Anything else: a standard stream that is not a terminal, say.
    Unknown,
    BlockDevice,
    CharacterDevice,
    Directory,
    RegularFile,
    SocketStream,
    SymbolicLink,
    /// A named pipe (preview 1 reports it as unknown).
    Fifo,
}

/// What `fstat` says about a file, in nanoseconds since the epoch for times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Filestat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) filetype: FileType,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
    pub(crate) ctim: u64,
}

impl Filestat {
    /// Only a type, every other field 0: what a standard stream reports.
    fn of_type(filetype: FileType) -> Filestat {
        Filestat {
            dev: 0,
            ino: 0,
            filetype,
            nlink: 0,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        }
    }
}

/// One entry of a directory listing.
pub(crate) struct DirEntry {
    /// As the host has it (WASI 0.2 refuses a name that is not UTF-8,
    /// preview 1 passes it on lossily).
    pub(crate) name: std::ffi::OsString,
    pub(crate) ino: u64,
    pub(crate) filetype: FileType,
}

fn ns(secs: i64, nsec: i64) -> u64 {
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

/// The type in a host `st_mode`.
pub(crate) fn filetype_of_mode(mode: u32) -> FileType {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => FileType::Directory,
        libc::S_IFREG => FileType::RegularFile,
        libc::S_IFLNK => FileType::SymbolicLink,
        libc::S_IFCHR => FileType::CharacterDevice,
        libc::S_IFBLK => FileType::BlockDevice,
        libc::S_IFSOCK => FileType::SocketStream,
        libc::S_IFIFO => FileType::Fifo,
        _ => FileType::Unknown,
    }
}

/// The type `cap-std` reports.
pub(crate) fn filetype_of(ft: &cap_std::fs::FileType) -> FileType {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::SymbolicLink
    } else if ft.is_file() {
        FileType::RegularFile
    } else if ft.is_char_device() {
        FileType::CharacterDevice
    } else if ft.is_block_device() {
        FileType::BlockDevice
    } else if ft.is_socket() {
        FileType::SocketStream
    } else if ft.is_fifo() {
        FileType::Fifo
    } else {
        FileType::Unknown
    }
}

/// A filestat from std's metadata.
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
/// sync, times). A standard stream has none (`BadDescriptor`): what the
/// host's own stdio is never reaches the guest beyond "a terminal or not",
/// and its times are not the guest's to set.
pub(crate) fn std_file(kind: &FdKind) -> Result<std::fs::File> {
    let owned = match kind {
        FdKind::File(f) => f.as_fd().try_clone_to_owned()?,
        FdKind::Dir(d) => d.as_fd().try_clone_to_owned()?,
        FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_) => {
            return Err(ErrorCode::BadDescriptor);
        }
    };
    Ok(std::fs::File::from(owned))
}

/// The type a standard stream reports, as wasmtime does: a character
/// device when it is a terminal, else unknown (a pipe, a regular file,
/// `/dev/null`, a socket: preview 1 has no code for a pipe, and a stream is
/// not seekable whatever the host descriptor is). `None` for other
/// descriptors.
pub(crate) fn stdio_filetype(kind: &FdKind) -> Option<FileType> {
    let (stream, host_fd) = match kind {
        FdKind::Stdin(s) => (s, 0),
        FdKind::Stdout(s) => (s, 1),
        FdKind::Stderr(s) => (s, 2),
        FdKind::File(_) | FdKind::Dir(_) => return None,
    };
    Some(if stream.is_terminal(host_fd) {
        FileType::CharacterDevice
    } else {
        FileType::Unknown
    })
}

/// The file behind a descriptor: `IsDirectory` for a directory,
/// `InvalidSeek` for a standard stream.
pub(crate) fn file(kind: &FdKind) -> Result<&cap_std::fs::File> {
    match kind {
        FdKind::File(f) => Ok(f),
        FdKind::Dir(_) => Err(ErrorCode::IsDirectory),
        _ => Err(ErrorCode::InvalidSeek),
    }
}

/// What a descriptor really is: an opened path may be a device, a FIFO
/// or a socket as well as a regular file.
pub(crate) fn filetype(kind: &FdKind) -> Result<FileType> {
    Ok(match kind {
        FdKind::Dir(_) => FileType::Directory,
        FdKind::File(_) => {
            use std::os::unix::fs::MetadataExt;
            filetype_of_mode(std_file(kind)?.metadata()?.mode())
        }
        k => stdio_filetype(k).unwrap_or(FileType::Unknown),
    })
}

/// `fstat` of a descriptor. A standard stream: its type and nothing else
/// (wasmtime's answer), not the host's stdio's device, inode and times.
pub(crate) fn filestat(kind: &FdKind) -> Result<Filestat> {
    if let Some(filetype) = stdio_filetype(kind) {
        return Ok(Filestat::of_type(filetype));
    }
    Ok(filestat_std(&std_file(kind)?.metadata()?))
}

/// Sets the access and modification times of a file or directory
/// (`None`: unchanged).
pub(crate) fn set_times(
    kind: &FdKind,
    atime: Option<SystemTime>,
    mtime: Option<SystemTime>,
) -> Result<()> {
    let mut t = std::fs::FileTimes::new();
    if let Some(a) = atime {
        t = t.set_accessed(a);
    }
    if let Some(m) = mtime {
        t = t.set_modified(m);
    }
    Ok(std_file(kind)?.set_times(t)?)
}

/// Truncates or extends a file to `size` bytes.
pub(crate) fn set_size(kind: &FdKind, size: u64) -> Result<()> {
    Ok(file(kind)?.set_len(size)?)
}

/// Makes a file at least `offset + len` bytes long.
pub(crate) fn allocate(kind: &FdKind, offset: u64, len: u64) -> Result<()> {
    let f = file(kind)?;
    let end = offset.checked_add(len).ok_or(ErrorCode::FileTooLarge)?;
    if f.metadata()?.len() < end {
        f.set_len(end)?;
    }
    Ok(())
}

/// Advice about how a descriptor will be used: accepted for files and
/// ignored.
pub(crate) fn advise(kind: &FdKind) -> Result<()> {
    match kind {
        FdKind::File(_) => Ok(()),
        _ => Err(ErrorCode::BadDescriptor),
    }
}

/// Writes a file's data and metadata to disk; nothing to do for a
/// directory, and not a file for a standard stream (`BadDescriptor`,
/// wasmtime's answer).
pub(crate) fn sync(kind: &FdKind) -> Result<()> {
    match kind {
        FdKind::File(file) => Ok(file.sync_all()?),
        FdKind::Dir(_) => Ok(()),
        _ => Err(ErrorCode::BadDescriptor),
    }
}

/// Writes a file's data (not necessarily its metadata) to disk; as
/// [`sync`] otherwise.
pub(crate) fn sync_data(kind: &FdKind) -> Result<()> {
    match kind {
        FdKind::File(file) => Ok(file.sync_data()?),
        FdKind::Dir(_) => Ok(()),
        _ => Err(ErrorCode::BadDescriptor),
    }
}

/// Reads from a descriptor at its position into `buf`.
pub(crate) fn read(kind: &mut FdKind, buf: &mut [u8]) -> Result<usize> {
    match kind {
        FdKind::Stdin(s) => s.read(buf),
        FdKind::File(f) => Ok((&**f).read(buf)?),
        FdKind::Dir(_) => Err(ErrorCode::IsDirectory),
        FdKind::Stdout(_) | FdKind::Stderr(_) => Err(ErrorCode::BadDescriptor),
    }
}

/// Writes `data` to a descriptor at its position (at the end if
/// `append`).
pub(crate) fn write(kind: &mut FdKind, append: bool, data: &[u8]) -> Result<usize> {
    match kind {
        FdKind::Stdout(s) => s.write(data, false),
        FdKind::Stderr(s) => s.write(data, true),
        FdKind::File(f) => {
            let mut f = &**f;
            if append {
                f.seek(SeekFrom::End(0))?;
            }
            Ok(f.write(data)?)
        }
        FdKind::Dir(_) => Err(ErrorCode::IsDirectory),
        FdKind::Stdin(_) => Err(ErrorCode::BadDescriptor),
    }
}

/// Reads from a file at `offset` into `buf`, leaving its position.
pub(crate) fn pread(kind: &FdKind, buf: &mut [u8], offset: u64) -> Result<usize> {
    Ok(file(kind)?.read_at(buf, offset)?)
}

/// Writes all of `data` to a file at `offset`, leaving its position.
pub(crate) fn pwrite(kind: &FdKind, data: &[u8], offset: u64) -> Result<()> {
    Ok(file(kind)?.write_all_at(data, offset)?)
}

/// Moves a file's position; the new position.
pub(crate) fn seek(kind: &FdKind, pos: SeekFrom) -> Result<u64> {
    Ok((&mut file(kind)?).seek(pos)?)
}

/// A file's position.
pub(crate) fn tell(kind: &FdKind) -> Result<u64> {
    Ok((&mut file(kind)?).stream_position()?)
}

/// How many bytes a read of a file would find (its size past its
/// position); `None` for other descriptors.
pub(crate) fn bytes_left(kind: &FdKind) -> Option<u64> {
    let FdKind::File(file) = kind else {
        return None;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let pos = (&**file).stream_position().unwrap_or(0);
    Some(len.saturating_sub(pos))
}

/// The entries of a directory: `.` and `..` first, then the rest sorted
/// by name. `.` and `..` have real inodes (never 0: a recent wasi-libc
/// would `fstatat` a 0 itself); `..` is the parent's when that is beneath
/// the preopen `root`, and at the preopen's root the root itself, as `..`
/// of `/` is `/`.
pub(crate) fn read_dir(kind: &FdKind, root: Option<&Root>) -> Result<Vec<DirEntry>> {
    let FdKind::Dir(dir) = kind else {
        return Err(ErrorCode::NotDirectory);
    };
    let (_, ino) = path::id_of(dir.as_fd())?;
    let parent_ino = root
        .and_then(|root| path::parent_beneath(dir.as_fd(), root).ok()?)
        .and_then(|p| path::id_of(p.as_fd()).ok())
        .map_or(ino, |(_, i)| i);
    let entry = |name: &str, ino| DirEntry {
        name: name.into(),
        ino,
        filetype: FileType::Directory,
    };
    let mut entries = vec![entry(".", ino), entry("..", parent_ino)];
    entries.extend(entries_of(dir)?);
    Ok(entries)
}

/// The entries of directory `dir` without `.` and `..`, sorted by name
/// (then inode).
pub(crate) fn entries_of(dir: &cap_std::fs::Dir) -> Result<Vec<DirEntry>> {
    let mut rest = Vec::new();
    for e in dir.entries()? {
        let e = e?;
        rest.push(DirEntry {
            name: e.file_name(),
            ino: std::os::unix::fs::DirEntryExt::ino(&e),
            filetype: filetype_of(&e.file_type()?),
        });
    }
    rest.sort_by(|a, b| (&a.name, a.ino).cmp(&(&b.name, b.ino)));
    Ok(rest)
}

/// The name the guest sees a preopened directory by (`BadDescriptor` for
/// any other descriptor).
pub(crate) fn preopen_name(ctx: &mut WasiCtx, fd: u32) -> Result<String> {
    ctx.fd(fd)?.preopen.clone().ok_or(ErrorCode::BadDescriptor)
}

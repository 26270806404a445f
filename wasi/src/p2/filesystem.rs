//! `wasi:filesystem` (`types`, `preopens`): WASI 0.2's files and
//! directories, over the same core as preview 1 — the same sandbox beneath
//! each preopen (`core::path`: `..`, absolute paths and symlinks resolved
//! by `cap-std` beneath the directory, `..` of metadata climbing no higher
//! than the preopen), the same operations on open files (`core::fs`), the
//! same error names (`core::ErrorCode`, which are WASI 0.2's).
//!
//! A [`Descriptor`] is an entry of the context's
//! [`ResourceTable`](nyash_engine::component::ResourceTable), not of
//! preview 1's numbered descriptor table: it holds the core's open file or
//! directory, the preopen it was reached through (the boundary of `..`),
//! and the mode it was opened with. `get-directories` makes one per
//! preopen, sharing the preopen's directory with preview 1's descriptor of
//! it (one program uses one preview; the context serves either).
//!
//! The open mode is enforced as the host's `open` enforces it (and as
//! wasmtime does): a file opened without `write` refuses writes with
//! `bad-descriptor`, without `read` refuses reads so. `mutate-directory`
//! is recorded and reported by `get-flags`, not enforced: the preview-1
//! adapter never asks for it (so enforcing it would make every directory
//! an adapted program opens read-only), and wasmtime does not enforce it
//! either. What a guest may change is bounded by the preopen.
//!
//! Files are always ready: their streams ([`FileInputStream`],
//! [`FileOutputStream`]) read and write at once, at a position of their
//! own that advances; a read hands back at most [`MAX_READ`] bytes,
//! whatever the guest asks for.

use std::ffi::OsString;
use std::future::Future;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_std::fs::FileExt;
use nyash_engine::component::{Linker, Resource, ResourceTableError};
use nyash_engine::{Error, ErrorKind};

use super::io::{
    DynInputStream, DynOutputStream, InputStream, IoError, OutputStream, StreamError, StreamResult,
    Subscribe,
};
use super::wasi::clocks::wall_clock::Datetime;
use super::wasi::filesystem::{preopens, types};
use crate::WasiView;
use crate::core::ctx::{FdKind, Root, WasiCtx};
use crate::core::fs::{self, DirEntry, FileType, Filestat};
use crate::core::path::{self, OpenOptions};
use crate::core::{self as core, ErrorCode as Code};
use types::{
    DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, MetadataHashValue,
    NewTimestamp, OpenFlags, PathFlags,
};

/// The most bytes one `read`, or one read of a file's input stream, hands
/// back: a guest asking for more (up to 2^64) gets this much, and the host
/// allocates no more than this for it.
pub const MAX_READ: usize = 64 << 10;

/// How many bytes a file's output stream accepts per write (its
/// `check-write`): writes go to the file at once, so this only bounds how
/// much one call copies.
pub const WRITE_CAPACITY: usize = 1 << 20;

/// What a filesystem function returns: a trap (`Err`), or its WIT result.
type FsResult<T> = nyash_engine::Result<Result<T, ErrorCode>>;

/// The Rust type of `wasi:filesystem/types`' `descriptor` resource: an open
/// file or directory.
pub struct Descriptor {
    /// A file or a directory (never a standard stream).
    kind: FdKind,
    /// For a directory: the preopen it was reached through.
    root: Option<Arc<Root>>,
    /// What it was opened for: `read` and `write` as the host opened it,
    /// `mutate-directory` as asked (directories only).
    flags: DescriptorFlags,
}

impl Descriptor {
    /// The directory it is (`not-directory` for a file, as wasmtime).
    fn dir(&self) -> Result<&cap_std::fs::Dir, ErrorCode> {
        match &self.kind {
            FdKind::Dir(d) => Ok(d),
            _ => Err(ErrorCode::NotDirectory),
        }
    }

    /// The file it is (`bad-descriptor` for a directory, as wasmtime).
    fn file(&self) -> Result<&Arc<cap_std::fs::File>, ErrorCode> {
        match &self.kind {
            FdKind::File(f) => Ok(f),
            _ => Err(ErrorCode::BadDescriptor),
        }
    }

    /// The file, if it was opened with `flag` (`bad-descriptor` if not: what
    /// the host says of a read or write the open mode does not allow).
    fn file_for(&self, flag: DescriptorFlags) -> Result<&Arc<cap_std::fs::File>, ErrorCode> {
        let f = self.file()?;
        if self.flags.contains(flag) {
            Ok(f)
        } else {
            Err(ErrorCode::BadDescriptor)
        }
    }
}

/// The Rust type of `wasi:filesystem/types`' `directory-entry-stream`:
/// the entries of a directory as they were when `read-directory` listed
/// them, without `.` and `..`.
pub struct DirectoryEntryStream {
    entries: std::vec::IntoIter<DirEntry>,
}

/// WASI 0.2's name for a core error (they share names; the few host
/// errors WASI 0.2 has no name for are `io`, as in wasmtime).
fn code(e: Code) -> ErrorCode {
    use ErrorCode as E;
    match e {
        Code::Access => E::Access,
        Code::WouldBlock => E::WouldBlock,
        Code::BadDescriptor => E::BadDescriptor,
        Code::Busy => E::Busy,
        Code::Exist => E::Exist,
        Code::FileTooLarge => E::FileTooLarge,
        Code::IllegalByteSequence => E::IllegalByteSequence,
        Code::Interrupted => E::Interrupted,
        Code::Invalid => E::Invalid,
        Code::Io => E::Io,
        Code::IsDirectory => E::IsDirectory,
        Code::Loop => E::Loop,
        Code::TooManyLinks => E::TooManyLinks,
        Code::NameTooLong => E::NameTooLong,
        Code::NoEntry => E::NoEntry,
        Code::InsufficientMemory => E::InsufficientMemory,
        Code::InsufficientSpace => E::InsufficientSpace,
        Code::NotDirectory => E::NotDirectory,
        Code::NotEmpty => E::NotEmpty,
        Code::Unsupported | Code::NoSys => E::Unsupported,
        Code::NoTty => E::NoTty,
        Code::NoSuchDevice => E::NoSuchDevice,
        Code::Overflow => E::Overflow,
        Code::NotPermitted => E::NotPermitted,
        Code::Pipe => E::Pipe,
        Code::ReadOnly => E::ReadOnly,
        Code::InvalidSeek => E::InvalidSeek,
        Code::CrossDevice => E::CrossDevice,
        Code::TooBig | Code::Fault | Code::TooManyFiles | Code::NotSocket | Code::Range => E::Io,
    }
}

/// A core result as a WIT result (never a trap).
fn wit<T>(r: core::Result<T>) -> FsResult<T> {
    Ok(r.map_err(code))
}

/// A trap for a handle the table does not hold as `what`: the canonical
/// ABI checked the handle, so this is a host bug or an embedder's misuse.
fn table_error(what: &'static str) -> impl Fn(ResourceTableError) -> Error {
    move |e| Error::msg(format!("wasi:filesystem {what}: {e}"))
}

/// The descriptor-type of a core file type.
fn descriptor_type(t: FileType) -> DescriptorType {
    match t {
        FileType::Unknown => DescriptorType::Unknown,
        FileType::BlockDevice => DescriptorType::BlockDevice,
        FileType::CharacterDevice => DescriptorType::CharacterDevice,
        FileType::Directory => DescriptorType::Directory,
        FileType::RegularFile => DescriptorType::RegularFile,
        FileType::SocketStream => DescriptorType::Socket,
        FileType::SymbolicLink => DescriptorType::SymbolicLink,
        FileType::Fifo => DescriptorType::Fifo,
    }
}

/// A time in nanoseconds since the epoch as a `datetime`.
fn datetime(ns: u64) -> Option<Datetime> {
    Some(Datetime {
        seconds: ns / 1_000_000_000,
        nanoseconds: (ns % 1_000_000_000) as u32,
    })
}

fn stat(st: Filestat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st.filetype),
        link_count: st.nlink,
        size: st.size,
        data_access_timestamp: datetime(st.atim),
        data_modification_timestamp: datetime(st.mtim),
        status_change_timestamp: datetime(st.ctim),
    }
}

/// A 128-bit value that is the same for two stats of one object and
/// (almost surely) differs for two objects: a hash of (device, inode).
fn metadata_hash(st: &Filestat) -> MetadataHashValue {
    use std::hash::{Hash, Hasher};
    let half = |salt: u64| {
        // `DefaultHasher::new` has fixed keys: the same value every run.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, st.dev, st.ino).hash(&mut h);
        h.finish()
    };
    MetadataHashValue {
        lower: half(0),
        upper: half(1),
    }
}

/// A new timestamp as the core's "set to this, or leave" (`None`).
fn new_time(t: NewTimestamp) -> Result<Option<SystemTime>, ErrorCode> {
    Ok(match t {
        NewTimestamp::NoChange => None,
        NewTimestamp::Now => Some(SystemTime::now()),
        NewTimestamp::Timestamp(d) => {
            if d.nanoseconds >= 1_000_000_000 {
                return Err(ErrorCode::Invalid);
            }
            let since = Duration::new(d.seconds, d.nanoseconds);
            Some(UNIX_EPOCH.checked_add(since).ok_or(ErrorCode::Overflow)?)
        }
    })
}

/// A name or link target as the guest's UTF-8 string.
fn utf8(s: OsString) -> Result<String, ErrorCode> {
    s.into_string().map_err(|_| ErrorCode::IllegalByteSequence)
}

/// The (device, inode) of a descriptor.
fn identity(kind: &FdKind) -> core::Result<(u64, u64)> {
    let fd = match kind {
        FdKind::File(f) => f.as_fd(),
        FdKind::Dir(d) => d.as_fd(),
        _ => return Err(Code::BadDescriptor),
    };
    Ok(path::id_of(fd)?)
}

impl WasiCtx {
    fn descriptor(&self, fd: &Resource<Descriptor>) -> nyash_engine::Result<&Descriptor> {
        self.table.get(fd).map_err(table_error("descriptor"))
    }

    /// A descriptor that must be a directory, or the guest's error.
    fn dir_of(
        &self,
        fd: &Resource<Descriptor>,
    ) -> nyash_engine::Result<Result<&cap_std::fs::Dir, ErrorCode>> {
        Ok(self.descriptor(fd)?.dir())
    }

    /// Pushes a stream made from a descriptor.
    fn push_stream<S: Send + 'static>(&mut self, s: S) -> nyash_engine::Result<Resource<S>> {
        self.table.push(s).map_err(table_error("keeping a stream"))
    }
}

impl types::HostDescriptor for WasiCtx {
    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynInputStream>> {
        let d = self.descriptor(&fd)?;
        if let FdKind::Dir(_) = d.kind {
            return Ok(Err(ErrorCode::IsDirectory));
        }
        let file = match d.file_for(DescriptorFlags::READ) {
            Ok(f) => f.clone(),
            Err(e) => return Ok(Err(e)),
        };
        let s: DynInputStream = Box::new(FileInputStream::new(file, offset));
        Ok(Ok(self.push_stream(s)?))
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynOutputStream>> {
        let file = match self.descriptor(&fd)?.file_for(DescriptorFlags::WRITE) {
            Ok(f) => f.clone(),
            Err(e) => return Ok(Err(e)),
        };
        let s: DynOutputStream = Box::new(FileOutputStream::at(file, offset));
        Ok(Ok(self.push_stream(s)?))
    }

    fn append_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let file = match self.descriptor(&fd)?.file_for(DescriptorFlags::WRITE) {
            Ok(f) => f.clone(),
            Err(e) => return Ok(Err(e)),
        };
        let s: DynOutputStream = Box::new(FileOutputStream::append(file));
        Ok(Ok(self.push_stream(s)?))
    }

    fn advise(
        &mut self,
        fd: Resource<Descriptor>,
        _offset: u64,
        _length: u64,
        _advice: types::Advice,
    ) -> FsResult<()> {
        wit(fs::advise(&self.descriptor(&fd)?.kind))
    }

    fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        wit(fs::sync_data(&self.descriptor(&fd)?.kind))
    }

    fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        Ok(Ok(self.descriptor(&fd)?.flags))
    }

    fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorType> {
        wit(fs::filetype(&self.descriptor(&fd)?.kind).map(descriptor_type))
    }

    fn set_size(&mut self, fd: Resource<Descriptor>, size: u64) -> FsResult<()> {
        let d = self.descriptor(&fd)?;
        if let Err(e) = d.file() {
            return Ok(Err(e));
        }
        wit(fs::set_size(&d.kind, size))
    }

    fn set_times(
        &mut self,
        fd: Resource<Descriptor>,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        let d = self.descriptor(&fd)?;
        let (a, m) = match (new_time(atime), new_time(mtime)) {
            (Ok(a), Ok(m)) => (a, m),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        };
        wit(fs::set_times(&d.kind, a, m))
    }

    fn read(
        &mut self,
        fd: Resource<Descriptor>,
        length: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        let file = match self.descriptor(&fd)?.file_for(DescriptorFlags::READ) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let n = usize::try_from(length).unwrap_or(usize::MAX).min(MAX_READ);
        let mut buf = vec![0; n];
        match file.read_at(&mut buf, offset) {
            Ok(got) => {
                buf.truncate(got);
                // At the end when nothing more was there to read.
                Ok(Ok((buf, got == 0)))
            }
            Err(e) => Ok(Err(code(e.into()))),
        }
    }

    fn write(&mut self, fd: Resource<Descriptor>, buffer: Vec<u8>, offset: u64) -> FsResult<u64> {
        let file = match self.descriptor(&fd)?.file_for(DescriptorFlags::WRITE) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        match file.write_all_at(&buffer, offset) {
            Ok(()) => Ok(Ok(buffer.len() as u64)),
            Err(e) => Ok(Err(code(e.into()))),
        }
    }

    fn read_directory(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DirectoryEntryStream>> {
        let entries = match self.dir_of(&fd)? {
            Ok(d) => fs::entries_of(d),
            Err(e) => return Ok(Err(e)),
        };
        let entries = match entries {
            Ok(e) => e,
            Err(e) => return Ok(Err(code(e))),
        };
        let s = DirectoryEntryStream {
            entries: entries.into_iter(),
        };
        Ok(Ok(self.push_stream(s)?))
    }

    fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        wit(fs::sync(&self.descriptor(&fd)?.kind))
    }

    fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self
            .dir_of(&fd)?
            .and_then(|d| path::create_dir(d, &path).map_err(code)))
    }

    fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        wit(fs::filestat(&self.descriptor(&fd)?.kind).map(stat))
    }

    fn stat_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        let d = self.descriptor(&fd)?;
        let follow = flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(d.dir().and_then(|dir| {
            path::filestat(dir, d.root.as_deref(), &path, follow)
                .map(stat)
                .map_err(code)
        }))
    }

    fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        let follow = flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(self.dir_of(&fd)?.and_then(|d| {
            let (a, m) = (new_time(atime)?, new_time(mtime)?);
            path::set_times(d, &path, follow, a, m).map_err(code)
        }))
    }

    fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_flags: PathFlags,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let old = self.dir_of(&fd)?;
        let new = self.dir_of(&new_fd)?;
        Ok(old.and_then(|old| {
            let new = new?;
            // A hard link to what a symlink points at is not portable
            // (wasmtime refuses it the same way).
            if old_flags.contains(PathFlags::SYMLINK_FOLLOW) {
                return Err(ErrorCode::Invalid);
            }
            path::link(old, &old_path, new, &new_path).map_err(code)
        }))
    }

    fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let base = self.descriptor(&fd)?;
        let opened = base
            .dir()
            .and_then(|dir| open_at(dir, base, path_flags, &path, open_flags, flags));
        match opened {
            Ok(d) => Ok(Ok(self
                .table
                .push(d)
                .map_err(table_error("keeping a descriptor"))?)),
            Err(e) => Ok(Err(e)),
        }
    }

    fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        Ok(self
            .dir_of(&fd)?
            .and_then(|d| utf8(path::readlink(d, &path).map_err(code)?.into_os_string())))
    }

    fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self
            .dir_of(&fd)?
            .and_then(|d| path::remove_dir(d, &path).map_err(code)))
    }

    fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let old = self.dir_of(&fd)?;
        let new = self.dir_of(&new_fd)?;
        Ok(old.and_then(|old| path::rename(old, &old_path, new?, &new_path).map_err(code)))
    }

    fn symlink_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_path: String,
    ) -> FsResult<()> {
        Ok(self
            .dir_of(&fd)?
            .and_then(|d| path::symlink(&old_path, d, &new_path).map_err(code)))
    }

    fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self
            .dir_of(&fd)?
            .and_then(|d| path::unlink_file(d, &path).map_err(code)))
    }

    fn is_same_object(
        &mut self,
        fd: Resource<Descriptor>,
        other: Resource<Descriptor>,
    ) -> nyash_engine::Result<bool> {
        let a = identity(&self.descriptor(&fd)?.kind);
        let b = identity(&self.descriptor(&other)?.kind);
        Ok(matches!((a, b), (Ok(a), Ok(b)) if a == b))
    }

    fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<MetadataHashValue> {
        wit(fs::filestat(&self.descriptor(&fd)?.kind).map(|st| metadata_hash(&st)))
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        let d = self.descriptor(&fd)?;
        let follow = flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(d.dir().and_then(|dir| {
            path::filestat(dir, d.root.as_deref(), &path, follow)
                .map(|st| metadata_hash(&st))
                .map_err(code)
        }))
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> nyash_engine::Result<()> {
        self.table
            .delete(fd)
            .map(drop)
            .map_err(table_error("dropping a descriptor"))
    }
}

/// `open-at` beneath `dir` (the directory of `base`), with the rules of
/// the WIT and wasmtime's answers where the WIT leaves them open.
fn open_at(
    dir: &cap_std::fs::Dir,
    base: &Descriptor,
    path_flags: PathFlags,
    path: &str,
    open_flags: OpenFlags,
    flags: DescriptorFlags,
) -> Result<Descriptor, ErrorCode> {
    let create = open_flags.contains(OpenFlags::CREATE);
    let exclusive = open_flags.contains(OpenFlags::EXCLUSIVE);
    let truncate = open_flags.contains(OpenFlags::TRUNCATE);
    let directory = open_flags.contains(OpenFlags::DIRECTORY);
    // Synchronized I/O is not offered (as in wasmtime): refuse rather than
    // pretend.
    if flags.contains(DescriptorFlags::FILE_INTEGRITY_SYNC)
        || flags.contains(DescriptorFlags::DATA_INTEGRITY_SYNC)
        || flags.contains(DescriptorFlags::REQUESTED_WRITE_SYNC)
    {
        return Err(ErrorCode::Unsupported);
    }
    if directory && (create || exclusive || truncate) {
        return Err(ErrorCode::Invalid);
    }
    let read = flags.contains(DescriptorFlags::READ);
    let write = flags.contains(DescriptorFlags::WRITE);
    let opts = OpenOptions {
        follow: path_flags.contains(PathFlags::SYMLINK_FOLLOW),
        create,
        exclusive,
        truncate,
        directory,
        read,
        write,
        // Creating or truncating opens for writing, which a directory
        // refuses (`is-directory`, the host's answer).
        modify: write || create || truncate,
    };
    let (kind, root) = path::open(dir, base.root.as_ref(), path, opts).map_err(code)?;
    // The mode the core opened it with: readable unless only written,
    // writable when written, created or truncated.
    let mut mode = DescriptorFlags::empty();
    if read || !write {
        mode |= DescriptorFlags::READ;
    }
    if let FdKind::Dir(_) = kind {
        if flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            mode |= DescriptorFlags::MUTATE_DIRECTORY;
        }
    } else if write || create || truncate {
        mode |= DescriptorFlags::WRITE;
    }
    Ok(Descriptor {
        kind,
        root,
        flags: mode,
    })
}

impl types::HostDirectoryEntryStream for WasiCtx {
    fn read_directory_entry(
        &mut self,
        s: Resource<DirectoryEntryStream>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let s = self
            .table
            .get_mut(&s)
            .map_err(table_error("directory-entry-stream"))?;
        let Some(e) = s.entries.next() else {
            return Ok(Ok(None));
        };
        Ok(utf8(e.name).map(|name| {
            Some(DirectoryEntry {
                type_: descriptor_type(e.filetype),
                name,
            })
        }))
    }

    fn drop(&mut self, s: Resource<DirectoryEntryStream>) -> nyash_engine::Result<()> {
        self.table
            .delete(s)
            .map(drop)
            .map_err(table_error("dropping a directory-entry-stream"))
    }
}

impl types::Host for WasiCtx {
    fn filesystem_error_code(
        &mut self,
        err: Resource<IoError>,
    ) -> nyash_engine::Result<Option<ErrorCode>> {
        let e = self.table.get(&err).map_err(|e| {
            Error::msg(format!("wasi:filesystem filesystem-error-code: error: {e}"))
        })?;
        Ok(io_error_code(e))
    }
}

/// The filesystem error a stream's error stands for: the host I/O error
/// a file stream put there (`None` for any other error).
fn io_error_code(e: &IoError) -> Option<ErrorCode> {
    match e.kind() {
        ErrorKind::Io { error, .. } => Some(code(Code::of_io(error))),
        ErrorKind::Host(h) => h
            .downcast_ref::<std::io::Error>()
            .map(|error| code(Code::of_io(error))),
        _ => None,
    }
}

impl preopens::Host for WasiCtx {
    fn get_directories(&mut self) -> nyash_engine::Result<Vec<(Resource<Descriptor>, String)>> {
        let mut out = Vec::with_capacity(self.preopens.len());
        for i in 0..self.preopens.len() {
            let p = &self.preopens[i];
            let (name, d) = (
                p.name.clone(),
                Descriptor {
                    kind: FdKind::Dir(p.dir.clone()),
                    root: Some(p.root.clone()),
                    flags: DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
                },
            );
            let r = self
                .table
                .push(d)
                .map_err(table_error("keeping a preopen's descriptor"))?;
            out.push((r, name));
        }
        Ok(out)
    }
}

/// A file's `input-stream`: reads at its own position, which each read
/// advances; closed at the end of the file.
pub struct FileInputStream {
    file: Arc<cap_std::fs::File>,
    position: u64,
    closed: bool,
}

impl FileInputStream {
    /// A stream reading `file` from `position` on.
    pub(crate) fn new(file: Arc<cap_std::fs::File>, position: u64) -> Self {
        FileInputStream {
            file,
            position,
            closed: false,
        }
    }
}

/// A file is always ready.
fn ready_now<'a>() -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(std::future::ready(()))
}

impl Subscribe for FileInputStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        ready_now()
    }
}

impl InputStream for FileInputStream {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        let mut buf = vec![0; size.min(MAX_READ)];
        if buf.is_empty() {
            return Ok(buf);
        }
        loop {
            match self.file.read_at(&mut buf, self.position) {
                Ok(0) => {
                    self.closed = true;
                    return Err(StreamError::Closed);
                }
                Ok(n) => {
                    buf.truncate(n);
                    self.position += n as u64;
                    return Ok(buf);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.closed = true;
                    return Err(StreamError::LastOperationFailed(Error::io(None, e)));
                }
            }
        }
    }

    fn skip(&mut self, size: usize) -> StreamResult<usize> {
        Ok(self.read(size)?.len())
    }
}

/// Where a file's `output-stream` writes.
#[derive(Clone, Copy)]
enum WriteAt {
    /// At this position, which each write advances.
    Position(u64),
    /// At the end of the file, whatever it is then.
    End,
}

/// A file's `output-stream`: writes at its own position (or at the end),
/// at once; closed after a failed write.
pub struct FileOutputStream {
    file: Arc<cap_std::fs::File>,
    at: WriteAt,
    closed: bool,
}

impl FileOutputStream {
    /// A stream writing `file` from `position` on.
    pub(crate) fn at(file: Arc<cap_std::fs::File>, position: u64) -> Self {
        FileOutputStream {
            file,
            at: WriteAt::Position(position),
            closed: false,
        }
    }

    /// A stream appending to `file`.
    pub(crate) fn append(file: Arc<cap_std::fs::File>) -> Self {
        FileOutputStream {
            file,
            at: WriteAt::End,
            closed: false,
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let pos = match self.at {
            WriteAt::Position(p) => p,
            WriteAt::End => self.file.metadata()?.len(),
        };
        self.file.write_all_at(bytes, pos)?;
        if let WriteAt::Position(p) = &mut self.at {
            *p = pos + bytes.len() as u64;
        }
        Ok(())
    }
}

impl Subscribe for FileOutputStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        ready_now()
    }
}

impl OutputStream for FileOutputStream {
    fn check_write(&mut self) -> StreamResult<usize> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(WRITE_CAPACITY)
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        self.write_all(bytes).map_err(|e| {
            self.closed = true;
            StreamError::LastOperationFailed(Error::io(None, e))
        })
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Writes went to the file at once: nothing is held back.
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(())
    }

    fn write_zeroes(&mut self, n: usize) -> StreamResult<()> {
        // In bounded pieces: `n` is the guest's.
        let zeroes = vec![0; n.min(MAX_READ)];
        let mut left = n;
        while left > 0 {
            let k = left.min(zeroes.len());
            self.write(&zeroes[..k])?;
            left -= k;
        }
        Ok(())
    }
}

/// Defines `wasi:filesystem/types` and `wasi:filesystem/preopens` in
/// `linker`, over the [`WasiCtx`] of the store's data.
pub fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> nyash_engine::Result<()> {
    types::add_to_linker(linker, |t: &mut T| t.wasi())?;
    preopens::add_to_linker(linker, |t: &mut T| t.wasi())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The file streams through the `wasi:io` trait objects in the table,
    //! as `wasi:io/streams`' host functions reach them (those are tested
    //! with them); the rest of `wasi:filesystem` is tested through a
    //! component in `tests/p2_filesystem.rs`.

    use super::*;
    use types::{Host as _, HostDescriptor as _};

    /// A context whose one preopen is a fresh scratch directory (removed
    /// on drop).
    struct Scratch {
        dir: std::path::PathBuf,
        ctx: WasiCtx,
        root: Resource<Descriptor>,
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("nyash-p2fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ctx = WasiCtx::builder().preopened_dir(&dir, "/").build().unwrap();
        let mut pre = preopens::Host::get_directories(&mut ctx).unwrap();
        let (root, name) = pre.remove(0);
        assert_eq!(name, "/");
        Scratch { dir, ctx, root }
    }

    fn borrow(r: &Resource<Descriptor>) -> Resource<Descriptor> {
        Resource::new_borrow(r.rep())
    }

    fn open(
        s: &mut Scratch,
        path: &str,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> Resource<Descriptor> {
        let root = borrow(&s.root);
        s.ctx
            .open_at(root, PathFlags::empty(), path.into(), oflags, flags)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn streams_read_and_write_at_a_position_that_advances() {
        let mut s = scratch("streams");
        let f = open(
            &mut s,
            "f.txt",
            OpenFlags::CREATE,
            DescriptorFlags::READ | DescriptorFlags::WRITE,
        );
        // Written from offset 2 (the file is zero-filled before it), in
        // two writes that follow each other.
        let out = s.ctx.write_via_stream(borrow(&f), 2).unwrap().unwrap();
        let o = s.ctx.table().get_mut(&out).unwrap();
        assert_eq!(o.check_write().unwrap(), WRITE_CAPACITY);
        o.write(b"hello").unwrap();
        o.write(b", world").unwrap();
        o.flush().unwrap();
        o.write_zeroes(3).unwrap();
        assert_eq!(
            std::fs::read(s.dir.join("f.txt")).unwrap(),
            b"\0\0hello, world\0\0\0"
        );
        // Appending goes to the end, whatever it is at each write.
        let app = s.ctx.append_via_stream(borrow(&f)).unwrap().unwrap();
        s.ctx.table().get_mut(&app).unwrap().write(b"!").unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(s.dir.join("f.txt"))
            .and_then(|mut h| std::io::Write::write_all(&mut h, b"?"))
            .unwrap();
        s.ctx.table().get_mut(&app).unwrap().write(b"#").unwrap();
        assert_eq!(
            std::fs::read(s.dir.join("f.txt")).unwrap(),
            b"\0\0hello, world\0\0\0!?#"
        );
        // Read back from offset 2 in small reads, then the end: closed.
        let inp = s.ctx.read_via_stream(borrow(&f), 2).unwrap().unwrap();
        let i = s.ctx.table().get_mut(&inp).unwrap();
        assert_eq!(i.read(5).unwrap(), b"hello");
        assert_eq!(i.skip(2).unwrap(), 2);
        assert_eq!(i.read(0).unwrap(), b"");
        assert_eq!(i.read(100).unwrap(), b"world\0\0\0!?#");
        assert!(matches!(i.read(100), Err(StreamError::Closed)));
        assert!(matches!(i.read(100), Err(StreamError::Closed)));
        // A stream outlives its descriptor (it shares the open file).
        let inp2 = s.ctx.read_via_stream(borrow(&f), 0).unwrap().unwrap();
        s.ctx.drop(f).unwrap();
        assert_eq!(
            s.ctx.table().get_mut(&inp2).unwrap().read(4).unwrap(),
            b"\0\0he"
        );
        // Always ready.
        nyash_engine::host::block_on(s.ctx.table().get_mut(&inp2).unwrap().ready()).unwrap();
        nyash_engine::host::block_on(s.ctx.table().get_mut(&out).unwrap().ready()).unwrap();
    }

    #[test]
    fn a_stream_read_is_bounded_whatever_the_guest_asks() {
        let mut s = scratch("bounded");
        std::fs::write(s.dir.join("big"), vec![1u8; 3 * MAX_READ]).unwrap();
        let f = open(&mut s, "big", OpenFlags::empty(), DescriptorFlags::READ);
        let inp = s.ctx.read_via_stream(borrow(&f), 0).unwrap().unwrap();
        let i = s.ctx.table().get_mut(&inp).unwrap();
        assert_eq!(i.read(usize::MAX).unwrap().len(), MAX_READ);
        assert_eq!(i.skip(usize::MAX).unwrap(), MAX_READ);
        assert_eq!(i.read(4 << 30).unwrap().len(), MAX_READ);
        assert!(matches!(i.read(1), Err(StreamError::Closed)));
    }

    #[test]
    fn a_failed_read_is_an_error_filesystem_error_code_names() {
        let mut s = scratch("failed");
        std::fs::write(s.dir.join("w"), b"data").unwrap();
        // A stream over a file the host opened for writing only: the read
        // fails (EBADF), the stream is closed after it.
        let wo = std::fs::OpenOptions::new()
            .write(true)
            .open(s.dir.join("w"))
            .unwrap();
        let mut i = FileInputStream::new(Arc::new(cap_std::fs::File::from_std(wo)), 0);
        let Err(StreamError::LastOperationFailed(e)) = i.read(4) else {
            panic!("the read should fail");
        };
        assert!(matches!(i.read(4), Err(StreamError::Closed)));
        let err = s.ctx.table().push(e).unwrap();
        assert_eq!(
            s.ctx
                .filesystem_error_code(Resource::new_borrow(err.rep()))
                .unwrap(),
            Some(ErrorCode::BadDescriptor)
        );
        // An error that is not the host's I/O error names nothing.
        let other = s.ctx.table().push(Error::msg("not I/O")).unwrap();
        assert_eq!(
            s.ctx
                .filesystem_error_code(Resource::new_borrow(other.rep()))
                .unwrap(),
            None
        );
        // A failed write likewise: to a file opened for reading only.
        let ro = std::fs::File::open(s.dir.join("w")).unwrap();
        let mut o = FileOutputStream::at(Arc::new(cap_std::fs::File::from_std(ro)), 0);
        assert!(matches!(
            o.write(b"x"),
            Err(StreamError::LastOperationFailed(_))
        ));
        assert!(matches!(o.check_write(), Err(StreamError::Closed)));
    }
}

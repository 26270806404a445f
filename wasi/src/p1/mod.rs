//! WASI preview 1 (`wasi_snapshot_preview1`): one Rust function per import,
//! named as the import is, over the shared core (`crate::core`). This layer
//! reads and writes guest memory, encodes errors as preview 1's errno,
//! and keeps what only preview 1 has: rights, fdflags and its structs'
//! layouts.
//!
//! Files: `args.rs` (arguments, environment), `clocks.rs`, `fd.rs`
//! (`fd_*`), `path.rs` (`path_*`), `poll.rs` (`poll_oneoff`), `proc.rs`
//! (`proc_*`, `sched_yield`), `random.rs`, `sock.rs` (`sock_*`).

mod args;
mod clocks;
mod fd;
mod path;
mod poll;
mod proc;
mod random;
mod sock;

use nyash_engine::{Caller, Error, Linker, Result};

use crate::WasiView;
use crate::core::ErrorCode;
use crate::core::ctx::WasiCtx;
use crate::core::fs::FileType;

/// The import module of preview 1.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// Defines every `wasi_snapshot_preview1` function in `linker`, one line
/// per import.
pub(crate) fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    linker.func_wrap(MODULE, "args_get", args::args_get::<T>)?;
    linker.func_wrap(MODULE, "args_sizes_get", args::args_sizes_get::<T>)?;
    linker.func_wrap(MODULE, "environ_get", args::environ_get::<T>)?;
    linker.func_wrap(MODULE, "environ_sizes_get", args::environ_sizes_get::<T>)?;
    linker.func_wrap(MODULE, "clock_res_get", clocks::clock_res_get::<T>)?;
    linker.func_wrap(MODULE, "clock_time_get", clocks::clock_time_get::<T>)?;
    linker.func_wrap(MODULE, "fd_advise", fd::fd_advise::<T>)?;
    linker.func_wrap(MODULE, "fd_allocate", fd::fd_allocate::<T>)?;
    linker.func_wrap(MODULE, "fd_close", fd::fd_close::<T>)?;
    linker.func_wrap(MODULE, "fd_datasync", fd::fd_datasync::<T>)?;
    linker.func_wrap(MODULE, "fd_fdstat_get", fd::fd_fdstat_get::<T>)?;
    linker.func_wrap(MODULE, "fd_fdstat_set_flags", fd::fd_fdstat_set_flags::<T>)?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_set_rights",
        fd::fd_fdstat_set_rights::<T>,
    )?;
    linker.func_wrap(MODULE, "fd_filestat_get", fd::fd_filestat_get::<T>)?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_set_size",
        fd::fd_filestat_set_size::<T>,
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_set_times",
        fd::fd_filestat_set_times::<T>,
    )?;
    linker.func_wrap(MODULE, "fd_pread", fd::fd_pread::<T>)?;
    linker.func_wrap(MODULE, "fd_prestat_get", fd::fd_prestat_get::<T>)?;
    linker.func_wrap(MODULE, "fd_prestat_dir_name", fd::fd_prestat_dir_name::<T>)?;
    linker.func_wrap(MODULE, "fd_pwrite", fd::fd_pwrite::<T>)?;
    linker.func_wrap(MODULE, "fd_read", fd::fd_read::<T>)?;
    linker.func_wrap(MODULE, "fd_readdir", fd::fd_readdir::<T>)?;
    linker.func_wrap(MODULE, "fd_renumber", fd::fd_renumber::<T>)?;
    linker.func_wrap(MODULE, "fd_seek", fd::fd_seek::<T>)?;
    linker.func_wrap(MODULE, "fd_sync", fd::fd_sync::<T>)?;
    linker.func_wrap(MODULE, "fd_tell", fd::fd_tell::<T>)?;
    linker.func_wrap(MODULE, "fd_write", fd::fd_write::<T>)?;
    linker.func_wrap(
        MODULE,
        "path_create_directory",
        path::path_create_directory::<T>,
    )?;
    linker.func_wrap(MODULE, "path_filestat_get", path::path_filestat_get::<T>)?;
    linker.func_wrap(
        MODULE,
        "path_filestat_set_times",
        path::path_filestat_set_times::<T>,
    )?;
    linker.func_wrap(MODULE, "path_link", path::path_link::<T>)?;
    linker.func_wrap(MODULE, "path_open", path::path_open::<T>)?;
    linker.func_wrap(MODULE, "path_readlink", path::path_readlink::<T>)?;
    linker.func_wrap(
        MODULE,
        "path_remove_directory",
        path::path_remove_directory::<T>,
    )?;
    linker.func_wrap(MODULE, "path_rename", path::path_rename::<T>)?;
    linker.func_wrap(MODULE, "path_symlink", path::path_symlink::<T>)?;
    linker.func_wrap(MODULE, "path_unlink_file", path::path_unlink_file::<T>)?;
    linker.func_wrap(MODULE, "poll_oneoff", poll::poll_oneoff::<T>)?;
    linker.func_wrap(MODULE, "proc_exit", proc::proc_exit::<T>)?;
    linker.func_wrap(MODULE, "proc_raise", proc::proc_raise::<T>)?;
    linker.func_wrap(MODULE, "random_get", random::random_get::<T>)?;
    linker.func_wrap(MODULE, "sched_yield", proc::sched_yield::<T>)?;
    linker.func_wrap(MODULE, "sock_accept", sock::sock_accept::<T>)?;
    linker.func_wrap(MODULE, "sock_recv", sock::sock_recv::<T>)?;
    linker.func_wrap(MODULE, "sock_send", sock::sock_send::<T>)?;
    linker.func_wrap(MODULE, "sock_shutdown", sock::sock_shutdown::<T>)?;
    Ok(())
}

/// Preview 1's errno values.
#[allow(dead_code)]
pub(crate) mod errno {
    pub const SUCCESS: u16 = 0;
    pub const TOOBIG: u16 = 1;
    pub const ACCES: u16 = 2;
    pub const AGAIN: u16 = 6;
    pub const BADF: u16 = 8;
    pub const BUSY: u16 = 10;
    pub const EXIST: u16 = 20;
    pub const FAULT: u16 = 21;
    pub const FBIG: u16 = 22;
    pub const ILSEQ: u16 = 25;
    pub const INTR: u16 = 27;
    pub const INVAL: u16 = 28;
    pub const IO: u16 = 29;
    pub const ISDIR: u16 = 31;
    pub const LOOP: u16 = 32;
    pub const MFILE: u16 = 33;
    pub const MLINK: u16 = 34;
    pub const NAMETOOLONG: u16 = 37;
    pub const NOENT: u16 = 44;
    pub const NOMEM: u16 = 48;
    pub const NOSPC: u16 = 51;
    pub const NOSYS: u16 = 52;
    pub const NOTDIR: u16 = 54;
    pub const NOTEMPTY: u16 = 55;
    pub const NOTSOCK: u16 = 57;
    pub const NOTSUP: u16 = 58;
    pub const NOTTY: u16 = 59;
    pub const NXIO: u16 = 60;
    pub const OVERFLOW: u16 = 61;
    pub const PERM: u16 = 63;
    pub const PIPE: u16 = 64;
    pub const RANGE: u16 = 68;
    pub const ROFS: u16 = 69;
    pub const SPIPE: u16 = 70;
    pub const XDEV: u16 = 75;
    pub const NOTCAPABLE: u16 = 76;
}

/// A preview 1 errno, as the `Err` of this layer's helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Errno(pub u16);

impl From<ErrorCode> for Errno {
    fn from(e: ErrorCode) -> Errno {
        use ErrorCode as E;
        Errno(match e {
            E::TooBig => errno::TOOBIG,
            E::Access => errno::ACCES,
            E::WouldBlock => errno::AGAIN,
            E::BadDescriptor => errno::BADF,
            E::Busy => errno::BUSY,
            E::Exist => errno::EXIST,
            E::Fault => errno::FAULT,
            E::FileTooLarge => errno::FBIG,
            E::IllegalByteSequence => errno::ILSEQ,
            E::Interrupted => errno::INTR,
            E::Invalid => errno::INVAL,
            E::Io => errno::IO,
            E::IsDirectory => errno::ISDIR,
            E::Loop => errno::LOOP,
            E::TooManyFiles => errno::MFILE,
            E::TooManyLinks => errno::MLINK,
            E::NameTooLong => errno::NAMETOOLONG,
            E::NoEntry => errno::NOENT,
            E::InsufficientMemory => errno::NOMEM,
            E::InsufficientSpace => errno::NOSPC,
            E::NoSys => errno::NOSYS,
            E::NotDirectory => errno::NOTDIR,
            E::NotEmpty => errno::NOTEMPTY,
            E::NotSocket => errno::NOTSOCK,
            E::Unsupported => errno::NOTSUP,
            E::NoTty => errno::NOTTY,
            E::NoSuchDevice => errno::NXIO,
            E::Overflow => errno::OVERFLOW,
            E::NotPermitted => errno::PERM,
            E::Pipe => errno::PIPE,
            E::Range => errno::RANGE,
            E::ReadOnly => errno::ROFS,
            E::InvalidSeek => errno::SPIPE,
            E::CrossDevice => errno::XDEV,
        })
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        Errno::from(ErrorCode::from(e))
    }
}

/// This layer's result: a value, or the errno the guest gets.
pub(crate) type WasiResult<T> = std::result::Result<T, Errno>;

/// All rights defined by preview 1.
pub(crate) const ALL_RIGHTS: u64 = (1 << 30) - 1;

/// Preview 1's rights, by bit, and the sets descriptors start with.
#[allow(dead_code)]
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// What a regular file can be asked to do.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// What a directory can be asked to do.
    pub const DIR: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | POLL_FD_READWRITE;
    /// What stdin can be asked to do: read, nothing else (wasmtime's
    /// answer). No `FD_SEEK`/`FD_TELL`, so wasi-libc's `isatty` goes by the
    /// filetype alone.
    pub const STDIN: u64 = FD_READ;
    /// What stdout and stderr can be asked to do: write.
    pub const STDOUT: u64 = FD_WRITE;
}

/// The descriptor `fd`, if it has all of `needed` rights (else
/// `NOTCAPABLE`).
pub(crate) fn fd_with(
    ctx: &mut WasiCtx,
    fd: u32,
    needed: u64,
) -> WasiResult<&mut crate::core::ctx::Fd> {
    let f = ctx.fd(fd)?;
    if f.rights_base & needed != needed {
        return Err(Errno(errno::NOTCAPABLE));
    }
    Ok(f)
}

/// Preview 1's code for a file type.
pub(crate) fn filetype_code(t: FileType) -> u8 {
    match t {
        // Preview 1 has no code for a FIFO.
        FileType::Unknown | FileType::Fifo => 0,
        FileType::BlockDevice => 1,
        FileType::CharacterDevice => 2,
        FileType::Directory => 3,
        FileType::RegularFile => 4,
        FileType::SocketStream => 6,
        FileType::SymbolicLink => 7,
    }
}

/// Guest memory accessors, bounds-checked: out of range is `EFAULT`.
pub(crate) struct GuestMem<'a>(pub(crate) &'a mut [u8]);

impl GuestMem<'_> {
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let (p, l) = (ptr as usize, len as usize);
        self.0
            .get(p..p.checked_add(l).ok_or(Errno(errno::FAULT))?)
            .ok_or(Errno(errno::FAULT))
    }

    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let (p, l) = (ptr as usize, len as usize);
        self.0
            .get_mut(p..p.checked_add(l).ok_or(Errno(errno::FAULT))?)
            .ok_or(Errno(errno::FAULT))
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        Ok(u32::from_le_bytes(
            self.slice(ptr, 4)?.try_into().expect("4 bytes"),
        ))
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        Ok(u64::from_le_bytes(
            self.slice(ptr, 8)?.try_into().expect("8 bytes"),
        ))
    }

    pub(crate) fn write_u8(&mut self, ptr: u32, v: u8) -> WasiResult<()> {
        self.slice_mut(ptr, 1)?[0] = v;
        Ok(())
    }

    pub(crate) fn write_u16(&mut self, ptr: u32, v: u16) -> WasiResult<()> {
        self.slice_mut(ptr, 2)?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult<()> {
        self.slice_mut(ptr, 4)?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult<()> {
        self.slice_mut(ptr, 8)?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// A UTF-8 string (`EILSEQ` if it is not).
    pub(crate) fn str(&self, ptr: u32, len: u32) -> WasiResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno(errno::ILSEQ))
    }

    /// The (ptr, len) pairs of an iovec array.
    pub(crate) fn iovecs(&self, iovs: u32, count: u32) -> WasiResult<Vec<(u32, u32)>> {
        (0..count)
            .map(|i| {
                let at = iovs
                    .checked_add(i.checked_mul(8).ok_or(Errno(errno::FAULT))?)
                    .ok_or(Errno(errno::FAULT))?;
                Ok((
                    self.read_u32(at)?,
                    self.read_u32(at.checked_add(4).ok_or(Errno(errno::FAULT))?)?,
                ))
            })
            .collect()
    }
}

/// Runs `f` with the caller's memory and WASI context; returns the errno.
pub(crate) fn with_ctx<T: WasiView>(
    caller: &mut Caller<'_, T>,
    f: impl FnOnce(&mut GuestMem<'_>, &mut WasiCtx) -> WasiResult<()>,
) -> Result<i32> {
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Error::msg("WASI functions need the module to export its `memory`"))?;
    let (mem, data) = memory.data_and_store_mut(caller);
    let r = f(&mut GuestMem(mem), data.wasi());
    Ok(match r {
        Ok(()) => errno::SUCCESS as i32,
        Err(Errno(e)) => e as i32,
    })
}

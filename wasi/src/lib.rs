//! WASI preview 1 (`wasi_snapshot_preview1`): the host side, for
//! `nyash-engine`.
//!
//! A [`WasiCtx`] holds a program's arguments, environment, stdio and file
//! descriptors; [`WasiCtx::builder`] makes one. [`add_to_linker`] defines
//! every preview-1 function in a [`Linker`] for stores whose data gives
//! access to a `WasiCtx` ([`WasiView`]). Nothing is reachable unless given:
//! no environment unless [`WasiCtxBuilder::env`] or
//! [`WasiCtxBuilder::inherit_env`] passes it, no files outside the
//! directories [`WasiCtxBuilder::preopened_dir`] opens (`..`, absolute paths
//! and symlinks are resolved beneath them by the OS, through `cap-std`), and
//! standard streams that are [`Stdio::Null`] unless set.
//!
//! `proc_exit` ends the call with an error whose
//! [`exit_status`](nyash_engine::Error::exit_status) is the status (and
//! [`WasiCtx::exit_code`] remembers it). In async calls, `poll_oneoff` and
//! reads of an inherited stdin suspend the call instead of blocking the thread.
//!
//! Files: `fds.rs` (descriptor operations), `paths.rs` (operations on paths
//! under a preopened directory), `clocks.rs` (clocks, random, the process),
//! `poll.rs` (`poll_oneoff`).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use nyash_engine::{Engine, Linker, Module, Store};
//! use nyash_wasi::{Stdio, WasiCtx};
//!
//! let engine = Engine::default();
//! // Writes "hello" and a newline to stdout, then exits with its argument count.
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "wasi_snapshot_preview1" "fd_write"
//!            (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!          (import "wasi_snapshot_preview1" "args_sizes_get"
//!            (func $args_sizes_get (param i32 i32) (result i32)))
//!          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
//!          (memory (export "memory") 1)
//!          (data (i32.const 8) "\10\00\00\00\06\00\00\00") ;; one iovec: 6 bytes at 16
//!          (data (i32.const 16) "hello\n")
//!          (func (export "_start")
//!            (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))
//!            (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
//!            (call $proc_exit (i32.load (i32.const 0)))))"#,
//! )?;
//! assert!(nyash_wasi::is_wasi_module(&module));
//!
//! let stdout = Arc::new(Mutex::new(Vec::new()));
//! let ctx = WasiCtx::builder()
//!     .args(["prog.wasm", "one", "two"])
//!     .stdout(Stdio::Buffer(stdout.clone()))
//!     .build()?;
//!
//! let mut linker = Linker::new(&engine);
//! nyash_wasi::add_to_linker(&mut linker)?;
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//!
//! let exit = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(exit.exit_status(), Some(3));
//! assert_eq!(store.data().exit_code(), Some(3));
//! assert_eq!(stdout.lock().unwrap().as_slice(), b"hello\n");
//! # Ok::<(), nyash_engine::Error>(())
//! ```

#![warn(missing_docs)]

mod clocks;
mod fds;
mod paths;
mod poll;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nyash_engine::Caller;
use nyash_engine::Linker;
use nyash_engine::{Error, Result};

pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values.
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

/// A WASI errno, as the `Err` of host-side helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Errno(pub u16);

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        use std::io::ErrorKind as K;
        if let Some(code) = e.raw_os_error() {
            return Errno(from_os(code));
        }
        Errno(match e.kind() {
            K::NotFound => errno::NOENT,
            K::PermissionDenied => errno::PERM,
            K::AlreadyExists => errno::EXIST,
            K::InvalidInput => errno::INVAL,
            K::WouldBlock => errno::AGAIN,
            K::Interrupted => errno::INTR,
            K::BrokenPipe => errno::PIPE,
            K::Unsupported => errno::NOTSUP,
            K::OutOfMemory => errno::NOMEM,
            _ => errno::IO,
        })
    }
}

/// Maps a host `errno` to WASI's.
fn from_os(code: i32) -> u16 {
    match code {
        libc::E2BIG => errno::TOOBIG,
        libc::EACCES => errno::ACCES,
        libc::EAGAIN => errno::AGAIN,
        libc::EBADF => errno::BADF,
        libc::EBUSY => errno::BUSY,
        libc::EEXIST => errno::EXIST,
        libc::EFAULT => errno::FAULT,
        libc::EFBIG => errno::FBIG,
        libc::EILSEQ => errno::ILSEQ,
        libc::EINTR => errno::INTR,
        libc::EINVAL => errno::INVAL,
        libc::EIO => errno::IO,
        libc::EISDIR => errno::ISDIR,
        libc::ELOOP => errno::LOOP,
        libc::EMFILE => errno::MFILE,
        libc::EMLINK => errno::MLINK,
        libc::ENAMETOOLONG => errno::NAMETOOLONG,
        libc::ENOENT => errno::NOENT,
        libc::ENOMEM => errno::NOMEM,
        libc::ENOSPC => errno::NOSPC,
        libc::ENOSYS => errno::NOSYS,
        libc::ENOTDIR => errno::NOTDIR,
        libc::ENOTEMPTY => errno::NOTEMPTY,
        libc::ENOTSOCK => errno::NOTSOCK,
        libc::EOPNOTSUPP => errno::NOTSUP,
        libc::ENOTTY => errno::NOTTY,
        libc::ENXIO => errno::NXIO,
        libc::EOVERFLOW => errno::OVERFLOW,
        libc::EPERM => errno::PERM,
        libc::EPIPE => errno::PIPE,
        libc::ERANGE => errno::RANGE,
        libc::EROFS => errno::ROFS,
        libc::ESPIPE => errno::SPIPE,
        libc::EXDEV => errno::XDEV,
        _ => errno::IO,
    }
}

pub(crate) type WasiResult<T> = std::result::Result<T, Errno>;

/// Where a standard stream goes (the default for each is [`Stdio::Null`]).
#[derive(Clone, Debug)]
pub enum Stdio {
    /// The host process's own stream.
    Inherit,
    /// Nothing: reads see end of file, writes are discarded.
    Null,
    /// An in-memory buffer: input to read, or output collected.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

pub(crate) enum FdKind {
    Stdin(Stdio),
    Stdout(Stdio),
    Stderr(Stdio),
    File(cap_std::fs::File),
    Dir(cap_std::fs::Dir),
}

/// The preopened directory a directory descriptor was reached through:
/// `..` from a directory beneath it may climb up to it, never past it
/// (`paths::parent_beneath`). Holding it keeps its identity (device, inode)
/// from being reused.
pub(crate) struct Root {
    _dir: cap_std::fs::Dir,
    pub(crate) id: (u64, u64),
}

pub(crate) struct Fd {
    pub(crate) kind: FdKind,
    /// For preopened directories: the name the guest sees.
    pub(crate) preopen: Option<String>,
    /// For directories: the preopen they were reached through.
    pub(crate) root: Option<Arc<Root>>,
    pub(crate) append: bool,
    /// The other fdflags the descriptor was opened or set with (reported back).
    pub(crate) fdflags: u16,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
}

/// All rights defined by preview 1.
pub(crate) const ALL_RIGHTS: u64 = (1 << 30) - 1;

/// Rights, by bit.
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

/// A WASI program's view of the world: its arguments, environment,
/// standard streams and open descriptors (preopened directories and the
/// files it opens), and the status `proc_exit` asked for. Made with
/// [`WasiCtx::builder`]; it is usually (part of) a store's data.
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) fds: BTreeMap<u32, Fd>,
    /// Set by `proc_exit`.
    pub(crate) exit_code: Option<i32>,
}

/// Builds a [`WasiCtx`]. Setters take `&mut self` and return it, so they
/// chain; [`WasiCtxBuilder::build`] may be called more than once.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    preopens: Vec<(PathBuf, String)>,
}

impl WasiCtxBuilder {
    /// No arguments, no environment, null stdio, no preopened directories.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a program argument (the first is `argv[0]`).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends program arguments (the first of all is `argv[0]`).
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds the environment variable `key=value`.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Passes the host process's whole environment.
    pub fn inherit_env(&mut self) -> &mut Self {
        self.env.extend(std::env::vars());
        self
    }

    /// Where the program's stdin (fd 0) reads from.
    pub fn stdin(&mut self, s: Stdio) -> &mut Self {
        self.stdin = Some(s);
        self
    }

    /// Where the program's stdout (fd 1) writes to.
    pub fn stdout(&mut self, s: Stdio) -> &mut Self {
        self.stdout = Some(s);
        self
    }

    /// Where the program's stderr (fd 2) writes to.
    pub fn stderr(&mut self, s: Stdio) -> &mut Self {
        self.stderr = Some(s);
        self
    }

    /// Inherits all three standard streams.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.stdin = Some(Stdio::Inherit);
        self.stdout = Some(Stdio::Inherit);
        self.stderr = Some(Stdio::Inherit);
        self
    }

    /// Makes host directory `host` reachable by the guest as `guest`. Nothing
    /// outside it can be reached through it: `..`, absolute paths and
    /// symlinks are resolved beneath it. Preopens get descriptors 3, 4, ...
    /// in the order given; the directory is opened by [`build`](Self::build).
    pub fn preopened_dir(
        &mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
    ) -> &mut Self {
        self.preopens.push((host.into(), guest.into()));
        self
    }

    /// The context. Fails (naming the directory) if a preopened directory
    /// cannot be opened.
    pub fn build(&mut self) -> Result<WasiCtx> {
        let mut fds = BTreeMap::new();
        let std = |kind, rights| Fd {
            kind,
            preopen: None,
            root: None,
            append: false,
            fdflags: 0,
            rights_base: rights,
            rights_inheriting: rights,
        };
        fds.insert(
            0,
            std(
                FdKind::Stdin(self.stdin.clone().unwrap_or(Stdio::Null)),
                rights::STDIN,
            ),
        );
        fds.insert(
            1,
            std(
                FdKind::Stdout(self.stdout.clone().unwrap_or(Stdio::Null)),
                rights::STDOUT,
            ),
        );
        fds.insert(
            2,
            std(
                FdKind::Stderr(self.stderr.clone().unwrap_or(Stdio::Null)),
                rights::STDOUT,
            ),
        );
        for (i, (host, guest)) in self.preopens.iter().enumerate() {
            let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())
                .map_err(|e| Error::io(Some(host), e).context("cannot preopen directory"))?;
            let root = Root {
                _dir: dir
                    .try_clone()
                    .map_err(|e| Error::io(Some(host), e).context("cannot preopen directory"))?,
                id: paths::id_of(std::os::fd::AsFd::as_fd(&dir))
                    .map_err(|e| Error::io(Some(host), e).context("cannot preopen directory"))?,
            };
            fds.insert(
                3 + i as u32,
                Fd {
                    kind: FdKind::Dir(dir),
                    preopen: Some(guest.clone()),
                    root: Some(Arc::new(root)),
                    append: false,
                    fdflags: 0,
                    rights_base: rights::DIR,
                    rights_inheriting: rights::DIR | rights::FILE,
                },
            );
        }
        Ok(WasiCtx {
            args: self.args.clone(),
            env: self.env.clone(),
            fds,
            exit_code: None,
        })
    }
}

impl WasiCtx {
    /// A builder, the same as [`WasiCtxBuilder::new`].
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The status `proc_exit` asked for, if it was called.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    pub(crate) fn fd(&mut self, fd: u32) -> WasiResult<&mut Fd> {
        self.fds.get_mut(&fd).ok_or(Errno(errno::BADF))
    }

    /// The descriptor, if it has all of `needed` rights (else `NOTCAPABLE`).
    pub(crate) fn fd_with(&mut self, fd: u32, needed: u64) -> WasiResult<&mut Fd> {
        let f = self.fd(fd)?;
        if f.rights_base & needed != needed {
            return Err(Errno(errno::NOTCAPABLE));
        }
        Ok(f)
    }

    pub(crate) fn insert(&mut self, fd: Fd) -> WasiResult<u32> {
        let mut n = 3;
        for k in self.fds.keys() {
            if *k == n {
                n += 1;
            } else if *k > n {
                break;
            }
        }
        if n > i32::MAX as u32 {
            return Err(Errno(errno::MFILE));
        }
        self.fds.insert(n, fd);
        Ok(n)
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
                Ok((self.read_u32(at)?, self.read_u32(at + 4)?))
            })
            .collect()
    }
}

/// How a store's data gives access to its `WasiCtx`: implemented by
/// `WasiCtx` itself, and by an embedder's own store data that holds one
/// beside other host state.
///
/// ```
/// use nyash_engine::{Engine, Linker};
/// use nyash_wasi::{WasiCtx, WasiView};
///
/// struct Host {
///     wasi: WasiCtx,
///     requests: u64,
/// }
///
/// impl WasiView for Host {
///     fn wasi(&mut self) -> &mut WasiCtx {
///         &mut self.wasi
///     }
/// }
///
/// let engine = Engine::default();
/// let mut linker = Linker::<Host>::new(&engine);
/// nyash_wasi::add_to_linker(&mut linker)?;
/// // Every function is defined once: adding them again is an error.
/// assert!(nyash_wasi::add_to_linker(&mut linker).is_err());
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub trait WasiView: Send + 'static {
    /// The WASI context in the store's data.
    fn wasi(&mut self) -> &mut WasiCtx;
}

impl WasiView for WasiCtx {
    fn wasi(&mut self) -> &mut WasiCtx {
        self
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

/// Reads from the host's fd 0 itself, not through `std::io::stdin()`,
/// whose buffer would hold input that `poll_oneoff` (asking the OS whether
/// fd 0 is readable) could not see.
fn read_host_stdin(buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; fd 0 is
        // only read, never closed.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Stdio {
    /// Whether the stream is a terminal: only an inherited stream can be,
    /// when the host's own descriptor `host_fd` is one (what wasmtime
    /// reports as a character device; anything else, a pipe, a file,
    /// `/dev/null`, a socket, is not).
    pub(crate) fn is_terminal(&self, host_fd: i32) -> bool {
        // SAFETY: `isatty` only inspects the descriptor number.
        matches!(self, Stdio::Inherit) && unsafe { libc::isatty(host_fd) } == 1
    }

    pub(crate) fn read(&self, buf: &mut [u8]) -> WasiResult<usize> {
        match self {
            Stdio::Inherit => {
                // In an async call the read happens on a helper thread and
                // the call suspends until it is done.
                let n = buf.len();
                let (data, r) = nyash_engine::host::run_blocking(move || {
                    let mut data = vec![0u8; n];
                    let r = read_host_stdin(&mut data);
                    (data, r)
                })
                .map_err(|_| Errno(errno::INTR))?;
                let got = r?;
                buf[..got].copy_from_slice(&data[..got]);
                Ok(got)
            }
            Stdio::Null => Ok(0),
            Stdio::Buffer(b) => {
                let mut b = b.lock().unwrap_or_else(|e| e.into_inner());
                let n = buf.len().min(b.len());
                buf[..n].copy_from_slice(&b[..n]);
                b.drain(..n);
                Ok(n)
            }
        }
    }

    pub(crate) fn write(&self, data: &[u8], stderr: bool) -> WasiResult<usize> {
        match self {
            Stdio::Inherit if stderr => {
                std::io::stderr().write_all(data)?;
                Ok(data.len())
            }
            Stdio::Inherit => {
                let mut out = std::io::stdout();
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            Stdio::Null => Ok(data.len()),
            Stdio::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(data);
                Ok(data.len())
            }
        }
    }
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. Fails if one
/// of them is already defined there (unless the linker allows shadowing).
pub fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> Result<()> {
    clocks::add(linker)?;
    fds::add(linker)?;
    paths::add(linker)?;
    poll::add(linker)?;
    Ok(())
}

/// Whether a module imports anything from WASI preview 1
/// (`wasi_snapshot_preview1`, or its older name `wasi_unstable`).
pub fn is_wasi_module(module: &nyash_engine::Module) -> bool {
    module
        .imports()
        .any(|(m, _, _)| m == MODULE || m == "wasi_unstable")
}

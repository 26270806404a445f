//! The host side of WASI that every preview shares: the context (arguments,
//! environment, the descriptor table, preopened directories), standard
//! streams, files and directories, paths resolved beneath a preopen,
//! clocks and randomness.
//!
//! Functions here take and return plain Rust values: no guest memory, no
//! preview's encoding of errors, flags or types, and no preview's way of
//! naming what is open: the operations on files and paths take the open
//! file or directory itself (and the preopen it was reached through),
//! which preview 1 finds by number in the context's descriptor table and
//! WASI 0.2 in a resource table entry. Failures are an
//! [`ErrorCode`] (named as WASI 0.2's `filesystem` error codes are); each
//! preview maps it to its own encoding (`p1::Errno` for preview 1). What is
//! one preview's alone stays in that preview's layer: preview 1's rights,
//! fdflags and guest-memory layouts live in `p1`.
//!
//! Files: `ctx.rs` (the context, its builder and the descriptor table),
//! `stdio.rs` (standard streams), `fs.rs` (operations on an open file or
//! directory), `path.rs` (operations on paths beneath a directory, and the
//! preopen boundary), `clock.rs`, `random.rs`.

pub(crate) mod clock;
pub(crate) mod ctx;
pub(crate) mod fs;
pub(crate) mod path;
pub(crate) mod random;
pub(crate) mod stdio;

/// Why a core operation failed: the host's `errno`, or a check of ours.
/// Every host error we can name has a variant; anything else is [`Io`].
///
/// [`Io`]: ErrorCode::Io
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// `E2BIG`.
    TooBig,
    /// `EACCES`.
    Access,
    /// `EAGAIN`: the operation would block.
    WouldBlock,
    /// `EBADF`: not a descriptor, or not one this operation applies to.
    BadDescriptor,
    /// `EBUSY`.
    Busy,
    /// `EEXIST`.
    Exist,
    /// `EFAULT` from the host.
    Fault,
    /// `EFBIG`.
    FileTooLarge,
    /// `EILSEQ`.
    IllegalByteSequence,
    /// `EINTR`, or an async call cancelled while it waited.
    Interrupted,
    /// `EINVAL`.
    Invalid,
    /// `EIO`, or a host error without a WASI name.
    Io,
    /// `EISDIR`.
    IsDirectory,
    /// `ELOOP`.
    Loop,
    /// `EMFILE`: the descriptor table is full.
    TooManyFiles,
    /// `EMLINK`.
    TooManyLinks,
    /// `ENAMETOOLONG`.
    NameTooLong,
    /// `ENOENT`.
    NoEntry,
    /// `ENOMEM`.
    InsufficientMemory,
    /// `ENOSPC`.
    InsufficientSpace,
    /// `ENOSYS`.
    NoSys,
    /// `ENOTDIR`.
    NotDirectory,
    /// `ENOTEMPTY`.
    NotEmpty,
    /// `ENOTSOCK`.
    NotSocket,
    /// `EOPNOTSUPP`.
    Unsupported,
    /// `ENOTTY`.
    NoTty,
    /// `ENXIO`.
    NoSuchDevice,
    /// `EOVERFLOW`.
    Overflow,
    /// `EPERM`: e.g. an absolute path, never beneath a directory.
    NotPermitted,
    /// `EPIPE`.
    Pipe,
    /// `ERANGE`.
    Range,
    /// `EROFS`.
    ReadOnly,
    /// `ESPIPE`: a stream cannot seek.
    InvalidSeek,
    /// `EXDEV`: e.g. a path that would leave its directory.
    CrossDevice,
}

impl From<std::io::Error> for ErrorCode {
    fn from(e: std::io::Error) -> ErrorCode {
        ErrorCode::of_io(&e)
    }
}

impl ErrorCode {
    /// Names a host I/O error: by its `errno` when it has one, else by its
    /// kind (`cap-std`'s refusal of a path that would leave its directory
    /// is `PermissionDenied`, so `NotPermitted`).
    pub(crate) fn of_io(e: &std::io::Error) -> ErrorCode {
        use std::io::ErrorKind as K;
        if let Some(code) = e.raw_os_error() {
            return from_os(code);
        }
        match e.kind() {
            K::NotFound => ErrorCode::NoEntry,
            K::PermissionDenied => ErrorCode::NotPermitted,
            K::AlreadyExists => ErrorCode::Exist,
            K::InvalidInput => ErrorCode::Invalid,
            K::WouldBlock => ErrorCode::WouldBlock,
            K::Interrupted => ErrorCode::Interrupted,
            K::BrokenPipe => ErrorCode::Pipe,
            K::Unsupported => ErrorCode::Unsupported,
            K::OutOfMemory => ErrorCode::InsufficientMemory,
            _ => ErrorCode::Io,
        }
    }
}

/// Names a host `errno`.
fn from_os(code: i32) -> ErrorCode {
    use ErrorCode as E;
    match code {
        libc::E2BIG => E::TooBig,
        libc::EACCES => E::Access,
        libc::EAGAIN => E::WouldBlock,
        libc::EBADF => E::BadDescriptor,
        libc::EBUSY => E::Busy,
        libc::EEXIST => E::Exist,
        libc::EFAULT => E::Fault,
        libc::EFBIG => E::FileTooLarge,
        libc::EILSEQ => E::IllegalByteSequence,
        libc::EINTR => E::Interrupted,
        libc::EINVAL => E::Invalid,
        libc::EIO => E::Io,
        libc::EISDIR => E::IsDirectory,
        libc::ELOOP => E::Loop,
        libc::EMFILE => E::TooManyFiles,
        libc::EMLINK => E::TooManyLinks,
        libc::ENAMETOOLONG => E::NameTooLong,
        libc::ENOENT => E::NoEntry,
        libc::ENOMEM => E::InsufficientMemory,
        libc::ENOSPC => E::InsufficientSpace,
        libc::ENOSYS => E::NoSys,
        libc::ENOTDIR => E::NotDirectory,
        libc::ENOTEMPTY => E::NotEmpty,
        libc::ENOTSOCK => E::NotSocket,
        libc::EOPNOTSUPP => E::Unsupported,
        libc::ENOTTY => E::NoTty,
        libc::ENXIO => E::NoSuchDevice,
        libc::EOVERFLOW => E::Overflow,
        libc::EPERM => E::NotPermitted,
        libc::EPIPE => E::Pipe,
        libc::ERANGE => E::Range,
        libc::EROFS => E::ReadOnly,
        libc::ESPIPE => E::InvalidSeek,
        libc::EXDEV => E::CrossDevice,
        _ => E::Io,
    }
}

/// A core operation's result.
pub(crate) type Result<T> = std::result::Result<T, ErrorCode>;

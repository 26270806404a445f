//! `wasi:io`'s host side: the stream and readiness traits every WASI 0.2
//! resource that streams or waits implements (stdio, files, sockets, HTTP
//! bodies), and the pollable that waits on any of them.
//!
//! A stream is a boxed trait object in the context's [`ResourceTable`]:
//! [`InputStream`] and [`OutputStream`] never block; readiness is a future
//! ([`Subscribe::ready`]) that `wasi:io/poll` and the `blocking-*` stream
//! functions drive with [`nyash_engine::host::block_on`] — suspending an
//! async call on its fiber, blocking a synchronous one.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use nyash_engine::component::{Resource, ResourceTable, ResourceTableError};

/// Why a stream operation did not complete.
#[derive(Debug)]
pub enum StreamError {
    /// The stream is closed: no more bytes will be read from it or
    /// accepted by it.
    Closed,
    /// The last operation failed; the stream is closed after it. The guest
    /// sees the error as a `wasi:io/error` resource.
    LastOperationFailed(nyash_engine::Error),
    /// The guest's call traps with this error (a host-side failure that is
    /// not the stream's, or a broken rule of the interface).
    Trap(nyash_engine::Error),
}

/// What stream operations return.
pub type StreamResult<T> = Result<T, StreamError>;

/// A resource a pollable can wait on.
pub trait Subscribe: Send + 'static {
    /// Completes when the resource is ready: an input stream has bytes or
    /// is at its end, an output stream accepts bytes, a timer has passed.
    /// Dropping the future before it completes must lose nothing.
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The host side of a `wasi:io/streams` `input-stream`.
pub trait InputStream: Subscribe {
    /// Up to `size` bytes, without blocking: empty when none are ready.
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>>;

    /// Skips up to `size` bytes without blocking; how many were skipped.
    fn skip(&mut self, size: usize) -> StreamResult<usize> {
        Ok(self.read(size)?.len())
    }
}

/// The host side of a `wasi:io/streams` `output-stream`.
pub trait OutputStream: Subscribe {
    /// How many bytes [`write`](Self::write) accepts now (0: wait for
    /// [`ready`](Subscribe::ready)).
    fn check_write(&mut self) -> StreamResult<usize>;

    /// Writes `bytes` (at most what `check_write` last allowed).
    fn write(&mut self, bytes: &[u8]) -> StreamResult<()>;

    /// Starts flushing what was written; `ready` completes when done.
    fn flush(&mut self) -> StreamResult<()>;

    /// Writes `n` zero bytes (at most what `check_write` last allowed).
    fn write_zeroes(&mut self, n: usize) -> StreamResult<()> {
        self.write(&vec![0; n])
    }
}

/// The Rust type of `wasi:io/streams`' `input-stream` resource.
pub type DynInputStream = Box<dyn InputStream>;

/// The Rust type of `wasi:io/streams`' `output-stream` resource.
pub type DynOutputStream = Box<dyn OutputStream>;

/// The Rust type of `wasi:io/error`'s `error` resource.
pub type IoError = nyash_engine::Error;

/// Makes the readiness future of the table entry it is given (the
/// pollable's parent, of the type the pollable was made for).
type MakeFuture = for<'a> fn(&'a mut dyn Any) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A `wasi:io/poll` `pollable`: ready when its parent resource (a child
/// of which it is in the table, so the parent outlives it) is ready.
#[allow(dead_code)] // read by `wasi:io/poll` (in progress)
pub struct Pollable {
    pub(crate) parent: u32,
    pub(crate) make_future: MakeFuture,
}

/// A pollable for `parent`'s readiness, as a child of it in `table`.
pub fn subscribe<T: Subscribe>(
    table: &mut ResourceTable,
    parent: &Resource<T>,
) -> Result<Resource<Pollable>, ResourceTableError> {
    fn make_future<T: Subscribe>(
        any: &mut dyn Any,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        match any.downcast_mut::<T>() {
            Some(t) => t.ready(),
            // The parent's type is fixed when the pollable is made and the
            // table keeps the parent while the pollable lives.
            None => Box::pin(std::future::ready(())),
        }
    }
    let pollable = Pollable {
        parent: parent.rep(),
        make_future: make_future::<T>,
    };
    table.push_child(pollable, parent)
}

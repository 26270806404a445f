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

/// Deletes a pollable's parent entry of the type it was made for.
type DeleteParent = fn(&mut ResourceTable, u32) -> Result<(), ResourceTableError>;

/// A `wasi:io/poll` `pollable`: ready when its parent resource (a child
/// of which it is in the table, so the parent outlives it) is ready.
pub struct Pollable {
    pub(crate) parent: u32,
    pub(crate) make_future: MakeFuture,
    /// For a parent that exists only for this pollable (a clock's
    /// deadline, [`subscribe_owned`]): how to delete it with the pollable.
    pub(crate) delete_parent: Option<DeleteParent>,
}

impl<T: Subscribe + ?Sized> Subscribe for Box<T> {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        (**self).ready()
    }
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
        delete_parent: None,
    };
    table.push_child(pollable, parent)
}

/// A pollable for `value`'s readiness, where `value` exists only for the
/// pollable (a deadline, say): it goes into `table` as the pollable's
/// parent and is deleted with it.
pub fn subscribe_owned<T: Subscribe>(
    table: &mut ResourceTable,
    value: T,
) -> Result<Resource<Pollable>, ResourceTableError> {
    fn delete<T: Subscribe>(table: &mut ResourceTable, rep: u32) -> Result<(), ResourceTableError> {
        table.delete(Resource::<T>::new_own(rep)).map(drop)
    }
    let parent = table.push(value)?;
    let pollable = match subscribe(table, &parent) {
        Ok(p) => p,
        Err(e) => {
            let _ = table.delete(parent);
            return Err(e);
        }
    };
    table.get_mut(&pollable)?.delete_parent = Some(delete::<T>);
    Ok(pollable)
}

// ---------------------------------------------------------------------
// The host functions of `wasi:io/{error,poll,streams}` on `WasiCtx`.
// ---------------------------------------------------------------------

use nyash_engine::Error;

use super::wasi::io::{error, poll, streams};
use crate::WasiCtx;

/// The most bytes one `read` or `skip` hands back (a guest may ask for
/// up to 2^64; what it gets is bounded, as the interface allows).
pub(crate) const MAX_READ: usize = 64 << 10;

/// The most bytes `blocking-write-and-flush` and
/// `blocking-write-zeroes-and-flush` take in one call (the WIT's rule).
pub(crate) const MAX_BLOCKING_WRITE: u64 = 4096;

/// A trap for a table failure of `what` (a handle the canonical ABI let
/// through but the table does not hold as that type: a host bug or an
/// embedder's misuse, never the guest's doing alone).
pub(crate) fn table_error(what: &'static str) -> impl Fn(ResourceTableError) -> Error {
    move |e| Error::msg(format!("{what}: {e}"))
}

/// A request length as a `usize`, at most `max`.
fn bounded(len: u64, max: usize) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX).min(max)
}

impl WasiCtx {
    /// `e` as the guest sees it: `closed`, or `last-operation-failed` with
    /// the error as a new `wasi:io/error` resource; a `Trap` is the call's
    /// `Err`.
    pub(crate) fn stream_error(
        &mut self,
        e: StreamError,
    ) -> nyash_engine::Result<streams::StreamError> {
        match e {
            StreamError::Closed => Ok(streams::StreamError::Closed),
            StreamError::LastOperationFailed(e) => {
                let r = self
                    .table
                    .push(e)
                    .map_err(table_error("wasi:io/streams: keeping an error"))?;
                Ok(streams::StreamError::LastOperationFailed(r))
            }
            StreamError::Trap(e) => Err(e),
        }
    }

    /// A stream operation's result for the guest.
    fn stream_result<T>(
        &mut self,
        r: StreamResult<T>,
    ) -> nyash_engine::Result<Result<T, streams::StreamError>> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(e) => Ok(Err(self.stream_error(e)?)),
        }
    }

    fn input(&mut self, s: &Resource<DynInputStream>) -> nyash_engine::Result<&mut DynInputStream> {
        self.table
            .get_mut(s)
            .map_err(table_error("wasi:io/streams input-stream"))
    }

    fn output(
        &mut self,
        s: &Resource<DynOutputStream>,
    ) -> nyash_engine::Result<&mut DynOutputStream> {
        self.table
            .get_mut(s)
            .map_err(table_error("wasi:io/streams output-stream"))
    }

    /// Writes all of `bytes` (or `n` zeroes when `bytes` is `None`) to
    /// `s`, waiting for it to accept them, then flushes and waits for the
    /// flush: the `blocking-*-and-flush` functions.
    fn blocking_write(
        &mut self,
        s: &Resource<DynOutputStream>,
        bytes: Option<&[u8]>,
        n: u64,
        what: &str,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        if n > MAX_BLOCKING_WRITE {
            return Err(Error::msg(format!(
                "wasi:io/streams output-stream.{what}: {n} bytes given, at most \
                 {MAX_BLOCKING_WRITE} allowed"
            )));
        }
        let stream = self.output(s)?;
        let r = (|| -> StreamResult<()> {
            let mut done = 0usize;
            let n = n as usize;
            while done < n {
                let permit = stream.check_write()?;
                if permit == 0 {
                    block_on_ready(&mut **stream)?;
                    continue;
                }
                let k = permit.min(n - done);
                match bytes {
                    Some(b) => stream.write(&b[done..done + k])?,
                    None => stream.write_zeroes(k)?,
                }
                done += k;
            }
            stream.flush()?;
            block_on_ready(&mut **stream)?;
            // A failure of the flush shows up here.
            stream.check_write().map(drop)
        })();
        self.stream_result(r)
    }
}

/// Waits for `s` to be ready (suspending an async call, blocking a
/// synchronous one); a cancelled async call traps.
fn block_on_ready(s: &mut (impl Subscribe + ?Sized)) -> StreamResult<()> {
    nyash_engine::host::block_on(s.ready()).map_err(StreamError::Trap)
}

impl error::Host for WasiCtx {}

impl error::HostError for WasiCtx {
    fn to_debug_string(&mut self, e: Resource<IoError>) -> nyash_engine::Result<String> {
        let e = self
            .table
            .get(&e)
            .map_err(table_error("wasi:io/error error.to-debug-string"))?;
        Ok(format!("{e:#}"))
    }

    fn drop(&mut self, e: Resource<IoError>) -> nyash_engine::Result<()> {
        self.table
            .delete(e)
            .map(drop)
            .map_err(table_error("wasi:io/error error drop"))
    }
}

impl WasiCtx {
    /// The readiness future of pollable `p`'s parent.
    fn pollable_parts(&self, p: &Resource<Pollable>) -> nyash_engine::Result<(u32, MakeFuture)> {
        let p = self
            .table
            .get(p)
            .map_err(table_error("wasi:io/poll pollable"))?;
        Ok((p.parent, p.make_future))
    }
}

impl poll::HostPollable for WasiCtx {
    fn ready(&mut self, p: Resource<Pollable>) -> nyash_engine::Result<bool> {
        let (parent, make) = self.pollable_parts(&p)?;
        let entry = self
            .table
            .get_any_mut(parent)
            .map_err(table_error("wasi:io/poll pollable.ready: the parent"))?;
        let mut fut = make(entry);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        Ok(fut.as_mut().poll(&mut cx).is_ready())
    }

    fn block(&mut self, p: Resource<Pollable>) -> nyash_engine::Result<()> {
        let (parent, make) = self.pollable_parts(&p)?;
        let entry = self
            .table
            .get_any_mut(parent)
            .map_err(table_error("wasi:io/poll pollable.block: the parent"))?;
        nyash_engine::host::block_on(make(entry))
    }

    fn drop(&mut self, p: Resource<Pollable>) -> nyash_engine::Result<()> {
        let p = self
            .table
            .delete(p)
            .map_err(table_error("wasi:io/poll pollable drop"))?;
        if let Some(delete) = p.delete_parent {
            delete(&mut self.table, p.parent)
                .map_err(table_error("wasi:io/poll pollable drop: its deadline"))?;
        }
        Ok(())
    }
}

impl poll::Host for WasiCtx {
    fn poll(&mut self, list: Vec<Resource<Pollable>>) -> nyash_engine::Result<Vec<u32>> {
        if list.is_empty() {
            return Err(Error::msg(
                "wasi:io/poll poll: the list of pollables is empty (it would wait forever)",
            ));
        }
        if u32::try_from(list.len()).is_err() {
            return Err(Error::msg(format!(
                "wasi:io/poll poll: {} pollables given; indices are u32",
                list.len()
            )));
        }
        // Pollables of one parent share its future; each parent's entry is
        // borrowed once.
        let mut parents: Vec<(u32, MakeFuture, Vec<u32>)> = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let (parent, make) = self.pollable_parts(p)?;
            match parents.iter_mut().find(|(q, _, _)| *q == parent) {
                Some((_, _, idx)) => idx.push(i as u32),
                None => parents.push((parent, make, vec![i as u32])),
            }
        }
        let reps: Vec<u32> = parents.iter().map(|(p, _, _)| *p).collect();
        let entries = self
            .table
            .get_many_any_mut(&reps)
            .map_err(table_error("wasi:io/poll poll: a pollable's parent"))?;
        let mut futures: Vec<_> = entries
            .into_iter()
            .zip(&parents)
            .map(|(e, (_, make, idx))| (make(e), idx))
            .collect();
        nyash_engine::host::block_on(std::future::poll_fn(move |cx| {
            let mut ready = Vec::new();
            for (f, idx) in futures.iter_mut() {
                if f.as_mut().poll(cx).is_ready() {
                    ready.extend_from_slice(idx);
                }
            }
            if ready.is_empty() {
                std::task::Poll::Pending
            } else {
                ready.sort_unstable();
                std::task::Poll::Ready(ready)
            }
        }))
    }
}

impl streams::Host for WasiCtx {}

impl streams::HostInputStream for WasiCtx {
    fn read(
        &mut self,
        s: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<Vec<u8>, streams::StreamError>> {
        let r = self.input(&s)?.read(bounded(len, MAX_READ));
        self.stream_result(r)
    }

    fn blocking_read(
        &mut self,
        s: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<Vec<u8>, streams::StreamError>> {
        let n = bounded(len, MAX_READ);
        let stream = self.input(&s)?;
        let r = loop {
            match stream.read(n) {
                Ok(b) if b.is_empty() && n > 0 => {
                    if let Err(e) = block_on_ready(&mut **stream) {
                        break Err(e);
                    }
                }
                r => break r,
            }
        };
        self.stream_result(r)
    }

    fn skip(
        &mut self,
        s: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<u64, streams::StreamError>> {
        let r = self.input(&s)?.skip(bounded(len, MAX_READ));
        self.stream_result(r.map(|n| n as u64))
    }

    fn blocking_skip(
        &mut self,
        s: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<u64, streams::StreamError>> {
        let n = bounded(len, MAX_READ);
        let stream = self.input(&s)?;
        let r = loop {
            match stream.skip(n) {
                Ok(0) if n > 0 => {
                    if let Err(e) = block_on_ready(&mut **stream) {
                        break Err(e);
                    }
                }
                r => break r,
            }
        };
        self.stream_result(r.map(|n| n as u64))
    }

    fn subscribe(
        &mut self,
        s: Resource<DynInputStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        subscribe(&mut self.table, &s)
            .map_err(table_error("wasi:io/streams input-stream.subscribe"))
    }

    fn drop(&mut self, s: Resource<DynInputStream>) -> nyash_engine::Result<()> {
        self.table
            .delete(s)
            .map(drop)
            .map_err(table_error("wasi:io/streams input-stream drop"))
    }
}

impl streams::HostOutputStream for WasiCtx {
    fn check_write(
        &mut self,
        s: Resource<DynOutputStream>,
    ) -> nyash_engine::Result<Result<u64, streams::StreamError>> {
        let r = self.output(&s)?.check_write();
        self.stream_result(r.map(|n| n as u64))
    }

    fn write(
        &mut self,
        s: Resource<DynOutputStream>,
        contents: Vec<u8>,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        let r = self.output(&s)?.write(&contents);
        self.stream_result(r)
    }

    fn blocking_write_and_flush(
        &mut self,
        s: Resource<DynOutputStream>,
        contents: Vec<u8>,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        let n = contents.len() as u64;
        self.blocking_write(&s, Some(&contents), n, "blocking-write-and-flush")
    }

    fn flush(
        &mut self,
        s: Resource<DynOutputStream>,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        let r = self.output(&s)?.flush();
        self.stream_result(r)
    }

    fn blocking_flush(
        &mut self,
        s: Resource<DynOutputStream>,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        let stream = self.output(&s)?;
        let r = (|| {
            stream.flush()?;
            block_on_ready(&mut **stream)?;
            stream.check_write().map(drop)
        })();
        self.stream_result(r)
    }

    fn subscribe(
        &mut self,
        s: Resource<DynOutputStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        subscribe(&mut self.table, &s)
            .map_err(table_error("wasi:io/streams output-stream.subscribe"))
    }

    fn write_zeroes(
        &mut self,
        s: Resource<DynOutputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        let stream = self.output(&s)?;
        // At most what `check-write` allows (the interface's rule, checked
        // here for every stream), so a guest's length is never allocated
        // beyond it.
        let r = stream.check_write().and_then(|permit| {
            match usize::try_from(len).ok().filter(|n| *n <= permit) {
                Some(n) => stream.write_zeroes(n),
                None => Err(StreamError::Trap(Error::msg(format!(
                    "wasi:io/streams output-stream.write-zeroes: {len} bytes, more than \
                     check-write allows ({permit})"
                )))),
            }
        });
        self.stream_result(r)
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        s: Resource<DynOutputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<(), streams::StreamError>> {
        self.blocking_write(&s, None, len, "blocking-write-zeroes-and-flush")
    }

    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<u64, streams::StreamError>> {
        let r = self.splice_once(&dst, &src, len)?;
        self.stream_result(r)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<Result<u64, streams::StreamError>> {
        let waited = (|| {
            block_on_ready(&mut **self.output(&dst).map_err(StreamError::Trap)?)?;
            block_on_ready(&mut **self.input(&src).map_err(StreamError::Trap)?)
        })();
        let r = match waited {
            Ok(()) => self.splice_once(&dst, &src, len)?,
            Err(e) => Err(e),
        };
        self.stream_result(r)
    }

    fn drop(&mut self, s: Resource<DynOutputStream>) -> nyash_engine::Result<()> {
        self.table
            .delete(s)
            .map(drop)
            .map_err(table_error("wasi:io/streams output-stream drop"))
    }
}

impl WasiCtx {
    /// One `splice`: as many bytes as `dst` accepts now, at most `len`,
    /// read from `src` without blocking.
    fn splice_once(
        &mut self,
        dst: &Resource<DynOutputStream>,
        src: &Resource<DynInputStream>,
        len: u64,
    ) -> nyash_engine::Result<StreamResult<u64>> {
        let permit = match self.output(dst)?.check_write() {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let n = bounded(len, MAX_READ).min(permit);
        if n == 0 {
            return Ok(Ok(0));
        }
        let bytes = match self.input(src)?.read(n) {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.output(dst)?.write(&bytes).map(|()| bytes.len() as u64))
    }
}

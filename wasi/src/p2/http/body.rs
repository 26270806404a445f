//! HTTP bodies between hyper and the guest's `wasi:io` streams.
//!
//! - An incoming body (a request `serve` received, a response the
//!   outgoing handler got) is a `BodyReader`: the hyper body and what
//!   was read of it but not yet handed over. `incoming-body.stream` gives
//!   the guest an [`InputStream`] over it, `incoming-body.finish` a
//!   `future-trailers` that reads to its end. Reads never block: they poll
//!   the hyper body once; the stream's readiness polls it with the
//!   caller's waker.
//! - An outgoing body (the response a handler writes, the request body the
//!   outgoing handler sends) is a `Pipe`: the guest's
//!   [`OutputStream`] pushes chunks into it, hyper pulls them out as the
//!   [`HostBody`] it sends. The pipe holds at most [`PIPE_CAPACITY`]
//!   bytes: a guest writing faster than the peer reads waits (its
//!   `check-write` says 0, its pollable is ready when hyper took some).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;

use super::{ErrorCode, HttpError};
use crate::p2::io::{InputStream, OutputStream, StreamError, StreamResult, Subscribe};

/// The most bytes an outgoing body buffers between the guest and hyper.
pub const PIPE_CAPACITY: usize = 1 << 20;

/// A body hyper produced, boxed, its errors as WASI error codes.
pub(crate) type IncomingHyperBody = UnsyncBoxBody<Bytes, ErrorCode>;

/// Locks `m`, ignoring poisoning (the state stays consistent: every
/// critical section is a few field updates).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An incoming body being read: shared by the `incoming-body` resource,
/// its input stream and, after `finish`, its `future-trailers`.
pub(crate) struct BodyReader {
    /// The body; `None` once it ended (or failed).
    body: Option<IncomingHyperBody>,
    /// Bytes read from the body, not yet handed to the guest.
    buf: Bytes,
    /// The trailers, once the body ended with some.
    trailers: Option<HeaderMap>,
    /// Why the body failed, if it did.
    error: Option<ErrorCode>,
}

impl BodyReader {
    pub(crate) fn new(body: IncomingHyperBody) -> BodyReader {
        BodyReader {
            body: Some(body),
            buf: Bytes::new(),
            trailers: None,
            error: None,
        }
    }

    /// Polls the body until bytes are buffered or it ended: `Ready` when
    /// a read would return something (bytes, the end, an error).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.buf.is_empty() {
            let Some(body) = self.body.as_mut() else {
                return Poll::Ready(());
            };
            match Pin::new(body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => self.body = None,
                Poll::Ready(Some(Err(e))) => {
                    self.error = Some(e);
                    self.body = None;
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => self.buf = data,
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            match &mut self.trailers {
                                Some(have) => have.extend(t),
                                None => self.trailers = Some(t),
                            }
                        }
                    }
                },
            }
        }
        Poll::Ready(())
    }

    /// Polls once without a waker to be woken by.
    fn fill_now(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.poll_fill(&mut cx);
    }

    /// Up to `size` bytes without blocking.
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        if self.buf.is_empty() {
            self.fill_now();
        }
        if !self.buf.is_empty() {
            let n = size.min(self.buf.len());
            return Ok(self.buf.split_to(n).to_vec());
        }
        if self.body.is_some() {
            return Ok(Vec::new());
        }
        match &self.error {
            Some(e) => Err(StreamError::LastOperationFailed(nyash_engine::Error::host(
                HttpError(e.clone()),
            ))),
            None => Err(StreamError::Closed),
        }
    }

    /// Reads and drops what is left of the body: `Ready` with the
    /// trailers (or the body's failure) once it ended.
    pub(crate) fn poll_trailers(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<HeaderMap>, ErrorCode>> {
        loop {
            self.buf = Bytes::new();
            if self.poll_fill(cx).is_pending() {
                return Poll::Pending;
            }
            if self.body.is_none() && self.buf.is_empty() {
                break;
            }
        }
        Poll::Ready(match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self.trailers.take()),
        })
    }
}

/// A reader shared between the resources of one incoming body.
pub(crate) type SharedReader = Arc<Mutex<BodyReader>>;

/// The guest's input stream over an incoming body.
pub(crate) struct BodyInputStream(pub(crate) SharedReader);

impl Subscribe for BodyInputStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let r = self.0.clone();
        Box::pin(std::future::poll_fn(move |cx| lock(&r).poll_fill(cx)))
    }
}

impl InputStream for BodyInputStream {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        lock(&self.0).read(size)
    }
}

/// How an outgoing body ended, as the writer said.
enum End {
    /// `outgoing-body.finish`, with these trailers.
    Finished(Option<HeaderMap>),
    /// The `outgoing-body` was dropped without `finish`, or `finish`
    /// found the body's length wrong: the peer must see a broken body.
    Aborted(String),
}

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    /// Bytes written in all.
    written: u64,
    end: Option<End>,
    /// Trailers already sent (or not to be sent): the body is done.
    done: bool,
    /// The reading side ([`HostBody`]) was dropped: writes are refused.
    reader_gone: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

/// An outgoing body's buffer between the guest's output stream and hyper.
#[derive(Default)]
pub(crate) struct Pipe {
    state: Mutex<PipeState>,
    /// The content-length the message declared, if it did: writing more is
    /// an error, finishing with fewer is one.
    pub(crate) content_length: Option<u64>,
}

impl Pipe {
    pub(crate) fn new(content_length: Option<u64>) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::default(),
            content_length,
        })
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        lock(&self.state).written
    }

    /// Ends the body: finished with `trailers`, or broken with a reason.
    fn end(&self, end: End) {
        let mut s = lock(&self.state);
        if s.end.is_none() {
            s.end = Some(end);
        }
        if let Some(w) = s.read_waker.take() {
            w.wake();
        }
    }

    pub(crate) fn finish(&self, trailers: Option<HeaderMap>) {
        self.end(End::Finished(trailers));
    }

    pub(crate) fn abort(&self, why: impl Into<String>) {
        self.end(End::Aborted(why.into()));
    }
}

/// The guest's output stream into an outgoing body.
pub(crate) struct BodyOutputStream(pub(crate) Arc<Pipe>);

impl Subscribe for BodyOutputStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let p = self.0.clone();
        Box::pin(std::future::poll_fn(move |cx| {
            let mut s = lock(&p.state);
            if s.reader_gone || s.end.is_some() || s.buffered < PIPE_CAPACITY {
                Poll::Ready(())
            } else {
                s.write_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}

impl OutputStream for BodyOutputStream {
    fn check_write(&mut self) -> StreamResult<usize> {
        let s = lock(&self.0.state);
        if s.reader_gone || s.end.is_some() {
            return Err(StreamError::Closed);
        }
        Ok(PIPE_CAPACITY.saturating_sub(s.buffered))
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        let mut s = lock(&self.0.state);
        if s.reader_gone || s.end.is_some() {
            return Err(StreamError::Closed);
        }
        if bytes.len() > PIPE_CAPACITY.saturating_sub(s.buffered) {
            return Err(StreamError::Trap(nyash_engine::Error::msg(format!(
                "wasi:http outgoing-body stream: a write of {} bytes is more than check-write \
                 allowed ({})",
                bytes.len(),
                PIPE_CAPACITY.saturating_sub(s.buffered)
            ))));
        }
        let written = s.written + bytes.len() as u64;
        if let Some(max) = self.0.content_length
            && written > max
        {
            return Err(StreamError::LastOperationFailed(nyash_engine::Error::host(
                HttpError(ErrorCode::InternalError(Some(format!(
                    "the body is longer than its content-length ({max} bytes)"
                )))),
            )));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        s.written = written;
        s.buffered += bytes.len();
        s.chunks.push_back(Bytes::copy_from_slice(bytes));
        if let Some(w) = s.read_waker.take() {
            w.wake();
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        // What was written is hyper's to send: nothing is held back here.
        let s = lock(&self.0.state);
        if s.reader_gone {
            return Err(StreamError::Closed);
        }
        Ok(())
    }
}

/// The error of an outgoing body hyper sends: why it is broken.
#[derive(Debug)]
pub struct BodyError(pub String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyError {}

/// The body of a message the guest made, as hyper sends it: empty, or
/// what the guest writes into the message's outgoing body.
pub struct HostBody(Option<Arc<Pipe>>);

impl HostBody {
    /// A body with no bytes.
    pub fn empty() -> HostBody {
        HostBody(None)
    }

    pub(crate) fn pipe(p: Arc<Pipe>) -> HostBody {
        HostBody(Some(p))
    }
}

impl Drop for HostBody {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let mut s = lock(&p.state);
            s.reader_gone = true;
            s.chunks.clear();
            s.buffered = 0;
            if let Some(w) = s.write_waker.take() {
                w.wake();
            }
        }
    }
}

impl Body for HostBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(p) = &self.0 else {
            return Poll::Ready(None);
        };
        let mut s = lock(&p.state);
        if let Some(chunk) = s.chunks.pop_front() {
            s.buffered -= chunk.len();
            if let Some(w) = s.write_waker.take() {
                w.wake();
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if s.done {
            return Poll::Ready(None);
        }
        match s.end.take() {
            None => {
                s.read_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(End::Finished(trailers)) => {
                s.done = true;
                s.end = Some(End::Finished(None));
                match trailers {
                    Some(t) if !t.is_empty() => Poll::Ready(Some(Ok(Frame::trailers(t)))),
                    _ => Poll::Ready(None),
                }
            }
            Some(End::Aborted(why)) => {
                s.done = true;
                s.end = Some(End::Aborted(why.clone()));
                Poll::Ready(Some(Err(BodyError(why))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            None => true,
            Some(p) => {
                let s = lock(&p.state);
                s.done || (s.chunks.is_empty() && matches!(s.end, Some(End::Finished(None))))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            None => SizeHint::with_exact(0),
            // The length the message's headers declared, if any, is sent
            // as they say; otherwise the body is chunked.
            Some(_) => SizeHint::default(),
        }
    }
}

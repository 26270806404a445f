//! `wasi:http/outgoing-handler`: an HTTP/1.1 client on hyper and tokio.
//!
//! `handle` checks the request, then sends it from a task on a tokio
//! runtime — the caller's, when the guest runs in an async call on one
//! (`nyash-engine serve`), else one made once for the process — and
//! hands the guest a `future-incoming-response` over the task. The task
//! connects (`connect-timeout`), writes the request with its body
//! streaming from the guest's `outgoing-body`, waits for the response's
//! head (`first-byte-timeout`) and forwards the response body frame by
//! frame (`between-bytes-timeout`). Only `http://` is served: there is no
//! TLS client in the tree, so `https://` is refused with an
//! `internal-error` that says so.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use nyash_engine::Result;
use nyash_engine::component::Resource;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::body::HostBody;
use super::table_error;
use super::types::to_http_method;
use super::{
    ErrorCode, FutureIncomingResponse, IncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};
use crate::WasiCtx;
use crate::p2::io::Subscribe;
use crate::p2::wasi::http::outgoing_handler;

/// The timeouts a request has when its options do not say (wasmtime's).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How many response body frames the forwarding task reads ahead of the
/// guest.
const FRAMES_AHEAD: usize = 4;

/// What an outgoing request's task ends with.
type Outcome = std::result::Result<IncomingResponse, ErrorCode>;

/// A request in flight, or its outcome.
pub(crate) enum InFlight {
    Running(JoinHandle<Outcome>),
    Done(Outcome),
    /// `get` took the outcome.
    Taken,
}

impl InFlight {
    /// Polls the task once without blocking.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let InFlight::Running(h) = self {
            match Pin::new(h).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => {
                    *self = InFlight::Done(r.unwrap_or_else(|e| {
                        Err(ErrorCode::InternalError(Some(format!(
                            "the request's task failed: {e}"
                        ))))
                    }))
                }
            }
        }
        Poll::Ready(())
    }

    /// `future-incoming-response.get`: `None` while running, `Some(None)`
    /// once taken, else the outcome (taken).
    pub(crate) fn take_now(&mut self) -> Option<Option<Outcome>> {
        let mut cx = Context::from_waker(Waker::noop());
        if self.poll_done(&mut cx).is_pending() {
            return None;
        }
        match std::mem::replace(self, InFlight::Taken) {
            InFlight::Done(r) => Some(Some(r)),
            _ => Some(None),
        }
    }
}

impl Subscribe for FutureIncomingResponse {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::poll_fn(move |cx| self.state.poll_done(cx)))
    }
}

/// The tokio runtime requests are sent from: the caller's when the guest
/// runs in an async call on one, else one for the process (a synchronous
/// call parks its thread, so the task must run elsewhere).
fn runtime() -> std::result::Result<tokio::runtime::Handle, ErrorCode> {
    if nyash_engine::host::in_async_call()
        && let Ok(h) = tokio::runtime::Handle::try_current()
    {
        return Ok(h);
    }
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("nyash-wasi-http")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map(|rt| rt.handle().clone())
        .map_err(|e| ErrorCode::InternalError(Some(format!("cannot start the HTTP runtime: {e}"))))
}

/// Nanoseconds (a request option) as a duration, or the default.
fn timeout(ns: Option<u64>) -> Duration {
    ns.map_or(DEFAULT_TIMEOUT, Duration::from_nanos)
}

/// An I/O error of connecting as an error code.
fn connect_error(e: &std::io::Error) -> ErrorCode {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => ErrorCode::ConnectionRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            ErrorCode::ConnectionTerminated
        }
        K::TimedOut => ErrorCode::ConnectionTimeout,
        K::NotFound => ErrorCode::DestinationNotFound,
        _ if e.to_string().contains("failed to lookup address") => {
            ErrorCode::DnsError(super::super::wasi::http::types::DnsErrorPayload {
                rcode: Some(e.to_string()),
                info_code: None,
            })
        }
        _ => ErrorCode::DestinationUnavailable,
    }
}

/// A hyper error as an error code.
fn hyper_error(e: &hyper::Error) -> ErrorCode {
    if e.is_parse() || e.is_parse_status() {
        ErrorCode::HttpProtocolError
    } else if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        ErrorCode::HttpResponseIncomplete
    } else if e.is_timeout() {
        ErrorCode::ConnectionReadTimeout
    } else {
        ErrorCode::InternalError(Some(e.to_string()))
    }
}

/// A response body forwarded by a task, frame by frame.
struct ChannelBody(mpsc::Receiver<std::result::Result<Frame<Bytes>, ErrorCode>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, ErrorCode>>> {
        self.0.poll_recv(cx)
    }
}

/// Sends `req` (already checked) to `addr` and waits for the response's
/// head; its body is forwarded by another task.
async fn send(addr: String, req: http::Request<HostBody>, opts: RequestOptions) -> Outcome {
    let connect = tokio::net::TcpStream::connect(addr);
    let tcp = match tokio::time::timeout(timeout(opts.connect_timeout), connect).await {
        Err(_) => return Err(ErrorCode::ConnectionTimeout),
        Ok(Err(e)) => return Err(connect_error(&e)),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| hyper_error(&e))?;
    tokio::spawn(async move {
        // The connection's errors reach the response (or its body).
        let _ = conn.await;
    });
    let resp = match tokio::time::timeout(
        timeout(opts.first_byte_timeout),
        sender.send_request(req),
    )
    .await
    {
        Err(_) => return Err(ErrorCode::ConnectionReadTimeout),
        Ok(r) => r.map_err(|e| hyper_error(&e))?,
    };
    let (parts, mut body) = resp.into_parts();
    let between = timeout(opts.between_bytes_timeout);
    let (tx, rx) = mpsc::channel(FRAMES_AHEAD);
    tokio::spawn(async move {
        loop {
            let frame = match tokio::time::timeout(between, body.frame()).await {
                Err(_) => Some(Err(ErrorCode::ConnectionReadTimeout)),
                Ok(None) => None,
                Ok(Some(r)) => Some(r.map_err(|e| hyper_error(&e))),
            };
            let Some(frame) = frame else { break };
            let failed = frame.is_err();
            // The guest dropped the body: stop reading it.
            if tx.send(frame).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(IncomingResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: Some(ChannelBody(rx).boxed_unsync()),
    })
}

impl WasiCtx {
    /// Checks `req` and starts sending it; the error code of a request
    /// that cannot be sent.
    fn start_request(
        &mut self,
        req: OutgoingRequest,
        opts: RequestOptions,
    ) -> std::result::Result<JoinHandle<Outcome>, ErrorCode> {
        if !self.allow_http {
            return Err(ErrorCode::HttpRequestDenied);
        }
        match &req.scheme {
            Some(Scheme::Http) => {}
            Some(Scheme::Https) | None => {
                return Err(ErrorCode::InternalError(Some(
                    "https is not supported: nyash-engine has no TLS client (use http://)"
                        .to_string(),
                )));
            }
            Some(Scheme::Other(s)) => {
                return Err(ErrorCode::InternalError(Some(format!(
                    "scheme `{s}` is not supported (only http)"
                ))));
            }
        }
        let Some(authority) = &req.authority else {
            return Err(ErrorCode::HttpRequestUriInvalid);
        };
        let auth = http::uri::Authority::try_from(authority.as_str())
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
        let addr = format!("{}:{}", auth.host(), auth.port_u16().unwrap_or(80));
        let method = to_http_method(&req.method).ok_or(ErrorCode::HttpRequestMethodInvalid)?;
        let path = req.path_with_query.as_deref().unwrap_or("/");
        let uri = http::Uri::builder()
            .path_and_query(path)
            .build()
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
        let mut r = http::Request::new(match req.body {
            Some(pipe) => HostBody::pipe(pipe),
            None => HostBody::empty(),
        });
        *r.method_mut() = method;
        *r.uri_mut() = uri;
        *r.headers_mut() = req.headers;
        let host = http::HeaderValue::from_str(auth.as_str())
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
        r.headers_mut().insert(http::header::HOST, host);
        let rt = runtime()?;
        Ok(rt.spawn(send(addr, r, opts)))
    }
}

impl outgoing_handler::Host for WasiCtx {
    fn handle(
        &mut self,
        request: Resource<OutgoingRequest>,
        options: Option<Resource<RequestOptions>>,
    ) -> Result<std::result::Result<Resource<FutureIncomingResponse>, ErrorCode>> {
        const WHAT: &str = "wasi:http/outgoing-handler handle";
        let req = self.table.delete(request).map_err(table_error(WHAT))?;
        let opts = match options {
            Some(o) => self.table.delete(o).map_err(table_error(WHAT))?,
            None => RequestOptions::default(),
        };
        let state = match self.start_request(req, opts) {
            Ok(task) => InFlight::Running(task),
            Err(code) => return Ok(Err(code)),
        };
        self.table
            .push(FutureIncomingResponse { state })
            .map_err(table_error(WHAT))
            .map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::p2::io::{DynInputStream, StreamError};
    use crate::p2::wasi::http::types::{
        HostFields, HostFutureIncomingResponse, HostIncomingBody, HostIncomingResponse,
        HostOutgoingBody, HostOutgoingRequest,
    };

    fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    /// An outgoing POST of `body` to `authority`, sent; the future.
    fn post(
        c: &mut WasiCtx,
        authority: &str,
        body: &[u8],
    ) -> std::result::Result<Resource<FutureIncomingResponse>, ErrorCode> {
        let h = HostFields::new(c).unwrap();
        HostFields::append(
            c,
            borrow(&h),
            "content-length".into(),
            body.len().to_string().into(),
        )
        .unwrap()
        .unwrap();
        let req = HostOutgoingRequest::new(c, h).unwrap();
        HostOutgoingRequest::set_method(c, borrow(&req), super::super::Method::Post)
            .unwrap()
            .unwrap();
        HostOutgoingRequest::set_scheme(c, borrow(&req), Some(Scheme::Http))
            .unwrap()
            .unwrap();
        HostOutgoingRequest::set_authority(c, borrow(&req), Some(authority.into()))
            .unwrap()
            .unwrap();
        HostOutgoingRequest::set_path_with_query(c, borrow(&req), Some("/up?x=1".into()))
            .unwrap()
            .unwrap();
        let b = HostOutgoingRequest::body(c, borrow(&req)).unwrap().unwrap();
        let s = HostOutgoingBody::write(c, borrow(&b)).unwrap().unwrap();
        let stream = c.table.get_mut(&s).unwrap();
        stream.write(body).unwrap();
        c.table.delete(s).unwrap();
        HostOutgoingBody::finish(c, b, None).unwrap().unwrap();
        outgoing_handler::Host::handle(c, req, None).unwrap()
    }

    /// Waits for the response (a synchronous caller: the request runs on
    /// the process's runtime).
    fn wait(
        c: &mut WasiCtx,
        f: &Resource<FutureIncomingResponse>,
    ) -> std::result::Result<Resource<IncomingResponse>, ErrorCode> {
        let fut = c.table.get_mut(f).unwrap();
        nyash_engine::host::block_on(fut.ready()).unwrap();
        HostFutureIncomingResponse::get(c, borrow(f))
            .unwrap()
            .expect("ready")
            .expect("first get")
    }

    #[test]
    fn requests_are_refused_unless_allowed() {
        let mut c = WasiCtx::builder().build().unwrap();
        assert_eq!(
            post(&mut c, "127.0.0.1:9", b"").err(),
            Some(ErrorCode::HttpRequestDenied)
        );
    }

    #[test]
    fn a_post_reaches_a_server_and_its_response_streams_back() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // Head and the 5-byte body.
            while !got.windows(4).any(|w| w == b"\r\n\r\n") || !got.ends_with(b"hello") {
                let n = s.read(&mut buf).unwrap();
                assert!(
                    n > 0,
                    "the client closed early: {:?}",
                    String::from_utf8_lossy(&got)
                );
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 201 Created\r\nx-reply: yes\r\ncontent-length: 6\r\n\r\nthanks")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let mut c = WasiCtx::builder().allow_http(true).build().unwrap();
        let f = post(&mut c, &addr.to_string(), b"hello").unwrap();
        let resp = wait(&mut c, &f).unwrap();
        assert_eq!(
            HostIncomingResponse::status(&mut c, borrow(&resp)).unwrap(),
            201
        );
        let h = HostIncomingResponse::headers(&mut c, borrow(&resp)).unwrap();
        assert_eq!(
            HostFields::get(&mut c, borrow(&h), "x-reply".into()).unwrap(),
            vec![b"yes".to_vec()]
        );
        let body = HostIncomingResponse::consume(&mut c, borrow(&resp))
            .unwrap()
            .unwrap();
        let s = HostIncomingBody::stream(&mut c, borrow(&body))
            .unwrap()
            .unwrap();
        let mut got = Vec::new();
        let stream: &mut DynInputStream = c.table.get_mut(&s).unwrap();
        loop {
            match stream.read(1024) {
                Ok(b) if b.is_empty() => nyash_engine::host::block_on(stream.ready()).unwrap(),
                Ok(b) => got.extend_from_slice(&b),
                Err(StreamError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, b"thanks");
        let head = server.join().unwrap();
        assert!(head.starts_with("POST /up?x=1 HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains(&format!("host: {addr}")),
            "{head}"
        );
        // A second get: the response was taken.
        assert!(matches!(
            HostFutureIncomingResponse::get(&mut c, borrow(&f)).unwrap(),
            Some(Err(()))
        ));
    }

    #[test]
    fn connection_refused_and_https_are_error_codes() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = WasiCtx::builder().allow_http(true).build().unwrap();
        let f = post(&mut c, &format!("127.0.0.1:{port}"), b"").unwrap();
        assert_eq!(wait(&mut c, &f).err(), Some(ErrorCode::ConnectionRefused));
        let h = HostFields::new(&mut c).unwrap();
        let req = HostOutgoingRequest::new(&mut c, h).unwrap();
        HostOutgoingRequest::set_authority(&mut c, borrow(&req), Some("example.com".into()))
            .unwrap()
            .unwrap();
        HostOutgoingRequest::set_scheme(&mut c, borrow(&req), Some(Scheme::Https))
            .unwrap()
            .unwrap();
        match outgoing_handler::Host::handle(&mut c, req, None).unwrap() {
            Err(ErrorCode::InternalError(Some(m))) => assert!(m.contains("TLS"), "{m}"),
            other => panic!("{:?}", other.map(|r| r.rep())),
        }
    }
}

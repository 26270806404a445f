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
use super::types::to_http_method;
use super::{ErrorCode, FutureIncomingResponse, IncomingResponse, OutgoingRequest, RequestOptions, Scheme};
use crate::WasiCtx;
use super::table_error;
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
async fn send(
    addr: String,
    req: http::Request<HostBody>,
    opts: RequestOptions,
) -> Outcome {
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
            Ok(task) => client_state(task),
            Err(code) => return Ok(Err(code)),
        };
        self.table
            .push(FutureIncomingResponse { state })
            .map_err(table_error(WHAT))
            .map(Ok)
    }
}

fn client_state(task: JoinHandle<Outcome>) -> InFlight {
    InFlight::Running(task)
}

//! `wasi:http` (WASI 0.2): the message resources of `wasi:http/types`,
//! the outgoing handler (an HTTP/1.1 client on hyper, off unless
//! [`WasiCtxBuilder::allow_http`](crate::WasiCtxBuilder::allow_http)), and
//! what an embedder serving `wasi:http/incoming-handler` needs to hand a
//! request to a guest and get its response back
//! ([`WasiCtx::new_incoming_request`], [`WasiCtx::new_response_outparam`];
//! `nyash-engine serve` is built on them).
//!
//! Every resource is an entry of the context's
//! [`ResourceTable`](nyash_engine::component::ResourceTable), beside the
//! `wasi:io` streams and pollables; bodies are `wasi:io` streams over
//! hyper bodies (see [`body`]). What a guest controls is bounded: a
//! `fields` holds at most [`MAX_FIELDS`] entries and [`MAX_FIELDS_BYTES`]
//! bytes (more traps the call), an outgoing body buffers at most
//! [`PIPE_CAPACITY`] bytes ahead of the peer, reads hand back at most what
//! the stream's reader asks (itself bounded by `wasi:io`).
//!
//! Headers are validated as wasmtime does: names and values must be valid
//! HTTP syntax (`invalid-syntax`), and a guest may not set the
//! hop-by-hop and routing headers the host owns ([`FORBIDDEN_HEADERS`]:
//! `forbidden`). The `headers` of a request or response are immutable
//! copies (`immutable`).

pub mod body;
mod client;
mod types;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use nyash_engine::component::Resource;
use tokio::sync::oneshot;

pub use self::body::{BodyError, HostBody, PIPE_CAPACITY};
use self::body::{IncomingHyperBody, Pipe, SharedReader};
pub(crate) use super::wasi::http::types::{ErrorCode, Method, Scheme};
use crate::WasiCtx;

pub(crate) use crate::p2::io::table_error;

/// The most entries one `fields` resource holds.
pub const MAX_FIELDS: usize = 4096;

/// The most bytes (names and values) one `fields` resource holds.
pub const MAX_FIELDS_BYTES: usize = 256 << 10;

/// Headers a guest may not set, as in wasmtime: the connection's own
/// (hop-by-hop) headers and `host`, which the host derives from the
/// request's authority.
pub const FORBIDDEN_HEADERS: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
];

/// A `wasi:http/types` `error-code` as a Rust error: what an outgoing
/// request or a guest's response failed with, and what a body stream's
/// `wasi:io/error` carries (`http-error-code` gives it back).
#[derive(Debug, Clone)]
pub struct HttpError(pub(crate) ErrorCode);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasi:http error-code {:?}", self.0)
    }
}

impl std::error::Error for HttpError {}

/// A `fields` resource (`headers`, `trailers`): the map, and whether the
/// guest may change it.
pub struct Fields {
    pub(crate) map: HeaderMap,
    pub(crate) mutable: bool,
    /// Bytes of names and values held (bounded by [`MAX_FIELDS_BYTES`]).
    pub(crate) bytes: usize,
}

impl Fields {
    pub(crate) fn new(map: HeaderMap, mutable: bool) -> Fields {
        let bytes = map.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
        Fields {
            map,
            mutable,
            bytes,
        }
    }
}

/// An `incoming-request`: a request the host received, for the guest's
/// `incoming-handler.handle`.
pub struct IncomingRequest {
    pub(crate) method: http::Method,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) authority: Option<String>,
    pub(crate) path_with_query: Option<String>,
    pub(crate) headers: HeaderMap,
    /// The body, until `consume` takes it.
    pub(crate) body: Option<IncomingHyperBody>,
}

/// An `outgoing-request` the guest builds for the outgoing handler.
pub struct OutgoingRequest {
    pub(crate) method: Method,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) authority: Option<String>,
    pub(crate) path_with_query: Option<String>,
    pub(crate) headers: HeaderMap,
    /// The body's pipe, once `body` was called.
    pub(crate) body: Option<Arc<Pipe>>,
}

/// A `request-options`: the outgoing request's timeouts, in nanoseconds.
#[derive(Default, Clone)]
pub struct RequestOptions {
    pub(crate) connect_timeout: Option<u64>,
    pub(crate) first_byte_timeout: Option<u64>,
    pub(crate) between_bytes_timeout: Option<u64>,
}

/// What a guest's `response-outparam.set` hands the host: the response to
/// send (its body streaming as the guest writes it), or the error code the
/// guest answered with.
pub type GuestResponse = Result<http::Response<HostBody>, HttpError>;

/// A `response-outparam`: where the guest's response goes.
pub struct ResponseOutparam {
    pub(crate) tx: oneshot::Sender<GuestResponse>,
}

/// The receiving end of a [`ResponseOutparam`]: completes with the
/// guest's response when it calls `response-outparam.set`, or with an
/// error ([`oneshot::error::RecvError`]) if the outparam was dropped
/// without it (the handler returned or trapped before setting it).
pub type ResponseReceiver = oneshot::Receiver<GuestResponse>;

/// An `incoming-response`: the response an outgoing request got.
pub struct IncomingResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<IncomingHyperBody>,
}

/// An `incoming-body`: the body of an incoming request or response.
pub struct IncomingBody {
    pub(crate) reader: SharedReader,
    pub(crate) stream_taken: bool,
}

/// A `future-trailers`: an incoming body read to its end.
pub struct FutureTrailers {
    pub(crate) reader: SharedReader,
    /// The outcome, once the body ended; `None` inside once `get` took it.
    pub(crate) result: Option<Option<Result<Option<HeaderMap>, ErrorCode>>>,
}

/// An `outgoing-response` the guest builds.
pub struct OutgoingResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Arc<Pipe>>,
}

/// An `outgoing-body`: the guest's side of an outgoing message's body.
pub struct OutgoingBody {
    pub(crate) pipe: Arc<Pipe>,
    pub(crate) stream_taken: bool,
    /// Of a request (else of a response): picks the error code of a
    /// wrong length.
    pub(crate) request: bool,
    /// `finish` was called (the drop then does not break the body).
    pub(crate) finished: bool,
}

impl Drop for OutgoingBody {
    fn drop(&mut self) {
        if !self.finished {
            self.pipe
                .abort("the guest dropped the outgoing-body without finishing it");
        }
    }
}

/// A `future-incoming-response`: an outgoing request in flight.
pub struct FutureIncomingResponse {
    pub(crate) state: client::InFlight,
}

/// The content-length `headers` declare, if one valid one.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a guest may set the header `name` (already lower case).
pub(crate) fn is_forbidden(name: &HeaderName) -> bool {
    FORBIDDEN_HEADERS.contains(&name.as_str())
}

/// `name` as a header name, if valid.
pub(crate) fn header_name(name: &str) -> Option<HeaderName> {
    HeaderName::from_bytes(name.as_bytes()).ok()
}

/// `value` as a header value, if valid.
pub(crate) fn header_value(value: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_bytes(value).ok()
}

/// A hyper-side body error as an error code.
fn body_error_code(e: &dyn std::error::Error) -> ErrorCode {
    ErrorCode::InternalError(Some(e.to_string()))
}

impl WasiCtx {
    /// Puts a request the host received into the table, for a guest's
    /// `wasi:http/incoming-handler.handle`. Its scheme is the URI's (or
    /// `http`), its authority the URI's (or the `host` header's); its
    /// body's errors reach the guest as `wasi:io` errors whose
    /// `http-error-code` is `internal-error` with the error's text.
    pub fn new_incoming_request<B>(
        &mut self,
        request: http::Request<B>,
    ) -> nyash_engine::Result<Resource<IncomingRequest>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error,
    {
        let (parts, body) = request.into_parts();
        let scheme = Some(match parts.uri.scheme_str() {
            None | Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            Some(other) => Scheme::Other(other.to_string()),
        });
        let authority = parts.uri.authority().map(|a| a.to_string()).or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        });
        let path_with_query = parts.uri.path_and_query().map(|p| p.to_string());
        let body = body.map_err(|e| body_error_code(&e)).boxed_unsync();
        self.table
            .push(IncomingRequest {
                method: parts.method,
                scheme,
                authority,
                path_with_query,
                headers: parts.headers,
                body: Some(body),
            })
            .map_err(table_error("wasi:http incoming-request"))
    }

    /// A `response-outparam` in the table, and the end that receives what
    /// the guest sets it to.
    pub fn new_response_outparam(
        &mut self,
    ) -> nyash_engine::Result<(Resource<ResponseOutparam>, ResponseReceiver)> {
        let (tx, rx) = oneshot::channel();
        let r = self
            .table
            .push(ResponseOutparam { tx })
            .map_err(table_error("wasi:http response-outparam"))?;
        Ok((r, rx))
    }
}

/// Defines `wasi:http/types` and `wasi:http/outgoing-handler` (every
/// 0.2.x version) in `linker`, for stores whose data gives access to a
/// `WasiCtx`. The `wasi:io` interfaces the bodies stream through are
/// defined by the `wasi:io` layer.
pub fn add_to_linker<T: crate::WasiView>(
    linker: &mut nyash_engine::component::Linker<T>,
) -> nyash_engine::Result<()> {
    fn get<T: crate::WasiView>(t: &mut T) -> &mut WasiCtx {
        t.wasi()
    }
    super::wasi::http::types::add_to_linker(linker, get::<T>)?;
    super::wasi::http::outgoing_handler::add_to_linker(linker, get::<T>)?;
    Ok(())
}

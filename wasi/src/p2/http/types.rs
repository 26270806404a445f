//! The host functions of `wasi:http/types` on `WasiCtx`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use http::HeaderMap;
use nyash_engine::component::Resource;
use nyash_engine::{Error, Result};

use super::body::{BodyInputStream, BodyReader, HostBody, Pipe};
use super::table_error;
use super::{
    ErrorCode, Fields, FutureIncomingResponse, FutureTrailers, HttpError, IncomingBody,
    IncomingRequest, IncomingResponse, MAX_FIELDS, MAX_FIELDS_BYTES, Method, OutgoingBody,
    OutgoingRequest, OutgoingResponse, RequestOptions, ResponseOutparam, Scheme, content_length,
    header_name, header_value, is_forbidden,
};
use crate::WasiCtx;
use crate::p2::io::{DynInputStream, DynOutputStream, IoError, Pollable, Subscribe};
use crate::p2::wasi::http::types as t;
use t::HeaderError;

/// WIT's `method` as the `http` crate's.
pub(crate) fn to_http_method(m: &Method) -> Option<http::Method> {
    Some(match m {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        Method::Other(s) => http::Method::from_bytes(s.as_bytes()).ok()?,
    })
}

/// The `http` crate's method as WIT's.
fn from_http_method(m: &http::Method) -> Method {
    match *m {
        http::Method::GET => Method::Get,
        http::Method::HEAD => Method::Head,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::DELETE => Method::Delete,
        http::Method::CONNECT => Method::Connect,
        http::Method::OPTIONS => Method::Options,
        http::Method::TRACE => Method::Trace,
        http::Method::PATCH => Method::Patch,
        ref other => Method::Other(other.as_str().to_string()),
    }
}

/// Whether `s` is a scheme a URI may have.
fn valid_scheme(s: &Scheme) -> bool {
    match s {
        Scheme::Http | Scheme::Https => true,
        Scheme::Other(s) => http::uri::Scheme::try_from(s.as_str()).is_ok(),
    }
}

impl WasiCtx {
    fn fields(&mut self, r: &Resource<Fields>, what: &'static str) -> Result<&mut Fields> {
        self.table.get_mut(r).map_err(table_error(what))
    }

    /// `map` as a new `fields` resource.
    fn push_fields(
        &mut self,
        map: HeaderMap,
        mutable: bool,
        what: &'static str,
    ) -> Result<Resource<Fields>> {
        self.table
            .push(Fields::new(map, mutable))
            .map_err(table_error(what))
    }

    /// Takes the map of the (owned) `fields` resource `r` out of the table.
    fn take_fields(&mut self, r: Resource<Fields>, what: &'static str) -> Result<HeaderMap> {
        Ok(self.table.delete(r).map_err(table_error(what))?.map)
    }
}

/// Checks that a `fields` may grow by `add` bytes (one more entry if
/// `entry`); the call traps with `what` past the bounds.
fn check_bounds(f: &Fields, add: usize, entries: usize, what: &str) -> Result<()> {
    if f.map.len() + entries > MAX_FIELDS {
        return Err(Error::msg(format!(
            "wasi:http/types fields.{what}: more than {MAX_FIELDS} fields"
        )));
    }
    if f.bytes.saturating_add(add) > MAX_FIELDS_BYTES {
        return Err(Error::msg(format!(
            "wasi:http/types fields.{what}: more than {MAX_FIELDS_BYTES} bytes of names and values"
        )));
    }
    Ok(())
}

impl t::HostFields for WasiCtx {
    fn new(&mut self) -> Result<Resource<Fields>> {
        self.push_fields(HeaderMap::new(), true, "wasi:http/types fields")
    }

    fn from_list(
        &mut self,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<std::result::Result<Resource<Fields>, HeaderError>> {
        let mut f = Fields::new(HeaderMap::new(), true);
        for (name, value) in entries {
            let Some(n) = header_name(&name) else {
                return Ok(Err(HeaderError::InvalidSyntax));
            };
            if is_forbidden(&n) {
                return Ok(Err(HeaderError::Forbidden));
            }
            let Some(v) = header_value(&value) else {
                return Ok(Err(HeaderError::InvalidSyntax));
            };
            let add = n.as_str().len() + v.len();
            check_bounds(&f, add, 1, "from-list")?;
            f.bytes += add;
            f.map.append(n, v);
        }
        self.table
            .push(f)
            .map_err(table_error("wasi:http/types fields.from-list"))
            .map(Ok)
    }

    fn get(&mut self, r: Resource<Fields>, name: String) -> Result<Vec<Vec<u8>>> {
        let f = self.fields(&r, "wasi:http/types fields.get")?;
        Ok(match header_name(&name) {
            Some(n) => f
                .map
                .get_all(n)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect(),
            None => Vec::new(),
        })
    }

    fn has(&mut self, r: Resource<Fields>, name: String) -> Result<bool> {
        let f = self.fields(&r, "wasi:http/types fields.has")?;
        Ok(header_name(&name).is_some_and(|n| f.map.contains_key(n)))
    }

    fn set(
        &mut self,
        r: Resource<Fields>,
        name: String,
        values: Vec<Vec<u8>>,
    ) -> Result<std::result::Result<(), HeaderError>> {
        let f = self.fields(&r, "wasi:http/types fields.set")?;
        if !f.mutable {
            return Ok(Err(HeaderError::Immutable));
        }
        let Some(n) = header_name(&name) else {
            return Ok(Err(HeaderError::InvalidSyntax));
        };
        if is_forbidden(&n) {
            return Ok(Err(HeaderError::Forbidden));
        }
        let mut vs = Vec::with_capacity(values.len().min(MAX_FIELDS));
        for v in &values {
            match header_value(v) {
                Some(v) => vs.push(v),
                None => return Ok(Err(HeaderError::InvalidSyntax)),
            }
        }
        let old: usize = f
            .map
            .get_all(&n)
            .iter()
            .map(|v| n.as_str().len() + v.len())
            .sum();
        let old_n = f.map.get_all(&n).iter().count();
        let add: usize = vs.iter().map(|v| n.as_str().len() + v.len()).sum();
        if f.map.len() - old_n + vs.len() > MAX_FIELDS {
            return Err(Error::msg(format!(
                "wasi:http/types fields.set: more than {MAX_FIELDS} fields"
            )));
        }
        let bytes = f.bytes - old + add;
        if bytes > MAX_FIELDS_BYTES {
            return Err(Error::msg(format!(
                "wasi:http/types fields.set: more than {MAX_FIELDS_BYTES} bytes of names and values"
            )));
        }
        f.map.remove(&n);
        for v in vs {
            f.map.append(n.clone(), v);
        }
        f.bytes = bytes;
        Ok(Ok(()))
    }

    fn delete(
        &mut self,
        r: Resource<Fields>,
        name: String,
    ) -> Result<std::result::Result<(), HeaderError>> {
        let f = self.fields(&r, "wasi:http/types fields.delete")?;
        if !f.mutable {
            return Ok(Err(HeaderError::Immutable));
        }
        let Some(n) = header_name(&name) else {
            return Ok(Err(HeaderError::InvalidSyntax));
        };
        if is_forbidden(&n) {
            return Ok(Err(HeaderError::Forbidden));
        }
        let gone: usize = f
            .map
            .get_all(&n)
            .iter()
            .map(|v| n.as_str().len() + v.len())
            .sum();
        f.map.remove(&n);
        f.bytes -= gone;
        Ok(Ok(()))
    }

    fn append(
        &mut self,
        r: Resource<Fields>,
        name: String,
        value: Vec<u8>,
    ) -> Result<std::result::Result<(), HeaderError>> {
        let f = self.fields(&r, "wasi:http/types fields.append")?;
        if !f.mutable {
            return Ok(Err(HeaderError::Immutable));
        }
        let Some(n) = header_name(&name) else {
            return Ok(Err(HeaderError::InvalidSyntax));
        };
        if is_forbidden(&n) {
            return Ok(Err(HeaderError::Forbidden));
        }
        let Some(v) = header_value(&value) else {
            return Ok(Err(HeaderError::InvalidSyntax));
        };
        let add = n.as_str().len() + v.len();
        check_bounds(f, add, 1, "append")?;
        f.bytes += add;
        f.map.append(n, v);
        Ok(Ok(()))
    }

    fn entries(&mut self, r: Resource<Fields>) -> Result<Vec<(String, Vec<u8>)>> {
        let f = self.fields(&r, "wasi:http/types fields.entries")?;
        Ok(f.map
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec()))
            .collect())
    }

    fn clone(&mut self, r: Resource<Fields>) -> Result<Resource<Fields>> {
        let map = self.fields(&r, "wasi:http/types fields.clone")?.map.clone();
        self.push_fields(map, true, "wasi:http/types fields.clone")
    }

    fn drop(&mut self, r: Resource<Fields>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types fields drop"))
    }
}

impl t::HostIncomingRequest for WasiCtx {
    fn method(&mut self, r: Resource<IncomingRequest>) -> Result<Method> {
        let req = self
            .table
            .get(&r)
            .map_err(table_error("wasi:http/types incoming-request.method"))?;
        Ok(from_http_method(&req.method))
    }

    fn path_with_query(&mut self, r: Resource<IncomingRequest>) -> Result<Option<String>> {
        let req = self.table.get(&r).map_err(table_error(
            "wasi:http/types incoming-request.path-with-query",
        ))?;
        Ok(req.path_with_query.clone())
    }

    fn scheme(&mut self, r: Resource<IncomingRequest>) -> Result<Option<Scheme>> {
        let req = self
            .table
            .get(&r)
            .map_err(table_error("wasi:http/types incoming-request.scheme"))?;
        Ok(req.scheme.clone())
    }

    fn authority(&mut self, r: Resource<IncomingRequest>) -> Result<Option<String>> {
        let req = self
            .table
            .get(&r)
            .map_err(table_error("wasi:http/types incoming-request.authority"))?;
        Ok(req.authority.clone())
    }

    fn headers(&mut self, r: Resource<IncomingRequest>) -> Result<Resource<Fields>> {
        let map = self
            .table
            .get(&r)
            .map_err(table_error("wasi:http/types incoming-request.headers"))?
            .headers
            .clone();
        self.push_fields(map, false, "wasi:http/types incoming-request.headers")
    }

    fn consume(
        &mut self,
        r: Resource<IncomingRequest>,
    ) -> Result<std::result::Result<Resource<IncomingBody>, ()>> {
        let req = self
            .table
            .get_mut(&r)
            .map_err(table_error("wasi:http/types incoming-request.consume"))?;
        let Some(body) = req.body.take() else {
            return Ok(Err(()));
        };
        self.push_incoming_body(body, "wasi:http/types incoming-request.consume")
            .map(Ok)
    }

    fn drop(&mut self, r: Resource<IncomingRequest>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types incoming-request drop"))
    }
}

impl WasiCtx {
    fn push_incoming_body(
        &mut self,
        body: super::body::IncomingHyperBody,
        what: &'static str,
    ) -> Result<Resource<IncomingBody>> {
        self.table
            .push(IncomingBody {
                reader: Arc::new(Mutex::new(BodyReader::new(body))),
                stream_taken: false,
            })
            .map_err(table_error(what))
    }

    fn out_req(
        &mut self,
        r: &Resource<OutgoingRequest>,
        what: &'static str,
    ) -> Result<&mut OutgoingRequest> {
        self.table.get_mut(r).map_err(table_error(what))
    }

    fn out_resp(
        &mut self,
        r: &Resource<OutgoingResponse>,
        what: &'static str,
    ) -> Result<&mut OutgoingResponse> {
        self.table.get_mut(r).map_err(table_error(what))
    }

    /// A new outgoing body over a pipe of `content_length`.
    fn push_outgoing_body(
        &mut self,
        pipe: Arc<Pipe>,
        request: bool,
        what: &'static str,
    ) -> Result<Resource<OutgoingBody>> {
        self.table
            .push(OutgoingBody {
                pipe,
                stream_taken: false,
                request,
                finished: false,
            })
            .map_err(table_error(what))
    }
}

impl t::HostOutgoingRequest for WasiCtx {
    fn new(&mut self, headers: Resource<Fields>) -> Result<Resource<OutgoingRequest>> {
        let headers = self.take_fields(headers, "wasi:http/types outgoing-request constructor")?;
        self.table
            .push(OutgoingRequest {
                method: Method::Get,
                scheme: None,
                authority: None,
                path_with_query: None,
                headers,
                body: None,
            })
            .map_err(table_error("wasi:http/types outgoing-request constructor"))
    }

    fn body(
        &mut self,
        r: Resource<OutgoingRequest>,
    ) -> Result<std::result::Result<Resource<OutgoingBody>, ()>> {
        const WHAT: &str = "wasi:http/types outgoing-request.body";
        let req = self.out_req(&r, WHAT)?;
        if req.body.is_some() {
            return Ok(Err(()));
        }
        let pipe = Pipe::new(content_length(&req.headers));
        req.body = Some(pipe.clone());
        self.push_outgoing_body(pipe, true, WHAT).map(Ok)
    }

    fn method(&mut self, r: Resource<OutgoingRequest>) -> Result<Method> {
        Ok(self
            .out_req(&r, "wasi:http/types outgoing-request.method")?
            .method
            .clone())
    }

    fn set_method(
        &mut self,
        r: Resource<OutgoingRequest>,
        method: Method,
    ) -> Result<std::result::Result<(), ()>> {
        let req = self.out_req(&r, "wasi:http/types outgoing-request.set-method")?;
        if to_http_method(&method).is_none() {
            return Ok(Err(()));
        }
        req.method = method;
        Ok(Ok(()))
    }

    fn path_with_query(&mut self, r: Resource<OutgoingRequest>) -> Result<Option<String>> {
        Ok(self
            .out_req(&r, "wasi:http/types outgoing-request.path-with-query")?
            .path_with_query
            .clone())
    }

    fn set_path_with_query(
        &mut self,
        r: Resource<OutgoingRequest>,
        p: Option<String>,
    ) -> Result<std::result::Result<(), ()>> {
        let req = self.out_req(&r, "wasi:http/types outgoing-request.set-path-with-query")?;
        if let Some(p) = &p
            && http::uri::PathAndQuery::try_from(p.as_str()).is_err()
        {
            return Ok(Err(()));
        }
        req.path_with_query = p;
        Ok(Ok(()))
    }

    fn scheme(&mut self, r: Resource<OutgoingRequest>) -> Result<Option<Scheme>> {
        Ok(self
            .out_req(&r, "wasi:http/types outgoing-request.scheme")?
            .scheme
            .clone())
    }

    fn set_scheme(
        &mut self,
        r: Resource<OutgoingRequest>,
        s: Option<Scheme>,
    ) -> Result<std::result::Result<(), ()>> {
        let req = self.out_req(&r, "wasi:http/types outgoing-request.set-scheme")?;
        if s.as_ref().is_some_and(|s| !valid_scheme(s)) {
            return Ok(Err(()));
        }
        req.scheme = s;
        Ok(Ok(()))
    }

    fn authority(&mut self, r: Resource<OutgoingRequest>) -> Result<Option<String>> {
        Ok(self
            .out_req(&r, "wasi:http/types outgoing-request.authority")?
            .authority
            .clone())
    }

    fn set_authority(
        &mut self,
        r: Resource<OutgoingRequest>,
        a: Option<String>,
    ) -> Result<std::result::Result<(), ()>> {
        let req = self.out_req(&r, "wasi:http/types outgoing-request.set-authority")?;
        if let Some(a) = &a
            && http::uri::Authority::try_from(a.as_str()).is_err()
        {
            return Ok(Err(()));
        }
        req.authority = a;
        Ok(Ok(()))
    }

    fn headers(&mut self, r: Resource<OutgoingRequest>) -> Result<Resource<Fields>> {
        const WHAT: &str = "wasi:http/types outgoing-request.headers";
        let map = self.out_req(&r, WHAT)?.headers.clone();
        self.push_fields(map, false, WHAT)
    }

    fn drop(&mut self, r: Resource<OutgoingRequest>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types outgoing-request drop"))
    }
}

/// Nanoseconds as a request-option's value: `Err` if it is too large to
/// be a timeout the host can keep (more than a year).
fn valid_timeout(d: Option<u64>) -> bool {
    d.is_none_or(|d| d <= 365 * 24 * 3600 * 1_000_000_000)
}

impl t::HostRequestOptions for WasiCtx {
    fn new(&mut self) -> Result<Resource<RequestOptions>> {
        self.table
            .push(RequestOptions::default())
            .map_err(table_error("wasi:http/types request-options constructor"))
    }

    fn connect_timeout(&mut self, r: Resource<RequestOptions>) -> Result<Option<u64>> {
        Ok(self
            .table
            .get(&r)
            .map_err(table_error(
                "wasi:http/types request-options.connect-timeout",
            ))?
            .connect_timeout)
    }

    fn set_connect_timeout(
        &mut self,
        r: Resource<RequestOptions>,
        d: Option<u64>,
    ) -> Result<std::result::Result<(), ()>> {
        let o = self.table.get_mut(&r).map_err(table_error(
            "wasi:http/types request-options.set-connect-timeout",
        ))?;
        if !valid_timeout(d) {
            return Ok(Err(()));
        }
        o.connect_timeout = d;
        Ok(Ok(()))
    }

    fn first_byte_timeout(&mut self, r: Resource<RequestOptions>) -> Result<Option<u64>> {
        Ok(self
            .table
            .get(&r)
            .map_err(table_error(
                "wasi:http/types request-options.first-byte-timeout",
            ))?
            .first_byte_timeout)
    }

    fn set_first_byte_timeout(
        &mut self,
        r: Resource<RequestOptions>,
        d: Option<u64>,
    ) -> Result<std::result::Result<(), ()>> {
        let o = self.table.get_mut(&r).map_err(table_error(
            "wasi:http/types request-options.set-first-byte-timeout",
        ))?;
        if !valid_timeout(d) {
            return Ok(Err(()));
        }
        o.first_byte_timeout = d;
        Ok(Ok(()))
    }

    fn between_bytes_timeout(&mut self, r: Resource<RequestOptions>) -> Result<Option<u64>> {
        Ok(self
            .table
            .get(&r)
            .map_err(table_error(
                "wasi:http/types request-options.between-bytes-timeout",
            ))?
            .between_bytes_timeout)
    }

    fn set_between_bytes_timeout(
        &mut self,
        r: Resource<RequestOptions>,
        d: Option<u64>,
    ) -> Result<std::result::Result<(), ()>> {
        let o = self.table.get_mut(&r).map_err(table_error(
            "wasi:http/types request-options.set-between-bytes-timeout",
        ))?;
        if !valid_timeout(d) {
            return Ok(Err(()));
        }
        o.between_bytes_timeout = d;
        Ok(Ok(()))
    }

    fn drop(&mut self, r: Resource<RequestOptions>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types request-options drop"))
    }
}

impl t::HostResponseOutparam for WasiCtx {
    fn set(
        &mut self,
        param: Resource<ResponseOutparam>,
        response: std::result::Result<Resource<OutgoingResponse>, ErrorCode>,
    ) -> Result<()> {
        const WHAT: &str = "wasi:http/types response-outparam.set";
        let param = self.table.delete(param).map_err(table_error(WHAT))?;
        let response = match response {
            Ok(r) => {
                let r = self.table.delete(r).map_err(table_error(WHAT))?;
                let mut resp = http::Response::new(match r.body {
                    Some(pipe) => HostBody::pipe(pipe),
                    None => HostBody::empty(),
                });
                *resp.status_mut() = http::StatusCode::from_u16(r.status)
                    .map_err(|_| Error::msg(format!("{WHAT}: status {}", r.status)))?;
                *resp.headers_mut() = r.headers;
                Ok(resp)
            }
            Err(code) => Err(HttpError(code)),
        };
        // The receiver may be gone (the client left): nothing to tell.
        let _ = param.tx.send(response);
        Ok(())
    }

    fn drop(&mut self, r: Resource<ResponseOutparam>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types response-outparam drop"))
    }
}

impl t::HostIncomingResponse for WasiCtx {
    fn status(&mut self, r: Resource<IncomingResponse>) -> Result<u16> {
        Ok(self
            .table
            .get(&r)
            .map_err(table_error("wasi:http/types incoming-response.status"))?
            .status)
    }

    fn headers(&mut self, r: Resource<IncomingResponse>) -> Result<Resource<Fields>> {
        const WHAT: &str = "wasi:http/types incoming-response.headers";
        let map = self
            .table
            .get(&r)
            .map_err(table_error(WHAT))?
            .headers
            .clone();
        self.push_fields(map, false, WHAT)
    }

    fn consume(
        &mut self,
        r: Resource<IncomingResponse>,
    ) -> Result<std::result::Result<Resource<IncomingBody>, ()>> {
        const WHAT: &str = "wasi:http/types incoming-response.consume";
        let resp = self.table.get_mut(&r).map_err(table_error(WHAT))?;
        let Some(body) = resp.body.take() else {
            return Ok(Err(()));
        };
        self.push_incoming_body(body, WHAT).map(Ok)
    }

    fn drop(&mut self, r: Resource<IncomingResponse>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types incoming-response drop"))
    }
}

impl t::HostIncomingBody for WasiCtx {
    fn stream(
        &mut self,
        r: Resource<IncomingBody>,
    ) -> Result<std::result::Result<Resource<DynInputStream>, ()>> {
        const WHAT: &str = "wasi:http/types incoming-body.stream";
        let b = self.table.get_mut(&r).map_err(table_error(WHAT))?;
        if b.stream_taken {
            return Ok(Err(()));
        }
        b.stream_taken = true;
        let s: DynInputStream = Box::new(BodyInputStream(b.reader.clone()));
        self.table
            .push_child(s, &r)
            .map_err(table_error(WHAT))
            .map(Ok)
    }

    fn finish(&mut self, r: Resource<IncomingBody>) -> Result<Resource<FutureTrailers>> {
        const WHAT: &str = "wasi:http/types incoming-body.finish";
        let b = self.table.delete(r).map_err(|e| {
            Error::msg(format!(
                "{WHAT}: {e} (its input-stream must be dropped first)"
            ))
        })?;
        self.table
            .push(FutureTrailers {
                reader: b.reader,
                result: None,
            })
            .map_err(table_error(WHAT))
    }

    fn drop(&mut self, r: Resource<IncomingBody>) -> Result<()> {
        self.table.delete(r).map(drop).map_err(|e| {
            Error::msg(format!(
                "wasi:http/types incoming-body drop: {e} (its input-stream must be dropped first)"
            ))
        })
    }
}

impl Subscribe for FutureTrailers {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::poll_fn(move |cx| self.poll_result(cx)))
    }
}

impl FutureTrailers {
    /// Reads the body to its end: `Ready` once the outcome is known.
    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.result.is_some() {
            return Poll::Ready(());
        }
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        match reader.poll_trailers(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                drop(reader);
                self.result = Some(Some(r));
                Poll::Ready(())
            }
        }
    }
}

/// What `future-trailers.get` returns.
type TrailersResult =
    Option<std::result::Result<std::result::Result<Option<Resource<Fields>>, ErrorCode>, ()>>;

impl t::HostFutureTrailers for WasiCtx {
    fn subscribe(&mut self, r: Resource<FutureTrailers>) -> Result<Resource<Pollable>> {
        crate::p2::io::subscribe(&mut self.table, &r)
            .map_err(table_error("wasi:http/types future-trailers.subscribe"))
    }

    fn get(&mut self, r: Resource<FutureTrailers>) -> Result<TrailersResult> {
        const WHAT: &str = "wasi:http/types future-trailers.get";
        let f = self.table.get_mut(&r).map_err(table_error(WHAT))?;
        let mut cx = Context::from_waker(Waker::noop());
        if f.poll_result(&mut cx).is_pending() {
            return Ok(None);
        }
        let Some(result) = f.result.as_mut().and_then(Option::take) else {
            return Ok(Some(Err(())));
        };
        Ok(Some(Ok(match result {
            Ok(Some(t)) => Ok(Some(self.push_fields(t, false, WHAT)?)),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        })))
    }

    fn drop(&mut self, r: Resource<FutureTrailers>) -> Result<()> {
        self.table.delete(r).map(drop).map_err(|e| {
            Error::msg(format!(
                "wasi:http/types future-trailers drop: {e} (its pollables must be dropped first)"
            ))
        })
    }
}

impl t::HostOutgoingResponse for WasiCtx {
    fn new(&mut self, headers: Resource<Fields>) -> Result<Resource<OutgoingResponse>> {
        const WHAT: &str = "wasi:http/types outgoing-response constructor";
        let headers = self.take_fields(headers, WHAT)?;
        self.table
            .push(OutgoingResponse {
                status: 200,
                headers,
                body: None,
            })
            .map_err(table_error(WHAT))
    }

    fn status_code(&mut self, r: Resource<OutgoingResponse>) -> Result<u16> {
        Ok(self
            .out_resp(&r, "wasi:http/types outgoing-response.status-code")?
            .status)
    }

    fn set_status_code(
        &mut self,
        r: Resource<OutgoingResponse>,
        status: u16,
    ) -> Result<std::result::Result<(), ()>> {
        let resp = self.out_resp(&r, "wasi:http/types outgoing-response.set-status-code")?;
        if http::StatusCode::from_u16(status).is_err() {
            return Ok(Err(()));
        }
        resp.status = status;
        Ok(Ok(()))
    }

    fn headers(&mut self, r: Resource<OutgoingResponse>) -> Result<Resource<Fields>> {
        const WHAT: &str = "wasi:http/types outgoing-response.headers";
        let map = self.out_resp(&r, WHAT)?.headers.clone();
        self.push_fields(map, false, WHAT)
    }

    fn body(
        &mut self,
        r: Resource<OutgoingResponse>,
    ) -> Result<std::result::Result<Resource<OutgoingBody>, ()>> {
        const WHAT: &str = "wasi:http/types outgoing-response.body";
        let resp = self.out_resp(&r, WHAT)?;
        if resp.body.is_some() {
            return Ok(Err(()));
        }
        let pipe = Pipe::new(content_length(&resp.headers));
        resp.body = Some(pipe.clone());
        self.push_outgoing_body(pipe, false, WHAT).map(Ok)
    }

    fn drop(&mut self, r: Resource<OutgoingResponse>) -> Result<()> {
        self.table
            .delete(r)
            .map(drop)
            .map_err(table_error("wasi:http/types outgoing-response drop"))
    }
}

impl t::HostOutgoingBody for WasiCtx {
    fn write(
        &mut self,
        r: Resource<OutgoingBody>,
    ) -> Result<std::result::Result<Resource<DynOutputStream>, ()>> {
        const WHAT: &str = "wasi:http/types outgoing-body.write";
        let b = self.table.get_mut(&r).map_err(table_error(WHAT))?;
        if b.stream_taken {
            return Ok(Err(()));
        }
        b.stream_taken = true;
        let s: DynOutputStream = Box::new(super::body::BodyOutputStream(b.pipe.clone()));
        self.table
            .push_child(s, &r)
            .map_err(table_error(WHAT))
            .map(Ok)
    }

    fn finish(
        &mut self,
        r: Resource<OutgoingBody>,
        trailers: Option<Resource<Fields>>,
    ) -> Result<std::result::Result<(), ErrorCode>> {
        const WHAT: &str = "wasi:http/types outgoing-body.finish";
        let trailers = match trailers {
            Some(t) => Some(self.take_fields(t, WHAT)?),
            None => None,
        };
        let mut b = self.table.delete(r).map_err(|e| {
            Error::msg(format!(
                "{WHAT}: {e} (its output-stream must be dropped first)"
            ))
        })?;
        b.finished = true;
        let written = b.pipe.written();
        if let Some(want) = b.pipe.content_length
            && want != written
        {
            b.pipe.abort(format!(
                "the body has {written} bytes, its content-length says {want}"
            ));
            return Ok(Err(if b.request {
                ErrorCode::HttpRequestBodySize(Some(written))
            } else {
                ErrorCode::HttpResponseBodySize(Some(written))
            }));
        }
        b.pipe.finish(trailers);
        Ok(Ok(()))
    }

    fn drop(&mut self, r: Resource<OutgoingBody>) -> Result<()> {
        // Dropping it unfinished breaks the body (`OutgoingBody`'s Drop).
        self.table.delete(r).map(drop).map_err(|e| {
            Error::msg(format!(
                "wasi:http/types outgoing-body drop: {e} (its output-stream must be dropped first)"
            ))
        })
    }
}

impl t::HostFutureIncomingResponse for WasiCtx {
    fn subscribe(&mut self, r: Resource<FutureIncomingResponse>) -> Result<Resource<Pollable>> {
        crate::p2::io::subscribe(&mut self.table, &r).map_err(table_error(
            "wasi:http/types future-incoming-response.subscribe",
        ))
    }

    fn get(
        &mut self,
        r: Resource<FutureIncomingResponse>,
    ) -> Result<
        Option<std::result::Result<std::result::Result<Resource<IncomingResponse>, ErrorCode>, ()>>,
    > {
        const WHAT: &str = "wasi:http/types future-incoming-response.get";
        let f = self.table.get_mut(&r).map_err(table_error(WHAT))?;
        match f.state.take_now() {
            None => Ok(None),
            Some(None) => Ok(Some(Err(()))),
            Some(Some(Err(code))) => Ok(Some(Ok(Err(code)))),
            Some(Some(Ok(resp))) => {
                let r = self.table.push(resp).map_err(table_error(WHAT))?;
                Ok(Some(Ok(Ok(r))))
            }
        }
    }

    fn drop(&mut self, r: Resource<FutureIncomingResponse>) -> Result<()> {
        self.table.delete(r).map(drop).map_err(|e| {
            Error::msg(format!(
                "wasi:http/types future-incoming-response drop: {e} (its pollables must be dropped first)"
            ))
        })
    }
}

impl t::Host for WasiCtx {
    fn http_error_code(&mut self, e: Resource<IoError>) -> Result<Option<ErrorCode>> {
        let e = self
            .table
            .get(&e)
            .map_err(table_error("wasi:http/types http-error-code"))?;
        Ok(match e.kind() {
            nyash_engine::ErrorKind::Host(h) => h.downcast_ref::<HttpError>().map(|h| h.0.clone()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use t::{HostFields, HostIncomingRequest, HostOutgoingResponse};

    fn ctx() -> WasiCtx {
        WasiCtx::builder().build().unwrap()
    }

    #[test]
    fn fields_validate_names_values_and_forbidden_headers() {
        let mut c = ctx();
        let ok = c
            .from_list(vec![
                ("Content-Type".into(), b"text/plain".to_vec()),
                ("x-a".into(), b"1".to_vec()),
                ("x-a".into(), b"2".to_vec()),
            ])
            .unwrap()
            .unwrap();
        assert_eq!(
            HostFields::get(&mut c, ok_ref(&ok), "X-A".into()).unwrap(),
            vec![b"1".to_vec(), b"2".to_vec()]
        );
        assert!(HostFields::has(&mut c, ok_ref(&ok), "content-type".into()).unwrap());
        assert!(!HostFields::has(&mut c, ok_ref(&ok), "bad name".into()).unwrap());
        let entries = HostFields::entries(&mut c, ok_ref(&ok)).unwrap();
        assert_eq!(
            entries[0],
            ("content-type".to_string(), b"text/plain".to_vec())
        );
        for (name, value, want) in [
            ("bad name", &b"v"[..], HeaderError::InvalidSyntax),
            ("x-ok", &b"bad\nvalue"[..], HeaderError::InvalidSyntax),
            ("Connection", &b"close"[..], HeaderError::Forbidden),
            ("host", &b"example.com"[..], HeaderError::Forbidden),
            ("Transfer-Encoding", &b"chunked"[..], HeaderError::Forbidden),
        ] {
            let r = c.from_list(vec![(name.into(), value.to_vec())]).unwrap();
            assert_eq!(r.err(), Some(want.clone()), "from-list {name}");
            let f = HostFields::new(&mut c).unwrap();
            let r = HostFields::append(&mut c, ok_ref(&f), name.into(), value.to_vec()).unwrap();
            assert_eq!(r, Err(want.clone()), "append {name}");
            let r = HostFields::set(&mut c, ok_ref(&f), name.into(), vec![value.to_vec()]).unwrap();
            assert_eq!(r, Err(want), "set {name}");
        }
        // set replaces, delete removes.
        HostFields::set(&mut c, ok_ref(&ok), "x-a".into(), vec![b"3".to_vec()])
            .unwrap()
            .unwrap();
        assert_eq!(
            HostFields::get(&mut c, ok_ref(&ok), "x-a".into()).unwrap(),
            vec![b"3".to_vec()]
        );
        HostFields::delete(&mut c, ok_ref(&ok), "x-a".into())
            .unwrap()
            .unwrap();
        assert!(!HostFields::has(&mut c, ok_ref(&ok), "x-a".into()).unwrap());
        // A clone is mutable and separate.
        let copy = HostFields::clone(&mut c, ok_ref(&ok)).unwrap();
        HostFields::append(&mut c, ok_ref(&copy), "x-b".into(), b"1".to_vec())
            .unwrap()
            .unwrap();
        assert!(!HostFields::has(&mut c, ok_ref(&ok), "x-b".into()).unwrap());
    }

    /// A borrow of `r` for a method call (the guest passes handles the
    /// same way: by representation).
    fn ok_ref<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    #[test]
    fn fields_are_bounded() {
        let mut c = ctx();
        let f = HostFields::new(&mut c).unwrap();
        let big = vec![b'a'; 200 << 10];
        HostFields::append(&mut c, ok_ref(&f), "x-big".into(), big.clone())
            .unwrap()
            .unwrap();
        let e = HostFields::append(&mut c, ok_ref(&f), "x-big2".into(), big).unwrap_err();
        assert!(e.to_string().contains("bytes of names and values"), "{e}");
        let many: Vec<_> = (0..MAX_FIELDS + 1)
            .map(|i| (format!("x-{i}"), b"v".to_vec()))
            .collect();
        let e = c.from_list(many).unwrap_err();
        assert!(e.to_string().contains("fields"), "{e}");
    }

    #[test]
    fn request_and_response_headers_are_immutable_copies() {
        let mut c = ctx();
        let req = http::Request::builder()
            .uri("/a?b")
            .header("x-in", "1")
            .header("host", "example.com")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let r = c.new_incoming_request(req).unwrap();
        assert_eq!(
            HostIncomingRequest::path_with_query(&mut c, ok_ref(&r))
                .unwrap()
                .as_deref(),
            Some("/a?b")
        );
        assert_eq!(
            HostIncomingRequest::authority(&mut c, ok_ref(&r))
                .unwrap()
                .as_deref(),
            Some("example.com")
        );
        let h = HostIncomingRequest::headers(&mut c, ok_ref(&r)).unwrap();
        assert_eq!(
            HostFields::append(&mut c, ok_ref(&h), "x-more".into(), b"1".to_vec()).unwrap(),
            Err(HeaderError::Immutable)
        );
        assert_eq!(
            HostFields::delete(&mut c, ok_ref(&h), "x-in".into()).unwrap(),
            Err(HeaderError::Immutable)
        );
        let f = HostFields::new(&mut c).unwrap();
        let resp = HostOutgoingResponse::new(&mut c, f).unwrap();
        let h = HostOutgoingResponse::headers(&mut c, ok_ref(&resp)).unwrap();
        assert_eq!(
            HostFields::set(&mut c, ok_ref(&h), "x-a".into(), vec![]).unwrap(),
            Err(HeaderError::Immutable)
        );
        assert_eq!(
            HostOutgoingResponse::set_status_code(&mut c, ok_ref(&resp), 1000).unwrap(),
            Err(())
        );
        // The body can be taken once.
        assert!(
            HostOutgoingResponse::body(&mut c, ok_ref(&resp))
                .unwrap()
                .is_ok()
        );
        assert!(
            HostOutgoingResponse::body(&mut c, ok_ref(&resp))
                .unwrap()
                .is_err()
        );
    }
}

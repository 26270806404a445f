//! WASI 0.2 for components (work in progress, issue 24): the host side of
//! the `wasi:*@0.2.x` interfaces, over the same core as preview 1
//! (`crate::core`) and the same [`WasiCtx`](crate::WasiCtx).
//!
//! The traits come from `bindgen!` over the vendored WIT (`wit/p2`, world
//! `host`) with `trappable_imports`; each interface's implementation is in
//! the file named after it and is implemented on `WasiCtx`, whose
//! [`ResourceTable`](nyash_engine::component::ResourceTable) holds every
//! resource (streams, pollables, descriptors, sockets, HTTP messages).
//! Host functions are synchronous: what waits (`wasi:io/poll`, the
//! `blocking-*` stream functions) drives a future with
//! [`nyash_engine::host::block_on`], which suspends an async call on its
//! fiber and blocks a synchronous one.

pub mod http;
pub mod io;

#[allow(missing_docs, clippy::all)]
mod bindings {
    nyash_engine::component::bindgen!({
        world: "host",
        path: "wit/p2",
        trappable_imports: true,
        with: {
            "wasi:io/streams/input-stream": crate::p2::io::DynInputStream,
            "wasi:io/streams/output-stream": crate::p2::io::DynOutputStream,
            "wasi:io/poll/pollable": crate::p2::io::Pollable,
            "wasi:io/error/error": crate::p2::io::IoError,
            "wasi:http/types/fields": crate::p2::http::Fields,
            "wasi:http/types/incoming-request": crate::p2::http::IncomingRequest,
            "wasi:http/types/outgoing-request": crate::p2::http::OutgoingRequest,
            "wasi:http/types/request-options": crate::p2::http::RequestOptions,
            "wasi:http/types/response-outparam": crate::p2::http::ResponseOutparam,
            "wasi:http/types/incoming-response": crate::p2::http::IncomingResponse,
            "wasi:http/types/incoming-body": crate::p2::http::IncomingBody,
            "wasi:http/types/future-trailers": crate::p2::http::FutureTrailers,
            "wasi:http/types/outgoing-response": crate::p2::http::OutgoingResponse,
            "wasi:http/types/outgoing-body": crate::p2::http::OutgoingBody,
            "wasi:http/types/future-incoming-response": crate::p2::http::FutureIncomingResponse,
        }
    });
}

#[allow(unused_imports)]
pub(crate) use bindings::wasi;

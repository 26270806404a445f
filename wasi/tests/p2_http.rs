//! `wasi:http` (WASI 0.2) through a component: a hand-written handler
//! (`p2_http_handler.wat`, world `p2_http_handler.wit`) exporting
//! `wasi:http/incoming-handler` and reaching the host only through
//! `wasi:http/types` and `wasi:io/streams`, served in-process the way
//! `nyash-engine serve` serves it: a fresh store and instance per request
//! from one `InstancePre`, the request given with
//! `WasiCtx::new_incoming_request`, the response taken from the
//! `response-outparam`'s receiver while the handler streams its body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use nyash_engine::component::{Component, InstancePre, Linker, Resource};
use nyash_engine::{Config, Engine, Store};
use nyash_wasi::WasiCtx;
use nyash_wasi::p2::http::{IncomingRequest, ResponseOutparam};

/// The test handler, from its WAT and its world (resolved against the
/// vendored WASI 0.2 WIT).
fn component_bytes() -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit/p2"))
        .expect("the vendored WIT resolves");
    let pkg = resolve
        .push_str("p2_http_handler.wit", include_str!("p2_http_handler.wit"))
        .expect("the handler's world resolves");
    let world = resolve
        .select_world(&[pkg], Some("handler"))
        .expect("world");
    let mut module =
        wat::parse_str(include_str!("p2_http_handler.wat")).expect("the WAT assembles");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

struct Server {
    engine: Engine,
    pre: InstancePre<WasiCtx>,
    rt: tokio::runtime::Runtime,
}

fn server() -> Server {
    let mut config = Config::new();
    config.async_support(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, component_bytes()).unwrap();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    nyash_wasi::p2::add_to_linker(&mut linker).unwrap();
    nyash_wasi::p2::http::add_to_linker(&mut linker).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Server { engine, pre, rt }
}

/// What serving one request gave.
#[derive(Debug)]
enum Outcome {
    /// The handler set a response: its status, headers and whole body,
    /// and how the call ended.
    Response(http::response::Parts, Bytes, Result<(), String>),
    /// The handler set an error code (shown).
    ErrorCode(String),
    /// No response: how the call ended.
    NoResponse(Result<(), String>),
}

impl Server {
    fn request(&self, method: &str, body: Vec<u8>) -> Outcome {
        let engine = self.engine.clone();
        let pre = self.pre.clone();
        let req = http::Request::builder()
            .method(method)
            .uri("/path?q=1")
            .header("host", "example.com")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.rt.block_on(async move {
            let mut ctx = WasiCtx::builder().build().unwrap();
            let req = ctx.new_incoming_request(req).unwrap();
            let (out, rx) = ctx.new_response_outparam().unwrap();
            let mut store = Store::new(&engine, ctx);
            // OPTIONS loops: a deadline of 20 ticks, each 10 ms.
            store.set_epoch_deadline(20);
            let ticker = {
                let engine = engine.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        engine.increment_epoch();
                    }
                })
            };
            let call = tokio::spawn(async move {
                let instance = pre.instantiate_async(&mut store).await?;
                let iface = instance
                    .get_export_index(&mut store, None, "wasi:http/incoming-handler@0.2.12")
                    .expect("the handler interface");
                let f = instance
                    .get_export_index(&mut store, Some(&iface), "handle")
                    .expect("handle");
                let handle = instance
                    .get_typed_func::<(Resource<IncomingRequest>, Resource<ResponseOutparam>), ()>(
                        &mut store, &f,
                    )?;
                handle.call_async(&mut store, (req, out)).await
            });
            let ended = |r: Result<nyash_engine::Result<()>, tokio::task::JoinError>| match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("join: {e}")),
            };
            let outcome = match rx.await {
                Ok(Ok(resp)) => {
                    let (parts, body) = resp.into_parts();
                    let bytes = body.collect().await.expect("the body").to_bytes();
                    Outcome::Response(parts, bytes, ended(call.await))
                }
                Ok(Err(e)) => {
                    ended(call.await).expect("the call");
                    Outcome::ErrorCode(e.to_string())
                }
                Err(_) => Outcome::NoResponse(ended(call.await)),
            };
            ticker.abort();
            outcome
        })
    }
}

#[test]
fn get_answers_hello_with_a_header() {
    let s = server();
    let Outcome::Response(parts, body, ended) = s.request("GET", Vec::new()) else {
        panic!("no response")
    };
    assert_eq!(ended, Ok(()));
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers["x-handler"], "wat");
    assert_eq!(&body[..], b"hello from wat\n");
}

#[test]
fn post_echoes_a_1_mib_body_through_the_io_streams() {
    let s = server();
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    let Outcome::Response(parts, body, ended) = s.request("POST", data.clone()) else {
        panic!("no response")
    };
    assert_eq!(ended, Ok(()));
    assert_eq!(parts.status, 200);
    assert_eq!(body.len(), data.len());
    assert!(body[..] == data[..], "the echo differs");
}

#[test]
fn a_trapping_handler_gives_no_response_and_the_trap() {
    let s = server();
    match s.request("PUT", Vec::new()) {
        Outcome::NoResponse(Err(e)) => assert!(e.contains("unreachable"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The next request on the same InstancePre is served.
    assert!(matches!(
        s.request("GET", Vec::new()),
        Outcome::Response(..)
    ));
}

#[test]
fn a_handler_that_never_sets_the_response_is_seen() {
    let s = server();
    assert!(matches!(
        s.request("DELETE", Vec::new()),
        Outcome::NoResponse(Ok(()))
    ));
}

#[test]
fn an_error_code_response_reaches_the_host() {
    let s = server();
    match s.request("PATCH", Vec::new()) {
        Outcome::ErrorCode(e) => assert!(e.contains("HttpResponseIncomplete"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_looping_handler_is_interrupted_by_its_deadline() {
    let s = server();
    match s.request("OPTIONS", Vec::new()) {
        Outcome::NoResponse(Err(e)) => assert!(e.contains("interrupt"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn forbidden_and_immutable_headers_are_refused() {
    let s = server();
    let Outcome::Response(parts, _, ended) = s.request("HEAD", Vec::new()) else {
        panic!("no response")
    };
    assert_eq!(ended, Ok(()));
    // header-error cases: forbidden = 1, immutable = 2.
    assert_eq!(parts.headers["x-errors"], "1,2");
}

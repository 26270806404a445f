//! `wasmtime-serve COMPONENT ADDR`: serves a `wasi:http/proxy` component
//! with wasmtime 48 the way `wasmtime serve` does — one `ProxyPre`, a
//! store and instance per request, `handle` in a task of its own, the
//! response sent when the guest sets it — over hyper's HTTP/1.1 on a
//! 2-worker tokio runtime: the reference `nyash-engine serve` is measured
//! against (`http-load`). Compiled components are kept in
//! `$WASMTIME_RUN_CACHE` as `wasmtime-run` keeps them.

use std::sync::Arc;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// wasmtime's default hooks (the default forbidden headers); their
/// default `send_request` refuses outgoing requests, as the handlers
/// measured send none.
struct Hooks;

type WasiBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, wasmtime_wasi_http::Error>;
type Done = Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

impl wasmtime_wasi_http::WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        _: http::Request<WasiBody>,
        _: Option<wasmtime_wasi_http::RequestOptions>,
        _: Done,
    ) -> Box<
        dyn std::future::Future<
                Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, Done)>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

struct Host {
    hooks: Hooks,
    ctx: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

fn load(engine: &Engine, path: &str) -> Result<Component, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let compile = || Component::new(engine, &bytes).map_err(|e| format!("{path}: {e:?}"));
    let Some(dir) = std::env::var_os("WASMTIME_RUN_CACHE") else {
        return compile();
    };
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let cached = std::path::Path::new(&dir).join(format!("{hash:016x}-{}.cwasm", bytes.len()));
    // SAFETY: the cache holds only what this program serialized.
    if let Ok(c) = unsafe { Component::deserialize_file(engine, &cached) } {
        return Ok(c);
    }
    let c = compile()?;
    if let Ok(data) = c.serialize() {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(&cached, data);
    }
    Ok(c)
}

type Response = hyper::Response<HyperOutgoingBody>;

async fn handle(
    engine: Engine,
    pre: ProxyPre<Host>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<Response, String> {
    let mut store = Store::new(
        &engine,
        Host {
            hooks: Hooks,
            ctx: WasiCtxBuilder::new()
                .inherit_stdout()
                .inherit_stderr()
                .build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        },
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)
        .map_err(|e| e.to_string())?;
    let out = store
        .data_mut()
        .http()
        .new_response_outparam(tx)
        .map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await
    });
    match rx.await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(code)) => Err(format!("error code {code:?}")),
        Err(_) => Err(match task.await {
            Ok(Ok(())) => "no response".to_string(),
            Ok(Err(e)) => format!("{e:?}"),
            Err(e) => e.to_string(),
        }),
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, addr] = &args[..] else {
        return Err("usage: wasmtime-serve COMPONENT HOST:PORT".into());
    };
    let config = Config::new();
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let component = load(&engine, path)?;
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| e.to_string())?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(|e| e.to_string())?;
    let pre = ProxyPre::new(
        linker
            .instantiate_pre(&component)
            .map_err(|e| format!("{e:?}"))?,
    )
    .map_err(|e| format!("{e:?}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let shared = Arc::new((engine, pre));
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "Serving HTTP on http://{}/",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        loop {
            let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let _ = tcp.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let (engine, pre) = (shared.0.clone(), shared.1.clone());
                    async move {
                        match handle(engine, pre, req).await {
                            Ok(r) => Ok::<_, std::convert::Infallible>(r),
                            Err(e) => {
                                eprintln!("wasmtime-serve: {e}");
                                let mut r = hyper::Response::new(HyperOutgoingBody::default());
                                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                                Ok(r)
                            }
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    })
}

//! `nyash-engine serve COMPONENT`: serves a `wasi:http/incoming-handler`
//! (the `wasi:http/proxy` world) over HTTP/1.1 on hyper and tokio.
//!
//! The component is compiled once (through the cache) and its imports
//! resolved and checked once (an `InstancePre`); each request then gets a
//! store and instance of its own (`instantiate_async`), so requests share
//! nothing and a handler's failure ends only its request. The handler's
//! `handle` runs with `call_async` in a task of its own: the response
//! goes back as soon as the handler calls `response-outparam.set`, its
//! body streaming from the guest's `outgoing-body` while the handler
//! still writes it. A handler that traps, exhausts `--fuel`, outlives
//! `--timeout`, or returns without setting the response is answered
//! `500` and logged on stderr (with the trap), and the server goes on.
//! Ctrl-C (or SIGTERM) stops accepting connections, lets the requests in
//! flight finish (for up to 30 s), then exits.

use std::convert::Infallible;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use nyash_engine::component::{Component, InstancePre, Linker, Resource};
use nyash_engine::{Config, Engine, Error, Store};
use nyash_wasi::WasiCtx;
use nyash_wasi::p2::http::{HostBody, IncomingRequest, ResponseOutparam};

/// `serve`'s options.
pub(crate) struct ServeOptions {
    /// Where to listen (`HOST:PORT`; port 0 picks a free one).
    pub(crate) addr: String,
    pub(crate) no_cache: bool,
    /// Per-request fuel.
    pub(crate) fuel: Option<u64>,
    /// Per-request time limit.
    pub(crate) timeout: Option<Duration>,
    /// `--env K=V`: every request's environment.
    pub(crate) envs: Vec<String>,
    /// `-S http`: handlers may send requests (`wasi:http/outgoing-handler`).
    pub(crate) allow_http: bool,
    /// Worker threads of the runtime.
    pub(crate) workers: usize,
}

/// How long in-flight requests may take to finish after Ctrl-C.
const DRAIN: Duration = Duration::from_secs(30);

/// The epoch tick `--timeout` is counted in.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What every request's task shares.
struct Shared {
    engine: Engine,
    pre: InstancePre<WasiCtx>,
    /// The export `wasi:http/incoming-handler@0.2.x`.
    export: String,
    envs: Vec<(String, String)>,
    opts: ServeOptions,
    /// Requests served, to name them in the log.
    next_id: AtomicU64,
    /// `NYASH_SERVE_STATS=1`: log each request's instantiation time.
    stats: bool,
}

/// The response body: the guest's, or the host's own (a 500).
type ServeBody = Either<HostBody, Full<Bytes>>;

/// The export that serves HTTP: `wasi:http/incoming-handler` at the
/// newest 0.2.x version the component has.
fn handler_export(component: &Component) -> Option<String> {
    let mut best: Option<(u64, &str)> = None;
    for name in component.export_names() {
        if let Some(v) = name.strip_prefix("wasi:http/incoming-handler@0.2.") {
            let patch = v
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if best.is_none_or(|(b, _)| patch >= b) {
                best = Some((patch, name));
            }
        }
    }
    best.map(|(_, n)| n.to_string())
}

/// Compiles the component, checks its imports, and serves it until
/// Ctrl-C.
pub(crate) fn serve(path: &Path, opts: ServeOptions) -> Result<ExitCode, Error> {
    let shown = path.display().to_string();
    let mut config = Config::new();
    config.async_support(true);
    config.consume_fuel(opts.fuel.is_some());
    config.epoch_interruption(opts.timeout.is_some());
    config.cache(!opts.no_cache);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, path).map_err(|e| e.context(shown.clone()))?;
    let export = handler_export(&component).ok_or_else(|| {
        Error::msg(format!(
            "{shown}: the component does not export wasi:http/incoming-handler@0.2.x (it is not \
             a wasi:http/proxy component); its exports: {}",
            component.export_names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let mut linker = Linker::<WasiCtx>::new(&engine);
    nyash_wasi::p2::add_to_linker(&mut linker)?;
    nyash_wasi::p2::http::add_to_linker(&mut linker)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| e.context(shown.clone()))?;
    let mut envs = Vec::new();
    for kv in &opts.envs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::msg(format!("--env `{kv}`: expected K=V")))?;
        envs.push((k.to_string(), v.to_string()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers.max(1))
        .thread_name("nyash-serve")
        .enable_all()
        .build()
        .map_err(|e| Error::msg(format!("cannot start the tokio runtime: {e}")))?;
    let shared = Arc::new(Shared {
        engine,
        pre,
        export,
        envs,
        opts,
        next_id: AtomicU64::new(0),
        stats: std::env::var_os("NYASH_SERVE_STATS").is_some_and(|v| v == "1"),
    });
    if shared.opts.timeout.is_some() {
        // The epoch advances every tick; each store's deadline is its
        // timeout in ticks.
        let engine = shared.engine.clone();
        std::thread::Builder::new()
            .name("nyash-serve-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::msg(format!("cannot start the epoch thread: {e}")))?;
    }
    runtime.block_on(accept_loop(shared))?;
    Ok(ExitCode::SUCCESS)
}

/// Accepts connections until Ctrl-C or SIGTERM, then drains them.
async fn accept_loop(shared: Arc<Shared>) -> Result<(), Error> {
    let addr = shared.opts.addr.clone();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::msg(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::msg(format!("{addr}: {e}")))?;
    println!("Serving HTTP on http://{local}/");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (tcp, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors, say: wait a little, go on.
                        eprintln!("serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let shared = shared.clone();
                let mut stop_rx = stop_rx.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = &mut conn => {}
                        _ = stop_rx.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
                // Reap finished connections as we go.
                while connections.try_join_next().is_some() {}
            }
        }
    }
    drop(listener);
    eprintln!(
        "serve: shutting down, finishing {} connection(s)",
        connections.len()
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "serve: {} connection(s) still open after {DRAIN:?}; closing them",
            connections.len()
        );
        connections.abort_all();
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Serves one request: the guest's response, or a 500 (logged).
async fn handle(shared: Arc<Shared>, req: http::Request<Incoming>) -> http::Response<ServeBody> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let what = format!("request {id} ({} {})", req.method(), req.uri());
    match run_handler(shared, req, what.clone()).await {
        Ok(resp) => resp.map(Either::Left),
        Err(e) => {
            eprintln!("serve: {what}: {e}");
            let mut resp = http::Response::new(Either::Right(Full::new(Bytes::from_static(
                b"Internal Server Error\n",
            ))));
            *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
            resp
        }
    }
}

/// Instantiates the component for `req` and calls its handler; the
/// response it sets, or why there is none.
async fn run_handler(
    shared: Arc<Shared>,
    req: http::Request<Incoming>,
    what: String,
) -> Result<http::Response<HostBody>, String> {
    let mut b = WasiCtx::builder();
    for (k, v) in &shared.envs {
        b.env(k, v);
    }
    b.allow_http(shared.opts.allow_http);
    // The handler's stdout and stderr are the server's.
    b.stdout(nyash_wasi::Stdio::Inherit);
    b.stderr(nyash_wasi::Stdio::Inherit);
    let mut ctx = b.build().map_err(|e| e.to_string())?;
    let req = ctx.new_incoming_request(req).map_err(|e| e.to_string())?;
    let (out, rx) = ctx.new_response_outparam().map_err(|e| e.to_string())?;
    let mut store = Store::new(&shared.engine, ctx);
    if let Some(fuel) = shared.opts.fuel {
        store.set_fuel(fuel).map_err(|e| e.to_string())?;
    }
    let timeout = shared.opts.timeout;
    if let Some(t) = timeout {
        let ticks = (t.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
    }
    let task_shared = shared.clone();
    let call = async move {
        let shared = task_shared;
        let t0 = std::time::Instant::now();
        let instance = shared
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| e.context("instantiating the component"))?;
        if shared.stats {
            eprintln!("serve: instantiated in {} us", t0.elapsed().as_micros());
        }
        let iface = instance
            .get_export_index(&mut store, None, &shared.export)
            .ok_or_else(|| Error::msg(format!("no export `{}`", shared.export)))?;
        let f = instance
            .get_export_index(&mut store, Some(&iface), "handle")
            .ok_or_else(|| Error::msg(format!("`{}` exports no `handle`", shared.export)))?;
        let handle = instance
            .get_typed_func::<(Resource<IncomingRequest>, Resource<ResponseOutparam>), ()>(
                &mut store, &f,
            )?;
        handle.call_async(&mut store, (req, out)).await?;
        // The store (and with it whatever the guest left unfinished) goes
        // here, when the call is done.
        drop(store);
        Ok::<(), Error>(())
    };
    let task = tokio::spawn(async move {
        match timeout {
            Some(t) => match tokio::time::timeout(t, call).await {
                Ok(r) => r,
                Err(_) => Err(Error::msg(format!(
                    "the handler ran longer than --timeout {t:?}"
                ))),
            },
            None => call.await,
        }
    });
    let outcome = |r: Result<Result<(), Error>, tokio::task::JoinError>| match r {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("the handler failed: {e}")),
        Err(e) => Some(format!("the handler's task failed: {e}")),
    };
    match rx.await {
        Ok(Ok(resp)) => {
            // The body may still be streaming: report a later failure
            // (the client then sees a broken body).
            tokio::spawn(async move {
                if let Some(e) = outcome(task.await) {
                    eprintln!("serve: {what}: after the response was set: {e}");
                }
            });
            Ok(resp)
        }
        Ok(Err(code)) => {
            let why = outcome(task.await)
                .map(|e| format!("; {e}"))
                .unwrap_or_default();
            Err(format!("the handler answered with an error: {code}{why}"))
        }
        Err(_) => Err(outcome(task.await).unwrap_or_else(|| {
            "the handler returned without setting a response (response-outparam.set)".to_string()
        })),
    }
}

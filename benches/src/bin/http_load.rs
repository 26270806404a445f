//! `http-load URL [-c CONNECTIONS] [-d SECONDS] [--post BYTES]`: an
//! HTTP/1.1 load generator in the manner of `oha`/`wrk`: CONNECTIONS
//! keep-alive connections, each sending its next request when the last
//! response's body has been read in full, for SECONDS (after a 1 s warm-up
//! that is not counted). Prints requests/s and the latency percentiles
//! (p50, p90, p99, max) over every completed request, and the count of
//! non-2xx responses and errors. `--post BYTES` sends a POST with a body
//! of that many bytes instead of a GET.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

struct Opts {
    url: http::Uri,
    conns: usize,
    secs: f64,
    post: Option<usize>,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let (mut conns, mut secs, mut post) = (50, 10.0, None);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "-c" => conns = val()?.parse().map_err(|e| format!("-c: {e}"))?,
            "-d" => secs = val()?.parse().map_err(|e| format!("-d: {e}"))?,
            "--post" => post = Some(val()?.parse().map_err(|e| format!("--post: {e}"))?),
            _ => url = Some(a.parse().map_err(|e| format!("{a}: {e}"))?),
        }
    }
    Ok(Opts {
        url: url.ok_or("usage: http-load URL [-c N] [-d SECONDS] [--post BYTES]")?,
        conns,
        secs,
        post,
    })
}

/// What one connection measured: latencies (µs) of requests completed
/// after the warm-up, non-2xx statuses, errors.
#[derive(Default)]
struct Tally {
    lat: Vec<u64>,
    bad: u64,
    errors: u64,
}

async fn connection(o: &Opts, body: Bytes, start: Instant, end: Instant) -> Tally {
    let mut t = Tally::default();
    let host = o.url.authority().map(|a| a.to_string()).unwrap_or_default();
    let path = o
        .url
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    'reconnect: while Instant::now() < end {
        let Ok(tcp) = tokio::net::TcpStream::connect(&host).await else {
            t.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let Ok((mut send, conn)) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await
        else {
            t.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < end {
            let mut req = http::Request::new(Full::new(body.clone()));
            *req.uri_mut() = path.parse().expect("the path parses again");
            if o.post.is_some() {
                *req.method_mut() = http::Method::POST;
            }
            req.headers_mut()
                .insert(http::header::HOST, host.parse().expect("the host"));
            let t0 = Instant::now();
            let ok = match send.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    match resp.into_body().collect().await {
                        Ok(_) => Some(status.is_success()),
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            let done = Instant::now();
            match ok {
                None => {
                    t.errors += 1;
                    continue 'reconnect;
                }
                Some(good) => {
                    if t0 >= start {
                        t.lat.push((done - t0).as_micros() as u64);
                        if !good {
                            t.bad += 1;
                        }
                    }
                }
            }
        }
    }
    t
}

fn main() -> Result<(), String> {
    let o = parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let body = Bytes::from(vec![b'x'; o.post.unwrap_or(0)]);
    let o = std::sync::Arc::new(o);
    let begin = Instant::now();
    let start = begin + Duration::from_secs(1);
    let end = start + Duration::from_secs_f64(o.secs);
    let tallies = rt.block_on(async {
        let tasks: Vec<_> = (0..o.conns)
            .map(|_| {
                let (o, body) = (o.clone(), body.clone());
                tokio::spawn(async move { connection(&o, body, start, end).await })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.map_err(|e| e.to_string())?);
        }
        Ok::<_, String>(all)
    })?;
    let mut lat: Vec<u64> = tallies.iter().flat_map(|t| t.lat.iter().copied()).collect();
    lat.sort_unstable();
    let n = lat.len();
    let pct = |p: f64| {
        lat.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "{} {} conns {:.0}s: {:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, non-2xx {}, errors {}",
        o.url,
        o.conns,
        o.secs,
        n as f64 / o.secs,
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(lat.last().copied().unwrap_or(0)),
        tallies.iter().map(|t| t.bad).sum::<u64>(),
        tallies.iter().map(|t| t.errors).sum::<u64>(),
    );
    Ok(())
}

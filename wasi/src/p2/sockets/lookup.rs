//! `wasi:sockets/ip-name-lookup`: `resolve-addresses` runs the host's
//! resolver (`getaddrinfo`, through `std::net::ToSocketAddrs`) on a thread
//! of its own, so the guest's call returns at once; the stream's pollable
//! is ready when the lookup is done.

use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use nyash_engine::component::Resource;

use super::{Network, SockResult, ip_from_std};
use crate::WasiCtx;
use crate::p2::io::{Pollable, Subscribe, subscribe, table_error};
use crate::p2::wasi::sockets::ip_name_lookup;
use crate::p2::wasi::sockets::network::{ErrorCode, IpAddress};

/// The most lookups in flight in the process (each is a thread): more
/// answer `temporary-resolver-failure`.
const MAX_IN_FLIGHT: usize = 64;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// A lookup's outcome, and who waits for it.
#[derive(Default)]
struct Shared {
    done: Option<Result<Vec<IpAddr>, ErrorCode>>,
    waker: Option<Waker>,
}

/// The Rust type of `wasi:sockets/ip-name-lookup`'s
/// `resolve-address-stream`.
pub struct ResolveAddressStream {
    state: Arc<Mutex<Shared>>,
    /// The addresses not yet handed out, once the lookup is done.
    left: Option<Result<VecDeque<IpAddr>, ErrorCode>>,
}

impl ResolveAddressStream {
    fn done(addrs: Result<Vec<IpAddr>, ErrorCode>) -> Self {
        ResolveAddressStream {
            state: Arc::default(),
            left: Some(addrs.map(Into::into)),
        }
    }

    /// Takes the lookup's outcome if it is done.
    fn poll_done(&mut self) -> bool {
        if self.left.is_none() {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = s.done.take() {
                self.left = Some(r.map(Into::into));
            }
        }
        self.left.is_some()
    }
}

impl Subscribe for ResolveAddressStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::poll_fn(move |cx| {
            if self.poll_done() {
                return Poll::Ready(());
            }
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.done.is_some() {
                return Poll::Ready(());
            }
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }))
    }
}

/// Whether `name` is a syntactically valid domain name (ASCII labels of
/// letters, digits, `-` and `_`, 1 to 63 bytes each, 253 in all).
fn valid_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Resolves `name` (blocking).
fn resolve(name: &str) -> Result<Vec<IpAddr>, ErrorCode> {
    let addrs = (name, 0u16).to_socket_addrs().map_err(|e| {
        let msg = e.to_string();
        if msg.contains("Temporary failure") || msg.contains("try again") {
            ErrorCode::TemporaryResolverFailure
        } else if msg.contains("not known")
            || msg.contains("No address")
            || msg.contains("no address")
        {
            ErrorCode::NameUnresolvable
        } else {
            ErrorCode::PermanentResolverFailure
        }
    })?;
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a.ip()) {
            out.push(a.ip());
        }
    }
    Ok(out)
}

impl ip_name_lookup::Host for WasiCtx {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SockResult<Resource<ResolveAddressStream>> {
        let what = "wasi:sockets/ip-name-lookup resolve-addresses";
        let policy = self.network_policy(&network, what)?;
        if !policy.ip_name_lookup {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        // An IP address needs no lookup; `[v6]` is taken as the WIT says.
        let bare = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name);
        let stream = if let Ok(ip) = bare.parse::<IpAddr>() {
            ResolveAddressStream::done(Ok(vec![ip]))
        } else if !valid_domain(&name) {
            return Ok(Err(ErrorCode::InvalidArgument));
        } else {
            if IN_FLIGHT.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
                IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
                return Ok(Err(ErrorCode::TemporaryResolverFailure));
            }
            let state: Arc<Mutex<Shared>> = Arc::default();
            let shared = state.clone();
            let spawned = std::thread::Builder::new()
                .name("nyash-wasi-lookup".into())
                .spawn(move || {
                    let r = resolve(&name);
                    IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
                    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                    s.done = Some(r);
                    if let Some(w) = s.waker.take() {
                        w.wake();
                    }
                });
            if spawned.is_err() {
                IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
                return Ok(Err(ErrorCode::TemporaryResolverFailure));
            }
            ResolveAddressStream { state, left: None }
        };
        self.table.push(stream).map(Ok).map_err(table_error(what))
    }
}

impl ip_name_lookup::HostResolveAddressStream for WasiCtx {
    fn resolve_next_address(
        &mut self,
        s: Resource<ResolveAddressStream>,
    ) -> SockResult<Option<IpAddress>> {
        let r = self.table.get_mut(&s).map_err(table_error(
            "wasi:sockets/ip-name-lookup resolve-next-address",
        ))?;
        if !r.poll_done() {
            return Ok(Err(ErrorCode::WouldBlock));
        }
        Ok(match &mut r.left {
            Some(Ok(q)) => Ok(q.pop_front().map(ip_from_std)),
            Some(Err(e)) => Err(*e),
            None => Err(ErrorCode::WouldBlock),
        })
    }

    fn subscribe(
        &mut self,
        s: Resource<ResolveAddressStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        subscribe(&mut self.table, &s).map_err(table_error(
            "wasi:sockets/ip-name-lookup resolve-address-stream.subscribe",
        ))
    }

    fn drop(&mut self, s: Resource<ResolveAddressStream>) -> nyash_engine::Result<()> {
        self.table.delete(s).map(drop).map_err(table_error(
            "wasi:sockets/ip-name-lookup resolve-address-stream drop",
        ))
    }
}

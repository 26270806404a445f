//! `wasi:sockets`' host side: `network`, `instance-network`, `tcp`,
//! `tcp-create-socket`, `udp`, `udp-create-socket` and `ip-name-lookup`.
//!
//! Every interface is always linked, so a component that imports them
//! (most toolchains' output does, whether or not it opens a socket) runs.
//! What it may do is the context's network policy
//! ([`WasiCtxBuilder::inherit_network`](crate::WasiCtxBuilder::inherit_network),
//! [`WasiCtxBuilder::allow_ip_name_lookup`](crate::WasiCtxBuilder::allow_ip_name_lookup)):
//! by default nothing — creating a TCP or UDP socket and resolving a name
//! answer `access-denied`.
//!
//! Sockets are the host's own, non-blocking (`socket2`), with the state
//! machines of the WIT (`start-bind`/`finish-bind`, `start-listen`/
//! `finish-listen`, `start-connect`/`finish-connect`, errors
//! `invalid-state`, `not-in-progress`, `would-block`, ...). Waiting is a
//! pollable over `reactor::ready` (one watcher thread `poll(2)`s every
//! waited-on socket), so it parks a synchronous call and suspends an
//! async one. A connected TCP socket's data goes through `wasi:io`
//! streams; a name lookup runs `getaddrinfo` on a thread of its own and
//! hands its addresses back through a `resolve-address-stream`. What a
//! guest controls is bounded: the listen backlog, buffer sizes, datagrams
//! per call, lookups in flight.

mod lookup;
mod reactor;
mod tcp;
mod udp;

pub use lookup::ResolveAddressStream;
pub use tcp::TcpSocket;
pub use udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use nyash_engine::component::Resource;

use super::io::table_error;
use super::wasi::sockets::{instance_network, network};
use crate::WasiCtx;
use network::{ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress};

/// What a socket function returns: a trap (`Err`), or its WIT result.
type SockResult<T> = nyash_engine::Result<Result<T, ErrorCode>>;

/// What the context lets a guest do on the network (all off by default).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NetworkPolicy {
    /// TCP and UDP sockets, to and from any address.
    pub(crate) inherit: bool,
    /// `resolve-addresses`.
    pub(crate) ip_name_lookup: bool,
}

/// The Rust type of `wasi:sockets/network`'s `network` resource: the
/// capability to use the network, as the context's policy gave it when
/// `instance-network` was called.
pub struct Network {
    pub(crate) policy: NetworkPolicy,
}

/// `e` as a WASI error code (the WIT's mapping of the POSIX errors).
pub(crate) fn code(e: &std::io::Error) -> ErrorCode {
    use ErrorCode as C;
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => C::AccessDenied,
        Some(libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT) => C::NotSupported,
        Some(libc::EINVAL | libc::EDESTADDRREQ | libc::EISCONN) => C::InvalidArgument,
        Some(libc::ENOMEM | libc::ENOBUFS) => C::OutOfMemory,
        Some(libc::ETIMEDOUT) => C::Timeout,
        Some(libc::EALREADY) => C::ConcurrencyConflict,
        Some(libc::EWOULDBLOCK | libc::EINPROGRESS) => C::WouldBlock,
        Some(libc::EMFILE | libc::ENFILE) => C::NewSocketLimit,
        Some(libc::EADDRNOTAVAIL) => C::AddressNotBindable,
        Some(libc::EADDRINUSE) => C::AddressInUse,
        Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::ENETDOWN) => C::RemoteUnreachable,
        Some(libc::ECONNREFUSED) => C::ConnectionRefused,
        Some(libc::ECONNRESET | libc::EPIPE) => C::ConnectionReset,
        Some(libc::ECONNABORTED) => C::ConnectionAborted,
        Some(libc::EMSGSIZE) => C::DatagramTooLarge,
        _ => C::Unknown,
    }
}

/// A WIT socket address as Rust's.
pub(crate) fn to_std(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(x, y, z, w), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (x0, x1, x2, x3, x4, x5, x6, x7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(x0, x1, x2, x3, x4, x5, x6, x7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

/// Rust's socket address as the WIT's.
pub(crate) fn from_std(a: SocketAddr) -> IpSocketAddress {
    match a {
        SocketAddr::V4(a) => IpSocketAddress::Ipv4(network::Ipv4SocketAddress {
            port: a.port(),
            address: ip4(*a.ip()),
        }),
        SocketAddr::V6(a) => IpSocketAddress::Ipv6(network::Ipv6SocketAddress {
            port: a.port(),
            flow_info: a.flowinfo(),
            address: ip6(*a.ip()),
            scope_id: a.scope_id(),
        }),
    }
}

fn ip4(a: Ipv4Addr) -> (u8, u8, u8, u8) {
    let [x, y, z, w] = a.octets();
    (x, y, z, w)
}

fn ip6(a: Ipv6Addr) -> (u16, u16, u16, u16, u16, u16, u16, u16) {
    let [x0, x1, x2, x3, x4, x5, x6, x7] = a.segments();
    (x0, x1, x2, x3, x4, x5, x6, x7)
}

/// Rust's IP address as the WIT's.
pub(crate) fn ip_from_std(a: IpAddr) -> IpAddress {
    match a {
        IpAddr::V4(a) => IpAddress::Ipv4(ip4(a)),
        IpAddr::V6(a) => IpAddress::Ipv6(ip6(a)),
    }
}

/// The family of `a`.
pub(crate) fn family_of(a: &SocketAddr) -> IpAddressFamily {
    match a {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

/// `invalid-argument` unless `a` may be used on a socket of `family`: the
/// same family, and for IPv6 sockets (which are IPv6-only) not an
/// IPv4-mapped address.
pub(crate) fn check_family(a: &SocketAddr, family: IpAddressFamily) -> Result<(), ErrorCode> {
    let same = family_of(a) == family;
    let mapped = matches!(a, SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some());
    if !same || mapped {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// `invalid-argument` unless `a` can be a remote address: a specified,
/// unicast address and a port.
pub(crate) fn check_remote(a: &SocketAddr) -> Result<(), ErrorCode> {
    let ip = a.ip();
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast || a.port() == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// The domain (address family) of a socket.
pub(crate) fn domain(family: IpAddressFamily) -> socket2::Domain {
    match family {
        IpAddressFamily::Ipv4 => socket2::Domain::IPV4,
        IpAddressFamily::Ipv6 => socket2::Domain::IPV6,
    }
}

/// A new non-blocking socket of `family` and type `ty` (IPv6 ones
/// IPv6-only, as WASI's are).
pub(crate) fn new_socket(
    family: IpAddressFamily,
    ty: socket2::Type,
) -> Result<socket2::Socket, ErrorCode> {
    let s = socket2::Socket::new(domain(family), ty, None).map_err(|e| code(&e))?;
    if family == IpAddressFamily::Ipv6 {
        s.set_only_v6(true).map_err(|e| code(&e))?;
    }
    s.set_nonblocking(true).map_err(|e| code(&e))?;
    Ok(s)
}

/// The largest buffer size a guest may ask for (it gets at most this; the
/// OS may cap it further).
pub(crate) const MAX_BUFFER_SIZE: u64 = 16 << 20;

/// A guest's buffer size, checked (`invalid-argument` for 0) and bounded.
pub(crate) fn buffer_size(value: u64) -> Result<usize, ErrorCode> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(value.min(MAX_BUFFER_SIZE) as usize)
}

impl WasiCtx {
    /// The policy of network `n`.
    pub(crate) fn network_policy(
        &self,
        n: &Resource<Network>,
        what: &'static str,
    ) -> nyash_engine::Result<NetworkPolicy> {
        Ok(self.table.get(n).map_err(table_error(what))?.policy)
    }
}

// `network-error-code` is `@unstable(feature = network-error-code)`: not
// part of the interface as bindgen generates it (nor as wasmtime links it
// by default).
impl network::Host for WasiCtx {}

impl network::HostNetwork for WasiCtx {
    fn drop(&mut self, n: Resource<Network>) -> nyash_engine::Result<()> {
        self.table
            .delete(n)
            .map(drop)
            .map_err(table_error("wasi:sockets/network network drop"))
    }
}

impl instance_network::Host for WasiCtx {
    fn instance_network(&mut self) -> nyash_engine::Result<Resource<Network>> {
        let policy = self.network;
        self.table.push(Network { policy }).map_err(table_error(
            "wasi:sockets/instance-network instance-network",
        ))
    }
}

/// A socket's unicast hop limit (TTL for IPv4).
pub(crate) fn hop_limit(s: &socket2::Socket, family: IpAddressFamily) -> Result<u8, ErrorCode> {
    let v = match family {
        IpAddressFamily::Ipv4 => s.ttl_v4(),
        IpAddressFamily::Ipv6 => s.unicast_hops_v6(),
    }
    .map_err(|e| code(&e))?;
    Ok(v.min(255) as u8)
}

/// Sets a socket's unicast hop limit (0 is `invalid-argument`).
pub(crate) fn set_hop_limit(
    s: &socket2::Socket,
    family: IpAddressFamily,
    value: u8,
) -> Result<(), ErrorCode> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    match family {
        IpAddressFamily::Ipv4 => s.set_ttl_v4(value.into()),
        IpAddressFamily::Ipv6 => s.set_unicast_hops_v6(value.into()),
    }
    .map_err(|e| code(&e))
}

#[cfg(test)]
mod tests {
    //! The host functions called as a guest would, on a context with and
    //! without the network; through a component in `tests/p2_sockets.rs`
    //! and the wasip2 programs of `tests/wasip2`.

    use super::super::wasi::sockets::ip_name_lookup::{Host as _, HostResolveAddressStream as _};
    use super::super::wasi::sockets::tcp::HostTcpSocket as _;
    use super::super::wasi::sockets::tcp_create_socket::Host as _;
    use super::super::wasi::sockets::udp_create_socket::Host as _;
    use super::*;
    use crate::p2::wasi::io::poll::HostPollable as _;
    use crate::p2::wasi::io::streams::{HostInputStream as _, HostOutputStream as _};

    fn b<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    fn ctx(inherit: bool, lookup: bool) -> (WasiCtx, Resource<Network>) {
        let mut b = WasiCtx::builder();
        if inherit {
            b.inherit_network();
        }
        b.allow_ip_name_lookup(lookup);
        let mut ctx = b.build().unwrap();
        let net = instance_network::Host::instance_network(&mut ctx).unwrap();
        (ctx, net)
    }

    fn loopback(port: u16) -> IpSocketAddress {
        from_std(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn without_the_network_everything_is_access_denied() {
        let (mut ctx, net) = ctx(false, false);
        for family in [IpAddressFamily::Ipv4, IpAddressFamily::Ipv6] {
            assert_eq!(
                ctx.create_tcp_socket(family).unwrap().err(),
                Some(ErrorCode::AccessDenied)
            );
            assert_eq!(
                ctx.create_udp_socket(family).unwrap().err(),
                Some(ErrorCode::AccessDenied)
            );
        }
        for name in ["localhost", "127.0.0.1", "example.com"] {
            let r = ctx.resolve_addresses(b(&net), name.into()).unwrap();
            assert_eq!(r.err(), Some(ErrorCode::AccessDenied));
        }
        // The network alone does not allow lookups, nor lookups sockets.
        let (mut ctx, net) = super::tests::ctx(true, false);
        let r = ctx.resolve_addresses(b(&net), "localhost".into()).unwrap();
        assert_eq!(r.err(), Some(ErrorCode::AccessDenied));
        let (mut ctx, _) = super::tests::ctx(false, true);
        assert_eq!(
            ctx.create_tcp_socket(IpAddressFamily::Ipv4).unwrap().err(),
            Some(ErrorCode::AccessDenied)
        );
    }

    /// Waits for `s`'s pollable.
    fn wait(ctx: &mut WasiCtx, s: &Resource<TcpSocket>) {
        let p = crate::p2::wasi::sockets::tcp::HostTcpSocket::subscribe(ctx, b(s)).unwrap();
        ctx.block(b(&p)).unwrap();
        crate::p2::wasi::io::poll::HostPollable::drop(ctx, p).unwrap();
    }

    #[test]
    fn tcp_echo_between_a_guest_listener_and_a_host_client() {
        let (mut ctx, net) = ctx(true, false);
        let s = ctx
            .create_tcp_socket(IpAddressFamily::Ipv4)
            .unwrap()
            .unwrap();
        // The state machine's order is enforced.
        assert_eq!(
            ctx.finish_bind(b(&s)).unwrap(),
            Err(ErrorCode::NotInProgress)
        );
        assert_eq!(
            ctx.start_listen(b(&s)).unwrap(),
            Err(ErrorCode::InvalidState)
        );
        assert_eq!(
            ctx.local_address(b(&s)).unwrap().err(),
            Some(ErrorCode::InvalidState)
        );
        // An IPv6 address on an IPv4 socket.
        let v6 = from_std(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)));
        assert_eq!(
            ctx.start_bind(b(&s), b(&net), v6).unwrap(),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            ctx.set_listen_backlog_size(b(&s), 0).unwrap(),
            Err(ErrorCode::InvalidArgument)
        );
        ctx.set_listen_backlog_size(b(&s), u64::MAX)
            .unwrap()
            .unwrap();
        ctx.start_bind(b(&s), b(&net), loopback(0))
            .unwrap()
            .unwrap();
        assert_eq!(
            ctx.start_bind(b(&s), b(&net), loopback(0)).unwrap(),
            Err(ErrorCode::InvalidState)
        );
        ctx.finish_bind(b(&s)).unwrap().unwrap();
        ctx.start_listen(b(&s)).unwrap().unwrap();
        ctx.finish_listen(b(&s)).unwrap().unwrap();
        assert!(ctx.is_listening(b(&s)).unwrap());
        let port = match to_std(ctx.local_address(b(&s)).unwrap().unwrap()) {
            SocketAddr::V4(a) => {
                assert_eq!(*a.ip(), Ipv4Addr::LOCALHOST);
                a.port()
            }
            other => panic!("{other}"),
        };
        assert_ne!(port, 0);
        assert_eq!(
            ctx.accept(b(&s)).unwrap().err(),
            Some(ErrorCode::WouldBlock)
        );

        let client = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.write_all(b"ping from the host").unwrap();
            c.shutdown(std::net::Shutdown::Write).unwrap();
            let mut back = String::new();
            c.read_to_string(&mut back).unwrap();
            back
        });
        wait(&mut ctx, &s);
        let (conn, input, output) = ctx.accept(b(&s)).unwrap().unwrap();
        assert!(!ctx.is_listening(b(&conn)).unwrap());
        let peer = to_std(ctx.remote_address(b(&conn)).unwrap().unwrap());
        assert_eq!(peer.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        // Echo until the client's end, upper-cased.
        let mut got = Vec::new();
        loop {
            match ctx.blocking_read(b(&input), 1 << 20).unwrap() {
                Ok(bytes) => got.extend(bytes),
                Err(crate::p2::wasi::io::streams::StreamError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, b"ping from the host");
        ctx.blocking_write_and_flush(b(&output), got.to_ascii_uppercase())
            .unwrap()
            .unwrap();
        ctx.shutdown(b(&conn), crate::p2::wasi::sockets::tcp::ShutdownType::Both)
            .unwrap()
            .unwrap();
        assert_eq!(client.join().unwrap(), "PING FROM THE HOST");
    }

    #[test]
    fn tcp_connect_from_the_guest_to_a_host_listener() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).unwrap();
            c.write_all(&buf.map(|x| x.to_ascii_uppercase())).unwrap();
        });
        let (mut ctx, net) = ctx(true, false);
        let s = ctx
            .create_tcp_socket(IpAddressFamily::Ipv4)
            .unwrap()
            .unwrap();
        assert_eq!(
            ctx.start_connect(b(&s), b(&net), loopback(0)).unwrap(),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            ctx.finish_connect(b(&s)).unwrap().err(),
            Some(ErrorCode::NotInProgress)
        );
        ctx.start_connect(b(&s), b(&net), loopback(port))
            .unwrap()
            .unwrap();
        let (input, output) = loop {
            match ctx.finish_connect(b(&s)).unwrap() {
                Ok(streams) => break streams,
                Err(ErrorCode::WouldBlock) => wait(&mut ctx, &s),
                Err(e) => panic!("{e:?}"),
            }
        };
        ctx.set_keep_alive_enabled(b(&s), true).unwrap().unwrap();
        assert!(ctx.keep_alive_enabled(b(&s)).unwrap().unwrap());
        ctx.set_keep_alive_idle_time(b(&s), 1_500_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(
            ctx.keep_alive_idle_time(b(&s)).unwrap().unwrap(),
            2_000_000_000
        );
        ctx.set_hop_limit(b(&s), 42).unwrap().unwrap();
        assert_eq!(ctx.hop_limit(b(&s)).unwrap().unwrap(), 42);
        assert_eq!(
            ctx.set_hop_limit(b(&s), 0).unwrap(),
            Err(ErrorCode::InvalidArgument)
        );
        ctx.blocking_write_and_flush(b(&output), b"hello".to_vec())
            .unwrap()
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            got.extend(ctx.blocking_read(b(&input), 5).unwrap().unwrap());
        }
        assert_eq!(got, b"HELLO");
        server.join().unwrap();
        // Nobody listens on the port now: refused.
        let s2 = ctx
            .create_tcp_socket(IpAddressFamily::Ipv4)
            .unwrap()
            .unwrap();
        ctx.start_connect(b(&s2), b(&net), loopback(port))
            .unwrap()
            .unwrap();
        let r = loop {
            match ctx.finish_connect(b(&s2)).unwrap() {
                Err(ErrorCode::WouldBlock) => wait(&mut ctx, &s2),
                r => break r,
            }
        };
        assert_eq!(r.err(), Some(ErrorCode::ConnectionRefused));
    }

    #[test]
    fn name_lookup_of_localhost_and_addresses() {
        let (mut ctx, net) = ctx(false, true);
        let collect = |ctx: &mut WasiCtx, name: &str| -> Result<Vec<IpAddress>, ErrorCode> {
            let s = ctx.resolve_addresses(b(&net), name.into()).unwrap()?;
            let p = crate::p2::wasi::sockets::ip_name_lookup::HostResolveAddressStream::subscribe(
                ctx,
                b(&s),
            )
            .unwrap();
            ctx.block(b(&p)).unwrap();
            let mut out = Vec::new();
            while let Some(a) = ctx.resolve_next_address(b(&s)).unwrap()? {
                out.push(a);
            }
            Ok(out)
        };
        let local = collect(&mut ctx, "localhost").unwrap();
        assert!(
            local.contains(&IpAddress::Ipv4((127, 0, 0, 1)))
                || local.contains(&IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1))),
            "{local:?}"
        );
        assert_eq!(
            collect(&mut ctx, "10.1.2.3").unwrap(),
            [IpAddress::Ipv4((10, 1, 2, 3))]
        );
        assert_eq!(
            collect(&mut ctx, "[::1]").unwrap(),
            [IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1))]
        );
        assert_eq!(
            collect(&mut ctx, "").err(),
            Some(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            collect(&mut ctx, "a b").err(),
            Some(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            collect(&mut ctx, "no-such-host.invalid").err(),
            Some(ErrorCode::NameUnresolvable)
        );
    }
}

//! `wasi:sockets`' host side: `network`, `instance-network`, `tcp`,
//! `tcp-create-socket`, `udp`, `udp-create-socket` and `ip-name-lookup`.
//!
//! Every interface is linked, so a component that imports them (most
//! toolchains' output does, whether or not it ever opens a socket) runs.
//! The network is refused: creating a TCP or UDP socket and resolving a
//! name fail with `access-denied`, so no socket resource ever exists and
//! the socket methods are unreachable (their resource types have no
//! values).

use nyash_engine::component::Resource;

use super::io::{DynInputStream, DynOutputStream, Pollable, table_error};
use super::wasi::sockets::{
    instance_network, ip_name_lookup, network, tcp, tcp_create_socket, udp, udp_create_socket,
};
use crate::WasiCtx;
use network::{ErrorCode, IpAddressFamily, IpSocketAddress};

/// What a socket function returns: a trap (`Err`), or its WIT result.
type SockResult<T> = nyash_engine::Result<Result<T, ErrorCode>>;

/// The Rust type of `wasi:sockets/network`'s `network` resource: the
/// capability to use the network, as the context's policy gives it.
pub struct Network {
    _private: (),
}

/// The Rust type of `wasi:sockets/tcp`'s `tcp-socket`. No TCP socket can
/// be created (the network is refused), so it has no values.
pub enum TcpSocket {}

/// The Rust type of `wasi:sockets/udp`'s `udp-socket` (no values: no UDP
/// socket can be created).
pub enum UdpSocket {}

/// The Rust type of `wasi:sockets/udp`'s `incoming-datagram-stream` (no
/// values: it is made from a UDP socket).
pub enum IncomingDatagramStream {}

/// The Rust type of `wasi:sockets/udp`'s `outgoing-datagram-stream` (no
/// values: it is made from a UDP socket).
pub enum OutgoingDatagramStream {}

/// The Rust type of `wasi:sockets/ip-name-lookup`'s
/// `resolve-address-stream` (no values: name lookups are refused).
pub enum ResolveAddressStream {}

impl WasiCtx {
    /// The value behind `r`, of a resource type that has none: the
    /// canonical ABI only hands the host handles of this type, and none
    /// can be made, so reaching this is a table mismatch (a trap).
    fn unreachable<T: 'static>(&self, r: &Resource<T>, what: &'static str) -> nyash_engine::Error {
        match self.table.get(r) {
            Ok(_) => nyash_engine::Error::msg(format!("{what}: no such resource can exist")),
            Err(e) => table_error(what)(e),
        }
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
        self.table
            .push(Network { _private: () })
            .map_err(table_error(
                "wasi:sockets/instance-network instance-network",
            ))
    }
}

impl tcp_create_socket::Host for WasiCtx {
    fn create_tcp_socket(&mut self, _family: IpAddressFamily) -> SockResult<Resource<TcpSocket>> {
        Ok(Err(ErrorCode::AccessDenied))
    }
}

impl udp_create_socket::Host for WasiCtx {
    fn create_udp_socket(&mut self, _family: IpAddressFamily) -> SockResult<Resource<UdpSocket>> {
        Ok(Err(ErrorCode::AccessDenied))
    }
}

impl ip_name_lookup::Host for WasiCtx {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        _name: String,
    ) -> SockResult<Resource<ResolveAddressStream>> {
        self.table
            .get(&network)
            .map_err(table_error("wasi:sockets/ip-name-lookup resolve-addresses"))?;
        Ok(Err(ErrorCode::AccessDenied))
    }
}

impl tcp::Host for WasiCtx {}

impl tcp::HostTcpSocket for WasiCtx {
    fn start_bind(
        &mut self,
        s: Resource<TcpSocket>,
        _network: Resource<Network>,
        _local_address: IpSocketAddress,
    ) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.start-bind"))
    }

    fn finish_bind(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.finish-bind"))
    }

    fn start_connect(
        &mut self,
        s: Resource<TcpSocket>,
        _network: Resource<Network>,
        _remote_address: IpSocketAddress,
    ) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.start-connect"))
    }

    fn finish_connect(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SockResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.finish-connect"))
    }

    fn start_listen(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.start-listen"))
    }

    fn finish_listen(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.finish-listen"))
    }

    fn accept(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SockResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.accept"))
    }

    fn local_address(&mut self, s: Resource<TcpSocket>) -> SockResult<IpSocketAddress> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.local-address"))
    }

    fn remote_address(&mut self, s: Resource<TcpSocket>) -> SockResult<IpSocketAddress> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.remote-address"))
    }

    fn is_listening(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<bool> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.is-listening"))
    }

    fn address_family(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<IpAddressFamily> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.address-family"))
    }

    fn set_listen_backlog_size(&mut self, s: Resource<TcpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-listen-backlog-size"))
    }

    fn keep_alive_enabled(&mut self, s: Resource<TcpSocket>) -> SockResult<bool> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.keep-alive-enabled"))
    }

    fn set_keep_alive_enabled(&mut self, s: Resource<TcpSocket>, _value: bool) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-enabled"))
    }

    fn keep_alive_idle_time(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.keep-alive-idle-time"))
    }

    fn set_keep_alive_idle_time(&mut self, s: Resource<TcpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-idle-time"))
    }

    fn keep_alive_interval(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.keep-alive-interval"))
    }

    fn set_keep_alive_interval(&mut self, s: Resource<TcpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-interval"))
    }

    fn keep_alive_count(&mut self, s: Resource<TcpSocket>) -> SockResult<u32> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.keep-alive-count"))
    }

    fn set_keep_alive_count(&mut self, s: Resource<TcpSocket>, _value: u32) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-count"))
    }

    fn hop_limit(&mut self, s: Resource<TcpSocket>) -> SockResult<u8> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.hop-limit"))
    }

    fn set_hop_limit(&mut self, s: Resource<TcpSocket>, _value: u8) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-hop-limit"))
    }

    fn receive_buffer_size(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.receive-buffer-size"))
    }

    fn set_receive_buffer_size(&mut self, s: Resource<TcpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-receive-buffer-size"))
    }

    fn send_buffer_size(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.send-buffer-size"))
    }

    fn set_send_buffer_size(&mut self, s: Resource<TcpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.set-send-buffer-size"))
    }

    fn subscribe(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<Resource<Pollable>> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.subscribe"))
    }

    fn shutdown(
        &mut self,
        s: Resource<TcpSocket>,
        _shutdown_type: tcp::ShutdownType,
    ) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.shutdown"))
    }

    fn drop(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<()> {
        Err(self.unreachable(&s, "wasi:sockets/tcp tcp-socket.drop"))
    }
}

impl udp::Host for WasiCtx {}

impl udp::HostUdpSocket for WasiCtx {
    fn start_bind(
        &mut self,
        s: Resource<UdpSocket>,
        _network: Resource<Network>,
        _local_address: IpSocketAddress,
    ) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.start-bind"))
    }

    fn finish_bind(&mut self, s: Resource<UdpSocket>) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.finish-bind"))
    }

    fn stream(
        &mut self,
        s: Resource<UdpSocket>,
        _remote_address: Option<IpSocketAddress>,
    ) -> SockResult<(
        Resource<IncomingDatagramStream>,
        Resource<OutgoingDatagramStream>,
    )> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.stream"))
    }

    fn local_address(&mut self, s: Resource<UdpSocket>) -> SockResult<IpSocketAddress> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.local-address"))
    }

    fn remote_address(&mut self, s: Resource<UdpSocket>) -> SockResult<IpSocketAddress> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.remote-address"))
    }

    fn address_family(&mut self, s: Resource<UdpSocket>) -> nyash_engine::Result<IpAddressFamily> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.address-family"))
    }

    fn unicast_hop_limit(&mut self, s: Resource<UdpSocket>) -> SockResult<u8> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.unicast-hop-limit"))
    }

    fn set_unicast_hop_limit(&mut self, s: Resource<UdpSocket>, _value: u8) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.set-unicast-hop-limit"))
    }

    fn receive_buffer_size(&mut self, s: Resource<UdpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.receive-buffer-size"))
    }

    fn set_receive_buffer_size(&mut self, s: Resource<UdpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.set-receive-buffer-size"))
    }

    fn send_buffer_size(&mut self, s: Resource<UdpSocket>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.send-buffer-size"))
    }

    fn set_send_buffer_size(&mut self, s: Resource<UdpSocket>, _value: u64) -> SockResult<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.set-send-buffer-size"))
    }

    fn subscribe(&mut self, s: Resource<UdpSocket>) -> nyash_engine::Result<Resource<Pollable>> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.subscribe"))
    }

    fn drop(&mut self, s: Resource<UdpSocket>) -> nyash_engine::Result<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp udp-socket.drop"))
    }
}

impl udp::HostIncomingDatagramStream for WasiCtx {
    fn receive(
        &mut self,
        s: Resource<IncomingDatagramStream>,
        _max_results: u64,
    ) -> SockResult<Vec<udp::IncomingDatagram>> {
        Err(self.unreachable(&s, "wasi:sockets/udp incoming-datagram-stream.receive"))
    }

    fn subscribe(
        &mut self,
        s: Resource<IncomingDatagramStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        Err(self.unreachable(&s, "wasi:sockets/udp incoming-datagram-stream.subscribe"))
    }

    fn drop(&mut self, s: Resource<IncomingDatagramStream>) -> nyash_engine::Result<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp incoming-datagram-stream.drop"))
    }
}

impl udp::HostOutgoingDatagramStream for WasiCtx {
    fn check_send(&mut self, s: Resource<OutgoingDatagramStream>) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/udp outgoing-datagram-stream.check-send"))
    }

    fn send(
        &mut self,
        s: Resource<OutgoingDatagramStream>,
        _datagrams: Vec<udp::OutgoingDatagram>,
    ) -> SockResult<u64> {
        Err(self.unreachable(&s, "wasi:sockets/udp outgoing-datagram-stream.send"))
    }

    fn subscribe(
        &mut self,
        s: Resource<OutgoingDatagramStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        Err(self.unreachable(&s, "wasi:sockets/udp outgoing-datagram-stream.subscribe"))
    }

    fn drop(&mut self, s: Resource<OutgoingDatagramStream>) -> nyash_engine::Result<()> {
        Err(self.unreachable(&s, "wasi:sockets/udp outgoing-datagram-stream.drop"))
    }
}

impl ip_name_lookup::HostResolveAddressStream for WasiCtx {
    fn resolve_next_address(
        &mut self,
        s: Resource<ResolveAddressStream>,
    ) -> SockResult<Option<network::IpAddress>> {
        Err(self.unreachable(
            &s,
            "wasi:sockets/ip-name-lookup resolve-address-stream.resolve-next-address",
        ))
    }

    fn subscribe(
        &mut self,
        s: Resource<ResolveAddressStream>,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        Err(self.unreachable(
            &s,
            "wasi:sockets/ip-name-lookup resolve-address-stream.subscribe",
        ))
    }

    fn drop(&mut self, s: Resource<ResolveAddressStream>) -> nyash_engine::Result<()> {
        Err(self.unreachable(
            &s,
            "wasi:sockets/ip-name-lookup resolve-address-stream.drop",
        ))
    }
}

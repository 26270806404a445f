//! `wasi:sockets/udp` and `udp-create-socket`: not implemented yet.
//! Creating a UDP socket answers `access-denied` when the network is not
//! allowed and `not-supported` when it is, so no UDP resource ever
//! exists and their methods are unreachable (their types have no
//! values).

use nyash_engine::component::Resource;

use super::{Network, SockResult};
use crate::WasiCtx;
use crate::p2::io::{Pollable, table_error};
use crate::p2::wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress};
use crate::p2::wasi::sockets::{udp, udp_create_socket};

/// The Rust type of `wasi:sockets/udp`'s `udp-socket` (no values: no UDP
/// socket can be created).
pub enum UdpSocket {}

/// The Rust type of `wasi:sockets/udp`'s `incoming-datagram-stream` (no
/// values: it is made from a UDP socket).
pub enum IncomingDatagramStream {}

/// The Rust type of `wasi:sockets/udp`'s `outgoing-datagram-stream` (no
/// values: it is made from a UDP socket).
pub enum OutgoingDatagramStream {}

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

impl udp_create_socket::Host for WasiCtx {
    fn create_udp_socket(&mut self, _family: IpAddressFamily) -> SockResult<Resource<UdpSocket>> {
        Ok(Err(if self.network.inherit {
            ErrorCode::NotSupported
        } else {
            ErrorCode::AccessDenied
        }))
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

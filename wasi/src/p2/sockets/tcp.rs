//! `wasi:sockets/tcp` and `tcp-create-socket`: a TCP socket's state
//! machine over a non-blocking host socket, and its connection's data as
//! `wasi:io` streams.

use std::future::Future;
use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;

use nyash_engine::Error;
use nyash_engine::component::Resource;
use socket2::Socket;

use super::reactor::{self, Interest};
use super::{
    Network, SockResult, buffer_size, check_family, check_remote, code, from_std, new_socket,
    to_std,
};
use crate::WasiCtx;
use crate::p2::io::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, StreamError,
    StreamResult, Subscribe, subscribe, table_error,
};
use crate::p2::wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress};
use crate::p2::wasi::sockets::{tcp, tcp_create_socket};

/// The largest listen backlog a guest may ask for.
const MAX_BACKLOG: u64 = 1024;

/// The backlog of a socket that did not ask for one.
const DEFAULT_BACKLOG: i32 = 128;

/// How many bytes a connection's output stream buffers (its `check-write`
/// when empty).
const WRITE_BUFFER: usize = 64 << 10;

/// Where a TCP socket is in the WIT's state machine.
enum State {
    /// Created, not bound.
    Default(Socket),
    /// `start-bind` succeeded; `finish-bind` completes it.
    BindStarted(Socket),
    /// Bound to a local address.
    Bound(Socket),
    /// `start-listen` succeeded; `finish-listen` completes it.
    ListenStarted(Socket),
    /// Accepting connections.
    Listening(Socket),
    /// `start-connect` is under way (the OS is connecting).
    Connecting(Socket),
    /// `start-connect` finished at once (success or failure); for
    /// `finish-connect` to report.
    ConnectReady(Socket, Result<(), ErrorCode>),
    /// Connected, its streams handed out.
    Connected(Arc<Socket>),
    /// A failed connect: nothing more can be done with it.
    Closed,
}

/// The Rust type of `wasi:sockets/tcp`'s `tcp-socket`.
pub struct TcpSocket {
    state: State,
    family: IpAddressFamily,
    backlog: i32,
}

impl TcpSocket {
    fn socket(&self) -> Option<&Socket> {
        match &self.state {
            State::Default(s)
            | State::BindStarted(s)
            | State::Bound(s)
            | State::ListenStarted(s)
            | State::Listening(s)
            | State::Connecting(s)
            | State::ConnectReady(s, _) => Some(s),
            State::Connected(s) => Some(s),
            State::Closed => None,
        }
    }

    /// The host socket, or `invalid-state` once a connect failed.
    fn sock(&self) -> Result<&Socket, ErrorCode> {
        self.socket().ok_or(ErrorCode::InvalidState)
    }

    fn is_bound(&self) -> bool {
        matches!(
            self.state,
            State::Bound(_)
                | State::ListenStarted(_)
                | State::Listening(_)
                | State::Connecting(_)
                | State::ConnectReady(..)
                | State::Connected(_)
        )
    }
}

impl Subscribe for TcpSocket {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        match &self.state {
            State::Connecting(s) => Box::pin(reactor::ready(s.as_raw_fd(), Interest::Write)),
            State::Listening(s) => Box::pin(reactor::ready(s.as_raw_fd(), Interest::Read)),
            _ => Box::pin(std::future::ready(())),
        }
    }
}

/// Reads a connection (`input-stream`).
struct Reader(Arc<Socket>);

impl Subscribe for Reader {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(reactor::ready(self.0.as_raw_fd(), Interest::Read))
    }
}

impl InputStream for Reader {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf: Vec<MaybeUninit<u8>> = vec![MaybeUninit::uninit(); size];
        match self.0.recv(&mut buf) {
            Ok(0) => Err(StreamError::Closed),
            Ok(n) => Ok(buf[..n]
                .iter()
                // SAFETY: `recv` initialized the first `n` bytes.
                .map(|b| unsafe { b.assume_init() })
                .collect()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(Vec::new()),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(Vec::new()),
            Err(e) => Err(StreamError::LastOperationFailed(
                Error::io(None::<&std::path::Path>, e).context("wasi:sockets/tcp: receiving"),
            )),
        }
    }
}

/// Writes a connection (`output-stream`): what the guest writes is kept in
/// a bounded buffer and sent as the socket takes it.
struct Writer {
    sock: Arc<Socket>,
    buf: Vec<u8>,
    failed: Option<std::io::Error>,
}

impl Writer {
    /// Sends what the socket takes now.
    fn drain(&mut self) {
        while !self.buf.is_empty() && self.failed.is_none() {
            match self.sock.send_with_flags(&self.buf, libc::MSG_NOSIGNAL) {
                Ok(n) => {
                    self.buf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.failed = Some(e);
                    self.buf.clear();
                }
            }
        }
    }

    fn check_failed(&mut self) -> StreamResult<()> {
        match self.failed.take() {
            Some(e) => Err(StreamError::LastOperationFailed(
                Error::io(None::<&std::path::Path>, e).context("wasi:sockets/tcp: sending"),
            )),
            None => Ok(()),
        }
    }
}

impl Subscribe for Writer {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                self.drain();
                if self.buf.len() < WRITE_BUFFER || self.failed.is_some() {
                    // Ready for more (a flush waits for an empty buffer).
                    if self.buf.is_empty() || self.failed.is_some() {
                        return;
                    }
                }
                let fd: RawFd = self.sock.as_raw_fd();
                reactor::ready(fd, Interest::Write).await;
            }
        })
    }
}

impl OutputStream for Writer {
    fn check_write(&mut self) -> StreamResult<usize> {
        self.drain();
        self.check_failed()?;
        Ok(WRITE_BUFFER - self.buf.len())
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        self.check_failed()?;
        if bytes.len() > WRITE_BUFFER - self.buf.len() {
            return Err(StreamError::Trap(Error::msg(format!(
                "wasi:io/streams output-stream.write (a TCP connection): {} bytes, more than \
                 check-write allows ({})",
                bytes.len(),
                WRITE_BUFFER - self.buf.len()
            ))));
        }
        self.buf.extend_from_slice(bytes);
        self.drain();
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.drain();
        self.check_failed()
    }
}

impl WasiCtx {
    fn tcp(
        &mut self,
        s: &Resource<TcpSocket>,
        what: &'static str,
    ) -> nyash_engine::Result<&mut TcpSocket> {
        self.table.get_mut(s).map_err(table_error(what))
    }

    /// The streams of connection `sock`, as children of socket `parent`.
    fn tcp_streams(
        &mut self,
        sock: Arc<Socket>,
        parent: &Resource<TcpSocket>,
        what: &'static str,
    ) -> nyash_engine::Result<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let input: DynInputStream = Box::new(Reader(sock.clone()));
        let output: DynOutputStream = Box::new(Writer {
            sock,
            buf: Vec::new(),
            failed: None,
        });
        let input = self
            .table
            .push_child(input, parent)
            .map_err(table_error(what))?;
        let output = self
            .table
            .push_child(output, parent)
            .map_err(table_error(what))?;
        Ok((input, output))
    }
}

impl tcp_create_socket::Host for WasiCtx {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SockResult<Resource<TcpSocket>> {
        if !self.network.inherit {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let sock = match new_socket(family, socket2::Type::STREAM) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let s = TcpSocket {
            state: State::Default(sock),
            family,
            backlog: DEFAULT_BACKLOG,
        };
        self.table.push(s).map(Ok).map_err(table_error(
            "wasi:sockets/tcp-create-socket create-tcp-socket",
        ))
    }
}

impl tcp::Host for WasiCtx {}

/// The WIT result `f` computes (a block that may `return Err(code)`), as
/// a host function's (no trap).
fn run<T>(f: impl FnOnce() -> Result<T, ErrorCode>) -> SockResult<T> {
    Ok(f())
}

/// [`run`] over a block or an expression.
macro_rules! guest {
    ($e:expr) => {
        run(|| $e)
    };
}

impl tcp::HostTcpSocket for WasiCtx {
    fn start_bind(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SockResult<()> {
        let policy = self.network_policy(&network, "wasi:sockets/tcp tcp-socket.start-bind")?;
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.start-bind")?;
        guest!({
            let addr = to_std(local_address);
            check_family(&addr, t.family)?;
            if !policy.inherit {
                return Err(ErrorCode::AccessDenied);
            }
            let sock = match std::mem::replace(&mut t.state, State::Closed) {
                State::Default(sock) => sock,
                other => {
                    // Only a fresh socket binds.
                    t.state = other;
                    return Err(ErrorCode::InvalidState);
                }
            };
            // As the OS's servers do: a port in TIME_WAIT can be bound again.
            let r = if addr.port() != 0 {
                sock.set_reuse_address(true)
            } else {
                Ok(())
            }
            .and_then(|()| sock.bind(&addr.into()));
            match r {
                Ok(()) => {
                    t.state = State::BindStarted(sock);
                    Ok(())
                }
                Err(e) => {
                    t.state = State::Default(sock);
                    Err(code(&e))
                }
            }
        })
    }

    fn finish_bind(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.finish-bind")?;
        guest!({
            match std::mem::replace(&mut t.state, State::Closed) {
                State::BindStarted(sock) => {
                    t.state = State::Bound(sock);
                    Ok(())
                }
                other => {
                    t.state = other;
                    Err(ErrorCode::NotInProgress)
                }
            }
        })
    }

    fn start_connect(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SockResult<()> {
        let policy = self.network_policy(&network, "wasi:sockets/tcp tcp-socket.start-connect")?;
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.start-connect")?;
        guest!({
            let addr = to_std(remote_address);
            let sock = match std::mem::replace(&mut t.state, State::Closed) {
                State::Default(sock) | State::Bound(sock) => sock,
                other => {
                    let busy = matches!(other, State::Connecting(_) | State::ConnectReady(..));
                    t.state = other;
                    return Err(if busy {
                        ErrorCode::ConcurrencyConflict
                    } else {
                        ErrorCode::InvalidState
                    });
                }
            };
            let checked = check_family(&addr, t.family)
                .and_then(|()| check_remote(&addr))
                .and_then(|()| policy.inherit.then_some(()).ok_or(ErrorCode::AccessDenied));
            if let Err(e) = checked {
                // Nothing was tried: the socket stays as it was.
                t.state = if t.is_bound() {
                    State::Bound(sock)
                } else {
                    State::Default(sock)
                };
                return Err(e);
            }
            t.state = match sock.connect(&addr.into()) {
                Ok(()) => State::ConnectReady(sock, Ok(())),
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => State::Connecting(sock),
                Err(e) => State::ConnectReady(sock, Err(code(&e))),
            };
            Ok(())
        })
    }

    fn finish_connect(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SockResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.finish-connect")?;
        let sock = match std::mem::replace(&mut t.state, State::Closed) {
            State::ConnectReady(sock, Ok(())) => sock,
            State::ConnectReady(_, Err(e)) => return Ok(Err(e)),
            State::Connecting(sock) => {
                if !reactor::ready_now(sock.as_raw_fd(), Interest::Write) {
                    t.state = State::Connecting(sock);
                    return Ok(Err(ErrorCode::WouldBlock));
                }
                match sock.take_error() {
                    Ok(None) => sock,
                    Ok(Some(e)) | Err(e) => return Ok(Err(code(&e))),
                }
            }
            other => {
                t.state = other;
                return Ok(Err(ErrorCode::NotInProgress));
            }
        };
        let sock = Arc::new(sock);
        t.state = State::Connected(sock.clone());
        self.tcp_streams(sock, &s, "wasi:sockets/tcp tcp-socket.finish-connect")
            .map(Ok)
    }

    fn start_listen(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.start-listen")?;
        guest!({
            match std::mem::replace(&mut t.state, State::Closed) {
                State::Bound(sock) => match sock.listen(t.backlog) {
                    Ok(()) => {
                        t.state = State::ListenStarted(sock);
                        Ok(())
                    }
                    Err(e) => {
                        t.state = State::Bound(sock);
                        Err(code(&e))
                    }
                },
                other => {
                    let busy = matches!(other, State::ListenStarted(_));
                    t.state = other;
                    Err(if busy {
                        ErrorCode::ConcurrencyConflict
                    } else {
                        ErrorCode::InvalidState
                    })
                }
            }
        })
    }

    fn finish_listen(&mut self, s: Resource<TcpSocket>) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.finish-listen")?;
        guest!({
            match std::mem::replace(&mut t.state, State::Closed) {
                State::ListenStarted(sock) => {
                    t.state = State::Listening(sock);
                    Ok(())
                }
                other => {
                    t.state = other;
                    Err(ErrorCode::NotInProgress)
                }
            }
        })
    }

    fn accept(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SockResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let what = "wasi:sockets/tcp tcp-socket.accept";
        let t = self.tcp(&s, what)?;
        let State::Listening(listener) = &t.state else {
            return Ok(Err(ErrorCode::InvalidState));
        };
        let family = t.family;
        let conn = loop {
            match listener.accept() {
                Ok((conn, _)) => break conn,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Ok(Err(code(&e))),
            }
        };
        if let Err(e) = conn.set_nonblocking(true) {
            return Ok(Err(code(&e)));
        }
        let conn = Arc::new(conn);
        let new = TcpSocket {
            state: State::Connected(conn.clone()),
            family,
            backlog: DEFAULT_BACKLOG,
        };
        let new = self.table.push(new).map_err(table_error(what))?;
        let (i, o) = self.tcp_streams(conn, &new, what)?;
        Ok(Ok((new, i, o)))
    }

    fn local_address(&mut self, s: Resource<TcpSocket>) -> SockResult<IpSocketAddress> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.local-address")?;
        guest!({
            if !t.is_bound() {
                return Err(ErrorCode::InvalidState);
            }
            let a = t.sock()?.local_addr().map_err(|e| code(&e))?;
            a.as_socket().map(from_std).ok_or(ErrorCode::Unknown)
        })
    }

    fn remote_address(&mut self, s: Resource<TcpSocket>) -> SockResult<IpSocketAddress> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.remote-address")?;
        guest!({
            let State::Connected(sock) = &t.state else {
                return Err(ErrorCode::InvalidState);
            };
            let a = sock.peer_addr().map_err(|e| code(&e))?;
            a.as_socket().map(from_std).ok_or(ErrorCode::Unknown)
        })
    }

    fn is_listening(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<bool> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.is-listening")?;
        Ok(matches!(t.state, State::Listening(_)))
    }

    fn address_family(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<IpAddressFamily> {
        Ok(self
            .tcp(&s, "wasi:sockets/tcp tcp-socket.address-family")?
            .family)
    }

    fn set_listen_backlog_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-listen-backlog-size")?;
        guest!({
            if value == 0 {
                return Err(ErrorCode::InvalidArgument);
            }
            let backlog = value.min(MAX_BACKLOG) as i32;
            match &t.state {
                State::Default(_) | State::BindStarted(_) | State::Bound(_) => {}
                // Listening already: the OS takes the new size.
                State::ListenStarted(sock) | State::Listening(sock) => {
                    sock.listen(backlog).map_err(|e| code(&e))?
                }
                _ => return Err(ErrorCode::InvalidState),
            }
            t.backlog = backlog;
            Ok(())
        })
    }

    fn keep_alive_enabled(&mut self, s: Resource<TcpSocket>) -> SockResult<bool> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.keep-alive-enabled")?;
        guest!(t.sock()?.keepalive().map_err(|e| code(&e)))
    }

    fn set_keep_alive_enabled(&mut self, s: Resource<TcpSocket>, value: bool) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-enabled")?;
        guest!(t.sock()?.set_keepalive(value).map_err(|e| code(&e)))
    }

    fn keep_alive_idle_time(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.keep-alive-idle-time")?;
        guest!(get_int(t.sock()?, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE).map(secs_to_ns))
    }

    fn set_keep_alive_idle_time(&mut self, s: Resource<TcpSocket>, value: u64) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-idle-time")?;
        guest!(set_int(
            t.sock()?,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            ns_to_secs(value)?
        ))
    }

    fn keep_alive_interval(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.keep-alive-interval")?;
        guest!(get_int(t.sock()?, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL).map(secs_to_ns))
    }

    fn set_keep_alive_interval(&mut self, s: Resource<TcpSocket>, value: u64) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-interval")?;
        guest!(set_int(
            t.sock()?,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            ns_to_secs(value)?
        ))
    }

    fn keep_alive_count(&mut self, s: Resource<TcpSocket>) -> SockResult<u32> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.keep-alive-count")?;
        guest!(get_int(t.sock()?, libc::IPPROTO_TCP, libc::TCP_KEEPCNT).map(|n| n.max(0) as u32))
    }

    fn set_keep_alive_count(&mut self, s: Resource<TcpSocket>, value: u32) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-keep-alive-count")?;
        guest!({
            if value == 0 {
                return Err(ErrorCode::InvalidArgument);
            }
            // Linux takes at most 127 probes.
            set_int(
                t.sock()?,
                libc::IPPROTO_TCP,
                libc::TCP_KEEPCNT,
                value.min(127) as i32,
            )
        })
    }

    fn hop_limit(&mut self, s: Resource<TcpSocket>) -> SockResult<u8> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.hop-limit")?;
        guest!(super::hop_limit(t.sock()?, t.family))
    }

    fn set_hop_limit(&mut self, s: Resource<TcpSocket>, value: u8) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-hop-limit")?;
        guest!(super::set_hop_limit(t.sock()?, t.family, value))
    }

    fn receive_buffer_size(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.receive-buffer-size")?;
        guest!(
            t.sock()?
                .recv_buffer_size()
                .map(|n| n as u64)
                .map_err(|e| code(&e))
        )
    }

    fn set_receive_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-receive-buffer-size")?;
        guest!(
            t.sock()?
                .set_recv_buffer_size(buffer_size(value)?)
                .map_err(|e| code(&e))
        )
    }

    fn send_buffer_size(&mut self, s: Resource<TcpSocket>) -> SockResult<u64> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.send-buffer-size")?;
        guest!(
            t.sock()?
                .send_buffer_size()
                .map(|n| n as u64)
                .map_err(|e| code(&e))
        )
    }

    fn set_send_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.set-send-buffer-size")?;
        guest!(
            t.sock()?
                .set_send_buffer_size(buffer_size(value)?)
                .map_err(|e| code(&e))
        )
    }

    fn subscribe(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<Resource<Pollable>> {
        subscribe(&mut self.table, &s).map_err(table_error("wasi:sockets/tcp tcp-socket.subscribe"))
    }

    fn shutdown(&mut self, s: Resource<TcpSocket>, how: tcp::ShutdownType) -> SockResult<()> {
        let t = self.tcp(&s, "wasi:sockets/tcp tcp-socket.shutdown")?;
        guest!({
            let State::Connected(sock) = &t.state else {
                return Err(ErrorCode::InvalidState);
            };
            let how = match how {
                tcp::ShutdownType::Receive => std::net::Shutdown::Read,
                tcp::ShutdownType::Send => std::net::Shutdown::Write,
                tcp::ShutdownType::Both => std::net::Shutdown::Both,
            };
            sock.shutdown(how).map_err(|e| code(&e))
        })
    }

    fn drop(&mut self, s: Resource<TcpSocket>) -> nyash_engine::Result<()> {
        self.table
            .delete(s)
            .map(drop)
            .map_err(table_error("wasi:sockets/tcp tcp-socket drop"))
    }
}

/// An `int` socket option.
pub(crate) fn get_int(s: &Socket, level: i32, name: i32) -> Result<i32, ErrorCode> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live locals of the sizes `getsockopt` is
    // told; the descriptor is the socket's, open while `s` lives.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            level,
            name,
            (&mut v as *mut i32).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(code(&std::io::Error::last_os_error()));
    }
    Ok(v)
}

/// Sets an `int` socket option.
pub(crate) fn set_int(s: &Socket, level: i32, name: i32, v: i32) -> Result<(), ErrorCode> {
    // SAFETY: `v` is a live local of the size `setsockopt` is told; the
    // descriptor is the socket's, open while `s` lives.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            name,
            (&v as *const i32).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(code(&std::io::Error::last_os_error()));
    }
    Ok(())
}

fn secs_to_ns(s: i32) -> u64 {
    (s.max(0) as u64) * 1_000_000_000
}

/// A keep-alive duration in whole seconds as the OS takes them: rounded
/// up, at least 1, at most Linux's 32767; 0 is `invalid-argument`.
fn ns_to_secs(ns: u64) -> Result<i32, ErrorCode> {
    if ns == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(ns.div_ceil(1_000_000_000).min(32767) as i32)
}

//! WASI 0.2 for components: the host side of the `wasi:*@0.2.x`
//! interfaces, over the same core as preview 1 (`crate::core`) and the
//! same [`WasiCtx`](crate::WasiCtx).
//!
//! The traits come from `bindgen!` over the vendored WIT (`wit/p2`, world
//! `host`) with `trappable_imports`; each package's implementation is in
//! the file named after it (`io.rs`, `cli.rs`, `clocks.rs`, `random.rs`,
//! `filesystem.rs`, `sockets/`, `http/`)
//! and is implemented on `WasiCtx`, whose
//! [`ResourceTable`](nyash_engine::component::ResourceTable) holds every
//! resource (streams, pollables, descriptors, sockets, HTTP messages).
//! Host functions are synchronous: what waits (`wasi:io/poll`, the
//! `blocking-*` stream functions) drives a future with
//! [`nyash_engine::host::block_on`], which suspends an async call on its
//! fiber and blocks a synchronous one. [`add_to_linker`] defines every
//! interface implemented but `wasi:http`'s, which
//! [`http::add_to_linker`] adds (as wasmtime keeps them apart: a command
//! reaches HTTP only when asked to).

pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod http;
pub mod io;
pub mod random;
pub mod sockets;

use nyash_engine::component::Linker;

use crate::WasiView;

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
            "wasi:cli/terminal-input/terminal-input": crate::p2::cli::TerminalInput,
            "wasi:cli/terminal-output/terminal-output": crate::p2::cli::TerminalOutput,
            "wasi:filesystem/types/descriptor": crate::p2::filesystem::Descriptor,
            "wasi:filesystem/types/directory-entry-stream": crate::p2::filesystem::DirectoryEntryStream,
            "wasi:sockets/network/network": crate::p2::sockets::Network,
            "wasi:sockets/tcp/tcp-socket": crate::p2::sockets::TcpSocket,
            "wasi:sockets/udp/udp-socket": crate::p2::sockets::UdpSocket,
            "wasi:sockets/udp/incoming-datagram-stream": crate::p2::sockets::IncomingDatagramStream,
            "wasi:sockets/udp/outgoing-datagram-stream": crate::p2::sockets::OutgoingDatagramStream,
            "wasi:sockets/ip-name-lookup/resolve-address-stream": crate::p2::sockets::ResolveAddressStream,
        }
    });
}

#[allow(unused_imports)]
pub(crate) use bindings::wasi;

/// Defines every WASI 0.2 interface this crate implements in `linker`,
/// each at the vendored version (0.2.12); a component importing any
/// 0.2.x version links against them (the linker matches semver-compatible
/// versions). Each calls the store data's [`WasiCtx`](crate::WasiCtx)
/// through [`WasiView::wasi`]. Fails if one of them is already defined
/// (unless the linker allows shadowing).
///
/// A command runs through its `wasi:cli/run` export; here one written in
/// WAT writes "hello" to stdout:
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use nyash_engine::component::{Component, Linker};
/// use nyash_engine::{Engine, Store};
/// use nyash_wasi::{Stdio, WasiCtx};
///
/// let engine = Engine::default();
/// let component = Component::new(&engine, r#"(component
///   (import "wasi:io/error@0.2.0" (instance $error
///     (export "error" (type (sub resource)))))
///   (alias export $error "error" (type $error-ty))
///   (import "wasi:io/streams@0.2.0" (instance $streams
///     (export "error" (type $e (eq $error-ty)))
///     (export "output-stream" (type $os (sub resource)))
///     (type $se (variant (case "last-operation-failed" (own $e)) (case "closed")))
///     (export "stream-error" (type $se' (eq $se)))
///     (export "[method]output-stream.blocking-write-and-flush"
///       (func (param "self" (borrow $os)) (param "contents" (list u8))
///             (result (result (error $se')))))))
///   (alias export $streams "output-stream" (type $os))
///   (import "wasi:cli/stdout@0.2.0" (instance $stdout
///     (export "output-stream" (type $os' (eq $os)))
///     (export "get-stdout" (func (result (own $os'))))))
///
///   (core module $Mem (memory (export "mem") 1))
///   (core instance $mem (instantiate $Mem))
///   (alias core export $mem "mem" (core memory $m))
///   (core func $get-stdout (canon lower (func $stdout "get-stdout")))
///   (core func $write (canon lower
///     (func $streams "[method]output-stream.blocking-write-and-flush")
///     (memory $m)))
///   (core func $drop (canon resource.drop $os))
///   (core module $Main
///     (import "host" "mem" (memory 1))
///     (import "host" "get-stdout" (func $get-stdout (result i32)))
///     (import "host" "write" (func $write (param i32 i32 i32 i32)))
///     (import "host" "drop" (func $drop (param i32)))
///     (data (i32.const 16) "hello\n")
///     (func (export "run") (result i32)
///       (local $out i32)
///       (local.set $out (call $get-stdout))
///       ;; the result (a result<_, stream-error>) is written at 0
///       (call $write (local.get $out) (i32.const 16) (i32.const 6) (i32.const 0))
///       (call $drop (local.get $out))
///       ;; `run` returns `ok` when the write did
///       (i32.load8_u (i32.const 0))))
///   (core instance $main (instantiate $Main
///     (with "host" (instance
///       (export "mem" (memory $m))
///       (export "get-stdout" (func $get-stdout))
///       (export "write" (func $write))
///       (export "drop" (func $drop))))))
///   (func $run (result (result)) (canon lift (core func $main "run")))
///   (instance $run-inst (export "run" (func $run)))
///   (export "wasi:cli/run@0.2.0" (instance $run-inst)))"#)?;
///
/// let stdout = Arc::new(Mutex::new(Vec::new()));
/// let ctx = WasiCtx::builder().stdout(Stdio::Buffer(stdout.clone())).build()?;
/// let mut linker = Linker::<WasiCtx>::new(&engine);
/// nyash_wasi::p2::add_to_linker(&mut linker)?;
/// let mut store = Store::new(&engine, ctx);
/// let instance = linker.instantiate(&mut store, &component)?;
///
/// let iface = instance
///     .get_export_index(&mut store, None, "wasi:cli/run@0.2.0")
///     .expect("exports wasi:cli/run");
/// let run = instance
///     .get_export_index(&mut store, Some(&iface), "run")
///     .expect("exports run");
/// let run = instance.get_typed_func::<(), (Result<(), ()>,)>(&mut store, &run)?;
/// assert_eq!(run.call(&mut store, ())?, (Ok(()),));
/// assert_eq!(stdout.lock().unwrap().as_slice(), b"hello\n");
/// # Ok::<(), nyash_engine::Error>(())
/// ```
pub fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> nyash_engine::Result<()> {
    use wasi::{cli, clocks, io, random, sockets};
    let get: fn(&mut T) -> &mut crate::WasiCtx = T::wasi;
    io::error::add_to_linker(linker, get)?;
    io::poll::add_to_linker(linker, get)?;
    io::streams::add_to_linker(linker, get)?;
    cli::environment::add_to_linker(linker, get)?;
    cli::exit::add_to_linker(linker, get)?;
    cli::stdin::add_to_linker(linker, get)?;
    cli::stdout::add_to_linker(linker, get)?;
    cli::stderr::add_to_linker(linker, get)?;
    cli::terminal_input::add_to_linker(linker, get)?;
    cli::terminal_output::add_to_linker(linker, get)?;
    cli::terminal_stdin::add_to_linker(linker, get)?;
    cli::terminal_stdout::add_to_linker(linker, get)?;
    cli::terminal_stderr::add_to_linker(linker, get)?;
    clocks::monotonic_clock::add_to_linker(linker, get)?;
    clocks::wall_clock::add_to_linker(linker, get)?;
    random::random::add_to_linker(linker, get)?;
    random::insecure::add_to_linker(linker, get)?;
    random::insecure_seed::add_to_linker(linker, get)?;
    filesystem::add_to_linker(linker)?;
    sockets::network::add_to_linker(linker, get)?;
    sockets::instance_network::add_to_linker(linker, get)?;
    sockets::tcp::add_to_linker(linker, get)?;
    sockets::tcp_create_socket::add_to_linker(linker, get)?;
    sockets::udp::add_to_linker(linker, get)?;
    sockets::udp_create_socket::add_to_linker(linker, get)?;
    sockets::ip_name_lookup::add_to_linker(linker, get)?;
    Ok(())
}

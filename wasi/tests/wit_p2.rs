//! The vendored WASI 0.2 WIT (`wit/p2`, see its ORIGIN.md) resolves with
//! `wit-parser`, and its `host` world imports every interface the WASI 0.2
//! host is to implement, at the vendored version.

use wit_parser::{Resolve, WorldItem, WorldKey};

/// `bindgen!` binds the whole host world (resources in every interface,
/// `wasi:io/poll`'s `list<borrow<pollable>>`, variants holding handles):
/// the test fails to compile if it cannot. The WASI 0.2 host (issue 24)
/// implements these traits.
#[allow(dead_code)]
mod host {
    nyash_engine::component::bindgen!({ world: "host", path: "wit/p2" });
}

#[test]
fn bindgen_binds_the_host_world() {
    use nyash_engine::component::Resource;
    use std::any::type_name;
    // `poll` takes a list of borrowed pollables, as `Vec<Resource<_>>`
    // (checked at compile time, for any host).
    #[allow(dead_code)]
    fn poll_sig<H: host::wasi::io::poll::Host>()
    -> fn(&mut H, Vec<Resource<host::wasi::io::poll::Pollable>>) -> Vec<u32> {
        H::poll
    }
    // A variant holding an owned handle (`stream-error`).
    let closed = host::wasi::io::streams::StreamError::Closed;
    assert!(format!("{closed:?}").contains("Closed"));
    assert!(type_name::<host::wasi::http::types::ErrorCode>().ends_with("ErrorCode"));
}

#[test]
fn the_vendored_wasi_p2_wit_resolves_to_the_host_world() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wit/p2");
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e:?}"));
    let world = resolve
        .select_world(&[pkg], Some("host"))
        .expect("the host world");
    let mut imports: Vec<String> = resolve.worlds[world]
        .imports
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Interface(id), WorldItem::Interface { .. }) => resolve.id_of(*id),
            _ => None,
        })
        .collect();
    imports.sort();
    for want in [
        "wasi:cli/environment@0.2.12",
        "wasi:cli/exit@0.2.12",
        "wasi:cli/stdin@0.2.12",
        "wasi:cli/stdout@0.2.12",
        "wasi:cli/stderr@0.2.12",
        "wasi:cli/terminal-input@0.2.12",
        "wasi:cli/terminal-output@0.2.12",
        "wasi:cli/terminal-stdin@0.2.12",
        "wasi:cli/terminal-stdout@0.2.12",
        "wasi:cli/terminal-stderr@0.2.12",
        "wasi:io/error@0.2.12",
        "wasi:io/poll@0.2.12",
        "wasi:io/streams@0.2.12",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:random/random@0.2.12",
        "wasi:random/insecure@0.2.12",
        "wasi:random/insecure-seed@0.2.12",
        "wasi:filesystem/types@0.2.12",
        "wasi:filesystem/preopens@0.2.12",
        "wasi:sockets/network@0.2.12",
        "wasi:sockets/instance-network@0.2.12",
        "wasi:sockets/tcp@0.2.12",
        "wasi:sockets/tcp-create-socket@0.2.12",
        "wasi:sockets/udp@0.2.12",
        "wasi:sockets/udp-create-socket@0.2.12",
        "wasi:sockets/ip-name-lookup@0.2.12",
        "wasi:http/types@0.2.12",
        "wasi:http/outgoing-handler@0.2.12",
    ] {
        assert!(
            imports.iter().any(|i| i == want),
            "{want} not imported by the host world; it imports {imports:?}"
        );
    }
}

//! `nyash-engine serve` as a process: the hand-written WAT handler of
//! nyash-wasi's tests (`wasi/tests/p2_http_handler.wat`) served on
//! 127.0.0.1 (port 0, read back from what `serve` prints) and exercised
//! by a plain HTTP/1.1 client over TCP: hello, a 1 MiB echo, 20 requests
//! at once, a trapping handler and one that never answers each answered
//! 500 (and logged) with the next request still served, `--timeout` on a
//! handler that loops, and SIGINT finishing a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The WAT handler as a component file in a scratch directory.
fn handler_component() -> std::path::PathBuf {
    let wasi = concat!(env!("CARGO_MANIFEST_DIR"), "/../wasi");
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(format!("{wasi}/wit/p2"))
        .expect("the vendored WIT");
    let wit = std::fs::read_to_string(format!("{wasi}/tests/p2_http_handler.wit")).unwrap();
    let pkg = resolve.push_str("p2_http_handler.wit", &wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("handler")).unwrap();
    let mut module = wat::parse_file(format!("{wasi}/tests/p2_http_handler.wat")).unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .unwrap();
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("nyash-serve-test-{}-{n}.wasm", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A running `serve` and the address it printed.
struct Server {
    child: Child,
    addr: String,
    component: std::path::PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let component = handler_component();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nyash-engine"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "--no-cache"])
            .args(extra)
            .arg(&component)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("Serving HTTP on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            component,
        }
    }

    /// One request on a connection of its own: the status, the headers
    /// (lower-cased lines) and the body.
    fn request(&self, method: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        write!(
            s,
            "{method} /x HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.addr,
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let end = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&all[..end]).to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        let mut body = all[end + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        (status, head, body)
    }

    /// Stops the server with SIGINT; its stderr.
    fn stop(self) -> String {
        // SAFETY: kill(2) on the child's pid, which this struct owns.
        unsafe { libc_kill(self.child.id() as i32, 2) };
        let out = self.child.wait_with_output().unwrap();
        let _ = std::fs::remove_file(&self.component);
        assert!(out.status.success(), "serve exited with {:?}", out.status);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// A chunked body's bytes.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        b = &b[nl + 2..];
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[..n]);
        b = &b[n + 2..];
    }
}

#[test]
fn serves_hello_echo_concurrent_requests_and_survives_failing_handlers() {
    let server = Server::start(&[]);
    let (status, head, body) = server.request("GET", b"");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("x-handler: wat"), "{head}");
    assert_eq!(body, b"hello from wat\n");

    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let (status, _, body) = server.request("POST", &data);
    assert_eq!(status, 200);
    assert!(
        body == data,
        "the 1 MiB echo differs ({} bytes back)",
        body.len()
    );

    std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| server.request("GET", b"")))
            .collect();
        for h in handles {
            let (status, _, body) = h.join().unwrap();
            assert_eq!((status, &body[..]), (200, &b"hello from wat\n"[..]));
        }
    });

    // A trap, no response, an error code: 500 each, and serving goes on.
    for method in ["PUT", "DELETE", "PATCH"] {
        let (status, head, _) = server.request(method, b"");
        assert_eq!(status, 500, "{method}: {head}");
        assert_eq!(server.request("GET", b"").0, 200, "after {method}");
    }
    let log = server.stop();
    assert!(
        log.contains("(PUT /x)") && log.contains("unreachable"),
        "{log}"
    );
    assert!(
        log.contains("(DELETE /x)") && log.contains("without setting a response"),
        "{log}"
    );
    assert!(
        log.contains("(PATCH /x)") && log.contains("HttpResponseIncomplete"),
        "{log}"
    );
}

#[test]
fn timeout_stops_a_looping_handler_and_fuel_a_busy_one() {
    let server = Server::start(&["--timeout", "200ms"]);
    let t = std::time::Instant::now();
    assert_eq!(server.request("OPTIONS", b"").0, 500);
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(server.request("GET", b"").0, 200);
    let log = server.stop();
    assert!(log.contains("(OPTIONS /x)"), "{log}");

    let server = Server::start(&["--fuel", "100000"]);
    assert_eq!(server.request("OPTIONS", b"").0, 500);
    assert_eq!(server.request("GET", b"").0, 200);
    let log = server.stop();
    assert!(log.contains("fuel"), "{log}");
}

#[test]
fn sigint_lets_a_request_in_flight_finish() {
    let server = Server::start(&[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(
        s,
        "POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\nconnection: close\r\n\r\nhello"
    )
    .unwrap();
    // The handler is reading the body when the server is told to stop.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = server.child.id() as i32;
    // SAFETY: kill(2) on the child's pid, which `server` owns.
    unsafe { libc_kill(pid, 2) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.write_all(b" back").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(dechunk(&all[end + 4..]), b"hello back", "{text}");
    let log = server.stop();
    assert!(log.contains("shutting down"), "{log}");
}

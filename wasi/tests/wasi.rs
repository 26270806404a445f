//! WASI preview 1 through the library: stdio buffers, args, env, exit codes,
//! and the sandbox: no path can leave a preopened directory.

use std::sync::{Arc, Mutex};

use nyash_engine::{Engine, Linker, Module, Store};
use nyash_wasi::{self as wasi, Stdio, WasiCtx};

/// A WASI command in WAT whose `_start` opens `PATH` under fd 3 (the first
/// preopen) with the given lookup flags and oflags, and exits with the errno
/// (0 on success).
fn opener(path: &str, lookup: u32, oflags: u32) -> String {
    format!(
        r#"(module
            (import "wasi_snapshot_preview1" "path_open"
                (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "{path}")
            (func (export "_start")
                (call $exit (call $open (i32.const 3) (i32.const {lookup})
                    (i32.const 16) (i32.const {len}) (i32.const {oflags})
                    (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8)))))"#,
        len = path.len()
    )
}

fn run(engine: &Engine, wat: &str, ctx: WasiCtx) -> i32 {
    let module = Module::new(engine, wat).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(engine);
    wasi::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(engine, ctx);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => e
            .exit_status()
            .unwrap_or_else(|| panic!("unexpected error: {e}")),
    }
}

fn sandbox() -> (tempdir::Dir, Engine) {
    (tempdir::Dir::new(), Engine::default())
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("nyash-wasi-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("sandbox/sub")).unwrap();
            std::fs::write(p.join("secret.txt"), "outside").unwrap();
            std::fs::write(p.join("sandbox/inside.txt"), "inside").unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const NOTCAPABLE: i32 = 76;
const PERM: i32 = 63;

fn ctx(dir: &tempdir::Dir) -> WasiCtx {
    WasiCtx::builder()
        .preopened_dir(dir.0.join("sandbox"), "/")
        .build()
        .unwrap()
}

#[test]
fn files_inside_the_preopen_open() {
    let (dir, engine) = sandbox();
    assert_eq!(run(&engine, &opener("inside.txt", 0, 0), ctx(&dir)), 0);
    assert_eq!(
        run(&engine, &opener("sub/../inside.txt", 0, 0), ctx(&dir)),
        0
    );
}

#[test]
fn dotdot_cannot_leave_the_preopen() {
    let (dir, engine) = sandbox();
    for path in [
        "../secret.txt",
        "sub/../../secret.txt",
        "./../sandbox/../secret.txt",
    ] {
        let errno = run(&engine, &opener(path, 0, 0), ctx(&dir));
        assert!(
            errno == PERM || errno == NOTCAPABLE,
            "{path}: errno {errno}"
        );
    }
}

#[test]
fn absolute_paths_are_refused() {
    let (dir, engine) = sandbox();
    let secret = dir.0.join("secret.txt");
    let errno = run(&engine, &opener(secret.to_str().unwrap(), 0, 0), ctx(&dir));
    assert!(errno == PERM || errno == NOTCAPABLE, "errno {errno}");
}

#[test]
fn symlinks_cannot_leave_the_preopen() {
    let (dir, engine) = sandbox();
    std::os::unix::fs::symlink(dir.0.join("secret.txt"), dir.0.join("sandbox/abs-link")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", dir.0.join("sandbox/rel-link")).unwrap();
    std::os::unix::fs::symlink("../../secret.txt", dir.0.join("sandbox/sub/deep-link")).unwrap();
    for path in ["abs-link", "rel-link", "sub/deep-link"] {
        let errno = run(&engine, &opener(path, 1, 0), ctx(&dir));
        assert!(
            errno == PERM || errno == NOTCAPABLE,
            "{path}: errno {errno}"
        );
    }
    // Creating through an escaping symlink must not create outside either.
    let errno = run(&engine, &opener("rel-link", 1, 1), ctx(&dir));
    assert_ne!(errno, 0);
    assert_eq!(
        std::fs::read_to_string(dir.0.join("secret.txt")).unwrap(),
        "outside"
    );
}

#[test]
fn stdio_args_env_and_exit_code() {
    let engine = Engine::default();
    let out = Arc::new(Mutex::new(Vec::new()));
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "hello\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 6))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (drop (call $args (i32.const 16) (i32.const 20)))
            (drop (call $env (i32.const 24) (i32.const 28)))
            ;; exit status = argc * 10 + envc
            (call $exit (i32.add (i32.mul (i32.load (i32.const 16)) (i32.const 10))
                                 (i32.load (i32.const 24))))))"#;
    let ctx = WasiCtx::builder()
        .args(["prog", "a", "b"])
        .env("K", "V")
        .stdout(Stdio::Buffer(out.clone()))
        .build()
        .unwrap();
    assert_eq!(run(&engine, wat, ctx), 31);
    assert_eq!(&*out.lock().unwrap(), b"hello\n");
}

/// `poll_oneoff` on a relative clock of 50 ms.
const SLEEPER: &str = r#"(module
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start")
        ;; subscription at 0: userdata 7, clock, id MONOTONIC, timeout 50 ms
        (i64.store (i32.const 0) (i64.const 7))
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 50000000))
        (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 200)) (then unreachable))
        ;; one event, for userdata 7
        (if (i32.ne (i32.load (i32.const 200)) (i32.const 1)) (then unreachable))
        (if (i64.ne (i64.load (i32.const 64)) (i64.const 7)) (then unreachable))))"#;

#[test]
fn poll_oneoff_sleeps_without_blocking_the_thread_in_async_stores() {
    let mut config = nyash_engine::Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, SLEEPER).unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    wasi::add_to_linker(&mut linker).unwrap();
    const N: usize = 40;
    let start = std::time::Instant::now();
    futures::executor::block_on(async {
        let calls = (0..N).map(|_| {
            let mut store = Store::new(&engine, WasiCtx::builder().build().unwrap());
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .unwrap();
            async move { f.call_async(&mut store, ()).await }
        });
        for r in futures::future::join_all(calls).await {
            r.unwrap();
        }
    });
    let elapsed = start.elapsed();
    // Sequentially this is N x 50 ms = 2 s.
    assert!(
        elapsed < std::time::Duration::from_millis(1000),
        "{elapsed:?}"
    );
    // And a synchronous call sleeps on its thread.
    let mut store = Store::new(&engine, WasiCtx::builder().build().unwrap());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let t = std::time::Instant::now();
    f.call(&mut store, ()).unwrap();
    assert!(t.elapsed() >= std::time::Duration::from_millis(50));
}

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

/// A guest whose exports call WASI's directory functions, so the test can
/// drive them one by one: `open_dir(fd, path) -> errno` (new fd at 8),
/// `stat(fd, path) -> errno` (filestat at 64: dev at 64, ino at 72) and
/// `readdir(fd) -> errno` (entries at 1024, bytes used at 12).
const DIR_OPS: &str = r#"(module
    (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_filestat_get"
        (func $stat (param i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_readdir"
        (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "open_dir") (param $fd i32) (param $len i32) (result i32)
        (call $open (local.get $fd) (i32.const 0) (i32.const 256) (local.get $len)
            (i32.const 2) (i64.const 0x3fbffebe) (i64.const 0x3fffffff) (i32.const 0)
            (i32.const 8)))
    (func (export "stat") (param $fd i32) (param $len i32) (result i32)
        (call $stat (local.get $fd) (i32.const 0) (i32.const 256) (local.get $len)
            (i32.const 64)))
    (func (export "readdir") (param $fd i32) (result i32)
        (call $readdir (local.get $fd) (i32.const 1024) (i32.const 60000) (i64.const 0)
            (i32.const 12))))"#;

struct DirOps {
    store: Store<WasiCtx>,
    instance: nyash_engine::Instance,
    memory: nyash_engine::Memory,
}

impl DirOps {
    fn new(engine: &Engine, ctx: WasiCtx) -> DirOps {
        let module = Module::new(engine, DIR_OPS).unwrap();
        let mut linker: Linker<WasiCtx> = Linker::new(engine);
        wasi::add_to_linker(&mut linker).unwrap();
        let mut store = Store::new(engine, ctx);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        DirOps {
            store,
            instance,
            memory,
        }
    }

    fn call(&mut self, name: &str, fd: u32, path: &str) -> Result<(), i32> {
        self.memory
            .write(&mut self.store, 256, path.as_bytes())
            .unwrap();
        let f = self
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut self.store, name)
            .unwrap();
        match f
            .call(&mut self.store, (fd as i32, path.len() as i32))
            .unwrap()
        {
            0 => Ok(()),
            errno => Err(errno),
        }
    }

    fn u64_at(&self, at: usize) -> u64 {
        let m = self.memory.data(&self.store);
        u64::from_le_bytes(m[at..at + 8].try_into().unwrap())
    }

    /// Opens directory `path` under `fd`: the new descriptor.
    fn open_dir(&mut self, fd: u32, path: &str) -> Result<u32, i32> {
        self.call("open_dir", fd, path)?;
        Ok(self.u64_at(8) as u32)
    }

    /// `path_filestat_get` (following symlinks): (dev, ino).
    fn stat(&mut self, fd: u32, path: &str) -> Result<(u64, u64), i32> {
        self.call("stat", fd, path)?;
        Ok((self.u64_at(64), self.u64_at(72)))
    }

    /// `fd_readdir` from the start: (name, inode) of every entry.
    fn readdir(&mut self, fd: u32) -> Vec<(String, u64)> {
        let f = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, "readdir")
            .unwrap();
        assert_eq!(f.call(&mut self.store, fd as i32).unwrap(), 0);
        let m = self.memory.data(&self.store);
        let used = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        let (mut at, end, mut out) = (1024, 1024 + used, Vec::new());
        while at + 24 <= end {
            let ino = u64::from_le_bytes(m[at + 8..at + 16].try_into().unwrap());
            let len = u32::from_le_bytes(m[at + 16..at + 20].try_into().unwrap()) as usize;
            let name = String::from_utf8(m[at + 24..at + 24 + len].to_vec()).unwrap();
            out.push((name, ino));
            at += 24 + len;
        }
        out
    }
}

fn host_id(p: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.dev(), m.ino())
}

fn ino_of(entries: &[(String, u64)], name: &str) -> u64 {
    entries
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no entry {name} in {entries:?}"))
        .1
}

/// A recent wasi-libc `fstatat`s every entry whose inode `fd_readdir`
/// reports as 0, `..` included (`scandir`): `..` of a directory beneath the
/// preopen must have its real inode, and be stat-able.
#[test]
fn dotdot_beneath_the_preopen_has_its_real_inode_and_stats() {
    let (dir, engine) = sandbox();
    std::fs::create_dir(dir.0.join("sandbox/sub/deeper")).unwrap();
    let sandbox_id = host_id(&dir.0.join("sandbox"));
    let sub_id = host_id(&dir.0.join("sandbox/sub"));
    let mut g = DirOps::new(&engine, ctx(&dir));
    let sub = g.open_dir(3, "sub").unwrap();
    let entries = g.readdir(sub);
    assert_eq!(ino_of(&entries, "."), sub_id.1);
    assert_eq!(ino_of(&entries, ".."), sandbox_id.1);
    assert_eq!(
        ino_of(&entries, "deeper"),
        host_id(&dir.0.join("sandbox/sub/deeper")).1
    );
    assert_eq!(g.stat(sub, ".."), Ok(sandbox_id));
    assert_eq!(g.stat(sub, "../"), Ok(sandbox_id));
    assert_eq!(g.stat(sub, "./.."), Ok(sandbox_id));
    assert_eq!(g.stat(sub, "."), Ok(sub_id));
    assert_eq!(
        g.stat(sub, "../inside.txt"),
        Ok(host_id(&dir.0.join("sandbox/inside.txt")))
    );
    assert_eq!(g.stat(sub, "../sub/deeper/.."), Ok(sub_id));
    let deeper = g.open_dir(sub, "deeper").unwrap();
    assert_eq!(ino_of(&g.readdir(deeper), ".."), sub_id.1);
    assert_eq!(g.stat(deeper, ".."), Ok(sub_id));
    assert_eq!(g.stat(deeper, "../.."), Ok(sandbox_id));
    // Opening through `..` stays refused: a descriptor only opens beneath it.
    let errno = g.open_dir(sub, "..").unwrap_err();
    assert!(errno == PERM || errno == NOTCAPABLE, "errno {errno}");
}

/// `..` of the preopen itself is outside: not stat-able, and listed with
/// the preopen's own inode (as `..` of `/` is `/`), never the outside's.
#[test]
fn dotdot_at_the_preopen_root_stays_inside() {
    let (dir, engine) = sandbox();
    let sandbox_id = host_id(&dir.0.join("sandbox"));
    let outside_id = host_id(&dir.0);
    let mut g = DirOps::new(&engine, ctx(&dir));
    // The preopen itself, and the same directory opened again below it.
    let again = g.open_dir(3, "sub/..").unwrap();
    for fd in [3, again] {
        let entries = g.readdir(fd);
        assert_eq!(ino_of(&entries, "."), sandbox_id.1);
        assert_eq!(ino_of(&entries, ".."), sandbox_id.1);
        assert!(entries.iter().all(|(_, ino)| *ino != outside_id.1));
        for path in ["..", "../", "./..", "../secret.txt", "../sandbox"] {
            let errno = g.stat(fd, path).unwrap_err();
            assert!(
                errno == PERM || errno == NOTCAPABLE,
                "{path}: errno {errno}"
            );
        }
    }
    let sub = g.open_dir(3, "sub").unwrap();
    for path in ["../..", "../../secret.txt", "../../sandbox", "../sub/../.."] {
        let errno = g.stat(sub, path).unwrap_err();
        assert!(
            errno == PERM || errno == NOTCAPABLE,
            "{path}: errno {errno}"
        );
    }
}

/// A directory the host moves out of the preopen while the guest holds it
/// open is no longer beneath the preopen: its `..` is not climbed.
#[test]
fn dotdot_of_a_directory_moved_out_of_the_preopen_is_not_climbed() {
    let (dir, engine) = sandbox();
    std::fs::create_dir(dir.0.join("sandbox/sub/away")).unwrap();
    let mut g = DirOps::new(&engine, ctx(&dir));
    let away = g.open_dir(3, "sub/away").unwrap();
    std::fs::rename(dir.0.join("sandbox/sub/away"), dir.0.join("away")).unwrap();
    let away_id = host_id(&dir.0.join("away"));
    let entries = g.readdir(away);
    assert_eq!(ino_of(&entries, ".."), away_id.1);
    assert!(entries.iter().all(|(_, ino)| *ino != host_id(&dir.0).1));
    for path in ["..", "../secret.txt"] {
        let errno = g.stat(away, path).unwrap_err();
        assert!(
            errno == PERM || errno == NOTCAPABLE,
            "{path}: errno {errno}"
        );
    }
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

/// What preview 1 reports about standard streams that are not terminals
/// (here a null stdin and stderr and a buffer stdout), against wasmtime's
/// answers (RATIONALE.md has the table): filetype unknown, only the right
/// to read or to write, a filestat of zeros, ESPIPE to seek, tell, `pread`
/// stdin or `pwrite` stdout, EBADF for the file operations, and
/// `poll_oneoff` readiness by direction. Exits with the number of the first
/// check that fails, 0 when all pass.
const STDIO_ANSWERS: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_get" (func $filestat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_tell" (func $tell (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_pread" (func $pread (param i32 i32 i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_pwrite" (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_sync" (func $sync (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_datasync" (func $datasync (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_allocate" (func $allocate (param i32 i64 i64) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $set_size (param i32 i64) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_set_times" (func $set_times (param i32 i64 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_advise" (func $advise (param i32 i64 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func $check (param $got i64) (param $want i64) (param $id i32)
        (if (i64.ne (local.get $got) (local.get $want)) (then (call $exit (local.get $id)))))
    (func $errno (param $got i32) (param $want i32) (param $id i32)
        (call $check (i64.extend_i32_u (local.get $got)) (i64.extend_i32_u (local.get $want)) (local.get $id)))
    (func (export "_start")
        ;; fd_fdstat_get: unknown, FD_READ (0x2) for stdin, FD_WRITE (0x40) for stdout
        (call $errno (call $fdstat (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 1))
        (call $errno (i32.load8_u (i32.const 0)) (i32.const 0) (i32.const 2))
        (call $check (i64.load (i32.const 8)) (i64.const 2) (i32.const 3))
        (call $check (i64.load (i32.const 16)) (i64.const 2) (i32.const 4))
        (call $errno (call $fdstat (i32.const 1) (i32.const 0)) (i32.const 0) (i32.const 5))
        (call $errno (i32.load8_u (i32.const 0)) (i32.const 0) (i32.const 6))
        (call $check (i64.load (i32.const 8)) (i64.const 0x40) (i32.const 7))
        ;; fd_filestat_get: zeros of type unknown (fill with ones first)
        (memory.fill (i32.const 64) (i32.const 0xff) (i32.const 64))
        (call $errno (call $filestat (i32.const 1) (i32.const 64)) (i32.const 0) (i32.const 8))
        (call $check (i64.load (i32.const 64)) (i64.const 0) (i32.const 9))
        (call $check (i64.load (i32.const 72)) (i64.const 0) (i32.const 10))
        (call $errno (i32.load8_u (i32.const 80)) (i32.const 0) (i32.const 11))
        (call $check (i64.load (i32.const 120)) (i64.const 0) (i32.const 12))
        ;; seek, tell: ESPIPE (70)
        (call $errno (call $seek (i32.const 1) (i64.const 0) (i32.const 1) (i32.const 128)) (i32.const 70) (i32.const 13))
        (call $errno (call $tell (i32.const 0) (i32.const 128)) (i32.const 70) (i32.const 14))
        ;; pread stdin / pwrite stdout: ESPIPE; the other way round: EBADF (8)
        (i32.store (i32.const 144) (i32.const 256))
        (i32.store (i32.const 148) (i32.const 4))
        (call $errno (call $pread (i32.const 0) (i32.const 144) (i32.const 1) (i64.const 0) (i32.const 152)) (i32.const 70) (i32.const 15))
        (call $errno (call $pread (i32.const 1) (i32.const 144) (i32.const 1) (i64.const 0) (i32.const 152)) (i32.const 8) (i32.const 16))
        (call $errno (call $pwrite (i32.const 1) (i32.const 144) (i32.const 1) (i64.const 0) (i32.const 152)) (i32.const 70) (i32.const 17))
        (call $errno (call $pwrite (i32.const 0) (i32.const 144) (i32.const 1) (i64.const 0) (i32.const 152)) (i32.const 8) (i32.const 18))
        ;; file operations: EBADF
        (call $errno (call $sync (i32.const 1)) (i32.const 8) (i32.const 19))
        (call $errno (call $datasync (i32.const 0)) (i32.const 8) (i32.const 20))
        (call $errno (call $allocate (i32.const 1) (i64.const 0) (i64.const 1)) (i32.const 8) (i32.const 21))
        (call $errno (call $set_size (i32.const 1) (i64.const 0)) (i32.const 8) (i32.const 22))
        (call $errno (call $set_times (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 2)) (i32.const 8) (i32.const 23))
        (call $errno (call $advise (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0)) (i32.const 8) (i32.const 24))
        ;; poll_oneoff: reading the null stdin is ready at once, hung up;
        ;; reading stdout is EBADF; writing stdout is ready.
        (memory.fill (i32.const 512) (i32.const 0) (i32.const 144))
        (i64.store (i32.const 512) (i64.const 1))
        (i32.store8 (i32.const 520) (i32.const 1))
        (i32.store (i32.const 528) (i32.const 0))
        (i64.store (i32.const 560) (i64.const 2))
        (i32.store8 (i32.const 568) (i32.const 1))
        (i32.store (i32.const 576) (i32.const 1))
        (i64.store (i32.const 608) (i64.const 3))
        (i32.store8 (i32.const 616) (i32.const 2))
        (i32.store (i32.const 624) (i32.const 1))
        (call $errno (call $poll (i32.const 512) (i32.const 1024) (i32.const 3) (i32.const 1020)) (i32.const 0) (i32.const 25))
        (call $errno (i32.load (i32.const 1020)) (i32.const 3) (i32.const 26))
        (call $check (i64.load (i32.const 1024)) (i64.const 1) (i32.const 27))
        (call $errno (i32.load16_u (i32.const 1032)) (i32.const 0) (i32.const 28))
        (call $errno (i32.load16_u (i32.const 1048)) (i32.const 1) (i32.const 29))
        (call $check (i64.load (i32.const 1056)) (i64.const 2) (i32.const 30))
        (call $errno (i32.load16_u (i32.const 1064)) (i32.const 8) (i32.const 31))
        (call $check (i64.load (i32.const 1088)) (i64.const 3) (i32.const 32))
        (call $errno (i32.load16_u (i32.const 1096)) (i32.const 0) (i32.const 33))))"#;

#[test]
fn standard_streams_answer_as_wasmtimes_do() {
    let engine = Engine::default();
    let out = Arc::new(Mutex::new(Vec::new()));
    let ctx = WasiCtx::builder()
        .stdout(Stdio::Buffer(out))
        .build()
        .unwrap();
    assert_eq!(run(&engine, STDIO_ANSWERS, ctx), 0);
}

/// A device opened or looked at beneath a preopen is reported as one:
/// `/dev/null` is a character device for `path_filestat_get` and, opened,
/// for `fd_fdstat_get` (it was unknown and a regular file). Exits with the
/// number of the first check that fails.
#[test]
fn devices_beneath_a_preopen_are_character_devices() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "path_filestat_get"
            (func $stat (param i32 i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_open"
            (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "null")
        (func (export "_start")
            (if (call $stat (i32.const 3) (i32.const 1) (i32.const 16) (i32.const 4) (i32.const 64))
                (then (call $exit (i32.const 1))))
            (if (i32.ne (i32.load8_u (i32.const 80)) (i32.const 2)) (then (call $exit (i32.const 2))))
            (if (call $open (i32.const 3) (i32.const 1) (i32.const 16) (i32.const 4) (i32.const 0)
                    (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))
                (then (call $exit (i32.const 3))))
            (if (call $fdstat (i32.load (i32.const 8)) (i32.const 128)) (then (call $exit (i32.const 4))))
            (if (i32.ne (i32.load8_u (i32.const 128)) (i32.const 2)) (then (call $exit (i32.const 5))))))"#;
    let ctx = WasiCtx::builder()
        .preopened_dir("/dev", "/dev")
        .build()
        .unwrap();
    assert_eq!(run(&Engine::default(), wat, ctx), 0);
}

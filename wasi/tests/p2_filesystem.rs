//! `wasi:filesystem` (WASI 0.2) through a component: a hand-written guest
//! (`p2_fs_driver.wat`, world `p2_fs_driver.wit`) reaches the host only
//! through its `wasi:filesystem/{types,preopens}` imports, and the tests
//! drive it export by export. First what works (open, read, write, stat,
//! directories, links, renames, flags, times), then the sandbox: paths
//! that would leave a preopen — `..`, absolute paths, symlinks pointing
//! out, `..` at the root, a symlink loop — each refused with the error
//! code wasmtime's WASI 0.2 gives (`not-permitted`, `loop`).

use nyash_engine::component::{Component, Instance, Linker, ResourceType, Val};
use nyash_engine::{Engine, Store};
use nyash_wasi::WasiCtx;

/// A scratch directory: `sandbox/` (the preopen, holding `inside.txt` and
/// `sub/`) beside `secret.txt`, which no path may reach.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("nyash-wasi-p2fs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("sandbox/sub")).unwrap();
        std::fs::write(p.join("secret.txt"), "outside").unwrap();
        std::fs::write(p.join("sandbox/inside.txt"), "inside").unwrap();
        Scratch(p)
    }

    fn sandbox(&self) -> std::path::PathBuf {
        self.0.join("sandbox")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test component, from the driver's WAT and its world (resolved
/// against the vendored WASI 0.2 WIT).
fn component_bytes() -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit/p2"))
        .expect("the vendored WIT resolves");
    let pkg = resolve
        .push_str("p2_fs_driver.wit", include_str!("p2_fs_driver.wit"))
        .expect("the driver's world resolves");
    let world = resolve.select_world(&[pkg], Some("driver")).expect("world");
    let mut module = wat::parse_str(include_str!("p2_fs_driver.wat")).expect("the WAT assembles");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

/// The instantiated driver over a context whose one preopen is `scratch`'s
/// sandbox, seen as `/`.
struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
    /// The preopen's handle in the guest.
    root: u32,
}

/// A WIT result as Rust's: `Err` is the error-code's name.
fn result(v: Val) -> Result<Option<Val>, String> {
    match v {
        Val::Result(Ok(v)) => Ok(v.map(|b| *b)),
        Val::Result(Err(Some(e))) => match *e {
            Val::Enum(name) => Err(name),
            other => panic!("an error that is not an error-code: {other:?}"),
        },
        other => panic!("not a result: {other:?}"),
    }
}

fn flags(names: &[&str]) -> Val {
    Val::Flags(names.iter().map(|s| s.to_string()).collect())
}

fn s(x: &str) -> Val {
    Val::String(x.into())
}

/// A field of a record value.
fn field(v: &Val, name: &str) -> Val {
    match v {
        Val::Record(fields) => fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no field {name} in {v:?}")),
        other => panic!("not a record: {other:?}"),
    }
}

/// What `stat` says, in short: (type, size).
fn type_and_size(st: &Val) -> (String, u64) {
    let t = match field(st, "type") {
        Val::Enum(t) => t,
        other => panic!("type {other:?}"),
    };
    let size = match field(st, "size") {
        Val::U64(n) => n,
        other => panic!("size {other:?}"),
    };
    (t, size)
}

impl Guest {
    fn new(scratch: &Scratch) -> Guest {
        let ctx = WasiCtx::builder()
            .preopened_dir(scratch.sandbox(), "/")
            .build()
            .unwrap();
        Guest::with_ctx(ctx)
    }

    fn with_ctx(ctx: WasiCtx) -> Guest {
        let engine = Engine::default();
        let component = Component::new(&engine, component_bytes()).expect("the component compiles");
        let mut linker: Linker<WasiCtx> = Linker::new(&engine);
        nyash_wasi::p2::filesystem::add_to_linker(&mut linker).expect("add_to_linker");
        // The types `wasi:filesystem/types` uses from `wasi:io` (the
        // streams' functions are not this test's).
        let mut streams = linker.instance("wasi:io/streams@0.2.12").unwrap();
        streams
            .resource(
                "input-stream",
                ResourceType::host::<nyash_wasi::p2::io::DynInputStream>(),
                |_, _| Ok(()),
            )
            .unwrap();
        streams
            .resource(
                "output-stream",
                ResourceType::host::<nyash_wasi::p2::io::DynOutputStream>(),
                |_, _| Ok(()),
            )
            .unwrap();
        linker
            .instance("wasi:io/error@0.2.12")
            .unwrap()
            .resource(
                "error",
                ResourceType::host::<nyash_wasi::p2::io::IoError>(),
                |_, _| Ok(()),
            )
            .unwrap();
        // `datetime` is a record: the instance only has to be there.
        linker.instance("wasi:clocks/wall-clock@0.2.12").unwrap();
        let mut store = Store::new(&engine, ctx);
        let instance = linker
            .instantiate(&mut store, &component)
            .expect("the component instantiates");
        let mut g = Guest {
            store,
            instance,
            root: u32::MAX,
        };
        if let Some((h, _)) = g.preopens().first() {
            g.root = *h;
        }
        g
    }

    fn call(&mut self, name: &str, args: &[Val]) -> Val {
        let f = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let mut out = [Val::Bool(false)];
        f.call(&mut self.store, args, &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let [v] = out;
        v
    }

    /// Calls a function without a result.
    fn call0(&mut self, name: &str, args: &[Val]) {
        let f = self.instance.get_func(&mut self.store, name).unwrap();
        f.call(&mut self.store, args, &mut [])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    fn preopens(&mut self) -> Vec<(u32, String)> {
        match self.call("preopens", &[]) {
            Val::List(items) => items
                .into_iter()
                .map(|t| match t {
                    Val::Tuple(v) => match (&v[0], &v[1]) {
                        (Val::U32(h), Val::String(n)) => (*h, n.clone()),
                        other => panic!("{other:?}"),
                    },
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    /// `open-at` beneath `fd`: the new descriptor's handle, or the error.
    fn open_in(
        &mut self,
        fd: u32,
        follow: bool,
        path: &str,
        oflags: &[&str],
        dflags: &[&str],
    ) -> Result<u32, String> {
        let pflags = if follow {
            flags(&["symlink-follow"])
        } else {
            flags(&[])
        };
        let v = self.call(
            "open-at",
            &[Val::U32(fd), pflags, s(path), flags(oflags), flags(dflags)],
        );
        result(v).map(|h| match h {
            Some(Val::U32(h)) => h,
            other => panic!("{other:?}"),
        })
    }

    /// `open-at` beneath the preopen, following symlinks.
    fn open(&mut self, path: &str, oflags: &[&str], dflags: &[&str]) -> Result<u32, String> {
        self.open_in(self.root, true, path, oflags, dflags)
    }

    fn stat_at(&mut self, fd: u32, follow: bool, path: &str) -> Result<(String, u64), String> {
        let pflags = if follow {
            flags(&["symlink-follow"])
        } else {
            flags(&[])
        };
        result(self.call("stat-at", &[Val::U32(fd), pflags, s(path)]))
            .map(|st| type_and_size(&st.expect("a stat")))
    }

    fn stat(&mut self, fd: u32) -> Result<(String, u64), String> {
        result(self.call("stat", &[Val::U32(fd)])).map(|st| type_and_size(&st.expect("a stat")))
    }

    /// `read`: the bytes and whether the end was reached.
    fn read(&mut self, fd: u32, len: u64, off: u64) -> Result<(Vec<u8>, bool), String> {
        let v = result(self.call("read", &[Val::U32(fd), Val::U64(len), Val::U64(off)]))?;
        match v {
            Some(Val::Tuple(t)) => match (&t[0], &t[1]) {
                (Val::List(bytes), Val::Bool(end)) => Ok((
                    bytes
                        .iter()
                        .map(|b| match b {
                            Val::U8(b) => *b,
                            other => panic!("{other:?}"),
                        })
                        .collect(),
                    *end,
                )),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    fn write(&mut self, fd: u32, data: &[u8], off: u64) -> Result<u64, String> {
        let bytes = Val::List(data.iter().map(|b| Val::U8(*b)).collect());
        match result(self.call("write", &[Val::U32(fd), bytes, Val::U64(off)]))? {
            Some(Val::U64(n)) => Ok(n),
            other => panic!("{other:?}"),
        }
    }

    /// A function of (fd, path) returning `result<_, error-code>`.
    fn path_op(&mut self, name: &str, fd: u32, path: &str) -> Result<(), String> {
        result(self.call(name, &[Val::U32(fd), s(path)])).map(drop)
    }

    fn readlink(&mut self, path: &str) -> Result<String, String> {
        match result(self.call("readlink-at", &[Val::U32(self.root), s(path)]))? {
            Some(Val::String(t)) => Ok(t),
            other => panic!("{other:?}"),
        }
    }

    /// The names and types `read-directory` lists for `fd`, in its order.
    fn list(&mut self, fd: u32) -> Result<Vec<(String, String)>, String> {
        let stream = match result(self.call("read-directory", &[Val::U32(fd)]))? {
            Some(Val::U32(h)) => h,
            other => panic!("{other:?}"),
        };
        let mut out = Vec::new();
        loop {
            match result(self.call("read-directory-entry", &[Val::U32(stream)]))? {
                Some(Val::Option(None)) => break,
                Some(Val::Option(Some(e))) => {
                    let name = match field(&e, "name") {
                        Val::String(n) => n,
                        other => panic!("{other:?}"),
                    };
                    let t = match field(&e, "type") {
                        Val::Enum(t) => t,
                        other => panic!("{other:?}"),
                    };
                    out.push((name, t));
                }
                other => panic!("{other:?}"),
            }
        }
        self.call0("drop-directory-entry-stream", &[Val::U32(stream)]);
        Ok(out)
    }

    fn get_flags(&mut self, fd: u32) -> Result<Vec<String>, String> {
        match result(self.call("get-flags", &[Val::U32(fd)]))? {
            Some(Val::Flags(f)) => Ok(f),
            other => panic!("{other:?}"),
        }
    }

    fn drop_fd(&mut self, fd: u32) {
        self.call0("drop-descriptor", &[Val::U32(fd)]);
    }

    /// Live entries of the host's resource table.
    fn live(&mut self) -> usize {
        self.store.data_mut().table().len()
    }
}

#[test]
fn get_directories_names_the_preopens() {
    let a = Scratch::new();
    let b = Scratch::new();
    let ctx = WasiCtx::builder()
        .preopened_dir(a.sandbox(), "/")
        .build()
        .unwrap();
    let mut g = Guest::with_ctx(ctx);
    assert_eq!(g.stat(g.root).unwrap().0, "directory");
    assert_eq!(g.get_flags(g.root).unwrap(), ["read", "mutate-directory"]);
    // Each call makes new descriptors of the same directories.
    let again = g.preopens();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].0, g.root);
    assert!(matches!(
        g.call("is-same-object", &[Val::U32(g.root), Val::U32(again[0].0)]),
        Val::Bool(true)
    ));
    let ctx = WasiCtx::builder()
        .preopened_dir(a.sandbox(), "/")
        .preopened_dir(b.sandbox(), "other")
        .build()
        .unwrap();
    let mut g = Guest::with_ctx(ctx);
    let names: Vec<String> = g.preopens().into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["/", "other"]);
    // No preopens: an empty list.
    let mut g = Guest::with_ctx(WasiCtx::builder().build().unwrap());
    assert!(g.preopens().is_empty());
}

#[test]
fn files_are_created_written_read_and_stat() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let f = g
        .open("new.txt", &["create"], &["read", "write"])
        .expect("create");
    assert_eq!(g.write(f, b"hello, world", 0), Ok(12));
    assert_eq!(g.write(f, b"W", 7), Ok(1));
    assert_eq!(g.read(f, 100, 0), Ok((b"hello, World".to_vec(), false)));
    assert_eq!(g.read(f, 5, 7), Ok((b"World".to_vec(), false)));
    // Past the end: nothing, and the end.
    assert_eq!(g.read(f, 5, 12), Ok((Vec::new(), true)));
    assert_eq!(g.stat(f), Ok(("regular-file".into(), 12)));
    assert_eq!(
        g.stat_at(g.root, false, "new.txt"),
        Ok(("regular-file".into(), 12))
    );
    assert_eq!(
        std::fs::read_to_string(scratch.sandbox().join("new.txt")).unwrap(),
        "hello, World"
    );
    assert_eq!(g.get_flags(f).unwrap(), ["read", "write"]);
    assert!(matches!(
        result(g.call("get-type", &[Val::U32(f)])),
        Ok(Some(Val::Enum(t))) if t == "regular-file"
    ));
    // set-size truncates and extends.
    assert!(result(g.call("set-size", &[Val::U32(f), Val::U64(5)])).is_ok());
    assert_eq!(g.read(f, 100, 0), Ok((b"hello".to_vec(), false)));
    assert!(result(g.call("set-size", &[Val::U32(f), Val::U64(7)])).is_ok());
    assert_eq!(g.read(f, 100, 0), Ok((b"hello\0\0".to_vec(), false)));
    for f_name in ["sync", "sync-data"] {
        assert_eq!(result(g.call(f_name, &[Val::U32(f)])), Ok(None), "{f_name}");
    }
    assert_eq!(
        result(g.call(
            "advise",
            &[
                Val::U32(f),
                Val::U64(0),
                Val::U64(0),
                Val::Enum("sequential".into())
            ]
        )),
        Ok(None)
    );
    g.drop_fd(f);

    // Existing files: exclusive creation fails; truncation empties.
    assert_eq!(
        g.open("inside.txt", &["create", "exclusive"], &["write"]),
        Err("exist".into())
    );
    let f = g.open("inside.txt", &[], &["read"]).unwrap();
    assert_eq!(g.read(f, 100, 0), Ok((b"inside".to_vec(), false)));
    assert_eq!(g.get_flags(f).unwrap(), ["read"]);
    g.drop_fd(f);
    let f = g.open("inside.txt", &["truncate"], &["write"]).unwrap();
    assert_eq!(g.stat(f), Ok(("regular-file".into(), 0)));
    g.drop_fd(f);
    assert_eq!(
        g.open("missing.txt", &[], &["read"]),
        Err("no-entry".into())
    );
}

#[test]
fn reads_are_bounded_whatever_the_guest_asks() {
    let scratch = Scratch::new();
    std::fs::write(scratch.sandbox().join("big"), vec![7u8; 200_000]).unwrap();
    let mut g = Guest::new(&scratch);
    let f = g.open("big", &[], &["read"]).unwrap();
    // 4 GiB and 2^64 - 1 asked: one bounded chunk handed back.
    for len in [4u64 << 30, u64::MAX] {
        let (bytes, end) = g.read(f, len, 0).unwrap();
        assert_eq!(bytes.len(), nyash_wasi::p2::filesystem::MAX_READ, "{len}");
        assert!(!end);
    }
    let (bytes, _) = g.read(f, u64::MAX, 199_990).unwrap();
    assert_eq!(bytes, vec![7u8; 10]);
}

#[test]
fn the_open_mode_is_enforced() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    // Read-only: writes are refused (bad-descriptor, the host's answer
    // and wasmtime's), streams for writing too; reads work.
    let r = g.open("inside.txt", &[], &["read"]).unwrap();
    assert_eq!(g.write(r, b"x", 0), Err("bad-descriptor".into()));
    for (f, args) in [
        ("write-via-stream", vec![Val::U32(r), Val::U64(0)]),
        ("append-via-stream", vec![Val::U32(r)]),
    ] {
        assert_eq!(
            result(g.call(f, &args)),
            Err("bad-descriptor".into()),
            "{f}"
        );
    }
    assert!(result(g.call("read-via-stream", &[Val::U32(r), Val::U64(0)])).is_ok());
    assert_eq!(
        std::fs::read_to_string(scratch.sandbox().join("inside.txt")).unwrap(),
        "inside"
    );
    // Write-only: reads are refused.
    let w = g.open("inside.txt", &[], &["write"]).unwrap();
    assert_eq!(g.read(w, 10, 0), Err("bad-descriptor".into()));
    assert_eq!(
        result(g.call("read-via-stream", &[Val::U32(w), Val::U64(0)])),
        Err("bad-descriptor".into())
    );
    assert!(result(g.call("write-via-stream", &[Val::U32(w), Val::U64(0)])).is_ok());
    assert_eq!(g.get_flags(w).unwrap(), ["write"]);
    // A directory is not a file, nor opened for writing.
    assert_eq!(g.read(g.root, 10, 0), Err("bad-descriptor".into()));
    assert_eq!(
        result(g.call("read-via-stream", &[Val::U32(g.root), Val::U64(0)])),
        Err("is-directory".into())
    );
    assert_eq!(g.open("sub", &[], &["write"]), Err("is-directory".into()));
    assert_eq!(
        g.open("sub", &["create"], &["read"]),
        Err("is-directory".into())
    );
    assert_eq!(
        g.open("inside.txt", &["directory"], &["read"]),
        Err("not-directory".into())
    );
    // open-flags that cannot go with `directory`.
    for of in [
        &["directory", "create"][..],
        &["directory", "truncate"],
        &["directory", "exclusive"],
    ] {
        assert_eq!(
            g.open("sub", of, &["read"]),
            Err("invalid".into()),
            "{of:?}"
        );
    }
    // Synchronized I/O is not offered.
    assert_eq!(
        g.open("inside.txt", &[], &["read", "file-integrity-sync"]),
        Err("unsupported".into())
    );
    // A file is not a directory to open beneath.
    assert_eq!(
        g.open_in(r, true, "x", &[], &["read"]),
        Err("not-directory".into())
    );
    // A directory keeps mutate-directory as asked.
    let d = g
        .open("sub", &["directory"], &["read", "mutate-directory"])
        .unwrap();
    assert_eq!(g.get_flags(d).unwrap(), ["read", "mutate-directory"]);
    let d2 = g.open("sub", &["directory"], &["read"]).unwrap();
    assert_eq!(g.get_flags(d2).unwrap(), ["read"]);
}

#[test]
fn directories_links_and_renames() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    assert_eq!(g.path_op("create-directory-at", root, "made"), Ok(()));
    assert_eq!(
        g.path_op("create-directory-at", root, "made"),
        Err("exist".into())
    );
    let d = g
        .open("made", &["directory"], &["read", "mutate-directory"])
        .unwrap();
    let f = g
        .open_in(d, false, "a.txt", &["create"], &["write"])
        .unwrap();
    assert_eq!(g.write(f, b"aaa", 0), Ok(3));
    g.drop_fd(f);
    assert_eq!(
        g.stat_at(root, false, "made/a.txt"),
        Ok(("regular-file".into(), 3))
    );
    // A listing: sorted, without `.` and `..`.
    assert_eq!(
        g.list(root).unwrap(),
        [
            ("inside.txt".to_string(), "regular-file".to_string()),
            ("made".into(), "directory".into()),
            ("sub".into(), "directory".into()),
        ]
    );
    assert_eq!(
        g.list(d).unwrap(),
        [("a.txt".to_string(), "regular-file".to_string())]
    );
    // Hard links (not through a followed symlink), renames across
    // directories.
    let r = result(g.call(
        "link-at",
        &[
            Val::U32(d),
            flags(&[]),
            s("a.txt"),
            Val::U32(root),
            s("hard.txt"),
        ],
    ));
    assert_eq!(r, Ok(None));
    let st = result(g.call("stat-at", &[Val::U32(root), flags(&[]), s("hard.txt")]))
        .unwrap()
        .unwrap();
    assert_eq!(field(&st, "link-count"), Val::U64(2));
    let r = result(g.call(
        "link-at",
        &[
            Val::U32(d),
            flags(&["symlink-follow"]),
            s("a.txt"),
            Val::U32(root),
            s("h2"),
        ],
    ));
    assert_eq!(r, Err("invalid".into()));
    let r = result(g.call(
        "rename-at",
        &[Val::U32(d), s("a.txt"), Val::U32(root), s("moved.txt")],
    ));
    assert_eq!(r, Ok(None));
    assert_eq!(
        g.stat_at(root, false, "moved.txt"),
        Ok(("regular-file".into(), 3))
    );
    assert_eq!(g.stat_at(d, false, "a.txt"), Err("no-entry".into()));
    // Same object: through two paths, the hard link and the file.
    let m = g.open("moved.txt", &[], &["read"]).unwrap();
    let h = g.open("hard.txt", &[], &["read"]).unwrap();
    assert!(matches!(
        g.call("is-same-object", &[Val::U32(m), Val::U32(h)]),
        Val::Bool(true)
    ));
    assert!(matches!(
        g.call("is-same-object", &[Val::U32(m), Val::U32(d)]),
        Val::Bool(false)
    ));
    let hash_m = result(g.call("metadata-hash", &[Val::U32(m)])).unwrap();
    let hash_h = result(g.call(
        "metadata-hash-at",
        &[Val::U32(root), flags(&[]), s("hard.txt")],
    ))
    .unwrap();
    let hash_d = result(g.call("metadata-hash", &[Val::U32(d)])).unwrap();
    assert_eq!(hash_m, hash_h);
    assert_ne!(hash_m, hash_d);
    // Removing: a non-empty directory refuses, a file is not a directory
    // and the reverse.
    assert_eq!(
        g.path_op("unlink-file-at", root, "made"),
        Err("is-directory".into())
    );
    assert_eq!(
        g.path_op("remove-directory-at", root, "moved.txt"),
        Err("not-directory".into())
    );
    std::fs::write(scratch.sandbox().join("made/b"), "b").unwrap();
    assert_eq!(
        g.path_op("remove-directory-at", root, "made"),
        Err("not-empty".into())
    );
    assert_eq!(g.path_op("unlink-file-at", d, "b"), Ok(()));
    assert_eq!(g.path_op("remove-directory-at", root, "made"), Ok(()));
    assert_eq!(g.path_op("unlink-file-at", root, "moved.txt"), Ok(()));
    assert_eq!(
        g.path_op("unlink-file-at", root, "moved.txt"),
        Err("no-entry".into())
    );
}

#[test]
fn symlinks_inside_the_preopen() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    let r = result(g.call("symlink-at", &[Val::U32(root), s("inside.txt"), s("link")]));
    assert_eq!(r, Ok(None));
    assert_eq!(g.readlink("link"), Ok("inside.txt".into()));
    assert_eq!(g.readlink("inside.txt"), Err("invalid".into()));
    assert_eq!(g.stat_at(root, false, "link").unwrap().0, "symbolic-link");
    assert_eq!(
        g.stat_at(root, true, "link"),
        Ok(("regular-file".into(), 6))
    );
    // Opening through it follows it, unless told not to.
    let f = g.open("link", &[], &["read"]).unwrap();
    assert_eq!(g.read(f, 10, 0), Ok((b"inside".to_vec(), false)));
    assert_eq!(
        g.open_in(root, false, "link", &[], &["read"]),
        Err("loop".into())
    );
    // A symlink holding an absolute path is refused when made.
    let r = result(g.call("symlink-at", &[Val::U32(root), s("/etc/passwd"), s("abs")]));
    assert_eq!(r, Err("not-permitted".into()));
    // Times: set on the link's target, and on the link itself.
    let t = |secs: u64| {
        Val::Variant(
            "timestamp".into(),
            Some(Box::new(Val::Record(vec![
                ("seconds".into(), Val::U64(secs)),
                ("nanoseconds".into(), Val::U32(5)),
            ]))),
        )
    };
    let r = result(g.call(
        "set-times-at",
        &[
            Val::U32(root),
            flags(&["symlink-follow"]),
            s("link"),
            Val::Variant("no-change".into(), None),
            t(1_000_000),
        ],
    ));
    assert_eq!(r, Ok(None));
    let m = std::fs::metadata(scratch.sandbox().join("inside.txt")).unwrap();
    assert_eq!(
        m.modified().unwrap(),
        std::time::UNIX_EPOCH + std::time::Duration::new(1_000_000, 5)
    );
    let st = result(g.call("stat", &[Val::U32(f)])).unwrap().unwrap();
    assert_eq!(
        field(&st, "data-modification-timestamp"),
        Val::Option(Some(Box::new(Val::Record(vec![
            ("seconds".into(), Val::U64(1_000_000)),
            ("nanoseconds".into(), Val::U32(5)),
        ]))))
    );
    let r = result(g.call(
        "set-times",
        &[Val::U32(f), t(2_000_000), Val::Variant("now".into(), None)],
    ));
    assert_eq!(r, Ok(None));
    let m = std::fs::metadata(scratch.sandbox().join("inside.txt")).unwrap();
    assert_eq!(
        m.accessed().unwrap(),
        std::time::UNIX_EPOCH + std::time::Duration::new(2_000_000, 5)
    );
    assert!(
        m.modified().unwrap()
            > std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)
    );
    // Nanoseconds out of range are invalid.
    let bad = Val::Variant(
        "timestamp".into(),
        Some(Box::new(Val::Record(vec![
            ("seconds".into(), Val::U64(1)),
            ("nanoseconds".into(), Val::U32(1_000_000_000)),
        ]))),
    );
    let r = result(g.call(
        "set-times",
        &[Val::U32(f), bad, Val::Variant("no-change".into(), None)],
    ));
    assert_eq!(r, Err("invalid".into()));
}

#[test]
fn descriptors_are_freed_when_the_guest_drops_them() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let before = g.live();
    let f = g.open("inside.txt", &[], &["read"]).unwrap();
    assert_eq!(g.live(), before + 1);
    g.drop_fd(f);
    assert_eq!(g.live(), before);
    // A directory listing is its own entry, freed when dropped.
    g.list(g.root).unwrap();
    assert_eq!(g.live(), before);
}

// ---------------------------------------------------------------------
// The sandbox: nothing outside the preopen is reachable.
// ---------------------------------------------------------------------

#[test]
fn dotdot_cannot_leave_the_preopen() {
    let scratch = Scratch::new();
    std::fs::create_dir(scratch.sandbox().join("a")).unwrap();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    for path in [
        "../secret.txt",
        "sub/../../secret.txt",
        "./../sandbox/../secret.txt",
        "a/../../x",
    ] {
        assert_eq!(
            g.open(path, &[], &["read"]),
            Err("not-permitted".into()),
            "open {path}"
        );
        assert_eq!(
            g.stat_at(root, true, path),
            Err("not-permitted".into()),
            "stat {path}"
        );
        assert_eq!(
            g.path_op("create-directory-at", root, path),
            Err("not-permitted".into()),
            "mkdir {path}"
        );
        assert_eq!(
            g.path_op("unlink-file-at", root, path),
            Err("not-permitted".into()),
            "unlink {path}"
        );
    }
    // Creating outside is refused the same, and nothing appears there.
    assert_eq!(
        g.open("../made.txt", &["create"], &["write"]),
        Err("not-permitted".into())
    );
    assert!(!scratch.0.join("made.txt").exists());
    // From a subdirectory, `..` climbs to the preopen and no further.
    let sub = g.open("sub", &["directory"], &["read"]).unwrap();
    assert_eq!(
        g.stat_at(sub, true, "../inside.txt"),
        Ok(("regular-file".into(), 6))
    );
    assert_eq!(
        g.stat_at(sub, true, "../../secret.txt"),
        Err("not-permitted".into())
    );
    assert_eq!(
        g.open_in(sub, true, "../../secret.txt", &[], &["read"]),
        Err("not-permitted".into())
    );
    // Renames and links out are refused.
    let r = result(g.call(
        "rename-at",
        &[
            Val::U32(root),
            s("inside.txt"),
            Val::U32(root),
            s("../stolen"),
        ],
    ));
    assert_eq!(r, Err("not-permitted".into()));
    let r = result(g.call(
        "link-at",
        &[
            Val::U32(root),
            flags(&[]),
            s("../secret.txt"),
            Val::U32(root),
            s("l"),
        ],
    ));
    assert_eq!(r, Err("not-permitted".into()));
    assert!(!scratch.0.join("stolen").exists());
}

#[test]
fn dotdot_at_the_root_is_refused() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    for path in ["..", "../", "./..", "sub/../.."] {
        assert_eq!(
            g.stat_at(root, true, path),
            Err("not-permitted".into()),
            "stat {path}"
        );
        assert_eq!(
            g.open(path, &["directory"], &["read"]),
            Err("not-permitted".into()),
            "open {path}"
        );
    }
    // `.` is the preopen itself.
    let dot = g.open(".", &["directory"], &["read"]).unwrap();
    assert!(matches!(
        g.call("is-same-object", &[Val::U32(dot), Val::U32(root)]),
        Val::Bool(true)
    ));
}

#[test]
fn absolute_paths_are_refused() {
    let scratch = Scratch::new();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    let secret = scratch.0.join("secret.txt");
    let secret = secret.to_str().unwrap();
    for path in [secret, "/", "/etc/passwd"] {
        assert_eq!(
            g.open(path, &[], &["read"]),
            Err("not-permitted".into()),
            "{path}"
        );
        assert_eq!(
            g.stat_at(root, true, path),
            Err("not-permitted".into()),
            "{path}"
        );
    }
}

#[test]
fn symlinks_cannot_leave_the_preopen() {
    let scratch = Scratch::new();
    let sb = scratch.sandbox();
    std::os::unix::fs::symlink(scratch.0.join("secret.txt"), sb.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", sb.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("../../secret.txt", sb.join("sub/deep-link")).unwrap();
    std::os::unix::fs::symlink("..", sb.join("up")).unwrap();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    for path in ["abs-link", "rel-link", "sub/deep-link", "up/secret.txt"] {
        assert_eq!(
            g.open(path, &[], &["read"]),
            Err("not-permitted".into()),
            "open {path}"
        );
        assert_eq!(
            g.stat_at(root, true, path),
            Err("not-permitted".into()),
            "stat {path}"
        );
    }
    // The links themselves can be looked at (not followed).
    assert_eq!(
        g.stat_at(root, false, "abs-link").unwrap().0,
        "symbolic-link"
    );
    // Writing through one does not reach outside.
    assert_eq!(
        g.open("rel-link", &["truncate"], &["write"]),
        Err("not-permitted".into())
    );
    assert_eq!(
        std::fs::read_to_string(scratch.0.join("secret.txt")).unwrap(),
        "outside"
    );
}

#[test]
fn a_symlink_loop_is_refused() {
    let scratch = Scratch::new();
    let sb = scratch.sandbox();
    std::os::unix::fs::symlink("loop-b", sb.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", sb.join("loop-b")).unwrap();
    std::os::unix::fs::symlink("self", sb.join("self")).unwrap();
    let mut g = Guest::new(&scratch);
    let root = g.root;
    for path in ["loop-a", "self", "loop-a/x", "self/x"] {
        assert_eq!(
            g.open(path, &[], &["read"]),
            Err("loop".into()),
            "open {path}"
        );
        assert_eq!(
            g.stat_at(root, true, path),
            Err("loop".into()),
            "stat {path}"
        );
    }
}

#[test]
fn names_that_are_not_utf8_are_illegal_byte_sequences() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = Scratch::new();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff");
    std::fs::write(scratch.sandbox().join(bad), "x").unwrap();
    std::os::unix::fs::symlink(bad, scratch.sandbox().join("to-bad")).unwrap();
    let mut g = Guest::new(&scratch);
    // The listing's entry for it (sorted first) is the error; the host's
    // lossy rendering never reaches the guest.
    assert_eq!(g.list(g.root), Err("illegal-byte-sequence".into()));
    assert_eq!(g.readlink("to-bad"), Err("illegal-byte-sequence".into()));
    // Through the link the file is there.
    assert_eq!(
        g.stat_at(g.root, true, "to-bad"),
        Ok(("regular-file".into(), 1))
    );
}

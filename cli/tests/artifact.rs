//! The command line with artifacts and bundles: `compile`, running a
//! `.nwasm` (only with `--allow-precompiled`), damage, and a bundle run
//! from elsewhere.

use std::process::Command;

use nyash_test_util::TmpDir;

const WAT: &str = r#"(module (memory 1) (data (i32.const 0) "\2a")
    (func $f (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.load8_u (i32.const 0))))
    (func (export "g") (result i32) (call $f (i32.const 1))))"#;

/// A fresh directory of this test process, removed when the test ends
/// well (kept after a failure, to look at).
fn tmp(name: &str) -> TmpDir {
    TmpDir::new("artifact", name)
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nyash-engine"))
}

#[test]
fn cli_compile_run_and_explicit_damage() {
    let dir = tmp("cli");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, WAT).unwrap();
    let out = dir.join("m.nwasm");
    let o = cli()
        .args([
            "compile",
            wat.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Without the opt-in, an artifact is refused with a message naming it.
    let o = cli()
        .args(["run", "--invoke", "g", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--allow-precompiled") && e.contains("m.nwasm"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
    let o = cli()
        .args([
            "run",
            "--invoke",
            "g",
            "--allow-precompiled",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "43\n");
    let mut b = std::fs::read(&out).unwrap();
    let n = b.len();
    b[n - 1] ^= 1;
    std::fs::write(&out, &b).unwrap();
    let o = cli()
        .args([
            "run",
            "--invoke",
            "g",
            "--allow-precompiled",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("m.nwasm") && e.contains("damaged"), "{e}");
}

#[test]
fn bundle_runs_from_elsewhere_with_empty_home() {
    let dir = tmp("bundle");
    let wat = dir.join("prog.wat");
    std::fs::write(
        &wat,
        r#"(module
            (import "wasi_snapshot_preview1" "args_sizes_get" (func $a (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (drop (call $a (i32.const 0) (i32.const 4)))
                (call $exit (i32.add (i32.const 40) (i32.load (i32.const 0))))))"#,
    )
    .unwrap();
    let app = dir.join("app");
    let o = cli()
        .args(["bundle", wat.to_str().unwrap(), "-o", app.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let moved = dir.join("elsewhere");
    std::fs::create_dir_all(&moved).unwrap();
    let app2 = moved.join("renamed-app");
    std::fs::rename(&app, &app2).unwrap();
    std::fs::remove_file(&wat).unwrap();
    let o = Command::new(&app2)
        .args(["x", "--y", "z"])
        .current_dir("/")
        .env_clear()
        .env("HOME", "")
        .output()
        .unwrap();
    // argv = [renamed-app, x, --y, z]: exit status 40 + 4.
    assert_eq!(
        o.status.code(),
        Some(44),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `run` in lazy mode on a cache miss: the program runs (baseline code), and
/// a detached `nyash-engine` fills the cache with the optimized artifact,
/// which an eager `run` loads (it refuses the baseline tier's artifacts).
#[test]
fn lazy_run_fills_the_cache_from_a_detached_process() {
    let dir = tmp("lazy");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, WAT).unwrap();
    let cache = dir.join("cache");
    let run = |lazy: &str| {
        cli()
            .args(["run", "--invoke", "g", wat.to_str().unwrap()])
            .env("NYASH_ENGINE_CACHE_DIR", &cache)
            .env("NYASH_LAZY", lazy)
            .output()
            .unwrap()
    };
    let o = run("1");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "43\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let entries = || {
        std::fs::read_dir(&cache).map_or(Vec::new(), |d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "nwasm"))
                .collect::<Vec<_>>()
        })
    };
    let start = std::time::Instant::now();
    while entries().is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no cache entry from the detached compile"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let entry = entries().remove(0);
    let o = cli()
        .args([
            "run",
            "--invoke",
            "g",
            "--allow-precompiled",
            entry.to_str().unwrap(),
        ])
        .env("NYASH_LAZY", "0")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "43\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run("0").stdout), "43\n");
}

/// `(module (func (export "g") (result i32) i32.const 43))` in binary,
/// padded with a custom section to `pad` more bytes.
fn padded_module(pad: usize) -> Vec<u8> {
    let mut m = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    m.extend([0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f]); // type () -> i32
    m.extend([0x03, 0x02, 0x01, 0x00]); // function 0 of type 0
    m.extend([0x07, 0x05, 0x01, 0x01, b'g', 0x00, 0x00]); // export "g"
    m.extend([0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2b, 0x0b]); // i32.const 43
    if pad > 0 {
        // A custom section "pad": its size as a 5-byte LEB128 number.
        let size = (4 + pad) as u32;
        m.push(0x00);
        for i in 0..5 {
            let byte = ((size >> (7 * i)) & 0x7f) as u8;
            m.push(if i < 4 { byte | 0x80 } else { byte });
        }
        m.extend([0x03, b'p', b'a', b'd']);
        m.resize(m.len() + pad, 0);
    }
    m
}

/// `run` compiles a `.wasm` of 8 MiB or more lazily unless `NYASH_LAZY`
/// says otherwise, and smaller ones whole (`NYASH_LAZY_TRACE=1` shows
/// which: a `lazy-prepare:` line and one line per function compiled).
#[test]
fn run_compiles_big_modules_lazily() {
    let dir = tmp("by-size");
    let big = dir.join("big.wasm");
    std::fs::write(&big, padded_module(8 << 20)).unwrap();
    let small = dir.join("small.wasm");
    std::fs::write(&small, padded_module(0)).unwrap();
    let run = |path: &std::path::Path, lazy: Option<&str>| {
        let mut c = cli();
        c.args(["run", "--invoke", "g", "--no-cache", path.to_str().unwrap()])
            .env("NYASH_LAZY_TRACE", "1")
            .env_remove("NYASH_LAZY");
        if let Some(v) = lazy {
            c.env("NYASH_LAZY", v);
        }
        let o = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "43\n", "{stderr}");
        stderr.contains("lazy-prepare:")
    };
    if cfg!(target_arch = "x86_64") {
        assert!(run(&big, None), "a big module runs lazily");
        assert!(run(&small, Some("1")), "NYASH_LAZY=1 makes any module lazy");
    }
    assert!(!run(&big, Some("0")), "NYASH_LAZY=0 compiles it whole");
    assert!(!run(&small, None), "a small module is compiled whole");
}

/// `run` of a component in lazy mode on a cache miss: the component runs
/// and writes no entry itself; a detached `nyash-engine` compiles it whole
/// and stores the component's entry, which later runs load (before, every
/// lazy run of a big component compiled lazily again).
#[test]
fn lazy_run_of_a_component_fills_the_cache_from_a_detached_process() {
    let dir = tmp("lazy-component");
    let wat = dir.join("c.wat");
    std::fs::write(
        &wat,
        r#"(component
          (core module $m (func (export "g") (result i32) i32.const 43))
          (core instance $i (instantiate $m))
          (func (export "g") (result u32) (canon lift (core func $i "g"))))"#,
    )
    .unwrap();
    let cache = dir.join("cache");
    let o = cli()
        .args(["run", "--invoke", "g()", wat.to_str().unwrap()])
        .env("NYASH_ENGINE_CACHE_DIR", &cache)
        .env("NYASH_LAZY", "1")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "43\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The component's own entry (its core module's are there too): the
    // one `run --allow-precompiled` takes as a component.
    let start = std::time::Instant::now();
    let entry = loop {
        let found = std::fs::read_dir(&cache).ok().and_then(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "nwasm"))
                .find(|p| {
                    cli()
                        .args(["run", "--allow-precompiled", "--invoke", "g()"])
                        .arg(p)
                        .env("NYASH_LAZY", "0")
                        .output()
                        .is_ok_and(|o| o.stdout == b"43\n")
                })
        });
        if let Some(p) = found {
            break p;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no component entry from the detached compile"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(entry.exists());
}
